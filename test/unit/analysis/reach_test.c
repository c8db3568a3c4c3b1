/* reach_test: unreachable rules (covered only by the union of several
 * earlier rules, not by any one), redundant rules, rules that look alike
 * but are neither, the budget note, and a 10,000-rule policy (timed). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "fixture.h"
#include "rules/policy_prove.h"
#include "test/check.h"

struct run {
	int rc;
	struct prove_report rep;
	struct diag d;
};

static void run(const struct policy *p, uint64_t budget, struct run *r)
{
	memset(r, 0, sizeof *r);
	policy_diag_init(&r->d);
	struct prove_options o = {.budget = budget, .reachability = true};
	r->rc = policy_prove(p, &o, &r->d, &r->rep);
}

static void done(struct run *r, const char *name)
{
	if (check_failures) {
		fprintf(stderr, "--- %s\n", name);
		fx_diag_dump(&r->d);
	}
	policy_prove_report_free(&r->rep);
	policy_diag_free(&r->d);
}

/* Was there a warning at rule id's line containing text? */
static bool warned(const struct run *r, uint32_t id, const char *text)
{
	for (size_t i = 0; i < r->d.n; i++)
		if (r->d.v[i].severity == DIAG_WARNING && r->d.v[i].loc.line == id * 10 &&
		    strstr(r->d.v[i].message, text))
			return true;
	return false;
}

static struct policy *zones(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_zone(p, "dmz", TIER_NONE);
	return p;
}

static void test_unreachable_union(void)
{
	/* rule 3 lies across the boundary of rules 1 and 2 */
	struct policy *p = zones();
	fx_rule(p, "low", ACT_DENY, "lgwan", "internet", "any", "0.0.0.0/1", "any", 0);
	fx_rule(p, "high", ACT_DENY, "lgwan", "internet", "any", "128.0.0.0/1", "tcp", 0);
	fx_rule(p, "web", ACT_ALLOW, "lgwan", "internet", "any", "100.0.0.0-200.0.0.0", "tcp/80", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == 0 && r.rep.reachability_complete);
	CHECK(r.rep.nunreachable == 1 &&
	      warned(&r, 3,
		     "rule 3 can never match: every packet it covers is decided by "
		     "earlier rules"));
	const char *note = fx_diag_find(&r.d, "covered by the earlier rules");
	CHECK(note && strstr(note, "rule 1 \"low\" (test.policy:10)") &&
	      strstr(note, "rule 2 \"high\" (test.policy:20)"));
	CHECK(r.d.nwarnings == 1);
	done(&r, "union");
	policy_free(p);

	/* either one alone leaves part of it reachable: no warning */
	for (int drop = 0; drop < 2; drop++) {
		p = zones();
		if (drop != 0)
			fx_rule(p, "low", ACT_DENY, "lgwan", "internet", "any", "0.0.0.0/1", "any", 0);
		if (drop != 1)
			fx_rule(p, "high", ACT_DENY, "lgwan", "internet", "any", "128.0.0.0/1", "tcp", 0);
		fx_rule(p, "web", ACT_ALLOW, "lgwan", "internet", "any", "100.0.0.0-200.0.0.0", "tcp/80", 0);
		run(p, 0, &r);
		CHECK(r.rep.nunreachable == 0 && !fx_diag_find(&r.d, "can never match"));
		done(&r, "single");
		policy_free(p);
	}

	/* two dimensions: 10/8 by source, 11/8 by service */
	p = zones();
	fx_rule(p, "ten", ACT_DENY, "lgwan", "internet", "10.0.0.0/8", "any", "any", 0);
	fx_rule(p, "web", ACT_REJECT, "lgwan", "internet", "any", "any", "tcp/80,tcp/443", 0);
	fx_rule(p, "both", ACT_ALLOW, "lgwan", "internet", "10.0.0.0/7", "any", "tcp/80", 0);
	run(p, 0, &r);
	CHECK(r.rep.nunreachable == 1 && warned(&r, 3, "can never match"));
	done(&r, "two dimensions");
	policy_free(p);

	/* the same rule also applies to dmz -> internet, where nothing covers it */
	p = zones();
	fx_rule(p, "ten", ACT_DENY, "lgwan", "internet", "10.0.0.0/8", "any", "any", 0);
	fx_rule(p, "web", ACT_REJECT, "lgwan", "internet", "any", "any", "tcp/80,tcp/443", 0);
	fx_rule(p, "both", ACT_ALLOW, "lgwan,dmz", "internet", "10.0.0.0/7", "any", "tcp/80", 0);
	run(p, 0, &r);
	CHECK(r.rep.nunreachable == 0 && !fx_diag_find(&r.d, "can never match"));
	done(&r, "other pair");
	policy_free(p);

	/* IPv6: the covering rules' v6 halves */
	p = zones();
	fx_rule(p, "low6", ACT_DENY, "lgwan", "internet", "any", "::/1", "any", 0);
	fx_rule(p, "high6", ACT_DENY, "lgwan", "internet", "any", "8000::/1", "any", 0);
	fx_rule(p, "v6 web", ACT_ALLOW, "lgwan", "internet", "2001:db8::/32", "any", "tcp/443", 0);
	fx_rule(p, "v4v6", ACT_ALLOW, "lgwan", "internet", "any", "any", "tcp/443", 0);
	run(p, 0, &r);
	CHECK(r.rep.nunreachable == 1 && warned(&r, 3, "can never match") && !warned(&r, 4, "can never match"));
	done(&r, "v6");
	policy_free(p);

	/* no common family: covers no packet at all */
	p = zones();
	fx_rule(p, "mixed", ACT_ALLOW, "lgwan", "internet", "10.0.0.1", "2001:db8::1", "tcp/443", 0);
	run(p, 0, &r);
	CHECK(r.rep.nunreachable == 1 && warned(&r, 1, "covers no packet"));
	done(&r, "no family");
	policy_free(p);
}

