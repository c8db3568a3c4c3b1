/* lx_report: the report page (see lx_report.h).
 *
 * Contract: layout only; numbers come from lx_stats, verification from
 * the audit_verify results.  Text from the logs passes through lx_html_esc
 * and nothing else; our own strings are constants.  Lists are capped
 * (TOP_N rows of rankings, LIST_ROWS of tables) and say so when cut. */
#include "tools/logexport/lx_report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tools/logexport/lx_cli.h"
#include "tools/logexport/lx_html.h"

#define TOP_N 10
#define LIST_ROWS 200
#define BREAKS_SHOWN 50

#define C_ALLOW "#3b6fb6"
#define C_DENY "#d1453b"
#define C_MAIL "#23927f"
#define C_ATT "#e39b2d"

/* Label pairs: [0] Japanese, [1] English. */
#define L(m, j_, e_) ((m)->ja ? (j_) : (e_))

static const char *const css[] = {
	":root{--ink:#1c2430;--muted:#5f6b7a;--line:#e3e8ef;--bg:#f3f5f8;--card:#fff;--navy:#14304f;",
	"--ok:#1b7f3b;--ok-bg:#e8f5ec;--bad:#b42318;--bad-bg:#fdecea;--warn:#9a5b00;--warn-bg:#fff4e0}",
	"*{box-sizing:border-box}",
	"html{-webkit-print-color-adjust:exact;print-color-adjust:exact}",
	"body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.65 'Noto Sans CJK JP','Noto Sans JP',",
	"'Hiragino Sans','Hiragino Kaku Gothic ProN','Yu Gothic UI','Yu Gothic',Meiryo,system-ui,-apple-system,",
	"'Segoe UI',sans-serif;font-feature-settings:'palt' 1}",
	".wrap{max-width:1180px;margin:0 auto;padding:0 28px 40px}",
	"header.top{background:linear-gradient(120deg,#10263f,#1d4a73);color:#fff;padding:28px 0 30px;margin-bottom:24px}",
	"header.top .wrap{padding-bottom:0;display:flex;justify-content:space-between;align-items:flex-end;gap:24px}",
	".brand{font-size:13px;letter-spacing:.14em;opacity:.78;margin-bottom:4px}",
	"h1{font-size:28px;margin:0;font-weight:700;letter-spacing:.04em}",
	".period{font-size:16px;margin-top:6px;opacity:.95}",
	".meta{text-align:right;font-size:13px;opacity:.9;line-height:1.8}",
	".meta b{font-weight:600;font-size:15px}",
	".banner{display:flex;gap:14px;align-items:flex-start;border-radius:10px;padding:14px 18px;margin:0 0 12px;",
	"border:1px solid;font-size:15px}",
	".banner .ic{flex:none;width:26px;height:26px;border-radius:50%;color:#fff;font-weight:700;text-align:center;",
	"line-height:26px;font-size:15px}",
	".banner b{display:block;font-size:16px}",
	".banner small{color:var(--muted);font-size:13px}",
	".b-ok{background:var(--ok-bg);border-color:#b7dfc3}.b-ok .ic{background:var(--ok)}.b-ok b{color:var(--ok)}",
	".b-bad{background:var(--bad-bg);border-color:#f4b8b2;border-width:2px}.b-bad .ic{background:var(--bad)}",
	".b-bad b{color:var(--bad);font-size:18px}",
	".b-warn{background:var(--warn-bg);border-color:#f3d19c}.b-warn .ic{background:#d98a00}.b-warn b{color:var(--warn)}",
	".banner ul{margin:6px 0 0;padding-left:18px;font-size:13px}",
	".cards{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin:20px 0 8px}",
	".card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;",
	"box-shadow:0 1px 2px rgba(16,38,63,.05)}",
	".card .k{color:var(--muted);font-size:13px}",
	".card .v{font-size:30px;font-weight:700;letter-spacing:.01em;line-height:1.3;font-variant-numeric:tabular-nums}",
	".card .s{color:var(--muted);font-size:12px}",
	".card.deny .v{color:" C_DENY "}.card.allow .v{color:" C_ALLOW "}.card.mail .v{color:" C_MAIL "}",
	".card.att .v{color:#b8741a}",
	".card .v.small{font-size:20px;padding-top:8px}",
	"section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 22px;margin:16px 0;",
	"break-inside:avoid}",
	"h2{font-size:18px;margin:0 0 4px;padding-left:10px;border-left:4px solid #1d4a73}",
	"p.note{color:var(--muted);font-size:13px;margin:2px 0 12px}",
	".grid2{display:grid;grid-template-columns:1fr 1fr;gap:22px}",
	"h3{font-size:15px;margin:6px 0 6px}",
	"svg.chart{display:block;font-size:12px}",
	"svg .grid{stroke:#edf0f4}svg .axis{stroke:#b8c2cf}",
	"svg text{fill:#3a4656}svg .yl{text-anchor:end;fill:#7b8794;font-size:11px}",
	"svg .xl{text-anchor:middle;font-size:12px}svg .vl{text-anchor:middle;font-size:11px;fill:#3a4656}",
	"svg .lg{font-size:12px}svg .hl{text-anchor:end;font-size:13px}svg .hv{font-size:12px;font-variant-numeric:tabular-nums}",
	"svg .track{fill:#f1f4f8}",
	"table{border-collapse:collapse;width:100%;font-size:13px}",
	"th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}",
	"th{background:#f7f9fb;color:#46515f;font-weight:600;white-space:nowrap}",
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}",
	"td.deny{color:" C_DENY ";font-weight:600}",
	"td.day{font-weight:600;white-space:nowrap}",
	".zd{color:var(--muted);font-size:12px;margin-left:10px}",
	"td.zero{color:#b8c2cf}",
	".chips{margin-top:8px;display:flex;flex-wrap:wrap;gap:8px}",
	".chip{background:#fff;border:1px solid var(--line);border-radius:8px;padding:2px 10px;font-size:13px}",
	"code,.mono{font-family:'Noto Sans Mono CJK JP','DejaVu Sans Mono',ui-monospace,monospace;font-size:12px}",
	".tag{display:inline-block;border-radius:999px;padding:0 9px;font-size:12px;font-weight:600}",
	".t-ok{background:var(--ok-bg);color:var(--ok)}.t-bad{background:var(--bad-bg);color:var(--bad)}",
	".t-warn{background:var(--warn-bg);color:var(--warn)}.t-info{background:#e8eef7;color:#1d4a73}",
	".empty{color:var(--muted);font-size:13px;padding:8px 0}",
	"footer{color:var(--muted);font-size:12px;margin-top:22px;line-height:1.8}",
	"@media print{body{background:#fff}section,.card{box-shadow:none}header.top{padding:18px 0}}",
};

static void num(struct strbuf *o, uint64_t v)
{
	lx_html_num(o, v);
}

static void esc(struct strbuf *o, const char *s)
{
	lx_html_esc(o, s);
}

