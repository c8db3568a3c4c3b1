/* sekisho-cdr-pdf: the PDF converter, to run inside the CDR sandbox.  A PDF
 * on stdin; poppler (glib + cairo) reads it.  Two modes:
 *
 *   sekisho-cdr-pdf --info [--max-pages N]
 *     stdout: nothing; stderr: the report, one line per fact:
 *       pages N
 *       page I WxH TEXTCHARS     (size in points, e.g. 595.28x841.89; the
 *                                 non-space characters poppler finds on it)
 *       removed ITEM             (every active item found, e.g.
 *                                 "action:/OpenAction", "attachment:setup.exe")
 *       ok
 *   sekisho-cdr-pdf --first I --last J [--dpi D] [--max-pages N]
 *     stdout: pages I..J as a cdr_pixels stream, one image per page, grey
 *     (1 channel) when every pixel of the page is grey, RGB otherwise.
 *     stderr: "page I WxH-PX DPI" per rendered page, then "ok".
 *   sekisho-cdr-pdf --vector [--max-pages N]
 *     stdout: a new PDF written by cairo (its PDF surface): every page drawn
 *     by poppler (glyphs with subset fonts, paths, re-encoded images),
 *     none of the input's objects; stderr: "page I WxH" per page, then "ok".
 *
 * stderr is a cdr_log report in both modes (the trusted side reads it whole).
 * Refusal: "refused KEY" on stderr, the last line, exit 1, nothing usable on stdout; keys
 * (cdr_reason.c): encrypted, pdf-malformed, pdf-no-pages, page-limit,
 * input-size-limit, pdf-no-cmaps (poppler-data missing), pdf-no-ja-font (no
 * Japanese font for fontconfig), pdf-render, pdf-image-limit (an image
 * XObject above PDF_MAX_IMAGE_PIXELS).  Exit 2: usage or I/O.
 *
 * Pages are rendered at --dpi (default 150) unless the page would exceed
 * CDR_PDF_MAX_SIDE pixels on a side or CDR_PDF_MAX_PIXELS in all; such a page is rendered at
 * the highest resolution within both (docs/cdr.md: huge pages).  The trusted
 * side renders long documents in batches of pages so that neither side holds
 * every page's pixels at once. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <poppler.h>

#include "common/version.h"
#include "sanitizer/cdr/cdr_filter.h"
#include "sanitizer/cdr/cdr_lockdown.h"
#include "sanitizer/cdr/cdr_asan.h"
#include "sanitizer/cdr/cdr_pdf_info.h"
#include "sanitizer/cdr/cdr_pdf_scan.h"
#include "sanitizer/cdr/cdr_pixels.h"

#define PDF_MAX_INPUT (256u << 20)
/* the largest image XObject a page may draw: poppler decodes an image whole
 * (4 bytes a pixel through cairo), and under the sandbox's memory limit it
 * leaves a larger one out of the page without a word; 100 Mpx is above a
 * 600 dpi A3 scan (70 Mpx) */
#define PDF_MAX_IMAGE_PIXELS (100u * 1000 * 1000)
#define MAX_ITEM 120
/* the CMaps of non-embedded Japanese fonts (poppler-data) */
#define CMAP_DIR "/usr/share/poppler/cMap/Adobe-Japan1"

#if CDR_ASAN
/* Test builds under AddressSanitizer: no leak check at exit.  In the
 * sandbox LeakSanitizer cannot stop the world (seccomp refuses ptrace) and
 * turns every run into a failure; poppler and fontconfig also keep their
 * caches until exit. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

static int refuse(const char *key)
{
	fprintf(stderr, "refused %s\n", key);
	return 1;
}

/* one "removed" line, the item made printable (no spaces, no control
 * characters, at most MAX_ITEM bytes) so that it stays one line */
static void removed(const char *kind, int page, const char *what, const char *name)
{
	char buf[MAX_ITEM + 1];
	int n;

	if (page > 0)
		n = snprintf(buf, sizeof buf, "%s:page%d:%s%s%s", kind, page, what, name ? ":" : "", name ? name : "");
	else
		n = snprintf(buf, sizeof buf, "%s:%s%s%s", kind, what, name ? ":" : "", name ? name : "");
	if (n < 0)
		return;
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			*p = '_';
	fprintf(stderr, "removed %s\n", buf);
}

