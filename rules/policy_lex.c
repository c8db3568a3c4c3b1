/* policy_lex: tokens of the policy language (see policy_lex.h).
 *
 * The lexer never fails: every problem is an error in the diag and lexing
 * resumes after the offending bytes, so one run reports everything.  It
 * produces no token for what it refuses (a stray character) and a best
 * effort token where that avoids a cascade of parse errors (an
 * unterminated string is still returned as a string).
 *
 * Invalid UTF-8 is reported once per line: a Shift_JIS file would
 * otherwise produce an error for every character. */
#include "rules/policy_lex.h"

#include <string.h>

#include "common/i18n.h"
#include "common/utf8.h"

void policy_lex_init(struct policy_lexer *lx, const char *file, const char *src, size_t len, struct diag *d)
{
	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->len = len;
	lx->file = file;
	lx->d = d;
	lx->line = 1;
	lx->last = TOK_NEWLINE;
	/* Editors on Windows like to start UTF-8 files with a BOM. */
	if (len >= 3 && !memcmp(src, "\xef\xbb\xbf", 3))
		lx->pos = lx->line_start = 3;
}

void policy_lex_free(struct policy_lexer *lx)
{
	strbuf_free(&lx->str);
}

const char *policy_lex_kind_name(enum policy_tok_kind k)
{
	switch (k) {
	case TOK_EOF:
		return _("end of file");
	case TOK_NEWLINE:
		return _("end of line");
	case TOK_WORD:
		return _("a word");
	case TOK_STRING:
		return _("a string");
	case TOK_COMMA:
		return "','";
	case TOK_LBRACKET:
		return "'['";
	case TOK_RBRACKET:
		return "']'";
	case TOK_ARROW:
		return "'->'";
	case TOK_BIARROW:
		return "'<->'";
	}
	return "?";
}

bool policy_lex_is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		c == ':' || c == '/' || c == '*' || c == '-';
}

static struct policy_loc lex_loc(const struct policy_lexer *lx, size_t pos, size_t len)
{
	return (struct policy_loc){
		.file = lx->file,
		.line = lx->line,
		.col = (uint32_t)(pos - lx->line_start + 1),
		.len = (uint32_t)len,
	};
}

#define lex_error(lx, pos, len, ...)                                                  \
	do {                                                                          \
		(lx)->nerrors++;                                                      \
		policy_diag_error((lx)->d, lex_loc((lx), (pos), (len)), __VA_ARGS__); \
	} while (0)

/* Check the non-ASCII character at pos: returns its length (at least 1, so
 * that the caller always moves on).  *ret_ok tells whether it was valid. */
static size_t lex_check_utf8(struct policy_lexer *lx, size_t pos, uint32_t *ret_cp, bool *ret_ok)
{
	const unsigned char *s = (const unsigned char *)lx->src + pos;
	size_t n = utf8_decode(s, lx->len - pos, ret_cp);
	if (n) {
		*ret_ok = true;
		return n;
	}
	*ret_ok = false;
	if (lx->utf8_err_line != lx->line) {
		lx->utf8_err_line = lx->line;
		lex_error(lx, pos, 1,
			  "invalid UTF-8 (byte 0x%02x); policy files must be UTF-8 "
			  "(was this file saved as Shift_JIS?)",
			  s[0]);
	}
	return 1;
}

/* Skip a comment starting at lx->pos ('#'), validating what is in it. */
static void lex_skip_comment(struct policy_lexer *lx)
{
	while (lx->pos < lx->len && lx->src[lx->pos] != '\n') {
		unsigned char c = (unsigned char)lx->src[lx->pos];
		if (c == 0) {
			lex_error(lx, lx->pos, 1, "NUL byte in policy file");
			lx->pos++;
		} else if (c >= 0x80) {
			uint32_t cp;
			bool ok;
			lx->pos += lex_check_utf8(lx, lx->pos, &cp, &ok);
		} else {
			lx->pos++;
		}
	}
}

