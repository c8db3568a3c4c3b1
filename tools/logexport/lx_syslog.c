/* lx_syslog: RFC 5424 / RFC 6587 formatting (see lx_syslog.h).
 *
 * Contract: pure formatting into a caller's strbuf.  Header fields come
 * from hostile records and are reduced to their grammar, never trusted. */
#include "tools/logexport/lx_syslog.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void lx_syslog_field(struct strbuf *out, const char *s, size_t max)
{
	size_t n = 0;
	for (; s && s[n] && n < max; n++) {
		unsigned char c = (unsigned char)s[n];
		strbuf_putc(out, c >= 33 && c <= 126 ? (char)c : '_');
	}
	if (n == 0)
		strbuf_putc(out, '-');
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool lx_syslog_ts_ok(const char *ts)
{
	if (!ts || strlen(ts) < 20)
		return false;
	/* 2026-11-22T09:15:02 */
	if (!digits(ts, 4) || ts[4] != '-' || !digits(ts + 5, 2) || ts[7] != '-' || !digits(ts + 8, 2) ||
	    ts[10] != 'T' || !digits(ts + 11, 2) || ts[13] != ':' || !digits(ts + 14, 2) || ts[16] != ':' ||
	    !digits(ts + 17, 2))
		return false;
	const char *p = ts + 19;
	if (*p == '.') {
		int n = 0;
		p++;
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n < 1 || n > 6)
			return false;
		p += n;
	}
	if (p[0] == 'Z')
		return p[1] == '\0';
	return (p[0] == '+' || p[0] == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2) && p[6] == '\0';
}

static void sd_value(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			strbuf_putc(out, '\\');
		strbuf_putc(out, *s);
	}
}

int lx_syslog_severity(const char *event, const char *action, bool removed, bool unsynced)
{
	if (!event)
		return 4;
	if (strcmp(event, "audit.lost") == 0 || (strcmp(event, "clock.status") == 0 && unsynced))
		return 4;
	if (strcmp(event, "flow.decision") == 0)
		return action && strcmp(action, "allow") == 0 ? 6 : 5;
	if (strcmp(event, "mail.sanitized") == 0)
		return removed ? 5 : 6;
	if (strncmp(event, "policy.", 7) == 0 || strcmp(event, "config.change") == 0)
		return 5;
	return 6;
}

void lx_syslog_frame(struct strbuf *out, const struct lx_syslog_msg *m)
{
	struct strbuf b = STRBUF_INIT;
	int fac = m->facility >= 0 && m->facility <= 23 ? m->facility : LX_SYSLOG_FACILITY_DEFAULT;
	int sev = m->severity >= 0 && m->severity <= 7 ? m->severity : 6;
	strbuf_printf(&b, "<%d>1 ", fac * 8 + sev);
	if (lx_syslog_ts_ok(m->ts))
		strbuf_puts(&b, m->ts);
	else
		strbuf_putc(&b, '-');
	strbuf_putc(&b, ' ');
	lx_syslog_field(&b, m->host, 255);
	strbuf_putc(&b, ' ');
	char app[64];
	snprintf(app, sizeof app, "sekisho-%s", m->component && *m->component ? m->component : "unknown");
	lx_syslog_field(&b, app, 48);
	strbuf_puts(&b, " - ");
	lx_syslog_field(&b, m->msgid, 32);
	strbuf_puts(&b, " [" LX_SYSLOG_SDID);
	if (m->seq)
		strbuf_printf(&b, " seq=\"%" PRIu64 "\"", m->seq);
	if (m->mac && *m->mac) {
		strbuf_puts(&b, " mac=\"");
		sd_value(&b, m->mac);
		strbuf_putc(&b, '"');
	}
	if (m->verify && *m->verify) {
		strbuf_puts(&b, " verify=\"");
		sd_value(&b, m->verify);
		strbuf_putc(&b, '"');
	}
	strbuf_puts(&b, "] ");
	strbuf_append(&b, m->msg ? m->msg : "", m->msg ? m->msglen : 0);
	strbuf_printf(out, "%zu ", b.len);
	strbuf_append(out, b.buf, b.len);
	strbuf_free(&b);
}
