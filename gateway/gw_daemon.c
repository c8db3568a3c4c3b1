/* gw_daemon: the daemon's log line (see gw_daemon.h for the shared state).
 *
 * Program code, not library code: the roles of sekisho-gatewayd report on
 * stderr (journald) through this one function, so every line has the same
 * prefix.  Never fails; output errors are ignored. */
#include "gateway/gw_daemon.h"

#include <stdarg.h>
#include <stdio.h>

void gw_daemon_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "sekisho-gatewayd: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
