/* gw_worker: one queue thread of sekisho-gatewayd (see gw_worker.h).
 *
 * The whole packet path: receive a batch, take the table for it (hazard
 * pointer), parse, find the zones, look the flow up, queue the verdict,
 * count, capture refused packets, audit; then send the batch's verdicts and
 * give the table back.  No lock, no allocation, no log line: a failure is a
 * drop (fail closed) and a counter the control socket shows. */
#include "gateway/gw_worker.h"

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter.h>

#include "common/audit/audit.h"
#include "gateway/gw_capture.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_daemon.h"
#include "gateway/gw_parse.h"
#include "rules/table.h"

static int ifname_fn(void *arg, int ifindex, char name[GW_IFNAMSIZ])
{
	(void)arg;
	return if_indextoname((unsigned)ifindex, name) ? 0 : -errno;
}

struct decision {
	struct gw_pkt pkt;
	int from, to; /* zone indexes, -1 unknown */
	const char *in_if, *out_if;
	uint8_t hook;
	bool recheck;
	struct table_verdict v;
	const char *reason; /* NULL when decided by a rule */
};

/* A counter of struct gw_stats has one writer, its worker thread (the
 * control thread only reads): a relaxed load and store instead of a locked
 * read-modify-write, which costs a locked instruction per counter per
 * packet. */
static inline void st_add(_Atomic uint64_t *ctr, uint64_t n)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + n, memory_order_relaxed);
}

static void emit_decision(struct gw_worker *w, const struct gw_ctx *c, const struct decision *d)
{
	struct audit_field f[24];
	size_t n = 0;
	char proto_num[8], rule_at[512] = "";
	const struct table *t = c ? c->t : NULL;
	f[n++] = (struct audit_field)AUDIT_STR("from_zone", gw_ctx_zone_name(c, d->from));
	f[n++] = (struct audit_field)AUDIT_STR("to_zone", gw_ctx_zone_name(c, d->to));
	f[n++] = (struct audit_field)AUDIT_STR("in_if", d->in_if ? d->in_if : "");
	f[n++] = (struct audit_field)AUDIT_STR("out_if", d->out_if ? d->out_if : "");
	const char *pn = gw_parse_proto_name(d->pkt.proto);
	if (!pn) {
		snprintf(proto_num, sizeof proto_num, "%u", d->pkt.proto);
		pn = proto_num;
	}
	f[n++] = (struct audit_field)AUDIT_STR("proto", pn);
	if (d->pkt.family) {
		f[n++] = (struct audit_field)AUDIT_IP("src", d->pkt.family, d->pkt.src);
		if (d->pkt.has_ports)
			f[n++] = (struct audit_field)AUDIT_UINT("sport", d->pkt.sport);
		f[n++] = (struct audit_field)AUDIT_IP("dst", d->pkt.family, d->pkt.dst);
		if (d->pkt.has_ports)
			f[n++] = (struct audit_field)AUDIT_UINT("dport", d->pkt.dport);
		if (d->pkt.is_icmp) {
			f[n++] = (struct audit_field)AUDIT_UINT("icmp_type", d->pkt.icmp_type);
			f[n++] = (struct audit_field)AUDIT_UINT("icmp_code", d->pkt.icmp_code);
		}
	}
	f[n++] = (struct audit_field)AUDIT_STR("action", table_action_name(d->v.action));
	f[n++] = (struct audit_field)AUDIT_UINT("rule_id", d->v.rule_id);
	struct table_rule_info ri;
	if (t && d->v.rule_index != UINT32_MAX && table_rule(t, d->v.rule_index, &ri)) {
		snprintf(rule_at, sizeof rule_at, "%s:%" PRIu32, ri.file, ri.line);
		f[n++] = (struct audit_field)AUDIT_STR("rule_at", rule_at);
		f[n++] = (struct audit_field)AUDIT_STR("rule_name", ri.name);
	} else {
		f[n++] = (struct audit_field)AUDIT_NULL("rule_at");
	}
	if (c) {
		f[n++] = (struct audit_field)AUDIT_HEX("policy_sha256", c->info.policy_sha256, 32);
		f[n++] = (struct audit_field)AUDIT_UINT("table_gen", c->gen);
	}
	f[n++] = (struct audit_field)AUDIT_STR("hook",
					       d->hook == GW_HOOK_INPUT            ? "input"
						       : d->hook == GW_HOOK_OUTPUT ? "output"
										   : "forward");
	if (d->reason)
		f[n++] = (struct audit_field)AUDIT_STR("reason", d->reason);
	if (d->recheck)
		f[n++] = (struct audit_field)AUDIT_BOOL("recheck", true);
	f[n++] = (struct audit_field)AUDIT_UINT("queue", w->index + w->d->cfg.queue_base);
	if (audit_emit(w->d->audit, "flow.decision", f, n) == -ENOBUFS)
		st_add(&w->st.audit_full, 1);
}

