/* cdr_unpack (the archive converter's library): names case by case (CP932,
 * UTF-8, traversal, drive letters, Windows rules, caps), then archives
 * built here with libarchive's writer (tar, zip, gz; links, devices,
 * folders, duplicates, every cap) unpacked into the member stream and read
 * back with the trusted side's reader. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_unpack.h"
#include "test/check.h"

static void test_names(void)
{
	static const struct {
		const char *raw, *want, *why; /* why NULL: accepted */
	} cases[] = {
		{"a.txt", "a.txt", NULL},
		/* CP932 without the zip UTF-8 flag: 報告書.txt, 表示\ソフト.txt
		 * (0x5C as the second byte of 表 and ソ is not a separator) */
		{"\x95\xf1\x8d\x90\x8f\x91.txt", "報告書.txt", NULL},
		{"\x95\x5c\x8e\xa6/\x83\x5c\x83t\x83g.txt", "表示/ソフト.txt", NULL},
		{"\x97\x5c\x8e\x5a\\\x95\x5c.txt", "予算/表.txt", NULL}, /* a real backslash between */
		{"日本/macos.txt", "日本/macos.txt", NULL},              /* UTF-8 without the flag */
		{"dir\\win.txt", "dir/win.txt", NULL},
		{"./a//b/./c.txt", "a/b/c.txt", NULL},
		{"a.txt. . ", "a.txt", NULL},
		{"a<b>|\"?*.txt", "a_b_____.txt", NULL},
		{"../../etc/x", "__/__/etc/x", "unsafe-name"},
		{"a/../../x", "a/__/__/x", "unsafe-name"},
		{"..\\..\\x", "__/__/x", "unsafe-name"},
		{"/etc/passwd", "etc/passwd", "unsafe-name"},
		{"\\\\server\\share\\x", "server/share/x", "unsafe-name"},
		{"C:/Users/x.txt", "C_/Users/x.txt", "unsafe-name"},
		{"a.txt:ads", "a.txt_ads", "unsafe-name"},
		{"a\x01.txt", "a_.txt", "unsafe-name"},
		{"x\xe2\x80\xaetxt.exe", "x_txt.exe", "unsafe-name"},
		{"CON.txt", "_CON.txt", "unsafe-name"},
		{"dir/nul", "dir/_nul", "unsafe-name"},
		{"...", "_", "unsafe-name"},
		{"", "_", "unsafe-name"},
		{"/", "_", "unsafe-name"},
		{"\x80\xff", "__", "unsafe-name"}, /* neither UTF-8 nor CP932 */
		{"a/b/c/d/e.txt", "e.txt", "name-limit"},
		{"0123456789012345678901234567890123456789.txt", "0123456789012345678901234567890123456789.txt",
		 "name-limit"},
	};
	struct cdr_members_caps caps;
	cdr_members_caps_default(&caps);
	caps.max_segments = 4;
	caps.max_name_bytes = 40;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[64], why[32] = "";
		int r = cdr_unpack_name(cases[i].raw, strlen(cases[i].raw), &caps, out, sizeof out, why, sizeof why);
		if (cases[i].why) {
			CHECK(r == -EINVAL && !strcmp(why, cases[i].why), "%s: %d %s", cases[i].raw, r, why);
			if (strcmp(cases[i].why, "name-limit"))
				CHECK_STR(out, cases[i].want);
			/* the display form passes the reader, to be named in the report */
			CHECK(cdr_members_name_ok(out, strlen(out), &caps), "display %s", out);
		} else {
			CHECK(r == 0, "%s: %s", cases[i].raw, why);
			CHECK_STR(out, cases[i].want);
		}
	}
	/* a segment of 256 bytes: name-limit, and the display form still passes */
	struct cdr_members_caps dflt;
	cdr_members_caps_default(&dflt);
	char longseg[300], disp[600], w[32];
	memset(longseg, 'y', 256);
	memcpy(longseg + 256, ".txt", 5);
	CHECK(cdr_unpack_name(longseg, 260, &dflt, disp, sizeof disp, w, sizeof w) == -EINVAL &&
		      !strcmp(w, "name-limit"),
	      "256-byte segment: %s", w);
	CHECK(cdr_members_name_ok(disp, strlen(disp), &dflt), "display %s", disp);
	memcpy(longseg + 251, ".txt", 5); /* 251 + ".txt": 255 bytes, fine */
	CHECK(cdr_unpack_name(longseg, 255, &dflt, disp, sizeof disp, w, sizeof w) == 0);
	/* a NUL in the stored name */
	char out[64], why[32];
	CHECK(cdr_unpack_name("invoice.pdf\0.exe", 16, &caps, out, sizeof out, why, sizeof why) == -EINVAL);
}

/* --- archives built here ----------------------------------------------- */

