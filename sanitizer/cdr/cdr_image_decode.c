/* cdr_image_decode: JPEG, PNG, GIF, BMP, TIFF and WebP decoders of the
 * image converter (contract in cdr_image_decode.h).  This code runs on
 * hostile files inside the sandbox; the sandbox is the real boundary, the
 * checks here keep an honest decoder inside its memory budget and turn a
 * refusal into a reason key that the trusted side can report.
 *
 * Each decoder reads the dimensions first, calls decode_check_size, and
 * only then allocates width * height * (decoder channels) bytes; the
 * result is flattened in place to 1 or 3 channels (decode_flatten). */
#include "sanitizer/cdr/cdr_image_decode.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>
#include <webp/decode.h>

#include "sanitizer/cdr/cdr_image.h"

/* what the libraries may allocate beyond the pixel buffer */
#define DECODE_CHUNK_MAX (8u << 20)      /* one PNG ancillary chunk */
#define DECODE_JPEG_MEMORY (512ul << 20) /* libjpeg's own pools */
#define DECODE_JPEG_SCANS 200            /* progressive scans (each one a full pass) */
#define DECODE_TIFF_ALLOC (640l << 20)   /* one libtiff allocation */

static int decode_refuse(char *why, size_t whylen, int err, const char *key)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", key);
	return err;
}

/* the caps on a size read from a header, before any allocation */
static int decode_check_size(uint64_t w, uint64_t h, const struct cdr_pixels_caps *caps, char *why, size_t whylen)
{
	if (w == 0 || h == 0)
		return decode_refuse(why, whylen, -EBADMSG, "zero-size");
	if (w > caps->max_width)
		return decode_refuse(why, whylen, -EBADMSG, "width-limit");
	if (h > caps->max_height)
		return decode_refuse(why, whylen, -EBADMSG, "height-limit");
	if (w * h > caps->max_pixels_image)
		return decode_refuse(why, whylen, -EBADMSG, "pixel-limit");
	return 0;
}

/* n pixels of in_ch channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) at p to
 * 1 or 3 channels in place, alpha composited over white */
static unsigned decode_flatten(uint8_t *p, size_t n, unsigned in_ch)
{
	unsigned out_ch = in_ch <= 2 ? 1 : 3, colours = out_ch;
	if (in_ch == out_ch)
		return out_ch;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *s = p + i * in_ch;
		unsigned a = s[colours];
		uint8_t px[3];
		for (unsigned c = 0; c < colours; c++)
			px[c] = (uint8_t)((s[c] * a + 255 * (255 - a) + 127) / 255);
		memcpy(p + i * out_ch, px, out_ch);
	}
	return out_ch;
}

/* the result into ret, which takes the buffer from *pix */
static void decode_take(struct cdr_image_decoded *ret, uint32_t w, uint32_t h, unsigned ch, uint8_t **pix)
{
	ret->width = w;
	ret->height = h;
	ret->channels = ch;
	ret->pixels = *pix;
	*pix = NULL;
}

/* --- PNG (libpng) --- */

struct png_in {
	jmp_buf jmp;
	const uint8_t *buf;
	size_t len, pos;
	png_structp png;
	png_infop info;
	png_bytep *rows;
	uint8_t *pix;
};

static void decode_png_read(png_structp png, png_bytep out, size_t n)
{
	struct png_in *in = png_get_io_ptr(png);
	if (n > in->len - in->pos)
		png_error(png, "truncated");
	memcpy(out, in->buf + in->pos, n);
	in->pos += n;
}

static void decode_png_error(png_structp png, png_const_charp msg)
{
	struct png_in *in = png_get_error_ptr(png);
	(void)msg;
	longjmp(in->jmp, 1);
}

