/* callpipe-follow: subscribe's sibling for many hosts. Lists the calls of every
 * host from the registry in Redis, or prints one call's messages from its Redis
 * Stream, whichever host it is on: the history first with -H, then live, ending
 * with the same
 * {"type":"callpipe.end",...} line as subscribe. Layout in src/lib/credis.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "calldir.h"
#include "cp.h"
#include "credis.h"
#include "opt.h"
#include "sidline.h"

static const char usage[] = "callpipe-follow [-Hij] [-m maxsubs] [-t seconds] "
			    "[-w seconds] [callsid]";

#define BATCH 512 /* entries per XREAD */
#define BLOCK_MS 1000 /* XREAD BLOCK: also how often we look at the registry   \
		       */
#define CONNECT_MS 2000
#define RETRY_MAX_MS 2000 /* reconnect backoff cap */
#define GIVEUP_MS 60000 /* Redis unreachable this long: give up */
#define LIST_GIVEUP_MS 2000
#define NOTLIVE_MS                                                             \
	30000 /* no registry entry and no end record this long: over */
#define LISTMAX 10000
#define ENDEDMAX 50
#define RUNS 64 /* publishers remembered for dropping resends */
#define SIDLINE_MAX 64 /* the CallSid line of -i, blanks included */

static volatile sig_atomic_t stopping; /* SIGINT, SIGTERM, SIGHUP */

struct run {
	char key[96]; /* StreamSid + ' ' + run */
	unsigned long long q;
};

struct fol {
	struct rurl url;
	redisContext *c;
	const char *sid;
	char key_call[CR_KEYMAX], key_info[CR_KEYMAX];
	char lastid[48];
	long long retain;
	int watchin;
	struct run runs[RUNS];
	size_t nruns, nextrun;
	int64_t notlive_since;
	uint64_t dups, bad;
	int pending; /* the last entry read is an end record */
	int listing; /* no end line: a list is wanted at once or not at all */
	char reason[32], error[256];
};

static void
out(const char *p, size_t n)
{
	if (cp_writeall(1, p, n) < 0) {
		if (errno == EPIPE)
			exit(CP_EXIT_OK);
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
	}
}

/* The last line, always (the /client protocol): then exit. */
static void __attribute__((noreturn))
end(const char *reason, const char *error, int code)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (o != NULL &&
	    cJSON_AddStringToObject(o, "type", "callpipe.end") != NULL &&
	    cJSON_AddStringToObject(o, "reason", reason) != NULL &&
	    (error == NULL || *error == '\0' ||
		cJSON_AddStringToObject(o, "error", error) != NULL))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	out(s, strlen(s));
	out("\n", 1);
	cJSON_free(s);
	exit(code);
}

static redisReply *
cmd(struct fol *f, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(f->c, fmt, ap);
	va_end(ap);
	return r;
}

/* Our reader went away (websocketd closes our stdin; a pipe reader closes
 * stdout). */
static void
checkgone(const struct fol *f)
{
	struct pollfd pfd[2] = { { 1, 0, 0 }, { 0, POLLIN, 0 } };
	char junk[4096];

	if (stopping)
		end("server-stopping", NULL, CP_EXIT_TEMP);
	if (poll(pfd, f->watchin ? 2 : 1, 0) <= 0)
		return;
	if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
		exit(CP_EXIT_OK);
	if (f->watchin && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t k = read(0, junk, sizeof junk);

		if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
			exit(CP_EXIT_OK);
	}
}

/* (Re)connect with backoff; gives up with the end line after GIVEUP_MS (a list:
 * after LIST_GIVEUP_MS, with a fatal line only). */
static void
reconnect(struct fol *f)
{
	int64_t until = cp_now_ms() + (f->listing ? LIST_GIVEUP_MS : GIVEUP_MS);
	int64_t wait = 100;
	char err[300];
	int refused;

	if (f->c != NULL)
		redisFree(f->c);
	for (;;) {
		f->c = cr_open(&f->url, CONNECT_MS, err, sizeof err, &refused);
		if (f->c != NULL) {
			(void)redisSetTimeout(f->c,
			    (struct timeval){ (BLOCK_MS + CONNECT_MS) / 1000,
				((BLOCK_MS + CONNECT_MS) % 1000) * 1000 });
			return;
		}
		if (f->listing && (refused || cp_now_ms() + wait >= until))
			cp_die(refused ? CP_EXIT_PERM : CP_EXIT_TEMP, "%s", err);
		if (refused) {
			cp_warn("%s", err);
			end("server-stopping",
			    "the call registry (Redis) refused the login",
			    CP_EXIT_PERM);
		}
		if (cp_now_ms() >= until) {
			cp_warn("%s", err);
			end("server-stopping",
			    "the call registry (Redis) is unreachable",
			    CP_EXIT_TEMP);
		}
		checkgone(f);
		poll(NULL, 0, (int)wait);
		wait = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
	}
}

