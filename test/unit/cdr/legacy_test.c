/* test/unit/cdr/legacy_test.c: cdr_legacy_sniff on compound files built
 * here (a header, one directory sector, the first sector of a stream):
 * the type and family by stream name, the Word and Excel password flags,
 * the encrypted OOXML and PowerPoint streams, VBA storages; RTF; things
 * that are none of them.  The ODF side is covered by the corpus test. */
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_legacy.h"
#include "test/check.h"

#define SECTOR 512

static uint8_t file[SECTOR * 12];

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* directory entry n (in sector 0, right after the header) */
static void entry(int n, const char *name, int type, uint32_t start, uint32_t size)
{
	uint8_t *e = file + SECTOR + 128 * n;
	size_t l = strlen(name);

	for (size_t i = 0; i < l; i++)
		put16(e + 2 * i, (unsigned char)name[i]);
	put16(e + 64, (unsigned)(2 * l + 2));
	e[66] = (uint8_t)type;
	put32(e + 116, start);
	put32(e + 120, size);
}

static void cfb(void)
{
	static const uint8_t magic[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};

	memset(file, 0, sizeof(file));
	memcpy(file, magic, 8);
	put16(file + 0x1E, 9);
	entry(0, "Root Entry", 5, 0xFFFFFFFE, 0);
}

static void sniff(const char *what, const char *type, const char *ext, bool encrypted, bool macros)
{
	struct cdr_legacy_info info;

	cdr_legacy_sniff(file, sizeof(file), &info);
	CHECK(strcmp(info.type, type) == 0, "%s: type '%s'", what, info.type);
	CHECK(strcmp(info.ext, ext) == 0, "%s: ext '%s'", what, info.ext);
	CHECK(info.encrypted == encrypted, "%s: encrypted %d", what, info.encrypted);
	CHECK(info.macros == macros, "%s: macros %d", what, info.macros);
}

int main(void)
{
	struct cdr_legacy_info info;

	/* Word: stream in sector 2 (file offset 1536) with its FIB */
	cfb();
	entry(1, "WordDocument", 2, 2, 8192);
	put16(file + 3 * SECTOR, 0xA5EC);
	sniff("doc", "doc", "docx", false, false);
	put16(file + 3 * SECTOR + 10, 0x0100); /* fEncrypted */
	sniff("doc password", "doc", "docx", true, false);
	put16(file + 3 * SECTOR + 10, 0x8000); /* fObfuscated (XOR) */
	sniff("doc obfuscated", "doc", "docx", true, false);
	put16(file + 3 * SECTOR + 10, 0);
	entry(2, "Macros", 1, 0, 0);
	entry(3, "VBA", 1, 0, 0);
	sniff("doc macros", "doc", "docx", false, true);

	/* Excel: BOF, then FILEPASS when it has a password */
	cfb();
	entry(1, "Workbook", 2, 2, 8192);
	put16(file + 3 * SECTOR, 0x0809);
	put16(file + 3 * SECTOR + 2, 16);
	put16(file + 3 * SECTOR + 20, 0x00E1);
	put16(file + 3 * SECTOR + 22, 2);
	sniff("xls", "xls", "xlsx", false, false);
	put16(file + 3 * SECTOR + 20, 0x002F);
	sniff("xls password", "xls", "xlsx", true, false);
	put16(file + 3 * SECTOR + 20, 0x00E1);
	entry(2, "_VBA_PROJECT_CUR", 1, 0, 0);
	sniff("xls macros", "xls", "xlsx", false, true);
	/* a small Workbook lives in the mini stream: the flag is not read */
	cfb();
	entry(1, "Book", 2, 2, 100);
	put16(file + 3 * SECTOR, 0x002F);
	sniff("xls small", "xls", "xlsx", false, false);

	cfb();
	entry(1, "PowerPoint Document", 2, 2, 8192);
	entry(2, "Current User", 2, 3, 100);
	sniff("ppt", "ppt", "pptx", false, false);
	entry(3, "EncryptedSummary", 2, 4, 100);
	sniff("ppt password", "ppt", "pptx", true, false);

	cfb();
	entry(1, "EncryptionInfo", 2, 2, 100);
	entry(2, "EncryptedPackage", 2, 3, 8192);
	sniff("encrypted ooxml", "cfb", "", true, false);

	/* a name-length field that lies, a name without its terminator, an
	 * unknown object type: not entries */
	cfb();
	entry(1, "WordDocument", 2, 2, 8192);
	put16(file + SECTOR + 128 + 64, 70);
	entry(2, "Workbook", 7, 2, 8192);
	entry(3, "PowerPoint Document", 2, 2, 8192);
	put16(file + SECTOR + 3 * 128 + 2 * 19, 'x');
	sniff("bad entries", "", "", false, false);
	put16(file + 0x1E, 10); /* sector shift neither 9 nor 12 */
	sniff("bad shift", "", "", false, false);

	cdr_legacy_sniff((const uint8_t *)"{\\rtf1\\ansi x}", 14, &info);
	CHECK_STR(info.type, "rtf");
	CHECK_STR(info.ext, "docx");
	cdr_legacy_sniff((const uint8_t *)"PK\3\4", 4, &info);
	CHECK_STR(info.type, "");
	cdr_legacy_sniff((const uint8_t *)"", 0, &info);
	CHECK_STR(info.type, "");
	return check_done();
}
