/* cdr_unpack: an archive into the member stream, inside the sandbox (see
 * cdr_unpack.h for what is dropped, skipped and refused, and why).
 *
 * libarchive reads the archive from memory with only the formats and
 * filters we mean to read: zip from its central directory (what Windows'
 * Explorer reads, and the only way to see every entry's flags), 7z, tar,
 * lha, and a single file under gzip, bzip2, xz or lzma ("raw", only when a
 * filter is there: raw without one would take any file for an archive).
 * No filter that runs an external program.  Each member is read into
 * memory under the member cap before its record is written, because the
 * record carries its size first.  Everything allocated is freed before
 * cdr_unpack_run returns; allocation failure aborts (xalloc). */
#include "sanitizer/cdr/cdr_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#define MIB ((uint64_t)1 << 20)

void cdr_unpack_opts_default(struct cdr_unpack_opts *ret_opts)
{
	*ret_opts = (struct cdr_unpack_opts){0};
	cdr_members_caps_default(&ret_opts->caps);
}

/* --- names ------------------------------------------------------------- */

/* raw CP932 bytes to UTF-8 (malloc'd), or NULL when they are not CP932 */
static char *from_cp932(const char *raw, size_t rawlen)
{
	iconv_t cd = iconv_open("UTF-8", "CP932");
	if (cd == (iconv_t)-1)
		return NULL;
	size_t cap = rawlen * 3 + 1, left = cap - 1, inleft = rawlen;
	/* iconv's input is not const: give it a copy */
	char *copy = xstrndup(raw, rawlen), *in = copy;
	char *out = xmalloc(cap), *o = out;
	if (iconv(cd, &in, &inleft, &o, &left) == (size_t)-1 || inleft != 0) {
		free(out);
		out = NULL;
	} else {
		*o = 0;
	}
	iconv_close(cd);
	free(copy);
	if (out && !utf8_valid(out, strlen(out))) {
		free(out);
		out = NULL;
	}
	return out;
}

/* Appends one segment s[0..n) (valid UTF-8, no separator) to sb in its
 * safe form; returns false when the segment makes the name unsafe (the
 * display form is appended all the same). */
static bool add_segment(struct strbuf *sb, const char *s, size_t n)
{
	bool ok = true;
	size_t start = sb->len;

	if (n == 2 && s[0] == '.' && s[1] == '.') {
		strbuf_puts(sb, "__");
		return false;
	}
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_decode(s + i, n - i, &cp);
		if (l == 0) { /* cannot happen: the caller checked the whole name */
			strbuf_putc(sb, '_');
			ok = false;
			i++;
			continue;
		}
		if (cp == ':' || cdr_members_bad_code_point(cp)) {
			strbuf_putc(sb, '_');
			ok = false;
		} else if (cp < 0x80 && strchr("<>\"|?*", (int)cp)) {
			strbuf_putc(sb, '_'); /* Windows cannot name a file so: rewritten, not refused */
		} else {
			strbuf_append(sb, s + i, l);
		}
		i += l;
	}
	/* Windows drops trailing dots and spaces: "a.txt." would be "a.txt" */
	while (sb->len > start && (sb->buf[sb->len - 1] == '.' || sb->buf[sb->len - 1] == ' '))
		sb->buf[--sb->len] = 0;
	if (sb->len == start) {
		strbuf_putc(sb, '_');
		ok = false;
	}
	if (cdr_members_device_name(sb->buf + start, sb->len - start)) {
		/* "_CON.txt" for the report */
		char *seg = xstrndup(sb->buf + start, sb->len - start);
		sb->len = start;
		sb->buf[start] = 0;
		strbuf_putc(sb, '_');
		strbuf_puts(sb, seg);
		free(seg);
		ok = false;
	}
	return ok;
}

/* cut s to at most max bytes at a character boundary */
static void cut_utf8(struct strbuf *sb, size_t max)
{
	if (sb->len <= max)
		return;
	size_t n = utf8_valid_prefix(sb->buf, max);
	sb->len = n;
	sb->buf[n] = 0;
}