static const char *
field(const redisReply *fv, const char *name, size_t *len)
{
	size_t i;

	for (i = 0; i + 1 < fv->elements; i += 2) {
		const redisReply *k = fv->element[i], *v = fv->element[i + 1];

		if (k->type == REDIS_REPLY_STRING &&
		    v->type == REDIS_REPLY_STRING &&
		    strcmp(k->str, name) == 0) {
			if (len != NULL)
				*len = v->len;
			return v->str;
		}
	}
	return NULL;
}

/* 1 if (stream, run, seq) is new; a publisher resends what it was not sure of.
 */
static int
fresh(struct fol *f, const char *s, const char *p, const char *q)
{
	unsigned long long v;
	char key[96];
	size_t i;
	char *e;

	if (s == NULL || p == NULL || q == NULL)
		return 1;
	errno = 0;
	v = strtoull(q, &e, 10);
	if (errno != 0 || *e != '\0')
		return 1;
	snprintf(key, sizeof key, "%.64s %.24s", s, p);
	for (i = 0; i < f->nruns; i++) {
		if (strcmp(f->runs[i].key, key) == 0) {
			if (v <= f->runs[i].q)
				return 0;
			f->runs[i].q = v;
			return 1;
		}
	}
	i = f->nruns < RUNS ? f->nruns++ : f->nextrun++ % RUNS;
	snprintf(f->runs[i].key, sizeof f->runs[i].key, "%s", key);
	f->runs[i].q = v;
	return 1;
}

/* 1 if the call has a registry entry (live, or inside its grace). */
static int
islive(struct fol *f)
{
	redisReply *r = cmd(f, "ZSCORE %s %s", CR_LIVE, f->sid);
	int live;

	if (r == NULL)
		return -1;
	live = r->type == REDIS_REPLY_STRING;
	freeReplyObject(r);
	return live;
}

/* The last entry read is an end record: the call is over unless it goes on (a
 * new stream registered it again). */
static void
checkend(struct fol *f)
{
	if (!f->pending || islive(f) == 1)
		return;
	if (f->dups > 0)
		cp_info("dropped %llu resent messages",
		    (unsigned long long)f->dups);
	end(f->reason, f->error, CP_EXIT_OK);
}

static void
endrecord(struct fol *f, const redisReply *fv)
{
	const char *r = field(fv, "r", NULL), *x = field(fv, "x", NULL);

	snprintf(f->reason, sizeof f->reason, "%s", r ? r : "call-ended");
	snprintf(f->error, sizeof f->error, "%s", x ? x : "");
	f->pending = 1;
}

static void
entries(struct fol *f, const redisReply *v)
{
	size_t i;

	for (i = 0; i < v->elements; i++) {
		const redisReply *e = v->element[i], *fv;
		const char *k, *m;
		size_t mlen;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		snprintf(f->lastid, sizeof f->lastid, "%s", e->element[0]->str);
		fv = e->element[1];
		k = field(fv, "k", NULL);
		if (k == NULL)
			continue;
		f->pending = 0;
		if (strcmp(k, "E") == 0) {
			endrecord(f, fv);
			continue;
		}
		if (strcmp(k, "m") != 0 || (m = field(fv, "m", &mlen)) == NULL)
			continue;
		/* one JSON object, one line: what a subscriber gets stays framed */
		if (mlen < 2 || m[0] != '{' || m[mlen - 1] != '}' ||
		    memchr(m, '\n', mlen) != NULL || memchr(m, '\0', mlen) != NULL) {
			if (f->bad++ < 5)
				cp_warn("skipping a malformed entry %s", f->lastid);
			continue;
		}
		if (!fresh(f, field(fv, "s", NULL), field(fv, "p", NULL),
			field(fv, "q", NULL))) {
			f->dups++;
			continue;
		}
		out(m, mlen);
		out("\n", 1);
	}
}