/* "FROM\tTO\tA" keys -> parts (pointers into a copy the caller frees). */
static char *split3(const char *key, const char **a, const char **b, const char **c)
{
	char *k = xstrdup(key);
	*a = k;
	char *t1 = strchr(k, '\t');
	char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
	if (!t1 || !t2) {
		*b = *c = "";
		return k;
	}
	*t1 = *t2 = '\0';
	*b = t1 + 1;
	*c = t2 + 1;
	return k;
}

struct pair {
	char *from, *to;
	uint64_t allowed, denied;
};

static int pair_cmp(const void *x, const void *y)
{
	const struct pair *a = x, *b = y;
	uint64_t ta = a->allowed + a->denied, tb = b->allowed + b->denied;
	if (ta != tb)
		return ta > tb ? -1 : 1;
	int r = strcmp(a->from, b->from);
	return r ? r : strcmp(a->to, b->to);
}

/* Distinct zone pairs with totals, busiest first. */
static struct pair *pairs_of(const struct lx_stats *st, size_t *ret_n)
{
	size_t n;
	const struct lx_tally_entry **e = lx_tally_sorted(st->pairs, &n);
	struct pair *p = xcalloc(n + 1, sizeof *p);
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		const char *f, *t, *a;
		char *k = split3(e[i]->key, &f, &t, &a);
		size_t j;
		for (j = 0; j < np; j++)
			if (strcmp(p[j].from, f) == 0 && strcmp(p[j].to, t) == 0)
				break;
		if (j == np) {
			p[np].from = xstrdup(f);
			p[np].to = xstrdup(t);
			np++;
		}
		if (strcmp(a, "A") == 0)
			p[j].allowed += e[i]->n;
		else
			p[j].denied += e[i]->n;
		free(k);
	}
	free(e);
	qsort(p, np, sizeof *p, pair_cmp);
	*ret_n = np;
	return p;
}

static void pairs_free(struct pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].from);
		free(p[i].to);
	}
	free(p);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The days of the period that have records, in order. */
static const char **days_of(const struct lx_stats *st, size_t *ret_n)
{
	size_t n;
	const struct lx_tally_entry **e = lx_tally_sorted(st->days, &n);
	const char **d = xcalloc(n + 1, sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = e[i]->key;
	free(e);
	qsort(d, n, sizeof *d, str_cmp);
	*ret_n = n;
	return d;
}

static uint64_t day_count(const struct lx_tally *t, const char *day, const char *suffix)
{
	char key[64];
	if (suffix)
		snprintf(key, sizeof key, "%s\t%s", day, suffix);
	else
		snprintf(key, sizeof key, "%s", day);
	return lx_tally_get(t, key);
}

/* A right-aligned count; zero is a muted dash so that the numbers stand out. */
static void count_cell(struct strbuf *o, uint64_t v, const char *cls)
{
	if (!v) {
		strbuf_puts(o, "<td class=\"n zero\">–</td>");
		return;
	}
	strbuf_printf(o, "<td class=\"n%s\">", cls);
	num(o, v);
	strbuf_puts(o, "</td>");
}

/* A record time for people: "2026-11-22 09:15:02" (the full RFC 3339
 * value in the title). */
static void ts_cell(struct strbuf *o, const char *ts)
{
	strbuf_puts(o, "<td class=\"mono\" title=\"");
	esc(o, ts);
	strbuf_puts(o, "\">");
	if (strlen(ts) >= 19 && ts[10] == 'T') {
		lx_html_escn(o, ts, 10);
		strbuf_putc(o, ' ');
		lx_html_escn(o, ts + 11, 8);
	} else {
		esc(o, ts);
	}
	strbuf_puts(o, "</td>");
}

static void zone_label(struct strbuf *o, const struct lx_stats *st, const char *from, const char *to, bool desc)
{
	strbuf_puts(o, "<b>");
	esc(o, from);
	strbuf_puts(o, "</b> → <b>");
	esc(o, to);
	strbuf_puts(o, "</b>");
	if (!desc)
		return;
	const struct lx_tally_entry *fe = NULL, *te = NULL;
	size_t n;
	const struct lx_tally_entry **e = lx_tally_sorted(st->zone_desc, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i]->key, from) == 0)
			fe = e[i];
		if (strcmp(e[i]->key, to) == 0)
			te = e[i];
	}
	if (fe || te) {
		strbuf_puts(o, "<span class=\"zd\">");
		esc(o, fe && fe->extra ? fe->extra : from);
		strbuf_puts(o, " → ");
		esc(o, te && te->extra ? te->extra : to);
		strbuf_puts(o, "</span>");
	}
	free(e);
}

static bool chains_ok(const struct lx_report_meta *m)
{
	for (size_t i = 0; i < m->nchains; i++)
		if (!m->chains[i].res->ok)
			return false;
	return true;
}

static void header(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<header class=\"top\"><div class=\"wrap\"><div><div class=\"brand\">SEKISHO 関所 — ");
	strbuf_puts(o, L(m, "三層分離境界装置", "three-tier boundary gateway"));
	strbuf_puts(o, "</div><h1>");
	strbuf_puts(o, L(m, "監査ログ報告書", "Audit log report"));
	strbuf_puts(o, "</h1><div class=\"period\">");
	strbuf_puts(o, L(m, "対象期間 ", "Period "));
	esc(o, m->since);
	strbuf_puts(o, " 〜 ");
	esc(o, m->until);
	strbuf_puts(o, "</div></div><div class=\"meta\">");
	strbuf_puts(o, L(m, "装置 ", "Appliance "));
	size_t n;
	const struct lx_tally_entry **h = lx_tally_sorted(st->hosts, &n);
	strbuf_puts(o, "<b>");
	if (n == 0)
		strbuf_puts(o, "—");
	for (size_t i = 0; i < n && i < 5; i++) {
		if (i)
			strbuf_puts(o, ", ");
		esc(o, h[i]->key);
	}
	if (n > 5)
		strbuf_printf(o, " +%zu", n - 5);
	free(h);
	strbuf_puts(o, "</b><br>");
	strbuf_puts(o, L(m, "作成 ", "Generated "));
	if (strlen(m->generated) >= 19 && m->generated[10] == 'T') {
		lx_html_escn(o, m->generated, 10);
		strbuf_putc(o, ' ');
		lx_html_escn(o, m->generated + 11, 5);
	} else {
		esc(o, m->generated);
	}
	strbuf_puts(o, "<br>");
	strbuf_puts(o, L(m, "記録 ", "Records "));
	num(o, st->records);
	strbuf_puts(o, L(m, " 件", ""));
	strbuf_puts(o, "</div></div></header>\n");
}

/* One chip per directory with its verification status. */
static void chips(struct strbuf *o, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<div class=\"chips\">");
	for (size_t i = 0; i < m->nchains; i++) {
		const struct audit_verify_result *r = m->chains[i].res;
		strbuf_puts(o, "<span class=\"chip\"><code>");
		esc(o, m->chains[i].dir);
		strbuf_printf(o, "</code> <span class=\"tag %s\">%s</span> ", r->ok ? "t-ok" : "t-bad",
			      r->ok ? L(m, "正常", "OK") : L(m, "異常", "BROKEN"));
		num(o, r->records);
		strbuf_puts(o, L(m, " 件", " records"));
		strbuf_puts(o, "</span>");
	}
	strbuf_puts(o, "</div>");
}

