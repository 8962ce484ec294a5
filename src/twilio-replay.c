/* twilio-replay: play a Twilio Media Streams capture (JSON lines) into a
 * WebSocket endpoint as Twilio would: one text frame per line, media paced by
 * media.timestamp (the first media timestamp is t0), then a clean close. -n
 * plays several concurrent calls from one process, each with its own CallSid
 * and StreamSid. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bq.h"
#include "cp.h"
#include "linebuf.h"
#include "netfail.h"
#include "opt.h"
#include "wsc.h"

static const char usage_str[] =
    "twilio-replay [-fv] [-C cafile] [-d seconds] [-H header] [-i ms] "
    "[-n calls] [-s speed] [-t seconds] URL";

#define MAX_LINE (1024 * 1024)
#define MAX_INPUT ((size_t)1 << 30)
#define MAX_HEADERS 32
#define CLOSE_WAIT_MS 5000
#define PROGRESS_MS 5000

struct opts {
	const char *url, *cafile;
	const char *hdrs[MAX_HEADERS + 1];
	double speed;
	int fast, verbose;
	int64_t drop_ms;       /* -1: never */
	long long ncalls, stagger, tmo;
};

struct line {
	char *s;
	size_t len;
	int64_t off; /* media time of this line, ms after t0 */
	int media;
};

/* The capture, read whole before the first connection. */
struct capture {
	struct line *l;
	size_t n, cap, total;
	char sid[35], msid[35]; /* its CallSid and StreamSid, "" if none */
	int64_t t0;             /* first media timestamp (-1: none yet) */
	int64_t last;           /* latest media offset */
};

enum { C_WAIT, C_SEND, C_CLOSING, C_DONE };

struct call {
	struct wsc *w;
	unsigned idx;
	int state, failed;
	size_t next;
	int64_t t_start, close_deadline;
	char sid[35], msid[35];
	uint64_t sent, recvd;
};

/* Everything the loop works on. */
struct replay {
	const struct opts *o;
	const struct capture *cap;
	struct call *calls;
	struct pollfd *pfd;
	unsigned *pidx;
	char *scratch;
	size_t scratch_cap;
	struct bq out;          /* stdout: one line, one write */
	long long started;
	int sfd, stopping, live;
	int64_t t_begin, next_progress;
};

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory: %zu bytes", n);
	return p;
}

static const cJSON *
member(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static void
copy_sid(char *dst, const cJSON *v, const char *prefix)
{
	if (cJSON_IsString(v) && cp_valid_sid(v->valuestring, prefix))
		memcpy(dst, v->valuestring, 35);
}

/* What the replay needs from a line that parses: media time, the SIDs. */
static void
classify(struct capture *c, struct line *l)
{
	const cJSON *ev, *m, *ts, *st;
	cJSON *j;
	uint64_t t;

	if ((j = cJSON_ParseWithLength(l->s, l->len)) == NULL)
		return;
	ev = member(j, "event");
	if (cJSON_IsString(ev) && strcmp(ev->valuestring, "media") == 0) {
		m = member(j, "media");
		ts = member(m, "timestamp");
		if (cJSON_IsString(ts) &&
		    cp_digits(ts->valuestring, (uint64_t)1 << 40, &t) == 0) {
			if (c->t0 < 0)
				c->t0 = (int64_t)t;
			if ((int64_t)t - c->t0 > c->last)
				c->last = (int64_t)t - c->t0;
			l->off = c->last;
			l->media = 1;
		}
	} else if (cJSON_IsString(ev) &&
	    strcmp(ev->valuestring, "start") == 0) {
		st = member(j, "start");
		copy_sid(c->sid, member(st, "callSid"), "CA");
		copy_sid(c->msid, member(st, "streamSid"), "MZ");
		if (!c->msid[0])
			copy_sid(c->msid, member(j, "streamSid"), "MZ");
	}
	cJSON_Delete(j);
}

static void
add_line(struct capture *c, const char *s, size_t len)
{
	struct line *l;

	c->total += len;
	if (c->total > MAX_INPUT)
		cp_die(CP_EXIT_PERM, "capture larger than %zu bytes",
		    MAX_INPUT);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->l = xrealloc(c->l, c->cap * sizeof *c->l);
	}
	l = &c->l[c->n++];
	l->s = xrealloc(NULL, len + 1);
	memcpy(l->s, s, len);
	l->s[len] = '\0';
	l->len = len;
	l->media = 0;
	l->off = c->last;
	classify(c, l);
}

