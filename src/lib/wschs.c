/* wschs.c: wsc's blocking handshake (wsc.h): URL, DNS with getaddrinfo_a, a
 * non-blocking TCP connect over each address, TLS for wss://, the HTTP/1.1 upgrade.
 * Every wait is a poll() of at most TICK_MS, with the caller's tick in between, until
 * the deadline. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base64.h"
#include "cp.h"
#include "sha1.h"
#include "tls.h"
#include "wscint.h"

#define TICK_MS 250
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static int
fail(struct wsc *w, int rc, int cls, const char *what, const char *detail)
{
	wsc_seterr(w, cls, "%s: %s", what, detail);
	w->dead = 1;
	return rc;
}

/* Calls the tick and checks the deadline: WSC_OK, WSC_EABORT, WSC_ETIMEOUT; *left
 * gets the milliseconds to wait next. */
static int
tick(struct wsc *w, int *left)
{
	int64_t l;

	if (w->tick && w->tick(w->tick_arg))
		return fail(w, WSC_EABORT, WSC_F_NONE, "handshake aborted", "stopped");
	l = w->deadline - cp_now_ms();
	if (l <= 0)
		return fail(w, WSC_ETIMEOUT, WSC_F_TIMEOUT, "handshake timed out",
		    "no connection before the deadline");
	*left = l > TICK_MS ? TICK_MS : (int)l;
	return WSC_OK;
}

/* Waits until the socket is ready for ev: WSC_OK, WSC_EABORT, WSC_ETIMEOUT, WSC_ERR. */
static int
hswait(struct wsc *w, short ev)
{
	struct pollfd p = { w->fd, ev, 0 };
	int r, left;

	for (;;) {
		if ((r = tick(w, &left)) != WSC_OK)
			return r;
		r = poll(&p, 1, left);
		if (r > 0)
			return WSC_OK;
		if (r < 0 && errno != EINTR)
			return fail(w, WSC_ERR, WSC_F_IO, "poll", strerror(errno));
	}
}

/* ---------------------------------------------------------------- URL */

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into d (room for n + 1). */
static void
pctdecode(char *d, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
			*d++ = (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
			i += 2;
		} else
			*d++ = s[i];
	}
	*d = '\0';
}

/* user:password@ as "Basic base64(user:password)". */
static int
userinfo(struct wsc *w, const char *u, size_t n)
{
	char *plain, *b;

	if ((plain = malloc(n + 1)) == NULL)
		return -1;
	pctdecode(plain, u, n);
	n = strlen(plain);
	b = malloc(6 + B64_ENCODED_LEN(n) + 1);
	if (b != NULL) {
		memcpy(b, "Basic ", 6);
		b64_encode((const unsigned char *)plain, n, b + 6);
	}
	explicit_bzero(plain, n);
	free(plain);
	w->auth = b;
	return b != NULL ? 0 : -1;
}

static int
badurl(struct wsc *w, const char *why)
{
	return fail(w, WSC_ERR, WSC_F_URL, "bad URL", why);
}

/* host[:port] of the authority a[0..n) */
static int
hostport(struct wsc *w, const char *a, size_t n)
{
	const char *h = a, *e = a + n, *c;
	size_t hl;
	long port;

	if (n > 0 && *a == '[') {
		if ((c = memchr(a, ']', n)) == NULL)
			return badurl(w, "no ] after an IPv6 address");
		h = a + 1;
		hl = (size_t)(c - h);
		c++;
		if (c < e && *c != ':')
			return badurl(w, "junk after the IPv6 address");
	} else {
		c = memchr(a, ':', n);
		if (c == NULL)
			c = e;
		hl = (size_t)(c - a);
	}
	if (hl == 0 || hl > 255)
		return badurl(w, "no host name");
	if ((w->host = strndup(h, hl)) == NULL)
		return fail(w, WSC_ERR, WSC_F_IO, "connect failed", "out of memory");
	w->defport = 1;
	snprintf(w->port, sizeof w->port, "%s", w->secure ? "443" : "80");
	if (c < e && e - c > 1) {
		char *end;

		errno = 0;
		port = strtol(c + 1, &end, 10);
		if (end != e || errno || port < 1 || port > 65535 || c[1] == '-' || c[1] == '+')
			return badurl(w, "bad port number");
		if (port != (w->secure ? 443 : 80))
			w->defport = 0;
		snprintf(w->port, sizeof w->port, "%ld", port);
	}
	return WSC_OK;
}