static void decode_png_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static int decode_png(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps, struct cdr_image_decoded *ret,
		      char *why, size_t whylen)
{
	struct png_in *in = calloc(1, sizeof *in);
	if (!in)
		return -ENOMEM;
	in->buf = buf;
	in->len = len;
	in->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, in, decode_png_error, decode_png_warning);
	if (in->png)
		in->info = png_create_info_struct(in->png);
	if (!in->png || !in->info) {
		png_destroy_read_struct(&in->png, &in->info, NULL);
		free(in);
		return -ENOMEM;
	}
	volatile int r = -EBADMSG;
	const char *volatile key = "decode-error";
	if (setjmp(in->jmp) != 0) { /* the library failed: its error callback jumped here */
		r = -EBADMSG;
		key = "decode-error";
		goto out;
	}
	png_set_read_fn(in->png, in, decode_png_read);
	png_set_chunk_malloc_max(in->png, DECODE_CHUNK_MAX);
	png_set_chunk_cache_max(in->png, 1000);
	png_read_info(in->png, in->info);
	uint32_t w = png_get_image_width(in->png, in->info), h = png_get_image_height(in->png, in->info);
	r = decode_check_size(w, h, caps, why, whylen);
	if (r < 0) {
		key = NULL;
		goto out;
	}
	int ct = png_get_color_type(in->png, in->info);
	png_set_strip_16(in->png);
	png_set_packing(in->png);
	if (ct == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(in->png);
	if (ct == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(in->png, in->info) < 8)
		png_set_expand_gray_1_2_4_to_8(in->png);
	if (png_get_valid(in->png, in->info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(in->png);
	png_set_interlace_handling(in->png);
	png_read_update_info(in->png, in->info);
	unsigned ch = png_get_channels(in->png, in->info);
	if (ch < 1 || ch > 4 || png_get_rowbytes(in->png, in->info) != (size_t)w * ch) {
		r = -EBADMSG;
		goto out;
	}
	in->pix = malloc((size_t)w * h * ch);
	in->rows = malloc(sizeof *in->rows * h);
	if (!in->pix || !in->rows) {
		r = -ENOMEM;
		key = "out-of-memory";
		goto out;
	}
	for (uint32_t y = 0; y < h; y++)
		in->rows[y] = in->pix + (size_t)w * ch * y;
	png_read_image(in->png, in->rows);
	decode_take(ret, w, h, decode_flatten(in->pix, (size_t)w * h, ch), &in->pix);
	r = 0;
	key = NULL;
out:
	if (key)
		decode_refuse(why, whylen, r, key);
	png_destroy_read_struct(&in->png, &in->info, NULL);
	free(in->rows);
	free(in->pix);
	free(in);
	return r;
}

/* --- JPEG (libjpeg-turbo) --- */

struct jpeg_in {
	struct jpeg_error_mgr err; /* first: libjpeg's error pointer is the job */
	jmp_buf jmp;
	struct jpeg_decompress_struct d;
	struct jpeg_progress_mgr progress;
	uint8_t *pix;
};

static void decode_jpeg_error(j_common_ptr c)
{
	longjmp(((struct jpeg_in *)c->err)->jmp, 1);
}

static void decode_jpeg_message(j_common_ptr c)
{
	(void)c;
}

/* a progressive JPEG can carry thousands of scans, each a full pass over
 * the coefficients: a time bomb in a few kilobytes */
static void decode_jpeg_progress(j_common_ptr c)
{
	j_decompress_ptr d = (j_decompress_ptr)c;
	if (c->is_decompressor && d->input_scan_number > DECODE_JPEG_SCANS)
		decode_jpeg_error(c);
}

static int decode_jpeg(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps,
		       struct cdr_image_decoded *ret, char *why, size_t whylen)
{
	struct jpeg_in *in = calloc(1, sizeof *in);
	if (!in)
		return -ENOMEM;
	in->d.err = jpeg_std_error(&in->err);
	in->err.error_exit = decode_jpeg_error;
	in->err.output_message = decode_jpeg_message;
	volatile int r = -EBADMSG;
	const char *volatile key = "decode-error";
	if (setjmp(in->jmp) != 0) { /* the library failed: its error callback jumped here */
		r = -EBADMSG;
		key = "decode-error";
		goto out;
	}
	jpeg_create_decompress(&in->d);
	in->d.mem->max_memory_to_use = DECODE_JPEG_MEMORY;
	in->progress.progress_monitor = decode_jpeg_progress;
	in->d.progress = &in->progress;
	jpeg_mem_src(&in->d, buf, len);
	jpeg_read_header(&in->d, TRUE);
	r = decode_check_size(in->d.image_width, in->d.image_height, caps, why, whylen);
	if (r < 0) {
		key = NULL;
		goto out;
	}
	J_COLOR_SPACE cs = in->d.jpeg_color_space;
	int cmyk = cs == JCS_CMYK || cs == JCS_YCCK;
	in->d.out_color_space = cs == JCS_GRAYSCALE ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
	jpeg_start_decompress(&in->d);
	unsigned ch = (unsigned)in->d.output_components;
	uint32_t w = in->d.output_width, h = in->d.output_height;
	if (w != in->d.image_width || h != in->d.image_height || ch != (cmyk ? 4u : cs == JCS_GRAYSCALE ? 1u : 3u)) {
		r = -EBADMSG;
		goto out;
	}
	in->pix = malloc((size_t)w * h * ch);
	if (!in->pix) {
		r = -ENOMEM;
		key = "out-of-memory";
		goto out;
	}
	while (in->d.output_scanline < h) {
		JSAMPROW row = in->pix + (size_t)w * ch * in->d.output_scanline;
		jpeg_read_scanlines(&in->d, &row, 1);
	}
	jpeg_finish_decompress(&in->d);
	if (cmyk) { /* Adobe's inverted CMYK, the only kind in the wild: RGB = (255 - C) * (255 - K) */
		int inv = in->d.saw_Adobe_marker;
		for (size_t i = 0; i < (size_t)w * h; i++) {
			const uint8_t *s = in->pix + i * 4;
			unsigned k = inv ? s[3] : 255u - s[3];
			uint8_t px[3];
			for (int c = 0; c < 3; c++)
				px[c] = (uint8_t)(((inv ? s[c] : 255u - s[c]) * k + 127) / 255);
			memcpy(in->pix + i * 3, px, 3);
		}
		ch = 3;
	}
	decode_take(ret, w, h, ch, &in->pix);
	r = 0;
	key = NULL;
out:
	if (key)
		decode_refuse(why, whylen, r, key);
	jpeg_destroy_decompress(&in->d);
	free(in->pix);
	free(in);
	return r;
}

/* --- GIF (giflib): the first frame on the logical screen --- */

struct mem_in {
	const uint8_t *buf;
	size_t len, pos;
};

static int decode_gif_read(GifFileType *g, GifByteType *out, int n)
{
	struct mem_in *in = g->UserData;
	size_t k = n < 0 ? 0 : (size_t)n;
	if (k > in->len - in->pos)
		k = in->len - in->pos;
	memcpy(out, in->buf + in->pos, k);
	in->pos += k;
	return (int)k;
}

/* the first image record's pixels onto a white canvas of the screen size */
static int decode_gif_frame(GifFileType *g, int transparent, uint8_t *canvas, char *why, size_t whylen)
{
	const GifImageDesc *d = &g->Image;
	const ColorMapObject *cm = d->ColorMap ? d->ColorMap : g->SColorMap;
	if (!cm || !cm->Colors || cm->ColorCount <= 0)
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	if (d->Width <= 0 || d->Height <= 0 || d->Left < 0 || d->Top < 0)
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	uint8_t *line = malloc((size_t)d->Width);
	if (!line)
		return decode_refuse(why, whylen, -ENOMEM, "out-of-memory");
	static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
	int passes = d->Interlace ? 4 : 1;
	for (int p = 0; p < passes; p++) {
		for (int y = d->Interlace ? start[p] : 0; y < d->Height; y += d->Interlace ? step[p] : 1) {
			if (DGifGetLine(g, line, d->Width) == GIF_ERROR) {
				free(line);
				return decode_refuse(why, whylen, -EBADMSG, "decode-error");
			}
			long sy = (long)d->Top + y;
			if (sy >= g->SHeight)
				continue; /* frames larger than the screen are clipped, as browsers do */
			for (int x = 0; x < d->Width && (long)d->Left + x < g->SWidth; x++) {
				int idx = line[x];
				if (idx == transparent)
					continue;
				if (idx >= cm->ColorCount)
					idx = 0;
				uint8_t *o =
					canvas + ((size_t)sy * (size_t)g->SWidth + (size_t)d->Left + (size_t)x) * 3;
				o[0] = cm->Colors[idx].Red;
				o[1] = cm->Colors[idx].Green;
				o[2] = cm->Colors[idx].Blue;
			}
		}
	}
	free(line);
	return 0;
}

static int decode_gif(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps, struct cdr_image_decoded *ret,
		      char *why, size_t whylen)
{
	struct mem_in in = {buf, len, 0};
	int err = 0;
	GifFileType *g = DGifOpen(&in, decode_gif_read, &err);
	if (!g)
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	int r = decode_check_size(g->SWidth < 0 ? 0 : (uint64_t)g->SWidth, g->SHeight < 0 ? 0 : (uint64_t)g->SHeight,
				  caps, why, whylen);
	uint8_t *canvas = NULL;
	int transparent = -1;
	while (r == 0) {
		GifRecordType rt;
		if (DGifGetRecordType(g, &rt) == GIF_ERROR) {
			r = decode_refuse(why, whylen, -EBADMSG, "decode-error");
		} else if (rt == EXTENSION_RECORD_TYPE) {
			int code = 0;
			GifByteType *ext = NULL;
			if (DGifGetExtension(g, &code, &ext) == GIF_ERROR) {
				r = decode_refuse(why, whylen, -EBADMSG, "decode-error");
				break;
			}
			if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1))
				transparent = ext[4];
			while (ext && r == 0)
				if (DGifGetExtensionNext(g, &ext) == GIF_ERROR)
					r = decode_refuse(why, whylen, -EBADMSG, "decode-error");
		} else if (rt == IMAGE_DESC_RECORD_TYPE) {
			if (DGifGetImageDesc(g) == GIF_ERROR) {
				r = decode_refuse(why, whylen, -EBADMSG, "decode-error");
				break;
			}
			size_t n = (size_t)g->SWidth * (size_t)g->SHeight * 3;
			/* the frame's own size bounds the line buffer and the work */
			r = decode_check_size((uint64_t)g->Image.Width, (uint64_t)g->Image.Height, caps, why, whylen);
			if (r < 0)
				break;
			canvas = malloc(n);
			if (!canvas) {
				r = decode_refuse(why, whylen, -ENOMEM, "out-of-memory");
				break;
			}
			memset(canvas, 255, n);
			r = decode_gif_frame(g, transparent, canvas, why, whylen);
			break;
		} else if (rt == TERMINATE_RECORD_TYPE) {
			r = decode_refuse(why, whylen, -EBADMSG, "no-image");
		}
	}
	uint32_t w = (uint32_t)g->SWidth, h = (uint32_t)g->SHeight;
	DGifCloseFile(g, &err);
	if (r < 0) {
		free(canvas);
		return r;
	}
	ret->width = w;
	ret->height = h;
	ret->channels = 3;
	ret->pixels = canvas;
	return 0;
}

