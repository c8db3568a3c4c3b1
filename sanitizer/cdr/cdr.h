/* cdr: one file in, one safe copy out, or no copy and a reason.
 *
 * This is the trusted side's entry point (the sekisho-cdr CLI and the worker
 * call it).  cdr_convert names the input's kind from its first bytes and its
 * name (cdr_kind_of), hands it to the kind's handler, and fills a report.
 * A handler runs the kind's converter in the sandbox (cdr_sandbox_run), checks
 * what came out (pixels, a rebuilt container, text) and writes the copy to
 * out_fd.  Every handler has the same shape:
 *
 *   int cdr_<handler>_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd,
 *                          struct cdr_report *rep);
 *
 * in_fd is a regular file (or memfd) positioned anywhere: handlers read it
 * with pread or hand it to the sandbox, which reopens it read-only.  out_fd
 * is a regular file or memfd, empty, owned by the caller; on failure the
 * caller throws it away (a handler may have written part of it).
 *
 * Fail closed: a handler returns 0 only when the whole copy is in out_fd;
 * otherwise it returns < 0 and sets rep->result to a reason key (the table in
 * cdr_reason.c: Japanese and English text for every key) and may add an
 * English detail.  Never the original instead of a copy.
 *
 * Ownership: ctx is the caller's and read-only; the report's strings and
 * arrays are owned by the report (cdr_report_free).  Never logs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sanitizer/cdr/cdr_sandbox.h"

enum cdr_kind {
	CDR_KIND_UNKNOWN, /* anything else: no copy ("unsupported-format") */
	CDR_KIND_PDF,
	CDR_KIND_OOXML,   /* docx/xlsx/pptx and the -m and template variants */
	CDR_KIND_LEGACY,  /* doc/xls/ppt (OLE2 compound file), RTF, ODF: via LibreOffice */
	CDR_KIND_IMAGE,   /* JPEG, PNG, GIF, BMP, TIFF, WebP */
	CDR_KIND_TEXT,    /* txt, csv */
	CDR_KIND_ARCHIVE, /* zip, lzh (and what libarchive reads: 7z, tar, gz) */
	CDR_KIND_COUNT_,
};

/* per-kind choice of the default or alternative path (issue 14's table) */
enum cdr_mode {
	CDR_MODE_DEFAULT,
	CDR_MODE_PIXELS,  /* PDF: render to pixels (the default for PDF) */
	CDR_MODE_REBUILD, /* OOXML: structural rebuild (the default for OOXML) */
	CDR_MODE_TO_PDF,  /* OOXML, legacy: LibreOffice -> PDF -> pixels */
	CDR_MODE_VECTOR,  /* PDF: poppler -> cairo re-draw, checked by qpdf in the sandbox */
};

struct cdr_ctx {
	const char *libexec;              /* directory of the sekisho-cdr-* converters */
	struct cdr_sandbox_limits limits; /* per conversion; handlers scale timeout_ms */
	struct cdr_sandbox_opts sandbox;  /* uid/gid and extra read-only paths */
	enum cdr_mode mode[CDR_KIND_COUNT_];
	unsigned depth;           /* archive nesting of this call (0 at the top) */
	unsigned max_depth;       /* archives inside archives (default 3) */
	unsigned pdf_dpi;         /* default 150 */
	unsigned max_pages;       /* default 500 */
	uint64_t max_input_bytes; /* default 256 MiB */
	/* PPAP (docs/portal.md): the password of an encrypted archive at the
	 * top (depth 0), or NULL; the archive handler hands it to its
	 * converter through stdin, never argv.  Nested archives get none. */
	const char *archive_password;
};

struct cdr_report {
	char *name;         /* the input's name (member path inside an archive), may be NULL */
	const char *result; /* "ok" or a reason key (static, from cdr_reason.c) */
	char detail[256];   /* English detail for operators, may be empty */
	const char *kind;   /* cdr_kind_name() */
	char in_type[24];   /* what the input really is: "pdf", "docx", "xls", "jpeg", "zip", ... */
	char out_type[24];  /* what the copy is: "pdf", "docx", "png", "zip", "txt", "csv", "" */
	char out_ext[8];    /* extension for the copy's name, no dot */
	const char *mode;   /* "pixels", "rebuild", "libreoffice+rebuild", "reencode", "transcode", "archive", ... */
	unsigned pages;     /* PDF pages (input = output), 0 otherwise */
	char **removed;     /* every removed item by name, e.g. "part:/word/vbaProject.bin", "action:/OpenAction" */
	size_t nremoved;
	size_t nremoved_more;       /* removed items past the cap, counted only */
	char *out_name;             /* archive members: the copy's name inside the new zip, or NULL */
	struct cdr_report *members; /* archives: one report per member */
	size_t nmembers;
	/* filled by cdr_convert */
	uint64_t in_bytes, out_bytes;
	char in_sha256[65], out_sha256[65];
	uint64_t ms; /* wall time of the whole conversion */
};

