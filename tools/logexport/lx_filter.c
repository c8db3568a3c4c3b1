/* lx_filter: record selection for export and report (see lx_filter.h).
 *
 * Contract: arguments are validated when added (times parse, addresses are
 * proper spans, globs are non-empty); matching reads records through
 * lx_json and never fails, it only says no.  Address matching walks every
 * string in "data" (to depth LX_ADDR_DEPTH, at most LX_ADDR_VALUES strings)
 * so that new address fields are covered without a schema change. */
#include "tools/logexport/lx_filter.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/xalloc.h"
#include "tools/logexport/lx_json.h"
#include "tools/logexport/lx_time.h"

#define LX_ADDR_DEPTH 4
#define LX_ADDR_VALUES 4096
#define LX_ARG_MAX 1024

__attribute__((format(printf, 3, 4))) static void why_set(char *why, size_t n, const char *fmt, ...)
{
	if (!why || !n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

static int push(char ***v, size_t *n, const char *s)
{
	if (*n >= LX_FILTER_MAX)
		return -E2BIG;
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	return 0;
}

int lx_filter_add(struct lx_filter *f, enum lx_filter_kind kind, const char *arg, char *why, size_t whylen)
{
	if (!arg || !*arg) {
		why_set(why, whylen, "empty argument");
		return -EINVAL;
	}
	if (strlen(arg) > LX_ARG_MAX) {
		why_set(why, whylen, "argument longer than %d bytes", LX_ARG_MAX);
		return -EINVAL;
	}
	int r = 0;
	switch (kind) {
	case LX_F_SINCE:
	case LX_F_UNTIL: {
		int64_t ns;
		if (lx_time_parse_arg(arg, kind == LX_F_UNTIL, &ns) < 0) {
			why_set(why, whylen, "'%s' is not RFC 3339 (2026-11-22T09:00:00+09:00) or YYYY-MM-DD", arg);
			return -EINVAL;
		}
		if (kind == LX_F_SINCE) {
			f->has_since = true;
			f->since_ns = ns;
		} else {
			f->has_until = true;
			f->until_ns = ns;
		}
		return 0;
	}
	case LX_F_COMPONENT:
		r = push(&f->component, &f->ncomponent, arg);
		break;
	case LX_F_EVENT:
		r = push(&f->event, &f->nevent, arg);
		break;
	case LX_F_ZONE_PAIR: {
		const char *colon = strchr(arg, ':');
		if (!colon || strchr(colon + 1, ':')) {
			why_set(why, whylen, "'%s' is not FROM:TO (a zone name or glob on each side, empty = any)",
				arg);
			return -EINVAL;
		}
		if (f->nzone >= LX_FILTER_MAX)
			return -E2BIG;
		char *from = xstrndup(arg, (size_t)(colon - arg));
		char *to = xstrdup(colon + 1);
		f->zone_from = xreallocarray(f->zone_from, f->nzone + 1, sizeof *f->zone_from);
		f->zone_to = xreallocarray(f->zone_to, f->nzone + 1, sizeof *f->zone_to);
		f->zone_from[f->nzone] = from;
		f->zone_to[f->nzone] = to;
		f->nzone++;
		return 0;
	}
	case LX_F_RULE:
		r = push(&f->rule, &f->nrule, arg);
		break;
	case LX_F_ADDRESS: {
		struct lx_filter_span sp;
		int e = inaddr_parse_span(arg, strlen(arg), &sp.family, &sp.lo, &sp.hi);
		if (e == -EDOM) {
			why_set(why, whylen, "'%s': the prefix has host bits set", arg);
			return -EINVAL;
		}
		if (e < 0) {
			why_set(why, whylen, "'%s' is not an address, ADDR/LEN or ADDR-ADDR", arg);
			return -EINVAL;
		}
		if (f->naddr >= LX_FILTER_MAX)
			return -E2BIG;
		f->addr = xreallocarray(f->addr, f->naddr + 1, sizeof *f->addr);
		f->addr[f->naddr++] = sp;
		return 0;
	}
	case LX_F_SENDER:
		r = push(&f->sender, &f->nsender, arg);
		break;
	case LX_F_RECIPIENT:
		r = push(&f->recipient, &f->nrecipient, arg);
		break;
	default:
		return -EINVAL;
	}
	if (r == -E2BIG)
		why_set(why, whylen, "too many filters of one kind (at most %d)", LX_FILTER_MAX);
	return r;
}

static bool any_glob(char *const *globs, size_t n, const char *s, int flags)
{
	if (!s)
		return false;
	for (size_t i = 0; i < n; i++)
		if (fnmatch(globs[i], s, flags) == 0)
			return true;
	return false;
}

static bool glob_or_any(const char *glob, const char *s)
{
	if (!*glob)
		return true;
	return s && fnmatch(glob, s, 0) == 0;
}

/* A scalar member as text for exact comparison (rule ids may be numbers
 * or strings). */
static bool scalar_equals(struct json_object *v, const char *want)
{
	if (!v)
		return false;
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), want) == 0;
	if (json_object_is_type(v, json_type_int))
		return strcmp(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), want) == 0;
	return false;
}

