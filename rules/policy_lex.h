/* policy_lex: the tokenizer of the policy language.
 *
 * Line-oriented: a statement ends at the end of a line, reported as one
 * TOK_NEWLINE token (blank and comment-only lines produce none).  A line
 * whose last token is ',' or which ends in '\' continues on the next line.
 * '#' starts a comment outside strings.  A UTF-8 byte order mark at the
 * start of a file is skipped.  Invalid UTF-8, NUL bytes and characters
 * outside the language are errors reported to the diag; lexing goes on
 * after each so that every error of a file is found in one run.
 *
 * Ownership: the lexer borrows the source text, the file name (a name
 * stored in the diag) and the diag; they must outlive it.  A token's text
 * points into the source (words, punctuation) or into the lexer's own
 * buffer (decoded strings) and is valid until the next policy_lex_next. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "rules/policy_diag.h"

#define POLICY_MAX_STRING 4096 /* bytes of a decoded string */
#define POLICY_MAX_WORD 256    /* bytes of a word */

enum policy_tok_kind {
	TOK_EOF = 0,
	TOK_NEWLINE, /* end of a statement */
	TOK_WORD,    /* word characters A-Z a-z 0-9 _ . : / * -, stopping before "->" */
	TOK_STRING,  /* "..." (text is the decoded value) */
	TOK_COMMA,
	TOK_LBRACKET,
	TOK_RBRACKET,
	TOK_ARROW,   /* -> */
	TOK_BIARROW, /* <-> */
};

struct policy_token {
	enum policy_tok_kind kind;
	const char *text; /* not NUL-terminated for words; see above */
	size_t len;
	struct policy_loc loc; /* loc.len: bytes of the token in the source */
};

struct policy_lexer {
	const char *src;
	size_t len, pos;
	const char *file;
	struct diag *d;
	uint32_t line;
	size_t line_start;
	enum policy_tok_kind last;  /* kind of the last token returned */
	struct policy_loc last_loc; /* and its place */
	bool eof_seen;
	bool cont;              /* a '\' continues this line */
	uint32_t utf8_err_line; /* one invalid-UTF-8 error per line */
	size_t nerrors;         /* errors this lexer reported */
	struct strbuf str;      /* decoded string value */
	/* Called for every token returned except TOK_EOF (the source hash). */
	void (*on_token)(void *ctx, const struct policy_token *t);
	void *on_token_ctx;
};

void policy_lex_init(struct policy_lexer *lx, const char *file, const char *src, size_t len, struct diag *d);
void policy_lex_free(struct policy_lexer *lx);
/* The next token; TOK_EOF forever at the end. */
void policy_lex_next(struct policy_lexer *lx, struct policy_token *ret);
/* "end of line", "','", ... for messages. */
const char *policy_lex_kind_name(enum policy_tok_kind k);
/* Is c a character of a word? */
bool policy_lex_is_word_char(unsigned char c);
