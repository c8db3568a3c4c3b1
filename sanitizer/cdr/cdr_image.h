/* cdr_image: the trusted side of image CDR.  It names an image's kind by
 * its first bytes (to choose the output type, never to decode), and
 * re-encodes one validated pixel image (cdr_pixels) as a fresh PNG or JPEG
 * that holds pixels and nothing else: no EXIF, XMP, ICC, text chunks,
 * comments, not even a JFIF header.
 *
 * Output type rule: photos stay photos, everything else is lossless.  JPEG
 * and lossy WebP in -> JPEG (quality 90) out; PNG, GIF, BMP, TIFF and
 * lossless or extended WebP in -> PNG out (docs/cdr.md says why).
 *
 * Ownership: the caller owns the FILE and the image; nothing is kept. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sanitizer/cdr/cdr_pixels.h"

enum cdr_image_kind {
	CDR_IMAGE_UNKNOWN,
	CDR_IMAGE_PNG,
	CDR_IMAGE_JPEG,
	CDR_IMAGE_GIF,
	CDR_IMAGE_BMP,
	CDR_IMAGE_TIFF,
	CDR_IMAGE_WEBP_LOSSY,    /* RIFF....WEBPVP8_ */
	CDR_IMAGE_WEBP_LOSSLESS, /* RIFF....WEBPVP8L */
	CDR_IMAGE_WEBP_EXTENDED, /* RIFF....WEBPVP8X: alpha, animation or metadata */
};

enum cdr_image_out {
	CDR_IMAGE_OUT_PNG,
	CDR_IMAGE_OUT_JPEG,
};

/* at least 16 bytes of head make the answer exact; fewer give UNKNOWN */
enum cdr_image_kind cdr_image_kind_of(const uint8_t *head, size_t len);
/* "png", "jpeg", …, "unknown" */
const char *cdr_image_kind_name(enum cdr_image_kind kind);
/* the output type rule above */
enum cdr_image_out cdr_image_output_for(enum cdr_image_kind kind);

/* Encode img to f.  Returns 0, -EINVAL (channels not 1 or 3), -EIO with
 * "encode-error" in why (the library refused or a write failed), or
 * -ENOMEM. */
int cdr_image_encode(const struct cdr_pixels_image *img, enum cdr_image_out out, FILE *f, char *why, size_t whylen);
