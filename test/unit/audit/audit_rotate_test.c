/* Files and chains: rotation by size and by local day (injected clock),
 * file names that sort even when the clock steps back, retention by age
 * and by size (recorded, not flagged; a deletion beside it still is),
 * resuming a chain (append, full file, torn tail, garbage tail, empty
 * newest file), the directory lock, hourly clock.status records. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit_testutil.h"
#include "common/audit/audit_record.h"
#include "test/check.h"

static struct audit_key key;
static char *root;
static int ndir;

static char *newdir(void)
{
	char name[32];
	snprintf(name, sizeof name, "log-%02d", ++ndir);
	return tu_path(root, name);
}

static void emit_n(struct audit_log *log, int n)
{
	for (int i = 0; i < n; i++)
		REQUIRE(tu_emit_flow(log, (uint64_t)i) == 0);
}

/* Every file after the first starts with a log.open naming the previous
 * file and chaining to its last record. */
static void check_continuity(const char *dir)
{
	size_t n;
	char **names = tu_files(dir, &n);
	char prev_mac[65] = "";
	uint64_t prev_seq = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = tu_path(dir, names[i]);
		struct tu_file f;
		tu_file_load(&f, p);
		REQUIRE(f.n > 0);
		char *first = tu_file_line(&f, 0), *last = tu_file_line(&f, f.n - 1);
		struct json_object *o = audit_record_parse(first, strlen(first));
		struct json_object *e = audit_record_parse(last, strlen(last));
		CHECK(o && strcmp(audit_record_get_str(o, "event"), "log.open") == 0);
		CHECK(strcmp(audit_record_data_str(o, "file"), names[i]) == 0);
		if (i > 0) {
			CHECK(strcmp(audit_record_data_str(o, "prev_file"), names[i - 1]) == 0);
			CHECK(strcmp(audit_record_get_str(o, "prev"), prev_mac) == 0);
			uint64_t seq = 0;
			CHECK(audit_record_get_u64(o, "seq", &seq) && seq == prev_seq + 1);
		}
		snprintf(prev_mac, sizeof prev_mac, "%s", audit_record_get_str(e, "mac"));
		CHECK(audit_record_get_u64(e, "seq", &prev_seq));
		json_object_put(o);
		json_object_put(e);
		free(first);
		free(last);
		tu_file_free(&f);
		free(p);
	}
	tu_free_names(names, n);
}

static void expect_ok(const char *what, const char *dir)
{
	struct audit_verify_result *r = tu_verify_dir(dir, &key);
	if (!r->ok || r->nbreaks) {
		fprintf(stderr, "%s: expected a clean verification\n", what);
		tu_dump(r);
		check_failures++;
	}
	audit_verify_result_free(r);
}

static size_t nfiles(const char *dir)
{
	size_t n;
	char **names = tu_files(dir, &n);
	tu_free_names(names, n);
	return n;
}

static char *file_name(const char *dir, size_t i)
{
	size_t n;
	char **names = tu_files(dir, &n);
	REQUIRE(i < n);
	char *s = strdup(names[i]);
	tu_free_names(names, n);
	return s;
}

static void test_size_rotation(void)
{
	char *d = newdir();
	struct audit_opts o = tu_opts(d, &key);
	o.rotate_bytes = 8192;
	struct audit_log *log = tu_open(&o);
	emit_n(log, 200);
	struct audit_stats st;
	CHECK(audit_flush(log) == 0);
	audit_get_stats(log, &st);
	CHECK(audit_close(log) == 0);
	size_t n = nfiles(d);
	CHECK(n >= 10);
	CHECK_EQ_U(st.files, n);
	check_continuity(d);
	expect_ok("size rotation", d);
	/* No file much beyond the limit: a file ends at the first record that
	 * reaches it. */
	for (size_t i = 0; i < n; i++) {
		char *name = file_name(d, i), *p = tu_path(d, name);
		struct stat sb;
		CHECK(stat(p, &sb) == 0 && sb.st_size < 8192 + 2048);
		free(p);
		free(name);
	}
	free(d);
}

