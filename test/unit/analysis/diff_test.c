/* diff_test: the semantic diff.  Identical policies (also written
 * differently) show no change; added and removed rules, a changed action, a
 * changed default, zones added and removed, IPv6.  Every example packet is
 * run through policy_first_match on both policies: the old and new deciding
 * rules and actions must be the ones reported. */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "fixture.h"
#include "rules/policy_diff.h"
#include "test/check.h"

static struct policy *zones3(void)
{
	struct policy *p = fx_policy();
	fx_zone(p, "lgwan", TIER_LGWAN);
	fx_zone(p, "internet", TIER_INTERNET);
	fx_zone(p, "dmz", TIER_NONE);
	return p;
}

static uint8_t decision(const struct policy *p, long rule, const struct policy_packet *k)
{
	return rule < 0 ? (p->default_action[k->from_zone][k->to_zone] == ACT_REJECT ? ACT_REJECT : ACT_DENY)
			: (uint8_t)p->rules[rule].action;
}

/* Each example: the old and new first matches and actions are as reported. */
static size_t verify(const struct policy *old, const struct policy *new, const struct diff_result *r)
{
	size_t bad = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct diff_change *c = &r->v[i];
		struct policy_packet kn = c->example, ko = c->example;
		int of = policy_zone_find(old, new->zones[kn.from_zone].name);
		int ot = policy_zone_find(old, new->zones[kn.to_zone].name);
		if (of < 0 || ot < 0 || strcmp(c->from_zone, new->zones[kn.from_zone].name) ||
		    strcmp(c->to_zone, new->zones[kn.to_zone].name)) {
			bad++;
			continue;
		}
		ko.from_zone = (uint8_t)of;
		ko.to_zone = (uint8_t)ot;
		long fo = policy_first_match(old, &ko), fn = policy_first_match(new, &kn);
		if (fo != c->old_rule || fn != c->new_rule || decision(old, fo, &ko) != c->old_action ||
		    decision(new, fn, &kn) != c->new_action || c->old_action == c->new_action) {
			fprintf(stderr, "example %zu: old %ld/%ld new %ld/%ld\n", i, fo, c->old_rule, fn, c->new_rule);
			bad++;
		}
	}
	return bad;
}

static char *render(const struct policy *old, const struct policy *new, const struct diff_result *r)
{
	struct strbuf sb = STRBUF_INIT;
	policy_diff_render(old, new, r, &sb);
	return strbuf_steal(&sb);
}

