/* dg-sink: the benchmark's Deepgram stand-in. A small epoll WebSocket server on
 * 127.0.0.1 that speaks enough of Deepgram's live API for deepgram-stream (upgrade on any
 * path, binary audio frames, KeepAlive/Finalize/CloseStream text frames, Metadata and
 * close 1000 after CloseStream, pongs), answers at once, and times the audio.
 *
 * usage: dg-sink -f port-file -o log-file [-e every]
 *   -f  once listening, write the port to this file (temp name + rename)
 *   -o  the event log (see below)
 *   -e  Results per channel every E chunks of 160 samples (20 ms) for audio without a
 *       tag (default 50 = 1 s; 0 = never, so deepgram-stream's replay buffer fills up);
 *       tagged audio carries its own value (bws.h)
 * Audio is de-interleaved by the channels= query parameter (mu-law, 1 byte a sample) and
 * cut into 160-byte chunks per channel. A chunk that starts with a loadgen tag is logged
 * with its ingress latency (now - send time in the tag, CLOCK_MONOTONIC, microseconds).
 * Every Results message carries its own send time as the transcript "bt<microseconds>".
 * Log lines (buffered, flushed at each connection's end and every 200 ms):
 *   A phase call channel seq latency_us     a tagged chunk arrived
 *   U phase call channel chunk-index        an untagged chunk (e.g. silence fill)
 *   C phase call conn chunks-ch0 chunks-ch1 results   a connection ended
 * (phase and call are -1 until the connection's first tag). Bench-only tool: not
 * installed, no man page (bench/README.md). Built by bench/run.sh into build/bench/. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "bws.h"

#define MAXCH 8

struct chan {
	unsigned char b[CHUNK];
	int fill;
	uint32_t count; /* chunks completed */
};

struct conn {
	int fd, ws, closing, dead;
	struct buf in, out, msg;
	int n;       /* channels */
	uint64_t pos; /* interleaved bytes received */
	struct chan ch[MAXCH];
	int phase, every;
	long long call;
	unsigned long results, id;
};

static FILE *evlog;
static int every_default = 50;
static int ep;
static unsigned long nconn;

static void
die(const char *m)
{
	fprintf(stderr, "dg-sink: fatal: %s\n", m);
	exit(111);
}

static void
setev(int fd, void *ptr, int out, int op)
{
	struct epoll_event e;

	e.events = EPOLLIN | (out ? EPOLLOUT : 0);
	e.data.ptr = ptr;
	if (epoll_ctl(ep, op, fd, &e) < 0)
		die("epoll_ctl failed");
}

static void
conn_end(struct conn *c)
{
	fprintf(evlog, "C %d %lld %lu %u %u %lu\n", c->phase, c->call, c->id, c->ch[0].count,
	    c->n > 1 ? c->ch[1].count : 0, c->results);
	fflush(evlog);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->msg);
	free(c);
}

static void
conn_flush(struct conn *c)
{
	if (buf_flush(&c->out, c->fd) < 0) {
		c->dead = 1;
		return;
	}
	setev(c->fd, c, buf_used(&c->out) > 0, EPOLL_CTL_MOD);
}

static void
send_text(struct conn *c, const char *s, size_t n)
{
	ws_frame(&c->out, 1, s, n, 0);
}

static void
results(struct conn *c, int k, int every)
{
	char js[1024], bt[32];
	double s = (double)(c->ch[k].count - (uint32_t)every) * 0.02, d = every * 0.02;
	int n;

	snprintf(bt, sizeof bt, "bt%llu", (unsigned long long)now_us());
	n = snprintf(js, sizeof js,
	    "{\"type\":\"Results\",\"channel_index\":[%d,%d],\"start\":%.2f,\"duration\":%.2f,"
	    "\"is_final\":true,\"speech_final\":true,\"from_finalize\":false,\"channel\":"
	    "{\"alternatives\":[{\"transcript\":\"%s\",\"confidence\":1.0,\"words\":[{\"word\":"
	    "\"%s\",\"start\":%.2f,\"end\":%.2f,\"confidence\":1.0,\"punctuated_word\":\"%s\"}]}]},"
	    "\"metadata\":{\"request_id\":\"bench\",\"model_info\":{\"name\":\"dg-sink\","
	    "\"version\":\"1\",\"arch\":\"sink\"},\"model_uuid\":\"dg-sink\"}}",
	    k, c->n, s, d, bt, bt, s, s + d, bt);
	send_text(c, js, (size_t)n);
	c->results++;
}