int cdr_unpack_name(const char *raw, size_t rawlen, const struct cdr_members_caps *caps, char *ret, size_t retlen,
		    char *why, size_t whylen)
{
	struct strbuf sb = STRBUF_INIT;
	const char *bad = NULL;
	char *u;
	size_t segments = 0, longest = 0;

	if (memchr(raw, 0, rawlen))
		bad = "unsafe-name";
	if (utf8_valid(raw, rawlen)) {
		u = xstrndup(raw, rawlen);
	} else if (!(u = from_cp932(raw, rawlen))) {
		/* neither UTF-8 nor CP932: show the ASCII, '_' for the rest */
		u = xstrndup(raw, rawlen);
		for (size_t i = 0; i < rawlen; i++)
			if ((unsigned char)u[i] >= 0x80)
				u[i] = '_';
		bad = "unsafe-name";
	}
	size_t ul = strlen(u); /* a NUL ends the name here; it was noted above */
	/* "/x", "\\server\share", "\x": absolute */
	if (ul && (u[0] == '/' || u[0] == '\\'))
		bad = "unsafe-name";
	for (size_t i = 0; i < ul;) {
		size_t j = i;
		while (j < ul && u[j] != '/' && u[j] != '\\')
			j++;
		size_t n = j - i;
		if (n && !(n == 1 && u[i] == '.')) {
			if (segments++)
				strbuf_putc(&sb, '/');
			size_t before = sb.len;
			if (!add_segment(&sb, u + i, n))
				bad = "unsafe-name";
			if (sb.len - before > longest)
				longest = sb.len - before;
		}
		i = j + 1;
	}
	free(u);
	if (sb.len == 0) {
		strbuf_putc(&sb, '_');
		bad = "unsafe-name";
		segments = 1;
	}
	if (!bad &&
	    (sb.len > caps->max_name_bytes || segments > caps->max_segments || longest > CDR_MEMBERS_SEGMENT_MAX))
		bad = "name-limit";
	if (!bad && !cdr_members_name_ok(sb.buf, sb.len, caps))
		bad = "unsafe-name"; /* not expected: the steps above make it safe */
	if (bad &&
	    (sb.len > caps->max_name_bytes || segments > caps->max_segments ||
	     !cdr_members_name_ok(sb.buf, sb.len, caps))) {
		/* the display form must itself pass the reader: keep the last
		 * segment, cut to the caps */
		const char *last = strrchr(sb.buf, '/');
		char *base = xstrdup(last ? last + 1 : sb.buf);
		strbuf_reset(&sb);
		strbuf_puts(&sb, base);
		free(base);
		cut_utf8(&sb, caps->max_name_bytes < 64 ? caps->max_name_bytes : 64);
		while (sb.len && (sb.buf[sb.len - 1] == '.' || sb.buf[sb.len - 1] == ' '))
			sb.buf[--sb.len] = 0;
		if (!cdr_members_name_ok(sb.buf, sb.len, caps)) {
			strbuf_reset(&sb);
			strbuf_putc(&sb, '_');
		}
	}
	snprintf(ret, retlen, "%s", strbuf_str(&sb));
	strbuf_free(&sb);
	if (bad) {
		snprintf(why, whylen, "%s", bad);
		return -EINVAL;
	}
	return 0;
}

/* --- zip names with a NUL ---------------------------------------------- */

