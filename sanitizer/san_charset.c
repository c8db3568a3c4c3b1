/* san_charset: charset decoding and repair (see san_charset.h).
 *
 * Contract: pure functions over caller buffers; allocation failures return
 * -ENOMEM (strbuf aborts, as glib does under gmime).  Nothing prints.  The
 * only shared state is a mutex-protected pool of idle iconv descriptors
 * (thread-safe; see cd_get).
 * ISO-2022-JP is decoded by our own escape-sequence state machine into CP932
 * bytes, which iconv then maps: only the designations of RFC 1468 (plus JIS
 * X 0201 katakana and the 1990 prefix) are accepted, so escape-sequence
 * tricks (ISO-2022-JP-2 switches to other sets, stray ESC) fail the strict
 * pass and the text is repaired or replaced, never reinterpreted. */
#include "sanitizer/san_charset.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "common/utf8.h"
#include "common/xalloc.h"

bool san_charset_is_utf7(const char *cs)
{
	if (!cs)
		return false;
	while (*cs == ' ' || *cs == '"' || *cs == '\t')
		cs++;
	return strncasecmp(cs, "utf-7", 5) == 0 || strncasecmp(cs, "utf7", 4) == 0 ||
		strncasecmp(cs, "unicode-1-1-utf-7", 17) == 0 || strncasecmp(cs, "csunicode11utf7", 15) == 0 ||
		strncasecmp(cs, "x-utf-7", 7) == 0 || strncasecmp(cs, "x-utf7", 6) == 0;
}

/* Idle iconv descriptors, kept for reuse: iconv_open is costly, and when
 * the last descriptor of a charset is closed glibc soon unloads its gconv
 * module, so alternating charsets dlopen()ed a module for nearly every
 * conversion.  A descriptor is taken out of the pool while in use (so
 * threads never share one) and its state is reset before reuse.  At most
 * POOL_MAX are idle; the pool lives as long as the process. */
