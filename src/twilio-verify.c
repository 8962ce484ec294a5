/* twilio-verify: exit 0 if the request's X-Twilio-Signature is valid, 1 if not.
 * The signature is base64(HMAC-SHA1(auth token, URL Twilio dialled)); for a
 * WebSocket upgrade nothing is appended to the URL. The URL is the configured
 * public base plus the request path; the variants with and without the scheme's
 * default port, and the https:// (or wss://) twin of the scheme, are all
 * accepted, because Twilio is not consistent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base64.h"
#include "cp.h"
#include "opt.h"

static const char usage[] = "twilio-verify [-u url-base] [-p path]";

#define URL_MAX 8192  /* longer base + path: refused as invalid */
#define SIG_MAX 256   /* a real signature is 28 characters */
#define SIG_LEN 28

struct base {
	const char *scheme, *alt;     /* given scheme, its twin (wss/https) */
	const char *defport;          /* "443" or "80" */
	char host[URL_MAX];           /* authority without the port */
	char port[8];                 /* "" when none given */
	char prefix[URL_MAX];         /* path prefix, no trailing '/' */
};

static int
parse_base(const char *u, struct base *b)
{
	static const struct { const char *s, *alt, *port; } schemes[] = {
		{ "wss", "https", "443" }, { "https", "wss", "443" },
		{ "ws", "http", "80" }, { "http", "ws", "80" },
	};
	const char *p = strstr(u, "://"), *auth, *slash, *colon;
	size_t i, sl, alen, plen;

	if (p == NULL)
		return -1;
	sl = (size_t)(p - u);
	b->scheme = NULL;
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strlen(schemes[i].s) == sl &&
		    strncasecmp(u, schemes[i].s, sl) == 0) {
			b->scheme = schemes[i].s;
			b->alt = schemes[i].alt;
			b->defport = schemes[i].port;
		}
	if (b->scheme == NULL)
		return -1;
	auth = p + 3;
	slash = strchr(auth, '/');
	alen = slash ? (size_t)(slash - auth) : strlen(auth);
	if (alen == 0 || alen >= sizeof b->host || memchr(auth, '?', alen) ||
	    memchr(auth, '#', alen))
		return -1;
	/* a port is ":digits" at the end of the authority, after any ']' */
	b->port[0] = '\0';
	colon = NULL;
	for (p = auth; p < auth + alen; p++)
		if (*p == ':')
			colon = p;
		else if (*p == ']')
			colon = NULL;
	if (colon != NULL) {
		size_t n = (size_t)(auth + alen - colon - 1);

		if (n == 0 || n >= sizeof b->port ||
		    strspn(colon + 1, "0123456789") < n)
			return -1;
		memcpy(b->port, colon + 1, n);
		b->port[n] = '\0';
		alen = (size_t)(colon - auth);
		if (alen == 0)
			return -1;
	}
	memcpy(b->host, auth, alen);
	b->host[alen] = '\0';
	plen = slash ? strlen(slash) : 0;
	if (plen >= sizeof b->prefix)
		return -1;
	if (slash)
		memcpy(b->prefix, slash, plen);
	b->prefix[plen] = '\0';
	while (plen > 0 && b->prefix[plen - 1] == '/')
		b->prefix[--plen] = '\0';
	return 0;
}

/* 1 if sig matches the HMAC over url, in constant time (for a given length). */
static int
check(const char *token, const char *url, size_t urllen, const char *sig,
    size_t siglen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	char want[B64_ENCODED_LEN(EVP_MAX_MD_SIZE) + 1];
	int ok;

	if (HMAC(EVP_sha1(), token, (int)strlen(token),
	    (const unsigned char *)url, urllen, mac, &maclen) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to compute HMAC-SHA1: OpenSSL "
		    "error");
	b64_encode(mac, maclen, want);
	ok = siglen == SIG_LEN && strlen(want) == SIG_LEN &&
	    CRYPTO_memcmp(want, sig, SIG_LEN) == 0;
	OPENSSL_cleanse(mac, sizeof mac);
	return ok;
}

/* The request path: -p, else REQUEST_URI, else SCRIPT_NAME + PATH_INFO + "?" +
 * QUERY_STRING (into buf); NULL if that is too long. */
