/* mx_set: metric samples, the family table, Prometheus text and the JSON
 * snapshot (tools/metrics/mx_set.h). */
#include "tools/metrics/mx_set.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "common/xalloc.h"

/* Every metric sekisho exports (docs/metrics.md lists them with their
 * SNMP objects).  Names follow Prometheus conventions: a unit suffix,
 * _total for counters. */
static const struct mx_family families[] = {
	{"sekisho_metrics_collected_timestamp_seconds", MX_GAUGE, "When sekisho-metrics collected these values."},
	{"sekisho_metrics_source_up", MX_GAUGE, "1 when the source could be read in the last collection."},
	{"sekisho_gateway_up", MX_GAUGE, "1 when sekisho-gatewayd answered on its control socket."},
	{"sekisho_gateway_uptime_seconds", MX_GAUGE, "Seconds since sekisho-gatewayd started."},
	{"sekisho_gateway_table_generation", MX_GAUGE, "Generation of the rule table in use."},
	{"sekisho_gateway_packets_total", MX_COUNTER, "Packets the gateway decided on."},
	{"sekisho_gateway_new_flows_total", MX_COUNTER, "New flows decided."},
	{"sekisho_gateway_flows_allowed_total", MX_COUNTER, "Flows allowed."},
	{"sekisho_gateway_flows_denied_total", MX_COUNTER, "Flows denied (dropped)."},
	{"sekisho_gateway_flows_rejected_total", MX_COUNTER, "Flows rejected (refused with a reply)."},
	{"sekisho_gateway_parse_errors_total", MX_COUNTER, "Packets that could not be parsed."},
	{"sekisho_gateway_enobufs_total", MX_COUNTER, "Netlink receive buffer overruns (packets lost to the queue)."},
	{"sekisho_gateway_audit_dropped_total", MX_COUNTER, "Audit records the gateway could not queue."},
	{"sekisho_gateway_reloads_total", MX_COUNTER, "Rule table reloads."},
	{"sekisho_gateway_reload_failures_total", MX_COUNTER, "Rule table reloads refused."},
	{"sekisho_gateway_netfilter_tampers_total", MX_COUNTER, "Changes to sekisho's netfilter ruleset by others."},
	{"sekisho_gateway_netfilter_repairs_total", MX_COUNTER, "Repairs of sekisho's netfilter ruleset."},
	{"sekisho_gateway_rule_hits_total", MX_COUNTER, "Flows decided by each rule."},
	{"sekisho_gateway_zone_pair_flows_total", MX_COUNTER, "Flows per source and destination zone."},
	{"sekisho_gateway_kernel_queue_dropped_total", MX_COUNTER, "Packets the kernel dropped: NFQUEUE full."},
	{"sekisho_gateway_kernel_user_dropped_total", MX_COUNTER,
	 "Packets the kernel dropped: could not be sent to the gateway."},
	{"sekisho_audit_events_total", MX_COUNTER, "Audit records written, by component and event."},
	{"sekisho_audit_lost_total", MX_COUNTER, "Audit records lost (audit.lost counts)."},
	{"sekisho_audit_unreadable_lines_total", MX_COUNTER, "Audit log lines that are not records."},
	{"sekisho_clock_synchronized", MX_GAUGE, "1 when the last clock.status record said synchronised."},
	{"sekisho_mail_sanitized_total", MX_COUNTER, "Mails sanitised."},
	{"sekisho_mail_attachments_removed_total", MX_COUNTER, "Attachments removed from mails."},
	{"sekisho_cdr_jobs_total", MX_COUNTER, "File CDR jobs by result (ok, no-copy, failed, not-queued)."},
	{"sekisho_portal_downloads_total", MX_COUNTER, "Portal downloads: safe copies and released originals."},
	{"sekisho_portal_decisions_total", MX_COUNTER, "Approvers' decisions on requests for originals."},
	{"sekisho_portal_login_failures_total", MX_COUNTER, "Failed logins on the portals."},
	{"sekisho_uploads_total", MX_COUNTER, "Uploads received on the Internet-side portal."},
	{"sekisho_queue_jobs", MX_GAUGE, "Jobs waiting or running in a queue directory."},
	{"sekisho_dir_bytes", MX_GAUGE, "Bytes of the files in a directory (quarantine, copies)."},
};

const struct mx_family *mx_families(size_t *ret_n)
{
	*ret_n = sizeof(families) / sizeof(families[0]);
	return families;
}

const struct mx_family *mx_family(const char *name)
{
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (!strcmp(families[i].name, name))
			return &families[i];
	return NULL;
}

static void fill_labels(struct mx_sample *m, va_list ap)
{
	memset(m->label, 0, sizeof(m->label));
	for (size_t i = 0; i < MX_LABELS; i++) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			return;
		const char *v = va_arg(ap, const char *);
		m->label[i][0] = xstrdup(k);
		m->label[i][1] = xstrdup(v ? v : "");
	}
	if (va_arg(ap, const char *)) {
		fprintf(stderr, "mx_set: more than %d labels\n", MX_LABELS);
		abort();
	}
}

