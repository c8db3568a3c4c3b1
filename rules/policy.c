/* policy: the reference semantics of the normalised policy (see policy.h):
 * rule matching, linear first match, what zone lists, defaults
 * and the invariants mean, and freeing.  Everything faster (the compiled
 * table) is tested against policy_first_match; the prover, the backstop,
 * diff and the listings take every meaning from here.  Pure functions: no
 * allocation except in freeing, no failure.  (Packet keys are the compiled
 * table's: table.c.) */
#include "rules/policy.h"

#include <stdlib.h>
#include <string.h>

bool policy_ip_ranges_contain(const struct ip_range *r, uint32_t n, u128 v)
{
	/* binary search: ranges are sorted and disjoint */
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v < r[mid].lo)
			hi = mid;
		else if (v > r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool policy_addr_set_contains(const struct addr_set *s, int family, u128 a)
{
	if (family == 4)
		return policy_ip_ranges_contain(s->v4, s->n4, a);
	return policy_ip_ranges_contain(s->v6, s->n6, a);
}

bool policy_addr_set_is_any(const struct addr_set *s)
{
	return s->n4 == 1 && s->v4[0].lo == 0 && s->v4[0].hi == INADDR_V4_MAX && s->n6 == 1 && s->v6[0].lo == 0 &&
		s->v6[0].hi == U128_MAX;
}

static int range_cmp(const void *a, const void *b)
{
	const struct ip_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

size_t policy_ip_ranges_normalize(struct ip_range *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, range_cmp);
	size_t out = 1;
	for (size_t i = 1; i < n; i++) {
		struct ip_range *prev = &v[out - 1];
		if (prev->hi == U128_MAX || v[i].lo <= prev->hi + 1) {
			if (v[i].hi > prev->hi)
				prev->hi = v[i].hi;
		} else {
			v[out++] = v[i];
		}
	}
	return out;
}

void policy_addr_set_free(struct addr_set *s)
{
	free(s->v4);
	free(s->v6);
	s->v4 = s->v6 = NULL;
	s->n4 = s->n6 = 0;
}

const struct policy_name_num policy_protocols[] = {
	{"icmp", 1},  {"igmp", 2},     {"ipip", 4},  {"tcp", 6},    {"egp", 8},    {"udp", 17},    {"dccp", 33},
	{"ipv6", 41}, {"rsvp", 46},    {"gre", 47},  {"esp", 50},   {"ah", 51},    {"icmpv6", 58}, {"eigrp", 88},
	{"ospf", 89}, {"etherip", 97}, {"pim", 103}, {"vrrp", 112}, {"l2tp", 115}, {"sctp", 132},  {"udplite", 136},
};
const size_t policy_nprotocols = sizeof policy_protocols / sizeof policy_protocols[0];

int policy_proto_by_name(const char *s, size_t len)
{
	for (size_t i = 0; i < policy_nprotocols; i++)
		if (strlen(policy_protocols[i].name) == len && !memcmp(policy_protocols[i].name, s, len))
			return (int)policy_protocols[i].num;
	return -1;
}

const char *policy_proto_name(unsigned proto)
{
	for (size_t i = 0; i < policy_nprotocols; i++)
		if (policy_protocols[i].num == proto)
			return policy_protocols[i].name;
	return NULL;
}

/* static, so that policy_rule_matches (the linear first match, a hot loop)
 * inlines it: the exported function is interposable under -fPIC */
static bool rule_applies(const struct policy_rule *r, unsigned from, unsigned to)
{
	return (r->from_zones >> from & 1) && (r->to_zones >> to & 1);
}

bool policy_rule_applies(const struct policy_rule *r, unsigned from, unsigned to)
{
	return rule_applies(r, from, to);
}

static bool svc_contains(const struct svc_range *v, uint32_t n, const struct policy_packet *pkt)
{
	for (uint32_t i = 0; i < n; i++)
		if (pkt->key >= v[i].key_lo && pkt->key <= v[i].key_hi && pkt->sport >= v[i].sport_lo &&
		    pkt->sport <= v[i].sport_hi)
			return true;
	return false;
}

bool policy_rule_matches(const struct policy_rule *r, const struct policy_packet *pkt)
{
	if (pkt->from_zone >= TABLE_MAX_ZONES || pkt->to_zone >= TABLE_MAX_ZONES)
		return false;
	if (!rule_applies(r, pkt->from_zone, pkt->to_zone))
		return false;
	if (!policy_addr_set_contains(&r->src, pkt->family, pkt->src) ||
	    !policy_addr_set_contains(&r->dst, pkt->family, pkt->dst))
		return false;
	return svc_contains(r->svc, r->nsvc, pkt);
}

long policy_first_match(const struct policy *p, const struct policy_packet *pkt)
{
	for (uint32_t i = 0; i < p->nrules; i++)
		if (policy_rule_matches(&p->rules[i], pkt))
			return (long)i;
	return -1;
}

/* ---- zones, defaults and invariants (see policy.h) ---------------------- */

uint64_t policy_zones_all(const struct policy *p)
{
	return p->nzones >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << p->nzones) - 1);
}

enum table_action policy_default_action(const struct policy *p, unsigned from, unsigned to)
{
	return p->default_action[from][to] == ACT_REJECT ? ACT_REJECT : ACT_DENY;
}

