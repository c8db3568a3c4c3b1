/* svc: systemd readiness, status, watchdog and journal priorities
 * (common/svc.h). */
#include "common/svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* stderr is the journal when its device and inode are $JOURNAL_STREAM's
 * ("DEV:INODE", systemd.exec(5)); decided once. */
static bool to_journal(void)
{
	static int known = -1;
	if (known < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev = 0, ino = 0;
		struct stat st;
		known = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
			(unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return known == 1;
}

void svc_vlog(enum svc_prio prio, const char *prog, const char *fmt, va_list ap)
{
	if (to_journal())
		fprintf(stderr, "<%d>", (int)prio);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void svc_log(enum svc_prio prio, const char *prog, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	svc_vlog(prio, prog, fmt, ap);
	va_end(ap);
}

static int notify(const char *state)
{
	int r = sd_notify(0, state);
	return r < 0 ? r : 0;
}

int svc_ready(const char *status)
{
	if (!status)
		return notify("READY=1");
	char buf[512];
	snprintf(buf, sizeof buf, "READY=1\nSTATUS=%s", status);
	return notify(buf);
}

int svc_status(const char *status)
{
	char buf[512];
	snprintf(buf, sizeof buf, "STATUS=%s", status);
	return notify(buf);
}

int svc_stopping(void)
{
	return notify("STOPPING=1");
}

uint64_t svc_watchdog_usec(void)
{
	uint64_t usec = 0;
	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

int svc_watchdog(void)
{
	return notify("WATCHDOG=1");
}
