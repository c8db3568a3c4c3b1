/* lx_stats: report aggregation (see lx_stats.h).
 *
 * Contract: records are hostile; every string is copied into fixed-size
 * fields (cut, never overflowing) or into capped tallies; tab characters
 * inside keys are replaced so composite keys cannot be forged. */
#include "tools/logexport/lx_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "tools/logexport/lx_json.h"
#include "tools/logexport/lx_time.h"

struct lx_stats *lx_stats_new(void)
{
	struct lx_stats *st = xcalloc(1, sizeof *st);
	st->days = lx_tally_new();
	st->hosts = lx_tally_new();
	st->events = lx_tally_new();
	st->day_flow = lx_tally_new();
	st->pairs = lx_tally_new();
	st->day_pairs = lx_tally_new();
	st->zone_desc = lx_tally_new();
	st->denied_src = lx_tally_new();
	st->day_mail = lx_tally_new();
	st->day_att = lx_tally_new();
	st->att_types = lx_tally_new();
	st->policy_names = lx_tally_new();
	st->portal_failed = lx_tally_new();
	st->portal_refused = lx_tally_new();
	st->portal_who = lx_tally_new();
	return st;
}

void lx_stats_free(struct lx_stats *st)
{
	if (!st)
		return;
	lx_tally_free(st->days);
	lx_tally_free(st->hosts);
	lx_tally_free(st->events);
	lx_tally_free(st->day_flow);
	lx_tally_free(st->pairs);
	lx_tally_free(st->day_pairs);
	lx_tally_free(st->zone_desc);
	lx_tally_free(st->denied_src);
	lx_tally_free(st->day_mail);
	lx_tally_free(st->day_att);
	lx_tally_free(st->att_types);
	lx_tally_free(st->policy_names);
	lx_tally_free(st->portal_failed);
	lx_tally_free(st->portal_refused);
	lx_tally_free(st->portal_who);
	free(st->originals);
	free(st->policies);
	free(st->clocks);
	free(st->changes);
	free(st);
}

/* Copy a value's text into a fixed field, valid UTF-8, cut on a character
 * boundary, tabs and line breaks made spaces. */
static void field(char *dst, size_t n, struct json_object *v)
{
	struct strbuf t = STRBUF_INIT;
	lx_json_text(v, &t);
	lx_json_utf8_cut(&t, n - 1);
	for (size_t i = 0; i < t.len; i++)
		if (t.buf[i] == '\t' || t.buf[i] == '\n' || t.buf[i] == '\r')
			t.buf[i] = ' ';
	memcpy(dst, strbuf_str(&t), t.len + 1);
	strbuf_free(&t);
}

/* A key part: the value's text, capped at 200 bytes, no tabs. */
static char *part(struct json_object *v, const char *dflt)
{
	char buf[201];
	field(buf, sizeof buf, v);
	return xstrdup(buf[0] ? buf : dflt);
}

