/* table: load, validate and query a compiled rule table (format in
 * rules/table_format.h; built by table_build.c), and the rest of the
 * runtime contract of table.h: packet keys and action names.
 *
 * Contract.  table_open maps a file read-only (MAP_PRIVATE);
 * table_open_buffer uses caller memory (copied only when it is not 8-byte
 * aligned).  Either way the bytes are hostile until proven otherwise: size,
 * magic, version, checksum, then every section, count, offset, index and
 * string are checked before the table is handed out, with 64-bit arithmetic
 * that cannot overflow (the file is at most 1 GiB).  A bad file is refused
 * with -EBADMSG and a precise reason in why; nothing here crashes or reads
 * outside the file on any input.  After a successful open the table is
 * immutable, so lookups need no locks, and table_lookup never allocates.
 * The caller must not truncate a mapped file in place (the compiler
 * replaces tables atomically with rename).
 *
 * Classifier design.
 *   Partitions.  Rules are split by (from zone, to zone, family): the
 *   lookup indexes PARTINDEX directly with the packet's zones and family,
 *   so only rules that can apply are ever considered.  Pairs whose rule
 *   lists are identical share one partition.
 *
 *   Sub-rules.  Within a partition every rule becomes one sub-rule per
 *   distinct source-port range among its services (services with equal
 *   sport ranges are grouped and their key intervals merged; nearly always
 *   one sub-rule per rule), kept in first-match order.  A sub-rule is a
 *   product of interval sets over four dimensions: src, dst, key
 *   (proto << 16 | dport, or ICMP type/code) and sport, so "does the rule
 *   match" becomes "does some sub-rule contain the point in all four".
 *
 *   Bit-vector intersection (Lakshman & Stiliadis).  Per dimension the
 *   endpoints of all sub-rules cut the axis into elementary intervals; each
 *   interval has a bit vector, bit s = sub-rule s covers it.  A lookup
 *   finds the packet's interval in each dimension (32-bit keys for IPv4
 *   partitions, 128-bit keys as two u64 for IPv6), ANDs the four vectors,
 *   and the lowest set bit is the first matching sub-rule, hence the first
 *   matching rule.
 *
 *   Search.  The interval bounds of a dimension carry a static 16-ary
 *   search tree (every 16th bound, recursively): one 16-key node (a cache
 *   line for 32-bit keys) per level, its keys counted against the packet's
 *   value with four SSE2 compares, so about 1000 bounds take 3 node reads
 *   instead of 10 dependent binary-search steps.  The searches of the four
 *   dimensions advance level by level together, so that their memory
 *   accesses overlap.
 *
 *   Wildcards.  Sub-rules covering a whole dimension ("any") would set
 *   their bit in every interval vector of it and make them dense.  They are
 *   kept out: each dimension has one dense wildcard vector W, each interval
 *   a sparse vector V, and the dimension's vector is V | W.  Intervals whose
 *   V | W holds every sub-rule (sport >= 1024 when only some rules restrict
 *   sport) are flagged, and the lookup leaves such a dimension out.
 *
 *   Aggregated bit vectors (Baboescu & Varghese).  Each vector carries one
 *   summary bit per 64-bit data word (set iff the word is non-zero); V is
 *   stored compressed (only its non-zero words, located by the popcount of
 *   the summary bits below), W dense.  The lookup ANDs the summaries and
 *   then ANDs data words only for the surviving words, in increasing order,
 *   stopping at the first non-zero AND.  It narrows them further: a match
 *   is either a wildcard in every dimension (the first such sub-rule,
 *   "allwild", is precomputed) or in some dimension's V, so only words
 *   named by some V summary, and allwild's word, are candidates, and none
 *   after allwild's word.  Identical vectors are stored once.
 *
 *   Skipped dimensions.  When every sub-rule of a partition covers a whole
 *   dimension (sport almost always, often key or src), the dimension has no
 *   bounds and the lookup does not search it at all.
 *
 *   The common case, a partition of at most 4096 sub-rules (one summary
 *   word), runs a path with the four dimensions unrolled in registers and
 *   no branches on the partition's shape in its vector phase; larger
 *   partitions run a general loop over summary words.  Both are compiled
 *   with and without POPCNT, chosen at open.
 *
 *   Descriptors.  At open, for every partition of the common case whose
 *   trees have at most four levels (up to 65,536 bounds per dimension), the
 *   loader derives from the validated file a descriptor in memory (struct
 *   fpart, about 300 bytes): per dimension the start and last index of
 *   each tree level, the vector indexes and the wildcard vector.  The fast
 *   path reads it instead of recomputing the tree's shape from the
 *   partition header on every lookup (21 % fewer instructions per lookup
 *   at 10,000 rules).  Key and sport nodes, whose keys and values are below
 *   2^31, are searched with signed compares and no bias.
 *
 *   Memory latency.  Past a few thousand rules the table outgrows L2, and
 *   a lookup is a chain of dependent loads: tree levels, leaf, vector
 *   index, vector, sub-rule.  The fast path shortens it by prefetching:
 *   the leaf's 16 vector indexes as soon as the leaf is known (in parallel
 *   with the leaf search), and the line after each vector's summary (its
 *   later data words) as soon as the vector is known (4 to 12 % at 10,000
 *   rules).  Tried and measured no better, so not kept: AVX2/AVX-512 node
 *   searches (latency, not instruction count, bounds the search), a
 *   branch-free fixed number of tree levels, and reordering sub-rules into
 *   blocks by wildcard pattern (fewer candidate words, but the per-block
 *   first matches must be compared by rule index, which costs as much).
 *
 *   Memory is O(sum over dimensions of intervals x compressed vector size),
 *   bounded at build time by the 1 GiB cap. */
#include "rules/table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "rules/table_format.h"

#if defined(__x86_64__) || defined(__i386__)
#define TBL_HAVE_POPCNT_CLONE 1 /* part_match built with and without POPCNT */
#endif

/* Levels of a search tree (the bounds included) that the fast path keeps
 * in a partition's descriptor: runs of up to 16^4 = 65,536 bounds. */
#define FAST_LEVELS 4

/* One dimension of a fast-path descriptor (struct fpart), derived at open
 * from the validated file so that a lookup reads ready pointers instead of
 * recomputing the tree's shape: level j of the search tree starts at lvl[j]
 * (level 0: the bounds run; uint32_t keys, or struct tbl_bound128 for the
 * address dimensions of an IPv6 partition) and its last valid index is
 * last[j].  A skipped dimension is a one-key stand-in run with no vector
 * index (vix NULL) and a full wildcard vector. */
struct fdim {
	const void *lvl[FAST_LEVELS];
	uint32_t last[FAST_LEVELS];
	const uint32_t *vix; /* the run's vector indexes, or NULL */
	const uint64_t *w;   /* the wildcard vector */
	uint32_t top;        /* levels above the bounds */
};

/* The fast-path descriptor of a partition of at most 4096 sub-rules (one
 * summary word) whose trees have at most FAST_LEVELS levels; other
 * partitions (fast false) take the general path.  Dimensions are in
 * search order (dst, src, key, sport). */
struct fpart {
	bool fast;
	bool wide;      /* IPv6: 128-bit src and dst */
	uint8_t maxtop; /* the deepest dimension's top */
	uint32_t sub;   /* first sub-rule (every partition: the lookup's result) */
	uint32_t nsub;
	uint32_t allwild;
	struct fdim d[TBL_NDIMS];
};

struct table {
	/* the classifier, chosen for the CPU at open */
	uint32_t (*match)(const struct table *t, uint32_t pi, const struct table_query *q);
	struct fpart *fast; /* nparts descriptors, malloc'd at open */
	const uint8_t *base;
	size_t len;
	void *map;  /* munmap on close, or NULL */
	void *copy; /* free on close, or NULL */

