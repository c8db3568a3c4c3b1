/* genlog: write realistic audit logs with the real writer (common/audit/audit.h)
 * for the sekisho-logexport tests, until the gateway and the sanitiser
 * produce real ones.
 *
 *   genlog DIR KEYFILE [--component gateway|sanitizer] [--host NAME]
 *          [--start RFC3339] [--count N] [--step-ms MS] [--seed S]
 *          [--rotate-bytes B] [--unsynced-hour H] [--policy-change-day D]
 *          [--hostile]
 *
 * A fake clock (a global advanced before every audit_emit) spreads the
 * records over days: the writer rotates at local midnight (TZ), so a few
 * days make a few files.  gateway writes flow.decision records (zones,
 * rule names and descriptions of rules/examples/municipality.policy, in
 * Japanese), policy.compile / policy.load at start and at a policy change,
 * hourly clock.status (one unsynchronised hour if asked) and
 * lifecycle.start/stop; sanitizer writes mail.sanitized records with
 * Japanese subjects and attachment names; portal writes the file portals'
 * events (portal.*, upload.*, file.released, mail.copies_sent,
 * mail.upload_notice) in a fixed cycle per record.  --hostile adds records whose
 * strings are markup and control characters (for escaping tests).  Appending to an existing
 * directory continues its chain.  Deterministic for a given seed. */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/audit/audit.h"
#include "common/inaddr.h"

static _Atomic int64_t fake_now;

