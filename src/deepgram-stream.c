/* deepgram-stream: audio on stdin -> Deepgram live speech-to-text -> one JSON
 * message a line.
 *
 * One poll() loop (loop(), after netcat's readwrite()) over three named slots:
 * the signal pipe, stdin and the WebSocket (wsc.c). Audio
 * goes into the replay buffer (dgreplay.c): every byte since the end of the
 * last final result of the slowest channel, bounded by --replay-max-ms. The
 * connection is a state machine (struct conn: down, connecting, streaming,
 * closing) with one function per transition; every way a connection ends goes
 * through conn_drop(). A new connection sends the buffer again from its start,
 * and dgmsg.c shifts its times and drops finals that were already delivered. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp.h"
#include "dgconn.h"
#include "dgmsg.h"
#include "dgreplay.h"
#include "netfail.h"
#include "opt.h"
#include "wav.h"
#include "wsc.h"

#define USAGE "deepgram-stream [-n] [-L | -O]" \
	" [-e encoding -r rate -c channels] [-u url] [-P name=value]" \
	" [-f frame-ms] [-k keepalive-ms] [-t close-timeout]" \
	" [-m replay-max-ms] [-T retry-for] [-p catchup-percent]" \
	" [-C connect-timeout] [-S stall-timeout] [-a count-fd]"
#define DEFAULT_URL "wss://api.deepgram.com/v1/listen"
#define READ_MAX 65536
/* a small send buffer keeps the backlog in the ring: replayable, counted */
#define SNDBUF 65536
#define FAST_LEAD_MS 10000 /* input this far ahead of the clock: not live */
#define MAX_PARAMS 64
#define RECV_SWEEP_MS 200 /* read the socket at least this often (see net_io) */
#define SECRET_MIN 4 /* shorter "secrets" would blank words out of logs */

struct opts {
	long frame_ms, keepalive_ms, close_timeout_s, replay_max_ms;
	long retry_for_s, catchup_pct, connect_timeout_s, stall_s;
	int mode;       /* 0: decide (auto), 'L': --live, 'O': --offline */
	int print_url;
	const char *enc, *rate, *chans, *url;
	const char *param[MAX_PARAMS]; /* -P name=value, as given */
	int nparam;
	int count_fd;   /* -a: where the count of audio bytes read is kept, or -1 */
};

struct input {
	struct wav_fmt fmt;
	int have_fmt, raw, eof;
	int regular;            /* a regular file: nobody upstream to stall */
	int fast;               /* FAST_LEAD_MS ahead of real time (sticky) */
	int64_t first_at;
	unsigned char hdr[WAV_SCAN_MAX + 16];
	size_t hdrlen;
	uint64_t data_left;     /* WAV data length still expected */
	size_t bpf;             /* bytes per sample frame (all channels) */
	size_t frame_bytes;     /* largest audio frame we send */
	uint64_t *count;        /* -a: audio bytes read from stdin, shared */
};

/* The connection: the state machine (dgconn.c: down, connecting, streaming,
 * closing) and what belongs to one WebSocket. ws != NULL exactly in CONNECTING,
 * STREAMING and CLOSING. */
struct conn {
	struct dgc m;
	struct wsc *ws;
	double shift;           /* seconds of input before its first byte */
	int64_t last_recv;
	int metadata;           /* Metadata arrived after CloseStream */
	int pacing;
	int64_t pace_t0;
	uint64_t pace_b0;
};

struct stats {
	unsigned long msgs, reconnects, keepalives, bad, stalls;
	int64_t last_drop_warn, last_bad_warn;
	uint64_t dropped_seen;
};

struct dgs {
	struct opts o;
	struct input in;
	struct dgr ring;
	struct dg_state st;
	struct conn c;
	struct stats n;
	const char *base_url;   /* -u, DEEPGRAM_URL or the default */
	char *url;              /* the URL connected to */
	char *shown;            /* the URL as printed: no user:password */
	const char *cafile;     /* DEEPGRAM_CA_FILE: CAs to trust, or NULL */
	const char *front;      /* DEEPGRAM_TLS_FRONT (wss:// only), or NULL */
	char *auth;             /* the Authorization header */
	char *out;
	size_t outcap;
	int sfd, nsig;
};

/* ----------------------------------------------------------------- messages */

/* Secrets never printed: the key or token, the URL's password (see redact). */
static const char *secret[4];
static int nsecret;

