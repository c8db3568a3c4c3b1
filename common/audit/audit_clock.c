/* audit_clock: is the system clock synchronised?
 *
 * Contract: a read-only adjtimex(2) query (modes = 0 changes nothing and
 * needs no privilege) plus a cheap guess at the time source from files its
 * daemon leaves in /run.  Municipal policies require log servers to keep
 * accurate, synchronised time; the writer records this state at open and
 * hourly (clock.status) and programs warn through audit_clock_synced().
 * No allocation; nothing prints. */
#include "common/audit/audit.h"

#include <errno.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

/* Which daemon appears to discipline the clock.  Only stats of well-known
 * paths: no process scan, no IPC. */
static const char *clock_source(void)
{
	static const struct {
		const char *path;
		const char *name;
	} probes[] = {
		{"/run/chrony/chronyd.pid", "chrony"},
		{"/var/run/chrony/chronyd.pid", "chrony"},
		{"/run/chronyd.pid", "chrony"},
		{"/run/systemd/timesync/synchronized", "systemd-timesyncd"},
		{"/run/ntpd.pid", "ntpd"},
		{"/var/run/ntpd.pid", "ntpd"},
	};
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
		if (probes[i].name && access(probes[i].path, F_OK) == 0)
			return probes[i].name;
	return "unknown";
}

int audit_clock_probe(struct audit_clock_status *ret)
{
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	tx.modes = 0;
	int state = adjtimex(&tx);
	if (state < 0)
		return -errno;
	memset(ret, 0, sizeof *ret);
	ret->state = state;
	ret->sta_unsync = (tx.status & STA_UNSYNC) != 0;
	ret->synced = !ret->sta_unsync && state != TIME_ERROR;
	ret->maxerror_us = tx.maxerror;
	ret->esterror_us = tx.esterror;
	/* offset is in ns when STA_NANO is set, else in us. */
	ret->offset_us = (tx.status & STA_NANO) ? tx.offset / 1000 : tx.offset;
	ret->source = clock_source();
	return 0;
}

bool audit_clock_synced(void)
{
	struct audit_clock_status st;
	return audit_clock_probe(&st) == 0 && st.synced;
}
