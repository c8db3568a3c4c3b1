/* kill -9 of a writer under load.  A child writes as fast as it can and is
 * killed with SIGKILL; then everything before the tail verifies, and a torn
 * tail (real, or made by cutting the last line as a power loss would) is
 * reported as truncated.  Reopening continues the chain from the last good
 * record in a new file whose log.open acknowledges the torn tail, and the
 * whole directory verifies again.  Three rounds. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit_testutil.h"
#include "test/check.h"

static void child(const char *dir, const struct audit_key *key)
{
	struct audit_opts o = tu_opts(dir, key);
	o.fsync = AUDIT_FSYNC_BATCH;
	o.rotate_bytes = 256 * 1024;
	o.queue_slots = 4096;
	struct audit_log *log = NULL;
	char why[256];
	if (audit_open(&o, &log, why, sizeof why) < 0) {
		fprintf(stderr, "child: %s\n", why);
		_exit(3);
	}
	for (uint64_t i = 0;; i++)
		tu_emit_flow(log, i);
}

/* Every break must be a truncation at the very end of a file. */
static void check_only_tails(const struct audit_verify_result *r, const char *when)
{
	for (size_t i = 0; i < r->nbreaks; i++) {
		const struct audit_break *b = &r->breaks[i];
		const struct audit_verify_file *f = &r->files[b->file];
		if (b->kind != AUDIT_BREAK_TRUNCATED || !f->torn || b->offset != f->torn_at) {
			fprintf(stderr, "%s: unexpected break\n", when);
			tu_dump(r);
			check_failures++;
			return;
		}
	}
}

/* Bytes in the audit files of dir (0 if it does not exist yet). */
static uint64_t dir_bytes(const char *dir)
{
	struct stat sb;
	if (stat(dir, &sb) < 0)
		return 0;
	size_t n;
	char **names = tu_files(dir, &n);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = tu_path(dir, names[i]);
		if (stat(p, &sb) == 0)
			total += (uint64_t)sb.st_size;
		free(p);
	}
	tu_free_names(names, n);
	return total;
}

static char *newest(const char *dir)
{
	size_t n;
	char **names = tu_files(dir, &n);
	REQUIRE(n > 0);
	char *p = tu_path(dir, names[n - 1]);
	tu_free_names(names, n);
	return p;
}

int main(void)
{
	char *root = tu_tmpdir("crash");
	struct audit_key key;
	tu_key(root, "key", &key);
	char *d = tu_path(root, "log");
	uint64_t last_records = 0;
	size_t tears = 0;
	for (int round = 0; round < 3; round++) {
		uint64_t base_bytes = dir_bytes(d);
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0)
			child(d, &key);
		/* Kill it under load: once it has written a good amount beyond
		 * what was there (slow machines and valgrind take longer). */
		struct timespec ts = {0, 20 * 1000000};
		for (int waited = 0; waited < 1500 && dir_bytes(d) < base_bytes + 512 * 1024; waited++)
			nanosleep(&ts, NULL);
		ts.tv_nsec = 50 * 1000000;
		nanosleep(&ts, NULL);
		REQUIRE(kill(pid, SIGKILL) == 0);
		int status;
		REQUIRE(waitpid(pid, &status, 0) == pid);
		REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		struct audit_verify_result *r = tu_verify_dir(d, &key);
		check_only_tails(r, "after kill");
		CHECK(r->records > last_records + 100);
		bool torn = r->files[r->nfiles - 1].torn;
		audit_verify_result_free(r);

		/* If the kill left whole lines, tear the last one as a power
		 * loss would have (the newest file may hold just its log.open,
		 * or nothing at all if the kill came right after creating it). */
		char *p = newest(d);
		if (!torn) {
			struct tu_file f;
			tu_file_load(&f, p);
			if (f.n > 0) {
				tu_file_truncate(&f, f.ls[f.n - 1] + (f.len - f.ls[f.n - 1]) / 2);
				tu_file_save(&f);
				torn = true;
			}
			tu_file_free(&f);
		}
		r = tu_verify_dir(d, &key);
		check_only_tails(r, "torn");
		CHECK(r->ok == !torn);
		CHECK(r->files[r->nfiles - 1].torn == torn);
		CHECK_EQ_U(tu_breaks(r, AUDIT_BREAK_TRUNCATED, true), torn ? 1 : 0);
		audit_verify_result_free(r);

		/* Reopen and continue. */
		struct audit_opts o = tu_opts(d, &key);
		struct audit_log *log = tu_open(&o);
		for (uint64_t i = 0; i < 100; i++)
			REQUIRE(tu_emit_flow(log, i) == 0);
		CHECK(audit_close(log) == 0);
		char *p2 = newest(d);
		CHECK(strcmp(p, p2) != 0);
		r = tu_verify_dir(d, &key);
		CHECK(r->ok);
		check_only_tails(r, "after reopen");
		CHECK_EQ_U(tu_breaks(r, AUDIT_BREAK_TRUNCATED, true), 0);
		tears += torn;
		CHECK_EQ_U(tu_breaks(r, AUDIT_BREAK_TRUNCATED, false), tears);
		if (!r->ok)
			tu_dump(r);
		last_records = r->records;
		fprintf(stderr, "round %d: %llu records in %zu files\n", round, (unsigned long long)r->records,
			r->nfiles);
		audit_verify_result_free(r);
		free(p);
		free(p2);
	}
	tu_rmrf(root);
	free(d);
	free(root);
	return check_done();
}
