/* table_build: linearize a normalised policy into a compiled table
 * (format in rules/table_format.h, classifier design in rules/table.c).
 *
 * Input: a struct policy, normally already proven; it is only read.
 * Output: one malloc'd buffer holding the whole file, checksum included;
 * the caller frees it.
 * Failure: -EINVAL for a policy the format cannot represent (zone bits past
 * nzones, ranges outside their domain, an action that is not one, ...),
 * -E2BIG when the table would exceed TBL_MAX_BYTES, -EIO when hashing
 * fails; the reason is written to why.  Working memory comes from xalloc
 * (control plane: out of memory aborts), and every size is checked against
 * TBL_MAX_BYTES before it is allocated, so input cannot make it overflow.
 *
 * How a partition is built (one per distinct (from, to, family) rule list):
 *   1. its sub-rules: for each rule in order, one per distinct source-port
 *      range of its services, with the key intervals of that range merged;
 *   2. per dimension, sub-rules covering the whole dimension go into one
 *      dense wildcard vector; a sweep over the sorted endpoints of the
 *      others keeps the bit vector of the current elementary interval
 *      (dense words plus summary, updated in O(1) per endpoint); at each
 *      endpoint where it changes, the vector is compressed and interned in
 *      a global pool (hash + exact compare), and a bound is emitted; then
 *      the search tree over the bounds;
 *   3. a dimension where every sub-rule is the full range is skipped;
 *   4. allwild, the first sub-rule that is a wildcard everywhere.
 * Partitions with identical sub-rule lists (zone pairs with the same rules)
 * are built once.  Cost: O(E log E + B * (nsum + nwords)) per dimension,
 * E endpoints, B bounds. */
#include "rules/table_build.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/xalloc.h"
#include "rules/table_format.h"

/* Sub-rule building blocks of one rule, computed once per rule. */
struct sport_group {
	uint16_t lo, hi;
	uint32_t nkey;
	struct ip_range *key; /* sorted, merged; owned */
};

struct rule_prep {
	struct ip_range *src[2], *dst[2]; /* [0] IPv4, [1] IPv6: sorted, merged */
	uint32_t nsrc[2], ndst[2];
	bool own_src[2], own_dst[2]; /* allocated here (else the rule's) */
	uint32_t ngroups;
	struct sport_group *groups; /* owned */
};

/* One sub-rule of the partition being built. */
struct psub {
	uint32_t rule;
	const struct ip_range *r[TBL_NDIMS];
	uint32_t n[TBL_NDIMS];
	struct ip_range sport; /* storage for r[TBL_DIM_SPORT] */
};

struct sweep_ev {
	u128 p;
	uint32_t sub;
	uint32_t set; /* 0: leaves at p, 1: enters at p */
};

struct vec_slot {
	uint64_t hash;
	uint32_t off; /* index in words; TBL_NONE: empty */
	uint32_t len; /* words, summary included */
	uint32_t nsum;
	uint32_t dense; /* a wildcard vector (all data words) */
};

struct part_slot {
	uint64_t hash;
	uint32_t part; /* TBL_NONE: empty */
	uint32_t pad;
};

struct build {
	const struct policy *p;
	char *why;
	size_t whylen;
	uint64_t bytes; /* running size of all sections */

	char *str;
	size_t nstr, capstr;
	uint32_t *strht; /* offset + 1; 0 empty */
	size_t strhtcap, strhtn;

	uint32_t *ifnames;
	size_t nifnames, capifnames;
	struct tbl_part *parts;
	size_t nparts, capparts;
	uint32_t *subrules;
	size_t nsubrules, capsubrules;
	uint32_t *b32;
	size_t nb32, capb32;
	struct tbl_bound128 *b128;
	size_t nb128, capb128;
	uint32_t *t32;
	size_t nt32, capt32;
	struct tbl_bound128 *t128;
	size_t nt128, capt128;
	uint32_t *vecidx;
	size_t nvecidx, capvecidx;
	uint64_t *words;
	size_t nwords, capwords;

	struct vec_slot *vht;
	size_t vhtcap, vhtn;
	struct part_slot *pht;
	size_t phtcap, phtn;

	/* scratch for the sweep, reused across partitions */
	uint64_t *cur, *cursum, *scratch, *wild;
	size_t wildcap;
	u128 *levels;
	size_t levelscap;
	size_t curcap, sumcap, scratchcap;
	struct sweep_ev *ev;
	size_t evcap;
};

