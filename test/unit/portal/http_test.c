/* ptl_http's pure pieces, table-driven: the one HTML escape, percent
 * encoding and Content-Disposition (RFC 5987), Accept-Language, the
 * urlencoded form parser (caps, escapes, duplicates, control bytes), the
 * Cookie parser (planted duplicates, caps) and Set-Cookie, CSRF tokens
 * (bound, constant length, refused when changed), the router's segments
 * (traversal, encoded bytes) and the page builder's escaping of %s. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/portal/ptl_http.h"
#include "test/check.h"

static void test_escape(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{"plain", "plain"},
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"a&b\"c'd", "a&amp;b&quot;c&#39;d"},
		{"見積書.xlsx", "見積書.xlsx"},
		{"bad\xff", "bad\xef\xbf\xbd"},
		{"esc\x1b[31m", "esc\xef\xbf\xbd[31m"},
		{"line\nnext\ttab\r", "line\nnext\ttab\xef\xbf\xbd"},
		{"\xe8\xa6", "\xef\xbf\xbd\xef\xbf\xbd"}, /* a cut UTF-8 sequence */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct strbuf sb = STRBUF_INIT;
		html_escape(&sb, t[i].in, strlen(t[i].in));
		CHECK_STR(strbuf_str(&sb), t[i].want);
		strbuf_free(&sb);
	}
	struct strbuf sb = STRBUF_INIT;
	ptl_pct_encode(&sb, "a b/見.txt\r\n", strlen("a b/見.txt\r\n"));
	CHECK_STR(strbuf_str(&sb), "a%20b%2F%E8%A6%8B.txt%0D%0A");
	strbuf_reset(&sb);
	ptl_disposition(&sb, "見積書.xlsx");
	CHECK_STR(strbuf_str(&sb),
		  "attachment; filename=\"download.xlsx\"; filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.xlsx");
	strbuf_reset(&sb);
	ptl_disposition(&sb, "x.\"\r\nSet-Cookie: a=b");
	CHECK(!strchr(strbuf_str(&sb), '\r') && !strchr(strbuf_str(&sb), '\n'));
	CHECK_STR(strbuf_str(&sb),
		  "attachment; filename=\"download\"; filename*=UTF-8''x.%22%0D%0ASet-Cookie%3A%20a%3Db");
	strbuf_free(&sb);
}