	struct tbl_header h;
	const char *str;
	uint32_t nstr;
	const struct tbl_zone *zones;
	uint32_t nzones;
	const uint32_t *ifnames;
	uint32_t nifnames;
	const uint8_t *defaults;
	const struct tbl_rule *rules;
	const struct tbl_verdict *verdicts;
	uint32_t nrules;
	const uint32_t *partindex;
	const struct tbl_part *parts;
	uint32_t nparts;
	const struct tbl_subrule *subrules;
	uint32_t nsubrules;
	const uint32_t *b32;
	uint32_t nb32;
	const struct tbl_bound128 *b128;
	uint32_t nb128;
	const uint32_t *t32;
	uint32_t nt32;
	const struct tbl_bound128 *t128;
	uint32_t nt128;
	const uint32_t *vecidx;
	uint32_t nvecidx;
	const uint64_t *words;
	uint32_t nwords;
};

static const char *const section_names[TBL_NSECTIONS] = {
	[TBL_SEC_STRINGS] = "strings",     [TBL_SEC_ZONES] = "zones",         [TBL_SEC_IFNAMES] = "ifnames",
	[TBL_SEC_DEFAULTS] = "defaults",   [TBL_SEC_RULES] = "rules",         [TBL_SEC_VERDICTS] = "verdicts",
	[TBL_SEC_PARTINDEX] = "partindex", [TBL_SEC_PARTS] = "partitions",    [TBL_SEC_SUBRULES] = "subrules",
	[TBL_SEC_BOUNDS32] = "bounds32",   [TBL_SEC_BOUNDS128] = "bounds128", [TBL_SEC_TREE32] = "tree32",
	[TBL_SEC_TREE128] = "tree128",     [TBL_SEC_VECIDX] = "vecidx",       [TBL_SEC_WORDS] = "words",
};

static const char *const dim_names[TBL_NDIMS] = {"src", "dst", "key", "sport"};

__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static inline unsigned popc64(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

/* ---- validation ---- */

static int check_sha256(const uint8_t *buf, size_t len, const uint8_t want[32], char *why, size_t whylen)
{
	static const uint8_t zero[32];
	uint8_t got[32];
	size_t at = offsetof(struct tbl_header, file_sha256);
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, buf, at) == 1 &&
		EVP_DigestUpdate(ctx, zero, sizeof zero) == 1 &&
		EVP_DigestUpdate(ctx, buf + at + 32, len - at - 32) == 1 && EVP_DigestFinal_ex(ctx, got, &n) == 1 &&
		n == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		if (why && whylen)
			snprintf(why, whylen, "cannot compute SHA-256");
		return -EIO;
	}
	if (memcmp(got, want, 32) != 0) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
		/* fuzzing only: let mutated files reach the deeper checks */
		return 0;
#else
		return bad(why, whylen, "checksum mismatch: the file is corrupted or was modified");
#endif
	}
	return 0;
}

/* A string reference: inside the pool (the pool ends in NUL, so every
 * offset inside it starts a NUL-terminated string). */
static bool str_ok(const struct table *t, uint32_t off)
{
	return off < t->nstr;
}

static int check_sections(struct table *t, char *why, size_t whylen)
{
	const struct tbl_header *h = &t->h;
	uint64_t end = h->header_size;
	for (int s = 0; s < TBL_NSECTIONS; s++) {
		uint64_t off = h->sec[s].offset, size = h->sec[s].size;
		const char *n = section_names[s];
		if (off % TBL_ALIGN)
			return bad(why, whylen, "section %s: offset %llu not %u-byte aligned", n,
				   (unsigned long long)off, TBL_ALIGN);
		if (off < end)
			return bad(why, whylen, "section %s: offset %llu overlaps the %s (which ends at %llu)", n,
				   (unsigned long long)off, s ? section_names[s - 1] : "header",
				   (unsigned long long)end);
		if (off > t->len || size > t->len - off)
			return bad(why, whylen, "section %s: offset %llu + size %llu outside the file (size %zu)", n,
				   (unsigned long long)off, (unsigned long long)size, t->len);
		end = off + size;
	}
	return 0;
}

/* Section s must hold exactly count elements of elsize bytes (count given),
 * or a whole number of them (count NULL: returned through ret_count). */
static int check_elems(const struct table *t, int s, size_t elsize, uint64_t want, bool fixed, uint32_t *ret_count,
		       char *why, size_t whylen)
{
	uint64_t size = t->h.sec[s].size;
	if (size % elsize)
		return bad(why, whylen, "section %s: size %llu is not a multiple of %zu", section_names[s],
			   (unsigned long long)size, elsize);
	if (fixed && size / elsize != want)
		return bad(why, whylen, "section %s: holds %llu entries, header says %llu", section_names[s],
			   (unsigned long long)(size / elsize), (unsigned long long)want);
	if (size / elsize > UINT32_MAX)
		return bad(why, whylen, "section %s: too many entries", section_names[s]);
	if (ret_count)
		*ret_count = (uint32_t)(size / elsize);
	return 0;
}

static int check_vector(const struct table *t, const struct tbl_part *p, uint32_t off, uint32_t pi, int d, uint32_t iv,
			char *why, size_t whylen)
{
	uint64_t nsum = p->nsum;
	if ((uint64_t)off + nsum > t->nwords)
		return bad(why, whylen, "partition %u %s interval %u: vector at word %u outside the pool (%u words)",
			   pi, dim_names[d], iv, off, t->nwords);
	const uint64_t *v = t->words + off;
	uint64_t bits = 0;
	for (uint64_t k = 0; k < nsum; k++)
		bits += popc64(v[k]);
	/* summary bits past nwords must be clear */
	unsigned used = p->nwords - (uint32_t)(nsum - 1) * 64; /* 1..64 */
	if (used < 64 && (v[nsum - 1] >> used))
		return bad(why, whylen, "partition %u %s interval %u: summary marks words past the %u of the vector",
			   pi, dim_names[d], iv, p->nwords);
	/* one more word must follow: the lookup may read it (and ignore it) */
	if ((uint64_t)off + nsum + bits >= t->nwords)
		return bad(why, whylen,
			   "partition %u %s interval %u: vector at word %u (%llu words) outside the pool "
			   "(%u words)",
			   pi, dim_names[d], iv, off, (unsigned long long)(nsum + bits), t->nwords);
	/* the last data word may not name sub-rules past nsub */
	unsigned tail = p->nsub % 64;
	if (tail && used && (v[nsum - 1] >> (used - 1) & 1) && (v[nsum + bits - 1] >> tail))
		return bad(why, whylen,
			   "partition %u %s interval %u: vector names sub-rules past the %u of the "
			   "partition",
			   pi, dim_names[d], iv, p->nsub);
	return 0;
}

/* The dense wildcard vector of a dimension: summary, then every data word;
 * the summary must describe the data exactly. */
static int check_wild(const struct table *t, const struct tbl_part *p, uint32_t off, uint32_t pi, int d, char *why,
		      size_t whylen)
{
	uint64_t nsum = p->nsum, nwords = p->nwords;
	if ((uint64_t)off + nsum + nwords > t->nwords)
		return bad(why, whylen, "partition %u %s: wildcard vector at word %u outside the pool (%u words)", pi,
			   dim_names[d], off, t->nwords);
	const uint64_t *v = t->words + off;
	for (uint64_t w = 0; w < nwords; w++)
		if (((v[w >> 6] >> (w & 63)) & 1) != (v[nsum + w] != 0))
			return bad(why, whylen, "partition %u %s: wildcard summary does not match word %llu", pi,
				   dim_names[d], (unsigned long long)w);
	unsigned used = (unsigned)(nwords - (nsum - 1) * 64);
	if (used < 64 && (v[nsum - 1] >> used))
		return bad(why, whylen, "partition %u %s: wildcard summary marks words past the %u of the vector", pi,
			   dim_names[d], p->nwords);
	unsigned tail = p->nsub % 64;
	if (tail && (v[nsum + nwords - 1] >> tail))
		return bad(why, whylen, "partition %u %s: wildcard vector names sub-rules past the %u of the partition",
			   pi, dim_names[d], p->nsub);
	return 0;
}

