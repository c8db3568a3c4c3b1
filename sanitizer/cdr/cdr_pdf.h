/* cdr_pdf: the PDF handler's helpers beside cdr_pdf_convert (declared in
 * cdr.h), exposed for the tests.  Nothing is kept; never logs. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_pixels.h"

/* The start-up check: poppler-data's Japanese CMaps and a Japanese font are
 * installed.  Returns 0, or fails the report with "pdf-no-cmaps" or
 * "pdf-no-ja-font". */
int cdr_pdf_check_environment(struct cdr_report *rep);
/* The pixels of img far from its most common value (the background): fewer
 * than a handful on a page with text means the text was not drawn. */
uint64_t cdr_pdf_ink(const struct cdr_pixels_image *img);
/* qpdf --show-npages' stdout (the vector mode's independent page count):
 * 1..7 digits and one newline, nothing else; 0 or -EBADMSG */
int cdr_pdf_npages_parse(const uint8_t *buf, size_t len, unsigned *ret);
/* qpdf --json's output (version 2, no stream data) over the vector copy:
 * the first banned name found as a JSON string ("\"/OpenAction\"", ...;
 * /JS /JavaScript /AA /OpenAction /Launch /EmbeddedFile(s) /URI /RichMedia
 * /XFA /AcroForm /SubmitForm /ImportData /GoToR /GoToE /Names /Annots
 * /Metadata), or NULL.  A byte search, no parse: any occurrence refuses. */
const char *cdr_pdf_json_banned(const uint8_t *buf, size_t len);
