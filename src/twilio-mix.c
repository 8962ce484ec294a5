/* twilio-mix: Twilio Media Streams messages (one JSON object per line) in, the
 * call's audio out: 8 kHz mu-law, one channel per track (inbound 0, outbound
 * 1), as a WAV stream or raw, on stdout or on the stdin of a command run with
 * the call's identity in its environment. Input is read without pause
 * whatever the output does. The call's state is the library's (twcall.c);
 * this file does the I/O: input, output queue, the command, the log. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bq.h"
#include "cp.h"
#include "cpspawn.h"
#include "linebuf.h"
#include "mix.h"
#include "opt.h"
#include "twcall.h"
#include "twilio.h"
#include "wav.h"

extern char **environ;

static const char usage[] =
    "twilio-mix [-r] [-b max-buffer-ms] [-E fd] [-f frame-ms] [-g max-gap-ms] "
    "[-l max-lag-ms] [-M media-timeout] [-T start-timeout] [--] "
    "[command [arg ...]]";

#define LINE_MAX_BYTES 65536   /* longer lines are discarded as they pass */
#define STDOUT_BATCH (1 << 20) /* most audio held for stdout before a write */
#define WARN_EACH 10           /* warnings of one kind before they go quiet */
#define ENV_MAX 32768          /* longest variable passed (E2BIG > 128 KiB) */
#define ESC_MAX 80             /* caller text quoted in a log line */
#define LB_READ_MIN 65536      /* compact the line buffer below this room */

struct opts {
	int raw;
	long long frame, gap, lag, buf;
	long long startwait, mediawait; /* seconds, 0 = wait for ever */
	long long evfd;                 /* -E: the command's events fd, or -1 */
	char **cmd;
};

/* Output: a pending WAV header, then one queue of interleaved audio. On
 * stdout it is written whole, blocking; into a command it is written as the
 * command takes it, and past `cap` the oldest audio is dropped. */
struct out {
	int fd;
	int pipe;                 /* fd is the command's stdin (non-blocking) */
	unsigned char hdr[WAV_HDR_MAX];
	size_t hdrlen, hdroff;
	struct bq q;
	size_t cap;               /* most bytes queued */
	off_t hdrpos;             /* where the header went in a regular file, or -1 */
	int dead, closed;
	uint64_t written, dropped, discarded; /* bytes of audio */
};

struct tmix {
	struct opts o;
	struct twcall call;
	/* input */
	struct linebuf lb;
	int in_eof, in_reg, in_err, in_lastbyte;
	uint64_t in_bytes;
	int64_t t_begin, t_media;
	int sigfd, sigs, timedout;
	int in_nb;                /* stdin is non-blocking: always poll */
	int64_t armed;            /* when the timer wakes a blocked read (arm) */
	uint64_t nwarn[TW_R_N + 8];
	struct out out;
	/* the command, and -E: Twilio's mark, dtmf and stop lines on its fd */
	pid_t child;
	int child_done, child_status;
	int evfd, evpipe_r;
	uint64_t nevdrop;
};

enum { W_LATE = TW_R_N, W_LAG, W_CLAMP, W_OVERFLOW, W_PARAM, W_ENV };

static void
summary(const struct tmix *t)
{
	const struct twcall *c = &t->call;
	char bad[600];
	size_t n = 0;
	uint64_t tot = 0, gap = 0, clamp = 0, lag = 0, late = 0, pad = 0;
	uint64_t frames, nch = c->nch;
	unsigned i;
	int r;

	bad[0] = '\0';
	for (i = 1; i < TW_R_N; i++) {
		if (c->nbad[i] == 0)
			continue;
		tot += c->nbad[i];
		r = snprintf(bad + n, sizeof bad - n, "%s%s %llu",
		    n ? ", " : "", tw_reason_name[i],
		    (unsigned long long)c->nbad[i]);
		if (r > 0 && (size_t)r < sizeof bad - n)
			n += (size_t)r;
	}
	for (i = 0; c->started && i < nch; i++) {
		gap += c->mx.t[i].gap;
		clamp += c->mx.t[i].clamped;
		lag += c->mx.t[i].lagfill;
		late += c->mx.t[i].late;
		pad += c->mx.t[i].endpad;
	}
	frames = nch ? t->out.written / nch : 0;
	cp_info("summary: messages %llu; chunks inbound %llu outbound %llu; "
	    "audio %llu.%03llu s written; gaps %llu ms; clamped %llu ms; "
	    "lag-filled %llu ms; end-padded %llu ms; late dropped %llu ms; "
	    "overflow dropped %llu ms; undelivered %llu ms; "
	    "ignored after stop %llu; skipped %llu%s%s%s",
	    (unsigned long long)c->nmsg,
	    (unsigned long long)c->nchunks[TW_INBOUND],
	    (unsigned long long)c->nchunks[TW_OUTBOUND],
	    (unsigned long long)(frames / 8000),
	    (unsigned long long)(frames % 8000 / 8),
	    (unsigned long long)(gap / 8), (unsigned long long)(clamp / 8),
	    (unsigned long long)(lag / 8), (unsigned long long)(pad / 8),
	    (unsigned long long)(late / 8),
	    (unsigned long long)(nch ? t->out.dropped / nch / 8 : 0),
	    (unsigned long long)(nch ? t->out.discarded / nch / 8 : 0),
	    (unsigned long long)c->nignored, (unsigned long long)tot,
	    n ? " (" : "", bad, n ? ")" : "");
}

