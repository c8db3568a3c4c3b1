/* diag_test: rendering of diagnostics (source line, caret under the span,
 * display width of wide characters, tabs, notes, multi-line messages) and
 * the error limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "rules/policy_diag.h"
#include "test/check.h"

static const struct {
	const char *what;
	const char *src;         /* source text of "t.policy" */
	uint32_t line, col, len; /* line 0: no place */
	int sev;
	const char *msg;
	const char *want; /* exact policy_diag_render output */
} cases[] = {
	{"plain", "rule \"x\" allow lgwn -> internet\n", 1, 16, 4, DIAG_ERROR, "unknown zone 'lgwn'",
	 "t.policy:1:16: error: unknown zone 'lgwn'\n"
	 "  rule \"x\" allow lgwn -> internet\n"
	 "                 ^~~~\n"},
	{"point", "zone a\n", 1, 6, 0, DIAG_WARNING, "w",
	 "t.policy:1:6: warning: w\n"
	 "  zone a\n"
	 "       ^\n"},
	{"note", "a\nb\n", 2, 1, 1, DIAG_NOTE, "first defined here",
	 "t.policy:2:1: note: first defined here\n"
	 "  b\n"
	 "  ^\n"},
	{"tabs copied into the caret line", "\tzone\tlgwan x\n", 1, 7, 5, DIAG_ERROR, "e",
	 "t.policy:1:7: error: e\n"
	 "  \tzone\tlgwan x\n"
	 "  \t    \t^~~~~\n"},
	{"wide characters before the span", "rule \"城北市\" allow x\n", 1, 24, 1, DIAG_ERROR, "e",
	 "t.policy:1:24: error: e\n"
	 "  rule \"城北市\" allow x\n"
	 "                      ^\n"},
	{"wide character span", "zone a\xe3\x80\x80tier\n", 1, 7, 3, DIAG_ERROR, "e",
	 "t.policy:1:7: error: e\n"
	 "  zone a\xe3\x80\x80tier\n"
	 "        ^~\n"},
	{"halfwidth katakana is narrow", "\xef\xbd\xb6\xef\xbd\xb6 x\n", 1, 8, 1, DIAG_ERROR, "e",
	 "t.policy:1:8: error: e\n"
	 "  \xef\xbd\xb6\xef\xbd\xb6 x\n"
	 "     ^\n"},
	{"span clipped at end of line", "abc\n", 1, 2, 10, DIAG_ERROR, "e",
	 "t.policy:1:2: error: e\n"
	 "  abc\n"
	 "   ^~\n"},
	{"place at end of line", "abc\n", 1, 4, 0, DIAG_ERROR, "e",
	 "t.policy:1:4: error: e\n"
	 "  abc\n"
	 "     ^\n"},
	{"CRLF line", "ab\r\ncd\r\n", 2, 1, 2, DIAG_ERROR, "e",
	 "t.policy:2:1: error: e\n"
	 "  cd\n"
	 "  ^~\n"},
	{"control bytes shown as ?",
	 "a\x01\xff"
	 "b\n",
	 1, 4, 1, DIAG_ERROR, "e",
	 "t.policy:1:4: error: e\n"
	 "  a??b\n"
	 "     ^\n"},
	{"last line without newline", "x\ny", 2, 1, 1, DIAG_ERROR, "e",
	 "t.policy:2:1: error: e\n"
	 "  y\n"
	 "  ^\n"},
	{"multi-line message", "abc\n", 1, 1, 3, DIAG_ERROR, "first\n  second\n  third",
	 "t.policy:1:1: error: first\n"
	 "  abc\n"
	 "  ^~~\n"
	 "  second\n"
	 "  third\n"},
	{"line past the end: no source", "abc\n", 7, 1, 1, DIAG_ERROR, "e", "t.policy:7:1: error: e\n"},
	{"no place", "", 0, 0, 0, DIAG_ERROR, "cannot open 'x'", "error: cannot open 'x'\n"},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct diag d;
		struct strbuf sb = STRBUF_INIT;
		policy_diag_init(&d);
		const char *name = policy_diag_add_source(&d, "t.policy", cases[i].src, strlen(cases[i].src));
		struct policy_loc loc = {0};
		if (cases[i].line)
			loc = (struct policy_loc){name, cases[i].line, cases[i].col, cases[i].len};
		policy_diag_report(&d, (enum diag_severity)cases[i].sev, loc, "%s", cases[i].msg);
		policy_diag_render(&d, &sb);
		if (strcmp(strbuf_str(&sb), cases[i].want)) {
			fprintf(stderr, "%s: got\n%s---- want\n%s----\n", cases[i].what, strbuf_str(&sb),
				cases[i].want);
			check_failures++;
		}
		strbuf_free(&sb);
		policy_diag_free(&d);
	}
}

