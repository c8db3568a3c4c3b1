/* cdr_pdf_scan (the PDF converter's report scan, converter-only): names
 * found in raw bytes and in Flate streams, partial names not counted, the
 * largest declared image (nested dictionaries, references skipped), and
 * the inflate caps against a Flate bomb.  Inputs are made here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "sanitizer/cdr/cdr_pdf_scan.h"
#include "test/check.h"

static void scan(const void *buf, size_t len, struct cdr_pdf_scan_result *r)
{
	struct cdr_pdf_scan_limits lim;
	cdr_pdf_scan_limits_default(&lim);
	REQUIRE(cdr_pdf_scan(buf, len, &lim, r) == 0);
}

/* "stream\n" + zlib(text) + "\nendstream" appended to buf at *len */
static void put_stream(uint8_t *buf, size_t *len, size_t cap, const void *text, size_t n)
{
	uLongf zlen = (uLongf)(cap - *len - 32);
	memcpy(buf + *len, "stream\n", 7);
	*len += 7;
	REQUIRE(compress2(buf + *len, &zlen, text, n, 9) == Z_OK);
	*len += zlen;
	memcpy(buf + *len, "\nendstream\n", 11);
	*len += 11;
}

int main(void)
{
	struct cdr_pdf_scan_result r;
	static uint8_t buf[1 << 20];
	size_t len;

	/* raw names; /JSX and /AAA are other names; a name at the very end */
	const char *raw = "<< /OpenAction << /S /JavaScript /JS (x) >> /AAA 1 /JSX 2 >> /Launch/URI(x)/XFA";
	scan(raw, strlen(raw), &r);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_OPENACTION], 1);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_JAVASCRIPT], 1);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_JS], 1);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_AA], 0);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_LAUNCH], 1);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_URI], 1);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_XFA], 1);
	CHECK_STR(cdr_pdf_scan_item(CDR_PDF_SCAN_OPENACTION), "action:/OpenAction");
	CHECK_STR(cdr_pdf_scan_item(CDR_PDF_SCAN_COUNT_), "unknown");

	/* names only inside an object stream (Flate) */
	const char *objs = "<< /AA << /O << /S /Launch >> >> /Names << /EmbeddedFiles 4 0 R >> /AcroForm << >> >>";
	len = 0;
	memcpy(buf, "1 0 obj\n<< /Type /ObjStm /Filter /FlateDecode >>\n", 49);
	len = 49;
	put_stream(buf, &len, sizeof buf, objs, strlen(objs));
	scan(buf, len, &r);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_AA], 1);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_LAUNCH], 1);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_ACROFORM], 1);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_EMBEDDEDFILE], 0); /* /EmbeddedFiles is another name */
	CHECK_EQ_U(r.streams, 1);

	/* images: nested DecodeParms before /Width, a reference, the largest */
	const char *img = "<< /Subtype /Image /DecodeParms << /K -1 /Columns 99 >> /Width 30000 /Height 30000 >>"
			  "<< /Subtype /Image /Width 5 0 R /Height 10 >>"
			  "<< /Width 400 /Height 300 /Subtype/Image >>"
			  "[/PDF /ImageB] << /Width 99999 /Height 99999 >>";
	scan(img, strlen(img), &r);
	CHECK_EQ_U(r.max_image_pixels, 900000000ull);
	const char *small = "<< /Width 400 /Height 300 /Subtype/Image >> << /Subtype /Image /Width 5 0 R /Height 9 >>";
	scan(small, strlen(small), &r);
	CHECK_EQ_U(r.max_image_pixels, 120000);
	const char *none = "/Image >> << /Subtype /Image /Width 10";
	scan(none, strlen(none), &r);
	CHECK_EQ_U(r.max_image_pixels, 0);

	/* a Flate bomb: inflated only up to the caps */
	uint8_t *zeros = calloc(1, 8u << 20);
	REQUIRE(zeros);
	memcpy(zeros + (8u << 20) - 8, "/JS ", 4);
	len = 0;
	put_stream(buf, &len, sizeof buf, zeros, 8u << 20);
	put_stream(buf, &len, sizeof buf, zeros, 8u << 20);
	free(zeros);
	struct cdr_pdf_scan_limits lim = {.max_stream_out = 1u << 20, .max_total_out = 3u << 19, .max_streams = 10};
	REQUIRE(cdr_pdf_scan(buf, len, &lim, &r) == 0);
	CHECK(r.inflated <= lim.max_total_out && r.capped, "inflated %zu", r.inflated);
	CHECK_EQ_U(r.count[CDR_PDF_SCAN_JS], 0); /* past the cap: not seen, not read */
	lim.max_stream_out = 0;
	CHECK(cdr_pdf_scan(buf, len, &lim, &r) < 0);
	return check_done();
}