#define POOL_MAX 32
static struct pooled_cd {
	char to[16], from[48];
	iconv_t cd;
} pool[POOL_MAX];
static size_t pool_n;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static iconv_t cd_get(const char *to, const char *from)
{
	pthread_mutex_lock(&pool_lock);
	for (size_t i = pool_n; i-- > 0;) {
		if (strcmp(pool[i].to, to) == 0 && strcmp(pool[i].from, from) == 0) {
			iconv_t cd = pool[i].cd;
			pool[i] = pool[--pool_n];
			pthread_mutex_unlock(&pool_lock);
			iconv(cd, NULL, NULL, NULL, NULL);
			return cd;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	return iconv_open(to, from);
}

static void cd_put(const char *to, const char *from, iconv_t cd)
{
	if (strlen(to) < sizeof(pool[0].to) && strlen(from) < sizeof(pool[0].from)) {
		pthread_mutex_lock(&pool_lock);
		if (pool_n < POOL_MAX) {
			struct pooled_cd *e = &pool[pool_n++];
			memcpy(e->to, to, strlen(to) + 1);
			memcpy(e->from, from, strlen(from) + 1);
			e->cd = cd;
			cd = (iconv_t)-1;
		}
		pthread_mutex_unlock(&pool_lock);
	}
	if (cd != (iconv_t)-1)
		iconv_close(cd);
}

/* The Japanese charsets, then the legacy encodings of the WHATWG Encoding
 * Standard that mail still uses. */
static const char *const PINNED[] = {
	"ISO-2022-JP",  "CP932",        "SHIFT_JIS",    "EUC-JP",      "EUC-JP-MS", "ISO-8859-1",   "ISO-8859-2",
	"ISO-8859-5",   "ISO-8859-7",   "ISO-8859-15",  "KOI8-R",      "KOI8-U",    "WINDOWS-1250", "WINDOWS-1251",
	"WINDOWS-1252", "WINDOWS-1253", "WINDOWS-1254", "EUC-KR",      "CP949",     "GB2312",       "GBK",
	"GB18030",      "BIG5",         "BIG5-HKSCS",   "ISO-2022-KR", "TIS-620",
};
/* Open for the process's lifetime.  volatile: the array is only written, and
 * without it the optimiser drops it, leaving the descriptors unreachable
 * (a definite leak to valgrind). */
static iconv_t volatile pinned[sizeof(PINNED) / sizeof(PINNED[0])];
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

static void pin(void)
{
	for (size_t i = 0; i < sizeof(PINNED) / sizeof(PINNED[0]); i++)
		pinned[i] = iconv_open("UTF-8", PINNED[i]);
}

void san_charset_pin_modules(void)
{
	pthread_once(&pin_once, pin);
}

static void utf8_scrub(struct strbuf *in, size_t *replaced);

/* Convert with iconv.  strict: fail with -EILSEQ at the first invalid or
 * incomplete sequence; otherwise replace each bad byte by U+FFFD. */
static int conv(const char *in, size_t len, const char *from, bool strict, struct strbuf *out, size_t *replaced)
{
	iconv_t cd = cd_get("UTF-8", from);
	if (cd == (iconv_t)-1)
		return -EINVAL;
	char *ip = (char *)(uintptr_t)in;
	size_t il = len;
	char buf[4096];
	int r = 0;
	while (il > 0) {
		char *op = buf;
		size_t ol = sizeof(buf);
		size_t n = iconv(cd, &ip, &il, &op, &ol);
		strbuf_append(out, buf, (size_t)(op - buf));
		if (n != (size_t)-1)
			continue;
		if (errno == E2BIG)
			continue;
		if (strict) {
			r = -EILSEQ;
			break;
		}
		/* EILSEQ or EINVAL (truncated): replace one byte and go on. */
		strbuf_append(out, "\xEF\xBF\xBD", 3);
		(*replaced)++;
		ip++;
		il--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	if (r == 0) {
		char *op = buf;
		size_t ol = sizeof(buf);
		iconv(cd, NULL, NULL, &op, &ol);
		strbuf_append(out, buf, (size_t)(op - buf));
	}
	cd_put("UTF-8", from, cd);
	/* any label may name UTF-8 (aliases iconv knows): every result is
	 * checked, and a valid one costs one pass */
	if (r == 0)
		utf8_scrub(out, replaced);
	return r;
}

/* ISO-2022-JP -> CP932 bytes.  Returns 0, or -EILSEQ on anything outside
 * the accepted designations; *ext is set when NEC/IBM rows were used. */
static int jis_to_sjis(const unsigned char *in, size_t len, struct strbuf *out, bool *ext)
{
	enum { ASCII, KANJI, KANA } mode = ASCII;
	*ext = false;
	for (size_t i = 0; i < len; i++) {
		unsigned c = in[i];
		if (c == 0x1B) {
			if (i + 2 < len && in[i + 1] == '(' && (in[i + 2] == 'B' || in[i + 2] == 'J')) {
				mode = ASCII;
				i += 2;
			} else if (i + 2 < len && in[i + 1] == '$' && (in[i + 2] == 'B' || in[i + 2] == '@')) {
				mode = KANJI;
				i += 2;
			} else if (i + 2 < len && in[i + 1] == '(' && in[i + 2] == 'I') {
				mode = KANA;
				i += 2;
			} else if (i + 5 < len && in[i + 1] == '&' && in[i + 2] == '@' && in[i + 3] == 0x1B &&
				   in[i + 4] == '$' && in[i + 5] == 'B') {
				mode = KANJI;
				i += 5;
			} else
				return -EILSEQ;
			continue;
		}
		if (c >= 0x80)
			return -EILSEQ;
		if (c == 0x0E) {
			mode = KANA;
			continue;
		} /* SO */
		if (c == 0x0F) {
			mode = ASCII;
			continue;
		} /* SI */
		if (c == '\n' || c == '\r') {
			mode = ASCII;
			strbuf_putc(out, (char)c);
			continue;
		}
		if (mode == ASCII) {
			strbuf_putc(out, (char)c);
			continue;
		}
		if (mode == KANA) {
			if (c < 0x21 || c > 0x5F)
				return -EILSEQ;
			strbuf_putc(out, (char)(c + 0x80));
			continue;
		}
		if (i + 1 >= len)
			return -EILSEQ;
		unsigned c1 = c, c2 = in[++i];
		if (c1 < 0x21 || c1 > 0x7E || c2 < 0x21 || c2 > 0x7E)
			return -EILSEQ;
		if (c1 == 0x2D || c1 >= 0x79)
			*ext = true; /* NEC row 13, IBM rows 89.. */
		unsigned s1 = ((c1 + 1) >> 1) + (c1 <= 0x5E ? 0x70 : 0xB0);
		unsigned s2 = c2 + ((c1 & 1) ? (c2 >= 0x60 ? 0x20 : 0x1F) : 0x7E);
		char b[2] = {(char)s1, (char)s2};
		strbuf_append(out, b, 2);
	}
	return 0;
}

static bool has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] & 0x80)
			return true;
	return false;
}

