/* Unit tests for calldir (call folder layout, liveness, listing, atomic writes) and
 * fanbuf (fanout's per-subscriber buffer: bounds, whole lines, cut on overflow). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calldir.h"
#include "cp.h"
#include "fanbuf.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

static const char *
data(struct fanbuf *fb, size_t *n)
{
	return fb_data(fb, n);
}

static void
test_fanbuf(void)
{
	struct fanbuf fb, a, b;
	struct fanbuf *v[2] = { &a, &b };
	char big[5000];
	const char *p;
	size_t n;
	int pfd[2];

	fb_init(&fb, 16);
	CHECK(fb_len(&fb) == 0);
	CHECK(fb_push(&fb, "abc", 3) == FB_OK);
	CHECK(fb_push(&fb, "", 0) == FB_OK);
	p = data(&fb, &n);
	CHECK(n == 5 && memcmp(p, "abc\n\n", 5) == 0);
	CHECK(fb_push(&fb, "0123456789", 10) == FB_OK); /* 16 bytes: at the bound */
	CHECK(fb_len(&fb) == 16);
	/* not mid-line: a full buffer is emptied and closes */
	CHECK(fb_push(&fb, "x", 1) == FB_FULL);
	CHECK(fb.closing && fb_len(&fb) == 0);
	CHECK(fb_push(&fb, "x", 1) == FB_CLOSED);
	fb_free(&fb);

	/* an empty buffer takes any one line, however long */
	memset(big, 'w', sizeof big);
	fb_init(&fb, 16);
	CHECK(fb_push(&fb, big, sizeof big) == FB_OK);
	CHECK(fb_len(&fb) == sizeof big + 1);
	CHECK(fb_push(&fb, "y", 1) == FB_FULL);
	fb_free(&fb);

	/* overflow in the middle of a line keeps only the rest of that line */
	fb_init(&fb, 12);
	CHECK(fb_push(&fb, "hello", 5) == FB_OK);
	CHECK(fb_push(&fb, "world", 5) == FB_OK);
	fb_consume(&fb, 3); /* "hel" written */
	CHECK(fb.midline);
	CHECK(fb_push(&fb, "again", 5) == FB_FULL);
	p = data(&fb, &n);
	CHECK(n == 3 && memcmp(p, "lo\n", 3) == 0);
	fb_consume(&fb, 3);
	CHECK(!fb.midline && fb_len(&fb) == 0);
	fb_free(&fb);

	/* consumption then growth: memmove keeps order */
	fb_init(&fb, 1 << 20);
	for (n = 0; n < 1000; n++) {
		char l[32];
		int k = snprintf(l, sizeof l, "line %zu", n);

		CHECK(fb_push(&fb, l, (size_t)k) == FB_OK);
		if (n % 3 == 0)
			fb_consume(&fb, 4);
	}
	fb_free(&fb);

	/* fb_fan: one full subscriber does not affect the other */
	fb_init(&a, 8);
	fb_init(&b, 1 << 20);
	CHECK(fb_fan(v, 2, "1234567", 7) == 0);
	CHECK(fb_fan(v, 2, "abc", 3) == 1);
	CHECK(a.closing && !b.closing);
	p = data(&b, &n);
	CHECK(n == 12 && memcmp(p, "1234567\nabc\n", 12) == 0);
	CHECK(fb_fan(v, 2, "d", 1) == 0); /* closing ones are skipped */
	CHECK(fb_len(&b) == 14);

	/* fb_flush into a pipe; EPIPE once the reader is gone */
	CHECK(pipe(pfd) == 0);
	cp_ignore_sigpipe();
	CHECK(cp_setnonblock(pfd[1], 1) == 0);
	CHECK(fb_flush(&b, pfd[1]) == 14);
	CHECK(fb_len(&b) == 0);
	{
		char r[32];

		CHECK(read(pfd[0], r, sizeof r) == 14 && memcmp(r, "1234567\nabc\nd\n", 14) == 0);
	}
	close(pfd[0]);
	CHECK(fb_push(&b, "z", 1) == FB_OK);
	CHECK(fb_flush(&b, pfd[1]) == -1);
	close(pfd[1]);
	fb_free(&a);
	fb_free(&b);
}

