/* san_blob: every kind of encoded block is found (and what it decodes to),
 * prose, URLs, digests and separators are not; san_blob_text_doubt. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "sanitizer/san_blob.h"
#include "test/check.h"
#include "test/check.h"

struct got {
	int n;
	enum san_blob_kind kind[8];
	char name[8][64];
	size_t len[8];
	unsigned char head[8][8];
};

static int cb(void *arg, const struct san_blob *b, struct strbuf *repl)
{
	struct got *g = arg;
	if (g->n < 8) {
		g->kind[g->n] = b->kind;
		snprintf(g->name[g->n], sizeof(g->name[0]), "%s", b->name);
		g->len[g->n] = b->len;
		memcpy(g->head[g->n], b->data, b->len < 8 ? b->len : 8);
	}
	g->n++;
	strbuf_puts(repl, "[X]");
	return 0;
}

/* A small "executable": MZ header, zeros, a marker, some code-like bytes. */
static void payload(unsigned char *p, size_t n)
{
	memset(p, 0, n);
	p[0] = 'M';
	p[1] = 'Z';
	p[2] = 0x90;
	for (size_t i = 64; i < n; i++)
		p[i] = (unsigned char)(i * 37 + 11);
	memcpy(p + 100, "SEKISHO-PAYLOAD", 15);
}

static char *b64(const unsigned char *p, size_t n, size_t width, const char *sep)
{
	gchar *e = g_base64_encode(p, n);
	GString *g = g_string_new(NULL);
	size_t len = strlen(e);
	for (size_t i = 0; i < len; i += width) {
		g_string_append_len(g, e + i, (gssize)(len - i < width ? len - i : width));
		g_string_append(g, sep);
	}
	g_free(e);
	return g_string_free(g, FALSE);
}

static char *uu(const unsigned char *p, size_t n, char zero, bool twin)
{
	GString *g = g_string_new(NULL);
	for (size_t i = 0; i < n; i += 45) {
		size_t k = n - i < 45 ? n - i : 45;
		g_string_append_c(g, (char)(0x20 + k));
		for (size_t j = 0; j < k; j += 3) {
			unsigned v = (unsigned)p[i + j] << 16 | (j + 1 < k ? (unsigned)p[i + j + 1] << 8 : 0) |
				(j + 2 < k ? p[i + j + 2] : 0);
			for (int s = 18; s >= 0; s -= 6) {
				unsigned c = (v >> s) & 0x3f;
				char ch = c == 0 ? zero : (char)(0x20 + c);
				/* the twin alphabet: 0x60-0x7f stand for 0-31 as 0x20-0x3f do */
				if (twin && c > 0 && c < 32)
					ch = (char)(0x60 + c);
				g_string_append_c(g, ch);
			}
		}
		g_string_append_c(g, '\n');
	}
	return g_string_free(g, FALSE);
}

static struct got run(const char *text, struct strbuf *out)
{
	struct got g = {0};
	strbuf_free(out);
	int r = san_blob_strip(text, strlen(text), 8, cb, &g, out);
	if (r != g.n)
		g.n = -100 - (r < 0 ? -r : r);
	return g;
}

