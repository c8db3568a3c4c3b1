/* cmd_export: `sekisho-logexport export` -- records for auditors and
 * other tools, as CSV (Excel), JSON Lines or CEF.
 *
 * Contract: every directory is verified first (lx_reader); a broken chain
 * is refused unless --allow-broken, and then the output itself says so
 * at its top (CSV rows starting with "#", a JSONL notice object, CEF
 * notice lines) as well as stderr, and every line that is not a plain
 * verified record is marked (CSV status column, a JSONL wrapper object,
 * CEF severity 10 / flexString1=verify).  With -o the output is written
 * to a temporary file and renamed into place only on success. */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "common/audit/audit_verify.h"
#include "common/i18n.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "tools/logexport/lx_cef.h"
#include "tools/logexport/lx_cli.h"
#include "tools/logexport/lx_columns.h"
#include "tools/logexport/lx_csv.h"
#include "tools/logexport/lx_filter.h"
#include "tools/logexport/lx_json.h"
#include "tools/logexport/lx_out.h"
#include "tools/logexport/lx_reader.h"
#include "tools/logexport/lx_tally.h"

/* Breaks listed in an output's notice (all are on stderr and in verify). */
#define NOTICE_BREAKS_MAX 100
/* Bytes of a broken line quoted in a JSONL wrapper. */
#define RAW_MAX 65536

enum fmt { FMT_CSV, FMT_JSONL, FMT_CEF };

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-logexport export [--key FILE] [filters] [--format csv|jsonl|cef]\n"
		"          [--encoding utf-8|cp932] [--headers en|ja] [--allow-broken] [-o FILE] DIR...\n"
		"  filters: --since T, --until T (RFC 3339 or YYYY-MM-DD; --until DATE includes that day),\n"
		"           --component NAME, --event GLOB, --zone-pair FROM:TO, --rule ID,\n"
		"           --address ADDR|PREFIX|RANGE, --sender GLOB, --recipient GLOB\n"
		"  CSV is UTF-8 with a BOM (Excel) unless --encoding cp932; JSON Lines are the\n"
		"  original verified lines; CEF is one line per record.  A broken chain is\n"
		"  refused unless --allow-broken (the output then says so at its top).\n"
		"  --list-columns [--headers ja] prints the CSV columns of each event type.\n"),
	      f);
}

struct exp {
	enum fmt fmt;
	bool ja;
	struct lx_out *out;
	struct lx_colset *cs;
	struct strbuf line;
	uint64_t written, marked;
};

static void notice_csv(struct exp *e, struct lx_reader *rd)
{
	struct strbuf t = STRBUF_INIT;
	strbuf_puts(&t,
		    e->ja ? "# 警告: 監査ログの連鎖が壊れています。検証列が「検証済」でない行は信頼できません。"
			  : "# WARNING: the audit chain is BROKEN; rows whose status is not \"ok\" cannot be trusted.");
	const char *cell = strbuf_str(&t);
	lx_csv_row(&e->line, &cell, 1, false);
	for (size_t c = 0; c < lx_reader_chains(rd); c++) {
		const struct audit_verify_result *res = lx_reader_result(rd, c);
		size_t shown = 0;
		for (size_t i = 0; i < res->nbreaks && shown < NOTICE_BREAKS_MAX; i++) {
			if (res->breaks[i].explained)
				continue;
			strbuf_reset(&t);
			strbuf_printf(&t, "# %s: ", lx_reader_dir(rd, c));
			lx_cli_break_text(&t, res, &res->breaks[i], e->ja);
			cell = strbuf_str(&t);
			lx_csv_row(&e->line, &cell, 1, true);
			shown++;
		}
		uint64_t more = res->breaks_dropped + (res->nbreaks > shown ? res->nbreaks - shown : 0);
		if (!res->ok && more) {
			strbuf_reset(&t);
			strbuf_printf(&t,
				      e->ja ? "# %s: ほか %" PRIu64 " 件 (verify で全件を確認できます)"
					    : "# %s: %" PRIu64 " more (run verify for all)",
				      lx_reader_dir(rd, c), more);
			cell = strbuf_str(&t);
			lx_csv_row(&e->line, &cell, 1, true);
		}
	}
	strbuf_free(&t);
}

