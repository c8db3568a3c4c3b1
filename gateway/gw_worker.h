/* gw_worker: the packet path of sekisho-gatewayd, one thread per queue.
 *
 * A worker reads its queue in receive batches (recvmmsg), decides each
 * packet against the table in use (gw_ctx), answers with batched verdicts
 * (gw_nfq) and records the decision in the audit chain (denied flows
 * through the flood aggregator, gw_fold).  Verdicts: allow = NF_REPEAT
 * with packet mark ALLOW|generation; reject = NF_REPEAT with mark REJECT;
 * deny = NF_DROP.  A packet of an older generation is decided again in its
 * original direction: re-marked, or dropped with its conntrack entry
 * deleted.
 *
 * Ownership: struct gw_worker is owned by main (an array in struct
 * gw_daemon), which opens its queue, conntrack socket and capture ring
 * before gw_worker_main runs and closes them after the thread is joined.
 * Each worker has its own sockets, interface cache, aggregator, verdict
 * buffer and counters: nothing on the packet path takes a lock, allocates
 * or logs.  Every failure becomes a drop (fail closed) and a counter. */
#pragma once
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gateway/gw_fold.h"
#include "gateway/gw_ifcache.h"
#include "gateway/gw_nfq.h"

/* Packet and connection marks shared with firmware/sekisho-netfilter.sh.
 * Verdict marks (NF_REPEAT) always carry GW_MARK_REPEATED, so that a packet
 * that comes back is dropped by the kernel instead of looping.  Queued
 * packets carry the flow's connmark (ALLOW|generation of an earlier decision)
 * plus the two flags the bootstrap adds from conntrack. */
#define GW_MARK_REPEATED 0x80000000u
#define GW_MARK_ALLOW 0x40000000u   /* | generation: connmark of an allowed flow */
#define GW_MARK_REJECT 0x20000000u  /* kernel REJECT (tcp reset / icmp unreachable) */
#define GW_MARK_F_OLD 0x08000000u   /* queued: ct state established or related */
#define GW_MARK_F_REPLY 0x04000000u /* queued: ct direction reply */

#define GW_RECV_BATCH 32
#define GW_RECV_BUF 8192

struct gw_capture;
struct gw_ctx;
struct gw_daemon;

/* Counters of one worker: written by its thread only, read by the control
 * plane (gw_control.c sums them as an array of uint64_t). */
struct gw_stats {
	_Atomic uint64_t packets, new_flows, rechecked, allowed, denied, rejected, revoked;
	_Atomic uint64_t parse_errors, no_zone, enobufs, recv_errors, verdict_errors, verdict_msgs;
	_Atomic uint64_t ct_deletes, ct_delete_errors, audit_full, related_dropped, folded;
	_Atomic uint64_t captured, capture_errors;
};

struct gw_worker {
	struct gw_daemon *d;
	unsigned index;
	pthread_t thread;
	struct gw_nfq *q;
	struct mnl_socket *ct;
	_Atomic(struct gw_ctx *) hazard;
	struct gw_stats st;
	struct gw_ifcache ifc;
	struct gw_fold fold;
	struct gw_capture *cap; /* NULL without --capture-dir */
	/* counted up by the thread at every turn of its loop (at least every
	 * 200 ms, packets or not): main sends the systemd watchdog its ping
	 * only while every worker's count moves (a stuck worker stops the
	 * pings, systemd restarts the daemon, the box stays closed meanwhile) */
	_Atomic uint64_t heartbeat;
	struct gw_verdicts verdicts;
	struct mmsghdr msgs[GW_RECV_BATCH];
	struct iovec iov[GW_RECV_BATCH];
	char bufs[GW_RECV_BATCH][GW_RECV_BUF];
};

/* Set up the worker's own state (cache, aggregator); main opens q, ct and
 * cap afterwards. */
void gw_worker_init(struct gw_worker *w, struct gw_daemon *d, unsigned index);
/* The thread: runs until d->stop, then records what the aggregator still
 * holds.  arg is the struct gw_worker. */
void *gw_worker_main(void *arg);