static void base_rules(struct policy *p)
{
	fx_rule(p, "mail", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/24", "203.0.113.25", "tcp/25", 0);
	fx_rule(p, "dns", ACT_ALLOW, "lgwan,dmz", "internet", "any", "any", "udp/53", 0);
	fx_rule(p, "no telnet", ACT_REJECT, "internet", "dmz", "any", "any", "tcp/23", 0);
	fx_rule(p, "web dmz", ACT_ALLOW, "internet", "dmz", "any", "192.0.2.0/24,2001:db8:80::/48", "tcp/80,tcp/443",
		0);
}

static void test_identical(void)
{
	struct policy *a = zones3(), *b = zones3();
	base_rules(a);
	base_rules(b);
	struct diff_result r;
	CHECK(policy_diff(a, b, 0, &r) == 0);
	CHECK(r.n == 0 && r.complete && r.nadded == 0 && r.nremoved == 0);
	char *s = render(a, b, &r);
	CHECK(!strcmp(s, "no change in what is allowed or denied\n"));
	free(s);
	policy_diff_free(&r);
	policy_free(b);

	/* the same decisions written differently: split rules, other zone order */
	b = fx_policy();
	fx_zone(b, "dmz", TIER_NONE);
	fx_zone(b, "internet", TIER_INTERNET);
	fx_zone(b, "lgwan", TIER_LGWAN);
	fx_rule(b, "mail", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/25", "203.0.113.25", "tcp/25", 0);
	fx_rule(b, "mail2", ACT_ALLOW, "lgwan", "internet", "198.18.20.128/25", "203.0.113.25", "tcp/25", 0);
	fx_rule(b, "dns", ACT_ALLOW, "dmz", "internet", "any", "any", "udp/53", 0);
	fx_rule(b, "dns", ACT_ALLOW, "lgwan", "internet", "any", "any", "udp/53", 0);
	fx_rule(b, "no telnet", ACT_REJECT, "internet", "dmz", "any", "any", "tcp/23", 0);
	fx_rule(b, "web dmz", ACT_ALLOW, "internet", "dmz", "any", "192.0.2.0/24,2001:db8:80::/48", "tcp/80,tcp/443",
		0);
	fx_rule(b, "shadowed", ACT_ALLOW, "internet", "dmz", "any", "any", "tcp/23", 0);
	CHECK(policy_diff(a, b, 0, &r) == 0);
	CHECK(r.n == 0 && r.complete);
	policy_diff_free(&r);
	policy_free(a);
	policy_free(b);
}

static void test_added_removed(void)
{
	struct policy *a = zones3(), *b = zones3();
	base_rules(a);
	base_rules(b);
	struct policy_rule *nr = fx_rule(b, "web via proxy", ACT_ALLOW, "lgwan", "internet", "198.18.20.5",
					 "203.0.113.0/24", "tcp/443", 0);
	(void)nr;
	struct diff_result r;
	CHECK(policy_diff(a, b, 0, &r) == 0);
	CHECK(r.n == 1 && verify(a, b, &r) == 0);
	if (r.n == 1) {
		CHECK(r.v[0].old_rule == -1 && r.v[0].new_rule == 4 && r.v[0].old_action == ACT_DENY &&
		      r.v[0].new_action == ACT_ALLOW && !strcmp(r.v[0].from_zone, "lgwan"));
		char *s = render(a, b, &r);
		CHECK(!strcmp(s,
			      "lgwan -> internet\n"
			      "  deny -> allow  tcp 198.18.20.5:0 -> 203.0.113.0:443\n"
			      "      was: default deny\n"
			      "      now: rule 5 \"web via proxy\" (test.policy:50)\n"));
		free(s);
	}
	policy_diff_free(&r);

	/* and back: the rule removed */
	CHECK(policy_diff(b, a, 0, &r) == 0);
	CHECK(r.n == 1 && verify(b, a, &r) == 0);
	if (r.n == 1)
		CHECK(r.v[0].old_rule == 4 && r.v[0].new_rule == -1 && r.v[0].old_action == ACT_ALLOW &&
		      r.v[0].new_action == ACT_DENY);
	policy_diff_free(&r);
	policy_free(a);
	policy_free(b);

	/* a rule inserted in front takes part of a later rule's traffic */
	a = zones3();
	b = zones3();
	base_rules(a);
	fx_rule(b, "block one", ACT_DENY, "lgwan", "internet", "198.18.20.66", "any", "any", 0);
	base_rules(b);
	CHECK(policy_diff(a, b, 0, &r) == 0);
	/* mail (tcp/25) and dns (udp/53) from .66 now denied: two examples */
	CHECK(r.n == 2 && verify(a, b, &r) == 0);
	char *s = render(a, b, &r);
	CHECK(strstr(s, "  allow -> deny  tcp 198.18.20.66:0 -> 203.0.113.25:25\n") &&
	      strstr(s, "      was: rule 1 \"mail\" (test.policy:10)\n") &&
	      strstr(s, "      now: rule 1 \"block one\" (test.policy:10)\n"));
	CHECK(strstr(s, "allow -> deny  udp 198.18.20.66:0 -> "));
	free(s);
	policy_diff_free(&r);
	policy_free(a);
	policy_free(b);
}

static void test_action_and_default(void)
{
	struct policy *a = zones3(), *b = zones3();
	base_rules(a);
	base_rules(b);
	b->rules[2].action = ACT_DENY; /* no telnet: reject -> deny */
	int in = policy_zone_find(b, "internet"), l = policy_zone_find(b, "lgwan");
	b->default_action[in][l] = ACT_REJECT;
	b->default_loc[in][l] = (struct policy_loc){b->files[0], 7, 1, 7};
	struct diff_result r;
	CHECK(policy_diff(a, b, 0, &r) == 0);
	CHECK(r.n == 2 && verify(a, b, &r) == 0);
	char *s = render(a, b, &r);
	CHECK(strstr(s,
		     "internet -> dmz\n  reject -> deny  tcp 0.0.0.0:0 -> 0.0.0.0:23\n"
		     "      was: rule 3 \"no telnet\" (test.policy:30)\n"
		     "      now: rule 3 \"no telnet\" (test.policy:30)\n"));
	CHECK(strstr(s, "internet -> lgwan\n  deny -> reject  ") &&
	      strstr(s, "      was: default deny\n      now: default reject (test.policy:7)\n"));
	free(s);
	policy_diff_free(&r);
	policy_free(a);
	policy_free(b);
}

static void test_zones_and_v6(void)
{
	struct policy *a = zones3(), *b = fx_policy();
	base_rules(a);
	fx_zone(b, "internet", TIER_INTERNET);
	fx_zone(b, "lgwan", TIER_LGWAN);
	fx_zone(b, "mgmt", TIER_NONE);
	fx_rule(b, "mail", ACT_ALLOW, "lgwan", "internet", "198.18.20.0/24", "203.0.113.25", "tcp/25", 0);
	fx_rule(b, "dns", ACT_ALLOW, "lgwan", "internet", "any", "any", "udp/53", 0);
	fx_rule(b, "v6 web", ACT_ALLOW, "lgwan", "internet", "2001:db8:20::/48", "any", "tcp/443", 0);
	fx_rule(b, "mgmt", ACT_ALLOW, "mgmt", "self", "any", "any", "tcp/22", 0);
	struct diff_result r;
	CHECK(policy_diff(a, b, 0, &r) == 0);
	CHECK(r.nadded == 1 && !strcmp(r.zones_added[0], "mgmt"));
	CHECK(r.nremoved == 1 && !strcmp(r.zones_removed[0], "dmz"));
	CHECK(r.n == 1 && verify(a, b, &r) == 0);
	if (r.n == 1)
		CHECK(r.v[0].example.family == 6 && r.v[0].new_rule == 2 && r.v[0].old_rule == -1);
	char *s = render(a, b, &r);
	CHECK(strstr(s, "zones added: mgmt (traffic to or from them is not compared)\n"));
	CHECK(strstr(s, "zones removed: dmz (traffic to or from them is not compared)\n"));
	CHECK(strstr(s, "lgwan -> internet\n  deny -> allow  tcp [2001:db8:20::]:0 -> [::]:443\n"));
	free(s);
	policy_diff_free(&r);
	policy_free(a);
	policy_free(b);
}

/* Many rules; random edits; every example checks out; small budgets stop early. */
static void test_random_and_budget(void)
{
	unsigned seed = 99;
	struct policy *a = zones3(), *b = zones3();
	char dst[64], svc[32];
	for (int i = 0; i < 400; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned x = seed >> 8;
		unsigned len = 22 + (x >> 8) % 3;
		snprintf(dst, sizeof dst, "10.%u.%u.0/%u", x % 4, ((x >> 4) % 8) & ~((1u << (24 - len)) - 1), len);
		snprintf(svc, sizeof svc, "tcp/%u-%u", (x >> 12) % 20, 20 + (x >> 12) % 20);
		enum table_action act = (x >> 16) % 3 ? ACT_ALLOW : ((x >> 18) % 2 ? ACT_DENY : ACT_REJECT);
		const char *from = (x >> 20) % 2 ? "lgwan" : "lgwan,dmz";
		fx_rule(a, "r", act, from, "internet", "any", dst, svc, 0);
		if ((x >> 22) % 20 == 0)
			act = act == ACT_ALLOW ? ACT_DENY : ACT_ALLOW; /* an edit */
		if ((x >> 21) % 50 != 0)                               /* or a deletion */
			fx_rule(b, "r", act, from, "internet", "any", dst, svc, 0);
	}
	struct diff_result r;
	CHECK(policy_diff(a, b, 0, &r) == 0);
	CHECK(r.complete && r.n > 0 && verify(a, b, &r) == 0);
	printf("random diff: %zu changes\n", r.n);
	policy_diff_free(&r);

	CHECK(policy_diff(a, b, 100, &r) == 0);
	CHECK(!r.complete && verify(a, b, &r) == 0);
	char *s = render(a, b, &r);
	CHECK(strstr(s, "budget ran out"));
	free(s);
	policy_diff_free(&r);
	policy_free(a);
	policy_free(b);
}

int main(void)
{
	test_identical();
	test_added_removed();
	test_action_and_default();
	test_zones_and_v6();
	test_random_and_budget();
	return check_done();
}