/* Entries per level of the search tree over a run of n bounds; returns the
 * number of levels above the bounds (0: none). */
static unsigned tree_levels(uint32_t n, uint32_t lens[TBL_MAX_LEVELS + 1])
{
	unsigned top = 0;
	lens[0] = n;
	while (lens[top] > TBL_NODE && top < TBL_MAX_LEVELS) {
		lens[top + 1] = (lens[top] + TBL_NODE - 1) / TBL_NODE;
		top++;
	}
	return top;
}

static uint64_t pad_node(uint64_t n)
{
	return (n + TBL_NODE - 1) / TBL_NODE * TBL_NODE;
}

/* x <= y for 128-bit bounds */
static bool b128_le(const struct tbl_bound128 *x, const struct tbl_bound128 *y)
{
	return x->hi < y->hi || (x->hi == y->hi && x->lo <= y->lo);
}

static int check_dim(const struct table *t, const struct tbl_part *p, uint32_t pi, int d, char *why, size_t whylen)
{
	const struct tbl_dim *dm = &p->dim[d];
	const char *dn = dim_names[d];
	if (dm->reserved)
		return bad(why, whylen, "partition %u %s: reserved field not zero", pi, dn);
	if (!dm->nbounds) {
		if (dm->bounds || dm->tree || dm->vecidx || dm->wild)
			return bad(why, whylen, "partition %u %s: skipped dimension with fields set", pi, dn);
		return 0;
	}
	bool wide = d <= TBL_DIM_DST && p->family == 6;
	uint32_t n = dm->nbounds;
	uint32_t have = wide ? t->nb128 : t->nb32, thave = wide ? t->nt128 : t->nt32;
	if ((uint64_t)dm->bounds + pad_node(n) > have)
		return bad(why, whylen, "partition %u %s: bounds %u + %u outside %s (%u entries)", pi, dn, dm->bounds,
			   n, wide ? "bounds128" : "bounds32", have);
	if ((uint64_t)dm->vecidx + n > t->nvecidx)
		return bad(why, whylen, "partition %u %s: vector index %u + %u outside vecidx (%u entries)", pi, dn,
			   dm->vecidx, n, t->nvecidx);
	uint32_t lens[TBL_MAX_LEVELS + 1];
	unsigned top = tree_levels(n, lens);
	if (lens[top] > TBL_NODE)
		return bad(why, whylen, "partition %u %s: %u bounds need too many tree levels", pi, dn, n);
	uint64_t tsize = 0;
	for (unsigned j = 1; j <= top; j++)
		tsize += pad_node(lens[j]);
	if (!top && dm->tree)
		return bad(why, whylen, "partition %u %s: tree %u for a single node", pi, dn, dm->tree);
	if ((uint64_t)dm->tree + tsize > thave)
		return bad(why, whylen, "partition %u %s: tree %u + %llu outside %s (%u entries)", pi, dn, dm->tree,
			   (unsigned long long)tsize, wide ? "tree128" : "tree32", thave);

	/* bounds: 0 first, strictly increasing, inside the dimension, padded */
	uint64_t max = d == TBL_DIM_KEY ? SVC_KEY_MAX : d == TBL_DIM_SPORT ? 65535 : UINT32_MAX;
	uint64_t padded = pad_node(n);
	if (wide) {
		const struct tbl_bound128 *b = t->b128 + dm->bounds;
		if (b[0].hi || b[0].lo)
			return bad(why, whylen, "partition %u %s: first bound is not 0", pi, dn);
		for (uint32_t i = 1; i < n; i++)
			if (b128_le(&b[i], &b[i - 1]))
				return bad(why, whylen, "partition %u %s: bound %u not above the previous one", pi, dn,
					   i);
		for (uint64_t i = n; i < padded; i++)
			if (~b[i].hi || ~b[i].lo)
				return bad(why, whylen, "partition %u %s: padding bound %llu is not the maximum", pi,
					   dn, (unsigned long long)i);
	} else {
		const uint32_t *b = t->b32 + dm->bounds;
		if (b[0])
			return bad(why, whylen, "partition %u %s: first bound is not 0", pi, dn);
		for (uint32_t i = 1; i < n; i++) {
			if (b[i] <= b[i - 1])
				return bad(why, whylen, "partition %u %s: bound %u not above the previous one", pi, dn,
					   i);
			if (b[i] > max)
				return bad(why, whylen,
					   "partition %u %s: bound %u (%u) outside the dimension (max %llu)", pi, dn, i,
					   b[i], (unsigned long long)max);
		}
		for (uint64_t i = n; i < padded; i++)
			if (b[i] != UINT32_MAX)
				return bad(why, whylen, "partition %u %s: padding bound %llu is not the maximum", pi,
					   dn, (unsigned long long)i);
	}

	/* tree levels, stored top first: entry k of level j is entry
	 * k * TBL_NODE of level j - 1 */
	uint64_t at = dm->tree + tsize; /* end of level 1 */
	uint64_t below_at = dm->bounds; /* start of level j - 1 */
	bool below_is_bounds = true;
	for (unsigned j = 1; j <= top; j++) {
		uint64_t lvl = at - pad_node(lens[j]);
		for (uint64_t k = 0; k < pad_node(lens[j]); k++) {
			bool ok;
			if (wide) {
				const struct tbl_bound128 *e = &t->t128[lvl + k];
				if (k >= lens[j]) {
					ok = !~e->hi && !~e->lo;
				} else {
					const struct tbl_bound128 *src = below_is_bounds
						? &t->b128[below_at + k * TBL_NODE]
						: &t->t128[below_at + k * TBL_NODE];
					ok = e->hi == src->hi && e->lo == src->lo;
				}
			} else {
				uint32_t e = t->t32[lvl + k];
				if (k >= lens[j])
					ok = e == UINT32_MAX;
				else
					ok = e ==
						(below_is_bounds ? t->b32[below_at + k * TBL_NODE]
								 : t->t32[below_at + k * TBL_NODE]);
			}
			if (!ok)
				return bad(why, whylen,
					   "partition %u %s: tree level %u entry %llu does not match the "
					   "level below",
					   pi, dn, j, (unsigned long long)k);
		}
		below_at = lvl;
		below_is_bounds = false;
		at = lvl;
	}

	int r = check_wild(t, p, dm->wild, pi, d, why, whylen);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < n; i++)
		if ((r = check_vector(t, p, t->vecidx[dm->vecidx + i] & TBL_VEC_INDEX, pi, d, i, why, whylen)) < 0)
			return r;
	return 0;
}

