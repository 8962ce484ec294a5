/* twilio.c: Twilio Media Streams message parser over one line; no I/O.
 * cJSON allocates one node per value, so it gets a bump arena that is reset for each
 * line: parsing a media message costs no malloc/free, and nothing outlives the line. */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* strcmp(s, lit) == 0 for a string literal, inlined and unrolled (n is a constant): it
 * stops at the first difference, at the latest at s's NUL, so it never reads past the
 * end of s */
#define eq(s, lit) eqn((s), (lit), sizeof(lit) - 1)
static inline int
eqn(const char *s, const char *lit, size_t n)
{
	size_t i;

#pragma GCC unroll 16
	for (i = 0; i < n; i++)
		if (s[i] != lit[i])
			return 0;
	return s[n] == '\0';
}

static inline int
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


/* What the message says, once it parsed as JSON. */
static enum tw_reason
dispatch(const cJSON *root, struct tw_msg *m)
{
	const cJSON *it, *ev = NULL, *media = NULL;
	const char *e;

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

/* ---- escaped NULs ----
 * cJSON decodes "\uXXXX" with parse_hex4(), which gives 0 for "0000" and also for any
 * four characters with a non-hex digit among them; either way it stores a NUL byte in
 * the string, and C, which cJSON gives no length, then sees the string end there:
 * "CA<32 hex>\u0000../../x" would read as "CA<32 hex>". hex4() is parse_hex4(). */
static unsigned
hex4(const char *s)
{
	unsigned h = 0;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= '0' && c <= '9')
			h = h * 16 + (c - '0');
		else if (c >= 'A' && c <= 'F')
			h = h * 16 + (c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			h = h * 16 + (c - 'a' + 10);
		else
			return 0;
	}
	return h;
}

/* The escapes that decode to NUL in a line cJSON accepted, walked as cJSON's decoder
 * walks them (why that sees exactly cJSON's escapes: doc/twilio-fastpath.md). Returns
 * how many; *odd is set when one holds a backslash or a quote among its four
 * characters. With fix (a copy of s), each other one becomes "\u0001" there. */
static size_t
nul_escapes(const char *s, size_t len, char *fix, int *odd)
{
	const char *p = s, *end = s + len;
	size_t n = 0;
	int i;

	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - p < 2)
			break;
		if (p[1] != 'u') {
			p += 2;
			continue;
		}
		if (end - p < 6)
			break;
		if (hex4(p + 2) == 0) {
			n++;
			for (i = 2; i < 6; i++)
				if (p[i] == '\\' || p[i] == '"')
					*odd = 1;
			if (fix != NULL)
				memcpy(fix + (p - s) + 2, "0001", 4);
		}
		p += 6;
	}
	return n;
}

static int cut(const cJSON *a, const cJSON *b);

/* 1 if item a (or anything in it) was cut short by a NUL: b is its twin from the line
 * parsed with "\u0001" for every NUL escape, so a string of a is shorter exactly when
 * it held a NUL. */
static int
cut1(const cJSON *a, const cJSON *b)
{
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string != NULL && strlen(a->string) != strlen(b->string)))
		return 1;
	if (cJSON_IsString(a) != cJSON_IsString(b) ||
	    (cJSON_IsString(a) && strlen(a->valuestring) != strlen(b->valuestring)))
		return 1;
	return cut(a->child, b->child);
}

static int
cut(const cJSON *a, const cJSON *b)
{
	for (; a != NULL && b != NULL; a = a->next, b = b->next)
		if (cut1(a, b))
			return 1;
	return a != NULL || b != NULL;
}

static const char nul_detail[] = "escaped NUL (\\u0000) in a JSON string";

/* The line holds escapes that decode to NUL. A custom parameter (of the start object
 * that parse_start reads) with a NUL in its name or value is dropped from the message
 * (counted in m->nulparams); a NUL anywhere else rejects the message. */
