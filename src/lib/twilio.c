/* twilio.c: Twilio Media Streams message parser over one line; no I/O.
 * cJSON allocates one node per value, so it gets a bump arena that is reset for each
 * line: parsing a media message costs no malloc/free, and nothing outlives the line. */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cp.h"
#include "twilio.h"

const char *const tw_reason_name[TW_R_N] = {
	[TW_OK] = "ok",
	[TW_R_EMPTY] = "empty",
	[TW_R_NUL] = "nul-byte",
	[TW_R_JSON] = "not-json",
	[TW_R_TYPE] = "wrong-type",
	[TW_R_EVENT] = "unknown-event",
	[TW_R_TRACK] = "bad-track",
	[TW_R_TIMESTAMP] = "bad-timestamp",
	[TW_R_PAYLOAD] = "bad-payload",
	[TW_R_START] = "bad-start",
	[TW_R_TOOLONG] = "too-long",
	[TW_R_EARLY] = "before-start",
	[TW_R_DUPSTART] = "duplicate-start",
	[TW_R_UNDECLARED] = "undeclared-track",
};

/* ---- the arena: one resident block, overflow blocks freed at the next reset ----
 * A media line needs about 2 KiB; the resident block serves any line up to a few
 * tens of KiB, larger ones (up to the 64 KiB line limit) spill into malloc'd blocks. */
#define ARENA_BLOCK (256 * 1024)
#define ARENA_ALIGN 16

struct blk {
	struct blk *next;
	size_t cap, used;
	alignas(ARENA_ALIGN) unsigned char data[];
};

static unsigned char *arena;  /* resident block, ARENA_BLOCK bytes */
static size_t arena_used;
static struct blk *overflow;  /* this line's extra blocks (newest first) */

