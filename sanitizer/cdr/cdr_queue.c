/* cdr_queue: the persistent CDR job queue (see cdr_queue.h for the layout).
 * Contract: every job file appears under new/ or cur/ only by rename after
 * its data and then its directory were fsynced; a failure returns -errno
 * and leaves no partial job under a job name (at most a tmp/ file, removed
 * by the next recover).  Nothing prints. */
#include "sanitizer/cdr/cdr_queue.h"
#include "common/fdio.h"
#include "common/jsonx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define CLAIM_BATCH 256
/* the queue length is re-counted at most this often (ns) by enqueue */
#define COUNT_TTL_NS 1000000000LL

struct cdr_queue {
	char *dir;
	int dfd, tmp, new, cur, bad, lockfd;
	unsigned max_jobs;
	size_t max_job_bytes;
	pthread_mutex_t mu;
	/* enqueue: the last count of new/ + cur/ and when it was taken,
	 * plus the jobs enqueued since (the count is not exact between
	 * scans: the worker removes jobs meanwhile, so it only errs high) */
	int64_t counted_ns;
	unsigned counted;
	/* claim: names of new/ from the last scan, oldest first */
	char (*batch)[CDR_JOB_ID_LEN + 1];
	size_t nbatch, ibatch;
};

static int each_job(int dfd, int (*fn)(struct cdr_queue *, const char *, void *), struct cdr_queue *q, void *arg);

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool is_job_id(const char *s)
{
	if (strlen(s) != CDR_JOB_ID_LEN || s[16] != '-')
		return false;
	for (int i = 0; i < CDR_JOB_ID_LEN; i++)
		if (i != 16 && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool is_sha(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The milter and the worker share the queue through their group: what is
 * made here gets 0770 (or 02770 under a setgid DIR) whatever the umask. */
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

int cdr_queue_open(const struct cdr_queue_opts *o, struct cdr_queue **ret, char *why, size_t whylen)
{
	if (!o || !o->dir || !*o->dir) {
		snprintf(why, whylen, "no queue directory");
		return -EINVAL;
	}
	if (mkdir(o->dir, 0770) < 0 && errno != EEXIST) {
		int r = -errno;
		snprintf(why, whylen, "%s: %s", o->dir, strerror(errno));
		return r;
	}
	struct cdr_queue *q = calloc(1, sizeof(*q));
	if (!q || !(q->dir = strdup(o->dir))) {
		free(q);
		return -ENOMEM;
	}
	q->tmp = q->new = q->cur = q->bad = q->lockfd = -1;
	pthread_mutex_init(&q->mu, NULL);
	q->max_jobs = o->max_jobs ? o->max_jobs : 10000;
	q->max_job_bytes = o->max_job_bytes ? o->max_job_bytes : 65536;
	int r = 0;
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
		if (!why[0] || whylen == 0)
			snprintf(why, whylen, "%s: %s", o->dir, strerror(-r));
		cdr_queue_close(q);
		return r;
	}
	*ret = q;
	return 0;
}

void cdr_queue_close(struct cdr_queue *q)
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

void cdr_job_free(struct cdr_job *job)
{
	free(job->name);
	free(job->type);
	free(job->message_id);
	free(job->queue_id);
	for (size_t i = 0; i < job->nrcpt; i++)
		free(job->rcpt[i]);
	memset(job, 0, sizeof(*job));
}

static void jstr(struct json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

char *cdr_job_text(const struct cdr_job *job)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "v", json_object_new_int(1));
	jstr(o, "id", job->id);
	jstr(o, "sha256", job->sha256);
	jstr(o, "name", job->name);
	jstr(o, "type", job->type);
	jstr(o, "message_id", job->message_id);
	jstr(o, "queue_id", job->queue_id);
	if (job->link[0])
		jstr(o, "link", job->link);
	if (job->origin[0])
		jstr(o, "origin", job->origin);
	if (job->deliver[0])
		jstr(o, "deliver", job->deliver);
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; a && i < job->nrcpt && i < CDR_JOB_MAX_RCPT; i++)
		json_object_array_add(a, json_object_new_string(job->rcpt[i]));
	json_object_object_add(o, "rcpt", a);
	json_object_object_add(o, "enqueued", json_object_new_int64(job->enqueued));
	json_object_object_add(o, "attempts", json_object_new_int((int)job->attempts));
	json_object_object_add(o, "failures", json_object_new_int((int)job->failures));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *t = s ? strdup(s) : NULL;
	json_object_put(o);
	return t;
}

