/* san_html: HTML -> plain text with libxml2's HTML parser.
 *
 * Paragraphs, line breaks, headings, lists, simple tables and entities are
 * rendered; script, style, head, comments, templates, embedded objects and
 * hidden elements (hidden attribute, display:none, visibility:hidden,
 * input type=hidden) are dropped.  A link is shown as its text followed by
 * its real target in brackets, defanged (hxxps://) by default; data: and
 * javascript: targets are never shown, only named.  Images become
 * "[画像: alt]" (label from the caller, so the notice language applies).
 *
 * Ownership: *ret is malloc'ed UTF-8 owned by the caller.  Never prints. */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum san_links { SAN_LINKS_DEFANG = 0, SAN_LINKS_KEEP, SAN_LINKS_REMOVE };

struct san_html_opts {
	enum san_links links;
	const char *image_label;   /* e.g. "画像" or "image" */
	size_t max_out;            /* cap on the text produced (bytes); 0 = 16 MiB */
	int64_t deadline_ns;       /* CLOCK_MONOTONIC deadline, 0 = none */
};

struct san_html_stats {
	size_t links, links_defanged, data_urls, scripts, hidden, images;
};

/* Convert html (UTF-8, len bytes) to text.  Returns 0, -EBADMSG when the
 * parser gives up, -EFBIG when max_out is exceeded, -ETIMEDOUT past the
 * deadline.  On error *ret is NULL. */
int san_html_to_text(const char *html, size_t len, const struct san_html_opts *opts,
		     char **ret, struct san_html_stats *ret_stats);

/* Write url into out (a NUL-terminated buffer of outlen bytes) defanged:
 * http->hxxp, https->hxxps, ftp->fxp.  Exposed for tests and plain text. */
void san_html_defang(const char *url, char *out, size_t outlen);
