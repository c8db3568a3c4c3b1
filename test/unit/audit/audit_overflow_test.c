/* Loss is never silent.  A tiny queue and producers faster than a writer
 * that fsyncs every record: dropped events are counted, audit.lost records
 * carry the counts, and written + dropped == emitted.  Write errors
 * (RLIMIT_FSIZE makes write(2) fail with EFBIG): partial lines are cut
 * back, the lost events are counted and reported by audit.lost once writing
 * works again, and the chain still verifies. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit_testutil.h"
#include "common/audit/audit_record.h"
#include "test/check.h"

#define PRODUCERS 4
#define PER_THREAD 3000

static struct audit_log *glog;
static _Atomic uint64_t enobufs;

static void *producer(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg * 1000000;
	for (uint64_t i = 0; i < PER_THREAD; i++) {
		/* Pauses let the writer in between bursts: several audit.lost
		 * records, each before the records that follow the loss. */
		if (i % 500 == 499)
			usleep(2000);
		int r = tu_emit_flow(glog, base + i);
		if (r == -ENOBUFS)
			atomic_fetch_add(&enobufs, 1);
		else
			CHECK(r == 0);
	}
	return NULL;
}

/* Sum of a data member over the records with an event. */
static uint64_t sum_field(const char *dir, const char *event, const char *field, size_t *ret_n)
{
	size_t n;
	char **names = tu_files(dir, &n);
	uint64_t sum = 0;
	*ret_n = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = tu_path(dir, names[i]);
		struct tu_file f;
		tu_file_load(&f, p);
		for (size_t k = 0; k < f.n; k++) {
			char *line = tu_file_line(&f, k);
			struct json_object *o = audit_record_parse(line, strlen(line));
			const char *ev = audit_record_get_str(o, "event");
			uint64_t v;
			if (ev && strcmp(ev, event) == 0) {
				(*ret_n)++;
				if (audit_record_data_u64(o, field, &v))
					sum += v;
				const char *a = audit_record_data_str(o, "first_ts"),
					   *b = audit_record_data_str(o, "last_ts");
				int64_t na = 0, nb = 0;
				if (a && b) {
					CHECK(audit_record_ts_parse(a, &na) == 0 && audit_record_ts_parse(b, &nb) == 0);
					CHECK(na <= nb);
				}
			}
			json_object_put(o);
			free(line);
		}
		tu_file_free(&f);
		free(p);
	}
	tu_free_names(names, n);
	return sum;
}

static void test_queue_full(const char *root, const struct audit_key *key)
{
	char *d = tu_path(root, "full");
	struct audit_opts o = tu_opts(d, key);
	o.queue_slots = 4;
	o.fsync = AUDIT_FSYNC_EVERY;
	glog = tu_open(&o);
	pthread_t th[PRODUCERS];
	for (uintptr_t t = 0; t < PRODUCERS; t++)
		REQUIRE(pthread_create(&th[t], NULL, producer, (void *)t) == 0);
	for (int t = 0; t < PRODUCERS; t++)
		pthread_join(th[t], NULL);
	CHECK(audit_flush(glog) == 0);
	struct audit_stats st;
	audit_get_stats(glog, &st);
	CHECK(audit_close(glog) == 0);
	CHECK_EQ_U(st.emitted, PRODUCERS * PER_THREAD);
	CHECK_EQ_U(st.dropped, atomic_load(&enobufs));
	CHECK(st.dropped > 0);
	CHECK_EQ_U(st.written + st.dropped + st.lost_io, st.emitted);
	size_t nlost, nflow;
	uint64_t lost = sum_field(d, "audit.lost", "count", &nlost);
	uint64_t qf = sum_field(d, "audit.lost", "queue_full", &nlost);
	sum_field(d, "flow.decision", "dport", &nflow);
	CHECK(nlost >= 1);
	CHECK_EQ_U(lost, st.dropped);
	CHECK_EQ_U(qf, st.dropped);
	CHECK_EQ_U(nflow, st.written);
	CHECK_EQ_U(nflow + lost, PRODUCERS * PER_THREAD);
	struct audit_verify_result *r = tu_verify_dir(d, key);
	CHECK(r->ok && r->nbreaks == 0);
	audit_verify_result_free(r);
	fprintf(stderr, "queue full: emitted %llu written %llu dropped %llu in %zu audit.lost records\n",
		(unsigned long long)st.emitted, (unsigned long long)st.written, (unsigned long long)st.dropped, nlost);
	free(d);
}

static void test_write_errors(const char *root, const struct audit_key *key)
{
	char *d = tu_path(root, "io");
	struct audit_opts o = tu_opts(d, key);
	struct audit_log *log = tu_open(&o);
	for (uint64_t i = 0; i < 10; i++)
		REQUIRE(tu_emit_flow(log, i) == 0);
	CHECK(audit_flush(log) == 0);
	/* The file may now grow by about four records only. */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim;
	REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
	size_t len;
	char *buf = tu_read(audit_current_file(log), &len);
	free(buf);
	lim = old;
	lim.rlim_cur = len + 4 * 700 + 100;
	REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	for (uint64_t i = 10; i < 60; i++) {
		REQUIRE(tu_emit_flow(log, i) == 0);
		if (i % 5 == 0)
			audit_flush(log);
	}
	CHECK(audit_flush(log) == -EFBIG);
	struct audit_stats st;
	audit_get_stats(log, &st);
	CHECK(st.lost_io > 0);
	CHECK(st.last_error == -EFBIG);
	REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
	for (uint64_t i = 60; i < 70; i++)
		REQUIRE(tu_emit_flow(log, i) == 0);
	audit_flush(log);
	audit_get_stats(log, &st);
	CHECK(audit_close(log) == -EFBIG); /* the first error of the log's life */
	CHECK_EQ_U(st.emitted, 70);
	CHECK_EQ_U(st.written + st.lost_io, 70);
	size_t nlost, nflow;
	uint64_t io = sum_field(d, "audit.lost", "io_error", &nlost);
	sum_field(d, "flow.decision", "dport", &nflow);
	CHECK(nlost >= 1);
	CHECK_EQ_U(io, st.lost_io);
	CHECK_EQ_U(nflow, st.written);
	struct audit_verify_result *r = tu_verify_dir(d, key);
	CHECK(r->ok && r->nbreaks == 0);
	if (!r->ok)
		tu_dump(r);
	audit_verify_result_free(r);
	fprintf(stderr, "write errors: written %llu lost %llu\n", (unsigned long long)st.written,
		(unsigned long long)st.lost_io);
	free(d);
}

int main(void)
{
	char *root = tu_tmpdir("overflow");
	struct audit_key key;
	tu_key(root, "key", &key);
	test_queue_full(root, &key);
	test_write_errors(root, &key);
	tu_rmrf(root);
	free(root);
	return check_done();
}
