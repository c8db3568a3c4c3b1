/* cdr_archive: the archive handler of the trusted side (cdr.h).
 *
 * sekisho-cdr-archive unpacks the archive in the sandbox into the member
 * stream (cdr_members.h); this file reads that stream with its validating
 * reader, converts every member on its own through cdr_convert (depth + 1:
 * the member's kind decides its handler, so a docm is rebuilt, a photo
 * re-encoded, a nested zip unpacked again), and writes a NEW zip of the
 * copies: UTF-8 names with the zip UTF-8 flag (Windows' Explorer shows the
 * Japanese names), each copy named with its new extension, and a report
 * file in Japanese and English saying what was converted and what was left
 * out and why.  Nothing of the original archive's structure is copied but
 * the member names the converter made safe.
 *
 * Decisions (docs/cdr.md, "Archives"): a member without a copy is left out
 * and named in the report (the other members still reach staff); an
 * archive where no member has a copy gives no copy at all
 * ("archive-no-copy"), an empty one neither ("archive-empty"); a refusal
 * of the converter (encrypted, a bomb, a broken archive) is the archive's
 * reason.  Nesting beyond ctx->max_depth archives inside the top one is
 * refused ("depth-limit").  Time: the top archive has TIME_FACTOR times
 * one conversion's wall clock ("timeout"); each member's conversion gets
 * at most what remains, and an archive inside another takes that as its
 * whole budget, so a nest of archives ends near the top one's deadline.
 *
 * Ownership: ctx is the caller's; member reports belong to rep.  Fails
 * closed: any error returns < 0 with rep->result set; out_fd may then hold
 * part of a zip, which the caller throws away.  Never logs.  Allocation
 * failure aborts (control plane). */
#include "sanitizer/cdr/cdr.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/monotime.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "sanitizer/cdr/cdr_members.h"

/* the report inside the copy: Japanese first, as staff read it */
#define REPORT_NAME "無害化レポート_sanitization-report.txt"
/* the top archive may take this many times one conversion's wall clock */
#define TIME_FACTOR 5
/* removed items named per member in the report file; the JSON has all */
#define REPORT_REMOVED_MAX 20
/* 1980-01-01, the zip epoch: the copy's bytes depend on its input only */
#define ZIP_MTIME 315532800

/* Reason keys the converter may write.  The report gets this table's
 * static string, never bytes from the stream; a key not here means the
 * converter is not ours or is broken, and the archive is refused. */
static const char *const refusal_keys[] = {"encrypted",        "entry-limit",    "total-size-limit",
					   "ratio-limit",      "bad-archive",    "not-an-archive",
					   "input-size-limit", "wrong-password", NULL};
static const char *const skip_keys[] = {"link",           "special-file",     "unsafe-name", "name-limit",
					"duplicate-name", "entry-size-limit", "damaged",     NULL};

static const char *known_key(const char *const *table, const char *s, size_t n)
{
	for (size_t i = 0; table[i]; i++)
		if (strlen(table[i]) == n && !memcmp(table[i], s, n))
			return table[i];
	return NULL;
}

/* the zip being written, the names it holds, and the report file's text */
struct out {
	struct archive *a;
	struct cdr_names *names;
	struct strbuf copies, dropped;
	size_t ncopies, ndropped;
};

static int zip_entry(struct out *o, const char *name, uint64_t len, bool deflate)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	archive_entry_set_pathname_utf8(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, ZIP_MTIME, 0);
	r = deflate ? archive_write_zip_set_compression_deflate(o->a) : archive_write_zip_set_compression_store(o->a);
	if (r == ARCHIVE_OK)
		r = archive_write_header(o->a, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : -EIO;
}

static int zip_add_buf(struct out *o, const char *name, const void *buf, size_t len)
{
	int r = zip_entry(o, name, len, true);
	if (!r && len && archive_write_data(o->a, buf, len) != (la_ssize_t)len)
		r = -EIO;
	return r;
}

