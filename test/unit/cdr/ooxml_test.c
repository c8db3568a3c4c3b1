/* ooxml_test: cdr_ooxml on small packages built here, table-driven: what is
 * refused (names, caps, encryption, DTDs, not OOXML) and why, and what a
 * rebuilt macro-enabled document keeps and loses, under both hyperlink
 * options.  The output is read back with libarchive, not with cdr_ooxml.
 * The corpus files are judged by test/integration/cdr/ooxml_oracle.py. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "sanitizer/cdr/cdr_ooxml.h"
#include "test/check.h"

struct ent {
	const char *name, *data;
	size_t len; /* 0: strlen(data) */
};

static la_ssize_t sb_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	strbuf_append(ud, buf, n);
	return (la_ssize_t)n;
}

/* A zip of the entries (deflate), in a strbuf. */
static struct strbuf zip_of(const struct ent *e, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	struct archive *a = archive_write_new();

	REQUIRE(archive_write_set_format_zip(a) == ARCHIVE_OK);
	REQUIRE(archive_write_set_options(a, "zip:compression=deflate") == ARCHIVE_OK);
	REQUIRE(archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK);
	REQUIRE(archive_write_open2(a, &sb, NULL, sb_write, NULL, NULL) == ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		size_t len = e[i].len ? e[i].len : strlen(e[i].data);

		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, (la_int64_t)len);
		REQUIRE(archive_write_header(a, ae) == ARCHIVE_OK);
		REQUIRE(archive_write_data(a, e[i].data, len) == (la_ssize_t)len);
		archive_entry_free(ae);
	}
	REQUIRE(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	return sb;
}

/* The named entry of a zip, NUL-terminated (NULL if absent); caller frees. */
static char *zip_get(const void *zip, size_t len, const char *name, size_t *ret_n)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	char *out = NULL;

	archive_read_support_format_zip(a);
	REQUIRE(archive_read_open_memory(a, zip, len) == ARCHIVE_OK);
	*ret_n = 0;
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(ae), name) == 0) {
			struct strbuf sb = STRBUF_INIT;
			char buf[4096];
			la_ssize_t r;

			while ((r = archive_read_data(a, buf, sizeof(buf))) > 0)
				strbuf_append(&sb, buf, (size_t)r);
			*ret_n += 1;
			free(out);
			out = strbuf_steal(&sb);
		}
	}
	archive_read_free(a);
	return out;
}

#define CT_HEAD "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
#define CT_DOCM                                                                                                          \
	CT_HEAD "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>" \
		"<Default Extension=\"xml\" ContentType=\"application/xml\"/>"                                           \
		"<Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject\"/>"                      \
		"<Override PartName=\"/word/document.xml\" "                                                             \
		"ContentType=\"application/vnd.ms-word.document.macroEnabled.main+xml\"/>"                               \
		"<Override PartName=\"/word/settings.xml\" "                                                             \
		"ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/>"          \
		"</Types>"
#define RELNS "http://schemas.openxmlformats.org/package/2006/relationships"
#define RT "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
#define ROOT_RELS                                                                                     \
	"<Relationships xmlns=\"" RELNS "\"><Relationship Id=\"rId1\" Type=\"" RT "officeDocument\" " \
	"Target=\"word/document.xml\"/></Relationships>"
#define DOC_RELS                                                                                                   \
	"<Relationships xmlns=\"" RELNS "\">"                                                                      \
	"<Relationship Id=\"rId1\" Type=\"" RT "settings\" Target=\"settings.xml\"/>"                              \
	"<Relationship Id=\"rIdVba\" Type=\"http://schemas.microsoft.com/office/2006/relationships/vbaProject\" "  \
	"Target=\"vbaProject.bin\"/>"                                                                              \
	"<Relationship Id=\"rIdH\" Type=\"" RT                                                                     \
	"hyperlink\" Target=\"https://example.invalid/x\" TargetMode=\"External\"/>"                               \
	"<Relationship Id=\"rIdF\" Type=\"" RT "hyperlink\" Target=\"file:///c:/x.exe\" TargetMode=\"External\"/>" \
	"<Relationship Id=\"rIdB\" Type=\"" RT "hyperlink\" Target=\"#top\"/>"                                     \
	"</Relationships>"
