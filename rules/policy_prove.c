/* policy_prove: proves the three-tier invariants over the whole policy and
 * finds unreachable and redundant rules (see policy_prove.h).
 *
 * Every question is one pspace_witness search: "is there a packet in this rule
 * that no earlier rule of the same zone pair takes (and, for invariants,
 * that the invariant does not permit)?"  A witness is a real packet whose
 * first match is the rule, so a violation always comes with a concrete
 * counterexample, and "none" is a proof over all packets, not a sample.
 * Counterexamples are taken inside the zones' networks when one exists
 * there (they read naturally), else anywhere (a spoofed source is still a
 * violation).
 *
 * What the invariants mean is policy.c's (the reference semantics): which
 * zone pairs an isolate restricts and which rules are its exceptions
 * (policy_isolate_crosses, policy_rule_is_exception), which paths a
 * sanitize statement governs, in which its relays count and what they are
 * (policy_sanitize_path, policy_sanitize_relays).  This file only searches:
 * isolate M: between a zone in M and one outside (self included), an allow
 * rule may decide packets only if it is an exception.  sanitize: on each
 * governed path, only to the relays of the statements that declare that
 * direction.  Sanitize statements covering the same zone pair are read
 * together (their relays are permitted jointly); the first of them reports
 * a violation there, once.  One counterexample per rule and
 * invariant, so one run shows every broken rule.
 *
 * Reachability: first every rule's reachability, then redundancy of the
 * reachable ones (removing the rule changes no action), so that a budget
 * that runs out costs the less important warnings; warnings in rule order.
 *
 * Cost control: candidate earlier rules come from the interval index of
 * pspace (pspace_table), are cut to rules that share a zone pair, and are
 * tested exactly before the search; a rule over many zone pairs is searched
 * once per distinct set of earlier rules, not once per pair.  Each
 * invariant gets the whole budget; the reachability analysis shares one
 * more.  An invariant that runs out of budget is an error (we refuse what
 * we cannot prove); reachability that runs out only says so in a note.
 *
 * Ownership: the report owns its strings and arrays (policy_prove_report_free);
 * nothing of the policy is kept.  Allocation failures abort (xalloc). */
#include "rules/policy_prove.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "rules/policy_show.h"
#include "rules/pspace.h"

/* Index of rule terms, implemented in pspace.c; these prototypes belong in
 * pspace.h (requested from its owner). */

#define PROVE_DEFAULT_BUDGET 50000000ull
#define PROVE_NOTE_MAX_RULES 5

static const int families[2] = {4, 6};

/* Sets of earlier-rule terms already searched for one rule term: zone pairs
 * with the same set give the same answer. */
struct memo_ent {
	uint64_t hash;
	size_t off, len;
};

struct memo {
	struct memo_ent *e;
	size_t n, cap;
	uint32_t *pool;
	size_t npool, cappool;
	size_t *slot;   /* open addressing: entry index + 1, 0 = free */
	size_t capslot; /* a power of two, at least 2 * n */
};

struct ctx {
	const struct policy *p;
	struct diag *d;
	struct pspace_table *tab[2]; /* IPv4, IPv6 */
	uint64_t zmask;              /* the zones that exist */
	/* per rule, packed: candidate filtering reads these for thousands of
	 * rules per search and the rule structs are large */
	uint64_t *from, *to;
	uint8_t *act;
	/* scratch, reused */
	uint32_t *cand;
	size_t ncand, capcand;
	uint32_t *sub;
	size_t nsub, capsub;
	const struct pspace_term **cov;
	size_t ncov, capcov;
	struct memo memo;
};

static const struct policy_loc no_loc;

static void memo_reset(struct memo *m)
{
	if (m->n)
		memset(m->slot, 0, m->capslot * sizeof *m->slot);
	m->n = 0;
	m->npool = 0;
}

static void memo_free(struct memo *m)
{
	free(m->e);
	free(m->pool);
	free(m->slot);
}

static size_t memo_find(const struct memo *m, uint64_t h, const uint32_t *v, size_t n)
{
	size_t i = (size_t)(h >> 20) & (m->capslot - 1);
	for (; m->slot[i]; i = (i + 1) & (m->capslot - 1)) {
		const struct memo_ent *e = &m->e[m->slot[i] - 1];
		if (e->hash == h && e->len == n && (!n || !memcmp(m->pool + e->off, v, n * sizeof *v)))
			break;
	}
	return i;
}

