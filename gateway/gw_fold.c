/* gw_fold: denied-flood aggregation (see gw_fold.h).
 *
 * Direct-mapped slots keyed by a hash of (family, action, rule, source).  A
 * collision closes the previous key's summary (returned to the caller), so
 * no count is ever lost, only reported earlier. */
#include "gateway/gw_fold.h"

#include <string.h>

void gw_fold_init(struct gw_fold *f, uint32_t budget)
{
	memset(f, 0, sizeof *f);
	f->budget = budget ? budget : GW_FOLD_DEFAULT_BUDGET;
}

static uint32_t key_hash(const struct gw_fold_key *k)
{
	uint64_t lo = (uint64_t)k->src, hi = (uint64_t)(k->src >> 64);
	uint64_t h = lo * 0x9e3779b97f4a7c15ull;
	h ^= (hi + k->rule_id) * 0xc2b2ae3d27d4eb4full;
	h ^= (uint64_t)(k->family << 8 | k->action) * 0x165667b19e3779f9ull;
	h ^= h >> 29;
	return (uint32_t)(h % GW_FOLD_SLOTS);
}

static bool key_eq(const struct gw_fold_key *a, const struct gw_fold_key *b)
{
	return a->family == b->family && a->action == b->action && a->rule_id == b->rule_id && a->src == b->src;
}

bool gw_fold_deny(struct gw_fold *f, const struct gw_fold_key *k, int64_t now, struct gw_fold_summary *ret_flush,
		  bool *ret_has_flush)
{
	*ret_has_flush = false;
	struct gw_fold_slot *s = &f->slot[key_hash(k)];
	if (s->used && key_eq(&s->key, k) && s->second == now) {
		s->folded++;
		f->total_folded++;
		return false;
	}
	if (f->budget_second != now) {
		f->budget_second = now;
		f->budget_used = 0;
	}
	if (f->budget_used >= f->budget) {
		/* Over budget: the slot is left alone, the flow goes into the
		 * overflow summary of this second. */
		if (f->over_count > 0 && f->over_second != now) {
			*ret_flush = (struct gw_fold_summary){
				.second = f->over_second, .folded = f->over_count, .overflow = true};
			*ret_has_flush = true;
			f->over_count = 0;
		}
		f->over_second = now;
		f->over_count++;
		f->total_folded++;
		return false;
	}
	if (s->used && s->folded > 0) {
		*ret_flush = (struct gw_fold_summary){.key = s->key, .second = s->second, .folded = s->folded};
		*ret_has_flush = true;
	}
	f->budget_used++;
	f->total_full++;
	*s = (struct gw_fold_slot){.used = true, .key = *k, .second = now, .folded = 0};
	return true;
}

size_t gw_fold_sweep(struct gw_fold *f, int64_t now, gw_fold_cb *cb, void *arg)
{
	size_t n = 0;
	for (size_t i = 0; i < GW_FOLD_SLOTS; i++) {
		struct gw_fold_slot *s = &f->slot[i];
		if (!s->used || s->second >= now)
			continue;
		if (s->folded > 0) {
			struct gw_fold_summary sum = {.key = s->key, .second = s->second, .folded = s->folded};
			cb(arg, &sum);
			n++;
		}
		s->used = false;
	}
	if (f->over_count > 0 && f->over_second < now) {
		struct gw_fold_summary sum = {.second = f->over_second, .folded = f->over_count, .overflow = true};
		cb(arg, &sum);
		f->over_count = 0;
		n++;
	}
	return n;
}
