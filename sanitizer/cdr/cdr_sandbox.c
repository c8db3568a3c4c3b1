/* sanitizer/cdr/cdr_sandbox.c: the CDR launcher.  One call runs one converter
 * in a new bubblewrap sandbox: new user, pid, net, ipc, uts, mount and cgroup
 * namespaces; a read-only /usr (plus what the caller names), a private size-
 * capped tmpfs as the only writable place; no capabilities, no new privileges,
 * no further user namespaces; a seccomp deny-list (built here with libseccomp,
 * loaded by bwrap just before exec); rlimits; a wall-clock SIGKILL of the
 * whole sandbox.  A root caller drops to an unprivileged uid first, so that
 * RLIMIT_NPROC counts and root's privileges never reach the sandbox.
 *
 * Ownership: nothing outlives the call; every fd opened here is closed.
 * Failure: -errno plus why when the sandbox cannot be set up or watched;
 * otherwise ret->reason is "ok" only for a clean exit within every limit.
 * Never logs.
 */
#include "sanitizer/cdr/cdr_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "common/fdio.h"
#include "common/monotime.h"
#include "sanitizer/cdr/cdr_asan.h"

#define MAX_ARGS 128

void cdr_sandbox_limits_default(struct cdr_sandbox_limits *ret_lim)
{
	*ret_lim = (struct cdr_sandbox_limits){
		.as_bytes = 512ull << 20,
		.cpu_s = 30,
		.fsize_bytes = 256ull << 20,
		.tmpfs_bytes = 256ull << 20,
		.nproc = 32,
		.nofile = 64,
		.timeout_ms = 60000,
		.out_max = 256ull << 20,
	};
}

static void set_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Syscalls no converter needs and that widen the kernel surface: they fail
 * with EPERM.  A deny-list, not an allow-list: see docs/cdr.md. */
static const char *const denied[] = {
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"kcmp",
	"mount",
	"umount2",
	"pivot_root",
	"chroot",
	"move_mount",
	"open_tree",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"mount_setattr",
	"unshare",
	"setns",
	"keyctl",
	"add_key",
	"request_key",
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"swapon",
	"swapoff",
	"reboot",
	"syslog",
	"acct",
	"quotactl",
	"open_by_handle_at",
	"name_to_handle_at",
	"fanotify_init",
	"lookup_dcookie",
	"iopl",
	"ioperm",
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"adjtimex",
	"vhangup",
	"uselib",
	"personality",
	"pidfd_getfd",
	"mbind",
	"migrate_pages",
	"move_pages",
	"set_mempolicy",
};

/* the filter as BPF in a memfd, for bwrap --seccomp */
static int seccomp_memfd(char *why, size_t whylen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	const struct scmp_arg_cmp not_unix = {.arg = 0, .op = SCMP_CMP_NE, .datum_a = AF_UNIX, .datum_b = 0};
	const struct scmp_arg_cmp new_user = {
		.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_NEWUSER, .datum_b = CLONE_NEWUSER};
	int fd = -1, r = 0;

	if (!ctx) {
		set_why(why, whylen, "seccomp_init failed");
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]) && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* sockets: AF_UNIX only (the net namespace has no route anyway) */
	if (r == 0)
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, &not_unix);
	/* no new namespaces through clone; clone3's flags are behind a
	 * pointer, so clone3 says ENOSYS and glibc falls back to clone */
	if (r == 0)
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, &new_user);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0) {
		fd = memfd_create("cdr-seccomp", MFD_CLOEXEC);
		if (fd < 0)
			r = -errno;
	}
	if (r == 0)
		r = seccomp_export_bpf(ctx, fd);
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = -errno;
	seccomp_release(ctx);
	if (r != 0) {
		if (fd >= 0)
			close(fd);
		set_why(why, whylen, "seccomp filter: %s", strerror(-r));
		return r < 0 ? r : -EINVAL;
	}
	return fd;
}

struct argvec {
	const char *v[MAX_ARGS];
	int n;
	char nums[4][32];
	char fixed[512];
};

