/* gw_priv: what sekisho-gatewayd does with root, and its only channel to
 * the privileged helper (gw_nfhelp.c) once root is gone.
 *
 * The daemon starts as root, forks the helper first (it holds nothing but
 * its sockets), opens the queues, then gives every privilege up but
 * CAP_NET_ADMIN (gw_priv_drop).  From then on the one way it changes
 * netfilter is a 4-byte request to the helper: "accept generation G"
 * (gw_priv_generation).  The helper reports tampering and repairs on a
 * second socket (gw_priv_events), which become audit records and status
 * counters.  When the daemon's end of the request socket closes, however
 * the daemon ends, the helper fences the bootstrap.
 *
 * Review this file together with gw_nfhelp.c: together they are all of the
 * daemon's privileged code.  Main thread only; the functions log their own
 * warnings (program code), and return 0 or -errno with why filled. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audit_log;
struct gw_config;

/* The daemon's end of the helper (-1: no helper, without --netfilter) and
 * what the helper reported. */
struct gw_priv {
	const char *netfilter; /* the bootstrap, NULL without --netfilter */
	int req;               /* request socket (generation switches) */
	int events;            /* its tamper/repair reports (gw_nfhelp.h), else -1 */
	uint64_t tampers, repairs, repair_failures;
	bool forwarding_closed;
	char last_what[224], last_comm[16];
	uint32_t last_pid;
	double last_detect_ms, last_repair_ms; /* notification -> judged; judged -> reopened */
};

/* Fork the helper when cfg has --netfilter (in every mode, so that the
 * daemon's end always fences); before anything else is opened. */
int gw_priv_start(struct gw_priv *p, const struct gw_config *cfg);
/* Ask the bootstrap, through the helper, to accept connmark generation gen.
 * Without --netfilter: nothing to do, 0. */
int gw_priv_generation(struct gw_priv *p, uint32_t gen, char *why, size_t whylen);
/* Read the helper's reports: netfilter.tamper and netfilter.repair records,
 * the counters above, a log line each.  When the helper is gone, events
 * becomes -1. */
void gw_priv_events(struct gw_priv *p, struct audit_log *audit);
/* Give the directories the daemon writes into to cfg->user, then become
 * that user with CAP_NET_ADMIN only.  Before any thread starts. */
int gw_priv_drop(const struct gw_config *cfg, char *why, size_t whylen);
