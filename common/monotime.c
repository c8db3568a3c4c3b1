/* monotime: CLOCK_MONOTONIC in nanoseconds and milliseconds (see
 * monotime.h).  One place that reads the clock, so that every timeout in
 * the tree measures the same thing. */
#include "common/monotime.h"

#include <time.h>

int64_t monotime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t monotime_ms(void)
{
	return monotime_ns() / 1000000;
}
