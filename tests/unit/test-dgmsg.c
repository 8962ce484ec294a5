/* Unit tests for dgmsg.c: time shifting, dedupe of finals across reconnects, overlap
 * trimming, interim suppression, pass-through of unchanged bytes, newline handling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgmsg.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

static char got[4096];

/* runs dg_msg; returns action and leaves the delivered text in got ("" on drop) */
static int
run(struct dg_state *st, const char *m, double shift, struct dg_out *o)
{
	int r = dg_msg(st, m, strlen(m), shift, o);

	CHECK(r == 0);
	got[0] = '\0';
	if (o->action == DG_PASS)
		snprintf(got, sizeof got, "%s", m);
	else if (o->action == DG_REWRITE) {
		snprintf(got, sizeof got, "%.*s", (int)o->len, o->text);
		CHECK(memchr(o->text, '\n', o->len) == NULL);
		free(o->text);
	}
	return o->action;
}

static const char *
final(char *buf, size_t sz, int c, int n, const char *start, const char *dur, const char *end,
    const char *word)
{
	snprintf(buf, sz, "{\"type\":\"Results\",\"channel_index\":[%d,%d],\"start\":%s,"
	    "\"duration\":%s,\"is_final\":true,\"channel\":{\"alternatives\":[{\"transcript\":\"%s\","
	    "\"confidence\":1.0,\"words\":[{\"word\":\"%s\",\"start\":%s,\"end\":%s,"
	    "\"confidence\":1.0,\"punctuated_word\":\"%s\"}]}]}}", c, n, start, dur, word, word,
	    start, end, word);
	return buf;
}

