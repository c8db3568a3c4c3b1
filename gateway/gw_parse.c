/* gw_parse: packet headers -> table query fields (see gw_parse.h).
 *
 * Bounds are checked before every read; a field that lies beyond len makes
 * the packet unparsable (the caller drops it).  No allocation, no state. */
#include "gateway/gw_parse.h"

#include <errno.h>
#include <string.h>

#include "rules/table.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The transport part: ports or ICMP type/code, from the first bytes of l4. */
static int parse_l4(const uint8_t *l4, size_t len, struct gw_pkt *p)
{
	p->has_ports = table_proto_has_ports(p->proto);
	p->is_icmp = (p->family == 4 && p->proto == 1) || (p->family == 6 && p->proto == 58);
	if (p->has_ports) {
		if (len < 4)
			return -EBADMSG;
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
	} else if (p->is_icmp) {
		if (len < 2)
			return -EBADMSG;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		if (len >= 6)
			p->icmp_id = rd16(l4 + 4);
	}
	return 0;
}

static int parse_v4(const uint8_t *b, size_t len, struct gw_pkt *p)
{
	if (len < 20)
		return -EBADMSG;
	size_t ihl = (size_t)(b[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > len)
		return -EBADMSG;
	uint16_t frag = rd16(b + 6);
	if ((frag & 0x1fff) != 0)
		return -EPROTO; /* non-first fragment: conntrack defrags before us */
	p->family = 4;
	p->proto = b[9];
	p->src = inaddr_from_bytes(4, b + 12);
	p->dst = inaddr_from_bytes(4, b + 16);
	return parse_l4(b + ihl, len - ihl, p);
}

static int parse_v6(const uint8_t *b, size_t len, struct gw_pkt *p)
{
	if (len < 40)
		return -EBADMSG;
	p->family = 6;
	p->src = inaddr_from_bytes(6, b + 8);
	p->dst = inaddr_from_bytes(6, b + 24);
	uint8_t nh = b[6];
	size_t off = 40;
	for (unsigned n = 0;; n++) {
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44 && nh != 51)
			break;
		if (n >= GW_PARSE_MAX_EXTHDR)
			return -EPROTO;
		if (off + 8 > len)
			return -EBADMSG;
		const uint8_t *h = b + off;
		size_t hl;
		if (nh == 44) { /* fragment header */
			if ((rd16(h + 2) & 0xfff8) != 0)
				return -EPROTO;
			hl = 8;
		} else if (nh == 51) { /* AH: length in 4-octet units minus 2 */
			hl = ((size_t)h[1] + 2) * 4;
		} else {
			hl = ((size_t)h[1] + 1) * 8;
		}
		nh = h[0];
		off += hl;
		if (off > len)
			return -EBADMSG;
	}
	p->proto = nh;
	return parse_l4(b + off, len - off, p);
}

int gw_parse_packet(const void *buf, size_t len, struct gw_pkt *ret)
{
	const uint8_t *b = buf;
	memset(ret, 0, sizeof *ret);
	if (len < 1)
		return -EBADMSG;
	switch (b[0] >> 4) {
	case 4:
		return parse_v4(b, len, ret);
	case 6:
		return parse_v6(b, len, ret);
	default:
		return -EPROTONOSUPPORT;
	}
}

uint32_t gw_parse_key(const struct gw_pkt *p)
{
	return table_packet_key(p->proto, p->dport, p->icmp_type, p->icmp_code);
}

void gw_parse_query(const struct gw_pkt *p, uint8_t from_zone, uint8_t to_zone, struct table_query *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->from_zone = from_zone;
	ret->to_zone = to_zone;
	ret->family = p->family;
	ret->proto = p->proto;
	ret->sport = p->has_ports ? p->sport : 0;
	ret->key = gw_parse_key(p);
	ret->src = p->src;
	ret->dst = p->dst;
}

void gw_parse_reverse(struct gw_pkt *p)
{
	u128 a = p->src;
	p->src = p->dst;
	p->dst = a;
	uint16_t s = p->sport;
	p->sport = p->dport;
	p->dport = s;
}

const char *gw_parse_proto_name(uint8_t proto)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 2:
		return "igmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 33:
		return "dccp";
	case 47:
		return "gre";
	case 50:
		return "esp";
	case 51:
		return "ah";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	case 136:
		return "udplite";
	default:
		return NULL;
	}
}

bool gw_parse_to_original(struct gw_pkt *p)
{
	gw_parse_reverse(p);
	if (!p->is_icmp)
		return true;
	static const uint8_t v4[][2] = {{0, 8}, {14, 13}, {16, 15}, {18, 17}};
	static const uint8_t v6[][2] = {{129, 128}, {140, 139}};
	const uint8_t(*m)[2] = p->family == 4 ? v4 : v6;
	size_t n = p->family == 4 ? sizeof v4 / sizeof v4[0] : sizeof v6 / sizeof v6[0];
	for (size_t i = 0; i < n; i++)
		if (p->icmp_type == m[i][0]) {
			p->icmp_type = m[i][1];
			return true;
		}
	return false;
}

bool gw_parse_is_icmp_error(const struct gw_pkt *p)
{
	if (!p->is_icmp)
		return false;
	if (p->family == 4)
		return p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 5 || p->icmp_type == 11 ||
			p->icmp_type == 12;
	return p->icmp_type >= 1 && p->icmp_type <= 4;
}
