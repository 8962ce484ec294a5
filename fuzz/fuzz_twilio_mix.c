/* fuzz_twilio_mix: Twilio Media Streams lines through tw_parse and, as twilio-mix does,
 * the start event into mix_init and media into mix_put, draining mix_read after every
 * message and mix_finish at the end.
 * Input: byte 0 picks the mixer options (from values twilio-mix accepts), the rest is
 * lines ('\n'-separated). Invariants: a parsed message has an event and sane fields; the
 * mixer never holds more than its documented bound per track; every sample handed out is
 * accounted for; after mix_finish nothing is left.
 * fuzz-sources: src/lib/twilio.c src/lib/mix.c src/lib/base64.c src/lib/mulaw.c src/lib/num.c src/lib/err.c src/lib/io.c
 * fuzz-libs: -lcjson */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"
#include "mix.h"
#include "twilio.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static unsigned char out[1 << 20];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (tw_init() < 0)
		abort();
	return 0;
}

static void
drain(struct mix *mx)
{
	uint64_t n;

	while ((n = mix_ready(mx)) > 0) {
		uint64_t k = n, before = mx->written;

		if (k * mx->o.ntracks > sizeof out)
			k = sizeof out / mx->o.ntracks;
		mix_read(mx, out, k);
		REQUIRE(mx->written == before + k);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t frames[] = { 1, 20, 160 }, gaps[] = { 0, 20, 60000, 3600000 },
	    lags[] = { 0, 20, 1000, 3600000 }, holds[] = { 1, 100, 30000, 3600000 };
	struct mix mx;
	struct mix_opts mo;
	int started = 0, chan[TW_NTRACKS] = { -1, -1 };
	unsigned nch = 0, i;
	const char *p, *end;
	char *line;
	uint64_t bound;

	if (size < 1)
		return 0;
	mo.frame = frames[data[0] % 3] * MIX_PER_MS;
	mo.max_gap = gaps[(data[0] / 3) % 4] * MIX_PER_MS;
	mo.max_lag = lags[(data[0] / 12) % 4] * MIX_PER_MS;
	mo.hold = holds[(data[0] / 48) % 4] * MIX_PER_MS;
	/* the most one track may hold beyond what was written (mix.h), plus a chunk */
	bound = (mo.max_lag && mo.max_lag < mo.hold ? mo.max_lag : mo.hold) + 2 * mo.frame + 8;
	memset(&mx, 0, sizeof mx);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct tw_msg m;
		enum tw_reason r;

		/* an exact-size copy, NUL-terminated, so ASan sees any overread */
		line = malloc(len + 1);
		REQUIRE(line != NULL);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + 1;
		memset(&m, 0xA5, sizeof m);
		r = tw_parse(line, len, &m);
		REQUIRE((unsigned)r < TW_R_N && tw_reason_name[r] != NULL);
		if (r != TW_OK) {
			REQUIRE(r <= TW_R_START);
			REQUIRE(m.detail != NULL && strlen(m.detail) < CP_LOGLINE_MAX);
			free(line);
			continue;
		}
		if (m.event == TW_START && !started) {
			REQUIRE(m.tracks != 0 && (m.tracks & ~3u) == 0);
			REQUIRE(m.start_json != NULL && strchr(m.start_json, '\n') == NULL);
			for (i = 0; i < m.nparams; i++)
				REQUIRE(m.params[i].name != NULL && m.params[i].value != NULL);
			for (i = 0; i < TW_NTRACKS; i++)
				if (m.tracks & TW_TRACK_BIT(i))
					chan[i] = (int)nch++;
			mo.ntracks = nch;
			REQUIRE(mix_init(&mx, &mo) == 0);
			started = 1;
		} else if (m.event == TW_MEDIA) {
			struct mix_put_info info;
			int rc;

			REQUIRE(m.track == TW_INBOUND || m.track == TW_OUTBOUND);
			REQUIRE(m.timestamp <= TW_TIMESTAMP_MAX);
			REQUIRE(m.payload != NULL && strlen(m.payload) == m.payload_len);
			REQUIRE(strcmp(tw_track_name(m.track), m.track ? "outbound" : "inbound") == 0);
			if (!started || chan[m.track] < 0 || mx.finished) {
				free(line);
				continue;
			}
			rc = mix_put(&mx, (unsigned)chan[m.track], m.timestamp, m.payload, m.payload_len, &info);
			REQUIRE(rc == MIX_OK || rc == MIX_BADB64);
			drain(&mx);
			for (i = 0; i < nch; i++) {
				REQUIRE(mx.t[i].end >= mx.written);
				REQUIRE(mx.t[i].end - mx.written <= bound + m.payload_len);
			}
		} else if (m.event == TW_STOP && started && !mx.finished) {
			REQUIRE(mix_finish(&mx) == MIX_OK);
			drain(&mx);
		}
		free(line);
	}
	if (started) {
		if (!mx.finished)
			REQUIRE(mix_finish(&mx) == MIX_OK);
		drain(&mx);
		for (i = 0; i < nch; i++)
			REQUIRE(mx.t[i].end == mx.written);
		mix_free(&mx);
	}
	return 0;
}
