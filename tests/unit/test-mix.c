/* Unit tests for the mixer's alignment logic (mix.c), the Twilio parser (twilio.c)
 * and the call state per line (twcall.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "mix.h"
#include "twcall.h"
#include "twilio.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

static unsigned char chunk[4][512];

static void
setup(struct mix *m, unsigned ntracks, uint64_t frame, uint64_t gap, uint64_t lag, uint64_t hold)
{
	struct mix_opts o = { ntracks, frame, gap, lag, hold };

	CHECK(mix_init(m, &o) == 0);
}

/* Everything ready now (without finishing) into out; returns samples per channel. */
static size_t
take(struct mix *m, unsigned char *out)
{
	uint64_t n = mix_ready(m);

	mix_read(m, out, n);
	return (size_t)n;
}

static int
all(const unsigned char *p, size_t n, unsigned char v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static void
put(struct mix *m, unsigned tr, uint64_t ts, int which, size_t n)
{
	CHECK(mix_put_raw(m, tr, ts, chunk[which], n, NULL) == MIX_OK);
}

static void
test_single(void)
{
	static unsigned char out[100000];
	struct mix m;
	size_t n;

	/* contiguous: T=0, T=20 -> 320 bytes, frames of 160 ready at once */
	setup(&m, 1, 160, 480000, 8000, 240000);
	put(&m, 0, 0, 0, 160);
	CHECK(mix_ready(&m) == 160);
	put(&m, 0, 20, 1, 160);
	n = take(&m, out);
	CHECK(n == 320 && memcmp(out, chunk[0], 160) == 0 && memcmp(out + 160, chunk[1], 160) == 0);
	mix_free(&m);

	/* gap: T=0 then T=60: 40 ms of 0xFF between */
	setup(&m, 1, 160, 480000, 8000, 240000);
	put(&m, 0, 0, 0, 160);
	put(&m, 0, 60, 1, 160);
	n = take(&m, out);
	CHECK(n == 640 && memcmp(out, chunk[0], 160) == 0 && all(out + 160, 320, 0xFF) &&
	    memcmp(out + 480, chunk[1], 160) == 0);
	CHECK(m.t[0].gap == 320);
	mix_free(&m);

	/* jitter: T=22 leaves 2 ms of silence; T=38 is early: appended, not overlapping */
	setup(&m, 1, 160, 480000, 8000, 240000);
	put(&m, 0, 0, 0, 160);
	put(&m, 0, 22, 1, 160);
	put(&m, 0, 38, 2, 160);
	CHECK(mix_finish(&m) == MIX_OK);
	n = take(&m, out);
	CHECK(n == 160 + 16 + 160 + 160);
	CHECK(memcmp(out, chunk[0], 160) == 0 && all(out + 160, 16, 0xFF) &&
	    memcmp(out + 176, chunk[1], 160) == 0 && memcmp(out + 336, chunk[2], 160) == 0);
	mix_free(&m);

	/* overlap: T=10 after 20 ms of audio goes after it, nothing overwritten or dropped */
	setup(&m, 1, 160, 480000, 8000, 240000);
	put(&m, 0, 0, 0, 160);
	put(&m, 0, 10, 1, 160);
	put(&m, 0, 0, 2, 80); /* way late: still appended */
	CHECK(mix_finish(&m) == MIX_OK);
	n = take(&m, out);
	CHECK(n == 400 && memcmp(out, chunk[0], 160) == 0 && memcmp(out + 160, chunk[1], 160) == 0 &&
	    memcmp(out + 320, chunk[2], 80) == 0);
	CHECK(m.t[0].late == 0 && m.t[0].gap == 0);
	mix_free(&m);

	/* first chunk not at 0: the start is padded (Twilio's example starts at 5 ms) */
	setup(&m, 1, 160, 480000, 8000, 240000);
	put(&m, 0, 5, 0, 160);
	n = take(&m, out);
	CHECK(n == 160 && all(out, 40, 0xFF) && memcmp(out + 40, chunk[0], 120) == 0);
	CHECK(mix_finish(&m) == MIX_OK);
	n = take(&m, out);
	CHECK(n == 40 && memcmp(out, chunk[0] + 120, 40) == 0);
	/* nothing more after finishing */
	CHECK(mix_put_raw(&m, 0, 100, chunk[0], 160, NULL) == MIX_DONE);
	mix_free(&m);

	/* irregular sizes and frames: 100 + 60 bytes make one frame */
	setup(&m, 1, 160, 480000, 8000, 240000);
	put(&m, 0, 0, 0, 100);
	CHECK(mix_ready(&m) == 0);
	put(&m, 0, 12, 1, 60);  /* 8*12 = 96 < 100: appended at 100 */
	CHECK(mix_ready(&m) == 160);
	put(&m, 0, 20, 2, 0);   /* empty payload at its own time: no gap (160 = 8*20) */
	put(&m, 0, 25, 3, 7);   /* 5 ms gap */
	CHECK(mix_finish(&m) == MIX_OK);
	n = take(&m, out);
	CHECK(n == 160 + 40 + 7 && memcmp(out, chunk[0], 100) == 0 && memcmp(out + 100, chunk[1], 60) == 0 &&
	    all(out + 160, 40, 0xFF) && memcmp(out + 200, chunk[3], 7) == 0);
	CHECK(m.t[0].chunks == 4);
	mix_free(&m);
}

static void
test_two(void)
{
	static unsigned char out[100000];
	struct mix m;
	size_t n, i;

	/* interleaving and readiness: a frame goes out when both tracks have it */
	setup(&m, 2, 160, 480000, 0, 240000);
	put(&m, 0, 0, 0, 160);
	put(&m, 0, 20, 1, 160);
	CHECK(mix_ready(&m) == 0);
	put(&m, 1, 0, 2, 100);
	CHECK(mix_ready(&m) == 0);
	put(&m, 1, 12, 3, 60);
	n = take(&m, out);
	CHECK(n == 160);
	for (i = 0; i < 160; i++)
		CHECK(out[2 * i] == chunk[0][i] && out[2 * i + 1] == (i < 100 ? chunk[2][i] : chunk[3][i - 100]));
	/* finish pads the shorter (outbound) track */
	CHECK(mix_finish(&m) == MIX_OK);
	n = take(&m, out);
	CHECK(n == 160 && m.t[1].endpad == 160);
	for (i = 0; i < 160; i++)
		CHECK(out[2 * i] == chunk[1][i] && out[2 * i + 1] == 0xFF);
	mix_free(&m);

	/* late-starting outbound: its first chunk at 100 ms is preceded by silence */
	setup(&m, 2, 160, 480000, 0, 240000);
	for (i = 0; i < 6; i++)
		put(&m, 0, 20 * i, (int)(i & 3), 160);
	put(&m, 1, 100, 1, 160);
	n = take(&m, out);
	CHECK(n == 960 && m.t[1].gap == 800);
	for (i = 0; i < 960; i++)
		CHECK(out[2 * i + 1] == (i < 800 ? 0xFF : chunk[1][i - 800]));
	mix_free(&m);
}

static void
test_gap_lag(void)
{
	static unsigned char out[200000];
	struct mix m;
	struct mix_put_info info;
	size_t n, i;

	/* max-gap 10 ms (80 samples): a 1 s jump is clamped, later chunks follow on */
	setup(&m, 1, 160, 80, 8000, 240000);
	put(&m, 0, 0, 0, 160);
	CHECK(mix_put_raw(&m, 0, 1000, chunk[1], 160, &info) == MIX_OK);
	CHECK(info.gap == 80 && info.clamped == 8000 - 160 - 80);
	CHECK(mix_put_raw(&m, 0, 1020, chunk[2], 160, &info) == MIX_OK);
	CHECK(info.gap == 0 && info.clamped == 0);
	CHECK(mix_finish(&m) == MIX_OK);
	n = take(&m, out);
	CHECK(n == 160 + 80 + 160 + 160 && all(out + 160, 80, 0xFF) && memcmp(out + 240, chunk[1], 160) == 0 &&
	    memcmp(out + 400, chunk[2], 160) == 0);
	mix_free(&m);

	/* a forged timestamp near the maximum: clamped, never allocated */
	setup(&m, 1, 160, 80, 8000, 240000);
	CHECK(mix_put_raw(&m, 0, TW_TIMESTAMP_MAX, chunk[0], 160, &info) == MIX_OK);
	CHECK(info.gap == 80 && m.t[0].end == 240);
	mix_free(&m);

	/* max-gap 0: no silence ever inserted */
	setup(&m, 1, 160, 0, 8000, 240000);
	put(&m, 0, 0, 0, 160);
	put(&m, 0, 500, 1, 160);
	CHECK(m.t[0].end == 320 && m.t[0].gap == 0);
	mix_free(&m);

	/* max-lag 50 ms (400 samples): inbound runs 120 ms ahead, outbound never came */
	setup(&m, 2, 160, 480000, 400, 240000);
	for (i = 0; i < 6; i++) {
		CHECK(mix_put_raw(&m, 0, 20 * i, chunk[0], 160, &info) == MIX_OK);
		if (i == 3) /* inbound end 640 - 400 = 240 -> rounded down to the frame at 160 */
			CHECK(info.lagfill[1] == 160);
	}
	/* inbound end 960: outbound filled to (960 - 400) rounded down = 480 */
	CHECK(m.t[1].end == 480 && m.t[1].fill == 1 && m.t[1].lagfill == 480);
	n = take(&m, out);
	CHECK(n == 480);
	for (i = 0; i < n; i++)
		CHECK(out[2 * i] == chunk[0][i % 160] && out[2 * i + 1] == 0xFF);
	/* outbound's T=0 chunk arrives now: its time is written: dropped and counted */
	CHECK(mix_put_raw(&m, 1, 0, chunk[1], 160, &info) == MIX_OK);
	CHECK(info.late == 160 && m.t[1].late == 160 && m.t[1].end == 480);
	/* T=40 straddles: 160 of its samples (320..480) are late, 0 remain */
	CHECK(mix_put_raw(&m, 1, 40, chunk[1], 160, &info) == MIX_OK && info.late == 160);
	/* T=50 straddles: 400..480 late (80), the rest placed at 480 */
	CHECK(mix_put_raw(&m, 1, 50, chunk[2], 160, &info) == MIX_OK && info.late == 80);
	CHECK(m.t[1].end == 560 && m.t[1].fill == 0);
	/* once real audio follows, a late chunk is appended again (never dropped) */
	CHECK(mix_put_raw(&m, 1, 0, chunk[3], 40, &info) == MIX_OK && info.late == 0);
	CHECK(m.t[1].end == 600);
	CHECK(mix_finish(&m) == MIX_OK);
	n = take(&m, out);
	CHECK(n == 480);
	for (i = 0; i < 80; i++)
		CHECK(out[2 * i + 1] == chunk[2][80 + i]);
	for (i = 80; i < 120; i++)
		CHECK(out[2 * i + 1] == chunk[3][i - 80]);
	for (i = 120; i < 480; i++)
		CHECK(out[2 * i + 1] == 0xFF);
	mix_free(&m);

	/* max-lag 0 waits, but never holds more than `hold` (here 100 ms) */
	setup(&m, 2, 160, 480000, 0, 800);
	for (i = 0; i < 5; i++)
		put(&m, 0, 20 * i, 0, 160);
	CHECK(m.t[1].end == 0 && mix_ready(&m) == 0);
	for (i = 5; i < 8; i++)
		put(&m, 0, 20 * i, 0, 160);
	CHECK(m.t[1].end == 480 && m.t[1].lagfill == 480);
	mix_free(&m);

	/* the lagging track had some audio: the fill goes after it */
	setup(&m, 2, 160, 480000, 160, 240000);
	put(&m, 1, 0, 1, 100);
	for (i = 0; i < 3; i++)
		put(&m, 0, 20 * i, 0, 160);
	CHECK(m.t[1].end == 320 && m.t[1].lagfill == 220);
	n = take(&m, out);
	CHECK(n == 320);
	for (i = 0; i < 320; i++)
		CHECK(out[2 * i + 1] == (i < 100 ? chunk[1][i] : 0xFF));
	mix_free(&m);
}

static void
test_base64(void)
{
	static unsigned char out[20000], want[4000];
	static char enc[6000];
	struct mix m;
	size_t len, n, i, k, e;
	unsigned seed = 12345;
	int rc;

	/* the vector decoder agrees with the strict scalar one, valid or not */
	for (k = 0; k < 3000; k++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 8) % 700;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			want[i] = (unsigned char)(seed >> 16);
		}
		e = b64_encode(want, len, enc);
		if (k % 3 == 1) { /* corrupt one character */
			seed = seed * 1103515245 + 12345;
			if (e > 0)
				enc[(seed >> 8) % e] = "=-_ \n\0\x80:@[`{*.\xff"[(seed >> 20) % 15];
		}
		setup(&m, 1, 1, 480000, 0, 1000000);
		rc = mix_put(&m, 0, 0, enc, e, NULL);
		n = b64_decode(enc, e, want);
		if (n == B64_BAD) {
			CHECK(rc == MIX_BADB64);
			CHECK(m.t[0].end == 0 && m.t[0].chunks == 0);
		} else {
			CHECK(rc == MIX_OK);
			CHECK(take(&m, out) == n && memcmp(out, want, n) == 0);
		}
		mix_free(&m);
	}
	/* a bad payload after a gap changes nothing */
	setup(&m, 1, 160, 480000, 0, 1000000);
	CHECK(mix_put(&m, 0, 100, "////", 4, NULL) == MIX_OK);
	CHECK(mix_put(&m, 0, 500, "//=/", 4, NULL) == MIX_BADB64);
	CHECK(mix_put(&m, 0, 500, "///", 3, NULL) == MIX_BADB64);
	CHECK(m.t[0].end == 803 && m.t[0].gap == 800 && m.t[0].chunks == 1);
	mix_free(&m);
}

