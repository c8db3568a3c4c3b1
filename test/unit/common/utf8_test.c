/* utf8_test: the strict decoder, table-driven: every class of bad sequence
 * beside the valid edges, truncation at each position, whole buffers, and
 * encode/decode round trips over every scalar value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "test/check.h"

/* One sequence: its bytes, the expected length (0 = invalid) and code
 * point. */
static const struct {
	const char *what;
	const char *s;
	size_t n;
	size_t len;
	uint32_t cp;
} cases[] = {
	/* valid edges */
	{"U+0000", "\x00", 1, 1, 0x0},
	{"U+007F", "\x7f", 1, 1, 0x7f},
	{"U+0080", "\xc2\x80", 2, 2, 0x80},
	{"U+07FF", "\xdf\xbf", 2, 2, 0x7ff},
	{"U+0800", "\xe0\xa0\x80", 3, 3, 0x800},
	{"U+D7FF", "\xed\x9f\xbf", 3, 3, 0xd7ff},
	{"U+E000", "\xee\x80\x80", 3, 3, 0xe000},
	{"U+FFFD", "\xef\xbf\xbd", 3, 3, 0xfffd},
	{"U+FFFF", "\xef\xbf\xbf", 3, 3, 0xffff},
	{"U+10000", "\xf0\x90\x80\x80", 4, 4, 0x10000},
	{"U+10FFFF", "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
	{"関", "\xe9\x96\xa2", 3, 3, 0x95a2},
	{"a byte after the sequence is not read", "\xc3\xa9\x80", 3, 2, 0xe9},
	/* overlong forms, each length */
	{"overlong 2: C0 80 (NUL)", "\xc0\x80", 2, 0, 0},
	{"overlong 2: C1 BF (U+007F)", "\xc1\xbf", 2, 0, 0},
	{"overlong 3: E0 80 80", "\xe0\x80\x80", 3, 0, 0},
	{"overlong 3: E0 9F BF (U+07FF)", "\xe0\x9f\xbf", 3, 0, 0},
	{"overlong 4: F0 80 80 80", "\xf0\x80\x80\x80", 4, 0, 0},
	{"overlong 4: F0 8F BF BF (U+FFFF)", "\xf0\x8f\xbf\xbf", 4, 0, 0},
	{"overlong 5: F8 88 80 80 80", "\xf8\x88\x80\x80\x80", 5, 0, 0},
	{"overlong 6: FC 84 80 80 80 80", "\xfc\x84\x80\x80\x80\x80", 6, 0, 0},
	/* surrogates, each edge */
	{"U+D800", "\xed\xa0\x80", 3, 0, 0},
	{"U+DBFF", "\xed\xaf\xbf", 3, 0, 0},
	{"U+DC00", "\xed\xb0\x80", 3, 0, 0},
	{"U+DFFF", "\xed\xbf\xbf", 3, 0, 0},
	{"surrogate pair (CESU-8)", "\xed\xa0\x80\xed\xb0\x80", 6, 0, 0},
	/* past Unicode */
	{"U+110000", "\xf4\x90\x80\x80", 4, 0, 0},
	{"U+13FFFF", "\xf4\xbf\xbf\xbf", 4, 0, 0},
	{"U+140000 (F5)", "\xf5\x80\x80\x80", 4, 0, 0},
	{"F6", "\xf6\x80\x80\x80", 4, 0, 0},
	{"F7", "\xf7\xbf\xbf\xbf", 4, 0, 0},
	{"F8", "\xf8\x80\x80\x80", 4, 0, 0},
	{"FB", "\xfb\x80\x80\x80", 4, 0, 0},
	{"FC", "\xfc\x80\x80\x80", 4, 0, 0},
	{"FD", "\xfd\x80\x80\x80", 4, 0, 0},
	{"FE", "\xfe", 1, 0, 0},
	{"FF", "\xff", 1, 0, 0},
	/* C0 and C1 lead bytes on their own */
	{"C0", "\xc0", 1, 0, 0},
	{"C1", "\xc1", 1, 0, 0},
	/* stray continuation bytes */
	{"stray 80", "\x80", 1, 0, 0},
	{"stray BF", "\xbf", 1, 0, 0},
	{"stray 80 80", "\x80\x80", 2, 0, 0},
	/* a lead byte followed by something else than a continuation */
	{"C2 41", "\xc2\x41", 2, 0, 0},
	{"C2 C2 80", "\xc2\xc2\x80", 3, 0, 0},
	{"E3 81 41", "\xe3\x81\x41", 3, 0, 0},
	{"E3 C0 80", "\xe3\xc0\x80", 3, 0, 0},
	{"F0 90 80 41", "\xf0\x90\x80\x41", 4, 0, 0},
	{"F1 80 C0 80", "\xf1\x80\xc0\x80", 4, 0, 0},
	{"F1 80 80 FF", "\xf1\x80\x80\xff", 4, 0, 0},
	/* truncated */
	{"empty", "", 0, 0, 0},
	{"C2 end", "\xc2", 1, 0, 0},
	{"E3 end", "\xe3", 1, 0, 0},
	{"E3 81 end", "\xe3\x81", 2, 0, 0},
	{"F0 end", "\xf0", 1, 0, 0},
	{"F0 9F end", "\xf0\x9f", 2, 0, 0},
	{"F0 9F 98 end", "\xf0\x9f\x98", 3, 0, 0},
};

/* Every proper prefix of a valid multi-byte sequence is refused, and so is
 * the sequence with any one continuation byte replaced by 0x41, 0xC0 or
 * 0xFF. */
static void check_cuts(const char *s, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		uint32_t cp = 0xabcd;
		CHECK(utf8_decode(s, k, &cp) == 0 && cp == 0xabcd);
	}
	static const unsigned char bad[] = {0x41, 0xc0, 0xff, 0x00};
	for (size_t k = 1; k < len; k++)
		for (size_t b = 0; b < sizeof bad; b++) {
			char t[UTF8_MAX];
			uint32_t cp;
			memcpy(t, s, len);
			t[k] = (char)bad[b];
			CHECK(utf8_decode(t, len, &cp) == 0);
		}
}

