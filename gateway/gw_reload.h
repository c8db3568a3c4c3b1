/* gw_reload: table generations and the atomic table swap of
 * sekisho-gatewayd (SIGHUP, `ctl SOCKET reload`).
 *
 * A reload reads the table aside (gw_ctx_load), asks the privileged helper
 * to make the bootstrap accept the next generation (gw_priv), swaps the
 * table pointer, waits until no queue thread holds the old table (hazard
 * pointers) and frees it.  A refused table or a failed switch leaves the
 * old table in place.  The generation is kept in RUN_DIR/generation so that
 * the next process moves on from it.
 *
 * Main thread only.  Every reload is recorded (gateway.reload) and logged;
 * the last refusal is kept for the status. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct gw_daemon;

/* The generation after the table in use, or after RUN_DIR/generation when
 * there is none yet (start-up).  Never 0: 0 is the fence. */
uint32_t gw_reload_next_generation(const struct gw_daemon *d);
/* Write RUN_DIR/generation (atomically; a failure is logged, not fatal). */
void gw_reload_save_generation(const struct gw_daemon *d, uint32_t gen);
/* Reload the table file: 0, or -errno with why filled (old table stays). */
int gw_reload_table(struct gw_daemon *d, char *why, size_t whylen);