static int
parseurl(struct wsc *w)
{
	const char *u = w->url, *a, *p, *at;
	size_t alen, i;

	if (strncasecmp(u, "ws://", 5) == 0)
		a = u + 5;
	else if (strncasecmp(u, "wss://", 6) == 0)
		a = u + 6, w->secure = 1;
	else
		return badurl(w, "want ws:// or wss://");
	for (i = 0; u[i]; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
			return badurl(w, "a space or control character in it");
	alen = strcspn(a, "/?#");
	p = a + alen;
	if ((at = memrchr(a, '@', alen)) != NULL) { /* the last: a password may hold @ */
		if (userinfo(w, a, (size_t)(at - a)) < 0)
			return fail(w, WSC_ERR, WSC_F_IO, "connect failed", "out of memory");
		alen -= (size_t)(at + 1 - a);
		a = at + 1;
	}
	if (hostport(w, a, alen) != WSC_OK)
		return WSC_ERR;
	i = strcspn(p, "#");
	if (i == 0)
		w->path = strdup("/");
	else if (*p == '?' && (w->path = malloc(i + 2)) != NULL)
		snprintf(w->path, i + 2, "/%.*s", (int)i, p);
	else if (*p != '?')
		w->path = strndup(p, i);
	if (w->path == NULL)
		return fail(w, WSC_ERR, WSC_F_IO, "connect failed", "out of memory");
	return WSC_OK;
}

int
wsc_splithostport(const char *s, char *host, size_t hn, char port[8])
{
	const char *c, *h = s;
	size_t hl;
	long p;
	char *end;

	if (*s == '[') {
		if ((c = strchr(s, ']')) == NULL || c[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(c - h);
		c++;
	} else {
		c = strrchr(s, ':');
		if (c == NULL || memchr(s, ':', (size_t)(c - s)))
			return -1; /* an IPv6 address wants brackets */
		hl = (size_t)(c - s);
	}
	if (hl == 0 || hl >= hn || memchr(h, '[', hl) || memchr(h, ']', hl))
		return -1;
	if (c[1] < '0' || c[1] > '9')
		return -1;
	errno = 0;
	p = strtol(c + 1, &end, 10);
	if (*end != '\0' || errno || p < 1 || p > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, 8, "%ld", p);
	return 0;
}

/* Where the TCP connection goes: the URL's host, or connect_to. */
static int
target(struct wsc *w)
{
	char h[256];

	if (w->cto == NULL) {
		w->dhost = strdup(w->host);
		memcpy(w->dport, w->port, sizeof w->dport);
	} else if (wsc_splithostport(w->cto, h, sizeof h, w->dport) < 0)
		return fail(w, WSC_ERR, WSC_F_URL, "bad connect_to",
		    "want host:port or [IPv6]:port");
	else
		w->dhost = strdup(h);
	if (w->dhost == NULL)
		return fail(w, WSC_ERR, WSC_F_IO, "connect failed",
		    "out of memory");
	return WSC_OK;
}

/* ---------------------------------------------------------------- DNS, TCP */

/* A name lookup in flight: it must stay allocated until the resolver thread is done
 * with it, so one that cannot be cancelled at a deadline is parked on a list. */
struct dnsq {
	struct gaicb cb;
	struct addrinfo hints;
	struct dnsq *next;
	char port[8];
	char name[];
};
static struct dnsq *orphans;

static int
numeric(struct wsc *w, struct addrinfo **res)
{
	struct addrinfo h;
	int e;

	memset(&h, 0, sizeof h);
	h.ai_socktype = SOCK_STREAM;
	h.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	e = getaddrinfo(w->dhost, w->dport, &h, res);
	if (e == 0)
		return 1;
	return e == EAI_NONAME ? 0 : -1;
}

static int
dnsfail(struct wsc *w, int e)
{
	char d[300];

	snprintf(d, sizeof d, "could not resolve host %.200s: %s", w->dhost,
	    gai_strerror(e));
	return fail(w, WSC_ERR, e == EAI_NONAME ? WSC_F_DNS_NOTFOUND : WSC_F_DNS_TEMP,
	    "connect failed", d);
}

static int
resolve(struct wsc *w, struct addrinfo **res)
{
	struct gaicb *list[1];
	struct dnsq *q;
	struct timespec ts;
	int e, r, left;

	if ((r = numeric(w, res)) != 0)
		return r > 0 ? WSC_OK : dnsfail(w, EAI_FAIL);
	if ((q = calloc(1, sizeof *q + strlen(w->dhost) + 1)) == NULL)
		return fail(w, WSC_ERR, WSC_F_IO, "connect failed", "out of memory");
	memcpy(q->name, w->dhost, strlen(w->dhost) + 1);
	memcpy(q->port, w->dport, sizeof q->port);
	q->hints.ai_socktype = SOCK_STREAM;
	q->hints.ai_flags = AI_NUMERICSERV;
	q->cb.ar_name = q->name;
	q->cb.ar_service = q->port;
	q->cb.ar_request = &q->hints;
	list[0] = &q->cb;
	if ((e = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		free(q);
		return dnsfail(w, e);
	}
	while ((e = gai_error(&q->cb)) == EAI_INPROGRESS) {
		if ((r = tick(w, &left)) != WSC_OK) {
			if (gai_cancel(&q->cb) == EAI_NOTCANCELED) {
				q->next = orphans;
				orphans = q;
			} else {
				if (gai_error(&q->cb) == 0)
					freeaddrinfo(q->cb.ar_result);
				free(q);
			}
			return r;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000;
		(void)gai_suspend((const struct gaicb *const *)list, 1, &ts);
	}
	*res = q->cb.ar_result;
	free(q);
	return e == 0 ? WSC_OK : dnsfail(w, e);
}

/* One address: WSC_OK (w->fd connected), WSC_ERR (*err set: try the next), or
 * WSC_ETIMEOUT / WSC_EABORT. */
static int
dial1(struct wsc *w, const struct addrinfo *ai, int *err)
{
	int fd, one = 1, r;
	socklen_t el = sizeof *err;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return WSC_ERR;
	}
	if (w->sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &w->sndbuf, sizeof w->sndbuf);
	if (w->rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &w->rcvbuf, sizeof w->rcvbuf);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	w->fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return WSC_OK;
	*err = errno;
	if (errno == EINPROGRESS) {
		if ((r = hswait(w, POLLOUT)) != WSC_OK)
			return r;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &el) == 0 && *err == 0)
			return WSC_OK;
	}
	close(fd);
	w->fd = -1;
	return WSC_ERR;
}

static int
dial(struct wsc *w, const struct addrinfo *res)
{
	const struct addrinfo *ai;
	char d[300];
	int err = ECONNREFUSED, r;

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		r = dial1(w, ai, &err);
		if (r != WSC_ERR)
			return r;
	}
	snprintf(d, sizeof d, "%s%.200s port %s: %s",
	    w->cto ? "TLS front " : "", w->dhost, w->dport, strerror(err));
	return fail(w, WSC_ERR, WSC_F_CONNECT, "connect failed", d);
}

/* ---------------------------------------------------------------- TLS */

static int
tlsup(struct wsc *w)
{
	static const int cls[] = { WSC_F_TLS_OTHER, WSC_F_TLS_LOAD, WSC_F_TLS_CAFILE,
	    WSC_F_TLS_CERT, WSC_F_TLS_PROTO, WSC_F_TLS_OTHER };
	char err[256];
	int f = TLS_F_OTHER, r;

	if ((w->tls = tls_new(w->fd, w->host, w->cafile, err, sizeof err, &f)) == NULL)
		return fail(w, WSC_ERR, cls[f], "connect failed", err);
	for (;;) {
		r = tls_handshake(w->tls);
		if (r == 0)
			return WSC_OK;
		if (r == TLS_FAIL)
			return fail(w, WSC_ERR, cls[tls_fail(w->tls)], "connect failed",
			    tls_error(w->tls));
		if ((r = hswait(w, r == TLS_WANTREAD ? POLLIN : POLLOUT)) != WSC_OK)
			return r;
	}
}

/* ---------------------------------------------------------------- HTTP upgrade */

/* Our Sec-WebSocket-Key and the Sec-WebSocket-Accept it asks for (RFC 6455 4.1). */
static int
makekey(struct wsc *w)
{
	unsigned char k[16], dig[SHA1_LEN];
	char cat[96];

	if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k)
		return fail(w, WSC_ERR, WSC_F_IO, "connect failed", "no random bytes for a key");
	b64_encode(k, sizeof k, w->key);
	snprintf(cat, sizeof cat, "%s%s", w->key, WS_GUID);
	sha1(cat, strlen(cat), dig);
	b64_encode(dig, sizeof dig, w->accept);
	return WSC_OK;
}

