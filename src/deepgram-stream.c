/* deepgram-stream: audio on stdin -> Deepgram live speech-to-text -> one JSON message a line.
 *
 * One poll() loop over stdin, the signal pipe and the WebSocket (wsc.c, libcurl
 * CONNECT_ONLY). Audio goes into a ring buffer that doubles as the replay buffer: it keeps
 * every byte since the end of the last final result of the slowest channel (bounded by
 * --replay-max-ms). A dropped connection is re-opened with backoff, the ring is sent again
 * from that point (paced at --catchup-percent of real time), and dgmsg.c shifts the new
 * connection's times and drops finals that were already delivered. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp.h"
#include "dgmsg.h"
#include "wav.h"
#include "wsc.h"

#define USAGE "deepgram-stream [-L | -O] [-e encoding -r rate -c channels] [-u url] [-f frame-ms]" \
	" [-k keepalive-ms] [-t close-timeout] [-m replay-max-ms] [-T retry-for]" \
	" [-p catchup-percent] [-C connect-timeout]"
#define DEFAULT_URL "wss://api.deepgram.com/v1/listen"
#define READ_MAX 65536
#define SNDBUF 65536 /* keep the backlog in the ring, where it can be replayed and counted */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 8000
#define FAST_LEAD_MS 10000 /* input this far ahead of the clock is not a live call */

/* options */
static long frame_ms = 20, keepalive_ms = 4000, close_timeout_s = 10, replay_max_ms = 60000;
static long retry_for_s = 60, catchup_pct = 125, connect_timeout_s = 10;

/* audio format */
static struct wav_fmt fmt;
static int have_fmt, raw_mode;
static size_t bpf;           /* bytes per frame (all channels) */
static double bytes_per_sec;
static size_t frame_bytes;   /* largest audio frame we send */

/* input */
static int in_eof;
static int in_regular;       /* stdin is a regular file: nobody upstream to stall, so a
                              * full ring pauses reading instead of dropping audio */
static int in_mode;          /* 0: decide (auto), 'L': --live, 'O': --offline */
static int in_fast;          /* auto: the input ran FAST_LEAD_MS ahead of real time */
static int64_t first_audio_at = -1;
static unsigned char hdr[WAV_SCAN_MAX + 16];
static size_t hdrlen;
static uint64_t data_left = UINT64_MAX; /* WAV data length still expected */

/* the ring: absolute byte positions of the audio stream */
static unsigned char *ring;
static size_t cap;
static uint64_t a_start, a_sent, a_end, a_sent_max, sent_bytes;

/* the connection */
static struct wsc *ws;
static char *url;
static const char *cafile; /* DEEPGRAM_CA_FILE: CAs to trust instead of the system's */
static char *auth;
static int nconn;            /* connections made (handshakes that succeeded) */
static uint64_t base;        /* absolute offset of this connection's first audio byte */
static double shift;
static int got_msg, cs_sent, metadata;
static int64_t cs_at, last_send, conn_at;
static int pacing;
static int64_t pace_t0;
static uint64_t pace_b0;
static int64_t next_attempt, fail_since = -1;
static int backoff_n;
static int lost_while_connected;

static struct dg_state st;

/* stats */
static unsigned long n_msgs, n_reconnects, n_keepalives, n_badmsgs;
static uint64_t replayed_bytes, dropped_bytes;
static int64_t last_drop_warn, last_bad_warn;

static char *out;
static size_t outcap;

static void
summary(void)
{
	char chs[700];
	size_t n = 0;
	unsigned c;
	double secs = have_fmt ? (double)sent_bytes / bytes_per_sec : 0;

	chs[0] = '\0';
	for (c = 0; have_fmt && c < fmt.channels && n < sizeof chs - 40; c++)
		n += (size_t)snprintf(chs + n, sizeof chs - n, "%sch%u=%.3f", c ? " " : "", c, secs);
	cp_info("summary: audio sent s %s, messages %lu, finals %lu, reconnects %lu, replayed %.0f ms, keepalives %lu, dropped audio %.0f ms, ignored messages %lu",
	    n ? chs : "none", n_msgs, st.finals, n_reconnects,
	    have_fmt ? (double)replayed_bytes * 1000 / bytes_per_sec : 0, n_keepalives,
	    have_fmt ? (double)dropped_bytes * 1000 / bytes_per_sec : 0, n_badmsgs);
}

