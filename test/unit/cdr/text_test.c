/* test/unit/cdr/text_test.c: cdr_text_check, the trusted side's check of
 * sekisho-cdr-text's copy, table by table: copies it must accept in each
 * declared charset, and copies it must refuse (invalid in the charset, a
 * control character, a missing BOM, an unknown charset, a line over the
 * cap). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_text.h"
#include "test/check.h"

static const struct {
	const char *charset, *in;
	size_t len;      /* 0: strlen */
	const char *why; /* NULL: accepted */
} cases[] = {
	{"utf-8", "", 0, NULL},
	{"utf-8", "a\tb\r\n\xE6\x97\xA5\xE6\x9C\xAC\n", 0, NULL},
	{"utf-8", "\xC2\xA0nbsp \xF0\xA0\xAE\xB7", 0, NULL},
	{"utf-8-bom",
	 "\xEF\xBB\xBF"
	 "a,b\r\n",
	 0, NULL},
	{"cp932", "\x93\xFA\x96\x7B,\xB1\r\n", 0, NULL},
	{"cp932", "\xFB\xFC\xED\xE0", 0, NULL}, /* 髙, IBM and NEC-selected */
	{"utf-8", "a\x07", 0, "control"},
	{"utf-8", "a\x1b[31m", 0, "control"},
	{"utf-8", "a\x7f", 0, "control"},
	{"utf-8", "a\0b", 3, "control"},
	{"utf-8", "\xC2\x85", 0, "control"}, /* NEL */
	{"utf-8",
	 "\xE2\x80\xAE"
	 "abc",
	 0, "control"},                          /* RLO */
	{"utf-8", "\xE2\x81\xA6", 0, "control"}, /* LRI */
	{"utf-8",
	 "\xEF\xBB\xBF"
	 "a",
	 0, "control"}, /* a BOM the charset does not declare */
	{"utf-8", "\xE6\x97", 0, "invalid UTF-8"},
	{"utf-8", "\xC0\xAF", 0, "invalid UTF-8"},
	{"utf-8", "\xED\xA0\x80", 0, "invalid UTF-8"}, /* a surrogate */
	{"utf-8-bom", "a,b", 0, "no BOM"},
	{"utf-8-bom", "\xEF\xBB", 0, "no BOM"},
	{"cp932", "\x82", 0, "invalid CP932"},
	{"cp932", "a\x07", 0, "control"},
	{"latin-1", "abc", 0, "unknown charset"},
	{"", "abc", 0, "unknown charset"},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		char why[128] = "";
		int r = cdr_text_check((const uint8_t *)cases[i].in, len, cases[i].charset, why, sizeof(why));
		if (!cases[i].why) {
			CHECK(r == 0, "case %zu: %s", i, why);
		} else {
			CHECK(r == -EBADMSG, "case %zu: %d", i, r);
			CHECK(strstr(why, cases[i].why) != NULL, "case %zu: '%s', want '%s'", i, why, cases[i].why);
		}
	}
}

/* one line of exactly the cap passes, one byte more does not, in UTF-8 and
 * (a half-width katakana is 1 byte there and 3 in UTF-8) in CP932 */
static void test_line_cap(void)
{
	uint8_t *big = malloc(CDR_TEXT_MAX_LINE + 2);
	char why[128];

	REQUIRE(big);
	memset(big, 'x', CDR_TEXT_MAX_LINE);
	big[CDR_TEXT_MAX_LINE] = '\n';
	CHECK(cdr_text_check(big, CDR_TEXT_MAX_LINE + 1, "utf-8", why, sizeof(why)) == 0);
	big[CDR_TEXT_MAX_LINE] = 'x';
	CHECK(cdr_text_check(big, CDR_TEXT_MAX_LINE + 1, "utf-8", why, sizeof(why)) == -EBADMSG);
	CHECK(strstr(why, "line longer") != NULL, "%s", why);
	memset(big, 0xB1, CDR_TEXT_MAX_LINE / 3 + 1);
	CHECK(cdr_text_check(big, CDR_TEXT_MAX_LINE / 3 + 1, "cp932", why, sizeof(why)) == -EBADMSG);
	CHECK(cdr_text_check(big, CDR_TEXT_MAX_LINE / 3, "cp932", why, sizeof(why)) == 0, "%s", why);
	free(big);
}

int main(void)
{
	test_cases();
	test_line_cap();
	return check_done();
}
