/* Tests for wsc.c against a tiny RFC 6455 server forked from this process (127.0.0.1,
 * port 0): refused upgrade with headers, 101 answers that are not WebSocket upgrades,
 * a reserved close code answered with a valid one, pings before and between fragments of a
 * message, reassembly, truncation of an oversized message, an 8 MiB frame sent in pieces
 * through a small socket buffer while the server pings (the pong must come after the
 * frame, never inside it), echo, and the close handshake. Then the parts of wsc's own
 * client that libcurl used to do: URLs, a name lookup with a fallback address, the
 * tick and deadline of a server that never answers, HTTP answers that are not upgrades
 * (garbage, nothing, 16 KiB of headers, 503), an upgrade written a byte at a time with
 * a frame behind it, frames a server must not send (masked, RSV bits, a stray
 * continuation, a long control frame), and a 64 MiB message that must stream by. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base64.h"
#include "cp.h"
#include "sha1.h"
#include "wsc.h"

static int failures;
#define BIG (8 << 20)
#define HUGE ((size_t)64 << 20)
#define NCONN 20 /* connections the server accepts */
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

/* ---------------------------------------------------------------- server (child) */
static int
readn(int fd, void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
sframe(int fd, int fin, int op, const void *data, size_t len)
{
	unsigned char h[10];
	size_t hl = 2;

	h[0] = (unsigned char)((fin ? 0x80 : 0) | op);
	if (len < 126)
		h[1] = (unsigned char)len;
	else if (len < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		hl = 4;
	} else {
		int i;
		h[1] = 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (cp_writeall(fd, h, hl) < 0 || (len && cp_writeall(fd, data, len) < 0))
		_exit(3);
}

/* Reads one client frame (must be masked); returns opcode, payload malloc'd in *out. */
static int
rframe(int fd, unsigned char **out, size_t *len, int *fin)
{
	unsigned char h[2], ext[8], mask[4], *p;
	uint64_t n;
	size_t i;

	if (readn(fd, h, 2) < 0)
		return -1;
	if (!(h[1] & 0x80))
		_exit(4); /* client frames must be masked */
	n = h[1] & 0x7f;
	if (n == 126) {
		if (readn(fd, ext, 2) < 0)
			return -1;
		n = (uint64_t)ext[0] << 8 | ext[1];
	} else if (n == 127) {
		if (readn(fd, ext, 8) < 0)
			return -1;
		for (n = 0, i = 0; i < 8; i++)
			n = n << 8 | ext[i];
	}
	if (readn(fd, mask, 4) < 0 || n > (1u << 25))
		return -1;
	p = malloc(n + 1);
	if (p == NULL || readn(fd, p, n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		p[i] ^= mask[i % 4];
	p[n] = 0;
	*out = p;
	*len = n;
	*fin = h[0] >> 7;
	return h[0] & 0x0f;
}

/* Reads until the client goes away. */
static void
drain(int fd)
{
	char b[4096];

	while (read(fd, b, sizeof b) > 0)
		;
}

/* Answers that are not a plain upgrade: 1 when done with this connection. */
static int
odd(int fd, const char *path)
{
	static const char *bighead = "HTTP/1.1 101 Switching Protocols\r\nX-Pad: ";
	char b[20000];

	if (strcmp(path, "/garbage") == 0) {
		(void)cp_writeall(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 23);
		drain(fd);
	} else if (strcmp(path, "/empty") == 0)
		return 1;
	else if (strcmp(path, "/bighead") == 0) {
		memset(b, 'a', sizeof b);
		(void)cp_writeall(fd, bighead, strlen(bighead));
		(void)cp_writeall(fd, b, sizeof b);
		drain(fd);
	} else if (strcmp(path, "/silent") == 0)
		drain(fd);
	else if (strcmp(path, "/503") == 0) {
		const char *r = "HTTP/1.1 503 Service Unavailable\r\nretry-after:  1 \r\n\r\n";
		(void)cp_writeall(fd, r, strlen(r));
		drain(fd);
	} else
		return 0;
	return 1;
}

static void
handshake(int fd, char *path, size_t pathsz)
{
	char req[4096], *k, *e, acc[64];
	unsigned char dig[SHA1_LEN], cat[128];
	size_t n = 0, kl;

	while (n < sizeof req - 1) {
		if (read(fd, req + n, 1) != 1)
			_exit(5);
		n++;
		req[n] = 0;
		if (n >= 4 && memcmp(req + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	sscanf(req, "GET %255s", path);
	(void)pathsz;
	if (strncmp(path, "/front", 6) == 0 &&
	    strstr(req, "\r\nHost: dg.example.test\r\n") == NULL)
		_exit(14); /* through a front, Host is still the URL's */
	if (strcmp(path, "/front-empty") == 0)
		_exit(0);
	if (strncmp(path, "/refuse", 7) == 0) {
		const char *r = "HTTP/1.1 401 Unauthorized\r\ndg-error: Invalid credentials.\r\n"
		    "dg-request-id: rid-123\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		(void)cp_writeall(fd, r, strlen(r));
		_exit(0);
	}
	if (strstr(req, "X-Test: yes\r\n") == NULL)
		_exit(6); /* extra headers must arrive */
	if (odd(fd, path))
		_exit(0);
	if (strcmp(path, "/noupgrade") == 0 || strcmp(path, "/badaccept") == 0) {
		/* a 101 that is not a WebSocket upgrade */
		const char *r = path[1] == 'n' ?
		    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" :
		    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
		(void)cp_writeall(fd, r, strlen(r));
		_exit(0);
	}
	k = strstr(req, "Sec-WebSocket-Key: ");
	if (k == NULL)
		_exit(7);
	k += 19;
	e = strstr(k, "\r\n");
	kl = (size_t)(e - k);
	memcpy(cat, k, kl);
	memcpy(cat + kl, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
	sha1(cat, kl + 36, dig);
	acc[b64_encode(dig, sizeof dig, acc)] = 0;
	if (strcmp(path, "/slow") == 0) {
		/* odd spacing and case, a repeated header, a frame right behind the head,
		 * all a byte at a time */
		snprintf(req, sizeof req, "HTTP/1.1 101 Switching Protocols\r\nupgrade:   "
		    "WebSocket  \r\nCONNECTION: upgrade\r\nX-Dup: first\r\nX-Dup: second\r\n"
		    "SEC-WEBSOCKET-ACCEPT:%s\r\n\r\n\x81\x02hi", acc);
		for (n = 0; n < strlen(req); n++) {
			if (write(fd, req + n, 1) != 1)
				_exit(8);
			usleep(500);
		}
		drain(fd);
		_exit(0);
	}
	snprintf(req, sizeof req, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
	if (cp_writeall(fd, req, strlen(req)) < 0)
		_exit(8);
}

/* Frames a server must not send, a huge message, a message then EOF: 1 if path was one. */
static int
badframes(int fd, const char *path)
{
	static const struct { const char *path; const char *bytes; size_t n; } bad[] = {
		{ "/masked", "\x81\x82\x01\x02\x03\x04\x69\x6b", 8 },
		{ "/rsv", "\xc1\x02hi", 4 },
		{ "/badcont", "\x80\x02hi", 4 },
		{ "/longctl", "\x89\x7e\x00\x7e", 4 },
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (strcmp(path, bad[i].path) == 0) {
			(void)cp_writeall(fd, bad[i].bytes, bad[i].n);
			drain(fd);
			return 1;
		}
	if (strcmp(path, "/huge") == 0) {
		static unsigned char chunk[65536];
		unsigned char h[10] = { 0x82, 127 };
		size_t sent;

		for (i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)HUGE >> (56 - 8 * i));
		memset(chunk, 'x', sizeof chunk);
		if (cp_writeall(fd, h, sizeof h) < 0)
			_exit(12);
		for (sent = 0; sent < HUGE; sent += sizeof chunk)
			if (cp_writeall(fd, chunk, sizeof chunk) < 0)
				_exit(13);
		sframe(fd, 1, 0x1, "after", 5);
		drain(fd);
		return 1;
	}
	if (strcmp(path, "/hello") == 0 || strcmp(path, "/front") == 0) {
		sframe(fd, 1, 0x1, "hello", 5);
		return 1; /* then EOF */
	}
	return 0;
}

static void
serve(int fd)
{
	char path[256];
	unsigned char *big, *p;
	size_t len, i;
	int op, fin, pongs = 0, pinged = 0;

	handshake(fd, path, sizeof path);
	if (badframes(fd, path))
		_exit(0);
	if (strcmp(path, "/close1006") == 0) {
		/* a close code no endpoint may send: the answer must be a valid one */
		sframe(fd, 1, 0x8, "\x03\xeegone", 6);
		op = rframe(fd, &p, &len, &fin);
		_exit(op == 0x8 && len == 2 && p[0] == 0x03 && p[1] == 0xea ? 0 : 11);
	}
	sframe(fd, 1, 0x9, "p1", 2);
	sframe(fd, 0, 0x1, "hel", 3);     /* fragmented text ... */
	sframe(fd, 1, 0x9, "p2", 2);      /* ... with a ping in between */
	sframe(fd, 1, 0x0, "lo", 2);
	big = malloc(100000);
	for (i = 0; i < 100000; i++)
		big[i] = (unsigned char)i;
	sframe(fd, 1, 0x2, big, 100000);  /* longer than the client's max_msg */
	sframe(fd, 1, 0x1, "", 0);        /* empty text message */
	free(big);
	for (;;) {
		op = rframe(fd, &p, &len, &fin);
		if (op < 0)
			_exit(9);
		if (op == 0xA) {
			pongs++;
			if (len != 2 || p[0] != 'p')
				_exit(10);
		} else if (op == 0x1) {
			if (len == 4 && memcmp(p, "ping", 4) == 0 && !pinged) {
				/* the next frame is big and slow: ping while it is in flight */
				pinged = 1;
				sframe(fd, 1, 0x9, "p3", 2);
				usleep(300000); /* let the client's socket buffer fill up */
			} else
				sframe(fd, 1, 0x1, p, len); /* echo */
		} else if (op == 0x2) {
			unsigned long sum = 0;
			char r[64];
			for (i = 0; i < len; i++)
				sum += p[i] ^ (unsigned char)(i * 7);
			snprintf(r, sizeof r, "bin %zu %lu pongs %d", len, sum, pongs);
			sframe(fd, 1, 0x1, r, strlen(r));
		} else if (op == 0x8) {
			sframe(fd, 1, 0x8, "\x03\xe8", 2);
			free(p);
			_exit(0);
		}
		free(p);
	}
}

static int
server(pid_t *pid)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int s, one = 1, small = 4096;

	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) < 0) {
		perror("server");
		exit(1);
	}
	*pid = fork();
	if (*pid == 0) {
		int c, k;
		alarm(60);
		for (k = 0; k < NCONN; k++) {
			c = accept(s, NULL, NULL);
			if (c < 0)
				_exit(2);
			if (fork() == 0)
				serve(c);
			close(c);
		}
		k = 0;
		while (wait(&c) > 0)
			if (!WIFEXITED(c) || WEXITSTATUS(c) != 0)
				k = 10 + WEXITSTATUS(c);
		_exit(k);
	}
	close(s);
	return ntohs(a.sin_port);
}

/* ---------------------------------------------------------------- client */
static int ticks, tickstop;

static int
ontick(void *arg)
{
	(void)arg;
	ticks++;
	return tickstop > 0 && ticks >= tickstop;
}

static struct wsc *
dial(struct wsc_opts *o, int port, const char *host, const char *path)
{
	static char url[300];

	snprintf(url, sizeof url, "ws://%s:%d%s", host, port, path);
	o->url = url;
	return wsc_new(o);
}

/* URLs that are no ws:// URL: permanent, and nothing is sent anywhere */
static void
test_urls(struct wsc_opts o)
{
	static const char *bad[] = { "http://127.0.0.1/", "ws://", "ws://:80/",
	    "ws://h:0/", "ws://h:99999/", "ws://[::1/", "ws://h x/", "ws://h:12ab/",
	    "wss://h:-1/", "ws://[::1]x/" };
	struct wsc *w;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o.url = bad[i];
		w = wsc_new(&o);
		CHECK(wsc_connect(w) == WSC_ERR && wsc_failclass(w) == WSC_F_URL &&
		    strncmp(wsc_errmsg(w), "bad URL: ", 9) == 0);
		if (wsc_failclass(w) != WSC_F_URL)
			fprintf(stderr, "%s: %s\n", bad[i], wsc_errmsg(w));
		wsc_free(w);
	}
	o.url = "ws://no-such-host.invalid/";
	o.timeout_ms = 3000;
	w = wsc_new(&o);
	CHECK(wsc_connect(w) == WSC_ERR && (wsc_failclass(w) == WSC_F_DNS_NOTFOUND ||
	    wsc_failclass(w) == WSC_F_DNS_TEMP) && strstr(wsc_errmsg(w), "resolve") != NULL);
	wsc_free(w);
	o.url = "ws://127.0.0.1:1/none"; /* nothing listening: a network error */
	w = wsc_new(&o);
	CHECK(wsc_connect(w) == WSC_ERR && wsc_http_status(w) == 0 &&
	    wsc_failclass(w) == WSC_F_CONNECT);
	wsc_free(w);
}

/* The blocking handshake: tick, deadline, abort, and answers that are no upgrade. */
static void
test_handshakes(struct wsc_opts o, int port)
{
	struct wsc *w;
	struct wsc_msg m;
	int64_t t0 = cp_now_ms();

	o.tick = ontick;
	o.timeout_ms = 1200;
	w = dial(&o, port, "127.0.0.1", "/silent");
	CHECK(wsc_connect(w) == WSC_ETIMEOUT && wsc_failclass(w) == WSC_F_TIMEOUT);
	CHECK(ticks >= 4 && cp_now_ms() - t0 < 2500); /* about every 250 ms */
	wsc_free(w);
	ticks = 0, tickstop = 3;
	w = dial(&o, port, "127.0.0.1", "/silent");
	CHECK(wsc_connect(w) == WSC_EABORT && ticks == 3);
	wsc_free(w);
	tickstop = 0;
	o.timeout_ms = 5000;
	w = dial(&o, port, "127.0.0.1", "/garbage");
	CHECK(wsc_connect(w) == WSC_ERR && wsc_failclass(w) == WSC_F_HTTP);
	wsc_free(w);
	w = dial(&o, port, "127.0.0.1", "/empty");
	CHECK(wsc_connect(w) == WSC_ERR && wsc_failclass(w) == WSC_F_HTTP &&
	    strstr(wsc_errmsg(w), "without an HTTP answer") != NULL);
	wsc_free(w);
	w = dial(&o, port, "127.0.0.1", "/bighead");
	CHECK(wsc_connect(w) == WSC_EPROTO && strstr(wsc_errmsg(w), "16 KiB") != NULL);
	wsc_free(w);
	w = dial(&o, port, "127.0.0.1", "/503");
	CHECK(wsc_connect(w) == WSC_EREFUSED && wsc_http_status(w) == 503);
	CHECK(wsc_header(w, "Retry-After") && strcmp(wsc_header(w, "Retry-After"), "1") == 0);
	wsc_free(w);
	/* a byte at a time, odd case and spacing, a frame right behind the head */
	w = dial(&o, port, "127.0.0.1", "/slow");
	CHECK(wsc_connect(w) == WSC_OK);
	CHECK(wsc_header(w, "UPGRADE") && strcmp(wsc_header(w, "upgrade"), "WebSocket") == 0);
	CHECK(wsc_header(w, "x-dup") && strcmp(wsc_header(w, "X-Dup"), "first") == 0);
	CHECK(wsc_header(w, "X-None") == NULL);
	CHECK(wsc_recv_wait(w, &m, cp_now_ms() + 5000) == WSC_OK && m.type == WSC_TEXT &&
	    m.len == 2 && memcmp(m.data, "hi", 2) == 0);
	wsc_free(w);
	/* a name: getaddrinfo_a, and the next address when one refuses */
	w = dial(&o, port, "localhost", "/hello");
	CHECK(wsc_connect(w) == WSC_OK);
	CHECK(wsc_recv_wait(w, &m, cp_now_ms() + 5000) == WSC_OK && m.len == 5);
	CHECK(wsc_recv_wait(w, &m, cp_now_ms() + 5000) == WSC_EOF);
	CHECK(wsc_recv(w, &m) == WSC_EOF);
	wsc_free(w);
}

/* connect_to: plain TCP to a front, the request as for the URL's host */
static void
test_front(struct wsc_opts o, int port)
{
	static const char *bad[] = { "127.0.0.1", "::1:80", "[::1]",
	    "[::1]x:80", ":80", "h:0", "h:65536", "h:", "h:+80", "h:80x",
	    "[]:80" };
	struct wsc *w;
	struct wsc_msg m;
	char to[64], h[64], p[8];
	size_t i;

	CHECK(wsc_splithostport("[::1]:443", h, sizeof h, p) == 0 &&
	    strcmp(h, "::1") == 0 && strcmp(p, "443") == 0);
	CHECK(wsc_splithostport("127.0.0.1:08", h, sizeof h, p) == 0 &&
	    strcmp(h, "127.0.0.1") == 0 && strcmp(p, "8") == 0);
	o.url = "wss://dg.example.test/front";
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(wsc_splithostport(bad[i], h, sizeof h, p) < 0);
		o.connect_to = bad[i];
		w = wsc_new(&o);
		CHECK(wsc_connect(w) == WSC_ERR &&
		    wsc_failclass(w) == WSC_F_URL);
		wsc_free(w);
	}
	snprintf(to, sizeof to, "127.0.0.1:%d", port);
	o.connect_to = to;
	w = wsc_new(&o); /* the server checks Host: dg.example.test */
	CHECK(wsc_connect(w) == WSC_OK);
	CHECK(wsc_recv_wait(w, &m, cp_now_ms() + 5000) == WSC_OK &&
	    m.len == 5 && memcmp(m.data, "hello", 5) == 0);
	wsc_free(w);
	o.url = "wss://dg.example.test/front-empty";
	w = wsc_new(&o);
	CHECK(wsc_connect(w) == WSC_ERR && wsc_failclass(w) == WSC_F_HTTP &&
	    strstr(wsc_errmsg(w), "TLS front") != NULL);
	wsc_free(w);
	o.connect_to = "127.0.0.1:1";
	w = wsc_new(&o);
	CHECK(wsc_connect(w) == WSC_ERR && wsc_failclass(w) == WSC_F_CONNECT &&
	    strstr(wsc_errmsg(w), "TLS front 127.0.0.1 port 1") != NULL);
	wsc_free(w);
}

/* Frames a client must refuse (RFC 6455 5.1, 5.2, 5.4, 5.5): the connection is dead. */
static void
test_badframes(struct wsc_opts o, int port)
{
	static const char *path[] = { "/masked", "/rsv", "/badcont", "/longctl" };
	static const char *why[] = { "masked", "reserved bits", "continuation",
	    "control frame" };
	struct wsc *w;
	struct wsc_msg m;
	size_t i;

	for (i = 0; i < 4; i++) {
		w = dial(&o, port, "127.0.0.1", path[i]);
		CHECK(wsc_connect(w) == WSC_OK);
		CHECK(wsc_recv_wait(w, &m, cp_now_ms() + 5000) == WSC_ERR);
		CHECK(strstr(wsc_errmsg(w), why[i]) != NULL && wsc_failclass(w) == WSC_F_IO);
		if (strstr(wsc_errmsg(w), why[i]) == NULL)
			fprintf(stderr, "%s: %s\n", path[i], wsc_errmsg(w));
		CHECK(wsc_fd(w) == -1);
		wsc_free(w);
	}
}

/* A 64 MiB message with max_msg 64 KiB: its head, truncated, then the next message;
 * the rest streamed by (the peak RSS grows by far less than the message). */
static void
test_huge(struct wsc_opts o, int port)
{
	struct rusage ru0, ru1;
	struct wsc *w;
	struct wsc_msg m;
	int64_t dl = cp_now_ms() + 20000;

	getrusage(RUSAGE_SELF, &ru0);
	w = dial(&o, port, "127.0.0.1", "/huge");
	CHECK(wsc_connect(w) == WSC_OK);
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_BINARY &&
	    m.len == 65536 && m.truncated && m.data[65535] == 'x');
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_TEXT && m.len == 5 &&
	    !m.truncated && memcmp(m.data, "after", 5) == 0);
	wsc_free(w);
	getrusage(RUSAGE_SELF, &ru1);
	CHECK(ru1.ru_maxrss - ru0.ru_maxrss < 16384); /* KiB */
	if (ru1.ru_maxrss - ru0.ru_maxrss >= 16384)
		fprintf(stderr, "huge: peak RSS grew %ld KiB\n", ru1.ru_maxrss - ru0.ru_maxrss);
}

/* Pings around fragments, reassembly, truncation, a big frame in pieces with a ping
 * while it is in flight, echo, the close handshake. */
static void
test_echo(struct wsc_opts o, int port)
{
	struct wsc *w;
	struct wsc_msg m;
	unsigned char *big;
	size_t i;
	int r, again = 0;
	int64_t dl;

	w = dial(&o, port, "127.0.0.1", "/echo");
	r = wsc_connect(w);
	CHECK(r == WSC_OK);
	if (r != WSC_OK)
		fprintf(stderr, "connect: %d %s\n", r, wsc_errmsg(w));
	CHECK(wsc_fd(w) >= 0);
	dl = cp_now_ms() + 10000;
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_PING && m.len == 2 && memcmp(m.data, "p1", 2) == 0);
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_PING && memcmp(m.data, "p2", 2) == 0);
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_TEXT && m.len == 5 && memcmp(m.data, "hello", 5) == 0 && !m.truncated);
	r = wsc_recv_wait(w, &m, dl);
	CHECK(r == WSC_OK && m.type == WSC_BINARY && m.len == 65536 && m.truncated);
	CHECK(m.len < 300 || (m.data[299] == (unsigned char)299 && m.data[65535] == (unsigned char)65535));
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_TEXT && m.len == 0 && !m.truncated);

	/* a big frame through a small socket buffer: partial sends, a ping while in flight */
	CHECK(wsc_send_wait(w, WSC_TEXT, "ping", 4, dl) == WSC_OK);
	big = malloc(BIG);
	for (i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 7 + 1);
	r = wsc_send(w, WSC_BINARY, big, BIG);
	CHECK(r == WSC_OK || r == WSC_AGAIN);
	memset(big, 0, BIG); /* wsc keeps its own copy */
	CHECK(r != WSC_AGAIN || wsc_send(w, WSC_TEXT, "x", 1) == WSC_BUSY);
	while (!wsc_idle(w) && cp_now_ms() < dl) {
		struct pollfd p = { wsc_fd(w), wsc_events(w), 0 };
		again++;
		poll(&p, 1, 100);
		r = wsc_flush(w);
		CHECK(r == WSC_OK || r == WSC_AGAIN);
		while ((r = wsc_recv(w, &m)) == WSC_OK)
			CHECK(m.type == WSC_PING);
		CHECK(r == WSC_AGAIN);
	}
	CHECK(wsc_idle(w));
	CHECK(again > 0); /* the frame did not go out in one piece */
	free(big);
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_TEXT);
	/* the server sums payload[i] ^ (i*7): the payload arrived intact */
	{
		unsigned long sum = 0;
		char want[64];
		for (i = 0; i < BIG; i++)
			sum += (unsigned char)(i * 7 + 1) ^ (unsigned char)(i * 7);
		snprintf(want, sizeof want, "bin %d %lu pongs 2", BIG, sum);
		CHECK(m.len == strlen(want) && memcmp(m.data, want, m.len) == 0);
		if (m.len != strlen(want))
			fprintf(stderr, "got %.*s want %s\n", (int)m.len, m.data, want);
	}
	CHECK(wsc_send_wait(w, WSC_TEXT, "echo me", 7, dl) == WSC_OK);
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_TEXT && m.len == 7 && memcmp(m.data, "echo me", 7) == 0);
	CHECK(wsc_shutdown(w, 1000, "bye", dl) == WSC_OK);
	CHECK(wsc_close_sent(w) && wsc_close_received(w));
	CHECK(wsc_send(w, WSC_TEXT, "late", 4) == WSC_ECLOSED);
	wsc_free(w);
}

