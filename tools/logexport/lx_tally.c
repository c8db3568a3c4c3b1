/* lx_tally: capped string counters (see lx_tally.h).
 *
 * Contract: FNV-1a hashing, linear probing, load factor at most 1/2. */
#include "tools/logexport/lx_tally.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

struct lx_tally *lx_tally_new(void)
{
	struct lx_tally *t = xcalloc(1, sizeof *t);
	t->cap = 64;
	t->slots = xcalloc(t->cap, sizeof *t->slots);
	return t;
}

void lx_tally_free(struct lx_tally *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++) {
		free(t->slots[i].key);
		free(t->slots[i].extra);
	}
	free(t->slots);
	free(t);
}

static struct lx_tally_entry *find(const struct lx_tally *t, const char *key)
{
	size_t i = (size_t)hash(key) & (t->cap - 1);
	while (t->slots[i].key) {
		if (strcmp(t->slots[i].key, key) == 0)
			return &t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	return &t->slots[i];
}

static void grow(struct lx_tally *t)
{
	struct lx_tally_entry *old = t->slots;
	size_t oldcap = t->cap;
	t->cap *= 2;
	t->slots = xcalloc(t->cap, sizeof *t->slots);
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(t, old[i].key) = old[i];
	free(old);
}

void lx_tally_add(struct lx_tally *t, const char *key, const char *extra, uint64_t inc)
{
	if (!key)
		key = "";
	t->total += inc;
	struct lx_tally_entry *e = find(t, key);
	if (e->key) {
		e->n += inc;
		return;
	}
	if (t->len >= LX_TALLY_MAX) {
		t->overflow += inc;
		return;
	}
	if ((t->len + 1) * 2 > t->cap) {
		grow(t);
		e = find(t, key);
	}
	e->key = xstrdup(key);
	e->extra = extra ? xstrdup(extra) : NULL;
	e->n = inc;
	t->len++;
}

uint64_t lx_tally_get(const struct lx_tally *t, const char *key)
{
	const struct lx_tally_entry *e = find(t, key ? key : "");
	return e->key ? e->n : 0;
}

static int cmp(const void *a, const void *b)
{
	const struct lx_tally_entry *x = *(const struct lx_tally_entry *const *)a;
	const struct lx_tally_entry *y = *(const struct lx_tally_entry *const *)b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

const struct lx_tally_entry **lx_tally_sorted(const struct lx_tally *t, size_t *ret_n)
{
	const struct lx_tally_entry **v = xcalloc(t->len + 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key)
			v[n++] = &t->slots[i];
	qsort(v, n, sizeof *v, cmp);
	*ret_n = n;
	return v;
}
