/* fuzz_ptl_report: libFuzzer target for what the LGWAN portal reads back
 * from disk: the worker's CDR report (ptl_report_parse, written by another
 * process from a hostile file's conversion) and the portal's own request
 * records (ptl_request_parse), both fed the same bytes.
 *
 * Whatever the input: every string kept is valid UTF-8 without control
 * characters and within the cap, at most the caps of items and members are
 * kept, a copy is named only with a [a-z0-9]{1,10} extension and a 64-hex
 * SHA-256; a request that parses has a valid id, link and sha256, and its
 * text form parses back to the same id and state.  Seeds:
 * test/fuzz/corpus/ptl_report/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/portal/ptl_link.h"
#include "sanitizer/portal/ptl_report.h"
#include "sanitizer/portal/ptl_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void text(const char *s)
{
	if (s && (strlen(s) > PTL_REPORT_MAX_STR || !utf8_text(s, strlen(s))))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ptl_report r;
	if (ptl_report_parse((const char *)data, size, &r) == 0) {
		if (!r.result || r.nremoved > PTL_REPORT_MAX_ITEMS || r.nmembers > PTL_REPORT_MAX_MEMBERS ||
		    r.removed_total < r.nremoved || r.members_total < r.nmembers)
			abort();
		text(r.result);
		text(r.reason_ja);
		text(r.reason_en);
		for (size_t i = 0; i < r.nremoved; i++)
			text(r.removed[i]);
		for (size_t i = 0; i < r.nmembers; i++) {
			text(r.members[i].name);
			text(r.members[i].result);
		}
		if (r.has_copy &&
		    (strcmp(r.result, "ok") != 0 || !ptl_hash_valid(r.out_sha256) || !r.out_ext[0] ||
		     strspn(r.out_ext, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(r.out_ext)))
			abort();
		ptl_report_free(&r);
	}
	struct ptl_request q;
	if (ptl_request_parse((const char *)data, size, &q) == 0) {
		if (!ptl_id_valid(q.id) || !ptl_hash_valid(q.link) || !ptl_hash_valid(q.sha256) || q.napprovals > 2)
			abort();
		char *t = ptl_request_text(&q);
		struct ptl_request back;
		if (ptl_request_parse(t, strlen(t), &back) != 0 || strcmp(back.id, q.id) ||
		    strcmp(back.state, q.state) || back.napprovals != q.napprovals)
			abort();
		ptl_request_free(&back);
		free(t);
		ptl_request_free(&q);
	}
	return 0;
}