int
main(void)
{
	struct dg_state st;
	struct dg_out o;
	char b[1024], t[64];

	/* time format */
	dg_fmt_time(t, sizeof t, 3.0);
	CHECK(strcmp(t, "3.0") == 0);
	dg_fmt_time(t, sizeof t, 12.48 + 0.0000000001);
	CHECK(strcmp(t, "12.48") == 0);
	dg_fmt_time(t, sizeof t, 0.1 + 0.2);
	CHECK(strcmp(t, "0.3") == 0);
	dg_fmt_time(t, sizeof t, -0.5);
	CHECK(strcmp(t, "-0.5") == 0);
	dg_fmt_time(t, sizeof t, 1.0000004);
	CHECK(strcmp(t, "1.0") == 0);

	/* no shift: bytes pass unchanged, final ends tracked per channel */
	dg_state_init(&st, 2);
	dg_newconn(&st);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,2],\"timestamp\":0.0}", 0, &o) == DG_PASS);
	CHECK(dg_confirmed(&st) == 0);
	CHECK(run(&st, final(b, sizeof b, 0, 2, "0.0", "1.0", "1.0", "aaa"), 0, &o) == DG_PASS);
	CHECK(o.type == DGT_RESULTS && o.is_final && o.channel == 0 && o.end == 1.0);
	CHECK(strcmp(got, b) == 0);
	CHECK(dg_confirmed(&st) == 0); /* channel 1 has nothing yet */
	CHECK(run(&st, final(b, sizeof b, 1, 2, "0.0", "1.0", "1.0", "bbb"), 0, &o) == DG_PASS);
	CHECK(dg_confirmed(&st) == 1.0);
	CHECK(run(&st, final(b, sizeof b, 0, 2, "1.0", "1.0", "2.0", "ccc"), 0, &o) == DG_PASS);
	CHECK(dg_confirmed(&st) == 1.0);
	CHECK(st.final_end[0] == 2.0 && st.final_end[1] == 1.0);

	/* reconnect from 1.0 (channel 1's last final end): shift 1.0 */
	dg_newconn(&st);
	/* channel 0's 1..2 again: duplicate, dropped */
	CHECK(run(&st, final(b, sizeof b, 0, 2, "0.0", "1.0", "1.0", "ccc"), 1.0, &o) == DG_DROP);
	CHECK(o.why != NULL && st.dups == 1);
	/* channel 1's 1..2: new, shifted */
	CHECK(run(&st, final(b, sizeof b, 1, 2, "0.0", "1.0", "1.0", "ddd"), 1.0, &o) == DG_REWRITE);
	CHECK(strstr(got, "\"start\":1.0,") != NULL);
	CHECK(strstr(got, "\"words\":[{\"word\":\"ddd\",\"start\":1.0,\"end\":2.0,") != NULL);
	CHECK(strstr(got, "\"duration\":1,") != NULL || strstr(got, "\"duration\":1.0,") != NULL);
	CHECK(o.end == 2.0 && dg_confirmed(&st) == 2.0);
	/* channel 0's 2..3: new */
	CHECK(run(&st, final(b, sizeof b, 0, 2, "1.0", "1.0", "2.0", "eee"), 1.0, &o) == DG_REWRITE);
	CHECK(strstr(got, "\"start\":2.0,") != NULL && strstr(got, "\"end\":3.0") != NULL);
	CHECK(st.finals == 5);

	/* interims: a replayed span is dropped, a new one shifted */
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,2],\"start\":1.0,\"duration\":0.5,\"is_final\":false}", 1.0, &o) == DG_DROP);
	CHECK(st.interims_dropped == 1);
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,2],\"start\":2.0,\"duration\":0.25,\"is_final\":false}", 1.0, &o) == DG_REWRITE);
	CHECK(strcmp(got, "{\"type\":\"Results\",\"channel_index\":[0,2],\"start\":3.0,\"duration\":0.25,\"is_final\":false}") == 0);
	CHECK(st.final_end[0] == 3.0); /* interims never move the final end */

	/* overlap: a final 2.5..4.0 (shifted) on channel 0 whose last end is 3.0 */
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,2],\"start\":1.5,\"duration\":1.5,\"is_final\":true,"
	    "\"channel\":{\"alternatives\":[{\"transcript\":\"old new words\",\"words\":["
	    "{\"word\":\"old\",\"start\":1.5,\"end\":1.9,\"punctuated_word\":\"Old\"},"
	    "{\"word\":\"new\",\"start\":1.9,\"end\":2.4},"
	    "{\"word\":\"words\",\"start\":2.4,\"end\":3.0,\"punctuated_word\":\"words.\"}]}]}}", 1.0, &o) == DG_REWRITE);
	CHECK(strstr(got, "\"start\":3.0,\"duration\":1.0,") != NULL);
	CHECK(strstr(got, "\"transcript\":\"new words.\"") != NULL);
	CHECK(strstr(got, "\"Old\"") == NULL);
	CHECK(strstr(got, "{\"word\":\"new\",\"start\":2.9,\"end\":3.4}") != NULL);
	CHECK(st.trimmed == 1 && st.final_end[0] == 4.0);

	/* UtteranceEnd and SpeechStarted shifted; Metadata untouched */
	CHECK(run(&st, "{\"type\":\"UtteranceEnd\",\"channel\":[1,2],\"last_word_end\":1.0}", 1.0, &o) == DG_REWRITE);
	CHECK(strcmp(got, "{\"type\":\"UtteranceEnd\",\"channel\":[1,2],\"last_word_end\":2.0}") == 0 && o.channel == 1);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[1,2],\"timestamp\":0.25}", 10, &o) == DG_REWRITE);
	CHECK(strcmp(got, "{\"type\":\"SpeechStarted\",\"channel\":[1,2],\"timestamp\":10.25}") == 0);
	/* events for replayed audio that the first connection reported: dropped */
	CHECK(run(&st, "{\"type\":\"UtteranceEnd\",\"channel\":[0,2],\"last_word_end\":1.0}", 1.0, &o) == DG_DROP);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,2],\"timestamp\":0.5}", 1.0, &o) == DG_DROP);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,2],\"timestamp\":1.0}", 1.0, &o) == DG_DROP);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,2],\"timestamp\":1.5}", 1.0, &o) == DG_REWRITE);
	CHECK(strcmp(got, "{\"type\":\"SpeechStarted\",\"channel\":[0,2],\"timestamp\":2.5}") == 0);
	CHECK(st.events_dropped == 3);
	/* after a reconnect, an event at or before the last one delivered is a repeat */
	dg_newconn(&st);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,2],\"timestamp\":4.0}", 1.0, &o) == DG_REWRITE);
	dg_newconn(&st); /* replays from 4.0 again: 5.0 was delivered after it */
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,2],\"timestamp\":4.0}", 1.0, &o) == DG_DROP);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,2],\"timestamp\":4.1}", 1.0, &o) == DG_REWRITE);
	CHECK(st.events_dropped == 4);
	CHECK(run(&st, "{\"type\":\"Metadata\",\"duration\":3.0,\"channels\":2}", 1.0, &o) == DG_PASS);
	CHECK(o.type == DGT_METADATA);
	CHECK(run(&st, "{\"type\":\"UtteranceEnd\",\"channel\":[1,2],\"last_word_end\":5.0}", 0, &o) == DG_PASS);

	/* newline: re-serialized compactly; other types and garbage */
	CHECK(run(&st, "{\"type\": \"Metadata\",\n \"duration\": 3.5}", 0, &o) == DG_REWRITE);
	CHECK(strcmp(got, "{\"type\":\"Metadata\",\"duration\":3.5}") == 0);
	CHECK(run(&st, "{\"type\":\"Error\",\"err_code\":\"X\"}", 5, &o) == DG_PASS && o.type == DGT_OTHER);
	CHECK(run(&st, "not json", 0, &o) == DG_DROP && o.type == DGT_INVALID && o.why);
	CHECK(run(&st, "not\njson", 0, &o) == DG_DROP && o.type == DGT_INVALID);
	CHECK(run(&st, "[1,2]", 0, &o) == DG_DROP && o.type == DGT_INVALID);
	CHECK(run(&st, "", 0, &o) == DG_DROP && o.type == DGT_INVALID);
	CHECK(run(&st, "{\"type\":\"Metadata\"} x", 0, &o) == DG_DROP && o.type == DGT_INVALID);
	/* a tab or CR between tokens: re-serialized; inside a string it is invalid */
	CHECK(run(&st, "{\"type\":\t\"Metadata\"}\r", 0, &o) == DG_REWRITE);
	CHECK(strcmp(got, "{\"type\":\"Metadata\"}") == 0);
	CHECK(run(&st, "{\"type\":\"Meta\tdata\"}", 0, &o) == DG_DROP);
	/* raw NUL and invalid UTF-8 (lengths given: strlen would stop at the NUL) */
	{
		static const struct { const char *m; size_t len; const char *why; } bad[] = {
			{ "{\"type\":\"Res\0ults\"}", 20, "contains a NUL byte" },
			{ "{\"a\":1}\0", 8, "contains a NUL byte" },
			{ "\xff\xfe", 2, "not valid UTF-8" },
			{ "{\"type\":\"Results\xed\xa0\x80\"}", 20, "not valid UTF-8" }, /* surrogate */
			{ "{\"w\":\"\xc0\xaf\"}", 10, "not valid UTF-8" },                 /* overlong */
			{ "{\"w\":\"\xf4\x90\x80\x80\"}", 12, "not valid UTF-8" },       /* > U+10FFFF */
			{ "{\"w\":\"\xe2\x82\"}", 10, "not valid UTF-8" },                 /* cut short */
			{ "\xef\xbb\xbf{\"a\":1}", 10, "not a JSON object" },               /* BOM */
		};
		size_t i;

		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			CHECK(dg_msg(&st, bad[i].m, bad[i].len, 0, &o) == 0);
			CHECK(o.action == DG_DROP && o.type == DGT_INVALID);
			CHECK(o.why != NULL && strcmp(o.why, bad[i].why) == 0);
			if (o.why == NULL || strcmp(o.why, bad[i].why) != 0)
				fprintf(stderr, "case %zu: %s\n", i, o.why ? o.why : "(valid)");
		}
	}
	{
		static const char *const valid[] = {
			"{}", " {\"a\" : [ 1 , -0.5e+3 , 0 , true , false , null , \"\" , {} , [] ] } ",
			"{\"w\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", /* 2, 3, 4 bytes */
			"{\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000\"}",
			"{\"a\":1,\"a\":2}", "{\"n\":18446744073709551616,\"m\":1e400,\"k\":-0}",
		};
		static const char *const invalid[] = {
			"{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":[1,]}", "{\"a\":[1 2]}",
			"{\"a\":01}", "{\"a\":+1}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":-}",
			"{\"a\":NaN}", "{\"a\":tru}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
			"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}",
			"{'a':1}", "{a:1}", "{\"a\":1]", "{\"a\":[1}", "{\"a\":1}}", "{}{}", "{\"a\":\"x",
			"{\"a\":\"\x01\"}", "{\"a\"\x0b:1}", "\"x\"", "null", "1",
		};
		size_t i;
		int ws;
		char deep[2 * DG_JSON_DEPTH + 8];

		for (i = 0; i < sizeof valid / sizeof valid[0]; i++) {
			const char *w = dg_json_check(valid[i], strlen(valid[i]), &ws);
			CHECK(w == NULL);
			if (w)
				fprintf(stderr, "valid %zu: %s\n", i, w);
		}
		for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
			CHECK(dg_json_check(invalid[i], strlen(invalid[i]), &ws) != NULL);
			if (dg_json_check(invalid[i], strlen(invalid[i]), &ws) == NULL)
				fprintf(stderr, "invalid %zu accepted: %s\n", i, invalid[i]);
		}
		/* nesting: DG_JSON_DEPTH levels pass (and cJSON parses them), one more does not */
		deep[0] = '{';
		deep[1] = '"';
		deep[2] = 'a';
		deep[3] = '"';
		deep[4] = ':';
		for (i = 0; i < DG_JSON_DEPTH - 1; i++)
			deep[5 + i] = '[';
		for (i = 0; i < DG_JSON_DEPTH - 1; i++)
			deep[5 + DG_JSON_DEPTH - 1 + i] = ']';
		deep[5 + 2 * (DG_JSON_DEPTH - 1)] = '}';
		CHECK(dg_json_check(deep, 6 + 2 * (DG_JSON_DEPTH - 1), &ws) == NULL);
		CHECK(run(&st, "{\"type\":\"Other\"}", 0, &o) == DG_PASS);
		deep[5 + 2 * (DG_JSON_DEPTH - 1)] = '\0';
		CHECK(dg_msg(&st, deep, 6 + 2 * (DG_JSON_DEPTH - 1), 0, &o) == 0);
		deep[5 + 2 * (DG_JSON_DEPTH - 1)] = '}';
		CHECK(dg_msg(&st, deep, 6 + 2 * (DG_JSON_DEPTH - 1), 0, &o) == 0 && o.action == DG_PASS);
		memmove(deep + 6, deep + 5, 2 * (DG_JSON_DEPTH - 1) + 1);
		deep[5] = '[';
		memmove(deep + 6 + DG_JSON_DEPTH, deep + 5 + DG_JSON_DEPTH, DG_JSON_DEPTH + 1);
		deep[5 + DG_JSON_DEPTH] = ']';
		CHECK(dg_json_check(deep, 6 + 2 * DG_JSON_DEPTH, &ws) != NULL);
		CHECK(dg_json_check("{\"a\":\n1}", 8, &ws) == NULL && ws == 1);
		/* values: the object plus DG_JSON_MAXVALUES - 2 in an array pass, one more not */
		{
			size_t nv = DG_JSON_MAXVALUES - 2, len = 0, k;
			char *big = malloc(16 + 2 * (nv + 1));

			CHECK(big != NULL);
			if (big != NULL) {
				len += (size_t)sprintf(big, "{\"x\":[");
				for (k = 0; k < nv; k++)
					big[len++] = '0', big[len++] = ',';
				big[len - 1] = ']';
				big[len++] = '}';
				CHECK(dg_json_check(big, len, &ws) == NULL);
				memcpy(big + len - 2, ",0]}", 4);
				len += 2;
				CHECK(dg_json_check(big, len, &ws) != NULL);
				free(big);
			}
		}
		CHECK(dg_json_check("{\"a\": 1}", 8, &ws) == NULL && ws == 0);
	}
	/* odd channel_index values are not tracked but still shifted */
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[99,2],\"start\":0.5,\"duration\":1,\"is_final\":true}", 1, &o) == DG_REWRITE);
	CHECK(o.channel == -1 && strstr(got, "\"start\":1.5") != NULL);
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":\"x\",\"start\":\"a\",\"is_final\":true}", 1, &o) == DG_PASS);

	/* a reconnect before any final: events at 0 were reported by the first connection */
	dg_state_init(&st, 1);
	dg_newconn(&st);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,1],\"timestamp\":0.0}", 0, &o) == DG_PASS);
	dg_newconn(&st);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,1],\"timestamp\":0.0}", 0, &o) == DG_DROP);
	CHECK(run(&st, "{\"type\":\"SpeechStarted\",\"channel\":[0,1],\"timestamp\":0.5}", 0, &o) == DG_PASS);

	/* absurd times are left alone; formatting clamps */
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,1],\"start\":1e308,\"duration\":1,\"is_final\":true}", 1, &o) == DG_PASS);
	CHECK(dg_confirmed(&st) == 0); /* a start that is not a time moves nothing */
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,1],\"start\":1,\"duration\":1e308,\"is_final\":true}", 1, &o) == DG_REWRITE); /* duration ignored: ends at 2.0 */
	CHECK(dg_confirmed(&st) == 2.0);

	/* implausible times (a final past the audio sent) are dropped, counted, and never
	 * move the dedupe state: the channel's later finals still pass */
	dg_state_init(&st, 1);
	dg_newconn(&st);
	st.heard = 3.0;
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,1],\"start\":1e9,\"duration\":1e9,\"is_final\":true}", 0, &o) == DG_DROP);
	CHECK(st.implausible == 1 && dg_confirmed(&st) == 0 && o.why != NULL);
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,1],\"start\":-5,\"duration\":1,\"is_final\":true}", 0, &o) == DG_DROP);
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,1],\"start\":1,\"duration\":-1,\"is_final\":true}", 0, &o) == DG_DROP);
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,1],\"start\":3.5,\"duration\":1,\"is_final\":false}", 0, &o) == DG_DROP);
	CHECK(st.implausible == 4);
	CHECK(run(&st, final(b, sizeof b, 0, 1, "0.0", "1.0", "1.0", "x"), 0, &o) == DG_PASS);
	CHECK(run(&st, final(b, sizeof b, 0, 1, "1.0", "2.5", "3.5", "y"), 0, &o) == DG_PASS); /* within DG_SLACK */
	CHECK(dg_confirmed(&st) == 3.5);

	/* entities follow the words kept after a trim (end_word exclusive) */
	dg_state_init(&st, 1);
	dg_newconn(&st);
	CHECK(run(&st, final(b, sizeof b, 0, 1, "0.0", "2.0", "2.0", "a"), 0, &o) == DG_PASS);
	dg_newconn(&st);
	CHECK(run(&st, "{\"type\":\"Results\",\"channel_index\":[0,1],\"start\":0,\"duration\":4,\"is_final\":true,"
	    "\"channel\":{\"alternatives\":[{\"transcript\":\"w0 w1 w2 w3\",\"words\":["
	    "{\"word\":\"w0\",\"start\":0,\"end\":1},{\"word\":\"w1\",\"start\":1,\"end\":2},"
	    "{\"word\":\"w2\",\"start\":2,\"end\":3},{\"word\":\"w3\",\"start\":3,\"end\":4}],"
	    "\"entities\":[{\"label\":\"A\",\"start_word\":2,\"end_word\":4},"
	    "{\"label\":\"B\",\"start_word\":1,\"end_word\":3},"
	    "{\"label\":\"C\",\"start_word\":0,\"end_word\":1},"
	    "{\"label\":\"D\",\"start_word\":3,\"end_word\":9},"
	    "{\"label\":\"E\",\"start_word\":3,\"end_word\":4}]}]}}", 0, &o) == DG_REWRITE);
	CHECK(strstr(got, "\"transcript\":\"w2 w3\"") != NULL);
	CHECK(strstr(got, "{\"label\":\"A\",\"start_word\":0,\"end_word\":2}") != NULL);
	CHECK(strstr(got, "{\"label\":\"E\",\"start_word\":1,\"end_word\":2}") != NULL);
	CHECK(strstr(got, "\"B\"") == NULL && strstr(got, "\"C\"") == NULL && strstr(got, "\"D\"") == NULL);
	CHECK(dg_fmt_time(t, sizeof t, 1e308) > 0 && dg_fmt_time(t, sizeof t, -1e300) > 0);

	/* mono without multichannel: [0,1] shrinks the tracked channels to 1 */
	dg_state_init(&st, 2);
	CHECK(run(&st, final(b, sizeof b, 0, 1, "0.0", "1.0", "1.0", "m"), 0, &o) == DG_PASS);
	CHECK(st.nch == 1 && dg_confirmed(&st) == 1.0);

	if (failures)
		fprintf(stderr, "test-dgmsg: %d failures\n", failures);
	return failures != 0;
}