#define SET_RELS                                                                                        \
	"<Relationships xmlns=\"" RELNS "\"><Relationship Id=\"rId9\" Type=\"" RT "attachedTemplate\" " \
	"Target=\"http://example.invalid/t.dotm\" TargetMode=\"External\"/></Relationships>"
#define WNS                                                                                \
	"xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" "        \
	"xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" " \
	"xmlns:o=\"urn:schemas-microsoft-com:office:office\""
#define DOC                                                                                                                  \
	"<?xml version=\"1.0\"?><!-- a comment with SEKISHO-CDR-MARKER --><w:document " WNS "><w:body><w:p>"                 \
	"<w:r><w:t>SEKISHO-KEEP-1</w:t></w:r>"                                                                               \
	"<w:fldSimple w:instr=\" DDEAUTO cmd SEKISHO-CDR-MARKER\"><w:r><w:t>KEEP-RESULT-1</w:t></w:r></w:fldSimple>"         \
	"<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText> DD</w:instrText></w:r>"                           \
	"<w:r><w:instrText>E cmd \"SEKISHO-CDR-MARKER\"</w:instrText></w:r>"                                                 \
	"<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>KEEP-RESULT-2</w:t></w:r>"                              \
	"<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>"                                                                      \
	"<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>"                        \
	"<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>"                                                                      \
	"<w:fldSimple w:instr=\" HYPERLINK &quot;https://example.invalid/ok&quot;\"><w:r><w:t>hl1</w:t></w:r></w:fldSimple>" \
	"<w:fldSimple w:instr=\" HYPERLINK &quot;file:///c:/x.exe&quot;\"><w:r><w:t>hl2</w:t></w:r></w:fldSimple>"           \
	"<w:fldSimple w:instr=\"DDE a\"><w:fldSimple w:instr=\"DDEAUTO b\"><w:r><w:t>inner</w:t></w:r></w:fldSimple>"        \
	"<w:r><w:object><o:OLEObject r:id=\"rIdX\"/></w:object></w:r></w:fldSimple>"                                         \
	"<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText>PAGE<!--SEKISHO-CDR-MARKER--></w:instrText></w:r>" \
	"<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>"                                                                      \
	"<w:pict><v:shape xmlns:v=\"urn:schemas-microsoft-com:vml\" o:href=\"file:///c:/evil.exe\">"                         \
	"<v:imagedata src=\"http://example.invalid/beacon.png\"/></v:shape></w:pict>"                                        \
	"<w:hyperlink r:id=\"rIdH\"><w:r><w:t>web</w:t></w:r></w:hyperlink>"                                                 \
	"<w:hyperlink r:id=\"rIdF\"><w:r><w:t>file</w:t></w:r></w:hyperlink>"                                                \
	"</w:p></w:body></w:document>"
#define SETTINGS "<w:settings " WNS "><w:attachedTemplate r:id=\"rId9\"/><w:zoom w:percent=\"100\"/></w:settings>"

static const struct ent docm[] = {
	{"[Content_Types].xml", CT_DOCM, 0},
	{"_rels/.rels", ROOT_RELS, 0},
	{"word/document.xml", DOC, 0},
	{"word/_rels/document.xml.rels", DOC_RELS, 0},
	{"word/settings.xml", SETTINGS, 0},
	{"word/_rels/settings.xml.rels", SET_RELS, 0},
	{"word/vbaProject.bin", "Attribute VB_Name SEKISHO-CDR-MARKER", 0},
};

static bool has_removed(const struct cdr_ooxml_result *r, const char *item)
{
	for (size_t i = 0; i < r->nremoved; i++)
		if (strcmp(r->removed[i], item) == 0)
			return true;
	return false;
}

