/* policy_nft: the nftables backstop (see policy_nft.h).
 *
 * The datapath daemon decides every new flow; this ruleset sits beside it in
 * its own table, "inet sekisho_backstop", and drops whatever the three-tier
 * invariants forbid, so that a bug in the daemon cannot open a path between
 * segments.  It only ever drops: traffic it does not forbid is left to the
 * daemon (chain policy accept).
 *
 * IPv6 neighbour discovery with hop limit 255 is accepted in input and
 * output: it is link-local, never crosses a segment, and the appliance needs
 * it to reach its neighbours.
 *
 * Shape: the base chains (forward, input, output) send packets that cross an
 * invariant's boundary (by interface) to one regular chain per invariant and
 * direction; that chain returns for what the invariant permits (conforming
 * exception rules, relay traffic) and drops the rest.  Packets of
 * established flows are accepted first: the gate is the flow's first packet,
 * which had to pass here.  Reloading is one atomic transaction that flushes
 * and refills this table only; the appliance's own base chains (and the
 * packets queued in them) are never touched.
 *
 * Which paths are guarded and what passes them is policy.c's (the reference
 * semantics, the same functions the prover uses); semantics_test runs this
 * text on random policies and checks that it drops exactly what they
 * forbid. */
#include "rules/policy_nft.h"

#include <stdio.h>
#include <string.h>

#define NFT_TABLE "sekisho_backstop"

static bool zones_have_ifs(const struct policy *p, uint64_t zones, const char **missing)
{
	for (unsigned z = 0; z < p->nzones; z++)
		if ((zones >> z & 1) && z != TABLE_ZONE_SELF && p->zones[z].nif == 0) {
			*missing = p->zones[z].name;
			return false;
		}
	return true;
}

/* { "eth1", "eth2" } for the zones in mask (self excluded). */
static void put_ifset(const struct policy *p, uint64_t zones, struct strbuf *out)
{
	bool first = true;
	strbuf_puts(out, "{ ");
	for (unsigned z = 1; z < p->nzones; z++) {
		if (!(zones >> z & 1))
			continue;
		for (unsigned i = 0; i < p->zones[z].nif; i++) {
			strbuf_printf(out, "%s\"%s\"", first ? "" : ", ", p->zones[z].ifnames[i]);
			first = false;
		}
	}
	strbuf_puts(out, " }");
}

static void put_ranges(int family, const struct ip_range *r, uint32_t n, struct strbuf *out)
{
	char buf[2 * INADDR_STRLEN + 1];
	strbuf_puts(out, "{ ");
	for (uint32_t i = 0; i < n; i++)
		strbuf_printf(out, "%s%s", i ? ", " : "",
			      inaddr_format_span(family, r[i].lo, r[i].hi, buf, sizeof buf));
	strbuf_puts(out, " }");
}

/* Address match for one family: "" for any, " ip saddr { ... }" otherwise.
 * Returns false when the set has nothing in this family (no line at all). */
static bool put_addr_match(int family, const char *dir, const struct addr_set *s, bool any, struct strbuf *out)
{
	const struct ip_range *r = family == 4 ? s->v4 : s->v6;
	uint32_t n = family == 4 ? s->n4 : s->n6;
	if (any)
		return true;
	if (n == 0)
		return false;
	if (n == 1 && r[0].lo == 0 && r[0].hi == inaddr_family_max(family))
		return true;
	strbuf_printf(out, " %s %s ", family == 4 ? "ip" : "ip6", dir);
	put_ranges(family, r, n, out);
	return true;
}

static void put_port_range(const char *what, unsigned lo, unsigned hi, struct strbuf *out)
{
	if (lo == 0 && hi == 0xffff)
		return;
	if (lo == hi)
		strbuf_printf(out, " %s %u", what, lo);
	else
		strbuf_printf(out, " %s %u-%u", what, lo, hi);
}

/* Emit one line per piece of a service entry that nft can match exactly:
 * prefix + match + suffix.  Key ranges are split per protocol, and ICMP
 * ranges per type, so nothing is widened. */
