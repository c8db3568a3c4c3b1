/* cdr_legacy.c: names a legacy office file and what it carries, inside the
 * sandbox, before LibreOffice converts it (cdr_legacy.h).
 *
 * OLE2 compound files (doc, xls, ppt, and encrypted OOXML) are read by
 * looking at every 128-byte slot after the header for a well-formed
 * directory entry (name length, terminator, object type): directory
 * sectors are sector-aligned and entries 128 bytes, so every real entry is
 * found without following the FAT; a slot in file data that happens to
 * look like an entry can only add a name, and the names only choose a
 * family, a refusal or a report line.  ODF is a zip whose first entry is
 * "mimetype"; its other entries are listed with libarchive (entries and
 * the manifest's size capped).
 *
 * Ownership: nothing outlives a call.  Failure: none; what is not
 * recognised stays "" / false.  Never logs. */
#include "sanitizer/cdr/cdr_legacy.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ODF_ENTRIES 10000
#define MAX_MANIFEST (4u << 20)
#define MAX_XLS_RECORDS 64

static const uint8_t cfb_magic[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};

static unsigned le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set(struct cdr_legacy_info *info, const char *type, const char *ext)
{
	snprintf(info->type, sizeof(info->type), "%s", type);
	snprintf(info->ext, sizeof(info->ext), "%s", ext);
}

/* the ASCII name of the directory entry at e (128 bytes), or false when the
 * slot is not a well-formed entry or the name is not ASCII */
static bool cfb_entry_name(const uint8_t *e, char name[33])
{
	unsigned nl = le16(e + 64), n = nl / 2;

	if (nl < 2 || nl > 64 || nl % 2 || le16(e + 2 * (n - 1)) != 0)
		return false;
	if (e[66] != 1 && e[66] != 2 && e[66] != 5) /* storage, stream, root */
		return false;
	for (unsigned i = 0; i + 1 < n; i++) {
		unsigned c = le16(e + 2 * i);
		if (c == 0 || c > 0x7e)
			return false;
		name[i] = (char)c;
	}
	name[n - 1] = '\0';
	return true;
}

/* the start of a stream of at least 4096 bytes (smaller ones live in the
 * mini stream, which this does not follow), or NULL; *ret_avail is how many
 * of its bytes are contiguous at that place (one sector) */
static const uint8_t *cfb_stream(const uint8_t *in, size_t len, const uint8_t *e, unsigned shift, size_t *ret_avail)
{
	uint32_t start = le32(e + 116), size = le32(e + 120);
	uint64_t pos, avail = (uint64_t)1 << shift;

	if (size < 4096 || start >= 0xFFFFFFFAu)
		return NULL;
	pos = ((uint64_t)start + 1) << shift;
	if (pos >= len)
		return NULL;
	if (avail > size)
		avail = size;
	if (avail > len - pos)
		avail = len - pos;
	*ret_avail = (size_t)avail;
	return in + pos;
}

/* Word: the FIB's fEncrypted (password) and fObfuscated (XOR) flags */
static bool doc_encrypted(const uint8_t *s, size_t n)
{
	return n >= 12 && le16(s) == 0xA5EC && (le16(s + 10) & 0x8100) != 0;
}

/* Excel: a FILEPASS record (0x002F) among the first records of the
 * Workbook stream (it follows BOF when the workbook has a password) */
static bool xls_encrypted(const uint8_t *s, size_t n)
{
	size_t p = 0;

	for (int i = 0; i < MAX_XLS_RECORDS && p + 4 <= n; i++) {
		if (le16(s + p) == 0x002F)
			return true;
		p += 4 + le16(s + p + 2);
	}
	return false;
}

static void sniff_cfb(const uint8_t *in, size_t len, struct cdr_legacy_info *info)
{
	unsigned shift = le16(in + 0x1E);
	const uint8_t *word = NULL, *book = NULL;
	bool ppt = false;
	char name[33];

	if (shift != 9 && shift != 12)
		return;
	for (size_t off = (size_t)1 << shift; off + 128 <= len; off += 128) {
		const uint8_t *e = in + off;
		if (!cfb_entry_name(e, name))
			continue;
		if (strcasecmp(name, "WordDocument") == 0)
			word = e;
		else if (strcasecmp(name, "Workbook") == 0 || strcasecmp(name, "Book") == 0)
			book = e;
		else if (strcasecmp(name, "PowerPoint Document") == 0)
			ppt = true;
		else if (strcasecmp(name, "EncryptedPackage") == 0 || strcasecmp(name, "EncryptedSummary") == 0)
			info->encrypted = true; /* password OOXML; PowerPoint's CryptoAPI */
		else if (strcasecmp(name, "Macros") == 0 || strcasecmp(name, "_VBA_PROJECT_CUR") == 0 ||
			 strcasecmp(name, "VBA") == 0 || strcasecmp(name, "_VBA_PROJECT") == 0)
			info->macros = true;
	}
	const uint8_t *s;
	size_t n = 0;
	if (word) {
		set(info, "doc", "docx");
		if ((s = cfb_stream(in, len, word, shift, &n)) && doc_encrypted(s, n))
			info->encrypted = true;
	} else if (book) {
		set(info, "xls", "xlsx");
		if ((s = cfb_stream(in, len, book, shift, &n)) && xls_encrypted(s, n))
			info->encrypted = true;
	} else if (ppt) {
		set(info, "ppt", "pptx");
	} else if (info->encrypted) {
		set(info, "cfb", ""); /* an encrypted OOXML package */
	}
}