/* Was the set v[0..n) seen since the last reset?  Records it if not. */
static bool memo_seen(struct memo *m, const uint32_t *v, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ n;
	for (size_t i = 0; i < n; i++)
		h = (h ^ v[i]) * 1099511628211ull;
	if ((m->n + 1) * 2 > m->capslot) {
		m->capslot = m->capslot ? m->capslot * 2 : 64;
		free(m->slot);
		m->slot = xcalloc(m->capslot, sizeof *m->slot);
		for (size_t i = 0; i < m->n; i++)
			m->slot[memo_find(m, m->e[i].hash, m->pool + m->e[i].off, m->e[i].len)] = i + 1;
	}
	size_t at = memo_find(m, h, v, n);
	if (m->slot[at])
		return true;
	xgrow(&m->e, &m->cap, m->n + 1, sizeof *m->e);
	xgrow(&m->pool, &m->cappool, m->npool + n, sizeof *m->pool);
	if (n)
		memcpy(m->pool + m->npool, v, n * sizeof *v);
	m->e[m->n++] = (struct memo_ent){h, m->npool, n};
	m->slot[at] = m->n;
	m->npool += n;
	return false;
}

static bool applies(const struct ctx *c, uint32_t rule, unsigned f, unsigned t)
{
	return (c->from[rule] >> f & 1) && (c->to[rule] >> t & 1);
}

static void rule_describe(const struct policy_rule *r, struct strbuf *out)
{
	strbuf_printf(out, _("rule %u \"%s\""), r->id, r->name ? r->name : "");
}

static void rule_describe_at(const struct policy_rule *r, struct strbuf *out)
{
	rule_describe(r, out);
	if (r->loc.file)
		strbuf_printf(out, " (%s:%u)", r->loc.file, r->loc.line);
}

/* Candidate terms for term k of rule ri: every other rule's term that
 * intersects it and whose rule could share a zone pair with ri; when
 * earlier_only, only rules before ri.  Result in c->cand, rule order. */
static int collect(struct ctx *c, int fi, size_t k, uint32_t ri, bool earlier_only, struct pspace_budget *b)
{
	const struct pspace_table *tab = c->tab[fi];
	const struct pspace_term *t = pspace_table_term(tab, k);
	uint64_t from = c->from[ri] & c->zmask, to = c->to[ri] & c->zmask;
	c->ncand = 0;
	int rc = pspace_table_query(tab, t, b, &c->cand, &c->ncand, &c->capcand);
	if (rc < 0)
		return rc;
	size_t o = 0;
	for (size_t i = 0; i < c->ncand; i++) {
		uint32_t e = c->cand[i];
		uint32_t er = pspace_table_term_rule(tab, e);
		if (er == ri || (earlier_only && er > ri))
			continue;
		if (!(c->from[er] & from) || !(c->to[er] & to))
			continue;
		if (!b->steps)
			return -E2BIG;
		b->steps--;
		if (!pspace_term_intersects(pspace_table_term(tab, e), t))
			continue;
		c->cand[o++] = e;
	}
	c->ncand = o;
	return 0;
}

/* c->sub = candidates applying to (f, t) whose rule is before limit.  The
 * scan is charged to the budget (a step per 32 candidates, about its
 * cost): a rule over many zone pairs repeats it per pair. */
static int subset(struct ctx *c, int fi, unsigned f, unsigned t, uint32_t limit, struct pspace_budget *b)
{
	uint64_t cost = c->ncand / 32 + 1;
	if (b->steps < cost) {
		b->steps = 0;
		return -E2BIG;
	}
	b->steps -= cost;
	c->nsub = 0;
	xgrow(&c->sub, &c->capsub, c->ncand, sizeof *c->sub);
	for (size_t i = 0; i < c->ncand; i++) {
		uint32_t er = pspace_table_term_rule(c->tab[fi], c->cand[i]);
		if (er < limit && applies(c, er, f, t))
			c->sub[c->nsub++] = c->cand[i];
	}
	return 0;
}

/* Search q outside the terms in c->sub plus extra terms. */
static int search(struct ctx *c, int fi, const struct pspace_term *q, const struct pspace_term *extra, size_t nextra,
		  struct pspace_budget *b, struct pspace_point *ret)
{
	c->ncov = 0;
	xgrow(&c->cov, &c->capcov, c->nsub + nextra, sizeof *c->cov);
	for (size_t i = 0; i < c->nsub; i++)
		c->cov[c->ncov++] = pspace_table_term(c->tab[fi], c->sub[i]);
	for (size_t i = 0; i < nextra; i++)
		c->cov[c->ncov++] = &extra[i];
	return pspace_witness(q, c->cov, c->ncov, b, ret);
}


/* Extra covers per family (the region an invariant permits). */
struct permitted {
	struct pspace_term *t[2];
	size_t n[2], cap[2];
};

/* A packet whose first match is rule ri, in a zone pair (f, t) with t in
 * pairs[f], outside the permitted region pm and, when within is given,
 * inside it (both may be NULL).  Returns 1 and *ret, 0 if there is none,
 * -E2BIG. */
