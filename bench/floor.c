/* floor: what the design's smallest steps cost on this machine, for scale.
 *   hop:   two processes pass a 320-byte message back and forth over two
 *          pipes; every pass is one write, one wake-up of a blocked reader
 *          and one read: CPU (user + sys of both) / passes
 *   timer: one process wakes from poll(NULL, 0, 1) n/20 times: CPU / wake-ups
 *   paced: the same timer loop writes 320 bytes into a pipe at each wake-up;
 *          a second process blocks in read(): the reader's CPU / messages (a
 *          wake-up and a read when the machine idles between messages, as at
 *          a real-time pace)
 * usage: floor [-n passes]   (default 200000)
 * Output (stdout): passes=N hop_ns=N timer_ns=N paced_ns=N. Exit 0; 111 on a
 * system error. Bench-only tool: not installed, no man page (bench/README.md).
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void
die(const char *m)
{
	fprintf(stderr, "floor: fatal: %s\n", m);
	exit(111);
}

static double
cpu_ns(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) < 0)
		die("getrusage failed");
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

static void
pass(int in, int out, long n, int first)
{
	char b[320];
	long i;

	memset(b, 0x7f, sizeof b);
	for (i = 0; i < n; i++) {
		if (!first || i > 0)
			if (read(in, b, sizeof b) != (ssize_t)sizeof b)
				die("short read");
		if (write(out, b, sizeof b) != (ssize_t)sizeof b)
			die("write failed");
	}
	if (!first && read(in, b, sizeof b) < 0)
		die("read failed");
}

static double
hop(long n)
{
	int a[2], b[2], st;
	double t0 = cpu_ns(RUSAGE_SELF) + cpu_ns(RUSAGE_CHILDREN);
	pid_t pid;

	if (pipe(a) < 0 || pipe(b) < 0)
		die("pipe failed");
	pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		pass(a[0], b[1], n, 0);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	pass(b[0], a[1], n, 1);
	close(a[1]);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the other side failed");
	return (cpu_ns(RUSAGE_SELF) + cpu_ns(RUSAGE_CHILDREN) - t0) / (2.0 * n);
}

static double
timer(long n)
{
	double t0 = cpu_ns(RUSAGE_SELF);
	long i;

	for (i = 0; i < n; i++)
		poll(NULL, 0, 1);
	return (cpu_ns(RUSAGE_SELF) - t0) / n;
}

static double
paced(long n)
{
	int a[2], st;
	char b[320];
	double t0 = cpu_ns(RUSAGE_CHILDREN);
	pid_t pid;
	long i;

	if (pipe(a) < 0)
		die("pipe failed");
	pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		close(a[1]);
		while (read(a[0], b, sizeof b) > 0)
			;
		_exit(0);
	}
	close(a[0]);
	memset(b, 0x7f, sizeof b);
	for (i = 0; i < n; i++) {
		poll(NULL, 0, 1);
		if (write(a[1], b, sizeof b) != (ssize_t)sizeof b)
			die("write failed");
	}
	close(a[1]);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the reader failed");
	return (cpu_ns(RUSAGE_CHILDREN) - t0) / n;
}

int
main(int argc, char **argv)
{
	long n = 200000;
	double h, t, p;
	char *e;

	if (argc == 3 && strcmp(argv[1], "-n") == 0) {
		n = strtol(argv[2], &e, 10);
		if (*e || n < 100 || n > 100000000)
			die("-n: passes must be 100..100000000");
	} else if (argc != 1) {
		fprintf(stderr, "usage: floor [-n passes]\n");
		return 100;
	}
	h = hop(n);
	t = timer(n / 20);
	p = paced(n / 20);
	printf("passes=%ld hop_ns=%.0f timer_ns=%.0f paced_ns=%.0f\n", n, h, t,
	    p);
	return 0;
}