/* Nothing new for a while: sweep (it may end this call), and notice a call that
 * is gone without an end record (Redis restarted empty after its end). */
static void
idle(struct fol *f)
{
	int live;

	if (cr_sweep(f->c, f->retain) < 0 && f->c->err)
		return;
	live = islive(f);
	if (live != 0) {
		f->notlive_since = 0;
		return;
	}
	if (f->notlive_since == 0)
		f->notlive_since = cp_now_ms();
	else if (cp_now_ms() - f->notlive_since >= NOTLIVE_MS)
		end("call-ended", NULL, CP_EXIT_OK);
}

static void
follow(struct fol *f, int64_t wait_until)
{
	char count[16], block[16];

	snprintf(count, sizeof count, "%d", BATCH);
	snprintf(block, sizeof block, "%d", BLOCK_MS);
	for (;;) {
		redisReply *r;

		checkgone(f);
		r = cmd(f, "XREAD COUNT %s BLOCK %s STREAMS %s %s", count,
		    block, f->key_call, f->lastid);
		if (r == NULL) {
			reconnect(f);
			continue;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
		    r->element[0]->type == REDIS_REPLY_ARRAY &&
		    r->element[0]->elements == 2) {
			const redisReply *v = r->element[0]->element[1];

			wait_until = 0;
			f->notlive_since = 0;
			entries(f, v);
			if (v->elements < BATCH)
				checkend(f);
		} else if (r->type == REDIS_REPLY_ERROR) {
			cp_warn("%s: %.200s", f->url.shown, r->str);
			freeReplyObject(r);
			end("server-stopping",
			    "the call registry (Redis) refused to read",
			    CP_EXIT_TEMP);
		} else if (wait_until != 0) {
			if (cp_now_ms() >= wait_until)
				end("unknown-call", NULL, CP_EXIT_NEG);
		} else {
			checkend(f);
			idle(f);
		}
		freeReplyObject(r);
	}
}

/* Where to start: the stream's first entry (-H, or a call that has not
 * started), or its last. A call that is over and not replayed ends at once. */
static void
attach(struct fol *f, int hflag, long long wait)
{
	redisReply *r;
	int exists, live;

	if (!cp_valid_sid(f->sid, "CA"))
		end("bad-request",
		    "malformed CallSid: expected CA and 32 hex digits",
		    CP_EXIT_PERM);
	cr_key(f->key_call, CR_CALL, f->sid);
	cr_key(f->key_info, CR_INFO, f->sid);
	reconnect(f);
	(void)cr_sweep(f->c, f->retain);
	snprintf(f->lastid, sizeof f->lastid, "0-0");
	r = cmd(f, "XREVRANGE %s + - COUNT 1", f->key_call);
	if (r == NULL)
		cp_die(CP_EXIT_TEMP, "unable to read from %s: %s", f->url.shown,
		    f->c->errstr);
	exists = r->type == REDIS_REPLY_ARRAY && r->elements == 1;
	if (exists && !hflag && r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2) {
		const redisReply *fv = r->element[0]->element[1];
		const char *k = field(fv, "k", NULL);
		const char *why = field(fv, "r", NULL);

		snprintf(f->lastid, sizeof f->lastid, "%s",
		    r->element[0]->element[0]->str);
		/* an ended call ends as subscribe(1) ends it: its reason if
		 * the transcription failed, else call-ended */
		if (k != NULL && strcmp(k, "E") == 0 && why != NULL &&
		    strcmp(why, "transcription-failed") == 0)
			snprintf(f->reason, sizeof f->reason, "%s", why);
	}
	freeReplyObject(r);
	if (!exists) {
		if (wait <= 0)
			end("unknown-call", NULL, CP_EXIT_NEG);
		follow(f, cp_now_ms() + wait * 1000);
	}
	live = islive(f);
	if (!hflag && live == 0)
		end(*f->reason != '\0' ? f->reason : "call-ended", NULL,
		    CP_EXIT_OK);
	follow(f, 0);
}

