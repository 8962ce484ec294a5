/* dgreplay.h: the replay buffer of deepgram-stream, as pure code (no I/O).
 *
 * The audio stream is numbered by absolute byte position. The buffer holds
 * bytes [start, end): everything since the audio that every channel has a
 * final result for (dgr_confirm), bounded by its capacity. A connection sends
 * from base (where it began) up to sent; a new connection (dgr_rewind) begins
 * again at start, so audio sent but not confirmed goes out once more and
 * nothing unconfirmed is lost.
 *
 * Invariants (dgr_check; tests/unit/test-dgreplay.c):
 *   start <= sent <= end, base <= sent, end - start <= cap, and all of them
 *   multiples of bpf except end (a partial sample frame may wait for the rest);
 *   sent_max >= sent is the furthest byte any connection sent or skipped;
 *   bytes are only forgotten from the front: by dgr_confirm (final results
 *   cover them) or by a full buffer (dgr_put, counted in dropped). */
#ifndef CP_DGREPLAY_H
#define CP_DGREPLAY_H
#include <stddef.h>
#include <stdint.h>

struct dgr {
	unsigned char *buf;
	size_t cap;         /* bytes, a multiple of bpf */
	size_t bpf;         /* bytes per sample frame, all channels */
	unsigned rate;      /* sample frames per second */
	uint64_t start;     /* oldest byte held */
	uint64_t base;      /* first byte of the current connection */
	uint64_t sent;      /* next byte the current connection sends */
	uint64_t end;       /* bytes received */
	uint64_t sent_max;  /* furthest byte any connection sent (or skipped) */
	uint64_t dropped;   /* forgotten unconfirmed: the buffer was full */
	uint64_t replayed;  /* bytes sent more than once */
	uint64_t fresh;     /* bytes sent (the first time) */
	int lost;           /* unsent audio forgotten since the last rewind */
};

/* cap_ms of audio (at least 4 frames of frame_bytes); -1: out of memory. */
int dgr_init(struct dgr *r, size_t bpf, unsigned rate, long cap_ms,
    size_t frame_bytes);
void dgr_free(struct dgr *r);

double dgr_secs(const struct dgr *r, uint64_t bytes);
int dgr_full(const struct dgr *r);
size_t dgr_room(const struct dgr *r);

/* Contiguous free space at the end (for a read(2) straight into it). */
unsigned char *dgr_wptr(const struct dgr *r, size_t *len);
void dgr_commit(struct dgr *r, size_t n);
/* Copies n bytes in; when full, forgets the oldest audio (whole frames) to
 * make room. Returns the bytes forgotten. */
uint64_t dgr_put(struct dgr *r, const unsigned char *p, size_t n);

/* The next piece to send: whole frames, contiguous, at most max bytes;
 * NULL if none. */
const unsigned char *dgr_next(const struct dgr *r, size_t max, size_t *len);
void dgr_sent(struct dgr *r, size_t n); /* n bytes of dgr_next went out */
uint64_t dgr_unsent(const struct dgr *r);

/* Every channel has final results up to secs of input: forget the audio
 * before it (never beyond what was sent). */
void dgr_confirm(struct dgr *r, double secs);

/* A new connection starts at start: returns its shift (seconds of input
 * before it). */
double dgr_rewind(struct dgr *r);

/* Drops a partial sample frame at the end of the input; returns its bytes. */
size_t dgr_trim_partial(struct dgr *r);

/* NULL when the invariants hold, else which one is broken. */
const char *dgr_check(const struct dgr *r);
#endif
