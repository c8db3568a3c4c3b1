/* test/unit/cdr/cdr-hostile.c: a test-only converter that attacks its
 * sandbox (test/unit/cdr/sandbox_test.c runs it through cdr_sandbox_run).
 * For every attempt it prints "blocked WHAT ERRNO" or "ESCAPED WHAT" on
 * stdout; the test fails on any ESCAPED line.  Built without sanitizers:
 * ASan's shadow memory cannot live under RLIMIT_AS.
 *
 * modes: copy | net | write | read PATH... | fds | syscalls | fill | fork | alloc | forever | sleep |
 *        flood
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanitizer/cdr/cdr_lockdown.h"

static void report(const char *what, int ok, int err)
{
	if (ok)
		printf("ESCAPED %s\n", what);
	else
		printf("blocked %s %s\n", what, strerrorname_np(err));
	fflush(stdout);
}

static int copy(void)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			return 1;
	return n < 0;
}

static void net(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
	int nl = socket(AF_NETLINK, SOCK_RAW, 0);

	report("socket-inet", fd >= 0, errno);
	report("socket-inet6", fd6 >= 0, errno);
	report("socket-netlink", nl >= 0, errno);
	inet_pton(AF_INET, "198.18.0.1", &sin.sin_addr);
	if (fd >= 0) {
		int ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		report("connect", ok, errno);
	}
}

static void try_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char what[256];

	snprintf(what, sizeof(what), "write %s", path);
	report(what, fd >= 0, errno);
	if (fd >= 0)
		unlink(path);
}

static void writes(void)
{
	int fd, ok;

	try_write("/cdr-hostile");
	try_write("/usr/cdr-hostile");
	try_write("/usr/lib/cdr-hostile");
	try_write("/etc/cdr-hostile");
	try_write("/var/tmp/cdr-hostile");
	try_write("/dev/cdr-hostile");
	try_write("/dev/shm/cdr-hostile");
	try_write("/run/cdr/cdr-hostile");
	try_write("/proc/sys/kernel/hostname");
	ok = write(0, "x", 1) == 1;
	report("write stdin", ok, errno);
	/* the one writable place works */
	fd = open("/tmp/scratch", O_WRONLY | O_CREAT, 0600);
	printf(fd >= 0 && write(fd, "ok", 2) == 2 ? "tmp writable\n" : "tmp NOT writable\n");
}

static void reads(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		char what[512];
		int fd = open(argv[i], O_RDONLY);
		snprintf(what, sizeof(what), "read %s", argv[i]);
		report(what, fd >= 0, errno);
	}
}

/* any fd besides 0, 1, 2 (and the one opendir uses) is a leak */
static void fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d) {
		printf("no /proc/self/fd\n");
		return;
	}
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		char what[64];
		if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
			continue;
		snprintf(what, sizeof(what), "fd %d", fd);
		report(what, 1, 0);
		n++;
	}
	closedir(d);
	printf("fds checked, %d extra\n", n);
}

/* what the seccomp filter and the namespaces refuse */
static void syscalls(void)
{
	int ok;

	ok = unshare(CLONE_NEWUSER) == 0;
	report("unshare-user", ok, errno);
	ok = unshare(CLONE_NEWNET) == 0;
	report("unshare-net", ok, errno);
	ok = ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0;
	report("ptrace", ok, errno);
	ok = mount("none", "/tmp", "tmpfs", 0, NULL) == 0;
	report("mount", ok, errno);
	ok = syscall(SYS_bpf, 0, NULL, 0) >= 0;
	report("bpf", ok, errno);
	ok = syscall(SYS_keyctl, 0, 0, 0, 0, 0) >= 0;
	report("keyctl", ok, errno);
	ok = syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0) >= 0;
	report("perf_event_open", ok, errno);
	ok = syscall(SYS_userfaultfd, 0) >= 0;
	report("userfaultfd", ok, errno);
	ok = syscall(SYS_io_uring_setup, 1, NULL) >= 0;
	report("io_uring_setup", ok, errno);
	ok = syscall(SYS_clone3, NULL, 0) >= 0;
	report("clone3", ok, errno);
}

