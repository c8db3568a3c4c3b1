/* cdr_conv: one run of a converter of ours, as the handlers need it: in
 * the sandbox (cdr_run_converter), its product in a memfd, its whole line
 * report (stderr) read with cdr_log, and every way it can fail turned into
 * a report reason.
 *
 * A run is good only when the sandbox says "ok" (exit 0 within every
 * limit) and the report is well formed and ends with "ok"; a converter's
 * own refusal ("refused KEY", exit 1) becomes KEY when the reason table
 * knows it (else "exit-status"); the sandbox's reasons are
 * cdr_fail_from_run's; a report that does not parse, or ends "refused"
 * while the converter exited 0, is "converter-report".  The caller's line
 * function sees every line but the end line and accepts or refuses it.
 *
 * The removed items the line function added are dropped again when the
 * run fails: they describe no copy.
 *
 * Ownership: on success ret->fd (a memfd holding the product, offset 0)
 * belongs to the caller: cdr_conv_run_free closes it.  On failure nothing
 * is left open.  Failure: the rep's reason through cdr_report_fail, its
 * negative value returned.  Never logs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_log.h"

struct cdr_conv_run {
	int fd;          /* the product (memfd), or -1 */
	uint64_t outlen; /* its size */
	struct cdr_sandbox_result res;
	struct cdr_log_end end;
};

int cdr_conv_run(const struct cdr_ctx *ctx, const char *const argv[], int in_fd, const struct cdr_sandbox_limits *lim,
		 cdr_log_line_fn *fn, void *arg, struct cdr_conv_run *ret, struct cdr_report *rep);
void cdr_conv_run_free(struct cdr_conv_run *run);

/* the product read into memory (malloc'd, the caller frees it) */
int cdr_conv_read(const struct cdr_conv_run *run, uint8_t **ret_buf, size_t *ret_len);

/* for a line function: a line it does not accept (-EBADMSG, why names the key) */
int cdr_conv_unexpected(const char *key, char *why, size_t whylen);

/* s is one of set[0..n) */
bool cdr_conv_one_of(const char *s, const char *const *set, size_t n);
