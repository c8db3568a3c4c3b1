/* policy_show: listings for people (see policy_show.h).  Everything here is
 * derived from the normalised policy only, so a listing is the compiler's
 * own view of the policy: objects expanded, addresses merged, rule ids and
 * file:line for every rule.  Output goes to a strbuf; nothing is printed. */
#include "rules/policy_show.h"

#include <stdio.h>
#include <string.h>

/* As a policy writes it: the service words bare (tcp, icmp, ...), other
 * protocols as proto/NAME or proto/NUMBER. */
static void put_proto(struct strbuf *out, unsigned proto)
{
	const char *n = policy_proto_name(proto);
	if (n && (proto == 1 || proto == 58 || table_proto_has_ports((uint8_t)proto)))
		strbuf_puts(out, n);
	else if (n)
		strbuf_printf(out, "proto/%s", n);
	else
		strbuf_printf(out, "proto/%u", proto);
}

void policy_show_svc_format(const struct svc_range *s, struct strbuf *out)
{
	unsigned plo = s->key_lo >> 16, phi = s->key_hi >> 16;
	unsigned lo = s->key_lo & 0xffff, hi = s->key_hi & 0xffff;
	bool full_sport = s->sport_lo == 0 && s->sport_hi == 0xffff;

	if (s->key_lo == 0 && s->key_hi == SVC_KEY_MAX) {
		strbuf_puts(out, "any");
	} else if (plo != phi) {
		/* spans several protocols: only whole protocols are written so */
		if (lo == 0 && hi == 0xffff)
			strbuf_printf(out, "proto/%u-%u", plo, phi);
		else
			strbuf_printf(out, "key/0x%06x-0x%06x", s->key_lo, s->key_hi);
	} else if (plo == 1 || plo == 58) {
		put_proto(out, plo);
		if (lo == 0 && hi == 0xffff)
			;
		else if ((lo >> 8) == (hi >> 8) && (lo & 0xff) == 0 && (hi & 0xff) == 0xff)
			strbuf_printf(out, "/%u", lo >> 8);
		else if (lo == hi)
			strbuf_printf(out, "/%u:%u", lo >> 8, lo & 0xff);
		else
			strbuf_printf(out, "/%u:%u-%u:%u", lo >> 8, lo & 0xff, hi >> 8, hi & 0xff);
	} else if (table_proto_has_ports((uint8_t)plo)) {
		put_proto(out, plo);
		if (lo == 0 && hi == 0xffff)
			;
		else if (lo == hi)
			strbuf_printf(out, "/%u", lo);
		else
			strbuf_printf(out, "/%u-%u", lo, hi);
	} else {
		put_proto(out, plo);
		if (!(lo == 0 && hi == 0xffff))
			strbuf_printf(out, "[key 0x%04x-0x%04x]", lo, hi);
	}
	if (!full_sport) {
		if (s->sport_lo == s->sport_hi)
			strbuf_printf(out, " sport %u", s->sport_lo);
		else
			strbuf_printf(out, " sport %u-%u", s->sport_lo, s->sport_hi);
	}
}

static void svc_list_format(const struct svc_range *v, uint32_t n, struct strbuf *out)
{
	if (n == 0)
		strbuf_puts(out, "(none)");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			strbuf_puts(out, ", ");
		policy_show_svc_format(&v[i], out);
	}
}

static void ranges_format(int family, const struct ip_range *r, uint32_t n, bool *first, struct strbuf *out)
{
	char buf[2 * INADDR_STRLEN + 1];
	for (uint32_t i = 0; i < n; i++) {
		if (!*first)
			strbuf_puts(out, ", ");
		*first = false;
		strbuf_puts(out, inaddr_format_span(family, r[i].lo, r[i].hi, buf, sizeof buf));
	}
}

void policy_show_addr_set_format(const struct addr_set *s, struct strbuf *out)
{
	bool first = true;
	if (policy_addr_set_is_any(s)) {
		strbuf_puts(out, "any");
		return;
	}
	ranges_format(4, s->v4, s->n4, &first, out);
	ranges_format(6, s->v6, s->n6, &first, out);
	if (first)
		strbuf_puts(out, "(none)");
}

static const char *zone_name(const struct policy *p, unsigned z)
{
	return z < p->nzones && p->zones[z].name ? p->zones[z].name : "?";
}

static void put_endpoint(const struct policy *p, int family, u128 a, unsigned port, bool ports, struct strbuf *out)
{
	char buf[INADDR_STRLEN];
	inaddr_format(family, a, buf);
	if (!ports)
		strbuf_puts(out, buf);
	else if (family == 6)
		strbuf_printf(out, "[%s]:%u", buf, port);
	else
		strbuf_printf(out, "%s:%u", buf, port);
	(void)p;
}

