/* loadgen: the benchmark's caller side. Plays N concurrent Twilio Media Streams calls
 * (both tracks, one 160-byte chunk per track every 20 ms, in real time) into
 * ws://127.0.0.1:PORT/twilio, and optionally subscribes to each call on /client to time
 * the Results coming back.
 *
 * usage: loadgen -p port [-n calls] [-s seconds] [-i stagger-ms] [-P phase] [-e every]
 *                [-S] [-r run-id] [-o egress-file]
 *   -n  concurrent calls (1..5000, default 1)      -s  seconds of audio per call (default 10)
 *   -i  start call k k*ms after the first (default 10)
 *   -P  phase number written into every tag (0..255), so the sink can tell runs apart
 *   -e  ask the sink for one Results message per channel every E chunks (tag byte; 0 = none)
 *   -S  one /client subscriber per call: egress = receive time - time the sink wrote into
 *       the Results transcript ("bt<microseconds>")
 *   -r  run id (hex digits in the CallSids, default: pid)
 *   -o  write every egress sample (microseconds, sorted, one a line) to this file
 * Every payload starts with a tag (bws.h): phase, track, call, chunk number and the send
 * time (CLOCK_MONOTONIC), written when the message is built, just before the write.
 * Output (stdout): key=value lines: calls, ok, failed, chunks_sent, late_max_us (how far
 * behind schedule this process ever was), egress_n, egress_p50_us, egress_p99_us,
 * egress_max_us, subs_ok, subs_failed. Exit 0 when every call was played and closed,
 * 1 otherwise, 100 on usage errors. Bench-only tool: not installed, no man page
 * (bench/README.md). Built by bench/run.sh into build/bench/. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "bws.h"

enum { ST_WAIT, ST_CONNECTING, ST_HANDSHAKE, ST_STREAM, ST_CLOSING, ST_DONE, ST_FAILED };

struct sub {
	int fd, st, tries, got;
	uint64_t next_try;
	struct buf in, out;
	struct buf msg; /* fragmented text message being reassembled */
};

struct call {
	int fd, st;
	uint32_t idx, seq;
	uint64_t start_at, t0, deadline;
	char sid[40], msid[40];
	struct buf in, out;
	int want_out;
	struct sub sub;
};

static int port, ncalls = 1, stagger_ms = 10, phase, every = 10, subs;
static double seconds = 10;
static unsigned runid;
static uint32_t nchunks;
static int ep;
static struct call *calls;
static uint64_t late_max, chunks_sent;
static uint64_t *eg;
static size_t neg, capeg;
static int subs_ok, subs_failed;
static unsigned char filler[CHUNK];
static const char *egfile;

static void
die(int code, const char *m)
{
	fprintf(stderr, "loadgen: fatal: %s\n", m);
	exit(code);
}

static long
num(const char *s, long lo, long hi, const char *what)
{
	char *e;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (errno || e == s || *e || v < lo || v > hi) {
		fprintf(stderr, "loadgen: fatal: invalid %s (%ld..%ld): %s\n", what, lo, hi, s);
		exit(100);
	}
	return v;
}

static void
setev(int fd, uint64_t key, int out, int op)
{
	struct epoll_event e;

	e.events = EPOLLIN | (out ? EPOLLOUT : 0);
	e.data.u64 = key;
	if (epoll_ctl(ep, op, fd, &e) < 0)
		die(111, "epoll_ctl failed");
}

static int
open_conn(const char *path, const char *query, struct buf *out)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	char req[512];
	int n;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	n = snprintf(req, sizeof req,
	    "GET %s%s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", path, query ? "?" : "", query ? query : "", port);
	buf_add(out, req, (size_t)n);
	return fd;
}

/* handshake answer in b: 1 = switched (header consumed), 0 = incomplete, -1 = refused */
static int
handshake(struct buf *b)
{
	unsigned char *p = b->p + b->off, *e;
	size_t n = buf_used(b);

	e = memmem(p, n, "\r\n\r\n", 4);
	if (e == NULL)
		return n > 8192 ? -1 : 0;
	if (n < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0)
		return -1;
	b->off += (size_t)(e + 4 - p);
	return 1;
}