static void
add_secret(const char *s, size_t len)
{
	char *p;

	int i;

	if (len < SECRET_MIN ||
	    nsecret == (int)(sizeof secret / sizeof secret[0]))
		return;
	for (i = 0; i < nsecret; i++)
		if (strlen(secret[i]) == len && memcmp(secret[i], s, len) == 0)
			return;
	if ((p = strndup(s, len)) == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	secret[nsecret++] = p;
}

/* Replaces every secret in buf (NUL-terminated, size bytes) by "***". */
static void
redact(char *buf, size_t size)
{
	int i;

	for (i = 0; i < nsecret; i++) {
		size_t sl = strlen(secret[i]);
		char *p = buf;

		while ((p = strstr(p, secret[i])) != NULL) {
			size_t rest = strlen(p + sl) + 1;

			if (p + 3 + rest > buf + size)
				rest = (size_t)(buf + size - p - 3);
			memmove(p + 3, p + sl, rest);
			memcpy(p, "***", 3);
			buf[size - 1] = '\0';
			p += 3;
		}
	}
}

/* Every line goes through here: 'i' info, 'w' warning, or an exit code (fatal).
 */
static void __attribute__((format(printf, 2, 3)))
say(int level, const char *fmt, ...)
{
	char line[CP_LOGLINE_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	redact(line, sizeof line);
	if (level == 'i')
		cp_info("%s", line);
	else if (level == 'w')
		cp_warn("%s", line);
	else
		cp_die(level, "%s", line);
}

static void
summary(struct dgs *d)
{
	char chs[700];
	size_t n = 0;
	unsigned c;
	int hf = d->in.have_fmt;
	double secs = hf ? dgr_secs(&d->ring, d->ring.fresh) : 0;

	chs[0] = '\0';
	for (c = 0; hf && c < d->in.fmt.channels && n < sizeof chs - 40; c++)
		n += (size_t)snprintf(chs + n, sizeof chs - n, "%sch%u=%.3f",
		    c ? " " : "", c, secs);
	say('i', "summary: audio sent s %s, messages %lu, finals %lu, reconnects %lu, replayed %.0f ms, keepalives %lu, dropped audio %.0f ms, ignored messages %lu",
	    n ? chs : "none", d->n.msgs, d->st.finals, d->n.reconnects,
	    hf ? dgr_secs(&d->ring, d->ring.replayed) * 1000 : 0,
	    d->n.keepalives,
	    hf ? dgr_secs(&d->ring, d->ring.dropped) * 1000 : 0, d->n.bad);
}

static void __attribute__((noreturn))
finish(struct dgs *d, int code)
{
	summary(d);
	/* Everything went out with write(2) (no stdio buffers), and the kernel
	 * closes the socket: skip the exit handlers and destructors (OpenSSL's,
	 * for wss://), which touch pages that were never needed. Sanitizer builds keep exit() for the leak
	 * check. */
#if defined(__SANITIZE_ADDRESS__)
	wsc_free(d->c.ws);
	dgr_free(&d->ring);
	free(d->out);
	exit(code);
#else
	_exit(code);
#endif
}

static void
emit(struct dgs *d, const char *s, size_t len)
{
	if (len + 1 > d->outcap) {
		size_t c = d->outcap ? d->outcap : 4096;
		char *p;

		while (c < len + 1)
			c *= 2;
		if ((p = realloc(d->out, c)) == NULL)
			cp_die(CP_EXIT_TEMP, "out of memory");
		d->out = p;
		d->outcap = c;
	}
	memcpy(d->out, s, len);
	d->out[len] = '\n';
	if (cp_writeall(1, d->out, len + 1) < 0) {
		int e = errno;

		summary(d);
		if (e == EPIPE)
			cp_die(CP_EXIT_TEMP, "unable to write to stdout: reader gone");
		errno = e;
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
	}
	if (d->outcap > 65536) { /* a big message went: give memory back */
		free(d->out);
		d->out = NULL;
		d->outcap = 0;
	}
}

/* -------------------------------------------------------------------- input */

static void
setup_format(struct dgs *d)
{
	struct input *in = &d->in;

	in->bpf = (size_t)in->fmt.channels * (in->fmt.bits / 8);
	in->frame_bytes = (size_t)((double)in->fmt.rate * d->o.frame_ms /
	    1000) * in->bpf;
	if (in->frame_bytes < in->bpf)
		in->frame_bytes = in->bpf;
	if (dgr_init(&d->ring, in->bpf, in->fmt.rate, d->o.replay_max_ms,
	    in->frame_bytes) < 0)
		cp_die(CP_EXIT_TEMP, "out of memory for a %ld ms replay buffer",
		    d->o.replay_max_ms);
	dg_state_init(&d->st, in->fmt.channels);
	in->have_fmt = 1;
}

/* A full ring pauses reading (backpressure) instead of dropping the oldest
 * audio: always with -O, never with -L; otherwise for a regular file, or once
 * the input has arrived FAST_LEAD_MS faster than real time, which no live call
 * can. */
static int
pause_when_full(const struct dgs *d)
{
	if (d->o.mode)
		return d->o.mode == 'O';
	return d->in.regular || d->in.fast;
}

/* Is stdin worth polling? Not at its end, and not while a full ring waits. */
static int
input_wanted(const struct dgs *d)
{
	if (d->in.eof)
		return 0;
	return !(d->in.have_fmt && dgr_full(&d->ring) && pause_when_full(d));
}

/* Called after audio arrived: is the input faster than real time? (sticky) */
static void
note_rate(struct dgs *d)
{
	struct input *in = &d->in;
	int64_t now, el;
	double audio_ms;

	if (d->ring.end == 0 || in->fast || d->o.mode || in->regular)
		return;
	now = cp_now_ms();
	if (in->first_at < 0) {
		in->first_at = now;
		return;
	}
	el = now - in->first_at;
	audio_ms = dgr_secs(&d->ring, d->ring.end) * 1000;
	if (audio_ms - (double)el > FAST_LEAD_MS) {
		in->fast = 1;
		say('i', "input arrives faster than real time (%.1f s of audio in %.1f s): not a live call, so a full replay buffer pauses reading instead of dropping audio",
		    audio_ms / 1000, (double)el / 1000);
	}
}

static void
warn_dropped(struct dgs *d)
{
	int64_t now;

	if (d->ring.dropped == d->n.dropped_seen)
		return;
	d->n.dropped_seen = d->ring.dropped;
	now = cp_now_ms();
	if (now - d->n.last_drop_warn >= 5000) {
		d->n.last_drop_warn = now;
		say('w', "replay buffer full (%ld ms): dropping the oldest audio (%.0f ms so far)",
		    d->o.replay_max_ms,
		    dgr_secs(&d->ring, d->ring.dropped) * 1000);
	}
}

/* -a: a supervisor reading the shared count learns where this session's input
 * stopped (one store per read, no syscall). */
static void
count_audio(struct dgs *d, size_t n)
{
	if (d->in.count != NULL)
		__atomic_fetch_add(d->in.count, (uint64_t)n, __ATOMIC_RELAXED);
}

static void
take_audio(struct dgs *d, const unsigned char *p, size_t n)
{
	count_audio(d, n);
	if (d->in.data_left != UINT64_MAX) {
		if (n > d->in.data_left)
			n = (size_t)d->in.data_left; /* the rest: not audio */
		d->in.data_left -= n;
		if (d->in.data_left == 0)
			d->in.eof = 1;
	}
	(void)dgr_put(&d->ring, p, n);
	warn_dropped(d);
	note_rate(d);
}

/* The WAV header, in small reads: what follows it must fit the smallest ring
 * (1000 bytes) so that nothing is dropped at the start. */
static ssize_t
read_header(struct dgs *d)
{
	struct input *in = &d->in;
	unsigned char buf[512];
	size_t want = sizeof in->hdr - in->hdrlen, take, hl;
	uint32_t dl;
	const char *why = NULL;
	ssize_t r;
	int p;

	r = read(0, buf, want < sizeof buf ? want : sizeof buf);
	if (r <= 0)
		return r;
	take = (size_t)r;
	memcpy(in->hdr + in->hdrlen, buf, take);
	in->hdrlen += take;
	p = wav_parse(in->hdr, in->hdrlen, &in->fmt, &hl, &dl, &why);
	if (p < 0)
		say(CP_EXIT_PERM, "unable to read the WAV header on stdin: %s (raw audio needs -e, -r and -c)",
		    why ? why : "bad header");
	if (p == 0) {
		if (in->hdrlen >= sizeof in->hdr)
			say(CP_EXIT_PERM, "unable to read the WAV header on stdin: no data chunk");
		return r;
	}
	if (dl != WAV_STREAMING)
		in->data_left = dl;
	setup_format(d);
	say('i', "input: WAV %s, %u Hz, %u channel%s%s", wav_encoding(&in->fmt),
	    in->fmt.rate, in->fmt.channels, in->fmt.channels == 1 ? "" : "s",
	    dl == WAV_STREAMING ? ", streaming" : "");
	take_audio(d, in->hdr + hl, in->hdrlen - hl);
	return r;
}

/* Audio: straight into the ring when it has contiguous room, else through a
 * buffer (a live input keeps being read into a full ring: the oldest audio
 * goes). */
static ssize_t
read_audio(struct dgs *d)
{
	unsigned char buf[READ_MAX];
	size_t k;
	unsigned char *w = dgr_wptr(&d->ring, &k);
	ssize_t r;

	if (d->in.data_left != UINT64_MAX && k > d->in.data_left)
		k = (size_t)d->in.data_left;
	if (k >= 4096) {
		if (k > READ_MAX * 4)
			k = READ_MAX * 4;
		r = read(0, w, k);
		if (r > 0) {
			count_audio(d, (size_t)r);
			dgr_commit(&d->ring, (size_t)r);
			if (d->in.data_left != UINT64_MAX &&
			    (d->in.data_left -= (uint64_t)r) == 0)
				d->in.eof = 1;
			note_rate(d);
		}
		return r;
	}
	k = dgr_room(&d->ring);
	r = read(0, buf, pause_when_full(d) && k < sizeof buf ? k : sizeof buf);
	if (r > 0)
		take_audio(d, buf, (size_t)r);
	return r;
}

/* One read() from stdin. Returns 1 if data came, 0 otherwise. */
static int
read_input(struct dgs *d)
{
	ssize_t r;

	if (!input_wanted(d))
		return 0;
	r = d->in.have_fmt ? read_audio(d) : read_header(d);
	if (r > 0)
		return 1;
	if (r == 0)
		d->in.eof = 1;
	else if (errno != EAGAIN && errno != EINTR) {
		cp_warnsys("unable to read stdin");
		d->in.eof = 1;
	}
	return 0;
}

/* At the end of the input: there must have been a header, and whole sample
 * frames. */
static void
input_ended(struct dgs *d)
{
	size_t k;

	if (!d->in.have_fmt)
		say(CP_EXIT_PERM, "no audio on stdin (end of input before a WAV header)");
	if ((k = dgr_trim_partial(&d->ring)) > 0)
		say('w', "input ends inside a sample frame: the last %zu bytes are ignored", k);
}

/* ---------------------------------------------------------------------- URL */

/* Deepgram's query parameters for a phone call, each added unless the user set
 * it. */
static const struct {
	const char *name, *value;
} defaults[] = {
	{ "model", "nova-3" },
	{ "smart_format", "true" },
	{ "interim_results", "true" },
	{ "utterance_end_ms", "1000" },
	{ "vad_events", "true" },
};

/* The value of name in the URL's query or in -P (the first one), or NULL. */
static const char *
user_param(const struct dgs *d, const char *name, size_t *vlen)
{
	const char *q = strchr(d->base_url, '?');
	size_t nl = strlen(name);
	int i;

	for (i = 0; i < d->o.nparam; i++)
		if (strncmp(d->o.param[i], name, nl) == 0 &&
		    d->o.param[i][nl] == '=') {
			*vlen = strlen(d->o.param[i] + nl + 1);
			return d->o.param[i] + nl + 1;
		}
	for (q = q ? q + 1 : NULL; q && *q && *q != '#'; ) {
		if (strncmp(q, name, nl) == 0 && (q[nl] == '=' ||
		    q[nl] == '&' || q[nl] == '\0' || q[nl] == '#')) {
			q += nl + (q[nl] == '=');
			*vlen = strcspn(q, "&#");
			return q;
		}
		if ((q = strchr(q, '&')) != NULL)
			q++;
	}
	return NULL;
}

static void
append(char *u, size_t size, const char *name, const char *value)
{
	size_t n = strlen(u);
	char sep = strchr(u, '?') == NULL ? '?' :
	    (u[n - 1] == '?' || u[n - 1] == '&') ? 0 : '&';

	snprintf(u + n, size - n, "%s%s=%s",
	    sep ? (sep == '?' ? "?" : "&") : "", name, value);
}

/* -P value, percent-encoded outside RFC 3986's unreserved characters. */
static void
append_param(char *u, size_t size, const char *p)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[128], val[3 * 4096 + 1];
	const char *eq = strchr(p, '=');
	size_t n = 0;

	snprintf(name, sizeof name, "%.*s", (int)(eq - p), p);
	for (p = eq + 1; *p && n < sizeof val - 4; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL)
			val[n++] = (char)ch;
		else {
			val[n++] = '%';
			val[n++] = hex[ch >> 4];
			val[n++] = hex[ch & 15];
		}
	}
	val[n] = '\0';
	append(u, size, name, val);
}