int
main(void)
{
	const char *hdrs[] = { "X-Test: yes", NULL };
	struct wsc_opts o;
	struct wsc *w;
	struct wsc_msg m;
	char url[128];
	int port, st;
	pid_t pid;
	int64_t dl;

	signal(SIGPIPE, SIG_IGN);
	port = server(&pid);
	memset(&o, 0, sizeof o);
	o.headers = hdrs;
	o.timeout_ms = 5000;
	o.max_msg = 65536;

	/* refused upgrade: status and headers */
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/refuse", port);
	o.url = url;
	w = wsc_new(&o);
	CHECK(w != NULL);
	CHECK(wsc_connect(w) == WSC_EREFUSED);
	CHECK(wsc_http_status(w) == 401);
	CHECK(wsc_header(w, "dg-error") && strcmp(wsc_header(w, "dg-error"), "Invalid credentials.") == 0);
	CHECK(wsc_header(w, "dg-request-id") && strcmp(wsc_header(w, "dg-request-id"), "rid-123") == 0);
	CHECK(wsc_fd(w) == -1);
	CHECK(wsc_failclass(w) == WSC_F_HTTP && strcmp(wsc_errmsg(w), "upgrade refused: HTTP 401") == 0);
	wsc_free(w);
	test_huge(o, port);
	test_urls(o);
	test_handshakes(o, port);
	test_front(o, port);
	test_badframes(o, port);

	test_echo(o, port);

	/* a 101 without "Upgrade: websocket", or with a wrong Sec-WebSocket-Accept:
	 * refused as a protocol error */
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/noupgrade", port);
	w = wsc_new(&o);
	CHECK(wsc_connect(w) == WSC_EPROTO && strstr(wsc_errmsg(w), "Upgrade") != NULL);
	CHECK(wsc_fd(w) == -1);
	wsc_free(w);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/badaccept", port);
	w = wsc_new(&o);
	CHECK(wsc_connect(w) == WSC_EPROTO &&
	    strstr(wsc_errmsg(w), "wrong Sec-WebSocket-Accept") != NULL);
	wsc_free(w);

	/* close code 1006 from the server: answered with 1002 (the server checks) */
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/close1006", port);
	w = wsc_new(&o);
	CHECK(wsc_connect(w) == WSC_OK);
	dl = cp_now_ms() + 10000;
	CHECK(wsc_recv_wait(w, &m, dl) == WSC_OK && m.type == WSC_CLOSE && m.close_code == 1006);
	CHECK(wsc_shutdown(w, 1000, NULL, dl) == WSC_OK);
	wsc_free(w);
	CHECK(wsc_close_code_ok(1000) && wsc_close_code_ok(1011) && wsc_close_code_ok(4000));
	CHECK(!wsc_close_code_ok(1005) && !wsc_close_code_ok(1006) && !wsc_close_code_ok(1015));
	CHECK(!wsc_close_code_ok(0) && !wsc_close_code_ok(999) && !wsc_close_code_ok(1004));
	CHECK(!wsc_close_code_ok(2000) && !wsc_close_code_ok(5000));

	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (failures)
		fprintf(stderr, "test-wsc: %d failures\n", failures);
	return failures != 0;
}
