/* cdr_queue: enqueue, claim in FIFO order, complete, release (counted and
 * not), recover after a "crash" (jobs left in cur/), the length and job
 * size caps, the lock, bad job files moved aside, and the job format's
 * round trip and refusals (table-driven); cdr_record's report parsing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitizer/cdr/cdr_queue.h"
#include "sanitizer/cdr/cdr_record.h"
#include "test/check.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char root[256];

static int count(const char *sub)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/q/%s", root, sub);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", p);
	FILE *f = popen(cmd, "r");
	int n = -1;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static struct cdr_job job(const char *sha, char *name)
{
	struct cdr_job j = {0};
	snprintf(j.sha256, sizeof(j.sha256), "%s", sha);
	j.name = name;
	j.type = "application/pdf";
	j.message_id = "<m@x>";
	j.rcpt[0] = "a@example.jp";
	j.nrcpt = 1;
	return j;
}

static void test_flow(void)
{
	char why[256] = "";
	char qd[300];
	snprintf(qd, sizeof(qd), "%s/q", root);
	struct cdr_queue *q;
	struct cdr_queue_opts o = {.dir = qd, .max_jobs = 3, .max_job_bytes = 1024};
	REQUIRE(cdr_queue_open(&o, &q, why, sizeof(why)) == 0);
	CHECK(cdr_queue_lock(q) == 0);

	struct cdr_job a = job(SHA_A, "請求書.pdf"), b = job(SHA_B, "b.xlsx"), c = job(SHA_A, "c");
	CHECK(cdr_queue_enqueue(q, &a) == 0);
	CHECK(cdr_queue_enqueue(q, &b) == 0);
	CHECK(strlen(a.id) == CDR_JOB_ID_LEN && strcmp(a.id, b.id) < 0, "ids sort in enqueue order");
	CHECK(count("new") == 2 && count("tmp") == 0, "two jobs in new/, nothing left in tmp/");
	CHECK(cdr_queue_length(q) == 2);

	/* a job too large for max_job_bytes */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct cdr_job bj = job(SHA_A, big);
	CHECK(cdr_queue_enqueue(q, &bj) == -EFBIG);
	CHECK(count("tmp") == 0, "a refused job leaves nothing");

	CHECK(cdr_queue_enqueue(q, &c) == 0);
	struct cdr_job d = job(SHA_B, "d");
	CHECK(cdr_queue_enqueue(q, &d) == -ENOSPC, "the fourth job is over max_jobs");

	/* FIFO claim; attempts counted and written back */
	struct cdr_job g;
	REQUIRE(cdr_queue_claim(q, &g) == 0);
	CHECK_STR(g.id, a.id);
	CHECK_STR(g.name, "請求書.pdf");
	CHECK_STR(g.sha256, SHA_A);
	CHECK(g.nrcpt == 1 && !strcmp(g.rcpt[0], "a@example.jp"));
	CHECK(g.attempts == 1);
	CHECK(count("cur") == 1 && count("new") == 2);
	CHECK(cdr_queue_length(q) == 3, "claimed jobs count in the length");

	/* release counted: attempts stay, the caller's failure count is
	 * written back; claimed again first (oldest) */
	g.failures = 1;
	CHECK(cdr_queue_release(q, &g, false) == 0);
	cdr_job_free(&g);
	REQUIRE(cdr_queue_claim(q, &g) == 0);
	CHECK_STR(g.id, a.id);
	CHECK(g.attempts == 2, "attempts %u", g.attempts);
	CHECK(g.failures == 1, "failures %u", g.failures);
	/* release uncounted (the worker stopped): the attempt is taken back */
	CHECK(cdr_queue_release(q, &g, true) == 0);
	cdr_job_free(&g);
	REQUIRE(cdr_queue_claim(q, &g) == 0);
	CHECK(g.attempts == 2, "uncounted release: attempts %u", g.attempts);
	CHECK(cdr_queue_complete(q, &g) == 0);
	cdr_job_free(&g);
	CHECK(cdr_queue_length(q) == 2);

	/* a crash: b claimed, never completed; the next process recovers it */
	REQUIRE(cdr_queue_claim(q, &g) == 0);
	CHECK_STR(g.id, b.id);
	cdr_job_free(&g);
	cdr_queue_close(q);

	REQUIRE(cdr_queue_open(&o, &q, why, sizeof(why)) == 0);
	struct cdr_queue *q2;
	REQUIRE(cdr_queue_open(&o, &q2, why, sizeof(why)) == 0);
	CHECK(cdr_queue_recover(q2, 600) == -ENOLCK, "recover needs the lock");
	CHECK(cdr_queue_lock(q) == 0);
	CHECK(cdr_queue_lock(q2) == -EWOULDBLOCK, "one worker per queue");
	cdr_queue_close(q2);
	/* a stale tmp file from a dead writer, and a fresh one */
	char p[512];
	snprintf(p, sizeof(p), "%s/q/tmp/0000000000000001-00000000", root);
	close(open(p, O_WRONLY | O_CREAT, 0600));
	struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	utimensat(AT_FDCWD, p, old, 0);
	snprintf(p, sizeof(p), "%s/q/tmp/0000000000000002-00000000", root);
	close(open(p, O_WRONLY | O_CREAT, 0600));
	CHECK(cdr_queue_recover(q, 600) == 1, "one claimed job back");
	CHECK(count("cur") == 0 && count("tmp") == 1, "the stale tmp file went, the fresh one stays");
	REQUIRE(cdr_queue_claim(q, &g) == 0);
	CHECK_STR(g.id, b.id);
	CHECK(g.attempts == 2, "a crash counts as an attempt: %u", g.attempts);
	CHECK(cdr_queue_complete(q, &g) == 0);
	cdr_job_free(&g);

	/* a bad job file goes to bad/ (found by the next scan), never claimed */
	snprintf(p, sizeof(p), "%s/q/new/0000000000000003-00000000", root);
	FILE *f = fopen(p, "w");
	fputs("{\"v\":1,\"id\":\"nonsense\"}", f);
	fclose(f);
	REQUIRE(cdr_queue_claim(q, &g) == 0);
	CHECK_STR(g.id, c.id);
	CHECK(cdr_queue_complete(q, &g) == 0);
	cdr_job_free(&g);
	CHECK(cdr_queue_claim(q, &g) == -EAGAIN, "empty");
	CHECK(count("bad") == 1, "the bad job is kept aside");
	CHECK(cdr_queue_length(q) == 0);
	cdr_queue_close(q);
}

