/* cpspawn.h: run the next program of a pipeline. */
#ifndef CP_CPSPAWN_H
#define CP_CPSPAWN_H

#include <spawn.h>
#include <sys/types.h>

/* posix_spawnp of argv with the file actions fa (may be NULL) and envp, the
 * child starting with an empty signal mask and SIGPIPE, SIGINT, SIGTERM and
 * SIGCHLD at their defaults whatever this process does with them. Returns 0,
 * or an errno value (as posix_spawnp does). */
int cp_spawn(pid_t *pid, char *const argv[],
    const posix_spawn_file_actions_t *fa, char *const envp[]);

#endif
