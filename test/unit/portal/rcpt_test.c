/* ptl_rcpt: plain addresses in the allowed domains pass (domain lowercased);
 * display names, comments, quoted strings, CR/LF, white space, routes,
 * literals, non-ASCII, dots out of place, length caps and other domains
 * are refused with their reason key (table-driven). */
#include <errno.h>
#include <string.h>

#include "sanitizer/portal/ptl_rcpt.h"
#include "test/check.h"

static const char *const DOMAINS[] = {"city.example.lg.jp", "Town.Example.LG.JP"};

static const struct {
	const char *in;
	int r;
	const char *why;
	const char *out;
} cases[] = {
	{"sato@city.example.lg.jp", 0, NULL, "sato@city.example.lg.jp"},
	{"Sato.Taro@CITY.example.LG.jp", 0, NULL, "Sato.Taro@city.example.lg.jp"},
	{"a+b_c-d@town.example.lg.jp", 0, NULL, "a+b_c-d@town.example.lg.jp"},
	{"o'neil@city.example.lg.jp", 0, NULL, "o'neil@city.example.lg.jp"},
	{"", -EINVAL, "rcpt-empty", ""},
	{"sato", -EINVAL, "rcpt-syntax", ""},
	{"@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"sato@", -EINVAL, "rcpt-syntax", ""},
	{"sato@@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"a@b@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"Sato <sato@city.example.lg.jp>", -EINVAL, "rcpt-syntax", ""},
	{"<sato@city.example.lg.jp>", -EINVAL, "rcpt-syntax", ""},
	{"sato(comment)@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"\"sa to\"@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"sato@city.example.lg.jp\r\nBcc: x@evil.example", -EINVAL, "rcpt-syntax", ""},
	{"sato\n@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"sato @city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"sato@city.example.lg.jp ", -EINVAL, "rcpt-syntax", ""},
	{".sato@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"sato.@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"sa..to@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"佐藤@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"@a,@b:sato@city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"sato@[192.0.2.1]", -EINVAL, "rcpt-syntax", ""},
	{"sato@city.example.lg.jp.", -EINVAL, "rcpt-syntax", ""},
	{"sato@-city.example.lg.jp", -EINVAL, "rcpt-syntax", ""},
	{"sato@evil.example", -EPERM, "rcpt-domain", ""},
	{"sato@sub.city.example.lg.jp", -EPERM, "rcpt-domain", ""},
	{"sato@city.example.lg.jp.evil.example", -EPERM, "rcpt-domain", ""},
	{"sato@example.lg.jp", -EPERM, "rcpt-domain", ""},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[PTL_RCPT_MAX + 1];
		const char *why = "unset";
		int r = ptl_rcpt_check(cases[i].in, DOMAINS, 2, out, &why);
		CHECK(r == cases[i].r, "case %zu '%s': %d", i, cases[i].in, r);
		CHECK(cases[i].why ? why && !strcmp(why, cases[i].why) : why == NULL, "case %zu: why %s", i,
		      why ? why : "(null)");
		CHECK_STR(out, cases[i].out);
	}
	/* length caps: a 64-byte local part passes, 65 does not; 254 bytes in
	 * all passes the length check, 255 does not */
	char a[400], out[PTL_RCPT_MAX + 1];
	const char *why;
	memset(a, 'l', 64);
	strcpy(a + 64, "@city.example.lg.jp");
	CHECK(ptl_rcpt_check(a, DOMAINS, 2, out, &why) == 0);
	memset(a, 'l', 65);
	strcpy(a + 65, "@city.example.lg.jp");
	CHECK(ptl_rcpt_check(a, DOMAINS, 2, out, &why) == -EINVAL && !strcmp(why, "rcpt-syntax"));
	memset(a, 'l', 300);
	a[300] = 0;
	CHECK(ptl_rcpt_check(a, DOMAINS, 2, out, &why) == -EINVAL && !strcmp(why, "rcpt-too-long"));
	CHECK(ptl_rcpt_check(NULL, DOMAINS, 2, out, &why) == -EINVAL && !strcmp(why, "rcpt-empty"));
	CHECK(ptl_rcpt_check("sato@city.example.lg.jp", NULL, 0, out, &why) == -EPERM);

	static const char *const good[] = {"city.example.lg.jp", "a.b", "x-1.example"};
	static const char *const bad[] = {"",     "localhost", "a..b",    ".a.b",   "a.b.", "-a.b",
					  "a-.b", "a_b.jp",    "例え.jp", "a b.jp", NULL};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(ptl_rcpt_domain_valid(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!ptl_rcpt_domain_valid(bad[i]), "%s", bad[i] ? bad[i] : "(null)");
	char lab[80];
	memset(lab, 'a', 64);
	strcpy(lab + 64, ".jp");
	CHECK(!ptl_rcpt_domain_valid(lab), "64-byte label");
	return check_done();
}