static const char *action_name(PopplerActionType t)
{
	switch (t) {
	case POPPLER_ACTION_GOTO_DEST:
		return NULL; /* an internal link: nothing active */
	case POPPLER_ACTION_GOTO_REMOTE:
		return "goto-remote";
	case POPPLER_ACTION_LAUNCH:
		return "launch";
	case POPPLER_ACTION_URI:
		return "uri";
	case POPPLER_ACTION_NAMED:
		return "named";
	case POPPLER_ACTION_MOVIE:
		return "movie";
	case POPPLER_ACTION_RENDITION:
		return "rendition";
	case POPPLER_ACTION_OCG_STATE:
		return "ocg-state";
	case POPPLER_ACTION_JAVASCRIPT:
		return "javascript";
	case POPPLER_ACTION_RESET_FORM:
		return "reset-form";
	default:
		return "unknown";
	}
}

/* poppler's view of the page's active items: links, annotations, fields */
static void report_page(PopplerPage *page, int no)
{
	GList *l, *m;

	m = poppler_page_get_link_mapping(page);
	for (l = m; l; l = l->next) {
		PopplerLinkMapping *lm = l->data;
		const char *a = lm->action ? action_name(lm->action->type) : NULL;
		if (a)
			removed("action", no, a, NULL);
	}
	poppler_page_free_link_mapping(m);

	m = poppler_page_get_annot_mapping(page);
	for (l = m; l; l = l->next) {
		PopplerAnnotMapping *am = l->data;
		const char *what = NULL;
		switch (poppler_annot_get_annot_type(am->annot)) {
		case POPPLER_ANNOT_FILE_ATTACHMENT: {
			PopplerAttachment *att =
				poppler_annot_file_attachment_get_attachment(POPPLER_ANNOT_FILE_ATTACHMENT(am->annot));
			removed("attachment", no, "annotation", att && att->name ? att->name : "");
			if (att)
				g_object_unref(att);
			break;
		}
		case POPPLER_ANNOT_SOUND:
			what = "sound";
			break;
		case POPPLER_ANNOT_MOVIE:
			what = "movie";
			break;
		case POPPLER_ANNOT_SCREEN:
			what = "screen";
			break;
		case POPPLER_ANNOT_3D:
			what = "3d";
			break;
		default:
			break;
		}
		if (what)
			removed("multimedia", no, what, NULL);
	}
	poppler_page_free_annot_mapping(m);

	m = poppler_page_get_form_field_mapping(page);
	for (l = m; l; l = l->next) {
		PopplerFormFieldMapping *fm = l->data;
		gchar *name = poppler_form_field_get_name(fm->field);
		removed("form", no, "field", name ? name : "");
		PopplerAction *act = poppler_form_field_get_action(fm->field);
		if (act && action_name(act->type))
			removed("action", no, "field", action_name(act->type));
		for (int t = POPPLER_ADDITIONAL_ACTION_FIELD_MODIFIED; t <= POPPLER_ADDITIONAL_ACTION_CALCULATE_FIELD;
		     t++) {
			act = poppler_form_field_get_additional_action(fm->field, (PopplerAdditionalActionType)t);
			if (act && action_name(act->type))
				removed("action", no, "field-aa", action_name(act->type));
		}
		g_free(name);
	}
	poppler_page_free_form_field_mapping(m);
}

/* the non-space characters poppler finds on the page */
static unsigned long text_chars(PopplerPage *page)
{
	char *text = poppler_page_get_text(page);
	unsigned long n = 0;

	if (!text)
		return 0;
	if (g_utf8_validate(text, -1, NULL))
		for (const char *p = text; *p; p += g_utf8_skip[*(const guchar *)p])
			if (!g_unichar_isspace(g_utf8_get_char(p)))
				n++;
	g_free(text);
	return n;
}

