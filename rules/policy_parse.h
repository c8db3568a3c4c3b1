/* policy_parse: statements of the policy language into the syntax tree.
 *
 * One file at a time: policy_parse_file pulls tokens from a lexer and
 * appends statements to the tree.  An include statement is handed to the
 * include callback as soon as it is parsed, so the callback can parse the
 * included file into the same tree right there and statements stay in
 * source order across includes.
 *
 * Syntax errors go to the diag; the rest of that statement is skipped and
 * parsing goes on with the next one.  A statement with a syntax error is
 * still appended, marked broken, when its name was read, so that later
 * uses of the name do not cause a cascade of "unknown name" errors.  A
 * syntax error right after a lexical error in the same statement is not
 * reported (it is the same mistake).
 *
 * Ownership: the tree owns what the parser appends (arena). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "rules/policy_ast.h"
#include "rules/policy_diag.h"
#include "rules/policy_lex.h"

#define POLICY_MAX_NAME 63    /* bytes of an object or zone name */
#define POLICY_MAX_LIST 65536 /* items in one list */

/* Called for each include statement; returns nothing useful to the parser
 * (errors go to the diag). */
typedef void (*policy_parse_include_fn)(void *ctx, const struct ast_stmt *inc);

/* Parse the tokens of lx (file number file) into ast. */
void policy_parse_file(struct policy_ast *ast, struct policy_lexer *lx, uint32_t file, policy_parse_include_fn include,
		       void *ctx);

/* Is s[0..n) a valid name ([A-Za-z_][A-Za-z0-9_.-]*, at most
 * POLICY_MAX_NAME bytes)? */
bool policy_parse_is_name(const char *s, size_t n);

/* Levenshtein distance between a and b, or max + 1 when it is above max
 * (cheap: only a band of width 2 * max + 1 is computed). */
unsigned policy_parse_distance(const char *a, size_t an, const char *b, size_t bn, unsigned max);

/* The closest of words[0..n) to s within distance 2, or NULL. */
const char *policy_parse_suggest(const char *s, size_t len, const char *const *words, size_t n);
