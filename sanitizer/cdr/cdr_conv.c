/* cdr_conv.c: one converter run for a handler (cdr_conv.h).
 *
 * Ownership: the memfds made here are closed on every failure path; the
 * product's memfd goes to the caller on success.  Failure: cdr_report_fail
 * with a reason key (cdr_reason.c); never the converter's output.  Never
 * logs. */
#include "sanitizer/cdr/cdr_conv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"

int cdr_conv_unexpected(const char *key, char *why, size_t whylen)
{
	return cdr_log_bad(why, whylen, "unexpected line: %s", key);
}

bool cdr_conv_one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* drops the removed items added since the report held n (and more) */
static void forget_removed(struct cdr_report *rep, size_t n, size_t more)
{
	while (rep->nremoved > n)
		free(rep->removed[--rep->nremoved]);
	rep->nremoved_more = more;
}

int cdr_conv_run(const struct cdr_ctx *ctx, const char *const argv[], int in_fd, const struct cdr_sandbox_limits *lim,
		 cdr_log_line_fn *fn, void *arg, struct cdr_conv_run *ret, struct cdr_report *rep)
{
	struct cdr_ctx c = *ctx;
	int err = cdr_memfd("cdr-report"), r, pr;
	uint8_t *log = NULL;
	size_t loglen = 0;
	char why[160] = "";
	struct stat st;

	size_t nremoved = rep->nremoved, nmore = rep->nremoved_more;

	memset(ret, 0, sizeof(*ret));
	ret->fd = cdr_memfd("cdr-product");
	if (ret->fd < 0 || err < 0) {
		r = ret->fd < 0 ? ret->fd : err;
		close_fd(&ret->fd);
		close_fd(&err);
		return cdr_report_fail(rep, "internal-error", "memfd: %s", strerror(-r));
	}
	/* the whole report, not only the 255 bytes of res.err */
	c.sandbox.err_fd = err;
	c.sandbox.err_max = CDR_LOG_MAX_BYTES;
	r = cdr_run_converter(&c, argv, in_fd, ret->fd, lim, &ret->res);
	pr = -EIO;
	if (lseek(err, 0, SEEK_SET) == 0 && fdio_read_all(err, CDR_LOG_MAX_BYTES, &log, &loglen) == 0)
		pr = cdr_log_parse(log, loglen, fn, arg, &ret->end, why, sizeof(why));
	free(log);
	close_fd(&err);
	if (r < 0 || !ret->res.reason || strcmp(ret->res.reason, "ok") != 0 || pr < 0 || !ret->end.ok)
		forget_removed(rep, nremoved, nmore); /* a failed run's lines say nothing about a copy */
	if (r < 0 || !ret->res.reason || strcmp(ret->res.reason, "ok") != 0) {
		close_fd(&ret->fd);
		/* the converter's own refusal, read from its whole report: exit 1
		 * and a well-formed report ending in "refused KEY" (cdr_fail_from_run
		 * would look only at the first 255 bytes); a key the reason table
		 * does not know is the converter's word only: "exit-status" */
		if (r == 0 && strcmp(ret->res.reason, "exit-status") == 0 && ret->res.exit_status == 1 && pr == 0 &&
		    ret->end.refused[0]) {
			const char *key = cdr_reason_key(ret->end.refused);
			return cdr_report_fail(rep, key ? key : "exit-status", "%s refused: %s", argv[0],
					       ret->end.refused);
		}
		return cdr_fail_from_run(rep, &ret->res, r);
	}
	if (pr < 0 || !ret->end.ok) {
		close_fd(&ret->fd);
		if (pr == -ENOMEM)
			return cdr_report_fail(rep, "internal-error", "%s: out of memory", argv[0]);
		return cdr_report_fail(rep, "converter-report", "%s: %s", argv[0],
				       pr < 0 ? why : "exit 0 but the report says refused");
	}
	if (fstat(ret->fd, &st) < 0 || lseek(ret->fd, 0, SEEK_SET) != 0) {
		r = -errno;
		close_fd(&ret->fd);
		return cdr_report_fail(rep, "internal-error", "product: %s", strerror(-r));
	}
	ret->outlen = (uint64_t)st.st_size;
	return 0;
}

void cdr_conv_run_free(struct cdr_conv_run *run)
{
	if (run)
		close_fd(&run->fd);
}

int cdr_conv_read(const struct cdr_conv_run *run, uint8_t **ret_buf, size_t *ret_len)
{
	if (lseek(run->fd, 0, SEEK_SET) != 0)
		return -errno;
	return fdio_read_all(run->fd, (size_t)run->outlen, ret_buf, ret_len);
}
