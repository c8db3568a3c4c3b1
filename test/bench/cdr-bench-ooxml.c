/* cdr-bench-ooxml: the OOXML rebuild (cdr_ooxml_rebuild) against a plain
 * unzip + rezip of the same files with libarchive (every entry read into
 * memory, a new deflate zip written with the same writer settings), in the
 * same run.  The rezip is the floor: the rebuild does the same zip work plus
 * the content-type, relationship and XML rewrite.
 *
 * Usage: cdr-bench-ooxml [DIR] [ROUNDS]
 *   DIR default $SEKISHO_SOURCE_ROOT/../shared/corpus/files/office: every
 *   .docx/.docm/.dotm/.xlsx/.xlsm/.pptx/.pptm that is a zip; ROUNDS default 20.
 * Rounds alternate the two sides; the headline numbers are medians of the
 * rounds (shared machines are noisy).  Output, one JSON line:
 *   {"bench":"cdr","case":"ooxml","files":N,"in_bytes":...,"rounds":R,
 *    "cdr_files_per_s":...,"rezip_files_per_s":...,"ratio":...,
 *    "cdr_mib_per_s":...,"peak_rss_mib":...}
 * ratio = cdr_files_per_s / rezip_files_per_s (target >= 0.5).
 * Run by test/bench/cdr-bench (case ooxml) with the other CDR cases.
 * Not a test: it never fails on timings. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/fdio.h"
#include "common/monotime.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "sanitizer/cdr/cdr_ooxml.h"

struct file {
	void *data;
	size_t len;
};

static la_ssize_t sb_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	strbuf_append(ud, buf, n);
	return (la_ssize_t)n;
}

/* The floor: every entry unzipped into memory, then a new deflate zip. */
static size_t rezip(const struct file *f)
{
	struct archive *r = archive_read_new(), *w = archive_write_new();
	struct archive_entry *e;
	struct strbuf out = STRBUF_INIT, ent = STRBUF_INIT;
	size_t n;

	archive_read_support_format_zip_seekable(r);
	archive_write_set_format_zip(w);
	archive_write_set_options(w, "zip:compression=deflate");
	archive_write_set_bytes_in_last_block(w, 1);
	archive_write_open2(w, &out, NULL, sb_write, NULL, NULL);
	if (archive_read_open_memory(r, f->data, f->len) == ARCHIVE_OK)
		while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
			struct archive_entry *o = archive_entry_new();
			char buf[65536];
			la_ssize_t got;

			strbuf_reset(&ent);
			while ((got = archive_read_data(r, buf, sizeof(buf))) > 0)
				strbuf_append(&ent, buf, (size_t)got);
			archive_entry_set_pathname(o, archive_entry_pathname(e));
			archive_entry_set_filetype(o, AE_IFREG);
			archive_entry_set_perm(o, 0644);
			archive_entry_set_size(o, (la_int64_t)ent.len);
			archive_write_header(w, o);
			if (ent.len)
				archive_write_data(w, ent.buf, ent.len);
			archive_entry_free(o);
		}
	archive_write_close(w);
	archive_write_free(w);
	archive_read_free(r);
	n = out.len;
	strbuf_free(&out);
	strbuf_free(&ent);
	return n;
}

static size_t rebuild(const struct file *f)
{
	struct cdr_ooxml_result res;
	void *out;
	size_t outlen = 0;
	char why[128];

	if (cdr_ooxml_rebuild(f->data, f->len, NULL, &out, &outlen, &res, why, sizeof(why)) == 0) {
		free(out);
		cdr_ooxml_result_free(&res);
	}
	return outlen;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *root = getenv("SEKISHO_SOURCE_ROOT");
	char *dir = argc > 1 ? xstrdup(argv[1]) : xasprintf("%s/../shared/corpus/files/office", root ? root : ".");
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	struct file *files = NULL;
	size_t nfiles = 0, in_bytes = 0;
	double *t_cdr, *t_zip;
	struct dirent *de;
	struct rusage ru;
	DIR *d = opendir(dir);

	if (!d || rounds < 1) {
		fprintf(stderr, "usage: cdr-bench-ooxml [DIR] [ROUNDS]  (cannot open %s)\n", dir);
		return 2;
	}
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		static const char *const ext[] = {".docx", ".docm", ".dotm", ".xlsx", ".xlsm", ".pptx", ".pptm"};
		struct file f;
		char *path;
		bool ok = false;

		for (size_t i = 0; dot && i < sizeof(ext) / sizeof(ext[0]); i++)
			ok = ok || strcmp(dot, ext[i]) == 0;
		if (!ok)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (fdio_read_file(path, 64u << 20, &f.data, &f.len) == 0 && f.len > 2 &&
		    memcmp(f.data, "PK", 2) == 0) {
			files = xreallocarray(files, nfiles + 1, sizeof(*files));
			files[nfiles++] = f;
			in_bytes += f.len;
		} else if (f.data) {
			free(f.data);
		}
		free(path);
	}
	closedir(d);
	if (!nfiles) {
		fprintf(stderr, "cdr-bench-ooxml: no OOXML zip in %s\n", dir);
		return 2;
	}
	t_cdr = xcalloc((size_t)rounds, sizeof(double));
	t_zip = xcalloc((size_t)rounds, sizeof(double));
	for (int r = 0; r < rounds; r++) {
		int64_t t0 = monotime_ns();

		for (size_t i = 0; i < nfiles; i++)
			rebuild(&files[i]);
		int64_t t1 = monotime_ns();

		for (size_t i = 0; i < nfiles; i++)
			rezip(&files[i]);
		int64_t t2 = monotime_ns();

		t_cdr[r] = (double)(t1 - t0) / 1e9;
		t_zip[r] = (double)(t2 - t1) / 1e9;
	}
	qsort(t_cdr, (size_t)rounds, sizeof(double), cmp_double);
	qsort(t_zip, (size_t)rounds, sizeof(double), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	double c = t_cdr[rounds / 2], z = t_zip[rounds / 2];
	printf("{\"bench\":\"cdr\",\"case\":\"ooxml\",\"files\":%zu,\"in_bytes\":%zu,\"rounds\":%d,"
	       "\"cdr_files_per_s\":%.1f,\"rezip_files_per_s\":%.1f,\"ratio\":%.3f,\"cdr_mib_per_s\":%.2f,"
	       "\"peak_rss_mib\":%.1f}\n",
	       nfiles, in_bytes, rounds, (double)nfiles / c, (double)nfiles / z, z / c,
	       (double)in_bytes / c / (1 << 20), (double)ru.ru_maxrss / 1024.0);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].data);
	free(files);
	free(t_cdr);
	free(t_zip);
	free(dir);
	return 0;
}
