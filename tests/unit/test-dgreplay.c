/* Tests for dgreplay.c with dgmsg.c: across any sequence of dropped connections, no
 * second of any channel is finalized twice or lost. A simulated Deepgram turns the
 * audio each connection received into finals (its own window length per connection,
 * so replayed finals overlap delivered ones), some of them lost with the connection;
 * the replay buffer and dgmsg must deliver every channel's audio exactly once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgmsg.h"
#include "dgreplay.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

#define NCH 2
#define RATE 8000
#define BPF NCH
#define TOTAL (RATE * BPF * 30)  /* 30 s of input */
#define MAXF 4096

struct fin { double s, e; };
static struct fin got[NCH][MAXF];
static int ngot[NCH];
static unsigned long rnd = 1;

static unsigned
rand32(void)
{
	rnd = rnd * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(rnd >> 33);
}

/* One simulated connection's Deepgram: finals of win s per channel, over the audio it
 * received (heard, relative s), with one word per 0.25 s. */
struct sim {
	double win, done[NCH]; /* relative end of the last final made, per channel */
};

static void
deliver(struct dg_state *st, struct dgr *r, double shift, int c, double s, double e)
{
	char m[2048];
	size_t n;
	double w, fe;
	struct dg_out o;

	n = (size_t)snprintf(m, sizeof m, "{\"type\":\"Results\",\"channel_index\":[%d,%d],"
	    "\"start\":%.6f,\"duration\":%.6f,\"is_final\":true,\"channel\":{\"alternatives\":"
	    "[{\"transcript\":\"x\",\"words\":[", c, NCH, s, e - s);
	for (w = s; w + 1e-9 < e && n < sizeof m - 200; w += 0.25)
		n += (size_t)snprintf(m + n, sizeof m - n, "%s{\"word\":\"w\",\"start\":%.6f,"
		    "\"end\":%.6f}", w > s ? "," : "", w, w + 0.25 < e ? w + 0.25 : e);
	n += (size_t)snprintf(m + n, sizeof m - n, "]}]}}");
	fe = st->final_end[c];
	CHECK(dg_msg(st, m, n, shift, &o) == 0);
	if (o.action == DG_REWRITE)
		free(o.text);
	if (o.action != DG_DROP) {
		/* delivered: from its start, or (trimmed) from where the last final ended */
		CHECK(ngot[c] < MAXF);
		if (ngot[c] < MAXF) {
			got[c][ngot[c]].s = s + shift > fe ? s + shift : fe;
			got[c][ngot[c]].e = e + shift;
			ngot[c]++;
		}
	}
	dgr_confirm(r, dg_confirmed(st));
	CHECK(dgr_check(r) == NULL);
}

/* The simulated server makes the finals that its received audio completes; each is
 * lost (the connection dies before it arrives) with probability 1/lose. */
static int
serve(struct sim *sm, struct dg_state *st, struct dgr *r, double shift, int flush, int lose)
{
	double heard = dgr_secs(r, r->sent - r->base);
	int c, dead = 0;

	st->heard = dgr_secs(r, r->sent);
	for (c = 0; c < NCH; c++) {
		while (!dead && (sm->done[c] + sm->win <= heard + 1e-9 ||
		    (flush && sm->done[c] < heard - 1e-9))) {
			double e = sm->done[c] + sm->win < heard ? sm->done[c] + sm->win : heard;

			if (lose && rand32() % (unsigned)lose == 0)
				dead = 1;
			else
				deliver(st, r, shift, c, sm->done[c], e);
			sm->done[c] = e;
		}
	}
	return dead;
}

