/* callpipe-publish: one stream's messages (lines on stdin, as fanout annotated
 * them) -> the call's Redis Stream, plus the stream's start, heartbeats and end
 * in the live-call registry (layout in src/lib/credis.h). Redis never slows the
 * call: stdin is always read; lines wait in a bounded in-order queue while
 * Redis is away and go out, in order, when it is back; past the bound they are
 * counted and logged as lost. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "calldir.h"
#include "cp.h"
#include "credis.h"
#include "linebuf.h"
#include "opt.h"

static const char usage[] =
    "callpipe-publish [-b bytes] [-g grace] [-n maxlen] "
    "[-t ttl] [-x seconds] [-c callsid] [-s streamsid]";

#define LINEMAX                                                                \
	(2 << 20) /* fanout's default line limit, and room for its annotation  \
		   */
#define WINDOW 256 /* XADDs in flight */
#define TAGMAX (WINDOW + 16)
#define ENTRY_COST 64 /* bookkeeping counted against the bound, per line */
#define BACKOFF_MIN 100 /* reconnect backoff, ms, doubling */
#define BACKOFF_MAX 2000
#define STALL_MS 5000 /* no answer for this long: the connection is dead */
#define ERRLOG_MAX 5 /* refused messages logged one by one, then only counted  \
		      */

enum { DOWN, CONNECTING, UP };
enum { T_LOGIN, T_REG, T_HB, T_XADD, T_END };

struct ent {
	char *line;
	size_t len;
	uint64_t seq;
};

struct pub {
	struct rurl url;
	redisContext *c;
	int st;
	int64_t retry_at, backoff, hb_at, last_io, down_since, give_up_at;
	struct ent *q; /* ring: unacknowledged lines, oldest first */
	size_t cap, head, n, sent; /* sent: how many of them are in flight */
	size_t bytes, maxbytes;
	unsigned char tags[TAGMAX]; /* expected replies, in order */
	size_t thead, tn;
	uint64_t seq, lost, lost_logged, published, refused, skipped;
	int need_reg, eof, end_queued, end_done, login_refused, login_warned;
	int login_pending; /* AUTH/SELECT answers awaited: nothing else goes
			      before them */
	char reason[32], error[200];
	/* identity */
	const char *sid, *ssid;
	char host[128], started[CD_TIMELEN], run[20];
	char *params, *start;
	char key_call[CR_KEYMAX], key_info[CR_KEYMAX];
	char ttl[24], grace[24], retain[24], maxlen[24];
	int64_t ttl_ms, hb_ms;
};

static void
tag(struct pub *p, int t)
{
	p->tags[(p->thead + p->tn++) % TAGMAX] = (unsigned char)t;
}

/* The connection is gone: everything in flight goes again after the reconnect
 * (a reader drops what it already has, by (StreamSid, run, seq)). */
static void
down(struct pub *p, const char *why)
{
	int64_t now = cp_now_ms();

	if (p->down_since == 0) {
		cp_warn("lost %s: %s; keeping messages (up to %zu bytes) until "
			"it is back",
		    p->url.shown, why, p->maxbytes);
		p->down_since = now;
	}
	if (p->c != NULL)
		redisFree(p->c);
	p->c = NULL;
	p->st = DOWN;
	p->sent = 0;
	p->tn = 0;
	p->login_pending = 0;
	p->end_queued = 0;
	p->need_reg = 1;
	p->retry_at = now + p->backoff;
	p->backoff =
	    p->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : p->backoff * 2;
}

static void
connect_(struct pub *p)
{
	p->c = cr_connect(&p->url, 1, 0);
	if (p->c == NULL) {
		down(p, "out of memory");
		return;
	}
	if (p->c->err) {
		down(p, p->c->errstr);
		return;
	}
	p->st = CONNECTING;
	p->last_io = cp_now_ms();
}

