/* utf8: the one UTF-8 decoder of the tree (RFC 3629, strict).
 *
 * A valid sequence is the shortest encoding of a Unicode scalar value:
 * no overlong forms, no surrogates (U+D800-U+DFFF), nothing above
 * U+10FFFF, no lead bytes C0, C1 or F5-FF, no stray continuation bytes,
 * no sequence cut by the end of the input.  NUL (one byte 0x00) is a valid
 * code point here; callers that refuse it say so themselves.
 *
 * What to do with an invalid byte (escape it, replace it, refuse the
 * input) is each caller's policy; this module only gives the verdict.
 * No allocation, no state, never fails otherwise. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_MAX 4 /* bytes in the longest sequence */

/* Decodes the sequence at s[0..n): returns its length (1-4) and stores the
 * code point in *ret_cp; returns 0 (and leaves *ret_cp alone) when s does
 * not start with a valid sequence or n is 0. */
size_t utf8_decode(const void *s, size_t n, uint32_t *ret_cp);

/* Length in bytes of the longest valid prefix of s[0..n). */
size_t utf8_valid_prefix(const void *s, size_t n);

/* True when all of s[0..n) is valid UTF-8. */
bool utf8_valid(const void *s, size_t n);

/* True when all of s[0..n) is valid UTF-8 without a control character
 * (C0, DEL or C1): text from another process that may reach a page, a
 * record or a terminal as it is. */
bool utf8_text(const void *s, size_t n);

/* Writes the encoding of cp to ret_buf (UTF8_MAX bytes, not terminated) and
 * returns its length; returns 0 for a surrogate or a value past U+10FFFF. */
size_t utf8_encode(uint32_t cp, char ret_buf[UTF8_MAX]);
