/* calldir.h: the call state on disk, shared by fanout, subscribe and later tools.
 *
 *   $CALLPIPE_DIR                  default ${XDG_STATE_HOME:-$HOME/.local/state}/callpipe
 *     calls/<CallSid>/             mode 0700; CallSid checked with cp_valid_sid(s, "CA") first
 *       start.json                 the start event (TWILIO_START), temp + rename
 *       log.jsonl                  transcript log, one message a line (mode 0600)
 *       subscribers/               subscriber FIFOs; names starting with '.' are ignored,
 *                                  names starting with "subscribe." carry a one-line header
 *       live.lock                  flock(2)ed by fanout for the life of the call; holds the
 *                                  start time (ISO 8601 UTC) as its first line
 *       ended                      end time (ISO 8601 UTC), temp + rename
 *
 * Every directory is opened with O_DIRECTORY and checked on the open descriptor: it must
 * be owned by the effective user and be neither group- nor world-writable. Everything
 * below the root is reached with openat(2) relative to those descriptors, O_NOFOLLOW. */
#ifndef CALLDIR_H
#define CALLDIR_H

#include <stddef.h>
#include <time.h>

#define CD_CALLS "calls"
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
#define CD_TIMELEN 32 /* room for "YYYY-MM-DDTHH:MM:SSZ" */

/* Why a call folder operation failed: code is CP_EXIT_NEG (does not exist),
 * CP_EXIT_PERM (unsafe or unusable: permanent) or CP_EXIT_TEMP (system call failed). */
struct cd_err {
	int code;
	char msg[600];
};

struct cd_call {
	char sid[CD_SIDLEN + 1];
	char started[CD_TIMELEN];
};

/* The root path ($CALLPIPE_DIR or the default) into buf; -1 (e filled) if none can be made. */
int cd_rootpath(char *buf, size_t n, struct cd_err *e);

/* Open $root/calls, creating root (and missing parents) and calls/ mode 0700 when create
 * is set. Returns a directory fd, or -1 with e filled (CP_EXIT_NEG: missing, !create). */
int cd_open_calls(int create, struct cd_err *e);

/* Open (and with create, make) a folder below dirfd: name is one path component. */
int cd_open_dir(int dirfd, const char *name, int create, struct cd_err *e);

/* Open calls/<sid>: refuses an invalid sid before building anything (CP_EXIT_PERM). */
int cd_open_call(int callsfd, const char *sid, int create, struct cd_err *e);

/* 1 if the call in calldirfd is live (live.lock held by someone), 0 if not, -1 on error. */
int cd_live(int calldirfd);

/* 1 if the call has an `ended` file. */
int cd_ended(int calldirfd);

/* The start time of a call (first line of live.lock, else its mtime) into buf. */
int cd_started(int calldirfd, char *buf, size_t n);

/* Live calls under callsfd, sorted by start time then CallSid; *v is malloc'ed. */
int cd_list(int callsfd, struct cd_call **v, size_t *n);

/* Write data to dirfd/name atomically: temp name, fsync if sync, rename (mode 0600). */
int cd_put(int dirfd, const char *name, const void *data, size_t len, int sync);

/* ISO 8601 UTC, "2024-05-01T12:34:56Z". */
void cd_isotime(time_t t, char *buf, size_t n);

#endif