/* A reference decoder written the other way round (build the value, then
 * judge it), to check utf8_decode on every 1- to 3-byte input. */
static size_t ref_decode(const unsigned char *p, size_t n, uint32_t *ret_cp)
{
	size_t len;
	uint32_t cp, min;
	if (p[0] < 0x80)
		len = 1, cp = p[0], min = 0;
	else if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1fu, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0fu, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07u, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return len;
}

/* utf8_text: valid UTF-8 without C0, DEL or C1 controls */
static void check_text(void)
{
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
		{"", true},         {"見積書.xlsx", true},  {"a b", true},         {"tab\t", false},
		{"nl\n", false},    {"del\x7f", false},     {"c1\xc2\x85", false}, {"nbsp\xc2\xa0", true},
		{"bad\xff", false}, {"cut\xe8\xa6", false},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		CHECK(utf8_text(t[i].s, strlen(t[i].s)) == t[i].ok, "utf8_text case %zu", i);
	CHECK(!utf8_text("a\0b", 3), "NUL is a control");
}

int main(void)
{
	check_text();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t cp = 0xabcd;
		size_t len = utf8_decode(cases[i].s, cases[i].n, &cp);
		if (len != cases[i].len || (len && cp != cases[i].cp) || (!len && cp != 0xabcd)) {
			fprintf(stderr, "%s: got len %zu cp U+%04X\n", cases[i].what, len, (unsigned)cp);
			check_failures++;
		}
		/* a whole buffer is valid exactly when the one sequence fills it */
		CHECK(utf8_valid(cases[i].s, cases[i].n) == (cases[i].len == cases[i].n));
		if (cases[i].len > 1 && cases[i].len == cases[i].n)
			check_cuts(cases[i].s, cases[i].len);
	}

	/* buffers: the valid prefix stops at the first bad byte */
	static const char mixed[] = "a\xc3\xa9\xe9\x96\xa2\xf0\x9f\x98\x80z\xed\xa0\x80tail";
	CHECK(utf8_valid_prefix(mixed, sizeof mixed - 1) == 11);
	CHECK(utf8_valid(mixed, 11));
	CHECK(!utf8_valid(mixed, 12));
	CHECK(!utf8_valid(mixed, 9));
	CHECK(utf8_valid("", 0));
	CHECK(utf8_valid("\x00", 1));

	/* every scalar value encodes and decodes back; surrogates and values
	 * past U+10FFFF do not encode */
	for (uint32_t cp = 0; cp <= 0x110100; cp++) {
		char b[UTF8_MAX];
		size_t len = utf8_encode(cp, b);
		bool scalar = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
		if (!scalar) {
			if (len != 0) {
				fprintf(stderr, "encoded U+%04X\n", (unsigned)cp);
				check_failures++;
			}
			continue;
		}
		size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		uint32_t back = 0xffffffff;
		if (len != want || utf8_decode(b, len, &back) != len || back != cp) {
			fprintf(stderr, "round trip U+%04X: len %zu\n", (unsigned)cp, len);
			check_failures++;
			break;
		}
	}
	CHECK(utf8_encode(0xffffffff, (char[UTF8_MAX]){0}) == 0);

	/* every input of one to three bytes (with the rest cut) against the
	 * reference decoder */
	for (uint32_t v = 0; v < 1u << 24; v++) {
		unsigned char b[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
		for (size_t n = 1; n <= 3; n++) {
			uint32_t a = 0, r = 0;
			size_t la = utf8_decode(b, n, &a), lr = ref_decode(b, n, &r);
			if (la != lr || a != r) {
				fprintf(stderr, "%02X %02X %02X /%zu: %zu U+%04X, reference %zu U+%04X\n", b[0], b[1],
					b[2], n, la, (unsigned)a, lr, (unsigned)r);
				check_failures++;
				v = 1u << 24;
				break;
			}
		}
	}
	/* every 4-byte lead byte with every second and third byte, the fourth
	 * at both edges and just outside */
	static const unsigned char last[] = {0x7f, 0x80, 0xbf, 0xc0};
	for (unsigned lead = 0xf0; lead <= 0xff; lead++)
		for (unsigned b1 = 0; b1 < 256; b1++)
			for (unsigned b2 = 0; b2 < 256; b2++)
				for (size_t k = 0; k < sizeof last; k++) {
					unsigned char b[4] = {(unsigned char)lead, (unsigned char)b1, (unsigned char)b2,
							      last[k]};
					uint32_t a = 0, r = 0;
					size_t la = utf8_decode(b, 4, &a), lr = ref_decode(b, 4, &r);
					if (la != lr || a != r) {
						fprintf(stderr, "%02X %02X %02X %02X: %zu, reference %zu\n", b[0], b[1],
							b[2], b[3], la, lr);
						check_failures++;
					}
				}

	return check_done();
}
