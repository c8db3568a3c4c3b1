/* cdr_image_meta: see the header.  Walks at most CDR_META_MAX_STEPS
 * segments or chunks, so a file of a million tiny segments costs no more
 * than a normal one. */
#include "sanitizer/cdr/cdr_image_meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CDR_META_MAX_STEPS 4096

static uint32_t rd16(const uint8_t *p, int le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : (uint32_t)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p, int le)
{
	return le ? rd16(p, 1) | rd16(p + 2, 1) << 16 : rd16(p, 0) << 16 | rd16(p + 2, 0);
}

/* an EXIF block (TIFF header first): does IFD0 point to a GPS IFD, and
 * which orientation does it give (tag 0x0112, a SHORT 1..8)? */
static unsigned meta_exif(const uint8_t *t, size_t len, unsigned *orient)
{
	unsigned found = CDR_META_EXIF;
	if (len < 8 || !((t[0] == 'I' && t[1] == 'I') || (t[0] == 'M' && t[1] == 'M')))
		return found;
	int le = t[0] == 'I';
	uint32_t ifd = rd32(t + 4, le);
	if (ifd > len || len - ifd < 2)
		return found;
	uint32_t n = rd16(t + ifd, le);
	for (uint32_t i = 0; i < n && (size_t)ifd + 2 + 12 * (i + 1) <= len; i++) {
		const uint8_t *e = t + ifd + 2 + 12 * i;
		uint32_t tag = rd16(e, le);
		if (tag == 0x8825)
			found |= CDR_META_GPS;
		else if (tag == 0x0112 && rd16(e + 2, le) == 3 && rd32(e + 4, le) == 1) {
			uint32_t o = rd16(e + 8, le);
			if (o >= 1 && o <= 8)
				*orient = o;
		}
	}
	return found;
}

static unsigned meta_jpeg(const uint8_t *b, size_t len, unsigned *orient)
{
	unsigned found = 0;
	size_t pos = 2;
	for (int steps = 0; steps < CDR_META_MAX_STEPS && pos + 4 <= len; steps++) {
		if (b[pos] != 0xff)
			break;
		uint8_t m = b[pos + 1];
		if (m == 0xff) { /* fill byte */
			pos++;
			continue;
		}
		if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
			pos += 2;
			continue;
		}
		if (m == 0xda || m == 0xd9) /* image data follows: no metadata after it matters */
			break;
		size_t seg = rd16(b + pos + 2, 0);
		if (seg < 2 || seg > len - pos - 2)
			break;
		const uint8_t *d = b + pos + 4;
		size_t dl = seg - 2;
		if (m == 0xe1 && dl >= 6 && memcmp(d, "Exif\0\0", 6) == 0)
			found |= meta_exif(d + 6, dl - 6, orient);
		else if (m == 0xe1 && dl >= 28 && memcmp(d, "http://ns.adobe.com/xap/1.0/", 28) == 0)
			found |= CDR_META_XMP;
		else if (m == 0xed)
			found |= CDR_META_IPTC;
		else if (m == 0xe2 && dl >= 11 && memcmp(d, "ICC_PROFILE", 11) == 0)
			found |= CDR_META_ICC;
		else if (m == 0xfe)
			found |= CDR_META_COMMENT;
		else if (m > 0xe0 && m <= 0xef)
			found |= CDR_META_OTHER; /* APP0 (JFIF) is format, not metadata */
		pos += 2 + seg;
	}
	return found;
}

static unsigned meta_png(const uint8_t *b, size_t len, unsigned *orient)
{
	unsigned found = 0;
	size_t pos = 8;
	for (int steps = 0; steps < CDR_META_MAX_STEPS && pos + 12 <= len; steps++) {
		uint32_t n = rd32(b + pos, 0);
		const uint8_t *type = b + pos + 4;
		if (n > len - pos - 12)
			break;
		if (!memcmp(type, "tEXt", 4) || !memcmp(type, "zTXt", 4) || !memcmp(type, "iTXt", 4))
			found |= CDR_META_TEXT;
		else if (!memcmp(type, "eXIf", 4))
			found |= meta_exif(b + pos + 8, n, orient);
		else if (!memcmp(type, "iCCP", 4))
			found |= CDR_META_ICC;
		else if (!memcmp(type, "tIME", 4))
			found |= CDR_META_TIME;
		else if (!memcmp(type, "IEND", 4))
			break;
		pos += 12 + n;
	}
	return found;
}

