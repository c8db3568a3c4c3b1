/* lx_columns: column sets and record flattening for CSV (see lx_columns.h).
 *
 * Contract: the tables below are the documented column set
 * (docs/logexport.md is generated from the same words); rows are built
 * into caller strbufs through lx_csv with the formula guard on.  Records
 * are hostile: values are repaired to UTF-8, capped, and a value of an
 * unexpected type is shown as compact JSON rather than dropped. */
#include "tools/logexport/lx_columns.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/xalloc.h"
#include "tools/logexport/lx_csv.h"
#include "tools/logexport/lx_json.h"

enum col_src {
	COL_STATUS, /* verification status */
	COL_META,   /* top-level member of the record */
	COL_DATA,   /* member of data */
	COL_JOIN,   /* data array, items joined with LF */
	COL_SUB,    /* data array of objects: member sub of each, joined with LF */
	COL_COUNT,  /* number of items of a data array */
	COL_NOTES,
	COL_OTHER,
};

struct col {
	const char *name;
	const char *ja;
	enum col_src src;
	const char *key;
	const char *sub;
};

#define META(n, j)                      \
	{                               \
		n, j, COL_META, n, NULL \
	}
#define DATA(n, j)                      \
	{                               \
		n, j, COL_DATA, n, NULL \
	}
#define DATAK(n, j, k)                  \
	{                               \
		n, j, COL_DATA, k, NULL \
	}
#define JOIN(n, j)                      \
	{                               \
		n, j, COL_JOIN, n, NULL \
	}
#define SUB(n, j, k, s)             \
	{                           \
		n, j, COL_SUB, k, s \
	}
#define COUNT(n, j, k)                   \
	{                                \
		n, j, COL_COUNT, k, NULL \
	}

static const struct col common_cols[] = {
	{"status", "検証", COL_STATUS, NULL, NULL},
	META("ts", "時刻"),
	META("host", "ホスト"),
	META("component", "構成要素"),
	META("event", "イベント"),
	META("seq", "連番"),
	DATA("from_zone", "送信元ゾーン"),
	DATA("to_zone", "宛先ゾーン"),
	DATA("src", "送信元"),
	DATA("dst", "宛先"),
	DATA("proto", "プロトコル"),
	DATA("action", "判定"),
	DATAK("rule", "ルール", "rule_id"),
};

/* Members of docs/audit.md's schemas, in the order an auditor reads them;
 * rule_name, from_zone_desc, to_zone_desc and subject are not in the
 * schemas but are shown when a producer adds them. */
static const struct col flow_cols[] = {
	DATA("rule_name", "ルール名"),
	DATA("rule_at", "ルールの位置"),
	DATA("sport", "送信元ポート"),
	DATA("dport", "宛先ポート"),
	DATA("icmp_type", "ICMPタイプ"),
	DATA("icmp_code", "ICMPコード"),
	DATA("in_if", "受信インタフェース"),
	DATA("out_if", "送信インタフェース"),
	DATA("from_zone_desc", "送信元ゾーン説明"),
	DATA("to_zone_desc", "宛先ゾーン説明"),
	DATA("reason", "理由"),
	DATA("policy_sha256", "ポリシーSHA-256"),
	DATA("table_gen", "ルール表の世代"),
};

static const struct col mail_cols[] = {
	DATA("queue_id", "キューID"),
	DATA("message_id", "メッセージID"),
	DATA("env_from", "差出人(エンベロープ)"),
	JOIN("env_to", "宛先(エンベロープ)"),
	DATA("subject", "件名"),
	DATA("verdict", "配送結果"),
	JOIN("actions", "処理内容"),
	COUNT("removed_count", "削除した添付の数", "removed"),
	SUB("removed_name", "削除した添付ファイル名", "removed", "name"),
	SUB("removed_content_type", "申告された形式", "removed", "content_type"),
	SUB("removed_detected_type", "実際の形式", "removed", "detected_type"),
	SUB("removed_size", "添付サイズ", "removed", "size"),
	SUB("removed_sha256", "添付SHA-256", "removed", "sha256"),
	SUB("removed_reason", "削除理由", "removed", "reason"),
	SUB("removed_quarantine_id", "隔離ID", "removed", "quarantine_id"),
	JOIN("quarantine_ids", "隔離ID一覧"),
	DATA("size", "サイズ"),
	DATA("original_sha256", "元のSHA-256"),
	DATA("output_sha256", "無害化後のSHA-256"),
	DATA("link", "リンク(マニフェスト)"),
	DATA("link_error", "リンク作成の失敗"),
};

