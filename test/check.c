/* test/check.c: the counters and messages behind test/check.h. */
#include <stdarg.h>
#include <string.h>

#include "test/check.h"

int check_failures, check_count;

void check_failed(const char *file, int line, const char *expr, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	check_failures++;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s:%d: FAIL: %s%s%s\n", file, line, expr, *detail ? ": " : "", detail);
}

int check_str_at(const char *file, int line, const char *expr, const char *got, const char *want)
{
	if (got && want && strcmp(got, want) == 0)
		return 1;
	check_failed(file, line, expr, "\n  got  [%s]\n  want [%s]", got ? got : "(null)", want ? want : "(null)");
	return 0;
}

int check_done(void)
{
	printf("%d checks, %d failures\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
