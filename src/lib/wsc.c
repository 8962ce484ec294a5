/* wsc.c: WebSocket client over libcurl's CONNECT_ONLY WebSocket API (see wsc.h).
 * libcurl rules this file lives by (reference/websocketd-libcurl.md):
 * - curl_ws_send may take part of a frame: the rest must be resent (same remainder, same
 *   call shape) before any other frame starts; CURLE_AGAIN means wait for POLLOUT.
 * - curl_ws_recv buffers internally: call it until CURLE_AGAIN after each wake-up; a frame
 *   arrives in pieces (bytesleft), a message ends at bytesleft == 0 without CURLWS_CONT.
 * - CURLWS_NOAUTOPONG: pongs are ours, sent between frames. Close frames are answered here.
 * Sending does not use curl_ws_send: libcurl 8.14 masks and buffers a payload one byte
 * at a time (a Curl_bufq_write call per byte) and draws each frame's mask from OpenSSL's
 * DRBG, about 35,000 instructions for a 320-byte audio frame. wsc builds the frame
 * itself (header, mask from a pooled RAND_bytes draw, payload masked a word at a time)
 * and writes the bytes with curl_easy_send, through the same connection filters (TLS
 * included), or for ws:// with send(2) on the socket. libcurl's own WebSocket send
 * buffer is then never used, so nothing of libcurl's can be interleaved with a
 * half-sent frame of ours.
 * Receiving still calls curl_ws_recv after every wake-up, even when poll() did not report
 * the socket readable and the last call said CURLE_AGAIN: libcurl 8.14.1 was seen holding
 * a complete 458-byte text frame in that state (socket empty by FIONREAD, no call into
 * libcurl in between; a stalled-then-released server, tests/dg-stall.sh), so skipping
 * that recv() would delay messages. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "base64.h"
#include "cp.h"
#include "wsc.h"

#define CTL_MAX 125
#define SCRATCH 4096
#define HEAD_MAX 14      /* 2 + 8 (64-bit length) + 4 (mask) */
#define MASKPOOL 512     /* random bytes drawn at a time: 128 frames' masks */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* opcodes */
enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

struct wsc {
	CURL *curl;
	struct curl_slist *hdrs;
	char *url;
	long timeout_ms;
	size_t max_msg;
	int (*tick)(void *);
	void *tick_arg;
	int64_t deadline;
	int aborted, timedout, sndbuf, rcvbuf;
	int plain;         /* ws://: frames go to the socket with send(2) */

	int connected, dead, eof;
	int fd;            /* the socket, cached at connect */
	unsigned char maskpool[MASKPOOL];
	size_t maskleft;
	long http_status;
	int curlcode;
	char accept[32];   /* the Sec-WebSocket-Accept our key asks for (libcurl never
	                    * checks it: we send our own key and check the answer) */
	uint64_t bytes_out; /* bytes written to the connection */
	char errbuf[CURL_ERROR_SIZE];
	char errmsg[CURL_ERROR_SIZE + 64];

	/* the frame in flight, header included: bytes [soff, slen) of sbuf still to go */
	unsigned char *sbuf;
	size_t scap, slen, soff;
	int sbusy, sclose; /* sclose: the frame in flight is our close frame */

	unsigned char pong[CTL_MAX];
	size_t ponglen;
	int pong_due;
	unsigned char closep[CTL_MAX];
	size_t closelen;
	int close_due, close_sent, close_rcvd;

	/* receiving */
	unsigned char *rbuf;
	size_t rcap, rlen;
	int rtype, rin, rtrunc, rdone;
	unsigned char cbuf[CTL_MAX + 1];
	size_t clen;
	unsigned char scratch[SCRATCH];
};

const char *
wsc_check(void)
{
	static int inited;
	const curl_version_info_data *v;
	const char *const *p;
	int ws = 0, wss = 0;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return "curl_global_init failed";
		inited = 1;
	}
	v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || v->protocols == NULL)
		return "libcurl reports no protocols";
	for (p = v->protocols; *p; p++) {
		if (strcmp(*p, "ws") == 0)
			ws = 1;
		else if (strcmp(*p, "wss") == 0)
			wss = 1;
	}
	if (!ws || !wss)
		return "this libcurl has no WebSocket (ws/wss) support: install libcurl 8.11 or newer built with WebSockets (Debian: libcurl4-openssl-dev from backports)";
	if (v->version_num < 0x080e00)
		return "libcurl older than 8.14 lacks CURLWS_NOAUTOPONG: install libcurl 8.14 or newer";
	return NULL;
}

