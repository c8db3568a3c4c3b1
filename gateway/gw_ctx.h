/* gw_ctx: the compiled table the daemon decides with, and its counters.
 *
 * A context is the table file read into memory (never mapped: a file
 * overwritten in place can never fault the daemon) and validated by
 * table_open_buffer, its generation, and the hit counters of its rules and
 * zone pairs (shared by the queue threads, added with relaxed atomics).
 *
 * Sharing (hazard pointers): a queue thread takes the current context for
 * one receive batch with gw_ctx_acquire, which publishes it in the thread's
 * hazard slot, and gives it back with gw_ctx_release.  Whoever swaps the
 * current pointer (gw_reload.c) frees the old context only once no hazard
 * slot holds it.
 *
 * Ownership: gw_ctx_load returns a context freed by gw_ctx_free (NULL does
 * nothing).  Functions return 0 or -errno; why explains a refused file. */
#pragma once
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/table.h"

#define GW_GEN_MASK 0x00ffffffu /* the generation: the low 24 bits of a connmark */
#define GW_TABLE_MAX_BYTES (1ull << 30)

struct gw_ctx {
	struct table *t;
	void *buf; /* the table bytes (read, not mapped) */
	uint32_t gen;
	struct table_info info;
	uint32_t nrules;
	_Atomic uint64_t *rule_hits; /* per rule index; [nrules] = defaults */
	_Atomic uint64_t pair_hits[TABLE_MAX_ZONES][TABLE_MAX_ZONES];
};

/* Read and validate the table file at path for generation gen. */
int gw_ctx_load(const char *path, uint32_t gen, struct gw_ctx **ret, char *why, size_t whylen);
void gw_ctx_free(struct gw_ctx *c);

/* Take the current context for one batch: publish it in *hazard, then check
 * that *current did not change meanwhile.  NULL when there is no table. */
struct gw_ctx *gw_ctx_acquire(_Atomic(struct gw_ctx *) *current, _Atomic(struct gw_ctx *) *hazard);
void gw_ctx_release(_Atomic(struct gw_ctx *) *hazard);

/* The name of zone z of the context's table; "" when unknown or no table. */
const char *gw_ctx_zone_name(const struct gw_ctx *c, int z);
