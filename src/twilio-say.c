/* twilio-say: audio (or text, through a TTS command) in, what Twilio must
 * receive to play it in a bidirectional Media Stream out: media messages of
 * 8 kHz mu-law, then a mark, one JSON object a line. Sent ahead of real time by
 * a bounded lead only, so a clear takes effect at once and nothing piles up. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base64.h"
#include "cp.h"
#include "opt.h"

extern char **environ;

static const char usage[] =
    "twilio-say [-cr] [-f type] [-l lead-ms] [-m name] [-s stream-sid] "
    "[-T tts-command] [-t text]";

#define CHUNK 160          /* bytes of mu-law a media message carries: 20 ms */
#define TEXT_MAX 4096      /* longest -t text */
#define NAME_MAX_LEN 64    /* longest stream SID or mark name */
#define ERR_MAX 300        /* converter's message kept for ours */
#define DEFAULT_TTS "espeak-ng --stdout"

struct say {
	const char *sid, *mark, *tts, *type, *text;
	char markbuf[32];
	int raw, clear;
	long long lead;
	int sigfd, afd, errfd;
	pid_t child;
	int64_t t0;
	uint64_t bytes, msgs;
	int stopped;
};

/* [A-Za-z0-9] and the punctuation SIDs and names use: nothing to escape */
static int
plain(const char *s, const char *extra)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(extra, c) != NULL))
			return 0;
	}
	return 1;
}

