/* cdr: the trusted side's entry point (cdr.h): defaults, the kind of an
 * input from a few magic bytes and its name, the dispatch to the kind's
 * handler, and the hashes, sizes and time every report carries.
 *
 * Nothing here parses the input beyond its first 16 bytes: which OOXML
 * variant a zip is, or whether a "zip" is really a document, is for the
 * converters in the sandbox to find out; a wrong guess here only picks a
 * converter that refuses, never a copy that skips a check.
 *
 * Ownership: see cdr.h.  Never logs. */
#include "sanitizer/cdr/cdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"
#include "common/sha256.h"
#include "sanitizer/cdr/cdr_asan.h"
#include "sanitizer/cdr/cdr_image.h"

void cdr_ctx_default(struct cdr_ctx *ret_ctx, const char *libexec)
{
	memset(ret_ctx, 0, sizeof *ret_ctx);
	ret_ctx->libexec = libexec;
	cdr_sandbox_limits_default(&ret_ctx->limits);
	/* a converter built with AddressSanitizer reserves terabytes of shadow
	 * memory: the test builds run it without an address-space limit (the
	 * plain builds keep and test the limit) */
	if (CDR_ASAN)
		ret_ctx->limits.as_bytes = 0;
	ret_ctx->max_depth = 3;
	ret_ctx->pdf_dpi = 150;
	ret_ctx->max_pages = 500;
	ret_ctx->max_input_bytes = 256ull << 20;
}

static const char *const cdr_kind_names[CDR_KIND_COUNT_] = {
	[CDR_KIND_UNKNOWN] = "unknown", [CDR_KIND_PDF] = "pdf",     [CDR_KIND_OOXML] = "ooxml",
	[CDR_KIND_LEGACY] = "legacy",   [CDR_KIND_IMAGE] = "image", [CDR_KIND_TEXT] = "text",
	[CDR_KIND_ARCHIVE] = "archive",
};

const char *cdr_kind_name(enum cdr_kind kind)
{
	return (unsigned)kind < CDR_KIND_COUNT_ ? cdr_kind_names[kind] : "unknown";
}

/* The extension, lower-cased into buf ("" when there is none). */
static const char *cdr_ext(const char *name, char *buf, size_t len)
{
	const char *base = name ? strrchr(name, '/') : NULL;
	base = base ? base + 1 : name;
	const char *dot = base ? strrchr(base, '.') : NULL;
	size_t i = 0;
	if (dot && dot != base)
		for (dot++; dot[i] && i + 1 < len; i++)
			buf[i] = (char)((dot[i] >= 'A' && dot[i] <= 'Z') ? dot[i] + 32 : dot[i]);
	buf[i] = 0;
	return buf;
}

static bool cdr_ext_in(const char *ext, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(ext, *list) == 0)
			return true;
	return false;
}

/* extensions of kinds whose magic bytes say only "zip" or "OLE2" */
static const char *const cdr_ooxml_exts[] = {"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm",
					     "pptx", "pptm", "potx", "potm", "ppsx", "ppsm", NULL};
static const char *const cdr_odf_exts[] = {"odt", "ods", "odp", "ott", "ots", "otp", NULL};
static const char *const cdr_ole_exts[] = {"doc", "dot", "xls", "xlt", "ppt", "pot", "pps", NULL};
static const char *const cdr_text_exts[] = {"txt", "csv", "tsv", "text", "log", NULL};

static enum cdr_kind cdr_set(char *in_type, size_t len, const char *type, enum cdr_kind kind)
{
	snprintf(in_type, len, "%s", type);
	return kind;
}

enum cdr_kind cdr_kind_of(const uint8_t *head, size_t len, const char *name, char *in_type, size_t in_type_len)
{
	char ext[16];
	cdr_ext(name, ext, sizeof ext);
	in_type[0] = 0;

