/* prove_test: the three-tier invariants, proven and violated, IPv4 and
 * IPv6.  Every counterexample printed is read back and run through
 * policy_first_match: its first match must be the rule named and allow. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "fixture.h"
#include "rules/policy_prove.h"
#include "test/check.h"

enum { HOSTS = POLICY_RULE_SRC_HOSTS | POLICY_RULE_DST_HOSTS | POLICY_RULE_SVC_EXPLICIT };
enum { EXC = HOSTS | POLICY_RULE_LOG };

/* mynumber, lgwan, internet; isolate mynumber (line 3); sanitize
 * lgwan <-> internet via two relays (IPv4 and IPv6) service smtp (line 4). */
static struct policy *base(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "mynumber", TIER_MYNUMBER);
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_isolate(p, "mynumber", 3);
	fx_sanitize(p, "lgwan", "internet", true, "203.0.113.25,198.18.20.25,2001:db8:25::25", false, "tcp/25", 4);
	return p;
}

struct run {
	int rc;
	struct prove_report rep;
	struct diag d;
	size_t verified; /* counterexamples checked by first match */
	size_t bad;      /* counterexamples that did not check out */
};

/* Every "violated" error: rule N ... allows PACKET; PACKET's first match is rule N, an allow. */
static void verify(const struct policy *p, struct run *r)
{
	for (size_t i = 0; i < r->d.n; i++) {
		const char *m = r->d.v[i].message;
		const char *v = strstr(m, "violated: rule ");
		if (!v)
			continue;
		unsigned id = (unsigned)strtoul(v + strlen("violated: rule "), NULL, 10);
		const char *a = strstr(m, " allows ");
		struct policy_packet pkt;
		if (!a || !fx_packet_parse(p, a + strlen(" allows "), &pkt)) {
			fprintf(stderr, "unparsable counterexample: %s\n", m);
			r->bad++;
			continue;
		}
		long fm = policy_first_match(p, &pkt);
		if (fm < 0 || p->rules[fm].id != id || p->rules[fm].action != ACT_ALLOW ||
		    r->d.v[i].severity != DIAG_ERROR || r->d.v[i].loc.line != p->rules[fm].loc.line) {
			fprintf(stderr, "counterexample not decided by rule %u (first match %ld): %s\n", id, fm, m);
			r->bad++;
			continue;
		}
		r->verified++;
	}
}

