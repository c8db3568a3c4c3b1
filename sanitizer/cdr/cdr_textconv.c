/* cdr_textconv.c: charset detection, transcoding and control-character
 * removal for text and CSV, inside the sandbox (cdr_textconv.h).
 *
 * Everything goes through UTF-8: the input is decoded with iconv into a
 * UTF-8 buffer, cleaned there with common/utf8, and encoded once more for a
 * CP932 CSV.  A charset is only chosen when iconv decodes the whole input
 * without an error, so a wrong guess can pick a readable but wrong
 * decoding, never produce invalid text.
 *
 * Ownership: every buffer is freed before return except *ret_out.
 * Failure: -errno and a key in why; no output.  Never logs. */
#include "sanitizer/cdr/cdr_textconv.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/cdr/cdr_text.h"

static int fail(char *why, size_t whylen, int err, const char *key)
{
	if (whylen)
		snprintf(why, whylen, "%s", key);
	return err;
}

/* in[0..len) from charset `from` to `to` with iconv; -EILSEQ / -EINVAL when
 * the input is not valid in `from` (or has no form in `to`), -ENOMEM */
static int transcode(const char *from, const char *to, const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	iconv_t cd = iconv_open(to, from);
	size_t cap, left = len, room;
	char *src = (char *)(uintptr_t)in, *out, *dst;
	int r = 0;

	if (cd == (iconv_t)-1)
		return -errno;
	/* UTF-16 -> UTF-8 is at most 3/2, CP932/EUC -> UTF-8 at most 3/1 (a
	 * one-byte half-width katakana), UTF-8 -> CP932 at most 1/1 */
	cap = len > (SIZE_MAX - 16) / 3 ? 0 : len * 3 + 16;
	out = cap ? malloc(cap) : NULL;
	if (!out) {
		iconv_close(cd);
		return -ENOMEM;
	}
	dst = out;
	room = cap;
	if (iconv(cd, &src, &left, &dst, &room) == (size_t)-1)
		r = -errno;
	else if (iconv(cd, NULL, NULL, &dst, &room) == (size_t)-1) /* ISO-2022-JP: back to ASCII */
		r = -errno;
	iconv_close(cd);
	if (r == -E2BIG)
		r = -ENOMEM; /* the bound above is wrong: never expected */
	if (r) {
		free(out);
		return r;
	}
	*ret = (uint8_t *)out;
	*ret_len = cap - room;
	return 0;
}

/* how much a decoded text reads like Japanese or ASCII text: points per
 * code point, summed (kana and kanji 3, full-width forms 2, ASCII text and
 * half-width katakana 1, controls, private use and U+FFFD -10) */
static long score(const uint8_t *s, size_t n)
{
	long total = 0;
	size_t i = 0, k;
	uint32_t c;

	while (i < n && (k = utf8_decode(s + i, n - i, &c)) > 0) {
		i += k;
		if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3000 && c <= 0x303f))
			total += 3;
		else if (c >= 0xff01 && c <= 0xff5e)
			total += 2;
		else if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n' || (c >= 0xff61 && c <= 0xff9f))
			total += 1;
		else if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0xe000 && c <= 0xf8ff) || c == 0xfffd)
			total -= 10;
	}
	return total;
}

static const struct {
	const char *name, *iconv;
} guesses[] = {
	{"cp932", "CP932"},
	{"euc-jp", "EUC-JP"},
	{"utf-16le", "UTF-16LE"},
	{"utf-16be", "UTF-16BE"},
};

