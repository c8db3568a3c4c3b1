/* metrics_test: sekisho-metrics' modules without daemons.
 *
 * mx_set: label escaping in the Prometheus text, sums, the JSON snapshot's
 * round trip; mx_gateway: the control socket's answer (the gateway's own
 * format) to samples, garbage refused; mx_audit: counting only complete
 * lines, resuming at the saved offset, a file that shrank, a new file
 * after rotation, an over-long line, derived counts (removed
 * attachments, CDR results, clock); mx_snmp: OID parsing, get/getnext
 * order across scalars and tables, the pass_persist dialogue. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/check.h"
#include "tools/metrics/mx_audit.h"
#include "tools/metrics/mx_gateway.h"
#include "tools/metrics/mx_set.h"
#include "tools/metrics/mx_snmp.h"

static char root[256];

#define UNKNOWN "{\"v\":1,\"samples\":[{\"name\":\"x_unknown\",\"labels\":{},\"value\":1}]}"
#define WRONG "{\"packets\":-5,\"per_rule\":[{\"rule_id\":\"x\"}]}"

static uint64_t value_of(const struct mx_set *s, const char *name, const char *label, const char *lv)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].fam->name, name))
			continue;
		if (!label)
			return s->v[i].value;
		for (size_t k = 0; k < MX_LABELS && s->v[i].label[k][0]; k++)
			if (!strcmp(s->v[i].label[k][0], label) && !strcmp(s->v[i].label[k][1], lv))
				return s->v[i].value;
	}
	return UINT64_MAX;
}

static void test_set(void)
{
	struct mx_set s = {0};
	mx_add(&s, "sekisho_gateway_rule_hits_total", 7, "rule_id", "3", "name", "mail \"relay\"\n\\x", NULL);
	mx_sum(&s, "sekisho_cdr_jobs_total", 2, "result", "ok", NULL);
	mx_sum(&s, "sekisho_cdr_jobs_total", 3, "result", "ok", NULL);
	mx_sum(&s, "sekisho_cdr_jobs_total", 1, "result", "failed", NULL);
	mx_add(&s, "sekisho_gateway_up", 1, NULL);
	struct strbuf out = STRBUF_INIT;
	mx_prom(&s, &out);
	const char *t = strbuf_str(&out);
	CHECK(strstr(t, "sekisho_gateway_rule_hits_total{rule_id=\"3\",name=\"mail \\\"relay\\\"\\n\\\\x\"} 7\n") !=
		      NULL,
	      "escaped label: %s", t);
	CHECK(strstr(t, "sekisho_cdr_jobs_total{result=\"ok\"} 5\n") && strstr(t, "{result=\"failed\"} 1\n"));
	CHECK(strstr(t, "# TYPE sekisho_gateway_up gauge\nsekisho_gateway_up 1\n") != NULL);
	/* families in table order: gateway_up before rule hits before cdr */
	CHECK(strstr(t, "sekisho_gateway_up 1") < strstr(t, "rule_hits_total{") &&
	      strstr(t, "rule_hits_total{") < strstr(t, "cdr_jobs_total{"));
	strbuf_reset(&out);
	mx_json(&s, &out);
	struct mx_set back;
	REQUIRE(mx_json_parse(out.buf, out.len, &back) == 0);
	CHECK(back.n == s.n && value_of(&back, "sekisho_cdr_jobs_total", "result", "ok") == 5 &&
	      value_of(&back, "sekisho_gateway_rule_hits_total", "name", "mail \"relay\"\n\\x") == 7);
	mx_set_free(&back);
	CHECK(mx_json_parse("{\"samples\":5}", 13, &back) == -EINVAL);
	CHECK(mx_json_parse(UNKNOWN, strlen(UNKNOWN), &back) == 0 && back.n == 0, "unknown families skipped");
	mx_set_free(&back);
	strbuf_free(&out);
	mx_set_free(&s);
}

