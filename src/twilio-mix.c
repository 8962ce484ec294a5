/* twilio-mix: Twilio Media Streams messages (one JSON object per line) in, the call's
 * audio out: 8 kHz mu-law, one channel per track (inbound 0, outbound 1), as a WAV
 * stream or raw, on stdout or on the stdin of a command run with the call's identity
 * in its environment. Input is read without pause whatever the output does. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cp.h"
#include "linebuf.h"
#include "mix.h"
#include "twilio.h"
#include "wav.h"

extern char **environ;

static const char usage[] =
    "twilio-mix [-r] [-b max-buffer-ms] [-E fd] [-f frame-ms] [-g max-gap-ms] "
    "[-l max-lag-ms] [-M media-timeout] [-T start-timeout] [--] "
    "[command [arg ...]]";

#define LINE_MAX_BYTES 65536   /* longer lines are discarded as they stream by */
#define STDOUT_RING (1 << 20)  /* batch size for stdout */
#define WARN_EACH 10           /* warnings of one kind before they go quiet */
#define ENV_MAX 32768          /* longest variable passed (E2BIG > 128 KiB) */
#define ESC_MAX 80             /* caller text quoted in a log line */

/* options */
static int opt_raw;
static long long opt_frame = 20, opt_gap = 60000, opt_lag = 1000, opt_buf = 30000;
static long long opt_startwait, opt_mediawait; /* seconds, 0 = wait for ever */
static char **cmd;

/* -E: Twilio's mark, dtmf and stop messages as lines on the command's fd */
static long long opt_evfd = -1;
static int evfd = -1;
static uint64_t nevdrop;

/* input */
static struct linebuf lb;
static int in_eof, in_reg, in_err, in_lastbyte = '\n';
static uint64_t in_bytes;

/* call state */
static int started, stopped, finished, sigs, timedout;
static int64_t t_begin, t_media;
static unsigned nch;
static int chan[TW_NTRACKS] = { -1, -1 };
static struct mix mx;
static uint64_t nmsg, nbad[TW_R_N], nignored, nchunks[TW_NTRACKS];
static uint64_t nwarn[TW_R_N + 8];
enum { W_LATE = TW_R_N, W_LAG, W_CLAMP, W_OVERFLOW, W_PARAM, W_ENV };

/* output: a pending header, then a ring of interleaved audio */
static struct {
	int fd;
	int pipe;                 /* fd is the command's stdin (non-blocking) */
	unsigned char hdr[WAV_HDR_MAX];
	size_t hdrlen, hdroff;
	unsigned char *ring;
	size_t cap, head, len;
	off_t hdrpos;             /* where the header went in a regular file, or -1 */
	int dead, closed;
	uint64_t written, dropped, discarded; /* bytes of audio */
} out = { .fd = 1, .hdrpos = -1 };

/* the command */
static pid_t child = -1;
static int child_done, child_status;

static void
summary(void)
{
	char bad[600];
	size_t n = 0;
	uint64_t tot = 0, gap = 0, clamp = 0, lag = 0, late = 0, pad = 0, frames;
	unsigned i;
	int r;

	bad[0] = '\0';
	for (i = 1; i < TW_R_N; i++) {
		if (nbad[i] == 0)
			continue;
		tot += nbad[i];
		r = snprintf(bad + n, sizeof bad - n, "%s%s %llu", n ? ", " : "", tw_reason_name[i],
		    (unsigned long long)nbad[i]);
		if (r > 0 && (size_t)r < sizeof bad - n)
			n += (size_t)r;
	}
	for (i = 0; started && i < nch; i++) {
		gap += mx.t[i].gap;
		clamp += mx.t[i].clamped;
		lag += mx.t[i].lagfill;
		late += mx.t[i].late;
		pad += mx.t[i].endpad;
	}
	frames = nch ? out.written / nch : 0;
	cp_info("summary: messages %llu; chunks inbound %llu outbound %llu; audio %llu.%03llu s written; "
	    "gaps %llu ms; clamped %llu ms; lag-filled %llu ms; end-padded %llu ms; late dropped %llu ms; "
	    "overflow dropped %llu ms; undelivered %llu ms; ignored after stop %llu; skipped %llu%s%s%s",
	    (unsigned long long)nmsg, (unsigned long long)nchunks[TW_INBOUND],
	    (unsigned long long)nchunks[TW_OUTBOUND], (unsigned long long)(frames / 8000),
	    (unsigned long long)(frames % 8000 / 8), (unsigned long long)(gap / 8),
	    (unsigned long long)(clamp / 8), (unsigned long long)(lag / 8),
	    (unsigned long long)(pad / 8), (unsigned long long)(late / 8),
	    (unsigned long long)(nch ? out.dropped / nch / 8 : 0),
	    (unsigned long long)(nch ? out.discarded / nch / 8 : 0), (unsigned long long)nignored,
	    (unsigned long long)tot, n ? " (" : "", bad, n ? ")" : "");
}

