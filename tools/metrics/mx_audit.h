/* mx_audit: counts of audit records, read incrementally from the chains
 * under a log directory (/var/log/sekisho/<component>/audit-*.jsonl).
 *
 * Metrics are not evidence: lines are counted as they are, without the
 * MAC key (the verifier and sekisho-logexport prove the chain; this only
 * counts).  Each chain's position (file, offset of the first unread line)
 * and its cumulative counts live in the state object the caller loads and
 * saves (so counters stay monotonic across runs); a line not yet ended by
 * a newline is left for the next run; a file that shrank below the saved
 * offset is read on from its end (never counted twice).
 *
 * Caps: a line longer than AUDIT_LINE_MAX is skipped (counted as
 * unreadable); at most max_bytes are read per chain and run; at most
 * MX_AUDIT_MAX_KEYS distinct event names per chain (further ones count as
 * event "other").
 *
 * Ownership: state is the caller's json-c object (a JSON object keyed by
 * the chain directory).  Functions return 0 or -errno with why; never
 * print. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "tools/metrics/mx_set.h"

struct json_object;

#define MX_AUDIT_MAX_KEYS 512

/* Read what is new in the chain directory dir (its basename names the
 * component when a record does not) and update state. */
int mx_audit_update(struct json_object *state, const char *dir, uint64_t max_bytes, char *why, size_t whylen);

/* Add the samples of every chain in state to s. */
void mx_audit_emit(struct json_object *state, struct mx_set *s);
