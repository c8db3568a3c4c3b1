/* cdr_duty: the worker's portal duties (docs/portal.md, "The worker's
 * portal duties"), apart from the conversions themselves:
 *   - uploads: complete parcels from inbox/ into transfer/, one link
 *     manifest, one CDR job per file, the recipient's notification mail
 *     (or, with approval, its token kept for the later notify request);
 *   - release requests: an original into releases/<request>.data;
 *   - notify requests: an approved upload's notification mail;
 *   - follow-up mail (deliver = mail): once every file of a manifest has
 *     its result, one mail to the recipients with the copies attached.
 * PPAP requests need a conversion and stay in sekisho-cdrd.c.
 *
 * Every step that may be repeated after a kill -9 is safe to repeat (the
 * same files under the same names) except sending a mail: a kill between
 * the server's "250" and the marker that records it sends that mail again
 * on restart (at least once; docs/portal.md says so).
 *
 * Threads: the functions may be called from several threads; follow-ups
 * and notifications serialise on the struct's mutex.
 *
 * Ownership: struct cdr_duty and its fds and strings are the caller's
 * (sekisho-cdrd's configuration); nothing is kept between calls but the
 * marker files.  Functions return 0 (or a count) or -errno with why;
 * they write audit records, never print. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit/audit.h"
#include "sanitizer/cdr/cdr_portal.h"
#include "sanitizer/cdr/cdr_queue.h"
#include "sanitizer/cdr/cdr_smtp.h"

struct cdr_duty {
	int quarantine;    /* mail originals <sha>.data */
	int copies;        /* <sha>.copy.<ext>, <sha>.report.json */
	int sent;          /* copies/.sent: <link>.pending, <link>.sent (0700) */
	int transfer;      /* upload originals and the intake state, or -1 */
	int inbox;         /* or -1 */
	int releases;      /* or -1 */
	const char *links; /* manifests, or NULL */
	struct cdr_queue *queue;
	struct audit_log *audit;
	struct cdr_smtp_addr smtp;
	bool smtp_set;
	const char *helo, *mail_from, *portal_url;
	uint64_t follow_up_max; /* bytes of attachments in one follow-up */
	int64_t link_ttl_s;
	unsigned smtp_timeout_ms;
	unsigned max_parcels;    /* per intake scan */
	uint64_t max_file_bytes; /* of one uploaded file, whatever its metadata says; 0 = 1 GiB */
	pthread_mutex_t mu;
};

/* One pass over inbox/: every complete parcel (at most max_parcels) taken
 * or refused, stale .part files removed.  Returns the parcels taken or
 * refused, or -errno (why). */
int cdr_duty_intake(struct cdr_duty *d, char *why, size_t whylen);

/* A release request: the original (checked against its SHA-256) into
 * releases/<id>.data (0640), audit file.released.  0, -ENOENT (no such
 * original), -errno. */
int cdr_duty_release(struct cdr_duty *d, const struct cdr_portal_req *r, char *why, size_t whylen);

/* A notify request: the notification mail of the upload r->link, once.
 * 0 (also when it was sent already), -ENOENT (no manifest / not an
 * upload), -errno (the mail was not accepted: try again later). */
int cdr_duty_notify(struct cdr_duty *d, const struct cdr_portal_req *r, char *why, size_t whylen);

/* After a job of manifest link ended (deliver = mail): when every file of
 * the manifest has its result and no follow-up was sent, send it.  0 (sent,
 * or not due yet, or sent before), -errno (the mail failed: the next
 * result of that manifest, or cdr_duty_follow_up_retry, tries again). */
int cdr_duty_follow_up(struct cdr_duty *d, const char *link, char *why, size_t whylen);

/* Every follow-up still pending (its mail failed, or the worker stopped
 * between the last result and the mail): try each again.  Returns how
 * many were sent, or -errno. */
int cdr_duty_follow_up_retry(struct cdr_duty *d, char *why, size_t whylen);

/* The original of sha from origin ("mail": quarantine/, "upload":
 * transfer/): a read-only fd, or -errno */
int cdr_duty_open_original(const struct cdr_duty *d, const char *origin, const char *sha);
