/* table_format: the on-disk layout of a compiled rule table, format 1.
 *
 * This header is the format reference (docs/table-format.md says the same
 * for people).  Writer: table_build.c.  Reader: table.c, which trusts
 * nothing in a file before checking it.
 *
 * General rules
 *   - All integers are little-endian and fixed width; the structures below
 *     have no implicit padding (explicit reserved fields, which must be 0).
 *   - A file is a header followed by TBL_NSECTIONS sections, in the order of
 *     enum tbl_section_id, each starting at an offset that is a multiple of
 *     8 (the writer uses 64 for the search and vector sections so that a
 *     tree node is one cache line), not overlapping, inside the file.  An
 *     empty section has size 0.  Bytes between sections are 0.
 *   - "index" fields count elements of the named section, never bytes; a
 *     "string" is a byte offset into the string pool.
 *   - A file is at most TBL_MAX_BYTES (1 GiB).
 *
 * Header (struct tbl_header, at offset 0)
 *   magic "SKSHOTBL"; format_version (TBL_FORMAT_VERSION); header_size;
 *   file_size (must equal the real size); file_sha256: SHA-256 of the whole
 *   file computed with this field set to 32 zero bytes; policy_sha256 (the
 *   normalised policy source, struct policy.sha256); compile_time (seconds
 *   since the epoch); policy name and version (strings, 0 = ""); counts of
 *   zones, rules, partitions and sub-rules; flags (0); the section table
 *   (offset and size in bytes of each section).
 *
 * Sections
 *   STRINGS    bytes.  Offset 0 is the empty string; the last byte is NUL, so
 *              every offset inside the pool starts a NUL-terminated string.
 *              Identical strings are stored once.
 *   ZONES      struct tbl_zone[nzones]; zone 0 is "self".
 *   IFNAMES    uint32_t[]: string offsets of interface names; zone z owns
 *              ifnames[first_if .. first_if + nif).
 *   DEFAULTS   uint8_t[nzones * nzones]: the default action (ACT_DENY or
 *              ACT_REJECT) of (from, to) at from * nzones + to.
 *   RULES      struct tbl_rule[nrules]: name, file:line:col, description,
 *              owner, ticket; in first-match order.
 *   VERDICTS   struct tbl_verdict[nrules]: id, action, log of each rule.
 *   PARTINDEX  uint32_t[nzones * nzones * 2]: the partition of (from, to,
 *              family) at (from * nzones + to) * 2 + (family == 6), or
 *              TBL_NONE when no rule can match there.  Slots whose rule
 *              lists are identical share one partition.
 *   PARTS      struct tbl_part[npartitions]: one classifier each.
 *   SUBRULES   struct tbl_subrule[nsubrules]: the rule index of each
 *              sub-rule and a copy of that rule's verdict (so that a lookup
 *              reads one entry); partition p owns subrules[sub .. sub +
 *              nsub), in first-match order (rule indexes never decrease).
 *   BOUNDS32   uint32_t[]: elementary-interval bounds of IPv4 address
 *              dimensions and of every key and sport dimension.
 *   BOUNDS128  struct tbl_bound128[]: bounds of IPv6 address dimensions.
 *   TREE32     uint32_t[]: search-tree levels over BOUNDS32 runs.
 *   TREE128    struct tbl_bound128[]: the same over BOUNDS128 runs.
 *   VECIDX     uint32_t[]: per elementary interval, the index in WORDS of
 *              its bit vector.
 *   WORDS      uint64_t[]: the bit-vector pool.
 *
 * Classifier (one per partition; the design is explained in table.c)
 *   A partition holds nsub >= 1 sub-rules, numbered in first-match order; a
 *   sub-rule is one rule restricted to one of its source-port ranges, a
 *   product of interval sets over four dimensions (enum tbl_dim_id): src
 *   address, dst address, key (proto << 16 | dport, see policy.h), sport.
 *   nwords = ceil(nsub / 64), nsum = ceil(nwords / 64).  allwild is the
 *   first sub-rule whose interval sets are all full (0 when every dimension
 *   is skipped), TBL_NONE when there is none; the loader recomputes it.
 *
 *   Per dimension (struct tbl_dim):
 *   - nbounds == 0: every sub-rule covers the whole dimension; the lookup
 *     skips it.  The other fields are then 0.
 *   - Sub-rules that cover the whole dimension ("wildcards") are kept out of
 *     the per-interval vectors and are the bits of one dense vector at
 *     words[wild]: nsum summary words, then all nwords data words.
 *   - bounds[0 .. nbounds) are strictly increasing, bounds[0] = 0; the run
 *     is padded with the maximum value (0xffffffff, or all-ones for 128-bit)
 *     to a multiple of TBL_NODE entries.  Elementary interval i is
 *     [bounds[i], bounds[i+1] - 1]; the last one runs to the top of the
 *     dimension (SVC_KEY_MAX for key, 65535 for sport, the family's last
 *     address).  Key bounds are at most SVC_KEY_MAX, sport bounds 65535.
 *   - vecidx[i] (nbounds entries) locates the vector of interval i (bits 0-30:
 *     its index in WORDS; bit 31, TBL_VEC_FULL: this vector together with
 *     the wildcard vector holds every sub-rule, so the interval restricts
 *     nothing and the lookup leaves the dimension out): bit s set =
 *     sub-rule s, not a wildcard here, covers the interval.  It is stored
 *     compressed (an "aggregated bit vector"): nsum summary words, then
 *     only the data words that are non-zero, in order.  Bit j of summary
 *     word k is set iff data word 64k + j is non-zero; the n-th set summary
 *     bit (counting from 0) belongs to the n-th stored data word.  At least
 *     one word follows every compressed vector in WORDS (the pool ends with
 *     a zero word): the lookup reads it unconditionally.  Summary
 *     bits at or above nwords and data bits at or above nsub are 0 (in the
 *     wildcard vector as well).  Equal vectors are stored once, also across
 *     partitions.
 *   - The search tree: level 0 is the bounds run (n0 = nbounds entries); while
 *     level j has more than TBL_NODE entries, level j+1 has
 *     n(j+1) = ceil(n(j) / TBL_NODE) entries, entry k being entry
 *     k * TBL_NODE of level j.  Levels above 0 (there are at most
 *     TBL_MAX_LEVELS) are stored from the top down starting at tree, each
 *     padded like the bounds to a multiple of TBL_NODE.  With no level
 *     above 0, tree is 0.  A lookup reads one node (TBL_NODE entries) per
 *     level.
 *   Address dimensions of IPv4 partitions and all key/sport dimensions use
 *   BOUNDS32/TREE32; address dimensions of IPv6 partitions BOUNDS128/TREE128.
 *
 * Compatibility: a reader refuses any format_version other than its own. */