static void emit_svc_lines(int family, const struct svc_range *s, const char *prefix, const char *suffix,
			   struct strbuf *out)
{
	if (s->key_lo == 0 && s->key_hi == SVC_KEY_MAX && s->sport_lo == 0 && s->sport_hi == 0xffff) {
		strbuf_printf(out, "\t\t%s %s\n", prefix, suffix);
		return;
	}
	for (uint32_t proto = s->key_lo >> 16; proto <= (s->key_hi >> 16); proto++) {
		unsigned lo = proto == (s->key_lo >> 16) ? (s->key_lo & 0xffff) : 0;
		unsigned hi = proto == (s->key_hi >> 16) ? (s->key_hi & 0xffff) : 0xffff;
		bool icmp = proto == 1 || proto == 58;
		if ((proto == 1 && family == 6) || (proto == 58 && family == 4))
			continue; /* cannot occur in this family */
		if (icmp) {
			const char *kw = proto == 1 ? "icmp" : "icmpv6";
			if (lo == 0 && hi == 0xffff) {
				strbuf_printf(out, "\t\t%s meta l4proto %s %s\n", prefix, kw, suffix);
				continue;
			}
			for (unsigned t = lo >> 8; t <= (hi >> 8); t++) {
				unsigned clo = t == (lo >> 8) ? (lo & 0xff) : 0;
				unsigned chi = t == (hi >> 8) ? (hi & 0xff) : 0xff;
				strbuf_printf(out, "\t\t%s %s type %u", prefix, kw, t);
				if (!(clo == 0 && chi == 0xff)) {
					if (clo == chi)
						strbuf_printf(out, " %s code %u", kw, clo);
					else
						strbuf_printf(out, " %s code %u-%u", kw, clo, chi);
				}
				strbuf_printf(out, " %s\n", suffix);
			}
			continue;
		}
		strbuf_printf(out, "\t\t%s meta l4proto %u", prefix, proto);
		if (table_proto_has_ports((uint8_t)proto)) {
			put_port_range("th dport", lo, hi, out);
			put_port_range("th sport", s->sport_lo, s->sport_hi, out);
		}
		strbuf_printf(out, " %s\n", suffix);
	}
}

/* Lines that "return" (permit) the packets a rule or relay admits; ifs
 * restricts them by interface ("" or "iifname { ... } "). */
static void emit_permit(const char *ifs, int family, const struct addr_set *src, bool src_any,
			const struct addr_set *dst, bool dst_any, const struct svc_range *svc, uint32_t nsvc,
			const char *comment, struct strbuf *out)
{
	struct strbuf pre = STRBUF_INIT;
	strbuf_printf(&pre, "%smeta nfproto %s", ifs, family == 4 ? "ipv4" : "ipv6");
	if (!put_addr_match(family, "saddr", src, src_any, &pre) ||
	    !put_addr_match(family, "daddr", dst, dst_any, &pre)) {
		strbuf_free(&pre);
		return;
	}
	char suffix[200];
	snprintf(suffix, sizeof suffix, "return comment \"%s\"", comment);
	for (uint32_t i = 0; i < nsvc; i++)
		emit_svc_lines(family, &svc[i], strbuf_str(&pre), suffix, out);
	strbuf_free(&pre);
}

static bool zones_any_if(const struct policy *p, uint64_t zones)
{
	for (unsigned z = 1; z < p->nzones; z++)
		if ((zones >> z & 1) && p->zones[z].nif)
			return true;
	return false;
}

/* Does the rule decide some pair of from x to that crosses the isolate? */
static bool rule_crosses(const struct policy *p, const struct policy_rule *r, uint64_t zones, uint64_t from,
			 uint64_t to)
{
	for (unsigned f = 0; f < p->nzones; f++)
		for (unsigned t = 0; t < p->nzones; t++)
			if ((from >> f & 1) && (to >> t & 1) && policy_isolate_crosses(zones, f, t))
				return true;
	return false;
}

/* Chain for one isolate invariant: permits its exception rules for packets
 * crossing between inside (zones) and outside, each only between the
 * interfaces of its own zones (with_iif / with_oif: the hook has them). */
static void emit_isolate_chain(const struct policy *p, unsigned idx, const char *hook, uint64_t from_ok, uint64_t to_ok,
			       struct strbuf *out)
{
	const struct policy_isolate *iso = &p->isolate[idx];
	bool with_iif = strcmp(hook, "out") != 0, with_oif = strcmp(hook, "in") != 0;
	strbuf_printf(out, "\tchain iso%u_%s {\n\t\t# %s\n", idx, hook, iso->text);
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		uint64_t from = r->from_zones & from_ok, to = r->to_zones & to_ok;
		if (!policy_rule_is_exception(r) || !rule_crosses(p, r, iso->zones, from, to))
			continue;
		if ((with_iif && !zones_any_if(p, from)) || (with_oif && !zones_any_if(p, to)))
			continue;
		struct strbuf ifs = STRBUF_INIT;
		if (with_iif) {
			strbuf_puts(&ifs, "iifname ");
			put_ifset(p, from, &ifs);
			strbuf_puts(&ifs, " ");
		}
		if (with_oif) {
			strbuf_puts(&ifs, "oifname ");
			put_ifset(p, to, &ifs);
			strbuf_puts(&ifs, " ");
		}
		char comment[64];
		snprintf(comment, sizeof comment, "rule %u", r->id);
		for (int fam = 4; fam <= 6; fam += 2)
			emit_permit(strbuf_str(&ifs), fam, &r->src, false, &r->dst, false, r->svc, r->nsvc, comment,
				    out);
		strbuf_free(&ifs);
	}
	strbuf_printf(out, "\t\tcounter drop comment \"%s\"\n\t}\n", iso->text);
}

