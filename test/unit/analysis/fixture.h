/* fixture: builds normalised policies (struct policy) directly in C for the
 * analysis tests, so they do not depend on the text front end, and reads
 * back the packets that reports print.
 *
 * Ownership: everything fx_* adds belongs to the policy; policy_free
 * releases it.  Specs are copied.  Malformed specs abort the test (they
 * are bugs in the test, not cases under test). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rules/policy.h"
#include "test/check.h"

/* A policy with zone "self" and default deny everywhere; file "test.policy". */
struct policy *fx_policy(void);
/* Adds a zone; returns its index. */
int fx_zone(struct policy *p, const char *name, enum table_tier tier);
/* Zone mask from "a,b" or "any". */
uint64_t fx_zones(const struct policy *p, const char *names);
/* Address set from "any", or comma-separated spans "10.0.0.1,10.1.0.0/16,2001:db8::/32". */
struct addr_set fx_addrs(const char *spec);
/* Services from "any", or comma-separated "tcp/80", "tcp/8000-8080", "udp/53",
 * "icmp", "icmp/8", "icmpv6/128", "proto/47"; a suffix "@1024-65535" sets
 * the source ports (port protocols only). */
struct svc_range *fx_svcs(const char *spec, uint32_t *ret_n);
/* Appends a rule: id = position + 1, line = 10 * id.  flags as given
 * (POLICY_RULE_*); returns the rule. */
struct policy_rule *fx_rule(struct policy *p, const char *name, enum table_action action, const char *from,
			    const char *to, const char *src, const char *dst, const char *svc, uint32_t flags);
/* isolate ZONES (declared at line, or implicit when line is 0). */
void fx_isolate(struct policy *p, const char *zones, uint32_t line);
/* sanitize A <-> B (or ->) via VIA [self] service SVC. */
void fx_sanitize(struct policy *p, const char *a, const char *b, bool both_ways, const char *via, bool via_self,
		 const char *svc, uint32_t line);
/* A packet from zones, "tcp"/"udp"/..., addresses and ports (ICMP: port = type << 8 | code). */
struct policy_packet fx_packet(const struct policy *p, const char *from, const char *to, const char *proto,
			       const char *src, uint16_t sport, const char *dst, uint16_t dport);

/* Parse the text policy_show_packet_format wrote ("lgwan -> internet tcp A:1 -> B:2")
 * back into a packet.  Returns false when it does not parse. */
bool fx_packet_parse(const struct policy *p, const char *text, struct policy_packet *ret);
/* The first diagnostic message containing needle, or NULL. */
const char *fx_diag_find(const struct diag *d, const char *needle);
/* How many diagnostic messages contain needle. */
size_t fx_diag_count(const struct diag *d, const char *needle);
/* Print all diagnostics (for failing tests). */
void fx_diag_dump(const struct diag *d);