/* u as printed: "user:password@" becomes "***@" (its password is a secret). */
static char *
shown_url(const char *u)
{
	const char *a = strstr(u, "://") + 3, *at, *end = a + strcspn(a, "/?#");
	char *s;

	at = memchr(a, '@', (size_t)(end - a));
	if (at == NULL)
		return strdup(u);
	add_secret(a, (size_t)(at - a));
	if (memchr(a, ':', (size_t)(at - a)) != NULL) {
		const char *c = memchr(a, ':', (size_t)(at - a));
		add_secret(c + 1, (size_t)(at - c - 1));
	}
	if ((s = malloc(strlen(u) + 4)) == NULL)
		return NULL;
	snprintf(s, strlen(u) + 4, "%.*s***%s", (int)(a - u), u, at);
	return s;
}

/* The URL: the user's (fragment removed), -P parameters, the defaults and the
 * audio parameters that neither sets. */
static void
build_url(struct dgs *d)
{
	const struct wav_fmt *f = &d->in.fmt;
	size_t size = strlen(d->base_url) + 512, i, vl;
	const char *v;
	char num[16];
	int ie_true;

	for (i = 0; i < (size_t)d->o.nparam; i++)
		size += 3 * strlen(d->o.param[i]) + 1;
	if ((d->url = malloc(size)) == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	snprintf(d->url, size, "%.*s", (int)strcspn(d->base_url, "#"),
	    d->base_url);
	for (i = 0; i < (size_t)d->o.nparam; i++)
		/* name= only turns a default off */
		if (strchr(d->o.param[i], '=')[1] != '\0')
			append_param(d->url, size, d->o.param[i]);
	v = user_param(d, "interim_results", &vl);
	ie_true = v == NULL || (vl == 4 && strncmp(v, "true", 4) == 0);
	for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		if (user_param(d, defaults[i].name, &vl) == NULL &&
		    (ie_true ||
		    strcmp(defaults[i].name, "utterance_end_ms") != 0))
			append(d->url, size, defaults[i].name,
			    defaults[i].value);
	if (user_param(d, "encoding", &vl) == NULL)
		append(d->url, size, "encoding", wav_encoding(f));
	snprintf(num, sizeof num, "%u", f->rate);
	if (user_param(d, "sample_rate", &vl) == NULL)
		append(d->url, size, "sample_rate", num);
	snprintf(num, sizeof num, "%u", f->channels);
	if (user_param(d, "channels", &vl) == NULL)
		append(d->url, size, "channels", num);
	if (f->channels > 1 && user_param(d, "multichannel", &vl) == NULL)
		append(d->url, size, "multichannel", "true");
	if ((d->shown = shown_url(d->url)) == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
}

/* --------------------------------------------------------------- connection */

static int
tick(void *arg)
{
	struct dgs *d = arg;
	int i;

	for (i = 0; i < 64 && read_input(d); i++)
		;
	return 0;
}

/* The sum of every channel's final end: it grows exactly when a final moved the
 * dedupe state, i.e. the connection made progress. */
static double
finals_mark(const struct dg_state *st)
{
	double s = 0;
	unsigned c;

	for (c = 0; c < DG_MAXCH; c++)
		s += st->final_end[c];
	return s;
}

/* Any live state -> DOWN: schedules the next attempt, or exits 111 when
 * --retry-for has passed without progress (dgconn.c: sessions that end without
 * a new final count as failures, so a server that accepts and drops every
 * connection is given up on like one that refuses). */
static void
conn_down(struct dgs *d, const char *cause, int was_connected)
{
	struct conn *c = &d->c;
	int64_t now = cp_now_ms(), opened = c->m.opened, t;

	wsc_free(c->ws);
	c->ws = NULL;
	t = dgc_down(&c->m, now, finals_mark(&d->st), random());
	if (t < 0) {
		summary(d);
		say(CP_EXIT_TEMP, "giving up after %ld s of failed attempts: %s",
		    d->o.retry_for_s, cause);
	}
	if (was_connected)
		say('w', "connection %d lost after %.1f s: %s; reconnecting in %.2f s, replaying from %.3f s (%.3f s of audio)",
		    c->m.n, (double)(now - opened) / 1000, cause,
		    (double)t / 1000,
		    dgr_secs(&d->ring, d->ring.start),
		    dgr_secs(&d->ring, d->ring.sent - d->ring.start));
	else
		say('w', "%s; retrying in %.2f s", cause, (double)t / 1000);
}

/* STREAMING or CLOSING -> DOWN: the one way a connection ends before the stream
 * is over. */
static void
conn_drop(struct dgs *d, const char *cause)
{
	char why[600];

	snprintf(why, sizeof why, "%s", cause); /* cause may point into ws */
	d->n.reconnects++;
	conn_down(d, why, 1);
}

/* CONNECTING -> STREAMING: resend everything the ring still holds. */
static void
conn_up(struct dgs *d)
{
	struct conn *c = &d->c;
	struct dgr *r = &d->ring;

	(void)dgc_up(&c->m, cp_now_ms(), finals_mark(&d->st));
	c->shift = dgr_rewind(r);
	c->pacing = c->m.n > 1 && d->o.catchup_pct > 0 && r->end > r->base;
	c->pace_t0 = c->m.opened;
	c->pace_b0 = r->base;
	c->metadata = 0;
	dg_newconn(&d->st);
	if (c->m.n > 1)
		say('i', "connection %d open, sending from %.3f s (%.3f s to catch up)",
		    c->m.n, c->shift, dgr_secs(r, r->end - r->base));
}

/* CONNECTING -> DOWN: a failed handshake, permanent (exit 100) or not. */
static void
conn_refused(struct dgs *d, int r)
{
	struct wsc *ws = d->c.ws;
	char cause[1200];
	int cls;

	if (r == WSC_EREFUSED) {
		const char *e = wsc_header(ws, "dg-error");
		char es[300];

		snprintf(es, sizeof es, "%s", e ? e : "none");
		e = wsc_header(ws, "dg-request-id");
		snprintf(cause, sizeof cause, "unable to connect to %.300s: HTTP %ld (dg-error: %s; dg-request-id: %.80s)",
		    d->shown, wsc_http_status(ws), es, e ? e : "none");
		cls = netfail_http(wsc_http_status(ws));
	} else {
		snprintf(cause, sizeof cause, "unable to connect to %.300s: %s",
		    d->shown, wsc_errmsg(ws));
		cls = r == WSC_EPROTO ? CP_EXIT_PERM : r == WSC_ERR ?
		    netfail_wsc(wsc_failclass(ws)) :
		    CP_EXIT_TEMP;
	}
	if (cls == CP_EXIT_PERM)
		say(CP_EXIT_PERM, "%s", cause);
	conn_down(d, cause, 0);
}

/* DOWN -> CONNECTING -> STREAMING, or back to DOWN. The handshake blocks;
 * tick() keeps reading stdin meanwhile. */
static void
conn_open(struct dgs *d)
{
	const char *hdrs[2] = { d->auth, NULL };
	struct wsc_opts o;
	int r;

	memset(&o, 0, sizeof o);
	o.url = d->url;
	o.headers = hdrs;
	o.timeout_ms = d->o.connect_timeout_s * 1000;
	o.max_msg = 1024 * 1024;
	o.tick = tick;
	o.tick_arg = d;
	o.sndbuf = SNDBUF;
	o.cafile = d->cafile;
	o.connect_to = d->front;
	if ((d->c.ws = wsc_new(&o)) == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	(void)dgc_connecting(&d->c.m);
	r = wsc_connect(d->c.ws);
	if (r == WSC_OK)
		conn_up(d);
	else
		conn_refused(d, r);
}

/* STREAMING -> CLOSING: all audio is out, ask Deepgram to finish. */
static void
conn_closestream(struct dgs *d, int64_t now)
{
	int r = wsc_send(d->c.ws, WSC_TEXT, "{\"type\":\"CloseStream\"}", 22);

	if (r != WSC_OK && r != WSC_AGAIN) {
		conn_drop(d, wsc_errmsg(d->c.ws));
		return;
	}
	(void)dgc_closestream(&d->c.m, now);
}

/* CLOSING -> the end: answer the close frame, wait (bounded) for the socket's
 * end. */
static void __attribute__((noreturn))
conn_done(struct dgs *d)
{
	(void)wsc_shutdown(d->c.ws, 1000, NULL, cp_now_ms() + 2000);
	finish(d, CP_EXIT_OK);
}

/* ------------------------------------------------------------ from Deepgram */

/* Counts a message from Deepgram that is not passed on, with a one-line warning
 * (every one of the first 10, then at most one each 5 s, always with the
 * running count). */
static void
ignore_msg(struct dgs *d, const char *head, size_t len)
{
	int64_t now = cp_now_ms();

	d->n.bad++;
	if (d->n.bad <= 10 || now - d->n.last_bad_warn >= 5000) {
		d->n.last_bad_warn = now;
		if (len > 0)
			say('w', "%s (%zu bytes; %lu ignored so far)", head, len, d->n.bad);
		else
			say('w', "%s (%lu ignored so far)", head, d->n.bad);
	}
}

/* A close frame: the end of the stream (1), or a lost connection (0). */
static int
on_close(struct dgs *d, const struct wsc_msg *m)
{
	char why[200], cause[300];
	int i, n = (int)(m->len < 120 ? m->len : 120);

	for (i = 0; i < n; i++)
		why[i] = (m->data[i] < 0x20 || m->data[i] == 0x7f) ? '?' :
		    (char)m->data[i];
	why[n] = '\0';
	if (d->c.m.state == DGC_CLOSING &&
	    (m->close_code == 1000 || d->c.metadata))
		return 1;
	if (m->close_code == 1008)
		say(CP_EXIT_PERM, "Deepgram closed the stream: %d %s (it cannot decode the audio as %s, %u Hz, %u channels)",
		    m->close_code, why, wav_encoding(&d->in.fmt),
		    d->in.fmt.rate, d->in.fmt.channels);
	snprintf(cause, sizeof cause, "closed by Deepgram: %d %s", m->close_code,
	    why);
	conn_drop(d, cause);
	return 0;
}

/* A text message: shifted, deduplicated, checked (dgmsg.c), then printed. */
static void
on_text(struct dgs *d, const struct wsc_msg *m)
{
	struct dg_out o;
	unsigned long odd = d->st.implausible;

	d->n.msgs++;
	d->st.heard = dgr_secs(&d->ring, d->ring.sent);
	if (dg_msg(&d->st, (const char *)m->data, m->len, d->c.shift, &o) < 0)
		cp_die(CP_EXIT_TEMP, "out of memory");
	if (o.action == DG_PASS)
		emit(d, (const char *)m->data, m->len);
	else if (o.action == DG_REWRITE) {
		emit(d, o.text, o.len);
		free(o.text);
	} else if (o.type == DGT_INVALID) {
		char w[120];

		snprintf(w, sizeof w, "ignoring a message from Deepgram: %s", o.why);
		ignore_msg(d, w, m->len);
	} else if (d->st.implausible != odd) {
		char w[200];

		snprintf(w, sizeof w, "ignoring a Results message with impossible times (ends at %.3f s; %.3f s of audio sent)",
		    o.end, d->st.heard);
		ignore_msg(d, w, m->len);
	}
	if (o.type == DGT_RESULTS && o.is_final)
		dgr_confirm(&d->ring, dg_confirmed(&d->st));
	if (o.type == DGT_METADATA && d->c.m.state == DGC_CLOSING)
		d->c.metadata = 1;
}

/* Handles one message from the connection. Returns 1 when the stream is over.
 */
static int
on_message(struct dgs *d, const struct wsc_msg *m)
{
	dgc_msg(&d->c.m, cp_now_ms());
	switch (m->type) {
	case WSC_TEXT:
		if (m->truncated)
			ignore_msg(d, "ignoring a message from Deepgram longer than 1 MiB", 0);
		else
			on_text(d, m);
		return 0;
	case WSC_BINARY:
		ignore_msg(d, "ignoring a binary message from Deepgram", m->len);
		return 0;
	case WSC_CLOSE:
		return on_close(d, m);
	default:
		return 0; /* pings: wsc answers them between frames */
	}
}

/* -------------------------------------------------------------- to Deepgram */

/* Replaying a backlog: would n more bytes go faster than --catchup-percent of
 * real time? */
static int
paced_out(const struct dgs *d, int64_t now, size_t n)
{
	const struct conn *c = &d->c;
	const struct dgr *r = &d->ring;
	double allowed = (double)(now - c->pace_t0) / 1000 * (double)r->bpf *
	    r->rate * (double)d->o.catchup_pct / 100 +
	    (double)d->in.frame_bytes;

	return (double)(r->sent - c->pace_b0) + (double)n > allowed;
}

/* Sends audio while the connection takes it (paced while replaying). */
static void
send_audio(struct dgs *d, int64_t now)
{
	struct conn *c = &d->c;
	struct dgr *r = &d->ring;

	while (c->ws != NULL && wsc_idle(c->ws)) {
		const unsigned char *p;
		size_t n;
		int rc;

		if ((p = dgr_next(r, d->in.frame_bytes, &n)) == NULL)
			return;
		if (c->pacing && paced_out(d, now, n))
			return;
		rc = wsc_send(c->ws, WSC_BINARY, p, n);
		if (rc != WSC_OK && rc != WSC_AGAIN) {
			conn_drop(d, wsc_errmsg(c->ws));
			return;
		}
		dgr_sent(r, n);
		dgc_sent(&c->m, now);
		if (c->pacing && r->sent >= r->end)
			c->pacing = 0; /* caught up: live from here */
	}
}

/* While STREAMING: audio, then CloseStream at the end of the input, or
 * KeepAlive when nothing went out for keepalive-ms. */
static void
pump(struct dgs *d, int64_t now)
{
	struct conn *c = &d->c;
	int r;

	if (d->ring.lost) {
		conn_drop(d, "replay buffer overflowed while Deepgram was not taking audio");
		return;
	}
	send_audio(d, now);
	if (c->m.state != DGC_STREAMING || !wsc_idle(c->ws))
		return;
	if (d->in.eof && dgr_unsent(&d->ring) == 0) {
		conn_closestream(d, now);
		return;
	}
	if (now - c->m.last_send >= d->o.keepalive_ms) {
		r = wsc_send(c->ws, WSC_TEXT, "{\"type\":\"KeepAlive\"}", 20);
		if (r != WSC_OK && r != WSC_AGAIN) {
			conn_drop(d, wsc_errmsg(c->ws));
			return;
		}
		d->n.keepalives++;
		dgc_sent(&c->m, now);
	}
}

/* A Deepgram that stopped reading (a frame stuck in flight, or the last results
 * owed after CloseStream, with no byte out and no message in for stall-timeout)
 * is replaced, not left to TCP's retransmission timeout of many minutes. */
static void
check_stall(struct dgs *d, int64_t now)
{
	struct conn *c = &d->c;
	char cause[200];

	if (!dgc_stalled(&c->m, now, !wsc_idle(c->ws), wsc_bytes_out(c->ws)))
		return;
	d->n.stalls++;
	snprintf(cause, sizeof cause, "Deepgram stalled: no byte out and no message in for %ld s",
	    d->o.stall_s);
	conn_drop(d, cause);
}

/* ----------------------------------------------------------------- the loop */

/* Work that is due now, before sleeping in poll. */
static void
step(struct dgs *d, int64_t now)
{
	struct conn *c = &d->c;

	if (!d->in.have_fmt)
		return;
	if (d->url == NULL) {
		build_url(d);
		if (d->o.print_url) {
			redact(d->shown, strlen(d->shown) + 1);
			printf("%s\n", d->shown);
			if (fflush(stdout) != 0 || ferror(stdout))
				cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
			exit(CP_EXIT_OK);
		}
	}
	if (dgc_due(&c->m, now)) {
		conn_open(d);
		now = cp_now_ms();
	}
	if (c->m.state == DGC_STREAMING)
		pump(d, now);
	if (c->m.state == DGC_STREAMING || c->m.state == DGC_CLOSING)
		check_stall(d, now);
	if (dgc_close_expired(&c->m, now)) {
		if (c->metadata)
			finish(d, CP_EXIT_OK);
		say('w', "Deepgram did not finish within %ld s after CloseStream",
		    d->o.close_timeout_s);
		finish(d, CP_EXIT_NEG);
	}
}

/* How long poll may sleep: the next keepalive, pacing step, close timeout,
 * stall check or connection attempt. */
static int
timeout(const struct dgs *d, int64_t now)
{
	const struct conn *c = &d->c;
	int64_t t = 1000;

	if (c->m.state == DGC_STREAMING) {
		t = c->m.last_send + d->o.keepalive_ms - now;
		if (c->pacing && dgr_unsent(&d->ring) > 0 && t > 20)
			t = 20;
	} else if (c->m.state == DGC_CLOSING)
		t = c->m.cs_at + d->o.close_timeout_s * 1000 - now;
	else if (c->m.state == DGC_DOWN && d->in.have_fmt)
		t = c->m.next_attempt - now;
	if (t > 1000)
		t = 1000;
	return t < 0 ? 0 : (int)t;
}

static void
on_signal(struct dgs *d)
{
	int s;

	while ((s = cp_sigread(d->sfd)) > 0) {
		if (++d->nsig > 1) {
			say('w', "second signal: stopping now");
			finish(d, CP_EXIT_TEMP);
		}
		say('i', "signal %d: finishing the stream", s);
		d->in.eof = 1;
	}
}

/* The socket: push what is pending, then read every message: when the socket is
 * readable, and at least each RECV_SWEEP_MS anyway (a safety net: wsc_recv only
 * says WSC_AGAIN once a read would block, so nothing it or OpenSSL already read is
 * left waiting). Not after every wake-up: a recvfrom that fails with EAGAIN on
 * each 20 ms audio frame was a quarter of the syscalls. */
static void
net_io(struct dgs *d, short revents, int64_t now)
{
	struct conn *c = &d->c;
	struct wsc_msg m;
	int r;

	if ((revents & POLLOUT) && wsc_flush(c->ws) == WSC_ERR) {
		conn_drop(d, wsc_errmsg(c->ws));
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)) &&
	    now - c->last_recv < RECV_SWEEP_MS)
		return;
	c->last_recv = now;
	/* wsc's input buffer and OpenSSL's hold bytes already read: always read until
	 * it says WSC_AGAIN */
	while (c->ws != NULL && (r = wsc_recv(c->ws, &m)) == WSC_OK)
		if (on_message(d, &m))
			conn_done(d);
	if (c->ws != NULL && (r == WSC_EOF || r == WSC_ERR)) {
		if (c->m.state == DGC_CLOSING && c->metadata)
			finish(d, CP_EXIT_OK);
		conn_drop(d, wsc_errmsg(c->ws));
	}
}

static void __attribute__((noreturn))
loop(struct dgs *d)
{
	enum { P_SIG, P_IN, P_NET, P_N };
	struct pollfd p[P_N];

	for (;;) {
		int64_t now = cp_now_ms();
		int r, ended = d->in.eof;

		step(d, now);
		now = cp_now_ms();
		p[P_SIG].fd = d->sfd;
		p[P_SIG].events = POLLIN;
		/* backpressure: a full ring stops reading */
		p[P_IN].fd = input_wanted(d) ? 0 : -1;
		p[P_IN].events = POLLIN;
		p[P_NET].fd = d->c.ws != NULL ? wsc_fd(d->c.ws) : -1;
		p[P_NET].events = d->c.ws != NULL ? wsc_events(d->c.ws) : 0;
		p[P_SIG].revents = p[P_IN].revents = p[P_NET].revents = 0;
		r = poll(p, P_N, timeout(d, now));
		if (r < 0 && errno != EINTR)
			cp_diesys(CP_EXIT_TEMP, "poll");
		if (p[P_SIG].revents & POLLIN)
			on_signal(d);
		if (p[P_IN].revents & (POLLIN | POLLHUP | POLLERR))
			(void)read_input(d);
		if (d->in.eof && !ended)
			input_ended(d);
		if (d->c.ws != NULL)
			net_io(d, p[P_NET].revents, cp_now_ms());
	}
}

/* -------------------------------------------------------------------- setup */

static void
add_P(struct opts *o, const char *p)
{
	size_t nl = strcspn(p, "=");

	if (p[nl] != '=' || nl == 0 || nl > 100 ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != nl ||
	    strlen(p + nl) > 4097)
		say(CP_EXIT_PERM, "invalid -P (name=value, name of letters, digits, _ . -): %.200s",
		    p);
	if (o->nparam == MAX_PARAMS)
		say(CP_EXIT_PERM, "more than %d -P options", MAX_PARAMS);
	o->param[o->nparam++] = p;
}

static void
options(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "encoding", required_argument, NULL, 'e' },
		{ "rate", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'c' },
		{ "url", required_argument, NULL, 'u' },
		{ "param", required_argument, NULL, 'P' },
		{ "print-url", no_argument, NULL, 'n' },
		{ "frame-ms", required_argument, NULL, 'f' },
		{ "keepalive-ms", required_argument, NULL, 'k' },
		{ "close-timeout", required_argument, NULL, 't' },
		{ "replay-max-ms", required_argument, NULL, 'm' },
		{ "retry-for", required_argument, NULL, 'T' },
		{ "catchup-percent", required_argument, NULL, 'p' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "stall-timeout", required_argument, NULL, 'S' },
		{ "live", no_argument, NULL, 'L' },
		{ "offline", no_argument, NULL, 'O' },
		{ "count-fd", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":e:r:c:u:P:nf:k:t:m:T:p:C:S:LOa:",
	    lopts, NULL)) != -1) {
		switch (ch) {
		case 'e': o->enc = optarg; break;
		case 'r': o->rate = optarg; break;
		case 'c': o->chans = optarg; break;
		case 'u': o->url = optarg; break;
		case 'P': add_P(o, optarg); break;
		case 'n': o->print_url = 1; break;
		case 'f':
			o->frame_ms = cp_optnum(optarg, 1, 1000, "-f frame-ms");
			break;
		case 'k':
			o->keepalive_ms = cp_optnum(optarg, 100, 60000,
			    "-k keepalive-ms");
			break;
		case 't':
			o->close_timeout_s = cp_optnum(optarg, 1, 3600,
			    "-t close-timeout");
			break;
		case 'm':
			o->replay_max_ms = cp_optnum(optarg, 1000, 3600000,
			    "-m replay-max-ms");
			break;
		case 'T':
			o->retry_for_s = cp_optnum(optarg, 0, 86400,
			    "-T retry-for");
			break;
		case 'p':
			o->catchup_pct = cp_optnum(optarg, 0, 100000,
			    "-p catchup-percent");
			break;
		case 'C':
			o->connect_timeout_s = cp_optnum(optarg, 1, 600,
			    "-C connect-timeout");
			break;
		case 'S':
			o->stall_s = cp_optnum(optarg, 1, 3600,
			    "-S stall-timeout");
			break;
		case 'a':
			o->count_fd = (int)cp_optnum(optarg, 3, 1023, "-a count-fd");
			break;
		case 'L':
		case 'O':
			if (o->mode && o->mode != ch)
				say(CP_EXIT_PERM, "-L (--live) and -O (--offline) conflict");
			o->mode = ch;
			break;
		default: cp_opterr(ch, argv, USAGE);
		}
	}
	if (argc != optind)
		cp_usage(USAGE);
	if ((o->enc || o->rate || o->chans) && !(o->enc && o->rate && o->chans))
		say(CP_EXIT_PERM, "raw audio needs all of -e, -r and -c");
}

