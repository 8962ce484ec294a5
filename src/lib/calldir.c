/* calldir.c: the call state on disk (see calldir.h). Paths below the root are built only
 * from validated CallSids and fixed names, and reached through directory descriptors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* A folder we keep state in: a directory, ours, not writable by group or others. */
static int
checkdir(int fd, const char *what, struct cd_err *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail(e, CP_EXIT_TEMP, errno, "unable to stat %s", what);
	if (!S_ISDIR(st.st_mode))
		return fail(e, CP_EXIT_PERM, 0, "refusing to use %s: not a directory", what);
	if (st.st_uid != geteuid())
		return fail(e, CP_EXIT_PERM, 0, "refusing to use %s: owned by uid %lu, not by uid %lu",
		    what, (unsigned long)st.st_uid, (unsigned long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return fail(e, CP_EXIT_PERM, 0, "refusing to use %s: group- or world-writable (mode %03o)",
		    what, (unsigned)(st.st_mode & 0777));
	return 0;
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
cd_open_calls(int create, struct cd_err *e)
{
	char root[4096], what[4200];
	int rfd, cfd;

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
	snprintf(what, sizeof what, "state folder %s", root);
	if (checkdir(rfd, what, e) < 0) {
		close(rfd);
		return -1;
	}
	cfd = cd_open_dir(rfd, CD_CALLS, create, e);
	close(rfd);
	if (cfd < 0 && e->code != CP_EXIT_NEG) {
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
	char what[300];
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
	snprintf(what, sizeof what, "folder %s", name);
	if (checkdir(fd, what, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
cd_open_call(int callsfd, const char *sid, int create, struct cd_err *e)
{
	if (!cp_valid_sid(sid, "CA"))
		return fail(e, CP_EXIT_PERM, 0, "invalid CallSid (want CA and 32 hex digits)");
	return cd_open_dir(callsfd, sid, create, e);
}

int
cd_live(int calldirfd)
{
	int fd, r;

	fd = openat(calldirfd, CD_LOCK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	/* Taking the lock means nobody holds it: let go at once (close does). */
	do
		r = flock(fd, LOCK_EX | LOCK_NB);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		close(fd);
		return 0;
	}
	r = errno == EWOULDBLOCK ? 1 : -1;
	close(fd);
	return r;
}

int
cd_ended(int calldirfd)
{
	struct stat st;

	return fstatat(calldirfd, CD_ENDED, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void
cd_isotime(time_t t, char *buf, size_t n)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "1970-01-01T00:00:00Z");
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly */
static int
isotime_ok(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	for (i = 0; pat[i]; i++) {
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	}
	return 1;
}

int
cd_started(int calldirfd, char *buf, size_t n)
{
	char tmp[64];
	struct stat st;
	ssize_t r;
	int fd;

	fd = openat(calldirfd, CD_LOCK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	r = pread(fd, tmp, sizeof tmp - 1, 0);
	if (r >= 20) {
		tmp[r] = '\0';
		if (isotime_ok(tmp) && n > 20) {
			memcpy(buf, tmp, 20);
			buf[20] = '\0';
			close(fd);
			return 0;
		}
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	cd_isotime(st.st_mtime, buf, n);
	return 0;
}

static int
callcmp(const void *a, const void *b)
{
	const struct cd_call *x = a, *y = b;
	int c = strcmp(x->started, y->started);

	return c ? c : strcmp(x->sid, y->sid);
}

int
cd_list(int callsfd, struct cd_call **v, size_t *n)
{
	struct cd_call *a = NULL, *t;
	size_t len = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	*v = NULL;
	*n = 0;
	fd = dup(callsfd);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct cd_err e;
		int cfd, live;

		if (!cp_valid_sid(de->d_name, "CA"))
			continue;
		cfd = cd_open_dir(callsfd, de->d_name, 0, &e);
		if (cfd < 0)
			continue;
		live = cd_live(cfd);
		if (live == 1) {
			if (len == cap) {
				cap = cap ? cap * 2 : 16;
				t = realloc(a, cap * sizeof *a);
				if (t == NULL) {
					close(cfd);
					closedir(d);
					free(a);
					errno = ENOMEM;
					return -1;
				}
				a = t;
			}
			memcpy(a[len].sid, de->d_name, CD_SIDLEN + 1);
			if (cd_started(cfd, a[len].started, sizeof a[len].started) < 0)
				cd_isotime(0, a[len].started, sizeof a[len].started);
			len++;
		}
		close(cfd);
	}
	closedir(d);
	if (len > 1)
		qsort(a, len, sizeof *a, callcmp);
	*v = a;
	*n = len;
	return 0;
}

int
cd_put(int dirfd, const char *name, const void *data, size_t len, int sync)
{
	char tmp[300];
	int fd, e;

	if (snprintf(tmp, sizeof tmp, ".%s.tmp.%ld", name, (long)getpid()) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
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
