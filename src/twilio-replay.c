/* twilio-replay: play a Twilio Media Streams capture (JSON lines) into a WebSocket
 * endpoint as Twilio would: one text frame per line, media paced by media.timestamp
 * (the first media timestamp is t0), then a clean close. -n plays several concurrent
 * calls from one process, each with its own CallSid and StreamSid. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cp.h"
#include "linebuf.h"
#include "wsc.h"

static const char usage_str[] =
    "twilio-replay [-fv] [-d seconds] [-H header] [-i ms] [-n calls] [-s speed] "
    "[-t seconds] URL";

#define MAX_LINE (1024 * 1024)
#define MAX_INPUT ((size_t)1 << 30)
#define MAX_HEADERS 32
#define CLOSE_WAIT_MS 5000
#define PROGRESS_MS 5000

struct line {
	char *s;
	size_t len;
	int64_t off; /* media time of this line, ms after t0 */
	int media;
};

enum { C_WAIT, C_SEND, C_CLOSING, C_DONE };

struct call {
	struct wsc *w;
	int state, failed;
	size_t next;
	int64_t t_start, close_deadline;
	char sid[35], msid[35];
	uint64_t sent, recvd;
};

static struct line *lines;
static size_t nlines;
static char orig_sid[35], orig_msid[35];
static int64_t media_total_ms;
static double speed = 1.0;
static int fast, verbose;
static int64_t drop_ms = -1;
static char *scratch;
static size_t scratch_cap;

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory: %zu bytes", n);
	return p;
}

/* A decimal number with an optional fraction, in [min,max]. */
static int
parse_real(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || strchr(s, 'x') || strchr(s, 'X'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void
copy_sid(char *dst, const cJSON *v, const char *prefix)
{
	if (cJSON_IsString(v) && cp_valid_sid(v->valuestring, prefix))
		memcpy(dst, v->valuestring, 35);
}

/* Read the capture: every line is sent as it is; media lines get their time. */
static void
load(void)
{
	struct linebuf lb;
	char *s;
	size_t len, cap = 0, total = 0;
	int r;
	int64_t t0 = -1, last = 0;
	uint64_t toolong = 0;

	if (lb_init(&lb, 0, MAX_LINE) < 0)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory for the line buffer");
	for (;;) {
		r = lb_getline(&lb, &s, &len);
		if (r == LR_EOF)
			break;
		if (r == LR_ERR)
			cp_diesys(CP_EXIT_TEMP, "unable to read the capture from stdin");
		if (r == LR_TOOLONG) {
			toolong++;
			cp_warn("skipping capture line %llu: longer than %d bytes",
			    (unsigned long long)(lb.lines + toolong), MAX_LINE);
			continue;
		}
		if (r != LR_LINE)
			continue;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (len == 0)
			continue;
		total += len;
		if (total > MAX_INPUT)
			cp_die(CP_EXIT_PERM, "capture larger than %zu bytes", MAX_INPUT);
		if (nlines == cap) {
			cap = cap ? cap * 2 : 1024;
			lines = xrealloc(lines, cap * sizeof *lines);
		}
		struct line *l = &lines[nlines++];
		l->s = xrealloc(NULL, len + 1);
		memcpy(l->s, s, len);
		l->s[len] = '\0';
		l->len = len;
		l->media = 0;
		l->off = last;

		cJSON *j = cJSON_ParseWithLength(l->s, len);
		if (j == NULL)
			continue;
		const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
		if (cJSON_IsString(ev) && strcmp(ev->valuestring, "media") == 0) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "media");
			const cJSON *ts = cJSON_GetObjectItemCaseSensitive(m, "timestamp");
			uint64_t t;
			if (cJSON_IsString(ts) && cp_digits(ts->valuestring, (uint64_t)1 << 40, &t) == 0) {
				if (t0 < 0)
					t0 = (int64_t)t;
				l->off = (int64_t)t - t0 > last ? (int64_t)t - t0 : last;
				last = l->off;
				l->media = 1;
			}
		} else if (cJSON_IsString(ev) && strcmp(ev->valuestring, "start") == 0) {
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "start");
			copy_sid(orig_sid, cJSON_GetObjectItemCaseSensitive(st, "callSid"), "CA");
			copy_sid(orig_msid, cJSON_GetObjectItemCaseSensitive(st, "streamSid"), "MZ");
			if (!orig_msid[0])
				copy_sid(orig_msid, cJSON_GetObjectItemCaseSensitive(j, "streamSid"), "MZ");
		}
		cJSON_Delete(j);
	}
	lb_free(&lb);
	media_total_ms = last;
	if (nlines == 0)
		cp_die(CP_EXIT_PERM, "the capture on stdin is empty");
}

