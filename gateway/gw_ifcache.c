/* gw_ifcache: ifindex -> zone cache (see gw_ifcache.h).
 *
 * Owned by one thread; never allocates.  Negative answers (no zone) are
 * cached too, errors from the name function are not. */
#include "gateway/gw_ifcache.h"

#include <errno.h>
#include <string.h>

void gw_ifcache_init(struct gw_ifcache *c, gw_ifname_fn *fn, void *arg)
{
	memset(c, 0, sizeof *c);
	c->name_fn = fn;
	c->name_arg = arg;
}

int gw_ifcache_zone(struct gw_ifcache *c, const struct table *t, uint64_t epoch, int ifindex, const char **ret_name)
{
	if (ifindex <= 0)
		return -ENODEV;
	if (c->table != t || c->epoch != epoch) {
		memset(c->slot, 0, sizeof c->slot);
		c->table = t;
		c->epoch = epoch;
	}
	struct gw_ifslot *s = &c->slot[(unsigned)ifindex % GW_IFCACHE_SLOTS];
	if (s->ifindex != ifindex) {
		char name[GW_IFNAMSIZ] = "";
		int r = c->name_fn(c->name_arg, ifindex, name);
		if (r < 0)
			return r;
		c->misses++;
		name[GW_IFNAMSIZ - 1] = 0;
		s->ifindex = ifindex;
		memcpy(s->name, name, sizeof s->name);
		int z = table_zone_by_ifname(t, name);
		s->zone = (int16_t)(z < 0 ? -1 : z);
	} else {
		c->hits++;
	}
	if (ret_name)
		*ret_name = s->name;
	return s->zone < 0 ? -ENOENT : s->zone;
}
