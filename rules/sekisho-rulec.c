/* sekisho-rulec: the policy compiler's command line.
 *
 *   check FILE            parse, evaluate, prove the invariants, warn
 *   compile FILE -o TABLE  the same, then write the compiled table atomically
 *   explain FILE|TABLE FROM TO PROTO SRC[:PORT] DST[:PORT] [type T [code C]]
 *   diff OLD NEW          semantic difference with one example per change
 *   show FILE|TABLE       normalised listing and zone matrix (table: summary)
 *   emit-nft FILE         nftables backstop enforcing the invariants
 *
 * With --audit-dir and --audit-key (or SEKISHO_AUDIT_DIR/_KEY) every compile,
 * accepted or refused, is a policy.compile record in that audit chain; if
 * the chain cannot be opened nothing is compiled (an unrecorded compile is
 * worse than none).
 *
 * Every command runs the compiler pipeline, policy_compile
 * (rules/policy_compile.c), as far as it needs it.
 *
 * Exit status: 0 clean, 1 policy errors (or warnings with --strict),
 * 2 usage or I/O errors.  This is the edge: the only place that prints. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "common/version.h"
#include "common/audit/audit.h"
#include "common/i18n.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "rules/policy.h"
#include "rules/policy_compile.h"
#include "rules/policy_diff.h"
#include "rules/policy_nft.h"
#include "rules/policy_prove.h"
#include "rules/policy_show.h"
#include "rules/table.h"

enum { EXIT_OK = 0, EXIT_POLICY = 1, EXIT_USAGE = 2 };

static struct {
	bool strict;
	bool quiet;
	bool color;
	const char *today;
	const char *output;
	uint64_t budget;
	const char *audit_dir, *audit_key;
} opt;

/* What a check found, for the audit record. */
struct outcome {
	size_t errors, warnings;
	uint32_t rules, zones;
	bool have_policy;
	uint8_t sha256[32];
	char *name, *version;
	char *invariants[16];
	size_t ninvariants;
};

static void outcome_free(struct outcome *o)
{
	free(o->name);
	free(o->version);
	for (size_t i = 0; i < o->ninvariants; i++)
		free(o->invariants[i]);
	memset(o, 0, sizeof *o);
}

static void usage(FILE *f)
{
	fputs(_("usage: sekisho-rulec [options] COMMAND ...\n"
		"\n"
		"commands:\n"
		"  check FILE                  parse, evaluate and prove the three-tier invariants\n"
		"  compile FILE -o TABLE       check, then write the compiled table\n"
		"  explain FILE|TABLE FROM TO PROTO SRC[:SPORT] DST[:DPORT] [type T [code C]]\n"
		"                              the rule that decides one packet (FROM/TO: zone, or\n"
		"                              if:IFNAME; IPv6 with a port as [ADDR]:PORT)\n"
		"  diff OLD NEW                what traffic becomes allowed or denied, with examples\n"
		"  show FILE|TABLE             normalised listing and zone matrix\n"
		"  emit-nft FILE               nftables ruleset enforcing the invariants (backstop)\n"
		"\n"
		"options:\n"
		"  -o, --output FILE           where compile writes the table\n"
		"      --strict                warnings also fail (exit 1)\n"
		"      --today YYYY-MM-DD      date used for rule expiry (default: today, UTC)\n"
		"      --budget N              analysis step budget (default 50000000)\n"
		"  -q, --quiet                 print diagnostics only\n"
		"      --audit-dir DIR         record compiles in this audit chain (also SEKISHO_AUDIT_DIR)\n"
		"      --audit-key FILE        its key file, mode 0600 (also SEKISHO_AUDIT_KEY)\n"
		"      --color / --no-color    colour diagnostics (default: when stderr is a terminal)\n"
		"  -h, --help                  this text\n"
		"      --version               the version and the build's git description\n"
		"\n"
		"exit status: 0 clean, 1 policy errors, 2 usage or I/O errors\n"),
	      f);
}

static void print_diags(const struct diag *d)
{
	policy_diag_print(d, stderr, opt.color);
}

static int64_t compile_time(void)
{
	/* reproducible builds: honour SOURCE_DATE_EPOCH */
	const char *e = getenv("SOURCE_DATE_EPOCH");
	if (e && *e)
		return strtoll(e, NULL, 10);
	return (int64_t)time(NULL);
}

