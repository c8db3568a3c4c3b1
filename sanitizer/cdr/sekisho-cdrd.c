/* sekisho-cdrd: the CDR worker.  It takes jobs (one per quarantined
 * attachment) from the queue the milter fills, makes a safe copy of each
 * original with sekisho-cdr, stores the copy and its report beside the
 * original, and writes one file.sanitized audit record per job.
 *
 *   sekisho-cdrd --queue DIR --quarantine DIR --audit-dir DIR --audit-key FILE [OPTIONS]
 *
 * Each conversion is a sekisho-cdr process (in its own process group; it
 * runs the converters in the sandbox): a crash, a leak or a hang of one
 * conversion ends with that process, never with the worker, and its exit
 * status says which it was (0 copy, 1 no copy, anything else a failed
 * attempt).  N worker threads each wait for one such process.
 *
 * Output, in the copies directory (--copies, default <quarantine>/cdr/):
 * <sha256>.copy.<ext> and <sha256>.report.json (0640), each made visible by
 * rename after fsync (the CLI fsyncs into a per-job work directory
 * <copies>/.work/<job id>/, then the worker renames and fsyncs the
 * directory); the report last, so a report always has its copy.
 * A job leaves the queue only after its record is flushed to the audit
 * chain: kill -9 at any moment loses no job; the job is then done again on
 * restart (same names, same content), and at most its record is written
 * twice (same job id).  A job that fails max-attempts times ends "failed"
 * with a report.  Docs: docs/cdr.md, "Worker and queue".
 *
 * The portals (docs/portal.md, "The worker's portal duties"), all
 * optional: one more thread serves the portal's requests (release, notify:
 * cdr_duty.c; ppap: here, a conversion with the password on fd 3), takes
 * upload parcels from the inbox (cdr_duty.c), and retries follow-up mail;
 * a conversion thread sends a manifest's follow-up mail after its last
 * result.  A request file goes only when its request is done (a PPAP
 * password is then gone with it); an unreadable one is deleted.
 *
 * systemd (docs/operations.md, "Logs and watchdog"): READY=1 once the
 * sandbox's start-up check passed, the queues are open and the threads
 * run; STATUS= (jobs queued, running, done, failed) and WATCHDOG=1 from the
 * main loop, which wakes at least every second.  Every thread of ours
 * beats a heartbeat where it waits (a conversion is waited for in 250 ms
 * polls, and killed at its own --job-timeout, so no wait is longer); the
 * main loop pings only while every worker beat within half the watchdog
 * interval (a follow-up mail from a worker beats ahead by three SMTP
 * timeouts), and the portal thread within it plus three SMTP timeouts (its
 * mail and uploads may wait that long).  A stuck thread stops the pings, the main
 * loop says which at crit, and systemd restarts the worker (mail never
 * waits for it; the jobs wait in the queue).
 *
 * Exit: 0 after SIGTERM/SIGINT (running conversions finish within
 * --stop-timeout, or are killed and their jobs put back), 2 usage, setup or
 * failed start-up check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/audit/audit.h"
#include "common/fdio.h"
#include "common/i18n.h"
#include "common/jsonx.h"
#include "common/monotime.h"
#include "common/svc.h"
#include "common/version.h"
#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_dirq.h"
#include "sanitizer/cdr/cdr_duty.h"
#include "sanitizer/cdr/cdr_portal.h"
#include "sanitizer/cdr/cdr_queue.h"
#include "sanitizer/cdr/cdr_record.h"
#include "sanitizer/portal/ptl_link.h"

#define MAX_WORKERS 64
#define MAX_MODES 16
/* claims of one job beyond --max-attempts before it ends "failed": the
 * worker died while converting it that often.  Generous, because a kill
 * from outside (an operator, the OOM killer) counts the same as a crash
 * and hits the oldest job first, and a slow one (LibreOffice) again and
 * again (the cdr-worker test kills 25 times in about 10 s); a real crash
 * loop is stopped earlier by the unit's start limit (10 in 60 s). */
#define MAX_WORKER_DEATHS 50
/* the portal duties' pause after a failure of ours (ms) */
#define BACKOFF_MS 30000
/* the longest a worker yields to mail before it converts one file */
#define YIELD_MAX_MS 10000

static struct {
	const char *queue, *qdir, *adir, *akey, *cdr, *libexec;
	/* the portals (docs/portal.md): all optional */
	const char *copies, *pqueue, *releases, *inbox, *transfer, *links, *smtp, *mail_from, *portal_url;
	uint64_t follow_up_max, upload_max;
	unsigned link_ttl_s;
	const char *modes[MAX_MODES];
	size_t nmodes;
	unsigned workers, reserve_cores, job_timeout_s, max_attempts, queue_max, stop_timeout_s;
	const char *timeout; /* sekisho-cdr --timeout, or NULL for its default */
	unsigned yield_ms;   /* mail first: no new conversion within this of a new job */
	bool once, self_test;
} cf = {
	.cdr = SEKISHO_CDR_PATH,
	.libexec = SEKISHO_LIBEXECDIR,
	.job_timeout_s = 900,
	.max_attempts = 3,
	.stop_timeout_s = 20,
	.yield_ms = 250,
	.self_test = true,
	.smtp = "127.0.0.1:10026",
	.follow_up_max = (uint64_t)20 << 20,
	.upload_max = (uint64_t)1 << 30,
	.link_ttl_s = 7 * 86400,
};

static struct cdr_queue *queue;
static struct cdr_dirq *pqueue; /* the portal's requests, or NULL */
static struct cdr_duty duty = {.quarantine = -1, .copies = -1, .sent = -1, .transfer = -1, .inbox = -1, .releases = -1};
static pthread_t portal_th;
static bool portal_started;
static atomic_bool portal_idle = true; /* the last portal pass found nothing to do */
static struct audit_log *audit;
static int qdfd = -1, outdfd = -1, workdfd = -1, transferdfd = -1;
static atomic_bool stopping;
static atomic_llong stop_deadline_ms; /* monotonic; kill running conversions past it */
static atomic_uint busy;
static atomic_llong last_enqueue_ms; /* monotonic: the milter's last job (inotify on new/) */
static atomic_ulong n_ok, n_nocopy, n_failed, n_retry;
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
/* the watchdog's heartbeats (monotonic ms): one per worker thread, the
 * portal thread's last; each thread finds its own through my_beat */
static atomic_llong beats[MAX_WORKERS + 1];
static _Thread_local atomic_llong *my_beat;

#define PROG "sekisho-cdrd"

/* this thread is alive and not stuck (a no-op in the main thread) */
static void beat(void)
{
	if (my_beat)
		atomic_store(my_beat, monotime_ms());
}

/* the same before a call that may wait up to ms and beats nothing meanwhile
 * (a mail through SMTP, bounded by its timeout): a heartbeat ahead of now */
static void beat_ahead(long long ms)
{
	if (my_beat)
		atomic_store(my_beat, monotime_ms() + ms);
}

static void wake_all(void)
{
	pthread_mutex_lock(&wake_mu);
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&wake_mu);
}

/* Remove dir/name and what it holds (one level: a job's work directory). */
static void rm_work(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		DIR *d = fdopendir(fd);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)))
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
					unlinkat(fd, e->d_name, 0);
			closedir(d);
		} else {
			close(fd);
		}
	}
	unlinkat(dfd, name, AT_REMOVEDIR);
}

enum run_end { RUN_EXITED, RUN_SIGNALED, RUN_TIMEOUT, RUN_STOPPED, RUN_ERROR };

/* Run argv (the CLI) in its own process group with a clean signal state,
 * and wait for it: up to timeout_s, or until the stop deadline passes.
 * The group is killed on timeout or stop (the CLI's sandbox dies with it:
 * bubblewrap runs --die-with-parent).  fork, not posix_spawn: the child
 * asks for SIGKILL when this worker thread ends (PR_SET_PDEATHSIG), so a
 * kill -9 of the worker leaves no conversion running on its own. */
