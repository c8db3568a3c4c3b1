/* san_blob: encoded payloads in text (see san_blob.h).
 *
 * Contract: one pass over the lines of the text; a detector either claims
 * a run of lines (a block, handed to the callback and replaced) or leaves
 * them to be copied, with single long base64 words inside a copied line
 * checked on their own.  Decoding works on scratch strbufs freed before
 * returning; nothing is kept between calls.  Errors: -E2BIG past the block
 * cap, -ENOMEM, or the callback's. */
#include "sanitizer/san_blob.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "sanitizer/san_charset.h"

/* base64 of base64 of base64 of a file is found; a fourth level is not
 * worth its cost (each level is 3/4 of the one above). */
#define MAX_DEPTH 3
/* A word inside prose is looked at from this many base64 characters on
 * (48 decoded bytes and more: below SAN_BLOB_MIN it could never count). */
#define WORD_MIN 86

const char *san_blob_kind_name(enum san_blob_kind k)
{
	switch (k) {
	case SAN_BLOB_UUENCODE:
		return "uuencode";
	case SAN_BLOB_YENC:
		return "yenc";
	case SAN_BLOB_BINHEX:
		return "binhex";
	case SAN_BLOB_BASE64:
		return "base64";
	case SAN_BLOB_HEX:
		return "hex";
	case SAN_BLOB_QP:
		return "quoted-printable";
	}
	return "encoded";
}

/* ---- what text is not ------------------------------------------------ */

static const struct {
	const char *sig;
	size_t n;
} SIGNATURES[] = {
	{"MZ", 2},
	{"PK\3\4", 4},
	{"PK\5\6", 4},
	{"PK\7\10", 4},
	{"\177ELF", 4},
	{"%PDF", 4},
	{"%!", 2},
	{"{\\rtf", 5},
	{"\320\317\021\340", 4},
	{"Rar!", 4},
	{"7z\274\257", 4},
	{"\037\213", 2},
	{"BZh", 3},
	{"\3757zXZ", 5},
	{"\312\376\272\276", 4},
	{"\317\372\355\376", 4},
	{"\316\372\355\376", 4},
	{"MSCF", 4},
	{"ITSF", 4},
	{"L\0\0\0\1\24\2\0", 8},
	{"\211PNG", 4},
	{"GIF8", 4},
	{"\377\330\377", 3},
	{"II*\0", 4},
	{"MM\0*", 4},
	{"#!", 2},
	{"-lh", 3},
	{"\x78\x9c", 2},
};

/* Case-insensitive markers of active markup; any of them sends a "text"
 * part to libmagic, and makes a decoded block a payload. */
static const char *const MARKUP[] = {
	"<html",  "<!doctype", "<script", "<body",     "<head", "<iframe", "<svg",    "<object",
	"<embed", "<meta",     "<form",   "<frameset", "<?php", "<hta:",   "<applet",
};

/* What a script for a Windows script host, PowerShell or a browser
 * dropper says, whatever it is declared as; case-insensitive. */
static const char *const SCRIPT[] = {
	"createobject(",
	"wscript.",
	"activexobject",
	"shell.application",
	"-encodedcommand",
	"new-object net.webclient",
	"invoke-expression",
	"downloadstring(",
	"frombase64string(",
	"mshta ",
	"regsvr32 ",
	"rundll32 ",
	"certutil -decode",
	"on error resume next",
	"eval(unescape",
	"eval(atob",
	"string.fromcharcode(",
	"document.write(unescape",
};

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* The first two bytes of the patterns, as a bit per pair (8 KiB), built
 * once per process. */
static uint32_t script_pairs[65536 / 32];
static pthread_once_t script_once = PTHREAD_ONCE_INIT;

static void script_init(void)
{
	for (size_t k = 0; k < sizeof(SCRIPT) / sizeof(SCRIPT[0]); k++) {
		unsigned v = (unsigned char)SCRIPT[k][0] << 8 | (unsigned char)SCRIPT[k][1];
		script_pairs[v / 32] |= 1u << (v % 32);
	}
}

/* One pass: a position is compared with the patterns only when its first
 * two bytes, lower-cased, start one of them, so a text part costs about a
 * nanosecond a byte. */
static bool has_script(const unsigned char *p, size_t n)
{
	pthread_once(&script_once, script_init);
	if (n > 65536)
		n = 65536;
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] >= 0x80 || p[i + 1] >= 0x80)
			continue; /* patterns are ASCII */
		unsigned char c = lower(p[i]);
		unsigned v = (unsigned)c << 8 | lower(p[i + 1]);
		if (!(script_pairs[v / 32] & (1u << (v % 32))))
			continue;
		for (size_t k = 0; k < sizeof(SCRIPT) / sizeof(SCRIPT[0]); k++) {
			const char *w = SCRIPT[k];
			if ((unsigned char)w[0] != c)
				continue;
			size_t j = 1;
			while (w[j] && i + j < n && lower(p[i + j]) == (unsigned char)w[j])
				j++;
			if (!w[j])
				return true;
		}
	}
	return false;
}

