/* barge.c: twilio-agent's barge-in rules over lines; see barge.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "barge.h"

void
barge_init(struct barge *b, long chan)
{
	memset(b, 0, sizeof *b);
	b->chan = chan;
}

int
barge_playing(const struct barge *b)
{
	return b->waitmark || b->fresh;
}

static const cJSON *
get(const cJSON *m, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(m, key);
}

static int
onchannel(const cJSON *m, const char *key, long chan)
{
	const cJSON *c = cJSON_GetArrayItem(get(m, key), 0);

	return cJSON_IsNumber(c) && c->valuedouble == (double)chan;
}

static const char *
speech(const cJSON *m, long chan)
{
	const cJSON *t = get(m, "type"), *alt, *tr;

	if (!cJSON_IsString(t))
		return NULL;
	if (strcmp(t->valuestring, "SpeechStarted") == 0)
		return onchannel(m, "channel", chan) ? "SpeechStarted" : NULL;
	if (strcmp(t->valuestring, "Results") != 0 ||
	    !onchannel(m, "channel_index", chan) ||
	    cJSON_IsTrue(get(m, "is_final")))
		return NULL;
	alt = cJSON_GetArrayItem(get(get(m, "channel"), "alternatives"), 0);
	tr = get(alt, "transcript");
	if (!cJSON_IsString(tr) ||
	    tr->valuestring[strspn(tr->valuestring, " ")] == '\0')
		return NULL;
	return "interim";
}

const char *
barge_dg(struct barge *b, const char *line, size_t len)
{
	const char *why = NULL;
	cJSON *m;

	/* parsed only while the bot's audio plays */
	if (!barge_playing(b) || (m = cJSON_ParseWithLength(line, len)) == NULL)
		return NULL;
	why = speech(m, b->chan);
	cJSON_Delete(m);
	if (why != NULL) {
		b->waitmark = b->fresh = 0;
		b->muted = 1;
	}
	return why;
}

static const char *
markname(const cJSON *m)
{
	const cJSON *nm = get(get(m, "mark"), "name");

	return cJSON_IsString(nm) ? nm->valuestring : NULL;
}

void
barge_event(struct barge *b, const char *line, size_t len)
{
	cJSON *m = cJSON_ParseWithLength(line, len);
	const char *nm = m ? markname(m) : NULL;

	/* Twilio echoes marks in order: the last one means all has played */
	if (nm != NULL && strcmp(nm, b->lastmark) == 0)
		b->waitmark = 0;
	cJSON_Delete(m);
}

static enum barge_bot
bot_msg(struct barge *b, const cJSON *m, const char *e, const char **why)
{
	const char *nm;

	if (strcmp(e, "media") == 0) {
		if (b->muted)
			return BARGE_MUTED;
		b->fresh = 1;
		return BARGE_SEND;
	}
	if (strcmp(e, "mark") == 0) {
		if ((nm = markname(m)) == NULL || strlen(nm) > BARGE_NAME_MAX) {
			*why = "mark without a name (at most 64 bytes)";
			return BARGE_BAD;
		}
		/* a mark after no new audio covers nothing */
		b->waitmark = b->waitmark || b->fresh;
		b->fresh = b->muted = 0;
		memcpy(b->lastmark, nm, strlen(nm) + 1);
		return BARGE_SEND;
	}
	if (strcmp(e, "clear") == 0) {
		b->waitmark = b->fresh = b->muted = 0;
		return BARGE_SEND;
	}
	*why = "event is not media, mark or clear";
	return BARGE_BAD;
}

enum barge_bot
barge_bot(struct barge *b, const char *line, size_t len, const char *sid,
    const char **why)
{
	cJSON *m = cJSON_ParseWithLength(line, len);
	const cJSON *ev = get(m, "event"), *s = get(m, "streamSid");
	enum barge_bot r = BARGE_BAD;

	if (!cJSON_IsObject(m) || !cJSON_IsString(ev) || !cJSON_IsString(s))
		*why = "not a Twilio message (JSON with event, streamSid)";
	else if (strcmp(s->valuestring, sid) != 0)
		*why = "streamSid is not this stream's";
	else
		r = bot_msg(b, m, ev->valuestring, why);
	cJSON_Delete(m);
	return r;
}
