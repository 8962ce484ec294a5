/* linebuf.c: bounded line reader. Memory is max + one read chunk, whatever comes in. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"
#include "linebuf.h"

#define LB_CHUNK 65536

int
lb_init(struct linebuf *lb, int fd, size_t max)
{
	memset(lb, 0, sizeof *lb);
	lb->fd = fd;
	lb->max = max;
	lb->cap = max + 2 + LB_CHUNK;
	lb->buf = malloc(lb->cap);
	return lb->buf ? 0 : -1;
}

void
lb_free(struct linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
}

int
lb_fill(struct linebuf *lb)
{
	ssize_t r;

	if (lb->start > 0 && (lb->start == lb->end || lb->cap - 1 - lb->end < LB_CHUNK)) {
		memmove(lb->buf, lb->buf + lb->start, lb->end - lb->start);
		lb->end -= lb->start;
		lb->start = 0;
	}
	do
		r = read(lb->fd, lb->buf + lb->end, lb->cap - 1 - lb->end);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? LR_AGAIN : LR_ERR;
	if (r == 0) {
		lb->eof = 1;
		return 0;
	}
	lb->end += (size_t)r;
	return (int)(r > 0x7fffffff ? 0x7fffffff : r);
}

int
lb_next(struct linebuf *lb, char **line, size_t *len)
{
	char *p;
	size_t n;

	for (;;) {
		n = lb->end - lb->start;
		p = n ? memchr(lb->buf + lb->start, '\n', n) : NULL;
		if (p != NULL) {
			size_t l = (size_t)(p - (lb->buf + lb->start));
			char *s = lb->buf + lb->start;

			lb->start += l + 1;
			if (lb->discarding) {
				lb->discarding = 0;
				continue;
			}
			if (l > lb->max) {
				lb->toolong++;
				return LR_TOOLONG;
			}
			*p = '\0';
			*line = s;
			*len = l;
			lb->lines++;
			return LR_LINE;
		}
		if (lb->discarding) {
			lb->start = lb->end = 0;
			return lb->eof ? LR_EOF : LR_AGAIN;
		}
		if (n > lb->max) {
			lb->start = lb->end = 0;
			lb->discarding = !lb->eof;
			lb->toolong++;
			return LR_TOOLONG;
		}
		if (lb->eof) {
			if (n == 0)
				return LR_EOF;
			*line = lb->buf + lb->start;
			(*line)[n] = '\0';
			*len = n;
			lb->start = lb->end;
			lb->lines++;
			return LR_LINE;
		}
		return LR_AGAIN;
	}
}

int
lb_getline(struct linebuf *lb, char **line, size_t *len)
{
	int r;

	for (;;) {
		r = lb_next(lb, line, len);
		if (r != LR_AGAIN)
			return r;
		r = lb_fill(lb);
		if (r < 0)
			return r;
	}
}