/* A warning of one kind, quiet after WARN_EACH (the summary still counts them all). */
static const char *const wname[] = { "late audio", "lagging track",
	"clamped gap", "overflow", "custom parameter", "environment" };

/* Caller text for a log line: quoted, printable ASCII only (others as \xNN),
 * at most max bytes of it, so no field can pass for a line's prefix or a
 * second line. */
static const char *
esc(char *buf, size_t size, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, i;

	if (s == NULL)
		return "(none)";
	buf[n++] = '"';
	for (i = 0; s[i] != '\0' && n + 6 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == max)
			break;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' &&
		    c != '|' && c != '\'') {
			buf[n++] = (char)c;
			continue;
		}
		buf[n++] = '\\';
		buf[n++] = 'x';
		buf[n++] = hex[c >> 4];
		buf[n++] = hex[c & 15];
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

static int
quota(unsigned kind)
{
	if (nwarn[kind]++ < WARN_EACH)
		return 1;
	if (nwarn[kind] == WARN_EACH + 1)
		cp_warn("line %llu: further %s warnings suppressed (the summary counts them)",
		    (unsigned long long)nmsg, kind < TW_R_N ? tw_reason_name[kind] : wname[kind - TW_R_N]);
	return 0;
}

static void
skip(enum tw_reason r, const char *detail)
{
	nbad[r]++;
	if (quota(r))
		cp_warn("line %llu: skipped (%s): %s", (unsigned long long)nmsg, tw_reason_name[r],
		    detail);
}

/* ---- output ---- */

/* Blocking write-all that also copes with an fd someone left non-blocking. */
static int
writefull(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = { fd, POLLOUT, 0 };
			(void)poll(&pf, 1, -1);
			continue;
		}
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
discard_ring(void)
{
	out.discarded += out.len;
	out.head = out.len = 0;
}

static void
output_dead(const char *why)
{
	if (!out.dead)
		cp_warn("command %s: discarding the rest of the audio", why);
	out.dead = 1;
	out.hdroff = out.hdrlen;
	discard_ring();
}

/* stdout: everything, blocking. */
static void
flush_stdout(void)
{
	while (out.len > 0) {
		size_t k = out.len < out.cap - out.head ? out.len : out.cap - out.head;

		if (writefull(out.fd, out.ring + out.head, k) < 0) {
			int e = errno;

			summary();
			errno = e;
			cp_diesys(CP_EXIT_TEMP, "unable to write audio to stdout");
		}
		out.written += k;
		out.head = (out.head + k) % out.cap;
		out.len -= k;
	}
	out.head = 0;
}

/* the command's stdin: what it takes now. */
static void
flush_pipe(void)
{
	ssize_t w;

	if (out.dead || out.closed)
		return;
	while (out.hdroff < out.hdrlen || out.len > 0) {
		int hdr = out.hdroff < out.hdrlen;
		size_t k = hdr ? out.hdrlen - out.hdroff
		    : out.len < out.cap - out.head ? out.len : out.cap - out.head;

		w = write(out.fd, hdr ? out.hdr + out.hdroff : out.ring + out.head, k);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			output_dead(errno == EPIPE ? "closed its input" : "input failed");
			return;
		}
		if (hdr) {
			out.hdroff += (size_t)w;
			continue;
		}
		out.written += (size_t)w;
		out.head = (out.head + (size_t)w) % out.cap;
		out.len -= (size_t)w;
	}
	out.head = 0;
}