static int info(PopplerDocument *doc, int npages, const uint8_t *in, size_t inlen)
{
	struct cdr_pdf_scan_limits lim;
	struct cdr_pdf_scan_result sr;
	GList *atts, *l;
	int scanned;

	/* the scan first: a refusal must be the first line on stderr */
	cdr_pdf_scan_limits_default(&lim);
	scanned = cdr_pdf_scan(in, inlen, &lim, &sr) == 0;
	if (scanned && sr.max_image_pixels > PDF_MAX_IMAGE_PIXELS)
		return refuse("pdf-image-limit");
	fprintf(stderr, "pages %d\n", npages);
	for (int i = 0; i < npages; i++) {
		PopplerPage *page = poppler_document_get_page(doc, i);
		double w = 0, h = 0;
		if (!page)
			return refuse("pdf-malformed");
		poppler_page_get_size(page, &w, &h);
		fprintf(stderr, "page %d %.2fx%.2f %lu\n", i + 1, w, h, text_chars(page));
		g_object_unref(page);
	}
	for (int i = 0; i < npages; i++) {
		PopplerPage *page = poppler_document_get_page(doc, i);
		if (!page)
			return refuse("pdf-malformed");
		report_page(page, i + 1);
		g_object_unref(page);
	}
	if (poppler_document_has_javascript(doc))
		removed("javascript", 0, "document", NULL);
	atts = poppler_document_get_attachments(doc);
	for (l = atts; l; l = l->next) {
		PopplerAttachment *a = l->data;
		removed("attachment", 0, a->name ? a->name : "", NULL);
		g_object_unref(a);
	}
	g_list_free(atts);
	if (scanned)
		for (unsigned i = 0; i < CDR_PDF_SCAN_COUNT_; i++)
			if (sr.count[i])
				fprintf(stderr, "removed %s\n", cdr_pdf_scan_item(i));
	fprintf(stderr, "ok\n");
	return fflush(stderr) == 0 ? 0 : 2;
}

static int render_page(PopplerPage *page, int no, unsigned dpi, uint8_t *row)
{
	double w_pt = 0, h_pt = 0;
	uint32_t pw, ph;
	int w, h;
	cairo_surface_t *surf;
	cairo_t *cr;
	uint8_t hdr[CDR_PIXELS_HEADER_SIZE];
	int grey = 1;

	poppler_page_get_size(page, &w_pt, &h_pt);
	if (!(w_pt > 0) || !(h_pt > 0) || w_pt > 1e6 || h_pt > 1e6)
		return refuse("pdf-malformed");
	cdr_pdf_info_page_pixels(w_pt, h_pt, dpi, &pw, &ph);
	w = (int)pw;
	h = (int)ph;
	surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(surf);
		return refuse("pdf-render");
	}
	cr = cairo_create(surf);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_scale(cr, (double)w / w_pt, (double)h / h_pt);
	poppler_page_render(page, cr);
	cairo_status_t st = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_flush(surf);
	if (st != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(surf);
		return refuse("pdf-render");
	}
	const uint8_t *data = cairo_image_surface_get_data(surf);
	int stride = cairo_image_surface_get_stride(surf);
	/* RGB24 is one native-endian uint32 per pixel, 0x00RRGGBB */
	for (int y = 0; y < h && grey; y++) {
		const uint32_t *px = (const uint32_t *)(data + (size_t)y * stride);
		for (int x = 0; x < w; x++) {
			uint32_t v = px[x];
			if (((v >> 16) & 0xff) != (v & 0xff) || ((v >> 8) & 0xff) != (v & 0xff)) {
				grey = 0;
				break;
			}
		}
	}
	unsigned ch = grey ? 1 : 3;
	if (cdr_pixels_header_encode((uint32_t)w, (uint32_t)h, ch, hdr) < 0 || fwrite(hdr, sizeof hdr, 1, stdout) != 1)
		goto io;
	for (int y = 0; y < h; y++) {
		const uint32_t *px = (const uint32_t *)(data + (size_t)y * stride);
		uint8_t *o = row;
		for (int x = 0; x < w; x++) {
			uint32_t v = px[x];
			if (grey) {
				*o++ = (uint8_t)v;
			} else {
				*o++ = (uint8_t)(v >> 16);
				*o++ = (uint8_t)(v >> 8);
				*o++ = (uint8_t)v;
			}
		}
		if (fwrite(row, (size_t)w * ch, 1, stdout) != 1)
			goto io;
	}
	cairo_surface_destroy(surf);
	fprintf(stderr, "page %d %dx%d %u\n", no, w, h, dpi);
	return 0;