static bool has_markup(const unsigned char *p, size_t n)
{
	if (n > 65536)
		n = 65536;
	for (const unsigned char *q = p; (q = memchr(q, '<', n - (size_t)(q - p))); q++)
		for (size_t i = 0; i < sizeof(MARKUP) / sizeof(MARKUP[0]); i++) {
			size_t l = strlen(MARKUP[i]);
			if ((size_t)(p + n - q) >= l && strncasecmp((const char *)q, MARKUP[i], l) == 0)
				return true;
		}
	return false;
}

const char *san_blob_binary_doubt(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	if (!len)
		return NULL;
	size_t start = 0;
	if (len >= 3 && memcmp(p, "\357\273\277", 3) == 0)
		start = 3; /* a UTF-8 BOM */
	while (start < len && (p[start] == ' ' || p[start] == '\t' || p[start] == '\r' || p[start] == '\n'))
		start++;
	/* controls that text does not hold: C0 but TAB LF FF CR SO SI ESC,
	 * and DEL; NUL apart */
	static const bool CTL[128] = {
		[1] = 1,  [2] = 1,  [3] = 1,  [4] = 1,  [5] = 1,  [6] = 1,  [7] = 1,   [8] = 1,  [11] = 1,
		[16] = 1, [17] = 1, [18] = 1, [19] = 1, [20] = 1, [21] = 1, [22] = 1,  [23] = 1, [24] = 1,
		[25] = 1, [26] = 1, [28] = 1, [29] = 1, [30] = 1, [31] = 1, [127] = 1,
	};
	if (memchr(p, 0, len))
		return "nul";
	size_t ctl = 0;
	for (size_t i = 0; i < len; i++)
		ctl += p[i] < 0x80 && CTL[p[i]];
	for (size_t i = 0; i < sizeof(SIGNATURES) / sizeof(SIGNATURES[0]); i++)
		if (len - start >= SIGNATURES[i].n && memcmp(p + start, SIGNATURES[i].sig, SIGNATURES[i].n) == 0)
			return "signature";
	if (ctl * 100 > len)
		return "control";
	return NULL;
}

const char *san_blob_text_doubt(const void *buf, size_t len)
{
	const char *why = san_blob_binary_doubt(buf, len);
	if (why || !len)
		return why;
	if (has_markup(buf, len))
		return "markup";
	if (has_script(buf, len))
		return "script";
	return NULL;
}

/* ---- lines ------------------------------------------------------------ */


struct line {
	const char *p; /* content after the quote prefix */
	size_t n;      /* without the line end and trailing white space */
	size_t lead;   /* length of the quote prefix */
	size_t rawn;   /* length from the prefix to the line end, CR excluded */
	size_t start;  /* offset of the line */
	size_t next;   /* offset of the next line */
};

static struct line line_at(const char *t, size_t len, size_t i)
{
	struct line l = {.start = i};
	const char *nl = memchr(t + i, '\n', len - i);
	size_t e = nl ? (size_t)(nl - t) : len;
	l.next = nl ? e + 1 : len;
	size_t s = i;
	/* "> " quoting, indentation: a reader that wants the block strips them */
	while (s < e && (t[s] == ' ' || t[s] == '\t' || t[s] == '>'))
		s++;
	l.lead = s - i;
	if (e > s && t[e - 1] == '\r')
		e--;
	l.rawn = e - s;
	while (e > s && (t[e - 1] == ' ' || t[e - 1] == '\t'))
		e--;
	l.p = t + s;
	l.n = e - s;
	return l;
}

/* A uuencoded line at offset at: after the same quote prefix as first's
 * (or none), nothing else stripped -- uuencoded lines may start with '>'
 * or a space and end in spaces.  Decoded into out; false when it is not
 * one. */
static bool uu_at(const char *t, size_t len, const struct line *first, size_t at, bool strict, struct strbuf *out,
		  struct line *ret);

static bool starts(const struct line *l, const char *w)
{
	size_t n = strlen(w);
	return l->n >= n && strncasecmp(l->p, w, n) == 0;
}

/* ---- decoders ---------------------------------------------------------- */

/* base64 values of both alphabets, -1 elsewhere; '=' is -2 (a base64
 * character with no value).  Filled by hand: a table is what makes the
 * per-character scans of every text line cheap. */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const int8_t B64[256] = {
	R16(-1), R16(-1), -1,      -1,      -1,      -1,      -1, -1, -1, -1, -1, -1, -1, 62, -1, 62,      -1,
	63,                                                                                           /* + - / */
	52,      53,      54,      55,      56,      57,      58, 59, 60, 61, -1, -1, -1, -2, -1, -1, /* 0-9 = */
	-1,      0,       1,       2,       3,       4,       5,  6,  7,  8,  9,  10, 11, 12, 13, 14,      15,
	16,      17,      18,      19,      20,      21,      22, 23, 24, 25, -1, -1, -1, -1, 63, /* _ */
	-1,      26,      27,      28,      29,      30,      31, 32, 33, 34, 35, 36, 37, 38, 39, 40,      41,
	42,      43,      44,      45,      46,      47,      48, 49, 50, 51, -1, -1, -1, -1, -1, R16(-1), R16(-1),
	R16(-1), R16(-1), R16(-1), R16(-1), R16(-1), R16(-1),
};

