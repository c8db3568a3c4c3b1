/* fuzz_cdr_image: libFuzzer target for the image converter's decoders
 * (sanitizer/cdr/cdr_image_decode.c: libpng, libjpeg-turbo, giflib,
 * libtiff, libwebp and our own BMP reader).  They run inside the sandbox,
 * but a crash there is still a bug and the BMP reader is ours alone.
 *
 * The input is an image file.  cdr_image_decode must refuse it with a
 * reason or return an image within the (small) caps whose every byte is
 * readable.  Seeds: test/fuzz/corpus/cdr_image/ (tiny images of every
 * supported kind and variant, made with PIL). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "sanitizer/cdr/cdr_image_decode.h"
#include "sanitizer/cdr/cdr_image_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cdr_pixels_caps caps = {.max_width = 1024,
						    .max_height = 1024,
						    .max_pixels_image = 65536,
						    .max_pixels_stream = 65536,
						    .max_images = 1};
	struct cdr_image_decoded img;
	char why[64];
	why[0] = 0;
	(void)cdr_image_meta_scan(data, size, NULL); /* the metadata namer walks the same bytes */
	int r = cdr_image_decode(data, size, &caps, &img, why, sizeof why);
	if (r < 0) {
		if ((r != -EBADMSG && r != -ENOMEM) || why[0] == 0)
			abort();
		return 0;
	}
	uint64_t px = (uint64_t)img.width * img.height;
	if (!img.pixels || !img.width || !img.height || img.width > caps.max_width || img.height > caps.max_height ||
	    px > caps.max_pixels_image || (img.channels != 1 && img.channels != 3))
		abort();
	unsigned sum = 0;
	for (uint64_t i = 0; i < px * img.channels; i++)
		sum += img.pixels[i];
	volatile unsigned sink = sum;
	(void)sink;
	free(img.pixels);
	return 0;
}
