/* policy_nft: an nftables ruleset that enforces the three-tier invariants in
 * the kernel as a backstop beside the datapath (defence in depth): it drops
 * what the invariants forbid even if the daemon ever decided wrongly.
 * Loadable with `nft -f`; it lives in its own table so reloading it never
 * touches the appliance's base chains. */
#pragma once
#include "common/strbuf.h"
#include "rules/policy.h"

/* Returns 0, or -EINVAL (why filled) when the policy cannot be expressed by
 * interface (a zone of an invariant without interfaces). */
int policy_nft_emit(const struct policy *p, struct strbuf *out, char *why, size_t whylen);
