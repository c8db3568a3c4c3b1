/* cdr_image: kind by magic, the output type rule, and the metadata-free
 * PNG (libpng) and JPEG (libjpeg-turbo) encoders of the trusted side.
 *
 * Both libraries report errors by longjmp out of a callback; every object
 * touched after setjmp lives in a struct reached through a pointer, so
 * that nothing depends on a non-volatile local after the jump.  Nothing is
 * logged: libpng warnings are dropped, libjpeg's output_message is a no-op. */
#include "sanitizer/cdr/cdr_image.h"

#include <stdio.h>
#include <unistd.h>

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_conv.h"

enum cdr_image_kind cdr_image_kind_of(const uint8_t *head, size_t len)
{
	if (len < 16)
		return CDR_IMAGE_UNKNOWN;
	if (memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0)
		return CDR_IMAGE_PNG;
	if (memcmp(head, "\xff\xd8\xff", 3) == 0)
		return CDR_IMAGE_JPEG;
	if (memcmp(head, "GIF87a", 6) == 0 || memcmp(head, "GIF89a", 6) == 0)
		return CDR_IMAGE_GIF;
	if (memcmp(head, "BM", 2) == 0)
		return CDR_IMAGE_BMP;
	if (memcmp(head, "II*\0", 4) == 0 || memcmp(head, "MM\0*", 4) == 0)
		return CDR_IMAGE_TIFF;
	if (memcmp(head, "RIFF", 4) == 0 && memcmp(head + 8, "WEBP", 4) == 0) {
		if (memcmp(head + 12, "VP8 ", 4) == 0)
			return CDR_IMAGE_WEBP_LOSSY;
		if (memcmp(head + 12, "VP8L", 4) == 0)
			return CDR_IMAGE_WEBP_LOSSLESS;
		if (memcmp(head + 12, "VP8X", 4) == 0)
			return CDR_IMAGE_WEBP_EXTENDED;
	}
	return CDR_IMAGE_UNKNOWN;
}

