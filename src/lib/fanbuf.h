/* fanbuf.h: one subscriber's bounded output buffer, for fanout(1). Pure apart
 * from fb_flush: lines go in whole (line + '\n'), bytes leave as the reader
 * takes them.
 *
 * Bound: a line is refused (FB_FULL) when the buffer is not empty and holding
 * it would put more than max bytes in the buffer; an empty buffer takes any one
 * line. So a subscriber that keeps up can always take the longest line, and one
 * buffer never holds more than max + longest line + 1 bytes.
 *
 * Whole or nothing: after FB_FULL the buffer keeps only the rest of the line it
 * was in the middle of writing (fb_cut), so a reader that is closed on
 * afterwards sees whole lines and then EOF. */
#ifndef FANBUF_H
#define FANBUF_H

#include <stddef.h>
#include <sys/types.h>

#include "bq.h"

struct fanbuf {
	struct bq q;
	size_t max;
	int midline; /* the bytes before start ended inside a line */
	int closing; /* overflowed: nothing more goes in */
};

enum { FB_OK = 0, FB_FULL = -1, FB_NOMEM = -2, FB_CLOSED = -3 };

void fb_init(struct fanbuf *fb, size_t max);
void fb_free(struct fanbuf *fb);
size_t fb_len(const struct fanbuf *fb);

/* Queue line (len bytes, no '\n' inside) followed by '\n'. FB_FULL means the
 * subscriber fell behind: the buffer has been cut (fb_cut) and closing is
 * set. */
int fb_push(struct fanbuf *fb, const char *line, size_t len);

/* Keep only the rest of a partly written line; nothing more goes in. */
void fb_cut(struct fanbuf *fb);

/* Pending bytes, and marking n of them as written. */
const char *fb_data(const struct fanbuf *fb, size_t *len);
void fb_consume(struct fanbuf *fb, size_t n);

/* Queue one line to every buffer in v that is not closing; returns how many
 * became full by it (those are now closing). */
size_t fb_fan(struct fanbuf *const *v, size_t n, const char *line, size_t len);

/* One non-blocking write of pending bytes to fd: bytes written (0 when the
 * reader is full: EAGAIN), or -1 with errno (EPIPE: the reader is gone). */
ssize_t fb_flush(struct fanbuf *fb, int fd);

#endif
