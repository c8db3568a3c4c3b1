/* san_name: file name neutralisation (see san_name.h).
 * Contract: pure function over caller buffers; never allocates or prints. */
#include "sanitizer/san_name.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"

static const char *const EXEC_EXT[] = {
	"exe", "scr", "com",  "pif", "bat", "cmd",        "js",        "jse",  "vbs",  "vbe",  "wsf",  "wsh",  "ps1",
	"hta", "lnk", "msi",  "msp", "jar", "cpl",        "dll",       "reg",  "iso",  "img",  "vhd",  "vhdx", "one",
	"chm", "htm", "html", "svg", "url", "library-ms", "appref-ms", "docm", "xlsm", "pptm", "xlam", "sh",   NULL};

static bool ext_is_exec(const char *e, size_t n)
{
	for (const char *const *x = EXEC_EXT; *x; x++)
		if (strlen(*x) == n && strncasecmp(*x, e, n) == 0)
			return true;
	return false;
}

static bool invisible(uint32_t cp, unsigned *flags)
{
	if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F ||
	    cp == 0x061C) {
		*flags |= SAN_NAME_BIDI;
		return true;
	}
	if ((cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF || cp < 0x20 || cp == 0x7F ||
	    (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == '/' || cp == '\\') {
		*flags |= SAN_NAME_CONTROL;
		return true;
	}
	return false;
}

unsigned san_name_neutralise(const char *name, char *out, size_t outlen)
{
	unsigned flags = 0;
	size_t o = 0;
	if (!name)
		name = "";
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name), i = 0;
	while (i < len) {
		char esc[16];
		const char *emit = NULL;
		size_t en = 0;
		unsigned c = p[i];
		uint32_t cp = 0;
		/* overlong forms, surrogates and code points past U+10FFFF are
		 * not UTF-8 (found by fuzzing: a name with an encoded surrogate
		 * made the notice invalid UTF-8) */
		size_t n = utf8_decode(p + i, len - i, &cp);
		bool ok = n > 0;
		if (!ok) {
			snprintf(esc, sizeof(esc), "<0x%02X>", c);
			emit = esc;
			en = strlen(esc);
			n = 1;
			flags |= SAN_NAME_CONTROL;
		} else if (invisible(cp, &flags)) {
			snprintf(esc, sizeof(esc), "<U+%04X>", (unsigned)cp);
			emit = esc;
			en = strlen(esc);
		} else {
			emit = (const char *)p + i;
			en = n;
		}
		if (o + en + 4 >= outlen) {
			flags |= SAN_NAME_CUT;
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, emit, en);
		o += en;
		i += n;
	}
	out[o] = '\0';
	/* Extensions: judge on the original name with invisibles dropped. */
	const char *dot = strrchr(name, '.');
	if (dot) {
		const char *e = dot + 1;
		size_t n = strcspn(e, " \t");
		if (ext_is_exec(e, n))
			flags |= SAN_NAME_EXEC;
		/* another extension-like dot before it (".pdf.exe", ".pdf    .js") */
		const char *q = dot;
		while (q > name && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		const char *d2 = NULL;
		for (const char *s = name; s < q; s++)
			if (*s == '.')
				d2 = s;
		if (d2 && q - d2 - 1 >= 2 && q - d2 - 1 <= 5 && (flags & SAN_NAME_EXEC))
			flags |= SAN_NAME_DOUBLEEXT;
		if (q != dot)
			flags |= SAN_NAME_DOUBLEEXT;
	}
	return flags;
}
