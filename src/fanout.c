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
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "annot.h"
#include "calldir.h"
#include "cp.h"
#include "dirstamp.h"
#include "linebuf.h"
#include "opt.h"
#include "fanbuf.h"

static const char usage[] = "fanout [-o] [-b bufsize] [-c callsid] [-l maxline] [-m maxlog]\n"
    "              [-S streamsid] [-s maxsubs] [-t tracks]";

#define RESCAN_MS 200     /* look at subscribers/ while no line comes */
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
static size_t maxsubs = 256, bufmax = 1048576, linemax = 1048576;
static uint64_t logmax = 268435456, logsize;
static int subsfd = -1, logfd = -1, logging = 1, status = CP_EXIT_OK;
static int warned_pending;
static struct dirstamp scanned;      /* subscribers/ when last read */
static int echoing; /* -o: every annotated line to stdout too (callpipe-publish) */
static uint64_t nlines, nlogged, ntoolong, nempty, nbad, nserved, ndrops;
static char sid[CD_SIDLEN + 1];
static struct cd_own own;             /* the stream we serve */
static char annot[512];               /* "callpipe":{...}, added to every message */
static size_t annotlen;
static char *abuf;                    /* an annotated line */
static const char *reason = "call-ended";

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

/* A name found in subscribers/ by a scan: learn it, open it if it has a reader. */
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

	ds_reading(&scanned, subsfd);
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

/* Before each line: learn new FIFOs and open those whose reader has arrived, so a
 * subscriber that opened its FIFO before this line gets this line. The folder is
 * read again only when its stamp says it may have changed: one fstat a line. */
static void
catchup(void)
{
	size_t i;

	if (ds_changed(&scanned, subsfd))
		rescan();
	for (i = nsubs; i-- > 0;)
		if (subs[i].state == S_PENDING)
			tryopen(i);
}

/* Append a line to the log; one that cannot be written is still fanned out. */
static void
logline(const char *line, size_t len, int count)
{
	struct iovec iov[2];
	ssize_t w;

	if (!logging)
		return;
	if (logsize + len + 1 > logmax) {
		cp_warn("transcript log of %s stream %u reached %llu bytes: later lines are not logged",
		    sid, own.st.n, (unsigned long long)logmax);
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
			cp_warnsys("unable to write transcript log of %s stream %u: later lines are fanned out, not logged",
			    sid, own.st.n);
		else
			cp_warn("unable to write transcript log of %s stream %u: short write: later lines are fanned out, not logged",
			    sid, own.st.n);
		if (w > 0 && ftruncate(logfd, (off_t)logsize) < 0)
			cp_warnsys("unable to truncate transcript log of %s", sid);
		logging = 0;
		return;
	}
	logsize += len + 1;
	nlogged += (uint64_t)count;
}

/* An in-band line from the pipeline: a fatal transcription error ends the stream as
 * transcription-failed. Only lines that start like one are parsed. */
static void
inband(const char *line, size_t len)
{
	static const char pre[] = "{\"type\":\"callpipe.error\"";
	cJSON *j;

	if (len < sizeof pre - 1 || memcmp(line, pre, sizeof pre - 1) != 0)
		return;
	j = cJSON_ParseWithLength(line, len);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "fatal")))
		reason = "transcription-failed";
	cJSON_Delete(j);
}

/* -o: the annotated line (in abuf) on stdout too, in one write so that a reader
 * never gets half of it from a fanout that dies; a reader that goes away stops
 * the copy, never the call. */