static void
emit(struct say *s, const char *line, size_t n)
{
	if (cp_writeall(1, line, n) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to write to stdout");
	s->msgs++;
}

static void
send_media(struct say *s, const unsigned char *a, size_t n)
{
	char line[128 + B64_ENCODED_LEN(CHUNK)];
	int k;

	k = snprintf(line, sizeof line,
	    "{\"event\":\"media\",\"streamSid\":\"%s\","
	    "\"media\":{\"payload\":\"", s->sid);
	k += (int)b64_encode(a, n, line + k);
	k += snprintf(line + k, sizeof line - (size_t)k, "\"}}\n");
	emit(s, line, (size_t)k);
	s->bytes += n;
}

static void
send_event(struct say *s, const char *event)
{
	char line[256];
	int k;

	if (strcmp(event, "mark") == 0)
		k = snprintf(line, sizeof line,
		    "{\"event\":\"mark\",\"streamSid\":\"%s\","
		    "\"mark\":{\"name\":\"%s\"}}\n", s->sid, s->mark);
	else
		k = snprintf(line, sizeof line,
		    "{\"event\":\"clear\",\"streamSid\":\"%s\"}\n", s->sid);
	emit(s, line, (size_t)k);
}

/* The converter: sh -c '[TTS |] sox ... -> raw 8 kHz mu-law mono' on a pipe.
 * The text (at most TEXT_MAX bytes) fits in the pipe: written before any
 * reading. */
static void
start_conv(struct say *s)
{
	char script[8192];
	char *argv[] = { "sh", "-c", script, "twilio-say", NULL };
	posix_spawn_file_actions_t fa;
	int out[2], err[2], in[2] = { -1, -1 }, rc;

	rc = snprintf(script, sizeof script, "%s%ssox -V1 -D -t %s - "
	    "-t raw -e mu-law -b 8 -r 8000 -c 1 -", s->text ? s->tts : "",
	    s->text ? " | " : "", s->type);
	if (rc < 0 || (size_t)rc >= sizeof script)
		cp_die(CP_EXIT_PERM, "TTS command too long");
	if (pipe(out) < 0 || pipe(err) < 0 || (s->text && pipe(in) < 0))
		cp_diesys(CP_EXIT_TEMP, "unable to create a pipe");
	if (posix_spawn_file_actions_init(&fa) != 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up posix_spawn");
	if (s->text)
		(void)posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	(void)posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	(void)posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	(void)cp_setcloexec(out[0]);
	(void)cp_setcloexec(out[1]);
	(void)cp_setcloexec(err[0]);
	(void)cp_setcloexec(err[1]);
	if (s->text) {
		(void)cp_setcloexec(in[0]);
		(void)cp_setcloexec(in[1]);
	}
	rc = posix_spawn(&s->child, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		cp_diesys(CP_EXIT_NOEXEC, "unable to run /bin/sh");
	}
	(void)close(out[1]);
	(void)close(err[1]);
	s->afd = out[0];
	s->errfd = err[0];
	if (s->text) {
		(void)close(in[0]);
		if (cp_writeall(in[1], s->text, strlen(s->text)) < 0 &&
		    errno != EPIPE)
			cp_diesys(CP_EXIT_TEMP,
			    "unable to pass the text to the TTS command");
		(void)close(in[1]);
	}
}

/* Wait for fd to be readable, or for a signal (then s->stopped). */
static int
waitin(struct say *s, int fd, int timeout)
{
	struct pollfd pf[2] = { { s->sigfd, POLLIN, 0 }, { fd, POLLIN, 0 } };
	int r;

	do
		r = poll(pf, fd >= 0 ? 2 : 1, timeout);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to poll");
	if (pf[0].revents && cp_sigread(s->sigfd) != 0)
		s->stopped = 1;
	return fd >= 0 && pf[1].revents != 0;
}

/* Up to CHUNK bytes; 0 at the end of the audio or when stopped. */
static size_t
read_chunk(struct say *s, unsigned char *a)
{
	size_t n = 0;
	ssize_t r;

	while (n < CHUNK && !s->stopped) {
		if (!waitin(s, s->afd, -1))
			continue;
		r = read(s->afd, a + n, CHUNK - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			cp_diesys(CP_EXIT_TEMP, "unable to read the audio");
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return s->stopped ? 0 : n;
}

/* Hold the next chunk until it is at most `lead` ms ahead of real time. */
static void
pace(struct say *s)
{
	int64_t due, now;

	if (s->bytes == 0) {
		s->t0 = cp_now_ms();
		return;
	}
	due = s->t0 + (int64_t)(s->bytes / 8) - s->lead;
	while (!s->stopped && (now = cp_now_ms()) < due)
		(void)waitin(s, -1, (int)(due - now));
}

/* The converter's status; on failure, its first message in ours. */
static void
end_conv(struct say *s)
{
	char msg[ERR_MAX + 1], *nl;
	ssize_t r;
	size_t n = 0;
	int st;

	if (s->stopped)
		(void)kill(s->child, SIGTERM);
	(void)close(s->afd);
	while (n < ERR_MAX && (r = read(s->errfd, msg + n, ERR_MAX - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	msg[n] = '\0';
	(void)close(s->errfd);
	if ((nl = strchr(msg, '\n')) != NULL)
		*nl = '\0';
	while (waitpid(s->child, &st, 0) < 0)
		if (errno != EINTR)
			cp_diesys(CP_EXIT_TEMP,
			    "unable to wait for the converter");
	if (s->stopped || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return;
	cp_die(CP_EXIT_PERM, "unable to convert %s to 8 kHz mu-law%s%s",
	    s->text ? "the text (TTS command, then sox)" : "stdin (sox)",
	    msg[0] ? ": " : ": exit status ",
	    msg[0] ? msg : (WIFEXITED(st) ? "non-zero" : "signal"));
}

static void
say(struct say *s)
{
	unsigned char a[CHUNK];
	size_t n;

	if (s->clear)
		send_event(s, "clear");
	if (s->clear && s->text == NULL)
		return;
	if (s->raw)
		s->afd = 0;
	else
		start_conv(s);
	while ((n = read_chunk(s, a)) > 0) {
		pace(s);
		if (s->stopped)
			break;
		send_media(s, a, n);
	}
	if (!s->raw)
		end_conv(s);
	if (s->bytes == 0 && !s->stopped)
		cp_die(CP_EXIT_PERM, "no audio: %s", s->raw ? "stdin is empty" :
		    s->text ? "the TTS command wrote none" : "stdin held none");
	/* interrupted too: the mark closes the utterance for who counts them */
	send_event(s, "mark");
	cp_info("%s: %llu.%03llu s of audio in %llu messages, mark %s",
	    s->stopped ? "interrupted" : "done",
	    (unsigned long long)(s->bytes / 8000),
	    (unsigned long long)(s->bytes % 8000 / 8),
	    (unsigned long long)s->msgs, s->mark);
}

static void
options(int argc, char **argv, struct say *s)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":cf:l:m:rs:T:t:")) != -1) {
		switch (c) {
		case 'c':
			s->clear = 1;
			break;
		case 'f':
			s->type = optarg;
			break;
		case 'l':
			s->lead = cp_optnum(optarg, 0, 60000, "-l lead-ms");
			break;
		case 'm':
			s->mark = optarg;
			break;
		case 'r':
			s->raw = 1;
			break;
		case 's':
			s->sid = optarg;
			break;
		case 'T':
			s->tts = optarg;
			break;
		case 't':
			s->text = optarg;
			break;
		default:
			cp_opterr(c, argv, usage);
		}
	}
	if (argc != optind || (s->raw && (s->text || s->type)))
		cp_usage(usage);
}

static void
configure(struct say *s)
{
	static const int sigl[] = { SIGINT, SIGTERM, SIGHUP };

	if (s->sid == NULL)
		s->sid = getenv("TWILIO_STREAM_SID");
	if (s->sid == NULL || *s->sid == '\0')
		cp_die(CP_EXIT_PERM,
		    "need the stream SID: -s or TWILIO_STREAM_SID");
	if (!plain(s->sid, "-_"))
		cp_die(CP_EXIT_PERM, "bad stream SID %.80s: "
		    "want 1 to %d letters, digits, - or _", s->sid,
		    NAME_MAX_LEN);
	if (s->mark == NULL) {
		snprintf(s->markbuf, sizeof s->markbuf, "say-%ld",
		    (long)getpid());
		s->mark = s->markbuf;
	}
	if (!plain(s->mark, "-_.:"))
		cp_die(CP_EXIT_PERM, "bad mark name %.80s: "
		    "want 1 to %d letters, digits, - _ . or :", s->mark,
		    NAME_MAX_LEN);
	if (s->text && (*s->text == '\0' || strlen(s->text) > TEXT_MAX))
		cp_die(CP_EXIT_PERM, "bad -t text: want 1 to %d bytes",
		    TEXT_MAX);
	if (s->tts == NULL && (s->tts = getenv("TWILIO_SAY_TTS")) == NULL)
		s->tts = DEFAULT_TTS;
	if (s->type == NULL)
		s->type = "wav";
	if (!plain(s->type, "-_."))
		cp_die(CP_EXIT_PERM,
		    "bad -f type %.40s: want a sox file type such as wav",
		    s->type);
	cp_ignore_sigpipe();
	if ((s->sigfd = cp_sigfd(sigl, 3)) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to set up signals");
}

int
main(int argc, char **argv)
{
	struct say s = { .lead = 500, .afd = -1, .errfd = -1, .child = -1 };

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	options(argc, argv, &s);
	configure(&s);
	say(&s);
	return CP_EXIT_OK;
}
