/* cdr_pdf: the PDF handler of the trusted side (cdr_pdf_convert, cdr.h).
 *
 * The PDF is read only by the converter (sekisho-cdr-pdf, poppler) inside the
 * sandbox, each run through cdr_conv_run (its line report read whole by
 * cdr_log).  First an --info run: page count, page sizes, the characters of
 * text poppler finds on each page and the active items, given their meaning
 * here with caps (cdr_pdf_info).  Then the pages are rendered in batches (at most
 * PDF_BATCH_PAGES pages and PDF_BATCH_BYTES of pixels each), every batch a
 * run of its own, so that neither side ever holds every page's pixels; each
 * batch's pixel stream is validated (cdr_pixels_parse: exactly the pages
 * asked for, each exactly the size cdr_pdf_info_page_pixels gives for its
 * page) and its pages are written at once into a new PDF (cdr_pdfw) made of
 * those pixels and nothing else.
 *
 * The vector mode (ctx->mode[CDR_KIND_PDF] == CDR_MODE_VECTOR, report mode
 * "vector"): after the same --info run, one --vector run re-draws every
 * page with poppler onto cairo's PDF surface; that product is a container
 * this side does not parse, so it is judged only by sandboxed runs (Debian's
 * qpdf --check and --show-npages, and the converter's --info over it) and
 * its bytes become the copy only when every check passes (pdf_vector).
 *
 * Time: the whole conversion (every run) has ctx->limits.timeout_ms plus
 * PDF_MS_PER_PAGE per page; each render run gets what is left of it.
 *
 * Blank-page rule: a page that comes out without ink while the converter
 * counted text on it fails the whole file ("blank-page"): poppler draws a
 * non-embedded Japanese font it cannot resolve as nothing and exits 0.
 *
 * Fail closed: every error, limit or timeout returns < 0 with a reason key
 * (cdr_reason.c) and out_fd holds a partial file the caller throws away.
 * Ownership: nothing is kept; the memfds of the runs are closed here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitizer/cdr/cdr_pdf.h"

#include "common/fdio.h"
#include "common/monotime.h"
#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_conv.h"
#include "sanitizer/cdr/cdr_pdf_info.h"
#include "sanitizer/cdr/cdr_pdfw.h"
#include "sanitizer/cdr/cdr_pixels.h"

#define PDF_CONVERTER "sekisho-cdr-pdf"
#define PDF_QPDF "/usr/bin/qpdf"
#define PDF_VECTOR_OUT_MIN (16ull << 20) /* vector product cap: this plus ... */
#define PDF_VECTOR_OUT_RATIO 8u          /* ... this many times the input, ... */
#define PDF_VECTOR_OUT_MAX (1ull << 30)  /* ... at most this */
#define PDF_JSON_MAX (256ull << 20)      /* qpdf --json of the product (no stream data) */
#define PDF_BATCH_PAGES 16u              /* pages per render run */
#define PDF_BATCH_BYTES (48ull << 20)    /* pixels per render run, counted as RGB */
#define PDF_MS_PER_PAGE 2000u            /* wall clock added per rendered page */
#define PDF_MAX_PT 14400.0               /* PDF's largest page side without UserUnit */
#define PDF_INK_DELTA 48                 /* a pixel this far from the background is ink */
#define PDF_BLANK_INK 16                 /* fewer ink pixels than this: a blank page */

/* what poppler needs to draw Japanese text in fonts the file does not
 * embed: poppler-data's CMaps and a Japanese font (fonts-noto-cjk or
 * fonts-ipaexfont); the converter checks again with fontconfig inside */
static const char *const pdf_cmaps[] = {
	"/usr/share/poppler/cMap/Adobe-Japan1/UniJIS-UCS2-H",
	"/usr/share/poppler/cMap/Adobe-Japan1/90ms-RKSJ-H",
};
static const char *const pdf_ja_fonts[] = {
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
	"/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
	"/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
};
/* fontconfig's cache: without it fontconfig would scan every font per run */
static const char *const pdf_ro_paths[] = {"/var/cache/fontconfig", NULL};

