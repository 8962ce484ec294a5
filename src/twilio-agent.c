/* twilio-agent: runs a voice bot on a bidirectional Media Stream. The bot's
 * stdin gets every Deepgram message read on stdin, Twilio's mark/dtmf/stop
 * events (from twilio-mix -E) and barge-in notices; what the bot writes (Twilio
 * media, mark and clear messages, e.g. from twilio-say) goes to stdout, that is
 * to Twilio. When the caller starts speaking over the bot's audio, a clear goes
 * to Twilio at once. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "barge.h"
#include "cp.h"
#include "cpspawn.h"
#include "linebuf.h"
#include "opt.h"

extern char **environ;

static const char usage[] =
    "twilio-agent [-b max-buffer] [-c channel] [-e fd] [-k pid] [-w seconds] "
    "command [arg ...]";

#define DG_LINE_MAX (1 << 20)  /* a Deepgram message, as deepgram-stream */
#define BOT_LINE_MAX 65536     /* a Twilio message from the bot */
#define EV_LINE_MAX 4096       /* an event line from twilio-mix (<= PIPE_BUF) */
#define NAME_MAX_LEN 64
#define WARN_EACH 10

enum { IN_DG, IN_EV, IN_BOT, IN_N };

struct agent {
	/* configuration */
	char **cmd;
	long long maxbuf, chan, grace_s, killpid;
	const char *sid;
	/* fds and the bot */
	int sigfd, botin, evfd;
	pid_t bot;
	int botst, botdone;
	struct linebuf in[IN_N];
	int eof[IN_N];
	char *q;                     /* lines for the bot: q[qoff..qlen) */
	size_t qoff, qlen;
	int outdead;
	int64_t deadline;            /* ms: when to stop the bot (0: never) */
	int termsent;
	struct barge b;              /* the bot's audio at Twilio */
	/* counters */
	uint64_t nbarge, nbad, ndrop, nmuted, nsent;
};

static void
bad(struct agent *a, const char *fmt, const char *detail)
{
	if (a->nbad++ < WARN_EACH)
		cp_warn(fmt, detail);
}

/* ---- the bot's stdin: a bounded queue; a line that does not fit is dropped */

static void
tobot(struct agent *a, const char *s, size_t n)
{
	if (a->botin < 0)
		return;
	if (n + 1 > (size_t)a->maxbuf - a->qlen && a->qoff > 0) {
		memmove(a->q, a->q + a->qoff, a->qlen - a->qoff);
		a->qlen -= a->qoff;
		a->qoff = 0;
	}
	if (n + 1 > (size_t)a->maxbuf - a->qlen) {
		if (a->ndrop++ < WARN_EACH)
			cp_warn("the bot is %zu bytes behind: a line for it "
			    "dropped", a->qlen - a->qoff);
		return;
	}
	memcpy(a->q + a->qlen, s, n);
	a->q[a->qlen + n] = '\n';
	a->qlen += n + 1;
}

static void
flush_bot(struct agent *a)
{
	ssize_t w;

	while (a->botin >= 0 && a->qoff < a->qlen) {
		w = write(a->botin, a->q + a->qoff, a->qlen - a->qoff);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w < 0) {
			cp_warn("the bot closed its input: no more lines");
			(void)close(a->botin);
			a->botin = -1;
			a->qoff = a->qlen = 0;
			return;
		}
		a->qoff += (size_t)w;
	}
	if (a->qoff == a->qlen)
		a->qoff = a->qlen = 0;
}

/* ---- to Twilio, and barge-in (rules in barge.c) ---- */

static void
totwilio(struct agent *a, const char *s, size_t n)
{
	if (a->outdead)
		return;
	if (cp_writeall(1, s, n) < 0 || cp_writeall(1, "\n", 1) < 0) {
		cp_warnsys("unable to write to stdout: the stream is gone");
		a->outdead = 1;
		return;
	}
	a->nsent++;
}

static void
bargein(struct agent *a, const char *trigger)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof line,
	    "{\"event\":\"clear\",\"streamSid\":\"%s\"}", a->sid);
	totwilio(a, line, (size_t)n);
	a->nbarge++;
	n = snprintf(line, sizeof line,
	    "{\"type\":\"callpipe.bargein\",\"trigger\":\"%s\","
	    "\"mark\":\"%s\"}", trigger, a->b.lastmark);
	tobot(a, line, (size_t)n);
	cp_info("barge-in (%s): clear sent, the bot told", trigger);
}

/* A Deepgram message: a clear first if the caller speaks over the bot. */
static void
dg_line(struct agent *a, const char *s, size_t n)
{
	const char *why = barge_dg(&a->b, s, n);

	if (why != NULL)
		bargein(a, why);
	tobot(a, s, n);
}

/* A Twilio event: a mark echo says the bot's audio played, or was cleared. */
static void
ev_line(struct agent *a, const char *s, size_t n)
{
	barge_event(&a->b, s, n);
	tobot(a, s, n);
}

