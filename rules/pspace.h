/* pspace: sets of packets as products of interval lists, and the witness
 * search that the prover, the reachability analysis and the semantic diff
 * are built on.
 *
 * A term is a product over four dimensions (src, dst, key, sport) of a
 * sorted list of disjoint inclusive intervals in each, within one family
 * and one zone pair.  A rule becomes one term per distinct source-port
 * range of its services (usually exactly one).
 *
 * pspace_witness(q, covers) finds one packet in q that is in none of covers,
 * or proves there is none, by recursive splitting of q around each
 * intersecting cover.  Its work is bounded by a step budget; running out is
 * reported (-E2BIG), never guessed.
 *
 * Ownership: a term owns its interval arrays; pspace_term_free releases them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"
#include "rules/policy.h"

enum { PSPACE_SRC, PSPACE_DST, PSPACE_KEY, PSPACE_SPORT, PSPACE_NDIM };

struct pspace_list {
	uint32_t n;
	struct ip_range *r; /* sorted, disjoint; n == 0 means empty */
};

struct pspace_term {
	struct pspace_list d[PSPACE_NDIM];
};

struct pspace_point {
	u128 v[PSPACE_NDIM];
};

/* Full universe for a family (src/dst 0..max, key 0..0xffffff, sport 0..65535). */
void pspace_term_universe(struct pspace_term *t, int family);
void pspace_term_free(struct pspace_term *t);
void pspace_term_copy(struct pspace_term *dst, const struct pspace_term *src);
bool pspace_term_is_empty(const struct pspace_term *t);
bool pspace_term_contains(const struct pspace_term *t, const struct pspace_point *p);
/* ret = a ∩ b (ret may not alias). Returns false when empty. */
bool pspace_term_intersect(const struct pspace_term *a, const struct pspace_term *b, struct pspace_term *ret);
bool pspace_term_intersects(const struct pspace_term *a, const struct pspace_term *b);
/* Does a contain all of b? */
bool pspace_term_covers(const struct pspace_term *a, const struct pspace_term *b);

/* The terms of a rule for a family: appends to v, growing n and cap. */
void pspace_rule_terms(const struct policy_rule *r, int family, struct pspace_term **v, size_t *n, size_t *cap);

struct pspace_budget {
	uint64_t steps; /* remaining; decremented per split */
};

/* Find a point of q outside every covers[i].  Returns 1 and *ret, 0 if q is
 * covered, -E2BIG if the budget ran out. */
int pspace_witness(const struct pspace_term *q, const struct pspace_term *const *covers, size_t ncovers,
		   struct pspace_budget *b, struct pspace_point *ret);

/* An index of every rule term of a policy for one family, so the prover
 * and the diff find the rules that can meet a term without a scan.
 *
 * pspace_table_new: the terms of rules[0..nrules) for a family, in rule order,
 *   with their index; the table owns copies (pspace_table_free).
 * pspace_table_term: borrowed, valid until pspace_table_free; never pspace_term_free it.
 * pspace_table_rule_terms: the terms of one rule are first .. first + n - 1.
 * pspace_table_query: appends to v (growing n and cap) the index of every term
 *   that may meet q (a superset; callers test exactly), each once, in a
 *   fixed order; one step per answer; -E2BIG when the budget is short. */
struct pspace_table;
struct pspace_table *pspace_table_new(const struct policy_rule *rules, uint32_t nrules, int family);
void pspace_table_free(struct pspace_table *t);
size_t pspace_table_nterms(const struct pspace_table *t);
const struct pspace_term *pspace_table_term(const struct pspace_table *t, size_t i);
uint32_t pspace_table_term_rule(const struct pspace_table *t, size_t i);
void pspace_table_rule_terms(const struct pspace_table *t, uint32_t rule, size_t *ret_first, size_t *ret_n);
int pspace_table_query(const struct pspace_table *t, const struct pspace_term *q, struct pspace_budget *b, uint32_t **v,
		       size_t *n, size_t *cap);

/* A zone-pair view for readable examples: src in zone f's networks, dst in
 * zone t's, every key and source port.  Borrows the zones' arrays (never
 * pspace_term_free it); false when a zone has no network in the family. */
bool pspace_zone_view(const struct policy *p, unsigned f, unsigned t, int family, struct pspace_term *ret);

/* A concrete packet from a point (zones and family given). */
void pspace_point_packet(const struct pspace_point *pt, int family, uint8_t from, uint8_t to,
			 struct policy_packet *ret);