static void __attribute__((noreturn))
finish(int code)
{
	summary();
	/* Everything went out with write(2) (no stdio buffers), and the kernel closes the
	 * socket: skip the exit handlers and destructors of libcurl's ~35 libraries, which
	 * touch pages that were never needed (~0.3 MB on the peak RSS). Sanitizer builds
	 * keep exit() for the leak check. */
#if defined(__SANITIZE_ADDRESS__)
	exit(code);
#else
	_exit(code);
#endif
}

static void
emit(const char *s, size_t len)
{
	if (len + 1 > outcap) {
		size_t c = outcap ? outcap : 4096;
		char *p;

		while (c < len + 1)
			c *= 2;
		p = realloc(out, c);
		if (p == NULL)
			cp_die(CP_EXIT_TEMP, "out of memory");
		out = p;
		outcap = c;
	}
	memcpy(out, s, len);
	out[len] = '\n';
	if (cp_writeall(1, out, len + 1) < 0) {
		int e = errno;

		summary();
		if (e == EPIPE)
			cp_die(CP_EXIT_TEMP, "unable to write to stdout: reader gone");
		errno = e;
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
	}
	if (outcap > 65536) { /* a big message is out: give its memory back */
		free(out);
		out = NULL;
		outcap = 0;
	}
}

/* ---------------------------------------------------------------- input */

