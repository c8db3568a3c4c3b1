/* fuzz_policy: the policy front end (lex, parse, evaluate) and the
 * diagnostics renderer on arbitrary bytes.
 *
 * Besides crashes and sanitizer reports, it checks what the evaluator
 * promises about an accepted policy: address sets sorted and disjoint,
 * service lists normalised, rule ids increasing, every place pointing at a
 * file of the policy.  A broken promise aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "rules/policy.h"
#include "rules/policy_load.h"

#define REQUIRE(c)               \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ranges(const struct ip_range *v, uint32_t n, u128 max)
{
	for (uint32_t i = 0; i < n; i++) {
		REQUIRE(v[i].lo <= v[i].hi && v[i].hi <= max);
		/* merged: a gap of at least one value between neighbours */
		if (i)
			REQUIRE(v[i - 1].hi < v[i].lo && v[i].lo - v[i - 1].hi > 1);
	}
}

static void check_set(const struct addr_set *s)
{
	check_ranges(s->v4, s->n4, INADDR_V4_MAX);
	check_ranges(s->v6, s->n6, U128_MAX);
}

static void check_svc(const struct svc_range *v, uint32_t n)
{
	REQUIRE(n > 0);
	for (uint32_t i = 0; i < n; i++) {
		REQUIRE(v[i].key_lo <= v[i].key_hi && v[i].key_hi <= SVC_KEY_MAX);
		REQUIRE(v[i].sport_lo <= v[i].sport_hi);
		if (i)
			REQUIRE(v[i - 1].sport_lo < v[i].sport_lo ||
				(v[i - 1].sport_lo == v[i].sport_lo && v[i - 1].key_lo <= v[i].key_lo));
	}
}

static bool file_of(const struct policy *p, const char *f)
{
	for (uint32_t i = 0; i < p->nfiles; i++)
		if (p->files[i] == f)
			return true;
	return false;
}

/* Every zone of an invariant has interfaces (docs/policy.md, decision 5). */
static void check_enforceable(const struct policy *p, uint64_t zones)
{
	for (uint32_t z = 1; z < p->nzones; z++)
		if (zones >> z & 1)
			REQUIRE(p->zones[z].nif > 0);
}

static void check_policy(const struct policy *p)
{
	REQUIRE(p->nzones >= 1 && p->nzones <= TABLE_MAX_ZONES);
	REQUIRE(!strcmp(p->zones[TABLE_ZONE_SELF].name, "self"));
	for (uint32_t z = 1; z < p->nzones; z++) {
		check_set(&p->zones[z].nets);
		REQUIRE(file_of(p, p->zones[z].loc.file));
	}
	uint64_t all = p->nzones == 64 ? ~(uint64_t)0 : ((uint64_t)1 << p->nzones) - 1;
	uint32_t last = 0;
	REQUIRE(p->nrules <= p->nrules_total);
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		REQUIRE(r->id > last && r->id <= p->nrules_total);
		last = r->id;
		REQUIRE(r->action >= ACT_ALLOW && r->action <= ACT_REJECT);
		REQUIRE(r->from_zones && !(r->from_zones & ~all));
		REQUIRE(r->to_zones && !(r->to_zones & ~all));
		check_set(&r->src);
		check_set(&r->dst);
		check_svc(r->svc, r->nsvc);
		REQUIRE(r->name && r->from_text && r->to_text && r->svc_text);
		REQUIRE(file_of(p, r->loc.file));
	}
	for (uint32_t i = 0; i < p->nsanitize; i++) {
		check_set(&p->sanitize[i].via);
		check_svc(p->sanitize[i].svc, p->sanitize[i].nsvc);
		REQUIRE(!(p->sanitize[i].a_zones & p->sanitize[i].b_zones));
		check_enforceable(p, p->sanitize[i].a_zones | p->sanitize[i].b_zones);
	}
	for (uint32_t i = 0; i < p->nisolate; i++)
		check_enforceable(p, p->isolate[i].zones);
	for (uint32_t i = 0; i < p->nzones; i++)
		for (uint32_t j = 0; j < p->nzones; j++)
			REQUIRE(p->default_action[i][j] == ACT_DENY || p->default_action[i][j] == ACT_REJECT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_options opt = {.today = "2026-11-22"};
	struct diag d;
	struct policy *p = NULL;
	struct strbuf out = STRBUF_INIT;

	policy_diag_init(&d);
	int r = policy_load_buffer("fuzz.policy", (const char *)data, size, &opt, &d, &p);
	REQUIRE((r == 0) == (p != NULL));
	REQUIRE(r == 0 || d.nerrors > 0);
	if (p)
		check_policy(p);
	policy_diag_render(&d, &out);
	strbuf_free(&out);
	policy_free(p);
	policy_diag_free(&d);
	return 0;
}