static void test_gateway(void)
{
	/* the shape gw_control.c writes */
	const char *ans =
		"{\"pid\":5,\"uptime_s\":120,\"queues\":2,\"queue_base\":0,\"table_gen\":3,\"rules\":4,\"reloads\":2,"
		"\"reload_failures\":1,\"ctl_refused\":0,\"last_reload_error\":null,\"netfilter\":{\"watch\":true,\"tampers\":"
		"1,\"repairs\":1},\"packets\":1000,\"new_flows\":100,\"allowed\":80,\"denied\":20,\"rejected\":0,"
		"\"audit_dropped\":0,\"per_queue\":[],\"per_rule\":[{\"rule_id\":1,\"name\":\"mail\",\"hits\":60},{\"rule_id\":0,"
		"\"name\":\"(zone default)\",\"hits\":20}],\"per_zone_pair\":[{\"from\":\"lgwan\",\"to\":\"internet\",\"flows\":"
		"70}],\"kernel_queues\":[{\"queue\":0,\"queued\":0,\"queue_dropped\":4,\"user_dropped\":1,\"id_sequence\":9}]}\n";
	struct mx_set s = {0};
	CHECK(mx_gateway_parse(ans, strlen(ans), &s) == 0);
	CHECK(value_of(&s, "sekisho_gateway_packets_total", NULL, NULL) == 1000);
	CHECK(value_of(&s, "sekisho_gateway_flows_denied_total", NULL, NULL) == 20);
	CHECK(value_of(&s, "sekisho_gateway_rule_hits_total", "name", "mail") == 60);
	CHECK(value_of(&s, "sekisho_gateway_zone_pair_flows_total", "from", "lgwan") == 70);
	CHECK(value_of(&s, "sekisho_gateway_kernel_queue_dropped_total", "queue", "0") == 4);
	CHECK(value_of(&s, "sekisho_gateway_netfilter_tampers_total", NULL, NULL) == 1);
	mx_set_free(&s);
	CHECK(mx_gateway_parse("{\"error\":\"not allowed\"}", 23, &s) == -EACCES, "a refusal is an error");
	mx_set_free(&s);
	CHECK(mx_gateway_parse("garbage", 7, &s) == -EINVAL);
	CHECK(mx_gateway_parse(WRONG, strlen(WRONG), &s) == 0 && s.n == 0, "wrong types skipped");
	mx_set_free(&s);
	char why[200];
	CHECK(mx_gateway_collect("/nonexistent/gw.sock", &s, why, sizeof why) == -ENOENT);
}

static void append(const char *file, const char *text)
{
	char p[400];
	snprintf(p, sizeof p, "%s/chain/%s", root, file);
	FILE *f = fopen(p, "a");
	REQUIRE(f);
	fputs(text, f);
	fclose(f);
}

#define REC(ev, data) \
	"{\"ts\":\"2026-12-07T10:00:00+09:00\",\"component\":\"sanitizer\",\"event\":\"" ev "\",\"data\":" data "}\n"

static void test_audit(void)
{
	char dir[300], why[300];
	snprintf(dir, sizeof dir, "%s/chain", root);
	REQUIRE(mkdir(dir, 0700) == 0);
	struct json_object *st = json_object_new_object();
	append("audit-20261207T100000-000001.jsonl",
	       REC("mail.sanitized", "{\"removed\":[{\"name\":\"a\"},{\"name\":\"b\"}]}")
		       REC("clock.status", "{\"synchronized\":false}")
			       REC("file.sanitized", "{\"result\":\"ok\"}") "not json\n{\"event\":\"partial");
	CHECK(mx_audit_update(st, dir, 0, why, sizeof why) == 0, "%s", why);
	struct mx_set s = {0};
	mx_audit_emit(st, &s);
	CHECK(value_of(&s, "sekisho_mail_sanitized_total", NULL, NULL) == 1);
	CHECK(value_of(&s, "sekisho_mail_attachments_removed_total", NULL, NULL) == 2);
	CHECK(value_of(&s, "sekisho_cdr_jobs_total", "result", "ok") == 1);
	CHECK(value_of(&s, "sekisho_clock_synchronized", "component", "sanitizer") == 0);
	CHECK(value_of(&s, "sekisho_audit_unreadable_lines_total", "component", "sanitizer") == 1);
	CHECK(value_of(&s, "sekisho_audit_events_total", "event", "mail.sanitized") == 1);
	mx_set_free(&s);

	/* the partial line completes; a second file after rotation */
	append("audit-20261207T100000-000001.jsonl", "\",\"component\":\"sanitizer\"}\n");
	append("audit-20261207T110000-000002.jsonl",
	       REC("clock.status", "{\"synchronized\":true}") REC("file.sanitized", "{\"result\":\"../../x\"}"));
	CHECK(mx_audit_update(st, dir, 0, why, sizeof why) == 0);
	mx_audit_emit(st, &s);
	CHECK(value_of(&s, "sekisho_audit_events_total", "event", "partial") == 1, "the completed line counted once");
	CHECK(value_of(&s, "sekisho_clock_synchronized", "component", "sanitizer") == 1, "the last clock state");
	CHECK(value_of(&s, "sekisho_cdr_jobs_total", "result", "other") == 1, "a result that is not a word");
	CHECK(value_of(&s, "sekisho_mail_sanitized_total", NULL, NULL) == 1, "nothing counted twice");
	mx_set_free(&s);

	/* nothing new: nothing changes; a shrunken file is read on from its end */
	char p[400];
	snprintf(p, sizeof p, "%s/audit-20261207T110000-000002.jsonl", dir);
	REQUIRE(truncate(p, 10) == 0);
	append("audit-20261207T110000-000002.jsonl", "\n");
	CHECK(mx_audit_update(st, dir, 0, why, sizeof why) == 0);
	mx_audit_emit(st, &s);
	CHECK(value_of(&s, "sekisho_audit_unreadable_lines_total", "component", "sanitizer") == 1,
	      "the shrunken file's rewritten bytes were not counted");
	mx_set_free(&s);

	/* an over-long line (past AUDIT_LINE_MAX) is one unreadable line */
	size_t big = (1u << 20) + 100;
	char *b = malloc(big + 2);
	REQUIRE(b);
	memset(b, 'x', big);
	b[big] = '\n';
	b[big + 1] = '\0';
	append("audit-20261207T120000-000003.jsonl", b);
	append("audit-20261207T120000-000003.jsonl", REC("mail.sanitized", "{\"removed\":[]}"));
	free(b);
	CHECK(mx_audit_update(st, dir, 0, why, sizeof why) == 0);
	mx_audit_emit(st, &s);
	CHECK(value_of(&s, "sekisho_audit_unreadable_lines_total", "component", "sanitizer") == 2);
	CHECK(value_of(&s, "sekisho_mail_sanitized_total", NULL, NULL) == 2, "the line after it counts");
	mx_set_free(&s);
	json_object_put(st);
	st = json_object_new_object();
	CHECK(mx_audit_update(st, "/nonexistent", 0, why, sizeof why) == -ENOENT);
	json_object_put(st);
}

