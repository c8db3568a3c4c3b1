/* linkcheck: the fuzz targets' one judge of live links in text, written
 * apart from sanitizer/san_url.c on purpose so that a bug there is not
 * repeated here: the whole text is decoded and folded into code points
 * first, then every ':', "www" and "\\" is looked at (san_url.c scans bytes
 * forward).
 *
 * Folding: U+FF01-U+FF5E to ASCII, U+3000 to a space, A-Z to a-z; a byte
 * that is not part of valid UTF-8 (common/utf8's strict reading) becomes
 * U+FFFD.  A live link is
 *   L1  "scheme://" or "scheme:\\", scheme [a-z][a-z0-9+.-]{0,31} not
 *       preceded by a scheme character;
 *   L2  an opaque scheme (javascript, vbscript, livescript, data, file,
 *       about, blob, jar, view-source, mhtml, mk, its, ms-its, search-ms,
 *       search, shell, smb, cifs, nfs, afp, telnet, ldap, ldaps, res, ms-*)
 *       followed by ':' and a character that is not white space;
 *   L3  "www." or "wwwN." (up to three digits) before a host character
 *       (ASCII letter, digit, '-', '_', '$' or any non-ASCII), not preceded
 *       by [a-z0-9.-/@[];
 *   L4  two backslashes before a host character, not preceded by '[' or '\'.
 * (docs/sanitizer.md and san_url.h; the tests' linkscan.py is the same rule
 * in Python.)  Used by fuzz_sanitize and fuzz_extract. */
#pragma once
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

static const char *const linkcheck_opaque_names[] = {
	"javascript", "vbscript", "livescript", "data",   "file",      "about",  "blob",  "jar", "view-source",
	"mhtml",      "mk",       "its",        "ms-its", "search-ms", "search", "shell", "smb", "cifs",
	"nfs",        "afp",      "telnet",     "ldap",   "ldaps",     "res",    NULL};

static inline bool linkcheck_in_set(long c, const char *set)
{
	return c > 0 && c < 0x80 && strchr(set, (int)c) != NULL;
}

static inline bool linkcheck_az09(long c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Code points of s, folded: U+FF01-FF5E to ASCII, U+3000 to ' ', A-Z to
 * a-z; an invalid byte becomes 0xFFFD. */
static inline size_t linkcheck_fold(const unsigned char *s, size_t n, long *f)
{
	size_t m = 0;
	for (size_t i = 0; i < n;) {
		uint32_t u;
		size_t l = utf8_decode(s + i, n - i, &u);
		long cp = l ? (long)u : 0xFFFD;
		if (!l)
			l = 1;
		if (cp >= 0xFF01 && cp <= 0xFF5E)
			cp -= 0xFEE0;
		if (cp == 0x3000)
			cp = ' ';
		if (cp >= 'A' && cp <= 'Z')
			cp += 32;
		f[m++] = cp;
		i += l;
	}
	return m;
}

static inline bool linkcheck_scheme_cp(long c)
{
	return linkcheck_az09(c) || linkcheck_in_set(c, "+.-");
}

/* Where a live link is in s (its index in code points), or -1. */
static inline long linkcheck_find(const char *s, size_t n)
{
	long *f = malloc((n + 1) * sizeof(*f));
	if (!f)
		abort();
	size_t m = linkcheck_fold((const unsigned char *)s, n, f);
	long hit = -1;
	for (size_t p = 0; p < m && hit < 0; p++) {
		long next = p + 1 < m ? f[p + 1] : -1, next2 = p + 2 < m ? f[p + 2] : -1;
		if (f[p] == ':') {
			size_t a = p;
			while (a > 0 && linkcheck_scheme_cp(f[a - 1]))
				a--;
			size_t k = p - a;
			if (k >= 1 && k <= 32 && f[a] >= 'a' && f[a] <= 'z' &&
			    ((next == '/' && next2 == '/') || (next == '\\' && next2 == '\\')))
				hit = (long)a;
			bool opaque = k >= 4 && f[a] == 'm' && f[a + 1] == 's' && f[a + 2] == '-';
			for (size_t j = a + 3; opaque && j < p; j++)
				opaque = linkcheck_az09(f[j]) || f[j] == '-';
			char name[16];
			if (k < sizeof(name)) {
				for (size_t j = 0; j < k; j++)
					name[j] = (char)f[a + j];
				name[k] = '\0';
				for (size_t j = 0; !opaque && linkcheck_opaque_names[j]; j++)
					opaque = !strcmp(name, linkcheck_opaque_names[j]);
			}
			if (opaque && next >= 0 && !linkcheck_in_set(next, " \t\n\r"))
				hit = (long)a;
		}
		if (f[p] == 'w' && next == 'w' && next2 == 'w' &&
		    (p == 0 || !(linkcheck_az09(f[p - 1]) || linkcheck_in_set(f[p - 1], ".-/@[")))) {
			size_t q = p + 3, d = 0;
			while (q < m && d < 4 && f[q] >= '0' && f[q] <= '9')
				q++, d++;
			if (d <= 3 && q + 1 < m && f[q] == '.' &&
			    (linkcheck_az09(f[q + 1]) || linkcheck_in_set(f[q + 1], "-_$") || f[q + 1] >= 0x80))
				hit = (long)p;
		}
		if (f[p] == '\\' && next == '\\' && (linkcheck_az09(next2) || linkcheck_in_set(next2, "._$-")) &&
		    (p == 0 || (f[p - 1] != '[' && f[p - 1] != '\\')))
			hit = (long)p;
	}
	free(f);
	return hit;
}

/* True when text[0..len) holds a live link. */
static inline bool linkcheck_live(const char *text, size_t len)
{
	return linkcheck_find(text, len) >= 0;
}
