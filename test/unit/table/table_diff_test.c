/* table_diff_test: differential test of the compiled table against the
 * reference semantics.  Random policies are built directly as struct policy
 * (several zones, IPv4 and IPv6, prefixes, ranges, host lists, overlapping
 * rules, multi-entry services, icmp, other protocols, sport ranges, random
 * defaults); random packets, drawn mostly at and around rule boundaries and
 * inside rule ranges so that deep rules are reached, plus uniform ones, are
 * decided by table_lookup and by policy_first_match, which must agree on
 * rule, action and log flag (and the pair's default when no rule matches).
 *
 * Environment: SEKISHO_DIFF_PACKETS (default 1000000) packets in total,
 * SEKISHO_DIFF_SEED to replay a run (the seed is always printed). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/table_build.h"
#include "rules/table_format.h"
#include "table_testutil.h"
#include "test/check.h"

static uint64_t rng_s[4];

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t rnd(void)
{
	uint64_t r = rotl(rng_s[1] * 5, 7) * 9, t = rng_s[1] << 17;
	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return r;
}

static void rnd_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++) {
		seed += 0x9e3779b97f4a7c15ull;
		uint64_t z = seed;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		rng_s[i] = z ^ (z >> 31);
	}
}

/* 0 .. n-1 */
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned percent)
{
	return below(100) < percent;
}

static u128 rnd128(void)
{
	return (u128)rnd() << 64 | rnd();
}

/* ---- random policies ---- */

static const uint32_t v4_anchor[] = {
	0x00000000u, 0x0a000000u, 0x0a010000u, 0x0a0100ffu, 0x0a020000u, 0xac100000u,
	0xc0a80000u, 0xc0a80100u, 0xc0000200u, 0x7fffffffu, 0x80000000u, 0xfffffff0u,
};

static u128 v6_anchor(void)
{
	static const uint64_t hi[] = {0,
				      0x20010db800000000ull,
				      0x20010db800010000ull,
				      0x20010db8ffff0000ull,
				      0xfe80000000000000ull,
				      0xff02000000000000ull,
				      ~0ull};
	static const uint64_t lo[] = {0, 1, 0xffffffffull, 0x8000000000000000ull, ~0ull - 15};
	return (u128)hi[below(sizeof hi / sizeof hi[0])] << 64 | lo[below(sizeof lo / sizeof lo[0])];
}

static u128 rand_addr(int family)
{
	if (family == 4) {
		if (chance(5))
			return rnd() & 0xffffffffu;
		uint32_t a = v4_anchor[below(sizeof v4_anchor / sizeof v4_anchor[0])];
		return (u128)(uint32_t)(a + (uint32_t)below(chance(50) ? 16 : 1024));
	}
	if (chance(5))
		return rnd128();
	u128 a = v6_anchor();
	if (chance(50))
		a += below(64);
	else if (chance(50))
		a += (u128)below(64) << 64;
	return a;
}

static void rand_span(int family, u128 *lo, u128 *hi)
{
	u128 max = inaddr_family_max(family);
	unsigned bits = family == 4 ? 32 : 128;
	u128 a = rand_addr(family);
	switch (below(4)) {
	case 0: /* host */
		*lo = *hi = a;
		return;
	case 1:
	case 2: { /* prefix */
		unsigned len;
		if (family == 4)
			len = chance(5) ? (unsigned)below(8) : 8 + (unsigned)below(25);
		else
			len = chance(5) ? (unsigned)below(16) : 16 + (unsigned)below(113);
		u128 host = len >= bits ? 0 : (len == 0 ? max : (((u128)1 << (bits - len)) - 1));
		*lo = a & ~host & max;
		*hi = *lo | host;
		return;
	}
	default: { /* range */
		u128 b = rand_addr(family);
		if (chance(30))
			b = a + below(300);
		if (b > max)
			b = max;
		*lo = a < b ? a : b;
		*hi = a < b ? b : a;
		return;
	}
	}
}

static unsigned any_pct = 15; /* lower for the big policies: fewer shadowed rules */