static void test_snmp(void)
{
	uint32_t oid[MX_OID_MAX];
	size_t n;
	CHECK(mx_oid_parse(".1.3.6.1.4.1.32473.1", oid, &n) == 0 && n == 8 && oid[6] == 32473);
	CHECK(mx_oid_parse("1.3", oid, &n) == 0 && n == 2);
	CHECK(mx_oid_parse(".1..3", oid, &n) == -EINVAL && mx_oid_parse("", oid, &n) == -EINVAL &&
	      mx_oid_parse(".1.99999999999", oid, &n) == -EINVAL && mx_oid_parse(".1.a", oid, &n) == -EINVAL);

	struct mx_set s = {0};
	mx_add(&s, "sekisho_gateway_up", 1, NULL);
	mx_add(&s, "sekisho_gateway_packets_total", 1000, NULL);
	mx_add(&s, "sekisho_gateway_rule_hits_total", 60, "rule_id", "1", "name", "mail\nx", NULL);
	mx_add(&s, "sekisho_cdr_jobs_total", 9, "result", "no-copy", NULL);
	struct mx_oids o;
	mx_oids_build(&s, &o);
	mx_set_free(&s);
	REQUIRE(mx_oid_parse(MX_SNMP_BASE ".1.1.3.0", oid, &n) == 0);
	const struct mx_oid_entry *e = mx_oids_get(&o, oid, n, false);
	CHECK(e && !strcmp(e->type, "counter64") && !strcmp(e->value, "1000"));
	REQUIRE(mx_oid_parse(MX_SNMP_BASE ".1.1.16.0", oid, &n) == 0);
	e = mx_oids_get(&o, oid, n, false);
	CHECK(e && !strcmp(e->value, "9"), "no-copy CDR jobs");
	/* getnext from the base walks to the first scalar; from the last
	 * scalar into the rule table; the rule's name has no line break */
	REQUIRE(mx_oid_parse(MX_SNMP_BASE, oid, &n) == 0);
	e = mx_oids_get(&o, oid, n, true);
	CHECK(e && e->len == 12 && e->oid[10] == 1 && e->oid[11] == 0, "first: collected-at");
	REQUIRE(mx_oid_parse(MX_SNMP_BASE ".1.1.25.0", oid, &n) == 0);
	e = mx_oids_get(&o, oid, n, true);
	CHECK(e && e->oid[9] == 2 && e->oid[11] == 2 && !strcmp(e->type, "unsigned") && !strcmp(e->value, "1"));
	e = e ? e + 1 : NULL;
	CHECK(e && !strcmp(e->value, "mail?x"), "control characters replaced");
	REQUIRE(mx_oid_parse(MX_SNMP_BASE ".9", oid, &n) == 0);
	CHECK(mx_oids_get(&o, oid, n, true) == NULL);
	mx_oids_free(&o);

	/* the dialogue */
	char snap[300];
	snprintf(snap, sizeof snap, "%s/snap.json", root);
	FILE *f = fopen(snap, "w");
	REQUIRE(f);
	fputs("{\"v\":1,\"samples\":[{\"name\":\"sekisho_mail_sanitized_total\",\"labels\":{},\"value\":42}]}", f);
	fclose(f);
	char in_text[] =
		"PING\nget\n" MX_SNMP_BASE ".1.1.13.0\nset\n" MX_SNMP_BASE ".1.1.13.0\ninteger 1\nget\n.1.2\nbogus\n";
	FILE *in = fmemopen(in_text, strlen(in_text), "r");
	char *outbuf = NULL;
	size_t outlen = 0;
	FILE *out = open_memstream(&outbuf, &outlen);
	REQUIRE(in && out);
	CHECK(mx_snmp_serve(snap, in, out) == 0);
	fclose(in);
	fclose(out);
	CHECK_STR(outbuf, "PONG\n" MX_SNMP_BASE ".1.1.13.0\ncounter64\n42\nnot-writable\nNONE\nNONE\n");
	free(outbuf);
}

int main(void)
{
	snprintf(root, sizeof root, "%s/metrics_test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	REQUIRE(mkdtemp(root));
	test_set();
	test_gateway();
	test_audit();
	test_snmp();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	return check_done();
}