static int rule_witness(struct ctx *c, uint32_t ri, const uint64_t *pairs, const struct permitted *pm,
			const struct permitted *within, struct pspace_budget *b, struct policy_packet *ret)
{
	const struct policy_rule *r = &c->p->rules[ri];
	uint64_t from = r->from_zones & c->zmask;
	bool any = false;
	for (unsigned f = 0; f < c->p->nzones && !any; f++)
		any = (from >> f & 1) && (r->to_zones & pairs[f]);
	if (!any)
		return 0;

	for (int fi = 0; fi < 2; fi++) {
		size_t first, nt;
		pspace_table_rule_terms(c->tab[fi], ri, &first, &nt);
		for (size_t k = first; k < first + nt; k++) {
			const struct pspace_term *t = pspace_table_term(c->tab[fi], k);
			int rc = collect(c, fi, k, ri, true, b);
			if (rc < 0)
				return rc;
			/* the candidates of t serve any part of it */
			size_t nw = within ? within->n[fi] : 1;
			for (size_t w = 0; w < nw; w++) {
				struct pspace_term part = {0};
				const struct pspace_term *q = t;
				if (within) {
					if (!b->steps)
						return -E2BIG;
					b->steps--;
					if (!pspace_term_intersect(t, &within->t[fi][w], &part)) {
						pspace_term_free(&part);
						continue;
					}
					q = &part;
				}
				memo_reset(&c->memo);
				for (unsigned f = 0; f < c->p->nzones && rc == 0; f++) {
					if (!(from >> f & 1))
						continue;
					uint64_t tm = r->to_zones & pairs[f] & c->zmask;
					for (unsigned to = 0; to < c->p->nzones && rc == 0; to++) {
						if (!(tm >> to & 1))
							continue;
						rc = subset(c, fi, f, to, ri, b);
						if (rc < 0 || memo_seen(&c->memo, c->sub, c->nsub))
							continue;
						struct pspace_point pt;
						const struct pspace_term *ex = pm ? pm->t[fi] : NULL;
						size_t nex = pm ? pm->n[fi] : 0;
						rc = search(c, fi, q, ex, nex, b, &pt);
						if (rc > 0) {
							/* the same search inside the zones' networks,
							 * for a packet that reads naturally; pt is
							 * kept when it finds none (or runs out) */
							struct pspace_term view, in = {0};
							if (pspace_zone_view(c->p, f, to, families[fi], &view) &&
							    pspace_term_intersect(q, &view, &in))
								(void)search(c, fi, &in, ex, nex, b, &pt);
							pspace_term_free(&in);
							pspace_point_packet(&pt, families[fi], (uint8_t)f, (uint8_t)to,
									    ret);
						}
					}
				}
				pspace_term_free(&part);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

static void inv_add_exception(struct prove_invariant *inv, uint32_t id)
{
	inv->exception_ids =
		xreallocarray(inv->exception_ids, (size_t)inv->nexceptions + 1, sizeof *inv->exception_ids);
	inv->exception_ids[inv->nexceptions++] = id;
}

/* The counterexample: 'rule N "name" allows PACKET', one sentence for the
 * catalogue (the packet is policy syntax and stays as it is). */
static void describe_crossing(const struct policy *p, const struct policy_rule *r, const struct policy_packet *pkt,
			      struct strbuf *out)
{
	struct strbuf rule = STRBUF_INIT, packet = STRBUF_INIT;
	rule_describe(r, &rule);
	policy_show_packet_format(p, pkt, &packet);
	strbuf_printf(out, _("%s allows %s"), strbuf_str(&rule), strbuf_str(&packet));
	strbuf_free(&rule);
	strbuf_free(&packet);
}

static void report_violation(struct ctx *c, struct prove_invariant *inv, const struct policy_rule *r,
			     const struct policy_packet *pkt, struct policy_loc inv_loc, const char *why)
{
	struct strbuf sb = STRBUF_INIT;
	describe_crossing(c->p, r, pkt, &sb);
	policy_diag_error(c->d, r->loc, "invariant '%s' violated: %s", inv->text, strbuf_str(&sb));
	if (inv_loc.file)
		policy_diag_note(c->d, inv_loc, "invariant declared here%s%s", why ? _("; ") : "", why ? why : "");
	else
		policy_diag_note(c->d, no_loc, "%s", why ? why : _("this invariant is part of the policy"));
	if (!inv->counterexample)
		inv->counterexample = strbuf_steal(&sb);
	strbuf_free(&sb);
	inv->status = PROVE_VIOLATED;
}

static void report_budget(struct ctx *c, struct prove_invariant *inv, struct policy_loc loc, uint64_t budget)
{
	policy_diag_error(c->d, loc,
			  "could not prove invariant '%s' within the analysis budget (%llu steps); "
			  "the policy is refused",
			  inv->text, (unsigned long long)budget);
	if (inv->status != PROVE_VIOLATED)
		inv->status = PROVE_INCOMPLETE;
}

/* Why an allow rule is not an admitted exception to an isolate. */
static char *isolate_why(const struct policy_rule *r, bool implicit, const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	if (implicit)
		strbuf_printf(&sb,
			      _("'%s' is the standard three-tier invariant, in force because the policy "
				"declares none; "),
			      text);
	strbuf_printf(&sb, _("rule %u is not an admitted exception:"), r->id);
	const char *sep = " ";
	if (!(r->flags & POLICY_RULE_SRC_HOSTS)) {
		strbuf_printf(&sb, "%s%s", sep, _("its source is not single hosts"));
		sep = _(", ");
	}
	if (!(r->flags & POLICY_RULE_DST_HOSTS)) {
		strbuf_printf(&sb, "%s%s", sep, _("its destination is not single hosts"));
		sep = _(", ");
	}
	if (!(r->flags & POLICY_RULE_SVC_EXPLICIT)) {
		strbuf_printf(&sb, "%s%s", sep, _("it names no explicit service"));
		sep = _(", ");
	}
	if (!(r->flags & POLICY_RULE_LOG))
		strbuf_printf(&sb, "%s%s", sep, _("it does not log"));
	strbuf_puts(&sb, _(" (an exception names single hosts on both ends and explicit services, and logs)"));
	return strbuf_steal(&sb);
}

static void prove_isolate(struct ctx *c, const struct policy_isolate *iso, struct prove_invariant *inv, uint64_t budget)
{
	const struct policy *p = c->p;
	uint64_t pairs[TABLE_MAX_ZONES] = {0};
	for (unsigned f = 0; f < p->nzones; f++)
		for (unsigned t = 0; t < p->nzones; t++)
			if (policy_isolate_crosses(iso->zones, f, t))
				pairs[f] |= (uint64_t)1 << t;

	struct pspace_budget b = {budget};
	for (uint32_t ri = 0; ri < p->nrules; ri++) {
		const struct policy_rule *r = &p->rules[ri];
		if (r->action != ACT_ALLOW)
			continue;
		struct policy_packet pkt;
		int rc = rule_witness(c, ri, pairs, NULL, NULL, &b, &pkt);
		if (rc < 0) {
			report_budget(c, inv, iso->loc, budget);
			return;
		}
		if (!rc)
			continue;
		if (policy_rule_is_exception(r)) {
			inv_add_exception(inv, r->id);
		} else {
			char *why = isolate_why(r, iso->implicit, inv->text);
			report_violation(c, inv, r, &pkt, iso->loc, why);
			free(why);
		}
	}
}

/* Terms of src any x dst (NULL: any) x services, per family. */
static void permitted_add(struct permitted *pm, const struct addr_set *dst, struct svc_range *svc, uint32_t nsvc)
{
	struct ip_range any4 = {0, INADDR_V4_MAX}, any6 = {0, U128_MAX};
	struct policy_rule tmp = {0};
	tmp.src = (struct addr_set){1, 1, &any4, &any6};
	tmp.dst = dst ? *dst : tmp.src;
	tmp.nsvc = nsvc;
	tmp.svc = svc; /* only read */
	for (int fi = 0; fi < 2; fi++)
		pspace_rule_terms(&tmp, families[fi], &pm->t[fi], &pm->n[fi], &pm->cap[fi]);
}

static void permitted_free(struct permitted *pm)
{
	for (int fi = 0; fi < 2; fi++) {
		for (size_t i = 0; i < pm->n[fi]; i++)
			pspace_term_free(&pm->t[fi][i]);
		free(pm->t[fi]);
	}
}

/* Sanitize statements are read together: the relays of every statement
 * that covers a zone pair are permitted there (a policy may name a mail
 * relay in one statement and a screen-transfer server in another for the
 * same zones).  A group is the set of zone pairs covered by the same
 * statements, in one clause (crossing, or to the appliance), with the
 * union of their permitted regions.  The first statement of a group owns
 * it: violations there are reported once, as its errors. */
struct sgroup {
	bool toself;
	uint32_t *stmts; /* covering statements, in order */
	bool *sends;     /* per statement: permits its relays here */
	size_t nstmts;
	uint64_t pairs[TABLE_MAX_ZONES];
	struct permitted pm;
};

/* What statement s permits in one clause, as a region: to its relays with
 * its services; to the appliance only when the appliance is one of its
 * relays (the region form of policy_sanitize_relay_admits). */
static void sanitize_permitted(const struct policy_sanitize *s, bool toself, struct permitted *pm)
{
	const struct addr_set *dst;
	if (policy_sanitize_relays(s, toself, &dst))
		permitted_add(pm, dst, s->svc, s->nsvc);
}

static struct sgroup *sanitize_groups(const struct ctx *c, size_t *ret_n)
{
	const struct policy *p = c->p;
	struct sgroup *g = NULL;
	size_t n = 0, cap = 0;
	uint32_t *list = xreallocarray(NULL, p->nsanitize ? p->nsanitize : 1, sizeof *list);
	bool *sends = xreallocarray(NULL, p->nsanitize ? p->nsanitize : 1, sizeof *sends);
	for (int kind = 0; kind < 2; kind++) {
		enum policy_sanitize_path want = kind ? SANITIZE_TO_SELF : SANITIZE_CROSSING;
		for (unsigned f = 0; f < p->nzones; f++) {
			for (unsigned t = 0; t < p->nzones; t++) {
				size_t nl = 0;
				for (uint32_t i = 0; i < p->nsanitize; i++)
					if (policy_sanitize_path(&p->sanitize[i], f, t, &sends[nl]) == want)
						list[nl++] = i;
				if (!nl)
					continue;
				size_t k = 0;
				while (k < n &&
				       !(g[k].toself == kind && g[k].nstmts == nl &&
					 !memcmp(g[k].stmts, list, nl * sizeof *list) &&
					 !memcmp(g[k].sends, sends, nl * sizeof *sends)))
					k++;
				if (k == n) {
					xgrow(&g, &cap, n + 1, sizeof *g);
					memset(&g[n], 0, sizeof g[n]);
					g[n].toself = kind;
					g[n].nstmts = nl;
					g[n].stmts = xreallocarray(NULL, nl, sizeof *list);
					memcpy(g[n].stmts, list, nl * sizeof *list);
					g[n].sends = xreallocarray(NULL, nl, sizeof *sends);
					memcpy(g[n].sends, sends, nl * sizeof *sends);
					for (size_t i = 0; i < nl; i++)
						if (sends[i])
							sanitize_permitted(&p->sanitize[list[i]], kind, &g[n].pm);
					n++;
				}
				g[k].pairs[f] |= (uint64_t)1 << t;
			}
		}
	}
	free(list);
	free(sends);
	*ret_n = n;
	return g;
}

static void sanitize_groups_free(struct sgroup *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].stmts);
		free(g[i].sends);
		permitted_free(&g[i].pm);
	}
	free(g);
}

static bool group_has(const struct sgroup *g, uint32_t stmt)
{
	for (size_t i = 0; i < g->nstmts; i++)
		if (g->stmts[i] == stmt)
			return true;
	return false;
}

/* The note at the statement: where it is, or what the standard one is;
 * and which other statements' relays were permitted with it. */
static char *sanitize_why(const struct policy *p, const struct policy_sanitize *s, const char *text,
			  const struct sgroup *g)
{
	struct strbuf sb = STRBUF_INIT;
	if (s->implicit)
		strbuf_printf(&sb,
			      _("'%s' is the standard three-tier invariant, in force because the policy "
				"declares no sanitize statement; declare the sanitising relays with "
				"'sanitize A <-> B via RELAY service SERVICE'"),
			      text);
	/* only statements that declare this direction lent their relays */
	size_t lent = 0;
	for (size_t i = 1; i < g->nstmts; i++) {
		if (!g->sends[i])
			continue;
		if (!lent++) {
			strbuf_puts(&sb, s->implicit ? _("; ") : "");
			strbuf_puts(&sb, _("the relays of these statements were permitted too:"));
		}
		strbuf_printf(&sb, "%s '%s'", lent > 1 ? _(",") : "",
			      p->sanitize[g->stmts[i]].text ? p->sanitize[g->stmts[i]].text : "sanitize");
	}
	return sb.len ? strbuf_steal(&sb) : NULL;
}

static void prove_sanitize(struct ctx *c, uint32_t si, const struct sgroup *g, size_t ng, struct prove_invariant *inv,
			   uint64_t budget)
{
	const struct policy *p = c->p;
	const struct policy_sanitize *s = &p->sanitize[si];
	struct permitted own[2];
	memset(own, 0, sizeof own);
	sanitize_permitted(s, false, &own[0]);
	sanitize_permitted(s, true, &own[1]);

	struct pspace_budget b = {budget};
	int rc = 0;
	for (uint32_t ri = 0; ri < p->nrules && rc >= 0; ri++) {
		const struct policy_rule *r = &p->rules[ri];
		if (r->action != ACT_ALLOW)
			continue;
		struct policy_packet pkt;
		/* the groups this statement owns: violations are its errors */
		bool violated = false;
		for (size_t k = 0; k < ng && !violated; k++) {
			if (g[k].stmts[0] != si)
				continue;
			rc = rule_witness(c, ri, g[k].pairs, &g[k].pm, NULL, &b, &pkt);
			if (rc < 0)
				break;
			if (rc) {
				char *why = sanitize_why(p, s, inv->text, &g[k]);
				report_violation(c, inv, r, &pkt, s->loc, why);
				free(why);
				violated = true;
			}
		}
		/* groups an earlier statement owns and reports: only the status */
		for (size_t k = 0; k < ng && !violated && rc >= 0; k++) {
			if (g[k].stmts[0] == si || !group_has(&g[k], si))
				continue;
			rc = rule_witness(c, ri, g[k].pairs, &g[k].pm, NULL, &b, &pkt);
			if (rc > 0) {
				struct strbuf sb = STRBUF_INIT;
				describe_crossing(p, r, &pkt, &sb);
				if (!inv->counterexample)
					inv->counterexample = strbuf_steal(&sb);
				strbuf_free(&sb);
				inv->status = PROVE_VIOLATED;
				violated = true;
			}
		}
		/* a relay rule of this statement: it decides packets to its relays */
		for (size_t k = 0; k < ng && !violated && rc >= 0; k++) {
			if (!group_has(&g[k], si))
				continue;
			rc = rule_witness(c, ri, g[k].pairs, NULL, &own[g[k].toself], &b, &pkt);
			if (rc > 0) {
				inv_add_exception(inv, r->id);
				break;
			}
		}
	}
	if (rc < 0)
		report_budget(c, inv, s->loc, budget);
	permitted_free(&own[0]);
	permitted_free(&own[1]);
}

/* ---- reachability -------------------------------------------------------- */

enum reach {
	REACH_OK,
	REACH_UNREACHABLE,
	REACH_REDUNDANT,
	REACH_NOTHING, /* the rule covers no packet at all */
};

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Would removing rule ri change the decision for some packet?  For each
 * later rule s (and the default) with another action: a packet in both
 * that no rule before s other than ri takes would go to s instead. */
static int rule_redundant(struct ctx *c, uint32_t ri, struct pspace_budget *b)
{
	const struct policy *p = c->p;
	const struct policy_rule *r = &p->rules[ri];
	for (int fi = 0; fi < 2; fi++) {
		size_t first, nt;
		pspace_table_rule_terms(c->tab[fi], ri, &first, &nt);
		for (size_t k = first; k < first + nt; k++) {
			const struct pspace_term *t = pspace_table_term(c->tab[fi], k);
			int rc = collect(c, fi, k, ri, false, b);
			if (rc < 0)
				return rc;
			memo_reset(&c->memo);
			for (unsigned f = 0; f < p->nzones; f++) {
				if (!(r->from_zones >> f & 1))
					continue;
				for (unsigned to = 0; to < p->nzones; to++) {
					if (!(r->to_zones >> to & 1))
						continue;
					bool dflt = policy_default_action(p, f, to) != c->act[ri];
					rc = subset(c, fi, f, to, UINT32_MAX, b);
					if (rc < 0)
						return rc;
					/* the default's difference is part of the key */
					xgrow(&c->sub, &c->capsub, c->nsub + 1, sizeof *c->sub);
					c->sub[c->nsub] = dflt ? UINT32_MAX : UINT32_MAX - 1;
					if (memo_seen(&c->memo, c->sub, c->nsub + 1))
						continue;
					struct pspace_point pt;
					if (dflt) {
						rc = search(c, fi, t, NULL, 0, b, &pt);
						if (rc)
							return rc < 0 ? rc : 0;
					}
					/* later rules with another action; in term (= rule)
					 * order the rules before s are a prefix of the set */
					size_t nall = c->nsub, run = 0;
					qsort(c->sub, nall, sizeof *c->sub, u32_cmp);
					for (size_t i = 0; i < nall; i++) {
						uint32_t sr = pspace_table_term_rule(c->tab[fi], c->sub[i]);
						if (!i || pspace_table_term_rule(c->tab[fi], c->sub[i - 1]) != sr)
							run = i;
						if (sr < ri || c->act[sr] == c->act[ri])
							continue;
						if (!b->steps)
							return -E2BIG;
						b->steps--;
						struct pspace_term q;
						if (!pspace_term_intersect(t, pspace_table_term(c->tab[fi], c->sub[i]),
									   &q)) {
							pspace_term_free(&q);
							continue;
						}
						c->nsub = run;
						rc = search(c, fi, &q, NULL, 0, b, &pt);
						c->nsub = nall;
						pspace_term_free(&q);
						if (rc)
							return rc < 0 ? rc : 0;
					}
				}
			}
		}
	}
	return 1;
}

/* Is rule ri reachable (REACH_OK)?  When it is not, *covering gets the
 * earlier rules that overlap it (indexes, sorted, distinct). */
static int rule_unreachable(struct ctx *c, uint32_t ri, struct pspace_budget *b, uint32_t **covering, size_t *ncovering)
{
	const struct policy *p = c->p;
	uint64_t from = c->from[ri] & c->zmask, to = c->to[ri] & c->zmask;
	size_t ncov = 0, capcov = 0;
	bool any_term = false;
	*covering = NULL;
	*ncovering = 0;
	if (!from || !to)
		return REACH_NOTHING;

	for (int fi = 0; fi < 2; fi++) {
		size_t first, nt;
		pspace_table_rule_terms(c->tab[fi], ri, &first, &nt);
		for (size_t k = first; k < first + nt; k++) {
			any_term = true;
			int rc = collect(c, fi, k, ri, true, b);
			if (rc < 0)
				return rc;
			xgrow(covering, &capcov, ncov + c->ncand, sizeof **covering);
			for (size_t i = 0; i < c->ncand; i++)
				(*covering)[ncov++] = pspace_table_term_rule(c->tab[fi], c->cand[i]);
			memo_reset(&c->memo);
			for (unsigned f = 0; f < p->nzones; f++) {
				if (!(from >> f & 1))
					continue;
				for (unsigned t = 0; t < p->nzones; t++) {
					if (!(to >> t & 1))
						continue;
					rc = subset(c, fi, f, t, ri, b);
					if (rc < 0)
						return rc;
					if (memo_seen(&c->memo, c->sub, c->nsub))
						continue;
					struct pspace_point pt;
					rc = search(c, fi, pspace_table_term(c->tab[fi], k), NULL, 0, b, &pt);
					if (rc < 0)
						return rc;
					if (rc)
						return REACH_OK;
				}
			}
		}
	}
	if (!any_term)
		return REACH_NOTHING;
	qsort(*covering, ncov, sizeof **covering, u32_cmp);
	size_t o = 0;
	for (size_t i = 0; i < ncov; i++)
		if (!o || (*covering)[o - 1] != (*covering)[i])
			(*covering)[o++] = (*covering)[i];
	*ncovering = o;
	return REACH_UNREACHABLE;
}

static void warn_unreachable(struct ctx *c, const struct policy_rule *r, const uint32_t *covering, size_t n)
{
	policy_diag_warning(c->d, r->loc, "rule %u can never match: every packet it covers is decided by earlier rules",
			    r->id);
	struct strbuf sb = STRBUF_INIT;
	strbuf_puts(&sb, n == 1 ? _("it is covered by the earlier rule:") : _("it is covered by the earlier rules:"));
	for (size_t i = 0; i < n && i < PROVE_NOTE_MAX_RULES; i++) {
		strbuf_puts(&sb, "\n  ");
		rule_describe_at(&c->p->rules[covering[i]], &sb);
	}
	if (n > PROVE_NOTE_MAX_RULES)
		strbuf_printf(&sb, _("\n  and %zu more"), n - PROVE_NOTE_MAX_RULES);
	policy_diag_note(c->d, no_loc, "%s", strbuf_str(&sb));
	strbuf_free(&sb);
}

/* Two passes sharing one budget: every rule's reachability first, then
 * redundancy of the reachable ones, so that a budget that runs out costs
 * the less important warnings.  Warnings come out in rule order. */
static void prove_reachability(struct ctx *c, uint64_t budget, struct prove_report *rep)
{
	const struct policy *p = c->p;
	struct pspace_budget b = {budget};
	uint8_t *st = xcalloc(p->nrules ? p->nrules : 1, sizeof *st);
	uint32_t **covering = xcalloc(p->nrules ? p->nrules : 1, sizeof *covering);
	size_t *ncovering = xcalloc(p->nrules ? p->nrules : 1, sizeof *ncovering);
	int cut_pass = 0;
	uint32_t cut_at = 0;

	for (uint32_t ri = 0; ri < p->nrules && !cut_pass; ri++) {
		int rc = rule_unreachable(c, ri, &b, &covering[ri], &ncovering[ri]);
		if (rc < 0) {
			cut_pass = 1;
			cut_at = ri;
			break;
		}
		st[ri] = (uint8_t)rc;
	}
	for (uint32_t ri = 0; ri < p->nrules && !cut_pass; ri++) {
		if (st[ri] != REACH_OK)
			continue;
		int rc = rule_redundant(c, ri, &b);
		if (rc < 0) {
			cut_pass = 2;
			cut_at = ri;
			break;
		}
		if (rc)
			st[ri] = REACH_REDUNDANT;
	}

	uint32_t checked = cut_pass == 1 ? cut_at : p->nrules;
	for (uint32_t ri = 0; ri < checked; ri++) {
		const struct policy_rule *r = &p->rules[ri];
		switch (st[ri]) {
		case REACH_NOTHING:
			rep->nunreachable++;
			policy_diag_warning(c->d, r->loc,
					    "rule %u can never match: it covers no packet (no zone pair, "
					    "or no address family common to its source and destination)",
					    r->id);
			break;
		case REACH_UNREACHABLE:
			rep->nunreachable++;
			warn_unreachable(c, r, covering[ri], ncovering[ri]);
			break;
		case REACH_REDUNDANT:
			rep->nredundant++;
			policy_diag_warning(c->d, r->loc, "rule %u is redundant: removing it changes no decision",
					    r->id);
			break;
		default:
			break;
		}
	}
	if (cut_pass) {
		rep->reachability_complete = false;
		if (cut_pass == 1)
			policy_diag_note(c->d, no_loc,
					 "the reachability analysis was cut short by the analysis budget "
					 "(%llu steps): rules from rule %u on were not checked",
					 (unsigned long long)budget, p->rules[cut_at].id);
		else
			policy_diag_note(c->d, no_loc,
					 "the reachability analysis was cut short by the analysis budget "
					 "(%llu steps): every rule was checked for being unreachable, but rules from "
					 "rule %u on were not checked for being redundant",
					 (unsigned long long)budget, p->rules[cut_at].id);
	}
	for (uint32_t ri = 0; ri < p->nrules; ri++)
		free(covering[ri]);
	free(covering);
	free(ncovering);
	free(st);
}

int policy_prove(const struct policy *p, const struct prove_options *o, struct diag *d, struct prove_report *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->reachability_complete = true;
	uint64_t budget = o && o->budget ? o->budget : PROVE_DEFAULT_BUDGET;

	struct ctx c = {.p = p, .d = d};
	c.zmask = policy_zones_all(p);
	for (int fi = 0; fi < 2; fi++)
		c.tab[fi] = pspace_table_new(p->rules, p->nrules, families[fi]);
	c.from = xreallocarray(NULL, p->nrules ? p->nrules : 1, sizeof *c.from);
	c.to = xreallocarray(NULL, p->nrules ? p->nrules : 1, sizeof *c.to);
	c.act = xreallocarray(NULL, p->nrules ? p->nrules : 1, sizeof *c.act);
	for (uint32_t i = 0; i < p->nrules; i++) {
		c.from[i] = p->rules[i].from_zones;
		c.to[i] = p->rules[i].to_zones;
		/* the decision is the action and whether it is logged: an explicit
		 * logged deny before the same default is not redundant, it writes
		 * an audit record the default does not */
		c.act[i] = (uint8_t)(p->rules[i].action | (p->rules[i].flags & POLICY_RULE_LOG ? 0x80 : 0));
	}

	ret->ninvariants = p->nisolate + p->nsanitize;
	ret->inv = xcalloc(ret->ninvariants ? ret->ninvariants : 1, sizeof *ret->inv);
	bool failed = false;
	for (uint32_t i = 0; i < p->nisolate; i++) {
		struct prove_invariant *inv = &ret->inv[i];
		inv->text = xstrdup(p->isolate[i].text ? p->isolate[i].text : "isolate");
		inv->implicit = p->isolate[i].implicit;
		prove_isolate(&c, &p->isolate[i], inv, budget);
		failed |= inv->status != PROVE_PROVEN;
	}
	size_t ngroups = 0;
	struct sgroup *groups = sanitize_groups(&c, &ngroups);
	for (uint32_t i = 0; i < p->nsanitize; i++) {
		struct prove_invariant *inv = &ret->inv[p->nisolate + i];
		inv->text = xstrdup(p->sanitize[i].text ? p->sanitize[i].text : "sanitize");
		inv->implicit = p->sanitize[i].implicit;
		prove_sanitize(&c, i, groups, ngroups, inv, budget);
		failed |= inv->status != PROVE_PROVEN;
	}
	sanitize_groups_free(groups, ngroups);

	if (o && o->reachability)
		prove_reachability(&c, budget, ret);

	for (int fi = 0; fi < 2; fi++)
		pspace_table_free(c.tab[fi]);
	free(c.from);
	free(c.to);
	free(c.act);
	free(c.cand);
	free(c.sub);
	free(c.cov);
	memo_free(&c.memo);
	return failed ? -EPERM : 0;
}

void policy_prove_report_free(struct prove_report *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->ninvariants; i++) {
		free(r->inv[i].text);
		free(r->inv[i].exception_ids);
		free(r->inv[i].counterexample);
	}
	free(r->inv);
	memset(r, 0, sizeof *r);
}
