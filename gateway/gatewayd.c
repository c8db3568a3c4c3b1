/* sekisho-gatewayd: the NFQUEUE datapath daemon.
 *
 * Decides every new flow that crosses or reaches the appliance against the
 * compiled rule table, fail closed, and records every decision in the audit
 * chain.  docs/gateway.md describes the design; in short:
 *
 * - One thread per queue (N queues, --queues), each with its own netlink
 *   socket, interface cache, flood aggregator, verdict buffer and counters:
 *   nothing on the packet path takes a lock or allocates.
 * - Verdicts: allow = NF_REPEAT with packet mark ALLOW|generation (the
 *   bootstrap's rule saves it into the connmark and accepts, so the rest of
 *   the flow never leaves the kernel); reject = NF_REPEAT with mark REJECT
 *   (the bootstrap answers with a TCP RST / ICMP unreachable); deny =
 *   NF_DROP.  Equal consecutive verdicts are sent as one batch message.
 * - Generations: the connmark carries the table generation; the bootstrap
 *   accepts only the current one.  A reload opens the new table aside,
 *   validates it, asks the bootstrap to accept the new generation (one rule
 *   replaced per family, base chains untouched), swaps the table pointer and
 *   waits until no thread still uses the old table (hazard pointers) before
 *   freeing it.  Packets of older flows come back to the queue and are
 *   re-decided from their conntrack original tuple: re-marked, or dropped
 *   with their conntrack entry deleted.
 * - Fail closed: a packet that cannot be parsed, an interface in no zone, a
 *   missing table or any internal error is dropped and recorded.  When the
 *   daemon is gone (stop, crash, kill -9) its helper fences the bootstrap
 *   (generation 0, carried by no flow), so established flows stop too.
 *
 * - Privileges (--user): setup as root, then the user with CAP_NET_ADMIN
 *   only (nfnetlink checks it on every verdict and conntrack delete); the
 *   generation switch on reload goes through a privileged helper forked
 *   first (in every mode), which understands one request (a generation
 *   number) and fences when the daemon's end of its socket closes.
 * - Forensics (--capture-dir): refused packets go to a capped ring of pcap
 *   files per queue thread (gw_capture.c).
 *
 * Control plane (main thread): signals (SIGHUP reload, SIGTERM/SIGINT stop),
 * a Unix control socket (status, counters, reload; mode 0660, group
 * --control-group, and the peer's credentials checked), rtnetlink link events
 * (invalidate the interface caches).  It may allocate and log; it reports
 * errors on stderr once, at the edge. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/netfilter.h>
#include <linux/rtnetlink.h>

#include "common/audit.h"
#include "common/inaddr.h"
#include "gateway/gw_capture.h"
#include "gateway/gw_fold.h"
#include "gateway/gw_ifcache.h"
#include "gateway/gw_nfhelp.h"
#include "gateway/gw_nfq.h"
#include "gateway/gw_parse.h"
#include "common/fdio.h"
#include "rules/table.h"

/* Packet and connection marks shared with firmware/sekisho-netfilter.
 * Verdict marks (NF_REPEAT) always carry GW_MARK_REPEATED, so that a packet
 * that comes back is dropped by the kernel instead of looping.  Queued
 * packets carry the flow's connmark (ALLOW|generation of an earlier decision)
 * plus the two flags the bootstrap adds from conntrack. */
#define GW_MARK_REPEATED 0x80000000u
#define GW_MARK_ALLOW 0x40000000u     /* | generation: connmark of an allowed flow */
#define GW_MARK_REJECT 0x20000000u    /* kernel REJECT (tcp reset / icmp unreachable) */
#define GW_MARK_F_OLD 0x08000000u     /* queued: ct state established or related */
#define GW_MARK_F_REPLY 0x04000000u   /* queued: ct direction reply */
#define GW_GEN_MASK 0x00ffffffu

#define GW_MAX_QUEUES 64
#define GW_RECV_BATCH 32
#define GW_RECV_BUF 8192
#define GW_TABLE_MAX_BYTES (1ull << 30)
#define GW_CTL_MAX_CLIENT_LINE 256
#define GW_CTL_GROUP "sekisho"       /* the packaged group (firmware/sysusers.d) */
#define GW_CTL_MAX_GROUPS 256        /* of a peer; more: refused (fail closed) */

/* ----------------------------------------------------------- the table -- */

struct gw_ctx {
	struct table *t;
	void *buf;                    /* the table bytes (read, not mapped) */
	uint32_t gen;
	struct table_info info;
	uint32_t nrules;
	_Atomic uint64_t *rule_hits;  /* per rule index; [nrules] = defaults */
	_Atomic uint64_t pair_hits[POLICY_MAX_ZONES][POLICY_MAX_ZONES];
};

static void ctx_free(struct gw_ctx *c)
{
	if (!c)
		return;
	table_close(c->t);
	free(c->buf);
	free(c->rule_hits);
	free(c);
}

/* Read and validate a table file.  The bytes are copied into memory so that
 * a file overwritten in place can never fault the running daemon. */
static int ctx_load(const char *path, uint32_t gen, struct gw_ctx **ret, char *why, size_t whylen)
{
	void *buf = NULL;
	size_t len = 0;
	int r = fd_read_file(path, GW_TABLE_MAX_BYTES, &buf, &len);
	if (r == -EFBIG || (r == 0 && len == 0)) {
		snprintf(why, whylen, "%s: not a regular file of 1..%llu bytes", path, GW_TABLE_MAX_BYTES);
		free(buf);
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", path, r == -EIO ? "short read" : strerror(-r));
		return r;
	}
	struct gw_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		free(buf);
		return -ENOMEM;
	}
	c->buf = buf;
	char w[256] = "";
	r = table_open_buffer(buf, len, &c->t, w, sizeof w);
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", path, w);
		ctx_free(c);
		return r;
	}
	table_get_info(c->t, &c->info);
	c->nrules = c->info.nrules;
	c->rule_hits = calloc((size_t)c->nrules + 1, sizeof *c->rule_hits);
	if (!c->rule_hits) {
		ctx_free(c);
		return -ENOMEM;
	}
	c->gen = gen & GW_GEN_MASK;
	*ret = c;
	return 0;
}

/* ----------------------------------------------------------- globals -- */

