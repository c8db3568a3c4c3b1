/* gw_nfhelp: the daemon's privileged netfilter helper (its own process).
 *
 * Forked by sekisho-gatewayd before it opens anything or gives up root, so
 * that it holds nothing but its sockets and its lock file.  It
 *   - switches the bootstrap to the generation the daemon asks for (one
 *     request: 4 bytes, answered with the exit status, 4 bytes);
 *   - fences the bootstrap when the daemon's end of the request socket
 *     closes (stop, crash, kill -9): no established flow crosses;
 *   - with watch on, watches nf_tables, tc and link notifications
 *     (gw_nfwatch.c); when sekisho's ruleset or its egress gate is removed
 *     or altered by anyone else, it closes forwarding (the forwarding
 *     sysctls, each value kept), tells the daemon (struct gw_nfhelp_event on
 *     the event socket: the daemon writes netfilter.tamper), runs
 *     "sekisho-netfilter repair" with the current generation and the
 *     backstop it saw last, checks the result, reopens forwarding as it was
 *     and tells the daemon again (netfilter.repair).  At most
 *     GW_NFHELP_MAX_REPAIRS repairs per minute; beyond that forwarding stays
 *     closed until the minute is over (fail closed, no storm).
 * Changes the helper makes itself (generation switches, repairs) are read
 * and dropped right after its own command, then the state is checked and
 * becomes the new reference. */
#ifndef SEKISHO_GW_NFHELP_H
#define SEKISHO_GW_NFHELP_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/gw_nfwatch.h"

#define GW_NFHELP_MAX_REPAIRS 10 /* per minute */

enum { GW_NFHELP_TAMPER = 1, GW_NFHELP_REPAIR = 2 };

/* Helper -> daemon, one datagram each (SOCK_SEQPACKET).  Times are
 * CLOCK_MONOTONIC nanoseconds (the same clock in every namespace). */
struct gw_nfhelp_event {
	uint32_t kind;              /* GW_NFHELP_* */
	int32_t result;             /* repair: 0 ok, -EBUSY suspended (rate), else failed */
	uint32_t pid;               /* tamper: the process that committed the change, 0 unknown */
	uint32_t changes;           /* tamper: objects of ours touched by it */
	uint32_t generation;        /* repair: the generation put back */
	uint32_t forwarding_closed; /* forwarding was closed by us (1) */
	char comm[GW_NFW_COMM];
	char what[224];       /* tamper: what changed; repair: why it failed */
	uint64_t event_ns;    /* tamper: the notification was read */
	uint64_t detected_ns; /* tamper: judged a tamper; repair: of the tamper it repairs */
	uint64_t closed_ns;   /* forwarding closed (0: it was not) */
	uint64_t done_ns;     /* repair: repaired and reopened */
};

struct gw_nfhelp_opts {
	const char *netfilter;       /* the bootstrap (firmware/sekisho-netfilter.sh) */
	const char *run_dir;         /* nfhelper.lock, backstop.nft */
	unsigned queues, queue_base; /* for repair */
	bool watch;
};

/* Fork the helper.  *ret_req: the daemon's end of the request socket;
 * *ret_events: its end of the event socket (-1 without watch).  -errno. */
int gw_nfhelp_start(const struct gw_nfhelp_opts *o, int *ret_req, int *ret_events);

#endif
