/* mx_snmp: SEKISHO-MIB objects and the pass_persist protocol
 * (tools/metrics/mx_snmp.h).
 *
 * The object numbers here and in SEKISHO-MIB.txt are one contract: test
 * metrics-snmp walks the subtree with snmpwalk and the MIB loaded, so a
 * number that differs shows as an unnamed object. */
#include "tools/metrics/mx_snmp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fdio.h"
#include "common/xalloc.h"

/* Scalars: sekishoScalars.N (SEKISHO-MIB), from a family and, for the
 * families with a label, the sum over the samples whose label matches
 * (label NULL: every sample). */
static const struct scalar {
	uint32_t n;
	const char *family, *label, *value;
} scalars[] = {
	{3, "sekisho_gateway_packets_total", NULL, NULL},
	{4, "sekisho_gateway_new_flows_total", NULL, NULL},
	{5, "sekisho_gateway_flows_allowed_total", NULL, NULL},
	{6, "sekisho_gateway_flows_denied_total", NULL, NULL},
	{7, "sekisho_gateway_flows_rejected_total", NULL, NULL},
	{8, "sekisho_gateway_kernel_queue_dropped_total", NULL, NULL},
	{9, "sekisho_gateway_kernel_user_dropped_total", NULL, NULL},
	{10, "sekisho_gateway_audit_dropped_total", NULL, NULL},
	{11, "sekisho_audit_lost_total", NULL, NULL},
	{13, "sekisho_mail_sanitized_total", NULL, NULL},
	{14, "sekisho_mail_attachments_removed_total", NULL, NULL},
	{15, "sekisho_cdr_jobs_total", "result", "ok"},
	{16, "sekisho_cdr_jobs_total", "result", "no-copy"},
	{17, "sekisho_cdr_jobs_total", "result", "failed"},
	{18, "sekisho_portal_downloads_total", "what", "copy"},
	{19, "sekisho_portal_downloads_total", "what", "original"},
	{20, "sekisho_portal_decisions_total", "decision", "approve"},
	{21, "sekisho_portal_decisions_total", "decision", "deny"},
	{22, "sekisho_portal_login_failures_total", NULL, NULL},
	{23, "sekisho_uploads_total", NULL, NULL},
	{24, "sekisho_gateway_netfilter_tampers_total", NULL, NULL},
	{25, "sekisho_gateway_reload_failures_total", NULL, NULL},
};

static const char *label_of(const struct mx_sample *m, const char *name)
{
	for (size_t i = 0; i < MX_LABELS && m->label[i][0]; i++)
		if (!strcmp(m->label[i][0], name))
			return m->label[i][1];
	return NULL;
}

static void add(struct mx_oids *o, const uint32_t *tail, size_t tlen, const char *type, char *value)
{
	static const uint32_t base[] = {1, 3, 6, 1, 4, 1, 32473, 1};
	xgrow(&o->v, &o->cap, o->n + 1, sizeof(*o->v));
	struct mx_oid_entry *e = &o->v[o->n++];
	memcpy(e->oid, base, sizeof(base));
	memcpy(e->oid + 8, tail, tlen * sizeof(*tail));
	e->len = 8 + tlen;
	e->type = type;
	e->value = value;
}

static char *u64s(uint64_t v)
{
	return xasprintf("%" PRIu64, v);
}

static int oid_cmp(const uint32_t *a, size_t al, const uint32_t *b, size_t bl)
{
	for (size_t i = 0; i < al && i < bl; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return al < bl ? -1 : al > bl;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct mx_oid_entry *a = x, *b = y;
	return oid_cmp(a->oid, a->len, b->oid, b->len);
}

/* One table (sekishoObjects.t): a row per sample of family, columns
 * from the labels (strings) and the value (Counter64) last. */
static void table(struct mx_oids *o, const struct mx_set *s, uint32_t t, const char *family, const char *const *cols,
		  size_t ncols)
{
	uint32_t row = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct mx_sample *m = &s->v[i];
		if (strcmp(m->fam->name, family))
			continue;
		row++;
		for (size_t c = 0; c < ncols; c++) {
			const char *v = label_of(m, cols[c]);
			uint32_t tail[] = {1, t, 1, (uint32_t)(c + 2), row};
			/* a rule id is a number (Unsigned32), the rest text */
			bool num = !strcmp(cols[c], "rule_id");
			char *text = xstrdup(v ? v : "");
			/* the protocol is line based: a control character in a
			 * name would end the value early */
			for (char *p = text; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
			add(o, tail, 5, num ? "unsigned" : "string", text);
		}
		uint32_t tail[] = {1, t, 1, (uint32_t)(ncols + 2), row};
		add(o, tail, 5, "counter64", u64s(m->value));
	}
}

void mx_oids_build(const struct mx_set *s, struct mx_oids *o)
{
	memset(o, 0, sizeof(*o));
	uint64_t collected = 0;
	int gw_up = -1, clock = 0; /* clock: 0 unknown, 1 all synchronised, 2 one not */
	for (size_t i = 0; i < s->n; i++) {
		const struct mx_sample *m = &s->v[i];
		if (!strcmp(m->fam->name, "sekisho_metrics_collected_timestamp_seconds"))
			collected = m->value;
		else if (!strcmp(m->fam->name, "sekisho_gateway_up"))
			gw_up = (int)m->value;
		else if (!strcmp(m->fam->name, "sekisho_clock_synchronized"))
			clock = m->value == 0 ? 2 : (clock == 2 ? 2 : 1);
	}
	add(o, (uint32_t[]){1, 1, 1, 0}, 4, "unsigned", u64s(collected > UINT32_MAX ? UINT32_MAX : collected));
	/* TruthValue: true(1), false(2) */
	add(o, (uint32_t[]){1, 1, 2, 0}, 4, "integer", u64s(gw_up == 1 ? 1 : 2));
	/* true(1), false(2), unknown(3): no clock.status record yet */
	add(o, (uint32_t[]){1, 1, 12, 0}, 4, "integer", u64s(clock ? (uint64_t)clock : 3));
	for (size_t k = 0; k < sizeof(scalars) / sizeof(scalars[0]); k++) {
		uint64_t sum = 0;
		for (size_t i = 0; i < s->n; i++) {
			const struct mx_sample *m = &s->v[i];
			const char *l = scalars[k].label ? label_of(m, scalars[k].label) : NULL;
			if (!strcmp(m->fam->name, scalars[k].family) &&
			    (!scalars[k].label || (l && !strcmp(l, scalars[k].value))))
				sum += m->value;
		}
		add(o, (uint32_t[]){1, 1, scalars[k].n, 0}, 4, "counter64", u64s(sum));
	}
	table(o, s, 2, "sekisho_gateway_rule_hits_total", (const char *const[]){"rule_id", "name"}, 2);
	table(o, s, 3, "sekisho_gateway_zone_pair_flows_total", (const char *const[]){"from", "to"}, 2);
	table(o, s, 4, "sekisho_audit_events_total", (const char *const[]){"component", "event"}, 2);
	qsort(o->v, o->n, sizeof(*o->v), entry_cmp);
}

void mx_oids_free(struct mx_oids *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].value);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

