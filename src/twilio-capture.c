/* twilio-capture: turn recordings into a Twilio Media Streams capture (one JSON
 * message a line): connected, start, media (160 mu-law bytes per 20 ms per
 * track, interleaved by time), stop. Optional, seeded impairments: timestamp
 * jitter, dropped chunks, a late outbound track, irregular chunk sizes. Inputs
 * are converted by sox (fork/exec, no shell) to raw 8 kHz mono mu-law, or read
 * as raw mu-law with -r. */
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
#include "bq.h"
#include "cp.h"
#include "opt.h"
#include "wav.h"

static const char usage[] =
    "twilio-capture [-nru] [-a accountsid] [-c callsid] [-D nth] [-d percent] "
    "[-j ms] [-l ms] [-m streamsid] [-p name=value] [-s seed] "
    "[-z bytes[-bytes]] inbound [outbound]";

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
	uint64_t left;     /* to read (a WAV's data length), or UINT64_MAX */
	uint64_t pos;      /* bytes of this track consumed so far */
	uint64_t offset;   /* late start, in samples */
	uint64_t nominal;  /* chunks cut so far (sent or dropped) */
	uint64_t chunk;    /* chunks sent */
	size_t next;       /* size of the next chunk */
	struct rng rsize, rdrop, rjit;
};

/* The whole run: options, tracks, and stdout. */
struct opts {
	const char *account, *call, *stream;
	cJSON *params;
	long long seed, jitter, dropp, dropn, late;
	size_t zmin, zmax;
	int raw, nostop, unpadded;
};

struct run {
	const struct opts *o;
	struct track tr[2];
	int ntr;
	uint64_t seq;
	char *sidjson, *b64;
	struct bq out;
};

static unsigned char silence[CHUNK_MAX]; /* mu-law 0xFF, set in main */

static void
flush(struct run *r)
{
	if (bq_flush(&r->out, 1) == -1)
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
}

static void
put(struct run *r, const char *s, size_t n)
{
	if (bq_push(&r->out, s, n) == -1)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	if (bq_len(&r->out) >= OUTBUF)
		flush(r);
}

static void
puts_(struct run *r, const char *s)
{
	put(r, s, strlen(s));
}

static void
putjson(struct run *r, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s == NULL)
		cp_die(CP_EXIT_TEMP, "unable to format JSON: out of memory");
	puts_(r, s);
	put(r, "\n", 1);
	free(s);
}

/* Starts sox converting the input (open on t->fd) to raw 8 kHz mono mu-law on a
 * pipe. A regular file is named by its path, so sox may use its extension;
 * anything else (a pipe, a FIFO) is handed over as sox's stdin, so nothing is
 * read twice. */
