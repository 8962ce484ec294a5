/* bq.c: a byte queue (see bq.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bq.h"
#include "cp.h"

#define BQ_MINCAP 4096

void
bq_init(struct bq *q)
{
	memset(q, 0, sizeof *q);
}

void
bq_free(struct bq *q)
{
	free(q->buf);
	bq_init(q);
}

size_t
bq_len(const struct bq *q)
{
	return q->end - q->start;
}

char *
bq_room(struct bq *q, size_t n)
{
	size_t used = q->end - q->start, ncap;
	char *nb;

	if (q->cap - q->end >= n)
		return q->buf + q->end;
	if (q->start > 0) {
		memmove(q->buf, q->buf + q->start, used);
		q->start = 0;
		q->end = used;
		if (q->cap - q->end >= n)
			return q->buf + q->end;
	}
	if (n > (size_t)-1 / 2 - used)
		return NULL;
	for (ncap = q->cap ? q->cap : BQ_MINCAP; ncap < used + n; ncap *= 2)
		;
	if ((nb = realloc(q->buf, ncap)) == NULL)
		return NULL;
	q->buf = nb;
	q->cap = ncap;
	return q->buf + q->end;
}

void
bq_commit(struct bq *q, size_t n)
{
	q->end += n;
}

int
bq_push(struct bq *q, const void *p, size_t n)
{
	char *r;

	if (n == 0)
		return 0;
	if ((r = bq_room(q, n)) == NULL)
		return -1;
	memcpy(r, p, n);
	q->end += n;
	return 0;
}

const char *
bq_data(const struct bq *q, size_t *len)
{
	*len = q->end - q->start;
	return q->buf ? q->buf + q->start : "";
}

void
bq_consume(struct bq *q, size_t n)
{
	if (n > q->end - q->start)
		n = q->end - q->start;
	q->start += n;
	if (q->start == q->end)
		q->start = q->end = 0;
}

void
bq_truncate(struct bq *q, size_t n)
{
	if (n < q->end - q->start)
		q->end = q->start + n;
	if (q->start == q->end)
		q->start = q->end = 0;
}

ssize_t
bq_write(struct bq *q, int fd)
{
	size_t len;
	const char *p = bq_data(q, &len);
	ssize_t w;

	if (len == 0)
		return 0;
	do
		w = write(fd, p, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	bq_consume(q, (size_t)w);
	return w;
}

int
bq_flush(struct bq *q, int fd)
{
	size_t len;
	const char *p = bq_data(q, &len);

	if (len > 0 && cp_writeall(fd, p, len) == -1)
		return -1;
	q->start = q->end = 0;
	return 0;
}
