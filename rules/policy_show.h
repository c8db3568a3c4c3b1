/* policy_show: listings of a normalised policy for people.
 *
 * policy_show_listing: zones, invariants, rules (id, action, zones,
 * addresses as normalised ranges, services, options, file:line), defaults.
 * policy_show_matrix: which zone pairs allow which services.
 * policy_show_packet_format: one packet as text, used by every report.
 * All write into a strbuf; nothing is printed here. */
#pragma once
#include "common/strbuf.h"
#include "rules/policy.h"

void policy_show_listing(const struct policy *p, struct strbuf *out);
void policy_show_matrix(const struct policy *p, struct strbuf *out);
/* "lgwan -> internet tcp 198.18.20.10:40000 -> 203.0.113.5:443" */
void policy_show_packet_format(const struct policy *p, const struct policy_packet *pkt, struct strbuf *out);
/* A service entry as text: "tcp/25", "udp/1024-65535", "icmp/8:0", "proto/47" */
void policy_show_svc_format(const struct svc_range *s, struct strbuf *out);
/* An address set as text: "any", or comma-separated spans. */
void policy_show_addr_set_format(const struct addr_set *s, struct strbuf *out);
