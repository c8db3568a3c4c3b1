/* cdr_pdf_info: parse the PDF converter's report (format in cdr_pdf_info.h).
 *
 * The converter ran on attacker bytes, so this reads its text as hostile:
 * each line is bounded before it is looked at, numbers are parsed digit by
 * digit against their bounds (no strtod: it accepts hex, exponents, "inf"
 * and "nan"), the page lines must come in order, and everything after "ok"
 * is refused.  A refusal is -EBADMSG with a reason key; never logs. */
#include "sanitizer/cdr/cdr_pdf_info.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

static int info_refuse(struct cdr_pdf_info *ret, char *why, size_t whylen, const char *key)
{
	cdr_pdf_info_free(ret);
	if (why && whylen)
		snprintf(why, whylen, "%s", key);
	return -EBADMSG;
}

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

int cdr_pdf_info_parse(const char *buf, size_t len, unsigned max_pages, size_t max_removed, struct cdr_pdf_info *ret,
		       char *why, size_t whylen)
{
	const char *p = buf, *end = buf + len;
	unsigned next_page = 0; /* page lines seen */
	int done = 0;
	size_t removed_cap = 0;

	memset(ret, 0, sizeof *ret);
	if (!max_pages || !max_removed)
		return -EINVAL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || nl - p > CDR_PDF_INFO_MAX_LINE || done)
			return info_refuse(ret, why, whylen, "pdf-info-syntax");
		const char *s = p;
		p = nl + 1;
		uint64_t v, w, h, t;
		if (!ret->page) {
			/* the first line */
			if (info_literal(&s, nl, "pages ") < 0 || info_uint(&s, nl, 0xffffffffu, &v) < 0 || s != nl ||
			    v == 0)
				return info_refuse(ret, why, whylen, "pdf-info-syntax");
			if (v > max_pages)
				return info_refuse(ret, why, whylen, "page-limit");
			ret->pages = (unsigned)v;
			ret->page = calloc(v, sizeof *ret->page);
			if (!ret->page)
				return -ENOMEM;
			continue;
		}
		if (next_page < ret->pages) {
			if (info_literal(&s, nl, "page ") < 0 || info_uint(&s, nl, ret->pages, &v) < 0 ||
			    v != next_page + 1 || info_literal(&s, nl, " ") < 0 || info_points(&s, nl, &w) < 0 ||
			    info_literal(&s, nl, "x") < 0 || info_points(&s, nl, &h) < 0 ||
			    info_literal(&s, nl, " ") < 0 || info_uint(&s, nl, 1000000000, &t) < 0 || s != nl)
				return info_refuse(ret, why, whylen, "pdf-info-syntax");
			if (w < 100 || h < 100 || w > 100000000 || h > 100000000)
				return info_refuse(ret, why, whylen, "pdf-info-page-size");
			ret->page[next_page].w_pt = (double)w / 100;
			ret->page[next_page].h_pt = (double)h / 100;
			ret->page[next_page].text_chars = (uint32_t)t;
			next_page++;
			continue;
		}
		if (nl - s == 2 && memcmp(s, "ok", 2) == 0) {
			done = 1;
			continue;
		}
		if (info_literal(&s, nl, "removed ") < 0 || !info_item_ok(s, (size_t)(nl - s)))
			return info_refuse(ret, why, whylen, "pdf-info-syntax");
		size_t n = (size_t)(nl - s), i;
		for (i = 0; i < ret->nremoved; i++)
			if (strlen(ret->removed[i]) == n && memcmp(ret->removed[i], s, n) == 0)
				break;
		if (i < ret->nremoved)
			continue;
		if (ret->nremoved >= max_removed) {
			ret->nremoved_more++;
			continue;
		}
		if (ret->nremoved == removed_cap) {
			size_t cap = removed_cap ? removed_cap * 2 : 16;
			char **r = realloc(ret->removed, cap * sizeof *r);
			if (!r) {
				cdr_pdf_info_free(ret);
				return -ENOMEM;
			}
			ret->removed = r;
			removed_cap = cap;
		}
		ret->removed[ret->nremoved] = strndup(s, n);
		if (!ret->removed[ret->nremoved]) {
			cdr_pdf_info_free(ret);
			return -ENOMEM;
		}
		ret->nremoved++;
	}
	if (!done)
		return info_refuse(ret, why, whylen, "pdf-info-syntax");
	return 0;
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