static void
setup_format(void)
{
	bpf = (size_t)fmt.channels * (fmt.bits / 8);
	bytes_per_sec = (double)bpf * fmt.rate;
	frame_bytes = (size_t)((double)fmt.rate * frame_ms / 1000) * bpf;
	if (frame_bytes < bpf)
		frame_bytes = bpf;
	cap = (size_t)((double)fmt.rate * replay_max_ms / 1000) * bpf;
	if (cap < frame_bytes * 4)
		cap = frame_bytes * 4;
	ring = malloc(cap);
	if (ring == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory for a %zu-byte replay buffer", cap);
	dg_state_init(&st, fmt.channels);
	have_fmt = 1;
}

/* A full ring pauses reading (backpressure) instead of dropping the oldest audio:
 * always with -O, never with -L; otherwise for a regular file, or once the input has
 * arrived FAST_LEAD_MS faster than real time, which no live call can. */
static int
pause_when_full(void)
{
	if (in_mode)
		return in_mode == 'O';
	return in_regular || in_fast;
}

static int
ring_full(void)
{
	return have_fmt && a_end - a_start >= cap;
}

/* Called after audio arrived: is the input faster than real time? (sticky) */
static void
note_rate(void)
{
	int64_t now, el;
	double audio_ms;

	if (a_end == 0 || in_fast || in_mode || in_regular)
		return;
	now = cp_now_ms();
	if (first_audio_at < 0) {
		first_audio_at = now;
		return;
	}
	el = now - first_audio_at;
	audio_ms = (double)a_end * 1000 / bytes_per_sec;
	if (audio_ms - (double)el > FAST_LEAD_MS) {
		in_fast = 1;
		cp_info("input arrives faster than real time (%.1f s of audio in %.1f s): not a live call, so a full replay buffer pauses reading instead of dropping audio",
		    audio_ms / 1000, (double)el / 1000);
	}
}

/* Forget the oldest n bytes of the ring (it is full). */
static void
drop_oldest(uint64_t n)
{
	int64_t now = cp_now_ms();

	a_start += n;
	dropped_bytes += n;
	if (a_sent < a_start) {
		if (ws != NULL && !lost_while_connected)
			lost_while_connected = 1; /* times of this connection would no longer fit */
		a_sent = a_start;
	}
	if (now - last_drop_warn >= 5000) {
		last_drop_warn = now;
		cp_warn("replay buffer full (%ld ms): dropping the oldest audio (%.0f ms so far)",
		    replay_max_ms, (double)dropped_bytes * 1000 / bytes_per_sec);
	}
}

static void
put_audio(const unsigned char *p, size_t n)
{
	if (data_left != UINT64_MAX && n > data_left)
		n = (size_t)data_left; /* bytes after the WAV data chunk are ignored */
	while (n > 0) {
		size_t idx, k, room = cap - (size_t)(a_end - a_start);

		if (room == 0) {
			uint64_t d = n < cap ? n : cap;

			d = (d + bpf - 1) / bpf * bpf;
			if (d > a_end - a_start)
				d = a_end - a_start;
			drop_oldest(d);
			continue;
		}
		idx = (size_t)(a_end % cap);
		k = cap - idx;
		if (k > n)
			k = n;
		if (k > room)
			k = room;
		memcpy(ring + idx, p, k);
		a_end += k;
		p += k;
		n -= k;
		if (data_left != UINT64_MAX)
			data_left -= k;
	}
	if (data_left == 0)
		in_eof = 1;
}

/* One read() from stdin. Returns 1 if data came, 0 otherwise. */
static int
read_input(void)
{
	unsigned char buf[READ_MAX];
	ssize_t r;

	if (in_eof)
		return 0;
	if (ring_full() && pause_when_full())
		return 0; /* full: wait for Deepgram */
	if (have_fmt) {
		/* read straight into the ring when it has contiguous room */
		size_t idx = (size_t)(a_end % cap), room = cap - (size_t)(a_end - a_start);
		size_t k = cap - idx;

		if (k > room)
			k = room;
		if (data_left != UINT64_MAX && k > data_left)
			k = (size_t)data_left;
		if (k >= 4096) {
			if (k > READ_MAX * 4)
				k = READ_MAX * 4;
			r = read(0, ring + idx, k);
			if (r > 0) {
				a_end += (uint64_t)r;
				if (data_left != UINT64_MAX && (data_left -= (uint64_t)r) == 0)
					in_eof = 1;
				note_rate();
				return 1;
			}
			goto done;
		}
		if (pause_when_full())
			r = read(0, buf, room < sizeof buf ? room : sizeof buf); /* never drop */
		else
			r = read(0, buf, sizeof buf);
	} else {
		/* the header, in small reads: what follows it must fit the smallest ring
		 * (1000 bytes) so that nothing is dropped at the start */
		size_t want = sizeof hdr - hdrlen;

		r = read(0, buf, want < 512 ? want : 512);
	}
	if (r > 0) {
		if (!have_fmt) {
			size_t take = (size_t)r, hl;
			uint32_t dl;
			const char *why = NULL;
			int p;

			if (take > sizeof hdr - hdrlen)
				take = sizeof hdr - hdrlen;
			memcpy(hdr + hdrlen, buf, take);
			hdrlen += take;
			p = wav_parse(hdr, hdrlen, &fmt, &hl, &dl, &why);
			if (p < 0)
				cp_die(CP_EXIT_PERM, "unable to read the WAV header on stdin: %s (raw audio needs -e, -r and -c)", why ? why : "bad header");
			if (p == 0) {
				if (take < (size_t)r || hdrlen >= sizeof hdr)
					cp_die(CP_EXIT_PERM, "unable to read the WAV header on stdin: no data chunk");
				return 1;
			}
			if (dl != WAV_STREAMING)
				data_left = dl;
			setup_format();
			cp_info("input: WAV %s, %u Hz, %u channel%s%s", wav_encoding(&fmt), fmt.rate,
			    fmt.channels, fmt.channels == 1 ? "" : "s",
			    dl == WAV_STREAMING ? ", streaming" : "");
			put_audio(hdr + hl, hdrlen - hl);
			put_audio(buf + take, (size_t)r - take);
			note_rate();
			return 1;
		}
		put_audio(buf, (size_t)r);
		note_rate();
		return 1;
	}
done:
	if (r == 0) {
		in_eof = 1;
		return 0;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	cp_warnsys("unable to read stdin");
	in_eof = 1;
	return 0;
}

/* ---------------------------------------------------------------- URL */

static int
has_param(const char *u, const char *name)
{
	const char *q = strchr(u, '?');
	size_t nl = strlen(name);

	if (q == NULL)
		return 0;
	for (q++; *q; ) {
		if (strncmp(q, name, nl) == 0 && (q[nl] == '=' || q[nl] == '&' || q[nl] == '\0'))
			return 1;
		q = strchr(q, '&');
		if (q == NULL)
			break;
		q++;
	}
	return 0;
}

static void
build_url(const char *u)
{
	char add[256];
	size_t n = 0, ul;
	const char *hash = strchr(u, '#');
	char sep;

	if (strncmp(u, "ws://", 5) != 0 && strncmp(u, "wss://", 6) != 0)
		cp_die(CP_EXIT_PERM, "invalid Deepgram URL: it must start with ws:// or wss://");
	ul = hash ? (size_t)(hash - u) : strlen(u);
	if (ul > 8000)
		cp_die(CP_EXIT_PERM, "invalid Deepgram URL: longer than 8000 bytes");
	add[0] = '\0';
	if (!has_param(u, "encoding"))
		n += (size_t)snprintf(add + n, sizeof add - n, "&encoding=%s", wav_encoding(&fmt));
	if (!has_param(u, "sample_rate"))
		n += (size_t)snprintf(add + n, sizeof add - n, "&sample_rate=%u", fmt.rate);
	if (!has_param(u, "channels"))
		n += (size_t)snprintf(add + n, sizeof add - n, "&channels=%u", fmt.channels);
	if (fmt.channels > 1 && !has_param(u, "multichannel"))
		n += (size_t)snprintf(add + n, sizeof add - n, "&multichannel=true");
	url = malloc(ul + n + 2);
	if (url == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	memcpy(url, u, ul);
	url[ul] = '\0';
	if (n > 0) {
		const char *q = memchr(url, '?', ul);
		sep = q == NULL ? '?' : (url[ul - 1] == '?' || url[ul - 1] == '&') ? 0 : '&';
		if (sep) {
			url[ul++] = sep;
			url[ul] = '\0';
		}
		strcat(url, add + 1);
	}
}

/* ---------------------------------------------------------------- connection */

static int
tick(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 64 && read_input(); i++)
		;
	return 0;
}

static int
permanent_status(long s)
{
	return s >= 400 && s < 500 && s != 408 && s != 429;
}

static int
permanent_curl(int c)
{
	/* unsupported protocol, bad URL, TLS certificate problems: retrying cannot help */
	return c == 1 || c == 3 || c == 58 || c == 60 || c == 77;
}

static double
secs_of(uint64_t bytes)
{
	return (double)bytes / bytes_per_sec;
}

/* Schedules the next attempt; exits 111 when --retry-for has passed. */
static void
schedule(const char *cause, int was_connected)
{
	int64_t now = cp_now_ms(), d;

	if (fail_since < 0)
		fail_since = now;
	if (now - fail_since >= retry_for_s * 1000) {
		summary();
		cp_die(CP_EXIT_TEMP, "giving up after %ld s of failed attempts: %s", retry_for_s, cause);
	}
	d = BACKOFF_MIN_MS;
	if (backoff_n > 0)
		d = (int64_t)BACKOFF_MIN_MS << (backoff_n < 6 ? backoff_n : 6);
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	backoff_n++;
	d = d / 2 + (int64_t)(random() % (d / 2 + 1)); /* jitter */
	next_attempt = now + d;
	if (was_connected)
		cp_warn("connection %d lost after %.1f s: %s; reconnecting in %.2f s, replaying from %.3f s (%.3f s of audio)",
		    nconn, (double)(now - conn_at) / 1000, cause, (double)d / 1000, secs_of(a_start),
		    secs_of(a_sent - a_start));
	else
		cp_warn("%s; retrying in %.2f s", cause, (double)d / 1000);
}

static void
drop_conn(const char *cause)
{
	char c[600];

	snprintf(c, sizeof c, "%s", cause);
	wsc_free(ws);
	ws = NULL;
	n_reconnects++;
	schedule(c, 1);
}

static void
try_connect(void)
{
	const char *hdrs[2] = { auth, NULL };
	struct wsc_opts o;
	int r;

	memset(&o, 0, sizeof o);
	o.url = url;
	o.headers = hdrs;
	o.timeout_ms = connect_timeout_s * 1000;
	o.max_msg = 1024 * 1024;
	o.tick = tick;
	o.sndbuf = SNDBUF;
	o.cafile = cafile;
	ws = wsc_new(&o);
	if (ws == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	r = wsc_connect(ws);
	if (r != WSC_OK) {
		char cause[900];
		long s = wsc_http_status(ws);

		if (r == WSC_EREFUSED) {
			const char *e = wsc_header(ws, "dg-error");
			char es[300];
			snprintf(es, sizeof es, "%s", e ? e : "none");
			e = wsc_header(ws, "dg-request-id");
			snprintf(cause, sizeof cause, "unable to connect to %.300s: HTTP %ld (dg-error: %s; dg-request-id: %.80s)",
			    url, s, es, e ? e : "none");
			if (permanent_status(s)) {
				wsc_free(ws);
				ws = NULL;
				cp_die(CP_EXIT_PERM, "%s", cause);
			}
		} else {
			snprintf(cause, sizeof cause, "unable to connect to %.300s: %s", url, wsc_errmsg(ws));
			if (permanent_curl(wsc_curlcode(ws))) {
				wsc_free(ws);
				ws = NULL;
				cp_die(CP_EXIT_PERM, "%s", cause);
			}
		}
		wsc_free(ws);
		ws = NULL;
		schedule(cause, 0);
		return;
	}
	/* connected: resend everything the ring still holds */
	nconn++;
	conn_at = cp_now_ms();
	base = a_start;
	shift = secs_of(base);
	if (a_sent_max > base)
		replayed_bytes += a_sent_max - base;
	pacing = nconn > 1 && catchup_pct > 0 && a_end > base;
	pace_t0 = conn_at;
	pace_b0 = base;
	a_sent = base;
	got_msg = cs_sent = metadata = 0;
	dg_newconn(&st);
	lost_while_connected = 0;
	last_send = conn_at;
	if (nconn > 1)
		cp_info("connection %d open, sending from %.3f s (%.3f s to catch up)", nconn,
		    shift, secs_of(a_end - base));
}

/* ---------------------------------------------------------------- messages */

static void
trim_ring(void)
{
	double conf = dg_confirmed(&st);
	uint64_t pos;

	if (conf <= 0)
		return;
	pos = (uint64_t)floor(conf * fmt.rate + 1e-6) * bpf;
	if (pos > a_sent)
		pos = a_sent;
	if (pos > a_start)
		a_start = pos;
}

/* Counts a message from Deepgram that is not passed on, with a one-line warning (every
 * one of the first 10, then at most one each 5 s, always with the running count). */
static void
ignore_msg(const char *head, size_t len)
{
	int64_t now = cp_now_ms();

	n_badmsgs++;
	if (n_badmsgs <= 10 || now - last_bad_warn >= 5000) {
		last_bad_warn = now;
		if (len > 0)
			cp_warn("%s (%zu bytes; %lu ignored so far)", head, len, n_badmsgs);
		else
			cp_warn("%s (%lu ignored so far)", head, n_badmsgs);
	}
}

/* Handles one message from the connection. Returns 0, or 1 when the stream is over. */
static int
on_message(const struct wsc_msg *m)
{
	struct dg_out o;

	switch (m->type) {
	case WSC_TEXT:
		break;
	case WSC_BINARY:
		ignore_msg("ignoring a binary message from Deepgram", m->len);
		return 0;
	case WSC_PING:
	case WSC_PONG:
		return 0; /* wsc answers pings between frames */
	case WSC_CLOSE: {
		char why[200];
		int i, n = (int)(m->len < 120 ? m->len : 120);

		for (i = 0; i < n; i++)
			why[i] = (m->data[i] < 0x20 || m->data[i] == 0x7f) ? '?' : (char)m->data[i];
		why[n] = '\0';
		if (cs_sent && (m->close_code == 1000 || metadata))
			return 1;
		if (m->close_code == 1008)
			cp_die(CP_EXIT_PERM, "Deepgram closed the stream: %d %s (it cannot decode the audio as %s, %u Hz, %u channels)",
			    m->close_code, why, wav_encoding(&fmt), fmt.rate, fmt.channels);
		{
			char cause[300];
			snprintf(cause, sizeof cause, "closed by Deepgram: %d %s", m->close_code, why);
			drop_conn(cause);
		}
		return 0;
	}
	default:
		return 0;
	}
	if (m->truncated) {
		ignore_msg("ignoring a message from Deepgram longer than 1 MiB", 0);
		return 0;
	}
	n_msgs++;
	if (!got_msg) {
		got_msg = 1;
		fail_since = -1;
		backoff_n = 0;
	}
	if (dg_msg(&st, (const char *)m->data, m->len, shift, &o) < 0)
		cp_die(CP_EXIT_TEMP, "out of memory");
	switch (o.action) {
	case DG_PASS:
		emit((const char *)m->data, m->len);
		break;
	case DG_REWRITE:
		emit(o.text, o.len);
		free(o.text);
		break;
	default:
		if (o.type == DGT_INVALID) {
			char w[120];

			snprintf(w, sizeof w, "ignoring a message from Deepgram: %s", o.why);
			ignore_msg(w, m->len);
		}
		break;
	}
	if (o.type == DGT_RESULTS && o.is_final)
		trim_ring();
	if (o.type == DGT_METADATA && cs_sent)
		metadata = 1;
	return 0;
}

/* Sends audio and control messages while the connection takes them. */
static void
pump(int64_t now)
{
	int r;

	if (lost_while_connected) {
		drop_conn("replay buffer overflowed while Deepgram was not taking audio");
		return;
	}
	while (ws != NULL && wsc_idle(ws) && !cs_sent) {
		uint64_t avail = a_end - a_sent, n;
		size_t idx;

		if (avail < bpf)
			break;
		n = avail < frame_bytes ? avail - avail % bpf : frame_bytes;
		if (pacing) {
			double allowed = (double)(now - pace_t0) / 1000 * bytes_per_sec *
			    (double)catchup_pct / 100 + (double)frame_bytes;
			if ((double)(a_sent - pace_b0) + (double)n > allowed)
				return;
		}
		idx = (size_t)(a_sent % cap);
		if (n > cap - idx)
			n = cap - idx; /* the rest goes in the next frame */
		n -= n % bpf;
		if (n == 0) {
			/* a frame straddles the ring's end: bpf does not divide cap (never:
			 * cap is a multiple of bpf) */
			break;
		}
		r = wsc_send(ws, WSC_BINARY, ring + idx, (size_t)n);
		if (r != WSC_OK && r != WSC_AGAIN) {
			char cause[400];
			snprintf(cause, sizeof cause, "%s", wsc_errmsg(ws));
			drop_conn(cause);
			return;
		}
		a_sent += n;
		if (a_sent > a_sent_max) {
			sent_bytes += a_sent - (a_sent_max > a_sent - n ? a_sent_max : a_sent - n);
			a_sent_max = a_sent;
		}
		last_send = now;
		if (pacing && a_sent >= a_end)
			pacing = 0; /* caught up: live audio again goes out as it comes */
	}
	if (ws == NULL || cs_sent || !wsc_idle(ws))
		return;
	if (in_eof && a_sent >= a_end) {
		r = wsc_send(ws, WSC_TEXT, "{\"type\":\"CloseStream\"}", 22);
		if (r == WSC_OK || r == WSC_AGAIN) {
			cs_sent = 1;
			cs_at = now;
		} else {
			char cause[400];
			snprintf(cause, sizeof cause, "%s", wsc_errmsg(ws));
			drop_conn(cause);
		}
		return;
	}
	if (now - last_send >= keepalive_ms) {
		r = wsc_send(ws, WSC_TEXT, "{\"type\":\"KeepAlive\"}", 20);
		if (r == WSC_OK || r == WSC_AGAIN) {
			n_keepalives++;
			last_send = now;
		} else {
			char cause[400];
			snprintf(cause, sizeof cause, "%s", wsc_errmsg(ws));
			drop_conn(cause);
		}
	}
}

/* ---------------------------------------------------------------- main */

static long
numopt(const char *s, long min, long max, const char *what)
{
	long long v;

	if (cp_strtonum(s, min, max, &v) < 0)
		cp_die(CP_EXIT_PERM, "invalid %s (%ld..%ld): %s", what, min, max, s);
	return (long)v;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "encoding", required_argument, NULL, 'e' },
		{ "rate", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'c' },
		{ "url", required_argument, NULL, 'u' },
		{ "frame-ms", required_argument, NULL, 'f' },
		{ "keepalive-ms", required_argument, NULL, 'k' },
		{ "close-timeout", required_argument, NULL, 't' },
		{ "replay-max-ms", required_argument, NULL, 'm' },
		{ "retry-for", required_argument, NULL, 'T' },
		{ "catchup-percent", required_argument, NULL, 'p' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "live", no_argument, NULL, 'L' },
		{ "offline", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};
	const char *enc = NULL, *rate = NULL, *chans = NULL, *u = NULL, *key, *why;
	int ch, sigs[] = { SIGINT, SIGTERM }, sfd, nsig = 0, r;
	size_t i;

	cp_setprog(argv[0]);
	cp_ignore_sigpipe();
	while ((ch = getopt_long(argc, argv, "e:r:c:u:f:k:t:m:T:p:C:LO", lopts, NULL)) != -1) {
		switch (ch) {
		case 'e': enc = optarg; break;
		case 'r': rate = optarg; break;
		case 'c': chans = optarg; break;
		case 'u': u = optarg; break;
		case 'f': frame_ms = numopt(optarg, 1, 1000, "frame-ms"); break;
		case 'k': keepalive_ms = numopt(optarg, 100, 60000, "keepalive-ms"); break;
		case 't': close_timeout_s = numopt(optarg, 1, 3600, "close-timeout"); break;
		case 'm': replay_max_ms = numopt(optarg, 1000, 3600000, "replay-max-ms"); break;
		case 'T': retry_for_s = numopt(optarg, 0, 86400, "retry-for"); break;
		case 'p': catchup_pct = numopt(optarg, 0, 100000, "catchup-percent"); break;
		case 'C': connect_timeout_s = numopt(optarg, 1, 600, "connect-timeout"); break;
		case 'L':
		case 'O':
			if (in_mode && in_mode != ch)
				cp_die(CP_EXIT_PERM, "-L (--live) and -O (--offline) conflict");
			in_mode = ch;
			break;
		default: cp_usage(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		cp_usage(USAGE);
	if ((enc || rate || chans) && !(enc && rate && chans))
		cp_die(CP_EXIT_PERM, "raw audio needs all of -e, -r and -c");
	if (enc) {
		raw_mode = 1;
		if (strcmp(enc, "mulaw") == 0)
			fmt.format = WAV_MULAW, fmt.bits = 8;
		else if (strcmp(enc, "alaw") == 0)
			fmt.format = WAV_ALAW, fmt.bits = 8;
		else if (strcmp(enc, "linear16") == 0)
			fmt.format = WAV_PCM, fmt.bits = 16;
		else
			cp_die(CP_EXIT_PERM, "invalid encoding (mulaw, alaw, linear16): %s", enc);
		fmt.rate = (unsigned)numopt(rate, 1000, 192000, "rate");
		fmt.channels = (unsigned)numopt(chans, 1, DG_MAXCH, "channels");
	}
	key = getenv("DEEPGRAM_API_KEY");
	if (key == NULL || *key == '\0')
		cp_die(CP_EXIT_PERM, "no Deepgram API key: set DEEPGRAM_API_KEY in the environment (export DEEPGRAM_API_KEY=your-key; keys: https://console.deepgram.com)");
	for (i = 0; key[i]; i++)
		if ((unsigned char)key[i] < 0x21 || key[i] == 0x7f)
			cp_die(CP_EXIT_PERM, "DEEPGRAM_API_KEY contains spaces or control characters");
	if (i > 4096)
		cp_die(CP_EXIT_PERM, "DEEPGRAM_API_KEY is longer than 4096 bytes");
	if (u == NULL)
		u = getenv("DEEPGRAM_URL");
	if (u == NULL || *u == '\0')
		u = DEFAULT_URL;
	if (strncmp(u, "ws://", 5) != 0 && strncmp(u, "wss://", 6) != 0)
		cp_die(CP_EXIT_PERM, "invalid Deepgram URL: it must start with ws:// or wss://");
	cafile = getenv("DEEPGRAM_CA_FILE");
	if (cafile != NULL && *cafile == '\0')
		cafile = NULL;
	if (cafile != NULL && access(cafile, R_OK) != 0)
		cp_diesys(CP_EXIT_PERM, "unable to read DEEPGRAM_CA_FILE %s", cafile);
	if (strncmp(u, "ws://", 5) == 0)
		wsc_no_tls(); /* no TLS: skip OpenSSL's config file and error strings */
	if ((why = wsc_check()) != NULL)
		cp_die(CP_EXIT_PERM, "unable to use libcurl: %s", why);
	auth = malloc(strlen(key) + 32);
	if (auth == NULL)
		cp_die(CP_EXIT_TEMP, "out of memory");
	snprintf(auth, strlen(key) + 32, "Authorization: Token %s", key);
	if ((sfd = cp_sigfd(sigs, 2)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	{
		struct stat sb;
		if (fstat(0, &sb) == 0 && S_ISREG(sb.st_mode))
			in_regular = 1;
	}
	if (!in_regular && cp_setnonblock(0, 1) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to make stdin non-blocking");
	srandom((unsigned)(cp_now_us() ^ getpid()));
	if (raw_mode)
		setup_format();

	for (;;) {
		struct pollfd p[3];
		int np = 0, ip = -1, wp = -1, sp;
		int64_t now = cp_now_ms(), t = 1000;

		if (have_fmt && url == NULL)
			build_url(u);
		/* connect when due (the handshake keeps reading stdin through tick) */
		if (have_fmt && ws == NULL && now >= next_attempt) {
			try_connect();
			now = cp_now_ms();
		}
		if (ws != NULL)
			pump(now);
		if (ws != NULL && cs_sent && now - cs_at >= close_timeout_s * 1000) {
			if (metadata)
				finish(CP_EXIT_OK);
			cp_warn("Deepgram did not finish within %ld s after CloseStream", close_timeout_s);
			finish(CP_EXIT_NEG);
		}

		sp = np;
		p[np].fd = sfd;
		p[np++].events = POLLIN;
		if (!in_eof && !(ring_full() && pause_when_full())) {
			ip = np;
			p[np].fd = 0;
			p[np++].events = POLLIN;
		}
		if (ws != NULL) {
			wp = np;
			p[np].fd = wsc_fd(ws);
			p[np++].events = wsc_events(ws);
			if (!cs_sent) {
				int64_t ka = last_send + keepalive_ms - now;
				if (ka < t)
					t = ka;
				if (pacing && a_end > a_sent)
					t = t > 20 ? 20 : t;
			} else {
				int64_t ct = cs_at + close_timeout_s * 1000 - now;
				if (ct < t)
					t = ct;
			}
		} else if (have_fmt) {
			int64_t na = next_attempt - now;
			if (na < t)
				t = na;
		}
		if (t < 0)
			t = 0;
		for (i = 0; i < (size_t)np; i++)
			p[i].revents = 0;
		r = poll(p, (nfds_t)np, (int)t);
		if (r < 0 && errno != EINTR)
			cp_diesys(CP_EXIT_TEMP, "poll");
		if (r > 0 && (p[sp].revents & POLLIN)) {
			int s;
			while ((s = cp_sigread(sfd)) > 0) {
				if (++nsig > 1) {
					cp_warn("second signal: stopping now");
					finish(CP_EXIT_TEMP);
				}
				cp_info("signal %d: finishing the stream", s);
				in_eof = 1;
			}
		}
		if (ip >= 0 && !in_eof && (p[ip].revents & (POLLIN | POLLHUP | POLLERR)))
			(void)read_input();
		if (in_eof && !have_fmt)
			cp_die(CP_EXIT_PERM, "no audio on stdin (end of input before a WAV header)");
		if (in_eof && have_fmt && a_end % bpf) {
			cp_warn("input ends inside a sample frame: the last %u bytes are ignored",
			    (unsigned)(a_end % bpf));
			a_end -= a_end % bpf;
		}
		if (ws != NULL && wp >= 0) {
			struct wsc_msg m;

			if (r > 0 && (p[wp].revents & POLLOUT)) {
				if (wsc_flush(ws) == WSC_ERR) {
					char cause[400];
					snprintf(cause, sizeof cause, "%s", wsc_errmsg(ws));
					drop_conn(cause);
					continue;
				}
			}
			/* libcurl buffers: always read until it says CURLE_AGAIN */
			while (ws != NULL && (r = wsc_recv(ws, &m)) == WSC_OK) {
				if (on_message(&m)) {
					/* the stream is over: answer the close frame, wait for the end */
					(void)wsc_shutdown(ws, 1000, NULL, cp_now_ms() + 2000);
					wsc_free(ws);
					ws = NULL;
					finish(CP_EXIT_OK);
				}
			}
			if (ws != NULL && (r == WSC_EOF || r == WSC_ERR)) {
				char cause[400];

				if (cs_sent && metadata)
					finish(CP_EXIT_OK);
				snprintf(cause, sizeof cause, "%s", wsc_errmsg(ws));
				drop_conn(cause);
			}
		}
	}
}
