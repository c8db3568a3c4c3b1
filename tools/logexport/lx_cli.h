/* lx_cli: what the subcommands share at the edge (this is where the tool
 * prints): messages on stderr, exit codes, the key, break descriptions.
 *
 * Exit codes: 0 success, 1 verification failure or broken chain, 2 usage
 * or I/O error. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit/audit.h"
#include "common/audit/audit_verify.h"
#include "common/strbuf.h"

#define LX_EXIT_OK 0
#define LX_EXIT_BROKEN 1
#define LX_EXIT_USAGE 2

#define LX_PROG "sekisho-logexport"
#define LX_DEFAULT_KEY "/etc/sekisho/audit.key"

#ifndef LX_VERSION
#define LX_VERSION "0.0.0"
#endif

/* "sekisho-logexport: <message>\n" on stderr. */
void lx_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Load the key (path NULL: LX_DEFAULT_KEY); prints and returns false on
 * failure. */
bool lx_cli_load_key(const char *path, struct audit_key *ret_key);

/* "KIND at FILE:LINE (offset O, seq S[, N lines]): DETAIL" for humans,
 * in English or Japanese. */
void lx_cli_break_text(struct strbuf *sb, const struct audit_verify_result *res, const struct audit_break *b, bool ja);

/* Basename of a result file (never NULL). */
const char *lx_cli_file_name(const struct audit_verify_result *res, size_t file);

/* Parse a non-negative integer option; prints and returns false if bad. */
bool lx_cli_uint(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *ret);
