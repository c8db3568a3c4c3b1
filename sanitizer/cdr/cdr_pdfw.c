/* cdr_pdfw: a PDF of page images and nothing else (contract in cdr_pdfw.h).
 *
 * Object numbers are fixed: 1 the catalog, 2 the page tree, 3 Info, then
 * three per page (page, content stream, image).  The page tree is written
 * last (object order in the file is free), so a page goes out as soon as it
 * is made and only its offsets are kept.  Each image is encoded into memory
 * first because its /Length comes before its data; a page's encoded image is
 * at most about its pixel size (Flate of rows that do not compress) and is
 * freed before the next page.
 *
 * RGB Flate images use the PNG "Up" predictor (one filter byte per row);
 * the packed grey ones (1 and 4 bits) do not: on a rendered Japanese text
 * page the predictor made 4-bit Flate 11 % larger (125 KB against 111 KB,
 * docs/cdr.md).
 * libjpeg reports errors by longjmp; the objects it touches after setjmp
 * live behind a pointer.  Nothing is logged. */
#include "sanitizer/cdr/cdr_pdfw.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <zlib.h>

#include "common/fdio.h"

#define PDFW_MAX_OFFSET 9999999999ull /* ten digits in the xref table */
#define PDFW_MAX_PT 14400.0           /* PDF's page size limit without UserUnit */
/* zlib levels: for packed grey 4 is half the time of 6 for 2 % more bytes
 * on a text page; for predicted RGB 6 saves 8 % on a colour page */
#define PDFW_FLATE_LEVEL_GREY 4
#define PDFW_FLATE_LEVEL_RGB 6

struct cdr_pdfw {
	int fd;
	int failed;
	uint64_t off;      /* bytes written */
	uint64_t *obj_off; /* offset of object i + 1 */
	size_t nobj, objcap;
	size_t npages;
};

/* a growable byte buffer for one encoded image */
struct pdfw_buf {
	uint8_t *p;
	size_t len, cap;
};

