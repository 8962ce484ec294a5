/* opt.c: usage errors, "prog: usage: what", exit 100. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"
#include "opt.h"

static void
line(const char *fmt, va_list ap)
{
	char buf[CP_LOGLINE_MAX];
	int n, m;

	n = snprintf(buf, sizeof buf, "%s: usage: ", cp_prog);
	if (n < 0 || (size_t)n >= sizeof buf - 1)
		n = 0;
	m = vsnprintf(buf + n, sizeof buf - 1 - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)m >= sizeof buf - 1 - (size_t)n)
		m = (int)(sizeof buf - 2) - n;
	n += m;
	buf[n++] = '\n';
	(void)cp_writeall(2, buf, (size_t)n);
}

void
cp_usagef(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(fmt, ap);
	va_end(ap);
	exit(CP_EXIT_PERM);
}

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(fmt, ap);
	va_end(ap);
}

void
cp_opterr(int c, char *const *argv, const char *usage)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	int n;

	/* getopt_long moves past a long option it refuses; a short one may sit
	 * inside a cluster ("-vq"), so optopt names it */
	if (arg != NULL && strncmp(arg, "--", 2) == 0 && arg[2] != '\0') {
		n = (int)strcspn(arg, "=");
		if (c == ':')
			say("option %.*s needs a value", n > 100 ? 100 : n, arg);
		else if (arg[n] == '=' && optopt != 0)
			say("option %.*s takes no value", n > 100 ? 100 : n, arg);
		else
			say("unknown option %.*s", n > 100 ? 100 : n, arg);
	} else if (c == ':')
		say("option -%c needs a value", optopt);
	else
		say("unknown option -%c", optopt);
	cp_usage(usage);
}

long long
cp_optnum(const char *arg, long long min, long long max, const char *what)
{
	long long v;

	if (cp_strtonum(arg, min, max, &v) == -1)
		cp_usagef("%s: want a whole number from %lld to %lld, "
		    "not %.100s", what, min, max, arg);
	return v;
}

double
cp_optreal(const char *arg, double min, double max, const char *what)
{
	char *end;
	double v;

	errno = 0;
	end = NULL;
	v = NAN;
	if (*arg != '\0' && strpbrk(arg, "xXnN") == NULL)
		v = strtod(arg, &end);
	if (isnan(v) || errno != 0 || *end != '\0' || !isfinite(v) ||
	    v < min || v > max)
		cp_usagef("%s: want a number from %.10g to %.10g, not %.100s",
		    what, min, max, arg);
	return v;
}