static struct json_object *break_json(const struct audit_verify_result *res, const struct audit_break *b)
{
	struct json_object *j = json_object_new_object();
	json_object_object_add(j, "kind", json_object_new_string(audit_verify_break_kind_name(b->kind)));
	json_object_object_add(j, "file", json_object_new_string(lx_cli_file_name(res, b->file)));
	json_object_object_add(j, "line", json_object_new_uint64(b->line));
	json_object_object_add(j, "offset", json_object_new_uint64(b->offset));
	json_object_object_add(j, "seq", json_object_new_uint64(b->seq));
	json_object_object_add(j, "count", json_object_new_uint64(b->count));
	json_object_object_add(j, "detail",
			       json_object_new_string_len(b->detail, (int)strnlen(b->detail, sizeof b->detail)));
	return j;
}

static void put_json_line(struct strbuf *sb, struct json_object *o)
{
	strbuf_puts(sb, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	strbuf_putc(sb, '\n');
}

static void notice_jsonl(struct exp *e, struct lx_reader *rd)
{
	for (size_t c = 0; c < lx_reader_chains(rd); c++) {
		const struct audit_verify_result *res = lx_reader_result(rd, c);
		if (res->ok)
			continue;
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "sekisho_export", json_object_new_string("chain-broken"));
		json_object_object_add(o, "dir", json_object_new_string(lx_reader_dir(rd, c)));
		json_object_object_add(
			o, "message",
			json_object_new_string(
				"the audit chain is broken; lines that are not verified records are wrapped in "
				"{\"sekisho_export\":\"unverified-line\"} objects"));
		struct json_object *arr = json_object_new_array();
		size_t shown = 0;
		for (size_t i = 0; i < res->nbreaks && shown < NOTICE_BREAKS_MAX; i++) {
			if (res->breaks[i].explained)
				continue;
			json_object_array_add(arr, break_json(res, &res->breaks[i]));
			shown++;
		}
		json_object_object_add(o, "breaks", arr);
		json_object_object_add(o, "breaks_total", json_object_new_uint64(res->nbreaks + res->breaks_dropped));
		put_json_line(&e->line, o);
		json_object_put(o);
	}
}

static void notice_cef(struct exp *e, struct lx_reader *rd)
{
	struct strbuf t = STRBUF_INIT;
	for (size_t c = 0; c < lx_reader_chains(rd); c++) {
		const struct audit_verify_result *res = lx_reader_result(rd, c);
		size_t shown = 0;
		for (size_t i = 0; i < res->nbreaks && shown < NOTICE_BREAKS_MAX; i++) {
			if (res->breaks[i].explained)
				continue;
			strbuf_reset(&t);
			strbuf_printf(&t, "audit chain broken in %s: ", lx_reader_dir(rd, c));
			lx_cli_break_text(&t, res, &res->breaks[i], false);
			lx_cef_notice(&e->line, LX_VERSION, "export.chain_broken", "Audit chain broken", NULL,
				      strbuf_str(&t));
			shown++;
		}
	}
	strbuf_free(&t);
}

static int flush_line(struct exp *e)
{
	int r = lx_out_write(e->out, e->line.buf ? e->line.buf : "", e->line.len);
	strbuf_reset(&e->line);
	return r;
}

