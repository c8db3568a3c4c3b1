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
 * Control plane (main thread, this file): options, the start-up order,
 * signals (SIGHUP reload, SIGTERM/SIGINT stop), the control socket
 * (gw_control.c), rtnetlink link events (invalidate the interface caches),
 * the helper's reports (gw_priv.c), shutdown.  It may allocate and log; it
 * reports errors on stderr once, at the edge, and refuses to start (exit 1,
 * usage: 2) when anything it needs is missing.
 *
 * Roles, one file each: gw_worker.c (queue threads: decide, verdict,
 * audit), gw_ctx.c (the table in use), gw_reload.c (generations, swap),
 * gw_priv.c (root and the privileged helper's channel; the helper itself is
 * gw_nfhelp.c), gw_control.c (control socket); the shared state is struct
 * gw_daemon (gw_daemon.h). */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include "common/version.h"
#include "common/i18n.h"
#include "common/audit/audit.h"
#include "common/monotime.h"
#include "common/svc.h"
#include "gateway/gw_capture.h"
#include "gateway/gw_control.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_daemon.h"
#include "gateway/gw_nfq.h"
#include "gateway/gw_priv.h"
#include "gateway/gw_reload.h"
#include "gateway/gw_worker.h"

#define GW_MAX_QUEUES 64
#define GW_CTL_GROUP "sekisho" /* the packaged group (firmware/sysusers.d) */

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

static void usage(FILE *out)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-gatewayd --table FILE --audit-dir DIR --audit-key FILE --run-dir DIR\n"
		"                        [--queues N] [--queue-base Q] [--netfilter PATH] [--deny-budget N]\n"
		"                        [--host NAME] [--user NAME] [--control-group NAME]\n"
		"                        [--capture-dir DIR [--capture-files N] [--capture-file-size BYTES]]\n"
		"                        [--no-watch]\n"
		"       sekisho-gatewayd ctl SOCKET status|counters|reload\n"
		"       sekisho-gatewayd --help | --version\n"),
	      out);
}

/* The systemd watchdog (WatchdogSec= of the unit): main pings at half the
 * interval, and only when every queue thread's heartbeat moved since the
 * last ping.  A thread stuck in a verdict, a lock or a loop therefore stops
 * the pings; systemd kills and restarts the daemon, and meanwhile NFQUEUE
 * without a reader drops every packet (no --queue-bypass) and the helper's
 * fence closes established flows: the box stays closed.  Main being stuck
 * stops them too. */
struct watchdog {
	uint64_t usec;  /* 0: no watchdog */
	int period_ms;  /* main loop's poll timeout */
	int64_t due_ms; /* next ping */
	uint64_t *seen; /* heartbeats at the last ping */
	bool stalled;   /* said once per stall */
};

static void watchdog_init(struct watchdog *wd, struct gw_daemon *d)
{
	memset(wd, 0, sizeof *wd);
	wd->usec = svc_watchdog_usec();
	wd->period_ms = 1000;
	if (!wd->usec)
		return;
	int64_t half = (int64_t)(wd->usec / 2000);
	wd->period_ms = half < 1 ? 1 : half < 1000 ? (int)half : 1000;
	wd->seen = calloc(d->cfg.nqueues, sizeof *wd->seen);
	for (unsigned i = 0; wd->seen && i < d->cfg.nqueues; i++)
		wd->seen[i] = atomic_load(&d->workers[i].heartbeat);
	svc_watchdog();
	wd->due_ms = monotime_ms() + half;
}

static void watchdog_tick(struct watchdog *wd, struct gw_daemon *d)
{
	if (!wd->usec || !wd->seen || monotime_ms() < wd->due_ms)
		return;
	for (unsigned i = 0; i < d->cfg.nqueues; i++) {
		uint64_t hb = atomic_load(&d->workers[i].heartbeat);
		if (hb == wd->seen[i]) {
			if (!wd->stalled)
				gw_daemon_log(SVC_CRIT,
					      _("queue %u has made no progress: no watchdog ping (systemd restarts "
						"the daemon; the box stays closed meanwhile)"),
					      d->cfg.queue_base + i);
			wd->stalled = true;
			return;
		}
	}
	for (unsigned i = 0; i < d->cfg.nqueues; i++)
		wd->seen[i] = atomic_load(&d->workers[i].heartbeat);
	wd->stalled = false;
	svc_watchdog();
	wd->due_ms = monotime_ms() + (int64_t)(wd->usec / 2000);
}

