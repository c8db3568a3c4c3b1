/* cmd_verify: `sekisho-logexport verify` -- check chains and say where
 * they break.
 *
 * Contract: each DIR argument is one chain (its whole history, from seq 1
 * or a log.retention record); the FILE arguments together are one more
 * chain in the given order, verified as a slice (the first file need not
 * start the chain; --anchor SEQ:MAC requires it to continue a known
 * record).  Text or --json on stdout; exit 0 only if every chain
 * verifies, 1 if any does not, 2 for usage and I/O errors. */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/audit/audit_verify.h"
#include "common/i18n.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "tools/logexport/lx_cli.h"

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-logexport verify [--key FILE] [--json] [--anchor SEQ:MAC] DIR|FILE...\n"
		"  Verify audit chains: each DIR is a whole chain; FILEs together are one\n"
		"  chain in the given order (a slice: --anchor SEQ:MAC says which record it\n"
		"  must continue).  Exit 0 when everything verifies, 1 otherwise.\n"),
	      f);
}

struct chain_arg {
	const char *label;
	const char *dir;
	const char **files;
	size_t nfiles;
};

/* The kind of a break in the text verdict: the English word is the kind's
 * name (the same as --json's "kind"); a translation adds the local word. */
static const char *kind_text(enum audit_break_kind k)
{
	switch (k) {
	/* TRANSLATORS: kinds of a break in an audit chain (sekisho-logexport
	 * verify); keep the English word in parentheses after yours */
	case AUDIT_BREAK_EDITED:
		return _("edited");
	case AUDIT_BREAK_MISSING:
		return _("missing");
	case AUDIT_BREAK_INSERTED:
		return _("inserted");
	case AUDIT_BREAK_REORDERED:
		return _("reordered");
	case AUDIT_BREAK_TRUNCATED:
		return _("truncated");
	case AUDIT_BREAK_FILE_MISSING:
		return _("file-missing");
	case AUDIT_BREAK_BAD_KEY:
		return _("bad-key");
	case AUDIT_BREAK_UNREADABLE:
		return _("unreadable");
	}
	return audit_verify_break_kind_name(k);
}

/* One break, for people: the kind, where, and the verifier's detail (which
 * stays English: it is --json's "detail" too). */
static void print_break(const struct audit_verify_result *res, const struct audit_break *b)
{
	const char *name = lx_cli_file_name(res, b->file);
	fputs("  ", stdout);
	if (b->line)
		printf(b->explained ? _("note: %s at %s:%" PRIu64) : _("BREAK: %s at %s:%" PRIu64), kind_text(b->kind),
		       name, b->line);
	else
		printf(b->explained ? _("note: %s at %s") : _("BREAK: %s at %s"), kind_text(b->kind), name);
	printf(_(" (offset %" PRIu64 ", seq %" PRIu64), b->offset, b->seq);
	if (b->count > 1)
		printf(_(", count %" PRIu64), b->count);
	putchar(')');
	if (b->detail[0])
		printf(": %.*s", (int)strnlen(b->detail, sizeof b->detail), b->detail);
	if (b->explained)
		fputs(_(" [explained: torn by a crash]"), stdout);
	putchar('\n');
}

/* The verdict for people (--json is the one for programs): English under
 * LANG=C, the catalogue's language otherwise. */
