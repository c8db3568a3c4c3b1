/* fuzz_ptl_link: libFuzzer target for the link manifest parser
 * (ptl_link_parse).  Manifests are written by the milter and the worker and
 * read by the LGWAN portal: the names, subjects and addresses in them come
 * from attackers' mail and uploads.  A manifest that parses must survive
 * its own round trip (text, parse again: the same fields) and hold only
 * checked values.  Seeds: test/fuzz/corpus/ptl_link/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/portal/ptl_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ptl_link l;
	if (ptl_link_parse((const char *)data, size, &l) != 0)
		return 0;
	if (l.nfiles > PTL_LINK_MAX_FILES || l.nrcpt > PTL_LINK_MAX_RCPT || l.expires < l.created)
		abort();
	for (size_t i = 0; i < l.nfiles; i++)
		if (!ptl_hash_valid(l.files[i].sha256) || !l.files[i].cdr)
			abort();
	char *t = ptl_link_text(&l);
	struct ptl_link k;
	if (!t || ptl_link_parse(t, strlen(t), &k) != 0)
		abort();
	if (k.nfiles != l.nfiles || k.nrcpt != l.nrcpt || strcmp(k.origin, l.origin) || k.created != l.created ||
	    k.expires != l.expires || !same_str(k.subject, l.subject) || !same_str(k.note, l.note))
		abort();
	for (size_t i = 0; i < l.nfiles; i++)
		if (strcmp(k.files[i].sha256, l.files[i].sha256) || !same_str(k.files[i].name, l.files[i].name) ||
		    k.files[i].bytes != l.files[i].bytes || strcmp(k.files[i].cdr, l.files[i].cdr))
			abort();
	free(t);
	ptl_link_free(&k);
	ptl_link_free(&l);
	return 0;
}