static bool has_jis_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++)
		if (s[i] == 0x1B && s[i + 1] == '$' && (s[i + 2] == 'B' || s[i + 2] == '@'))
			return true;
	return false;
}

/* Decode ISO-2022-JP (CP50221 mappings); strict. */
static int dec_jis(const char *in, size_t len, struct strbuf *out, bool *ext)
{
	struct strbuf sj = STRBUF_INIT;
	size_t rep = 0;
	int r = jis_to_sjis((const unsigned char *)in, len, &sj, ext);
	if (r == 0)
		r = conv(sj.buf ? sj.buf : "", sj.len, "CP932", true, out, &rep);
	strbuf_free(&sj);
	return r;
}

/* Guess the charset of unlabelled 8-bit Japanese-or-Western text. */
static const char *guess(const char *in, size_t len)
{
	if (utf8_valid(in, len))
		return "UTF-8";
	struct strbuf t = STRBUF_INIT;
	size_t rep = 0;
	bool sj = conv(in, len, "CP932", true, &t, &rep) == 0;
	strbuf_reset(&t);
	bool eu = conv(in, len, "EUC-JP-MS", true, &t, &rep) == 0;
	strbuf_free(&t);
	if (sj && eu) {
		/* Both parse: bytes 0x81..0x9F lead only in CP932. */
		for (size_t i = 0; i < len; i++) {
			unsigned c = (unsigned char)in[i];
			if (c >= 0x81 && c <= 0x9F)
				return "CP932";
		}
		return "EUC-JP-MS";
	}
	if (sj)
		return "CP932";
	if (eu)
		return "EUC-JP-MS";
	return "WINDOWS-1252";
}

static const char *lower_label(const char *d, char *buf, size_t n)
{
	size_t k = 0;
	if (!d) {
		buf[0] = '\0';
		return buf;
	}
	while (*d == ' ' || *d == '"' || *d == '\t')
		d++;
	for (; *d && k + 1 < n; d++) {
		if (*d == '"' || *d == ' ' || *d == '\t' || *d == ';')
			break;
		buf[k++] = (char)((*d >= 'A' && *d <= 'Z') ? *d + 32 : *d);
	}
	buf[k] = '\0';
	return buf;
}

static bool is_label(const char *l, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(l, *names) == 0)
			return true;
	return false;
}

static const char *const L_JIS[] = {"iso-2022-jp",    "csiso2022jp", "iso2022jp", "jis",     "x-jis",
				    "iso-2022-jp-ms", "cp50220",     "cp50221",   "cp50222", NULL};
static const char *const L_SJIS[] = {"shift_jis",  "shift-jis",      "sjis",        "x-sjis", "ms_kanji",
				     "csshiftjis", "cp932",          "windows-31j", "ms932",  "x-ms-cp932",
				     "ibm-943",    "shift_jisx0213", NULL};
static const char *const L_EUC[] = {"euc-jp",    "x-euc-jp", "eucjp", "cseucpkdfmtjapanese",
				    "euc-jp-ms", "eucjp-ms", NULL};
static const char *const L_UTF8[] = {"utf-8", "utf8", "x-utf-8", NULL};
static const char *const L_ASCII[] = {"",          "us-ascii",     "ascii",          "ansi_x3.4-1968",
				      "us",        "iso646-us",    "default",        "unknown",
				      "x-unknown", "unknown-8bit", "x-user-defined", NULL};

