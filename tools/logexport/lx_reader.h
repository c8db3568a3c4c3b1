/* lx_reader: several audit chains read as one time-ordered stream.
 *
 * Export and report read one or more log directories (one chain each).
 * lx_reader_verify verifies every chain first (audit_verify_run) and keeps
 * the results: that is the snapshot the output describes.  lx_reader_next
 * then yields every line again through the verifying iterator, merged by
 * record time across chains (a chain's own order is kept), and never
 * beyond the verified snapshot (records appended meanwhile are left for
 * the next export).  A line whose status changed between the two passes
 * is reported as changed (the log was modified while being read).
 *
 * The reader owns the iterators and results; lx_reader_free releases
 * them.  The key is borrowed.  Functions return 0/1 or -errno; nothing
 * prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit/audit_verify.h"

#define LX_READER_MAX_CHAINS 64

struct lx_reader;

struct lx_reader_rec {
	const struct audit_verify_record *rec; /* borrowed until the next call */
	size_t chain;                          /* index of the directory */
	int64_t ns;                            /* parsed ts, if has_ns */
	bool has_ns;
	bool explained; /* a torn line the writer acknowledged (a crash) */
};

/* dirs are borrowed for the reader's life. */
int lx_reader_new(const struct audit_key *key, const char *const *dirs, size_t ndirs, struct lx_reader **ret_reader);

/* Called for every line pass 1 reads (possibly more than once for the same
 * line: pass 1 is retried when a chain ends in a torn line, which is
 * usually a write in progress). */
typedef void lx_reader_peek_fn(void *arg, const struct lx_reader_rec *rec);

/* Pass 1 (peek may be NULL).  0 or -errno (with why: e.g. a directory
 * that does not exist). */
int lx_reader_verify(struct lx_reader *r, lx_reader_peek_fn *peek, void *arg, char *why, size_t whylen);

size_t lx_reader_chains(const struct lx_reader *r);
const char *lx_reader_dir(const struct lx_reader *r, size_t chain);
/* Pass-1 result of a chain. */
const struct audit_verify_result *lx_reader_result(const struct lx_reader *r, size_t chain);
/* True when every chain verified in pass 1. */
bool lx_reader_ok(const struct lx_reader *r);

/* Pass 2: 1 and *ret, 0 at the end, -errno. */
int lx_reader_next(struct lx_reader *r, struct lx_reader_rec *ret);

/* Lines whose status differed from what pass 1 implied (the log changed
 * under the reader). */
uint64_t lx_reader_changed(const struct lx_reader *r);

void lx_reader_free(struct lx_reader *r);
