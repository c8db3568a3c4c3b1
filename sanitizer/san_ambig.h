/* san_ambig: the raw structure of a message that readers may split or
 * decode differently.
 *
 * gmime reads a message one way; ripmime, munpack, a mail client or a
 * virus scanner may read the same bytes another way.  Where the bytes
 * allow two readings, the message is malformed (sanitize.c): the original
 * is quarantined and only text that passes the text checks is shown.  This
 * scan looks at the raw bytes, line by line, as they stream past (the
 * message is never held whole), tracking header blocks and the boundaries
 * they declare, and reports:
 *   SAN_AMBIG_BARE_CR      a CR not followed by LF (a line end for some
 *                          readers, a byte for others);
 *   SAN_AMBIG_MIXED_EOL    both CRLF and bare LF line ends;
 *   SAN_AMBIG_NUL          a NUL byte;
 *   SAN_AMBIG_DUP_BOUNDARY a Content-Type with two boundary parameters
 *                          (first wins for some, last for others);
 *   SAN_AMBIG_DUP_CTYPE    two Content-Type (or Content-Transfer-Encoding)
 *                          fields in one header block;
 *   SAN_AMBIG_MIDLINE      "--boundary" of a declared boundary inside a
 *                          line (a delimiter only to lenient readers);
 *   SAN_AMBIG_DELIM_IN_HDR a delimiter line inside a part's header block;
 *   SAN_AMBIG_HEADER_NAME  a header line with no colon, or a name with
 *                          white space, controls or 8-bit bytes ("Content-
 *                          Type : x" is a header to some readers only);
 *   SAN_AMBIG_OBS_FOLD     a continuation line of white space only, or one
 *                          that starts a header block.
 * An mbox "From " line before the first header is allowed.
 *
 * Resources: at most SAN_AMBIG_MAX_BOUNDARIES boundaries of at most 200
 * bytes are tracked (more are not, and the excess is itself reported as
 * SAN_AMBIG_DUP_BOUNDARY); a line is examined in its first 8 KiB (or
 * max_line if smaller); one Content-Type field is collected up to 16 KiB.
 * The state is one allocation of about 40 KiB.
 *
 * Ownership: the state owns its buffers (san_ambig_free).  Never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define SAN_AMBIG_BARE_CR 0x001u
#define SAN_AMBIG_MIXED_EOL 0x002u
#define SAN_AMBIG_NUL 0x004u
#define SAN_AMBIG_DUP_BOUNDARY 0x008u
#define SAN_AMBIG_DUP_CTYPE 0x010u
#define SAN_AMBIG_MIDLINE 0x020u
#define SAN_AMBIG_DELIM_IN_HDR 0x040u
#define SAN_AMBIG_HEADER_NAME 0x080u
#define SAN_AMBIG_OBS_FOLD 0x100u
#define SAN_AMBIG_ALL 0x1ffu

#define SAN_AMBIG_MAX_BOUNDARIES 64

struct san_ambig;

/* max_line: bytes of a line that are examined (0: 8 KiB).  0 or -ENOMEM. */
int san_ambig_new(size_t max_line, struct san_ambig **ret);
void san_ambig_free(struct san_ambig *a);
/* The next n bytes of the raw message. */
void san_ambig_feed(struct san_ambig *a, const char *p, size_t n);
/* After the last byte: the SAN_AMBIG_* bits found. */
unsigned san_ambig_end(struct san_ambig *a);
/* The reason code of one bit ("bare-cr", "mixed-line-ends", ...), as the
 * malformed reason and in docs/sanitizer.md. */
const char *san_ambig_reason(unsigned bit);
