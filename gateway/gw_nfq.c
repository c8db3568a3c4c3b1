/* gw_nfq: NFQUEUE and conntrack netlink plumbing (see gw_nfq.h).
 *
 * The queue messages we send (configuration and verdicts) are built by
 * libnetfilter_queue's nfq_nlmsg_* functions, a thin layer over libmnl
 * that costs nothing measurable.  The packet messages we receive are parsed
 * here instead: nfq_nlmsg_parse (a callback per attribute into a cleared
 * table of all NFQA_MAX types) costs about 100 ns of CPU per queued packet
 * more than gw_nfq_parse, some 5 % of a verdict's whole cost
 * (docs/benchmarks.md, "gateway: NFQUEUE through libnetfilter_queue").
 * The socket, the receive loop and the verdict batching are libmnl's.
 *
 * Used by exactly one thread per handle; no locks, no allocation after
 * gw_nfq_open.  Malformed kernel messages are reported as -EBADMSG and the
 * caller drops the packet (fail closed). */
#include "gateway/gw_nfq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

struct gw_nfq {
	struct mnl_socket *nl;
	uint16_t queue;
	uint32_t portid;
};

/* Send one request with an ack and wait for it. */
static int request(struct gw_nfq *q, struct nlmsghdr *nlh)
{
	char buf[8192];
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ssize_t n = mnl_socket_recvfrom(q->nl, buf, sizeof buf);
	if (n < 0)
		return -errno;
	int r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, q->portid, NULL, NULL);
	return r < 0 ? -errno : 0;
}

int gw_nfq_open(uint16_t queue, struct gw_nfq **ret, char *why, size_t whylen)
{
	struct gw_nfq *q = calloc(1, sizeof *q);
	if (!q)
		return -ENOMEM;
	q->queue = queue;
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl) {
		int e = -errno;
		snprintf(why, whylen, "netlink socket: %s", strerror(-e));
		free(q);
		return e;
	}
	int r = mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID);
	if (r < 0) {
		r = -errno;
		snprintf(why, whylen, "netlink bind: %s", strerror(-r));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	int fd = mnl_socket_get_fd(q->nl);
	int sz = GW_NFQ_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	/* ENOBUFS must be reported to us, never suppressed: no NETLINK_NO_ENOBUFS. */

	/* Zeroed: mnl_attr_put (libmnl 1.0.4) leaves the alignment padding after
	 * the 5-byte NFQA_CFG_PARAMS as it was, and it goes to the kernel. */
	char buf[512] = {0};
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, GW_NFQ_COPY_RANGE);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, GW_NFQ_MAXLEN);
	/* the flags and their mask have no nfq_nlmsg_* helper (1.0.5) */
	uint32_t flags = NFQA_CFG_F_GSO;
	uint32_t mask = flags | NFQA_CFG_F_FAIL_OPEN; /* FAIL_OPEN explicitly off */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	r = request(q, nlh);
	if (r < 0) {
		snprintf(why, whylen, "bind queue %u: %s", queue, strerror(-r));
		goto fail;
	}
	*ret = q;
	return 0;
fail:
	mnl_socket_close(q->nl);
	free(q);
	return r;
}

void gw_nfq_close(struct gw_nfq *q)
{
	if (!q)
		return;
	char buf[256];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	(void)mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(q->nl);
	free(q);
}

int gw_nfq_fd(const struct gw_nfq *q)
{
	return mnl_socket_get_fd(q->nl);
}

uint16_t gw_nfq_queue(const struct gw_nfq *q)
{
	return q->queue;
}

/* ---------------------------------------------------------------- parse -- */

static bool get_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) < 4)
		return false;
	*v = ntohl(mnl_attr_get_u32(a));
	return true;
}

/* Called for every queued packet: one pass over the attributes, keeping
 * the six we read (the last of a repeated type wins, as with
 * mnl_attr_parse), instead of a callback per attribute into a cleared
 * table of all NFQA_MAX types.  The bounds checks are mnl_attr_ok's, but
 * against nlmsg_len itself (libmnl's tail also takes in the alignment
 * padding after an unaligned length; the kernel's lengths are aligned). */