static void print_text(const struct chain_arg *c, const struct audit_verify_result *res)
{
	if (res->ok)
		printf(dngettext(SEKISHO_TEXTDOMAIN, "%s: OK, %" PRIu64 " records in %zu file",
				 "%s: OK, %" PRIu64 " records in %zu files", res->nfiles),
		       c->label, res->records, res->nfiles);
	else
		printf(dngettext(SEKISHO_TEXTDOMAIN, "%s: BROKEN, %" PRIu64 " records in %zu file",
				 "%s: BROKEN, %" PRIu64 " records in %zu files", res->nfiles),
		       c->label, res->records, res->nfiles);
	if (res->records)
		printf(_(", seq %" PRIu64 "..%" PRIu64), res->first_seq, res->last_seq);
	if (res->retained_files)
		printf(dngettext(SEKISHO_TEXTDOMAIN, ", %" PRIu64 " older file removed by retention",
				 ", %" PRIu64 " older files removed by retention", res->retained_files),
		       res->retained_files);
	putchar('\n');
	for (size_t i = 0; i < res->nfiles; i++) {
		const struct audit_verify_file *f = &res->files[i];
		printf(_("  %s: %" PRIu64 " records"), f->name, f->records);
		if (f->records)
			printf(_(", seq %" PRIu64 "..%" PRIu64 ", %s .. %s"), f->first_seq, f->last_seq, f->first_ts,
			       f->last_ts);
		if (f->lines != f->records)
			printf(_(", %" PRIu64 " lines"), f->lines);
		if (f->torn)
			printf(_(", torn at offset %" PRIu64), f->torn_at);
		putchar('\n');
	}
	for (size_t i = 0; i < res->nbreaks; i++)
		print_break(res, &res->breaks[i]);
	if (res->breaks_dropped)
		printf(_("  ... and %" PRIu64 " more breaks\n"), res->breaks_dropped);
	if (res->last_mac[0])
		printf(_("  last record: seq %" PRIu64 " mac %s\n"), res->last_seq, res->last_mac);
}

static struct json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static struct json_object *to_json(const struct chain_arg *c, const struct audit_verify_result *res)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "source", jstr(c->label));
	json_object_object_add(o, "ok", json_object_new_boolean(res->ok));
	json_object_object_add(o, "lines", json_object_new_uint64(res->lines));
	json_object_object_add(o, "records", json_object_new_uint64(res->records));
	json_object_object_add(o, "first_seq", json_object_new_uint64(res->first_seq));
	json_object_object_add(o, "last_seq", json_object_new_uint64(res->last_seq));
	json_object_object_add(o, "last_mac", jstr(res->last_mac));
	json_object_object_add(o, "retained_files", json_object_new_uint64(res->retained_files));
	json_object_object_add(o, "breaks_dropped", json_object_new_uint64(res->breaks_dropped));
	struct json_object *files = json_object_new_array();
	for (size_t i = 0; i < res->nfiles; i++) {
		const struct audit_verify_file *f = &res->files[i];
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "path", jstr(f->path));
		json_object_object_add(j, "name", jstr(f->name));
		json_object_object_add(j, "bytes", json_object_new_uint64(f->bytes));
		json_object_object_add(j, "lines", json_object_new_uint64(f->lines));
		json_object_object_add(j, "records", json_object_new_uint64(f->records));
		json_object_object_add(j, "first_seq", json_object_new_uint64(f->first_seq));
		json_object_object_add(j, "last_seq", json_object_new_uint64(f->last_seq));
		json_object_object_add(j, "first_ts", jstr(f->first_ts));
		json_object_object_add(j, "last_ts", jstr(f->last_ts));
		json_object_object_add(j, "torn", json_object_new_boolean(f->torn));
		if (f->torn)
			json_object_object_add(j, "torn_at", json_object_new_uint64(f->torn_at));
		json_object_array_add(files, j);
	}
	json_object_object_add(o, "files", files);
	struct json_object *breaks = json_object_new_array();
	for (size_t i = 0; i < res->nbreaks; i++) {
		const struct audit_break *b = &res->breaks[i];
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "kind", jstr(audit_verify_break_kind_name(b->kind)));
		json_object_object_add(j, "file", jstr(lx_cli_file_name(res, b->file)));
		json_object_object_add(j, "path", jstr(b->file < res->nfiles ? res->files[b->file].path : ""));
		json_object_object_add(j, "line", json_object_new_uint64(b->line));
		json_object_object_add(j, "offset", json_object_new_uint64(b->offset));
		json_object_object_add(j, "seq", json_object_new_uint64(b->seq));
		json_object_object_add(j, "count", json_object_new_uint64(b->count));
		json_object_object_add(j, "explained", json_object_new_boolean(b->explained));
		json_object_object_add(
			j, "detail", json_object_new_string_len(b->detail, (int)strnlen(b->detail, sizeof b->detail)));
		json_object_array_add(breaks, j);
	}
	json_object_object_add(o, "breaks", breaks);
	return o;
}