void policy_show_packet_format(const struct policy *p, const struct policy_packet *pkt, struct strbuf *out)
{
	unsigned proto = pkt->key >> 16;
	bool ports = table_proto_has_ports((uint8_t)proto);
	strbuf_printf(out, "%s -> %s ", zone_name(p, pkt->from_zone), zone_name(p, pkt->to_zone));
	const char *n = policy_proto_name(proto);
	if (n)
		strbuf_printf(out, "%s%s ", n, pkt->family == 6 && proto != 58 ? "" : "");
	else
		strbuf_printf(out, "proto %u ", proto);
	put_endpoint(p, pkt->family, pkt->src, pkt->sport, ports, out);
	strbuf_puts(out, " -> ");
	put_endpoint(p, pkt->family, pkt->dst, pkt->key & 0xffff, ports, out);
	if (proto == 1 || proto == 58)
		strbuf_printf(out, " type %u code %u", (pkt->key >> 8) & 0xff, pkt->key & 0xff);
	if (!ports && !(proto == 1 || proto == 58) && pkt->family)
		strbuf_printf(out, " (IPv%u)", pkt->family);
}

static void zones_format(const struct policy *p, uint64_t mask, struct strbuf *out)
{
	uint64_t all = policy_zones_all(p);
	if ((mask & all) == all) {
		strbuf_puts(out, "any");
		return;
	}
	bool first = true;
	for (unsigned i = 0; i < p->nzones; i++) {
		if (!(mask >> i & 1))
			continue;
		strbuf_printf(out, "%s%s", first ? "" : ",", zone_name(p, i));
		first = false;
	}
}

static const char *tier_name(enum table_tier t)
{
	switch (t) {
	case TIER_MYNUMBER:
		return "mynumber";
	case TIER_LGWAN:
		return "lgwan";
	case TIER_INTERNET:
		return "internet";
	default:
		return "none";
	}
}

static void put_loc(const struct policy_loc *l, struct strbuf *out)
{
	if (l->file)
		strbuf_printf(out, "%s:%u", l->file, l->line);
	else
		strbuf_puts(out, "built-in");
}

static void put_hash(const uint8_t *h, struct strbuf *out)
{
	for (int i = 0; i < 32; i++)
		strbuf_printf(out, "%02x", h[i]);
}

void policy_show_listing(const struct policy *p, struct strbuf *out)
{
	strbuf_printf(out, "policy \"%s\" version \"%s\"\n", p->name ? p->name : "", p->version ? p->version : "");
	strbuf_puts(out, "source sha256 ");
	put_hash(p->sha256, out);
	strbuf_printf(out, "\n%u files, %u zones, %u rules (%u written, %u expired)\n\n", p->nfiles, p->nzones,
		      p->nrules, p->nrules_total, p->nrules_total - p->nrules);

	strbuf_puts(out, "zones\n");
	for (unsigned i = 0; i < p->nzones; i++) {
		const struct policy_zone *z = &p->zones[i];
		strbuf_printf(out, "  %-2u %-16s tier %-9s", i, z->name, tier_name(z->tier));
		strbuf_puts(out, " interfaces ");
		if (!z->nif)
			strbuf_puts(out, "-");
		for (unsigned j = 0; j < z->nif; j++)
			strbuf_printf(out, "%s%s", j ? "," : "", z->ifnames[j]);
		strbuf_puts(out, "  networks ");
		if (i == TABLE_ZONE_SELF)
			strbuf_puts(out, "(the appliance)");
		else if (!z->nets.n4 && !z->nets.n6)
			strbuf_puts(out, "-");
		else
			policy_show_addr_set_format(&z->nets, out);
		if (z->description)
			strbuf_printf(out, "  \"%s\"", z->description);
		strbuf_puts(out, "\n");
	}

	strbuf_puts(out, "\ninvariants\n");
	if (!p->nisolate && !p->nsanitize)
		strbuf_puts(out, "  (none: the policy has no three-tier zones)\n");
	for (unsigned i = 0; i < p->nisolate; i++) {
		strbuf_printf(out, "  %s  [", p->isolate[i].text);
		zones_format(p, p->isolate[i].zones, out);
		strbuf_puts(out, "]  ");
		put_loc(&p->isolate[i].loc, out);
		strbuf_puts(out, "\n");
	}
	for (unsigned i = 0; i < p->nsanitize; i++) {
		const struct policy_sanitize *s = &p->sanitize[i];
		strbuf_printf(out, "  %s  [", s->text);
		zones_format(p, s->a_zones, out);
		strbuf_puts(out, s->both_ways ? " <-> " : " -> ");
		zones_format(p, s->b_zones, out);
		strbuf_puts(out, "; relays ");
		if (s->via_self)
			strbuf_puts(out, "self");
		if (s->via.n4 || s->via.n6) {
			strbuf_puts(out, s->via_self ? ", " : "");
			policy_show_addr_set_format(&s->via, out);
		} else if (!s->via_self) {
			strbuf_puts(out, "none");
		}
		strbuf_puts(out, "; services ");
		svc_list_format(s->svc, s->nsvc, out);
		strbuf_puts(out, "]  ");
		put_loc(&s->loc, out);
		strbuf_puts(out, "\n");
	}

	strbuf_puts(out, "\nrules (first match wins)\n");
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		strbuf_printf(out, "  #%-4u %-6s ", r->id, table_action_name(r->action));
		zones_format(p, r->from_zones, out);
		strbuf_puts(out, " -> ");
		zones_format(p, r->to_zones, out);
		strbuf_printf(out, "  \"%s\"  ", r->name ? r->name : "");
		put_loc(&r->loc, out);
		strbuf_puts(out, "\n         src ");
		policy_show_addr_set_format(&r->src, out);
		strbuf_puts(out, "\n         dst ");
		policy_show_addr_set_format(&r->dst, out);
		strbuf_puts(out, "\n         service ");
		svc_list_format(r->svc, r->nsvc, out);
		strbuf_puts(out, "\n");
		if (r->flags & POLICY_RULE_LOG || r->owner || r->ticket || r->expires) {
			strbuf_puts(out, "        ");
			if (r->flags & POLICY_RULE_LOG)
				strbuf_puts(out, " log");
			if (r->owner)
				strbuf_printf(out, " owner \"%s\"", r->owner);
			if (r->ticket)
				strbuf_printf(out, " ticket \"%s\"", r->ticket);
			if (r->expires)
				strbuf_printf(out, " expires %s", r->expires);
			strbuf_puts(out, "\n");
		}
		if (r->description)
			strbuf_printf(out, "         description \"%s\"\n", r->description);
	}

	strbuf_puts(out, "\ndefaults\n");
	unsigned nset = 0;
	for (unsigned f = 0; f < p->nzones; f++)
		for (unsigned t = 0; t < p->nzones; t++) {
			if (!p->default_loc[f][t].file && policy_default_action(p, f, t) == ACT_DENY)
				continue;
			strbuf_printf(out, "  %s -> %s %s  ", zone_name(p, f), zone_name(p, t),
				      table_action_name(policy_default_action(p, f, t)));
			put_loc(&p->default_loc[f][t], out);
			strbuf_puts(out, "\n");
			nset++;
		}
	strbuf_printf(out, "  %s zone pairs: deny\n", nset ? "all other" : "all");
}