static void
chunk(struct conn *c, int k, uint64_t now)
{
	struct chan *h = &c->ch[k];
	int every;

	if (tag_ok(h->b)) {
		uint64_t t = tag_time(h->b);
		c->phase = h->b[2];
		c->call = get32(h->b + 4);
		c->every = h->b[20];
		fprintf(evlog, "A %d %lld %d %u %llu\n", c->phase, c->call, k, get32(h->b + 8),
		    (unsigned long long)(now > t ? now - t : 0));
	} else {
		fprintf(evlog, "U %d %lld %d %u\n", c->phase, c->call, k, h->count);
	}
	h->count++;
	every = c->every >= 0 ? c->every : every_default;
	if (every > 0 && h->count % (uint32_t)every == 0)
		results(c, k, every);
}

static void
audio(struct conn *c, const unsigned char *p, size_t n)
{
	uint64_t now = now_us();
	size_t i;

	for (i = 0; i < n; i++) {
		int k = (int)(c->pos++ % (uint64_t)c->n);
		struct chan *h = &c->ch[k];

		h->b[h->fill++] = p[i];
		if (h->fill == CHUNK) {
			h->fill = 0;
			chunk(c, k, now);
		}
	}
}

static void
text(struct conn *c, const unsigned char *p, size_t n)
{
	if (memmem(p, n, "CloseStream", 11) != NULL && !c->closing) {
		char js[512];
		unsigned char cl[2] = { 0x03, 0xE8 };
		int k = snprintf(js, sizeof js,
		    "{\"type\":\"Metadata\",\"transaction_key\":\"deprecated\",\"request_id\":\"bench\","
		    "\"sha256\":\"\",\"created\":\"2000-01-01T00:00:00.000Z\",\"duration\":%.3f,"
		    "\"channels\":%d}", (double)(c->pos / (uint64_t)c->n) / 8000, c->n);
		send_text(c, js, (size_t)k);
		ws_frame(&c->out, 8, cl, 2, 0);
		c->closing = 1;
	}
}

