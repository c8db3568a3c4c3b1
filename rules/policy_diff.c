/* policy_diff: the semantic difference of two policies (see policy_diff.h).
 *
 * Both policies are first-match lists per zone pair, each ended by the
 * pair's default.  A packet is decided by old rule i and new rule j exactly
 * when it lies in term(i) ∩ term(j) and in no earlier rule of either list,
 * so for every (i, j) with different actions whose terms meet, one
 * pspace_witness search either finds a concrete packet whose decision changed
 * or proves that the combination decides nothing.  Candidates j for an old
 * rule come from the interval index (pspace_table), so identical policies cost
 * about one search per rule, not one per pair of rules.
 *
 * One example is kept per (zone pair, old rule, new rule): IPv4 is searched
 * first, IPv6 only when IPv4 gave none; inside the zones' networks when
 * the region reaches them.  Zones are matched by name; zones in only one
 * policy are listed, not compared.  The budget bounds the whole diff; when
 * it runs out the result says so (complete = false) and keeps what it has.
 *
 * The rendering is for people and translated (i18n.h); the zone names,
 * actions and packets in it are policy syntax and stay as they are.
 *
 * Ownership: the result owns its arrays and strings (policy_diff_free).
 * Allocation failures abort (xalloc). */
#include "rules/policy_diff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h"
#include "common/xalloc.h"
#include "rules/policy_show.h"
#include "rules/pspace.h"

/* Index of rule terms, implemented in pspace.c; these prototypes belong in
 * pspace.h (requested from its owner). */

#define DIFF_DEFAULT_BUDGET 50000000ull
#define DEFAULT_RULE UINT32_MAX /* the default, as a rule index */

static const int families[2] = {4, 6};

/* One side (old or new) of one zone pair in one family. */
struct side {
	const struct policy *p;
	const struct pspace_table *tab;
	unsigned f, t; /* zone indexes in this policy */
	uint8_t dflt;  /* the pair's default action */
};

struct dctx {
	struct pspace_budget b;
	struct diff_result *res;
	size_t capres;
	/* (old rule, new rule) already shown for the current zone pair: an
	 * open-addressing set of seen_key values, 0 = free */
	uint64_t *seen;
	size_t nseen, capseen;
	const struct pspace_term **cov;
	size_t ncov, capcov;
	uint32_t *q;
	size_t nq, capq;
	uint32_t *cand;
	size_t ncand, capcand;
};

static bool side_applies(const struct side *s, uint32_t rule)
{
	const struct policy_rule *r = &s->p->rules[rule];
	return policy_rule_applies(r, s->f, s->t);
}

static uint8_t side_action(const struct side *s, uint32_t rule)
{
	return rule == DEFAULT_RULE ? s->dflt : (uint8_t)s->p->rules[rule].action;
}

/* Append to c->cov the terms of side s that apply to its pair, come before
 * rule limit (DEFAULT_RULE: all) and meet q. */
static int add_covers(struct dctx *c, const struct side *s, uint32_t limit, const struct pspace_term *q)
{
	c->nq = 0;
	int rc = pspace_table_query(s->tab, q, &c->b, &c->q, &c->nq, &c->capq);
	if (rc < 0)
		return rc;
	xgrow(&c->cov, &c->capcov, c->ncov + c->nq, sizeof *c->cov);
	for (size_t i = 0; i < c->nq; i++) {
		uint32_t r = pspace_table_term_rule(s->tab, c->q[i]);
		if (r >= limit || !side_applies(s, r))
			continue;
		c->cov[c->ncov++] = pspace_table_term(s->tab, c->q[i]);
	}
	return 0;
}

/* Never 0 (the free mark): bit 63 is always set; a rule is index + 1 and
 * the default 0 (indexes are below TABLE_MAX_RULES, far below 2^31). */