static enum tw_reason
nul_check(cJSON *root, const char *line, size_t len, struct tw_msg *m)
{
	cJSON *a, *an, *pa, *pan, *ca = NULL;
	const cJSON *b, *pb, *cb;
	const cJSON *rootb;
	char *copy;
	int odd = 0, seen_start = 0, seen_params;

	if ((copy = arena_alloc(len + 1)) == NULL)
		return reject(m, TW_R_TYPE, "out of memory");
	memcpy(copy, line, len + 1);
	(void)nul_escapes(line, len, copy, &odd);
	if (odd)
		return reject(m, TW_R_NUL, "\\u escape that decodes to NUL in a JSON string");
	rootb = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1);
	if (rootb == NULL || cut1(root, rootb) == 0)
		return reject(m, TW_R_NUL, nul_detail); /* cannot happen: refuse rather than guess */
	for (a = root->child, b = rootb->child; a != NULL && b != NULL; a = an, b = b->next) {
		an = a->next;
		if (seen_start || !cJSON_IsObject(a) || a->string == NULL || strcmp(a->string, "start") != 0 ||
		    strlen(b->string) != 5) {
			if (a->string != NULL && strcmp(a->string, "start") == 0)
				seen_start = 1;
			if (cut1(a, b))
				return reject(m, TW_R_NUL, nul_detail);
			continue;
		}
		/* the start object parse_start reads: its first "customParameters" */
		seen_start = 1;
		seen_params = 0;
		for (ca = a->child, cb = b->child; ca != NULL && cb != NULL; ca = ca->next, cb = cb->next) {
			if (seen_params || !cJSON_IsObject(ca) || ca->string == NULL ||
			    strcmp(ca->string, "customParameters") != 0 || strlen(cb->string) != 16) {
				if (ca->string != NULL && strcmp(ca->string, "customParameters") == 0)
					seen_params = 1;
				if (cut1(ca, cb))
					return reject(m, TW_R_NUL, nul_detail);
				continue;
			}
			seen_params = 1;
			for (pa = ca->child, pb = cb->child; pa != NULL && pb != NULL; pa = pan, pb = pb->next) {
				pan = pa->next;
				if (cut1(pa, pb)) {
					cJSON_DetachItemViaPointer(ca, pa);
					m->nulparams++;
				}
			}
		}
	}
	return TW_OK;
}

/* ---- the fast path for media ----
 * A media line without backslashes goes to cJSON as a shorter copy: keys other than
 * event, media, track, timestamp and payload, and most string values, are emptied or
 * removed, and the payload is taken from the line itself. Why that gives exactly what
 * the full parse gives: doc/twilio-fastpath.md. */
int tw_fastpath = 1;

#define FAST_MAXQ 128     /* quotes: a Twilio media message has 34 */
#define FAST_MAXLEN 65536

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#define FAST_SSE2 1
/* 32 bytes at p: a bit for each backslash or NUL in *bad, for each quote in *qm */
static inline void
block32(const char *p, uint32_t *bad, uint32_t *qm)
{
	const __m128i qt = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), z = _mm_setzero_si128();
	__m128i b0 = _mm_loadu_si128((const void *)p), b1 = _mm_loadu_si128((const void *)(p + 16));

	*bad = (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(b0, bs), _mm_cmpeq_epi8(b0, z))) |
	    (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(b1, bs), _mm_cmpeq_epi8(b1, z))) << 16;
	*qm = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b0, qt)) |
	    (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b1, qt)) << 16;
}
#endif

/* The offsets of the quotes in s into q, and how many; -1 if s holds a backslash or a
 * NUL, or more than FAST_MAXQ - 32 quotes. */
static int
scan_quotes(const char *s, size_t len, uint32_t *q)
{
	size_t i = 0;
	int n = 0;

#ifdef FAST_SSE2
	uint32_t bad, mq;

	for (; i + 32 <= len; i += 32) {
		block32(s + i, &bad, &mq);
		if (bad != 0 || n > FAST_MAXQ - 32)
			return -1;
		for (; mq != 0; mq &= mq - 1)
			q[n++] = (uint32_t)(i + (unsigned)__builtin_ctz(mq));
	}
	if (i < len && len >= 32) { /* the rest: the last 32 bytes, less those already seen */
		unsigned sh = (unsigned)(i - (len - 32));

		block32(s + len - 32, &bad, &mq);
		if ((bad >> sh) != 0 || n > FAST_MAXQ - 32)
			return -1;
		for (mq >>= sh; mq != 0; mq &= mq - 1)
			q[n++] = (uint32_t)(i + (unsigned)__builtin_ctz(mq));
		i = len;
	}
#endif
	for (; i < len; i++) {
		if (s[i] == '\\' || s[i] == '\0')
			return -1;
		if (s[i] == '"') {
			if (n >= FAST_MAXQ - 32)
				return -1;
			q[n++] = (uint32_t)i;
		}
	}
	return n;
}

enum { K_KEEP = 1, K_KEEPVAL = 2, K_PAYLOAD = 4 };

/* what the fast path does with a key of n bytes at s */
static int
key_kind(const char *s, size_t n)
{
	switch (n) {
	case 5:
		if (memcmp(s, "event", 5) == 0 || memcmp(s, "track", 5) == 0)
			return K_KEEP | K_KEEPVAL;
		return memcmp(s, "media", 5) == 0 ? K_KEEP : 0;
	case 7:
		return memcmp(s, "payload", 7) == 0 ? K_KEEP | K_PAYLOAD : 0;
	case 9:
		return memcmp(s, "timestamp", 9) == 0 ? K_KEEP | K_KEEPVAL : 0;
	default:
		return 0;
	}
}

