/* wscint.h: the state of one wsc connection, shared by wsc.c (frames, the API after
 * the handshake) and wschs.c (URL, DNS, TCP, TLS, the HTTP upgrade). Not for users. */
#ifndef CP_WSCINT_H
#define CP_WSCINT_H
#include <stddef.h>
#include <stdint.h>

#include "wsc.h"

#define CTL_MAX 125
#define HEAD_MAX 14      /* 2 + 8 (64-bit length) + 4 (mask) */
#define MASKPOOL 512     /* random bytes drawn at a time: 128 frames' masks */
#define INBUF 16384      /* received bytes not yet parsed; also the HTTP response's bound */
#define ERRMAX 320

struct tls;

struct wsc {
	/* options, copied */
	char *url, *cafile, *cto;   /* cto: connect_to, or NULL */
	char **hdrs;                /* the caller's "Name: value" lines */
	long timeout_ms;
	size_t max_msg;
	int (*tick)(void *);
	void *tick_arg;
	int sndbuf, rcvbuf;

	/* the URL, parsed at connect */
	char *host, *path, *auth;   /* auth: "Basic ..." from user:password@, or NULL */
	char port[8];
	int secure, defport;
	char *dhost, dport[8];      /* where TCP goes: host:port or cto's */

	int64_t deadline;
	int fail;                   /* WSC_F_* of the last failure */
	int connected, dead, eof;
	int fd;
	struct tls *tls;            /* wss:// */
	short want;                 /* what the last would-block read or write waits for */
	int rwantw;                 /* a TLS read waits for POLLOUT */
	unsigned char maskpool[MASKPOOL];
	size_t maskleft;
	long http_status;
	char accept[32];            /* the Sec-WebSocket-Accept our key asks for */
	char key[32];               /* our Sec-WebSocket-Key */
	char *resp;                 /* response headers: "name\0value\0"..., resplen bytes */
	size_t resplen;
	uint64_t bytes_out;
	char errmsg[ERRMAX];

	/* the frame in flight, header included: bytes [soff, slen) of sbuf still to go */
	unsigned char *sbuf;
	size_t scap, slen, soff;
	int sbusy, sclose;          /* sclose: the frame in flight is our close frame */

	unsigned char pong[CTL_MAX];
	size_t ponglen;
	int pong_due;
	unsigned char closep[CTL_MAX];
	size_t closelen;
	int close_due, close_sent, close_rcvd;

	/* received bytes: [ioff, ilen) of in are not parsed yet */
	unsigned char in[INBUF];
	size_t ioff, ilen;
	/* the frame being received: header parsed, fleft payload bytes to come */
	int infr, fop, ffin;
	uint64_t fleft;
	/* the message being assembled */
	unsigned char *rbuf;
	size_t rcap, rlen;
	int rtype, rin, rtrunc, rdone;
	unsigned char cbuf[CTL_MAX + 1];
	size_t clen;
};

#define WSC_IO_AGAIN (-2)
/* Reads into / writes from the connection (TLS or not): bytes, 0 = end of stream
 * (read), WSC_IO_AGAIN (w->want says for what), -1 = error (errmsg, fail, dead). */
long wsc_io_read(struct wsc *w, void *buf, size_t n);
long wsc_io_write(struct wsc *w, const void *buf, size_t n);
/* errmsg = what: detail, and the failure class */
void wsc_seterr(struct wsc *w, int fail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#endif
