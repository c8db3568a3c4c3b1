/* semantics_test: random small policies, judged packet by packet.
 *
 *   semantics_test invariants   the property test of issue 13 (item 0)
 *   semantics_test backstop     the backstop against the invariants (item 1)
 *
 * A generator writes policy text from a fixed seed (bounded count): zones of
 * random tiers, hosts written several ways (single addresses or not, the
 * appliance), services, isolate and sanitize statements (self as a side
 * too), rules and defaults.  For every policy the evaluator accepts, the
 * test enumerates every packet class at the boundaries of the policy's
 * ranges: each zone pair (self included), both families, addresses at each
 * range start and end and one beyond, keys (protocol, port, ICMP type) and
 * source ports likewise.  Every cell of the policy's space holds one of
 * these points, so the enumeration is exhaustive over behaviours.
 *
 * invariants: for each packet, the compiled table's verdict must equal the
 * linear first match (policy_first_match), and the invariants of
 * docs/policy.md are checked on the concrete verdict by this file's own
 * reading of the document (the oracle below, not the prover's code).  A
 * policy the prover accepts must show no violating packet; a policy it
 * refuses must show one (the enumeration is exhaustive, so "refused but
 * no packet" is a prover bug too).  The reference semantics of policy.c
 * (policy_isolate_permits, policy_sanitize_permits) must agree with the
 * oracle on every packet.
 *
 * backstop: the text policy_nft_emit writes is run by a small interpreter
 * of the nft subset it uses (zone z is interface "eth<z>"; the appliance
 * has none).  It must drop exactly what the invariants forbid (ICMP in IPv6
 * and ICMPv6 in IPv4 left out: no such packets exist): a crossing
 * packet passes iff an exception rule (isolate) or a relay (sanitize)
 * admits it; and for a policy the prover accepts, every packet the policy
 * allows passes the backstop.
 *
 * Failures print the policy and the packet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "rules/policy.h"
#include "rules/policy_load.h"
#include "rules/policy_nft.h"
#include "rules/policy_prove.h"
#include "rules/policy_show.h"
#include "rules/table.h"
#include "rules/table_build.h"
#include "test/check.h"

#define NPOLICIES 160
/* the backstop's interpreter reads text per packet: fewer policies keep the
 * ASan run near a minute */
#define NBACKSTOP 96
#define SEED 0x5e5e5e5e13ull

static uint64_t rng;

static uint64_t next(void)
{
	/* splitmix64: the same sequence on every machine */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next() % n);
}

/* ---- the generator -------------------------------------------------------- */

/* Address items and whether each is single addresses only (docs/policy.md,
 * decision 2), written as this file reads the document. */
static const struct {
	const char *text;
	bool single;
	bool self;
} addrs[] = {
	{"h1", true, false},   /* host h1 10.0.1.1 */
	{"h2", true, false},   /* host h2 10.0.1.2, 2001:db8::1 */
	{"n30", false, false}, /* network n30 10.0.1.0/30 */
	{"n32", true, false},  /* network n32 10.0.2.7/32, 10.0.2.8/32 */
	{"r2", false, false},  /* range r2 10.0.1.4-10.0.1.5 */
	{"r1", true, false},   /* range r1 10.0.2.9-10.0.2.9 */
	{"far", true, false},  /* host far 192.0.2.10 */
	{"10.0.1.3", true, false},    {"10.0.1.3/32", true, false},     {"10.0.3.0/31", false, false},
	{"2001:db8::5", true, false}, {"2001:db8::/126", false, false}, {"any", false, false},
	{"relay", true, true}, /* host relay self: one machine */
};
#define NADDRS (sizeof addrs / sizeof addrs[0])

static const char *const objects = "host h1 10.0.1.1\n"
				   "host h2 10.0.1.2, 2001:db8::1\n"
				   "network n30 10.0.1.0/30\n"
				   "network n32 10.0.2.7/32, 10.0.2.8/32\n"
				   "range r2 10.0.1.4-10.0.1.5\n"
				   "range r1 10.0.2.9-10.0.2.9\n"
				   "host far 192.0.2.10\n"
				   "host relay self\n";

static const struct {
	const char *text;
	bool explicit_;
} svcs[] = {
	{"tcp/22", true},
	{"tcp/20-25", true},
	{"udp/53 sport 1024-65535", true},
	{"icmp/echo-request", true},
	{"icmpv6/echo-request", true},
	{"proto/gre", true},
	{"proto/igmp", true},
	{"any", false},
};
#define NSVCS (sizeof svcs / sizeof svcs[0])

