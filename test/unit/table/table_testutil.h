/* table_testutil: building normalised policies (struct policy) by hand for
 * the table tests.  Everything is allocated with xalloc in the shapes
 * policy_free expects, so a test frees with policy_free.  Header-only:
 * each test program includes it once. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "rules/policy.h"

#define TP_ANY_SVC                       \
	(struct svc_range)               \
	{                                \
		0, SVC_KEY_MAX, 0, 65535 \
	}

static inline struct policy *tp_new(uint32_t nzones)
{
	struct policy *p = xcalloc(1, sizeof *p);
	p->nzones = nzones;
	for (uint32_t z = 0; z < nzones; z++) {
		p->zones[z].name = z ? xasprintf("zone%u", z) : xstrdup("self");
		p->zones[z].tier = TIER_NONE;
	}
	for (uint32_t f = 0; f < TABLE_MAX_ZONES; f++)
		for (uint32_t t = 0; t < TABLE_MAX_ZONES; t++)
			p->default_action[f][t] = ACT_DENY;
	return p;
}

static inline void tp_zone_ifs(struct policy *p, uint32_t z, const char *const *ifs, uint32_t n)
{
	struct policy_zone *pz = &p->zones[z];
	pz->ifnames = xreallocarray(NULL, n ? n : 1, sizeof *pz->ifnames);
	for (uint32_t i = 0; i < n; i++)
		pz->ifnames[i] = xstrdup(ifs[i]);
	pz->nif = n;
}

static inline int tp_cmp_range(const void *a, const void *b)
{
	const struct ip_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Add [lo, hi] to one family of a set, keeping it sorted and merged. */
static inline void tp_set_add(struct addr_set *s, int family, u128 lo, u128 hi)
{
	struct ip_range **v = family == 4 ? &s->v4 : &s->v6;
	uint32_t *n = family == 4 ? &s->n4 : &s->n6;
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[*n].lo = lo;
	(*v)[*n].hi = hi;
	(*n)++;
	qsort(*v, *n, sizeof **v, tp_cmp_range);
	uint32_t m = 0;
	for (uint32_t i = 0; i < *n; i++) {
		if (m && ((*v)[i].lo <= (*v)[m - 1].hi || (*v)[i].lo - 1 == (*v)[m - 1].hi)) {
			if ((*v)[i].hi > (*v)[m - 1].hi)
				(*v)[m - 1].hi = (*v)[i].hi;
		} else {
			(*v)[m++] = (*v)[i];
		}
	}
	*n = m;
}

static inline void tp_set_any(struct addr_set *s)
{
	tp_set_add(s, 4, 0, INADDR_V4_MAX);
	tp_set_add(s, 6, 0, U128_MAX);
}

static inline u128 tp_ip(const char *text)
{
	int fam;
	u128 a;
	if (inaddr_parse(text, &fam, &a) < 0) {
		fprintf(stderr, "bad address in test: %s\n", text);
		abort();
	}
	return a;
}

/* Add "A", "A/LEN" or "A-B". */
static inline void tp_set_text(struct addr_set *s, const char *text)
{
	int fam;
	u128 lo, hi;
	if (inaddr_parse_span(text, strlen(text), &fam, &lo, &hi) < 0) {
		fprintf(stderr, "bad span in test: %s\n", text);
		abort();
	}
	tp_set_add(s, fam, lo, hi);
}

/* Append a rule (empty address sets, no services) and return it; the
 * pointer is valid until the next tp_rule. */
static inline struct policy_rule *tp_rule(struct policy *p, uint32_t id, enum table_action a, uint64_t from,
					  uint64_t to)
{
	/* capacity: the next power of two (policy has no capacity field) */
	if ((p->nrules & (p->nrules - 1)) == 0)
		p->rules = xreallocarray(p->rules, p->nrules ? 2 * (size_t)p->nrules : 1, sizeof *p->rules);
	struct policy_rule *r = &p->rules[p->nrules++];
	memset(r, 0, sizeof *r);
	r->id = id;
	r->action = a;
	r->from_zones = from;
	r->to_zones = to;
	r->name = xasprintf("rule %u", id);
	p->nrules_total = p->nrules;
	return r;
}

static inline void tp_svc(struct policy_rule *r, uint32_t klo, uint32_t khi, uint16_t slo, uint16_t shi)
{
	r->svc = xreallocarray(r->svc, r->nsvc + 1, sizeof *r->svc);
	r->svc[r->nsvc++] = (struct svc_range){klo, khi, slo, shi};
}

static inline struct policy_packet tp_pkt(uint8_t from, uint8_t to, int family, u128 src, u128 dst, uint8_t proto,
					  uint16_t sport, uint32_t key)
{
	struct policy_packet k = {.from_zone = from,
				  .to_zone = to,
				  .family = (uint8_t)family,
				  .proto = proto,
				  .sport = sport,
				  .key = key,
				  .src = src,
				  .dst = dst};
	return k;
}