static void test_docm(bool keep_links)
{
	struct strbuf in = zip_of(docm, sizeof(docm) / sizeof(docm[0]));
	struct cdr_ooxml_opts o;
	struct cdr_ooxml_result r;
	void *out;
	size_t outlen, n;
	char why[128];
	char *ct, *doc, *rels, *set;

	cdr_ooxml_opts_default(&o);
	o.keep_ext_hyperlinks = keep_links;
	REQUIRE(cdr_ooxml_rebuild(in.buf, in.len, &o, &out, &outlen, &r, why, sizeof(why)) == 0);
	CHECK_STR(r.ext, "docx");
	CHECK(zip_get(out, outlen, "word/vbaProject.bin", &n) == NULL && n == 0);
	ct = zip_get(out, outlen, "[Content_Types].xml", &n);
	doc = zip_get(out, outlen, "word/document.xml", &n);
	rels = zip_get(out, outlen, "word/_rels/document.xml.rels", &n);
	set = zip_get(out, outlen, "word/settings.xml", &n);
	REQUIRE(ct && doc && rels && set);
	CHECK(!strstr(ct, "macroEnabled") && !strstr(ct, "vbaProject"), "%s", ct);
	CHECK(strstr(ct, "wordprocessingml.document.main+xml"), "%s", ct);
	CHECK(!strstr(ct, "bin"), "the Default for .bin stays only if a kept part uses it: %s", ct);
	CHECK(!strstr(doc, "SEKISHO-CDR-MARKER") && !strstr(doc, "DDE"), "%s", doc);
	CHECK(strstr(doc, "SEKISHO-KEEP-1") && strstr(doc, "KEEP-RESULT-1") && strstr(doc, "KEEP-RESULT-2"), "%s", doc);
	CHECK(strstr(doc, "PAGE"), "a harmless field stays: %s", doc);
	CHECK(!strstr(doc, "evil.exe") && !strstr(doc, "beacon"), "VML URLs go: %s", doc);
	CHECK(strstr(doc, "inner") && !strstr(doc, "OLEObject"), "nested fields are cleaned inside too: %s", doc);
	CHECK(!strstr(doc, "x.exe") && strstr(doc, "hl2"), "a file: HYPERLINK field goes, its text stays: %s", doc);
	CHECK(!strstr(doc, "example.invalid/ok") == !keep_links, "an http HYPERLINK field follows the option: %s", doc);
	CHECK(!strstr(doc, "rIdF"), "a reference to a dropped link goes: %s", doc);
	CHECK(!strstr(rels, "vbaProject") && !strstr(rels, "file:"), "%s", rels);
	CHECK(strstr(rels, "#top"), "an internal bookmark link stays: %s", rels);
	CHECK(!strstr(set, "attachedTemplate"), "%s", set);
	{
		char *srels = zip_get(out, outlen, "word/_rels/settings.xml.rels", &n);

		CHECK(srels && !strstr(srels, "attachedTemplate"), "the emptied rels part stays: %s", srels);
		free(srels);
	}
	if (keep_links) {
		CHECK(strstr(rels, "https://example.invalid/x") && strstr(doc, "rIdH"), "%s", rels);
	} else {
		CHECK(!strstr(rels, "example.invalid") && !strstr(doc, "rIdH"), "%s", rels);
		CHECK(has_removed(&r, "rel:/word/document.xml:rIdH:external:hyperlink"));
	}
	CHECK(has_removed(&r, "part:/word/vbaProject.bin"));
	CHECK(has_removed(&r, "rel:/word/document.xml:rIdVba:vbaProject:/word/vbaProject.bin"));
	CHECK(has_removed(&r, "rel:/word/document.xml:rIdF:external:hyperlink"));
	CHECK(has_removed(&r, "rel:/word/settings.xml:rId9:external:attachedTemplate"));
	CHECK(has_removed(&r, "element:/word/settings.xml:w:attachedTemplate"));
	CHECK(has_removed(&r, "field:/word/document.xml:DDEAUTO"));
	CHECK(has_removed(&r, "field:/word/document.xml:DDE"));
	CHECK(has_removed(&r, "element:/word/document.xml:o:OLEObject"));
	CHECK(has_removed(&r, "attribute:/word/document.xml:src"));
	CHECK(has_removed(&r, "attribute:/word/document.xml:href"));
	/* the rebuild of the rebuild removes nothing more and gives the same bytes */
	{
		struct cdr_ooxml_result r2;
		void *out2;
		size_t outlen2;

		REQUIRE(cdr_ooxml_rebuild(out, outlen, &o, &out2, &outlen2, &r2, why, sizeof(why)) == 0);
		CHECK_EQ_U(r2.nremoved, 0);
		CHECK(outlen2 == outlen && memcmp(out, out2, outlen) == 0, "a second rebuild is a fixed point");
		free(out2);
		cdr_ooxml_result_free(&r2);
	}
	free(ct);
	free(doc);
	free(rels);
	free(set);
	free(out);
	cdr_ooxml_result_free(&r);
	cdr_ooxml_result_free(&r); /* clears, so twice is harmless */
	strbuf_free(&in);
}