static void banners(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	uint64_t total = 0;
	for (size_t i = 0; i < m->nchains; i++)
		total += m->chains[i].res->records;
	if (chains_ok(m)) {
		strbuf_puts(o, "<div class=\"banner b-ok\"><div class=\"ic\">✓</div><div><b>");
		strbuf_puts(
			o,
			L(m, "改ざん検知: 監査ログの連鎖はすべて正常です", "Tamper check: every audit chain verifies"));
		strbuf_puts(o, "</b><small>");
		strbuf_printf(o, m->ja ? "%zu 系統のログ、計 " : "%zu log chain%s, ", m->nchains,
			      m->ja ? "" : (m->nchains == 1 ? "" : "s"));
		num(o, total);
		strbuf_puts(
			o,
			L(m, " 件の記録を HMAC-SHA-256 の連鎖で検証しました（欠落・挿入・改変・順序入れ替えなし）",
			  " records checked against their HMAC-SHA-256 chain: nothing missing, inserted, edited or reordered"));
		strbuf_puts(o, "</small>");
		chips(o, m);
		strbuf_puts(o, "</div></div>\n");
	} else {
		strbuf_puts(o, "<div class=\"banner b-bad\"><div class=\"ic\">!</div><div><b>");
		strbuf_puts(o,
			    L(m, "警告: 監査ログの連鎖に異常があります（改ざん・欠落の可能性）",
			      "WARNING: an audit chain is BROKEN (possible tampering or loss)"));
		strbuf_puts(o, "</b><small>");
		strbuf_puts(
			o,
			L(m, "異常のある記録は集計から除外しています。詳細は末尾の「ログの検証」を参照してください。",
			  "Records that do not verify are left out of the figures. See \"Log verification\" below."));
		strbuf_puts(o, "</small><ul>");
		for (size_t i = 0; i < m->nchains; i++) {
			const struct audit_verify_result *r = m->chains[i].res;
			if (r->ok)
				continue;
			strbuf_puts(o, "<li><code>");
			esc(o, m->chains[i].dir);
			strbuf_puts(o, "</code>: ");
			size_t shown = 0;
			for (size_t b = 0; b < r->nbreaks && shown < 3; b++) {
				if (r->breaks[b].explained)
					continue;
				struct strbuf t = STRBUF_INIT;
				lx_cli_break_text(&t, r, &r->breaks[b], m->ja);
				if (shown)
					strbuf_puts(o, "; ");
				esc(o, strbuf_str(&t));
				strbuf_free(&t);
				shown++;
			}
			uint64_t all = r->nbreaks + r->breaks_dropped;
			if (all > shown)
				strbuf_printf(o, m->ja ? " ほか %" PRIu64 " 件" : " and %" PRIu64 " more", all - shown);
			strbuf_puts(o, "</li>");
		}
		strbuf_puts(o, "</ul>");
		chips(o, m);
		strbuf_puts(o, "</div></div>\n");
	}
	if (st->clock_records == 0) {
		strbuf_puts(o, "<div class=\"banner b-warn\"><div class=\"ic\">?</div><div><b>");
		strbuf_puts(o,
			    L(m, "時刻同期: 期間中の時刻状態の記録がありません",
			      "Clock: no clock status records in the period"));
		strbuf_puts(o, "</b><small>");
		strbuf_puts(o,
			    L(m, "ログの時刻が正確であることを確認できません。",
			      "The log times cannot be shown to be accurate."));
		strbuf_puts(o, "</small></div></div>\n");
	} else if (st->clock_unsynced) {
		strbuf_puts(o, "<div class=\"banner b-warn\"><div class=\"ic\">!</div><div><b>");
		if (m->ja) {
			strbuf_puts(o, "時刻同期: 同期していない時間帯があります（");
			num(o, st->clock_unsynced);
			strbuf_puts(o, " 件 / ");
			num(o, st->clock_records);
			strbuf_puts(o, " 件）");
		} else {
			strbuf_puts(o, "Clock: NOT synchronised at times (");
			num(o, st->clock_unsynced);
			strbuf_puts(o, " of ");
			num(o, st->clock_records);
			strbuf_puts(o, " status records)");
		}
		strbuf_puts(o, "</b><small>");
		strbuf_puts(o,
			    L(m, "その間の記録の時刻は不正確な可能性があります。詳細は「時刻同期」を参照してください。",
			      "Times recorded then may be inaccurate; see \"Clock\" below."));
		strbuf_puts(o, "</small></div></div>\n");
	} else {
		strbuf_puts(o, "<div class=\"banner b-ok\"><div class=\"ic\">✓</div><div><b>");
		strbuf_puts(
			o, L(m, "時刻同期: 期間中は常に同期していました", "Clock: synchronised throughout the period"));
		strbuf_puts(o, "</b><small>");
		num(o, st->clock_records);
		strbuf_puts(o, L(m, " 件の時刻状態の記録", " clock status records"));
		if (st->have_clock_offset) {
			strbuf_puts(o, L(m, "、最大オフセット ", ", largest offset "));
			num(o, (uint64_t)st->clock_max_offset_us);
			strbuf_puts(o, " µs");
		}
		strbuf_puts(o, "</small></div></div>\n");
	}
	if (st->lost_records) {
		strbuf_puts(o, "<div class=\"banner b-warn\"><div class=\"ic\">!</div><div><b>");
		if (m->ja) {
			strbuf_puts(o, "記録の欠損が報告されています: ");
			num(o, st->lost_records);
			strbuf_puts(o, " 件");
		} else {
			strbuf_puts(o, "Lost records reported by the writer: ");
			num(o, st->lost_records);
		}
		strbuf_puts(o, "</b><small>");
		strbuf_puts(o,
			    L(m, "書き込みが追いつかなかった、または書き込みに失敗した記録の数です（audit.lost）。",
			      "Records the writer could not keep up with or could not write (audit.lost)."));
		strbuf_puts(o, "</small></div></div>\n");
	}
}

static void card(struct strbuf *o, const char *cls, const char *k, uint64_t v, const char *sub)
{
	strbuf_printf(o, "<div class=\"card %s\"><div class=\"k\">%s</div><div class=\"v\">", cls, k);
	num(o, v);
	strbuf_printf(o, "</div><div class=\"s\">%s</div></div>", sub ? sub : "&nbsp;");
}

static const struct lx_stats_policy *policy_in_force(const struct lx_stats *st)
{
	for (size_t i = st->npolicies; i-- > 0;)
		if (strcmp(st->policies[i].event, "policy.load") == 0)
			return &st->policies[i];
	return st->have_before ? &st->before : NULL;
}