static void add(struct argvec *a, const char *s)
{
	if (a->n < MAX_ARGS - 1)
		a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/* /lib, /bin, ...: a symlink into /usr on Debian 12 (merged /usr), a
 * read-only bind otherwise */
static void add_root_link(struct argvec *a, const char *path, char *buf, size_t buflen)
{
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, buf, buflen - 1);
		if (n <= 0)
			return;
		buf[n] = '\0';
		add(a, "--symlink");
		add(a, buf);
		add(a, path);
	} else if (S_ISDIR(st.st_mode)) {
		add(a, "--ro-bind");
		add(a, path);
		add(a, path);
	}
}

static const char *const root_links[] = {"/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"};
static const char *const etc_files[] = {"/etc/ld.so.cache", "/etc/fonts", "/etc/localtime"};

/* the bwrap command line; exe_in is where argv[0] is seen inside */
static int build_args(struct argvec *a, char links[][256], char *exe_in, size_t exe_inlen, const char *const argv[],
		      const struct cdr_sandbox_limits *lim, const struct cdr_sandbox_opts *opts)
{
	/* every run the same; no argument has a space */
	static const char fixed[] = "--unshare-user --unshare-pid --unshare-net --unshare-ipc --unshare-uts "
				    "--unshare-cgroup-try --as-pid-1 --disable-userns --die-with-parent --new-session "
				    "--cap-drop ALL --clearenv --setenv PATH /usr/bin:/bin --setenv HOME /tmp "
				    "--setenv LANG C.UTF-8 --hostname cdr --ro-bind /usr /usr --proc /proc --dev /dev";
	char *save = NULL;
	const char *base;

	a->n = 0;
	add(a, CDR_SANDBOX_BWRAP);
	snprintf(a->fixed, sizeof(a->fixed), "%s", fixed);
	for (char *w = strtok_r(a->fixed, " ", &save); w; w = strtok_r(NULL, " ", &save))
		add(a, w);
#if CDR_ASAN
	/* after --clearenv; test builds: converters built with LeakSanitizer would need ptrace,
	 * which the filter refuses; their leaks are checked outside (the
	 * converters' own tests) */
	add(a, "--setenv");
	add(a, "ASAN_OPTIONS");
	add(a, "detect_leaks=0");
#endif
	for (size_t i = 0; i < sizeof(root_links) / sizeof(root_links[0]); i++)
		add_root_link(a, root_links[i], links[i], 256);
	for (size_t i = 0; i < sizeof(etc_files) / sizeof(etc_files[0]); i++) {
		add(a, "--ro-bind-try");
		add(a, etc_files[i]);
		add(a, etc_files[i]);
	}
	snprintf(a->nums[0], sizeof(a->nums[0]), "%llu", (unsigned long long)lim->tmpfs_bytes);
	add(a, "--size");
	add(a, a->nums[0]);
	add(a, "--tmpfs");
	add(a, "/tmp");
	/* after the tmpfs, so that a path under /tmp is not hidden by it */
	for (size_t i = 0; opts && opts->ro_paths && opts->ro_paths[i]; i++) {
		if (opts->ro_paths[i][0] != '/')
			return -EINVAL;
		add(a, "--ro-bind-try");
		add(a, opts->ro_paths[i]);
		add(a, opts->ro_paths[i]);
	}
	add(a, "--chdir");
	add(a, "/tmp");
	add(a, "--seccomp");
	add(a, "3");
	add(a, "--json-status-fd");
	add(a, "4");
	if (strncmp(argv[0], "/usr/", 5) == 0) {
		snprintf(exe_in, exe_inlen, "%s", argv[0]);
	} else {
		base = strrchr(argv[0], '/');
		snprintf(exe_in, exe_inlen, "/run/cdr/%s", base + 1);
		add(a, "--ro-bind");
		add(a, argv[0]);
		add(a, exe_in);
	}
	/* bwrap's root and its /dev are tmpfs of its own, without a size
	 * cap: read-only once built, so that /tmp stays the one writable place */
	add(a, "--remount-ro");
	add(a, "/dev");
	add(a, "--remount-ro");
	add(a, "/");
	add(a, "--");
	add(a, exe_in);
	for (size_t i = 1; argv[i]; i++)
		add(a, argv[i]);
	return a->n >= MAX_ARGS - 1 ? -E2BIG : 0;
}

