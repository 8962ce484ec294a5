/* remote.h: subscribe's remote form: follow a call (or list the calls) of a
 * callpipe server through its /client WebSocket endpoint, printing what the
 * local form prints.
 *
 *	struct remote_opts o = { .url = "ws://host:8080", .token = tok,
 *	                         .sid = sid, .history = 1, .wait = -1 };
 *	exit(remote_run(&o));
 *
 * The token travels as "Authorization: Bearer", never in the URL (so never in
 * a server log line) and never in a message of ours. */
#ifndef CP_REMOTE_H
#define CP_REMOTE_H
#include <stddef.h>

struct remote_opts {
	const char *url;    /* ws[s]://host[:port][/path]; no path = /client */
	const char *token;  /* client token, or NULL (CALLPIPE_CLIENT_TOKEN) */
	const char *sid;    /* CallSid to follow, or NULL to list the calls */
	const char *cafile; /* private CA for wss://, or NULL */
	int history;        /* replay the call so far first (history=1) */
	int wait;           /* seconds to wait for a call not live yet (wait=N);
	                     * -1 = the server's default */
	int json;           /* list: the calls message as JSON (subscribe -j) */
};

/* Run to the end; returns the exit code (0 the call ended, 1 a negative
 * answer or an end other than call-ended, 100 refused for good, 111 try
 * again). Writes one-line messages on stderr; dies only on a failed stdout. */
int remote_run(const struct remote_opts *o);

/* The /client URL for o (query from sid, history, wait), in buf of size n.
 * 0, or -1 with a reason in *why (a bad --url). Pure: unit-testable. */
int remote_url(const struct remote_opts *o, char *buf, size_t n,
    const char **why);

/* Exit code for a callpipe.end reason (unknown reasons: 1). */
int remote_reason_code(const char *reason);

#endif
