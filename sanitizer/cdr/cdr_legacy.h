/* cdr_legacy: what a legacy office file is, before LibreOffice sees it.
 *
 * Runs inside the sandbox only (converter-only library, linked into
 * sekisho-cdr-office and its tests, never into the trusted side): it reads
 * attacker bytes.  cdr_legacy_sniff names the format (doc, xls, ppt, rtf,
 * odt, ods, odp; an OOXML package too, for the PDF path), the LibreOffice
 * family that decides the OOXML target (docx, xlsx, pptx), and what the file carries that the conversion drops
 * or cannot get past: a password (encryption), macros (VBA storages, ODF
 * Basic/Scripts).  It only looks: OLE2 directory entries by name (and the
 * first bytes of the Word and Excel streams for their password flags), the
 * ODF zip's entry names and manifest through libarchive under caps.
 *
 * Ownership: nothing is allocated that outlives the call.  Never fails: an
 * input it does not recognise gets type "" (the converter refuses it as
 * unsupported-format).  Never logs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cdr_legacy_info {
	char type[8]; /* doc xls ppt rtf odt ods odp; docx xlsx pptx; "cfb" (encrypted OOXML); or "" */
	char ext[8];  /* the OOXML target: "docx", "xlsx", "pptx", or "" */
	bool encrypted;
	bool macros;
};

void cdr_legacy_sniff(const uint8_t *in, size_t len, struct cdr_legacy_info *ret_info);