static void
flush_out(void)
{
	if (out.pipe)
		flush_pipe();
	else
		flush_stdout();
}

/* Make at least `need` bytes free (need is a multiple of nch, <= cap - nch). */
static void
room(size_t need)
{
	size_t drop;

	if (!out.pipe) {
		flush_stdout();
		return;
	}
	flush_pipe();
	if (out.cap - out.len >= need)
		return;
	/* whole samples of every channel, so the stream stays aligned */
	drop = need - (out.cap - out.len);
	drop += (nch - drop % nch) % nch;
	out.head = (out.head + drop) % out.cap;
	out.len -= drop;
	out.dropped += drop;
	if (quota(W_OVERFLOW))
		cp_warn("command is more than %lld ms behind: dropped the oldest %zu ms of audio",
		    opt_buf, drop / nch / 8);
}

/* Move every frame the mixer has ready into the output ring. */
static void
pump(void)
{
	uint64_t n;

	while ((n = mix_ready(&mx)) > 0) {
		size_t t, region, k;

		if (out.dead) {
			k = n < out.cap / nch ? (size_t)n : out.cap / nch;
			mix_read(&mx, out.ring, k);
			out.discarded += k * nch;
			continue;
		}
		if (out.cap - out.len < nch) {
			size_t want = out.cap / nch - 1;

			room((n < want ? (size_t)n : want) * nch);
		}
		t = out.head + out.len;
		if (t < out.cap)
			region = out.cap - t;
		else {
			t -= out.cap;
			region = out.cap - out.len;
		}
		k = region / nch;
		if (k > n)
			k = (size_t)n;
		mix_read(&mx, out.ring + t, k);
		out.len += k * nch;
	}
}

static void
close_out(void)
{
	if (!out.pipe || out.closed)
		return;
	(void)close(out.fd);
	out.closed = 1;
	if (evfd >= 0)
		(void)close(evfd);
	evfd = -1;
}

/* stdout a regular file: write the real lengths into the header. */
static void
fixup(void)
{
	struct wav_fmt f = { WAV_MULAW, nch, MIX_RATE, 8 };
	unsigned char h[WAV_HDR_MAX];
	size_t n;
	int fl;

	if (out.pipe || opt_raw || out.hdrpos < 0 || out.written >= WAV_STREAMING - WAV_HDR_MAX)
		return;
	fl = fcntl(out.fd, F_GETFL);
	if (fl >= 0 && (fl & O_APPEND)) {
		cp_warn("stdout is in append mode: the WAV lengths stay at their maximum");
		return;
	}
	n = wav_header(h, &f, (uint32_t)out.written);
	if (pwrite(out.fd, h, n, out.hdrpos) != (ssize_t)n)
		cp_diesys(CP_EXIT_TEMP, "unable to fix up the WAV header on stdout");
}

/* ---- the command ---- */

static char *
envstr(const char *name, const char *value)
{
	size_t a = strlen(name), b = strlen(value);
	char *s = malloc(a + b + 2);

	if (s == NULL)
		cp_diesys(CP_EXIT_TEMP, "unable to build the environment");
	memcpy(s, name, a);
	s[a] = '=';
	memcpy(s + a + 1, value, b + 1);
	return s;
}