#pragma once
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the compiled table format is little-endian; this reader maps it directly"
#endif

#define TBL_MAGIC "SKSHOTBL"
#define TBL_MAGIC_LEN 8
#define TBL_FORMAT_VERSION 1u
#define TBL_MAX_BYTES ((uint64_t)1 << 30)
#define TBL_NONE UINT32_MAX
#define TBL_VEC_FULL 0x80000000u /* VECIDX flag, see below */
#define TBL_VEC_INDEX 0x7fffffffu
#define TBL_ALIGN 8u
#define TBL_NODE 16u     /* keys per search-tree node */
#define TBL_MAX_LEVELS 8 /* tree levels above the bounds, at most */

enum tbl_section_id {
	TBL_SEC_STRINGS,
	TBL_SEC_ZONES,
	TBL_SEC_IFNAMES,
	TBL_SEC_DEFAULTS,
	TBL_SEC_RULES,
	TBL_SEC_VERDICTS,
	TBL_SEC_PARTINDEX,
	TBL_SEC_PARTS,
	TBL_SEC_SUBRULES,
	TBL_SEC_BOUNDS32,
	TBL_SEC_BOUNDS128,
	TBL_SEC_TREE32,
	TBL_SEC_TREE128,
	TBL_SEC_VECIDX,
	TBL_SEC_WORDS,
	TBL_NSECTIONS
};

enum tbl_dim_id { TBL_DIM_SRC, TBL_DIM_DST, TBL_DIM_KEY, TBL_DIM_SPORT, TBL_NDIMS };

struct tbl_section {
	uint64_t offset; /* bytes from the start of the file */
	uint64_t size;   /* bytes */
};

