/* cdr_log.c: reads a converter's line report under caps (cdr_log.h).
 *
 * One pass, no allocation: each line is checked in place and copied into a
 * bounded buffer only to hand the callback NUL-terminated strings.
 * Failure: -EBADMSG and why; nothing is kept.  Never logs. */
#include "sanitizer/cdr/cdr_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"

#define MAX_KEY 32

int cdr_log_bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static bool key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* a value: valid UTF-8, no C0 control, no DEL, no C1 control */
static bool value_ok(const char *s, size_t n)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		k = utf8_decode(s + i, n - i, &cp);
		if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return false;
		i += k;
	}
	return true;
}

int cdr_log_parse(const void *buf, size_t len, cdr_log_line_fn *fn, void *arg, struct cdr_log_end *ret_end, char *why,
		  size_t whylen)
{
	const char *p = buf, *end = p + len;
	char line[CDR_LOG_MAX_LINE];
	bool done = false;
	int r;

	memset(ret_end, 0, sizeof(*ret_end));
	if (whylen)
		why[0] = '\0';
	if (len > CDR_LOG_MAX_BYTES)
		return cdr_log_bad(why, whylen, "report larger than %u bytes", CDR_LOG_MAX_BYTES);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n, klen;
		char *sp;

		if (done)
			return cdr_log_bad(why, whylen, "line %zu: text after the end line", ret_end->lines + 1);
		if (!nl)
			return cdr_log_bad(why, whylen, "line %zu: no newline", ret_end->lines + 1);
		n = (size_t)(nl - p);
		if (n + 1 > sizeof(line))
			return cdr_log_bad(why, whylen, "line %zu: longer than %d bytes", ret_end->lines + 1,
					   CDR_LOG_MAX_LINE);
		if (++ret_end->lines > CDR_LOG_MAX_LINES)
			return cdr_log_bad(why, whylen, "more than %d lines", CDR_LOG_MAX_LINES);
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		sp = memchr(line, ' ', n);
		klen = sp ? (size_t)(sp - line) : n;
		if (klen == 0 || klen > MAX_KEY)
			return cdr_log_bad(why, whylen, "line %zu: bad key", ret_end->lines);
		for (size_t i = 0; i < klen; i++)
			if (!key_char((unsigned char)line[i]))
				return cdr_log_bad(why, whylen, "line %zu: bad key", ret_end->lines);
		if (sp) {
			*sp = '\0';
			if (sp + 1 == line + n || !value_ok(sp + 1, (size_t)(line + n - sp - 1)))
				return cdr_log_bad(why, whylen, "line %zu: bad value for %s", ret_end->lines, line);
		}
		if (strcmp(line, "ok") == 0) {
			if (sp)
				return cdr_log_bad(why, whylen, "line %zu: ok with a value", ret_end->lines);
			ret_end->ok = true;
			done = true;
		} else if (strcmp(line, "refused") == 0) {
			const char *v = sp ? sp + 1 : "";
			size_t vlen = strlen(v);
			if (vlen == 0 || vlen > MAX_KEY)
				return cdr_log_bad(why, whylen, "line %zu: bad refusal reason", ret_end->lines);
			for (size_t i = 0; i < vlen; i++)
				if (!key_char((unsigned char)v[i]))
					return cdr_log_bad(why, whylen, "line %zu: bad refusal reason", ret_end->lines);
			memcpy(ret_end->refused, v, vlen + 1);
			done = true;
		} else if ((r = fn(arg, line, sp ? sp + 1 : "", why, whylen)) < 0) {
			return r;
		}
	}
	if (!done)
		return cdr_log_bad(why, whylen, "no end line (ok or refused)");
	return 0;
}
