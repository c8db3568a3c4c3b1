/* san_charset: decoding, mislabel repair, UTF-7 refusal, ISO-2022-JP out. */
#include <string.h>
#include <errno.h>
#include <stdlib.h>

#include "common/utf8.h"
#include "sanitizer/san_charset.h"
#include "test/check.h"

static const struct {
	const char *in;
	size_t len;
	const char *cs;
	const char *want;
	const char *repair;
} cases[] = {
	{"\x1b$B$3$s$K$A$O\x1b(B", 0, "iso-2022-jp", "こんにちは", ""},
	{"\x1b$B-!\x1b(B", 0, "ISO-2022-JP", "①", "iso-2022-jp->cp50221"},    /* NEC row 13 */
	{"\x82\xb1\x82\xf1", 0, "iso-2022-jp", "こん", "iso-2022-jp->CP932"}, /* CP932 mislabelled */
	{"\x87\x40\xfa\x40", 0, "Shift_JIS", "①ⅰ", "shift_jis->cp932"},       /* NEC + IBM ext */
	{"\x5c\x7e", 0, "shift_jis", "\\~", ""},                              /* not yen/overline */
	{"\xa4\xb3\xa4\xf3", 0, "euc-jp", "こん", ""},
	{"\x89\xef\x8b\x63", 0, NULL, "会議", "none->CP932"}, /* 8-bit, no charset */
	{"\xa4\xb3\xa4\xf3", 0, "us-ascii", "こん", "us-ascii->EUC-JP-MS"},
	{"\xe3\x81\x82", 0, "", "あ", "none->UTF-8"}, /* 8-bit unlabelled: recorded */
	{"caf\xe9", 0, "iso-8859-1", "café", ""},
	{"a\r\nb\rc\x00"
	 "d\x1b[31m",
	 13, "utf-8", "a\nb\ncd[31m", ""}, /* newlines, NUL, ESC */
	{"\xff\xfe", 0, "utf-8", "\xef\xbf\xbd\xef\xbf\xbd", "utf-8->replaced"},
	{"\x1b$(D+!\x1b(B", 0, "iso-2022-jp", NULL, "iso-2022-jp->replaced"}, /* JIS X 0212 trick */
	{"abc", 0, "x-no-such-charset", "abc", "unknown:x-no-such-charset->US-ASCII"},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct san_text t;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		int r = san_charset_decode(cases[i].in, len, cases[i].cs, &t);
		CHECK(r == 0, "case %zu: r=%d", i, r);
		if (r)
			continue;
		if (cases[i].want)
			CHECK(strcmp(t.utf8, cases[i].want) == 0, "case %zu: got '%s'", i, t.utf8);
		CHECK(strcmp(t.repair, cases[i].repair) == 0, "case %zu: repair '%s'", i, t.repair);
		CHECK(utf8_valid(t.utf8, t.len), "case %zu: output not UTF-8", i);
		free(t.utf8);
	}
	struct san_text t;
	CHECK(san_charset_decode("+ADw-", 5, "UTF-7", &t) == -EPROTONOSUPPORT, "utf-7 refused");
	CHECK(san_charset_decode("+ADw-", 5, "unicode-1-1-utf-7", &t) == -EPROTONOSUPPORT, "utf-7 alias refused");
	CHECK(san_charset_is_utf7("x-utf7") && !san_charset_is_utf7("utf-8"), "is_utf7");
	CHECK(!utf8_valid("\xc0\x80", 2) && !utf8_valid("\xed\xa0\x80", 3) && !utf8_valid("\xe3\x81", 2),
	      "overlong, surrogate, truncated rejected");

	char *j;
	size_t jl, lost;
	CHECK(san_charset_to_iso2022jp("あa①ｶ", strlen("あa①ｶ"), &j, &jl, &lost) == 0, "to iso-2022-jp");
	CHECK(jl == strlen("\x1b$B$\"\x1b(Ba\x1b$B-!%+\x1b(B") &&
		      memcmp(j, "\x1b$B$\"\x1b(Ba\x1b$B-!%+\x1b(B", jl) == 0 && lost == 0,
	      "iso-2022-jp bytes");
	free(j);
	CHECK(san_charset_to_iso2022jp("😀", 4, &j, &jl, &lost) == 0 && lost == 1, "unrepresentable counted");
	free(j);
	/* bytes that are not UTF-8 (an overlong NUL, a surrogate): one GETA each */
	CHECK(san_charset_to_iso2022jp("a\xc0\x80\xed\xa0\x80", 6, &j, &jl, &lost) == 0 && lost == 5,
	      "invalid counted per byte");
	CHECK(jl == strlen("a\x1b$B\".\".\".\".\".\x1b(B") && memcmp(j, "a\x1b$B\".\".\".\".\".\x1b(B", jl) == 0,
	      "invalid bytes become GETA");
	free(j);
	return check_done();
}