static int check_parts(const struct table *t, char *why, size_t whylen)
{
	for (uint32_t pi = 0; pi < t->nparts; pi++) {
		const struct tbl_part *p = &t->parts[pi];
		if (p->family != 4 && p->family != 6)
			return bad(why, whylen, "partition %u: family %u is neither 4 nor 6", pi, p->family);
		if (p->reserved[0] || p->reserved[1] || p->reserved[2])
			return bad(why, whylen, "partition %u: reserved field not zero", pi);
		if (!p->nsub)
			return bad(why, whylen, "partition %u: no sub-rules", pi);
		if ((uint64_t)p->sub + p->nsub > t->nsubrules)
			return bad(why, whylen, "partition %u: sub-rules %u + %u outside subrules (%u entries)", pi,
				   p->sub, p->nsub, t->nsubrules);
		uint64_t nw = ((uint64_t)p->nsub + 63) / 64, ns = (nw + 63) / 64;
		if (p->nwords != nw || p->nsum != ns)
			return bad(why, whylen, "partition %u: %u words / %u summary words do not fit %u sub-rules", pi,
				   p->nwords, p->nsum, p->nsub);
		for (uint32_t s = 0; s < p->nsub; s++) {
			uint32_t ri = t->subrules[p->sub + s].rule;
			if (ri >= t->nrules)
				return bad(why, whylen, "partition %u: sub-rule %u names rule %u of %u", pi, s, ri,
					   t->nrules);
			if (s && ri < t->subrules[p->sub + s - 1].rule)
				return bad(why, whylen, "partition %u: sub-rule %u out of first-match order", pi, s);
		}
		for (uint32_t s = 0; s < p->nsub; s++) {
			const struct tbl_subrule *sr = &t->subrules[p->sub + s];
			const struct tbl_verdict *v = &t->verdicts[sr->rule];
			if (sr->id != v->id || sr->action != v->action || sr->log != v->log || sr->reserved[0] ||
			    sr->reserved[1])
				return bad(why, whylen,
					   "partition %u: sub-rule %u does not carry the verdict of rule %u", pi, s,
					   sr->rule);
		}
		for (int d = 0; d < TBL_NDIMS; d++) {
			int r = check_dim(t, p, pi, d, why, whylen);
			if (r < 0)
				return r;
		}
		/* the lookup stops at allwild: it must be exactly the first
		 * sub-rule that every wildcard vector holds */
		uint32_t aw = TBL_NONE;
		for (uint32_t k = 0; k < p->nwords && aw == TBL_NONE; k++) {
			uint64_t x = ~(uint64_t)0;
			for (int d = 0; d < TBL_NDIMS; d++)
				if (p->dim[d].nbounds)
					x &= t->words[p->dim[d].wild + p->nsum + k];
			if (k == p->nwords - 1 && p->nsub % 64)
				x &= ((uint64_t)1 << (p->nsub % 64)) - 1;
			if (x)
				aw = k * 64 + (uint32_t)__builtin_ctzll(x);
		}
		if (p->allwild != aw)
			return bad(why, whylen, "partition %u: allwild %u, the wildcard vectors say %u", pi, p->allwild,
				   aw);
	}
	return 0;
}

static int check_tables(const struct table *t, char *why, size_t whylen)
{
	const struct tbl_header *h = &t->h;
	if (!t->nstr || t->str[0] != '\0')
		return bad(why, whylen, "string pool does not start with the empty string");
	if (t->str[t->nstr - 1] != '\0')
		return bad(why, whylen, "string pool (size %u) does not end with NUL", t->nstr);
	if (!str_ok(t, h->policy_name))
		return bad(why, whylen, "policy name offset %u outside string pool (size %u)", h->policy_name, t->nstr);
	if (!str_ok(t, h->policy_version))
		return bad(why, whylen, "policy version offset %u outside string pool (size %u)", h->policy_version,
			   t->nstr);
	for (uint32_t i = 0; i < t->nifnames; i++) {
		uint32_t o = t->ifnames[i];
		if (!str_ok(t, o))
			return bad(why, whylen, "interface name %u: offset %u outside string pool (size %u)", i, o,
				   t->nstr);
		size_t n = strlen(t->str + o);
		if (!n || n > TABLE_MAX_IFNAME)
			return bad(why, whylen, "interface name %u: length %zu (must be 1 to %d)", i, n,
				   TABLE_MAX_IFNAME);
	}
	for (uint32_t z = 0; z < t->nzones; z++) {
		const struct tbl_zone *zn = &t->zones[z];
		if (!str_ok(t, zn->name))
			return bad(why, whylen, "zone %u: name offset %u outside string pool (size %u)", z, zn->name,
				   t->nstr);
		if (!t->str[zn->name])
			return bad(why, whylen, "zone %u: empty name", z);
		if (zn->tier > TIER_INTERNET)
			return bad(why, whylen, "zone %u: unknown tier %u", z, zn->tier);
		if (zn->reserved[0] || zn->reserved[1] || zn->reserved[2])
			return bad(why, whylen, "zone %u: reserved field not zero", z);
		if ((uint64_t)zn->first_if + zn->nif > t->nifnames)
			return bad(why, whylen, "zone %u: interfaces %u + %u outside ifnames (%u entries)", z,
				   zn->first_if, zn->nif, t->nifnames);
	}
	for (uint64_t i = 0; i < (uint64_t)t->nzones * t->nzones; i++)
		if (t->defaults[i] != ACT_DENY && t->defaults[i] != ACT_REJECT)
			return bad(why, whylen, "default %llu -> %llu: action %u is neither deny nor reject",
				   (unsigned long long)(i / t->nzones), (unsigned long long)(i % t->nzones),
				   t->defaults[i]);
	for (uint32_t i = 0; i < t->nrules; i++) {
		const struct tbl_rule *r = &t->rules[i];
		static const struct {
			const char *name;
			size_t off;
		} strs[] = {
			{"name", offsetof(struct tbl_rule, name)},
			{"file", offsetof(struct tbl_rule, file)},
			{"description", offsetof(struct tbl_rule, description)},
			{"owner", offsetof(struct tbl_rule, owner)},
			{"ticket", offsetof(struct tbl_rule, ticket)},
		};
		const struct tbl_verdict *v = &t->verdicts[i];
		if (!v->id)
			return bad(why, whylen, "rule %u: id 0", i);
		if (v->action != ACT_ALLOW && v->action != ACT_DENY && v->action != ACT_REJECT)
			return bad(why, whylen, "rule %u: invalid action %u", i, v->action);
		if (v->log > 1)
			return bad(why, whylen, "rule %u: log flag %u is neither 0 nor 1", i, v->log);
		if (v->reserved[0] || v->reserved[1] || r->reserved)
			return bad(why, whylen, "rule %u: reserved field not zero", i);
		for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
			uint32_t o;
			memcpy(&o, (const char *)r + strs[k].off, sizeof o);
			if (!str_ok(t, o))
				return bad(why, whylen, "rule %u: %s offset %u outside string pool (size %u)", i,
					   strs[k].name, o, t->nstr);
		}
	}
	int r = check_parts(t, why, whylen);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < t->nzones * t->nzones * 2; i++) {
		uint32_t pi = t->partindex[i];
		if (pi == TBL_NONE)
			continue;
		if (pi >= t->nparts)
			return bad(why, whylen, "partition index %u -> %u (IPv%d): partition %u of %u",
				   i / 2 / t->nzones, i / 2 % t->nzones, i % 2 ? 6 : 4, pi, t->nparts);
		if (t->parts[pi].family != (i % 2 ? 6 : 4))
			return bad(why, whylen, "partition index %u -> %u (IPv%d): partition %u is for IPv%u",
				   i / 2 / t->nzones, i / 2 % t->nzones, i % 2 ? 6 : 4, pi, t->parts[pi].family);
	}
	return 0;
}