static void test_lang(void)
{
	static const struct {
		const char *al;
		enum ptl_lang want;
	} t[] = {
		{NULL, PTL_JA},
		{"", PTL_JA},
		{"en", PTL_EN},
		{"en-US,en;q=0.9", PTL_EN},
		{"ja,en-US;q=0.9,en;q=0.8", PTL_JA},
		{"en-US;q=0.8,ja;q=0.9", PTL_JA},
		{"en;q=0.9,ja;q=0.5", PTL_EN},
		{"fr,de", PTL_JA},
		{"en;q=0", PTL_JA},
		{"english", PTL_JA},
		{"EN-gb", PTL_EN},
		{"ja-JP", PTL_JA},
		{"en;q=garbage", PTL_JA},
		{"*", PTL_JA},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		CHECK(ptl_lang_pick(t[i].al) == t[i].want, "lang %s", t[i].al ? t[i].al : "(null)");
}

static void test_form(void)
{
	struct ptl_form f;
	CHECK(ptl_form_parse("user=yamada&password=p%40ss+word&csrf=x", 39, &f) == 0);
	CHECK_STR(ptl_form_get(&f, "user"), "yamada");
	CHECK_STR(ptl_form_get(&f, "password"), "p@ss word");
	CHECK_STR(ptl_form_get(&f, "csrf"), "x");
	CHECK(ptl_form_get(&f, "other") == NULL);
	ptl_form_free(&f);

	const char *jp = "reason=%E7%90%86%E7%94%B1%0D%0A2%E8%A1%8C%E7%9B%AE&empty=&flag";
	CHECK(ptl_form_parse(jp, strlen(jp), &f) == 0);
	CHECK_STR(ptl_form_get(&f, "reason"), "理由\n2行目");
	CHECK_STR(ptl_form_get(&f, "empty"), "");
	CHECK_STR(ptl_form_get(&f, "flag"), "");
	ptl_form_free(&f);

	static const struct {
		const char *body;
		int want;
	} bad[] = {
		{"a=1&a=2", -EINVAL}, /* parameter pollution */
		{"a=%zz", -EINVAL},   /* bad escape */
		{"a=%4", -EINVAL},    /* cut escape */
		{"a=%00", -EINVAL},   /* NUL */
		{"a=%1b", -EINVAL},   /* ESC */
		{"a=%ff", -EINVAL},   /* not UTF-8 */
		{"A=1", -EINVAL},     /* names are lowercase identifiers */
		{"a%2e=1", -EINVAL},  /* ... even when encoded */
		{"=1", -EINVAL},      /* empty name */
		{"../x=1", -EINVAL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = ptl_form_parse(bad[i].body, strlen(bad[i].body), &f);
		CHECK(r == bad[i].want, "%s: %d", bad[i].body, r);
		CHECK(f.n == 0);
	}
	/* caps: fields, name and value length */
	char big[PTL_FORM_MAX_VALUE + 16];
	memset(big, 'x', sizeof big);
	memcpy(big, "a=", 2);
	big[sizeof big - 1] = 0;
	CHECK(ptl_form_parse(big, strlen(big), &f) == -EFBIG);
	memcpy(big + 2, "%41", 3); /* escapes count as the bytes they make */
	big[PTL_FORM_MAX_VALUE + 2 + 2] = 0;
	CHECK(ptl_form_parse(big, strlen(big), &f) == 0);
	ptl_form_free(&f);
	char many[512] = "";
	for (int i = 0; i <= PTL_FORM_MAX_FIELDS; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "f%d=1&", i);
	CHECK(ptl_form_parse(many, strlen(many), &f) == -EFBIG);
	char longname[64];
	memset(longname, 'n', sizeof longname);
	memcpy(longname + 40, "=1", 3);
	CHECK(ptl_form_parse(longname, strlen(longname), &f) == -EFBIG);
}

static void test_cookies(void)
{
	char v[64];
	CHECK(ptl_cookie_get("__Host-sid=abc; __Host-pre=def", "__Host-sid", v, sizeof v) == 0);
	CHECK_STR(v, "abc");
	CHECK(ptl_cookie_get("__Host-sid=abc; __Host-pre=def", "__Host-pre", v, sizeof v) == 0);
	CHECK_STR(v, "def");
	CHECK(ptl_cookie_get("x=1", "__Host-sid", v, sizeof v) == -ENOENT);
	CHECK(ptl_cookie_get(NULL, "__Host-sid", v, sizeof v) == -ENOENT);
	/* a second cookie of the same name (planted by a sibling host) is refused */
	CHECK(ptl_cookie_get("__Host-sid=a; __Host-sid=b", "__Host-sid", v, sizeof v) == -EINVAL);
	/* malformed entries are skipped; a bad value is not ours */
	CHECK(ptl_cookie_get("junk; __Host-sid=ok", "__Host-sid", v, sizeof v) == 0);
	CHECK_STR(v, "ok");
	CHECK(ptl_cookie_get("__Host-sid=a\"b", "__Host-sid", v, sizeof v) == -ENOENT);
	CHECK(ptl_cookie_get("__Host-sid=toolongforthebuffer", "__Host-sid", v, 8) == -EFBIG);
	char many[1024] = "";
	for (int i = 0; i <= PTL_COOKIE_MAX; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "c%d=1; ", i);
	CHECK(ptl_cookie_get(many, "c0", v, sizeof v) == -EFBIG);

	struct strbuf sb = STRBUF_INIT;
	CHECK(ptl_cookie_format(&sb, "__Host-sid", "abc", -1) == 0);
	CHECK_STR(strbuf_str(&sb), "__Host-sid=abc; Path=/; Secure; HttpOnly; SameSite=Strict");
	strbuf_reset(&sb);
	CHECK(ptl_cookie_format(&sb, "__Host-sid", "", 0) == 0);
	CHECK_STR(strbuf_str(&sb), "__Host-sid=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
	CHECK(ptl_cookie_format(&sb, "__Host-sid", "a\r\nb", -1) == -EINVAL);
	CHECK(ptl_cookie_format(&sb, "bad name", "a", -1) == -EINVAL);
	CHECK(ptl_cookie_format(&sb, "a", "x;y", -1) == -EINVAL);
	strbuf_free(&sb);
}

static void test_csrf(void)
{
	uint8_t k1[PTL_CSRF_KEY_BYTES] = {1}, k2[PTL_CSRF_KEY_BYTES] = {2};
	char t[PTL_CSRF_LEN + 1], u[PTL_CSRF_LEN + 1];
	ptl_csrf_make(k1, "session-a", t);
	CHECK(strlen(t) == PTL_CSRF_LEN);
	CHECK(ptl_csrf_ok(k1, "session-a", t));
	CHECK(!ptl_csrf_ok(k1, "session-b", t));
	CHECK(!ptl_csrf_ok(k2, "session-a", t));
	CHECK(!ptl_csrf_ok(k1, "", t));
	CHECK(!ptl_csrf_ok(k1, NULL, t));
	CHECK(!ptl_csrf_ok(k1, "session-a", NULL));
	CHECK(!ptl_csrf_ok(k1, "session-a", ""));
	ptl_csrf_make(k1, "session-b", u);
	CHECK(strcmp(t, u) != 0);
	t[5] ^= 1;
	CHECK(!ptl_csrf_ok(k1, "session-a", t));
	char r1[64], r2[64];
	CHECK(ptl_random_token(32, r1, sizeof r1) == 0 && strlen(r1) == 43);
	CHECK(ptl_random_token(32, r2, sizeof r2) == 0 && strcmp(r1, r2) != 0);
	CHECK(ptl_random_token(32, r2, 10) == -EINVAL);
	char b[8];
	ptl_b64url((const uint8_t *)"\xfb\xff", 2, b);
	CHECK_STR(b, "-_8");
}

static void test_route(void)
{
	static const struct {
		const char *pattern, *path;
		bool match;
		size_t nargs;
		const char *a0, *a1;
	} t[] = {
		{"/m/*", "/m/abcDEF-_09", true, 1, "abcDEF-_09", NULL},
		{"/m/*/copy/*", "/m/tok/copy/3", true, 2, "tok", "3"},
		{"/m/*/copy/*", "/m/tok/copy/3/", false, 0, NULL, NULL},
		{"/m/*/copy/*", "/m/tok/copy/", false, 0, NULL, NULL},
		{"/m/*", "/m/..", false, 0, NULL, NULL},
		{"/m/*", "/m/../etc", false, 0, NULL, NULL},
		{"/m/*", "/m/a/b", false, 0, NULL, NULL},
		{"/m/*", "/m/a.b", false, 0, NULL, NULL},
		{"/m/*", "/m/a%2Fb", false, 0, NULL, NULL},
		{"/m/*", "/m/a\r\nb", false, 0, NULL, NULL},
		{"/m/*", "/m/", false, 0, NULL, NULL},
		{"/login", "/login", true, 0, NULL, NULL},
		{"/login", "/login/", false, 0, NULL, NULL},
		{"/login", "/loginx", false, 0, NULL, NULL},
		{"/approvals/*", "/approvals/0123456789abcdef-0123456789abcdef", true, 1,
		 "0123456789abcdef-0123456789abcdef", NULL},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char buf[256];
		const char *args[PTL_ROUTE_MAX_ARGS];
		size_t n = 9;
		bool m = ptl_route_match(t[i].pattern, t[i].path, buf, sizeof buf, args, &n);
		CHECK(m == t[i].match, "%s ~ %s", t[i].pattern, t[i].path);
		if (m && t[i].match) {
			CHECK_EQ_U(n, t[i].nargs);
			if (t[i].a0)
				CHECK_STR(args[0], t[i].a0);
			if (t[i].a1)
				CHECK_STR(args[1], t[i].a1);
		}
	}
	char longseg[300] = "/m/";
	memset(longseg + 3, 'a', 200);
	char buf[512];
	const char *args[PTL_ROUTE_MAX_ARGS];
	size_t n;
	CHECK(!ptl_route_match("/m/*", longseg, buf, sizeof buf, args, &n));
	CHECK(!ptl_route_match("/m/*", "/m/abc", buf, 4, args, &n));
}

static void test_page(void)
{
	struct ptl_page p;
	ptl_page_begin(&p, PTL_EN, "t<i>tle");
	ptl_page_put(&p, "<p>%s %d %u %zu %lld %%</p>", "<b>&", -3, 7u, (size_t)9, -5LL);
	ptl_page_csrf(&p, "tok\"en");
	ptl_page_end(&p);
	const char *s = strbuf_str(&p.sb);
	CHECK(strstr(s, "<html lang=\"en\">") != NULL);
	CHECK(strstr(s, "<title>t&lt;i&gt;tle</title>") != NULL);
	CHECK(strstr(s, "<p>&lt;b&gt;&amp; -3 7 9 -5 %</p>") != NULL);
	CHECK(strstr(s, "value=\"tok&quot;en\"") != NULL);
	CHECK(strstr(s, "<script") == NULL);
	strbuf_free(&p.sb);
	ptl_page_begin(&p, PTL_JA, "x");
	CHECK(strstr(strbuf_str(&p.sb), "<html lang=\"ja\">") != NULL);
	strbuf_free(&p.sb);
}

int main(void)
{
	test_escape();
	test_lang();
	test_form();
	test_cookies();
	test_csrf();
	test_route();
	test_page();
	return check_done();
}
