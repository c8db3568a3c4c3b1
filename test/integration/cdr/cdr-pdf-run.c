/* cdr-pdf-run: the PDF oracle's driver (test only).  Like sekisho-cdr IN -o
 * OUT --report REPORT, through cdr_convert, with the libexec directory
 * given and, with --unlimited-as, no address-space limit on the converter
 * (an AddressSanitizer converter reserves terabytes of shadow memory; the
 * plain builds keep the default limit); --timeout-ms N sets the sandbox's
 * wall-clock limit (default 60 s); --vector the PDF vector mode
 * (CDR_MODE_VECTOR) instead of pixels.  Writes OUT only on success; the
 * report (cdr_report_json) always.  Exit 0 copy, 1 no copy, 2 usage/I/O. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/fdio.h"
#include "sanitizer/cdr/cdr.h"

int main(int argc, char **argv)
{
	struct cdr_ctx ctx;
	struct cdr_report rep;
	int in, out, rc;

	if (argc < 5) {
		fprintf(stderr,
			"usage: cdr-pdf-run LIBEXEC IN OUT REPORT [--unlimited-as] [--timeout-ms N] [--vector]\n");
		return 2;
	}
	cdr_ctx_default(&ctx, argv[1]);
	for (int i = 5; i < argc; i++) {
		if (strcmp(argv[i], "--unlimited-as") == 0) {
			ctx.limits.as_bytes = RLIM_INFINITY;
		} else if (strcmp(argv[i], "--vector") == 0) {
			ctx.mode[CDR_KIND_PDF] = CDR_MODE_VECTOR;
		} else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
			ctx.limits.timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "cdr-pdf-run: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	in = open(argv[2], O_RDONLY | O_CLOEXEC);
	out = cdr_memfd("cdr-pdf-run");
	if (in < 0 || out < 0) {
		perror("cdr-pdf-run: open");
		return 2;
	}
	memset(&rep, 0, sizeof rep);
	rc = cdr_convert(&ctx, argv[2], in, out, &rep);
	char *json = cdr_report_json(&rep);
	FILE *f = fopen(argv[4], "w");
	if (!json || !f || fputs(json, f) < 0 || fclose(f) != 0) {
		perror("cdr-pdf-run: report");
		return 2;
	}
	free(json);
	if (rc == 0) {
		uint8_t *buf = NULL;
		size_t len = 0;
		int o = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (lseek(out, 0, SEEK_SET) < 0 || fdio_read_all(out, SIZE_MAX, &buf, &len) < 0 || o < 0 ||
		    fdio_write_all(o, buf, len) < 0 || close(o) < 0) {
			perror("cdr-pdf-run: output");
			return 2;
		}
		free(buf);
	}
	cdr_report_free(&rep);
	close(in);
	close(out);
	return rc == 0 ? 0 : 1;
}