static void test_redundant(void)
{
	/* a host rule inside a subnet rule with the same action */
	struct policy *p = zones();
	fx_rule(p, "host", ACT_ALLOW, "lgwan", "internet", "any", "203.0.113.5", "tcp/80", 0);
	fx_rule(p, "net", ACT_ALLOW, "lgwan", "internet", "any", "203.0.113.0/24", "tcp/80", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rep.nredundant == 1 && warned(&r, 1, "rule 1 is redundant: removing it changes no decision"));
	CHECK(r.rep.nunreachable == 0 && !warned(&r, 2, "redundant"));
	done(&r, "host in net");
	policy_free(p);

	/* a deny between them decides part of the host rule's packets */
	p = zones();
	fx_rule(p, "host", ACT_ALLOW, "lgwan", "internet", "any", "203.0.113.5", "tcp/80-81", 0);
	fx_rule(p, "no 81", ACT_DENY, "lgwan", "internet", "any", "203.0.113.5", "tcp/81", 0);
	fx_rule(p, "net", ACT_ALLOW, "lgwan", "internet", "any", "203.0.113.0/24", "tcp/80-81", 0);
	run(p, 0, &r);
	CHECK(!warned(&r, 1, "redundant"));
	CHECK(warned(&r, 2, "can never match") && r.rep.nunreachable == 1);
	CHECK(!warned(&r, 3, "redundant"));
	done(&r, "deny between");
	policy_free(p);

	/* an explicit final deny equal to the default deny is redundant; with
	 * a default reject it is not; nor is a logged one (it writes an audit
	 * record the default does not) */
	p = zones();
	fx_rule(p, "web", ACT_ALLOW, "lgwan", "internet", "any", "any", "tcp/443", 0);
	fx_rule(p, "rest", ACT_DENY, "lgwan", "internet", "any", "any", "any", POLICY_RULE_LOG);
	run(p, 0, &r);
	CHECK(r.rep.nredundant == 0 && !warned(&r, 2, "redundant"));
	done(&r, "final logged deny");
	policy_free(p);
	p = zones();
	fx_rule(p, "web", ACT_ALLOW, "lgwan", "internet", "any", "any", "tcp/443", 0);
	fx_rule(p, "rest", ACT_DENY, "lgwan", "internet", "any", "any", "any", 0);
	run(p, 0, &r);
	CHECK(r.rep.nredundant == 1 && warned(&r, 2, "redundant"));
	done(&r, "final deny");
	int l = policy_zone_find(p, "lgwan"), in = policy_zone_find(p, "internet");
	p->default_action[l][in] = ACT_REJECT;
	run(p, 0, &r);
	CHECK(r.rep.nredundant == 0 && !fx_diag_find(&r.d, "redundant"));
	done(&r, "final deny, default reject");
	policy_free(p);

	/* redundant in one zone pair, needed in another */
	p = zones();
	fx_rule(p, "web", ACT_ALLOW, "lgwan,dmz", "internet", "any", "any", "tcp/443", 0);
	fx_rule(p, "lgwan web", ACT_ALLOW, "lgwan", "internet", "any", "any", "tcp/443", 0);
	fx_rule(p, "dmz no web", ACT_DENY, "dmz", "internet", "any", "any", "tcp/443", 0);
	run(p, 0, &r);
	CHECK(!warned(&r, 1, "redundant"));
	CHECK(warned(&r, 2, "can never match") && warned(&r, 3, "can never match"));
	done(&r, "pairs");
	policy_free(p);
}

