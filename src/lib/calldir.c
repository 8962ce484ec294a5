/* calldir.c: the call state on disk (see calldir.h). Paths below the root are built only
 * from validated CallSids and fixed names, and reached through directory descriptors. */
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "calldir.h"
#include "cp.h"

static int
fail(struct cd_err *e, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (errnum && n < sizeof e->msg)
		snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errnum));
	errno = errnum;
	return -1;
}

int
cd_rootpath(char *buf, size_t n, struct cd_err *e)
{
	const char *d = getenv("CALLPIPE_DIR");
	const char *x = getenv("XDG_STATE_HOME");
	const char *h = getenv("HOME");
	int r;

	if (d != NULL && *d != '\0')
		r = snprintf(buf, n, "%s", d);
	else if (x != NULL && *x == '/')
		r = snprintf(buf, n, "%s/callpipe", x);
	else if (h != NULL && *h == '/')
		r = snprintf(buf, n, "%s/.local/state/callpipe", h);
	else
		return fail(e, CP_EXIT_PERM, 0, "unable to find the state folder: CALLPIPE_DIR and HOME are unset");
	if (r < 0 || (size_t)r >= n)
		return fail(e, CP_EXIT_PERM, 0, "unable to use the state folder: path too long");
	return 0;
}

/* A folder we keep state in (fd, open as "KIND NAME"): a directory, ours, not
 * writable by group or others. fd, or -1 with fd closed. */
static int
ourdir(int fd, const char *kind, const char *name, struct cd_err *e)
{
	struct stat st;
	int r = 0;

	if (fstat(fd, &st) < 0)
		r = fail(e, CP_EXIT_TEMP, errno, "unable to stat %s %s", kind, name);
	else if (!S_ISDIR(st.st_mode))
		r = fail(e, CP_EXIT_PERM, 0, "refusing to use %s %s: not a directory",
		    kind, name);
	else if (st.st_uid != geteuid())
		r = fail(e, CP_EXIT_PERM, 0,
		    "refusing to use %s %s: owned by uid %lu, not by uid %lu", kind,
		    name, (unsigned long)st.st_uid, (unsigned long)geteuid());
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		r = fail(e, CP_EXIT_PERM, 0,
		    "refusing to use %s %s: group- or world-writable (mode %03o)",
		    kind, name, (unsigned)(st.st_mode & 0777));
	if (r < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* mkdir -p with mode 0700 for every component we create. */
static int
mkdirs(char *path, struct cd_err *e)
{
	char *p;

	for (p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST) {
				int en = errno;

				*p = c;
				return fail(e, en == EACCES || en == EROFS || en == ENOTDIR ? CP_EXIT_PERM : CP_EXIT_TEMP,
				    en, "unable to create state folder %s", path);
			}
			*p = c;
			if (c == '\0')
				return 0;
		}
	}
}

int
cd_open_root(int create, struct cd_err *e)
{
	char root[4096];
	int rfd;

	if (cd_rootpath(root, sizeof root, e) < 0)
		return -1;
	if (create && mkdirs(root, e) < 0)
		return -1;
	rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		if (errno == ENOENT && !create)
			return fail(e, CP_EXIT_NEG, errno, "unable to open state folder %s", root);
		return fail(e, errno == ENOENT || errno == ENOTDIR || errno == EACCES ? CP_EXIT_PERM : CP_EXIT_TEMP,
		    errno, "unable to open state folder %s", root);
	}
	return ourdir(rfd, "state folder", root, e);
}

int
cd_open_calls(int create, struct cd_err *e)
{
	char root[4096];
	int rfd, cfd;

	rfd = cd_open_root(create, e);
	if (rfd < 0)
		return -1;
	cfd = cd_open_dir(rfd, CD_CALLS, create, e);
	close(rfd);
	if (cfd < 0 && e->code != CP_EXIT_NEG && cd_rootpath(root, sizeof root, e) == 0) {
		/* name the full path in the message */
		size_t n = strlen(e->msg);

		if (snprintf(e->msg + n, sizeof e->msg - n, " (in %s)", root) < 0)
			e->msg[n] = '\0';
	}
	return cfd;
}

