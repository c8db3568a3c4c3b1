/* cdr_pdf_info: the meaning of the PDF converter's report lines (format in
 * cdr_pdf_info.h; the framing is cdr_log's).
 *
 * The converter ran on attacker bytes, so its lines are hostile: numbers
 * are parsed digit by digit against their bounds (no strtod: it accepts
 * hex, exponents, "inf" and "nan"), the page lines must come in order and
 * all of them, and unknown keys are refused.  A refusal is -EBADMSG with
 * why starting with a key; never logs. */
#include "sanitizer/cdr/cdr_pdf_info.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/cdr/cdr_log.h"

/* digits only, no sign, at most max; *p advances past them */
static int info_uint(const char **p, const char *end, uint64_t max, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -1;
		s++;
	}
	*p = s;
	*ret = v;
	return 0;
}

/* a size in points: digits, optionally '.' and one or two digits; in
 * hundredths of a point */
static int info_points(const char **p, const char *end, uint64_t *ret)
{
	uint64_t whole, frac = 0;
	const char *s;

	if (info_uint(p, end, 1000000, &whole) < 0)
		return -1;
	s = *p;
	if (s < end && *s == '.') {
		s++;
		int digits = 0;
		while (s < end && *s >= '0' && *s <= '9' && digits < 2) {
			frac = frac * 10 + (uint64_t)(*s - '0');
			s++;
			digits++;
		}
		if (digits == 0)
			return -1;
		if (digits == 1)
			frac *= 10;
	}
	*p = s;
	*ret = whole * 100 + frac;
	return 0;
}

static int info_literal(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return -1;
	*p += n;
	return 0;
}

/* a removed item: printable ASCII or valid UTF-8, no space, no control */
static int info_item_ok(const char *s, size_t n)
{
	if (n == 0 || n > CDR_PDF_INFO_MAX_ITEM)
		return 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_decode(s + i, n - i, &cp);
		if (k == 0 || cp <= 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return 0;
		i += k;
	}
	return 1;
}

void cdr_pdf_info_init(struct cdr_pdf_info_reader *r, unsigned max_pages, size_t max_removed)
{
	memset(r, 0, sizeof *r);
	r->max_pages = max_pages;
	r->max_removed = max_removed;
}

/* "removed ITEM": kept once, counted past the cap */
static int info_removed(struct cdr_pdf_info_reader *r, const char *item, char *why, size_t whylen)
{
	struct cdr_pdf_info *info = &r->info;
	size_t n = strlen(item);

	if (!info_item_ok(item, n))
		return cdr_log_bad(why, whylen, "pdf-info-syntax: bad removed item");
	for (size_t i = 0; i < info->nremoved; i++)
		if (strcmp(info->removed[i], item) == 0)
			return 0;
	if (info->nremoved >= r->max_removed) {
		info->nremoved_more++;
		return 0;
	}
	if (info->nremoved == r->removed_cap) {
		size_t cap = r->removed_cap ? r->removed_cap * 2 : 16;
		char **p = realloc(info->removed, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		info->removed = p;
		r->removed_cap = cap;
	}
	info->removed[info->nremoved] = strdup(item);
	if (!info->removed[info->nremoved])
		return -ENOMEM;
	info->nremoved++;
	return 0;
}

int cdr_pdf_info_line(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	struct cdr_pdf_info_reader *r = arg;
	struct cdr_pdf_info *info = &r->info;
	const char *s = value, *end = value + strlen(value);
	uint64_t v, w, h, t;

	if (end - s > CDR_PDF_INFO_MAX_LINE)
		return cdr_log_bad(why, whylen, "pdf-info-syntax: line too long");
	if (strcmp(key, "pages") == 0) {
		if (info->page || info_uint(&s, end, 0xffffffffu, &v) < 0 || s != end || v == 0)
			return cdr_log_bad(why, whylen, "pdf-info-syntax: pages");
		if (v > r->max_pages)
			return cdr_log_bad(why, whylen, "page-limit");
		info->page = calloc(v, sizeof *info->page);
		if (!info->page)
			return -ENOMEM;
		info->pages = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "page") == 0) {
		if (!info->page || r->next_page >= info->pages || info_uint(&s, end, info->pages, &v) < 0 ||
		    v != r->next_page + 1 || info_literal(&s, end, " ") < 0 || info_points(&s, end, &w) < 0 ||
		    info_literal(&s, end, "x") < 0 || info_points(&s, end, &h) < 0 || info_literal(&s, end, " ") < 0 ||
		    info_uint(&s, end, 1000000000, &t) < 0 || s != end)
			return cdr_log_bad(why, whylen, "pdf-info-syntax: page line %u", r->next_page + 1);
		if (w < 100 || h < 100 || w > 100000000 || h > 100000000)
			return cdr_log_bad(why, whylen, "pdf-info-page-size: page %u", r->next_page + 1);
		info->page[r->next_page].w_pt = (double)w / 100;
		info->page[r->next_page].h_pt = (double)h / 100;
		info->page[r->next_page].text_chars = (uint32_t)t;
		r->next_page++;
		return 0;
	}
	if (strcmp(key, "removed") == 0) {
		if (!info->page || r->next_page != info->pages)
			return cdr_log_bad(why, whylen, "pdf-info-syntax: removed before the pages");
		return info_removed(r, value, why, whylen);
	}
	return cdr_log_bad(why, whylen, "pdf-info-syntax: unknown line");
}