static const char *const tiers[] = {"mynumber", "lgwan", "internet", "none"};

/* What the generator knows of each rule (in order; no rule expires). */
struct genrule {
	bool exception; /* single hosts both ends, explicit services, log */
};

struct gen {
	struct strbuf text;
	unsigned nzones; /* z1..zN, besides self */
	struct genrule rules[8];
	unsigned nrules;
};

static void put_zone(struct gen *g, struct strbuf *sb, bool with_self)
{
	unsigned n = g->nzones + (with_self ? 1 : 0);
	unsigned z = pick(n);
	if (z == g->nzones)
		strbuf_puts(sb, "self");
	else
		strbuf_printf(sb, "z%u", z + 1);
}

/* An endpoint: zones [addresses]; *single: its addresses are single hosts. */
static void put_endpoint(struct gen *g, struct strbuf *sb, bool *single)
{
	unsigned kind = pick(8);
	bool self_only = false;
	if (kind == 0) {
		strbuf_puts(sb, "any");
	} else if (kind <= 2) {
		strbuf_puts(sb, "self");
		self_only = true;
	} else {
		put_zone(g, sb, false);
		if (kind == 7) {
			strbuf_puts(sb, ", ");
			put_zone(g, sb, true);
		}
	}
	*single = false;
	if (pick(3) == 0)
		return;
	unsigned n = 1 + pick(2);
	*single = true;
	strbuf_puts(sb, " [");
	for (unsigned i = 0; i < n; i++) {
		unsigned a;
		do
			a = pick(NADDRS);
		while (addrs[a].self && !self_only);
		strbuf_printf(sb, "%s%s", i ? ", " : "", addrs[a].text);
		*single &= addrs[a].single;
	}
	strbuf_puts(sb, "]");
}

/* Side a of a sanitize: zone z(a+1), or self for a == nzones. */
static void put_side(const struct gen *g, struct strbuf *sb, unsigned a)
{
	if (a == g->nzones)
		strbuf_puts(sb, "self");
	else
		strbuf_printf(sb, "z%u", a + 1);
}

static void gen_policy(struct gen *g)
{
	struct strbuf *sb = &g->text;
	strbuf_reset(sb);
	g->nzones = 2 + pick(3);
	g->nrules = 0;
	for (unsigned z = 1; z <= g->nzones; z++)
		strbuf_printf(sb, "zone z%u tier %s interface eth%u\n", z, tiers[pick(4)], z);
	strbuf_puts(sb, objects);

	if (pick(2)) {
		strbuf_puts(sb, "isolate ");
		put_zone(g, sb, pick(4) == 0);
		if (pick(2)) {
			strbuf_puts(sb, ", ");
			put_zone(g, sb, false);
		}
		strbuf_puts(sb, "\n");
	}
	for (unsigned n = pick(3), i = 0; i < n; i++) {
		/* two different sides, self among them now and then */
		unsigned a = pick(g->nzones + 1), b;
		do
			b = pick(g->nzones + 1);
		while (b == a);
		strbuf_puts(sb, "sanitize ");
		put_side(g, sb, a);
		strbuf_puts(sb, pick(2) ? " -> " : " <-> ");
		put_side(g, sb, b);
		if (pick(3)) {
			static const char *const via[] = {"h1", "h2", "far", "relay", "h1, relay"};
			strbuf_printf(sb, " via %s", via[pick(5)]);
			if (pick(2))
				strbuf_printf(sb, " service %s", svcs[pick(NSVCS - 1)].text);
		}
		strbuf_puts(sb, "\n");
	}
	for (unsigned n = 1 + pick(6), i = 0; i < n; i++) {
		static const char *const act[] = {"allow", "allow", "deny", "reject"};
		bool ss, ds, explicit_ = false, log = pick(2);
		const char *a = act[pick(4)];
		strbuf_printf(sb, "rule \"r%u\" %s ", i + 1, a);
		put_endpoint(g, sb, &ss);
		strbuf_puts(sb, " -> ");
		put_endpoint(g, sb, &ds);
		if (pick(4)) {
			unsigned s = pick(NSVCS), s2 = pick(3) ? NSVCS : pick(NSVCS);
			strbuf_printf(sb, " service %s", svcs[s].text);
			explicit_ = svcs[s].explicit_;
			if (s2 < NSVCS) {
				strbuf_printf(sb, ", %s", svcs[s2].text);
				explicit_ &= svcs[s2].explicit_;
			}
		}
		if (log)
			strbuf_puts(sb, " log");
		strbuf_puts(sb, "\n");
		g->rules[g->nrules++].exception = !strcmp(a, "allow") && ss && ds && explicit_ && log;
	}
	if (pick(3) == 0) {
		strbuf_puts(sb, "default ");
		if (pick(2))
			strbuf_puts(sb, "any");
		else
			put_zone(g, sb, true);
		strbuf_puts(sb, " -> ");
		put_zone(g, sb, true);
		strbuf_puts(sb, " reject\n");
	}
}