static int8_t b64_value(unsigned char c)
{
	return B64[c] >= 0 ? B64[c] : -1;
}

static bool b64_char(unsigned char c)
{
	return B64[c] != -1;
}

static bool hex_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_value(unsigned char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* Six bits a character (value() < 0: not one, skipped) packed into
 * bytes: base64 and BinHex differ only in their alphabet. */
static void sixbit_decode(const char *p, size_t n, int (*value)(unsigned char), struct strbuf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = value((unsigned char)p[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			strbuf_putc(out, (char)((acc >> bits) & 0xff));
		}
	}
}

static int b64_sixbit(unsigned char c)
{
	return b64_value(c);
}

/* base64 as lenient readers decode it: every other byte, padding
 * included, is skipped, so padding and white space games change nothing. */
static void b64_decode(const char *p, size_t n, struct strbuf *out)
{
	sixbit_decode(p, n, b64_sixbit, out);
}

static void hex_decode(const char *p, size_t n, struct strbuf *out)
{
	int hi = -1;
	for (size_t i = 0; i < n; i++) {
		if (!hex_char((unsigned char)p[i]))
			continue;
		unsigned v = hex_value((unsigned char)p[i]);
		if (hi < 0)
			hi = (int)v;
		else {
			strbuf_putc(out, (char)(hi << 4 | (int)v));
			hi = -1;
		}
	}
}

/* One uuencoded line (count character first).  strict: the length must
 * be what the count says (headerless runs); otherwise missing characters
 * count as zero, as lenient decoders do.  Characters 0x60-0x7f decode
 * like 0x40-0x5f (backtick for zero, the lowercase "twin" alphabet). */
static bool uu_line(const char *l, size_t n, bool strict, struct strbuf *out)
{
	if (n == 0)
		return !strict;
	unsigned char c0 = (unsigned char)l[0];
	if (c0 < 0x20 || c0 > 0x7f)
		return false;
	unsigned cnt = (c0 - 0x20u) & 0x3f;
	size_t need = (cnt + 2) / 3 * 4;
	if (strict && (cnt == 0 || n < 1 + need || n > 2 + need))
		return false;
	/* after a "begin" line: trailing spaces (zeros) may have been stripped
	 * in transport, so a line may be shorter than its count says */
	if (!strict && n > 2 + need)
		return false;
	/* a shortened line comes from the space-for-zero variant, which never
	 * uses the twin (lower case) characters */
	unsigned char top = !strict && n < 1 + need ? 0x60 : 0x7f;
	for (size_t k = 1; k < n; k++)
		if ((unsigned char)l[k] < 0x20 || (unsigned char)l[k] > top)
			return false;
	for (size_t k = 0; k * 3 < cnt; k++) {
		unsigned char q[4];
		for (int j = 0; j < 4; j++) {
			size_t at = 1 + k * 4 + (size_t)j;
			q[j] = at < n ? (unsigned char)l[at] : ' ';
		}
		unsigned v = ((q[0] - 0x20u) & 0x3f) << 18 | ((q[1] - 0x20u) & 0x3f) << 12 |
			((q[2] - 0x20u) & 0x3f) << 6 | ((q[3] - 0x20u) & 0x3f);
		char t[3] = {(char)(v >> 16), (char)(v >> 8), (char)v};
		strbuf_append(out, t, cnt - k * 3 < 3 ? cnt - k * 3 : 3);
	}
	return true;
}

static bool uu_at(const char *t, size_t len, const struct line *first, size_t at, bool strict, struct strbuf *out,
		  struct line *ret)
{
	*ret = line_at(t, len, at);
	size_t e = ret->start + ret->lead + ret->rawn;
	if (first->lead && e - ret->start >= first->lead &&
	    memcmp(t + ret->start, t + first->start, first->lead) == 0 &&
	    uu_line(t + ret->start + first->lead, e - ret->start - first->lead, strict, out))
		return true;
	return uu_line(t + ret->start, e - ret->start, strict, out);
}

static bool qp_line(const struct line *l)
{
	size_t esc = 0;
	for (size_t i = 0; i < l->n; i++) {
		unsigned char c = (unsigned char)l->p[i];
		if (c < 0x20 || c > 0x7e)
			return false;
		if (c == '=' && i + 2 < l->n && hex_char((unsigned char)l->p[i + 1]) &&
		    hex_char((unsigned char)l->p[i + 2]))
			esc++;
	}
	/* Encoded binary is mostly escapes; a line of text with a few "=58"
	 * (URL query strings, Latin-1 prose in QP) is not what a payload
	 * looks like. */
	bool dense = esc * 3 * 4 >= l->n;
	return dense && (esc >= 3 || (esc >= 1 && l->n && l->p[l->n - 1] == '='));
}

static void qp_decode_line(const struct line *l, struct strbuf *out)
{
	size_t n = l->n;
	bool soft = n && l->p[n - 1] == '=';
	if (soft)
		n--;
	for (size_t i = 0; i < n; i++) {
		if (l->p[i] == '=' && i + 2 < n && hex_char((unsigned char)l->p[i + 1]) &&
		    hex_char((unsigned char)l->p[i + 2])) {
			strbuf_putc(out,
				    (char)(hex_value((unsigned char)l->p[i + 1]) << 4 |
					   hex_value((unsigned char)l->p[i + 2])));
			i += 2;
		} else {
			strbuf_putc(out, l->p[i]);
		}
	}
	if (!soft)
		strbuf_putc(out, '\n');
}

static const char BINHEX[] = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

static int binhex_value(unsigned char c)
{
	const char *q = c ? strchr(BINHEX, c) : NULL;
	return q ? (int)(q - BINHEX) : -1;
}

/* BinHex 4.0 data (between the colons) into out: 6-bit characters, the
 * 0x90 run-length code (expansion capped at cap bytes: a run bomb stops
 * there), then the header -- the file name is returned in name -- and the
 * data fork.  When the header does not parse, out keeps all decoded bytes. */
static void binhex_decode(const char *p, size_t n, size_t cap, struct strbuf *out, char *name, size_t namelen)
{
	struct strbuf raw = STRBUF_INIT;
	sixbit_decode(p, n, binhex_value, &raw);
	struct strbuf x = STRBUF_INIT;
	unsigned char prev = 0;
	for (size_t i = 0; i < raw.len && x.len < cap; i++) {
		unsigned char c = (unsigned char)raw.buf[i];
		if (c == 0x90 && i + 1 < raw.len) {
			unsigned char k = (unsigned char)raw.buf[++i];
			if (k == 0) {
				strbuf_putc(&x, (char)0x90);
				prev = 0x90;
				continue;
			}
			for (unsigned j = 1; j < k && x.len < cap; j++)
				strbuf_putc(&x, (char)prev);
			continue;
		}
		strbuf_putc(&x, (char)c);
		prev = c;
	}
	strbuf_free(&raw);
	const unsigned char *h = (const unsigned char *)x.buf;
	size_t nl = x.len ? h[0] : 0;
	if (x.len && nl >= 1 && nl <= 63 && x.len >= 1 + nl + 1 + 20) {
		const unsigned char *f = h + 1 + nl + 1;
		uint32_t dlen = (uint32_t)f[10] << 24 | (uint32_t)f[11] << 16 | (uint32_t)f[12] << 8 | f[13];
		size_t off = 1 + nl + 1 + 20;
		snprintf(name, namelen, "%.*s", (int)nl, (const char *)h + 1);
		size_t take = dlen <= x.len - off ? dlen : x.len - off;
		strbuf_append(out, x.buf + off, take);
	} else {
		strbuf_append(out, x.buf ? x.buf : "", x.len);
	}
	strbuf_free(&x);
}

/* ---- the scan ------------------------------------------------------------ */

struct scan {
	const char *t;
	size_t len;
	int depth;
	san_blob_fn *fn;
	void *arg;
	struct strbuf *out; /* NULL: only find out whether there is a block */
	size_t max, count;
	int err;
};

static int scan_text(const char *t, size_t len, int depth, san_blob_fn *fn, void *arg, struct strbuf *out, size_t max);

/* Decoded bytes that make a headerless candidate a block.  Text in a
 * legacy 8-bit charset (Latin-1 in quoted-printable, Shift_JIS in base64)
 * is text: what marks a file is a NUL, control bytes (random or
 * compressed bytes are one eighth controls), a signature or markup. */
static bool payload(const unsigned char *p, size_t n, int depth)
{
	if (n <= SAN_BLOB_MIN)
		return false;
	if (san_blob_text_doubt(p, n))
		return true;
	return depth + 1 < MAX_DEPTH && scan_text((const char *)p, n, depth + 1, NULL, NULL, NULL, 1) > 0;
}

/* Hand a block to the callback (or just count it).  false: stop. */
static bool emit_block(struct scan *s, enum san_blob_kind kind, const char *name, const struct strbuf *data)
{
	if (s->count >= s->max) {
		s->err = -E2BIG;
		return false;
	}
	s->count++;
	if (!s->out)
		return false; /* found one: that is all a probe asks */
	struct san_blob b = {.kind = kind,
			     .name = name ? name : "",
			     .data = (const unsigned char *)(data->buf ? data->buf : ""),
			     .len = data->len};
	int r = s->fn(s->arg, &b, s->out);
	if (r < 0) {
		s->err = r;
		return false;
	}
	return true;
}

/* base64 class of a character for the "noise" measure: random base64
 * changes class (upper, lower, digit, symbol) at about two positions in
 * three, prose almost never inside a word. */
static int cls(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return 0;
	if (c >= 'a' && c <= 'z')
		return 1;
	if (c >= '0' && c <= '9')
		return 2;
	return 3;
}

/* 0: not a base64 line; 1: may continue a run (base64 characters only,
 * one word or noisy words); 2: may start one (also 16 characters or more
 * and noisy: a separator line of one repeated character never starts a
 * run, a line of 'A's -- zero bytes -- may continue one). */
struct shape {
	size_t chars, pairs, changes;
};

static int b64_line_shape(const struct line *l, struct shape *sh)
{
	size_t chars = 0, words = 0, changes = 0, k = 0, odd = 0, shortest = SIZE_MAX;
	bool hexonly = true;
	for (size_t i = 0; i < l->n; i++) {
		unsigned char c = (unsigned char)l->p[i];
		if (c == ' ' || c == '\t') {
			if (k && k != 4)
				odd++; /* a word that is not a group of four */
			if (k && k < shortest)
				shortest = k;
			k = 0;
			continue;
		}
		if (!b64_char(c))
			return 0;
		if (c == '=')
			continue;
		if (!hex_char(c))
			hexonly = false;
		if (k == 0)
			words++;
		else if (cls(c) != cls((unsigned char)l->p[i - 1]) &&
			 !(k == 1 && cls((unsigned char)l->p[i - 1]) == 0 && cls(c) == 1))
			changes++;
		k++;
		chars++;
	}
	if (chars == 0)
		return 0;
	if (k && k < shortest)
		shortest = k;
	/* a rule of one punctuation character ("-----", "_____", the
	 * notice's own separator) is never part of a run */
	bool rule = true;
	for (size_t i = 0; rule && i < l->n; i++)
		rule = l->p[i] == l->p[0] || l->p[i] == ' ' || l->p[i] == '\t';
	if (rule && cls((unsigned char)l->p[0]) == 3)
		return 0;
	size_t pairs = chars - words;
	/* a word ("Hello", "regards") counts for the line but not for the
	 * shape of a run: lists of words one per line are prose */
	bool word = words == 1 && changes == 0 && !hexonly;
	for (size_t i = 0; word && i < l->n; i++)
		word = cls((unsigned char)l->p[i]) <= 1;
	if (sh && !word) {
		sh->chars += chars;
		sh->pairs += hexonly ? chars : pairs;
		sh->changes += hexonly ? chars : changes;
	}
	bool noisy = hexonly || (pairs > 0 && changes * 4 >= pairs);
	/* base64 written in groups of four ("TVoA AAAA AAAA ..."), or lines
	 * joined with a space (HTML white space collapsing does that) */
	bool grouped = (words > 2 && odd == 0) || shortest >= 16;
	if (words > 1 && !noisy && !grouped)
		return 0;
	/* two case changes inside a word: "TVqQAAAA...", the line of zeros
	 * that starts most executables, against "Donaudampfschiff..." */
	return (noisy || changes >= 2) && chars >= 16 ? 2 : 1;
}

static int b64_line(const struct line *l)
{
	return b64_line_shape(l, NULL);
}

static bool all_hex(const char *p, size_t n, size_t *ret_digits)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (hex_char(c))
			d++;
		else if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '>')
			return false;
	}
	*ret_digits = d;
	return true;
}

