/* audit-bench: throughput of the audit writer against plain write(2).
 *
 * For each fsync policy it writes realistic flow.decision records through
 * the writer (queue, json-c serialisation, HMAC chain, write, fdatasync by
 * policy) and then writes the very same bytes (the lines the writer
 * produced, same lengths) to a new file in the same directory with one
 * write(2) per line and the same fdatasync schedule.  Output, one JSON
 * line per policy:
 *   {"bench":"audit","fsync":"batch","records":N,"records_per_s":...,
 *    "raw_write_per_s":...,"raw_batched_write_per_s":...,"ratio":...}
 * raw_batched_write_per_s writes the same bytes in 256 KiB chunks (the
 * writer's own batching), for information.
 *
 * Usage: audit-bench [DIR] [RECORDS] [ROUNDS]
 *   DIR default $TMPDIR or /tmp, RECORDS default 500000, ROUNDS default 5.
 * Rounds alternate the writer and the raw writes; the headline numbers are
 * medians, best_* the best round (shared machines are noisy).
 * AUDIT_BENCH_NONE=1 adds an "fsync":"none" line; AUDIT_BENCH_WRITER_ONLY=1
 * skips the raw writes.
 * Not a test: it never fails on timings. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/audit/audit.h"
#include "common/audit/audit_record.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		(double)ru.ru_stime.tv_usec / 1e6;
}

static double thread_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		(double)ru.ru_stime.tv_usec / 1e6;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "audit-bench: %s: %s\n", what, strerror(err));
	exit(2);
}

static int emit_flow(struct audit_log *log, uint64_t i)
{
	u128 src = 0xc0a80a00u + (i & 0xff), dst = 0xcb007100u + (i % 200);
	static const uint8_t hash[32] = {0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea,
					 0xa0, 0xc5, 0x5a, 0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b,
					 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15, 0xb0, 0xf0, 0x0a, 0x08};
	return audit_emit(log, "flow.decision",
			  (struct audit_field[]){
				  AUDIT_STR("from_zone", "lgwan"),
				  AUDIT_STR("to_zone", "internet"),
				  AUDIT_STR("in_if", "ens1f0"),
				  AUDIT_STR("out_if", "ens1f1"),
				  AUDIT_STR("proto", "tcp"),
				  AUDIT_IP("src", 4, src),
				  AUDIT_UINT("sport", 32768 + (i % 28000)),
				  AUDIT_IP("dst", 4, dst),
				  AUDIT_UINT("dport", 443),
				  AUDIT_STR("action", (i % 11) ? "allow" : "deny"),
				  AUDIT_UINT("rule_id", 1000 + (i % 40)),
				  AUDIT_STR("rule_at", "/etc/sekisho/policy.d/20-lgwan-relay.policy:118"),
				  AUDIT_HEX("policy_sha256", hash, 32),
				  AUDIT_UINT("table_gen", 7),
			  },
			  14);
}

/* Concatenate the audit files of dir (the writer's exact bytes). */
static char *slurp_logs(const char *dir, size_t *ret_len)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die(dir, errno);
	char **names;
	size_t n;
	int r = audit_record_list(dfd, &names, &n);
	if (r < 0)
		die("list", -r);
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap);
	for (size_t i = 0; i < n; i++) {
		int fd = openat(dfd, names[i], O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			die(names[i], errno);
		while (cap < len + (size_t)st.st_size)
			cap *= 2;
		buf = realloc(buf, cap);
		if (!buf)
			die("realloc", ENOMEM);
		ssize_t got = read(fd, buf + len, (size_t)st.st_size);
		if (got != st.st_size)
			die("read", errno);
		len += (size_t)got;
		close(fd);
	}
	audit_record_list_free(names, n);
	close(dfd);
	*ret_len = len;
	return buf;
}

/* write(2) the same bytes line by line (or in chunk-sized pieces when
 * chunk > 0) with the given fdatasync policy; returns lines per second. */
static double raw_write(const char *path, const char *buf, size_t len, enum audit_fsync pol, size_t chunk,
			uint64_t *ret_lines)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0)
		die(path, errno);
	uint64_t lines = 0;
	double t0 = now_s(), last_sync = t0;
	size_t pos = 0;
	while (pos < len) {
		size_t end;
		if (chunk) {
			end = pos + chunk < len ? pos + chunk : len;
			const char *nl = memrchr(buf + pos, '\n', end - pos);
			end = nl ? (size_t)(nl - buf) + 1 : end;
			for (const char *p = buf + pos; (p = memchr(p, '\n', (size_t)(buf + end - p))); p++)
				lines++;
		} else {
			const char *nl = memchr(buf + pos, '\n', len - pos);
			end = nl ? (size_t)(nl - buf) + 1 : len;
			lines++;
		}
		if (write(fd, buf + pos, end - pos) != (ssize_t)(end - pos))
			die("write", errno);
		pos = end;
		if (pol == AUDIT_FSYNC_EVERY) {
			fdatasync(fd);
		} else if (pol == AUDIT_FSYNC_BATCH) {
			double t = now_s();
			if (t - last_sync >= 0.1) {
				fdatasync(fd);
				last_sync = t;
			}
		}
	}
	fdatasync(fd);
	double dt = now_s() - t0;
	close(fd);
	unlink(path);
	*ret_lines = lines;
	return (double)lines / dt;
}

struct round {
	double rps, raw, rawb, cpu, pcpu, bytes;
	uint64_t dropped;
};