static void set_limit(int res, uint64_t soft, uint64_t hard)
{
	struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};

	if (setrlimit(res, &rl) < 0)
		_exit(125);
}

/* in the forked child: fds 0..4, rlimits, drop root, exec bwrap; never
 * returns.  Exit 125 tells the parent the sandbox could not be started. */
static void child(const int src[5], const char *const *args, const struct cdr_sandbox_limits *lim,
		  const struct cdr_sandbox_opts *opts, uid_t euid)
{
	int high[5];
	static char *const empty_env[] = {NULL};

	setpgid(0, 0);
	for (int i = 0; i < 5; i++)
		if ((high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 16)) < 0)
			_exit(125);
	for (int i = 0; i < 5; i++)
		if (dup2(high[i], i) < 0)
			_exit(125);
	if (syscall(SYS_close_range, 5u, ~0u, 0u) < 0)
		_exit(125);
	/* bwrap (its monitor stays outside the pid namespace) counts too; one spare */
	set_limit(RLIMIT_NPROC, lim->nproc + 2, lim->nproc + 2);
	/* 0: none (AddressSanitizer builds of the converters need terabytes of shadow) */
	set_limit(RLIMIT_AS, lim->as_bytes ? lim->as_bytes : RLIM_INFINITY,
		  lim->as_bytes ? lim->as_bytes : RLIM_INFINITY);
	set_limit(RLIMIT_CPU, lim->cpu_s, lim->cpu_s + 1);
	set_limit(RLIMIT_FSIZE, lim->fsize_bytes, lim->fsize_bytes);
	set_limit(RLIMIT_NOFILE, lim->nofile, lim->nofile);
	set_limit(RLIMIT_CORE, 0, 0);
	set_limit(RLIMIT_MEMLOCK, 0, 0);
	if (euid == 0) {
		uid_t uid = opts && opts->uid ? opts->uid : CDR_SANDBOX_NOBODY;
		gid_t gid = opts && opts->gid ? opts->gid : CDR_SANDBOX_NOBODY;
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(125);
		if (getuid() == 0 || geteuid() == 0)
			_exit(125);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(125);
	char *const *v;
	memcpy(&v, &args, sizeof(v)); /* execve's argv type predates const */
	execve(args[0], v, empty_env);
	_exit(125);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* what bwrap's --json-status-fd said: "child-pid" once the converter was
 * started (the sandbox was built), "exit-code" at the end */
static int status_field(const char *status, const char *key, int *ret)
{
	const char *p = strstr(status, key);

	if (!p)
		return 0;
	p += strlen(key);
	while (*p == '"' || *p == ':' || *p == ' ')
		p++;
	*ret = atoi(p);
	return 1;
}

static void classify(struct cdr_sandbox_result *ret, const char *status, int wstatus, const struct rusage *ru,
		     const struct cdr_sandbox_limits *lim)
{
	int code = -1, pid;
	uint64_t cpu_ms = (uint64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000 +
		(uint64_t)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000;

	ret->maxrss_kib = (uint64_t)ru->ru_maxrss;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 125 && !status_field(status, "child-pid", &pid)) {
		ret->reason = "sandbox-setup";
		return;
	}
	if (!status_field(status, "child-pid", &pid)) {
		ret->reason = "sandbox-setup";
		return;
	}
	if (!status_field(status, "exit-code", &code))
		code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	/* bwrap reports a converter killed by signal S as 128 + S */
	if (code > 128) {
		ret->signal = code - 128;
		ret->exit_status = -1;
	} else {
		ret->exit_status = code;
	}
	if (code == 0) {
		ret->reason = "ok";
		return;
	}
	/* bwrap announces the child before it builds the mounts; a failure
	 * there is its own message (a converter could fake one: it still
	 * fails closed) */
	if (code == 1 && strncmp(ret->err, "bwrap: ", 7) == 0) {
		ret->reason = "sandbox-setup";
		return;
	}
	if (ret->signal == SIGXCPU || cpu_ms >= (uint64_t)lim->cpu_s * 1000)
		ret->reason = "cpu";
	else if (lim->as_bytes && ret->maxrss_kib * 1024 >= lim->as_bytes / 2)
		ret->reason = "memory";
	else
		ret->reason = ret->signal ? "signal" : "exit-status";
}

int cdr_sandbox_run(const char *const argv[], int in_fd, int out_fd, const struct cdr_sandbox_limits *lim,
		    const struct cdr_sandbox_opts *opts, struct cdr_sandbox_result *ret, char *why, size_t whylen)
{
	struct argvec a;
	char links[sizeof(root_links) / sizeof(root_links[0])][256], exe_in[4096], path[64];
	char status[1024] = "", buf[65536];
	size_t status_len = 0, err_len = 0;
	uint64_t err_total = 0;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, stp[2] = {-1, -1};
	int sec = -1, in = -1, pidfd = -1, r = 0, wstatus = 0, exited = 0;
	const char *killed = NULL;
	struct rusage ru = {0};
	pid_t pid;
	int64_t start = monotime_ms(), deadline;

	*ret = (struct cdr_sandbox_result){.reason = "sandbox-setup", .exit_status = -1};
	if (!argv || !argv[0] || argv[0][0] != '/' || !lim) {
		set_why(why, whylen, "converter must be an absolute path");
		return -EINVAL;
	}
	r = build_args(&a, links, exe_in, sizeof(exe_in), argv, lim, opts);
	if (r < 0) {
		set_why(why, whylen, "bad converter arguments or paths");
		return r;
	}
	/* the converter gets its own read-only open file description */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", in_fd);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		r = -errno;
		set_why(why, whylen, "reopen input read-only: %s", strerror(errno));
		return r;
	}
	sec = seccomp_memfd(why, whylen);
	if (sec < 0) {
		close(in);
		return sec;
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(stp, O_CLOEXEC) < 0) {
		r = -errno;
		set_why(why, whylen, "pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		set_why(why, whylen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int src[5] = {in, outp[1], errp[1], sec, stp[1]};
		child(src, a.v, lim, opts, geteuid());
	}
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	close_fd(&stp[1]);
	close_fd(&in);
	close_fd(&sec);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		r = -errno;
		set_why(why, whylen, "pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	deadline = start + lim->timeout_ms;
	/* copy stdout (capped), keep the start of stderr and the status, until
	 * bwrap has exited and every pipe is at EOF, or a limit is hit */
	while (!killed && (!exited || outp[0] >= 0 || errp[0] >= 0 || stp[0] >= 0)) {
		struct pollfd pf[4] = {{outp[0], POLLIN, 0},
				       {errp[0], POLLIN, 0},
				       {stp[0], POLLIN, 0},
				       {exited ? -1 : pidfd, POLLIN, 0}};
		int64_t left = deadline - monotime_ms();
		if (left <= 0) {
			killed = "timeout";
			break;
		}
		if (poll(pf, 4, (int)(left > 1000 ? 1000 : left)) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			set_why(why, whylen, "poll: %s", strerror(errno));
			killed = "sandbox-setup";
			break;
		}
		if (pf[0].revents) {
			ssize_t n = read(outp[0], buf, sizeof(buf));
			if (n < 0 && errno == EINTR) {
				/* poll again */
			} else if (n < 0) {
				/* a short output must never pass as complete */
				r = -errno;
				set_why(why, whylen, "read output: %s", strerror(errno));
				killed = "sandbox-setup";
			} else if (n == 0) {
				close_fd(&outp[0]);
			} else if (ret->out_bytes + (uint64_t)n > lim->out_max) {
				killed = "output-cap";
			} else {
				ret->out_bytes += (uint64_t)n;
				int w = fdio_write_all(out_fd, buf, (size_t)n);
				if (w < 0) {
					r = w;
					set_why(why, whylen, "write output: %s", strerror(-w));
					killed = "sandbox-setup";
				}
			}
		}
		if (pf[1].revents) {
			ssize_t n = read(errp[0], buf, sizeof(buf));
			if (n <= 0) {
				close_fd(&errp[0]);
				continue;
			}
			if (opts && opts->err_max) {
				/* the whole report, capped like the output */
				int w = err_total + (uint64_t)n > opts->err_max
					? -EFBIG
					: fdio_write_all(opts->err_fd, buf, (size_t)n);
				err_total += (uint64_t)n;
				if (w == -EFBIG) {
					killed = "output-cap";
				} else if (w < 0) {
					r = w;
					set_why(why, whylen, "write report: %s", strerror(-w));
					killed = "sandbox-setup";
				}
			}
			if (err_len < sizeof(ret->err) - 1) {
				size_t k = (size_t)n < sizeof(ret->err) - 1 - err_len ? (size_t)n
										      : sizeof(ret->err) - 1 - err_len;
				memcpy(ret->err + err_len, buf, k);
				err_len += k;
			}
		}
		if (pf[2].revents) {
			ssize_t n = read(stp[0], buf, sizeof(buf));
			if (n <= 0) {
				close_fd(&stp[0]);
			} else {
				size_t k = (size_t)n < sizeof(status) - 1 - status_len
					? (size_t)n
					: sizeof(status) - 1 - status_len;
				memcpy(status + status_len, buf, k);
				status_len += k;
			}
		}
		if (pf[3].revents)
			exited = 1;
	}
	if (killed) {
		/* bwrap's session and, through its death, the whole pid namespace */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (wait4(pid, &wstatus, 0, &ru) < 0) {
		if (errno != EINTR) {
			r = -errno;
			set_why(why, whylen, "wait: %s", strerror(errno));
			break;
		}
	}
	ret->wall_ms = (uint64_t)(monotime_ms() - start);
	status[status_len] = '\0';
	if (killed) {
		ret->reason = killed;
		ret->maxrss_kib = (uint64_t)ru.ru_maxrss;
	} else if (r == 0) {
		classify(ret, status, wstatus, &ru, lim);
		if (strcmp(ret->reason, "sandbox-setup") == 0)
			set_why(why, whylen, "%.*s", (int)strcspn(ret->err, "\n"),
				ret->err[0] ? ret->err : "bwrap failed");
	}
out:
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&stp[0]);
	close_fd(&stp[1]);
	close_fd(&in);
	close_fd(&sec);
	close_fd(&pidfd);
	return r;
}

/* one line of a /proc/sys file as a number, or -1 when it is not there */
static long read_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int cdr_sandbox_check(const struct cdr_sandbox_opts *opts, char *why, size_t whylen)
{
	struct stat st;
	if (stat(CDR_SANDBOX_BWRAP, &st) < 0) {
		set_why(why, whylen, "%s: %s (install the package bubblewrap)", CDR_SANDBOX_BWRAP, strerror(errno));
		return -ENOENT;
	}
	/* a setuid bwrap runs with privileges the converter's filter and
	 * namespaces were not designed around; Debian's is not setuid */
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_ISUID | S_ISGID))) {
		set_why(why, whylen, "%s is setuid/setgid or not a regular file", CDR_SANDBOX_BWRAP);
		return -EPERM;
	}
	if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0 ||
	    read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0) {
		set_why(why, whylen,
			"user namespaces are disabled (user.max_user_namespaces or "
			"kernel.unprivileged_userns_clone is 0)");
		return -EPERM;
	}
	/* and the real thing: a trivial converter through the whole sandbox */
	struct cdr_sandbox_limits lim;
	struct cdr_sandbox_result res;
	cdr_sandbox_limits_default(&lim);
	lim.timeout_ms = 10000;
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC), out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in < 0 || out < 0) {
		int e = errno;
		if (in >= 0)
			close(in);
		set_why(why, whylen, "/dev/null: %s", strerror(e));
		return -e;
	}
	static const char *const argv[] = {"/usr/bin/true", NULL};
	int r = cdr_sandbox_run(argv, in, out, &lim, opts, &res, why, whylen);
	close(in);
	close(out);
	if (r == 0 && strcmp(res.reason, "ok") != 0) {
		set_why(why, whylen, "a trivial converter ended with %s: %.200s", res.reason, res.err);
		r = -EPERM;
	}
	return r;
}