/* The SID of call i: the capture's own plus i in its last 8 hex digits (mod 2^32). */
static void
make_sid(char *dst, const char *orig, unsigned i)
{
	if (!orig[0]) {
		dst[0] = '\0';
		return;
	}
	memcpy(dst, orig, 35);
	if (i > 0) {
		char tail[9];
		unsigned long v = strtoul(orig + 26, NULL, 16);
		snprintf(tail, sizeof tail, "%08lx", (v + i) & 0xffffffffUL);
		memcpy(dst + 26, tail, 8);
	}
}

static void
replace_all(char *buf, size_t len, const char *from, const char *to)
{
	char *p = buf, *end = buf + len;

	if (!from[0] || strcmp(from, to) == 0)
		return;
	while ((p = memmem(p, (size_t)(end - p), from, 34)) != NULL) {
		memcpy(p, to, 34);
		p += 34;
	}
}

static int64_t
due(const struct call *c, size_t i)
{
	if (fast)
		return c->t_start;
	return c->t_start + (int64_t)((double)lines[i].off / speed);
}

/* Fail a call: a lost connection is temporary (111). */
static void
lose(struct call *c, unsigned idx, const char *what)
{
	cp_warn("call %u %s: %s at line %zu of %zu: %s", idx + 1, c->sid[0] ? c->sid : "-", what,
	    c->next, nlines, wsc_errmsg(c->w)[0] ? wsc_errmsg(c->w) : "connection closed");
	wsc_free(c->w);
	c->w = NULL;
	c->state = C_DONE;
	c->failed = CP_EXIT_TEMP;
}

/* Send what is due; returns when the socket is busy or nothing more is due. */
static void
pump(struct call *c, unsigned idx, int64_t now)
{
	while (c->state == C_SEND && wsc_idle(c->w)) {
		if (c->next == nlines) {
			if (wsc_send_close(c->w, 1000, "") == WSC_ERR) {
				lose(c, idx, "unable to send the close frame");
				return;
			}
			c->state = C_CLOSING;
			c->close_deadline = now + CLOSE_WAIT_MS;
			return;
		}
		const struct line *l = &lines[c->next];
		if (drop_ms >= 0 && l->media && l->off >= drop_ms) {
			if (verbose)
				cp_info("call %u %s: dropping the connection after %.3f s of media",
				    idx + 1, c->sid, (double)l->off / 1000.0);
			wsc_free(c->w); /* no close frame: the caller's socket just goes away */
			c->w = NULL;
			c->state = C_DONE;
			return;
		}
		if (due(c, c->next) > now)
			return;
		if (l->len > scratch_cap) {
			scratch_cap = l->len;
			scratch = xrealloc(scratch, scratch_cap);
		}
		memcpy(scratch, l->s, l->len);
		replace_all(scratch, l->len, orig_sid, c->sid);
		replace_all(scratch, l->len, orig_msid, c->msid);
		int r = wsc_send(c->w, WSC_TEXT, scratch, l->len);
		if (r == WSC_ERR || r == WSC_ECLOSED) {
			lose(c, idx, "unable to send");
			return;
		}
		if (r == WSC_BUSY) /* cannot happen after wsc_idle; retry later */
			return;
		c->next++;
		c->sent++;
		if (r == WSC_AGAIN)
			return;
	}
}

/* Read everything that arrived; print text messages on stdout. */
static void
drain(struct call *c, unsigned idx)
{
	struct wsc_msg m;
	int r;

	if (c->w == NULL)
		return;
	if (wsc_flush(c->w) == WSC_ERR) {
		if (c->state == C_CLOSING)
			goto closed;
		lose(c, idx, "unable to send");
		return;
	}
	while ((r = wsc_recv(c->w, &m)) == WSC_OK) {
		if (m.type == WSC_TEXT) {
			c->recvd++;
			fwrite(m.data, 1, m.len, stdout);
			putchar('\n');
			if (fflush(stdout) == EOF || ferror(stdout))
				cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
		} else if (m.type == WSC_CLOSE && c->state != C_CLOSING) {
			cp_warn("call %u %s: the server closed the connection (code %d) at line %zu of %zu",
			    idx + 1, c->sid[0] ? c->sid : "-", m.close_code, c->next, nlines);
			c->failed = CP_EXIT_TEMP;
			c->state = C_CLOSING; /* wsc answers the close; wait for the TCP close */
			c->close_deadline = cp_now_ms() + CLOSE_WAIT_MS;
		}
	}
	if (r == WSC_AGAIN) {
		if (c->state != C_CLOSING || !wsc_close_received(c->w) || !wsc_close_sent(c->w))
			return;
	} else if (c->state != C_CLOSING) { /* EOF or error in the middle of the call */
		lose(c, idx, r == WSC_EOF ? "the server closed the connection" : "connection failed");
		return;
	}
closed:
	wsc_free(c->w);
	c->w = NULL;
	c->state = C_DONE;
}

