/* dgconn.c: the connection state machine (see dgconn.h). Pure: no I/O. */
#include "dgconn.h"

void
dgc_init(struct dgc *c, long retry_for_ms, long stall_ms, long close_ms)
{
	*c = (struct dgc){ .state = DGC_DOWN, .fail_since = -1,
	    .retry_for_ms = retry_for_ms, .stall_ms = stall_ms,
	    .close_ms = close_ms };
}

int
dgc_due(const struct dgc *c, int64_t now)
{
	return c->state == DGC_DOWN && now >= c->next_attempt;
}

int
dgc_connecting(struct dgc *c)
{
	if (c->state != DGC_DOWN)
		return -1;
	c->state = DGC_CONNECTING;
	return 0;
}

int
dgc_up(struct dgc *c, int64_t now, double mark)
{
	if (c->state != DGC_CONNECTING)
		return -1;
	c->state = DGC_STREAMING;
	c->n++;
	c->mark = mark;
	c->opened = c->last_send = c->last_progress = c->last_msg = now;
	c->out_seen = 0;
	return 0;
}

int
dgc_closestream(struct dgc *c, int64_t now)
{
	if (c->state != DGC_STREAMING)
		return -1;
	c->state = DGC_CLOSING;
	c->cs_at = c->last_progress = now;
	return 0;
}

int64_t
dgc_down(struct dgc *c, int64_t now, double mark, long rnd)
{
	int64_t t;

	if (c->state == DGC_DOWN)
		return -1;
	if (c->state != DGC_CONNECTING && mark > c->mark + 1e-9) {
		c->fail_since = -1; /* it made progress: a new run */
		c->backoff_n = 0;
	}
	c->state = DGC_DOWN;
	if (c->fail_since < 0)
		c->fail_since = now;
	if (now - c->fail_since >= c->retry_for_ms)
		return -1;
	t = (int64_t)DGC_BACKOFF_MIN_MS << (c->backoff_n < 6 ? c->backoff_n : 6);
	if (t > DGC_BACKOFF_MAX_MS)
		t = DGC_BACKOFF_MAX_MS;
	c->backoff_n++;
	t = t / 2 + (rnd < 0 ? -rnd : rnd) % (t / 2 + 1); /* jitter */
	c->next_attempt = now + t;
	return t;
}

void
dgc_sent(struct dgc *c, int64_t now)
{
	c->last_send = now;
}

void
dgc_msg(struct dgc *c, int64_t now)
{
	c->last_msg = now;
}

int
dgc_stalled(struct dgc *c, int64_t now, int busy, uint64_t out)
{
	int64_t last;

	if (c->state != DGC_STREAMING && c->state != DGC_CLOSING)
		return 0;
	if (out != c->out_seen) {
		c->out_seen = out;
		c->last_progress = now;
	}
	if (c->state == DGC_STREAMING && !busy)
		return 0; /* nothing waits to go out, and nothing is owed yet */
	if (c->state == DGC_CLOSING && c->stall_ms >= c->close_ms)
		return 0; /* close_ms decides */
	last = c->last_progress > c->last_msg ? c->last_progress : c->last_msg;
	return now - last >= c->stall_ms;
}

int
dgc_close_expired(const struct dgc *c, int64_t now)
{
	return c->state == DGC_CLOSING && now - c->cs_at >= c->close_ms;
}