static void
add_media(struct call *c, int track, uint64_t t)
{
	unsigned char pl[CHUNK];
	char js[512], b64[224];
	size_t bn;
	int n;

	memcpy(pl, filler, CHUNK);
	tag_put(pl, phase, track, c->idx, c->seq, t, every);
	bn = b64enc(b64, pl, CHUNK);
	b64[bn] = '\0';
	n = snprintf(js, sizeof js,
	    "{\"event\":\"media\",\"sequenceNumber\":\"%u\",\"streamSid\":\"%s\",\"media\":"
	    "{\"track\":\"%s\",\"chunk\":\"%u\",\"timestamp\":\"%u\",\"payload\":\"%s\"}}",
	    2 + 2 * c->seq + (unsigned)track, c->msid, track ? "outbound" : "inbound",
	    c->seq + 1, c->seq * 20, b64);
	ws_frame(&c->out, 1, js, (size_t)n, 1);
	chunks_sent++;
}

static void
call_fail(struct call *c, const char *why)
{
	fprintf(stderr, "loadgen: warning: call %u (%s): %s\n", c->idx, c->sid, why);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->st = ST_FAILED;
}

static void
call_flush(struct call *c)
{
	int want;

	if (c->fd < 0)
		return;
	if (buf_flush(&c->out, c->fd) < 0) {
		call_fail(c, "write failed");
		return;
	}
	want = buf_used(&c->out) > 0;
	if (want != c->want_out) {
		setev(c->fd, (uint64_t)c->idx << 1, want, EPOLL_CTL_MOD);
		c->want_out = want;
	}
}

static void
call_start(struct call *c, uint64_t now)
{
	c->fd = open_conn("/twilio", NULL, &c->out);
	if (c->fd < 0) {
		call_fail(c, "connect failed");
		return;
	}
	c->st = ST_CONNECTING;
	c->deadline = now + 10000000;
	c->want_out = 1;
	setev(c->fd, (uint64_t)c->idx << 1, 1, EPOLL_CTL_ADD);
}

