/* gw_parse: packets -> query fields, table-driven; malformed packets are
 * refused (the daemon drops them). */
#include "gateway/gw_parse.h"

#include <errno.h>
#include <string.h>

#include "test/check.h"
#include "rules/table.h"

static size_t v4(uint8_t *b, uint8_t proto, const uint8_t *l4, size_t l4len, uint16_t frag)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = 0;
	b[3] = (uint8_t)(20 + l4len);
	b[6] = (uint8_t)(frag >> 8);
	b[7] = (uint8_t)frag;
	b[8] = 64;
	b[9] = proto;
	const uint8_t src[4] = {198, 18, 20, 150}, dst[4] = {198, 19, 100, 10};
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	memcpy(b + 20, l4, l4len);
	return 20 + l4len;
}

static size_t v6(uint8_t *b, uint8_t nh, const uint8_t *ext, size_t extlen, const uint8_t *l4, size_t l4len)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	b[6] = nh;
	b[7] = 64;
	b[8] = 0x20;
	b[9] = 0x01;
	b[10] = 0x0d;
	b[11] = 0xb8;
	b[39] = 1;
	b[24] = 0x20;
	b[25] = 0x01;
	b[26] = 0x0d;
	b[27] = 0xb8;
	b[23] = 5;
	if (extlen)
		memcpy(b + 40, ext, extlen);
	memcpy(b + 40 + extlen, l4, l4len);
	return 40 + extlen + l4len;
}

int main(void)
{
	uint8_t b[256];
	struct gw_pkt p;
	const uint8_t tcp[20] = {0x9c, 0x40, 0x01, 0xbb}; /* 40000 -> 443 */
	const uint8_t icmp_echo[8] = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
	const uint8_t icmp6_reply[8] = {129, 0, 0, 0, 0x00, 0x07, 0, 1};

	/* IPv4 TCP */
	size_t n = v4(b, 6, tcp, sizeof tcp, 0);
	CHECK(gw_parse_packet(b, n, &p) == 0, "v4 tcp");
	CHECK(p.family == 4 && p.proto == 6 && p.sport == 40000 && p.dport == 443 && p.has_ports, "fields");
	CHECK(p.src == inaddr_from_bytes(4, (const uint8_t[]){198, 18, 20, 150}), "src");
	CHECK(gw_parse_key(&p) == SVC_KEY(6, 443), "key");
	struct table_query q;
	gw_parse_query(&p, 2, 5, &q);
	CHECK(q.from_zone == 2 && q.to_zone == 5 && q.sport == 40000 && q.key == SVC_KEY(6, 443), "query");
	/* only the ports are needed: a copy range cut after them is fine */
	CHECK(gw_parse_packet(b, 24, &p) == 0 && p.dport == 443, "cut after ports");
	CHECK(gw_parse_packet(b, 23, &p) == -EBADMSG, "ports cut");
	/* IPv4 ICMP echo */
	n = v4(b, 1, icmp_echo, sizeof icmp_echo, 0);
	CHECK(gw_parse_packet(b, n, &p) == 0 && p.is_icmp && p.icmp_type == 8 && p.icmp_id == 0x1234, "icmp");
	CHECK(gw_parse_key(&p) == table_packet_key(1, 0, 8, 0) && !p.has_ports, "icmp key");
	/* other protocol (GRE): no ports, key proto << 16 */
	n = v4(b, 47, tcp, 4, 0);
	CHECK(gw_parse_packet(b, n, &p) == 0 && !p.has_ports && gw_parse_key(&p) == SVC_KEY(47, 0), "gre");
	/* fragments: first fragment parses, later ones are refused */
	n = v4(b, 6, tcp, sizeof tcp, 0x2000);
	CHECK(gw_parse_packet(b, n, &p) == 0, "first fragment (MF)");
	n = v4(b, 6, tcp, sizeof tcp, 0x0010);
	CHECK(gw_parse_packet(b, n, &p) == -EPROTO, "non-first fragment");
	/* malformed */
	n = v4(b, 6, tcp, sizeof tcp, 0);
	b[0] = 0x44;
	CHECK(gw_parse_packet(b, n, &p) == -EBADMSG, "ihl < 5");
	b[0] = 0x4f;
	CHECK(gw_parse_packet(b, 40, &p) == -EBADMSG, "ihl beyond buffer");
	CHECK(gw_parse_packet(b, 10, &p) == -EBADMSG, "short v4");
	CHECK(gw_parse_packet(b, 0, &p) == -EBADMSG, "empty");
	b[0] = 0x55;
	CHECK(gw_parse_packet(b, n, &p) == -EPROTONOSUPPORT, "version 5");

	/* IPv6 TCP, with hop-by-hop and destination options */
	const uint8_t ext[16] = {60, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0};
	n = v6(b, 0, ext, sizeof ext, tcp, sizeof tcp);
	CHECK(gw_parse_packet(b, n, &p) == 0 && p.family == 6 && p.proto == 6 && p.dport == 443, "v6 ext hdrs");
	/* IPv6 fragment header: first fragment ok, later refused */
	const uint8_t frag0[8] = {6, 0, 0x00, 0x01, 0, 0, 0, 1}, frag1[8] = {6, 0, 0x00, 0x10, 0, 0, 0, 1};
	n = v6(b, 44, frag0, 8, tcp, sizeof tcp);
	CHECK(gw_parse_packet(b, n, &p) == 0 && p.dport == 443, "v6 first fragment");
	n = v6(b, 44, frag1, 8, tcp, sizeof tcp);
	CHECK(gw_parse_packet(b, n, &p) == -EPROTO, "v6 later fragment");
	/* too many extension headers */
	uint8_t many[80];
	for (int i = 0; i < 10; i++) {
		memset(many + 8 * i, 0, 8);
		many[8 * i] = i == 9 ? 6 : 60;
	}
	n = v6(b, 60, many, sizeof many, tcp, sizeof tcp);
	CHECK(gw_parse_packet(b, n, &p) == -EPROTO, "extension header chain too long");
	/* extension header beyond the buffer */
	n = v6(b, 60, ext, sizeof ext, tcp, sizeof tcp);
	CHECK(gw_parse_packet(b, 44, &p) == -EBADMSG, "ext hdr cut");
	/* ICMPv6 echo reply -> original direction is an echo request */
	n = v6(b, 58, NULL, 0, icmp6_reply, sizeof icmp6_reply);
	CHECK(gw_parse_packet(b, n, &p) == 0 && p.is_icmp && p.icmp_type == 129, "icmpv6");
	u128 s = p.src, d = p.dst;
	CHECK(gw_parse_to_original(&p) && p.icmp_type == 128 && p.src == d && p.dst == s, "reply -> request");
	CHECK(!gw_parse_is_icmp_error(&p), "echo is no error");
	p.icmp_type = 1;
	CHECK(gw_parse_is_icmp_error(&p), "v6 unreachable is an error");
	/* TCP reply -> original: ports swapped */
	n = v4(b, 6, tcp, sizeof tcp, 0);
	gw_parse_packet(b, n, &p);
	CHECK(gw_parse_to_original(&p) && p.sport == 443 && p.dport == 40000, "tcp reversed");
	CHECK(!strcmp(gw_parse_proto_name(58), "icmpv6") && gw_parse_proto_name(200) == NULL, "names");
	return check_done();
}