/* the file portals (issue 15): portal.*, upload.*, file.released,
 * mail.copies_sent, mail.upload_notice (docs/audit.md, docs/portal.md);
 * a member none of these records has is left out like any other */
static const struct col portal_cols[] = {
	DATA("peer", "接続元"),
	DATA("user", "操作者"),
	DATA("role", "役割"),
	JOIN("approvers", "承認者"),
	DATA("uploader", "アップロードした人"),
	DATA("id", "申請・受付ID"),
	DATA("request", "申請ID"),
	DATA("link", "リンク(マニフェスト)"),
	DATA("n", "ファイル番号"),
	DATA("name", "ファイル名"),
	DATA("sha256", "SHA-256"),
	DATA("copy_sha256", "コピーのSHA-256"),
	DATA("bytes", "バイト数"),
	DATA("ppap", "PPAP"),
	DATA("origin", "原本の出所"),
	DATA("approvals", "承認数"),
	DATA("needed", "必要な承認数"),
	DATA("final", "承認完了"),
	DATA("job", "ジョブ"),
	DATA("complete", "送信完了"),
	DATA("locked", "ロック"),
	DATA("why", "失敗の理由"),
	DATA("method", "メソッド"),
	DATA("route", "要求先"),
	DATA("path", "パス"),
	JOIN("rcpt", "宛先アドレス"),
	DATA("note", "メモ"),
	DATA("comment", "コメント"),
	DATA("reason", "理由"),
	DATA("result", "結果"),
	JOIN("files", "ファイル数"),
	DATA("listen", "待ち受け"),
	DATA("originals", "原本の取り出し"),
	DATA("two_approvers", "二人承認"),
	DATA("release_hours", "取り出しの有効時間"),
};

/* file 無害化 (CDR): one record per quarantined attachment (sekisho-cdrd,
 * or the milter's "not-queued"); docs/audit.md */
static const struct col file_cols[] = {
	DATA("quarantine_id", "無害化対象の隔離ID"),
	DATA("name", "ファイル名"),
	DATA("result", "結果"),
	DATA("reason", "理由"),
	DATA("in_type", "元の形式"),
	DATA("out_type", "無害化後の形式"),
	DATA("mode", "方式"),
	DATA("removed", "除去した項目の数"),
	DATA("in_bytes", "元のサイズ"),
	DATA("out_bytes", "無害化後のサイズ"),
	DATA("in_sha256", "無害化前のSHA-256"),
	DATA("out_sha256", "無害化コピーのSHA-256"),
	DATA("copy", "無害化コピー"),
	DATA("message_id", "メッセージID"),
	DATA("queue_id", "キューID"),
	DATA("job_id", "ジョブID"),
	DATA("ms", "処理時間(ms)"),
};

static const struct col policy_cols[] = {
	DATA("policy_name", "ポリシー名"),
	DATA("version", "版"),
	DATA("file", "ファイル"),
	DATA("table", "ルール表"),
	DATA("policy_sha256", "ポリシーSHA-256"),
	DATA("table_sha256", "ルール表SHA-256"),
	DATA("generation", "世代"),
	DATA("previous_generation", "前の世代"),
	DATA("rules", "ルール数"),
	DATA("result", "結果"),
	DATA("errors", "エラー数"),
	DATA("warnings", "警告数"),
	DATA("user", "操作者"),
};

