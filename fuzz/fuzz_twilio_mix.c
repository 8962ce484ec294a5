/* fuzz_twilio_mix: Twilio Media Streams lines through the shipped call state
 * (twc_line in src/lib/twcall.c: tw_parse, start into mix_init, media into
 * mix_put, stop into mix_finish), draining mix_read after every line as
 * twilio-mix does, and twc_finish at the end.
 * Input: byte 0 picks the mixer options (from values twilio-mix accepts), the rest is
 * lines ('\n'-separated). Invariants: a parsed message has an event and sane fields; the
 * media fast path gives exactly what the full parse gives (each line is parsed both ways,
 * tw_fastpath 0 then 1); no string the parser hands out holds a NUL that cJSON decoded
 * from an escape (it would be cut short: the parser refuses those); the call state's
 * counts add up to the lines it was given; the mixer never holds more than its
 * documented bound per track; every sample handed out is accounted for; after
 * twc_finish nothing is left.
 * fuzz-sources: src/lib/twcall.c src/lib/twilio.c src/lib/mix.c src/lib/base64.c src/lib/mulaw.c src/lib/num.c src/lib/sid.c src/lib/err.c src/lib/io.c
 * fuzz-libs: -lcjson */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"
#include "mix.h"
#include "twcall.h"
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

/* what one parse gave, copied out of the parser's arena */
struct saved {
	enum tw_event event;
	int track;
	uint64_t timestamp;
	char detail[CP_LOGLINE_MAX];
	char *payload;
	size_t len;
};

static void
save(struct saved *sv, enum tw_reason r, const struct tw_msg *m)
{
	memset(sv, 0, sizeof *sv);
	if (r != TW_OK) {
		REQUIRE(m->detail != NULL && strlen(m->detail) < sizeof sv->detail);
		strcpy(sv->detail, m->detail);
		return;
	}
	sv->event = m->event;
	if (m->event != TW_MEDIA)
		return;
	sv->track = m->track;
	sv->timestamp = m->timestamp;
	sv->len = m->payload_len;
	REQUIRE(m->payload != NULL && m->payload[m->payload_len] == '\0');
	sv->payload = malloc(sv->len + 1);
	REQUIRE(sv->payload != NULL);
	memcpy(sv->payload, m->payload, sv->len + 1);
}

/* 1 if the line holds a \u escape that cJSON decodes to NUL (parse_hex4 gives 0 for
 * 0000 and for any non-hex digit): a simple model, valid where cJSON parsed the line */
static int
has_nul_escape(const char *s, size_t len)
{
	size_t i, k;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] != 'u' || i + 6 > len) {
			i++;
			continue;
		}
		for (k = 2; k < 6; k++)
			if (!((s[i + k] >= '0' && s[i + k] <= '9') || (s[i + k] >= 'a' && s[i + k] <= 'f') ||
			    (s[i + k] >= 'A' && s[i + k] <= 'F')))
				return 1;
		if (memcmp(s + i + 2, "0000", 4) == 0)
			return 1;
		i += 5;
	}
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

/* The parser both ways on one line: the same result (fast path = full parse). */
static void
parse_both(const char *line, size_t len)
{
	struct saved full, fast;
	struct tw_msg m;
	enum tw_reason r0, r;

	memset(&m, 0xA5, sizeof m);
	tw_fastpath = 0;
	r0 = tw_parse(line, len, &m);
	tw_fastpath = 1;
	REQUIRE(m.fast == 0);
	save(&full, r0, &m);
	memset(&m, 0xA5, sizeof m);
	r = tw_parse(line, len, &m);
	REQUIRE(r == r0 && (m.fast == 0 || (r == TW_OK && m.event == TW_MEDIA)));
	save(&fast, r, &m);
	REQUIRE(full.event == fast.event && full.track == fast.track && full.timestamp == fast.timestamp &&
	    full.len == fast.len && strcmp(full.detail, fast.detail) == 0 &&
	    (full.len == 0 || memcmp(full.payload, fast.payload, full.len) == 0));
	free(full.payload);
	free(fast.payload);
	REQUIRE((unsigned)r < TW_R_N && tw_reason_name[r] != NULL);
	/* accepted with a NUL escape: only when the NULs were all in custom parameters,
	 * which were left out */
	if (r == TW_OK && has_nul_escape(line, len))
		REQUIRE(m.nulparams > 0);
}