static int validate(struct table *t, char *why, size_t whylen)
{
	const uint8_t *b = t->base;
	size_t len = t->len;
	int r;

	if (len < TBL_MAGIC_LEN || memcmp(b, TBL_MAGIC, TBL_MAGIC_LEN) != 0) {
		if (len < TBL_MAGIC_LEN)
			return bad(why, whylen, "file is %zu bytes: too short to be a compiled table", len);
		return bad(why, whylen, "bad magic: not a sekisho compiled table");
	}
	if (len < sizeof(struct tbl_header))
		return bad(why, whylen, "truncated: file is %zu bytes, shorter than the %zu-byte header", len,
			   sizeof(struct tbl_header));
	memcpy(&t->h, b, sizeof t->h);
	const struct tbl_header *h = &t->h;
	if (h->format_version != TBL_FORMAT_VERSION)
		return bad(why, whylen, "format version %u not supported (this reader knows %u)", h->format_version,
			   TBL_FORMAT_VERSION);
	if (h->header_size != sizeof(struct tbl_header))
		return bad(why, whylen, "header size %u, expected %zu", h->header_size, sizeof(struct tbl_header));
	if (h->file_size != len)
		return bad(why, whylen, "truncated or extended: header says %llu bytes, file is %zu",
			   (unsigned long long)h->file_size, len);
	if (len > TBL_MAX_BYTES)
		return bad(why, whylen, "file is %zu bytes, over the 1 GiB limit", len);
	if ((r = check_sha256(b, len, h->file_sha256, why, whylen)) < 0)
		return r;
	if (h->nsections != TBL_NSECTIONS)
		return bad(why, whylen, "%u sections, expected %d", h->nsections, TBL_NSECTIONS);
	if (h->flags)
		return bad(why, whylen, "unknown flags 0x%x", h->flags);
	if (h->nzones < 1 || h->nzones > TABLE_MAX_ZONES)
		return bad(why, whylen, "%u zones (must be 1 to %d)", h->nzones, TABLE_MAX_ZONES);
	if (h->nrules > TABLE_MAX_RULES)
		return bad(why, whylen, "%u rules (at most %d)", h->nrules, TABLE_MAX_RULES);
	if ((r = check_sections(t, why, whylen)) < 0)
		return r;

	uint64_t nz = h->nzones;
	if ((r = check_elems(t, TBL_SEC_STRINGS, 1, 0, false, &t->nstr, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_ZONES, sizeof(struct tbl_zone), nz, true, NULL, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_IFNAMES, sizeof(uint32_t), 0, false, &t->nifnames, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_DEFAULTS, 1, nz * nz, true, NULL, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_RULES, sizeof(struct tbl_rule), h->nrules, true, NULL, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_VERDICTS, sizeof(struct tbl_verdict), h->nrules, true, NULL, why, whylen)) <
		    0 ||
	    (r = check_elems(t, TBL_SEC_PARTINDEX, sizeof(uint32_t), nz * nz * 2, true, NULL, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_PARTS, sizeof(struct tbl_part), h->npartitions, true, NULL, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_SUBRULES, sizeof(struct tbl_subrule), h->nsubrules, true, NULL, why, whylen)) <
		    0 ||
	    (r = check_elems(t, TBL_SEC_BOUNDS32, sizeof(uint32_t), 0, false, &t->nb32, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_BOUNDS128, sizeof(struct tbl_bound128), 0, false, &t->nb128, why, whylen)) <
		    0 ||
	    (r = check_elems(t, TBL_SEC_TREE32, sizeof(uint32_t), 0, false, &t->nt32, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_TREE128, sizeof(struct tbl_bound128), 0, false, &t->nt128, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_VECIDX, sizeof(uint32_t), 0, false, &t->nvecidx, why, whylen)) < 0 ||
	    (r = check_elems(t, TBL_SEC_WORDS, sizeof(uint64_t), 0, false, &t->nwords, why, whylen)) < 0)
		return r;
	t->nzones = h->nzones;
	t->nrules = h->nrules;
	t->nparts = h->npartitions;
	t->nsubrules = h->nsubrules;
#define SEC(s) ((const void *)(b + h->sec[s].offset))
	t->str = SEC(TBL_SEC_STRINGS);
	t->zones = SEC(TBL_SEC_ZONES);
	t->ifnames = SEC(TBL_SEC_IFNAMES);
	t->defaults = SEC(TBL_SEC_DEFAULTS);
	t->rules = SEC(TBL_SEC_RULES);
	t->verdicts = SEC(TBL_SEC_VERDICTS);
	t->partindex = SEC(TBL_SEC_PARTINDEX);
	t->parts = SEC(TBL_SEC_PARTS);
	t->subrules = SEC(TBL_SEC_SUBRULES);
	t->b32 = SEC(TBL_SEC_BOUNDS32);
	t->b128 = SEC(TBL_SEC_BOUNDS128);
	t->t32 = SEC(TBL_SEC_TREE32);
	t->t128 = SEC(TBL_SEC_TREE128);
	t->vecidx = SEC(TBL_SEC_VECIDX);
	t->words = SEC(TBL_SEC_WORDS);
#undef SEC
	return check_tables(t, why, whylen);
}

/* ---- open / close ---- */

static uint32_t part_match_generic(const struct table *t, uint32_t pi, const struct table_query *q);
#ifdef TBL_HAVE_POPCNT_CLONE
static uint32_t part_match_popcnt(const struct table *t, uint32_t pi, const struct table_query *q);
#endif

static int fast_build(struct table *t);

static int open_common(struct table *t, struct table **ret, char *why, size_t whylen)
{
	int r = validate(t, why, whylen);
	if (r < 0) {
		table_close(t);
		return r;
	}
	if ((r = fast_build(t)) < 0) {
		if (why && whylen)
			snprintf(why, whylen, "out of memory");
		table_close(t);
		return r;
	}
	t->match = part_match_generic;
#ifdef TBL_HAVE_POPCNT_CLONE
	__builtin_cpu_init();
	if (__builtin_cpu_supports("popcnt"))
		t->match = part_match_popcnt;
#endif
	*ret = t;
	return 0;
}

int table_open_buffer(const void *buf, size_t len, struct table **ret, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!ret || (!buf && len))
		return -EINVAL;
	*ret = NULL;
	struct table *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	if (len > TBL_MAX_BYTES) {
		free(t);
		return bad(why, whylen, "file is %zu bytes, over the 1 GiB limit", len);
	}
	if ((uintptr_t)buf % TBL_ALIGN) {
		/* sections are read in place: give them 8-byte alignment */
		t->copy = malloc(len ? len : 1);
		if (!t->copy) {
			free(t);
			return -ENOMEM;
		}
		memcpy(t->copy, buf, len);
		buf = t->copy;
	}
	t->base = buf ? buf : (const uint8_t *)"";
	t->len = len;
	return open_common(t, ret, why, whylen);
}

int table_open(const char *path, struct table **ret, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!ret || !path)
		return -EINVAL;
	*ret = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (why && whylen)
			snprintf(why, whylen, "%s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		if (why && whylen)
			snprintf(why, whylen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bad(why, whylen, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > TBL_MAX_BYTES) {
		close(fd);
		return bad(why, whylen, "file is %llu bytes, over the 1 GiB limit", (unsigned long long)st.st_size);
	}
	if ((size_t)st.st_size < sizeof(struct tbl_header)) {
		/* too small to map usefully: read what there is for the reason */
		uint8_t small[sizeof(struct tbl_header)];
		ssize_t n = pread(fd, small, sizeof small, 0);
		close(fd);
		struct table tmp = {.base = small, .len = n > 0 ? (size_t)n : 0};
		int r = validate(&tmp, why, whylen);
		return r < 0 ? r : -EBADMSG;
	}
	struct table *t = calloc(1, sizeof *t);
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (m == MAP_FAILED) {
		free(t);
		if (why && whylen)
			snprintf(why, whylen, "%s: mmap: %s", path, strerror(e));
		return -e;
	}
	t->map = m;
	t->base = m;
	t->len = (size_t)st.st_size;
	return open_common(t, ret, why, whylen);
}

void table_close(struct table *t)
{
	if (!t)
		return;
	if (t->map)
		munmap(t->map, t->len);
	free(t->copy);
	free(t->fast);
	free(t);
}

/* ---- lookup ---- */

/* How many of the TBL_NODE keys of a node are <= x.  Keys in a node are
 * sorted, so they form a prefix; the count is what matters, not the order,
 * for memory safety. */
#if defined(__SSE2__)
static inline uint32_t node_count32(const uint32_t *node, uint32_t x)
{
	static_assert(TBL_NODE == 16, "node_count32 compares 4 x 4 keys");
	const __m128i bias = _mm_set1_epi32(INT32_MIN);
	const __m128i xv = _mm_xor_si128(_mm_set1_epi32((int32_t)x), bias);
	const __m128i *n = (const __m128i *)(const void *)node;
	__m128i a = _mm_cmpgt_epi32(_mm_xor_si128(_mm_loadu_si128(n), bias), xv);
	__m128i b = _mm_cmpgt_epi32(_mm_xor_si128(_mm_loadu_si128(n + 1), bias), xv);
	__m128i c = _mm_cmpgt_epi32(_mm_xor_si128(_mm_loadu_si128(n + 2), bias), xv);
	__m128i d = _mm_cmpgt_epi32(_mm_xor_si128(_mm_loadu_si128(n + 3), bias), xv);
	/* pack the 16 lane masks into 16 bytes, one bit each */
	__m128i ab = _mm_packs_epi32(a, b), cd = _mm_packs_epi32(c, d);
	unsigned gt = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(ab, cd));
	/* sorted keys: those <= x come first */
	return (uint32_t)__builtin_ctz(gt | 0x10000u);
}

