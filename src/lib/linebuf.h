/* linebuf.h: bounded line reader over an fd (blocking or not). Lines are
 * returned without the '\n' (a trailing '\r' is kept), NUL-terminated; a line
 * may contain NUL bytes (len tells). A line longer than max is discarded as it
 * streams by (never buffered whole) and reported once as LR_TOOLONG. A final
 * line without newline is returned at EOF. */
#ifndef CP_LINEBUF_H
#define CP_LINEBUF_H
#include <stddef.h>
#include <stdint.h>

enum { LR_LINE = 1, LR_EOF = 0, LR_AGAIN = -1, LR_ERR = -2, LR_TOOLONG = -3 };
struct linebuf {
	int fd;
	char *buf;
	size_t max, cap, start, end;
	int discarding, eof;
	uint64_t lines, toolong;
};
int lb_init(struct linebuf *lb, int fd, size_t max);
void lb_free(struct linebuf *lb);
/* one read(): >0 bytes, 0 EOF, LR_AGAIN, LR_ERR */
int lb_fill(struct linebuf *lb);
/* from the buffer only: LR_LINE, LR_TOOLONG, LR_AGAIN (need fill), LR_EOF */
int lb_next(struct linebuf *lb, char **line, size_t *len);
/* next + fill loop: LR_LINE, LR_TOOLONG, LR_EOF, LR_AGAIN, LR_ERR */
int lb_getline(struct linebuf *lb, char **line, size_t *len);
#endif