static int
hasheader(const struct wsc *w, const char *name)
{
	size_t n = strlen(name);
	char **h;

	for (h = w->hdrs; *h; h++)
		if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
			return 1;
	return 0;
}

static char *
request(struct wsc *w, size_t *len)
{
	const char *v6 = strchr(w->host, ':') ? "[" : "", *v6e = *v6 ? "]" : "";
	size_t n = 512 + strlen(w->path) + strlen(w->host) + (w->auth ? strlen(w->auth) : 0);
	char **h, *b;
	int k;

	for (h = w->hdrs; *h; h++)
		n += strlen(*h) + 2;
	if ((b = malloc(n)) == NULL)
		return NULL;
	k = snprintf(b, n, "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
	    w->path, v6, w->host, v6e, w->defport ? "" : ":", w->defport ? "" : w->port,
	    w->key);
	if (w->auth != NULL && !hasheader(w, "Authorization"))
		k += snprintf(b + k, n - (size_t)k, "Authorization: %s\r\n", w->auth);
	for (h = w->hdrs; *h; h++)
		k += snprintf(b + k, n - (size_t)k, "%s\r\n", *h);
	k += snprintf(b + k, n - (size_t)k, "\r\n");
	*len = (size_t)k;
	return b;
}

static int
sendrequest(struct wsc *w)
{
	size_t len, off = 0;
	char *b;
	long r;
	int rc = WSC_OK;

	if ((rc = makekey(w)) != WSC_OK)
		return rc;
	if ((b = request(w, &len)) == NULL)
		return fail(w, WSC_ERR, WSC_F_IO, "connect failed", "out of memory");
	while (off < len) {
		r = wsc_io_write(w, b + off, len - off);
		if (r > 0)
			off += (size_t)r;
		else if (r == WSC_IO_AGAIN) {
			if ((rc = hswait(w, w->want)) != WSC_OK)
				break;
		} else {
			rc = WSC_ERR;
			w->fail = WSC_F_HTTP;
			break;
		}
	}
	explicit_bzero(b, len); /* it holds the credentials */
	free(b);
	return rc;
}

