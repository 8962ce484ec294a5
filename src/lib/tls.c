/* tls.c: OpenSSL through dlopen, for wss:// (tls.h). The function table below is typed
 * from OpenSSL's own headers, so a wrong prototype does not compile; macros such as
 * SSL_set_tlsext_host_name are spelled out over SSL_ctrl and SSL_CTX_ctrl, and
 * nothing here is linked against libssl or libcrypto. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "tls.h"

#define LIBSSL "libssl.so.3"
#define SYSTEM_CADIR "/etc/ssl/certs"

#define FUNCS \
	F(OPENSSL_init_ssl) F(TLS_client_method) F(SSL_CTX_new) F(SSL_CTX_free) \
	F(SSL_CTX_set_verify) F(SSL_CTX_load_verify_file) F(SSL_CTX_load_verify_dir) \
	F(SSL_CTX_ctrl) F(SSL_CTX_set_options) F(SSL_new) F(SSL_free) F(SSL_set_fd) \
	F(SSL_ctrl) F(SSL_set1_host) F(SSL_connect) F(SSL_read) F(SSL_write) \
	F(SSL_get_error) F(SSL_get_verify_result) F(X509_verify_cert_error_string) \
	F(ERR_get_error) F(ERR_clear_error)

static struct {
#define F(n) __typeof__(n) *n;
	FUNCS
#undef F
} ssl;

static int loaded;       /* 1 loaded, -1 failed once (the answer will not change) */
static char loaderr[200];
static SSL_CTX *ctx;     /* one per process, for one CA choice */
static char *ctxca;      /* the cafile ctx was made for, NULL = the system's */

struct tls {
	SSL *ssl;
	int fail;
	char err[256];
};

