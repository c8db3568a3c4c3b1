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

#include "common/version.h"
#include "sanitizer/cdr/cdr_filter.h"
#include "sanitizer/cdr/cdr_lockdown.h"
#include "sanitizer/cdr/cdr_textconv.h"

int main(int argc, char **argv)
{
	struct cdr_textconv_result res;
	uint8_t *in = NULL, *out = NULL;
	size_t inlen = 0, outlen = 0;
	char why[64];
	int rc;

	static const char usage[] = "usage: sekisho-cdr-text txt|csv < IN > OUT\n";
	if ((rc = version_cli(argc, argv, "sekisho-cdr-text", usage)) >= 0)
		return rc;
	if (argc != 2 || (strcmp(argv[1], "txt") != 0 && strcmp(argv[1], "csv") != 0)) {
		fputs(usage, stderr);
		return 2;
	}
	/* single process: no exec, no fork from here on (cdr_lockdown.h) */
	rc = cdr_lockdown();
	if (rc < 0) {
		fprintf(stderr, "sekisho-cdr-text: seccomp: %s\n", strerror(-rc));
		return 2;
	}
	rc = cdr_filter_read_input("sekisho-cdr-text", CDR_TEXTCONV_MAX_INPUT, &in, &inlen);
	if (rc)
		return rc;
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
	rc = cdr_filter_write_product("sekisho-cdr-text", out, outlen);
	free(out);
	return rc;
}