/* A warning of one kind, quiet after WARN_EACH (the summary counts all). */
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
quota(struct tmix *t, unsigned kind)
{
	if (t->nwarn[kind]++ < WARN_EACH)
		return 1;
	if (t->nwarn[kind] == WARN_EACH + 1)
		cp_warn("line %llu: further %s warnings suppressed "
		    "(the summary counts them)",
		    (unsigned long long)t->call.nmsg, kind < TW_R_N ?
		    tw_reason_name[kind] : wname[kind - TW_R_N]);
	return 0;
}

static void
die_summary(const struct tmix *t, int code, const char *what)
{
	int e = errno;

	summary(t);
	errno = e;
	cp_diesys(code, "%s", what);
}

/* ---- output ---- */

/* Blocking write-all that also copes with an fd someone left non-blocking. */
static int
writefull(int fd, const void *buf, size_t n)
{
	const char *p = buf;

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
discard_queue(struct out *o)
{
	o->discarded += bq_len(&o->q);
	bq_truncate(&o->q, 0);
}

static void
output_dead(struct out *o, const char *why)
{
	if (!o->dead)
		cp_warn("command %s: discarding the rest of the audio", why);
	o->dead = 1;
	o->hdroff = o->hdrlen;
	discard_queue(o);
}

/* stdout: everything, blocking, in one write. */
static void
flush_stdout(struct tmix *t)
{
	struct out *o = &t->out;
	size_t len;
	const char *p = bq_data(&o->q, &len);

	if (len == 0)
		return;
	if (writefull(o->fd, p, len) < 0)
		die_summary(t, CP_EXIT_TEMP, "unable to write audio to stdout");
	o->written += len;
	bq_truncate(&o->q, 0);
}

/* the command's stdin: what it takes now. */
static void
flush_pipe(struct out *o)
{
	ssize_t w;

	if (o->dead || o->closed)
		return;
	while (o->hdroff < o->hdrlen) {
		w = write(o->fd, o->hdr + o->hdroff, o->hdrlen - o->hdroff);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w < 0) {
			output_dead(o, errno == EPIPE ? "closed its input" :
			    "input failed");
			return;
		}
		o->hdroff += (size_t)w;
	}
	while (bq_len(&o->q) > 0) {
		if ((w = bq_write(&o->q, o->fd)) == 0)
			return;
		if (w < 0) {
			output_dead(o, errno == EPIPE ? "closed its input" :
			    "input failed");
			return;
		}
		o->written += (uint64_t)w;
	}
}

static void
flush_out(struct tmix *t)
{
	if (t->out.pipe)
		flush_pipe(&t->out);
	else
		flush_stdout(t);
}

/* Make room for `need` more bytes (a multiple of nch, <= cap). */
static void
room(struct tmix *t, size_t need)
{
	struct out *o = &t->out;
	size_t drop, nch = t->call.nch;

	if (!o->pipe) {
		if (bq_len(&o->q) + need > o->cap)
			flush_stdout(t);
		return;
	}
	if (bq_len(&o->q) + need <= o->cap)
		return;
	flush_pipe(o);
	if (bq_len(&o->q) + need <= o->cap)
		return;
	/* whole samples of every channel, so the stream stays aligned */
	drop = bq_len(&o->q) + need - o->cap;
	drop += (nch - drop % nch) % nch;
	bq_consume(&o->q, drop);
	o->dropped += drop;
	if (quota(t, W_OVERFLOW))
		cp_warn("command is more than %lld ms behind: "
		    "dropped the oldest %zu ms of audio",
		    t->o.buf, drop / nch / 8);
}

