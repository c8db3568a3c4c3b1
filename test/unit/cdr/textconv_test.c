/* test/unit/cdr/textconv_test.c: cdr_textconv, the text/CSV converter's
 * core: the charset each input is detected as, the copy's bytes and
 * charset, the control characters removed, and the refusals.  Inputs are
 * byte literals (what Python's codecs give for the same text). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_text.h"
#include "sanitizer/cdr/cdr_textconv.h"
#include "test/check.h"

/* 日本語 in each encoding; "あい" for the guesses */
#define JA_UTF8 "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"
#define JA_CP932 "\x93\xFA\x96\x7B\x8C\xEA"
#define JA_EUC "\xC6\xFC\xCB\xDC\xB8\xEC"

static const struct {
	const char *name;
	const char *in;
	size_t len;
	int csv;
	const char *charset, *out_charset, *out;
	size_t outlen, removed;
} cases[] = {
	{"utf-8 txt", "a\t" JA_UTF8 "\r\n", 0, 0, "utf-8", "utf-8", "a\t" JA_UTF8 "\r\n", 0, 0},
	{"utf-8 bom", "\xEF\xBB\xBF" JA_UTF8, 0, 0, "utf-8-bom", "utf-8", JA_UTF8, 0, 0},
	{"ascii", "SEKISHO-KEEP\n", 0, 0, "utf-8", "utf-8", "SEKISHO-KEEP\n", 0, 0},
	{"empty", "", 0, 0, "utf-8", "utf-8", "", 0, 0},
	{"utf-16le bom", "\xFF\xFE\xE5\x65\x2C\x67\x9E\x8A\x0A\x00", 10, 0, "utf-16le-bom", "utf-8", JA_UTF8 "\n", 0,
	 0},
	{"utf-16be bom", "\xFE\xFF\x65\xE5\x67\x2C\x8A\x9E", 8, 0, "utf-16be-bom", "utf-8", JA_UTF8, 0, 0},
	{"utf-16le no bom", "\x41\x00\xE5\x65\x2C\x67\x9E\x8A\x0D\x00\x0A\x00", 12, 0, "utf-16le", "utf-8",
	 "A" JA_UTF8 "\r\n", 0, 0},
	{"utf-16be no bom", "\x00\x41\x65\xE5\x67\x2C\x8A\x9E", 8, 0, "utf-16be", "utf-8", "A" JA_UTF8, 0, 0},
	{"cp932", "A," JA_CP932 "\r\n", 0, 0, "cp932", "utf-8", "A," JA_UTF8 "\r\n", 0, 0},
	{"cp932 half-width kana", "\xB1\xB2\xB3", 0, 0, "cp932", "utf-8", "\xEF\xBD\xB1\xEF\xBD\xB2\xEF\xBD\xB3", 0, 0},
	{"euc-jp", "A," JA_EUC "\n", 0, 0, "euc-jp", "utf-8", "A," JA_UTF8 "\n", 0, 0},
	{"euc-jp hiragana", "\xA4\xA2\xA4\xA4", 0, 0, "euc-jp", "utf-8", "\xE3\x81\x82\xE3\x81\x84", 0, 0},
	{"iso-2022-jp", "\x1B$BF|K\\8l\x1B(B\n", 0, 0, "iso-2022-jp", "utf-8", JA_UTF8 "\n", 0, 0},
	/* controls: BEL, ESC without a designation, DEL, C1 NEL, RLO, LRI, BOM inside */
	{"controls",
	 "a\x07"
	 "b\x1B"
	 "c\x7F"
	 "d\xC2\x85"
	 "e\xE2\x80\xAE"
	 "f\xE2\x81\xA6"
	 "g\xEF\xBB\xBF"
	 "h",
	 0, 0, "utf-8", "utf-8", "abcdefgh", 0, 7},
	{"nul in utf-16", "\x41\x00\x00\x00\x42\x00", 6, 0, "utf-16le", "utf-8", "AB", 0, 1},
	/* CSV: CP932 when every character fits, else UTF-8 with a BOM */
	{"csv utf-8 to cp932", JA_UTF8 ",1\r\n", 0, 1, "utf-8", "cp932", JA_CP932 ",1\r\n", 0, 0},
	{"csv cp932 stays", JA_CP932 ",1\r\n", 0, 1, "cp932", "cp932", JA_CP932 ",1\r\n", 0, 0},
	{"csv euc-jp to cp932", JA_EUC, 0, 1, "euc-jp", "cp932", JA_CP932, 0, 0},
	{"csv outside cp932", "\xF0\xA0\xAE\xB7,1", 0, 1, "utf-8", "utf-8-bom", "\xEF\xBB\xBF\xF0\xA0\xAE\xB7,1", 0, 0},
	{"csv empty", "", 0, 1, "utf-8", "cp932", "", 0, 0},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cdr_textconv_result res;
		uint8_t *out = NULL;
		size_t outlen = 0, len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		size_t want = cases[i].outlen ? cases[i].outlen : strlen(cases[i].out);
		char why[64] = "";
		int r = cdr_textconv_convert((const uint8_t *)cases[i].in, len, cases[i].csv, &out, &outlen, &res, why,
					     sizeof(why));
		CHECK(r == 0, "%s: %d %s", cases[i].name, r, why);
		if (r)
			continue;
		CHECK(strcmp(res.charset, cases[i].charset) == 0, "%s: charset %s", cases[i].name, res.charset);
		CHECK(strcmp(res.out_charset, cases[i].out_charset) == 0, "%s: out %s", cases[i].name, res.out_charset);
		CHECK(outlen == want && (want == 0 || memcmp(out, cases[i].out, want) == 0), "%s: output differs",
		      cases[i].name);
		CHECK(res.removed == cases[i].removed, "%s: removed %zu", cases[i].name, res.removed);
		free(out);
	}
}

static void test_refusals(void)
{
	struct cdr_textconv_result res;
	uint8_t *out = NULL, *big;
	size_t outlen = 0;
	char why[64];

	/* binary: no charset decodes it (0x80 is no lead byte in CP932 or
	 * EUC-JP; odd length rules out UTF-16) */
	CHECK(cdr_textconv_convert((const uint8_t *)"\x80\x80\x80", 3, 0, &out, &outlen, &res, why, sizeof(why)) ==
	      -EILSEQ);
	CHECK_STR(why, "unknown-charset");
	CHECK(out == NULL && outlen == 0);
	/* a line of exactly the cap passes, one byte more does not */
	big = malloc(CDR_TEXT_MAX_LINE + 2);
	REQUIRE(big);
	memset(big, 'x', CDR_TEXT_MAX_LINE);
	big[CDR_TEXT_MAX_LINE] = '\n';
	CHECK(cdr_textconv_convert(big, CDR_TEXT_MAX_LINE + 1, 0, &out, &outlen, &res, why, sizeof(why)) == 0);
	free(out);
	out = NULL;
	big[CDR_TEXT_MAX_LINE] = 'x';
	CHECK(cdr_textconv_convert(big, CDR_TEXT_MAX_LINE + 1, 0, &out, &outlen, &res, why, sizeof(why)) == -E2BIG);
	CHECK_STR(why, "line-length-limit");
	CHECK(out == NULL);
	free(big);
	CHECK(cdr_textconv_convert((const uint8_t *)"", CDR_TEXTCONV_MAX_INPUT + 1ul, 0, &out, &outlen, &res, why,
				   sizeof(why)) == -EFBIG);
	CHECK_STR(why, "input-size-limit");
}

int main(void)
{
	test_cases();
	test_refusals();
	return check_done();
}
