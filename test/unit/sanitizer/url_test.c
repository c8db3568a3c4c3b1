/* san_url: URLs in text, per links mode; the non-URL cases beside them. */
#include <string.h>

#include "sanitizer/san_url.h"
#include "tap.h"

static const struct { const char *in, *defang, *remove; size_t n; } cases[] = {
	{ "see https://example.com/a?b=c now", "see hxxps://example.com/a?b=c now", "see [X] now", 1 },
	{ "HTTP://EXAMPLE.COM", "hxxp://EXAMPLE.COM", "[X]", 1 },
	{ "ftp://files.example.jp/x.zip", "fxp://files.example.jp/x.zip", "[X]", 1 },
	/* Japanese right after the URL is not part of it */
	{ "詳細はhttps://example.jp/infoをご覧ください", "詳細はhxxps://example.jp/infoをご覧ください",
	  "詳細は[X]をご覧ください", 1 },
	/* trailing punctuation and an unbalanced parenthesis stay outside */
	{ "(https://example.com/x). Next", "(hxxps://example.com/x). Next", "([X]). Next", 1 },
	{ "https://en.wikipedia.org/wiki/A_(b)", "hxxps://en.wikipedia.org/wiki/A_(b)", "[X]", 1 },
	{ "<http://a.example/>", "<hxxp://a.example/>", "<[X]>", 1 },
	{ "two: http://a.example http://b.example\n", "two: hxxp://a.example hxxp://b.example\n", "two: [X] [X]\n", 2 },
	/* not URLs: no scheme, scheme inside a word, already defanged, bare scheme kept whole */
	{ "www.example.com and example.com", "www.example.com and example.com", "www.example.com and example.com", 0 },
	{ "xhttp://example.com", "xhttp://example.com", "xhttp://example.com", 0 },
	{ "hxxps://example.com", "hxxps://example.com", "hxxps://example.com", 0 },
	{ "mailto:a@example.com", "mailto:a@example.com", "mailto:a@example.com", 0 },
	{ "", "", "", 0 },
	{ "ends with http://", "ends with hxxp://", "ends with [X]", 1 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].in;
		struct strbuf d = STRBUF_INIT, r = STRBUF_INIT, k = STRBUF_INIT;
		size_t nd = san_url_rewrite(in, strlen(in), SAN_LINKS_DEFANG, "[X]", &d);
		size_t nr = san_url_rewrite(in, strlen(in), SAN_LINKS_REMOVE, "[X]", &r);
		size_t nk = san_url_rewrite(in, strlen(in), SAN_LINKS_KEEP, "[X]", &k);
		CHECK(strcmp(strbuf_str(&d), cases[i].defang) == 0 && nd == cases[i].n, "defang %zu: '%s' (%zu)", i, strbuf_str(&d), nd);
		CHECK(strcmp(strbuf_str(&r), cases[i].remove) == 0 && nr == cases[i].n, "remove %zu: '%s' (%zu)", i, strbuf_str(&r), nr);
		CHECK(strcmp(strbuf_str(&k), in) == 0 && nk == 0, "keep %zu: '%s'", i, strbuf_str(&k));
		strbuf_free(&d);
		strbuf_free(&r);
		strbuf_free(&k);
	}
	/* a NUL inside the text does not stop the scan */
	static const char nul[] = "a\0http://x.example";
	struct strbuf o = STRBUF_INIT;
	CHECK(san_url_rewrite(nul, sizeof(nul) - 1, SAN_LINKS_DEFANG, "[X]", &o) == 1 && o.len == sizeof(nul) - 1 &&
	      memcmp(o.buf + 2, "hxxp://x.example", 16) == 0, "embedded NUL");
	strbuf_free(&o);
	T_END();
}