int
cd_open_dir(int dirfd, const char *name, int create, struct cd_err *e)
{
	int fd;

	if (create && mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return fail(e, errno == EACCES || errno == EROFS ? CP_EXIT_PERM : CP_EXIT_TEMP, errno,
		    "unable to create folder %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return fail(e, CP_EXIT_NEG, errno, "unable to open folder %s", name);
		return fail(e, errno == ENOTDIR || errno == ELOOP || errno == EACCES ? CP_EXIT_PERM : CP_EXIT_TEMP,
		    errno, "unable to open folder %s", name);
	}
	return ourdir(fd, "folder", name, e);
}

int
cd_open_call(int callsfd, const char *sid, int create, struct cd_err *e)
{
	if (!cp_valid_sid(sid, "CA"))
		return fail(e, CP_EXIT_PERM, 0, "invalid CallSid (want CA and 32 hex digits)");
	return cd_open_dir(callsfd, sid, create, e);
}

void
cd_isotime(time_t t, char *buf, size_t n)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "1970-01-01T00:00:00Z");
}

/* The temporary file that is rename()d over name: ".NAME.tmp.PID", in tmp. */
static int
opentmp(int dirfd, const char *name, char *tmp, size_t n)
{
	if (snprintf(tmp, n, ".%s.tmp.%ld", name, (long)getpid()) >= (int)n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
}

int
cd_put(int dirfd, const char *name, const void *data, size_t len, int sync)
{
	char tmp[300];
	int fd, e;

	if ((fd = opentmp(dirfd, name, tmp, sizeof tmp)) < 0)
		return -1;
	if (cp_writeall(fd, data, len) < 0 || (sync && fsync(fd) < 0)) {
		e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		e = errno;
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

/* Decimal environment setting in [min, max], else the default (pipeline.sh checks them). */
static long long
envnum(const char *name, long long min, long long max, long long def)
{
	const char *s = getenv(name);
	long long v;

	if (s == NULL || *s == '\0' || cp_strtonum(s, min, max, &v) < 0)
		return def;
	return v;
}

int64_t
cd_grace_ms(void)
{
	return envnum("CALLPIPE_CALL_GRACE_SECONDS", 0, 3600, 5) * 1000;
}

unsigned
cd_retain_days(void)
{
	return (unsigned)envnum("CALLPIPE_RETAIN_DAYS", 0, 36500, 7);
}

int64_t
cd_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

static int
digits(const char **p, size_t maxlen, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; (*p)[i] >= '0' && (*p)[i] <= '9'; i++) {
		if (i >= maxlen)
			return -1;
		*v = *v * 10 + (uint64_t)((*p)[i] - '0');
	}
	if (i == 0 || (i > 1 && (*p)[0] == '0'))
		return -1;
	*p += i;
	return 0;
}

int
cd_parse_stream(const char *name, struct cd_stream *s)
{
	const char *p = name;
	uint64_t n, ms;

	if (digits(&p, 4, &n) < 0 || n == 0 || *p++ != '.')
		return -1;
	if (digits(&p, 15, &ms) < 0 || *p++ != '.')
		return -1;
	if (strcmp(p, "-") != 0 && !cp_valid_sid(p, "MZ"))
		return -1;
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->n = (unsigned)n;
	s->start_ms = (int64_t)ms;
	if (*p != '-')
		memcpy(s->ssid, p, CD_SIDLEN + 1);
	return 0;
}

/* 1 if someone holds an exclusive lock on dirfd/name, 0 if not (or no file), -1 on error.
 * A shared lock to test: testers never get in each other's way. */
static int
locked(int dirfd, const char *name)
{
	int fd, r;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	do
		r = flock(fd, LOCK_SH | LOCK_NB);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		r = 0;
	else
		r = errno == EWOULDBLOCK ? 1 : -1;
	close(fd);
	return r;
}

/* The first word of an ended mark: [a-z-] only. */
static void
readreason(int sfd, char *buf, size_t n)
{
	char tmp[CD_REASONLEN];
	ssize_t r;
	size_t i;
	int fd;

	buf[0] = '\0';
	fd = openat(sfd, CD_ENDED, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return;
	r = read(fd, tmp, sizeof tmp - 1);
	close(fd);
	if (r <= 0)
		return;
	for (i = 0; i < (size_t)r && i + 1 < n && ((tmp[i] >= 'a' && tmp[i] <= 'z') || tmp[i] == '-'); i++)
		buf[i] = tmp[i];
	buf[i] = '\0';
}

void
cd_stream_state(int sfd, struct cd_stream *s)
{
	static const char *const signs[] = { CD_LOCK, CD_LOG };
	struct stat st;
	size_t i;

	s->live = locked(sfd, CD_LOCK) == 1;
	s->ended = fstatat(sfd, CD_ENDED, &st, AT_SYMLINK_NOFOLLOW) == 0;
	s->end_ms = 0;
	s->reason[0] = '\0';
	if (s->ended) {
		s->end_ms = mtime_ms(&st);
		readreason(sfd, s->reason, sizeof s->reason);
	} else if (!s->live) {
		s->end_ms = s->start_ms;
		if (fstat(sfd, &st) == 0 && mtime_ms(&st) > s->end_ms)
			s->end_ms = mtime_ms(&st);
		for (i = 0; i < sizeof signs / sizeof signs[0]; i++)
			if (fstatat(sfd, signs[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && mtime_ms(&st) > s->end_ms)
				s->end_ms = mtime_ms(&st);
	}
}

static int
streamcmp(const void *a, const void *b)
{
	const struct cd_stream *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

int
cd_streams(int calldirfd, struct cd_stream *v, size_t max, size_t *n)
{
	struct dirent *de;
	struct cd_err e;
	DIR *d;
	int fd, sfd;

	*n = 0;
	fd = cd_open_dir(calldirfd, CD_STREAMS, 0, &e);
	if (fd < 0)
		return e.code == CP_EXIT_NEG ? 0 : -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL && *n < max) {
		struct cd_stream *s = &v[*n];

		if (cd_parse_stream(de->d_name, s) < 0)
			continue;
		sfd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			continue;
		cd_stream_state(sfd, s);
		close(sfd);
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof *v, streamcmp);
	return 0;
}

/* The call's state from its streams. */
static void
sumup(const struct cd_stream *v, size_t n, int64_t now, struct cd_call *c)
{
	const char *reason = "call-ended";
	size_t i;

	c->nstreams = (unsigned)n;
	c->nlive = 0;
	c->start_ms = n ? v[0].start_ms : 0;
	c->end_ms = 0;
	for (i = 0; i < n; i++) {
		if (v[i].live) {
			c->nlive++;
			continue;
		}
		if (v[i].end_ms >= c->end_ms) {
			c->end_ms = v[i].end_ms;
			if (strcmp(v[i].reason, "transcription-failed") == 0)
				reason = v[i].reason;
			else
				reason = "call-ended";
		}
	}
	if (n == 0)
		c->state = CD_NONE;
	else if (c->nlive > 0)
		c->state = CD_LIVE;
	else if (now < c->end_ms + cd_grace_ms())
		c->state = CD_GRACE;
	else
		c->state = CD_OVER;
	snprintf(c->reason, sizeof c->reason, "%s", reason);
	cd_isotime((time_t)(c->start_ms / 1000), c->started, sizeof c->started);
	cd_isotime((time_t)(c->end_ms / 1000), c->ended, sizeof c->ended);
}

int
cd_call_state(int calldirfd, int64_t now_ms, struct cd_call *c)
{
	struct cd_stream v[CD_MAXSTREAMS];
	size_t n;

	if (cd_streams(calldirfd, v, CD_MAXSTREAMS, &n) < 0)
		return -1;
	sumup(v, n, now_ms, c);
	return 0;
}

int
cd_live(int calldirfd)
{
	struct cd_call c;

	if (cd_call_state(calldirfd, cd_wall_ms(), &c) < 0)
		return -1;
	return c.state == CD_LIVE || c.state == CD_GRACE;
}

static int
livecmp(const void *a, const void *b)
{
	const struct cd_call *x = a, *y = b;

	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? -1 : 1;
	return strcmp(x->sid, y->sid);
}

static int
overcmp(const void *a, const void *b)
{
	const struct cd_call *x = a, *y = b;

	if (x->end_ms != y->end_ms)
		return x->end_ms > y->end_ms ? -1 : 1;
	return strcmp(x->sid, y->sid);
}

/* Append c to *a (cap doubling). */
static int
push(struct cd_call **a, size_t *len, size_t *cap, const struct cd_call *c)
{
	struct cd_call *t;

	if (*len == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		t = realloc(*a, *cap * sizeof *t);
		if (t == NULL)
			return -1;
		*a = t;
	}
	(*a)[(*len)++] = *c;
	return 0;
}

int
cd_list(int callsfd, int over, struct cd_call **v, size_t *n)
{
	struct cd_call *a = NULL, c;
	size_t len = 0, cap = 0;
	struct dirent *de;
	int64_t now = cd_wall_ms();
	DIR *d;
	int fd;

	*v = NULL;
	*n = 0;
	fd = openat(callsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct cd_err e;
		int cfd, want;

		if (!cp_valid_sid(de->d_name, "CA"))
			continue;
		cfd = cd_open_dir(callsfd, de->d_name, 0, &e);
		if (cfd < 0)
			continue;
		want = cd_call_state(cfd, now, &c) == 0 &&
		    (over ? c.state == CD_OVER : (c.state == CD_LIVE || c.state == CD_GRACE));
		close(cfd);
		if (!want)
			continue;
		memcpy(c.sid, de->d_name, CD_SIDLEN + 1);
		if (push(&a, &len, &cap, &c) < 0) {
			closedir(d);
			free(a);
			errno = ENOMEM;
			return -1;
		}
	}
	closedir(d);
	if (len > 1)
		qsort(a, len, sizeof *a, over ? overcmp : livecmp);
	if (over && len > CD_ENDED_MAX)
		len = CD_ENDED_MAX;
	*v = a;
	*n = len;
	return 0;
}

void
cd_params(int calldirfd, char *buf, size_t n)
{
	struct cd_stream v[CD_MAXSTREAMS];
	char path[CD_NAMELEN + 32], *text = NULL, *s = NULL;
	const cJSON *p;
	cJSON *j = NULL;
	size_t k;
	ssize_t r;
	int fd;

	snprintf(buf, n, "{}");
	if (cd_streams(calldirfd, v, CD_MAXSTREAMS, &k) < 0 || k == 0)
		return;
	snprintf(path, sizeof path, "%s/%s/%s", CD_STREAMS, v[0].name, CD_START);
	fd = openat(calldirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return;
	text = malloc(65536);
	if (text != NULL && (r = read(fd, text, 65535)) > 0) {
		text[r] = '\0';
		j = cJSON_Parse(text);
	}
	close(fd);
	p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "start"), "customParameters");
	if (cJSON_IsObject(p) && (s = cJSON_PrintUnformatted(p)) != NULL && strlen(s) < n)
		memcpy(buf, s, strlen(s) + 1);
	cJSON_free(s);
	cJSON_Delete(j);
	free(text);
}

int
cd_mark(int dirfd, const char *name, const char *text)
{
	char tmp[300];
	int fd, r = 0, en;

	if ((fd = opentmp(dirfd, name, tmp, sizeof tmp)) < 0)
		return -1;
	if (cp_writeall(fd, text, strlen(text)) < 0) {
		/* a full disk: the mark without its text still tells the end (its mtime) */
		en = errno;
		(void)ftruncate(fd, 0);
		errno = en;
		r = 1;
	}
	if (close(fd) < 0 && r == 0)
		r = 1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		en = errno;
		unlinkat(dirfd, tmp, 0);
		errno = en;
		return -1;
	}
	return r;
}

/* flock with a deadline: others hold these locks only for an instant. */
static int
lockwait(int fd, int how, int ms)
{
	int64_t until = cp_now_ms() + ms;
	int r;

	while ((r = flock(fd, how | LOCK_NB)) < 0 && (errno == EWOULDBLOCK || errno == EINTR)) {
		if (cp_now_ms() >= until)
			return -1;
		poll(NULL, 0, 10);
	}
	return r;
}

static int
openlock(int dirfd, const char *name, struct cd_err *e)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0)
		return fail(e, errno == EACCES || errno == EROFS ? CP_EXIT_PERM : CP_EXIT_TEMP, errno,
		    "unable to open %s", name);
	return fd;
}

/* Under the call's lock: the stream to serve (continued or new) into o->st. */
static int
pick(int streamsfd, const char *ssid, struct cd_own *o, struct cd_err *e)
{
	struct cd_stream v[CD_MAXSTREAMS];
	struct cd_call c;
	int64_t now = cd_wall_ms();
	size_t n, i;

	if (cd_streams(o->calldirfd, v, CD_MAXSTREAMS, &n) < 0)
		return fail(e, CP_EXIT_TEMP, errno, "unable to read %s", CD_STREAMS);
	sumup(v, n, now, &c);
	o->call_start_ms = n ? v[0].start_ms : now;
	for (i = n; *ssid && c.state != CD_OVER && i-- > 0;) {
		if (strcmp(v[i].ssid, ssid) == 0) { /* the latest stream of that StreamSid */
			o->st = v[i];
			o->continued = 1;
			return 0;
		}
	}
	if (n >= CD_MAXSTREAMS)
		return fail(e, CP_EXIT_PERM, 0, "unable to add a stream: the call has %d already", CD_MAXSTREAMS);
	memset(&o->st, 0, sizeof o->st);
	o->st.n = n ? v[n - 1].n + 1 : 1;
	o->st.start_ms = now;
	snprintf(o->st.ssid, sizeof o->st.ssid, "%s", ssid);
	snprintf(o->st.name, sizeof o->st.name, "%u.%lld.%s", o->st.n, (long long)now, *ssid ? ssid : "-");
	if (mkdirat(streamsfd, o->st.name, 0700) < 0)
		return fail(e, errno == EACCES || errno == EROFS ? CP_EXIT_PERM : CP_EXIT_TEMP, errno,
		    "unable to create stream folder %s", o->st.name);
	return 0;
}

/* The stream folder: subscribers/ made, live.lock taken. */
static int
takestream(int streamsfd, struct cd_own *o, struct cd_err *e)
{
	int fd;

	o->streamfd = cd_open_dir(streamsfd, o->st.name, 0, e);
	if (o->streamfd < 0)
		return -1;
	fd = cd_open_dir(o->streamfd, CD_SUBS, 1, e);
	if (fd < 0)
		return -1;
	close(fd);
	o->lockfd = openlock(o->streamfd, CD_LOCK, e);
	if (o->lockfd < 0)
		return -1;
	if (lockwait(o->lockfd, LOCK_EX, 1000) < 0)
		return fail(e, CP_EXIT_PERM, 0, "unable to serve stream %s: already live (%s is locked)",
		    o->st.name, CD_LOCK);
	if (o->continued && unlinkat(o->streamfd, CD_ENDED, 0) < 0 && errno != ENOENT)
		return fail(e, CP_EXIT_TEMP, errno, "unable to remove %s/%s", o->st.name, CD_ENDED);
	return 0;
}

static int
streamopen(int callsfd, const char *sid, const char *ssid, struct cd_own *o, struct cd_err *e)
{
	struct stat st;
	int sfd = -1, cl = -1, r = -1;

	o->calldirfd = cd_open_call(callsfd, sid, 1, e);
	if (o->calldirfd < 0)
		return -1;
	if ((sfd = cd_open_dir(o->calldirfd, CD_STREAMS, 1, e)) < 0 ||
	    (cl = openlock(o->calldirfd, CD_CALLLOCK, e)) < 0)
		goto out;
	if (lockwait(cl, LOCK_EX, 10000) < 0) {
		fail(e, CP_EXIT_TEMP, errno, "unable to lock call %s", sid);
		goto out;
	}
	if (fstat(o->calldirfd, &st) == 0 && st.st_nlink == 0) {
		r = 1; /* removed by a sweep while we waited: again */
		goto out;
	}
	if (pick(sfd, ssid, o, e) == 0 && takestream(sfd, o, e) == 0)
		r = 0;
out:
	if (cl >= 0)
		close(cl);
	if (sfd >= 0)
		close(sfd);
	return r;
}

int
cd_stream_open(const char *sid, const char *ssid, struct cd_own *o, struct cd_err *e)
{
	int callsfd, r, tries;

	memset(o, 0, sizeof *o);
	for (tries = 0; tries < 3; tries++) {
		o->calldirfd = o->streamfd = o->lockfd = -1;
		o->continued = 0;
		callsfd = cd_open_calls(1, e);
		if (callsfd < 0)
			return -1;
		r = streamopen(callsfd, sid, ssid, o, e);
		close(callsfd);
		if (r == 0)
			return 0;
		if (o->lockfd >= 0)
			close(o->lockfd);
		if (o->streamfd >= 0)
			close(o->streamfd);
		if (o->calldirfd >= 0)
			close(o->calldirfd);
		if (r < 0)
			return -1;
	}
	return fail(e, CP_EXIT_TEMP, 0, "unable to open call %s: removed while opening", sid);
}

int
cd_stream_end(struct cd_own *o, const char *reason)
{
	char text[CD_REASONLEN + 2];
	int r;

	snprintf(text, sizeof text, "%s\n", reason);
	r = cd_mark(o->streamfd, CD_ENDED, text);
	(void)fsync(o->streamfd);
	close(o->lockfd); /* the stream is no longer live */
	close(o->streamfd);
	close(o->calldirfd);
	o->lockfd = o->streamfd = o->calldirfd = -1;
	return r == 0 ? 0 : -1;
}

/* Remove dirfd/name and everything below it (at most depth levels). */
static int
rmtree(int dirfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			continue;
		if ((errno != EISDIR && errno != EPERM) || depth <= 0 || rmtree(fd, de->d_name, depth - 1) < 0)
			r = -1;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		r = -1;
	return r;
}

/* One call of the sweep, under its lock. */
static void
sweepcall(int callsfd, const char *sid, int64_t now, int64_t keep, struct cd_swept *r)
{
	struct cd_stream v[CD_MAXSTREAMS];
	struct cd_call c;
	struct cd_err e;
	struct stat st;
	size_t n, i;
	int cfd, cl, sfd;

	if ((cfd = cd_open_dir(callsfd, sid, 0, &e)) < 0)
		return;
	cl = openat(cfd, CD_CALLLOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (cl < 0 || flock(cl, LOCK_EX | LOCK_NB) < 0 || cd_streams(cfd, v, CD_MAXSTREAMS, &n) < 0)
		goto out;
	sumup(v, n, now, &c);
	if (c.state == CD_OVER && (sfd = cd_open_dir(cfd, CD_STREAMS, 0, &e)) >= 0) {
		for (i = 0; i < n; i++) {
			int one = openat(sfd, v[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (one < 0)
				continue;
			if (!v[i].ended && cd_mark(one, CD_ENDED, "crashed\n") >= 0) {
				/* the mark's mtime is the end: the last sign of life, not now */
				struct timespec t[2] = {
					{ v[i].end_ms / 1000, v[i].end_ms % 1000 * 1000000 },
					{ v[i].end_ms / 1000, v[i].end_ms % 1000 * 1000000 }
				};

				(void)utimensat(one, CD_ENDED, t, AT_SYMLINK_NOFOLLOW);
				r->marked++;
			}
			close(one);
		}
		close(sfd);
	}
	if ((c.state == CD_OVER && c.end_ms <= now - keep) ||
	    (c.state == CD_NONE && fstat(cfd, &st) == 0 && mtime_ms(&st) < now - keep - 60000)) {
		if (rmtree(callsfd, sid, 4) == 0)
			r->removed++;
		else
			r->failed++;
	}
out:
	if (cl >= 0)
		close(cl);
	close(cfd);
}

int
cd_sweep(int callsfd, unsigned days, struct cd_swept *r)
{
	struct dirent *de;
	int64_t now = cd_wall_ms();
	DIR *d;
	int fd;

	memset(r, 0, sizeof *r);
	fd = openat(callsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (cp_valid_sid(de->d_name, "CA"))
			sweepcall(callsfd, de->d_name, now, (int64_t)days * 86400000, r);
	closedir(d);
	return 0;
}

int
cd_slot(unsigned max, struct cd_err *e)
{
	char name[16];
	unsigned i;
	int root, dir, fd;

	if ((root = cd_open_root(1, e)) < 0)
		return -1;
	dir = cd_open_dir(root, CD_SLOTS, 1, e);
	close(root);
	if (dir < 0)
		return -1;
	for (i = 0; i < max; i++) {
		snprintf(name, sizeof name, "%u", i);
		fd = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0) {
			fail(e, CP_EXIT_TEMP, errno, "unable to open slot %s", name);
			close(dir);
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			close(dir);
			return fd;
		}
		close(fd);
	}
	close(dir);
	return fail(e, CP_EXIT_NEG, 0, "all %u subscriber slots are taken", max);
}
