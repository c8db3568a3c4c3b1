/* cdr_image: the kind of every magic (and of near misses), the output type
 * rule for every kind, and the encoder's refusals.  The encoders' output is
 * judged by PIL and exiftool in test/integration/cdr, not here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sanitizer/cdr/cdr_image.h"
#include "test/check.h"

static const struct {
	const char *head; /* 16 bytes */
	enum cdr_image_kind kind;
	enum cdr_image_out out;
} cases[] = {
	{"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", CDR_IMAGE_PNG, CDR_IMAGE_OUT_PNG},
	{"\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1", CDR_IMAGE_JPEG, CDR_IMAGE_OUT_JPEG},
	{"GIF89a\x10\0\x0c\0\0\0\0\0\0\0", CDR_IMAGE_GIF, CDR_IMAGE_OUT_PNG},
	{"GIF87a\x10\0\x0c\0\0\0\0\0\0\0", CDR_IMAGE_GIF, CDR_IMAGE_OUT_PNG},
	{"BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0", CDR_IMAGE_BMP, CDR_IMAGE_OUT_PNG},
	{"II*\0\x08\0\0\0\0\0\0\0\0\0\0\0", CDR_IMAGE_TIFF, CDR_IMAGE_OUT_PNG},
	{"MM\0*\0\0\0\x08\0\0\0\0\0\0\0\0", CDR_IMAGE_TIFF, CDR_IMAGE_OUT_PNG},
	{"RIFF\0\0\0\0WEBPVP8 ", CDR_IMAGE_WEBP_LOSSY, CDR_IMAGE_OUT_JPEG},
	{"RIFF\0\0\0\0WEBPVP8L", CDR_IMAGE_WEBP_LOSSLESS, CDR_IMAGE_OUT_PNG},
	{"RIFF\0\0\0\0WEBPVP8X", CDR_IMAGE_WEBP_EXTENDED, CDR_IMAGE_OUT_PNG},
	/* near misses */
	{"RIFF\0\0\0\0WAVEfmt ", CDR_IMAGE_UNKNOWN, CDR_IMAGE_OUT_PNG},
	{"RIFF\0\0\0\0WEBPVP9 ", CDR_IMAGE_UNKNOWN, CDR_IMAGE_OUT_PNG},
	{"\x89PNG\r\n\x1a\r\0\0\0\rIHDR", CDR_IMAGE_UNKNOWN, CDR_IMAGE_OUT_PNG},
	{"GIF88a\x10\0\x0c\0\0\0\0\0\0\0", CDR_IMAGE_UNKNOWN, CDR_IMAGE_OUT_PNG},
	{"II+\0\x08\0\0\0\0\0\0\0\0\0\0\0", CDR_IMAGE_UNKNOWN, CDR_IMAGE_OUT_PNG},
	{"<svg xmlns=\"http", CDR_IMAGE_UNKNOWN, CDR_IMAGE_OUT_PNG},
	{"PK\3\4\0\0\0\0\0\0\0\0\0\0\0\0", CDR_IMAGE_UNKNOWN, CDR_IMAGE_OUT_PNG},
};

static void test_kinds(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const uint8_t *h = (const uint8_t *)cases[i].head;
		enum cdr_image_kind k = cdr_image_kind_of(h, 16);
		CHECK(k == cases[i].kind, "case %zu: kind %s", i, cdr_image_kind_name(k));
		CHECK(cdr_image_output_for(k) == cases[i].out, "case %zu", i);
		/* fewer than 16 bytes: never a guess */
		CHECK(cdr_image_kind_of(h, 15) == CDR_IMAGE_UNKNOWN, "case %zu", i);
	}
	CHECK_STR(cdr_image_kind_name(CDR_IMAGE_WEBP_LOSSY), "webp-lossy");
	CHECK_STR(cdr_image_kind_name((enum cdr_image_kind)99), "unknown");
}

static void test_encode(void)
{
	uint8_t px[12] = {0};
	struct cdr_pixels_image img = {2, 2, 3, px};
	char why[64] = "";
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	REQUIRE(f);
	CHECK(cdr_image_encode(&img, CDR_IMAGE_OUT_PNG, f, why, sizeof why) == 0, "%s", why);
	CHECK(cdr_image_encode(&img, CDR_IMAGE_OUT_JPEG, f, why, sizeof why) == 0, "%s", why);
	img.channels = 2;
	CHECK(cdr_image_encode(&img, CDR_IMAGE_OUT_PNG, f, why, sizeof why) == -EINVAL);
	img.channels = 1;
	img.width = 0;
	CHECK(cdr_image_encode(&img, CDR_IMAGE_OUT_JPEG, f, why, sizeof why) == -EINVAL);
	img.width = 70000;
	img.height = 1;
	CHECK(cdr_image_encode(&img, CDR_IMAGE_OUT_JPEG, f, why, sizeof why) == -EINVAL);
	REQUIRE(fclose(f) == 0);
	/* a PNG then a JPEG, each starting with its signature */
	CHECK(len > 8 && memcmp(mem, "\x89PNG\r\n\x1a\n", 8) == 0);
	CHECK(memmem(mem, len, "\xff\xd8\xff\xdb", 4) != NULL, "JPEG without JFIF: SOI then DQT");
	CHECK(memmem(mem, len, "JFIF", 4) == NULL);
	free(mem);
}

int main(void)
{
	test_kinds();
	test_encode();
	return check_done();
}
