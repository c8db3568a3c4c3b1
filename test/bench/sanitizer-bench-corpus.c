/* sanitizer-bench-corpus: the "corpus" case of test/bench/sanitizer-bench.
 *
 *   sanitizer-bench-corpus DIR [MIN_MESSAGES]
 *
 * Reads every *.eml under DIR (recursively, at most 4096 files of at most
 * 8 MiB), replicates the list to at least MIN_MESSAGES (default 5000), then
 * times both sides over the same messages in one run, interleaved round by
 * round: the baseline (gmime parse + serialise to memory) and the library
 * (sanitize_buffer, no quarantine).  Prints one JSON line; "ratio" is from
 * wall time, "cpu_ratio" from this process's CPU time (less sensitive to
 * other load on a shared machine).  Exit 0, or 2 on error. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "common/strbuf.h"
#include "sanitizer/sanitize.h"

#define MAX_FILES 4096
#define MAX_FILE (8u << 20)

static struct strbuf msgs[MAX_FILES];
static size_t n_msgs;

static void load(const char *dir, unsigned depth)
{
	DIR *d = opendir(dir);
	if (!d || depth > 8) {
		if (d)
			closedir(d);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) && n_msgs < MAX_FILES) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
			continue;
		struct stat st;
		if (stat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			load(p, depth + 1);
			continue;
		}
		size_t l = strlen(e->d_name);
		if (!S_ISREG(st.st_mode) || l < 4 || strcmp(e->d_name + l - 4, ".eml") || st.st_size > MAX_FILE)
			continue;
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			strbuf_append(&msgs[n_msgs], buf, (size_t)n);
		close(fd);
		if (msgs[n_msgs].len)
			n_msgs++;
	}
	closedir(d);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sanitizer-bench-corpus DIR [MIN_MESSAGES]\n");
		return 2;
	}
	size_t want = argc > 2 ? strtoul(argv[2], NULL, 10) : 5000;
	if (want < 1 || want > 1000000)
		want = 5000;
	load(argv[1], 0);
	if (!n_msgs) {
		fprintf(stderr, "sanitizer-bench-corpus: no .eml under %s\n", argv[1]);
		return 2;
	}
	size_t total = (want + n_msgs - 1) / n_msgs * n_msgs;
	struct sanitize_config cfg;
	sanitize_config_defaults(&cfg);
	struct sanitize_ctx *ctx;
	if (sanitize_ctx_new(&cfg, &ctx) < 0) {
		fprintf(stderr, "sanitizer-bench-corpus: init failed\n");
		return 2;
	}

	/* Both sides run interleaved, one pass over the distinct messages each
	 * per round, so that load from other processes on a shared machine
	 * falls on both alike; wall and process CPU time are summed per side. */
	double tb = 0, ts = 0, cb = 0, cs = 0;
	size_t failed = 0, bytes = 0;
	for (size_t round = 0; round < total / n_msgs; round++) {
		double w0 = now(), c0 = cpu();
		for (size_t i = 0; i < n_msgs; i++) {
			const struct strbuf *m = &msgs[i];
			GMimeStream *s = g_mime_stream_mem_new_with_buffer(m->buf, m->len);
			GMimeParser *p = g_mime_parser_new_with_stream(s);
			g_object_unref(s);
			GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
			g_object_unref(p);
			if (!msg)
				continue;
			GMimeStream *os = g_mime_stream_mem_new();
			g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, os);
			bytes += (size_t)g_mime_stream_length(os);
			g_object_unref(os);
			g_object_unref(msg);
		}
		double w1 = now(), c1 = cpu();
		for (size_t i = 0; i < n_msgs; i++) {
			const struct strbuf *m = &msgs[i];
			struct strbuf out = STRBUF_INIT;
			struct sanitize_result res;
			if (sanitize_buffer(ctx, m->buf, m->len, &out, &res) < 0)
				failed++;
			sanitize_result_free(&res);
			strbuf_free(&out);
		}
		double w2 = now(), c2 = cpu();
		tb += w1 - w0;
		ts += w2 - w1;
		cb += c1 - c0;
		cs += c2 - c1;
	}
	double base = (double)total / tb, san = (double)total / ts;
	printf("{\"bench\":\"sanitizer\",\"case\":\"corpus\",\"messages\":%zu,\"distinct\":%zu,\"baseline_msgs_per_s\":%.1f,"
	       "\"sanitize_msgs_per_s\":%.1f,\"ratio\":%.3f,\"cpu_ratio\":%.3f,\"target\":0.5,\"no_output\":%zu}\n",
	       total, n_msgs, base, san, san / base, cb / cs, failed);
	sanitize_ctx_free(ctx);
	for (size_t i = 0; i < n_msgs; i++)
		strbuf_free(&msgs[i]);
	(void)bytes;
	return 0;
}