static const struct mx_family *need_family(const char *name)
{
	const struct mx_family *f = mx_family(name);
	if (!f) {
		fprintf(stderr, "mx_set: unknown metric %s\n", name);
		abort();
	}
	return f;
}

void mx_add(struct mx_set *s, const char *name, uint64_t value, ...)
{
	xgrow(&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	struct mx_sample *m = &s->v[s->n++];
	m->fam = need_family(name);
	m->value = value;
	va_list ap;
	va_start(ap, value);
	fill_labels(m, ap);
	va_end(ap);
}

static bool same_labels(const struct mx_sample *a, const struct mx_sample *b)
{
	for (size_t i = 0; i < MX_LABELS; i++) {
		for (size_t k = 0; k < 2; k++) {
			const char *x = a->label[i][k], *y = b->label[i][k];
			if (!x != !y || (x && strcmp(x, y)))
				return false;
		}
	}
	return true;
}

static void free_labels(struct mx_sample *m)
{
	for (size_t i = 0; i < MX_LABELS; i++) {
		free(m->label[i][0]);
		free(m->label[i][1]);
	}
}

void mx_sum(struct mx_set *s, const char *name, uint64_t value, ...)
{
	struct mx_sample probe = {.fam = need_family(name)};
	va_list ap;
	va_start(ap, value);
	fill_labels(&probe, ap);
	va_end(ap);
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].fam == probe.fam && same_labels(&s->v[i], &probe)) {
			s->v[i].value += value;
			free_labels(&probe);
			return;
		}
	xgrow(&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	probe.value = value;
	s->v[s->n++] = probe;
}

void mx_set_free(struct mx_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free_labels(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* A label value in the exposition format: backslash, double quote and
 * line feed escaped (names and values come from rule names and audit
 * events: operator and attacker text). */
static void prom_escape(struct strbuf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			strbuf_puts(out, "\\\\");
		else if (*v == '"')
			strbuf_puts(out, "\\\"");
		else if (*v == '\n')
			strbuf_puts(out, "\\n");
		else
			strbuf_putc(out, *v);
	}
}

void mx_prom(const struct mx_set *s, struct strbuf *out)
{
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		bool head = false;
		for (size_t i = 0; i < s->n; i++) {
			const struct mx_sample *m = &s->v[i];
			if (m->fam != &families[f])
				continue;
			if (!head) {
				strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->fam->name, m->fam->help,
					      m->fam->name, m->fam->type == MX_COUNTER ? "counter" : "gauge");
				head = true;
			}
			strbuf_puts(out, m->fam->name);
			for (size_t l = 0; l < MX_LABELS && m->label[l][0]; l++) {
				strbuf_printf(out, "%s%s=\"", l ? "," : "{", m->label[l][0]);
				prom_escape(out, m->label[l][1]);
				strbuf_putc(out, '"');
			}
			strbuf_printf(out, "%s %llu\n", m->label[0][0] ? "}" : "", (unsigned long long)m->value);
		}
	}
}

void mx_json(const struct mx_set *s, struct strbuf *out)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "samples", a);
	for (size_t i = 0; i < s->n; i++) {
		const struct mx_sample *m = &s->v[i];
		struct json_object *e = json_object_new_object(), *l = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(m->fam->name));
		for (size_t k = 0; k < MX_LABELS && m->label[k][0]; k++)
			json_object_object_add(l, m->label[k][0], json_object_new_string(m->label[k][1]));
		json_object_object_add(e, "labels", l);
		json_object_object_add(e, "value", json_object_new_uint64(m->value));
		json_object_array_add(a, e);
	}
	strbuf_puts(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	strbuf_putc(out, '\n');
	json_object_put(o);
}

int mx_json_parse(const char *buf, size_t len, struct mx_set *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct json_object *o = jsonx_parse(buf, len, 8), *a, *v;
	int r = -EINVAL;
	if (!o || !json_object_object_get_ex(o, "samples", &a) || !json_object_is_type(a, json_type_array))
		goto out;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i), *n, *l;
		if (!json_object_object_get_ex(e, "name", &n) || !json_object_is_type(n, json_type_string) ||
		    !json_object_object_get_ex(e, "value", &v) || !json_object_is_type(v, json_type_int) ||
		    !json_object_object_get_ex(e, "labels", &l) || !json_object_is_type(l, json_type_object) ||
		    json_object_object_length(l) > MX_LABELS)
			goto out;
		const struct mx_family *f = mx_family(json_object_get_string(n));
		if (!f)
			continue;
		xgrow(&ret->v, &ret->cap, ret->n + 1, sizeof(*ret->v));
		struct mx_sample *m = &ret->v[ret->n++];
		memset(m, 0, sizeof(*m));
		m->fam = f;
		m->value = json_object_get_uint64(v);
		size_t k = 0;
		json_object_object_foreach(l, key, val)
		{
			if (!json_object_is_type(val, json_type_string))
				goto out;
			m->label[k][0] = xstrdup(key);
			m->label[k][1] = xstrdup(json_object_get_string(val));
			k++;
		}
	}
	r = 0;
out:
	json_object_put(o);
	if (r < 0)
		mx_set_free(ret);
	return r;
}
