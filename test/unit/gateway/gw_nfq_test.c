/* gw_nfq: the hand-written parser of queued-packet messages (kept instead
 * of nfq_nlmsg_parse, docs/benchmarks.md) on well-formed and hostile
 * messages: every field, absent and short attributes, the last of a
 * repeated type, attribute flag bits, lengths past the message, other
 * message types.  Fail closed means: -EBADMSG (the caller drops the id
 * when there is one) or a field left unset, never a read past the message. */
#include "gateway/gw_nfq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "test/check.h"

#define PKT_TYPE ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)
#define BAD_LEN 0xffff /* an attribute whose length runs past the message */

struct attr {
	uint16_t type; /* 0: end of the list */
	uint16_t len;  /* payload bytes; BAD_LEN, or 1..3 for a header shorter than nlattr */
	uint32_t u32;  /* the value of a 4-byte attribute */
};

struct want {
	int r;
	uint32_t id, indev, outdev, cap_len, mark;
	bool has_mark;
	size_t payload_len;
};

struct tcase {
	const char *name;
	uint16_t type;
	struct attr a[10];
	struct want w;
};

#define HDR                                                             \
	{                                                               \
		NFQA_PACKET_HDR, sizeof(struct nfqnl_msg_packet_hdr), 0 \
	}
#define PAYLOAD(n)                 \
	{                          \
		NFQA_PAYLOAD, n, 0 \
	}

