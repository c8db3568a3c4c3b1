/* inaddr_test: parsing and formatting of addresses, spans and prefixes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/inaddr.h"
#include "test/check.h"

static const struct {
	const char *in;
	int rc, family;
	const char *out; /* inaddr_format_span of the result */
} spans[] = {
	{"198.18.0.1", 0, 4, "198.18.0.1"},
	{"198.18.0.0/15", 0, 4, "198.18.0.0/15"},
	{"0.0.0.0/0", 0, 4, "0.0.0.0/0"},
	{"198.18.0.10-198.18.0.20", 0, 4, "198.18.0.10-198.18.0.20"},
	{"198.18.0.0-198.18.0.255", 0, 4, "198.18.0.0/24"},
	{"2001:db8::/32", 0, 6, "2001:db8::/32"},
	{"2001:DB8:0:0::1", 0, 6, "2001:db8::1"},
	{"::/0", 0, 6, "::/0"},
	{"2001:db8::1-2001:db8::ff", 0, 6, "2001:db8::1-2001:db8::ff"},
	{"198.18.0.1/24", -EDOM, 0, NULL}, /* host bits set */
	{"198.18.0.0/33", -EINVAL, 0, NULL},
	{"198.18.0.20-198.18.0.10", -EINVAL, 0, NULL},
	{"198.18.0.1-2001:db8::1", -EINVAL, 0, NULL},
	{"198.18.0", -EINVAL, 0, NULL},
	{"not-an-address", -EINVAL, 0, NULL},
	{"", -EINVAL, 0, NULL},
	{"1.2.3.4/", -EINVAL, 0, NULL},
	{"1.2.3.4/1x", -EINVAL, 0, NULL},
};

int main(void)
{
	for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
		int fam = 0;
		u128 lo = 0, hi = 0;
		int rc = inaddr_parse_span(spans[i].in, strlen(spans[i].in), &fam, &lo, &hi);
		if (rc != spans[i].rc) {
			fprintf(stderr, "%s: rc %d, want %d\n", spans[i].in, rc, spans[i].rc);
			check_failures++;
			continue;
		}
		if (rc < 0)
			continue;
		char buf[2 * INADDR_STRLEN + 1];
		CHECK(fam == spans[i].family);
		inaddr_format_span(fam, lo, hi, buf, sizeof buf);
		if (strcmp(buf, spans[i].out)) {
			fprintf(stderr, "%s: formatted %s, want %s\n", spans[i].in, buf, spans[i].out);
			check_failures++;
		}
	}
	/* byte round trip */
	unsigned char b[16];
	int fam;
	u128 a;
	CHECK(inaddr_parse("2001:db8::8:800:200c:417a", &fam, &a) == 0);
	inaddr_to_bytes(fam, a, b);
	CHECK(inaddr_from_bytes(fam, b) == a);
	CHECK(b[0] == 0x20 && b[15] == 0x7a);
	CHECK(inaddr_prefix_len(4, 0, INADDR_V4_MAX) == 0);
	CHECK(inaddr_prefix_len(6, 0, U128_MAX) == 0);
	CHECK(inaddr_prefix_len(4, 5, 5) == 32);
	CHECK(inaddr_prefix_len(4, 4, 6) == -1);
	return check_done();
}
