/* cpspawn.c: children start clean: a tool that ignores SIGPIPE or blocks signals
 * for its event loop must not hand that to the program it runs. */
#include <errno.h>
#include <signal.h>

#include "cpspawn.h"

int
cp_spawn(pid_t *pid, char *const argv[], const posix_spawn_file_actions_t *fa,
    char *const envp[])
{
	posix_spawnattr_t sa;
	sigset_t def, none;
	int rc;

	if ((rc = posix_spawnattr_init(&sa)) != 0)
		return rc;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGCHLD);
	sigemptyset(&none);
	(void)posix_spawnattr_setsigdefault(&sa, &def);
	(void)posix_spawnattr_setsigmask(&sa, &none);
	(void)posix_spawnattr_setflags(&sa,
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawnp(pid, argv[0], fa, &sa, argv, envp);
	posix_spawnattr_destroy(&sa);
	return rc;
}