int cdr_pdf_info_finish(struct cdr_pdf_info_reader *r, struct cdr_pdf_info *ret, char *why, size_t whylen)
{
	memset(ret, 0, sizeof *ret);
	if (!r->info.page || r->next_page != r->info.pages) {
		int rc = cdr_log_bad(why, whylen, "pdf-info-syntax: %u of %u page lines", r->next_page, r->info.pages);
		cdr_pdf_info_free(&r->info);
		return rc;
	}
	*ret = r->info;
	memset(&r->info, 0, sizeof r->info);
	return 0;
}

int cdr_pdf_info_parse(const char *buf, size_t len, unsigned max_pages, size_t max_removed, struct cdr_pdf_info *ret,
		       char *why, size_t whylen)
{
	struct cdr_pdf_info_reader r;
	struct cdr_log_end end;
	int rc;

	memset(ret, 0, sizeof *ret);
	if (!max_pages || !max_removed)
		return -EINVAL;
	cdr_pdf_info_init(&r, max_pages, max_removed);
	rc = cdr_log_parse(buf, len, cdr_pdf_info_line, &r, &end, why, whylen);
	if (rc == 0 && !end.ok)
		rc = cdr_log_bad(why, whylen, "pdf-info-syntax: the report ends refused");
	if (rc < 0) {
		cdr_pdf_info_free(&r.info);
		/* cdr_log's own refusals name no key: ours is pdf-info-syntax */
		if (rc == -EBADMSG && why && whylen && strncmp(why, "pdf-info-", 9) != 0 &&
		    strcmp(why, "page-limit") != 0) {
			char tmp[160];
			snprintf(tmp, sizeof tmp, "pdf-info-syntax: %s", why);
			snprintf(why, whylen, "%s", tmp);
		}
		return rc;
	}
	return cdr_pdf_info_finish(&r, ret, why, whylen);
}

void cdr_pdf_info_free(struct cdr_pdf_info *info)
{
	if (!info)
		return;
	for (size_t i = 0; i < info->nremoved; i++)
		free(info->removed[i]);
	free(info->removed);
	free(info->page);
	memset(info, 0, sizeof *info);
}

void cdr_pdf_info_page_pixels(double w_pt, double h_pt, unsigned dpi, uint32_t *ret_w, uint32_t *ret_h)
{
	double s = dpi / 72.0;
	double w = w_pt * s, h = h_pt * s;

	if (w > CDR_PDF_MAX_SIDE) {
		s *= CDR_PDF_MAX_SIDE / w;
		w = w_pt * s;
		h = h_pt * s;
	}
	if (h > CDR_PDF_MAX_SIDE) {
		s *= CDR_PDF_MAX_SIDE / h;
		w = w_pt * s;
		h = h_pt * s;
	}
	if (w * h > CDR_PDF_MAX_PIXELS) {
		s *= sqrt(CDR_PDF_MAX_PIXELS / (w * h));
		w = w_pt * s;
		h = h_pt * s;
	}
	/* floor, then clamp: rounding may leave a side a hair above a cap */
	*ret_w = w < 1 ? 1 : w >= CDR_PDF_MAX_SIDE ? CDR_PDF_MAX_SIDE : (uint32_t)w;
	*ret_h = h < 1 ? 1 : h >= CDR_PDF_MAX_SIDE ? CDR_PDF_MAX_SIDE : (uint32_t)h;
	while ((uint64_t)*ret_w * *ret_h > CDR_PDF_MAX_PIXELS) {
		if (*ret_w >= *ret_h)
			(*ret_w)--;
		else
			(*ret_h)--;
	}
}
