/* fanbuf.c: one subscriber's bounded output buffer (see fanbuf.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanbuf.h"

void
fb_init(struct fanbuf *fb, size_t max)
{
	memset(fb, 0, sizeof *fb);
	fb->max = max;
}

void
fb_free(struct fanbuf *fb)
{
	free(fb->buf);
	fb->buf = NULL;
	fb->start = fb->end = fb->cap = 0;
}

size_t
fb_len(const struct fanbuf *fb)
{
	return fb->end - fb->start;
}

int
fb_push(struct fanbuf *fb, const char *line, size_t len)
{
	size_t used = fb->end - fb->start, need;

	if (fb->closing)
		return FB_CLOSED;
	if (len > (size_t)-1 / 2)
		return FB_NOMEM;
	need = len + 1;
	if (used > 0 && (used > fb->max || need > fb->max - used)) {
		fb_cut(fb);
		return FB_FULL;
	}
	if (fb->cap - fb->end < need) {
		if (fb->start > 0) {
			memmove(fb->buf, fb->buf + fb->start, used);
			fb->start = 0;
			fb->end = used;
		}
		if (fb->cap - fb->end < need) {
			size_t ncap = fb->cap ? fb->cap : 4096;
			char *nb;

			while (ncap < used + need)
				ncap = ncap > (size_t)-1 / 2 ? used + need : ncap * 2;
			nb = realloc(fb->buf, ncap);
			if (nb == NULL)
				return FB_NOMEM;
			fb->buf = nb;
			fb->cap = ncap;
		}
	}
	if (len)
		memcpy(fb->buf + fb->end, line, len);
	fb->buf[fb->end + len] = '\n';
	fb->end += need;
	return FB_OK;
}

void
fb_cut(struct fanbuf *fb)
{
	char *nl;

	fb->closing = 1;
	if (!fb->midline || fb->start == fb->end) {
		fb->end = fb->start;
		return;
	}
	nl = memchr(fb->buf + fb->start, '\n', fb->end - fb->start);
	if (nl != NULL)
		fb->end = (size_t)(nl - fb->buf) + 1;
}

const char *
fb_data(const struct fanbuf *fb, size_t *len)
{
	*len = fb->end - fb->start;
	return fb->buf ? fb->buf + fb->start : "";
}

void
fb_consume(struct fanbuf *fb, size_t n)
{
	if (n > fb->end - fb->start)
		n = fb->end - fb->start;
	if (n == 0)
		return;
	fb->midline = fb->buf[fb->start + n - 1] != '\n';
	fb->start += n;
	if (fb->start == fb->end)
		fb->start = fb->end = 0;
}

size_t
fb_fan(struct fanbuf *const *v, size_t n, const char *line, size_t len)
{
	size_t i, full = 0;

	for (i = 0; i < n; i++) {
		if (v[i]->closing)
			continue;
		if (fb_push(v[i], line, len) != FB_OK) {
			fb_cut(v[i]);
			full++;
		}
	}
	return full;
}

ssize_t
fb_flush(struct fanbuf *fb, int fd)
{
	size_t len;
	const char *p = fb_data(fb, &len);
	ssize_t w;

	if (len == 0)
		return 0;
	do
		w = write(fd, p, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	fb_consume(fb, (size_t)w);
	return w;
}
