/* cdr_image_meta: names the metadata an image file carries (EXIF and its
 * GPS position, XMP, IPTC, ICC profiles, comments, text chunks), so that
 * the report can say what the re-encoding dropped.  Converter side only: it
 * walks attacker bytes (JPEG segments, PNG and WebP chunks), every step
 * bounds-checked, and only ever names things; the pixels never depend on it.
 *
 * Ownership: only cdr_image_meta_orient allocates (see there).  Never logs. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* item names, as they appear in the report ("metadata:<name>") */
enum cdr_image_meta_item {
	CDR_META_EXIF = 1u << 0,
	CDR_META_GPS = 1u << 1,
	CDR_META_XMP = 1u << 2,
	CDR_META_IPTC = 1u << 3,
	CDR_META_ICC = 1u << 4,
	CDR_META_COMMENT = 1u << 5,
	CDR_META_TEXT = 1u << 6,
	CDR_META_TIME = 1u << 7,
	CDR_META_OTHER = 1u << 8, /* other application segments or chunks */
};

/* The set of items found in buf (a bit mask of the enum); the EXIF
 * orientation (1..8, 1 when there is none) into *ret_orientation when it
 * is not NULL. */
unsigned cdr_image_meta_scan(const uint8_t *buf, size_t len, unsigned *ret_orientation);
/* The name of one item bit ("exif", "gps", ...), NULL for an unknown bit. */
const char *cdr_image_meta_name(unsigned bit);

/* The pixels as the EXIF orientation says they are to be viewed (the copy
 * carries no orientation tag, so the turn is made in the pixels).  For
 * orientation 2..8, *ret_pixels is a new malloc'd buffer (the caller frees
 * it) and *ret_w, *ret_h its size (swapped for 5..8); for any other value,
 * *ret_pixels is NULL and nothing changes.  0 or -ENOMEM. */
int cdr_image_meta_orient(const uint8_t *src, uint32_t w, uint32_t h, unsigned ch, unsigned orientation,
			  uint8_t **ret_pixels, uint32_t *ret_w, uint32_t *ret_h);