static void rand_addr_set(struct addr_set *s, bool want4, bool want6)
{
	if (chance(any_pct)) {
		tp_set_any(s);
		return;
	}
	int n = 1 + (int)below(chance(70) ? 2 : 6);
	for (int i = 0; i < n; i++) {
		int family = want4 && want6 ? (chance(50) ? 4 : 6) : want4 ? 4 : 6;
		u128 lo, hi;
		rand_span(family, &lo, &hi);
		tp_set_add(s, family, lo, hi);
	}
}

static const uint16_t port_pool[] = {0, 1, 21, 22, 25, 53, 80, 123, 443, 1023, 1024, 3389, 8080, 65534, 65535};

static uint16_t rand_port(void)
{
	if (chance(20))
		return (uint16_t)rnd();
	return port_pool[below(sizeof port_pool / sizeof port_pool[0])];
}

static void rand_svc(struct policy_rule *r)
{
	if (chance(any_pct / 2)) {
		tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);
		return;
	}
	int n = 1 + (int)below(chance(60) ? 1 : 5);
	for (int i = 0; i < n; i++) {
		uint16_t slo = 0, shi = 65535;
		uint32_t klo, khi;
		unsigned kind = (unsigned)below(10);
		if (kind < 6) { /* port protocols */
			static const uint8_t protos[] = {6, 6, 6, 17, 17, 132, 33, 136};
			uint8_t proto = protos[below(sizeof protos)];
			uint16_t a = rand_port(), b = chance(60) ? a : rand_port();
			if (a > b) {
				uint16_t t = a;
				a = b;
				b = t;
			}
			if (chance(5))
				a = 0, b = 65535;
			klo = SVC_KEY(proto, a);
			khi = SVC_KEY(proto, b);
			if (chance(25)) {
				switch (below(3)) {
				case 0:
					slo = 1024;
					shi = 65535;
					break;
				case 1:
					slo = shi = rand_port();
					break;
				default:
					slo = rand_port();
					shi = rand_port();
					if (slo > shi) {
						uint16_t t = slo;
						slo = shi;
						shi = t;
					}
				}
			}
		} else if (kind < 8) { /* icmp / icmpv6 */
			uint8_t proto = chance(50) ? 1 : 58;
			static const uint8_t types[] = {0, 3, 8, 11, 128, 129, 133, 135, 255};
			uint8_t type = types[below(sizeof types)];
			if (chance(60)) {
				klo = SVC_KEY(proto, (uint32_t)type << 8);
				khi = SVC_KEY(proto, (uint32_t)type << 8 | 255);
			} else {
				klo = khi = SVC_KEY(proto, (uint32_t)type << 8 | (uint32_t)below(4));
			}
			if (chance(10)) {
				klo = SVC_KEY(proto, 0);
				khi = SVC_KEY(proto, 0xffff);
			}
		} else { /* other protocols, or a span of protocols */
			static const uint8_t protos[] = {47, 50, 51, 89, 112, 0, 255};
			uint8_t proto = protos[below(sizeof protos)];
			klo = khi = SVC_KEY(proto, 0);
			if (chance(15)) {
				klo = SVC_KEY(below(256), 0);
				khi = klo + (uint32_t)below(0x30000);
				if (khi > SVC_KEY_MAX)
					khi = SVC_KEY_MAX;
			}
		}
		tp_svc(r, klo, khi, slo, shi);
	}
}

static int cmp_svc(const void *a, const void *b)
{
	const struct svc_range *x = a, *y = b;
	if (x->sport_lo != y->sport_lo)
		return x->sport_lo < y->sport_lo ? -1 : 1;
	return x->key_lo < y->key_lo ? -1 : x->key_lo > y->key_lo;
}

static uint64_t rand_zones(uint32_t nz)
{
	uint64_t m = 0;
	int n = chance(75) ? 1 : 1 + (int)below(3);
	for (int i = 0; i < n; i++)
		m |= (uint64_t)1 << below(nz);
	if (chance(3))
		m = nz >= 64 ? ~0ull : (((uint64_t)1 << nz) - 1);
	return m;
}