static int
load(void)
{
	void *h;
	const char *e;

	if (loaded)
		return loaded;
	loaded = -1;
	if ((h = dlopen(LIBSSL, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(loaderr, sizeof loaderr, "unable to load %s for wss:// (%s)",
		    LIBSSL, e ? e : "?");
		return loaded;
	}
#define F(n) \
	if ((*(void **)&ssl.n = dlsym(h, #n)) == NULL) { \
		snprintf(loaderr, sizeof loaderr, "%s lacks %s", LIBSSL, #n); \
		return loaded; \
	}
	FUNCS
#undef F
	if (ssl.OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_NO_LOAD_SSL_STRINGS | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS,
	    NULL) != 1) {
		snprintf(loaderr, sizeof loaderr, "unable to initialise OpenSSL");
		return loaded;
	}
	return loaded = 1;
}

static int
same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* The CAs: cafile alone; else, as OpenSSL's defaults, $SSL_CERT_FILE and/or the hashed
 * directories of $SSL_CERT_DIR; neither set: the system's directory. */
static int
trust(SSL_CTX *c, const char *cafile, char *err, size_t errsz)
{
	const char *f = cafile ? cafile : env("SSL_CERT_FILE");
	const char *d = cafile ? NULL : env("SSL_CERT_DIR");

	if (f == NULL && d == NULL && cafile == NULL)
		d = SYSTEM_CADIR;
	if (f != NULL && ssl.SSL_CTX_load_verify_file(c, f) != 1) {
		snprintf(err, errsz, "error setting certificate file: %.200s", f);
		return -1;
	}
	if (d != NULL && ssl.SSL_CTX_load_verify_dir(c, d) != 1) {
		snprintf(err, errsz, "error setting certificate directory: %.200s", d);
		return -1;
	}
	return 0;
}

static SSL_CTX *
context(const char *cafile, char *err, size_t errsz, int *fail)
{
	SSL_CTX *c;

	if (ctx != NULL && same(ctxca, cafile))
		return ctx;
	*fail = TLS_F_OTHER;
	if ((c = ssl.SSL_CTX_new(ssl.TLS_client_method())) == NULL) {
		snprintf(err, errsz, "unable to make a TLS context");
		return NULL;
	}
	ssl.SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	(void)ssl.SSL_CTX_ctrl(c, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	(void)ssl.SSL_CTX_ctrl(c, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS, NULL);
	(void)ssl.SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (trust(c, cafile, err, errsz) < 0) {
		*fail = TLS_F_CAFILE;
		ssl.SSL_CTX_free(c);
		return NULL;
	}
	free(ctxca);
	ctxca = NULL;
	if (cafile != NULL && (ctxca = strdup(cafile)) == NULL) {
		snprintf(err, errsz, "out of memory");
		ssl.SSL_CTX_free(c);
		return NULL;
	}
	if (ctx != NULL)
		ssl.SSL_CTX_free(ctx); /* connections made with it hold their own reference */
	return ctx = c;
}

static int
ipliteral(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

struct tls *
tls_new(int fd, const char *host, const char *cafile, char *err, size_t errsz, int *fail)
{
	struct tls *t;
	SSL_CTX *c;

	*fail = TLS_F_LOAD;
	if (load() < 0) {
		snprintf(err, errsz, "%s", loaderr);
		return NULL;
	}
	if ((c = context(cafile, err, errsz, fail)) == NULL)
		return NULL;
	*fail = TLS_F_OTHER;
	if ((t = calloc(1, sizeof *t)) == NULL || (t->ssl = ssl.SSL_new(c)) == NULL) {
		snprintf(err, errsz, "out of memory for a TLS connection");
		free(t);
		return NULL;
	}
	if (ssl.SSL_set_fd(t->ssl, fd) != 1 || ssl.SSL_set1_host(t->ssl, host) != 1 ||
	    (!ipliteral(host) && ssl.SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
	    TLSEXT_NAMETYPE_host_name, (void *)(uintptr_t)host) != 1)) {
		snprintf(err, errsz, "unable to set up TLS for %.200s", host);
		tls_free(t);
		return NULL;
	}
	*fail = TLS_F_NONE;
	return t;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL)
		ssl.SSL_free(t->ssl);
	free(t);
}

/* OpenSSL's reasons that say the same attempt will fail again (error strings are not
 * loaded: the words are ours) */
static const struct { int reason, fail; const char *text; } reasons[] = {
	{ SSL_R_WRONG_VERSION_NUMBER, TLS_F_PROTO, "wrong version number (not a TLS server?)" },
	{ SSL_R_UNKNOWN_PROTOCOL, TLS_F_PROTO, "unknown protocol" },
	{ SSL_R_PACKET_LENGTH_TOO_LONG, TLS_F_PROTO, "packet length too long (not a TLS server?)" },
	{ SSL_R_HTTP_REQUEST, TLS_F_PROTO, "http request" },
	{ SSL_R_UNSUPPORTED_PROTOCOL, TLS_F_PROTO, "unsupported protocol" },
	{ SSL_R_NO_PROTOCOLS_AVAILABLE, TLS_F_PROTO, "no protocols available" },
	{ SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, TLS_F_PROTO, "alert protocol version" },
	{ SSL_R_CERTIFICATE_VERIFY_FAILED, TLS_F_CERT, "certificate verify failed" },
	{ SSL_R_TLSV1_ALERT_UNKNOWN_CA, TLS_F_CERT, "alert unknown ca" },
	{ SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, TLS_F_CERT, "alert bad certificate" },
	{ SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, TLS_F_CERT, "alert unsupported certificate" },
	{ SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED, TLS_F_CERT, "alert certificate revoked" },
	{ SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, TLS_F_CERT, "alert certificate expired" },
	{ SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN, TLS_F_CERT, "alert certificate unknown" },
	{ SSL_R_SSLV3_ALERT_NO_CERTIFICATE, TLS_F_CERT, "alert no certificate" },
};

/* Says why in t->err and classes it; TLS_FAIL. */
static int
failed(struct tls *t, const char *what, int e)
{
	unsigned long code = 0, c;
	long v;
	size_t i;
	int err = errno;

	while ((c = ssl.ERR_get_error()) != 0)
		if (code == 0)
			code = c;
	t->fail = TLS_F_OTHER;
	if (e == SSL_ERROR_SYSCALL || (e == SSL_ERROR_SSL && code == 0)) {
		snprintf(t->err, sizeof t->err, "%s: %s", what,
		    err ? strerror(err) : "connection closed by the server");
		return TLS_FAIL;
	}
	if ((v = ssl.SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		t->fail = TLS_F_CERT;
		snprintf(t->err, sizeof t->err, "SSL certificate problem: %s",
		    ssl.X509_verify_cert_error_string(v));
		return TLS_FAIL;
	}
	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (ERR_GET_REASON(code) == reasons[i].reason) {
			t->fail = reasons[i].fail;
			snprintf(t->err, sizeof t->err, "%s: TLS: %s", what, reasons[i].text);
			return TLS_FAIL;
		}
	snprintf(t->err, sizeof t->err, "%s: TLS error %08lX (openssl errstr %08lX)", what,
	    code, code);
	return TLS_FAIL;
}

static int
result(struct tls *t, int r, const char *what)
{
	int e = ssl.SSL_get_error(t->ssl, r);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANTREAD;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANTWRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		return failed(t, what, e);
	}
}

int
tls_handshake(struct tls *t)
{
	int r;

	ssl.ERR_clear_error();
	errno = 0;
	if ((r = ssl.SSL_connect(t->ssl)) == 1)
		return 0;
	r = result(t, r, "TLS handshake failed");
	return r == 0 ? failed(t, "TLS handshake failed", SSL_ERROR_SYSCALL) : r;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t n)
{
	int r, k = n > 1 << 30 ? 1 << 30 : (int)n;

	ssl.ERR_clear_error();
	errno = 0;
	if ((r = ssl.SSL_read(t->ssl, buf, k)) > 0)
		return r;
	return result(t, r, "TLS receive failed");
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t n)
{
	int r, k = n > 1 << 30 ? 1 << 30 : (int)n;

	ssl.ERR_clear_error();
	errno = 0;
	if ((r = ssl.SSL_write(t->ssl, buf, k)) > 0)
		return r;
	r = result(t, r, "TLS send failed");
	return r == 0 ? failed(t, "TLS send failed", SSL_ERROR_SYSCALL) : r;
}

const char *tls_error(const struct tls *t) { return t->err; }
int tls_fail(const struct tls *t) { return t->fail; }