static const struct tcase cases[] = {
	{"every field",
	 PKT_TYPE,
	 {HDR,
	  {NFQA_MARK, 4, 0x08000007},
	  {NFQA_TIMESTAMP, 16, 0},
	  {NFQA_IFINDEX_INDEV, 4, 3},
	  {NFQA_IFINDEX_OUTDEV, 4, 4},
	  {NFQA_HWADDR, 12, 0},
	  {NFQA_CAP_LEN, 4, 1500},
	  PAYLOAD(92)},
	 {0, 77, 3, 4, 1500, 0x08000007, true, 92}},
	{"no mark: a new flow",
	 PKT_TYPE,
	 {HDR, {NFQA_IFINDEX_INDEV, 4, 3}, PAYLOAD(28)},
	 {0, 77, 3, 0, 0, 0, false, 28}},
	{"no payload: malformed, the id is known",
	 PKT_TYPE,
	 {HDR, {NFQA_IFINDEX_INDEV, 4, 3}},
	 {-EBADMSG, 77, 3, 0, 0, 0, false, 0}},
	{"no packet header: malformed, no id",
	 PKT_TYPE,
	 {{NFQA_IFINDEX_INDEV, 4, 3}, PAYLOAD(28)},
	 {-EBADMSG, 0, 0, 0, 0, 0, false, 0}},
	{"short packet header", PKT_TYPE, {{NFQA_PACKET_HDR, 4, 0}, PAYLOAD(28)}, {-EBADMSG, 0, 0, 0, 0, 0, false, 0}},
	{"short mark: no mark", PKT_TYPE, {HDR, {NFQA_MARK, 2, 0}, PAYLOAD(28)}, {0, 77, 0, 0, 0, 0, false, 28}},
	{"short interface: unset",
	 PKT_TYPE,
	 {HDR, {NFQA_IFINDEX_INDEV, 3, 0}, PAYLOAD(28)},
	 {0, 77, 0, 0, 0, 0, false, 28}},
	{"repeated type: the last wins",
	 PKT_TYPE,
	 {HDR, {NFQA_IFINDEX_INDEV, 4, 3}, {NFQA_IFINDEX_INDEV, 4, 9}, PAYLOAD(28)},
	 {0, 77, 9, 0, 0, 0, false, 28}},
	{"unknown types are skipped",
	 PKT_TYPE,
	 {HDR, {200, 8, 0}, {NFQA_MAX + 1, 4, 0}, PAYLOAD(28)},
	 {0, 77, 0, 0, 0, 0, false, 28}},
	{"empty payload", PKT_TYPE, {HDR, PAYLOAD(0)}, {0, 77, 0, 0, 0, 0, false, 0}},
	{"length past the message: the walk stops",
	 PKT_TYPE,
	 {HDR, {NFQA_IFINDEX_INDEV, 4, 3}, {NFQA_MARK, BAD_LEN, 0}, PAYLOAD(28)},
	 {-EBADMSG, 77, 3, 0, 0, 0, false, 0}},
	{"attribute shorter than its header: the walk stops",
	 PKT_TYPE,
	 {HDR, {NFQA_MARK, 2 | 0x8000, 0}, PAYLOAD(28)},
	 {-EBADMSG, 77, 0, 0, 0, 0, false, 0}},
	{"a config message is not a packet",
	 (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG,
	 {HDR, PAYLOAD(28)},
	 {-ENOMSG, 0, 0, 0, 0, 0, false, 0}},
	{"an ack is not a packet", NLMSG_ERROR, {{0, 0, 0}}, {-ENOMSG, 0, 0, 0, 0, 0, false, 0}},
};

/* Build the message of c into buf; attribute lengths are written as given,
 * so hostile ones can be made. */
static struct nlmsghdr *build(const struct tcase *c, char *buf, size_t size)
{
	memset(buf, 0xa5, size); /* what follows the message must never be read as part of it */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = c->type;
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = AF_INET;
	for (const struct attr *a = c->a; a->type; a++) {
		if (a->len == BAD_LEN || (a->len & 0x8000)) {
			struct nlattr *na = (struct nlattr *)((char *)nlh + MNL_ALIGN(nlh->nlmsg_len));
			na->nla_type = a->type;
			na->nla_len = a->len == BAD_LEN ? 512 : (uint16_t)(a->len & 0x7fff);
			nlh->nlmsg_len += MNL_ALIGN(sizeof *na);
			continue;
		}
		char payload[128] = {0};
		if (a->type == NFQA_PACKET_HDR) {
			struct nfqnl_msg_packet_hdr h = {
				.packet_id = htonl(77), .hw_protocol = htons(0x0800), .hook = 2};
			memcpy(payload, &h, sizeof h);
		} else if (a->len == 4) {
			uint32_t v = htonl(a->u32);
			memcpy(payload, &v, 4);
		}
		/* flag bits on a type must not hide it */
		uint16_t type = a->type == NFQA_PAYLOAD ? (uint16_t)(a->type | NLA_F_NET_BYTEORDER) : a->type;
		mnl_attr_put(nlh, type, a->len, payload);
	}
	return nlh;
}

int main(void)
{
	static char buf[2048] __attribute__((aligned(8)));
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct tcase *c = &cases[i];
		const struct want *w = &c->w;
		struct nlmsghdr *nlh = build(c, buf, sizeof buf);
		struct gw_nfq_msg m;
		int r = gw_nfq_parse(nlh, &m);
		CHECK(r == w->r, "%s: r %d, want %d", c->name, r, w->r);
		CHECK(m.id == w->id, "%s: id %u", c->name, m.id);
		if (r == -ENOMSG)
			continue;
		CHECK(m.indev == w->indev && m.outdev == w->outdev, "%s: interfaces %u %u", c->name, m.indev, m.outdev);
		CHECK(m.cap_len == w->cap_len, "%s: cap_len %u", c->name, m.cap_len);
		CHECK(m.has_mark == w->has_mark && m.mark == w->mark, "%s: mark %d %#x", c->name, m.has_mark, m.mark);
		if (r == 0) {
			CHECK(m.hook == 2 && m.hw_protocol == 0x0800, "%s: hook %u proto %#x", c->name, m.hook,
			      m.hw_protocol);
			CHECK(m.payload_len == w->payload_len, "%s: payload %zu", c->name, m.payload_len);
			CHECK((const char *)m.payload + m.payload_len <= (const char *)nlh + nlh->nlmsg_len,
			      "%s: payload inside the message", c->name);
		}
	}
	/* a length shorter than the netlink and nfgenmsg headers */
	const struct tcase *c = &cases[0];
	struct nlmsghdr *nlh = build(c, buf, sizeof buf);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	struct gw_nfq_msg m;
	CHECK(gw_nfq_parse(nlh, &m) == -EBADMSG && m.id == 0, "truncated headers");
	/* a message cut right after its packet header: nothing beyond it is read */
	nlh = build(c, buf, sizeof buf);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) + MNL_ATTR_HDRLEN +
		MNL_ALIGN(sizeof(struct nfqnl_msg_packet_hdr));
	CHECK(gw_nfq_parse(nlh, &m) == -EBADMSG && m.id == 77 && !m.has_mark, "cut after the packet header");
	return check_done();
}