static struct policy *rand_policy(uint32_t nz, uint32_t nrules, bool one_pair)
{
	struct policy *p = tp_new(nz);
	p->name = xstrdup("random");
	for (uint32_t f = 0; f < nz; f++)
		for (uint32_t t = 0; t < nz; t++)
			p->default_action[f][t] = chance(30) ? ACT_REJECT : ACT_DENY;
	uint32_t id = 0;
	for (uint32_t i = 0; i < nrules; i++) {
		id += 1 + (chance(5) ? (uint32_t)below(3) : 0); /* expired rules leave gaps */
		static const enum table_action acts[] = {ACT_ALLOW, ACT_ALLOW, ACT_DENY, ACT_REJECT};
		uint64_t from = one_pair ? 2 : rand_zones(nz), to = one_pair ? 2 : rand_zones(nz);
		struct policy_rule *r = tp_rule(p, id, acts[below(4)], from, to);
		if (chance(30))
			r->flags |= POLICY_RULE_LOG;
		unsigned fam = (unsigned)below(10);
		bool w4 = fam < 7, w6 = fam >= 5;
		rand_addr_set(&r->src, w4, w6);
		rand_addr_set(&r->dst, w4, w6);
		if (!chance(2))
			rand_svc(r);
		if (r->nsvc)
			qsort(r->svc, r->nsvc, sizeof *r->svc, cmp_svc);
	}
	return p;
}

/* ---- printing (on mismatch) ---- */

static void print_set(const struct addr_set *s)
{
	char buf[2 * INADDR_STRLEN + 2];
	if (policy_addr_set_is_any(s)) {
		printf("any");
		return;
	}
	for (uint32_t i = 0; i < s->n4; i++)
		printf("%s%s", i ? "," : "", inaddr_format_span(4, s->v4[i].lo, s->v4[i].hi, buf, sizeof buf));
	for (uint32_t i = 0; i < s->n6; i++)
		printf("%s%s", i || s->n4 ? "," : "", inaddr_format_span(6, s->v6[i].lo, s->v6[i].hi, buf, sizeof buf));
	if (!s->n4 && !s->n6)
		printf("(empty)");
}

static void print_policy(const struct policy *p)
{
	printf("policy: %u zones, %u rules\n", p->nzones, p->nrules);
	for (uint32_t f = 0; f < p->nzones; f++) {
		printf("  defaults from %u:", f);
		for (uint32_t t = 0; t < p->nzones; t++)
			printf(" %u", p->default_action[f][t]);
		printf("\n");
	}
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		printf("  [%u] id %u action %d%s zones %#" PRIx64 " -> %#" PRIx64 " src ", i, r->id, (int)r->action,
		       r->flags & POLICY_RULE_LOG ? " log" : "", r->from_zones, r->to_zones);
		print_set(&r->src);
		printf(" dst ");
		print_set(&r->dst);
		printf(" svc");
		for (uint32_t k = 0; k < r->nsvc; k++)
			printf(" %06x-%06x/sport %u-%u", r->svc[k].key_lo, r->svc[k].key_hi, r->svc[k].sport_lo,
			       r->svc[k].sport_hi);
		printf("\n");
	}
}

static void print_packet(const struct policy_packet *k)
{
	char s[INADDR_STRLEN], d[INADDR_STRLEN];
	printf("packet: zones %u -> %u IPv%u %s -> %s proto %u sport %u key %06x\n", k->from_zone, k->to_zone,
	       k->family, inaddr_format(k->family == 4 ? 4 : 6, k->src, s),
	       inaddr_format(k->family == 4 ? 4 : 6, k->dst, d), k->proto, k->sport, k->key);
}

/* ---- random packets ---- */

/* A value inside [lo, hi], often at its edges; or (outside) just past one
 * of its ends. */
static u128 near(u128 lo, u128 hi, u128 max, bool outside)
{
	if (outside) {
		if (chance(50) && lo)
			return lo - 1;
		return hi < max ? hi + 1 : (lo ? lo - 1 : hi);
	}
	switch (below(8)) {
	case 0:
		return lo;
	case 1:
		return hi;
	case 2:
		return lo < hi ? lo + 1 : lo;
	case 3:
		return hi > lo ? hi - 1 : hi;
	default: {
		u128 span = hi - lo;
		if (span == U128_MAX)
			return rnd128();
		return lo + (span ? rnd128() % (span + 1) : 0);
	}
	}
}

