/* subscribe: list live calls, or attach to one through a FIFO of our own in its folder
 * and print its messages, one a line, until the call ends or our reader goes away. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "calldir.h"
#include "cp.h"
#include "remote.h"

static const char usage[] =
    "subscribe [-Hjn] [--url url [--token token]] [callsid]";

#define LINEMAX (8 << 20) /* fanout's longest possible line (its -l maximum) */
#define LIVECHECK_MS 250  /* until fanout has opened our FIFO, is the call still live? */
#define DROPWAIT_MS 100   /* at EOF, time for a dying fanout's lock to go */

static int jflag, sigfd = -1, subsfd = -1, calldirfd = -1;
static char fifoname[64];

static void
cleanup(void)
{
	if (subsfd >= 0 && fifoname[0] != '\0') {
		(void)unlinkat(subsfd, fifoname, 0);
		fifoname[0] = '\0';
	}
}

/* Stdout is gone or broken: leave quietly (exit 0) or loudly. */
static void
outerr(void)
{
	if (errno == EPIPE)
		exit(CP_EXIT_OK);
	cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
}

/* A signal arrived: leave (atexit removes the FIFO). */
static void
checksig(void)
{
	int sig = cp_sigread(sigfd);

	if (sig)
		exit(CP_EXIT_OK);
}

/* Write all of p; a blocked write gives way to a signal (SA_RESTART is off). */
static void
out(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(1, p, n);
		if (w < 0) {
			if (errno == EINTR) {
				checksig();
				continue;
			}
			if (errno == EAGAIN) {
				struct pollfd pfd[2] = { { 1, POLLOUT, 0 }, { sigfd, POLLIN, 0 } };

				(void)poll(pfd, 2, -1);
				checksig();
				continue;
			}
			outerr();
		}
		p += w;
		n -= (size_t)w;
		if (n > 0)
			checksig(); /* a short write: maybe a signal cut it short */
	}
}

/* A refusal the /client endpoint forwards: with -j a JSON error line on stdout, then a
 * warning (exit 1: unknown, ended, malformed) or a fatal message (100, 111). */
static void __attribute__((noreturn))
refuse(int code, const char *why, const char *detail)
{
	if (jflag) {
		cJSON *o = cJSON_CreateObject();
		char *s = NULL;

		if (o != NULL && cJSON_AddStringToObject(o, "type", "error") != NULL &&
		    cJSON_AddStringToObject(o, "error", why) != NULL)
			s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (s != NULL) {
			if ((cp_writeall(1, s, strlen(s)) < 0 || cp_writeall(1, "\n", 1) < 0) && errno != EPIPE)
				cp_warnsys("unable to write to stdout");
			cJSON_free(s);
		}
	}
	if (code != CP_EXIT_NEG)
		cp_die(code, "%s%s%s", why, detail ? ": " : "", detail ? detail : "");
	cp_warn("%s%s%s", why, detail ? ": " : "", detail ? detail : "");
	exit(code);
}

static void
list(void)
{
	struct cd_call *v;
	struct cd_err e;
	size_t n, i;
	int fd;
	char line[128];

	fd = cd_open_calls(0, &e);
	if (fd < 0) {
		if (e.code != CP_EXIT_NEG)
			refuse(e.code, "unable to list calls", e.msg);
		n = 0;
		v = NULL;
	} else if (cd_list(fd, &v, &n) < 0) {
		refuse(CP_EXIT_TEMP, "unable to list calls", strerror(errno));
	}
	if (jflag && cp_writeall(1, "{\"type\":\"calls\",\"calls\":[", 25) < 0)
		outerr();
	for (i = 0; i < n; i++) {
		int k;

		if (jflag)
			k = snprintf(line, sizeof line, "%s{\"callSid\":\"%s\",\"started\":\"%s\"}",
			    i ? "," : "", v[i].sid, v[i].started);
		else
			k = snprintf(line, sizeof line, "%s %s\n", v[i].sid, v[i].started);
		if (cp_writeall(1, line, (size_t)k) < 0)
			outerr();
	}
	if (jflag && cp_writeall(1, "]}\n", 3) < 0)
		outerr();
	free(v);
	if (fd >= 0)
		close(fd);
}

