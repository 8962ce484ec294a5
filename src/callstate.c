/* callstate: answers about the call folders by exit code, for shell (s6-svok style).
 *   callstate live CA…     0 if the call is live (a live stream, or inside the grace)
 *   callstate ended CA…    0 if the call has ended (it had streams; grace over)
 *   callstate sweep [-r N] mark crashed streams of ended calls, remove calls ended
 *                          more than N days ago */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calldir.h"
#include "cp.h"
#include "opt.h"

static const char usage[] = "callstate live callsid | ended callsid | sweep [-r days]";

/* The call's state, or exit: 100 for a malformed CallSid, 111 on a system error. */
static int
state(const char *sid)
{
	struct cd_call c;
	struct cd_err e;
	int callsfd, fd;

	if (!cp_valid_sid(sid, "CA"))
		cp_die(CP_EXIT_PERM, "invalid CallSid %.40s: want CA and 32 hex digits", sid);
	callsfd = cd_open_calls(0, &e);
	if (callsfd < 0) {
		if (e.code == CP_EXIT_NEG)
			return CD_NONE;
		cp_die(e.code, "%s", e.msg);
	}
	fd = cd_open_call(callsfd, sid, 0, &e);
	close(callsfd);
	if (fd < 0) {
		if (e.code == CP_EXIT_NEG)
			return CD_NONE;
		cp_die(e.code, "unable to open call %s: %s", sid, e.msg);
	}
	if (cd_call_state(fd, cd_wall_ms(), &c) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to read call %s", sid);
	close(fd);
	return c.state;
}

static int
sweep(unsigned days)
{
	struct cd_swept r;
	struct cd_err e;
	int callsfd;

	callsfd = cd_open_calls(0, &e);
	if (callsfd < 0) {
		if (e.code == CP_EXIT_NEG)
			return CP_EXIT_OK;
		cp_die(e.code, "%s", e.msg);
	}
	if (cd_sweep(callsfd, days, &r) < 0)
		cp_diesys(CP_EXIT_TEMP, "unable to sweep the call folders");
	close(callsfd);
	if (r.marked || r.removed)
		cp_info("marked %u crashed streams ended, removed %u calls ended over %u days ago",
		    r.marked, r.removed, days);
	if (r.failed)
		cp_warn("unable to remove %u ended calls", r.failed);
	return CP_EXIT_OK;
}

int
main(int argc, char **argv)
{
	long long days;
	int c, s;

	cp_help(argc, argv, usage);
	cp_setprog(argv[0]);
	if (argc < 2)
		cp_usage(usage);
	if (strcmp(argv[1], "live") == 0 || strcmp(argv[1], "ended") == 0) {
		if (argc != 3)
			cp_usage(usage);
		s = state(argv[2]);
		if (argv[1][0] == 'l')
			return s == CD_LIVE || s == CD_GRACE ? CP_EXIT_OK : CP_EXIT_NEG;
		return s == CD_OVER ? CP_EXIT_OK : CP_EXIT_NEG;
	}
	if (strcmp(argv[1], "sweep") != 0)
		cp_usage(usage);
	days = cd_retain_days();
	argc--;
	argv++;
	opterr = 0;
	while ((c = getopt(argc, argv, ":r:")) != -1) {
		if (c != 'r')
			cp_opterr(c, argv, usage);
		days = cp_optnum(optarg, 0, 36500, "-r days");
	}
	if (optind != argc)
		cp_usage(usage);
	return sweep((unsigned)days);
}
