/* sanitizer-bench-magic-timer: how much of a run libmagic takes.
 *
 *   LD_PRELOAD=BUILD/test/bench/libsanitizer-bench-magic-timer.so \
 *       BUILD/test/bench/sanitizer-bench-corpus DIR 5000
 *
 * Wraps magic_buffer (the library's only libmagic call on removed items)
 * with a monotonic clock and prints, at exit, the number of calls and the
 * time spent in them to stderr: the figure behind the corpus case's
 * ceiling in docs/benchmarks.md.  A measurement aid, not part of the
 * appliance; single-threaded callers only (the corpus bench is). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

#include <magic.h>

static double total_s;
static long calls;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

const char *magic_buffer(magic_t m, const void *buf, size_t len)
{
	static const char *(*real)(magic_t, const void *, size_t);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "magic_buffer");
	if (!real)
		return NULL;
	double t0 = now();
	const char *r = real(m, buf, len);
	total_s += now() - t0;
	calls++;
	return r;
}

__attribute__((destructor)) static void report(void)
{
	fprintf(stderr, "{\"magic_buffer_calls\":%ld,\"magic_buffer_s\":%.3f,\"us_per_call\":%.1f}\n", calls, total_s,
		calls ? total_s / (double)calls * 1e6 : 0.0);
}
