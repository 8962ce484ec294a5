/* logfilter: the server's one log. Reads websocketd's output (-w) and the
 * stderr of the calls' processes (-c), FIFOs or files, and writes every line on
 * stderr in one format, "prog: level: message": websocketd's own lines
 * reformatted, a handler's lines as the handler wrote them. Every line is one
 * line (control characters become '?'), shorter than 1 KiB, with ?token= values
 * redacted; a line that claims to come from the supervisor or from websocketd
 * but does not is marked as what it is. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"
#include "opt.h"

static const char usage[] = "logfilter [-c calls-log] [-w websocketd-log]";

#define IN_MAX 4096 /* bytes of an input line kept; the rest is cut */
#define OUT_MAX 1000 /* bytes of an output line, newline included */
#define URL_MAX 160 /* bytes of a URL kept in a line */

enum { SRC_WS, SRC_CALLS };

struct src {
	int fd, kind;
	char buf[IN_MAX + 1];
	size_t len;
	int cutting; /* discarding the rest of an overlong line */
};

/* Writes s as one log line: controls to '?', token values redacted, cut to
 * OUT_MAX. */
static void
emit(const char *s)
{
	char out[OUT_MAX + 8];
	size_t n = 0;

	while (*s != '\0' && n < OUT_MAX - 4) {
		if (strncmp(s, "token=", 6) == 0) {
			if (n + 14 >= OUT_MAX - 4)
				break;
			memcpy(out + n, "token=REDACTED", 14);
			n += 14;
			for (s += 6;
			     *s != '\0' && *s != '&' && *s != '\'' && *s != ' ';
			     s++)
				;
			continue;
		}
		out[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
		s++;
	}
	if (*s != '\0') {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '\n';
	if (cp_writeall(2, out, n) < 0 && errno != EAGAIN)
		exit(CP_EXIT_TEMP);
}

/* "prog: level: " at the start of s, from a program that may use this log. */
static int
formatted(const char *s)
{
	static const char *const levels[] = {
		"debug: ", "info: ", "warning: ", "error: ", "fatal: "
	};
	size_t n, i;

	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-");

	if (n == 0 || s[n] != ':' || s[n + 1] != ' ')
		return 0;
	if ((n == 11 && strncmp(s, "pipeline.sh", n) == 0) ||
	    (n == 10 && strncmp(s, "websocketd", n) == 0) ||
	    (n == 9 && strncmp(s, "logfilter", n) == 0))
		return 0;
	for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (strncmp(s + n + 2, levels[i], strlen(levels[i])) == 0)
			return 1;
	return 0;
}

/* A line from a call's process. */
static void
call_line(const char *s)
{
	char out[IN_MAX + 64];

	if (formatted(s)) {
		emit(s);
		return;
	}
	snprintf(out, sizeof out,
	    "logfilter: warning: a call's process wrote: %s", s);
	emit(out);
}

/* websocketd's level names as ours */
static const char *
level(const char *s, size_t n)
{
	if ((n == 4 && strncmp(s, "INFO", 4) == 0) ||
	    (n == 6 && strncmp(s, "ACCESS", 6) == 0))
		return "info";
	if (n == 5 && strncmp(s, "ERROR", 5) == 0)
		return "error";
	if (n == 5 && strncmp(s, "FATAL", 5) == 0)
		return "fatal";
	return "debug";
}

/* value of key:'...' in fields, at most max bytes, into buf */
static const char *
field(const char *fields, const char *key, char *buf, size_t max)
{
	const char *p = strstr(fields, key), *q;
	size_t n;

	buf[0] = '\0';
	if (p == NULL)
		return buf;
	p += strlen(key);
	q = strchr(p, '\'');
	n = q ? (size_t)(q - p) : strlen(p);
	if (n >= max) {
		n = max - 4;
		memcpy(buf + n, "...", 4);
	} else
		buf[n] = '\0';
	memcpy(buf, p, n);
	return buf;
}

/* A handler's stderr line as websocketd relays it: its own text, when it names
 * its program; else the endpoint's name with "error". */
static void
relayed(const char *fields, const char *msg)
{
	char cmd[256], out[IN_MAX + 300];
	const char *base;

	if (formatted(msg)) {
		emit(msg);
		return;
	}
	field(fields, "command:'", cmd, sizeof cmd);
	base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	snprintf(out, sizeof out, "%s: error: %s", *base ? base : "handler",
	    msg);
	emit(out);
}

/* "DATE | LEVEL | category | fields | message" */
static void
ws_line(const char *s)
{
	const char *f[5], *p = s, *lv;
	char cat[32], url[URL_MAX + 4], remote[64], out[IN_MAX + 512];
	size_t lvn, i;

	for (i = 1; i < 5; i++) {
		if ((p = strstr(p, " | ")) == NULL)
			break;
		f[i] = p += 3;
	}
	if (i == 4 && strstr(f[3], "url:'") != NULL)
		f[4] = "(line cut)"; /* a huge URL: the message is past what was
					read */
	else if (i < 5) { /* Go's own log ("2026/11/27 12:00:00 http: TLS
			     handshake error") */
		if (strlen(s) > 20 && s[4] == '/' && s[7] == '/' &&
		    s[10] == ' ' && s[19] == ' ')
			snprintf(out,
			    sizeof out, "websocketd: warning: %s", s + 20);
		else
			snprintf(out, sizeof out, "websocketd: info: %s", s);
		emit(out);
		return;
	}
	lvn = strcspn(f[1], " |");
	lv = level(f[1], lvn);
	snprintf(cat, sizeof cat, "%.*s", (int)strcspn(f[2], " |"), f[2]);
	if (strstr(f[4], "from process: read |0: file already closed") != NULL)
		return; /* a race in websocketd's pipe handling: harmless */
	if (strcmp(cat, "stderr") == 0) {
		relayed(f[3], f[4]);
		return;
	}
	if (strcmp(cat, "server") == 0 && strcmp(lv, "info") == 0)
		return; /* startup details: pipeline.sh says where it serves */
	if (strncmp(f[4], "Can't start server: listen tcp ", 31) == 0 &&
	    (p = strstr(f[4], ": bind: ")) != NULL) {
		snprintf(out, sizeof out,
		    "websocketd: fatal: unable to listen on %.*s: %s",
		    (int)(p - f[4] - 31), f[4] + 31, p + 8);
		emit(out);
		return;
	}
	field(f[3], "url:'", url, sizeof url);
	field(f[3], "remote:'", remote, sizeof remote);
	if (url[0])
		snprintf(out, sizeof out, "websocketd: %s: %s: %s%s%s: %s", lv,
		    cat, url, remote[0] ? " from " : "", remote, f[4]);
	else
		snprintf(out,
		    sizeof out, "websocketd: %s: %s: %s", lv, cat, f[4]);
	emit(out);
}

static void
one(struct src *sr, char *s)
{
	if (sr->kind == SRC_WS)
		ws_line(s);
	else
		call_line(s);
}

/* Reads what is there; returns 0 at EOF. */
static int
readsrc(struct src *sr)
{
	ssize_t r;
	char *nl;

	r = read(sr->fd, sr->buf + sr->len, IN_MAX - sr->len);
	if (r < 0)
		return errno == EINTR || errno == EAGAIN;
	if (r == 0) {
		if (sr->len > 0 && !sr->cutting) {
			sr->buf[sr->len] = '\0';
			one(sr, sr->buf);
		}
		return 0;
	}
	sr->len += (size_t)r;
	while ((nl = memchr(sr->buf, '\n', sr->len)) != NULL) {
		size_t k = (size_t)(nl - sr->buf) + 1;

		*nl = '\0';
		if (!sr->cutting)
			one(sr, sr->buf);
		sr->cutting = 0;
		memmove(sr->buf, sr->buf + k, sr->len - k);
		sr->len -= k;
	}
	if (sr->len == IN_MAX) { /* overlong: its start is the line */
		sr->buf[sr->len] = '\0';
		if (!sr->cutting)
			one(sr, sr->buf);
		sr->cutting = 1;
		sr->len = 0;
	}
	return 1;
}

static int
opensrc(struct src *sr, const char *path, int kind)
{
	sr->kind = kind;
	sr->len = 0;
	sr->cutting = 0;
	/* a FIFO without a writer yet: no wait here, poll reports its data */
	if ((sr->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to open %s", path);
	return 1;
}

static void
loop(struct src *src, int n)
{
	struct pollfd pf[2];
	int i, live = n;

	while (live > 0) {
		for (i = 0; i < n; i++) {
			pf[i].fd = src[i].fd;
			pf[i].events = POLLIN;
		}
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		}
		for (i = 0; i < n; i++) {
			if (src[i].fd < 0 || pf[i].revents == 0)
				continue;
			if (!readsrc(&src[i])) {
				(void)close(src[i].fd);
				src[i].fd = -1; /* poll ignores it */
				live--;
			}
		}
	}
}

int
main(int argc, char **argv)
{
	struct src src[2];
	int c, n = 0;

	cp_setprog(argv[0]);
	cp_help(argc, argv, usage);
	cp_ignore_sigpipe();
	opterr = 0;
	while ((c = getopt(argc, argv, ":c:w:")) != -1) {
		switch (c) {
		case 'c':
		case 'w':
			if (n == 2)
				cp_usage(usage);
			n += opensrc(&src[n], optarg,
			    c == 'w' ? SRC_WS : SRC_CALLS);
			break;
		default:
			cp_opterr(c, argv, usage);
		}
	}
	if (optind != argc)
		cp_usage(usage);
	if (n == 0) {
		src[0].fd = 0;
		src[0].kind = SRC_WS;
		src[0].len = 0;
		src[0].cutting = 0;
		n = 1;
	}
	loop(src, n);
	return CP_EXIT_OK;
}
