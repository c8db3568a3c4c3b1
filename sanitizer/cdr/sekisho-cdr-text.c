/* sekisho-cdr-text: a text or CSV file to a clean copy (cdr_textconv), to
 * run inside the CDR sandbox.  `sekisho-cdr-text txt|csv`: the input on
 * stdin, the copy on stdout (txt: UTF-8; csv: CP932 or UTF-8 with a BOM),
 * the report on stderr: "charset C" (detected), "removed
 * control-characters:N" when some were removed, "out-charset O", then
 * "ok"; on refusal only "refused KEY" (unknown-charset, line-length-limit,
 * input-size-limit, out-of-memory).  Exit 0 with a copy, 1 refused (nothing
 * on stdout), 2 usage or I/O error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fdio.h"
#include "sanitizer/cdr/cdr_textconv.h"

int main(int argc, char **argv)
{
	struct cdr_textconv_result res;
	uint8_t *in = NULL, *out = NULL;
	size_t inlen = 0, outlen = 0;
	char why[64];
	int rc;

	if (argc != 2 || (strcmp(argv[1], "txt") != 0 && strcmp(argv[1], "csv") != 0)) {
		fprintf(stderr, "usage: sekisho-cdr-text txt|csv < IN > OUT\n");
		return 2;
	}
	rc = fdio_read_all(0, CDR_TEXTCONV_MAX_INPUT, &in, &inlen);
	if (rc == -EFBIG) {
		fprintf(stderr, "refused input-size-limit\n");
		return 1;
	}
	if (rc) {
		fprintf(stderr, "sekisho-cdr-text: read: %s\n", strerror(-rc));
		return 2;
	}
	rc = cdr_textconv_convert(in, inlen, strcmp(argv[1], "csv") == 0, &out, &outlen, &res, why, sizeof(why));
	free(in);
	if (rc) {
		fprintf(stderr, "refused %s\n", why);
		return 1;
	}
	fprintf(stderr, "charset %s\n", res.charset);
	if (res.removed)
		fprintf(stderr, "removed control-characters:%zu\n", res.removed);
	fprintf(stderr, "out-charset %s\n", res.out_charset);
	rc = fdio_write_all(1, out, outlen);
	free(out);
	if (rc) {
		fprintf(stderr, "sekisho-cdr-text: write: %s\n", strerror(-rc));
		return 2;
	}
	fprintf(stderr, "ok\n");
	return 0;
}