/* The non-blocking connect finished (writable): did it work? */
static void
connected(struct pub *p)
{
	int err = 0, i, k;
	socklen_t len = sizeof err;

	if (getsockopt(p->c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		down(p, strerror(err));
		return;
	}
	p->st = UP;
	p->last_io = cp_now_ms();
	p->login_refused = 0;
	k = cr_appendlogin(p->c, &p->url);
	for (i = 0; i < k; i++)
		tag(p, T_LOGIN);
	p->login_pending = k;
}

static void
append_reg(struct pub *p)
{
	const char *argv[] = { "EVAL", cr_lua_register, "4", CR_LIVE, CR_ENDED,
		p->key_info, p->key_call, p->sid, p->ssid, p->host, p->started,
		p->params, p->start, p->ttl, p->retain, p->maxlen };

	redisAppendCommandArgv(
	    p->c, (int)(sizeof argv / sizeof argv[0]), argv, NULL);
	tag(p, T_REG);
	p->need_reg = 0;
}

static void
append_hb(struct pub *p)
{
	const char *argv[] = { "EVAL", cr_lua_heartbeat, "3", CR_LIVE,
		p->key_info, p->key_call, p->sid, p->ssid, p->ttl, p->retain };

	redisAppendCommandArgv(
	    p->c, (int)(sizeof argv / sizeof argv[0]), argv, NULL);
	tag(p, T_HB);
}

static void
append_end(struct pub *p)
{
	const char *argv[] = { "EVAL", cr_lua_end, "3", CR_LIVE, p->key_info,
		p->key_call, p->sid, p->ssid, p->reason, p->error, p->grace,
		p->retain, p->maxlen };

	redisAppendCommandArgv(
	    p->c, (int)(sizeof argv / sizeof argv[0]), argv, NULL);
	tag(p, T_END);
	p->end_queued = 1;
}

static void
append_xadd(struct pub *p, const struct ent *e)
{
	char seq[24];
	const char *argv[] = { "XADD", p->key_call, "MAXLEN", "~", p->maxlen,
		"*", "k", "m", "s", p->ssid, "p", p->run, "q", seq, "m",
		e->line };
	size_t lens[16];
	size_t i;

	snprintf(seq, sizeof seq, "%llu", (unsigned long long)e->seq);
	for (i = 0; i < 16; i++)
		lens[i] = strlen(argv[i]);
	lens[15] = e->len;
	redisAppendCommandArgv(p->c, 16, argv, lens);
	tag(p, T_XADD);
}

/* Queue what the connection can take now, in order: registration, lines, the
 * end. */
static void
pump(struct pub *p)
{
	int64_t now = cp_now_ms();

	if (p->st != UP || p->login_refused || p->login_pending > 0)
		return;
	if (p->need_reg && p->tn < TAGMAX)
		append_reg(p);
	while (p->sent < p->n && p->tn < WINDOW) {
		append_xadd(p, &p->q[(p->head + p->sent) % p->cap]);
		p->sent++;
	}
	if (p->eof && !p->end_queued && p->sent == p->n && p->tn < TAGMAX)
		append_end(p);
	if (now >= p->hb_at && !p->end_queued && p->tn < TAGMAX) {
		append_hb(p);
		p->hb_at = now + p->hb_ms;
	}
}

static void
pop(struct pub *p)
{
	struct ent *e = &p->q[p->head];

	p->bytes -= e->len + ENTRY_COST;
	free(e->line);
	e->line = NULL;
	p->head = (p->head + 1) % p->cap;
	p->n--;
	p->sent--;
}

static void
reply_login(struct pub *p, redisReply *r)
{
	p->login_pending--;
	if (r->type != REDIS_REPLY_ERROR)
		return;
	/* Redis's own text never holds the password; a refused login does not
	 * improve by retrying at once: the call goes on, we wait at the longest
	 * backoff */
	if (!p->login_warned)
		cp_warn("%s refused the login: %.200s", p->url.shown, r->str);
	p->login_warned = 1;
	p->login_refused = 1;
	p->backoff = BACKOFF_MAX;
}

static void
reply(struct pub *p, redisReply *r)
{
	int t = p->tags[p->thead];

	p->thead = (p->thead + 1) % TAGMAX;
	p->tn--;
	switch (t) {
	case T_LOGIN: reply_login(p, r); break;
	case T_REG:
	case T_END:
		if (r->type == REDIS_REPLY_ERROR)
			cp_warn("%s refused the registry update: %.200s",
			    p->url.shown, r->str);
		else if (t == T_END)
			p->end_done = 1;
		break;
	case T_HB:
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
			p->need_reg = 1; /* Redis forgot us (restarted empty) or
					    a sweep ended us */
		break;
	case T_XADD:
		if (r->type == REDIS_REPLY_ERROR && p->refused++ < ERRLOG_MAX)
			cp_warn("%s refused message %llu: %.200s", p->url.shown,
			    (unsigned long long)p->q[p->head].seq, r->str);
		else if (r->type != REDIS_REPLY_ERROR)
			p->published++;
		pop(p);
		break;
	}
}

static void
back(struct pub *p)
{
	if (p->down_since == 0)
		return;
	cp_info("%s is back after %.1f s: %zu messages waiting%s", p->url.shown,
	    (double)(cp_now_ms() - p->down_since) / 1000.0, p->n,
	    p->lost > p->lost_logged ? ", some were lost (see above)" : "");
	p->down_since = 0;
	p->backoff = BACKOFF_MIN;
	if (p->lost > p->lost_logged)
		cp_warn("lost %llu messages while %s was away (buffer of %zu "
			"bytes full)",
		    (unsigned long long)(p->lost - p->lost_logged),
		    p->url.shown, p->maxbytes);
	p->lost_logged = p->lost;
}

static void
redis_io(struct pub *p, short revents)
{
	void *r;
	int done;

	if (p->st == CONNECTING) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			connected(p);
		return;
	}
	if ((revents & POLLOUT) && redisBufferWrite(p->c, &done) != REDIS_OK) {
		down(p, p->c->errstr);
		return;
	}
	if (revents & (POLLIN | POLLERR | POLLHUP)) {
		if (redisBufferRead(p->c) != REDIS_OK) {
			down(p,
			    p->c->errstr[0] ? p->c->errstr
					    : "connection closed");
			return;
		}
		p->last_io = cp_now_ms();
	}
	for (;;) {
		r = NULL;
		if (redisGetReplyFromReader(p->c, &r) != REDIS_OK) {
			down(p, p->c->errstr);
			return;
		}
		if (r == NULL)
			break;
		if (p->tn == 0) {
			freeReplyObject(r);
			down(p, "an answer nobody asked for");
			return;
		}
		reply(p, r);
		freeReplyObject(r);
		if (!p->login_refused)
			back(p);
	}
	if (p->login_refused)
		down(p, "login refused");
}

