/* remote.c: subscribe --url: the /client protocol from the client's side
 * (remote.h). One connection; the first message is the calls list, then
 * (following a call) every message of the call is printed, one a line, up to
 * and including callpipe.end. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cp.h"
#include "netfail.h"
#include "remote.h"
#include "wsc.h"

#define URLMAX 1024
#define TOKENMAX 256
#define MSGMAX (8 << 20) /* as the local form: fanout's longest line */
#define CLOSE_MS 1000

struct remote {
	const struct remote_opts *o;
	struct wsc *w;
	int sigfd;
	int gotlist;            /* the first message (the calls list) came */
	int done;               /* an end, or the list printed: stop reading */
	int code;               /* exit code once done */
	unsigned long skipped;  /* messages left out: too long */
	unsigned long binary;   /* messages left out: binary (text expected) */
};

/* the reasons of contracts' callpipe.end, and what each means for a script */
static const struct {
	const char *reason;
	int code;
} reasons[] = {
	{ "call-ended", CP_EXIT_OK },
	{ "too-slow", CP_EXIT_NEG },
	{ "server-stopping", CP_EXIT_TEMP },
	{ "unknown-call", CP_EXIT_NEG },
	{ "unauthorized", CP_EXIT_PERM },
	{ "bad-request", CP_EXIT_PERM },
	{ "timeout", CP_EXIT_NEG },
	{ "busy", CP_EXIT_TEMP },
	{ "transcription-failed", CP_EXIT_NEG },
};

int
remote_reason_code(const char *reason)
{
	size_t i;

	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(reason, reasons[i].reason) == 0)
			return reasons[i].code;
	return CP_EXIT_NEG;
}

/* no spaces, controls or quotes; no userinfo (a secret goes in --token), no
 * query */
static const char *
check_base(const char *u)
{
	const char *host, *p;

	if (strncmp(u, "ws://", 5) == 0)
		host = u + 5;
	else if (strncmp(u, "wss://", 6) == 0)
		host = u + 6;
	else
		return "want ws:// or wss://";
	if (strlen(u) > URLMAX - 128)
		return "too long";
	if (*host == '\0' || *host == '/')
		return "no host";
	for (p = u; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 127 || c == '"' || c == '\\')
			return "control, space or non-ASCII character";
		if (*p == '?' || *p == '#')
			return "no query or fragment: "
			    "the CallSid is an argument";
	}
	p = strchr(host, '/');
	if (memchr(host, '@', p ? (size_t)(p - host) : strlen(host)) != NULL)
		return "credentials in the URL: use --token";
	return NULL;
}

int
remote_url(const struct remote_opts *o, char *buf, size_t n, const char **why)
{
	const char *host = strstr(o->url, "://"), *path;
	size_t len;
	int k;

	if ((*why = check_base(o->url)) != NULL)
		return -1;
	path = strchr(host + 3, '/');
	len = strlen(o->url);
	if (path == NULL || strcmp(path, "/") == 0)
		k = snprintf(buf, n, "%.*s/client",
		    (int)(path ? len - 1 : len), o->url);
	else
		k = snprintf(buf, n, "%s", o->url);
	if (k > 0 && (size_t)k < n && o->sid != NULL)
		k += snprintf(buf + k, n - (size_t)k, "?callsid=%s%s", o->sid,
		    o->history ? "&history=1" : "");
	if (k > 0 && (size_t)k < n && o->sid != NULL && o->wait >= 0)
		k += snprintf(buf + k, n - (size_t)k, "&wait=%d", o->wait);
	if (k < 0 || (size_t)k >= n) {
		*why = "too long";
		return -1;
	}
	return 0;
}

static void
out(const char *p, size_t n)
{
	if (cp_writeall(1, p, n) < 0 || cp_writeall(1, "\n", 1) < 0) {
		if (errno == EPIPE)
			exit(CP_EXIT_OK);
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
	}
}

/* a server's text for a log line: printable ASCII only, bounded */
static void
clean(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < n; i++)
		buf[i] = s[i] >= ' ' && s[i] < 127 ? s[i] : '?';
	buf[i] = '\0';
}

static int
tick(void *arg)
{
	struct remote *r = arg;
	struct pollfd p = { r->sigfd, POLLIN, 0 };

	return poll(&p, 1, 0) > 0 && cp_sigread(r->sigfd) != 0;
}

/* a refused or failed handshake: what it means, in the exit-code table
 * (netfail.h: the same answer as every tool that connects) */
