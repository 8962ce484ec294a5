/* transcribe: one stream's transcription stage. Reads the stream's WAV header
 * and runs deepgram-stream on the audio, its messages going to fanout. The audio
 * does not pass through here: deepgram-stream reads our stdin itself (one pipe
 * hop and one wake-up per frame less) and keeps the count of audio bytes it has
 * read in a shared page (-a), the stream's timeline. A stage that dies mid-call
 * is restarted for the rest of the call: deepgram-stream reads on from where
 * the pipe stands (raw, -e -r -c), its times are moved onto the stream's
 * timeline, and fanout's subscribers get a callpipe.gap line naming the seconds
 * lost; audio that arrives while no session runs is read here, counted and
 * dropped. A transcription that fails for good is one log line and a fatal
 * callpipe.error line. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cp.h"
#include "cpspawn.h"
#include "dgmsg.h"
#include "linebuf.h"
#include "opt.h"
#include "wav.h"

extern char **environ;

static const char usage[] = "transcribe [-p publisher] [-r max-restarts] [--] "
			    "[fanout-option ...]";

#define AUDIO_BUF 65536 /* audio read (and dropped) while no session runs */
#define COUNT_FD 3 /* deepgram-stream's -a: the audio count */
#define DG_LINE_MAX (1 << 20) /* longest Deepgram message passed on */
#define FO_PIPE 16384 /* fanout's pipe: what a dead fanout may not have read */
#define CAUSE_MAX 300 /* bytes of deepgram-stream's own message kept */

struct child {
	pid_t pid;
	int in, out, err; /* our ends: its stdin, stdout, stderr (-1 if none) */
	int done, status;
};

struct stage {
	/* input */
	unsigned char hdr[WAV_SCAN_MAX];
	size_t hdrfill;
	int have_hdr, in_eof;
	struct wav_fmt fmt;
	double bps; /* audio bytes per second */
	uint64_t *count; /* audio bytes read so far (by deepgram-stream or us):
			    the stream's timeline, in a page shared with it */
	int countfd;
	/* deepgram-stream */
	struct child dg;
	uint64_t base; /* count at this session's first audio byte */
	struct linebuf out, err;
	struct dg_state ds;
	long long restarts, max_restarts;
	int64_t
	    restart_at; /* when to start the next session (ms), 0: none due */
	double lost_from; /* the gap to report when the next session starts */
	char why[CAUSE_MAX + 100]; /* why the last session ended */
	char
	    cause[CAUSE_MAX]; /* deepgram-stream's last warning or fatal line */
	int failed;
	/* fanout */
	struct child fo;
	struct child pub; /* -p: fanout -o's reader, for the stream's life */
	char **fo_argv;
	long long fo_restarts;
	int devnull;
	char hist[2 * FO_PIPE]; /* the last lines written to fanout */
	size_t hlen, unwritten; /* unwritten: of a line whose write failed */
	/* identity, for log lines */
	const char *csid, *ssid;
};

static const char *
sidname(const char *s, const char *prefix)
{
	return cp_valid_sid(s, prefix) ? s : "(invalid)";
}

/* JSON string body of s: quote and backslash escaped (err.c lines hold no
 * controls). */
static void
jsonstr(char *dst, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			dst[n++] = '\\';
		dst[n++] = (unsigned char)*s < 0x20 ? '?' : *s;
	}
	dst[n] = '\0';
}

/* One line per failure in $CALLPIPE_DIR/run/failures, for /health (best effort:
 * a full disk must not stop the transcript). */
static void
record(struct stage *st, const char *kind, const char *what)
{
	const char *d = getenv("CALLPIPE_DIR");
	char path[4096], line[CAUSE_MAX + 200];
	int fd, n;