void cdr_ctx_default(struct cdr_ctx *ret_ctx, const char *libexec);

const char *cdr_kind_name(enum cdr_kind kind); /* "pdf", "ooxml", "legacy", "image", "text", "archive", "unknown" */
/* The kind from the first bytes (head, at least 8 bytes where the file has
 * them) and the name's extension (may be NULL); in_type gets the finer type
 * ("docx", "xlsm", "doc", "rtf", "odt", "jpeg", "csv", "zip", "lzh", "exe",
 * ...).  Only a few magic bytes are read here: a container's content is
 * examined only in the sandbox. */
enum cdr_kind cdr_kind_of(const uint8_t *head, size_t len, const char *name, char *in_type, size_t in_type_len);

/* The whole job: kind, handler, hashes, sizes, time.  Returns 0 with the
 * copy in out_fd, or < 0 with rep->result set (see the file comment). */
int cdr_convert(const struct cdr_ctx *ctx, const char *name, int in_fd, int out_fd, struct cdr_report *rep);

/* The handlers (cdr_<kind>.c, trusted side); each is called by cdr_convert
 * only, and by cdr_archive_convert through cdr_convert for each member. */
int cdr_pdf_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep);
/* OOXML (rebuild) and legacy (LibreOffice, then the rebuild) both */
int cdr_office_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep);
int cdr_image_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep);
int cdr_text_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep);
int cdr_archive_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep);

/* Report helpers.  cdr_report_fail sets result (a key of cdr_reason.c) and
 * detail and returns -EPERM-like negative for "return cdr_report_fail(...)";
 * cdr_report_removed appends one removed item (capped at 1000, the rest counted). */
int cdr_report_fail(struct cdr_report *rep, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cdr_report_removed(struct cdr_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* a zeroed report for member n of rep's archive, named name (copied) */
struct cdr_report *cdr_report_member(struct cdr_report *rep, const char *name);
void cdr_report_free(struct cdr_report *rep);
/* the report as JSON text (malloc'd; free()), one object, the schema in docs/cdr.md */
char *cdr_report_json(const struct cdr_report *rep);

/* The operator's text for a reason key: Japanese and English; unknown keys
 * give the key itself (a test checks that every key used has texts). */
const char *cdr_reason_ja(const char *key);
const char *cdr_reason_en(const char *key);
/* the table's own (static) string for key, or NULL when it has none */
const char *cdr_reason_key(const char *key);
/* the table's i-th key in order, NULL past the end (for the test) */
const char *cdr_reason_key_at(size_t i);

/* A memfd (close-on-exec) for a converter's product or an intermediate
 * file; returns the fd or -errno. */
int cdr_memfd(const char *name);

/* After a converter run that did not end "ok" (or returned < 0): sets the
 * report's reason and returns < 0.  A converter's own refusal (exit 1 with a
 * first stderr line "refused KEY" or "refused: KEY") gives KEY when the
 * reason table knows it, else "exit-status" with the line as detail; the
 * sandbox's reasons (timeout, memory, cpu, output-cap, signal, ...) are
 * kept as they are. */
int cdr_fail_from_run(struct cdr_report *rep, const struct cdr_sandbox_result *res, int rc);

/* first of the uids cdr_run_converter gives a root caller's conversions
 * (one per calling thread: CDR_SANDBOX_UID_BASE + thread id) */
#define CDR_SANDBOX_UID_BASE 0x40000000u

/* Sandbox a converter of ours: argv[0] is a bare name under ctx->libexec.
 * A root caller whose ctx->sandbox.uid is 0 runs it under a uid of its
 * own (see CDR_SANDBOX_UID_BASE) and nobody's gid.
 * A convenience every handler uses; fills res and returns cdr_sandbox_run's
 * value; lim NULL means ctx->limits. */
int cdr_run_converter(const struct cdr_ctx *ctx, const char *const argv[], int in_fd, int out_fd,
		      const struct cdr_sandbox_limits *lim, struct cdr_sandbox_result *res);
/* The same for a program of Debian's (argv[0] an absolute path under /usr,
 * e.g. /usr/bin/qpdf): the independent checks that read a converter's
 * product, which is a container the trusted side does not parse. */
int cdr_run_program(const struct cdr_ctx *ctx, const char *const argv[], int in_fd, int out_fd,
		    const struct cdr_sandbox_limits *lim, struct cdr_sandbox_result *res);