static void cards(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<div class=\"cards\">");
	uint64_t flows = st->flows_allowed + st->flows_denied;
	char sub[96];
	snprintf(sub, sizeof sub, m->ja ? "全通信の %.1f%%" : "%.1f%% of all flows",
		 flows ? 100.0 * (double)st->flows_allowed / (double)flows : 0.0);
	card(o, "allow", L(m, "許可した通信", "Flows allowed"), st->flows_allowed, sub);
	snprintf(sub, sizeof sub, m->ja ? "全通信の %.1f%%" : "%.1f%% of all flows",
		 flows ? 100.0 * (double)st->flows_denied / (double)flows : 0.0);
	card(o, "deny", L(m, "拒否した通信", "Flows denied"), st->flows_denied, sub);
	struct strbuf t = STRBUF_INIT;
	num(&t, st->mails_with_removed);
	snprintf(sub, sizeof sub, m->ja ? "うち添付を削除 %s 通" : "%s with attachments removed", strbuf_str(&t));
	card(o, "mail", L(m, "無害化したメール", "Mails sanitised"), st->mails, sub);
	strbuf_free(&t);
	card(o, "att", L(m, "削除した添付ファイル", "Attachments removed"), st->attachments,
	     L(m, "隔離領域に保管", "kept in quarantine"));
	strbuf_puts(o, "</div><div class=\"cards\">");
	const struct lx_stats_policy *p = policy_in_force(st);
	strbuf_printf(o, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v small\">",
		      L(m, "適用中のポリシー（期間末）", "Policy in force (end of period)"));
	if (p) {
		esc(o, p->version[0] ? p->version : "?");
		strbuf_puts(o, "</div><div class=\"s mono\">");
		esc(o, p->sha256[0] ? p->sha256 : "");
		strbuf_puts(o, "</div></div>");
	} else {
		strbuf_puts(o, "—</div><div class=\"s\">&nbsp;</div></div>");
	}
	uint64_t loads = 0;
	for (size_t i = 0; i < st->npolicies; i++)
		loads += strcmp(st->policies[i].event, "policy.load") == 0;
	card(o, "", L(m, "ポリシーの適用", "Policy loads"), loads,
	     L(m, "期間中の policy.load", "policy.load in the period"));
	card(o, "", L(m, "設定変更", "Configuration changes"), st->nchanges + st->changes_dropped, "config.change");
	card(o, "", L(m, "起動・停止", "Starts and stops"), st->lifecycle_starts + st->lifecycle_stops,
	     "lifecycle.start / stop");
	strbuf_puts(o, "</div>\n");
}

static void flows_section(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<section><h2>");
	strbuf_puts(o, L(m, "日別の通信（許可・拒否）", "Flows per day (allowed and denied)"));
	strbuf_puts(o, "</h2><p class=\"note\">");
	strbuf_puts(o,
		    L(m, "新しい通信ごとの判定（flow.decision）。拒否には reject（即時通知）を含みます。",
		      "Decisions on new flows (flow.decision); denied includes reject."));
	strbuf_puts(o, "</p>");
	size_t nd;
	const char **days = days_of(st, &nd);
	uint64_t *al = xcalloc(nd + 1, sizeof *al), *de = xcalloc(nd + 1, sizeof *de);
	for (size_t i = 0; i < nd; i++) {
		al[i] = day_count(st->day_flow, days[i], "A");
		de[i] = day_count(st->day_flow, days[i], "D");
	}
	struct lx_html_series s[] = {
		{L(m, "許可", "allowed"), C_ALLOW, al},
		{L(m, "拒否", "denied"), C_DENY, de},
	};
	lx_html_svg_columns(o, days, nd, s, 2, 1100, 300, L(m, "日別の通信", "Flows per day"));

	size_t np;
	struct pair *p = pairs_of(st, &np);
	if (np) {
		strbuf_puts(o, "<h3>");
		strbuf_puts(o, L(m, "ゾーン間の通信（期間合計）", "Flows between zones (period total)"));
		strbuf_puts(o, "</h3>");
		const char **labels = xcalloc(np, sizeof *labels);
		uint64_t *pa = xcalloc(np, sizeof *pa), *pd = xcalloc(np, sizeof *pd);
		for (size_t i = 0; i < np; i++) {
			labels[i] = xasprintf("%s → %s", p[i].from, p[i].to);
			pa[i] = p[i].allowed;
			pd[i] = p[i].denied;
		}
		struct lx_html_series ps[] = {
			{L(m, "許可", "allowed"), C_ALLOW, pa},
			{L(m, "拒否", "denied"), C_DENY, pd},
		};
		lx_html_svg_hbars(o, labels, np, ps, 2, 1100, 250, L(m, "ゾーン間の通信", "Flows between zones"));
		for (size_t i = 0; i < np; i++)
			free((char *)(uintptr_t)labels[i]);
		free(labels);
		free(pa);
		free(pd);

		strbuf_puts(o, "<h3>");
		strbuf_puts(o, L(m, "日別・ゾーン間の内訳", "Per day and zone pair"));
		strbuf_printf(
			o, "</h3><table><tr><th>%s</th><th>%s</th><th class=\"n\">%s</th><th class=\"n\">%s</th></tr>",
			L(m, "日付", "Day"), L(m, "送信元ゾーン → 宛先ゾーン", "From zone → to zone"),
			L(m, "許可", "Allowed"), L(m, "拒否", "Denied"));
		size_t rows = 0;
		for (size_t d = 0; d < nd && rows < LIST_ROWS; d++) {
			size_t first = 1, cnt = 0;
			for (size_t i = 0; i < np; i++) {
				char k[700];
				snprintf(k, sizeof k, "%s\t%s\t%s\tA", days[d], p[i].from, p[i].to);
				uint64_t a = lx_tally_get(st->day_pairs, k);
				snprintf(k, sizeof k, "%s\t%s\t%s\tD", days[d], p[i].from, p[i].to);
				uint64_t dn = lx_tally_get(st->day_pairs, k);
				cnt += (a || dn);
			}
			for (size_t i = 0; i < np && rows < LIST_ROWS; i++) {
				char k[700];
				snprintf(k, sizeof k, "%s\t%s\t%s\tA", days[d], p[i].from, p[i].to);
				uint64_t a = lx_tally_get(st->day_pairs, k);
				snprintf(k, sizeof k, "%s\t%s\t%s\tD", days[d], p[i].from, p[i].to);
				uint64_t dn = lx_tally_get(st->day_pairs, k);
				if (!a && !dn)
					continue;
				strbuf_puts(o, "<tr>");
				if (first) {
					strbuf_printf(o, "<td class=\"day\" rowspan=\"%zu\">", cnt);
					esc(o, days[d]);
					strbuf_puts(o, "</td>");
					first = 0;
				}
				strbuf_puts(o, "<td>");
				zone_label(o, st, p[i].from, p[i].to, true);
				strbuf_puts(o, "</td>");
				count_cell(o, a, "");
				count_cell(o, dn, " deny");
				strbuf_puts(o, "</tr>");
				rows++;
			}
		}
		strbuf_puts(o, "</table>");
		if (rows >= LIST_ROWS)
			strbuf_printf(o, "<p class=\"note\">%s</p>",
				      L(m, "表示は先頭 200 行までです。", "Only the first 200 rows are shown."));
	} else {
		strbuf_printf(o, "<p class=\"empty\">%s</p>",
			      L(m, "期間中の通信の記録はありません。", "No flow records in the period."));
	}
	pairs_free(p, np);
	free(al);
	free(de);
	free(days);
	strbuf_puts(o, "</section>\n");
}