/* Lines of callpipe's own about the stream: a fatal callpipe.error makes the stream's
 * end reason transcription-failed; a callpipe.end (a subscriber's last line, should
 * one reach us) is not published, its reason is kept: callpipe-follow writes the
 * call's end itself. Returns 1 if the line is to be left out. */
static int
ownline(struct pub *p, const char *line)
{
	cJSON *o = cJSON_Parse(line), *t, *f, *e, *r;
	int skip = 0;

	if (o == NULL)
		return 0;
	t = cJSON_GetObjectItemCaseSensitive(o, "type");
	f = cJSON_GetObjectItemCaseSensitive(o, "fatal");
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	r = cJSON_GetObjectItemCaseSensitive(o, "reason");
	if (cJSON_IsString(t) &&
	    strcmp(t->valuestring, "callpipe.error") == 0 && cJSON_IsTrue(f)) {
		snprintf(p->reason, sizeof p->reason, "transcription-failed");
		snprintf(p->error, sizeof p->error, "%s",
		    cJSON_IsString(e) ? e->valuestring : "");
	} else if (cJSON_IsString(t) &&
	    strcmp(t->valuestring, "callpipe.end") == 0) {
		skip = 1;
		if (cJSON_IsString(r) &&
		    strcmp(r->valuestring, "transcription-failed") == 0)
			snprintf(p->reason, sizeof p->reason, "%s",
			    r->valuestring);
	}
	cJSON_Delete(o);
	return skip;
}