/* --- BMP: a small reader for the common kinds (Windows 3+ headers,
 * uncompressed, 8-bit palette, 24- and 32-bit) --- */

static uint32_t bmp_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int decode_bmp(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps, struct cdr_image_decoded *ret,
		      char *why, size_t whylen)
{
	if (len < 54)
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	uint32_t off = bmp_u32(buf + 10), dib = bmp_u32(buf + 14);
	int32_t sw = (int32_t)bmp_u32(buf + 18), sh = (int32_t)bmp_u32(buf + 22);
	unsigned planes = buf[26] | buf[27] << 8, bpp = buf[28] | buf[29] << 8;
	uint32_t compression = bmp_u32(buf + 30), used = bmp_u32(buf + 46);
	if (dib < 40 || dib > len - 14 || planes != 1)
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	if (compression != 0 || (bpp != 8 && bpp != 24 && bpp != 32))
		return decode_refuse(why, whylen, -EBADMSG, "unsupported-variant");
	int top_down = sh < 0;
	uint64_t w = sw < 0 ? 0 : (uint64_t)sw, h = sh < 0 ? (uint64_t)(-(int64_t)sh) : (uint64_t)sh;
	int r = decode_check_size(w, h, caps, why, whylen);
	if (r < 0)
		return r;
	uint64_t stride = (w * bpp + 31) / 32 * 4;
	if (off > len || stride * h > len - off)
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	uint64_t ncolours = used ? used : 256;
	const uint8_t *palette = buf + 14 + dib;
	if (bpp == 8 && (ncolours > 256 || (uint64_t)(palette - buf) + ncolours * 4 > off))
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	uint8_t *pix = malloc((size_t)(w * h * 3));
	if (!pix)
		return decode_refuse(why, whylen, -ENOMEM, "out-of-memory");
	for (uint64_t y = 0; y < h; y++) {
		const uint8_t *row = buf + off + stride * (top_down ? y : h - 1 - y);
		uint8_t *o = pix + y * w * 3;
		for (uint64_t x = 0; x < w; x++, o += 3) {
			const uint8_t *bgr =
				bpp == 8 ? (row[x] < ncolours ? palette + row[x] * 4 : palette) : row + x * (bpp / 8);
			o[0] = bgr[2];
			o[1] = bgr[1];
			o[2] = bgr[0];
		}
	}
	ret->width = (uint32_t)w;
	ret->height = (uint32_t)h;
	ret->channels = 3;
	ret->pixels = pix;
	return 0;
}