static void denied_section(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<section><h2>");
	strbuf_puts(o, L(m, "拒否の多い送信元", "Top denied sources"));
	strbuf_printf(
		o, "</h2><p class=\"note\">%s</p>",
		L(m, "拒否された通信の送信元アドレス（上位 10 件）。", "Source addresses of denied flows (top 10)."));
	size_t n;
	const struct lx_tally_entry **e = lx_tally_sorted(st->denied_src, &n);
	if (n == 0) {
		strbuf_printf(o, "<p class=\"empty\">%s</p>", L(m, "拒否された通信はありません。", "No denied flows."));
	} else {
		size_t k = n < TOP_N ? n : TOP_N;
		const char **labels = xcalloc(k, sizeof *labels);
		uint64_t *v = xcalloc(k, sizeof *v);
		for (size_t i = 0; i < k; i++) {
			labels[i] = e[i]->key;
			v[i] = e[i]->n;
		}
		struct lx_html_series s[] = {{L(m, "拒否", "denied"), C_DENY, v}};
		strbuf_puts(o, "<div class=\"grid2\"><div>");
		lx_html_svg_hbars(o, labels, k, s, 1, 520, 170, L(m, "拒否の多い送信元", "Top denied sources"));
		strbuf_printf(o, "</div><div><table><tr><th>#</th><th>%s</th><th>%s</th><th class=\"n\">%s</th></tr>",
			      L(m, "送信元", "Source"), L(m, "ゾーン", "Zones"), L(m, "拒否件数", "Denied"));
		for (size_t i = 0; i < k; i++) {
			strbuf_printf(o, "<tr><td>%zu</td><td class=\"mono\">", i + 1);
			esc(o, e[i]->key);
			strbuf_puts(o, "</td><td>");
			esc(o, e[i]->extra ? e[i]->extra : "");
			strbuf_puts(o, "</td><td class=\"n deny\">");
			num(o, e[i]->n);
			strbuf_puts(o, "</td></tr>");
		}
		strbuf_puts(o, "</table>");
		if (n > k || st->denied_src->overflow) {
			strbuf_puts(o, "<p class=\"note\">");
			strbuf_puts(o, L(m, "拒否された送信元は全部で ", "Denied sources in all: "));
			num(o, n);
			strbuf_puts(o, L(m, " 件", ""));
			if (st->denied_src->overflow)
				strbuf_puts(o, L(m, "（上限を超えた分は集計外）", " (more beyond the counting limit)"));
			strbuf_puts(o, "</p>");
		}
		strbuf_puts(o, "</div></div>");
		free(labels);
		free(v);
	}
	free(e);
	strbuf_puts(o, "</section>\n");
}

static void mail_section(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<section><h2>");
	strbuf_puts(o, L(m, "メールの無害化", "Mail sanitisation"));
	strbuf_printf(
		o, "</h2><p class=\"note\">%s</p>",
		L(m,
		  "インターネットメールの本文テキスト化と添付ファイルの削除（mail.sanitized）。形式は申告ではなく内容から判定した実際の形式です。",
		  "Internet mail turned into text, attachments removed (mail.sanitized). Types are what the content really is, not what the sender declared."));
	size_t nd;
	const char **days = days_of(st, &nd);
	uint64_t *ml = xcalloc(nd + 1, sizeof *ml), *at = xcalloc(nd + 1, sizeof *at);
	uint64_t any = 0;
	for (size_t i = 0; i < nd; i++) {
		ml[i] = day_count(st->day_mail, days[i], NULL);
		at[i] = day_count(st->day_att, days[i], NULL);
		any += ml[i];
	}
	if (!any) {
		strbuf_printf(o, "<p class=\"empty\">%s</p>",
			      L(m, "期間中のメール無害化の記録はありません。", "No sanitised mail in the period."));
	} else {
		strbuf_puts(o, "<div class=\"grid2\"><div><h3>");
		strbuf_puts(o, L(m, "日別の件数", "Per day"));
		strbuf_puts(o, "</h3>");
		struct lx_html_series s1[] = {{L(m, "無害化したメール", "mails"), C_MAIL, ml}};
		struct lx_html_series s2[] = {{L(m, "削除した添付", "attachments removed"), C_ATT, at}};
		lx_html_svg_columns(o, days, nd, s1, 1, 540, 220, L(m, "日別の無害化メール", "Mails per day"));
		lx_html_svg_columns(o, days, nd, s2, 1, 540, 220, L(m, "日別の削除した添付", "Attachments per day"));
		strbuf_puts(o, "</div><div><h3>");
		strbuf_puts(o, L(m, "削除した添付ファイル（実際の形式別）", "Attachments removed by true type"));
		strbuf_puts(o, "</h3>");
		size_t n;
		const struct lx_tally_entry **e = lx_tally_sorted(st->att_types, &n);
		if (n) {
			size_t k = n < 12 ? n : 12;
			const char **labels = xcalloc(k, sizeof *labels);
			uint64_t *v = xcalloc(k, sizeof *v);
			for (size_t i = 0; i < k; i++) {
				labels[i] = e[i]->key;
				v[i] = e[i]->n;
			}
			struct lx_html_series s[] = {{L(m, "件数", "count"), C_ATT, v}};
			lx_html_svg_hbars(o, labels, k, s, 1, 540, 230, L(m, "実際の形式別", "By true type"));
			free(labels);
			free(v);
		} else {
			strbuf_printf(o, "<p class=\"empty\">%s</p>",
				      L(m, "添付の削除はありません。", "No attachments removed."));
		}
		free(e);
		strbuf_puts(o, "</div></div>");
	}
	free(ml);
	free(at);
	free(days);
	strbuf_puts(o, "</section>\n");
}

static void short_hash(struct strbuf *o, const char *h)
{
	strbuf_puts(o, "<span class=\"mono\" title=\"");
	esc(o, h);
	strbuf_puts(o, "\">");
	if (strlen(h) > 16) {
		lx_html_escn(o, h, 16);
		strbuf_puts(o, "…");
	} else {
		esc(o, h);
	}
	strbuf_puts(o, "</span>");
}

