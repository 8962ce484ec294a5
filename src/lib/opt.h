/* opt.h: one vocabulary for usage errors. Every one is "prog: usage: what" on
 * stderr and exit 100 (wrong usage: do not retry).
 *
 *	opterr = 0;                       (getopt stays quiet; cp_opterr speaks)
 *	while ((c = getopt(argc, argv, ":n:t:")) != -1)  (':' first: a
 *	                                                     missing value too)
 *		switch (c) {
 *		case 'n': n = cp_optnum(optarg, 1, 100, "-n calls"); break;
 *		default: cp_opterr(c, argv, usage);
 *		} */
#ifndef CP_OPT_H
#define CP_OPT_H

/* "prog: usage: unknown option -x" (or "option -x needs a value"), then the
 * synopsis "usage: ...", exit 100. c is what getopt returned ('?' or ':'). */
void cp_opterr(int c, char *const *argv, const char *usage)
    __attribute__((noreturn));

/* A whole decimal number in [min,max] for the option named by what ("-n
 * calls"), or "prog: usage: -n calls: want a whole number from 1 to 100, not
 * x", exit 100. */
long long cp_optnum(const char *arg, long long min, long long max,
    const char *what);

/* The same for a decimal number with an optional fraction ("1.5"; no hex, no
 * inf). */
double cp_optreal(const char *arg, double min, double max, const char *what);

/* "prog: usage: <text>", exit 100: conflicting options, a value of the wrong
 * shape. */
void cp_usagef(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
#endif