/* the start-up check (also called by cdr_pdf_convert for every file: two
 * stat calls) */
int cdr_pdf_check_environment(struct cdr_report *rep)
{
	int font = 0;

	for (size_t i = 0; i < sizeof pdf_cmaps / sizeof pdf_cmaps[0]; i++)
		if (access(pdf_cmaps[i], R_OK) != 0)
			return cdr_report_fail(rep, "pdf-no-cmaps", "poppler-data is not installed (%s)", pdf_cmaps[i]);
	for (size_t i = 0; i < sizeof pdf_ja_fonts / sizeof pdf_ja_fonts[0]; i++)
		if (access(pdf_ja_fonts[i], R_OK) == 0)
			font = 1;
	if (!font)
		return cdr_report_fail(rep, "pdf-no-ja-font", "no Japanese font (fonts-noto-cjk, fonts-ipaexfont)");
	return 0;
}

/* a render run's report: "page I WxH DPI" lines, informational only */
static int pdf_render_line(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	(void)arg;
	(void)value;
	return strcmp(key, "page") == 0 ? 0 : cdr_conv_unexpected(key, why, whylen);
}

/* One sandboxed run of the converter (cdr_conv_run: its report read whole
 * by cdr_log through fn); on success *ret_map maps its product
 * (munmap(*ret_map, *ret_len) when *ret_len). */
static int pdf_run(const struct cdr_ctx *ctx, const char *const argv[], int in_fd, const struct cdr_sandbox_limits *lim,
		   cdr_log_line_fn *fn, void *arg, struct cdr_report *rep, const char *what, uint8_t **ret_map,
		   size_t *ret_len)
{
	struct cdr_conv_run run;
	struct cdr_ctx c = *ctx;
	int rc;

	*ret_map = NULL;
	*ret_len = 0;
	if (!ctx->sandbox.ro_paths)
		c.sandbox.ro_paths = pdf_ro_paths;
	rc = cdr_conv_run(&c, argv, in_fd, lim, fn, arg, &run, rep);
	if (rc < 0)
		return rc;
	if (run.outlen > lim->out_max || run.outlen > SIZE_MAX) {
		cdr_conv_run_free(&run);
		return cdr_report_fail(rep, "converter-output", "%s: output size", what);
	}
	if (run.outlen > 0) {
		void *m = mmap(NULL, (size_t)run.outlen, PROT_READ, MAP_PRIVATE, run.fd, 0);
		if (m == MAP_FAILED) {
			rc = -errno;
			cdr_conv_run_free(&run);
			return cdr_report_fail(rep, "io-error", "%s: mmap: %s", what, strerror(-rc));
		}
		*ret_map = m;
		*ret_len = (size_t)run.outlen;
	}
	cdr_conv_run_free(&run);
	return 0;
}

/* an --info run over fd (the input, or the vector mode's product): its
 * report read into ret (cdr_pdf_info_free) */
static int pdf_info_run(const struct cdr_ctx *ctx, int fd, unsigned max_pages, const struct cdr_sandbox_limits *lim0,
			struct cdr_report *rep, const char *what, struct cdr_pdf_info *ret)
{
	char a_max[16], why[64];
	const char *argv[] = {PDF_CONVERTER, "--info", "--max-pages", a_max, NULL};
	struct cdr_sandbox_limits lim = *lim0;
	struct cdr_pdf_info_reader reader;
	uint8_t *map;
	size_t len;
	int rc;

	snprintf(a_max, sizeof a_max, "%u", max_pages);
	lim.out_max = 4096; /* stdout stays empty in --info */
	cdr_pdf_info_init(&reader, max_pages, 1000);
	rc = pdf_run(ctx, argv, fd, &lim, cdr_pdf_info_line, &reader, rep, what, &map, &len);
	if (len)
		munmap(map, len);
	if (rc < 0) {
		cdr_pdf_info_free(&reader.info);
		return rc;
	}
	rc = cdr_pdf_info_finish(&reader, ret, why, sizeof why);
	if (rc < 0)
		return cdr_report_fail(rep, "converter-report", "%s: %s", what, why);
	return 0;
}

