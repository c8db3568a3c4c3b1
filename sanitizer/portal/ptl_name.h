/* ptl_name: the name of an uploaded file as the portals keep and show it.
 *
 * The name a browser sends is attacker text: it may carry a path
 * ("C:\Users\x\a.pdf", "../../etc/passwd"), control characters, bidi
 * overrides, invalid UTF-8 or thousands of bytes.  ptl_name_clean keeps
 * only the last path component (after the last '/' or '\'), then writes
 * it through san_name_neutralise (the one neutraliser of the tree: bidi,
 * invisible and control characters and bad bytes shown escaped as
 * <U+202E> / <0xNN>), cut at a character boundary to PTL_NAME_MAX bytes.
 * An empty name, "." or ".." becomes "file".  The result never names a
 * path: it is a display name, never used to build one.
 *
 * Ownership: the caller's buffers; never prints. */
#pragma once
#include <stddef.h>

#define PTL_NAME_MAX 255 /* bytes of a cleaned name, without the NUL */

/* Clean raw[0..len) into out (PTL_NAME_MAX + 1 bytes).  Returns the
 * SAN_NAME_* flags (sanitizer/san_name.h) of what was found. */
unsigned ptl_name_clean(const char *raw, size_t len, char out[PTL_NAME_MAX + 1]);
