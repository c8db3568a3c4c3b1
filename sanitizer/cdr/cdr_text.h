/* cdr_text: the trusted side of text and CSV (the handler is declared in
 * cdr.h): what counts as a control character a copy must not hold, the line
 * cap, and the check of what sekisho-cdr-text wrote.
 *
 * cdr_text_control and CDR_TEXT_MAX_LINE are the one definition that the
 * converter (cdr_textconv, which removes and caps) and the check (which
 * refuses) both use.
 *
 * cdr_text_check reads the converter's product, as hostile as any input:
 * it must be valid in the charset the converter declared ("utf-8",
 * "utf-8-bom": a BOM and then UTF-8, "cp932": decoded with glibc iconv),
 * hold no control character, and no line longer than the cap.  Returns 0,
 * or -EBADMSG with an English why.  Ownership: buf is the caller's.
 * Never logs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CDR_TEXT_MAX_LINE (1u << 20) /* bytes of one line, in UTF-8 */

/* a control character no copy keeps: C0 but TAB, LF, CR; DEL; C1; the
 * bidirectional embeddings, overrides and isolates (text that displays
 * in another order than it reads: U+202A-U+202E, U+2066-U+2069); U+FEFF
 * (a BOM is only ever the copy's own first bytes) */
static inline bool cdr_text_control(uint32_t c)
{
	if (c == '\t' || c == '\n' || c == '\r')
		return false;
	return c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
		c == 0xfeff;
}

int cdr_text_check(const uint8_t *buf, size_t len, const char *charset, char *why, size_t whylen);