static enum run_end run_cli(const char *const argv[], const char *secret, unsigned timeout_s, int *ret_status)
{
	/* a secret (a PPAP password) reaches the CLI as fd 3, a pipe that
	 * holds it whole: never argv or the environment (/proc shows them) */
	int sp[2] = {-1, -1};
	if (secret) {
		size_t n = strlen(secret);
		if (n > 4096 || pipe2(sp, O_CLOEXEC) < 0 || write(sp[1], secret, n) != (ssize_t)n) {
			svc_log(SVC_ERR, PROG, _("cannot pass the password: %s"), strerror(errno));
			if (sp[0] >= 0) {
				close(sp[0]);
				close(sp[1]);
			}
			return RUN_ERROR;
		}
		close(sp[1]);
	}
	/* execv's argv is not const-qualified; it does not write it */
	union {
		const char *const *c;
		char *const *m;
	} av = {.c = argv};
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		svc_log(SVC_ERR, PROG, _("cannot run %s: %s"), argv[0], strerror(errno));
		if (sp[0] >= 0)
			close(sp[0]);
		return RUN_ERROR;
	}
	if (pid == 0) {
		/* async-signal-safe calls only (a threaded parent) */
		sigset_t none;
		sigemptyset(&none);
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* dup2 clears close-on-exec; the same fd number needs fcntl */
		if (sp[0] >= 0 && (sp[0] == 3 ? fcntl(3, F_SETFD, 0) : dup2(sp[0], 3)) < 0)
			_exit(127);
		execv(argv[0], av.m);
		_exit(127);
	}
	setpgid(pid, pid); /* also here: no kill(-pid) before the child's own call */
	if (sp[0] >= 0)
		close(sp[0]);
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	long long until = monotime_ms() + (long long)timeout_s * 1000;
	enum run_end end = RUN_EXITED;
	for (;;) {
		beat();
		long long dl = atomic_load(&stop_deadline_ms);
		long long t = monotime_ms();
		if (t >= until) {
			end = RUN_TIMEOUT;
			break;
		}
		if (dl && t >= dl) {
			end = RUN_STOPPED;
			break;
		}
		if (pfd >= 0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};
			if (poll(&p, 1, 250) > 0)
				break;
		} else {
			/* no pidfd (old kernel): poll the child */
			int st;
			if (waitpid(pid, &st, WNOHANG) == pid) {
				if (pfd >= 0)
					close(pfd);
				*ret_status = st;
				return WIFEXITED(st) ? RUN_EXITED : RUN_SIGNALED;
			}
			usleep(100000);
		}
	}
	if (end != RUN_EXITED)
		kill(-pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pfd >= 0)
		close(pfd);
	*ret_status = st;
	if (end != RUN_EXITED)
		return end;
	return WIFEXITED(st) ? RUN_EXITED : RUN_SIGNALED;
}

/* Read a report file (capped) and parse it into rec. */
/* A report's text (at most CDR_RECORD_MAX_REPORT bytes); the caller frees. */
static int read_report_text(int dfd, const char *path, uint8_t **buf, size_t *len)
{
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int r = fdio_read_all(fd, CDR_RECORD_MAX_REPORT, buf, len);
	close(fd);
	return r;
}

static int read_report(int dfd, const char *path, struct cdr_record *rec)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = read_report_text(dfd, path, &buf, &len);
	if (r == 0)
		r = cdr_record_parse((const char *)buf, len, rec);
	free(buf);
	return r;
}

static void fill_job(struct cdr_record *rec, const struct cdr_job *job)
{
	rec->job_id = job->id;
	rec->sha256 = job->sha256;
	rec->name = job->name;
	rec->message_id = job->message_id;
	rec->queue_id = job->queue_id;
	rec->attempts = job->attempts;
}

/* The record is durable, then the job goes: at least once. */
static void finish(struct cdr_job *job, struct cdr_record *rec)
{
	fill_job(rec, job);
	if (cdr_record_emit(audit, rec) < 0 || audit_flush(audit) < 0)
		svc_log(SVC_ERR, PROG, _("%s: audit record not written"), job->id);
	if (cdr_queue_complete(queue, job) < 0)
		svc_log(SVC_ERR, PROG, _("%s: cannot remove the job: %s"), job->id, strerror(errno));
	if (!strcmp(rec->result, "ok"))
		atomic_fetch_add(&n_ok, 1);
	else if (!strcmp(rec->result, "no-copy"))
		atomic_fetch_add(&n_nocopy, 1);
	else
		atomic_fetch_add(&n_failed, 1);
	/* fields, not a sentence: the same in every language */
	svc_log(strcmp(rec->result, "ok") && strcmp(rec->result, "no-copy") ? SVC_WARNING : SVC_INFO, PROG,
		"%s %.16s %s%s%s%s%s", job->id, job->sha256, rec->result, rec->reason[0] ? " " : "", rec->reason,
		rec->copy[0] ? " " : "", rec->copy);
	/* deliver = mail: the last result of a manifest sends its copies */
	if (!strcmp(job->deliver, "mail") && job->link[0] && duty.links) {
		char why[256] = "";
		beat_ahead(3 * (long long)duty.smtp_timeout_ms);
		int r = cdr_duty_follow_up(&duty, job->link, why, sizeof(why));
		beat();
		if (r < 0)
			svc_log(SVC_WARNING, PROG, _("follow-up mail of link %.16s: %s (again later)"), job->link, why);
	}
}

/* No copy after every attempt (or no original): our own report, then the
 * record.  The report has the CLI's schema (docs/cdr.md). */
static void finish_failed(struct cdr_job *job, const char *key, const char *detail)
{
	/* a copy an earlier attempt published before it was killed: the
	 * report about to say "no copy" must be the truth */
	char prefix[80];
	int plen = snprintf(prefix, sizeof(prefix), "%s.copy.", job->sha256);
	int dfd = fcntl(outdfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, prefix, (size_t)plen))
				unlinkat(outdfd, e->d_name, 0);
		closedir(d);
	} else if (dfd >= 0) {
		close(dfd);
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", job->name ? json_object_new_string(job->name) : NULL);
	json_object_object_add(o, "result", json_object_new_string(key));
	json_object_object_add(o, "reason_ja", json_object_new_string(cdr_reason_ja(key)));
	json_object_object_add(o, "reason_en", json_object_new_string(cdr_reason_en(key)));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	json_object_object_add(o, "in_sha256", json_object_new_string(job->sha256));
	json_object_object_add(o, "removed", json_object_new_array());
	json_object_object_add(o, "attempts", json_object_new_int((int)job->attempts));
	json_object_object_add(o, "failures", json_object_new_int((int)job->failures));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char tmp[64], final[96];
	snprintf(tmp, sizeof(tmp), "%s.failed", job->id);
	snprintf(final, sizeof(final), "%s.report.json", job->sha256);
	int fd = openat(workdfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	/* 0640 whatever the umask: the portal reads reports through the
	 * copies directory's group */
	int r = fd < 0 ? -errno : fchmod(fd, 0640) < 0 ? -errno : fdio_write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r == 0 && renameat(workdfd, tmp, outdfd, final) < 0)
		r = -errno;
	if (r == 0)
		fsync(outdfd);
	else
		unlinkat(workdfd, tmp, 0);
	json_object_put(o);
	struct cdr_record rec = {0};
	snprintf(rec.result, sizeof(rec.result), "failed");
	snprintf(rec.reason, sizeof(rec.reason), "%s", key);
	snprintf(rec.in_sha256, sizeof(rec.in_sha256), "%s", job->sha256);
	finish(job, &rec);
}