/* --- TIFF (libtiff): the first page through the RGBA interface --- */

struct tiff_in {
	const uint8_t *buf;
	size_t len;
	uint64_t pos;
};

static tmsize_t decode_tiff_read(thandle_t h, void *out, tmsize_t n)
{
	struct tiff_in *in = h;
	if (n <= 0 || in->pos >= in->len)
		return 0;
	size_t k = (size_t)n < in->len - in->pos ? (size_t)n : in->len - (size_t)in->pos;
	memcpy(out, in->buf + in->pos, k);
	in->pos += k;
	return (tmsize_t)k;
}

static tmsize_t decode_tiff_write(thandle_t h, void *p, tmsize_t n)
{
	(void)h;
	(void)p;
	(void)n;
	return 0;
}

static toff_t decode_tiff_seek(thandle_t h, toff_t off, int whence)
{
	struct tiff_in *in = h;
	uint64_t base = whence == SEEK_CUR ? in->pos : whence == SEEK_END ? in->len : 0;
	if (off > UINT64_MAX - base)
		return (toff_t)-1;
	in->pos = base + off;
	return in->pos;
}

static int decode_tiff_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t decode_tiff_size(thandle_t h)
{
	return ((struct tiff_in *)h)->len;
}

static int decode_tiff_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0;
}

