/* pspace_test: term operations, rule terms, the witness search (empty,
 * covered by one cover, covered only by a union, not covered, budget
 * exhaustion, IPv6, pieces holding no real packet), a brute-force
 * comparison on small random spaces, and the rule-term index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "fixture.h"
#include "rules/pspace.h"
#include "test/check.h"

/* the index API of pspace.c (its prototypes are to move into pspace.h) */

/* A term of one interval per dimension. */
static struct pspace_term box(u128 slo, u128 shi, u128 dlo, u128 dhi, u128 klo, u128 khi, u128 plo, u128 phi)
{
	struct pspace_term t;
	u128 v[PSPACE_NDIM][2] = {{slo, shi}, {dlo, dhi}, {klo, khi}, {plo, phi}};
	for (int d = 0; d < PSPACE_NDIM; d++) {
		t.d[d].n = 1;
		t.d[d].r = xmalloc(sizeof *t.d[d].r);
		t.d[d].r[0] = (struct ip_range){v[d][0], v[d][1]};
	}
	return t;
}

static u128 v4(const char *s)
{
	int fam;
	u128 a = 0;
	if (inaddr_parse(s, &fam, &a) < 0)
		abort();
	return a;
}

#define TCP(p) SVC_KEY(6, p)
#define FULLKEY 0, SVC_KEY_MAX
#define FULLSPORT 0, 0xffff

static void test_terms(void)
{
	struct pspace_term u, a, b, x;
	pspace_term_universe(&u, 4);
	CHECK(!pspace_term_is_empty(&u));
	CHECK(u.d[PSPACE_SRC].r[0].hi == INADDR_V4_MAX && u.d[PSPACE_KEY].r[0].hi == SVC_KEY_MAX &&
	      u.d[PSPACE_SPORT].r[0].hi == 0xffff);
	a = box(v4("10.0.0.0"), v4("10.0.0.255"), 0, INADDR_V4_MAX, TCP(80), TCP(80), FULLSPORT);
	b = box(v4("10.0.0.128"), v4("10.0.1.255"), 0, INADDR_V4_MAX, TCP(0), TCP(1023), FULLSPORT);
	CHECK(pspace_term_covers(&u, &a) && !pspace_term_covers(&a, &u));
	CHECK(pspace_term_intersects(&a, &b));
	CHECK(pspace_term_intersect(&a, &b, &x));
	CHECK(x.d[PSPACE_SRC].n == 1 && x.d[PSPACE_SRC].r[0].lo == v4("10.0.0.128") &&
	      x.d[PSPACE_SRC].r[0].hi == v4("10.0.0.255"));
	CHECK(x.d[PSPACE_KEY].r[0].lo == TCP(80) && x.d[PSPACE_KEY].r[0].hi == TCP(80));
	CHECK(pspace_term_covers(&a, &x) && pspace_term_covers(&b, &x));
	struct pspace_point in = {{v4("10.0.0.200"), 5, TCP(80), 1234}}, out = {{v4("10.0.0.100"), 5, TCP(80), 1234}};
	CHECK(pspace_term_contains(&x, &in) && !pspace_term_contains(&x, &out));
	pspace_term_free(&x);

	/* disjoint: failure case */
	struct pspace_term c = box(v4("10.0.0.0"), v4("10.0.0.255"), 0, INADDR_V4_MAX, TCP(443), TCP(443), FULLSPORT);
	CHECK(!pspace_term_intersects(&a, &c));
	CHECK(!pspace_term_intersect(&a, &c, &x));
	CHECK(pspace_term_is_empty(&x));
	pspace_term_free(&x);

	/* copy is deep */
	pspace_term_copy(&x, &a);
	x.d[PSPACE_SRC].r[0].lo = 0;
	CHECK(a.d[PSPACE_SRC].r[0].lo == v4("10.0.0.0"));
	pspace_term_free(&x);
	pspace_term_free(&a);
	pspace_term_free(&b);
	pspace_term_free(&c);
	pspace_term_free(&u);
}