struct gw_stats {
	_Atomic uint64_t packets, new_flows, rechecked, allowed, denied, rejected, revoked;
	_Atomic uint64_t parse_errors, no_zone, enobufs, recv_errors, verdict_errors, verdict_msgs;
	_Atomic uint64_t ct_deletes, ct_delete_errors, audit_full, related_dropped, folded;
	_Atomic uint64_t captured, capture_errors;
};

struct worker {
	unsigned index;
	pthread_t thread;
	struct gw_nfq *q;
	struct mnl_socket *ct;
	_Atomic(struct gw_ctx *) hazard;
	struct gw_stats st;
	struct gw_ifcache ifc;
	struct gw_fold fold;
	struct gw_capture *cap;       /* NULL without --capture-dir */
	struct gw_verdicts verdicts;
	struct mmsghdr msgs[GW_RECV_BATCH];
	struct iovec iov[GW_RECV_BATCH];
	char bufs[GW_RECV_BATCH][GW_RECV_BUF];
};

static struct {
	const char *table_path, *audit_dir, *audit_key, *run_dir, *netfilter, *host;
	const char *capture_dir, *user;
	const char *ctl_group;        /* may use the control socket; NULL: root and our user only */
	bool ctl_group_given;
	gid_t ctl_gid;
	uint64_t ctl_refused;         /* control connections refused by peer credentials */
	unsigned nqueues, queue_base, deny_budget, capture_files;
	uint64_t capture_bytes;
	uid_t uid;
	gid_t gid;
	int nf_helper;                /* socket to the privileged helper (with --netfilter), else -1 */
	int nf_events;                /* its tamper/repair reports (gw_nfhelp.h), else -1 */
	bool no_watch;                /* --no-watch: the helper only fences (tests) */
	struct {                      /* what the helper reported (main thread only) */
		uint64_t tampers, repairs, repair_failures;
		bool forwarding_closed;
		char last_what[224], last_comm[16];
		uint32_t last_pid;
		double last_detect_ms, last_repair_ms;  /* notification -> judged; judged -> reopened */
	} nf;
	_Atomic(struct gw_ctx *) ctx;
	_Atomic uint64_t link_epoch;
	atomic_bool stop;
	struct audit_log *audit;
	struct worker *workers;
	time_t started;
	uint64_t reloads, reload_failures;
	char last_reload_error[512];
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} G;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "sekisho-gatewayd: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Take a reference to the current table for one batch (hazard pointer):
 * publish, then check the pointer did not change meanwhile. */
static struct gw_ctx *ctx_acquire(struct worker *w)
{
	for (;;) {
		struct gw_ctx *c = atomic_load(&G.ctx);
		atomic_store(&w->hazard, c);
		if (atomic_load(&G.ctx) == c)
			return c;
	}
}

static void ctx_release(struct worker *w)
{
	atomic_store(&w->hazard, NULL);
}

/* --------------------------------------------------------- the decision -- */

static int ifname_fn(void *arg, int ifindex, char name[GW_IFNAMSIZ])
{
	(void)arg;
	return if_indextoname((unsigned)ifindex, name) ? 0 : -errno;
}

static const char *zone_name(const struct table *t, int z)
{
	struct table_zone_info zi;
	if (z < 0 || !table_zone(t, (uint32_t)z, &zi))
		return "";
	return zi.name;
}

struct decision {
	struct gw_pkt pkt;
	int from, to;                 /* zone indexes, -1 unknown */
	const char *in_if, *out_if;
	uint8_t hook;
	bool recheck;
	struct table_verdict v;
	const char *reason;           /* NULL when decided by a rule */
};

/* A counter of struct gw_stats has one writer, its worker thread (the
 * control thread only reads): a relaxed load and store instead of a locked
 * read-modify-write, which costs a locked instruction per counter per
 * packet. */
static inline void st_add(_Atomic uint64_t *ctr, uint64_t n)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + n, memory_order_relaxed);
}

static void emit_decision(struct worker *w, const struct gw_ctx *c, const struct decision *d)
{
	struct audit_field f[24];
	size_t n = 0;
	char proto_num[8], rule_at[512] = "";
	const struct table *t = c ? c->t : NULL;
	f[n++] = (struct audit_field)AUDIT_STR("from_zone", t ? zone_name(t, d->from) : "");
	f[n++] = (struct audit_field)AUDIT_STR("to_zone", t ? zone_name(t, d->to) : "");
	f[n++] = (struct audit_field)AUDIT_STR("in_if", d->in_if ? d->in_if : "");
	f[n++] = (struct audit_field)AUDIT_STR("out_if", d->out_if ? d->out_if : "");
	const char *pn = gw_proto_name(d->pkt.proto);
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
	f[n++] = (struct audit_field)AUDIT_STR("action", policy_action_name(d->v.action));
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
	f[n++] = (struct audit_field)AUDIT_STR("hook", d->hook == GW_HOOK_INPUT ? "input" :
						       d->hook == GW_HOOK_OUTPUT ? "output" : "forward");
	if (d->reason)
		f[n++] = (struct audit_field)AUDIT_STR("reason", d->reason);
	if (d->recheck)
		f[n++] = (struct audit_field)AUDIT_BOOL("recheck", true);
	f[n++] = (struct audit_field)AUDIT_UINT("queue", w->index + G.queue_base);
	if (audit_emit(G.audit, "flow.decision", f, n) == -ENOBUFS)
		st_add(&w->st.audit_full, 1);
}