/* Read the capture: every line is sent as it is; media lines get their time. */
static void
load(struct capture *c)
{
	struct linebuf lb;
	char *s;
	size_t len;
	uint64_t toolong = 0;
	int r;

	memset(c, 0, sizeof *c);
	c->t0 = -1;
	if (lb_init(&lb, 0, MAX_LINE) < 0)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory for the "
		    "line buffer");
	while ((r = lb_getline(&lb, &s, &len)) != LR_EOF) {
		if (r == LR_ERR)
			cp_diesys(CP_EXIT_TEMP, "unable to read the capture "
			    "from stdin");
		if (r == LR_TOOLONG) {
			toolong++;
			cp_warn("skipping capture line %llu: longer than %d "
			    "bytes", (unsigned long long)(lb.lines + toolong),
			    MAX_LINE);
			continue;
		}
		if (r != LR_LINE)
			continue;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (len > 0)
			add_line(c, s, len);
	}
	lb_free(&lb);
	if (c->n == 0)
		cp_die(CP_EXIT_PERM, "the capture on stdin is empty");
}

static void
free_capture(struct capture *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->l[i].s);
	free(c->l);
}

/* The SID of call i: the capture's own plus i in its last 8 hex digits
 * (mod 2^32). */
static void
make_sid(char *dst, const char *orig, unsigned i)
{
	char tail[9];
	unsigned long v;

	if (!orig[0]) {
		dst[0] = '\0';
		return;
	}
	memcpy(dst, orig, 35);
	if (i == 0)
		return;
	v = strtoul(orig + 26, NULL, 16);
	snprintf(tail, sizeof tail, "%08lx", (v + i) & 0xffffffffUL);
	memcpy(dst + 26, tail, 8);
}

static void
replace_all(char *buf, size_t len, const char *from, const char *to)
{
	char *p = buf, *end = buf + len;

	if (!from[0] || strcmp(from, to) == 0)
		return;
	while ((p = memmem(p, (size_t)(end - p), from, 34)) != NULL) {
		memcpy(p, to, 34);
		p += 34;
	}
}

static int64_t
due(const struct replay *rp, const struct call *c, size_t i)
{
	if (rp->o->fast)
		return c->t_start;
	return c->t_start + (int64_t)((double)rp->cap->l[i].off / rp->o->speed);
}

static const char *
sidof(const struct call *c)
{
	return c->sid[0] ? c->sid : "-";
}

static void
finish(struct call *c, int failed)
{
	if (c->w != NULL)
		wsc_free(c->w);
	c->w = NULL;
	c->state = C_DONE;
	if (failed)
		c->failed = failed;
}

/* Fail a call: a lost connection is temporary (111). */
static void
lose(struct replay *rp, struct call *c, const char *what)
{
	cp_warn("call %u %s: %s at line %zu of %zu: %s", c->idx + 1, sidof(c),
	    what, c->next, rp->cap->n, wsc_errmsg(c->w)[0] ?
	    wsc_errmsg(c->w) : "connection closed");
	finish(c, CP_EXIT_TEMP);
}

static void
begin_close(struct replay *rp, struct call *c, int64_t now)
{
	if (wsc_send_close(c->w, 1000, "") == WSC_ERR) {
		lose(rp, c, "unable to send the close frame");
		return;
	}
	c->state = C_CLOSING;
	c->close_deadline = now + CLOSE_WAIT_MS;
}

/* Send line c->next, with this call's SIDs. */
static int
send_line(struct replay *rp, struct call *c)
{
	const struct line *l = &rp->cap->l[c->next];
	int r;

	if (l->len > rp->scratch_cap) {
		rp->scratch_cap = l->len;
		rp->scratch = xrealloc(rp->scratch, rp->scratch_cap);
	}
	memcpy(rp->scratch, l->s, l->len);
	replace_all(rp->scratch, l->len, rp->cap->sid, c->sid);
	replace_all(rp->scratch, l->len, rp->cap->msid, c->msid);
	r = wsc_send(c->w, WSC_TEXT, rp->scratch, l->len);
	if (r == WSC_ERR || r == WSC_ECLOSED) {
		lose(rp, c, "unable to send");
		return -1;
	}
	if (r == WSC_BUSY) /* cannot happen after wsc_idle; retry later */
		return -1;
	c->next++;
	c->sent++;
	return r == WSC_AGAIN ? -1 : 0;
}