static void test_rule_terms(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "lgwan", TIER_LGWAN);
	struct policy_rule *r =
		fx_rule(p, "mixed", ACT_ALLOW, "lgwan", "self", "10.0.0.0/8,10.0.0.0/24", "192.0.2.1,192.0.2.2",
			"tcp/80,tcp/443,udp/53@1024-65535,tcp/22@1024-65535,tcp/81", 0);
	struct pspace_term *v = NULL;
	size_t n = 0, cap = 0;
	pspace_rule_terms(r, 4, &v, &n, &cap);
	CHECK(n == 2);
	if (n == 2) {
		/* full sport range: tcp/80-81 merged, tcp/443 */
		CHECK(v[0].d[PSPACE_SPORT].r[0].lo == 0 && v[0].d[PSPACE_SPORT].r[0].hi == 0xffff);
		CHECK(v[0].d[PSPACE_KEY].n == 2 && v[0].d[PSPACE_KEY].r[0].lo == TCP(80) &&
		      v[0].d[PSPACE_KEY].r[0].hi == TCP(81) && v[0].d[PSPACE_KEY].r[1].lo == TCP(443));
		CHECK(v[1].d[PSPACE_SPORT].r[0].lo == 1024);
		CHECK(v[1].d[PSPACE_KEY].n == 2 && v[1].d[PSPACE_KEY].r[0].lo == TCP(22) &&
		      v[1].d[PSPACE_KEY].r[1].lo == SVC_KEY(17, 53));
		CHECK(v[0].d[PSPACE_SRC].n == 1 && v[0].d[PSPACE_DST].n == 1); /* 192.0.2.1-2 merged */
	}
	/* no IPv6 addresses: no IPv6 terms */
	size_t before = n;
	pspace_rule_terms(r, 6, &v, &n, &cap);
	CHECK(n == before);
	for (size_t i = 0; i < n; i++)
		pspace_term_free(&v[i]);
	free(v);

	/* a point of a term is a packet the rule matches */
	struct pspace_point pt = {{v4("10.1.2.3"), v4("192.0.2.2"), SVC_KEY(17, 53), 2000}};
	struct policy_packet pkt;
	pspace_point_packet(&pt, 4, 1, 0, &pkt);
	CHECK(pkt.proto == 17 && pkt.sport == 2000 && pkt.family == 4);
	CHECK(policy_rule_matches(r, &pkt));
	pkt.sport = 53; /* below the rule's sport range */
	CHECK(!policy_rule_matches(r, &pkt));
	policy_free(p);
}

static int witness(const struct pspace_term *q, struct pspace_term *covers, size_t n, uint64_t budget,
		   struct pspace_point *pt)
{
	const struct pspace_term **cv = xcalloc(n ? n : 1, sizeof *cv);
	for (size_t i = 0; i < n; i++)
		cv[i] = &covers[i];
	struct pspace_budget b = {budget};
	int rc = pspace_witness(q, cv, n, &b, pt);
	free(cv);
	return rc;
}

static bool in_any(const struct pspace_term *c, size_t n, const struct pspace_point *pt)
{
	for (size_t i = 0; i < n; i++)
		if (pspace_term_contains(&c[i], pt))
			return true;
	return false;
}

static void free_all(struct pspace_term *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pspace_term_free(&t[i]);
}

