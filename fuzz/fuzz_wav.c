/* fuzz_wav: wav_parse over arbitrary bytes, as a stream parser sees them.
 * Invariants: a header it accepts is within the buffer and in range; every shorter
 * prefix of an accepted header asks for more (never a different answer); the header
 * wav_header() writes for the parsed format parses back to the same format.
 * fuzz-sources: src/lib/wav.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wav.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wav_fmt f, g;
	size_t hl = 0, hl2, k;
	uint32_t dl = 0, dl2;
	const char *why = NULL;
	unsigned char h[WAV_HDR_MAX];
	int r;

	r = wav_parse(data, size, &f, &hl, &dl, &why);
	REQUIRE(r == -1 || r == 0 || r == 1);
	if (r == -1)
		REQUIRE(why != NULL && *why != '\0');
	if (r != 1)
		return 0;
	REQUIRE(hl >= 44 && hl <= size && hl <= WAV_SCAN_MAX + 8);
	REQUIRE(f.format == WAV_PCM || f.format == WAV_MULAW || f.format == WAV_ALAW);
	REQUIRE(f.channels >= 1 && f.channels <= WAV_MAX_CHANNELS);
	REQUIRE(f.rate >= 1000 && f.rate <= 192000);
	REQUIRE(f.bits == (f.format == WAV_PCM ? 16u : 8u));
	REQUIRE(wav_encoding(&f) != NULL);
	/* streaming: the same bytes arriving in pieces give "need more" until the header is whole */
	for (k = 0; k < hl; k += 1 + k / 4) {
		struct wav_fmt t;
		size_t th;
		uint32_t td;
		const char *tw;

		REQUIRE(wav_parse(data, k, &t, &th, &td, &tw) == 0);
	}
	/* round trip through the writer */
	k = wav_header(h, &f, dl);
	REQUIRE(k <= WAV_HDR_MAX);
	REQUIRE(wav_parse(h, k, &g, &hl2, &dl2, &why) == 1);
	REQUIRE(hl2 == k && g.format == f.format && g.channels == f.channels && g.rate == f.rate &&
	    g.bits == f.bits && dl2 == dl);
	return 0;
}
