/* err.c: one-line messages "prog: level: text", never longer than CP_LOGLINE_MAX. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"

const char *cp_prog = "callpipe";

void
cp_setprog(const char *argv0)
{
	const char *p;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	p = strrchr(argv0, '/');
	cp_prog = p ? p + 1 : argv0;
}

static void
emit(const char *level, int errnum, const char *fmt, va_list ap)
{
	char line[CP_LOGLINE_MAX + 2];
	size_t n = 0, i;
	int r;

	r = snprintf(line, sizeof line - 1, "%s: %s%s", cp_prog, level, *level ? ": " : "");
	if (r > 0)
		n = (size_t)r < sizeof line - 2 ? (size_t)r : sizeof line - 2;
	r = vsnprintf(line + n, sizeof line - 1 - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof line - 1 - n ? (size_t)r : sizeof line - 2 - n;
	if (errnum && n < sizeof line - 2) {
		r = snprintf(line + n, sizeof line - 1 - n, ": %s", strerror(errnum));
		if (r > 0)
			n += (size_t)r < sizeof line - 1 - n ? (size_t)r : sizeof line - 2 - n;
	}
	/* one message, one line: control characters become '?' */
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	(void)cp_writeall(2, line, n);
}

void
cp_warn(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	emit("warning", 0, fmt, ap);
	va_end(ap);
	errno = e;
}

void
cp_warnsys(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	emit("warning", e, fmt, ap);
	va_end(ap);
	errno = e;
}

void
cp_info(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	emit("info", 0, fmt, ap);
	va_end(ap);
	errno = e;
}

void
cp_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("fatal", 0, fmt, ap);
	va_end(ap);
	exit(code);
}

void
cp_diesys(int code, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	emit("fatal", e, fmt, ap);
	va_end(ap);
	exit(code);
}

void
cp_usage(const char *usage)
{
	char line[CP_LOGLINE_MAX];
	int n;

	n = snprintf(line, sizeof line, "usage: %s\n", usage);
	if (n > 0)
		(void)cp_writeall(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	exit(CP_EXIT_PERM);
}

void
cp_help(int argc, char **argv, const char *usage)
{
	char line[CP_LOGLINE_MAX];
	int n;

	if (argc != 2 || strcmp(argv[1], "--help") != 0)
		return;
	n = snprintf(line, sizeof line, "usage: %s\n", usage);
	if (n < 0 || cp_writeall(1, line,
	    (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) != 0)
		exit(CP_EXIT_TEMP);
	exit(CP_EXIT_OK);
}
