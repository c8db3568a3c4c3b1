/* gw_nfq: one NFQUEUE queue over libmnl — bind, receive, batch verdicts —
 * and the conntrack delete used when a reload revokes a flow.
 *
 * Configuration is one CONFIG message: bind, copy mode and range (headers
 * only), queue length and the flags (GSO; FAIL_OPEN explicitly cleared
 * through the mask).  The receive buffer is enlarged
 * (SO_RCVBUFFORCE, else SO_RCVBUF).
 *
 * Verdicts are collected in a caller-owned struct gw_verdicts and sent with
 * one sendto: consecutive packets with the same verdict and mark become one
 * NFQNL_MSG_VERDICT_BATCH (which answers every pending id up to the last
 * one: correct because one thread reads one queue in order).
 *
 * Ownership: gw_nfq_open returns a handle freed by gw_nfq_close.  Parsed
 * messages point into the caller's receive buffer.  Functions return 0 or
 * -errno and never print; why buffers explain setup failures. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "common/inaddr.h"
#include "gateway/gw_parse.h"

#define GW_NFQ_COPY_RANGE 256 /* bytes of each packet copied: headers only */
#define GW_NFQ_MAXLEN 4096    /* kernel queue length */
#define GW_NFQ_RCVBUF (8 << 20)
#define GW_VERDICTS_MAX 128 /* verdicts collected before a forced flush */

/* Netfilter hooks (linux/netfilter.h values). */
enum { GW_HOOK_PREROUTING = 0, GW_HOOK_INPUT = 1, GW_HOOK_FORWARD = 2, GW_HOOK_OUTPUT = 3 };
struct gw_nfq_msg {
	uint32_t id;
	uint8_t hook;
	uint16_t hw_protocol;   /* host order */
	uint32_t indev, outdev; /* 0 when absent */
	const void *payload;
	size_t payload_len;
	uint32_t cap_len; /* original length (0 if not cut) */
	bool has_mark;
	uint32_t mark; /* the packet mark when queued */
};

struct gw_nfq;

int gw_nfq_open(uint16_t queue, struct gw_nfq **ret, char *why, size_t whylen);
void gw_nfq_close(struct gw_nfq *q);
int gw_nfq_fd(const struct gw_nfq *q);
uint16_t gw_nfq_queue(const struct gw_nfq *q);

/* Parse one netlink message of the queue.  Returns 0, -ENOMSG when it is
 * not a packet (an ack or error: ignore), -EBADMSG when malformed. */
int gw_nfq_parse(const struct nlmsghdr *nlh, struct gw_nfq_msg *ret);

struct gw_verdicts {
	uint32_t n;
	struct {
		uint32_t id, verdict, mark;
		bool set_mark;
	} v[GW_VERDICTS_MAX];
	char buf[GW_VERDICTS_MAX * 64];
};

/* Queue a verdict (NF_ACCEPT, NF_DROP, NF_REPEAT), optionally with a packet
 * mark.  When the buffer is full it is flushed first. */
int gw_nfq_verdicts_add(struct gw_nfq *q, struct gw_verdicts *v, uint32_t id, uint32_t verdict, bool set_mark,
			uint32_t mark);
/* Send what is queued (one sendto).  Returns the number of netlink messages
 * sent, or -errno (the packets stay queued in the kernel; they are retried
 * by nobody, so the caller counts the error). */
int gw_nfq_verdicts_flush(struct gw_nfq *q, struct gw_verdicts *v);

/* A NETLINK_NETFILTER socket for conntrack deletes (one per thread). */
int gw_nfq_ct_open(struct mnl_socket **ret);
/* Delete the conntrack entry whose original tuple is the flow p (in its
 * original direction).  Fire and forget: errors come back asynchronously and
 * are drained by gw_nfq_ct_drain, which returns how many errors it read. */
int gw_nfq_ct_delete(struct mnl_socket *s, const struct gw_pkt *p);
int gw_nfq_ct_drain(struct mnl_socket *s);