static int
http(struct conn *c)
{
	unsigned char *p = c->in.p + c->in.off, *e, *k, *q;
	size_t n = buf_used(&c->in);
	char key[128], acc[64], resp[512];
	unsigned char sha[SHA_DIGEST_LENGTH];
	size_t kl = 0;
	int rl;

	e = memmem(p, n, "\r\n\r\n", 4);
	if (e == NULL)
		return n > 16384 ? -1 : 0;
	*e = '\0';
	k = (unsigned char *)strcasestr((char *)p, "\r\nSec-WebSocket-Key:");
	if (k == NULL)
		return -1;
	k += 20;
	while (*k == ' ')
		k++;
	while (k[kl] && k[kl] != '\r' && k[kl] != ' ' && kl < 100)
		kl++;
	memcpy(key, k, kl);
	memcpy(key + kl, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
	SHA1((unsigned char *)key, kl + 36, sha);
	acc[b64enc(acc, sha, sizeof sha)] = '\0';
	q = (unsigned char *)strstr((char *)p, "channels=");
	if (q != NULL && q < (unsigned char *)strstr((char *)p, "\r\n")) {
		int ch = atoi((char *)q + 9);
		c->n = ch >= 1 && ch <= MAXCH ? ch : 1;
	}
	c->in.off += (size_t)(e + 4 - p);
	rl = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\ndg-request-id: bench\r\n\r\n", acc);
	buf_add(&c->out, resp, (size_t)rl);
	c->ws = 1;
	return 1;
}

static void
conn_io(struct conn *c, uint32_t ev)
{
	ssize_t r = 0;

	if (ev & EPOLLOUT)
		conn_flush(c);
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		r = buf_read(&c->in, c->fd);
		if (!c->ws) {
			int h = http(c);
			if (h < 0)
				c->dead = 1;
		}
		while (c->ws && !c->dead) {
			int op, fin, h;
			unsigned char *pl;
			size_t pn;

			h = ws_parse(&c->in, &op, &fin, &pl, &pn);
			if (h == 0)
				break;
			if (h < 0) {
				c->dead = 1;
				break;
			}
			switch (op) {
			case 0:
			case 1:
			case 2:
				if (op == 2 || (op == 0 && c->msg.len == 0)) {
					if (pn > 0)
						audio(c, pl, pn);
				} else if (fin && op == 1) {
					text(c, pl, pn);
				} else {
					buf_add(&c->msg, pl, pn);
					if (fin) {
						text(c, c->msg.p + c->msg.off, buf_used(&c->msg));
						c->msg.off = c->msg.len = 0;
					}
				}
				break;
			case 8:
				if (!c->closing) {
					ws_frame(&c->out, 8, pl, pn >= 2 ? 2 : 0, 0);
					c->closing = 1;
				}
				conn_flush(c);
				c->dead = 1;
				break;
			case 9:
				ws_frame(&c->out, 10, pl, pn, 0);
				break;
			default:
				break;
			}
		}
		if (r == 0 || r == -1)
			c->dead = 1;
	}
	if (!c->dead && buf_used(&c->out) > 0)
		conn_flush(c);
	if (c->dead)
		conn_end(c);
}

int
main(int argc, char **argv)
{
	const char *pf = NULL, *lf = NULL;
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int ls, one = 1, ch, sfd;
	sigset_t ss;
	FILE *f;
	char tmp[4096];
	uint64_t last_flush = 0;
	static char lbuf[1 << 20];

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "f:o:e:")) != -1) {
		switch (ch) {
		case 'f': pf = optarg; break;
		case 'o': lf = optarg; break;
		case 'e': every_default = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: dg-sink -f port-file -o log-file [-e every]\n");
			return 100;
		}
	}
	if (pf == NULL || lf == NULL || optind != argc || every_default < 0 || every_default > 255) {
		fprintf(stderr, "usage: dg-sink -f port-file -o log-file [-e every]\n");
		return 100;
	}
	evlog = fopen(lf, "a");
	if (evlog == NULL)
		die("unable to open the log");
	setvbuf(evlog, lbuf, _IOFBF, sizeof lbuf);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket failed");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0)
		die("unable to listen on 127.0.0.1");
	getsockname(ls, (struct sockaddr *)&a, &al);
	snprintf(tmp, sizeof tmp, "%s.tmp", pf);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
	    rename(tmp, pf) < 0)
		die("unable to write the port file");
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || sfd < 0)
		die("epoll/signalfd failed");
	setev(ls, &ls, 0, EPOLL_CTL_ADD);
	setev(sfd, &sfd, 0, EPOLL_CTL_ADD);
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 200), i;
		uint64_t now = now_us();

		if (now - last_flush > 200000) {
			fflush(evlog);
			last_flush = now;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &ls) {
				int fd;
				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct conn *c = calloc(1, sizeof *c);
					if (c == NULL)
						die("out of memory");
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					c->fd = fd;
					c->n = 1;
					c->phase = -1;
					c->call = -1;
					c->every = -1;
					c->id = ++nconn;
					setev(fd, c, 0, EPOLL_CTL_ADD);
				}
			} else if (evs[i].data.ptr == &sfd) {
				fflush(evlog);
				return 0;
			} else {
				conn_io(evs[i].data.ptr, evs[i].events);
			}
		}
	}
}