/* Remove controls, normalise newlines; the input is valid UTF-8.  Runs of
 * bytes that are kept as they are are copied at once. */
/* Replace every byte that does not start a valid sequence by U+FFFD.
 * glibc's iconv reads UTF-8 more loosely than common/utf8 (0xF5-0xF7
 * lead bytes, code points past U+10FFFF pass through, under any of its
 * names): what conv() produces is scrubbed, so san_charset_decode's
 * result is valid UTF-8.  Found by fuzzing. */
static void utf8_scrub(struct strbuf *in, size_t *replaced)
{
	if (!in->len || utf8_valid(in->buf, in->len))
		return;
	struct strbuf o = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)in->buf;
	for (size_t i = 0; i < in->len;) {
		uint32_t cp;
		size_t k = utf8_decode(p + i, in->len - i, &cp);
		if (k) {
			strbuf_append(&o, (const char *)p + i, k);
			i += k;
		} else {
			strbuf_append(&o, "\xEF\xBF\xBD", 3);
			(*replaced)++;
			i++;
		}
	}
	strbuf_free(in);
	*in = o;
}

static void finish(struct strbuf *in, struct san_text *ret)
{
	struct strbuf o = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)(in->buf ? in->buf : "");
	size_t run = 0; /* start of the pending run of kept bytes */
	for (size_t i = 0; i < in->len; i++) {
		unsigned c = p[i];
		if (c >= 0x20 && c != 0x7F && c != 0xC2)
			continue;
		if (c == '\n' || c == '\t')
			continue;
		if (c == 0xC2 && !(i + 1 < in->len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F))
			continue;
		strbuf_append(&o, (const char *)p + run, i - run);
		if (c == '\r') {
			strbuf_putc(&o, '\n');
			if (i + 1 < in->len && p[i + 1] == '\n')
				i++;
		} else if (c == 0xC2) {
			ret->controls++;
			i++; /* C1 control */
		} else {
			ret->controls++;
		}
		run = i + 1;
	}
	strbuf_append(&o, (const char *)p + run, in->len - run);
	strbuf_putc(&o, '\0');
	o.len--;
	ret->len = o.len;
	ret->utf8 = strbuf_steal(&o);
}