static void emit_folded(void *arg, const struct gw_fold_summary *s)
{
	struct worker *w = arg;
	struct audit_field f[8];
	size_t n = 0;
	if (s->overflow) {
		f[n++] = (struct audit_field)AUDIT_NULL("src");
		f[n++] = (struct audit_field)AUDIT_BOOL("overflow", true);
	} else {
		f[n++] = (struct audit_field)AUDIT_IP("src", s->key.family, s->key.src);
		f[n++] = (struct audit_field)AUDIT_UINT("rule_id", s->key.rule_id);
		f[n++] = (struct audit_field)AUDIT_STR("action", policy_action_name(s->key.action));
	}
	f[n++] = (struct audit_field)AUDIT_INT("second", s->second);
	f[n++] = (struct audit_field)AUDIT_UINT("folded", s->folded);
	f[n++] = (struct audit_field)AUDIT_UINT("queue", w->index + G.queue_base);
	st_add(&w->st.folded, s->folded);
	if (audit_emit(G.audit, "flow.folded", f, n) == -ENOBUFS)
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
	uint32_t rule;                /* index into c->rule_hits */
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
static void record(struct worker *w, const struct gw_ctx *c, const struct decision *d, int64_t now)
{
	if (d->v.action == ACT_ALLOW && !d->reason) {
		emit_decision(w, c, d);
		return;
	}
	struct gw_fold_key k = { .family = d->pkt.family, .action = d->v.action, .rule_id = d->v.rule_id,
				 .src = d->pkt.src };
	struct gw_fold_summary flush;
	bool has_flush;
	bool full = gw_fold_deny(&w->fold, &k, now, &flush, &has_flush);
	if (has_flush)
		emit_folded(w, &flush);
	if (full)
		emit_decision(w, c, d);
}

/* The zone of an interface for this packet: -1 with a reason on failure. */
static int iface_zone(struct worker *w, const struct gw_ctx *c, uint32_t ifindex, const char **ret_name,
		      const char **reason)
{
	int z = gw_ifcache_zone(&w->ifc, c->t, atomic_load_explicit(&G.link_epoch, memory_order_acquire),
				(int)ifindex, ret_name);
	if (z < 0) {
		*reason = z == -ENOENT ? "no-zone" : "error";
		return -1;
	}
	return z;
}

static void decide(struct worker *w, struct gw_ctx *c, const struct gw_nfq_msg *m, struct batch *b)
{
	/* Not cleared as a whole: d.pkt is set (and cleared first) by
	 * gw_parse_packet, the rest here. */
	struct decision d;
	d.from = d.to = -1;
	d.in_if = d.out_if = NULL;
	d.hook = m->hook;
	d.recheck = false;
	d.v = (struct table_verdict){ .action = ACT_DENY, .rule_index = UINT32_MAX };
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
		if (gw_pkt_is_icmp_error(&d.pkt)) {
			/* An error quoting an old flow: dropped until the flow
			 * itself is re-marked by its next packet. */
			st_add(&w->st.related_dropped, 1);
			gw_verdicts_add(w->q, &w->verdicts, m->id, NF_DROP, false, 0);
			return;
		}
		reply = (mark & GW_MARK_F_REPLY) != 0;
		if (reply && !gw_pkt_to_original(&d.pkt)) {
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
		d.to = POLICY_ZONE_SELF;
		break;
	case GW_HOOK_OUTPUT:
		d.from = POLICY_ZONE_SELF;
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
	gw_pkt_query(&d.pkt, (uint8_t)d.from, (uint8_t)d.to, &q);
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
		r = gw_verdicts_add(w->q, &w->verdicts, m->id, NF_REPEAT, true,
				    GW_MARK_REPEATED | GW_MARK_ALLOW | c->gen);
		break;
	case ACT_REJECT:
		st_add(&w->st.rejected, 1);
		r = gw_verdicts_add(w->q, &w->verdicts, m->id, NF_REPEAT, true, GW_MARK_REPEATED | GW_MARK_REJECT);
		break;
	default:
		st_add(&w->st.denied, 1);
		r = gw_verdicts_add(w->q, &w->verdicts, m->id, NF_DROP, false, 0);
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
		if (d.pkt.family && gw_ct_delete(w->ct, &d.pkt) == 0)
			st_add(&w->st.ct_deletes, 1);
		else
			st_add(&w->st.ct_delete_errors, 1);
	}
	/* Re-marking a still-allowed flow is not a new decision: not recorded. */
	if (!(d.recheck && d.v.action == ACT_ALLOW))
		record(w, c, &d, b->now);
}

/* An unparsable netlink message that still carries a packet id: drop it. */
static void drop_raw(struct worker *w, const struct nlmsghdr *nlh)
{
	(void)nlh;
	st_add(&w->st.parse_errors, 1);
}

static void handle_buffer(struct worker *w, struct gw_ctx *c, const char *buf, size_t len, struct batch *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;
	while (mnl_nlmsg_ok(nlh, left)) {
		struct gw_nfq_msg m;
		int r = gw_nfq_parse(nlh, &m);
		if (r == 0)
			decide(w, c, &m, b);
		else if (r == -EBADMSG && m.id)
			gw_verdicts_add(w->q, &w->verdicts, m.id, NF_DROP, false, 0);
		else if (r == -EBADMSG)
			drop_raw(w, nlh);
		nlh = mnl_nlmsg_next(nlh, &left);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int fd = gw_nfq_fd(w->q);
	int64_t last_sweep = now_second();
	for (unsigned i = 0; i < GW_RECV_BATCH; i++) {
		w->iov[i] = (struct iovec){ .iov_base = w->bufs[i], .iov_len = GW_RECV_BUF };
		w->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &w->iov[i], .msg_iovlen = 1 };
	}
	while (!atomic_load_explicit(&G.stop, memory_order_relaxed)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, 200);
		int64_t now = now_second();
		if (now != last_sweep) {
			gw_fold_sweep(&w->fold, now, emit_folded, w);
			int errs = gw_ct_drain(w->ct);
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
			struct gw_ctx *c = ctx_acquire(w);
			struct batch b = { .now = now_second() };
			for (int i = 0; i < n; i++)
				handle_buffer(w, c, w->bufs[i], w->msgs[i].msg_len, &b);
			int s = gw_verdicts_flush(w->q, &w->verdicts);
			batch_flush(&b);
			ctx_release(w);
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

/* -------------------------------------------------------- control plane -- */

static int write_file_atomic(const char *path, const char *text)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return -errno;
	return 0;
}

static uint32_t read_generation(void)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/generation", G.run_dir);
	FILE *f = fopen(path, "r");
	unsigned long g = 0;
	if (f) {
		if (fscanf(f, "%lu", &g) != 1)
			g = 0;
		fclose(f);
	}
	return (uint32_t)(g & GW_GEN_MASK);
}

static void save_generation(uint32_t gen)
{
	char path[4096], text[32];
	snprintf(path, sizeof path, "%s/generation", G.run_dir);
	snprintf(text, sizeof text, "%u\n", gen);
	if (write_file_atomic(path, text) < 0)
		logmsg("warning: cannot write %s: %s", path, strerror(errno));
}

static uint32_t next_generation(uint32_t g)
{
	g = (g + 1) & GW_GEN_MASK;
	return g ? g : 1;
}

/* Ask the bootstrap, through the helper (always there with --netfilter),
 * to accept connmark generation gen. */
static int netfilter_generation(uint32_t gen, char *why, size_t whylen)
{
	if (!G.netfilter)
		return 0;
	int32_t r;
	if (send(G.nf_helper, &gen, sizeof gen, MSG_NOSIGNAL) != (ssize_t)sizeof gen ||
	    recv(G.nf_helper, &r, sizeof r, 0) != (ssize_t)sizeof r)
		r = -EPIPE;
	if (r < 0)
		snprintf(why, whylen, "%s generation %u failed (%s)", G.netfilter, gen,
			 r == -EIO ? "exit status" : strerror(-r));
	return r;
}

/* Become G.uid/G.gid keeping only CAP_NET_ADMIN: the queue and conntrack
 * sockets need it for every message they send (nfnetlink checks the
 * capability of the sender on each verdict and delete).  Nothing else is
 * kept: no bounding set, no_new_privs.  Must run before the threads start
 * (capabilities are per thread). */
static int drop_privileges(char *why, size_t whylen)
{
	for (int cap = 0; cap <= 63; cap++) {
		if (cap == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	}
	/* The user's own supplementary groups are kept (initgroups), as under
	 * systemd's SupplementaryGroups=: the packaged layout gives the table
	 * and the log directories to the group "sekisho". */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || initgroups(G.user, G.gid) < 0 ||
	    setresgid(G.gid, G.gid, G.gid) < 0 || setresuid(G.uid, G.uid, G.uid) < 0) {
		snprintf(why, whylen, "becoming %s: %s", G.user, strerror(errno));
		return -errno;
	}
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	d[0].effective = d[0].permitted = 1u << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &h, d) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(why, whylen, "keeping CAP_NET_ADMIN: %s", strerror(errno));
		return -errno;
	}
	if (setuid(0) == 0) {     /* must be impossible now */
		snprintf(why, whylen, "could become root again");
		return -EPERM;
	}
	return 0;
}

