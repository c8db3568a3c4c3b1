/* san_url: live links (L1-L4 of san_url.h) in text under the three modes,
 * each spelling beside the look-alikes that are not live; attribute URLs
 * as browsers read them; long inputs stay linear. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitizer/san_url.h"
#include "test/check.h"

static const struct {
	const char *in, *defang, *remove;
	size_t nd, nr;
} cases[] = {
	/* L1 scheme:// and scheme:\\ */
	{"see https://example.com/a?b=c now", "see hxxps[:]//example.com/a?b=c now", "see [X] now", 1, 1},
	{"HTTP://EXAMPLE.COM", "hxxp[:]//EXAMPLE.COM", "[X]", 1, 1},
	{"HtTpS://a.example", "hxxps[:]//a.example", "[X]", 1, 1},
	{"ftp://files.example.jp/x.zip", "fxp[:]//files.example.jp/x.zip", "[X]", 1, 1},
	{"smb://host/share", "smb[:]//host/share", "[X]", 1, 1},
	{"file:///c:/x", "file[:]///c:/x", "[X]", 1, 1},
	{"x-custom+1.a://h", "x-custom+1.a[:]//h", "[X]", 1, 1},
	{"x:\\\\/y", "x[:]\\\\/y", "[X]", 1, 1},
	{"xhttp://a.example", "xhttp[:]//a.example", "[X]", 1, 1}, /* "xhttp" is a scheme too */
	{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa://x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa[:]//x", "[X]", 1, 1},
	/* not L1: 33 scheme characters, a digit first, one slash, no slash, one backslash */
	{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa://x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa://x",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa://x", 0, 0},
	{"1http://a 3com://b", "1http://a 3com://b", "1http://a 3com://b", 0, 0},
	{"http:/x http:x http//x http:\\x", "http:/x http:x http//x http:\\x", "http:/x http:x http//x http:\\x", 0, 0},
	{"hxxps[:]//example.com", "hxxps[:]//example.com", "hxxps[:]//example.com", 0, 0},
	/* full-width and mixed spellings: the original characters are kept */
	{"ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｊｐ", "ｈｔｔｐｓ[:]／／ｅｘａｍｐｌｅ．ｊｐ", "[X]", 1, 1},
	{"ｈttps://x.example", "ｈttps[:]//x.example", "[X]", 1, 1},
	{"Ｈｔｔｐ：//x", "Ｈｔｔｐ[:]//x", "[X]", 1, 1},
	{"ｈｔｔｐ／／x", "ｈｔｔｐ／／x", "ｈｔｔｐ／／x", 0, 0},
	/* where a link ends (remove mode) */
	{"詳細はhttps://example.jp/infoをご覧ください", "詳細はhxxps[:]//example.jp/infoをご覧ください",
	 "詳細は[X]をご覧ください", 1, 1},
	{"(https://example.com/x). Next", "(hxxps[:]//example.com/x). Next", "([X]). Next", 1, 1},
	{"https://en.wikipedia.org/wiki/A_(b)", "hxxps[:]//en.wikipedia.org/wiki/A_(b)", "[X]", 1, 1},
	{"<http://a.example/>", "<hxxp[:]//a.example/>", "<[X]>", 1, 1},
	{"two: http://a.example http://b.example\n", "two: hxxp[:]//a.example hxxp[:]//b.example\n", "two: [X] [X]\n",
	 2, 2},
	{"ends with http://", "ends with hxxp[:]//", "ends with [X]", 1, 1},
	{"ｈｔｔｐ://ｅｘａｍｐｌｅ．ｊｐ／です", "ｈｔｔｐ[:]//ｅｘａｍｐｌｅ．ｊｐ／です", "[X]です", 1, 1},
	/* nested: every position is looked at; remove takes the outer link */
	{"ftp://files.example/abc+http://evil.example/", "fxp[:]//files.example/abc+http[:]//evil.example/", "[X]", 2,
	 1},
	{"http://a.example/?u=https://b.example/", "hxxp[:]//a.example/?u=hxxps[:]//b.example/", "[X]", 2, 1},
	{"http://x/ahttp://y", "hxxp[:]//x/ahttp[:]//y", "[X]", 2, 1},
	{"a://a://a://", "a[:]//a[:]//a[:]//", "[X]", 3, 1},
	{"http:\\\\www.example.jp", "hxxp[:][\\\\]www[.]example.jp", "[X]", 3, 1},
	{"file:///\\\\host\\x!y", "file[:]///[\\\\]host\\x!y", "[X]", 2, 1}, /* MonikerLink */
	/* L2 opaque schemes (the whole list is in main) */
	{"javascript:alert(1)", "javascript[:]alert(1)", "[X]", 1, 1},
	{"JavaScript:void(0) x", "JavaScript[:]void(0) x", "[X] x", 1, 1},
	{"ｊａｖａｓｃｒｉｐｔ：alert(1)", "ｊａｖａｓｃｒｉｐｔ[:]alert(1)", "[X]", 1, 1},
	{"javascript:alert(\"x\")", "javascript[:]alert(\"x\")", "[X]\"x\")", 1, 1},
	{"ms-word:ofe|u|https://x/a.docx", "ms-word[:]ofe|u|hxxps[:]//x/a.docx", "[X]|u|[X]", 2, 2},
	{"data:", "data:", "data:", 0, 0},
	{"data: 2024年", "data: 2024年", "data: 2024年", 0, 0},
	{"data:\tx data:\rx data:\n", "data:\tx data:\rx data:\n", "data:\tx data:\rx data:\n", 0, 0},
	{"data:\fx", "data[:]\fx", "[X]\fx", 1, 1}, /* only space, tab, LF, CR end an opaque link */
	{"javascript:\xe3\x80\x80x", "javascript:\xe3\x80\x80x", "javascript:\xe3\x80\x80x", 0, 0}, /* U+3000 */
	{"ms-:x ms-word+x:y xjavascript:a", "ms-:x ms-word+x:y xjavascript:a", "ms-:x ms-word+x:y xjavascript:a", 0, 0},
	/* not live by decision: they open a compose or dial window */
	{"mailto:a@example.com tel:0312345678 sip:a@b.example news:x.y",
	 "mailto:a@example.com tel:0312345678 sip:a@b.example news:x.y",
	 "mailto:a@example.com tel:0312345678 sip:a@b.example news:x.y", 0, 0},
	/* L3 www. autolinks */
	{"www.example.jp", "www[.]example.jp", "[X]", 1, 1},
	{"WWW.EXAMPLE.JP", "WWW[.]EXAMPLE.JP", "[X]", 1, 1},
	{"www1.a.jp www22.b.jp www333.c.jp www4444.d.jp", "www1[.]a.jp www22[.]b.jp www333[.]c.jp www4444.d.jp",
	 "[X] [X] [X] www4444.d.jp", 3, 3},
	{"ｗｗｗ．example.jp", "ｗｗｗ[.]example.jp", "[X]", 1, 1},
	{"詳細はwww.example.jpへ", "詳細はwww[.]example.jpへ", "詳細は[X]へ", 1, 1},
	{"(www.a.jp) +www.b.jp www.日本.jp", "(www[.]a.jp) +www[.]b.jp www[.]日本.jp", "([X]) +[X] [X]日本.jp", 3, 3},
	{"www.www.x", "www[.]www[.]x", "[X]", 2, 1}, /* the second one is exposed by the first rewrite */
	{"www.javascript:x", "www[.]javascript[:]x", "[X]", 2, 1},
	{"http://www.a.jp", "hxxp[:]//www.a.jp", "[X]", 1, 1},
	{"xwww.a.jp a.www.b.jp -www.a /www.a @www.a [www.a www. www..x www. x www",
	 "xwww.a.jp a.www.b.jp -www.a /www.a @www.a [www.a www. www..x www. x www",
	 "xwww.a.jp a.www.b.jp -www.a /www.a @www.a [www.a www. www..x www. x www", 0, 0},
	{"www._x www.-x www.$x www.", "www[.]_x www[.]-x www[.]$x www.", "[X] [X] [X] www.", 3, 3},
	{"example.com", "example.com", "example.com", 0, 0},
	/* L4 UNC paths */
	{"\\\\host\\share", "[\\\\]host\\share", "[X]", 1, 1},
	{"\\\\192.168.0.1\\c$ \\\\$x", "[\\\\]192.168.0.1\\c$ [\\\\]$x", "[X] [X]", 2, 2},
	{"＼＼host\\x", "[＼＼]host\\x", "[X]", 1, 1},
	{"a\\\\b", "a[\\\\]b", "a[X]", 1, 1},
	{"file:\\\\host\\x", "file[:][\\\\]host\\x", "[X]", 2, 1},
	{"\\\\host\\share\\f.txt です", "[\\\\]host\\share\\f.txt です", "[X] です", 1, 1},
	{"[\\\\]host \\\\\\host \\\\ host \\host \\\\/x", "[\\\\]host \\\\\\host \\\\ host \\host \\\\/x",
	 "[\\\\]host \\\\\\host \\\\ host \\host \\\\/x", 0, 0},
	{"", "", "", 0, 0},
};

static const char *const OPAQUE[] = {"javascript", "vbscript",  "livescript",  "data",        "file",   "about",
				     "blob",       "jar",       "view-source", "mhtml",       "mk",     "its",
				     "ms-its",     "search-ms", "search",      "shell",       "smb",    "cifs",
				     "nfs",        "afp",       "telnet",      "ldap",        "ldaps",  "res",
				     "ms-word",    "ms-excel",  "ms-msdt",     "ms-settings", "ms-a-1", NULL};

static void one(const char *in, size_t len, const char *defang, const char *remove, size_t nd, size_t nr,
		const char *what)
{
	struct strbuf d = STRBUF_INIT, r = STRBUF_INIT, k = STRBUF_INIT;
	size_t cd = san_url_rewrite(in, len, SAN_LINKS_DEFANG, "[X]", &d);
	size_t cr = san_url_rewrite(in, len, SAN_LINKS_REMOVE, "[X]", &r);
	size_t ck = san_url_rewrite(in, len, SAN_LINKS_KEEP, "[X]", &k);
	CHECK(strcmp(strbuf_str(&d), defang) == 0 && cd == nd, "defang %s: '%s' (%zu)", what, strbuf_str(&d), cd);
	CHECK(strcmp(strbuf_str(&r), remove) == 0 && cr == nr, "remove %s: '%s' (%zu)", what, strbuf_str(&r), cr);
	CHECK(k.len == len && memcmp(strbuf_str(&k), in, len) == 0 && ck == 0, "keep %s: '%s'", what, strbuf_str(&k));
	/* defanging is idempotent: the output has no live link left */
	struct strbuf d2 = STRBUF_INIT;
	CHECK(san_url_rewrite(d.buf ? d.buf : "", d.len, SAN_LINKS_DEFANG, "[X]", &d2) == 0, "defang twice %s", what);
	strbuf_free(&d2);
	strbuf_free(&d);
	strbuf_free(&r);
	strbuf_free(&k);
}

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reps of unit making about 10 MB. */
static size_t reps_of(const char *unit)
{
	return (10u << 20) / strlen(unit);
}

/* A 10 MB text of one pattern: defang and remove stay linear. */
static void big(const char *unit, size_t nd, size_t nr)
{
	size_t u = strlen(unit), reps = reps_of(unit), n = reps * u;
	char *t = malloc(n);
	for (size_t i = 0; i < reps; i++)
		memcpy(t + i * u, unit, u);
	struct strbuf o = STRBUF_INIT;
	double t0 = secs();
	size_t cd = san_url_rewrite(t, n, SAN_LINKS_DEFANG, "[X]", &o);
	strbuf_reset(&o);
	size_t cr = san_url_rewrite(t, n, SAN_LINKS_REMOVE, "[X]", &o);
	double dt = secs() - t0;
	CHECK(cd == nd && cr == nr, "big '%s': %zu %zu", unit, cd, cr);
	CHECK(dt < 5, "big '%s' took %.1f s", unit, dt);
	strbuf_free(&o);
	free(t);
}

int main(void)
{
	char what[32];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "case %zu", i);
		one(cases[i].in, strlen(cases[i].in), cases[i].defang, cases[i].remove, cases[i].nd, cases[i].nr, what);
	}
	/* every opaque scheme: live with a character after ':', not with a
	 * space, not inside a longer scheme */
	for (size_t i = 0; OPAQUE[i]; i++) {
		char in[64], d[64];
		snprintf(in, sizeof(in), "%s:x", OPAQUE[i]);
		snprintf(d, sizeof(d), "%s[:]x", OPAQUE[i]);
		one(in, strlen(in), d, "[X]", 1, 1, OPAQUE[i]);
		snprintf(in, sizeof(in), "%s: x", OPAQUE[i]);
		one(in, strlen(in), in, in, 0, 0, OPAQUE[i]);
		snprintf(in, sizeof(in), "a%s:x", OPAQUE[i]);
		one(in, strlen(in), in, in, 0, 0, OPAQUE[i]);
	}
	/* a NUL inside the text does not stop the scan */
	static const char nul[] = "a\0http://x.example";
	struct strbuf o = STRBUF_INIT;
	CHECK(san_url_rewrite(nul, sizeof(nul) - 1, SAN_LINKS_DEFANG, "[X]", &o) == 1 && o.len == sizeof(nul) + 1 &&
		      memcmp(o.buf + 2, "hxxp[:]//x.example", 18) == 0,
	      "embedded NUL");
	strbuf_reset(&o);
	CHECK(san_url_rewrite(nul, sizeof(nul) - 1, SAN_LINKS_REMOVE, "[X]", &o) == 1 && o.len == 5 &&
		      memcmp(o.buf, "a\0[X]", 5) == 0,
	      "embedded NUL, remove");
	strbuf_free(&o);
	/* invalid UTF-8 is copied and never part of a link */
	static const char bad[] = "\xef\xbc"
				  "http://a \xff";
	one(bad, sizeof(bad) - 1,
	    "\xef\xbc"
	    "hxxp[:]//a \xff",
	    "\xef\xbc[X] \xff", 1, 1, "invalid UTF-8");
	/* no label: "[URL]" */
	CHECK(san_url_rewrite("x www.a.jp", 10, SAN_LINKS_REMOVE, NULL, &o) == 1 &&
		      strcmp(strbuf_str(&o), "x [URL]") == 0,
	      "default label: '%s'", strbuf_str(&o));
	strbuf_free(&o);

	/* long inputs: one pass, no rescans */
	big("a://", reps_of("a://"), 1);
	big("www.", reps_of("www.") - 1, 1);
	big("\\\\a", reps_of("\\\\a"), 1);
	big("ms-word:", reps_of("ms-word:") - 1, 1);
	big("ｈｔｔｐ：／／", reps_of("ｈｔｔｐ：／／"), 1);
	big("(", 0, 0);
	{ /* one run of 10 MB scheme characters, then ':' */
		size_t n = 10u << 20;
		char *t = malloc(n + 2);
		memcpy(t, "ms-", 3);
		memset(t + 3, 'a', n - 3);
		memcpy(t + n, ":x", 2);
		CHECK(san_url_rewrite(t, n + 2, SAN_LINKS_DEFANG, "[X]", &o) == 1 && o.len == n + 4, "long ms- scheme");
		strbuf_reset(&o);
		memcpy(t, "http://", 7);
		memset(t + 7, ')', n - 7);
		CHECK(san_url_rewrite(t, n, SAN_LINKS_REMOVE, "[X]", &o) == 1 && o.len == n - 7 + 3, "long ) tail");
		strbuf_free(&o);
		free(t);
	}

	/* attribute URLs as browsers read them */
	static const struct {
		const char *in;
		enum san_url_kind kind;
		const char *out;
	} targets[] = {
		{" \x01JaVa\nScript:alert(1) \x02", SAN_URL_SCRIPT, "JaVaScript:alert(1)"},
		{"da\tta:text/html,x", SAN_URL_DATA, "data:text/html,x"},
		{"\r\nDATA:x", SAN_URL_DATA, "DATA:x"},
		{"ｊａｖａｓｃｒｉｐｔ：x", SAN_URL_SCRIPT, "ｊａｖａｓｃｒｉｐｔ：x"},
		{"vbscript:x", SAN_URL_SCRIPT, "vbscript:x"},
		{"livescript:x", SAN_URL_SCRIPT, "livescript:x"},
		{"http://a\x01"
		 "b\x7f",
		 SAN_URL_OTHER, "http://a%01b%7F"},
		{"javascript", SAN_URL_OTHER, "javascript"},
		{"java script:x", SAN_URL_OTHER, "java script:x"},
		{"xjavascript:x", SAN_URL_OTHER, "xjavascript:x"},
		{"mailto:a@example.jp", SAN_URL_OTHER, "mailto:a@example.jp"},
		{" \t ", SAN_URL_OTHER, ""},
	};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct strbuf t = STRBUF_INIT;
		enum san_url_kind k = san_url_target(targets[i].in, strlen(targets[i].in), &t);
		CHECK(k == targets[i].kind && strcmp(strbuf_str(&t), targets[i].out) == 0, "target %zu: %d '%s'", i,
		      (int)k, strbuf_str(&t));
		strbuf_free(&t);
	}
	return check_done();
}