void
wsc_no_tls(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	/* OpenSSL runs each part of its initialisation once: these two, done first, make
	 * libcurl's later OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG) skip them */
	if (v != NULL && v->ssl_version != NULL && strncmp(v->ssl_version, "OpenSSL/", 8) == 0)
		(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
		    OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
}

/* Our own Sec-WebSocket-Key (libcurl then sends it instead of its own), and the
 * Sec-WebSocket-Accept it asks for (RFC 6455 4.1). */
static int
addkey(struct wsc *w)
{
	unsigned char key[16], dig[SHA_DIGEST_LENGTH];
	char k64[32], hdr[64], cat[96];
	struct curl_slist *n;

	if (RAND_bytes(key, sizeof key) != 1)
		return -1;
	b64_encode(key, sizeof key, k64);
	snprintf(cat, sizeof cat, "%s%s", k64, WS_GUID);
	SHA1((const unsigned char *)cat, strlen(cat), dig);
	b64_encode(dig, sizeof dig, w->accept);
	snprintf(hdr, sizeof hdr, "Sec-WebSocket-Key: %s", k64);
	n = curl_slist_append(w->hdrs, hdr);
	if (n == NULL)
		return -1;
	w->hdrs = n;
	return 0;
}

struct wsc *
wsc_new(const struct wsc_opts *o)
{
	struct wsc *w;
	const char *const *h;

	if (wsc_check() != NULL || o == NULL || o->url == NULL)
		return NULL;
	w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->url = strdup(o->url);
	w->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	w->max_msg = o->max_msg > 0 ? o->max_msg : 1024 * 1024;
	w->tick = o->tick;
	w->tick_arg = o->tick_arg;
	w->sndbuf = o->sndbuf;
	w->rcvbuf = o->rcvbuf;
	if (w->rcvbuf == 0)
		w->rcvbuf = strncmp(o->url, "ws://", 5) == 0 ? WSC_RCVBUF : -1;
	w->plain = strncmp(o->url, "ws://", 5) == 0;
	w->curl = curl_easy_init();
	if (w->url == NULL || w->curl == NULL)
		goto fail;
	if (o->cafile != NULL && curl_easy_setopt(w->curl, CURLOPT_CAINFO, o->cafile) != CURLE_OK)
		goto fail;
	for (h = o->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(w->hdrs, *h);
		if (n == NULL)
			goto fail;
		w->hdrs = n;
	}
	if (addkey(w) < 0)
		goto fail;
	return w;
fail:
	wsc_free(w);
	return NULL;
}

void
wsc_free(struct wsc *w)
{
	if (w == NULL)
		return;
	if (w->curl)
		curl_easy_cleanup(w->curl);
	curl_slist_free_all(w->hdrs);
	free(w->url);
	free(w->sbuf);
	free(w->rbuf);
	free(w);
}

static void
seterr(struct wsc *w, int code, const char *what)
{
	w->curlcode = code;
	snprintf(w->errmsg, sizeof w->errmsg, "%s: %s (curl %d)", what,
	    w->errbuf[0] ? w->errbuf : curl_easy_strerror((CURLcode)code), code);
	w->errbuf[0] = '\0';
}

static int
xferinfo(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct wsc *w = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	if (w->tick && w->tick(w->tick_arg)) {
		w->aborted = 1;
		return 1;
	}
	if (cp_now_ms() >= w->deadline) {
		w->timedout = 1;
		return 1;
	}
	return 0;
}

static int
sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct wsc *w = arg;

	if (purpose == CURLSOCKTYPE_IPCXN && w->sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &w->sndbuf, sizeof w->sndbuf);
	if (purpose == CURLSOCKTYPE_IPCXN && w->rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &w->rcvbuf, sizeof w->rcvbuf);
	return CURL_SOCKOPT_OK;
}

/* Is the 101 a WebSocket upgrade (RFC 6455 4.1: Upgrade: websocket, and the
 * Sec-WebSocket-Accept of our key)? If not, says why in errmsg. */
static int
upgraded(struct wsc *w)
{
	const char *up = wsc_header(w, "Upgrade"), *acc;
	const char *why = NULL;

	if (up == NULL || strcasecmp(up, "websocket") != 0)
		why = "no \"Upgrade: websocket\" header";
	else if ((acc = wsc_header(w, "Sec-WebSocket-Accept")) == NULL)
		why = "no Sec-WebSocket-Accept header";
	else if (strcmp(acc, w->accept) != 0)
		why = "wrong Sec-WebSocket-Accept";
	if (why == NULL)
		return 1;
	w->curlcode = 0;
	snprintf(w->errmsg, sizeof w->errmsg, "not a WebSocket server: HTTP 101 with %s",
	    why);
	return 0;
}

