/* gw_nfwatch: nf_tables and rtnetlink notifications -> none / check /
 * tamper, table-driven over messages built as the kernel sends them, with
 * the transaction's process from NFT_MSG_NEWGEN and malformed messages. */
#include "gateway/gw_nfwatch.h"

#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "test/check.h"

static char buf[4096];

/* One nf_tables object message: table name (attribute 1 of every object),
 * and for chains / rules the chain name; policy < 0: none. */
static struct nlmsghdr *nft_msg(int type, uint8_t family, const char *table, const char *chain, int policy)
{
	memset(buf, 0, sizeof buf);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
	g->nfgen_family = family;
	mnl_attr_put_strz(nlh, 1, table);
	if (chain)
		mnl_attr_put_strz(
			nlh, type == NFT_MSG_NEWCHAIN || type == NFT_MSG_DELCHAIN ? NFTA_CHAIN_NAME : NFTA_RULE_CHAIN,
			chain);
	if (policy >= 0)
		mnl_attr_put_u32(nlh, NFTA_CHAIN_POLICY, htonl((uint32_t)policy));
	return nlh;
}

static struct nlmsghdr *newgen(uint32_t pid, const char *comm)
{
	memset(buf, 0, sizeof buf);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(42));
	mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(pid));
	mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, comm);
	return nlh;
}

static struct nlmsghdr *tc_msg(int type, int ifindex, uint32_t parent, const char *kind)
{
	memset(buf, 0, sizeof buf);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	struct tcmsg *tc = mnl_nlmsg_put_extra_header(nlh, sizeof *tc);
	tc->tcm_ifindex = ifindex;
	tc->tcm_parent = parent;
	if (kind)
		mnl_attr_put_strz(nlh, TCA_KIND, kind);
	return nlh;
}

static const struct {
	int type;
	uint8_t family;
	const char *table, *chain;
	int policy;
	int verdict;
	const char *what;
} nft_cases[] = {
	/* ours, removed: tamper */
	{NFT_MSG_DELTABLE, NFPROTO_INET, "sekisho", NULL, -1, GW_NFW_TAMPER, "delete table inet sekisho"},
	{NFT_MSG_DELTABLE, NFPROTO_INET, "sekisho_backstop", NULL, -1, GW_NFW_TAMPER,
	 "delete table inet sekisho_backstop"},
	{NFT_MSG_DELTABLE, NFPROTO_IPV4, "filter", NULL, -1, GW_NFW_TAMPER, "delete table ip filter"},
	{NFT_MSG_DELTABLE, NFPROTO_IPV6, "filter", NULL, -1, GW_NFW_TAMPER, "delete table ip6 filter"},
	{NFT_MSG_DELCHAIN, NFPROTO_IPV4, "filter", "SEKISHO-MAIN", -1, GW_NFW_TAMPER,
	 "delete chain ip filter SEKISHO-MAIN"},
	{NFT_MSG_DELCHAIN, NFPROTO_INET, "sekisho_backstop", "forward", -1, GW_NFW_TAMPER, NULL},
	{NFT_MSG_DELRULE, NFPROTO_IPV4, "filter", "FORWARD", -1, GW_NFW_TAMPER, "delete rule ip filter FORWARD"},
	{NFT_MSG_DELRULE, NFPROTO_IPV6, "filter", "SEKISHO-PASS", -1, GW_NFW_TAMPER, NULL},
	{NFT_MSG_DELRULE, NFPROTO_INET, "sekisho", "main", -1, GW_NFW_TAMPER, NULL},
	{NFT_MSG_NEWCHAIN, NFPROTO_IPV4, "filter", "FORWARD", NF_ACCEPT, GW_NFW_TAMPER,
	 "policy accept on ip filter FORWARD"},
	{NFT_MSG_NEWCHAIN, NFPROTO_INET, "sekisho", "forward", NF_ACCEPT, GW_NFW_TAMPER, NULL},
	/* ours, maybe changed: look */
	{NFT_MSG_DELRULE, NFPROTO_IPV4, "filter", "SEKISHO-GEN", -1, GW_NFW_CHECK, NULL}, /* a generation switch */
	{NFT_MSG_DELRULE, NFPROTO_INET, "sekisho", "gen", -1, GW_NFW_CHECK, NULL},
	{NFT_MSG_DELRULE, NFPROTO_INET, "sekisho_backstop", "forward", -1, GW_NFW_CHECK, NULL}, /* sekishoctl apply */
	{NFT_MSG_NEWRULE, NFPROTO_IPV4, "filter", "FORWARD", -1, GW_NFW_CHECK, "add rule ip filter FORWARD"},
	{NFT_MSG_NEWCHAIN, NFPROTO_IPV4, "filter", "FORWARD", NF_DROP, GW_NFW_CHECK, NULL},
	{NFT_MSG_NEWCHAIN, NFPROTO_IPV4, "filter", "INPUT", NF_ACCEPT, GW_NFW_CHECK, NULL},
	{NFT_MSG_NEWSET, NFPROTO_INET, "sekisho", NULL, -1, GW_NFW_CHECK, NULL},
	{NFT_MSG_NEWTABLE, NFPROTO_INET, "filter", NULL, -1, GW_NFW_CHECK, "add table inet filter"}, /* nftables.conf */
	/* someone else's */
	{NFT_MSG_DELTABLE, NFPROTO_INET, "filter", NULL, -1, GW_NFW_NONE, NULL},
	{NFT_MSG_DELTABLE, NFPROTO_IPV4, "nat", NULL, -1, GW_NFW_NONE, NULL},
	{NFT_MSG_DELTABLE, NFPROTO_INET, "sekisho2", NULL, -1, GW_NFW_NONE, NULL},
	{NFT_MSG_DELRULE, NFPROTO_BRIDGE, "filter", "FORWARD", -1, GW_NFW_NONE, NULL},
	{NFT_MSG_DELRULE, NFPROTO_IPV4, "mangle", "PREROUTING", -1, GW_NFW_NONE, NULL},
};