static int64_t clock_now(void *arg)
{
	(void)arg;
	return atomic_load(&fake_now);
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void die(const char *what, int err, const char *why)
{
	fprintf(stderr, "genlog: %s: %s%s%s\n", what, strerror(-err), why && *why ? ": " : "", why ? why : "");
	exit(2);
}

/* ---- flows: the municipality policy's rules ---- */

struct flow_kind {
	const char *from, *to, *in_if, *out_if;
	const char *src4, *dst4; /* an address, or a prefix ending in '.' that gets a host number */
	const char *src6, *dst6; /* the same with ':' and a hex number; NULL: IPv4 only */
	const char *proto;
	unsigned dport;
	const char *action;
	int rule_id;
	const char *rule_name;
	int rule_line;
	unsigned weight;
};

static const struct flow_kind flows[] = {
	{"lgwan", "internet", "eth2", "eth3", "198.18.20.", "203.0.113.", "2001:db8:20:80::", "2001:db8:30::", "tcp",
	 443, "reject", 17, "LGWAN からの外部直接通信禁止", 44, 20},
	{"lgwan", "internet", "eth2", "eth3", "198.18.20.", "198.51.100.", NULL, NULL, "udp", 53, "deny", 0,
	 "既定: すべて拒否", 47, 6},
	{"lgwan", "internet", "eth2", "eth3", "198.18.20.", "198.18.30.50", NULL, NULL, "tcp", 3389, "allow", 5,
	 "仮想ブラウザ利用", 26, 25},
	{"internet", "self", "eth3", "", "203.0.113.", "198.18.30.1", NULL, NULL, "tcp", 25, "allow", 1,
	 "インターネットからのメール受信", 20, 12},
	{"self", "lgwan", "", "eth2", "198.18.20.1", "198.18.20.25", NULL, NULL, "tcp", 25, "allow", 2,
	 "無害化後のメール配送", 21, 10},
	{"mynumber", "lgwan-wan", "eth1", "eth5", "198.18.10.", "198.19.1.10", NULL, NULL, "tcp", 443, "allow", 6,
	 "中間サーバー連携", 29, 4},
	{"mynumber", "internet", "eth1", "eth3", "198.18.10.", "192.0.2.", NULL, NULL, "tcp", 443, "deny", 0,
	 "既定: すべて拒否", 47, 2},
	{"lgwan", "lgwan-wan", "eth2", "eth5", "198.18.20.", "198.19.2.", NULL, NULL, "tcp", 443, "allow", 7,
	 "LGWAN-ASP 利用", 32, 15},
	{"internet", "lgwan", "eth3", "eth2", "192.0.2.", "198.18.20.25", "2001:db8:30::", "2001:db8:20::25", "tcp", 25,
	 "deny", 0, "既定: すべて拒否", 47, 6},
};

/* pattern "198.18.20." + host, "2001:db8::" + hex host, or a whole address */
static void addr_text(char *buf, size_t n, const char *pattern, unsigned host)
{
	size_t l = strlen(pattern);
	if (pattern[l - 1] == '.')
		snprintf(buf, n, "%s%u", pattern, host);
	else if (pattern[l - 1] == ':')
		snprintf(buf, n, "%s%x", pattern, host);
	else
		snprintf(buf, n, "%s", pattern);
}

static const char *zone_desc(const char *z)
{
	static const struct {
		const char *z, *d;
	} d[] = {
		{"mynumber", "マイナンバー利用事務系"},
		{"lgwan", "LGWAN接続系 (庁内)"},
		{"lgwan-wan", "LGWAN (全国ネットワーク)"},
		{"internet", "インターネット接続系"},
		{"mgmt", "運用管理系"},
		{"self", "本装置"},
	};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
		if (strcmp(d[i].z, z) == 0)
			return d[i].d;
	return "";
}

static const char *policy_version = "2026.11-1";
static char policy_hash[65], table_hash[65];
static unsigned table_gen;

static void set_policy(const char *version)
{
	policy_version = version;
	for (int i = 0; i < 64; i++) {
		policy_hash[i] = "0123456789abcdef"[(rnd() >> 7) & 15];
		table_hash[i] = "0123456789abcdef"[(rnd() >> 9) & 15];
	}
	policy_hash[64] = table_hash[64] = '\0';
}

static void emit(struct audit_log *log, const char *ev, const struct audit_field *f, size_t n)
{
	/* Flushing at every local day change (and every 256 records, well
	 * within the queue) keeps the writer's own clock reads (rotation at
	 * midnight, log.open) in step with the fake clock. */
	static int last_day = -1;
	static unsigned since_flush;
	time_t t = (time_t)(atomic_load(&fake_now) / 1000000000);
	struct tm tm;
	localtime_r(&t, &tm);
	int r;
	bool new_day = tm.tm_yday != last_day;
	if (new_day || ++since_flush >= 256) {
		last_day = tm.tm_yday;
		since_flush = 0;
		if ((r = audit_flush(log)) < 0)
			die("flush", r, NULL);
	}
	if ((r = audit_emit(log, ev, f, n)) < 0)
		die(ev, r, NULL);
	if (new_day && (r = audit_flush(log)) < 0)
		die("flush", r, NULL);
}

static void emit_flow(struct audit_log *log)
{
	unsigned total = 0;
	for (size_t i = 0; i < sizeof flows / sizeof flows[0]; i++)
		total += flows[i].weight;
	unsigned w = pick(total);
	const struct flow_kind *k = flows;
	while (w >= k->weight) {
		w -= k->weight;
		k++;
	}
	bool v6 = k->src6 && pick(4) == 0;
	char src[64], dst[64];
	int fam = v6 ? 6 : 4;
	/* A few noisy sources make a "top denied sources" list. */
	unsigned host = strcmp(k->action, "allow") != 0 && pick(3) ? 10 + pick(4) : 20 + pick(200);
	addr_text(src, sizeof src, v6 ? k->src6 : k->src4, host);
	addr_text(dst, sizeof dst, v6 ? k->dst6 : k->dst4, 1 + pick(250));
	u128 s, d;
	int f1, f2;
	if (inaddr_parse(src, &f1, &s) < 0 || inaddr_parse(dst, &f2, &d) < 0) {
		fprintf(stderr, "genlog: bad address %s %s\n", src, dst);
		exit(2);
	}
	char rule_at[96];
	snprintf(rule_at, sizeof rule_at, "/etc/sekisho/policy.d/municipality.policy:%d", k->rule_line);
	/* docs/audit.md's flow.decision, plus rule_name and the zones'
	 * descriptions (members a producer may add) */
	struct audit_field f[] = {
		AUDIT_STR("from_zone", k->from),
		AUDIT_STR("to_zone", k->to),
		AUDIT_STR("in_if", k->in_if),
		AUDIT_STR("out_if", k->out_if),
		AUDIT_STR("proto", k->proto),
		AUDIT_IP("src", fam, s),
		AUDIT_UINT("sport", 32768 + pick(28000)),
		AUDIT_IP("dst", fam, d),
		AUDIT_UINT("dport", k->dport),
		AUDIT_STR("action", k->action),
		AUDIT_INT("rule_id", k->rule_id),
		AUDIT_STR("rule_at", rule_at),
		AUDIT_STR("policy_sha256", policy_hash),
		AUDIT_UINT("table_gen", table_gen),
		AUDIT_STR("rule_name", k->rule_name),
		AUDIT_STR("from_zone_desc", zone_desc(k->from)),
		AUDIT_STR("to_zone_desc", zone_desc(k->to)),
	};
	emit(log, "flow.decision", f, AUDIT_N(f));
}

/* docs/audit.md's policy.compile and policy.load, plus the policy's own
 * name and version (from its `policy "..." version "..."` line). */
static void emit_policy(struct audit_log *log)
{
	struct audit_field c[] = {
		AUDIT_STR("file", "/etc/sekisho/policy.d/municipality.policy"),
		AUDIT_STR("policy_sha256", policy_hash),
		AUDIT_STR("table_sha256", table_hash),
		AUDIT_STR("result", "ok"),
		AUDIT_INT("errors", 0),
		AUDIT_INT("warnings", 1),
		AUDIT_INT("rules", 17),
		AUDIT_STR("user", "admin"),
		AUDIT_STR("policy_name", "城北市 三層分離ポリシー"),
		AUDIT_STR("version", policy_version),
	};
	emit(log, "policy.compile", c, AUDIT_N(c));
	atomic_fetch_add(&fake_now, 1500000000);
	unsigned prev = table_gen;
	table_gen = prev + 1 + pick(3);
	struct audit_field l[] = {
		AUDIT_STR("table", "/var/lib/sekisho/table.bin"),
		AUDIT_STR("table_sha256", table_hash),
		AUDIT_STR("policy_sha256", policy_hash),
		AUDIT_UINT("generation", table_gen),
		AUDIT_UINT("previous_generation", prev),
		AUDIT_INT("rules", 17),
		AUDIT_STR("result", "ok"),
		AUDIT_STR("version", policy_version),
	};
	emit(log, "policy.load", l, AUDIT_N(l));
}

/* ---- mails ---- */

static const char *subjects[] = {
	"【至急】令和8年度 予算要求資料の提出について",
	"住民説明会（11月30日）のご案内",
	"Re: 防災訓練の実施計画（案）",
	"請求書送付のお知らせ ～ 11月分",
	"ご確認ください：システム更新作業の日程",
	"議事録_第3回情報化推進委員会",
	"Invoice #20261122 for 城北市役所",
	"=HYPERLINK(\"http://198.51.100.7/x\",\"詳細はこちら\")",
	"区切り|パイプ\\円記号\n改行=等号, \"引用\"",
};

static const char *senders[] = {
	"soumu@kenchou.example.lg.jp", "info@vendor.example.co.jp",   "tanaka.ichiro@example.jp",
	"noreply@billing.example.com", "kikaku@johoku.example.lg.jp",
};

static const char *recipients[] = {
	"joho-seisaku@johoku.example.lg.jp",
	"zaisei@johoku.example.lg.jp",
	"bousai@johoku.example.lg.jp",
	"jumin@johoku.example.lg.jp",
};

struct attach {
	const char *name, *declared, *detected;
};

static const struct attach attachments[] = {
	{"予算要求資料.xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12",
	 "application/vnd.ms-excel.sheet.macroEnabled.12"},
	{"請求書.pdf", "application/pdf", "application/pdf"},
	{"議事録.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	 "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	{"写真.zip", "application/zip", "application/zip"},
	{"請求書\u202Efdp.exe", "application/pdf", "application/x-dosexec"},
	{"案内.htm", "text/html", "text/html"},
	{"winmail.dat", "application/ms-tnef", "application/vnd.ms-tnef"},
	{"資料（暗号化）.zip", "application/zip", "application/zip"},
};

static void hex64(char out[65])
{
	for (int k = 0; k < 64; k++)
		out[k] = "0123456789abcdef"[rnd() & 15];
	out[64] = '\0';
}

/* docs/audit.md's mail.sanitized, plus the subject (a member a producer
 * may add). */
static void emit_mail(struct audit_log *log, uint64_t n)
{
	char qid[32], mid[128];
	snprintf(qid, sizeof qid, "4X%08llX", (unsigned long long)(rnd() & 0xffffffffu));
	snprintf(mid, sizeof mid, "<%llx.%llu@mail.example.jp>", (unsigned long long)(rnd() & 0xffffffffffffull),
		 (unsigned long long)n);
	const char *rcpt[3];
	size_t nr = 1 + pick(3);
	for (size_t i = 0; i < nr; i++)
		rcpt[i] = recipients[(i + n) % 4];
	size_t na = pick(3);
	struct audit_field rm[2][7];
	struct audit_field rml[2];
	char sha[2][65], qtn[2][40];
	const char *qids[2];
	for (size_t i = 0; i < na; i++) {
		const struct attach *a = &attachments[pick(sizeof attachments / sizeof attachments[0])];
		hex64(sha[i]);
		snprintf(qtn[i], sizeof qtn[i], "Q-%s-%zu", qid, i + 1);
		qids[i] = qtn[i];
		struct audit_field obj[] = {
			AUDIT_STR("name", a->name),
			AUDIT_STR("content_type", a->declared),
			AUDIT_STR("detected_type", a->detected),
			AUDIT_UINT("size", 1000 + pick(5000000)),
			AUDIT_STR("sha256", sha[i]),
			AUDIT_STR("reason", strcmp(a->declared, a->detected) ? "type-mismatch" : "policy"),
			AUDIT_STR("quarantine_id", qtn[i]),
		};
		memcpy(rm[i], obj, sizeof obj);
		rml[i] = (struct audit_field)AUDIT_OBJ(NULL, rm[i], 7);
	}
	const char *actions[4];
	size_t nact = 0;
	actions[nact++] = "html-to-text";
	if (pick(2))
		actions[nact++] = "links-disabled";
	if (na)
		actions[nact++] = "attachments-removed";
	if (pick(5) == 0)
		actions[nact++] = "charset-repaired";
	char orig[65], outh[65];
	hex64(orig);
	hex64(outh);
	struct audit_field f[] = {
		AUDIT_STR("queue_id", qid),
		AUDIT_STR("message_id", mid),
		AUDIT_STR("env_from", senders[pick(5)]),
		AUDIT_STRLIST("env_to", rcpt, nr),
		AUDIT_UINT("size", 2000 + pick(8000000)),
		AUDIT_STR("original_sha256", orig),
		AUDIT_STR("output_sha256", outh),
		AUDIT_STRLIST("actions", actions, nact),
		AUDIT_LIST("removed", rml, na),
		AUDIT_STRLIST("quarantine_ids", qids, na),
		AUDIT_STR("verdict", "delivered"),
		AUDIT_STR("subject", subjects[n % (sizeof subjects / sizeof subjects[0])]),
	};
	emit(log, "mail.sanitized", f, AUDIT_N(f));
}

/* The file portals (docs/portal.md): record i of a fixed cycle, so that a
 * test can count what the report must show. */
static const char *const approvers[] = {"tanaka", "suzuki"};
static const char *const peers[] = {"198.18.1.10", "198.18.1.11", "2001:db8::20"};

static void emit_portal(struct audit_log *log, uint64_t i)
{
	/* portal.*: docs/audit.md's schemas (peer first); file.released,
	 * mail.* and upload.*: the members the report reads (docs/logexport.md) */
	char link[65], sha[65], csha[65], req[40], up[40];
	hex64(link);
	hex64(sha);
	hex64(csha);
	snprintf(req, sizeof req, "%016llx-%016llx", (unsigned long long)i, (unsigned long long)(rnd() >> 1));
	snprintf(up, sizeof up, "%016llx-%016llx", (unsigned long long)(i + 1000000), (unsigned long long)(rnd() >> 1));
	const struct attach *a = &attachments[i % (sizeof attachments / sizeof attachments[0])];
	const char *peer = peers[i % 3], *rcpt[] = {recipients[i % 4]};
	switch (i % 8) {
	case 0: {
		struct audit_field f[] = {AUDIT_STR("peer", peer), AUDIT_STR("link", link), AUDIT_UINT("files", 2)};
		emit(log, "portal.view", f, AUDIT_N(f));
		struct audit_field g[] = {
			AUDIT_STR("peer", peer),   AUDIT_STR("link", link),        AUDIT_UINT("n", 0),
			AUDIT_STR("sha256", sha),  AUDIT_STR("copy_sha256", csha), AUDIT_UINT("bytes", 1000 + i),
			AUDIT_BOOL("ppap", false), AUDIT_STR("name", a->name)};
		emit(log, "portal.download", g, AUDIT_N(g));
		break;
	}
	case 1: {
		struct audit_field f[] = {AUDIT_STR("link", link), AUDIT_STRLIST("rcpt", rcpt, 1),
					  AUDIT_UINT("files", 2)};
		emit(log, "mail.copies_sent", f, AUDIT_N(f));
		break;
	}
	case 2:
	case 5: {
		/* requested by the link's holder, then approved (2) or denied (5) */
		struct audit_field f[] = {AUDIT_STR("peer", peer),
					  AUDIT_STR("id", req),
					  AUDIT_STR("link", link),
					  AUDIT_UINT("n", 1),
					  AUDIT_STR("sha256", sha),
					  AUDIT_STR("origin", "mail"),
					  AUDIT_STR("reason", "取引先の原本が必要"),
					  AUDIT_STR("user", "")};
		emit(log, "portal.request", f, AUDIT_N(f));
		const char *who = approvers[(i / 8) % 2];
		if (i % 8 == 5) {
			struct audit_field g[] = {AUDIT_STR("peer", "198.18.1.50"), AUDIT_STR("id", req),
						  AUDIT_STR("user", who), AUDIT_STR("comment", "マクロ付きのため不可"),
						  AUDIT_STR("sha256", sha)};
			emit(log, "portal.deny", g, AUDIT_N(g));
			break;
		}
		struct audit_field g[] = {
			AUDIT_STR("peer", "198.18.1.50"), AUDIT_STR("id", req),       AUDIT_STR("user", who),
			AUDIT_STR("comment", "確認済み"), AUDIT_UINT("approvals", 1), AUDIT_UINT("needed", 1),
			AUDIT_BOOL("final", true),        AUDIT_STR("sha256", sha),   AUDIT_STR("job", up)};
		emit(log, "portal.approve", g, AUDIT_N(g));
		const char *ap[] = {who};
		struct audit_field h[] = {AUDIT_STR("id", req), AUDIT_STR("sha256", sha),
					  AUDIT_STRLIST("approvers", ap, 1), AUDIT_STR("origin", "mail")};
		emit(log, "file.released", h, AUDIT_N(h));
		struct audit_field k[] = {AUDIT_STR("peer", peer), AUDIT_STR("id", req), AUDIT_STR("sha256", sha),
					  AUDIT_UINT("bytes", 2000 + i), AUDIT_BOOL("complete", true)};
		emit(log, "portal.release", k, AUDIT_N(k));
		break;
	}
	case 3: {
		struct audit_field f[] = {AUDIT_STR("peer", peer), AUDIT_STR("user", i % 16 == 3 ? "admin" : "tanaka"),
					  AUDIT_BOOL("locked", false), AUDIT_STR("why", "password")};
		emit(log, "portal.login_failed", f, AUDIT_N(f));
		struct audit_field g[] = {AUDIT_STR("peer", peer), AUDIT_STR("user", "tanaka"),
					  AUDIT_STR("role", "approver")};
		emit(log, "portal.login", g, AUDIT_N(g));
		break;
	}
	case 4: {
		struct audit_field f[] = {
			AUDIT_STR("peer", "198.18.100.5"), AUDIT_STR("id", up),    AUDIT_STR("uploader", "yamada"),
			AUDIT_STR("rcpt", rcpt[0]),        AUDIT_UINT("files", 1), AUDIT_UINT("bytes", 5000 + i)};
		emit(log, "upload.received", f, AUDIT_N(f));
		struct audit_field g[] = {AUDIT_STR("id", up), AUDIT_STR("link", link), AUDIT_STR("rcpt", rcpt[0])};
		emit(log, "mail.upload_notice", g, AUDIT_N(g));
		break;
	}
	case 6: {
		struct audit_field f[] = {AUDIT_STR("peer", peer),
					  AUDIT_STR("reason", i % 16 == 6 ? "expired" : "csrf"),
					  AUDIT_UINT("status", i % 16 == 6 ? 410 : 403),
					  AUDIT_STR("method", i % 16 == 6 ? "GET" : "POST"),
					  AUDIT_STR("route", "/m/<token>"),
					  AUDIT_STR("path", "/m/AAAA")};
		emit(log, "portal.refused", f, AUDIT_N(f));
		break;
	}
	default: {
		struct audit_field f[] = {AUDIT_STR("peer", "198.18.100.5"), AUDIT_STR("user", "yamada"),
					  AUDIT_BOOL("locked", true), AUDIT_STR("why", "locked-out")};
		emit(log, "upload.login_failed", f, AUDIT_N(f));
		break;
	}
	}
}

static void emit_clock(struct audit_log *log, bool synced)
{
	struct audit_field f[] = {
		AUDIT_BOOL("synchronized", synced),
		AUDIT_BOOL("sta_unsync", !synced),
		AUDIT_INT("state", synced ? 0 : 5),
		AUDIT_INT("maxerror_us", synced ? 2000 + pick(3000) : 16000000),
		AUDIT_INT("esterror_us", synced ? 100 + pick(400) : 16000000),
		AUDIT_INT("offset_us", synced ? (int64_t)pick(200) - 100 : 0),
		AUDIT_STR("source", "chrony"),
		AUDIT_STR("reason", "hourly"),
	};
	emit(log, "clock.status", f, AUDIT_N(f));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"component", required_argument, NULL, 'c'},
		{"host", required_argument, NULL, 'H'},
		{"start", required_argument, NULL, 's'},
		{"count", required_argument, NULL, 'n'},
		{"step-ms", required_argument, NULL, 'm'},
		{"seed", required_argument, NULL, 'S'},
		{"rotate-bytes", required_argument, NULL, 'r'},
		{"unsynced-hour", required_argument, NULL, 'u'},
		{"policy-change-day", required_argument, NULL, 'p'},
		{"hostile", no_argument, NULL, 'X'},
		{0},
	};
	const char *component = "gateway", *host = "gw1", *start = "2026-11-20T08:30:00+09:00";
	unsigned long long count = 100, step_ms = 60000, seed = 1, rotate = 0;
	long unsynced_hour = -1, change_day = -1;
	bool hostile = false;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			component = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 's':
			start = optarg;
			break;
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			step_ms = strtoull(optarg, NULL, 10);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			rotate = strtoull(optarg, NULL, 10);
			break;
		case 'u':
			unsynced_hour = strtol(optarg, NULL, 10);
			break;
		case 'p':
			change_day = strtol(optarg, NULL, 10);
			break;
		case 'X':
			hostile = true;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: genlog DIR KEYFILE [options]\n");
		return 2;
	}
	rng_state ^= seed * 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 8; i++)
		rnd();
	/* start: YYYY-MM-DDTHH:MM:SS+HH:MM */
	struct tm tm = {0};
	int oh = 0, om = 0;
	char sign = '+';
	if (sscanf(start, "%d-%d-%dT%d:%d:%d%c%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &sign, &oh, &om) != 9) {
		fprintf(stderr, "genlog: --start: YYYY-MM-DDTHH:MM:SS+HH:MM\n");
		return 2;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t t0 = (int64_t)timegm(&tm) - (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	atomic_store(&fake_now, t0 * 1000000000);

	struct audit_key key;
	char why[256] = "";
	int r = audit_key_load(argv[optind + 1], &key, why, sizeof why);
	if (r < 0)
		die(argv[optind + 1], r, why);
	struct audit_opts ao = {
		.dir = argv[optind],
		.component = component,
		.host = host,
		.key = &key,
		.fsync = AUDIT_FSYNC_NONE,
		.flags = AUDIT_OPT_NO_CLOCK_STATUS,
		.rotate_bytes = rotate,
		.now = clock_now,
		.queue_slots = 1024,
	};
	struct audit_log *log;
	if ((r = audit_open(&ao, &log, why, sizeof why)) < 0)
		die(argv[optind], r, why);
	bool portal = strcmp(component, "portal") == 0;
	bool gw = strcmp(component, "sanitizer") != 0 && !portal;
	char cfg[65];
	hex64(cfg);
	struct audit_field ls[] = {
		AUDIT_STR("program",
			  gw               ? "sekisho-gateway"
				  : portal ? "sekisho-portal"
					   : "sekisho-sanitizer"),
		AUDIT_STR("version", "0.1.0"),
		AUDIT_INT("pid", getpid()),
		AUDIT_STR("config", "/etc/sekisho/sekisho.conf"),
		AUDIT_STR("config_sha256", cfg),
	};
	emit(log, "lifecycle.start", ls, AUDIT_N(ls));
	set_policy("2026.11-1");
	if (gw)
		emit_policy(log);
	int64_t last_hour = -1;
	bool changed = false;
	for (unsigned long long i = 0; i < count; i++) {
		/* exponential-ish gaps around step_ms */
		uint64_t gap = step_ms ? (uint64_t)step_ms * (1 + pick(2000)) / 1000 : 0;
		atomic_fetch_add(&fake_now, (int64_t)gap * 1000000 + (int64_t)pick(1000000));
		int64_t now_s = atomic_load(&fake_now) / 1000000000;
		int64_t hour = (now_s - t0) / 3600;
		if (gw && hour != last_hour) {
			last_hour = hour;
			emit_clock(log, hour != unsynced_hour);
		}
		if (gw && change_day >= 0 && !changed && (now_s - t0) / 86400 >= change_day) {
			changed = true;
			char old_h[65], new_h[65];
			memcpy(old_h, policy_hash, sizeof old_h);
			set_policy("2026.11-2");
			memcpy(new_h, policy_hash, sizeof new_h);
			struct audit_field cc[] = {
				AUDIT_STR("what", "policy.d/municipality.policy（SEC-2026-031 LGWAN-ASP 追加）"),
				AUDIT_STR("old_sha256", old_h),
				AUDIT_STR("new_sha256", new_h),
				AUDIT_STR("user", "admin"),
				AUDIT_STR("via", "sekisho-ctl"),
			};
			emit(log, "config.change", cc, AUDIT_N(cc));
			emit_policy(log);
		}
		if (gw)
			emit_flow(log);
		else if (portal)
			emit_portal(log, i);
		else
			emit_mail(log, i);
	}
	if (hostile) {
		/* markup where a report shows zone names, rule names, types */
		u128 a = 0xc6121463u; /* 198.18.20.99 */
		struct audit_field hf[] = {
			AUDIT_STR("from_zone", "<img src=x onerror=alert(1)>"),
			AUDIT_STR("to_zone", "internet\"><script>alert(2)</script>"),
			AUDIT_STR("from_zone_desc", "</td><iframe src=\"https://evil.example/\">"),
			AUDIT_STR("proto", "tcp"),
			AUDIT_IP("src", 4, a),
			AUDIT_STR("action", "deny"),
			AUDIT_STR("rule_name", "'; DROP TABLE --\a\x01"),
		};
		emit(log, gw ? "flow.decision" : "mail.sanitized", hf, AUDIT_N(hf));
		struct audit_field rm[] = {
			AUDIT_STR("name", "<b>x</b>.exe"),
			AUDIT_STR("detected_type", "<svg onload=alert(3)>"),
		};
		struct audit_field rl[] = {AUDIT_OBJ(NULL, rm, 2)};
		struct audit_field mf[] = {
			AUDIT_STR("env_from", "\"<script>\"@example.jp"),
			AUDIT_LIST("removed", rl, 1),
		};
		emit(log, "mail.sanitized", mf, AUDIT_N(mf));
		struct audit_field pf[] = {
			AUDIT_STR("table", "<style>body{background:url(http://evil.example/x)}</style>"),
			AUDIT_STR("version", "v<1>"),
			AUDIT_STR("policy_sha256", "\"onmouseover=\"alert(4)"),
		};
		emit(log, "policy.load", pf, AUDIT_N(pf));
		/* and where the portal section shows names, users and reasons */
		struct audit_field af[] = {
			AUDIT_STR("id", "<a href=\"https://evil.example/\">r</a>"),
			AUDIT_STR("name", "<script>alert(5)</script>.xlsx"),
			AUDIT_STR("user", "<img src=x onerror=alert(6)>"),
			AUDIT_STR("comment", "</table><iframe src=x>"),
		};
		emit(log, "portal.approve", af, AUDIT_N(af));
		struct audit_field lf[] = {
			AUDIT_STR("user", "<svg onload=alert(7)>"),
			AUDIT_STR("peer", "\"><embed src=x>"),
		};
		emit(log, "portal.login_failed", lf, AUDIT_N(lf));
		struct audit_field rf[] = {AUDIT_STR("reason", "<object data=x>")};
		emit(log, "portal.refused", rf, AUDIT_N(rf));
	}
	struct audit_field lt[] = {
		AUDIT_STR("program", gw ? "sekisho-gateway" : "sekisho-sanitizer"),
		AUDIT_STR("version", "0.1.0"),
		AUDIT_INT("pid", getpid()),
		AUDIT_STR("reason", "signal"),
		AUDIT_INT("status", 0),
	};
	emit(log, "lifecycle.stop", lt, AUDIT_N(lt));
	if ((r = audit_close(log)) < 0)
		die("close", r, NULL);
	audit_key_wipe(&key);
	return 0;
}
