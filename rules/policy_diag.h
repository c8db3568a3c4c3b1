/* policy_diag: diagnostics for policy files.
 *
 * Every stage of the compiler appends diagnostics here instead of printing;
 * the program prints them once, at the edge, nftables style:
 *
 *   lgwan.policy:12:31: error: unknown service 'smtps'
 *     rule "mail" allow internet -> self service smtps
 *                                                ^~~~~
 *
 * The diag owns copies of every source text it was given (so it can print
 * the source line later) and of every message.  policy_diag_free releases all. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/strbuf.h"

/* A place in a source file.  file points into the diag's (or the policy's)
 * string store and lives as long as its owner; line and col are 1-based,
 * col counts bytes; len is the span length in bytes (0: point). */
struct policy_loc {
	const char *file;
	uint32_t line;
	uint32_t col;
	uint32_t len;
};

enum diag_severity {
	DIAG_NOTE,
	DIAG_WARNING,
	DIAG_ERROR,
};

struct diag_entry {
	enum diag_severity severity;
	struct policy_loc loc; /* loc.file NULL: not tied to a place */
	char *message;         /* owned; may contain several lines */
};

struct diag {
	struct diag_entry *v;
	size_t n, cap;
	size_t nerrors, nwarnings;
	/* registered sources: name -> text, for printing source lines */
	struct diag_source {
		char *name;
		char *text;
		size_t len;
	} * src;
	size_t nsrc, srccap;
	size_t max_errors; /* stop recording past this many errors (0: 1000) */
};

void policy_diag_init(struct diag *d);
void policy_diag_free(struct diag *d);

/* Keep a copy of a source text under name; returns the stored name, which
 * stays valid until policy_diag_free and is what policy_loc.file should point to. */
const char *policy_diag_add_source(struct diag *d, const char *name, const char *text, size_t len);

void policy_diag_report(struct diag *d, enum diag_severity sev, struct policy_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define policy_diag_error(d, loc, ...) policy_diag_report((d), DIAG_ERROR, (loc), __VA_ARGS__)
#define policy_diag_warning(d, loc, ...) policy_diag_report((d), DIAG_WARNING, (loc), __VA_ARGS__)
#define policy_diag_note(d, loc, ...) policy_diag_report((d), DIAG_NOTE, (loc), __VA_ARGS__)

/* Print every entry in order, with source line and caret where a place is
 * known.  color: use ANSI colours. */
void policy_diag_print(const struct diag *d, FILE *out, bool color);
/* Same into a buffer (golden tests compare this). */
void policy_diag_render(const struct diag *d, struct strbuf *out);
