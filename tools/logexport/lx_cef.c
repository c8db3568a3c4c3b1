/* lx_cef: CEF formatting of audit records (see lx_cef.h).
 *
 * Contract: records are hostile; every value passes through the escapers
 * and the cap; fields of unexpected type are rendered as text by
 * lx_json_text rather than trusted.  IPv4 addresses go to src/dst, IPv6
 * ones to c6a2/c6a3 (CEF's src/dst are IPv4 only). */
#include "tools/logexport/lx_cef.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/inaddr.h"
#include "tools/logexport/lx_json.h"
#include "tools/logexport/lx_time.h"

void lx_cef_escape_header(struct strbuf *sb, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' || c == '|') {
			strbuf_putc(sb, '\\');
			strbuf_putc(sb, c);
		} else if (c == '\r' || c == '\n') {
			strbuf_putc(sb, ' ');
		} else {
			strbuf_putc(sb, c);
		}
	}
}

void lx_cef_escape_value(struct strbuf *sb, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		switch (c) {
		case '\\':
			strbuf_puts(sb, "\\\\");
			break;
		case '=':
			strbuf_puts(sb, "\\=");
			break;
		case '\r':
			strbuf_puts(sb, "\\r");
			break;
		case '\n':
			strbuf_puts(sb, "\\n");
			break;
		default:
			strbuf_putc(sb, c);
			break;
		}
	}
}

/* The extension being built: pairs after the first are space-separated. */
struct ext {
	struct strbuf *sb;
	size_t start;
};

/* key=value, value capped and escaped. */
static void ext_text(struct ext *out, const char *key, const char *s, size_t n)
{
	struct strbuf v = STRBUF_INIT;
	lx_json_utf8_repair(&v, s, n);
	lx_json_utf8_cut(&v, LX_CEF_VALUE_MAX);
	if (out->sb->len > out->start)
		strbuf_putc(out->sb, ' ');
	strbuf_puts(out->sb, key);
	strbuf_putc(out->sb, '=');
	lx_cef_escape_value(out->sb, v.buf ? v.buf : "", v.len);
	strbuf_free(&v);
}

static void ext_str(struct ext *out, const char *key, const char *s)
{
	if (s && *s)
		ext_text(out, key, s, strlen(s));
}

static void ext_json(struct ext *out, const char *key, struct json_object *v)
{
	if (!v || json_object_is_type(v, json_type_null))
		return;
	struct strbuf t = STRBUF_INIT;
	lx_json_text(v, &t);
	if (t.len)
		ext_text(out, key, t.buf, t.len);
	strbuf_free(&t);
}

/* Array of strings (or of objects' member sub) joined with ", ". */
static void ext_join(struct ext *out, const char *key, struct json_object *arr, const char *sub)
{
	if (!arr || !json_object_is_type(arr, json_type_array))
		return;
	struct strbuf t = STRBUF_INIT;
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		if (sub)
			e = lx_json_get(e, sub);
		if (i)
			strbuf_puts(&t, ", ");
		lx_json_text(e, &t);
	}
	if (t.len)
		ext_text(out, key, t.buf, t.len);
	strbuf_free(&t);
}

static void ext_labelled(struct ext *out, const char *key, const char *label, struct json_object *v)
{
	if (!v || json_object_is_type(v, json_type_null))
		return;
	ext_json(out, key, v);
	char lk[32];
	snprintf(lk, sizeof lk, "%sLabel", key);
	ext_str(out, lk, label);
}

static void ext_addr(struct ext *out, const char *v4key, const char *v6key, const char *v6label, struct json_object *v)
{
	if (!v || !json_object_is_type(v, json_type_string))
		return;
	const char *s = json_object_get_string(v);
	int fam;
	u128 a;
	if (inaddr_parse(s, &fam, &a) < 0) {
		return;
	}
	if (fam == 4) {
		ext_str(out, v4key, s);
	} else {
		ext_str(out, v6key, s);
		char lk[32];
		snprintf(lk, sizeof lk, "%sLabel", v6key);
		ext_str(out, lk, v6label);
	}
}