static void emit_folded(void *arg, const struct gw_fold_summary *s)
{
	struct gw_worker *w = arg;
	struct audit_field f[8];
	size_t n = 0;
	if (s->overflow) {
		f[n++] = (struct audit_field)AUDIT_NULL("src");
		f[n++] = (struct audit_field)AUDIT_BOOL("overflow", true);
	} else {
		f[n++] = (struct audit_field)AUDIT_IP("src", s->key.family, s->key.src);
		f[n++] = (struct audit_field)AUDIT_UINT("rule_id", s->key.rule_id);
		f[n++] = (struct audit_field)AUDIT_STR("action", table_action_name(s->key.action));
	}
	f[n++] = (struct audit_field)AUDIT_INT("second", s->second);
	f[n++] = (struct audit_field)AUDIT_UINT("folded", s->folded);
	f[n++] = (struct audit_field)AUDIT_UINT("queue", w->index + w->d->cfg.queue_base);
	st_add(&w->st.folded, s->folded);
	if (audit_emit(w->d->audit, "flow.folded", f, n) == -ENOBUFS)
		st_add(&w->st.audit_full, 1);
}

static int64_t now_second(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts.tv_sec;
}

/* What one receive batch shares: the second it started in (the flood
 * aggregator's clock: one clock call per batch, not per denied packet) and
 * the table hit counts not yet added to the table's counters, which all
 * queue threads share: a run of packets of one rule and zone pair costs
 * two atomic adds, not two locked adds per packet.  Flushed (batch_flush)
 * before the table reference is released. */
struct batch {
	int64_t now;
	struct gw_ctx *c;
	uint32_t rule; /* index into c->rule_hits */
	int from, to;
	uint64_t n;
};

static void batch_flush(struct batch *b)
{
	if (b->n) {
		atomic_fetch_add_explicit(&b->c->rule_hits[b->rule], b->n, memory_order_relaxed);
		atomic_fetch_add_explicit(&b->c->pair_hits[b->from][b->to], b->n, memory_order_relaxed);
	}
	b->n = 0;
}

static inline void batch_hit(struct batch *b, struct gw_ctx *c, uint32_t rule, int from, int to)
{
	if (b->n && b->c == c && b->rule == rule && b->from == from && b->to == to) {
		b->n++;
		return;
	}
	batch_flush(b);
	b->c = c;
	b->rule = rule;
	b->from = from;
	b->to = to;
	b->n = 1;
}

/* Audit one decision (denied ones through the flood aggregator). */
static void record(struct gw_worker *w, const struct gw_ctx *c, const struct decision *d, int64_t now)
{
	if (d->v.action == ACT_ALLOW && !d->reason) {
		emit_decision(w, c, d);
		return;
	}
	struct gw_fold_key k = {
		.family = d->pkt.family, .action = d->v.action, .rule_id = d->v.rule_id, .src = d->pkt.src};
	struct gw_fold_summary flush;
	bool has_flush;
	bool full = gw_fold_deny(&w->fold, &k, now, &flush, &has_flush);
	if (has_flush)
		emit_folded(w, &flush);
	if (full)
		emit_decision(w, c, d);
}

/* The zone of an interface for this packet: -1 with a reason on failure. */
static int iface_zone(struct gw_worker *w, const struct gw_ctx *c, uint32_t ifindex, const char **ret_name,
		      const char **reason)
{
	int z = gw_ifcache_zone(&w->ifc, c->t, atomic_load_explicit(&w->d->link_epoch, memory_order_acquire),
				(int)ifindex, ret_name);
	if (z < 0) {
		*reason = z == -ENOENT ? "no-zone" : "error";
		return -1;
	}
	return z;
}

