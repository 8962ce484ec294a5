/* Unit tests for barge (twilio-agent's barge-in rules): when the bot's audio
 * plays, what counts as the caller speaking over it, muting until the bot's
 * next mark or clear, mark echoes, and bot lines that never reach Twilio. */
#include <stdio.h>
#include <string.h>

#include "barge.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, \
    "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

#define SID "MZ0123456789abcdef0123456789abcdef"
#define MEDIA "{\"event\":\"media\",\"streamSid\":\"" SID "\"," \
    "\"media\":{\"payload\":\"//8=\"}}"
#define MARK(n) "{\"event\":\"mark\",\"streamSid\":\"" SID "\"," \
    "\"mark\":{\"name\":\"" n "\"}}"
#define CLEAR "{\"event\":\"clear\",\"streamSid\":\"" SID "\"}"
#define ECHO(n) "{\"event\":\"mark\",\"sequenceNumber\":\"9\"," \
    "\"streamSid\":\"" SID "\",\"mark\":{\"name\":\"" n "\"}}"
#define SPEECH(c) "{\"type\":\"SpeechStarted\",\"channel\":[" #c ",2]," \
    "\"timestamp\":1.5}"
#define RESULT(c, fin, t) "{\"type\":\"Results\",\"channel_index\":[" #c \
    ",2],\"is_final\":" #fin ",\"channel\":{\"alternatives\":" \
    "[{\"transcript\":\"" t "\"}]}}"

static const char *
dg(struct barge *b, const char *s)
{
	return barge_dg(b, s, strlen(s));
}

static enum barge_bot
bot(struct barge *b, const char *s)
{
	const char *why = NULL;
	enum barge_bot r = barge_bot(b, s, strlen(s), SID, &why);

	CHECK((r == BARGE_BAD) == (why != NULL));
	return r;
}

static void
ev(struct barge *b, const char *s)
{
	barge_event(b, s, strlen(s));
}

static void
test_triggers(void)
{
	struct barge b;
	const char *t;

	barge_init(&b, 0);
	CHECK(!barge_playing(&b));
	CHECK(dg(&b, SPEECH(0)) == NULL); /* nothing plays: no barge-in */
	CHECK(bot(&b, MEDIA) == BARGE_SEND && barge_playing(&b));
	CHECK(dg(&b, SPEECH(1)) == NULL);  /* the callee */
	CHECK(dg(&b, RESULT(0, false, "")) == NULL);
	CHECK(dg(&b, RESULT(0, false, "   ")) == NULL);
	CHECK(dg(&b, RESULT(0, true, "a final")) == NULL);
	CHECK(dg(&b, RESULT(1, false, "callee words")) == NULL);
	CHECK(dg(&b, "{\"type\":\"Results\"") == NULL);
	CHECK(dg(&b, "{\"type\":\"Results\",\"channel_index\":\"0\"}") == NULL);
	CHECK(barge_playing(&b));
	t = dg(&b, RESULT(0, false, "wait"));
	CHECK(t != NULL && strcmp(t, "interim") == 0);
	CHECK(!barge_playing(&b) && b.muted);
	CHECK(dg(&b, SPEECH(0)) == NULL); /* cleared: nothing plays */

	barge_init(&b, 1); /* the caller on channel 1 */
	CHECK(bot(&b, MEDIA) == BARGE_SEND);
	CHECK(dg(&b, SPEECH(0)) == NULL);
	t = dg(&b, SPEECH(1));
	CHECK(t != NULL && strcmp(t, "SpeechStarted") == 0);
}

static void
test_marks(void)
{
	struct barge b;

	barge_init(&b, 0);
	CHECK(bot(&b, MEDIA) == BARGE_SEND);
	CHECK(bot(&b, MARK("m1")) == BARGE_SEND);
	CHECK(barge_playing(&b) && strcmp(b.lastmark, "m1") == 0);
	CHECK(bot(&b, MEDIA) == BARGE_SEND);
	CHECK(bot(&b, MARK("m2")) == BARGE_SEND);
	ev(&b, ECHO("m1")); /* an earlier mark: m2's audio still plays */
	CHECK(barge_playing(&b));
	ev(&b, "{\"event\":\"dtmf\"}");
	ev(&b, "not json");
	CHECK(barge_playing(&b));
	ev(&b, ECHO("m2"));
	CHECK(!barge_playing(&b));
	/* a mark after no new audio covers nothing */
	CHECK(bot(&b, MARK("m3")) == BARGE_SEND && !barge_playing(&b));
	/* audio waiting on its echo alone still counts as playing */
	CHECK(bot(&b, MEDIA) == BARGE_SEND);
	CHECK(bot(&b, MARK("m4")) == BARGE_SEND);
	CHECK(dg(&b, SPEECH(0)) != NULL);
	/* muted until the bot's mark; then it may speak again */
	CHECK(bot(&b, MEDIA) == BARGE_MUTED && bot(&b, MEDIA) == BARGE_MUTED);
	CHECK(!barge_playing(&b));
	CHECK(bot(&b, MARK("m4")) == BARGE_SEND && !barge_playing(&b));
	CHECK(bot(&b, MEDIA) == BARGE_SEND && barge_playing(&b));
	/* or until its own clear */
	CHECK(dg(&b, SPEECH(0)) != NULL);
	CHECK(bot(&b, MEDIA) == BARGE_MUTED);
	CHECK(bot(&b, CLEAR) == BARGE_SEND && !b.muted);
	CHECK(bot(&b, MEDIA) == BARGE_SEND);
	CHECK(bot(&b, CLEAR) == BARGE_SEND && !barge_playing(&b));
}

static void
test_bad(void)
{
#define NAME64 "0123456789abcdef0123456789abcdef" \
    "0123456789abcdef0123456789abcdef"
	static const char *const bad[] = {
		"", "hello", "[]", "{}", "{\"event\":\"media\"}",
		"{\"event\":\"media\",\"streamSid\":\"MZ2\",\"media\":{}}",
		"{\"event\":1,\"streamSid\":\"" SID "\"}",
		"{\"event\":\"dtmf\",\"streamSid\":\"" SID "\"}",
		"{\"event\":\"mark\",\"streamSid\":\"" SID "\"}",
		"{\"event\":\"mark\",\"streamSid\":\"" SID "\",\"mark\":{}}",
		MARK(NAME64 "x"),
	};
	struct barge b;
	size_t i;

	barge_init(&b, 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(bot(&b, bad[i]) == BARGE_BAD);
	CHECK(!barge_playing(&b) && b.lastmark[0] == '\0');
	CHECK(bot(&b, MARK(NAME64)) == BARGE_SEND);
	CHECK(strlen(b.lastmark) == BARGE_NAME_MAX);
}

int
main(void)
{
	test_triggers();
	test_marks();
	test_bad();
	if (failures)
		fprintf(stderr, "test-barge: %d failures\n", failures);
	return failures != 0;
}