static void
run(unsigned long seed, int lose)
{
	static unsigned char audio[TOTAL];
	struct dgr r;
	struct dg_state st;
	struct sim sm;
	size_t in = 0, i;
	double shift;
	int c, conns = 1, k;

	rnd = seed;
	memset(ngot, 0, sizeof ngot);
	for (i = 0; i < TOTAL; i++)
		audio[i] = (unsigned char)(i * 7);
	CHECK(dgr_init(&r, BPF, RATE, 60000, 320) == 0);
	dg_state_init(&st, NCH);
	dg_newconn(&st);
	shift = dgr_rewind(&r);
	memset(&sm, 0, sizeof sm);
	sm.win = 1.0;
	for (k = 0; k < 100000 && !(in == TOTAL && dgr_unsent(&r) == 0); k++) {
		size_t n = 1 + rand32() % 1000, len;
		const unsigned char *p;

		if (n > TOTAL - in)
			n = TOTAL - in;
		CHECK(dgr_put(&r, audio + in, n) == 0);
		in += n;
		while ((p = dgr_next(&r, 320, &len)) != NULL) {
			CHECK(memcmp(p, audio + r.sent, len) == 0); /* the right bytes, in order */
			dgr_sent(&r, len);
		}
		CHECK(dgr_check(&r) == NULL);
		if (serve(&sm, &st, &r, shift, 0, lose)) {
			/* dropped: a new connection replays from the confirmed point */
			conns++;
			dg_newconn(&st);
			shift = dgr_rewind(&r);
			memset(&sm, 0, sizeof sm);
			sm.win = 0.5 + (rand32() % 7) * 0.25;
		}
	}
	CHECK(in == TOTAL);
	(void)serve(&sm, &st, &r, shift, 1, 0); /* CloseStream */
	for (c = 0; c < NCH; c++) {
		int j, ok = ngot[c] > 0 && fabs(got[c][0].s) < 1e-6;

		/* each final starts where the one before ended (nothing lost) and covers
		 * new audio (nothing twice) */
		for (j = 1; j < ngot[c]; j++)
			ok = ok && fabs(got[c][j].s - got[c][j - 1].e) < 1e-6 &&
			    got[c][j].e > got[c][j].s + 1e-9;
		ok = ok && fabs(got[c][ngot[c] - 1].e - 30.0) < 1e-6;
		if (!ok)
			fprintf(stderr, "seed %lu channel %d: %d finals, last end %.6f\n", seed, c,
			    ngot[c], ngot[c] ? got[c][ngot[c] - 1].e : 0);
		CHECK(ok);
	}
	CHECK(lose == 0 || conns > 1);
	CHECK(r.dropped == 0 && r.sent_max == TOTAL);
	CHECK(lose != 0 || r.replayed == 0);
	dgr_free(&r);
}

static void
test_basics(void)
{
	struct dgr r;
	unsigned char b[100000];
	size_t len;
	const unsigned char *p;

	memset(b, 1, sizeof b);
	CHECK(dgr_init(&r, 2, 8000, 1000, 320) == 0);
	CHECK(r.cap == 16000);
	CHECK(dgr_put(&r, b, 15999) == 0 && !dgr_full(&r));
	CHECK(dgr_put(&r, b, 3) == 2); /* full: one whole frame of the oldest forgotten */
	CHECK(r.start == 2 && r.dropped == 2 && dgr_check(&r) == NULL);
	/* the ring wraps: the next piece stops at the buffer's end */
	p = dgr_next(&r, 100000, &len);
	CHECK(p != NULL && len == 15998 && r.sent == 2);
	dgr_sent(&r, len);
	p = dgr_next(&r, 100000, &len);
	CHECK(p != NULL && len == 2);
	dgr_sent(&r, len);
	CHECK(dgr_unsent(&r) == 0 && r.end == 16002);
	/* forgetting audio not yet sent marks the connection lost */
	CHECK(dgr_put(&r, b, 16000) == 16000 && r.lost);
	CHECK(dgr_check(&r) == NULL);
	(void)dgr_rewind(&r);
	CHECK(!r.lost && r.sent == r.start && r.base == r.start);
	/* confirm never passes what was sent; replayed counts second sends */
	dgr_confirm(&r, 1e9);
	CHECK(r.start == r.sent);
	dgr_free(&r);

	CHECK(dgr_init(&r, 4, 8000, 1000, 640) == 0);
	CHECK(dgr_put(&r, b, 4000) == 0);
	p = dgr_next(&r, 640, &len);
	dgr_sent(&r, len);
	dgr_confirm(&r, 0.01); /* 80 frames = 320 bytes */
	CHECK(r.start == 320);
	CHECK(dgr_rewind(&r) == 0.01);
	p = dgr_next(&r, 640, &len);
	CHECK(len == 640);
	dgr_sent(&r, len);
	CHECK(r.replayed == 320); /* 320..640 went out twice */
	CHECK(dgr_put(&r, b, 3) == 0 && dgr_trim_partial(&r) == 3);
	dgr_free(&r);
}

int
main(void)
{
	unsigned long seed;

	test_basics();
	run(1, 0);
	for (seed = 1; seed <= 40; seed++)
		run(seed, 3 + (int)(seed % 20));
	if (failures)
		fprintf(stderr, "test-dgreplay: %d failures\n", failures);
	return failures != 0;
}
