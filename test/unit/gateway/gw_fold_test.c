/* gw_fold: denied-flood aggregation — per (source, rule, action, second),
 * a budget per second, and no count ever lost. */
#include "gateway/gw_fold.h"

#include <string.h>
#include <stdlib.h>

#include "test/check.h"

struct sink {
	uint64_t folded, overflow;
	size_t n;
};

static void cb(void *arg, const struct gw_fold_summary *s)
{
	struct sink *k = arg;
	k->folded += s->folded;
	k->overflow += s->overflow ? s->folded : 0;
	k->n++;
}

int main(void)
{
	static struct gw_fold f;
	struct gw_fold_summary fl;
	bool has;
	struct gw_fold_key a = {.family = 4, .action = 2, .rule_id = 0, .src = 0xc6121e3c};
	struct gw_fold_key b = a;
	b.src++;

	/* one source flooding in one second: one full record, the rest folded */
	gw_fold_init(&f, 0);
	int full = 0;
	for (int i = 0; i < 1000; i++) {
		full += gw_fold_deny(&f, &a, 100, &fl, &has);
		CHECK(!has, "no flush within the second");
	}
	CHECK(full == 1, "full %d", full);
	struct sink k = {0};
	CHECK(gw_fold_sweep(&f, 100, cb, &k) == 0, "the current second is not closed");
	CHECK(gw_fold_sweep(&f, 101, cb, &k) == 1 && k.folded == 999, "summary %llu", (unsigned long long)k.folded);
	CHECK(gw_fold_sweep(&f, 102, cb, &k) == 0, "summary written once");

	/* a new second starts a new full record and closes the old summary */
	gw_fold_init(&f, 0);
	gw_fold_deny(&f, &a, 10, &fl, &has);
	gw_fold_deny(&f, &a, 10, &fl, &has);
	CHECK(gw_fold_deny(&f, &a, 11, &fl, &has) && has && fl.folded == 1 && fl.second == 10, "rollover");
	/* another key, another rule, another action: recorded separately */
	CHECK(gw_fold_deny(&f, &b, 11, &fl, &has), "other source");
	struct gw_fold_key r = a;
	r.rule_id = 7;
	CHECK(gw_fold_deny(&f, &r, 11, &fl, &has), "other rule");
	r.action = 3;
	CHECK(gw_fold_deny(&f, &r, 11, &fl, &has), "other action");

	/* many sources (spoofed flood): the budget caps full records per second,
	 * the rest goes to one overflow summary; nothing is lost */
	gw_fold_init(&f, 50);
	full = 0;
	uint64_t flushed = 0;
	for (int i = 0; i < 100000; i++) {
		struct gw_fold_key x = a;
		x.src = (u128)(0xc6120000u + (unsigned)i);
		if (gw_fold_deny(&f, &x, 500, &fl, &has))
			full++;
		if (has)
			flushed += fl.folded;
	}
	CHECK(full == 50, "budget: full %d", full);
	k = (struct sink){0};
	gw_fold_sweep(&f, 501, cb, &k);
	CHECK(full + flushed + k.folded == 100000, "accounting %d + %llu + %llu", full, (unsigned long long)flushed,
	      (unsigned long long)k.folded);
	CHECK(k.overflow == 100000 - 50, "overflow %llu", (unsigned long long)k.overflow);
	CHECK(f.total_full + f.total_folded == 100000, "totals");

	/* slot collisions flush the earlier key's count instead of losing it */
	gw_fold_init(&f, 100000);
	uint64_t seen = 0;
	full = 0;
	for (int i = 0; i < 50000; i++) {
		struct gw_fold_key x = a;
		x.src = (u128)(unsigned)(i % 3000);
		if (gw_fold_deny(&f, &x, 7, &fl, &has))
			full++;
		if (has)
			seen += fl.folded;
	}
	k = (struct sink){0};
	gw_fold_sweep(&f, 8, cb, &k);
	CHECK(full + seen + k.folded == 50000, "collisions: %d + %llu + %llu", full, (unsigned long long)seen,
	      (unsigned long long)k.folded);
	return check_done();
}