/* Does some sanitize statement govern the path f -> t (self included)? */
static bool sanitize_governs(const struct policy *p, unsigned f, unsigned t)
{
	for (uint32_t i = 0; i < p->nsanitize; i++) {
		bool relays;
		if (policy_sanitize_path(&p->sanitize[i], f, t, &relays) != SANITIZE_FREE)
			return true;
	}
	return false;
}

/* One chain per restricted zone pair: the union of what every statement
 * declaring that direction permits, then drop.  Several statements over the
 * same sides add relays; they never narrow each other. */
static void emit_sanitize_chain(const struct policy *p, unsigned f, unsigned t, struct strbuf *out)
{
	static const struct addr_set none;
	strbuf_printf(out, "\tchain san_%s_%s {\n", p->zones[f].name, p->zones[t].name);
	for (uint32_t i = 0; i < p->nsanitize; i++) {
		const struct policy_sanitize *s = &p->sanitize[i];
		bool relays;
		if (policy_sanitize_path(s, f, t, &relays) == SANITIZE_FREE || !relays)
			continue;
		strbuf_printf(out, "\t\t# %s\n", s->text);
		const struct addr_set *dst;
		if (!policy_sanitize_relays(s, t == TABLE_ZONE_SELF, &dst))
			continue;
		for (int fam = 4; fam <= 6; fam += 2)
			emit_permit("", fam, &none, true, dst ? dst : &none, !dst, s->svc, s->nsvc, "relay", out);
	}
	strbuf_printf(out, "\t\tcounter drop comment \"no direct path %s -> %s\"\n\t}\n", p->zones[f].name,
		      p->zones[t].name);
}

/* An isolate that holds self: packets between the appliance and the zones
 * outside cross its boundary (input from, output to their interfaces). */
static void emit_isolate_self(const struct policy *p, unsigned i, uint64_t outside, struct strbuf *out,
			      struct strbuf *in, struct strbuf *outp)
{
	const uint64_t self = 1ull << TABLE_ZONE_SELF;
	if (!zones_any_if(p, outside))
		return;
	emit_isolate_chain(p, i, "in", outside, self, out);
	emit_isolate_chain(p, i, "out", self, outside, out);
	strbuf_puts(in, "\t\tiifname ");
	put_ifset(p, outside, in);
	strbuf_printf(in, " jump iso%u_in\n", i);
	strbuf_puts(outp, "\t\toifname ");
	put_ifset(p, outside, outp);
	strbuf_printf(outp, " jump iso%u_out\n", i);
}

