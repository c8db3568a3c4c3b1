/* cdr_queue: the persistent queue of CDR jobs, one job per quarantined
 * attachment, between the milter (enqueue) and sekisho-cdrd (claim,
 * complete, release).
 *
 * Layout under DIR (docs/cdr.md, "Worker and queue"):
 *   tmp/<id>   a job being written (never read by the worker)
 *   new/<id>   a job waiting; it appears only by rename(2) after fsync
 *   cur/<id>   a job claimed by the worker (rename from new/); its
 *              "attempts" is counted up and written back before work starts
 *   lock       flock(2)ed by the one worker process (cdr_queue_lock)
 * <id> is "<16 hex digits of nanoseconds since the epoch>-<8 random hex
 * digits>", so names sort in enqueue order (FIFO).  A job is one small JSON
 * object (the fields of struct cdr_job), at most max_job_bytes.  The file
 * protocol is cdr_dirq's (shared with the portal queue).
 *
 * At-least-once: a job leaves cur/ only when the worker has published its
 * result (cdr_queue_complete) or put it back (cdr_queue_release).  A worker
 * killed at any moment leaves its jobs in cur/; the next start moves them
 * back to new/ (cdr_queue_recover) with their attempt counts, so a job that
 * kills the worker every time ends after max_attempts (the caller checks
 * job.attempts after a claim).
 *
 * Threads: one struct cdr_queue may be used by several threads (a mutex
 * guards the claim list and the length estimate).
 *
 * Ownership: struct cdr_queue belongs to its opener (_close); a claimed
 * job's strings belong to the job (cdr_job_free).  Never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CDR_JOB_ID_LEN 25 /* 16 + 1 + 8 */
#define CDR_JOB_MAX_RCPT 64

struct cdr_job {
	char id[CDR_JOB_ID_LEN + 1];
	char sha256[65]; /* the quarantined original: <quarantine>/<sha256>.data */
	char *name;      /* neutralised attachment name, may be NULL */
	char *type;      /* detected (or declared) content type, may be NULL */
	char *message_id;
	char *queue_id; /* the MTA's queue id */
	/* the portal (docs/portal.md): the link manifest this file belongs to
	 * (64 hex digits, "" for none); where the original is ("mail":
	 * quarantine/, "upload": transfer/; "" = mail); how the recipients get
	 * the copy ("link", or "mail": a follow-up mail once every file of
	 * the manifest has its result; "" = link) */
	char link[65];
	char origin[8];
	char deliver[8];
	char *rcpt[CDR_JOB_MAX_RCPT];
	size_t nrcpt;
	int64_t enqueued;  /* seconds since the epoch */
	unsigned attempts; /* claims: counted up at each claim, before any work */
	unsigned failures; /* failed conversions, counted by the worker (release) */
};

struct cdr_queue_opts {
	const char *dir;
	unsigned max_jobs;    /* new/ + cur/; 0 = 10000 */
	size_t max_job_bytes; /* 0 = 64 KiB */
};

struct cdr_queue;

/* Open (creating DIR and its subdirectories, mode 0770, when missing).  0
 * or -errno with why. */
int cdr_queue_open(const struct cdr_queue_opts *o, struct cdr_queue **ret, char *why, size_t whylen);
void cdr_queue_close(struct cdr_queue *q);

/* Store a new job (job->id and attempts are set here; the id is also
 * written to job->id).  Returns 0, -ENOSPC when the queue holds max_jobs
 * already, -EFBIG when the job would exceed max_job_bytes, or -errno.  The
 * job is visible in new/ only when complete and fsynced. */
int cdr_queue_enqueue(struct cdr_queue *q, struct cdr_job *job);

/* The one worker: take DIR/lock (non-blocking); -EWOULDBLOCK when another
 * process holds it.  Held until cdr_queue_close. */
int cdr_queue_lock(struct cdr_queue *q);
/* After cdr_queue_lock: move every job of cur/ back to new/ and delete
 * tmp/ files older than stale_s seconds (a writer died).  Returns the
 * number of jobs moved back, or -errno. */
int cdr_queue_recover(struct cdr_queue *q, int64_t stale_s);

/* Claim the oldest waiting job: new/<id> -> cur/<id>, attempts + 1 written
 * back (fsynced) before it is returned.  0 with *ret filled, -EAGAIN when
 * no job waits, -errno.  A job file that cannot be parsed is moved to
 * DIR/bad/ (kept for the operator, never retried) and skipped. */
int cdr_queue_claim(struct cdr_queue *q, struct cdr_job *ret);
/* The result is published: delete cur/<id> (not fsynced: a job done again
 * finds its result).  */
int cdr_queue_complete(struct cdr_queue *q, const struct cdr_job *job);
/* Put a claimed job back to new/ for a later claim, with its failures as
 * the caller set them (written back, fsynced).  uncount: this claim does
 * not count (the worker was stopped, not the conversion's fault). */
int cdr_queue_release(struct cdr_queue *q, struct cdr_job *job, bool uncount);

/* Jobs in new/ and cur/ (a directory scan).  >= 0 or -errno. */
int cdr_queue_length(struct cdr_queue *q);
/* new/ of the queue, for inotify */
const char *cdr_queue_new_dir(const struct cdr_queue *q);

/* The job file format: parse buf[0..len) into *ret (0, or -EINVAL / -EFBIG
 * / -ENOMEM; *ret is then empty), and write *job as text (malloc'd). */
int cdr_job_parse(const char *buf, size_t len, size_t max_bytes, struct cdr_job *ret);
char *cdr_job_text(const struct cdr_job *job);
void cdr_job_free(struct cdr_job *job);