static unsigned meta_webp(const uint8_t *b, size_t len, unsigned *orient)
{
	unsigned found = 0;
	size_t pos = 12;
	for (int steps = 0; steps < CDR_META_MAX_STEPS && pos + 8 <= len; steps++) {
		uint32_t n = rd32(b + pos + 4, 1);
		if (n > len - pos - 8)
			break;
		if (!memcmp(b + pos, "EXIF", 4))
			found |= meta_exif(b + pos + 8, n, orient);
		else if (!memcmp(b + pos, "XMP ", 4))
			found |= CDR_META_XMP;
		else if (!memcmp(b + pos, "ICCP", 4))
			found |= CDR_META_ICC;
		pos += 8 + n + (n & 1);
	}
	return found;
}

unsigned cdr_image_meta_scan(const uint8_t *buf, size_t len, unsigned *ret_orientation)
{
	unsigned orient = 1, found = 0;
	if (len >= 3 && memcmp(buf, "\xff\xd8\xff", 3) == 0)
		found = meta_jpeg(buf, len, &orient);
	else if (len >= 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0)
		found = meta_png(buf, len, &orient);
	else if (len >= 12 && memcmp(buf, "RIFF", 4) == 0 && memcmp(buf + 8, "WEBP", 4) == 0)
		found = meta_webp(buf, len, &orient);
	if (ret_orientation)
		*ret_orientation = orient;
	return found;
}

const char *cdr_image_meta_name(unsigned bit)
{
	switch (bit) {
	case CDR_META_EXIF:
		return "exif";
	case CDR_META_GPS:
		return "gps";
	case CDR_META_XMP:
		return "xmp";
	case CDR_META_IPTC:
		return "iptc";
	case CDR_META_ICC:
		return "icc";
	case CDR_META_COMMENT:
		return "comment";
	case CDR_META_TEXT:
		return "text";
	case CDR_META_TIME:
		return "time";
	case CDR_META_OTHER:
		return "other";
	default:
		return NULL;
	}
}

int cdr_image_meta_orient(const uint8_t *src, uint32_t w, uint32_t h, unsigned ch, unsigned orientation,
			  uint8_t **ret_pixels, uint32_t *ret_w, uint32_t *ret_h)
{
	if (orientation < 2 || orientation > 8) {
		*ret_pixels = NULL;
		*ret_w = w;
		*ret_h = h;
		return 0;
	}
	size_t total = (size_t)w * h * ch;
	uint8_t *dst = malloc(total ? total : 1);
	if (!dst)
		return -ENOMEM;
	/* 5..8 turn the picture a quarter: width and height swap */
	uint32_t dw = orientation >= 5 ? h : w, dh = orientation >= 5 ? w : h;
	for (uint32_t y = 0; y < dh; y++)
		for (uint32_t x = 0; x < dw; x++) {
			uint32_t sx, sy;
			switch (orientation) {
			case 2:
				sx = w - 1 - x, sy = y;
				break; /* mirrored */
			case 3:
				sx = w - 1 - x, sy = h - 1 - y;
				break; /* upside down */
			case 4:
				sx = x, sy = h - 1 - y;
				break; /* mirrored vertically */
			case 5:
				sx = y, sy = x;
				break; /* transposed */
			case 6:
				sx = y, sy = h - 1 - x;
				break; /* turned a quarter clockwise to view */
			case 7:
				sx = w - 1 - y, sy = h - 1 - x;
				break; /* transversed */
			default:
				sx = w - 1 - y, sy = x;
				break; /* 8: a quarter anticlockwise */
			}
			memcpy(dst + ((size_t)y * dw + x) * ch, src + ((size_t)sy * w + sx) * ch, ch);
		}
	*ret_pixels = dst;
	*ret_w = dw;
	*ret_h = dh;
	return 0;
}