int policy_nft_emit(const struct policy *p, struct strbuf *out, char *why, size_t whylen)
{
	const char *missing = NULL;
	for (uint32_t i = 0; i < p->nisolate; i++)
		if (!zones_have_ifs(p, p->isolate[i].zones, &missing)) {
			snprintf(why, whylen, "zone '%s' of invariant '%s' has no interfaces", missing,
				 p->isolate[i].text);
			return -22;
		}
	for (uint32_t i = 0; i < p->nsanitize; i++)
		if (!zones_have_ifs(p, p->sanitize[i].a_zones | p->sanitize[i].b_zones, &missing)) {
			snprintf(why, whylen, "zone '%s' of invariant '%s' has no interfaces", missing,
				 p->sanitize[i].text);
			return -22;
		}

	strbuf_puts(out, "#!/usr/sbin/nft -f\n");
	strbuf_printf(out, "# sekisho three-tier backstop for policy \"%s\" version \"%s\"\n", p->name ? p->name : "",
		      p->version ? p->version : "");
	strbuf_puts(out, "# policy sha256 ");
	for (int i = 0; i < 32; i++)
		strbuf_printf(out, "%02x", p->sha256[i]);
	strbuf_puts(out,
		    "\n# Generated by sekisho-rulec emit-nft.  Drops only what the invariants forbid;\n"
		    "# everything else is decided by sekisho-gatewayd.  Applying this file replaces\n"
		    "# this table atomically and touches no other table.\n\n");
	strbuf_puts(out, "table inet " NFT_TABLE "\nflush table inet " NFT_TABLE "\n\n");
	strbuf_puts(out, "table inet " NFT_TABLE " {\n");

	const uint64_t self = 1ull << TABLE_ZONE_SELF;
	const uint64_t all = policy_zones_all(p);
	struct strbuf fwd = STRBUF_INIT, in = STRBUF_INIT, outp = STRBUF_INIT;

	for (uint32_t i = 0; i < p->nisolate; i++) {
		uint64_t m = p->isolate[i].zones & ~self;
		uint64_t outside = all & ~m & ~self;
		if (!m) {
			/* "isolate self": the appliance against every zone */
			if (p->isolate[i].zones & self)
				emit_isolate_self(p, i, outside, out, &in, &outp);
			continue;
		}
		emit_isolate_chain(p, i, "fwd", all & ~self, all & ~self, out);
		strbuf_puts(&fwd, "\t\tiifname ");
		put_ifset(p, m, &fwd);
		strbuf_puts(&fwd, " oifname != ");
		put_ifset(p, m, &fwd);
		strbuf_printf(&fwd, " jump iso%u_fwd\n", i);
		if (outside) {
			strbuf_puts(&fwd, "\t\tiifname != ");
			put_ifset(p, m, &fwd);
			strbuf_puts(&fwd, " oifname ");
			put_ifset(p, m, &fwd);
			strbuf_printf(&fwd, " jump iso%u_fwd\n", i);
		}
		if (p->isolate[i].zones & self) {
			emit_isolate_self(p, i, outside, out, &in, &outp);
		} else {
			emit_isolate_chain(p, i, "in", m, self, out);
			emit_isolate_chain(p, i, "out", self, m, out);
			strbuf_puts(&in, "\t\tiifname ");
			put_ifset(p, m, &in);
			strbuf_printf(&in, " jump iso%u_in\n", i);
			strbuf_puts(&outp, "\t\toifname ");
			put_ifset(p, m, &outp);
			strbuf_printf(&outp, " jump iso%u_out\n", i);
		}
	}
	for (unsigned f = 1; f < p->nzones; f++) {
		for (unsigned t = 1; t < p->nzones; t++) {
			if (!sanitize_governs(p, f, t))
				continue;
			emit_sanitize_chain(p, f, t, out);
			strbuf_puts(&fwd, "\t\tiifname ");
			put_ifset(p, 1ull << f, &fwd);
			strbuf_puts(&fwd, " oifname ");
			put_ifset(p, 1ull << t, &fwd);
			strbuf_printf(&fwd, " jump san_%s_%s\n", p->zones[f].name, p->zones[t].name);
		}
		if (sanitize_governs(p, f, TABLE_ZONE_SELF)) {
			emit_sanitize_chain(p, f, TABLE_ZONE_SELF, out);
			strbuf_puts(&in, "\t\tiifname ");
			put_ifset(p, 1ull << f, &in);
			strbuf_printf(&in, " jump san_%s_self\n", p->zones[f].name);
		}
	}
	/* the appliance as one side of a statement: its own packets out */
	for (unsigned t = 1; t < p->nzones; t++) {
		if (!sanitize_governs(p, TABLE_ZONE_SELF, t))
			continue;
		emit_sanitize_chain(p, TABLE_ZONE_SELF, t, out);
		strbuf_puts(&outp, "\t\toifname ");
		put_ifset(p, 1ull << t, &outp);
		strbuf_printf(&outp, " jump san_self_%s\n", p->zones[t].name);
	}

	static const struct {
		const char *name, *hook;
	} hooks[] = {{"forward", "forward"}, {"input", "input"}, {"output", "output"}};
	struct strbuf *bodies[] = {&fwd, &in, &outp};
	for (int h = 0; h < 3; h++) {
		strbuf_printf(out, "\tchain %s {\n\t\ttype filter hook %s priority filter - 10; policy accept;\n",
			      hooks[h].name, hooks[h].hook);
		if (bodies[h]->len)
			strbuf_puts(out, "\t\tct state established,related accept\n");
		/* IPv6 neighbour discovery is untracked and never crosses a
		 * segment; without it the appliance reaches no IPv6 neighbour.
		 * Hop limit 255 proves it came from the link itself (RFC 4861). */
		if (h > 0 && bodies[h]->len)
			strbuf_puts(out,
				    "\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
				    "nd-neighbor-advert, nd-redirect } ip6 hoplimit 255 accept\n");
		strbuf_puts(out, strbuf_str(bodies[h]));
		strbuf_puts(out, "\t}\n");
		strbuf_free(bodies[h]);
	}
	strbuf_puts(out, "}\n");
	return 0;
}
