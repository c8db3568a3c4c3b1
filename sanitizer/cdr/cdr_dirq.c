/* cdr_dirq: the directory queue's file protocol (see cdr_dirq.h).
 * Contract: an entry appears under new/ or cur/ only by rename after its
 * data and then its directory were fsynced; a failure returns -errno and
 * leaves no partial entry under an entry name (at most a tmp/ file, removed
 * by the next recover).  Nothing prints. */
#include "sanitizer/cdr/cdr_dirq.h"
#include "common/fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLAIM_BATCH 256

struct cdr_dirq {
	char *dir;
	int dfd, tmp, new, cur, bad, lockfd;
	size_t max_bytes;
	bool (*name_ok)(const char *);
	bool keep_bad;
	pthread_mutex_t mu;
	/* claim: names of new/ from the last scan, oldest first */
	char (*batch)[CDR_DIRQ_NAME_MAX + 1];
	size_t nbatch, ibatch;
};

static bool name_ok(const struct cdr_dirq *q, const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= CDR_DIRQ_NAME_MAX && s[0] != '.' && !strchr(s, '/') && q->name_ok(s);
}

/* The writers and the consumer share the queue through their group: what
 * is made here gets 0770 (or 02770 under a setgid DIR) whatever the umask. */
static int open_sub(int dfd, const char *name)
{
	struct stat st;
	if (mkdirat(dfd, name, 0770) == 0) {
		if (fstat(dfd, &st) == 0 && fchmodat(dfd, name, 0770 | (st.st_mode & S_ISGID), 0) < 0)
			return -errno;
	} else if (errno != EEXIST) {
		return -errno;
	}
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int cdr_dirq_open(const struct cdr_dirq_opts *o, struct cdr_dirq **ret, char *why, size_t whylen)
{
	if (!o || !o->dir || !*o->dir || !o->name_ok) {
		snprintf(why, whylen, "no queue directory");
		return -EINVAL;
	}
	if (mkdir(o->dir, 0770) < 0 && errno != EEXIST) {
		int r = -errno;
		snprintf(why, whylen, "%s: %s", o->dir, strerror(errno));
		return r;
	}
	struct cdr_dirq *q = calloc(1, sizeof(*q));
	if (!q || !(q->dir = strdup(o->dir))) {
		free(q);
		return -ENOMEM;
	}
	q->dfd = q->tmp = q->new = q->cur = q->bad = q->lockfd = -1;
	pthread_mutex_init(&q->mu, NULL);
	q->max_bytes = o->max_bytes ? o->max_bytes : 65536;
	q->name_ok = o->name_ok;
	q->keep_bad = o->keep_bad;
	int r = 0;
	why[0] = 0;
	q->dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (q->dfd < 0)
		r = -errno;
	const char *sub[] = {"tmp", "new", "cur", "bad"};
	int *fds[] = {&q->tmp, &q->new, &q->cur, &q->bad};
	for (size_t i = 0; i < 4 && r == 0; i++) {
		r = open_sub(q->dfd, sub[i]);
		if (r >= 0) {
			*fds[i] = r;
			r = 0;
		} else {
			snprintf(why, whylen, "%s/%s: %s", o->dir, sub[i], strerror(-r));
		}
	}
	if (r == 0 && !(q->batch = calloc(CLAIM_BATCH, sizeof(*q->batch))))
		r = -ENOMEM;
	if (r < 0) {
		if (!why[0])
			snprintf(why, whylen, "%s: %s", o->dir, strerror(-r));
		cdr_dirq_close(q);
		return r;
	}
	*ret = q;
	return 0;
}

void cdr_dirq_close(struct cdr_dirq *q)
{
	if (!q)
		return;
	int fds[] = {q->dfd, q->tmp, q->new, q->cur, q->bad, q->lockfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_mutex_destroy(&q->mu);
	free(q->batch);
	free(q->dir);
	free(q);
}

/* Write text to tmp/<name> (fsynced), then rename it to dir/<name> and,
 * when sync_dir, fsync dir.  Nothing is left in tmp/ on failure. */
static int publish(struct cdr_dirq *q, const char *name, const char *text, int dir, bool sync_dir)
{
	int fd = openat(q->tmp, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0)
		return -errno;
	/* the consumer's group reads what a writer made (their UMask is 0077) */
	int r = fchmod(fd, 0660) < 0 ? -errno : 0;
	if (r == 0)
		r = fdio_write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(q->tmp, name, dir, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(q->tmp, name, 0);
		return r;
	}
	return sync_dir && fsync(dir) < 0 ? -errno : 0;
}

int cdr_dirq_put(struct cdr_dirq *q, const char *name, const char *text)
{
	if (!name_ok(q, name))
		return -EINVAL;
	if (strlen(text) > q->max_bytes)
		return -EFBIG;
	return publish(q, name, text, q->new, true);
}

int cdr_dirq_lock(struct cdr_dirq *q)
{
	if (q->lockfd >= 0)
		return 0;
	int fd = openat(q->dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	q->lockfd = fd;
	return 0;
}

/* Call fn for every entry of dfd that is an entry name. */
static int each(struct cdr_dirq *q, int dfd, int (*fn)(struct cdr_dirq *, const char *, void *), void *arg)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	rewinddir(d);
	int r = 0;
	struct dirent *e;
	while (r >= 0 && (e = readdir(d)))
		if (name_ok(q, e->d_name))
			r = fn(q, e->d_name, arg);
	closedir(d);
	return r;
}

static int count_one(struct cdr_dirq *q, const char *name, void *arg)
{
	(void)q;
	(void)name;
	(*(int *)arg)++;
	return 0;
}

int cdr_dirq_length(struct cdr_dirq *q)
{
	int n = 0;
	int r = each(q, q->new, count_one, &n);
	if (r == 0)
		r = each(q, q->cur, count_one, &n);
	return r < 0 ? r : n;
}

const char *cdr_dirq_new_dir(const struct cdr_dirq *q)
{
	static __thread char p[4096];
	snprintf(p, sizeof(p), "%s/new", q->dir);
	return p;
}

static int back_to_new(struct cdr_dirq *q, const char *name, void *arg)
{
	if (renameat(q->cur, name, q->new, name) < 0)
		return -errno;
	(*(int *)arg)++;
	return 0;
}

static int drop_stale(struct cdr_dirq *q, const char *name, void *arg)
{
	struct stat st;
	if (fstatat(q->tmp, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && time(NULL) - st.st_mtime > *(int64_t *)arg)
		unlinkat(q->tmp, name, 0);
	return 0;
}

int cdr_dirq_recover(struct cdr_dirq *q, int64_t stale_s)
{
	if (q->lockfd < 0)
		return -ENOLCK;
	int n = 0;
	int r = each(q, q->cur, back_to_new, &n);
	if (r == 0 && n > 0 && (fsync(q->new) < 0 || fsync(q->cur) < 0))
		r = -errno;
	if (r == 0)
		r = each(q, q->tmp, drop_stale, &stale_s);
	return r < 0 ? r : n;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct scan_state {
	char (*names)[CDR_DIRQ_NAME_MAX + 1];
	size_t n, cap;
};

/* Keep the cap oldest names (a bounded selection: the batch is sorted and
 * its newest entry replaced when an older name comes). */
static int keep_oldest(struct cdr_dirq *q, const char *name, void *arg)
{
	(void)q;
	struct scan_state *s = arg;
	if (s->n < s->cap) {
		snprintf(s->names[s->n++], CDR_DIRQ_NAME_MAX + 1, "%s", name);
		if (s->n == s->cap)
			qsort(s->names, s->n, sizeof(*s->names), cmp_name);
		return 0;
	}
	if (strcmp(name, s->names[s->n - 1]) >= 0)
		return 0;
	size_t i = s->n - 1;
	while (i > 0 && strcmp(s->names[i - 1], name) > 0) {
		memcpy(s->names[i], s->names[i - 1], sizeof(*s->names));
		i--;
	}
	snprintf(s->names[i], CDR_DIRQ_NAME_MAX + 1, "%s", name);
	return 0;
}

/* cur/<name> into a NUL-terminated buffer: 0, -EFBIG, -errno */
static int read_entry(struct cdr_dirq *q, const char *name, char **ret, size_t *ret_len)
{
	int fd = openat(q->cur, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (r == 0)
		r = fdio_read_all(fd, q->max_bytes, &buf, &len);
	close(fd);
	char *t = NULL;
	if (r == 0 && !(t = malloc(len + 1)))
		r = -ENOMEM;
	if (r == 0) {
		if (len)
			memcpy(t, buf, len);
		t[len] = 0;
		*ret = t;
		*ret_len = len;
	}
	free(buf);
	return r;
}

int cdr_dirq_claim(struct cdr_dirq *q, char *name, char **ret_text, size_t *ret_len)
{
	pthread_mutex_lock(&q->mu);
	for (int rescans = 0;;) {
		if (q->ibatch == q->nbatch) {
			if (rescans++ > 0) {
				pthread_mutex_unlock(&q->mu);
				return -EAGAIN;
			}
			struct scan_state s = {q->batch, 0, CLAIM_BATCH};
			int r = each(q, q->new, keep_oldest, &s);
			if (r < 0) {
				pthread_mutex_unlock(&q->mu);
				return r;
			}
			if (s.n < s.cap)
				qsort(s.names, s.n, sizeof(*s.names), cmp_name);
			q->nbatch = s.n;
			q->ibatch = 0;
			continue;
		}
		const char *id = q->batch[q->ibatch++];
		if (renameat(q->new, id, q->cur, id) < 0) {
			if (errno == ENOENT)
				continue; /* another thread took it */
			int r = -errno;
			pthread_mutex_unlock(&q->mu);
			return r;
		}
		snprintf(name, CDR_DIRQ_NAME_MAX + 1, "%s", id);
		pthread_mutex_unlock(&q->mu);
		int r = read_entry(q, name, ret_text, ret_len);
		if (r == -EFBIG || r == -EINVAL) {
			cdr_dirq_bad(q, name);
			pthread_mutex_lock(&q->mu);
			continue;
		}
		if (r < 0)
			renameat(q->cur, name, q->new, name);
		return r;
	}
}

int cdr_dirq_rewrite(struct cdr_dirq *q, const char *name, const char *text)
{
	if (!name_ok(q, name))
		return -EINVAL;
	if (strlen(text) > q->max_bytes)
		return -EFBIG;
	return publish(q, name, text, q->cur, false);
}

int cdr_dirq_done(struct cdr_dirq *q, const char *name)
{
	if (!name_ok(q, name))
		return -EINVAL;
	if (unlinkat(q->cur, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int cdr_dirq_unclaim(struct cdr_dirq *q, const char *name)
{
	if (!name_ok(q, name))
		return -EINVAL;
	if (renameat(q->cur, name, q->new, name) < 0)
		return -errno;
	/* it is older than what the claim list holds: scan again */
	pthread_mutex_lock(&q->mu);
	q->nbatch = q->ibatch = 0;
	pthread_mutex_unlock(&q->mu);
	if (fsync(q->new) < 0 || fsync(q->cur) < 0)
		return -errno;
	return 0;
}

int cdr_dirq_bad(struct cdr_dirq *q, const char *name)
{
	if (!name_ok(q, name))
		return -EINVAL;
	int r = q->keep_bad ? renameat(q->cur, name, q->bad, name) : unlinkat(q->cur, name, 0);
	return r < 0 ? -errno : 0;
}
