/* lx_csv: RFC 4180 rows for spreadsheet users.
 *
 * Fields are quoted when they contain a comma, a double quote, CR or LF
 * (quotes doubled); rows end in CRLF.  Cells from the logs are hostile:
 * with the formula guard, a cell that a spreadsheet would evaluate (first
 * character = + - @ TAB CR, and not a plain number) gets a leading
 * apostrophe (the OWASP "CSV injection" defence), so that opening an
 * export never runs a formula.  Appends to a strbuf (aborts on OOM). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* True when a spreadsheet would treat s as a formula. */
bool lx_csv_is_formula(const char *s, size_t n);

/* Append one field (no separator). */
void lx_csv_field(struct strbuf *sb, const char *s, size_t n, bool formula_guard);

/* Append a row of n fields and CRLF. */
void lx_csv_row(struct strbuf *sb, const char *const *cells, size_t n, bool formula_guard);