static void decode_tiff_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

static int decode_tiff_quiet(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)user;
	(void)module;
	(void)fmt;
	(void)ap;
	return 1; /* handled: libtiff prints nothing */
}

static int decode_tiff(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps,
		       struct cdr_image_decoded *ret, char *why, size_t whylen)
{
	struct tiff_in in = {buf, len, 0};
	TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
	if (!opts)
		return decode_refuse(why, whylen, -ENOMEM, "out-of-memory");
	TIFFOpenOptionsSetMaxSingleMemAlloc(opts, DECODE_TIFF_ALLOC);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, decode_tiff_quiet, NULL);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, decode_tiff_quiet, NULL);
	/* "m": no memory mapping, the reader callbacks above only */
	TIFF *tif = TIFFClientOpenExt("input", "rm", &in, decode_tiff_read, decode_tiff_write, decode_tiff_seek,
				      decode_tiff_close, decode_tiff_size, decode_tiff_map, decode_tiff_unmap, opts);
	TIFFOpenOptionsFree(opts);
	if (!tif)
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	uint32_t w = 0, h = 0;
	char emsg[1024];
	int r = 0;
	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
		r = decode_refuse(why, whylen, -EBADMSG, "decode-error");
	if (r == 0)
		r = decode_check_size(w, h, caps, why, whylen);
	if (r == 0 && !TIFFRGBAImageOK(tif, emsg))
		r = decode_refuse(why, whylen, -EBADMSG, "unsupported-variant");
	uint32_t *raster = NULL;
	if (r == 0 && !(raster = malloc((size_t)w * h * 4)))
		r = decode_refuse(why, whylen, -ENOMEM, "out-of-memory");
	if (r == 0 && !TIFFReadRGBAImageOriented(tif, w, h, raster, ORIENTATION_TOPLEFT, 0))
		r = decode_refuse(why, whylen, -EBADMSG, "decode-error");
	TIFFClose(tif);
	if (r < 0) {
		free(raster);
		return r;
	}
	/* libtiff packs ABGR in a host-order word: unpack to RGBA bytes */
	uint8_t *pix = (uint8_t *)raster;
	for (size_t i = 0; i < (size_t)w * h; i++) {
		uint32_t v = raster[i];
		uint8_t px[4] = {(uint8_t)TIFFGetR(v), (uint8_t)TIFFGetG(v), (uint8_t)TIFFGetB(v),
				 (uint8_t)TIFFGetA(v)};
		memcpy(pix + i * 4, px, 4);
	}
	ret->width = w;
	ret->height = h;
	ret->channels = decode_flatten(pix, (size_t)w * h, 4);
	ret->pixels = pix;
	return 0;
}

