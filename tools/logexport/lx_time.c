/* lx_time: RFC 3339 and date parsing for the log tools (see lx_time.h).
 *
 * Contract: pure functions over NUL-terminated strings.  Calendar
 * arithmetic is done with civil_days (common/civil.h; no timegm/mktime for
 * explicit offsets), so results do not depend on TZ unless the input has no
 * offset.  Every field is range-checked; anything else is -EINVAL. */
#include "tools/logexport/lx_time.h"
#include "common/civil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool take_digits(const char **p, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*ret = v;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static bool parse_date(const char **p, int *y, int *m, int *d)
{
	if (!take_digits(p, 4, y) || **p != '-')
		return false;
	(*p)++;
	if (!take_digits(p, 2, m) || **p != '-')
		return false;
	(*p)++;
	if (!take_digits(p, 2, d))
		return false;
	return *y >= 1970 && *y <= 9999 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= days_in_month(*y, *m);
}

/* Local wall-clock time to ns with mktime (DST resolved by the C library). */
static int local_to_ns(int y, int mo, int d, int h, int mi, int s, int64_t frac_ns, int64_t *ret_ns)
{
	struct tm tm = {
		.tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi,
		.tm_sec = s,
		.tm_isdst = -1,
	};
	time_t t = mktime(&tm);
	if (t == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31))
		return -EINVAL;
	*ret_ns = (int64_t)t * LX_NS_PER_SEC + frac_ns;
	return 0;
}

int lx_time_parse(const char *s, int64_t *ret_ns)
{
	if (!s)
		return -EINVAL;
	const char *p = s;
	int y, mo, d, h, mi, sec = 0;
	if (!parse_date(&p, &y, &mo, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (!take_digits(&p, 2, &h) || *p != ':')
		return -EINVAL;
	p++;
	if (!take_digits(&p, 2, &mi))
		return -EINVAL;
	int64_t frac = 0;
	if (*p == ':') {
		p++;
		if (!take_digits(&p, 2, &sec))
			return -EINVAL;
		if (*p == '.') {
			p++;
			int nd = 0;
			int64_t scale = LX_NS_PER_SEC;
			while (*p >= '0' && *p <= '9') {
				if (nd < 9) {
					scale /= 10;
					frac += (*p - '0') * scale;
				}
				nd++;
				p++;
			}
			if (nd == 0 || nd > 18)
				return -EINVAL;
		}
	}
	/* 60 is a leap second: counted as the next second's start. */
	if (h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (*p == '\0')
		return local_to_ns(y, mo, d, h, mi, sec, frac, ret_ns);
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (!take_digits(&p, 2, &oh) || *p != ':')
			return -EINVAL;
		p++;
		if (!take_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	int64_t secs = civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*ret_ns = secs * LX_NS_PER_SEC + frac;
	return 0;
}

int lx_time_parse_arg(const char *s, bool end_of_day, int64_t *ret_ns)
{
	if (!s)
		return -EINVAL;
	const char *p = s;
	int y, m, d;
	if (strlen(s) == 10 && parse_date(&p, &y, &m, &d) && *p == '\0') {
		if (end_of_day) {
			/* local midnight of the next day */
			if (++d > days_in_month(y, m)) {
				d = 1;
				if (++m > 12) {
					m = 1;
					y++;
				}
			}
		}
		return local_to_ns(y, m, d, 0, 0, 0, 0, ret_ns);
	}
	return lx_time_parse(s, ret_ns);
}

bool lx_time_day(const char *s, char day[11])
{
	if (!s)
		return false;
	const char *p = s;
	int y, m, d;
	if (!parse_date(&p, &y, &m, &d))
		return false;
	memcpy(day, s, 10);
	day[10] = '\0';
	return true;
}

char *lx_time_format(int64_t ns, char buf[32])
{
	time_t t = (time_t)(ns / LX_NS_PER_SEC - (ns % LX_NS_PER_SEC < 0));
	struct tm tm;
	buf[0] = '\0';
	if (!localtime_r(&t, &tm))
		return buf;
	char tmp[32];
	strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S%z", &tm);
	/* %z gives +0900; RFC 3339 wants +09:00 */
	size_t n = strlen(tmp);
	if (n >= 5)
		snprintf(buf, 32, "%.*s:%s", (int)(n - 2), tmp, tmp + n - 2);
	return buf;
}

int64_t lx_time_ms(int64_t ns)
{
	int64_t ms = ns / 1000000;
	if (ns % 1000000 < 0)
		ms--;
	return ms;
}