static void
echoline(size_t len)
{
	if (!echoing)
		return;
	abuf[len] = '\n';
	if (cp_writeall(1, abuf, len + 1) < 0) {
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
	if ((len = an_annotate(line, len, annot, annotlen, abuf)) == 0) {
		if (nbad++ == 0)
			cp_warn("skipping a line that is not a JSON object (more are counted at the end)");
		return;
	}
	line = abuf;
	inband(line, len);
	logline(line, len, 1);
	echoline(len);
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

/* The member fanout adds to every message: which call, stream and track, and where the
 * stream starts on the call's timeline. */
static void
annotation(const char *tracks)
{
	annotlen = an_member(annot, sizeof annot, sid, own.st.ssid, own.st.n, tracks,
	    own.st.start_ms - own.call_start_ms);
	if (annotlen == 0)
		cp_die(CP_EXIT_TEMP, "unable to build the callpipe member");
}

static void
setup(const char *ssid)
{
	struct cd_err e;
	const char *start;
	off_t end;

	if (cd_stream_open(sid, ssid, &own, &e) < 0)
		cp_die(e.code == CP_EXIT_NEG ? CP_EXIT_TEMP : e.code, "unable to serve call %s: %s", sid, e.msg);
	subsfd = cd_open_dir(own.streamfd, CD_SUBS, 0, &e);
	if (subsfd < 0)
		cp_die(e.code == CP_EXIT_NEG ? CP_EXIT_TEMP : e.code, "unable to use call folder %s: %s", sid, e.msg);
	cp_info("%s: stream %s %s", sid, own.st.name, own.continued ? "continued" : "started");

	/* Nothing below is needed to serve subscribers: a full disk only costs the record. */
	start = getenv("TWILIO_START");
	if (start != NULL && *start != '\0' && !own.continued) {
		size_t n = strlen(start);
		char *buf = malloc(n + 2);

		if (buf == NULL || (memcpy(buf, start, n), buf[n] = '\n', cd_put(own.streamfd, CD_START, buf, n + 1, 0) < 0))
			cp_warnsys("unable to save %s/%s", own.st.name, CD_START);
		free(buf);
	}
	logfd = openat(own.streamfd, CD_LOG, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (logfd < 0 || (end = lseek(logfd, 0, SEEK_END)) < 0) {
		cp_warnsys("unable to open %s/%s: lines are fanned out, not logged", own.st.name, CD_LOG);
		logging = 0;
		end = 0;
	}
	logsize = (uint64_t)end;
	if (end > 0) {
		/* a log left with a torn last line by a crash: end it, so lines stay lines */
		int rfd = openat(own.streamfd, CD_LOG, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		char c = '\n';

		if (rfd >= 0 && pread(rfd, &c, 1, end - 1) == 1 && c != '\n')
			logline("", 0, 0);
		if (rfd >= 0)
			close(rfd);
	}
	if (logmax == 0)
		logging = 0;

	rescan();
}

static void
finish(void)
{
	size_t i;

	/* FIFOs closed last: a subscriber that sees EOF can tell the end of the stream
	 * (ended mark, lock free) from being dropped */
	if (logfd >= 0 && fsync(logfd) < 0 && errno != EINVAL && errno != EROFS)
		cp_warnsys("unable to fsync %s/%s", own.st.name, CD_LOG);
	if (logfd >= 0 && close(logfd) < 0)
		cp_warnsys("unable to close %s/%s", own.st.name, CD_LOG);
	if (cd_stream_end(&own, reason) < 0)
		cp_warnsys("unable to write %s/%s (the stream still ended)", own.st.name, CD_ENDED);
	for (i = 0; i < nsubs; i++)
		if (subs[i].state == S_ACTIVE) {
			close(subs[i].fd);
			fb_free(&subs[i].fb);
		}
	free(subs);
	cp_info("%s: stream %u: %llu lines, %llu logged, %llu too long, %llu empty, %llu not JSON objects; "
	    "%llu subscribers, %llu dropped; %s",
	    sid, own.st.n, (unsigned long long)nlines, (unsigned long long)nlogged, (unsigned long long)ntoolong,
	    (unsigned long long)nempty, (unsigned long long)nbad, (unsigned long long)nserved,
	    (unsigned long long)ndrops, reason);
	if (subsfd >= 0)
		close(subsfd);
}

/* The event loop's state: input, the end, the poll set. */
static struct {
	struct linebuf lb;
	int sigfd, reading, ending;
	int64_t enddl, nextscan;
	struct pollfd *pfd;
	size_t *pmap, npfd, first;
	int iin;
} L;

static void
startend(void)
{
	L.reading = 0;
	L.ending = 1;
	L.enddl = cp_now_ms() + ENDFLUSH_MS;
}

/* Milliseconds to wait in poll, or -1 when the end's flushing is over. */
static int
waittime(void)
{
	int64_t now = cp_now_ms(), t;
	int timeout;
	size_t i;

	if (now >= L.nextscan) {
		catchup(); /* a reader that came while the call is silent */
		L.nextscan = now + RESCAN_MS;
	}
	t = expire(now);
	if (L.ending) {
		int done = 1;

		for (i = 0; i < nsubs; i++)
			if (subs[i].state == S_ACTIVE && fb_len(&subs[i].fb) > 0)
				done = 0;
		if (done || now >= L.enddl)
			return -1;
	}
	timeout = (int)(L.nextscan - now);
	if (t >= 0 && t - now < timeout)
		timeout = (int)(t - now);
	if (L.ending && L.enddl - now < timeout)
		timeout = (int)(L.enddl - now);
	return timeout < 0 ? 0 : timeout;
}

static void
pollset(void)
{
	size_t i;

	L.npfd = 0;
	L.pfd[L.npfd].fd = L.sigfd;
	L.pfd[L.npfd++].events = POLLIN;
	L.iin = -1;
	if (L.reading) {
		L.iin = (int)L.npfd;
		L.pfd[L.npfd].fd = 0;
		L.pfd[L.npfd++].events = POLLIN;
	}
	L.first = L.npfd;
	for (i = 0; i < nsubs && L.npfd < 2 + maxsubs; i++) {
		if (subs[i].state != S_ACTIVE)
			continue;
		L.pmap[L.npfd] = i;
		L.pfd[L.npfd].fd = subs[i].fd;
		L.pfd[L.npfd++].events = fb_len(&subs[i].fb) > 0 ? POLLOUT : 0;
	}
}

/* Subscribers first: pmap stays valid while nothing is forgotten. */
static void
onsubs(void)
{
	size_t i;

	for (i = L.first; i < L.npfd; i++) {
		struct sub *s = &subs[L.pmap[i]];

		if (s->state != S_ACTIVE)
			continue;
		if (L.pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			cp_warn("dropping subscriber %s: reader gone", s->name);
			drop(L.pmap[i]);
		} else if (L.pfd[i].revents & POLLOUT) {
			flushsub(L.pmap[i]);
		}
	}
}

/* Standard input, then every complete line in the buffer (and the last one at EOF). */
static void
oninput(void)
{
	char *line;
	size_t len;
	int r;

	if (L.reading && L.iin >= 0 && (L.pfd[L.iin].revents & (POLLIN | POLLHUP | POLLERR))) {
		r = lb_fill(&L.lb);
		if (r == LR_ERR) {
			cp_warnsys("unable to read stdin");
			status = CP_EXIT_TEMP;
			L.lb.eof = 1; /* what we have is all we get */
		}
		if (r == 0 || r == LR_ERR)
			startend();
	}
	while ((r = lb_next(&L.lb, &line, &len)) == LR_LINE || r == LR_TOOLONG) {
		if (r == LR_LINE) {
			online(line, len);
		} else {
			ntoolong++;
			cp_warn("skipping a line longer than %zu bytes", linemax);
		}
	}
	if (L.ending && !L.lb.eof && L.lb.end > L.lb.start) {
		cp_warn("dropping an incomplete last line of %zu bytes", L.lb.end - L.lb.start);
		L.lb.start = L.lb.end = 0;
	}
}

static void
loop(int sigfd)
{
	int timeout, sig;

	L.sigfd = sigfd;
	L.reading = 1;
	if (lb_init(&L.lb, 0, linemax) < 0)
		cp_die(CP_EXIT_TEMP, "unable to allocate the line buffer: out of memory");
	L.pfd = malloc((2 + maxsubs) * sizeof *L.pfd);
	L.pmap = malloc((2 + maxsubs) * sizeof *L.pmap);
	if (L.pfd == NULL || L.pmap == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate poll set: out of memory");
	L.nextscan = cp_now_ms() + RESCAN_MS;
	while ((timeout = waittime()) >= 0) {
		pollset();
		if (poll(L.pfd, L.npfd, timeout) < 0) {
			if (errno == EINTR)
				continue;
			cp_diesys(CP_EXIT_TEMP, "unable to poll");
		}
		onsubs();
		if ((L.pfd[0].revents & POLLIN) && (sig = cp_sigread(sigfd)) != 0) {
			if (L.ending)
				break; /* asked twice: stop flushing */
			cp_info("%s: got signal %d: ending the call", sid, sig);
			startend();
		}
		oninput();
		if (L.ending)
			catchup(); /* readers that arrived by the end get EOF too */
		flushall();
	}
	lb_free(&L.lb);
	free(L.pfd);
	free(L.pmap);
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	const char *csid = NULL, *ssid = NULL, *tracks = NULL;
	int c, sigfd;

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	opterr = 0;
	while ((c = getopt(argc, argv, ":b:c:l:m:oS:s:t:")) != -1) {
		switch (c) {
		case 'b': bufmax = (size_t)cp_optnum(optarg, 1024, 1LL << 30, "-b bufsize"); break;
		case 'c': csid = optarg; break;
		case 'l': linemax = (size_t)cp_optnum(optarg, 1, 8LL << 20, "-l maxline"); break;
		case 'm': logmax = (uint64_t)cp_optnum(optarg, 0, 1LL << 50, "-m maxlog"); break;
		case 'o': echoing = 1; break;
		case 'S': ssid = optarg; break;
		case 's': maxsubs = (size_t)cp_optnum(optarg, 1, 1024, "-s maxsubs"); break;
		case 't': tracks = optarg; break;
		default: cp_opterr(c, argv, usage);
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
	if (ssid == NULL)
		ssid = getenv("TWILIO_STREAM_SID");
	if (ssid != NULL && *ssid != '\0' && !cp_valid_sid(ssid, "MZ")) {
		cp_warn("ignoring invalid StreamSid %.40s: want MZ and 32 hex digits", ssid);
		ssid = NULL;
	}
	if (tracks == NULL)
		tracks = getenv("TWILIO_TRACKS");

	cp_ignore_sigpipe();
	sigfd = cp_sigfd(sigs, 3);
	if (sigfd < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
	abuf = malloc(linemax + sizeof annot + 2);
	if (abuf == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate the line buffer: out of memory");
	setup(ssid ? ssid : "");
	annotation(tracks);

	loop(sigfd);
	finish();
	free(abuf);
	return status;
}
