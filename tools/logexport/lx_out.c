/* lx_out: atomic output files with optional CP932 conversion (lx_out.h).
 *
 * Contract: data goes through a stdio buffer; the first write error is
 * kept and returned by every later call, so a caller may check only at
 * commit.  The temporary file is created 0600 in the target's directory
 * (rename needs the same file system) and given 0644 at commit, like a
 * file written by a shell redirection under the usual umask. */
#include "tools/logexport/lx_out.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "tools/logexport/lx_cp932.h"

struct lx_out {
	FILE *f;
	char *path; /* final path, NULL for stdout */
	char *tmp;  /* temporary path, NULL for stdout or once renamed */
	struct lx_cp932 *conv;
	struct strbuf cbuf;
	uint64_t replaced;
	int err;
};

int lx_out_open(const char *path, enum lx_enc enc, struct lx_out **ret_out)
{
	struct lx_out *o = xcalloc(1, sizeof *o);
	if (enc == LX_ENC_CP932) {
		int r = lx_cp932_new(&o->conv);
		if (r < 0) {
			free(o);
			return r;
		}
	}
	if (!path || strcmp(path, "-") == 0) {
		o->f = stdout;
	} else {
		o->path = xstrdup(path);
		o->tmp = xasprintf("%s.tmp-XXXXXX", path);
		int fd = mkstemp(o->tmp);
		if (fd < 0) {
			int r = -errno;
			free(o->tmp);
			o->tmp = NULL;
			lx_out_free(o);
			return r;
		}
		o->f = fdopen(fd, "w");
		if (!o->f) {
			int r = -errno;
			close(fd);
			lx_out_free(o);
			return r;
		}
	}
	*ret_out = o;
	return 0;
}

int lx_out_write(struct lx_out *o, const char *s, size_t n)
{
	if (o->err)
		return o->err;
	if (n == 0)
		return 0;
	if (o->conv) {
		strbuf_reset(&o->cbuf);
		o->replaced += lx_cp932_convert(o->conv, s, n, &o->cbuf);
		s = strbuf_str(&o->cbuf);
		n = o->cbuf.len;
	}
	if (fwrite(s, 1, n, o->f) != n)
		o->err = errno ? -errno : -EIO;
	return o->err;
}

int lx_out_puts(struct lx_out *o, const char *s)
{
	return lx_out_write(o, s, strlen(s));
}

int lx_out_commit(struct lx_out *o)
{
	if (o->err)
		return o->err;
	if (fflush(o->f) != 0)
		return o->err = -errno;
	if (!o->tmp)
		return 0;
	if (fchmod(fileno(o->f), 0644) < 0 || fsync(fileno(o->f)) < 0)
		return o->err = -errno;
	if (rename(o->tmp, o->path) < 0)
		return o->err = -errno;
	free(o->tmp);
	o->tmp = NULL;
	/* make the rename durable */
	char *d = xstrdup(o->path);
	int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(d);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

uint64_t lx_out_replaced(const struct lx_out *o)
{
	return o->replaced;
}

void lx_out_free(struct lx_out *o)
{
	if (!o)
		return;
	if (o->f && o->f != stdout)
		fclose(o->f);
	else if (o->f)
		fflush(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	lx_cp932_free(o->conv);
	strbuf_free(&o->cbuf);
	free(o);
}
