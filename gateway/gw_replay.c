/* gw_replay: decide the flows of a capture against a compiled table.
 *
 * Contract (gw_replay.h): the flow table is the only allocation (at
 * gw_replay_new, capped by GW_REPLAY_MAX_FLOWS); the capture buffer and the
 * table belong to the caller; nothing is printed.  The decision follows the
 * daemon (gw_worker.c decide()): zones, gw_parse_query, table_lookup; a packet
 * without zones is a deny with reason "no-zone". */
#include "gateway/gw_replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/table.h"

struct flow_key {
	u128 a, b;
	uint16_t pa, pb;
	uint8_t family, proto, used;
};

struct gw_replay {
	size_t max_flows, nflows, mask;
	struct flow_key *slots;
};

int gw_replay_new(size_t max_flows, struct gw_replay **ret)
{
	if (max_flows < 1 || max_flows > GW_REPLAY_MAX_FLOWS)
		return -EINVAL;
	size_t cap = 16;
	while (cap < max_flows * 2)
		cap *= 2;
	struct gw_replay *rp = calloc(1, sizeof *rp);
	if (!rp)
		return -ENOMEM;
	rp->slots = calloc(cap, sizeof *rp->slots);
	if (!rp->slots) {
		free(rp);
		return -ENOMEM;
	}
	rp->max_flows = max_flows;
	rp->mask = cap - 1;
	*ret = rp;
	return 0;
}

void gw_replay_free(struct gw_replay *rp)
{
	if (!rp)
		return;
	free(rp->slots);
	free(rp);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

/* The flow of a packet, the same in both directions. */
static void flow_key_of(const struct gw_pkt *p, struct flow_key *k)
{
	memset(k, 0, sizeof *k);
	uint16_t ps = p->sport, pd = p->dport;
	if (p->is_icmp) {
		ps = pd = p->icmp_id; /* queries and their replies share the identifier */
	}
	bool fwd = p->src < p->dst || (p->src == p->dst && ps <= pd);
	k->a = fwd ? p->src : p->dst;
	k->b = fwd ? p->dst : p->src;
	k->pa = fwd ? ps : pd;
	k->pb = fwd ? pd : ps;
	k->family = p->family;
	k->proto = p->proto;
	k->used = 1;
}

/* Insert the flow; returns 1 when new, 0 when known, -ENOSPC when full. */
static int flow_insert(struct gw_replay *rp, const struct flow_key *k)
{
	uint64_t h =
		mix(mix(mix(mix(0, (uint64_t)k->a), (uint64_t)(k->a >> 64)), (uint64_t)k->b), (uint64_t)(k->b >> 64));
	h = mix(h, (uint64_t)k->pa << 32 | (uint64_t)k->pb << 16 | (uint64_t)k->family << 8 | k->proto);
	for (size_t i = h & rp->mask;; i = (i + 1) & rp->mask) {
		struct flow_key *s = &rp->slots[i];
		if (!s->used) {
			if (rp->nflows >= rp->max_flows)
				return -ENOSPC;
			*s = *k;
			rp->nflows++;
			return 1;
		}
		if (s->a == k->a && s->b == k->b && s->pa == k->pa && s->pb == k->pb && s->family == k->family &&
		    s->proto == k->proto)
			return 0;
	}
}

static u128 prefix_mask(uint8_t family, uint8_t plen)
{
	unsigned bits = family == 4 ? 32 : 128;
	if (plen == 0)
		return 0;
	return (inaddr_family_max(family) << (bits - plen)) & inaddr_family_max(family);
}

static int net_zone(const struct gw_replay_opts *o, uint8_t family, u128 addr)
{
	int best = -1, bestlen = -1;
	for (size_t i = 0; i < o->nnets; i++) {
		const struct gw_replay_net *n = &o->nets[i];
		if (n->family != family || (int)n->plen <= bestlen)
			continue;
		u128 m = prefix_mask(family, n->plen);
		if ((addr & m) == (n->addr & m)) {
			best = n->zone;
			bestlen = n->plen;
		}
	}
	return best;
}

int gw_replay_parse_net(const struct table *t, const char *s, struct gw_replay_net *ret)
{
	const char *eq = strrchr(s, '=');
	if (!eq || eq == s || !eq[1])
		return -EINVAL;
	const char *slash = memchr(s, '/', (size_t)(eq - s));
	int family;
	u128 addr;
	if (inaddr_parsen(s, (size_t)((slash ? slash : eq) - s), &family, &addr) < 0)
		return -EINVAL;
	unsigned bits = family == 4 ? 32 : 128, plen = bits;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (end != eq || end == slash + 1 || v > bits)
			return -EINVAL;
		plen = (unsigned)v;
	}
	int z = table_zone_by_name(t, eq + 1);
	if (z < 0)
		return -EINVAL;
	*ret = (struct gw_replay_net){.family = (uint8_t)family, .plen = (uint8_t)plen, .addr = addr, .zone = z};
	return 0;
}

