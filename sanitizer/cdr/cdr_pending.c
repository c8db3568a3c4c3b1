/* cdr_pending: handlers of cdr.h whose kinds are being built (issue 14).
 * Each refuses with "not-built": no copy, the original stays in
 * quarantine.  A handler's file replaces its entry here; the file goes
 * when the last one is built. */
#include "sanitizer/cdr/cdr.h"

int cdr_pdf_convert(const struct cdr_ctx *ctx, int in_fd, int out_fd, struct cdr_report *rep)
{
	(void)ctx, (void)in_fd, (void)out_fd;
	return cdr_report_fail(rep, "not-built", "PDF");
}
