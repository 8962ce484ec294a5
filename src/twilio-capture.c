/* twilio-capture: turn recordings into a Twilio Media Streams capture (one JSON message a
 * line): connected, start, media (160 mu-law bytes per 20 ms per track, interleaved by
 * time), stop. Optional, seeded impairments: timestamp jitter, dropped chunks, a late
 * outbound track, irregular chunk sizes. Inputs are converted by sox (fork/exec, no shell)
 * to raw 8 kHz mono mu-law, or read as raw mu-law with -r. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "cp.h"
#include "wav.h"

static const char usage[] =
    "twilio-capture [-nr] [-a accountsid] [-c callsid] [-D nth] [-d percent] [-j ms] "
    "[-l ms] [-m streamsid] [-p name=value] [-s seed] [-z bytes[-bytes]] "
    "inbound [outbound]";

#define CHUNK_MAX 8000          /* largest chunk: 1 s of audio */
#define INBUF (64 * 1024)
#define OUTBUF (64 * 1024)

/* splitmix64: small, seedable, the same on every machine */
struct rng { uint64_t s; };

static uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rng_below(struct rng *r, uint64_t n) /* 0..n-1 */
{
	return n ? rng_next(r) % n : 0;
}

static void
rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	r->s = seed * 0x2545f4914f6cdd1dULL + stream;
	(void)rng_next(r);
}

struct track {
	const char *name;  /* "inbound", "outbound" */
	const char *path;  /* as given, for messages */
	int fd;
	pid_t pid;         /* sox, or 0 with -r */
	FILE *err;         /* sox's stderr, a temporary file */
	unsigned char *buf;
	size_t start, end;
	int eof, done;
	uint64_t left;     /* bytes still to read (a WAV's data length), or UINT64_MAX */
	uint64_t pos;      /* bytes of this track consumed so far */
	uint64_t offset;   /* late start, in samples */
	uint64_t nominal;  /* chunks cut so far (sent or dropped) */
	uint64_t chunk;    /* chunks sent */
	size_t next;       /* size of the next chunk */
	struct rng rsize, rdrop, rjit;
};

static struct {
	char buf[OUTBUF];
	size_t n;
} out;

static void
flush(void)
{
	if (out.n && cp_writeall(1, out.buf, out.n) == -1)
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
	out.n = 0;
}

static void
put(const char *s, size_t n)
{
	if (out.n + n > sizeof out.buf)
		flush();
	if (n > sizeof out.buf) {
		if (cp_writeall(1, s, n) == -1)
			cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
		return;
	}
	memcpy(out.buf + out.n, s, n);
	out.n += n;
}

static void
puts_(const char *s)
{
	put(s, strlen(s));
}

static void
putjson(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s == NULL)
		cp_die(CP_EXIT_TEMP, "unable to format JSON: out of memory");
	puts_(s);
	put("\n", 1);
	free(s);
}

/* Starts sox converting the input (open on t->fd) to raw 8 kHz mono mu-law on a pipe.
 * A regular file is named by its path, so sox may use its extension; anything else
 * (a pipe, a FIFO) is handed over as sox's stdin, so nothing is read twice. */