/* The peer closed before the end of the HTTP answer. Through a front, that is
 * usually the front's own TLS to the server failing. */
static int
closed(struct wsc *w)
{
	const char *who = w->cto ? "the TLS front" : "the server";

	if (w->ilen)
		wsc_seterr(w, WSC_F_HTTP, "connect failed: %s closed the"
		    " connection in its HTTP answer", who);
	else if (w->cto)
		wsc_seterr(w, WSC_F_HTTP, "connect failed: the TLS front %s"
		    " closed the connection without an HTTP answer (its TLS"
		    " connection to %s failed?)", w->cto, w->host);
	else
		wsc_seterr(w, WSC_F_HTTP, "connect failed: the server closed"
		    " the connection without an HTTP answer");
	w->dead = 1;
	return WSC_ERR;
}

/* Reads until the blank line that ends the response head: its length, or -1. */
static long
readhead(struct wsc *w)
{
	unsigned char *e;
	size_t from = 0;
	long r;

	for (;;) {
		if (w->ilen >= 4 && (e = memmem(w->in + from, w->ilen - from, "\r\n\r\n", 4)))
			return (long)(e - w->in) + 4;
		from = w->ilen > 3 ? w->ilen - 3 : 0;
		if (w->ilen == sizeof w->in)
			return fail(w, WSC_EPROTO, WSC_F_HTTP, "not a WebSocket server",
			    "HTTP response headers longer than 16 KiB");
		r = wsc_io_read(w, w->in + w->ilen, sizeof w->in - w->ilen);
		if (r > 0)
			w->ilen += (size_t)r;
		else if (r == 0)
			return closed(w);
		else if (r != WSC_IO_AGAIN) {
			w->fail = WSC_F_HTTP;
			return WSC_ERR;
		} else if ((r = hswait(w, w->want)) != WSC_OK)
			return r;
	}
}