static const struct col clock_cols[] = {
	DATA("synchronized", "時刻同期"),
	DATA("source", "同期元"),
	DATA("offset_us", "オフセット(µs)"),
	DATA("maxerror_us", "最大誤差(µs)"),
	DATA("esterror_us", "推定誤差(µs)"),
	DATA("sta_unsync", "STA_UNSYNC"),
	DATA("state", "状態"),
	DATA("reason", "理由"),
};

static const struct col lost_cols[] = {
	DATA("count", "件数"),          DATA("queue_full", "キュー溢れ"), DATA("io_error", "書き込み失敗"),
	DATA("first_ts", "最初の時刻"), DATA("last_ts", "最後の時刻"),    DATA("total_lost", "累計欠損"),
	DATA("message", "メッセージ"),
};

static const struct col logfile_cols[] = {
	DATA("file", "ファイル"),
	DATA("prev_file", "前のファイル"),
	DATA("prev_end", "前のファイルの終わり"),
	DATA("prev_torn_at", "途切れた位置"),
	DATA("prev_closed", "前回の正常終了"),
	DATA("offset", "オフセット"),
	DATA("reason", "理由"),
	DATA("writer_pid", "書き込みプロセスID"),
	DATA("written", "書き込み件数"),
	DATA("dropped", "破棄件数"),
	DATA("lost_io", "書き込み失敗件数"),
	DATA("last_seq", "最後の連番"),
	DATA("last_mac", "最後のMAC"),
	DATA("last_ts", "最後の時刻"),
	DATA("bytes", "バイト数"),
	DATA("torn", "途切れ"),
};

static const struct col lifecycle_cols[] = {
	DATA("program", "プログラム"),
	DATA("version", "版"),
	DATA("pid", "プロセスID"),
	DATA("config", "設定ファイル"),
	DATA("config_sha256", "設定SHA-256"),
	DATA("reason", "理由"),
	DATA("status", "終了状態"),
};

static const struct col config_cols[] = {
	DATA("what", "変更対象"),
	DATA("old_sha256", "変更前SHA-256"),
	DATA("new_sha256", "変更後SHA-256"),
	DATA("user", "操作者"),
	DATA("via", "経路"),
};

static const struct col tail_cols[] = {
	{"notes", "注記", COL_NOTES, NULL, NULL},
	{"other", "その他", COL_OTHER, NULL, NULL},
};

struct event_cols {
	const char *event;
	const struct col *cols;
	size_t n;
};

#define EV(e, t)                                 \
	{                                        \
		e, t, sizeof(t) / sizeof((t)[0]) \
	}
static const struct event_cols known[] = {
	EV("flow.decision", flow_cols),
	EV("mail.sanitized", mail_cols),
	EV("policy.compile", policy_cols),
	EV("policy.load", policy_cols),
	EV("config.change", config_cols),
	EV("lifecycle.start", lifecycle_cols),
	EV("lifecycle.stop", lifecycle_cols),
	EV("clock.status", clock_cols),
	EV("audit.lost", lost_cols),
	EV("log.open", logfile_cols),
	EV("log.resume", logfile_cols),
	EV("log.close", logfile_cols),
	EV("log.retention", logfile_cols),
	EV("file.sanitized", file_cols),
	EV("portal.start", portal_cols),
	EV("portal.stop", portal_cols),
	EV("portal.view", portal_cols),
	EV("portal.download", portal_cols),
	EV("portal.ppap", portal_cols),
	EV("portal.request", portal_cols),
	EV("portal.approve", portal_cols),
	EV("portal.deny", portal_cols),
	EV("portal.release", portal_cols),
	EV("portal.login", portal_cols),
	EV("portal.login_failed", portal_cols),
	EV("portal.logout", portal_cols),
	EV("portal.refused", portal_cols),
	EV("portal.revoke", portal_cols),
	EV("upload.login", portal_cols),
	EV("upload.login_failed", portal_cols),
	EV("upload.received", portal_cols),
	EV("upload.refused", portal_cols),
	EV("file.released", portal_cols),
	EV("mail.copies_sent", portal_cols),
	EV("mail.upload_notice", portal_cols),
};