/* pixels far from the page's most common value (its background) */
uint64_t cdr_pdf_ink(const struct cdr_pixels_image *img)
{
	uint64_t hist[256] = {0}, n = (uint64_t)img->width * img->height, ink = 0;
	unsigned bg = 0;

	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *p = img->rows + i * img->channels;
		hist[img->channels == 1 ? p[0] : (p[0] * 2u + p[1] * 5u + p[2]) / 8u]++;
	}
	for (unsigned v = 1; v < 256; v++)
		if (hist[v] > hist[bg])
			bg = v;
	for (unsigned v = 0; v < 256; v++)
		if (v + PDF_INK_DELTA <= bg || v >= bg + PDF_INK_DELTA)
			ink += hist[v];
	return ink;
}

/* the output page size: the original's, scaled down as a whole into
 * PDF's limit when a side is larger */
static void pdf_out_size(const struct cdr_pdf_info_page *pg, double *ret_w, double *ret_h)
{
	double s = 1;

	if (pg->w_pt > PDF_MAX_PT)
		s = PDF_MAX_PT / pg->w_pt;
	if (pg->h_pt * s > PDF_MAX_PT)
		s = PDF_MAX_PT / pg->h_pt;
	*ret_w = pg->w_pt * s < 1 ? 1 : pg->w_pt * s;
	*ret_h = pg->h_pt * s < 1 ? 1 : pg->h_pt * s;
}

