/* cdr_filter: the stdin/stdout edges every converter program shares
 * (sekisho-cdr-ooxml, -office, -text): read the input under a cap, write
 * the product and the end line of the report.
 *
 * Both print what the report needs on stderr ("refused input-size-limit",
 * "ok", or a "PROG: ...: error" line for an I/O failure) and return the
 * converter's exit status: 0, 1 (refused), 2 (I/O).  Ownership: *ret is
 * malloc'd for the caller; the product stays the caller's.  For programs
 * only (they print); not for library code. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* stdin to its end, at most max bytes; 0, or the exit status to return */
int cdr_filter_read_input(const char *prog, size_t max, uint8_t **ret, size_t *ret_len);
/* buf to stdout, then "ok" on stderr; 0, or 2 */
int cdr_filter_write_product(const char *prog, const void *buf, size_t len);