/* Send what is due; returns when the socket is busy or nothing more is due. */
static void
pump(struct replay *rp, struct call *c, int64_t now)
{
	const struct line *l;

	while (c->state == C_SEND && wsc_idle(c->w)) {
		if (c->next == rp->cap->n) {
			begin_close(rp, c, now);
			return;
		}
		l = &rp->cap->l[c->next];
		if (rp->o->drop_ms >= 0 && l->media &&
		    l->off >= rp->o->drop_ms) {
			if (rp->o->verbose)
				cp_info("call %u %s: dropping the connection "
				    "after %.3f s of media", c->idx + 1,
				    c->sid, (double)l->off / 1000.0);
			finish(c, 0); /* no close frame: the socket goes away */
			return;
		}
		if (due(rp, c, c->next) > now || send_line(rp, c) < 0)
			return;
	}
}

/* A text message from the server, as one line on stdout, at once. */
static void
print_msg(struct replay *rp, struct call *c, const struct wsc_msg *m)
{
	c->recvd++;
	if (bq_push(&rp->out, m->data, m->len) == -1 ||
	    bq_push(&rp->out, "\n", 1) == -1)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory: %zu bytes",
		    m->len + 1);
	if (bq_flush(&rp->out, 1) == -1)
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
}

/* Read everything that arrived; print text messages on stdout. */
static void
drain(struct replay *rp, struct call *c)
{
	struct wsc_msg m;
	int r;

	if (c->w == NULL)
		return;
	if (wsc_flush(c->w) == WSC_ERR) {
		if (c->state == C_CLOSING)
			finish(c, 0);
		else
			lose(rp, c, "unable to send");
		return;
	}
	while ((r = wsc_recv(c->w, &m)) == WSC_OK) {
		if (m.type == WSC_TEXT)
			print_msg(rp, c, &m);
		else if (m.type == WSC_CLOSE && c->state != C_CLOSING) {
			cp_warn("call %u %s: the server closed the connection "
			    "(code %d) at line %zu of %zu", c->idx + 1,
			    sidof(c), m.close_code, c->next, rp->cap->n);
			c->failed = CP_EXIT_TEMP;
			/* wsc answers; wait for the TCP close */
			c->state = C_CLOSING;
			c->close_deadline = cp_now_ms() + CLOSE_WAIT_MS;
		}
	}
	if (r == WSC_AGAIN) {
		if (c->state == C_CLOSING && wsc_close_received(c->w) &&
		    wsc_close_sent(c->w))
			finish(c, 0);
	} else if (c->state != C_CLOSING) /* EOF or error mid-call */
		lose(rp, c, r == WSC_EOF ? "the server closed the connection" :
		    "connection failed");
	else
		finish(c, 0);
}

/* A refused or failed handshake: permanent (100) or temporary (111), as
 * deepgram-stream decides (netfail.h). */
static void
refused(struct replay *rp, struct call *c, int r)
{
	const char *url = rp->o->url;
	long st = wsc_http_status(c->w);
	int code;

	if (r == WSC_EREFUSED) {
		code = netfail_http(st);
		cp_warn("call %u: %s refused the connection: HTTP %ld",
		    c->idx + 1, url, st);
	} else if (r == WSC_ETIMEOUT) {
		code = CP_EXIT_TEMP;
		cp_warn("call %u: unable to connect to %s: timed out",
		    c->idx + 1, url);
	} else {
		code = netfail_wsc(wsc_failclass(c->w));
		cp_warn("call %u: unable to connect to %s: %s", c->idx + 1, url,
		    wsc_errmsg(c->w));
	}
	finish(c, code);
}

static void
connect_call(struct replay *rp, struct call *c)
{
	struct wsc_opts o;
	int r;

	memset(&o, 0, sizeof o);
	o.url = rp->o->url;
	o.headers = rp->o->hdrs;
	o.timeout_ms = (long)rp->o->tmo * 1000;
	o.max_msg = 64 * 1024;
	o.cafile = rp->o->cafile;
	if ((c->w = wsc_new(&o)) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory for a "
		    "connection");
	if ((r = wsc_connect(c->w)) != WSC_OK) {
		refused(rp, c, r);
		return;
	}
	if (rp->o->verbose)
		cp_info("call %u %s: connected to %s", c->idx + 1, sidof(c),
		    rp->o->url);
	c->state = C_SEND;
	c->t_start = cp_now_ms();
}

/* Start the calls whose turn has come (connect is blocking, a few ms each). */
static void
start_due(struct replay *rp)
{
	while (!rp->stopping && rp->started < rp->o->ncalls &&
	    cp_now_ms() >= rp->t_begin + rp->started * rp->o->stagger)
		connect_call(rp, &rp->calls[rp->started++]);
}

static void
earliest(int64_t *wake, int64_t t)
{
	if (t >= 0 && (*wake < 0 || t < *wake))
		*wake = t;
}

/* Advance every live call; fill the poll set. Returns the next deadline,
 * or -1. */