/* The history: log.jsonl up to byte offset end, whole lines only. */
static void
replay(uint64_t end, int all)
{
	char *buf;
	size_t have = 0, cap = LINEMAX + 1 + 65536;
	uint64_t off = 0;
	int fd, skipping = 0;

	fd = openat(calldirfd, CD_LOG, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && (end == 0 || all))
			return;
		cp_diesys(CP_EXIT_TEMP, "unable to open the transcript log");
	}
	buf = malloc(cap);
	if (buf == NULL)
		cp_die(CP_EXIT_TEMP, "unable to replay the transcript log: out of memory");
	while (all || off < end) {
		size_t want = cap - have;
		ssize_t r;
		char *p, *nl;

		if (!all && want > end - off)
			want = (size_t)(end - off);
		do
			r = pread(fd, buf + have, want, (off_t)off);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			cp_diesys(CP_EXIT_TEMP, "unable to read the transcript log");
		if (r == 0) {
			if (!all)
				cp_warn("transcript log ends at %llu bytes, before %llu",
				    (unsigned long long)off, (unsigned long long)end);
			break;
		}
		off += (uint64_t)r;
		have += (size_t)r;
		p = buf;
		while ((nl = memchr(p, '\n', have - (size_t)(p - buf))) != NULL) {
			if (!skipping)
				out(p, (size_t)(nl - p) + 1);
			skipping = 0;
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (have > LINEMAX) {
			if (!skipping)
				cp_warn("skipping a logged line longer than %d bytes", LINEMAX);
			skipping = 1;
			have = 0;
		}
		checksig();
	}
	/* fanout writes whole lines: a tail without newline is a torn line, left out */
	free(buf);
	close(fd);
}

/* The first line on a FIFO named subscribe.*: the log offset where our live lines start. */
static int
header(const char *line, size_t len, uint64_t *off)
{
	size_t pre = strlen(CD_HDR_PRE), post = strlen(CD_HDR_POST);
	char digits[32];

	if (len <= pre + post || len - pre - post >= sizeof digits)
		return -1;
	if (memcmp(line, CD_HDR_PRE, pre) != 0 || memcmp(line + len - post, CD_HDR_POST, post) != 0)
		return -1;
	memcpy(digits, line + pre, len - pre - post);
	digits[len - pre - post] = '\0';
	return cp_digits(digits, UINT64_MAX, off);
}

static int
ended(void)
{
	int64_t until = cp_now_ms() + DROPWAIT_MS;

	for (;;) {
		if (cd_ended(calldirfd) || cd_live(calldirfd) == 0)
			return 1;
		if (cp_now_ms() >= until)
			return 0;
		poll(NULL, 0, 10);
	}
}