/* An optional member that must be one of two words: copied into ret
 * (size > both), "" when absent.  false for anything else. */
static bool get_word(struct json_object *o, const char *k, char *ret, size_t size, const char *a, const char *b)
{
	struct json_object *v;
	ret[0] = 0;
	if (!json_object_object_get_ex(o, k, &v))
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	const char *s = json_object_get_string(v);
	if (strcmp(s, a) != 0 && strcmp(s, b) != 0)
		return false;
	snprintf(ret, size, "%s", s);
	return true;
}

int cdr_job_parse(const char *buf, size_t len, size_t max_bytes, struct cdr_job *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len > max_bytes || len > INT32_MAX)
		return -EFBIG;
	struct json_object *o = jsonx_parse(buf, len, 16);
	int r = -EINVAL;
	struct json_object *v;
	if (!o || !json_object_is_type(o, json_type_object))
		goto out;
	if (!json_object_object_get_ex(o, "v", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1)
		goto out;
	if (!json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_string) ||
	    !is_job_id(json_object_get_string(v)))
		goto out;
	snprintf(ret->id, sizeof(ret->id), "%s", json_object_get_string(v));
	if (!json_object_object_get_ex(o, "sha256", &v) || !json_object_is_type(v, json_type_string) ||
	    !is_sha(json_object_get_string(v)))
		goto out;
	snprintf(ret->sha256, sizeof(ret->sha256), "%s", json_object_get_string(v));
	if (!jsonx_opt_str(o, "name", &ret->name) || !jsonx_opt_str(o, "type", &ret->type) ||
	    !jsonx_opt_str(o, "message_id", &ret->message_id) || !jsonx_opt_str(o, "queue_id", &ret->queue_id))
		goto out;
	if (json_object_object_get_ex(o, "link", &v)) {
		if (!json_object_is_type(v, json_type_string) || !is_sha(json_object_get_string(v)))
			goto out;
		snprintf(ret->link, sizeof(ret->link), "%s", json_object_get_string(v));
	}
	if (!get_word(o, "origin", ret->origin, sizeof(ret->origin), "mail", "upload") ||
	    !get_word(o, "deliver", ret->deliver, sizeof(ret->deliver), "link", "mail"))
		goto out;
	if (json_object_object_get_ex(o, "rcpt", &v)) {
		if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > CDR_JOB_MAX_RCPT)
			goto out;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			if (!json_object_is_type(e, json_type_string) ||
			    strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e))
				goto out;
			if (!(ret->rcpt[ret->nrcpt] = strdup(json_object_get_string(e))))
				goto out;
			ret->nrcpt++;
		}
	}
	if (!json_object_object_get_ex(o, "enqueued", &v) || !json_object_is_type(v, json_type_int))
		goto out;
	ret->enqueued = json_object_get_int64(v);
	if (!json_object_object_get_ex(o, "attempts", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 || json_object_get_int64(v) > 1000000)
		goto out;
	ret->attempts = (unsigned)json_object_get_int64(v);
	/* optional: absent in a job the milter just wrote */
	if (json_object_object_get_ex(o, "failures", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > 1000000)
			goto out;
		ret->failures = (unsigned)json_object_get_int64(v);
	}
	r = 0;
out:
	json_object_put(o);
	if (r < 0)
		cdr_job_free(ret);
	return r;
}

/* Write text to tmp/<id> (fsynced), then rename it to dir/<id> and, when
 * sync_dir, fsync dir.  Nothing is left in tmp/ on failure. */
static int publish(struct cdr_queue *q, const char *id, const char *text, int dir, bool sync_dir)
{
	int fd = openat(q->tmp, id, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0)
		return -errno;
	/* the worker's group reads what the milter wrote (its UMask is 0077) */
	int r = fchmod(fd, 0660) < 0 ? -errno : 0;
	if (r == 0)
		r = fdio_write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(q->tmp, id, dir, id) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(q->tmp, id, 0);
		return r;
	}
	return sync_dir && fsync(dir) < 0 ? -errno : 0;
}