/* The file portals' events, in the order the section lists them. */
static const struct {
	const char *ev, *ev2, *ja, *en;
	bool bad; /* counted red when not zero */
} portal_rows[] = {
	{"portal.download", NULL, "無害化コピーのダウンロード", "Safe copies downloaded", false},
	{"mail.copies_sent", NULL, "無害化コピーのメール送付", "Safe copies sent by mail", false},
	{"portal.view", NULL, "リンクの閲覧", "Link pages viewed", false},
	{"portal.ppap", NULL, "PPAP のパスワード入力", "PPAP passwords entered", false},
	{"portal.request", NULL, "原本の取り出し申請", "Originals requested", false},
	{"portal.approve", NULL, "承認", "Approvals", false},
	{"portal.deny", NULL, "却下", "Denials", false},
	{"portal.release", NULL, "原本のダウンロード", "Originals downloaded", false},
	{"file.released", NULL, "原本の払い出し（ワーカー）", "Originals released (worker)", false},
	{"upload.received", NULL, "アップロードの受付", "Uploads received", false},
	{"mail.upload_notice", NULL, "受け渡しの通知メール", "Upload notifications sent", false},
	{"portal.login", "upload.login", "ログイン", "Logins", false},
	{"portal.login_failed", "upload.login_failed", "ログイン失敗", "Failed logins", true},
	{"portal.refused", "upload.refused", "拒否した要求", "Requests refused", true},
	{"portal.revoke", NULL, "リンクの無効化", "Links revoked", false},
};

static const char *portal_label(const char *ev, const struct lx_report_meta *m)
{
	for (size_t i = 0; i < sizeof portal_rows / sizeof portal_rows[0]; i++)
		if (!strcmp(ev, portal_rows[i].ev) || (portal_rows[i].ev2 && !strcmp(ev, portal_rows[i].ev2)))
			return L(m, portal_rows[i].ja, portal_rows[i].en);
	return ev;
}

/* A table of "A\tB" tally keys with counts, the TOP_N largest. */
static void tally_table(struct strbuf *o, const struct lx_tally *t, const char *h1, const char *h2, const char *hn,
			bool label_first, const struct lx_report_meta *m)
{
	size_t n;
	const struct lx_tally_entry **e = lx_tally_sorted(t, &n);
	strbuf_printf(o, "<table><tr><th>%s</th><th>%s</th><th class=\"n\">%s</th></tr>", h1, h2, hn);
	for (size_t i = 0; i < n && i < TOP_N; i++) {
		char *k = xstrdup(e[i]->key), *tab = strchr(k, '\t');
		const char *a = k, *b = "";
		if (tab) {
			*tab = '\0';
			b = tab + 1;
		}
		strbuf_puts(o, "<tr><td>");
		esc(o, label_first ? portal_label(a, m) : a);
		strbuf_puts(o, "</td><td>");
		esc(o, b);
		strbuf_puts(o, "</td><td class=\"n\">");
		num(o, e[i]->n);
		strbuf_puts(o, "</td></tr>");
		free(k);
	}
	strbuf_puts(o, "</table>");
	if (n > TOP_N || t->overflow) {
		strbuf_puts(o, "<p class=\"note\">");
		strbuf_puts(o, L(m, "上位 10 件のみ表示。全部で ", "Top 10 shown, of "));
		num(o, n);
		strbuf_puts(o, L(m, " 件。", "."));
		strbuf_puts(o, "</p>");
	}
	free(e);
}

/* A heading, then the tally's table or the empty text. */
static void titled_tally(struct strbuf *o, const char *title, const struct lx_tally *t, const char *h1, const char *h2,
			 const char *hn, bool label_first, const char *empty, const struct lx_report_meta *m)
{
	strbuf_printf(o, "<h3>%s</h3>", title);
	if (t->len)
		tally_table(o, t, h1, h2, hn, label_first, m);
	else
		strbuf_printf(o, "<p class=\"empty\">%s</p>", empty);
}

/* The file portals (issue 15, docs/portal.md): copies delivered,
 * originals requested / approved / denied / released and by whom,
 * uploads, failed logins and refusals. */
static void portal_section(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<section><h2>");
	strbuf_puts(o, L(m, "ファイル受け渡しポータル", "File portals"));
	strbuf_printf(
		o, "</h2><p class=\"note\">%s</p>",
		L(m,
		  "無害化コピーの受け取り、原本の取り出し（申請・承認・却下・払い出し）、インターネット側からのアップロード、ログインの失敗と拒否した要求（portal.*、upload.*、file.released、mail.copies_sent、mail.upload_notice）。",
		  "Safe copies delivered, originals requested, approved, denied and released, uploads from the Internet side, failed logins and refused requests (portal.*, upload.*, file.released, mail.copies_sent, mail.upload_notice)."));
	if (!st->portal_records) {
		strbuf_printf(o, "<p class=\"empty\">%s</p></section>\n",
			      L(m, "期間中のポータルの記録はありません。", "No portal records in the period."));
		return;
	}
	strbuf_puts(o, "<div class=\"grid2\"><div><h3>");
	strbuf_puts(o, L(m, "件数", "Counts"));
	strbuf_printf(o, "</h3><table><tr><th>%s</th><th>%s</th><th class=\"n\">%s</th></tr>", L(m, "内容", "What"),
		      L(m, "イベント", "Event"), L(m, "件数", "Count"));
	for (size_t i = 0; i < sizeof portal_rows / sizeof portal_rows[0]; i++) {
		uint64_t v = lx_tally_get(st->events, portal_rows[i].ev);
		if (portal_rows[i].ev2)
			v += lx_tally_get(st->events, portal_rows[i].ev2);
		strbuf_printf(o, "<tr><td>%s</td><td class=\"mono\">%s%s%s</td>",
			      L(m, portal_rows[i].ja, portal_rows[i].en), portal_rows[i].ev,
			      portal_rows[i].ev2 ? " + " : "", portal_rows[i].ev2 ? portal_rows[i].ev2 : "");
		count_cell(o, v, portal_rows[i].bad ? " deny" : "");
		strbuf_puts(o, "</tr>");
	}
	strbuf_puts(o, "</table></div><div>");
	titled_tally(
		o,
		L(m, "誰が（承認・却下・払い出し・アップロード）", "By whom (approvals, denials, releases, uploads)"),
		st->portal_who, L(m, "操作", "Action"), L(m, "利用者", "User"), L(m, "件数", "Count"), true,
		L(m, "記録はありません。", "None."), m);
	titled_tally(o, L(m, "ログインの失敗（利用者名・接続元別）", "Failed logins (by user name and peer)"),
		     st->portal_failed, L(m, "利用者名", "User name"), L(m, "接続元", "Peer"), L(m, "失敗", "Failed"),
		     false, L(m, "ログインの失敗はありません。", "No failed logins."), m);
	titled_tally(o, L(m, "拒否した要求（理由別）", "Refused requests (by reason)"), st->portal_refused,
		     L(m, "イベント", "Event"), L(m, "理由", "Reason"), L(m, "件数", "Count"), false,
		     L(m, "拒否した要求はありません。", "No refused requests."), m);
	strbuf_puts(o, "</div></div><h3>");
	strbuf_puts(o, L(m, "原本の取り出し", "Originals"));
	strbuf_puts(o, "</h3>");
	if (!st->noriginals) {
		strbuf_printf(o, "<p class=\"empty\">%s</p>",
			      L(m, "原本の取り出しの申請はありません。", "No original was requested."));
	} else {
		strbuf_printf(
			o,
			"<table><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>",
			L(m, "時刻", "Time"), L(m, "操作", "Action"), L(m, "ファイル名", "File"),
			L(m, "申請ID", "Request"), "SHA-256", L(m, "誰が", "By"),
			L(m, "理由・コメント", "Reason / comment"));
		for (size_t i = 0; i < st->noriginals && i < LIST_ROWS; i++) {
			const struct lx_stats_original *x = &st->originals[i];
			strbuf_puts(o, "<tr>");
			ts_cell(o, x->ts);
			bool bad = !strcmp(x->event, "portal.deny");
			bool good = !strcmp(x->event, "portal.approve") || !strcmp(x->event, "portal.release") ||
				!strcmp(x->event, "file.released");
			strbuf_printf(o, "<td><span class=\"tag %s\">", bad ? "t-bad" : good ? "t-ok" : "t-info");
			esc(o, portal_label(x->event, m));
			strbuf_puts(o, "</span></td><td>");
			esc(o, x->name);
			strbuf_puts(o, "</td><td class=\"mono\">");
			esc(o, x->request);
			strbuf_puts(o, "</td><td>");
			short_hash(o, x->sha256);
			strbuf_puts(o, "</td><td>");
			esc(o, x->who);
			strbuf_puts(o, "</td><td>");
			esc(o, x->detail);
			strbuf_puts(o, "</td></tr>");
		}
		strbuf_puts(o, "</table>");
		if (st->noriginals > LIST_ROWS || st->originals_dropped) {
			strbuf_puts(o, "<p class=\"note\">");
			strbuf_puts(o, L(m, "先頭の 200 件のみ表示。全部で ", "The first 200 shown, of "));
			num(o, st->noriginals + st->originals_dropped);
			strbuf_puts(o, L(m, " 件。", "."));
			strbuf_puts(o, "</p>");
		}
	}
	strbuf_puts(o, "</section>\n");
}