static int
ours(const char *e)
{
	static const char *const names[] = { "TWILIO_CALL_SID=", "TWILIO_STREAM_SID=",
		"TWILIO_ACCOUNT_SID=", "TWILIO_TRACKS=", "TWILIO_START=",
		"TWILIO_EVENTS_FD=" };
	size_t i;

	if (strncmp(e, "TWILIO_", 7) != 0)
		return 0;
	if (strncmp(e, "TWILIO_PARAM_", 13) == 0)
		return 1;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/* -E: the read end goes to the command as fd opt_evfd; ours is non-blocking. */
static int evpipe_r = -1;

static void
events_pipe(posix_spawn_file_actions_t *fa)
{
	int e[2];

	if (pipe(e) < 0 || cp_setcloexec(e[0]) < 0 || cp_setcloexec(e[1]) < 0 ||
	    cp_setnonblock(e[1], 1) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to create the events pipe");
	(void)posix_spawn_file_actions_adddup2(fa, e[0], (int)opt_evfd);
	evpipe_r = e[0];
	evfd = e[1];
}

/* One event line, whole (<= PIPE_BUF) or not at all: a reader that lags loses
 * lines, counted, and never holds up the call. */
static void
event_line(const char *s, size_t len)
{
	static char buf[PIPE_BUF];
	ssize_t w;

	if (evfd < 0)
		return;
	if (len + 1 > sizeof buf) {
		nevdrop++;
		cp_warn("line %llu: event longer than %d bytes not passed to "
		    "the command", (unsigned long long)nmsg, PIPE_BUF - 1);
		return;
	}
	memcpy(buf, s, len);
	buf[len] = '\n';
	do
		w = write(evfd, buf, len + 1);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EPIPE) {
		(void)close(evfd);
		evfd = -1;
	} else if (w < 0 && nevdrop++ < WARN_EACH)
		cp_warnsys("line %llu: event not passed to the command",
		    (unsigned long long)nmsg);
}

static void
spawn(const struct tw_msg *m, const char *tracks)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t def, none;
	char **envp, *name;
	size_t ne = 0, n = 0, n0, i, j, k;
	int p[2], rc;

	for (ne = 0; environ && environ[ne]; ne++)
		;
	envp = calloc(ne + 7 + m->nparams, sizeof *envp);
	if (envp == NULL)
		cp_diesys(CP_EXIT_TEMP, "unable to build the environment");
	for (i = 0; i < ne; i++)
		if (!ours(environ[i]))
			envp[n++] = environ[i];
	n0 = n; /* from here on, ours to free */
	envp[n++] = envstr("TWILIO_CALL_SID", m->call_sid);
	if (m->stream_sid)
		envp[n++] = envstr("TWILIO_STREAM_SID", m->stream_sid);
	if (m->account_sid)
		envp[n++] = envstr("TWILIO_ACCOUNT_SID", m->account_sid);
	envp[n++] = envstr("TWILIO_TRACKS", tracks);
	if (strlen(m->start_json) < ENV_MAX)
		envp[n++] = envstr("TWILIO_START", m->start_json);
	else if (quota(W_ENV))
		cp_warn("start: event too large to pass on (%zu bytes as "
		    "JSON): TWILIO_START left out", strlen(m->start_json));
	if (opt_evfd >= 0) {
		char num[24];

		snprintf(num, sizeof num, "%lld", opt_evfd);
		envp[n++] = envstr("TWILIO_EVENTS_FD", num);
	}
	for (i = 0; i < m->nparams; i++) {
		const char *s = m->params[i].name;
		size_t len = strlen(s), first = n;
		char e[ESC_MAX * 4 + 16];

		if (len == 0) {
			if (quota(W_PARAM))
				cp_warn("start: custom parameter with an "
				    "empty name ignored");
			continue;
		}
		if (len + strlen(m->params[i].value) >= ENV_MAX) {
			if (quota(W_ENV))
				cp_warn("start: custom parameter %s too "
				    "large to pass on; ignored",
				    esc(e, sizeof e, s, ESC_MAX));
			continue;
		}
		if ((name = malloc(13 + len + 1)) == NULL)
			cp_diesys(CP_EXIT_TEMP, "unable to build the environment");
		memcpy(name, "TWILIO_PARAM_", 13);
		for (j = 0; j < len; j++) {
			char c = s[j];

			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
				c = '_';
			name[13 + j] = c;
		}
		name[13 + len] = '\0';
		for (k = 0; k < first; k++)
			if (strncmp(envp[k], name, 13 + len) == 0 && envp[k][13 + len] == '=')
				break;
		if (k < first) {
			if (quota(W_PARAM))
				cp_warn("start: custom parameter %s: %.100s "
				    "is already set; ignored",
				    esc(e, sizeof e, s, ESC_MAX), name);
			free(name);
			continue;
		}
		envp[n++] = envstr(name, m->params[i].value);
		free(name);
	}
	envp[n] = NULL;

	if (pipe(p) < 0 || cp_setcloexec(p[0]) < 0 || cp_setcloexec(p[1]) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to create a pipe");
	if (posix_spawn_file_actions_init(&fa) != 0 || posix_spawnattr_init(&sa) != 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up posix_spawn");
	(void)posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	if (opt_evfd >= 0)
		events_pipe(&fa);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGCHLD);
	sigemptyset(&none);
	(void)posix_spawnattr_setsigdefault(&sa, &def);
	(void)posix_spawnattr_setsigmask(&sa, &none);
	(void)posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawnp(&child, cmd[0], &fa, &sa, cmd, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	for (i = n0; i < n; i++)
		free(envp[i]);
	free(envp);
	if (rc != 0) {
		errno = rc;
		summary();
		cp_diesys(rc == ENOENT ? CP_EXIT_NOTFOUND : CP_EXIT_NOEXEC, "unable to run %.200s", cmd[0]);
	}
	(void)close(p[0]);
	if (opt_evfd >= 0)
		(void)close(evpipe_r);
	out.fd = p[1];
	out.pipe = 1;
	if (cp_setnonblock(out.fd, 1) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to make the command's input non-blocking");
}

static void
reap(void)
{
	int st;
	pid_t r;

	if (child < 0 || child_done)
		return;
	do
		r = waitpid(child, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r != child)
		return;
	child_done = 1;
	child_status = st;
	if (!out.closed) {
		char why[64];

		if (WIFEXITED(st))
			snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(st));
		else
			snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(st));
		output_dead(why);
	}
}

/* ---- messages ---- */

static void
start(const struct tw_msg *m)
{
	struct mix_opts mo;
	struct wav_fmt f;
	char tracks[32], e[ESC_MAX * 4 + 16];
	unsigned i;

	if (started) {
		skip(TW_R_DUPSTART, "a second start event");
		return;
	}
	if (!cp_valid_sid(m->call_sid, "CA")) {
		summary();
		cp_die(CP_EXIT_PERM, "line %llu: refusing the call: "
		    "start.callSid %s is not CA and 32 hex digits",
		    (unsigned long long)nmsg, m->call_sid ?
		    esc(e, sizeof e, m->call_sid, 40) : "(missing)");
	}
	tracks[0] = '\0';
	for (i = 0; i < TW_NTRACKS; i++) {
		if (!(m->tracks & TW_TRACK_BIT(i)))
			continue;
		chan[i] = (int)nch++;
		if (tracks[0])
			strcat(tracks, ",");
		strcat(tracks, tw_track_name((int)i));
	}
	mo.ntracks = nch;
	mo.frame = (uint64_t)opt_frame * MIX_PER_MS;
	mo.max_gap = (uint64_t)opt_gap * MIX_PER_MS;
	mo.max_lag = (uint64_t)opt_lag * MIX_PER_MS;
	mo.hold = (uint64_t)opt_buf * MIX_PER_MS;
	if (mix_init(&mx, &mo) < 0)
		cp_die(CP_EXIT_TEMP, "unable to set up the mixer");
	if (m->badparams)
		cp_warn("start: %zu custom parameter(s) without a string value ignored", m->badparams);
	if (m->nulparams)
		cp_warn("start: %zu custom parameter(s) with an escaped NUL (\\u0000) in the name or value ignored",
		    m->nulparams);

	out.cap = cmd ? (size_t)opt_buf * MIX_PER_MS * nch : STDOUT_RING;
	out.cap -= out.cap % nch;
	if (out.cap < 4 * nch)
		out.cap = 4 * nch;
	if ((out.ring = malloc(out.cap)) == NULL)
		cp_diesys(CP_EXIT_TEMP, "unable to allocate the output buffer");
	if (!opt_raw) {
		f.format = WAV_MULAW;
		f.channels = nch;
		f.rate = MIX_RATE;
		f.bits = 8;
		out.hdrlen = wav_header(out.hdr, &f, WAV_STREAMING);
	}
	cp_info("call %s stream %s: tracks %s, %u channel%s", m->call_sid,
	    cp_valid_sid(m->stream_sid, "MZ") ? m->stream_sid :
	    esc(e, sizeof e, m->stream_sid, ESC_MAX), tracks, nch,
	    nch > 1 ? "s" : "");
	t_media = cp_now_ms();
	if (cmd)
		spawn(m, tracks);
	else if (out.hdrlen > 0) {
		struct stat st;

		if (fstat(out.fd, &st) == 0 && S_ISREG(st.st_mode))
			out.hdrpos = lseek(out.fd, 0, SEEK_CUR);
		if (writefull(out.fd, out.hdr, out.hdrlen) < 0)
			cp_diesys(CP_EXIT_TEMP, "unable to write audio to stdout");
		out.hdroff = out.hdrlen;
	}
	started = 1;
}

static void
finish(void)
{
	if (finished)
		return;
	finished = 1;
	if (!started)
		return;
	if (mix_finish(&mx) != MIX_OK)
		cp_die(CP_EXIT_TEMP, "out of memory");
	pump();
}

static void
media(const struct tw_msg *m)
{
	struct mix_put_info info;
	int ch, rc, wasfill[MIX_MAXTRACKS];
	unsigned i;

	if (!started) {
		skip(TW_R_EARLY, "media before start");
		return;
	}
	if ((ch = chan[m->track]) < 0) {
		skip(TW_R_UNDECLARED, "media for a track that start did not name");
		return;
	}
	for (i = 0; i < nch; i++)
		wasfill[i] = mx.t[i].fill;
	rc = mix_put(&mx, (unsigned)ch, m->timestamp, m->payload, m->payload_len, &info);
	if (rc == MIX_BADB64) {
		skip(TW_R_PAYLOAD, "media.payload is not valid base64");
		return;
	}
	if (rc == MIX_NOMEM)
		cp_die(CP_EXIT_TEMP, "out of memory");
	nchunks[m->track]++;
	t_media = cp_now_ms();
	if (info.clamped && quota(W_CLAMP))
		cp_warn("line %llu: %s timestamp %llu jumps %llu ms ahead: gap clamped to %lld ms",
		    (unsigned long long)nmsg, tw_track_name(m->track),
		    (unsigned long long)m->timestamp,
		    (unsigned long long)((info.clamped + info.gap) / 8), opt_gap);
	if (info.late && quota(W_LATE))
		cp_warn("line %llu: %s audio for time already written: dropped %llu ms",
		    (unsigned long long)nmsg, tw_track_name(m->track),
		    (unsigned long long)((info.late + 7) / 8));
	for (i = 0; i < TW_NTRACKS; i++)
		if (chan[i] >= 0 && info.lagfill[chan[i]] && !wasfill[chan[i]] && quota(W_LAG))
			cp_warn("line %llu: %s track more than %lld ms behind: writing silence for it",
			    (unsigned long long)nmsg, tw_track_name((int)i),
			    opt_lag ? opt_lag : opt_buf);
	pump();
}

static void
line(const char *s, size_t len)
{
	struct tw_msg m;
	enum tw_reason r;

	nmsg++;
	if (stopped) {
		if (nignored++ == 0)
			cp_info("line %llu: ignoring messages after stop", (unsigned long long)nmsg);
		return;
	}
	if ((r = tw_parse(s, len, &m)) != TW_OK) {
		skip(r, m.detail);
		return;
	}
	switch (m.event) {
	case TW_MEDIA:
		media(&m);
		break;
	case TW_START:
		start(&m);
		break;
	case TW_MARK:
	case TW_DTMF:
		event_line(s, len);
		break;
	case TW_STOP:
		event_line(s, len);
		stopped = 1;
		finish();
		break;
	default:
		break;
	}
}

/* Twilio sends media all the time, silence included: a socket with no start,
 * or no media for a while, is a dead call holding a connection (and a Deepgram
 * session). Returns poll's timeout in ms (-1: none); at the deadline, ends the
 * input. */
static int
deadline(void)
{
	int64_t end, now;

	if (in_eof || sigs)
		return -1;
	if (!started && opt_startwait > 0)
		end = t_begin + opt_startwait * 1000;
	else if (started && opt_mediawait > 0)
		end = t_media + opt_mediawait * 1000;
	else
		return -1;
	now = cp_now_ms();
	if (now < end)
		return end - now > 3600000 ? 3600000 : (int)(end - now);
	if (!started)
		cp_die(CP_EXIT_NEG, "no Twilio start event within %lld s: "
		    "closing", opt_startwait);
	cp_warn("no media for %lld s: ending the call", opt_mediawait);
	in_eof = timedout = 1;
	return 0;
}

static void
options(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "events-fd", required_argument, NULL, 'E' },
		{ "max-buffer-ms", required_argument, NULL, 'b' },
		{ "frame-ms", required_argument, NULL, 'f' },
		{ "max-gap-ms", required_argument, NULL, 'g' },
		{ "max-lag-ms", required_argument, NULL, 'l' },
		{ "media-timeout", required_argument, NULL, 'M' },
		{ "start-timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "+rb:E:f:g:l:M:T:", lo, NULL)) !=
	    -1) {
		switch (c) {
		case 'r':
			opt_raw = 1;
			break;
		case 'b':
			if (cp_strtonum(optarg, 1, 3600000, &opt_buf) < 0)
				cp_die(CP_EXIT_PERM, "bad --max-buffer-ms %.40s: want 1..3600000", optarg);
			break;
		case 'E':
			if (cp_strtonum(optarg, 3, 255, &opt_evfd) < 0)
				cp_die(CP_EXIT_PERM, "bad --events-fd %.40s: "
				    "want 3..255", optarg);
			break;
		case 'f':
			if (cp_strtonum(optarg, 1, 1000, &opt_frame) < 0)
				cp_die(CP_EXIT_PERM, "bad --frame-ms %.40s: want 1..1000", optarg);
			break;
		case 'g':
			if (cp_strtonum(optarg, 0, 3600000, &opt_gap) < 0)
				cp_die(CP_EXIT_PERM, "bad --max-gap-ms %.40s: want 0..3600000", optarg);
			break;
		case 'l':
			if (cp_strtonum(optarg, 0, 3600000, &opt_lag) < 0)
				cp_die(CP_EXIT_PERM, "bad --max-lag-ms %.40s: want 0..3600000", optarg);
			break;
		case 'M':
			if (cp_strtonum(optarg, 0, 86400, &opt_mediawait) < 0)
				cp_die(CP_EXIT_PERM, "bad --media-timeout "
				    "%.40s: want 0..86400", optarg);
			break;
		case 'T':
			if (cp_strtonum(optarg, 0, 86400, &opt_startwait) < 0)
				cp_die(CP_EXIT_PERM, "bad --start-timeout "
				    "%.40s: want 0..86400", optarg);
			break;
		default:
			cp_usage(usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0)
		cmd = argv;
	if (opt_evfd >= 0 && cmd == NULL)
		cp_die(CP_EXIT_PERM,
		    "--events-fd needs a command to pass the events to");
}

int
main(int argc, char **argv)
{
	static const int sigl[] = { SIGINT, SIGTERM, SIGCHLD };
	struct stat st;
	int sigfd, r, code = CP_EXIT_OK;
	size_t n;
	char *s;

	cp_setprog(argv[0]);
	cp_help(argc, argv, usage);
	options(argc, argv);
	cp_ignore_sigpipe();
	if ((sigfd = cp_sigfd(sigl, cmd ? 3 : 2)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	if (tw_init() < 0 || lb_init(&lb, 0, LINE_MAX_BYTES) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to allocate buffers");
	in_reg = fstat(0, &st) == 0 && S_ISREG(st.st_mode);
	t_begin = cp_now_ms();

	for (;;) {
		struct pollfd pf[3];
		nfds_t np = 0;
		int ip = -1, wait;
		/* a regular file cannot stall anyone: let a slow command hold it back */
		int hold = in_reg && out.pipe && !out.dead && out.len >= out.cap / 2;

		while (!in_eof && !sigs && !hold) {
			r = lb_next(&lb, &s, &n);
			if (r == LR_AGAIN)
				break;
			if (r == LR_EOF) {
				in_eof = 1;
				if (in_bytes > 0 && in_lastbyte != '\n')
					cp_warn("input does not end with a newline");
				if (started) /* else one line, at the end */
					cp_info("end of input after %llu "
					    "messages",
					    (unsigned long long)nmsg);
				break;
			}
			if (r == LR_TOOLONG) {
				nmsg++;
				if (stopped)
					nignored++;
				else {
					char d[64];

					snprintf(d, sizeof d, "line longer than %d bytes discarded", LINE_MAX_BYTES);
					skip(TW_R_TOOLONG, d);
				}
			} else
				line(s, n);
			hold = in_reg && out.pipe && !out.dead && out.len >= out.cap / 2;
		}
		wait = deadline();
		if (in_eof && !finished)
			finish();
		if (sigs && !finished)
			finish();
		if (out.pipe && sigs > 1 && !out.closed) {
			discard_ring();
			out.hdroff = out.hdrlen;
		}
		flush_out();
		if (finished && out.pipe && !out.closed && out.len == 0 && out.hdroff == out.hdrlen)
			close_out();
		if ((in_eof || sigs) && (!out.pipe || out.closed))
			break;

		pf[np].fd = sigfd;
		pf[np++].events = POLLIN;
		hold = in_reg && out.pipe && !out.dead && out.len >= out.cap / 2;
		if (!in_eof && !sigs && !hold) {
			ip = (int)np;
			pf[np].fd = 0;
			pf[np++].events = POLLIN;
		}
		if (out.pipe && !out.closed && !out.dead && (out.len > 0 || out.hdroff < out.hdrlen)) {
			pf[np].fd = out.fd;
			pf[np++].events = POLLOUT;
		}
		if (poll(pf, np, wait) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		}
		if (pf[0].revents) {
			int sg;

			while ((sg = cp_sigread(sigfd)) != 0) {
				if (sg == SIGCHLD)
					reap();
				else if (sigs++ == 0)
					cp_info("signal %d: finishing the call", sg);
				else
					cp_info("signal %d: giving up on unwritten audio", sg);
			}
		}
		if (ip >= 0 && pf[ip].revents) {
			r = lb_fill(&lb);
			if (r > 0) {
				in_bytes += (uint64_t)r;
				in_lastbyte = (unsigned char)lb.buf[lb.end - 1];
			} else if (r == LR_ERR) {
				cp_warnsys("unable to read stdin");
				in_err = 1;
				lb.eof = 1;
			}
		}
	}
	fixup();
	if (in_err)
		code = CP_EXIT_TEMP;
	if (child >= 0) {
		close_out();
		while (!child_done) {
			int st2;
			pid_t w = waitpid(child, &st2, 0);

			if (w == child) {
				child_done = 1;
				child_status = st2;
			} else if (w < 0 && errno != EINTR)
				break;
		}
		if (child_done && WIFEXITED(child_status) && WEXITSTATUS(child_status) != 0) {
			code = WEXITSTATUS(child_status);
			cp_warn("command exited with status %d", code);
		} else if (child_done && WIFSIGNALED(child_status)) {
			code = CP_EXIT_TEMP;
			cp_warn("command killed by signal %d", WTERMSIG(child_status));
		}
	}
	if (!started) {
		cp_warn("no Twilio start event in the input");
		lb_free(&lb);
		tw_free();
		return CP_EXIT_NEG;
	}
	if (nevdrop)
		cp_warn("%llu event lines not passed to the command",
		    (unsigned long long)nevdrop);
	summary();
	if (timedout && code == CP_EXIT_OK)
		code = CP_EXIT_NEG;
	mix_free(&mx);
	free(out.ring);
	lb_free(&lb);
	tw_free();
	return code;
}
