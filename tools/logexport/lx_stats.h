/* lx_stats: what a report shows, aggregated from verified records.
 *
 * Fed one record at a time (any order across chains), it counts per local
 * day (the date in the record's ts: the appliance's own day): flows
 * allowed and denied per zone pair, denied sources, mails sanitised,
 * attachments removed by true type; it keeps policy loads/compilations
 * (including the last one before the period: the version in force when
 * it began), configuration changes, clock status records and lost-record
 * reports.  Only records whose MAC verifies are counted (the caller
 * decides); lists are capped (LX_STATS_LIST_MAX) and the caps reported.
 * The stats own everything; lx_stats_free releases it.  Allocation
 * failures abort. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/logexport/lx_tally.h"

struct json_object;

#define LX_STATS_LIST_MAX 500

struct lx_stats_policy {
	char ts[40], host[64], component[40], event[24];
	char name[160];   /* policy_name, else file, else table */
	char version[80]; /* version, else "gen N" */
	char sha256[72];  /* policy_sha256 */
	char table_sha256[72];
	char result[40];
	bool before_period; /* the last load before the period: in force at its start */
};

struct lx_stats_clock {
	char ts[40], host[64], source[40];
	bool synced;
	int64_t maxerror_us, offset_us;
};

struct lx_stats_change {
	char ts[40], host[64], what[120], old_sha256[72], new_sha256[72], user[64], via[64];
};

/* One event about an original (the file portals, docs/portal.md):
 * requested, approved, denied, released. */
struct lx_stats_original {
	char ts[40], host[64], event[24];
	char request[64]; /* the request id */
	char name[160];   /* the file's name */
	char sha256[72];  /* the original's SHA-256 */
	char who[128];    /* approver(s) or user; the peer for an anonymous request */
	char detail[200]; /* the requester's reason or the approver's comment */
};

struct lx_stats {
	uint64_t records; /* verified records in the period */
	char first_ts[40], last_ts[40];
	struct lx_tally *days;         /* "YYYY-MM-DD" -> records */
	struct lx_tally *hosts;        /* host -> records */
	struct lx_tally *events;       /* event -> records */
	struct lx_tally *day_flow;     /* "DAY\tA" / "DAY\tD" -> flows */
	struct lx_tally *pairs;        /* "FROM\tTO\tA|D" -> flows */
	struct lx_tally *day_pairs;    /* "DAY\tFROM\tTO\tA|D" -> flows */
	struct lx_tally *zone_desc;    /* zone -> count, extra = description */
	struct lx_tally *denied_src;   /* src -> denied flows, extra = "FROM → TO" first seen */
	struct lx_tally *day_mail;     /* "DAY" -> mails sanitised */
	struct lx_tally *day_att;      /* "DAY" -> attachments removed */
	struct lx_tally *att_types;    /* detected_type -> attachments removed */
	struct lx_tally *policy_names; /* policy_sha256 -> count, extra = policy_name (from policy.compile) */
	uint64_t flows_allowed, flows_denied, mails, mails_with_removed, attachments;
	uint64_t lost_records; /* sum of audit.lost counts */
	uint64_t lost_reports;
	struct lx_stats_policy *policies;
	size_t npolicies;
	uint64_t policies_dropped;
	struct lx_stats_policy before; /* last policy.load before the period */
	bool have_before;
	struct lx_stats_clock *clocks;
	size_t nclocks;
	uint64_t clocks_dropped; /* unsynchronised ones */
	uint64_t clock_records, clock_unsynced;
	int64_t clock_max_offset_us; /* largest |offset_us| seen */
	bool have_clock_offset;
	struct lx_stats_change *changes;
	size_t nchanges;
	uint64_t changes_dropped;
	uint64_t lifecycle_starts, lifecycle_stops;
	uint64_t unverified; /* lines in the period that did not verify (not counted above) */
	/* the file portals: counts per event are in events; these keep who
	 * and why (docs/logexport.md, "report") */
	struct lx_tally *portal_failed;  /* "user\tpeer" -> failed logins, extra = event */
	struct lx_tally *portal_refused; /* "event\treason" -> refusals */
	struct lx_tally *portal_who;     /* "event\tuser" -> approvals, denials, releases, uploads */
	struct lx_stats_original *originals;
	size_t noriginals;
	uint64_t originals_dropped;
	uint64_t portal_records;
};

/* true for an event of the file portals (portal.*, upload.*,
 * file.released, mail.copies_sent, mail.upload_notice) */
bool lx_stats_portal_event(const char *ev);

struct lx_stats *lx_stats_new(void);
void lx_stats_free(struct lx_stats *st);

/* One verified record; in_period false for records before the period
 * (only policy loads are looked at then). */
void lx_stats_add(struct lx_stats *st, struct json_object *rec, bool in_period);
