/* fuzz_cdr_pdf_info: libFuzzer target for the trusted side's reader of the
 * PDF converter's report (sanitizer/cdr/cdr_pdf_info.c), which a sandboxed
 * converter wrote.
 *
 * cdr_pdf_info_parse must refuse with a reason and leave nothing behind, or
 * accept a report whose every field is within its bounds: 1..max_pages
 * pages, sizes of 1..1e6 points, removed items that are printable, unique
 * and at most max_removed.  Every accepted report must also give a page
 * pixel size within the rendering caps (cdr_pdf_info_page_pixels).  Small
 * caps make the limits reachable.  Seeds: test/fuzz/corpus/cdr_pdf_info/. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_pdf_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cdr_pdf_info info;
	char why[64] = "";
	int r = cdr_pdf_info_parse((const char *)data, size, 8, 6, &info, why, sizeof why);

	if (r < 0) {
		if (r != -EBADMSG || why[0] == 0 || info.page || info.removed || info.pages || info.nremoved)
			abort();
		return 0;
	}
	if (info.pages < 1 || info.pages > 8 || !info.page || info.nremoved > 6 ||
	    (info.nremoved_more && info.nremoved != 6))
		abort();
	for (unsigned i = 0; i < info.pages; i++) {
		const struct cdr_pdf_info_page *p = &info.page[i];
		uint32_t w, h;
		if (!(p->w_pt >= 1 && p->w_pt <= 1e6 && p->h_pt >= 1 && p->h_pt <= 1e6) || p->text_chars > 1000000000u)
			abort();
		cdr_pdf_info_page_pixels(p->w_pt, p->h_pt, 150, &w, &h);
		if (!w || !h || w > CDR_PDF_MAX_SIDE || h > CDR_PDF_MAX_SIDE || (uint64_t)w * h > CDR_PDF_MAX_PIXELS)
			abort();
	}
	for (size_t i = 0; i < info.nremoved; i++) {
		size_t n = strlen(info.removed[i]);
		if (n == 0 || n > CDR_PDF_INFO_MAX_ITEM || !memmem(data, size, info.removed[i], n))
			abort();
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)info.removed[i][k] <= ' ' || info.removed[i][k] == 0x7f)
				abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(info.removed[i], info.removed[j]) == 0)
				abort();
	}
	cdr_pdf_info_free(&info);
	return 0;
}