static void policy_row(struct strbuf *o, const struct lx_stats_policy *p, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<tr>");
	ts_cell(o, p->ts);
	strbuf_puts(o, "<td>");
	if (p->before_period)
		strbuf_printf(o, "<span class=\"tag t-info\">%s</span> ", L(m, "期間開始時点", "at period start"));
	strbuf_printf(o, "<span class=\"tag %s\">", strcmp(p->event, "policy.load") == 0 ? "t-ok" : "t-info");
	esc(o, strcmp(p->event, "policy.load") == 0 ? L(m, "適用", "load") : L(m, "コンパイル", "compile"));
	strbuf_puts(o, "</span></td><td>");
	esc(o, p->host);
	strbuf_puts(o, "</td><td>");
	esc(o, p->name);
	strbuf_puts(o, "</td><td><b>");
	esc(o, p->version);
	strbuf_puts(o, "</b></td><td>");
	short_hash(o, p->sha256);
	strbuf_puts(o, "</td><td>");
	short_hash(o, p->table_sha256);
	strbuf_puts(o, "</td><td>");
	esc(o, p->result);
	strbuf_puts(o, "</td></tr>");
}

static void policy_section(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<section><h2>");
	strbuf_puts(o, L(m, "適用されたポリシー", "Policy versions in force"));
	strbuf_printf(
		o, "</h2><p class=\"note\">%s</p>",
		L(m,
		  "ポリシーのコンパイルと適用（policy.compile / policy.load）。ポリシー SHA-256 はポリシーファイル、ルール表 SHA-256 はコンパイル済みのルール表のハッシュです。",
		  "Policy compilations and loads (policy.compile / policy.load): the policy files' hash and the compiled rule table's hash."));
	if (!st->npolicies && !st->have_before) {
		strbuf_printf(o, "<p class=\"empty\">%s</p></section>\n",
			      L(m, "ポリシーの記録はありません。", "No policy records."));
		return;
	}
	strbuf_printf(o,
		      "<table><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
		      "<th>%s</th></tr>",
		      L(m, "時刻", "Time"), L(m, "種別", "Event"), L(m, "ホスト", "Host"), L(m, "ポリシー", "Policy"),
		      L(m, "版", "Version"), L(m, "ポリシー SHA-256", "Policy SHA-256"),
		      L(m, "ルール表 SHA-256", "Table SHA-256"), L(m, "結果", "Result"));
	if (st->have_before)
		policy_row(o, &st->before, m);
	for (size_t i = 0; i < st->npolicies && i < LIST_ROWS; i++)
		policy_row(o, &st->policies[i], m);
	strbuf_puts(o, "</table>");
	if (st->npolicies > LIST_ROWS || st->policies_dropped)
		strbuf_printf(o, "<p class=\"note\">%s</p>", L(m, "一部のみ表示しています。", "Only part is shown."));
	if (st->nchanges) {
		strbuf_puts(o, "<h3>");
		strbuf_puts(o, L(m, "設定変更", "Configuration changes"));
		strbuf_printf(
			o,
			"</h3><table><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>",
			L(m, "時刻", "Time"), L(m, "ホスト", "Host"), L(m, "変更対象", "What"),
			L(m, "変更前 SHA-256", "Old SHA-256"), L(m, "変更後 SHA-256", "New SHA-256"),
			L(m, "操作者", "User"), L(m, "経路", "Via"));
		for (size_t i = 0; i < st->nchanges && i < LIST_ROWS; i++) {
			const struct lx_stats_change *c = &st->changes[i];
			strbuf_puts(o, "<tr>");
			ts_cell(o, c->ts);
			strbuf_puts(o, "<td>");
			esc(o, c->host);
			strbuf_puts(o, "</td><td>");
			esc(o, c->what);
			strbuf_puts(o, "</td><td>");
			short_hash(o, c->old_sha256);
			strbuf_puts(o, "</td><td>");
			short_hash(o, c->new_sha256);
			strbuf_puts(o, "</td><td>");
			esc(o, c->user);
			strbuf_puts(o, "</td><td>");
			esc(o, c->via);
			strbuf_puts(o, "</td></tr>");
		}
		strbuf_puts(o, "</table>");
	}
	strbuf_puts(o, "</section>\n");
}

