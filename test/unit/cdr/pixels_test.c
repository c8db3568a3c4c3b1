/* cdr_pixels: streams the writer makes are read back exactly (one image
 * and several), and every malformed or over-cap stream is refused with
 * -EBADMSG and its reason key (table-driven). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_pixels.h"
#include "test/check.h"

/* a stream built by hand: header fields as given, then body bytes */
struct stream {
	uint8_t buf[256];
	size_t len;
};

static void put_header(struct stream *s, const char *magic, uint8_t ver, uint8_t ch, uint8_t depth, uint8_t flags,
		       uint32_t w, uint32_t h)
{
	uint8_t *p = s->buf + s->len;
	memcpy(p, magic, 4);
	p[4] = ver;
	p[5] = ch;
	p[6] = depth;
	p[7] = flags;
	for (int i = 0; i < 4; i++) {
		p[8 + i] = (uint8_t)(w >> (24 - 8 * i));
		p[12 + i] = (uint8_t)(h >> (24 - 8 * i));
	}
	s->len += CDR_PIXELS_HEADER_SIZE;
}

static void put_body(struct stream *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s->buf[s->len + i] = (uint8_t)(i * 7);
	s->len += n;
}

static const struct cdr_pixels_caps small_caps = {
	.max_width = 8, .max_height = 6, .max_pixels_image = 24, .max_pixels_stream = 30, .max_images = 3};

enum bad {
	BAD_EMPTY,
	BAD_SHORT,
	BAD_MAGIC,
	BAD_VERSION,
	BAD_CHANNELS_0,
	BAD_CHANNELS_2,
	BAD_CHANNELS_4,
	BAD_DEPTH,
	BAD_FLAGS,
	BAD_ZERO_W,
	BAD_ZERO_H,
	BAD_WIDTH,
	BAD_HEIGHT,
	BAD_PIXELS,
	BAD_STREAM_PIXELS,
	BAD_COUNT,
	BAD_TRUNCATED,
	BAD_ONE_SHORT,
	BAD_TRAILING,
	BAD_TRAILING_HEADER,
	BAD_HUGE,
};

static void build(enum bad b, struct stream *s)
{
	memset(s, 0, sizeof *s);
	switch (b) {
	case BAD_EMPTY:
		break;
	case BAD_SHORT:
		put_header(s, "SKPX", 1, 1, 8, 0, 2, 2);
		s->len = 15;
		break;
	case BAD_MAGIC:
		put_header(s, "SKPY", 1, 1, 8, 0, 2, 2);
		put_body(s, 4);
		break;
	case BAD_VERSION:
		put_header(s, "SKPX", 2, 1, 8, 0, 2, 2);
		put_body(s, 4);
		break;
	case BAD_CHANNELS_0:
	case BAD_CHANNELS_2:
	case BAD_CHANNELS_4:
		put_header(s, "SKPX", 1, b == BAD_CHANNELS_0 ? 0 : b == BAD_CHANNELS_2 ? 2 : 4, 8, 0, 1, 1);
		put_body(s, 4);
		break;
	case BAD_DEPTH:
		put_header(s, "SKPX", 1, 1, 16, 0, 2, 1);
		put_body(s, 4);
		break;
	case BAD_FLAGS:
		put_header(s, "SKPX", 1, 1, 8, 1, 2, 2);
		put_body(s, 4);
		break;
	case BAD_ZERO_W:
		put_header(s, "SKPX", 1, 1, 8, 0, 0, 2);
		break;
	case BAD_ZERO_H:
		put_header(s, "SKPX", 1, 1, 8, 0, 2, 0);
		break;
	case BAD_WIDTH:
		put_header(s, "SKPX", 1, 1, 8, 0, 9, 1);
		put_body(s, 9);
		break;
	case BAD_HEIGHT:
		put_header(s, "SKPX", 1, 1, 8, 0, 1, 7);
		put_body(s, 7);
		break;
	case BAD_PIXELS: /* 5 x 5 = 25 > 24, each side within its cap */
		put_header(s, "SKPX", 1, 1, 8, 0, 5, 5);
		put_body(s, 25);
		break;
	case BAD_STREAM_PIXELS: /* 24 + 8 = 32 > 30 */
		put_header(s, "SKPX", 1, 1, 8, 0, 6, 4);
		put_body(s, 24);
		put_header(s, "SKPX", 1, 1, 8, 0, 4, 2);
		put_body(s, 8);
		break;
	case BAD_COUNT:
		for (int i = 0; i < 4; i++) {
			put_header(s, "SKPX", 1, 1, 8, 0, 1, 1);
			put_body(s, 1);
		}
		break;
	case BAD_TRUNCATED:
		put_header(s, "SKPX", 1, 3, 8, 0, 2, 2);
		put_body(s, 11);
		break;
	case BAD_ONE_SHORT: /* a good image, then one whose body is short by one byte */
		put_header(s, "SKPX", 1, 1, 8, 0, 2, 2);
		put_body(s, 4);
		put_header(s, "SKPX", 1, 3, 8, 0, 1, 2);
		put_body(s, 5);
		break;
	case BAD_TRAILING:
		put_header(s, "SKPX", 1, 1, 8, 0, 2, 2);
		put_body(s, 5);
		break;
	case BAD_TRAILING_HEADER: /* a full header after the last image, no body */
		put_header(s, "SKPX", 1, 1, 8, 0, 2, 2);
		put_body(s, 4);
		put_header(s, "SKPX", 1, 1, 8, 0, 2, 2);
		break;
	case BAD_HUGE: /* 2^32-1 square: every product must be done in 64 bits against the caps */
		put_header(s, "SKPX", 1, 3, 8, 0, 0xffffffffu, 0xffffffffu);
		break;
	}
}

