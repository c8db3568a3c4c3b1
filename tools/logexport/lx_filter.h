/* lx_filter: which records an export (or report) takes.
 *
 * Options of the same kind are alternatives (any may match); different
 * kinds must all match.  A filter on a field that a record does not have
 * does not match that record.  Records are hostile input: matching only
 * reads them.  The filter owns copies of its arguments; lx_filter_free
 * releases them (the struct itself is the caller's).  Every list is
 * capped (LX_FILTER_MAX per kind). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"

struct json_object;

#define LX_FILTER_MAX 256

enum lx_filter_kind {
	LX_F_SINCE = 1, /* RFC 3339 or YYYY-MM-DD, inclusive */
	LX_F_UNTIL,     /* exclusive; a plain date includes that whole day */
	LX_F_COMPONENT, /* glob */
	LX_F_EVENT,     /* glob (fnmatch) */
	LX_F_ZONE_PAIR, /* FROM:TO, each a glob, empty = any */
	LX_F_RULE,      /* data.rule_id as text, data.rule_at (FILE:LINE) or data.rule_name; exact */
	LX_F_ADDRESS,   /* ADDR, ADDR/LEN or ADDR-ADDR: any address field */
	LX_F_SENDER,    /* glob, case-insensitive, data.env_from (or data.sender) */
	LX_F_RECIPIENT, /* glob, case-insensitive, any of data.env_to (or data.recipients) */
};

struct lx_filter_span {
	int family;
	u128 lo, hi;
};

struct lx_filter {
	bool has_since, has_until;
	int64_t since_ns, until_ns;
	char **component;
	size_t ncomponent;
	char **event;
	size_t nevent;
	char **zone_from, **zone_to;
	size_t nzone;
	char **rule;
	size_t nrule;
	struct lx_filter_span *addr;
	size_t naddr;
	char **sender;
	size_t nsender;
	char **recipient;
	size_t nrecipient;
};

#define LX_FILTER_INIT \
	{              \
		0      \
	}

/* Add one option.  0, or -EINVAL (bad argument) / -E2BIG (too many), with
 * a reason in why. */
int lx_filter_add(struct lx_filter *f, enum lx_filter_kind kind, const char *arg, char *why, size_t whylen);

/* Does the record match?  ts_ns/has_ts: the record's parsed time (records
 * without a time never match a time filter). */
bool lx_filter_match(const struct lx_filter *f, struct json_object *rec, int64_t ts_ns, bool has_ts);

/* Could a record with this event name pass the --event filter?  (Decides
 * the CSV column set before any record is read.) */
bool lx_filter_event_selected(const struct lx_filter *f, const char *event);

/* Is there any filter besides time and component? */
bool lx_filter_is_set(const struct lx_filter *f);

void lx_filter_free(struct lx_filter *f);
