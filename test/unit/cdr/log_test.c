/* test/unit/cdr/log_test.c: cdr_log_parse, a converter's line report read
 * on the trusted side: reports that must be accepted (with the lines the
 * callback sees and the end) and reports that must be refused, table by
 * table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sanitizer/cdr/cdr_log.h"
#include "test/check.h"

struct seen {
	char text[512]; /* "key=value;" for every line */
};

static int collect(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	if (strcmp(key, "unknown") == 0) {
		snprintf(why, whylen, "unknown key");
		return -EPROTO;
	}
	snprintf(s->text + n, sizeof(s->text) - n, "%s=%s;", key, value);
	return 0;
}

static void test_good(void)
{
	static const struct {
		const char *in, *seen, *refused;
		size_t lines;
	} cases[] = {
		{"ok\n", "", "", 1},
		{"refused encrypted\n", "", "encrypted", 1},
		{"type doc\nremoved macros\next docx\nok\n", "type=doc;removed=macros;ext=docx;", "", 4},
		{"removed part:/word/vbaProject.bin\nsignature-removed\nok\n",
		 "removed=part:/word/vbaProject.bin;signature-removed=;", "", 3},
		{"removed rel:/ppt/slides/_rels/slide1.xml.rels:rId2:external:hyperlink\nok\n",
		 "removed=rel:/ppt/slides/_rels/slide1.xml.rels:rId2:external:hyperlink;", "", 2},
		{"removed part:/xl/worksheets/予算.xml\nok\n", "removed=part:/xl/worksheets/予算.xml;", "", 2},
		{"type xls\nrefused conversion-failed\n", "type=xls;", "conversion-failed", 2},
		{"removed a b  c\nok\n", "removed=a b  c;", "", 2},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seen s = {{0}};
		struct cdr_log_end end;
		char why[128];
		int r = cdr_log_parse(cases[i].in, strlen(cases[i].in), collect, &s, &end, why, sizeof(why));
		CHECK(r == 0, "case %zu: %d %s", i, r, why);
		CHECK_STR(s.text, cases[i].seen);
		CHECK_STR(end.refused, cases[i].refused);
		CHECK(end.ok == (cases[i].refused[0] == 0), "case %zu", i);
		CHECK_EQ_U(end.lines, cases[i].lines);
	}
}

static void test_bad(void)
{
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		const char *why;
	} cases[] = {
		{"", 0, "no end line"},
		{"ext docx\n", 0, "no end line"},
		{"ok", 0, "no newline"},
		{"ok\next xlsm\n", 0, "after the end line"},
		{"refused encrypted\nok\n", 0, "after the end line"},
		{"ok extra\n", 0, "ok with a value"},
		{"refused\n", 0, "bad refusal reason"},
		{"refused Encrypted\n", 0, "bad refusal reason"},
		{"refused a-reason-that-is-far-too-long-to-be-a-key\n", 0, "bad refusal reason"},
		{"Removed x\nok\n", 0, "bad key"},
		{" removed\nok\n", 0, "bad key"},
		{"\nok\n", 0, "bad key"},
		{"removed \nok\n", 0, "bad value"},
		{"removed a\tb\nok\n", 0, "bad value"},
		{"removed a\rb\nok\n", 0, "bad value"},
		{"removed a\x7f\nok\n", 0, "bad value"},
		{"removed \xc2\x85\nok\n", 0, "bad value"}, /* C1 NEL */
		{"removed \xe3\x81\nok\n", 0, "bad value"}, /* cut sequence */
		{"removed \xc0\xaf\nok\n", 0, "bad value"}, /* overlong */
		{"removed a\0b\nok\n", 12, "bad value"},    /* NUL */
		{"remo\0ved a\nok\n", 14, "bad key"},
		{"unknown x\nok\n", 0, "unknown key"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seen s = {{0}};
		struct cdr_log_end end;
		char why[128] = "";
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		int r = cdr_log_parse(cases[i].in, len, collect, &s, &end, why, sizeof(why));
		CHECK(r < 0, "case %zu accepted", i);
		CHECK(r == (strcmp(cases[i].why, "unknown key") == 0 ? -EPROTO : -EBADMSG), "case %zu: %d", i, r);
		CHECK(strstr(why, cases[i].why) != NULL, "case %zu: '%s', want '%s'", i, why, cases[i].why);
	}
}

/* the caps: a line of exactly the limit passes, one byte more does not;
 * too many lines; too many bytes */
static void test_caps(void)
{
	static char buf[CDR_LOG_MAX_BYTES + 64];
	struct seen s;
	struct cdr_log_end end;
	char why[128];
	size_t n;

	/* "removed " + value + "\n" == CDR_LOG_MAX_LINE */
	n = (size_t)snprintf(buf, sizeof(buf), "removed ");
	memset(buf + n, 'x', CDR_LOG_MAX_LINE - 1 - n);
	n = CDR_LOG_MAX_LINE - 1;
	buf[n++] = '\n';
	memcpy(buf + n, "ok\n", 3);
	memset(&s, 0, sizeof(s));
	CHECK(cdr_log_parse(buf, n + 3, collect, &s, &end, why, sizeof(why)) == 0, "%s", why);
	memmove(buf + 1, buf, n + 3);
	buf[0] = 'x'; /* "xremoved": a bad key, but the length is checked first */
	buf[1] = 'r';
	CHECK(cdr_log_parse(buf, n + 4, collect, &s, &end, why, sizeof(why)) == -EBADMSG);
	CHECK(strstr(why, "longer than") != NULL, "%s", why);

	n = 0;
	for (int i = 0; i < CDR_LOG_MAX_LINES; i++) {
		memcpy(buf + n, "a\n", 2);
		n += 2;
	}
	memcpy(buf + n, "ok\n", 3);
	CHECK(cdr_log_parse(buf, n + 3, collect, &s, &end, why, sizeof(why)) == -EBADMSG);
	CHECK(strstr(why, "more than") != NULL, "%s", why);
	CHECK(cdr_log_parse(buf, CDR_LOG_MAX_BYTES + 1, collect, &s, &end, why, sizeof(why)) == -EBADMSG);
	CHECK(strstr(why, "larger than") != NULL, "%s", why);
}

int main(void)
{
	test_good();
	test_bad();
	test_caps();
	return check_done();
}
