/* ptl_link: link tokens and link manifests (sanitizer/portal/ptl_link.h).
 *
 * Manifests are written by the milter and the worker and read by the
 * LGWAN portal, three users sharing one directory through a group: every
 * read is capped and checked as if the file came from an attacker (a
 * compromised writer must not be able to steer the portal to another path
 * or past a cap).  Writes go to a hidden temporary name, are fsynced and
 * renamed, then the directory is fsynced: a manifest exists whole or not at
 * all, and the notice that names it is sent only after that. */
#include "sanitizer/portal/ptl_link.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/jsonx.h"
#include "common/sha256.h"
#include "common/utf8.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int ptl_token_new(char token[PTL_TOKEN_LEN + 1])
{
	unsigned char rnd[PTL_TOKEN_BYTES + 1] = {0}; /* one pad byte for the last group */
	size_t got = 0;
	while (got < PTL_TOKEN_BYTES) {
		ssize_t n = getrandom(rnd + got, PTL_TOKEN_BYTES - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	size_t o = 0;
	for (size_t i = 0; i < PTL_TOKEN_BYTES; i += 3) {
		unsigned v =
			(unsigned)rnd[i] << 16 | (unsigned)rnd[i + 1] << 8 | (i + 2 < PTL_TOKEN_BYTES ? rnd[i + 2] : 0);
		char q[4] = {b64url[v >> 18 & 63], b64url[v >> 12 & 63], b64url[v >> 6 & 63], b64url[v & 63]};
		for (int k = 0; k < 4 && o < PTL_TOKEN_LEN; k++)
			token[o++] = q[k];
	}
	token[o] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

int ptl_token_hash(const char *token, char hash[PTL_HASH_LEN + 1])
{
	size_t n = token ? strnlen(token, PTL_TOKEN_LEN + 1) : 0;
	if (n != PTL_TOKEN_LEN || strspn(token, b64url) != PTL_TOKEN_LEN)
		return -EINVAL;
	/* 32 bytes make 256 bits: the last character carries 4 bits and 2
	 * zero bits; a token with those bits set was never made here */
	if ((strchr(b64url, token[PTL_TOKEN_LEN - 1]) - b64url) & 3)
		return -EINVAL;
	sha256_hex(token, PTL_TOKEN_LEN, hash);
	return 0;
}

bool ptl_hash_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < PTL_HASH_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[PTL_HASH_LEN] == '\0';
}

/* Strings in a manifest: valid UTF-8, no control characters (C0, DEL, C1),
 * at most PTL_LINK_MAX_STR bytes.  Names and subjects reach HTML pages and
 * mail headers: the writers neutralise them already, this keeps a forged
 * manifest from smuggling a line break. */
static bool str_ok(const char *s, size_t len)
{
	return len <= PTL_LINK_MAX_STR && utf8_text(s, len);
}

void ptl_link_free(struct ptl_link *l)
{
	free(l->message_id);
	free(l->queue_id);
	free(l->from);
	free(l->subject);
	free(l->note);
	for (size_t i = 0; i < l->nrcpt && i < PTL_LINK_MAX_RCPT; i++)
		free(l->rcpt[i]);
	for (size_t i = 0; i < l->nfiles && i < PTL_LINK_MAX_FILES; i++) {
		free(l->files[i].name);
		free(l->files[i].type);
		free(l->files[i].cdr);
	}
	memset(l, 0, sizeof(*l));
}

static bool origin_ok(const char *o)
{
	return !strcmp(o, "mail") || !strcmp(o, "upload");
}

/* "pending", "ready" (a copy of the same content already existed: the
 * milter's notice says so) or "none:<key>" with a key of [a-z0-9-],
 * 1..47 bytes */
static bool cdr_state_ok(const char *s)
{
	if (!strcmp(s, "pending") || !strcmp(s, "ready"))
		return true;
	if (strncmp(s, "none:", 5) != 0)
		return false;
	size_t n = strlen(s + 5);
	return n > 0 && n < 48 && strspn(s + 5, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static int add_str(struct json_object *o, const char *k, const char *v)
{
	if (!v)
		return json_object_object_add(o, k, NULL);
	if (!str_ok(v, strlen(v)))
		return -1;
	return json_object_object_add(o, k, json_object_new_string(v));
}

char *ptl_link_text(const struct ptl_link *l)
{
	if (!origin_ok(l->origin) || l->nrcpt > PTL_LINK_MAX_RCPT || l->nfiles > PTL_LINK_MAX_FILES ||
	    l->expires < l->created) {
		errno = EINVAL;
		return NULL;
	}
	struct json_object *o = json_object_new_object();
	int bad = !o;
	if (o) {
		json_object_object_add(o, "v", json_object_new_int(1));
		json_object_object_add(o, "origin", json_object_new_string(l->origin));
		json_object_object_add(o, "created", json_object_new_int64(l->created));
		json_object_object_add(o, "expires", json_object_new_int64(l->expires));
		bad |= add_str(o, "message_id", l->message_id) | add_str(o, "queue_id", l->queue_id) |
			add_str(o, "from", l->from) | add_str(o, "subject", l->subject) | add_str(o, "note", l->note);
		struct json_object *a = json_object_new_array();
		bad |= !a || json_object_object_add(o, "rcpt", a);
		for (size_t i = 0; !bad && i < l->nrcpt; i++) {
			bad |= !l->rcpt[i] || !str_ok(l->rcpt[i], strlen(l->rcpt[i]));
			if (!bad)
				json_object_array_add(a, json_object_new_string(l->rcpt[i]));
		}
		struct json_object *fa = json_object_new_array();
		bad |= !fa || json_object_object_add(o, "files", fa);
		for (size_t i = 0; !bad && i < l->nfiles; i++) {
			const struct ptl_link_file *f = &l->files[i];
			struct json_object *fo = json_object_new_object();
			bad |= !fo || !ptl_hash_valid(f->sha256) || !cdr_state_ok(f->cdr ? f->cdr : "pending");
			if (bad) {
				json_object_put(fo);
				break;
			}
			json_object_object_add(fo, "sha256", json_object_new_string(f->sha256));
			bad |= add_str(fo, "name", f->name) | add_str(fo, "type", f->type);
			json_object_object_add(fo, "bytes", json_object_new_int64((int64_t)f->bytes));
			json_object_object_add(fo, "cdr", json_object_new_string(f->cdr ? f->cdr : "pending"));
			json_object_array_add(fa, fo);
		}
	}
	const char *s =
		bad ? NULL : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *t = s ? strdup(s) : NULL;
	json_object_put(o);
	if (!t)
		errno = bad ? EINVAL : ENOMEM;
	else if (strlen(t) > PTL_LINK_MAX_BYTES) {
		free(t);
		t = NULL;
		errno = EFBIG;
	}
	return t;
}

/* An optional string member (jsonx_opt_str) that is also a valid manifest
 * string. */
static bool get_str(struct json_object *o, const char *k, char **ret)
{
	if (!jsonx_opt_str(o, k, ret))
		return false;
	if (*ret && !str_ok(*ret, strlen(*ret))) {
		free(*ret);
		*ret = NULL;
		return false;
	}
	return true;
}

static bool get_int(struct json_object *o, const char *k, int64_t *ret)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*ret = json_object_get_int64(v);
	return *ret >= 0;
}

static bool parse_file(struct json_object *fo, struct ptl_link_file *f)
{
	struct json_object *v;
	int64_t bytes;
	if (!json_object_is_type(fo, json_type_object) || !json_object_object_get_ex(fo, "sha256", &v) ||
	    !json_object_is_type(v, json_type_string) || !ptl_hash_valid(json_object_get_string(v)))
		return false;
	snprintf(f->sha256, sizeof(f->sha256), "%s", json_object_get_string(v));
	if (!get_str(fo, "name", &f->name) || !get_str(fo, "type", &f->type) || !get_int(fo, "bytes", &bytes) ||
	    !get_str(fo, "cdr", &f->cdr) || !f->cdr || !cdr_state_ok(f->cdr))
		return false;
	f->bytes = (uint64_t)bytes;
	return true;
}

int ptl_link_parse(const char *buf, size_t len, struct ptl_link *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len > PTL_LINK_MAX_BYTES)
		return -EFBIG;
	struct json_object *o = jsonx_parse(buf, len, 8);
	int r = -EINVAL;
	struct json_object *v;
	int64_t ver = 0;
	if (!o || !json_object_is_type(o, json_type_object) || !get_int(o, "v", &ver) || ver != 1)
		goto out;
	if (!json_object_object_get_ex(o, "origin", &v) || !json_object_is_type(v, json_type_string) ||
	    !origin_ok(json_object_get_string(v)))
		goto out;
	snprintf(ret->origin, sizeof(ret->origin), "%s", json_object_get_string(v));
	if (!get_int(o, "created", &ret->created) || !get_int(o, "expires", &ret->expires) ||
	    ret->expires < ret->created)
		goto out;
	if (!get_str(o, "message_id", &ret->message_id) || !get_str(o, "queue_id", &ret->queue_id) ||
	    !get_str(o, "from", &ret->from) || !get_str(o, "subject", &ret->subject) || !get_str(o, "note", &ret->note))
		goto out;
	if (!json_object_object_get_ex(o, "rcpt", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > PTL_LINK_MAX_RCPT)
		goto out;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		const char *s = json_object_get_string(e);
		size_t n = (size_t)json_object_get_string_len(e);
		if (!json_object_is_type(e, json_type_string) || strlen(s) != n || !str_ok(s, n))
			goto out;
		if (!(ret->rcpt[ret->nrcpt] = strdup(s))) {
			r = -ENOMEM;
			goto out;
		}
		ret->nrcpt++;
	}
	if (!json_object_object_get_ex(o, "files", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > PTL_LINK_MAX_FILES)
		goto out;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		ret->nfiles++; /* counted first: ptl_link_free frees a half-parsed file too */
		if (!parse_file(json_object_array_get_idx(v, i), &ret->files[i]))
			goto out;
	}
	r = 0;
out:
	json_object_put(o);
	if (r < 0)
		ptl_link_free(ret);
	return r;
}

static int open_dir(const char *dir)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return d < 0 ? -errno : d;
}

int ptl_link_write(const char *dir, const struct ptl_link *l, char token[PTL_TOKEN_LEN + 1],
		   char hash[PTL_HASH_LEN + 1])
{
	char *text = ptl_link_text(l);
	if (!text)
		return -errno;
	char tok[PTL_TOKEN_LEN + 1], h[PTL_HASH_LEN + 1], name[PTL_HASH_LEN + 8], tmp[PTL_HASH_LEN + 8];
	int r = ptl_token_new(tok);
	if (r == 0)
		r = ptl_token_hash(tok, h);
	int d = r == 0 ? open_dir(dir) : r;
	if (d < 0) {
		free(text);
		return d;
	}
	snprintf(name, sizeof(name), "%s.json", h);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", h);
	int fd = openat(d, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		r = -errno;
	else {
		/* the portal reads what the milter or the worker wrote, through
		 * the directory's group: their UMask (0077) must not take it */
		r = fchmod(fd, 0640) < 0 ? -errno : 0;
		if (r == 0)
			r = fdio_write_all(fd, text, strlen(text));
		if (r == 0 && fsync(fd) < 0)
			r = -errno;
		if (close(fd) < 0 && r == 0)
			r = -errno;
		/* linkat would refuse an existing name; a 256-bit collision is
		 * not a case, but renameat2 keeps even that from overwriting */
		if (r == 0 && renameat2(d, tmp, d, name, RENAME_NOREPLACE) < 0)
			r = -errno;
		if (r < 0)
			unlinkat(d, tmp, 0);
		else if (fsync(d) < 0)
			r = -errno;
	}
	close(d);
	free(text);
	if (r == 0) {
		if (token)
			memcpy(token, tok, sizeof(tok));
		if (hash)
			memcpy(hash, h, sizeof(h));
	}
	explicit_bzero(tok, sizeof(tok));
	return r;
}

/* Read and parse d/<hash>.json (no revocation or expiry check). */
static int load_raw(int d, const char *hash, struct ptl_link *ret)
{
	memset(ret, 0, sizeof(*ret));
	char name[PTL_HASH_LEN + 16];
	snprintf(name, sizeof(name), "%s.json", hash);
	int fd = openat(d, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	struct stat st;
	char *buf = NULL;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((uint64_t)st.st_size > PTL_LINK_MAX_BYTES)
		r = -EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		r = -ENOMEM;
	size_t len = 0;
	while (r == 0 && len <= (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r == 0 && len > (size_t)st.st_size)
		r = -EFBIG; /* grew while read: a writer rewrote it in place */
	if (r == 0)
		r = ptl_link_parse(buf, len, ret);
	free(buf);
	return r;
}

static bool is_revoked(int d, const char *hash)
{
	char name[PTL_HASH_LEN + 16];
	snprintf(name, sizeof(name), "%s.revoked", hash);
	return faccessat(d, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int ptl_link_load_hash(const char *dir, const char *hash, int64_t now, struct ptl_link *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!ptl_hash_valid(hash))
		return -ENOENT;
	int d = open_dir(dir);
	if (d < 0)
		return d;
	/* the mark is looked at first: a revocation made while the manifest
	 * is read still counts */
	bool revoked = is_revoked(d, hash);
	int r = load_raw(d, hash, ret);
	close(d);
	if (r == 0 && (revoked || now > ret->expires)) {
		ptl_link_free(ret);
		r = revoked ? -EKEYREVOKED : -EKEYEXPIRED;
	}
	return r;
}

int ptl_link_load(const char *dir, const char *token, int64_t now, struct ptl_link *ret, char hash[PTL_HASH_LEN + 1])
{
	char h[PTL_HASH_LEN + 1];
	memset(ret, 0, sizeof(*ret));
	if (ptl_token_hash(token, h) < 0)
		return -ENOENT; /* a malformed token is just another unknown one */
	int r = ptl_link_load_hash(dir, h, now, ret);
	if (hash)
		memcpy(hash, h, sizeof(h));
	return r;
}

/* DIR for readdir, its fd in *d; NULL with -errno in *d */
static DIR *open_list(const char *dir, int *d)
{
	*d = open_dir(dir);
	if (*d < 0)
		return NULL;
	DIR *dp = fdopendir(*d);
	if (!dp) {
		int e = -errno;
		close(*d);
		*d = e;
	}
	return dp;
}

#define MARK_NAME_MAX (PTL_HASH_LEN + 16)

/* DIR opened for the file <hash><ext>, its name in name: the fd or
 * -EINVAL (not a hash), -errno */
static int open_for(const char *dir, const char *hash, const char *ext, char name[MARK_NAME_MAX])
{
	if (!ptl_hash_valid(hash))
		return -EINVAL;
	snprintf(name, MARK_NAME_MAX, "%s%s", hash, ext);
	return open_dir(dir);
}

/* Create the empty mark DIR/<hash><ext> of an existing manifest, fsync
 * DIR.  A group mark (the approval: the portal, another user of the group,
 * removes it) is made group-writable whatever the umask, and given the
 * directory's group even where DIR lacks setgid. */
static int make_mark(const char *dir, const char *hash, const char *ext, bool group)
{
	char name[MARK_NAME_MAX];
	int d = open_for(dir, hash, ".json", name);
	if (d < 0)
		return d;
	int r = faccessat(d, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	snprintf(name, sizeof(name), "%s%s", hash, ext);
	int fd = r == 0 ? openat(d, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, group ? 0660 : 0640) : -1;
	if (r == 0 && fd < 0)
		r = -errno;
	struct stat ds;
	if (group && r == 0 && fstat(d, &ds) < 0)
		r = -errno;
	if (group && r == 0 && fchown(fd, (uid_t)-1, ds.st_gid) < 0)
		r = -errno;
	if (group && r == 0 && fchmod(fd, 0660) < 0)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && fsync(d) < 0)
		r = -errno;
	close(d);
	return r;
}

int ptl_link_revoke(const char *dir, const char *hash)
{
	return make_mark(dir, hash, ".revoked", false);
}

int ptl_link_approval_mark(const char *dir, const char *hash)
{
	return make_mark(dir, hash, ".approval", true);
}

bool ptl_link_approval_pending(const char *dir, const char *hash)
{
	char name[MARK_NAME_MAX];
	int d = open_for(dir, hash, ".approval", name);
	if (d < 0)
		return false;
	struct stat st;
	bool ok = fstatat(d, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	close(d);
	return ok;
}

int ptl_link_approval_clear(const char *dir, const char *hash)
{
	char name[MARK_NAME_MAX];
	int d = open_for(dir, hash, ".approval", name);
	if (d < 0)
		return d;
	int r = unlinkat(d, name, 0) < 0 ? -errno : 0;
	if (r == 0 && fsync(d) < 0)
		r = -errno;
	close(d);
	return r;
}

struct mark {
	char hash[PTL_HASH_LEN + 1];
	int64_t sec, nsec;
};

static int mark_cmp(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;
	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->nsec != y->nsec)
		return x->nsec < y->nsec ? -1 : 1;
	return strcmp(x->hash, y->hash);
}

int ptl_link_approval_list(const char *dir, size_t max, char (**ret)[PTL_HASH_LEN + 1], size_t *ret_n, size_t *ret_more)
{
	*ret = NULL;
	*ret_n = *ret_more = 0;
	int d;
	DIR *dp = open_list(dir, &d);
	if (!dp)
		return d;
	/* every mark is kept while reading (a directory of at most a few
	 * thousand uploads), sorted, then cut at max */
	struct mark *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		const char *dot = strchr(e->d_name, '.');
		struct stat st;
		if (!dot || dot - e->d_name != PTL_HASH_LEN || strcmp(dot, ".approval") != 0 ||
		    fstatat(d, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct mark *nv = reallocarray(v, nc, sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		memcpy(v[n].hash, e->d_name, PTL_HASH_LEN);
		v[n].hash[PTL_HASH_LEN] = '\0';
		if (!ptl_hash_valid(v[n].hash))
			continue;
		v[n].sec = (int64_t)st.st_mtim.tv_sec;
		v[n].nsec = (int64_t)st.st_mtim.tv_nsec;
		n++;
	}
	closedir(dp);
	if (r == 0 && n) {
		qsort(v, n, sizeof(*v), mark_cmp);
		size_t k = n < max ? n : max;
		*ret = k ? calloc(k, sizeof(**ret)) : NULL;
		if (k && !*ret)
			r = -ENOMEM;
		for (size_t i = 0; r == 0 && i < k; i++)
			memcpy((*ret)[i], v[i].hash, PTL_HASH_LEN + 1);
		if (r == 0) {
			*ret_n = k;
			*ret_more = n - k;
		}
	}
	free(v);
	return r;
}

/* The hash part of "<hash>.json" / "<hash>.revoked" / "<hash>.approval" /
 * ".<hash>.tmp", or NULL for any other name (left alone). */
static const char *entry_hash(const char *n, char h[PTL_HASH_LEN + 1], const char **ext)
{
	const char *p = n[0] == '.' ? n + 1 : n;
	if (strlen(p) <= PTL_HASH_LEN || p[PTL_HASH_LEN] != '.')
		return NULL;
	memcpy(h, p, PTL_HASH_LEN);
	h[PTL_HASH_LEN] = '\0';
	*ext = p + PTL_HASH_LEN;
	if (!ptl_hash_valid(h))
		return NULL;
	if (n[0] == '.' ? strcmp(*ext, ".tmp")
			: strcmp(*ext, ".json") && strcmp(*ext, ".revoked") && strcmp(*ext, ".approval"))
		return NULL;
	return h;
}

int ptl_link_sweep(const char *dir, int64_t now, int64_t grace)
{
	int d;
	DIR *dp = open_list(dir, &d);
	if (!dp)
		return d;
	int deleted = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		char h[PTL_HASH_LEN + 1];
		const char *ext;
		struct stat st;
		if (!entry_hash(e->d_name, h, &ext) || fstatat(d, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		bool old_by_mtime = (int64_t)st.st_mtime < now - grace;
		bool gone;
		if (strcmp(ext, ".json") == 0) {
			struct ptl_link l;
			int r = load_raw(d, h, &l);
			/* a manifest that does not read is judged by its age */
			gone = r == 0 ? l.expires < now - grace : old_by_mtime;
			ptl_link_free(&l);
			if (gone) {
				char rn[PTL_HASH_LEN + 16];
				snprintf(rn, sizeof(rn), "%s.revoked", h);
				unlinkat(d, rn, 0);
				snprintf(rn, sizeof(rn), "%s.approval", h);
				unlinkat(d, rn, 0);
			}
		} else {
			/* a .revoked or .approval mark or a temporary file: with its manifest
			 * gone, and stale */
			char jn[PTL_HASH_LEN + 8];
			snprintf(jn, sizeof(jn), "%s.json", h);
			gone = old_by_mtime && faccessat(d, jn, F_OK, AT_SYMLINK_NOFOLLOW) < 0;
		}
		if (gone && unlinkat(d, e->d_name, 0) == 0)
			deleted++;
	}
	closedir(dp);
	return deleted;
}