/* Directories the unprivileged daemon writes into (generation file, audit
 * rotation, capture files) are given to its user. */
static void chown_dirs(void)
{
	const char *dirs[] = { G.run_dir, G.audit_dir, G.capture_dir };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		if (dirs[i] && chown(dirs[i], G.uid, G.gid) < 0)
			logmsg("warning: chown %s: %s", dirs[i], strerror(errno));
}

/* Wait until no thread holds old (their batches are short). */
static void ctx_retire(struct gw_ctx *old)
{
	if (!old)
		return;
	for (;;) {
		bool busy = false;
		for (unsigned i = 0; i < G.nqueues; i++)
			if (atomic_load(&G.workers[i].hazard) == old)
				busy = true;
		if (!busy)
			break;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	ctx_free(old);
}

static void emit_reload(const char *result, const struct gw_ctx *c, const char *why)
{
	struct audit_field f[6];
	size_t n = 0;
	f[n++] = (struct audit_field)AUDIT_STR("result", result);
	f[n++] = (struct audit_field)AUDIT_STR("table", G.table_path);
	if (c) {
		f[n++] = (struct audit_field)AUDIT_HEX("policy_sha256", c->info.policy_sha256, 32);
		f[n++] = (struct audit_field)AUDIT_UINT("table_gen", c->gen);
	}
	if (why)
		f[n++] = (struct audit_field)AUDIT_STR("why", why);
	audit_emit(G.audit, "gateway.reload", f, n);
}

/* Load aside, validate, switch the kernel's generation, swap, retire. */
static int reload(char *why, size_t whylen)
{
	struct gw_ctx *old = atomic_load(&G.ctx);
	uint32_t gen = next_generation(old ? old->gen : read_generation());
	struct gw_ctx *c;
	int r = ctx_load(G.table_path, gen, &c, why, whylen);
	if (r < 0) {
		G.reload_failures++;
		snprintf(G.last_reload_error, sizeof G.last_reload_error, "%s", why);
		emit_reload("refused", NULL, why);
		return r;
	}
	r = netfilter_generation(gen, why, whylen);
	if (r < 0) {
		ctx_free(c);
		G.reload_failures++;
		snprintf(G.last_reload_error, sizeof G.last_reload_error, "%s", why);
		emit_reload("refused", NULL, why);
		return r;
	}
	save_generation(gen);
	atomic_store(&G.ctx, c);
	ctx_retire(old);
	G.reloads++;
	emit_reload("ok", c, NULL);
	return 0;
}

static double ns_ms(uint64_t a, uint64_t b)
{
	return b > a ? (double)(b - a) / 1e6 : 0.0;
}

/* Reports of the helper (gw_nfhelp.h) become netfilter.tamper and
 * netfilter.repair records and the status's "netfilter" counters. */
static void nf_event(void)
{
	struct gw_nfhelp_event e;
	ssize_t n;
	while ((n = recv(G.nf_events, &e, sizeof e, MSG_DONTWAIT)) == (ssize_t)sizeof e) {
		e.comm[sizeof e.comm - 1] = 0;
		e.what[sizeof e.what - 1] = 0;
		if (e.kind == GW_NFHELP_TAMPER) {
			G.nf.tampers++;
			G.nf.forwarding_closed = e.forwarding_closed;
			snprintf(G.nf.last_what, sizeof G.nf.last_what, "%s", e.what);
			snprintf(G.nf.last_comm, sizeof G.nf.last_comm, "%s", e.comm);
			G.nf.last_pid = e.pid;
			G.nf.last_detect_ms = ns_ms(e.event_ns, e.detected_ns);
			struct audit_field f[] = {
				AUDIT_STR("what", e.what),
				e.pid ? (struct audit_field)AUDIT_UINT("pid", e.pid) : (struct audit_field)AUDIT_NULL("pid"),
				AUDIT_STR("comm", e.comm),
				AUDIT_UINT("changes", e.changes),
				AUDIT_BOOL("forwarding_closed", e.forwarding_closed != 0),
				AUDIT_UINT("event_mono_ns", e.event_ns),
				AUDIT_UINT("detected_mono_ns", e.detected_ns),
				AUDIT_UINT("closed_mono_ns", e.closed_ns),
			};
			audit_emit(G.audit, "netfilter.tamper", f, AUDIT_N(f));
			logmsg("netfilter tamper: %s (pid %u %s); forwarding %s, repairing", e.what, e.pid, e.comm,
			       e.forwarding_closed ? "closed" : "NOT closed");
		} else if (e.kind == GW_NFHELP_REPAIR) {
			const char *result = e.result == 0 ? "ok" : e.result == -EBUSY ? "suspended" : "failed";
			if (e.result == 0) {
				G.nf.repairs++;
				G.nf.forwarding_closed = false;
				G.nf.last_repair_ms = ns_ms(e.detected_ns, e.done_ns);
			} else {
				G.nf.repair_failures++;
			}
			struct audit_field f[] = {
				AUDIT_STR("result", result),
				AUDIT_UINT("table_gen", e.generation),
				AUDIT_STR("why", e.what),
				AUDIT_UINT("repair_us", e.done_ns > e.detected_ns ? (e.done_ns - e.detected_ns) / 1000 : 0),
				AUDIT_UINT("closed_us", e.closed_ns && e.done_ns > e.closed_ns ?
							(e.done_ns - e.closed_ns) / 1000 : 0),
				AUDIT_UINT("detected_mono_ns", e.detected_ns),
				AUDIT_UINT("done_mono_ns", e.done_ns),
			};
			audit_emit(G.audit, "netfilter.repair", f, AUDIT_N(f));
			if (e.result == 0)
				logmsg("netfilter repaired (generation %u) in %.1f ms; forwarding reopened", e.generation,
				       G.nf.last_repair_ms);
			else
				logmsg("netfilter repair %s: %s; forwarding stays closed", result, e.what);
		}
	}
	if (n == 0) {             /* the helper is gone: nothing watches any more */
		close(G.nf_events);
		G.nf_events = -1;
		logmsg("warning: the netfilter helper is gone: no more tamper detection");
	}
}

static void sum_stats(struct gw_stats *tot, const struct gw_stats *s)
{
	const _Atomic uint64_t *a = (const _Atomic uint64_t *)s;
	_Atomic uint64_t *t = (_Atomic uint64_t *)tot;
	for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++)
		atomic_store(&t[i], atomic_load(&t[i]) + atomic_load(&a[i]));
}