/* ---- packets at the boundaries ------------------------------------------- */

struct vals {
	u128 *v;
	size_t n, cap;
};

static void vals_add(struct vals *s, u128 x)
{
	xgrow(&s->v, &s->cap, s->n + 1, sizeof *s->v);
	s->v[s->n++] = x;
}

/* lo-1, lo, hi, hi+1 within [0, max] */
static void vals_bounds(struct vals *s, u128 lo, u128 hi, u128 max)
{
	if (lo > 0)
		vals_add(s, lo - 1);
	vals_add(s, lo);
	vals_add(s, hi);
	if (hi < max)
		vals_add(s, hi + 1);
}

static int u128_cmp(const void *a, const void *b)
{
	u128 x = *(const u128 *)a, y = *(const u128 *)b;
	return x < y ? -1 : x > y;
}

static void vals_uniq(struct vals *s)
{
	qsort(s->v, s->n, sizeof *s->v, u128_cmp);
	size_t o = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!o || s->v[o - 1] != s->v[i])
			s->v[o++] = s->v[i];
	s->n = o;
}

static void vals_set(struct vals *s, const struct addr_set *a, int family)
{
	const struct ip_range *r = family == 4 ? a->v4 : a->v6;
	uint32_t n = family == 4 ? a->n4 : a->n6;
	for (uint32_t i = 0; i < n; i++)
		vals_bounds(s, r[i].lo, r[i].hi, inaddr_family_max(family));
}

static void vals_svc(struct vals *keys, struct vals *sports, const struct svc_range *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		vals_bounds(keys, v[i].key_lo, v[i].key_hi, SVC_KEY_MAX);
		vals_bounds(sports, v[i].sport_lo, v[i].sport_hi, 65535);
	}
}

/* The classes of one policy: addresses per family, keys, source ports. */
struct space {
	struct vals addr[2], keys, sports;
};

static void space_build(const struct policy *p, struct space *sp)
{
	memset(sp, 0, sizeof *sp);
	for (int fi = 0; fi < 2; fi++) {
		int fam = fi ? 6 : 4;
		vals_add(&sp->addr[fi], 0);
		for (uint32_t i = 0; i < p->nrules; i++) {
			vals_set(&sp->addr[fi], &p->rules[i].src, fam);
			vals_set(&sp->addr[fi], &p->rules[i].dst, fam);
		}
		for (uint32_t i = 0; i < p->nsanitize; i++)
			vals_set(&sp->addr[fi], &p->sanitize[i].via, fam);
		vals_uniq(&sp->addr[fi]);
	}
	vals_add(&sp->keys, 0);
	vals_add(&sp->sports, 0);
	for (uint32_t i = 0; i < p->nrules; i++)
		vals_svc(&sp->keys, &sp->sports, p->rules[i].svc, p->rules[i].nsvc);
	for (uint32_t i = 0; i < p->nsanitize; i++)
		vals_svc(&sp->keys, &sp->sports, p->sanitize[i].svc, p->sanitize[i].nsvc);
	/* a real packet of a protocol without ports has port part 0 */
	for (size_t i = 0; i < sp->keys.n; i++) {
		unsigned proto = (unsigned)(sp->keys.v[i] >> 16);
		if (proto != 1 && proto != 58 && !table_proto_has_ports((uint8_t)proto))
			sp->keys.v[i] = SVC_KEY(proto, 0);
	}
	vals_uniq(&sp->keys);
	vals_uniq(&sp->sports);
}

static void space_free(struct space *sp)
{
	free(sp->addr[0].v);
	free(sp->addr[1].v);
	free(sp->keys.v);
	free(sp->sports.v);
}

/* Calls fn for every packet class; stops when fn returns non-zero. */
typedef int packet_fn(void *ctx, const struct policy_packet *pkt);