static void run(const struct policy *p, uint64_t budget, struct run *r)
{
	memset(r, 0, sizeof *r);
	policy_diag_init(&r->d);
	struct prove_options o = {.budget = budget, .reachability = false};
	r->rc = policy_prove(p, &o, &r->d, &r->rep);
	verify(p, r);
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

static bool has_exception(const struct prove_invariant *inv, uint32_t id)
{
	for (uint32_t i = 0; i < inv->nexceptions; i++)
		if (inv->exception_ids[i] == id)
			return true;
	return false;
}

static void test_proven_v4_v6(void)
{
	struct policy *p = base();
	fx_rule(p, "mail out", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/24", "203.0.113.25", "tcp/25", 0);
	fx_rule(p, "mail in", ACT_ALLOW, "internet", "lgwan", "any", "198.18.20.25", "tcp/25", 0);
	fx_rule(p, "mail out v6", ACT_ALLOW, "lgwan", "internet", "2001:db8:20::/48", "2001:db8:25::25", "tcp/25",
		POLICY_RULE_LOG);
	fx_rule(p, "inside", ACT_ALLOW, "lgwan", "lgwan", "any", "any", "any", 0);
	fx_rule(p, "juki", ACT_ALLOW, "mynumber", "lgwan", "10.1.0.5", "198.18.20.80", "tcp/443", EXC);
	fx_rule(p, "juki v6", ACT_ALLOW, "lgwan", "mynumber", "2001:db8:20::8", "2001:db8:1::5", "tcp/443", EXC);
	fx_rule(p, "mn inside", ACT_ALLOW, "mynumber", "mynumber", "any", "any", "any", 0);
	fx_rule(p, "rest", ACT_DENY, "any", "any", "any", "any", "any", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == 0);
	CHECK(r.d.nerrors == 0);
	CHECK(r.rep.ninvariants == 2);
	CHECK(r.rep.inv[0].status == PROVE_PROVEN && !strcmp(r.rep.inv[0].text, "isolate mynumber"));
	CHECK(r.rep.inv[0].nexceptions == 2 && has_exception(&r.rep.inv[0], 5) && has_exception(&r.rep.inv[0], 6));
	CHECK(r.rep.inv[1].status == PROVE_PROVEN && r.rep.inv[1].counterexample == NULL);
	CHECK(r.rep.inv[1].nexceptions == 3 && has_exception(&r.rep.inv[1], 1) && has_exception(&r.rep.inv[1], 2) &&
	      has_exception(&r.rep.inv[1], 3));
	done(&r, "proven");
	policy_free(p);
}

static void test_violated_v4(void)
{
	struct policy *p = base();
	fx_rule(p, "mail out", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/24", "203.0.113.25", "tcp/25", 0);
	fx_rule(p, "web direct", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/24", "any", "tcp/80", 0);
	fx_rule(p, "rest", ACT_DENY, "any", "any", "any", "any", "any", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == -EPERM);
	CHECK(r.d.nerrors == 1 && r.verified == 1 && r.bad == 0);
	const char *m = fx_diag_find(&r.d, "violated");
	CHECK(m &&
	      !strcmp(m,
		      "invariant 'sanitize lgwan <-> internet via 203.0.113.25,198.18.20.25,2001:db8:25::25' "
		      "violated: rule 2 \"web direct\" allows lgwan -> internet tcp 198.18.20.0:0 -> 0.0.0.0:80"));
	/* the note points at the declaration */
	CHECK(r.d.n >= 2 && r.d.v[1].severity == DIAG_NOTE && r.d.v[1].loc.line == 4 &&
	      strstr(r.d.v[1].message, "invariant declared here"));
	CHECK(r.rep.inv[0].status == PROVE_PROVEN);
	CHECK(r.rep.inv[1].status == PROVE_VIOLATED && r.rep.inv[1].counterexample &&
	      strstr(r.rep.inv[1].counterexample, "rule 2 \"web direct\" allows lgwan -> internet tcp"));
	CHECK(r.rep.inv[1].nexceptions == 1 && r.rep.inv[1].exception_ids[0] == 1);
	done(&r, "violated v4");
	policy_free(p);
}

static void test_violated_v6(void)
{
	struct policy *p = base();
	fx_rule(p, "relay v6", ACT_ALLOW, "lgwan", "internet", "2001:db8:20::/48", "2001:db8:25::25", "tcp/25", 0);
	fx_rule(p, "https v6", ACT_ALLOW, "lgwan", "internet", "2001:db8:20::/48", "2001:db8:25::/64", "tcp/25,tcp/443",
		0);
	fx_rule(p, "mn v6", ACT_ALLOW, "mynumber", "internet", "2001:db8:1::/64", "any", "udp/53", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == -EPERM);
	/* rule 2 breaks sanitize (tcp/25 to another host of the /64), rule 3 isolate */
	CHECK(r.d.nerrors == 2 && r.verified == 2 && r.bad == 0);
	CHECK(fx_diag_count(&r.d,
			    "rule 2 \"https v6\" allows lgwan -> internet tcp [2001:db8:20::]:0 -> [2001:db8:25::") ==
	      1);
	CHECK(fx_diag_count(
		      &r.d,
		      "invariant 'isolate mynumber' violated: rule 3 \"mn v6\" allows mynumber -> internet udp [2001:db8:1::]:0 -> [::]:53") ==
	      1);
	CHECK(r.rep.inv[0].status == PROVE_VIOLATED && r.rep.inv[1].status == PROVE_VIOLATED);
	done(&r, "violated v6");
	policy_free(p);
}

/* Counterexamples prefer addresses inside the zones' networks, but a
 * violation only outside them (a spoofed source) is still one. */
static void test_zone_networks(void)
{
	struct policy *p = base();
	int l = policy_zone_find(p, "lgwan");
	policy_addr_set_free(&p->zones[l].nets);
	p->zones[l].nets = fx_addrs("198.18.20.0/24,2001:db8:20::/48");
	fx_rule(p, "web", ACT_ALLOW, "lgwan", "internet", "any", "any", "tcp/80", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.verified == 1 &&
	      fx_diag_find(&r.d, "allows lgwan -> internet tcp 198.18.20.0:0 -> 0.0.0.0:80"));
	done(&r, "zone networks");
	policy_free(p);

	p = base();
	l = policy_zone_find(p, "lgwan");
	policy_addr_set_free(&p->zones[l].nets);
	p->zones[l].nets = fx_addrs("198.18.20.0/24,2001:db8:20::/48");
	fx_rule(p, "own nets", ACT_DENY, "lgwan", "internet", "198.18.20.0/24,2001:db8:20::/48", "any", "any", 0);
	fx_rule(p, "web", ACT_ALLOW, "lgwan", "internet", "any", "any", "tcp/80", 0);
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.verified == 1 &&
	      fx_diag_find(&r.d, "allows lgwan -> internet tcp 0.0.0.0:0 -> 0.0.0.0:80"));
	done(&r, "spoofed source");
	policy_free(p);
}

static void test_shadowed(void)
{
	/* a broad allow behind a deny that takes every crossing packet */
	struct policy *p = base();
	fx_rule(p, "no crossing", ACT_DENY, "lgwan,mynumber", "internet", "any", "any", "any", 0);
	fx_rule(p, "no crossing back", ACT_REJECT, "internet", "lgwan,mynumber", "any", "any", "any", 0);
	fx_rule(p, "mn out", ACT_DENY, "mynumber", "lgwan,self", "any", "any", "any", 0);
	fx_rule(p, "mn in", ACT_DENY, "lgwan,self", "mynumber", "any", "any", "any", 0);
	fx_rule(p, "not to box", ACT_DENY, "lgwan,internet", "self", "any", "any", "any", 0);
	fx_rule(p, "broad", ACT_ALLOW, "any", "any", "any", "any", "any", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == 0 && r.d.nerrors == 0);
	CHECK(r.rep.inv[0].status == PROVE_PROVEN && r.rep.inv[1].status == PROVE_PROVEN);
	done(&r, "shadowed");
	policy_free(p);

	/* the same deny for tcp only: the broad allow now leaks, and the
	 * counterexample is a packet the deny does not take */
	p = base();
	fx_rule(p, "no tcp", ACT_DENY, "lgwan", "internet", "any", "any", "tcp", 0);
	fx_rule(p, "broad", ACT_ALLOW, "lgwan", "internet", "any", "any", "any", 0);
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 1 && r.verified == 1);
	const char *m = fx_diag_find(&r.d, "violated");
	CHECK(m && strstr(m, "rule 2 \"broad\" allows lgwan -> internet udp "));
	done(&r, "partly shadowed");
	policy_free(p);

	/* shadowed only by the union of two denies (IPv4 and IPv6 halves) */
	p = base();
	fx_rule(p, "low", ACT_DENY, "lgwan", "internet", "any", "0.0.0.0/1,::/1", "any", 0);
	fx_rule(p, "high", ACT_DENY, "lgwan", "internet", "any", "128.0.0.0/1,8000::/1", "any", 0);
	fx_rule(p, "broad", ACT_ALLOW, "lgwan", "internet", "any", "any", "any", 0);
	run(p, 0, &r);
	CHECK(r.rc == 0 && r.d.nerrors == 0);
	done(&r, "union shadow");
	policy_free(p);
}

static void test_exceptions(void)
{
	/* conforming: single hosts, explicit service, logged */
	struct policy *p = base();
	fx_rule(p, "juki", ACT_ALLOW, "mynumber", "lgwan", "10.1.0.5", "198.18.20.80", "tcp/443", EXC);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == 0 && r.rep.inv[0].nexceptions == 1 && r.rep.inv[0].exception_ids[0] == 1);
	done(&r, "exception");
	policy_free(p);

	/* the same without log: refused, and the note says why */
	p = base();
	fx_rule(p, "juki", ACT_ALLOW, "mynumber", "lgwan", "10.1.0.5", "198.18.20.80", "tcp/443", HOSTS);
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 1 && r.verified == 1);
	CHECK(fx_diag_find(&r.d,
			   "invariant 'isolate mynumber' violated: rule 1 \"juki\" allows mynumber -> lgwan "
			   "tcp 10.1.0.5:0 -> 198.18.20.80:443"));
	CHECK(fx_diag_find(&r.d, "it does not log") && !fx_diag_find(&r.d, "not single hosts"));
	CHECK(r.rep.inv[0].status == PROVE_VIOLATED && r.rep.inv[0].nexceptions == 0);
	done(&r, "unlogged exception");
	policy_free(p);

	/* a subnet source and any service, logged: refused, both reasons given */
	p = base();
	fx_rule(p, "wide", ACT_ALLOW, "lgwan", "mynumber", "198.18.20.0/24", "10.1.0.5", "any",
		POLICY_RULE_DST_HOSTS | POLICY_RULE_LOG);
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.verified == 1);
	CHECK(fx_diag_find(&r.d, "its source is not single hosts, it names no explicit service"));
	done(&r, "wide exception");
	policy_free(p);

	/* isolation also covers the appliance itself */
	p = base();
	fx_rule(p, "ssh to box", ACT_ALLOW, "mynumber", "self", "10.1.0.0/24", "any", "tcp/22", 0);
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.verified == 1 && fx_diag_find(&r.d, "allows mynumber -> self tcp"));
	done(&r, "isolate self");
	policy_free(p);
}

