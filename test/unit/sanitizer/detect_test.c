/* san_detect: libmagic, PPAP, TNEF, uuencode. */
#include <errno.h>
#include <stdint.h>

#include "sanitizer/san_detect.h"
#include "tap.h"

static int uu_cb(void *arg, const struct san_uu_block *b, struct strbuf *repl)
{
	int *n = arg;
	(*n)++;
	CHECK(strcmp(b->name, "cat.txt") == 0 && b->len == 4 && memcmp(b->data, "Cat\n", 4) == 0, "uu block");
	strbuf_puts(repl, "[removed]");
	return 0;
}

int main(void)
{
	struct san_magic *m;
	CHECK(san_magic_new(&m) == 0, "magic");
	char t[128];
	unsigned char pe[512] = { 'M', 'Z' };
	pe[0x3c] = 0x80;
	memcpy(pe + 0x80, "PE\0\0\x4c\x01", 6);
	san_magic_type(m, pe, sizeof(pe), t, sizeof(t));
	CHECK(strstr(t, "executable") || strstr(t, "dosexec"), "PE: %s", t);
	san_magic_type(m, "%PDF-1.4\n", 9, t, sizeof(t));
	CHECK(strcmp(t, "application/pdf") == 0, "pdf: %s", t);
	san_magic_type(m, "", 0, t, sizeof(t));
	CHECK(strcmp(t, "application/x-empty") == 0, "empty: %s", t);
	san_magic_free(m);
	san_magic_free(NULL);

	unsigned char zip[64] = { 'P', 'K', 3, 4, 20, 0, 1, 0 };
	CHECK(san_zip_encrypted(zip, sizeof(zip)), "encrypted zip");
	zip[6] = 0;
	CHECK(!san_zip_encrypted(zip, sizeof(zip)), "plain zip");
	CHECK(!san_zip_encrypted("PK", 2), "short");

	/* TNEF: signature, key, one title attribute, one truncated. */
	unsigned char tn[64] = { 0x78, 0x9f, 0x3e, 0x22, 1, 0 };
	size_t o = 6;
	tn[o++] = 2;
	uint32_t id = 0x00018010u, len = 6;
	memcpy(tn + o, &id, 4); o += 4;
	memcpy(tn + o, &len, 4); o += 4;
	memcpy(tn + o, "a.exe", 6); o += 6;
	o += 2;
	struct strbuf names = STRBUF_INIT;
	CHECK(san_tnef_is(tn, o) && san_tnef_names(tn, o, 8, &names) == 1 && strcmp(names.buf, "a.exe") == 0, "tnef");
	strbuf_reset(&names);
	CHECK(san_tnef_names(tn, o - 3, 8, &names) == -EBADMSG, "truncated tnef");
	len = 0xffffffffu;
	memcpy(tn + 11, &len, 4);
	CHECK(san_tnef_names(tn, o, 8, &names) == -EBADMSG, "huge length");
	strbuf_free(&names);

	const char *txt = "hello\nbegin 644 cat.txt\n$0V%T\"@``\n`\nend\nbye\n";
	struct strbuf out = STRBUF_INIT;
	int n = 0;
	CHECK(san_uu_strip(txt, strlen(txt), 4, uu_cb, &n, &out) == 1 && n == 1, "uu found");
	CHECK(strcmp(out.buf, "hello\n[removed]\nbye\n") == 0, "uu replaced: '%s'", out.buf);
	strbuf_reset(&out);
	const char *nouu = "begin 644 x\nnot uu at all!!\nend\n";
	CHECK(san_uu_strip(nouu, strlen(nouu), 4, uu_cb, &n, &out) == 0 && strcmp(out.buf, nouu) == 0, "not uu kept");
	strbuf_reset(&out);
	CHECK(san_uu_strip(txt, strlen(txt), 0, uu_cb, &n, &out) == -E2BIG, "block cap");
	strbuf_free(&out);
	T_END();
}
