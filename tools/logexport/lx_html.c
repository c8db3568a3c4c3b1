/* lx_html: escaping and inline SVG charts (see lx_html.h).
 *
 * Contract: pure output into strbufs.  Chart geometry is computed with
 * integers and doubles only from counts; no input string influences
 * anything but escaped text. */
#include "tools/logexport/lx_html.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/html.h"

void lx_html_escn(struct strbuf *sb, const char *s, size_t n)
{
	html_escape(sb, s ? s : "", s ? n : 0);
}

void lx_html_esc(struct strbuf *sb, const char *s)
{
	lx_html_escn(sb, s ? s : "", s ? strlen(s) : 0);
}

void lx_html_esc_cut(struct strbuf *sb, const char *s, size_t max_chars)
{
	if (!s)
		return;
	size_t i = 0, chars = 0, n = strlen(s);
	while (i < n && chars < max_chars) {
		i++;
		while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	lx_html_escn(sb, s, i);
	if (i < n)
		strbuf_puts(sb, "…");
}

void lx_html_num(struct strbuf *sb, uint64_t n)
{
	char d[32];
	int len = snprintf(d, sizeof d, "%" PRIu64, n);
	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			strbuf_putc(sb, ',');
		strbuf_putc(sb, d[i]);
	}
}

uint64_t lx_html_nice_max(uint64_t v)
{
	if (v <= 5)
		return 5;
	uint64_t p = 1;
	while (p <= v / 10)
		p *= 10;
	static const uint64_t steps[] = {10, 20, 25, 50, 100};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (p * steps[i] / 10 >= v)
			return p * steps[i] / 10;
	return p * 10;
}

static void axis_label(struct strbuf *sb, uint64_t v)
{
	if (v >= 1000000 && v % 100000 == 0)
		strbuf_printf(sb, "%" PRIu64 ".%" PRIu64 "M", v / 1000000, v / 100000 % 10);
	else if (v >= 10000 && v % 1000 == 0)
		strbuf_printf(sb, "%" PRIu64 "k", v / 1000);
	else
		lx_html_num(sb, v);
}

static void legend(struct strbuf *sb, const struct lx_html_series *series, size_t nseries, int x, int y)
{
	for (size_t s = 0; s < nseries; s++) {
		strbuf_printf(sb, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>", x,
			      y - 10, series[s].color);
		strbuf_printf(sb, "<text x=\"%d\" y=\"%d\" class=\"lg\">", x + 18, y);
		lx_html_esc(sb, series[s].label);
		strbuf_puts(sb, "</text>");
		x += 40 + 14 * (int)strlen(series[s].label) / 2;
	}
}

