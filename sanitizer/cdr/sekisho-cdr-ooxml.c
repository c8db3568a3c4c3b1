/* sekisho-cdr-ooxml: the OOXML rebuild as a filter, to run inside the CDR
 * sandbox: a docx/xlsx/pptx (or macro-enabled / template variant) on stdin,
 * the rebuilt package on stdout, the report on stderr.
 *
 * stderr gets one line per removed item ("removed <item>") and per kept
 * media part ("media <part>"), then "ext <docx|...>", then "ok"; on refusal
 * only "refused <reason>".  Exit 0 with a copy, 1 refused (nothing on
 * stdout), 2 usage or I/O error.  The input is capped at 64 MiB. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"
#include "sanitizer/cdr/cdr_lockdown.h"
#include "sanitizer/cdr/cdr_ooxml.h"

#define MAX_INPUT (64u << 20)

int main(int argc, char **argv)
{
	struct cdr_ooxml_opts o;
	struct cdr_ooxml_result res;
	uint8_t *in = NULL;
	void *out = NULL;
	size_t inlen = 0, outlen = 0;
	char why[256];
	int rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: sekisho-cdr-ooxml < IN > OUT\n");
		return 2;
	}
	int locked = cdr_lockdown();
	if (locked < 0) {
		fprintf(stderr, "sekisho-cdr-ooxml: seccomp: %s\n", strerror(-locked));
		return 2;
	}
	rc = fdio_read_all(0, MAX_INPUT, &in, &inlen);
	if (rc == -EFBIG) {
		fprintf(stderr, "refused input-size-limit\n");
		return 1;
	}
	if (rc) {
		fprintf(stderr, "sekisho-cdr-ooxml: read: %s\n", strerror(-rc));
		return 2;
	}
	cdr_ooxml_opts_default(&o);
	rc = cdr_ooxml_rebuild(in, inlen, &o, &out, &outlen, &res, why, sizeof(why));
	free(in);
	if (rc) {
		fprintf(stderr, "refused %s\n", why);
		return 1;
	}
	for (size_t i = 0; i < res.nremoved; i++)
		fprintf(stderr, "removed %s\n", res.removed[i]);
	if (res.nremoved_dropped)
		fprintf(stderr, "removed-more %zu\n", res.nremoved_dropped);
	for (size_t i = 0; i < res.nmedia; i++)
		fprintf(stderr, "media %s\n", res.media[i]);
	if (res.signature_removed)
		fprintf(stderr, "signature-removed\n");
	fprintf(stderr, "ext %s\n", res.ext);
	rc = fdio_write_all(1, out, outlen);
	free(out);
	cdr_ooxml_result_free(&res);
	if (rc) {
		fprintf(stderr, "sekisho-cdr-ooxml: write: %s\n", strerror(-rc));
		return 2;
	}
	fprintf(stderr, "ok\n");
	return 0;
}