static int count_one(struct cdr_queue *q, const char *id, void *arg)
{
	(void)q;
	(void)id;
	(*(int *)arg)++;
	return 0;
}

int cdr_queue_length(struct cdr_queue *q)
{
	int n = 0;
	int r = each_job(q->new, count_one, q, &n);
	if (r == 0)
		r = each_job(q->cur, count_one, q, &n);
	return r < 0 ? r : n;
}

const char *cdr_queue_new_dir(const struct cdr_queue *q)
{
	static __thread char p[4096];
	snprintf(p, sizeof(p), "%s/new", q->dir);
	return p;
}

int cdr_queue_enqueue(struct cdr_queue *q, struct cdr_job *job)
{
	/* The cap: a scan at most once a second, so that enqueueing stays
	 * one small file write even with a long queue. */
	pthread_mutex_lock(&q->mu);
	int64_t t = now_ns(CLOCK_MONOTONIC);
	if (q->counted_ns == 0 || t - q->counted_ns > COUNT_TTL_NS || q->counted >= q->max_jobs) {
		int n = cdr_queue_length(q);
		if (n < 0) {
			pthread_mutex_unlock(&q->mu);
			return n;
		}
		q->counted = (unsigned)n;
		q->counted_ns = t;
	}
	if (q->counted >= q->max_jobs) {
		pthread_mutex_unlock(&q->mu);
		return -ENOSPC;
	}
	q->counted++;
	pthread_mutex_unlock(&q->mu);

	uint32_t rnd;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	snprintf(job->id, sizeof(job->id), "%016llx-%08x", (unsigned long long)now_ns(CLOCK_REALTIME), rnd);
	job->attempts = job->failures = 0;
	if (!job->enqueued)
		job->enqueued = (int64_t)time(NULL);
	char *text = cdr_job_text(job);
	if (!text)
		return -ENOMEM;
	int r = strlen(text) > q->max_job_bytes ? -EFBIG : publish(q, job->id, text, q->new, true);
	free(text);
	return r;
}

int cdr_queue_lock(struct cdr_queue *q)
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

/* Call fn for every entry of dfd that is a job id. */
static int each_job(int dfd, int (*fn)(struct cdr_queue *, const char *, void *), struct cdr_queue *q, void *arg)
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
		if (is_job_id(e->d_name))
			r = fn(q, e->d_name, arg);
	closedir(d);
	return r;
}

static int back_to_new(struct cdr_queue *q, const char *id, void *arg)
{
	if (renameat(q->cur, id, q->new, id) < 0)
		return -errno;
	(*(int *)arg)++;
	return 0;
}

static int drop_stale(struct cdr_queue *q, const char *id, void *arg)
{
	struct stat st;
	if (fstatat(q->tmp, id, &st, AT_SYMLINK_NOFOLLOW) == 0 && time(NULL) - st.st_mtime > *(int64_t *)arg)
		unlinkat(q->tmp, id, 0);
	return 0;
}

