/* gw_pcap: a hostile-file reader of pcap and pcapng captures in memory.
 *
 * Contract (see gw_pcap.h): no allocation, no output; every length read
 * from the file is checked against the buffer before use; an inconsistent
 * record ends the reading with -EBADMSG.  A packet counter is kept so that
 * a caller can name the packet in messages. */
#include "gateway/gw_pcap.h"

#include <errno.h>
#include <string.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define NG_SHB 0x0a0d0d0au
#define NG_IDB 0x00000001u
#define NG_SPB 0x00000003u
#define NG_EPB 0x00000006u
#define NG_BOM 0x1a2b3c4du

static uint16_t rd16(const struct gw_pcap *r, const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return r->swap ? __builtin_bswap16(v) : v;
}

static uint32_t rd32(const struct gw_pcap *r, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return r->swap ? __builtin_bswap32(v) : v;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Strip the link layer: l3 and its length, or l3 = NULL for non-IP. */
static void strip_link(uint32_t linktype, const uint8_t *d, size_t n, struct gw_pcap_pkt *p)
{
	uint16_t et = 0;
	size_t hl = 0;
	p->l3 = NULL;
	p->l3_len = 0;
	switch (linktype) {
	case 1: /* Ethernet */
		if (n < 14)
			return;
		et = be16(d + 12);
		hl = 14;
		for (int tags = 0; tags < 2 && (et == 0x8100 || et == 0x88a8); tags++) {
			if (n < hl + 4)
				return;
			et = be16(d + hl + 2);
			hl += 4;
		}
		break;
	case 101: /* raw IP: version nibble */
		if (n < 1)
			return;
		et = (d[0] >> 4) == 4 ? 0x0800 : (d[0] >> 4) == 6 ? 0x86dd : 0;
		break;
	case 228:
		et = 0x0800;
		break;
	case 229:
		et = 0x86dd;
		break;
	case 113: /* Linux cooked v1: pkttype(2) ... protocol at 14 */
		if (n < 16)
			return;
		p->dir = be16(d) == 4 ? GW_PCAP_DIR_OUT : GW_PCAP_DIR_IN;
		et = be16(d + 14);
		hl = 16;
		break;
	case 276: /* Linux cooked v2: protocol(2) ... pkttype at 10 */
		if (n < 20)
			return;
		p->dir = d[10] == 4 ? GW_PCAP_DIR_OUT : GW_PCAP_DIR_IN;
		et = be16(d);
		hl = 20;
		break;
	case 0:
	case 108: { /* BSD loopback: address family in host or network order */
		if (n < 4)
			return;
		uint32_t af;
		memcpy(&af, d, 4);
		if (af > 0xffff)
			af = __builtin_bswap32(af);
		et = af == 2 ? 0x0800 : (af == 10 || af == 24 || af == 28 || af == 30) ? 0x86dd : 0;
		hl = 4;
		break;
	}
	default:
		return;
	}
	if (et != 0x0800 && et != 0x86dd)
		return;
	p->l3 = d + hl;
	p->l3_len = n - hl;
}

int gw_pcap_open(struct gw_pcap *r, const void *buf, size_t len)
{
	memset(r, 0, sizeof *r);
	r->buf = buf;
	r->len = len;
	if (len < 4)
		return -EBADMSG;
	uint32_t m;
	memcpy(&m, buf, 4);
	if (m == NG_SHB) {
		r->ng = true;
		if (len < 12)
			return -EBADMSG;
		uint32_t bom;
		memcpy(&bom, (const uint8_t *)buf + 8, 4);
		if (bom != NG_BOM && __builtin_bswap32(bom) != NG_BOM)
			return -EBADMSG;
		r->swap = bom != NG_BOM;
		return 0; /* the SHB itself is read by gw_pcap_next */
	}
	if (m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS) {
		r->swap = false;
	} else if (__builtin_bswap32(m) == PCAP_MAGIC_US || __builtin_bswap32(m) == PCAP_MAGIC_NS) {
		r->swap = true;
		m = __builtin_bswap32(m);
	} else {
		return -EBADMSG;
	}
	if (len < 24)
		return -EBADMSG;
	if (rd16(r, r->buf + 4) != 2)
		return -EPROTONOSUPPORT;
	r->ts_per_sec = m == PCAP_MAGIC_NS ? 1000000000u : 1000000u;
	r->linktype = rd32(r, r->buf + 20) & 0x0fffffffu;
	r->off = 24;
	return 0;
}

size_t gw_pcap_offset(const struct gw_pcap *r)
{
	return r->off;
}

static int64_t ts_ns(uint64_t ts, uint64_t per_sec)
{
	if (!per_sec)
		return 0;
	uint64_t s = ts / per_sec, f = ts % per_sec;
	if (s > (uint64_t)INT64_MAX / 1000000000u)
		return INT64_MAX;
	/* f < per_sec <= 1e18, scaled without overflow in two steps */
	return (int64_t)(s * 1000000000u +
			 (per_sec >= 1000000000u ? f / (per_sec / 1000000000u) : f * (1000000000u / per_sec)));
}

static int next_classic(struct gw_pcap *r, struct gw_pcap_pkt *p)
{
	if (r->off == r->len)
		return 0;
	if (r->len - r->off < 16)
		return -EBADMSG;
	const uint8_t *h = r->buf + r->off;
	uint32_t sec = rd32(r, h), frac = rd32(r, h + 4), caplen = rd32(r, h + 8), origlen = rd32(r, h + 12);
	if (caplen > r->len - r->off - 16 || caplen > 0x4000000u)
		return -EBADMSG;
	memset(p, 0, sizeof *p);
	p->ts_ns = ts_ns((uint64_t)sec * r->ts_per_sec + frac, r->ts_per_sec);
	p->linktype = r->linktype;
	p->orig_len = origlen;
	strip_link(r->linktype, h + 16, caplen, p);
	r->off += 16 + (size_t)caplen;
	return 1;
}

/* pcapng options of an IDB: if_name (2) and if_tsresol (9). */
static void idb_options(struct gw_pcap *r, const uint8_t *o, size_t n, struct gw_pcap_if *ifc)
{
	while (n >= 4) {
		uint16_t code = rd16(r, o), olen = rd16(r, o + 2);
		size_t padded = ((size_t)olen + 3) & ~(size_t)3;
		if (code == 0 || padded > n - 4)
			return;
		if (code == 2 && olen > 0) {
			size_t k = olen < GW_PCAP_IFNAMSIZ - 1 ? olen : GW_PCAP_IFNAMSIZ - 1;
			memcpy(ifc->name, o + 4, k);
			ifc->name[k] = 0;
		} else if (code == 9 && olen >= 1) {
			uint8_t v = o[4];
			uint64_t per = 1;
			unsigned e = v & 0x7f;
			if (v & 0x80) {
				per = e < 63 ? (uint64_t)1 << e : 0;
			} else {
				for (unsigned i = 0; i < e && per; i++)
					per = per <= UINT64_MAX / 10 ? per * 10 : 0;
			}
			ifc->ts_per_sec = per;
		}
		o += 4 + padded;
		n -= 4 + padded;
	}
}

static int next_ng(struct gw_pcap *r, struct gw_pcap_pkt *p)
{
	for (;;) {
		if (r->off == r->len)
			return 0;
		if (r->len - r->off < 12)
			return -EBADMSG;
		const uint8_t *b = r->buf + r->off;
		uint32_t type;
		memcpy(&type, b, 4);
		if (type == NG_SHB) {
			/* A new section: its own byte order, no interfaces yet. */
			uint32_t bom;
			memcpy(&bom, b + 8, 4);
			if (bom != NG_BOM && __builtin_bswap32(bom) != NG_BOM)
				return -EBADMSG;
			r->swap = bom != NG_BOM;
			r->nifs = 0;
		} else {
			type = rd32(r, b);
		}
		uint32_t blen = rd32(r, b + 4);
		if (blen < 12 || blen % 4 || blen > r->len - r->off || rd32(r, b + blen - 4) != blen)
			return -EBADMSG;
		const uint8_t *body = b + 8;
		size_t bn = blen - 12;
		r->off += blen;
		if (type == NG_SHB) {
			if (bn < 16 || rd16(r, body + 4) != 1)
				return -EBADMSG;
			continue;
		}
		if (type == NG_IDB) {
			if (bn < 8)
				return -EBADMSG;
			if (r->nifs >= GW_PCAP_MAX_IFS)
				return -EBADMSG;
			struct gw_pcap_if *ifc = &r->ifs[r->nifs++];
			memset(ifc, 0, sizeof *ifc);
			ifc->linktype = rd16(r, body);
			ifc->ts_per_sec = 1000000u;
			idb_options(r, body + 8, bn - 8, ifc);
			continue;
		}
		if (type == NG_EPB) {
			if (bn < 20)
				return -EBADMSG;
			uint32_t ifid = rd32(r, body), hi = rd32(r, body + 4), lo = rd32(r, body + 8);
			uint32_t caplen = rd32(r, body + 12), origlen = rd32(r, body + 16);
			if (ifid >= r->nifs || caplen > bn - 20)
				return -EBADMSG;
			const struct gw_pcap_if *ifc = &r->ifs[ifid];
			memset(p, 0, sizeof *p);
			p->ts_ns = ts_ns((uint64_t)hi << 32 | lo, ifc->ts_per_sec);
			p->linktype = ifc->linktype;
			p->ifname = ifc->name[0] ? ifc->name : NULL;
			p->orig_len = origlen;
			strip_link(ifc->linktype, body + 20, caplen, p);
			return 1;
		}
		if (type == NG_SPB) {
			if (bn < 4 || r->nifs < 1)
				return -EBADMSG;
			uint32_t origlen = rd32(r, body);
			size_t caplen = origlen < bn - 4 ? origlen : bn - 4;
			memset(p, 0, sizeof *p);
			p->linktype = r->ifs[0].linktype;
			p->ifname = r->ifs[0].name[0] ? r->ifs[0].name : NULL;
			p->orig_len = origlen;
			strip_link(r->ifs[0].linktype, body + 4, caplen, p);
			return 1;
		}
		/* any other block (statistics, name resolution, ...) is skipped */
	}
}

int gw_pcap_next(struct gw_pcap *r, struct gw_pcap_pkt *ret)
{
	int rc = r->ng ? next_ng(r, ret) : next_classic(r, ret);
	if (rc == 1)
		ret->index = ++r->count;
	return rc;
}