static const struct {
	const char *mime, *type, *ext;
} odf_types[] = {
	{"application/vnd.oasis.opendocument.text", "odt", "docx"},
	{"application/vnd.oasis.opendocument.text-template", "odt", "docx"},
	{"application/vnd.oasis.opendocument.spreadsheet", "ods", "xlsx"},
	{"application/vnd.oasis.opendocument.spreadsheet-template", "ods", "xlsx"},
	{"application/vnd.oasis.opendocument.presentation", "odp", "pptx"},
	{"application/vnd.oasis.opendocument.presentation-template", "odp", "pptx"},
};

/* the current entry's data, at most MAX_MANIFEST bytes (malloc'd), or NULL */
static char *entry_data(struct archive *a, int64_t size, size_t *ret_len)
{
	char *buf;
	la_ssize_t n;
	size_t got = 0;

	if (size < 0 || size > MAX_MANIFEST)
		size = MAX_MANIFEST;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return NULL;
	while (got < (size_t)size && (n = archive_read_data(a, buf + got, (size_t)size - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	*ret_len = got;
	return buf;
}

/* the manifest names every encrypted entry with manifest:encryption-data */
static bool manifest_encrypted(struct archive *a, int64_t size)
{
	static const char key[] = "encryption-data";
	size_t len = 0;
	char *buf = entry_data(a, size, &len);
	bool found = buf && memmem(buf, len, key, sizeof(key) - 1) != NULL;

	free(buf);
	return found;
}

/* OOXML (for the PDF path, after the rebuild): the family of the content
 * type that ends in "main+xml" in [Content_Types].xml */
static void ooxml_family(struct archive *a, int64_t size, struct cdr_legacy_info *info)
{
	size_t len = 0;
	char *buf = entry_data(a, size, &len), *m, *q;

	if (!buf)
		return;
	m = memmem(buf, len, "main+xml", 8);
	if (m) {
		*m = '\0';
		q = strrchr(buf, '"');
		q = q ? q : buf;
		if (strstr(q, "wordprocessingml") || strstr(q, "ms-word"))
			set(info, "docx", "docx");
		else if (strstr(q, "spreadsheetml") || strstr(q, "ms-excel"))
			set(info, "xlsx", "xlsx");
		else if (strstr(q, "presentationml") || strstr(q, "ms-powerpoint"))
			set(info, "pptx", "pptx");
	}
	free(buf);
}

static void sniff_odf(const uint8_t *in, size_t len, struct cdr_legacy_info *info)
{
	unsigned nl = le16(in + 26), xl = le16(in + 28);
	uint32_t ml = le32(in + 18);
	const char *mime;
	struct archive *a;
	struct archive_entry *ent;

	bool odf = false;

	/* "mimetype", stored, first: what ODF requires and LibreOffice writes */
	if (nl == 8 && memcmp(in + 30, "mimetype", 8) == 0 && le16(in + 8) == 0 && ml <= 100 &&
	    30 + (size_t)nl + xl + ml <= len) {
		mime = (const char *)in + 30 + nl + xl;
		for (size_t i = 0; i < sizeof(odf_types) / sizeof(odf_types[0]); i++)
			if (strlen(odf_types[i].mime) == ml && memcmp(mime, odf_types[i].mime, ml) == 0)
				set(info, odf_types[i].type, odf_types[i].ext);
		if (!info->type[0])
			return;
		odf = true;
	}
	a = archive_read_new();
	if (!a)
		return;
	archive_read_support_format_zip_seekable(a);
	if (archive_read_open_memory(a, in, len) == ARCHIVE_OK) {
		for (int i = 0; i < MAX_ODF_ENTRIES && archive_read_next_header(a, &ent) == ARCHIVE_OK; i++) {
			const char *name = archive_entry_pathname(ent);
			if (!name)
				continue;
			int64_t size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : -1;
			if (odf && (strncmp(name, "Basic/", 6) == 0 || strncmp(name, "Scripts/", 8) == 0))
				info->macros = true;
			else if (odf && strcmp(name, "META-INF/manifest.xml") == 0 && manifest_encrypted(a, size))
				info->encrypted = true;
			else if (!odf && strcasecmp(name, "[Content_Types].xml") == 0)
				ooxml_family(a, size, info);
			else if (!odf && strstr(name, "vbaProject"))
				info->macros = true;
		}
	}
	archive_read_free(a);
}

void cdr_legacy_sniff(const uint8_t *in, size_t len, struct cdr_legacy_info *ret_info)
{
	memset(ret_info, 0, sizeof(*ret_info));
	if (len >= 512 && memcmp(in, cfb_magic, sizeof(cfb_magic)) == 0)
		sniff_cfb(in, len, ret_info);
	else if (len >= 5 && memcmp(in, "{\\rtf", 5) == 0)
		set(ret_info, "rtf", "docx");
	else if (len >= 38 && memcmp(in, "PK\3\4", 4) == 0)
		sniff_odf(in, len, ret_info);
}
