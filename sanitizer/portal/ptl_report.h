/* ptl_report: the LGWAN portal's reader of the worker's CDR reports,
 * copies/<sha256>.report.json (and the PPAP variant
 * copies/<sha256>.ppap.report.json), whose schema is docs/cdr.md's "The
 * report".
 *
 * The file is written by another process from a hostile file's conversion,
 * so everything is checked and capped: PTL_REPORT_MAX_BYTES of JSON, nesting
 * depth, every string valid UTF-8 without control characters and at most
 * PTL_REPORT_MAX_STR bytes, at most PTL_REPORT_MAX_ITEMS removed items and
 * PTL_REPORT_MAX_MEMBERS archive members kept (the rest counted), the copy
 * named only when result is "ok", out_ext is [a-z0-9]{1,10} and out_sha256
 * 64 lowercase hex digits.
 *
 * Ownership: a struct ptl_report owns its strings (ptl_report_free; a zeroed
 * struct is empty).  Functions return 0 or -errno; never print. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTL_REPORT_MAX_BYTES ((size_t)4 << 20)
#define PTL_REPORT_MAX_STR 1024
#define PTL_REPORT_MAX_ITEMS 100
#define PTL_REPORT_MAX_MEMBERS 100

struct ptl_report_member {
	char *name, *result, *reason_ja, *reason_en, *out_name;
};

struct ptl_report {
	char *result; /* "ok" or a reason key */
	char *reason_ja, *reason_en;
	char *kind, *in_type, *out_type; /* may be NULL */
	bool has_copy;                   /* result ok and the copy's facts valid */
	char out_ext[11];
	char out_sha256[65];
	uint64_t out_bytes;
	char *removed[PTL_REPORT_MAX_ITEMS];
	size_t nremoved;
	uint64_t removed_total; /* including removed_more */
	struct ptl_report_member members[PTL_REPORT_MAX_MEMBERS];
	size_t nmembers;
	uint64_t members_total;
};

/* Parse buf[0..len): 0, -EINVAL (not a report, a bad member), -EFBIG. */
int ptl_report_parse(const char *buf, size_t len, struct ptl_report *ret);
/* Read copies/<sha256>[.ppap].report.json: 0, -ENOENT (no report yet),
 * -EINVAL (sha256 not 64 lowercase hex), or ptl_report_parse's errors. */
int ptl_report_load(const char *copies, const char *sha256, bool ppap, struct ptl_report *ret);
void ptl_report_free(struct ptl_report *r);