static u128 near_set(const struct addr_set *s, int family, bool outside)
{
	uint32_t n = family == 4 ? s->n4 : s->n6;
	const struct ip_range *v = family == 4 ? s->v4 : s->v6;
	if (!n)
		return rand_addr(family);
	const struct ip_range *r = &v[below(n)];
	return near(r->lo, r->hi, inaddr_family_max(family), outside);
}

static int pick_bit(uint64_t m, uint32_t nz)
{
	if (!m)
		return (int)below(nz);
	int n = __builtin_popcountll(m), k = (int)below((uint64_t)n);
	for (; k; k--)
		m &= m - 1;
	return __builtin_ctzll(m);
}

static void rand_packet(const struct policy *p, struct policy_packet *k)
{
	memset(k, 0, sizeof *k);
	unsigned mode = (unsigned)below(100);
	if (mode < 15 || !p->nrules) {
		/* uniform */
		k->from_zone = (uint8_t)below(p->nzones);
		k->to_zone = (uint8_t)below(p->nzones);
		k->family = chance(50) ? 4 : 6;
		k->src = chance(50) ? rand_addr(k->family) : (k->family == 4 ? rnd() & 0xffffffffu : rnd128());
		k->dst = chance(50) ? rand_addr(k->family) : (k->family == 4 ? rnd() & 0xffffffffu : rnd128());
		k->key = (uint32_t)below(SVC_KEY_MAX + 1ull);
		if (chance(70))
			k->key = SVC_KEY(chance(50) ? 6 : 17, rand_port());
		k->sport = chance(50) ? (uint16_t)rnd() : rand_port();
	} else {
		/* at the edges of one rule, with dimensions mixed in from others */
		const struct policy_rule *r = &p->rules[below(p->nrules)];
		const struct policy_rule *o = chance(20) ? &p->rules[below(p->nrules)] : r;
		k->from_zone = (uint8_t)pick_bit(r->from_zones, p->nzones);
		k->to_zone = (uint8_t)pick_bit(r->to_zones, p->nzones);
		if (chance(5))
			k->to_zone = (uint8_t)below(p->nzones);
		bool has4 = r->src.n4 && r->dst.n4, has6 = r->src.n6 && r->dst.n6;
		k->family = has4 && has6 ? (chance(50) ? 4 : 6) : has4 ? 4 : has6 ? 6 : (chance(50) ? 4 : 6);
		/* at most one dimension just outside the rule */
		int out = chance(35) ? (int)below(4) : -1;
		k->src = near_set(chance(85) ? &r->src : &o->src, k->family, out == 0);
		k->dst = near_set(chance(85) ? &r->dst : &o->dst, k->family, out == 1);
		const struct policy_rule *sr = chance(85) ? r : o;
		if (sr->nsvc) {
			const struct svc_range *s = &sr->svc[below(sr->nsvc)];
			k->key = (uint32_t)near(s->key_lo, s->key_hi, SVC_KEY_MAX, out == 2);
			k->sport = (uint16_t)near(s->sport_lo, s->sport_hi, 65535, out == 3);
		} else {
			k->key = (uint32_t)below(SVC_KEY_MAX + 1ull);
			k->sport = (uint16_t)rnd();
		}
	}
	k->proto = (uint8_t)(k->key >> 16);
	if (!table_proto_has_ports(k->proto) && chance(80))
		k->sport = 0;
}

/* ---- the test ---- */

static uint64_t total_packets, total_rules_hit, total_default, mismatches, policies;
static uint32_t deepest_hit, largest_partition;