/* -a fd: a shared memory file (memfd) of at least 8 bytes, mapped here; the fd
 * itself is closed. */
static void
count_map(struct dgs *d)
{
	void *p;

	if (d->o.count_fd < 0)
		return;
	p = mmap(NULL, sizeof *d->in.count, PROT_READ | PROT_WRITE, MAP_SHARED,
	    d->o.count_fd, 0);
	if (p == MAP_FAILED)
		cp_diesys(CP_EXIT_PERM, "unable to map -a count-fd %d", d->o.count_fd);
	(void)close(d->o.count_fd);
	d->in.count = p;
}

static void
raw_format(struct dgs *d)
{
	struct wav_fmt *f = &d->in.fmt;
	const char *e = d->o.enc;

	if (e == NULL)
		return;
	d->in.raw = 1;
	if (strcmp(e, "mulaw") == 0)
		f->format = WAV_MULAW, f->bits = 8;
	else if (strcmp(e, "alaw") == 0)
		f->format = WAV_ALAW, f->bits = 8;
	else if (strcmp(e, "linear16") == 0)
		f->format = WAV_PCM, f->bits = 16;
	else
		say(CP_EXIT_PERM, "invalid encoding (mulaw, alaw, linear16): %s", e);
	f->rate = (unsigned)cp_optnum(d->o.rate, 1000, 192000, "-r rate");
	f->channels = (unsigned)cp_optnum(d->o.chans, 1, DG_MAXCH,
	    "-c channels");
}

