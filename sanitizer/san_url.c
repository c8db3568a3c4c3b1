/* san_url: URL defanging in text (see san_url.h).
 * Contract: a linear scan, bounded by len; bytes that are not part of a
 * URL are copied unchanged. */
#include "sanitizer/san_url.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const struct { const char *scheme, *defanged; size_t n; } SCHEMES[] = {
	{ "https://", "hxxps://", 8 }, { "http://", "hxxp://", 7 }, { "ftp://", "fxp://", 6 },
};

static bool alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool url_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7F && !strchr("<>\"'`{}|\\^", c);
}

/* Length of the URL at p (scheme included), 0 when there is none. */
static size_t url_len(const char *p, size_t left, size_t *ret_scheme)
{
	for (size_t i = 0; i < sizeof(SCHEMES) / sizeof(SCHEMES[0]); i++) {
		size_t n = SCHEMES[i].n;
		if (left < n || strncasecmp(p, SCHEMES[i].scheme, n) != 0) continue;
		size_t e = n;
		while (e < left && url_byte((unsigned char)p[e])) e++;
		size_t open = 0, close = 0;
		for (size_t k = n; k < e; k++) {
			if (p[k] == '(') open++;
			if (p[k] == ')') close++;
		}
		while (e > n && (strchr(".,;:!?", p[e - 1]) || (p[e - 1] == ')' && close > open))) {
			if (p[e - 1] == ')') close--;
			e--;
		}
		*ret_scheme = i;
		return e;
	}
	return 0;
}

size_t san_url_rewrite(const char *text, size_t len, enum san_links mode, const char *label, struct strbuf *out)
{
	size_t done = 0, count = 0;
	if (mode == SAN_LINKS_KEEP) { strbuf_append(out, text, len); return 0; }
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c != 'h' && c != 'H' && c != 'f' && c != 'F') continue;
		if (i > 0 && alnum((unsigned char)text[i - 1])) continue;
		size_t sch, n = url_len(text + i, len - i, &sch);
		if (!n) continue;
		strbuf_append(out, text + done, i - done);
		if (mode == SAN_LINKS_REMOVE) {
			strbuf_puts(out, label ? label : "[URL]");
		} else {
			strbuf_puts(out, SCHEMES[sch].defanged);
			strbuf_append(out, text + i + SCHEMES[sch].n, n - SCHEMES[sch].n);
		}
		count++;
		i += n - 1;
		done = i + 1;
	}
	strbuf_append(out, text + done, len - done);
	return count;
}
