/* gw_ctx: the table in use, read aside and shared by hazard pointers (see
 * gw_ctx.h).
 *
 * Loading allocates (control plane, main thread); acquire and release are
 * on the packet path and neither allocate nor block.  A refused file leaves
 * nothing allocated and says why. */
#include "gateway/gw_ctx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fdio.h"

void gw_ctx_free(struct gw_ctx *c)
{
	if (!c)
		return;
	table_close(c->t);
	free(c->buf);
	free(c->rule_hits);
	free(c);
}

/* The bytes are copied into memory so that a file overwritten in place can
 * never fault the running daemon. */
int gw_ctx_load(const char *path, uint32_t gen, struct gw_ctx **ret, char *why, size_t whylen)
{
	void *buf = NULL;
	size_t len = 0;
	int r = fdio_read_file(path, GW_TABLE_MAX_BYTES, &buf, &len);
	if (r == -EFBIG || (r == 0 && len == 0)) {
		snprintf(why, whylen, "%s: not a regular file of 1..%llu bytes", path, GW_TABLE_MAX_BYTES);
		free(buf);
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", path, r == -EIO ? "short read" : strerror(-r));
		return r;
	}
	struct gw_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		free(buf);
		return -ENOMEM;
	}
	c->buf = buf;
	char w[256] = "";
	r = table_open_buffer(buf, len, &c->t, w, sizeof w);
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", path, w);
		gw_ctx_free(c);
		return r;
	}
	table_get_info(c->t, &c->info);
	c->nrules = c->info.nrules;
	c->rule_hits = calloc((size_t)c->nrules + 1, sizeof *c->rule_hits);
	if (!c->rule_hits) {
		gw_ctx_free(c);
		return -ENOMEM;
	}
	c->gen = gen & GW_GEN_MASK;
	*ret = c;
	return 0;
}

struct gw_ctx *gw_ctx_acquire(_Atomic(struct gw_ctx *) *current, _Atomic(struct gw_ctx *) *hazard)
{
	for (;;) {
		struct gw_ctx *c = atomic_load(current);
		atomic_store(hazard, c);
		if (atomic_load(current) == c)
			return c;
	}
}

void gw_ctx_release(_Atomic(struct gw_ctx *) *hazard)
{
	atomic_store(hazard, NULL);
}

const char *gw_ctx_zone_name(const struct gw_ctx *c, int z)
{
	struct table_zone_info zi;
	if (!c || z < 0 || !table_zone(c->t, (uint32_t)z, &zi))
		return "";
	return zi.name;
}
