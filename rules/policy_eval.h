/* policy_eval: the syntax tree into the normalised policy (policy.h).
 *
 * policy_load and policy_load_buffer (declared in policy.h) are defined in
 * policy_eval.c: they read the files, drive the lexer and parser, resolve
 * names, check kinds and values, normalise address sets and services, add
 * the implicit invariants and compute the source hash.
 *
 * The helpers below are the evaluator's value parsers, exposed for the
 * unit tests and for tools that take the same notations on a command line.
 * They allocate nothing and explain a failure in *why (message, and where
 * in the input the problem is). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"

struct policy_why {
	char msg[200];
	uint32_t off, len;       /* the offending part of the input */
	bool in_sport;           /* off/len refer to the sport text */
};

/* "YYYY-MM-DD", a real calendar date: 0 or -EINVAL. */
int policy_eval_date(const char *s, size_t n);

/* One service specification ("tcp/25", "udp/1024-65535", "icmp/echo-request",
 * "icmpv6/1:4", "proto/gre", "tcp", "any") with an optional source port
 * text (NULL: none) into one entry.  Returns 0 or -EINVAL. */
int policy_eval_spec(const char *spec, size_t n, const char *sport, size_t sn,
		     struct svc_range *ret, struct policy_why *why);

/* Sort and merge service entries in place (entries with equal source port
 * ranges and touching key ranges become one; a full "any" entry absorbs
 * everything).  Returns the new count; the result is sorted by
 * (sport_lo, key_lo). */
size_t policy_eval_svc_normalize(struct svc_range *v, size_t n);

