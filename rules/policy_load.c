/* policy_load: policy files into one syntax tree (see policy_load.h), and
 * the front end policy_load = policy_load_files + policy_eval.
 *
 * The top file is read whole and lexed and parsed; the parser hands each
 * include statement back here as soon as it is parsed, and the included
 * file is read and parsed right there into the same tree, so statements
 * stay in source order across files.  Includes are resolved relative to
 * the including file as it was named, must stay inside the top file's
 * directory (by realpath), and are refused when they form a cycle, repeat
 * a file, nest deeper than POLICY_MAX_INCLUDE_DEPTH or exceed
 * POLICY_MAX_FILES; a file is at most POLICY_MAX_FILE_BYTES and all of
 * them together LOAD_MAX_TOTAL_BYTES.  Every token returned by the lexer
 * feeds the SHA-256 of the normalised source.
 *
 * Failure: a problem in an include is an error in the diag and the load
 * goes on; only a top file that cannot be read, a bad date option or a
 * libcrypto failure make policy_load_files return -errno.  Allocation
 * failures abort (xalloc): this is the control plane. */
#include "rules/policy_load.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/i18n.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "rules/policy_eval.h"
#include "rules/policy_lex.h"
#include "rules/policy_parse.h"

/* All files of one policy together; a policy is text written by people,
 * so this is far beyond any real one. */
#define LOAD_MAX_TOTAL_BYTES (256u << 20)

/* The state of one load besides what it produces. */
struct loader {
	struct policy_source *src;
	struct diag *d;
	uint32_t *stack; /* files being parsed (include chain) */
	size_t nstack, stackcap;
	char *root; /* realpath of the top file's directory */
	size_t total_bytes;
	EVP_MD_CTX *sha;
	bool from_buffer;
};

static struct policy_loc load_dloc(const struct loader *l, struct ast_loc at)
{
	return (struct policy_loc){l->src->files[at.file].dname, at.line, at.col, at.len};
}

static void load_hash_token(void *ctx, const struct policy_token *t)
{
	struct loader *l = ctx;
	unsigned char hdr[5] = {(unsigned char)t->kind, (unsigned char)(t->len >> 24), (unsigned char)(t->len >> 16),
				(unsigned char)(t->len >> 8), (unsigned char)t->len};
	if (!l->sha)
		return;
	EVP_DigestUpdate(l->sha, hdr, sizeof hdr);
	if (t->len)
		EVP_DigestUpdate(l->sha, t->text, t->len);
}

static void load_include(void *ctx, const struct ast_stmt *inc);

/* Lex and parse one file that was read into text. */
static void load_parse_text(struct loader *l, const char *path, char *real, const char *text, size_t len,
			    const struct ast_stmt *inc)
{
	struct policy_source *s = l->src;
	uint32_t idx = (uint32_t)s->nfiles;
	xgrow(&s->files, &s->filecap, s->nfiles + 1, sizeof *s->files);
	struct policy_file *f = &s->files[s->nfiles++];
	memset(f, 0, sizeof *f);
	f->path = xstrdup(path);
	f->dname = policy_diag_add_source(l->d, path, text, len);
	f->real = real;
	if (inc) {
		f->has_inc = true;
		f->inc = inc->name.loc;
	}

	xgrow(&l->stack, &l->stackcap, l->nstack + 1, sizeof *l->stack);
	l->stack[l->nstack++] = idx;
	struct policy_lexer lx;
	policy_lex_init(&lx, f->dname, text, len, l->d);
	lx.on_token = load_hash_token;
	lx.on_token_ctx = l;
	policy_parse_file(&s->ast, &lx, idx, load_include, l);
	policy_lex_free(&lx);
	l->nstack--;
}

/* Read a whole regular file.  Returns 0, or -errno with *why set. */
static int load_read_file(const char *path, size_t budget, char **ret, size_t *ret_len, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		*why = strerror(errno);
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		*why = S_ISDIR(st.st_mode) ? _("it is a directory") : _("not a regular file");
		/* not -EINVAL: that means "the policy has errors" */
		return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTSUP;
	}
	if ((uint64_t)st.st_size > POLICY_MAX_FILE_BYTES) {
		close(fd);
		*why = _("larger than 64 MiB");
		return -EFBIG;
	}
	if ((size_t)st.st_size > budget) {
		close(fd);
		*why = _("the policy files together are larger than 256 MiB");
		return -EFBIG;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			/* the file grew while we read it: stay within the caps */
			if (cap > POLICY_MAX_FILE_BYTES || cap > budget) {
				free(buf);
				close(fd);
				*why = _("larger than 64 MiB");
				return -EFBIG;
			}
			buf = xreallocarray(buf, cap, 2);
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			*why = strerror(errno);
			free(buf);
			close(fd);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > POLICY_MAX_FILE_BYTES) {
		free(buf);
		*why = _("larger than 64 MiB");
		return -EFBIG;
	}
	*ret = buf;
	*ret_len = n;
	return 0;
}