static void put_stats(FILE *out, const struct gw_stats *s)
{
	fprintf(out,
		"\"packets\":%" PRIu64 ",\"new_flows\":%" PRIu64 ",\"rechecked\":%" PRIu64 ",\"allowed\":%" PRIu64
		",\"denied\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"revoked\":%" PRIu64 ",\"parse_errors\":%" PRIu64
		",\"no_zone\":%" PRIu64 ",\"enobufs\":%" PRIu64 ",\"recv_errors\":%" PRIu64
		",\"verdict_errors\":%" PRIu64 ",\"verdict_msgs\":%" PRIu64 ",\"ct_deletes\":%" PRIu64
		",\"ct_delete_errors\":%" PRIu64 ",\"audit_full\":%" PRIu64 ",\"related_dropped\":%" PRIu64
		",\"folded\":%" PRIu64 ",\"captured\":%" PRIu64 ",\"capture_errors\":%" PRIu64,
		atomic_load(&s->packets), atomic_load(&s->new_flows), atomic_load(&s->rechecked),
		atomic_load(&s->allowed), atomic_load(&s->denied), atomic_load(&s->rejected),
		atomic_load(&s->revoked), atomic_load(&s->parse_errors), atomic_load(&s->no_zone),
		atomic_load(&s->enobufs), atomic_load(&s->recv_errors),
		atomic_load(&s->verdict_errors), atomic_load(&s->verdict_msgs), atomic_load(&s->ct_deletes),
		atomic_load(&s->ct_delete_errors), atomic_load(&s->audit_full), atomic_load(&s->related_dropped),
		atomic_load(&s->folded), atomic_load(&s->captured), atomic_load(&s->capture_errors));
}

static void put_hex(FILE *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", b[i]);
}