static void
call_begin_stream(struct call *c, uint64_t now)
{
	char js[1024];
	int n;

	c->st = ST_STREAM;
	c->t0 = now;
	n = snprintf(js, sizeof js, "{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
	ws_frame(&c->out, 1, js, (size_t)n, 1);
	n = snprintf(js, sizeof js,
	    "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"streamSid\":\"%s\",\"start\":{"
	    "\"streamSid\":\"%s\",\"accountSid\":\"AC00112233445566778899aabbccddeeff\","
	    "\"callSid\":\"%s\",\"tracks\":[\"inbound\",\"outbound\"],\"customParameters\":"
	    "{\"bench\":\"%d\"},\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,"
	    "\"channels\":1}}}", c->msid, c->msid, c->sid, phase);
	ws_frame(&c->out, 1, js, (size_t)n, 1);
	if (subs) {
		c->sub.next_try = now + 300000;
		c->sub.fd = -1;
	}
}

static void
call_tick(struct call *c, uint64_t now)
{
	int any = 0;

	while (c->st == ST_STREAM && c->seq < nchunks && c->t0 + (uint64_t)c->seq * 20000 <= now) {
		uint64_t due = c->t0 + (uint64_t)c->seq * 20000, t = now_us();

		if (t - due > late_max)
			late_max = t - due;
		add_media(c, 0, t);
		add_media(c, 1, t);
		c->seq++;
		any = 1;
	}
	if (c->st == ST_STREAM && c->seq >= nchunks) {
		char js[512];
		unsigned char cl[2] = { 0x03, 0xE8 };
		int n = snprintf(js, sizeof js,
		    "{\"event\":\"stop\",\"sequenceNumber\":\"%u\",\"streamSid\":\"%s\",\"stop\":"
		    "{\"accountSid\":\"AC00112233445566778899aabbccddeeff\",\"callSid\":\"%s\"}}",
		    2 + 2 * nchunks, c->msid, c->sid);
		ws_frame(&c->out, 1, js, (size_t)n, 1);
		ws_frame(&c->out, 8, cl, 2, 1);
		c->st = ST_CLOSING;
		c->deadline = now + 20000000;
		any = 1;
	}
	if (any)
		call_flush(c);
}

/* ---------------------------------------------------------------- subscribers */

static void
sub_close(struct call *c, int retry, uint64_t now)
{
	struct sub *s = &c->sub;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	buf_free(&s->in);
	buf_free(&s->out);
	buf_free(&s->msg);
	if (retry && c->st == ST_STREAM && s->tries < 50) {
		s->st = ST_WAIT;
		s->next_try = now + 200000;
	} else {
		s->st = ST_DONE;
	}
}

static void
sub_start(struct call *c, uint64_t now)
{
	struct sub *s = &c->sub;
	char q[64];

	snprintf(q, sizeof q, "callsid=%s", c->sid);
	s->tries++;
	s->fd = open_conn("/client", q, &s->out);
	if (s->fd < 0) {
		sub_close(c, 1, now);
		return;
	}
	s->st = ST_HANDSHAKE;
	setev(s->fd, (uint64_t)c->idx << 1 | 1, 1, EPOLL_CTL_ADD);
}

static void
sub_text(struct call *c, const unsigned char *p, size_t n, uint64_t now)
{
	const unsigned char *k;

	if (memmem(p, n, "\"type\":\"error\"", 14) != NULL) {
		sub_close(c, 1, now); /* not live yet: try again */
		return;
	}
	k = memmem(p, n, "\"transcript\":\"bt", 16);
	if (k != NULL) {
		uint64_t t = 0;
		k += 16;
		while (k < p + n && *k >= '0' && *k <= '9')
			t = t * 10 + (uint64_t)(*k++ - '0');
		if (neg == capeg) {
			capeg = capeg ? capeg * 2 : 4096;
			eg = realloc(eg, capeg * sizeof *eg);
			if (eg == NULL)
				die(111, "out of memory");
		}
		eg[neg++] = now > t ? now - t : 0;
		if (!c->sub.got) {
			c->sub.got = 1; /* got data: counts as a working subscriber */
			subs_ok++;
		}
	}
}

static void
sub_io(struct call *c, uint32_t ev, uint64_t now)
{
	struct sub *s = &c->sub;
	ssize_t r;

	if (ev & EPOLLOUT) {
		if (buf_flush(&s->out, s->fd) < 0) {
			sub_close(c, 1, now);
			return;
		}
		if (buf_used(&s->out) == 0)
			setev(s->fd, (uint64_t)c->idx << 1 | 1, 0, EPOLL_CTL_MOD);
	}
	if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	r = buf_read(&s->in, s->fd);
	if (s->st == ST_HANDSHAKE) {
		int h = handshake(&s->in);
		if (h < 0) {
			sub_close(c, 1, now);
			return;
		}
		if (h == 0) {
			if (r == 0 || r == -1)
				sub_close(c, 1, now);
			return;
		}
		s->st = ST_STREAM;
	}
	for (;;) {
		int op, fin, h;
		unsigned char *pl;
		size_t pn;

		h = ws_parse(&s->in, &op, &fin, &pl, &pn);
		if (h == 0)
			break;
		if (h < 0 || op == 8) {
			sub_close(c, h < 0, now);
			return;
		}
		if (op == 9) { /* ping: pong */
			ws_frame(&s->out, 10, pl, pn, 1);
			(void)buf_flush(&s->out, s->fd);
			continue;
		}
		if (op == 1 || op == 0) {
			if (fin && op == 1) {
				sub_text(c, pl, pn, now);
				if (s->fd < 0)
					return;
			} else {
				buf_add(&s->msg, pl, pn);
				if (fin) {
					sub_text(c, s->msg.p + s->msg.off, buf_used(&s->msg), now);
					if (s->fd < 0)
						return;
					s->msg.off = s->msg.len = 0;
				}
			}
		}
	}
	if (r == 0 || r == -1)
		sub_close(c, !s->got, now);
}

/* ---------------------------------------------------------------- calls */

static void
call_io(struct call *c, uint32_t ev, uint64_t now)
{
	ssize_t r;

	if (c->fd < 0)
		return;
	if (ev & EPOLLOUT) {
		if (c->st == ST_CONNECTING) {
			int err = 0;
			socklen_t l = sizeof err;
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) {
				call_fail(c, "connect failed");
				return;
			}
			c->st = ST_HANDSHAKE;
		}
		call_flush(c);
		if (c->fd < 0)
			return;
	}
	if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	r = buf_read(&c->in, c->fd);
	if (c->st == ST_HANDSHAKE || c->st == ST_CONNECTING) {
		int h = handshake(&c->in);
		if (h < 0) {
			call_fail(c, "upgrade refused");
			return;
		}
		if (h == 0) {
			if (r == 0 || r == -1)
				call_fail(c, "connection closed during the handshake");
			return;
		}
		call_begin_stream(c, now);
		call_tick(c, now);
	}
	for (;;) {
		int op, fin, h;
		unsigned char *pl;
		size_t pn;

		h = ws_parse(&c->in, &op, &fin, &pl, &pn);
		if (h == 0)
			break;
		if (h < 0) {
			call_fail(c, "bad frame from the server");
			return;
		}
		if (op == 8) {
			if (c->st == ST_CLOSING) {
				close(c->fd);
				c->fd = -1;
				c->st = ST_DONE;
			} else {
				call_fail(c, "closed by the server before the end of the call");
			}
			return;
		}
		if (op == 9) {
			ws_frame(&c->out, 10, pl, pn, 1);
			call_flush(c);
			if (c->fd < 0)
				return;
		}
	}
	if (r == 0 || r == -1) {
		if (c->st == ST_CLOSING) {
			close(c->fd);
			c->fd = -1;
			c->st = ST_DONE;
		} else {
			call_fail(c, "connection lost");
		}
	}
}