/* Decode a base64 (or hex) candidate and decide. */
static bool b64_candidate(const char *p, size_t n, int depth, struct strbuf *data, enum san_blob_kind *kind)
{
	size_t digits;
	if (all_hex(p, n, &digits) && digits >= 2) {
		hex_decode(p, n, data);
		*kind = SAN_BLOB_HEX;
	} else {
		b64_decode(p, n, data);
		*kind = SAN_BLOB_BASE64;
	}
	return payload((const unsigned char *)data->buf, data->len, depth);
}

/* The length of the field name when the line is a MIME header field
 * ("Content-Type:", "Content-Transfer-Encoding :", "MIME-Version:"),
 * else 0.  (A bracketed one, "[Content-Type]:", is not.) */
static size_t mime_header(const struct line *l)
{
	size_t k, name;
	if (l->n > 8 && strncasecmp(l->p, "content-", 8) == 0) {
		k = 8;
		while (k < l->n && (isalnum((unsigned char)l->p[k]) || l->p[k] == '-'))
			k++;
	} else if (l->n > 12 && strncasecmp(l->p, "mime-version", 12) == 0) {
		k = 12;
	} else {
		return 0;
	}
	name = k;
	while (k < l->n && (l->p[k] == ' ' || l->p[k] == '\t'))
		k++;
	return k < l->n && l->p[k] == ':' ? name : 0;
}