static int
refused(struct remote *r, int rc, const char *url)
{
	long st = wsc_http_status(r->w);
	int code;

	if (rc == WSC_EABORT)
		return CP_EXIT_OK; /* a signal during the handshake */
	if (rc == WSC_EREFUSED) {
		code = netfail_http(st);
		cp_warn("%s %.300s: HTTP %ld%s", code == CP_EXIT_TEMP ?
		    "unable to connect to" : "refused by", url, st,
		    st == 401 || st == 403 ? " (check --token)" : "");
		return code;
	}
	if (rc == WSC_ETIMEOUT) {
		cp_warn("unable to connect to %.300s: timed out", url);
		return CP_EXIT_TEMP;
	}
	code = netfail_wsc(wsc_failclass(r->w));
	cp_warn("unable to connect to %.300s: %s (%s)", url, wsc_errmsg(r->w),
	    netfail_name(code));
	return code;
}

static int
connect_ws(struct remote *r, const char *url)
{
	static char auth[TOKENMAX + 32];
	const char *hdrs[2] = { NULL, NULL };
	struct wsc_opts wo;
	int rc;

	if (r->o->token != NULL) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s",
		    r->o->token);
		hdrs[0] = auth;
	}
	memset(&wo, 0, sizeof wo);
	wo.url = url;
	wo.headers = hdrs;
	wo.timeout_ms = 10000;
	wo.max_msg = MSGMAX;
	wo.tick = tick;
	wo.tick_arg = r;
	wo.cafile = r->o->cafile;
	r->w = wsc_new(&wo);
	if (r->w == NULL)
		cp_die(CP_EXIT_TEMP, "unable to connect: out of memory");
	rc = wsc_connect(r->w);
	explicit_bzero(auth, sizeof auth);
	return rc == WSC_OK ? 0 : refused(r, rc, url);
}

/* list mode: the calls message as subscribe prints it (-j: as is; else one
 * call a line) */
static void
print_list(struct remote *r, const cJSON *j, const char *data, size_t len)
{
	const cJSON *c, *calls = cJSON_GetObjectItemCaseSensitive(j, "calls");
	char line[160];

	r->done = 1;
	if (r->o->json) {
		out(data, len);
		return;
	}
	cJSON_ArrayForEach(c, calls) {
		const cJSON *sid, *st, *ns;
		int k;

		sid = cJSON_GetObjectItemCaseSensitive(c, "callSid");
		st = cJSON_GetObjectItemCaseSensitive(c, "started");
		ns = cJSON_GetObjectItemCaseSensitive(c, "streams");
		if (!cJSON_IsString(sid) ||
		    !cp_valid_sid(sid->valuestring, "CA"))
			continue;
		k = snprintf(line, sizeof line, "%s %.64s", sid->valuestring,
		    cJSON_IsString(st) ? st->valuestring : "?");
		if (cJSON_IsNumber(ns) && ns->valuedouble >= 0 &&
		    ns->valuedouble < 1e6) /* "CallSid started streams" */
			k += snprintf(line + k, sizeof line - (size_t)k, " %u",
			    (unsigned)ns->valuedouble);
		out(line, (size_t)k);
	}
}

/* callpipe.end (or the {"type":"error"} of servers before it): the last
 * message */
static void
end(struct remote *r, const cJSON *j, const char *type)
{
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "reason");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	char reason[64], detail[200];

	const char *who = r->o->sid ? r->o->sid : "calls list";

	clean(cJSON_IsString(why) ? why->valuestring : "", reason,
	    sizeof reason);
	clean(cJSON_IsString(err) ? err->valuestring : "", detail,
	    sizeof detail);
	r->done = 1;
	if (strcmp(type, "error") == 0) {
		r->code = strncmp(detail, "unauthorized", 12) == 0 ?
		    CP_EXIT_PERM : CP_EXIT_NEG;
		cp_warn("%s: %s", who, detail);
		return;
	}
	r->code = remote_reason_code(reason);
	if (r->code != CP_EXIT_OK)
		cp_warn("%s: %s%s%s", who, reason, *detail ? ": " : "",
		    detail);
}

/* one message: the list first; then printed, and looked at if it may be the
 * end */
