/* dirstamp.c: a folder's inode and times, to read it again only when it
 * changed; dirstamp.h explains the racy-clean rule. */
#include <sys/stat.h>
#include <time.h>

#include "dirstamp.h"

static long long
ns_between(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL +
	    (b->tv_nsec - a->tv_nsec);
}

static int
ts_equal(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

void
ds_record(struct dirstamp *ds, const struct stat *st,
    const struct timespec *now)
{
	ds->dev = st->st_dev;
	ds->ino = st->st_ino;
	ds->mtim = st->st_mtim;
	ds->ctim = st->st_ctim;
	ds->valid = 1;
	/* a clock set back makes the difference negative: racy too */
	ds->racy = ns_between(&st->st_mtim, now) < DS_RACY_NS;
}

void
ds_reading(struct dirstamp *ds, int fd)
{
	struct timespec now;
	struct stat st;

	/* the time first: a change after it gets a later mtime, or counts as racy */
	clock_gettime(CLOCK_REALTIME, &now);
	if (fstat(fd, &st) < 0) {
		ds->valid = 0;
		return;
	}
	ds_record(ds, &st, &now);
}

int
ds_differs(const struct dirstamp *ds, const struct stat *st)
{
	return !ds->valid || ds->racy || ds->dev != st->st_dev ||
	    ds->ino != st->st_ino || !ts_equal(&ds->mtim, &st->st_mtim) ||
	    !ts_equal(&ds->ctim, &st->st_ctim);
}

int
ds_changed(const struct dirstamp *ds, int fd)
{
	struct stat st;

	if (!ds->valid || ds->racy)
		return 1;
	if (fstat(fd, &st) < 0)
		return 1;
	return ds_differs(ds, &st);
}
