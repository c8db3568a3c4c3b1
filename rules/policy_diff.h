/* policy_diff: the semantic difference of two policies.
 *
 * For every zone pair present in both (zones are matched by name) and both
 * families, finds the regions of packets whose decision differs — allow in
 * one and deny/reject in the other, or deny vs reject — and gives one
 * concrete example packet per (old deciding rule, new deciding rule) pair.
 * Zones present in only one policy are listed.  Work is bounded by a step
 * budget; running out is reported in the result.
 *
 * Ownership: the result owns its arrays; policy_diff_free releases them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "rules/policy.h"

struct diff_change {
	char from_zone[64], to_zone[64]; /* names */
	struct policy_packet example;    /* zones as indexes of the NEW policy */
	uint8_t old_action, new_action;
	long old_rule, new_rule; /* rule indexes, -1: the default */
};

struct diff_result {
	size_t n;
	struct diff_change *v;
	char **zones_added, **zones_removed;
	size_t nadded, nremoved;
	bool complete; /* false: budget ran out */
};

int policy_diff(const struct policy *old, const struct policy *new, uint64_t budget, struct diff_result *ret);
/* Human-readable report, grouped by zone pair, rules shown with file:line. */
void policy_diff_render(const struct policy *old, const struct policy *new, const struct diff_result *r,
			struct strbuf *out);
void policy_diff_free(struct diff_result *r);
