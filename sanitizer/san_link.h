/* san_link: the milter's link hook (sanitize_ctx_set_link): for a message
 * with kept attachments, one link manifest (sanitizer/portal/ptl_link.h)
 * and what the notice says about each attachment and the link
 * (docs/portal.md, "The notice and its link").
 *
 * Per kept item the CDR state at that moment: "ready" when --copies-dir
 * already holds a report "ok" for its SHA-256 (a copy made for an earlier
 * message), "none:<key>" when that report is a converter's refusal or
 * when no copy can be made at all (the CDR core's cdr_kind_of on the
 * quarantined bytes: an .exe is "none:unsupported-format"; an empty file
 * "none:empty"), else "pending" (the milter queues its job).
 *
 * Failure never holds the mail back: when the manifest cannot be written
 * the result's link says failed (with a reason key for the audit record)
 * and the notice says the link could not be made.
 *
 * Ownership: the options and the envelope are the caller's and only read;
 * what the hook puts into the result is malloc'd and freed with it.  The
 * token is wiped from memory once the URL is built.  Never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sanitizer/portal/ptl_link.h"
#include "sanitizer/sanitize.h"

#define SAN_LINK_URL_MAX 256 /* bytes of --portal-url */
#define SAN_LINK_MAX_DAYS 365

struct san_link_opts {
	const char *links_dir;  /* --links-dir: the manifests */
	const char *copies_dir; /* --copies-dir: the worker's copies and reports, or NULL */
	const char *qdir;       /* the quarantine (the kept items' first bytes) */
	const char *portal_url; /* --portal-url, checked by san_link_url_check */
	unsigned days;          /* --link-days, 1..SAN_LINK_MAX_DAYS */
	bool originals;         /* --originals on: the notice offers the original */
	bool copies_mail;       /* --deliver-copies mail */
	const char *lang;       /* the notice's language, for the reasons' texts */
};

/* One message: the hook's arg. */
struct san_link_env {
	const struct san_link_opts *o;
	const char *queue_id; /* may be NULL */
	const char *env_from; /* may be NULL */
	const char *const *env_to;
	size_t n_to;
	int64_t now; /* seconds since the epoch; 0: the clock */
};

/* The manifest of the message (what the hook writes): every string
 * cleaned, each kept item's state set in res (cdr, cdr_reason) and in
 * the manifest.  *ret is the caller's (ptl_link_free).  0 or -ENOMEM. */
int san_link_manifest(const struct san_link_env *env, struct sanitize_result *res, struct ptl_link *ret);

/* The sanitize_link_fn: arg is a struct san_link_env. */
void san_link_hook(void *arg, struct sanitize_result *res);

/* The CDR state of one kept item (see the file comment), malloc'd into
 * *ret_state.  0 or -ENOMEM. */
int san_link_state(const struct san_link_opts *o, const struct sanitize_item *it, char **ret_state);

/* A --portal-url: "https://" then a host (letters, digits, '-', '.', or
 * [IPv6]), an optional :port and path of URL-safe characters, at most
 * SAN_LINK_URL_MAX bytes.  Writes the URL without a trailing '/' into
 * out (SAN_LINK_URL_MAX + 1 bytes).  0 or -EINVAL with why. */
int san_link_url_check(const char *url, char out[SAN_LINK_URL_MAX + 1], char *why, size_t whylen);