static uint64_t seen_key(uint32_t oi, uint32_t nj)
{
	uint64_t o = oi == DEFAULT_RULE ? 0 : (uint64_t)oi + 1, n = nj == DEFAULT_RULE ? 0 : (uint64_t)nj + 1;
	return 1ull << 63 | o << 32 | n;
}

static size_t seen_slot(const struct dctx *c, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 32) & (c->capseen - 1);
	while (c->seen[i] && c->seen[i] != key)
		i = (i + 1) & (c->capseen - 1);
	return i;
}

static bool seen_has(const struct dctx *c, uint64_t key)
{
	return c->capseen && c->seen[seen_slot(c, key)] == key;
}

static void seen_add(struct dctx *c, uint64_t key)
{
	if ((c->nseen + 1) * 2 > c->capseen) {
		uint64_t *old = c->seen;
		size_t oldcap = c->capseen;
		c->capseen = oldcap ? oldcap * 2 : 64;
		c->seen = xcalloc(c->capseen, sizeof *c->seen);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				c->seen[seen_slot(c, old[i])] = old[i];
		free(old);
	}
	c->seen[seen_slot(c, key)] = key;
	c->nseen++;
}

static void seen_clear(struct dctx *c)
{
	if (c->nseen)
		memset(c->seen, 0, c->capseen * sizeof *c->seen);
	c->nseen = 0;
}

static long rule_long(uint32_t r)
{
	return r == DEFAULT_RULE ? -1 : (long)r;
}


/* Does some packet of q go to old rule oi and new rule nj?  Records it. */
static int try_pair(struct dctx *c, const struct side *o, const struct side *n, int fi, uint32_t oi, uint32_t nj,
		    const struct pspace_term *q)
{
	uint64_t key = seen_key(oi, nj);
	if (seen_has(c, key))
		return 0;
	c->ncov = 0;
	int rc = add_covers(c, o, oi, q);
	if (!rc)
		rc = add_covers(c, n, nj, q);
	if (rc < 0)
		return rc;
	struct pspace_point pt;
	rc = pspace_witness(q, c->cov, c->ncov, &c->b, &pt);
	if (rc <= 0)
		return rc;
	/* the same search inside the (new) zones' networks, for a nicer
	 * example; pt is kept when it finds none (or runs out) */
	struct pspace_term view, in = {0};
	if (pspace_zone_view(n->p, n->f, n->t, families[fi], &view) && pspace_term_intersect(q, &view, &in))
		(void)pspace_witness(&in, c->cov, c->ncov, &c->b, &pt);
	pspace_term_free(&in);
	struct diff_result *res = c->res;
	xgrow(&res->v, &c->capres, res->n + 1, sizeof *res->v);
	struct diff_change *ch = &res->v[res->n++];
	memset(ch, 0, sizeof *ch);
	snprintf(ch->from_zone, sizeof ch->from_zone, "%s", n->p->zones[n->f].name ? n->p->zones[n->f].name : "");
	snprintf(ch->to_zone, sizeof ch->to_zone, "%s", n->p->zones[n->t].name ? n->p->zones[n->t].name : "");
	pspace_point_packet(&pt, families[fi], (uint8_t)n->f, (uint8_t)n->t, &ch->example);
	ch->old_action = side_action(o, oi);
	ch->new_action = side_action(n, nj);
	ch->old_rule = rule_long(oi);
	ch->new_rule = rule_long(nj);
	seen_add(c, key);
	return 1;
}

/* Every old deciding term (rules, then the default) against every new
 * deciding term with another action that meets it. */