int lx_cef_severity(struct json_object *rec)
{
	const char *ev = lx_json_str(rec, "event");
	struct json_object *d = lx_json_data(rec);
	if (!ev)
		return 5;
	if (strcmp(ev, "flow.decision") == 0) {
		const char *a = lx_json_str(d, "action");
		return a && strcmp(a, "allow") == 0 ? 1 : 5;
	}
	if (strcmp(ev, "mail.sanitized") == 0) {
		struct json_object *r = lx_json_get(d, "removed");
		const char *v = lx_json_str(d, "verdict");
		if (v && strcmp(v, "delivered") != 0)
			return 5;
		return r && json_object_is_type(r, json_type_array) && json_object_array_length(r) > 0 ? 4 : 2;
	}
	if (strcmp(ev, "audit.lost") == 0)
		return 8;
	if (strcmp(ev, "clock.status") == 0) {
		bool synced = true;
		lx_json_bool(d, "synchronized", &synced);
		return synced ? 1 : 6;
	}
	if (strcmp(ev, "config.change") == 0 || strncmp(ev, "policy.", 7) == 0)
		return 4;
	/* the file portals: a failed login or a refused request is what an
	 * attack looks like; an original leaving the quarantine is rare and
	 * approved */
	if (!strcmp(ev, "portal.login_failed") || !strcmp(ev, "upload.login_failed") || !strcmp(ev, "portal.refused") ||
	    !strcmp(ev, "upload.refused"))
		return 6;
	if (!strcmp(ev, "portal.approve") || !strcmp(ev, "portal.release") || !strcmp(ev, "file.released") ||
	    !strcmp(ev, "portal.revoke"))
		return 4;
	return 2;
}

/* Human name of an event (the CEF "Name" header field). */
static const char *event_name(const char *ev, struct json_object *d)
{
	static const struct {
		const char *ev, *name;
	} names[] = {
		{"mail.sanitized", "Mail sanitised"},
		{"policy.compile", "Policy compiled"},
		{"policy.load", "Policy loaded"},
		{"config.change", "Configuration changed"},
		{"lifecycle.start", "Component started"},
		{"lifecycle.stop", "Component stopped"},
		{"clock.status", "Clock status"},
		{"audit.lost", "Audit records lost"},
		{"log.open", "Audit log opened"},
		{"log.resume", "Audit log resumed"},
		{"log.close", "Audit log closed"},
		{"log.retention", "Audit files removed by retention"},
		{"file.sanitized", "File sanitised"},
		{"portal.view", "Portal link viewed"},
		{"portal.start", "Portal started"},
		{"portal.stop", "Portal stopped"},
		{"portal.download", "Safe copy downloaded"},
		{"portal.ppap", "PPAP password entered"},
		{"portal.request", "Original requested"},
		{"portal.approve", "Original approved"},
		{"portal.deny", "Original denied"},
		{"portal.release", "Original downloaded"},
		{"portal.login", "Portal login"},
		{"portal.login_failed", "Portal login failed"},
		{"portal.logout", "Portal logout"},
		{"portal.refused", "Portal request refused"},
		{"portal.revoke", "Portal link revoked"},
		{"upload.login", "Upload portal login"},
		{"upload.login_failed", "Upload portal login failed"},
		{"upload.received", "Upload received"},
		{"upload.refused", "Upload refused"},
		{"file.released", "Original released"},
		{"mail.copies_sent", "Safe copies sent by mail"},
		{"mail.upload_notice", "Upload notification sent"},
	};
	if (!ev)
		return "Unknown record";
	if (strcmp(ev, "flow.decision") == 0) {
		const char *a = lx_json_str(d, "action");
		if (!a)
			return "Flow decision";
		return strcmp(a, "allow") == 0     ? "Flow allowed"
			: strcmp(a, "reject") == 0 ? "Flow rejected"
						   : "Flow denied";
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(ev, names[i].ev) == 0)
			return names[i].name;
	return ev;
}

static void header(struct strbuf *out, const char *version, const char *sig, const char *name, int sev)
{
	strbuf_puts(out, "CEF:0|sekisho|sekisho|");
	lx_cef_escape_header(out, version, strlen(version));
	strbuf_putc(out, '|');
	struct strbuf t = STRBUF_INIT;
	lx_json_utf8_repair(&t, sig, strlen(sig));
	lx_json_utf8_cut(&t, 100);
	lx_cef_escape_header(out, t.buf ? t.buf : "", t.len);
	strbuf_putc(out, '|');
	strbuf_reset(&t);
	lx_json_utf8_repair(&t, name, strlen(name));
	lx_json_utf8_cut(&t, 512);
	lx_cef_escape_header(out, t.buf ? t.buf : "", t.len);
	strbuf_printf(out, "|%d|", sev);
	strbuf_free(&t);
}

