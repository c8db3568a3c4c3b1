/* cdr_office.c: office documents, the trusted side (cdr_office_convert in
 * cdr.h), for CDR_KIND_OOXML and CDR_KIND_LEGACY both.
 *
 *   OOXML   --sekisho-cdr-ooxml-->                            rebuilt package   mode "rebuild"
 *   legacy  --sekisho-cdr-office ooxml--> docx/xlsx/pptx --sekisho-cdr-ooxml--> mode "libreoffice+rebuild"
 *   CDR_MODE_TO_PDF: (OOXML: rebuilt first) --sekisho-cdr-office pdf--> PDF --cdr_pdf_convert-->
 *                                                                            mode "libreoffice+pdf"
 *
 * Each arrow is its own sandboxed run (cdr_conv_run): LibreOffice never
 * writes the copy, it only makes an input for the rebuild (or the PDF
 * path), which removes what LibreOffice carried over.  Which path is
 * chosen by a few magic bytes (OLE2, RTF, an ODF mimetype entry: legacy;
 * any other zip: OOXML); the converters look inside.  This side reads only
 * the converters' reports (cdr_log, through the line functions here, which
 * accept only known keys and values) and checks each product's magic and
 * size before it goes further.
 *
 * Ownership: every memfd made here is closed before return.  Failure: fail
 * closed through cdr_report_fail; never the original.  Never logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"
#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_conv.h"

/* LibreOffice's floors over ctx->limits (never lower than the caller's):
 * soffice.bin maps about 400 MiB of libraries before it reads a byte (on
 * Debian 12's 7.4 a save failed at 384 MiB of address space and worked at
 * 512 MiB, 218 MiB peak RSS for a small file), so 1.5 GiB leaves room for
 * a large spreadsheet; its threads count against RLIMIT_NPROC (it ran with
 * 8, 64 leaves room); it opens fonts, its registry and the profile; a
 * small file takes 1-3 s, a large workbook much longer. */
#define LO_AS (1536ull << 20)
#define LO_NPROC 64
#define LO_NOFILE 1024
#define LO_CPU_S 120
#define LO_TIMEOUT_MS 180000
/* /etc/libreoffice holds the registry (.xcd) that /usr/lib/libreoffice
 * links to: soffice.bin cannot start without it */
#define LO_ETC "/etc/libreoffice"
#define MAX_RO 32

struct office_log {
	struct cdr_report *rep;
	char type[8]; /* sekisho-cdr-office: what the input is */
	char ext[8];  /* the product's extension */
};

/* sekisho-cdr-ooxml: removed ITEM, removed-more N, media PART,
 * signature-removed, ext EXT */
static int ooxml_line(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	static const char *const exts[] = {"docx", "dotx", "xlsx", "xltx", "pptx", "potx", "ppsx"};
	struct office_log *l = arg;
	unsigned long long n;
	char end;

	if (strcmp(key, "removed") == 0 && value[0]) {
		cdr_report_removed(l->rep, "%s", value);
	} else if (strcmp(key, "removed-more") == 0 && sscanf(value, "%llu%c", &n, &end) == 1 && n <= 1000000000) {
		l->rep->nremoved_more += (size_t)n;
	} else if (strcmp(key, "media") == 0 && value[0]) {
		/* kept media parts: the image path will take them */
	} else if (strcmp(key, "signature-removed") == 0 && !value[0]) {
		cdr_report_removed(l->rep, "signature");
	} else if (strcmp(key, "ext") == 0 && cdr_conv_one_of(value, exts, sizeof(exts) / sizeof(exts[0]))) {
		snprintf(l->ext, sizeof(l->ext), "%s", value);
	} else {
		return cdr_conv_unexpected(key, why, whylen);
	}
	return 0;
}