/* decodes in into UTF-8 (*ret, malloc'd), naming the charset in res */
static int decode(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len, struct cdr_textconv_result *res)
{
	bool high = false, nul = false, esc = false;
	size_t zero_even = 0, zero_odd = 0;
	const char *name = NULL, *conv = NULL;
	size_t skip = 0;
	long best = 0;

	static const struct {
		const char *bom, *name, *conv;
	} boms[] = {{"\xEF\xBB\xBF", "utf-8-bom", "UTF-8"},
		    {"\xFF\xFE", "utf-16le-bom", "UTF-16LE"},
		    {"\xFE\xFF", "utf-16be-bom", "UTF-16BE"}};

	for (size_t b = 0; b < sizeof(boms) / sizeof(boms[0]) && !name; b++) {
		size_t bl = strlen(boms[b].bom);
		if (len >= bl && memcmp(in, boms[b].bom, bl) == 0) {
			name = boms[b].name;
			conv = boms[b].conv;
			skip = bl;
		}
	}
	if (!name) {
		for (size_t i = 0; i < len; i++) {
			high |= in[i] >= 0x80;
			esc |= in[i] == 0x1b && i + 2 < len &&
				((in[i + 1] == '$' && (in[i + 2] == 'B' || in[i + 2] == '@')) ||
				 (in[i + 1] == '(' && (in[i + 2] == 'J' || in[i + 2] == 'I')));
			if (in[i] == 0) {
				nul = true;
				*(i % 2 ? &zero_odd : &zero_even) += 1;
			}
		}
		if (nul) { /* ASCII in UTF-16: its high byte is 0 */
			name = zero_odd >= zero_even ? "utf-16le" : "utf-16be";
			conv = zero_odd >= zero_even ? "UTF-16LE" : "UTF-16BE";
		} else if (!high && esc) {
			name = "iso-2022-jp";
			conv = "ISO-2022-JP";
		} else if (utf8_valid(in, len)) {
			name = "utf-8";
			conv = "UTF-8";
		}
	}
	if (name) {
		snprintf(res->charset, sizeof(res->charset), "%s", name);
		return transcode(conv, "UTF-8", in + skip, len - skip, ret, ret_len);
	}
	/* no mark: the decoding that reads best */
	for (size_t g = 0; g < sizeof(guesses) / sizeof(guesses[0]); g++) {
		uint8_t *out;
		size_t n;
		long sc;
		if (transcode(guesses[g].iconv, "UTF-8", in, len, &out, &n) < 0)
			continue;
		sc = score(out, n);
		if (sc > best) {
			free(*ret);
			*ret = out;
			*ret_len = n;
			best = sc;
			snprintf(res->charset, sizeof(res->charset), "%s", guesses[g].name);
		} else {
			free(out);
		}
	}
	return *ret ? 0 : -EILSEQ;
}

/* removes control characters in place; -E2BIG for a line over the cap */
static int clean(uint8_t *s, size_t *len, size_t *ret_removed)
{
	size_t i = 0, o = 0, k, line = 0;
	uint32_t c;

	while (i < *len) {
		k = utf8_decode(s + i, *len - i, &c);
		if (k == 0)
			return -EILSEQ; /* iconv wrote UTF-8: never expected */
		if (cdr_text_control(c)) {
			(*ret_removed)++;
		} else {
			memmove(s + o, s + i, k);
			o += k;
			line = c == '\n' ? 0 : line + k;
			if (line > CDR_TEXT_MAX_LINE)
				return -E2BIG;
		}
		i += k;
	}
	*len = o;
	return 0;
}

int cdr_textconv_convert(const uint8_t *in, size_t len, bool csv, uint8_t **ret_out, size_t *ret_len,
			 struct cdr_textconv_result *ret_res, char *why, size_t whylen)
{
	uint8_t *text = NULL, *out = NULL;
	size_t n = 0, outlen = 0;
	int r;

	memset(ret_res, 0, sizeof(*ret_res));
	*ret_out = NULL;
	*ret_len = 0;
	if (len > CDR_TEXTCONV_MAX_INPUT)
		return fail(why, whylen, -EFBIG, "input-size-limit");
	r = decode(in, len, &text, &n, ret_res);
	if (r == -ENOMEM)
		return fail(why, whylen, r, "out-of-memory");
	if (r < 0)
		return fail(why, whylen, r, "unknown-charset");
	r = clean(text, &n, &ret_res->removed);
	if (r < 0) {
		free(text);
		return fail(why, whylen, r, r == -E2BIG ? "line-length-limit" : "unknown-charset");
	}
	if (csv && transcode("UTF-8", "CP932", text, n, &out, &outlen) == 0) {
		snprintf(ret_res->out_charset, sizeof(ret_res->out_charset), "cp932");
		free(text);
	} else if (csv) {
		out = malloc(n + 3);
		if (!out) {
			free(text);
			return fail(why, whylen, -ENOMEM, "out-of-memory");
		}
		memcpy(out, "\xEF\xBB\xBF", 3);
		if (n) /* text may be NULL-free but empty */
			memcpy(out + 3, text, n);
		outlen = n + 3;
		free(text);
		snprintf(ret_res->out_charset, sizeof(ret_res->out_charset), "utf-8-bom");
	} else {
		out = text;
		outlen = n;
		snprintf(ret_res->out_charset, sizeof(ret_res->out_charset), "utf-8");
	}
	*ret_out = out;
	*ret_len = outlen;
	return 0;
}