static void clock_section(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<section><h2>");
	strbuf_puts(o, L(m, "時刻同期", "Clock"));
	strbuf_printf(
		o, "</h2><p class=\"note\">%s</p>",
		L(m, "装置のカーネル時刻の同期状態（clock.status、1 時間ごと）。ログの時刻の正確さの根拠です。",
		  "The appliance's kernel clock state (clock.status, hourly): the basis for trusting log times."));
	strbuf_puts(o, "<p>");
	if (st->clock_unsynced)
		strbuf_printf(o, "<span class=\"tag t-warn\">%s</span> ", L(m, "非同期あり", "unsynchronised"));
	else if (st->clock_records)
		strbuf_printf(o, "<span class=\"tag t-ok\">%s</span> ", L(m, "常時同期", "always synchronised"));
	else
		strbuf_printf(o, "<span class=\"tag t-warn\">%s</span> ", L(m, "記録なし", "no records"));
	strbuf_puts(o, L(m, "時刻状態の記録 ", "Status records: "));
	num(o, st->clock_records);
	strbuf_puts(o, L(m, " 件、うち非同期 ", ", unsynchronised: "));
	num(o, st->clock_unsynced);
	strbuf_puts(o, L(m, " 件", ""));
	strbuf_puts(o, "</p>");
	if (st->nclocks) {
		strbuf_printf(o, "<table><tr><th>%s</th><th>%s</th><th>%s</th><th class=\"n\">%s</th></tr>",
			      L(m, "時刻", "Time"), L(m, "ホスト", "Host"), L(m, "同期元", "Source"),
			      L(m, "最大誤差", "Max error"));
		for (size_t i = 0; i < st->nclocks && i < LIST_ROWS; i++) {
			const struct lx_stats_clock *c = &st->clocks[i];
			strbuf_puts(o, "<tr>");
			ts_cell(o, c->ts);
			strbuf_puts(o, "<td>");
			esc(o, c->host);
			strbuf_puts(o, "</td><td>");
			esc(o, c->source);
			strbuf_puts(o, "</td><td class=\"n\">");
			if (c->maxerror_us >= 0) {
				num(o, (uint64_t)c->maxerror_us / 1000);
				strbuf_puts(o, " ms");
			}
			strbuf_puts(o, "</td></tr>");
		}
		strbuf_puts(o, "</table>");
	}
	strbuf_puts(o, "</section>\n");
}

static void verify_section(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_puts(o, "<section><h2>");
	strbuf_puts(o, L(m, "ログの検証", "Log verification"));
	strbuf_printf(
		o, "</h2><p class=\"note\">%s</p>",
		L(m, "各ディレクトリのログ全体を HMAC-SHA-256 の連鎖で検証した結果です（集計期間に限らず全記録）。",
		  "Each directory's whole log checked against its HMAC-SHA-256 chain (all records, not only the period)."));
	for (size_t i = 0; i < m->nchains; i++) {
		const struct audit_verify_result *r = m->chains[i].res;
		strbuf_puts(o, "<h3><code>");
		esc(o, m->chains[i].dir);
		strbuf_printf(o, "</code> <span class=\"tag %s\">%s</span></h3>", r->ok ? "t-ok" : "t-bad",
			      r->ok ? L(m, "正常", "OK") : L(m, "異常", "BROKEN"));
		strbuf_printf(
			o,
			"<table><tr><th>%s</th><th class=\"n\">%s</th><th class=\"n\">%s</th><th>%s</th><th>%s</th></tr>",
			L(m, "ファイル", "File"), L(m, "記録", "Records"), L(m, "連番", "Seq"),
			L(m, "最初の記録", "First record"), L(m, "最後の記録", "Last record"));
		for (size_t f = 0; f < r->nfiles && f < LIST_ROWS; f++) {
			const struct audit_verify_file *vf = &r->files[f];
			strbuf_puts(o, "<tr><td class=\"mono\">");
			esc(o, vf->name);
			strbuf_puts(o, "</td><td class=\"n\">");
			num(o, vf->records);
			strbuf_puts(o, "</td><td class=\"n mono\">");
			num(o, vf->first_seq);
			strbuf_puts(o, "–");
			num(o, vf->last_seq);
			strbuf_puts(o, "</td>");
			ts_cell(o, vf->first_ts);
			ts_cell(o, vf->last_ts);
			strbuf_puts(o, "</tr>");
		}
		strbuf_puts(o, "</table>");
		if (r->nbreaks) {
			strbuf_puts(o, "<ul>");
			for (size_t b = 0; b < r->nbreaks && b < BREAKS_SHOWN; b++) {
				struct strbuf t = STRBUF_INIT;
				lx_cli_break_text(&t, r, &r->breaks[b], m->ja);
				strbuf_printf(o, "<li class=\"%s\">", r->breaks[b].explained ? "" : "deny");
				esc(o, strbuf_str(&t));
				strbuf_puts(o, "</li>");
				strbuf_free(&t);
			}
			if (r->nbreaks + r->breaks_dropped > BREAKS_SHOWN)
				strbuf_printf(o, "<li>%s</li>",
					      L(m, "…（すべては verify で確認できます）", "… (run verify for all)"));
			strbuf_puts(o, "</ul>");
		}
		if (r->last_mac[0]) {
			strbuf_puts(o, "<p class=\"note\">");
			strbuf_puts(
				o, L(m, "最後の記録（次回検証の起点）: ", "Last record (anchor for the next check): "));
			strbuf_printf(o, "seq %" PRIu64 " <span class=\"mono\">", r->last_seq);
			esc(o, r->last_mac);
			strbuf_puts(o, "</span></p>");
		}
	}
	if (st->unverified) {
		strbuf_puts(o, "<p class=\"note\">");
		strbuf_puts(o,
			    L(m, "期間中の検証できない行（集計から除外）: ",
			      "Lines in the period that do not verify (left out): "));
		num(o, st->unverified);
		strbuf_puts(o, "</p>");
	}
	strbuf_puts(o, "</section>\n");
}

void lx_report_render(struct strbuf *o, const struct lx_stats *st, const struct lx_report_meta *m)
{
	strbuf_printf(o,
		      "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		      "<meta name=\"generator\" content=\"sekisho-logexport ",
		      m->ja ? "ja" : "en");
	esc(o, m->version);
	strbuf_puts(o, "\"><title>");
	strbuf_puts(o, L(m, "監査ログ報告書 ", "Audit log report "));
	esc(o, m->since);
	strbuf_puts(o, " – ");
	esc(o, m->until);
	strbuf_puts(o, "</title><style>");
	for (size_t i = 0; i < sizeof css / sizeof css[0]; i++)
		strbuf_puts(o, css[i]);
	strbuf_puts(o, "</style></head><body>\n");
	header(o, st, m);
	strbuf_puts(o, "<main class=\"wrap\">\n");
	banners(o, st, m);
	cards(o, st, m);
	flows_section(o, st, m);
	denied_section(o, st, m);
	mail_section(o, st, m);
	portal_section(o, st, m);
	policy_section(o, st, m);
	clock_section(o, st, m);
	verify_section(o, st, m);
	strbuf_puts(o, "<footer>");
	strbuf_puts(o, L(m, "この報告書は sekisho-logexport ", "Generated by sekisho-logexport "));
	esc(o, m->version);
	strbuf_puts(o,
		    L(m,
		      " が改ざん検知付きの監査ログ（JSON Lines、記録ごとの HMAC-SHA-256 連鎖）から作成しました。"
		      "記録そのものは export（CSV / JSON Lines / CEF）で取り出せます。",
		      " from the tamper-evident audit logs (JSON Lines, one HMAC-SHA-256 chain per directory). "
		      "The records themselves are available through export (CSV / JSON Lines / CEF)."));
	strbuf_puts(o, "</footer></main></body></html>\n");
}
