/* policy: the normalised policy (the compiler's intermediate form) and the
 * pipeline that produces it.
 *
 *   policy_load (files, includes; policy_lex -> policy_parse)
 *   -> policy_eval -> policy_prove (three-tier invariants, reachability)
 *   -> table_build (compiled table, table_build.h) -> written
 * policy_compile (policy_compile.c) runs them in this order.
 *
 * Model.  A packet is (from zone, to zone, family, src, dst, proto, sport,
 * "key"); the key folds protocol and destination port into one 24-bit
 * number so that a service is one interval (SVC_KEY, table_packet_key:
 * the table's contract, table.h).
 *
 * Addresses are integers per family (common/inaddr.h); IPv4 and IPv6 are
 * separate spaces.  "any" is the whole of both.
 *
 * Ownership: struct policy owns every pointer inside it (strings, arrays,
 * the file names that policy_loc.file points to); policy_free releases all.
 * Nothing in it is shared with the diag. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"
#include "rules/policy_diag.h"
#include "rules/table.h"

/* Caps on what a policy may contain beyond the table's own limits
 * (TABLE_MAX_ZONES, TABLE_MAX_RULES, TABLE_MAX_IFNAME in table.h);
 * exceeding one is an error, not a crash. */
#define POLICY_MAX_INCLUDE_DEPTH 16
#define POLICY_MAX_FILES 1024
#define POLICY_MAX_FILE_BYTES (64u << 20)
#define POLICY_MAX_GROUP_DEPTH 32

/* An inclusive range of integers: addresses, keys or ports. */
struct ip_range {
	u128 lo, hi;
};

/* A set of addresses: sorted, merged, non-overlapping ranges per family. */
struct addr_set {
	uint32_t n4, n6;
	struct ip_range *v4; /* values 0..2^32-1 */
	struct ip_range *v6;
};

/* One service entry: key interval x source-port interval. */
struct svc_range {
	uint32_t key_lo, key_hi; /* 0..0xffffff */
	uint16_t sport_lo, sport_hi;
};

enum {
	POLICY_RULE_LOG = 1u << 0,
	POLICY_RULE_SRC_HOSTS = 1u << 1,    /* every source element names one address */
	POLICY_RULE_DST_HOSTS = 1u << 2,    /* every destination element names one address */
	POLICY_RULE_SVC_EXPLICIT = 1u << 3, /* service list given and not "any" */
	POLICY_RULE_SRC_ANY = 1u << 4,      /* source written as any/omitted */
	POLICY_RULE_DST_ANY = 1u << 5,
};

struct policy_rule {
	uint32_t id; /* 1-based, in source order across includes;
	                                expired rules keep their number */
	enum table_action action;
	uint32_t flags;      /* POLICY_RULE_* */
	uint64_t from_zones; /* bit i: zone index i */
	uint64_t to_zones;
	struct addr_set src, dst; /* "any" when written so or omitted */
	uint32_t nsvc;
	struct svc_range *svc; /* sorted by (sport_lo, key_lo); any = one full entry */
	struct policy_loc loc; /* the "rule" keyword */
	char *name;            /* the quoted rule name (UTF-8) */
	char *description;     /* may be NULL */
	char *owner;           /* may be NULL */
	char *ticket;          /* may be NULL */
	char *expires;         /* "YYYY-MM-DD" or NULL */
	/* As written, for listings: "lgwan [clients]", "internet", "smtp, dns" */
	char *from_text, *to_text, *svc_text;
};

struct policy_zone {
	char *name;
	enum table_tier tier;
	uint32_t nif;
	char **ifnames;        /* appliance interfaces facing the zone */
	struct addr_set nets;  /* its networks (may be any: internet) */
	char *description;     /* may be NULL */
	struct policy_loc loc; /* NULL file for self */
};

/* isolate ZONES: nothing crosses the boundary of these zones except rules
 * that name single hosts on both ends, explicit services, and log. */
struct policy_isolate {
	uint64_t zones;
	bool implicit; /* added because the policy declared none */
	struct policy_loc loc;
	char *text; /* the statement as written, for reports */
};

/* sanitize A <-> B via RELAYS [service S]:
 * no packet from a zone in a_zones to one in b_zones (and back, when
 * both_ways) except to the relay addresses with the relay services; and
 * from those zones to self only to relay addresses on self with relay
 * services. */
struct policy_sanitize {
	uint64_t a_zones, b_zones;
	bool both_ways;
	struct addr_set via; /* relay addresses that are not the appliance */
	bool via_self;       /* a relay is the appliance itself (host X self) */
	uint32_t nsvc;
	struct svc_range *svc; /* relay services; any when not given */
	bool implicit;
	struct policy_loc loc;
	char *text;
};

struct policy {
	char *name;         /* "policy NAME": may be NULL */
	char *version;      /* may be NULL */
	uint8_t sha256[32]; /* of the normalised source: the token
	                                stream of all files in include order */
	bool require_owner, require_description;

	uint32_t nzones;
	struct policy_zone zones[TABLE_MAX_ZONES];

	uint32_t nrules;
	struct policy_rule *rules; /* first-match order; expired rules removed */
	uint32_t nrules_total;     /* rules written, including expired ones */

	/* Default action per zone pair (ACT_DENY or ACT_REJECT) and where it
	 * was set (file NULL: the built-in default deny). */
	uint8_t default_action[TABLE_MAX_ZONES][TABLE_MAX_ZONES];
	struct policy_loc default_loc[TABLE_MAX_ZONES][TABLE_MAX_ZONES];

