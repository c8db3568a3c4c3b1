/* ptl_name: paths cut to their last component (both separators), dot names
 * and empty names replaced, controls, bidi overrides and bad bytes escaped
 * by the shared neutraliser, long names cut to PTL_NAME_MAX at a
 * character boundary, a NUL ends the name (table-driven). */
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/portal/ptl_name.h"
#include "sanitizer/san_name.h"
#include "test/check.h"

static const struct {
	const char *in;
	const char *out;
	unsigned flags;
} cases[] = {
	{"見積書.xlsx", "見積書.xlsx", 0},
	{"C:\\Users\\yamada\\Desktop\\a.pdf", "a.pdf", 0},
	{"../../etc/passwd", "passwd", 0},
	{"dir/", "file", 0},
	{"..", "file", 0},
	{".", "file", 0},
	{"", "file", 0},
	{"..\\..", "file", 0},
	{"a\r\nb.txt", "a<U+000D><U+000A>b.txt", SAN_NAME_CONTROL},
	{"請求書\xe2\x80\xae"
	 "fdp.exe",
	 "請求書<U+202E>fdp.exe", SAN_NAME_BIDI | SAN_NAME_EXEC},
	{"bad\xff.txt", "bad<0xFF>.txt", SAN_NAME_CONTROL},
	{".bashrc", ".bashrc", 0},
};

int main(void)
{
	char out[PTL_NAME_MAX + 1];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned f = ptl_name_clean(cases[i].in, strlen(cases[i].in), out);
		CHECK_STR(out, cases[i].out);
		CHECK(f == cases[i].flags, "case %zu: flags %#x", i, f);
	}
	CHECK(ptl_name_clean(NULL, 0, out) == 0 && !strcmp(out, "file"));
	/* a NUL ends the name */
	CHECK(ptl_name_clean("ab\0cd", 5, out) == SAN_NAME_CONTROL && !strcmp(out, "ab"));
	/* 3-byte characters past the cap: cut at a boundary, still UTF-8 */
	char longname[3 * 400 + 1] = {0};
	for (int i = 0; i < 400; i++)
		memcpy(longname + 3 * i, "あ", 3);
	unsigned f = ptl_name_clean(longname, strlen(longname), out);
	CHECK(f & SAN_NAME_CUT);
	CHECK(strlen(out) <= PTL_NAME_MAX && utf8_valid(out, strlen(out)), "%zu", strlen(out));
	/* a long path whose last component is short */
	char path[5000];
	memset(path, 'd', sizeof(path));
	path[4000] = '/';
	strcpy(path + 4001, "x.txt");
	CHECK(ptl_name_clean(path, strlen(path), out) == 0 && !strcmp(out, "x.txt"));
	return check_done();
}
