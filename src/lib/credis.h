/* credis.h: callpipe's data in Redis, shared by callpipe-publish and
 * callpipe-follow.
 *
 *   callpipe:call:<CallSid>   Stream, one entry per event of the call, MAXLEN ~
 * N: k=s s=<StreamSid> h=<host> start=<start JSON>     a stream started k=m
 * s=<StreamSid> p=<run> q=<seq> m=<line>         one message, annotated by
 * fanout; (s,p,q) lets a reader drop a resend k=e s=<StreamSid> r=<reason> a
 * stream ended k=E r=<reason> [x=<error>]                         the call
 * ended (written by a sweep) callpipe:info:<CallSid>   Hash: started, params
 * (JSON), streams, host, nlive, live:<StreamSid> (one per live stream), reason,
 * error, ended callpipe:live             Sorted set: CallSid -> live-until (ms,
 * Redis clock). Heartbeats push it forward; the last stream's end sets it to
 * end + grace; a sweep ends whatever has passed. callpipe:ended Sorted set:
 * CallSid -> end time (ms), trimmed. Stream and hash expire
 * CALLPIPE_RETAIN_DAYS after their last write. */
#ifndef CREDIS_H
#define CREDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#define CR_LIVE "callpipe:live"
#define CR_ENDED "callpipe:ended"
#define CR_CALL "callpipe:call:"
#define CR_INFO "callpipe:info:"
#define CR_ENDED_KEEP 1000 /* ended calls remembered in callpipe:ended */
#define CR_KEYMAX 64

struct rurl {
	char host[256];
	char path[108]; /* unix socket, else "" */
	char user[128];
	char pass[256];
	int port;
	int db;
	char shown[400]; /* for log lines: never the password */
};

/* Parse redis://[user:password@]host[:port][/db] or unix:///path[?db=N].
 * 0, or -1 with a one-line reason in err. */
int cr_parse(const char *s, struct rurl *u, char *err, size_t n);

/* A context (blocking with a timeout, or non-blocking: connect in progress);
 * NULL when none could be made. The caller checks c->err. */
redisContext *cr_connect(const struct rurl *u, int nonblock, int timeout_ms);

/* Append AUTH and SELECT as the URL needs; returns how many commands were
 * appended. */
int cr_appendlogin(redisContext *c, const struct rurl *u);

/* Blocking: connect, log in; NULL with a reason (never the password) in err,
 * and *refused set when Redis refused the login (retrying will not help). */
redisContext *cr_open(
    const struct rurl *u, int timeout_ms, char *err, size_t n, int *refused);

void cr_key(char *buf, const char *prefix, const char *sid);

/* Retention from CALLPIPE_RETAIN_DAYS (default 7) in seconds; -1 if malformed.
 */
long long cr_retain(void);

/* Lua scripts; arguments are documented at each one in credis.c. */
extern const char cr_lua_register[], cr_lua_heartbeat[], cr_lua_end[],
    cr_lua_sweep[];

/* Run the sweep now (blocking context): 0 or -1. */
int cr_sweep(redisContext *c, long long retain);

#endif