static int64_t
step(struct replay *rp, int64_t now, nfds_t *n)
{
	const struct opts *o = rp->o;
	struct call *c;
	int64_t wake = -1;
	long long i;

	rp->live = 0;
	*n = 0;
	for (i = 0; i < rp->started; i++) {
		c = &rp->calls[i];
		if (c->state == C_SEND)
			pump(rp, c, now);
		if (c->state == C_CLOSING && now >= c->close_deadline) {
			if (o->verbose)
				cp_info("call %u %s: no close reply within "
				    "%d ms", c->idx + 1, c->sid, CLOSE_WAIT_MS);
			finish(c, 0);
		}
		if (c->state == C_DONE)
			continue;
		rp->live++;
		if (c->state == C_SEND && wsc_idle(c->w) &&
		    c->next < rp->cap->n)
			earliest(&wake, due(rp, c, c->next));
		else if (c->state == C_CLOSING)
			earliest(&wake, c->close_deadline);
		rp->pfd[*n].fd = wsc_fd(c->w);
		rp->pfd[*n].events = wsc_events(c->w);
		rp->pidx[(*n)++] = (unsigned)i;
	}
	if (!rp->stopping && rp->started < o->ncalls)
		earliest(&wake, rp->t_begin + rp->started * o->stagger);
	return wake;
}

static void
progress(struct replay *rp, int64_t now)
{
	const struct capture *cap = rp->cap;
	const struct call *c;
	uint64_t sent = 0;
	int64_t off = 0;
	long long i;

	if (!rp->o->verbose || now < rp->next_progress)
		return;
	for (i = 0; i < rp->started; i++) {
		c = &rp->calls[i];
		sent += c->sent;
		if (c->next > 0 && cap->l[c->next - 1].off > off)
			off = cap->l[c->next - 1].off;
	}
	cp_info("%.1f s of %.1f s media sent, %llu messages, %d of %lld calls "
	    "live", (double)off / 1000.0, (double)cap->last / 1000.0,
	    (unsigned long long)sent, rp->live, rp->o->ncalls);
	rp->next_progress = now + PROGRESS_MS;
}

/* A first signal closes every call cleanly; a second one stops at once.
 * Returns 1 to stop now. */
static int
on_signal(struct replay *rp)
{
	long long i;
	int sig = cp_sigread(rp->sfd);

	if (sig == 0)
		return 0;
	if (rp->stopping)
		return 1;
	cp_warn("caught signal %d: closing %d calls", sig, rp->live);
	rp->stopping = 1;
	for (i = 0; i < rp->started; i++)
		if (rp->calls[i].state == C_SEND)
			rp->calls[i].next = rp->cap->n; /* pump() closes next */
	return 0;
}

static int
poll_timeout(const struct replay *rp, int64_t wake, int64_t now)
{
	int t = -1;

	if (wake > now)
		t = (int)(wake - now > 60000 ? 60000 : wake - now);
	else if (wake >= 0)
		t = 0;
	if (rp->o->verbose && (t < 0 || t > PROGRESS_MS))
		t = PROGRESS_MS;
	return t;
}

static void
loop(struct replay *rp)
{
	int64_t now, wake;
	nfds_t n, k;

	for (;;) {
		start_due(rp);
		now = cp_now_ms();
		wake = step(rp, now, &n);
		if (rp->live == 0 &&
		    (rp->stopping || rp->started == rp->o->ncalls))
			return;
		progress(rp, now);
		rp->pfd[n].fd = rp->sfd;
		rp->pfd[n].events = POLLIN;
		if (poll(rp->pfd, n + 1, poll_timeout(rp, wake, now)) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "poll");
		}
		if ((rp->pfd[n].revents & POLLIN) && on_signal(rp))
			return;
		for (k = 0; k < n; k++)
			if (rp->pfd[k].revents)
				drain(rp, &rp->calls[rp->pidx[k]]);
	}
}

/* The exit status: 100 if a call failed for good, else 111 if one failed,
 * else 0. */
static int
report(struct replay *rp)
{
	unsigned long long sent = 0, recvd = 0, failed = 0;
	long long i;
	struct call *c;
	int rc = CP_EXIT_OK;

	for (i = 0; i < rp->o->ncalls; i++) {
		c = &rp->calls[i];
		finish(c, i >= rp->started && !c->failed ? CP_EXIT_TEMP : 0);
		sent += c->sent;
		recvd += c->recvd;
		if (!c->failed)
			continue;
		failed++;
		if (c->failed == CP_EXIT_PERM || rc == CP_EXIT_OK)
			rc = c->failed;
	}
	if (rp->o->verbose)
		cp_info("done: %lld calls (%llu failed), %llu messages sent, "
		    "%llu received, %.1f s", rp->o->ncalls, failed, sent,
		    recvd, (double)(cp_now_ms() - rp->t_begin) / 1000.0);
	return rc;
}

