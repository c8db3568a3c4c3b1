/* test/bench/cdr-bench-sandbox.c: the "sandbox" case of cdr-bench.  Start to
 * exit of a trivial converter (/usr/bin/cat copying 4 KiB) through
 * cdr_sandbox_run, against a plain fork + exec of the same program with the
 * same pipes, interleaved in one run; prints one JSON line with the medians.
 *
 * usage: cdr-bench-sandbox [RUNS]   (default 200)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotime.h"
#include "sanitizer/cdr/cdr_sandbox.h"

#define CONVERTER "/usr/bin/cat"

static int cmp_ns(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* the floor: fork, exec, copy through a pipe, wait */
static int plain(int in, int out)
{
	char buf[65536];
	int p[2];
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(in, 0);
		dup2(p[1], 1);
		execl(CONVERTER, CONVERTER, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 200, in = memfd_create("in", 0), out = memfd_create("out", 0), bad = 0;
	const char *const cargv[] = {CONVERTER, NULL};
	struct cdr_sandbox_limits lim;
	char data[4096], why[256];
	int64_t *sb, *fe;

	if (runs < 1 || in < 0 || out < 0)
		return 2;
	sb = calloc((size_t)runs, sizeof(*sb));
	fe = calloc((size_t)runs, sizeof(*fe));
	if (!sb || !fe)
		return 2;
	memset(data, 'x', sizeof(data));
	if (write(in, data, sizeof(data)) != (ssize_t)sizeof(data))
		return 2;
	cdr_sandbox_limits_default(&lim);
	for (int i = 0; i < runs; i++) {
		struct cdr_sandbox_result res;
		int64_t t0;

		lseek(in, 0, SEEK_SET);
		if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0)
			return 2;
		t0 = monotime_ns();
		if (cdr_sandbox_run(cargv, in, out, &lim, NULL, &res, why, sizeof(why)) != 0 ||
		    strcmp(res.reason, "ok") != 0 || res.out_bytes != sizeof(data))
			bad++;
		sb[i] = monotime_ns() - t0;

		lseek(in, 0, SEEK_SET);
		if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0)
			return 2;
		t0 = monotime_ns();
		if (plain(in, out) != 0)
			bad++;
		fe[i] = monotime_ns() - t0;
	}
	qsort(sb, (size_t)runs, sizeof(*sb), cmp_ns);
	qsort(fe, (size_t)runs, sizeof(*fe), cmp_ns);
	printf("{\"bench\":\"cdr\",\"case\":\"sandbox\",\"converter\":\"%s\",\"runs\":%d,\"failed\":%d,"
	       "\"sandbox_ms\":%.2f,\"sandbox_p90_ms\":%.2f,\"forkexec_ms\":%.2f,\"forkexec_p90_ms\":%.2f,"
	       "\"target_ms\":20}\n",
	       CONVERTER, runs, bad, sb[runs / 2] / 1e6, sb[runs * 9 / 10] / 1e6, fe[runs / 2] / 1e6,
	       fe[runs * 9 / 10] / 1e6);
	free(sb);
	free(fe);
	return bad ? 1 : 0;
}