static int pdfw_buf_reserve(struct pdfw_buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	size_t cap = b->cap ? b->cap : 65536;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int pdfw_write(struct cdr_pdfw *w, const void *p, size_t n)
{
	if (w->failed)
		return w->failed;
	if (w->off + n > PDFW_MAX_OFFSET)
		return w->failed = -EFBIG;
	int r = fdio_write_all(w->fd, p, n);
	if (r < 0)
		return w->failed = r;
	w->off += n;
	return 0;
}

static int pdfw_printf(struct cdr_pdfw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pdfw_printf(struct cdr_pdfw *w, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return w->failed = -EINVAL;
	return pdfw_write(w, buf, (size_t)n);
}

/* object number n starts here */
static int pdfw_obj(struct cdr_pdfw *w, size_t n)
{
	if (n > w->objcap) {
		size_t cap = w->objcap ? w->objcap * 2 : 64;
		while (cap < n)
			cap *= 2;
		uint64_t *o = realloc(w->obj_off, cap * sizeof *o);
		if (!o)
			return w->failed = -ENOMEM;
		memset(o + w->objcap, 0, (cap - w->objcap) * sizeof *o);
		w->obj_off = o;
		w->objcap = cap;
	}
	w->obj_off[n - 1] = w->off;
	if (n > w->nobj)
		w->nobj = n;
	return pdfw_printf(w, "%zu 0 obj\n", n);
}

enum cdr_pdfw_enc cdr_pdfw_choose(const struct cdr_pixels_image *img)
{
	uint64_t n = (uint64_t)img->width * img->height, mid = 0;
	int bilevel = img->channels == 1;
	const uint8_t *p = img->rows;

	/* a page is "text-like" when at most 15 % of its pixels are neither
	 * near white nor near black (anti-aliased glyph edges are a few %) */
	for (uint64_t i = 0; i < n; i++) {
		if (img->channels == 1) {
			uint8_t v = p[i];
			if (v != 0 && v != 255)
				bilevel = 0;
			if (v > 15 && v < 240)
				mid++;
		} else {
			const uint8_t *q = p + 3 * i;
			int white = q[0] >= 240 && q[1] >= 240 && q[2] >= 240;
			int black = q[0] <= 15 && q[1] <= 15 && q[2] <= 15;
			if (!white && !black)
				mid++;
		}
	}
	if (bilevel)
		return CDR_PDFW_FLATE_BILEVEL;
	if (mid * 100 > n * 15)
		return CDR_PDFW_JPEG;
	return img->channels == 1 ? CDR_PDFW_FLATE_GREY4 : CDR_PDFW_FLATE_RGB;
}

const char *cdr_pdfw_enc_name(enum cdr_pdfw_enc enc)
{
	switch (enc) {
	case CDR_PDFW_FLATE_BILEVEL:
		return "bilevel";
	case CDR_PDFW_FLATE_GREY4:
		return "grey4";
	case CDR_PDFW_FLATE_RGB:
		return "rgb";
	case CDR_PDFW_JPEG:
		return "jpeg";
	}
	return "unknown";
}

/* Flate, each row packed by the encoding, behind the Up predictor's filter
 * byte when up is set */
static int pdfw_flate(const struct cdr_pixels_image *img, enum cdr_pdfw_enc enc, int up, struct pdfw_buf *out)
{
	size_t w = img->width, stride = w * img->channels, rb;
	uint8_t *cur, *prev, *filt;
	z_stream z;
	int r = 0;

	rb = enc == CDR_PDFW_FLATE_BILEVEL ? (w + 7) / 8 : enc == CDR_PDFW_FLATE_GREY4 ? (w + 1) / 2 : stride;
	cur = calloc(1, rb);
	prev = calloc(1, rb);
	filt = malloc(rb + 1);
	memset(&z, 0, sizeof z);
	if (!cur || !prev || !filt || deflateInit(&z, up ? PDFW_FLATE_LEVEL_RGB : PDFW_FLATE_LEVEL_GREY) != Z_OK) {
		free(cur);
		free(prev);
		free(filt);
		return -ENOMEM;
	}
	for (uint32_t y = 0; y < img->height && r == 0; y++) {
		const uint8_t *src = img->rows + stride * y;
		if (enc == CDR_PDFW_FLATE_BILEVEL) {
			memset(cur, 0, rb);
			for (size_t x = 0; x < w; x++)
				if (src[x] >= 128)
					cur[x / 8] |= (uint8_t)(0x80 >> (x % 8));
		} else if (enc == CDR_PDFW_FLATE_GREY4) {
			memset(cur, 0, rb);
			for (size_t x = 0; x < w; x++) {
				uint8_t q = (uint8_t)((src[x] + 8) / 17); /* 0..15, 255 -> 15 */
				cur[x / 2] |= (uint8_t)(x % 2 ? q : q << 4);
			}
		} else {
			memcpy(cur, src, rb);
		}
		filt[0] = 2; /* Up */
		for (size_t i = 0; i < rb; i++)
			filt[i + 1] = up ? (uint8_t)(cur[i] - prev[i]) : cur[i];
		uint8_t *t = prev;
		prev = cur;
		cur = t;
		z.next_in = up ? filt : filt + 1;
		z.avail_in = (uInt)(up ? rb + 1 : rb);
		do {
			if ((r = pdfw_buf_reserve(out, 65536)) < 0)
				break;
			z.next_out = out->p + out->len;
			z.avail_out = (uInt)(out->cap - out->len);
			size_t before = z.avail_out;
			if (deflate(&z, y + 1 == img->height ? Z_FINISH : Z_NO_FLUSH) == Z_STREAM_ERROR)
				r = -EIO;
			out->len += before - z.avail_out;
		} while (r == 0 && (z.avail_in || (y + 1 == img->height && z.avail_out == 0)));
	}
	deflateEnd(&z);
	free(cur);
	free(prev);
	free(filt);
	return r;
}

struct pdfw_jpeg {
	struct jpeg_error_mgr err; /* first: libjpeg's error pointer is the job */
	jmp_buf jmp;
	struct jpeg_compress_struct c;
	unsigned char *mem;
	unsigned long memlen;
	JSAMPROW row;
};

static void pdfw_jpeg_error(j_common_ptr c)
{
	struct pdfw_jpeg *job = (struct pdfw_jpeg *)c->err;
	longjmp(job->jmp, 1);
}

static void pdfw_jpeg_message(j_common_ptr c)
{
	(void)c;
}

static int pdfw_jpeg(const struct cdr_pixels_image *img, struct pdfw_buf *out)
{
	struct pdfw_jpeg *job = calloc(1, sizeof *job);
	size_t stride = (size_t)img->width * img->channels;
	volatile int r = 0;

	if (!job)
		return -ENOMEM;
	job->row = malloc(stride);
	if (!job->row) {
		free(job);
		return -ENOMEM;
	}
	job->c.err = jpeg_std_error(&job->err);
	job->err.error_exit = pdfw_jpeg_error;
	job->err.output_message = pdfw_jpeg_message;
	if (setjmp(job->jmp) == 0) {
		jpeg_create_compress(&job->c);
		jpeg_mem_dest(&job->c, &job->mem, &job->memlen);
		job->c.image_width = img->width;
		job->c.image_height = img->height;
		job->c.input_components = (int)img->channels;
		job->c.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
		jpeg_set_defaults(&job->c);
		jpeg_set_quality(&job->c, CDR_PDFW_JPEG_QUALITY, TRUE);
		job->c.write_JFIF_header = FALSE;
		job->c.write_Adobe_marker = FALSE;
		jpeg_start_compress(&job->c, TRUE);
		while (job->c.next_scanline < job->c.image_height) {
			memcpy(job->row, img->rows + stride * job->c.next_scanline, stride);
			jpeg_write_scanlines(&job->c, &job->row, 1);
		}
		jpeg_finish_compress(&job->c);
	} else {
		r = -EIO;
	}
	jpeg_destroy_compress(&job->c);
	if (r == 0) {
		free(out->p);
		out->p = job->mem;
		out->len = out->cap = job->memlen;
	} else {
		free(job->mem);
	}
	free(job->row);
	free(job);
	return r;
}

int cdr_pdfw_new(int fd, struct cdr_pdfw **ret_w)
{
	static const char head[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
	struct cdr_pdfw *w = calloc(1, sizeof *w);

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	int r = pdfw_write(w, head, sizeof head - 1);
	if (r < 0) {
		free(w);
		return r;
	}
	*ret_w = w;
	return 0;
}

int cdr_pdfw_page(struct cdr_pdfw *w, const struct cdr_pixels_image *img, double w_pt, double h_pt,
		  enum cdr_pdfw_enc enc)
{
	struct pdfw_buf data = {0};
	size_t base;
	int up = enc == CDR_PDFW_FLATE_RGB;
	char content[160];
	int r, n;

	if (w->failed)
		return w->failed;
	if (!img->width || !img->height || (img->channels != 1 && img->channels != 3) || !isfinite(w_pt) ||
	    !isfinite(h_pt) || w_pt < 1 || h_pt < 1 || w_pt > PDFW_MAX_PT || h_pt > PDFW_MAX_PT ||
	    (unsigned)enc > CDR_PDFW_JPEG ||
	    (enc != CDR_PDFW_JPEG && enc != CDR_PDFW_FLATE_RGB && img->channels != 1) ||
	    (enc == CDR_PDFW_FLATE_RGB && img->channels != 3) ||
	    (enc == CDR_PDFW_JPEG && (img->width > 65500 || img->height > 65500)))
		return -EINVAL;
	r = enc == CDR_PDFW_JPEG ? pdfw_jpeg(img, &data) : pdfw_flate(img, enc, up, &data);
	if (r < 0) {
		free(data.p);
		return w->failed = r;
	}
	base = 4 + 3 * w->npages;
	n = snprintf(content, sizeof content, "q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q\n", w_pt, h_pt);
	pdfw_obj(w, base);
	pdfw_printf(
		w,
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 %zu 0 R >> >> "
		"/Contents %zu 0 R >>\nendobj\n",
		w_pt, h_pt, base + 2, base + 1);
	pdfw_obj(w, base + 1);
	pdfw_printf(w, "<< /Length %d >>\nstream\n", n);
	pdfw_write(w, content, (size_t)n);
	pdfw_printf(w, "endstream\nendobj\n");
	pdfw_obj(w, base + 2);
	const char *cs = img->channels == 1 ? "/DeviceGray" : "/DeviceRGB";
	if (enc == CDR_PDFW_JPEG) {
		pdfw_printf(w,
			    "<< /Type /XObject /Subtype /Image /Width %u /Height %u /ColorSpace %s /BitsPerComponent 8 "
			    "/Filter /DCTDecode /Length %zu >>\nstream\n",
			    img->width, img->height, cs, data.len);
	} else {
		unsigned bpc = enc == CDR_PDFW_FLATE_BILEVEL ? 1 : enc == CDR_PDFW_FLATE_GREY4 ? 4 : 8;
		char parms[128] = "";
		if (up)
			snprintf(parms, sizeof parms,
				 "/DecodeParms << /Predictor 12 /Colors %u /BitsPerComponent %u /Columns %u >> ",
				 img->channels, bpc, img->width);
		pdfw_printf(
			w,
			"<< /Type /XObject /Subtype /Image /Width %u /Height %u /ColorSpace %s /BitsPerComponent %u "
			"/Filter /FlateDecode %s/Length %zu >>\nstream\n",
			img->width, img->height, cs, bpc, parms, data.len);
	}
	pdfw_write(w, data.p, data.len);
	free(data.p);
	pdfw_printf(w, "\nendstream\nendobj\n");
	if (w->failed)
		return w->failed;
	w->npages++;
	return 0;
}

int cdr_pdfw_finish(struct cdr_pdfw *w)
{
	if (w->failed)
		return w->failed;
	if (!w->npages)
		return -EINVAL;
	pdfw_obj(w, 1);
	pdfw_printf(w, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	pdfw_obj(w, 3);
	pdfw_printf(w, "<< /Producer (" CDR_PDFW_PRODUCER ") >>\nendobj\n");
	pdfw_obj(w, 2);
	pdfw_printf(w, "<< /Type /Pages /Count %zu /Kids [", w->npages);
	for (size_t i = 0; i < w->npages; i++)
		pdfw_printf(w, "%s%zu 0 R", i % 8 ? " " : "\n", 4 + 3 * i);
	pdfw_printf(w, "\n] >>\nendobj\n");
	uint64_t xref = w->off;
	pdfw_printf(w, "xref\n0 %zu\n0000000000 65535 f \n", w->nobj + 1);
	for (size_t i = 0; i < w->nobj; i++)
		pdfw_printf(w, "%010llu 00000 n \n", (unsigned long long)w->obj_off[i]);
	pdfw_printf(w, "trailer\n<< /Size %zu /Root 1 0 R /Info 3 0 R >>\nstartxref\n%llu\n%%%%EOF\n", w->nobj + 1,
		    (unsigned long long)xref);
	return w->failed;
}

uint64_t cdr_pdfw_bytes(const struct cdr_pdfw *w)
{
	return w->off;
}

void cdr_pdfw_free(struct cdr_pdfw *w)
{
	if (!w)
		return;
	free(w->obj_off);
	free(w);
}
