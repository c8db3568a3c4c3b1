/* fuzz_cdr_pdf_scan: libFuzzer target for the PDF converter's name scan
 * (sanitizer/cdr/cdr_pdf_scan.c), which reads attacker bytes inside the
 * sandbox.  It must return 0 and stay within its inflate caps; a name
 * written in the raw input must be counted, a declared image measured.  Small caps make them
 * reachable.  Seeds: test/fuzz/corpus/cdr_pdf_scan/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_pdf_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cdr_pdf_scan_limits lim = {
		.max_stream_out = 4096, .max_total_out = 16384, .max_streams = 16};
	struct cdr_pdf_scan_result res;

	if (cdr_pdf_scan(data, size, &lim, &res) != 0)
		abort();
	if (res.inflated > lim.max_total_out || res.streams > lim.max_streams)
		abort();
	/* "/OpenAction" followed by a delimiter in the raw bytes is always seen */
	static const char name[] = "/OpenAction ";
	if (memmem(data, size, name, sizeof name - 1) && res.count[CDR_PDF_SCAN_OPENACTION] == 0)
		abort();
	/* a declared image is always measured */
	static const char img[] = "<< /Type /XObject /Subtype /Image /Width 300 /Height 200 >>";
	if (memmem(data, size, img, sizeof img - 1) && res.max_image_pixels < 60000)
		abort();
	return 0;
}