static void
test_calldir(void)
{
	char tmpl[] = "/tmp/calldir-test.XXXXXX", root[256], path[512], buf[64];
	const char *sid = "CA0123456789abcdef0123456789abcdef";
	struct cd_err e;
	struct cd_call *v;
	size_t n;
	int calls, call, fd;
	struct stat st;

	cd_isotime(0, buf, sizeof buf);
	CHECK(strcmp(buf, "1970-01-01T00:00:00Z") == 0);
	cd_isotime(1700000000, buf, sizeof buf);
	CHECK(strcmp(buf, "2023-11-14T22:13:20Z") == 0);

	CHECK(mkdtemp(tmpl) != NULL);
	snprintf(root, sizeof root, "%s/state/sub", tmpl);
	setenv("CALLPIPE_DIR", root, 1);
	CHECK(cd_open_calls(0, &e) == -1 && e.code == CP_EXIT_NEG);
	calls = cd_open_calls(1, &e);
	CHECK(calls >= 0);
	CHECK(stat(root, &st) == 0 && (st.st_mode & 0777) == 0700);

	/* invalid sids never reach a path */
	CHECK(cd_open_call(calls, "../../etc", 1, &e) == -1 && e.code == CP_EXIT_PERM);
	CHECK(cd_open_call(calls, "CA0123", 1, &e) == -1 && e.code == CP_EXIT_PERM);
	CHECK(cd_open_call(calls, sid, 0, &e) == -1 && e.code == CP_EXIT_NEG);
	call = cd_open_call(calls, sid, 1, &e);
	CHECK(call >= 0);

	/* stream folder names */
	{
		struct cd_stream cs;

		CHECK(cd_parse_stream("1.1700000000123.-", &cs) == 0 && cs.n == 1 &&
		    cs.start_ms == 1700000000123LL && cs.ssid[0] == '\0');
		CHECK(cd_parse_stream("12.5.MZ0123456789abcdef0123456789abcdef", &cs) == 0 && cs.n == 12 &&
		    strcmp(cs.ssid, "MZ0123456789abcdef0123456789abcdef") == 0);
		CHECK(cd_parse_stream("0.5.-", &cs) < 0);
		CHECK(cd_parse_stream("01.5.-", &cs) < 0);
		CHECK(cd_parse_stream("1.5", &cs) < 0);
		CHECK(cd_parse_stream("1.5.MZ..", &cs) < 0);
		CHECK(cd_parse_stream("1.5.-/..", &cs) < 0);
		CHECK(cd_parse_stream("..", &cs) < 0);
	}

	/* streams: concurrent ones are separate; the same StreamSid is refused while live,
	 * continued inside the grace, and a new stream once the call has ended */
	{
		static const char *a = "MZ000000000000000000000000000000aa", *b = "MZ000000000000000000000000000000bb";
		struct cd_own o1, o2, o3;
		struct cd_call c;

		setenv("CALLPIPE_CALL_GRACE_SECONDS", "3600", 1);
		CHECK(cd_live(call) == 0);
		CHECK(cd_call_state(call, cd_wall_ms(), &c) == 0 && c.state == CD_NONE);
		CHECK(cd_stream_open(sid, a, &o1, &e) == 0 && o1.st.n == 1 && !o1.continued);
		CHECK(cd_stream_open(sid, b, &o2, &e) == 0 && o2.st.n == 2 && o2.call_start_ms == o1.st.start_ms);
		CHECK(cd_stream_open(sid, a, &o3, &e) == -1 && e.code == CP_EXIT_PERM);
		CHECK(cd_live(call) == 1);
		CHECK(cd_call_state(call, cd_wall_ms(), &c) == 0 && c.state == CD_LIVE && c.nstreams == 2 && c.nlive == 2);
		CHECK(cd_list(calls, 0, &v, &n) == 0 && n == 1 && strcmp(v[0].sid, sid) == 0 && v[0].nstreams == 2);
		free(v);
		CHECK(cd_stream_end(&o1, "call-ended") == 0);
		CHECK(cd_call_state(call, cd_wall_ms(), &c) == 0 && c.state == CD_LIVE && c.nlive == 1);
		CHECK(cd_stream_end(&o2, "transcription-failed") == 0);
		CHECK(cd_call_state(call, cd_wall_ms(), &c) == 0 && c.state == CD_GRACE &&
		    strcmp(c.reason, "transcription-failed") == 0);
		CHECK(cd_live(call) == 1);
		CHECK(cd_stream_open(sid, a, &o1, &e) == 0 && o1.st.n == 1 && o1.continued);
		CHECK(faccessat(o1.streamfd, CD_ENDED, F_OK, 0) < 0);
		usleep(30000); /* a later end than stream 2's (mtimes are coarse) */
		CHECK(cd_stream_end(&o1, "call-ended") == 0);
		setenv("CALLPIPE_CALL_GRACE_SECONDS", "0", 1);
		CHECK(cd_call_state(call, cd_wall_ms() + 1, &c) == 0 && c.state == CD_OVER &&
		    strcmp(c.reason, "call-ended") == 0);
		CHECK(cd_live(call) == 0);
		CHECK(cd_list(calls, 0, &v, &n) == 0 && n == 0);
		free(v);
		CHECK(cd_list(calls, 1, &v, &n) == 0 && n == 1 && v[0].nstreams == 2);
		free(v);
		CHECK(cd_stream_open(sid, a, &o1, &e) == 0 && o1.st.n == 3 && !o1.continued);
		CHECK(cd_stream_open(sid, "", &o2, &e) == 0 && o2.st.n == 4);
		CHECK(cd_stream_end(&o1, "call-ended") == 0 && cd_stream_end(&o2, "call-ended") == 0);
	}

	/* a crashed stream (lock released, no mark) is marked by the sweep; days 0 removes */
	{
		struct cd_swept sw;
		struct cd_own o1;

		CHECK(cd_stream_open(sid, "", &o1, &e) == 0 && o1.st.n == 5);
		close(o1.lockfd);
		close(o1.streamfd);
		close(o1.calldirfd);
		CHECK(cd_sweep(calls, 1, &sw) == 0 && sw.marked == 1 && sw.removed == 0);
		CHECK(cd_sweep(calls, 1, &sw) == 0 && sw.marked == 0);
		CHECK(cd_sweep(calls, 0, &sw) == 0 && sw.removed == 1);
		CHECK(faccessat(calls, sid, F_OK, 0) < 0);
		call = cd_open_call(calls, sid, 1, &e);
		CHECK(call >= 0);
	}

	/* subscriber slots */
	{
		int s1 = cd_slot(2, &e), s2 = cd_slot(2, &e);

		CHECK(s1 >= 0 && s2 >= 0);
		CHECK(cd_slot(2, &e) == -1 && e.code == CP_EXIT_NEG);
		close(s1);
		s1 = cd_slot(2, &e);
		CHECK(s1 >= 0);
		close(s1);
		close(s2);
	}

	/* a marker */
	CHECK(cd_mark(call, CD_ENDED, "x\n") == 0);
	fd = openat(call, CD_ENDED, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 2);
	close(fd);

	/* unsafe folders are refused */
	CHECK(mkdirat(call, "open", 0700) == 0 && fchmodat(call, "open", 0777, 0) == 0);
	CHECK(cd_open_dir(call, "open", 0, &e) == -1 && e.code == CP_EXIT_PERM);
	close(call);
	close(calls);
	CHECK(chmod(root, 0770) == 0);
	CHECK(cd_open_calls(0, &e) == -1 && e.code == CP_EXIT_PERM);
	CHECK(strstr(e.msg, "group- or world-writable") != NULL);

	snprintf(path, sizeof path, "rm -rf '%s'", tmpl);
	CHECK(system(path) == 0);
}

int
main(void)
{
	test_fanbuf();
	test_calldir();
	if (failures)
		fprintf(stderr, "test-calldir: %d failures\n", failures);
	return failures ? 1 : 0;
}
