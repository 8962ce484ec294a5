/* clock.c: monotonic time for deadlines and pacing. */
#include <time.h>

#include "cp.h"

int64_t
cp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
cp_now_ms(void)
{
	return cp_now_us() / 1000;
}
