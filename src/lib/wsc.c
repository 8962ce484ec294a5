/* wsc.c: a WebSocket client (RFC 6455) for a poll() loop (see wsc.h): frames, masking,
 * the send and receive state after the handshake (wschs.c does the handshake).
 * Sending: one frame in flight, built here (header, mask from a pooled getrandom draw,
 * payload masked a word at a time) and pushed with send(2) or through TLS; a
 * remainder is always resent as it was, which SSL_write asks for.
 * Receiving: bytes go into a bounded buffer (w->in, 16 KiB) only when the frame parser
 * needs more; a data message grows w->rbuf up to max_msg and the rest of it streams
 * through w->in and is dropped, so no message is ever held whole beyond max_msg.
 * wsc_recv returns WSC_AGAIN only after a read said it would block: bytes parked in
 * w->in, or decrypted bytes OpenSSL holds, are never left behind. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp.h"
#include "tls.h"
#include "wscint.h"

/* opcodes */
enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

static char *
dupe(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

struct wsc *
wsc_new(const struct wsc_opts *o)
{
	struct wsc *w;
	size_t n = 0, i;

	if (o == NULL || o->url == NULL)
		return NULL;
	if ((w = calloc(1, sizeof *w)) == NULL)
		return NULL;
	w->fd = -1;
	w->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	w->max_msg = o->max_msg > 0 ? o->max_msg : 1024 * 1024;
	w->tick = o->tick;
	w->tick_arg = o->tick_arg;
	w->sndbuf = o->sndbuf;
	w->rcvbuf = o->rcvbuf;
	if (w->rcvbuf == 0) /* TLS reads whole records: the system's default */
		w->rcvbuf = strncmp(o->url, "ws://", 5) == 0 ||
		    o->connect_to != NULL ? WSC_RCVBUF : -1;
	while (o->headers && o->headers[n])
		n++;
	w->url = strdup(o->url);
	w->hdrs = calloc(n + 1, sizeof *w->hdrs);
	if (w->url == NULL || w->hdrs == NULL ||
	    (o->cafile != NULL && (w->cafile = dupe(o->cafile)) == NULL) ||
	    (o->connect_to != NULL && (w->cto = strdup(o->connect_to)) == NULL))
		goto fail;
	for (i = 0; i < n; i++)
		if ((w->hdrs[i] = strdup(o->headers[i])) == NULL)
			goto fail;
	return w;
fail:
	wsc_free(w);
	return NULL;
}

void
wsc_free(struct wsc *w)
{
	char **h;

	if (w == NULL)
		return;
	tls_free(w->tls);
	if (w->fd >= 0)
		close(w->fd);
	for (h = w->hdrs; h && *h; h++)
		free(*h);
	free(w->hdrs);
	free(w->url);
	free(w->cafile);
	free(w->cto);
	free(w->host);
	free(w->dhost);
	free(w->path);
	free(w->auth);
	free(w->resp);
	free(w->sbuf);
	free(w->rbuf);
	free(w);
}

void
wsc_seterr(struct wsc *w, int fail, const char *fmt, ...)
{
	va_list ap;

	w->fail = fail;
	va_start(ap, fmt);
	vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
	va_end(ap);
}

long wsc_http_status(const struct wsc *w) { return w->http_status; }
uint64_t wsc_bytes_out(const struct wsc *w) { return w->bytes_out; }
int wsc_failclass(const struct wsc *w) { return w->fail; }
const char *wsc_errmsg(const struct wsc *w) { return w->errmsg; }
int wsc_close_sent(const struct wsc *w) { return w->close_sent; }
int wsc_close_received(const struct wsc *w) { return w->close_rcvd; }

const char *
wsc_header(struct wsc *w, const char *name)
{
	const char *p = w->resp, *end = w->resp + w->resplen;

	while (p != NULL && p < end) {
		const char *v = p + strlen(p) + 1;

		if (strcasecmp(p, name) == 0)
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
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

	if (w->sbusy || w->pong_due || w->close_due || w->rwantw)
		ev |= POLLOUT;
	return ev;
}

int
wsc_idle(const struct wsc *w)
{
	return w->connected && !w->dead && !w->sbusy && !w->pong_due && !w->close_due &&
	    !w->close_sent;
}

static long
tlsio(struct wsc *w, long r)
{
	if (r >= 0)
		return r;
	if (r == TLS_WANTREAD || r == TLS_WANTWRITE) {
		w->want = r == TLS_WANTREAD ? POLLIN : POLLOUT;
		return WSC_IO_AGAIN;
	}
	w->dead = 1;
	wsc_seterr(w, WSC_F_IO, "%s", tls_error(w->tls));
	return -1;
}

long
wsc_io_read(struct wsc *w, void *buf, size_t n)
{
	ssize_t r;

	if (w->tls != NULL)
		return tlsio(w, tls_read(w->tls, buf, n));
	do
		r = recv(w->fd, buf, n, 0);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		w->want = POLLIN;
		return WSC_IO_AGAIN;
	}
	w->dead = 1;
	wsc_seterr(w, WSC_F_IO, "receive failed: %s", strerror(errno));
	return -1;
}

long
wsc_io_write(struct wsc *w, const void *buf, size_t n)
{
	ssize_t r;

	if (w->tls != NULL) {
		r = tlsio(w, tls_write(w->tls, buf, n));
		if (r < 0 && r != WSC_IO_AGAIN)
			wsc_seterr(w, WSC_F_IO, "send failed: %s", tls_error(w->tls));
		return r;
	}
	do
		r = send(w->fd, buf, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		w->want = POLLOUT;
		return WSC_IO_AGAIN;
	}
	w->dead = 1;
	wsc_seterr(w, WSC_F_IO, "send failed: %s", strerror(errno));
	return -1;
}

/* Pushes the frame in flight. WSC_OK when it is complete, WSC_AGAIN, WSC_ERR. */
static int
push(struct wsc *w)
{
	while (w->sbusy) {
		size_t n, left = w->slen - w->soff;
		long r;

		/* a remainder is always resent as it was (same bytes, same place): what
		 * OpenSSL's SSL_write asks for after a would-block */
		r = wsc_io_write(w, w->sbuf + w->soff, left);
		if (r == WSC_IO_AGAIN)
			return WSC_AGAIN;
		if (r < 0)
			return WSC_ERR;
		n = (size_t)r;
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
		if (getrandom(w->maskpool, sizeof w->maskpool, 0) !=
		    (ssize_t)sizeof w->maskpool) {
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

/* A complete control frame (op) is in cbuf[0..clen). */
static void
control(struct wsc *w, int op, struct wsc_msg *m)
{
	size_t n = w->clen;

	memset(m, 0, sizeof *m);
	m->data = w->cbuf;
	m->len = n;
	if (op == OP_CLOSE) {
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
	} else if (op == OP_PING) {
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

static int
protoerr(struct wsc *w, const char *why)
{
	w->dead = 1;
	wsc_seterr(w, WSC_F_IO, "protocol error: %s", why);
	return -1;
}

/* Parses a frame header at in[ioff..ilen) (RFC 6455 5.2): 1 parsed (infr set), 0 more
 * bytes needed, -1 protocol error. */
static int
framehead(struct wsc *w)
{
	const unsigned char *p = w->in + w->ioff;
	size_t have = w->ilen - w->ioff, hl = 2;
	uint64_t len;
	int op, i;

	if (have < 2)
		return 0;
	op = p[0] & 0x0f;
	if (p[0] & 0x70)
		return protoerr(w, "reserved bits set in a frame");
	if (p[1] & 0x80)
		return protoerr(w, "masked frame from the server");
	len = p[1] & 0x7f;
	if (len == 126)
		hl = 4;
	else if (len == 127)
		hl = 10;
	if (have < hl)
		return 0;
	if (len == 126)
		len = (uint64_t)p[2] << 8 | p[3];
	else if (len == 127)
		for (len = 0, i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
	if (len >> 63)
		return protoerr(w, "frame length out of range");
	if (op >= OP_CLOSE) {
		if (op > OP_PONG)
			return protoerr(w, "unknown opcode");
		if (!(p[0] & 0x80) || len > CTL_MAX)
			return protoerr(w, "fragmented or long control frame");
	} else if (op == OP_CONT) {
		if (!w->rin)
			return protoerr(w, "continuation frame without a message");
	} else if (op > OP_BINARY)
		return protoerr(w, "unknown opcode");
	else if (w->rin)
		return protoerr(w, "new message inside a fragmented one");
	w->ioff += hl;
	w->infr = 1;
	w->fop = op;
	w->ffin = p[0] >> 7;
	w->fleft = len;
	if (op == OP_TEXT || op == OP_BINARY) {
		w->rin = 1;
		w->rtype = op == OP_TEXT ? WSC_TEXT : WSC_BINARY;
	}
	return 1;
}

/* More bytes into w->in (at most what fits): WSC_OK, WSC_AGAIN, WSC_EOF, WSC_ERR. */
static int
fill(struct wsc *w)
{
	long r;

	if (w->ioff > 0) {
		memmove(w->in, w->in + w->ioff, w->ilen - w->ioff);
		w->ilen -= w->ioff;
		w->ioff = 0;
	}
	w->rwantw = 0;
	r = wsc_io_read(w, w->in + w->ilen, sizeof w->in - w->ilen);
	if (r > 0) {
		w->ilen += (size_t)r;
		return WSC_OK;
	}
	if (r == WSC_IO_AGAIN) {
		w->rwantw = w->want == POLLOUT;
		return WSC_AGAIN;
	}
	if (r == 0) {
		w->eof = 1;
		w->dead = 1;
		wsc_seterr(w, WSC_F_IO, "connection closed by peer");
		return WSC_EOF;
	}
	return WSC_ERR;
}

/* Takes k payload bytes of the current frame from w->in: into cbuf (control), into
 * rbuf up to max_msg (data), the rest dropped (m->truncated). */
static int
take(struct wsc *w, size_t k)
{
	const unsigned char *p = w->in + w->ioff;
	size_t room, n;

	if (w->fop >= OP_CLOSE) {
		memcpy(w->cbuf + w->clen, p, k);
		w->clen += k;
		return 0;
	}
	room = w->max_msg - w->rlen;
	n = k < room ? k : room;
	if (w->rlen + n > w->rcap) {
		size_t cap = w->rcap ? w->rcap * 2 : 4096;
		unsigned char *q;

		while (cap < w->rlen + n)
			cap *= 2;
		if (cap > w->max_msg)
			cap = w->max_msg;
		if ((q = realloc(w->rbuf, cap)) == NULL) {
			w->dead = 1;
			wsc_seterr(w, WSC_F_IO, "out of memory");
			return -1;
		}
		w->rbuf = q;
		w->rcap = cap;
	}
	if (n > 0)
		memcpy(w->rbuf + w->rlen, p, n);
	w->rlen += n;
	if (k > n)
		w->rtrunc = 1;
	return 0;
}

/* The frame just completed: 1 when it makes a message for m. */
static int
framedone(struct wsc *w, struct wsc_msg *m)
{
	w->infr = 0;
	if (w->fop >= OP_CLOSE) {
		control(w, w->fop, m);
		return 1;
	}
	if (!w->ffin)
		return 0;
	memset(m, 0, sizeof *m);
	m->type = w->rtype;
	m->data = w->rbuf ? w->rbuf : w->cbuf;
	m->len = w->rlen;
	m->truncated = w->rtrunc;
	w->rin = 0;
	w->rdone = 1;
	return 1;
}

static void
recvreset(struct wsc *w)
{
	w->rdone = 0;
	w->rlen = 0;
	w->rtrunc = 0;
	if (w->rcap > 65536) { /* a big message is gone: give its memory back */
		free(w->rbuf);
		w->rbuf = NULL;
		w->rcap = 0;
	}
}

int
wsc_recv(struct wsc *w, struct wsc_msg *m)
{
	int r;

	if (!w->connected)
		return WSC_ERR;
	if (w->eof)
		return WSC_EOF;
	if (w->dead)
		return WSC_ERR;
	if (w->rdone)
		recvreset(w);
	for (;;) {
		size_t k;

		if (!w->infr) {
			if ((r = framehead(w)) < 0)
				return WSC_ERR;
			if (r == 0) {
				if ((r = fill(w)) != WSC_OK)
					return r;
				continue;
			}
		}
		k = w->ilen - w->ioff;
		if (k > w->fleft)
			k = (size_t)w->fleft;
		if (k > 0 && take(w, k) < 0)
			return WSC_ERR;
		w->ioff += k;
		w->fleft -= k;
		if (w->fleft > 0) {
			if ((r = fill(w)) != WSC_OK)
				return r;
			continue;
		}
		if (framedone(w, m))
			return WSC_OK;
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