/* ---- parser ---- */

static enum tw_reason
parse(const char *s, struct tw_msg *m)
{
	return tw_parse(s, strlen(s), m);
}

static void
test_parser(void)
{
	struct tw_msg m;
	char *big;
	size_t i;

	CHECK(tw_init() == 0);
	CHECK(parse("{\"event\":\"media\",\"sequenceNumber\":\"3\",\"media\":{\"track\":\"outbound\","
	    "\"chunk\":\"1\",\"timestamp\":\"60\",\"payload\":\"/38=\"}}", &m) == TW_OK);
	CHECK(m.event == TW_MEDIA && m.track == TW_OUTBOUND && m.timestamp == 60 &&
	    m.payload_len == 4 && strcmp(m.payload, "/38=") == 0);
	CHECK(parse(" {\"event\":\"connected\",\"protocol\":\"Call\"}\r", &m) == TW_OK && m.event == TW_CONNECTED);
	CHECK(parse("{\"event\":\"stop\"}", &m) == TW_OK && m.event == TW_STOP);
	CHECK(parse("{\"event\":\"dtmf\",\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"5\"}}", &m) == TW_OK &&
	    m.event == TW_DTMF);
	CHECK(parse("{\"event\":\"mark\",\"mark\":{\"name\":\"x\"}}", &m) == TW_OK && m.event == TW_MARK);

	CHECK(parse("{\"event\":\"start\",\"streamSid\":\"MZ1\",\"start\":{\"callSid\":\"CAx\",\"accountSid\":\"AC2\","
	    "\"tracks\":[\"outbound\",\"inbound\"],\"customParameters\":{\"a-b\":\"$(x)\",\"n\":5},"
	    "\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}}}", &m) == TW_OK);
	CHECK(m.event == TW_START && strcmp(m.call_sid, "CAx") == 0 && strcmp(m.stream_sid, "MZ1") == 0 &&
	    strcmp(m.account_sid, "AC2") == 0 && m.tracks == 3);
	CHECK(m.nparams == 1 && m.badparams == 1 && strcmp(m.params[0].name, "a-b") == 0 &&
	    strcmp(m.params[0].value, "$(x)") == 0);
	CHECK(m.start_json != NULL && strchr(m.start_json, ' ') == NULL && strncmp(m.start_json, "{\"event\":\"start\"", 16) == 0);
	CHECK(parse("{\"event\":\"start\",\"start\":{\"tracks\":[\"inbound\"]}}", &m) == TW_OK &&
	    m.call_sid == NULL && m.tracks == 1 && m.nparams == 0);

	/* rejections, each with its reason */
	CHECK(tw_parse("", 0, &m) == TW_R_EMPTY && m.detail != NULL);
	CHECK(parse(" \r", &m) == TW_R_EMPTY);
	CHECK(tw_parse("{\"event\":\0\"stop\"}", 17, &m) == TW_R_NUL);
	CHECK(parse("{\"event\":\"stop\"", &m) == TW_R_JSON);
	CHECK(parse("{\"event\":\"stop\"} x", &m) == TW_R_JSON);
	CHECK(parse("hello", &m) == TW_R_JSON);
	CHECK(parse("[1,2]", &m) == TW_R_TYPE);
	CHECK(parse("\"media\"", &m) == TW_R_TYPE);
	CHECK(parse("{\"event\":5}", &m) == TW_R_TYPE);
	CHECK(parse("{\"Event\":\"stop\"}", &m) == TW_R_TYPE);
	CHECK(parse("{\"event\":\"clear\"}", &m) == TW_R_EVENT && strstr(m.detail, "clear") != NULL);
	CHECK(parse("{\"event\":\"media\"}", &m) == TW_R_TYPE);
	CHECK(parse("{\"event\":\"media\",\"media\":[]}", &m) == TW_R_TYPE);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":1,\"timestamp\":\"0\",\"payload\":\"\"}}", &m) == TW_R_TYPE);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound_track\",\"timestamp\":\"0\",\"payload\":\"\"}}", &m) == TW_R_TRACK);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":0,\"payload\":\"\"}}", &m) == TW_R_TIMESTAMP);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"-1\",\"payload\":\"\"}}", &m) == TW_R_TIMESTAMP);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1.5\",\"payload\":\"\"}}", &m) == TW_R_TIMESTAMP);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"\",\"payload\":\"\"}}", &m) == TW_R_TIMESTAMP);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"99999999999999999999\",\"payload\":\"\"}}", &m) == TW_R_TIMESTAMP);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1000000000000000\",\"payload\":\"\"}}", &m) == TW_OK);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\",\"payload\":null}}", &m) == TW_R_PAYLOAD);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\"}}", &m) == TW_R_PAYLOAD);
	/* duplicate keys: the first wins */
	CHECK(parse("{\"event\":\"media\",\"event\":\"stop\",\"media\":{\"track\":\"inbound\",\"track\":\"x\","
	    "\"timestamp\":\"7\",\"payload\":\"\"}}", &m) == TW_OK && m.event == TW_MEDIA && m.timestamp == 7);
	CHECK(parse("{\"event\":\"start\"}", &m) == TW_R_TYPE);
	CHECK(parse("{\"event\":\"start\",\"start\":{\"callSid\":\"CA\"}}", &m) == TW_R_START);
	CHECK(parse("{\"event\":\"start\",\"start\":{\"tracks\":[]}}", &m) == TW_R_START);
	CHECK(parse("{\"event\":\"start\",\"start\":{\"tracks\":[\"both\"]}}", &m) == TW_R_START);
	CHECK(parse("{\"event\":\"start\",\"start\":{\"tracks\":[\"inbound\"],\"mediaFormat\":{\"sampleRate\":16000}}}", &m) == TW_R_START);
	CHECK(parse("{\"event\":\"start\",\"start\":{\"tracks\":[\"inbound\"],\"mediaFormat\":{\"encoding\":\"audio/l16\"}}}", &m) == TW_R_START);

	/* a 60 KB line of tiny values outgrows the arena's resident block: no leak, no crash */
	big = malloc(70000);
	CHECK(big != NULL);
	if (big) {
		big[0] = '[';
		for (i = 1; i < 60000; i += 2) {
			big[i] = '1';
			big[i + 1] = ',';
		}
		big[60000] = '1';
		big[60001] = ']';
		big[60002] = '\0';
		CHECK(tw_parse(big, 60002, &m) == TW_R_TYPE);
		CHECK(parse("{\"event\":\"stop\"}", &m) == TW_OK);
		free(big);
	}
	for (i = 1; i < TW_R_N; i++)
		CHECK(tw_reason_name[i] != NULL && strchr(tw_reason_name[i], ' ') == NULL);
	tw_free();
}

