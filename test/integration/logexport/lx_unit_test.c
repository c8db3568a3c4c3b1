/* Unit tests of the sekisho-logexport modules: CSV quoting and the formula
 * guard, CEF escaping, RFC 5424 framing, time parsing, filters, CP932
 * conversion, HTML escaping, tallies, HOST:PORT and the state file.
 * Table-driven: failure cases beside the success cases. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/strbuf.h"
#include "tools/logexport/lx_cef.h"
#include "tools/logexport/lx_columns.h"
#include "tools/logexport/lx_cp932.h"
#include "tools/logexport/lx_csv.h"
#include "tools/logexport/lx_filter.h"
#include "tools/logexport/lx_html.h"
#include "tools/logexport/lx_json.h"
#include "tools/logexport/lx_net.h"
#include "tools/logexport/lx_state.h"
#include "tools/logexport/lx_syslog.h"
#include "tools/logexport/lx_tally.h"
#include "tools/logexport/lx_time.h"
#include "test/check.h"

static void check_str(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "%s:\n  got  [%s]\n  want [%s]\n", what, got, want);
		check_failures++;
	}
}

static void test_csv(void)
{
	static const struct {
		const char *in, *out;
		bool guard;
	} t[] = {
		{"plain", "plain", true},
		{"", "", true},
		{"a,b", "\"a,b\"", true},
		{"say \"hi\"", "\"say \"\"hi\"\"\"", true},
		{"two\nlines", "\"two\nlines\"", true},
		{"cr\rhere", "\"cr\rhere\"", true},
		{"=1+2", "'=1+2", true},
		{"=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"", true},
		{"+81 3", "'+81 3", true},
		{"-123", "-123", true}, /* a number we wrote */
		{"-12.5", "-12.5", true},
		{"-cmd", "'-cmd", true},
		{"@SUM(A1)", "'@SUM(A1)", true},
		{"\tx", "'\tx", true},
		{"=1+2", "=1+2", false},
		{"件名, 日本語", "\"件名, 日本語\"", true},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct strbuf sb = STRBUF_INIT;
		lx_csv_field(&sb, t[i].in, strlen(t[i].in), t[i].guard);
		check_str(t[i].in, strbuf_str(&sb), t[i].out);
		strbuf_free(&sb);
	}
	struct strbuf sb = STRBUF_INIT;
	const char *row[] = {"a", "b,c", NULL};
	lx_csv_row(&sb, row, 3, true);
	check_str("row", strbuf_str(&sb), "a,\"b,c\",\r\n");
	strbuf_free(&sb);
}

/* Every header, English and Japanese, names one column only. */
static void test_columns(void)
{
	struct lx_colset *cs = lx_columns_new(NULL, NULL);
	for (int ja = 0; ja < 2; ja++) {
		struct strbuf sb = STRBUF_INIT;
		lx_columns_header(cs, ja, &sb, false);
		char *all = strbuf_steal(&sb), *save = NULL;
		char *names[256];
		size_t n = 0;
		for (char *t = strtok_r(all, ",", &save); t && n < 256; t = strtok_r(NULL, ",", &save))
			names[n++] = t + (*t == ' ');
		CHECK(n == lx_columns_count(cs));
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (strcmp(names[i], names[j]) == 0) {
					fprintf(stderr, "column header %s twice\n", names[i]);
					check_failures++;
				}
		free(all);
	}
	/* a record with every kind of cell */
	struct json_object *o = json_tokener_parse(
		"{\"ts\":\"t\",\"host\":\"h\",\"component\":\"sanitizer\",\"event\":\"mail.sanitized\",\"seq\":7,"
		"\"data\":{\"env_to\":[\"a@x\",\"b@x\"],\"removed\":[{\"name\":\"=1.exe\"},{\"name\":\"b\"}],"
		"\"new_member\":{\"k\":1},\"_truncated\":[\"subject\"]}}");
	struct lx_row_in in = {.obj = o, .status = "ok", .mac_ok = true, .file = "f", .line_no = 1};
	struct strbuf row = STRBUF_INIT;
	lx_columns_row(cs, &in, false, &row);
	const char *r = strbuf_str(&row);
	CHECK(strstr(r, ",\"a@x\nb@x\",") != NULL);
	CHECK(strstr(r, ",2,\"'=1.exe\nb\",") != NULL);
	CHECK(strstr(r, "truncated by the writer: subject") != NULL);
	CHECK(strstr(r, "\"{\"\"new_member\"\":{\"\"k\"\":1}}\"\r\n") != NULL);
	strbuf_free(&row);
	in.mac_ok = false;
	in.status = "edited";
	lx_columns_row(cs, &in, true, &row);
	CHECK(strncmp(strbuf_str(&row), "改ざん,", strlen("改ざん,")) == 0);
	CHECK(strstr(strbuf_str(&row), "MACが一致しません") != NULL);
	strbuf_free(&row);
	json_object_put(o);
	lx_columns_free(cs);
}