static int space_each(const struct policy *p, const struct space *sp, packet_fn *fn, void *ctx)
{
	static const uint16_t no_sport = 0;
	for (unsigned f = 0; f < p->nzones; f++)
		for (unsigned t = 0; t < p->nzones; t++)
			for (int fi = 0; fi < 2; fi++)
				for (size_t k = 0; k < sp->keys.n; k++) {
					uint32_t key = (uint32_t)sp->keys.v[k];
					uint8_t proto = (uint8_t)(key >> 16);
					bool ports = table_proto_has_ports(proto);
					const u128 *spv = ports ? sp->sports.v : NULL;
					size_t nsp = ports ? sp->sports.n : 1;
					for (size_t s = 0; s < sp->addr[fi].n; s++)
						for (size_t d = 0; d < sp->addr[fi].n; d++)
							for (size_t q = 0; q < nsp; q++) {
								struct policy_packet pkt = {
									.from_zone = (uint8_t)f,
									.to_zone = (uint8_t)t,
									.family = (uint8_t)(fi ? 6 : 4),
									.proto = proto,
									.sport = spv ? (uint16_t)spv[q] : no_sport,
									.key = key,
									.src = sp->addr[fi].v[s],
									.dst = sp->addr[fi].v[d]};
								int rc = fn(ctx, &pkt);
								if (rc)
									return rc;
							}
				}
	return 0;
}

/* ---- the oracle: docs/policy.md, read independently ----------------------- */

static bool in(uint64_t zones, unsigned z)
{
	return zones >> z & 1;
}

static bool svc_has(const struct svc_range *v, uint32_t n, const struct policy_packet *pkt)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i].key_lo <= pkt->key && pkt->key <= v[i].key_hi && v[i].sport_lo <= pkt->sport &&
		    pkt->sport <= v[i].sport_hi)
			return true;
	return false;
}

/* isolate M: nothing crosses the boundary of M (one end inside, the other
 * outside; within one zone nothing crosses) except by an exception. */
static bool oracle_crosses(const struct policy_isolate *iso, const struct policy_packet *pkt)
{
	return pkt->from_zone != pkt->to_zone && in(iso->zones, pkt->from_zone) != in(iso->zones, pkt->to_zone);
}

/* sanitize A -> B / A <-> B: no packet between the two sides in either
 * direction, except to the relays with the relay services, and only in the
 * declared direction; from a sending side to the appliance only relays on
 * the appliance.  Several statements on the same path pool their relays. */
static bool oracle_sanitize(const struct policy *p, const struct policy_packet *pkt)
{
	unsigned f = pkt->from_zone, t = pkt->to_zone;
	bool governed = false;
	if (f == t)
		return true;
	for (uint32_t i = 0; i < p->nsanitize; i++) {
		const struct policy_sanitize *s = &p->sanitize[i];
		bool a_to_b = in(s->a_zones, f) && in(s->b_zones, t);
		bool b_to_a = in(s->b_zones, f) && in(s->a_zones, t);
		bool declared = a_to_b || (s->both_ways && b_to_a);
		bool sends = in(s->a_zones, f) || (s->both_ways && in(s->b_zones, f));
		if (t == TABLE_ZONE_SELF) {
			if (!a_to_b && !b_to_a && !sends)
				continue;
			governed = true;
			if ((declared || sends) && s->via_self && svc_has(s->svc, s->nsvc, pkt))
				return true;
		} else {
			if (!a_to_b && !b_to_a)
				continue;
			governed = true;
			if (declared && policy_addr_set_contains(&s->via, pkt->family, pkt->dst) &&
			    svc_has(s->svc, s->nsvc, pkt))
				return true;
		}
	}
	return !governed;
}

/* ---- invariants: the property test ---------------------------------------- */

struct pctx {
	const struct gen *g;
	const struct policy *p;
	const struct table *tab;
	bool accepted;
	unsigned long packets, violations, checked_allow;
	struct policy_packet first_violation;
	const char *first_why;
};

static void report(const struct gen *g, const struct policy *p, const struct policy_packet *pkt, const char *what)
{
	struct strbuf sb = STRBUF_INIT;
	if (pkt)
		policy_show_packet_format(p, pkt, &sb);
	fprintf(stderr, "FAIL %s%s%s\n--- policy\n%s---\n", what, pkt ? ": " : "", strbuf_str(&sb),
		strbuf_str(&g->text));
	strbuf_free(&sb);
	check_failures++;
}