/* The pipeline's options from the command line: which stages, and how. */
static struct policy_compile_options compile_options(bool prove, bool build)
{
	return (struct policy_compile_options){
		.load = {.today = opt.today},
		.prove = prove,
		.proof = {.budget = opt.budget, .reachability = true},
		.strict = prove && opt.strict,
		.build = build,
		.compile_time = build ? compile_time() : 0,
	};
}

/* The exit status of a pipeline that returned r. */
static int exit_status(const struct policy_compile *c, int r)
{
	if (r == 0)
		return EXIT_OK;
	switch (c->stage) {
	case POLICY_COMPILE_LOAD:
		return r == -EINVAL ? EXIT_POLICY : EXIT_USAGE;
	case POLICY_COMPILE_RECORD:
	case POLICY_COMPILE_WRITE:
		return EXIT_USAGE;
	default:
		return EXIT_POLICY;
	}
}

/* Load and evaluate only (show, diff). */
static int load_policy(const char *path, struct diag *d, struct policy_compile *ret)
{
	struct policy_compile_options co = compile_options(false, false);
	return exit_status(ret, policy_compile(path, &co, d, ret));
}

static const char *status_text(enum prove_status s)
{
	switch (s) {
	case PROVE_PROVEN:
		return "proven";
	case PROVE_VIOLATED:
		return "VIOLATED";
	default:
		return "NOT PROVEN (budget)";
	}
}

/* status_text for people: translated, and padded to its column by the
 * width on a terminal (a Japanese character takes two columns, and printf
 * pads by bytes).  The audit record keeps status_text. */
static void print_status(enum prove_status s)
{
	const char *t = s == PROVE_PROVEN ? _("proven")
		: s == PROVE_VIOLATED     ? _("VIOLATED")
					  : _("NOT PROVEN (budget)");
	int w = -1;
	size_t n = mbstowcs(NULL, t, 0);
	if (n != (size_t)-1) {
		wchar_t *wc = xcalloc(n + 1, sizeof *wc);
		mbstowcs(wc, t, n + 1);
		w = wcswidth(wc, n);
		free(wc);
	}
	if (w < 0)
		w = (int)strlen(t);
	printf("  %s%*s", t, w < 9 ? 9 - w : 0, "");
}

static void print_proofs(const struct policy *p, const struct prove_report *rep)
{
	for (uint32_t i = 0; i < rep->ninvariants; i++) {
		const struct prove_invariant *inv = &rep->inv[i];
		print_status(inv->status);
		printf(" %s", inv->text);
		if (inv->nexceptions) {
			fputs(inv->nexceptions > 1 ? _("  (admitted by rules") : _("  (admitted by rule"), stdout);
			for (uint32_t j = 0; j < inv->nexceptions; j++)
				printf(" #%u", inv->exception_ids[j]);
			fputs(_(")"), stdout);
		}
		printf("\n");
		if (inv->counterexample)
			printf(_("            counterexample: %s\n"), inv->counterexample);
	}
	if (!rep->ninvariants)
		fputs(_("  (no invariants: the policy has no three-tier zones)\n"), stdout);
	(void)p;
}

/* What a check found (c: the pipeline's result), for the audit record. */
static void outcome_fill(struct outcome *out, const struct policy_compile *c, const struct diag *d)
{
	const struct policy *p = c->policy;
	if (p) {
		out->have_policy = true;
		memcpy(out->sha256, p->sha256, sizeof out->sha256);
		out->rules = p->nrules;
		out->zones = p->nzones;
		out->name = xstrdup(p->name ? p->name : "");
		out->version = xstrdup(p->version ? p->version : "");
		for (uint32_t i = 0; i < c->report.ninvariants && out->ninvariants < 16; i++)
			out->invariants[out->ninvariants++] =
				xasprintf("%s: %s", c->report.inv[i].text, status_text(c->report.inv[i].status));
	}
	out->errors = d->nerrors;
	out->warnings = d->nwarnings;
}

/* What a check says: the proofs (with show_proofs, when the policy
 * loaded), every diagnostic, and their count. */