	if (d == NULL || *d != '/' ||
	    snprintf(path, sizeof path, "%s/run/failures", d) >=
		(int)sizeof path)
		return;
	n = snprintf(line, sizeof line, "%lld %s %s %s %s\n",
	    (long long)time(NULL), kind, sidname(st->csid, "CA"),
	    sidname(st->ssid, "MZ"), what);
	if (n <= 0)
		return;
	if (n >= (int)sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	fd = open(path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	(void)cp_writeall(fd, line, (size_t)n);
	(void)close(fd);
}

/* ---- children ---- */

/* Runs argv with a pipe on its stdin (or, with fd3 >= 0, our own stdin and fd3
 * as its descriptor 3); its stdout is outfd, or with outfd < 0 pipes for its
 * stdout and stderr. */
static void
spawn(struct child *c, char **argv, int outfd, int fd3)
{
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc,
		   want_out = outfd < 0;

	if ((fd3 < 0 && pipe2(in, O_CLOEXEC) < 0) ||
	    (want_out &&
		(pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)))
		cp_diesys(CP_EXIT_TEMP, "unable to create a pipe");
	if (posix_spawn_file_actions_init(&fa) != 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up posix_spawn");
	if (fd3 < 0)
		(void)posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	else
		(void)posix_spawn_file_actions_adddup2(&fa, fd3, COUNT_FD);
	if (want_out) {
		(void)posix_spawn_file_actions_adddup2(&fa, out[1], 1);
		(void)posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	} else
		(void)posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	rc = cp_spawn(&c->pid, argv, &fa, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		cp_diesys(rc == ENOENT ? CP_EXIT_NOTFOUND : CP_EXIT_NOEXEC,
		    "unable to run %s", argv[0]);
	}
	if (in[0] >= 0)
		(void)close(in[0]);
	c->in = in[1];
	c->out = c->err = -1;
	if (want_out) {
		(void)close(out[1]);
		(void)close(err[1]);
		c->out = out[0];
		c->err = err[0];
	}
	c->done = 0;
}

static void
closefd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

/* "exited with status N" or "killed by signal N" */
static void
status_text(char *buf, size_t size, int st)
{
	if (WIFEXITED(st))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(buf, size, "killed by signal %d", WTERMSIG(st));
}

/* ---- fanout ---- */

/* A line for fanout is kept until it cannot be in fanout's pipe any more. */
static void
remember(struct stage *st, const char *s, size_t n)
{
	if (n > FO_PIPE) { /* longer than the pipe: never sent again */
		st->hlen = 0;
		return;
	}
	if (st->hlen + n > sizeof st->hist) {
		memmove(st->hist, st->hist + st->hlen - FO_PIPE, FO_PIPE);
		st->hlen = FO_PIPE;
	}
	memcpy(st->hist + st->hlen, s, n);
	st->hlen += n;
}

static void fanout_died(struct stage *, int);

/* Writes s[0..n) whole to fanout; a fanout that died is restarted (and gets
 * what it lost). Returns 0 once written, -1 if fanout died meanwhile. */
static int
put(struct stage *st, const char *s, size_t n)
{
	ssize_t w;
	int status;

	while (n > 0) {
		w = write(st->fo.in, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EPIPE)
			cp_diesys(CP_EXIT_TEMP, "unable to write to fanout");
		if (w < 0) {
			st->unwritten = n;
			while (waitpid(st->fo.pid, &status, 0) < 0 &&
			    errno == EINTR)
				;
			fanout_died(st, status);
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The lines from hist[from] on, to a new fanout. */
static void
resend(struct stage *st, size_t from)
{
	if (from < st->hlen)
		(void)put(st, st->hist + from, st->hlen - from);
}

static void inband_error(struct stage *, const char *, int);

static void
start_fanout(struct stage *st)
{
	spawn(&st->fo, st->fo_argv, st->pub.pid > 0 ? st->pub.in : st->devnull,
	    -1);
	/* small, so that what it may not have read is kept in hist */
	(void)fcntl(st->fo.in, F_SETPIPE_SZ, FO_PIPE);
}

/* fanout died before its input ended: started again for the same stream (a new
 * fanout continues it), unless it refused the call for good. */
static void
fanout_died(struct stage *st, int status)
{
	char why[64], what[96];
	int unread = 0;
	size_t from;

	/* what it never read is still in the pipe: sent again to the next one,
	 * from the start of its line */
	if (ioctl(st->fo.in, FIONREAD, &unread) < 0 || unread < 0)
		unread = 0;
	from = (size_t)unread + st->unwritten < st->hlen ?
	    st->hlen - (size_t)unread - st->unwritten : 0;
	while (from > 0 && st->hist[from - 1] != '\n')
		from--;
	closefd(&st->fo.in);
	status_text(why, sizeof why, status);
	snprintf(what, sizeof what, "fanout %s", why);
	record(st, "restart", what);
	if (WIFEXITED(status) &&
	    (WEXITSTATUS(status) == CP_EXIT_PERM ||
		WEXITSTATUS(status) >= CP_EXIT_NOEXEC))
		cp_die(CP_EXIT_PERM, "call %s stream %s: %s: giving up",
		    sidname(st->csid, "CA"), sidname(st->ssid, "MZ"), what);
	if (++st->fo_restarts > st->max_restarts)
		cp_die(CP_EXIT_TEMP,
		    "call %s stream %s: %s after %lld restarts: giving up",
		    sidname(st->csid, "CA"), sidname(st->ssid, "MZ"), what,
		    st->max_restarts);
	cp_warn("call %s stream %s: %s mid-call; restarting it",
	    sidname(st->csid, "CA"), sidname(st->ssid, "MZ"), what);
	start_fanout(st);
	st->unwritten = 0;
	resend(st, from);
	inband_error(st, what, 0);
}

/* A line for fanout, whole; a fanout that died gets it after its restart. */
static void
to_fanout(struct stage *st, const char *s, size_t n)
{
	remember(st, s, n);
	(void)put(st, s, n);
}

static void
inband_error(struct stage *st, const char *what, int fatal)
{
	char line[CAUSE_MAX * 2 + 80], j[CAUSE_MAX * 2];
	int n;

	jsonstr(j, sizeof j, what);
	n = snprintf(line, sizeof line,
	    "{\"type\":\"callpipe.error\",\"error\":\"%s\","
	    "\"fatal\":%s}\n",
	    j, fatal ? "true" : "false");
	to_fanout(st, line, (size_t)n);
}

static void
inband_gap(struct stage *st, double from, double to, const char *why)
{
	char line[CAUSE_MAX * 2 + 120], j[CAUSE_MAX * 2], a[40], b[40];
	int n;

	jsonstr(j, sizeof j, why);
	dg_fmt_time(a, sizeof a, from);
	dg_fmt_time(b, sizeof b, to);
	n = snprintf(line, sizeof line,
	    "{\"type\":\"callpipe.gap\",\"start\":%s,\"end\":%s,"
	    "\"reason\":\"%s\"}\n",
	    a, b, j);
	to_fanout(st, line, (size_t)n);
}

/* ---- deepgram-stream ---- */

/* The audio count: deepgram-stream adds what it reads, we what we drop. */
static uint64_t
counted(const struct stage *st)
{
	return __atomic_load_n(st->count, __ATOMIC_RELAXED);
}

static void
count_add(struct stage *st, size_t n)
{
	__atomic_fetch_add(st->count, (uint64_t)n, __ATOMIC_RELAXED);
}

/* The shared page, on a descriptor above the ones children are given. */
static void
count_init(struct stage *st)
{
	int fd = memfd_create("callpipe-audio-count", MFD_CLOEXEC);
	void *p;

	if (fd < 0 || ftruncate(fd, sizeof *st->count) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to create the audio count");
	p = mmap(NULL, sizeof *st->count, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (p == MAP_FAILED)
		cp_diesys(CP_EXIT_TEMP, "unable to map the audio count");
	st->count = p;
	if ((st->countfd = fcntl(fd, F_DUPFD_CLOEXEC, 10)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to move the audio count");
	(void)close(fd);
}

static char dg_name[] = "deepgram-stream", dg_e[] = "-e", dg_r[] = "-r",
	    dg_c[] = "-c", dg_a[] = "-a", dg_afd[] = "3";

/* deepgram-stream on our stdin, raw from where the pipe stands */
static void
spawn_dg(struct stage *st)
{
	char enc[16], rate[16], chans[16];
	char *argv[] = { dg_name, dg_e, enc, dg_r, rate, dg_c, chans, dg_a,
		dg_afd, NULL };

	snprintf(enc, sizeof enc, "%s", wav_encoding(&st->fmt));
	snprintf(rate, sizeof rate, "%u", st->fmt.rate);
	snprintf(chans, sizeof chans, "%u", st->fmt.channels);
	spawn(&st->dg, argv, -1, st->countfd);
}

static void
start_dg(struct stage *st)
{
	char a[40], b[40];

	st->base = counted(st); /* the first byte it will get */
	if (st->ds.conns > 0) {
		dg_fmt_time(a, sizeof a, st->lost_from);
		dg_fmt_time(b, sizeof b, (double)st->base / st->bps);
		cp_info("call %s stream %s: transcription restarted at %s s "
			"(lost %s to %s s)",
		    sidname(st->csid, "CA"), sidname(st->ssid, "MZ"), b, a, b);
		inband_gap(st,
		    st->lost_from, (double)st->base / st->bps, st->why);
	}
	spawn_dg(st);
	if (cp_setnonblock(st->dg.out, 1) < 0 ||
	    cp_setnonblock(st->dg.err, 1) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to make pipes non-blocking");
	lb_free(&st->out);
	lb_free(&st->err);
	if (lb_init(&st->out, st->dg.out, DG_LINE_MAX) < 0 ||
	    lb_init(&st->err, st->dg.err, CP_LOGLINE_MAX + 100) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to allocate buffers");
	st->restart_at = 0;
	st->cause[0] = '\0';
	dg_newconn(&st->ds);
}

/* One Deepgram message: moved onto the stream's timeline, then to fanout. */
static void
dg_line(struct stage *st, char *s, size_t n)
{
	struct dg_out o;

	if (dg_msg(&st->ds, s, n, (double)st->base / st->bps, &o) < 0)
		cp_die(CP_EXIT_TEMP, "out of memory");
	if (o.action == DG_DROP)
		return;
	if (o.action == DG_REWRITE) {
		char *t = realloc(o.text, o.len + 1);

		if (t == NULL)
			cp_die(CP_EXIT_TEMP, "out of memory");
		t[o.len] = '\n';
		to_fanout(st, t, o.len + 1);
		free(t);
		return;
	}
	s[n] = '\n'; /* the line's own newline (or its terminating NUL) */
	to_fanout(st, s, n + 1);
}

/* deepgram-stream's stderr: passed on; its last warning or fatal line is the
 * cause. */
static void
err_line(struct stage *st, char *s, size_t n)
{
	const char *p;

	s[n] = '\0';
	(void)cp_writeall(2, s, n);
	(void)cp_writeall(2, "\n", 1);
	if ((p = strstr(s, ": fatal: ")) != NULL ||
	    (p = strstr(s, ": warning: ")) != NULL)
		snprintf(st->cause,
		    sizeof st->cause, "%s", strchr(p + 2, ' ') + 1);
}

/* Reads what is there; returns 0 at EOF (or error), 1 otherwise. */
static int
drain(struct stage *st, struct linebuf *lb, int isout)
{
	char *s;
	size_t n;
	int r;

	for (;;) {
		while ((r = lb_next(lb, &s, &n)) == LR_LINE ||
		    r == LR_TOOLONG) {
			if (r == LR_TOOLONG)
				cp_warn("deepgram-stream wrote a line over %d "
					"bytes: dropped",
				    DG_LINE_MAX);
			else if (isout)
				dg_line(st, s, n);
			else
				err_line(st, s, n);
		}
		if (r == LR_EOF)
			return 0;
		r = lb_fill(lb);
		if (r == LR_AGAIN)
			return 1;
		if (r == LR_ERR)
			return 0;
	}
}

/* Where the dead session's transcript stops on the stream's timeline: the
 * earliest end of the last final over the channels that had one, not before the
 * session. */
static double
transcribed(const struct stage *st)
{
	double m = -1, b = (double)st->base / st->bps;
	unsigned c;

	for (c = 0; c < st->ds.nch && c < DG_MAXCH; c++)
		if (st->ds.final_end[c] > 0 &&
		    (m < 0 || st->ds.final_end[c] < m))
			m = st->ds.final_end[c];
	return m < b ? b : m;
}

static void __attribute__((noreturn)) fail(struct stage *st, int code)
{
	int status;

	inband_error(st, st->why, 1);
	record(st, "fatal", st->why);
	closefd(&st->fo.in);
	while (waitpid(st->fo.pid, &status, 0) < 0 && errno == EINTR)
		;
	cp_die(code, "call %s stream %s: transcription failed: %s",
	    sidname(st->csid, "CA"), sidname(st->ssid, "MZ"), st->why);
}

/* Has the input ended (no writer left, nothing unread)? deepgram-stream saw
 * that before it died, or would have. */
static int
input_over(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	int unread = 0;

	if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLHUP | POLLERR)))
		return 0;
	return ioctl(0, FIONREAD, &unread) < 0 || unread <= 0;
}

/* deepgram-stream has ended and its output has been read to the end. */
static void
dg_dead(struct stage *st)
{
	char how[64];
	int code = WIFEXITED(st->dg.status) ? WEXITSTATUS(st->dg.status) : -1;
	int64_t wait;

	closefd(&st->dg.out);
	closefd(&st->dg.err);
	st->dg.pid = -1;
	if (code == 0 || input_over())
		st->in_eof = 1;
	if (st->in_eof && code == 0)
		return;
	status_text(how, sizeof how, st->dg.status);
	snprintf(st->why, sizeof st->why, "deepgram-stream %s%s%s", how,
	    st->cause[0] ? ": " : "", st->cause);
	if (st->in_eof) { /* nothing left to restart it for: the tail is lost */
		cp_warn("call %s stream %s: %s at the end of the stream",
		    sidname(st->csid, "CA"), sidname(st->ssid, "MZ"), st->why);
		record(st, "restart", st->why);
		inband_error(st, st->why, 0);
		return;
	}
	if (code == CP_EXIT_PERM || code >= CP_EXIT_NOEXEC)
		fail(st, CP_EXIT_PERM);
	if (st->restarts >= st->max_restarts) {
		snprintf(st->why, sizeof st->why,
		    "deepgram-stream %s after %lld restarts%s%s", how,
		    st->restarts, st->cause[0] ? ": " : "", st->cause);
		fail(st, CP_EXIT_TEMP);
	}
	st->restarts++;
	st->lost_from = transcribed(st);
	cp_warn("call %s stream %s: %s mid-call; restarting it",
	    sidname(st->csid, "CA"), sidname(st->ssid, "MZ"), st->why);
	record(st, "restart", st->why);
	inband_error(st, st->why, 0);
	wait = st->restarts == 1 ? 0 : 250LL << (st->restarts - 2);
	st->restart_at = cp_now_ms() + (wait > 8000 ? 8000 : wait);
}

/* Reaps what ended: fanout is restarted at once; deepgram-stream's output is
 * read to its end first, so its last messages come before the gap. */
static void
reap(struct stage *st)
{
	int status;
	int k;

	if (st->fo.pid > 0 &&
	    waitpid(st->fo.pid, &status, WNOHANG) == st->fo.pid)
		fanout_died(st, status);
	if (st->dg.pid <= 0 ||
	    waitpid(st->dg.pid, &status, WNOHANG) != st->dg.pid)
		return;
	st->dg.status = status;
	for (k = 0; k < 64 && st->dg.out >= 0 && drain(st, &st->out, 1); k++)
		;
	for (k = 0; k < 64 && st->dg.err >= 0 && drain(st, &st->err, 0); k++)
		;
	dg_dead(st);
}

/* ---- input ---- */

/* One read of our stdin: the bytes read, or 0 when there is nothing now or the
 * input has ended (in_eof). */
static size_t
readin(struct stage *st, void *p, size_t n)
{
	ssize_t r = read(0, p, n);

	if (r > 0)
		return (size_t)r;
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r < 0)
		cp_warnsys("unable to read the audio");
	st->in_eof = 1;
	return 0;
}

/* The header, a byte at a time (once a stream): not one byte of audio may be
 * read here, deepgram-stream reads it. */
static void
header(struct stage *st)
{
	uint32_t dlen;
	size_t hlen;
	const char *why;
	int p = 0;

	while (p == 0) {
		if (st->hdrfill == sizeof st->hdr)
			cp_die(CP_EXIT_PERM,
			    "input is not a WAV stream: no audio in %zu bytes",
			    sizeof st->hdr);
		if (readin(st, st->hdr + st->hdrfill, 1) == 0)
			return;
		st->hdrfill++;
		p = wav_parse(st->hdr, st->hdrfill, &st->fmt, &hlen, &dlen,
		    &why);
		if (p < 0)
			cp_die(CP_EXIT_PERM, "input is not a WAV stream: %s",
			    why);
	}
	st->have_hdr = 1;
	st->bps = (double)st->fmt.rate * st->fmt.channels * (st->fmt.bits / 8);
	dg_state_init(&st->ds, st->fmt.channels);
	start_dg(st);
}

static int
running(const struct stage *st)
{
	return st->dg.pid > 0;
}

/* Audio while no session runs: counted on the timeline and dropped. */
static void
input(struct stage *st)
{
	static unsigned char scratch[AUDIO_BUF];

	if (!st->have_hdr)
		header(st);
	else
		count_add(st, readin(st, scratch, sizeof scratch));
}

/* ---- the loop ---- */

static void
onsignal(struct stage *st, int sig)
{
	if (sig == SIGCHLD) {
		reap(st);
		return;
	}
	if (!st->in_eof) { /* as the end of the input: the tail is still
			      transcribed (deepgram-stream's first signal) */
		cp_info("signal %d: finishing the stream", sig);
		st->in_eof = 1;
	}
	if (running(st)) /* a second one: it stops now */
		(void)kill(st->dg.pid, SIGTERM);
}

static int
timeout(const struct stage *st)
{
	int64_t d;

	if (st->restart_at == 0)
		return -1;
	d = st->restart_at - cp_now_ms();
	return d < 0 ? 0 : (int)d;
}

/* The next session, when its time has come; at the end of the input none is
 * needed, and the gap runs to the end. */
static void
due(struct stage *st)
{
	if (st->restart_at == 0 || running(st))
		return;
	if (st->in_eof) {
		inband_gap(st,
		    st->lost_from, (double)counted(st) / st->bps, st->why);
		st->restart_at = 0;
	} else if (cp_now_ms() >= st->restart_at)
		start_dg(st);
}

static void
loop(struct stage *st, int sigfd)
{
	struct pollfd pf[5];
	int sg;

	for (;;) {
		nfds_t np = 1, ip = 0, op = 0, ep = 0;

		due(st);
		if (st->in_eof && !running(st) && st->restart_at == 0)
			return;
		pf[0].fd = sigfd;
		pf[0].events = POLLIN;
		if (!st->in_eof && !running(st)) {
			pf[np].fd = 0;
			pf[np].events = POLLIN;
			ip = np++;
		}
		if (running(st) && st->dg.out >= 0) {
			pf[np].fd = st->dg.out;
			pf[np].events = POLLIN;
			op = np++;
		}
		if (running(st) && st->dg.err >= 0) {
			pf[np].fd = st->dg.err;
			pf[np].events = POLLIN;
			ep = np++;
		}
		if (poll(pf, np, timeout(st)) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		}
		if (op && pf[op].revents && !drain(st, &st->out, 1))
			closefd(&st->dg.out);
		if (ep && pf[ep].revents && !drain(st, &st->err, 0))
			closefd(&st->dg.err);
		if (ip && pf[ip].revents)
			input(st);
		if (pf[0].revents)
			while ((sg = cp_sigread(sigfd)) != 0)
				onsignal(st, sg);
	}
}

/* fanout's argv: its name, -o if there is a publisher, then its own options. */
static char **
fanout_argv(int argc, char **argv, char *name, char *echo)
{
	char **v;
	int k = 0;

	if ((v = calloc((size_t)argc + 3, sizeof *v)) == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	v[k++] = name;
	if (echo != NULL)
		v[k++] = echo;
	memcpy(v + k, argv, (size_t)argc * sizeof *v);
	return v;
}

/* -p: the publisher's end of input is fanout's last line; what it publishes
 * then is its own business (it says so in the log if it fails). */
static void
end_publisher(struct stage *st)
{
	int status;

	if (st->pub.pid <= 0)
		return;
	closefd(&st->pub.in);
	while (waitpid(st->pub.pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* The input is done: fanout gets its end of input, and its status is ours. */
static int
finish(struct stage *st)
{
	char how[64];
	int status;

	closefd(&st->fo.in);
	while (waitpid(st->fo.pid, &status, 0) < 0 && errno == EINTR)
		;
	free(st->fo_argv);
	end_publisher(st);
	lb_free(&st->out);
	lb_free(&st->err);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return CP_EXIT_OK; /* restarts were failures, logged already */
	status_text(how, sizeof how, status);
	cp_warn("fanout %s", how);
	return WIFEXITED(status) ? WEXITSTATUS(status) : CP_EXIT_TEMP;
}

int
main(int argc, char **argv)
{
	static const int sigl[] = { SIGINT, SIGTERM, SIGCHLD };
	static struct stage st = {
		.dg = { .pid = -1, .in = -1, .out = -1, .err = -1 },
		.pub = { .pid = -1, .in = -1, .out = -1, .err = -1 },
		.max_restarts = 5, .countfd = -1
	};
	static char fo_name[] = "fanout", fo_echo[] = "-o";
	char *pub_argv[2] = { NULL, NULL };
	int c, sigfd;

	cp_setprog(argv[0]);
	cp_help(argc, argv, usage);
	opterr = 0;
	while ((c = getopt(argc, argv, "+:p:r:")) != -1) {
		switch (c) {
		case 'p':
			pub_argv[0] = optarg;
			break;
		case 'r':
			st.max_restarts = cp_optnum(optarg, 0, 1000,
			    "-r max-restarts");
			break;
		default:
			cp_opterr(c, argv, usage);
		}
	}
	argc -= optind;
	argv += optind;
	st.fo_argv = fanout_argv(argc, argv, fo_name,
	    pub_argv[0] != NULL ? fo_echo : NULL);
	st.csid = getenv("TWILIO_CALL_SID");
	st.ssid = getenv("TWILIO_STREAM_SID");

	cp_ignore_sigpipe();
	if ((sigfd = cp_sigfd(sigl, 3)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	if ((st.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to open /dev/null");
	if (pub_argv[0] != NULL)
		spawn(&st.pub, pub_argv, st.devnull, -1);
	count_init(&st);
	start_fanout(&st);
	loop(&st, sigfd);
	return finish(&st);
}
