/* san_blob: encoded payloads inside text, and text that is not text.
 *
 * A mail reader (ripmime, munpack, a person with a decoder) can turn a
 * block of encoded characters printed in a text body back into a file.  So
 * every block in the recovered text that decodes to a payload is cut out
 * and handed to the caller, who lists and quarantines it like an
 * attachment.  Kinds found:
 *   uuencode   "begin MODE NAME" ... "end" (indented, quoted with '>', any
 *              octal mode, a missing "end", space or backtick for zero,
 *              the lowercase "twin" characters), "begin-base64" ... "====",
 *              and runs of two or more headerless lines whose length
 *              matches their count character;
 *   yenc       "=ybegin" ... "=yend" (or the end of the text);
 *   binhex     "(This file must be converted with BinHex" or a
 *              ":"-started line of the BinHex alphabet, to the closing ":";
 *   base64     runs of lines of the base64 alphabet (standard or URL-safe,
 *              any line length, blank lines, spaces inside lines, padding
 *              anywhere), and single long base64 words inside prose;
 *   hex        the same runs when every character is a hex digit;
 *   quoted-printable  runs of lines carrying =XX escapes.
 * A headerless kind (base64, hex, quoted-printable, headerless uuencode) is
 * a block only when it decodes to more than SAN_BLOB_MIN bytes that are
 * not plain text (san_blob_text_doubt: a NUL, controls, a file signature,
 * markup -- text in any 8-bit charset is text), or to text that
 * itself holds a block (three levels deep: base64 of base64 of a file).
 * Prose, URLs, SHA-256 hex digests and short tokens are left alone.
 *
 * The scan is linear in the text (each line is classified once; a run
 * that turns out to be text is not rescanned) apart from the decoding of
 * candidate runs, which is bounded by the text's size times the depth.
 *
 * Ownership: blocks passed to the callback point into scratch buffers
 * valid during the call; output is appended to the caller's strbuf.
 * Never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* Decoded bytes above which a headerless block counts (a SHA-512 digest
 * in hex is 64 bytes and stays). */
#define SAN_BLOB_MIN 64

enum san_blob_kind {
	SAN_BLOB_UUENCODE,
	SAN_BLOB_YENC,
	SAN_BLOB_BINHEX,
	SAN_BLOB_BASE64,
	SAN_BLOB_HEX,
	SAN_BLOB_QP,
};

struct san_blob {
	enum san_blob_kind kind;
	const char *name;          /* NUL-terminated, "" when none (raw bytes: neutralise) */
	const unsigned char *data; /* decoded bytes */
	size_t len;
};

/* "uuencode", "yenc", "binhex", "base64", "hex", "quoted-printable". */
const char *san_blob_kind_name(enum san_blob_kind k);

/* Called for each block: writes the line that replaces it into repl (no
 * newline).  A negative return aborts the scan with that error. */
typedef int san_blob_fn(void *arg, const struct san_blob *b, struct strbuf *repl);

/* Copy text[0..len) to out with every block replaced through fn, and the
 * name of every MIME header field printed in the text bracketed
 * ("[Content-Type]: ...", "[MIME-Version]:", also after "> "): ripmime
 * reads such lines inside a text body as the start of a part and decodes
 * what follows.  Returns the number of blocks, -E2BIG past max_blocks, or
 * fn's error. */
int san_blob_strip(const char *text, size_t len, size_t max_blocks, san_blob_fn *fn, void *arg, struct strbuf *out);

/* True when text[0..len) holds at least one block. */
bool san_blob_any(const char *text, size_t len);

/* Why bytes that claim to be text may not be: "nul" (a NUL byte),
 * "control" (more than 1 % C0 controls other than TAB LF CR FF ESC SO SI),
 * "signature" (the start of an executable, archive, office, PDF, RTF,
 * PostScript or image file, or a "#!" script), "markup" (HTML, SVG, PHP
 * or HTA markup in the first 64 KiB), "script" (what Windows Script Host,
 * PowerShell or a browser dropper script says: CreateObject(, WScript.,
 * -EncodedCommand, eval(atob ... in the first 64 KiB), or NULL when none
 * of these.
 * Works on the raw bytes of any ASCII-compatible charset; UTF-16 shows as
 * "nul". */
const char *san_blob_text_doubt(const void *buf, size_t len);
/* The first three of these only ("nul", "control", "signature"): what
 * makes even an HTML part not text. */
const char *san_blob_binary_doubt(const void *buf, size_t len);
