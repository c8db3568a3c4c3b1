/* gw_nfwatch: what one netlink notification means for sekisho's netfilter
 * state and its egress gate (pure: no sockets, no allocation).
 *
 * The daemon's privileged helper (gw_nfhelp.c) listens to nf_tables events
 * (NFNLGRP_NFTABLES) and to rtnetlink's tc and link groups, and hands each
 * message here.  nf_tables events come per object (table, chain, rule, set)
 * and end with one NFT_MSG_NEWGEN per transaction, which names the process
 * that committed it; gw_nfwatch_nft accumulates one transaction in a struct
 * gw_nfwatch_txn and says when it is complete.
 *
 * A verdict is one of
 *   GW_NFW_NONE    nothing of ours (another table, a set of someone else),
 *   GW_NFW_CHECK   something of ours may have changed: compare the state
 *                  with the last known good one (sekisho-netfilter check),
 *   GW_NFW_TAMPER  something of ours was removed or opened, which sekisho
 *                  itself never does while its daemon runs (a table or a
 *                  chain deleted, a rule deleted from a chain other than the
 *                  generation chain, the xt FORWARD policy set to accept,
 *                  the egress gate's qdisc or filter deleted).
 * "Ours": inet sekisho (nft backend), inet sekisho_backstop, and the
 * iptables-nft tables ip filter / ip6 filter (xt backend).  The backstop's
 * rules are only CHECKed: "sekishoctl apply" reloads it by flushing the
 * table (another process than the helper, and legitimate). */
#ifndef SEKISHO_GW_NFWATCH_H
#define SEKISHO_GW_NFWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

enum { GW_NFW_NONE = 0, GW_NFW_CHECK = 1, GW_NFW_TAMPER = 2 };

#define GW_NFW_WHAT 160
#define GW_NFW_COMM 16

struct gw_nfwatch_txn {
	int verdict;            /* the strongest of the transaction so far */
	int rank;               /* how telling `what` is (a table beats a rule) */
	char what[GW_NFW_WHAT]; /* the most telling change, "delete table inet sekisho" */
	uint32_t changes;       /* objects of ours touched */
	uint32_t genid;         /* from NEWGEN */
	uint32_t pid;           /* the committing process (NEWGEN), 0 unknown */
	char comm[GW_NFW_COMM]; /* its name, "" unknown */
};

void gw_nfwatch_txn_reset(struct gw_nfwatch_txn *t);

/* One message of NFNLGRP_NFTABLES.  Returns 1 when it completed the
 * transaction (NEWGEN; t holds the verdict, the process and what changed),
 * 0 when more is to come, -EBADMSG for a malformed message. */
int gw_nfwatch_nft(struct gw_nfwatch_txn *t, const struct nlmsghdr *nlh);

/* One rtnetlink message of RTNLGRP_TC or RTNLGRP_LINK: its verdict, a
 * description in what, and the interface index in *ret_ifindex (NEWLINK is
 * a CHECK: the caller knows which interfaces it has seen and may downgrade
 * it).  -EBADMSG for a malformed message. */
int gw_nfwatch_rtnl(const struct nlmsghdr *nlh, char *what, size_t whatlen, int *ret_ifindex);

#endif
