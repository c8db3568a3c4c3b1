/* sekisho-cdr-ooxml: the OOXML rebuild as a filter, to run inside the CDR
 * sandbox: a docx/xlsx/pptx (or macro-enabled / template variant) on stdin,
 * the rebuilt package on stdout, the report on stderr.
 *
 * stderr gets one line per removed item ("removed <item>") and per kept
 * media part ("media <part>"), then "ext <docx|...>", then "ok"; on refusal
 * only "refused <reason>".  Exit 0 with a copy, 1 refused (nothing on
 * stdout), 2 usage or I/O error.  The input is capped at 64 MiB.
 *
 * Items hold names from the document (relationship ids, part names): a
 * control character (one that could end a line and forge the next), a C1
 * control or a byte that is not UTF-8 is written as \xNN, and an item is cut
 * at MAX_ITEM bytes, so that every line is one that the trusted side's
 * reader (cdr_log) accepts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/version.h"
#include "common/utf8.h"
#include "sanitizer/cdr/cdr_filter.h"
#include "sanitizer/cdr/cdr_lockdown.h"
#include "sanitizer/cdr/cdr_ooxml.h"

#define MAX_INPUT (64u << 20)
#define MAX_ITEM 1000

/* "KEY ITEM\n" on stderr, the item escaped and cut (see the file comment) */
static void print_item(const char *key, const char *item)
{
	size_t n = strlen(item), i = 0, k, out = 0;
	uint32_t cp;

	fprintf(stderr, "%s ", key);
	while (i < n && out < MAX_ITEM) {
		k = utf8_decode(item + i, n - i, &cp);
		if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			fprintf(stderr, "\\x%02X", (unsigned char)item[i]);
			i++;
			out += 4;
		} else {
			fwrite(item + i, 1, k, stderr);
			i += k;
			out += k;
		}
	}
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	struct cdr_ooxml_opts o;
	struct cdr_ooxml_result res;
	uint8_t *in = NULL;
	void *out = NULL;
	size_t inlen = 0, outlen = 0;
	char why[256];
	int rc;

	static const char usage[] = "usage: sekisho-cdr-ooxml < IN > OUT\n";
	if ((rc = version_cli(argc, argv, "sekisho-cdr-ooxml", usage)) >= 0)
		return rc;
	if (argc != 1) {
		fputs(usage, stderr);
		return 2;
	}
	int locked = cdr_lockdown();
	if (locked < 0) {
		fprintf(stderr, "sekisho-cdr-ooxml: seccomp: %s\n", strerror(-locked));
		return 2;
	}
	rc = cdr_filter_read_input("sekisho-cdr-ooxml", MAX_INPUT, &in, &inlen);
	if (rc)
		return rc;
	cdr_ooxml_opts_default(&o);
	rc = cdr_ooxml_rebuild(in, inlen, &o, &out, &outlen, &res, why, sizeof(why));
	free(in);
	if (rc) {
		fprintf(stderr, "refused %s\n", why);
		return 1;
	}
	for (size_t i = 0; i < res.nremoved; i++)
		print_item("removed", res.removed[i]);
	if (res.nremoved_dropped)
		fprintf(stderr, "removed-more %zu\n", res.nremoved_dropped);
	for (size_t i = 0; i < res.nmedia; i++)
		print_item("media", res.media[i]);
	if (res.signature_removed)
		fprintf(stderr, "signature-removed\n");
	fprintf(stderr, "ext %s\n", res.ext);
	rc = cdr_filter_write_product("sekisho-cdr-ooxml", out, outlen);
	free(out);
	cdr_ooxml_result_free(&res);
	return rc;
}