void lx_html_svg_columns(struct strbuf *sb, const char *const *cats, size_t ncat, const struct lx_html_series *series,
			 size_t nseries, int width, int height, const char *title)
{
	const int left = 56, right = 12, top = 34, bottom = 34;
	int pw = width - left - right, ph = height - top - bottom;
	uint64_t max = 0;
	for (size_t c = 0; c < ncat; c++) {
		uint64_t sum = 0;
		for (size_t s = 0; s < nseries; s++)
			sum += series[s].values[c];
		if (sum > max)
			max = sum;
	}
	uint64_t top_v = lx_html_nice_max(max);
	strbuf_printf(sb, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" aria-label=\"",
		      width, height);
	lx_html_esc(sb, title);
	strbuf_puts(sb, "\">");
	legend(sb, series, nseries, left, 16);
	for (int g = 0; g <= 4; g++) {
		int y = top + ph - ph * g / 4;
		strbuf_printf(sb, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" class=\"%s\"/>", left, left + pw, y, y,
			      g ? "grid" : "axis");
		strbuf_printf(sb, "<text x=\"%d\" y=\"%d\" class=\"yl\">", left - 8, y + 4);
		axis_label(sb, top_v * (uint64_t)g / 4);
		strbuf_puts(sb, "</text>");
	}
	if (ncat == 0) {
		strbuf_puts(sb, "</svg>");
		return;
	}
	double slot = (double)pw / (double)ncat;
	double bw = slot * 0.62;
	if (bw > 56)
		bw = 56;
	for (size_t c = 0; c < ncat; c++) {
		double x = left + slot * (double)c + (slot - bw) / 2;
		double y = top + ph;
		uint64_t sum = 0;
		for (size_t s = 0; s < nseries; s++) {
			uint64_t v = series[s].values[c];
			sum += v;
			if (!v)
				continue;
			double h = (double)ph * (double)v / (double)top_v;
			y -= h;
			strbuf_printf(sb,
				      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
				      x, y, bw, h, series[s].color);
			lx_html_esc(sb, cats[c]);
			strbuf_puts(sb, " ");
			lx_html_esc(sb, series[s].label);
			strbuf_puts(sb, ": ");
			lx_html_num(sb, v);
			strbuf_puts(sb, "</title></rect>");
		}
		if (sum) {
			strbuf_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" class=\"vl\">", x + bw / 2, y - 5);
			lx_html_num(sb, sum);
			strbuf_puts(sb, "</text>");
		}
		/* every label when they fit, else every k-th */
		size_t every = ncat <= 16 ? 1 : (ncat + 15) / 16;
		if (c % every == 0) {
			strbuf_printf(sb, "<text x=\"%.1f\" y=\"%d\" class=\"xl\">", x + bw / 2, top + ph + 20);
			/* a date shows as MM-DD */
			const char *lab = cats[c];
			if (strlen(lab) == 10 && lab[4] == '-')
				lab += 5;
			lx_html_esc(sb, lab);
			strbuf_puts(sb, "</text>");
		}
	}
	strbuf_puts(sb, "</svg>");
}

void lx_html_svg_hbars(struct strbuf *sb, const char *const *labels, size_t n, const struct lx_html_series *series,
		       size_t nseries, int width, int label_w, const char *title)
{
	const int value_w = 64, row_h = 28, top = nseries > 1 ? 30 : 6;
	int pw = width - label_w - value_w - 16;
	int height = top + (int)n * row_h + 6;
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t sum = 0;
		for (size_t s = 0; s < nseries; s++)
			sum += series[s].values[i];
		if (sum > max)
			max = sum;
	}
	if (max == 0)
		max = 1;
	strbuf_printf(sb, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" aria-label=\"",
		      width, height);
	lx_html_esc(sb, title);
	strbuf_puts(sb, "\">");
	if (nseries > 1)
		legend(sb, series, nseries, label_w, 16);
	for (size_t i = 0; i < n; i++) {
		int y = top + (int)i * row_h;
		strbuf_printf(sb, "<text x=\"%d\" y=\"%d\" class=\"hl\">", label_w - 10, y + 18);
		lx_html_esc_cut(sb, labels[i], (size_t)label_w / 8);
		strbuf_puts(sb, "</text>");
		strbuf_printf(sb, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\" class=\"track\"/>",
			      label_w, y + 5, pw, row_h - 10);
		double x = label_w;
		uint64_t sum = 0;
		for (size_t s = 0; s < nseries; s++) {
			uint64_t v = series[s].values[i];
			sum += v;
			if (!v)
				continue;
			double w = (double)pw * (double)v / (double)max;
			if (w < 2)
				w = 2;
			strbuf_printf(sb, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>",
				      x, y + 5, w, row_h - 10, series[s].color);
			lx_html_esc(sb, labels[i]);
			strbuf_puts(sb, " ");
			lx_html_esc(sb, series[s].label);
			strbuf_puts(sb, ": ");
			lx_html_num(sb, v);
			strbuf_puts(sb, "</title></rect>");
			x += w;
		}
		strbuf_printf(sb, "<text x=\"%d\" y=\"%d\" class=\"hv\">", label_w + pw + 8, y + 18);
		lx_html_num(sb, sum);
		strbuf_puts(sb, "</text>");
	}
	strbuf_puts(sb, "</svg>");
}
