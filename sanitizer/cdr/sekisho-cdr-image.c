/* sekisho-cdr-image: the image converter of file CDR (issue 14).
 *
 *   sekisho-cdr-image < IMAGE > PIXELS
 *
 * Reads one JPEG, PNG, GIF, BMP, TIFF or WebP file (at most 64 MiB) from
 * stdin and writes its first image as a pixel stream (cdr_pixels.h) to
 * stdout, and names on stderr its line report (cdr_log): one "removed metadata:NAME" line
 * per kind of metadata the copy does not carry (exif, gps, xmp, ...),
 * "orientation N" when the pixels were turned, then "ok".  It is meant to run inside the CDR sandbox (cdr_sandbox) with no
 * network, capped memory and time; it trusts nothing it reads and the
 * trusted side trusts nothing it writes.  Exit 0 on success; 1 with
 * "refused KEY" on stderr when the file is refused (the key is the reason
 * the trusted side reports); 2 for usage or I/O errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/version.h"
#include "sanitizer/cdr/cdr_image_decode.h"
#include "sanitizer/cdr/cdr_image_meta.h"
#include "sanitizer/cdr/cdr_pixels.h"
#include "sanitizer/cdr/cdr_filter.h"
#include "sanitizer/cdr/cdr_lockdown.h"

#define IMAGE_INPUT_MAX (64u << 20)

int main(int argc, char **argv)
{
	static const char usage[] = "usage: sekisho-cdr-image < IMAGE > PIXELS\n";
	int rc = version_cli(argc, argv, "sekisho-cdr-image", usage);
	if (rc >= 0)
		return rc;
	if (argc != 1) {
		fputs(usage, stderr);
		return 2;
	}
	int locked = cdr_lockdown();
	if (locked < 0) {
		fprintf(stderr, "sekisho-cdr-image: seccomp: %s\n", strerror(-locked));
		return 2;
	}
	uint8_t *in = NULL;
	size_t len = 0;
	int r = cdr_filter_read_input("sekisho-cdr-image", IMAGE_INPUT_MAX, &in, &len);
	if (r)
		return r;
	unsigned orient = 1, meta = cdr_image_meta_scan(in, len, &orient);
	struct cdr_pixels_caps caps;
	cdr_pixels_caps_default(&caps);
	struct cdr_image_decoded dec;
	char why[64] = "";
	r = cdr_image_decode(in, len, &caps, &dec, why, sizeof why);
	free(in);
	if (r < 0) {
		fprintf(stderr, "refused %s\n", why[0] ? why : "decode-error");
		return 1;
	}
	/* the copy has no orientation tag: turn the pixels as a viewer would */
	uint8_t *turned = NULL;
	uint32_t w = dec.width, h = dec.height;
	if (cdr_image_meta_orient(dec.pixels, dec.width, dec.height, dec.channels, orient, &turned, &w, &h) < 0) {
		fprintf(stderr, "refused out-of-memory\n");
		free(dec.pixels);
		return 1;
	}
	for (unsigned bit = 1; bit <= CDR_META_OTHER; bit <<= 1)
		if (meta & bit)
			fprintf(stderr, "removed metadata:%s\n", cdr_image_meta_name(bit));
	if (turned) {
		free(dec.pixels);
		dec.pixels = turned;
		fprintf(stderr, "orientation %u\n", orient);
	}
	struct cdr_pixels_image img = {w, h, dec.channels, dec.pixels};
	r = cdr_pixels_write(stdout, &img);
	free(dec.pixels);
	if (r < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "sekisho-cdr-image: writing stdout: %s\n", strerror(r < 0 ? -r : errno));
		return 2;
	}
	fputs("ok\n", stderr);
	return 0;
}