/* What twc_line said about a line, checked against the message it parsed. */
static void
check(const struct twcall *c, const struct twc_out *r, uint64_t bound)
{
	const struct tw_msg *m = &r->m;
	unsigned i;

	switch (r->what) {
	case TWC_SKIP:
		REQUIRE(r->reason > TW_OK && r->reason < TW_R_N);
		REQUIRE(r->detail != NULL && strlen(r->detail) < CP_LOGLINE_MAX);
		break;
	case TWC_START:
		REQUIRE(c->started && c->nch >= 1 && c->nch <= 2);
		REQUIRE(m->tracks != 0 && (m->tracks & ~3u) == 0);
		REQUIRE(cp_valid_sid(m->call_sid, "CA"));
		REQUIRE(m->start_json != NULL && strchr(m->start_json, '\n') == NULL);
		for (i = 0; i < m->nparams; i++)
			REQUIRE(m->params[i].name != NULL && m->params[i].value != NULL);
		break;
	case TWC_REFUSE:
		REQUIRE(!c->started && !cp_valid_sid(m->call_sid, "CA"));
		break;
	case TWC_MEDIA:
		REQUIRE(m->track == TW_INBOUND || m->track == TW_OUTBOUND);
		REQUIRE(m->timestamp <= TW_TIMESTAMP_MAX);
		REQUIRE(m->payload != NULL && strlen(m->payload) == m->payload_len);
		REQUIRE(strcmp(tw_track_name(m->track), m->track ? "outbound" : "inbound") == 0);
		REQUIRE(c->chan[m->track] >= 0 && (r->lagstart >> c->nch) == 0);
		for (i = 0; i < c->nch; i++) {
			REQUIRE(c->mx.t[i].end >= c->mx.written);
			REQUIRE(c->mx.t[i].end - c->mx.written <= bound + m->payload_len);
		}
		break;
	case TWC_STOP:
		REQUIRE(c->stopped && c->finished);
		break;
	case TWC_NOMEM:
		abort();
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t frames[] = { 1, 20, 160 }, gaps[] = { 0, 20, 60000, 3600000 },
	    lags[] = { 0, 20, 1000, 3600000 }, holds[] = { 1, 100, 30000, 3600000 };
	struct twcall c;
	struct mix_opts mo;
	struct twc_out r;
	const char *p, *end;
	char *line;
	uint64_t bound, nlines = 0, nbad = 0, refused = 0;
	unsigned i;

	if (size < 1)
		return 0;
	mo.ntracks = 0;
	mo.frame = frames[data[0] % 3] * MIX_PER_MS;
	mo.max_gap = gaps[(data[0] / 3) % 4] * MIX_PER_MS;
	mo.max_lag = lags[(data[0] / 12) % 4] * MIX_PER_MS;
	mo.hold = holds[(data[0] / 48) % 4] * MIX_PER_MS;
	/* the most one track may hold beyond what was written (mix.h), plus a chunk */
	bound = (mo.max_lag && mo.max_lag < mo.hold ? mo.max_lag : mo.hold) + 2 * mo.frame + 8;
	twc_init(&c, &mo);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		/* an exact-size copy, NUL-terminated, so ASan sees any overread */
		line = malloc(len + 1);
		REQUIRE(line != NULL);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + 1;
		parse_both(line, len);
		/* twilio-mix dies on a refused start; here it is only counted */
		twc_line(&c, line, len, &r);
		nlines++;
		if (c.started) /* as twilio-mix's pump: before the bound holds */
			drain(&c.mx);
		check(&c, &r, bound);
		if (r.what == TWC_REFUSE)
			refused++;
		free(line);
	}
	for (i = 0; i < TW_R_N; i++)
		nbad += c.nbad[i];
	REQUIRE(c.nmsg == nlines && nbad + c.nignored + refused <= nlines);
	REQUIRE(twc_finish(&c) == MIX_OK && c.finished);
	if (c.started) {
		drain(&c.mx);
		for (i = 0; i < c.nch; i++)
			REQUIRE(c.mx.t[i].end == c.mx.written);
	}
	twc_free(&c);
	return 0;
}
