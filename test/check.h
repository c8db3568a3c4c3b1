/* test/check.h: the one set of assertions every C test uses.
 *
 * CHECK(cond) or CHECK(cond, fmt, ...) counts a check and, when cond is
 * false, prints "file:line: FAIL: cond" (and the message) on stderr and
 * counts a failure; the test goes on, so one run reports every failure.
 * REQUIRE(cond) is for a state the test cannot continue without: it prints
 * the same line and exits 1.  check_done() prints "N checks, N failures"
 * and returns the exit status for main.
 *
 * The counters live in test/check.c (linked through check_dep), so that a
 * test's helper files and its main count into the same place.  A helper
 * that finds a failure on its own (a comparison it prints itself) adds to
 * check_failures directly.
 */
#pragma once
#include <stdio.h>
#include <stdlib.h>

extern int check_failures, check_count;

void check_failed(const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* CHECK_STR's body: false, with both strings printed, when they differ */
int check_str_at(const char *file, int line, const char *expr, const char *got, const char *want);
int check_done(void);

/* CHECK with one argument or with a message: pick by argument count (the
 * C17 way, without an empty __VA_ARGS__) */
#define CHECK_PICK_(a1, a2, a3, a4, a5, a6, a7, a8, a9, name, ...) name
#define CHECK(...)                                                                                               \
	CHECK_PICK_(__VA_ARGS__, CHECK_F_, CHECK_F_, CHECK_F_, CHECK_F_, CHECK_F_, CHECK_F_, CHECK_F_, CHECK_F_, \
		    CHECK_1_, -)                                                                                 \
	(__VA_ARGS__)
#define CHECK_1_(cond)                                                     \
	do {                                                               \
		check_count++;                                             \
		if (!(cond))                                               \
			check_failed(__FILE__, __LINE__, #cond, "%s", ""); \
	} while (0)
#define CHECK_F_(cond, ...)                                                   \
	do {                                                                  \
		check_count++;                                                \
		if (!(cond))                                                  \
			check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

#define CHECK_EQ_U(a, b)                                                                       \
	do {                                                                                   \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		CHECK_F_(a_ == b_, "%s == %s (%llu != %llu)", #a, #b, a_, b_);                 \
	} while (0)

#define CHECK_STR(got, want)                                           \
	do {                                                           \
		check_count++;                                         \
		check_str_at(__FILE__, __LINE__, #got, (got), (want)); \
	} while (0)

#define REQUIRE(cond)                                                                        \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                             \
		}                                                                            \
	} while (0)