/* ---- escaped NULs ---- */

static void
test_nul(void)
{
	struct tw_msg m;
	const char *sid = "CA0123456789abcdef0123456789abcdef";
	char buf[1024];
	size_t i;

	CHECK(tw_init() == 0);
	/* a CallSid with \u0000 is not read as the CallSid before it */
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\\u0000../../x\",\"tracks\":[\"inbound\"]}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL && strstr(m.detail, "NUL") != NULL);
	/* every hex case and every parse_hex4 failure decodes to NUL in cJSON */
	{
		static const char *const esc[] = { "\\u0000", "\\uzzzz", "\\u00G0", "\\u000g", "\\u 000", "\\u-001", "\\uX123" };

		for (i = 0; i < sizeof esc / sizeof esc[0]; i++) {
			snprintf(buf, sizeof buf, "{\"event\":\"media\",\"media\":{\"track\":\"inbound%s\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", esc[i]);
			CHECK(parse(buf, &m) == TW_R_NUL);
		}
	}
	/* in any string the parser uses: event, track, timestamp, payload, keys, SIDs, tracks, format */
	CHECK(parse("{\"event\":\"stop\\u0000x\"}", &m) == TW_R_NUL);
	CHECK(parse("{\"event\\u0000x\":\"stop\"}", &m) == TW_R_NUL);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\\u0000\",\"payload\":\"AAAA\"}}", &m) == TW_R_NUL);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\",\"payload\":\"AAAA\\u0000AAAA\"}}", &m) == TW_R_NUL);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\",\"payload\\u0000\":\"AAAA\",\"payload\":\"BBBB\"}}", &m) == TW_R_NUL);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\",\"chunk\":\"\\u0000\",\"payload\":\"AAAA\"}}", &m) == TW_R_NUL);
	CHECK(parse("{\"event\":\"media\",\"sequenceNumber\":\"\\u0000\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\",\"payload\":\"AAAA\"}}", &m) == TW_R_NUL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"streamSid\":\"MZ\\u0000\",\"tracks\":[\"inbound\"]}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"accountSid\":\"AC\\u0000\",\"tracks\":[\"inbound\"]}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"streamSid\":\"MZ\\u0000\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\"]}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\\u0000\"]}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\"],\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\\u0000\"}}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	/* an escape whose four characters hold a quote or a backslash: refused too */
	CHECK(parse("{\"event\":\"mark\",\"mark\":{\"name\":\"\\u000\\\"x\"}}", &m) == TW_R_NUL && strstr(m.detail, "decodes") != NULL);
	CHECK(parse("{\"event\":\"mark\",\"mark\":{\"name\":\"\\u\\\\00\"}}", &m) == TW_R_NUL && strstr(m.detail, "decodes") != NULL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\"],"
	    "\"customParameters\":{\"a\":\"\\u000\\\"\",\"b\":\"1\"}}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL && strstr(m.detail, "decodes") != NULL);
	/* not NULs: an escaped backslash before u0000, \u0001, a surrogate pair, \u0100 */
	CHECK(parse("{\"event\":\"mark\",\"mark\":{\"name\":\"a\\\\u0000\"}}", &m) == TW_OK && m.event == TW_MARK);
	CHECK(parse("{\"event\":\"mark\",\"mark\":{\"name\":\"\\\\\\\\u0000\\u0001\\ud83d\\ude00\\u0100\"}}", &m) == TW_OK);
	CHECK(parse("{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\",\"payload\":\"AA\\/A\"}}", &m) == TW_OK &&
	    strcmp(m.payload, "AA/A") == 0 && m.fast == 0);

	/* custom parameters: one with a NUL in its name or value is left out (also from
	 * start_json); the others stay */
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\"],"
	    "\"customParameters\":{\"a\":\"1\",\"b\\u0000x\":\"2\",\"c\":\"x\\u0000y\",\"d\":\"\\\\u0000\",\"e\":[\"\\u0000\"],\"f\":5}}}", sid);
	CHECK(parse(buf, &m) == TW_OK && m.event == TW_START);
	CHECK(m.nparams == 2 && m.nulparams == 3 && m.badparams == 1);
	CHECK(m.nparams == 2 && strcmp(m.params[0].name, "a") == 0 && strcmp(m.params[0].value, "1") == 0 &&
	    strcmp(m.params[1].name, "d") == 0 && strcmp(m.params[1].value, "\\u0000") == 0);
	CHECK(strstr(m.start_json, "\"customParameters\":{\"a\":\"1\",\"d\":\"\\\\u0000\",\"f\":5}") != NULL);
	CHECK(strcmp(m.call_sid, sid) == 0);
	/* only in the customParameters that are read: a second one (duplicate key) rejects */
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\"],"
	    "\"customParameters\":{\"a\":\"1\"},\"customParameters\":{\"b\":\"\\u0000\"}}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\"]},"
	    "\"start\":{\"customParameters\":{\"b\":\"\\u0000\"}}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\"],"
	    "\"customParameters\\u0000\":{\"b\":\"1\"}}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	snprintf(buf, sizeof buf, "{\"event\":\"start\",\"start\":{\"callSid\":\"%s\",\"tracks\":[\"inbound\"],"
	    "\"customParameters\":[\"\\u0000\"]}}", sid);
	CHECK(parse(buf, &m) == TW_R_NUL);
	/* NULs in parameters of a media message: media messages use none of them */
	CHECK(parse("{\"event\":\"media\",\"start\":{\"customParameters\":{\"b\":\"\\u0000\"}},"
	    "\"media\":{\"track\":\"inbound\",\"timestamp\":\"1\",\"payload\":\"AAAA\"}}", &m) == TW_OK);
	/* not JSON stays not JSON; not an object stays not an object */
	CHECK(parse("{\"event\":\"stop\\u0000\"", &m) == TW_R_JSON);
	CHECK(parse("[\"\\u0000\"]", &m) == TW_R_TYPE);
	tw_free();
}

