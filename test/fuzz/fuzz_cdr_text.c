/* fuzz_cdr_text: libFuzzer target for cdr_text_check, the trusted side's
 * check of what sekisho-cdr-text wrote (sanitizer/cdr/cdr_text.c).
 *
 * The first byte picks the charset the converter declared (utf-8,
 * utf-8-bom, cp932, or one that does not exist); the rest is the copy.
 * The check must refuse it with -EBADMSG and a reason, or accept it such
 * that a second reader agrees: for UTF-8, common/utf8 accepts every byte
 * and no byte is a C0 control but TAB, LF, CR, nor DEL; for CP932, iconv
 * decodes all of it into UTF-16 without a code unit below 0x20 (but TAB,
 * LF, CR); for anything else, nothing is accepted.  Seeds:
 * test/fuzz/corpus/cdr_text/. */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/cdr/cdr_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool c0(uint32_t c)
{
	return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
}

static void agree_utf8(const uint8_t *s, size_t n)
{
	if (!utf8_valid(s, n))
		abort();
	for (size_t i = 0; i < n; i++)
		if (c0(s[i]))
			abort();
}

static void agree_cp932(const uint8_t *s, size_t n)
{
	iconv_t cd = iconv_open("UTF-16LE", "CP932");
	size_t cap = n * 2 + 8, left = n, room = cap;
	char *out = malloc(cap), *src = (char *)(uintptr_t)s, *dst = out;

	if (cd == (iconv_t)-1 || !out)
		abort();
	if (iconv(cd, &src, &left, &dst, &room) == (size_t)-1)
		abort();
	for (size_t i = 0; i + 1 < cap - room; i += 2)
		if (c0((uint32_t)(uint8_t)out[i] | (uint32_t)(uint8_t)out[i + 1] << 8))
			abort();
	iconv_close(cd);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sets[] = {"utf-8", "utf-8-bom", "cp932", "latin-1"};
	char why[128] = "";
	const char *set;
	int r;

	if (size == 0)
		return 0;
	set = sets[data[0] % 4];
	r = cdr_text_check(data + 1, size - 1, set, why, sizeof(why));
	if (r < 0) {
		if (r != -EBADMSG || why[0] == 0)
			abort();
		return 0;
	}
	if (strcmp(set, "utf-8") == 0)
		agree_utf8(data + 1, size - 1);
	else if (strcmp(set, "utf-8-bom") == 0 && size >= 4 && memcmp(data + 1, "\xEF\xBB\xBF", 3) == 0)
		agree_utf8(data + 4, size - 4);
	else if (strcmp(set, "cp932") == 0)
		agree_cp932(data + 1, size - 1);
	else
		abort();
	return 0;
}
