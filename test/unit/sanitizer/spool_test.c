/* san_spool + sanitize_spool/sanitize_fd: a message in memory, spooled to a
 * file, read from a file and from a pipe gives the same output; the
 * original quarantined from a file is byte-identical; limits still fail
 * closed on the file path. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitizer/sanitize.h"
#include "test/check.h"

static const char MSG[] =
	"From: a@example.com\nTo: b@lgwan.test\nSubject: spool\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain; charset=utf-8\n\n"
	"本文です。 https://example.jp/x\n--B\nContent-Type: application/octet-stream; name=\"a.bin\"\n"
	"Content-Disposition: attachment; filename=\"a.bin\"\nContent-Transfer-Encoding: base64\n\n"
	"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n--B--\n";

static char tmpdir[] = "/tmp/san-spool-test.XXXXXX";

static int run(struct sanitize_ctx *x, struct san_spool *sp, struct strbuf *out, struct sanitize_result *res)
{
	strbuf_reset(out);
	return sanitize_spool(x, sp, out, res);
}

static char *slurp(int dfd, const char *name, size_t *ret_len)
{
	int fd = openat(dfd, name, O_RDONLY);
	if (fd < 0)
		return NULL;
	struct stat st;
	fstat(fd, &st);
	char *b = malloc((size_t)st.st_size + 1);
	*ret_len = (size_t)read(fd, b, (size_t)st.st_size);
	close(fd);
	return b;
}

int main(void)
{
	CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
	char qdir[128];
	snprintf(qdir, sizeof(qdir), "%s/q", tmpdir);
	struct san_quarantine_opts qo = {.dir = qdir};
	struct san_quarantine *q = NULL;
	char why[256];
	CHECK(san_quarantine_open(&qo, &q, why, sizeof(why)) == 0, "quarantine: %s", why);
	struct sanitize_config cfg;
	sanitize_config_defaults(&cfg);
	cfg.quarantine = q;
	struct sanitize_ctx *x = NULL;
	CHECK(sanitize_ctx_new(&cfg, &x) == 0, "ctx");
	if (!x || !q)
		return check_done();

	/* reference: the buffer path */
	struct strbuf ref = STRBUF_INIT, out = STRBUF_INIT;
	struct sanitize_result res;
	CHECK(sanitize_buffer(x, MSG, sizeof(MSG) - 1, &ref, &res) == 0 && res.status == SANITIZE_OK, "buffer");
	CHECK(res.n_items == 1 && strstr(ref.buf, "Content-Type: text/plain"), "one item removed");
	char orig_sha[65];
	memcpy(orig_sha, res.original_sha256, sizeof(orig_sha));
	sanitize_result_free(&res);

	/* memory spool (large threshold) and file spool (threshold 16: the
	 * headers already overflow it), written in 7-byte pieces */
	size_t thresholds[] = {1 << 20, 16, 0};
	for (size_t t = 0; t < 3; t++) {
		struct san_spool sp;
		san_spool_init(&sp, tmpdir, thresholds[t]);
		int e = 0;
		for (size_t i = 0; i < sizeof(MSG) - 1 && e == 0; i += 7) {
			size_t n = sizeof(MSG) - 1 - i < 7 ? sizeof(MSG) - 1 - i : 7;
			e = san_spool_write(&sp, MSG + i, n);
		}
		CHECK(e == 0 && sp.len == sizeof(MSG) - 1, "spool %zu write", t);
		CHECK((t == 0) == (sp.fd < 0), "spool %zu in %s", t, sp.fd < 0 ? "memory" : "a file");
		CHECK(run(x, &sp, &out, &res) == 0 && out.len == ref.len && memcmp(out.buf, ref.buf, ref.len) == 0,
		      "spool %zu: same output", t);
		CHECK(strcmp(res.original_sha256, orig_sha) == 0 && res.original_qid[0], "spool %zu: original kept", t);
		sanitize_result_free(&res);
		san_spool_reset(&sp);
		CHECK(sp.fd < 0 && sp.len == 0, "reset");
	}

	/* the quarantined original (from the file path) is the exact bytes */
	char dn[80];
	snprintf(dn, sizeof(dn), "%s.data", orig_sha);
	int qfd = open(qdir, O_RDONLY | O_DIRECTORY);
	size_t ql = 0;
	char *qb = slurp(qfd, dn, &ql);
	CHECK(qb && ql == sizeof(MSG) - 1 && memcmp(qb, MSG, ql) == 0, "quarantined original identical");
	free(qb);

	/* san_quarantine_put_fd on its own: hash, dedup, cap */
	char path[160];
	snprintf(path, sizeof(path), "%s/in.eml", tmpdir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "xxHELLOyy", 9) == 9, "write in.eml");
	char sha[65], sha2[65];
	struct san_qmeta m = {.kind = "test"};
	CHECK(san_quarantine_put_fd(q, fd, 2, 5, &m, sha) == 0, "put_fd");
	san_quarantine_sha256_hex("HELLO", 5, sha2);
	CHECK(strcmp(sha, sha2) == 0, "put_fd hash of the range");
	CHECK(san_quarantine_sha256_fd_hex(fd, 2, 5, sha2) == 0 && strcmp(sha, sha2) == 0, "sha256_fd");
	CHECK(san_quarantine_sha256_fd_hex(fd, 2, 50, sha2) == -EIO, "short file: -EIO");
	CHECK(san_quarantine_put_fd(q, fd, 2, 5, &m, sha2) == 0 && strcmp(sha, sha2) == 0, "put_fd dedup");
	close(fd);

	/* sanitize_fd: a regular file and a pipe give the reference output */
	fd = open(path, O_RDWR | O_TRUNC);
	CHECK(fd >= 0 && write(fd, MSG, sizeof(MSG) - 1) == (ssize_t)(sizeof(MSG) - 1), "write file");
	lseek(fd, 0, SEEK_SET);
	strbuf_reset(&out);
	CHECK(sanitize_fd(x, fd, tmpdir, &out, &res) == 0 && out.len == ref.len &&
		      memcmp(out.buf, ref.buf, ref.len) == 0,
	      "sanitize_fd file");
	sanitize_result_free(&res);
	close(fd);
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	CHECK(write(p[1], MSG, sizeof(MSG) - 1) == (ssize_t)(sizeof(MSG) - 1), "write pipe");
	close(p[1]);
	strbuf_reset(&out);
	CHECK(sanitize_fd(x, p[0], tmpdir, &out, &res) == 0 && out.len == ref.len &&
		      memcmp(out.buf, ref.buf, ref.len) == 0,
	      "sanitize_fd pipe");
	sanitize_result_free(&res);
	close(p[0]);
	sanitize_ctx_free(x);

	/* limits on the file path: decoded size, message size, line length */
	struct {
		size_t max_decoded, max_message, max_line;
		const char *reason;
	} lims[] = {
		{20, (size_t)50 << 20, 1 << 18, "decoded-size"},
		{(size_t)100 << 20, 100, 1 << 18, "message-size"},
		{(size_t)100 << 20, (size_t)50 << 20, 40, "line-length"},
	};
	for (size_t i = 0; i < 3; i++) {
		sanitize_config_defaults(&cfg);
		cfg.quarantine = q;
		cfg.lim.max_decoded = lims[i].max_decoded;
		cfg.lim.max_message = lims[i].max_message;
		cfg.lim.max_line = lims[i].max_line;
		CHECK(sanitize_ctx_new(&cfg, &x) == 0, "ctx");
		struct san_spool sp;
		san_spool_init(&sp, tmpdir, 0);
		CHECK(san_spool_write(&sp, MSG, sizeof(MSG) - 1) == 0 && sp.fd >= 0, "spooled");
		strbuf_reset(&out);
		CHECK(sanitize_spool(x, &sp, &out, &res) == 0 && res.status == SANITIZE_FAILED && res.reason &&
			      strstr(res.reason, lims[i].reason) && res.original_qid[0] &&
			      !strstr(out.buf ? out.buf : "", "QUJD"),
		      "limit %s: failed closed (%s)", lims[i].reason, res.reason ? res.reason : "-");
		sanitize_result_free(&res);
		san_spool_reset(&sp);
		sanitize_ctx_free(x);
	}
	san_quarantine_close(q);
	strbuf_free(&ref);
	strbuf_free(&out);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	CHECK(system(cmd) == 0, "cleanup");
	return check_done();
}