static void add_policy(struct lx_stats *st, struct json_object *rec, struct json_object *d, bool in_period)
{
	struct lx_stats_policy p = {0};
	field(p.ts, sizeof p.ts, lx_json_get(rec, "ts"));
	field(p.host, sizeof p.host, lx_json_get(rec, "host"));
	field(p.component, sizeof p.component, lx_json_get(rec, "component"));
	field(p.event, sizeof p.event, lx_json_get(rec, "event"));
	field(p.sha256, sizeof p.sha256, lx_json_get(d, "policy_sha256"));
	struct json_object *name = lx_json_get(d, "policy_name");
	if (name && p.sha256[0] && strcmp(p.event, "policy.compile") == 0) {
		char nm[160];
		field(nm, sizeof nm, name);
		lx_tally_add(st->policy_names, p.sha256, nm, 1);
	}
	/* a load names the policy its compilation named */
	size_t n;
	const struct lx_tally_entry **known = name || !p.sha256[0] ? NULL : lx_tally_sorted(st->policy_names, &n);
	for (size_t i = 0; known && i < n; i++)
		if (strcmp(known[i]->key, p.sha256) == 0 && known[i]->extra)
			snprintf(p.name, sizeof p.name, "%s", known[i]->extra);
	free(known);
	if (!name && !p.name[0])
		name = lx_json_get(d, "file");
	if (!name && !p.name[0])
		name = lx_json_get(d, "table");
	if (name)
		field(p.name, sizeof p.name, name);
	struct json_object *ver = lx_json_get(d, "version");
	if (!ver)
		ver = lx_json_get(d, "policy_version");
	field(p.version, sizeof p.version, ver);
	uint64_t gen;
	if (!p.version[0] && lx_json_u64(d, "generation", &gen))
		snprintf(p.version, sizeof p.version, "gen %llu", (unsigned long long)gen);
	field(p.table_sha256, sizeof p.table_sha256, lx_json_get(d, "table_sha256"));
	field(p.result, sizeof p.result, lx_json_get(d, "result"));
	if (!in_period) {
		if (strcmp(p.event, "policy.load") == 0) {
			p.before_period = true;
			st->before = p;
			st->have_before = true;
		}
		return;
	}
	if (st->npolicies >= LX_STATS_LIST_MAX) {
		st->policies_dropped++;
		return;
	}
	st->policies = xreallocarray(st->policies, st->npolicies + 1, sizeof *st->policies);
	st->policies[st->npolicies++] = p;
}

static void add_clock(struct lx_stats *st, struct json_object *rec, struct json_object *d)
{
	st->clock_records++;
	bool synced = false;
	lx_json_bool(d, "synchronized", &synced);
	struct json_object *off = lx_json_get(d, "offset_us");
	if (off && json_object_is_type(off, json_type_int)) {
		int64_t o = json_object_get_int64(off);
		if (o < 0)
			o = o == INT64_MIN ? INT64_MAX : -o;
		if (!st->have_clock_offset || o > st->clock_max_offset_us)
			st->clock_max_offset_us = o;
		st->have_clock_offset = true;
	}
	if (synced)
		return;
	st->clock_unsynced++;
	if (st->nclocks >= LX_STATS_LIST_MAX) {
		st->clocks_dropped++;
		return;
	}
	struct lx_stats_clock c = {.synced = synced};
	field(c.ts, sizeof c.ts, lx_json_get(rec, "ts"));
	field(c.host, sizeof c.host, lx_json_get(rec, "host"));
	field(c.source, sizeof c.source, lx_json_get(d, "source"));
	struct json_object *me = lx_json_get(d, "maxerror_us");
	c.maxerror_us = me && json_object_is_type(me, json_type_int) ? json_object_get_int64(me) : -1;
	c.offset_us = off && json_object_is_type(off, json_type_int) ? json_object_get_int64(off) : 0;
	st->clocks = xreallocarray(st->clocks, st->nclocks + 1, sizeof *st->clocks);
	st->clocks[st->nclocks++] = c;
}

static void add_change(struct lx_stats *st, struct json_object *rec, struct json_object *d)
{
	if (st->nchanges >= LX_STATS_LIST_MAX) {
		st->changes_dropped++;
		return;
	}
	struct lx_stats_change c = {0};
	field(c.ts, sizeof c.ts, lx_json_get(rec, "ts"));
	field(c.host, sizeof c.host, lx_json_get(rec, "host"));
	field(c.what, sizeof c.what, lx_json_get(d, "what"));
	field(c.old_sha256, sizeof c.old_sha256, lx_json_get(d, "old_sha256"));
	field(c.new_sha256, sizeof c.new_sha256, lx_json_get(d, "new_sha256"));
	field(c.user, sizeof c.user, lx_json_get(d, "user"));
	field(c.via, sizeof c.via, lx_json_get(d, "via"));
	st->changes = xreallocarray(st->changes, st->nchanges + 1, sizeof *st->changes);
	st->changes[st->nchanges++] = c;
}

