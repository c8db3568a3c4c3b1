/* san_html: HTML -> plain text with libxml2's HTML parser.
 *
 * Paragraphs, line breaks, headings, lists, simple tables and entities are
 * rendered; script, style, head, comments, templates, embedded objects and
 * hidden elements are dropped.  Hidden: the hidden attribute, or CSS that
 * hides (display:none, visibility:hidden, font-size:0, opacity:0, ...) in
 * the style attribute or in a <style> rule whose selector matches the
 * element by tag, class or id (the subset is in san_html.c); their text is
 * counted (stats.hidden, stats.hidden_text), never dropped silently.
 * A link is shown as its text followed by its real target in brackets,
 * read as a browser reads it (san_url_target) and rewritten by
 * san_url_rewrite per the links mode; data: and script targets are never
 * shown, only named.  URLs written as text get san_url_rewrite too.
 * Images become "[画像: alt]" (label from the caller, so the notice
 * language applies).
 *
 * Ownership: *ret is malloc'ed UTF-8 owned by the caller; opts and its
 * strings are only read during the call.  Never prints. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sanitizer/san_url.h"

struct san_html_opts {
	enum san_links links;
	const char *image_label; /* e.g. "画像" or "image" */
	const char *url_label;   /* remove mode: replaces a URL written as text; NULL = "[URL]" */
	size_t max_out;          /* cap on the text produced (bytes); 0 = 16 MiB */
	int64_t deadline_ns;     /* CLOCK_MONOTONIC deadline, 0 = none */
};

struct san_html_stats {
	size_t links;          /* <a href> with a target */
	size_t links_defanged; /* targets that had a live link rewritten */
	size_t text_links;     /* live links in the text rewritten (san_url_rewrite's count) */
	size_t data_urls, scripts, images;
	size_t hidden;      /* hidden elements dropped (and subtrees past the depth cap) */
	size_t hidden_text; /* bytes of non-blank text inside them */
};

/* Convert html (UTF-8, len bytes) to text.  Returns 0, -EBADMSG when the
 * parser gives up, -EFBIG when max_out is exceeded, -ETIMEDOUT past the
 * deadline.  On error *ret is NULL. */
int san_html_to_text(const char *html, size_t len, const struct san_html_opts *opts, char **ret,
		     struct san_html_stats *ret_stats);