/* The bot's output: Twilio messages for this stream only. */
static void
bot_line(struct agent *a, const char *s, size_t n)
{
	const char *why = NULL;

	switch (barge_bot(&a->b, s, n, a->sid, &why)) {
	case BARGE_SEND:
		totwilio(a, s, n);
		break;
	case BARGE_MUTED:
		a->nmuted++;
		break;
	default:
		bad(a, "bot line skipped: %s", why);
	}
}

/* ---- the loop ---- */

static void
spawn_bot(struct agent *a)
{
	posix_spawn_file_actions_t fa;
	int i[2], o[2], rc;

	if (pipe(i) < 0 || pipe(o) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to create pipes");
	(void)cp_setcloexec(i[0]);
	(void)cp_setcloexec(i[1]);
	(void)cp_setcloexec(o[0]);
	(void)cp_setcloexec(o[1]);
	if (posix_spawn_file_actions_init(&fa) != 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up posix_spawn");
	(void)posix_spawn_file_actions_adddup2(&fa, i[0], 0);
	(void)posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	rc = cp_spawn(&a->bot, a->cmd, &fa, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		cp_diesys(rc == ENOENT ? CP_EXIT_NOTFOUND : CP_EXIT_NOEXEC,
		    "unable to run %.200s", a->cmd[0]);
	}
	(void)close(i[0]);
	(void)close(o[1]);
	a->botin = i[1];
	if (cp_setnonblock(a->botin, 1) < 0 ||
	    lb_init(&a->in[IN_BOT], o[0], BOT_LINE_MAX) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up the bot's pipes");
}

static void
lines(struct agent *a, int k)
{
	static const char *const what[IN_N] = {
		"Deepgram message", "event", "bot"
	};
	char *s;
	size_t n;
	int r;

	while ((r = lb_next(&a->in[k], &s, &n)) != LR_AGAIN && r != LR_EOF) {
		if (r == LR_TOOLONG) {
			bad(a, "%s line too long: skipped", what[k]);
			continue;
		}
		if (n == 0)
			continue;
		if (k == IN_DG)
			dg_line(a, s, n);
		else if (k == IN_EV)
			ev_line(a, s, n);
		else
			bot_line(a, s, n);
	}
	if (r == LR_EOF)
		a->eof[k] = 1;
}

static void
readable(struct agent *a, int k)
{
	int r = lb_fill(&a->in[k]);

	if (r == LR_ERR) {
		cp_warnsys("unable to read %s",
		    k == IN_BOT ? "the bot's output" : "input");
		a->in[k].eof = 1;
	}
	lines(a, k);
}

static void
signals(struct agent *a)
{
	int sg, st;

	while ((sg = cp_sigread(a->sigfd)) != 0) {
		if (sg != SIGCHLD) {
			cp_info("signal %d: stopping the bot", sg);
			if (a->deadline == 0 || a->deadline > cp_now_ms())
				a->deadline = cp_now_ms();
			continue;
		}
		if (!a->botdone && waitpid(a->bot, &st, WNOHANG) == a->bot) {
			a->botdone = 1;
			a->botst = st;
		}
	}
}

/* The bot gets `grace` seconds after the end of the call's input, then SIGTERM,
 * then, 2 s later, SIGKILL: the call's processes must all end on their own. */
static void
timers(struct agent *a)
{
	int64_t now = cp_now_ms();

	if (a->eof[IN_DG] && a->qlen == 0 && a->botin >= 0) {
		(void)close(a->botin);
		a->botin = -1;
		if (a->deadline == 0)
			a->deadline = now + a->grace_s * 1000;
	}
	if (a->botdone || a->deadline == 0 || now < a->deadline)
		return;
	if (!a->termsent) {
		(void)kill(a->bot, SIGTERM);
		a->termsent = 1;
		a->deadline = now + 2000;
	} else
		(void)kill(a->bot, SIGKILL);
}

static void
watch(struct pollfd *pf, int *idx, int *np, int fd, short ev, int id)
{
	pf[*np].fd = fd;
	pf[*np].events = ev;
	idx[(*np)++] = id;
}

static void
loop(struct agent *a)
{
	struct pollfd pf[5];
	int idx[5], np, i, tmo;

	while (!(a->botdone && a->eof[IN_BOT])) {
		flush_bot(a);
		timers(a);
		np = 0;
		watch(pf, idx, &np, a->sigfd, POLLIN, -1);
		for (i = 0; i < IN_N; i++)
			if (!a->eof[i] && a->in[i].fd >= 0)
				watch(pf, idx, &np, a->in[i].fd, POLLIN, i);
		if (a->botin >= 0 && a->qlen > 0)
			watch(pf, idx, &np, a->botin, POLLOUT, -2);
		tmo = a->deadline ? (int)(a->deadline - cp_now_ms()) : -1;
		if (a->deadline && tmo < 0)
			tmo = 0;
		if (poll(pf, (nfds_t)np, tmo) < 0 && errno != EINTR)
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		for (i = 0; i < np; i++) {
			if (pf[i].revents == 0)
				continue;
			if (idx[i] == -1)
				signals(a);
			else if (idx[i] >= 0)
				readable(a, idx[i]);
		}
	}
}

/* -k: end the stream when the bot ends, by stopping the handler that serves it;
 * only an ancestor of ours: a stale or wrong number cannot hit a stranger. */
static int
ancestor(pid_t pid)
{
	pid_t p = getppid();
	int depth;

	for (depth = 0; depth < 16 && p > 1; depth++) {
		char path[64], buf[512], *rp;
		FILE *f;
		int ppid;

		if (p == pid)
			return 1;
		snprintf(path, sizeof path, "/proc/%ld/stat", (long)p);
		if ((f = fopen(path, "r")) == NULL)
			return 0;
		rp = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
		(void)fclose(f);
		if (rp == NULL || sscanf(rp, ") %*c %d", &ppid) != 1)
			return 0;
		p = ppid;
	}
	return 0;
}

static int
finish(struct agent *a)
{
	int code = CP_EXIT_OK;

	if (WIFEXITED(a->botst))
		code = WEXITSTATUS(a->botst);
	else
		code = CP_EXIT_TEMP;
	cp_info("the bot %s %d; %llu messages to Twilio, %llu barge-ins, "
	    "%llu bot media muted, %llu bot lines skipped, "
	    "%llu lines for the bot dropped",
	    WIFEXITED(a->botst) ? "exited with status" : "was killed by signal",
	    WIFEXITED(a->botst) ? WEXITSTATUS(a->botst) : WTERMSIG(a->botst),
	    (unsigned long long)a->nsent, (unsigned long long)a->nbarge,
	    (unsigned long long)a->nmuted, (unsigned long long)a->nbad,
	    (unsigned long long)a->ndrop);
	if (a->killpid > 0 && !a->eof[IN_DG]) {
		pid_t h = (pid_t)a->killpid;

		if (ancestor(h) && kill(h, SIGTERM) == 0)
			cp_info("the bot is done: ending the stream "
			    "(SIGTERM to %ld)", (long)h);
		else
			cp_warn("-k %ld: not an ancestor of this process: "
			    "left alone", (long)h);
	}
	return code;
}

static void
options(int argc, char **argv, struct agent *a)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, "+:b:c:e:k:w:")) != -1) {
		switch (c) {
		case 'b':
			a->maxbuf = cp_optnum(optarg, 65536, 1 << 30,
			    "-b max-buffer");
			break;
		case 'c':
			a->chan = cp_optnum(optarg, 0, 31, "-c channel");
			break;
		case 'e':
			a->evfd = (int)cp_optnum(optarg, 3, 255, "-e fd");
			break;
		case 'k':
			a->killpid = cp_optnum(optarg, 2, 0x7fffffff,
			    "-k pid");
			break;
		case 'w':
			a->grace_s = cp_optnum(optarg, 0, 3600, "-w seconds");
			break;
		default:
			cp_opterr(c, argv, usage);
		}
	}
	if (optind >= argc)
		cp_usage(usage);
	a->cmd = argv + optind;
}

