/* sig.c: signals enter the event loop through a self-pipe; the handler does no work. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "cp.h"

static int selfpipe[2] = { -1, -1 };

static void
onsig(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(selfpipe[1], &c, 1);
	errno = e;
}

int
cp_sigfd(const int *sigs, int nsigs)
{
	struct sigaction sa;
	int i;

	if (selfpipe[0] < 0) {
		if (pipe(selfpipe) < 0)
			return -1;
		for (i = 0; i < 2; i++) {
			if (cp_setnonblock(selfpipe[i], 1) < 0 || cp_setcloexec(selfpipe[i]) < 0)
				return -1;
		}
	}
	sa.sa_handler = onsig;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < nsigs; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	cp_sigunblock(sigs, nsigs);
	return selfpipe[0];
}

void
cp_sigunblock(const int *sigs, int nsigs)
{
	sigset_t set;
	int i;

	sigemptyset(&set);
	for (i = 0; i < nsigs; i++)
		sigaddset(&set, sigs[i]);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int
cp_sigread(int fd)
{
	unsigned char c;
	ssize_t r;

	do
		r = read(fd, &c, 1);
	while (r < 0 && errno == EINTR);
	return r == 1 ? c : 0;
}
