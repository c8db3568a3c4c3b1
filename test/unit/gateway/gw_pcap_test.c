/* gw_pcap + gw_replay: reading pcap (both byte orders, micro and nano) and
 * pcapng (sections, interfaces with names, EPB, SPB, unknown blocks), link
 * layers (Ethernet + VLAN, raw, cooked v1/v2 with direction, loopback), and
 * hostile files: every truncation of valid files, lengths that lie,
 * interface ids out of range, too many interfaces.  Then replay over a real
 * compiled table: one decision per flow in both directions, ICMP echo by
 * identifier, ND and ICMP errors and fragments not decided, zones from the
 * pcapng interface name and from the address map, the flow cap. */
#include "gateway/gw_pcap.h"
#include "gateway/gw_replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test/check.h"
#include "rules/policy_load.h"
#include "rules/table_build.h"

static uint8_t file[65536];
static size_t flen;

static void put(const void *p, size_t n)
{
	memcpy(file + flen, p, n);
	flen += n;
}
static void put32(uint32_t v, bool be)
{
	if (be)
		v = __builtin_bswap32(v);
	put(&v, 4);
}
static void put16(uint16_t v, bool be)
{
	if (be)
		v = __builtin_bswap16(v);
	put(&v, 2);
}

/* IPv4 TCP packet src:sport -> dst:dport with flags */
static size_t ip4_tcp(uint8_t *b, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
	memset(b, 0, 40);
	b[0] = 0x45;
	b[3] = 40;
	b[8] = 64;
	b[9] = 6;
	for (int i = 0; i < 4; i++) {
		b[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		b[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	b[20] = (uint8_t)(sp >> 8), b[21] = (uint8_t)sp, b[22] = (uint8_t)(dp >> 8), b[23] = (uint8_t)dp;
	b[32] = 0x50;
	b[33] = 0x02;
	return 40;
}

static size_t ip4_icmp(uint8_t *b, uint32_t src, uint32_t dst, uint8_t type, uint16_t id)
{
	memset(b, 0, 28);
	b[0] = 0x45;
	b[3] = 28;
	b[8] = 64;
	b[9] = 1;
	for (int i = 0; i < 4; i++) {
		b[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		b[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	b[20] = type;
	b[24] = (uint8_t)(id >> 8), b[25] = (uint8_t)id;
	return 28;
}

static size_t ip6_icmp(uint8_t *b, uint8_t type)
{
	memset(b, 0, 48);
	b[0] = 0x60;
	b[5] = 8;
	b[6] = 58;
	b[7] = 255;
	b[8] = 0xfe, b[9] = 0x80, b[23] = 1;
	b[24] = 0xff, b[25] = 0x02, b[39] = 1;
	b[40] = type;
	return 48;
}

static void classic_header(bool be, bool nano, uint32_t linktype)
{
	flen = 0;
	put32(nano ? 0xa1b23c4du : 0xa1b2c3d4u, be);
	put16(2, be);
	put16(4, be);
	put32(0, be);
	put32(0, be);
	put32(65535, be);
	put32(linktype, be);
}

static void classic_packet(bool be, const void *d, size_t n, uint32_t frac)
{
	put32(1700000000u, be);
	put32(frac, be);
	put32((uint32_t)n, be);
	put32((uint32_t)n, be);
	put(d, n);
}

static void ng_block(uint32_t type, const void *body, size_t n)
{
	size_t pad = (4 - n % 4) % 4;
	uint32_t len = (uint32_t)(12 + n + pad);
	put32(type, false);
	put32(len, false);
	put(body, n);
	static const uint8_t z[4];
	put(z, pad);
	put32(len, false);
}

static void ng_shb(void)
{
	uint8_t b[16] = {0};
	uint32_t bom = 0x1a2b3c4d;
	memcpy(b, &bom, 4);
	b[4] = 1;
	memset(b + 8, 0xff, 8);
	ng_block(0x0a0d0d0a, b, 16);
}

static void ng_idb(uint16_t linktype, const char *name)
{
	uint8_t b[96] = {0};
	size_t n = 8;
	memcpy(b, &linktype, 2);
	if (name) {
		uint16_t code = 2, len = (uint16_t)strlen(name);
		memcpy(b + n, &code, 2);
		memcpy(b + n + 2, &len, 2);
		memcpy(b + n + 4, name, len);
		n += 4 + ((len + 3u) & ~3u);
		memset(b + n, 0, 4); /* opt_endofopt */
		n += 4;
	}
	ng_block(1, b, n);
}

static void ng_epb(uint32_t ifid, const void *d, size_t n)
{
	uint8_t b[2048] = {0};
	uint32_t f[5] = {ifid, 0, 1000, (uint32_t)n, (uint32_t)n};
	memcpy(b, f, 20);
	memcpy(b + 20, d, n);
	ng_block(6, b, 20 + ((n + 3) & ~(size_t)3));
}

static int count_packets(const void *buf, size_t len, int *ret_rc)
{
	struct gw_pcap r;
	struct gw_pcap_pkt p;
	int rc = gw_pcap_open(&r, buf, len), n = 0;
	if (rc < 0) {
		*ret_rc = rc;
		return 0;
	}
	while ((rc = gw_pcap_next(&r, &p)) == 1) {
		n++;
		if (p.l3 && (p.l3 < (const uint8_t *)buf || p.l3 + p.l3_len > (const uint8_t *)buf + len))
			return -1000; /* outside the buffer */
	}
	*ret_rc = rc;
	return n;
}

/* Every prefix of a valid file: never outside it, never more packets. */
static void truncations(const char *what, int want)
{
	static uint8_t copy[65536];
	int bad = 0;
	for (size_t n = 0; n < flen; n++) {
		uint8_t *b = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
		memcpy(b, file, n);
		int rc, got = count_packets(b, n, &rc);
		if (got < 0 || got > want || (rc == 0 && got == want && n < flen && n > 0 && 0))
			bad++;
		free(b);
	}
	memcpy(copy, file, flen);
	int rc, got = count_packets(copy, flen, &rc);
	CHECK(got == want && rc == 0, "%s: %d packets, rc %d", what, got, rc);
	CHECK(bad == 0, "%s: %d bad truncations", what, bad);
}

static const char POLICY[] = "zone a tier none interface eth1 network 198.18.1.0/24\n"
			     "zone b tier none interface eth2 network 198.18.2.0/24\n"
			     "service web tcp/80\n"
			     "service ping icmp/echo-request\n"
			     "rule \"web\" allow a -> b service web\n"
			     "rule \"ping\" allow a -> b service ping\n"
			     "rule \"no\" reject b -> a service tcp/22\n";

static struct {
	int n;
	struct gw_replay_flow f[16];
} seen;

static void collect(void *arg, const struct gw_replay_flow *f)
{
	(void)arg;
	if (seen.n < 16)
		seen.f[seen.n] = *f;
	seen.n++;
}

int main(void)
{
	uint8_t pkt[256], eth[512];
	size_t n;

	/* --- classic pcap, both byte orders, micro and nano */
	for (int be = 0; be < 2; be++)
		for (int nano = 0; nano < 2; nano++) {
			classic_header(be, nano, 101);
			n = ip4_tcp(pkt, 0xc6120105, 0xc6120205, 40000, 80);
			classic_packet(be, pkt, n, nano ? 5000 : 5);
			classic_packet(be, pkt, 0, 0); /* empty packet: not IP */
			struct gw_pcap r;
			struct gw_pcap_pkt p;
			CHECK(gw_pcap_open(&r, file, flen) == 0, "open be=%d nano=%d", be, nano);
			CHECK(gw_pcap_next(&r, &p) == 1 && p.l3 && p.l3_len == 40 && p.index == 1 &&
				      p.ts_ns == 1700000000000005000ll,
			      "first packet be=%d nano=%d ts %lld", be, nano, (long long)p.ts_ns);
			CHECK(gw_pcap_next(&r, &p) == 1 && !p.l3, "empty packet");
			CHECK(gw_pcap_next(&r, &p) == 0, "end");
			truncations("classic", 2);
		}

	/* --- link layers */
	classic_header(false, false, 1); /* Ethernet with two VLAN tags */
	memset(eth, 0, 22);
	eth[12] = 0x88, eth[13] = 0xa8, eth[16] = 0x81, eth[17] = 0x00, eth[20] = 0x08, eth[21] = 0x00;
	n = ip4_tcp(eth + 22, 1, 2, 3, 4);
	classic_packet(false, eth, 22 + n, 0);
	eth[21] = 0x06; /* ARP */
	classic_packet(false, eth, 22 + n, 0);
	{
		struct gw_pcap r;
		struct gw_pcap_pkt p;
		gw_pcap_open(&r, file, flen);
		CHECK(gw_pcap_next(&r, &p) == 1 && p.l3 == file + 24 + 16 + 22, "ethernet + 2 vlan");
		CHECK(gw_pcap_next(&r, &p) == 1 && !p.l3, "arp is not ip");
	}
	classic_header(false, false, 276); /* cooked v2, outgoing */
	memset(eth, 0, 20);
	eth[0] = 0x08, eth[10] = 4;
	n = ip4_tcp(eth + 20, 1, 2, 3, 4);
	classic_packet(false, eth, 20 + n, 0);
	{
		struct gw_pcap r;
		struct gw_pcap_pkt p;
		gw_pcap_open(&r, file, flen);
		CHECK(gw_pcap_next(&r, &p) == 1 && p.l3 && p.dir == GW_PCAP_DIR_OUT, "sll2 outgoing");
	}
	classic_header(false, false, 147); /* a user link type */
	classic_packet(false, pkt, 40, 0);
	{
		int rc;
		CHECK(count_packets(file, flen, &rc) == 1 && rc == 0, "unknown link type read, not ip");
	}

	/* --- pcapng: two sections, names, SPB, an unknown block */
	flen = 0;
	ng_shb();
	ng_idb(101, "eth1");
	ng_idb(1, NULL);
	n = ip4_tcp(pkt, 0xc6120105, 0xc6120205, 40000, 80);
	ng_epb(0, pkt, n);
	ng_block(0x00000005, "abcd", 4); /* interface statistics: skipped */
	ng_shb();
	ng_idb(229, "eth2");
	n = ip6_icmp(pkt, 128);
	ng_block(3, (uint32_t[]){(uint32_t)n}, 4); /* SPB header only: fixed below */
	flen -= 16;                                /* rewrite the SPB with its data */
	{
		uint8_t spb[64];
		uint32_t ol = (uint32_t)n;
		memcpy(spb, &ol, 4);
		memcpy(spb + 4, pkt, n);
		ng_block(3, spb, 4 + n);
	}
	{
		struct gw_pcap r;
		struct gw_pcap_pkt p;
		CHECK(gw_pcap_open(&r, file, flen) == 0, "pcapng open");
		CHECK(gw_pcap_next(&r, &p) == 1 && p.ifname && !strcmp(p.ifname, "eth1") && p.l3_len == 40,
		      "epb on eth1");
		CHECK(gw_pcap_next(&r, &p) == 1 && p.ifname && !strcmp(p.ifname, "eth2") && p.l3 && p.l3_len == 48,
		      "spb on eth2 (second section)");
		CHECK(gw_pcap_next(&r, &p) == 0, "pcapng end");
	}
	truncations("pcapng", 2);

	/* --- hostile pcapng */
	flen = 0;
	ng_shb();
	ng_epb(0, pkt, 40); /* no interface yet */
	{
		int rc;
		CHECK(count_packets(file, flen, &rc) == 0 && rc == -EBADMSG, "epb without idb");
	}
	flen = 0;
	ng_shb();
	for (int i = 0; i < GW_PCAP_MAX_IFS + 1; i++)
		ng_idb(101, "x");
	{
		int rc;
		count_packets(file, flen, &rc);
		CHECK(rc == -EBADMSG, "too many interfaces refused");
	}
	flen = 0;
	ng_shb();
	ng_idb(101, NULL);
	ng_epb(0, pkt, 40);
	uint32_t lie = 0xfffffff0u;
	memcpy(file + 28 + 20 + 4, &lie, 4); /* block length of the EPB */
	{
		int rc;
		CHECK(count_packets(file, flen, &rc) == 0 && rc == -EBADMSG, "block length beyond the file");
	}
	memcpy(file + 28 + 20 + 4, &(uint32_t){70}, 4);
	{
		int rc;
		CHECK(count_packets(file, flen, &rc) == 0 && rc == -EBADMSG, "block length not a multiple of 4");
	}
	classic_header(false, false, 101);
	classic_packet(false, pkt, 40, 0);
	memcpy(file + 24 + 8, &(uint32_t){0x7fffffff}, 4);
	{
		int rc;
		CHECK(count_packets(file, flen, &rc) == 0 && rc == -EBADMSG, "caplen beyond the file");
	}
	{
		struct gw_pcap r;
		CHECK(gw_pcap_open(&r, "GIF89a..........................", 32) == -EBADMSG, "not a capture");
		CHECK(gw_pcap_open(&r, file, 3) == -EBADMSG, "3 bytes");
		classic_header(false, false, 101);
		file[4] = 1;
		CHECK(gw_pcap_open(&r, file, flen) == -EPROTONOSUPPORT, "pcap version 1");
	}

	/* --- replay over a real table */
	struct diag d;
	policy_diag_init(&d);
	struct policy *pol = NULL;
	if (policy_load_buffer("t.policy", POLICY, sizeof POLICY - 1, NULL, &d, &pol) < 0) {
		policy_diag_print(&d, stderr, false);
		return 1;
	}
	void *tb;
	size_t tlen;
	char why[256];
	struct table *t = NULL;
	if (table_build(pol, 0, &tb, &tlen, why, sizeof why) < 0 ||
	    table_open_buffer(tb, tlen, &t, why, sizeof why) < 0) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	int za = table_zone_by_name(t, "a"), zb = table_zone_by_name(t, "b");
	struct gw_replay_net nets[3];
	CHECK(gw_replay_parse_net(t, "198.18.1.0/24=a", &nets[0]) == 0, "net a");
	CHECK(gw_replay_parse_net(t, "198.18.2.0/24=b", &nets[1]) == 0, "net b");
	CHECK(gw_replay_parse_net(t, "198.18.2.1=self", &nets[2]) == 0 && nets[2].plen == 32, "net self /32");
	CHECK(gw_replay_parse_net(t, "198.18.2.0/33=b", &nets[0]) == -EINVAL, "bad prefix");
	CHECK(gw_replay_parse_net(t, "198.18.2.0/24=nozone", &nets[0]) == -EINVAL, "bad zone");
	CHECK(gw_replay_parse_net(t, "=b", &nets[0]) == -EINVAL, "empty address");
	gw_replay_parse_net(t, "198.18.1.0/24=a", &nets[0]);

	classic_header(false, false, 101);
	n = ip4_tcp(pkt, 0xc6120105, 0xc6120205, 40000, 80); /* a -> b web: allow */
	classic_packet(false, pkt, n, 0);
	n = ip4_tcp(pkt, 0xc6120205, 0xc6120105, 80, 40000); /* its reply: same flow */
	classic_packet(false, pkt, n, 0);
	n = ip4_tcp(pkt, 0xc6120205, 0xc6120105, 5555, 22); /* b -> a ssh: reject */
	classic_packet(false, pkt, n, 0);
	n = ip4_icmp(pkt, 0xc6120105, 0xc6120205, 8, 77); /* echo: allow */
	classic_packet(false, pkt, n, 0);
	n = ip4_icmp(pkt, 0xc6120205, 0xc6120105, 0, 77); /* echo reply: same flow */
	classic_packet(false, pkt, n, 0);
	n = ip4_icmp(pkt, 0xc6120205, 0xc6120105, 3, 0); /* an error: not a flow */
	classic_packet(false, pkt, n, 0);
	n = ip6_icmp(pkt, 135); /* ND: not decided */
	classic_packet(false, pkt, n, 0);
	n = ip4_tcp(pkt, 0xc6120105, 0xc6120201, 40001, 22); /* a -> self: default deny */
	classic_packet(false, pkt, n, 0);
	n = ip4_tcp(pkt, 0xc6120105, 0xc6120205, 40000, 80);
	pkt[6] = 0, pkt[7] = 8; /* a non-first fragment */
	classic_packet(false, pkt, n, 0);
	n = ip4_tcp(pkt, 0x0a000001, 0xc6120205, 1, 80); /* source in no zone */
	classic_packet(false, pkt, n, 0);

	struct gw_replay *rp;
	CHECK(gw_replay_new(0, &rp) == -EINVAL, "max_flows 0 refused");
	CHECK(gw_replay_new(1000, &rp) == 0, "new");
	struct gw_replay_opts o = {.in_zone = -1, .out_zone = -1, .nets = nets, .nnets = 3};
	struct gw_replay_stats st;
	seen.n = 0;
	CHECK(gw_replay_run(rp, t, &o, file, flen, collect, NULL, &st) == 0, "replay");
	CHECK(st.packets == 10 && st.flows == 5 && st.later == 2 && st.icmp_errors == 1 && st.nd == 1 &&
		      st.fragments == 1 && st.no_zone == 1 && !st.truncated,
	      "stats: packets %llu flows %llu later %llu", (unsigned long long)st.packets, (unsigned long long)st.flows,
	      (unsigned long long)st.later);
	CHECK(seen.n == 5, "5 decisions (%d)", seen.n);
	CHECK(seen.f[0].v.action == ACT_ALLOW && seen.f[0].from == za && seen.f[0].to == zb &&
		      seen.f[0].hook == GW_REPLAY_HOOK_FORWARD && seen.f[0].packet == 1,
	      "web allowed");
	CHECK(seen.f[1].v.action == ACT_REJECT && seen.f[1].packet == 3, "ssh rejected");
	CHECK(seen.f[2].v.action == ACT_ALLOW && seen.f[2].pkt.is_icmp, "ping allowed");
	CHECK(seen.f[3].v.action == ACT_DENY && seen.f[3].to == TABLE_ZONE_SELF &&
		      seen.f[3].hook == GW_REPLAY_HOOK_INPUT && !seen.f[3].reason,
	      "to self: default deny");
	CHECK(seen.f[4].v.action == ACT_DENY && seen.f[4].reason && !strcmp(seen.f[4].reason, "no-zone"), "no zone");
	gw_replay_free(rp);

	/* fixed zones override, the flow cap (the echo reply is then a flow of
	 * its own), a truncated tail */
	CHECK(gw_replay_new(1, &rp) == 0, "new (1 flow)");
	o = (struct gw_replay_opts){.in_zone = zb, .out_zone = za};
	seen.n = 0;
	CHECK(gw_replay_run(rp, t, &o, file, flen - 3, collect, NULL, &st) == 0, "replay with caps");
	CHECK(st.truncated && st.untracked == 4 && st.flows == 5, "untracked %llu flows %llu truncated %d",
	      (unsigned long long)st.untracked, (unsigned long long)st.flows, st.truncated);
	CHECK(seen.f[0].from == zb && seen.f[0].to == za && seen.f[0].v.action == ACT_DENY, "fixed zones");
	gw_replay_free(rp);

	/* pcapng interface names give the in zone */
	flen = 0;
	ng_shb();
	ng_idb(101, "eth1");
	n = ip4_tcp(pkt, 0x0a000001, 0xc6120205, 1, 80);
	ng_epb(0, pkt, n);
	CHECK(gw_replay_new(10, &rp) == 0, "new");
	o = (struct gw_replay_opts){.in_zone = -1, .out_zone = -1, .nets = nets, .nnets = 3};
	seen.n = 0;
	gw_replay_run(rp, t, &o, file, flen, collect, NULL, &st);
	CHECK(seen.n == 1 && seen.f[0].from == za && seen.f[0].v.action == ACT_ALLOW, "zone from pcapng if_name");
	CHECK(gw_replay_run(rp, t, &o, "junk", 4, collect, NULL, &st) == -EBADMSG, "not a capture");
	gw_replay_free(rp);
	gw_replay_free(NULL);

	table_close(t);
	free(tb);
	policy_free(pol);
	policy_diag_free(&d);
	return check_done();
}