static void
attach(const char *sid, int hflag, int nflag)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct cd_err e;
	struct linebuf lb;
	struct stat st;
	int callsfd, fifo = -1, i, gothdr = 0, watchin = !nflag;
	int64_t nextcheck;

	if (!cp_valid_sid(sid, "CA"))
		refuse(CP_EXIT_NEG, "invalid CallSid", "want CA and 32 hex digits");
	callsfd = cd_open_calls(0, &e);
	if (callsfd < 0) {
		if (e.code == CP_EXIT_NEG)
			refuse(CP_EXIT_NEG, "unknown CallSid", sid);
		refuse(e.code, "unable to open the call folder", e.msg);
	}
	calldirfd = cd_open_call(callsfd, sid, 0, &e);
	close(callsfd);
	if (calldirfd < 0) {
		if (e.code == CP_EXIT_NEG)
			refuse(CP_EXIT_NEG, "unknown CallSid", sid);
		refuse(e.code, "unable to open the call folder", e.msg);
	}
	switch (cd_live(calldirfd)) {
	case 0: refuse(CP_EXIT_NEG, "call has ended", sid);
	case 1: break;
	default: refuse(CP_EXIT_TEMP, "unable to check the call", strerror(errno));
	}
	subsfd = cd_open_dir(calldirfd, CD_SUBS, 0, &e);
	if (subsfd < 0)
		refuse(e.code == CP_EXIT_NEG ? CP_EXIT_TEMP : e.code, "unable to open the call folder", e.msg);

	cp_ignore_sigpipe();
	sigfd = cp_sigfd(sigs, 3);
	if (sigfd < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	for (i = 0; i < 3; i++) {
		/* let a write blocked on a stalled stdout give way to a signal */
		struct sigaction sa;

		if (sigaction(sigs[i], NULL, &sa) == 0) {
			sa.sa_flags &= ~SA_RESTART;
			(void)sigaction(sigs[i], &sa, NULL);
		}
	}
	if (atexit(cleanup) != 0)
		cp_die(CP_EXIT_TEMP, "unable to register cleanup");
	for (i = 0; ; i++) {
		uint32_t rnd;

		if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
			rnd = (uint32_t)cp_now_us() ^ ((uint32_t)getpid() << 16);
		snprintf(fifoname, sizeof fifoname, "%s%ld.%08x", CD_SUBPREFIX, (long)getpid(), rnd);
		if (mkfifoat(subsfd, fifoname, 0600) == 0)
			break;
		if (errno != EEXIST || i >= 8) {
			fifoname[0] = '\0';
			cp_diesys(CP_EXIT_TEMP, "unable to make a FIFO in %s/%s", sid, CD_SUBS);
		}
	}
	fifo = openat(subsfd, fifoname, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fifo < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to open FIFO %s/%s/%s", sid, CD_SUBS, fifoname);
	if (fstat(fifo, &st) < 0 || !S_ISFIFO(st.st_mode))
		cp_die(CP_EXIT_TEMP, "unable to use FIFO %s/%s/%s: not a FIFO", sid, CD_SUBS, fifoname);
	if (lb_init(&lb, fifo, LINEMAX) < 0)
		cp_die(CP_EXIT_TEMP, "unable to allocate the line buffer: out of memory");

	nextcheck = cp_now_ms() + LIVECHECK_MS;
	for (;;) {
		struct pollfd pfd[4];
		int n = 0, iin = -1, timeout = -1, r;

		pfd[n].fd = sigfd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = fifo;
		pfd[n++].events = POLLIN;
		pfd[n].fd = 1;
		pfd[n++].events = 0; /* POLLERR/POLLHUP: our reader is gone */
		if (watchin) {
			iin = n;
			pfd[n].fd = 0;
			pfd[n++].events = POLLIN;
		}
		if (!gothdr) {
			int64_t now = cp_now_ms();

			timeout = nextcheck > now ? (int)(nextcheck - now) : 0;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		}
		if (pfd[0].revents & POLLIN)
			checksig();
		if (pfd[2].revents & (POLLERR | POLLHUP | POLLNVAL))
			exit(CP_EXIT_OK); /* stdout went away */
		if (iin >= 0 && (pfd[iin].revents & (POLLIN | POLLHUP | POLLERR))) {
			char junk[4096];
			ssize_t k = read(0, junk, sizeof junk);

			if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
				exit(CP_EXIT_OK); /* websocketd: the client is gone */
		}
		if (!gothdr && cp_now_ms() >= nextcheck) {
			if (cd_live(calldirfd) == 0) {
				/* the call ended before fanout opened our FIFO: all of it is in the log */
				if (hflag)
					replay(0, 1);
				exit(CP_EXIT_OK);
			}
			nextcheck = cp_now_ms() + LIVECHECK_MS;
		}
		if (!(pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = lb_fill(&lb);
		if (r == LR_ERR)
			cp_diesys(CP_EXIT_TEMP, "unable to read FIFO %s", fifoname);
		if (r == 0 && lb.end > lb.start && lb.buf[lb.end - 1] != '\n') {
			/* fanout cut us off inside a line: a line arrives whole or not at all */
			char *nl = memrchr(lb.buf + lb.start, '\n', lb.end - lb.start);
			size_t keep = nl ? (size_t)(nl - lb.buf) + 1 : lb.start;

			if (!lb.discarding)
				cp_warn("leaving out a torn last line of %zu bytes", lb.end - keep);
			lb.end = keep;
		}
		for (;;) {
			char *line;
			size_t len;

			r = lb_next(&lb, &line, &len);
			if (r == LR_TOOLONG) {
				cp_warn("skipping a line longer than %d bytes", LINEMAX);
				continue;
			}
			if (r != LR_LINE)
				break;
			if (!gothdr) {
				uint64_t off;

				if (header(line, len, &off) < 0)
					cp_die(CP_EXIT_TEMP, "unexpected first line on FIFO %s: not from fanout", fifoname);
				gothdr = 1;
				if (hflag)
					replay(off, 0);
				continue;
			}
			line[len] = '\n';
			out(line, len + 1);
		}
		if (r == LR_EOF) {
			if (ended())
				exit(CP_EXIT_OK);
			cp_warn("dropped by fanout (fell behind, or too many subscribers)");
			exit(CP_EXIT_NEG);
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "history", no_argument, NULL, 'H' },
		{ "url", required_argument, NULL, 'U' },
		{ "token", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	struct remote_opts ro = { .wait = -1 };
	int c, hflag = 0, nflag = 0;

	cp_setprog(argv[0]);
	while ((c = getopt_long(argc, argv, "Hjn", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': hflag = 1; break;
		case 'j': jflag = 1; break;
		case 'n': nflag = 1; break;
		case 'U': ro.url = optarg; break;
		case 'T': ro.token = optarg; break;
		default: cp_usage(usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || (argc == 0 && (hflag || nflag)) || (ro.token && !ro.url))
		cp_usage(usage);
	if (ro.url != NULL) { /* the remote form: /client of a server (remote.h) */
		ro.sid = argc ? argv[0] : NULL;
		ro.history = hflag;
		ro.json = jflag;
		return remote_run(&ro);
	}
	if (argc == 0)
		list();
	else
		attach(argv[0], hflag, nflag);
	return CP_EXIT_OK;
}