static void test_counts_and_limit(void)
{
	struct diag d;
	struct strbuf sb = STRBUF_INIT;
	policy_diag_init(&d);
	d.max_errors = 3;
	policy_diag_warning(&d, (struct policy_loc){0}, "w");
	for (int i = 0; i < 10; i++) {
		policy_diag_error(&d, (struct policy_loc){0}, "e%d", i);
		policy_diag_note(&d, (struct policy_loc){0}, "n%d", i);
	}
	CHECK(d.nwarnings == 1);
	CHECK(d.nerrors == 10);      /* still counts what it drops */
	CHECK(d.n == 1 + 3 * 2 + 1); /* 3 errors with notes + the final one */
	policy_diag_render(&d, &sb);
	CHECK(strstr(strbuf_str(&sb), "error: e2\nnote: n2\nerror: too many errors (more than 3)"));
	CHECK(!strstr(strbuf_str(&sb), "e3"));
	strbuf_free(&sb);
	policy_diag_free(&d);
	policy_diag_free(&d); /* freeing twice is harmless */
	policy_diag_free(NULL);
}

static void test_sources(void)
{
	struct diag d;
	struct strbuf sb = STRBUF_INIT;
	policy_diag_init(&d);
	const char *a = policy_diag_add_source(&d, "a.policy", "one\n", 4);
	const char *b = policy_diag_add_source(&d, "b.policy", "two\n", 4);
	CHECK(a != b && !strcmp(a, "a.policy"));
	/* a place naming the file by an equal string (not the stored pointer) */
	char name[] = "b.policy";
	policy_diag_error(&d, ((struct policy_loc){name, 1, 1, 3}), "x");
	policy_diag_render(&d, &sb);
	CHECK(!strcmp(strbuf_str(&sb), "b.policy:1:1: error: x\n  two\n  ^~~\n"));
	/* a file with no line: "file: error: ..." */
	strbuf_reset(&sb);
	policy_diag_free(&d);
	policy_diag_init(&d);
	policy_diag_error(&d, ((struct policy_loc){"c.policy", 0, 0, 0}), "unreadable");
	policy_diag_render(&d, &sb);
	CHECK(!strcmp(strbuf_str(&sb), "c.policy: error: unreadable\n"));
	strbuf_free(&sb);
	policy_diag_free(&d);
}

/* Entries in any order find their own lines (the renderer remembers where
 * it was to avoid rescanning large files). */
static void test_line_order(void)
{
	struct diag d;
	struct strbuf sb = STRBUF_INIT;
	static const uint32_t lines[] = {3, 4, 2, 3, 1, 4};
	policy_diag_init(&d);
	const char *f = policy_diag_add_source(&d, "t", "l1\nl2\nl3\nl4\n", 12);
	const char *g = policy_diag_add_source(&d, "u", "m1\nm2\n", 6);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		policy_diag_error(&d, ((struct policy_loc){f, lines[i], 1, 2}), "e");
		policy_diag_error(&d, ((struct policy_loc){g, 2, 1, 2}), "e");
	}
	policy_diag_render(&d, &sb);
	const char *want = "t:3:1: error: e\n  l3\n  ^~\nu:2:1: error: e\n  m2\n  ^~\n"
			   "t:4:1: error: e\n  l4\n  ^~\nu:2:1: error: e\n  m2\n  ^~\n"
			   "t:2:1: error: e\n  l2\n  ^~\nu:2:1: error: e\n  m2\n  ^~\n"
			   "t:3:1: error: e\n  l3\n  ^~\nu:2:1: error: e\n  m2\n  ^~\n"
			   "t:1:1: error: e\n  l1\n  ^~\nu:2:1: error: e\n  m2\n  ^~\n"
			   "t:4:1: error: e\n  l4\n  ^~\nu:2:1: error: e\n  m2\n  ^~\n";
	CHECK(!strcmp(strbuf_str(&sb), want));
	strbuf_free(&sb);
	policy_diag_free(&d);
}

static void test_color(void)
{
	struct diag d;
	char *buf = NULL;
	size_t n = 0;
	policy_diag_init(&d);
	const char *f = policy_diag_add_source(&d, "t.policy", "abc\n", 4);
	policy_diag_error(&d, ((struct policy_loc){f, 1, 1, 1}), "e");
	FILE *out = open_memstream(&buf, &n);
	policy_diag_print(&d, out, true);
	fclose(out);
	CHECK(strstr(buf, "\033[1;31merror:"));
	CHECK(strstr(buf, "\033[1;32m  ^"));
	free(buf);
	/* policy_diag_render never colours */
	struct strbuf sb = STRBUF_INIT;
	policy_diag_render(&d, &sb);
	CHECK(!strchr(strbuf_str(&sb), '\033'));
	strbuf_free(&sb);
	out = open_memstream(&buf, &n);
	policy_diag_print(&d, out, false);
	fclose(out);
	CHECK(!strcmp(buf, "t.policy:1:1: error: e\n  abc\n  ^\n"));
	free(buf);
	policy_diag_free(&d);
}

int main(void)
{
	test_cases();
	test_counts_and_limit();
	test_sources();
	test_line_order();
	test_color();
	return check_done();
}
