/* Tests for netfail.c: the same failure gets the same class in every tool. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>

#include "cp.h"
#include "netfail.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, \
	"%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)
#define P CP_EXIT_PERM
#define T CP_EXIT_TEMP

static void
test_http(void)
{
	static const long perm[] = { 100, 200, 204, 300, 301, 302, 307, 308,
	    400, 401, 402, 403, 404, 405, 426, 499, 600 };
	static const long temp[] = { 0, 408, 425, 429, 500, 502, 503, 504,
	    599 };
	size_t i;

	for (i = 0; i < sizeof perm / sizeof perm[0]; i++)
		CHECK(netfail_http(perm[i]) == P);
	for (i = 0; i < sizeof temp / sizeof temp[0]; i++)
		CHECK(netfail_http(temp[i]) == T);
}

static void
test_curl(void)
{
	CHECK(netfail_curl(CURLE_URL_MALFORMAT, NULL) == P);
	CHECK(netfail_curl(CURLE_UNSUPPORTED_PROTOCOL,
	    "Protocol \"http\" not supported") == P);
	CHECK(netfail_curl(CURLE_PEER_FAILED_VERIFICATION, NULL) == P);
	CHECK(netfail_curl(CURLE_SSL_CACERT_BADFILE, NULL) == P);
	CHECK(netfail_curl(CURLE_SSL_CERTPROBLEM, NULL) == P);
	/* wss:// pointed at a plain server */
	CHECK(netfail_curl(CURLE_SSL_CONNECT_ERROR, "OpenSSL/3.0.15: "
	    "error:0A00010B:SSL routines::wrong version number") == P);
	CHECK(netfail_curl(CURLE_SSL_CONNECT_ERROR, "OpenSSL/3.0.15: "
	    "error:0A000412:SSL routines::sslv3 alert bad certificate") == P);
	/* a reset in the middle of a TLS handshake may clear */
	CHECK(netfail_curl(CURLE_SSL_CONNECT_ERROR, "OpenSSL SSL_connect: "
	    "Connection reset by peer in connection to x:443") == T);
	CHECK(netfail_curl(CURLE_SSL_CONNECT_ERROR, NULL) == T);
	CHECK(netfail_curl(CURLE_COULDNT_RESOLVE_HOST, NULL) == T);
	CHECK(netfail_curl(CURLE_COULDNT_CONNECT, "Connection refused") == T);
	CHECK(netfail_curl(CURLE_OPERATION_TIMEDOUT, NULL) == T);
	CHECK(netfail_curl(CURLE_GOT_NOTHING, NULL) == T);
	CHECK(netfail_curl(CURLE_RECV_ERROR, NULL) == T);
	CHECK(netfail_curl(CURLE_SEND_ERROR, NULL) == T);
	CHECK(netfail_curl(CURLE_OUT_OF_MEMORY, NULL) == T);
	CHECK(netfail_curl(9999, NULL) == T);
}

static void
test_errno(void)
{
	CHECK(netfail_errno(EACCES) == P);
	CHECK(netfail_errno(EAFNOSUPPORT) == P);
	CHECK(netfail_errno(ECONNREFUSED) == T);
	CHECK(netfail_errno(ECONNRESET) == T);
	CHECK(netfail_errno(ETIMEDOUT) == T);
	CHECK(netfail_errno(ENETUNREACH) == T);
	CHECK(netfail_errno(EPIPE) == T);
	CHECK(netfail_errno(ENOMEM) == T);
	CHECK(netfail_errno(0) == T);
}

int
main(void)
{
	test_http();
	test_curl();
	test_errno();
	CHECK(netfail_name(P)[0] == 'p' && netfail_name(T)[0] == 't');
	if (failures)
		fprintf(stderr, "test-netfail: %d failures\n", failures);
	return failures != 0;
}
