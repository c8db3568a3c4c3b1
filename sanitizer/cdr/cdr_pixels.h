/* cdr_pixels: the raw pixel stream that leaves the CDR sandbox.
 *
 * A stream is one or more images back to back, nothing before, between or
 * after them.  Each image is a 16-byte header and then its rows, top to
 * bottom, width * channels bytes each, no padding:
 *
 *   offset 0  4 bytes  magic "SKPX"
 *          4  1 byte   version (1)
 *          5  1 byte   channels: 1 (grey) or 3 (RGB)
 *          6  1 byte   bits per sample (8)
 *          7  1 byte   flags (0; every other value is refused)
 *          8  4 bytes  width, big-endian, >= 1
 *         12  4 bytes  height, big-endian, >= 1
 *
 * The writer (cdr_pixels_header_encode, cdr_pixels_write) is what a
 * converter inside the sandbox uses.  The reader (cdr_pixels_parse) is the
 * trusted side: it trusts nothing in the stream and checks every header and
 * the exact byte count against caps before anyone touches a pixel.
 *
 * Ownership: cdr_pixels_parse allocates only the array of image
 * descriptions (the caller frees it with free()); each image's rows point
 * into the caller's buffer, which must outlive them. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CDR_PIXELS_HEADER_SIZE 16
#define CDR_PIXELS_VERSION 1

/* what one stream may hold; every field must be >= 1 */
struct cdr_pixels_caps {
	uint32_t max_width;
	uint32_t max_height;
	uint64_t max_pixels_image;  /* width * height of one image */
	uint64_t max_pixels_stream; /* sum over all images */
	uint32_t max_images;
};

struct cdr_pixels_image {
	uint32_t width;
	uint32_t height;
	unsigned channels;   /* 1 or 3 */
	const uint8_t *rows; /* height rows of width * channels bytes */
};

/* the caps used when the caller has none of its own (docs/cdr.md) */
void cdr_pixels_caps_default(struct cdr_pixels_caps *ret_caps);

/* The header of one image into out.  Returns 0, or -EINVAL (channels not
 * 1 or 3, a zero dimension, or a row size that overflows size_t). */
int cdr_pixels_header_encode(uint32_t width, uint32_t height, unsigned channels, uint8_t out[CDR_PIXELS_HEADER_SIZE]);

/* One image (header and rows) to f.  Returns 0, -EINVAL as above, or -EIO. */
int cdr_pixels_write(FILE *f, const struct cdr_pixels_image *img);

/* Parse and validate a whole stream of len bytes.  Returns 0 with a new
 * array of *ret_count >= 1 images, or -EBADMSG with a reason key in why
 * ("short-header", "bad-magic", "bad-version", "bad-channels", "bad-depth",
 * "bad-flags", "zero-size", "width-limit", "height-limit", "pixel-limit",
 * "stream-pixel-limit", "image-count-limit", "truncated", "empty"), -EINVAL
 * for caps with a zero field, or -ENOMEM. */
int cdr_pixels_parse(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps,
		     struct cdr_pixels_image **ret_images, size_t *ret_count, char *why, size_t whylen);