static void run_policy(struct policy *p, uint64_t npackets)
{
	void *buf;
	size_t len;
	char why[256];
	int r = table_build(p, 0, &buf, &len, why, sizeof why);
	if (r < 0) {
		printf("table_build failed: %s\n", why);
		print_policy(p);
		mismatches++;
		return;
	}
	/* coverage: the largest partition (more than 4096 sub-rules means
	 * several summary words per vector) */
	const struct tbl_header *h = buf;
	const struct tbl_part *parts = (const void *)((const char *)buf + h->sec[TBL_SEC_PARTS].offset);
	for (uint32_t i = 0; i < h->npartitions; i++)
		if (parts[i].nsub > largest_partition)
			largest_partition = parts[i].nsub;
	struct table *t;
	r = table_open_buffer(buf, len, &t, why, sizeof why);
	if (r < 0) {
		printf("table_open_buffer failed on a built table: %s\n", why);
		print_policy(p);
		mismatches++;
		free(buf);
		return;
	}
	for (uint64_t i = 0; i < npackets; i++) {
		struct policy_packet k;
		rand_packet(p, &k);
		struct table_query q = {.from_zone = k.from_zone,
					.to_zone = k.to_zone,
					.family = k.family,
					.proto = k.proto,
					.sport = k.sport,
					.key = k.key,
					.src = k.src,
					.dst = k.dst};
		struct table_verdict v;
		table_lookup(t, &q, &v);
		long ref = policy_first_match(p, &k);
		bool ok;
		if (ref < 0) {
			uint8_t def = p->default_action[k.from_zone][k.to_zone];
			ok = v.rule_index == UINT32_MAX && v.rule_id == 0 && !v.log && v.action == def;
			total_default++;
		} else {
			const struct policy_rule *pr = &p->rules[ref];
			ok = v.rule_index == (uint32_t)ref && v.rule_id == pr->id && v.action == pr->action &&
				v.log == !!(pr->flags & POLICY_RULE_LOG);
			total_rules_hit++;
			if ((uint32_t)ref > deepest_hit)
				deepest_hit = (uint32_t)ref;
		}
		total_packets++;
		if (!ok) {
			mismatches++;
			if (mismatches <= 3) {
				printf("MISMATCH: table says rule index %u (id %u, action %u, log %d), reference says %ld\n",
				       v.rule_index, v.rule_id, v.action, v.log, ref);
				print_packet(&k);
				print_policy(p);
			}
		}
	}
	table_close(t);
	free(buf);
	policies++;
}

int main(void)
{
	uint64_t want = 1000000, seed;
	const char *e = getenv("SEKISHO_DIFF_PACKETS");
	if (e && *e)
		want = strtoull(e, NULL, 10);
	e = getenv("SEKISHO_DIFF_SEED");
	if (e && *e)
		seed = strtoull(e, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
	printf("seed %#" PRIx64 " (replay with SEKISHO_DIFF_SEED), %" PRIu64 " packets\n", seed, want);
	fflush(stdout);
	rnd_seed(seed);

	/* a few large partitions (several summary words) first, then many
	 * small and medium random policies */
	uint64_t done = 0;
	for (int big = 0; big < 2 && done < want; big++) {
		any_pct = 1;
		struct policy *p = rand_policy(2 + big, big ? 5000 : 9000, big == 0);
		any_pct = 15;
		uint64_t n = want / 50 < 20000 ? want / 50 : 20000;
		run_policy(p, n);
		done += n;
		policy_free(p);
	}
	while (done < want) {
		uint32_t nz = 2 + (uint32_t)below(chance(80) ? 5 : 20);
		uint32_t nrules = chance(70) ? 1 + (uint32_t)below(60) : chance(80) ? (uint32_t)below(400) : 1500;
		struct policy *p = rand_policy(nz, nrules, chance(10));
		uint64_t n = 2000 + below(4000);
		if (n > want - done)
			n = want - done;
		run_policy(p, n);
		done += n;
		policy_free(p);
		if (mismatches > 10)
			break;
	}
	printf("%" PRIu64 " policies, %" PRIu64 " packets: %" PRIu64 " decided by a rule (deepest index %u), %" PRIu64
	       " by a default; largest partition %u sub-rules; %" PRIu64 " mismatches\n",
	       policies, total_packets, total_rules_hit, deepest_hit, total_default, largest_partition, mismatches);
	if (mismatches)
		printf("seed %#" PRIx64 "\n", seed);
	return mismatches ? 1 : 0;
}
