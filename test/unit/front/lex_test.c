/* lex_test: tokens of the policy language, line continuation, comments,
 * strings and their escapes, and the lexical errors (invalid UTF-8, NUL,
 * stray and full-width characters), each reported with its place. */
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "common/strbuf.h"
#include "rules/policy_lex.h"
#include "test/check.h"


static const struct {
	const char *in;
	size_t len;         /* 0: strlen(in) */
	const char *tokens; /* space-separated: W:word S:string , [ ] -> <-> NL */
	size_t nerrors;
	const char *error; /* substring of the first error, "file:line:col: ..." */
} cases[] = {
	/* words and punctuation */
	{"zone lgwan tier lgwan\n", 0, "W:zone W:lgwan W:tier W:lgwan NL", 0, NULL},
	{"a->b", 0, "W:a -> W:b NL", 0, NULL},
	{"lgwan<->internet", 0, "W:lgwan <-> W:internet NL", 0, NULL},
	{"x [198.18.0.1-198.18.0.9, 2001:db8::/32]", 0, "W:x [ W:198.18.0.1-198.18.0.9 , W:2001:db8::/32 ] NL", 0,
	 NULL},
	{"tcp/1024-65535 sport 53 eth*", 0, "W:tcp/1024-65535 W:sport W:53 W:eth* NL", 0, NULL},
	{"a-b->c", 0, "W:a-b -> W:c NL", 0, NULL},
	/* comments, blank lines, statements */
	{"# only a comment\n\n   \n", 0, "", 0, NULL},
	{"a # comment \"not a string\"\nb\n", 0, "W:a NL W:b NL", 0, NULL},
	{"\n\na\n\n\nb", 0, "W:a NL W:b NL", 0, NULL},
	/* continuation: trailing comma or backslash */
	{"a b,\n  c\nd\n", 0, "W:a W:b , W:c NL W:d NL", 0, NULL},
	{"a b, # comment after the comma\n  c\n", 0, "W:a W:b , W:c NL", 0, NULL},
	{"a \\\n b\n", 0, "W:a W:b NL", 0, NULL},
	{"a \\  # why\n b\n", 0, "W:a W:b NL", 0, NULL},
	{"a \\ b\n", 0, "W:a W:b NL", 1, "t:1:3: '\\' is only allowed at the end"},
	{"isolate a,", 0, "W:isolate W:a , NL", 1, "t:1:10: the file ends after ','"},
	/* CRLF, BOM */
	{"a b\r\nc\r\n", 0, "W:a W:b NL W:c NL", 0, NULL},
	{"\xef\xbb\xbfzone a\n", 0, "W:zone W:a NL", 0, NULL},
	/* strings */
	{"\"城北市\"", 0, "S:城北市 NL", 0, NULL},
	{"\"a\\\"b\\\\c\\nd\"", 0, "S:a\"b\\c\nd NL", 0, NULL},
	{"\"\"", 0, "S: NL", 0, NULL},
	{"\"tab\there\"", 0, "S:tab\there NL", 0, NULL},
	{"\"open\nnext", 0, "S:open NL W:next NL", 1, "t:1:1: unterminated string"},
	{"\"a\\tb\"", 0, "S:ab NL", 1, "t:1:3: unknown escape '\\t'"},
	{"\"a\\", 0, "S:a NL", 1, "unterminated string"},
	{"\"a\x01\"", 0, "S:a NL", 1, "t:1:3: control character 0x01 in string"},
	/* bytes that are not allowed */
	{"a\0b", 3, "W:a W:b NL", 1, "t:1:2: NUL byte"},
	{"\"a\0b\"", 5, "S:ab NL", 1, "NUL byte"},
	{"# \0\n", 4, "", 1, "t:1:3: NUL byte"},
	{"a \xff\xfe b", 0, "W:a W:b NL", 1, "t:1:3: invalid UTF-8 (byte 0xff)"},
	{"\"\x93\xfa\x96\x7b\"", 0, "S:{ NL", 1, "invalid UTF-8 (byte 0x93)"},
	{"# \xc0\xaf overlong\n\"\xed\xa0\x80\"", 0, "S: NL", 2, "t:1:3: invalid UTF-8 (byte 0xc0)"},
	{"\"\xf4\x90\x80\x80\"", 0, "S: NL", 1, "invalid UTF-8"},
	{"a;", 0, "W:a NL", 1, "t:1:2: unexpected ';'"},
	{"a { b }", 0, "W:a W:b NL", 2, "t:1:3: unexpected character '{'"},
	{"a => b", 0, "W:a W:b NL", 1, "'=>' is not an arrow"},
	{"a <> b", 0, "W:a W:b NL", 1, "'<>' is not an arrow"},
	{"zone\xe3\x80\x80lgwan", 0, "W:zone W:lgwan NL", 1, "t:1:5: full-width space (U+3000)"},
	{"\xef\xbd\x8c\xef\xbd\x87\xef\xbd\x97\xef\xbd\x81\xef\xbd\x8e", 0, "", 1,
	 "full-width 'ｌｇｗａｎ'; use ASCII 'lgwan'"},
	{"a インターネット", 0, "W:a NL", 1, "unexpected text 'インターネット' outside a string"},
	{"a é", 0, "W:a NL", 1, "unexpected character 'é' (U+00E9)"},
};