static unsigned le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint64_t le32(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static void add_nul_name(struct cdr_names *set, const uint8_t *name, size_t n)
{
	if (!memchr(name, 0, n))
		return;
	size_t l = strnlen((const char *)name, n);
	if (!cdr_names_has(set, (const char *)name, l))
		cdr_names_add(set, (const char *)name, l);
	/* libarchive may have turned backslashes into '/' */
	char *c = xstrndup((const char *)name, l);
	for (char *p = c; *p; p++)
		if (*p == '\\')
			*p = '/';
	if (!cdr_names_has(set, c, l))
		cdr_names_add(set, c, l);
	free(c);
}

/* libarchive ends a name at its first NUL ("invoice.pdf\0.exe" becomes
 * "invoice.pdf"), which hides what other tools show.  Walk the central
 * directory and each entry's local header for names with a NUL and
 * collect the part before it; a zip64 directory is not walked (libarchive
 * still reads it; the NUL trick then goes unseen: docs/cdr.md). */
static void zip_nul_names(const uint8_t *in, size_t len, size_t max_entries, struct cdr_names *set)
{
	size_t eocd = 0;
	bool found = false;

	if (len < 22)
		return;
	for (size_t back = 0; back <= 65535 + 22 && back <= len - 22; back++) {
		size_t p = len - 22 - back;
		if (!memcmp(in + p, "PK\5\6", 4)) {
			eocd = p;
			found = true;
			break;
		}
	}
	if (!found)
		return;
	uint64_t count = le16(in + eocd + 10), off = le32(in + eocd + 16);
	for (uint64_t i = 0; i < count && i <= max_entries; i++) {
		if (off > len || len - off < 46 || memcmp(in + off, "PK\1\2", 4))
			return;
		size_t n = le16(in + off + 28), m = le16(in + off + 30), k = le16(in + off + 32);
		uint64_t lho = le32(in + off + 42);
		if (len - off - 46 < n)
			return;
		add_nul_name(set, in + off + 46, n);
		if (lho < len && len - lho >= 30 && !memcmp(in + lho, "PK\3\4", 4)) {
			size_t ln = le16(in + lho + 26);
			if (len - lho - 30 >= ln)
				add_nul_name(set, in + lho + 30, ln);
		}
		off += 46 + n + m + k;
	}
}

/* --- the archive --------------------------------------------------------- */

struct unpack {
	const struct cdr_unpack_opts *o;
	FILE *out, *log;
	struct archive *a;
	struct cdr_names *names, *nul_names;
	uint64_t nrec, entries, expanded, kept, budget;
	bool header_written, is_zip;
	char *why;
	size_t whylen;
};

static int refuse(struct unpack *u, const char *key)
{
	snprintf(u->why, u->whylen, "%s", key);
	if (u->log)
		fprintf(u->log, "refused %s\n", key);
	if (!u->header_written && cdr_members_write_header(u->out, 0))
		return -EIO;
	u->header_written = true;
	return cdr_members_write_refused(u->out, key) ? -EIO : -EPERM;
}

static int skip(struct unpack *u, const char *name, const char *reason)
{
	if (u->log)
		fprintf(u->log, "skipped %s %s\n", name, reason);
	u->nrec++;
	return cdr_members_write_skipped(u->out, name, reason);
}

/* Reads the current entry's data: into *ret (NULL to count and drop),
 * at most cap bytes; -EFBIG past it, -EPERM when a whole-archive cap is
 * reached (why set by the caller), -EIO for a read error. */
static int read_data(struct unpack *u, uint64_t cap, uint8_t **ret, size_t *ret_len)
{
	uint8_t *buf = NULL;
	size_t len = 0, bcap = 0;
	int rc = 0;

	for (;;) {
		uint8_t chunk[65536];
		la_ssize_t n = archive_read_data(u->a, chunk, sizeof chunk);
		if (n == 0)
			break;
		if (n < 0) {
			rc = -EIO;
			break;
		}
		u->expanded += (uint64_t)n;
		if (u->expanded > u->budget) {
			rc = -EPERM;
			break;
		}
		if ((uint64_t)len + (uint64_t)n > cap) {
			rc = -EFBIG;
			break;
		}
		if (ret) {
			xgrow(&buf, &bcap, len + (size_t)n, 1);
			memcpy(buf + len, chunk, (size_t)n);
		}
		len += (size_t)n;
	}
	if (rc || !ret) {
		free(buf);
		buf = NULL;
	}
	if (ret)
		*ret = buf;
	*ret_len = len;
	return rc;
}

static int first_header(struct unpack *u)
{
	unsigned flags = 0;
	if (archive_format(u->a) == ARCHIVE_FORMAT_RAW) {
		/* raw without a filter is any file at all */
		if (archive_filter_count(u->a) < 2)
			return refuse(u, "not-an-archive");
		flags = CDR_MEMBERS_FLAG_SINGLE;
	}
	u->is_zip = (archive_format(u->a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP;
	u->header_written = true;
	return cdr_members_write_header(u->out, flags) ? -EIO : 0;
}

static int one_entry(struct unpack *u, struct archive_entry *e)
{
	const struct cdr_members_caps *caps = &u->o->caps;
	char name[1024], why[32];
	const char *raw = archive_entry_pathname(e);
	size_t rawlen = raw ? strlen(raw) : 0;
	int rc;

	if (archive_entry_is_encrypted(e) && !u->o->password)
		return refuse(u, "encrypted");
	mode_t type = archive_entry_filetype(e);
	if (type == AE_IFDIR)
		return 0;
	bool name_ok = raw && cdr_unpack_name(raw, rawlen, caps, name, sizeof name, why, sizeof why) == 0;
	if (!raw) {
		snprintf(name, sizeof name, "_");
		snprintf(why, sizeof why, "unsafe-name");
	}
	if (archive_entry_hardlink(e) || type == AE_IFLNK)
		return skip(u, name, "link");
	if (type != AE_IFREG)
		return skip(u, name, "special-file");
	if (name_ok && u->is_zip && cdr_names_has(u->nul_names, raw, rawlen)) {
		name_ok = false;
		snprintf(why, sizeof why, "unsafe-name");
	}
	if (!name_ok)
		return skip(u, name, why);
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (uint64_t)archive_entry_size(e) > caps->max_member_bytes)
		return skip(u, name, "entry-size-limit");
	if (cdr_names_has(u->names, name, strlen(name)) || cdr_names_add(u->names, name, strlen(name)))
		return skip(u, name, "duplicate-name");

	uint8_t *data = NULL;
	size_t len = 0;
	rc = read_data(u, caps->max_member_bytes, &data, &len);
	if (rc == -EPERM)
		return refuse(u, "ratio-limit");
	if (rc == -EFBIG)
		return skip(u, name, "entry-size-limit");
	if (rc == -EIO) {
		if (archive_entry_is_encrypted(e) || archive_read_has_encrypted_entries(u->a) > 0)
			return refuse(u, u->o->password ? "wrong-password" : "encrypted");
		return skip(u, name, "damaged");
	}
	if (len > caps->max_total_bytes - u->kept) {
		free(data);
		return refuse(u, "total-size-limit");
	}
	u->kept += len;
	u->nrec++;
	if (u->log)
		fprintf(u->log, "member %s %zu\n", name, len);
	rc = cdr_members_write_member(u->out, name, data, len);
	free(data);
	return rc;
}

int cdr_unpack_run(const uint8_t *in, size_t len, const struct cdr_unpack_opts *opts, FILE *out, FILE *log, char *why,
		   size_t whylen)
{
	struct unpack u = {.o = opts, .out = out, .log = log, .why = why, .whylen = whylen};
	struct archive_entry *e;
	int rc = 0, r;

	u.budget = (uint64_t)opts->caps.max_ratio * len + MIB;
	u.names = cdr_names_new();
	u.nul_names = cdr_names_new();
	zip_nul_names(in, len, opts->caps.max_entries, u.nul_names);
	u.a = archive_read_new();
	archive_read_support_format_zip_seekable(u.a);
	archive_read_support_format_7zip(u.a);
	archive_read_support_format_tar(u.a);
	archive_read_support_format_lha(u.a);
	archive_read_support_format_raw(u.a);
	archive_read_support_filter_gzip(u.a);
	archive_read_support_filter_bzip2(u.a);
	archive_read_support_filter_xz(u.a);
	archive_read_support_filter_lzma(u.a);
	/* LHA names go through the locale's wide characters, and CP932 bytes
	 * are not UTF-8: without this option every Japanese name is a fatal
	 * error (zip names instead arrive as their bytes: cdr_unpack_name) */
	if (archive_read_set_options(u.a, "lha:hdrcharset=CP932") != ARCHIVE_OK) {
		rc = refuse(&u, "bad-archive");
		goto out;
	}
	if (opts->password)
		archive_read_add_passphrase(u.a, opts->password);
	if (len == 0) {
		rc = refuse(&u, "not-an-archive");
		goto out;
	}
	/* no format chosen when open fails: nothing else may be asked then */
	if (archive_read_open_memory(u.a, in, len) != ARCHIVE_OK) {
		rc = refuse(&u, "bad-archive");
		goto out;
	}
	for (;;) {
		r = archive_read_next_header(u.a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			/* 7z with encrypted headers ends here */
			rc = refuse(&u,
				    archive_read_has_encrypted_entries(u.a) > 0
					    ? (opts->password ? "wrong-password" : "encrypted")
					    : "bad-archive");
			goto out;
		}
		if (!u.header_written && (rc = first_header(&u)))
			goto out;
		if (++u.entries > opts->caps.max_entries) {
			rc = refuse(&u, "entry-limit");
			goto out;
		}
		if ((rc = one_entry(&u, e)))
			goto out;
	}
	if (!u.header_written && (rc = first_header(&u)))
		goto out;
	if (archive_read_has_encrypted_entries(u.a) > 0 && !opts->password) {
		rc = refuse(&u, "encrypted");
		goto out;
	}
	rc = cdr_members_write_end(out, u.nrec) ? -EIO : 0;
	if (!rc && log)
		fprintf(log, "ok\n");
out:
	archive_read_free(u.a);
	cdr_names_free(u.names);
	cdr_names_free(u.nul_names);
	if (rc == -EINVAL)
		rc = -EIO; /* a writer refusal: cannot happen with names checked first */
	if (!rc && fflush(out))
		rc = -EIO;
	return rc;
}