/* JSONL: verified records as their original bytes; anything else wrapped. */
static void record_jsonl(struct exp *e, const struct lx_reader_rec *rr, const char *dir)
{
	const struct audit_verify_record *v = rr->rec;
	bool genuine = v->mac_ok &&
		(v->status == AUDIT_REC_OK || v->status == AUDIT_REC_AFTER_GAP || v->status == AUDIT_REC_REORDERED);
	if (genuine && v->status == AUDIT_REC_OK) {
		strbuf_append(&e->line, v->line, v->len);
		strbuf_putc(&e->line, '\n');
		return;
	}
	if (genuine) {
		/* authentic but not where it belongs: keep the bytes, precede
		 * them with a note so a reader knows */
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "sekisho_export", json_object_new_string("out-of-place"));
		json_object_object_add(o, "status", json_object_new_string(audit_verify_rec_status_name(v->status)));
		json_object_object_add(o, "dir", json_object_new_string(dir));
		json_object_object_add(o, "file", json_object_new_string(v->path));
		json_object_object_add(o, "line", json_object_new_uint64(v->line_no));
		json_object_object_add(o, "seq", json_object_new_uint64(v->seq));
		put_json_line(&e->line, o);
		json_object_put(o);
		strbuf_append(&e->line, v->line, v->len);
		strbuf_putc(&e->line, '\n');
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "sekisho_export", json_object_new_string("unverified-line"));
	json_object_object_add(o, "status", json_object_new_string(audit_verify_rec_status_name(v->status)));
	json_object_object_add(o, "mac_ok", json_object_new_boolean(v->mac_ok));
	json_object_object_add(o, "dir", json_object_new_string(dir));
	json_object_object_add(o, "file", json_object_new_string(v->path));
	json_object_object_add(o, "line", json_object_new_uint64(v->line_no));
	json_object_object_add(o, "offset", json_object_new_uint64(v->offset));
	json_object_object_add(o, "seq", json_object_new_uint64(v->seq));
	struct strbuf raw = STRBUF_INIT;
	lx_json_utf8_repair(&raw, v->line, v->len);
	bool cut = lx_json_utf8_cut(&raw, RAW_MAX);
	json_object_object_add(o, "raw", json_object_new_string_len(strbuf_str(&raw), (int)raw.len));
	if (cut)
		json_object_object_add(o, "raw_cut", json_object_new_boolean(1));
	strbuf_free(&raw);
	put_json_line(&e->line, o);
	json_object_put(o);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static const char *opt_name(const struct option *opts, int val)
{
	for (; opts->name; opts++)
		if (opts->val == val)
			return opts->name;
	return "?";
}

/* Print the breaks of every broken chain on stderr. */
static void breaks_to_stderr(struct lx_reader *rd)
{
	for (size_t c = 0; c < lx_reader_chains(rd); c++) {
		const struct audit_verify_result *res = lx_reader_result(rd, c);
		if (res->ok)
			continue;
		size_t shown = 0;
		for (size_t i = 0; i < res->nbreaks && shown < NOTICE_BREAKS_MAX; i++) {
			if (res->breaks[i].explained)
				continue;
			struct strbuf t = STRBUF_INIT;
			lx_cli_break_text(&t, res, &res->breaks[i], false);
			lx_cli_err(_("%s: chain broken: %s"), lx_reader_dir(rd, c), strbuf_str(&t));
			strbuf_free(&t);
			shown++;
		}
		if (res->nbreaks + res->breaks_dropped > shown)
			lx_cli_err(_("%s: ... %" PRIu64 " breaks in all (run verify for every one)"),
				   lx_reader_dir(rd, c), (uint64_t)res->nbreaks + res->breaks_dropped);
	}
}

/* Event names, and "event\tmember" pairs, of the records an export takes
 * (pass 1): they decide the CSV column set. */
struct seen {
	const struct lx_filter *f;
	struct lx_tally *t;
};

static void seen_peek(void *arg, const struct lx_reader_rec *rr)
{
	struct seen *s = arg;
	const struct audit_verify_record *v = rr->rec;
	if (!v->obj || !v->event || !lx_filter_match(s->f, v->obj, rr->ns, rr->has_ns && v->ts))
		return;
	lx_tally_add(s->t, v->event, NULL, 1);
	struct json_object *d = lx_json_data(v->obj);
	if (!d)
		return;
	json_object_object_foreach(d, key, val)
	{
		(void)val;
		char k[AUDIT_EVENT_MAX + AUDIT_NAME_MAX + 8];
		snprintf(k, sizeof k, "%s\t%s", v->event, key);
		lx_tally_add(s->t, k, NULL, 1);
	}
}