io:
	cairo_surface_destroy(surf);
	fprintf(stderr, "sekisho-cdr-pdf: write: %s\n", strerror(errno));
	return 2;
}

static cairo_status_t vector_write(void *closure, const unsigned char *data, unsigned int len)
{
	(void)closure;
	return fwrite(data, 1, len, stdout) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Every page drawn onto one cairo PDF surface: the product is what cairo
 * writes for the drawing operations poppler makes, so no object, action,
 * annotation, form, attachment or metadata of the input can reach it.
 * Display rendering (poppler_page_render), not render_for_printing: for
 * printing poppler hands cairo the original's JPEG, JPX, JBIG2 and CCITT
 * streams to embed as they are (measured: testPDF_incrementalUpdates.pdf's
 * JPEG came through byte for byte); for display it gives decoded pixels,
 * which cairo writes as new Flate images, so no image codec of the input
 * reaches a viewer.  A side above PDF's 14400 pt is scaled down with the
 * page, as in the pixel mode. */
static int vector(PopplerDocument *doc, int npages)
{
	cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(vector_write, NULL, 1, 1);
	cairo_t *cr = NULL;
	int rc = 0;

	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(surf);
		return refuse("pdf-render");
	}
	for (int i = 0; i < npages && rc == 0; i++) {
		PopplerPage *page = poppler_document_get_page(doc, i);
		double w = 0, h = 0, s = 1;
		if (!page) {
			rc = refuse("pdf-malformed");
			break;
		}
		poppler_page_get_size(page, &w, &h);
		if (!(w > 0) || !(h > 0) || w > 1e6 || h > 1e6) {
			g_object_unref(page);
			rc = refuse("pdf-malformed");
			break;
		}
		if (w > 14400)
			s = 14400 / w;
		if (h * s > 14400)
			s = 14400 / h;
		cairo_pdf_surface_set_size(surf, w * s < 1 ? 1 : w * s, h * s < 1 ? 1 : h * s);
		cr = cairo_create(surf);
		cairo_scale(cr, s, s);
		poppler_page_render(page, cr);
		cairo_show_page(cr);
		if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
			rc = refuse("pdf-render");
		cairo_destroy(cr);
		g_object_unref(page);
		if (rc == 0)
			fprintf(stderr, "page %d %.2fx%.2f\n", i + 1, w * s, h * s);
	}
	cairo_surface_finish(surf);
	if (rc == 0 && cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS)
		rc = refuse("pdf-render");
	cairo_surface_destroy(surf);
	if (rc == 0 && fflush(stdout) != 0)
		rc = 2;
	if (rc == 0)
		fprintf(stderr, "ok\n");
	return rc;
}

/* the start-up check: what poppler needs to draw Japanese text in a font the
 * file does not embed; without it such text renders as nothing (exit 0) */
static int environment_ok(void)
{
	FcPattern *pat, *match;
	FcResult res;
	FcLangSet *ls = NULL;
	int ok = 0;

	if (access(CMAP_DIR "/UniJIS-UCS2-H", R_OK) != 0 || access(CMAP_DIR "/90ms-RKSJ-H", R_OK) != 0)
		return refuse("pdf-no-cmaps") ? 0 : 0;
	if (!FcInit())
		return refuse("pdf-no-ja-font") ? 0 : 0;
	pat = FcNameParse((const FcChar8 *)":lang=ja");
	if (pat) {
		FcConfigSubstitute(NULL, pat, FcMatchPattern);
		FcDefaultSubstitute(pat);
		match = FcFontMatch(NULL, pat, &res);
		if (match && FcPatternGetLangSet(match, FC_LANG, 0, &ls) == FcResultMatch &&
		    FcLangSetHasLang(ls, (const FcChar8 *)"ja") == FcLangEqual)
			ok = 1;
		if (match)
			FcPatternDestroy(match);
		FcPatternDestroy(pat);
	}
	if (!ok)
		refuse("pdf-no-ja-font");
	return ok;
}