/* Copy one line, checking each run of base64 characters in it on its
 * own: alone, in quotes, after "data:...;base64," in a URL. */
static bool copy_line(struct scan *s, const struct line *l)
{
	const char *t = s->t, *e = t + l->next;
	size_t done = l->start;
	for (const char *w = t + l->start; w < e;) {
		while (w < e && !b64_char((unsigned char)*w))
			w++;
		const char *we = w;
		while (we < e && b64_char((unsigned char)*we))
			we++;
		struct line wl = {.p = w, .n = (size_t)(we - w)};
		if (wl.n >= WORD_MIN && b64_line(&wl) == 2) {
			struct strbuf data = STRBUF_INIT;
			enum san_blob_kind kind;
			bool hit = b64_candidate(w, wl.n, s->depth, &data, &kind);
			if (hit) {
				if (s->out)
					strbuf_append(s->out, t + done, (size_t)(w - (t + done)));
				bool go = emit_block(s, kind, NULL, &data);
				done = (size_t)(we - t);
				strbuf_free(&data);
				if (!go)
					return false;
			} else {
				strbuf_free(&data);
			}
		}
		w = we;
	}
	if (s->out)
		strbuf_append(s->out, t + done, l->next - done);
	return true;
}

static bool copy_lines(struct scan *s, size_t from, size_t to)
{
	while (from < to) {
		struct line l = line_at(s->t, s->len, from);
		if (!copy_line(s, &l))
			return false;
		from = l.next;
	}
	return true;
}