int san_charset_decode(const char *in, size_t len, const char *declared, struct san_text *ret)
{
	char lb[64];
	const char *l = lower_label(declared, lb, sizeof(lb));
	struct strbuf out = STRBUF_INIT;
	size_t rep = 0;
	bool ext = false;
	memset(ret, 0, sizeof(*ret));
	if (san_charset_is_utf7(l))
		return -EPROTONOSUPPORT;
	if (!in)
		in = "";
	const char *label = l[0] ? l : "none";

	if (is_label(l, L_JIS) || (is_label(l, L_ASCII) && !has_8bit(in, len) && has_jis_escape(in, len))) {
		if (!has_8bit(in, len) && dec_jis(in, len, &out, &ext) == 0) {
			ret->used = "ISO-2022-JP";
			if (!is_label(l, L_JIS))
				snprintf(ret->repair, sizeof(ret->repair), "%s->iso-2022-jp", label);
			else if (ext)
				snprintf(ret->repair, sizeof(ret->repair), "iso-2022-jp->cp50221");
			goto done;
		}
		strbuf_reset(&out);
		/* 8-bit bytes or broken escapes under an ISO-2022-JP label: CP932 or EUC-JP in disguise. */
		const char *g = has_8bit(in, len) ? guess(in, len) : "CP932";
		if (has_8bit(in, len) && conv(in, len, g, true, &out, &rep) == 0) {
			ret->used = g;
			snprintf(ret->repair, sizeof(ret->repair), "%s->%s", label, g);
			goto done;
		}
		strbuf_reset(&out);
		/* Lossy: decode what the state machine accepts, replace the rest. */
		struct strbuf sj = STRBUF_INIT;
		const unsigned char *p = (const unsigned char *)in;
		size_t start = 0;
		for (size_t i = 0; i <= len; i++) {
			if (i == len || p[i] == '\n') {
				size_t n = i - start + (i < len);
				strbuf_reset(&sj);
				if (dec_jis(in + start, n, &out, &ext) != 0) {
					for (size_t k = 0; k < n; k++) {
						if (p[start + k] >= 0x20 && p[start + k] < 0x7F)
							strbuf_putc(&out, (char)p[start + k]);
						else if (p[start + k] == '\n')
							strbuf_putc(&out, '\n');
						else {
							strbuf_append(&out, "\xEF\xBF\xBD", 3);
							rep++;
						}
					}
				}
				start = i + 1;
			}
		}
		strbuf_free(&sj);
		ret->used = "ISO-2022-JP";
		snprintf(ret->repair, sizeof(ret->repair), "%s->replaced", label);
		goto done;
	}
	if (is_label(l, L_SJIS)) {
		struct strbuf t = STRBUF_INIT;
		size_t r2 = 0;
		bool plain = conv(in, len, "SHIFT_JIS", true, &t, &r2) == 0;
		strbuf_free(&t);
		if (conv(in, len, "CP932", true, &out, &rep) == 0) {
			ret->used = "CP932";
			if (!plain && strcmp(l, "cp932") && strcmp(l, "windows-31j") && strcmp(l, "ms932") &&
			    strcmp(l, "x-ms-cp932"))
				snprintf(ret->repair, sizeof(ret->repair), "%s->cp932", label);
			goto done;
		}
		strbuf_reset(&out);
		if (utf8_valid(in, len)) {
			strbuf_append(&out, in, len);
			ret->used = "UTF-8";
			snprintf(ret->repair, sizeof(ret->repair), "%s->utf-8", label);
			goto done;
		}
		strbuf_reset(&out);
		conv(in, len, "CP932", false, &out, &rep);
		ret->used = "CP932";
		snprintf(ret->repair, sizeof(ret->repair), "%s->cp932-replaced", label);
		goto done;
	}
	if (is_label(l, L_EUC)) {
		if (conv(in, len, "EUC-JP", true, &out, &rep) == 0) {
			ret->used = "EUC-JP";
			goto done;
		}
		strbuf_reset(&out);
		if (conv(in, len, "EUC-JP-MS", true, &out, &rep) == 0) {
			ret->used = "EUC-JP-MS";
			snprintf(ret->repair, sizeof(ret->repair), "%s->eucjp-ms", label);
			goto done;
		}
		strbuf_reset(&out);
		const char *g = guess(in, len);
		if (strcmp(g, "EUC-JP-MS") != 0 && conv(in, len, g, true, &out, &rep) == 0) {
			ret->used = g;
			snprintf(ret->repair, sizeof(ret->repair), "%s->%s", label, g);
			goto done;
		}
		strbuf_reset(&out);
		conv(in, len, "EUC-JP-MS", false, &out, &rep);
		ret->used = "EUC-JP-MS";
		snprintf(ret->repair, sizeof(ret->repair), "%s->replaced", label);
		goto done;
	}
	if (is_label(l, L_UTF8)) {
		if (utf8_valid(in, len)) {
			strbuf_append(&out, in, len);
			ret->used = "UTF-8";
			goto done;
		}
		if (conv(in, len, "CP932", true, &out, &rep) == 0) {
			ret->used = "CP932";
			snprintf(ret->repair, sizeof(ret->repair), "utf-8->cp932");
			goto done;
		}
		strbuf_reset(&out);
		conv(in, len, "UTF-8", false, &out, &rep);
		ret->used = "UTF-8";
		snprintf(ret->repair, sizeof(ret->repair), "utf-8->replaced");
		goto done;
	}
	if (is_label(l, L_ASCII)) {
		if (!has_8bit(in, len)) {
			strbuf_append(&out, in, len);
			ret->used = "US-ASCII";
			goto done;
		}
		const char *g = guess(in, len);
		conv(in, len, g, false, &out, &rep);
		ret->used = g;
		snprintf(ret->repair, sizeof(ret->repair), "%s->%s", label, g);
		goto done;
	}
	/* Any other label iconv knows (Western, Korean, Chinese, ...). */
	{
		int r = conv(in, len, l, true, &out, &rep);
		if (r == 0) {
			ret->used = "declared";
			goto done;
		}
		strbuf_reset(&out);
		if (r == -EILSEQ) {
			conv(in, len, l, false, &out, &rep);
			ret->used = "declared";
			snprintf(ret->repair, sizeof(ret->repair), "%.40s->replaced", l);
			goto done;
		}
		const char *g = has_8bit(in, len) ? guess(in, len) : "US-ASCII";
		if (strcmp(g, "US-ASCII") == 0)
			strbuf_append(&out, in, len);
		else
			conv(in, len, g, false, &out, &rep);
		ret->used = g;
		snprintf(ret->repair, sizeof(ret->repair), "unknown:%.40s->%s", l, g);
	}
done:
	ret->replaced = rep;
	finish(&out, ret);
	strbuf_free(&out);
	return 0;
}

