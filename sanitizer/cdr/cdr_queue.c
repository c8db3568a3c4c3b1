/* cdr_queue: the persistent CDR job queue (see cdr_queue.h for the layout).
 * The file protocol (tmp/new/cur/bad, fsync and rename, the lock, claim
 * order) is cdr_dirq's, shared with the portal queue; this file adds the
 * job format, the queue's length cap and the attempt count.  Contract: a
 * failure returns -errno and leaves no partial job under a job name.
 * Nothing prints. */
#include "sanitizer/cdr/cdr_queue.h"
#include "common/jsonx.h"
#include "sanitizer/cdr/cdr_dirq.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <json-c/json.h>

/* the queue length is re-counted at most this often (ns) by enqueue */
#define COUNT_TTL_NS 1000000000LL

struct cdr_queue {
	struct cdr_dirq *q;
	unsigned max_jobs;
	size_t max_job_bytes;
	pthread_mutex_t mu;
	/* enqueue: the last count of new/ + cur/ and when it was taken,
	 * plus the jobs enqueued since (the count is not exact between
	 * scans: the worker removes jobs meanwhile, so it only errs high) */
	int64_t counted_ns;
	unsigned counted;
};

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

int cdr_queue_open(const struct cdr_queue_opts *o, struct cdr_queue **ret, char *why, size_t whylen)
{
	struct cdr_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->max_jobs = o && o->max_jobs ? o->max_jobs : 10000;
	q->max_job_bytes = o && o->max_job_bytes ? o->max_job_bytes : 65536;
	struct cdr_dirq_opts d = {
		.dir = o ? o->dir : NULL, .max_bytes = q->max_job_bytes, .name_ok = is_job_id, .keep_bad = true};
	int r = cdr_dirq_open(&d, &q->q, why, whylen);
	if (r < 0) {
		free(q);
		return r;
	}
	pthread_mutex_init(&q->mu, NULL);
	*ret = q;
	return 0;
}

void cdr_queue_close(struct cdr_queue *q)
{
	if (!q)
		return;
	cdr_dirq_close(q->q);
	pthread_mutex_destroy(&q->mu);
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

int cdr_queue_length(struct cdr_queue *q)
{
	return cdr_dirq_length(q->q);
}

const char *cdr_queue_new_dir(const struct cdr_queue *q)
{
	return cdr_dirq_new_dir(q->q);
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
	int r = cdr_dirq_put(q->q, job->id, text);
	free(text);
	return r;
}

int cdr_queue_lock(struct cdr_queue *q)
{
	return cdr_dirq_lock(q->q);
}

int cdr_queue_recover(struct cdr_queue *q, int64_t stale_s)
{
	return cdr_dirq_recover(q->q, stale_s);
}

int cdr_queue_claim(struct cdr_queue *q, struct cdr_job *ret)
{
	for (;;) {
		char id[CDR_DIRQ_NAME_MAX + 1], *text;
		size_t len;
		int r = cdr_dirq_claim(q->q, id, &text, &len);
		if (r < 0)
			return r;
		r = cdr_job_parse(text, len, q->max_job_bytes, ret);
		free(text);
		if (r == 0 && strcmp(ret->id, id) != 0) {
			cdr_job_free(ret);
			r = -EINVAL;
		}
		if (r == -EINVAL || r == -EFBIG) {
			/* kept for the operator, never retried */
			cdr_dirq_bad(q->q, id);
			continue;
		}
		if (r == 0) {
			/* the attempt counts before any work starts: a job
			 * that kills the worker still reaches the cap */
			ret->attempts++;
			/* the rewrite replaces the job in cur/ by rename; if a
			 * power loss undoes the rename, the older count is back:
			 * a few more claims, no lost job (one fsync fewer per job) */
			char *t = cdr_job_text(ret);
			r = t ? cdr_dirq_rewrite(q->q, id, t) : -ENOMEM;
			free(t);
			if (r < 0)
				cdr_job_free(ret);
		}
		if (r < 0)
			cdr_dirq_unclaim(q->q, id);
		return r;
	}
}

/* No fsync of cur/: if a power loss undoes the unlink, the job is done
 * again and finds its published result (the worker reuses it). */
int cdr_queue_complete(struct cdr_queue *q, const struct cdr_job *job)
{
	return cdr_dirq_done(q->q, job->id);
}

int cdr_queue_release(struct cdr_queue *q, struct cdr_job *job, bool uncount)
{
	if (uncount && job->attempts > 0)
		job->attempts--;
	char *text = cdr_job_text(job);
	int r = text ? cdr_dirq_rewrite(q->q, job->id, text) : -ENOMEM;
	free(text);
	if (r < 0)
		return r;
	return cdr_dirq_unclaim(q->q, job->id);
}