static int
cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t
pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void
write_samples(const char *path)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (f == NULL)
		die(111, "unable to open the egress file");
	for (i = 0; i < neg; i++)
		fprintf(f, "%llu\n", (unsigned long long)eg[i]);
	if (fclose(f) != 0)
		die(111, "unable to write the egress file");
}

int
main(int argc, char **argv)
{
	int ch, i, ok = 0, failed = 0;
	uint64_t start, end;

	signal(SIGPIPE, SIG_IGN);
	runid = (unsigned)getpid();
	while ((ch = getopt(argc, argv, "p:n:s:i:P:e:Sr:o:")) != -1) {
		switch (ch) {
		case 'p': port = (int)num(optarg, 1, 65535, "port"); break;
		case 'n': ncalls = (int)num(optarg, 1, 5000, "calls"); break;
		case 's': seconds = (double)num(optarg, 1, 3600, "seconds"); break;
		case 'i': stagger_ms = (int)num(optarg, 0, 10000, "stagger-ms"); break;
		case 'P': phase = (int)num(optarg, 0, 255, "phase"); break;
		case 'e': every = (int)num(optarg, 0, 255, "every"); break;
		case 'S': subs = 1; break;
		case 'o': egfile = optarg; break;
		case 'r': {
			char *e;
			unsigned long v = strtoul(optarg, &e, 16);
			if (*optarg == '\0' || *e || v > 0xffffffffUL)
				die(100, "invalid run id (hex)");
			runid = (unsigned)v;
			break;
		}
		default:
			fprintf(stderr, "usage: loadgen -p port [-n calls] [-s seconds] [-i stagger-ms] [-P phase] [-e every] [-S] [-r run-id] [-o egress-file]\n");
			return 100;
		}
	}
	if (port == 0 || optind != argc)
		die(100, "usage: loadgen -p port [-n calls] [-s seconds] [-i stagger-ms] [-P phase] [-e every] [-S] [-r run-id] [-o egress-file]");
	nchunks = (uint32_t)(seconds * 50);
	for (i = 0; i < CHUNK; i++) /* a fixed, speech-like spread of mu-law values */
		filler[i] = (unsigned char)(0x80 + ((i * 37) & 0x3f) + ((i & 8) ? 0 : 0x40));
	calls = calloc((size_t)ncalls, sizeof *calls);
	if (calls == NULL)
		die(111, "out of memory");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die(111, "epoll_create1 failed");
	start = now_us();
	for (i = 0; i < ncalls; i++) {
		struct call *c = &calls[i];
		c->idx = (uint32_t)i;
		c->fd = -1;
		c->sub.fd = -1;
		c->sub.st = subs ? ST_WAIT : ST_DONE;
		c->sub.next_try = UINT64_MAX;
		c->start_at = start + (uint64_t)i * (uint64_t)stagger_ms * 1000;
		snprintf(c->sid, sizeof c->sid, "CA%08x%016x%08x", runid, 0u, (unsigned)(phase << 20 | i));
		snprintf(c->msid, sizeof c->msid, "MZ%08x%016x%08x", runid, 0u, (unsigned)(phase << 20 | i));
	}
	end = start + (uint64_t)ncalls * (uint64_t)stagger_ms * 1000 + (uint64_t)(seconds * 1e6) + 60000000;
	for (;;) {
		struct epoll_event evs[256];
		uint64_t now = now_us(), next = now + 100000;
		int n, busy = 0;

		for (i = 0; i < ncalls; i++) {
			struct call *c = &calls[i];

			if (c->st == ST_WAIT) {
				if (c->start_at <= now)
					call_start(c, now);
				else if (c->start_at < next)
					next = c->start_at;
			}
			if (c->st == ST_STREAM) {
				call_tick(c, now);
				if (c->st == ST_STREAM) {
					uint64_t due = c->t0 + (uint64_t)c->seq * 20000;
					if (due < next)
						next = due;
				}
			}
			if ((c->st == ST_CONNECTING || c->st == ST_HANDSHAKE || c->st == ST_CLOSING) &&
			    now > c->deadline) {
				if (c->st == ST_CLOSING) { /* played it all; the server was slow to close */
					close(c->fd);
					c->fd = -1;
					c->st = ST_DONE;
				} else {
					call_fail(c, "timeout");
				}
			}
			if (c->sub.st == ST_WAIT && c->sub.next_try <= now) {
				if (c->st == ST_STREAM)
					sub_start(c, now);
				else if (c->st >= ST_CLOSING)
					c->sub.st = ST_DONE;
			}
			if (c->sub.st == ST_WAIT && c->sub.next_try < next)
				next = c->sub.next_try;
			if (c->st < ST_DONE || (c->sub.st != ST_DONE && c->sub.st != ST_WAIT))
				busy = 1;
			if (c->sub.st == ST_WAIT && c->st < ST_DONE)
				busy = 1;
		}
		if (!busy)
			break;
		if (now > end) {
			fprintf(stderr, "loadgen: warning: giving up: time limit reached\n");
			break;
		}
		n = epoll_wait(ep, evs, 256, next > now ? (int)((next - now + 999) / 1000) : 0);
		now = now_us();
		for (i = 0; i < n; i++) {
			struct call *c = &calls[evs[i].data.u64 >> 1];
			if (evs[i].data.u64 & 1) {
				if (c->sub.fd >= 0)
					sub_io(c, evs[i].events, now);
			} else {
				call_io(c, evs[i].events, now);
			}
		}
	}
	for (i = 0; i < ncalls; i++) {
		if (calls[i].st == ST_DONE)
			ok++;
		else
			failed++;
		if (subs && !calls[i].sub.got) {
			if (calls[i].sub.fd >= 0)
				close(calls[i].sub.fd);
			subs_failed++;
		}
	}
	qsort(eg, neg, sizeof *eg, cmp64);
	if (egfile != NULL)
		write_samples(egfile);
	printf("calls=%d\nok=%d\nfailed=%d\nchunks_sent=%llu\nlate_max_us=%llu\n", ncalls, ok,
	    failed, (unsigned long long)chunks_sent, (unsigned long long)late_max);
	printf("egress_n=%zu\negress_p50_us=%llu\negress_p99_us=%llu\negress_max_us=%llu\n", neg,
	    (unsigned long long)pct(eg, neg, 0.5), (unsigned long long)pct(eg, neg, 0.99),
	    (unsigned long long)(neg ? eg[neg - 1] : 0));
	printf("subs_ok=%d\nsubs_failed=%d\n", subs_ok, subs ? subs_failed : 0);
	fflush(stdout);
	return failed ? 1 : 0;
}