/* JSON string (names of rules and zones are UTF-8 without controls). */
static void put_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void ctl_status(FILE *out, bool counters)
{
	struct gw_ctx *c = atomic_load(&G.ctx);   /* main thread is the only writer */
	struct gw_stats tot = { 0 };
	fprintf(out, "{\"pid\":%ld,\"uptime_s\":%ld,\"queues\":%u,\"queue_base\":%u", (long)getpid(),
		(long)(time(NULL) - G.started), G.nqueues, G.queue_base);
	if (c) {
		fprintf(out, ",\"table_gen\":%u,\"table\":", c->gen);
		put_str(out, G.table_path);
		fprintf(out, ",\"policy_name\":");
		put_str(out, c->info.policy_name);
		fprintf(out, ",\"policy_version\":");
		put_str(out, c->info.policy_version);
		fprintf(out, ",\"policy_sha256\":\"");
		put_hex(out, c->info.policy_sha256, 32);
		fprintf(out, "\",\"table_sha256\":\"");
		put_hex(out, c->info.file_sha256, 32);
		fprintf(out, "\",\"rules\":%u", c->nrules);
	}
	fprintf(out, ",\"reloads\":%" PRIu64 ",\"reload_failures\":%" PRIu64 ",\"ctl_refused\":%" PRIu64
		",\"last_reload_error\":", G.reloads, G.reload_failures, G.ctl_refused);
	put_str(out, G.last_reload_error);
	fprintf(out, ",\"netfilter\":{\"watch\":%s,\"tampers\":%" PRIu64 ",\"repairs\":%" PRIu64
		",\"repair_failures\":%" PRIu64 ",\"forwarding_closed\":%s,\"last_tamper\":",
		G.nf_events >= 0 ? "true" : "false", G.nf.tampers, G.nf.repairs, G.nf.repair_failures,
		G.nf.forwarding_closed ? "true" : "false");
	put_str(out, G.nf.last_what);
	fprintf(out, ",\"last_tamper_comm\":");
	put_str(out, G.nf.last_comm);
	fprintf(out, ",\"last_tamper_pid\":%u,\"last_detect_ms\":%.3f,\"last_repair_ms\":%.3f}",
		G.nf.last_pid, G.nf.last_detect_ms, G.nf.last_repair_ms);
	for (unsigned i = 0; i < G.nqueues; i++)
		sum_stats(&tot, &G.workers[i].st);
	fprintf(out, ",");
	put_stats(out, &tot);
	struct audit_stats as;
	audit_get_stats(G.audit, &as);
	fprintf(out, ",\"audit_dropped\":%" PRIu64 ",\"audit_written\":%" PRIu64, as.dropped, as.written);
	if (counters) {
		fprintf(out, ",\"per_queue\":[");
		for (unsigned i = 0; i < G.nqueues; i++) {
			fprintf(out, "%s{\"queue\":%u,", i ? "," : "", i + G.queue_base);
			put_stats(out, &G.workers[i].st);
			fprintf(out, ",\"ifcache_hits\":%" PRIu64 ",\"ifcache_misses\":%" PRIu64 "}",
				G.workers[i].ifc.hits, G.workers[i].ifc.misses);
		}
		fprintf(out, "],\"per_rule\":[");
		bool first = true;
		for (uint32_t r = 0; c && r <= c->nrules; r++) {
			uint64_t h = atomic_load(&c->rule_hits[r]);
			if (!h)
				continue;
			struct table_rule_info ri = { 0 };
			bool has = r < c->nrules && table_rule(c->t, r, &ri);
			fprintf(out, "%s{\"rule_id\":%u,\"name\":", first ? "" : ",", has ? ri.id : 0);
			put_str(out, has ? ri.name : "(zone default)");
			fprintf(out, ",\"hits\":%" PRIu64 "}", h);
			first = false;
		}
		fprintf(out, "],\"per_zone_pair\":[");
		first = true;
		for (unsigned a = 0; c && a < c->info.nzones; a++)
			for (unsigned b = 0; b < c->info.nzones; b++) {
				uint64_t h = atomic_load(&c->pair_hits[a][b]);
				if (!h)
					continue;
				fprintf(out, "%s{\"from\":", first ? "" : ",");
				put_str(out, zone_name(c->t, (int)a));
				fprintf(out, ",\"to\":");
				put_str(out, zone_name(c->t, (int)b));
				fprintf(out, ",\"flows\":%" PRIu64 "}", h);
				first = false;
			}
		/* queue_number portid queue_total copy_mode copy_range queue_dropped user_dropped id_sequence 1 */
		fprintf(out, "],\"kernel_queues\":[");
		FILE *k = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
		first = true;
		unsigned qn, total, mode, range, qdrop, udrop, idseq, one;
		unsigned long portid;
		while (k && fscanf(k, "%u %lu %u %u %u %u %u %u %u", &qn, &portid, &total, &mode, &range, &qdrop,
				   &udrop, &idseq, &one) == 9) {
			if (qn < G.queue_base || qn >= G.queue_base + G.nqueues)
				continue;
			fprintf(out,
				"%s{\"queue\":%u,\"queued\":%u,\"queue_dropped\":%u,\"user_dropped\":%u,\"id_sequence\":%u}",
				first ? "" : ",", qn, total, qdrop, udrop, idseq);
			first = false;
		}
		if (k)
			fclose(k);
		fprintf(out, "]");
	}
	fprintf(out, "}\n");
}

/* Who may use the control socket: root, the daemon's own user and the
 * members of the control group (primary group, or in the group list of the
 * peer's user).  The file mode (0660, group = control group) is the first
 * gate; this one holds even if the mode or the directory is loosened by
 * mistake.  Credentials are the kernel's (SO_PEERCRED, taken at connect). */
static bool ctl_peer_allowed(int fd, struct ucred *cr)
{
	socklen_t l = sizeof *cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &l) < 0 || l != sizeof *cr)
		return false;
	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (!G.ctl_group)
		return false;
	if (cr->gid == G.ctl_gid)
		return true;
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(cr->uid, &pw, buf, sizeof buf, &res) != 0 || !res)
		return false;
	gid_t groups[GW_CTL_MAX_GROUPS];
	int n = GW_CTL_MAX_GROUPS;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == G.ctl_gid)
			return true;
	return false;
}

static void ctl_send_all(int fd, const char *text, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t w = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

static void ctl_serve(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char line[GW_CTL_MAX_CLIENT_LINE];
	ssize_t n = recv(fd, line, sizeof line - 1, 0);
	if (n <= 0) {
		close(fd);
		return;
	}
	/* Checked after the request is read: closing a Unix socket with unread
	 * data resets it, and the client would never see why. */
	struct ucred cr = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	if (!ctl_peer_allowed(fd, &cr)) {
		char msg[256];
		int len = snprintf(msg, sizeof msg,
				   "{\"error\":\"permission denied: uid %u is not root, the daemon's user or a member of "
				   "group %s\"}\n", (unsigned)cr.uid, G.ctl_group ? G.ctl_group : "(none)");
		ctl_send_all(fd, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
		close(fd);
		/* logged at 1, 2, 4, 8, ... refusals: a local user cannot fill the log */
		uint64_t nref = ++G.ctl_refused;
		if ((nref & (nref - 1)) == 0)
			logmsg("control socket: refused uid %u gid %u pid %d (%" PRIu64 " refused so far)",
			       (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid, G.ctl_refused);
		return;
	}
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		close(fd);
		return;
	}
	if (!strcmp(line, "status")) {
		ctl_status(out, false);
	} else if (!strcmp(line, "counters")) {
		ctl_status(out, true);
	} else if (!strcmp(line, "reload")) {
		char why[512] = "";
		if (reload(why, sizeof why) == 0) {
			fprintf(out, "{\"result\":\"ok\",\"table_gen\":%u}\n", atomic_load(&G.ctx)->gen);
			logmsg("reloaded %s: generation %u", G.table_path, atomic_load(&G.ctx)->gen);
		} else {
			fprintf(out, "{\"result\":\"refused\",\"why\":");
			put_str(out, why);
			fprintf(out, "}\n");
			logmsg("reload refused, old table stays: %s", why);
		}
	} else {
		fprintf(out, "{\"error\":\"unknown command (status, counters, reload)\"}\n");
	}
	fclose(out);
	ctl_send_all(fd, text, len);
	free(text);
	close(fd);
}

static int ctl_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (snprintf(G.ctl_path, sizeof G.ctl_path, "%s/gatewayd.sock", G.run_dir) >= (int)sizeof G.ctl_path)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, G.ctl_path, sizeof sa.sun_path);
	unlink(G.ctl_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0117);    /* owner and the control group only */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0 || listen(fd, 8) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* owner: the daemon's user (root without --user); group: the control group */
	if (chown(G.ctl_path, G.user ? G.uid : (uid_t)-1, G.ctl_group ? G.ctl_gid : (gid_t)-1) < 0)
		logmsg("warning: chown %s: %s (the socket keeps the daemon's group)", G.ctl_path, strerror(errno));
	return fd;
}

