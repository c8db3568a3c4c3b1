/* gw_nfwatch: netlink notifications -> "nothing of ours / look / tampered".
 *
 * Pure: reads the message it is given (checked by libmnl's attribute
 * walker against the message length), writes only the caller's structs.
 * gw_nfwatch.h says what each verdict means and which tables are ours. */
#include "gateway/gw_nfwatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#define ATTR_MAX 16

void gw_nfwatch_txn_reset(struct gw_nfwatch_txn *t)
{
	memset(t, 0, sizeof *t);
}

static const char *family_name(uint8_t f)
{
	switch (f) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_ARP:
		return "arp";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_NETDEV:
		return "netdev";
	default:
		return "?";
	}
}

struct attrs {
	const struct nlattr *a[ATTR_MAX + 1];
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *at = data;
	uint16_t type = mnl_attr_get_type(attr);
	if (type <= ATTR_MAX)
		at->a[type] = attr;
	return MNL_CB_OK;
}

/* A string attribute, or "" when absent or not NUL-terminated. */
static const char *attr_str(const struct nlattr *a)
{
	if (!a)
		return "";
	uint16_t len = mnl_attr_get_payload_len(a);
	const char *s = mnl_attr_get_payload(a);
	return len && memchr(s, 0, len) ? s : "";
}

static uint32_t attr_be32(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 4 ? ntohl(mnl_attr_get_u32(a)) : 0;
}

/* The tables whose changes matter (gw_nfwatch.h). */
static bool table_ours(uint8_t family, const char *name, bool *ret_backstop)
{
	*ret_backstop = family == NFPROTO_INET && !strcmp(name, "sekisho_backstop");
	if (family == NFPROTO_INET)
		return !strcmp(name, "sekisho") || *ret_backstop;
	return (family == NFPROTO_IPV4 || family == NFPROTO_IPV6) && !strcmp(name, "filter");
}

/* The generation chain: rewritten by every generation switch (by the helper
 * itself; another process doing it is caught by the check). */
static bool chain_is_gen(uint8_t family, const char *chain)
{
	return family == NFPROTO_INET ? !strcmp(chain, "gen") : !strcmp(chain, "SEKISHO-GEN");
}

/* One change of ours: "VERB FAMILY TABLE [CHAIN]". */
static void note(struct gw_nfwatch_txn *t, int verdict, int rank, const char *verb, const char *fam, const char *table,
		 const char *chain)
{
	t->changes++;
	if (verdict > t->verdict)
		t->verdict = verdict;
	if (rank > t->rank) {
		t->rank = rank;
		snprintf(t->what, sizeof t->what, "%s %s %s%s%s", verb, fam, table, *chain ? " " : "", chain);
	}
}

int gw_nfwatch_nft(struct gw_nfwatch_txn *t, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg) ||
	    NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return -EBADMSG;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct attrs at = {{0}};
	if (mnl_attr_parse(nlh, sizeof *g, attr_cb, &at) < 0)
		return -EBADMSG;
	int type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (type == NFT_MSG_NEWGEN) {
		t->genid = attr_be32(at.a[NFTA_GEN_ID]);
		t->pid = attr_be32(at.a[NFTA_GEN_PROC_PID]);
		snprintf(t->comm, sizeof t->comm, "%s", attr_str(at.a[NFTA_GEN_PROC_NAME]));
		return 1;
	}
	/* attribute 1 is the table name in every object message (NFTA_TABLE_NAME,
	 * NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, ...) */
	const char *table = attr_str(at.a[1]);
	bool backstop;
	const char *fam = family_name(g->nfgen_family);
	if (type == NFT_MSG_NEWTABLE) {
		/* any new table could hold a chain of its own at our hooks: look */
		note(t, GW_NFW_CHECK, 1, "add table", fam, table, "");
		return 0;
	}
	if (!table_ours(g->nfgen_family, table, &backstop))
		return 0;
	switch (type) {
	case NFT_MSG_DELTABLE:
		note(t, GW_NFW_TAMPER, 5, "delete table", fam, table, "");
		break;
	case NFT_MSG_DELCHAIN:
		note(t, GW_NFW_TAMPER, 4, "delete chain", fam, table, attr_str(at.a[NFTA_CHAIN_NAME]));
		break;
	case NFT_MSG_NEWCHAIN: {
		const char *chain = attr_str(at.a[NFTA_CHAIN_NAME]);
		if (!backstop && at.a[NFTA_CHAIN_POLICY] && attr_be32(at.a[NFTA_CHAIN_POLICY]) == NF_ACCEPT &&
		    (!strcmp(chain, "FORWARD") || !strcmp(chain, "forward")))
			note(t, GW_NFW_TAMPER, 4, "policy accept on", fam, table, chain);
		else
			note(t, GW_NFW_CHECK, 1, "chain", fam, table, chain);
		break;
	}
	case NFT_MSG_DELRULE: {
		const char *chain = attr_str(at.a[NFTA_RULE_CHAIN]);
		if (backstop || chain_is_gen(g->nfgen_family, chain))
			note(t, GW_NFW_CHECK, 1, "delete rule", fam, table, chain);
		else
			note(t, GW_NFW_TAMPER, 3, "delete rule", fam, table, chain);
		break;
	}
	case NFT_MSG_NEWRULE:
		note(t, GW_NFW_CHECK, 2, "add rule", fam, table, attr_str(at.a[NFTA_RULE_CHAIN]));
		break;
	default: /* sets, elements, objects, flowtables of our tables */
		note(t, GW_NFW_CHECK, 1, "change in", fam, table, "");
		break;
	}
	return 0;
}