static void
configure(struct agent *a)
{
	static const int sigl[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	const char *e = getenv("TWILIO_EVENTS_FD");
	long long fd;

	barge_init(&a->b, (long)a->chan);
	a->sid = getenv("TWILIO_STREAM_SID");
	if (a->sid == NULL || *a->sid == '\0' ||
	    strlen(a->sid) > NAME_MAX_LEN || strpbrk(a->sid, "\"\\") != NULL)
		cp_die(CP_EXIT_PERM,
		    "need TWILIO_STREAM_SID: unset, empty or not a SID");
	if (a->evfd < 0 && e != NULL && cp_strtonum(e, 3, 255, &fd) == 0)
		a->evfd = (int)fd;
	if (a->evfd >= 0 && cp_setcloexec(a->evfd) < 0)
		cp_die(CP_EXIT_PERM, "events fd %d is not open", a->evfd);
	(void)unsetenv("TWILIO_EVENTS_FD");
	cp_ignore_sigpipe();
	if ((a->sigfd = cp_sigfd(sigl, 4)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	if ((a->q = malloc((size_t)a->maxbuf)) == NULL ||
	    lb_init(&a->in[IN_DG], 0, DG_LINE_MAX) < 0 ||
	    lb_init(&a->in[IN_EV], a->evfd, EV_LINE_MAX) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to allocate buffers");
	if (a->evfd < 0)
		a->eof[IN_EV] = 1;
}

int
main(int argc, char **argv)
{
	struct agent a = {
		.maxbuf = 4 << 20, .grace_s = 5, .evfd = -1, .botin = -1
	};
	int code;

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	options(argc, argv, &a);
	configure(&a);
	spawn_bot(&a);
	loop(&a);
	code = finish(&a);
	lb_free(&a.in[IN_DG]);
	lb_free(&a.in[IN_EV]);
	lb_free(&a.in[IN_BOT]);
	free(a.q);
	return code;
}