/* Tokens of in as one string, and the diag. */
static void lex_all(const char *in, size_t len, struct strbuf *out, struct diag *d)
{
	struct policy_lexer lx;
	struct policy_token t;
	const char *f = policy_diag_add_source(d, "t", in, len);
	policy_lex_init(&lx, f, in, len, d);
	for (int guard = 0; guard < 1000; guard++) {
		policy_lex_next(&lx, &t);
		if (t.kind == TOK_EOF)
			break;
		if (out->len)
			strbuf_putc(out, ' ');
		switch (t.kind) {
		case TOK_WORD:
			strbuf_printf(out, "W:%.*s", (int)t.len, t.text);
			break;
		case TOK_STRING:
			strbuf_puts(out, "S:");
			strbuf_append(out, t.text, t.len);
			break;
		case TOK_NEWLINE:
			strbuf_puts(out, "NL");
			break;
		case TOK_COMMA:
			strbuf_puts(out, ",");
			break;
		case TOK_LBRACKET:
			strbuf_puts(out, "[");
			break;
		case TOK_RBRACKET:
			strbuf_puts(out, "]");
			break;
		case TOK_ARROW:
			strbuf_puts(out, "->");
			break;
		case TOK_BIARROW:
			strbuf_puts(out, "<->");
			break;
		default:
			strbuf_puts(out, "?");
			break;
		}
	}
	/* EOF stays EOF */
	policy_lex_next(&lx, &t);
	if (t.kind != TOK_EOF) {
		fprintf(stderr, "%s: token after EOF\n", in);
		check_failures++;
	}
	policy_lex_free(&lx);
}

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct diag d;
		struct strbuf toks = STRBUF_INIT, first = STRBUF_INIT;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		policy_diag_init(&d);
		lex_all(cases[i].in, len, &toks, &d);
		if (strcmp(strbuf_str(&toks), cases[i].tokens)) {
			fprintf(stderr, "case %zu: tokens '%s', want '%s'\n", i, strbuf_str(&toks), cases[i].tokens);
			check_failures++;
		}
		if (d.nerrors != cases[i].nerrors) {
			fprintf(stderr, "case %zu: %zu errors, want %zu\n", i, d.nerrors, cases[i].nerrors);
			check_failures++;
		}
		if (cases[i].error) {
			const struct diag_entry *e = d.n ? &d.v[0] : NULL;
			if (e)
				strbuf_printf(&first, "%s:%u:%u: %s", e->loc.file ? e->loc.file : "", e->loc.line,
					      e->loc.col, e->message);
			if (!strstr(strbuf_str(&first), cases[i].error)) {
				fprintf(stderr, "case %zu: first error '%s', want '%s'\n", i, strbuf_str(&first),
					cases[i].error);
				check_failures++;
			}
		}
		strbuf_free(&toks);
		strbuf_free(&first);
		policy_diag_free(&d);
	}
}