static void decide(struct gw_worker *w, struct gw_ctx *c, const struct gw_nfq_msg *m, struct batch *b)
{
	/* Not cleared as a whole: d.pkt is set (and cleared first) by
	 * gw_parse_packet, the rest here. */
	struct decision d;
	d.from = d.to = -1;
	d.in_if = d.out_if = NULL;
	d.hook = m->hook;
	d.recheck = false;
	d.v = (struct table_verdict){.action = ACT_DENY, .rule_index = UINT32_MAX};
	d.reason = NULL;
	bool reply = false;
	st_add(&w->st.packets, 1);

	uint32_t mark = m->has_mark ? m->mark : 0;
	if (gw_parse_packet(m->payload, m->payload_len, &d.pkt) < 0) {
		st_add(&w->st.parse_errors, 1);
		d.reason = "error";
		goto verdict;
	}
	if (mark & GW_MARK_F_OLD) {
		/* A packet of a known flow that the kernel did not pass: decided
		 * under an older generation (or never by us).  Decide the flow
		 * again, in its original direction. */
		d.recheck = true;
		if (gw_parse_is_icmp_error(&d.pkt)) {
			/* An error quoting an old flow: dropped until the flow
			 * itself is re-marked by its next packet. */
			st_add(&w->st.related_dropped, 1);
			gw_nfq_verdicts_add(w->q, &w->verdicts, m->id, NF_DROP, false, 0);
			return;
		}
		reply = (mark & GW_MARK_F_REPLY) != 0;
		if (reply && !gw_parse_to_original(&d.pkt)) {
			d.reason = "error";
			goto verdict;
		}
	}
	if (!c) {
		d.reason = "no-table";
		goto verdict;
	}
	uint32_t from_if = reply ? m->outdev : m->indev, to_if = reply ? m->indev : m->outdev;
	uint8_t hook = m->hook;
	if (reply)
		hook = hook == GW_HOOK_INPUT ? GW_HOOK_OUTPUT : hook == GW_HOOK_OUTPUT ? GW_HOOK_INPUT : hook;
	switch (hook) {
	case GW_HOOK_INPUT:
		d.from = iface_zone(w, c, from_if, &d.in_if, &d.reason);
		d.to = TABLE_ZONE_SELF;
		break;
	case GW_HOOK_OUTPUT:
		d.from = TABLE_ZONE_SELF;
		d.to = iface_zone(w, c, to_if, &d.out_if, &d.reason);
		break;
	case GW_HOOK_FORWARD:
		d.from = iface_zone(w, c, from_if, &d.in_if, &d.reason);
		if (d.from >= 0)
			d.to = iface_zone(w, c, to_if, &d.out_if, &d.reason);
		break;
	default:
		d.reason = "error";
	}
	if (d.from < 0 || d.to < 0) {
		if (d.reason && !strcmp(d.reason, "no-zone"))
			st_add(&w->st.no_zone, 1);
		if (!d.reason)
			d.reason = "error";
		goto verdict;
	}
	struct table_query q;
	gw_parse_query(&d.pkt, (uint8_t)d.from, (uint8_t)d.to, &q);
	table_lookup(c->t, &q, &d.v);
	batch_hit(b, c, d.v.rule_index < c->nrules ? d.v.rule_index : c->nrules, d.from, d.to);

verdict:
	if (d.reason)
		d.v.action = ACT_DENY;
	st_add(d.recheck ? &w->st.rechecked : &w->st.new_flows, 1);
	int r = 0;
	switch (d.v.action) {
	case ACT_ALLOW:
		st_add(&w->st.allowed, 1);
		r = gw_nfq_verdicts_add(w->q, &w->verdicts, m->id, NF_REPEAT, true,
					GW_MARK_REPEATED | GW_MARK_ALLOW | c->gen);
		break;
	case ACT_REJECT:
		st_add(&w->st.rejected, 1);
		r = gw_nfq_verdicts_add(w->q, &w->verdicts, m->id, NF_REPEAT, true, GW_MARK_REPEATED | GW_MARK_REJECT);
		break;
	default:
		st_add(&w->st.denied, 1);
		r = gw_nfq_verdicts_add(w->q, &w->verdicts, m->id, NF_DROP, false, 0);
		break;
	}
	if (r < 0)
		st_add(&w->st.verdict_errors, 1);
	if (w->cap && d.v.action != ACT_ALLOW) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		gw_capture_packet(w->cap, m->payload, m->payload_len,
				  m->cap_len > m->payload_len ? m->cap_len : m->payload_len, &ts);
		st_add(&w->st.captured, 1);
	}
	if (d.recheck && d.v.action != ACT_ALLOW) {
		st_add(&w->st.revoked, 1);
		if (d.pkt.family && gw_nfq_ct_delete(w->ct, &d.pkt) == 0)
			st_add(&w->st.ct_deletes, 1);
		else
			st_add(&w->st.ct_delete_errors, 1);
	}
	/* Re-marking a still-allowed flow is not a new decision: not recorded. */
	if (!(d.recheck && d.v.action == ACT_ALLOW))
		record(w, c, &d, b->now);
}

