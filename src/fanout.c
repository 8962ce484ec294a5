/* fanout: lines on stdin -> the call's transcript log and every subscriber FIFO.
 * A writer never blocks on a reader: FIFOs are opened O_WRONLY|O_NONBLOCK, each has a
 * bounded buffer, and one that falls behind or goes away is dropped with a warning. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "calldir.h"
#include "cp.h"
#include "fanbuf.h"

static const char usage[] = "fanout [-o] [-c callsid] [-b bufsize] [-l maxline] [-m maxlog] [-s maxsubs]";

#define RESCAN_MS 200     /* backup scan of subscribers/ */
#define CLOSE_MS 1000     /* an overflowed subscriber gets this long to finish its line */
#define ENDFLUSH_MS 500   /* at end of input, flush subscribers for at most this long */
#define LOCKWAIT_MS 1000  /* someone testing liveness holds the lock for an instant */
#define PENDING_MAX 256   /* FIFOs with no reader yet */
#define DROPPED_MAX 1024  /* remembered dropped FIFOs, so they are not reopened */

enum { S_PENDING, S_ACTIVE, S_DROPPED };

struct sub {
	char name[NAME_MAX + 1];
	dev_t dev;
	ino_t ino;
	int state;
	int fd;
	int seen;
	int64_t deadline; /* closing: give up finishing the line at this time */
	struct fanbuf fb;
};

static struct sub *subs;
static size_t nsubs, capsubs, nactive, npending, ndropped;
static size_t maxsubs = 64, bufmax = 1048576, linemax = 1048576;
static uint64_t logmax = 268435456, logsize;
static int subsfd = -1, inofd = -1, logfd = -1, logging = 1, status = CP_EXIT_OK;
static int warned_pending;
static int echoing; /* -o: every line to stdout too, for callpipe-publish(1) */
static uint64_t nlines, nlogged, ntoolong, nempty, nserved, ndrops;
static char sid[CD_SIDLEN + 1];

static void
forget(size_t i)
{
	switch (subs[i].state) {
	case S_PENDING: npending--; break;
	case S_ACTIVE: nactive--; break;
	case S_DROPPED: ndropped--; break;
	}
	subs[i] = subs[--nsubs];
}

/* Stop writing to subscriber i; it stays known so that it is not reopened.
 * Indexes stay valid: only forget() moves entries. */
static void
drop(size_t i)
{
	struct sub *s = &subs[i];

	if (s->state == S_ACTIVE) {
		close(s->fd);
		s->fd = -1;
		fb_free(&s->fb);
		nactive--;
		ndrops++;
	} else if (s->state == S_PENDING) {
		npending--;
	}
	s->state = S_DROPPED;
	ndropped++;
}

