/* cdr_pdf_info: the trusted side's reader of the PDF converter's report
 * (sekisho-cdr-pdf --info), which a sandboxed converter wrote and which is
 * therefore trusted for nothing.  The lines are framed by cdr_log (KEY or
 * KEY VALUE, UTF-8 without controls, ending "ok"); this reader gives the
 * keys their meaning, in this order:
 *
 *   pages N                 1 <= N <= max_pages, the first line
 *   page I WxH TEXTCHARS    N lines, I = 1..N in order; W and H in points,
 *                           digits with at most 2 decimals, 1 <= W, H <= 1e6;
 *                           TEXTCHARS <= 1e9
 *   removed ITEM            any number, after the pages; ITEM is 1..MAX_ITEM
 *                           bytes without spaces
 *   ok                      the end (cdr_log)
 *
 * Page lines are at most CDR_PDF_INFO_MAX_LINE bytes.  Removed items past
 * max_removed are counted only; repeated items are kept once.
 *
 * Two ways in: cdr_pdf_info_parse for a whole report in memory (tests, the
 * fuzz target), or cdr_pdf_info_line as the cdr_log line function of a
 * converter run (cdr_conv_run) between cdr_pdf_info_init and
 * cdr_pdf_info_finish.
 *
 * Ownership: ret's arrays and strings are the caller's after success
 * (cdr_pdf_info_free); after a failure ret holds nothing to free (and a
 * reader that was not finished is released with cdr_pdf_info_free on its
 * info). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define CDR_PDF_INFO_MAX_LINE 256
#define CDR_PDF_INFO_MAX_ITEM 160

struct cdr_pdf_info_page {
	double w_pt, h_pt;
	uint32_t text_chars;
};

struct cdr_pdf_info {
	unsigned pages;
	struct cdr_pdf_info_page *page; /* pages entries */
	char **removed;
	size_t nremoved;
	size_t nremoved_more;
};

/* the state of one report being read */
struct cdr_pdf_info_reader {
	struct cdr_pdf_info info;
	unsigned max_pages;
	size_t max_removed;
	size_t removed_cap;
	unsigned next_page; /* page lines seen */
};

void cdr_pdf_info_init(struct cdr_pdf_info_reader *r, unsigned max_pages, size_t max_removed);
/* a cdr_log_line_fn (arg: the reader): 0, or -EBADMSG with why
 * ("pdf-info-syntax: ...", "page-limit", "pdf-info-page-size: ..."), or
 * -ENOMEM */
int cdr_pdf_info_line(void *arg, const char *key, const char *value, char *why, size_t whylen);
/* after the last line: every page seen; moves the result into ret.
 * Returns 0 or -EBADMSG ("pdf-info-syntax: ..."); the reader's info is
 * freed on failure. */
int cdr_pdf_info_finish(struct cdr_pdf_info_reader *r, struct cdr_pdf_info *ret, char *why, size_t whylen);

/* A whole report of len bytes (cdr_log framing).  Returns 0, -EBADMSG with
 * why starting with a key ("pdf-info-syntax", "page-limit",
 * "pdf-info-page-size"), -EINVAL for max_pages or max_removed 0, or
 * -ENOMEM. */
int cdr_pdf_info_parse(const char *buf, size_t len, unsigned max_pages, size_t max_removed, struct cdr_pdf_info *ret,
		       char *why, size_t whylen);
void cdr_pdf_info_free(struct cdr_pdf_info *info);

/* The largest rendering of a page: no side above this, no more pixels */
#define CDR_PDF_MAX_SIDE 10000u
#define CDR_PDF_MAX_PIXELS (40u * 1000 * 1000)
/* The pixel size of a w_pt x h_pt page rendered at dpi, scaled down (the
 * same factor for both sides) until it fits CDR_PDF_MAX_SIDE and
 * CDR_PDF_MAX_PIXELS; each side at least 1.  The converter renders at this
 * size and the trusted side requires exactly it: one definition for both. */
void cdr_pdf_info_page_pixels(double w_pt, double h_pt, unsigned dpi, uint32_t *ret_w, uint32_t *ret_h);