/* many jobs: claimed in order across claim batches */
static void test_order(void)
{
	char why[256] = "", qd[300];
	snprintf(qd, sizeof(qd), "%s/order", root);
	struct cdr_queue *q;
	struct cdr_queue_opts o = {.dir = qd};
	REQUIRE(cdr_queue_open(&o, &q, why, sizeof(why)) == 0);
	REQUIRE(cdr_queue_lock(q) == 0);
	enum { N = 300 }; /* more than one claim batch (256) */
	static char ids[N][CDR_JOB_ID_LEN + 1];
	for (int i = 0; i < N; i++) {
		struct cdr_job j = job(SHA_A, "x");
		REQUIRE(cdr_queue_enqueue(q, &j) == 0);
		memcpy(ids[i], j.id, sizeof(ids[i]));
	}
	int bad = 0;
	for (int i = 0; i < N; i++) {
		struct cdr_job g;
		if (cdr_queue_claim(q, &g) != 0 || strcmp(g.id, ids[i]) != 0)
			bad++;
		else
			cdr_queue_complete(q, &g);
		cdr_job_free(&g);
	}
	CHECK(bad == 0, "%d of %d out of order", bad, N);
	cdr_queue_close(q);
}

static void test_format(void)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"enqueued\":5,\"attempts\":0}",
		 0},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"name\":null,\"rcpt\":[],\"enqueued\":5,\"attempts\":2}",
		 0},
		{"{\"v\":2,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789ABCDEF-01234567\",\"sha256\":\"" SHA_A
		 "\",\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"../../etc/passwd-01234567\",\"sha256\":\"" SHA_A
		 "\",\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"../x\",\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"name\":5,\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"name\":\"a\\u0000b\",\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"rcpt\":\"x\",\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"enqueued\":5,\"attempts\":-1}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A "\",\"enqueued\":5}", -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"enqueued\":5,\"attempts\":0} trailing",
		 -EINVAL},
		/* the portal's fields: link a hash, origin and deliver one of two words */
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A "\",\"link\":\"" SHA_B
		 "\",\"origin\":\"upload\",\"deliver\":\"mail\",\"enqueued\":5,\"attempts\":0}",
		 0},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"link\":\"../x\",\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"origin\":\"disk\",\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"{\"v\":1,\"id\":\"0123456789abcdef-01234567\",\"sha256\":\"" SHA_A
		 "\",\"deliver\":7,\"enqueued\":5,\"attempts\":0}",
		 -EINVAL},
		{"[1,2]", -EINVAL},
		{"", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cdr_job j;
		int r = cdr_job_parse(cases[i].text, strlen(cases[i].text), 65536, &j);
		CHECK(r == cases[i].want, "case %zu: %d, want %d", i, r, cases[i].want);
		if (r == 0) {
			/* round trip */
			char *t = cdr_job_text(&j);
			struct cdr_job k;
			CHECK(t && cdr_job_parse(t, strlen(t), 65536, &k) == 0 && !strcmp(k.id, j.id) &&
				      k.attempts == j.attempts && !strcmp(k.link, j.link) &&
				      !strcmp(k.origin, j.origin) && !strcmp(k.deliver, j.deliver),
			      "case %zu round trip", i);
			free(t);
			cdr_job_free(&k);
		}
		cdr_job_free(&j);
	}
	struct cdr_job j;
	const char *ok = cases[0].text;
	CHECK(cdr_job_parse(ok, strlen(ok), 10, &j) == -EFBIG, "over the size cap");
}