static void
enqueue(struct pub *p, char *line, size_t len)
{
	struct ent *e;

	while (len > 0 && line[len - 1] == '\r')
		len--;
	if (len < 2 || line[0] != '{' || line[len - 1] != '}' ||
	    memchr(line, 0, len)) {
		if (p->skipped++ < ERRLOG_MAX)
			cp_warn("skipping a line that is not one JSON object");
		return;
	}
	line[len] = '\0';
	if ((memmem(line, len, "\"callpipe.error\"", 16) != NULL ||
		memmem(line, len, "\"callpipe.end\"", 14) != NULL) &&
	    ownline(p, line))
		return;
	p->seq++;
	if (p->bytes + len + ENTRY_COST > p->maxbytes) {
		if (p->lost++ == p->lost_logged)
			cp_warn("queue full (%zu bytes): losing messages from "
				"%llu on until %s "
				"takes them",
			    p->maxbytes, (unsigned long long)p->seq,
			    p->url.shown);
		return;
	}
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 256, i;
		struct ent *nq = calloc(ncap, sizeof *nq);

		if (nq == NULL) {
			p->lost++;
			return;
		}
		for (i = 0; i < p->n; i++)
			nq[i] = p->q[(p->head + i) % p->cap];
		free(p->q);
		p->q = nq;
		p->cap = ncap;
		p->head = 0;
	}
	e = &p->q[(p->head + p->n) % p->cap];
	e->line = malloc(len + 1);
	if (e->line == NULL) {
		p->lost++;
		return;
	}
	memcpy(e->line, line, len + 1);
	e->len = len;
	e->seq = p->seq;
	p->bytes += len + ENTRY_COST;
	p->n++;
}

static void
read_input(struct pub *p, struct linebuf *lb, int64_t linger_ms)
{
	char *line;
	size_t len;
	int r = lb_fill(lb);

	if (r == LR_AGAIN)
		return;
	if (r == LR_ERR)
		cp_warnsys("unable to read stdin");
	for (;;) {
		int k = lb_next(lb, &line, &len);

		if (k == LR_TOOLONG) {
			p->seq++;
			p->lost++;
			cp_warn(
			    "skipping a line longer than %d bytes", LINEMAX);
			continue;
		}
		if (k != LR_LINE)
			break;
		enqueue(p, line, len);
	}
	if (r == 0 || r == LR_ERR) {
		p->eof = 1;
		p->give_up_at = cp_now_ms() + linger_ms;
	}
}

/* Poll timeout: the next timer that is due. */
static int
timeout_ms(const struct pub *p)
{
	int64_t now = cp_now_ms(), t = now + 60000;

	if (p->st == DOWN && p->retry_at < t)
		t = p->retry_at;
	if (p->st == UP && p->hb_at < t)
		t = p->hb_at;
	if (p->st != DOWN && p->last_io + STALL_MS < t)
		t = p->last_io + STALL_MS;
	if (p->eof && p->give_up_at < t)
		t = p->give_up_at;
	return t > now ? (int)(t - now) : 0;
}

static void
timers(struct pub *p)
{
	int64_t now = cp_now_ms();

	if (p->st == DOWN && now >= p->retry_at)
		connect_(p);
	else if (p->st == CONNECTING && now - p->last_io >= STALL_MS)
		down(p, "connect timed out");
	else if (p->st == UP && p->tn > 0 && now - p->last_io >= STALL_MS)
		down(p, "no answer for 5 s");
	else if (p->st == UP && p->tn == 0)
		p->last_io = now;
}