/* Move every frame the mixer has ready into the output queue. */
static void
pump(struct tmix *t)
{
	struct mix *mx = &t->call.mx;
	struct out *o = &t->out;
	size_t nch = t->call.nch, k;
	uint64_t n;
	char *p;

	while ((n = mix_ready(mx)) > 0) {
		k = n < o->cap / nch ? (size_t)n : o->cap / nch;
		if (!o->dead)
			room(t, k * nch);
		if ((p = bq_room(&o->q, k * nch)) == NULL)
			die_summary(t, CP_EXIT_TEMP, "out of memory");
		mix_read(mx, (unsigned char *)p, k);
		if (o->dead)
			o->discarded += k * nch;
		else
			bq_commit(&o->q, k * nch);
	}
}

static void
close_out(struct tmix *t)
{
	if (!t->out.pipe || t->out.closed)
		return;
	(void)close(t->out.fd);
	t->out.closed = 1;
	if (t->evfd >= 0)
		(void)close(t->evfd);
	t->evfd = -1;
}

/* stdout a regular file: write the real lengths into the header. */
static void
fixup(struct tmix *t)
{
	struct out *o = &t->out;
	struct wav_fmt f = { WAV_MULAW, t->call.nch, MIX_RATE, 8 };
	unsigned char h[WAV_HDR_MAX];
	size_t n;
	int fl;

	if (o->pipe || t->o.raw || o->hdrpos < 0 ||
	    o->written >= WAV_STREAMING - WAV_HDR_MAX)
		return;
	fl = fcntl(o->fd, F_GETFL);
	if (fl >= 0 && (fl & O_APPEND)) {
		cp_warn("stdout is in append mode: "
		    "the WAV lengths stay at their maximum");
		return;
	}
	n = wav_header(h, &f, (uint32_t)o->written);
	if (pwrite(o->fd, h, n, o->hdrpos) != (ssize_t)n)
		cp_diesys(CP_EXIT_TEMP,
		    "unable to fix up the WAV header on stdout");
}

/* ---- the command ---- */

/* The command's environment: ours without any TWILIO_ variable of ours, then
 * the call's. Built apart from spawning so it can be read on its own. */
struct env {
	char **v;
	size_t n, inherited, cap;
};

static void
env_add(struct env *e, const char *name, const char *value)
{
	size_t a = strlen(name), b = strlen(value);
	char *s = malloc(a + b + 2);

	if (s == NULL || e->n + 1 >= e->cap)
		cp_diesys(CP_EXIT_TEMP, "unable to build the environment");
	memcpy(s, name, a);
	s[a] = '=';
	memcpy(s + a + 1, value, b + 1);
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
}