/* Half-width katakana U+FF61..U+FF9F -> full-width (no combination of
 * voiced marks: ｶﾞ becomes カ゛, which ISO-2022-JP can carry). */
static const char *const HALFKANA =
	"。「」、・ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン゛゜";

static int kana_full(uint32_t cp, char out[4])
{
	if (cp < 0xFF61 || cp > 0xFF9F)
		return 0;
	memcpy(out, HALFKANA + (cp - 0xFF61) * 3, 3);
	return 3;
}

int san_charset_to_iso2022jp(const char *utf8, size_t len, char **ret, size_t *ret_len, size_t *ret_lost)
{
	struct strbuf o = STRBUF_INIT;
	iconv_t cd = cd_get("CP932", "UTF-8");
	if (cd == (iconv_t)-1)
		return -errno;
	size_t lost = 0;
	bool kanji = false;
	const unsigned char *p = (const unsigned char *)utf8;
	size_t i = 0;
	while (i < len) {
		uint32_t cp = 0;
		size_t n = utf8_decode(p + i, len - i, &cp);
		bool bad = n == 0;
		if (bad)
			n = 1; /* each byte that is not UTF-8 becomes one 〓 */
		char ch[4];
		memcpy(ch, p + i, n);
		size_t chn = n;
		char fw[4];
		if (n == 3 && kana_full(cp, fw)) {
			memcpy(ch, fw, 3);
			chn = 3;
		}
		i += n;
		unsigned char sj[8];
		char *ip = ch, *op = (char *)sj;
		size_t il = chn, ol = sizeof(sj);
		iconv(cd, NULL, NULL, NULL, NULL);
		if (bad || iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
			memcpy(sj, "\x81\xAC", 2); /* 〓 */
			op = (char *)sj + 2;
			lost++;
		}
		size_t sl = (size_t)(op - (char *)sj);
		if (sl == 1 && sj[0] < 0x80) {
			if (kanji) {
				strbuf_append(&o, "\x1B(B", 3);
				kanji = false;
			}
			strbuf_putc(&o, (char)sj[0]);
			continue;
		}
		if (sl != 2 || sj[0] >= 0xF0) { /* half-width kana left over, user area, IBM FA..FC */
			memcpy(sj, "\x81\xAC", 2);
			lost++;
		}
		unsigned c1 = sj[0], c2 = sj[1];
		if (c1 >= 0xE0)
			c1 -= 0x40;
		c1 = (c1 - 0x81) * 2 + 0x21;
		if (c2 >= 0x9F) {
			c1++;
			c2 -= 0x7E;
		} else {
			c2 -= (c2 >= 0x80 ? 0x20 : 0x1F);
		}
		if (!kanji) {
			strbuf_append(&o, "\x1B$B", 3);
			kanji = true;
		}
		char b[2] = {(char)c1, (char)c2};
		strbuf_append(&o, b, 2);
	}
	if (kanji)
		strbuf_append(&o, "\x1B(B", 3);
	cd_put("CP932", "UTF-8", cd);
	strbuf_putc(&o, '\0');
	o.len--;
	*ret_len = o.len;
	*ret = strbuf_steal(&o);
	*ret_lost = lost;
	return 0;
}