static int
replay(const struct opts *o, const struct capture *cap)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct replay rp;
	size_t nc = (size_t)o->ncalls;
	long long i;
	int rc;

	memset(&rp, 0, sizeof rp);
	bq_init(&rp.out);
	rp.o = o;
	rp.cap = cap;
	if ((rp.sfd = cp_sigfd(sigs, 2)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signal handling");
	rp.calls = xrealloc(NULL, nc * sizeof *rp.calls);
	rp.pfd = xrealloc(NULL, (nc + 1) * sizeof *rp.pfd);
	rp.pidx = xrealloc(NULL, (nc + 1) * sizeof *rp.pidx);
	memset(rp.calls, 0, nc * sizeof *rp.calls);
	for (i = 0; i < o->ncalls; i++) {
		rp.calls[i].idx = (unsigned)i;
		make_sid(rp.calls[i].sid, cap->sid, (unsigned)i);
		make_sid(rp.calls[i].msid, cap->msid, (unsigned)i);
	}
	rp.t_begin = cp_now_ms();
	rp.next_progress = rp.t_begin + PROGRESS_MS;
	loop(&rp);
	rc = report(&rp);
	bq_free(&rp.out);
	free(rp.scratch);
	free(rp.calls);
	free(rp.pfd);
	free(rp.pidx);
	return rc;
}

static void
add_header(struct opts *o, int *nh, const char *h)
{
	if (*nh == MAX_HEADERS)
		cp_usagef("-H header: more than %d headers", MAX_HEADERS);
	if (strchr(h, ':') == NULL || h[0] == ':' || strpbrk(h, "\r\n") != NULL)
		cp_usagef("-H header: want 'Name: value', not %.100s", h);
	o->hdrs[(*nh)++] = h;
	o->hdrs[*nh] = NULL;
}

static void
check_config(const struct opts *o, int have_speed)
{
	if (o->fast && have_speed)
		cp_usagef("-f and -s cannot be used together");
	if (strncmp(o->url, "ws://", 5) != 0 &&
	    strncmp(o->url, "wss://", 6) != 0)
		cp_usagef("URL: want ws:// or wss://, not %.200s", o->url);
	if (o->cafile != NULL && access(o->cafile, R_OK) != 0)
		cp_diesys(CP_EXIT_PERM, "unable to read the CA file %s",
		    o->cafile);
}

/* Load the capture from stdin and replay it as o says; the exit code. */
static int
run(const struct opts *o)
{
	struct capture cap;
	int rc;

	load(&cap);
	if (o->ncalls > 1 && !cap.sid[0])
		cp_warn("no CallSid in the capture: the %lld calls share "
		    "whatever it holds", o->ncalls);
	rc = replay(o, &cap);
	free_capture(&cap);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cafile", required_argument, NULL, 'C' },
		{ "fast", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "drop-after", required_argument, NULL, 'd' },
		{ "header", required_argument, NULL, 'H' },
		{ "stagger", required_argument, NULL, 'i' },
		{ "calls", required_argument, NULL, 'n' },
		{ "speed", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .speed = 1.0, .drop_ms = -1, .ncalls = 1, .tmo = 10 };
	int nh = 0, ch, have_speed = 0;

	cp_help(argc, argv, usage_str);
	cp_setprog(argv[0]);
	cp_ignore_sigpipe();
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":C:fvd:H:i:n:s:t:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'C': o.cafile = optarg; break;
		case 'f': o.fast = 1; break;
		case 'v': o.verbose = 1; break;
		case 'd':
			o.drop_ms = (int64_t)(cp_optreal(optarg, 0, 1e9,
			    "-d seconds") * 1000.0 + 0.5);
			break;
		case 'H': add_header(&o, &nh, optarg); break;
		case 'i':
			o.stagger = cp_optnum(optarg, 0, 3600000, "-i ms");
			break;
		case 'n':
			o.ncalls = cp_optnum(optarg, 1, 100000, "-n calls");
			break;
		case 's':
			o.speed = cp_optreal(optarg, 0.01, 10000, "-s speed");
			have_speed = 1;
			break;
		case 't':
			o.tmo = cp_optnum(optarg, 1, 3600, "-t seconds");
			break;
		default: cp_opterr(ch, argv, usage_str);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		cp_usage(usage_str);
	o.url = argv[0];
	check_config(&o, have_speed);
	return run(&o);
}