/* poppler's warnings about what it cannot draw go nowhere: stderr is
 * the report's channel and the sandbox keeps only its start */
static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)data;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -1;
	*ret = v;
	return 0;
}

static const char usage_text[] = "usage: sekisho-cdr-pdf --info [--max-pages N] < IN > REPORT\n"
				 "       sekisho-cdr-pdf --first I --last J [--dpi D] [--max-pages N] < IN > PIXELS\n"
				 "       sekisho-cdr-pdf --vector [--max-pages N] < IN > PDF\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long first = 0, last = 0, dpi = 150, max_pages = 500;
	int info_mode = 0, vector_mode = 0, rc;
	uint8_t *in = NULL;
	size_t inlen = 0;
	GError *err = NULL;

	if ((rc = version_cli(argc, argv, "sekisho-cdr-pdf", usage_text)) >= 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		unsigned long *v = NULL, max = 0;
		if (strcmp(argv[i], "--info") == 0) {
			info_mode = 1;
			continue;
		}
		if (strcmp(argv[i], "--vector") == 0) {
			vector_mode = 1;
			continue;
		}
		if (strcmp(argv[i], "--first") == 0)
			v = &first, max = INT_MAX;
		else if (strcmp(argv[i], "--last") == 0)
			v = &last, max = INT_MAX;
		else if (strcmp(argv[i], "--dpi") == 0)
			v = &dpi, max = 600;
		else if (strcmp(argv[i], "--max-pages") == 0)
			v = &max_pages, max = 100000;
		if (!v || i + 1 >= argc || parse_uint(argv[++i], max, v) < 0)
			return usage();
	}
	if (info_mode && vector_mode)
		return usage();
	if (!info_mode && !vector_mode && (first < 1 || last < first || dpi < 36))
		return usage();
	/* no exec, no fork from here on: before fontconfig and the input */
	rc = cdr_lockdown();
	if (rc < 0) {
		fprintf(stderr, "sekisho-cdr-pdf: seccomp: %s\n", strerror(-rc));
		return 2;
	}
	g_log_set_handler("Poppler", G_LOG_LEVEL_MASK, quiet, NULL);
	if (!environment_ok())
		return 1;
	rc = cdr_filter_read_input("sekisho-cdr-pdf", PDF_MAX_INPUT, &in, &inlen);
	if (rc)
		return rc;
	GBytes *bytes = g_bytes_new_take(in, inlen);
	PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &err);
	if (!doc) {
		int enc = err && err->domain == POPPLER_ERROR && err->code == POPPLER_ERROR_ENCRYPTED;
		g_clear_error(&err);
		g_bytes_unref(bytes);
		return refuse(enc ? "encrypted" : "pdf-malformed");
	}
	int npages = poppler_document_get_n_pages(doc);
	if (npages < 1)
		rc = refuse("pdf-no-pages");
	else if ((unsigned long)npages > max_pages)
		rc = refuse("page-limit");
	else if (info_mode)
		rc = info(doc, npages, g_bytes_get_data(bytes, NULL), inlen);
	else if (vector_mode)
		rc = vector(doc, npages);
	else if (last > (unsigned long)npages)
		rc = usage();
	else {
		uint8_t *row = malloc((size_t)CDR_PDF_MAX_SIDE * 3);
		rc = row ? 0 : 2;
		for (unsigned long p = first; p <= last && rc == 0; p++) {
			PopplerPage *page = poppler_document_get_page(doc, (int)p - 1);
			rc = page ? render_page(page, (int)p, (unsigned)dpi, row) : refuse("pdf-malformed");
			if (page)
				g_object_unref(page);
		}
		free(row);
		if (rc == 0 && fflush(stdout) != 0)
			rc = 2;
		if (rc == 0)
			fprintf(stderr, "ok\n");
	}
	g_object_unref(doc);
	g_bytes_unref(bytes);
	return rc;
}
