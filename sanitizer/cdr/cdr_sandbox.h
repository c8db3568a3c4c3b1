/* sanitizer/cdr/cdr_sandbox.h: run one converter program on attacker bytes in
 * a throw-away sandbox (bubblewrap + a seccomp deny-list + rlimits + a
 * wall-clock kill) and hand back only its standard output, capped.
 *
 * Ownership: the caller owns every fd and string it passes; nothing is kept
 * after cdr_sandbox_run() returns.  in_fd is reopened read-only for the
 * converter (its stdin); what the converter writes on its stdout is copied to
 * out_fd (a memfd, pipe or file the caller reads afterwards) up to out_max
 * bytes.  The converter sees no other fd of the caller.  When out_fd is a
 * pipe, the caller ignores SIGPIPE (a library does not change signal
 * dispositions); a failed write is then an error like any other.
 * The caller must not have SIGCHLD set to SIG_IGN (the launcher waits for
 * its own child).
 *
 * Failure: fail closed.  Only ret->reason == "ok" (converter exited 0 within
 * every limit) means the output may be used; anything else means "no copy",
 * with a short English reason key for the staff report.  See docs/cdr.md.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* bubblewrap, from the Debian package "bubblewrap" */
#define CDR_SANDBOX_BWRAP "/usr/bin/bwrap"
/* the uid/gid a root caller drops to before the sandbox is built */
#define CDR_SANDBOX_NOBODY 65534

struct cdr_sandbox_limits {
	uint64_t as_bytes;    /* RLIMIT_AS of every process inside; 0: none */
	unsigned cpu_s;       /* RLIMIT_CPU (soft; SIGKILL one second later) */
	uint64_t fsize_bytes; /* RLIMIT_FSIZE: largest file written in the tmpfs */
	uint64_t tmpfs_bytes; /* size of the one writable place, /tmp */
	unsigned nproc;       /* processes the converter may fork (bwrap and itself added) */
	unsigned nofile;      /* RLIMIT_NOFILE */
	unsigned timeout_ms;  /* wall clock, start to exit; the caller scales it */
	uint64_t out_max;     /* bytes of output; one more and the run is killed */
};

/* conservative defaults for one small file (512 MiB, 30 s CPU, 60 s wall) */
void cdr_sandbox_limits_default(struct cdr_sandbox_limits *ret_lim);

struct cdr_sandbox_opts {
	/* extra read-only paths the converter needs (each bound at the same
	 * place; missing ones are skipped), NULL-terminated, may be NULL */
	const char *const *ro_paths;
	/* uid/gid the sandbox runs as when the caller is root (0 means
	 * CDR_SANDBOX_NOBODY); ignored for an unprivileged caller, which keeps
	 * its own uid through an unprivileged user namespace */
	uid_t uid;
	gid_t gid;
	/* when err_max > 0, the converter's whole stderr (its line report) is
	 * also copied to err_fd; one byte past err_max kills the run with
	 * "output-cap", like the output */
	int err_fd;
	uint64_t err_max;
};

struct cdr_sandbox_result {
	const char *reason; /* static key: "ok", "timeout", "memory", "cpu", "output-cap",
			       "exit-status", "signal", "sandbox-setup" */
	int exit_status;    /* converter's exit status, or -1 */
	int signal;         /* converter's terminating signal, or 0 */
	uint64_t out_bytes; /* bytes copied to out_fd (at most out_max) */
	uint64_t wall_ms;
	uint64_t maxrss_kib; /* peak RSS of the largest process inside */
	char err[256];       /* start of the converter's stderr, NUL-terminated */
};

/* Run argv (argv[0] an absolute path; a program outside /usr is bound
 * read-only into the sandbox) with stdin = in_fd, stdout = out_fd (capped),
 * under lim.  Returns 0 when the run was carried out (ret->reason then says
 * whether its output may be used), or -errno when the sandbox could not be
 * started or watched (why says what); both mean "no copy" unless ret->reason
 * is "ok". */
int cdr_sandbox_run(const char *const argv[], int in_fd, int out_fd, const struct cdr_sandbox_limits *lim,
		    const struct cdr_sandbox_opts *opts, struct cdr_sandbox_result *ret, char *why, size_t whylen);

/* Before the first job (the worker's start, `sekisho-cdr --check`): bwrap
 * is installed and neither setuid nor setgid, user namespaces are enabled,
 * and /usr/bin/true runs through the whole sandbox to "ok" with opts (NULL:
 * defaults).  0, or -errno with what is wrong in why. */
int cdr_sandbox_check(const struct cdr_sandbox_opts *opts, char *why, size_t whylen);
