/* san_charset: text bytes in a declared charset -> UTF-8, with repair.
 *
 * Japanese mail arrives mislabelled more often than not: CP932 text labelled
 * ISO-2022-JP or Shift_JIS, 8-bit text with no charset at all.  This module
 * decodes with the Windows (CP932) mappings that Japanese users expect for
 * every Shift_JIS and ISO-2022-JP family label (so NEC special characters and
 * IBM extensions survive), guesses a charset for unlabelled 8-bit text, and
 * records every repair in a short ASCII note.  UTF-7 is never decoded.
 *
 * Output is always valid UTF-8 with CRLF/CR normalised to LF and C0/C1
 * control characters other than TAB and LF removed; undecodable bytes become
 * U+FFFD and are counted.
 *
 * Ownership: ret->utf8 is malloc'ed and owned by the caller (free()). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct san_text {
	char *utf8; /* NUL-terminated UTF-8, owned by the caller */
	size_t len;
	const char *used; /* static name of the charset actually used */
	char repair[96];  /* "" or e.g. "iso-2022-jp->cp932" */
	size_t replaced;  /* bytes that could not be decoded (became U+FFFD) */
	size_t controls;  /* control characters removed */
};

/* True for the UTF-7 family (utf-7, utf7, unicode-1-1-utf-7, utf-7-imap,
 * csunicode11utf7), which is refused everywhere. */
bool san_charset_is_utf7(const char *charset);

/* Decode in (len bytes, may contain NUL) labelled declared (NULL or "" when
 * unlabelled).  Returns 0, or -EPROTONOSUPPORT for UTF-7 (nothing decoded),
 * -ENOMEM.  On success the caller frees ret->utf8. */
int san_charset_decode(const char *in, size_t len, const char *declared, struct san_text *ret);

/* Encode UTF-8 text as ISO-2022-JP (JIS X 0208 with the NEC row 13 and
 * NEC-selected IBM extensions, as Windows' CP50220 does; half-width katakana
 * become full-width).  Characters with no representation become U+3013 (〓)
 * and are counted in *ret_lost.  The caller frees *ret.  0 or -ENOMEM. */
int san_charset_to_iso2022jp(const char *utf8, size_t len, char **ret, size_t *ret_len, size_t *ret_lost);

/* Keep the gconv modules of the charsets common in mail loaded for the rest
 * of the process (one idle iconv descriptor each, never used).  glibc
 * unloads a module shortly after its last descriptor is closed, so gmime's
 * and our own decoding otherwise dlopen() a module again for nearly every
 * message.  Idempotent and thread-safe; a charset iconv lacks is skipped. */
void san_charset_pin_modules(void);