/* the copy in fd (len bytes from offset 0) as entry name */
static int zip_add_fd(struct out *o, const char *name, int fd, uint64_t len, bool deflate)
{
	uint8_t buf[65536];
	uint64_t off = 0;
	int r = zip_entry(o, name, len, deflate);

	while (!r && off < len) {
		size_t want = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (archive_write_data(o->a, buf, (size_t)n) != n)
			return -EIO;
		off += (uint64_t)n;
	}
	return r;
}

/* Text that compresses (deflated); everything else our handlers write is
 * already compressed (PNG, JPEG, PDF streams, zip containers) and stored. */
static bool compressible(const char *ext)
{
	return !strcmp(ext, "txt") || !strcmp(ext, "csv");
}

/* name with its last extension replaced by ext ("a/b.docm" -> "a/b.docx");
 * a name without one gets ext added; ext "" keeps the name */
static char *copy_name(const char *name, const char *ext)
{
	const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
	const char *dot = strrchr(base, '.');
	size_t stem = dot && dot != base ? (size_t)(dot - name) : strlen(name);
	if (!ext[0])
		return xstrdup(name);
	return xasprintf("%.*s.%s", (int)stem, name, ext);
}

/* a name no other entry of the copy has: "a.docx", then "a (2).docx" ...;
 * NULL when even "(99)" is taken */
static char *unique_name(struct out *o, const char *name)
{
	if (cdr_names_add(o->names, name, strlen(name)) == 0)
		return xstrdup(name);
	const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
	const char *dot = strrchr(base, '.');
	size_t stem = dot && dot != base ? (size_t)(dot - name) : strlen(name);
	for (int i = 2; i < 100; i++) {
		char *n = xasprintf("%.*s (%d)%s", (int)stem, name, i, name + stem);
		if (cdr_names_add(o->names, n, strlen(n)) == 0)
			return n;
		free(n);
	}
	return NULL;
}

static void note_dropped(struct out *o, struct cdr_report *rep, const char *name, const char *key)
{
	strbuf_printf(&o->dropped, "  - %s\r\n      %s / %s\r\n", name, cdr_reason_ja(key), cdr_reason_en(key));
	o->ndropped++;
	cdr_report_removed(rep, "member:%s", name);
}

static void note_copy(struct out *o, const char *name, const char *copy, const struct cdr_report *m)
{
	strbuf_printf(&o->copies, "  - %s", copy);
	if (strcmp(name, copy))
		strbuf_printf(&o->copies, "  (元のファイル / from: %s)", name);
	strbuf_printf(&o->copies, "\r\n      %s → %s", m->in_type[0] ? m->in_type : "?",
		      m->out_type[0] ? m->out_type : "?");
	if (m->mode)
		strbuf_printf(&o->copies, ", %s", m->mode);
	if (m->nremoved + m->nremoved_more)
		strbuf_printf(&o->copies, "; 削除 / removed: %zu", m->nremoved + m->nremoved_more);
	strbuf_puts(&o->copies, "\r\n");
	for (size_t i = 0; i < m->nremoved && i < REPORT_REMOVED_MAX; i++)
		strbuf_printf(&o->copies, "        %s\r\n", m->removed[i]);
	if (m->nremoved + m->nremoved_more > REPORT_REMOVED_MAX)
		strbuf_printf(&o->copies, "        ほか / and %zu more\r\n",
			      m->nremoved + m->nremoved_more - REPORT_REMOVED_MAX);
	o->ncopies++;
}

/* The name a single compressed file's member gets: the outer name's last
 * component without its last extension ("x.csv.gz" -> "x.csv"), or "data". */
static char *single_name(const struct cdr_report *rep)
{
	struct cdr_members_caps caps;
	cdr_members_caps_default(&caps);
	if (!rep->name)
		return xstrdup("data");
	const char *slash = strrchr(rep->name, '/'), *base = slash ? slash + 1 : rep->name;
	const char *dot = strrchr(base, '.');
	size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (len == 0 || !cdr_members_name_ok(base, len, &caps) || memchr(base, '/', len))
		return xstrdup("data");
	return xstrndup(base, len);
}