static void
env_free(struct env *e)
{
	size_t i;

	for (i = e->inherited; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

static int
ours(const char *e)
{
	static const char *const names[] = { "TWILIO_CALL_SID=",
		"TWILIO_STREAM_SID=", "TWILIO_ACCOUNT_SID=", "TWILIO_TRACKS=",
		"TWILIO_START=", "TWILIO_EVENTS_FD=" };
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

/* TWILIO_PARAM_<NAME> for one custom parameter: upper case, [A-Z0-9_]. */
static void
env_param(struct tmix *t, struct env *e, const struct tw_param *p)
{
	const char *s = p->name;
	size_t len = strlen(s), j, k;
	char q[ESC_MAX * 4 + 16], *name;

	if (len == 0) {
		if (quota(t, W_PARAM))
			cp_warn("start: custom parameter with an "
			    "empty name ignored");
		return;
	}
	if (len + strlen(p->value) >= ENV_MAX) {
		if (quota(t, W_ENV))
			cp_warn("start: custom parameter %s too "
			    "large to pass on; ignored",
			    esc(q, sizeof q, s, ESC_MAX));
		return;
	}
	if ((name = malloc(13 + len + 1)) == NULL)
		cp_diesys(CP_EXIT_TEMP, "unable to build the environment");
	memcpy(name, "TWILIO_PARAM_", 13);
	for (j = 0; j < len; j++) {
		char c = s[j];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_'))
			c = '_';
		name[13 + j] = c;
	}
	name[13 + len] = '\0';
	for (k = 0; k < e->n; k++)
		if (strncmp(e->v[k], name, 13 + len) == 0 &&
		    e->v[k][13 + len] == '=')
			break;
	if (k < e->n) {
		if (quota(t, W_PARAM))
			cp_warn("start: custom parameter %s: %.100s "
			    "is already set; ignored",
			    esc(q, sizeof q, s, ESC_MAX), name);
	} else
		env_add(e, name, p->value);
	free(name);
}

static void
env_build(struct tmix *t, struct env *e, const struct tw_msg *m)
{
	size_t ne, i, nparams = m->nparams;

	for (ne = 0; environ && environ[ne]; ne++)
		;
	memset(e, 0, sizeof *e);
	e->cap = ne + 7 + nparams;
	if ((e->v = calloc(e->cap, sizeof *e->v)) == NULL)
		cp_diesys(CP_EXIT_TEMP, "unable to build the environment");
	for (i = 0; i < ne; i++)
		if (!ours(environ[i]))
			e->v[e->n++] = environ[i];
	e->inherited = e->n; /* from here on, ours to free */
	env_add(e, "TWILIO_CALL_SID", m->call_sid);
	if (m->stream_sid)
		env_add(e, "TWILIO_STREAM_SID", m->stream_sid);
	if (m->account_sid)
		env_add(e, "TWILIO_ACCOUNT_SID", m->account_sid);
	env_add(e, "TWILIO_TRACKS", t->call.tracks);
	if (strlen(m->start_json) < ENV_MAX)
		env_add(e, "TWILIO_START", m->start_json);
	else if (quota(t, W_ENV))
		cp_warn("start: event too large to pass on (%zu bytes as "
		    "JSON): TWILIO_START left out", strlen(m->start_json));
	if (t->o.evfd >= 0) {
		char num[24];

		snprintf(num, sizeof num, "%lld", t->o.evfd);
		env_add(e, "TWILIO_EVENTS_FD", num);
	}
	for (i = 0; i < nparams; i++)
		env_param(t, e, &m->params[i]);
}

/* -E: the read end goes to the command as fd evfd; ours is non-blocking. */
static void
events_pipe(struct tmix *t, posix_spawn_file_actions_t *fa)
{
	int e[2];

	if (pipe(e) < 0 || cp_setcloexec(e[0]) < 0 ||
	    cp_setcloexec(e[1]) < 0 || cp_setnonblock(e[1], 1) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to create the events pipe");
	(void)posix_spawn_file_actions_adddup2(fa, e[0], (int)t->o.evfd);
	t->evpipe_r = e[0];
	t->evfd = e[1];
}

/* One event line, whole (<= PIPE_BUF) or not at all: a reader that lags
 * loses lines, counted, and never holds up the call. */
static void
event_line(struct tmix *t, const char *s, size_t len)
{
	static char buf[PIPE_BUF];
	ssize_t w;

	if (t->evfd < 0)
		return;
	if (len + 1 > sizeof buf) {
		t->nevdrop++;
		cp_warn("line %llu: event longer than %d bytes not passed to "
		    "the command", (unsigned long long)t->call.nmsg,
		    PIPE_BUF - 1);
		return;
	}
	memcpy(buf, s, len);
	buf[len] = '\n';
	do
		w = write(t->evfd, buf, len + 1);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EPIPE) {
		(void)close(t->evfd);
		t->evfd = -1;
	} else if (w < 0 && t->nevdrop++ < WARN_EACH)
		cp_warnsys("line %llu: event not passed to the command",
		    (unsigned long long)t->call.nmsg);
}

static void
spawn(struct tmix *t, const struct tw_msg *m)
{
	posix_spawn_file_actions_t fa;
	struct env e;
	int p[2], rc;

	env_build(t, &e, m);
	if (pipe(p) < 0 || cp_setcloexec(p[0]) < 0 || cp_setcloexec(p[1]) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to create a pipe");
	if (posix_spawn_file_actions_init(&fa) != 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up posix_spawn");
	(void)posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	if (t->o.evfd >= 0)
		events_pipe(t, &fa);
	rc = cp_spawn(&t->child, t->o.cmd, &fa, e.v);
	posix_spawn_file_actions_destroy(&fa);
	env_free(&e);
	if (rc != 0) {
		errno = rc;
		summary(t);
		cp_diesys(rc == ENOENT ? CP_EXIT_NOTFOUND : CP_EXIT_NOEXEC,
		    "unable to run %.200s", t->o.cmd[0]);
	}
	(void)close(p[0]);
	if (t->o.evfd >= 0)
		(void)close(t->evpipe_r);
	t->out.fd = p[1];
	t->out.pipe = 1;
	if (cp_setnonblock(t->out.fd, 1) < 0)
		cp_diesys(CP_EXIT_TEMP,
		    "unable to make the command's input non-blocking");
}

static void
reap(struct tmix *t)
{
	int st;
	pid_t r;

	if (t->child < 0 || t->child_done)
		return;
	do
		r = waitpid(t->child, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r != t->child)
		return;
	t->child_done = 1;
	t->child_status = st;
	if (!t->out.closed) {
		char why[64];

		if (WIFEXITED(st))
			snprintf(why, sizeof why, "exited with status %d",
			    WEXITSTATUS(st));
		else
			snprintf(why, sizeof why, "killed by signal %d",
			    WTERMSIG(st));
		output_dead(&t->out, why);
	}
}

/* ---- messages ---- */

static void
started(struct tmix *t, const struct tw_msg *m)
{
	struct out *o = &t->out;
	size_t nch = t->call.nch;
	struct wav_fmt f = { WAV_MULAW, t->call.nch, MIX_RATE, 8 };
	char e[ESC_MAX * 4 + 16];
	struct stat st;

	if (m->badparams)
		cp_warn("start: %zu custom parameter(s) without a string "
		    "value ignored", m->badparams);
	if (m->nulparams)
		cp_warn("start: %zu custom parameter(s) with an escaped NUL "
		    "(\\u0000) in the name or value ignored", m->nulparams);
	o->cap = t->o.cmd ? (size_t)t->o.buf * MIX_PER_MS * nch :
	    STDOUT_BATCH;
	o->cap -= o->cap % nch;
	if (o->cap < 4 * nch)
		o->cap = 4 * nch;
	if (!t->o.raw)
		o->hdrlen = wav_header(o->hdr, &f, WAV_STREAMING);
	cp_info("call %s stream %s: tracks %s, %u channel%s", m->call_sid,
	    cp_valid_sid(m->stream_sid, "MZ") ? m->stream_sid :
	    esc(e, sizeof e, m->stream_sid, ESC_MAX), t->call.tracks,
	    t->call.nch, t->call.nch > 1 ? "s" : "");
	t->t_media = cp_now_ms();
	if (t->o.cmd) {
		spawn(t, m);
		return;
	}
	if (o->hdrlen == 0)
		return;
	if (fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode))
		o->hdrpos = lseek(o->fd, 0, SEEK_CUR);
	if (writefull(o->fd, o->hdr, o->hdrlen) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to write audio to stdout");
	o->hdroff = o->hdrlen;
}

static void
media_warnings(struct tmix *t, const struct twc_out *r)
{
	const struct tw_msg *m = &r->m;
	unsigned long long nmsg = t->call.nmsg;
	unsigned i;

	t->t_media = cp_now_ms();
	if (r->info.clamped && quota(t, W_CLAMP))
		cp_warn("line %llu: %s timestamp %llu jumps %llu ms ahead: "
		    "gap clamped to %lld ms", nmsg, tw_track_name(m->track),
		    (unsigned long long)m->timestamp,
		    (unsigned long long)((r->info.clamped + r->info.gap) / 8),
		    t->o.gap);
	if (r->info.late && quota(t, W_LATE))
		cp_warn("line %llu: %s audio for time already written: "
		    "dropped %llu ms", nmsg, tw_track_name(m->track),
		    (unsigned long long)((r->info.late + 7) / 8));
	for (i = 0; i < TW_NTRACKS; i++)
		if (t->call.chan[i] >= 0 &&
		    (r->lagstart & (1u << t->call.chan[i])) &&
		    quota(t, W_LAG))
			cp_warn("line %llu: %s track more than %lld ms behind: "
			    "writing silence for it", nmsg,
			    tw_track_name((int)i),
			    t->o.lag ? t->o.lag : t->o.buf);
}

/* What the call's state (twcall.c) left to us for one line. */
static void
act(struct tmix *t, const struct twc_out *r, const char *s, size_t len)
{
	unsigned long long nmsg = t->call.nmsg;
	char e[ESC_MAX * 4 + 16];

	switch (r->what) {
	case TWC_SKIP:
		if (quota(t, r->reason))
			cp_warn("line %llu: skipped (%s): %s", nmsg,
			    tw_reason_name[r->reason], r->detail);
		break;
	case TWC_IGNORE:
		cp_info("line %llu: ignoring messages after stop", nmsg);
		break;
	case TWC_REFUSE:
		summary(t);
		cp_die(CP_EXIT_PERM, "line %llu: refusing the call: "
		    "start.callSid %s is not CA and 32 hex digits", nmsg,
		    r->m.call_sid ? esc(e, sizeof e, r->m.call_sid, 40) :
		    "(missing)");
	case TWC_NOMEM:
		cp_die(CP_EXIT_TEMP, "out of memory");
	case TWC_START:
		started(t, &r->m);
		break;
	case TWC_MEDIA:
		media_warnings(t, r);
		pump(t);
		break;
	case TWC_EVENT:
		event_line(t, s, len);
		break;
	case TWC_STOP:
		event_line(t, s, len);
		pump(t);
		break;
	case TWC_NOTHING:
		break;
	}
}

static void
finish(struct tmix *t)
{
	if (t->call.finished)
		return;
	if (twc_finish(&t->call) != MIX_OK)
		cp_die(CP_EXIT_TEMP, "out of memory");
	if (t->call.started)
		pump(t);
}

/* Twilio sends media all the time, silence included: a socket with no start,
 * or no media for a while, is a dead call holding a connection (and a Deepgram
 * session). Returns poll's timeout in ms (-1: none); at the deadline, ends the
 * input. */
static int
deadline(struct tmix *t)
{
	int64_t end, now;
	int started = t->call.started;

	if (t->in_eof || t->sigs)
		return -1;
	if (!started && t->o.startwait > 0)
		end = t->t_begin + t->o.startwait * 1000;
	else if (started && t->o.mediawait > 0)
		end = t->t_media + t->o.mediawait * 1000;
	else
		return -1;
	now = cp_now_ms();
	if (now < end)
		return end - now > 3600000 ? 3600000 : (int)(end - now);
	if (!started)
		cp_die(CP_EXIT_NEG, "no Twilio start event within %lld s: "
		    "closing", t->o.startwait);
	cp_warn("no media for %lld s: ending the call", t->o.mediawait);
	t->in_eof = t->timedout = 1;
	return 0;
}

/* a regular file cannot stall anyone: let a slow command hold it back */
static int
holding(const struct tmix *t)
{
	return t->in_reg && t->out.pipe && !t->out.dead &&
	    bq_len(&t->out.q) >= t->out.cap / 2;
}

/* Every whole line the input has now. */
static void
read_lines(struct tmix *t)
{
	struct twc_out r;
	char d[64], *s;
	size_t n;
	int rc;

	while (!t->in_eof && !t->sigs && !holding(t)) {
		rc = lb_next(&t->lb, &s, &n);
		if (rc == LR_AGAIN)
			return;
		if (rc == LR_EOF) {
			t->in_eof = 1;
			if (t->in_bytes > 0 && t->in_lastbyte != '\n')
				cp_warn("input does not end with a newline");
			if (t->call.started) /* else one line, at the end */
				cp_info("end of input after %llu messages",
				    (unsigned long long)t->call.nmsg);
			return;
		}
		if (rc == LR_TOOLONG) {
			snprintf(d, sizeof d, "line longer than %d bytes "
			    "discarded", LINE_MAX_BYTES);
			twc_toolong(&t->call, d, &r);
			act(t, &r, NULL, 0);
		} else {
			twc_line(&t->call, s, n, &r);
			act(t, &r, s, n);
		}
	}
}

static void
on_signals(struct tmix *t)
{
	int sg;

	while ((sg = cp_sigread(t->sigfd)) != 0) {
		if (sg == SIGCHLD)
			reap(t);
		else if (t->sigs++ == 0)
			cp_info("signal %d: finishing the call", sg);
		else
			cp_info("signal %d: giving up on unwritten audio", sg);
	}
}

static void
fill(struct tmix *t)
{
	int r = lb_fill(&t->lb);

	if (r > 0) {
		t->in_bytes += (uint64_t)r;
		t->in_lastbyte = (unsigned char)t->lb.buf[t->lb.end - 1];
	} else if (r == LR_ERR) {
		cp_warnsys("unable to read stdin");
		t->in_err = 1;
		t->lb.eof = 1;
	}
}

/* Sleep until a signal, input (when we want it), room in the command's
 * input (when audio waits for it) or the deadline. */
static void
wait_io(struct tmix *t, int wait)
{
	struct out *o = &t->out;
	struct pollfd pf[3];
	nfds_t np = 0;
	int ip = -1;

	pf[np].fd = t->sigfd;
	pf[np++].events = POLLIN;
	if (!t->in_eof && !t->sigs && !holding(t)) {
		ip = (int)np;
		pf[np].fd = 0;
		pf[np++].events = POLLIN;
	}
	if (o->pipe && !o->closed && !o->dead &&
	    (bq_len(&o->q) > 0 || o->hdroff < o->hdrlen)) {
		pf[np].fd = o->fd;
		pf[np++].events = POLLOUT;
	}
	if (poll(pf, np, wait) < 0) {
		if (errno == EINTR)
			return;
		cp_diesys(CP_EXIT_TEMP, "unable to poll");
	}
	if (pf[0].revents)
		on_signals(t);
	if (ip >= 0 && pf[ip].revents)
		fill(t);
}

/* Most of a call, nothing waits to be written: then one blocking read() is
 * the only wake-up, instead of poll() and read() (doc/twilio-mix-cost.md).
 * A signal must still end that read: the handlers lose SA_RESTART, and one
 * that lands just before the read starts (when it cannot interrupt it)
 * arms a one-second alarm that will. The handler only notes the signal and
 * passes it on to the self-pipe's handler (sig.c). File scope: a handler
 * reaches nothing else. */
static volatile sig_atomic_t woke, inread;
static void (*chained)(int);

static void
onsig(int sig)
{
	woke = 1;
	if (inread)
		(void)alarm(1);
	if (sig != SIGALRM && chained != NULL)
		chained(sig);
}

static void
blocking_signals(const int *sigl, int n)
{
	struct sigaction sa;
	int i;

	for (i = 0; i < n; i++) {
		if (sigaction(sigl[i], NULL, &sa) < 0)
			cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
			chained = sa.sa_handler;
		sa.sa_handler = onsig;
		sa.sa_flags &= ~SA_RESTART;
		if (sigaction(sigl[i], &sa, NULL) < 0)
			cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	}
	cp_sigunblock(sigl, n); /* SIGALRM ends the wait for a start event */
}

/* The deadline as a timer, set only when it would come late or is unknown
 * (armed 0 after a signal: the handler's alarm may have replaced it; -1:
 * none). */
static void
arm(struct tmix *t, int wait)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };
	int64_t at;

	if (wait < 0) {
		if (t->armed != -1)
			(void)setitimer(ITIMER_REAL, &it, NULL);
		t->armed = -1;
		return;
	}
	at = cp_now_ms() + wait;
	if (t->armed > 0 && t->armed <= at)
		return;
	it.it_value.tv_sec = wait / 1000;
	it.it_value.tv_usec = wait % 1000 * 1000 + 1000;
	(void)setitimer(ITIMER_REAL, &it, NULL);
	t->armed = at;
}

/* lb_fill without its EINTR retry, so that a signal ends the wait. */
static void
read_blocking(struct tmix *t, int wait)
{
	struct linebuf *lb = &t->lb;
	ssize_t r;

	if (woke) {
		woke = 0;
		t->armed = 0; /* a signal may have replaced the timer */
		on_signals(t);
		return;
	}
	arm(t, wait);
	if (lb->start > 0 && (lb->start == lb->end ||
	    lb->cap - 1 - lb->end < LB_READ_MIN)) {
		memmove(lb->buf, lb->buf + lb->start, lb->end - lb->start);
		lb->end -= lb->start;
		lb->start = 0;
	}
	inread = 1;
	r = woke ? -1 : read(0, lb->buf + lb->end, lb->cap - 1 - lb->end);
	inread = 0;
	if (r > 0) {
		lb->end += (size_t)r;
		t->in_bytes += (uint64_t)r;
		t->in_lastbyte = (unsigned char)lb->buf[lb->end - 1];
	} else if (r == 0)
		lb->eof = 1;
	else if (errno == EAGAIN || errno == EWOULDBLOCK)
		t->in_nb = 1;
	else if (errno != EINTR && !woke) {
		cp_warnsys("unable to read stdin");
		t->in_err = 1;
		lb->eof = 1;
	}
}

/* Block in read() alone: input wanted, nothing for the command waiting. */
static int
read_only(const struct tmix *t)
{
	const struct out *o = &t->out;

	if (t->in_nb || t->in_eof || t->sigs || holding(t))
		return 0;
	return !o->pipe || o->closed || o->dead ||
	    (bq_len(&o->q) == 0 && o->hdroff == o->hdrlen);
}

static void
loop(struct tmix *t)
{
	struct out *o = &t->out;
	int wait;

	for (;;) {
		read_lines(t);
		wait = deadline(t);
		if (t->in_eof || t->sigs)
			finish(t);
		if (o->pipe && t->sigs > 1 && !o->closed) {
			discard_queue(o);
			o->hdroff = o->hdrlen;
		}
		flush_out(t);
		if (t->call.finished && o->pipe && !o->closed &&
		    bq_len(&o->q) == 0 && o->hdroff == o->hdrlen)
			close_out(t);
		if ((t->in_eof || t->sigs) && (!o->pipe || o->closed))
			return;
		if (read_only(t))
			read_blocking(t, wait);
		else
			wait_io(t, wait);
	}
}

/* The command's exit, as ours: its status, 111 for a signal. */
static int
wait_command(struct tmix *t)
{
	int st;
	pid_t w;

	close_out(t);
	while (!t->child_done) {
		w = waitpid(t->child, &st, 0);
		if (w == t->child) {
			t->child_done = 1;
			t->child_status = st;
		} else if (w < 0 && errno != EINTR)
			return CP_EXIT_OK;
	}
	st = t->child_status;
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
		cp_warn("command exited with status %d", WEXITSTATUS(st));
		return WEXITSTATUS(st);
	}
	if (WIFSIGNALED(st)) {
		cp_warn("command killed by signal %d", WTERMSIG(st));
		return CP_EXIT_TEMP;
	}
	return CP_EXIT_OK;
}

static int
run(struct tmix *t)
{
	int code = CP_EXIT_OK;

	loop(t);
	fixup(t);
	if (t->in_err)
		code = CP_EXIT_TEMP;
	if (t->child >= 0) {
		int c = wait_command(t);

		if (c != CP_EXIT_OK)
			code = c;
	}
	if (!t->call.started) {
		cp_warn("no Twilio start event in the input");
		code = CP_EXIT_NEG;
	} else {
		if (t->nevdrop)
			cp_warn("%llu event lines not passed to the command",
			    (unsigned long long)t->nevdrop);
		summary(t);
		if (t->timedout && code == CP_EXIT_OK)
			code = CP_EXIT_NEG;
	}
	twc_free(&t->call);
	bq_free(&t->out.q);
	lb_free(&t->lb);
	tw_free();
	return code;
}

/* A numeric option (cp_optnum), or a usage error (cp_opterr). */
static void
numopt(struct opts *o, int c, const char *arg, char **argv)
{
	static const struct {
		int c;
		const char *what;
		long long min, max;
		size_t off;
	} no[] = {
		{ 'b', "-b max-buffer-ms", 1, 3600000,
		    offsetof(struct opts, buf) },
		{ 'E', "-E fd", 3, 255, offsetof(struct opts, evfd) },
		{ 'f', "-f frame-ms", 1, 1000, offsetof(struct opts, frame) },
		{ 'g', "-g max-gap-ms", 0, 3600000,
		    offsetof(struct opts, gap) },
		{ 'l', "-l max-lag-ms", 0, 3600000,
		    offsetof(struct opts, lag) },
		{ 'M', "-M media-timeout", 0, 86400,
		    offsetof(struct opts, mediawait) },
		{ 'T', "-T start-timeout", 0, 86400,
		    offsetof(struct opts, startwait) },
	};
	size_t i;

	for (i = 0; i < sizeof no / sizeof no[0] && no[i].c != c; i++)
		;
	if (i == sizeof no / sizeof no[0])
		cp_opterr(c, argv, usage);
	*(long long *)(void *)((char *)o + no[i].off) =
	    cp_optnum(arg, no[i].min, no[i].max, no[i].what);
}

static void
options(struct opts *o, int argc, char **argv)
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

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:rb:E:f:g:l:M:T:", lo, NULL)) !=
	    -1) {
		if (c == 'r')
			o->raw = 1;
		else
			numopt(o, c, optarg, argv);
	}
	argc -= optind;
	argv += optind;
	if (argc > 0)
		o->cmd = argv;
	if (o->evfd >= 0 && o->cmd == NULL)
		cp_die(CP_EXIT_PERM,
		    "--events-fd needs a command to pass the events to");
}