/* A detector's block of whole lines: handed on (its replacement line
 * ends like a line), data freed.  Returns next, or SIZE_MAX to stop. */
static size_t line_block(struct scan *s, enum san_blob_kind kind, const char *name, struct strbuf *data, size_t next)
{
	bool go = emit_block(s, kind, name, data);
	strbuf_free(data);
	if (!go)
		return SIZE_MAX;
	if (s->out)
		strbuf_putc(s->out, '\n');
	return next;
}

/* "begin MODE NAME" (mode: 1 to 6 octal digits) or "begin-base64 MODE NAME". */
static bool uu_begin(const struct line *l, bool *b64, char *name, size_t namelen)
{
	size_t k;
	if (starts(l, "begin-base64 ")) {
		*b64 = true;
		k = 13;
	} else if (starts(l, "begin ")) {
		*b64 = false;
		k = 6;
	} else
		return false;
	size_t d = 0;
	while (k < l->n && l->p[k] >= '0' && l->p[k] <= '7') {
		k++;
		d++;
	}
	if (d < 1 || d > 6 || k >= l->n || l->p[k] != ' ')
		return false;
	snprintf(name, namelen, "%.*s", (int)(l->n - k - 1), l->p + k + 1);
	return true;
}

/* Each detector returns the offset after what it claimed, or 0. */

static size_t try_uu(struct scan *s, const struct line *l0)
{
	bool b64;
	char name[256];
	if (!uu_begin(l0, &b64, name, sizeof(name)))
		return 0;
	struct strbuf data = STRBUF_INIT;
	size_t i = l0->next, lines = 0;
	bool ended = false;
	while (i < s->len) {
		struct line l = line_at(s->t, s->len, i);
		if (b64 ? (l.n == 4 && memcmp(l.p, "====", 4) == 0) : (l.n == 3 && memcmp(l.p, "end", 3) == 0)) {
			i = l.next;
			ended = true;
			break;
		}
		if (l.n == 0) {
			/* a zero-count line whose space was stripped, if "end" follows */
			struct line e = line_at(s->t, s->len, l.next);
			if (l.next < s->len && !b64 && e.n == 3 && memcmp(e.p, "end", 3) == 0) {
				i = e.next;
				ended = true;
			}
			break;
		}
		struct line u;
		if (b64 ? !b64_line(&l) : !uu_at(s->t, s->len, l0, i, false, &data, &u))
			break;
		if (b64)
			b64_decode(l.p, l.n, &data);
		lines++;
		i = l.next;
	}
	/* "begin 644 x" followed by prose is prose */
	if (!lines && !ended) {
		strbuf_free(&data);
		return 0;
	}
	return line_block(s, b64 ? SAN_BLOB_BASE64 : SAN_BLOB_UUENCODE, name, &data, i);
}

static size_t try_yenc(struct scan *s, const struct line *l0)
{
	if (!starts(l0, "=ybegin"))
		return 0;
	char name[256] = "";
	const char *nm = NULL;
	for (size_t k = 0; k + 5 <= l0->n; k++)
		if (strncasecmp(l0->p + k, " name=", 6) == 0) {
			nm = l0->p + k + 6;
			break;
		}
	if (nm)
		snprintf(name, sizeof(name), "%.*s", (int)(l0->p + l0->n - nm), nm);
	struct strbuf data = STRBUF_INIT;
	size_t i = l0->next;
	while (i < s->len) {
		const char *nl = memchr(s->t + i, '\n', s->len - i);
		size_t e = nl ? (size_t)(nl - s->t) : s->len, next = nl ? e + 1 : s->len;
		if (e - i >= 5 && strncasecmp(s->t + i, "=yend", 5) == 0) {
			i = next;
			break;
		}
		if (!(e - i >= 6 && strncasecmp(s->t + i, "=ypart", 6) == 0)) {
			for (size_t k = i; k < e; k++) {
				unsigned char c = (unsigned char)s->t[k];
				if (c == '\r')
					continue;
				if (c == '=' && k + 1 < e)
					c = (unsigned char)(s->t[++k] - 64);
				strbuf_putc(&data, (char)(c - 42));
			}
		}
		i = next;
	}
	return line_block(s, SAN_BLOB_YENC, name, &data, i);
}