static int diff_pair_family(struct dctx *c, const struct side *o, const struct side *n, int fi)
{
	struct pspace_term uni;
	pspace_term_universe(&uni, families[fi]);
	int rc = 0;

	for (uint32_t oi = 0; oi < o->p->nrules && rc >= 0; oi++) {
		if (!side_applies(o, oi))
			continue;
		uint8_t oa = side_action(o, oi);
		size_t first, nt;
		pspace_table_rule_terms(o->tab, oi, &first, &nt);
		for (size_t k = first; k < first + nt && rc >= 0; k++) {
			const struct pspace_term *t = pspace_table_term(o->tab, k);
			c->ncand = 0;
			rc = pspace_table_query(n->tab, t, &c->b, &c->cand, &c->ncand, &c->capcand);
			for (size_t i = 0; i < c->ncand && rc >= 0; i++) {
				uint32_t nj = pspace_table_term_rule(n->tab, c->cand[i]);
				if (!side_applies(n, nj) || side_action(n, nj) == oa)
					continue;
				struct pspace_term q;
				if (!pspace_term_intersect(t, pspace_table_term(n->tab, c->cand[i]), &q)) {
					pspace_term_free(&q);
					continue;
				}
				rc = try_pair(c, o, n, fi, oi, nj, &q);
				pspace_term_free(&q);
			}
			if (rc >= 0 && n->dflt != oa)
				rc = try_pair(c, o, n, fi, oi, DEFAULT_RULE, t);
		}
	}

	/* the old default against every new rule (its term is everything) */
	for (uint32_t nj = 0; nj < n->p->nrules && rc >= 0; nj++) {
		if (!side_applies(n, nj) || side_action(n, nj) == o->dflt)
			continue;
		size_t first, nt;
		pspace_table_rule_terms(n->tab, nj, &first, &nt);
		for (size_t k = first; k < first + nt && rc >= 0; k++)
			rc = try_pair(c, o, n, fi, DEFAULT_RULE, nj, pspace_table_term(n->tab, k));
	}
	if (rc >= 0 && o->dflt != n->dflt)
		rc = try_pair(c, o, n, fi, DEFAULT_RULE, DEFAULT_RULE, &uni);
	pspace_term_free(&uni);
	return rc;
}

static void names_add(char ***v, size_t *n, const char *name)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(name ? name : "");
}

int policy_diff(const struct policy *old, const struct policy *new, uint64_t budget, struct diff_result *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->complete = true;
	if (!old || !new)
		return -EINVAL;

	/* zones by name: old index -> new index */
	int map[TABLE_MAX_ZONES];
	for (uint32_t i = 0; i < old->nzones; i++) {
		map[i] = old->zones[i].name ? policy_zone_find(new, old->zones[i].name) : -1;
		if (map[i] < 0)
			names_add(&ret->zones_removed, &ret->nremoved, old->zones[i].name);
	}
	for (uint32_t i = 0; i < new->nzones; i++)
		if (!new->zones[i].name || policy_zone_find(old, new->zones[i].name) < 0)
			names_add(&ret->zones_added, &ret->nadded, new->zones[i].name);

	struct pspace_table *otab[2], *ntab[2];
	for (int fi = 0; fi < 2; fi++) {
		otab[fi] = pspace_table_new(old->rules, old->nrules, families[fi]);
		ntab[fi] = pspace_table_new(new->rules, new->nrules, families[fi]);
	}
	struct dctx c = {.b = {budget ? budget : DIFF_DEFAULT_BUDGET}, .res = ret};
	int rc = 0;
	for (uint32_t of = 0; of < old->nzones && rc >= 0; of++) {
		if (map[of] < 0)
			continue;
		for (uint32_t ot = 0; ot < old->nzones && rc >= 0; ot++) {
			if (map[ot] < 0)
				continue;
			seen_clear(&c);
			unsigned nf = (unsigned)map[of], nt = (unsigned)map[ot];
			for (int fi = 0; fi < 2 && rc >= 0; fi++) {
				struct side o = {old, otab[fi], of, ot, (uint8_t)policy_default_action(old, of, ot)};
				struct side n = {new, ntab[fi], nf, nt, (uint8_t)policy_default_action(new, nf, nt)};
				rc = diff_pair_family(&c, &o, &n, fi);
			}
		}
	}
	if (rc < 0)
		ret->complete = false; /* only the budget fails here */
	for (int fi = 0; fi < 2; fi++) {
		pspace_table_free(otab[fi]);
		pspace_table_free(ntab[fi]);
	}
	free(c.seen);
	free(c.cov);
	free(c.q);
	free(c.cand);
	return 0;
}