	uint32_t nisolate;
	struct policy_isolate *isolate;
	uint32_t nsanitize;
	struct policy_sanitize *sanitize;

	uint32_t nfiles;
	char **files; /* every file read, in include order */
};

void policy_free(struct policy *p);

/* Index of a zone by name, or -1. */
int policy_zone_find(const struct policy *p, const char *name);

/* Does the rule match this packet (zones, family, fields)?  The reference
 * semantics every faster structure must agree with. */
struct policy_packet {
	uint8_t from_zone, to_zone;
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint16_t sport;
	uint32_t key; /* SVC_KEY(...), see above */
	u128 src, dst;
};
bool policy_rule_matches(const struct policy_rule *r, const struct policy_packet *pkt);
/* Does the rule apply to the zone pair from -> to (its zones only; both
 * below TABLE_MAX_ZONES)? */
bool policy_rule_applies(const struct policy_rule *r, unsigned from, unsigned to);
/* Linear first match: returns the rule index or -1 (default applies). */
long policy_first_match(const struct policy *p, const struct policy_packet *pkt);

/* ---- The reference semantics of zones, defaults and invariants ----------
 *
 * What a zone list, a default, an isolate and a sanitize statement mean is
 * decided here and nowhere else (docs/policy.md, "Meaning of a policy" and
 * "Decisions").  Every stage asks these functions: the evaluator (any), the
 * prover (which zone pairs and which regions an invariant restricts), the
 * table builder and diff (defaults), the nftables backstop (which paths it
 * guards and what it lets through), and the listings.  The prover searches
 * symbolically over regions; the policy_*_permits functions below say the
 * same for one concrete packet, for tests and for anything that must judge
 * a single packet. */

/* Every zone of the policy, self included: what "any" means in a zone list
 * (rules, defaults) and the zones every invariant ranges over. */
uint64_t policy_zones_all(const struct policy *p);

/* The action of a zone pair no rule decides: deny unless a default
 * statement said reject (an unset entry, ACT_NONE, is deny too). */
enum table_action policy_default_action(const struct policy *p, unsigned from, unsigned to);

/* Is an allow rule an exception isolate admits: single hosts on both ends,
 * explicit services, and log? */
bool policy_rule_is_exception(const struct policy_rule *r);

/* Does from -> to cross the boundary of the isolated zones (one end inside,
 * the other outside)?  Traffic within a zone (self -> self included) never
 * crosses. */
bool policy_isolate_crosses(uint64_t zones, unsigned from, unsigned to);

/* How one sanitize statement governs the path from -> to. */
enum policy_sanitize_path {
	SANITIZE_FREE = 0, /* not its business */
	SANITIZE_CROSSING, /* between its sides, to a zone other than self */
	SANITIZE_TO_SELF,  /* to the appliance: from a side to self */
};
/* The path's kind; *ret_relays says whether the statement's relays are
 * permitted on it (the declared direction), false: nothing passes. */
enum policy_sanitize_path policy_sanitize_path(const struct policy_sanitize *s, unsigned from, unsigned to,
					       bool *ret_relays);
/* The relays of statement s on a path to the appliance (to_self) or to
 * another zone: false when it has none there; else *ret_dst is their
 * addresses, NULL for every address (a relay on the appliance itself), and
 * the relay services are s->svc. */
bool policy_sanitize_relays(const struct policy_sanitize *s, bool to_self, const struct addr_set **ret_dst);
/* Does statement s's relay clause admit the packet, on a path where its
 * relays are permitted: to a relay address with a relay service, or, to
 * the appliance, a relay on the appliance with a relay service? */
bool policy_sanitize_relay_admits(const struct policy_sanitize *s, const struct policy_packet *pkt);
/* Does the isolate permit the packet, given that rule r (its first match,
 * NULL: none) allows it?  Do the sanitize statements of p, together, permit
 * it?  The concrete form of what policy_prove proves over all packets. */
bool policy_isolate_permits(const struct policy_isolate *iso, const struct policy_rule *r,
			    const struct policy_packet *pkt);
bool policy_sanitize_permits(const struct policy *p, const struct policy_packet *pkt);

/* The IP protocol names a policy (proto/NAME), explain and the listings
 * accept and print: one table for all of them. */
struct policy_name_num {
	const char *name;
	unsigned num;
};
extern const struct policy_name_num policy_protocols[];
extern const size_t policy_nprotocols;
/* Number of the protocol named s[0..len), or -1. */
int policy_proto_by_name(const char *s, size_t len);
/* Name of protocol proto, or NULL. */
const char *policy_proto_name(unsigned proto);

/* Is v in the sorted, disjoint ranges r[0..n)?  Binary search. */
bool policy_ip_ranges_contain(const struct ip_range *r, uint32_t n, u128 v);
/* Sort and merge overlapping or adjacent ranges in place; returns the new
 * count (the one normalisation every address and key list goes through). */
size_t policy_ip_ranges_normalize(struct ip_range *v, size_t n);
/* qsort order of service entries: (sport_lo, sport_hi, key_lo, key_hi). */
int policy_svc_cmp(const void *a, const void *b);
/* Free what a rule owns (not the rule itself). */
void policy_rule_free(struct policy_rule *r);
/* Address-set helpers (addr_set owns its arrays). */
bool policy_addr_set_contains(const struct addr_set *s, int family, u128 a);
bool policy_addr_set_is_any(const struct addr_set *s);
void policy_addr_set_free(struct addr_set *s);