static int check_packet(void *vctx, const struct policy_packet *pkt)
{
	struct pctx *c = vctx;
	const struct policy *p = c->p;
	c->packets++;
	long fm = policy_first_match(p, pkt);
	uint8_t action = fm >= 0 ? (uint8_t)p->rules[fm].action
				 : (uint8_t)policy_default_action(p, pkt->from_zone, pkt->to_zone);

	struct table_query q = {.from_zone = pkt->from_zone,
				.to_zone = pkt->to_zone,
				.family = pkt->family,
				.proto = pkt->proto,
				.sport = pkt->sport,
				.key = pkt->key,
				.src = pkt->src,
				.dst = pkt->dst};
	struct table_verdict v;
	table_lookup(c->tab, &q, &v);
	if (v.action != action || v.rule_index != (fm >= 0 ? (uint32_t)fm : UINT32_MAX)) {
		report(c->g, p, pkt, "table lookup differs from the linear first match");
		return 1;
	}

	/* the reference semantics (policy.c) against this file's reading */
	const struct policy_rule *r = fm >= 0 ? &p->rules[fm] : NULL;
	bool san = oracle_sanitize(p, pkt);
	if (san != policy_sanitize_permits(p, pkt)) {
		report(c->g, p, pkt, "policy_sanitize_permits differs from docs/policy.md");
		return 1;
	}
	bool iso = true;
	for (uint32_t i = 0; i < p->nisolate; i++) {
		bool ok = !oracle_crosses(&p->isolate[i], pkt) || (fm >= 0 && c->g->rules[fm].exception);
		if (ok != policy_isolate_permits(&p->isolate[i], r, pkt)) {
			report(c->g, p, pkt, "policy_isolate_permits differs from docs/policy.md");
			return 1;
		}
		iso &= ok;
	}
	if (action != ACT_ALLOW)
		return 0;
	c->checked_allow++;
	if (!iso || !san) {
		if (!c->violations++) {
			c->first_violation = *pkt;
			c->first_why = !iso ? "isolate" : "sanitize";
		}
		if (c->accepted) {
			report(c->g, p, pkt,
			       !iso ? "the prover accepted a policy whose rule crosses an isolate"
				    : "the prover accepted a policy that breaks a sanitize");
			return 1;
		}
	}
	return 0;
}

static struct policy *load(const struct gen *g, bool *ret_accepted)
{
	struct diag d;
	struct policy *p = NULL;
	policy_diag_init(&d);
	struct policy_options o = {.today = "2026-11-22"};
	int rc = policy_load_buffer("gen.policy", strbuf_str(&g->text), g->text.len, &o, &d, &p);
	if (rc == 0) {
		struct prove_report rep;
		struct diag pd;
		policy_diag_init(&pd);
		struct prove_options po = {0};
		rc = policy_prove(p, &po, &pd, &rep);
		*ret_accepted = rc == 0;
		for (uint32_t i = 0; i < rep.ninvariants; i++)
			if (rep.inv[i].status == PROVE_INCOMPLETE)
				fprintf(stderr, "note: an invariant ran out of budget\n");
		policy_prove_report_free(&rep);
		policy_diag_free(&pd);
	} else {
		struct strbuf sb = STRBUF_INIT;
		policy_diag_render(&d, &sb);
		fprintf(stderr, "generated policy not loaded:\n%s%s", strbuf_str(&g->text), strbuf_str(&sb));
		strbuf_free(&sb);
		check_failures++;
	}
	policy_diag_free(&d);
	return p;
}

static void test_invariants(void)
{
	struct gen g = {.text = STRBUF_INIT};
	unsigned accepted = 0, refused = 0;
	unsigned long packets = 0, allows = 0;
	rng = SEED;
	for (int n = 0; n < NPOLICIES && check_failures < 5; n++) {
		gen_policy(&g);
		bool ok = false;
		struct policy *p = load(&g, &ok);
		if (!p)
			continue;
		void *buf = NULL;
		size_t len = 0;
		char why[256];
		struct table *tab = NULL;
		if (table_build(p, 0, &buf, &len, why, sizeof why) < 0 ||
		    table_open_buffer(buf, len, &tab, why, sizeof why) < 0) {
			report(&g, p, NULL, why);
			free(buf);
			policy_free(p);
			continue;
		}
		struct space sp;
		space_build(p, &sp);
		struct pctx c = {.g = &g, .p = p, .tab = tab, .accepted = ok};
		space_each(p, &sp, check_packet, &c);
		if (!ok && !c.violations)
			report(&g, p, NULL, "the prover refused a policy without a violating packet");
		accepted += ok;
		refused += !ok;
		packets += c.packets;
		allows += c.checked_allow;
		space_free(&sp);
		table_close(tab);
		free(buf);
		policy_free(p);
	}
	printf("invariants: %u policies accepted, %u refused; %lu packets, %lu allowed and checked\n", accepted,
	       refused, packets, allows);
	if (accepted < NPOLICIES / 8 || refused < NPOLICIES / 8) {
		fprintf(stderr, "FAIL the generator should give both outcomes often\n");
		check_failures++;
	}
	strbuf_free(&g.text);
}

