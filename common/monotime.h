/* monotime: the monotonic clock (CLOCK_MONOTONIC), for deadlines, timeouts
 * and intervals.  Never the wall clock: it does not jump when the time is
 * set, and it is the same clock in every network namespace.  Cannot fail
 * (CLOCK_MONOTONIC always exists on Linux); no allocation. */
#pragma once
#include <stdint.h>

/* Nanoseconds since an arbitrary start (boot); never decreases. */
int64_t monotime_ns(void);

/* The same clock in milliseconds. */
int64_t monotime_ms(void);