struct ent {
	const char *name;
	mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO; 0: hard link to link */
	const char *data;
	size_t len; /* 0: strlen(data) */
	const char *link;
};

static int mem_open(struct archive *a, void *ud)
{
	(void)a;
	(void)ud;
	return ARCHIVE_OK;
}

static la_ssize_t mem_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	FILE *f = ud;
	return fwrite(buf, 1, n, f) == n ? (la_ssize_t)n : -1;
}

/* format "tar", "zip"; filter "gzip" or NULL */
static uint8_t *build(const char *format, const char *filter, const struct ent *e, size_t n, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct archive *a = archive_write_new();
	REQUIRE(f && a);
	REQUIRE(archive_write_set_format_by_name(a, format) == ARCHIVE_OK);
	if (filter)
		REQUIRE(archive_write_add_filter_by_name(a, filter) == ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	REQUIRE(archive_write_open(a, f, mem_open, mem_write, NULL) == ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		size_t dl = e[i].data ? (e[i].len ? e[i].len : strlen(e[i].data)) : 0;
		archive_entry_set_pathname(ae, e[i].name);
		if (e[i].type == 0) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].link);
		} else {
			archive_entry_set_filetype(ae, e[i].type);
		}
		if (e[i].type == AE_IFLNK)
			archive_entry_set_symlink(ae, e[i].link);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, e[i].type == AE_IFREG ? (la_int64_t)dl : 0);
		REQUIRE(archive_write_header(a, ae) == ARCHIVE_OK);
		if (e[i].type == AE_IFREG && dl)
			REQUIRE(archive_write_data(a, e[i].data, dl) == (la_ssize_t)dl);
		archive_entry_free(ae);
	}
	REQUIRE(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	REQUIRE(fclose(f) == 0);
	*ret_len = len;
	return (uint8_t *)buf;
}

/* unpack; parse the stream back; the description of each record as
 * "M name size" / "S name reason" joined by ';', or "R key" */
static int unpack(const uint8_t *in, size_t len, const struct cdr_members_caps *caps, char *desc, size_t desclen,
		  unsigned *ret_flags)
{
	struct cdr_unpack_opts o = {.caps = *caps};
	char *buf = NULL, why[64] = "";
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	REQUIRE(f);
	int r = cdr_unpack_run(in, len, &o, f, NULL, why, sizeof why);
	REQUIRE(fclose(f) == 0);
	struct cdr_members_stream s;
	char pwhy[64] = "";
	int pr = cdr_members_parse((const uint8_t *)buf, blen, caps, &s, pwhy, sizeof pwhy);
	CHECK(pr == 0, "converter's stream refused by the reader: %s", pwhy);
	desc[0] = 0;
	if (pr == 0) {
		size_t o2 = 0;
		for (size_t i = 0; i < s.nrec; i++) {
			const struct cdr_members_rec *rc = &s.rec[i];
			if (rc->type == CDR_MEMBERS_MEMBER)
				o2 += (size_t)snprintf(desc + o2, desclen - o2, "%sM %.*s %zu", i ? ";" : "",
						       (int)rc->name_len, rc->name, rc->len);
			else
				o2 += (size_t)snprintf(desc + o2, desclen - o2, "%sS %.*s %.*s", i ? ";" : "",
						       (int)rc->name_len, rc->name, (int)rc->len,
						       (const char *)rc->data);
			REQUIRE(o2 < desclen);
		}
		if (s.refused[0])
			snprintf(desc, desclen, "R %s", s.refused);
		CHECK((r == -EPERM) == (s.refused[0] != 0), "return %d vs stream %s", r, s.refused);
		if (r == -EPERM)
			CHECK_STR(why, s.refused);
		*ret_flags = s.flags;
		free(s.rec);
	}
	free(buf);
	return r;
}