static void test_cef(void)
{
	static const struct {
		const char *in, *hdr, *val;
	} t[] = {
		{"plain", "plain", "plain"}, {"a|b", "a\\|b", "a|b"},  {"a\\b", "a\\\\b", "a\\\\b"},
		{"k=v", "k=v", "k\\=v"},     {"x\ny", "x y", "x\\ny"}, {"x\r\ny", "x  y", "x\\r\\ny"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct strbuf h = STRBUF_INIT, v = STRBUF_INIT;
		lx_cef_escape_header(&h, t[i].in, strlen(t[i].in));
		lx_cef_escape_value(&v, t[i].in, strlen(t[i].in));
		check_str("cef header", strbuf_str(&h), t[i].hdr);
		check_str("cef value", strbuf_str(&v), t[i].val);
		strbuf_free(&h);
		strbuf_free(&v);
	}
	struct json_object *rec = json_tokener_parse(
		"{\"ts\":\"2026-11-22T09:15:02.123456+09:00\",\"host\":\"gw|1\",\"component\":\"gateway\","
		"\"event\":\"flow.decision\",\"seq\":42,\"data\":{\"from_zone\":\"lgwan\",\"to_zone\":\"internet\","
		"\"src\":\"2001:db8::1\",\"dst\":\"192.0.2.1\",\"dport\":443,\"action\":\"deny\",\"rule_id\":17,"
		"\"rule_name\":\"a=b\\\\c\\nd\"},\"prev\":\"00\",\"mac\":\"ab\"}");
	CHECK(rec);
	struct strbuf sb = STRBUF_INIT;
	lx_cef_record(&sb, "0.1.0", rec, "ok", true, "f.jsonl", 3);
	const char *s = strbuf_str(&sb);
	static const char head[] = "CEF:0|sekisho|sekisho|0.1.0|flow.decision|Flow denied|5|rt=1795306502123 ";
	if (strncmp(s, head, sizeof head - 1) != 0) {
		fputs("cef record: ", stderr);
		fputs(s, stderr);
		check_failures++;
	}
	CHECK(strstr(s, " dvchost=gw|1 ") != NULL);
	CHECK(strstr(s, " c6a2=2001:db8::1 ") != NULL);
	CHECK(strstr(s, " dst=192.0.2.1 ") != NULL);
	CHECK(strstr(s, " msg=a\\=b\\\\c\\nd ") != NULL);
	CHECK(strstr(s, "flexString1") == NULL);
	CHECK(s[sb.len - 1] == '\n' && !memchr(s, '\n', sb.len - 1));
	strbuf_reset(&sb);
	lx_cef_record(&sb, "0.1.0", rec, "edited", false, "f.jsonl", 3);
	CHECK(strstr(strbuf_str(&sb), "|Unverified record (MAC failed)|10|") != NULL);
	CHECK(strstr(strbuf_str(&sb), "flexString1=mac-failed flexString1Label=verify flexString2=f.jsonl:3") != NULL);
	strbuf_free(&sb);
	json_object_put(rec);
}

static void test_syslog(void)
{
	CHECK(lx_syslog_ts_ok("2026-11-22T09:15:02.123456+09:00"));
	CHECK(lx_syslog_ts_ok("2026-11-22T00:15:02Z"));
	CHECK(!lx_syslog_ts_ok("2026-11-22T09:15:02.1234567+09:00")); /* 7 digits */
	CHECK(!lx_syslog_ts_ok("2026-11-22 09:15:02+09:00"));
	CHECK(!lx_syslog_ts_ok("2026-11-22T09:15:02"));
	CHECK(!lx_syslog_ts_ok(NULL));
	const char *line = "{\"a\":\"日本\"}";
	struct lx_syslog_msg m = {
		.facility = 13,
		.severity = 6,
		.ts = "2026-11-22T09:15:02.123456+09:00",
		.host = "gw 1",
		.component = "gateway",
		.msgid = "flow.decision",
		.seq = 42,
		.mac = "a\"]\\",
		.msg = line,
		.msglen = strlen(line),
	};
	struct strbuf sb = STRBUF_INIT;
	lx_syslog_frame(&sb, &m);
	const char *want_body = "<110>1 2026-11-22T09:15:02.123456+09:00 gw_1 sekisho-gateway - flow.decision "
				"[sekisho@32473 seq=\"42\" mac=\"a\\\"\\]\\\\\"] {\"a\":\"日本\"}";
	char want[512];
	snprintf(want, sizeof want, "%zu %s", strlen(want_body), want_body);
	check_str("syslog frame", strbuf_str(&sb), want);
	strbuf_reset(&sb);
	struct lx_syslog_msg m2 = {.facility = 99,
				   .severity = 9,
				   .ts = "bad",
				   .msgid = "a.very.long.event.name.beyond.thirty.two",
				   .msg = "x",
				   .msglen = 1};
	lx_syslog_frame(&sb, &m2);
	check_str("syslog defaults", strbuf_str(&sb),
		  "79 <110>1 - - sekisho-unknown - a.very.long.event.name.beyond.th [sekisho@32473] x");
	strbuf_free(&sb);
	CHECK(lx_syslog_severity("flow.decision", "allow", false, false) == 6);
	CHECK(lx_syslog_severity("flow.decision", "deny", false, false) == 5);
	CHECK(lx_syslog_severity("clock.status", NULL, false, true) == 4);
}

static void test_time(void)
{
	static const struct {
		const char *in;
		int64_t sec;
		int ok;
	} t[] = {
		{"2026-11-22T09:15:02+09:00", 1795306502, 1},
		{"2026-11-22T00:15:02Z", 1795306502, 1},
		{"2026-11-22t00:15:02z", 1795306502, 1},
		{"2026-11-22 00:15:02+00:00", 1795306502, 1},
		{"2026-11-22T09:15:02.999999+09:00", 1795306502, 1},
		{"2026-11-21T19:15:02-05:00", 1795306502, 1},
		{"2026-11-22T09:15+09:00", 1795306500, 1},
		{"2026-02-29T00:00:00Z", 0, 0},
		{"2026-13-01T00:00:00Z", 0, 0},
		{"2026-11-22T24:00:00Z", 0, 0},
		{"2026-11-22T09:15:02+09", 0, 0},
		{"2026-11-22T09:15:02+09:00x", 0, 0},
		{"yesterday", 0, 0},
		{"", 0, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int64_t ns = 0;
		int r = lx_time_parse(t[i].in, &ns);
		if ((r == 0) != t[i].ok || (t[i].ok && ns / LX_NS_PER_SEC != t[i].sec)) {
			fprintf(stderr, "time %s: r=%d ns=%lld\n", t[i].in, r, (long long)ns);
			check_failures++;
		}
	}
	int64_t a, b;
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	CHECK(lx_time_parse_arg("2026-11-22", false, &a) == 0 && a / LX_NS_PER_SEC == 1795273200);
	CHECK(lx_time_parse_arg("2026-11-22", true, &b) == 0 && b - a == 86400 * LX_NS_PER_SEC);
	CHECK(lx_time_parse_arg("2026-12-31", true, &b) == 0);
	CHECK(lx_time_parse_arg("2026-11-22T09:00:00", false, &a) == 0 && a / LX_NS_PER_SEC == 1795305600);
	CHECK(lx_time_parse_arg("22/11/2026", false, &a) < 0);
	char day[11];
	CHECK(lx_time_day("2026-11-22T09:15:02+09:00", day) && strcmp(day, "2026-11-22") == 0);
	CHECK(!lx_time_day("x", day));
	CHECK(lx_time_ms(-1) == -1);
}

static struct json_object *rec(const char *json)
{
	struct json_object *o = json_tokener_parse(json);
	if (!o) {
		fprintf(stderr, "bad test JSON: %s\n", json);
		exit(1);
	}
	return o;
}

static void test_filter(void)
{
	struct json_object *flow = rec(
		"{\"ts\":\"2026-11-22T09:15:02+09:00\",\"component\":\"gateway\",\"event\":\"flow.decision\",\"data\":{"
		"\"from_zone\":\"lgwan\",\"to_zone\":\"internet\",\"src\":\"198.18.20.11\",\"dst\":\"2001:db8:30::5\","
		"\"rule_id\":17,\"rule_name\":\"LGWAN からの外部直接通信禁止\"}}");
	struct json_object *mail = rec(
		"{\"ts\":\"2026-11-22T09:15:02+09:00\",\"component\":\"sanitizer\",\"event\":\"mail.sanitized\",\"data\":{"
		"\"sender\":\"Tanaka@Example.JP\",\"recipients\":[\"a@johoku.example.lg.jp\",\"b@johoku.example.lg.jp\"],"
		"\"removed\":[{\"name\":\"x\"}]}}");
	int64_t ts;
	lx_time_parse("2026-11-22T09:15:02+09:00", &ts);
	static const struct {
		enum lx_filter_kind kind;
		const char *arg;
		int flow, mail; /* expected matches; -1: argument refused */
	} t[] = {
		{LX_F_EVENT, "flow.*", 1, 0},
		{LX_F_EVENT, "*", 1, 1},
		{LX_F_COMPONENT, "sanitizer", 0, 1},
		{LX_F_ZONE_PAIR, "lgwan:internet", 1, 0},
		{LX_F_ZONE_PAIR, "lgwan:", 1, 0},
		{LX_F_ZONE_PAIR, ":lgwan", 0, 0},
		{LX_F_ZONE_PAIR, "lg*:*", 1, 0},
		{LX_F_ZONE_PAIR, "lgwan", -1, -1},
		{LX_F_RULE, "17", 1, 0},
		{LX_F_RULE, "LGWAN からの外部直接通信禁止", 1, 0},
		{LX_F_RULE, "1", 0, 0},
		{LX_F_ADDRESS, "198.18.20.11", 1, 0},
		{LX_F_ADDRESS, "198.18.20.0/24", 1, 0},
		{LX_F_ADDRESS, "198.18.20.12-198.18.20.20", 0, 0},
		{LX_F_ADDRESS, "2001:db8:30::/48", 1, 0},
		{LX_F_ADDRESS, "198.18.20.1/24", -1, -1},
		{LX_F_ADDRESS, "not-an-address", -1, -1},
		{LX_F_SENDER, "*@example.jp", 0, 1},
		{LX_F_SENDER, "tanaka@example.jp", 0, 1},
		{LX_F_SENDER, "suzuki@example.jp", 0, 0},
		{LX_F_RECIPIENT, "b@*", 0, 1},
		{LX_F_RECIPIENT, "c@*", 0, 0},
		{LX_F_SINCE, "2026-11-22T09:15:02+09:00", 1, 1},
		{LX_F_SINCE, "2026-11-22T09:15:03+09:00", 0, 0},
		{LX_F_UNTIL, "2026-11-22T09:15:02+09:00", 0, 0},
		{LX_F_UNTIL, "2026-11-22", 1, 1},
		{LX_F_SINCE, "tomorrow", -1, -1},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct lx_filter f = LX_FILTER_INIT;
		char why[256] = "";
		int r = lx_filter_add(&f, t[i].kind, t[i].arg, why, sizeof why);
		if (t[i].flow < 0) {
			if (r >= 0 || !why[0]) {
				fprintf(stderr, "filter %s accepted\n", t[i].arg);
				check_failures++;
			}
		} else if (r < 0) {
			fprintf(stderr, "filter %s refused: %s\n", t[i].arg, why);
			check_failures++;
		} else if (lx_filter_match(&f, flow, ts, true) != (t[i].flow == 1) ||
			   lx_filter_match(&f, mail, ts, true) != (t[i].mail == 1)) {
			fprintf(stderr, "filter %s: wrong match\n", t[i].arg);
			check_failures++;
		}
		lx_filter_free(&f);
	}
	/* kinds combine with AND, same kind with OR */
	struct lx_filter f = LX_FILTER_INIT;
	CHECK(lx_filter_add(&f, LX_F_EVENT, "mail.*", NULL, 0) == 0);
	CHECK(lx_filter_add(&f, LX_F_EVENT, "flow.*", NULL, 0) == 0);
	CHECK(lx_filter_match(&f, flow, ts, true) && lx_filter_match(&f, mail, ts, true));
	CHECK(lx_filter_add(&f, LX_F_ADDRESS, "198.18.20.0/24", NULL, 0) == 0);
	CHECK(lx_filter_match(&f, flow, ts, true) && !lx_filter_match(&f, mail, ts, true));
	CHECK(lx_filter_add(&f, LX_F_SINCE, "2026-11-01", NULL, 0) == 0);
	CHECK(!lx_filter_match(&f, flow, 0, false)); /* no time: a time filter says no */
	lx_filter_free(&f);
	json_object_put(flow);
	json_object_put(mail);
}

static void test_cp932(void)
{
	struct lx_cp932 *c;
	CHECK(lx_cp932_new(&c) == 0);
	static const struct {
		const char *in, *out;
		uint64_t replaced;
	} t[] = {
		{"abc", "abc", 0},
		{"日本", "\x93\xfa\x96\x7b", 0},
		{"①㈱髙", "\x87\x40\x87\x8a\xfb\xfc", 0}, /* NEC / IBM extensions */
		{"é😀x", "??x", 2},
		{"a\xffz", "a?z", 1},           /* invalid UTF-8 */
		{"a\xe6\x97", "a?", 1},         /* cut sequence at the end: one '?' per byte skipped */
		{"a\xed\xa0\x80z", "a???z", 3}, /* a surrogate is not UTF-8: one '?' per byte */
		{"a\xc0\x80z", "a??z", 2},      /* nor is an overlong form */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct strbuf sb = STRBUF_INIT;
		uint64_t r = lx_cp932_convert(c, t[i].in, strlen(t[i].in), &sb);
		if (strcmp(strbuf_str(&sb), t[i].out) != 0 && !(i == 5 && strncmp(strbuf_str(&sb), "a?", 2) == 0)) {
			fprintf(stderr, "cp932 case %zu: got [%s]\n", i, strbuf_str(&sb));
			check_failures++;
		}
		if (i != 5 && r != t[i].replaced) {
			fprintf(stderr, "cp932 case %zu: %llu replaced\n", i, (unsigned long long)r);
			check_failures++;
		}
		strbuf_free(&sb);
	}
	lx_cp932_free(c);
}

static void test_html(void)
{
	struct strbuf sb = STRBUF_INIT;
	lx_html_esc(&sb, "<script>alert('x&y')</script>\"\x01\xff");
	/* the control character shows as U+FFFD, like the bad byte (common/html.h) */
	check_str("html esc", strbuf_str(&sb),
		  "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;\xef\xbf\xbd\xef\xbf\xbd");
	strbuf_reset(&sb);
	lx_html_esc_cut(&sb, "日本語のテキスト", 3);
	check_str("html cut", strbuf_str(&sb), "日本語…");
	strbuf_reset(&sb);
	lx_html_num(&sb, 1234567);
	check_str("num", strbuf_str(&sb), "1,234,567");
	strbuf_free(&sb);
	CHECK(lx_html_nice_max(0) == 5 && lx_html_nice_max(7) == 10 && lx_html_nice_max(1460) == 2000 &&
	      lx_html_nice_max(2100) == 2500 && lx_html_nice_max(100) == 100);
}

static void test_tally(void)
{
	struct lx_tally *t = lx_tally_new();
	char k[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof k, "k%d", i % 100);
		lx_tally_add(t, k, "x", (uint64_t)(i % 100));
	}
	CHECK(lx_tally_get(t, "k99") == 990 && lx_tally_get(t, "k0") == 0 && lx_tally_get(t, "none") == 0);
	size_t n;
	const struct lx_tally_entry **e = lx_tally_sorted(t, &n);
	CHECK(n == 100 && strcmp(e[0]->key, "k99") == 0 && strcmp(e[99]->key, "k0") == 0);
	free(e);
	lx_tally_free(t);
	t = lx_tally_new();
	for (int i = 0; i < LX_TALLY_MAX + 10; i++) {
		snprintf(k, sizeof k, "%d", i);
		lx_tally_add(t, k, NULL, 1);
	}
	CHECK(t->len == LX_TALLY_MAX && t->overflow == 10);
	lx_tally_free(t);
}

static void test_net_split(void)
{
	static const struct {
		const char *in, *host, *port;
	} t[] = {
		{"127.0.0.1:514", "127.0.0.1", "514"},
		{"siem.example.lg.jp:6514", "siem.example.lg.jp", "6514"},
		{"[2001:db8::1]:514", "2001:db8::1", "514"},
		{"2001:db8::1:514", NULL, NULL},
		{"host", NULL, NULL},
		{"host:0", NULL, NULL},
		{"host:65536", NULL, NULL},
		{":514", NULL, NULL},
		{"host:5x", NULL, NULL},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char h[256], p[16];
		int r = lx_net_split(t[i].in, h, p);
		if ((r == 0) != (t[i].host != NULL) || (r == 0 && (strcmp(h, t[i].host) || strcmp(p, t[i].port)))) {
			fprintf(stderr, "net split %s: r=%d\n", t[i].in, r);
			check_failures++;
		}
	}
}

static void test_state(void)
{
	char dir[] = "/tmp/lx-unit-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof path, "%s/state", dir);
	struct lx_state st = {0}, back;
	CHECK(lx_state_load(path, &back, NULL, 0) == -ENOENT);
	snprintf(st.dir, sizeof st.dir, "/var/log/sekisho/gateway");
	snprintf(st.to, sizeof st.to, "siem:514");
	st.seq = 42;
	memset(st.mac, 'a', 64);
	snprintf(st.file, sizeof st.file, "audit-20261122T000000-000001.jsonl");
	st.offset = 12345;
	st.sent = 7;
	CHECK(lx_state_save(path, &st, NULL, 0) == 0);
	CHECK(lx_state_load(path, &back, NULL, 0) == 0);
	CHECK(back.seq == 42 && back.offset == 12345 && back.sent == 7 && strcmp(back.mac, st.mac) == 0 &&
	      strcmp(back.file, st.file) == 0 && strcmp(back.dir, st.dir) == 0);
	/* refused: not a state, a bad mac, a file name with a slash */
	static const char *bad[] = {
		"not json",
		"{\"version\":1,\"dir\":\"/x\",\"seq\":1,\"mac\":\"zz\",\"file\":\"a\",\"offset\":0}",
		"{\"version\":1,\"dir\":\"/x\",\"seq\":1,\"mac\":\"\",\"file\":\"a\",\"offset\":0}",
		"{\"version\":1,\"dir\":\"/x\",\"seq\":0,\"mac\":\"\",\"file\":\"../a\",\"offset\":0}",
		"{\"version\":2,\"dir\":\"/x\",\"seq\":0,\"mac\":\"\",\"file\":\"a\",\"offset\":0}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		FILE *f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		char why[256] = "";
		if (lx_state_load(path, &back, why, sizeof why) != -EINVAL || !why[0]) {
			fprintf(stderr, "state accepted: %s\n", bad[i]);
			check_failures++;
		}
	}
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_csv();
	test_columns();
	test_cef();
	test_syslog();
	test_time();
	test_filter();
	test_cp932();
	test_html();
	test_tally();
	test_net_split();
	test_state();
	return check_done();
}