/* node_count32 for a key or sport node, where x and every real key are
 * below 2^31 (the loader checks the bounds, table_lookup the key): a signed
 * compare then orders them without the bias.  The padding keys (all ones)
 * read as -1 and count as <= x, so the count may run past the last real
 * key, to the node's end: the caller's clamp to the level's last index
 * gives the right entry. */
static inline uint32_t node_count31(const uint32_t *node, uint32_t x)
{
	const __m128i xv = _mm_set1_epi32((int32_t)x);
	const __m128i *n = (const __m128i *)(const void *)node;
	__m128i a = _mm_cmpgt_epi32(_mm_loadu_si128(n), xv);
	__m128i b = _mm_cmpgt_epi32(_mm_loadu_si128(n + 1), xv);
	__m128i c = _mm_cmpgt_epi32(_mm_loadu_si128(n + 2), xv);
	__m128i d = _mm_cmpgt_epi32(_mm_loadu_si128(n + 3), xv);
	__m128i ab = _mm_packs_epi32(a, b), cd = _mm_packs_epi32(c, d);
	unsigned gt = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(ab, cd));
	return (uint32_t)__builtin_ctz(gt | 0x10000u);
}
#else
static inline uint32_t node_count32(const uint32_t *node, uint32_t x)
{
	uint32_t c = 0;
	for (unsigned i = 0; i < TBL_NODE; i++)
		c += node[i] <= x;
	return c;
}
#define node_count31 node_count32
#endif

static inline uint32_t node_count128(const struct tbl_bound128 *node, uint64_t xh, uint64_t xl)
{
	/* branch-free binary search inside the node: the last key <= x */
	uint32_t base = 0;
	for (uint32_t half = TBL_NODE / 2; half; half /= 2) {
		const struct tbl_bound128 *k = &node[base + half];
		bool le = k->hi < xh || (k->hi == xh && k->lo <= xl);
		base = le ? base + half : base;
	}
	const struct tbl_bound128 *k = &node[base];
	return base + (k->hi < xh || (k->hi == xh && k->lo <= xl));
}

/* Levels above the bounds for a run of n bounds: the smallest top with
 * ceil(n / 16^top) <= 16, i.e. (bit length of n - 1, minus 1) / 4. */
static inline unsigned tree_top(uint32_t n)
{
	static_assert(TBL_NODE == 16, "tree_top assumes 16-key nodes");
	return n > 1 ? (unsigned)(31 - __builtin_clz(n - 1)) / 4 : 0;
}

/* Entries of level j over n >= 1 bounds: ceil(n / 16^j). */
static inline uint32_t tree_len(uint32_t n, unsigned j)
{
	return ((n - 1) >> (4 * j)) + 1;
}

/* The search of one dimension in progress: one node per tree level, top
 * down (see table_format.h).  Every read stays inside the padded run and
 * levels whatever the keys hold: the index taken at each level is clamped
 * to the level's length. */
struct dsearch {
	const uint32_t *b32, *t32;
	const struct tbl_bound128 *b128, *t128;
	uint32_t n;
	unsigned top;
	uint32_t c;   /* index at the level last searched */
	uint32_t off; /* start of the next level in the tree */
	uint32_t x;
	uint64_t xh, xl;
	unsigned dim;
};

/* One step: in node c of level j, the index of the last key <= x. */
static inline void dsearch_step(struct dsearch *s, unsigned j)
{
	uint32_t len = tree_len(s->n, j), cnt;
	if (s->b128) {
		const struct tbl_bound128 *node = (j ? s->t128 + s->off : s->b128) + s->c * TBL_NODE;
		cnt = node_count128(node, s->xh, s->xl);
	} else {
		const uint32_t *node = (j ? s->t32 + s->off : s->b32) + s->c * TBL_NODE;
		cnt = node_count32(node, s->x);
	}
	uint32_t idx = s->c * TBL_NODE + cnt - 1; /* wraps when cnt is 0: clamped */
	s->c = idx < len ? idx : len - 1;
	s->off += (len + TBL_NODE - 1) & ~(TBL_NODE - 1);
}

/* Stand-ins for a skipped dimension in the fast path: a one-key run (0)
 * whose interval vector is empty and whose wildcard vector is full. */
static const uint32_t dummy_node32[TBL_NODE] = {
	0,          UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
	UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
};
#define M_ ~(uint64_t)0
#define M8_ M_, M_, M_, M_, M_, M_, M_, M_
static const struct tbl_bound128 dummy_node128[TBL_NODE] = {
	{0, 0},   {M_, M_}, {M_, M_}, {M_, M_}, {M_, M_}, {M_, M_}, {M_, M_}, {M_, M_},
	{M_, M_}, {M_, M_}, {M_, M_}, {M_, M_}, {M_, M_}, {M_, M_}, {M_, M_}, {M_, M_},
};
static const uint64_t full_vector[1 + 64] = {M8_, M8_, M8_, M8_, M8_, M8_, M8_, M8_, M_};
static const uint64_t empty_vector[2];
#undef M8_
#undef M_

/* The fast-path descriptors of a validated table (struct fpart): one per
 * partition, so their memory is proportional to the file's partition
 * section.  Returns 0 or -ENOMEM. */
static int fast_build(struct table *t)
{
	static const uint8_t order[TBL_NDIMS] = {TBL_DIM_DST, TBL_DIM_SRC, TBL_DIM_KEY, TBL_DIM_SPORT};
	t->fast = calloc(t->nparts ? t->nparts : 1, sizeof *t->fast);
	if (!t->fast)
		return -ENOMEM;
	for (uint32_t pi = 0; pi < t->nparts; pi++) {
		const struct tbl_part *p = &t->parts[pi];
		struct fpart *fp = &t->fast[pi];
		fp->sub = p->sub;
		if (p->nsum != 1)
			continue; /* the general path (fast stays false) */
		bool fast = true;
		fp->nsub = p->nsub;
		fp->allwild = p->allwild;
		fp->wide = p->family == 6;
		for (unsigned i = 0; i < TBL_NDIMS; i++) {
			const struct tbl_dim *dm = &p->dim[order[i]];
			struct fdim *fd = &fp->d[i];
			bool wide = fp->wide && i < 2;
			if (!dm->nbounds) {
				fd->lvl[0] = wide ? (const void *)dummy_node128 : (const void *)dummy_node32;
				fd->w = full_vector;
				continue;
			}
			uint32_t lens[TBL_MAX_LEVELS + 1];
			unsigned top = tree_levels(dm->nbounds, lens);
			if (top >= FAST_LEVELS) {
				fast = false;
				continue;
			}
			fd->top = top;
			fd->vix = t->vecidx + dm->vecidx;
			fd->w = t->words + dm->wild;
			fd->lvl[0] = wide ? (const void *)(t->b128 + dm->bounds) : (const void *)(t->b32 + dm->bounds);
			fd->last[0] = lens[0] - 1;
			/* levels above the bounds are stored from the top down */
			uint64_t at = dm->tree;
			for (unsigned j = top; j >= 1; j--) {
				fd->lvl[j] = wide ? (const void *)(t->t128 + at) : (const void *)(t->t32 + at);
				fd->last[j] = lens[j] - 1;
				at += pad_node(lens[j]);
			}
			if (top > fp->maxtop)
				fp->maxtop = (uint8_t)top;
		}
		fp->fast = fast;
	}
	return 0;
}

/* The candidate words of a one-summary-word partition, in order: the first
 * whose AND over the na restricting dimensions is non-zero holds the
 * first matching sub-rule.  Reading the data word at the rank of a clear
 * summary bit is safe (a word follows every vector, see check_vector) and
 * masked out.  Called with a constant na, so each count is unrolled. */
