/* fuzz_cdr_qpdf: libFuzzer target for the trusted side's readers of what
 * the sandboxed qpdf writes about the PDF vector mode's product
 * (sanitizer/cdr/cdr_pdf.c): cdr_pdf_npages_parse (qpdf --show-npages) and
 * cdr_pdf_json_banned (qpdf --json, searched for banned names).
 *
 * The count must be refused or be 1..7 digits with a newline, nothing
 * else; a banned name reported must really occur in the input.  Seeds:
 * test/fuzz/corpus/cdr_qpdf/. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_pdf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned n = 0;
	int r = cdr_pdf_npages_parse(data, size, &n);

	if (r == 0 && (size < 2 || size > 8 || data[size - 1] != '\n' || n > 9999999))
		abort();
	if (r != 0 && r != -EBADMSG)
		abort();
	const char *key = cdr_pdf_json_banned(data, size);
	if (key && !memmem(data, size, key, strlen(key)))
		abort();
	return 0;
}
