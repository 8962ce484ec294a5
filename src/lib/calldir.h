/* calldir.h: the call state on disk, the one place its rules live (fanout, subscribe,
 * callstate; shell asks callstate(1)).
 *
 *   $CALLPIPE_DIR                default ${XDG_STATE_HOME:-$HOME/.local/state}/callpipe
 *     slots/<i>                  subscriber slots: flock(2)ed by a subscribe -i for its life
 *     calls/<CallSid>/           mode 0700; CallSid checked with cp_valid_sid(s, "CA") first
 *       lock                     flock(2)ed while a stream is added or the call is removed
 *       streams/<N>.<ms>.<sid>/  one stream: N = 1, 2, ... in start order, ms = its start
 *                                (Unix milliseconds), sid = its StreamSid or "-"; the name is
 *                                the stream's identity, so making it is the only write needed
 *         start.json             the start event (TWILIO_START), best effort
 *         log.jsonl              transcript log, one annotated message a line (mode 0600)
 *         subscribers/           subscriber FIFOs; names starting with '.' are ignored,
 *                                names starting with "subscribe." get a header line first
 *         live.lock              empty; flock(2)ed (LOCK_EX) by fanout while it serves the
 *                                stream: liveness needs no data written, and dies with it
 *         ended                  "<reason>\n" (empty on a full disk); its mtime is the end
 *
 * A call is live while one of its streams is, and for CALLPIPE_CALL_GRACE_SECONDS
 * (default 5) after the last one ended; then it has ended. A stream whose lock nobody
 * holds and that has no ended mark crashed: it counts as ended at its last sign of life
 * (live.lock or log.jsonl mtime), so a stage restarted within the grace continues it.
 * A fanout for a StreamSid the call already has continues that stream while the call is
 * live; any other stream, and any stream of an ended call, gets a new folder.
 *
 * Every directory is opened with O_DIRECTORY and checked on the open descriptor: it must
 * be owned by the effective user and be neither group- nor world-writable. Everything
 * below the root is reached with openat(2) relative to those descriptors, O_NOFOLLOW. */
#ifndef CALLDIR_H
#define CALLDIR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CD_CALLS "calls"
#define CD_SLOTS "slots"
#define CD_CALLLOCK "lock"
#define CD_STREAMS "streams"
#define CD_START "start.json"
#define CD_LOG "log.jsonl"
#define CD_SUBS "subscribers"
#define CD_LOCK "live.lock"
#define CD_ENDED "ended"

/* FIFOs whose name starts with this get the header line from fanout first. */
#define CD_SUBPREFIX "subscribe."
/* The header: CD_HDR_PRE <decimal log byte offset> CD_HDR_POST, then '\n'. */
#define CD_HDR_PRE "{\"type\":\"callpipe.fanout\",\"log_offset\":"
#define CD_HDR_POST "}"

#define CD_SIDLEN 34
#define CD_TIMELEN 32       /* room for "YYYY-MM-DDTHH:MM:SSZ" */
#define CD_NAMELEN 64       /* a stream folder's name */
#define CD_REASONLEN 32
#define CD_MAXSTREAMS 64    /* streams per call */
#define CD_ENDED_MAX 50     /* ended calls in a listing */

/* Why a call folder operation failed: code is CP_EXIT_NEG (does not exist),
 * CP_EXIT_PERM (unsafe or unusable: permanent) or CP_EXIT_TEMP (system call failed). */
struct cd_err {
	int code;
	char msg[600];
};

/* One stream of a call, as found on disk. */
struct cd_stream {
	char name[CD_NAMELEN];
	unsigned n;              /* 1, 2, ... in start order */
	int64_t start_ms;        /* Unix milliseconds */
	char ssid[CD_SIDLEN + 1]; /* StreamSid, "" if none */
	int live;                /* fanout holds live.lock */
	int ended;               /* has an ended mark */
	int64_t end_ms;          /* ended: the mark's mtime; crashed: last sign of life */
	char reason[CD_REASONLEN]; /* from the ended mark, "" if none */
};

enum { CD_NONE, CD_LIVE, CD_GRACE, CD_OVER };

/* A call, summed up from its streams. */
struct cd_call {
	char sid[CD_SIDLEN + 1];
	int state;               /* CD_NONE (no stream yet), CD_LIVE, CD_GRACE, CD_OVER */
	unsigned nstreams, nlive;
	int64_t start_ms;        /* the first stream's start */
	int64_t end_ms;          /* the last stream's end (not live) */
	char reason[CD_REASONLEN]; /* CD_OVER: call-ended or transcription-failed */
	char started[CD_TIMELEN], ended[CD_TIMELEN];
};

