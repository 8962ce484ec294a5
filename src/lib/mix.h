/* mix.h: the call mixer's alignment logic, a pure function over buffers (no I/O).
 *
 * Positions are in samples (8 kHz, so 8 per ms) from the start of the stream.
 * Each track keeps the samples from `written` (what has been handed out, the same for
 * every track) to its own `end`.
 *
 * mix_put(track, T, payload):
 *   p = 8*T - shift[track]
 *   if the track ends in lag-fill silence and p < end: the part of the chunk before
 *       end is for time already written: it is dropped (counted as late) and the rest
 *       is placed at end;
 *   else if p <= end: the chunk goes at end (overlap or late: appended, never dropped,
 *       never overwriting);
 *   else: the gap p - end is filled with 0xFF, but never more than max_gap samples:
 *       a longer jump is clamped to max_gap and shift[track] grows by the excess, so
 *       the track's later timestamps continue from where the clamped chunk went.
 * After each put, a track that is more than max_lag samples behind the furthest track
 * is filled with silence up to (furthest - max_lag), rounded down to a frame boundary;
 * that span is written at once and later audio for it is dropped (see above).
 * max_lag 0 means wait for ever, except that no track is held more than `hold` samples
 * ahead of another (a memory bound): past that, the same fill happens.
 *
 * Frames: mix_ready() is the number of samples per channel that every track has,
 * rounded down to whole frames; mix_read() interleaves them (channel 0 first).
 * mix_finish() pads every track with silence to the longest one and makes all of it
 * ready, including a last partial frame. */
#ifndef CP_MIX_H
#define CP_MIX_H
#include <stddef.h>
#include <stdint.h>

#define MIX_MAXTRACKS 2
#define MIX_RATE 8000
#define MIX_PER_MS 8

struct mix_opts {
	unsigned ntracks;   /* 1 or 2 */
	uint64_t frame;     /* samples per frame, >= 1 */
	uint64_t max_gap;   /* samples */
	uint64_t max_lag;   /* samples, 0 = never give up waiting (bounded by hold) */
	uint64_t hold;      /* samples, >= 1: most one track is held waiting for another */
};

struct mix_track {
	unsigned char *buf;
	size_t off, cap;    /* buf[off .. off + (end - written)) = samples [written, end) */
	uint64_t end;
	uint64_t shift;     /* samples removed from this track's clock by max-gap clamps */
	int fill;           /* the track ends in lag-fill silence that has been written */
	/* counters, in samples unless said otherwise */
	uint64_t chunks;    /* chunks placed (or dropped late as a whole) */
	uint64_t bytes;     /* payload bytes decoded */
	uint64_t gap;       /* silence inserted before chunks (after clamping) */
	uint64_t clamped;   /* gap not inserted because of max_gap */
	uint64_t lagfill;   /* silence written because the track lagged */
	uint64_t late;      /* audio dropped because its time was already written */
	uint64_t endpad;    /* silence added by mix_finish */
};

struct mix {
	struct mix_opts o;
	uint64_t written;   /* samples per channel handed out by mix_read */
	int finished;
	struct mix_track t[MIX_MAXTRACKS];
};

/* What one mix_put did, for the caller's warnings (samples). */
struct mix_put_info {
	uint64_t gap, clamped, late;
	uint64_t lagfill[MIX_MAXTRACKS];
};

enum { MIX_OK = 0, MIX_BADB64 = -1, MIX_NOMEM = -2, MIX_DONE = -3, MIX_BADTRACK = -4 };

int mix_init(struct mix *m, const struct mix_opts *o); /* 0 or -1 (bad options) */
void mix_free(struct mix *m);

/* Decodes the base64 payload straight into the track. MIX_BADB64: nothing changed. */
int mix_put(struct mix *m, unsigned track, uint64_t ts_ms, const char *b64, size_t len,
    struct mix_put_info *info);
/* The same with raw mu-law bytes (tests, tools that have bytes already). */
int mix_put_raw(struct mix *m, unsigned track, uint64_t ts_ms, const unsigned char *data,
    size_t len, struct mix_put_info *info);

uint64_t mix_ready(const struct mix *m);                     /* samples per channel */
void mix_read(struct mix *m, unsigned char *out, uint64_t n); /* n <= mix_ready; n*ntracks bytes */
int mix_finish(struct mix *m);                               /* MIX_OK or MIX_NOMEM */
#endif
