/* pspace: sets of packets as products of interval lists, and the witness
 * search that the prover, the reachability analysis and the semantic diff
 * are built on.
 *
 * A term is a product over four dimensions (src, dst, key, sport) of a
 * sorted list of disjoint inclusive intervals in each, within one family
 * and one zone pair.  A rule becomes one term per distinct source-port
 * range of its services (usually exactly one).
 *
 * ps_witness(q, covers) finds one packet in q that is in none of covers,
 * or proves there is none, by recursive splitting of q around each
 * intersecting cover.  Its work is bounded by a step budget; running out is
 * reported (-E2BIG), never guessed.
 *
 * Ownership: a term owns its interval arrays; ps_term_free releases them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"
#include "rules/policy.h"

enum { PS_SRC, PS_DST, PS_KEY, PS_SPORT, PS_NDIM };

struct ps_list {
	uint32_t n;
	struct ip_range *r;          /* sorted, disjoint; n == 0 means empty */
};

struct ps_term {
	struct ps_list d[PS_NDIM];
};

struct ps_point {
	u128 v[PS_NDIM];
};

/* Full universe for a family (src/dst 0..max, key 0..0xffffff, sport 0..65535). */
void ps_term_universe(struct ps_term *t, int family);
void ps_term_free(struct ps_term *t);
void ps_term_copy(struct ps_term *dst, const struct ps_term *src);
bool ps_term_is_empty(const struct ps_term *t);
bool ps_term_contains(const struct ps_term *t, const struct ps_point *p);
/* ret = a ∩ b (ret may not alias). Returns false when empty. */
bool ps_term_intersect(const struct ps_term *a, const struct ps_term *b, struct ps_term *ret);
bool ps_term_intersects(const struct ps_term *a, const struct ps_term *b);
/* Does a contain all of b? */
bool ps_term_covers(const struct ps_term *a, const struct ps_term *b);

/* The terms of a rule for a family: appends to v, growing n and cap. */
void ps_rule_terms(const struct policy_rule *r, int family, struct ps_term **v, size_t *n, size_t *cap);

struct ps_budget {
	uint64_t steps;              /* remaining; decremented per split */
};

/* Find a point of q outside every covers[i].  Returns 1 and *ret, 0 if q is
 * covered, -E2BIG if the budget ran out. */
int ps_witness(const struct ps_term *q, const struct ps_term *const *covers, size_t ncovers,
	       struct ps_budget *b, struct ps_point *ret);

/* An index of every rule term of a policy for one family, so the prover
 * and the diff find the rules that can meet a term without a scan.
 *
 * ps_table_new: the terms of rules[0..nrules) for a family, in rule order,
 *   with their index; the table owns copies (ps_table_free).
 * ps_table_term: borrowed, valid until ps_table_free; never ps_term_free it.
 * ps_table_rule_terms: the terms of one rule are first .. first + n - 1.
 * ps_table_query: appends to v (growing n and cap) the index of every term
 *   that may meet q (a superset; callers test exactly), each once, in a
 *   fixed order; one step per answer; -E2BIG when the budget is short. */
struct ps_table;
struct ps_table *ps_table_new(const struct policy_rule *rules, uint32_t nrules, int family);
void ps_table_free(struct ps_table *t);
size_t ps_table_nterms(const struct ps_table *t);
const struct ps_term *ps_table_term(const struct ps_table *t, size_t i);
uint32_t ps_table_term_rule(const struct ps_table *t, size_t i);
void ps_table_rule_terms(const struct ps_table *t, uint32_t rule, size_t *ret_first, size_t *ret_n);
int ps_table_query(const struct ps_table *t, const struct ps_term *q, struct ps_budget *b,
		   uint32_t **v, size_t *n, size_t *cap);

/* A zone-pair view for readable examples: src in zone f's networks, dst in
 * zone t's, every key and source port.  Borrows the zones' arrays (never
 * ps_term_free it); false when a zone has no network in the family. */
bool ps_zone_view(const struct policy *p, unsigned f, unsigned t, int family, struct ps_term *ret);

/* A concrete packet from a point (zones and family given). */
void ps_point_packet(const struct ps_point *pt, int family, uint8_t from, uint8_t to,
		     struct policy_packet *ret);
