/* san_url: URLs written in text, made harmless like HTML link targets.
 *
 * Mail clients turn "https://..." in a text/plain body into a clickable
 * link, so text URLs get the treatment san_html gives link targets:
 *   SAN_LINKS_KEEP    unchanged;
 *   SAN_LINKS_DEFANG  the scheme rewritten (http -> hxxp, https -> hxxps,
 *                     ftp -> fxp; same as san_html_defang), the rest shown;
 *   SAN_LINKS_REMOVE  the whole URL replaced by a label ("[URL 削除]").
 * A URL starts at "http://", "https://" or "ftp://" (any case) not preceded
 * by a letter or digit, and ends before white space, a control byte, one
 * of <>"'`{}|\^, or a non-ASCII byte (Japanese text often follows a URL with
 * no space); trailing .,;:!? and an unbalanced ')' are not part of it.
 *
 * Ownership: output is appended to the caller's strbuf.  Never prints. */
#pragma once
#include <stddef.h>

#include "common/strbuf.h"
#include "sanitizer/san_html.h"

/* Append text[0..len) to out with each URL rewritten per mode (label: the
 * replacement in remove mode).  Returns the number of URLs rewritten. */
size_t san_url_rewrite(const char *text, size_t len, enum san_links mode, const char *label, struct strbuf *out);