int main(void)
{
	struct gw_nfwatch_txn t;
	for (size_t i = 0; i < sizeof nft_cases / sizeof *nft_cases; i++) {
		gw_nfwatch_txn_reset(&t);
		CHECK(gw_nfwatch_nft(&t,
				     nft_msg(nft_cases[i].type, nft_cases[i].family, nft_cases[i].table,
					     nft_cases[i].chain, nft_cases[i].policy)) == 0,
		      "case %zu: not complete", i);
		CHECK(gw_nfwatch_nft(&t, newgen(4242, "nft")) == 1, "case %zu: NEWGEN completes", i);
		CHECK(t.verdict == nft_cases[i].verdict, "case %zu (%s %s): verdict %d", i, nft_cases[i].table,
		      nft_cases[i].chain ? nft_cases[i].chain : "", t.verdict);
		if (nft_cases[i].what)
			CHECK(!strcmp(t.what, nft_cases[i].what), "case %zu: what '%s'", i, t.what);
		CHECK(t.pid == 4242 && !strcmp(t.comm, "nft") && t.genid == 42, "case %zu: process %u %s", i, t.pid,
		      t.comm);
	}

	/* "nft flush ruleset": rules, chains, then tables; one transaction; the
	 * most telling change is named, every one counted */
	gw_nfwatch_txn_reset(&t);
	gw_nfwatch_nft(&t, nft_msg(NFT_MSG_DELRULE, NFPROTO_IPV4, "filter", "FORWARD", -1));
	gw_nfwatch_nft(&t, nft_msg(NFT_MSG_DELCHAIN, NFPROTO_IPV4, "filter", "FORWARD", -1));
	gw_nfwatch_nft(&t, nft_msg(NFT_MSG_DELTABLE, NFPROTO_IPV4, "filter", NULL, -1));
	gw_nfwatch_nft(&t, nft_msg(NFT_MSG_DELTABLE, NFPROTO_INET, "sekisho_backstop", NULL, -1));
	gw_nfwatch_nft(&t, nft_msg(NFT_MSG_DELTABLE, NFPROTO_INET, "other", NULL, -1));
	CHECK(gw_nfwatch_nft(&t, newgen(7, "nft")) == 1, "flush complete");
	CHECK(t.verdict == GW_NFW_TAMPER && t.changes == 4 && !strcmp(t.what, "delete table ip filter"),
	      "flush: %d %u '%s'", t.verdict, t.changes, t.what);

	/* malformed: too short, another subsystem, an attribute longer than the
	 * message (the walk stops there: no table name, nothing of ours) */
	gw_nfwatch_txn_reset(&t);
	struct nlmsghdr *nlh = nft_msg(NFT_MSG_DELTABLE, NFPROTO_INET, "sekisho", NULL, -1);
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	CHECK(gw_nfwatch_nft(&t, nlh) == -EBADMSG, "short message");
	nlh = nft_msg(NFT_MSG_DELTABLE, NFPROTO_INET, "sekisho", NULL, -1);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFT_MSG_DELTABLE;
	CHECK(gw_nfwatch_nft(&t, nlh) == -EBADMSG, "other subsystem");
	nlh = nft_msg(NFT_MSG_DELTABLE, NFPROTO_INET, "sekisho", NULL, -1);
	((struct nlattr *)((char *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg))))->nla_len = 400;
	gw_nfwatch_txn_reset(&t);
	CHECK(gw_nfwatch_nft(&t, nlh) == 0 && t.verdict == GW_NFW_NONE, "lying attribute: read no further");
	/* a table name without its NUL is no name: not ours */
	nlh = nft_msg(NFT_MSG_DELTABLE, NFPROTO_INET, "sekisho", NULL, -1);
	struct nlattr *a = (struct nlattr *)((char *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
	a->nla_len = (uint16_t)(a->nla_len - 1);
	gw_nfwatch_txn_reset(&t);
	CHECK(gw_nfwatch_nft(&t, nlh) == 0 && t.verdict == GW_NFW_NONE, "unterminated name: %d", t.verdict);

	/* tc and links */
	char what[GW_NFW_WHAT];
	int ifx;
	uint32_t egress = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
	CHECK(gw_nfwatch_rtnl(tc_msg(RTM_DELQDISC, 5, TC_H_CLSACT, "clsact"), what, sizeof what, &ifx) ==
			      GW_NFW_TAMPER &&
		      ifx == 5,
	      "clsact deleted");
	CHECK(!strcmp(what, "tc: delete qdisc clsact on interface 5"), "what '%s'", what);
	CHECK(gw_nfwatch_rtnl(tc_msg(RTM_DELTFILTER, 5, egress, "bpf"), what, sizeof what, &ifx) == GW_NFW_TAMPER,
	      "gate filter deleted");
	CHECK(gw_nfwatch_rtnl(tc_msg(RTM_DELCHAIN, 5, egress, NULL), what, sizeof what, &ifx) == GW_NFW_TAMPER,
	      "gate chain deleted");
	CHECK(gw_nfwatch_rtnl(tc_msg(RTM_NEWTFILTER, 5, egress, "bpf"), what, sizeof what, &ifx) == GW_NFW_CHECK,
	      "a filter added under the gate: look");
	CHECK(gw_nfwatch_rtnl(tc_msg(RTM_DELQDISC, 5, TC_H_ROOT, "htb"), what, sizeof what, &ifx) == GW_NFW_CHECK,
	      "another qdisc: look");
	CHECK(gw_nfwatch_rtnl(tc_msg(RTM_DELQDISC, 1, TC_H_CLSACT, "clsact"), what, sizeof what, &ifx) == GW_NFW_NONE,
	      "lo has no gate");
	memset(buf, 0, sizeof buf);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
	ifi->ifi_index = 9;
	CHECK(gw_nfwatch_rtnl(nlh, what, sizeof what, &ifx) == GW_NFW_CHECK && ifx == 9, "new link: look");
	nlh->nlmsg_type = RTM_DELLINK;
	CHECK(gw_nfwatch_rtnl(nlh, what, sizeof what, &ifx) == GW_NFW_NONE, "deleted link: its gate goes with it");
	nlh->nlmsg_type = RTM_NEWROUTE;
	CHECK(gw_nfwatch_rtnl(nlh, what, sizeof what, &ifx) == GW_NFW_NONE, "routes: not watched");
	nlh = tc_msg(RTM_DELQDISC, 5, TC_H_CLSACT, "clsact");
	nlh->nlmsg_len = NLMSG_HDRLEN + 4;
	CHECK(gw_nfwatch_rtnl(nlh, what, sizeof what, &ifx) == -EBADMSG, "short tc message");
	return check_done();
}