/* Let go of everything (a clean exit under LeakSanitizer too). */
static void
release(struct pub *p, struct linebuf *lb)
{
	while (p->n > 0) {
		p->sent = p->n;
		pop(p);
	}
	free(p->q);
	free(p->params);
	free(p->start);
	if (p->c != NULL)
		redisFree(p->c);
	lb_free(lb);
}

/* Write what pump queued at once, without waiting for a poll round (latency). */
static void
flushout(struct pub *p)
{
	int done;

	if (p->st == UP && sdslen(p->c->obuf) > 0 &&
	    redisBufferWrite(p->c, &done) != REDIS_OK)
		down(p, p->c->errstr);
}

static int
loop(struct pub *p, int sigfd, int64_t linger_ms)
{
	struct linebuf lb;
	int rc = CP_EXIT_OK;

	if (lb_init(&lb, 0, LINEMAX) < 0 || cp_setnonblock(0, 1) < 0)
		cp_die(CP_EXIT_TEMP, "unable to set up stdin");
	connect_(p);
	while (!(p->eof && p->end_done)) {
		struct pollfd pfd[3];
		int n = 0, ir = -1, ii = -1;

		pump(p);
		flushout(p);
		pfd[n].fd = sigfd;
		pfd[n++].events = POLLIN;
		if (!p->eof) {
			ii = n;
			pfd[n].fd = 0;
			pfd[n++].events = POLLIN;
		}
		if (p->st != DOWN) {
			ir = n;
			pfd[n].fd = p->c->fd;
			pfd[n++].events = p->st == CONNECTING
			    ? POLLOUT
			    : POLLIN | (sdslen(p->c->obuf) > 0 ? POLLOUT : 0);
		}
		if (poll(pfd, (nfds_t)n, timeout_ms(p)) < 0 && errno != EINTR)
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		if ((pfd[0].revents & POLLIN) && cp_sigread(sigfd) && !p->eof) {
			p->eof =
			    1; /* stopped: publish what we have, then the end */
			p->give_up_at = cp_now_ms() + linger_ms;
		}
		if (ii >= 0 && pfd[ii].revents)
			read_input(p, &lb, linger_ms);
		if (ir >= 0 && pfd[ir].revents)
			redis_io(p, pfd[ir].revents);
		timers(p);
		if (p->eof && !p->end_done && cp_now_ms() >= p->give_up_at) {
			cp_warn("giving up on %s: %zu messages and the "
				"stream's end not "
				"published",
			    p->url.shown, p->n);
			rc = CP_EXIT_TEMP;
			break;
		}
	}
	if (p->lost > p->lost_logged)
		cp_warn(
		    "lost %llu messages in all", (unsigned long long)p->lost);
	release(p, &lb);
	return rc;
}

/* The start event's customParameters, as compact JSON ("{}" without them). */
static char *
params_of(const char *start)
{
	cJSON *o = start ? cJSON_Parse(start) : NULL, *s, *cp;
	char *r = NULL;

	s = cJSON_GetObjectItemCaseSensitive(o, "start");
	cp = cJSON_GetObjectItemCaseSensitive(s, "customParameters");
	if (cJSON_IsObject(cp))
		r = cJSON_PrintUnformatted(cp);
	cJSON_Delete(o);
	return r ? r : strdup("{}");
}

