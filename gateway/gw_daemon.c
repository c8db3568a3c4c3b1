/* gw_daemon: the daemon's log line (see gw_daemon.h for the shared state).
 *
 * Program code, not library code: the roles of sekisho-gatewayd report on
 * stderr (journald) through this one function, so every line has the same
 * prefix and its priority (common/svc).  Never fails; output errors are
 * ignored. */
#include "gateway/gw_daemon.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/svc.h"

void gw_daemon_log(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	svc_vlog((enum svc_prio)prio, "sekisho-gatewayd", fmt, ap);
	va_end(ap);
}