static void test_relays(void)
{
	struct policy *p = base();
	fx_rule(p, "relay", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/24", "203.0.113.25", "tcp/25", 0);
	fx_rule(p, "relay web", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/24", "203.0.113.25", "tcp/80", 0);
	fx_rule(p, "direct mail", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/24", "203.0.113.26", "tcp/25", 0);
	fx_rule(p, "back", ACT_ALLOW, "internet", "lgwan", "any", "198.18.20.25", "tcp/25", 0);
	fx_rule(p, "back web", ACT_ALLOW, "internet", "lgwan", "any", "198.18.20.25", "tcp/443", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 3 && r.verified == 3 && r.bad == 0);
	CHECK(fx_diag_find(&r.d, "rule 2 \"relay web\" allows lgwan -> internet tcp 198.18.20.0:0 -> 203.0.113.25:80"));
	CHECK(fx_diag_find(&r.d,
			   "rule 3 \"direct mail\" allows lgwan -> internet tcp 198.18.20.0:0 -> 203.0.113.26:25"));
	CHECK(fx_diag_find(&r.d, "rule 5 \"back web\" allows internet -> lgwan tcp 0.0.0.0:0 -> 198.18.20.25:443"));
	CHECK(r.rep.inv[1].nexceptions == 2 && has_exception(&r.rep.inv[1], 1) && has_exception(&r.rep.inv[1], 4));
	done(&r, "relays");
	policy_free(p);

	/* one way: the relay permits lgwan -> internet only; the direct path
	 * internet -> lgwan is still forbidden, with no relay at all */
	p = fx_policy();
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_sanitize(p, "lgwan", "internet", false, "203.0.113.25", false, "tcp/25", 2);
	fx_rule(p, "in", ACT_ALLOW, "internet", "lgwan", "any", "any", "any", 0);
	fx_rule(p, "out", ACT_ALLOW, "lgwan", "internet", "any", "any", "any", 0);
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 2 && r.verified == 2 && fx_diag_find(&r.d, "rule 2 \"out\"") &&
	      fx_diag_find(&r.d, "rule 1 \"in\" allows internet -> lgwan"));
	done(&r, "one way");
	policy_free(p);
}

static void test_self(void)
{
	/* the relay runs on the appliance: lgwan -> self smtp is fine, ssh is not */
	struct policy *p = fx_policy();
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_sanitize(p, "lgwan", "internet", true, "", true, "tcp/25", 2);
	fx_rule(p, "smtp to relay", ACT_ALLOW, "lgwan,internet", "self", "any", "any", "tcp/25", 0);
	fx_rule(p, "ssh to box", ACT_ALLOW, "lgwan", "self", "198.18.20.0/24", "any", "tcp/22", 0);
	fx_rule(p, "relay out", ACT_ALLOW, "self", "internet", "any", "any", "tcp/25", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 1 && r.verified == 1);
	CHECK(fx_diag_find(&r.d, "rule 2 \"ssh to box\" allows lgwan -> self tcp 198.18.20.0:0 -> 0.0.0.0:22"));
	CHECK(r.rep.inv[0].nexceptions == 1 && r.rep.inv[0].exception_ids[0] == 1);
	done(&r, "self relay");
	policy_free(p);

	/* no relay on the appliance: even smtp to self is a crossing point */
	p = fx_policy();
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_sanitize(p, "lgwan", "internet", true, "203.0.113.25", false, "tcp/25", 2);
	fx_rule(p, "smtp to box", ACT_ALLOW, "internet", "self", "any", "any", "tcp/25", 0);
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 1 && r.verified == 1 &&
	      fx_diag_find(&r.d, "rule 1 \"smtp to box\" allows internet -> self tcp 0.0.0.0:0 -> 0.0.0.0:25"));
	done(&r, "no self relay");
	policy_free(p);
}

/* Two statements for the same zones: their relays are permitted together;
 * a crossing outside both is reported once, by the first statement. */
static void test_combined(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_sanitize(p, "internet", "lgwan", true, "", true, "tcp/25", 2);                 /* mail relay on the box */
	fx_sanitize(p, "lgwan", "internet", false, "198.18.30.50", false, "tcp/3389", 3); /* screen transfer */
	fx_rule(p, "mail in", ACT_ALLOW, "internet", "self", "any", "any", "tcp/25", POLICY_RULE_LOG);
	fx_rule(p, "mail out", ACT_ALLOW, "lgwan", "self", "198.18.20.25", "any", "tcp/25", POLICY_RULE_LOG);
	fx_rule(p, "vdi", ACT_ALLOW, "lgwan", "internet", "198.18.20.128/25", "198.18.30.50", "tcp/3389", 0);
	fx_rule(p, "relay out", ACT_ALLOW, "self", "internet", "any", "any", "tcp/25", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == 0 && r.d.nerrors == 0);
	CHECK(r.rep.inv[0].status == PROVE_PROVEN && r.rep.inv[1].status == PROVE_PROVEN);
	CHECK(r.rep.inv[0].nexceptions == 2 && has_exception(&r.rep.inv[0], 1) && has_exception(&r.rep.inv[0], 2));
	CHECK(r.rep.inv[1].nexceptions == 1 && has_exception(&r.rep.inv[1], 3));
	done(&r, "combined");

	/* screen transfer to the mail service is neither statement's relay */
	fx_rule(p, "vdi smtp", ACT_ALLOW, "lgwan", "internet", "198.18.20.128/25", "198.18.30.50", "tcp/25", 0);
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 1 && r.verified == 1);
	CHECK(fx_diag_find(&r.d,
			   "invariant 'sanitize internet <-> lgwan via self' violated: rule 5 \"vdi smtp\" allows "
			   "lgwan -> internet tcp 198.18.20.128:0 -> 198.18.30.50:25"));
	CHECK(fx_diag_find(&r.d,
			   "invariant declared here; the relays of these statements were permitted too: "
			   "'sanitize lgwan -> internet via 198.18.30.50'"));
	CHECK(r.rep.inv[0].status == PROVE_VIOLATED && r.rep.inv[1].status == PROVE_VIOLATED);
	CHECK(r.rep.inv[1].counterexample && strstr(r.rep.inv[1].counterexample, "rule 5 \"vdi smtp\""));
	done(&r, "combined violated");
	policy_free(p);
}