static bool is_nd(const struct gw_pkt *p)
{
	return p->family == 6 && p->is_icmp && p->icmp_type >= 133 && p->icmp_type <= 137;
}

/* t may be NULL (the fuzz target): every flow is then "no-zone". */
int gw_replay_run(struct gw_replay *rp, const struct table *t, const struct gw_replay_opts *o, const void *buf,
		  size_t len, gw_replay_fn *fn, void *arg, struct gw_replay_stats *st)
{
	memset(st, 0, sizeof *st);
	struct gw_pcap r;
	int rc = gw_pcap_open(&r, buf, len);
	if (rc < 0)
		return rc;
	struct gw_pcap_pkt pp;
	while ((rc = gw_pcap_next(&r, &pp)) == 1) {
		st->packets++;
		if (!pp.l3) {
			st->not_ip++;
			continue;
		}
		if (pp.dir == GW_PCAP_DIR_OUT && !o->keep_outgoing) {
			st->outgoing++;
			continue;
		}
		struct gw_replay_flow f = {.packet = pp.index,
					   .ts_ns = pp.ts_ns,
					   .ifname = pp.ifname,
					   .from = -1,
					   .to = -1,
					   .v = {.action = ACT_DENY, .rule_index = UINT32_MAX}};
		int pr = gw_parse_packet(pp.l3, pp.l3_len, &f.pkt);
		if (pr == -EPROTO) {
			st->fragments++;
			continue;
		}
		if (pr < 0) {
			st->parse_errors++;
			continue;
		}
		if (is_nd(&f.pkt)) {
			st->nd++;
			continue;
		}
		if (gw_parse_is_icmp_error(&f.pkt)) {
			st->icmp_errors++;
			continue;
		}
		struct flow_key k;
		flow_key_of(&f.pkt, &k);
		int ins = flow_insert(rp, &k);
		if (ins == 0) {
			st->later++;
			continue;
		}
		if (ins < 0) {
			f.untracked = true;
			st->untracked++;
		}
		st->flows++;
		f.from = o->in_zone;
		if (f.from < 0 && pp.ifname && t)
			f.from = table_zone_by_ifname(t, pp.ifname);
		if (f.from < 0)
			f.from = net_zone(o, f.pkt.family, f.pkt.src);
		f.to = o->out_zone >= 0 ? o->out_zone : net_zone(o, f.pkt.family, f.pkt.dst);
		f.hook = f.to == TABLE_ZONE_SELF    ? GW_REPLAY_HOOK_INPUT
			: f.from == TABLE_ZONE_SELF ? GW_REPLAY_HOOK_OUTPUT
						    : GW_REPLAY_HOOK_FORWARD;
		if (!t || f.from < 0 || f.to < 0 || (f.from == TABLE_ZONE_SELF && f.to == TABLE_ZONE_SELF)) {
			f.reason = "no-zone";
			st->no_zone++;
		} else {
			struct table_query q;
			gw_parse_query(&f.pkt, (uint8_t)f.from, (uint8_t)f.to, &q);
			table_lookup(t, &q, &f.v);
		}
		if (f.reason)
			f.v.action = ACT_DENY;
		if (f.v.action == ACT_ALLOW)
			st->allowed++;
		else if (f.v.action == ACT_REJECT)
			st->rejected++;
		else
			st->denied++;
		fn(arg, &f);
	}
	if (rc < 0) {
		st->truncated = true;
		st->error_offset = gw_pcap_offset(&r);
	}
	return 0;
}