static cJSON *
entry(redisReply *h, const char *sid, int ended)
{
	cJSON *o, *params;
	long long n = 0;

	if (h == NULL || h->type != REDIS_REPLY_ARRAY || h->elements != 4 ||
	    h->element[0]->type != REDIS_REPLY_STRING)
		return NULL; /* the call's hash expired or was never written */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "callSid", sid);
	cJSON_AddStringToObject(o, "started", h->element[0]->str);
	if (h->element[1]->type == REDIS_REPLY_STRING)
		(void)cp_strtonum(h->element[1]->str, 0, 1000000, &n);
	cJSON_AddNumberToObject(o, "streams", (double)n);
	params = h->element[2]->type == REDIS_REPLY_STRING
	    ? cJSON_Parse(h->element[2]->str)
	    : NULL;
	if (!cJSON_IsObject(params)) {
		cJSON_Delete(params);
		params = cJSON_CreateObject();
	}
	cJSON_AddItemToObject(o, "params", params);
	if (ended && h->element[3]->type == REDIS_REPLY_STRING)
		cJSON_AddStringToObject(o, "ended", h->element[3]->str);
	return o;
}

static int
bystart(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a,
		    *y = *(const cJSON *const *)b;
	int c = strcmp(cJSON_GetObjectItem(x, "started")->valuestring,
	    cJSON_GetObjectItem(y, "started")->valuestring);

	return c ? c
		 : strcmp(cJSON_GetObjectItem(x, "callSid")->valuestring,
		       cJSON_GetObjectItem(y, "callSid")->valuestring);
}

/* The calls in a sorted set, each with its hash (pipelined). */
static cJSON *
calls(struct fol *f, const char *zcmd, int ended)
{
	redisReply *z = cmd(f, zcmd), *h;
	cJSON *a = cJSON_CreateArray(), **v;
	size_t i, n = 0;

	if (z == NULL || z->type != REDIS_REPLY_ARRAY)
		cp_die(CP_EXIT_TEMP, "unable to list calls from %s: %s",
		    f->url.shown, z ? z->str : f->c->errstr);
	v = calloc(z->elements + 1, sizeof *v);
	if (v == NULL || a == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	for (i = 0; i < z->elements; i++)
		redisAppendCommand(f->c,
		    "HMGET %s%s started streams params ended", CR_INFO,
		    z->element[i]->str);
	for (i = 0; i < z->elements; i++) {
		if (redisGetReply(f->c, (void **)&h) != REDIS_OK)
			cp_die(CP_EXIT_TEMP, "unable to list calls from %s: %s",
			    f->url.shown, f->c->errstr);
		if ((v[n] = entry(h, z->element[i]->str, ended)) != NULL)
			n++;
		freeReplyObject(h);
	}
	if (!ended)
		qsort(v, n, sizeof *v, bystart);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, v[i]);
	free(v);
	freeReplyObject(z);
	return a;
}

static void
list(struct fol *f, int jflag)
{
	cJSON *o, *live, *e;
	char *s, zl[64], ze[64];
	int i, n;

	reconnect(f);
	(void)cr_sweep(f->c, f->retain);
	snprintf(zl, sizeof zl, "ZRANGE %s 0 %d", CR_LIVE, LISTMAX - 1);
	snprintf(ze, sizeof ze, "ZREVRANGE %s 0 %d", CR_ENDED, ENDEDMAX - 1);
	live = calls(f, zl, 0);
	if (!jflag) {
		n = cJSON_GetArraySize(live);
		for (i = 0; i < n; i++) {
			cJSON *c = cJSON_GetArrayItem(live, i);
			char line[128];
			int k = snprintf(line, sizeof line, "%s %s\n",
			    cJSON_GetObjectItem(c, "callSid")->valuestring,
			    cJSON_GetObjectItem(c, "started")->valuestring);

			out(line, (size_t)k);
		}
		cJSON_Delete(live);
		return;
	}
	e = calls(f, ze, 1);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "calls");
	cJSON_AddItemToObject(o, "calls", live);
	cJSON_AddItemToObject(o, "ended", e);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	out(s, strlen(s));
	out("\n", 1);
	cJSON_free(s);
	cJSON_Delete(o);
}

/* With Redis away, this host's own calls, as subscribe(1) lists them. */
static void
locallist(void)
{
	char *argv[] = { "subscribe", "-j", NULL };
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		cp_diesys(CP_EXIT_NOTFOUND, "unable to run %s", argv[0]);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		end("server-stopping", "unable to list calls", CP_EXIT_TEMP);
}