static bool seen_present(const char *event, const char *key, void *arg)
{
	struct seen *s = arg;
	if (!key)
		return lx_tally_get(s->t, event) > 0;
	char k[AUDIT_EVENT_MAX + AUDIT_NAME_MAX + 8];
	snprintf(k, sizeof k, "%s\t%s", event, key);
	return lx_tally_get(s->t, k) > 0;
}

static int run(const struct lx_filter *f, enum fmt fmt, enum lx_enc enc, bool ja, bool allow_broken,
	       const char *keypath, const char *outpath, const char *const *dirs, size_t ndirs)
{
	if (ndirs > LX_READER_MAX_CHAINS) {
		lx_cli_err(_("at most %d directories"), LX_READER_MAX_CHAINS);
		return LX_EXIT_USAGE;
	}
	struct audit_key key;
	if (!lx_cli_load_key(keypath, &key))
		return LX_EXIT_USAGE;
	int rc = LX_EXIT_USAGE, r;
	char why[512] = "";
	struct lx_reader *rd = NULL;
	struct exp e = {.fmt = fmt, .ja = ja};
	struct seen seen = {.f = f, .t = lx_tally_new()};
	if ((r = lx_reader_new(&key, dirs, ndirs, &rd)) < 0 ||
	    (r = lx_reader_verify(rd, fmt == FMT_CSV ? seen_peek : NULL, &seen, why, sizeof why)) < 0) {
		lx_cli_err("%s", why[0] ? why : strerror(-r));
		goto out;
	}
	bool ok = lx_reader_ok(rd);
	if (!ok) {
		breaks_to_stderr(rd);
		if (!allow_broken) {
			lx_cli_err(_("refusing to export a broken audit chain (--allow-broken exports it, marked)"));
			rc = LX_EXIT_BROKEN;
			goto out;
		}
		lx_cli_err(_("exporting a BROKEN chain (--allow-broken): the output says so and marks every line "
			     "that is not a verified record"));
	}
	if ((r = lx_out_open(outpath, enc, &e.out)) < 0) {
		lx_cli_err("%s: %s", outpath ? outpath : "stdout", strerror(-r));
		goto out;
	}
	if (fmt == FMT_CSV) {
		if (enc == LX_ENC_UTF8)
			strbuf_puts(&e.line, "\xef\xbb\xbf");
		e.cs = lx_columns_new(seen_present, &seen);
		if (!ok)
			notice_csv(&e, rd);
		lx_columns_header(e.cs, ja, &e.line, true);
	} else if (!ok) {
		if (fmt == FMT_JSONL)
			notice_jsonl(&e, rd);
		else
			notice_cef(&e, rd);
	}
	flush_line(&e);
	bool filtered = lx_filter_is_set(f) || f->has_since || f->has_until || f->ncomponent;
	struct lx_reader_rec rr;
	while ((r = lx_reader_next(rd, &rr)) > 0) {
		const struct audit_verify_record *v = rr.rec;
		if (rr.explained)
			continue; /* debris of a crash the writer acknowledged */
		if (!allow_broken && lx_reader_changed(rd))
			break;
		if (v->obj) {
			if (!lx_filter_match(f, v->obj, rr.ns, rr.has_ns && v->ts))
				continue;
		} else if (filtered) {
			continue; /* not JSON: nothing to filter on; listed in the notice */
		}
		bool plain = v->mac_ok && v->status == AUDIT_REC_OK;
		const char *dir = lx_reader_dir(rd, rr.chain);
		switch (fmt) {
		case FMT_CSV: {
			struct lx_row_in in = {
				.obj = v->obj,
				.status = audit_verify_rec_status_name(v->status),
				.mac_ok = v->mac_ok,
				.file = base_name(v->path),
				.line_no = v->line_no,
				.offset = v->offset,
				.raw = v->line,
				.rawlen = v->len,
			};
			lx_columns_row(e.cs, &in, ja, &e.line);
			break;
		}
		case FMT_JSONL:
			record_jsonl(&e, &rr, dir);
			break;
		case FMT_CEF:
			if (v->obj) {
				lx_cef_record(&e.line, LX_VERSION, v->obj, audit_verify_rec_status_name(v->status),
					      v->mac_ok, base_name(v->path), (unsigned long long)v->line_no);
			} else {
				struct strbuf t = STRBUF_INIT;
				strbuf_printf(&t, "%s:%" PRIu64 " (offset %" PRIu64 ") is not a record: %s",
					      base_name(v->path), v->line_no, v->offset,
					      audit_verify_rec_status_name(v->status));
				lx_cef_notice(&e.line, LX_VERSION, "export.unverified_line", "Unverified line", NULL,
					      strbuf_str(&t));
				strbuf_free(&t);
			}
			break;
		}
		e.written++;
		e.marked += !plain;
		if ((r = flush_line(&e)) < 0)
			break;
	}
	if (r < 0) {
		lx_cli_err("%s: %s", outpath ? outpath : "stdout", strerror(-r));
		goto out;
	}
	if (lx_reader_changed(rd) && !allow_broken) {
		lx_cli_err(_("the log changed while it was exported (%" PRIu64
			     " lines no longer verify): export abandoned; "
			     "run verify"),
			   lx_reader_changed(rd));
		rc = LX_EXIT_BROKEN;
		goto out;
	}
	if ((r = lx_out_commit(e.out)) < 0) {
		lx_cli_err("%s: %s", outpath ? outpath : "stdout", strerror(-r));
		goto out;
	}
	if (outpath)
		lx_cli_err(dngettext(SEKISHO_TEXTDOMAIN, "exported %" PRIu64 " record to %s",
				     "exported %" PRIu64 " records to %s", e.written),
			   e.written, outpath);
	else
		lx_cli_err(dngettext(SEKISHO_TEXTDOMAIN, "exported %" PRIu64 " record", "exported %" PRIu64 " records",
				     e.written),
			   e.written);
	if (e.marked)
		lx_cli_err(_("%" PRIu64 " of them are marked as not verified or out of place"), e.marked);
	if (lx_out_replaced(e.out))
		lx_cli_err(dngettext(SEKISHO_TEXTDOMAIN,
				     "%" PRIu64 " character not representable in CP932 was written as '?'",
				     "%" PRIu64 " characters not representable in CP932 were written as '?'",
				     lx_out_replaced(e.out)),
			   lx_out_replaced(e.out));
	rc = ok ? LX_EXIT_OK : LX_EXIT_BROKEN;
out:
	lx_out_free(e.out);
	lx_columns_free(e.cs);
	strbuf_free(&e.line);
	lx_reader_free(rd);
	lx_tally_free(seen.t);
	audit_key_wipe(&key);
	return rc;
}