static void
start_sox(struct track *t)
{
	int pfd[2], efd[2], e = 0, isreg;
	struct stat st;
	char *arg;
	size_t len = strlen(t->path);
	ssize_t r;

	isreg = fstat(t->fd, &st) == 0 && S_ISREG(st.st_mode);
	/* sox gives meaning to some names ("-", "|cmd", URLs, "-n"): make it a
	 * plain path */
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
		char *argv[] = { "sox", "-V1", "-D", arg, "-t", "raw", "-e",
		    "mu-law", "-b", "8", "-r", "8000", "-c", "1", "-", NULL };

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
		cp_diesys(CP_EXIT_TEMP, "unable to run sox to convert %s",
		    t->path);
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
		cp_die(CP_EXIT_PERM, "unable to convert %s: sox exited %d%s%s",
		    t->path, WEXITSTATUS(st), *p ? ": " : "", p);
	cp_die(CP_EXIT_TEMP, "unable to convert %s: sox killed by signal %d",
	    t->path, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* A WAV that is already 8 kHz mono mu-law is read as it is, byte for byte (sox
 * would turn the negative zero 0x7F into 0xFF). Returns 1 if so, with the
 * header skipped. */
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

	/* only a regular file: sox must read a pipe from its start */
	if (fstat(t->fd, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	while (t->end < INBUF) {
		r = read(t->fd, t->buf + t->end, INBUF - t->end);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		t->end += (size_t)r;
		p = wav_parse(t->buf, t->end, &f, &hdr, &datalen, &why);
		if (p != 0)
			break;
	}
	if (p != 1 || f.format != WAV_MULAW || f.rate != 8000 ||
	    f.channels != 1) {
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

/* Reads until at least want bytes are buffered or EOF. */
static void
fill(struct run *rn, struct track *t, size_t want)
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
		flush(rn); /* never sit on output while blocking on input */
		r = read(t->fd, t->buf + t->end, room);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			cp_diesys(t->pid ? CP_EXIT_TEMP : CP_EXIT_PERM,
			    "unable to read %s", t->path);
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


static void
draw_size(const struct run *rn, struct track *t)
{
	const struct opts *o = rn->o;

	t->next = o->zmin + (size_t)rng_below(&t->rsize, o->zmax - o->zmin + 1);
}

static void
parse_size(struct opts *o, const char *s)
{
	char a[32], *dash;
	long long lo, hi;

	if (strlen(s) >= sizeof a)
		cp_usagef("-z bytes: want bytes or min-max, 1 to %d, not %.40s",
		    CHUNK_MAX, s);
	strcpy(a, s);
	if ((dash = strchr(a, '-')) != NULL)
		*dash++ = '\0';
	if (cp_strtonum(a, 1, CHUNK_MAX, &lo) == -1 ||
	    cp_strtonum(dash ? dash : a, 1, CHUNK_MAX, &hi) == -1 || lo > hi)
		cp_usagef("-z bytes: want bytes or min-max, 1 to %d, not %s",
		    CHUNK_MAX, s);
	o->zmin = (size_t)lo;
	o->zmax = (size_t)hi;
}

static void
add_param(struct opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name;

	if (eq == NULL || eq == arg)
		cp_usagef("-p name=value: want name=value, not %.100s", arg);
	if ((name = strndup(arg, (size_t)(eq - arg))) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	cJSON_DeleteItemFromObjectCaseSensitive(o->params, name);
	if (cJSON_AddStringToObject(o->params, name, eq + 1) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	free(name);
}

static void
checksid(const char *sid, const char *prefix, const char *what)
{
	if (!cp_valid_sid(sid, prefix))
		cp_warn("%s %s is not %s plus 32 hex digits", what, sid,
		    prefix);
}

/* Open recording i; a missing file is reported by us, not by sox. */
static void
open_track(struct run *rn, int i, const char *path)
{
	const struct opts *o = rn->o;
	struct track *t = &rn->tr[i];
	struct stat st;

	t->name = i == 0 ? "inbound" : "outbound";
	t->path = path;
	t->offset = i == 1 ? (uint64_t)o->late * 8 : 0;
	rng_seed(&t->rsize, (uint64_t)o->seed, 10 + (uint64_t)i);
	rng_seed(&t->rdrop, (uint64_t)o->seed, 20 + (uint64_t)i);
	rng_seed(&t->rjit, (uint64_t)o->seed, 30 + (uint64_t)i);
	if ((t->buf = malloc(INBUF)) == NULL)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
	t->fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (t->fd == -1)
		cp_diesys(errno == ENOENT || errno == EACCES ||
		    errno == ENOTDIR ? CP_EXIT_PERM : CP_EXIT_TEMP,
		    "unable to open %s", t->path);
	if (fstat(t->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		cp_diesys(CP_EXIT_PERM, "unable to read %s", t->path);
	}
	t->left = UINT64_MAX;
	if (!o->raw && !plain_mulaw(t))
		start_sox(t);
}

static void
nomem_if(int bad)
{
	if (bad)
		cp_die(CP_EXIT_TEMP, "unable to allocate memory");
}

static void
put_connected(struct run *rn)
{
	cJSON *msg;

	nomem_if((msg = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddStringToObject(msg, "event", "connected") ||
	    !cJSON_AddStringToObject(msg, "protocol", "Call") ||
	    !cJSON_AddStringToObject(msg, "version", "1.0.0"));
	putjson(rn, msg);
	cJSON_Delete(msg);
}

/* The start message owns the parameters from here on. */
static void
put_start(struct run *rn)
{
	const struct opts *o = rn->o;
	cJSON *msg, *start, *tracks, *fmt;
	int i;

	nomem_if((msg = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddStringToObject(msg, "event", "start") ||
	    !cJSON_AddStringToObject(msg, "sequenceNumber", "1") ||
	    (start = cJSON_AddObjectToObject(msg, "start")) == NULL ||
	    !cJSON_AddStringToObject(start, "accountSid", o->account) ||
	    !cJSON_AddStringToObject(start, "streamSid", o->stream) ||
	    !cJSON_AddStringToObject(start, "callSid", o->call) ||
	    (tracks = cJSON_AddArrayToObject(start, "tracks")) == NULL ||
	    (fmt = cJSON_AddObjectToObject(start, "mediaFormat")) == NULL ||
	    !cJSON_AddStringToObject(fmt, "encoding", "audio/x-mulaw") ||
	    !cJSON_AddNumberToObject(fmt, "sampleRate", 8000) ||
	    !cJSON_AddNumberToObject(fmt, "channels", 1) ||
	    !cJSON_AddItemToObject(start, "customParameters", o->params) ||
	    !cJSON_AddStringToObject(msg, "streamSid", o->stream));
	for (i = 0; i < rn->ntr; i++)
		nomem_if(!cJSON_AddItemToArray(tracks,
		    cJSON_CreateString(rn->tr[i].name)));
	putjson(rn, msg);
	cJSON_Delete(msg);
	rn->seq = 1;
}

static void
put_stop(struct run *rn)
{
	const struct opts *o = rn->o;
	cJSON *msg, *stop;
	char seqs[24];

	snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)rn->seq + 1);
	nomem_if((msg = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddStringToObject(msg, "event", "stop") ||
	    !cJSON_AddStringToObject(msg, "sequenceNumber", seqs) ||
	    (stop = cJSON_AddObjectToObject(msg, "stop")) == NULL ||
	    !cJSON_AddStringToObject(stop, "accountSid", o->account) ||
	    !cJSON_AddStringToObject(stop, "callSid", o->call) ||
	    !cJSON_AddStringToObject(msg, "streamSid", o->stream));
	putjson(rn, msg);
	cJSON_Delete(msg);
}

/* One chunk of n bytes at data, the track's next: dropped, or one media
 * message. */
static void
put_chunk(struct run *rn, struct track *t, const unsigned char *data, size_t n)
{
	const struct opts *o = rn->o;
	char head[256];
	int64_t ts;
	int drop = 0, len;

	t->nominal++;
	if (o->dropn && t->nominal % (uint64_t)o->dropn == 0)
		drop = 1;
	if (o->dropp && rng_below(&t->rdrop, 100) < (uint64_t)o->dropp)
		drop = 1;
	ts = (int64_t)((t->offset + t->pos) / 8);
	if (o->jitter)
		ts += (int64_t)rng_below(&t->rjit,
		    (uint64_t)(2 * o->jitter + 1)) - o->jitter;
	if (ts < 0)
		ts = 0;
	t->pos += n;
	draw_size(rn, t);
	if (drop)
		return;
	rn->seq++;
	t->chunk++;
	b64_encode(data, n, rn->b64);
	len = snprintf(head, sizeof head, "{\"event\":\"media\","
	    "\"sequenceNumber\":\"%llu\",\"media\":{\"track\":\"%s\","
	    "\"chunk\":\"%llu\",\"timestamp\":\"%lld\",\"payload\":\"",
	    (unsigned long long)rn->seq, t->name, (unsigned long long)t->chunk,
	    (long long)ts);
	put(rn, head, (size_t)len);
	puts_(rn, rn->b64);
	puts_(rn, "\"},\"streamSid\":");
	puts_(rn, rn->sidjson);
	put(rn, "}\n", 2);
}

static uint64_t
at(const struct track *t)
{
	return t->offset + t->pos;
}

static int
dry(const struct track *t)
{
	return t->eof && t->start == t->end;
}

/* The track whose next chunk starts first (inbound wins ties), or NULL at the
 * end. A track whose recording has ended is padded with silence up to where the
 * other one has got, as on a real stream (both tracks run for the whole call):
 * it waits while it is not behind. */
static struct track *
next_track(struct run *rn, uint64_t *far)
{
	struct track *t = NULL, *u;
	int i;

	*far = 0;
	for (i = 0; i < rn->ntr; i++)
		if (at(&rn->tr[i]) > *far)
			*far = at(&rn->tr[i]);
	for (i = 0; i < rn->ntr; i++) {
		u = &rn->tr[i];
		if (u->done || (dry(u) && at(u) >= *far))
			continue;
		if (t == NULL || at(u) < at(t))
			t = u;
	}
	return t;
}

static void
media(struct run *rn)
{
	struct track *t;
	uint64_t far;
	size_t n;

	while ((t = next_track(rn, &far)) != NULL) {
		if (!dry(t))
			fill(rn, t, t->next);
		n = t->end - t->start < t->next ? t->end - t->start : t->next;
		if (n > 0) {
			put_chunk(rn, t, t->buf + t->start, n);
			t->start += n;
		} else if (rn->o->unpadded || !dry(t))
			t->done = 1;
		else if (far > at(t)) {
			n = far - at(t) < t->next ? (size_t)(far - at(t)) :
			    t->next;
			put_chunk(rn, t, silence, n);
		} /* else it just ran dry, not behind: next_track skips it */
	}
}

static void
capture(const struct opts *o, int ntr, char **paths)
{
	struct run rn;
	cJSON *sid;
	int i;

	memset(&rn, 0, sizeof rn);
	rn.o = o;
	rn.ntr = ntr;
	bq_init(&rn.out);
	for (i = 0; i < ntr; i++)
		open_track(&rn, i, paths[i]);
	/* the first bytes of every input before any output: a bad file writes
	 * nothing */
	for (i = 0; i < ntr; i++) {
		draw_size(&rn, &rn.tr[i]);
		fill(&rn, &rn.tr[i], 1);
	}
	nomem_if((sid = cJSON_CreateString(o->stream)) == NULL ||
	    (rn.sidjson = cJSON_PrintUnformatted(sid)) == NULL ||
	    (rn.b64 = malloc(B64_ENCODED_LEN(CHUNK_MAX) + 1)) == NULL);
	cJSON_Delete(sid);
	put_connected(&rn);
	put_start(&rn);
	media(&rn);
	if (!o->nostop)
		put_stop(&rn);
	flush(&rn);
	bq_free(&rn.out);
	free(rn.b64);
	free(rn.sidjson);
	for (i = 0; i < ntr; i++) {
		free(rn.tr[i].buf);
		if (rn.tr[i].err)
			fclose(rn.tr[i].err);
	}
}

int
main(int argc, char *argv[])
{
	struct opts o = {
		.account = "AC0123456789abcdef0123456789abcdef",
		.call = "CAfeedfacecafebeef0123456789abcdef",
		.stream = "MZ00112233445566778899aabbccddeeff",
		.seed = 1, .zmin = 160, .zmax = 160,
	};
	int c;

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	cp_ignore_sigpipe();
	nomem_if((o.params = cJSON_CreateObject()) == NULL);
	opterr = 0;
	while ((c = getopt(argc, argv, ":a:c:D:d:j:l:m:np:rs:uz:")) != -1) {
		switch (c) {
		case 'a': o.account = optarg; break;
		case 'c': o.call = optarg; break;
		case 'm': o.stream = optarg; break;
		case 'D':
			o.dropn = cp_optnum(optarg, 0, 1000000000, "-D nth");
			break;
		case 'd':
			o.dropp = cp_optnum(optarg, 0, 100, "-d percent");
			break;
		case 'j':
			o.jitter = cp_optnum(optarg, 0, 60000, "-j ms");
			break;
		case 'l':
			o.late = cp_optnum(optarg, 0, 86400000, "-l ms");
			break;
		case 'n': o.nostop = 1; break;
		case 'p': add_param(&o, optarg); break;
		case 'r': o.raw = 1; break;
		case 's':
			o.seed = cp_optnum(optarg, 0, INT64_MAX, "-s seed");
			break;
		case 'u': o.unpadded = 1; break;
		case 'z': parse_size(&o, optarg); break;
		default: cp_opterr(c, argv, usage);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2)
		cp_usage(usage);
	if (o.late && argc < 2)
		cp_usagef("-l ms delays the outbound track: give an outbound "
		    "recording");
	checksid(o.account, "AC", "AccountSid");
	checksid(o.call, "CA", "CallSid");
	checksid(o.stream, "MZ", "StreamSid");
	memset(silence, 0xFF, sizeof silence);
	capture(&o, argc, argv);
	return CP_EXIT_OK;
}
