/* dirstamp.h: has a folder changed since it was last read?
 * Adding, removing or renaming an entry sets the folder's mtime and ctime, but
 * from a coarse clock (one kernel tick, up to 10 ms): a change in the tick of
 * the last read can leave both unchanged. So, as git does for its index, a read
 * that began within DS_RACY_NS of the folder's mtime proves nothing ("racy
 * clean"), and the folder is read again until one begins later than that. */
#ifndef CP_DIRSTAMP_H
#define CP_DIRSTAMP_H
#include <sys/stat.h>
#include <time.h>

#define DS_RACY_NS 20000000LL /* 20 ms: two ticks at the slowest HZ */

struct dirstamp {
	dev_t dev;
	ino_t ino;
	struct timespec mtim, ctim;
	int valid;  /* a read was recorded */
	int racy;   /* that read began within DS_RACY_NS of mtim */
};

/* Just before reading the folder open at fd: record its state. */
void ds_reading(struct dirstamp *ds, int fd);
/* The same with the time and fstat given: pure, for tests. */
void ds_record(struct dirstamp *ds, const struct stat *st,
    const struct timespec *now);
/* 1: read the folder again (changed, racy, never read, or fstat failed). */
int ds_changed(const struct dirstamp *ds, int fd);
int ds_differs(const struct dirstamp *ds, const struct stat *st);
#endif