int main(void)
{
	unsigned char pl[600];
	payload(pl, sizeof(pl));
	struct strbuf out = STRBUF_INIT;
	char buf[8192];

	/* base64 at several widths, inside prose, with "> " quoting, with
	 * spaces every four characters, with blank lines in between */
	struct {
		size_t width;
		const char *sep;
		const char *pre;
	} B[] = {
		{76, "\n", ""},   {64, "\n", ""},   {20, "\n", ""}, {8, "\n", ""},    {4, "\n", ""},
		{4000, "\n", ""}, {76, "\n\n", ""}, {4, " ", ""},   {76, "\n", "> "},
	};
	for (size_t i = 0; i < sizeof(B) / sizeof(B[0]); i++) {
		char *e = b64(pl, sizeof(pl), B[i].width, B[i].sep);
		GString *g = g_string_new("こんにちは。添付を送ります。\n");
		if (*B[i].pre) {
			for (char *l = strtok(e, "\n"); l; l = strtok(NULL, "\n"))
				g_string_append_printf(g, "%s%s\n", B[i].pre, l);
		} else {
			g_string_append(g, e);
			g_string_append_c(g, '\n');
		}
		g_string_append(g, "よろしくお願いします。\n");
		struct got r = run(g->str, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_BASE64 && r.len[0] == sizeof(pl) &&
			      memcmp(r.head[0], "MZ", 2) == 0,
		      "base64 width %zu sep %d pre '%s': n=%d len=%zu", B[i].width, B[i].sep[0], B[i].pre, r.n,
		      r.len[0]);
		CHECK(out.buf && strstr(out.buf, "こんにちは") && strstr(out.buf, "よろしく") &&
			      strstr(out.buf, "[X]") && !strstr(out.buf, "TVqQ"),
		      "base64 %zu replaced: %s", i, out.buf ? out.buf : "");
		g_string_free(g, TRUE);
		g_free(e);
	}
	/* one long blob pasted into a sentence, in quotes */
	{
		char *e = b64(pl, 300, 100000, "");
		snprintf(buf, sizeof(buf), "The file is \"%s\"; decode it.\n", e);
		struct got r = run(buf, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_BASE64 && r.len[0] == 300, "inline blob: %d", r.n);
		CHECK(strcmp(out.buf, "The file is \"[X]\"; decode it.\n") == 0, "inline replaced: %s", out.buf);
		g_free(e);
	}
	/* base64 of base64 of the file: decodes to text that holds a block */
	{
		char *inner = b64(pl, sizeof(pl), 76, "\n");
		char *outer = b64((const unsigned char *)inner, strlen(inner), 76, "\n");
		struct got r = run(outer, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_BASE64, "nested base64: %d", r.n);
		g_free(inner);
		g_free(outer);
	}
	/* base64 of plain text stays (nothing to extract) */
	{
		const char *t =
			"This is a perfectly ordinary sentence that somebody encoded for no reason at all, twice over.";
		char *e = b64((const unsigned char *)t, strlen(t), 76, "\n");
		struct got r = run(e, &out);
		CHECK(r.n == 0 && strcmp(out.buf, e) == 0, "base64 of text kept: %d", r.n);
		g_free(e);
	}
	/* uuencode: the classic, backtick zeros, twin alphabet, indented, no
	 * end, mode 100644, quoted */
	struct {
		char zero;
		bool twin;
		const char *begin;
		bool end;
		const char *pre;
	} U[] = {
		{'`', false, "begin 644 evil.exe", true, ""},   {' ', false, "begin 644 evil.exe", true, ""},
		{'`', true, "begin 644 evil.exe", true, ""},    {'`', false, "   begin 644 evil.exe", true, ""},
		{'`', false, "begin 644 evil.exe", false, ""},  {'`', false, "begin 100644 evil.exe", true, ""},
		{'`', false, "begin 644 evil.exe", true, "> "},
	};
	for (size_t i = 0; i < sizeof(U) / sizeof(U[0]); i++) {
		char *e = uu(pl, sizeof(pl), U[i].zero, U[i].twin);
		GString *g = g_string_new("Hello,\n");
		g_string_append_printf(g, "%s%s\n", U[i].pre, U[i].begin);
		for (char *l = strtok(e, "\n"); l; l = strtok(NULL, "\n"))
			g_string_append_printf(g, "%s%s\n", U[i].pre, l);
		if (U[i].end)
			g_string_append_printf(g, "%s`\n%send\n", U[i].pre, U[i].pre);
		g_string_append(g, "\nBye.\n");
		struct got r = run(g->str, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_UUENCODE && r.len[0] == sizeof(pl) &&
			      strcmp(r.name[0], "evil.exe") == 0 && memcmp(r.head[0], "MZ", 2) == 0,
		      "uu %zu: n=%d len=%zu name=%s", i, r.n, r.len[0], r.name[0]);
		CHECK(strstr(out.buf, "Hello,") && strstr(out.buf, "Bye.") && strstr(out.buf, "[X]"), "uu %zu text: %s",
		      i, out.buf);
		g_string_free(g, TRUE);
		g_free(e);
	}
	/* a tiny classic block: found whatever its size */
	{
		struct got r = run("hello\nbegin 644 cat.txt\n$0V%T\"@``\n`\nend\nbye\n", &out);
		CHECK(r.n == 1 && r.len[0] == 4 && memcmp(r.head[0], "Cat\n", 4) == 0 &&
			      strcmp(out.buf, "hello\n[X]\nbye\n") == 0,
		      "cat.txt: %d '%s'", r.n, out.buf);
	}
	/* headerless uuencode lines */
	{
		char *e = uu(pl, sizeof(pl), '`', false);
		struct got r = run(e, &out);
		CHECK(r.n >= 1 && r.kind[0] == SAN_BLOB_UUENCODE && strcmp(out.buf, "[X]\n") == 0,
		      "headerless uu: %d %s", r.n, out.buf);
		g_free(e);
	}
	/* begin-base64 */
	{
		char *e = b64(pl, sizeof(pl), 60, "\n");
		snprintf(buf, sizeof(buf), "begin-base64 644 a.bin\n%s====\nafter\n", e);
		struct got r = run(buf, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_BASE64 && strcmp(r.name[0], "a.bin") == 0 &&
			      r.len[0] == sizeof(pl) && strcmp(out.buf, "[X]\nafter\n") == 0,
		      "begin-base64: %d %s", r.n, out.buf);
		g_free(e);
	}
	/* yEnc */
	{
		GString *g = g_string_new("Look:\n=ybegin line=128 size=600 name=tool.exe\n");
		for (size_t i = 0; i < sizeof(pl); i++) {
			unsigned char c = (unsigned char)(pl[i] + 42);
			if (c == 0 || c == '\n' || c == '\r' || c == '=') {
				g_string_append_c(g, '=');
				c = (unsigned char)(c + 64);
			}
			g_string_append_c(g, (char)c);
			if (i % 128 == 127)
				g_string_append_c(g, '\n');
		}
		g_string_append(g, "\n=yend size=600\nthanks\n");
		struct got r = run(g->str, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_YENC && r.len[0] == sizeof(pl) &&
			      strcmp(r.name[0], "tool.exe") == 0 && memcmp(r.head[0], "MZ", 2) == 0 &&
			      strcmp(out.buf, "Look:\n[X]\nthanks\n") == 0,
		      "yenc: %d len %zu %s", r.n, r.len[0], out.buf);
		g_string_free(g, TRUE);
	}
	/* BinHex 4.0: name "a.exe", data fork "MZ" + payload, with a run */
	{
		static const char A[] = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
		unsigned char raw[256];
		size_t n = 0;
		raw[n++] = 5;
		memcpy(raw + n, "a.exe", 5);
		n += 5;
		raw[n++] = 0;
		memset(raw + n, 0, 20);
		raw[n + 13] = 100;
		n += 20; /* type, creator, flags, dlen=100, rlen, crc */
		raw[n++] = 'M';
		raw[n++] = 'Z';
		raw[n++] = 0x41;
		raw[n++] = 0x90;
		raw[n++] = 98; /* 'A' repeated: 98 in all */
		GString *g = g_string_new("(This file must be converted with BinHex 4.0)\n:");
		uint32_t acc = 0;
		int bits = 0;
		for (size_t i = 0; i < n; i++) {
			acc = acc << 8 | raw[i];
			bits += 8;
			while (bits >= 6) {
				bits -= 6;
				g_string_append_c(g, A[(acc >> bits) & 0x3f]);
			}
		}
		if (bits)
			g_string_append_c(g, A[(acc << (6 - bits)) & 0x3f]);
		g_string_append(g, ":\nend of mail\n");
		struct got r = run(g->str, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_BINHEX && strcmp(r.name[0], "a.exe") == 0 && r.len[0] == 100 &&
			      memcmp(r.head[0], "MZAAAAAA", 8) == 0 && strcmp(out.buf, "[X]\nend of mail\n") == 0,
		      "binhex: %d %s len %zu %s", r.n, r.name[0], r.len[0], out.buf);
		g_string_free(g, TRUE);
	}
	/* quoted-printable of binary; QP of Japanese stays */
	{
		GString *g = g_string_new(NULL);
		for (size_t i = 0; i < 200; i++) {
			g_string_append_printf(g, "=%02X", pl[i]);
			if (i % 24 == 23)
				g_string_append(g, "=\n");
		}
		g_string_append_c(g, '\n');
		struct got r = run(g->str, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_QP && r.len[0] >= 200 && memcmp(r.head[0], "MZ", 2) == 0,
		      "qp: %d", r.n);
		g_string_free(g, TRUE);
		const char *ja = "=E3=81=93=E3=82=93=E3=81=AB=E3=81=A1=E3=81=AF=E3=80=82=E4=BC=9A=E8=AD=B0=E3=81=AE=\n"
				 "=E8=B3=87=E6=96=99=E3=82=92=E9=80=81=E3=82=8A=E3=81=BE=E3=81=99=E3=80=82=E3=82=88=\n"
				 "=E3=82=8D=E3=81=97=E3=81=8F=E3=81=8A=E9=A1=98=E3=81=84=E3=81=97=E3=81=BE=E3=81=99\n";
		r = run(ja, &out);
		CHECK(r.n == 0 && strcmp(out.buf, ja) == 0, "qp of Japanese kept: %d", r.n);
	}
	/* hex dump of the payload; a SHA-512 digest stays */
	{
		GString *g = g_string_new(NULL);
		for (size_t i = 0; i < 200; i++) {
			g_string_append_printf(g, "%02x", pl[i]);
			if (i % 32 == 31)
				g_string_append_c(g, '\n');
		}
		g_string_append_c(g, '\n');
		struct got r = run(g->str, &out);
		CHECK(r.n == 1 && r.kind[0] == SAN_BLOB_HEX && r.len[0] == 200, "hex: %d", r.n);
		g_string_free(g, TRUE);
	}

	/* what must stay: prose, URLs, digests, separators, code, lists */
	static const char *const KEEP[] = {
		"Dear colleagues,\nThe meeting is moved to Thursday at ten in the large room on the third floor.\n"
		"Please bring the documents that were distributed last week and your questions.\nRegards\n",
		"https://www.example.jp/path/to/a/very/long/resource/aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Qgb2YgbG9uZyB1cmxz?q=1\n",
		"SHA-256: 8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4\n"
		"SHA-512: cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e\n",
		"------------------------------------------------------------------------------------------\n"
		"==========================================================================================\n"
		"__________________________________________________________________________________________\n",
		"int main(void)\n{\n\treturn printf(\"hello, world\\n\");\n}\n",
		"・議事録\n・資料一覧\n・出席者名簿\n",
		"Attendees\nTanaka\nSuzuki\nYamada\nWatanabe\nItou\nNakamura\nKobayashi\nKato\nYoshida\nYamaguchi\n"
		"Matsumoto\nInoue\nKimura\nHayashi\nShimizu\nYamazaki\nMori\nAbe\nIkeda\nHashimoto\n",
		"Donaudampfschifffahrtsgesellschaftskapitaenswitwenrentenversicherungsanstaltsgebaeudeverwaltung\n",
		"begin 644 x\nnot uu at all!!\nend\n",
		"We would like to inform you that the meeting scheduled for next week has been\n"
		"postponed because several members of the committee are unable to attend it.\n"
		"When the new date is fixed, we will send another notice to everyone involved.\n",
	};
	for (size_t i = 0; i < sizeof(KEEP) / sizeof(KEEP[0]); i++) {
		struct got r = run(KEEP[i], &out);
		CHECK(r.n == 0 && out.buf && strcmp(out.buf, KEEP[i]) == 0, "kept %zu: %d\n%s", i, r.n,
		      out.buf ? out.buf : "");
		CHECK(!san_blob_any(KEEP[i], strlen(KEEP[i])), "any %zu", i);
	}

	/* MIME header fields printed in text lose their colon */
	{
		struct got r = run("--b\nContent-Type: application/zip\n> content-transfer-encoding : base64\n"
				   "MIME-Version: 1.0\nContent: x\nFrom: a\n",
				   &out);
		CHECK(r.n == 0 &&
			      strcmp(out.buf,
				     "--b\n[Content-Type]: application/zip\n> [content-transfer-encoding] : base64\n"
				     "[MIME-Version]: 1.0\nContent: x\nFrom: a\n") == 0,
		      "mime headers: %s", out.buf);
	}
	/* the block cap and callback errors */
	{
		char *e = uu(pl, 90, '`', false);
		GString *g = g_string_new(NULL);
		for (int k = 0; k < 3; k++)
			g_string_append_printf(g, "begin 644 f%d\n%s`\nend\n", k, e);
		struct got gg = {0};
		strbuf_free(&out);
		CHECK(san_blob_strip(g->str, g->len, 2, cb, &gg, &out) == -E2BIG, "block cap");
		CHECK(san_blob_any(g->str, g->len), "any finds uu");
		g_string_free(g, TRUE);
		g_free(e);
	}

	/* san_blob_text_doubt */
	static const struct {
		const char *b;
		size_t n;
		const char *want;
	} D[] = {
		{"plain text\n", 0, NULL},
		{"\033$B$3$s$K$A$O\033(B\n", 0, NULL},
		{"MZ\x90\0\3", 5, "nul"},
		{"MZ this is not a PE but starts like one", 0, "signature"},
		{"PK\3\4abc", 0, "signature"},
		{"  %PDF-1.7\n", 0, "signature"},
		{"#!/bin/sh\necho hi\n", 0, "signature"},
		{"{\\rtf1\\ansi hello}", 0, "signature"},
		{"hello\n<!DOCTYPE html><p>x", 0, "markup"},
		{"text <SCRIPT>alert(1)</script>", 0, "markup"},
		{"a\1b\2c\3d\4e", 0, "control"},
		{"1 < 2 and 3 > 2, <b> is not active", 0, NULL},
		{"Set sh = CreateObject(\"WScript.Shell\")\r\n", 0, "script"},
		{"powershell -NoP -EncodedCommand SQBFAFgA", 0, "script"},
		{"We discussed the WScript host in the meeting", 0, NULL},
	};
	for (size_t i = 0; i < sizeof(D) / sizeof(D[0]); i++) {
		const char *w = san_blob_text_doubt(D[i].b, D[i].n ? D[i].n : strlen(D[i].b));
		CHECK((w == NULL && D[i].want == NULL) || (w && D[i].want && strcmp(w, D[i].want) == 0),
		      "doubt %zu: %s", i, w ? w : "(null)");
	}
	strbuf_free(&out);
	return check_done();
}
