/* cdr_record: the audit record "file.sanitized" of one CDR job, and the
 * reading of the sekisho-cdr JSON report it is made from.
 *
 * sekisho-cdrd writes one record per job into its chain (component "cdr");
 * the milter writes one with result "not-queued" when it could not enqueue
 * a job (queue full or failing).  Fields: docs/audit.md, "file.sanitized".
 *
 * cdr_record_parse reads the report the CLI wrote (trusted, but its names
 * come from attacker files): capped, every member type checked, strings
 * bounded by the fixed buffers (longer ones are cut).  Fuzzed by
 * fuzz-cdr_record.
 *
 * Ownership: struct cdr_record holds only fixed buffers: nothing to free.
 * Never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit/audit.h"

#define CDR_RECORD_MAX_REPORT ((size_t)4 << 20)

struct cdr_record {
	/* from the job */
	const char *job_id, *sha256, *name, *message_id, *queue_id;
	unsigned attempts;
	bool reused; /* the result of an earlier job of the same content */
	/* from the report */
	char result[16]; /* "ok", "no-copy" (the report's reason), "failed", "not-queued" */
	char reason[48]; /* a reason key of cdr_reason.c, "" for ok */
	char kind[16], in_type[24], out_type[24], out_ext[8], mode[32];
	char in_sha256[65], out_sha256[65];
	uint64_t in_bytes, out_bytes, ms, pages;
	uint64_t removed; /* items named in the report plus removed_more */
	char copy[96];    /* the copy's file name beside the original, "" for none */
};

/* Fill the report part of *ret from the JSON text buf[0..len).  0 or
 * -EINVAL (not a report object, a member of the wrong type) / -EFBIG. */
int cdr_record_parse(const char *buf, size_t len, struct cdr_record *ret);

/* True when e may name a copy's file: 1..7 of [a-z0-9] (a report's
 * out_ext becomes part of <sha>.copy.<ext>: nothing else reaches a path). */
bool cdr_record_ext_ok(const char *e);

/* Emit the record (audit_emit's result). */
int cdr_record_emit(struct audit_log *log, const struct cdr_record *r);
