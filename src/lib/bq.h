/* bq.h: a byte queue. Bytes go in at the end and leave from the front, as a
 * reader (or a blocking write) takes them; the buffer grows on demand and moves
 * what is pending to its front before it grows. Bounds are the caller's
 * (bq_len). Used by fanbuf (one subscriber's lines) and twilio-capture
 * (stdout). */
#ifndef CP_BQ_H
#define CP_BQ_H
#include <stddef.h>
#include <sys/types.h>

struct bq {
	char *buf;
	size_t start, end, cap;
};

void bq_init(struct bq *q);
void bq_free(struct bq *q);
size_t bq_len(const struct bq *q);
/* Room for n more bytes at the end: a pointer to it, or NULL (out of memory);
 * bq_commit(q, k) then adds the first k of them to the queue. */
char *bq_room(struct bq *q, size_t n);
void bq_commit(struct bq *q, size_t n);
/* 0, or -1: out of memory */
int bq_push(struct bq *q, const void *p, size_t n);
/* The pending bytes, and taking n of them off the front. */
const char *bq_data(const struct bq *q, size_t *len);
void bq_consume(struct bq *q, size_t n);
/* Keep only the first n pending bytes. */
void bq_truncate(struct bq *q, size_t n);
/* One write(2) of pending bytes (for a non-blocking fd): bytes written, 0 if
 * the fd would block, -1 with errno (EPIPE: the reader is gone). */
ssize_t bq_write(struct bq *q, int fd);
/* Everything pending, with cp_writeall (blocking fd): 0, or -1 with errno. */
int bq_flush(struct bq *q, int fd);
#endif