/* One member: into a memfd, through cdr_convert one level deeper, and its
 * copy into the zip.  Returns 0 (whether or not the member has a copy: its
 * own report says), or -errno when the environment failed (no memfd, the
 * zip cannot be written): the whole archive then fails. */
static int one_member(const struct cdr_ctx *ctx, struct cdr_report *rep, struct out *o, const char *name,
		      const uint8_t *data, size_t len, int64_t deadline)
{
	struct cdr_report *m = cdr_report_member(rep, name);
	struct cdr_ctx sub = *ctx;
	int in = -1, copy = -1, rc;
	struct stat st;

	sub.depth = ctx->depth + 1;
	/* never past the archive's deadline (by more than the sandbox's own
	 * reaction time); at least 1 ms: 0 may mean "no limit" to a caller */
	int64_t left = deadline - monotime_ms();
	if (left < (int64_t)sub.limits.timeout_ms)
		sub.limits.timeout_ms = left > 0 ? (unsigned)left : 1;
	in = cdr_memfd("cdr-member");
	copy = cdr_memfd("cdr-member-copy");
	if (in < 0 || copy < 0) {
		rc = in < 0 ? in : copy;
		goto out;
	}
	if ((rc = fdio_write_all(in, data, len)) || lseek(in, 0, SEEK_SET) < 0) {
		rc = rc ? rc : -errno;
		goto out;
	}
	if (cdr_convert(&sub, name, in, copy, m) < 0) {
		note_dropped(o, rep, name, m->result ? m->result : "internal-error");
		rc = 0;
		goto out;
	}
	if (fstat(copy, &st) < 0) {
		rc = -errno;
		goto out;
	}
	char *want = copy_name(name, m->out_ext), *got = unique_name(o, want);
	free(want);
	if (!got) {
		/* the member's copy is not delivered: its report must not say
		 * there is one */
		m->out_sha256[0] = 0;
		m->out_bytes = 0;
		m->out_type[0] = 0;
		m->out_ext[0] = 0;
		cdr_report_fail(m, "duplicate-name", "no free name for the copy");
		note_dropped(o, rep, name, "duplicate-name");
		rc = 0;
		goto out;
	}
	rc = zip_add_fd(o, got, copy, (uint64_t)st.st_size, compressible(m->out_ext));
	if (!rc) {
		note_copy(o, name, got, m);
		m->out_name = got; /* the report keeps where the copy is */
		got = NULL;
	}
	free(got);
out:
	if (in >= 0)
		close(in);
	if (copy >= 0)
		close(copy);
	return rc;
}

static int write_report_file(struct out *o, const struct cdr_report *rep)
{
	struct strbuf t = STRBUF_INIT;
	strbuf_puts(&t, "\xef\xbb\xbf"); /* BOM: older Notepad and Excel take UTF-8 for CP932 without it */
	strbuf_puts(&t, "ファイル無害化レポート / File sanitization report (sekisho)\r\n\r\n");
	strbuf_printf(&t, "元のファイル / Original: %s (%s)\r\n\r\n", rep->name ? rep->name : "-",
		      rep->in_type[0] ? rep->in_type : "archive");
	strbuf_printf(&t, "無害化したファイル / Sanitized copies: %zu\r\n%s\r\n", o->ncopies, strbuf_str(&o->copies));
	strbuf_printf(&t, "含めなかったファイル / Not included: %zu\r\n%s", o->ndropped, strbuf_str(&o->dropped));
	if (o->ndropped)
		strbuf_puts(
			&t,
			"\r\n含めなかったファイルの原本は隔離されたままです。必要なときは管理者に連絡してください。\r\n"
			"The originals of the files not included stay in quarantine; ask an administrator if "
			"you need them.\r\n");
	int r = zip_add_buf(o, REPORT_NAME, t.buf, t.len);
	strbuf_free(&t);
	return r;
}