struct refusal {
	const char *what;
	struct ent e[3];
	size_t n;
	int err;
	const char *why;
};

#define CTX CT_HEAD "</Types>"
static const struct refusal refusals[] = {
	{"dot-dot", {{"[Content_Types].xml", CTX, 0}, {"../evil.xml", "x", 0}}, 2, -EINVAL, "bad-name"},
	{"inner dot-dot", {{"[Content_Types].xml", CTX, 0}, {"word/../../x.xml", "x", 0}}, 2, -EINVAL, "bad-name"},
	{"absolute", {{"[Content_Types].xml", CTX, 0}, {"/etc/passwd", "x", 0}}, 2, -EINVAL, "bad-name"},
	/* libarchive reads a backslash as a '/': the other rules then apply */
	{"backslash", {{"[Content_Types].xml", CTX, 0}, {"..\\x.xml", "x", 0}}, 2, -EINVAL, "bad-name"},
	{"empty segment", {{"[Content_Types].xml", CTX, 0}, {"word//x.xml", "x", 0}}, 2, -EINVAL, "bad-name"},
	{"drive", {{"[Content_Types].xml", CTX, 0}, {"c:x.xml", "x", 0}}, 2, -EINVAL, "bad-name"},
	{"control char", {{"[Content_Types].xml", CTX, 0}, {"a\x01.xml", "x", 0}}, 2, -EINVAL, "bad-name"},
	{"bad utf-8", {{"[Content_Types].xml", CTX, 0}, {"a\xff.xml", "x", 0}}, 2, -EINVAL, "bad-name"},
	{"duplicate",
	 {{"[Content_Types].xml", CTX, 0}, {"a.xml", "x", 0}, {"a.xml", "y", 0}},
	 3,
	 -EINVAL,
	 "duplicate-name"},
	{"duplicate case",
	 {{"[Content_Types].xml", CTX, 0}, {"Word/A.xml", "x", 0}, {"word/a.XML", "y", 0}},
	 3,
	 -EINVAL,
	 "duplicate-name"},
	{"no content types", {{"word/document.xml", "<a/>", 0}}, 1, -EMEDIUMTYPE, "not-ooxml"},
	{"no main part", {{"[Content_Types].xml", CTX, 0}, {"a.xml", "<a/>", 0}}, 2, -EMEDIUMTYPE, "not-ooxml"},
	{"content types not xml", {{"[Content_Types].xml", "<Types", 0}}, 1, -EINVAL, "bad-xml"},
	{"content types with a DTD",
	 {{"[Content_Types].xml", "<!DOCTYPE Types [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><Types>&b;</Types>",
	   0}},
	 1,
	 -EINVAL,
	 "xml-dtd"},
	{"external entity",
	 {{"[Content_Types].xml", "<!DOCTYPE Types SYSTEM \"http://example.invalid/x.dtd\"><Types/>", 0}},
	 1,
	 -EINVAL,
	 "xml-dtd"},
};

static void test_refusals(void)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *t = &refusals[i];
		struct strbuf in = zip_of(t->e, t->n);
		struct cdr_ooxml_result r;
		void *out = (void *)1;
		size_t outlen = 1;
		char why[128];
		int rc = cdr_ooxml_rebuild(in.buf, in.len, NULL, &out, &outlen, &r, why, sizeof(why));

		CHECK(rc == t->err, "%s: rc %d, want %d (%s)", t->what, rc, t->err, why);
		CHECK(strcmp(why, t->why) == 0, "%s: why \"%s\", want \"%s\"", t->what, why, t->why);
		CHECK(out == NULL && outlen == 0 && r.nremoved == 0, "%s: no output on refusal", t->what);
		strbuf_free(&in);
	}
}

