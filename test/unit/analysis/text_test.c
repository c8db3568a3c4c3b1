/* text_test: the analysis on policies written in the policy language
 * (through policy_load_buffer), end to end: a relay policy proves, a direct
 * crossing is refused with a counterexample that first-matches the rule,
 * the diff of the two names the change, and the shipped example policy
 * proves. */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "fixture.h"
#include "rules/policy_diff.h"
#include "rules/policy_load.h"
#include "rules/policy_prove.h"
#include "test/check.h"

static const char good[] = "policy \"t\" version \"1\"\n"
			   "zone mynumber tier mynumber interface eth1 network 198.18.10.0/24\n"
			   "zone lgwan tier lgwan interface eth2 network 198.18.20.0/24, 2001:db8:20::/48\n"
			   "zone internet tier internet interface eth3 network any\n"
			   "host relay 203.0.113.25, 198.18.20.26\n"
			   "host lg-mail 198.18.20.25, 2001:db8:20::25\n"
			   "host juki 198.18.10.30\n"
			   "service smtp tcp/25\n"
			   "service https tcp/443\n"
			   "isolate mynumber\n"
			   "sanitize lgwan <-> internet via relay service smtp\n"
			   "rule \"mail out\" allow lgwan [lg-mail] -> internet [relay] service smtp\n"
			   "rule \"mail in\" allow internet -> lgwan [relay] service smtp\n"
			   "rule \"juki\" allow mynumber [juki] -> lgwan [lg-mail] service https log\n";

static const char bad_extra[] = "rule \"web direct\" allow lgwan -> internet service https\n";

static struct policy *load(const char *name, const char *text, struct diag *d)
{
	struct policy_options o = {.today = "2026-01-01"};
	struct policy *p = NULL;
	int rc = policy_load_buffer(name, text, strlen(text), &o, d, &p);
	if (rc < 0) {
		fx_diag_dump(d);
		return NULL;
	}
	return p;
}

static void test_text(void)
{
	struct diag d;
	policy_diag_init(&d);
	struct policy *p = load("good.policy", good, &d);
	CHECK(p != NULL);
	if (!p) {
		policy_diag_free(&d);
		return;
	}
	struct prove_report rep;
	struct prove_options o = {.reachability = true};
	CHECK(policy_prove(p, &o, &d, &rep) == 0);
	CHECK(d.nerrors == 0 && rep.ninvariants == 2);
	for (uint32_t i = 0; i < rep.ninvariants; i++)
		CHECK(rep.inv[i].status == PROVE_PROVEN && rep.inv[i].nexceptions >= 1);
	policy_prove_report_free(&rep);
	policy_diag_free(&d);

	char *text = xasprintf("%s%s", good, bad_extra);
	policy_diag_init(&d);
	struct policy *q = load("bad.policy", text, &d);
	CHECK(q != NULL);
	if (q) {
		CHECK(policy_prove(q, &o, &d, &rep) < 0);
		const char *m = fx_diag_find(&d, "violated");
		CHECK(m &&
		      strstr(m,
			     "invariant 'sanitize lgwan <-> internet via relay service smtp' violated: "
			     "rule 4 \"web direct\" allows lgwan -> internet tcp 198.18.20.0:0 -> 0.0.0.0:443"));
		struct policy_packet pkt;
		const char *a = m ? strstr(m, " allows ") : NULL;
		CHECK(a && fx_packet_parse(q, a + strlen(" allows "), &pkt));
		if (a) {
			long fm = policy_first_match(q, &pkt);
			CHECK(fm >= 0 && q->rules[fm].id == 4 && q->rules[fm].action == ACT_ALLOW);
		}
		/* the error is at the rule's line, the note at the statement's */
		bool at_rule = false, at_stmt = false;
		for (size_t i = 0; i < d.n; i++) {
			at_rule |= d.v[i].severity == DIAG_ERROR && d.v[i].loc.line == 15;
			at_stmt |= d.v[i].severity == DIAG_NOTE && d.v[i].loc.line == 11;
		}
		CHECK(at_rule && at_stmt);
		policy_prove_report_free(&rep);

		struct diff_result r;
		CHECK(policy_diff(p, q, 0, &r) == 0);
		struct strbuf sb = STRBUF_INIT;
		policy_diff_render(p, q, &r, &sb);
		CHECK(strstr(strbuf_str(&sb),
			     "lgwan -> internet\n  deny -> allow  tcp 198.18.20.0:0 -> 0.0.0.0:443\n"
			     "      was: default deny\n"
			     "      now: rule 4 \"web direct\" (bad.policy:15)\n"));
		if (check_failures)
			fputs(strbuf_str(&sb), stderr);
		strbuf_free(&sb);
		policy_diff_free(&r);
	}
	if (check_failures)
		fx_diag_dump(&d);
	free(text);
	policy_free(q);
	policy_free(p);
	policy_diag_free(&d);
}

/* The example policy shipped in rules/examples proves. */
static void test_example(void)
{
	const char *root = getenv("SEKISHO_SOURCE_ROOT");
	if (!root) {
		printf("SEKISHO_SOURCE_ROOT not set: example skipped\n");
		return;
	}
	char *path = xasprintf("%s/rules/examples/municipality.policy", root);
	struct diag d;
	policy_diag_init(&d);
	struct policy_options po = {.today = "2026-01-01"};
	struct policy *p = NULL;
	int rc = policy_load(path, &po, &d, &p);
	CHECK(rc == 0 && p);
	if (p) {
		struct prove_report rep;
		struct prove_options o = {.reachability = true};
		CHECK(policy_prove(p, &o, &d, &rep) == 0);
		CHECK(rep.ninvariants >= 2 && rep.reachability_complete);
		for (uint32_t i = 0; i < rep.ninvariants; i++)
			CHECK(rep.inv[i].status == PROVE_PROVEN);
		policy_prove_report_free(&rep);
	}
	if (check_failures)
		fx_diag_dump(&d);
	policy_free(p);
	policy_diag_free(&d);
	free(path);
}

int main(void)
{
	test_text();
	test_example();
	return check_done();
}
