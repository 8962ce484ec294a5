/* Tests for netfail.c: the same failure gets the same class in every tool. */
#include <errno.h>
#include <stdio.h>

#include "cp.h"
#include "netfail.h"
#include "wsc.h"

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
test_wsc(void)
{
	CHECK(netfail_wsc(WSC_F_URL) == P);
	CHECK(netfail_wsc(WSC_F_TLS_LOAD) == P);
	CHECK(netfail_wsc(WSC_F_TLS_CAFILE) == P);
	CHECK(netfail_wsc(WSC_F_TLS_CERT) == P);
	CHECK(netfail_wsc(WSC_F_TLS_PROTO) == P); /* wss:// pointed at a plain server */
	CHECK(netfail_wsc(WSC_F_TLS_OTHER) == T); /* a reset in a TLS handshake may clear */
	CHECK(netfail_wsc(WSC_F_DNS_NOTFOUND) == T);
	CHECK(netfail_wsc(WSC_F_DNS_TEMP) == T);
	CHECK(netfail_wsc(WSC_F_CONNECT) == T);
	CHECK(netfail_wsc(WSC_F_TIMEOUT) == T);
	CHECK(netfail_wsc(WSC_F_HTTP) == T);
	CHECK(netfail_wsc(WSC_F_IO) == T);
	CHECK(netfail_wsc(WSC_F_NONE) == T);
	CHECK(netfail_wsc(9999) == T);
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
	test_wsc();
	test_errno();
	CHECK(netfail_name(P)[0] == 'p' && netfail_name(T)[0] == 't');
	if (failures)
		fprintf(stderr, "test-netfail: %d failures\n", failures);
	return failures != 0;
}