static void add_flow(struct lx_stats *st, const char *day, struct json_object *d)
{
	const char *action = lx_json_str(d, "action");
	bool allowed = action && strcmp(action, "allow") == 0;
	char *from = part(lx_json_get(d, "from_zone"), "?");
	char *to = part(lx_json_get(d, "to_zone"), "?");
	char key[700];
	snprintf(key, sizeof key, "%s\t%s", day, allowed ? "A" : "D");
	lx_tally_add(st->day_flow, key, NULL, 1);
	snprintf(key, sizeof key, "%s\t%s\t%s", from, to, allowed ? "A" : "D");
	lx_tally_add(st->pairs, key, NULL, 1);
	snprintf(key, sizeof key, "%s\t%s\t%s\t%s", day, from, to, allowed ? "A" : "D");
	lx_tally_add(st->day_pairs, key, NULL, 1);
	const char *fd = lx_json_str(d, "from_zone_desc"), *td = lx_json_str(d, "to_zone_desc");
	if (fd && *fd)
		lx_tally_add(st->zone_desc, from, fd, 1);
	if (td && *td)
		lx_tally_add(st->zone_desc, to, td, 1);
	if (allowed) {
		st->flows_allowed++;
	} else {
		st->flows_denied++;
		char *src = part(lx_json_get(d, "src"), "?");
		snprintf(key, sizeof key, "%s → %s", from, to);
		lx_tally_add(st->denied_src, src, key, 1);
		free(src);
	}
	free(from);
	free(to);
}

static void add_mail(struct lx_stats *st, const char *day, struct json_object *d)
{
	st->mails++;
	lx_tally_add(st->day_mail, day, NULL, 1);
	struct json_object *r = lx_json_get(d, "removed");
	if (!r || !json_object_is_type(r, json_type_array))
		return;
	size_t n = json_object_array_length(r);
	if (n)
		st->mails_with_removed++;
	st->attachments += n;
	lx_tally_add(st->day_att, day, NULL, n);
	for (size_t i = 0; i < n; i++) {
		char *t = part(lx_json_get(json_object_array_get_idx(r, i), "detected_type"), "unknown");
		lx_tally_add(st->att_types, t, NULL, 1);
		free(t);
	}
}

bool lx_stats_portal_event(const char *ev)
{
	return !strncmp(ev, "portal.", 7) || !strncmp(ev, "upload.", 7) || !strcmp(ev, "file.released") ||
		!strcmp(ev, "mail.copies_sent") || !strcmp(ev, "mail.upload_notice");
}

/* The first of the members that is present (a list is joined with ", "). */
static void first_of(char *dst, size_t n, struct json_object *d, const char *const *keys)
{
	dst[0] = '\0';
	for (; *keys && !dst[0]; keys++) {
		struct json_object *v = lx_json_get(d, *keys);
		if (v && json_object_is_type(v, json_type_array)) {
			struct strbuf t = STRBUF_INIT;
			for (size_t i = 0; i < json_object_array_length(v) && i < 8; i++) {
				char one[64];
				field(one, sizeof one, json_object_array_get_idx(v, i));
				strbuf_printf(&t, "%s%s", i ? ", " : "", one);
			}
			snprintf(dst, n, "%s", strbuf_str(&t));
			strbuf_free(&t);
		} else if (v) {
			field(dst, n, v);
		}
	}
}