static void test_implicit_and_budget(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "mynumber", TIER_MYNUMBER);
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_isolate(p, "mynumber", 0);
	fx_sanitize(p, "lgwan", "internet", true, "", false, "any", 0);
	fx_rule(p, "anything", ACT_ALLOW, "any", "any", "any", "any", "any", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 2 && r.verified == 2);
	/* notes without a place that say what the standard invariant is */
	size_t placeless = 0;
	for (size_t i = 0; i < r.d.n; i++)
		placeless += r.d.v[i].severity == DIAG_NOTE && !r.d.v[i].loc.file &&
			strstr(r.d.v[i].message, "standard three-tier invariant");
	CHECK(placeless == 2);
	CHECK(fx_diag_find(&r.d, "sanitize A <-> B via RELAY service SERVICE"));
	CHECK(r.rep.inv[0].implicit && r.rep.inv[1].implicit);
	done(&r, "implicit");

	policy_free(p);

	/* too small a budget: refused, never guessed */
	p = fx_policy();
	fx_zone(p, "mynumber", TIER_MYNUMBER);
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_isolate(p, "mynumber", 0);
	fx_sanitize(p, "lgwan", "internet", true, "", false, "any", 0);
	char dst[32];
	for (int i = 0; i < 20; i++) {
		snprintf(dst, sizeof dst, "192.0.2.%d", i);
		fx_rule(p, "host", ACT_DENY, "any", "any", "any", dst, "any", 0);
	}
	fx_rule(p, "anything", ACT_ALLOW, "any", "any", "any", "any", "any", 0);
	run(p, 3, &r);
	CHECK(r.rc == -EPERM);
	CHECK(r.rep.inv[0].status == PROVE_INCOMPLETE && r.rep.inv[1].status == PROVE_INCOMPLETE);
	CHECK(fx_diag_count(&r.d, "within the analysis budget (3 steps); the policy is refused") == 2);
	CHECK(fx_diag_find(&r.d, "could not prove invariant 'isolate mynumber'"));
	done(&r, "budget");
	policy_free(p);
}