__attribute__((format(printf, 2, 3))) static int fail(struct build *b, const char *fmt, ...)
{
	if (b->why && b->whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(b->why, b->whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_bytes(const void *data, size_t n)
{
	const unsigned char *s = data;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return mix64(h);
}

/* Account for add more bytes of output; refuse past the cap. */
static int charge(struct build *b, uint64_t add)
{
	if (add > TBL_MAX_BYTES || b->bytes > TBL_MAX_BYTES - add) {
		fail(b,
		     "table would exceed %llu bytes (1 GiB): the policy is too large or its rules "
		     "overlap in too many ways",
		     (unsigned long long)TBL_MAX_BYTES);
		return -E2BIG;
	}
	b->bytes += add;
	return 0;
}

/* ---- string pool ---- */

static void strht_insert(struct build *b, uint32_t off)
{
	const char *s = b->str + off;
	size_t mask = b->strhtcap - 1;
	size_t i = hash_bytes(s, strlen(s)) & mask;
	while (b->strht[i])
		i = (i + 1) & mask;
	b->strht[i] = off + 1;
}

static int str_intern(struct build *b, const char *s, uint32_t *ret)
{
	if (!s || !*s) {
		*ret = 0;
		return 0;
	}
	size_t n = strlen(s);
	if (b->strhtn * 2 >= b->strhtcap) {
		size_t old = b->strhtcap;
		uint32_t *oldht = b->strht;
		b->strhtcap = old ? old * 2 : 256;
		b->strht = xcalloc(b->strhtcap, sizeof *b->strht);
		for (size_t i = 0; i < old; i++)
			if (oldht[i])
				strht_insert(b, oldht[i] - 1);
		free(oldht);
	}
	size_t mask = b->strhtcap - 1;
	size_t i = hash_bytes(s, n) & mask;
	for (; b->strht[i]; i = (i + 1) & mask) {
		const char *t = b->str + b->strht[i] - 1;
		if (!strcmp(t, s)) {
			*ret = b->strht[i] - 1;
			return 0;
		}
	}
	int r = charge(b, n + 1);
	if (r < 0)
		return r;
	if (b->nstr + n + 1 > UINT32_MAX)
		return fail(b, "string pool too large"), -E2BIG;
	xgrow(&b->str, &b->capstr, b->nstr + n + 1, 1);
	memcpy(b->str + b->nstr, s, n + 1);
	*ret = (uint32_t)b->nstr;
	b->strht[i] = (uint32_t)b->nstr + 1;
	b->strhtn++;
	b->nstr += n + 1;
	return 0;
}

/* ---- rule preparation ---- */

static int cmp_range(const void *a, const void *b)
{
	const struct ip_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

/* Check ranges against [0, max]; return them sorted and merged (adjacent
 * ranges joined), borrowing the input when it already is. */
static int norm_ranges(struct build *b, const struct ip_range *in, uint32_t n, u128 max, const char *what, uint32_t ri,
		       struct ip_range **ret, uint32_t *ret_n, bool *ret_own)
{
	bool ok = true;
	if (n && !in)
		return fail(b, "rule %u: %s: %u ranges but no array", ri, what, n);
	for (uint32_t i = 0; i < n; i++) {
		if (in[i].lo > in[i].hi || in[i].hi > max)
			return fail(b, "rule %u: %s range %u is empty or outside its domain", ri, what, i);
		if (i && (in[i].lo <= in[i - 1].hi || in[i].lo - 1 == in[i - 1].hi))
			ok = false;
	}
	if (ok) {
		*ret = (struct ip_range *)(uintptr_t)in;
		*ret_n = n;
		*ret_own = false;
		return 0;
	}
	struct ip_range *v = xreallocarray(NULL, n, sizeof *v);
	memcpy(v, in, (size_t)n * sizeof *v);
	qsort(v, n, sizeof *v, cmp_range);
	uint32_t m = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (m && (v[i].lo <= v[m - 1].hi || v[i].lo - 1 == v[m - 1].hi)) {
			if (v[i].hi > v[m - 1].hi)
				v[m - 1].hi = v[i].hi;
		} else {
			v[m++] = v[i];
		}
	}
	*ret = v;
	*ret_n = m;
	*ret_own = true;
	return 0;
}

static int prep_rule(struct build *b, uint32_t ri, struct rule_prep *rp)
{
	const struct policy_rule *r = &b->p->rules[ri];
	int e;
	if ((e = norm_ranges(b, r->src.v4, r->src.n4, INADDR_V4_MAX, "IPv4 source", ri, &rp->src[0], &rp->nsrc[0],
			     &rp->own_src[0])) < 0 ||
	    (e = norm_ranges(b, r->src.v6, r->src.n6, U128_MAX, "IPv6 source", ri, &rp->src[1], &rp->nsrc[1],
			     &rp->own_src[1])) < 0 ||
	    (e = norm_ranges(b, r->dst.v4, r->dst.n4, INADDR_V4_MAX, "IPv4 destination", ri, &rp->dst[0], &rp->ndst[0],
			     &rp->own_dst[0])) < 0 ||
	    (e = norm_ranges(b, r->dst.v6, r->dst.n6, U128_MAX, "IPv6 destination", ri, &rp->dst[1], &rp->ndst[1],
			     &rp->own_dst[1])) < 0)
		return e;
	if (!r->nsvc)
		return 0;
	if (!r->svc)
		return fail(b, "rule %u: %u services but no array", ri, r->nsvc);
	struct svc_range *s = xreallocarray(NULL, r->nsvc, sizeof *s);
	memcpy(s, r->svc, (size_t)r->nsvc * sizeof *s);
	for (uint32_t i = 0; i < r->nsvc; i++)
		if (s[i].key_lo > s[i].key_hi || s[i].key_hi > SVC_KEY_MAX || s[i].sport_lo > s[i].sport_hi) {
			free(s);
			return fail(b, "rule %u: service %u is empty or outside its domain", ri, i);
		}
	qsort(s, r->nsvc, sizeof *s, policy_svc_cmp);
	rp->groups = xreallocarray(NULL, r->nsvc, sizeof *rp->groups);
	for (uint32_t i = 0; i < r->nsvc;) {
		uint32_t j = i;
		while (j < r->nsvc && s[j].sport_lo == s[i].sport_lo && s[j].sport_hi == s[i].sport_hi)
			j++;
		struct sport_group *g = &rp->groups[rp->ngroups++];
		g->lo = s[i].sport_lo;
		g->hi = s[i].sport_hi;
		g->key = xreallocarray(NULL, j - i, sizeof *g->key);
		g->nkey = 0;
		for (uint32_t k = i; k < j; k++) {
			/* sorted by key_lo: merge overlapping and adjacent */
			if (g->nkey && s[k].key_lo <= g->key[g->nkey - 1].hi + 1) {
				if (s[k].key_hi > g->key[g->nkey - 1].hi)
					g->key[g->nkey - 1].hi = s[k].key_hi;
			} else {
				g->key[g->nkey].lo = s[k].key_lo;
				g->key[g->nkey].hi = s[k].key_hi;
				g->nkey++;
			}
		}
		i = j;
	}
	free(s);
	return 0;
}

static void prep_free(struct rule_prep *rp)
{
	for (int f = 0; f < 2; f++) {
		if (rp->own_src[f])
			free(rp->src[f]);
		if (rp->own_dst[f])
			free(rp->dst[f]);
	}
	for (uint32_t g = 0; g < rp->ngroups; g++)
		free(rp->groups[g].key);
	free(rp->groups);
}

/* ---- vector pool ---- */

static void vht_insert(struct build *b, const struct vec_slot *s)
{
	size_t mask = b->vhtcap - 1;
	size_t i = s->hash & mask;
	while (b->vht[i].off != TBL_NONE)
		i = (i + 1) & mask;
	b->vht[i] = *s;
}

/* Intern the vector v[0 .. len) (compressed, or dense for a wildcard
 * vector); returns its index in words through ret. */
static int vec_intern(struct build *b, const uint64_t *v, uint32_t nsum, bool dense, size_t len, uint32_t *ret)
{
	uint64_t h = mix64(nsum * 2 + dense);
	for (size_t i = 0; i < len; i++)
		h = mix64(h ^ v[i]) + i;
	if (b->vhtn * 2 >= b->vhtcap) {
		size_t old = b->vhtcap;
		struct vec_slot *oldht = b->vht;
		b->vhtcap = old ? old * 2 : 1024;
		b->vht = xreallocarray(NULL, b->vhtcap, sizeof *b->vht);
		for (size_t i = 0; i < b->vhtcap; i++)
			b->vht[i].off = TBL_NONE;
		for (size_t i = 0; i < old; i++)
			if (oldht[i].off != TBL_NONE)
				vht_insert(b, &oldht[i]);
		free(oldht);
	}
	size_t mask = b->vhtcap - 1;
	size_t i = h & mask;
	for (; b->vht[i].off != TBL_NONE; i = (i + 1) & mask) {
		const struct vec_slot *s = &b->vht[i];
		if (s->hash == h && s->len == len && s->nsum == nsum && s->dense == dense &&
		    !memcmp(b->words + s->off, v, len * sizeof(uint64_t))) {
			*ret = s->off;
			return 0;
		}
	}
	int r = charge(b, (uint64_t)len * sizeof(uint64_t));
	if (r < 0)
		return r;
	xgrow(&b->words, &b->capwords, b->nwords + len, sizeof *b->words);
	memcpy(b->words + b->nwords, v, len * sizeof(uint64_t));
	struct vec_slot s = {.hash = h, .off = (uint32_t)b->nwords, .len = (uint32_t)len, .nsum = nsum, .dense = dense};
	b->vht[i] = s;
	b->vhtn++;
	b->nwords += len;
	*ret = s.off;
	return 0;
}

/* ---- classifier of one partition ---- */

static int cmp_ev(const void *a, const void *b)
{
	const struct sweep_ev *x = a, *y = b;
	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	if (x->set != y->set)
		return x->set < y->set ? -1 : 1;
	return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static u128 dim_max(int dim, int family)
{
	if (dim == TBL_DIM_KEY)
		return SVC_KEY_MAX;
	if (dim == TBL_DIM_SPORT)
		return 65535;
	return inaddr_family_max(family);
}

static int emit_bound(struct build *b, bool wide, u128 p)
{
	int r = charge(b, wide ? sizeof(struct tbl_bound128) : sizeof(uint32_t));
	if (r < 0)
		return r;
	if (wide) {
		xgrow(&b->b128, &b->capb128, b->nb128 + 1, sizeof *b->b128);
		b->b128[b->nb128].hi = (uint64_t)(p >> 64);
		b->b128[b->nb128].lo = (uint64_t)p;
		b->nb128++;
	} else {
		xgrow(&b->b32, &b->capb32, b->nb32 + 1, sizeof *b->b32);
		b->b32[b->nb32++] = (uint32_t)p;
	}
	return 0;
}

static int emit_vecidx(struct build *b, uint32_t vec)
{
	int r = charge(b, sizeof(uint32_t));
	if (r < 0)
		return r;
	xgrow(&b->vecidx, &b->capvecidx, b->nvecidx + 1, sizeof *b->vecidx);
	b->vecidx[b->nvecidx++] = vec;
	return 0;
}

/* Append v to the tree array of its width. */
static int emit_tree(struct build *b, bool wide, u128 v)
{
	int r = charge(b, wide ? sizeof(struct tbl_bound128) : sizeof(uint32_t));
	if (r < 0)
		return r;
	if (wide) {
		xgrow(&b->t128, &b->capt128, b->nt128 + 1, sizeof *b->t128);
		b->t128[b->nt128].hi = (uint64_t)(v >> 64);
		b->t128[b->nt128].lo = (uint64_t)v;
		b->nt128++;
	} else {
		xgrow(&b->t32, &b->capt32, b->nt32 + 1, sizeof *b->t32);
		b->t32[b->nt32++] = (uint32_t)v;
	}
	return 0;
}

/* Pad the bounds run to a multiple of TBL_NODE, then write the search
 * tree levels over it, top level first (see table_format.h). */
static int build_tree(struct build *b, bool wide, struct tbl_dim *d)
{
	const u128 pad = wide ? U128_MAX : UINT32_MAX;
	uint32_t n = d->nbounds;
	int r;
	while ((wide ? b->nb128 : b->nb32) % TBL_NODE)
		if ((r = emit_bound(b, wide, pad)) < 0)
			return r;
	uint32_t lens[TBL_MAX_LEVELS + 1];
	size_t start[TBL_MAX_LEVELS + 1];
	unsigned top = 0;
	lens[0] = n;
	while (lens[top] > TBL_NODE) {
		lens[top + 1] = (lens[top] + TBL_NODE - 1) / TBL_NODE;
		top++;
	}
	d->tree = 0;
	if (!top)
		return 0;
	/* levels 1..top in scratch, bottom up */
	size_t total = 0;
	for (unsigned j = 1; j <= top; j++)
		total += lens[j];
	xgrow(&b->levels, &b->levelscap, total, sizeof *b->levels);
	size_t at = 0;
	for (unsigned j = 1; j <= top; j++) {
		start[j] = at;
		for (uint32_t k = 0; k < lens[j]; k++) {
			u128 v;
			if (j == 1)
				v = wide ? ((u128)b->b128[d->bounds + (size_t)k * TBL_NODE].hi << 64 |
					    b->b128[d->bounds + (size_t)k * TBL_NODE].lo)
					 : b->b32[d->bounds + (size_t)k * TBL_NODE];
			else
				v = b->levels[start[j - 1] + (size_t)k * TBL_NODE];
			b->levels[at++] = v;
		}
	}
	d->tree = (uint32_t)(wide ? b->nt128 : b->nt32);
	for (unsigned j = top; j >= 1; j--) {
		for (uint32_t k = 0; k < lens[j]; k++)
			if ((r = emit_tree(b, wide, b->levels[start[j] + k])) < 0)
				return r;
		for (uint32_t k = lens[j]; k % TBL_NODE; k++)
			if ((r = emit_tree(b, wide, pad)) < 0)
				return r;
	}
	return 0;
}

/* Does the current interval vector, with the wildcards, hold every
 * sub-rule?  Then the interval restricts nothing. */
static bool interval_full(const struct build *b, uint32_t nsub, uint32_t nwords, uint32_t nsum)
{
	for (uint32_t k = 0; k < nwords; k++) {
		uint64_t want = k + 1 < nwords || nsub % 64 == 0 ? ~(uint64_t)0 : ((uint64_t)1 << (nsub % 64)) - 1;
		if ((b->cur[k] | b->wild[nsum + k]) != want)
			return false;
	}
	return true;
}

static bool is_full(const struct psub *s, int dim, u128 max)
{
	return s->n[dim] == 1 && s->r[dim][0].lo == 0 && s->r[dim][0].hi == max;
}

static int build_dim(struct build *b, const struct psub *subs, uint32_t nsub, int dim, int family,
		     struct tbl_part *part)
{
	struct tbl_dim *d = &part->dim[dim];
	u128 max = dim_max(dim, family);
	bool wide = dim <= TBL_DIM_DST && family == 6;
	uint32_t nwords = part->nwords, nsum = part->nsum;
	size_t nev = 0;
	bool all_full = true;
	int r;

	memset(d, 0, sizeof *d);
	/* wildcards: sub-rules covering the whole dimension, one dense vector */
	memset(b->wild, 0, ((size_t)nsum + nwords) * sizeof *b->wild);
	for (uint32_t s = 0; s < nsub; s++) {
		if (is_full(&subs[s], dim, max)) {
			b->wild[nsum + (s >> 6)] |= 1ull << (s & 63);
			b->wild[(s >> 6) >> 6] |= 1ull << ((s >> 6) & 63);
		} else {
			all_full = false;
			nev += (size_t)subs[s].n[dim] * 2;
		}
	}
	if (all_full)
		return 0; /* skipped: nbounds 0 */
	if ((r = vec_intern(b, b->wild, nsum, true, (size_t)nsum + nwords, &d->wild)) < 0)
		return r;

	xgrow(&b->ev, &b->evcap, nev, sizeof *b->ev);
	nev = 0;
	for (uint32_t s = 0; s < nsub; s++) {
		if (is_full(&subs[s], dim, max))
			continue;
		for (uint32_t i = 0; i < subs[s].n[dim]; i++) {
			const struct ip_range *rg = &subs[s].r[dim][i];
			b->ev[nev++] = (struct sweep_ev){.p = rg->lo, .sub = s, .set = 1};
			if (rg->hi < max)
				b->ev[nev++] = (struct sweep_ev){.p = rg->hi + 1, .sub = s, .set = 0};
		}
	}
	qsort(b->ev, nev, sizeof *b->ev, cmp_ev);

	memset(b->cur, 0, nwords * sizeof *b->cur);
	memset(b->cursum, 0, nsum * sizeof *b->cursum);
	d->bounds = (uint32_t)(wide ? b->nb128 : b->nb32);
	d->vecidx = (uint32_t)b->nvecidx;
	uint32_t prev = TBL_NONE;
	size_t e = 0;
	u128 p = 0;
	for (;;) {
		for (; e < nev && b->ev[e].p == p; e++) {
			uint32_t s = b->ev[e].sub, w = s >> 6;
			if (b->ev[e].set)
				b->cur[w] |= 1ull << (s & 63);
			else
				b->cur[w] &= ~(1ull << (s & 63));
			if (b->cur[w])
				b->cursum[w >> 6] |= 1ull << (w & 63);
			else
				b->cursum[w >> 6] &= ~(1ull << (w & 63));
		}
		/* compress: summary, then the non-zero words in order */
		size_t len = nsum;
		memcpy(b->scratch, b->cursum, nsum * sizeof *b->scratch);
		for (uint32_t k = 0; k < nsum; k++)
			for (uint64_t m = b->cursum[k]; m; m &= m - 1)
				b->scratch[len++] = b->cur[(size_t)k * 64 + (unsigned)__builtin_ctzll(m)];
		uint32_t vec;
		if ((r = vec_intern(b, b->scratch, nsum, false, len, &vec)) < 0)
			return r;
		if (interval_full(b, nsub, nwords, nsum))
			vec |= TBL_VEC_FULL;
		if (vec != prev) {
			if ((r = emit_bound(b, wide, p)) < 0 || (r = emit_vecidx(b, vec)) < 0)
				return r;
			d->nbounds++;
			prev = vec;
		}
		if (e == nev)
			break;
		p = b->ev[e].p;
	}
	return build_tree(b, wide, d);
}

/* The first sub-rule that is a wildcard in every searched dimension (the
 * lookup's answer when no interval vector offers an earlier one). */
static uint32_t first_allwild(const struct build *b, const struct tbl_part *part)
{
	for (uint32_t k = 0; k < part->nwords; k++) {
		uint64_t x = ~(uint64_t)0;
		for (int d = 0; d < TBL_NDIMS; d++)
			if (part->dim[d].nbounds)
				x &= b->words[part->dim[d].wild + part->nsum + k];
		if (k == part->nwords - 1 && part->nsub % 64)
			x &= ((uint64_t)1 << (part->nsub % 64)) - 1;
		if (x)
			return k * 64 + (uint32_t)__builtin_ctzll(x);
	}
	return TBL_NONE;
}

static uint64_t hash_u32s(const uint32_t *v, size_t n, uint64_t seed)
{
	uint64_t h = mix64(seed);
	for (size_t i = 0; i < n; i++)
		h = mix64(h ^ v[i]) + i;
	return h;
}

static void pht_insert(struct build *b, uint64_t h, uint32_t part)
{
	size_t mask = b->phtcap - 1;
	size_t i = h & mask;
	while (b->pht[i].part != TBL_NONE)
		i = (i + 1) & mask;
	b->pht[i].hash = h;
	b->pht[i].part = part;
}

/* The partition of one zone pair and family, from its candidate rules;
 * *ret is TBL_NONE when no rule can match there. */
static int build_partition(struct build *b, const struct rule_prep *prep, const uint32_t *rules, size_t nrules,
			   int family, struct psub **subsp, size_t *subcap, uint32_t *ret)
{
	int fi = family == 6;
	size_t nsub = 0;
	*ret = TBL_NONE;
	for (size_t i = 0; i < nrules; i++) {
		const struct rule_prep *rp = &prep[rules[i]];
		if (!rp->nsrc[fi] || !rp->ndst[fi])
			continue;
		for (uint32_t g = 0; g < rp->ngroups; g++) {
			xgrow(subsp, subcap, nsub + 1, sizeof **subsp);
			struct psub *s = &(*subsp)[nsub++];
			s->rule = rules[i];
			s->r[TBL_DIM_SRC] = rp->src[fi];
			s->n[TBL_DIM_SRC] = rp->nsrc[fi];
			s->r[TBL_DIM_DST] = rp->dst[fi];
			s->n[TBL_DIM_DST] = rp->ndst[fi];
			s->r[TBL_DIM_KEY] = rp->groups[g].key;
			s->n[TBL_DIM_KEY] = rp->groups[g].nkey;
			s->sport.lo = rp->groups[g].lo;
			s->sport.hi = rp->groups[g].hi;
			s->n[TBL_DIM_SPORT] = 1;
		}
	}
	if (!nsub)
		return 0;
	struct psub *subs = *subsp;
	for (size_t s = 0; s < nsub; s++)
		subs[s].r[TBL_DIM_SPORT] = &subs[s].sport; /* after the last realloc */
	if (nsub > UINT32_MAX / 2)
		return fail(b, "too many sub-rules"), -E2BIG;

	/* the sub-rule list decides the partition: share identical ones */
	int r = charge(b, nsub * sizeof(struct tbl_subrule));
	if (r < 0)
		return r;
	xgrow(&b->subrules, &b->capsubrules, b->nsubrules + nsub, sizeof *b->subrules);
	uint32_t *sr = b->subrules + b->nsubrules;
	for (size_t s = 0; s < nsub; s++)
		sr[s] = subs[s].rule;
	uint64_t h = hash_u32s(sr, nsub, (uint64_t)family);
	if (b->phtn * 2 >= b->phtcap) {
		size_t old = b->phtcap;
		struct part_slot *oldht = b->pht;
		b->phtcap = old ? old * 2 : 64;
		b->pht = xreallocarray(NULL, b->phtcap, sizeof *b->pht);
		for (size_t i = 0; i < b->phtcap; i++)
			b->pht[i].part = TBL_NONE;
		for (size_t i = 0; i < old; i++)
			if (oldht[i].part != TBL_NONE)
				pht_insert(b, oldht[i].hash, oldht[i].part);
		free(oldht);
	}
	for (size_t i = h & (b->phtcap - 1); b->pht[i].part != TBL_NONE; i = (i + 1) & (b->phtcap - 1)) {
		const struct tbl_part *q = &b->parts[b->pht[i].part];
		if (b->pht[i].hash == h && q->family == family && q->nsub == nsub &&
		    !memcmp(b->subrules + q->sub, sr, nsub * sizeof *sr)) {
			b->bytes -= nsub * sizeof(struct tbl_subrule);
			*ret = b->pht[i].part;
			return 0;
		}
	}

	if ((r = charge(b, sizeof(struct tbl_part))) < 0)
		return r;
	struct tbl_part part;
	memset(&part, 0, sizeof part);
	part.family = (uint8_t)family;
	part.nsub = (uint32_t)nsub;
	part.sub = (uint32_t)b->nsubrules;
	part.nwords = (uint32_t)((nsub + 63) / 64);
	part.nsum = (part.nwords + 63) / 64;
	b->nsubrules += nsub;

	xgrow(&b->cur, &b->curcap, part.nwords, sizeof *b->cur);
	xgrow(&b->cursum, &b->sumcap, part.nsum, sizeof *b->cursum);
	xgrow(&b->scratch, &b->scratchcap, (size_t)part.nsum + part.nwords, sizeof *b->scratch);
	xgrow(&b->wild, &b->wildcap, (size_t)part.nsum + part.nwords, sizeof *b->wild);
	for (int d = 0; d < TBL_NDIMS; d++)
		if ((r = build_dim(b, subs, (uint32_t)nsub, d, family, &part)) < 0)
			return r;
	part.allwild = first_allwild(b, &part);

	xgrow(&b->parts, &b->capparts, b->nparts + 1, sizeof *b->parts);
	b->parts[b->nparts] = part;
	*ret = (uint32_t)b->nparts++;
	pht_insert(b, h, *ret);
	b->phtn++;
	return 0;
}

/* ---- the whole table ---- */

static int add_zones(struct build *b, struct tbl_zone *zones)
{
	const struct policy *p = b->p;
	for (uint32_t z = 0; z < p->nzones; z++) {
		const struct policy_zone *pz = &p->zones[z];
		int r;
		if (!pz->name || !*pz->name)
			return fail(b, "zone %u has no name", z);
		if (pz->tier > TIER_INTERNET)
			return fail(b, "zone %s: unknown tier %d", pz->name, (int)pz->tier);
		if (pz->nif && !pz->ifnames)
			return fail(b, "zone %s: %u interfaces but no names", pz->name, pz->nif);
		if ((r = str_intern(b, pz->name, &zones[z].name)) < 0)
			return r;
		zones[z].tier = (uint8_t)pz->tier;
		zones[z].nif = pz->nif;
		zones[z].first_if = (uint32_t)b->nifnames;
		for (uint32_t i = 0; i < pz->nif; i++) {
			const char *n = pz->ifnames[i];
			if (!n || !*n || strlen(n) > TABLE_MAX_IFNAME)
				return fail(b, "zone %s: interface %u has no name or one longer than %d bytes",
					    pz->name, i, TABLE_MAX_IFNAME);
			if ((r = charge(b, sizeof(uint32_t))) < 0)
				return r;
			xgrow(&b->ifnames, &b->capifnames, b->nifnames + 1, sizeof *b->ifnames);
			if ((r = str_intern(b, n, &b->ifnames[b->nifnames])) < 0)
				return r;
			b->nifnames++;
		}
	}
	return 0;
}

static int add_rules(struct build *b, struct tbl_rule *rules, struct tbl_verdict *verdicts)
{
	const struct policy *p = b->p;
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *pr = &p->rules[i];
		struct tbl_rule *tr = &rules[i];
		struct tbl_verdict *tv = &verdicts[i];
		int r;
		if (pr->id == 0)
			return fail(b, "rule %u has id 0 (reserved for the default)", i);
		if (pr->action != ACT_ALLOW && pr->action != ACT_DENY && pr->action != ACT_REJECT)
			return fail(b, "rule %u (id %u): invalid action %d", i, pr->id, (int)pr->action);
		tv->id = pr->id;
		tv->action = (uint8_t)pr->action;
		tv->log = (pr->flags & POLICY_RULE_LOG) ? 1 : 0;
		tr->line = pr->loc.line;
		tr->col = pr->loc.col;
		if ((r = str_intern(b, pr->name, &tr->name)) < 0 || (r = str_intern(b, pr->loc.file, &tr->file)) < 0 ||
		    (r = str_intern(b, pr->description, &tr->description)) < 0 ||
		    (r = str_intern(b, pr->owner, &tr->owner)) < 0 || (r = str_intern(b, pr->ticket, &tr->ticket)) < 0)
			return r;
	}
	return 0;
}

/* Rules of each zone pair (from * nz + to), in first-match order. */
static int pair_lists(struct build *b, uint32_t ***ret_lists, size_t **ret_counts)
{
	const struct policy *p = b->p;
	uint32_t nz = p->nzones;
	uint64_t zmask = nz >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << nz) - 1);
	size_t *cnt = xcalloc((size_t)nz * nz, sizeof *cnt);
	uint32_t **lists = xcalloc((size_t)nz * nz, sizeof *lists);
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < p->nrules; i++) {
			const struct policy_rule *r = &p->rules[i];
			if ((r->from_zones | r->to_zones) & ~zmask) {
				free(cnt);
				for (size_t k = 0; k < (size_t)nz * nz; k++)
					free(lists[k]);
				free(lists);
				return fail(b, "rule %u (id %u) names a zone index beyond the %u zones", i, r->id, nz);
			}
			for (uint64_t f = r->from_zones; f; f &= f - 1)
				for (uint64_t t = r->to_zones; t; t &= t - 1) {
					size_t k = (size_t)__builtin_ctzll(f) * nz + (size_t)__builtin_ctzll(t);
					if (pass == 0)
						cnt[k]++;
					else
						lists[k][cnt[k]++] = i;
				}
		}
		if (pass == 0)
			for (size_t k = 0; k < (size_t)nz * nz; k++) {
				lists[k] = cnt[k] ? xreallocarray(NULL, cnt[k], sizeof **lists) : NULL;
				cnt[k] = 0;
			}
	}
	*ret_lists = lists;
	*ret_counts = cnt;
	return 0;
}