struct lx_colset {
	const struct col **cols;
	size_t n;
	/* data keys some column reads: they are not repeated in "other" */
	const char **taken;
	size_t ntaken;
};

static bool has_col(const struct lx_colset *cs, const char *name)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->cols[i]->name, name) == 0)
			return true;
	return false;
}

static void add_col(struct lx_colset *cs, const struct col *c)
{
	if (has_col(cs, c->name))
		return;
	cs->cols = xreallocarray(cs->cols, cs->n + 1, sizeof *cs->cols);
	cs->cols[cs->n++] = c;
	if (c->src == COL_META || c->src == COL_STATUS || c->src == COL_NOTES || c->src == COL_OTHER)
		return;
	for (size_t i = 0; i < cs->ntaken; i++)
		if (strcmp(cs->taken[i], c->key) == 0)
			return;
	cs->taken = xreallocarray(cs->taken, cs->ntaken + 1, sizeof *cs->taken);
	cs->taken[cs->ntaken++] = c->key;
}

struct lx_colset *lx_columns_new(lx_colset_present_fn *present, void *arg)
{
	struct lx_colset *cs = xcalloc(1, sizeof *cs);
	for (size_t i = 0; i < sizeof common_cols / sizeof common_cols[0]; i++)
		add_col(cs, &common_cols[i]);
	for (size_t e = 0; e < sizeof known / sizeof known[0]; e++) {
		if (present && !present(known[e].event, NULL, arg))
			continue;
		for (size_t i = 0; i < known[e].n; i++)
			if (!present || present(known[e].event, known[e].cols[i].key, arg))
				add_col(cs, &known[e].cols[i]);
	}
	for (size_t i = 0; i < sizeof tail_cols / sizeof tail_cols[0]; i++)
		add_col(cs, &tail_cols[i]);
	return cs;
}

void lx_columns_free(struct lx_colset *cs)
{
	if (!cs)
		return;
	free(cs->cols);
	free(cs->taken);
	free(cs);
}

size_t lx_columns_count(const struct lx_colset *cs)
{
	return cs->n;
}

void lx_columns_header(const struct lx_colset *cs, bool ja, struct strbuf *row_out, bool crlf_csv)
{
	const char **cells = xcalloc(cs->n, sizeof *cells);
	for (size_t i = 0; i < cs->n; i++)
		cells[i] = ja ? cs->cols[i]->ja : cs->cols[i]->name;
	if (crlf_csv) {
		lx_csv_row(row_out, cells, cs->n, false);
	} else {
		for (size_t i = 0; i < cs->n; i++) {
			strbuf_puts(row_out, i ? ", " : "");
			strbuf_puts(row_out, cells[i]);
		}
	}
	free(cells);
}

static const struct {
	const char *status, *en, *ja;
} status_labels[] = {
	{"ok", "ok", "検証済"},
	{"after-gap", "after-gap", "検証済(欠落の後)"},
	{"reordered", "reordered", "順序不正"},
	{"edited", "edited", "改ざん"},
	{"inserted", "inserted", "挿入"},
	{"truncated", "truncated", "途切れ"},
	{"unverified", "unverified", "未検証"},
};

const char *lx_columns_status_label(const char *status, bool ja)
{
	for (size_t i = 0; i < sizeof status_labels / sizeof status_labels[0]; i++)
		if (strcmp(status_labels[i].status, status) == 0)
			return ja ? status_labels[i].ja : status_labels[i].en;
	return status;
}

