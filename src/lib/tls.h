/* tls.h: a TLS client connection for wsc's wss://, over OpenSSL loaded with
 * dlopen("libssl.so.3") at the first use, so that a process that only speaks ws://
 * never maps libssl or libcrypto (about 1 MB of private memory per process).
 *
 * The certificate chain and the host name are always verified: SNI and
 * SSL_set1_host with the URL's host (an IP literal is checked against the
 * certificate's IP addresses, and sends no SNI). Trusted CAs: the cafile given;
 * else $SSL_CERT_FILE and the hashed directories of $SSL_CERT_DIR, when set; else
 * the hashed directory /etc/ssl/certs (OpenSSL then reads only the roots a chain
 * needs, when it needs them, where a bundle file is parsed whole: ~1 MB).
 * OpenSSL is initialised without its config file and without error strings.
 *
 * Every call is non-blocking over a non-blocking socket: TLS_WANTREAD and
 * TLS_WANTWRITE say what to poll for before calling again (with the same
 * arguments: a write is retried with the same remainder). */
#ifndef CP_TLS_H
#define CP_TLS_H
#include <stddef.h>
#include <sys/types.h>

enum {
	TLS_WANTREAD = -2,
	TLS_WANTWRITE = -3,
	TLS_FAIL = -1
};

/* failure classes: tls_fail() */
enum {
	TLS_F_NONE = 0,
	TLS_F_LOAD,   /* libssl.so.3 missing or incomplete: permanent */
	TLS_F_CAFILE, /* the CA file could not be loaded: permanent */
	TLS_F_CERT,   /* the server's certificate was refused: permanent */
	TLS_F_PROTO,  /* the peer speaks no TLS we accept ("wrong version number"): permanent */
	TLS_F_OTHER   /* resets, out of memory...: temporary */
};

struct tls;

/* A client over fd for host. NULL: see err/errsz and *fail. */
struct tls *tls_new(int fd, const char *host, const char *cafile, char *err, size_t errsz,
    int *fail);
void tls_free(struct tls *t);
/* 0 when the handshake is done, TLS_WANTREAD, TLS_WANTWRITE, TLS_FAIL */
int tls_handshake(struct tls *t);
/* bytes (> 0), 0 at the end of the stream, TLS_WANTREAD, TLS_WANTWRITE, TLS_FAIL */
ssize_t tls_read(struct tls *t, void *buf, size_t n);
/* bytes (> 0), TLS_WANTREAD, TLS_WANTWRITE, TLS_FAIL */
ssize_t tls_write(struct tls *t, const void *buf, size_t n);
const char *tls_error(const struct tls *t); /* the last failure, "" if none */
int tls_fail(const struct tls *t);           /* its class */
#endif
