/* html: see html.h. */
#include "common/html.h"

#include <stdint.h>

#include "common/utf8.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

void html_escape(struct strbuf *sb, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			uint32_t cp;
			size_t n = utf8_decode(s + i, len - i, &cp);
			if (n == 0) {
				strbuf_puts(sb, REPLACEMENT);
				i++;
			} else {
				strbuf_append(sb, s + i, n);
				i += n;
			}
			continue;
		}
		switch (c) {
		case '&':
			strbuf_puts(sb, "&amp;");
			break;
		case '<':
			strbuf_puts(sb, "&lt;");
			break;
		case '>':
			strbuf_puts(sb, "&gt;");
			break;
		case '"':
			strbuf_puts(sb, "&quot;");
			break;
		case '\'':
			strbuf_puts(sb, "&#39;");
			break;
		default:
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				strbuf_puts(sb, REPLACEMENT);
			else
				strbuf_putc(sb, (char)c);
		}
		i++;
	}
}