int mx_oid_parse(const char *text, uint32_t oid[MX_OID_MAX], size_t *ret_len)
{
	const char *p = text[0] == '.' ? text + 1 : text;
	size_t n = 0;
	while (*p) {
		if (*p < '0' || *p > '9' || n == MX_OID_MAX)
			return -EINVAL;
		uint64_t v = 0;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p++ - '0');
			if (v > UINT32_MAX)
				return -EINVAL;
		}
		oid[n++] = (uint32_t)v;
		if (*p == '.')
			p++;
		else if (*p)
			return -EINVAL;
	}
	*ret_len = n;
	return n ? 0 : -EINVAL;
}

const struct mx_oid_entry *mx_oids_get(const struct mx_oids *o, const uint32_t *oid, size_t len, bool next)
{
	for (size_t i = 0; i < o->n; i++) {
		int c = oid_cmp(o->v[i].oid, o->v[i].len, oid, len);
		if (c == 0 && !next)
			return &o->v[i];
		if (c > 0)
			return next ? &o->v[i] : NULL;
	}
	return NULL;
}

/* Re-read the snapshot when it changed; keep the old objects when the new
 * file does not read (a collector mid-write never shows half a tree). */
static void refresh(const char *path, struct mx_oids *o, struct timespec *seen)
{
	struct stat st;
	if (stat(path, &st) < 0 || (st.st_mtim.tv_sec == seen->tv_sec && st.st_mtim.tv_nsec == seen->tv_nsec && o->v))
		return;
	void *buf = NULL;
	size_t len = 0;
	struct mx_set s;
	if (fdio_read_file(path, (uint64_t)64 << 20, &buf, &len) < 0 || mx_json_parse(buf, len, &s) < 0) {
		free(buf);
		return;
	}
	free(buf);
	mx_oids_free(o);
	mx_oids_build(&s, o);
	mx_set_free(&s);
	*seen = st.st_mtim;
}

static void print_oid(FILE *out, const struct mx_oid_entry *e)
{
	for (size_t i = 0; i < e->len; i++)
		fprintf(out, ".%" PRIu32, e->oid[i]);
	fputc('\n', out);
}

int mx_snmp_serve(const char *snapshot_path, FILE *in, FILE *out)
{
	struct mx_oids o = {0};
	struct timespec seen = {0};
	char cmd[64], arg[512];
	while (fgets(cmd, sizeof cmd, in)) {
		cmd[strcspn(cmd, "\r\n")] = '\0';
		if (!strcmp(cmd, "PING")) {
			fputs("PONG\n", out);
		} else if (!strcmp(cmd, "get") || !strcmp(cmd, "getnext") || !strcmp(cmd, "set")) {
			if (!fgets(arg, sizeof arg, in))
				break;
			arg[strcspn(arg, "\r\n")] = '\0';
			if (!strcmp(cmd, "set")) {
				/* the value line follows; nothing here is writable */
				if (!fgets(arg, sizeof arg, in))
					break;
				fputs("not-writable\n", out);
			} else {
				uint32_t oid[MX_OID_MAX];
				size_t len;
				refresh(snapshot_path, &o, &seen);
				const struct mx_oid_entry *e = mx_oid_parse(arg, oid, &len) == 0
					? mx_oids_get(&o, oid, len, cmd[3] == 'n')
					: NULL;
				if (e) {
					print_oid(out, e);
					fprintf(out, "%s\n%s\n", e->type, e->value);
				} else {
					fputs("NONE\n", out);
				}
			}
		} else if (cmd[0]) {
			fputs("NONE\n", out);
		}
		if (fflush(out) != 0) {
			mx_oids_free(&o);
			return -errno;
		}
	}
	mx_oids_free(&o);
	return 0;
}