static void test_witness(void)
{
	struct pspace_point pt;
	/* empty q */
	struct pspace_term q = box(0, 10, 0, 10, TCP(80), TCP(80), FULLSPORT);
	struct pspace_term e;
	memset(&e, 0, sizeof e);
	CHECK(witness(&e, NULL, 0, 100, &pt) == 0);

	/* nothing covers: the low end, with the rule's protocol */
	CHECK(witness(&q, NULL, 0, 100, &pt) == 1);
	CHECK(pt.v[PSPACE_SRC] == 0 && pt.v[PSPACE_DST] == 0 && pt.v[PSPACE_KEY] == TCP(80) && pt.v[PSPACE_SPORT] == 0);

	/* covered by one cover */
	struct pspace_term one[1] = {box(0, 100, 0, 100, TCP(0), TCP(1023), FULLSPORT)};
	CHECK(witness(&q, one, 1, 100, &pt) == 0);
	free_all(one, 1);

	/* covered only by the union of two (neither alone) */
	struct pspace_term two[2] = {
		box(0, 5, 0, 10, FULLKEY, FULLSPORT),
		box(6, 10, 0, 10, TCP(80), TCP(80), FULLSPORT),
	};
	CHECK(witness(&q, two, 1, 100, &pt) == 1 && pspace_term_contains(&q, &pt) && !in_any(two, 1, &pt));
	CHECK(witness(&q, two + 1, 1, 100, &pt) == 1 && pspace_term_contains(&q, &pt) && !in_any(two + 1, 1, &pt));
	CHECK(witness(&q, two, 2, 100, &pt) == 0);
	free_all(two, 2);

	/* not covered: a hole in the middle of three dimensions */
	struct pspace_term holes[3] = {
		box(0, 10, 0, 4, FULLKEY, FULLSPORT),
		box(0, 10, 6, 10, FULLKEY, FULLSPORT),
		box(0, 10, 5, 5, TCP(0), TCP(79), FULLSPORT),
	};
	CHECK(witness(&q, holes, 3, 1000, &pt) == 1);
	CHECK(pt.v[PSPACE_DST] == 5 && pt.v[PSPACE_KEY] == TCP(80) && pspace_term_contains(&q, &pt) &&
	      !in_any(holes, 3, &pt));
	free_all(holes, 3);

	/* budget exhaustion: 200 one-address covers leave every other
	 * address open only at the end; a small budget cannot get there */
	struct pspace_term many[200];
	for (unsigned i = 0; i < 200; i++)
		many[i] = box(i, i, 0, INADDR_V4_MAX, FULLKEY, FULLSPORT);
	struct pspace_term q2 = box(0, 200, 0, INADDR_V4_MAX, TCP(80), TCP(80), FULLSPORT);
	CHECK(witness(&q2, many, 200, 50, &pt) == -E2BIG);
	struct pspace_budget b = {50};
	const struct pspace_term *cv[200];
	for (unsigned i = 0; i < 200; i++)
		cv[i] = &many[i];
	CHECK(pspace_witness(&q2, cv, 200, &b, &pt) == -E2BIG && b.steps == 0);
	CHECK(witness(&q2, many, 200, 10000000, &pt) == 1 && pt.v[PSPACE_SRC] == 200);
	pspace_term_free(&q2);
	q2 = box(0, 199, 0, INADDR_V4_MAX, TCP(80), TCP(80), FULLSPORT);
	CHECK(witness(&q2, many, 200, 10000000, &pt) == 0);
	CHECK(witness(&q2, many, 200, 3, &pt) == -E2BIG);
	pspace_term_free(&q2);
	free_all(many, 200);
	pspace_term_free(&q);
}

static void test_witness_v6(void)
{
	int fam;
	u128 net, half, half2, last;
	inaddr_parse("2001:db8::", &fam, &net);
	inaddr_parse("2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", &fam, &half);
	inaddr_parse("2001:db8:8000::", &fam, &half2);
	inaddr_parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &fam, &last);
	struct pspace_point pt;
	struct pspace_term q = box(net, last, 0, U128_MAX, TCP(443), TCP(443), FULLSPORT);
	struct pspace_term h[2] = {
		box(net, half, 0, U128_MAX, FULLKEY, FULLSPORT),
		box(half2, last, 0, U128_MAX, TCP(443), TCP(443), FULLSPORT),
	};
	CHECK(witness(&q, h, 2, 1000, &pt) == 0);
	CHECK(witness(&q, h, 1, 1000, &pt) == 1 && pt.v[PSPACE_SRC] == half2);
	CHECK(witness(&q, h + 1, 1, 1000, &pt) == 1 && pt.v[PSPACE_SRC] == net);
	free_all(h, 2);
	pspace_term_free(&q);

	/* the top of the 128-bit space (no overflow at U128_MAX) */
	struct pspace_term u;
	pspace_term_universe(&u, 6);
	struct pspace_term top[1] = {box(0, U128_MAX, 0, U128_MAX - 1, FULLKEY, FULLSPORT)};
	CHECK(witness(&u, top, 1, 1000, &pt) == 1 && pt.v[PSPACE_DST] == U128_MAX && pt.v[PSPACE_KEY] == TCP(0));
	free_all(top, 1);
	struct pspace_term all[1];
	pspace_term_universe(&all[0], 6);
	CHECK(witness(&u, all, 1, 1000, &pt) == 0);
	free_all(all, 1);
	pspace_term_free(&u);
}

