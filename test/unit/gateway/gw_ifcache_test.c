/* gw_ifcache: ifindex -> zone through a real compiled table; hits, misses,
 * interfaces in no zone, errors, and invalidation by table and link epoch. */
#include "gateway/gw_ifcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test/check.h"
#include "rules/policy_load.h"
#include "rules/table_build.h"

static const char *names[8] = {NULL, "lo", "eth1", "eth2", "eth9", NULL, "eth2", NULL};
static int calls;

static int fake_name(void *arg, int ifindex, char name[GW_IFNAMSIZ])
{
	(void)arg;
	calls++;
	if (ifindex >= 8 || !names[ifindex])
		return -ENODEV;
	strcpy(name, names[ifindex]);
	return 0;
}

static const char POLICY[] = "zone a tier none interface eth1 network 198.18.1.0/24\n"
			     "zone b tier none interface eth2 network 198.18.2.0/24\n"
			     "rule \"r\" allow a -> b service tcp/80\n";

int main(void)
{
	struct diag d;
	policy_diag_init(&d);
	struct policy *p = NULL;
	if (policy_load_buffer("t.policy", POLICY, sizeof POLICY - 1, NULL, &d, &p) < 0) {
		policy_diag_print(&d, stderr, false);
		return 1;
	}
	void *buf;
	size_t len;
	char why[256];
	struct table *t = NULL;
	if (table_build(p, 0, &buf, &len, why, sizeof why) < 0 ||
	    table_open_buffer(buf, len, &t, why, sizeof why) < 0) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	int za = table_zone_by_name(t, "a"), zb = table_zone_by_name(t, "b");
	static struct gw_ifcache c;
	gw_ifcache_init(&c, fake_name, NULL);
	const char *name = NULL;
	CHECK(gw_ifcache_zone(&c, t, 0, 2, &name) == za && !strcmp(name, "eth1"), "eth1 -> a");
	CHECK(gw_ifcache_zone(&c, t, 0, 3, &name) == zb, "eth2 -> b");
	CHECK(gw_ifcache_zone(&c, t, 0, 2, NULL) == za && calls == 2, "hit: no second name lookup (%d)", calls);
	CHECK(gw_ifcache_zone(&c, t, 0, 4, &name) == -ENOENT && !strcmp(name, "eth9"), "eth9 in no zone");
	CHECK(gw_ifcache_zone(&c, t, 0, 4, NULL) == -ENOENT && calls == 3, "negative answer cached");
	CHECK(gw_ifcache_zone(&c, t, 0, 5, NULL) == -ENODEV, "unknown ifindex");
	CHECK(gw_ifcache_zone(&c, t, 0, 0, NULL) == -ENODEV && gw_ifcache_zone(&c, t, 0, -3, NULL) == -ENODEV, "bad");
	/* another index with the same name maps to the same zone */
	CHECK(gw_ifcache_zone(&c, t, 0, 6, NULL) == zb, "index 6 (eth2 again)");
	/* a link event (epoch) empties the cache: renamed interfaces are seen */
	names[2] = "eth2";
	CHECK(gw_ifcache_zone(&c, t, 0, 2, NULL) == za, "stale until the epoch moves");
	CHECK(gw_ifcache_zone(&c, t, 1, 2, NULL) == zb, "renamed interface after a link event");
	/* a new table empties it too */
	int before = calls;
	struct table *t2 = NULL;
	table_open_buffer(buf, len, &t2, why, sizeof why);
	CHECK(gw_ifcache_zone(&c, t2, 1, 3, NULL) == zb && calls == before + 1, "new table: lookup again");
	CHECK(c.hits > 0 && c.misses > 0, "counters");
	table_close(t2);
	table_close(t);
	free(buf);
	policy_free(p);
	policy_diag_free(&d);
	return check_done();
}