static void test_budget(void)
{
	struct policy *p = zones();
	char dst[32];
	for (int i = 0; i < 50; i++) {
		snprintf(dst, sizeof dst, "192.0.2.%d", i);
		fx_rule(p, "host", ACT_ALLOW, "lgwan", "internet", "any", dst, "tcp/443", 0);
	}
	fx_rule(p, "all web", ACT_ALLOW, "lgwan", "internet", "any", "any", "tcp/443", 0);
	struct run r;
	run(p, 200, &r);
	CHECK(r.rc == 0 && r.d.nerrors == 0); /* never an error */
	CHECK(!r.rep.reachability_complete);
	CHECK(fx_diag_count(&r.d, "the reachability analysis was cut short by the analysis budget (200 steps)") == 1);
	done(&r, "budget");
	/* with the default budget it completes: all 50 host rules are redundant */
	run(p, 0, &r);
	CHECK(r.rep.reachability_complete && r.rep.nredundant == 50 && r.rep.nunreachable == 0);
	done(&r, "no budget limit");
	policy_free(p);

	/* at any budget, a cut-short analysis warns only about what the full
	 * one warns about; some budget cuts only the redundancy pass */
	p = zones();
	for (int i = 0; i < 40; i++) {
		snprintf(dst, sizeof dst, "192.0.2.%d", i % 30);
		fx_rule(p, "host", i % 4 ? ACT_ALLOW : ACT_DENY, "lgwan", "internet", "any", dst, "tcp/443", 0);
	}
	fx_rule(p, "all web", ACT_ALLOW, "lgwan", "internet", "any", "any", "tcp/443", 0);
	struct run full;
	run(p, 0, &full);
	CHECK(full.rep.reachability_complete && full.rep.nunreachable == 10 && full.rep.nredundant > 0);
	bool pass2_cut = false;
	for (uint64_t budget = 1; budget < 100000; budget = budget * 5 / 4 + 1) {
		run(p, budget, &r);
		for (size_t i = 0; i < r.d.n; i++) {
			if (r.d.v[i].severity != DIAG_WARNING)
				continue;
			bool found = false;
			for (size_t j = 0; j < full.d.n && !found; j++)
				found = full.d.v[j].loc.line == r.d.v[i].loc.line &&
					!strcmp(full.d.v[j].message, r.d.v[i].message);
			CHECK(found);
		}
		if (fx_diag_find(&r.d, "every rule was checked for being unreachable")) {
			pass2_cut = true;
			CHECK(r.rep.nunreachable == full.rep.nunreachable && !r.rep.reachability_complete);
		}
		done(&r, "budgets");
	}
	CHECK(pass2_cut);
	done(&full, "full");
	policy_free(p);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A realistic large policy: host rules between four zones, a few wide
 * rules, logged My Number exceptions, relays, a final deny per pair. */
static void test_large(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "mynumber", TIER_MYNUMBER);
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_zone(p, "dmz", TIER_NONE);
	fx_isolate(p, "mynumber", 1);
	fx_sanitize(p, "lgwan", "internet", true, "198.51.100.25,2001:db8:25::25", false, "tcp/25", 2);
	char src[64], dst[64], svc[32];
	unsigned seed = 7;
	for (int i = 0; i < 10000; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned x = seed >> 8;
		snprintf(svc, sizeof svc, "tcp/%u", 1000 + x % 3000);
		switch (i % 10) {
		case 0: /* My Number exception */
			snprintf(src, sizeof src, "10.1.%u.%u", x % 200, (x >> 8) % 250 + 1);
			snprintf(dst, sizeof dst, "10.2.%u.%u", (x >> 4) % 200, (x >> 12) % 250 + 1);
			fx_rule(p, "mn exc", ACT_ALLOW, "mynumber", "lgwan", src, dst, svc,
				POLICY_RULE_SRC_HOSTS | POLICY_RULE_DST_HOSTS | POLICY_RULE_SVC_EXPLICIT |
					POLICY_RULE_LOG);
			break;
		case 1: /* mail to the relay */
			snprintf(src, sizeof src, "10.2.%u.0/24", x % 200);
			fx_rule(p, "mail", ACT_ALLOW, "lgwan", "internet", src, "198.51.100.25", "tcp/25", 0);
			break;
		case 2:
			snprintf(src, sizeof src, "2001:db8:2:%x::/64", x % 4000);
			snprintf(dst, sizeof dst, "2001:db8:3:%x::%x", (x >> 4) % 4000, (x >> 10) % 4000 + 1);
			fx_rule(p, "v6 dmz", ACT_ALLOW, "lgwan", "dmz", src, dst, svc, 0);
			break;
		case 3:
			snprintf(dst, sizeof dst, "10.3.%u.%u", x % 200, (x >> 8) % 250 + 1);
			fx_rule(p, "deny host", ACT_DENY, "dmz", "internet,lgwan", "any", dst, "any", POLICY_RULE_LOG);
			break;
		default:
			snprintf(src, sizeof src, "10.2.%u.%u", x % 200, (x >> 8) % 250 + 1);
			snprintf(dst, sizeof dst, "10.3.%u.%u-10.3.%u.255", (x >> 4) % 200, (x >> 12) % 250 + 1,
				 (x >> 4) % 200);
			fx_rule(p, "dmz host", i % 7 ? ACT_ALLOW : ACT_REJECT, "lgwan,internet", "dmz", src, dst, svc,
				0);
			break;
		}
	}
	fx_rule(p, "dmz web", ACT_ALLOW, "dmz", "internet", "10.3.0.0/16", "any", "tcp/80,tcp/443", 0);
	fx_rule(p, "rest", ACT_DENY, "any", "any", "any", "any", "any", POLICY_RULE_LOG);
	struct run r;
	double t0 = now();
	run(p, 0, &r);
	double t1 = now();
	printf("prove with reachability, %u rules: %.2f s, %zu warnings, reachability %s\n", p->nrules, t1 - t0,
	       r.d.nwarnings, r.rep.reachability_complete ? "complete" : "cut short");
	CHECK(r.rc == 0 && r.d.nerrors == 0);
	CHECK(r.rep.reachability_complete);
	CHECK(r.rep.inv[0].status == PROVE_PROVEN && r.rep.inv[0].nexceptions > 900);
	CHECK(r.rep.inv[1].status == PROVE_PROVEN && r.rep.inv[1].nexceptions > 100);
	done(&r, "large");

	/* one leak at the very end is still found */
	fx_rule(p, "leak", ACT_ALLOW, "lgwan", "internet", "10.2.0.0/16", "any", "tcp/443", 0);
	struct policy_rule tmp = p->rules[p->nrules - 1];
	p->rules[p->nrules - 1] = p->rules[p->nrules - 2];
	p->rules[p->nrules - 2] = tmp;
	t0 = now();
	struct prove_options o = {.reachability = false};
	memset(&r, 0, sizeof r);
	policy_diag_init(&r.d);
	r.rc = policy_prove(p, &o, &r.d, &r.rep);
	printf("prove without reachability, %u rules: %.2f s\n", p->nrules, now() - t0);
	CHECK(r.rc == -EPERM && r.d.nerrors == 1 && fx_diag_find(&r.d, "\"leak\" allows lgwan -> internet tcp"));
	done(&r, "large leak");
	policy_free(p);
}

int main(void)
{
	test_unreachable_union();
	test_redundant();
	test_budget();
	test_large();
	return check_done();
}