	if (len >= 5 && memcmp(head, "%PDF-", 5) == 0)
		return cdr_set(in_type, in_type_len, "pdf", CDR_KIND_PDF);
	enum cdr_image_kind ik = cdr_image_kind_of(head, len);
	if (ik != CDR_IMAGE_UNKNOWN)
		return cdr_set(in_type, in_type_len, cdr_image_kind_name(ik), CDR_KIND_IMAGE);
	if (len >= 4 && memcmp(head, "PK\3\4", 4) == 0) {
		/* a zip: an Office or ODF package when its name says so (the
		 * converter checks the parts), any other zip is an archive */
		if (cdr_ext_in(ext, cdr_ooxml_exts))
			return cdr_set(in_type, in_type_len, ext, CDR_KIND_OOXML);
		if (cdr_ext_in(ext, cdr_odf_exts))
			return cdr_set(in_type, in_type_len, ext, CDR_KIND_LEGACY);
		return cdr_set(in_type, in_type_len, "zip", CDR_KIND_ARCHIVE);
	}
	static const uint8_t ole2[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
	if (len >= 8 && memcmp(head, ole2, 8) == 0) {
		/* compound file: doc/xls/ppt by name; an encrypted OOXML file is
		 * a compound file too (LibreOffice refuses it as encrypted) */
		if (cdr_ext_in(ext, cdr_ole_exts) || cdr_ext_in(ext, cdr_ooxml_exts))
			return cdr_set(in_type, in_type_len, ext, CDR_KIND_LEGACY);
		return cdr_set(in_type, in_type_len, "ole2", CDR_KIND_UNKNOWN);
	}
	if (len >= 5 && memcmp(head, "{\\rtf", 5) == 0)
		return cdr_set(in_type, in_type_len, "rtf", CDR_KIND_LEGACY);
	if (len >= 7 && head[2] == '-' && head[3] == 'l' && (head[4] == 'h' || head[4] == 'z') && head[6] == '-')
		return cdr_set(in_type, in_type_len, "lzh", CDR_KIND_ARCHIVE);
	if (len >= 6 && memcmp(head, "7z\xbc\xaf\x27\x1c", 6) == 0)
		return cdr_set(in_type, in_type_len, "7z", CDR_KIND_ARCHIVE);
	if (len >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		return cdr_set(in_type, in_type_len, "gz", CDR_KIND_ARCHIVE);
	if (len >= 6 &&
	    memcmp(head,
		   "\xfd"
		   "7zXZ\0",
		   6) == 0)
		return cdr_set(in_type, in_type_len, "xz", CDR_KIND_ARCHIVE);
	if (len >= 4 && memcmp(head, "BZh", 3) == 0 && head[3] >= '1' && head[3] <= '9')
		return cdr_set(in_type, in_type_len, "bz2", CDR_KIND_ARCHIVE);
	if (len >= 2 && head[0] == 'M' && head[1] == 'Z')
		return cdr_set(in_type, in_type_len, "exe", CDR_KIND_UNKNOWN);
	if (len >= 4 &&
	    memcmp(head,
		   "\x7f"
		   "ELF",
		   4) == 0)
		return cdr_set(in_type, in_type_len, "elf", CDR_KIND_UNKNOWN);
	/* a tar's magic ("ustar" at 257) is past the head: the name decides,
	 * and the archive converter refuses what is not one */
	if (strcmp(ext, "tar") == 0)
		return cdr_set(in_type, in_type_len, "tar", CDR_KIND_ARCHIVE);
	/* text has no magic: the name decides, the converter checks the bytes */
	if (cdr_ext_in(ext, cdr_text_exts))
		return cdr_set(in_type, in_type_len, strcmp(ext, "csv") == 0 || strcmp(ext, "tsv") == 0 ? ext : "txt",
			       CDR_KIND_TEXT);
	return cdr_set(in_type, in_type_len, ext[0] ? ext : "unknown", CDR_KIND_UNKNOWN);
}

int cdr_run_converter(const struct cdr_ctx *ctx, const char *const argv[], int in_fd, int out_fd,
		      const struct cdr_sandbox_limits *lim, struct cdr_sandbox_result *res)
{
	char path[4096];
	const char *av[32];
	size_t n = 0;
	if (!ctx->libexec || strchr(argv[0], '/'))
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", ctx->libexec, argv[0]) >= sizeof path)
		return -ENAMETOOLONG;
	av[n++] = path;
	for (size_t i = 1; argv[i]; i++) {
		if (n + 1 >= sizeof av / sizeof av[0])
			return -E2BIG;
		av[n++] = argv[i];
	}
	av[n] = NULL;
	return cdr_run_program(ctx, av, in_fd, out_fd, lim, res);
}

int cdr_run_program(const struct cdr_ctx *ctx, const char *const av[], int in_fd, int out_fd,
		    const struct cdr_sandbox_limits *lim, struct cdr_sandbox_result *res)
{
	if (av[0][0] != '/')
		return -EINVAL;
	char why[256];
	struct cdr_sandbox_opts o = ctx->sandbox;
	if (!o.uid && geteuid() == 0) {
		/* RLIMIT_NPROC counts every process of a uid: with one shared
		 * uid (nobody), concurrent conversions would share one process
		 * budget, and one file's fork bomb would starve the others.  A
		 * uid of its own per calling thread (thread ids are unique
		 * among live threads and below 2^22) keeps each budget apart;
		 * nothing outside the sandbox is ever owned by it. */
		o.uid = CDR_SANDBOX_UID_BASE + (uid_t)gettid();
		o.gid = o.gid ? o.gid : CDR_SANDBOX_NOBODY;
	}
	int r = cdr_sandbox_run(av, in_fd, out_fd, lim ? lim : &ctx->limits, &o, res, why, sizeof why);
	if (r < 0 && !res->err[0])
		snprintf(res->err, sizeof res->err, "%s", why);
	return r;
}

/* SHA-256 of an fd's whole content, read with pread (the position stays) */
static int cdr_sha256_fd(int fd, char hex[65], uint64_t *ret_bytes)
{
	struct sha256_run h;
	unsigned char buf[65536];
	uint64_t off = 0;
	int r = sha256_run_init(&h);
	while (r == 0) {
		ssize_t got = pread(fd, buf, sizeof buf, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : 1;
			break;
		}
		r = sha256_run_update(&h, buf, (size_t)got);
		off += (uint64_t)got;
	}
	*ret_bytes = off;
	if (r == 1)
		return sha256_run_hex(&h, hex);
	sha256_run_abandon(&h);
	return r;
}

int cdr_convert(const struct cdr_ctx *ctx, const char *name, int in_fd, int out_fd, struct cdr_report *rep)
{
	int64_t t0 = monotime_ms();
	uint8_t head[16];
	int r;

	if (name && !rep->name)
		rep->name = strdup(name);
	rep->result = NULL;
	r = cdr_sha256_fd(in_fd, rep->in_sha256, &rep->in_bytes);
	if (r < 0) {
		r = cdr_report_fail(rep, "io-error", "reading the input: %s", strerror(-r));
		goto out;
	}
	ssize_t got = pread(in_fd, head, sizeof head, 0);
	enum cdr_kind kind = cdr_kind_of(head, got > 0 ? (size_t)got : 0, name, rep->in_type, sizeof rep->in_type);
	rep->kind = cdr_kind_name(kind);
	if (rep->in_bytes == 0) {
		r = cdr_report_fail(rep, "empty", NULL);
		goto out;
	}
	if (rep->in_bytes > ctx->max_input_bytes) {
		r = cdr_report_fail(rep, "input-size-limit", "%llu bytes, limit %llu",
				    (unsigned long long)rep->in_bytes, (unsigned long long)ctx->max_input_bytes);
		goto out;
	}
	switch (kind) {
	case CDR_KIND_PDF:
		r = cdr_pdf_convert(ctx, in_fd, out_fd, rep);
		break;
	case CDR_KIND_OOXML:
	case CDR_KIND_LEGACY:
		r = cdr_office_convert(ctx, in_fd, out_fd, rep);
		break;
	case CDR_KIND_IMAGE:
		r = cdr_image_convert(ctx, in_fd, out_fd, rep);
		break;
	case CDR_KIND_TEXT:
		r = cdr_text_convert(ctx, in_fd, out_fd, rep);
		break;
	case CDR_KIND_ARCHIVE:
		if (ctx->depth >= ctx->max_depth)
			r = cdr_report_fail(rep, "depth-limit", "archive nesting beyond %u", ctx->max_depth);
		else
			r = cdr_archive_convert(ctx, in_fd, out_fd, rep);
		break;
	default:
		r = cdr_report_fail(rep, "unsupported-format", "type %s", rep->in_type);
		break;
	}
	if (r == 0 && !rep->result)
		rep->result = "ok";
	if (r == 0 && strcmp(rep->result, "ok") != 0)
		r = -EPERM; /* a handler that set a reason made no copy */
	if (r < 0 && (!rep->result || strcmp(rep->result, "ok") == 0))
		cdr_report_fail(rep, "internal-error", "handler returned %d without a reason", r);
	if (r == 0) {
		int h = cdr_sha256_fd(out_fd, rep->out_sha256, &rep->out_bytes);
		if (h < 0)
			r = cdr_report_fail(rep, "io-error", "reading the copy: %s", strerror(-h));
		else if (rep->out_bytes == 0)
			r = cdr_report_fail(rep, "empty-output", NULL);
	}
out:
	if (r < 0) {
		rep->out_sha256[0] = 0;
		rep->out_bytes = 0;
		rep->out_type[0] = 0;
		rep->out_ext[0] = 0;
	}
	rep->ms = (uint64_t)(monotime_ms() - t0);
	return r < 0 ? r : 0;
}

int cdr_memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cdr_fail_from_run(struct cdr_report *rep, const struct cdr_sandbox_result *res, int rc)
{
	if (rc < 0 || !res->reason || strcmp(res->reason, "sandbox-setup") == 0)
		return cdr_report_fail(rep, "sandbox-setup", "%.200s", res->err);
	if (strcmp(res->reason, "exit-status") == 0 && res->exit_status == 1) {
		/* the converter's first "refused" line; its key is untrusted text:
		 * only a key of our own table passes into the report */
		const char *line = strstr(res->err, "refused");
		if (line && (line == res->err || line[-1] == '\n')) {
			char key[40];
			size_t i = 0;
			line += 7;
			line += strspn(line, ": ");
			for (; i + 1 < sizeof key &&
			     ((line[i] >= 'a' && line[i] <= 'z') || line[i] == '-' ||
			      (line[i] >= '0' && line[i] <= '9'));
			     i++)
				key[i] = line[i];
			key[i] = 0;
			const char *known = cdr_reason_key(key);
			if (known)
				return cdr_report_fail(rep, known, NULL);
			return cdr_report_fail(rep, "exit-status", "converter refused: %.100s", key);
		}
	}
	if (strcmp(res->reason, "ok") == 0)
		return cdr_report_fail(rep, "internal-error", "converter run ok but rc %d", rc);
	return cdr_report_fail(rep, res->reason, "%.200s", res->err);
}