static __attribute__((noinline)) void *
arena_spill(size_t n)
{
	struct blk *b = overflow;
	size_t cap;

	if (n == 0)
		n = ARENA_ALIGN;
	if (b == NULL || b->cap - b->used < n) {
		cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		if (cap > SIZE_MAX - sizeof *b)
			return NULL;
		b = malloc(sizeof *b + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = overflow;
		overflow = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

static void *
arena_alloc(size_t n)
{
	size_t r = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (r - 1 < ARENA_BLOCK - arena_used) { /* 0 < r <= room */
		void *p = arena + arena_used;
		arena_used += r;
		return p;
	}
	return arena_spill(r);
}

static void
arena_free(void *p)
{
	(void)p; /* everything goes at the next reset */
}

static void
arena_reset(void)
{
	struct blk *b;

	while ((b = overflow) != NULL) {
		overflow = b->next;
		free(b);
	}
	arena_used = 0;
}

int
tw_init(void)
{
	cJSON_Hooks h = { arena_alloc, arena_free };

	if (arena == NULL && (arena = aligned_alloc(ARENA_ALIGN, ARENA_BLOCK)) == NULL)
		return -1;
	cJSON_InitHooks(&h);
	return 0;
}

void
tw_free(void)
{
	if (arena == NULL)
		return;
	arena_reset();
	free(arena);
	arena = NULL;
	cJSON_InitHooks(NULL);
}

const char *
tw_track_name(int track)
{
	return track == TW_OUTBOUND ? "outbound" : "inbound";
}

/* ---- the parser ---- */

static enum tw_reason
reject(struct tw_msg *m, enum tw_reason r, const char *detail)
{
	m->detail = detail;
	return r;
}

static const char *
str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* strcmp(s, lit) == 0 for a short literal, inlined: it stops at the first difference,
 * so it never reads past the end of s */
static inline int
eq(const char *s, const char *lit)
{
	while (*lit != '\0')
		if (*s++ != *lit++)
			return 0;
	return *s == '\0';
}

static int
trackof(const char *s)
{
	if (eq(s, "inbound"))
		return TW_INBOUND;
	if (eq(s, "outbound"))
		return TW_OUTBOUND;
	return -1;
}

static enum tw_reason
parse_media(const cJSON *media, struct tw_msg *m)
{
	const cJSON *it, *track = NULL, *ts = NULL, *pl = NULL;

	if (!cJSON_IsObject(media))
		return reject(m, TW_R_TYPE, "media event without a media object");
	/* one pass over the members; the first of duplicate keys wins, as in cJSON */
	for (it = media->child; it != NULL; it = it->next) {
		const char *k = it->string;

		if (k == NULL)
			continue;
		if (k[0] == 't' && k[1] == 'r' && track == NULL && eq(k + 2, "ack"))
			track = it;
		else if (k[0] == 't' && k[1] == 'i' && ts == NULL && eq(k + 2, "mestamp"))
			ts = it;
		else if (k[0] == 'p' && pl == NULL && eq(k + 1, "ayload"))
			pl = it;
	}
	if (!cJSON_IsString(track))
		return reject(m, TW_R_TYPE, "media.track missing or not a string");
	if ((m->track = trackof(track->valuestring)) < 0)
		return reject(m, TW_R_TRACK, "media.track is neither inbound nor outbound");
	if (!cJSON_IsString(ts))
		return reject(m, TW_R_TIMESTAMP, "media.timestamp missing or not a string");
	if (cp_digits(ts->valuestring, TW_TIMESTAMP_MAX, &m->timestamp) < 0)
		return reject(m, TW_R_TIMESTAMP, "media.timestamp is not a non-negative integer string (or out of range)");
	if (!cJSON_IsString(pl))
		return reject(m, TW_R_PAYLOAD, "media.payload missing or not a string");
	m->payload = pl->valuestring;
	m->payload_len = strlen(pl->valuestring);
	m->event = TW_MEDIA;
	return TW_OK;
}

static enum tw_reason
parse_start(const cJSON *root, struct tw_msg *m)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "start");
	const cJSON *tracks, *fmt, *params, *it;
	size_t n;

	if (!cJSON_IsObject(st))
		return reject(m, TW_R_TYPE, "start event without a start object");
	m->call_sid = str(st, "callSid");
	m->account_sid = str(st, "accountSid");
	m->stream_sid = str(st, "streamSid");
	if (m->stream_sid == NULL)
		m->stream_sid = str(root, "streamSid");

	tracks = cJSON_GetObjectItemCaseSensitive(st, "tracks");
	if (!cJSON_IsArray(tracks))
		return reject(m, TW_R_START, "start.tracks missing or not an array");
	cJSON_ArrayForEach(it, tracks) {
		int t = cJSON_IsString(it) ? trackof(it->valuestring) : -1;

		if (t < 0)
			return reject(m, TW_R_START, "start.tracks names a track other than inbound/outbound");
		m->tracks |= TW_TRACK_BIT(t);
	}
	if (m->tracks == 0)
		return reject(m, TW_R_START, "start.tracks is empty");

	fmt = cJSON_GetObjectItemCaseSensitive(st, "mediaFormat");
	if (fmt != NULL) {
		const cJSON *rate = cJSON_GetObjectItemCaseSensitive(fmt, "sampleRate");
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(fmt, "channels");
		const cJSON *enc = cJSON_GetObjectItemCaseSensitive(fmt, "encoding");

		if (!cJSON_IsObject(fmt) ||
		    (enc != NULL && !(cJSON_IsString(enc) && strcmp(enc->valuestring, "audio/x-mulaw") == 0)) ||
		    (rate != NULL && !(cJSON_IsNumber(rate) && rate->valuedouble == 8000)) ||
		    (ch != NULL && !(cJSON_IsNumber(ch) && ch->valuedouble == 1)))
			return reject(m, TW_R_START, "start.mediaFormat is not audio/x-mulaw, 8000 Hz, 1 channel");
	}

	params = cJSON_GetObjectItemCaseSensitive(st, "customParameters");
	if (params != NULL && !cJSON_IsObject(params))
		m->badparams++;
	else if (params != NULL) {
		n = 0;
		cJSON_ArrayForEach(it, params)
			n++;
		if (n > 0 && (m->params = arena_alloc(n * sizeof *m->params)) == NULL)
			return reject(m, TW_R_TYPE, "out of memory");
		cJSON_ArrayForEach(it, params) {
			if (!cJSON_IsString(it) || it->string == NULL) {
				m->badparams++;
				continue;
			}
			m->params[m->nparams].name = it->string;
			m->params[m->nparams].value = it->valuestring;
			m->nparams++;
		}
	}
	if ((m->start_json = cJSON_PrintUnformatted(root)) == NULL)
		return reject(m, TW_R_TYPE, "out of memory");
	m->event = TW_START;
	return TW_OK;
}

enum tw_reason
tw_parse(const char *line, size_t len, struct tw_msg *m)
{
	const cJSON *root, *it, *ev = NULL, *media = NULL;
	const char *e;
	size_t i;

	memset(m, 0, sizeof *m);
	arena_reset();
	if (len == 0)
		return reject(m, TW_R_EMPTY, "empty line");
	if (memchr(line, '\0', len) != NULL)
		return reject(m, TW_R_NUL, "NUL byte in line");
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'); i++)
		;
	if (i == len)
		return reject(m, TW_R_EMPTY, "blank line");
	/* len + 1: cJSON wants the terminating NUL inside the buffer to refuse trailing junk */
	root = cJSON_ParseWithLengthOpts(line, len + 1, NULL, 1);
	if (root == NULL)
		return reject(m, TW_R_JSON, "not JSON");
	if (!cJSON_IsObject(root))
		return reject(m, TW_R_TYPE, "not a JSON object");
	for (it = root->child; it != NULL; it = it->next) {
		const char *k = it->string;

		if (k == NULL)
			continue;
		if (k[0] == 'e' && ev == NULL && eq(k + 1, "vent"))
			ev = it;
		else if (k[0] == 'm' && media == NULL && eq(k + 1, "edia"))
			media = it;
	}
	if (!cJSON_IsString(ev))
		return reject(m, TW_R_TYPE, "event missing or not a string");
	e = ev->valuestring;
	if (eq(e, "media"))
		return parse_media(media, m);
	if (strcmp(e, "start") == 0)
		return parse_start(root, m);
	if (strcmp(e, "connected") == 0)
		m->event = TW_CONNECTED;
	else if (strcmp(e, "stop") == 0)
		m->event = TW_STOP;
	else if (strcmp(e, "dtmf") == 0)
		m->event = TW_DTMF;
	else if (strcmp(e, "mark") == 0)
		m->event = TW_MARK;
	else {
		char *d = arena_alloc(80);

		if (d == NULL)
			return reject(m, TW_R_EVENT, "unknown event");
		snprintf(d, 80, "unknown event \"%.40s\"", e);
		return reject(m, TW_R_EVENT, d);
	}
	return TW_OK;
}
