/* html_test: the escaper, table-driven (each class of byte), and random
 * bytes: the output never holds a raw markup character or a control and is
 * always valid UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/html.h"
#include "common/utf8.h"
#include "test/check.h"

static const struct {
	const char *what, *in;
	size_t n;
	const char *out;
} cases[] = {
	{"plain ASCII", "abc 123", 7, "abc 123"},
	{"markup", "<a href=\"x\">&'", 14, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"},
	{"Japanese kept", "\xe8\xa6\x8b\xe7\xa9\x8d", 6, "\xe8\xa6\x8b\xe7\xa9\x8d"},
	{"tab and newline kept", "a\tb\nc", 5, "a\tb\nc"},
	{"CR and ESC replaced", "a\rb\x1b", 4,
	 "a\xef\xbf\xbd"
	 "b\xef\xbf\xbd"},
	{"DEL replaced", "\x7f", 1, "\xef\xbf\xbd"},
	{"NUL replaced", "a\0b", 3,
	 "a\xef\xbf\xbd"
	 "b"},
	{"stray continuation", "\x80x", 2, "\xef\xbf\xbdx"},
	{"overlong '<' is not markup", "\xc0\xbc", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
	{"surrogate", "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	{"cut sequence", "\xe8\xa6", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
	{"empty", "", 0, ""},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		html_escape(&sb, cases[i].in, cases[i].n);
		CHECK(strcmp(strbuf_str(&sb), cases[i].out) == 0, "%s: got \"%s\"", cases[i].what, strbuf_str(&sb));
		strbuf_free(&sb);
	}
	/* random bytes: never a raw < > " ' or a control, always valid UTF-8 */
	srand(7);
	for (int round = 0; round < 2000; round++) {
		char in[64];
		size_t n = (size_t)(rand() % (int)sizeof(in));
		for (size_t k = 0; k < n; k++)
			in[k] = (char)(rand() & 0xff);
		struct strbuf sb = STRBUF_INIT;
		html_escape(&sb, in, n);
		const char *o = strbuf_str(&sb);
		size_t len = strlen(o);
		bool ok = utf8_valid_prefix(o, len) == len;
		for (size_t k = 0; k < len && ok; k++) {
			unsigned char c = (unsigned char)o[k];
			ok = !strchr("<>\"'", c) && (c >= 0x20 || c == '\n' || c == '\t') && c != 0x7f;
		}
		CHECK(ok, "round %d: clean output", round);
		strbuf_free(&sb);
	}
	return check_done();
}