const char *cdr_image_kind_name(enum cdr_image_kind kind)
{
	static const char *const names[] = {
		[CDR_IMAGE_UNKNOWN] = "unknown",
		[CDR_IMAGE_PNG] = "png",
		[CDR_IMAGE_JPEG] = "jpeg",
		[CDR_IMAGE_GIF] = "gif",
		[CDR_IMAGE_BMP] = "bmp",
		[CDR_IMAGE_TIFF] = "tiff",
		[CDR_IMAGE_WEBP_LOSSY] = "webp-lossy",
		[CDR_IMAGE_WEBP_LOSSLESS] = "webp-lossless",
		[CDR_IMAGE_WEBP_EXTENDED] = "webp-extended",
	};
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

enum cdr_image_out cdr_image_output_for(enum cdr_image_kind kind)
{
	return kind == CDR_IMAGE_JPEG || kind == CDR_IMAGE_WEBP_LOSSY ? CDR_IMAGE_OUT_JPEG : CDR_IMAGE_OUT_PNG;
}

struct png_job {
	jmp_buf jmp;
	png_structp png;
	png_infop info;
};

static void image_png_error(png_structp png, png_const_charp msg)
{
	struct png_job *job = png_get_error_ptr(png);
	(void)msg;
	longjmp(job->jmp, 1);
}

static void image_png_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* PNG: IHDR, IDAT, IEND and nothing else */
static int image_encode_png(const struct cdr_pixels_image *img, FILE *f, char *why, size_t whylen)
{
	struct png_job *job = calloc(1, sizeof *job);
	if (!job)
		return -ENOMEM;
	job->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, job, image_png_error, image_png_warning);
	if (job->png)
		job->info = png_create_info_struct(job->png);
	if (!job->png || !job->info) {
		png_destroy_write_struct(&job->png, &job->info);
		free(job);
		return -ENOMEM;
	}
	volatile int r = 0;
	if (setjmp(job->jmp) == 0) {
		size_t stride = (size_t)img->width * img->channels;
		png_init_io(job->png, f);
		png_set_IHDR(job->png, job->info, img->width, img->height, 8,
			     img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
			     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
		png_write_info(job->png, job->info);
		for (uint32_t y = 0; y < img->height; y++)
			png_write_row(job->png, img->rows + stride * y);
		png_write_end(job->png, NULL);
		if (fflush(f) != 0 || ferror(f))
			r = -EIO;
	} else {
		r = -EIO;
	}
	png_destroy_write_struct(&job->png, &job->info);
	free(job);
	if (r < 0 && why && whylen)
		snprintf(why, whylen, "encode-error");
	return r;
}

struct jpeg_job {
	struct jpeg_error_mgr err; /* first: libjpeg's error pointer is the job */
	jmp_buf jmp;
	struct jpeg_compress_struct c;
	JSAMPROW row; /* libjpeg wants a writable row: each one is copied here */
};

static void image_jpeg_error(j_common_ptr c)
{
	struct jpeg_job *job = (struct jpeg_job *)c->err;
	longjmp(job->jmp, 1);
}

static void image_jpeg_message(j_common_ptr c)
{
	(void)c;
}

/* JPEG: SOI, quantisation and Huffman tables, SOF, SOS, EOI; no APPn, no COM */
static int image_encode_jpeg(const struct cdr_pixels_image *img, FILE *f, char *why, size_t whylen)
{
	struct jpeg_job *job = calloc(1, sizeof *job);
	if (!job)
		return -ENOMEM;
	job->c.err = jpeg_std_error(&job->err);
	job->err.error_exit = image_jpeg_error;
	job->err.output_message = image_jpeg_message;
	size_t stride = (size_t)img->width * img->channels;
	job->row = malloc(stride);
	if (!job->row) {
		free(job);
		return -ENOMEM;
	}
	volatile int r = 0;
	if (setjmp(job->jmp) == 0) {
		jpeg_create_compress(&job->c);
		jpeg_stdio_dest(&job->c, f);
		job->c.image_width = img->width;
		job->c.image_height = img->height;
		job->c.input_components = (int)img->channels;
		job->c.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
		jpeg_set_defaults(&job->c);
		jpeg_set_quality(&job->c, 90, TRUE);
		job->c.write_JFIF_header = FALSE;
		job->c.write_Adobe_marker = FALSE;
		/* 4:4:4: no chroma subsampling, so that coloured text in a scan stays sharp */
		job->c.comp_info[0].h_samp_factor = 1;
		job->c.comp_info[0].v_samp_factor = 1;
		jpeg_start_compress(&job->c, TRUE);
		while (job->c.next_scanline < job->c.image_height) {
			memcpy(job->row, img->rows + stride * job->c.next_scanline, stride);
			jpeg_write_scanlines(&job->c, &job->row, 1);
		}
		jpeg_finish_compress(&job->c);
		if (fflush(f) != 0 || ferror(f))
			r = -EIO;
	} else {
		r = -EIO;
	}
	jpeg_destroy_compress(&job->c);
	free(job->row);
	free(job);
	if (r < 0 && why && whylen)
		snprintf(why, whylen, "encode-error");
	return r;
}

int cdr_image_encode(const struct cdr_pixels_image *img, enum cdr_image_out out, FILE *f, char *why, size_t whylen)
{
	if ((img->channels != 1 && img->channels != 3) || !img->width || !img->height)
		return -EINVAL;
	/* libjpeg's limit (JPEG_MAX_DIMENSION); the pixel caps are below it */
	if (out == CDR_IMAGE_OUT_JPEG && (img->width > 65500 || img->height > 65500))
		return -EINVAL;
	return out == CDR_IMAGE_OUT_JPEG ? image_encode_jpeg(img, f, why, whylen)
					 : image_encode_png(img, f, why, whylen);
}

/* one line of sekisho-cdr-image's report: the metadata the copy lost, the turn */
static int cdr_image_line(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	static const char *const meta[] = {"metadata:exif", "metadata:gps",  "metadata:xmp",
					   "metadata:iptc", "metadata:icc",  "metadata:comment",
					   "metadata:text", "metadata:time", "metadata:other"};
	struct cdr_report *rep = arg;
	if (strcmp(key, "removed") == 0 && cdr_conv_one_of(value, meta, sizeof meta / sizeof meta[0])) {
		cdr_report_removed(rep, "%s", value);
		return 0;
	}
	if (strcmp(key, "orientation") == 0 && value[0] >= '2' && value[0] <= '8' && !value[1])
		return 0;
	return cdr_conv_unexpected(key, why, whylen);
}

/* The handler (cdr.h): sekisho-cdr-image in the sandbox, its pixels
 * validated, a new PNG or JPEG written. */
int cdr_image_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep)
{
	struct cdr_pixels_caps caps;
	struct cdr_sandbox_limits lim = ctx->limits;
	struct cdr_conv_run run;
	uint8_t head[16], *stream = NULL;
	size_t len = 0;
	struct cdr_pixels_image *imgs = NULL;
	size_t n = 0;
	char why[64] = "";
	int r;

	cdr_pixels_caps_default(&caps);
	caps.max_images = 1;
	caps.max_pixels_stream = caps.max_pixels_image;
	lim.out_max = CDR_PIXELS_HEADER_SIZE + caps.max_pixels_image * 3;
	ssize_t got = pread(in_fd, head, sizeof head, 0);
	enum cdr_image_kind kind = cdr_image_kind_of(head, got > 0 ? (size_t)got : 0);
	enum cdr_image_out out = cdr_image_output_for(kind);
	rep->mode = "reencode";

	r = cdr_conv_run(ctx, (const char *const[]){"sekisho-cdr-image", NULL}, in_fd, &lim, cdr_image_line, rep, &run,
			 rep);
	if (r < 0)
		return r;
	r = cdr_conv_read(&run, &stream, &len);
	cdr_conv_run_free(&run);
	if (r < 0)
		return cdr_report_fail(rep, "io-error", "reading the converter's product: %s", strerror(-r));
	r = cdr_pixels_parse(stream, len, &caps, &imgs, &n, why, sizeof why);
	if (r < 0) {
		r = cdr_report_fail(rep, "converter-output", "pixel stream: %s", why);
		goto out;
	}
	int dupfd = dup(out_fd);
	FILE *f = dupfd >= 0 ? fdopen(dupfd, "wb") : NULL;
	if (!f) {
		if (dupfd >= 0)
			close(dupfd);
		r = cdr_report_fail(rep, "io-error", "opening the copy: %s", strerror(errno));
		goto out;
	}
	r = cdr_image_encode(&imgs[0], out, f, why, sizeof why);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r < 0) {
		r = cdr_report_fail(rep, "encode-error", "%s", why);
		goto out;
	}
	snprintf(rep->out_type, sizeof rep->out_type, "%s", out == CDR_IMAGE_OUT_JPEG ? "jpeg" : "png");
	snprintf(rep->out_ext, sizeof rep->out_ext, "%s", out == CDR_IMAGE_OUT_JPEG ? "jpg" : "png");
	snprintf(rep->detail, sizeof rep->detail, "%ux%u", imgs[0].width, imgs[0].height);
out:
	free(imgs);
	free(stream);
	return r;
}