static const char *
request_path(const char *path, char *buf, size_t size)
{
	const char *sn, *pinfo, *q;
	int n;

	if (path != NULL || (path = getenv("REQUEST_URI")) != NULL)
		return path;
	sn = getenv("SCRIPT_NAME");
	pinfo = getenv("PATH_INFO");
	q = getenv("QUERY_STRING");
	if (sn == NULL)
		cp_die(CP_EXIT_PERM, "need the request path: -p, REQUEST_URI "
		    "or SCRIPT_NAME unset");
	n = snprintf(buf, size, "%s%s%s%s", sn, pinfo ? pinfo : "",
	    q && *q ? "?" : "", q && *q ? q : "");
	return n < 0 || (size_t)n >= size ? NULL : buf;
}

/* The signature header, or NULL (refused, with a warning). */
static const char *
signature(size_t *len)
{
	const char *sig = getenv("HTTP_X_TWILIO_SIGNATURE");

	if (sig == NULL || *sig == '\0') {
		cp_warn("refused: no X-Twilio-Signature header");
		return NULL;
	}
	*len = strnlen(sig, SIG_MAX + 1);
	if (*len > SIG_MAX) {
		cp_warn("refused: X-Twilio-Signature header longer than %d "
		    "bytes", SIG_MAX);
		return NULL;
	}
	return sig;
}

/* Every URL form Twilio may have signed: the given port form first, then the
 * other; the given scheme first, then its twin. 0 if one matches, else 1. */
static int
verify(const char *token, const struct base *b, const char *path)
{
	const char *sig, *ports[2], *sep;
	char url[URL_MAX];
	size_t siglen;
	int si, pi, n;

	if ((sig = signature(&siglen)) == NULL)
		return CP_EXIT_NEG;
	ports[0] = b->port;
	ports[1] = NULL;
	if (b->port[0] == '\0')
		ports[1] = b->defport;
	else if (strcmp(b->port, b->defport) == 0)
		ports[1] = "";
	sep = path[0] != '\0' && path[0] != '/' ? "/" : "";
	for (si = 0; si < 2; si++) {
		for (pi = 0; pi < 2 && ports[pi] != NULL; pi++) {
			n = snprintf(url, sizeof url, "%s://%s%s%s%s%s%s",
			    si == 0 ? b->scheme : b->alt, b->host,
			    *ports[pi] ? ":" : "", ports[pi], b->prefix, sep,
			    path);
			if (n < 0 || (size_t)n >= sizeof url) {
				cp_warn("refused: URL longer than %d bytes",
				    URL_MAX - 1);
				return CP_EXIT_NEG;
			}
			if (check(token, url, (size_t)n, sig, siglen))
				return CP_EXIT_OK;
		}
	}
	cp_warn("refused: X-Twilio-Signature does not match "
	    "%s://%.200s%s%s%.200s%s%.300s", b->scheme, b->host,
	    b->port[0] ? ":" : "", b->port, b->prefix, sep, path);
	return CP_EXIT_NEG;
}

int
main(int argc, char **argv)
{
	static struct base b;
	static char pathbuf[URL_MAX];
	const char *token, *ubase = NULL, *path = NULL;
	int c;

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	cp_ignore_sigpipe();
	opterr = 0;
	while ((c = getopt(argc, argv, ":p:u:")) != -1) {
		switch (c) {
		case 'p':
			path = optarg;
			break;
		case 'u':
			ubase = optarg;
			break;
		default:
			cp_opterr(c, argv, usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		cp_usage(usage);

	token = getenv("TWILIO_AUTH_TOKEN");
	if (token == NULL || *token == '\0')
		cp_die(CP_EXIT_PERM, "need TWILIO_AUTH_TOKEN: unset or empty");
	if (ubase == NULL)
		ubase = getenv("CALLPIPE_PUBLIC_URL");
	if (ubase == NULL || *ubase == '\0')
		cp_die(CP_EXIT_PERM, "need the public URL: -u or "
		    "CALLPIPE_PUBLIC_URL unset or empty");
	if (strlen(ubase) >= URL_MAX || parse_base(ubase, &b) < 0)
		cp_die(CP_EXIT_PERM, "unable to use public URL %.200s: need "
		    "ws://, wss://, http:// or https:// host[:port][/prefix]",
		    ubase);
	if ((path = request_path(path, pathbuf, sizeof pathbuf)) == NULL) {
		cp_warn("refused: request path too long");
		return CP_EXIT_NEG;
	}
	return verify(token, &b, path);
}