/* --- WebP (libwebp): still images; animated ones are refused --- */

static int decode_webp(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps,
		       struct cdr_image_decoded *ret, char *why, size_t whylen)
{
	WebPBitstreamFeatures f;
	if (WebPGetFeatures(buf, len, &f) != VP8_STATUS_OK)
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	if (f.has_animation)
		return decode_refuse(why, whylen, -EBADMSG, "unsupported-variant");
	int r = decode_check_size(f.width < 0 ? 0 : (uint64_t)f.width, f.height < 0 ? 0 : (uint64_t)f.height, caps, why,
				  whylen);
	if (r < 0)
		return r;
	size_t n = (size_t)f.width * (size_t)f.height;
	uint8_t *pix = malloc(n * 4);
	if (!pix)
		return decode_refuse(why, whylen, -ENOMEM, "out-of-memory");
	if (!WebPDecodeRGBAInto(buf, len, pix, n * 4, f.width * 4)) {
		free(pix);
		return decode_refuse(why, whylen, -EBADMSG, "decode-error");
	}
	ret->width = (uint32_t)f.width;
	ret->height = (uint32_t)f.height;
	ret->channels = decode_flatten(pix, n, 4);
	ret->pixels = pix;
	return 0;
}

int cdr_image_decode(const uint8_t *buf, size_t len, const struct cdr_pixels_caps *caps, struct cdr_image_decoded *ret,
		     char *why, size_t whylen)
{
	memset(ret, 0, sizeof *ret);
	switch (cdr_image_kind_of(buf, len)) {
	case CDR_IMAGE_PNG:
		return decode_png(buf, len, caps, ret, why, whylen);
	case CDR_IMAGE_JPEG:
		return decode_jpeg(buf, len, caps, ret, why, whylen);
	case CDR_IMAGE_GIF:
		return decode_gif(buf, len, caps, ret, why, whylen);
	case CDR_IMAGE_BMP:
		return decode_bmp(buf, len, caps, ret, why, whylen);
	case CDR_IMAGE_TIFF:
		return decode_tiff(buf, len, caps, ret, why, whylen);
	case CDR_IMAGE_WEBP_LOSSY:
	case CDR_IMAGE_WEBP_LOSSLESS:
	case CDR_IMAGE_WEBP_EXTENDED:
		return decode_webp(buf, len, caps, ret, why, whylen);
	case CDR_IMAGE_UNKNOWN:
		break;
	}
	return decode_refuse(why, whylen, -EBADMSG, "unsupported-format");
}