static void test_archives(void)
{
	struct cdr_members_caps caps;
	cdr_members_caps_default(&caps);
	char desc[1024];
	unsigned flags = 0;
	size_t len;
	uint8_t *in;

	const struct ent mixed[] = {
		{"docs/", AE_IFDIR, NULL, 0, NULL},
		{"docs/a.txt", AE_IFREG, "alpha", 0, NULL},
		{"docs/link", AE_IFLNK, NULL, 0, "/etc/passwd"},
		{"docs/hard", 0, NULL, 0, "docs/a.txt"},
		{"dev/tty", AE_IFCHR, NULL, 0, NULL},
		{"fifo", AE_IFIFO, NULL, 0, NULL},
		{"DOCS/A.TXT", AE_IFREG, "again", 0, NULL},
		{"../evil.txt", AE_IFREG, "evil", 0, NULL},
		{"empty.txt", AE_IFREG, NULL, 0, NULL},
	};
	in = build("pax", NULL, mixed, sizeof mixed / sizeof mixed[0], &len);
	CHECK(unpack(in, len, &caps, desc, sizeof desc, &flags) == 0);
	CHECK_STR(desc,
		  "M docs/a.txt 5;S docs/link link;S docs/hard link;S dev/tty special-file;"
		  "S fifo special-file;S DOCS/A.TXT duplicate-name;S __/evil.txt unsafe-name;M empty.txt 0");
	free(in);

	/* the same in a zip, compressed with gzip around a tar, and with caps */
	const struct ent two[] = {
		{"a.txt", AE_IFREG, "0123456789", 0, NULL},
		{"b.txt", AE_IFREG, "01234567890123456789", 0, NULL},
	};
	in = build("zip", NULL, two, 2, &len);
	CHECK(unpack(in, len, &caps, desc, sizeof desc, &flags) == 0);
	CHECK_STR(desc, "M a.txt 10;M b.txt 20");
	struct cdr_members_caps c = caps;
	c.max_member_bytes = 15;
	CHECK(unpack(in, len, &c, desc, sizeof desc, &flags) == 0);
	CHECK_STR(desc, "M a.txt 10;S b.txt entry-size-limit");
	c = caps;
	c.max_total_bytes = 25;
	CHECK(unpack(in, len, &c, desc, sizeof desc, &flags) == -EPERM);
	CHECK_STR(desc, "R total-size-limit");
	c = caps;
	c.max_entries = 1;
	CHECK(unpack(in, len, &c, desc, sizeof desc, &flags) == -EPERM);
	CHECK_STR(desc, "R entry-limit");
	free(in);

	in = build("ustar", "gzip", two, 2, &len);
	CHECK(unpack(in, len, &caps, desc, sizeof desc, &flags) == 0);
	CHECK_STR(desc, "M a.txt 10;M b.txt 20");
	CHECK(flags == 0);
	free(in);

	/* ratio: 2 MiB of zeros deflate to about 2 KiB; the budget is
	 * ratio * input + 1 MiB: refused at 200 (the default) and 2, read at 1000 */
	size_t big = 2u << 20;
	char *zeros = calloc(1, big);
	REQUIRE(zeros);
	const struct ent bomb[] = {{"zeros.bin", AE_IFREG, zeros, big, NULL}};
	in = build("zip", NULL, bomb, 1, &len);
	c = caps;
	c.max_ratio = 2;
	CHECK(unpack(in, len, &c, desc, sizeof desc, &flags) == -EPERM);
	CHECK_STR(desc, "R ratio-limit");
	CHECK(unpack(in, len, &caps, desc, sizeof desc, &flags) == -EPERM);
	c.max_ratio = 1000;
	CHECK(unpack(in, len, &c, desc, sizeof desc, &flags) == 0);
	CHECK_STR(desc, "M zeros.bin 2097152");
	free(in);
	free(zeros);

	/* 7z with Japanese names (UTF-16 inside: they arrive as UTF-8) */
	const struct ent ja[] = {
		{"日本語/資料.txt", AE_IFREG, "shiryou", 0, NULL},
		{"表.txt", AE_IFREG, "hyou", 0, NULL},
	};
	in = build("7zip", NULL, ja, 2, &len);
	CHECK(unpack(in, len, &caps, desc, sizeof desc, &flags) == 0);
	CHECK_STR(desc, "M 日本語/資料.txt 7;M 表.txt 4");
	free(in);

	/* a single gzip'd file: one member "data", the SINGLE flag */
	const struct ent one[] = {{"x", AE_IFREG, "hello", 0, NULL}};
	in = build("raw", "gzip", one, 1, &len);
	CHECK(unpack(in, len, &caps, desc, sizeof desc, &flags) == 0);
	CHECK_STR(desc, "M data 5");
	CHECK(flags == CDR_MEMBERS_FLAG_SINGLE);
	free(in);

	/* not an archive, nothing at all, garbage */
	static const uint8_t text[] = "just a text file, not an archive\n";
	CHECK(unpack(text, sizeof text - 1, &caps, desc, sizeof desc, &flags) == -EPERM);
	CHECK_STR(desc, "R not-an-archive");
	CHECK(unpack(text, 0, &caps, desc, sizeof desc, &flags) == -EPERM);
	static const uint8_t junk[] = "PK\3\4garbage";
	CHECK(unpack(junk, sizeof junk - 1, &caps, desc, sizeof desc, &flags) == -EPERM);

	/* an empty tar: the end record with no member */
	in = build("ustar", NULL, NULL, 0, &len);
	CHECK(unpack(in, len, &caps, desc, sizeof desc, &flags) == 0);
	CHECK_STR(desc, "");
	free(in);
}

int main(void)
{
	REQUIRE(setlocale(LC_CTYPE, "C.UTF-8"));
	test_names();
	test_archives();
	return check_done();
}
