/* fuzz_base64: strict b64_decode over arbitrary text, and encode/decode round trips.
 * Invariants: the decoded length never exceeds B64_DECODED_MAX (the size callers
 * allocate); strict decoding is canonical, so encoding what was decoded gives back the
 * input exactly; any bytes survive encode then decode; the vector decoder
 * (b64_decode_fast) gives the strict decoder's answer.
 * fuzz-sources: src/lib/base64.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *out, *back;
	char *enc;
	size_t n, e;

	/* decode: exactly sized output buffer, so an overrun is caught by ASan */
	out = malloc(B64_DECODED_MAX(size) + 1);
	REQUIRE(out != NULL);
	n = b64_decode((const char *)data, size, out);
	if (n != B64_BAD) {
		REQUIRE(n <= B64_DECODED_MAX(size));
		enc = malloc(B64_ENCODED_LEN(n) + 1);
		REQUIRE(enc != NULL);
		e = b64_encode(out, n, enc);
		REQUIRE(e == size && memcmp(enc, data, size) == 0);
		free(enc);
	}
	free(out);

	/* the vector decoder: the same answer, within its B64_SLACK */
	out = malloc(B64_DECODED_MAX(size) + B64_SLACK);
	back = malloc(B64_DECODED_MAX(size) + 1);
	REQUIRE(out != NULL && back != NULL);
	n = b64_decode_fast((const char *)data, size, out);
	REQUIRE(n == b64_decode((const char *)data, size, back));
	REQUIRE(n == B64_BAD || memcmp(out, back, n) == 0);
	free(out);
	free(back);

	/* encode the raw bytes and decode them back */
	enc = malloc(B64_ENCODED_LEN(size) + 1);
	back = malloc(size + 1);
	REQUIRE(enc != NULL && back != NULL);
	e = b64_encode(data, size, enc);
	REQUIRE(e == B64_ENCODED_LEN(size) && strlen(enc) == e);
	REQUIRE(b64_decode(enc, e, back) == size && memcmp(back, data, size) == 0);
	free(enc);
	free(back);
	return 0;
}
