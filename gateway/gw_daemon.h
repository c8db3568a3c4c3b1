/* gw_daemon: the state the roles of sekisho-gatewayd share, in one struct
 * that is passed explicitly (no file-scope globals).
 *
 *   sekisho-gatewayd.c  options, start-up order, the main loop, shutdown
 *   gw_worker.c         one thread per queue: decide, verdict, audit
 *   gw_ctx.c            the table in use (loaded aside, hazard pointers)
 *   gw_reload.c         generations and the atomic table swap
 *   gw_priv.c           what runs as root, and the privileged helper's channel
 *   gw_control.c        the control socket (server and the `ctl` client)
 *
 * Ownership: main owns the one struct gw_daemon; it outlives the worker
 * threads.  cfg is written before any thread starts and read-only after.
 * Only the fields marked "workers" are read by the queue threads (atomics,
 * or immutable while they run); everything else belongs to the main thread
 * (control socket, signals, reload, helper events), which never blocks a
 * worker. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#include "gateway/gw_priv.h"

#define GW_DAEMON_RELOAD_ERROR_MAX 512

struct audit_log;
struct gw_ctx;
struct gw_worker;

/* The command line, resolved (user and group ids looked up). */
struct gw_config {
	const char *table_path, *audit_dir, *audit_key, *run_dir, *netfilter, *host;
	const char *capture_dir, *user;
	const char *ctl_group; /* may use the control socket; NULL: root and our user only */
	bool ctl_group_given;
	gid_t ctl_gid;
	unsigned nqueues, queue_base, deny_budget, capture_files;
	uint64_t capture_bytes;
	uid_t uid;
	gid_t gid;
	bool no_watch; /* --no-watch: the helper only fences (tests) */
};

struct gw_daemon {
	struct gw_config cfg;
	/* workers: the table in use (swapped by gw_reload), the rtnetlink
	 * link epoch (a change empties the interface caches), stop, and the
	 * audit log (its producer side is thread-safe) */
	_Atomic(struct gw_ctx *) ctx;
	_Atomic uint64_t link_epoch;
	atomic_bool stop;
	struct audit_log *audit;
	struct gw_worker *workers; /* cfg.nqueues of them */
	/* main thread only */
	time_t started;
	uint64_t reloads, reload_failures;
	char last_reload_error[GW_DAEMON_RELOAD_ERROR_MAX];
	struct gw_priv priv;  /* the helper's sockets and what it reported */
	uint64_t ctl_refused; /* control connections refused by peer credentials */
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* One line on stderr, prefixed with the program name (the daemon's log),
 * with its syslog priority (SVC_ERR, SVC_WARNING, SVC_NOTICE, SVC_INFO of
 * common/svc.h) for the journal. */
void gw_daemon_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