static bool parse_anchor(const char *arg, uint64_t *ret_seq, char mac[65])
{
	const char *colon = strchr(arg, ':');
	if (!colon || strlen(colon + 1) != 64)
		return false;
	char num[24];
	size_t n = (size_t)(colon - arg);
	if (n == 0 || n >= sizeof num)
		return false;
	memcpy(num, arg, n);
	num[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (num[i] < '0' || num[i] > '9')
			return false;
	for (size_t i = 0; i < 64; i++) {
		char c = colon[1 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	*ret_seq = strtoull(num, NULL, 10);
	memcpy(mac, colon + 1, 65);
	return *ret_seq > 0;
}

int cmd_verify_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"anchor", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *keypath = NULL;
	bool json = false;
	uint64_t anchor_seq = 0;
	char anchor_mac[65] = "";
	int o;
	while ((o = getopt_long(argc, argv, "k:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			keypath = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'a':
			if (!parse_anchor(optarg, &anchor_seq, anchor_mac)) {
				lx_cli_err(_("--anchor: expected SEQ:MAC (a seq and 64 lowercase hex digits)"));
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
	if (optind >= argc) {
		usage(stderr);
		return LX_EXIT_USAGE;
	}
	size_t nargs = (size_t)(argc - optind);
	struct chain_arg *chains = xcalloc(nargs + 1, sizeof *chains);
	const char **files = xcalloc(nargs, sizeof *files);
	size_t nchains = 0, nfiles = 0;
	int rc = LX_EXIT_OK;
	for (int i = optind; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			lx_cli_err("%s: %s", argv[i], strerror(errno));
			rc = LX_EXIT_USAGE;
			goto out;
		}
		if (S_ISDIR(st.st_mode))
			chains[nchains++] = (struct chain_arg){.label = argv[i], .dir = argv[i]};
		else
			files[nfiles++] = argv[i];
	}
	if (nfiles)
		chains[nchains++] = (struct chain_arg){
			.label = nfiles == 1 ? files[0] : "(files)", .files = files, .nfiles = nfiles};
	if (anchor_seq && !nfiles) {
		lx_cli_err(_("--anchor applies to a list of FILEs (a slice of a chain)"));
		rc = LX_EXIT_USAGE;
		goto out;
	}
	struct audit_key key;
	if (!lx_cli_load_key(keypath, &key)) {
		rc = LX_EXIT_USAGE;
		goto out;
	}
	struct json_object *jall = json ? json_object_new_array() : NULL;
	size_t broken = 0;
	for (size_t i = 0; i < nchains && rc != LX_EXIT_USAGE; i++) {
		struct chain_arg *c = &chains[i];
		struct audit_verify_opts vo = {.key = &key, .dir = c->dir, .files = c->files, .nfiles = c->nfiles};
		if (c->files) {
			vo.flags = AUDIT_VERIFY_PARTIAL_HEAD;
			if (anchor_seq) {
				vo.anchor_seq = anchor_seq;
				vo.anchor_mac = anchor_mac;
			}
		}
		struct audit_verify_result *res = NULL;
		int r = audit_verify_run(&vo, &res);
		if (r < 0) {
			lx_cli_err("%s: %s", c->label, strerror(-r));
			rc = LX_EXIT_USAGE;
			break;
		}
		if (!res->ok)
			broken++;
		if (json)
			json_object_array_add(jall, to_json(c, res));
		else
			print_text(c, res);
		audit_verify_result_free(res);
	}
	audit_key_wipe(&key);
	if (rc != LX_EXIT_USAGE) {
		if (json) {
			struct json_object *top = json_object_new_object();
			json_object_object_add(top, "ok", json_object_new_boolean(broken == 0));
			json_object_object_add(top, "chains", json_object_get(jall));
			puts(json_object_to_json_string_ext(top,
							    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(top);
		} else if (nchains > 1) {
			if (broken)
				printf(_("verify: %zu of %zu chains BROKEN\n"), broken, nchains);
			else
				printf(_("verify: all %zu chains OK\n"), nchains);
		}
		rc = broken ? LX_EXIT_BROKEN : LX_EXIT_OK;
	}
	json_object_put(jall);
	if (fflush(stdout) != 0 && rc == LX_EXIT_OK)
		rc = LX_EXIT_USAGE;
out:
	free(chains);
	free(files);
	return rc;
}