/* A character that is not part of the language, at lx->pos. */
static void lex_stray(struct policy_lexer *lx)
{
	unsigned char c = (unsigned char)lx->src[lx->pos];
	size_t pos = lx->pos;

	if (c == 0) {
		lex_error(lx, pos, 1, "NUL byte in policy file");
		lx->pos++;
		return;
	}
	if (c < 0x80) {
		if (c < 0x20 || c == 0x7f)
			lex_error(lx, pos, 1, "unexpected control character 0x%02x", c);
		else if (c == ';')
			lex_error(lx, pos, 1, "unexpected ';': a statement ends at the end of the line");
		else if (c == '<' && pos + 1 < lx->len && lx->src[pos + 1] == '>') {
			lex_error(lx, pos, 2, "'<>' is not an arrow; write '<->' or '->'");
			lx->pos++;
		} else if (c == '=' && pos + 1 < lx->len && lx->src[pos + 1] == '>') {
			lex_error(lx, pos, 2, "'=>' is not an arrow; write '->' or '<->'");
			lx->pos++;
		} else
			lex_error(lx, pos, 1, "unexpected character '%c'", c);
		lx->pos++;
		return;
	}
	uint32_t cp;
	bool ok;
	size_t n = lex_check_utf8(lx, pos, &cp, &ok);
	lx->pos += n;
	if (!ok)
		return;
	/* Japanese input methods make these easy to type by accident. */
	if (cp == 0x3000) {
		lex_error(lx, pos, n, "full-width space (U+3000); use an ASCII space");
		return;
	}
	/* one error for a run of characters, not one per character */
	bool fullwidth = cp >= 0xff01 && cp <= 0xff5e;
	char ascii[33];
	size_t na = 0;
	if (fullwidth)
		ascii[na++] = (char)(cp - 0xff01 + 0x21);
	for (;;) {
		uint32_t c2;
		size_t n2;
		if (lx->pos >= lx->len || (unsigned char)lx->src[lx->pos] < 0x80)
			break;
		n2 = utf8_decode((const unsigned char *)lx->src + lx->pos, lx->len - lx->pos, &c2);
		if (!n2 || c2 == 0x3000 || fullwidth != (c2 >= 0xff01 && c2 <= 0xff5e))
			break;
		if (fullwidth && na < sizeof ascii - 1)
			ascii[na++] = (char)(c2 - 0xff01 + 0x21);
		lx->pos += n2;
	}
	size_t len = lx->pos - pos, shown = len;
	if (shown > 120) {
		/* cut on a character boundary: messages stay valid UTF-8 */
		shown = 120;
		while (shown && ((unsigned char)lx->src[pos + shown] & 0xc0) == 0x80)
			shown--;
	}
	if (fullwidth)
		lex_error(lx, pos, len, "full-width '%.*s'; use ASCII '%.*s'", (int)shown, lx->src + pos, (int)na,
			  ascii);
	else if (len == n)
		lex_error(lx, pos, len, "unexpected character '%.*s' (U+%04X) outside a string", (int)shown,
			  lx->src + pos, (unsigned)cp);
	else
		lex_error(lx, pos, len,
			  "unexpected text '%.*s' outside a string (names and "
			  "keywords are ASCII; other text goes in \"...\")",
			  (int)shown, lx->src + pos);
}

/* A "..." string at lx->pos: decode into lx->str. */
static void lex_string(struct policy_lexer *lx, struct policy_token *t)
{
	size_t start = lx->pos;
	bool too_long = false;

	strbuf_reset(&lx->str);
	strbuf_append(&lx->str, "", 0);
	lx->pos++;
	for (;;) {
		if (lx->pos >= lx->len || lx->src[lx->pos] == '\n') {
			size_t end = lx->pos;
			if (end > start && lx->src[end - 1] == '\r')
				end--;
			lex_error(lx, start, end - start, "unterminated string");
			break;
		}
		unsigned char c = (unsigned char)lx->src[lx->pos];
		if (c == '"') {
			lx->pos++;
			break;
		}
		if (c == '\\') {
			char e = lx->pos + 1 < lx->len ? lx->src[lx->pos + 1] : '\0';
			if (e == '"' || e == '\\')
				strbuf_putc(&lx->str, e);
			else if (e == 'n')
				strbuf_putc(&lx->str, '\n');
			else if (e == '\n' || lx->pos + 1 >= lx->len) {
				lx->pos++;
				continue; /* reported as unterminated */
			} else {
				uint32_t cp;
				size_t n = utf8_decode((const unsigned char *)lx->src + lx->pos + 1,
						       lx->len - lx->pos - 1, &cp);
				if (!n || (unsigned char)e < 0x20)
					n = 1;
				if (n == 1 && ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7f))
					lex_error(lx, lx->pos, 2, "unknown escape in string (only \\\", \\\\ and \\n)");
				else
					lex_error(lx, lx->pos, n + 1,
						  "unknown escape '\\%.*s' in string (only \\\", \\\\ and \\n)", (int)n,
						  lx->src + lx->pos + 1);
				lx->pos += 1 + n;
				continue;
			}
			lx->pos += 2;
		} else if (c == 0) {
			lex_error(lx, lx->pos, 1, "NUL byte in policy file");
			lx->pos++;
			continue;
		} else if (c >= 0x80) {
			uint32_t cp;
			bool ok;
			size_t n = lex_check_utf8(lx, lx->pos, &cp, &ok);
			if (ok)
				strbuf_append(&lx->str, lx->src + lx->pos, n);
			lx->pos += n;
		} else if (c < 0x20 && c != '\t') {
			lex_error(lx, lx->pos, 1, "control character 0x%02x in string", c);
			lx->pos++;
			continue;
		} else {
			strbuf_putc(&lx->str, (char)c);
			lx->pos++;
		}
		if (lx->str.len > POLICY_MAX_STRING && !too_long) {
			too_long = true;
			lex_error(lx, start, 1, "string longer than %d bytes", POLICY_MAX_STRING);
		}
	}
	t->kind = TOK_STRING;
	t->text = lx->str.buf;
	t->len = lx->str.len;
	t->loc = lex_loc(lx, start, lx->pos - start);
}