int cdr_queue_recover(struct cdr_queue *q, int64_t stale_s)
{
	if (q->lockfd < 0)
		return -ENOLCK;
	int n = 0;
	int r = each_job(q->cur, back_to_new, q, &n);
	if (r == 0 && n > 0 && (fsync(q->new) < 0 || fsync(q->cur) < 0))
		r = -errno;
	if (r == 0)
		r = each_job(q->tmp, drop_stale, q, &stale_s);
	return r < 0 ? r : n;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct scan_state {
	char (*names)[CDR_JOB_ID_LEN + 1];
	size_t n, cap;
};

/* Keep the cap oldest names (a bounded selection: the batch is sorted and
 * its newest entry replaced when an older name comes). */
static int keep_oldest(struct cdr_queue *q, const char *id, void *arg)
{
	(void)q;
	struct scan_state *s = arg;
	if (s->n < s->cap) {
		snprintf(s->names[s->n++], CDR_JOB_ID_LEN + 1, "%s", id);
		if (s->n == s->cap)
			qsort(s->names, s->n, sizeof(*s->names), cmp_id);
		return 0;
	}
	if (strcmp(id, s->names[s->n - 1]) >= 0)
		return 0;
	size_t i = s->n - 1;
	while (i > 0 && strcmp(s->names[i - 1], id) > 0) {
		memcpy(s->names[i], s->names[i - 1], sizeof(*s->names));
		i--;
	}
	snprintf(s->names[i], CDR_JOB_ID_LEN + 1, "%s", id);
	return 0;
}

/* Read cur/<id> into *ret; 0, -ENOENT, -EINVAL/-EFBIG (bad job). */
static int read_job(struct cdr_queue *q, const char *id, struct cdr_job *ret)
{
	int fd = openat(q->cur, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = fdio_read_all(fd, q->max_job_bytes, &buf, &len);
	close(fd);
	if (r == 0) {
		r = cdr_job_parse((const char *)buf, len, q->max_job_bytes, ret);
		if (r == 0 && strcmp(ret->id, id) != 0) {
			cdr_job_free(ret);
			r = -EINVAL;
		}
	}
	free(buf);
	return r;
}

int cdr_queue_claim(struct cdr_queue *q, struct cdr_job *ret)
{
	pthread_mutex_lock(&q->mu);
	for (int rescans = 0;;) {
		if (q->ibatch == q->nbatch) {
			if (rescans++ > 0) {
				pthread_mutex_unlock(&q->mu);
				return -EAGAIN;
			}
			struct scan_state s = {q->batch, 0, CLAIM_BATCH};
			int r = each_job(q->new, keep_oldest, q, &s);
			if (r < 0) {
				pthread_mutex_unlock(&q->mu);
				return r;
			}
			if (s.n < s.cap)
				qsort(s.names, s.n, sizeof(*s.names), cmp_id);
			q->nbatch = s.n;
			q->ibatch = 0;
			continue;
		}
		const char *id = q->batch[q->ibatch++];
		if (renameat(q->new, id, q->cur, id) < 0) {
			if (errno == ENOENT)
				continue;
			int r = -errno;
			pthread_mutex_unlock(&q->mu);
			return r;
		}
		int r = read_job(q, id, ret);
		if (r == -EINVAL || r == -EFBIG) {
			/* kept for the operator, never retried */
			renameat(q->cur, id, q->bad, id);
			continue;
		}
		if (r == 0) {
			/* the attempt counts before any work starts: a job
			 * that kills the worker still reaches the cap */
			ret->attempts++;
			/* the rewrite replaces the job in cur/ by rename; if a
			 * power loss undoes the rename, the older count is back:
			 * a few more claims, no lost job (one fsync fewer per job) */
			char *text = cdr_job_text(ret);
			r = text ? publish(q, id, text, q->cur, false) : -ENOMEM;
			free(text);
			if (r < 0)
				cdr_job_free(ret);
		}
		if (r < 0)
			renameat(q->cur, id, q->new, id);
		pthread_mutex_unlock(&q->mu);
		return r;
	}
}

/* No fsync of cur/: if a power loss undoes the unlink, the job is done
 * again and finds its published result (the worker reuses it). */
int cdr_queue_complete(struct cdr_queue *q, const struct cdr_job *job)
{
	if (unlinkat(q->cur, job->id, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int cdr_queue_release(struct cdr_queue *q, struct cdr_job *job, bool uncount)
{
	if (uncount && job->attempts > 0)
		job->attempts--;
	char *text = cdr_job_text(job);
	int r = text ? publish(q, job->id, text, q->cur, false) : -ENOMEM;
	free(text);
	if (r < 0)
		return r;
	if (renameat(q->cur, job->id, q->new, job->id) < 0)
		return -errno;
	/* it is older than what the claim list holds: scan again */
	pthread_mutex_lock(&q->mu);
	q->nbatch = q->ibatch = 0;
	pthread_mutex_unlock(&q->mu);
	if (fsync(q->new) < 0 || fsync(q->cur) < 0)
		return -errno;
	return 0;
}
