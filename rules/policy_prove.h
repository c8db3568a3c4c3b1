/* policy_prove: the three-tier invariants and reachability, proven over the
 * whole policy (first match, every zone pair, both families).
 *
 * An invariant is violated when some packet exists whose first matching rule
 * allows it and is not permitted by the invariant.  Each violation is an
 * error in the diag at the deciding rule, with the concrete counterexample
 * packet, and a note at the invariant statement.  There is no way to turn a
 * violation into a warning.  If the search budget runs out the invariant is
 * INCOMPLETE, which is also an error: the compiler refuses what it cannot
 * prove.
 *
 * Reachability (warnings): a rule that no packet can reach given all earlier
 * rules together; a rule whose removal changes no decision (redundant).  If
 * the budget runs out here the analysis says so in a note; it never fails
 * the policy.
 *
 * Ownership: the report owns its strings; policy_prove_report_free releases them. */
#pragma once
#include <stdint.h>

#include "rules/policy.h"

enum prove_status {
	PROVE_PROVEN,
	PROVE_VIOLATED,
	PROVE_INCOMPLETE,
};

struct prove_invariant {
	enum prove_status status;
	char *text; /* "isolate mynumber", "sanitize lgwan <-> internet via mail-relay" */
	bool implicit;
	uint32_t nexceptions;    /* rules the invariant admits (exceptions, relays) */
	uint32_t *exception_ids; /* their rule ids */
	char *counterexample;    /* text of the first counterexample, or NULL */
};

struct prove_report {
	uint32_t ninvariants;
	struct prove_invariant *inv;
	uint32_t nunreachable, nredundant;
	bool reachability_complete; /* false: budget ran out somewhere */
};

struct prove_options {
	uint64_t budget;   /* witness-search steps; 0: default (50 million) */
	bool reachability; /* also run the reachability warnings */
};

/* Returns 0 when every invariant is proven, -EPERM when one is violated or
 * incomplete (errors in d). */
int policy_prove(const struct policy *p, const struct prove_options *o, struct diag *d, struct prove_report *ret);
void policy_prove_report_free(struct prove_report *r);