static int sha256_file(const uint8_t *buf, size_t len, uint8_t out[32])
{
	static const uint8_t zero[32];
	size_t at = offsetof(struct tbl_header, file_sha256);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, buf, at) == 1 &&
		EVP_DigestUpdate(ctx, zero, sizeof zero) == 1 &&
		EVP_DigestUpdate(ctx, buf + at + 32, len - at - 32) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 &&
		n == 32;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static void build_free(struct build *b)
{
	free(b->str);
	free(b->strht);
	free(b->ifnames);
	free(b->parts);
	free(b->subrules);
	free(b->b32);
	free(b->b128);
	free(b->t32);
	free(b->t128);
	free(b->vecidx);
	free(b->words);
	free(b->vht);
	free(b->pht);
	free(b->cur);
	free(b->cursum);
	free(b->scratch);
	free(b->wild);
	free(b->levels);
	free(b->ev);
}

int table_build(const struct policy *p, int64_t compile_time, void **ret_buf, size_t *ret_len, char *why, size_t whylen)
{
	struct build b;
	memset(&b, 0, sizeof b);
	b.p = p;
	b.why = why;
	b.whylen = whylen;
	if (why && whylen)
		why[0] = '\0';
	*ret_buf = NULL;
	*ret_len = 0;
	if (!p)
		return fail(&b, "no policy");
	if (p->nzones < 1 || p->nzones > TABLE_MAX_ZONES)
		return fail(&b, "%u zones (must be 1 to %d)", p->nzones, TABLE_MAX_ZONES);
	if (p->nrules > TABLE_MAX_RULES)
		return fail(&b, "%u rules (at most %d)", p->nrules, TABLE_MAX_RULES);
	if (p->nrules && !p->rules)
		return fail(&b, "%u rules but no array", p->nrules);

	uint32_t nz = p->nzones;
	size_t nslots = (size_t)nz * nz * 2;
	struct tbl_header h;
	memset(&h, 0, sizeof h);
	struct tbl_zone *zones = xcalloc(nz, sizeof *zones);
	struct tbl_rule *rules = xcalloc(p->nrules ? p->nrules : 1, sizeof *rules);
	struct tbl_verdict *verdicts = xcalloc(p->nrules ? p->nrules : 1, sizeof *verdicts);
	struct tbl_subrule *subrules = NULL;
	uint8_t *defaults = xcalloc((size_t)nz * nz, 1);
	uint32_t *partindex = xreallocarray(NULL, nslots, sizeof *partindex);
	struct rule_prep *prep = xcalloc(p->nrules ? p->nrules : 1, sizeof *prep);
	uint32_t **lists = NULL;
	size_t *counts = NULL;
	struct psub *subs = NULL;
	size_t subcap = 0;
	uint8_t *out = NULL;
	int r;

	/* the pool starts with the empty string at offset 0 */
	xgrow(&b.str, &b.capstr, 1, 1);
	b.str[0] = '\0';
	b.nstr = 1;
	r = charge(&b,
		   sizeof h + (uint64_t)nz * sizeof *zones + (uint64_t)p->nrules * (sizeof *rules + sizeof *verdicts) +
			   (uint64_t)nz * nz + nslots * sizeof *partindex + 1);
	if (r < 0)
		goto out;
	if ((r = str_intern(&b, p->name, &h.policy_name)) < 0 ||
	    (r = str_intern(&b, p->version, &h.policy_version)) < 0 || (r = add_zones(&b, zones)) < 0 ||
	    (r = add_rules(&b, rules, verdicts)) < 0)
		goto out;
	for (uint32_t f = 0; f < nz; f++)
		for (uint32_t t = 0; t < nz; t++) {
			uint8_t a = p->default_action[f][t];
			if (a != ACT_NONE && a != ACT_DENY && a != ACT_REJECT) {
				r = fail(&b, "default %s -> %s is neither deny nor reject", p->zones[f].name,
					 p->zones[t].name);
				goto out;
			}
			defaults[f * nz + t] = (uint8_t)policy_default_action(p, f, t);
		}
	for (uint32_t i = 0; i < p->nrules; i++)
		if ((r = prep_rule(&b, i, &prep[i])) < 0)
			goto out;
	if ((r = pair_lists(&b, &lists, &counts)) < 0)
		goto out;
	for (size_t k = 0; k < (size_t)nz * nz; k++)
		for (int fi = 0; fi < 2; fi++) {
			r = build_partition(&b, prep, lists[k], counts[k], fi ? 6 : 4, &subs, &subcap,
					    &partindex[k * 2 + (size_t)fi]);
			if (r < 0) {
				if (r == -E2BIG && why && whylen) {
					char tmp[256];
					snprintf(tmp, sizeof tmp, "%s", why);
					snprintf(why, whylen, "%s -> %s (IPv%d): %s", p->zones[k / nz].name,
						 p->zones[k % nz].name, fi ? 6 : 4, tmp);
				}
				goto out;
			}
		}

	/* the pool ends with a zero word: the lookup may read the word after
	 * any vector (see table.c) */
	if ((r = charge(&b, sizeof(uint64_t))) < 0)
		goto out;
	xgrow(&b.words, &b.capwords, b.nwords + 1, sizeof *b.words);
	b.words[b.nwords++] = 0;

	/* sub-rules carry their rule's verdict */
	subrules = xcalloc(b.nsubrules ? b.nsubrules : 1, sizeof *subrules);
	for (size_t i = 0; i < b.nsubrules; i++) {
		subrules[i].rule = b.subrules[i];
		subrules[i].id = verdicts[b.subrules[i]].id;
		subrules[i].action = verdicts[b.subrules[i]].action;
		subrules[i].log = verdicts[b.subrules[i]].log;
	}

	/* lay out the sections */
	const struct {
		const void *data;
		uint64_t size;
	} sec[TBL_NSECTIONS] = {
		[TBL_SEC_STRINGS] = {b.str, b.nstr},
		[TBL_SEC_ZONES] = {zones, (uint64_t)nz * sizeof *zones},
		[TBL_SEC_IFNAMES] = {b.ifnames, (uint64_t)b.nifnames * sizeof *b.ifnames},
		[TBL_SEC_DEFAULTS] = {defaults, (uint64_t)nz * nz},
		[TBL_SEC_RULES] = {rules, (uint64_t)p->nrules * sizeof *rules},
		[TBL_SEC_VERDICTS] = {verdicts, (uint64_t)p->nrules * sizeof *verdicts},
		[TBL_SEC_PARTINDEX] = {partindex, nslots * sizeof *partindex},
		[TBL_SEC_PARTS] = {b.parts, (uint64_t)b.nparts * sizeof *b.parts},
		[TBL_SEC_SUBRULES] = {subrules, (uint64_t)b.nsubrules * sizeof *subrules},
		[TBL_SEC_BOUNDS32] = {b.b32, (uint64_t)b.nb32 * sizeof *b.b32},
		[TBL_SEC_BOUNDS128] = {b.b128, (uint64_t)b.nb128 * sizeof *b.b128},
		[TBL_SEC_TREE32] = {b.t32, (uint64_t)b.nt32 * sizeof *b.t32},
		[TBL_SEC_TREE128] = {b.t128, (uint64_t)b.nt128 * sizeof *b.t128},
		[TBL_SEC_VECIDX] = {b.vecidx, (uint64_t)b.nvecidx * sizeof *b.vecidx},
		[TBL_SEC_WORDS] = {b.words, (uint64_t)b.nwords * sizeof *b.words},
	};
	uint64_t off = sizeof h;
	for (int s = 0; s < TBL_NSECTIONS; s++) {
		/* search nodes and vectors start on cache lines */
		uint64_t align = s >= TBL_SEC_BOUNDS32 ? 64 : TBL_ALIGN;
		off = (off + align - 1) & ~(align - 1);
		if (sec[s].size > TBL_MAX_BYTES || off + sec[s].size > TBL_MAX_BYTES) {
			r = charge(&b, TBL_MAX_BYTES + 1);
			goto out;
		}
		h.sec[s].offset = off;
		h.sec[s].size = sec[s].size;
		off += sec[s].size;
	}
	off = (off + TBL_ALIGN - 1) & ~(uint64_t)(TBL_ALIGN - 1);

	memcpy(h.magic, TBL_MAGIC, TBL_MAGIC_LEN);
	h.format_version = TBL_FORMAT_VERSION;
	h.header_size = sizeof h;
	h.file_size = off;
	memcpy(h.policy_sha256, p->sha256, sizeof h.policy_sha256);
	h.compile_time = compile_time;
	h.nzones = nz;
	h.nrules = p->nrules;
	h.npartitions = (uint32_t)b.nparts;
	h.nsubrules = (uint32_t)b.nsubrules;
	h.nsections = TBL_NSECTIONS;

	out = calloc(1, (size_t)off);
	if (!out) {
		r = fail(&b, "out of memory for %llu bytes", (unsigned long long)off);
		r = -ENOMEM;
		goto out;
	}
	memcpy(out, &h, sizeof h);
	for (int s = 0; s < TBL_NSECTIONS; s++)
		if (sec[s].size)
			memcpy(out + h.sec[s].offset, sec[s].data, (size_t)sec[s].size);
	if (sha256_file(out, (size_t)off, out + offsetof(struct tbl_header, file_sha256)) < 0) {
		r = fail(&b, "SHA-256 failed");
		r = -EIO;
		goto out;
	}
	*ret_buf = out;
	*ret_len = (size_t)off;
	out = NULL;
	r = 0;
out:
	free(out);
	free(subs);
	if (lists)
		for (size_t k = 0; k < (size_t)nz * nz; k++)
			free(lists[k]);
	free(lists);
	free(counts);
	for (uint32_t i = 0; i < p->nrules; i++)
		prep_free(&prep[i]);
	free(prep);
	free(zones);
	free(rules);
	free(verdicts);
	free(subrules);
	free(defaults);
	free(partindex);
	build_free(&b);
	return r;
}
