/* fuzz_cdr_unpack: libFuzzer target for the archive converter's library
 * (sanitizer/cdr/cdr_unpack.c: libarchive under our caps, the names made
 * safe, the zip central-directory walk for NUL names).
 *
 * The converter runs in the sandbox, but what it writes must always be a
 * stream the trusted reader accepts: every input must give 0 or -EPERM (a
 * refusal), and the stream must then pass cdr_members_parse under the same
 * caps, ending with the refusal record exactly when the run refused.  Small
 * caps make every limit reachable.  Seeds: test/fuzz/corpus/cdr_unpack/
 * (zip with CP932, UTF-8, traversal and NUL names; tar; lzh; gzip). */
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool locale_set;
	struct cdr_unpack_opts o = {.caps = {.max_entries = 16,
					     .max_member_bytes = 4096,
					     .max_total_bytes = 8192,
					     .max_ratio = 50,
					     .max_name_bytes = 64,
					     .max_segments = 4}};
	char *buf = NULL, why[64] = "";
	size_t len = 0;

	if (!locale_set) {
		/* as the converter: names arrive in the locale's charset */
		if (!setlocale(LC_CTYPE, "C.UTF-8"))
			abort();
		locale_set = true;
	}
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	int r = cdr_unpack_run(data, size, &o, f, NULL, why, sizeof why);
	if (fclose(f))
		abort();
	if (r != 0 && r != -EPERM)
		abort();
	struct cdr_members_stream s;
	char pwhy[64] = "";
	if (cdr_members_parse((const uint8_t *)buf, len, &o.caps, &s, pwhy, sizeof pwhy) != 0) {
		fprintf(stderr, "the reader refused the converter's stream: %s\n", pwhy);
		abort();
	}
	if ((r == -EPERM) != (s.refused[0] != 0) || (r == -EPERM && strcmp(why, s.refused)))
		abort();
	free(s.rec);
	free(buf);
	return 0;
}