/* The Authorization header: DEEPGRAM_API_KEY as Token, or DEEPGRAM_ACCESS_TOKEN
 * (a short-lived JWT) as Bearer; exactly one of them. */
static void
credentials(struct dgs *d)
{
	const char *key = getenv("DEEPGRAM_API_KEY");
	const char *tok = getenv("DEEPGRAM_ACCESS_TOKEN");
	const char *name = "DEEPGRAM_API_KEY", *v = key, *scheme = "Token";
	size_t i;

	if (key != NULL && *key == '\0')
		key = NULL;
	if (tok != NULL && *tok == '\0')
		tok = NULL;
	if (key != NULL && tok != NULL)
		say(CP_EXIT_PERM, "both DEEPGRAM_API_KEY and DEEPGRAM_ACCESS_TOKEN are set: set only one");
	if (key == NULL && tok == NULL)
		say(CP_EXIT_PERM, "no Deepgram API key: set DEEPGRAM_API_KEY in the environment (export DEEPGRAM_API_KEY=your-key; keys: https://console.deepgram.com), or DEEPGRAM_ACCESS_TOKEN to a token from Deepgram's /v1/auth/grant");
	if (tok != NULL)
		name = "DEEPGRAM_ACCESS_TOKEN", v = tok, scheme = "Bearer";
	for (i = 0; v[i]; i++)
		if ((unsigned char)v[i] < 0x21 || v[i] == 0x7f)
			say(CP_EXIT_PERM, "%s contains spaces or control characters",
			    name);
	if (i > 4096)
		say(CP_EXIT_PERM, "%s is longer than 4096 bytes", name);
	add_secret(v, i);
	if ((d->auth = malloc(i + 32)) == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	snprintf(d->auth, i + 32, "Authorization: %s %s", scheme, v);
}

static void
note_secrets(void)
{
	const char *v;

	if ((v = getenv("DEEPGRAM_API_KEY")) != NULL)
		add_secret(v, strlen(v));
	if ((v = getenv("DEEPGRAM_ACCESS_TOKEN")) != NULL)
		add_secret(v, strlen(v));
}

/* DEEPGRAM_TLS_FRONT: a local process doing TLS for a wss:// URL. Numeric
 * loopback only: the API key crosses it in clear. Ignored for ws://. */
static void
tls_front(struct dgs *d)
{
	const char *v = getenv("DEEPGRAM_TLS_FRONT");
	unsigned char a[16];
	char h[64], p[8];
	int lo;

	if (v == NULL || *v == '\0' || strncmp(d->base_url, "wss://", 6) != 0)
		return;
	if (wsc_splithostport(v, h, sizeof h, p) < 0)
		say(CP_EXIT_PERM, "invalid DEEPGRAM_TLS_FRONT: want"
		    " 127.0.0.1:port or [::1]:port, not %.100s", v);
	if (inet_pton(AF_INET, h, a) == 1)
		lo = a[0] == 127;
	else
		lo = inet_pton(AF_INET6, h, a) == 1 &&
		    memcmp(a, &in6addr_loopback, sizeof a) == 0;
	if (!lo)
		say(CP_EXIT_PERM, "invalid DEEPGRAM_TLS_FRONT %.100s: not a"
		    " numeric loopback address (the API key crosses it in"
		    " clear)", v);
	d->front = v;
}

/* Environment, credentials, signals, stdin. */
static void
configure(struct dgs *d)
{
	const char *u = d->o.url;
	struct stat sb;
	int sigs[] = { SIGINT, SIGTERM };

	raw_format(d);
	if (!d->o.print_url)
		credentials(d);
	else
		note_secrets(); /* -n needs none, but never prints one */
	if (u == NULL)
		u = getenv("DEEPGRAM_URL");
	if (u == NULL || *u == '\0')
		u = DEFAULT_URL;
	if (strncmp(u, "ws://", 5) != 0 && strncmp(u, "wss://", 6) != 0)
		say(CP_EXIT_PERM, "invalid Deepgram URL: it must start with ws:// or wss://");
	if (strcspn(u, "#") > 8000)
		say(CP_EXIT_PERM, "invalid Deepgram URL: longer than 8000 bytes");
	d->base_url = u;
	free(shown_url(u)); /* its password becomes a secret now */
	d->cafile = getenv("DEEPGRAM_CA_FILE");
	if (d->cafile != NULL && *d->cafile == '\0')
		d->cafile = NULL;
	if (d->cafile != NULL && access(d->cafile, R_OK) != 0)
		cp_diesys(CP_EXIT_PERM, "unable to read DEEPGRAM_CA_FILE %s", d->cafile);
	tls_front(d);
	if ((d->sfd = cp_sigfd(sigs, 2)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	if (fstat(0, &sb) == 0 && S_ISREG(sb.st_mode))
		d->in.regular = 1;
	if (!d->in.regular && cp_setnonblock(0, 1) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to make stdin non-blocking");
	srandom((unsigned)(cp_now_us() ^ getpid()));
	if (d->in.raw)
		setup_format(d);
}

int
main(int argc, char **argv)
{
	static struct dgs d;

	cp_setprog(argv[0]);
	cp_help(argc, argv, USAGE);
	cp_ignore_sigpipe();
	d.o.frame_ms = 20;
	d.o.keepalive_ms = 4000;
	d.o.close_timeout_s = 10;
	d.o.replay_max_ms = 60000;
	d.o.retry_for_s = 60;
	d.o.catchup_pct = 125;
	d.o.connect_timeout_s = 10;
	d.o.stall_s = 10;
	d.in.first_at = -1;
	d.in.data_left = UINT64_MAX;
	d.o.count_fd = -1;
	options(argc, argv, &d.o);
	count_map(&d);
	dgc_init(&d.c.m, d.o.retry_for_s * 1000, d.o.stall_s * 1000,
	    d.o.close_timeout_s * 1000);
	configure(&d);
	loop(&d);
}
