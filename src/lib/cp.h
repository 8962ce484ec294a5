/* cp.h: the shared library of callpipe tools. One concern per file:
 *   err.c     program name, one-line messages, exit codes
 *   io.c      write-all, fd flags
 *   num.c     range-checked number parsing
 *   sig.c     signals into the event loop through a self-pipe
 *   sid.c     Twilio SID validation
 *   clock.c   monotonic milliseconds
 * Others have their own headers: linebuf.h (bounded line reader), opt.h (usage
 * errors), bq.h (byte queue), base64.h, mulaw.h, wav.h, dirstamp.h (has a folder
 * changed). */
#ifndef CP_H
#define CP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes shared by every tool (STYLE.md). */
enum {
	CP_EXIT_OK = 0,
	CP_EXIT_NEG = 1,       /* expected negative result or timeout */
	CP_EXIT_PERM = 100,    /* wrong usage, permanent refusal: do not retry */
	CP_EXIT_TEMP = 111,    /* temporary failure: retry */
	CP_EXIT_NOEXEC = 126,  /* could not run the next program */
	CP_EXIT_NOTFOUND = 127 /* next program not found */
};

/* Longest stderr line we ever write (websocketd stops reading stderr past 4095). */
#define CP_LOGLINE_MAX 1000

/* err.c */
extern const char *cp_prog;
void cp_setprog(const char *argv0);
void cp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cp_warnsys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cp_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cp_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void cp_diesys(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void cp_usage(const char *usage) __attribute__((noreturn)); /* "usage: ..." exit 100 */
/* --help as the only argument: the usage on stdout, exit 0; else returns. */
void cp_help(int argc, char **argv, const char *usage);

/* io.c */
int cp_writeall(int fd, const void *buf, size_t len); /* 0, or -1 with errno (EPIPE, EAGAIN...) */
int cp_setnonblock(int fd, int on);
int cp_setcloexec(int fd);
void cp_ignore_sigpipe(void);

/* num.c: decimal integer in [min,max], whole string, no sign for digits-only. */
int cp_strtonum(const char *s, long long min, long long max, long long *out); /* 0 or -1 */
int cp_digits(const char *s, uint64_t max, uint64_t *out); /* [0-9]+ only, <= max */

/* sig.c: the returned fd becomes readable when one of the signals arrives;
 * cp_sigread returns the signal number (0 when none pending). */
int cp_sigfd(const int *sigs, int nsigs);
/* Unblock sigs: a parent may hand its blocked signals down through exec (POSIX
 * allows it; websocketd's Go runtime has been seen to), and a handler for a blocked
 * signal never runs. cp_sigfd does it for the signals it takes. */
void cp_sigunblock(const int *sigs, int nsigs);
int cp_sigread(int fd);

/* sid.c: prefix (e.g. "CA") + 32 hex digits. */
int cp_valid_sid(const char *s, const char *prefix);

/* clock.c */
int64_t cp_now_ms(void);
int64_t cp_now_us(void);

#endif