/* ---- backstop: an interpreter of the emitted nft subset ------------------- */

struct chain {
	char name[64];
	char **lines;
	size_t n, cap;
};

struct nft {
	struct chain *c;
	size_t n, cap;
};

static void nft_parse(const char *text, struct nft *ret)
{
	memset(ret, 0, sizeof *ret);
	struct chain *cur = NULL;
	char *dup = xstrdup(text), *save = NULL;
	for (char *l = strtok_r(dup, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		while (*l == '\t' || *l == ' ')
			l++;
		char name[64];
		if (sscanf(l, "chain %63s {", name) == 1) {
			xgrow(&ret->c, &ret->cap, ret->n + 1, sizeof *ret->c);
			cur = &ret->c[ret->n++];
			memset(cur, 0, sizeof *cur);
			snprintf(cur->name, sizeof cur->name, "%s", name);
			continue;
		}
		if (!cur || !*l || *l == '#' || !strncmp(l, "type filter", 11))
			continue;
		if (!strcmp(l, "}")) {
			cur = NULL;
			continue;
		}
		xgrow(&cur->lines, &cur->cap, cur->n + 1, sizeof *cur->lines);
		cur->lines[cur->n++] = xstrdup(l);
	}
	free(dup);
}

static void nft_free(struct nft *t)
{
	for (size_t i = 0; i < t->n; i++) {
		for (size_t j = 0; j < t->c[i].n; j++)
			free(t->c[i].lines[j]);
		free(t->c[i].lines);
	}
	free(t->c);
}

static const struct chain *nft_chain(const struct nft *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->c[i].name, name))
			return &t->c[i];
	return NULL;
}

/* One packet at one hook: iif/oif NULL where the hook has none. */
struct hookpkt {
	const char *iif, *oif;
	const struct policy_packet *pkt;
};

enum { V_NONE, V_RETURN, V_DROP, V_ACCEPT, V_JUMP, V_BAD };

/* Next token: a word, a quoted string, or a { set } (returned whole). */
static const char *token(const char **s, char *buf, size_t n)
{
	const char *p = *s;
	while (*p == ' ')
		p++;
	if (!*p)
		return NULL;
	const char *end;
	if (*p == '{')
		end = strchr(p, '}') + 1;
	else if (*p == '"')
		end = strchr(p + 1, '"') + 1;
	else
		for (end = p; *end && *end != ' '; end++)
			;
	size_t len = (size_t)(end - p) < n - 1 ? (size_t)(end - p) : n - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	*s = end;
	return buf;
}

/* Is word (name, number, address) in the value: a { set } or one word? */
static bool value_has(const char *value, bool (*eq)(const char *item, const void *x), const void *x)
{
	char item[128];
	if (*value != '{')
		return eq(value, x);
	const char *p = value + 1;
	for (;;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '}' || !*p)
			return false;
		size_t n = strcspn(p, ",}");
		while (n && p[n - 1] == ' ')
			n--;
		snprintf(item, sizeof item, "%.*s", (int)n, p);
		if (eq(item, x))
			return true;
		p += n;
	}
}

static bool eq_name(const char *item, const void *x)
{
	char q[64];
	snprintf(q, sizeof q, "\"%s\"", (const char *)x);
	return !strcmp(item, q);
}

static bool eq_addr(const char *item, const void *x)
{
	const struct policy_packet *a = x; /* family and the address in src */
	int fam;
	u128 lo, hi;
	if (inaddr_parse_span(item, strlen(item), &fam, &lo, &hi) < 0) {
		fprintf(stderr, "FAIL interpreter: bad address '%s'\n", item);
		check_failures++;
		return false;
	}
	return fam == a->family && lo <= a->src && a->src <= hi;
}

static bool eq_range(const char *item, const void *x)
{
	unsigned v = *(const unsigned *)x, lo, hi;
	static const char *const nd[] = {"nd-router-solicit", "nd-router-advert", "nd-neighbor-solicit",
					 "nd-neighbor-advert", "nd-redirect"};
	for (unsigned i = 0; i < 5; i++)
		if (!strcmp(item, nd[i]))
			return v == 133 + i;
	int k = sscanf(item, "%u-%u", &lo, &hi);
	if (k == 1)
		hi = lo;
	else if (k != 2)
		return false;
	return lo <= v && v <= hi;
}