/* render pages first..last (1-based) in one run and write them */
static int pdf_batch(const struct cdr_ctx *ctx, int in_fd, const struct cdr_pdf_info *info, unsigned first,
		     unsigned last, unsigned dpi, int64_t deadline_ms, struct cdr_pdfw *w, struct cdr_report *rep)
{
	char a_first[16], a_last[16], a_dpi[16], a_max[16], what[48];
	const char *argv[] = {PDF_CONVERTER, "--first", a_first,       "--last", a_last,
			      "--dpi",       a_dpi,     "--max-pages", a_max,    NULL};
	struct cdr_sandbox_limits lim = ctx->limits;
	struct cdr_pixels_caps caps;
	struct cdr_pixels_image *imgs = NULL;
	uint64_t pixels = 0, bytes = 0;
	size_t nimg = 0, len;
	uint8_t *map;
	char why[64];
	int rc;

	snprintf(a_first, sizeof a_first, "%u", first);
	snprintf(a_last, sizeof a_last, "%u", last);
	snprintf(a_dpi, sizeof a_dpi, "%u", dpi);
	snprintf(a_max, sizeof a_max, "%u", info->pages);
	snprintf(what, sizeof what, "pages %u-%u", first, last);
	for (unsigned p = first; p <= last; p++) {
		uint32_t pw, ph;
		cdr_pdf_info_page_pixels(info->page[p - 1].w_pt, info->page[p - 1].h_pt, dpi, &pw, &ph);
		pixels += (uint64_t)pw * ph;
		bytes += CDR_PIXELS_HEADER_SIZE + 3ull * pw * ph;
	}
	/* each run gets what is left of the whole conversion's time */
	int64_t left = deadline_ms - monotime_ms();
	if (left <= 0)
		return cdr_report_fail(rep, "timeout", "%s: no time left", what);
	lim.timeout_ms = left > UINT32_MAX ? UINT32_MAX : (unsigned)left;
	lim.cpu_s += 2 * (last - first + 1);
	lim.out_max = bytes;
	rc = pdf_run(ctx, argv, in_fd, &lim, pdf_render_line, NULL, rep, what, &map, &len);
	if (rc < 0)
		return rc;
	caps.max_width = CDR_PDF_MAX_SIDE;
	caps.max_height = CDR_PDF_MAX_SIDE;
	caps.max_pixels_image = CDR_PDF_MAX_PIXELS;
	caps.max_pixels_stream = pixels;
	caps.max_images = last - first + 1;
	rc = cdr_pixels_parse(map, len, &caps, &imgs, &nimg, why, sizeof why);
	if (rc < 0) {
		rc = rc == -ENOMEM
			? cdr_report_fail(rep, "out-of-memory", "%s: pixel stream", what)
			: cdr_report_fail(rep, "converter-output", "%s: pixel stream refused (%s)", what, why);
		goto out;
	}
	if (nimg != last - first + 1) {
		rc = cdr_report_fail(rep, "converter-output", "%s: %zu images for %u pages", what, nimg,
				     last - first + 1);
		goto out;
	}
	for (size_t i = 0; i < nimg; i++) {
		unsigned p = first + (unsigned)i;
		const struct cdr_pdf_info_page *pg = &info->page[p - 1];
		uint32_t pw, ph;
		double ow, oh;
		cdr_pdf_info_page_pixels(pg->w_pt, pg->h_pt, dpi, &pw, &ph);
		if (imgs[i].width != pw || imgs[i].height != ph) {
			rc = cdr_report_fail(rep, "converter-output", "page %u: %ux%u pixels, expected %ux%u", p,
					     imgs[i].width, imgs[i].height, pw, ph);
			goto out;
		}
		/* a page of one "." has a few ink pixels: the bar is 2 per character, up to 16 */
		uint64_t bar = pg->text_chars < PDF_BLANK_INK / 2 ? 2ull * pg->text_chars : PDF_BLANK_INK;
		if (pg->text_chars > 0 && cdr_pdf_ink(&imgs[i]) < bar) {
			rc = cdr_report_fail(rep, "blank-page",
					     "page %u rendered blank although it has %u characters of text", p,
					     pg->text_chars);
			goto out;
		}
		pdf_out_size(pg, &ow, &oh);
		rc = cdr_pdfw_page(w, &imgs[i], ow, oh, cdr_pdfw_choose(&imgs[i]));
		if (rc < 0) {
			rc = cdr_report_fail(rep, rc == -ENOMEM ? "out-of-memory" : "io-error", "page %u: %s", p,
					     strerror(-rc));
			goto out;
		}
	}
out:
	free(imgs);
	if (len)
		munmap(map, len);
	return rc;
}

/* the names no copy may hold (qpdf --json writes a name as a JSON string
 * "/Name" and a PDF string with a "u:" or "b:" prefix, so a quoted name
 * below can only be a name, or a string's escaped text, refused too) */
static const char *const pdf_banned[] = {
	"\"/JS\"",           "\"/JavaScript\"",    "\"/AA\"",         "\"/OpenAction\"", "\"/Launch\"",
	"\"/EmbeddedFile\"", "\"/EmbeddedFiles\"", "\"/URI\"",        "\"/RichMedia\"",  "\"/XFA\"",
	"\"/AcroForm\"",     "\"/SubmitForm\"",    "\"/ImportData\"", "\"/GoToR\"",      "\"/GoToE\"",
	"\"/Names\"",        "\"/Annots\"",        "\"/Metadata\"",
};

const char *cdr_pdf_json_banned(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < sizeof pdf_banned / sizeof pdf_banned[0]; i++)
		if (memmem(buf, len, pdf_banned[i], strlen(pdf_banned[i])))
			return pdf_banned[i];
	return NULL;
}

