/* cdr_text.c: text and CSV, the trusted side (cdr_text_convert in cdr.h,
 * cdr_text_check in cdr_text.h).
 *
 * sekisho-cdr-text runs in the sandbox and writes the copy (UTF-8, or for
 * CSV CP932 / UTF-8 with a BOM) and a line report; this side reads the
 * report with cdr_log, checks the copy with cdr_text_check in the charset
 * the report declares, and only then writes it to out_fd.
 *
 * Ownership: every fd and buffer opened here is closed or freed before
 * return.  Failure: fail closed through cdr_report_fail (no copy).  Never
 * logs. */
#include "sanitizer/cdr/cdr_text.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fdio.h"
#include "common/utf8.h"
#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_conv.h"
#include "sanitizer/cdr/cdr_log.h"

/* UTF-8 with no control character and no line over the cap */
static int check_utf8(const uint8_t *s, size_t n, char *why, size_t whylen)
{
	size_t i = 0, k, line = 0;
	uint32_t c;

	while (i < n) {
		k = utf8_decode(s + i, n - i, &c);
		if (k == 0)
			return cdr_log_bad(why, whylen, "invalid UTF-8 at byte %zu", i);
		if (cdr_text_control(c))
			return cdr_log_bad(why, whylen, "control character U+%04X at byte %zu", (unsigned)c, i);
		line = c == '\n' ? 0 : line + k;
		if (line > CDR_TEXT_MAX_LINE)
			return cdr_log_bad(why, whylen, "line longer than %u bytes", CDR_TEXT_MAX_LINE);
		i += k;
	}
	return 0;
}

/* CP932 through glibc iconv into UTF-8, then the UTF-8 check */
static int check_cp932(const uint8_t *s, size_t n, char *why, size_t whylen)
{
	iconv_t cd;
	size_t cap, left = n, room;
	char *src = (char *)(uintptr_t)s, *out, *dst;
	int r;

	if (n > (SIZE_MAX - 16) / 3)
		return cdr_log_bad(why, whylen, "too large");
	cap = n * 3 + 16; /* a one-byte half-width katakana is three in UTF-8 */
	out = malloc(cap);
	if (!out)
		return -ENOMEM;
	cd = iconv_open("UTF-8", "CP932");
	if (cd == (iconv_t)-1) {
		free(out);
		return cdr_log_bad(why, whylen, "iconv CP932: %s", strerror(errno));
	}
	dst = out;
	room = cap;
	if (iconv(cd, &src, &left, &dst, &room) == (size_t)-1)
		r = cdr_log_bad(why, whylen, "invalid CP932 at byte %zu", n - left);
	else
		r = check_utf8((const uint8_t *)out, cap - room, why, whylen);
	iconv_close(cd);
	free(out);
	return r;
}

int cdr_text_check(const uint8_t *buf, size_t len, const char *charset, char *why, size_t whylen)
{
	if (strcmp(charset, "utf-8") == 0)
		return check_utf8(buf, len, why, whylen);
	if (strcmp(charset, "utf-8-bom") == 0) {
		if (len < 3 || memcmp(buf, "\xEF\xBB\xBF", 3) != 0)
			return cdr_log_bad(why, whylen, "no BOM");
		return check_utf8(buf + 3, len - 3, why, whylen);
	}
	if (strcmp(charset, "cp932") == 0)
		return check_cp932(buf, len, why, whylen);
	return cdr_log_bad(why, whylen, "unknown charset");
}

struct text_log {
	char charset[16];
	char out_charset[16];
	struct cdr_report *rep;
};

/* sekisho-cdr-text's lines: charset, removed control-characters:N, out-charset */
static int text_line(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	static const char *const in_sets[] = {"utf-8",        "utf-8-bom", "utf-16le", "utf-16le-bom", "utf-16be",
					      "utf-16be-bom", "cp932",     "euc-jp",   "iso-2022-jp"};
	static const char *const out_sets[] = {"utf-8", "utf-8-bom", "cp932"};
	struct text_log *t = arg;
	unsigned long long n;
	char end;

	if (strcmp(key, "charset") == 0 && cdr_conv_one_of(value, in_sets, sizeof(in_sets) / sizeof(in_sets[0]))) {
		snprintf(t->charset, sizeof(t->charset), "%s", value);
		return 0;
	}
	if (strcmp(key, "out-charset") == 0 &&
	    cdr_conv_one_of(value, out_sets, sizeof(out_sets) / sizeof(out_sets[0]))) {
		snprintf(t->out_charset, sizeof(t->out_charset), "%s", value);
		return 0;
	}
	if (strcmp(key, "removed") == 0 && sscanf(value, "control-characters:%llu%c", &n, &end) == 1) {
		cdr_report_removed(t->rep, "control-characters:%llu", n);
		return 0;
	}
	return cdr_conv_unexpected(key, why, whylen);
}

int cdr_text_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep)
{
	/* CSV and TSV: the spreadsheet rule for the copy's encoding */
	bool csv = strcmp(rep->in_type, "csv") == 0 || strcmp(rep->in_type, "tsv") == 0;
	const char *argv[] = {"sekisho-cdr-text", csv ? "csv" : "txt", NULL};
	struct text_log t = {.rep = rep};
	struct cdr_conv_run run;
	uint8_t *copy = NULL;
	size_t len = 0;
	char why[160];
	int r;

	rep->mode = "transcode";
	if (!rep->in_type[0])
		snprintf(rep->in_type, sizeof(rep->in_type), "txt");
	r = cdr_conv_run(ctx, argv, in_fd, NULL, text_line, &t, &run, rep);
	if (r < 0)
		return r;
	r = cdr_conv_read(&run, &copy, &len);
	cdr_conv_run_free(&run);
	if (r < 0)
		return cdr_report_fail(rep, "internal-error", "reading the copy: %s", strerror(-r));
	if (!t.charset[0] || !t.out_charset[0])
		r = cdr_report_fail(rep, "converter-report", "sekisho-cdr-text: no charset in its report");
	else if (cdr_text_check(copy, len, t.out_charset, why, sizeof(why)) < 0)
		r = cdr_report_fail(rep, "converter-output", "sekisho-cdr-text's copy: %s", why);
	else if ((r = fdio_write_all(out_fd, copy, len)) < 0)
		r = cdr_report_fail(rep, "internal-error", "writing the copy: %s", strerror(-r));
	free(copy);
	if (r < 0)
		return r;
	snprintf(rep->out_type, sizeof(rep->out_type), "%.3s", csv ? rep->in_type : "txt");
	snprintf(rep->out_ext, sizeof(rep->out_ext), "%.3s", csv ? rep->in_type : "txt");
	snprintf(rep->detail, sizeof(rep->detail), "charset %s, copy in %s", t.charset, t.out_charset);
	return 0;
}
