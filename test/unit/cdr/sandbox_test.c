/* test/unit/cdr/sandbox_test.c: cdr_sandbox_run against cdr-hostile, a
 * converter that attacks its sandbox.  Each attack must be stopped with the
 * right reason; the copy mode must work.  argv[1] is cdr-hostile's path.
 * Needs bubblewrap and either root or unprivileged user namespaces; skips
 * (77) when bwrap is missing.  As root it also plants a file under
 * /etc/sekisho (removed afterwards) that must stay invisible.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitizer/cdr/cdr_sandbox.h"
#include "test/check.h"

static const char *hostile;

struct run {
	int rc;
	struct cdr_sandbox_result res;
	char out[8192]; /* start of the output, NUL-terminated */
	char why[256];
};

static void run(struct run *r, const char *const args[], const char *input, const struct cdr_sandbox_limits *lim)
{
	const char *argv[16] = {hostile};
	int in = memfd_create("in", MFD_CLOEXEC), out = memfd_create("out", MFD_CLOEXEC);
	ssize_t n;

	REQUIRE(in >= 0 && out >= 0);
	for (int i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	REQUIRE(write(in, input, strlen(input)) == (ssize_t)strlen(input));
	REQUIRE(lseek(in, 0, SEEK_SET) == 0);
	memset(r, 0, sizeof(*r));
	r->rc = cdr_sandbox_run(argv, in, out, lim, NULL, &r->res, r->why, sizeof(r->why));
	n = pread(out, r->out, sizeof(r->out) - 1, 0);
	r->out[n > 0 ? n : 0] = '\0';
	close(in);
	close(out);
	if (r->rc != 0 || strcmp(r->res.reason, "ok") != 0)
		fprintf(stderr, "  %s: rc %d reason %s exit %d sig %d rss %llu KiB why '%s' err '%s'\n", args[0], r->rc,
			r->res.reason, r->res.exit_status, r->res.signal, (unsigned long long)r->res.maxrss_kib, r->why,
			r->res.err);
}

static void check_no_escape(const struct run *r, const char *mode)
{
	CHECK(strstr(r->out, "ESCAPED") == NULL, "%s: %s", mode, r->out);
}

static struct cdr_sandbox_limits small(void)
{
	struct cdr_sandbox_limits lim;

	cdr_sandbox_limits_default(&lim);
	lim.as_bytes = 256ull << 20;
	lim.timeout_ms = 10000;
	lim.cpu_s = 5;
	lim.nproc = 16;
	return lim;
}

static void test_copy(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;
	const char *input = "SEKISHO-KEEP-sandbox copy\n日本語\n";

	run(&r, (const char *[]){"copy", NULL}, input, &lim);
	CHECK(r.rc == 0);
	CHECK_STR(r.res.reason, "ok");
	CHECK_STR(r.out, input);
	CHECK_EQ_U(r.res.out_bytes, strlen(input));
	CHECK(r.res.exit_status == 0);
}

static void test_net(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;

	run(&r, (const char *[]){"net", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "ok");
	check_no_escape(&r, "net");
	CHECK(strstr(r.out, "blocked socket-inet EAFNOSUPPORT") != NULL, "%s", r.out);
	CHECK(strstr(r.out, "blocked socket-inet6 EAFNOSUPPORT") != NULL, "%s", r.out);
	CHECK(strstr(r.out, "blocked socket-netlink EAFNOSUPPORT") != NULL, "%s", r.out);
}

static void test_write(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;

	run(&r, (const char *[]){"write", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "ok");
	check_no_escape(&r, "write");
	CHECK(strstr(r.out, "blocked write stdin EBADF") != NULL, "%s", r.out);
	CHECK(strstr(r.out, "tmp writable") != NULL, "%s", r.out);
	CHECK(access("/usr/cdr-hostile", F_OK) < 0 && access("/etc/cdr-hostile", F_OK) < 0);
}

/* a secret under /etc/sekisho (root only) and one in the caller's /tmp */
static void test_read(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;
	char dir[] = "/tmp/cdr-sandbox-test-XXXXXX", secret[128], etc[128] = "/etc/sekisho/cdr-sandbox-test-secret";
	int made_etc = 0, fd;

	REQUIRE(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	fd = open(secret, O_WRONLY | O_CREAT, 0644);
	REQUIRE(fd >= 0);
	close(fd);
	if (geteuid() == 0) {
		made_etc = mkdir("/etc/sekisho", 0755) == 0;
		fd = open(etc, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0)
			close(fd);
		else
			etc[0] = '\0';
	}
	run(&r,
	    (const char *[]){"read", secret, etc[0] ? etc : "/etc/sekisho", "/etc/passwd", "/etc/shadow", "/var/lib",
			     "/root", "/home", "/work", NULL},
	    "", &lim);
	CHECK_STR(r.res.reason, "ok");
	check_no_escape(&r, "read");
	CHECK(strstr(r.out, "blocked read /etc/passwd ENOENT") != NULL, "%s", r.out);
	if (etc[0])
		unlink(etc);
	if (made_etc)
		rmdir("/etc/sekisho");
	unlink(secret);
	rmdir(dir);
}

/* the seccomp filter answers before the kernel looks at the arguments */
static void test_syscalls(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;
	static const char *const want[] = {
		"blocked unshare-user EPERM",    "blocked unshare-net EPERM", "blocked ptrace EPERM",
		"blocked mount EPERM",           "blocked bpf EPERM",         "blocked keyctl EPERM",
		"blocked perf_event_open EPERM", "blocked userfaultfd EPERM", "blocked io_uring_setup EPERM",
		"blocked clone3 ENOSYS"};

	run(&r, (const char *[]){"syscalls", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "ok");
	check_no_escape(&r, "syscalls");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(strstr(r.out, want[i]) != NULL, "%s not in %s", want[i], r.out);
}

/* the tmpfs is capped as a whole and each file by RLIMIT_FSIZE */
static void test_fill(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;

	lim.tmpfs_bytes = 8 << 20;
	lim.fsize_bytes = 3 << 20;
	run(&r, (const char *[]){"fill", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "ok");
	CHECK(strstr(r.out, "fill0 EFBIG total 3\n") != NULL, "%s", r.out);
	CHECK(strstr(r.out, "fill1 EFBIG total 6\n") != NULL, "%s", r.out);
	CHECK(strstr(r.out, "fill2 ENOSPC total 8\n") != NULL, "%s", r.out);
}

/* a path the caller names is there, read-only */
static void test_ro_paths(void)
{
	struct cdr_sandbox_limits lim = small();
	struct cdr_sandbox_result res;
	char dir[] = "/tmp/cdr-sandbox-test-XXXXXX", file[128], why[256], out_text[512] = "";
	const char *const ro[] = {dir, "/no/such/path", NULL};
	struct cdr_sandbox_opts opts = {.ro_paths = ro};
	const char *argv[] = {hostile, "read", file, NULL};
	int in = memfd_create("in", MFD_CLOEXEC), out = memfd_create("out", MFD_CLOEXEC), fd;
	ssize_t n;

	REQUIRE(mkdtemp(dir) && in >= 0 && out >= 0);
	chmod(dir, 0755);
	snprintf(file, sizeof(file), "%s/visible", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0644);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK(cdr_sandbox_run(argv, in, out, &lim, &opts, &res, why, sizeof(why)) == 0, "%s", why);
	CHECK_STR(res.reason, "ok");
	n = pread(out, out_text, sizeof(out_text) - 1, 0);
	out_text[n > 0 ? n : 0] = '\0';
	/* the converter "escapes" into what it was given, and only that */
	CHECK(strstr(out_text, "ESCAPED read") != NULL, "%s", out_text);
	const char *relative[] = {"tmp", NULL};
	opts.ro_paths = relative;
	CHECK(cdr_sandbox_run(argv, in, out, &lim, &opts, &res, why, sizeof(why)) == -EINVAL);
	unlink(file);
	rmdir(dir);
	close(in);
	close(out);
}

/* an fd the caller holds open (no O_CLOEXEC) is not the converter's */
static void test_fds(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;
	int fd = open("/etc/hostname", O_RDONLY), fd2 = dup2(fd, 40);

	REQUIRE(fd >= 0 && fd2 == 40);
	run(&r, (const char *[]){"fds", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "ok");
	check_no_escape(&r, "fds");
	CHECK(strstr(r.out, "fds checked, 0 extra") != NULL, "%s", r.out);
	close(fd);
	close(fd2);
}

static void test_fork(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;
	unsigned long n = 0;
	const char *p;

	lim.nproc = 8;
	lim.timeout_ms = 3000;
	run(&r, (const char *[]){"fork", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "timeout");
	p = strstr(r.out, "blocked fork after ");
	CHECK(p != NULL, "%s", r.out);
	if (p)
		n = strtoul(p + strlen("blocked fork after "), NULL, 10);
	CHECK(n <= lim.nproc, "forked %lu > nproc %u", n, lim.nproc);
	CHECK(strstr(r.out, "EAGAIN") != NULL, "%s", r.out);
}

/* the converters' own second filter: no fork, no exec, threads allowed */
static void test_lockdown(void)
{
	struct run r;
	struct cdr_sandbox_limits lim = small();
	run(&r, (const char *[]){"lockdown", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "ok");
	CHECK(strstr(r.out, "lockdown 0\n") != NULL, "%s", r.out);
	CHECK(strstr(r.out, "fork Operation not permitted") != NULL, "%s", r.out);
	CHECK(strstr(r.out, "exec Operation not permitted") != NULL, "%s", r.out);
	CHECK(strstr(r.out, "thread allowed") != NULL, "%s", r.out);
}

static void test_alloc(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;

	lim.as_bytes = 128ull << 20;
	run(&r, (const char *[]){"alloc", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "memory");
	CHECK(strstr(r.out, "blocked alloc after") != NULL, "%s", r.out);
	CHECK(r.res.maxrss_kib * 1024 <= lim.as_bytes);
}

static void test_cpu(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;

	/* one CPU second can take many wall seconds on a loaded machine */
	lim.cpu_s = 1;
	lim.timeout_ms = 60000;
	run(&r, (const char *[]){"forever", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "cpu");
	CHECK(r.res.signal == SIGXCPU || r.res.signal == SIGKILL, "signal %d", r.res.signal);
}

static void test_timeout(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;

	lim.timeout_ms = 300;
	run(&r, (const char *[]){"sleep", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "timeout");
	CHECK(r.res.wall_ms >= 300 && r.res.wall_ms < 5000, "wall %llu ms", (unsigned long long)r.res.wall_ms);
}

static void test_flood(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;

	lim.out_max = 1 << 20;
	run(&r, (const char *[]){"flood", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "output-cap");
	CHECK(r.res.out_bytes <= lim.out_max);
}

/* fail closed: a converter that exits non-zero, and one that cannot start */
static void test_failures(void)
{
	struct cdr_sandbox_limits lim = small();
	struct run r;
	const char *missing[] = {"/usr/lib/sekisho/no-such-converter", NULL};
	char why[256] = "";
	struct cdr_sandbox_result res;
	int in = memfd_create("in", MFD_CLOEXEC), out = memfd_create("out", MFD_CLOEXEC);

	run(&r, (const char *[]){"no-such-mode", NULL}, "", &lim);
	CHECK_STR(r.res.reason, "exit-status");
	CHECK(r.res.exit_status == 2);
	CHECK(cdr_sandbox_run(missing, in, out, &lim, NULL, &res, why, sizeof(why)) == 0);
	CHECK_STR(res.reason, "sandbox-setup");
	CHECK(strstr(why, "no-such-converter") != NULL, "%s", why);
	missing[0] = "/nonexistent/no-such-converter"; /* bound from outside /usr */
	CHECK(cdr_sandbox_run(missing, in, out, &lim, NULL, &res, why, sizeof(why)) == 0);
	CHECK_STR(res.reason, "sandbox-setup");
	const char *relative[] = {"cdr-hostile", NULL};
	CHECK(cdr_sandbox_run(relative, in, out, &lim, NULL, &res, why, sizeof(why)) == -EINVAL);
	CHECK(strcmp(res.reason, "ok") != 0);
	close(in);
	close(out);
}

/* opts.err_fd: the whole stderr (a converter's line report) reaches the
 * caller, the start still lands in res.err, and err_max is a cap like
 * out_max: one byte more and the run is killed */
static void test_stderr(void)
{
	struct cdr_sandbox_limits lim = small();
	const char *argv[] = {"/usr/bin/sh", "-c",
			      "i=0; while [ $i -lt 2000 ]; do echo \"removed item-$i\" >&2; "
			      "i=$((i+1)); done; echo out",
			      NULL};
	struct cdr_sandbox_opts opts = {.err_max = 1 << 20};
	struct cdr_sandbox_result res;
	char why[256], line[64];
	uint8_t buf[65536];
	int in = memfd_create("in", MFD_CLOEXEC), out = memfd_create("out", MFD_CLOEXEC);
	ssize_t n;

	REQUIRE(in >= 0 && out >= 0);
	opts.err_fd = memfd_create("err", MFD_CLOEXEC);
	REQUIRE(opts.err_fd >= 0);
	CHECK(cdr_sandbox_run(argv, in, out, &lim, &opts, &res, why, sizeof(why)) == 0, "%s", why);
	CHECK_STR(res.reason, "ok");
	n = pread(opts.err_fd, buf, sizeof(buf) - 1, 0);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(n >= 30 && memcmp(buf, "removed item-0\nremoved item-1\n", 30) == 0);
	snprintf(line, sizeof(line), "removed item-1999\n");
	CHECK(n > 0 && (size_t)n > strlen(line) && strcmp((char *)buf + n - strlen(line), line) == 0);
	CHECK(strncmp(res.err, "removed item-0\n", 15) == 0);
	CHECK_EQ_U(strlen(res.err), sizeof(res.err) - 1);
	close(opts.err_fd);

	/* over the cap: killed, however far the converter got */
	opts.err_fd = memfd_create("err", MFD_CLOEXEC);
	opts.err_max = 1000;
	REQUIRE(opts.err_fd >= 0);
	CHECK(cdr_sandbox_run(argv, in, out, &lim, &opts, &res, why, sizeof(why)) == 0, "%s", why);
	CHECK_STR(res.reason, "output-cap");
	CHECK(lseek(opts.err_fd, 0, SEEK_END) <= 1000);
	close(opts.err_fd);
	close(in);
	close(out);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2 || (argc == 3 && strcmp(argv[2], "--unprivileged") == 0));
	hostile = realpath(argv[1], NULL); /* meson passes it relative */
	REQUIRE(hostile);
	/* the worker's case: a service user, through an unprivileged user
	 * namespace (run as root, the test drops to nobody first) */
	if (argc == 3 && geteuid() == 0)
		REQUIRE(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
			setresuid(65534, 65534, 65534) == 0);
	if (access(CDR_SANDBOX_BWRAP, X_OK) < 0) {
		fprintf(stderr, "skip: %s missing (apt-get install bubblewrap)\n", CDR_SANDBOX_BWRAP);
		return 77;
	}
	test_copy();
	test_net();
	test_write();
	test_read();
	test_syscalls();
	test_fill();
	test_ro_paths();
	test_fds();
	test_fork();
	test_alloc();
	test_lockdown();
	test_cpu();
	test_timeout();
	test_flood();
	test_failures();
	test_stderr();
	free((void *)(uintptr_t)hostile);
	return check_done();
}
