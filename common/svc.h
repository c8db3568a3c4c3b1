/* svc: a daemon's side of systemd (docs/operations.md, "Logs and
 * watchdog"): readiness, status lines and the watchdog through sd_notify
 * (libsystemd), and log lines that carry their syslog priority into the
 * journal.
 *
 * Log lines go to stderr as "PROG: text".  When stderr is the journal
 * (systemd sets $JOURNAL_STREAM to its device and inode), each line starts
 * with "<N>" (sd-daemon(3)'s priority prefix), so `journalctl -p warning`
 * shows exactly the warnings and failures; on a terminal or in a test's log
 * file the prefix is left out.
 *
 * Without systemd ($NOTIFY_SOCKET unset) every notify call does nothing and
 * returns 0.  Program code, not library code: the daemons call it from
 * their main thread.  Never allocates per call beyond libsystemd's own. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* syslog(3) priorities */
enum svc_prio {
	SVC_CRIT = 2,
	SVC_ERR = 3,
	SVC_WARNING = 4,
	SVC_NOTICE = 5,
	SVC_INFO = 6,
	SVC_DEBUG = 7,
};

/* One line "PROG: text" on stderr, with the priority prefix when stderr is
 * the journal. */
void svc_log(enum svc_prio prio, const char *prog, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void svc_vlog(enum svc_prio prio, const char *prog, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* READY=1 with a STATUS= line (may be NULL). */
int svc_ready(const char *status);
/* STATUS= only. */
int svc_status(const char *status);
/* STOPPING=1. */
int svc_stopping(void);
/* The watchdog interval systemd asks for (WatchdogSec=), in microseconds;
 * 0 when there is none.  A daemon sends svc_watchdog at least twice per
 * interval, and only while everything that does its job makes progress. */
uint64_t svc_watchdog_usec(void);
int svc_watchdog(void);