/* Pieces that hold only impossible packets are not witnesses. */
static void test_real_packets(void)
{
	struct pspace_point pt;
	/* GRE has no ports: only key 47<<16 exists, and it is covered */
	struct pspace_term q = box(0, 10, 0, 10, SVC_KEY(47, 0), SVC_KEY(47, 0xffff), FULLSPORT);
	struct pspace_term c[1] = {box(0, 10, 0, 10, SVC_KEY(47, 0), SVC_KEY(47, 0), FULLSPORT)};
	CHECK(witness(&q, c, 1, 100, &pt) == 0);
	CHECK(witness(&q, NULL, 0, 100, &pt) == 1 && pt.v[PSPACE_KEY] == SVC_KEY(47, 0) && pt.v[PSPACE_SPORT] == 0);
	free_all(c, 1);
	pspace_term_free(&q);
	/* ICMP with a source port does not exist */
	q = box(0, 10, 0, 10, SVC_KEY(1, 0), SVC_KEY(1, 0xffff), 1, 0xffff);
	CHECK(witness(&q, NULL, 0, 100, &pt) == 0);
	pspace_term_free(&q);
	q = box(0, 10, 0, 10, SVC_KEY(1, 0x0800), SVC_KEY(1, 0x08ff), 0, 0xffff);
	CHECK(witness(&q, NULL, 0, 100, &pt) == 1 && pt.v[PSPACE_KEY] == SVC_KEY(1, 0x0800) && pt.v[PSPACE_SPORT] == 0);
	pspace_term_free(&q);
	/* everything: tcp is chosen over protocol 0 */
	pspace_term_universe(&q, 4);
	CHECK(witness(&q, NULL, 0, 100, &pt) == 1 && pt.v[PSPACE_KEY] == TCP(0));
	/* everything but tcp and udp: icmp */
	struct pspace_term nt[2] = {
		box(0, INADDR_V4_MAX, 0, INADDR_V4_MAX, SVC_KEY(6, 0), SVC_KEY(6, 0xffff), FULLSPORT),
		box(0, INADDR_V4_MAX, 0, INADDR_V4_MAX, SVC_KEY(17, 0), SVC_KEY(17, 0xffff), FULLSPORT)};
	CHECK(witness(&q, nt, 2, 1000, &pt) == 1 && pt.v[PSPACE_KEY] == SVC_KEY(1, 0) && pt.v[PSPACE_SPORT] == 0);
	free_all(nt, 2);
	pspace_term_free(&q);
	/* only port parts of protocol 2 and a non-zero sport: nothing real */
	q = box(0, 10, 0, 10, SVC_KEY(2, 1), SVC_KEY(2, 0xffff), FULLSPORT);
	CHECK(witness(&q, NULL, 0, 100, &pt) == 0);
	pspace_term_free(&q);
}

/* Brute force over small spaces: src, dst 0..7, key base+0..7, sport 0..3. */
static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}

static void rnd_list(struct pspace_list *l, unsigned max, u128 base)
{
	l->n = 1 + rnd(2);
	l->r = xcalloc(2, sizeof *l->r);
	unsigned a = rnd(max + 1), b = a + rnd(max + 1 - a);
	l->r[0] = (struct ip_range){base + a, base + b};
	if (l->n == 2) {
		if (b + 2 > max) {
			l->n = 1;
			return;
		}
		unsigned c = b + 2 + rnd(max - b - 1), d = c + rnd(max + 1 - c);
		l->r[1] = (struct ip_range){base + c, base + d};
	}
}

static void rnd_term(struct pspace_term *t, u128 kbase)
{
	rnd_list(&t->d[PSPACE_SRC], 7, 0);
	rnd_list(&t->d[PSPACE_DST], 7, 0);
	rnd_list(&t->d[PSPACE_KEY], 7, kbase);
	rnd_list(&t->d[PSPACE_SPORT], 3, 0);
}