/* n bytes from src to o (which has 16 bytes of room); end: where src's buffer ends */
static inline char *
put(char *o, const char *src, size_t n, const char *end)
{
#ifdef FAST_SSE2
	if (n <= 16 && end - src >= 16) {
		_mm_storeu_si128((void *)o, _mm_loadu_si128((const void *)src));
		return o + n;
	}
#else
	(void)end;
#endif
	memcpy(o, src, n);
	return o + n;
}

#define IS_PAYLOAD(line, q, j) ((q)[2 * (j) + 1] - (q)[2 * (j)] == 8 && memcmp((line) + (q)[2 * (j)] + 1, "payload", 7) == 0)

static int
parse_fast(const char *line, size_t len, struct tw_msg *m)
{
	uint32_t q[FAST_MAXQ];
	const char *end = line + len;
	const cJSON *root;
	char *t, *o, *pl;
	size_t from, n;
	int nq, j, ns, k, npk = 0, pk = -1;

	if (len > FAST_MAXLEN || (nq = scan_quotes(line, len, q)) < 0 || nq % 2 != 0)
		return -1;
	ns = nq / 2;
	if ((t = arena_alloc(len + 16 + 1)) == NULL)
		return -1;
	o = t;
	from = 0;
	/* every pair is looked at once here: as a key, as a key's value, or neither */
#define EMPTY(j) do { \
		o = put(o, line + from, q[2 * (j)] + 1 - from, end); /* up to and with the opening quote */ \
		from = q[2 * (j) + 1];                               /* on from the closing quote */ \
	} while (0)
	for (j = 0; j < ns; j++) {
		uint32_t a = q[2 * j], b = q[2 * j + 1], vb;

		if (line[b + 1] != ':') { /* not a key (line[len] is the NUL) */
			if (IS_PAYLOAD(line, q, j))
				npk++;
			continue;
		}
		k = key_kind(line + a + 1, b - a - 1);
		if (k & K_PAYLOAD) {
			npk++;
			pk = j;
		}
		if (j + 1 >= ns || q[2 * j + 2] != b + 2) { /* a key, its value not a string */
			if (!(k & K_KEEP))
				EMPTY(j);
			continue;
		}
		/* "key":"value" */
		vb = q[2 * j + 3];
		if (IS_PAYLOAD(line, q, j + 1))
			npk++;
		if (!(k & K_KEEP) && a >= 1 && (line[a - 1] == '{' || line[a - 1] == ',') && line[vb + 1] == ',' &&
		    j + 2 < ns && q[2 * j + 4] == vb + 2 && line[q[2 * j + 5] + 1] == ':') {
			/* the member, with the comma after it: '{' or ',' stays before a key */
			o = put(o, line + from, a - from, end);
			from = vb + 2;
		} else if (!(k & K_KEEP) && a >= 2 && a - 1 >= from && line[a - 1] == ',' &&
		    (line[a - 2] == '"' || line[a - 2] == '}') && line[vb + 1] == '}') {
			/* the last member, with the comma before it: a value stays before a '}' */
			o = put(o, line + from, a - 1 - from, end);
			from = vb + 1;
		} else {
			if (!(k & K_KEEP))
				EMPTY(j);
			if (!(k & K_KEEPVAL))
				EMPTY(j + 1);
		}
		j++;
	}
#undef EMPTY
	/* one "payload" in the line, a key, followed at once by :" */
	if (npk != 1 || pk < 0 || pk + 1 >= ns || q[2 * pk + 2] != q[2 * pk + 1] + 2)
		goto full;
	memcpy(o, line + from, len - from);
	o += len - from;
	*o = '\0';
	root = cJSON_ParseWithLengthOpts(t, (size_t)(o - t) + 1, NULL, 1);
	if (root == NULL || dispatch(root, m) != TW_OK || m->event != TW_MEDIA || m->payload_len != 0)
		goto full;
	n = q[2 * pk + 3] - q[2 * pk + 2] - 1;
	if ((pl = arena_alloc(n + 1)) == NULL)
		goto full;
	memcpy(pl, line + q[2 * pk + 2] + 1, n);
	pl[n] = '\0';
	m->payload = pl;
	m->payload_len = n;
	m->fast = 1;
	return 0;
full:
	memset(m, 0, sizeof *m);
	arena_reset();
	return -1;
}

enum tw_reason
tw_parse(const char *line, size_t len, struct tw_msg *m)
{
	cJSON *root;
	enum tw_reason r;
	int backslash, odd = 0;
	size_t i;

	memset(m, 0, sizeof *m);
	arena_reset();
	if (len == 0)
		return reject(m, TW_R_EMPTY, "empty line");
	if (tw_fastpath && parse_fast(line, len, m) == 0)
		return TW_OK;
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
	/* a NUL escape needs a backslash */
	backslash = memchr(line, '\\', len) != NULL;
	if (backslash && nul_escapes(line, len, NULL, &odd) > 0 &&
	    (r = nul_check(root, line, len, m)) != TW_OK)
		return r;
	return dispatch(root, m);
}
