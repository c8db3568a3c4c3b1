/* civil: calendar arithmetic without the C library's time zone state.
 *
 * Used where a timestamp carries its own offset (audit records, log-tool
 * arguments): timegm/mktime would consult TZ or are not standard C. */
#pragma once
#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil).  m is 1..12, d is 1..31; no other validation. */
static inline int64_t civil_days(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}