/* Everything set up before the first line: signals, buffers, the mixer's
 * options, stdout as the output. */
static void
setup(struct tmix *t)
{
	static const int sigl[] = { SIGINT, SIGTERM, SIGCHLD, SIGALRM };
	struct mix_opts mo;
	struct stat st;

	cp_ignore_sigpipe();
	if ((t->sigfd = cp_sigfd(sigl, t->o.cmd ? 3 : 2)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	blocking_signals(sigl, t->o.cmd ? 3 : 2);
	blocking_signals(sigl + 3, 1);
	if (tw_init() < 0 || lb_init(&t->lb, 0, LINE_MAX_BYTES) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to allocate buffers");
	mo.ntracks = 0;
	mo.frame = (uint64_t)t->o.frame * MIX_PER_MS;
	mo.max_gap = (uint64_t)t->o.gap * MIX_PER_MS;
	mo.max_lag = (uint64_t)t->o.lag * MIX_PER_MS;
	mo.hold = (uint64_t)t->o.buf * MIX_PER_MS;
	twc_init(&t->call, &mo);
	t->in_reg = fstat(0, &st) == 0 && S_ISREG(st.st_mode);
	t->in_lastbyte = '\n';
	t->t_begin = cp_now_ms();
	t->out.fd = 1;
	t->out.hdrpos = -1;
	bq_init(&t->out.q);
	t->child = -1;
	t->evfd = t->evpipe_r = -1;
}

int
main(int argc, char **argv)
{
	static struct tmix t = { .o = { .frame = 20, .gap = 60000,
		.lag = 1000, .buf = 30000, .evfd = -1 } };

	cp_setprog(argv[0]);
	cp_help(argc, argv, usage);
	options(&t.o, argc, argv);
	setup(&t);
	return run(&t);
}