/* Does the line match, and what is its verdict (*jump: the chain)? */
static int nft_line(const char *line, const struct hookpkt *h, char *jump, size_t jn)
{
	const struct policy_packet *pkt = h->pkt;
	char w[512], v[512];
	const char *s = line;
	unsigned proto = pkt->key >> 16, port = pkt->key & 0xffff;
	while (token(&s, w, sizeof w)) {
		bool ok;
		if (!strcmp(w, "iifname") || !strcmp(w, "oifname")) {
			const char *ifn = w[0] == 'i' ? h->iif : h->oif;
			bool neg = false;
			token(&s, v, sizeof v);
			if (!strcmp(v, "!=")) {
				neg = true;
				token(&s, v, sizeof v);
			}
			ok = (ifn && value_has(v, eq_name, ifn)) != neg;
		} else if (!strcmp(w, "meta")) {
			token(&s, w, sizeof w);
			token(&s, v, sizeof v);
			if (!strcmp(w, "nfproto"))
				ok = !strcmp(v, pkt->family == 4 ? "ipv4" : "ipv6");
			else if (!strcmp(w, "l4proto"))
				ok = !strcmp(v, "icmp")        ? proto == 1
					: !strcmp(v, "icmpv6") ? proto == 58
							       : (unsigned)atoi(v) == proto;
			else
				return V_BAD;
		} else if (!strcmp(w, "ip") || !strcmp(w, "ip6")) {
			int fam = w[2] == '6' ? 6 : 4;
			token(&s, w, sizeof w);
			token(&s, v, sizeof v);
			if (!strcmp(w, "hoplimit")) {
				ok = false; /* our packets are not link-local neighbour discovery */
			} else if (!strcmp(w, "saddr") || !strcmp(w, "daddr")) {
				u128 a = w[0] == 's' ? pkt->src : pkt->dst;
				struct policy_packet probe = {.family = (uint8_t)fam, .src = a, .dst = a};
				ok = pkt->family == fam && value_has(v, eq_addr, &probe);
			} else {
				return V_BAD;
			}
		} else if (!strcmp(w, "th")) {
			token(&s, w, sizeof w);
			token(&s, v, sizeof v);
			unsigned x = !strcmp(w, "dport") ? port : pkt->sport;
			ok = table_proto_has_ports((uint8_t)proto) && value_has(v, eq_range, &x);
		} else if (!strcmp(w, "icmp") || !strcmp(w, "icmpv6")) {
			unsigned want = w[4] == 'v' ? 58 : 1;
			token(&s, w, sizeof w);
			token(&s, v, sizeof v);
			unsigned x = !strcmp(w, "type") ? port >> 8 : port & 0xff;
			ok = proto == want && value_has(v, eq_range, &x);
		} else if (!strcmp(w, "ct")) {
			token(&s, w, sizeof w);
			token(&s, v, sizeof v);
			ok = false; /* every packet here is a flow's first */
		} else if (!strcmp(w, "counter")) {
			ok = true;
		} else if (!strcmp(w, "comment")) {
			token(&s, v, sizeof v);
			ok = true;
		} else if (!strcmp(w, "return") || !strcmp(w, "drop") || !strcmp(w, "accept")) {
			return w[0] == 'r' ? V_RETURN : w[0] == 'd' ? V_DROP : V_ACCEPT;
		} else if (!strcmp(w, "jump")) {
			token(&s, v, sizeof v);
			size_t l = strnlen(v, jn - 1);
			memcpy(jump, v, l);
			jump[l] = '\0';
			return V_JUMP;
		} else {
			return V_BAD;
		}
		if (!ok)
			return V_NONE;
	}
	return V_BAD;
}

/* V_RETURN (end of chain or return), V_DROP, V_ACCEPT or V_BAD. */
static int nft_run(const struct nft *t, const char *name, const struct hookpkt *h, int depth)
{
	const struct chain *c = nft_chain(t, name);
	if (!c || depth > 2)
		return V_BAD;
	for (size_t i = 0; i < c->n; i++) {
		char jump[64];
		int r = nft_line(c->lines[i], h, jump, sizeof jump);
		if (r == V_BAD) {
			fprintf(stderr, "FAIL interpreter: cannot read '%s'\n", c->lines[i]);
			return V_BAD;
		}
		if (r == V_JUMP) {
			r = nft_run(t, jump, h, depth + 1);
			if (r == V_RETURN)
				continue;
		}
		if (r != V_NONE)
			return r;
	}
	return V_RETURN;
}

