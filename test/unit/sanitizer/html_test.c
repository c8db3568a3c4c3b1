/* san_html: rendering, dropping, links, images. */
#include <stdlib.h>

#include "sanitizer/san_html.h"
#include "tap.h"

static char *conv(const char *h, enum san_links l, struct san_html_stats *st)
{
	struct san_html_opts o = { .links = l, .image_label = "画像" };
	char *out = NULL;
	int r = san_html_to_text(h, strlen(h), &o, &out, st);
	return r == 0 ? out : NULL;
}

static const struct { const char *html; const char *want; } cases[] = {
	{ "<p>a</p><p>b</p>", "a\n\nb\n" },
	{ "a<br>b", "a\nb\n" },
	{ "<ul><li>x</li><li>y</li></ul>", "・x\n・y\n" },
	{ "<ol><li>x</li><li>y</li></ol>", "1. x\n2. y\n" },
	{ "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a | b\nc | d\n" },
	{ "&lt;&amp;&gt;&nbsp;&#x3042;", "<&>\xc2\xa0あ\n" },
	{ "x<script>alert(1)</script><style>p{}</style><!-- c -->y", "xy\n" },
	{ "a<span style=\"display: none\">hidden</span><div hidden>h2</div>b", "a\n\nb\n" },
	{ "<img src=\"x.png\" alt=\"ロゴ\"> <img src=x>", "[画像: ロゴ] [画像]\n" },
	{ "<a href=\"https://e.example/x\">click</a>", "click [hxxps://e.example/x]\n" },
	{ "<a href=\"data:text/html,evil\">d</a>", "d [data: URL]\n" },
	{ "<a href=\"javascript:alert(1)\">j</a>", "j [script URL]\n" },
	{ "see http://t.example/", "see hxxp://t.example/\n" },
	{ "<pre>a  b\n c</pre>", "a  b\n c\n" },
	{ "   ", "" },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct san_html_stats st;
		char *o = conv(cases[i].html, SAN_LINKS_DEFANG, &st);
		CHECK(o && strcmp(o, cases[i].want) == 0, "case %zu: got '%s'", i, o ? o : "(null)");
		free(o);
	}
	struct san_html_stats st;
	char *o = conv("<a href=\"https://e.example/\">x</a>", SAN_LINKS_KEEP, &st);
	CHECK(o && strcmp(o, "x [https://e.example/]\n") == 0, "keep: '%s'", o);
	free(o);
	o = conv("<a href=\"https://e.example/\">x</a>", SAN_LINKS_REMOVE, &st);
	CHECK(o && strcmp(o, "x\n") == 0, "remove: '%s'", o);
	free(o);
	o = conv("<script>1</script><a href=\"data:x\">d</a><img src=\"data:y\">", SAN_LINKS_DEFANG, &st);
	CHECK(st.scripts == 1 && st.data_urls == 2 && st.images == 1, "stats");
	free(o);
	/* output cap */
	struct san_html_opts cap = { .max_out = 10 };
	CHECK(san_html_to_text("<p>0123456789abcdef</p>", 23, &cap, &o, &st) < 0 && !o, "max_out enforced");
	/* deep nesting does not recurse without bound */
	size_t n = 100000;
	char *deep = malloc(n * 5 + 2);
	for (size_t i = 0; i < n; i++) memcpy(deep + i * 5, "<div>", 5);
	deep[n * 5] = 'x';
	deep[n * 5 + 1] = '\0';
	struct san_html_opts d = { 0 };
	int r = san_html_to_text(deep, strlen(deep), &d, &o, &st);
	CHECK(r == 0 || r < 0, "deep nesting terminates");
	free(o);
	free(deep);
	char buf[64];
	san_html_defang("HTTPS://a/", buf, sizeof(buf));
	CHECK(strcmp(buf, "hxxps://a/") == 0, "defang case-insensitive");
	T_END();
}
