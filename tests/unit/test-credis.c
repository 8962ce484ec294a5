/* Unit tests for CALLPIPE_REDIS_URL parsing (src/lib/credis.c): the forms the man pages
 * name, the refusals, and a password that never shows in the form used in log lines. */
#include <stdio.h>
#include <string.h>

#include "credis.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; \
	fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

static int
ok(const char *s, struct rurl *u)
{
	char err[300];

	return cr_parse(s, u, err, sizeof err) == 0;
}

static void
test_forms(void)
{
	struct rurl u;

	CHECK(ok("redis://127.0.0.1", &u) && strcmp(u.host, "127.0.0.1") == 0 &&
	    u.port == 6379 && u.db == 0 && u.pass[0] == '\0');
	CHECK(strcmp(u.shown, "redis://127.0.0.1:6379/0") == 0);
	CHECK(ok("redis://redis.internal:6380/3", &u) && u.port == 6380 && u.db == 3);
	CHECK(ok("redis://:s3cret@10.0.0.1:1234", &u) && u.user[0] == '\0' &&
	    strcmp(u.pass, "s3cret") == 0);
	CHECK(strstr(u.shown, "s3cret") == NULL && strstr(u.shown, "***@") != NULL);
	CHECK(ok("redis://app:p%40ss%2Fw@h:1/2", &u) && strcmp(u.user, "app") == 0 &&
	    strcmp(u.pass, "p@ss/w") == 0 && u.db == 2);
	CHECK(strstr(u.shown, "p@ss") == NULL && strstr(u.shown, "app") == NULL);
	CHECK(ok("redis://[::1]:7000", &u) && strcmp(u.host, "::1") == 0 && u.port == 7000);
	CHECK(strcmp(u.shown, "redis://[::1]:7000/0") == 0);
	CHECK(ok("unix:///run/redis/redis.sock", &u) &&
	    strcmp(u.path, "/run/redis/redis.sock") == 0 && u.db == 0);
	CHECK(ok("unix:///tmp/r.sock?db=5", &u) && u.db == 5);
}

static void
test_refusals(void)
{
	struct rurl u;

	CHECK(!ok(NULL, &u));
	CHECK(!ok("", &u));
	CHECK(!ok("http://h:1", &u));
	CHECK(!ok("redis://", &u));
	CHECK(!ok("redis://:1", &u));
	CHECK(!ok("redis://h:0", &u));
	CHECK(!ok("redis://h:65536", &u));
	CHECK(!ok("redis://h:12x", &u));
	CHECK(!ok("redis://h/x", &u));
	CHECK(!ok("redis://nocolon@h", &u));
	CHECK(!ok("redis://:bad%zz@h", &u));
	CHECK(!ok("redis://:nul%00@h", &u));
	CHECK(!ok("redis://h o:1", &u));
	CHECK(!ok("redis://h\n:1", &u));
	CHECK(!ok("redis://h$(id):1", &u));
	CHECK(!ok("redis://[::1", &u));
	CHECK(!ok("unix://relative.sock", &u));
	CHECK(!ok("unix:///tmp/r.sock?x=1", &u));
}

int
main(void)
{
	test_forms();
	test_refusals();
	if (failures)
		fprintf(stderr, "test-credis: %d failures\n", failures);
	return failures ? 1 : 0;
}