static void expect(const char *what, const void *in, size_t len, const struct cdr_ooxml_opts *o, int err,
		   const char *want)
{
	struct cdr_ooxml_result r;
	void *out;
	size_t outlen;
	char why[128];
	int rc = cdr_ooxml_rebuild(in, len, o, &out, &outlen, &r, why, sizeof(why));

	CHECK(err ? rc == err : rc < 0, "%s: rc %d, want %d (%s)", what, rc, err, why);
	CHECK(!want || strcmp(why, want) == 0, "%s: why \"%s\", want \"%s\"", what, why, want);
	CHECK(out == NULL && outlen == 0, "%s: no output on refusal", what);
}

/* The caps: each one refuses with its own reason. */
static void test_caps(void)
{
	struct cdr_ooxml_opts o;
	size_t big = 4u << 20;
	char *as = malloc(big);
	struct strbuf in, deep = STRBUF_INIT;

	REQUIRE(as);
	memset(as, 'a', big);
	{
		struct ent e[] = {{"[Content_Types].xml", CTX, 0}, {"a.xml", as, big}, {"b.xml", "b", 0}};

		in = zip_of(e, 3);
	}
	cdr_ooxml_opts_default(&o);
	expect("ratio", in.buf, in.len, &o, -E2BIG, "ratio-limit");
	o.lim.max_ratio = 0;
	o.lim.max_total_bytes = 1u << 20;
	expect("total", in.buf, in.len, &o, -E2BIG, "total-size-limit");
	o.lim.max_entry_bytes = 1000;
	expect("entry size", in.buf, in.len, &o, -E2BIG, "entry-size-limit");
	cdr_ooxml_opts_default(&o);
	o.lim.max_ratio = 0;
	o.lim.max_entries = 2;
	expect("entries", in.buf, in.len, &o, -E2BIG, "entry-limit");
	cdr_ooxml_opts_default(&o);
	o.lim.max_name_len = 10;
	expect("name length", in.buf, in.len, &o, -EINVAL, "bad-name");
	strbuf_free(&in);
	free(as);

	strbuf_puts(&deep, "<w:document " WNS ">");
	for (int i = 0; i < 40; i++)
		strbuf_puts(&deep, "<w:p>");
	for (int i = 0; i < 40; i++)
		strbuf_puts(&deep, "</w:p>");
	strbuf_puts(&deep, "</w:document>");
	{
		struct ent e[] = {{"[Content_Types].xml", CT_DOCM, 0},
				  {"_rels/.rels", ROOT_RELS, 0},
				  {"word/document.xml", deep.buf, 0}};

		in = zip_of(e, 3);
	}
	cdr_ooxml_opts_default(&o);
	o.lim.max_xml_depth = 20;
	expect("depth", in.buf, in.len, &o, -E2BIG, "xml-depth-limit");
	o.lim.max_xml_depth = 64;
	{
		struct cdr_ooxml_result r;
		void *out;
		size_t outlen;
		char why[128];

		CHECK(cdr_ooxml_rebuild(in.buf, in.len, &o, &out, &outlen, &r, why, sizeof(why)) == 0, "%s", why);
		free(out);
		cdr_ooxml_result_free(&r);
	}
	for (size_t cut = 1; cut < in.len; cut += in.len / 7)
		expect("truncated", in.buf, cut, NULL, 0, NULL);
	strbuf_free(&in);
	strbuf_free(&deep);
}

/* An OLE compound file: encrypted OOXML (an EncryptedPackage stream) or a
 * legacy binary document; neither is a zip. */
static void test_cfb(void)
{
	static const unsigned char magic[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
	static const char name[] = "EncryptedPackage";
	unsigned char buf[1024] = {0};

	memcpy(buf, magic, sizeof(magic));
	expect("cfb", buf, sizeof(buf), NULL, -EMEDIUMTYPE, "not-ooxml");
	for (size_t i = 0; i + 1 < sizeof(name); i++)
		buf[600 + 2 * i] = (unsigned char)name[i];
	expect("encrypted", buf, sizeof(buf), NULL, -EACCES, "encrypted");
	expect("garbage", "hello", 5, NULL, -EMEDIUMTYPE, "not-ooxml");
	expect("empty", "", 0, NULL, -EMEDIUMTYPE, "not-ooxml");
}

int main(void)
{
	test_docm(true);
	test_docm(false);
	test_refusals();
	test_caps();
	test_cfb();
	return check_done();
}