static ssize_t
findsub(const char *name)
{
	size_t i;

	for (i = 0; i < nsubs; i++)
		if (strcmp(subs[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Write what subscriber i can take now; drop it if its reader is gone. */
static void
flushsub(size_t i)
{
	struct sub *s = &subs[i];

	if (s->state != S_ACTIVE)
		return;
	if (fb_len(&s->fb) > 0 && fb_flush(&s->fb, s->fd) < 0) {
		if (errno == EPIPE)
			cp_warn("dropping subscriber %s: reader gone", s->name);
		else
			cp_warnsys("dropping subscriber %s: unable to write", s->name);
		drop(i);
		return;
	}
	if (s->fb.closing && fb_len(&s->fb) == 0)
		drop(i);
}

/* Open a FIFO that has no reader yet; ENXIO means try again later. */
static void
tryopen(size_t i)
{
	struct sub *s = &subs[i];
	struct stat st;
	int fd;

	fd = openat(subsfd, s->name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENXIO)
			return;
		if (errno == ENOENT) {
			forget(i);
			return;
		}
		cp_warnsys("ignoring subscriber %s: unable to open", s->name);
		drop(i);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		drop(i);
		return;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (nactive >= maxsubs) {
		cp_warn("dropping subscriber %s: limit of %zu subscribers reached", s->name, maxsubs);
		close(fd);
		drop(i);
		return;
	}
	npending--;
	nactive++;
	nserved++;
	s->state = S_ACTIVE;
	s->fd = fd;
	s->deadline = 0;
	fb_init(&s->fb, bufmax);
	if (strncmp(s->name, CD_SUBPREFIX, strlen(CD_SUBPREFIX)) == 0) {
		/* subscribe(1)'s seam: every line before this log offset was not sent here,
		 * every line after it is. */
		char hdr[128];
		int n = snprintf(hdr, sizeof hdr, "%s%llu%s", CD_HDR_PRE,
		    (unsigned long long)logsize, CD_HDR_POST);

		if (fb_push(&s->fb, hdr, (size_t)n) != FB_OK) {
			cp_warn("dropping subscriber %s: out of memory", s->name);
			drop(i);
			return;
		}
	}
	flushsub(i);
}

/* A name showed up in subscribers/ (event or scan): learn it, open it if it has a reader. */
static void
consider(const char *name)
{
	struct stat st;
	ssize_t k;
	struct sub *s;

	if (name[0] == '.' || name[0] == '\0')
		return;
	k = findsub(name);
	if (fstatat(subsfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISFIFO(st.st_mode)) {
		if (k >= 0 && subs[k].state != S_ACTIVE)
			forget((size_t)k);
		return;
	}
	if (k >= 0) {
		s = &subs[k];
		s->seen = 1;
		if (s->state == S_ACTIVE)
			return;
		if (s->dev == st.st_dev && s->ino == st.st_ino) {
			if (s->state == S_PENDING)
				tryopen((size_t)k);
			return;
		}
		forget((size_t)k); /* a new FIFO under an old name */
	}
	if (npending >= PENDING_MAX) {
		if (!warned_pending)
			cp_warn("ignoring subscriber %s: more than %d FIFOs without a reader", name, PENDING_MAX);
		warned_pending = 1;
		return;
	}
	if (nsubs == capsubs) {
		size_t ncap = capsubs ? capsubs * 2 : 16;
		struct sub *t = realloc(subs, ncap * sizeof *t);

		if (t == NULL) {
			cp_warn("ignoring subscriber %s: out of memory", name);
			return;
		}
		subs = t;
		capsubs = ncap;
	}
	s = &subs[nsubs++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->state = S_PENDING;
	s->fd = -1;
	s->seen = 1;
	npending++;
	tryopen(nsubs - 1);
}

static void
rescan(void)
{
	struct dirent *de;
	DIR *d;
	size_t i;
	int fd;

	fd = openat(subsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (i = 0; i < nsubs; i++)
		subs[i].seen = 0;
	while ((de = readdir(d)) != NULL)
		consider(de->d_name);
	closedir(d);
	/* pending or dropped FIFOs that are gone are forgotten; active ones stay */
	for (i = nsubs; i-- > 0;)
		if (!subs[i].seen && subs[i].state != S_ACTIVE)
			forget(i);
	/* bounded memory: forget surplus tombstones (they may be reopened, then dropped again) */
	for (i = nsubs; i-- > 0 && ndropped > DROPPED_MAX;)
		if (subs[i].state == S_DROPPED)
			forget(i);
}

/* Everything inotify has queued so far (an event is queued by the time mkfifo returns). */
static void
drainevents(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t r;
	char *p;

	if (inofd < 0)
		return;
	for (;;) {
		do
			r = read(inofd, buf, sizeof buf);
		while (r < 0 && errno == EINTR);
		if (r <= 0)
			return;
		for (p = buf; p < buf + r; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				rescan();
			} else if (ev->mask & IN_IGNORED) {
				cp_warn("lost the watch on %s: scanning for subscribers before every line", CD_SUBS);
				close(inofd);
				inofd = -1;
				return;
			} else if (ev->len > 0) {
				if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
					ssize_t k = findsub(ev->name);

					if (k >= 0 && subs[k].state != S_ACTIVE)
						forget((size_t)k);
				} else {
					consider(ev->name);
				}
			}
		}
	}
}

/* Before each line: learn new FIFOs and open those whose reader has arrived, so a
 * subscriber that opened its FIFO before this line gets this line. */
static void
catchup(void)
{
	size_t i;

	if (inofd >= 0)
		drainevents();
	else
		rescan();
	for (i = nsubs; i-- > 0;)
		if (subs[i].state == S_PENDING)
			tryopen(i);
}

static void
logline(const char *line, size_t len)
{
	struct iovec iov[2];
	ssize_t w;

	if (!logging)
		return;
	if (logsize + len + 1 > logmax) {
		cp_warn("transcript log of %s reached %llu bytes: later lines are not logged",
		    sid, (unsigned long long)logmax);
		logging = 0;
		return;
	}
	iov[0].iov_base = (void *)line;
	iov[0].iov_len = len;
	iov[1].iov_base = "\n";
	iov[1].iov_len = 1;
	do
		w = writev(logfd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)(len + 1)) {
		if (w < 0)
			cp_warnsys("unable to write transcript log of %s: later lines are not logged", sid);
		else
			cp_warn("unable to write transcript log of %s: short write: later lines are not logged", sid);
		if (w > 0 && ftruncate(logfd, (off_t)logsize) < 0)
			cp_warnsys("unable to truncate transcript log of %s", sid);
		logging = 0;
		status = CP_EXIT_TEMP;
		return;
	}
	logsize += len + 1;
	nlogged++;
}

/* -o: the line on stdout too; a reader that goes away stops the copy, not the call. */
static void
echoline(const char *line, size_t len)
{
	if (!echoing)
		return;
	if (cp_writeall(1, line, len) < 0 || cp_writeall(1, "\n", 1) < 0) {
		cp_warnsys("%s: no longer copying lines to stdout", sid);
		echoing = 0;
	}
}

static void
online(const char *line, size_t len)
{
	size_t i;

	catchup();
	nlines++;
	if (len == 0) {
		nempty++;
		return;
	}
	logline(line, len);
	echoline(line, len);
	for (i = 0; i < nsubs; i++) {
		struct sub *s = &subs[i];
		int r;

		if (s->state != S_ACTIVE || s->fb.closing)
			continue;
		r = fb_push(&s->fb, line, len);
		if (r == FB_FULL) {
			cp_warn("dropping subscriber %s: more than %zu bytes behind", s->name, bufmax);
			s->deadline = cp_now_ms() + CLOSE_MS;
		} else if (r == FB_NOMEM) {
			cp_warn("dropping subscriber %s: out of memory", s->name);
			fb_cut(&s->fb);
			s->deadline = cp_now_ms() + CLOSE_MS;
		}
	}
}

static void
flushall(void)
{
	size_t i;

	for (i = nsubs; i-- > 0;)
		flushsub(i);
}

/* Closing subscribers whose time to finish their line is up. */
static int64_t
expire(int64_t now)
{
	int64_t next = -1;
	size_t i;

	for (i = nsubs; i-- > 0;) {
		struct sub *s = &subs[i];

		if (s->state != S_ACTIVE || !s->fb.closing)
			continue;
		if (now >= s->deadline)
			drop(i);
		else if (next < 0 || s->deadline < next)
			next = s->deadline;
	}
	return next;
}

/* Watch subscribers/ with inotify. Without it (e.g. the per-user instance limit is
 * reached), every line is preceded by a scan instead, and the watch is tried again at
 * every periodic scan. */
static void
watch(int quiet)
{
	static int warned;
	char path[64];
	uint32_t mask = IN_CREATE | IN_MOVED_TO | IN_OPEN | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR;

	inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inofd < 0) {
		if (!quiet && !warned)
			cp_warnsys("unable to start inotify: scanning for subscribers before every line");
		warned = 1;
		return;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", subsfd);
	if (inotify_add_watch(inofd, path, mask) < 0) {
		if (!quiet && !warned)
			cp_warnsys("unable to watch %s/%s: scanning for subscribers before every line", sid, CD_SUBS);
		warned = 1;
		close(inofd);
		inofd = -1;
	}
}

static void
setup(int *lockfd, int *calldirfd)
{
	struct cd_err e;
	char now[CD_TIMELEN], line[CD_TIMELEN + 1];
	const char *start;
	int callsfd, fd, r;
	int64_t until;
	off_t end;

	callsfd = cd_open_calls(1, &e);
	if (callsfd < 0)
		cp_die(e.code == CP_EXIT_NEG ? CP_EXIT_TEMP : e.code, "%s", e.msg);
	*calldirfd = cd_open_call(callsfd, sid, 1, &e);
	if (*calldirfd < 0)
		cp_die(e.code == CP_EXIT_NEG ? CP_EXIT_TEMP : e.code, "unable to use call folder %s: %s", sid, e.msg);
	close(callsfd);
	subsfd = cd_open_dir(*calldirfd, CD_SUBS, 1, &e);
	if (subsfd < 0)
		cp_die(e.code == CP_EXIT_NEG ? CP_EXIT_TEMP : e.code, "unable to use call folder %s: %s", sid, e.msg);

	fd = openat(*calldirfd, CD_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to open %s/%s", sid, CD_LOCK);
	until = cp_now_ms() + LOCKWAIT_MS;
	while ((r = flock(fd, LOCK_EX | LOCK_NB)) < 0 && (errno == EWOULDBLOCK || errno == EINTR)) {
		if (cp_now_ms() >= until)
			cp_die(CP_EXIT_PERM, "unable to serve call %s: already live (%s is locked)", sid, CD_LOCK);
		poll(NULL, 0, 10);
	}
	if (r < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to lock %s/%s", sid, CD_LOCK);
	*lockfd = fd;
	cd_isotime(time(NULL), now, sizeof now);
	r = snprintf(line, sizeof line, "%s\n", now);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)r, 0) != r)
		cp_diesys(CP_EXIT_TEMP, "unable to write %s/%s", sid, CD_LOCK);
	if (unlinkat(*calldirfd, CD_ENDED, 0) < 0 && errno != ENOENT)
		cp_diesys(CP_EXIT_TEMP, "unable to remove %s/%s", sid, CD_ENDED);

	start = getenv("TWILIO_START");
	if (start != NULL && *start != '\0') {
		size_t n = strlen(start);
		char *buf = malloc(n + 2);

		if (buf == NULL)
			cp_die(CP_EXIT_TEMP, "unable to save %s/%s: out of memory", sid, CD_START);
		memcpy(buf, start, n);
		buf[n] = '\n';
		if (cd_put(*calldirfd, CD_START, buf, n + 1, 0) < 0)
			cp_diesys(CP_EXIT_TEMP, "unable to save %s/%s", sid, CD_START);
		free(buf);
	}

	logfd = openat(*calldirfd, CD_LOG, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (logfd < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to open %s/%s", sid, CD_LOG);
	end = lseek(logfd, 0, SEEK_END);
	if (end < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to seek %s/%s", sid, CD_LOG);
	logsize = (uint64_t)end;
	if (end > 0) {
		/* a log left with a torn last line by a crash: end it, so lines stay lines */
		int rfd = openat(*calldirfd, CD_LOG, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		char c = '\n';

		if (rfd >= 0 && pread(rfd, &c, 1, end - 1) == 1 && c != '\n') {
			if (cp_writeall(logfd, "\n", 1) < 0)
				cp_diesys(CP_EXIT_TEMP, "unable to write %s/%s", sid, CD_LOG);
			logsize++;
		}
		if (rfd >= 0)
			close(rfd);
	}
	if (logmax == 0)
		logging = 0;

	watch(0);
	rescan();
}

static void
finish(int lockfd, int calldirfd)
{
	char now[CD_TIMELEN], line[CD_TIMELEN + 1];
	size_t i;
	int n;

	/* `ended` first: a subscriber that sees EOF can tell the end of the call from being dropped */
	cd_isotime(time(NULL), now, sizeof now);
	n = snprintf(line, sizeof line, "%s\n", now);
	if (cd_put(calldirfd, CD_ENDED, line, (size_t)n, 0) < 0) {
		cp_warnsys("unable to write %s/%s", sid, CD_ENDED);
		status = CP_EXIT_TEMP;
	}
	for (i = 0; i < nsubs; i++)
		if (subs[i].state == S_ACTIVE) {
			close(subs[i].fd);
			fb_free(&subs[i].fb);
		}
	free(subs);
	if (fsync(logfd) < 0 && errno != EINVAL) {
		cp_warnsys("unable to fsync %s/%s", sid, CD_LOG);
		status = CP_EXIT_TEMP;
	}
	if (close(logfd) < 0) {
		cp_warnsys("unable to close %s/%s", sid, CD_LOG);
		status = CP_EXIT_TEMP;
	}
	(void)fsync(calldirfd);
	cp_info("%s: %llu lines, %llu logged, %llu too long, %llu empty; %llu subscribers, %llu dropped",
	    sid, (unsigned long long)nlines, (unsigned long long)nlogged, (unsigned long long)ntoolong,
	    (unsigned long long)nempty, (unsigned long long)nserved, (unsigned long long)ndrops);
	close(lockfd); /* the call is no longer live */
	close(calldirfd);
	if (subsfd >= 0)
		close(subsfd);
	if (inofd >= 0)
		close(inofd);
}

static long long
num(const char *s, long long min, long long max, const char *what)
{
	long long v;

	if (cp_strtonum(s, min, max, &v) < 0)
		cp_die(CP_EXIT_PERM, "invalid %s %.40s: want %lld..%lld", what, s, min, max);
	return v;
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	const char *csid = NULL;
	struct linebuf lb;
	struct pollfd *pfd;
	size_t *pmap, npfd, first, i;
	int iin, iino;
	int c, sigfd, lockfd = -1, calldirfd = -1, reading = 1, ending = 0;
	int64_t now, nextscan, enddl = 0, t;

	cp_setprog(argv[0]);
	while ((c = getopt(argc, argv, "b:c:l:m:os:")) != -1) {
		switch (c) {
		case 'o': echoing = 1; break;
		case 'b': bufmax = (size_t)num(optarg, 1024, 1LL << 30, "buffer size"); break;
		case 'c': csid = optarg; break;
		case 'l': linemax = (size_t)num(optarg, 1, 8LL << 20, "line length"); break;
		case 'm': logmax = (uint64_t)num(optarg, 0, 1LL << 50, "log size"); break;
		case 's': maxsubs = (size_t)num(optarg, 1, 1024, "subscriber limit"); break;
		default: cp_usage(usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		cp_usage(usage);
	if (csid == NULL)
		csid = getenv("TWILIO_CALL_SID");
	if (csid == NULL || *csid == '\0')
		cp_die(CP_EXIT_PERM, "no CallSid: set TWILIO_CALL_SID or use -c");
	if (!cp_valid_sid(csid, "CA"))
		cp_die(CP_EXIT_PERM, "invalid CallSid %.40s: want CA and 32 hex digits", csid);
	memcpy(sid, csid, sizeof sid);

	cp_ignore_sigpipe();
	sigfd = cp_sigfd(sigs, 3);
	if (sigfd < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	if (lb_init(&lb, 0, linemax) < 0)
		cp_die(CP_EXIT_TEMP, "unable to allocate the line buffer: out of memory");
	setup(&lockfd, &calldirfd);

	pfd = malloc((3 + maxsubs) * sizeof *pfd);
	pmap = malloc((3 + maxsubs) * sizeof *pmap);
	if (pfd == NULL || pmap == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate poll set: out of memory");
	nextscan = cp_now_ms() + RESCAN_MS;
	for (;;) {
		int timeout, done;

		now = cp_now_ms();
		if (now >= nextscan) {
			if (inofd < 0)
				watch(1);
			rescan();
			nextscan = now + RESCAN_MS;
		}
		t = expire(now);
		if (ending) {
			done = 1;
			for (i = 0; i < nsubs; i++)
				if (subs[i].state == S_ACTIVE && fb_len(&subs[i].fb) > 0)
					done = 0;
			if (done || now >= enddl)
				break;
		}
		timeout = (int)(nextscan - now);
		if (t >= 0 && t - now < timeout)
			timeout = (int)(t - now);
		if (ending && enddl - now < timeout)
			timeout = (int)(enddl - now);
		if (timeout < 0)
			timeout = 0;

		npfd = 0;
		pfd[npfd].fd = sigfd;
		pfd[npfd++].events = POLLIN;
		iin = iino = -1;
		if (reading) {
			iin = (int)npfd;
			pfd[npfd].fd = 0;
			pfd[npfd++].events = POLLIN;
		}
		if (inofd >= 0) {
			iino = (int)npfd;
			pfd[npfd].fd = inofd;
			pfd[npfd++].events = POLLIN;
		}
		first = npfd;
		for (i = 0; i < nsubs && npfd < 3 + maxsubs; i++) {
			if (subs[i].state != S_ACTIVE)
				continue;
			pmap[npfd] = i;
			pfd[npfd].fd = subs[i].fd;
			pfd[npfd++].events = fb_len(&subs[i].fb) > 0 ? POLLOUT : 0;
		}
		if (poll(pfd, npfd, timeout) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		}
		/* subscribers first: pmap stays valid while nothing is forgotten */
		for (i = first; i < npfd; i++) {
			struct sub *s = &subs[pmap[i]];

			if (s->state != S_ACTIVE)
				continue;
			if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				cp_warn("dropping subscriber %s: reader gone", s->name);
				drop(pmap[i]);
			} else if (pfd[i].revents & POLLOUT) {
				flushsub(pmap[i]);
			}
		}
		if (pfd[0].revents & POLLIN) {
			int sig = cp_sigread(sigfd);

			if (sig && ending)
				break; /* asked twice: stop flushing */
			if (sig) {
				cp_info("%s: got signal %d: ending the call", sid, sig);
				reading = 0;
				ending = 1;
				enddl = cp_now_ms() + ENDFLUSH_MS;
			}
		}
		if (iino >= 0 && (pfd[iino].revents & POLLIN))
			drainevents();
		if (reading && iin >= 0 && (pfd[iin].revents & (POLLIN | POLLHUP | POLLERR))) {
			int r = lb_fill(&lb);

			if (r == LR_ERR) {
				cp_warnsys("unable to read stdin");
				status = CP_EXIT_TEMP;
				lb.eof = 1; /* what we have is all we get */
			}
			if (r == 0 || r == LR_ERR) {
				reading = 0;
				ending = 1;
				enddl = cp_now_ms() + ENDFLUSH_MS;
			}
		}
		/* every complete line in the buffer (and the last one at EOF) */
		for (;;) {
			char *line;
			size_t len;
			int r = lb_next(&lb, &line, &len);

			if (r == LR_LINE) {
				online(line, len);
			} else if (r == LR_TOOLONG) {
				ntoolong++;
				cp_warn("skipping a line longer than %zu bytes", linemax);
			} else {
				break;
			}
		}
		if (ending && !lb.eof && lb.end > lb.start) {
			cp_warn("dropping an incomplete last line of %zu bytes", lb.end - lb.start);
			lb.start = lb.end = 0;
		}
		if (ending)
			catchup(); /* readers that arrived by the end get EOF too */
		flushall();
	}
	lb_free(&lb);
	free(pfd);
	free(pmap);
	finish(lockfd, calldirfd);
	return status;
}