static void join_items(struct json_object *arr, const char *sub, struct strbuf *sb)
{
	if (!arr)
		return;
	if (!json_object_is_type(arr, json_type_array)) {
		/* not the documented type: show it as it is */
		if (!sub)
			lx_json_text(arr, sb);
		return;
	}
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		if (i)
			strbuf_putc(sb, '\n');
		lx_json_text(sub ? lx_json_get(e, sub) : e, sb);
	}
}

static void add_note(struct strbuf *notes, const char *s)
{
	if (notes->len)
		strbuf_puts(notes, "; ");
	strbuf_puts(notes, s);
}

/* The writer's marks: _truncated / _invalid_utf8 (arrays of names) and
 * _omitted (a count). */
static void mark_notes(struct json_object *data, bool ja, struct strbuf *notes)
{
	static const struct {
		const char *key, *en, *ja;
	} marks[] = {
		{"_truncated", "truncated by the writer: ", "記録時に切り詰め: "},
		{"_invalid_utf8", "invalid UTF-8 replaced: ", "不正なUTF-8を置換: "},
		{"_omitted", "fields left out by the writer: ", "記録時に省略された項目数: "},
	};
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
		struct json_object *v = lx_json_get(data, marks[i].key);
		if (!v)
			continue;
		struct strbuf t = STRBUF_INIT;
		strbuf_puts(&t, ja ? marks[i].ja : marks[i].en);
		if (json_object_is_type(v, json_type_array)) {
			size_t n = json_object_array_length(v);
			for (size_t k = 0; k < n; k++) {
				if (k)
					strbuf_puts(&t, ", ");
				lx_json_text(json_object_array_get_idx(v, k), &t);
			}
		} else {
			lx_json_text(v, &t);
		}
		add_note(notes, strbuf_str(&t));
		strbuf_free(&t);
	}
}

static bool is_taken(const struct lx_colset *cs, const char *key)
{
	for (size_t i = 0; i < cs->ntaken; i++)
		if (strcmp(cs->taken[i], key) == 0)
			return true;
	return false;
}

static void other_cell(const struct lx_colset *cs, const struct lx_row_in *in, struct strbuf *sb)
{
	if (!in->obj) {
		/* not JSON at all: the raw line, so that the auditor sees it */
		lx_json_utf8_repair(sb, in->raw ? in->raw : "", in->raw ? in->rawlen : 0);
		return;
	}
	struct json_object *data = lx_json_data(in->obj);
	struct json_object *rest = json_object_new_object();
	if (data) {
		json_object_object_foreach(data, key, val)
		{
			if (key[0] == '_' || is_taken(cs, key))
				continue;
			json_object_object_add(rest, key, json_object_get(val));
		}
	} else if (lx_json_get(in->obj, "data")) {
		json_object_object_add(rest, "data", json_object_get(lx_json_get(in->obj, "data")));
	}
	if (json_object_object_length(rest) > 0)
		lx_json_text(rest, sb);
	json_object_put(rest);
}

static void cell(const struct lx_colset *cs, const struct col *c, const struct lx_row_in *in, bool ja,
		 struct strbuf *sb, struct strbuf *notes)
{
	struct json_object *data = lx_json_data(in->obj);
	switch (c->src) {
	case COL_STATUS:
		strbuf_puts(sb, lx_columns_status_label(in->status, ja));
		return;
	case COL_META:
		lx_json_text(lx_json_get(in->obj, c->key), sb);
		return;
	case COL_DATA:
		lx_json_text(lx_json_get(data, c->key), sb);
		return;
	case COL_JOIN:
		join_items(lx_json_get(data, c->key), NULL, sb);
		return;
	case COL_SUB:
		join_items(lx_json_get(data, c->key), c->sub, sb);
		return;
	case COL_COUNT: {
		struct json_object *a = lx_json_get(data, c->key);
		if (a && json_object_is_type(a, json_type_array))
			strbuf_printf(sb, "%zu", json_object_array_length(a));
		return;
	}
	case COL_NOTES:
		strbuf_puts(sb, strbuf_str(notes));
		return;
	case COL_OTHER:
		other_cell(cs, in, sb);
		return;
	}
}

