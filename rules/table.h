/* table: the compiled rule table — the runtime contract.
 *
 * This header and table_format.h are all that the datapath (gateway/),
 * sekisho-replay and the tools see of the rules: the verdicts, tiers,
 * limits and zone ids a table holds, the packet key, the loader and the
 * lookup.  It includes no compiler header: the compiler (policy*.h,
 * pspace.h) includes this one, never the reverse, and the compiler's build
 * API is in table_build.h.
 *
 * One versioned binary file (format in table_format.h, documented in
 * docs/policy.md): magic, format version, SHA-256 of the normalised policy
 * source, compile time, counts, sections, and a SHA-256 over the whole file.
 * It is mapped read-only.  The loader treats it as hostile: it checks the
 * checksum and every offset, count and index before anything is used, and
 * refuses a bad file with a reason; it never crashes on one.
 *
 * Lookup: partitioned by (from zone, to zone, family); inside a partition a
 * bit-vector intersection classifier (see table.c).  No allocation per
 * lookup; a loaded table is immutable, so any number of threads may look up
 * concurrently.
 *
 * Ownership: table_open maps the file and allocates the lookup's
 * per-partition descriptors (derived from the validated file, proportional
 * to its partition count); table_close unmaps and frees them.  Every
 * pointer returned by the accessors points into the table and lives until
 * table_close. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"

/* Limits of a table, and so of every policy the compiler accepts; a file
 * beyond one is refused by the loader. */
#define TABLE_MAX_ZONES 64 /* including the built-in zone "self" */
#define TABLE_MAX_RULES 1000000
#define TABLE_MAX_IFNAME 15 /* IFNAMSIZ - 1 */

#define TABLE_ZONE_SELF 0 /* zone index 0 is always "self" */

enum table_tier {
	TIER_NONE = 0, /* a plain zone: DMZ, management, ... */
	TIER_MYNUMBER,
	TIER_LGWAN,
	TIER_INTERNET,
};

/* A verdict: what a rule, or a zone pair's default, does with a packet. */
enum table_action {
	ACT_NONE = 0, /* never in a valid rule */
	ACT_ALLOW = 1,
	ACT_DENY = 2,   /* drop silently */
	ACT_REJECT = 3, /* TCP RST / ICMP unreachable */
};

/* "allow" / "deny" / "reject" ("none", "?" for values outside the enum) */
const char *table_action_name(int action);

/* The packet key folds protocol and destination port into one 24-bit
 * number so that a service is one interval:
 *   tcp/udp/sctp/udplite/dccp: key = proto << 16 | dport
 *   icmp (1) / icmpv6 (58):    key = proto << 16 | type << 8 | code
 *   any other protocol:        key = proto << 16 (port part 0)
 * The source port applies to port protocols only; for others it is 0 in
 * packets, and a service's sport range is then always 0..65535. */
#define SVC_KEY(proto, port) (((uint32_t)(proto) << 16) | (uint32_t)(port))
#define SVC_KEY_MAX 0xffffffu

/* Key of a packet from its protocol and ports / ICMP type and code. */
uint32_t table_packet_key(uint8_t proto, uint16_t dport, uint8_t icmp_type, uint8_t icmp_code);
/* Does the protocol have ports (tcp, udp, dccp, sctp, udplite)? */
bool table_proto_has_ports(uint8_t proto);

struct table; /* opaque, immutable once loaded */

/* Map and validate a file.  Returns 0 or -errno (-EBADMSG: not a valid
 * table) with a reason in why. */
int table_open(const char *path, struct table **ret, char *why, size_t whylen);
/* Validate and use a buffer in memory; the buffer is not copied and must
 * outlive the table. */
int table_open_buffer(const void *buf, size_t len, struct table **ret, char *why, size_t whylen);
void table_close(struct table *t);

struct table_query {
	uint8_t from_zone, to_zone; /* zone indexes (0 = self) */
	uint8_t family;             /* 4 or 6 */
	uint8_t proto;
	uint16_t sport; /* 0 for protocols without ports */
	uint32_t key;   /* table_packet_key() */
	u128 src, dst;
};

struct table_verdict {
	uint8_t action; /* enum table_action */
	bool log;
	uint32_t rule_id;    /* the rule's id in the policy; 0: the zone pair's default */
	uint32_t rule_index; /* index for table_rule(); UINT32_MAX for default */
};

/* Never fails for a valid table; out-of-range zones give ACT_DENY default. */
void table_lookup(const struct table *t, const struct table_query *q, struct table_verdict *ret);

struct table_info {
	uint32_t format_version;
	uint8_t policy_sha256[32];
	uint8_t file_sha256[32];
	int64_t compile_time;
	uint32_t nzones, nrules, npartitions;
	uint64_t bytes;
	const char *policy_name, *policy_version; /* "" when absent */
};
void table_get_info(const struct table *t, struct table_info *ret);

struct table_rule_info {
	uint32_t id;
	uint8_t action;
	bool log;
	const char *name, *file, *description, *owner, *ticket; /* "" when absent */
	uint32_t line, col;
};
/* index < nrules; returns false otherwise. */
bool table_rule(const struct table *t, uint32_t index, struct table_rule_info *ret);

struct table_zone_info {
	const char *name;
	uint8_t tier; /* enum table_tier */
	uint32_t nif;
};
bool table_zone(const struct table *t, uint32_t index, struct table_zone_info *ret);
const char *table_zone_ifname(const struct table *t, uint32_t zone, uint32_t i);
/* Zone index by name or by interface name, or -1. */
int table_zone_by_name(const struct table *t, const char *name);
int table_zone_by_ifname(const struct table *t, const char *ifname);
/* Default action of a zone pair. */
uint8_t table_default_action(const struct table *t, uint32_t from, uint32_t to);