/* ---- the media fast path against the full parse ---- */

struct res {
	enum tw_reason r;
	char detail[200];
	enum tw_event event;
	int track, fast;
	uint64_t timestamp;
	char payload[70000];
	size_t payload_len;
};

static struct res ra, rb;

static void
take_res(struct res *x, const char *s, size_t len, int fast)
{
	struct tw_msg m;

	tw_fastpath = fast;
	memset(x, 0, sizeof *x);
	x->r = tw_parse(s, len, &m);
	tw_fastpath = 1;
	if (x->r != TW_OK) {
		snprintf(x->detail, sizeof x->detail, "%s", m.detail);
		return;
	}
	x->event = m.event;
	x->fast = m.fast;
	if (m.event == TW_MEDIA) {
		x->track = m.track;
		x->timestamp = m.timestamp;
		x->payload_len = m.payload_len;
		if (m.payload_len < sizeof x->payload)
			memcpy(x->payload, m.payload, m.payload_len + 1);
	}
}

/* Parses s both ways; 1 if the results are the same. *fast: whether the fast path took it. */
static int
same_both(const char *s, size_t len, int *fast)
{
	take_res(&ra, s, len, 1);
	take_res(&rb, s, len, 0);
	*fast = ra.fast;
	if (rb.fast != 0)
		return 0;
	return ra.r == rb.r && strcmp(ra.detail, rb.detail) == 0 && ra.event == rb.event &&
	    ra.track == rb.track && ra.timestamp == rb.timestamp && ra.payload_len == rb.payload_len &&
	    memcmp(ra.payload, rb.payload, ra.payload_len < sizeof ra.payload ? ra.payload_len : 0) == 0;
}

