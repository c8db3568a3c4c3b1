/* utf8: strict UTF-8 decoding and encoding (see utf8.h).
 *
 * The second byte of a multi-byte sequence carries all the range checks
 * (RFC 3629, section 4): E0 needs A0-BF (no overlong 3-byte form), ED needs
 * 80-9F (no surrogate), F0 needs 90-BF (no overlong 4-byte form), F4 needs
 * 80-8F (nothing past U+10FFFF); the remaining bytes are 80-BF.  So the
 * verdict is reached without building the code point first.  Pure
 * functions: no allocation, no errors beyond the 0 verdict. */
#include "common/utf8.h"

size_t utf8_decode(const void *s, size_t n, uint32_t *ret_cp)
{
	const unsigned char *p = s;
	if (n == 0)
		return 0;
	unsigned char c = p[0];
	if (c < 0x80) {
		*ret_cp = c;
		return 1;
	}
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0; /* a continuation byte, C0, C1 or F5-FF */
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	cp = cp << 6 | (p[1] & 0x3f);
	for (size_t i = 2; i < len; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	*ret_cp = cp;
	return len;
}

size_t utf8_valid_prefix(const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t i = 0;
	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t len = utf8_decode(p + i, n - i, &cp);
		if (len == 0)
			break;
		i += len;
	}
	return i;
}

bool utf8_valid(const void *s, size_t n)
{
	return utf8_valid_prefix(s, n) == n;
}

size_t utf8_encode(uint32_t cp, char ret_buf[UTF8_MAX])
{
	if (cp < 0x80) {
		ret_buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		ret_buf[0] = (char)(0xc0 | cp >> 6);
		ret_buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	if (cp < 0x10000) {
		ret_buf[0] = (char)(0xe0 | cp >> 12);
		ret_buf[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		ret_buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp > 0x10ffff)
		return 0;
	ret_buf[0] = (char)(0xf0 | cp >> 18);
	ret_buf[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	ret_buf[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	ret_buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

bool utf8_text(const void *s, size_t n)
{
	const char *p = s;
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t k = utf8_decode(p + i, n - i, &cp);
		if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return false;
		i += k;
	}
	return true;
}