struct tbl_header {
	char magic[TBL_MAGIC_LEN]; /* "SKSHOTBL", no NUL */
	uint32_t format_version;   /* TBL_FORMAT_VERSION */
	uint32_t header_size;      /* sizeof(struct tbl_header) */
	uint64_t file_size;        /* bytes, must equal the real size */
	uint8_t file_sha256[32];   /* zeroed while hashing */
	uint8_t policy_sha256[32];
	int64_t compile_time;    /* seconds since the epoch */
	uint32_t policy_name;    /* string */
	uint32_t policy_version; /* string */
	uint32_t nzones;         /* 1 .. 64 */
	uint32_t nrules;
	uint32_t npartitions;
	uint32_t nsubrules;
	uint32_t nsections; /* TBL_NSECTIONS */
	uint32_t flags;     /* reserved, 0 */
	struct tbl_section sec[TBL_NSECTIONS];
};

struct tbl_zone {
	uint32_t name; /* string, not empty */
	uint8_t tier;  /* enum table_tier */
	uint8_t reserved[3];
	uint32_t nif;      /* interfaces facing the zone */
	uint32_t first_if; /* index into IFNAMES */
};

/* What a verdict reports, kept apart from the rest of the metadata so that
 * the lookup touches 8 bytes per rule. */
struct tbl_verdict {
	uint32_t id;    /* policy_rule.id, never 0 */
	uint8_t action; /* ACT_ALLOW, ACT_DENY or ACT_REJECT */
	uint8_t log;    /* 0 or 1 */
	uint8_t reserved[2];
};

/* One sub-rule: its rule and that rule's verdict, which must equal
 * verdicts[rule]. */
struct tbl_subrule {
	uint32_t rule; /* index into RULES / VERDICTS */
	uint32_t id;
	uint8_t action;
	uint8_t log;
	uint8_t reserved[2];
};

struct tbl_rule {
	uint32_t name; /* strings: */
	uint32_t file;
	uint32_t line;
	uint32_t col;
	uint32_t description;
	uint32_t owner;
	uint32_t ticket;
	uint32_t reserved; /* 0 */
};

struct tbl_dim {
	uint32_t nbounds; /* 0: dimension skipped */
	uint32_t bounds;  /* first index in BOUNDS32 or BOUNDS128 */
	uint32_t tree;    /* first index in TREE32 or TREE128 */
	uint32_t vecidx;  /* first index in VECIDX (nbounds entries) */
	uint32_t wild;    /* index in WORDS of the wildcard vector */
	uint32_t reserved;
};

struct tbl_part {
	uint8_t family; /* 4 or 6 */
	uint8_t reserved[3];
	uint32_t nsub;    /* >= 1 */
	uint32_t sub;     /* first index in SUBRULES */
	uint32_t nwords;  /* ceil(nsub / 64) */
	uint32_t nsum;    /* ceil(nwords / 64) */
	uint32_t allwild; /* first sub-rule that is a wildcard in every
	                                dimension, or TBL_NONE */
	struct tbl_dim dim[TBL_NDIMS];
};

struct tbl_bound128 {
	uint64_t hi, lo; /* the address is hi << 64 | lo */
};

static_assert(sizeof(struct tbl_section) == 16, "tbl_section layout");
static_assert(sizeof(struct tbl_header) == 128 + 16 * TBL_NSECTIONS, "tbl_header layout");
static_assert(sizeof(struct tbl_header) % TBL_ALIGN == 0, "tbl_header alignment");
static_assert(offsetof(struct tbl_header, file_sha256) == 24, "tbl_header layout");
static_assert(sizeof(struct tbl_zone) == 16, "tbl_zone layout");
static_assert(sizeof(struct tbl_rule) == 32, "tbl_rule layout");
static_assert(sizeof(struct tbl_verdict) == 8, "tbl_verdict layout");
static_assert(sizeof(struct tbl_subrule) == 12, "tbl_subrule layout");
static_assert(sizeof(struct tbl_dim) == 24, "tbl_dim layout");
static_assert(sizeof(struct tbl_part) == 24 + 24 * TBL_NDIMS, "tbl_part layout");
static_assert(sizeof(struct tbl_bound128) == 16, "tbl_bound128 layout");