void lx_cef_record(struct strbuf *sb, const char *version, struct json_object *rec, const char *status, bool mac_ok,
		   const char *file, unsigned long long line_no)
{
	const char *ev = lx_json_str(rec, "event");
	struct json_object *d = lx_json_data(rec);
	bool trusted = mac_ok && strcmp(status, "ok") == 0;
	int sev = mac_ok ? lx_cef_severity(rec) : 10;
	if (mac_ok && !trusted && sev < 7)
		sev = 7;
	header(sb, version, ev ? ev : "unknown", mac_ok ? event_name(ev, d) : "Unverified record (MAC failed)", sev);
	struct ext e = {sb, sb->len}, *out = &e;

	const char *ts = lx_json_str(rec, "ts");
	int64_t ns;
	if (ts && lx_time_parse(ts, &ns) == 0) {
		char b[24];
		snprintf(b, sizeof b, "%lld", (long long)lx_time_ms(ns));
		ext_str(out, "rt", b);
	}
	ext_str(out, "dvchost", lx_json_str(rec, "host"));
	ext_str(out, "deviceFacility", lx_json_str(rec, "component"));
	ext_json(out, "externalId", lx_json_get(rec, "seq"));
	if (!ev) {
		/* nothing else is known about it */
	} else if (strcmp(ev, "flow.decision") == 0) {
		ext_json(out, "act", lx_json_get(d, "action"));
		ext_addr(out, "src", "c6a2", "Source IPv6 Address", lx_json_get(d, "src"));
		ext_json(out, "spt", lx_json_get(d, "sport"));
		ext_addr(out, "dst", "c6a3", "Destination IPv6 Address", lx_json_get(d, "dst"));
		ext_json(out, "dpt", lx_json_get(d, "dport"));
		ext_json(out, "proto", lx_json_get(d, "proto"));
		ext_json(out, "deviceInboundInterface", lx_json_get(d, "in_if"));
		ext_json(out, "deviceOutboundInterface", lx_json_get(d, "out_if"));
		ext_json(out, "reason", lx_json_get(d, "reason"));
		ext_json(out, "msg", lx_json_get(d, "rule_name"));
		ext_labelled(out, "cs1", "fromZone", lx_json_get(d, "from_zone"));
		ext_labelled(out, "cs2", "toZone", lx_json_get(d, "to_zone"));
		ext_labelled(out, "cs3", "ruleId", lx_json_get(d, "rule_id"));
		ext_labelled(out, "cs4", "ruleAt", lx_json_get(d, "rule_at"));
		ext_labelled(out, "cs5", "policySha256", lx_json_get(d, "policy_sha256"));
		ext_labelled(out, "cn2", "tableGeneration", lx_json_get(d, "table_gen"));
	} else if (strcmp(ev, "mail.sanitized") == 0) {
		ext_json(out, "suser", lx_json_get(d, "env_from"));
		ext_join(out, "duser", lx_json_get(d, "env_to"), NULL);
		ext_json(out, "msg", lx_json_get(d, "subject"));
		ext_join(out, "act", lx_json_get(d, "actions"), NULL);
		ext_json(out, "outcome", lx_json_get(d, "verdict"));
		ext_json(out, "fsize", lx_json_get(d, "size"));
		ext_join(out, "fname", lx_json_get(d, "removed"), "name");
		ext_join(out, "fileType", lx_json_get(d, "removed"), "detected_type");
		ext_join(out, "fileHash", lx_json_get(d, "removed"), "sha256");
		ext_labelled(out, "cs1", "queueId", lx_json_get(d, "queue_id"));
		ext_labelled(out, "cs2", "messageId", lx_json_get(d, "message_id"));
		ext_labelled(out, "cs3", "originalSha256", lx_json_get(d, "original_sha256"));
		ext_labelled(out, "cs4", "outputSha256", lx_json_get(d, "output_sha256"));
		struct json_object *r = lx_json_get(d, "removed");
		if (r && json_object_is_type(r, json_type_array)) {
			char b[24];
			snprintf(b, sizeof b, "%zu", json_object_array_length(r));
			ext_str(out, "cn1", b);
			ext_str(out, "cn1Label", "attachmentsRemoved");
		}
	} else if (d) {
		/* other events: the data object itself, as JSON */
		ext_json(out, "msg", d);
	}
	ext_json(out, "cs6", lx_json_get(rec, "mac"));
	ext_str(out, "cs6Label", "mac");
	if (!trusted) {
		ext_str(out, "flexString1", mac_ok ? status : "mac-failed");
		ext_str(out, "flexString1Label", "verify");
		char loc[300];
		snprintf(loc, sizeof loc, "%s:%llu", file ? file : "?", line_no);
		ext_str(out, "flexString2", loc);
		ext_str(out, "flexString2Label", "position");
	}
	strbuf_putc(sb, '\n');
}

void lx_cef_notice(struct strbuf *sb, const char *version, const char *signature, const char *name, const char *host,
		   const char *text)
{
	header(sb, version, signature, name, 10);
	struct ext e = {sb, sb->len};
	ext_str(&e, "dvchost", host);
	ext_str(&e, "msg", text);
	strbuf_putc(sb, '\n');
}