bool policy_rule_is_exception(const struct policy_rule *r)
{
	const uint32_t need =
		POLICY_RULE_SRC_HOSTS | POLICY_RULE_DST_HOSTS | POLICY_RULE_SVC_EXPLICIT | POLICY_RULE_LOG;
	return r->action == ACT_ALLOW && (r->flags & need) == need;
}

bool policy_isolate_crosses(uint64_t zones, unsigned from, unsigned to)
{
	return from != to && (zones >> from & 1) != (zones >> to & 1);
}

/* A sanitize statement forbids every direct path between its two sides,
 * in both directions, and permits its relays only in the declared
 * direction.  The appliance is a path of its own: from a sending side to
 * self only relays on the appliance are reached.  When self is itself one
 * side, the path from the other side to self is a crossing like any other:
 * in the undeclared direction nothing passes (docs/policy.md, decision 1). */
enum policy_sanitize_path policy_sanitize_path(const struct policy_sanitize *s, unsigned from, unsigned to,
					       bool *ret_relays)
{
	bool fa = s->a_zones >> from & 1, fb = s->b_zones >> from & 1;
	bool ta = s->a_zones >> to & 1, tb = s->b_zones >> to & 1;
	*ret_relays = false;
	if (from == to)
		return SANITIZE_FREE;
	if (to == TABLE_ZONE_SELF) {
		if (fa || (s->both_ways && fb)) {
			*ret_relays = true;
			return SANITIZE_TO_SELF;
		}
		return fb && ta ? SANITIZE_TO_SELF : SANITIZE_FREE;
	}
	if (!(fa && tb) && !(fb && ta))
		return SANITIZE_FREE;
	*ret_relays = (fa && tb) || (s->both_ways && fb && ta);
	return SANITIZE_CROSSING;
}

/* Relays after via that are the appliance (host NAME self) serve the path
 * to self, and only it; the other relays serve the paths between zones. */
bool policy_sanitize_relays(const struct policy_sanitize *s, bool to_self, const struct addr_set **ret_dst)
{
	*ret_dst = to_self ? NULL : &s->via;
	return to_self ? s->via_self : (s->via.n4 || s->via.n6);
}

bool policy_sanitize_relay_admits(const struct policy_sanitize *s, const struct policy_packet *pkt)
{
	const struct addr_set *dst;
	if (!policy_sanitize_relays(s, pkt->to_zone == TABLE_ZONE_SELF, &dst) || !svc_contains(s->svc, s->nsvc, pkt))
		return false;
	return !dst || policy_addr_set_contains(dst, pkt->family, pkt->dst);
}

bool policy_isolate_permits(const struct policy_isolate *iso, const struct policy_rule *r,
			    const struct policy_packet *pkt)
{
	if (!policy_isolate_crosses(iso->zones, pkt->from_zone, pkt->to_zone))
		return true;
	return r && policy_rule_is_exception(r);
}

/* Statements governing the same path pool their relays: what one declares
 * there, another never narrows (docs/policy.md, decision 4). */
bool policy_sanitize_permits(const struct policy *p, const struct policy_packet *pkt)
{
	bool governed = false;
	for (uint32_t i = 0; i < p->nsanitize; i++) {
		bool relays;
		if (policy_sanitize_path(&p->sanitize[i], pkt->from_zone, pkt->to_zone, &relays) == SANITIZE_FREE)
			continue;
		governed = true;
		if (relays && policy_sanitize_relay_admits(&p->sanitize[i], pkt))
			return true;
	}
	return !governed;
}

int policy_svc_cmp(const void *a, const void *b)
{
	const struct svc_range *x = a, *y = b;
	if (x->sport_lo != y->sport_lo)
		return x->sport_lo < y->sport_lo ? -1 : 1;
	if (x->sport_hi != y->sport_hi)
		return x->sport_hi < y->sport_hi ? -1 : 1;
	if (x->key_lo != y->key_lo)
		return x->key_lo < y->key_lo ? -1 : 1;
	return x->key_hi < y->key_hi ? -1 : x->key_hi > y->key_hi;
}

int policy_zone_find(const struct policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->nzones; i++)
		if (p->zones[i].name && !strcmp(p->zones[i].name, name))
			return (int)i;
	return -1;
}

void policy_rule_free(struct policy_rule *r)
{
	policy_addr_set_free(&r->src);
	policy_addr_set_free(&r->dst);
	free(r->svc);
	free(r->name);
	free(r->description);
	free(r->owner);
	free(r->ticket);
	free(r->expires);
	free(r->from_text);
	free(r->to_text);
	free(r->svc_text);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->version);
	for (uint32_t i = 0; i < p->nzones; i++) {
		struct policy_zone *z = &p->zones[i];
		free(z->name);
		for (uint32_t j = 0; j < z->nif; j++)
			free(z->ifnames[j]);
		free(z->ifnames);
		policy_addr_set_free(&z->nets);
		free(z->description);
	}
	for (uint32_t i = 0; i < p->nrules; i++)
		policy_rule_free(&p->rules[i]);
	free(p->rules);
	for (uint32_t i = 0; i < p->nisolate; i++)
		free(p->isolate[i].text);
	free(p->isolate);
	for (uint32_t i = 0; i < p->nsanitize; i++) {
		policy_addr_set_free(&p->sanitize[i].via);
		free(p->sanitize[i].svc);
		free(p->sanitize[i].text);
	}
	free(p->sanitize);
	for (uint32_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p);
}
