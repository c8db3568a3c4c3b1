/* gw_reload: generations and the table swap (see gw_reload.h).
 *
 * Load aside, validate, switch the kernel's generation, swap, retire: the
 * queue threads never see half a table, and a table that fails at any step
 * is freed while the old one goes on deciding.  Runs on the main thread;
 * it waits (1 ms steps) only for receive batches that still hold the old
 * table, which are short. */
#include "common/i18n.h"
#include "common/svc.h"
#include "gateway/gw_reload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/audit/audit.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_daemon.h"
#include "gateway/gw_priv.h"
#include "gateway/gw_worker.h"

static int write_file_atomic(const char *path, const char *text)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return -errno;
	return 0;
}

static uint32_t read_generation(const struct gw_daemon *d)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/generation", d->cfg.run_dir);
	FILE *f = fopen(path, "r");
	unsigned long g = 0;
	if (f) {
		if (fscanf(f, "%lu", &g) != 1)
			g = 0;
		fclose(f);
	}
	return (uint32_t)(g & GW_GEN_MASK);
}

void gw_reload_save_generation(const struct gw_daemon *d, uint32_t gen)
{
	char path[4096], text[32];
	snprintf(path, sizeof path, "%s/generation", d->cfg.run_dir);
	snprintf(text, sizeof text, "%u\n", gen);
	if (write_file_atomic(path, text) < 0)
		gw_daemon_log(SVC_WARNING, _("warning: cannot write %s: %s"), path, strerror(errno));
}

uint32_t gw_reload_next_generation(const struct gw_daemon *d)
{
	const struct gw_ctx *c = atomic_load(&d->ctx);
	uint32_t g = ((c ? c->gen : read_generation(d)) + 1) & GW_GEN_MASK;
	return g ? g : 1;
}

/* Wait until no thread holds old (their batches are short). */
static void retire(struct gw_daemon *d, struct gw_ctx *old)
{
	if (!old)
		return;
	for (;;) {
		bool busy = false;
		for (unsigned i = 0; i < d->cfg.nqueues; i++)
			if (atomic_load(&d->workers[i].hazard) == old)
				busy = true;
		if (!busy)
			break;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	gw_ctx_free(old);
}

static void emit_reload(struct gw_daemon *d, const char *result, const struct gw_ctx *c, const char *why)
{
	struct audit_field f[6];
	size_t n = 0;
	f[n++] = (struct audit_field)AUDIT_STR("result", result);
	f[n++] = (struct audit_field)AUDIT_STR("table", d->cfg.table_path);
	if (c) {
		f[n++] = (struct audit_field)AUDIT_HEX("policy_sha256", c->info.policy_sha256, 32);
		f[n++] = (struct audit_field)AUDIT_UINT("table_gen", c->gen);
	}
	if (why)
		f[n++] = (struct audit_field)AUDIT_STR("why", why);
	audit_emit(d->audit, "gateway.reload", f, n);
}

static int refused(struct gw_daemon *d, int r, const char *why)
{
	d->reload_failures++;
	snprintf(d->last_reload_error, sizeof d->last_reload_error, "%s", why);
	emit_reload(d, "refused", NULL, why);
	gw_daemon_log(SVC_WARNING, _("reload refused, old table stays: %s"), why);
	return r;
}

int gw_reload_table(struct gw_daemon *d, char *why, size_t whylen)
{
	struct gw_ctx *old = atomic_load(&d->ctx);
	uint32_t gen = gw_reload_next_generation(d);
	struct gw_ctx *c;
	int r = gw_ctx_load(d->cfg.table_path, gen, &c, why, whylen);
	if (r < 0)
		return refused(d, r, why);
	r = gw_priv_generation(&d->priv, gen, why, whylen);
	if (r < 0) {
		gw_ctx_free(c);
		return refused(d, r, why);
	}
	gw_reload_save_generation(d, gen);
	atomic_store(&d->ctx, c);
	retire(d, old);
	d->reloads++;
	emit_reload(d, "ok", c, NULL);
	gw_daemon_log(SVC_NOTICE, _("reloaded %s: generation %u"), d->cfg.table_path, c->gen);
	return 0;
}
