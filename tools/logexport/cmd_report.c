/* cmd_report: `sekisho-logexport report` -- one self-contained HTML file
 * for a period.
 *
 * Contract: every directory is verified (lx_reader); the report is
 * written even over a broken chain (it says so, prominently, and counts
 * only records whose MAC verifies), and the exit code is then 1.  Records
 * before the period are read only to know the policy in force when it
 * began.  With -o the file appears atomically. */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"
#include "common/i18n.h"
#include "common/xalloc.h"
#include "tools/logexport/lx_cli.h"
#include "tools/logexport/lx_out.h"
#include "tools/logexport/lx_reader.h"
#include "tools/logexport/lx_report.h"
#include "tools/logexport/lx_stats.h"
#include "tools/logexport/lx_time.h"

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-logexport report [--key FILE] --since T --until T [-o FILE] [--lang ja|en] DIR...\n"
		"  One self-contained HTML report (no external references) for the period:\n"
		"  flows per day and zone pair, top denied sources, sanitised mail and removed\n"
		"  attachments, policy versions, clock status and chain verification.\n"
		"  T is RFC 3339 or YYYY-MM-DD (--until DATE includes that day).\n"),
	      f);
}

int cmd_report_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"output", required_argument, NULL, 'o'},
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},
		{"lang", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *keypath = NULL, *outpath = NULL, *since = NULL, *until = NULL;
	bool ja = true;
	int o;
	while ((o = getopt_long(argc, argv, "k:o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			keypath = optarg;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 's':
			since = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'l':
			if (strcmp(optarg, "ja") == 0)
				ja = true;
			else if (strcmp(optarg, "en") == 0)
				ja = false;
			else {
				lx_cli_err(_("--lang: ja or en"));
				return LX_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return LX_EXIT_OK;
		default:
			usage(stderr);
			return LX_EXIT_USAGE;
		}
	}
	if (!since || !until || optind >= argc) {
		usage(stderr);
		return LX_EXIT_USAGE;
	}
	int64_t since_ns, until_ns;
	if (lx_time_parse_arg(since, false, &since_ns) < 0 || lx_time_parse_arg(until, true, &until_ns) < 0) {
		lx_cli_err(_("--since/--until: RFC 3339 (2026-11-22T09:00:00+09:00) or YYYY-MM-DD"));
		return LX_EXIT_USAGE;
	}
	if (until_ns <= since_ns) {
		lx_cli_err(_("--until is not after --since"));
		return LX_EXIT_USAGE;
	}
	size_t ndirs = (size_t)(argc - optind);
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
	struct lx_stats *st = lx_stats_new();
	struct lx_out *out = NULL;
	struct strbuf html = STRBUF_INIT;
	struct lx_report_chain *chains = NULL;
	if ((r = lx_reader_new(&key, (const char *const *)argv + optind, ndirs, &rd)) < 0 ||
	    (r = lx_reader_verify(rd, NULL, NULL, why, sizeof why)) < 0) {
		lx_cli_err("%s", why[0] ? why : strerror(-r));
		goto out;
	}
	struct lx_reader_rec rr;
	while ((r = lx_reader_next(rd, &rr)) > 0) {
		const struct audit_verify_record *v = rr.rec;
		if (rr.explained || !rr.has_ns || !v->ts)
			continue;
		if (rr.ns >= until_ns)
			continue;
		bool in = rr.ns >= since_ns;
		if (!v->mac_ok || !v->obj || v->status == AUDIT_REC_INSERTED) {
			st->unverified += in;
			continue;
		}
		lx_stats_add(st, v->obj, in);
	}
	if (r < 0) {
		lx_cli_err(_("reading logs: %s"), strerror(-r));
		goto out;
	}
	chains = xcalloc(ndirs, sizeof *chains);
	for (size_t i = 0; i < ndirs; i++)
		chains[i] = (struct lx_report_chain){lx_reader_dir(rd, i), lx_reader_result(rd, i)};
	char gen[32];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct lx_report_meta meta = {
		.ja = ja,
		.since = since,
		.until = until,
		.generated = lx_time_format((int64_t)now.tv_sec * LX_NS_PER_SEC, gen),
		.version = LX_VERSION,
		.chains = chains,
		.nchains = ndirs,
	};
	lx_report_render(&html, st, &meta);
	if ((r = lx_out_open(outpath, LX_ENC_UTF8, &out)) < 0 || (r = lx_out_write(out, html.buf, html.len)) < 0 ||
	    (r = lx_out_commit(out)) < 0) {
		lx_cli_err("%s: %s", outpath ? outpath : "stdout", strerror(-r));
		goto out;
	}
	bool ok = lx_reader_ok(rd);
	if (!ok)
		lx_cli_err(_("warning: an audit chain is BROKEN; the report says so and counts only verified records"));
	if (st->clock_unsynced)
		lx_cli_err(
			_("warning: the clock was not synchronised in %" PRIu64 " of %" PRIu64 " clock.status records"),
			st->clock_unsynced, st->clock_records);
	if (outpath)
		lx_cli_err(_("report: %" PRIu64 " records in the period, written to %s"), st->records, outpath);
	else
		lx_cli_err(_("report: %" PRIu64 " records in the period"), st->records);
	rc = ok ? LX_EXIT_OK : LX_EXIT_BROKEN;
out:
	lx_out_free(out);
	strbuf_free(&html);
	free(chains);
	lx_stats_free(st);
	lx_reader_free(rd);
	audit_key_wipe(&key);
	return rc;
}
