/* dgreplay.c: the replay buffer (see dgreplay.h). Pure: no I/O. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dgreplay.h"

int
dgr_init(struct dgr *r, size_t bpf, unsigned rate, long cap_ms,
    size_t frame_bytes)
{
	memset(r, 0, sizeof *r);
	r->bpf = bpf;
	r->rate = rate;
	r->cap = (size_t)((double)rate * (double)cap_ms / 1000) * bpf;
	if (r->cap < frame_bytes * 4)
		r->cap = frame_bytes * 4;
	r->cap -= r->cap % bpf;
	r->buf = malloc(r->cap);
	return r->buf == NULL ? -1 : 0;
}

void
dgr_free(struct dgr *r)
{
	free(r->buf);
	r->buf = NULL;
}

double
dgr_secs(const struct dgr *r, uint64_t bytes)
{
	return (double)bytes / ((double)r->bpf * r->rate);
}

int
dgr_full(const struct dgr *r)
{
	return r->end - r->start >= r->cap;
}

size_t
dgr_room(const struct dgr *r)
{
	return r->cap - (size_t)(r->end - r->start);
}

unsigned char *
dgr_wptr(const struct dgr *r, size_t *len)
{
	size_t idx = (size_t)(r->end % r->cap), k = r->cap - idx;
	size_t room = dgr_room(r);

	*len = k < room ? k : room;
	return r->buf + idx;
}

void
dgr_commit(struct dgr *r, size_t n)
{
	r->end += n;
}

/* Forgets the oldest n bytes (the buffer is full). */
static void
forget(struct dgr *r, uint64_t n)
{
	r->start += n;
	r->dropped += n;
	if (r->sent < r->start) {
		r->lost = 1; /* its times no longer fit its audio */
		r->sent = r->start;
	}
	if (r->sent_max < r->sent)
		r->sent_max = r->sent; /* skipped, never to be sent */
}

uint64_t
dgr_put(struct dgr *r, const unsigned char *p, size_t n)
{
	uint64_t gone = 0;

	while (n > 0) {
		size_t k;
		unsigned char *w;

		if (dgr_room(r) == 0) {
			uint64_t d = n < r->cap ? n : r->cap;

			d = (d + r->bpf - 1) / r->bpf * r->bpf;
			if (d > r->end - r->start)
				d = r->end - r->start;
			forget(r, d);
			gone += d;
			continue;
		}
		w = dgr_wptr(r, &k);
		if (k > n)
			k = n;
		memcpy(w, p, k);
		r->end += k;
		p += k;
		n -= k;
	}
	return gone;
}

const unsigned char *
dgr_next(const struct dgr *r, size_t max, size_t *len)
{
	uint64_t avail = r->end - r->sent;
	size_t idx = (size_t)(r->sent % r->cap), n;

	n = avail < max ? (size_t)avail : max;
	if (n > r->cap - idx)
		n = r->cap - idx; /* the rest comes next time */
	n -= n % r->bpf;
	*len = n;
	return n ? r->buf + idx : NULL;
}

void
dgr_sent(struct dgr *r, size_t n)
{
	uint64_t from = r->sent, to = r->sent + n;

	/* the part below sent_max went out before */
	if (r->sent_max > from)
		r->replayed += (to < r->sent_max ? to : r->sent_max) - from;
	if (to > r->sent_max)
		r->fresh += to - (from > r->sent_max ? from : r->sent_max);
	r->sent = to;
	if (to > r->sent_max)
		r->sent_max = to;
}

uint64_t
dgr_unsent(const struct dgr *r)
{
	uint64_t a = r->end - r->sent;

	return a - a % r->bpf;
}

void
dgr_confirm(struct dgr *r, double secs)
{
	uint64_t pos;

	if (!(secs > 0))
		return;
	if (secs > dgr_secs(r, r->sent))
		pos = r->sent;
	else
		pos = (uint64_t)floor(secs * r->rate + 1e-6) * r->bpf;
	if (pos > r->sent)
		pos = r->sent;
	if (pos > r->start)
		r->start = pos;
}

double
dgr_rewind(struct dgr *r)
{
	r->base = r->start;
	r->sent = r->start;
	r->lost = 0;
	return dgr_secs(r, r->base);
}

size_t
dgr_trim_partial(struct dgr *r)
{
	size_t k = (size_t)(r->end % r->bpf);

	r->end -= k;
	return k;
}

const char *
dgr_check(const struct dgr *r)
{
	if (!(r->start <= r->sent && r->base <= r->sent && r->sent <= r->end))
		return "start <= sent <= end, base <= sent";
	if (r->end - r->start > r->cap)
		return "end - start <= cap";
	if (r->start % r->bpf || r->base % r->bpf || r->sent % r->bpf)
		return "whole sample frames";
	if (r->sent_max < r->sent)
		return "sent_max >= sent";
	return NULL;
}
