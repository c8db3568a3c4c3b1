/* san_detect: libmagic, PPAP, TNEF. */
#include <string.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <magic.h>

#include "sanitizer/san_detect.h"
#include "test/check.h"

int main(void)
{
	struct san_magic *m;
	CHECK(san_detect_magic_new(&m) == 0, "magic");
	char t[128];
	unsigned char pe[512] = {'M', 'Z'};
	pe[0x3c] = 0x80;
	memcpy(pe + 0x80, "PE\0\0\x4c\x01", 6);
	san_detect_magic_type(m, pe, sizeof(pe), t, sizeof(t));
	CHECK(strstr(t, "executable") || strstr(t, "dosexec"), "PE: %s", t);
	san_detect_magic_type(m, "%PDF-1.4\n", 9, t, sizeof(t));
	CHECK(strcmp(t, "application/pdf") == 0, "pdf: %s", t);
	san_detect_magic_type(m, "", 0, t, sizeof(t));
	CHECK(strcmp(t, "application/x-empty") == 0, "empty: %s", t);
	san_detect_magic_free(m);
	san_detect_magic_free(NULL);

	/* The libmagic shortcut must answer what libmagic answers: compare
	 * with libmagic itself (same flags as san_detect_magic_new) on realistic
	 * heads of each signature, and on bytes that must not be taken. */
	magic_t raw = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF | MAGIC_ERROR);
	CHECK(raw && magic_load(raw, NULL) == 0, "libmagic");
#define H(s) s, sizeof(s) - 1
	static const struct {
		const char *b;
		size_t n;
		bool sure;
	} heads[] = {
		{H("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), true},
		{H("%PDF-1.4\n%PK\x03\x04 polyglot with a zip header inside\n"), true},
		{H("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xff"
		   "a"),
		 true},
		{H("GIF89a\x10\0\x10\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\x01\0\0\0\0,"), true},
		{H("GIF87a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff,\0\0\0\0\x01\0\x01\0\0\x02"), true},
		{H("\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xdb\0C\0"), true},
		{H("\xff\xd8\xff\xe1\x0f\xfe"
		   "Exif\0\0MM\0*\0\0\0\x08\0\x0b\x01\x0f"),
		 true},
		{H("%PDF-1"), false}, /* too short to be sure */
		{H("MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0"), false},
		{H("PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), false},
		{H("x%PDF-1.7 not at the start of the file.."), false},
	};
	for (size_t i = 0; raw && i < sizeof(heads) / sizeof(heads[0]); i++) {
		const char *fast = san_detect_magic_sure(heads[i].b, heads[i].n);
		const char *lib = magic_buffer(raw, heads[i].b, heads[i].n);
		CHECK((fast != NULL) == heads[i].sure, "head %zu: shortcut %s", i, fast ? fast : "none");
		CHECK(!fast || (lib && strcmp(fast, lib) == 0), "head %zu: shortcut %s, libmagic %s", i,
		      fast ? fast : "-", lib ? lib : "-");
	}
	if (raw)
		magic_close(raw);

	unsigned char zip[64] = {'P', 'K', 3, 4, 20, 0, 1, 0};
	CHECK(san_detect_zip_encrypted(zip, sizeof(zip)), "encrypted zip");
	zip[6] = 0;
	CHECK(!san_detect_zip_encrypted(zip, sizeof(zip)), "plain zip");
	CHECK(!san_detect_zip_encrypted("PK", 2), "short");

	/* TNEF: signature, key, one title attribute, one truncated. */
	unsigned char tn[64] = {0x78, 0x9f, 0x3e, 0x22, 1, 0};
	size_t o = 6;
	tn[o++] = 2;
	uint32_t id = 0x00018010u, len = 6;
	memcpy(tn + o, &id, 4);
	o += 4;
	memcpy(tn + o, &len, 4);
	o += 4;
	memcpy(tn + o, "a.exe", 6);
	o += 6;
	o += 2;
	struct strbuf names = STRBUF_INIT;
	CHECK(san_detect_tnef_is(tn, o) && san_detect_tnef_names(tn, o, 8, &names) == 1 &&
		      strcmp(names.buf, "a.exe") == 0,
	      "tnef");
	strbuf_reset(&names);
	CHECK(san_detect_tnef_names(tn, o - 3, 8, &names) == -EBADMSG, "truncated tnef");
	len = 0xffffffffu;
	memcpy(tn + 11, &len, 4);
	CHECK(san_detect_tnef_names(tn, o, 8, &names) == -EBADMSG, "huge length");
	strbuf_free(&names);

	return check_done();
}