/* Called by the parser for each include statement. */
static void load_include(void *ctx, const struct ast_stmt *inc)
{
	struct loader *l = ctx;
	struct policy_source *s = l->src;
	struct policy_loc at = load_dloc(l, inc->name.loc);
	const struct policy_file *parent = &s->files[inc->loc.file];

	if (l->from_buffer) {
		policy_diag_error(l->d, at, "include is not available for a policy loaded from memory");
		return;
	}
	if (inc->name.len == 0) {
		policy_diag_error(l->d, at, "empty file name");
		return;
	}
	if (l->nstack > POLICY_MAX_INCLUDE_DEPTH) {
		policy_diag_error(l->d, at, "includes nested deeper than %d levels", POLICY_MAX_INCLUDE_DEPTH);
		return;
	}
	if (s->nfiles >= POLICY_MAX_FILES) {
		policy_diag_error(l->d, at, "too many files (at most %d)", POLICY_MAX_FILES);
		return;
	}

	/* relative to the directory of the including file, as it was named */
	char *path;
	const char *slash = strrchr(parent->path, '/');
	if (inc->name.s[0] == '/' || !slash)
		path = xstrdup(inc->name.s);
	else
		path = xasprintf("%.*s/%s", (int)(slash - parent->path), parent->path, inc->name.s);

	char *real = realpath(path, NULL);
	if (!real) {
		policy_diag_error(l->d, at, "cannot open '%s': %s", path, strerror(errno));
		free(path);
		return;
	}
	size_t rl = strlen(l->root);
	if (strncmp(real, l->root, rl) || (real[rl] != '/' && !(rl == 1 && l->root[0] == '/'))) {
		policy_diag_error(l->d, at, "'%s' is outside the directory of the top-level policy file", path);
		goto out;
	}
	for (size_t i = 0; i < l->nstack; i++) {
		if (strcmp(s->files[l->stack[i]].real, real))
			continue;
		struct strbuf sb = STRBUF_INIT;
		for (size_t j = i; j < l->nstack; j++)
			strbuf_printf(&sb, "%s -> ", s->files[l->stack[j]].path);
		strbuf_puts(&sb, path);
		policy_diag_error(l->d, at, "include cycle: %s", strbuf_str(&sb));
		strbuf_free(&sb);
		goto out;
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		if (strcmp(s->files[i].real, real))
			continue;
		policy_diag_error(l->d, at, "'%s' is already included", path);
		if (s->files[i].has_inc)
			policy_diag_note(l->d, load_dloc(l, s->files[i].inc), "first included here");
		goto out;
	}
	char *text;
	size_t len;
	const char *why;
	if (load_read_file(real, LOAD_MAX_TOTAL_BYTES - l->total_bytes, &text, &len, &why) < 0) {
		policy_diag_error(l->d, at, "cannot read '%s': %s", path, why);
		goto out;
	}
	l->total_bytes += len;
	load_parse_text(l, path, real, text, len, inc);
	free(text);
	free(path);
	return;
out:
	free(real);
	free(path);
}

/* The date expiry is judged against: the option, or today in UTC. */
static int load_today(const struct policy_options *opt, struct diag *d, char today[11])
{
	if (opt && opt->today) {
		if (policy_eval_date(opt->today, strlen(opt->today)) < 0) {
			policy_diag_error(d, (struct policy_loc){0},
					  "invalid date for today: '%s' (expected "
					  "YYYY-MM-DD)",
					  opt->today);
			return -EINVAL;
		}
		memcpy(today, opt->today, 10);
		today[10] = '\0';
		return 0;
	}
	time_t now = time(NULL);
	struct tm tm;
	if (!gmtime_r(&now, &tm) || !strftime(today, 11, "%Y-%m-%d", &tm)) {
		policy_diag_error(d, (struct policy_loc){0}, "cannot tell today's date");
		return -EINVAL;
	}
	return 0;
}

