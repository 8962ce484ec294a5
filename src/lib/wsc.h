/* wsc.h: a WebSocket client (RFC 6455, ws:// and wss://), for a poll() loop.
 *
 * One struct wsc per connection. The handshake is blocking (wsc_connect), everything
 * after it is non-blocking and driven by the caller's poll():
 *
 *	struct wsc_opts o = { .url = url, .headers = hdrs, .timeout_ms = 10000 };
 *	struct wsc *w = wsc_new(&o);
 *	if (wsc_connect(w) != WSC_OK) { ... wsc_http_status(w), wsc_header(w, "dg-error"),
 *	                                     wsc_errmsg(w) ...; wsc_free(w); }
 *	loop:
 *		pfd.fd = wsc_fd(w); pfd.events = wsc_events(w);   (POLLIN, plus POLLOUT when
 *		poll(...);                                           something waits to go out)
 *		wsc_flush(w);                           (finish a partly sent frame, send pongs)
 *		while ((r = wsc_recv(w, &m)) == WSC_OK) handle(&m);  (ALWAYS until not WSC_OK:
 *		                                       wsc and OpenSSL hold bytes already read)
 *		if (r == WSC_EOF || r == WSC_ERR) ...connection gone...
 *		if (wsc_idle(w)) wsc_send(w, WSC_BINARY, buf, n);
 *
 * Sending: at most one frame is in flight. wsc_send copies the payload, so the caller's
 * buffer is free at return. WSC_OK = the whole frame went out; WSC_AGAIN = accepted, the
 * rest goes out from wsc_flush() when the socket is writable; WSC_BUSY = NOT accepted,
 * an earlier frame is still partly unsent (call wsc_flush on POLLOUT, then retry).
 * Pings are answered with pongs automatically, but only between frames (never inside a
 * partly sent frame). A received close frame is answered automatically after the frame in
 * flight, echoing its code, or 1002 when that code may not be sent (1005, 1006, 1015,
 * 0-999, unassigned ones: RFC 6455 7.4); once a close has been sent, data sends return
 * WSC_ECLOSED.
 *
 * Receiving: wsc_recv returns one complete message per call (fragments and frame pieces
 * are reassembled; control frames arriving between fragments are returned on their own).
 * m->data stays valid until the next wsc_recv/wsc_recv_wait/wsc_free. A data message
 * longer than opts.max_msg is cut: its first max_msg bytes are returned with
 * m->truncated = 1 (the rest is discarded as it streams by through a 16 KiB input
 * buffer, never held whole). Server frames must be unmasked, without reserved bits,
 * control frames short and whole, continuations inside a message: anything else is
 * a protocol error (WSC_ERR). After a message longer than 64 KiB the
 * receive buffer is freed at the next wsc_recv, so one big message does not keep
 * its memory.
 *
 * Connecting: the URL is ws://host[:port][/path][?query] or wss://..., host a name or
 * an [IPv6] literal; user:password@ becomes Basic authentication unless a header
 * gives Authorization. Names are resolved with getaddrinfo_a (glibc), so neither
 * DNS nor TCP nor TLS blocks past the deadline or starves the tick callback. wss://
 * loads OpenSSL with dlopen at the first such connection (tls.h): a ws:// process
 * never maps libssl or libcrypto. Certificates and host names are always verified.
 * With opts.connect_to the TCP connection goes to that address instead and
 * no TLS is spoken: whatever listens there (a shared TLS front) does it.
 *
 * Errors: wsc_errmsg() is a short text; it never contains request headers, so
 * secrets in headers stay out of logs. wsc_failclass() says what failed (WSC_F_*),
 * for netfail_wsc() to tell permanent from temporary. */
#ifndef CP_WSC_H
#define CP_WSC_H
#include <stddef.h>
#include <stdint.h>