static int
validssid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 64 &&
	    strspn(s,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

static long long
num(const char *s, long long min, long long max, const char *what)
{
	long long v;

	if (cp_strtonum(s, min, max, &v) < 0)
		cp_die(CP_EXIT_PERM,
		    "%s must be a number from %lld to %lld, not '%.40s'", what,
		    min, max, s);
	return v;
}

static void
identity(struct pub *p)
{
	const char *start = getenv("TWILIO_START");
	uint64_t r;

	if (p->sid == NULL || !cp_valid_sid(p->sid, "CA"))
		cp_die(CP_EXIT_PERM,
		    "need a CallSid (CA and 32 hex digits): -c or "
		    "TWILIO_CALL_SID");
	if (!validssid(p->ssid))
		cp_die(CP_EXIT_PERM,
		    "need a StreamSid (letters, digits, - and _, at most "
		    "64): -s or TWILIO_STREAM_SID");
	if (start != NULL && strlen(start) > 65536)
		start = NULL;
	p->start = strdup(start && *start ? start : "{}");
	p->params = params_of(start);
	if (p->start == NULL || p->params == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	if (gethostname(p->host, sizeof p->host - 1) < 0)
		snprintf(p->host, sizeof p->host, "?");
	cd_isotime(time(NULL), p->started, sizeof p->started);
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (uint64_t)cp_now_us() ^ ((uint64_t)getpid() << 32);
	snprintf(p->run, sizeof p->run, "%016llx", (unsigned long long)r);
	cr_key(p->key_call, CR_CALL, p->sid);
	cr_key(p->key_info, CR_INFO, p->sid);
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	static struct pub p;
	const char *g = getenv("CALLPIPE_CALL_GRACE_SECONDS");
	long long ttl = 10, grace = 5, maxlen = 100000, linger = 30, retain;
	char err[300];
	int c, sigfd;

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	p.sid = getenv("TWILIO_CALL_SID");
	p.ssid = getenv("TWILIO_STREAM_SID");
	p.maxbytes = 8 << 20;
	if (g != NULL && *g != '\0')
		grace = num(g, 0, 3600, "CALLPIPE_CALL_GRACE_SECONDS");
	opterr = 0;
	while ((c = getopt(argc, argv, ":b:c:g:n:s:t:x:")) != -1) {
		switch (c) {
		case 'b':
			p.maxbytes = (size_t)cp_optnum(optarg, 65536,
			    1LL << 32, "-b bytes");
			break;
		case 'c': p.sid = optarg; break;
		case 'g': grace = cp_optnum(optarg, 0, 3600, "-g grace"); break;
		case 'n':
			maxlen = cp_optnum(optarg, 100, 100000000, "-n maxlen");
			break;
		case 's': p.ssid = optarg; break;
		case 't': ttl = cp_optnum(optarg, 1, 3600, "-t ttl"); break;
		case 'x':
			linger = cp_optnum(optarg, 0, 3600, "-x seconds");
			break;
		default: cp_opterr(c, argv, usage);
		}
	}
	if (optind != argc)
		cp_usage(usage);
	if (cr_parse(getenv("CALLPIPE_REDIS_URL"), &p.url, err, sizeof err) < 0)
		cp_die(CP_EXIT_PERM, "%s", err);
	if ((retain = cr_retain()) < 0)
		cp_die(CP_EXIT_PERM,
		    "CALLPIPE_RETAIN_DAYS must be a number of days, 1 to "
		    "36500");
	identity(&p);
	p.ttl_ms = ttl * 1000;
	p.hb_ms = p.ttl_ms / 4 > 200 ? p.ttl_ms / 4 : 200;
	snprintf(p.ttl, sizeof p.ttl, "%lld", ttl * 1000);
	snprintf(p.grace, sizeof p.grace, "%lld", grace * 1000);
	snprintf(p.retain, sizeof p.retain, "%lld", retain);
	snprintf(p.maxlen, sizeof p.maxlen, "%lld", maxlen);
	snprintf(p.reason, sizeof p.reason, "call-ended");
	p.backoff = BACKOFF_MIN;
	p.need_reg = 1;
	cp_ignore_sigpipe();
	if ((sigfd = cp_sigfd(sigs, 3)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	return loop(&p, sigfd, linger * 1000);
}
