/* netfail.c: permanent or temporary, for a failure to connect (netfail.h). */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "cp.h"
#include "netfail.h"

int
netfail_http(long status)
{
	if (status == 0 || status == 408 || status == 425 || status == 429)
		return CP_EXIT_TEMP;
	if (status >= 500 && status < 600)
		return CP_EXIT_TEMP;
	return CP_EXIT_PERM;
}

/* OpenSSL's words for a peer that speaks no TLS, or a certificate refused */
static const char *const tls_perm[] = {
	"wrong version number", "certificate", "unknown protocol",
	"packet length too long", "unsupported protocol",
	"no protocols available", "unknown ca", "http request",
};

static int
tls_permanent(const char *detail)
{
	size_t i;

	if (detail == NULL)
		return 0;
	for (i = 0; i < sizeof tls_perm / sizeof tls_perm[0]; i++)
		if (strcasestr(detail, tls_perm[i]) != NULL)
			return 1;
	return 0;
}

int
netfail_curl(int code, const char *detail)
{
	switch (code) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_REMOTE_ACCESS_DENIED:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_LOGIN_DENIED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return CP_EXIT_PERM;
	case CURLE_SSL_CONNECT_ERROR:
		return tls_permanent(detail) ? CP_EXIT_PERM : CP_EXIT_TEMP;
	default:
		return CP_EXIT_TEMP;
	}
}

int
netfail_errno(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
	case EINVAL:
		return CP_EXIT_PERM;
	default:
		return CP_EXIT_TEMP;
	}
}

const char *
netfail_name(int code)
{
	return code == CP_EXIT_PERM ? "permanent" : "temporary";
}
