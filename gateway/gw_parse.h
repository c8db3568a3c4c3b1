/* gw_parse: the headers of one queued packet -> the fields of a table query.
 *
 * Pure functions over a byte buffer that starts at the network header (what
 * NFQUEUE delivers); the buffer may be cut by the queue's copy range, so only
 * the bytes needed for the decision are required.  Nothing is allocated and
 * nothing is kept: the caller owns the buffer.  Every malformed or
 * undecidable packet is refused with an error, and the caller drops it
 * (fail closed). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"
#include "rules/table.h"

/* IPv6 extension headers walked before giving up (fail closed). */
#define GW_PARSE_MAX_EXTHDR 8

struct gw_pkt {
	uint8_t family;        /* 4 or 6 */
	uint8_t proto;         /* transport protocol (IPv6: after extension headers) */
	bool has_ports;        /* tcp, udp, sctp, udplite, dccp */
	bool is_icmp;          /* icmp (v4) or icmpv6 */
	uint16_t sport, dport; /* host order; 0 without ports */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id; /* echo and other query messages */
	u128 src, dst;
};

/* Parse len bytes at buf.  Returns 0, or -EBADMSG (truncated or inconsistent
 * header), -EPROTONOSUPPORT (not IPv4/IPv6), -EPROTO (a non-first fragment or
 * too many extension headers: not decidable here). */
int gw_parse_packet(const void *buf, size_t len, struct gw_pkt *ret);

/* The policy key of a parsed packet (table_packet_key). */
uint32_t gw_parse_key(const struct gw_pkt *p);

/* Fill a table query for the packet between two zones. */
void gw_parse_query(const struct gw_pkt *p, uint8_t from_zone, uint8_t to_zone, struct table_query *ret);

/* The packet as seen from the other end (addresses and ports swapped). */
void gw_parse_reverse(struct gw_pkt *p);

/* A reply-direction packet -> the flow's original direction: reversed, and
 * an ICMP query reply becomes its request (echo reply -> echo request, ...).
 * Returns false for an ICMP reply type without a request (cannot be mapped). */
bool gw_parse_to_original(struct gw_pkt *p);

/* ICMP error messages (v4 types 3, 4, 5, 11, 12; v6 types 1-4): they belong
 * to the flow they quote, not to a flow of their own. */
bool gw_parse_is_icmp_error(const struct gw_pkt *p);

/* "tcp", "udp", "icmp", "icmpv6", ... or NULL for a protocol without a name. */
const char *gw_parse_proto_name(uint8_t proto);
