/* cdr_filter.c: the converters' stdin/stdout edges (cdr_filter.h).
 * Ownership: see the header.  Failure: an exit status, with its line on
 * stderr (a converter program's report). */
#include "sanitizer/cdr/cdr_filter.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/fdio.h"

int cdr_filter_read_input(const char *prog, size_t max, uint8_t **ret, size_t *ret_len)
{
	int rc = fdio_read_all(0, max, ret, ret_len);

	if (rc == -EFBIG) {
		fprintf(stderr, "refused input-size-limit\n");
		return 1;
	}
	if (rc) {
		fprintf(stderr, "%s: read: %s\n", prog, strerror(-rc));
		return 2;
	}
	return 0;
}

int cdr_filter_write_product(const char *prog, const void *buf, size_t len)
{
	int rc = fdio_write_all(1, buf, len);

	if (rc) {
		fprintf(stderr, "%s: write: %s\n", prog, strerror(-rc));
		return 2;
	}
	fprintf(stderr, "ok\n");
	return 0;
}
