/* cdr_image_decode: the converter side of image CDR, linked only into
 * sekisho-cdr-image, which runs inside the sandbox.  It decodes the first
 * image (first GIF frame, first TIFF page) of a JPEG, PNG, GIF, BMP, TIFF or
 * WebP file into 8-bit grey or RGB pixels, alpha composited over white.
 *
 * Every size is checked against the caps from the file's header BEFORE the
 * pixel buffer is allocated or any pixel is decoded; the libraries get
 * their own allocation limits as well (libpng chunk sizes, libjpeg memory
 * and scan count, libtiff single allocation).
 *
 * Ownership: ret->pixels is a new buffer the caller frees with free();
 * the input buffer is only read. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sanitizer/cdr/cdr_pixels.h"

/* one decoded image: height rows of width * channels bytes, channels 1 or 3 */
struct cdr_image_decoded {
	uint32_t width;
	uint32_t height;
	unsigned channels;
	uint8_t *pixels;
};

/* Decode buf.  Returns 0, or -EBADMSG / -ENOMEM with a reason key in why:
 * "unsupported-format", "unsupported-variant", "zero-size", "width-limit",
 * "height-limit", "pixel-limit", "decode-error", "no-image". */
int cdr_image_decode(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps, struct cdr_image_decoded *ret,
		     char *why, size_t whylen);
