/* Unit tests for remote.c's pure parts: the /client URL built from
 * subscribe --url, and the exit code of each callpipe.end reason. */
#include <stdio.h>
#include <string.h>

#include "cp.h"
#include "remote.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; \
	fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
} } while (0)

static const char *
url(const char *base, const char *sid, int history, int wait)
{
	static char buf[1024];
	struct remote_opts o = { .url = base, .sid = sid, .history = history,
	    .wait = wait };
	const char *why = NULL;

	if (remote_url(&o, buf, sizeof buf, &why) < 0) {
		CHECK(why != NULL);
		return NULL;
	}
	return buf;
}

static void
test_url(void)
{
	const char *sid = "CA0123456789abcdef0123456789abcdef";
	const char *u;
	char big[1100];

	CHECK((u = url("ws://h:5000", NULL, 0, -1)) &&
	    strcmp(u, "ws://h:5000/client") == 0);
	CHECK((u = url("wss://h/", NULL, 1, 5)) &&
	    strcmp(u, "wss://h/client") == 0);
	CHECK((u = url("ws://h:1/a/b", NULL, 0, -1)) &&
	    strcmp(u, "ws://h:1/a/b") == 0);
	CHECK((u = url("ws://h:1", sid, 0, -1)) && strcmp(u,
	    "ws://h:1/client?callsid=CA0123456789abcdef0123456789abcdef") == 0);
	CHECK((u = url("ws://h:1/x/client", sid, 1, 30)) && strcmp(u,
	    "ws://h:1/x/client?callsid=CA0123456789abcdef0123456789abcdef"
	    "&history=1&wait=30") == 0);
	CHECK(url("http://h", NULL, 0, -1) == NULL);
	CHECK(url("ws://", NULL, 0, -1) == NULL);
	CHECK(url("ws:///client", NULL, 0, -1) == NULL);
	CHECK(url("ws://u:p@h/", NULL, 0, -1) == NULL);
	/* '@' in the path is no userinfo */
	CHECK((u = url("ws://h/a@b", NULL, 0, -1)) != NULL);
	CHECK(url("ws://h/client?callsid=x", NULL, 0, -1) == NULL);
	CHECK(url("ws://h/#x", NULL, 0, -1) == NULL);
	CHECK(url("ws://h /", NULL, 0, -1) == NULL);
	CHECK(url("ws://h\n/", NULL, 0, -1) == NULL);
	CHECK(url("ws://h\x80/", NULL, 0, -1) == NULL);
	memset(big, 'a', sizeof big - 1);
	memcpy(big, "ws://", 5);
	big[sizeof big - 1] = '\0';
	CHECK(url(big, NULL, 0, -1) == NULL);
}

static void
test_reasons(void)
{
	CHECK(remote_reason_code("call-ended") == CP_EXIT_OK);
	CHECK(remote_reason_code("unknown-call") == CP_EXIT_NEG);
	CHECK(remote_reason_code("timeout") == CP_EXIT_NEG);
	CHECK(remote_reason_code("too-slow") == CP_EXIT_NEG);
	CHECK(remote_reason_code("transcription-failed") == CP_EXIT_NEG);
	CHECK(remote_reason_code("unauthorized") == CP_EXIT_PERM);
	CHECK(remote_reason_code("bad-request") == CP_EXIT_PERM);
	CHECK(remote_reason_code("busy") == CP_EXIT_TEMP);
	CHECK(remote_reason_code("server-stopping") == CP_EXIT_TEMP);
	CHECK(remote_reason_code("") == CP_EXIT_NEG);
	CHECK(remote_reason_code("something-new") == CP_EXIT_NEG);
}

int
main(void)
{
	test_url();
	test_reasons();
	if (failures)
		fprintf(stderr, "test-remote: %d failures\n", failures);
	return failures != 0;
}