void lx_columns_row(const struct lx_colset *cs, const struct lx_row_in *in, bool ja, struct strbuf *row_out)
{
	struct strbuf notes = STRBUF_INIT;
	if (!in->mac_ok) {
		struct strbuf t = STRBUF_INIT;
		strbuf_printf(&t,
			      ja ? "MACが一致しません。この行の内容は信頼できません (%s:%llu, オフセット %llu)"
				 : "MAC does not verify: this line's content is not trustworthy (%s:%llu, offset %llu)",
			      in->file ? in->file : "?", (unsigned long long)in->line_no,
			      (unsigned long long)in->offset);
		add_note(&notes, strbuf_str(&t));
		strbuf_free(&t);
	} else if (strcmp(in->status, "ok") != 0) {
		struct strbuf t = STRBUF_INIT;
		strbuf_printf(&t, ja ? "連鎖の異常: %s (%s:%llu)" : "chain problem: %s (%s:%llu)",
			      lx_columns_status_label(in->status, ja), in->file ? in->file : "?",
			      (unsigned long long)in->line_no);
		add_note(&notes, strbuf_str(&t));
		strbuf_free(&t);
	}
	if (!in->obj)
		add_note(&notes, ja ? "JSONとして読めない行" : "line is not a JSON object");
	mark_notes(lx_json_data(in->obj), ja, &notes);

	/* Cells first (a cut is a note, and notes is itself a cell). */
	struct strbuf *cells = xcalloc(cs->n, sizeof *cells);
	size_t notes_idx = SIZE_MAX;
	for (size_t i = 0; i < cs->n; i++) {
		if (cs->cols[i]->src == COL_NOTES) {
			notes_idx = i;
			continue;
		}
		cell(cs, cs->cols[i], in, ja, &cells[i], &notes);
		if (lx_json_utf8_cut(&cells[i], LX_CELL_MAX)) {
			struct strbuf t = STRBUF_INIT;
			strbuf_printf(&t,
				      ja ? "セルの上限 %d バイトで切り詰め: %s" : "cut at the %d-byte cell limit: %s",
				      LX_CELL_MAX, cs->cols[i]->name);
			add_note(&notes, strbuf_str(&t));
			strbuf_free(&t);
		}
	}
	if (notes_idx != SIZE_MAX) {
		cell(cs, cs->cols[notes_idx], in, ja, &cells[notes_idx], &notes);
		lx_json_utf8_cut(&cells[notes_idx], LX_CELL_MAX);
	}
	const char **ptrs = xcalloc(cs->n, sizeof *ptrs);
	for (size_t i = 0; i < cs->n; i++)
		ptrs[i] = strbuf_str(&cells[i]);
	lx_csv_row(row_out, ptrs, cs->n, true);
	for (size_t i = 0; i < cs->n; i++)
		strbuf_free(&cells[i]);
	free(cells);
	free(ptrs);
	strbuf_free(&notes);
}

void lx_columns_describe(struct strbuf *out, bool ja)
{
	strbuf_puts(out, ja ? "共通: " : "common: ");
	for (size_t i = 0; i < sizeof common_cols / sizeof common_cols[0]; i++)
		strbuf_printf(out, "%s%s", i ? ", " : "", ja ? common_cols[i].ja : common_cols[i].name);
	strbuf_putc(out, '\n');
	for (size_t e = 0; e < sizeof known / sizeof known[0]; e++) {
		strbuf_printf(out, "%s: ", known[e].event);
		for (size_t i = 0; i < known[e].n; i++)
			strbuf_printf(out, "%s%s", i ? ", " : "", ja ? known[e].cols[i].ja : known[e].cols[i].name);
		strbuf_putc(out, '\n');
	}
	strbuf_puts(out, ja ? "末尾: 注記, その他\n" : "last: notes, other\n");
}