/* One cell of the matrix: does any allow rule apply to the pair? */
static bool pair_allows(const struct policy *p, unsigned f, unsigned t)
{
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		if (r->action == ACT_ALLOW && policy_rule_applies(r, f, t))
			return true;
	}
	return false;
}

void policy_show_matrix(const struct policy *p, struct strbuf *out)
{
	size_t w = 4;
	for (unsigned i = 0; i < p->nzones; i++)
		if (strlen(p->zones[i].name) > w)
			w = strlen(p->zones[i].name);
	strbuf_puts(out,
		    "zone matrix (row: from, column: to; A: allow rules exist, -: nothing allowed, "
		    "d: default deny, r: default reject)\n");
	strbuf_printf(out, "%*s", (int)w + 2, "");
	for (unsigned t = 0; t < p->nzones; t++)
		strbuf_printf(out, " %-*s", (int)w, p->zones[t].name);
	strbuf_puts(out, "\n");
	for (unsigned f = 0; f < p->nzones; f++) {
		strbuf_printf(out, "  %-*s", (int)w, p->zones[f].name);
		for (unsigned t = 0; t < p->nzones; t++) {
			char cell[4];
			snprintf(cell, sizeof cell, "%c%c", pair_allows(p, f, t) ? 'A' : '-',
				 policy_default_action(p, f, t) == ACT_REJECT ? 'r' : 'd');
			strbuf_printf(out, " %-*s", (int)w, cell);
		}
		strbuf_puts(out, "\n");
	}
	strbuf_puts(out, "\nallowed services per zone pair\n");
	unsigned n = 0;
	for (unsigned f = 0; f < p->nzones; f++)
		for (unsigned t = 0; t < p->nzones; t++) {
			bool head = false;
			for (unsigned i = 0; i < p->nrules; i++) {
				const struct policy_rule *r = &p->rules[i];
				if (r->action != ACT_ALLOW || !policy_rule_applies(r, f, t))
					continue;
				if (!head)
					strbuf_printf(out, "  %s -> %s\n", zone_name(p, f), zone_name(p, t));
				head = true;
				strbuf_printf(out, "      #%-4u %-28s %s", r->id, r->svc_text ? r->svc_text : "",
					      r->name ? r->name : "");
				strbuf_puts(out, "\n");
			}
			n += head;
		}
	if (!n)
		strbuf_puts(out, "  (none: every zone pair denies everything)\n");
}
