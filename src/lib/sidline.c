/* sidline.c: the CallSid line of a /client, read by subscribe(1) and
 * callpipe-follow(1) (sidline.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"
#include "sidline.h"

void
sl_init(struct sidline *sl, size_t max, int64_t until)
{
	sl->have = 0;
	sl->max = max < SL_MAX ? max : SL_MAX;
	sl->until = until;
}

char *
sl_trim(char *s)
{
	char *q;

	while (*s == ' ' || *s == '\t')
		s++;
	for (q = s + strlen(s);
	     q > s && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r'); q--)
		;
	*q = '\0';
	return s;
}

/* One byte: SL_LINE at the newline, -1 for more, or why not. */
static int
onebyte(struct sidline *sl)
{
	ssize_t r;

	r = read(0, sl->buf + sl->have, 1);
	if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
		return SL_GONE;
	if (r < 0)
		return -1;
	if (sl->buf[sl->have] == '\n')
		return SL_LINE;
	if (++sl->have > sl->max)
		return SL_LONG;
	return -1;
}

int
sl_read(struct sidline *sl, int sigfd, char **line)
{
	int r;

	for (;;) {
		struct pollfd pfd[3] = { { 0, POLLIN, 0 }, { 1, 0, 0 },
		    { sigfd, POLLIN, 0 } };
		int64_t now = cp_now_ms();
		int n;

		if (now >= sl->until)
			return SL_TIMEOUT;
		n = poll(pfd, sigfd >= 0 ? 3 : 2, (int)(sl->until - now));
		if (n < 0 && errno == EINTR)
			return SL_SIGNAL;
		if (n <= 0)
			continue;
		if (sigfd >= 0 && (pfd[2].revents & POLLIN))
			return SL_SIGNAL;
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL))
			return SL_GONE;
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((r = onebyte(sl)) >= 0)
			break;
	}
	if (r == SL_LINE) {
		sl->buf[sl->have] = '\0';
		*line = sl_trim(sl->buf);
	}
	return r;
}
