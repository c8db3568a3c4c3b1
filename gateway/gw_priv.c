/* gw_priv: root, its surrender, and the channel to the privileged helper
 * (see gw_priv.h).
 *
 * Everything here runs on the main thread.  Start-up failures are returned
 * (main refuses to run); a dead helper is logged and the daemon goes on
 * deciding, without tamper detection (the fence is then the unit's
 * ExecStopPost, docs/gateway.md). */
#include "common/i18n.h"
#include "common/svc.h"
#include "gateway/gw_priv.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "common/audit/audit.h"
#include "gateway/gw_daemon.h"
#include "gateway/gw_nfhelp.h"

int gw_priv_start(struct gw_priv *p, const struct gw_config *cfg)
{
	p->netfilter = cfg->netfilter;
	p->req = p->events = -1;
	if (!cfg->netfilter)
		return 0;
	struct gw_nfhelp_opts ho = {.netfilter = cfg->netfilter,
				    .run_dir = cfg->run_dir,
				    .queues = cfg->nqueues,
				    .queue_base = cfg->queue_base,
				    .watch = !cfg->no_watch};
	return gw_nfhelp_start(&ho, &p->req, &p->events);
}

/* The helper is always there with --netfilter (gw_priv_start). */
int gw_priv_generation(struct gw_priv *p, uint32_t gen, char *why, size_t whylen)
{
	if (!p->netfilter)
		return 0;
	int32_t r;
	if (send(p->req, &gen, sizeof gen, MSG_NOSIGNAL) != (ssize_t)sizeof gen ||
	    recv(p->req, &r, sizeof r, 0) != (ssize_t)sizeof r)
		r = -EPIPE;
	if (r < 0)
		snprintf(why, whylen, "%s generation %u failed (%s)", p->netfilter, gen,
			 r == -EIO ? "exit status" : strerror(-r));
	return r;
}

static double ns_ms(uint64_t a, uint64_t b)
{
	return b > a ? (double)(b - a) / 1e6 : 0.0;
}

/* Reports of the helper (gw_nfhelp.h) become netfilter.tamper and
 * netfilter.repair records and the status's "netfilter" counters. */
