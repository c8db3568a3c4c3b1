/* policy_eval: the syntax tree into the normalised policy (policy.h).
 *
 * policy_eval takes what policy_load_files read (policy_load.h): it
 * resolves names, checks kinds and values, normalises address sets and
 * services, adds the implicit invariants, warns of unused objects and
 * expired rules, and sorts the load's diagnostics by place.
 *
 * The other helpers below are the evaluator's value parsers, exposed for the
 * unit tests and for tools that take the same notations on a command line.
 * They allocate nothing and explain a failure in *why (message, and where
 * in the input the problem is). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"
#include "rules/policy_load.h"

/* Evaluate src (after policy_load_files).  Every problem is appended to d.
 * Returns 0 and the policy, or -EINVAL when the load or the evaluation
 * reported an error (then *ret is NULL).  The file names of src move into
 * the policy; src is still to be released with policy_load_free. */
int policy_eval(struct policy_source *src, struct diag *d, struct policy **ret);

struct policy_why {
	char msg[200];
	uint32_t off, len; /* the offending part of the input */
	bool in_sport;     /* off/len refer to the sport text */
};

/* "YYYY-MM-DD", a real calendar date: 0 or -EINVAL. */
int policy_eval_date(const char *s, size_t n);

/* One service specification ("tcp/25", "udp/1024-65535", "icmp/echo-request",
 * "icmpv6/1:4", "proto/gre", "tcp", "any") with an optional source port
 * text (NULL: none) into one entry.  Returns 0 or -EINVAL. */
int policy_eval_spec(const char *spec, size_t n, const char *sport, size_t sn, struct svc_range *ret,
		     struct policy_why *why);

/* Sort and merge service entries in place (entries with equal source port
 * ranges and touching key ranges become one; a full "any" entry absorbs
 * everything).  Returns the new count; the result is sorted by
 * (sport_lo, key_lo). */
size_t policy_eval_svc_normalize(struct svc_range *v, size_t n);
