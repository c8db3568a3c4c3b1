/* gw_replay: what would a table do to the traffic of a capture?
 *
 * Reads a capture (gw_pcap) and decides every new flow like the daemon:
 * the first packet of each flow (5-tuple, either direction; ICMP queries by
 * identifier) is classified into zones and looked up; later packets of the
 * flow, ICMP errors (they belong to the flow they quote), IPv6 neighbour
 * discovery (passed by the bootstrap) and non-first fragments are not
 * decided again.  Zones come, in this order, from fixed zones given by the
 * caller, the pcapng interface name (a table interface), or the caller's
 * address map (longest prefix; the zone "self" for the appliance's own
 * addresses).  A packet without zones is decided deny with reason
 * "no-zone", as the daemon does.
 *
 * Memory: the flow table is allocated once by gw_replay_new (max_flows,
 * capped); beyond it flows are decided per packet and counted as
 * untracked.  Nothing else is allocated; nothing is printed: decisions go
 * to the caller's callback.  Returns -errno, never exits. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"
#include "gateway/gw_parse.h"
#include "gateway/gw_pcap.h"
#include "rules/table.h"

#define GW_REPLAY_MAX_FLOWS (1u << 24)
#define GW_REPLAY_MAX_NETS 1024

struct gw_replay_net {
	uint8_t family, plen;
	u128 addr;
	int zone;
};

struct gw_replay_opts {
	int in_zone, out_zone;            /* fixed zone indexes, or -1 */
	const struct gw_replay_net *nets; /* address -> zone map */
	size_t nnets;
	bool keep_outgoing; /* decide cooked-capture packets leaving an interface */
};

enum { GW_REPLAY_HOOK_INPUT = 1, GW_REPLAY_HOOK_FORWARD = 2, GW_REPLAY_HOOK_OUTPUT = 3 };

struct gw_replay_flow {
	uint64_t packet; /* index of the deciding packet in the file */
	int64_t ts_ns;
	const char *ifname; /* capture interface or NULL */
	struct gw_pkt pkt;
	int from, to; /* zone indexes, -1 unknown */
	uint8_t hook;
	struct table_verdict v;
	const char *reason; /* NULL, "no-zone" */
	bool untracked;     /* the flow table was full */
};

struct gw_replay_stats {
	uint64_t packets, flows, allowed, denied, rejected;
	uint64_t not_ip, outgoing, fragments, nd, icmp_errors, parse_errors, no_zone, untracked, later;
	bool truncated; /* the file ended in a bad record */
	size_t error_offset;
};

struct gw_replay;

int gw_replay_new(size_t max_flows, struct gw_replay **ret);
void gw_replay_free(struct gw_replay *rp);

typedef void gw_replay_fn(void *arg, const struct gw_replay_flow *f);

/* Replay len bytes of a capture.  Returns 0 (stats filled; truncated set
 * when a bad record ended the file early), or -EBADMSG / -EPROTONOSUPPORT
 * when the file header is not one we read. */
int gw_replay_run(struct gw_replay *rp, const struct table *t, const struct gw_replay_opts *o, const void *buf,
		  size_t len, gw_replay_fn *fn, void *arg, struct gw_replay_stats *ret_stats);

/* Parse "CIDR=ZONE" against a table into *ret.  Returns 0 or -EINVAL. */
int gw_replay_parse_net(const struct table *t, const char *s, struct gw_replay_net *ret);