void gw_priv_events(struct gw_priv *p, struct audit_log *audit)
{
	struct gw_nfhelp_event e;
	ssize_t n;
	while ((n = recv(p->events, &e, sizeof e, MSG_DONTWAIT)) == (ssize_t)sizeof e) {
		e.comm[sizeof e.comm - 1] = 0;
		e.what[sizeof e.what - 1] = 0;
		if (e.kind == GW_NFHELP_TAMPER) {
			p->tampers++;
			p->forwarding_closed = e.forwarding_closed;
			snprintf(p->last_what, sizeof p->last_what, "%s", e.what);
			snprintf(p->last_comm, sizeof p->last_comm, "%s", e.comm);
			p->last_pid = e.pid;
			p->last_detect_ms = ns_ms(e.event_ns, e.detected_ns);
			struct audit_field f[] = {
				AUDIT_STR("what", e.what),
				e.pid ? (struct audit_field)AUDIT_UINT("pid", e.pid)
				      : (struct audit_field)AUDIT_NULL("pid"),
				AUDIT_STR("comm", e.comm),
				AUDIT_UINT("changes", e.changes),
				AUDIT_BOOL("forwarding_closed", e.forwarding_closed != 0),
				AUDIT_UINT("event_mono_ns", e.event_ns),
				AUDIT_UINT("detected_mono_ns", e.detected_ns),
				AUDIT_UINT("closed_mono_ns", e.closed_ns),
			};
			audit_emit(audit, "netfilter.tamper", f, AUDIT_N(f));
			if (e.forwarding_closed)
				gw_daemon_log(SVC_WARNING,
					      _("netfilter tamper: %s (pid %u %s); forwarding closed, repairing"),
					      e.what, e.pid, e.comm);
			else
				gw_daemon_log(SVC_WARNING,
					      _("netfilter tamper: %s (pid %u %s); forwarding NOT closed, repairing"),
					      e.what, e.pid, e.comm);
		} else if (e.kind == GW_NFHELP_REPAIR) {
			const char *result = e.result == 0 ? "ok" : e.result == -EBUSY ? "suspended" : "failed";
			if (e.result == 0) {
				p->repairs++;
				p->forwarding_closed = false;
				p->last_repair_ms = ns_ms(e.detected_ns, e.done_ns);
			} else {
				p->repair_failures++;
			}
			struct audit_field f[] = {
				AUDIT_STR("result", result),
				AUDIT_UINT("table_gen", e.generation),
				AUDIT_STR("why", e.what),
				AUDIT_UINT("repair_us",
					   e.done_ns > e.detected_ns ? (e.done_ns - e.detected_ns) / 1000 : 0),
				AUDIT_UINT("closed_us",
					   e.closed_ns && e.done_ns > e.closed_ns ? (e.done_ns - e.closed_ns) / 1000
										  : 0),
				AUDIT_UINT("detected_mono_ns", e.detected_ns),
				AUDIT_UINT("done_mono_ns", e.done_ns),
			};
			audit_emit(audit, "netfilter.repair", f, AUDIT_N(f));
			if (e.result == 0)
				gw_daemon_log(SVC_NOTICE,
					      _("netfilter repaired (generation %u) in %.1f ms; forwarding reopened"),
					      e.generation, p->last_repair_ms);
			else if (e.result == -EBUSY)
				gw_daemon_log(SVC_ERR, _("netfilter repair suspended: %s; forwarding stays closed"),
					      e.what);
			else
				gw_daemon_log(SVC_ERR, _("netfilter repair failed: %s; forwarding stays closed"),
					      e.what);
		}
	}
	if (n == 0) { /* the helper is gone: nothing watches any more */
		close(p->events);
		p->events = -1;
		gw_daemon_log(SVC_WARNING, _("warning: the netfilter helper is gone: no more tamper detection"));
	}
}

/* Directories the unprivileged daemon writes into (generation file, audit
 * rotation, capture files) are given to its user. */
static void chown_dirs(const struct gw_config *cfg)
{
	const char *dirs[] = {cfg->run_dir, cfg->audit_dir, cfg->capture_dir};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		if (dirs[i] && chown(dirs[i], cfg->uid, cfg->gid) < 0)
			gw_daemon_log(SVC_WARNING, _("warning: chown %s: %s"), dirs[i], strerror(errno));
}

/* Become cfg->uid/cfg->gid keeping only CAP_NET_ADMIN: the queue and conntrack
 * sockets need it for every message they send (nfnetlink checks the
 * capability of the sender on each verdict and delete).  Nothing else is
 * kept: no bounding set, no_new_privs.  Must run before the threads start
 * (capabilities are per thread). */
int gw_priv_drop(const struct gw_config *cfg, char *why, size_t whylen)
{
	chown_dirs(cfg);
	for (int cap = 0; cap <= 63; cap++) {
		if (cap == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	}
	/* The user's own supplementary groups are kept (initgroups), as under
	 * systemd's SupplementaryGroups=: the packaged layout gives the table
	 * and the log directories to the group "sekisho". */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || initgroups(cfg->user, cfg->gid) < 0 ||
	    setresgid(cfg->gid, cfg->gid, cfg->gid) < 0 || setresuid(cfg->uid, cfg->uid, cfg->uid) < 0) {
		snprintf(why, whylen, _("becoming %s: %s"), cfg->user, strerror(errno));
		return -errno;
	}
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {{0}};
	d[0].effective = d[0].permitted = 1u << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &h, d) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(why, whylen, _("keeping CAP_NET_ADMIN: %s"), strerror(errno));
		return -errno;
	}
	if (setuid(0) == 0) { /* must be impossible now */
		snprintf(why, whylen, _("could become root again"));
		return -EPERM;
	}
	return 0;
}