/* qpdf --show-npages' answer: digits and one newline, nothing else */
int cdr_pdf_npages_parse(const uint8_t *buf, size_t len, unsigned *ret)
{
	unsigned long v = 0;
	size_t i = 0;

	for (; i < len && i < 7 && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (buf[i] - '0');
	if (i == 0 || i + 1 != len || buf[i] != '\n')
		return -EBADMSG;
	*ret = (unsigned)v;
	return 0;
}

/* One sandboxed run of Debian's qpdf (argv, its input "/dev/stdin") over the
 * product (fd); ok only on exit 0 (qpdf exits 2 on errors, 3 on warnings:
 * both refuse the copy).  Its stdout (at most out_max bytes) is mapped into
 * *ret_map when ret_map is not NULL (munmap(*ret_map, *ret_len) when
 * *ret_len). */
static int pdf_qpdf(const struct cdr_ctx *ctx, const char *const argv[], int fd, uint64_t out_max, int64_t deadline_ms,
		    struct cdr_report *rep, uint8_t **ret_map, size_t *ret_len)
{
	struct cdr_sandbox_limits lim = ctx->limits;
	struct cdr_sandbox_result res;
	int out = cdr_memfd("cdr-qpdf"), rc = 0;
	int64_t left = deadline_ms - monotime_ms();

	if (out < 0)
		return cdr_report_fail(rep, "io-error", "memfd: %s", strerror(-out));
	if (left <= 0) {
		close(out);
		return cdr_report_fail(rep, "timeout", "qpdf %s: no time left", argv[1]);
	}
	lim.timeout_ms = left > UINT32_MAX ? UINT32_MAX : (unsigned)left;
	lim.out_max = out_max;
	memset(&res, 0, sizeof res);
	rc = cdr_run_program(ctx, argv, fd, out, &lim, &res);
	if (rc < 0 || strcmp(res.reason, "ok") != 0) {
		close(out);
		if (rc == 0 && strcmp(res.reason, "exit-status") == 0)
			return cdr_report_fail(rep, "pdf-vector-check", "qpdf %s exit %d", argv[1], res.exit_status);
		return cdr_fail_from_run(rep, &res, rc);
	}
	if (ret_map) {
		*ret_map = NULL;
		*ret_len = 0;
		if (res.out_bytes > 0 && res.out_bytes <= SIZE_MAX) {
			void *m = mmap(NULL, (size_t)res.out_bytes, PROT_READ, MAP_PRIVATE, out, 0);
			if (m == MAP_FAILED)
				rc = cdr_report_fail(rep, "io-error", "qpdf %s: mmap: %s", argv[1], strerror(errno));
			else
				*ret_map = m, *ret_len = (size_t)res.out_bytes;
		}
	}
	close(out);
	return rc;
}

/* The vector mode (CDR_MODE_VECTOR): the converter re-draws every page with
 * poppler onto cairo's PDF surface; the product is a PDF, a container this
 * side must not parse, so it is judged by sandboxed runs only: qpdf --check
 * (no error, no warning), qpdf --show-npages, qpdf --json (its dictionaries,
 * searched for the banned names) and a second --info run of the
 * converter over the product (the page count equal to the original's, no
 * active item at all, and text on every page where the original has text:
 * the blank-page rule, for glyphs cairo could not keep).  Only then are the
 * product's bytes the copy. */
static int pdf_vector(const struct cdr_ctx *ctx, int in_fd, int out_fd, const struct cdr_pdf_info *info,
		      int64_t deadline_ms, struct cdr_report *rep)
{
	char a_max[16];
	const char *argv[] = {PDF_CONVERTER, "--vector", "--max-pages", a_max, NULL};
	struct cdr_sandbox_limits lim = ctx->limits;
	struct cdr_pdf_info copy;
	struct cdr_conv_run run;
	struct cdr_ctx c = *ctx;
	struct stat st;
	const char *argv_check[] = {PDF_QPDF, "--check", "/dev/stdin", NULL};
	const char *argv_npages[] = {PDF_QPDF, "--show-npages", "/dev/stdin", NULL};
	const char *argv_json[] = {PDF_QPDF,          "--json",     "--json-stream-data=none",
				   "--json-key=qpdf", "/dev/stdin", NULL};
	uint8_t *np = NULL, *map = NULL, *json = NULL;
	size_t nplen = 0, jsonlen = 0;
	unsigned qpages = 0;
	int rc;

	/* without the check no copy: said before any run */
	if (access(PDF_QPDF, X_OK) != 0)
		return cdr_report_fail(rep, "pdf-no-qpdf", "%s is not installed", PDF_QPDF);
	if (fstat(in_fd, &st) < 0)
		return cdr_report_fail(rep, "io-error", "fstat: %s", strerror(errno));
	snprintf(a_max, sizeof a_max, "%u", info->pages);
	int64_t left = deadline_ms - monotime_ms();
	if (left <= 0)
		return cdr_report_fail(rep, "timeout", "vector: no time left");
	lim.timeout_ms = left > UINT32_MAX ? UINT32_MAX : (unsigned)left;
	lim.cpu_s += 2 * info->pages;
	/* fonts and images are copied, not blown up into pixels: the copy may
	 * be a few times the original, never without bound */
	lim.out_max = PDF_VECTOR_OUT_MIN + PDF_VECTOR_OUT_RATIO * (uint64_t)st.st_size;
	if (lim.out_max > PDF_VECTOR_OUT_MAX)
		lim.out_max = PDF_VECTOR_OUT_MAX;
	if (!ctx->sandbox.ro_paths)
		c.sandbox.ro_paths = pdf_ro_paths;
	rc = cdr_conv_run(&c, argv, in_fd, &lim, pdf_render_line, NULL, &run, rep);
	if (rc < 0)
		return rc;
	if (run.outlen == 0 || run.outlen > lim.out_max || run.outlen > SIZE_MAX) {
		rc = cdr_report_fail(rep, "converter-output", "vector: output size %llu",
				     (unsigned long long)run.outlen);
		goto out;
	}
	rc = pdf_qpdf(ctx, argv_check, run.fd, 1 << 20, deadline_ms, rep, NULL, NULL);
	if (rc == 0)
		rc = pdf_qpdf(ctx, argv_npages, run.fd, 16, deadline_ms, rep, &np, &nplen);
	if (rc < 0)
		goto out;
	rc = cdr_pdf_npages_parse(np, nplen, &qpages);
	if (nplen)
		munmap(np, nplen);
	if (rc < 0 || qpages != info->pages) {
		rc = cdr_report_fail(rep, "pdf-vector-pages", "qpdf counts %u pages, the original has %u", qpages,
				     info->pages);
		goto out;
	}
	rc = pdf_qpdf(ctx, argv_json, run.fd, PDF_JSON_MAX, deadline_ms, rep, &json, &jsonlen);
	if (rc < 0)
		goto out;
	const char *key = cdr_pdf_json_banned(json, jsonlen);
	if (jsonlen)
		munmap(json, jsonlen);
	if (key) {
		rc = cdr_report_fail(rep, "pdf-vector-active", "qpdf finds %s in the copy", key);
		goto out;
	}
	/* the second --info run: poppler's view of the copy */
	lim = ctx->limits;
	left = deadline_ms - monotime_ms();
	if (left <= 0) {
		rc = cdr_report_fail(rep, "timeout", "vector check: no time left");
		goto out;
	}
	lim.timeout_ms = left > UINT32_MAX ? UINT32_MAX : (unsigned)left;
	rc = pdf_info_run(ctx, run.fd, info->pages, &lim, rep, "vector check", &copy);
	if (rc < 0)
		goto out;
	if (copy.pages != info->pages)
		rc = cdr_report_fail(rep, "pdf-vector-pages", "the copy has %u pages, the original %u", copy.pages,
				     info->pages);
	else if (copy.nremoved || copy.nremoved_more)
		rc = cdr_report_fail(rep, "pdf-vector-active", "the copy has %s",
				     copy.nremoved ? copy.removed[0] : "active items");
	for (unsigned p = 0; rc == 0 && p < info->pages; p++)
		if (info->page[p].text_chars > 0 && copy.page[p].text_chars == 0)
			rc = cdr_report_fail(rep, "blank-page",
					     "page %u has no text in the copy although it has %u characters", p + 1,
					     info->page[p].text_chars);
	cdr_pdf_info_free(&copy);
	if (rc < 0)
		goto out;
	map = mmap(NULL, (size_t)run.outlen, PROT_READ, MAP_PRIVATE, run.fd, 0);
	if (map == MAP_FAILED) {
		rc = cdr_report_fail(rep, "io-error", "mmap: %s", strerror(errno));
		goto out;
	}
	rc = fdio_write_all(out_fd, map, (size_t)run.outlen);
	munmap(map, (size_t)run.outlen);
	if (rc < 0)
		rc = cdr_report_fail(rep, "io-error", "write: %s", strerror(-rc));
out:
	cdr_conv_run_free(&run);
	return rc;
}

/* the pixel mode (the default): the pages rendered in batches into a new
 * PDF made of their pixels (cdr_pdfw) */
static int pdf_pixels(const struct cdr_ctx *ctx, int in_fd, int out_fd, const struct cdr_pdf_info *info, unsigned dpi,
		      int64_t deadline_ms, struct cdr_report *rep)
{
	struct cdr_pdfw *w = NULL;
	int rc = cdr_pdfw_new(out_fd, &w);

	if (rc < 0)
		return cdr_report_fail(rep, "io-error", "%s", strerror(-rc));
	for (unsigned first = 1; first <= info->pages && rc == 0;) {
		unsigned last = first;
		uint64_t bytes = 0;
		for (; last <= info->pages && last - first < PDF_BATCH_PAGES; last++) {
			uint32_t pw, ph;
			cdr_pdf_info_page_pixels(info->page[last - 1].w_pt, info->page[last - 1].h_pt, dpi, &pw, &ph);
			if (last > first && bytes + 3ull * pw * ph > PDF_BATCH_BYTES)
				break;
			bytes += 3ull * pw * ph;
		}
		rc = pdf_batch(ctx, in_fd, info, first, last - 1, dpi, deadline_ms, w, rep);
		first = last;
	}
	if (rc == 0) {
		rc = cdr_pdfw_finish(w);
		if (rc < 0)
			rc = cdr_report_fail(rep, "io-error", "%s", strerror(-rc));
	}
	cdr_pdfw_free(w);
	return rc;
}

int cdr_pdf_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep)
{
	struct cdr_pdf_info info;
	unsigned dpi = ctx->pdf_dpi ? ctx->pdf_dpi : 150, max_pages = ctx->max_pages ? ctx->max_pages : 500;
	int rc;

	int64_t start_ms = monotime_ms();
	bool vector = ctx->mode[CDR_KIND_PDF] == CDR_MODE_VECTOR;

	snprintf(rep->in_type, sizeof rep->in_type, "pdf");
	rep->mode = vector ? "vector" : "pixels";
	if (dpi < 36 || dpi > 600)
		return cdr_report_fail(rep, "internal-error", "pdf_dpi %u outside 36..600", dpi);
	rc = cdr_pdf_check_environment(rep);
	if (rc < 0)
		return rc;
	rc = pdf_info_run(ctx, in_fd, max_pages, &ctx->limits, rep, "info", &info);
	if (rc < 0)
		return rc;
	rep->pages = info.pages;
	/* the whole conversion's wall clock: the limit plus 2 s per page */
	int64_t deadline_ms = start_ms + ctx->limits.timeout_ms + (int64_t)PDF_MS_PER_PAGE * info.pages;
	for (size_t i = 0; i < info.nremoved; i++)
		cdr_report_removed(rep, "%s", info.removed[i]);
	rep->nremoved_more += info.nremoved_more;
	rc = vector ? pdf_vector(ctx, in_fd, out_fd, &info, deadline_ms, rep)
		    : pdf_pixels(ctx, in_fd, out_fd, &info, dpi, deadline_ms, rep);
	cdr_pdf_info_free(&info);
	if (rc < 0)
		return rc;
	snprintf(rep->out_type, sizeof rep->out_type, "pdf");
	snprintf(rep->out_ext, sizeof rep->out_ext, "pdf");
	return 0;
}
