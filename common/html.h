/* html: the one escaper of text into HTML, for element content and for
 * attribute values in double or single quotes (the portals' pages, the
 * audit report of sekisho-logexport).
 *
 * & < > " ' become entities; a byte that does not start a valid UTF-8
 * sequence (common/utf8.h, strict) and every C0 control but tab and
 * newline, and DEL, become U+FFFD: what arrives from mail headers, file
 * names or audit records is shown, never interpreted, and a forged
 * character is visible as one.  Appends to sb (which owns its memory);
 * never fails otherwise (strbuf aborts on exhaustion). */
#pragma once
#include <stddef.h>

#include "common/strbuf.h"

void html_escape(struct strbuf *sb, const char *s, size_t len);