/* -i: the calls of every host, or this host's own while Redis is away. */
static void
ilist(struct fol *f)
{
	char err[300];
	int refused;
	redisContext *c = cr_open(&f->url, CONNECT_MS, err, sizeof err,
	    &refused);

	if (c == NULL) {
		cp_warn("%s: listing this host's calls only", err);
		locallist();
		return;
	}
	redisFree(c);
	f->listing = 1;
	list(f, 1);
	f->listing = 0;
}

/* -i without a CallSid: the first line of stdin names the call, within
 * timeout_s. */
static const char *
readsid(long long timeout_s)
{
	static struct sidline sl;
	char *p;
	int r;

	sl_init(&sl, SIDLINE_MAX, cp_now_ms() + timeout_s * 1000);
	do {
		if (stopping)
			end("server-stopping", NULL, CP_EXIT_TEMP);
	} while ((r = sl_read(&sl, -1, &p)) == SL_SIGNAL);
	if (r == SL_TIMEOUT)
		end("timeout", "no CallSid within the handshake time",
		    CP_EXIT_NEG);
	if (r == SL_GONE)
		exit(CP_EXIT_OK); /* the client went away */
	if (r == SL_LONG)
		end("bad-request",
		    "malformed CallSid: expected CA and 32 hex digits",
		    CP_EXIT_PERM);
	return p;
}

static void
onsig(int sig)
{
	(void)sig;
	stopping = 1;
}

/* SIGINT, SIGTERM, SIGHUP end a follower with server-stopping (no SA_RESTART:
 * a blocked read gives way). */
static void
setsignals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsig;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		(void)sigaction(sigs[i], &sa, NULL);
	cp_sigunblock(sigs, (int)(sizeof sigs / sizeof sigs[0]));
}

/* -i: a subscriber slot, the list, the CallSid line; then the call. */
static void
serve(struct fol *f, const char *sid, int hflag, long long wait,
    long long maxsubs, long long handshake)
{
	struct cd_err e;

	if (maxsubs > 0 && cd_slot((unsigned)maxsubs, &e) < 0) {
		if (e.code == CP_EXIT_NEG)
			end("busy", "too many subscribers: try again later",
			    CP_EXIT_NEG);
		cp_warn("%s", e.msg);
		end("server-stopping", "unable to take a subscriber slot",
		    e.code);
	}
	ilist(f);
	f->sid = sid != NULL ? sid : readsid(handshake);
	attach(f, hflag, wait);
}

/* The Redis server and the retention, from the environment. */
static void
configure(struct fol *f)
{
	char err[300];

	if (cr_parse(getenv("CALLPIPE_REDIS_URL"), &f->url, err, sizeof err) < 0)
		cp_die(CP_EXIT_PERM, "%s", err);
	if ((f->retain = cr_retain()) < 0)
		cp_die(CP_EXIT_PERM,
		    "CALLPIPE_RETAIN_DAYS must be a number of days, 1 to "
		    "36500");
}

int
main(int argc, char **argv)
{
	static struct fol f;
	int c, hflag = 0, jflag = 0;
	long long wait = 0, maxsubs = 0, handshake = 10;

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	opterr = 0;
	while ((c = getopt(argc, argv, ":Hijm:t:w:")) != -1) {
		switch (c) {
		case 'H': hflag = 1; break;
		case 'i': f.watchin = 1; break;
		case 'j': jflag = 1; break;
		case 'm':
			maxsubs = cp_optnum(optarg, 1, 100000, "-m maxsubs");
			break;
		case 't':
			handshake = cp_optnum(optarg, 1, 86400, "-t seconds");
			break;
		case 'w': wait = cp_optnum(optarg, 0, 600, "-w seconds"); break;
		default: cp_opterr(c, argv, usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 ||
	    (argc == 0 && !f.watchin && (hflag || wait || maxsubs)))
		cp_usage(usage);
	configure(&f);
	cp_ignore_sigpipe();
	if (f.watchin || argc == 1)
		setsignals();
	if (f.watchin) {
		serve(&f, argc ? argv[0] : NULL, hflag, wait, maxsubs,
		    handshake);
		return CP_EXIT_OK;
	}
	if (argc == 0) {
		f.listing = 1;
		list(&f, jflag);
		return CP_EXIT_OK;
	}
	f.sid = argv[0];
	attach(&f, hflag, wait);
	return CP_EXIT_OK;
}