static void describe(const struct policy *p, long rule, unsigned f, unsigned t, struct strbuf *out)
{
	if (rule < 0) {
		strbuf_printf(out, "default %s", table_action_name(policy_default_action(p, f, t)));
		const struct policy_loc *l = &p->default_loc[f][t];
		if (l->file)
			strbuf_printf(out, " (%s:%u)", l->file, l->line);
		return;
	}
	const struct policy_rule *r = &p->rules[rule];
	strbuf_printf(out, _("rule %u \"%s\""), r->id, r->name ? r->name : "");
	if (r->loc.file)
		strbuf_printf(out, " (%s:%u)", r->loc.file, r->loc.line);
}

/* head: "zones added:" or "zones removed:", already translated */
static void names_render(const char *head, char **v, size_t n, struct strbuf *out)
{
	if (!n)
		return;
	strbuf_puts(out, head);
	for (size_t i = 0; i < n; i++)
		strbuf_printf(out, "%s %s", i ? "," : "", v[i]);
	strbuf_puts(out, _(" (traffic to or from them is not compared)\n"));
}

void policy_diff_render(const struct policy *old, const struct policy *new, const struct diff_result *r,
			struct strbuf *out)
{
	names_render(_("zones added:"), r->zones_added, r->nadded, out);
	names_render(_("zones removed:"), r->zones_removed, r->nremoved, out);
	if (!r->n)
		strbuf_puts(out,
			    r->complete ? _("no change in what is allowed or denied\n")
					: _("no change found before the analysis budget ran out\n"));
	struct strbuf pkt = STRBUF_INIT;
	for (size_t i = 0; i < r->n; i++) {
		const struct diff_change *ch = &r->v[i];
		unsigned nf = ch->example.from_zone, nt = ch->example.to_zone;
		const char *fname = new->zones[nf].name ? new->zones[nf].name : "?";
		const char *tname = new->zones[nt].name ? new->zones[nt].name : "?";
		if (!i || r->v[i - 1].example.from_zone != nf || r->v[i - 1].example.to_zone != nt)
			strbuf_printf(out, "%s -> %s\n", fname, tname);

		/* the zone pair heads the group: drop it from the packet text */
		strbuf_reset(&pkt);
		policy_show_packet_format(new, &ch->example, &pkt);
		const char *text = strbuf_str(&pkt);
		char *prefix = xasprintf("%s -> %s ", fname, tname);
		if (!strncmp(text, prefix, strlen(prefix)))
			text += strlen(prefix);
		free(prefix);
		strbuf_printf(out, "  %s -> %s  %s\n", table_action_name(ch->old_action),
			      table_action_name(ch->new_action), text);

		int of = policy_zone_find(old, fname), ot = policy_zone_find(old, tname);
		strbuf_puts(out, _("      was: "));
		describe(old, ch->old_rule, of < 0 ? 0 : (unsigned)of, ot < 0 ? 0 : (unsigned)ot, out);
		strbuf_putc(out, '\n');
		strbuf_puts(out, _("      now: "));
		describe(new, ch->new_rule, nf, nt, out);
		strbuf_putc(out, '\n');
	}
	strbuf_free(&pkt);
	if (r->n && !r->complete)
		strbuf_puts(out, _("(the analysis budget ran out: there may be more changes than listed)\n"));
}

void policy_diff_free(struct diff_result *r)
{
	if (!r)
		return;
	free(r->v);
	for (size_t i = 0; i < r->nadded; i++)
		free(r->zones_added[i]);
	free(r->zones_added);
	for (size_t i = 0; i < r->nremoved; i++)
		free(r->zones_removed[i]);
	free(r->zones_removed);
	memset(r, 0, sizeof *r);
}
