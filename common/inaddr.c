/* inaddr: address parsing and formatting on 128-bit integers (see inaddr.h).
 * Parsing uses inet_pton so that we accept exactly what the C library and
 * the kernel tools accept; formatting uses inet_ntop (RFC 5952). */
#include "inaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

u128 inaddr_from_bytes(int family, const void *bytes)
{
	const unsigned char *b = bytes;
	size_t n = family == 4 ? 4 : 16;
	u128 v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

void inaddr_to_bytes(int family, u128 addr, void *bytes)
{
	unsigned char *b = bytes;
	size_t n = family == 4 ? 4 : 16;
	for (size_t i = n; i-- > 0;) {
		b[i] = (unsigned char)(addr & 0xff);
		addr >>= 8;
	}
}

int inaddr_parsen(const char *s, size_t n, int *ret_family, u128 *ret_addr)
{
	char buf[INADDR_STRLEN];
	unsigned char bytes[16];
	if (n == 0 || n >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (memchr(buf, ':', n)) {
		if (inet_pton(AF_INET6, buf, bytes) != 1)
			return -EINVAL;
		*ret_family = 6;
	} else {
		if (inet_pton(AF_INET, buf, bytes) != 1)
			return -EINVAL;
		*ret_family = 4;
	}
	*ret_addr = inaddr_from_bytes(*ret_family, bytes);
	return 0;
}

int inaddr_parse(const char *s, int *ret_family, u128 *ret_addr)
{
	return inaddr_parsen(s, strlen(s), ret_family, ret_addr);
}

int inaddr_parse_span(const char *s, size_t n, int *ret_family, u128 *ret_lo, u128 *ret_hi)
{
	const char *slash = memchr(s, '/', n);
	const char *dash = memchr(s, '-', n);
	int fam, fam2;
	u128 a, b;

	if (slash) {
		size_t plen = n - (size_t)(slash - s) - 1;
		if (plen == 0 || plen > 3)
			return -EINVAL;
		unsigned len = 0;
		for (size_t i = 0; i < plen; i++) {
			char c = slash[1 + i];
			if (c < '0' || c > '9')
				return -EINVAL;
			len = len * 10 + (unsigned)(c - '0');
		}
		if (inaddr_parsen(s, (size_t)(slash - s), &fam, &a) < 0)
			return -EINVAL;
		unsigned bits = fam == 4 ? 32 : 128;
		if (len > bits)
			return -EINVAL;
		/* no shift by the full width: /0 and /bits are special */
		u128 hostmask = len == 0 ? inaddr_family_max(fam) : len == bits ? 0 : (((u128)1 << (bits - len)) - 1);
		if (a & hostmask)
			return -EDOM;
		*ret_family = fam;
		*ret_lo = a;
		*ret_hi = a | hostmask;
		return 0;
	}
	if (dash) {
		if (inaddr_parsen(s, (size_t)(dash - s), &fam, &a) < 0)
			return -EINVAL;
		if (inaddr_parsen(dash + 1, n - (size_t)(dash - s) - 1, &fam2, &b) < 0)
			return -EINVAL;
		if (fam != fam2 || a > b)
			return -EINVAL;
		*ret_family = fam;
		*ret_lo = a;
		*ret_hi = b;
		return 0;
	}
	if (inaddr_parsen(s, n, &fam, &a) < 0)
		return -EINVAL;
	*ret_family = fam;
	*ret_lo = *ret_hi = a;
	return 0;
}

char *inaddr_format(int family, u128 addr, char buf[static INADDR_STRLEN])
{
	unsigned char bytes[16];
	inaddr_to_bytes(family, addr, bytes);
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes, buf, INADDR_STRLEN))
		snprintf(buf, INADDR_STRLEN, "?");
	return buf;
}

int inaddr_prefix_len(int family, u128 lo, u128 hi)
{
	unsigned bits = family == 4 ? 32 : 128;
	u128 span = hi - lo;
	if (hi < lo)
		return -1;
	/* span must be 2^k - 1 and lo aligned to 2^k */
	if (span & (span + 1))
		return -1;
	if (lo & span)
		return -1;
	unsigned k = 0;
	while (k < bits && ((span >> k) & 1))
		k++;
	return (int)(bits - k);
}

char *inaddr_format_span(int family, u128 lo, u128 hi, char *buf, size_t n)
{
	char a[INADDR_STRLEN], b[INADDR_STRLEN];
	inaddr_format(family, lo, a);
	if (lo == hi) {
		snprintf(buf, n, "%s", a);
		return buf;
	}
	int len = inaddr_prefix_len(family, lo, hi);
	if (len >= 0)
		snprintf(buf, n, "%s/%d", a, len);
	else
		snprintf(buf, n, "%s-%s", a, inaddr_format(family, hi, b));
	return buf;
}