static void test_brute_force(void)
{
	int mismatches = 0;
	for (int trial = 0; trial < 3000; trial++) {
		u128 kbase = rnd(3) ? SVC_KEY(6, 0) : SVC_KEY(47, 0);
		struct pspace_term q, cov[8];
		size_t n = rnd(8);
		rnd_term(&q, kbase);
		for (size_t i = 0; i < n; i++)
			rnd_term(&cov[i], kbase);
		bool exists = false;
		struct pspace_point p;
		for (unsigned s = 0; s < 8 && !exists; s++)
			for (unsigned d = 0; d < 8 && !exists; d++)
				for (unsigned k = 0; k < 8 && !exists; k++)
					for (unsigned sp = 0; sp < 4 && !exists; sp++) {
						p = (struct pspace_point){{s, d, kbase + k, sp}};
						bool real = kbase == SVC_KEY(6, 0) || (k == 0 && sp == 0);
						exists = real && pspace_term_contains(&q, &p) && !in_any(cov, n, &p);
					}
		struct pspace_point w;
		int rc = witness(&q, cov, n, 1000000, &w);
		if (rc != (exists ? 1 : 0))
			mismatches++;
		if (rc == 1) {
			bool real = kbase == SVC_KEY(6, 0) || (w.v[PSPACE_KEY] == kbase && w.v[PSPACE_SPORT] == 0);
			if (!real || !pspace_term_contains(&q, &w) || in_any(cov, n, &w))
				mismatches++;
		}
		pspace_term_free(&q);
		free_all(cov, n);
	}
	CHECK(mismatches == 0);
}

static void test_index(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "a", TIER_NONE);
	char src[64], dst[64], svc[32];
	for (int i = 0; i < 300; i++) {
		snprintf(src, sizeof src, "10.%d.0.0/16", rnd(20));
		if (rnd(10) == 0)
			snprintf(dst, sizeof dst, "any");
		else
			snprintf(dst, sizeof dst, "192.0.%d.%d-192.0.%d.255", rnd(50), rnd(256), 50 + rnd(50));
		snprintf(svc, sizeof svc, rnd(5) ? "tcp/%d" : "udp/%d", 1 + rnd(100));
		fx_rule(p, "r", ACT_ALLOW, "a", "a", src, dst, svc, 0);
	}
	fx_rule(p, "six", ACT_ALLOW, "a", "a", "2001:db8::/32", "any", "any", 0);
	struct pspace_table *t4 = pspace_table_new(p->rules, p->nrules, 4),
			    *t6 = pspace_table_new(p->rules, p->nrules, 6);
	CHECK(pspace_table_nterms(t4) == 300); /* "six" has no IPv4 source: no IPv4 term */
	size_t first, nt;
	pspace_table_rule_terms(t6, 300, &first, &nt);
	CHECK(nt == 1 && pspace_table_nterms(t6) == 1 && pspace_table_term_rule(t6, first) == 300);
	pspace_table_rule_terms(t4, 300, &first, &nt);
	CHECK(nt == 0);

	int missing = 0, dups = 0;
	uint32_t *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < pspace_table_nterms(t4); i++) {
		struct pspace_budget b = {1000000};
		n = 0;
		CHECK(pspace_table_query(t4, pspace_table_term(t4, i), &b, &v, &n, &cap) == 0);
		for (size_t j = 0; j < n; j++) /* each answer once */
			for (size_t k = j + 1; k < n; k++)
				dups += v[j] == v[k];
		for (size_t j = 0; j < pspace_table_nterms(t4); j++) {
			if (!pspace_term_intersects(pspace_table_term(t4, i), pspace_table_term(t4, j)))
				continue;
			bool found = false;
			for (size_t k = 0; k < n; k++)
				found |= v[k] == j;
			missing += !found;
		}
	}
	CHECK(missing == 0 && dups == 0);
	/* an exhausted budget is reported */
	struct pspace_term u;
	pspace_term_universe(&u, 4);
	struct pspace_budget b = {10};
	n = 0;
	CHECK(pspace_table_query(t4, &u, &b, &v, &n, &cap) == -E2BIG);
	pspace_term_free(&u);
	free(v);
	pspace_table_free(t4);
	pspace_table_free(t6);
	policy_free(p);
}

int main(void)
{
	test_terms();
	test_rule_terms();
	test_witness();
	test_witness_v6();
	test_real_packets();
	test_brute_force();
	test_index();
	return check_done();
}
