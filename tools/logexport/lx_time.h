/* lx_time: timestamps for the log tools.
 *
 * Records carry local RFC 3339 times with an offset
 * ("2026-11-22T09:15:02.123456+09:00"); command lines take RFC 3339 or a
 * plain date.  Times are int64 nanoseconds since the epoch.  Pure
 * functions: no allocation, no printing; errors are -EINVAL. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define LX_NS_PER_SEC INT64_C(1000000000)

/* Parse an RFC 3339 timestamp: YYYY-MM-DD(T| )HH:MM[:SS[.frac]] followed by
 * Z or +HH:MM / -HH:MM.  Without an offset the time is local (TZ).  The
 * whole string must be consumed.  0 or -EINVAL. */
int lx_time_parse(const char *s, int64_t *ret_ns);

/* Parse a --since / --until argument: RFC 3339 as above, or YYYY-MM-DD
 * meaning local midnight at the start of that day, or, when end_of_day is
 * true, local midnight at the start of the next day (so that
 * "--until 2026-11-22" includes the whole 22nd).  0 or -EINVAL. */
int lx_time_parse_arg(const char *s, bool end_of_day, int64_t *ret_ns);

/* True when s starts with a YYYY-MM-DD date; copies it (NUL-terminated)
 * into day[11].  Records' dates are the writer's local dates. */
bool lx_time_day(const char *s, char day[11]);

/* Format ns as local RFC 3339 with seconds ("2026-11-22T09:15:02+09:00")
 * into buf[32]; returns buf. */
char *lx_time_format(int64_t ns, char buf[32]);

/* Milliseconds since the epoch (CEF "rt"), rounding toward minus infinity. */
int64_t lx_time_ms(int64_t ns);
