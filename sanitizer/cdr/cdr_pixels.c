/* cdr_pixels: writer and validating reader of the pixel stream (format in
 * cdr_pixels.h, caps and decisions in docs/cdr.md).
 *
 * The reader parses what a sandboxed converter wrote, so it reads every
 * field once, checks it before any arithmetic that depends on it, and does
 * every size computation in 64 bits against caps that keep it far from
 * overflow.  It never logs; a refusal is -EBADMSG and a reason key. */
#include "sanitizer/cdr/cdr_pixels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t pixels_magic[4] = {'S', 'K', 'P', 'X'};

/* a refusal: the reason key into why, -EBADMSG */
static int pixels_refuse(char *why, size_t whylen, const char *key)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", key);
	return -EBADMSG;
}

void cdr_pixels_caps_default(struct cdr_pixels_caps *ret_caps)
{
	ret_caps->max_width = 20000;
	ret_caps->max_height = 20000;
	ret_caps->max_pixels_image = 50u * 1000 * 1000;
	ret_caps->max_pixels_stream = 200u * 1000 * 1000;
	ret_caps->max_images = 1000;
}

static uint32_t pixels_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void pixels_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int cdr_pixels_header_encode(uint32_t width, uint32_t height, unsigned channels, uint8_t out[CDR_PIXELS_HEADER_SIZE])
{
	if ((channels != 1 && channels != 3) || width == 0 || height == 0)
		return -EINVAL;
	if ((uint64_t)width * channels * height > SIZE_MAX)
		return -EINVAL;
	memcpy(out, pixels_magic, 4);
	out[4] = CDR_PIXELS_VERSION;
	out[5] = (uint8_t)channels;
	out[6] = 8;
	out[7] = 0;
	pixels_put32(out + 8, width);
	pixels_put32(out + 12, height);
	return 0;
}

int cdr_pixels_write(FILE *f, const struct cdr_pixels_image *img)
{
	uint8_t h[CDR_PIXELS_HEADER_SIZE];
	int r = cdr_pixels_header_encode(img->width, img->height, img->channels, h);
	if (r < 0)
		return r;
	size_t bytes = (size_t)img->width * img->channels * img->height;
	if (fwrite(h, 1, sizeof h, f) != sizeof h || fwrite(img->rows, 1, bytes, f) != bytes)
		return -EIO;
	return 0;
}

/* One header at buf (at least CDR_PIXELS_HEADER_SIZE bytes) against caps;
 * on success *ret_img has no rows yet. */
static int pixels_check_header(const uint8_t *buf, const struct cdr_pixels_caps *caps, struct cdr_pixels_image *ret_img,
			       char *why, size_t whylen)
{
	if (memcmp(buf, pixels_magic, 4) != 0)
		return pixels_refuse(why, whylen, "bad-magic");
	if (buf[4] != CDR_PIXELS_VERSION)
		return pixels_refuse(why, whylen, "bad-version");
	if (buf[5] != 1 && buf[5] != 3)
		return pixels_refuse(why, whylen, "bad-channels");
	if (buf[6] != 8)
		return pixels_refuse(why, whylen, "bad-depth");
	if (buf[7] != 0)
		return pixels_refuse(why, whylen, "bad-flags");
	uint32_t w = pixels_get32(buf + 8), h = pixels_get32(buf + 12);
	if (w == 0 || h == 0)
		return pixels_refuse(why, whylen, "zero-size");
	if (w > caps->max_width)
		return pixels_refuse(why, whylen, "width-limit");
	if (h > caps->max_height)
		return pixels_refuse(why, whylen, "height-limit");
	if ((uint64_t)w * h > caps->max_pixels_image)
		return pixels_refuse(why, whylen, "pixel-limit");
	ret_img->width = w;
	ret_img->height = h;
	ret_img->channels = buf[5];
	ret_img->rows = NULL;
	return 0;
}

int cdr_pixels_parse(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps,
		     struct cdr_pixels_image **ret_images, size_t *ret_count, char *why, size_t whylen)
{
	*ret_images = NULL;
	*ret_count = 0;
	if (!caps->max_width || !caps->max_height || !caps->max_pixels_image || !caps->max_pixels_stream ||
	    !caps->max_images)
		return -EINVAL;
	if (len == 0)
		return pixels_refuse(why, whylen, "empty");

	/* first pass: headers and sizes only, so that the array is allocated
	 * for the exact count and nothing is kept from a refused stream */
	size_t pos = 0, count = 0;
	uint64_t stream_pixels = 0;
	while (pos < len) {
		struct cdr_pixels_image img;
		if (len - pos < CDR_PIXELS_HEADER_SIZE)
			return pixels_refuse(why, whylen, "short-header");
		if (count == caps->max_images)
			return pixels_refuse(why, whylen, "image-count-limit");
		int r = pixels_check_header(buf + pos, caps, &img, why, whylen);
		if (r < 0)
			return r;
		uint64_t px = (uint64_t)img.width * img.height;
		if (px > caps->max_pixels_stream - stream_pixels)
			return pixels_refuse(why, whylen, "stream-pixel-limit");
		stream_pixels += px;
		/* px * channels could wrap with caps near 2^64: divide instead */
		pos += CDR_PIXELS_HEADER_SIZE;
		if (px > (len - pos) / img.channels)
			return pixels_refuse(why, whylen, "truncated");
		pos += (size_t)px * img.channels;
		count++;
	}

	struct cdr_pixels_image *images = calloc(count, sizeof *images);
	if (!images)
		return -ENOMEM;
	pos = 0;
	for (size_t i = 0; i < count; i++) {
		int r = pixels_check_header(buf + pos, caps, &images[i], why, whylen);
		if (r < 0) { /* cannot happen: the first pass accepted the same bytes */
			free(images);
			return r;
		}
		pos += CDR_PIXELS_HEADER_SIZE;
		images[i].rows = buf + pos;
		pos += (size_t)images[i].width * images[i].height * images[i].channels;
	}
	*ret_images = images;
	*ret_count = count;
	return 0;
}
