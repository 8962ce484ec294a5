/* Unit tests for the library pieces of the hygiene work: the byte queue (bq), the
 * vector base64 decoder (same answers as the strict scalar one), the option helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base64.h"
#include "bq.h"
#include "cp.h"
#include "opt.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", \
    __FILE__, __LINE__, #c); } } while (0)

static void
test_bq(void)
{
	struct bq q;
	char big[10000], *r;
	const char *p;
	size_t len, i;
	int fd[2];

	for (i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	bq_init(&q);
	CHECK(bq_len(&q) == 0);
	p = bq_data(&q, &len);
	CHECK(len == 0 && p != NULL);
	CHECK(bq_push(&q, "hello ", 6) == 0 && bq_push(&q, "world", 5) == 0);
	p = bq_data(&q, &len);
	CHECK(len == 11 && memcmp(p, "hello world", 11) == 0);
	bq_consume(&q, 6);
	p = bq_data(&q, &len);
	CHECK(len == 5 && memcmp(p, "world", 5) == 0);
	/* growing moves what is pending to the front, keeps it */
	CHECK(bq_push(&q, big, sizeof big) == 0);
	p = bq_data(&q, &len);
	CHECK(len == 5 + sizeof big && memcmp(p, "world", 5) == 0 &&
	    memcmp(p + 5, big, sizeof big) == 0);
	bq_truncate(&q, 3);
	p = bq_data(&q, &len);
	CHECK(len == 3 && memcmp(p, "wor", 3) == 0);
	r = bq_room(&q, 2);
	CHECK(r != NULL);
	memcpy(r, "ld", 2);
	bq_commit(&q, 2);
	bq_consume(&q, 100); /* more than pending: all of it */
	CHECK(bq_len(&q) == 0);
	/* writes: one non-blocking write, and a blocking flush of everything */
	CHECK(pipe(fd) == 0);
	CHECK(bq_push(&q, "abc", 3) == 0);
	CHECK(bq_write(&q, fd[1]) == 3 && bq_len(&q) == 0);
	CHECK(bq_push(&q, "defg", 4) == 0 && bq_flush(&q, fd[1]) == 0 && bq_len(&q) == 0);
	CHECK(read(fd[0], big, sizeof big) == 7 && memcmp(big, "abcdefg", 7) == 0);
	close(fd[0]);
	CHECK(bq_push(&q, "x", 1) == 0);
	CHECK(bq_write(&q, fd[1]) == -1 && errno == EPIPE && bq_len(&q) == 1);
	close(fd[1]);
	bq_free(&q);
}

static void
test_b64_fast(void)
{
	static const char *const bad[] = {
		"Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zg=x",
		"Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9v YmFyYmF6cXV4Zg==",
		"Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cX=4Zm9vYmFyYmF6cXV4Zg==",
		"Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zh==",
	};
	unsigned char in[700], a[600 + B64_SLACK], b[600 + B64_SLACK];
	char enc[1000];
	size_t n, e, i, k;

	srand(7);
	for (k = 0; k < 2000; k++) {
		n = (size_t)rand() % 600;
		for (i = 0; i < n; i++)
			in[i] = (unsigned char)rand();
		e = b64_encode(in, n, enc);
		if (k % 3 == 1 && e > 0) /* a wrong character somewhere */
			enc[(size_t)rand() % e] = "!-_ =\n"[rand() % 6];
		CHECK(b64_decode_fast(enc, e, a) == b64_decode(enc, e, b));
		if (b64_decode(enc, e, b) != B64_BAD)
			CHECK(memcmp(a, b, b64_decode(enc, e, b)) == 0);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(b64_decode_fast(bad[i], strlen(bad[i]), a) == B64_BAD);
}

/* run f in a child: its exit status and its stderr */
static int
child(void (*f)(void), char *err, size_t size)
{
	int fd[2], st;
	ssize_t r;
	pid_t pid;

	if (pipe(fd) != 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 2);
		f();
		_exit(0);
	}
	close(fd[1]);
	r = read(fd[0], err, size - 1);
	err[r > 0 ? r : 0] = '\0';
	close(fd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bad_num(void) { (void)cp_optnum("12x", 1, 100, "-n calls"); }
static void bad_range(void) { (void)cp_optnum("101", 1, 100, "-n calls"); }
static void bad_real(void) { (void)cp_optreal("nan", 0, 10, "-s speed"); }

static void
test_opt(void)
{
	char err[512];

	CHECK(cp_optnum("42", 1, 100, "-n calls") == 42);
	CHECK(cp_optreal("0.5", 0.01, 10, "-s speed") == 0.5);
	cp_setprog("tool");
	CHECK(child(bad_num, err, sizeof err) == CP_EXIT_PERM);
	CHECK(strcmp(err, "tool: usage: -n calls: want a whole number from 1 to 100, "
	    "not 12x\n") == 0);
	CHECK(child(bad_range, err, sizeof err) == CP_EXIT_PERM);
	CHECK(strstr(err, "not 101\n") != NULL);
	CHECK(child(bad_real, err, sizeof err) == CP_EXIT_PERM);
	CHECK(strcmp(err, "tool: usage: -s speed: want a number from 0 to 10, "
	    "not nan\n") == 0);
}

int
main(void)
{
	cp_ignore_sigpipe();
	test_bq();
	test_b64_fast();
	test_opt();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures ? 1 : 0;
}
