/* policy_compile: the compiler pipeline (see policy_compile.h), from a
 * policy file to a compiled table on disk, one stage after the other.
 *
 * Writing is atomic: the table goes to PATH.tmp.PID, is fsynced, and is
 * renamed over PATH, so a reader (the datapath's reload) sees the old table
 * or the new one, never half of one; on failure the temporary file is
 * removed.
 *
 * Failure: the first failing stage stops the pipeline; nothing is logged
 * or printed.  Allocation failures abort (xalloc: control plane). */
#include "rules/policy_compile.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/xalloc.h"
#include "rules/policy_eval.h"
#include "rules/table_build.h"

/* Write buf to path atomically.  0, or -errno with "FILE: reason" in why. */
static int compile_write(const char *path, const void *buf, size_t len, char *why, size_t whylen)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int r, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return r;
	}
	r = fdio_write_all(fd, buf, len);
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", tmp, strerror(-r));
		goto fail;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		r = -errno;
		fd = -1;
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return r;
}

/* Note where the pipeline stopped; returns r. */
static int compile_stop(struct policy_compile *c, enum policy_compile_stage stage, int r)
{
	c->stage = stage;
	return r;
}

int policy_compile(const char *path, const struct policy_compile_options *opt, struct diag *d,
		   struct policy_compile *ret)
{
	struct policy_source src;
	int r;

	memset(ret, 0, sizeof *ret);

	/* 1. load: read the file and its includes; lex and parse them */
	r = policy_load_files(path, &opt->load, d, &src);
	/* 2. evaluate: names, kinds, values -> the normalised policy */
	if (r == 0)
		r = policy_eval(&src, d, &ret->policy);
	policy_load_free(&src);
	if (r < 0)
		return compile_stop(ret, POLICY_COMPILE_LOAD, r);

	/* 3. prove the invariants (and warn of unreachable rules) */
	if (opt->prove) {
		r = policy_prove(ret->policy, &opt->proof, d, &ret->report);
		if (r < 0)
			return compile_stop(ret, POLICY_COMPILE_PROVE, r);
		if (opt->strict && d->nwarnings)
			return compile_stop(ret, POLICY_COMPILE_STRICT, -EINVAL);
	}

	/* 4. build the table */
	if (!opt->build)
		return compile_stop(ret, POLICY_COMPILE_DONE, 0);
	r = table_build(ret->policy, opt->compile_time, &ret->table, &ret->table_len, ret->why, sizeof ret->why);
	if (r < 0)
		return compile_stop(ret, POLICY_COMPILE_BUILD, r);
	unsigned int n = sizeof ret->table_sha256;
	ret->have_table_sha256 = EVP_Digest(ret->table, ret->table_len, ret->table_sha256, &n, EVP_sha256(), NULL) == 1;

	/* 5. record it (the audit trail) before it can be installed */
	if (opt->record) {
		r = opt->record(opt->record_ctx, ret);
		if (r < 0)
			return compile_stop(ret, POLICY_COMPILE_RECORD, r);
	}

	/* 6. write it atomically */
	if (opt->output) {
		r = compile_write(opt->output, ret->table, ret->table_len, ret->why, sizeof ret->why);
		if (r < 0)
			return compile_stop(ret, POLICY_COMPILE_WRITE, r);
	}
	return compile_stop(ret, POLICY_COMPILE_DONE, 0);
}

void policy_compile_free(struct policy_compile *c)
{
	policy_prove_report_free(&c->report);
	free(c->table);
	policy_free(c->policy);
	memset(c, 0, sizeof *c);
}
