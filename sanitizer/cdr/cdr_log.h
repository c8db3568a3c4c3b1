/* cdr_log: the line report a converter writes on its stderr, read on the
 * trusted side.
 *
 * A report is lines "KEY" or "KEY VALUE", each ending in "\n": KEY is 1-32
 * of [a-z0-9-]; VALUE is non-empty UTF-8 (common/utf8) without control
 * characters.  It ends with "ok" (the converter made its product) or
 * "refused REASON" (it made none; REASON a key), and nothing follows.
 * Everything else is refused: no end line (a converter killed halfway), a
 * line without its newline, an over-long line, too many lines or bytes, a
 * NUL, invalid UTF-8.  The converter may be compromised, so its report is
 * as hostile as its product: each caller also checks which keys it accepts
 * and what their values may be (the callback).
 *
 * Ownership: the caller owns buf; the strings handed to the callback live
 * only during the call.  Failure: -EBADMSG with a short English why; the
 * callback's own negative value is passed back unchanged.  Never logs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define CDR_LOG_MAX_LINE 4096        /* bytes of one line, newline included */
#define CDR_LOG_MAX_LINES 100000     /* lines of one report */
#define CDR_LOG_MAX_BYTES (1u << 20) /* the whole report; also the sandbox's err_max */

struct cdr_log_end {
	bool ok;          /* ended with "ok" */
	char refused[33]; /* the REASON of "refused REASON", or "" */
	size_t lines;     /* lines read, the end line included */
};

/* called for every line but the end line: key and value (value "" for a
 * bare key); return 0 to go on, or a negative value to stop (returned) */
typedef int cdr_log_line_fn(void *arg, const char *key, const char *value, char *why, size_t whylen);

/* formats why (when whylen > 0) and returns -EBADMSG: the refusal of
 * this reader, and of the checks of converter output built on it */
int cdr_log_bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int cdr_log_parse(const void *buf, size_t len, cdr_log_line_fn *fn, void *arg, struct cdr_log_end *ret_end, char *why,
		  size_t whylen);
