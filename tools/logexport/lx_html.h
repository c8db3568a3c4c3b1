/* lx_html: safe HTML text and inline SVG charts for the report.
 *
 * Every string from the logs is hostile: lx_html_esc escapes it with
 * common/html.h (the one escaper: & < > " ' as entities, invalid UTF-8
 * and control characters as U+FFFD), so text can go into element content
 * and quoted attributes alike.  Charts are inline <svg>
 * elements without external references (no xmlns URL, no href, no
 * script); their labels are escaped the same way.  Appends to strbufs
 * (abort on OOM); never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

void lx_html_esc(struct strbuf *sb, const char *s);
void lx_html_escn(struct strbuf *sb, const char *s, size_t n);
/* Escaped, cut to at most max characters (an ellipsis marks the cut). */
void lx_html_esc_cut(struct strbuf *sb, const char *s, size_t max_chars);
/* 1234567 -> "1,234,567" */
void lx_html_num(struct strbuf *sb, uint64_t n);

/* A "nice" axis maximum >= v (1, 2, 2.5, 5 times a power of ten). */
uint64_t lx_html_nice_max(uint64_t v);

struct lx_html_series {
	const char *label;      /* legend text (escaped) */
	const char *color;      /* CSS colour, trusted (ours) */
	const uint64_t *values; /* one per category */
};

/* Vertical columns per category (e.g. per day), stacked series. */
void lx_html_svg_columns(struct strbuf *sb, const char *const *cats, size_t ncat, const struct lx_html_series *series,
			 size_t nseries, int width, int height, const char *title);

/* Horizontal bars with a label and a value per row; bars of several
 * series side by side stacked (e.g. allowed and denied). */
void lx_html_svg_hbars(struct strbuf *sb, const char *const *labels, size_t n, const struct lx_html_series *series,
		       size_t nseries, int width, int label_width, const char *title);
