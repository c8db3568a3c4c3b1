/* san_html: rendering, dropping, link targets and links in text, hiding
 * by attribute, style attribute and <style> rules; the look-alikes that are
 * not hidden or not live beside them. */
#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "sanitizer/san_html.h"
#include "test/check.h"

static char *conv(const char *h, enum san_links l, struct san_html_stats *st)
{
	struct san_html_opts o = {.links = l, .image_label = "画像"};
	char *out = NULL;
	int r = san_html_to_text(h, strlen(h), &o, &out, st);
	return r == 0 ? out : NULL;
}

#define ANY -1
static const struct {
	const char *html;
	const char *want;
	int hidden;
} cases[] = {
	{"<p>a</p><p>b</p>", "a\n\nb\n", 0},
	{"a<br>b", "a\nb\n", 0},
	{"<ul><li>x</li><li>y</li></ul>", "・x\n・y\n", 0},
	{"<ol><li>x</li><li>y</li></ol>", "1. x\n2. y\n", 0},
	{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a | b\nc | d\n", 0},
	{"&lt;&amp;&gt;&nbsp;&#x3042;", "<&>\xc2\xa0あ\n", 0},
	{"x<script>alert(1)</script><style>p{}</style><!-- c -->y", "xy\n", 0},
	{"<img src=\"x.png\" alt=\"ロゴ\"> <img src=x>", "[画像: ロゴ] [画像]\n", 0},
	{"<pre>a  b\n c</pre>", "a  b\n c\n", 0},
	{"   ", "", 0},

	/* link targets: data: and script URLs named, however they are spelled */
	{"<a href=\"https://e.example/x\">click</a>", "click [hxxps[:]//e.example/x]\n", 0},
	{"<a href=\"data:text/html,evil\">d</a>", "d [data: URL]\n", 0},
	{"<a href=\"da&#x09;ta:text/html,evil\">d</a>", "d [data: URL]\n", 0},
	{"<a href=\" &#x0D;DA&#x0A;TA:x\">d</a>", "d [data: URL]\n", 0},
	{"<a href=\"javascript:alert(1)\">j</a>", "j [script URL]\n", 0},
	{"<a href=\" JaVa\nScript:alert(1)\">j</a>", "j [script URL]\n", 0},
	{"<a href=\"java&#9;script:alert(1)\">j</a>", "j [script URL]\n", 0},
	{"<a href=\"java&Tab;script&colon;alert(1)\">j</a>", "j [script URL]\n", 0},
	{"<a href=\"ｊａｖａｓｃｒｉｐｔ:alert(1)\">j</a>", "j [script URL]\n", 0},
	{"<a href=\"vbscript:x\">v</a> <a href=\"livescript:x\">l</a>", "v [script URL] l [script URL]\n", 0},
	{"<a href=\"java script:x\">n</a>", "n [java script:x]\n", 0}, /* not a scheme: shown, not live */
	/* the others through the text defanger */
	{"<a href=\"file:///\\\\host\\x!y\">m</a>", "m [file[:]///[\\\\]host\\x!y]\n", 0}, /* MonikerLink */
	{"<a href=\"\\\\host\\share\">u</a>", "u [[\\\\]host\\share]\n", 0},
	{"<a href=\"smb://h/s\">s</a>", "s [smb[:]//h/s]\n", 0},
	{"<a href=\"ms-word:ofe|u|https://x/a.docx\">w</a>", "w [ms-word[:]ofe|u|hxxps[:]//x/a.docx]\n", 0},
	{"<a href=\"search-ms:query=x\">q</a>", "q [search-ms[:]query=x]\n", 0},
	{"<a href=\"www.evil.example\">e</a>", "e [www[.]evil.example]\n", 0},
	{"<a href=\"ht&#9;tps://evil.example/\">t</a>", "t [hxxps[:]//evil.example/]\n", 0},
	{"<a href=\"http&colon;&sol;&sol;evil.example/\">t</a>", "t [hxxp[:]//evil.example/]\n", 0},
	{"<a href=\"ftp://f.example/abc+http://evil.example/\">n</a>",
	 "n [fxp[:]//f.example/abc+http[:]//evil.example/]\n", 0},
	{"<a href=\"file:\">f</a>", "f [file[:]]\n", 0}, /* live only with its ']' after it */
	{"<a href=\"mailto:a@example.jp\">m</a>", "m [mailto:a@example.jp]\n", 0},
	{"<a href=\"/relative/x\">r</a> <a href=\"#top\">t</a>", "r [/relative/x] t\n", 0},
	/* links written as text, also split across elements */
	{"see http://t.example/", "see hxxp[:]//t.example/\n", 0},
	{"<b>http</b>://evil.example/ <i>www</i>.x.jp", "hxxp[:]//evil.example/ www[.]x.jp\n", 0},
	{"\\\\h\\s javascript:x ｈｔｔｐｓ：／／x", "[\\\\]h\\s javascript[:]x ｈｔｔｐｓ[:]／／x\n", 0},
	{"ftp://files.example/abc+http://evil.example/", "fxp[:]//files.example/abc+http[:]//evil.example/\n", 0},
	{"<img alt=\"javascript:x\">", "[画像: javascript[:]x]\n", 0},
	{"mailto:a@example.jp www example.com", "mailto:a@example.jp www example.com\n", 0},

	/* hidden by attribute and style attribute */
	{"a<span style=\"display: none\">hidden</span><div hidden>h2</div>b", "a\n\nb\n", 2},
	{"a<span style=\"font-size:0\">x</span><span style=\"opacity: 0\">y</span>b", "ab\n", 2},
	{"a<span style=\"font-size:0.9em\">x</span><span style=\"opacity:0.5\">y</span>b", "axyb\n", 0},
	{"a<span style=\"display:none;display:inline\">x</span>b", "axb\n", 0},
	{"a<span style=\"DISPLAY : NONE !important\">x</span>b", "ab\n", 1},
	{"a<span style=\"dis\\70 lay:none\">x</span>b", "ab\n", 1},
	/* hidden by <style>: class, id, tag, tag.class, comma lists */
	{"<style>.x{display:none}</style><p class=x>secret</p><p>ok</p>", "ok\n", 1},
	{"<style>#a{visibility:hidden}</style><div id=a>s</div><div id=b>ok</div>", "ok\n", 1},
	{"<style>span{font-size:0px}</style>a<span>s</span>b", "ab\n", 1},
	{"<style>p.b{opacity:0}</style><p class=\"a b\">s</p><p class=a>ok</p><div class=b>ok2</div>", "ok\n\nok2\n",
	 1},
	{"<style>.a, #b , i { max-height: 0 }</style><p class=a>1</p><p id=b>2</p><i>3</i><b>ok</b>", "ok\n", 3},
	{"<style>.X{display:none}</style><p class=x>s</p>ok", "ok\n", 1},
	{"<p class=x>s</p><style>.x{display:none}</style>ok", "ok\n", 1},
	{"<style><!-- /* .c{} */ .x{display:none} --></style><p class=x>s</p><p class=c>ok</p>", "ok\n", 1},
	{"<style>.\\78 q{display:none}</style><p class=xq>s</p>ok", "ok\n", 1},
	{"<style>div > .y{display:none} body .z{display:none}</style><p class=y>1</p><p class=z>2</p>ok", "ok\n", 2},
	{"<style>.a.b{display:none}</style><p class=\"b a\">1</p><p class=a>ok</p>", "ok\n", 1},
	/* declarations */
	{"<style>.h{height:0;overflow:hidden}.h2{height:0}</style><p class=h>1</p><p class=h2>ok</p>", "ok\n", 1},
	{"<style>.o{position:absolute;left:-9999px}.o2{position:absolute;left:-10px}.o3{left:-9999px}</style>"
	 "<p class=o>1</p><p class=o2>a</p><p class=o3>b</p>",
	 "a\n\nb\n", 1},
	{"<style>.t{text-indent:-100em}</style><p class=t>1</p>ok", "ok\n", 1},
	{"<style>.c{color:#fff;background-color:#fff}.c2{color:#fff;background-color:#000}.t{color:transparent}</style>"
	 "<p class=c>1</p><p class=c2>ok</p><p class=t>2</p>",
	 "ok\n", 2},
	{"<style>.w{display:none;display:block}.v{visibility:visible}</style><p class=w>ok</p><p class=v>ok2</p>",
	 "ok\n\nok2\n", 0},
	/* not supported, so not hidden: pseudo-classes, attribute selectors */
	{"<style>.x:hover{display:none}[class=z]{display:none}a[href] .q{color:red}</style>"
	 "<p class=x>1</p><p class=z>2</p><p class=q>3</p>",
	 "1\n\n2\n\n3\n", 0},
	/* @media: judged for a 1024px screen */
	{"<style>@media print{.p{display:none}}@media screen{.s{display:none}}"
	 "@media only screen and (max-width:600px){.m{display:none}}@media (min-width:0){.d{display:none}}"
	 "@font-face{font-family:x}@import url(x.css);</style>"
	 "<p class=p>p</p><p class=s>s</p><p class=m>m</p><p class=d>d</p>",
	 "p\n\nm\n", 2},
	{"<style>.x{content:\"}\"}.y{display:none}</style><p class=x>x</p><p class=y>y</p>", "x\n", 1},
	{"<style media=print>.p{display:none}</style><style media=\"screen, print\">.s{display:none}</style>"
	 "<p class=p>p</p><p class=s>s</p>",
	 "p\n", 1},
};

static struct san_html_stats st;

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *o = conv(cases[i].html, SAN_LINKS_DEFANG, &st);
		CHECK(o && strcmp(o, cases[i].want) == 0, "case %zu: got '%s'", i, o ? o : "(null)");
		CHECK(cases[i].hidden == ANY || st.hidden == (size_t)cases[i].hidden, "case %zu: hidden %zu", i,
		      st.hidden);
		free(o);
	}
	/* the three modes on a target and on text */
	static const char *mix = "<a href=\"https://e.example/\">x</a> see https://t.example/ and www.a.jp";
	char *o = conv(mix, SAN_LINKS_KEEP, &st);
	CHECK(o && strcmp(o, "x [https://e.example/] see https://t.example/ and www.a.jp\n") == 0, "keep: '%s'", o);
	CHECK(st.links == 1 && st.links_defanged == 0 && st.text_links == 0, "keep stats");
	free(o);
	o = conv(mix, SAN_LINKS_REMOVE, &st);
	CHECK(o && strcmp(o, "x see [URL] and [URL]\n") == 0, "remove: '%s'", o);
	CHECK(st.links == 1 && st.text_links == 2, "remove stats");
	free(o);
	struct san_html_opts ro = {.links = SAN_LINKS_REMOVE, .url_label = "[URL 削除]"};
	CHECK(san_html_to_text(mix, strlen(mix), &ro, &o, &st) == 0 &&
		      strcmp(o, "x see [URL 削除] and [URL 削除]\n") == 0,
	      "remove label: '%s'", o);
	free(o);
	o = conv(mix, SAN_LINKS_DEFANG, &st);
	CHECK(o && strcmp(o, "x [hxxps[:]//e.example/] see hxxps[:]//t.example/ and www[.]a.jp\n") == 0, "defang: '%s'",
	      o);
	CHECK(st.links == 1 && st.links_defanged == 1 && st.text_links == 2, "defang stats");
	free(o);
	o = conv("<a href=\"file:///\\\\h\\x\">x</a> www.a.jp", SAN_LINKS_KEEP, &st);
	CHECK(o && strcmp(o, "x [file:///\\\\h\\x] www.a.jp\n") == 0, "keep moniker: '%s'", o);
	free(o);

	o = conv("<script>1</script><a href=\"data:x\">d</a><img src=\"da&#x09;ta:y\"><img src=\"JAVASCRIPT:z\">",
		 SAN_LINKS_DEFANG, &st);
	CHECK(st.scripts == 2 && st.data_urls == 2 && st.images == 2, "stats");
	free(o);
	/* hidden text is counted, never dropped silently */
	o = conv(
		"<style>.x{display:none}</style><p class=x>secret <b>text</b></p><p style=\"display:none\"><script>s</script></p>ok",
		SAN_LINKS_DEFANG, &st);
	CHECK(o && strcmp(o, "ok\n") == 0 && st.hidden == 2 && st.hidden_text == 10, "hidden_text: %zu %zu", st.hidden,
	      st.hidden_text);
	free(o);
	/* output cap */
	struct san_html_opts cap = {.max_out = 10};
	CHECK(san_html_to_text("<p>0123456789abcdef</p>", 23, &cap, &o, &st) < 0 && !o, "max_out enforced");
	static const char grow[] = "<p>a:\\\\b:\\\\c</p>"; /* 9 bytes of text, 19 defanged */
	CHECK(san_html_to_text(grow, strlen(grow), &cap, &o, &st) == -EFBIG && !o, "max_out after defanging");

	/* caps: hiding selectors (the first 1024 kept), classes per element (the first 32
	 * looked at), name length (128 bytes): past a cap a rule does not hide */
	struct strbuf h = STRBUF_INIT;
	strbuf_printf(&h, "<style>.n%0128d{display:none} .n%0127d{display:none}", 1, 2);
	for (int i = 0; i < 1100; i++)
		strbuf_printf(&h, ".c%d{display:none}", i);
	strbuf_puts(&h, "</style><p class=c0>a</p><p class=c1022>b</p><p class=c1023>C</p>");
	strbuf_puts(&h, "<p class=\"");
	for (int i = 0; i < 40; i++)
		strbuf_printf(&h, "k%d ", i);
	strbuf_puts(&h, "c5\">D</p><p class=\"");
	for (int i = 0; i < 31; i++)
		strbuf_printf(&h, "k%d ", i);
	strbuf_printf(&h, "c5\">e</p><p class=n%0128d>F</p><p class=n%0127d>g</p>", 1, 2);
	o = conv(strbuf_str(&h), SAN_LINKS_DEFANG, &st);
	CHECK(o && strcmp(o, "C\n\nD\n\nF\n") == 0 && st.hidden == 4, "caps: '%s' %zu", o, st.hidden);
	free(o);
	strbuf_free(&h);
	/* many selectors x many elements stays bounded */
	strbuf_puts(&h, "<style>");
	for (int i = 0; i < 1024; i++)
		strbuf_printf(&h, "p.a%d.b%d#i%d{display:none}", i, i, i);
	strbuf_puts(&h, "</style>");
	for (int i = 0; i < 20000; i++)
		strbuf_puts(&h, "<p class=\"a1 b2 a3 b4 a5 b6\" id=x>t</p>");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o = conv(strbuf_str(&h), SAN_LINKS_DEFANG, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(o && st.hidden == 0 && t1.tv_sec - t0.tv_sec < 10, "selectors x elements: %ld s",
	      (long)(t1.tv_sec - t0.tv_sec));
	free(o);
	strbuf_free(&h);

	/* deep nesting does not recurse without bound; past SAN_HTML_DEPTH (200)
	 * the subtree is dropped and its text counted (libxml2 itself drops what
	 * is deeper than 256) */
	for (size_t n = 250; n <= 100000; n = n * 400) {
		char *deep = malloc(n * 5 + 2);
		for (size_t i = 0; i < n; i++)
			memcpy(deep + i * 5, "<div>", 5);
		deep[n * 5] = 'x';
		deep[n * 5 + 1] = '\0';
		struct san_html_opts d = {0};
		int r = san_html_to_text(deep, strlen(deep), &d, &o, &st);
		CHECK(r == 0 && strcmp(o, "") == 0 && st.hidden == 1 && st.hidden_text == (n == 250),
		      "deep %zu: %d %zu %zu", n, r, st.hidden, st.hidden_text);
		free(o);
		free(deep);
	}
	return check_done();
}
