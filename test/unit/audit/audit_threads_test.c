/* Many producers at once: every emitted event is either written once or
 * counted as dropped, each producer's events appear in its own order, the
 * chain verifies.  Also a producer emitting while another thread flushes. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit_testutil.h"
#include "common/audit/audit_record.h"
#include "test/check.h"

#define THREADS 8
#define PER_THREAD 20000

static struct audit_log *glog;
static _Atomic uint64_t dropped;
static _Atomic int flushing = 1;

static void *producer(void *arg)
{
	int64_t t = (int64_t)(uintptr_t)arg;
	for (int64_t i = 0; i < PER_THREAD; i++) {
		int r = audit_emit(glog, "test.thread",
				   (struct audit_field[]){AUDIT_INT("thread", t), AUDIT_INT("i", i),
							  AUDIT_STR("text", "三層の対策: マイナンバー利用事務系")},
				   3);
		if (r == -ENOBUFS)
			atomic_fetch_add(&dropped, 1);
		else
			CHECK(r == 0);
	}
	return NULL;
}

static void *flusher(void *arg)
{
	(void)arg;
	while (atomic_load(&flushing)) {
		CHECK(audit_flush(glog) == 0);
		usleep(2000);
	}
	return NULL;
}

int main(void)
{
	char *root = tu_tmpdir("threads");
	struct audit_key key;
	tu_key(root, "key", &key);
	char *d = tu_path(root, "log");
	struct audit_opts o = tu_opts(d, &key);
	o.queue_slots = 8192;
	o.fsync = AUDIT_FSYNC_BATCH;
	o.fsync_interval_ms = 20;
	o.rotate_bytes = 1 << 20;
	glog = tu_open(&o);
	pthread_t th[THREADS], fl;
	REQUIRE(pthread_create(&fl, NULL, flusher, NULL) == 0);
	for (uintptr_t t = 0; t < THREADS; t++)
		REQUIRE(pthread_create(&th[t], NULL, producer, (void *)t) == 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	atomic_store(&flushing, 0);
	pthread_join(fl, NULL);
	struct audit_stats st;
	CHECK(audit_flush(glog) == 0);
	audit_get_stats(glog, &st);
	CHECK(audit_close(glog) == 0);
	CHECK_EQ_U(st.emitted, THREADS * PER_THREAD);
	CHECK_EQ_U(st.dropped, atomic_load(&dropped));
	CHECK_EQ_U(st.written + st.dropped, st.emitted);
	CHECK(st.files > 1);

	/* Read back through the verifier: per-thread order, no duplicates. */
	struct audit_verify_opts vo = {.key = &key, .dir = d};
	struct audit_verify_iter *it;
	REQUIRE(audit_verify_open(&vo, &it) == 0);
	struct audit_verify_record rec;
	int64_t last[THREADS];
	uint64_t seen = 0, lost = 0;
	for (int t = 0; t < THREADS; t++)
		last[t] = -1;
	while (audit_verify_next(it, &rec) > 0) {
		CHECK(rec.status == AUDIT_REC_OK);
		if (rec.event && strcmp(rec.event, "audit.lost") == 0) {
			uint64_t c;
			CHECK(audit_record_data_u64(rec.obj, "count", &c));
			lost += c;
		}
		if (!rec.event || strcmp(rec.event, "test.thread") != 0)
			continue;
		uint64_t t, i;
		REQUIRE(audit_record_data_u64(rec.obj, "thread", &t) && t < THREADS);
		REQUIRE(audit_record_data_u64(rec.obj, "i", &i));
		CHECK((int64_t)i > last[t]);
		last[t] = (int64_t)i;
		CHECK(strcmp(audit_record_data_str(rec.obj, "text"), "三層の対策: マイナンバー利用事務系") == 0);
		seen++;
	}
	const struct audit_verify_result *r = audit_verify_result(it);
	CHECK(r->ok && r->nbreaks == 0);
	if (!r->ok)
		tu_dump(r);
	CHECK_EQ_U(seen, st.written);
	CHECK_EQ_U(lost, st.dropped);
	audit_verify_free(it);
	fprintf(stderr, "threads: emitted %llu written %llu dropped %llu files %llu\n", (unsigned long long)st.emitted,
		(unsigned long long)st.written, (unsigned long long)st.dropped, (unsigned long long)st.files);
	tu_rmrf(root);
	free(d);
	free(root);
	return check_done();
}