/* An attempt failed (the CLI crashed, timed out, or wrote no report):
 * again later, or "failed" at the cap. */
static void attempt_failed(struct cdr_job *job, const char *detail)
{
	job->failures++;
	if (job->failures >= cf.max_attempts) {
		finish_failed(job, "attempts-exhausted", detail);
		return;
	}
	atomic_fetch_add(&n_retry, 1);
	svc_log(SVC_WARNING, PROG, _("%s: attempt %u failed (%s), again later"), job->id, job->failures, detail);
	if (cdr_queue_release(queue, job, false) < 0)
		svc_log(SVC_ERR, PROG, _("%s: cannot put the job back"), job->id);
}

#define CLI_ARGV_MAX (18 + 2 * MAX_MODES)

/* sekisho-cdr's command line for one conversion (ppap: the password
 * comes on fd 3, see run_cli) */
static void cli_argv(const char **argv, const char *name, bool ppap, const char *rep, const char *in, const char *out)
{
	size_t n = 0;
	argv[n++] = cf.cdr;
	if (name) {
		argv[n++] = "--name";
		argv[n++] = name;
	}
	if (ppap) {
		argv[n++] = "--password-fd";
		argv[n++] = "3";
	}
	argv[n++] = "--report";
	argv[n++] = rep;
	argv[n++] = "--libexec";
	argv[n++] = cf.libexec;
	if (cf.timeout) {
		argv[n++] = "--timeout";
		argv[n++] = cf.timeout;
	}
	for (size_t i = 0; i < cf.nmodes; i++) {
		argv[n++] = "--mode";
		argv[n++] = cf.modes[i];
	}
	argv[n++] = "--quiet";
	argv[n++] = in;
	argv[n++] = "-o";
	argv[n++] = out;
	argv[n] = NULL;
}

static void process(struct cdr_job *job)
{
	char data[80], report[96];
	snprintf(data, sizeof(data), "%s.data", job->sha256);
	snprintf(report, sizeof(report), "%s.report.json", job->sha256);
	if (job->attempts > cf.max_attempts + MAX_WORKER_DEATHS) {
		/* claimed that often and never finished: the worker itself
		 * died each time (a kill -9 from outside counts too, hence the
		 * margin above max_attempts) */
		finish_failed(job, "attempts-exhausted", "the worker stopped during every attempt");
		return;
	}
	/* an upload's original is in transfer/, a mail's in the quarantine */
	bool upload = !strcmp(job->origin, "upload");
	int srcdfd = upload ? transferdfd : qdfd;
	const char *srcdir = upload ? cf.transfer : cf.qdir;
	struct stat st;
	if (srcdfd < 0 || fstatat(srcdfd, data, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		finish_failed(job, "original-missing", "the quarantined original is not there (expired or released)");
		return;
	}
	/* Idempotent: an earlier job of the same content (or this job,
	 * before a crash) already published a copy or a refusal. */
	struct cdr_record rec = {0};
	if (read_report(outdfd, report, &rec) == 0) {
		/* a refusal by the converter stands; a failure of ours does not
		 * (the next job of that content tries again), nor a copy that
		 * is gone */
		bool ours = !strcmp(rec.reason, "attempts-exhausted") || !strcmp(rec.reason, "original-missing");
		bool ok = !strcmp(rec.result, "ok");
		if (ok && cdr_record_ext_ok(rec.out_ext))
			snprintf(rec.copy, sizeof(rec.copy), "%s.copy.%s", job->sha256, rec.out_ext);
		if (!ours && (!ok || (rec.copy[0] && faccessat(outdfd, rec.copy, F_OK, AT_SYMLINK_NOFOLLOW) == 0))) {
			rec.reused = true;
			finish(job, &rec);
			return;
		}
	}
	memset(&rec, 0, sizeof(rec));
	rm_work(workdfd, job->id);
	if (mkdirat(workdfd, job->id, 0700) < 0) {
		attempt_failed(job, "cannot make the work directory");
		return;
	}
	char in[4200], out[4200], rep[4200];
	snprintf(in, sizeof(in), "%s/%s", srcdir, data);
	snprintf(out, sizeof(out), "%s/.work/%s/out", cf.copies, job->id);
	snprintf(rep, sizeof(rep), "%s/.work/%s/report.json", cf.copies, job->id);
	const char *argv[CLI_ARGV_MAX];
	cli_argv(argv, job->name, false, rep, in, out);
	int status = 0;
	enum run_end end = run_cli(argv, NULL, cf.job_timeout_s, &status);
	char wrep[64], wout[64];
	snprintf(wrep, sizeof(wrep), "%s/report.json", job->id);
	snprintf(wout, sizeof(wout), "%s/out", job->id);
	if (end == RUN_STOPPED) {
		/* not the conversion's fault: the attempt does not count */
		rm_work(workdfd, job->id);
		cdr_queue_release(queue, job, true);
		svc_log(SVC_NOTICE, PROG, _("%s: stopped, put back"), job->id);
		return;
	}
	int code = end == RUN_EXITED ? WEXITSTATUS(status) : -1;
	if (end == RUN_EXITED && (code == 0 || code == 1) && read_report(workdfd, wrep, &rec) == 0 &&
	    (code == 0) == !strcmp(rec.result, "ok")) {
		int r = 0;
		if (code == 0) {
			if (!cdr_record_ext_ok(rec.out_ext))
				r = -EINVAL;
			snprintf(rec.copy, sizeof(rec.copy), "%s.copy.%s", job->sha256, rec.out_ext);
			if (r == 0 && renameat(workdfd, wout, outdfd, rec.copy) < 0)
				r = -errno;
		}
		if (r == 0 && renameat(workdfd, wrep, outdfd, report) < 0)
			r = -errno;
		if (r == 0 && fsync(outdfd) < 0)
			r = -errno;
		rm_work(workdfd, job->id);
		if (r < 0) {
			attempt_failed(job, "cannot publish the copy");
			return;
		}
		finish(job, &rec);
		return;
	}
	rm_work(workdfd, job->id);
	char detail[128];
	if (end == RUN_TIMEOUT)
		snprintf(detail, sizeof(detail), "sekisho-cdr ran longer than %u s", cf.job_timeout_s);
	else if (end == RUN_SIGNALED)
		snprintf(detail, sizeof(detail), "sekisho-cdr was killed by signal %d", WTERMSIG(status));
	else if (end == RUN_ERROR)
		snprintf(detail, sizeof(detail), "sekisho-cdr could not be started");
	else
		snprintf(detail, sizeof(detail), "sekisho-cdr exited %d without a consistent report", code);
	attempt_failed(job, detail);
}

/* Mail first: while the milter is queueing jobs (mail is flowing), a
 * worker starts no new conversion, for at most YIELD_MAX_MS, then one.
 * SCHED_IDLE alone still cost the milter 10-30 % of its throughput on 2
 * cores (a conversion's caches and wake-ups; docs/benchmarks.md). */
static void yield_to_mail(void)
{
	long long from = monotime_ms();
	pthread_mutex_lock(&wake_mu);
	while (!atomic_load(&stopping) && monotime_ms() - atomic_load(&last_enqueue_ms) < (long long)cf.yield_ms &&
	       monotime_ms() - from < YIELD_MAX_MS) {
		beat();
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wake, &wake_mu, &until);
	}
	pthread_mutex_unlock(&wake_mu);
}

/* wait up to a second for a wake-up (new work, a stop) */
static void nap(void)
{
	beat();
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&wake_mu);
	if (!atomic_load(&stopping))
		pthread_cond_timedwait(&wake, &wake_mu, &until);
	pthread_mutex_unlock(&wake_mu);
}

