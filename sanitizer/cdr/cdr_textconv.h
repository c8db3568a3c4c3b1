/* cdr_textconv: a text or CSV file to a clean copy, inside the sandbox.
 *
 * Converter-only (linked into sekisho-cdr-text and its tests, never into
 * the trusted side): it reads attacker bytes.  The charset is detected
 * (BOM; NUL bytes mean UTF-16; 7-bit with ISO-2022 escapes; valid UTF-8;
 * otherwise whichever of CP932, EUC-JP, UTF-16LE and UTF-16BE decodes the
 * whole input and reads most like Japanese or ASCII text), the text is
 * decoded with glibc iconv, control characters are removed (TAB, CR and LF
 * stay; C0, DEL, C1, the bidirectional overrides and isolates, and U+FEFF
 * go: cdr_text_control), lines are capped (CDR_TEXT_MAX_LINE), and the
 * copy is encoded:
 *   txt: UTF-8 without a BOM;
 *   csv: CP932 when every character has a CP932 form, else UTF-8 with a BOM
 *        (what Excel needs to open a CSV as UTF-8 on a double-click).
 *
 * Ownership: *ret_out is malloc'd (the caller frees it).  Failure: -errno
 * and a reason key in why (unknown-charset, line-length-limit,
 * input-size-limit, out-of-memory); no output.  Never logs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CDR_TEXTCONV_MAX_INPUT (32u << 20) /* bytes */

struct cdr_textconv_result {
	char charset[16]; /* detected: utf-8, utf-8-bom, utf-16le(-bom), utf-16be(-bom), cp932, euc-jp, iso-2022-jp */
	char out_charset[16]; /* utf-8, utf-8-bom, cp932 */
	size_t removed;       /* control characters removed */
};

int cdr_textconv_convert(const uint8_t *in, size_t len, bool csv, uint8_t **ret_out, size_t *ret_len,
			 struct cdr_textconv_result *ret_res, char *why, size_t whylen);