/* A rule over many zone pairs, violating in one pair only. */
static void test_many_pairs(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "mynumber", TIER_MYNUMBER);
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	char name[16];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "dmz%d", i);
		fx_zone(p, name, TIER_NONE);
	}
	fx_isolate(p, "mynumber", 2);
	fx_rule(p, "mn out", ACT_DENY, "mynumber", "any", "any", "any", "any", 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "dmz%d", i);
		if (i != 13)
			fx_rule(p, "no mn", ACT_DENY, name, "mynumber", "any", "any", "any", 0);
	}
	fx_rule(p, "all", ACT_ALLOW, "any", "any", "any", "any", "any", 0);
	struct run r;
	run(p, 0, &r);
	CHECK(r.rc == -EPERM && r.d.nerrors == 1 && r.verified == 1);
	CHECK(fx_diag_find(&r.d, "allows dmz13 -> mynumber tcp") ||
	      fx_diag_find(&r.d, "allows lgwan -> mynumber tcp") ||
	      fx_diag_find(&r.d, "allows internet -> mynumber tcp") ||
	      fx_diag_find(&r.d, "allows self -> mynumber tcp"));
	done(&r, "many pairs");
	policy_free(p);
}

int main(void)
{
	test_proven_v4_v6();
	test_violated_v4();
	test_violated_v6();
	test_zone_networks();
	test_shadowed();
	test_exceptions();
	test_relays();
	test_self();
	test_combined();
	test_implicit_and_budget();
	test_many_pairs();
	return check_done();
}
