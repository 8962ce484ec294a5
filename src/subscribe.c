/* subscribe: list calls, or follow one: a FIFO of our own in each of its streams'
 * folders, every message printed as a line as it arrives, and one end line last. */
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
#include <unistd.h>

#include "calldir.h"
#include "cp.h"
#include "dirstamp.h"
#include "linebuf.h"
#include "opt.h"
#include "remote.h"
#include "sidline.h"

static const char usage[] = "subscribe [-Hijn] [-m maxsubs] [-t seconds] [-w seconds] [callsid]\n"
    "       subscribe --url url [--token token] [--cafile file] [-Hj] [-w seconds]\n"
    "                 [callsid]";

#define LINEMAX (8 << 20) /* fanout's longest possible line (its -l maximum) */
#define SCAN_MS 100       /* look for new streams and for the call's end */
#define WAIT_MS 50        /* look for a call that is not there yet */
#define DROPWAIT_MS 100   /* at EOF, time for a dying fanout's lock to go */
#define LINE_MAX_ID 100   /* longest CallSid line read from a /client */

enum { ST_IDLE, ST_ATTACHED };

struct stream {              /* one stream of the call we follow */
	char name[CD_NAMELEN];
	int state;
	int sfd, subsfd, fifo;   /* folder, its subscribers/, our FIFO (-1: none) */
	char fifoname[64];
	struct linebuf lb;
	int gothdr;
	int history;             /* all its log is ours (else from where it stood when we came) */
	uint64_t off;            /* log offset delivered up to */
	int done;                /* ended, and its log delivered to the end */
};

static struct {
	char sid[CD_SIDLEN + 1];
	int jflag, iflag, hflag;
	int sigfd, calldirfd;
	struct stream st[CD_MAXSTREAMS];
	size_t nst;
	int scanned;             /* streams found after the first scan are new: all ours */
	int fromstart;           /* we waited for the call: all of it is ours */
	int streamsfd;           /* the call's streams/, for its stamp (-1: not yet) */
	struct dirstamp streams; /* streams/ when last scanned */
} S = { .sigfd = -1, .calldirfd = -1, .streamsfd = -1 };