/* CHECKs that s parses the same both ways, with reason r, by the fast path or not */
#define BOTH(s, r_, fast_) do { int f_ = -1; \
	CHECK(same_both(s, strlen(s), &f_)); CHECK(ra.r == (r_)); CHECK(f_ == (fast_)); } while (0)

#define M0 "{\"event\":\"media\",\"sequenceNumber\":\"3\",\"media\":{\"track\":\"outbound\",\"chunk\":\"1\",\"timestamp\":\"5\",\"payload\":\"AAAA\"},\"streamSid\":\"MZ0123\"}"

static void
test_fastpath(void)
{
	static const char *const ok_fast[] = {
		/* Twilio's order, the generator's order, minimal, extra members everywhere */
		M0,
		"{\"event\":\"media\",\"sequenceNumber\":\"2\",\"streamSid\":\"MZ1\",\"media\":{\"track\":\"inbound\",\"chunk\":\"1\",\"timestamp\":\"0\",\"payload\":\"//79/A==\"}}",
		"{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"\"}}",
		"{\"sequenceNumber\":\"1\",\"event\":\"media\",\"media\":{\"chunk\":\"1\",\"track\":\"inbound\",\"timestamp\":\"9\",\"payload\":\"AAAA\",\"x\":\"y\"},\"a\":\"b\"}",
		"{\"a\":\"b\",\"c\":\"d\",\"event\":\"media\",\"e\":\"f\",\"media\":{\"g\":\"h\",\"track\":\"inbound\",\"i\":\"j\",\"timestamp\":\"9\",\"k\":\"l\",\"payload\":\"AAAA\",\"m\":\"n\"},\"o\":\"p\"}",
		/* runs of members that go, first, last, all, with a cut before and after */
		"{\"event\":\"media\",\"x\":{\"a\":\"1\",\"k\":\"v\"},\"y\":{\"a\":\"1\",\"b\":\"2\",\"k\":\"v\"},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}",
		"{\"event\":\"media\",\"x\":{\"a\":{},\"k\":\"v\"},\"y\":[{\"k\":\"v\"},{\"a\":\"1\",\"k\":\"v\"}],\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"},\"z\":{\"k\":\"v\",\"l\":\"w\"}}",
		/* members that cannot go: numbers, objects, arrays, strings in arrays */
		"{\"event\":\"media\",\"n\":5,\"o\":{\"p\":\"q\",\"r\":[\"s\",\"t\"]},\"media\":{\"track\":\"inbound\",\"timestamp\":\"9\",\"payload\":\"AAAA\",\"u\":[\"v\",{\"w\":\"x\"}]}}",
		/* the payload: base64 that is not, control bytes, non-ASCII, the text of another key */
		"{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"not base64! \x01\x7f\xc3\xa9\"}}",
		"{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"track\"}}",
		/* keys spelt like the ones read but not them: emptied or dropped, never matched */
		"{\"event\":\"media\",\"Event\":\"stop\",\"media\":{\"Track\":\"x\",\"track\":\"outbound\",\"timestamp \":\"x\",\"timestamp\":\"5\",\"payload\":\"AAAA\"}}",
		/* whitespace and CR around the object, spaces in structural places */
		" {\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}\r",
		"{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}\n\t",
		"{ \"event\" :\"media\" , \"media\" : { \"track\" :\"inbound\" , \"timestamp\" :\"0\" , \"payload\":\"AAAA\" } }",
		/* an event/track/timestamp key's value in the wrong place stays (not read anyway) */
		"{\"event\":\"media\",\"x\":{\"track\":\"bogus\"},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}",
		/* duplicates of keys read: the first wins, both ways */
		"{\"event\":\"media\",\"event\":\"stop\",\"media\":{\"track\":\"inbound\",\"track\":\"x\",\"timestamp\":\"7\",\"timestamp\":\"x\",\"payload\":\"AAAA\"},\"media\":5}",
	};
	static const struct { const char *s; enum tw_reason r; } slow[] = {
		/* the payload key twice, in one object or two */
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\",\"payload\":\"BBBB\"}}", TW_OK },
		{ "{\"event\":\"media\",\"payload\":\"BBBB\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_OK },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"},\"x\":{\"payload\":\"B\"}}", TW_OK },
		/* the text payload as a value or in an array */
		{ "{\"event\":\"media\",\"x\":\"payload\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_OK },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"payload\"}}", TW_OK },
		{ "{\"event\":\"media\",\"x\":[\"payload\"],\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_OK },
		/* a backslash anywhere */
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AA\\/A\"}}", TW_OK },
		{ "{\"event\":\"media\",\"x\":\"\\n\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_OK },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"pay\\u006coad\":\"AAAA\"}}", TW_OK },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AA\\\"A\"}}", TW_OK },
		/* whitespace between the key, the colon and the value */
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\" :\"AAAA\"}}", TW_OK },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\": \"AAAA\"}}", TW_OK },
		{ "{\"event\": \"media\", \"media\": {\"track\": \"inbound\", \"timestamp\": \"0\", \"payload\": \"AAAA\"}}", TW_OK },
		/* the payload not a string */
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":7}}", TW_R_PAYLOAD },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":[\"AAAA\"]}}", TW_R_PAYLOAD },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":null}}", TW_R_PAYLOAD },
		/* the payload in the wrong object: the root, a second media, start */
		{ "{\"event\":\"media\",\"payload\":\"AAAA\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\"}}", TW_R_PAYLOAD },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\"},\"media\":{\"payload\":\"AAAA\"}}", TW_R_PAYLOAD },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"x\":{\"payload\":\"AAAA\"}}}", TW_R_PAYLOAD },
		/* the payload as a value, not a key */
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"x\":\"payload\"}}", TW_R_PAYLOAD },
		{ "[\"payload\",\"AAAA\"]", TW_R_TYPE },
		/* other events and rejections with a payload in them */
		{ "{\"event\":\"start\",\"start\":{\"tracks\":[\"inbound\"]},\"payload\":\"AAAA\"}", TW_OK },
		{ "{\"event\":\"stop\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_OK },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"both\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_TRACK },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"-1\",\"payload\":\"AAAA\"}}", TW_R_TIMESTAMP },
		{ "{\"event\":\"media\",\"media\":\"x\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_TYPE },
		{ "{\"event\":\"mediaX\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_EVENT },
		{ "{\"event\":5,\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_TYPE },
		/* not JSON, in ways a cut could hide: members out of objects, a bad quote count,
		 * junk after, a key without a value, commas */
		{ "[\"x\",\"k\":\"v\",\"y\":\"z\",{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}]", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":[\"x\",\"k\":\"v\"],\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":[\"x\",\"k\":\"v\",\"y\"],\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":[\"k\":\"v\",\"y\"],\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":[\"x\",\"k\":\"v\"],\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":[{},\"k\":\"v\"}],\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":{\"b\":{},\"k\":\"v\"}},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":{\"k\":\"v\",\"b\":\"w\"],\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":[\"x\",\"k\":\"v\"},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":{,\"k\":\"v\"},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":[,\"k\":\"v\"},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":{\"k\":\"v\",},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":{\"k\":\"v\",\"j\":},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"a\":{\"k\":\"v\"\"j\":\"w\"},\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"k\":\"v\",,\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"},\"k\":\"v\",}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"},,\"k\":\"v\"}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}} x", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}\"", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AA\"AA\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\" \"x\"}}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}}", TW_R_JSON },
		{ "\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\",\"k\":\"v\"}", TW_R_JSON },
		{ "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"},\"k\":\"v\"", TW_R_JSON },
	};
	char buf[70100], *big;
	size_t i, k, n;
	int f;

	CHECK(tw_init() == 0);
	for (i = 0; i < sizeof ok_fast / sizeof ok_fast[0]; i++) {
		BOTH(ok_fast[i], TW_OK, 1);
		if (ra.r != TW_OK || ra.fast != 1)
			fprintf(stderr, "test-mix: fast path case %zu\n", i);
	}
	BOTH(M0, TW_OK, 1);
	CHECK(ra.event == TW_MEDIA && ra.track == TW_OUTBOUND && ra.timestamp == 5 && strcmp(ra.payload, "AAAA") == 0);
	for (i = 0; i < sizeof slow / sizeof slow[0]; i++) {
		CHECK(same_both(slow[i].s, strlen(slow[i].s), &f));
		CHECK(f == 0 && ra.r == slow[i].r);
		if (ra.r != slow[i].r || f != 0)
			fprintf(stderr, "test-mix: full path case %zu: %s (%d)\n", i, tw_reason_name[ra.r], f);
	}
	/* a NUL byte: never the fast path */
	{
		static const char nul[] = "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AA\0A\"}}";

		CHECK(same_both(nul, sizeof nul - 1, &f) && f == 0 && ra.r == TW_R_NUL);
	}
	/* payloads and padding of every length around the 32-byte blocks */
	for (n = 0; n < 80; n++)
		for (k = 0; k < 40; k += 13) {
			snprintf(buf, sizeof buf, "{\"event\":\"media\",\"pad\":\"%.*s\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"%zu\",\"payload\":\"%.*s\"}}",
			    (int)k, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", n,
			    (int)n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/ABCDEFGHIJKLMNOPQRSTUVWXYZ");
			CHECK(same_both(buf, strlen(buf), &f) && f == 1 && ra.r == TW_OK && ra.timestamp == n && ra.payload_len == n);
			/* a quote, backslash or NUL late in the line */
			memcpy(buf + strlen(buf) - 3, "\"A\"", 3);
			CHECK(same_both(buf, strlen(buf), &f) && f == 0 && ra.r == TW_R_JSON);
			buf[strlen(buf) - 3] = '\\';
			CHECK(same_both(buf, strlen(buf), &f) && f == 0 && ra.r == TW_R_JSON);
		}
	/* many quotes: past the fast path's table, the full parse */
	n = (size_t)snprintf(buf, sizeof buf, "{\"event\":\"media\",");
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "\"k%zu\":\"v\",", i);
	snprintf(buf + n, sizeof buf - n, "\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"AAAA\"}}");
	CHECK(same_both(buf, strlen(buf), &f) && f == 0 && ra.r == TW_OK && strcmp(ra.payload, "AAAA") == 0);
	/* a payload of 65 KB: too long for the fast path; 60 KB: fast */
	big = malloc(70000);
	CHECK(big != NULL);
	if (big) {
		for (n = 60000; n <= 65600; n += 5600) {
			k = (size_t)snprintf(big, 70000, "{\"event\":\"media\",\"media\":{\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\"");
			memset(big + k, 'A', n);
			strcpy(big + k + n, "\"}}");
			CHECK(same_both(big, strlen(big), &f) && ra.r == TW_OK && ra.payload_len == n && f == (n < 65536 - k));
		}
		free(big);
	}
	tw_free();
}

/* One line through the call state: what it says to do. */
static enum twc_do
feed(struct twcall *c, const char *s, struct twc_out *r)
{
	twc_line(c, s, strlen(s), r);
	return r->what;
}

static void
test_twcall(void)
{
	static const char start[] = "{\"event\":\"start\",\"start\":{"
	    "\"callSid\":\"CA0123456789abcdef0123456789abcdef\","
	    "\"streamSid\":\"MZ0123456789abcdef0123456789abcdef\","
	    "\"tracks\":[\"inbound\",\"outbound\"],\"mediaFormat\":{"
	    "\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,"
	    "\"channels\":1}}}";
	static const char in0[] = "{\"event\":\"media\",\"media\":{"
	    "\"track\":\"inbound\",\"timestamp\":\"0\",\"payload\":\""
	    "////////////////////////////////////////////////\"}}";
	static const char out0[] = "{\"event\":\"media\",\"media\":{"
	    "\"track\":\"outbound\",\"timestamp\":\"0\",\"payload\":\""
	    "////////////////////////////////////////////////\"}}";
	struct mix_opts mo = { 0, 8, 8 * 60000, 8 * 1000, 8 * 30000 };
	struct twcall c;
	struct twc_out r;

	CHECK(tw_init() == 0);
	twc_init(&c, &mo);
	/* media before start: skipped, counted */
	CHECK(feed(&c, in0, &r) == TWC_SKIP && r.reason == TW_R_EARLY);
	CHECK(feed(&c, "{\"event\":\"connected\"}", &r) == TWC_NOTHING);
	CHECK(feed(&c, "not json", &r) == TWC_SKIP && r.reason == TW_R_JSON);
	/* a start whose CallSid is not CA + 32 hex digits is refused */
	{
		char bad[sizeof start];

		memcpy(bad, start, sizeof start);
		bad[strstr(bad, "CA0") - bad + 2] = 'x';
		CHECK(feed(&c, bad, &r) == TWC_REFUSE && !c.started);
	}
	CHECK(feed(&c, start, &r) == TWC_START && c.started && c.nch == 2);
	CHECK(strcmp(c.tracks, "inbound,outbound") == 0);
	CHECK(feed(&c, start, &r) == TWC_SKIP && r.reason == TW_R_DUPSTART);
	/* 48 base64 '/' = 36 bytes per track; frames of 8 samples */
	CHECK(feed(&c, in0, &r) == TWC_MEDIA && mix_ready(&c.mx) == 0);
	CHECK(feed(&c, out0, &r) == TWC_MEDIA && mix_ready(&c.mx) == 32);
	CHECK(feed(&c, "{\"event\":\"mark\",\"mark\":{\"name\":\"a\"}}", &r) ==
	    TWC_EVENT);
	CHECK(feed(&c, "{\"event\":\"stop\"}", &r) == TWC_STOP && c.finished);
	CHECK(mix_ready(&c.mx) == 36);
	/* after stop: the first line says so, the rest are only counted */
	CHECK(feed(&c, in0, &r) == TWC_IGNORE);
	CHECK(feed(&c, in0, &r) == TWC_NOTHING);
	twc_toolong(&c, "too long", &r);
	CHECK(r.what == TWC_NOTHING && c.nignored == 3);
	CHECK(c.nmsg == 13 && c.nbad[TW_R_EARLY] == 1 && c.nbad[TW_R_JSON] == 1 &&
	    c.nbad[TW_R_DUPSTART] == 1 && c.nchunks[TW_INBOUND] == 1 &&
	    c.nchunks[TW_OUTBOUND] == 1);
	twc_free(&c);
	/* a line too long before stop is skipped with its own reason */
	twc_init(&c, &mo);
	twc_toolong(&c, "too long", &r);
	CHECK(r.what == TWC_SKIP && r.reason == TW_R_TOOLONG && c.nbad[TW_R_TOOLONG] == 1);
	CHECK(twc_finish(&c) == MIX_OK && c.finished);
	twc_free(&c);
	tw_free();
}

int
main(void)
{
	unsigned i, k;

	for (k = 0; k < 4; k++)
		for (i = 0; i < sizeof chunk[0]; i++)
			chunk[k][i] = (unsigned char)(k * 64 + i * 7 + 1);
	test_single();
	test_two();
	test_gap_lag();
	test_base64();
	test_parser();
	test_nul();
	test_fastpath();
	test_twcall();
	if (failures) {
		fprintf(stderr, "test-mix: %d failure(s)\n", failures);
		return 1;
	}
	return 0;
}