int main(int argc, char **argv)
{
	i18n_init();
	if (argc >= 2 && !strcmp(argv[1], "ctl")) {
		if (argc != 4) {
			usage(stderr);
			return 2;
		}
		return gw_control_client(argv[2], argv[3]);
	}
	static struct gw_daemon daemon_state;
	struct gw_daemon *d = &daemon_state;
	struct gw_config *cfg = &d->cfg;
	static const struct option opts[] = {
		{"table", required_argument, NULL, 't'},
		{"audit-dir", required_argument, NULL, 'a'},
		{"audit-key", required_argument, NULL, 'k'},
		{"run-dir", required_argument, NULL, 'r'},
		{"queues", required_argument, NULL, 'n'},
		{"queue-base", required_argument, NULL, 'b'},
		{"netfilter", required_argument, NULL, 'N'},
		{"deny-budget", required_argument, NULL, 'd'},
		{"host", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"user", required_argument, NULL, 'u'},
		{"capture-dir", required_argument, NULL, 'c'},
		{"capture-files", required_argument, NULL, 'C'},
		{"capture-file-size", required_argument, NULL, 'S'},
		{"control-group", required_argument, NULL, 'g'},
		{"no-watch", no_argument, NULL, 'W'},
		{0},
	};
	cfg->nqueues = 2;
	cfg->capture_files = 8;
	cfg->capture_bytes = 16u << 20;
	cfg->ctl_group = GW_CTL_GROUP;
	cfg->ctl_gid = (gid_t)-1;
	int ch, r;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			cfg->table_path = optarg;
			break;
		case 'a':
			cfg->audit_dir = optarg;
			break;
		case 'k':
			cfg->audit_key = optarg;
			break;
		case 'r':
			cfg->run_dir = optarg;
			break;
		case 'n':
			cfg->nqueues = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			cfg->queue_base = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'N':
			cfg->netfilter = optarg;
			break;
		case 'd':
			cfg->deny_budget = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'H':
			cfg->host = optarg;
			break;
		case 'u':
			cfg->user = optarg;
			break;
		case 'c':
			cfg->capture_dir = optarg;
			break;
		case 'C':
			cfg->capture_files = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			cfg->capture_bytes = strtoull(optarg, NULL, 10);
			break;
		case 'g':
			cfg->ctl_group = optarg;
			cfg->ctl_group_given = true;
			break;
		case 'W':
			cfg->no_watch = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			version_print(stdout, "sekisho-gatewayd");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!cfg->table_path || !cfg->audit_dir || !cfg->audit_key || !cfg->run_dir || cfg->nqueues < 1 ||
	    cfg->nqueues > GW_MAX_QUEUES || cfg->queue_base + cfg->nqueues > 65536 || cfg->capture_files < 1 ||
	    cfg->capture_files > GW_CAPTURE_MAX_FILES || cfg->capture_bytes < GW_CAPTURE_MIN_BYTES) {
		usage(stderr);
		return 2;
	}
	d->started = time(NULL);
	if (cfg->user) {
		struct passwd *pw = getpwnam(cfg->user);
		if (!pw || pw->pw_uid == 0) {
			gw_daemon_log(SVC_ERR, _("--user %s: no such unprivileged user"), cfg->user);
			return 2;
		}
		cfg->uid = pw->pw_uid;
		cfg->gid = pw->pw_gid;
	}
	if (cfg->ctl_group) {
		struct group *gr = getgrnam(cfg->ctl_group);
		if (gr) {
			cfg->ctl_gid = gr->gr_gid;
		} else if (cfg->ctl_group_given) {
			gw_daemon_log(SVC_ERR, _("--control-group %s: no such group"), cfg->ctl_group);
			return 2;
		} else {
			gw_daemon_log(
				SVC_WARNING,
				_("warning: no group %s: only root and the daemon's user may use the control socket"),
				cfg->ctl_group);
			cfg->ctl_group = NULL;
		}
	}
	/* The helper is forked first, so that it holds nothing but its socket;
	 * in every mode, so that the daemon's end always fences. */
	if ((r = gw_priv_start(&d->priv, cfg)) < 0) {
		gw_daemon_log(SVC_ERR, _("cannot start the netfilter helper: %s"), strerror(-r));
		return 1;
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
	if (audit_key_load(cfg->audit_key, &key, why, sizeof why) < 0) {
		gw_daemon_log(SVC_ERR, _("audit key: %s"), why);
		return 1;
	}
	struct audit_opts ao = {.dir = cfg->audit_dir,
				.component = "gateway",
				.host = cfg->host,
				.key = &key,
				.queue_slots = 8192,
				.lock_timeout_ms = 2000};
	r = audit_open(&ao, &d->audit, why, sizeof why);
	audit_key_wipe(&key);
	if (r < 0) {
		gw_daemon_log(SVC_ERR, _("audit log: %s"), why);
		return 1;
	}
	if (!audit_clock_synced())
		gw_daemon_log(SVC_WARNING,
			      _("warning: the system clock is not synchronised; audit times deserve less trust"));

	uint32_t gen = gw_reload_next_generation(d);
	struct gw_ctx *c;
	if (gw_ctx_load(cfg->table_path, gen, &c, why, sizeof why) < 0) {
		gw_daemon_log(SVC_ERR, _("table: %s"), why);
		audit_close(d->audit);
		return 1;
	}
	atomic_store(&d->ctx, c);

	d->workers = calloc(cfg->nqueues, sizeof *d->workers);
	if (!d->workers) {
		gw_daemon_log(SVC_ERR, _("out of memory"));
		return 1;
	}
	for (unsigned i = 0; i < cfg->nqueues; i++) {
		struct gw_worker *w = &d->workers[i];
		gw_worker_init(w, d, i);
		if (gw_nfq_open((uint16_t)(cfg->queue_base + i), &w->q, why, sizeof why) < 0) {
			gw_daemon_log(SVC_ERR, _("queue: %s"), why);
			return 1;
		}
		if ((r = gw_nfq_ct_open(&w->ct)) < 0) {
			gw_daemon_log(SVC_ERR, _("conntrack socket: %s"), strerror(-r));
			return 1;
		}
	}
	/* Bound before the generation moves: the flows of the previous run are
	 * re-decided from now on. */
	if (gw_priv_generation(&d->priv, gen, why, sizeof why) < 0) {
		gw_daemon_log(SVC_ERR, _("bootstrap: %s"), why);
		return 1;
	}
	gw_reload_save_generation(d, gen);

	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	int lfd = gw_control_listen(d);
	if (sfd < 0 || lfd < 0) {
		gw_daemon_log(SVC_ERR, _("control socket %s: %s"), d->ctl_path, strerror(lfd < 0 ? -lfd : errno));
		return 1;
	}
	struct mnl_socket *rtnl = NULL;
	if ((r = rtnl_open(&rtnl)) < 0)
		gw_daemon_log(SVC_WARNING, _("warning: no link events (%s): interface caches never expire"),
			      strerror(-r));

	if (cfg->user) {
		if (gw_priv_drop(cfg, why, sizeof why) < 0) {
			gw_daemon_log(SVC_ERR, "%s", why);
			return 1;
		}
		gw_daemon_log(SVC_INFO, _("running as %s with CAP_NET_ADMIN only"), cfg->user);
	}
	/* Capture rings are opened as the user that will rotate them. */
	for (unsigned i = 0; cfg->capture_dir && i < cfg->nqueues; i++) {
		char tag[32];
		snprintf(tag, sizeof tag, "denied-q%u", i + cfg->queue_base);
		if ((r = gw_capture_open(cfg->capture_dir, tag, cfg->capture_files, cfg->capture_bytes,
					 &d->workers[i].cap)) < 0) {
			gw_daemon_log(SVC_ERR, _("capture %s: %s"), cfg->capture_dir, strerror(-r));
			return 1;
		}
	}
	for (unsigned i = 0; i < cfg->nqueues; i++) {
		if ((r = pthread_create(&d->workers[i].thread, NULL, gw_worker_main, &d->workers[i])) != 0) {
			gw_daemon_log(SVC_ERR, _("thread: %s"), strerror(r));
			return 1;
		}
	}
	{
		struct audit_field f[] = {
			AUDIT_STR("table", cfg->table_path),
			AUDIT_HEX("policy_sha256", c->info.policy_sha256, 32),
			AUDIT_UINT("table_gen", gen),
			AUDIT_UINT("queues", cfg->nqueues),
			AUDIT_UINT("queue_base", cfg->queue_base),
			AUDIT_STR("user", cfg->user ? cfg->user : "root"),
			AUDIT_STR("capture_dir", cfg->capture_dir ? cfg->capture_dir : ""),
		};
		audit_emit(d->audit, "gateway.start", f, AUDIT_N(f));
	}
	gw_daemon_log(SVC_INFO, _("ready: %u queue(s) from %u, generation %u, table %s"), cfg->nqueues, cfg->queue_base,
		      gen, cfg->table_path);
	/* systemd (Type=notify): ready once every queue is bound and its
	 * thread runs; the watchdog below from then on */
	{
		char status[160];
		snprintf(status, sizeof status, "deciding on %u queue(s) from %u, table generation %u", cfg->nqueues,
			 cfg->queue_base, gen);
		svc_ready(status);
	}
	struct watchdog wd;
	watchdog_init(&wd, d);

	uint64_t last_enobufs = 0;
	while (!atomic_load(&d->stop)) {
		struct pollfd p[4] = {{.fd = sfd, .events = POLLIN},
				      {.fd = lfd, .events = POLLIN},
				      {.fd = rtnl ? mnl_socket_get_fd(rtnl) : -1, .events = POLLIN},
				      {.fd = d->priv.events, .events = POLLIN}};
		int pr = poll(p, 4, wd.period_ms);
		watchdog_tick(&wd, d);
		if (pr > 0 && (p[3].revents & (POLLIN | POLLHUP | POLLERR)))
			gw_priv_events(&d->priv, d->audit);
		if (pr > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGHUP) {
					gw_reload_table(d, why, sizeof why); /* logs either way */
				} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					atomic_store(&d->stop, true);
				}
			}
		}
		if (pr > 0 && (p[1].revents & POLLIN))
			gw_control_serve(d, lfd);
		if (pr > 0 && rtnl && (p[2].revents & POLLIN)) {
			char buf[8192];
			while (recv(mnl_socket_get_fd(rtnl), buf, sizeof buf, MSG_DONTWAIT) > 0)
				;
			atomic_fetch_add_explicit(&d->link_epoch, 1, memory_order_release);
		}
		uint64_t enobufs = 0;
		for (unsigned i = 0; i < cfg->nqueues; i++)
			enobufs += atomic_load(&d->workers[i].st.enobufs);
		if (enobufs != last_enobufs) {
			gw_daemon_log(SVC_WARNING,
				      _("warning: %" PRIu64
					" receive buffer overruns (ENOBUFS) so far: packets were dropped"),
				      enobufs);
			last_enobufs = enobufs;
		}
	}
	gw_daemon_log(SVC_INFO, _("stopping"));
	svc_stopping();
	for (unsigned i = 0; i < cfg->nqueues; i++)
		pthread_join(d->workers[i].thread, NULL);
	for (unsigned i = 0; i < cfg->nqueues; i++) {
		gw_nfq_close(d->workers[i].q);
		mnl_socket_close(d->workers[i].ct);
		gw_capture_close(d->workers[i].cap);
	}
	if (rtnl)
		mnl_socket_close(rtnl);
	if (d->priv.events >= 0) /* the request socket stays: its close makes the helper fence */
		close(d->priv.events);
	unlink(d->ctl_path);
	close(lfd);
	close(sfd);
	audit_emit(d->audit, "gateway.stop", NULL, 0);
	audit_close(d->audit);
	gw_ctx_free(atomic_load(&d->ctx));
	free(d->workers);
	free(wd.seen);
	return 0;
}
