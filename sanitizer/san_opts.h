/* san_opts: the command-line options sekisho-sanitize and sekisho-milter
 * share (language, notice, links, charset, kept headers, quarantine and
 * every limit), parsed in one place so the two front ends cannot drift.
 *
 * Use: san_opts_init, then for each getopt_long result call
 * san_opts_handle (the shared entries are SAN_OPTS_LONG, codes
 * SAN_OPT_FIRST..SAN_OPT_LAST; front ends number their own options from
 * SAN_OPT_LAST + 1), then san_opts_open to load the notice and open the
 * quarantine.
 *
 * Ownership: struct san_opts borrows the argv strings; san_opts_open's
 * notice and quarantine belong to it until san_opts_close.  Never prints:
 * errors come back with a reason in why. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "sanitizer/sanitize.h"

#define SAN_OPTS_MAX_LIST 256

enum {
	SAN_OPT_FIRST = 256,
	SAN_OPT_LANG = SAN_OPT_FIRST,
	SAN_OPT_NOTICE,
	SAN_OPT_LINKS,
	SAN_OPT_CHARSET,
	SAN_OPT_KEEP,
	SAN_OPT_Q,
	SAN_OPT_QMAX,
	SAN_OPT_RETAIN,
	SAN_OPT_MSIZE,
	SAN_OPT_MDEPTH,
	SAN_OPT_MPARTS,
	SAN_OPT_MHDR,
	SAN_OPT_MHLINE,
	SAN_OPT_MLINE,
	SAN_OPT_MDEC,
	SAN_OPT_MSEC,
	SAN_OPT_LAST = SAN_OPT_MSEC,
};

/* struct option entries (getopt.h) for the shared options, in the order of
 * the enum; a front end copies them into its own table. */
#define SAN_OPTS_LONG                                                                                            \
	{"lang", 1, NULL, SAN_OPT_LANG}, {"notice", 1, NULL, SAN_OPT_NOTICE}, {"links", 1, NULL, SAN_OPT_LINKS}, \
		{"charset", 1, NULL, SAN_OPT_CHARSET}, {"keep-header", 1, NULL, SAN_OPT_KEEP},                   \
		{"quarantine", 1, NULL, SAN_OPT_Q}, {"quarantine-max", 1, NULL, SAN_OPT_QMAX},                   \
		{"retain-days", 1, NULL, SAN_OPT_RETAIN}, {"max-size", 1, NULL, SAN_OPT_MSIZE},                  \
		{"max-depth", 1, NULL, SAN_OPT_MDEPTH}, {"max-parts", 1, NULL, SAN_OPT_MPARTS},                  \
		{"max-headers", 1, NULL, SAN_OPT_MHDR}, {"max-header-line", 1, NULL, SAN_OPT_MHLINE},            \
		{"max-line", 1, NULL, SAN_OPT_MLINE}, {"max-decoded", 1, NULL, SAN_OPT_MDEC},                    \
	{                                                                                                        \
		"max-seconds", 1, NULL, SAN_OPT_MSEC                                                             \
	}

/* The usage lines of the shared options, translated (gettext): the
 * sanitiser's and the milter's --help print them in the middle of theirs. */
const char *san_opts_usage(void);

struct san_opts {
	struct sanitize_config cfg; /* cfg.extra_headers points into extra */
	const char *extra[SAN_OPTS_MAX_LIST];
	const char *notice_path, *qdir;
	size_t qmax, retain_days;
	bool qgroup_read;          /* san_quarantine_opts.group_read (the milter's --quarantine-group-read) */
	struct san_notice *notice; /* san_opts_open */
	struct san_quarantine *q;  /* san_opts_open, when qdir */
};

void san_opts_init(struct san_opts *o);

/* A decimal number > 0.  0 or -EINVAL. */
int san_opts_parse_size(const char *s, size_t *ret);

/* Handle one getopt_long result.  1 when it was a shared option, 0 when it
 * is not one (the front end handles it), -EINVAL for a bad value. */
int san_opts_handle(struct san_opts *o, int code, const char *arg, char *why, size_t whylen);

/* Load the notice template (--notice) and open the quarantine (when
 * --quarantine was given); cfg then points to both.  0 or -errno. */
int san_opts_open(struct san_opts *o, char *why, size_t whylen);
void san_opts_close(struct san_opts *o);