int gw_nfq_parse(const struct nlmsghdr *nlh, struct gw_nfq_msg *ret)
{
	memset(ret, 0, sizeof *ret);
	if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
		return -ENOMSG;
	const struct nlattr *ph = NULL, *indev = NULL, *outdev = NULL, *cap = NULL, *mark = NULL, *payload = NULL;
	size_t off = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	if (nlh->nlmsg_len < off)
		return -EBADMSG;
	const char *at = (const char *)nlh + off, *end = (const char *)nlh + nlh->nlmsg_len;
	while (end - at >= (ptrdiff_t)sizeof(struct nlattr)) {
		const struct nlattr *attr = (const struct nlattr *)at;
		if (attr->nla_len < sizeof(struct nlattr) || attr->nla_len > end - at)
			break;
		switch (attr->nla_type & NLA_TYPE_MASK) {
		case NFQA_PACKET_HDR:
			ph = attr;
			break;
		case NFQA_IFINDEX_INDEV:
			indev = attr;
			break;
		case NFQA_IFINDEX_OUTDEV:
			outdev = attr;
			break;
		case NFQA_CAP_LEN:
			cap = attr;
			break;
		case NFQA_MARK:
			mark = attr;
			break;
		case NFQA_PAYLOAD:
			payload = attr;
			break;
		default:
			break;
		}
		at += MNL_ALIGN(attr->nla_len);
	}
	if (!ph || mnl_attr_get_payload_len(ph) < sizeof(struct nfqnl_msg_packet_hdr))
		return -EBADMSG;
	const struct nfqnl_msg_packet_hdr *h = mnl_attr_get_payload(ph);
	ret->id = ntohl(h->packet_id);
	ret->hook = h->hook;
	ret->hw_protocol = ntohs(h->hw_protocol);
	get_u32(indev, &ret->indev);
	get_u32(outdev, &ret->outdev);
	get_u32(cap, &ret->cap_len);
	ret->has_mark = get_u32(mark, &ret->mark);
	if (!payload)
		return -EBADMSG;
	ret->payload = mnl_attr_get_payload(payload);
	ret->payload_len = mnl_attr_get_payload_len(payload);
	return 0;
}

/* ------------------------------------------------------------- verdicts -- */

int gw_nfq_verdicts_add(struct gw_nfq *q, struct gw_verdicts *v, uint32_t id, uint32_t verdict, bool set_mark,
			uint32_t mark)
{
	int r = 0;
	if (v->n == GW_VERDICTS_MAX)
		r = gw_nfq_verdicts_flush(q, v);
	v->v[v->n].id = id;
	v->v[v->n].verdict = verdict;
	v->v[v->n].set_mark = set_mark;
	v->v[v->n].mark = set_mark ? mark : 0;
	v->n++;
	return r < 0 ? r : 0;
}

int gw_nfq_verdicts_flush(struct gw_nfq *q, struct gw_verdicts *v)
{
	if (v->n == 0)
		return 0;
	char *p = v->buf;
	int msgs = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		/* The end of a run of equal verdicts: one batch message. */
		if (i + 1 < v->n && v->v[i + 1].verdict == v->v[i].verdict &&
		    v->v[i + 1].set_mark == v->v[i].set_mark && v->v[i + 1].mark == v->v[i].mark)
			continue;
		struct nlmsghdr *nlh = nfq_nlmsg_put(p, NFQNL_MSG_VERDICT_BATCH, q->queue);
		nfq_nlmsg_verdict_put(nlh, (int)v->v[i].id, (int)v->v[i].verdict);
		if (v->v[i].set_mark)
			nfq_nlmsg_verdict_put_mark(nlh, v->v[i].mark);
		p += NLMSG_ALIGN(nlh->nlmsg_len);
		msgs++;
	}
	size_t len = (size_t)(p - v->buf);
	v->n = 0;
	if (mnl_socket_sendto(q->nl, v->buf, len) < 0)
		return -errno;
	return msgs;
}

/* ------------------------------------------------------------ conntrack -- */

int gw_nfq_ct_open(struct mnl_socket **ret)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!s)
		return -errno;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;
		mnl_socket_close(s);
		return e;
	}
	*ret = s;
	return 0;
}

int gw_nfq_ct_delete(struct mnl_socket *s, const struct gw_pkt *p)
{
	char buf[512];
	uint8_t a[16];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = p->family == 6 ? AF_INET6 : AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	struct nlattr *tup = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	size_t alen = p->family == 6 ? 16 : 4;
	inaddr_to_bytes(p->family, p->src, a);
	mnl_attr_put(nlh, p->family == 6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, alen, a);
	inaddr_to_bytes(p->family, p->dst, a);
	mnl_attr_put(nlh, p->family == 6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, alen, a);
	mnl_attr_nest_end(nlh, ip);
	struct nlattr *pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, p->proto);
	if (p->has_ports) {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(p->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(p->dport));
	} else if (p->is_icmp) {
		bool v6 = p->family == 6;
		mnl_attr_put_u16(nlh, v6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID, htons(p->icmp_id));
		mnl_attr_put_u8(nlh, v6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE, p->icmp_type);
		mnl_attr_put_u8(nlh, v6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE, p->icmp_code);
	}
	mnl_attr_nest_end(nlh, pr);
	mnl_attr_nest_end(nlh, tup);
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

int gw_nfq_ct_drain(struct mnl_socket *s)
{
	char buf[4096];
	int errors = 0;
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(mnl_socket_get_fd(s), buf, sizeof buf, MSG_DONTWAIT);
		if (n <= 0)
			break;
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;
		while (mnl_nlmsg_ok(nlh, len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
				if (e->error != 0)
					errors++;
			}
			nlh = mnl_nlmsg_next(nlh, &len);
		}
	}
	return errors;
}
