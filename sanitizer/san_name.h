/* san_name: make an attacker-chosen file name safe to show.
 *
 * Bidi controls (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C),
 * zero-width characters (U+200B..U+200D, U+2060, U+FEFF), C0/C1 controls,
 * path separators and invalid UTF-8 are shown escaped as <U+202E> / <0xNN>,
 * so "invoice<U+202E>fdp.exe" cannot pose as "invoiceexe.pdf".
 *
 * Ownership: the caller's buffers. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define SAN_NAME_BIDI 0x1u      /* a bidi control was escaped */
#define SAN_NAME_CONTROL 0x2u   /* a control / invisible character or bad byte was escaped */
#define SAN_NAME_DOUBLEEXT 0x4u /* like "report.pdf.exe" or "a.docx    .js" */
#define SAN_NAME_EXEC 0x8u      /* the final extension is an executable or script type */
#define SAN_NAME_CUT 0x10u      /* longer than the output buffer: cut */

/* Write the neutralised form of name (UTF-8, may be NULL) to out (outlen
 * bytes, at least 16).  Returns the SAN_NAME_* flags found. */
unsigned san_name_neutralise(const char *name, char *out, size_t outlen);
