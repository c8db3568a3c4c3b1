/* Tiny check macros shared by the gateway unit tests. */
#pragma once
#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		checks++;                                                       \
		if (!(cond)) {                                                  \
			failures++;                                             \
			fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
		}                                                               \
	} while (0)

#define CHECK_DONE()                                                            \
	do {                                                                    \
		printf("%d checks, %d failures\n", checks, failures);           \
		return failures ? 1 : 0;                                        \
	} while (0)