static void *worker_main(void *arg)
{
	my_beat = arg;
	beat();
	while (!atomic_load(&stopping)) {
		beat();
		struct cdr_job job;
		if (cf.yield_ms)
			yield_to_mail();
		int r = cdr_queue_claim(queue, &job);
		if (r == 0) {
			atomic_fetch_add(&busy, 1);
			process(&job);
			cdr_job_free(&job);
			atomic_fetch_sub(&busy, 1);
			continue;
		}
		if (r != -EAGAIN)
			svc_log(SVC_ERR, PROG, _("cannot take a job from the queue: %s"), strerror(-r));
		nap();
	}
	return NULL;
}

/* The report's "detail" (what bubblewrap or the converter said) into
 * buf, "" when there is none: the operator's first clue when the sandbox
 * fails (a unit property refusing what bubblewrap needs). */
static void report_detail(int dfd, const char *path, char *buf, size_t len)
{
	buf[0] = 0;
	uint8_t *text = NULL;
	size_t n = 0;
	json_object *o = read_report_text(dfd, path, &text, &n) == 0 ? jsonx_parse((const char *)text, n, 32) : NULL;
	json_object *d = NULL;
	if (o && json_object_object_get_ex(o, "detail", &d) && json_object_is_type(d, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(d));
	json_object_put(o);
	free(text);
}

/* The sandbox must work before any job is taken: bubblewrap present and
 * not setuid (the sandbox is built for unprivileged user namespaces),
 * user namespaces allowed, and one trivial conversion (a 1 x 1 PNG) made. */
static int self_test(char *why, size_t whylen)
{
	struct stat st;
	if (stat(CDR_SANDBOX_BWRAP, &st) < 0) {
		snprintf(why, whylen, "%s is missing (package bubblewrap)", CDR_SANDBOX_BWRAP);
		return -1;
	}
	if (st.st_mode & S_ISUID) {
		snprintf(why, whylen, "%s is setuid: the sandbox needs the unprivileged (non-setuid) bubblewrap",
			 CDR_SANDBOX_BWRAP);
		return -1;
	}
	FILE *f = fopen("/proc/sys/user/max_user_namespaces", "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	if (v == 0) {
		snprintf(why, whylen, "user namespaces are off (user.max_user_namespaces = 0)");
		return -1;
	}
	static const unsigned char png[] = {
		0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
		0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00,
		0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x68, 0x00, 0x00, 0x00, 0x82, 0x00, 0x81,
		0x77, 0xcd, 0x72, 0xb6, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
	rm_work(workdfd, ".selftest");
	if (mkdirat(workdfd, ".selftest", 0700) < 0) {
		snprintf(why, whylen, "cannot make the work directory: %s", strerror(errno));
		return -1;
	}
	int fd = openat(workdfd, ".selftest/in.png", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fdio_write_all(fd, png, sizeof(png)) < 0) {
		snprintf(why, whylen, "cannot write the test image");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	char in[4200], out[4200], rep[4200];
	snprintf(in, sizeof(in), "%s/.work/.selftest/in.png", cf.copies);
	snprintf(out, sizeof(out), "%s/.work/.selftest/out", cf.copies);
	snprintf(rep, sizeof(rep), "%s/.work/.selftest/report.json", cf.copies);
	const char *argv[] = {cf.cdr,    "--name", "selftest.png", "--report", rep, "--libexec", cf.libexec,
			      "--quiet", in,       "-o",           out,        NULL};
	int status = 0;
	enum run_end end = run_cli(argv, NULL, 60, &status);
	struct cdr_record rec = {0};
	int rr = read_report(workdfd, ".selftest/report.json", &rec);
	bool ok = end == RUN_EXITED && WEXITSTATUS(status) == 0 && rr == 0 && !strcmp(rec.result, "ok") &&
		faccessat(workdfd, ".selftest/out", F_OK, 0) == 0;
	if (!ok) {
		char detail[256];
		report_detail(workdfd, ".selftest/report.json", detail, sizeof(detail));
		snprintf(why, whylen, "a 1 x 1 PNG was not converted (%s %d, report: %s%s%s)%s%s",
			 end == RUN_EXITED ? "exit" : "signal/timeout",
			 end == RUN_EXITED ? WEXITSTATUS(status) : WTERMSIG(status), rr == 0 ? rec.result : "none",
			 rec.reason[0] ? " " : "", rec.reason, detail[0] ? ": " : "", detail);
	}
	rm_work(workdfd, ".selftest");
	return ok ? 0 : -1;
}

static int open_dirs(char *why, size_t whylen)
{
	qdfd = open(cf.qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qdfd < 0) {
		snprintf(why, whylen, "%s: %s", cf.qdir, strerror(errno));
		return -1;
	}
	/* the copies directory is created by tmpfiles on the appliance
	 * (sekisho-cdr:sekisho-portal 2750); a hand-made one here */
	if (mkdir(cf.copies, 0750) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "%s: %s", cf.copies, strerror(errno));
		return -1;
	}
	outdfd = open(cf.copies, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (outdfd < 0 || (mkdirat(outdfd, ".work", 0700) < 0 && errno != EEXIST) ||
	    (workdfd = openat(outdfd, ".work", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(why, whylen, "%s/.work: %s", cf.copies, strerror(errno));
		return -1;
	}
	/* what a killed worker left: nothing in .work is ever visible */
	int fd = fcntl(workdfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (unlinkat(workdfd, e->d_name, 0) < 0)
				rm_work(workdfd, e->d_name);
		}
		closedir(d);
	}
	return 0;
}

/* A directory of the portals given by option, opened; -1 when the option
 * is absent.  Made (mode) when missing: tmpfiles makes them on the
 * appliance with their owners and groups (docs/portal.md). */
static int open_opt_dir(const char *path, mode_t mode, char *why, size_t whylen, bool *bad)
{
	if (!path)
		return -1;
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		*bad = true;
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		*bad = true;
	}
	return fd;
}

/* The portals' directories and the duty context (after open_dirs). */
static int open_portal(char *why, size_t whylen)
{
	bool bad = false;
	duty.quarantine = qdfd;
	duty.copies = outdfd;
	duty.links = cf.links;
	duty.queue = queue;
	duty.audit = audit;
	duty.helo = "sekisho-cdrd";
	duty.mail_from = cf.mail_from;
	duty.portal_url = cf.portal_url;
	duty.follow_up_max = cf.follow_up_max;
	duty.link_ttl_s = cf.link_ttl_s;
	duty.smtp_timeout_ms = 60000;
	duty.max_parcels = 64;
	duty.max_file_bytes = cf.upload_max;
	pthread_mutex_init(&duty.mu, NULL);
	duty.smtp_set = cdr_smtp_parse_addr(cf.smtp, &duty.smtp) == 0;
	if (!duty.smtp_set) {
		snprintf(why, whylen, "--smtp %s: not HOST:PORT with a numeric address", cf.smtp);
		return -1;
	}
	if (cf.mail_from && !cdr_portal_addr_ok(cf.mail_from)) {
		snprintf(why, whylen, "--mail-from %s: not a plain address", cf.mail_from);
		return -1;
	}
	if ((cf.inbox || cf.transfer) && !(cf.inbox && cf.transfer && cf.links)) {
		snprintf(why, whylen, "uploads need --inbox, --transfer and --links");
		return -1;
	}
	duty.transfer = transferdfd = open_opt_dir(cf.transfer, 0700, why, whylen, &bad);
	duty.inbox = open_opt_dir(cf.inbox, 0700, why, whylen, &bad);
	duty.releases = open_opt_dir(cf.releases, 0750, why, whylen, &bad);
	duty.sent = -1;
	/* the follow-up markers, only where follow-ups are possible */
	if (!bad && cf.links && (mkdirat(outdfd, ".sent", 0700) < 0 && errno != EEXIST))
		bad = true;
	if (!bad && cf.links &&
	    (duty.sent = openat(outdfd, ".sent", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(why, whylen, "%s/.sent: %s", cf.copies, strerror(errno));
		bad = true;
	}
	if (bad)
		return -1;
	if (cf.pqueue) {
		/* a request may hold a password: an unreadable one is deleted,
		 * not kept in bad/ */
		struct cdr_dirq_opts o = {.dir = cf.pqueue,
					  .max_bytes = CDR_PORTAL_REQ_MAX_BYTES,
					  .name_ok = cdr_portal_name_ok,
					  .keep_bad = false};
		int r = cdr_dirq_open(&o, &pqueue, why, whylen);
		if (r == 0 && (r = cdr_dirq_lock(pqueue)) < 0)
			snprintf(why, whylen, "%s: %s", cf.pqueue,
				 r == -EWOULDBLOCK ? "another sekisho-cdrd serves this queue" : strerror(-r));
		if (r == 0 && (r = cdr_dirq_recover(pqueue, 600)) < 0)
			snprintf(why, whylen, "%s: recover: %s", cf.pqueue, strerror(-r));
		if (r < 0)
			return -1;
	}
	return 0;
}

static void ppap_audit(const struct cdr_portal_req *r, const char *result, const char *reason, const char *copy)
{
	struct audit_field f[] = {
		AUDIT_STR("request", r->id),
		AUDIT_STR("sha256", r->sha256),
		AUDIT_STR("link", r->link),
		AUDIT_STR("result", result),
		reason[0] ? (struct audit_field)AUDIT_STR("reason", reason) : (struct audit_field)AUDIT_NULL("reason"),
		copy[0] ? (struct audit_field)AUDIT_STR("copy", copy) : (struct audit_field)AUDIT_NULL("copy"),
	};
	audit_emit(audit, "file.ppap", f, sizeof(f) / sizeof(f[0]));
	audit_flush(audit);
}

/* A PPAP request: the archive of r->sha256 (a file of manifest r->link)
 * through sekisho-cdr with the password, into <sha>.ppap.zip and
 * <sha>.ppap.report.json.  0 when it is done (a copy or a refusal), < 0
 * when it should be tried again (why). */
static int do_ppap(const struct cdr_portal_req *r, char *why, size_t whylen)
{
	if (!cf.links) {
		snprintf(why, whylen, "no --links");
		return 0; /* never possible: the request goes */
	}
	struct ptl_link l;
	int rc = ptl_link_load_hash(cf.links, r->link, (int64_t)time(NULL), &l);
	if (rc < 0) {
		snprintf(why, whylen, "link %.16s: %s", r->link, strerror(-rc));
		ppap_audit(r, "refused", "link", "");
		return 0;
	}
	const struct ptl_link_file *f = NULL;
	for (size_t i = 0; i < l.nfiles && !f; i++)
		if (!strcmp(l.files[i].sha256, r->sha256))
			f = &l.files[i];
	char name[256] = "", origin[8];
	snprintf(origin, sizeof(origin), "%s", l.origin);
	if (f && f->name)
		snprintf(name, sizeof(name), "%s", f->name);
	bool found = f != NULL;
	ptl_link_free(&l);
	if (!found) {
		snprintf(why, whylen, "%.16s is not a file of link %.16s", r->sha256, r->link);
		ppap_audit(r, "refused", "link", "");
		return 0;
	}
	char zip[96], report[96];
	snprintf(zip, sizeof(zip), "%s.ppap.zip", r->sha256);
	snprintf(report, sizeof(report), "%s.ppap.report.json", r->sha256);
	struct cdr_record rec = {0};
	if (read_report(outdfd, report, &rec) == 0 && !strcmp(rec.result, "ok") &&
	    faccessat(outdfd, zip, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		ppap_audit(r, "ok", "", zip); /* made before: the same copy */
		return 0;
	}
	bool upload = !strcmp(origin, "upload");
	const char *srcdir = upload ? cf.transfer : cf.qdir;
	int src = cdr_duty_open_original(&duty, origin, r->sha256);
	if (src < 0 || !srcdir) {
		snprintf(why, whylen, "original %.16s: %s", r->sha256, strerror(src < 0 ? -src : ENOENT));
		ppap_audit(r, "failed", "original-missing", "");
		return 0;
	}
	close(src);
	char work[96], in[4200], out[4200], rep[4200], wout[128], wrep[128];
	snprintf(work, sizeof(work), "ppap-%s", r->id);
	rm_work(workdfd, work);
	if (mkdirat(workdfd, work, 0700) < 0) {
		snprintf(why, whylen, "work directory: %s", strerror(errno));
		return -EIO;
	}
	snprintf(in, sizeof(in), "%s/%s.data", srcdir, r->sha256);
	snprintf(out, sizeof(out), "%s/.work/%s/out", cf.copies, work);
	snprintf(rep, sizeof(rep), "%s/.work/%s/report.json", cf.copies, work);
	snprintf(wout, sizeof(wout), "%s/out", work);
	snprintf(wrep, sizeof(wrep), "%s/report.json", work);
	const char *argv[CLI_ARGV_MAX];
	cli_argv(argv, name[0] ? name : NULL, true, rep, in, out);
	int status = 0;
	enum run_end end = run_cli(argv, r->password, cf.job_timeout_s, &status);
	int code = end == RUN_EXITED ? WEXITSTATUS(status) : -1;
	memset(&rec, 0, sizeof(rec));
	if (end == RUN_STOPPED) {
		rm_work(workdfd, work);
		snprintf(why, whylen, "stopped");
		return -EINTR;
	}
	if (end != RUN_EXITED || (code != 0 && code != 1) || read_report(workdfd, wrep, &rec) < 0 ||
	    (code == 0) != !strcmp(rec.result, "ok")) {
		rm_work(workdfd, work);
		snprintf(why, whylen, "sekisho-cdr ended %s %d without a consistent report",
			 end == RUN_EXITED ? "with" : "by", end == RUN_EXITED ? code : (int)end);
		ppap_audit(r, "failed", "exit-status", "");
		return 0;
	}
	bool ok = code == 0 && !strcmp(rec.out_ext, "zip");
	/* the report stays the truth: no older copy beside a refusal */
	int pr = 0;
	if (!ok)
		unlinkat(outdfd, zip, 0);
	else if (renameat(workdfd, wout, outdfd, zip) < 0)
		pr = -errno;
	if (pr == 0 && renameat(workdfd, wrep, outdfd, report) < 0)
		pr = -errno;
	if (pr == 0)
		fsync(outdfd);
	rm_work(workdfd, work);
	if (pr < 0) {
		snprintf(why, whylen, "cannot publish the copy: %s", strerror(-pr));
		return pr;
	}
	ppap_audit(r, ok ? "ok" : "no-copy", ok ? "" : rec.reason[0] ? rec.reason : "not-an-archive", ok ? zip : "");
	snprintf(why, whylen, "%s%s%s", ok ? "copy " : "no copy: ", ok ? zip : rec.reason, ok ? "" : "");
	return 0;
}

/* One portal request; the request file goes when it is done (a password
 * is never kept), and stays for another try when it could not be done.
 * 1 done, 0 nothing waits, -1 it must wait (a failure of ours). */
static int portal_request(void)
{
	char name[CDR_DIRQ_NAME_MAX + 1], *text = NULL;
	size_t len = 0;
	if (!pqueue || cdr_dirq_claim(pqueue, name, &text, &len) < 0)
		return 0;
	struct cdr_portal_req req;
	int r = cdr_portal_req_parse(text, len, &req);
	explicit_bzero(text, len);
	free(text);
	if (r < 0) {
		svc_log(SVC_WARNING, PROG, _("portal request %s: not in the documented format, deleted"), name);
		cdr_dirq_bad(pqueue, name);
		return 1;
	}
	char why[512] = "";
	switch (req.kind) {
	case CDR_PORTAL_RELEASE:
		r = cdr_duty_release(&duty, &req, why, sizeof(why));
		if (r == -ENOENT || r == -EBADMSG || r == -ENOTDIR)
			r = 0; /* never possible: the request goes (the portal sees no release) */
		break;
	case CDR_PORTAL_PPAP:
		r = do_ppap(&req, why, sizeof(why));
		break;
	case CDR_PORTAL_NOTIFY:
		r = cdr_duty_notify(&duty, &req, why, sizeof(why));
		if (r == -ENOENT || r == -ENOTDIR || r == -EKEYREVOKED || r == -EKEYEXPIRED || r == -EINVAL)
			r = 0;
		break;
	}
	if (r < 0)
		svc_log(SVC_WARNING, PROG, _("portal %s %s: again later: %s"), cdr_portal_kind_name(req.kind), req.id,
			why[0] ? why : "-");
	else
		svc_log(SVC_INFO, PROG, _("portal %s %s: done%s%s"), cdr_portal_kind_name(req.kind), req.id,
			why[0] ? ": " : "", why);
	if (r < 0)
		cdr_dirq_unclaim(pqueue, name);
	else
		cdr_dirq_done(pqueue, name);
	cdr_portal_req_free(&req);
	return r >= 0 ? 1 : -1;
}

/* The portal thread: requests first (people wait for them), then the
 * inbox, then follow-ups whose mail failed (each minute). */
static void *portal_main(void *arg)
{
	my_beat = arg;
	long long last_retry = 0, pause_until = 0;
	while (!atomic_load(&stopping)) {
		beat();
		bool busy_pass = false;
		/* after a failure of ours (the mail server down, a full disk)
		 * the requests and the inbox wait BACKOFF_MS, not a second */
		bool paused = monotime_ms() < pause_until;
		for (int i = 0; i < 16 && !paused && !atomic_load(&stopping); i++) {
			beat();
			int r = portal_request();
			if (r < 0)
				pause_until = monotime_ms() + BACKOFF_MS;
			if (r <= 0)
				break;
			busy_pass = true;
		}
		char why[512] = "";
		int r = paused ? 0 : cdr_duty_intake(&duty, why, sizeof(why));
		if (r > 0)
			busy_pass = true;
		if (why[0]) {
			svc_log(SVC_WARNING, PROG, _("inbox: %s (again in %d s)"), why, BACKOFF_MS / 1000);
			pause_until = monotime_ms() + BACKOFF_MS;
		}
		if (monotime_ms() - last_retry > 60000) {
			last_retry = monotime_ms();
			why[0] = 0;
			r = cdr_duty_follow_up_retry(&duty, why, sizeof(why));
			if (r < 0)
				svc_log(SVC_WARNING, PROG, _("follow-up mail: %s (again in a minute)"), why);
		}
		atomic_store(&portal_idle, !busy_pass);
		if (busy_pass)
			continue;
		nap();
	}
	return NULL;
}

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (DIR, N, S, ...),
	 * values and defaults stay as they are written; the two %s are the
	 * default paths */
	fprintf(f,
		_("usage: sekisho-cdrd --queue DIR --quarantine DIR --audit-dir DIR --audit-key FILE [OPTIONS]\n"
		  "       sekisho-cdrd --help | --version\n"
		  "  --queue DIR           the job queue the milter fills\n"
		  "  --quarantine DIR      the originals (the milter's quarantine)\n"
		  "  --audit-dir DIR --audit-key FILE   the audit chain (file.sanitized, ...) and its key\n"
		  "  --workers N           conversions at once (default 0: the number of cores...)\n"
		  "  --reserve-cores N     ...less N, at least one (default 0)\n"
		  "  --timeout S           a conversion's limit, passed to sekisho-cdr --timeout (its default: 60)\n"
		  "  --job-timeout S       wall clock of one sekisho-cdr run, whatever it does (default 900)\n"
		  "  --max-attempts N      failed attempts before a job ends \"failed\" (default 3)\n"
		  "  --queue-max N         jobs the queue may hold (default 10000; the milter's cap)\n"
		  "  --stop-timeout S      on SIGTERM, wait this long for running conversions (default 20)\n"
		  "  --yield-ms MS         mail first: start no conversion while the milter queued a job\n"
		  "                        within MS, for up to 10 s (default 250; 0: never wait)\n"
		  "  --mode KIND=MODE      passed to sekisho-cdr (repeatable)\n"
		  "  --cdr PATH            the sekisho-cdr program (default %s)\n"
		  "  --libexec DIR         the converters (default %s)\n"
		  "  --copies DIR          copies and reports (default QUARANTINE/cdr)\n"
		  "  --portal-queue DIR    the portal's requests: release, ppap, notify (docs/portal.md)\n"
		  "  --releases DIR        approved originals for the portal (release requests)\n"
		  "  --links DIR           link manifests (uploads, notify, ppap, follow-up mail)\n"
		  "  --inbox DIR           upload parcels (with --transfer and --links)\n"
		  "  --transfer DIR        upload originals (the worker's own)\n"
		  "  --smtp HOST:PORT      the appliance's own mail (default 127.0.0.1:10026, no milter)\n"
		  "  --mail-from ADDR      sender of the appliance's own mail\n"
		  "  --portal-url URL      the LGWAN portal, for links in mail (https://HOST)\n"
		  "  --follow-up-max B     attachments of one follow-up mail (default 20 MiB; over: no attachment)\n"
		  "  --link-ttl S          uploads' links are valid this long (default 604800)\n"
		  "  --upload-max B        one uploaded file at most (default 1 GiB; over: the parcel is refused)\n"
		  "  --once                exit when the queues and the inbox are empty (tests, benchmarks)\n"
		  "  --no-self-test        skip the start-up conversion (tests only)\n"
		  "  -h, --help            this text on standard output\n"
		  "  --version             the version and the build's git description\n"
		  "exit status: 0 stopped by SIGTERM/SIGINT (or --once done), 2 usage, setup or start-up check failed\n"),
		SEKISHO_CDR_PATH, SEKISHO_LIBEXECDIR);
}

static int parse_uint(const char *s, unsigned *ret)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || e == s || *e || v > 1000000)
		return -1;
	*ret = (unsigned)v;
	return 0;
}

/* STATUS=: the jobs queued, running, done and failed */
static void cdrd_status(char *buf, size_t len, unsigned workers)
{
	snprintf(buf, len, _("%d jobs queued, %u running on %u workers, %lu done (%lu without copy), %lu failed"),
		 cdr_queue_length(queue), atomic_load(&busy), workers, atomic_load(&n_ok) + atomic_load(&n_nocopy),
		 atomic_load(&n_nocopy), atomic_load(&n_failed));
}

struct wd {
	uint64_t usec;     /* WatchdogSec=, 0 none */
	long long last_ms; /* the last ping or status */
	int stuck;         /* the thread found stuck (-1 none), said once */
};

/* From the main loop, every second at least: WATCHDOG=1 at half the
 * interval, only while every thread beat recently; STATUS= every 5 s. */
static void watchdog_tick(struct wd *w, unsigned workers)
{
	long long now = monotime_ms();
	long long every = w->usec && w->usec / 2000 < 5000 ? (long long)(w->usec / 2000) : 5000;
	if (now - w->last_ms < every)
		return;
	w->last_ms = now;
	char status[256];
	cdrd_status(status, sizeof(status), workers);
	svc_status(status);
	if (!w->usec)
		return;
	/* half the interval: a stuck thread is seen at the tick after it,
	 * before systemd's deadline, so the journal says which */
	long long limit = (long long)(w->usec / 2000);
	int stuck = -1;
	long long age = 0;
	for (unsigned i = 0; i < workers && stuck < 0; i++)
		if ((age = now - atomic_load(&beats[i])) > limit)
			stuck = (int)i;
	if (stuck < 0 && portal_started &&
	    (age = now - atomic_load(&beats[MAX_WORKERS])) > limit + 3 * (long long)duty.smtp_timeout_ms)
		stuck = MAX_WORKERS;
	if (stuck < 0) {
		if (w->stuck >= 0)
			svc_log(SVC_NOTICE, PROG, _("progress again: the watchdog resumes"));
		w->stuck = -1;
		svc_watchdog();
		return;
	}
	if (w->stuck != stuck) {
		if (stuck == MAX_WORKERS)
			svc_log(SVC_CRIT, PROG,
				_("the portal thread has made no progress for %lld s; the watchdog stops (systemd restarts the worker)"),
				age / 1000);
		else
			svc_log(SVC_CRIT, PROG,
				_("worker %d has made no progress for %lld s; the watchdog stops (systemd restarts the worker)"),
				stuck, age / 1000);
	}
	w->stuck = stuck;
}

int main(int argc, char **argv)
{
	i18n_init();
	enum {
		O_QUEUE = 256,
		O_Q,
		O_ADIR,
		O_AKEY,
		O_WORKERS,
		O_RESERVE,
		O_JT,
		O_MA,
		O_QM,
		O_ST,
		O_MODE,
		O_CDR,
		O_LIBEXEC,
		O_TIMEOUT,
		O_YIELD,
		O_ONCE,
		O_NOST,
		O_COPIES,
		O_PQUEUE,
		O_RELEASES,
		O_LINKS,
		O_INBOX,
		O_TRANSFER,
		O_SMTP,
		O_FROM,
		O_URL,
		O_FUMAX,
		O_TTL,
		O_UPMAX,
		O_VERSION
	};
	static const struct option opts[] = {
		{"queue", 1, NULL, O_QUEUE},
		{"quarantine", 1, NULL, O_Q},
		{"audit-dir", 1, NULL, O_ADIR},
		{"audit-key", 1, NULL, O_AKEY},
		{"workers", 1, NULL, O_WORKERS},
		{"reserve-cores", 1, NULL, O_RESERVE},
		{"job-timeout", 1, NULL, O_JT},
		{"max-attempts", 1, NULL, O_MA},
		{"queue-max", 1, NULL, O_QM},
		{"stop-timeout", 1, NULL, O_ST},
		{"mode", 1, NULL, O_MODE},
		{"cdr", 1, NULL, O_CDR},
		{"libexec", 1, NULL, O_LIBEXEC},
		{"once", 0, NULL, O_ONCE},
		{"no-self-test", 0, NULL, O_NOST},
		{"timeout", 1, NULL, O_TIMEOUT},
		{"yield-ms", 1, NULL, O_YIELD},
		{"copies", 1, NULL, O_COPIES},
		{"portal-queue", 1, NULL, O_PQUEUE},
		{"releases", 1, NULL, O_RELEASES},
		{"links", 1, NULL, O_LINKS},
		{"inbox", 1, NULL, O_INBOX},
		{"transfer", 1, NULL, O_TRANSFER},
		{"smtp", 1, NULL, O_SMTP},
		{"mail-from", 1, NULL, O_FROM},
		{"portal-url", 1, NULL, O_URL},
		{"follow-up-max", 1, NULL, O_FUMAX},
		{"link-ttl", 1, NULL, O_TTL},
		{"upload-max", 1, NULL, O_UPMAX},
		{"help", 0, NULL, 'h'},
		{"version", 0, NULL, O_VERSION}, /* a comment keeps clang-format from packing the table */
		{0},
	};
	int ch;
	unsigned *num;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		num = NULL;
		switch (ch) {
		case O_QUEUE:
			cf.queue = optarg;
			break;
		case O_Q:
			cf.qdir = optarg;
			break;
		case O_ADIR:
			cf.adir = optarg;
			break;
		case O_AKEY:
			cf.akey = optarg;
			break;
		case O_WORKERS:
			num = &cf.workers;
			break;
		case O_RESERVE:
			num = &cf.reserve_cores;
			break;
		case O_YIELD:
			num = &cf.yield_ms;
			break;
		case O_JT:
			num = &cf.job_timeout_s;
			break;
		case O_MA:
			num = &cf.max_attempts;
			break;
		case O_QM:
			num = &cf.queue_max;
			break;
		case O_ST:
			num = &cf.stop_timeout_s;
			break;
		case O_MODE:
			if (cf.nmodes == MAX_MODES || !strchr(optarg, '=')) {
				fprintf(stderr, "sekisho-cdrd: bad --mode '%s' (KIND=MODE, at most %d)\n", optarg,
					MAX_MODES);
				return 2;
			}
			cf.modes[cf.nmodes++] = optarg;
			break;
		case O_CDR:
			cf.cdr = optarg;
			break;
		case O_LIBEXEC:
			cf.libexec = optarg;
			break;
		case O_TIMEOUT: {
			unsigned v;
			if (parse_uint(optarg, &v) < 0 || v == 0) {
				fprintf(stderr, "sekisho-cdrd: bad --timeout '%s'\n", optarg);
				return 2;
			}
			cf.timeout = optarg;
			break;
		}
		case O_ONCE:
			cf.once = true;
			break;
		case O_COPIES:
			cf.copies = optarg;
			break;
		case O_PQUEUE:
			cf.pqueue = optarg;
			break;
		case O_RELEASES:
			cf.releases = optarg;
			break;
		case O_LINKS:
			cf.links = optarg;
			break;
		case O_INBOX:
			cf.inbox = optarg;
			break;
		case O_TRANSFER:
			cf.transfer = optarg;
			break;
		case O_SMTP:
			cf.smtp = optarg;
			break;
		case O_FROM:
			cf.mail_from = optarg;
			break;
		case O_URL:
			cf.portal_url = optarg;
			break;
		case O_TTL:
		case O_UPMAX:
		case O_FUMAX: {
			char *e;
			errno = 0;
			unsigned long long v = strtoull(optarg, &e, 10);
			unsigned long long max = ch == O_TTL ? 366ULL * 86400 : 1ULL << 40;
			if (errno || e == optarg || *e || v > max || v == 0) {
				fprintf(stderr, "sekisho-cdrd: bad number '%s' (1..%llu)\n", optarg, max);
				return 2;
			}
			if (ch == O_TTL)
				cf.link_ttl_s = (unsigned)v;
			else if (ch == O_UPMAX)
				cf.upload_max = v;
			else
				cf.follow_up_max = v;
			break;
		}
		case O_NOST:
			cf.self_test = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION:
			version_print(stdout, "sekisho-cdrd");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (num && parse_uint(optarg, num) < 0) {
			fprintf(stderr, "sekisho-cdrd: bad number '%s'\n", optarg);
			return 2;
		}
	}
	if (!cf.queue || !cf.qdir || !cf.adir || !cf.akey || optind != argc) {
		fprintf(stderr, "sekisho-cdrd: --queue, --quarantine, --audit-dir and --audit-key are required\n");
		usage(stderr);
		return 2;
	}
	/* sekisho-cdr gets absolute paths (the sandbox binds the converters
	 * by absolute path; the worker's directory is not theirs) */
	static char abs_q[PATH_MAX], abs_lib[PATH_MAX], abs_cdr[PATH_MAX];
	if (!realpath(cf.qdir, abs_q) || !realpath(cf.libexec, abs_lib) || !realpath(cf.cdr, abs_cdr)) {
		svc_log(SVC_ERR, PROG, "%s, %s or %s: %s", cf.qdir, cf.libexec, cf.cdr, strerror(errno));
		return 2;
	}
	cf.qdir = abs_q;
	cf.libexec = abs_lib;
	cf.cdr = abs_cdr;
	/* the copies: QUARANTINE/cdr unless given; absolute too (the CLI
	 * writes into its work directory) */
	static char def_copies[PATH_MAX], abs_copies[PATH_MAX], abs_transfer[PATH_MAX];
	if (!cf.copies) {
		if ((size_t)snprintf(def_copies, sizeof(def_copies), "%.4090s/cdr", abs_q) >= sizeof(def_copies)) {
			svc_log(SVC_ERR, PROG, _("%s: path too long"), abs_q);
			return 2;
		}
		cf.copies = def_copies;
	}
	if (mkdir(cf.copies, 0750) < 0 && errno != EEXIST) {
		svc_log(SVC_ERR, PROG, "%s: %s", cf.copies, strerror(errno));
		return 2;
	}
	if (!realpath(cf.copies, abs_copies) || (cf.transfer && mkdir(cf.transfer, 0700) < 0 && errno != EEXIST) ||
	    (cf.transfer && !realpath(cf.transfer, abs_transfer))) {
		svc_log(SVC_ERR, PROG, "%s or %s: %s", cf.copies, cf.transfer ? cf.transfer : "-", strerror(errno));
		return 2;
	}
	cf.copies = abs_copies;
	if (cf.transfer)
		cf.transfer = abs_transfer;
	if (cf.workers == 0) {
		/* one per core, less the cores an operator keeps for mail
		 * (with --yield-ms the milter lost nothing measurable to two
		 * workers on 2 cores: docs/benchmarks.md) */
		long nc = sysconf(_SC_NPROCESSORS_ONLN);
		cf.workers = nc > (long)cf.reserve_cores ? (unsigned)nc - cf.reserve_cores : 1;
	}
	if (cf.workers > MAX_WORKERS)
		cf.workers = MAX_WORKERS;
	if (cf.max_attempts == 0)
		cf.max_attempts = 1;
	if (cf.job_timeout_s == 0)
		cf.job_timeout_s = 1;

	/* signals arrive through the signalfd of the main thread only: block
	 * them before any thread (the audit writer's too) exists */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	char why[512] = "";
	int ex = 2;
	pthread_t th[MAX_WORKERS];
	unsigned started = 0;
	int sfd = -1, ifd = -1;
	struct cdr_queue_opts qo = {.dir = cf.queue, .max_jobs = cf.queue_max};
	if (cdr_queue_open(&qo, &queue, why, sizeof(why)) < 0) {
		svc_log(SVC_ERR, PROG, _("cannot open the CDR queue: %s"), why);
		return 2;
	}
	int r = cdr_queue_lock(queue);
	if (r < 0) {
		svc_log(SVC_ERR, PROG, "%s: %s", cf.queue,
			r == -EWOULDBLOCK ? _("another sekisho-cdrd works on this queue") : strerror(-r));
		goto out;
	}
	if (open_dirs(why, sizeof(why)) < 0) {
		svc_log(SVC_ERR, PROG, "%s", why);
		goto out;
	}
	struct audit_key key;
	if (audit_key_load(cf.akey, &key, why, sizeof(why)) < 0) {
		svc_log(SVC_ERR, PROG, _("cannot load the audit key: %s"), why);
		goto out;
	}
	struct audit_opts ao = {.dir = cf.adir, .component = "cdr", .key = &key, .lock_timeout_ms = 10000};
	r = audit_open(&ao, &audit, why, sizeof(why));
	audit_key_wipe(&key);
	if (r < 0) {
		svc_log(SVC_ERR, PROG, _("cannot open the audit log: %s"), why);
		goto out;
	}
	if (open_portal(why, sizeof(why)) < 0) {
		svc_log(SVC_ERR, PROG, _("the portal directories: %s"), why);
		goto out;
	}
	if (cf.self_test && self_test(why, sizeof(why)) < 0) {
		svc_log(SVC_CRIT, PROG, _("refusing to start: the sandbox does not work: %s"), why);
		goto out;
	}
	r = cdr_queue_recover(queue, 600);
	if (r < 0) {
		svc_log(SVC_ERR, PROG, _("cannot recover the claimed jobs: %s"), strerror(-r));
		goto out;
	}
	if (r > 0)
		svc_log(SVC_NOTICE, PROG, _("%d claimed jobs resumed"), r);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd >= 0 && inotify_add_watch(ifd, cdr_queue_new_dir(queue), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(ifd);
		ifd = -1; /* the 1 s poll still finds new jobs */
	}
	for (; started < cf.workers; started++) {
		atomic_store(&beats[started], monotime_ms());
		if (pthread_create(&th[started], NULL, worker_main, &beats[started]) != 0)
			break;
		char tn[16];
		snprintf(tn, sizeof(tn), "cdrd-worker%u", started);
		pthread_setname_np(th[started], tn);
	}
	if (started == 0) {
		svc_log(SVC_ERR, PROG, _("cannot start a worker thread"));
		goto out;
	}
	/* the portal duties: one thread, when any of them is configured */
	bool portal = pqueue || duty.inbox >= 0 || cf.links;
	atomic_store(&beats[MAX_WORKERS], monotime_ms());
	if (portal && pthread_create(&portal_th, NULL, portal_main, &beats[MAX_WORKERS]) != 0) {
		svc_log(SVC_ERR, PROG, _("cannot start the portal thread"));
		portal = false;
		atomic_store(&stopping, true);
		ex = 2;
		goto out;
	}
	portal_started = portal;
	if (portal)
		pthread_setname_np(portal_th, "cdrd-portal");
	svc_log(SVC_INFO, PROG, _("%u workers on %s"), started, cf.queue);
	char status[256];
	cdrd_status(status, sizeof(status), started);
	svc_ready(status);
	ex = 0;
	struct wd wd = {.usec = svc_watchdog_usec(), .stuck = -1};
	while (!atomic_load(&stopping)) {
		watchdog_tick(&wd, started);
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = ifd, .events = POLLIN}};
		int n = poll(p, 2, 1000);
		if (n > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				svc_log(SVC_NOTICE, PROG, _("signal %u: stopping (%u s for running conversions)"),
					si.ssi_signo, cf.stop_timeout_s);
				atomic_store(&stop_deadline_ms,
					     monotime_ms() + (long long)cf.stop_timeout_s * 1000 + 1);
				atomic_store(&stopping, true);
			}
		}
		if (n > 0 && (p[1].revents & POLLIN)) {
			char buf[4096];
			while (read(ifd, buf, sizeof(buf)) > 0)
				;
			atomic_store(&last_enqueue_ms, monotime_ms());
		}
		if (cf.once && atomic_load(&busy) == 0 && cdr_queue_length(queue) == 0 &&
		    (!portal_started || (atomic_load(&portal_idle) && (!pqueue || cdr_dirq_length(pqueue) == 0))))
			atomic_store(&stopping, true);
		wake_all();
	}
	wake_all();
	svc_stopping();
out:
	wake_all();
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (portal_started)
		pthread_join(portal_th, NULL);
	svc_log(SVC_NOTICE, PROG, _("stopped: %lu copies, %lu without copy, %lu failed, %lu retried"),
		(unsigned long)n_ok, (unsigned long)n_nocopy, (unsigned long)n_failed, (unsigned long)n_retry);
	if (audit && audit_close(audit) < 0) {
		svc_log(SVC_ERR, PROG, _("audit log write failed: records lost"));
		ex = 2;
	}
	if (sfd >= 0)
		close(sfd);
	if (ifd >= 0)
		close(ifd);
	int fds[] = {workdfd, outdfd, qdfd, transferdfd, duty.inbox, duty.releases, duty.sent};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	cdr_dirq_close(pqueue);
	cdr_queue_close(queue);
	return ex;
}