static void test_day_rotation(void)
{
	char *d = newdir();
	struct tu_clock clk = {0};
	atomic_store(&clk.ns, tu_local_ns(2026, 11, 22, 23, 59, 58));
	struct audit_opts o = tu_opts(d, &key);
	o.now = tu_clock_now;
	o.now_arg = &clk;
	struct audit_log *log = tu_open(&o);
	emit_n(log, 5);
	CHECK(audit_flush(log) == 0);
	atomic_store(&clk.ns, tu_local_ns(2026, 11, 23, 0, 0, 1));
	emit_n(log, 5);
	CHECK(audit_flush(log) == 0);
	CHECK_EQ_U(nfiles(d), 2);
	char *second = file_name(d, 1);
	CHECK(strncmp(second, "audit-20261123T000001-000002", 28) == 0);
	/* The clock steps back a day: no new file for the "new" day, and the
	 * next file (by size) still sorts after the others. */
	atomic_store(&clk.ns, tu_local_ns(2026, 11, 22, 12, 0, 0));
	emit_n(log, 5);
	CHECK(audit_flush(log) == 0);
	CHECK_EQ_U(nfiles(d), 2);
	CHECK(audit_close(log) == 0);
	o.rotate_bytes = 4096;
	log = tu_open(&o); /* the newest file is over 4096: a new file */
	emit_n(log, 3);
	CHECK(audit_close(log) == 0);
	CHECK_EQ_U(nfiles(d), 3);
	char *third = file_name(d, 2);
	CHECK(strncmp(third, "audit-20261123T000001-000003", 28) == 0);
	check_continuity(d);
	expect_ok("day rotation", d);
	/* The second file's log.open says why. */
	char *p = tu_path(d, second);
	struct tu_file f;
	tu_file_load(&f, p);
	char *l0 = tu_file_line(&f, 0);
	CHECK(strstr(l0, "\"reason\":\"day\"") != NULL);
	CHECK(strstr(l0, "\"ts\":\"2026-11-23T00:00:01.") != NULL);
	free(l0);
	tu_file_free(&f);
	free(p);
	free(second);
	free(third);
	free(d);
}

static void test_retention_age(void)
{
	char *d = newdir();
	struct tu_clock clk = {0};
	struct audit_opts o = tu_opts(d, &key);
	o.now = tu_clock_now;
	o.now_arg = &clk;
	o.retain_seconds = 2 * 86400;
	struct audit_log *log = NULL;
	for (int day = 1; day <= 6; day++) {
		atomic_store(&clk.ns, tu_local_ns(2026, 11, day, 10, 0, 0));
		if (!log)
			log = tu_open(&o);
		emit_n(log, 3);
		CHECK(audit_flush(log) == 0);
	}
	CHECK(audit_close(log) == 0);
	/* Days 1..3 are older than two days when day 6's file starts. */
	size_t n = nfiles(d);
	CHECK(n == 3);
	CHECK_EQ_U(tu_count_event(d, "log.retention"), 3);
	struct audit_verify_result *r = tu_verify_dir(d, &key);
	CHECK(r->ok);
	CHECK_EQ_U(r->nbreaks, 0);
	CHECK_EQ_U(r->retained_files, 3);
	if (!r->ok)
		tu_dump(r);
	audit_verify_result_free(r);
	/* Deleting a file beside retention is still caught. */
	char *mid = file_name(d, 1), *p = tu_path(d, mid);
	REQUIRE(unlink(p) == 0);
	r = tu_verify_dir(d, &key);
	CHECK(!r->ok);
	CHECK_EQ_U(tu_breaks(r, AUDIT_BREAK_FILE_MISSING, true), 1);
	CHECK_EQ_U(r->nbreaks, 1);
	audit_verify_result_free(r);
	free(mid);
	free(p);
	free(d);
}