/* An unparsable netlink message that still carries a packet id: drop it. */
static void drop_raw(struct gw_worker *w, const struct nlmsghdr *nlh)
{
	(void)nlh;
	st_add(&w->st.parse_errors, 1);
}

static void handle_buffer(struct gw_worker *w, struct gw_ctx *c, const char *buf, size_t len, struct batch *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;
	while (mnl_nlmsg_ok(nlh, left)) {
		struct gw_nfq_msg m;
		int r = gw_nfq_parse(nlh, &m);
		if (r == 0)
			decide(w, c, &m, b);
		else if (r == -EBADMSG && m.id)
			gw_nfq_verdicts_add(w->q, &w->verdicts, m.id, NF_DROP, false, 0);
		else if (r == -EBADMSG)
			drop_raw(w, nlh);
		nlh = mnl_nlmsg_next(nlh, &left);
	}
}

void *gw_worker_main(void *arg)
{
	struct gw_worker *w = arg;
	int fd = gw_nfq_fd(w->q);
	int64_t last_sweep = now_second();
	for (unsigned i = 0; i < GW_RECV_BATCH; i++) {
		w->iov[i] = (struct iovec){.iov_base = w->bufs[i], .iov_len = GW_RECV_BUF};
		w->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &w->iov[i], .msg_iovlen = 1};
	}
	char name[16];
	snprintf(name, sizeof name, "gw-queue%u", w->index);
	pthread_setname_np(pthread_self(), name); /* ps -L, the watchdog test */
	while (!atomic_load_explicit(&w->d->stop, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&w->heartbeat, 1, memory_order_relaxed);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, 200);
		int64_t now = now_second();
		if (now != last_sweep) {
			gw_fold_sweep(&w->fold, now, emit_folded, w);
			int errs = gw_nfq_ct_drain(w->ct);
			if (errs)
				st_add(&w->st.ct_delete_errors, (uint64_t)errs);
			last_sweep = now;
		}
		if (pr <= 0)
			continue;
		for (int round = 0; round < 8; round++) {
			int n = recvmmsg(fd, w->msgs, GW_RECV_BATCH, MSG_DONTWAIT, NULL);
			if (n < 0) {
				if (errno == ENOBUFS) {
					/* The kernel dropped messages for us: counted and
					 * reported, never fatal. */
					st_add(&w->st.enobufs, 1);
					continue;
				}
				if (errno != EAGAIN && errno != EINTR)
					st_add(&w->st.recv_errors, 1);
				break;
			}
			struct gw_ctx *c = gw_ctx_acquire(&w->d->ctx, &w->hazard);
			struct batch b = {.now = now_second()};
			for (int i = 0; i < n; i++)
				handle_buffer(w, c, w->bufs[i], w->msgs[i].msg_len, &b);
			int s = gw_nfq_verdicts_flush(w->q, &w->verdicts);
			batch_flush(&b);
			gw_ctx_release(&w->hazard);
			if (w->cap) {
				struct gw_capture_stats cs;
				gw_capture_flush(w->cap);
				gw_capture_get_stats(w->cap, &cs);
				atomic_store_explicit(&w->st.capture_errors, cs.errors, memory_order_relaxed);
			}
			if (s < 0)
				st_add(&w->st.verdict_errors, 1);
			else
				st_add(&w->st.verdict_msgs, (uint64_t)s);
			if (n < GW_RECV_BATCH)
				break;
		}
	}
	gw_fold_sweep(&w->fold, INT64_MAX, emit_folded, w);
	return NULL;
}

void gw_worker_init(struct gw_worker *w, struct gw_daemon *d, unsigned index)
{
	w->d = d;
	w->index = index;
	gw_ifcache_init(&w->ifc, ifname_fn, NULL);
	gw_fold_init(&w->fold, d->cfg.deny_budget);
}