int
wsc_connect(struct wsc *w)
{
	CURLcode rc;
	curl_socket_t s = CURL_SOCKET_BAD;
	CURL *c = w->curl;

	if (w->connected || w->dead)
		return WSC_ERR;
	w->deadline = cp_now_ms() + w->timeout_ms;
	curl_easy_setopt(c, CURLOPT_URL, w->url);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 2L);
	curl_easy_setopt(c, CURLOPT_WS_OPTIONS, (long)CURLWS_NOAUTOPONG);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "ws,wss");
	if (w->hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->hdrs);
	if (w->sndbuf > 0 || w->rcvbuf > 0) {
		curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, sockopt);
		curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, w);
	}
	w->errbuf[0] = '\0';
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w->http_status);
	if (rc != CURLE_OK) {
		w->dead = 1;
		if (w->aborted) {
			seterr(w, rc, "handshake aborted");
			return WSC_EABORT;
		}
		if (w->timedout || rc == CURLE_OPERATION_TIMEDOUT) {
			seterr(w, rc, "handshake timed out");
			return WSC_ETIMEOUT;
		}
		if (w->http_status != 0 && w->http_status != 101) {
			seterr(w, rc, "upgrade refused");
			return WSC_EREFUSED;
		}
		seterr(w, rc, "connect failed");
		return WSC_ERR;
	}
	if (w->http_status != 101) {
		w->dead = 1;
		seterr(w, CURLE_HTTP_RETURNED_ERROR, "upgrade refused");
		return WSC_EREFUSED;
	}
	if (!upgraded(w)) {
		w->dead = 1;
		return WSC_EPROTO;
	}
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
	if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK || s == CURL_SOCKET_BAD) {
		w->dead = 1;
		seterr(w, CURLE_COULDNT_CONNECT, "no socket after the handshake");
		return WSC_ERR;
	}
	w->connected = 1;
	w->fd = (int)s;
	return WSC_OK;
}

long wsc_http_status(const struct wsc *w) { return w->http_status; }
uint64_t wsc_bytes_out(const struct wsc *w) { return w->bytes_out; }
int wsc_curlcode(const struct wsc *w) { return w->curlcode; }
const char *wsc_errmsg(const struct wsc *w) { return w->errmsg; }
int wsc_close_sent(const struct wsc *w) { return w->close_sent; }
int wsc_close_received(const struct wsc *w) { return w->close_rcvd; }

const char *
wsc_header(struct wsc *w, const char *name)
{
	struct curl_header *h = NULL;

	if (curl_easy_header(w->curl, name, 0, CURLH_HEADER | CURLH_1XX, -1,
	    &h) != CURLHE_OK || h == NULL)
		return NULL;
	return h->value;
}

int
wsc_fd(const struct wsc *w)
{
	if (!w->connected || w->dead)
		return -1;
	return w->fd;
}

short
wsc_events(const struct wsc *w)
{
	short ev = POLLIN;

	if (w->sbusy || w->pong_due || w->close_due)
		ev |= POLLOUT;
	return ev;
}

int
wsc_idle(const struct wsc *w)
{
	return w->connected && !w->dead && !w->sbusy && !w->pong_due && !w->close_due &&
	    !w->close_sent;
}

/* Without TLS, libcurl's connection filters add nothing to a send but the
 * memory they touch, cold after each 20 ms sleep: write to the socket. libcurl
 * holds nothing unsent of ours (wsc never uses curl_ws_send). */
