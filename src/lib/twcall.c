/* twcall.c: one Twilio Media Streams call, line by line (twcall.h). */
#include <string.h>

#include "cp.h"
#include "twcall.h"

void
twc_init(struct twcall *c, const struct mix_opts *o)
{
	memset(c, 0, sizeof *c);
	c->mo = *o;
	c->chan[TW_INBOUND] = c->chan[TW_OUTBOUND] = -1;
}

void
twc_free(struct twcall *c)
{
	if (c->started)
		mix_free(&c->mx);
}

static void
skip(struct twcall *c, struct twc_out *r, enum tw_reason why,
    const char *detail)
{
	c->nbad[why]++;
	r->what = TWC_SKIP;
	r->reason = why;
	r->detail = detail;
}

static void
start(struct twcall *c, struct twc_out *r)
{
	const struct tw_msg *m = &r->m;
	unsigned i;

	if (c->started) {
		skip(c, r, TW_R_DUPSTART, "a second start event");
		return;
	}
	if (!cp_valid_sid(m->call_sid, "CA")) {
		r->what = TWC_REFUSE;
		return;
	}
	for (i = 0; i < TW_NTRACKS; i++) {
		if (!(m->tracks & TW_TRACK_BIT(i)))
			continue;
		c->chan[i] = (int)c->nch++;
		if (c->tracks[0])
			strcat(c->tracks, ",");
		strcat(c->tracks, tw_track_name((int)i));
	}
	c->mo.ntracks = c->nch;
	if (mix_init(&c->mx, &c->mo) < 0) {
		r->what = TWC_NOMEM;
		return;
	}
	c->started = 1;
	r->what = TWC_START;
}

static void
media(struct twcall *c, struct twc_out *r)
{
	const struct tw_msg *m = &r->m;
	int ch, rc, wasfill[MIX_MAXTRACKS];
	unsigned i;

	if (!c->started) {
		skip(c, r, TW_R_EARLY, "media before start");
		return;
	}
	if ((ch = c->chan[m->track]) < 0) {
		skip(c, r, TW_R_UNDECLARED,
		    "media for a track that start did not name");
		return;
	}
	for (i = 0; i < c->nch; i++)
		wasfill[i] = c->mx.t[i].fill;
	rc = mix_put(&c->mx, (unsigned)ch, m->timestamp, m->payload,
	    m->payload_len, &r->info);
	if (rc == MIX_BADB64) {
		skip(c, r, TW_R_PAYLOAD, "media.payload is not valid base64");
		return;
	}
	if (rc != MIX_OK) {
		r->what = TWC_NOMEM;
		return;
	}
	c->nchunks[m->track]++;
	r->lagstart = 0;
	for (i = 0; i < c->nch; i++)
		if (r->info.lagfill[i] && !wasfill[i])
			r->lagstart |= 1u << i;
	r->what = TWC_MEDIA;
}

void
twc_line(struct twcall *c, const char *s, size_t len, struct twc_out *r)
{
	enum tw_reason why;

	c->nmsg++;
	r->what = TWC_NOTHING;
	if (c->stopped) {
		if (c->nignored++ == 0)
			r->what = TWC_IGNORE;
		return;
	}
	if ((why = tw_parse(s, len, &r->m)) != TW_OK) {
		skip(c, r, why, r->m.detail);
		return;
	}
	switch (r->m.event) {
	case TW_MEDIA:
		media(c, r);
		break;
	case TW_START:
		start(c, r);
		break;
	case TW_MARK:
	case TW_DTMF:
		r->what = TWC_EVENT;
		break;
	case TW_STOP:
		c->stopped = 1;
		r->what = twc_finish(c) == MIX_OK ? TWC_STOP : TWC_NOMEM;
		break;
	default:
		break;
	}
}

void
twc_toolong(struct twcall *c, const char *detail, struct twc_out *r)
{
	c->nmsg++;
	r->what = TWC_NOTHING;
	if (c->stopped)
		c->nignored++;
	else
		skip(c, r, TW_R_TOOLONG, detail);
}

int
twc_finish(struct twcall *c)
{
	if (c->finished)
		return MIX_OK;
	c->finished = 1;
	if (!c->started)
		return MIX_OK;
	return mix_finish(&c->mx);
}