static int rtnl_open(struct mnl_socket **ret)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!s)
		return -errno;
	if (mnl_socket_bind(s, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;
		mnl_socket_close(s);
		return e;
	}
	*ret = s;
	return 0;
}

/* ------------------------------------------------------------------ CLI -- */

static int ctl_client(const char *path, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "sekisho-gatewayd ctl: %s: %s\n", path, strerror(errno));
		return 2;
	}
	char line[64];
	snprintf(line, sizeof line, "%s\n", cmd);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0)
		return 2;
	char buf[4096];
	ssize_t n;
	bool refused = false;
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		if (memmem(buf, (size_t)n, "\"refused\"", 9) || memmem(buf, (size_t)n, "\"error\"", 7))
			refused = true;
	}
	close(fd);
	return refused ? 1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sekisho-gatewayd --table FILE --audit-dir DIR --audit-key FILE --run-dir DIR\n"
		"                        [--queues N] [--queue-base Q] [--netfilter PATH] [--deny-budget N]\n"
		"                        [--host NAME] [--user NAME] [--control-group NAME]\n"
		"                        [--capture-dir DIR [--capture-files N] [--capture-file-size BYTES]]\n"
		"                        [--no-watch]\n"
		"       sekisho-gatewayd ctl SOCKET status|counters|reload\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "ctl")) {
		if (argc != 4) {
			usage(stderr);
			return 2;
		}
		return ctl_client(argv[2], argv[3]);
	}
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },      { "audit-dir", required_argument, NULL, 'a' },
		{ "audit-key", required_argument, NULL, 'k' },  { "run-dir", required_argument, NULL, 'r' },
		{ "queues", required_argument, NULL, 'n' },     { "queue-base", required_argument, NULL, 'b' },
		{ "netfilter", required_argument, NULL, 'N' },  { "deny-budget", required_argument, NULL, 'd' },
		{ "host", required_argument, NULL, 'H' },       { "help", no_argument, NULL, 'h' },
		{ "user", required_argument, NULL, 'u' },       { "capture-dir", required_argument, NULL, 'c' },
		{ "capture-files", required_argument, NULL, 'C' },
		{ "capture-file-size", required_argument, NULL, 'S' },
		{ "control-group", required_argument, NULL, 'g' },
		{ "no-watch", no_argument, NULL, 'W' },
		{ 0 },
	};
	G.nqueues = 2;
	G.nf_helper = -1;
	G.nf_events = -1;
	G.capture_files = 8;
	G.capture_bytes = 16u << 20;
	G.ctl_group = GW_CTL_GROUP;
	G.ctl_gid = (gid_t)-1;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': G.table_path = optarg; break;
		case 'a': G.audit_dir = optarg; break;
		case 'k': G.audit_key = optarg; break;
		case 'r': G.run_dir = optarg; break;
		case 'n': G.nqueues = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': G.queue_base = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'N': G.netfilter = optarg; break;
		case 'd': G.deny_budget = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': G.host = optarg; break;
		case 'u': G.user = optarg; break;
		case 'c': G.capture_dir = optarg; break;
		case 'C': G.capture_files = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': G.capture_bytes = strtoull(optarg, NULL, 10); break;
		case 'g': G.ctl_group = optarg; G.ctl_group_given = true; break;
		case 'W': G.no_watch = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!G.table_path || !G.audit_dir || !G.audit_key || !G.run_dir || G.nqueues < 1 ||
	    G.nqueues > GW_MAX_QUEUES || G.queue_base + G.nqueues > 65536 || G.capture_files < 1 ||
	    G.capture_files > GW_CAPTURE_MAX_FILES || G.capture_bytes < GW_CAPTURE_MIN_BYTES) {
		usage(stderr);
		return 2;
	}
	G.started = time(NULL);
	if (G.user) {
		struct passwd *pw = getpwnam(G.user);
		if (!pw || pw->pw_uid == 0) {
			logmsg("--user %s: no such unprivileged user", G.user);
			return 2;
		}
		G.uid = pw->pw_uid;
		G.gid = pw->pw_gid;
	}
	if (G.ctl_group) {
		struct group *gr = getgrnam(G.ctl_group);
		if (gr) {
			G.ctl_gid = gr->gr_gid;
		} else if (G.ctl_group_given) {
			logmsg("--control-group %s: no such group", G.ctl_group);
			return 2;
		} else {
			logmsg("warning: no group %s: only root and the daemon's user may use the control socket",
			       G.ctl_group);
			G.ctl_group = NULL;
		}
	}
	/* The helper is forked first, so that it holds nothing but its socket;
	 * in every mode, so that the daemon's end always fences. */
	if (G.netfilter) {
		struct gw_nfhelp_opts ho = { .netfilter = G.netfilter, .run_dir = G.run_dir, .queues = G.nqueues,
					     .queue_base = G.queue_base, .watch = !G.no_watch };
		int hr = gw_nfhelp_start(&ho, &G.nf_helper, &G.nf_events);
		if (hr < 0) {
			logmsg("cannot start the netfilter helper: %s", strerror(-hr));
			return 1;
		}
	}

	/* Signals are handled by the main loop only. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	char why[512] = "";
	struct audit_key key;
	if (audit_key_load(G.audit_key, &key, why, sizeof why) < 0) {
		logmsg("audit key: %s", why);
		return 1;
	}
	struct audit_opts ao = { .dir = G.audit_dir, .component = "gateway", .host = G.host, .key = &key,
				 .queue_slots = 8192, .lock_timeout_ms = 2000 };
	int r = audit_open(&ao, &G.audit, why, sizeof why);
	audit_key_wipe(&key);
	if (r < 0) {
		logmsg("audit log: %s", why);
		return 1;
	}
	if (!audit_clock_synced())
		logmsg("warning: the system clock is not synchronised; audit times deserve less trust");

	uint32_t gen = next_generation(read_generation());
	struct gw_ctx *c;
	if (ctx_load(G.table_path, gen, &c, why, sizeof why) < 0) {
		logmsg("table: %s", why);
		audit_close(G.audit);
		return 1;
	}
	atomic_store(&G.ctx, c);

	G.workers = calloc(G.nqueues, sizeof *G.workers);
	if (!G.workers) {
		logmsg("out of memory");
		return 1;
	}
	for (unsigned i = 0; i < G.nqueues; i++) {
		struct worker *w = &G.workers[i];
		w->index = i;
		gw_ifcache_init(&w->ifc, ifname_fn, NULL);
		gw_fold_init(&w->fold, G.deny_budget);
		if (gw_nfq_open((uint16_t)(G.queue_base + i), &w->q, why, sizeof why) < 0) {
			logmsg("queue: %s", why);
			return 1;
		}
		if ((r = gw_ct_open(&w->ct)) < 0) {
			logmsg("conntrack socket: %s", strerror(-r));
			return 1;
		}
	}
	/* Bound before the generation moves: the flows of the previous run are
	 * re-decided from now on. */
	if (netfilter_generation(gen, why, sizeof why) < 0) {
		logmsg("bootstrap: %s", why);
		return 1;
	}
	save_generation(gen);

	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	int lfd = ctl_listen();
	if (sfd < 0 || lfd < 0) {
		logmsg("control socket %s: %s", G.ctl_path, strerror(lfd < 0 ? -lfd : errno));
		return 1;
	}
	struct mnl_socket *rtnl = NULL;
	if ((r = rtnl_open(&rtnl)) < 0)
		logmsg("warning: no link events (%s): interface caches never expire", strerror(-r));

	if (G.user) {
		chown_dirs();
		if (drop_privileges(why, sizeof why) < 0) {
			logmsg("%s", why);
			return 1;
		}
		logmsg("running as %s with CAP_NET_ADMIN only", G.user);
	}
	/* Capture rings are opened as the user that will rotate them. */
	for (unsigned i = 0; G.capture_dir && i < G.nqueues; i++) {
		char tag[32];
		snprintf(tag, sizeof tag, "denied-q%u", i + G.queue_base);
		if ((r = gw_capture_open(G.capture_dir, tag, G.capture_files, G.capture_bytes,
					 &G.workers[i].cap)) < 0) {
			logmsg("capture %s: %s", G.capture_dir, strerror(-r));
			return 1;
		}
	}
	for (unsigned i = 0; i < G.nqueues; i++) {
		if ((r = pthread_create(&G.workers[i].thread, NULL, worker_main, &G.workers[i])) != 0) {
			logmsg("thread: %s", strerror(r));
			return 1;
		}
	}
	{
		struct audit_field f[] = {
			AUDIT_STR("table", G.table_path),
			AUDIT_HEX("policy_sha256", c->info.policy_sha256, 32),
			AUDIT_UINT("table_gen", gen),
			AUDIT_UINT("queues", G.nqueues),
			AUDIT_UINT("queue_base", G.queue_base),
			AUDIT_STR("user", G.user ? G.user : "root"),
			AUDIT_STR("capture_dir", G.capture_dir ? G.capture_dir : ""),
		};
		audit_emit(G.audit, "gateway.start", f, AUDIT_N(f));
	}
	logmsg("ready: %u queue(s) from %u, generation %u, table %s", G.nqueues, G.queue_base, gen, G.table_path);
	fflush(stderr);

	uint64_t last_enobufs = 0;
	while (!atomic_load(&G.stop)) {
		struct pollfd p[4] = { { .fd = sfd, .events = POLLIN }, { .fd = lfd, .events = POLLIN },
				       { .fd = rtnl ? mnl_socket_get_fd(rtnl) : -1, .events = POLLIN },
				       { .fd = G.nf_events, .events = POLLIN } };
		int pr = poll(p, 4, 1000);
		if (pr > 0 && (p[3].revents & (POLLIN | POLLHUP | POLLERR)))
			nf_event();
		if (pr > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGHUP) {
					if (reload(why, sizeof why) == 0)
						logmsg("reloaded %s: generation %u", G.table_path, atomic_load(&G.ctx)->gen);
					else
						logmsg("reload refused, old table stays: %s", why);
				} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					atomic_store(&G.stop, true);
				}
			}
		}
		if (pr > 0 && (p[1].revents & POLLIN))
			ctl_serve(lfd);
		if (pr > 0 && rtnl && (p[2].revents & POLLIN)) {
			char buf[8192];
			while (recv(mnl_socket_get_fd(rtnl), buf, sizeof buf, MSG_DONTWAIT) > 0)
				;
			atomic_fetch_add_explicit(&G.link_epoch, 1, memory_order_release);
		}
		uint64_t enobufs = 0;
		for (unsigned i = 0; i < G.nqueues; i++)
			enobufs += atomic_load(&G.workers[i].st.enobufs);
		if (enobufs != last_enobufs) {
			logmsg("warning: %" PRIu64 " receive buffer overruns (ENOBUFS) so far: packets were dropped",
			       enobufs);
			last_enobufs = enobufs;
		}
	}
	logmsg("stopping");
	for (unsigned i = 0; i < G.nqueues; i++)
		pthread_join(G.workers[i].thread, NULL);
	for (unsigned i = 0; i < G.nqueues; i++) {
		gw_nfq_close(G.workers[i].q);
		mnl_socket_close(G.workers[i].ct);
		gw_capture_close(G.workers[i].cap);
	}
	if (rtnl)
		mnl_socket_close(rtnl);
	if (G.nf_events >= 0)      /* the request socket stays: its close makes the helper fence */
		close(G.nf_events);
	unlink(G.ctl_path);
	close(lfd);
	close(sfd);
	audit_emit(G.audit, "gateway.stop", NULL, 0);
	audit_close(G.audit);
	ctx_free(atomic_load(&G.ctx));
	free(G.workers);
	return 0;
}