struct addr_walk {
	const struct lx_filter *f;
	size_t seen;
	bool hit;
};

static bool addr_in_spans(const struct lx_filter *f, const char *s, size_t n)
{
	if (n == 0 || n >= INADDR_STRLEN)
		return false;
	int fam;
	u128 a;
	if (inaddr_parsen(s, n, &fam, &a) < 0)
		return false;
	for (size_t i = 0; i < f->naddr; i++)
		if (f->addr[i].family == fam && a >= f->addr[i].lo && a <= f->addr[i].hi)
			return true;
	return false;
}

static void addr_walk(struct addr_walk *w, struct json_object *v, int depth)
{
	if (!v || w->hit || depth > LX_ADDR_DEPTH || w->seen >= LX_ADDR_VALUES)
		return;
	switch (json_object_get_type(v)) {
	case json_type_string:
		w->seen++;
		if (addr_in_spans(w->f, json_object_get_string(v), (size_t)json_object_get_string_len(v)))
			w->hit = true;
		return;
	case json_type_array: {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n && !w->hit; i++)
			addr_walk(w, json_object_array_get_idx(v, i), depth + 1);
		return;
	}
	case json_type_object: {
		json_object_object_foreach(v, key, val)
		{
			(void)key;
			addr_walk(w, val, depth + 1);
			if (w->hit)
				return;
		}
		return;
	}
	default:
		return;
	}
}

/* Recipients: data.env_to (docs/audit.md), or a producer's "recipients"
 * list; each may also be a single string. */
static bool recipients_match(const struct lx_filter *f, struct json_object *data)
{
	static const char *const keys[] = {"env_to", "recipients"};
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		struct json_object *r = lx_json_get(data, keys[k]);
		if (r && json_object_is_type(r, json_type_array)) {
			size_t n = json_object_array_length(r);
			for (size_t i = 0; i < n; i++) {
				struct json_object *e = json_object_array_get_idx(r, i);
				if (e && json_object_is_type(e, json_type_string) &&
				    any_glob(f->recipient, f->nrecipient, json_object_get_string(e), FNM_CASEFOLD))
					return true;
			}
		} else if (any_glob(f->recipient, f->nrecipient, lx_json_str(data, keys[k]), FNM_CASEFOLD)) {
			return true;
		}
	}
	return false;
}

bool lx_filter_match(const struct lx_filter *f, struct json_object *rec, int64_t ts_ns, bool has_ts)
{
	if ((f->has_since || f->has_until) && !has_ts)
		return false;
	if (f->has_since && ts_ns < f->since_ns)
		return false;
	if (f->has_until && ts_ns >= f->until_ns)
		return false;
	if (f->ncomponent && !any_glob(f->component, f->ncomponent, lx_json_str(rec, "component"), FNM_NOESCAPE))
		return false;
	if (f->nevent && !any_glob(f->event, f->nevent, lx_json_str(rec, "event"), 0))
		return false;
	struct json_object *data = lx_json_data(rec);
	if (f->nzone) {
		const char *from = lx_json_str(data, "from_zone"), *to = lx_json_str(data, "to_zone");
		bool ok = false;
		for (size_t i = 0; i < f->nzone && !ok; i++)
			ok = (from || to) && glob_or_any(f->zone_from[i], from) && glob_or_any(f->zone_to[i], to);
		if (!ok)
			return false;
	}
	if (f->nrule) {
		bool ok = false;
		for (size_t i = 0; i < f->nrule && !ok; i++)
			ok = scalar_equals(lx_json_get(data, "rule_id"), f->rule[i]) ||
				scalar_equals(lx_json_get(data, "rule_at"), f->rule[i]) ||
				scalar_equals(lx_json_get(data, "rule_name"), f->rule[i]);
		if (!ok)
			return false;
	}
	if (f->naddr) {
		struct addr_walk w = {.f = f};
		addr_walk(&w, data, 0);
		if (!w.hit)
			return false;
	}
	if (f->nsender && !any_glob(f->sender, f->nsender, lx_json_str(data, "env_from"), FNM_CASEFOLD) &&
	    !any_glob(f->sender, f->nsender, lx_json_str(data, "sender"), FNM_CASEFOLD))
		return false;
	if (f->nrecipient && !recipients_match(f, data))
		return false;
	return true;
}

bool lx_filter_event_selected(const struct lx_filter *f, const char *event)
{
	return f->nevent == 0 || any_glob(f->event, f->nevent, event, 0);
}

bool lx_filter_is_set(const struct lx_filter *f)
{
	return f->nevent || f->nzone || f->nrule || f->naddr || f->nsender || f->nrecipient;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void lx_filter_free(struct lx_filter *f)
{
	if (!f)
		return;
	free_list(f->component, f->ncomponent);
	free_list(f->event, f->nevent);
	free_list(f->zone_from, f->nzone);
	free_list(f->zone_to, f->nzone);
	free_list(f->rule, f->nrule);
	free(f->addr);
	free_list(f->sender, f->nsender);
	free_list(f->recipient, f->nrecipient);
	*f = (struct lx_filter)LX_FILTER_INIT;
}