static bool binhex_data_line(const struct line *l)
{
	if (l->n < 64 || l->p[0] != ':')
		return false;
	for (size_t k = 1; k < l->n; k++)
		if (l->p[k] != ':' && binhex_value((unsigned char)l->p[k]) < 0)
			return false;
	return true;
}

static size_t try_binhex(struct scan *s, const struct line *l0)
{
	if (l0->p[0] != '(' && l0->p[0] != ':')
		return 0; /* both forms start so */
	bool marker = l0->n >= 40 && memmem(l0->p, l0->n, "converted with BinHex", 21) != NULL;
	if (!marker && !binhex_data_line(l0))
		return 0;
	size_t i = marker ? l0->next : l0->start;
	/* the data: from the first ':' to the next one */
	size_t from = 0, to = 0;
	while (i < s->len) {
		struct line l = line_at(s->t, s->len, i);
		i = l.next;
		if (!from) {
			if (!l.n)
				continue;
			if (l.p[0] != ':')
				break;
			from = (size_t)(l.p - s->t) + 1;
			const char *c = memchr(l.p + 1, ':', l.n - 1);
			if (c) {
				to = (size_t)(c - s->t);
				break;
			}
			continue;
		}
		const char *c = memchr(l.p, ':', l.n);
		if (c) {
			to = (size_t)(c - s->t);
			break;
		}
		bool ok = true;
		for (size_t k = 0; k < l.n && ok; k++)
			ok = binhex_value((unsigned char)l.p[k]) >= 0;
		if (!ok) {
			to = l.start;
			i = l.start;
			break;
		}
	}
	if (!from) {
		if (!marker)
			return 0;
		i = l0->next; /* the marker line alone still goes */
		from = to = l0->next;
	}
	if (!to)
		to = s->len;
	struct strbuf data = STRBUF_INIT;
	char name[64] = "";
	binhex_decode(s->t + from, to - from, (to - from) * 4 + ((size_t)1 << 20), &data, name, sizeof(name));
	return line_block(s, SAN_BLOB_BINHEX, name, &data, i);
}

/* Headerless uuencode: two or more lines whose length is what their
 * count character says. */
static size_t try_uu_run(struct scan *s, const struct line *l0)
{
	if (!l0->lead) {
		/* the usual case, a line that is not a count line: no copy */
		size_t cnt = ((unsigned char)l0->p[0] - 0x20u) & 0x3f, need = (cnt + 2) / 3 * 4;
		if (!cnt || l0->rawn < 1 + need || l0->rawn > 2 + need)
			return 0;
	}
	struct strbuf data = STRBUF_INIT;
	size_t i = l0->start, lines = 0, chars = 0, lower = 0;
	while (i < s->len) {
		struct line l;
		if (!uu_at(s->t, s->len, l0, i, true, &data, &l))
			break;
		for (size_t k = 0; k < l.n; k++)
			lower += l.p[k] >= 'a' && l.p[k] <= 'z';
		chars += l.n;
		lines++;
		i = l.next;
	}
	/* Prose hard-wrapped at the right width can look like count lines;
	 * it is mostly lower case, which uuencode (even the twin alphabet,
	 * about 40 %) is not. */
	if (lines < 2 || lower * 100 > chars * 55 || !payload((const unsigned char *)data.buf, data.len, s->depth)) {
		strbuf_free(&data);
		return 0;
	}
	return line_block(s, SAN_BLOB_UUENCODE, NULL, &data, i);
}

static size_t try_qp(struct scan *s, const struct line *l0)
{
	if (!memchr(l0->p, '=', l0->n) || !qp_line(l0))
		return 0;
	struct strbuf data = STRBUF_INIT;
	size_t i = l0->start;
	while (i < s->len) {
		struct line l = line_at(s->t, s->len, i);
		if (!qp_line(&l))
			break;
		qp_decode_line(&l, &data);
		i = l.next;
	}
	if (!payload((const unsigned char *)data.buf, data.len, s->depth)) {
		strbuf_free(&data);
		/* text after all: copied, and not looked at again */
		return copy_lines(s, l0->start, i) ? i : SIZE_MAX;
	}
	return line_block(s, SAN_BLOB_QP, NULL, &data, i);
}

/* A run of base64 lines: started by a strong line, or made of short
 * lines ("UEsD" / "BBQA" / ...) that are noisy taken together -- a list
 * of words one per line is not. */
