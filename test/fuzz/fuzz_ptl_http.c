/* fuzz_ptl_http: libFuzzer target for the portals' parsers of request
 * text (sanitizer/portal/ptl_http.c): the urlencoded form parser, the
 * Cookie header parser, Accept-Language and the router, all fed the same
 * bytes; and the HTML escape of whatever the form yields.
 *
 * Whatever the input: every field the form keeps has a lowercase
 * identifier name and a UTF-8 value without control characters other than
 * \t and \n, within the caps; a cookie value is at most the cap and holds
 * no ';', space or control byte; a matched route argument holds only
 * [A-Za-z0-9_-]; escaped text holds no raw '<', '>', '"', '\'' and is
 * valid UTF-8.  Seeds: test/fuzz/corpus/ptl_http/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/portal/ptl_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_escaped(const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	html_escape(&sb, s, n);
	const char *e = strbuf_str(&sb);
	if (strpbrk(e, "<>\"'") || !utf8_valid(e, sb.len))
		abort();
	strbuf_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;

	struct ptl_form f;
	if (ptl_form_parse(s, size, &f) == 0) {
		if (f.n > PTL_FORM_MAX_FIELDS)
			abort();
		for (size_t i = 0; i < f.n; i++) {
			size_t nl = strlen(f.name[i]), vl = strlen(f.value[i]);
			if (nl == 0 || nl > PTL_FORM_MAX_NAME || vl > PTL_FORM_MAX_VALUE || !utf8_valid(f.value[i], vl))
				abort();
			if (strspn(f.name[i], "abcdefghijklmnopqrstuvwxyz0123456789_") != nl)
				abort();
			for (size_t j = 0; j < vl; j++) {
				unsigned char c = (unsigned char)f.value[i][j];
				if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
					abort();
			}
			check_escaped(f.value[i], vl);
		}
		ptl_form_free(&f);
	} else if (f.n != 0) {
		abort();
	}

	char v[PTL_COOKIE_MAX_LEN + 1];
	if (ptl_cookie_get(s, "__Host-sid", v, sizeof v) == 0)
		if (strpbrk(v, "; \t\r\n\",\\") || strlen(v) > PTL_COOKIE_MAX_LEN)
			abort();
	(void)ptl_lang_pick(s);

	char buf[1024];
	const char *args[PTL_ROUTE_MAX_ARGS];
	size_t nargs;
	if (ptl_route_match("/m/*/copy/*", s, buf, sizeof buf, args, &nargs)) {
		if (nargs != 2)
			abort();
		for (size_t i = 0; i < nargs; i++)
			if (strspn(args[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
			    strlen(args[i]))
				abort();
	}
	check_escaped(s, size);
	free(s);
	return 0;
}