int gw_nfwatch_rtnl(const struct nlmsghdr *nlh, char *what, size_t whatlen, int *ret_ifindex)
{
	*ret_ifindex = 0;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct ifinfomsg))
			return -EBADMSG;
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
		*ret_ifindex = ifi->ifi_index;
		if (nlh->nlmsg_type == RTM_DELLINK)
			return GW_NFW_NONE; /* its gate goes with it */
		snprintf(what, whatlen, "interface %d", ifi->ifi_index);
		return GW_NFW_CHECK;
	}
	case RTM_NEWQDISC:
	case RTM_DELQDISC:
	case RTM_NEWTFILTER:
	case RTM_DELTFILTER:
	case RTM_NEWCHAIN:
	case RTM_DELCHAIN: {
		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct tcmsg))
			return -EBADMSG;
		const struct tcmsg *tc = mnl_nlmsg_get_payload(nlh);
		struct attrs at = {{0}};
		if (mnl_attr_parse(nlh, sizeof *tc, attr_cb, &at) < 0)
			return -EBADMSG;
		*ret_ifindex = tc->tcm_ifindex;
		if (tc->tcm_ifindex == 1) /* lo: ungated (always index 1 in a namespace) */
			return GW_NFW_NONE;
		const char *kind = attr_str(at.a[TCA_KIND]);
		bool del = nlh->nlmsg_type == RTM_DELQDISC || nlh->nlmsg_type == RTM_DELTFILTER ||
			nlh->nlmsg_type == RTM_DELCHAIN;
		const char *obj = nlh->nlmsg_type == RTM_NEWQDISC || nlh->nlmsg_type == RTM_DELQDISC ? "qdisc"
			: nlh->nlmsg_type == RTM_NEWCHAIN || nlh->nlmsg_type == RTM_DELCHAIN         ? "chain"
												     : "filter";
		snprintf(what, whatlen, "tc: %s %s %s on interface %d", del ? "delete" : "add", obj, *kind ? kind : "-",
			 tc->tcm_ifindex);
		/* a deleted clsact, or anything deleted under it (the gate lives on
		 * its egress), is never ours while the daemon runs */
		bool qdisc = nlh->nlmsg_type == RTM_NEWQDISC || nlh->nlmsg_type == RTM_DELQDISC;
		bool under_clsact = qdisc ? !strcmp(kind, "clsact")
					  : TC_H_MAJ(tc->tcm_parent) == TC_H_MAJ(TC_H_CLSACT) &&
				(TC_H_MIN(tc->tcm_parent) == TC_H_MIN_EGRESS ||
				 TC_H_MIN(tc->tcm_parent) == TC_H_MIN_INGRESS);
		return del && under_clsact ? GW_NFW_TAMPER : GW_NFW_CHECK;
	}
	default:
		return GW_NFW_NONE;
	}
}