static int
connect_call(struct call *c, unsigned idx, const char *url, const char *const *hdrs, long tmo)
{
	struct wsc_opts o;

	memset(&o, 0, sizeof o);
	o.url = url;
	o.headers = hdrs;
	o.timeout_ms = tmo;
	o.max_msg = 64 * 1024;
	c->w = wsc_new(&o);
	if (c->w == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory for a connection");
	int r = wsc_connect(c->w);
	if (r == WSC_OK) {
		if (verbose)
			cp_info("call %u %s: connected to %s", idx + 1, c->sid[0] ? c->sid : "-", url);
		c->state = C_SEND;
		c->t_start = cp_now_ms();
		return 0;
	}
	long st = wsc_http_status(c->w);
	if (r == WSC_EREFUSED) {
		cp_warn("call %u: %s refused the connection: HTTP %ld", idx + 1, url, st);
		c->failed = (st == 429 || st >= 500) ? CP_EXIT_TEMP : CP_EXIT_PERM;
	} else {
		cp_warn("call %u: unable to connect to %s: %s", idx + 1, url,
		    r == WSC_ETIMEOUT ? "timed out" : wsc_errmsg(c->w));
		c->failed = CP_EXIT_TEMP;
	}
	wsc_free(c->w);
	c->w = NULL;
	c->state = C_DONE;
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fast", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "drop-after", required_argument, NULL, 'd' },
		{ "header", required_argument, NULL, 'H' },
		{ "stagger", required_argument, NULL, 'i' },
		{ "calls", required_argument, NULL, 'n' },
		{ "speed", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char *hdrs[MAX_HEADERS + 1];
	int nh = 0, ch, have_speed = 0;
	long long ncalls = 1, stagger = 0, tmo = 10;
	double d;

	cp_setprog(argv[0]);
	cp_ignore_sigpipe();
	while ((ch = getopt_long(argc, argv, "fvd:H:i:n:s:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			fast = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'd':
			if (parse_real(optarg, 0, 1e9, &d) < 0)
				cp_die(CP_EXIT_PERM, "bad --drop-after (seconds of media): %s", optarg);
			drop_ms = (int64_t)(d * 1000.0 + 0.5);
			break;
		case 'H':
			if (nh == MAX_HEADERS)
				cp_die(CP_EXIT_PERM, "more than %d headers", MAX_HEADERS);
			if (strchr(optarg, ':') == NULL || optarg[0] == ':' ||
			    strpbrk(optarg, "\r\n") != NULL)
				cp_die(CP_EXIT_PERM, "bad header (want 'Name: value'): %s", optarg);
			hdrs[nh++] = optarg;
			break;
		case 'i':
			if (cp_strtonum(optarg, 0, 3600000, &stagger) < 0)
				cp_die(CP_EXIT_PERM, "bad --stagger (ms, 0-3600000): %s", optarg);
			break;
		case 'n':
			if (cp_strtonum(optarg, 1, 100000, &ncalls) < 0)
				cp_die(CP_EXIT_PERM, "bad --calls (1-100000): %s", optarg);
			break;
		case 's':
			if (parse_real(optarg, 0.01, 10000, &speed) < 0)
				cp_die(CP_EXIT_PERM, "bad --speed (0.01-10000): %s", optarg);
			have_speed = 1;
			break;
		case 't':
			if (cp_strtonum(optarg, 1, 3600, &tmo) < 0)
				cp_die(CP_EXIT_PERM, "bad --timeout (seconds, 1-3600): %s", optarg);
			break;
		default:
			cp_usage(usage_str);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		cp_usage(usage_str);
	if (fast && have_speed)
		cp_die(CP_EXIT_PERM, "--fast and --speed cannot be used together");
	const char *url = argv[0];
	if (strncmp(url, "ws://", 5) != 0 && strncmp(url, "wss://", 6) != 0)
		cp_die(CP_EXIT_PERM, "the URL must start with ws:// or wss://: %s", url);
	hdrs[nh] = NULL;
	const char *why = wsc_check();
	if (why)
		cp_die(CP_EXIT_PERM, "libcurl cannot speak WebSocket: %s", why);

	load();
	if (ncalls > 1 && !orig_sid[0])
		cp_warn("no CallSid in the capture: the %lld calls share whatever it holds", ncalls);

	int sigs[] = { SIGINT, SIGTERM };
	int sfd = cp_sigfd(sigs, 2);
	if (sfd < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signal handling");

	struct call *calls = xrealloc(NULL, (size_t)ncalls * sizeof *calls);
	struct pollfd *pfd = xrealloc(NULL, ((size_t)ncalls + 1) * sizeof *pfd);
	unsigned *pidx = xrealloc(NULL, ((size_t)ncalls + 1) * sizeof *pidx);
	memset(calls, 0, (size_t)ncalls * sizeof *calls);
	for (long long i = 0; i < ncalls; i++) {
		make_sid(calls[i].sid, orig_sid, (unsigned)i);
		make_sid(calls[i].msid, orig_msid, (unsigned)i);
	}

	int64_t t_begin = cp_now_ms(), next_progress = t_begin + PROGRESS_MS;
	long long started = 0;
	int stopping = 0;
	for (;;) {
		int64_t now = cp_now_ms();
		/* start calls whose turn has come (connect is blocking, a few ms each) */
		while (!stopping && started < ncalls && now >= t_begin + started * stagger) {
			connect_call(&calls[started], (unsigned)started, url, hdrs, (long)tmo * 1000);
			started++;
			now = cp_now_ms();
		}
		int live = 0;
		int64_t wake = -1;
		nfds_t n = 0;
		for (long long i = 0; i < started; i++) {
			struct call *c = &calls[i];
			if (c->state == C_SEND)
				pump(c, (unsigned)i, now);
			if (c->state == C_CLOSING && now >= c->close_deadline) {
				if (verbose)
					cp_info("call %u %s: no close reply within %d ms", (unsigned)i + 1,
					    c->sid, CLOSE_WAIT_MS);
				wsc_free(c->w);
				c->w = NULL;
				c->state = C_DONE;
			}
			if (c->state == C_DONE)
				continue;
			live++;
			int64_t t = -1;
			if (c->state == C_SEND && wsc_idle(c->w) && c->next < nlines)
				t = due(c, c->next);
			else if (c->state == C_CLOSING)
				t = c->close_deadline;
			if (t >= 0 && (wake < 0 || t < wake))
				wake = t;
			pfd[n].fd = wsc_fd(c->w);
			pfd[n].events = wsc_events(c->w);
			pidx[n++] = (unsigned)i;
		}
		if (!stopping && started < ncalls) {
			int64_t t = t_begin + started * stagger;
			if (wake < 0 || t < wake)
				wake = t;
		}
		if (live == 0 && (stopping || started == ncalls))
			break;
		if (verbose && now >= next_progress) {
			uint64_t sent = 0;
			int64_t off = 0;
			for (long long i = 0; i < started; i++) {
				sent += calls[i].sent;
				if (calls[i].next > 0 && lines[calls[i].next - 1].off > off)
					off = lines[calls[i].next - 1].off;
			}
			cp_info("%.1f s of %.1f s media sent, %llu messages, %d of %lld calls live",
			    (double)off / 1000.0, (double)media_total_ms / 1000.0,
			    (unsigned long long)sent, live, ncalls);
			next_progress = now + PROGRESS_MS;
		}
		pfd[n].fd = sfd;
		pfd[n].events = POLLIN;
		int timeout = -1;
		if (wake >= 0)
			timeout = wake > now ? (int)(wake - now > 60000 ? 60000 : wake - now) : 0;
		if (verbose && (timeout < 0 || timeout > PROGRESS_MS))
			timeout = PROGRESS_MS;
		if (poll(pfd, n + 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "poll");
		}
		if (pfd[n].revents & POLLIN) {
			int sig = cp_sigread(sfd);
			if (sig && !stopping) {
				cp_warn("caught signal %d: closing %d calls", sig, live);
				stopping = 1;
				for (long long i = 0; i < started; i++) {
					struct call *c = &calls[i];
					if (c->state != C_SEND)
						continue;
					c->next = nlines; /* pump() sends the close frame next */
				}
			} else if (sig) {
				break;
			}
		}
		for (nfds_t k = 0; k < n; k++)
			if (pfd[k].revents)
				drain(&calls[pidx[k]], pidx[k]);
	}

	int rc = CP_EXIT_OK;
	unsigned long long sent = 0, recvd = 0, failed = 0;
	for (long long i = 0; i < ncalls; i++) {
		struct call *c = &calls[i];
		if (c->w)
			wsc_free(c->w);
		sent += c->sent;
		recvd += c->recvd;
		if (i >= started && !c->failed)
			c->failed = CP_EXIT_TEMP;
		if (c->failed) {
			failed++;
			if (c->failed == CP_EXIT_PERM || rc == CP_EXIT_OK)
				rc = c->failed;
		}
	}
	if (verbose)
		cp_info("done: %lld calls (%llu failed), %llu messages sent, %llu received, %.1f s",
		    ncalls, failed, sent, recvd, (double)(cp_now_ms() - t_begin) / 1000.0);
	if (fclose(stdout) == EOF)
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
	for (size_t i = 0; i < nlines; i++)
		free(lines[i].s);
	free(lines);
	free(scratch);
	free(calls);
	free(pfd);
	free(pidx);
	return rc;
}