/* sekisho-cdr-office: type T, removed macros, ext EXT */
static int lo_line(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	static const char *const types[] = {"doc", "xls",  "ppt",  "rtf",  "odt", "ods",
					    "odp", "docx", "xlsx", "pptx", "cfb"};
	static const char *const exts[] = {"docx", "xlsx", "pptx", "pdf"};
	struct office_log *l = arg;

	if (strcmp(key, "type") == 0 && cdr_conv_one_of(value, types, sizeof(types) / sizeof(types[0]))) {
		snprintf(l->type, sizeof(l->type), "%s", value);
	} else if (strcmp(key, "removed") == 0 && strcmp(value, "macros") == 0) {
		cdr_report_removed(l->rep, "macros");
	} else if (strcmp(key, "ext") == 0 && cdr_conv_one_of(value, exts, sizeof(exts) / sizeof(exts[0]))) {
		snprintf(l->ext, sizeof(l->ext), "%s", value);
	} else {
		return cdr_conv_unexpected(key, why, whylen);
	}
	return 0;
}

/* the product starts with magic and is not empty */
static int check_magic(const struct cdr_conv_run *run, const char *magic, size_t min, const char *who,
		       struct cdr_report *rep)
{
	char head[8];
	size_t n = strlen(magic);

	if (run->outlen < min || pread(run->fd, head, n, 0) != (ssize_t)n || memcmp(head, magic, n) != 0)
		return cdr_report_fail(rep, "converter-output", "%s: the product is not a %s", who,
				       magic[0] == 'P' ? "zip" : "PDF");
	return 0;
}

