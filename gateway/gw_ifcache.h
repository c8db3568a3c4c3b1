/* gw_ifcache: interface index -> zone, cached per queue thread.
 *
 * Each queue thread owns one cache (no lock).  A miss asks a name function
 * (if_indextoname in the daemon, a table in tests) and the compiled table
 * (table_zone_by_ifname).  The cache is direct-mapped with a fixed number of
 * slots (bounded memory); it is emptied when the table or the link epoch
 * (bumped by the daemon on every rtnetlink link event) changes, so a renamed
 * or re-created interface is never decided by a stale zone. */
#pragma once
#include <stdint.h>

#include "rules/table.h"

#define GW_IFCACHE_SLOTS 256
#define GW_IFNAMSIZ 16

/* Name of ifindex into name (NUL-terminated).  Returns 0 or -errno. */
typedef int gw_ifname_fn(void *arg, int ifindex, char name[GW_IFNAMSIZ]);

struct gw_ifslot {
	int32_t ifindex; /* 0: empty */
	int16_t zone;    /* zone index, or -1: the interface is in no zone */
	char name[GW_IFNAMSIZ];
};

struct gw_ifcache {
	const struct table *table; /* the table the entries were computed for */
	uint64_t epoch;
	uint64_t hits, misses;
	gw_ifname_fn *name_fn;
	void *name_arg;
	struct gw_ifslot slot[GW_IFCACHE_SLOTS];
};

void gw_ifcache_init(struct gw_ifcache *c, gw_ifname_fn *fn, void *arg);

/* Zone of ifindex under table t at link epoch.  Returns the zone index
 * (>= 0), -ENOENT when the interface belongs to no zone, or -errno from the
 * name function (-ENODEV: no such interface).  *ret_name (may be NULL) points
 * to the interface name inside the cache, valid until the next call. */
int gw_ifcache_zone(struct gw_ifcache *c, const struct table *t, uint64_t epoch, int ifindex, const char **ret_name);