static size_t try_b64_run(struct scan *s, const struct line *l0)
{
	struct shape sh = {0};
	int first = b64_line_shape(l0, &sh);
	if (!first)
		return 0;
	bool strong = first == 2;
	size_t i = l0->next, end = l0->next;
	while (i < s->len) {
		struct line l = line_at(s->t, s->len, i);
		if (l.n == 0) {
			i = l.next;
			continue;
		} /* blank lines inside the run */
		if (qp_line(&l))
			break;
		int k = b64_line_shape(&l, &sh);
		if (!k)
			break;
		strong |= k == 2;
		i = end = l.next;
	}
	if (!strong && (sh.chars < WORD_MIN || sh.changes * 4 < sh.pairs))
		return copy_lines(s, l0->start, end) ? end : SIZE_MAX; /* not looked at again */
	struct strbuf data = STRBUF_INIT;
	enum san_blob_kind kind;
	if (!b64_candidate(s->t + l0->start, end - l0->start, s->depth, &data, &kind)) {
		strbuf_free(&data);
		return copy_lines(s, l0->start, end) ? end : SIZE_MAX;
	}
	return line_block(s, kind, NULL, &data, end);
}

static int scan_text(const char *t, size_t len, int depth, san_blob_fn *fn, void *arg, struct strbuf *out, size_t max)
{
	struct scan s = {.t = t, .len = len, .depth = depth, .fn = fn, .arg = arg, .out = out, .max = max};
	size_t (*const detectors[])(struct scan *, const struct line *) = {
		try_uu, try_yenc, try_binhex, try_uu_run, try_qp, try_b64_run,
	};
	size_t i = 0;
	while (i < len) {
		struct line l = line_at(t, len, i);
		size_t next = 0;
		/* every kind starts on a line whose first byte is ASCII: a
		 * Japanese line is only copied (with its inline runs checked) */
		bool ascii = l.n && (unsigned char)l.p[0] < 0x80;
		for (size_t d = 0; ascii && d < sizeof(detectors) / sizeof(detectors[0]) && !next; d++)
			next = detectors[d](&s, &l);
		if (next == SIZE_MAX)
			break;
		if (!next) {
			if (!copy_line(&s, &l))
				break;
			next = l.next;
		}
		i = next;
	}
	if (s.err && !(s.err == -E2BIG && !out))
		return s.err;
	return (int)s.count;
}

/* The text with every MIME header field's name bracketed
 * ("[Content-Type]: ..."): ripmime takes such lines inside a decoded text
 * body for the start of a part and decodes what follows them, even with
 * the colon written "[:]".  Done before the scan, so that the scan judges
 * the text as it will be written: a second pass then finds nothing more.
 * Returns false (and leaves *ret empty) when there is no such line. */
static bool bracket_headers(const char *t, size_t len, struct strbuf *ret)
{
	size_t done = 0;
	for (size_t i = 0; i < len;) {
		struct line l = line_at(t, len, i);
		size_t name = mime_header(&l);
		if (name) {
			size_t at = (size_t)(l.p - t);
			strbuf_append(ret, t + done, at - done);
			strbuf_putc(ret, '[');
			strbuf_append(ret, l.p, name);
			strbuf_putc(ret, ']');
			done = at + name;
		}
		i = l.next;
	}
	if (!done)
		return false;
	strbuf_append(ret, t + done, len - done);
	return true;
}

/* The scan of the text as it will be written (headers bracketed). */
static int scan_top(const char *text, size_t len, san_blob_fn *fn, void *arg, struct strbuf *out, size_t max)
{
	struct strbuf b = STRBUF_INIT;
	bool br = bracket_headers(text, len, &b);
	int r = scan_text(br ? b.buf : text, br ? b.len : len, 0, fn, arg, out, max);
	strbuf_free(&b);
	return r;
}

/* Cutting a block out can change the shape of the text around it (a
 * line that held a long base64 word becomes a dense run of =XX escapes
 * that joins the lines below it): the scan is repeated on its own output
 * until a pass finds nothing, so that what is written holds no block.
 * Each further pass removes at least one block, so there are at most
 * max_blocks + 1 of them, and only text that had blocks pays for more than
 * one (found by fuzzing). */
int san_blob_strip(const char *text, size_t len, size_t max_blocks, san_blob_fn *fn, void *arg, struct strbuf *out)
{
	struct strbuf cur = STRBUF_INIT, next = STRBUF_INIT;
	int r = scan_top(text, len, fn, arg, &cur, max_blocks), total = r;
	while (r > 0) {
		r = scan_top(cur.buf, cur.len, fn, arg, &next, max_blocks - (size_t)total);
		if (r < 0) {
			total = r;
			break;
		}
		if (r == 0)
			break;
		total += r;
		strbuf_free(&cur);
		cur = next;
		next = (struct strbuf)STRBUF_INIT;
	}
	strbuf_free(&next);
	if (total >= 0 && !out->len) { /* the usual case: no copy */
		strbuf_free(out);
		*out = cur;
		return total;
	}
	if (total >= 0)
		strbuf_append(out, cur.buf ? cur.buf : "", cur.len);
	strbuf_free(&cur);
	return total;
}

bool san_blob_any(const char *text, size_t len)
{
	return scan_top(text, len, NULL, NULL, NULL, 1) > 0;
}