static void add_portal(struct lx_stats *st, const char *ev, struct json_object *rec, struct json_object *d)
{
	static const char *const who_keys[] = {"user", "approvers", "approver", "uploader", NULL};
	static const char *const peer_keys[] = {"peer", NULL};
	static const char *const reason_keys[] = {"reason", NULL};
	char who[128], peer[64], reason[64], key[400];
	st->portal_records++;
	first_of(who, sizeof who, d, who_keys);
	first_of(peer, sizeof peer, d, peer_keys);
	if (!strcmp(ev, "portal.login_failed") || !strcmp(ev, "upload.login_failed")) {
		snprintf(key, sizeof key, "%s\t%s", who[0] ? who : "?", peer[0] ? peer : "?");
		lx_tally_add(st->portal_failed, key, ev, 1);
		return;
	}
	if (!strcmp(ev, "portal.refused") || !strcmp(ev, "upload.refused")) {
		first_of(reason, sizeof reason, d, reason_keys);
		snprintf(key, sizeof key, "%s\t%s", ev, reason[0] ? reason : "?");
		lx_tally_add(st->portal_refused, key, NULL, 1);
		return;
	}
	bool original = !strcmp(ev, "portal.request") || !strcmp(ev, "portal.approve") || !strcmp(ev, "portal.deny") ||
		!strcmp(ev, "portal.release") || !strcmp(ev, "file.released");
	if (who[0] && (original || !strcmp(ev, "upload.received"))) {
		snprintf(key, sizeof key, "%s\t%s", ev, who);
		lx_tally_add(st->portal_who, key, NULL, 1);
	}
	if (!original)
		return;
	if (st->noriginals >= LX_STATS_LIST_MAX) {
		st->originals_dropped++;
		return;
	}
	struct lx_stats_original o = {0};
	static const char *const req_keys[] = {"request", "id", NULL};
	static const char *const detail_keys[] = {"reason", "comment", NULL};
	field(o.ts, sizeof o.ts, lx_json_get(rec, "ts"));
	field(o.host, sizeof o.host, lx_json_get(rec, "host"));
	snprintf(o.event, sizeof o.event, "%s", ev);
	first_of(o.request, sizeof o.request, d, req_keys);
	field(o.name, sizeof o.name, lx_json_get(d, "name"));
	field(o.sha256, sizeof o.sha256, lx_json_get(d, "sha256"));
	snprintf(o.who, sizeof o.who, "%s", who[0] ? who : peer);
	first_of(o.detail, sizeof o.detail, d, detail_keys);
	st->originals = xreallocarray(st->originals, st->noriginals + 1, sizeof *st->originals);
	st->originals[st->noriginals++] = o;
}

void lx_stats_add(struct lx_stats *st, struct json_object *rec, bool in_period)
{
	const char *ev = lx_json_str(rec, "event");
	struct json_object *d = lx_json_data(rec);
	if (!ev)
		return;
	if (strcmp(ev, "policy.load") == 0 || strcmp(ev, "policy.compile") == 0)
		add_policy(st, rec, d, in_period);
	if (!in_period)
		return;
	const char *ts = lx_json_str(rec, "ts");
	char day[11];
	if (!lx_time_day(ts, day))
		snprintf(day, sizeof day, "?");
	st->records++;
	if (ts && (!st->first_ts[0] || strcmp(ts, st->first_ts) < 0))
		snprintf(st->first_ts, sizeof st->first_ts, "%s", ts);
	if (ts && strcmp(ts, st->last_ts) > 0)
		snprintf(st->last_ts, sizeof st->last_ts, "%s", ts);
	lx_tally_add(st->days, day, NULL, 1);
	char *host = part(lx_json_get(rec, "host"), "?");
	lx_tally_add(st->hosts, host, NULL, 1);
	free(host);
	lx_tally_add(st->events, ev, NULL, 1);
	if (strcmp(ev, "flow.decision") == 0)
		add_flow(st, day, d);
	else if (strcmp(ev, "mail.sanitized") == 0)
		add_mail(st, day, d);
	else if (strcmp(ev, "clock.status") == 0)
		add_clock(st, rec, d);
	else if (strcmp(ev, "config.change") == 0)
		add_change(st, rec, d);
	else if (lx_stats_portal_event(ev))
		add_portal(st, ev, rec, d);
	else if (strcmp(ev, "lifecycle.start") == 0)
		st->lifecycle_starts++;
	else if (strcmp(ev, "lifecycle.stop") == 0)
		st->lifecycle_stops++;
	else if (strcmp(ev, "audit.lost") == 0) {
		uint64_t n = 0;
		lx_json_u64(d, "count", &n);
		st->lost_records += n;
		st->lost_reports++;
	}
}
