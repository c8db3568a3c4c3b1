/* lx_csv: RFC 4180 quoting and the formula guard (see lx_csv.h).
 *
 * Contract: pure formatting into a caller's strbuf; bytes are copied as
 * they are (the caller provides UTF-8; encoding happens in lx_out). */
#include "tools/logexport/lx_csv.h"

#include <string.h>

/* -?digits[.digits]: a number we wrote, safe to leave unguarded. */
static bool is_plain_number(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	size_t start = i;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == start)
		return false;
	if (i < n && s[i] == '.') {
		size_t f = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f)
			return false;
	}
	return i == n;
}

bool lx_csv_is_formula(const char *s, size_t n)
{
	if (n == 0)
		return false;
	switch (s[0]) {
	case '=':
	case '+':
	case '-':
	case '@':
	case '\t':
	case '\r':
		return !is_plain_number(s, n);
	default:
		return false;
	}
}

void lx_csv_field(struct strbuf *sb, const char *s, size_t n, bool formula_guard)
{
	bool guard = formula_guard && lx_csv_is_formula(s, n);
	bool quote = guard && s[0] == '\r';
	for (size_t i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = true;
	if (!quote && !guard) {
		strbuf_append(sb, s, n);
		return;
	}
	if (quote)
		strbuf_putc(sb, '"');
	if (guard)
		strbuf_putc(sb, '\'');
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"') {
			strbuf_append(sb, s + from, i + 1 - from);
			strbuf_putc(sb, '"');
			from = i + 1;
		}
	}
	strbuf_append(sb, s + from, n - from);
	if (quote)
		strbuf_putc(sb, '"');
}

void lx_csv_row(struct strbuf *sb, const char *const *cells, size_t n, bool formula_guard)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_putc(sb, ',');
		const char *c = cells[i] ? cells[i] : "";
		lx_csv_field(sb, c, strlen(c), formula_guard);
	}
	strbuf_append(sb, "\r\n", 2);
}