__attribute__((always_inline)) static inline uint32_t abv_words(uint32_t nsub, uint64_t cand,
								const uint64_t *const v[TBL_NDIMS],
								const uint64_t *const w[TBL_NDIMS], const unsigned na)
{
	for (uint64_t a = cand; a; a &= a - 1) {
		unsigned j = (unsigned)__builtin_ctzll(a);
		uint64_t below = ((uint64_t)1 << j) - 1;
		uint64_t m = ~(uint64_t)0;
#pragma GCC unroll 4
		for (unsigned i = 0; i < na; i++) {
			uint64_t sv = v[i][0];
			uint64_t in = (uint64_t)0 - (sv >> j & 1);
			m &= w[i][1 + j] | (v[i][1 + popc64(sv & below)] & in);
		}
		if (m) {
			uint64_t s = (uint64_t)j * 64 + (unsigned)__builtin_ctzll(m);
			return s < nsub ? (uint32_t)s : TBL_NONE;
		}
	}
	return TBL_NONE;
}

/* The classifier for a partition with a fast-path descriptor (at most 4096
 * sub-rules, one summary word: the common case), with the four dimensions
 * unrolled and kept in registers; a skipped dimension searches a stand-in
 * node with a full vector.  The tree's shape comes ready from the
 * descriptor.  The dimensions that restrict the packet (not skipped,
 * interval not flagged TBL_VEC_FULL) are then ANDed word by word, by a
 * loop unrolled for their number.  wide: an IPv6 partition (128-bit src
 * and dst). */
__attribute__((always_inline)) static inline uint32_t part_match_fast(const struct table *t, const struct fpart *fp,
								      const struct table_query *q, const bool wide)
{
	uint32_t x[TBL_NDIMS], c[TBL_NDIMS] = {0};
	uint64_t xh[2], xl[2];
	const unsigned maxtop = fp->maxtop;

	x[0] = (uint32_t)q->dst;
	x[1] = (uint32_t)q->src;
	x[2] = q->key;
	x[3] = q->sport;
	xh[0] = (uint64_t)(q->dst >> 64);
	xl[0] = (uint64_t)q->dst;
	xh[1] = (uint64_t)(q->src >> 64);
	xl[1] = (uint64_t)q->src;
	/* levels above the bounds, all dimensions in step */
	for (unsigned j = maxtop; j >= 1; j--) {
#pragma GCC unroll 4
		for (unsigned i = 0; i < TBL_NDIMS; i++) {
			const struct fdim *fd = &fp->d[i];
			if (fd->top < j)
				continue; /* not there yet: stays at index 0 */
			uint32_t cnt;
			if (wide && i < 2)
				cnt = node_count128((const struct tbl_bound128 *)fd->lvl[j] + c[i] * TBL_NODE, xh[i],
						    xl[i]);
			else if (i < 2)
				cnt = node_count32((const uint32_t *)fd->lvl[j] + c[i] * TBL_NODE, x[i]);
			else
				cnt = node_count31((const uint32_t *)fd->lvl[j] + c[i] * TBL_NODE, x[i]);
			uint32_t idx = c[i] * TBL_NODE + cnt - 1; /* wraps when cnt is 0: clamped */
			c[i] = idx < fd->last[j] ? idx : fd->last[j];
		}
	}
	/* The leaf's vector indexes (one or two cache lines) are known now:
	 * fetch them while the leaf node is searched, so that the vector
	 * loads below need not wait for them.  A prefetch never faults; the
	 * address is formed as an integer because it may lie past the run. */
#pragma GCC unroll 4
	for (unsigned i = 0; i < TBL_NDIMS; i++)
		if (fp->d[i].vix) {
			uintptr_t at = (uintptr_t)(fp->d[i].vix + c[i] * TBL_NODE);
			__builtin_prefetch((const void *)at);
			__builtin_prefetch((const void *)(at + (TBL_NODE - 1) * sizeof(uint32_t)));
		}
	uint64_t acc = ~(uint64_t)0, u = 0;
	const uint64_t *av[TBL_NDIMS], *aw[TBL_NDIMS];
	unsigned na = 0;
#pragma GCC unroll 4
	for (unsigned i = 0; i < TBL_NDIMS; i++) {
		const struct fdim *fd = &fp->d[i];
		uint32_t cnt;
		if (wide && i < 2)
			cnt = node_count128((const struct tbl_bound128 *)fd->lvl[0] + c[i] * TBL_NODE, xh[i], xl[i]);
		else if (i < 2)
			cnt = node_count32((const uint32_t *)fd->lvl[0] + c[i] * TBL_NODE, x[i]);
		else
			cnt = node_count31((const uint32_t *)fd->lvl[0] + c[i] * TBL_NODE, x[i]);
		uint32_t idx = c[i] * TBL_NODE + cnt - 1;
		idx = idx < fd->last[0] ? idx : fd->last[0];
		uint32_t e = fd->vix ? fd->vix[idx] : TBL_VEC_FULL;
		const uint64_t *v = fd->vix ? t->words + (e & TBL_VEC_INDEX) : empty_vector;
		/* and the data words past the summary's cache line (as above) */
		__builtin_prefetch((const void *)((uintptr_t)v + 64));
		acc &= v[0] | fd->w[0];
		u |= v[0];
		/* dimensions that restrict this packet take part in the AND */
		av[na] = v;
		aw[na] = fd->w;
		na += !(e & TBL_VEC_FULL);
	}
	/* Candidate words: a match is either wildcard in every dimension (the
	 * first such is allwild) or in some dimension's interval vector, so
	 * only words named by an interval summary, and allwild's word, can
	 * hold the first match; none after allwild's word can. */
	uint64_t cand = acc & u;
	if (fp->allwild != TBL_NONE) {
		unsigned wa = (fp->allwild >> 6) & 63;
		cand = (cand | (uint64_t)1 << wa) & (~(uint64_t)0 >> (63 - wa));
	}
	switch (na) {
	case 0:
		return abv_words(fp->nsub, cand, av, aw, 0);
	case 1:
		return abv_words(fp->nsub, cand, av, aw, 1);
	case 2:
		return abv_words(fp->nsub, cand, av, aw, 2);
	case 3:
		return abv_words(fp->nsub, cand, av, aw, 3);
	default:
		return abv_words(fp->nsub, cand, av, aw, 4);
	}
}

/* First matching sub-rule of partition p, or TBL_NONE.  The searches of
 * all dimensions advance level by level together, so that their memory
 * accesses overlap.  Per dimension the match vector is V | W: the
 * interval's compressed vector and the dense wildcard vector. */