/* fill /tmp with files until the tmpfs is full: each file stops at
 * RLIMIT_FSIZE (EFBIG: as pid 1 the converter never gets SIGXFSZ's default
 * action), the total at the tmpfs size */
static void fill(void)
{
	static char mib[1 << 20];
	unsigned long total = 0;

	for (int i = 0; i < 64; i++) {
		char path[64];
		int fd, err = 0;
		snprintf(path, sizeof(path), "/tmp/fill%d", i);
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		if (fd < 0) {
			report("fill open", 0, errno);
			break;
		}
		for (;;) {
			ssize_t n = write(fd, mib, sizeof(mib));
			if (n <= 0) {
				err = errno;
				break;
			}
			total += (unsigned long)n;
		}
		close(fd);
		printf("fill%d %s total %lu\n", i, strerrorname_np(err), total >> 20);
		if (err == ENOSPC)
			break;
	}
	fflush(stdout);
}

/* fork forever; say once when the kernel first refuses */
static void forks(void)
{
	unsigned long n = 0;
	int said = 0;

	for (;;) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p > 0) {
			n++;
		} else {
			if (!said)
				printf("blocked fork after %lu %s\n", n, strerrorname_np(errno));
			fflush(stdout);
			said = 1;
			usleep(1000); /* keep retrying, gently: the test machine is shared */
		}
	}
}

/* allocate and touch 1 MiB at a time until refused; the chain keeps the
 * compiler from eliding the allocations */
static void *volatile chain;

static int alloc(void)
{
	unsigned long mib = 0;

	for (;;) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("blocked alloc after %lu MiB\n", mib);
			return 3;
		}
		memset(p, 1, 1 << 20);
		*(void **)p = chain;
		chain = p;
		mib++;
	}
}

/* the converters' own lockdown: no new program, no new process, threads still fine */
static void *lockdown_thread(void *arg)
{
	return arg;
}

static int lockdown(void)
{
	int r = cdr_lockdown();
	printf("lockdown %d\n", r);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	printf("fork %s\n", pid < 0 ? strerror(errno) : "allowed");
	if (pid > 0)
		waitpid(pid, NULL, 0);
	static char *const av[] = {"/usr/bin/true", NULL};
	execv(av[0], av);
	printf("exec %s\n", strerror(errno));
	pthread_t t;
	int tr = pthread_create(&t, NULL, lockdown_thread, NULL);
	if (tr == 0)
		pthread_join(t, NULL);
	printf("thread %s\n", tr == 0 ? "allowed" : strerror(tr));
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "copy";
	static char junk[65536];

	if (strcmp(mode, "copy") == 0)
		return copy();
	if (strcmp(mode, "net") == 0)
		net();
	else if (strcmp(mode, "write") == 0)
		writes();
	else if (strcmp(mode, "read") == 0)
		reads(argc, argv);
	else if (strcmp(mode, "fds") == 0)
		fds();
	else if (strcmp(mode, "syscalls") == 0)
		syscalls();
	else if (strcmp(mode, "fill") == 0)
		fill();
	else if (strcmp(mode, "fork") == 0)
		forks();
	else if (strcmp(mode, "alloc") == 0)
		return alloc();
	else if (strcmp(mode, "lockdown") == 0)
		return lockdown();
	else if (strcmp(mode, "forever") == 0) {
		for (;;)
			;
	} else if (strcmp(mode, "flood") == 0) {
		for (;;)
			if (write(1, junk, sizeof(junk)) < 0)
				return 1;
	} else if (strcmp(mode, "sleep") == 0) {
		for (;;)
			pause();
	} else {
		return 2;
	}
	return 0;
}