static int copy_fd(int from, int to, uint64_t len)
{
	uint8_t buf[65536];
	uint64_t off = 0;

	while (off < len) {
		ssize_t n = pread(from, buf, sizeof(buf), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		int r = fdio_write_all(to, buf, (size_t)n);
		if (r < 0)
			return r;
		off += (uint64_t)n;
	}
	return 0;
}

/* sekisho-cdr-ooxml on in_fd; the rebuilt package to out_fd */
static int rebuild(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep)
{
	const char *argv[] = {"sekisho-cdr-ooxml", NULL};
	struct office_log l = {.rep = rep};
	struct cdr_conv_run run;
	int r = cdr_conv_run(ctx, argv, in_fd, NULL, ooxml_line, &l, &run, rep);

	if (r < 0)
		return r;
	if (!l.ext[0])
		r = cdr_report_fail(rep, "converter-report", "sekisho-cdr-ooxml: no ext in its report");
	else if ((r = check_magic(&run, "PK\3\4", 22, "sekisho-cdr-ooxml", rep)) == 0 &&
		 (r = copy_fd(run.fd, out_fd, run.outlen)) < 0)
		r = cdr_report_fail(rep, "internal-error", "writing the copy: %s", strerror(-r));
	cdr_conv_run_free(&run);
	if (r < 0)
		return r;
	snprintf(rep->out_type, sizeof(rep->out_type), "%s", l.ext);
	snprintf(rep->out_ext, sizeof(rep->out_ext), "%s", l.ext);
	if (!rep->in_type[0])
		snprintf(rep->in_type, sizeof(rep->in_type), "%s", l.ext);
	return 0;
}

/* sekisho-cdr-office TARGET (ooxml or pdf) on in_fd, under LibreOffice's
 * limits and with its registry; the product stays in *ret_run */
static int libreoffice(const struct cdr_ctx *ctx, int in_fd, const char *target, struct cdr_conv_run *ret_run,
		       struct cdr_report *rep)
{
	const char *argv[] = {"sekisho-cdr-office", target, NULL};
	const char *ro[MAX_RO + 2];
	struct office_log l = {.rep = rep};
	struct cdr_sandbox_limits lim = ctx->limits;
	struct cdr_ctx c = *ctx;
	size_t n = 0;
	int r;

	for (; ctx->sandbox.ro_paths && ctx->sandbox.ro_paths[n] && n < MAX_RO; n++)
		ro[n] = ctx->sandbox.ro_paths[n];
	ro[n++] = LO_ETC;
	ro[n] = NULL;
	c.sandbox.ro_paths = ro;
	if (lim.as_bytes && lim.as_bytes < LO_AS) /* 0: no limit (ASan builds) */
		lim.as_bytes = LO_AS;
	if (lim.nproc < LO_NPROC)
		lim.nproc = LO_NPROC;
	if (lim.nofile < LO_NOFILE)
		lim.nofile = LO_NOFILE;
	if (lim.cpu_s < LO_CPU_S)
		lim.cpu_s = LO_CPU_S;
	if (lim.timeout_ms < LO_TIMEOUT_MS)
		lim.timeout_ms = LO_TIMEOUT_MS;
	r = cdr_conv_run(&c, argv, in_fd, &lim, lo_line, &l, ret_run, rep);
	/* what the input really is (cdr_kind_of went by the name for OLE2
	 * files): the converter's word, from an allow-list; "cfb" (an
	 * encrypted OOXML package) says less than the name does */
	if (l.type[0] && strcmp(l.type, "cfb") != 0)
		snprintf(rep->in_type, sizeof(rep->in_type), "%s", l.type);
	if (r < 0)
		return r;
	if (strcmp(target, "pdf") == 0 ? strcmp(l.ext, "pdf") != 0 : (!l.ext[0] || strcmp(l.ext, "pdf") == 0)) {
		cdr_conv_run_free(ret_run);
		return cdr_report_fail(rep, "converter-report", "sekisho-cdr-office: ext '%s' for %s", l.ext, target);
	}
	r = strcmp(target, "pdf") == 0 ? check_magic(ret_run, "%PDF-", 8, "sekisho-cdr-office", rep)
				       : check_magic(ret_run, "PK\3\4", 22, "sekisho-cdr-office", rep);
	if (r < 0)
		cdr_conv_run_free(ret_run);
	return r;
}

/* legacy by its first bytes: an OLE2 compound file, RTF, or a zip whose
 * first entry is ODF's "mimetype"; any other zip is OOXML */
static bool is_legacy(int in_fd)
{
	static const uint8_t cfb[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
	uint8_t head[38];
	ssize_t n = pread(in_fd, head, sizeof(head), 0);

	if (n >= 8 && memcmp(head, cfb, 8) == 0)
		return true;
	if (n >= 5 && memcmp(head, "{\\rtf", 5) == 0)
		return true;
	return n == (ssize_t)sizeof(head) && memcmp(head, "PK\3\4", 4) == 0 && memcmp(head + 30, "mimetype", 8) == 0;
}

/* CDR_MODE_TO_PDF: LibreOffice makes a PDF (of the rebuilt package, for
 * OOXML: LibreOffice then never sees what the rebuild removes), which the
 * PDF path turns into the copy */
static int to_pdf(const struct cdr_ctx *ctx, int in_fd, int out_fd, bool legacy, struct cdr_report *rep)
{
	struct cdr_conv_run pdf;
	char in_type[sizeof(rep->in_type)];
	int mid = -1, r;

	if (!legacy) {
		mid = cdr_memfd("cdr-rebuilt");
		if (mid < 0)
			return cdr_report_fail(rep, "internal-error", "memfd: %s", strerror(-mid));
		r = rebuild(ctx, in_fd, mid, rep);
		if (r < 0) {
			close(mid);
			return r;
		}
		in_fd = mid;
	}
	r = libreoffice(ctx, in_fd, "pdf", &pdf, rep);
	if (mid >= 0)
		close(mid);
	if (r < 0)
		return r;
	memcpy(in_type, rep->in_type, sizeof(in_type));
	r = cdr_pdf_convert(ctx, pdf.fd, out_fd, rep);
	cdr_conv_run_free(&pdf);
	memcpy(rep->in_type, in_type, sizeof(in_type));
	rep->mode = "libreoffice+pdf";
	return r;
}

int cdr_office_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep)
{
	bool legacy = is_legacy(in_fd);
	struct cdr_conv_run lo;
	int r;

	if (ctx->mode[legacy ? CDR_KIND_LEGACY : CDR_KIND_OOXML] == CDR_MODE_TO_PDF) {
		rep->mode = "libreoffice+pdf";
		return to_pdf(ctx, in_fd, out_fd, legacy, rep);
	}
	if (!legacy) {
		rep->mode = "rebuild";
		return rebuild(ctx, in_fd, out_fd, rep);
	}
	rep->mode = "libreoffice+rebuild";
	r = libreoffice(ctx, in_fd, "ooxml", &lo, rep);
	if (r < 0)
		return r;
	r = rebuild(ctx, lo.fd, out_fd, rep);
	cdr_conv_run_free(&lo);
	return r;
}
