/* gw_fold: aggregation of denied-flow audit records.
 *
 * An attack must not be able to fill the audit disk.  Per (source, rule,
 * action) and wall-clock second the first denied flow is recorded in full;
 * the following ones of the same second are only counted ("folded"), and
 * one summary per key and second says how many were folded.  On top of that
 * a budget caps the full records per second of one queue thread; what goes
 * beyond it is folded into one overflow summary per second.  So the records
 * written per second and thread are bounded by 2 * budget + 1 whatever
 * the traffic.
 *
 * One instance per queue thread (no lock); fixed-size table of slots, no
 * allocation.  Times are passed in (tests drive them). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"

#define GW_FOLD_SLOTS 1024
#define GW_FOLD_DEFAULT_BUDGET 500

struct gw_fold_key {
	uint8_t family; /* 4 or 6; 0 for the overflow summary */
	uint8_t action; /* enum table_action */
	uint32_t rule_id;
	u128 src;
};

struct gw_fold_summary {
	struct gw_fold_key key;
	int64_t second;  /* the second the folded flows were seen in */
	uint64_t folded; /* how many flows were not recorded in full */
	bool overflow;   /* over the per-second budget (key is empty) */
};

struct gw_fold_slot {
	bool used;
	struct gw_fold_key key;
	int64_t second;
	uint64_t folded;
};

struct gw_fold {
	uint32_t budget; /* full deny records per second */
	int64_t budget_second;
	uint32_t budget_used;
	int64_t over_second;
	uint64_t over_count;   /* folded into the overflow summary this second */
	uint64_t total_folded; /* over the life of the instance */
	uint64_t total_full;
	struct gw_fold_slot slot[GW_FOLD_SLOTS];
};

/* budget 0: GW_FOLD_DEFAULT_BUDGET. */
void gw_fold_init(struct gw_fold *f, uint32_t budget);

/* A denied flow with key k at second now.  Returns true when it must be
 * recorded in full, false when it was folded.  When an older summary had to
 * be closed to make room (the slot held another key or an earlier second),
 * it is copied to *ret_flush and *ret_has_flush is set: write it first. */
bool gw_fold_deny(struct gw_fold *f, const struct gw_fold_key *k, int64_t now, struct gw_fold_summary *ret_flush,
		  bool *ret_has_flush);

/* Close every summary of a second before now: cb is called for each one
 * with a non-zero count (and for the overflow summary).  Returns how many. */
typedef void gw_fold_cb(void *arg, const struct gw_fold_summary *s);
size_t gw_fold_sweep(struct gw_fold *f, int64_t now, gw_fold_cb *cb, void *arg);