static int load_start(struct loader *l, const struct policy_options *opt, struct diag *d, struct policy_source *ret)
{
	memset(l, 0, sizeof *l);
	memset(ret, 0, sizeof *ret);
	l->src = ret;
	l->d = d;
	ret->diag_from = d->n;
	ret->errors_before = d->nerrors;
	policy_ast_init(&ret->ast);
	int r = load_today(opt, d, ret->today);
	if (r < 0)
		return r;
	l->sha = EVP_MD_CTX_new();
	if (!l->sha || EVP_DigestInit_ex(l->sha, EVP_sha256(), NULL) != 1) {
		policy_diag_error(d, (struct policy_loc){0}, "cannot set up SHA-256 (libcrypto)");
		return -ENOMEM;
	}
	return 0;
}

static void load_finish(struct loader *l)
{
	unsigned int mdlen = 0;
	if (EVP_DigestFinal_ex(l->sha, l->src->sha256, &mdlen) != 1 || mdlen != 32)
		policy_diag_error(l->d, (struct policy_loc){0}, "cannot compute SHA-256 (libcrypto)");
}

static void load_free_scratch(struct loader *l)
{
	free(l->stack);
	free(l->root);
	if (l->sha)
		EVP_MD_CTX_free(l->sha);
}

int policy_load_files(const char *path, const struct policy_options *opt, struct diag *d, struct policy_source *ret)
{
	struct loader l;
	int r = load_start(&l, opt, d, ret);
	if (r < 0)
		goto out;

	char *real = realpath(path, NULL);
	char *text = NULL;
	size_t len = 0;
	const char *why = NULL;
	if (!real) {
		r = -errno;
		policy_diag_error(d, (struct policy_loc){0}, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	r = load_read_file(real, LOAD_MAX_TOTAL_BYTES, &text, &len, &why);
	if (r < 0) {
		policy_diag_error(d, (struct policy_loc){0}, "cannot read '%s': %s", path, why);
		free(real);
		goto out;
	}
	/* the directory includes must stay in: where the top file is named */
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path) + (slash == path)) : xstrdup(".");
	l.root = realpath(dir, NULL);
	free(dir);
	if (!l.root) {
		r = -errno;
		policy_diag_error(d, (struct policy_loc){0}, "cannot resolve the directory of '%s': %s", path,
				  strerror(errno));
		free(real);
		free(text);
		goto out;
	}
	l.total_bytes = len;
	load_parse_text(&l, path, real, text, len, NULL);
	free(text);
	load_finish(&l);
out:
	load_free_scratch(&l);
	return r;
}

int policy_load_text(const char *name, const char *text, size_t len, const struct policy_options *opt, struct diag *d,
		     struct policy_source *ret)
{
	struct loader l;
	int r = load_start(&l, opt, d, ret);
	if (r < 0)
		goto out;
	l.from_buffer = true;
	if (len > POLICY_MAX_FILE_BYTES) {
		policy_diag_error(d, (struct policy_loc){0}, "cannot read '%s': larger than 64 MiB", name);
		r = -EFBIG;
		goto out;
	}
	load_parse_text(&l, name, NULL, text, len, NULL);
	load_finish(&l);
out:
	load_free_scratch(&l);
	return r;
}

void policy_load_free(struct policy_source *src)
{
	policy_ast_free(&src->ast);
	for (size_t i = 0; i < src->nfiles; i++) {
		free(src->files[i].path);
		free(src->files[i].real);
	}
	free(src->files);
	memset(src, 0, sizeof *src);
}

int policy_load(const char *path, const struct policy_options *opt, struct diag *d, struct policy **ret)
{
	struct policy_source src;
	*ret = NULL;
	int r = policy_load_files(path, opt, d, &src);
	if (r == 0)
		r = policy_eval(&src, d, ret);
	policy_load_free(&src);
	return r;
}

int policy_load_buffer(const char *name, const char *text, size_t len, const struct policy_options *opt, struct diag *d,
		       struct policy **ret)
{
	struct policy_source src;
	*ret = NULL;
	int r = policy_load_text(name, text, len, opt, d, &src);
	if (r == 0)
		r = policy_eval(&src, d, ret);
	policy_load_free(&src);
	return r;
}