static void test_retention_size(void)
{
	char *d = newdir();
	struct audit_opts o = tu_opts(d, &key);
	o.rotate_bytes = 4096;
	o.retain_bytes = 24 * 1024;
	struct audit_log *log = tu_open(&o);
	emit_n(log, 300);
	CHECK(audit_close(log) == 0);
	size_t n = nfiles(d), total = 0;
	for (size_t i = 0; i < n; i++) {
		char *name = file_name(d, i), *p = tu_path(d, name);
		struct stat sb;
		REQUIRE(stat(p, &sb) == 0);
		total += (size_t)sb.st_size;
		free(p);
		free(name);
	}
	CHECK(total <= 24 * 1024 + 8192);
	/* Many files were started and deleted; the records of the latest
	 * deletions are still there (older ones went with their files). */
	char *newest = file_name(d, n - 1);
	struct audit_record_fname fn;
	CHECK(audit_record_fname_parse(newest, &fn) && fn.counter >= 30);
	free(newest);
	CHECK(tu_count_event(d, "log.retention") >= 1);
	struct audit_verify_result *r = tu_verify_dir(d, &key);
	CHECK(r->ok && r->nbreaks == 0);
	CHECK(r->retained_files >= 1);
	if (!r->ok)
		tu_dump(r);
	audit_verify_result_free(r);
	free(d);
}