/* return codes */
enum {
	WSC_OK = 0,        /* done / one message returned */
	WSC_AGAIN = 1,     /* send: accepted, rest pending; flush/recv: would block */
	WSC_BUSY = 2,      /* send: not accepted, a frame is still in flight */
	WSC_EOF = 3,       /* recv: the peer closed the TCP connection */
	WSC_ERR = -1,      /* network or protocol error (connection unusable): wsc_errmsg */
	WSC_ECLOSED = -2,  /* send after our close frame, or on a dead connection */
	WSC_ETIMEOUT = -3, /* deadline passed (connect, blocking helpers) */
	WSC_EREFUSED = -4, /* connect: HTTP status other than 101: wsc_http_status */
	WSC_EABORT = -5,   /* connect: the tick callback asked to stop */
	WSC_EPROTO = -6    /* connect: a 101 that is not a WebSocket upgrade (no
	                    * "Upgrade: websocket", or a wrong Sec-WebSocket-Accept) */
};

/* message / frame types */
enum { WSC_TEXT = 1, WSC_BINARY = 2, WSC_CLOSE = 3, WSC_PING = 4, WSC_PONG = 5 };

struct wsc_opts {
	const char *url;               /* ws:// or wss:// */
	const char *const *headers;    /* NULL-terminated "Name: value" list, or NULL */
	long timeout_ms;               /* whole handshake (DNS, TCP, TLS, upgrade); 0 = 10000 */
	size_t max_msg;                /* longest data message returned whole; 0 = 1 MiB */
	/* Called at least about once a second (in practice every few hundred ms) while the
	 * blocking handshake runs, e.g. to keep draining an input; return non-zero to
	 * abort (wsc_connect then returns WSC_EABORT). */
	int (*tick)(void *arg);
	void *tick_arg;
	const char *cafile;            /* PEM file of CAs to trust for wss:// instead of the
	                                * system's (a private CA), or NULL: then
	                                * $SSL_CERT_FILE and/or $SSL_CERT_DIR when
	                                * set, else the hashed /etc/ssl/certs */
	int sndbuf;                    /* SO_SNDBUF for the socket (bytes), 0 = system default;
	                                * small keeps unsent data in the caller's buffers */
	int rcvbuf;                    /* SO_RCVBUF: 0 = WSC_RCVBUF for ws://, the system
	                                * default for wss://; -1 = the system default; or
	                                * bytes. A small one keeps a fast server's unread
	                                * data in its own buffers, not in our kernel's */
	/* "host:port" or "[v6]:port": TCP goes there, plain, instead of to the
	 * URL's host (a local TLS front for a wss:// URL: no TLS here); the
	 * request is unchanged, Host included. NULL: the URL's host */
	const char *connect_to;
};
#define WSC_RCVBUF 16384

struct wsc_msg {
	int type;                  /* WSC_TEXT, WSC_BINARY, WSC_CLOSE, WSC_PING, WSC_PONG */
	const unsigned char *data; /* payload (close: the reason text, without the code) */
	size_t len;
	int truncated;             /* data message longer than max_msg: only the head here */
	int close_code;            /* WSC_CLOSE: code, 1005 when the frame had none */
};

/* what failed: wsc_failclass() */
enum {
	WSC_F_NONE = 0,
	WSC_F_URL,          /* a URL that is not ws:// or wss://host...: permanent */
	WSC_F_DNS_NOTFOUND, /* no such host name */
	WSC_F_DNS_TEMP,     /* the resolver failed for now */
	WSC_F_CONNECT,      /* TCP: refused, unreachable */
	WSC_F_TIMEOUT,      /* the deadline passed */
	WSC_F_TLS_LOAD,     /* no usable libssl.so.3: permanent */
	WSC_F_TLS_CAFILE,   /* the CA file or directory cannot be loaded: permanent */
	WSC_F_TLS_CERT,     /* the server's certificate or host name is refused: permanent */
	WSC_F_TLS_PROTO,    /* no TLS spoken ("wrong version number"): permanent */
	WSC_F_TLS_OTHER,    /* a TLS handshake cut short (reset...) */
	WSC_F_HTTP,         /* no HTTP answer, or one that is not one */
	WSC_F_IO            /* send/receive failed, reset, protocol error after the upgrade */
};