/* The root path ($CALLPIPE_DIR or the default) into buf; -1 (e filled) if none can be made. */
int cd_rootpath(char *buf, size_t n, struct cd_err *e);

/* Open $root (with create, made mode 0700 with its parents) checked. */
int cd_open_root(int create, struct cd_err *e);

/* Open $root/calls, creating root (and missing parents) and calls/ mode 0700 when create
 * is set. Returns a directory fd, or -1 with e filled (CP_EXIT_NEG: missing, !create). */
int cd_open_calls(int create, struct cd_err *e);

/* Open (and with create, make) a folder below dirfd: name is one path component. */
int cd_open_dir(int dirfd, const char *name, int create, struct cd_err *e);

/* Open calls/<sid>: refuses an invalid sid before building anything (CP_EXIT_PERM). */
int cd_open_call(int callsfd, const char *sid, int create, struct cd_err *e);

/* CALLPIPE_CALL_GRACE_SECONDS (default 5, 0..3600) in milliseconds. */
int64_t cd_grace_ms(void);

/* Unix milliseconds now. */
int64_t cd_wall_ms(void);

/* Parse a stream folder name; 0 if it is one. */
int cd_parse_stream(const char *name, struct cd_stream *s);

/* The streams of a call, sorted by N, at most max; liveness and ends filled in. */
int cd_streams(int calldirfd, struct cd_stream *v, size_t max, size_t *n);

/* Fill in live, ended, end_ms and reason of stream s (folder fd sfd). */
void cd_stream_state(int sfd, struct cd_stream *s);

/* The call's state at now_ms (grace from cd_grace_ms()); 0, or -1 on error. */
int cd_call_state(int calldirfd, int64_t now_ms, struct cd_call *c);

/* 1 if the call is live (a live stream, or inside the grace), 0 if not, -1 on error. */
int cd_live(int calldirfd);

/* Calls under callsfd: live (CD_LIVE and CD_GRACE, by start time then CallSid) when
 * over is 0; else those that have ended, newest end first, at most CD_ENDED_MAX.
 * *v is malloc'ed. */
int cd_list(int callsfd, int over, struct cd_call **v, size_t *n);

/* The first stream's start.json "customParameters" as compact JSON into buf ("{}" when
 * none, or when it does not fit). */
void cd_params(int calldirfd, char *buf, size_t n);

/* A stream that fanout serves: made or continued under the call's lock, live.lock held. */
struct cd_own {
	int calldirfd, streamfd, lockfd;
	struct cd_stream st;
	int64_t call_start_ms;   /* the call's first stream's start */
	int continued;           /* a stream of this StreamSid was continued */
};

/* Open (make or continue) the stream ssid ("" for none: always a new one) of call sid,
 * and take its live.lock. Returns 0, or -1 with e filled (PERM: invalid, or the same
 * stream is live already; TEMP: a system call failed). */
int cd_stream_open(const char *sid, const char *ssid, struct cd_own *o, struct cd_err *e);

/* End the stream: ended mark with reason (best effort: -1 if its text could not be
 * written; the mark still exists when it could be made), then let go of the lock. */
int cd_stream_end(struct cd_own *o, const char *reason);

/* A marker file: temp name, write text (best effort), rename. 0; 1 if made without its
 * text (disk full); -1 if not made. */
int cd_mark(int dirfd, const char *name, const char *text);

/* Write data to dirfd/name atomically: temp name, fsync if sync, rename (mode 0600). */
int cd_put(int dirfd, const char *name, const void *data, size_t len, int sync);

/* What cd_sweep did. */
struct cd_swept {
	unsigned marked, removed, failed;
};

/* Mark crashed streams of calls that have ended (grace over) ended ("crashed"), and
 * remove calls that ended more than days ago (days 0: every ended call). */
int cd_sweep(int callsfd, unsigned days, struct cd_swept *r);

/* CALLPIPE_RETAIN_DAYS (default 7, 0..36500). */
unsigned cd_retain_days(void);

/* Take one of max subscriber slots ($root/slots/0 .. max-1, flock): the fd to keep open
 * for as long as the slot is held; -1 with e->code CP_EXIT_NEG when all are taken. */
int cd_slot(unsigned max, struct cd_err *e);

/* ISO 8601 UTC, "2024-05-01T12:34:56Z". */
void cd_isotime(time_t t, char *buf, size_t n);

#endif