/* the stream: converter refusal, empty archive, or every member in turn */
static int convert_stream(const struct cdr_ctx *ctx, const struct cdr_members_stream *s, int out_fd,
			  struct cdr_report *rep)
{
	struct out o = {.names = cdr_names_new(), .copies = STRBUF_INIT, .dropped = STRBUF_INIT};
	/* an archive inside another was given what remained of its parent's
	 * time as its timeout (one_member): that is its whole budget */
	uint64_t budget = (uint64_t)ctx->limits.timeout_ms * (ctx->depth == 0 ? TIME_FACTOR : 1);
	int64_t deadline = monotime_ms() + (int64_t)budget;
	int rc = 0;

	cdr_names_add(o.names, REPORT_NAME, strlen(REPORT_NAME));
	o.a = archive_write_new();
	if (archive_write_set_format_zip(o.a) != ARCHIVE_OK ||
	    archive_write_set_options(o.a, "zip:hdrcharset=UTF-8") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(o.a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(o.a, out_fd) != ARCHIVE_OK) {
		rc = cdr_report_fail(rep, "internal-error", "zip writer: %s", archive_error_string(o.a));
		goto out;
	}
	for (size_t i = 0; i < s->nrec; i++) {
		const struct cdr_members_rec *r = &s->rec[i];
		char *name = (s->flags & CDR_MEMBERS_FLAG_SINGLE) ? single_name(rep) : xstrndup(r->name, r->name_len);
		if (r->type == CDR_MEMBERS_SKIPPED) {
			const char *key = known_key(skip_keys, (const char *)r->data, r->len);
			if (!key) {
				free(name);
				rc = cdr_report_fail(rep, "converter-output", "unknown skip reason");
				goto out;
			}
			cdr_report_fail(cdr_report_member(rep, name), key, "left out by the archive converter");
			note_dropped(&o, rep, name, key);
		} else if (monotime_ms() > deadline) {
			free(name);
			rc = cdr_report_fail(rep, "timeout", "archive: %zu of %zu records done in %llu ms", i, s->nrec,
					     (unsigned long long)budget);
			goto out;
		} else if ((rc = one_member(ctx, rep, &o, name, r->data, r->len, deadline))) {
			free(name);
			rc = cdr_report_fail(rep, "internal-error", "member: %s", strerror(-rc));
			goto out;
		}
		free(name);
	}
	if (o.ncopies == 0) {
		const struct cdr_report *first = rep->nmembers ? &rep->members[0] : NULL;
		rc = cdr_report_fail(rep, "archive-no-copy", "none of %zu members has a safe copy (%s: %s)",
				     rep->nmembers, first && first->name ? first->name : "-",
				     first && first->result ? first->result : "-");
		goto out;
	}
	if ((rc = write_report_file(&o, rep)) || archive_write_close(o.a) != ARCHIVE_OK) {
		rc = cdr_report_fail(rep, "internal-error", "zip writer: %s", archive_error_string(o.a));
		goto out;
	}
	rc = 0;
out:
	archive_write_free(o.a);
	cdr_names_free(o.names);
	strbuf_free(&o.copies);
	strbuf_free(&o.dropped);
	return rc;
}

/* A memfd with "<length>\n<password>" and then the archive's bytes: the
 * converter's stdin for PPAP (sekisho-cdr-archive --password).  The fd,
 * or -errno. */
static int with_password(const char *password, int in_fd)
{
	int fd = cdr_memfd("cdr-archive-ppap");
	if (fd < 0)
		return fd;
	char head[16];
	int hl = snprintf(head, sizeof head, "%zu\n", strlen(password));
	int r = fdio_write_all(fd, head, (size_t)hl);
	if (r == 0)
		r = fdio_write_all(fd, password, strlen(password));
	uint8_t buf[65536];
	off_t off = 0;
	while (r == 0) {
		ssize_t n = pread(in_fd, buf, sizeof buf, off);
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = fdio_write_all(fd, buf, (size_t)n);
		off += n;
	}
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int cdr_archive_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep)
{
	const char *argv_top[] = {"sekisho-cdr-archive", NULL};
	const char *argv_nested[] = {"sekisho-cdr-archive", "--nested", NULL};
	const char *argv_pw[] = {"sekisho-cdr-archive", "--password", NULL};
	struct cdr_members_caps caps;
	struct cdr_sandbox_limits lim = ctx->limits;
	struct cdr_sandbox_result res = {0};
	struct cdr_members_stream s = {0};
	void *map = MAP_FAILED;
	struct stat st;
	char why[64] = "";
	int mfd = -1, rc;

	rep->mode = "archive";
	snprintf(rep->out_type, sizeof rep->out_type, "zip");
	snprintf(rep->out_ext, sizeof rep->out_ext, "zip");
	/* cdr_convert checks this before it calls us; the same test here
	 * keeps a direct caller from unbounded recursion */
	if (ctx->depth >= ctx->max_depth)
		return cdr_report_fail(rep, "depth-limit", "archive at nesting depth %u (limit %u)", ctx->depth,
				       ctx->max_depth);
	cdr_members_caps_default(&caps);
	if (ctx->depth > 0)
		cdr_members_caps_nested(&caps);
	lim.out_max = cdr_members_stream_max(&caps);

	mfd = cdr_memfd("cdr-archive-members");
	if (mfd < 0)
		return cdr_report_fail(rep, "internal-error", "memfd: %s", strerror(-mfd));
	int pfd = -1;
	if (ctx->depth == 0 && ctx->archive_password) {
		/* PPAP: the password goes first on the converter's stdin */
		pfd = with_password(ctx->archive_password, in_fd);
		if (pfd < 0) {
			close(mfd);
			return cdr_report_fail(rep, "internal-error", "password input: %s", strerror(-pfd));
		}
	}
	rc = cdr_run_converter(ctx,
			       pfd >= 0                 ? argv_pw
				       : ctx->depth > 0 ? argv_nested
							: argv_top,
			       pfd >= 0 ? pfd : in_fd, mfd, &lim, &res);
	if (pfd >= 0)
		close(pfd);
	/* exit 1 is the converter's refusal: its key is in the stream's last
	 * record (the sandbox keeps only the start of stderr, where the
	 * member lines come first) */
	bool refused_run = rc >= 0 && res.reason && !strcmp(res.reason, "exit-status") && res.exit_status == 1;
	if (rc < 0 || !res.reason || (strcmp(res.reason, "ok") && !refused_run)) {
		rc = cdr_fail_from_run(rep, &res, rc);
		goto out;
	}
	if (fstat(mfd, &st) < 0) {
		rc = cdr_report_fail(rep, "internal-error", "fstat: %s", strerror(errno));
		goto out;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > lim.out_max) {
		rc = cdr_report_fail(rep, "converter-output", "member stream of %lld bytes", (long long)st.st_size);
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mfd, 0);
	if (map == MAP_FAILED) {
		rc = cdr_report_fail(rep, "internal-error", "mmap: %s", strerror(errno));
		goto out;
	}
	rc = cdr_members_parse(map, (size_t)st.st_size, &caps, &s, why, sizeof why);
	if (rc < 0) {
		rc = cdr_report_fail(rep, "converter-output", "member stream: %s", why[0] ? why : strerror(-rc));
		goto out;
	}
	if (s.refused[0] || refused_run) {
		const char *key = known_key(refusal_keys, s.refused, strlen(s.refused));
		rc = key && refused_run ? cdr_report_fail(rep, key, "archive refused by the converter")
					: cdr_report_fail(rep, "converter-output", "refusal without its record");
		goto out;
	}
	if (s.nrec == 0) {
		rc = cdr_report_fail(rep, "archive-empty", "no member");
		goto out;
	}
	rc = convert_stream(ctx, &s, out_fd, rep);
out:
	free(s.rec);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(mfd);
	return rc < 0 ? rc : 0;
}
