/* san_name: bidi, controls, double extensions. */
#include <string.h>

#include "sanitizer/san_name.h"
#include "test/check.h"

static const struct {
	const char *in;
	const char *out;
	unsigned flags;
} cases[] = {
	{"report.pdf", "report.pdf", 0},
	{"請求書\xe2\x80\xae"
	 "fdp.exe",
	 "請求書<U+202E>fdp.exe", SAN_NAME_BIDI | SAN_NAME_EXEC},
	{"a\xe2\x81\xa6"
	 "b.txt",
	 "a<U+2066>b.txt", SAN_NAME_BIDI},
	{"a\tb\x01.txt", "a<U+0009>b<U+0001>.txt", SAN_NAME_CONTROL},
	{"..\\..\\x/y.doc", "..<U+005C>..<U+005C>x<U+002F>y.doc", SAN_NAME_CONTROL},
	{"bad\xff.txt", "bad<0xFF>.txt", SAN_NAME_CONTROL},
	{"s\xed\xa5\xb9.txt", "s<0xED><0xA5><0xB9>.txt", SAN_NAME_CONTROL},           /* a surrogate */
	{"o\xe0\x80\xaf.txt", "o<0xE0><0x80><0xAF>.txt", SAN_NAME_CONTROL},           /* overlong '/' */
	{"p\xf4\x90\x80\x80.txt", "p<0xF4><0x90><0x80><0x80>.txt", SAN_NAME_CONTROL}, /* past U+10FFFF */
	{"invoice.pdf.exe", "invoice.pdf.exe", SAN_NAME_EXEC | SAN_NAME_DOUBLEEXT},
	{"invoice.pdf      .js", "invoice.pdf      .js", SAN_NAME_EXEC | SAN_NAME_DOUBLEEXT},
	{"zero\xe2\x80\x8bwidth.txt", "zero<U+200B>width.txt", SAN_NAME_CONTROL},
	{NULL, "", 0},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];
		unsigned f = san_name_neutralise(cases[i].in, out, sizeof(out));
		CHECK(strcmp(out, cases[i].out) == 0, "case %zu: '%s'", i, out);
		CHECK(f == cases[i].flags, "case %zu: flags %#x", i, f);
	}
	char small[16];
	unsigned f = san_name_neutralise("a-very-long-file-name.txt", small, sizeof(small));
	CHECK((f & SAN_NAME_CUT) && strlen(small) < sizeof(small), "cut: '%s'", small);
	return check_done();
}
