/* sidline.h: the first line a /client sends, naming the call (subscribe -i,
 * callpipe-follow -i). Read byte by byte so that nothing past the line is
 * taken, within a deadline, while watching stdout for a client that hung up
 * and a signal fd for the end of the server. Blanks around the line are
 * trimmed; checking that it is a CallSid is the caller's. */
#ifndef CP_SIDLINE_H
#define CP_SIDLINE_H
#include <stddef.h>
#include <stdint.h>

#define SL_MAX 100 /* the longest line any caller takes, blanks included */

enum {
	SL_LINE,    /* *line is the trimmed line */
	SL_TIMEOUT, /* no line by the deadline */
	SL_GONE,    /* the client went away (end of stdin, stdout hung up) */
	SL_LONG,    /* more than max bytes before the newline */
	SL_SIGNAL   /* sigfd readable or poll interrupted: see to it, call again */
};

struct sidline {
	char buf[SL_MAX + 2];
	size_t have, max;
	int64_t until; /* cp_now_ms() deadline */
};

void sl_init(struct sidline *sl, size_t max, int64_t until);
/* Read stdin (fd 0) on; sigfd may be -1. */
int sl_read(struct sidline *sl, int sigfd, char **line);
/* Blanks off both ends, in place: the start of what is left. */
char *sl_trim(char *s);
#endif