static void
cleanup(void)
{
	size_t i;

	for (i = 0; i < S.nst; i++)
		if (S.st[i].fifoname[0] != '\0') {
			(void)unlinkat(S.st[i].subsfd, S.st[i].fifoname, 0);
			S.st[i].fifoname[0] = '\0';
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

static void end(const char *reason, const char *error, int code) __attribute__((noreturn));

static void
checksig(void)
{
	if (S.sigfd >= 0 && cp_sigread(S.sigfd))
		end("server-stopping", NULL, CP_EXIT_OK);
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
				struct pollfd pfd[2] = { { 1, POLLOUT, 0 }, { S.sigfd, POLLIN, 0 } };

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

static void
outs(const char *s)
{
	out(s, strlen(s));
}

/* The last line, always: {"type":"callpipe.end","reason":R[,"error":E]}; error is one
 * of our fixed texts (no quote or backslash), never an echo of the client. */
static void
end(const char *reason, const char *error, int code)
{
	char line[400];
	int fl;

	S.sigfd = -1; /* a signal now must not recurse */
	snprintf(line, sizeof line, "{\"type\":\"callpipe.end\",\"reason\":\"%s\"%s%s%s}\n", reason,
	    error ? ",\"error\":\"" : "", error ? error : "", error ? "\"" : "");
	/* never block here: after a signal, stdout may be a reader that stopped reading */
	fl = fcntl(1, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void)fcntl(1, F_SETFL, fl | O_NONBLOCK);
	if (cp_writeall(1, line, strlen(line)) < 0 && errno != EPIPE && errno != EAGAIN)
		cp_warnsys("unable to write to stdout");
	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void)fcntl(1, F_SETFL, fl);
	if (error != NULL && code != CP_EXIT_OK)
		cp_warn("%s%s%s", error, S.sid[0] ? ": " : "", S.sid);
	exit(code);
}

/* Live calls as "CallSid started streams" lines; with -j (and -i) one JSON message:
 * live calls, then recently ended ones, newest first. */
static void
listcalls(int over)
{
	struct cd_call *v = NULL;
	struct cd_err e;
	char line[CD_SIDLEN + 2 * CD_TIMELEN + 100], params[4096];
	size_t n = 0, i;
	int fd, cfd;

	fd = cd_open_calls(0, &e);
	if (fd < 0 && e.code != CP_EXIT_NEG)
		cp_die(e.code, "unable to list calls: %s", e.msg);
	if (fd >= 0 && cd_list(fd, over, &v, &n) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to list calls");
	for (i = 0; i < n; i++) {
		if (!S.jflag) {
			snprintf(line, sizeof line, "%s %s %u\n", v[i].sid, v[i].started, v[i].nstreams);
			outs(line);
			continue;
		}
		params[0] = '\0';
		if ((cfd = cd_open_dir(fd, v[i].sid, 0, &e)) >= 0) {
			cd_params(cfd, params, sizeof params);
			close(cfd);
		}
		snprintf(line, sizeof line, "%s{\"callSid\":\"%s\",\"started\":\"%s\",\"streams\":%u,",
		    i ? "," : "", v[i].sid, v[i].started, v[i].nstreams);
		outs(line);
		if (over) {
			snprintf(line, sizeof line, "\"ended\":\"%s\",", v[i].ended);
			outs(line);
		}
		outs("\"params\":");
		outs(params[0] ? params : "{}");
		outs("}");
	}
	free(v);
	if (fd >= 0)
		close(fd);
}

static void
list(void)
{
	if (S.jflag)
		outs("{\"type\":\"calls\",\"calls\":[");
	listcalls(0);
	if (S.jflag) {
		outs("],\"ended\":[");
		listcalls(1);
		outs("]}\n");
	}
}

/* The log of stream s from byte s->off, up to end (or all of it), whole lines only;
 * s->off moves past what was printed. resync: off may be inside a line. */
static void
replay(struct stream *s, uint64_t to, int all, int resync)
{
	char *buf;
	size_t have = 0, cap = LINEMAX + 1 + 65536;
	uint64_t off = s->off;
	int fd, skipping = 0;

	if (!all && off >= to)
		return; /* nothing owed (the usual seam): no open, no buffer */
	fd = openat(s->sfd, CD_LOG, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return; /* nothing logged (a full disk, or no line yet) */
	if (resync && off > 0) {
		char c;

		skipping = pread(fd, &c, 1, (off_t)off - 1) == 1 && c != '\n';
	}
	buf = malloc(cap);
	if (buf == NULL)
		end("server-stopping", "unable to replay the transcript log: out of memory", CP_EXIT_TEMP);
	while (all || off < to) {
		size_t want = cap - have;
		ssize_t r;
		char *p, *nl;

		if (!all && want > to - off)
			want = (size_t)(to - off);
		do
			r = pread(fd, buf + have, want, (off_t)off);
		while (r < 0 && errno == EINTR);
		if (r <= 0)
			break; /* a log that stopped growing (full disk, size limit) */
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
	s->off = off - have;
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

static void
detach(struct stream *s)
{
	if (s->fifo >= 0) {
		close(s->fifo);
		lb_free(&s->lb);
	}
	if (s->fifoname[0] != '\0')
		(void)unlinkat(s->subsfd, s->fifoname, 0);
	s->fifo = -1;
	s->fifoname[0] = '\0';
	s->state = ST_IDLE;
}

/* A FIFO of our own in the stream's subscribers/, open for reading. */
static void
attach(struct stream *s)
{
	struct stat st;
	int i;

	for (i = 0; ; i++) {
		uint32_t rnd;

		if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
			rnd = (uint32_t)cp_now_us() ^ ((uint32_t)getpid() << 16);
		snprintf(s->fifoname, sizeof s->fifoname, "%s%ld.%08x", CD_SUBPREFIX, (long)getpid(), rnd);
		if (mkfifoat(s->subsfd, s->fifoname, 0600) == 0)
			break;
		if (errno != EEXIST || i >= 8) {
			s->fifoname[0] = '\0';
			cp_warnsys("unable to make a FIFO in %s/%s", s->name, CD_SUBS);
			end("server-stopping", "unable to make a FIFO in the call folder", CP_EXIT_TEMP);
		}
	}
	s->fifo = openat(s->subsfd, s->fifoname, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (s->fifo < 0 || fstat(s->fifo, &st) < 0 || !S_ISFIFO(st.st_mode))
		end("server-stopping", "unable to open a FIFO in the call folder", CP_EXIT_TEMP);
	if (lb_init(&s->lb, s->fifo, LINEMAX) < 0)
		end("server-stopping", "unable to allocate the line buffer: out of memory", CP_EXIT_TEMP);
	s->gothdr = 0;
	s->done = 0;
	s->state = ST_ATTACHED;
}

/* A stream we have not seen: follow it. history: all of it is ours (-H, or a stream
 * that started after we attached); else only what comes from now on. */
static void
learn(const struct cd_stream *cs, int sfd, int history)
{
	struct stream *s = &S.st[S.nst++];
	struct cd_err e;
	struct stat st;

	memset(s, 0, sizeof *s);
	memcpy(s->name, cs->name, sizeof s->name);
	s->sfd = sfd;
	s->fifo = -1;
	s->history = history;
	s->subsfd = cd_open_dir(sfd, CD_SUBS, 0, &e);
	if (!history && fstatat(sfd, CD_LOG, &st, AT_SYMLINK_NOFOLLOW) == 0)
		s->off = (uint64_t)st.st_size;
	if (cs->ended && !cs->live) {
		if (history)
			replay(s, 0, 1, 0);
		s->done = 1;
		return; /* over already */
	}
	if (s->subsfd >= 0)
		attach(s);
}

static struct stream *
known(const char *name)
{
	size_t i;

	for (i = 0; i < S.nst; i++)
		if (strcmp(S.st[i].name, name) == 0)
			return &S.st[i];
	return NULL;
}

/* New streams are followed; an idle one that is live again (a restarted stage)
 * is followed again from where we were. */
static void
scan(void)
{
	struct cd_stream v[CD_MAXSTREAMS];
	struct stream *s;
	size_t n, i;
	int streamsfd, sfd;
	struct cd_err e;

	if (cd_streams(S.calldirfd, v, CD_MAXSTREAMS, &n) < 0)
		return;
	streamsfd = cd_open_dir(S.calldirfd, CD_STREAMS, 0, &e);
	if (streamsfd < 0)
		return;
	for (i = 0; i < n; i++) {
		s = known(v[i].name);
		if (s != NULL) {
			if (s->subsfd < 0)
				s->subsfd = cd_open_dir(s->sfd, CD_SUBS, 0, &e);
			if (s->state == ST_IDLE && v[i].live && s->subsfd >= 0) {
				s->history = 1;
				attach(s);
			}
			continue;
		}
		if (S.nst >= CD_MAXSTREAMS)
			break;
		sfd = openat(streamsfd, v[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd >= 0)
			learn(&v[i], sfd, S.scanned || S.hflag || S.fromstart);
	}
	close(streamsfd);
	S.scanned = 1;
}

/* A stream's FIFO has no header yet: if the stream ended without opening it, all we
 * are owed is in its log. fanout marks the end after closing the log, and never opens
 * a FIFO after that: the log is whole even while its lock is still held. */
static void
noheader(struct stream *s)
{
	struct cd_stream cs;

	memset(&cs, 0, sizeof cs);
	cd_stream_state(s->sfd, &cs);
	if (cs.ended) {
		replay(s, 0, 1, !s->history);
		detach(s);
		s->done = 1;
	}
}

/* What the streams before upto owe us, if they have ended: at each scan (all of
 * them), and before a stream's first line (those before it), so that a call's streams
 * come in order (a later stream's live lines never overtake an earlier one's log).
 * Nothing to do while they are attached with a header. */
static void
owed(const struct stream *upto)
{
	struct cd_stream cs;
	struct stream *s;

	for (s = S.st; s < upto; s++) {
		if (s->state == ST_ATTACHED && !s->gothdr)
			noheader(s);
		else if (s->state == ST_IDLE && !s->done) {
			memset(&cs, 0, sizeof cs);
			cd_stream_state(s->sfd, &cs);
			if (cs.ended) { /* over before we could attach: the rest, once */
				replay(s, 0, 1, 1);
				s->done = 1;
			}
		}
	}
}

/* EOF on a stream's FIFO: the stream ended or crashed (go idle), or fanout dropped us. */
static void
eof(struct stream *s)
{
	int64_t until = cp_now_ms() + DROPWAIT_MS;
	struct cd_stream cs;

	memset(&cs, 0, sizeof cs);
	for (;;) {
		cd_stream_state(s->sfd, &cs);
		if (cs.ended || !cs.live) {
			detach(s);
			return;
		}
		if (cp_now_ms() >= until)
			end("too-slow", "dropped by fanout (fell behind, or too many subscribers)", CP_EXIT_NEG);
		poll(NULL, 0, 10);
	}
}

/* Every whole line the FIFO has for us. */
static void
readfifo(struct stream *s)
{
	char *line;
	size_t len;
	int r;

	r = lb_fill(&s->lb);
	if (r == LR_ERR)
		end("server-stopping", "unable to read a FIFO", CP_EXIT_TEMP);
	if (r == 0 && s->lb.end > s->lb.start && s->lb.buf[s->lb.end - 1] != '\n') {
		/* fanout cut us off inside a line: a line arrives whole or not at all */
		char *nl = memrchr(s->lb.buf + s->lb.start, '\n', s->lb.end - s->lb.start);
		size_t keep = nl ? (size_t)(nl - s->lb.buf) + 1 : s->lb.start;

		if (!s->lb.discarding)
			cp_warn("leaving out a torn last line of %zu bytes", s->lb.end - keep);
		s->lb.end = keep;
	}
	while ((r = lb_next(&s->lb, &line, &len)) == LR_LINE || r == LR_TOOLONG) {
		uint64_t off;

		if (r == LR_TOOLONG) {
			cp_warn("skipping a line longer than %d bytes", LINEMAX);
			continue;
		}
		if (!s->gothdr) {
			owed(s);
			if (header(line, len, &off) < 0)
				end("server-stopping", "unexpected first line on a FIFO: not from fanout", CP_EXIT_TEMP);
			s->gothdr = 1;
			/* the log up to fanout's first line for us: all of it (history), or
			 * what came since we came (fanout may have looked at subscribers/
			 * between our mkfifo and our open, and missed us for a line) */
			replay(s, off, 0, !s->history);
			s->off = off;
			continue;
		}
		line[len] = '\n';
		out(line, len + 1);
		s->off += len + 1;
	}
	if (r == LR_EOF)
		eof(s);
}

/* No stream attached: has the call ended (grace over)? Then what crashed streams
 * logged, and the end line. */
static void
checkend(void)
{
	struct cd_stream cs;
	struct cd_call c;
	size_t i;

	for (i = 0; i < S.nst; i++)
		if (S.st[i].state == ST_ATTACHED && S.st[i].gothdr)
			return; /* its end of file is on its way */
	if (cd_call_state(S.calldirfd, cd_wall_ms(), &c) < 0 || c.state != CD_OVER)
		return;
	for (i = 0; i < S.nst; i++) {
		if (S.st[i].state == ST_ATTACHED) {
			/* a FIFO no fanout ever opened: the stream crashed before */
			memset(&cs, 0, sizeof cs);
			cd_stream_state(S.st[i].sfd, &cs);
			if (cs.live)
				return;
			detach(&S.st[i]);
		}
		replay(&S.st[i], 0, 1, 1);
	}
	if (strcmp(c.reason, "transcription-failed") == 0)
		end(c.reason, "transcription failed", CP_EXIT_NEG);
	end("call-ended", NULL, CP_EXIT_OK);
}

/* Wait (up to ms) for input on stdin with -i, a signal, or stdout going away. */
static void
pause_ms(int ms)
{
	struct pollfd pfd[3] = { { S.sigfd, POLLIN, 0 }, { 1, 0, 0 }, { 0, POLLIN, 0 } };
	char junk[4096];

	if (poll(pfd, S.iflag ? 3 : 2, ms) <= 0)
		return;
	checksig();
	if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL))
		exit(CP_EXIT_OK); /* stdout went away */
	if (S.iflag && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t k = read(0, junk, sizeof junk);

		if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
			exit(CP_EXIT_OK); /* websocketd: the client is gone */
	}
}

/* Nothing to look for: every stream is attached and fanout writes to it (its end
 * comes as an end of file), and streams/ has not changed (no new stream). One
 * fstat instead of a scan's twenty system calls. */
static int
settled(void)
{
	struct cd_err e;
	size_t i;

	for (i = 0; i < S.nst; i++)
		if (S.st[i].state != ST_ATTACHED || !S.st[i].gothdr)
			return 0;
	if (S.streamsfd < 0)
		S.streamsfd = cd_open_dir(S.calldirfd, CD_STREAMS, 0, &e);
	return S.nst > 0 && S.streamsfd >= 0 && !ds_changed(&S.streams, S.streamsfd);
}

static void
follow(void)
{
	struct pollfd pfd[3 + CD_MAXSTREAMS];
	struct stream *map[3 + CD_MAXSTREAMS];
	int64_t next = 0;
	size_t i;

	for (;;) {
		int64_t now = cp_now_ms();
		int n = 0, fixed;

		if (now >= next && settled())
			next = now + SCAN_MS;
		if (now >= next) {
			if (S.streamsfd >= 0)
				ds_reading(&S.streams, S.streamsfd);
			scan();
			owed(S.st + S.nst);
			checkend();
			next = now + SCAN_MS;
		}
		pfd[n].fd = S.sigfd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = 1;
		pfd[n++].events = 0; /* POLLERR/POLLHUP: our reader is gone */
		pfd[n].fd = S.iflag ? 0 : -1;
		pfd[n++].events = POLLIN;
		fixed = n;
		for (i = 0; i < S.nst; i++)
			if (S.st[i].state == ST_ATTACHED) {
				map[n] = &S.st[i];
				pfd[n].fd = S.st[i].fifo;
				pfd[n++].events = POLLIN;
			}
		if (poll(pfd, (nfds_t)n, (int)(next > now ? next - now : 0)) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		}
		if (pfd[0].revents & POLLIN)
			checksig();
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL))
			exit(CP_EXIT_OK);
		if (pfd[2].revents)
			pause_ms(0);
		for (i = (size_t)fixed; i < (size_t)n; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				readfifo(map[i]);
	}
}

/* Find the call, waiting up to wait_s seconds for it to start. */
static void
findcall(long long wait_s)
{
	int64_t until = cp_now_ms() + wait_s * 1000;
	struct cd_call c;
	struct cd_err e;
	int callsfd;

	for (;;) {
		callsfd = cd_open_calls(0, &e);
		if (callsfd < 0 && e.code != CP_EXIT_NEG) {
			cp_warn("unable to open the call folder: %s", e.msg);
			end("server-stopping", "unable to open the call folder", e.code);
		}
		if (callsfd >= 0) {
			S.calldirfd = cd_open_call(callsfd, S.sid, 0, &e);
			close(callsfd);
			if (S.calldirfd < 0 && e.code != CP_EXIT_NEG) {
				cp_warn("unable to open the call folder: %s", e.msg);
				end("server-stopping", "unable to open the call folder", e.code);
			}
		}
		if (S.calldirfd >= 0 && cd_call_state(S.calldirfd, cd_wall_ms(), &c) == 0 && c.state != CD_NONE)
			break;
		if (S.calldirfd >= 0)
			close(S.calldirfd);
		S.calldirfd = -1;
		if (cp_now_ms() >= until)
			end("unknown-call", "unknown CallSid", CP_EXIT_NEG);
		S.fromstart = 1; /* it was not there when we came: follow it from its start */
		pause_ms(WAIT_MS);
	}
	if (c.state == CD_OVER) {
		/* an ended call: its record, with -H (or when we waited for it), and its end */
		if (S.hflag || S.fromstart)
			scan();
		end(strcmp(c.reason, "transcription-failed") == 0 ? c.reason : "call-ended", NULL,
		    CP_EXIT_OK);
	}
}

/* -i without a CallSid: the first line of stdin names the call. */
static void
readsid(long long timeout_s)
{
	struct sidline sl;
	char *p;
	int r;

	sl_init(&sl, LINE_MAX_ID, cp_now_ms() + timeout_s * 1000);
	while ((r = sl_read(&sl, S.sigfd, &p)) == SL_SIGNAL)
		checksig();
	if (r == SL_TIMEOUT)
		end("timeout", "no CallSid within the handshake time", CP_EXIT_NEG);
	if (r == SL_GONE)
		exit(CP_EXIT_OK); /* the client went away */
	if (r != SL_LINE || !cp_valid_sid(p, "CA"))
		end("bad-request", "malformed CallSid: expected CA and 32 hex digits", CP_EXIT_PERM);
	memcpy(S.sid, p, CD_SIDLEN + 1);
}

static void
setsignals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	int i;

	cp_ignore_sigpipe();
	S.sigfd = cp_sigfd(sigs, 3);
	if (S.sigfd < 0)
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
}

/* One of maxsubs slots (none: no limit), or the end line "busy". */
static void
takeslot(long long maxsubs)
{
	struct cd_err e;

	if (maxsubs <= 0 || cd_slot((unsigned)maxsubs, &e) >= 0)
		return;
	if (e.code == CP_EXIT_NEG)
		end("busy", "too many subscribers: try again later", CP_EXIT_NEG);
	cp_warn("%s", e.msg);
	end("server-stopping", "unable to take a subscriber slot", e.code);
}

/* The call to follow: from the command line, else the client's first line. */
static void
choose(const char *sid, long long handshake)
{
	if (sid == NULL)
		readsid(handshake);
	else if (cp_valid_sid(sid, "CA"))
		memcpy(S.sid, sid, CD_SIDLEN + 1);
	else
		end("bad-request", "malformed CallSid: expected CA and 32 hex digits", CP_EXIT_NEG);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "history", no_argument, NULL, 'H' },
		{ "url", required_argument, NULL, 'U' },
		{ "token", required_argument, NULL, 'T' },
		{ "cafile", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	struct remote_opts ro = { .wait = -1 };
	long long maxsubs = 0, handshake = 10, wait_s = 0;
	const char *sid;
	int c, nflag = 0;

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":Hijm:nt:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': S.hflag = 1; break;
		case 'i': S.iflag = S.jflag = 1; break;
		case 'j': S.jflag = 1; break;
		case 'm': maxsubs = cp_optnum(optarg, 1, 100000, "-m maxsubs"); break;
		case 'n': nflag = 1; break; /* the default now: stdin is watched only with -i */
		case 't': handshake = cp_optnum(optarg, 1, 86400, "-t seconds"); break;
		case 'w': wait_s = cp_optnum(optarg, 0, 600, "-w seconds"); ro.wait = (int)wait_s; break;
		case 'U': ro.url = optarg; break;
		case 'T': ro.token = optarg; break;
		case 'C': ro.cafile = optarg; break;
		default: cp_opterr(c, argv, usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || (argc == 0 && !S.iflag && (S.hflag || nflag || wait_s || maxsubs)))
		cp_usage(usage);
	sid = argc ? argv[0] : NULL;
	if ((ro.token != NULL || ro.cafile != NULL) && ro.url == NULL)
		cp_usage(usage);
	if (ro.url != NULL) { /* the remote form: /client of a server (remote.h) */
		ro.sid = sid;
		ro.history = S.hflag;
		ro.json = S.jflag;
		return remote_run(&ro);
	}
	if (sid == NULL && !S.iflag) {
		list();
		return CP_EXIT_OK;
	}
	setsignals();
	takeslot(maxsubs);
	if (S.iflag)
		list();
	choose(sid, handshake);
	findcall(wait_s);
	follow();
	return CP_EXIT_OK;
}