/* After a '\' at lx->pos: only blanks and a comment may follow on the line. */
static void lex_backslash(struct policy_lexer *lx)
{
	size_t p = lx->pos + 1;
	while (p < lx->len && (lx->src[p] == ' ' || lx->src[p] == '\t' || lx->src[p] == '\r'))
		p++;
	if (p >= lx->len || lx->src[p] == '\n' || lx->src[p] == '#') {
		lx->cont = true;
		lx->pos = p;
		return;
	}
	lex_error(lx, lx->pos, 1, "'\\' is only allowed at the end of a line (to continue it)");
	lx->pos++;
}

static void lex_emit(struct policy_lexer *lx, struct policy_token *t)
{
	lx->last = t->kind;
	lx->last_loc = t->loc;
	if (t->kind != TOK_EOF && lx->on_token)
		lx->on_token(lx->on_token_ctx, t);
}

void policy_lex_next(struct policy_lexer *lx, struct policy_token *t)
{
	for (;;) {
		if (lx->pos >= lx->len) {
			if (lx->last == TOK_COMMA && !lx->eof_seen) {
				lx->nerrors++;
				policy_diag_error(lx->d, lx->last_loc,
						  "the file ends after ','; a line ending "
						  "in ',' continues on the next line");
			}
			lx->eof_seen = true;
			/* the last statement ends even without a final newline */
			if (lx->last != TOK_NEWLINE && lx->last != TOK_EOF) {
				t->kind = TOK_NEWLINE;
				t->text = "";
				t->len = 0;
			} else {
				t->kind = TOK_EOF;
				t->text = "";
				t->len = 0;
			}
			t->loc = lex_loc(lx, lx->pos, 0);
			lex_emit(lx, t);
			return;
		}
		size_t start = lx->pos;
		unsigned char c = (unsigned char)lx->src[start];
		switch (c) {
		case ' ':
		case '\t':
		case '\r':
		case '\f':
		case '\v':
			lx->pos++;
			continue;
		case '#':
			lex_skip_comment(lx);
			continue;
		case '\n': {
			bool join = lx->cont || lx->last == TOK_COMMA || lx->last == TOK_NEWLINE;
			t->loc = lex_loc(lx, start, 0);
			lx->pos++;
			lx->line++;
			lx->line_start = lx->pos;
			lx->cont = false;
			if (join)
				continue;
			t->kind = TOK_NEWLINE;
			t->text = "";
			t->len = 0;
			lex_emit(lx, t);
			return;
		}
		case '\\':
			lex_backslash(lx);
			continue;
		case '"':
			lex_string(lx, t);
			lex_emit(lx, t);
			return;
		case ',':
			t->kind = TOK_COMMA;
			goto punct1;
		case '[':
			t->kind = TOK_LBRACKET;
			goto punct1;
		case ']':
			t->kind = TOK_RBRACKET;
punct1:
			lx->pos++;
			t->text = lx->src + start;
			t->len = 1;
			t->loc = lex_loc(lx, start, 1);
			lex_emit(lx, t);
			return;
		case '<':
			if (lx->len - start >= 3 && !memcmp(lx->src + start, "<->", 3)) {
				lx->pos += 3;
				t->kind = TOK_BIARROW;
				t->text = lx->src + start;
				t->len = 3;
				t->loc = lex_loc(lx, start, 3);
				lex_emit(lx, t);
				return;
			}
			lex_stray(lx);
			continue;
		default:
			break;
		}
		if (c == '-' && start + 1 < lx->len && lx->src[start + 1] == '>') {
			lx->pos += 2;
			t->kind = TOK_ARROW;
			t->text = lx->src + start;
			t->len = 2;
			t->loc = lex_loc(lx, start, 2);
			lex_emit(lx, t);
			return;
		}
		if (policy_lex_is_word_char(c)) {
			size_t p = start;
			while (p < lx->len && policy_lex_is_word_char((unsigned char)lx->src[p]) &&
			       !(lx->src[p] == '-' && p + 1 < lx->len && lx->src[p + 1] == '>'))
				p++;
			lx->pos = p;
			if (p - start > POLICY_MAX_WORD)
				lex_error(lx, start, p - start, "word longer than %d bytes", POLICY_MAX_WORD);
			t->kind = TOK_WORD;
			t->text = lx->src + start;
			t->len = p - start;
			t->loc = lex_loc(lx, start, p - start);
			lex_emit(lx, t);
			return;
		}
		lex_stray(lx);
	}
}
