/* cdr_pdf_scan: the names of active PDF content found in a file's bytes, for
 * the report of the PDF converter (sekisho-cdr-pdf).  Converter-only: it reads
 * attacker bytes, so it is linked into the converter (inside the sandbox) and
 * its fuzz target, never into the trusted side.
 *
 * It looks for the PDF names that introduce active or hidden content
 * (/OpenAction, /AA, /JavaScript, /JS, /Launch, /URI, /SubmitForm,
 * /ImportData, /GoToR, /GoToE, /EmbeddedFile, /RichMedia, /XFA, /AcroForm)
 * in the raw bytes and inside every Flate stream (object streams hide
 * dictionaries there), inflated under caps.  This is a report, not the
 * sanitiser: the copy is made of pixels and carries none of these whatever
 * the scan finds or misses (a name spelled with #xx escapes is missed).
 *
 * Ownership: nothing is kept; the caller owns buf. */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum {
	CDR_PDF_SCAN_OPENACTION,
	CDR_PDF_SCAN_AA,
	CDR_PDF_SCAN_JAVASCRIPT,
	CDR_PDF_SCAN_JS,
	CDR_PDF_SCAN_LAUNCH,
	CDR_PDF_SCAN_URI,
	CDR_PDF_SCAN_SUBMITFORM,
	CDR_PDF_SCAN_IMPORTDATA,
	CDR_PDF_SCAN_GOTOR,
	CDR_PDF_SCAN_GOTOE,
	CDR_PDF_SCAN_EMBEDDEDFILE,
	CDR_PDF_SCAN_RICHMEDIA,
	CDR_PDF_SCAN_XFA,
	CDR_PDF_SCAN_ACROFORM,
	CDR_PDF_SCAN_COUNT_,
};

struct cdr_pdf_scan_limits {
	size_t max_stream_out; /* bytes inflated from one stream (the rest is not read) */
	size_t max_total_out;  /* bytes inflated over the whole file */
	size_t max_streams;    /* streams tried */
};

struct cdr_pdf_scan_result {
	unsigned count[CDR_PDF_SCAN_COUNT_]; /* occurrences, saturating */
	/* the largest /Width x /Height of an image XObject dictionary in the
	 * raw bytes (direct integers only; 0 when none is found) */
	uint64_t max_image_pixels;
	size_t streams;  /* streams tried */
	size_t inflated; /* bytes inflated in all */
	int capped;      /* 1 when a cap stopped the scan early */
};

void cdr_pdf_scan_limits_default(struct cdr_pdf_scan_limits *ret_lim);
/* the report's name of item i: "action:/OpenAction", "javascript:/JS", ... */
const char *cdr_pdf_scan_item(unsigned i);
/* Scan len bytes.  Returns 0, -EINVAL (a zero cap), or -ENOMEM. */
int cdr_pdf_scan(const uint8_t *buf, size_t len, const struct cdr_pdf_scan_limits *lim,
		 struct cdr_pdf_scan_result *ret);