/* Does the backstop let the packet through (every hook it passes)? */
static int nft_passes(const struct nft *t, const struct policy_packet *pkt)
{
	char iif[16], oif[16];
	snprintf(iif, sizeof iif, "eth%u", pkt->from_zone);
	snprintf(oif, sizeof oif, "eth%u", pkt->to_zone);
	bool from_self = pkt->from_zone == TABLE_ZONE_SELF, to_self = pkt->to_zone == TABLE_ZONE_SELF;
	struct hookpkt hooks[2];
	const char *names[2];
	int n = 0;
	if (from_self && to_self) {
		hooks[n] = (struct hookpkt){NULL, "lo", pkt};
		names[n++] = "output";
		hooks[n] = (struct hookpkt){"lo", NULL, pkt};
		names[n++] = "input";
	} else if (from_self) {
		hooks[n] = (struct hookpkt){NULL, oif, pkt};
		names[n++] = "output";
	} else if (to_self) {
		hooks[n] = (struct hookpkt){iif, NULL, pkt};
		names[n++] = "input";
	} else {
		hooks[n] = (struct hookpkt){iif, oif, pkt};
		names[n++] = "forward";
	}
	for (int i = 0; i < n; i++) {
		int r = nft_run(t, names[i], &hooks[i], 0);
		if (r == V_BAD)
			return -1;
		if (r == V_DROP)
			return 0;
	}
	return 1;
}

struct bctx {
	const struct gen *g;
	const struct policy *p;
	const struct nft *nft;
	bool accepted;
	unsigned long packets, dropped;
};

static int check_backstop(void *vctx, const struct policy_packet *pkt)
{
	struct bctx *c = vctx;
	const struct policy *p = c->p;
	/* ICMP in IPv6 and ICMPv6 in IPv4 do not exist: the backstop has no
	 * line for them (they are dropped where a chain guards the path) */
	if ((pkt->proto == 1 && pkt->family == 6) || (pkt->proto == 58 && pkt->family == 4))
		return 0;
	c->packets++;
	int pass = nft_passes(c->nft, pkt);
	if (pass < 0) {
		report(c->g, p, pkt, "the backstop's text could not be read");
		return 1;
	}
	c->dropped += !pass;
	/* what the invariants permit: an exception rule that matches the
	 * packet (any of them: the backstop does not know the rule order),
	 * and a relay of a statement on the path */
	bool want = oracle_sanitize(p, pkt);
	for (uint32_t i = 0; i < p->nisolate && want; i++) {
		if (!oracle_crosses(&p->isolate[i], pkt))
			continue;
		bool exc = false;
		for (uint32_t r = 0; r < p->nrules && !exc; r++)
			exc = c->g->rules[r].exception && policy_rule_matches(&p->rules[r], pkt);
		want = exc;
	}
	if (pass != want) {
		report(c->g, p, pkt,
		       pass ? "the backstop passes a packet the invariants forbid"
			    : "the backstop drops a packet the invariants permit");
		return 1;
	}
	long fm = policy_first_match(p, pkt);
	if (c->accepted && fm >= 0 && p->rules[fm].action == ACT_ALLOW && !pass) {
		report(c->g, p, pkt, "the backstop drops a packet a proven policy allows");
		return 1;
	}
	return 0;
}

static void test_backstop(void)
{
	struct gen g = {.text = STRBUF_INIT};
	unsigned policies = 0, accepted = 0;
	unsigned long packets = 0, dropped = 0;
	rng = SEED ^ 0xbac5;
	for (int n = 0; n < NBACKSTOP && check_failures < 5; n++) {
		gen_policy(&g);
		bool ok = false;
		struct policy *p = load(&g, &ok);
		if (!p)
			continue;
		struct strbuf out = STRBUF_INIT;
		char why[256];
		if (policy_nft_emit(p, &out, why, sizeof why) < 0) {
			report(&g, p, NULL, why);
			strbuf_free(&out);
			policy_free(p);
			continue;
		}
		struct nft t;
		nft_parse(strbuf_str(&out), &t);
		struct space sp;
		space_build(p, &sp);
		struct bctx c = {.g = &g, .p = p, .nft = &t, .accepted = ok};
		if (space_each(p, &sp, check_backstop, &c))
			fprintf(stderr, "--- backstop\n%s", strbuf_str(&out));
		policies++;
		accepted += ok;
		packets += c.packets;
		dropped += c.dropped;
		space_free(&sp);
		nft_free(&t);
		strbuf_free(&out);
		policy_free(p);
	}
	printf("backstop: %u policies (%u proven); %lu packets, %lu dropped by the backstop\n", policies, accepted,
	       packets, dropped);
	strbuf_free(&g.text);
}

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "invariants") && strcmp(argv[1], "backstop"))) {
		fprintf(stderr, "usage: semantics_test invariants|backstop\n");
		return 2;
	}
	if (!strcmp(argv[1], "invariants"))
		test_invariants();
	else
		test_backstop();
	return check_done();
}
