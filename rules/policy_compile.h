/* policy_compile: the compiler pipeline in one place.
 *
 *   load      policy_load_files   files and includes -> lexer -> parser -> syntax tree
 *   evaluate  policy_eval         names, kinds, values, implicit invariants -> struct policy
 *   prove     policy_prove        three-tier invariants, reachability
 *   build     table_build         struct policy -> compiled table bytes
 *   record    opt->record         e.g. the audit record, before anything is installed
 *   write     (here)              the table written aside, fsynced, renamed over the output
 *
 * Each command of sekisho-rulec runs the stages it needs through
 * policy_compile (show and diff stop after evaluate, explain skips prove,
 * check stops after prove, compile runs them all).  The pipeline stops at
 * the first stage that fails and says which in ret->stage; nothing is
 * printed here (problems of the policy go to the diag, the others to
 * ret->why), the program decides what to print and how to exit.
 *
 * Ownership: ret owns the policy, the proof report and the table bytes it
 * produced, also after a failure (policy_compile_free releases them). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"
#include "rules/policy_diag.h"
#include "rules/policy_load.h"
#include "rules/policy_prove.h"

struct policy_compile;

struct policy_compile_options {
	struct policy_options load;
	bool prove; /* prove the invariants */
	struct prove_options proof;
	bool strict;          /* after proving, warnings fail too */
	bool build;           /* build the table in memory */
	int64_t compile_time; /* recorded in the table: seconds since the epoch */
	const char *output;   /* write the table to this file (needs build) */
	/* Called with the built table before it is written; a negative return
	 * stops the pipeline (a table nobody recorded is not installed). */
	int (*record)(void *ctx, const struct policy_compile *c);
	void *record_ctx;
};

enum policy_compile_stage {
	POLICY_COMPILE_LOAD, /* load or evaluate */
	POLICY_COMPILE_PROVE,
	POLICY_COMPILE_STRICT, /* proven, but warnings under strict */
	POLICY_COMPILE_BUILD,
	POLICY_COMPILE_RECORD,
	POLICY_COMPILE_WRITE,
	POLICY_COMPILE_DONE,
};

struct policy_compile {
	enum policy_compile_stage stage; /* the stage that failed, or DONE */
	struct policy *policy;           /* NULL when load or evaluate failed */
	struct prove_report report;      /* when proving ran */
	void *table;                     /* built table bytes, or NULL */
	size_t table_len;
	bool have_table_sha256;
	uint8_t table_sha256[32];
	char why[256]; /* why build or write failed */
};

/* Run the pipeline on path as opt asks.  Returns 0 (ret->stage is DONE),
 * or the failing stage's error: -EINVAL for policy errors in d, another
 * -errno for I/O (load, write) or the record callback's value. */
int policy_compile(const char *path, const struct policy_compile_options *opt, struct diag *d,
		   struct policy_compile *ret);
void policy_compile_free(struct policy_compile *c);
