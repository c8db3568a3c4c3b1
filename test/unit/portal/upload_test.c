/* ptl_upload: a form as a browser sends it becomes a published parcel
 * (files, names cleaned, recipient, note); every refusal (CSRF missing,
 * wrong or late, recipient outside the domains, caps on size, total and
 * count, unknown and repeated fields, a file before the fields, no file,
 * malformed bodies) gives its reason key and status and leaves nothing in
 * the inbox (table-driven). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "sanitizer/portal/ptl_upload.h"
#include "test/check.h"

#define B "zzBOUNDzz"
#define CT "multipart/form-data; boundary=" B
#define FLD(n, v) "--" B "\r\nContent-Disposition: form-data; name=\"" n "\"\r\n\r\n" v "\r\n"
#define FIL(fn, v)                                                                                                  \
	"--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" fn "\"\r\nContent-Type: text/plain" \
	"\r\n\r\n" v "\r\n"
#define END "--" B "--\r\n"
#define OKHEAD FLD("csrf", "GOOD") FLD("rcpt", "sato@city.example.lg.jp")

static const char *const DOMAINS[] = {"city.example.lg.jp"};

static int csrf_check(void *arg, const char *token)
{
	(void)arg;
	return strcmp(token, "GOOD") ? -EACCES : 0;
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	REQUIRE(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static const struct {
	const char *ct;
	const char *body;
	int status;
	const char *why;
} cases[] = {
	{CT, OKHEAD FLD("note", "メモ") FIL("a.txt", "abc") END, 200, ""},
	{CT, OKHEAD FIL("", "") FIL("C:\\x\\b.txt", "") END, 200, ""},
	{"text/plain", OKHEAD FIL("a.txt", "abc") END, 400, "mp-content-type"},
	{CT, FLD("rcpt", "sato@city.example.lg.jp") FIL("a.txt", "abc") END, 403, "csrf"},
	{CT, FLD("csrf", "BAD") FLD("rcpt", "sato@city.example.lg.jp") FIL("a.txt", "abc") END, 403, "csrf"},
	{CT, FLD("csrf", "GOOD") FIL("a.txt", "abc") END, 400, "field-order"},
	{CT, FLD("csrf", "GOOD") FLD("rcpt", "sato@evil.example") FIL("a.txt", "abc") END, 400, "rcpt-domain"},
	{CT, FLD("csrf", "GOOD") FLD("rcpt", "Sato <sato@city.example.lg.jp>") FIL("a.txt", "abc") END, 400,
	 "rcpt-syntax"},
	{CT, FLD("csrf", "GOOD") FLD("rcpt", "sato@city.example.lg.jp\r\nBcc: x@evil.example") FIL("a.txt", "abc") END,
	 400, "rcpt-syntax"},
	{CT, FLD("csrf", "GOOD") END, 400, "rcpt-empty"},
	{CT, OKHEAD END, 400, "no-file"},
	{CT, OKHEAD FIL("", "") END, 400, "no-file"},
	{CT, OKHEAD FIL("", "data") END, 400, "mp-syntax"},
	{CT, OKHEAD FIL("a.txt", "12345678901") END, 413, "file-too-big"},
	{CT, OKHEAD FIL("a.txt", "1234567890") FIL("b.txt", "1234567890") FIL("c.txt", "1") END, 413, "total-too-big"},
	{CT, OKHEAD FIL("a", "1") FIL("b", "1") FIL("c", "1") FIL("d", "1") END, 413, "too-many-files"},
	{CT, OKHEAD FIL("a", "") FIL("b", "") FIL("c", "") FIL("", "") FIL("", "") FIL("", "") END, 413,
	 "too-many-files"},
	{CT, OKHEAD FLD("other", "x") FIL("a.txt", "abc") END, 400, "field-unknown"},
	{CT, OKHEAD FLD("csrf", "GOOD") FIL("a.txt", "abc") END, 400, "field-twice"},
	{CT, OKHEAD FIL("a.txt", "abc") FLD("note", "late") END, 400, "field-order"},
	{CT, OKHEAD FLD("file", "no filename") END, 400, "field-unknown"},
	{CT,
	 OKHEAD "--" B "\r\nContent-Disposition: form-data; name=\"note\"; filename=\"n\"\r\n\r\nx\r\n" FIL("a", "1")
		 END,
	 400, "field-unknown"},
	{CT, OKHEAD FLD("note", "bad\xff") FIL("a.txt", "abc") END, 400, "note-invalid"},
	{CT, OKHEAD FLD("note", "bidi\xe2\x80\xae") FIL("a.txt", "abc") END, 400, "note-invalid"},
	{CT, OKHEAD FIL("a.txt", "abc"), 400, "mp-truncated"},
	{CT,
	 OKHEAD "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n"
		"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q--\r\n" END,
	 400, "mp-nested"},
	{CT, OKHEAD "--" B "\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n" END, 400, "mp-no-name"},
	{CT, OKHEAD "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\r\nb\"\r\n\r\nx\r\n" END,
	 400, "mp-syntax"},
};

int main(void)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "/tmp/ptl-upload-test.%d", (int)getpid());
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	REQUIRE(system(cmd) == 0);
	struct ptl_inbox *ib;
	REQUIRE(ptl_inbox_open(dir, &ib) == 0);
	struct ptl_upload_opts o = {
		.inbox = ib,
		.caps = {.max_bytes = 10, .max_total = 20, .max_files = 3},
		.domains = DOMAINS,
		.ndomains = 1,
		.approval = false,
		.uploader = "yamada",
		.peer = "198.18.1.10",
		.csrf_check = csrf_check,
	};
	int published = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* whole, and in 7-byte pieces */
		for (int chunked = 0; chunked < 2; chunked++) {
			struct ptl_upload *u;
			int r = ptl_upload_new(&o, cases[i].ct, &u);
			size_t len = strlen(cases[i].body), step = chunked ? 7 : len;
			for (size_t off = 0; r == 0 && off < len; off += step)
				r = ptl_upload_feed(u, cases[i].body + off, len - off < step ? len - off : step);
			if (r == 0)
				r = ptl_upload_finish(u);
			CHECK(ptl_upload_status(u) == cases[i].status, "case %zu: status %d (%s)", i,
			      ptl_upload_status(u), ptl_upload_why(u));
			CHECK(!strcmp(ptl_upload_why(u), cases[i].why), "case %zu: why %s", i, ptl_upload_why(u));
			CHECK((r == 0) == (cases[i].status == 200), "case %zu: r %d", i, r);
			if (r == 0) {
				const struct ptl_parcel *p = ptl_upload_parcel(u);
				REQUIRE(p);
				size_t n;
				const struct ptl_inbox_file *f = ptl_parcel_files(p, &n);
				if (i == 0)
					CHECK(n == 1 && f[0].bytes == 3 && !strcmp(f[0].name, "a.txt") &&
					      !strcmp(ptl_upload_note(u), "メモ"));
				if (i == 1)
					CHECK(n == 1 && f[0].bytes == 0 && !strcmp(f[0].name, "b.txt"));
				CHECK_STR(ptl_upload_rcpt(u), "sato@city.example.lg.jp");
				published += 1 + (int)n;
			}
			ptl_upload_free(u);
			CHECK(entries(dir) == published, "case %zu: %d entries, %d expected", i, entries(dir),
			      published);
		}
	}
	ptl_inbox_close(ib);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		CHECK(0, "cleanup");
	return check_done();
}
