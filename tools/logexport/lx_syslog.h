/* lx_syslog: RFC 5424 messages with RFC 6587 octet-counting framing.
 *
 *   LEN SP <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [sekisho@32473 seq=".." mac=".."] MSG
 *
 * TIMESTAMP is the record's ts when it is a valid RFC 5424 timestamp
 * (else "-"); HOSTNAME, APP-NAME (sekisho-COMPONENT) and MSGID (the event)
 * are reduced to printable US-ASCII and cut to their RFC 5424 lengths
 * (255, 48, 32); SD-PARAM values escape '"', '\' and ']'.  MSG is the
 * audit line byte for byte, without a BOM (MSG-ANY; it is UTF-8 JSON).
 * 32473 is the documentation enterprise number of RFC 5612, kept until
 * sekisho has its own.  Appends to strbufs (abort on OOM). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

#define LX_SYSLOG_SDID "sekisho@32473"
#define LX_SYSLOG_FACILITY_DEFAULT 13 /* "log audit" */

struct lx_syslog_msg {
	int facility;          /* 0..23 */
	int severity;          /* 0..7 */
	const char *ts;        /* record's ts, may be NULL */
	const char *host;      /* may be NULL */
	const char *component; /* may be NULL */
	const char *msgid;     /* the event, may be NULL */
	uint64_t seq;          /* 0: not given */
	const char *mac;       /* may be NULL */
	const char *verify;    /* NULL, or a status word for records that are not plain "ok" */
	const char *msg;       /* the audit line (not NUL-terminated) */
	size_t msglen;
};

/* Append one framed message ("LEN SP SYSLOG-MSG", no trailing LF). */
void lx_syslog_frame(struct strbuf *out, const struct lx_syslog_msg *m);

/* True when ts is a valid RFC 5424 TIMESTAMP (RFC 3339, at most 6
 * fraction digits, upper-case T and Z). */
bool lx_syslog_ts_ok(const char *ts);

/* Append s reduced to PRINTUSASCII (other bytes become '_'), cut at max;
 * "-" when empty. */
void lx_syslog_field(struct strbuf *out, const char *s, size_t max);

/* Severity for an audit event: 6 info, 5 notice (denied flows, removed
 * attachments, policy and configuration changes), 4 warning (unsynced
 * clock, lost records, records that do not verify). */
int lx_syslog_severity(const char *event, const char *action, bool removed, bool unsynced);