static void
message(struct remote *r, const char *data, size_t len)
{
	cJSON *j = NULL;
	const cJSON *t;

	if (r->gotlist && r->o->sid != NULL)
		out(data, len);
	if (r->gotlist && (len > 4096 ||
	    (memmem(data, len, "callpipe.end", 12) == NULL &&
	    memmem(data, len, "\"error\"", 7) == NULL)))
		return;
	j = cJSON_ParseWithLength(data, len);
	t = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (cJSON_IsString(t) && (strcmp(t->valuestring, "callpipe.end") == 0 ||
	    strcmp(t->valuestring, "error") == 0)) {
		if (!r->gotlist)
			out(data, len); /* a refusal instead of the list */
		end(r, j, t->valuestring);
	} else if (!r->gotlist && (!cJSON_IsString(t) ||
	    strcmp(t->valuestring, "calls") != 0)) {
		cp_warn("unexpected first message: not the calls list");
		if (r->o->sid != NULL) {
			out(data, len); /* a message of the call: keep it */
		} else {
			r->done = 1;
			r->code = CP_EXIT_TEMP;
		}
	} else if (!r->gotlist && r->o->sid == NULL) {
		print_list(r, j, data, len);
	}
	r->gotlist = 1;
	cJSON_Delete(j);
}

/* everything waiting on the socket; -1 when the connection is gone */
static int
drain(struct remote *r)
{
	struct wsc_msg m;
	int rc;

	(void)wsc_flush(r->w);
	while (!r->done && (rc = wsc_recv(r->w, &m)) == WSC_OK) {
		if (m.type == WSC_CLOSE)
			return -1;
		if (m.type == WSC_BINARY && r->binary++ == 0)
			cp_warn("skipping a binary message (text expected)");
		if (m.type != WSC_TEXT)
			continue;
		if (m.truncated) {
			if (r->skipped++ == 0)
				cp_warn("skipping a message longer than %d "
				    "bytes", MSGMAX);
			continue;
		}
		message(r, (const char *)m.data, m.len);
	}
	return r->done || rc == WSC_AGAIN ? 0 : -1;
}

/* drain first: messages may have come with the handshake */
static void
loop(struct remote *r, const char *url)
{
	for (;;) {
		struct pollfd p[2] = { { r->sigfd, POLLIN, 0 }, { -1, 0, 0 } };

		if (drain(r) < 0 && !r->done) {
			cp_warn("connection to %.300s lost before the end%s",
			    url, r->gotlist ? " of the call" :
			    " of the calls list");
			r->code = CP_EXIT_TEMP;
			return;
		}
		if (r->done)
			return;
		p[1].fd = wsc_fd(r->w);
		p[1].events = wsc_events(r->w);
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		}
		if ((p[0].revents & POLLIN) && cp_sigread(r->sigfd) != 0) {
			r->code = CP_EXIT_OK;
			return;
		}
	}
}

/* URL-safe characters, as pipeline.sh demands of CALLPIPE_CLIENT_TOKEN: the
 * token goes into a header line verbatim */
static int
good_token(const char *t)
{
	size_t n = strlen(t);

	return n > 0 && n <= TOKENMAX && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._~-") == n;
}

int
remote_run(const struct remote_opts *o)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct remote r;
	char url[URLMAX];
	const char *why;
	struct remote_opts oo = *o;

	if (oo.token == NULL) /* the server's own variable, if set */
		oo.token = getenv("CALLPIPE_CLIENT_TOKEN");
	o = &oo;
	memset(&r, 0, sizeof r);
	r.o = o;
	if (o->sid != NULL && !cp_valid_sid(o->sid, "CA")) {
		cp_warn("invalid CallSid: want CA and 32 hex digits");
		return CP_EXIT_NEG;
	}
	if (remote_url(o, url, sizeof url, &why) < 0)
		cp_die(CP_EXIT_PERM, "bad --url: %s", why);
	if (o->token != NULL && !good_token(o->token))
		cp_die(CP_EXIT_PERM, "bad token: want 1 to %d letters, digits "
		    "or . _ ~ -", TOKENMAX);
	cp_ignore_sigpipe();
	r.sigfd = cp_sigfd(sigs, 3);
	if (r.sigfd < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	if ((r.code = connect_ws(&r, url)) == 0)
		loop(&r, url);
	if (r.w != NULL && wsc_fd(r.w) >= 0)
		(void)wsc_shutdown(r.w, 1000, NULL, cp_now_ms() + CLOSE_MS);
	wsc_free(r.w);
	if (r.binary > 1)
		cp_warn("skipped %lu binary messages", r.binary);
	if (r.skipped > 1)
		cp_warn("skipped %lu messages longer than %d bytes",
		    r.skipped, MSGMAX);
	return r.code;
}