static void
start_sox(struct track *t)
{
	int pfd[2], efd[2], e = 0, isreg;
	struct stat st;
	char *arg;
	size_t len = strlen(t->path);
	ssize_t r;

	isreg = fstat(t->fd, &st) == 0 && S_ISREG(st.st_mode);
	/* sox gives meaning to some names ("-", "|cmd", URLs, "-n"): make it a plain path */
	if ((arg = malloc(len + 3)) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	if (!isreg)
		memcpy(arg, "-", 2);
	else if (t->path[0] == '/')
		memcpy(arg, t->path, len + 1);
	else {
		memcpy(arg, "./", 2);
		memcpy(arg + 2, t->path, len + 1);
	}
	if ((t->err = tmpfile()) == NULL)
		cp_diesys(CP_EXIT_TEMP, "unable to create a temporary file");
	if (pipe(pfd) == -1 || pipe2(efd, O_CLOEXEC) == -1)
		cp_diesys(CP_EXIT_TEMP, "unable to create a pipe");
	t->pid = fork();
	if (t->pid == -1)
		cp_diesys(CP_EXIT_TEMP, "unable to fork");
	if (t->pid == 0) {
		char *argv[] = { "sox", "-V1", "-D", arg, "-t", "raw", "-e", "mu-law",
		    "-b", "8", "-r", "8000", "-c", "1", "-", NULL };

		close(pfd[0]);
		close(efd[0]);
		if ((!isreg && dup2(t->fd, 0) == -1) ||
		    dup2(pfd[1], 1) == -1 || dup2(fileno(t->err), 2) == -1)
			e = errno;
		else {
			execvp("sox", argv);
			e = errno;
		}
		(void)!write(efd[1], &e, sizeof e);
		_exit(CP_EXIT_NOTFOUND);
	}
	close(pfd[1]);
	close(efd[1]);
	close(t->fd);
	do
		r = read(efd[0], &e, sizeof e);
	while (r == -1 && errno == EINTR);
	close(efd[0]);
	if (r == (ssize_t)sizeof e) {
		errno = e;
		cp_diesys(CP_EXIT_TEMP, "unable to run sox to convert %s", t->path);
	}
	t->fd = pfd[0];
	free(arg);
}

/* After sox ended: exit status, and its last message line as the cause. */
static void
reap_sox(struct track *t)
{
	int st;
	char line[512], last[512] = "";
	char *p;
	pid_t r;

	if (t->pid <= 0)
		return;
	do
		r = waitpid(t->pid, &st, 0);
	while (r == -1 && errno == EINTR);
	t->pid = 0;
	if (r == -1)
		cp_diesys(CP_EXIT_TEMP, "unable to wait for sox");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	rewind(t->err);
	while (fgets(line, sizeof line, t->err) != NULL)
		if (line[0] != '\n')
			memcpy(last, line, sizeof last);
	last[strcspn(last, "\n")] = '\0';
	p = last;
	if (strncmp(p, "sox FAIL ", 9) == 0)
		p += 9;
	else if (strncmp(p, "sox: ", 5) == 0)
		p += 5;
	if (WIFEXITED(st))
		cp_die(CP_EXIT_PERM, "unable to convert %s: sox exited %d%s%s", t->path,
		    WEXITSTATUS(st), *p ? ": " : "", p);
	cp_die(CP_EXIT_TEMP, "unable to convert %s: sox killed by signal %d", t->path,
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Reads until at least want bytes are buffered or EOF. */
static void
fill(struct track *t, size_t want)
{
	ssize_t r;

	if (t->start > 0 && t->end - t->start < want) {
		memmove(t->buf, t->buf + t->start, t->end - t->start);
		t->end -= t->start;
		t->start = 0;
	}
	while (!t->eof && t->end - t->start < want) {
		size_t room = INBUF - t->end;

		if (t->left < room)
			room = (size_t)t->left;
		if (room == 0) {
			t->eof = 1;
			close(t->fd);
			t->fd = -1;
			break;
		}
		flush(); /* never sit on output while blocking on input */
		r = read(t->fd, t->buf + t->end, room);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			cp_diesys(t->pid ? CP_EXIT_TEMP : CP_EXIT_PERM, "unable to read %s", t->path);
		}
		if (r == 0) {
			t->eof = 1;
			close(t->fd);
			t->fd = -1;
			reap_sox(t);
		} else {
			t->end += (size_t)r;
			if (t->left != UINT64_MAX)
				t->left -= (uint64_t)r;
		}
	}
}

/* A WAV that is already 8 kHz mono mu-law is read as it is, byte for byte (sox would
 * turn the negative zero 0x7F into 0xFF). Returns 1 if so, with the header skipped. */
static int
plain_mulaw(struct track *t)
{
	struct wav_fmt f;
	size_t hdr = 0;
	uint32_t datalen = 0;
	const char *why;
	struct stat st;
	ssize_t r;
	int p = 0;

	/* only a regular file: sox must be able to read a pipe from its start */
	if (fstat(t->fd, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	while (t->end < INBUF) {
		r = read(t->fd, t->buf + t->end, INBUF - t->end);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		t->end += (size_t)r;
		if ((p = wav_parse(t->buf, t->end, &f, &hdr, &datalen, &why)) != 0)
			break;
	}
	if (p != 1 || f.format != WAV_MULAW || f.rate != 8000 || f.channels != 1) {
		t->end = 0;
		return 0;
	}
	t->start = hdr;
	if (datalen != WAV_STREAMING) {
		if (t->end - hdr > datalen)
			t->end = hdr + datalen;
		t->left = datalen - (t->end - hdr);
	}
	return 1;
}

static size_t zmin = 160, zmax = 160;

static void
draw_size(struct track *t)
{
	t->next = zmin + (size_t)rng_below(&t->rsize, zmax - zmin + 1);
}

static void
parse_size(const char *s)
{
	char a[32], *dash;
	long long lo, hi;

	if (strlen(s) >= sizeof a)
		cp_die(CP_EXIT_PERM, "bad chunk size %s: want bytes or min-max", s);
	strcpy(a, s);
	if ((dash = strchr(a, '-')) != NULL)
		*dash++ = '\0';
	if (cp_strtonum(a, 1, CHUNK_MAX, &lo) == -1 ||
	    cp_strtonum(dash ? dash : a, 1, CHUNK_MAX, &hi) == -1 || lo > hi)
		cp_die(CP_EXIT_PERM, "bad chunk size %s: want bytes or min-max, 1 to %d", s,
		    CHUNK_MAX);
	zmin = (size_t)lo;
	zmax = (size_t)hi;
}

static long long
num(const char *s, const char *what, long long min, long long max)
{
	long long v;

	if (cp_strtonum(s, min, max, &v) == -1)
		cp_die(CP_EXIT_PERM, "bad %s %s: want %lld to %lld", what, s, min, max);
	return v;
}

static void
checksid(const char *sid, const char *prefix, const char *what)
{
	if (!cp_valid_sid(sid, prefix))
		cp_warn("%s %s is not %s plus 32 hex digits", what, sid, prefix);
}

int
main(int argc, char *argv[])
{
	const char *account = "AC0123456789abcdef0123456789abcdef";
	const char *call = "CAfeedfacecafebeef0123456789abcdef";
	const char *stream = "MZ00112233445566778899aabbccddeeff";
	cJSON *params, *msg, *start, *tracks, *fmt;
	struct track tr[2];
	struct stat st;
	long long seed = 1, jitter = 0, dropp = 0, dropn = 0, late = 0;
	int raw = 0, nostop = 0, ntr, c, i;
	uint64_t seq = 0;
	char *sidjson, *b64;

	cp_setprog(argv[0]);
	cp_ignore_sigpipe();
	if ((params = cJSON_CreateObject()) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	while ((c = getopt(argc, argv, "a:c:D:d:j:l:m:np:rs:z:")) != -1) {
		switch (c) {
		case 'a': account = optarg; break;
		case 'c': call = optarg; break;
		case 'm': stream = optarg; break;
		case 'D': dropn = num(optarg, "drop interval", 0, 1000000000); break;
		case 'd': dropp = num(optarg, "drop percentage", 0, 100); break;
		case 'j': jitter = num(optarg, "jitter", 0, 60000); break;
		case 'l': late = num(optarg, "outbound offset", 0, 86400000); break;
		case 'n': nostop = 1; break;
		case 'r': raw = 1; break;
		case 's': seed = num(optarg, "seed", 0, INT64_MAX); break;
		case 'z': parse_size(optarg); break;
		case 'p': {
			const char *eq = strchr(optarg, '=');
			char *name;

			if (eq == NULL || eq == optarg)
				cp_die(CP_EXIT_PERM, "bad parameter %s: want name=value", optarg);
			if ((name = strndup(optarg, (size_t)(eq - optarg))) == NULL)
				cp_die(CP_EXIT_TEMP, "unable to allocate memory");
			cJSON_DeleteItemFromObjectCaseSensitive(params, name);
			if (cJSON_AddStringToObject(params, name, eq + 1) == NULL)
				cp_die(CP_EXIT_TEMP, "unable to allocate memory");
			free(name);
			break;
		}
		default:
			cp_usage(usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2)
		cp_usage(usage);
	ntr = argc;
	if (late && ntr < 2)
		cp_die(CP_EXIT_PERM, "-l delays the outbound track: give an outbound recording");
	checksid(account, "AC", "AccountSid");
	checksid(call, "CA", "CallSid");
	checksid(stream, "MZ", "StreamSid");

	memset(tr, 0, sizeof tr);
	for (i = 0; i < ntr; i++) {
		struct track *t = &tr[i];

		t->name = i == 0 ? "inbound" : "outbound";
		t->path = argv[i];
		t->offset = i == 1 ? (uint64_t)late * 8 : 0;
		rng_seed(&t->rsize, (uint64_t)seed, 10 + (uint64_t)i);
		rng_seed(&t->rdrop, (uint64_t)seed, 20 + (uint64_t)i);
		rng_seed(&t->rjit, (uint64_t)seed, 30 + (uint64_t)i);
		if ((t->buf = malloc(INBUF)) == NULL)
			cp_die(CP_EXIT_TEMP, "unable to allocate memory");
		/* a missing file is reported by us, not by sox */
		t->fd = open(t->path, O_RDONLY | O_CLOEXEC);
		if (t->fd == -1)
			cp_diesys(errno == ENOENT || errno == EACCES || errno == ENOTDIR ?
			    CP_EXIT_PERM : CP_EXIT_TEMP, "unable to open %s", t->path);
		if (fstat(t->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			cp_diesys(CP_EXIT_PERM, "unable to read %s", t->path);
		}
		t->left = UINT64_MAX;
		if (!raw && !plain_mulaw(t))
			start_sox(t);
	}
	/* the first bytes of every input before any output: a bad file writes nothing */
	for (i = 0; i < ntr; i++) {
		draw_size(&tr[i]);
		fill(&tr[i], 1);
	}

	/* connected, start */
	if ((msg = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddStringToObject(msg, "event", "connected") ||
	    !cJSON_AddStringToObject(msg, "protocol", "Call") ||
	    !cJSON_AddStringToObject(msg, "version", "1.0.0"))
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	putjson(msg);
	cJSON_Delete(msg);

	if ((msg = cJSON_CreateString(stream)) == NULL ||
	    (sidjson = cJSON_PrintUnformatted(msg)) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	cJSON_Delete(msg);
	if ((msg = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddStringToObject(msg, "event", "start") ||
	    !cJSON_AddStringToObject(msg, "sequenceNumber", "1") ||
	    (start = cJSON_AddObjectToObject(msg, "start")) == NULL ||
	    !cJSON_AddStringToObject(start, "accountSid", account) ||
	    !cJSON_AddStringToObject(start, "streamSid", stream) ||
	    !cJSON_AddStringToObject(start, "callSid", call) ||
	    (tracks = cJSON_AddArrayToObject(start, "tracks")) == NULL ||
	    (fmt = cJSON_AddObjectToObject(start, "mediaFormat")) == NULL ||
	    !cJSON_AddStringToObject(fmt, "encoding", "audio/x-mulaw") ||
	    !cJSON_AddNumberToObject(fmt, "sampleRate", 8000) ||
	    !cJSON_AddNumberToObject(fmt, "channels", 1) ||
	    !cJSON_AddItemToObject(start, "customParameters", params) ||
	    !cJSON_AddStringToObject(msg, "streamSid", stream))
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	for (i = 0; i < ntr; i++)
		if (!cJSON_AddItemToArray(tracks, cJSON_CreateString(tr[i].name)))
			cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	putjson(msg);
	cJSON_Delete(msg);
	seq = 1;

	if ((b64 = malloc(B64_ENCODED_LEN(CHUNK_MAX) + 1)) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	for (;;) {
		struct track *t = NULL;
		char head[256];
		size_t n;
		uint64_t ms;
		int64_t ts;
		int drop = 0, len;

		/* the track whose next chunk starts first; inbound wins ties */
		for (i = 0; i < ntr; i++) {
			if (tr[i].done)
				continue;
			if (t == NULL || tr[i].offset + tr[i].pos < t->offset + t->pos)
				t = &tr[i];
		}
		if (t == NULL)
			break;
		fill(t, t->next);
		n = t->end - t->start < t->next ? t->end - t->start : t->next;
		if (n == 0) {
			t->done = 1;
			continue;
		}
		t->nominal++;
		if (dropn && t->nominal % (uint64_t)dropn == 0)
			drop = 1;
		if (dropp && rng_below(&t->rdrop, 100) < (uint64_t)dropp)
			drop = 1;
		ms = (t->offset + t->pos) / 8;
		ts = (int64_t)ms;
		if (jitter)
			ts += (int64_t)rng_below(&t->rjit, (uint64_t)(2 * jitter + 1)) - jitter;
		if (ts < 0)
			ts = 0;
		if (!drop) {
			seq++;
			t->chunk++;
			b64_encode(t->buf + t->start, n, b64);
			len = snprintf(head, sizeof head,
			    "{\"event\":\"media\",\"sequenceNumber\":\"%llu\",\"media\":{\"track\":\"%s\","
			    "\"chunk\":\"%llu\",\"timestamp\":\"%lld\",\"payload\":\"",
			    (unsigned long long)seq, t->name, (unsigned long long)t->chunk,
			    (long long)ts);
			put(head, (size_t)len);
			puts_(b64);
			puts_("\"},\"streamSid\":");
			puts_(sidjson);
			put("}\n", 2);
		}
		t->start += n;
		t->pos += n;
		draw_size(t);
	}

	if (!nostop) {
		char seqs[24];

		snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq + 1);
		if ((msg = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddStringToObject(msg, "event", "stop") ||
		    !cJSON_AddStringToObject(msg, "sequenceNumber", seqs) ||
		    (start = cJSON_AddObjectToObject(msg, "stop")) == NULL ||
		    !cJSON_AddStringToObject(start, "accountSid", account) ||
		    !cJSON_AddStringToObject(start, "callSid", call) ||
		    !cJSON_AddStringToObject(msg, "streamSid", stream))
			cp_die(CP_EXIT_TEMP, "unable to allocate memory");
		putjson(msg);
		cJSON_Delete(msg);
	}
	flush();
	free(b64);
	free(sidjson);
	for (i = 0; i < ntr; i++) {
		free(tr[i].buf);
		if (tr[i].err)
			fclose(tr[i].err);
	}
	return CP_EXIT_OK;
}
