/* lx_tally: count occurrences of strings (sources, types, hosts...).
 *
 * An open-addressing hash table of at most LX_TALLY_MAX distinct keys;
 * beyond that further new keys are counted in `overflow` (a log full of
 * random sources cannot exhaust memory).  Each entry may keep one extra
 * string (the first seen with it).  Keys and extras are copied; the table
 * owns everything; lx_tally_free(NULL) does nothing.  Allocation failures
 * abort (control plane). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define LX_TALLY_MAX 65536

struct lx_tally_entry {
	char *key;
	char *extra;
	uint64_t n;
};

struct lx_tally {
	struct lx_tally_entry *slots;
	size_t cap, len;
	uint64_t overflow; /* counts of keys that did not fit */
	uint64_t total;
};

struct lx_tally *lx_tally_new(void);
void lx_tally_free(struct lx_tally *t);
/* Add inc to key (created if new; extra stored when it is created). */
void lx_tally_add(struct lx_tally *t, const char *key, const char *extra, uint64_t inc);
uint64_t lx_tally_get(const struct lx_tally *t, const char *key);
/* Entries sorted by count (descending), then key; the array is the
 * caller's (free it), the entries point into the table. */
const struct lx_tally_entry **lx_tally_sorted(const struct lx_tally *t, size_t *ret_n);