__attribute__((always_inline)) static inline uint32_t part_match_body(const struct table *t, uint32_t pi,
								      const struct table_query *q)
{
	const struct fpart *fp = &t->fast[pi];
	if (fp->fast)
		return fp->wide ? part_match_fast(t, fp, q, true) : part_match_fast(t, fp, q, false);
	static const uint8_t order[TBL_NDIMS] = {TBL_DIM_DST, TBL_DIM_SRC, TBL_DIM_KEY, TBL_DIM_SPORT};
	struct dsearch ds[TBL_NDIMS];
	const uint64_t *v[TBL_NDIMS], *w[TBL_NDIMS];
	unsigned nd = 0, maxtop = 0;
	const struct tbl_part *p = &t->parts[pi];
	const uint32_t nsum = p->nsum;
	const bool wide = p->family == 6;

	for (unsigned o = 0; o < TBL_NDIMS; o++) {
		unsigned d = order[o];
		const struct tbl_dim *dm = &p->dim[d];
		if (!dm->nbounds)
			continue;
		struct dsearch *s = &ds[nd++];
		s->dim = d;
		s->n = dm->nbounds;
		s->c = 0;
		s->off = 0;
		s->top = tree_top(dm->nbounds);
		if (s->top > maxtop)
			maxtop = s->top;
		if (d <= TBL_DIM_DST && wide) {
			u128 a = d == TBL_DIM_SRC ? q->src : q->dst;
			s->b128 = t->b128 + dm->bounds;
			s->t128 = t->t128 + dm->tree;
			s->xh = (uint64_t)(a >> 64);
			s->xl = (uint64_t)a;
		} else {
			s->b128 = NULL;
			s->b32 = t->b32 + dm->bounds;
			s->t32 = t->t32 + dm->tree;
			s->x = d == TBL_DIM_KEY      ? q->key
				: d == TBL_DIM_SPORT ? q->sport
						     : (uint32_t)(d == TBL_DIM_SRC ? q->src : q->dst);
		}
	}
	if (!nd)
		return 0; /* every sub-rule matches everything */
	for (unsigned j = maxtop; j >= 1; j--)
		for (unsigned i = 0; i < nd; i++)
			if (ds[i].top >= j)
				dsearch_step(&ds[i], j);
	for (unsigned i = 0; i < nd; i++) {
		dsearch_step(&ds[i], 0);
		const struct tbl_dim *dm = &p->dim[ds[i].dim];
		v[i] = t->words + (t->vecidx[dm->vecidx + ds[i].c] & TBL_VEC_INDEX);
		w[i] = t->words + dm->wild;
	}
	/* several summary words: candidates word by word, ranks carried */
	uint32_t base[TBL_NDIMS] = {0};
	uint32_t aw = p->allwild == TBL_NONE ? TBL_NONE : p->allwild >> 6; /* its word */
	for (uint32_t k = 0; k < nsum; k++) {
		uint64_t a = ~(uint64_t)0, u = 0;
		for (unsigned d = 0; d < nd; d++) {
			a &= v[d][k] | w[d][k];
			u |= v[d][k];
		}
		/* as in part_match_fast: interval summaries and allwild's word */
		if (aw != TBL_NONE && aw >> 6 == k)
			a &= (u | (uint64_t)1 << (aw & 63)) & (~(uint64_t)0 >> (63 - (aw & 63)));
		else
			a &= u;
		while (a) {
			unsigned j = (unsigned)__builtin_ctzll(a);
			uint64_t below = ((uint64_t)1 << j) - 1;
			uint64_t word = (uint64_t)k * 64 + j;
			uint64_t m = ~(uint64_t)0;
			for (unsigned d = 0; d < nd; d++) {
				uint64_t x = w[d][nsum + word];
				if (v[d][k] >> j & 1)
					x |= v[d][nsum + base[d] + popc64(v[d][k] & below)];
				m &= x;
			}
			if (m) {
				uint64_t s = word * 64 + (unsigned)__builtin_ctzll(m);
				return s < p->nsub ? (uint32_t)s : TBL_NONE;
			}
			a &= a - 1;
		}
		for (unsigned d = 0; d < nd; d++)
			base[d] += popc64(v[d][k]);
		if (aw != TBL_NONE && aw >> 6 == k)
			break;
	}
	return TBL_NONE;
}

/* The classifier compiled twice: with the POPCNT instruction, chosen at
 * open when the CPU has it, and for any x86-64. */
#ifdef TBL_HAVE_POPCNT_CLONE
__attribute__((target("popcnt"))) static uint32_t part_match_popcnt(const struct table *t, uint32_t pi,
								    const struct table_query *q)
{
	return part_match_body(t, pi, q);
}
#endif

static uint32_t part_match_generic(const struct table *t, uint32_t pi, const struct table_query *q)
{
	return part_match_body(t, pi, q);
}

void table_lookup(const struct table *t, const struct table_query *q, struct table_verdict *ret)
{
	ret->action = ACT_DENY;
	ret->log = false;
	ret->rule_id = 0;
	ret->rule_index = UINT32_MAX;
	if (!t || !q || q->from_zone >= t->nzones || q->to_zone >= t->nzones)
		return;
	uint32_t pair = (uint32_t)q->from_zone * t->nzones + q->to_zone;
	ret->action = t->defaults[pair];
	if (q->family != 4 && q->family != 6)
		return;
	uint32_t pi = t->partindex[pair * 2 + (q->family == 6)];
	if (pi == TBL_NONE)
		return;
	/* values outside their dimension match no rule */
	if (q->key > SVC_KEY_MAX || (q->family == 4 && (q->src > INADDR_V4_MAX || q->dst > INADDR_V4_MAX)))
		return;
	uint32_t s = t->match(t, pi, q);
	if (s == TBL_NONE)
		return;
	const struct tbl_subrule *sr = &t->subrules[t->fast[pi].sub + s];
	ret->action = sr->action;
	ret->log = sr->log != 0;
	ret->rule_id = sr->id;
	ret->rule_index = sr->rule;
}

/* ---- accessors ---- */

void table_get_info(const struct table *t, struct table_info *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->format_version = t->h.format_version;
	memcpy(ret->policy_sha256, t->h.policy_sha256, 32);
	memcpy(ret->file_sha256, t->h.file_sha256, 32);
	ret->compile_time = t->h.compile_time;
	ret->nzones = t->nzones;
	ret->nrules = t->nrules;
	ret->npartitions = t->nparts;
	ret->bytes = t->len;
	ret->policy_name = t->str + t->h.policy_name;
	ret->policy_version = t->str + t->h.policy_version;
}

bool table_rule(const struct table *t, uint32_t index, struct table_rule_info *ret)
{
	if (!t || index >= t->nrules)
		return false;
	const struct tbl_rule *r = &t->rules[index];
	const struct tbl_verdict *v = &t->verdicts[index];
	ret->id = v->id;
	ret->action = v->action;
	ret->log = v->log != 0;
	ret->name = t->str + r->name;
	ret->file = t->str + r->file;
	ret->description = t->str + r->description;
	ret->owner = t->str + r->owner;
	ret->ticket = t->str + r->ticket;
	ret->line = r->line;
	ret->col = r->col;
	return true;
}

bool table_zone(const struct table *t, uint32_t index, struct table_zone_info *ret)
{
	if (!t || index >= t->nzones)
		return false;
	const struct tbl_zone *z = &t->zones[index];
	ret->name = t->str + z->name;
	ret->tier = z->tier;
	ret->nif = z->nif;
	return true;
}

/* NULL when zone or i is out of range. */
const char *table_zone_ifname(const struct table *t, uint32_t zone, uint32_t i)
{
	if (!t || zone >= t->nzones || i >= t->zones[zone].nif)
		return NULL;
	return t->str + t->ifnames[t->zones[zone].first_if + i];
}

int table_zone_by_name(const struct table *t, const char *name)
{
	if (!t || !name)
		return -1;
	for (uint32_t z = 0; z < t->nzones; z++)
		if (!strcmp(t->str + t->zones[z].name, name))
			return (int)z;
	return -1;
}

int table_zone_by_ifname(const struct table *t, const char *ifname)
{
	if (!t || !ifname)
		return -1;
	for (uint32_t z = 0; z < t->nzones; z++)
		for (uint32_t i = 0; i < t->zones[z].nif; i++)
			if (!strcmp(t->str + t->ifnames[t->zones[z].first_if + i], ifname))
				return (int)z;
	return -1;
}

uint8_t table_default_action(const struct table *t, uint32_t from, uint32_t to)
{
	if (!t || from >= t->nzones || to >= t->nzones)
		return ACT_DENY;
	return t->defaults[from * t->nzones + to];
}

/* ------------------------------------------- the rest of the contract */

static const char *const action_names[] = {"none", "allow", "deny", "reject"};

const char *table_action_name(int action)
{
	if (action < 0 || action > ACT_REJECT)
		return "?";
	return action_names[action];
}

bool table_proto_has_ports(uint8_t proto)
{
	/* tcp, udp, dccp, sctp, udplite */
	return proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;
}

uint32_t table_packet_key(uint8_t proto, uint16_t dport, uint8_t icmp_type, uint8_t icmp_code)
{
	if (proto == 1 || proto == 58)
		return SVC_KEY(proto, ((uint32_t)icmp_type << 8) | icmp_code);
	if (table_proto_has_ports(proto))
		return SVC_KEY(proto, dport);
	return SVC_KEY(proto, 0);
}
