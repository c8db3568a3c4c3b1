/* cdr_dirq: the file protocol of a persistent directory queue, shared by
 * the CDR job queue (cdr_queue: the milter's jobs) and the portal queue
 * (the portal's requests, docs/portal.md).  It knows nothing of what an
 * entry holds: an entry is a name and up to max_bytes of text.
 *
 * Layout under DIR:
 *   tmp/<name>   an entry being written (never claimed)
 *   new/<name>   waiting; it appears only by rename(2) after fsync
 *   cur/<name>   claimed by the one consumer (rename from new/)
 *   bad/<name>   an entry the consumer could not read (kept for the
 *                operator, never retried), or deleted when keep_bad is off
 *   lock         flock(2)ed by the one consumer (cdr_dirq_lock)
 * Names sort in arrival order (the writers put a nanosecond clock first):
 * claims take the oldest first.  Only names accepted by name_ok are ever
 * touched; anything else in the directories is ignored.
 *
 * At-least-once: an entry leaves cur/ only by cdr_dirq_done (deleted),
 * cdr_dirq_unclaim (back to new/) or cdr_dirq_bad; a consumer killed at
 * any moment leaves it in cur/, and cdr_dirq_recover moves it back.
 *
 * Threads: one struct cdr_dirq may be used by several threads (a mutex
 * guards the claim list).
 *
 * Ownership: the opener owns the struct (cdr_dirq_close); a claimed
 * entry's text is the caller's (free()).  Returns 0 or -errno; never
 * prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CDR_DIRQ_NAME_MAX 64

struct cdr_dirq_opts {
	const char *dir;
	size_t max_bytes;              /* of one entry; 0 = 64 KiB */
	bool (*name_ok)(const char *); /* which names are entries */
	bool keep_bad;                 /* unreadable entries to bad/ (true) or deleted */
};

struct cdr_dirq;

/* Open (creating DIR and tmp/ new/ cur/ bad/, mode 0770 or 02770 under a
 * setgid DIR, when missing).  0 or -errno with why. */
int cdr_dirq_open(const struct cdr_dirq_opts *o, struct cdr_dirq **ret, char *why, size_t whylen);
void cdr_dirq_close(struct cdr_dirq *q);

/* Store text as new/<name>: written to tmp/<name> (mode 0660), fsynced,
 * renamed, new/ fsynced.  -EFBIG over max_bytes, -EINVAL for a bad name. */
int cdr_dirq_put(struct cdr_dirq *q, const char *name, const char *text);

/* The one consumer: take DIR/lock (non-blocking; -EWOULDBLOCK when another
 * process holds it).  Held until cdr_dirq_close. */
int cdr_dirq_lock(struct cdr_dirq *q);
/* After the lock: every entry of cur/ back to new/, tmp/ entries older than
 * stale_s seconds deleted.  Returns the number moved back, or -errno. */
int cdr_dirq_recover(struct cdr_dirq *q, int64_t stale_s);

/* Claim the oldest waiting entry: new/<name> -> cur/<name>, its text read
 * (capped at max_bytes; a larger one goes to bad/ and is skipped).  0 with
 * name (CDR_DIRQ_NAME_MAX + 1 bytes) and *ret_text (NUL-terminated,
 * *ret_len bytes before the NUL), -EAGAIN when none waits, -errno. */
int cdr_dirq_claim(struct cdr_dirq *q, char *name, char **ret_text, size_t *ret_len);
/* A claimed entry: replace its text in cur/ (fsynced file, rename; the
 * directory is not fsynced: a power loss brings back the older text) */
int cdr_dirq_rewrite(struct cdr_dirq *q, const char *name, const char *text);
/* ...done: cur/<name> deleted (not fsynced: an entry done again must be
 * harmless, the consumers make sure of it) */
int cdr_dirq_done(struct cdr_dirq *q, const char *name);
/* ...back to new/ (both directories fsynced), claimed again later */
int cdr_dirq_unclaim(struct cdr_dirq *q, const char *name);
/* ...unreadable: to bad/ (keep_bad) or deleted */
int cdr_dirq_bad(struct cdr_dirq *q, const char *name);

/* Entries in new/ and cur/ (a directory scan).  >= 0 or -errno. */
int cdr_dirq_length(struct cdr_dirq *q);
/* DIR/new, for inotify */
const char *cdr_dirq_new_dir(const struct cdr_dirq *q);
