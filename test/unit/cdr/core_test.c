/* cdr core: the kind of every magic and name the dispatcher knows (and
 * near misses), the reason table (sorted, every key with Japanese and
 * English), the report's caps,
 * the mapping of converter runs to reasons, and the JSON form read back
 * with json-c (not our code). */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr.h"
#include "test/check.h"

static const struct {
	const char *head;
	size_t len;
	const char *name;
	enum cdr_kind kind;
	const char *type;
} kinds[] = {
	{"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\n\n", 16, "a.bin", CDR_KIND_PDF, "pdf"},
	{"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, NULL, CDR_KIND_IMAGE, "png"},
	{"\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1", 16, "x.txt", CDR_KIND_IMAGE, "jpeg"},
	{"PK\3\4\x14\0\0\0\x08\0\0\0\0\0\0\0", 16, "Report.DOCX", CDR_KIND_OOXML, "docx"},
	{"PK\3\4\x14\0\0\0\x08\0\0\0\0\0\0\0", 16, "dir.x/book.xlsm", CDR_KIND_OOXML, "xlsm"},
	{"PK\3\4\x14\0\0\0\x08\0\0\0\0\0\0\0", 16, "a.odt", CDR_KIND_LEGACY, "odt"},
	{"PK\3\4\x14\0\0\0\x08\0\0\0\0\0\0\0", 16, "a.zip", CDR_KIND_ARCHIVE, "zip"},
	{"PK\3\4\x14\0\0\0\x08\0\0\0\0\0\0\0", 16, "docx", CDR_KIND_ARCHIVE, "zip"},  /* no dot */
	{"PK\3\4\x14\0\0\0\x08\0\0\0\0\0\0\0", 16, ".docx", CDR_KIND_ARCHIVE, "zip"}, /* a hidden name */
	{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0\0\0\0\0", 16, "a.xls", CDR_KIND_LEGACY, "xls"},
	{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0\0\0\0\0", 16, "a.docx", CDR_KIND_LEGACY, "docx"},
	{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0\0\0\0\0", 16, "a.msg", CDR_KIND_UNKNOWN, "ole2"},
	{"{\\rtf1\\ansi\\deff0", 16, "a.doc", CDR_KIND_LEGACY, "rtf"},
	{"\x21\0-lh5-\0\0\0\0\0\0\0\0\0", 16, "a.lzh", CDR_KIND_ARCHIVE, "lzh"},
	{"7z\xbc\xaf\x27\x1c\0\4\0\0\0\0\0\0\0\0", 16, NULL, CDR_KIND_ARCHIVE, "7z"},
	{"\x1f\x8b\x08\0\0\0\0\0\0\3", 10, NULL, CDR_KIND_ARCHIVE, "gz"},
	{"MZ\x90\0\3\0\0\0\4\0\0\0\xff\xff\0\0", 16, "invoice.pdf", CDR_KIND_UNKNOWN, "exe"},
	{"\x7f"
	 "ELF\2\1\1\0\0\0\0\0\0\0\0\0",
	 16, "a.txt", CDR_KIND_UNKNOWN, "elf"},
	{"a,b,c\r\n1,2,3\r\n", 14, "DATA.CSV", CDR_KIND_TEXT, "csv"},
	{"hello\n", 6, "memo.txt", CDR_KIND_TEXT, "txt"},
	{"<html><script>", 14, "page.html", CDR_KIND_UNKNOWN, "html"},
	{"hello\n", 6, NULL, CDR_KIND_UNKNOWN, "unknown"},
	{"%PDF", 4, "short.pdf", CDR_KIND_UNKNOWN, "pdf"}, /* too short for the magic: the name is only a name */
};

static void test_kinds(void)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		char type[24];
		enum cdr_kind k =
			cdr_kind_of((const uint8_t *)kinds[i].head, kinds[i].len, kinds[i].name, type, sizeof type);
		CHECK(k == kinds[i].kind, "case %zu (%s): kind %s", i, kinds[i].type, cdr_kind_name(k));
		CHECK_STR(type, kinds[i].type);
	}
	CHECK_STR(cdr_kind_name(CDR_KIND_COUNT_), "unknown");
}

static void test_reasons(void)
{
	const char *prev = NULL, *k;
	size_t n = 0;
	for (size_t i = 0; (k = cdr_reason_key_at(i)); i++, n++) {
		if (prev)
			CHECK(strcmp(prev, k) < 0, "table not sorted at %s", k);
		prev = k;
		const char *ja = cdr_reason_ja(k), *en = cdr_reason_en(k);
		CHECK(ja != k && en != k, "%s has no texts", k);
		int wide = 0;
		for (const char *p = ja; *p; p++)
			wide |= (unsigned char)*p >= 0x80;
		CHECK(wide, "%s: the Japanese text is not Japanese", k);
		CHECK(cdr_reason_key(k) == k);
	}
	CHECK(n > 30);
	CHECK_STR(cdr_reason_ja("no-such-key"), "no-such-key");
	CHECK(cdr_reason_key("no-such-key") == NULL);
	CHECK(cdr_reason_key(NULL) == NULL);
}

static void test_report_caps(void)
{
	struct cdr_report rep = {0};
	for (int i = 0; i < 1005; i++)
		cdr_report_removed(&rep, "part:/word/media/image%d.emf", i);
	CHECK_EQ_U(rep.nremoved, 1000);
	CHECK_EQ_U(rep.nremoved_more, 5);
	cdr_report_free(&rep);
	CHECK(rep.removed == NULL && rep.nremoved == 0);

	/* a long name is cut at a character boundary, never mid-sequence */
	char longname[2000];
	strcpy(longname, "attachment:x"); /* 12 bytes: 500 is not a character boundary */
	for (size_t i = strlen(longname); i + 3 < sizeof longname; i += 3)
		memcpy(longname + i, "\xe6\x97\xa5", 3), longname[i + 3] = 0;
	cdr_report_removed(&rep, "%s", longname);
	REQUIRE(rep.nremoved == 1);
	size_t l = strlen(rep.removed[0]);
	CHECK(l <= 512 && l > 400, "cut to %zu", l);
	CHECK(((unsigned char)rep.removed[0][l - 1] & 0xc0) != 0xc0 && (l - strlen("attachment:x")) % 3 == 0,
	      "cut inside a character");
	cdr_report_free(&rep);
}

static void test_fail_from_run(void)
{
	struct cdr_report rep = {0};
	struct cdr_sandbox_result res = {.reason = "exit-status", .exit_status = 1};
	strcpy(res.err, "removed metadata:exif\nrefused: pixel-limit\n");
	CHECK(cdr_fail_from_run(&rep, &res, 0) < 0);
	CHECK_STR(rep.result, "pixel-limit");
	strcpy(res.err, "refused encrypted\n");
	cdr_fail_from_run(&rep, &res, 0);
	CHECK_STR(rep.result, "encrypted");
	/* a key the table does not know never becomes a result */
	strcpy(res.err, "refused you-have-won\n");
	cdr_fail_from_run(&rep, &res, 0);
	CHECK_STR(rep.result, "exit-status");
	CHECK(strstr(rep.detail, "you-have-won") != NULL);
	/* "refused" in the middle of a line is not a refusal */
	strcpy(res.err, "note: not refused ok\n");
	cdr_fail_from_run(&rep, &res, 0);
	CHECK_STR(rep.result, "exit-status");
	res = (struct cdr_sandbox_result){.reason = "timeout", .exit_status = -1};
	cdr_fail_from_run(&rep, &res, 0);
	CHECK_STR(rep.result, "timeout");
	res.reason = "ok";
	cdr_fail_from_run(&rep, &res, -ENOENT);
	CHECK_STR(rep.result, "sandbox-setup");
}

static void test_json(void)
{
	struct cdr_report rep = {0};
	rep.name = strdup("見積書.zip");
	rep.result = "ok";
	rep.kind = "archive";
	strcpy(rep.in_type, "zip");
	strcpy(rep.out_type, "zip");
	rep.mode = "archive";
	cdr_report_removed(&rep, "member:\"quoted\"\\back");
	struct cdr_report *m = cdr_report_member(&rep, "a/b.exe");
	cdr_report_fail(m, "unsupported-format", "type %s", "exe");
	char *s = cdr_report_json(&rep);
	struct json_object *o = json_tokener_parse(s), *v, *mem;
	REQUIRE(o != NULL);
	CHECK(json_object_object_get_ex(o, "name", &v) && strcmp(json_object_get_string(v), "見積書.zip") == 0);
	CHECK(json_object_object_get_ex(o, "reason_ja", &v) &&
	      strcmp(json_object_get_string(v), cdr_reason_ja("ok")) == 0);
	CHECK(json_object_object_get_ex(o, "removed", &v) && json_object_array_length(v) == 1 &&
	      strcmp(json_object_get_string(json_object_array_get_idx(v, 0)), "member:\"quoted\"\\back") == 0);
	CHECK(json_object_object_get_ex(o, "out_sha256", &v) && json_object_is_type(v, json_type_null));
	REQUIRE(json_object_object_get_ex(o, "members", &mem) && json_object_array_length(mem) == 1);
	struct json_object *m0 = json_object_array_get_idx(mem, 0);
	CHECK(json_object_object_get_ex(m0, "result", &v) &&
	      strcmp(json_object_get_string(v), "unsupported-format") == 0);
	CHECK(json_object_object_get_ex(m0, "detail", &v) && strcmp(json_object_get_string(v), "type exe") == 0);
	static const char *const keys[] = {"name",       "result",  "reason_ja", "reason_en",    "detail",
					   "kind",       "in_type", "out_type",  "out_ext",      "out_name",
					   "mode",       "pages",   "in_bytes",  "out_bytes",    "in_sha256",
					   "out_sha256", "ms",      "removed",   "removed_more", "members"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		CHECK(json_object_object_get_ex(m0, keys[i], NULL), "member lacks %s", keys[i]);
	json_object_put(o);
	free(s);
	cdr_report_free(&rep);
}

int main(void)
{
	test_kinds();
	test_reasons();
	test_report_caps();
	test_fail_from_run();
	test_json();
	return check_done();
}
