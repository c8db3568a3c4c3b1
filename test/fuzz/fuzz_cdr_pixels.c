/* fuzz_cdr_pixels: libFuzzer target for the trusted-side reader of the CDR
 * pixel stream (sanitizer/cdr/cdr_pixels.c), which parses what a sandboxed
 * converter wrote.
 *
 * The input is a stream.  cdr_pixels_parse must refuse it with a reason or
 * accept it such that every image lies inside the input, within the caps,
 * and the images exactly tile the input.  Small caps make the limits
 * reachable.  Seeds: test/fuzz/corpus/cdr_pixels/. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_pixels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cdr_pixels_caps caps = {.max_width = 300,
						    .max_height = 300,
						    .max_pixels_image = 20000,
						    .max_pixels_stream = 40000,
						    .max_images = 8};
	struct cdr_pixels_image *imgs = NULL;
	size_t n = 0;
	char why[64];
	why[0] = 0;
	int r = cdr_pixels_parse(data, size, &caps, &imgs, &n, why, sizeof why);
	if (r < 0) {
		if (r != -EBADMSG || why[0] == 0 || imgs || n)
			abort();
		return 0;
	}
	if (n == 0 || n > caps.max_images)
		abort();
	const uint8_t *expect = data + CDR_PIXELS_HEADER_SIZE;
	uint64_t total = 0, bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct cdr_pixels_image *m = &imgs[i];
		uint64_t px = (uint64_t)m->width * m->height;
		if (!m->width || !m->height || m->width > caps.max_width || m->height > caps.max_height ||
		    px > caps.max_pixels_image || (m->channels != 1 && m->channels != 3) || m->rows != expect)
			abort();
		total += px;
		bytes += CDR_PIXELS_HEADER_SIZE + px * m->channels;
		/* touch the first and last byte: ASan checks they are inside */
		volatile uint8_t b = m->rows[0];
		b = m->rows[px * m->channels - 1];
		(void)b;
		expect += px * m->channels + CDR_PIXELS_HEADER_SIZE;
	}
	if (total > caps.max_pixels_stream || bytes != size)
		abort();
	free(imgs);
	return 0;
}