/* One round: the writer, then write(2) of the very bytes it wrote. */
static struct round run_round(const char *base, enum audit_fsync pol, uint64_t records, const struct audit_key *key,
			      int n)
{
	char dir[4096], raw[4200];
	snprintf(dir, sizeof dir, "%s/audit-bench-%d-%d-%d", base, (int)getpid(), (int)pol, n);
	snprintf(raw, sizeof raw, "%s/audit-bench-%d-raw.jsonl", base, (int)getpid());
	struct audit_opts o = {0};
	o.dir = dir;
	o.component = "gateway";
	o.host = "sekisho-gw01";
	o.key = key;
	o.fsync = pol;
	o.queue_slots = 65536;
	o.slot_bytes = 1024;
	o.flags = AUDIT_OPT_NO_DAILY_ROTATION;
	o.rotate_bytes = 1ull << 30;
	struct audit_log *log;
	char why[256];
	int r = audit_open(&o, &log, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "audit-bench: %s\n", why);
		exit(2);
	}
	double t0 = now_s(), c0 = cpu_s(), p0 = thread_cpu_s();
	struct audit_stats st;
	for (uint64_t i = 0; i < records; i++) {
		/* Back-pressure so that the benchmark measures the writer, not
		 * drops: wait while the queue is three quarters full. */
		if ((i & 255) == 0) {
			for (;;) {
				audit_get_stats(log, &st);
				if (st.emitted - st.written - st.dropped < o.queue_slots * 3 / 4)
					break;
				/* Sleep, not spin: a real producer does not burn the
				 * CPU the writer needs. */
				struct timespec ts = {0, 50000};
				nanosleep(&ts, NULL);
			}
		}
		while (emit_flow(log, i) == -ENOBUFS) {
			struct timespec ts = {0, 50000};
			nanosleep(&ts, NULL);
		}
	}
	audit_get_stats(log, &st);
	r = audit_close(log);
	double dt = now_s() - t0;
	struct round rd = {.rps = (double)records / dt,
			   .cpu = (cpu_s() - c0) * 1e6 / (double)records,
			   .pcpu = (thread_cpu_s() - p0) * 1e6 / (double)records,
			   .dropped = st.dropped};
	if (r < 0)
		die("audit_close", -r);
	if (!getenv("AUDIT_BENCH_WRITER_ONLY")) {
		size_t len;
		char *buf = slurp_logs(dir, &len);
		uint64_t lines, lines2 = 0;
		rd.raw = raw_write(raw, buf, len, pol, 0, &lines);
		rd.rawb = pol == AUDIT_FSYNC_EVERY ? 0 : raw_write(raw, buf, len, pol, 256 * 1024, &lines2);
		rd.bytes = (double)len / (double)lines;
		free(buf);
	}
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return rd;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double best(const double *v, int n)
{
	double m = 0;
	for (int i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Rounds alternate writer and raw so that both see the same machine
 * (shared machines are noisy); medians are the headline, bests follow. */
static void run(const char *base, enum audit_fsync pol, uint64_t records, int rounds, const struct audit_key *key)
{
	double rps[16], raw[16], rawb[16], ratio[16], cpu[16], pcpu[16], bytes = 0;
	uint64_t dropped = 0;
	if (rounds > 16)
		rounds = 16;
	for (int i = 0; i < rounds; i++) {
		struct round rd = run_round(base, pol, records, key, i);
		rps[i] = rd.rps;
		raw[i] = rd.raw;
		rawb[i] = rd.rawb;
		ratio[i] = rd.raw > 0 ? rd.rps / rd.raw : 0;
		cpu[i] = rd.cpu;
		pcpu[i] = rd.pcpu;
		bytes = rd.bytes;
		dropped += rd.dropped;
	}
	double brps = best(rps, rounds), braw = best(raw, rounds), brawb = best(rawb, rounds);
	printf("{\"bench\":\"audit\",\"fsync\":\"%s\",\"records\":%llu,\"rounds\":%d,\"dropped\":%llu,"
	       "\"bytes_per_record\":%.0f,\"records_per_s\":%.0f,\"raw_write_per_s\":%.0f",
	       pol == AUDIT_FSYNC_EVERY           ? "every"
		       : pol == AUDIT_FSYNC_BATCH ? "batch"
						  : "none",
	       (unsigned long long)records, rounds, (unsigned long long)dropped, bytes, median(rps, rounds),
	       median(raw, rounds));
	if (pol != AUDIT_FSYNC_EVERY)
		printf(",\"raw_batched_write_per_s\":%.0f", median(rawb, rounds));
	printf(",\"ratio\":%.2f,\"best_records_per_s\":%.0f,\"best_raw_write_per_s\":%.0f", median(ratio, rounds), brps,
	       braw);
	if (pol != AUDIT_FSYNC_EVERY)
		printf(",\"best_raw_batched_write_per_s\":%.0f", brawb);
	printf(",\"cpu_us_per_record\":%.2f,\"producer_cpu_us_per_record\":%.2f}\n", median(cpu, rounds),
	       median(pcpu, rounds));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	uint64_t records = argc > 2 ? strtoull(argv[2], NULL, 10) : 500000;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	if (rounds < 1)
		rounds = 1;
	struct audit_key key = {.len = 32};
	for (size_t i = 0; i < key.len; i++)
		key.bytes[i] = (uint8_t)(i * 31 + 7);
	if (getenv("AUDIT_BENCH_NONE"))
		run(base, AUDIT_FSYNC_NONE, records, rounds, &key);
	run(base, AUDIT_FSYNC_BATCH, records, rounds, &key);
	run(base, AUDIT_FSYNC_EVERY, records / 500 < 1000 ? 1000 : records / 500, 1, &key);
	return 0;
}
