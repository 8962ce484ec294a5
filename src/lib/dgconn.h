/* dgconn.h: deepgram-stream's connection as a state machine, in pure code: the
 * states, the transitions allowed between them, and the decisions the clock
 * drives (when to try again, when to give up, when a connection has stalled).
 * No I/O: the caller makes the handshakes and sends, and says what happened.
 *
 *   DOWN --dgc_connecting--> CONNECTING --dgc_up--> STREAMING
 *   STREAMING --dgc_closestream--> CLOSING --(the end: the caller exits)
 *   CONNECTING, STREAMING, CLOSING --dgc_down--> DOWN
 *
 * A transition from the wrong state returns -1 and changes nothing.
 * Failures: a refused handshake, and a connection that ends without progress
 * (no channel's final results moved: the caller's mark did not grow while it
 * was up), start or continue a run of failures; the run ends with progress.
 * dgc_down gives up (returns -1) once a run has lasted retry_for_ms. The delay
 * before the next attempt is 250 ms doubling to 8 s, with jitter, and starts
 * again at 250 ms after progress. */
#ifndef CP_DGCONN_H
#define CP_DGCONN_H
#include <stdint.h>

enum dgc_state { DGC_DOWN, DGC_CONNECTING, DGC_STREAMING, DGC_CLOSING };

#define DGC_BACKOFF_MIN_MS 250
#define DGC_BACKOFF_MAX_MS 8000

struct dgc {
	enum dgc_state state;
	int n;                  /* handshakes that succeeded */
	long retry_for_ms, stall_ms, close_ms;
	double mark;            /* the caller's progress mark when it opened */
	int64_t opened, last_send, last_progress, last_msg, cs_at;
	uint64_t out_seen;      /* bytes out at the last look (dgc_stalled) */
	int64_t next_attempt;   /* DOWN: when to try again */
	int64_t fail_since;     /* start of the run of failures, -1 if none */
	int backoff_n;
};

void dgc_init(struct dgc *c, long retry_for_ms, long stall_ms, long close_ms);

int dgc_due(const struct dgc *c, int64_t now);     /* DOWN and time to try */
int dgc_connecting(struct dgc *c);                 /* DOWN -> CONNECTING */
/* CONNECTING -> STREAMING; mark: the caller's progress mark now */
int dgc_up(struct dgc *c, int64_t now, double mark);
int dgc_closestream(struct dgc *c, int64_t now);   /* STREAMING -> CLOSING */
/* Any live state -> DOWN. mark: the progress mark now; rnd: a random number
 * for the jitter. Returns the delay (ms) before the next attempt, or -1 when
 * the run of failures has lasted retry_for_ms: give up. */
int64_t dgc_down(struct dgc *c, int64_t now, double mark, long rnd);

void dgc_sent(struct dgc *c, int64_t now);         /* audio or a control went */
void dgc_msg(struct dgc *c, int64_t now);          /* a message arrived */
/* STREAMING or CLOSING: has the peer stalled? busy: a frame waits to go out;
 * out: bytes written so far. Stalled = no byte out and no message in for
 * stall_ms while a frame waits, or (when stall_ms < close_ms) after
 * CloseStream. */
int dgc_stalled(struct dgc *c, int64_t now, int busy, uint64_t out);
/* CLOSING for close_ms: Deepgram did not finish. */
int dgc_close_expired(const struct dgc *c, int64_t now);
#endif
