/* san_detect: what a removed file really is.
 *
 *  - the true type by libmagic (no decompression, no external programs),
 *  - encrypted ZIP archives (PPAP: general-purpose flag bit 0 in any local or
 *    central directory header),
 *  - the names of the files inside a TNEF (winmail.dat) stream.
 * (Encoded blocks inside text: san_blob.)
 *
 * Ownership: san_magic is an opaque handle owned by its creator
 * (san_detect_magic_free).  Outputs go to caller buffers / strbufs.  Never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

struct san_magic;

/* Open libmagic (MIME type mode) with its default database.  0 or -errno. */
int san_detect_magic_new(struct san_magic **ret);
void san_detect_magic_free(struct san_magic *m);
/* The MIME type of buf ("application/x-dosexec", ...) into out; on failure
 * "application/octet-stream".  Looks at most at the first 1 MiB. */
void san_detect_magic_type(struct san_magic *m, const void *buf, size_t len, char *out, size_t outlen);
/* The type of buf when its first bytes make libmagic's answer certain (PDF,
 * PNG, GIF, JPEG signatures), else NULL; san_detect_magic_type then skips
 * libmagic. */
const char *san_detect_magic_sure(const void *buf, size_t len);

/* True when buf holds a ZIP whose entries are encrypted. */
bool san_detect_zip_encrypted(const void *buf, size_t len);

/* True when buf starts with the TNEF signature. */
bool san_detect_tnef_is(const void *buf, size_t len);
/* Append the attachment titles found in a TNEF stream to names, separated by
 * "\n" (at most max names; name bytes are copied as-is, the caller
 * neutralises them).  Returns the number of names, or -EBADMSG when the
 * stream is malformed (names found so far are kept). */
int san_detect_tnef_names(const void *buf, size_t len, size_t max, struct strbuf *names);
