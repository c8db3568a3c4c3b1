/* inaddr: IPv4/IPv6 addresses as host-order 128-bit integers.
 *
 * An IPv4 address is the integer value of its 32 bits (0..2^32-1); an IPv6
 * address the integer value of its 128 bits.  The family is always carried
 * beside the value: the two spaces are separate, never mapped into each
 * other.  Pure functions; no allocation. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

__extension__ typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)
#define INADDR_V4_MAX ((u128)0xffffffffu)
/* Longest text inaddr_format writes, with NUL ("ffff:...:ffff" or mapped forms). */
#define INADDR_STRLEN 48

/* Highest value of a family (4 or 6). */
static inline u128 inaddr_family_max(int family)
{
	return family == 4 ? INADDR_V4_MAX : U128_MAX;
}

/* Parse a literal address.  Returns 0 and sets *ret_family (4 or 6) and
 * *ret_addr, or -EINVAL. */
int inaddr_parse(const char *s, int *ret_family, u128 *ret_addr);
/* Same for the first n bytes of s. */
int inaddr_parsen(const char *s, size_t n, int *ret_family, u128 *ret_addr);

/* Parse "ADDR/LEN", "ADDR" (a host) or "ADDR-ADDR" (a range, same family,
 * lo <= hi) into an inclusive [lo, hi].  A prefix with host bits set is an
 * error (-EDOM) so that staff notice a typo; other errors are -EINVAL. */
int inaddr_parse_span(const char *s, size_t n, int *ret_family, u128 *ret_lo, u128 *ret_hi);

/* Canonical text (RFC 5952 for IPv6) into buf[INADDR_STRLEN]; returns buf. */
char *inaddr_format(int family, u128 addr, char buf[static INADDR_STRLEN]);

/* Format [lo, hi] as the shortest of "A", "A/LEN" or "A-B" into buf of size
 * n (2*INADDR_STRLEN+1 always suffices); returns buf. */
char *inaddr_format_span(int family, u128 lo, u128 hi, char *buf, size_t n);

/* If [lo, hi] is exactly one prefix, return its length, else -1. */
int inaddr_prefix_len(int family, u128 lo, u128 hi);

/* Convert between network-order bytes (4 or 16) and values. */
u128 inaddr_from_bytes(int family, const void *bytes);
void inaddr_to_bytes(int family, u128 addr, void *bytes);