static void test_report(void)
{
	struct cdr_record r = {0};
	const char *ok = "{\"name\":\"a.docm\",\"result\":\"ok\",\"kind\":\"ooxml\",\"in_type\":\"docm\",\"out_type\":"
			 "\"docx\",\"out_ext\":\"docx\",\"mode\":\"rebuild\",\"pages\":0,\"in_bytes\":100,"
			 "\"out_bytes\":90,\"in_sha256\":\"" SHA_A "\",\"out_sha256\":\"" SHA_B "\",\"ms\":12,"
			 "\"removed\":[\"part:/word/vbaProject.bin\",\"x\"],\"removed_more\":3,\"members\":[]}\n";
	CHECK(cdr_record_parse(ok, strlen(ok), &r) == 0);
	CHECK_STR(r.result, "ok");
	CHECK_STR(r.reason, "");
	CHECK_STR(r.out_ext, "docx");
	CHECK(r.removed == 5 && r.in_bytes == 100 && r.out_bytes == 90 && r.ms == 12);
	const char *no = "{\"result\":\"encrypted\",\"removed\":[]}";
	CHECK(cdr_record_parse(no, strlen(no), &r) == 0);
	CHECK_STR(r.result, "no-copy");
	CHECK_STR(r.reason, "encrypted");
	const char *bad[] = {"{\"result\":5}",
			     "{}",
			     "{\"result\":\"ok\",\"in_bytes\":-1}",
			     "{\"result\":\"ok\",\"removed\":\"x\"}",
			     "{\"result\":\"ok\"} x",
			     "null"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(cdr_record_parse(bad[i], strlen(bad[i]), &r) == -EINVAL && !r.result[0], "bad report %zu", i);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/cdr-queue-test.XXXXXX");
	REQUIRE(mkdtemp(root));
	test_flow();
	test_order();
	test_format();
	test_report();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		CHECK(0, "cleanup");
	return check_done();
}
