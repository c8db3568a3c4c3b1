/* ptl_portal: the LGWAN portal's pages and their rules (sekisho-portal;
 * docs/portal.md, "LGWAN portal routes" and "LGWAN portal").
 *
 * The routes below run on ptl_http's server with a struct ptl_portal as
 * the request argument: a message's files and their CDR state (links/,
 * copies/), downloads of copies, PPAP passwords and release requests into
 * portal-queue/, requests for originals (STATE/requests/), login and
 * sessions, the approvers' queue and decisions (one or two approvers),
 * the one download of an approved original (releases/), the operators'
 * activity view and revocation.  Every view, download, request, decision,
 * login and refusal is an audit record (component "portal").
 *
 * Threads: handlers run on ptl_http's threads at once; decisions and
 * release downloads take the portal's mutex.
 *
 * Ownership: the portal keeps the caller's audit log (not closed here) and
 * copies its options' strings.  Functions return 0 or -errno with why. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit/audit.h"
#include "sanitizer/portal/ptl_http.h"
#include "sanitizer/portal/ptl_users.h"

struct ptl_portal_opts {
	const char *state;      /* the portal's own directory: accounts, requests/ */
	const char *links;      /* link manifests */
	const char *copies;     /* the worker's copies and reports */
	const char *releases;   /* approved originals, <request id>.data */
	const char *queue;      /* portal-queue (tmp/ new/) */
	const char *audit_dir;  /* the portal's own audit log, for the operators' view */
	bool originals;         /* requests for originals allowed */
	bool two_approvers;     /* an original needs two different approvers */
	unsigned release_hours; /* an approved original downloads within, 0 = 24 */
	struct ptl_throttle_opts login;
	unsigned guess_max; /* unknown tokens per peer within the window before 429, 0 = 30 */
	unsigned session_idle_s, session_abs_s;
};

struct ptl_portal;

int ptl_portal_new(const struct ptl_portal_opts *o, struct audit_log *audit, struct ptl_portal **ret, char *why,
		   size_t whylen);
void ptl_portal_free(struct ptl_portal *p);

/* The route table, the refusal page and the end-of-request hook for
 * ptl_http_opts (arg = the portal). */
const struct ptl_route *ptl_portal_routes(size_t *ret_n);
void ptl_portal_refuse(struct ptl_req *req);
void ptl_portal_done(struct ptl_req *req, bool completed_ok);

/* Periodic work: delete release files that were downloaded or expired.
 * Returns the number deleted. */
int ptl_portal_sweep(struct ptl_portal *p, int64_t now);

/* The accounts file of a state directory (STATE/accounts). */
char *ptl_portal_accounts_path(const char *state);
