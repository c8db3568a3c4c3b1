/* san_url: links written in text made harmless, and HTML link targets
 * read as browsers read them.  One definition of a "live link" for the
 * whole sanitiser: san_html uses these functions for its link targets and
 * for URLs written as text, so both are rewritten identically.
 *
 * Live links (docs/sanitizer.md, "Body"), matched on the text after
 * folding full-width ASCII (U+FF01-U+FF5E) to ASCII, U+3000 to a space and
 * ASCII letters to lower case:
 *   L1 scheme:// or scheme:\\, scheme = [a-z][a-z0-9+.-]{0,31} not preceded
 *      by [a-z0-9+.-];
 *   L2 an opaque scheme (javascript, vbscript, livescript, data, file,
 *      about, blob, jar, view-source, mhtml, mk, its, ms-its, search-ms,
 *      search, shell, smb, cifs, nfs, afp, telnet, ldap, ldaps, res,
 *      ms-[a-z0-9-]+), not preceded by [a-z0-9+.-], then ':' and a
 *      character that is not a space, tab, LF or CR;
 *      mailto:, tel:, sip:, news: are not live (they open a compose or
 *      dial window, never content);
 *   L3 www. or wwwN. (N: 1-3 digits) followed by [a-z0-9_$-] or a non-ASCII
 *      character (IDN: www.例え.jp), not preceded by [a-z0-9./@[-];
 *   L4 two backslashes followed by [a-z0-9._$-], not preceded by '[' or '\'.
 *
 * Modes:
 *   SAN_LINKS_KEEP    text unchanged;
 *   SAN_LINKS_DEFANG  every live link rewritten in place, the original
 *                     characters kept: ':' of L1/L2 -> "[:]" (and http,
 *                     https, ftp spelled in ASCII -> hxxp, hxxps, fxp), the
 *                     '.' of L3 -> "[.]", L4's "\\" -> "[\\]".  Every
 *                     position is looked at, as the output will show it,
 *                     so links nested in another link, and those a rewrite
 *                     exposes (www.www.x -> www[.]www[.]x), are rewritten
 *                     too; the result has no live link;
 *   SAN_LINKS_REMOVE  each live link, from its start to its end, replaced
 *                     by the label; links inside it go with it.  A link ends
 *                     before white space, a control, a non-ASCII character
 *                     (after folding: Japanese right after a URL), or one
 *                     of <>"'`{}|^ (a backslash is part of it: UNC
 *                     paths); trailing .,;:!? and an unbalanced ')' are
 *                     not part of it.
 *
 * Contract: linear in the text (every character is folded once, look-ahead
 * is at most 8 characters, remove mode scans a link's end once); no
 * allocation besides the output buffer growing.  Never prints. */
#pragma once
#include <stddef.h>

#include "common/strbuf.h"

enum san_links { SAN_LINKS_DEFANG = 0, SAN_LINKS_KEEP, SAN_LINKS_REMOVE };

/* Append text[0..len) (UTF-8; invalid bytes are copied and never part of a
 * link) to out with each live link rewritten per mode; label: the
 * replacement in remove mode (NULL: "[URL]").  The caller owns out; nothing
 * is kept.  Returns the number of links rewritten: in defang mode one per
 * rewritten ':', '.' or "\\" (file:\\host counts 2: L1 and L4), in remove
 * mode one per removed link; 0 in keep mode. */
size_t san_url_rewrite(const char *text, size_t len, enum san_links mode, const char *label, struct strbuf *out);

enum san_url_kind { SAN_URL_OTHER = 0, SAN_URL_DATA, SAN_URL_SCRIPT };

/* An HTML attribute URL (href, src) as a browser reads it: leading and
 * trailing C0 controls and spaces stripped, tab/LF/CR inside removed, other
 * controls written as %XX.  The result is appended to out (caller owns it).
 * Returns its kind, judged after folding case and full-width letters:
 * data:, a script scheme (javascript:, vbscript:, livescript:), or other
 * (which the caller shows through san_url_rewrite). */
enum san_url_kind san_url_target(const char *url, size_t len, struct strbuf *out);