struct wsc *wsc_new(const struct wsc_opts *o); /* NULL: out of memory; opts copied */
void wsc_free(struct wsc *w);                  /* closes the socket without a close frame */

/* Blocking handshake. WSC_OK, WSC_EREFUSED (wsc_http_status, wsc_header),
 * WSC_ERR (URL, DNS, TCP, TLS...: wsc_failclass, wsc_errmsg), WSC_ETIMEOUT, WSC_EABORT,
 * WSC_EPROTO (wsc_errmsg; also response headers beyond 16 KiB). The server's
 * Sec-WebSocket-Accept is checked.
 * A struct wsc connects once; make a new one to reconnect. */
int wsc_connect(struct wsc *w);
long wsc_http_status(const struct wsc *w);     /* 0 if no HTTP response */
int wsc_failclass(const struct wsc *w);        /* WSC_F_* of the last failure */
const char *wsc_errmsg(const struct wsc *w);   /* "" if none */
/* A response header of the handshake (also after a refusal), or NULL.
 * The pointer is valid until the next wsc call on w. */
const char *wsc_header(struct wsc *w, const char *name);

int wsc_fd(const struct wsc *w);      /* the socket for poll(), -1 if not connected */
short wsc_events(const struct wsc *w); /* POLLIN, | POLLOUT while output is pending */
int wsc_idle(const struct wsc *w);    /* 1: nothing in flight, wsc_send will accept a frame */

/* Non-blocking (see above). type: WSC_TEXT, WSC_BINARY, WSC_PING, WSC_PONG.
 * Returns WSC_OK, WSC_AGAIN, WSC_BUSY, WSC_ECLOSED, WSC_ERR. */
int wsc_send(struct wsc *w, int type, const void *buf, size_t len);
/* Queue a close frame (code, optional reason <= 123 bytes); it goes out after the frame
 * in flight. WSC_OK (sent), WSC_AGAIN (pending), WSC_ECLOSED (already closing), WSC_ERR. */
int wsc_send_close(struct wsc *w, int code, const char *reason);
/* Push out whatever is pending: the frame in flight, then a due pong, then a due close.
 * WSC_OK (nothing pending any more), WSC_AGAIN (wait for POLLOUT), WSC_ERR. */
int wsc_flush(struct wsc *w);
/* One complete message: WSC_OK (m filled), WSC_AGAIN (nothing more now: poll),
 * WSC_EOF (peer closed TCP), WSC_ERR. Call until it is not WSC_OK after every wake-up. */
int wsc_recv(struct wsc *w, struct wsc_msg *m);

int wsc_close_sent(const struct wsc *w);     /* our close frame has fully gone out */
uint64_t wsc_bytes_out(const struct wsc *w); /* bytes written so far (send progress) */
int wsc_close_code_ok(int code);             /* 1: a code an endpoint may send */
int wsc_close_received(const struct wsc *w); /* the peer's close frame has arrived */
/* Splits "host:port" or "[v6]:port" (the form of connect_to): 0, or -1 when
 * it is not one (no host, a port not 1-65535). host: at most hn - 1 bytes. */
int wsc_splithostport(const char *s, char *host, size_t hn, char port[8]);

/* Blocking conveniences with an absolute deadline in cp_now_ms() milliseconds
 * (-1 = none). They return WSC_ETIMEOUT when it passes. */
int wsc_send_wait(struct wsc *w, int type, const void *buf, size_t len, int64_t deadline);
int wsc_recv_wait(struct wsc *w, struct wsc_msg *m, int64_t deadline); /* also flushes */
/* Send a close (unless one was sent) and read until the peer's close frame or EOF,
 * discarding data messages. WSC_OK, WSC_ETIMEOUT, WSC_ERR. */
int wsc_shutdown(struct wsc *w, int code, const char *reason, int64_t deadline);

#endif
