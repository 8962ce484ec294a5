/* Tests for dgconn.c: the transitions allowed and refused, the backoff, giving up
 * after retry_for_ms of failures without progress (refusals and sessions that end
 * without a new final alike), a new run after progress, and stall detection. */
#include <stdio.h>

#include "dgconn.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, \
	"%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

static void
test_transitions(void)
{
	struct dgc c;

	dgc_init(&c, 60000, 10000, 10000);
	CHECK(c.state == DGC_DOWN && dgc_due(&c, 0));
	/* only DOWN -> CONNECTING -> STREAMING -> CLOSING */
	CHECK(dgc_up(&c, 0, 0) < 0 && c.state == DGC_DOWN);
	CHECK(dgc_closestream(&c, 0) < 0 && c.state == DGC_DOWN);
	CHECK(dgc_down(&c, 0, 0, 0) < 0 && c.state == DGC_DOWN);
	CHECK(dgc_connecting(&c) == 0 && c.state == DGC_CONNECTING);
	CHECK(dgc_connecting(&c) < 0 && !dgc_due(&c, 0));
	CHECK(dgc_closestream(&c, 0) < 0);
	CHECK(dgc_up(&c, 100, 0) == 0 && c.state == DGC_STREAMING && c.n == 1);
	CHECK(dgc_up(&c, 100, 0) < 0 && dgc_connecting(&c) < 0);
	CHECK(dgc_closestream(&c, 200) == 0 && c.state == DGC_CLOSING);
	CHECK(dgc_closestream(&c, 200) < 0);
	CHECK(!dgc_close_expired(&c, 10199) && dgc_close_expired(&c, 10200));
	/* a drop from CLOSING goes DOWN and schedules */
	CHECK(dgc_down(&c, 300, 0, 0) >= 0 && c.state == DGC_DOWN);
	CHECK(!dgc_close_expired(&c, 99999));
}

static void
test_backoff(void)
{
	struct dgc c;
	int64_t t, now = 0, want[] = { 250, 500, 1000, 2000, 4000, 8000, 8000 };
	int i;

	dgc_init(&c, 1000000, 10000, 10000);
	for (i = 0; i < 7; i++) {
		CHECK(dgc_connecting(&c) == 0);
		t = dgc_down(&c, now, 0, 0); /* refused: rnd 0, the lowest jitter */
		CHECK(t == want[i] / 2);
		CHECK(!dgc_due(&c, now + t - 1) && dgc_due(&c, now + t));
		now += t;
	}
	/* jitter stays within [t/2, t] */
	CHECK(dgc_connecting(&c) == 0);
	t = dgc_down(&c, now, 0, 1 << 30);
	CHECK(t >= 4000 && t <= 8000);
}

static void
test_giveup(void)
{
	struct dgc c;
	int64_t now = 0, t;
	int n = 0;

	/* a server that accepts and drops every connection without a final:
	 * each session is a failure; after 3 s of them, give up */
	dgc_init(&c, 3000, 10000, 10000);
	for (;;) {
		CHECK(dgc_connecting(&c) == 0);
		CHECK(dgc_up(&c, now, 5.0) == 0);
		now += 50;
		t = dgc_down(&c, now, 5.0, 0);
		if (t < 0)
			break;
		n++;
		now += t;
		CHECK(n < 20);
		if (n >= 20)
			break;
	}
	CHECK(n >= 3 && n <= 8 && now >= 3000);
	/* with progress (the mark grew), the run starts again */
	dgc_init(&c, 3000, 10000, 10000);
	for (n = 0; n < 50; n++) {
		CHECK(dgc_connecting(&c) == 0);
		CHECK(dgc_up(&c, now, n) == 0);
		now += 1000;
		t = dgc_down(&c, now, n + 1, 0);
		CHECK(t == 125); /* back to the first delay */
		CHECK(c.fail_since == now); /* the drop starts a new run */
		now += t;
	}
	/* a refusal after it: the second failure of that run */
	CHECK(dgc_connecting(&c) == 0);
	CHECK(dgc_down(&c, now, 0, 0) == 250);
	CHECK(c.fail_since == now - 125);
}

static void
test_stall(void)
{
	struct dgc c;

	dgc_init(&c, 60000, 2000, 10000);
	CHECK(!dgc_stalled(&c, 0, 1, 0)); /* not connected */
	CHECK(dgc_connecting(&c) == 0 && dgc_up(&c, 0, 0) == 0);
	CHECK(!dgc_stalled(&c, 5000, 0, 0)); /* nothing waits: quiet is fine */
	CHECK(!dgc_stalled(&c, 5000, 1, 100)); /* bytes moved just now */
	CHECK(!dgc_stalled(&c, 6999, 1, 100));
	CHECK(dgc_stalled(&c, 7000, 1, 100)); /* 2 s, a frame stuck, nothing in */
	dgc_msg(&c, 7000);
	CHECK(!dgc_stalled(&c, 8999, 1, 100)); /* a message counts as life */
	CHECK(dgc_stalled(&c, 9000, 1, 100));
	/* after CloseStream: silence for stall_ms is a stall (stall < close) */
	CHECK(dgc_closestream(&c, 10000) == 0);
	CHECK(!dgc_stalled(&c, 11999, 0, 100) && dgc_stalled(&c, 12000, 0, 100));
	/* unless close_ms is shorter: then close-timeout decides */
	dgc_init(&c, 60000, 10000, 2000);
	CHECK(dgc_connecting(&c) == 0 && dgc_up(&c, 0, 0) == 0);
	CHECK(dgc_closestream(&c, 0) == 0);
	CHECK(!dgc_stalled(&c, 50000, 1, 0) && dgc_close_expired(&c, 2000));
}

int
main(void)
{
	test_transitions();
	test_backoff();
	test_giveup();
	test_stall();
	if (failures)
		fprintf(stderr, "test-dgconn: %d failures\n", failures);
	return failures != 0;
}