/* Places: line and byte column of each token, spans in bytes. */
static void test_places(void)
{
	const char *in = "zone \"城北\" x,\n\ty -> z\n";
	static const struct {
		enum policy_tok_kind kind;
		uint32_t line, col, len;
	} want[] = {
		{TOK_WORD, 1, 1, 4},   {TOK_STRING, 1, 6, 8},  {TOK_WORD, 1, 15, 1},
		{TOK_COMMA, 1, 16, 1}, {TOK_WORD, 2, 2, 1},    {TOK_ARROW, 2, 4, 2},
		{TOK_WORD, 2, 7, 1},   {TOK_NEWLINE, 2, 8, 0}, {TOK_EOF, 3, 1, 0},
	};
	struct diag d;
	struct policy_lexer lx;
	policy_diag_init(&d);
	policy_lex_init(&lx, "t", in, strlen(in), &d);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		struct policy_token t;
		policy_lex_next(&lx, &t);
		if (t.kind != want[i].kind || t.loc.line != want[i].line || t.loc.col != want[i].col ||
		    t.loc.len != want[i].len) {
			fprintf(stderr, "place %zu: kind %d %u:%u+%u, want kind %d %u:%u+%u\n", i, t.kind, t.loc.line,
				t.loc.col, t.loc.len, want[i].kind, want[i].line, want[i].col, want[i].len);
			check_failures++;
		}
	}
	policy_lex_free(&lx);
	policy_diag_free(&d);
}

/* The token hook sees every token but EOF. */
static void count_token(void *ctx, const struct policy_token *t)
{
	(void)t;
	(*(int *)ctx)++;
}

static void test_hook(void)
{
	struct diag d;
	struct policy_lexer lx;
	struct policy_token t;
	int n = 0;
	policy_diag_init(&d);
	policy_lex_init(&lx, "t", "a b\nc", 5, &d);
	lx.on_token = count_token;
	lx.on_token_ctx = &n;
	do
		policy_lex_next(&lx, &t);
	while (t.kind != TOK_EOF);
	if (n != 5) {
		fprintf(stderr, "hook saw %d tokens, want 5\n", n);
		check_failures++;
	}
	policy_lex_free(&lx);
	policy_diag_free(&d);
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} u[] = {
		{"A", 1, 'A'},
		{"\xc3\xa9", 2, 0xe9},
		{"\xe5\x9f\x8e", 3, 0x57ce},
		{"\xf0\x9f\x98\x80", 4, 0x1f600},
		{"\xc0\x80", 0, 0},
		{"\xe0\x80\x80", 0, 0},
		{"\xed\xbf\xbf", 0, 0},
		{"\xf4\x90\x80\x80", 0, 0},
		{"\x80", 0, 0},
		{"\xe5\x9f", 0, 0},
	};
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
		uint32_t cp = 0;
		size_t n = utf8_decode((const unsigned char *)u[i].s, strlen(u[i].s), &cp);
		if (n != u[i].len || (n && cp != u[i].cp)) {
			fprintf(stderr, "utf8 %zu: len %zu cp %x\n", i, n, cp);
			check_failures++;
		}
	}
}

/* Long runs of text are cut in messages on a character boundary. */
static void test_long_run(void)
{
	struct strbuf in = STRBUF_INIT, toks = STRBUF_INIT;
	struct diag d;
	strbuf_puts(&in, "a \xc3\xa9"); /* é, so that 120 bytes end mid-character */
	for (int i = 0; i < 50; i++)
		strbuf_puts(&in, "\xe3\x82\xa2"); /* ア */
	policy_diag_init(&d);
	lex_all(in.buf, in.len, &toks, &d);
	if (d.nerrors != 1 || d.v[0].loc.len != 152) {
		fprintf(stderr, "long run: %zu errors\n", d.nerrors);
		check_failures++;
	} else {
		const unsigned char *m = (const unsigned char *)d.v[0].message;
		size_t n = strlen(d.v[0].message);
		for (size_t i = 0; i < n;) {
			uint32_t cp;
			size_t k = utf8_decode(m + i, n - i, &cp);
			if (!k) {
				fprintf(stderr, "long run: message is not UTF-8 at %zu\n", i);
				check_failures++;
				break;
			}
			i += k;
		}
	}
	strbuf_free(&in);
	strbuf_free(&toks);
	policy_diag_free(&d);
}

int main(void)
{
	test_long_run();
	test_cases();
	test_places();
	test_hook();
	test_utf8();
	return check_done();
}
