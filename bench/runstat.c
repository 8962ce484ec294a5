/* runstat: run a command and write its resource use to a file.
 *
 * usage: runstat file command [arg ...]
 * Writes "maxrss_kb user_s sys_s wall_s" (one line) to file when the command ends, and
 * exits with the command's status (128+N when killed by signal N; 127 if it could not be
 * run). The command inherits stdin, stdout and stderr; SIGINT, SIGTERM and SIGHUP are
 * passed on to it (its PID, not its group).
 * Why not Python's os.wait4: a child forked from a 20 MB interpreter keeps that
 * interpreter's RSS as its high-water mark across exec (Linux carries ru_maxrss over
 * exec), so a 2 MB tool would show 20 MB. This process is small. Bench-only tool, built by
 * bench/run.sh into build/bench/. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bws.h"

static volatile pid_t child;

static void
pass_on(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	uint64_t t0;
	pid_t pid;
	int st;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: runstat file command [arg ...]\n");
		return 100;
	}
	t0 = now_us();
	pid = fork();
	if (pid < 0) {
		perror("runstat: fatal: fork");
		return 111;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runstat: fatal: unable to run %s\n", argv[2]);
		_exit(127);
	}
	child = pid;
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = pass_on; /* the command decides; we report */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("runstat: fatal: wait4");
			return 111;
		}
	f = fopen(argv[1], "w");
	if (f == NULL || fprintf(f, "%ld %.6f %.6f %.6f\n", ru.ru_maxrss,
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	    (double)(now_us() - t0) / 1e6) < 0 || fclose(f) != 0) {
		fprintf(stderr, "runstat: fatal: unable to write %s\n", argv[1]);
		return 111;
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}