static void print_check(const char *path, bool show_proofs, const struct policy_compile *c, const struct diag *d)
{
	const struct policy *p = c->policy;
	if (show_proofs && p && !opt.quiet) {
		printf(_("%s: policy \"%s\" version \"%s\": %u zones, %u rules\n"), path, p->name ? p->name : "",
		       p->version ? p->version : "", p->nzones, p->nrules);
		fputs(_("three-tier invariants:\n"), stdout);
		print_proofs(p, &c->report);
		if (!c->report.reachability_complete)
			fputs(_("  (reachability analysis cut short by the budget)\n"), stdout);
	}
	print_diags(d);
	if (!opt.quiet && (d->nerrors || d->nwarnings)) {
		char *e = xasprintf(dngettext(SEKISHO_TEXTDOMAIN, "%zu error", "%zu errors", d->nerrors), d->nerrors);
		char *w = xasprintf(dngettext(SEKISHO_TEXTDOMAIN, "%zu warning", "%zu warnings", d->nwarnings),
				    d->nwarnings);
		/* TRANSLATORS: the counts of errors and of warnings, as above */
		fprintf(stderr, _("%s, %s\n"), e, w);
		free(e);
		free(w);
	}
}

/* load + evaluate + prove, reported; *ret holds the policy afterwards. */
static int check_policy(const char *path, bool show_proofs, struct policy_compile *ret)
{
	struct diag d;
	policy_diag_init(&d);
	struct policy_compile_options co = compile_options(true, false);
	int rc = exit_status(ret, policy_compile(path, &co, &d, ret));
	print_check(path, show_proofs, ret, &d);
	policy_diag_free(&d);
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	if (argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct policy_compile c;
	int rc = check_policy(argv[0], true, &c);
	policy_compile_free(&c);
	return rc;
}

static void hex32(const uint8_t *h, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Who is compiling: the login name, and the sudo caller when there is one. */
static char *who(void)
{
	struct passwd *pw = getpwuid(getuid());
	const char *sudo = getenv("SUDO_USER");
	const char *me = pw ? pw->pw_name : "?";
	if (sudo && *sudo && strcmp(sudo, me))
		return xasprintf("%s (via sudo from %s)", me, sudo);
	return xstrdup(me);
}

/* Open the audit chain when one was asked for.  0 with *ret NULL when not. */
static int audit_start(struct audit_log **ret)
{
	*ret = NULL;
	if (!opt.audit_dir && !opt.audit_key)
		return 0;
	if (!opt.audit_dir || !opt.audit_key) {
		fprintf(stderr, _("sekisho-rulec: --audit-dir and --audit-key go together\n"));
		return -EINVAL;
	}
	struct audit_key key;
	char why[256] = "";
	int r = audit_key_load(opt.audit_key, &key, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, _("sekisho-rulec: audit key %s: %s\n"), opt.audit_key, why);
		return r;
	}
	struct audit_opts ao = {
		.dir = opt.audit_dir,
		.component = "rulec",
		.key = &key,
		.fsync = AUDIT_FSYNC_EVERY,
		.lock_timeout_ms = 10000,
	};
	r = audit_open(&ao, ret, why, sizeof why);
	audit_key_wipe(&key);
	if (r < 0)
		fprintf(stderr, _("sekisho-rulec: audit log %s: %s\n"), opt.audit_dir, why);
	else if (!audit_clock_synced() && !opt.quiet)
		/* the record says so too (clock.status); staff should hear it now */
		fprintf(stderr, "%s",
			_("sekisho-rulec: warning: the system clock is not synchronised; "
			  "audit time stamps may be wrong (時刻が同期していません)\n"));
	return r;
}

static int audit_compile(struct audit_log *log, const char *file, const struct outcome *o, const char *result,
			 const uint8_t *table_sha)
{
	char psha[65] = "", tsha[65] = "";
	char *user = who();
	if (o->have_policy)
		hex32(o->sha256, psha);
	if (table_sha)
		hex32(table_sha, tsha);
	const char *inv[16];
	for (size_t i = 0; i < o->ninvariants; i++)
		inv[i] = o->invariants[i];
	struct audit_field f[] = {
		AUDIT_STR("file", file),
		AUDIT_STR("policy_name", o->name ? o->name : ""),
		AUDIT_STR("policy_version", o->version ? o->version : ""),
		AUDIT_STR("policy_sha256", psha),
		AUDIT_STR("table", opt.output),
		AUDIT_STR("table_sha256", tsha),
		AUDIT_STR("result", result),
		AUDIT_UINT("errors", o->errors),
		AUDIT_UINT("warnings", o->warnings),
		AUDIT_UINT("rules", o->rules),
		AUDIT_UINT("zones", o->zones),
		AUDIT_STRLIST("invariants", inv, o->ninvariants),
		AUDIT_STR("user", user),
	};
	int r = audit_emit(log, "policy.compile", f, AUDIT_N(f));
	if (r == 0)
		r = audit_flush(log);
	free(user);
	return r;
}

struct compile_record {
	struct audit_log *log;
	const char *file;
	struct outcome *o;
	const struct diag *d;
};

/* The pipeline's record stage: an accepted policy's audit record. */
static int record_compile(void *ctx, const struct policy_compile *c)
{
	struct compile_record *rec = ctx;
	outcome_fill(rec->o, c, rec->d);
	return audit_compile(rec->log, rec->file, rec->o, "ok", c->have_table_sha256 ? c->table_sha256 : NULL);
}

static int cmd_compile(int argc, char **argv)
{
	if (argc != 1 || !opt.output) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct audit_log *log = NULL;
	if (audit_start(&log) < 0)
		return EXIT_USAGE;
	struct outcome o = {0};
	struct diag d;
	policy_diag_init(&d);
	struct compile_record rec = {log, argv[0], &o, &d};
	struct policy_compile_options co = compile_options(true, true);
	co.output = opt.output;
	if (log) {
		co.record = record_compile;
		co.record_ctx = &rec;
	}
	struct policy_compile c;
	int r = policy_compile(argv[0], &co, &d, &c);
	int rc = exit_status(&c, r);
	print_check(argv[0], false, &c, &d);
	switch (c.stage) {
	case POLICY_COMPILE_BUILD:
		fprintf(stderr, _("sekisho-rulec: %s: cannot compile: %s\n"), argv[0], c.why);
		break;
	case POLICY_COMPILE_RECORD:
		fprintf(stderr, _("sekisho-rulec: cannot write the audit record; table not written\n"));
		break;
	case POLICY_COMPILE_WRITE:
		fprintf(stderr, _("sekisho-rulec: %s\n"), c.why);
		break;
	default:
		break;
	}
	if (r < 0 && c.stage < POLICY_COMPILE_RECORD && log) {
		outcome_fill(&o, &c, &d);
		audit_compile(log, argv[0], &o, rc == EXIT_POLICY ? "refused" : "error", NULL);
	}
	if (rc == EXIT_OK && !opt.quiet) {
		struct table *t = NULL;
		char why[256] = "";
		if (table_open_buffer(c.table, c.table_len, &t, why, sizeof why) == 0) {
			struct table_info ti;
			table_get_info(t, &ti);
			printf("%s: %u rules, %u zones, %u partitions, %zu bytes, policy sha256 ", opt.output,
			       ti.nrules, ti.nzones, ti.npartitions, c.table_len);
			for (int i = 0; i < 32; i++)
				printf("%02x", ti.policy_sha256[i]);
			printf("\n");
			table_close(t);
		} else {
			fprintf(stderr, _("sekisho-rulec: internal error: the table just built does not load: %s\n"),
				why);
			rc = EXIT_POLICY;
		}
	}
	if (log && audit_close(log) < 0 && rc == EXIT_OK) {
		fprintf(stderr, _("sekisho-rulec: audit log %s: write error\n"), opt.audit_dir);
		rc = EXIT_USAGE;
	}
	policy_diag_free(&d);
	policy_compile_free(&c);
	outcome_free(&o);
	return rc;
}

/* Is this file a compiled table (by its magic)? */
static bool is_table_file(const char *path)
{
	char magic[8];
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	bool yes = fread(magic, 1, 8, f) == 8 && !memcmp(magic, "SKSHOTBL", 8);
	fclose(f);
	return yes;
}

struct loaded {
	struct policy_compile compiled; /* from a policy file: its policy and table bytes */
	struct table *table;
};

static int load_any(const char *path, struct loaded *ret)
{
	char why[256] = "";
	memset(ret, 0, sizeof *ret);
	if (is_table_file(path)) {
		if (table_open(path, &ret->table, why, sizeof why) < 0) {
			fprintf(stderr, _("sekisho-rulec: %s: %s\n"), path, why);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	struct diag d;
	policy_diag_init(&d);
	struct policy_compile *c = &ret->compiled;
	struct policy_compile_options co = compile_options(false, true);
	int r = policy_compile(path, &co, &d, c);
	print_diags(&d);
	policy_diag_free(&d);
	if (r < 0 && c->stage == POLICY_COMPILE_LOAD)
		return exit_status(c, r);
	if (r < 0 || table_open_buffer(c->table, c->table_len, &ret->table, c->why, sizeof c->why) < 0) {
		fprintf(stderr, _("sekisho-rulec: %s: cannot compile: %s\n"), path, c->why);
		return EXIT_POLICY;
	}
	return EXIT_OK;
}

static void loaded_free(struct loaded *l)
{
	table_close(l->table);
	policy_compile_free(&l->compiled);
}

static int parse_zone(const struct table *t, const char *s)
{
	if (!strncmp(s, "if:", 3))
		return table_zone_by_ifname(t, s + 3);
	return table_zone_by_name(t, s);
}

static int parse_proto(const char *s)
{
	/* the names policies accept (proto/NAME), one table */
	int named = policy_proto_by_name(s, strlen(s));
	if (named >= 0)
		return named;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s && !*end && v >= 0 && v <= 255)
		return (int)v;
	return -1;
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT", "V6" */
static int parse_endpoint(const char *s, bool want_port, int *family, u128 *addr, uint16_t *port)
{
	char buf[INADDR_STRLEN + 8];
	const char *a = s, *p = NULL;
	size_t alen = strlen(s);
	*port = 0;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return -1;
		a = s + 1;
		alen = (size_t)(close - a);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1])
			return -1;
	} else if (strchr(s, '.') && strchr(s, ':')) {
		const char *c = strrchr(s, ':');
		alen = (size_t)(c - s);
		p = c + 1;
	}
	if (alen >= sizeof buf)
		return -1;
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	if (inaddr_parse(buf, family, addr) < 0)
		return -1;
	if (p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (!*p || *end || v < 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	} else if (want_port) {
		return -1;
	}
	return 0;
}

static int cmd_explain(int argc, char **argv)
{
	if (argc < 6) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct loaded l;
	int rc = load_any(argv[0], &l);
	if (rc != EXIT_OK) {
		loaded_free(&l);
		return rc;
	}
	struct table_query q = {0};
	int from = parse_zone(l.table, argv[1]), to = parse_zone(l.table, argv[2]);
	int proto = parse_proto(argv[3]);
	int fam1 = 0, fam2 = 0;
	uint16_t sport = 0, dport = 0;
	long type = 0, code = 0;
	rc = EXIT_USAGE;
	if (from < 0 || to < 0) {
		fprintf(stderr, _("sekisho-rulec: unknown zone or interface '%s'\n"), from < 0 ? argv[1] : argv[2]);
		goto out;
	}
	if (proto < 0) {
		fprintf(stderr, _("sekisho-rulec: unknown protocol '%s'\n"), argv[3]);
		goto out;
	}
	bool ports = table_proto_has_ports((uint8_t)proto);
	if (parse_endpoint(argv[4], false, &fam1, &q.src, &sport) < 0 ||
	    parse_endpoint(argv[5], false, &fam2, &q.dst, &dport) < 0 || fam1 != fam2) {
		fprintf(stderr, _("sekisho-rulec: bad addresses '%s' '%s' (same family; ADDR:PORT or [V6]:PORT)\n"),
			argv[4], argv[5]);
		goto out;
	}
	for (int i = 6; i + 1 < argc; i += 2) {
		long *dst = !strcmp(argv[i], "type") ? &type : !strcmp(argv[i], "code") ? &code : NULL;
		char *end;
		long v = strtol(argv[i + 1], &end, 10);
		if (!dst || *end || v < 0 || v > 255) {
			fprintf(stderr, _("sekisho-rulec: bad packet field '%s %s'\n"), argv[i], argv[i + 1]);
			goto out;
		}
		*dst = v;
	}
	if ((argc - 6) % 2) {
		fprintf(stderr, _("sekisho-rulec: missing value after '%s'\n"), argv[argc - 1]);
		goto out;
	}
	q.from_zone = (uint8_t)from;
	q.to_zone = (uint8_t)to;
	q.family = (uint8_t)fam1;
	q.proto = (uint8_t)proto;
	q.sport = ports ? sport : 0;
	q.key = table_packet_key((uint8_t)proto, dport, (uint8_t)type, (uint8_t)code);

	struct table_verdict v;
	table_lookup(l.table, &q, &v);
	struct policy_packet pkt = {.from_zone = q.from_zone,
				    .to_zone = q.to_zone,
				    .family = q.family,
				    .proto = q.proto,
				    .sport = q.sport,
				    .key = q.key,
				    .src = q.src,
				    .dst = q.dst};
	struct strbuf sb = STRBUF_INIT;
	struct table_zone_info zf, zt;
	table_zone(l.table, q.from_zone, &zf);
	table_zone(l.table, q.to_zone, &zt);
	if (l.compiled.policy) {
		policy_show_packet_format(l.compiled.policy, &pkt, &sb);
	} else {
		/* without the policy, name zones from the table */
		struct policy tmp;
		memset(&tmp, 0, sizeof tmp);
		tmp.nzones = TABLE_MAX_ZONES;
		for (uint32_t i = 0; i < TABLE_MAX_ZONES; i++) {
			struct table_zone_info zi;
			tmp.zones[i].name = table_zone(l.table, i, &zi) ? (char *)(uintptr_t)zi.name : NULL;
		}
		policy_show_packet_format(&tmp, &pkt, &sb);
	}
	printf("packet   %s\n", strbuf_str(&sb));
	printf("verdict  %s%s\n", table_action_name(v.action), v.log ? " (logged)" : "");
	if (v.rule_index != UINT32_MAX) {
		struct table_rule_info ri;
		table_rule(l.table, v.rule_index, &ri);
		printf("rule     #%u \"%s\"  %s:%u\n", ri.id, ri.name, ri.file, ri.line);
		if (*ri.description)
			printf("         %s\n", ri.description);
		if (*ri.owner || *ri.ticket)
			printf("         owner %s%s%s\n", *ri.owner ? ri.owner : "-", *ri.ticket ? ", ticket " : "",
			       ri.ticket);
	} else {
		printf("rule     none matched: the default for %s -> %s applies\n", zf.name, zt.name);
	}
	strbuf_free(&sb);
	rc = EXIT_OK;
out:
	loaded_free(&l);
	return rc;
}

static int cmd_diff(int argc, char **argv)
{
	if (argc != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct policy_compile a = {0}, b = {0};
	struct diag d;
	policy_diag_init(&d);
	int rc = load_policy(argv[0], &d, &a);
	if (rc == EXIT_OK)
		rc = load_policy(argv[1], &d, &b);
	print_diags(&d);
	policy_diag_free(&d);
	if (rc == EXIT_OK) {
		struct diff_result res;
		if (policy_diff(a.policy, b.policy, opt.budget, &res) < 0) {
			fprintf(stderr, _("sekisho-rulec: diff failed\n"));
			rc = EXIT_USAGE;
		} else {
			struct strbuf sb = STRBUF_INIT;
			policy_diff_render(a.policy, b.policy, &res, &sb);
			fputs(strbuf_str(&sb), stdout);
			strbuf_free(&sb);
			policy_diff_free(&res);
		}
	}
	policy_compile_free(&a);
	policy_compile_free(&b);
	return rc;
}

static void print_table_summary(const struct table *t)
{
	struct table_info ti;
	table_get_info(t, &ti);
	printf("compiled table, format %u\n", ti.format_version);
	printf("policy \"%s\" version \"%s\"\n", ti.policy_name, ti.policy_version);
	printf("policy sha256 ");
	for (int i = 0; i < 32; i++)
		printf("%02x", ti.policy_sha256[i]);
	time_t ct = (time_t)ti.compile_time;
	char tbuf[64];
	strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%SZ", gmtime(&ct));
	printf("\ncompiled %s; %u zones, %u rules, %u partitions, %llu bytes\n", tbuf, ti.nzones, ti.nrules,
	       ti.npartitions, (unsigned long long)ti.bytes);
	for (uint32_t z = 0; z < ti.nzones; z++) {
		struct table_zone_info zi;
		table_zone(t, z, &zi);
		printf("  zone %-16s", zi.name);
		for (uint32_t i = 0; i < zi.nif; i++)
			printf(" %s", table_zone_ifname(t, z, i));
		printf("\n");
	}
	for (uint32_t i = 0; i < ti.nrules; i++) {
		struct table_rule_info ri;
		table_rule(t, i, &ri);
		printf("  #%-4u %-6s%s \"%s\"  %s:%u\n", ri.id, table_action_name(ri.action), ri.log ? " log" : "",
		       ri.name, ri.file, ri.line);
	}
}

static int cmd_show(int argc, char **argv)
{
	if (argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (is_table_file(argv[0])) {
		struct loaded l;
		int rc = load_any(argv[0], &l);
		if (rc == EXIT_OK)
			print_table_summary(l.table);
		loaded_free(&l);
		return rc;
	}
	struct diag d;
	struct policy_compile c;
	policy_diag_init(&d);
	int rc = load_policy(argv[0], &d, &c);
	print_diags(&d);
	policy_diag_free(&d);
	if (rc == EXIT_OK) {
		struct strbuf sb = STRBUF_INIT;
		policy_show_listing(c.policy, &sb);
		strbuf_puts(&sb, "\n");
		policy_show_matrix(c.policy, &sb);
		fputs(strbuf_str(&sb), stdout);
		strbuf_free(&sb);
	}
	policy_compile_free(&c);
	return rc;
}

static int cmd_emit_nft(int argc, char **argv)
{
	if (argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct policy_compile c;
	int rc = check_policy(argv[0], false, &c);
	if (rc != EXIT_OK) {
		policy_compile_free(&c);
		return rc;
	}
	struct strbuf sb = STRBUF_INIT;
	char why[256] = "";
	if (policy_nft_emit(c.policy, &sb, why, sizeof why) < 0) {
		fprintf(stderr, _("sekisho-rulec: %s: %s\n"), argv[0], why);
		rc = EXIT_POLICY;
	} else {
		fputs(strbuf_str(&sb), stdout);
	}
	strbuf_free(&sb);
	policy_compile_free(&c);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},    {"strict", no_argument, NULL, 's'},
		{"today", required_argument, NULL, 't'},     {"budget", required_argument, NULL, 'b'},
		{"quiet", no_argument, NULL, 'q'},           {"color", no_argument, NULL, 'c'},
		{"no-color", no_argument, NULL, 'C'},        {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},         {"audit-dir", required_argument, NULL, 'A'},
		{"audit-key", required_argument, NULL, 'K'}, {0},
	};
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"check", cmd_check}, {"compile", cmd_compile}, {"explain", cmd_explain},
		{"diff", cmd_diff},   {"show", cmd_show},       {"emit-nft", cmd_emit_nft},
	};
	int c;

	i18n_init();
	opt.color = isatty(STDERR_FILENO) && !getenv("NO_COLOR");
	opt.today = getenv("SEKISHO_TODAY");
	opt.audit_dir = getenv("SEKISHO_AUDIT_DIR");
	opt.audit_key = getenv("SEKISHO_AUDIT_KEY");
	if (opt.audit_dir && !*opt.audit_dir)
		opt.audit_dir = NULL;
	if (opt.audit_key && !*opt.audit_key)
		opt.audit_key = NULL;
	/* "+" : options first, then the command; options may also follow it */
	while ((c = getopt_long(argc, argv, "+o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			opt.output = optarg;
			break;
		case 's':
			opt.strict = true;
			break;
		case 't':
			opt.today = optarg;
			break;
		case 'b':
			opt.budget = strtoull(optarg, NULL, 10);
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'c':
			opt.color = true;
			break;
		case 'C':
			opt.color = false;
			break;
		case 'A':
			opt.audit_dir = optarg;
			break;
		case 'K':
			opt.audit_key = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			version_print(stdout, "sekisho-rulec");
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind++];
	/* options after the command */
	int cargc = 0;
	char **cargv = xcalloc((size_t)argc + 1, sizeof *cargv);
	for (; optind < argc; optind++) {
		const char *a = argv[optind];
		if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && optind + 1 < argc)
			opt.output = argv[++optind];
		else if (!strcmp(a, "--strict"))
			opt.strict = true;
		else if (!strcmp(a, "--today") && optind + 1 < argc)
			opt.today = argv[++optind];
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			opt.quiet = true;
		else if (!strcmp(a, "--no-color"))
			opt.color = false;
		else if (!strcmp(a, "--audit-dir") && optind + 1 < argc)
			opt.audit_dir = argv[++optind];
		else if (!strcmp(a, "--audit-key") && optind + 1 < argc)
			opt.audit_key = argv[++optind];
		else
			cargv[cargc++] = argv[optind];
	}
	int rc = EXIT_USAGE;
	bool found = false;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (!strcmp(cmd, cmds[i].name)) {
			rc = cmds[i].fn(cargc, cargv);
			found = true;
		}
	if (!found) {
		fprintf(stderr, _("sekisho-rulec: unknown command '%s'\n"), cmd);
		usage(stderr);
	}
	free(cargv);
	return rc;
}