int cmd_export_main(int argc, char **argv)
{
	enum {
		O_SINCE = 256,
		O_UNTIL,
		O_COMPONENT,
		O_EVENT,
		O_ZONE,
		O_RULE,
		O_ADDRESS,
		O_SENDER,
		O_RECIPIENT,
		O_FORMAT,
		O_ENCODING,
		O_HEADERS,
		O_ALLOW,
		O_LIST_COLUMNS,
	};
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"output", required_argument, NULL, 'o'},
		{"since", required_argument, NULL, O_SINCE},
		{"until", required_argument, NULL, O_UNTIL},
		{"component", required_argument, NULL, O_COMPONENT},
		{"event", required_argument, NULL, O_EVENT},
		{"zone-pair", required_argument, NULL, O_ZONE},
		{"rule", required_argument, NULL, O_RULE},
		{"address", required_argument, NULL, O_ADDRESS},
		{"sender", required_argument, NULL, O_SENDER},
		{"recipient", required_argument, NULL, O_RECIPIENT},
		{"format", required_argument, NULL, O_FORMAT},
		{"encoding", required_argument, NULL, O_ENCODING},
		{"headers", required_argument, NULL, O_HEADERS},
		{"allow-broken", no_argument, NULL, O_ALLOW},
		{"list-columns", no_argument, NULL, O_LIST_COLUMNS},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static const enum lx_filter_kind fkind[] = {
		[O_SINCE - O_SINCE] = LX_F_SINCE,         [O_UNTIL - O_SINCE] = LX_F_UNTIL,
		[O_COMPONENT - O_SINCE] = LX_F_COMPONENT, [O_EVENT - O_SINCE] = LX_F_EVENT,
		[O_ZONE - O_SINCE] = LX_F_ZONE_PAIR,      [O_RULE - O_SINCE] = LX_F_RULE,
		[O_ADDRESS - O_SINCE] = LX_F_ADDRESS,     [O_SENDER - O_SINCE] = LX_F_SENDER,
		[O_RECIPIENT - O_SINCE] = LX_F_RECIPIENT,
	};
	const char *keypath = NULL, *outpath = NULL;
	struct lx_filter f = LX_FILTER_INIT;
	enum fmt fmt = FMT_CSV;
	enum lx_enc enc = LX_ENC_UTF8;
	bool ja = false, allow_broken = false, enc_set = false, list_columns = false;
	int rc = LX_EXIT_USAGE, o;
	char why[512];
	while ((o = getopt_long(argc, argv, "k:o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			keypath = optarg;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'h':
			usage(stdout);
			lx_filter_free(&f);
			return LX_EXIT_OK;
		case O_FORMAT:
			if (strcmp(optarg, "csv") == 0)
				fmt = FMT_CSV;
			else if (strcmp(optarg, "jsonl") == 0)
				fmt = FMT_JSONL;
			else if (strcmp(optarg, "cef") == 0)
				fmt = FMT_CEF;
			else {
				lx_cli_err(_("--format: csv, jsonl or cef"));
				goto out;
			}
			break;
		case O_ENCODING:
			if (strcasecmp(optarg, "utf-8") == 0 || strcasecmp(optarg, "utf8") == 0)
				enc = LX_ENC_UTF8;
			else if (strcasecmp(optarg, "cp932") == 0 || strcasecmp(optarg, "sjis") == 0 ||
				 strcasecmp(optarg, "shift_jis") == 0)
				enc = LX_ENC_CP932;
			else {
				lx_cli_err(_("--encoding: utf-8 or cp932"));
				goto out;
			}
			enc_set = true;
			break;
		case O_HEADERS:
			if (strcmp(optarg, "en") == 0)
				ja = false;
			else if (strcmp(optarg, "ja") == 0)
				ja = true;
			else {
				lx_cli_err(_("--headers: en or ja"));
				goto out;
			}
			break;
		case O_ALLOW:
			allow_broken = true;
			break;
		case O_LIST_COLUMNS:
			list_columns = true;
			break;
		case O_SINCE:
		case O_UNTIL:
		case O_COMPONENT:
		case O_EVENT:
		case O_ZONE:
		case O_RULE:
		case O_ADDRESS:
		case O_SENDER:
		case O_RECIPIENT:
			why[0] = '\0';
			if (lx_filter_add(&f, fkind[o - O_SINCE], optarg, why, sizeof why) < 0) {
				lx_cli_err("--%s: %s", opt_name(opts, o), why);
				goto out;
			}
			break;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (list_columns) {
		struct strbuf sb = STRBUF_INIT;
		lx_columns_describe(&sb, ja);
		fputs(strbuf_str(&sb), stdout);
		strbuf_free(&sb);
		rc = LX_EXIT_OK;
		goto out;
	}
	if (optind >= argc) {
		usage(stderr);
		goto out;
	}
	if (enc_set && enc == LX_ENC_CP932 && fmt != FMT_CSV) {
		lx_cli_err(_("--encoding cp932 is for CSV (JSON Lines and CEF are UTF-8)"));
		goto out;
	}
	if (f.has_since && f.has_until && f.until_ns <= f.since_ns) {
		lx_cli_err(_("--until is not after --since"));
		goto out;
	}
	rc = run(&f, fmt, enc, ja, allow_broken, keypath, outpath, (const char *const *)argv + optind,
		 (size_t)(argc - optind));
out:
	lx_filter_free(&f);
	return rc;
}