static void test_resume(void)
{
	char *d = newdir();
	struct audit_opts o = tu_opts(d, &key);
	struct audit_log *log = tu_open(&o);
	emit_n(log, 10);
	CHECK(audit_close(log) == 0);
	/* Clean end, same day, room left: append with log.resume. */
	log = tu_open(&o);
	emit_n(log, 10);
	struct audit_stats st;
	CHECK(audit_flush(log) == 0);
	audit_get_stats(log, &st);
	CHECK(audit_close(log) == 0);
	CHECK_EQ_U(nfiles(d), 1);
	CHECK_EQ_U(st.last_seq, 1 + 10 + 1 + 1 + 10); /* open, 10, close, resume, 10 */
	CHECK_EQ_U(tu_count_event(d, "log.resume"), 1);
	expect_ok("resume (append)", d);

	/* A torn tail (crash mid-write): a new file that says so. */
	char *name = file_name(d, 0), *p = tu_path(d, name);
	struct tu_file f;
	tu_file_load(&f, p);
	size_t torn_at = f.len;
	char *half = tu_file_line(&f, 3);
	half[strlen(half) / 2] = '\0';
	int fd = open(p, O_WRONLY | O_APPEND);
	REQUIRE(fd >= 0 && write(fd, half, strlen(half)) == (ssize_t)strlen(half));
	close(fd);
	free(half);
	tu_file_free(&f);
	struct audit_verify_result *r = tu_verify_dir(d, &key);
	CHECK(!r->ok && r->nbreaks == 1 && r->breaks[0].kind == AUDIT_BREAK_TRUNCATED && !r->breaks[0].explained);
	CHECK_EQ_U(r->breaks[0].offset, torn_at);
	audit_verify_result_free(r);
	log = tu_open(&o);
	emit_n(log, 5);
	CHECK(audit_close(log) == 0);
	CHECK_EQ_U(nfiles(d), 2);
	char *second = file_name(d, 1), *p2 = tu_path(d, second);
	tu_file_load(&f, p2);
	char *l0 = tu_file_line(&f, 0);
	char want[64];
	snprintf(want, sizeof want, "\"prev_torn_at\":%zu", torn_at);
	CHECK(strstr(l0, "\"prev_end\":\"torn\"") && strstr(l0, want) && strstr(l0, "\"prev_closed\":true"));
	free(l0);
	tu_file_free(&f);
	r = tu_verify_dir(d, &key);
	CHECK(r->ok && r->nbreaks == 1 && r->breaks[0].kind == AUDIT_BREAK_TRUNCATED && r->breaks[0].explained);
	if (!r->ok)
		tu_dump(r);
	audit_verify_result_free(r);

	/* An empty newest file (crash right after creating it). */
	char empty[64];
	struct audit_record_fname fn;
	REQUIRE(audit_record_fname_parse(second, &fn));
	fn.counter++;
	audit_record_fname_format(&fn, empty);
	char *pe = tu_path(d, empty);
	fd = open(pe, O_WRONLY | O_CREAT | O_EXCL, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	log = tu_open(&o);
	emit_n(log, 2);
	CHECK(audit_close(log) == 0);
	CHECK_EQ_U(nfiles(d), 4);
	r = tu_verify_dir(d, &key);
	CHECK(r->ok);
	if (!r->ok)
		tu_dump(r);
	audit_verify_result_free(r);

	/* A complete line of garbage at the end (not ours): the writer still
	 * continues from the last good record in a new file, and the verifier
	 * reports the line. */
	char *newest = file_name(d, 3), *pn = tu_path(d, newest);
	fd = open(pn, O_WRONLY | O_APPEND);
	const char junk[] =
		"{\"ts\":\"x\",\"mac\":\"0000000000000000000000000000000000000000000000000000000000000000\"}\n";
	REQUIRE(fd >= 0 && write(fd, junk, sizeof junk - 1) == (ssize_t)(sizeof junk - 1));
	close(fd);
	log = tu_open(&o);
	emit_n(log, 2);
	CHECK(audit_close(log) == 0);
	r = tu_verify_dir(d, &key);
	CHECK(!r->ok && tu_breaks(r, AUDIT_BREAK_INSERTED, true) == 1 && r->nbreaks == 2);
	audit_verify_result_free(r);
	free(newest);
	free(pn);
	free(pe);
	free(second);
	free(p2);
	free(name);
	free(p);
	free(d);
}

static void test_lock(void)
{
	char *d = newdir();
	struct audit_opts o = tu_opts(d, &key);
	struct audit_log *a = tu_open(&o), *b = NULL;
	char why[256] = "";
	CHECK(audit_open(&o, &b, why, sizeof why) == -EBUSY);
	CHECK(strstr(why, "locked") != NULL);
	o.lock_timeout_ms = 50;
	CHECK(audit_open(&o, &b, why, sizeof why) == -EBUSY);
	CHECK(audit_close(a) == 0);
	b = tu_open(&o);
	CHECK(audit_close(b) == 0);
	expect_ok("lock", d);
	free(d);
}

static void test_clock_records(void)
{
	char *d = newdir();
	struct tu_clock clk = {0};
	atomic_store(&clk.ns, tu_local_ns(2026, 11, 22, 9, 0, 0));
	struct audit_opts o = tu_opts(d, &key);
	o.flags = 0;
	o.now = tu_clock_now;
	o.now_arg = &clk;
	struct audit_log *log = tu_open(&o);
	for (int h = 1; h <= 3; h++) {
		emit_n(log, 1);
		CHECK(audit_flush(log) == 0);
		atomic_store(&clk.ns, tu_local_ns(2026, 11, 22, 9 + h, 0, 30));
		emit_n(log, 1);
		CHECK(audit_flush(log) == 0);
	}
	CHECK(audit_close(log) == 0);
	/* One at open, one per simulated hour. */
	CHECK_EQ_U(tu_count_event(d, "clock.status"), 4);
	expect_ok("clock records", d);
	struct audit_clock_status cs;
	CHECK(audit_clock_probe(&cs) == 0);
	CHECK(cs.source != NULL);
	CHECK(audit_clock_synced() == cs.synced);
	free(d);
}

int main(void)
{
	setenv("TZ", "Asia/Tokyo", 1);
	root = tu_tmpdir("rotate");
	tu_key(root, "key", &key);
	test_size_rotation();
	test_day_rotation();
	test_retention_age();
	test_retention_size();
	test_resume();
	test_lock();
	test_clock_records();
	tu_rmrf(root);
	free(root);
	return check_done();
}
