/* fanbuf.c: one subscriber's bounded output buffer (fanbuf.h), over a bq. */
#include <string.h>

#include "fanbuf.h"

void
fb_init(struct fanbuf *fb, size_t max)
{
	memset(fb, 0, sizeof *fb);
	bq_init(&fb->q);
	fb->max = max;
}

void
fb_free(struct fanbuf *fb)
{
	bq_free(&fb->q);
}

size_t
fb_len(const struct fanbuf *fb)
{
	return bq_len(&fb->q);
}

int
fb_push(struct fanbuf *fb, const char *line, size_t len)
{
	size_t used = bq_len(&fb->q), need;
	char *r;

	if (fb->closing)
		return FB_CLOSED;
	if (len > (size_t)-1 / 2)
		return FB_NOMEM;
	need = len + 1;
	if (used > 0 && (used > fb->max || need > fb->max - used)) {
		fb_cut(fb);
		return FB_FULL;
	}
	if ((r = bq_room(&fb->q, need)) == NULL)
		return FB_NOMEM;
	if (len)
		memcpy(r, line, len);
	r[len] = '\n';
	bq_commit(&fb->q, need);
	return FB_OK;
}

void
fb_cut(struct fanbuf *fb)
{
	size_t len;
	const char *p = bq_data(&fb->q, &len), *nl;

	fb->closing = 1;
	if (!fb->midline || len == 0) {
		bq_truncate(&fb->q, 0);
		return;
	}
	if ((nl = memchr(p, '\n', len)) != NULL)
		bq_truncate(&fb->q, (size_t)(nl - p) + 1);
}

const char *
fb_data(const struct fanbuf *fb, size_t *len)
{
	return bq_data(&fb->q, len);
}

void
fb_consume(struct fanbuf *fb, size_t n)
{
	size_t len;
	const char *p = bq_data(&fb->q, &len);

	if (n > len)
		n = len;
	if (n == 0)
		return;
	fb->midline = p[n - 1] != '\n';
	bq_consume(&fb->q, n);
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
	const char *p = bq_data(&fb->q, &len);
	ssize_t w;

	if (len == 0)
		return 0;
	w = bq_write(&fb->q, fd);
	if (w > 0) /* bq_write took them off; midline from what went */
		fb->midline = p[w - 1] != '\n';
	return w;
}
