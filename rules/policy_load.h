/* policy_load: the compiler's front end — policy files into a syntax tree,
 * and (policy_load, policy_load_buffer) on into the normalised policy.
 *
 * policy_load_files reads the top file and everything it includes, lexes
 * and parses each into one syntax tree in source order (includes are
 * followed where they stand; cycles, depth, escaping the top directory and
 * the caps of policy.h are refused), hashes the normalised source (the
 * token stream) and fixes the date that rule expiry is judged against.  It
 * is the only stage that touches files or the clock; the evaluator
 * (policy_eval) is a function of what it produced.
 *
 * Every problem is appended to the diag; lexing and parsing go on after an
 * error so that one run reports them all.
 *
 * Ownership: a policy_source owns its tree and file records and is
 * released by policy_load_free (also after a failed load); the diag keeps
 * its own copies of the sources, which diagnostics point into.  The
 * evaluator moves the file names (policy_file.path) into struct policy. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"
#include "rules/policy_ast.h"
#include "rules/policy_diag.h"

struct policy_options {
	const char *today; /* "YYYY-MM-DD" for expiry; NULL: the real date */
};

/* One file of a policy, in include order; ast_loc.file indexes these. */
struct policy_file {
	char *path;        /* as given / joined; the evaluator takes it */
	const char *dname; /* the diag's copy of the name */
	char *real;        /* realpath, NULL when loaded from memory */
	bool has_inc;
	struct ast_loc inc; /* the include statement that read it */
};

/* What the front end read: stage 1's output, the evaluator's input. */
struct policy_source {
	struct policy_ast ast; /* every statement of every file, in source order */
	struct policy_file *files;
	size_t nfiles, filecap;
	uint8_t sha256[32]; /* of the normalised source (the token stream) */
	char today[11];     /* "YYYY-MM-DD", the date expiry is judged against */
	/* This load's diagnostics: they start at d->v[diag_from], and it has
	 * errors when d->nerrors is no longer errors_before. */
	size_t diag_from, errors_before;
};

/* Read, lex and parse path and everything it includes into *ret.  Returns
 * 0 (syntax errors are in d; the evaluator still runs so that name errors
 * are reported too), -EINVAL for a bad opt->today, or -errno when the top
 * file cannot be read (reported in d; an unreadable include is an error in
 * d, not a failure).  *ret is always to be released with policy_load_free. */
int policy_load_files(const char *path, const struct policy_options *opt, struct diag *d, struct policy_source *ret);
/* The same from memory (fuzzing, tests); includes are refused. */
int policy_load_text(const char *name, const char *text, size_t len, const struct policy_options *opt, struct diag *d,
		     struct policy_source *ret);
void policy_load_free(struct policy_source *src);

/* The whole front end: policy_load_files, then policy_eval.  Returns 0 and
 * a policy, or -EINVAL when d holds errors (then *ret is NULL), or -errno
 * for I/O failures (also reported in d). */
int policy_load(const char *path, const struct policy_options *opt, struct diag *d, struct policy **ret);
/* Same from memory (fuzzing, tests); includes are refused. */
int policy_load_buffer(const char *name, const char *text, size_t len, const struct policy_options *opt, struct diag *d,
		       struct policy **ret);
