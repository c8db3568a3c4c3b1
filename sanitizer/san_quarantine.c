/* san_quarantine: the quarantine store (see san_quarantine.h).
 * Contract: every write is temp file + fsync + rename + directory fsync;
 * failures return -errno and leave no partial item.  Nothing prints. */
#include "sanitizer/san_quarantine.h"
#include "common/fdio.h"
#include "common/sha256.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* Puts of different content run in parallel: each put waits for three
 * fsyncs, and with one lock over them every worker of the milter queued
 * behind the one that was writing (on a journaled file system that was
 * the milter's bottleneck).  A put holds the read side of rw and the
 * stripe of its SHA-256, so puts of the same content (same file names)
 * are serialised; expire, which rescans and deletes, holds the write side.
 * used is reserved with an atomic compare-and-swap against max_bytes. */
#define Q_STRIPES 32

struct san_quarantine {
	char *dir;
	int dfd;
	uint64_t max_bytes, retain, used;
	mode_t fmode; /* of every file written: 0600, or 0640 with group_read */
	pthread_rwlock_t rw;
	pthread_mutex_t stripe[Q_STRIPES];
};

void san_quarantine_sha256_hex(const void *buf, size_t len, char out[65])
{
	sha256_hex(buf, len, out);
}

static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Hash len bytes of fd from off, copying them to outfd when outfd >= 0. */
static int hash_copy(int fd, uint64_t off, uint64_t len, int outfd, char out[65])
{
	struct sha256_run h;
	if (sha256_run_init(&h) < 0)
		return -ENOMEM;
	static __thread unsigned char buf[65536];
	int r = 0;
	for (uint64_t done = 0; done < len && r == 0;) {
		size_t want = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		ssize_t n = pread_full(fd, buf, want, off + done);
		if (n < 0) {
			r = (int)n;
			break;
		}
		r = sha256_run_update(&h, buf, (size_t)n);
		if (r == 0 && outfd >= 0)
			r = fdio_write_all(outfd, buf, (size_t)n);
		done += (uint64_t)n;
	}
	if (r == 0)
		return sha256_run_hex(&h, out);
	sha256_run_abandon(&h);
	return r;
}

int san_quarantine_sha256_fd_hex(int fd, uint64_t off, uint64_t len, char out[65])
{
	return hash_copy(fd, off, len, -1, out);
}

static bool is_hex64_name(const char *n, const char *suffix)
{
	size_t sl = strlen(suffix);
	if (strlen(n) != 64 + sl || strcmp(n + 64, suffix) != 0)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return false;
	return true;
}

static int scan(struct san_quarantine *q, int64_t now, bool expire, int *ret_deleted)
{
	int dfd = dup(q->dfd);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int r = -errno;
		close(dfd);
		return r;
	}
	rewinddir(d);
	struct dirent *e;
	uint64_t used = 0;
	int deleted = 0;
	while ((e = readdir(d))) {
		if (!is_hex64_name(e->d_name, ".data"))
			continue;
		struct stat st;
		if (fstatat(q->dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (expire && q->retain && now - st.st_mtime > (int64_t)q->retain) {
			char js[80];
			snprintf(js, sizeof(js), "%.64s.json", e->d_name);
			unlinkat(q->dfd, e->d_name, 0);
			unlinkat(q->dfd, js, 0);
			deleted++;
			continue;
		}
		used += (uint64_t)st.st_size;
	}
	closedir(d);
	__atomic_store_n(&q->used, used, __ATOMIC_RELAXED);
	if (ret_deleted)
		*ret_deleted = deleted;
	return 0;
}

int san_quarantine_open(const struct san_quarantine_opts *o, struct san_quarantine **ret, char *why, size_t whylen)
{
	if (!o || !o->dir || !*o->dir) {
		snprintf(why, whylen, "no quarantine directory");
		return -EINVAL;
	}
	if (mkdir(o->dir, 0700) < 0 && errno != EEXIST) {
		int r = -errno;
		snprintf(why, whylen, "%s: %s", o->dir, strerror(errno));
		return r;
	}
	int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		int r = -errno;
		snprintf(why, whylen, "%s: %s", o->dir, strerror(errno));
		return r;
	}
	struct stat st;
	if (fstat(dfd, &st) < 0 || (st.st_mode & (o->group_read ? 027 : 077)) || st.st_uid != geteuid()) {
		snprintf(why, whylen, "%s: must be a directory of this user with mode 0700%s", o->dir,
			 o->group_read ? " or 0750" : "");
		close(dfd);
		return -EPERM;
	}
	struct san_quarantine *q = calloc(1, sizeof(*q));
	if (!q || !(q->dir = strdup(o->dir))) {
		free(q);
		close(dfd);
		return -ENOMEM;
	}
	q->dfd = dfd;
	q->fmode = o->group_read ? 0640 : 0600;
	pthread_rwlock_init(&q->rw, NULL);
	for (int i = 0; i < Q_STRIPES; i++)
		pthread_mutex_init(&q->stripe[i], NULL);
	q->max_bytes = o->max_bytes ? o->max_bytes : (uint64_t)10 << 30;
	q->retain = o->retain_seconds;
	int r = scan(q, (int64_t)time(NULL), true, NULL);
	if (r < 0) {
		snprintf(why, whylen, "%s: cannot scan", o->dir);
		san_quarantine_close(q);
		return r;
	}
	*ret = q;
	return 0;
}

void san_quarantine_close(struct san_quarantine *q)
{
	if (!q)
		return;
	close(q->dfd);
	pthread_rwlock_destroy(&q->rw);
	for (int i = 0; i < Q_STRIPES; i++)
		pthread_mutex_destroy(&q->stripe[i]);
	free(q->dir);
	free(q);
}

const char *san_quarantine_dir(const struct san_quarantine *q)
{
	return q->dir;
}
uint64_t san_quarantine_used(const struct san_quarantine *q)
{
	return __atomic_load_n(&q->used, __ATOMIC_RELAXED);
}

/* Take len bytes of the cap; false when it would be exceeded. */
static bool reserve(struct san_quarantine *q, uint64_t len)
{
	uint64_t cur = __atomic_load_n(&q->used, __ATOMIC_RELAXED);
	do {
		if (cur + len > q->max_bytes || cur + len < cur)
			return false;
	} while (!__atomic_compare_exchange_n(&q->used, &cur, cur + len, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return true;
}

static void unreserve(struct san_quarantine *q, uint64_t len)
{
	__atomic_fetch_sub(&q->used, len, __ATOMIC_RELAXED);
}

static pthread_mutex_t *stripe_of(struct san_quarantine *q, const char *sha)
{
	unsigned h = (unsigned)(sha[0] >= 'a' ? sha[0] - 'a' + 10 : sha[0] - '0') << 4 |
		(unsigned)(sha[1] >= 'a' ? sha[1] - 'a' + 10 : sha[1] - '0');
	return &q->stripe[h % Q_STRIPES];
}

/* The temporary name is unique per item (the caller holds its stripe). */
static int write_file(int dfd, const char *name, const void *buf, size_t len, mode_t mode)
{
	char tmp[128];
	snprintf(tmp, sizeof(tmp), ".tmp.%d.%s", (int)getpid(), name);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* the mode whatever the umask (a service's UMask=0077) */
	int r = mode != 0600 && fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0)
		r = fdio_write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	return r;
}

static void jstr(struct json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static int put_locked(struct san_quarantine *q, const void *buf, size_t len, const struct san_qmeta *meta,
		      const char sha[65]);

int san_quarantine_put(struct san_quarantine *q, const void *buf, size_t len, const struct san_qmeta *meta,
		       char ret_sha[65])
{
	san_quarantine_sha256_hex(buf, len, ret_sha);
	return san_quarantine_put_sha(q, buf, len, ret_sha, meta);
}

int san_quarantine_put_sha(struct san_quarantine *q, const void *buf, size_t len, const char sha[65],
			   const struct san_qmeta *meta)
{
	pthread_mutex_t *st = stripe_of(q, sha);
	pthread_rwlock_rdlock(&q->rw);
	pthread_mutex_lock(st);
	int r = put_locked(q, buf, len, meta, sha);
	pthread_mutex_unlock(st);
	pthread_rwlock_unlock(&q->rw);
	return r;
}

static bool already_kept(struct san_quarantine *q, const char *sha, uint64_t len)
{
	char dn[80], jn[80];
	snprintf(dn, sizeof(dn), "%s.data", sha);
	snprintf(jn, sizeof(jn), "%s.json", sha);
	struct stat st;
	return fstatat(q->dfd, dn, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		(uint64_t)st.st_size == len && fstatat(q->dfd, jn, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static struct json_object *meta_json(const char *ret_sha, uint64_t len, const struct san_qmeta *meta)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	char qid[SAN_QID_LEN + 1];
	snprintf(qid, sizeof(qid), "%.*s", SAN_QID_LEN, ret_sha);
	jstr(o, "id", qid);
	jstr(o, "sha256", ret_sha);
	json_object_object_add(o, "size", json_object_new_int64((int64_t)len));
	json_object_object_add(o, "stored", json_object_new_int64((int64_t)time(NULL)));
	if (meta) {
		jstr(o, "kind", meta->kind);
		jstr(o, "name", meta->name);
		jstr(o, "declared_type", meta->declared_type);
		jstr(o, "detected_type", meta->detected_type);
		jstr(o, "message_id", meta->message_id);
		jstr(o, "reason", meta->reason);
	}
	return o;
}

/* sha: the SHA-256 of buf, computed by the caller (which holds its stripe). */
static int put_locked(struct san_quarantine *q, const void *buf, size_t len, const struct san_qmeta *meta,
		      const char sha[65])
{
	if (already_kept(q, sha, len))
		return 0;
	if (!reserve(q, len))
		return -ENOSPC;
	char dn[80], jn[80];
	snprintf(dn, sizeof(dn), "%s.data", sha);
	snprintf(jn, sizeof(jn), "%s.json", sha);
	struct json_object *o = meta_json(sha, len, meta);
	if (!o) {
		unreserve(q, len);
		return -ENOMEM;
	}
	const char *js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = write_file(q->dfd, dn, buf, len, q->fmode);
	if (r == 0)
		r = write_file(q->dfd, jn, js, strlen(js), q->fmode);
	json_object_put(o);
	if (r == 0 && fsync(q->dfd) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(q->dfd, dn, 0);
		unlinkat(q->dfd, jn, 0);
		unreserve(q, len);
		return r;
	}
	return 0;
}

static int put_fd_item(struct san_quarantine *q, const char *tmp, uint64_t len, const struct san_qmeta *meta,
		       const char ret_sha[65]);

/* Called with the read side of rw (not a stripe: the hash, and so the
 * stripe, is known only after the copy). */
static int put_fd_locked(struct san_quarantine *q, int fd, uint64_t off, uint64_t len, const struct san_qmeta *meta,
			 char ret_sha[65])
{
	if (!reserve(q, len))
		return -ENOSPC;
	/* The name is the hash, known only after the copy: copy to a
	 * temporary name (unique per thread) while hashing, then rename. */
	char tmp[128];
	snprintf(tmp, sizeof(tmp), ".tmp.%d.%lu.copy", (int)getpid(), (unsigned long)pthread_self());
	int out = openat(q->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		int e = -errno;
		unreserve(q, len);
		return e;
	}
	int r = q->fmode != 0600 && fchmod(out, q->fmode) < 0 ? -errno : 0;
	if (r == 0)
		r = hash_copy(fd, off, len, out, ret_sha);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (close(out) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlinkat(q->dfd, tmp, 0);
		unreserve(q, len);
		return r;
	}
	pthread_mutex_t *st = stripe_of(q, ret_sha);
	pthread_mutex_lock(st);
	r = put_fd_item(q, tmp, len, meta, ret_sha);
	pthread_mutex_unlock(st);
	if (r != 0)
		unreserve(q, len);
	return r < 0 ? r : 0;
}

/* The copy is at tmp; the caller holds the item's stripe.  0 stored, 1
 * already kept (tmp removed), or -errno (nothing left behind). */
static int put_fd_item(struct san_quarantine *q, const char *tmp, uint64_t len, const struct san_qmeta *meta,
		       const char ret_sha[65])
{
	int r;
	if (already_kept(q, ret_sha, len)) {
		unlinkat(q->dfd, tmp, 0);
		return 1;
	}
	char dn[80], jn[80];
	snprintf(dn, sizeof(dn), "%s.data", ret_sha);
	snprintf(jn, sizeof(jn), "%s.json", ret_sha);
	if (renameat(q->dfd, tmp, q->dfd, dn) < 0) {
		r = -errno;
		unlinkat(q->dfd, tmp, 0);
		return r;
	}
	struct json_object *o = meta_json(ret_sha, len, meta);
	if (!o) {
		unlinkat(q->dfd, dn, 0);
		return -ENOMEM;
	}
	const char *js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	r = write_file(q->dfd, jn, js, strlen(js), q->fmode);
	json_object_put(o);
	if (r == 0 && fsync(q->dfd) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(q->dfd, dn, 0);
		unlinkat(q->dfd, jn, 0);
		return r;
	}
	return 0;
}

int san_quarantine_put_fd(struct san_quarantine *q, int fd, uint64_t off, uint64_t len, const struct san_qmeta *meta,
			  char ret_sha[65])
{
	pthread_rwlock_rdlock(&q->rw);
	int r = put_fd_locked(q, fd, off, len, meta, ret_sha);
	pthread_rwlock_unlock(&q->rw);
	return r;
}

int san_quarantine_expire(struct san_quarantine *q, int64_t now)
{
	int n = 0;
	pthread_rwlock_wrlock(&q->rw);
	int r = scan(q, now, true, &n);
	pthread_rwlock_unlock(&q->rw);
	return r < 0 ? r : n;
}

int san_quarantine_find(struct san_quarantine *q, const char *id, char ret_sha[65])
{
	size_t l = strlen(id);
	if (l < 8 || l > 64)
		return -EINVAL;
	for (size_t i = 0; i < l; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return -EINVAL;
	int dfd = dup(q->dfd);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int r = -errno;
		close(dfd);
		return r;
	}
	rewinddir(d);
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d))) {
		if (!is_hex64_name(e->d_name, ".data") || strncmp(e->d_name, id, l) != 0)
			continue;
		if (found++ == 0)
			snprintf(ret_sha, 65, "%.64s", e->d_name);
	}
	closedir(d);
	return found == 0 ? -ENOENT : found > 1 ? -ENOTUNIQ : 0;
}
