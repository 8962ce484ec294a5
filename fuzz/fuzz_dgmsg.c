/* fuzz_dgmsg: deepgram-stream's handling of incoming Deepgram messages (dg_msg: type
 * dispatch, time shift, per-channel dedupe, re-serialization) and dg_fmt_time.
 * Input: byte 0 picks the channel count and the time shift, the rest is messages, one a
 * line. Invariants: a rewrite is one line of valid JSON; a pass or drop allocates nothing;
 * dg_confirmed is never NaN; formatted times fit their buffer.
 * fuzz-sources: src/lib/dgmsg.c src/lib/json.c
 * fuzz-libs: -lcjson */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dgmsg.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double shifts[] = { 0, 0.02, 1.5, 12.48, 3600.000001, 1e9, 4294967296.0, 31536000.0 };
	struct dg_state st;
	const char *p, *end;
	char tbuf[64], small[4];
	double v;

	if (size < 1)
		return 0;
	dg_state_init(&st, 1 + (data[0] & 3));
	/* formatting a time from the raw bytes: any double, including NaN and infinities */
	if (size >= 9) {
		int n;

		memcpy(&v, data + 1, sizeof v);
		n = dg_fmt_time(tbuf, sizeof tbuf, v);
		REQUIRE(n >= 0 && (size_t)n < sizeof tbuf && strlen(tbuf) == (size_t)n);
		n = dg_fmt_time(small, sizeof small, v);
		REQUIRE(n >= 0 && strlen(small) < sizeof small);
	}
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *msg = malloc(len + 1);
		struct dg_out o;

		REQUIRE(msg != NULL);
		memcpy(msg, p, len);
		msg[len] = '\0';
		p += len + 1;
		memset(&o, 0, sizeof o);
		REQUIRE(dg_msg(&st, msg, len, shifts[(data[0] >> 2) & 7], &o) == 0);
		REQUIRE(o.action == DG_PASS || o.action == DG_REWRITE || o.action == DG_DROP);
		REQUIRE(o.type >= DGT_INVALID && o.type <= DGT_OTHER);
		if (o.action == DG_REWRITE) {
			cJSON *j;

			REQUIRE(o.text != NULL && strlen(o.text) == o.len);
			REQUIRE(memchr(o.text, '\n', o.len) == NULL);
			j = cJSON_ParseWithLength(o.text, o.len);
			REQUIRE(j != NULL && cJSON_IsObject(j));
			cJSON_Delete(j);
			free(o.text);
		} else {
			REQUIRE(o.text == NULL);
			if (o.action == DG_DROP)
				REQUIRE(o.why != NULL);
		}
		REQUIRE(!isnan(dg_confirmed(&st)));
		free(msg);
	}
	return 0;
}