static char *
trim(char *s, char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*e = '\0';
	return s;
}

/* The head in[0..n): status line, then headers kept as "name\0value\0". */
static int
parsehead(struct wsc *w, size_t n)
{
	char *h, *line, *nl, *colon, *o;
	const char *name, *val;

	if (n < 12 || memcmp(w->in, "HTTP/1.", 7) != 0 || w->in[8] != ' ' ||
	    w->in[9] < '1' || w->in[9] > '5' || w->in[10] < '0' || w->in[10] > '9' ||
	    w->in[11] < '0' || w->in[11] > '9' || (n > 12 && w->in[12] != ' ' &&
	    w->in[12] != '\r'))
		return fail(w, WSC_ERR, WSC_F_HTTP, "connect failed",
		    "not an HTTP/1.x answer");
	w->http_status = (w->in[9] - '0') * 100 + (w->in[10] - '0') * 10 + (w->in[11] - '0');
	if ((h = malloc(n + 1)) == NULL)
		return fail(w, WSC_ERR, WSC_F_IO, "connect failed", "out of memory");
	memcpy(h, w->in, n);
	h[n] = '\0';
	o = h;
	line = strchr(h, '\n') + 1;
	for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		if (*line == ' ' || *line == '\t' || (colon = memchr(line, ':',
		    (size_t)(nl - line))) == NULL)
			continue; /* folded or malformed: skipped */
		name = trim(line, colon);
		val = trim(colon + 1, nl);
		memmove(o, name, strlen(name) + 1);
		o += strlen(o) + 1;
		memmove(o, val, strlen(val) + 1);
		o += strlen(o) + 1;
	}
	w->resp = h;
	w->resplen = (size_t)(o - h);
	w->ioff = n; /* what follows is frames */
	return WSC_OK;
}

/* Is the 101 a WebSocket upgrade (RFC 6455 4.1: Upgrade: websocket, and the
 * Sec-WebSocket-Accept of our key)? WSC_OK or WSC_EPROTO. */
static int
upgraded(struct wsc *w)
{
	const char *up = wsc_header(w, "Upgrade"), *acc, *why = NULL;

	if (up == NULL || strcasecmp(up, "websocket") != 0)
		why = "no \"Upgrade: websocket\" header";
	else if ((acc = wsc_header(w, "Sec-WebSocket-Accept")) == NULL)
		why = "no Sec-WebSocket-Accept header";
	else if (strcmp(acc, w->accept) != 0)
		why = "wrong Sec-WebSocket-Accept";
	if (why == NULL)
		return WSC_OK;
	wsc_seterr(w, WSC_F_HTTP, "not a WebSocket server: HTTP 101 with %s", why);
	w->dead = 1;
	return WSC_EPROTO;
}

static int
upgrade(struct wsc *w)
{
	long n;
	int r;

	if ((r = sendrequest(w)) != WSC_OK)
		return r;
	if ((n = readhead(w)) < 0)
		return (int)n;
	if ((r = parsehead(w, (size_t)n)) != WSC_OK)
		return r;
	if (w->http_status != 101) {
		char d[32];

		snprintf(d, sizeof d, "HTTP %ld", w->http_status);
		return fail(w, WSC_EREFUSED, WSC_F_HTTP, "upgrade refused", d);
	}
	return upgraded(w);
}

int
wsc_connect(struct wsc *w)
{
	struct addrinfo *res = NULL;
	int r;

	if (w->connected || w->dead)
		return WSC_ERR;
	w->deadline = cp_now_ms() + w->timeout_ms;
	if ((r = parseurl(w)) != WSC_OK || (r = target(w)) != WSC_OK)
		return r;
	if ((r = resolve(w, &res)) != WSC_OK)
		return r;
	r = dial(w, res);
	freeaddrinfo(res);
	if (r == WSC_OK && w->secure && w->cto == NULL)
		r = tlsup(w);
	if (r == WSC_OK)
		r = upgrade(w);
	if (r != WSC_OK) {
		w->dead = 1;
		return r;
	}
	w->connected = 1;
	return WSC_OK;
}