static const struct {
	enum bad bad;
	const char *why;
	int huge_caps; /* use caps that let the dimensions through */
} bad_cases[] = {
	{BAD_EMPTY, "empty", 0},
	{BAD_SHORT, "short-header", 0},
	{BAD_MAGIC, "bad-magic", 0},
	{BAD_VERSION, "bad-version", 0},
	{BAD_CHANNELS_0, "bad-channels", 0},
	{BAD_CHANNELS_2, "bad-channels", 0},
	{BAD_CHANNELS_4, "bad-channels", 0},
	{BAD_DEPTH, "bad-depth", 0},
	{BAD_FLAGS, "bad-flags", 0},
	{BAD_ZERO_W, "zero-size", 0},
	{BAD_ZERO_H, "zero-size", 0},
	{BAD_WIDTH, "width-limit", 0},
	{BAD_HEIGHT, "height-limit", 0},
	{BAD_PIXELS, "pixel-limit", 0},
	{BAD_STREAM_PIXELS, "stream-pixel-limit", 0},
	{BAD_COUNT, "image-count-limit", 0},
	{BAD_TRUNCATED, "truncated", 0},
	{BAD_ONE_SHORT, "truncated", 0},
	{BAD_TRAILING, "short-header", 0},
	{BAD_TRAILING_HEADER, "truncated", 0},
	{BAD_HUGE, "width-limit", 0},
	{BAD_HUGE, "truncated", 1},
};

static void test_refusals(void)
{
	const struct cdr_pixels_caps huge = {.max_width = UINT32_MAX,
					     .max_height = UINT32_MAX,
					     .max_pixels_image = UINT64_MAX,
					     .max_pixels_stream = UINT64_MAX,
					     .max_images = UINT32_MAX};
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		struct stream s;
		build(bad_cases[i].bad, &s);
		struct cdr_pixels_image *imgs = (void *)1;
		size_t n = 99;
		char why[64] = "";
		int r = cdr_pixels_parse(s.buf, s.len, bad_cases[i].huge_caps ? &huge : &small_caps, &imgs, &n, why,
					 sizeof why);
		CHECK(r == -EBADMSG, "case %zu: r = %d", i, r);
		CHECK_STR(why, bad_cases[i].why);
		CHECK(imgs == NULL && n == 0, "case %zu: outputs not cleared", i);
	}
}

/* the writer's output comes back image by image, byte for byte */
static void test_round_trip(void)
{
	uint8_t grey[3 * 2], rgb[2 * 4 * 3];
	for (size_t i = 0; i < sizeof grey; i++)
		grey[i] = (uint8_t)(i + 1);
	for (size_t i = 0; i < sizeof rgb; i++)
		rgb[i] = (uint8_t)(200 - i);
	struct cdr_pixels_image in[2] = {{3, 2, 1, grey}, {2, 4, 3, rgb}};

	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	REQUIRE(f);
	CHECK(cdr_pixels_write(f, &in[0]) == 0);
	CHECK(cdr_pixels_write(f, &in[1]) == 0);
	REQUIRE(fclose(f) == 0);
	CHECK_EQ_U(memlen, 2 * CDR_PIXELS_HEADER_SIZE + sizeof grey + sizeof rgb);

	struct cdr_pixels_caps caps;
	cdr_pixels_caps_default(&caps);
	struct cdr_pixels_image *out = NULL;
	size_t n = 0;
	char why[64] = "";
	CHECK(cdr_pixels_parse((const uint8_t *)mem, memlen, &caps, &out, &n, why, sizeof why) == 0, "%s", why);
	REQUIRE(n == 2 && out);
	for (size_t i = 0; i < 2; i++) {
		CHECK_EQ_U(out[i].width, in[i].width);
		CHECK_EQ_U(out[i].height, in[i].height);
		CHECK_EQ_U(out[i].channels, in[i].channels);
		CHECK(memcmp(out[i].rows, in[i].rows, (size_t)in[i].width * in[i].height * in[i].channels) == 0);
	}
	free(out);

	/* exactly at every cap is accepted */
	caps = (struct cdr_pixels_caps){
		.max_width = 3, .max_height = 4, .max_pixels_image = 8, .max_pixels_stream = 14, .max_images = 2};
	CHECK(cdr_pixels_parse((const uint8_t *)mem, memlen, &caps, &out, &n, why, sizeof why) == 0, "%s", why);
	free(out);
	caps.max_pixels_stream = 13;
	CHECK(cdr_pixels_parse((const uint8_t *)mem, memlen, &caps, &out, &n, why, sizeof why) == -EBADMSG);
	CHECK_STR(why, "stream-pixel-limit");
	caps.max_pixels_stream = 0;
	CHECK(cdr_pixels_parse((const uint8_t *)mem, memlen, &caps, &out, &n, why, sizeof why) == -EINVAL);
	free(mem);
}

static void test_writer_refusals(void)
{
	uint8_t h[CDR_PIXELS_HEADER_SIZE];
	CHECK(cdr_pixels_header_encode(1, 1, 2, h) == -EINVAL);
	CHECK(cdr_pixels_header_encode(1, 1, 4, h) == -EINVAL);
	CHECK(cdr_pixels_header_encode(0, 1, 1, h) == -EINVAL);
	CHECK(cdr_pixels_header_encode(1, 0, 3, h) == -EINVAL);
	CHECK(cdr_pixels_header_encode(1, 1, 3, h) == 0);
	CHECK(memcmp(h, "SKPX\x01\x03\x08\x00\x00\x00\x00\x01\x00\x00\x00\x01", 16) == 0);
}

int main(void)
{
	test_refusals();
	test_round_trip();
	test_writer_refusals();
	return check_done();
}