static CURLcode
sendplain(struct wsc *w, const unsigned char *p, size_t len, size_t *n)
{
	ssize_t r;

	do
		r = send(w->fd, p, len, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r >= 0) {
		*n = (size_t)r;
		return CURLE_OK;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return CURLE_AGAIN;
	snprintf(w->errbuf, sizeof w->errbuf, "%s", strerror(errno));
	return CURLE_SEND_ERROR;
}

/* Pushes the frame in flight. WSC_OK when it is complete, WSC_AGAIN, WSC_ERR. */
static int
push(struct wsc *w)
{
	while (w->sbusy) {
		size_t n = 0, left = w->slen - w->soff;
		CURLcode rc;

		/* a remainder is always resent as it was (same bytes, same place): what
		 * OpenSSL's SSL_write asks for after a partial write */
		if (w->plain)
			rc = sendplain(w, w->sbuf + w->soff, left, &n);
		else
			rc = curl_easy_send(w->curl, w->sbuf + w->soff, left, &n);
		if (rc == CURLE_AGAIN)
			return WSC_AGAIN;
		if (rc != CURLE_OK) {
			w->dead = 1;
			seterr(w, rc, "send failed");
			return WSC_ERR;
		}
		if (n > left)
			n = left;
		w->soff += n;
		w->bytes_out += n;
		if (w->soff == w->slen) {
			w->sbusy = 0;
			if (w->sclose) {
				w->sclose = 0;
				w->close_sent = 1;
			}
			if (w->scap > 65536) { /* a big frame is gone: give its memory back */
				free(w->sbuf);
				w->sbuf = NULL;
				w->scap = 0;
			}
			break;
		}
		if (n == 0)
			return WSC_AGAIN;
	}
	return WSC_OK;
}

/* Four bytes of a frame mask (RFC 6455 5.3: from a strong source of entropy). */
static int
getmask(struct wsc *w, unsigned char mask[4])
{
	if (w->maskleft < 4) {
		if (RAND_bytes(w->maskpool, sizeof w->maskpool) != 1) {
			snprintf(w->errmsg, sizeof w->errmsg, "no random bytes for a frame mask");
			return -1;
		}
		w->maskleft = sizeof w->maskpool;
	}
	w->maskleft -= 4;
	memcpy(mask, w->maskpool + w->maskleft, 4);
	memset(w->maskpool + w->maskleft, 0, 4); /* used once */
	return 0;
}

/* Makes a frame of buf the frame in flight (FIN set, masked) and tries to send it. */
static int
start(struct wsc *w, int op, const void *buf, size_t len)
{
	const unsigned char *src = buf;
	unsigned char *d, mask[4];
	size_t hl, i, need = len + HEAD_MAX;
	uint64_t m8;

	if (need > w->scap) {
		size_t cap = w->scap ? w->scap : 512;
		unsigned char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(w->sbuf, cap);
		if (p == NULL) {
			snprintf(w->errmsg, sizeof w->errmsg, "out of memory");
			return WSC_ERR;
		}
		w->sbuf = p;
		w->scap = cap;
	}
	if (getmask(w, mask) < 0)
		return WSC_ERR;
	d = w->sbuf;
	d[0] = (unsigned char)(0x80 | op);
	if (len < 126) {
		d[1] = (unsigned char)(0x80 | len);
		hl = 2;
	} else if (len < 65536) {
		d[1] = 0x80 | 126;
		d[2] = (unsigned char)(len >> 8);
		d[3] = (unsigned char)len;
		hl = 4;
	} else {
		d[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			d[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(d + hl, mask, 4);
	hl += 4;
	d += hl;
	/* payload ^ mask, eight bytes at a time (the mask repeats every 4 bytes) */
	memcpy(&m8, mask, 4);
	memcpy((unsigned char *)&m8 + 4, mask, 4);
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v;

		memcpy(&v, src + i, 8);
		v ^= m8;
		memcpy(d + i, &v, 8);
	}
	for (; i < len; i++)
		d[i] = src[i] ^ mask[i & 3];
	w->slen = hl + len;
	w->soff = 0;
	w->sbusy = 1;
	return push(w);
}

int
wsc_flush(struct wsc *w)
{
	int r;

	if (!w->connected || w->dead)
		return WSC_ERR;
	for (;;) {
		r = push(w);
		if (r != WSC_OK)
			return r;
		if (w->pong_due) {
			w->pong_due = 0;
			r = start(w, OP_PONG, w->pong, w->ponglen);
		} else if (w->close_due) {
			w->close_due = 0;
			w->sclose = 1;
			r = start(w, OP_CLOSE, w->closep, w->closelen);
		} else
			return WSC_OK;
		if (r != WSC_OK)
			return r;
	}
}

int
wsc_send(struct wsc *w, int type, const void *buf, size_t len)
{
	int op, r;

	if (!w->connected || w->dead || w->close_sent || w->sclose || w->close_due)
		return WSC_ECLOSED;
	switch (type) {
	case WSC_TEXT: op = OP_TEXT; break;
	case WSC_BINARY: op = OP_BINARY; break;
	case WSC_PING: op = OP_PING; break;
	case WSC_PONG: op = OP_PONG; break;
	default: return WSC_ERR;
	}
	if ((type == WSC_PING || type == WSC_PONG) && len > CTL_MAX)
		return WSC_ERR;
	if (w->sbusy || w->pong_due || w->close_due) {
		r = wsc_flush(w);
		if (r == WSC_AGAIN)
			return WSC_BUSY;
		if (r != WSC_OK)
			return r;
	}
	return start(w, op, buf, len);
}

int
wsc_send_close(struct wsc *w, int code, const char *reason)
{
	size_t rl = reason ? strlen(reason) : 0;

	if (!w->connected || w->dead)
		return WSC_ERR;
	if (w->close_sent || w->sclose || w->close_due)
		return WSC_ECLOSED;
	if (rl > CTL_MAX - 2)
		rl = CTL_MAX - 2;
	w->closelen = 0;
	if (code > 0 && !wsc_close_code_ok(code))
		code = 1002;
	if (code > 0) {
		w->closep[0] = (unsigned char)(code >> 8);
		w->closep[1] = (unsigned char)code;
		if (rl)
			memcpy(w->closep + 2, reason, rl);
		w->closelen = 2 + rl;
	}
	w->close_due = 1;
	return wsc_flush(w);
}

int
wsc_close_code_ok(int code)
{
	if (code >= 3000 && code <= 4999)
		return 1;
	return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 &&
	    code != 1006;
}

/* A complete control frame is in cbuf[0..clen). */
static void
control(struct wsc *w, unsigned flags, struct wsc_msg *m)
{
	size_t n = w->clen > CTL_MAX ? CTL_MAX : w->clen;

	memset(m, 0, sizeof *m);
	m->data = w->cbuf;
	m->len = n;
	if (flags & CURLWS_CLOSE) {
		m->type = WSC_CLOSE;
		m->close_code = 1005;
		if (n >= 2) {
			m->close_code = (w->cbuf[0] << 8) | w->cbuf[1];
			m->data = w->cbuf + 2;
			m->len = n - 2;
		}
		w->cbuf[n] = '\0';
		if (!w->close_rcvd && !w->close_sent && !w->sclose && !w->close_due) {
			/* answer with the same code (none if it had none), or 1002 for a
			 * code that must never be sent (RFC 6455 7.4) */
			int code = n >= 2 ? m->close_code : 1002;

			w->closelen = n > 0 ? 2 : 0;
			if (!wsc_close_code_ok(code))
				code = 1002;
			w->closep[0] = (unsigned char)(code >> 8);
			w->closep[1] = (unsigned char)code;
			w->close_due = 1;
		}
		w->close_rcvd = 1;
	} else if (flags & CURLWS_PING) {
		m->type = WSC_PING;
		memcpy(w->pong, w->cbuf, n);
		w->ponglen = n;
		if (!w->close_sent && !w->sclose)
			w->pong_due = 1;
	} else
		m->type = WSC_PONG;
	w->clen = 0;
	/* between frames: the answer can go now */
	if (!w->sbusy && (w->pong_due || w->close_due))
		(void)wsc_flush(w);
}

int
wsc_recv(struct wsc *w, struct wsc_msg *m)
{
	if (!w->connected)
		return WSC_ERR;
	if (w->eof)
		return WSC_EOF;
	if (w->dead)
		return WSC_ERR;
	if (w->rdone) {
		w->rdone = 0;
		w->rlen = 0;
		w->rtrunc = 0;
		if (w->rcap > 65536) { /* a big message is gone: give its memory back */
			free(w->rbuf);
			w->rbuf = NULL;
			w->rcap = 0;
		}
	}
	for (;;) {
		const struct curl_ws_frame *meta = NULL;
		unsigned char *dst;
		size_t room, n = 0;
		CURLcode rc;

		if (w->rlen == w->rcap && w->rcap < w->max_msg) {
			size_t cap = w->rcap ? w->rcap * 2 : 4096;
			unsigned char *p;

			if (cap > w->max_msg)
				cap = w->max_msg;
			p = realloc(w->rbuf, cap);
			if (p == NULL) {
				w->dead = 1;
				snprintf(w->errmsg, sizeof w->errmsg, "out of memory");
				return WSC_ERR;
			}
			w->rbuf = p;
			w->rcap = cap;
		}
		if (w->rlen < w->rcap) {
			dst = w->rbuf + w->rlen;
			room = w->rcap - w->rlen;
		} else {
			dst = w->scratch;
			room = sizeof w->scratch;
		}
		rc = curl_ws_recv(w->curl, dst, room, &n, &meta);
		if (rc == CURLE_AGAIN)
			return WSC_AGAIN;
		if (rc == CURLE_GOT_NOTHING) {
			w->eof = 1;
			w->dead = 1;
			seterr(w, rc, "connection closed by peer");
			return WSC_EOF;
		}
		if (rc != CURLE_OK || meta == NULL) {
			w->dead = 1;
			seterr(w, rc, "receive failed");
			return WSC_ERR;
		}
		if (meta->flags & (CURLWS_CLOSE | CURLWS_PING | CURLWS_PONG)) {
			size_t k = n;

			if (w->clen + k > CTL_MAX)
				k = w->clen < CTL_MAX ? CTL_MAX - w->clen : 0;
			memmove(w->cbuf + w->clen, dst, k);
			w->clen += k;
			if (meta->bytesleft == 0) {
				control(w, (unsigned)meta->flags, m);
				return WSC_OK;
			}
			continue;
		}
		if (!w->rin) {
			w->rin = 1;
			w->rtype = (meta->flags & CURLWS_TEXT) ? WSC_TEXT : WSC_BINARY;
		}
		if (dst == w->scratch)
			w->rtrunc = n > 0 || w->rtrunc;
		else
			w->rlen += n;
		if (meta->bytesleft == 0 && !(meta->flags & CURLWS_CONT)) {
			memset(m, 0, sizeof *m);
			m->type = w->rtype;
			m->data = w->rbuf ? w->rbuf : w->scratch;
			m->len = w->rlen;
			m->truncated = w->rtrunc;
			w->rin = 0;
			w->rdone = 1;
			return WSC_OK;
		}
	}
}

/* Waits for ev on the socket until deadline. WSC_OK, WSC_ETIMEOUT, WSC_ERR. */
static int
waitfd(struct wsc *w, short ev, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int r;

	p.fd = wsc_fd(w);
	if (p.fd < 0)
		return WSC_ERR;
	p.events = ev;
	for (;;) {
		left = deadline < 0 ? 1000 : deadline - cp_now_ms();
		if (left <= 0)
			return WSC_ETIMEOUT;
		r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r > 0)
			return WSC_OK;
		if (r < 0 && errno != EINTR) {
			snprintf(w->errmsg, sizeof w->errmsg, "poll: %s", strerror(errno));
			return WSC_ERR;
		}
	}
}

int
wsc_send_wait(struct wsc *w, int type, const void *buf, size_t len, int64_t deadline)
{
	int r;

	for (;;) {
		r = wsc_send(w, type, buf, len);
		if (r == WSC_OK)
			return WSC_OK;
		if (r == WSC_AGAIN)
			break;
		if (r != WSC_BUSY)
			return r;
		if ((r = waitfd(w, POLLOUT, deadline)) != WSC_OK)
			return r;
	}
	for (;;) {
		if ((r = waitfd(w, POLLOUT, deadline)) != WSC_OK)
			return r;
		r = wsc_flush(w);
		if (r != WSC_AGAIN)
			return r;
	}
}

int
wsc_recv_wait(struct wsc *w, struct wsc_msg *m, int64_t deadline)
{
	int r;

	for (;;) {
		if (!w->dead && (w->sbusy || w->pong_due || w->close_due) &&
		    wsc_flush(w) == WSC_ERR)
			return WSC_ERR;
		r = wsc_recv(w, m);
		if (r != WSC_AGAIN)
			return r;
		if ((r = waitfd(w, wsc_events(w), deadline)) != WSC_OK)
			return r;
	}
}

int
wsc_shutdown(struct wsc *w, int code, const char *reason, int64_t deadline)
{
	struct wsc_msg m;
	int r;

	if (!w->close_sent && !w->sclose && !w->close_due) {
		r = wsc_send_close(w, code, reason);
		if (r == WSC_ERR)
			return r;
	}
	while (!w->close_rcvd) {
		r = wsc_recv_wait(w, &m, deadline);
		if (r == WSC_EOF)
			return WSC_OK;
		if (r != WSC_OK)
			return r;
	}
	/* make sure our close (or the answer to theirs) went out */
	while (!w->dead && (w->sbusy || w->close_due)) {
		r = wsc_flush(w);
		if (r != WSC_AGAIN)
			return r == WSC_ERR ? r : WSC_OK;
		if ((r = waitfd(w, POLLOUT, deadline)) != WSC_OK)
			return r;
	}
	return WSC_OK;
}
