/* Tests for wsc.c against a tiny RFC 6455 server forked from this process (127.0.0.1,
 * port 0): refused upgrade with headers, 101 answers that are not WebSocket upgrades,
 * a reserved close code answered with a valid one, pings before and between fragments of a
 * message, reassembly, truncation of an oversized message, an 8 MiB frame sent in pieces
 * through a small socket buffer while the server pings (the pong must come after the
 * frame, never inside it), echo, and the close handshake. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base64.h"
#include "cp.h"
#include "sha1.h"
#include "wsc.h"

static int failures;
#define BIG (8 << 20)
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
	if (strncmp(path, "/refuse", 7) == 0) {
		const char *r = "HTTP/1.1 401 Unauthorized\r\ndg-error: Invalid credentials.\r\n"
		    "dg-request-id: rid-123\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		(void)cp_writeall(fd, r, strlen(r));
		_exit(0);
	}
	if (strstr(req, "X-Test: yes\r\n") == NULL)
		_exit(6); /* extra headers must arrive */
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
	snprintf(req, sizeof req, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
	if (cp_writeall(fd, req, strlen(req)) < 0)
		_exit(8);
}

static void
serve(int fd)
{
	char path[256];
	unsigned char *big, *p;
	size_t len, i;
	int op, fin, pongs = 0, pinged = 0;

	handshake(fd, path, sizeof path);
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
		alarm(30);
		for (k = 0; k < 5; k++) {
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
int
main(void)
{
	const char *hdrs[] = { "X-Test: yes", NULL };
	struct wsc_opts o;
	struct wsc *w;
	struct wsc_msg m;
	char url[128];
	unsigned char *big;
	size_t i;
	int port, r, st, again = 0;
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
	wsc_free(w);

	snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", port);
	w = wsc_new(&o);
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

	/* nothing listening: a network error, not a refusal */
	snprintf(url, sizeof url, "ws://127.0.0.1:1/none");
	w = wsc_new(&o);
	CHECK(wsc_connect(w) == WSC_ERR && wsc_http_status(w) == 0 && wsc_failclass(w) == WSC_F_CONNECT);
	wsc_free(w);

	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (failures)
		fprintf(stderr, "test-wsc: %d failures\n", failures);
	return failures != 0;
}
