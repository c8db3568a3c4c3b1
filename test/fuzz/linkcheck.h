/* linkcheck: the fuzz targets' own judge of live links in text, written
 * apart from sanitizer/san_url.c so that a bug there is not repeated here.
 *
 * The text is folded first (full-width ASCII U+FF01-U+FF5E to ASCII,
 * U+3000 to a space, ASCII to lower case), then a live link is
 *   L1  "scheme://" or "scheme:\\", scheme [a-z][a-z0-9+.-]{0,31} not
 *       preceded by a scheme character;
 *   L2  an opaque scheme (javascript, vbscript, livescript, data, file,
 *       about, blob, jar, view-source, mhtml, mk, its, ms-its, search-ms,
 *       search, shell, smb, cifs, nfs, afp, telnet, ldap, ldaps, res, ms-*)
 *       followed by ':' and a character that is not white space;
 *   L3  "www." or "wwwN." (up to three digits) before a host character, not
 *       preceded by [a-z0-9.-/@[];
 *   L4  two backslashes before a host character, not preceded by '[' or '\'.
 * (docs/sanitizer.md; the tests' linkscan.py is the same rule in Python.) */
#pragma once
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool linkcheck_scheme_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-';
}

static inline bool linkcheck_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '$' || c == '-';
}

/* Fold text[0..len) into a new NUL-terminated buffer (the caller frees). */
static inline char *linkcheck_fold(const char *text, size_t len, size_t *ret_len)
{
	char *f = malloc(len + 1);
	size_t o = 0;
	if (!f) abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == 0xef && i + 2 < len) {
			unsigned cp = (unsigned)(c & 0x0f) << 12 | (unsigned)(text[i + 1] & 0x3f) << 6 | (unsigned)(text[i + 2] & 0x3f);
			if (((unsigned char)text[i + 1] & 0xc0) == 0x80 && ((unsigned char)text[i + 2] & 0xc0) == 0x80 &&
			    cp >= 0xff01 && cp <= 0xff5e) {
				c = (unsigned char)(cp - 0xff01 + 0x21);
				i += 2;
			}
		} else if (c == 0xe3 && i + 2 < len && (unsigned char)text[i + 1] == 0x80 && (unsigned char)text[i + 2] == 0x80) {
			c = ' ';
			i += 2;
		}
		if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
		f[o++] = (char)c;
	}
	f[o] = '\0';
	*ret_len = o;
	return f;
}

static inline bool linkcheck_opaque(const char *s, size_t n)
{
	static const char *const OPAQUE[] = {
		"javascript", "vbscript", "livescript", "data", "file", "about", "blob", "jar", "view-source", "mhtml",
		"mk", "its", "ms-its", "search-ms", "search", "shell", "smb", "cifs", "nfs", "afp", "telnet", "ldap",
		"ldaps", "res",
	};
	for (size_t i = 0; i < sizeof(OPAQUE) / sizeof(OPAQUE[0]); i++)
		if (strlen(OPAQUE[i]) == n && memcmp(OPAQUE[i], s, n) == 0) return true;
	if (n > 3 && memcmp(s, "ms-", 3) == 0) {
		for (size_t i = 3; i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return false;
		return true;
	}
	return false;
}

/* True when text[0..len) holds a live link. */
static inline bool linkcheck_live(const char *text, size_t len)
{
	size_t n;
	char *f = linkcheck_fold(text, len, &n);
	const unsigned char *u = (const unsigned char *)f;
	bool live = false;
	for (size_t i = 0; i < n && !live; i++) {
		if (u[i] == ':') {
			size_t s = i;
			while (s > 0 && linkcheck_scheme_char(u[s - 1])) s--;
			size_t sl = i - s;
			bool scheme = sl >= 1 && sl <= 32 && u[s] >= 'a' && u[s] <= 'z';
			if (scheme && i + 2 < n &&
			    ((u[i + 1] == '/' && u[i + 2] == '/') || (u[i + 1] == '\\' && u[i + 2] == '\\')))
				live = true;
			else if (scheme && i + 1 < n && u[i + 1] != ' ' && u[i + 1] != '\t' && u[i + 1] != '\n' &&
				 u[i + 1] != '\r' && linkcheck_opaque(f + s, sl))
				live = true;
		} else if (u[i] == 'w' && i + 4 < n && memcmp(f + i, "www", 3) == 0 &&
			   (i == 0 || !(linkcheck_scheme_char(u[i - 1]) || u[i - 1] == '/' || u[i - 1] == '@' || u[i - 1] == '['))) {
			size_t k = i + 3, d = 0;
			while (k < n && d < 3 && u[k] >= '0' && u[k] <= '9') { k++; d++; }
			if (k + 1 < n && u[k] == '.' && linkcheck_host_char(u[k + 1]) && u[k + 1] != '.') live = true;
		} else if (u[i] == '\\' && i + 2 < n && u[i + 1] == '\\' && linkcheck_host_char(u[i + 2]) &&
			   (i == 0 || (u[i - 1] != '[' && u[i - 1] != '\\'))) {
			live = true;
		}
	}
	free(f);
	return live;
}
