/* sekisho-ctl-audit, one audit record of component "ctl".
 *
 *   sekisho-ctl-audit --audit-dir DIR --audit-key FILE EVENT [NAME=VALUE | NAME#=INTEGER]...
 *
 * sekishoctl (a shell script) records every apply, confirm and rollback
 * through this helper: the record is queued, written, fsynced and the log
 * closed before the helper exits, so exit status 0 means the record is on
 * disk.  Fields become the record's "data" members in the given order:
 * NAME=VALUE a string, NAME#=N a signed integer.  Names and the event are
 * checked by the audit library (common/audit/audit.h).
 *
 * Exit status: 0 written, 2 usage error or the record could not be written
 * (sekishoctl then refuses to go on: nothing is changed without a record). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/version.h"
#include "common/audit/audit.h"
#include "common/i18n.h"

static void usage(FILE *out)
{
	/* TRANSLATORS: the usage; option names and metavariables stay as they
	 * are written */
	fputs(_("usage: sekisho-ctl-audit --audit-dir DIR --audit-key FILE [--host NAME] EVENT "
		"[NAME=VALUE | NAME#=INTEGER]...\n"
		"       sekisho-ctl-audit --help | --version\n"),
	      out);
}

/* One NAME=VALUE or NAME#=N argument into *f; the name is cut in place. */
static int parse_field(char *arg, struct audit_field *f)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return -EINVAL;
	*eq = 0;
	const char *val = eq + 1;
	if (eq[-1] == '#') {
		eq[-1] = 0;
		char *end;
		errno = 0;
		long long v = strtoll(val, &end, 10);
		if (errno || end == val || *end || !arg[0])
			return -EINVAL;
		*f = (struct audit_field)AUDIT_INT(arg, v);
	} else {
		*f = (struct audit_field)AUDIT_STR(arg, val);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"audit-dir", required_argument, NULL, 'a'}, {"audit-key", required_argument, NULL, 'k'},
		{"host", required_argument, NULL, 'H'},      {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},         {0},
	};
	const char *dir = NULL, *keypath = NULL, *host = NULL;
	int ch;
	i18n_init();
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			dir = optarg;
			break;
		case 'k':
			keypath = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			version_print(stdout, "sekisho-ctl-audit");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || !keypath || optind >= argc || argc - optind - 1 > AUDIT_FIELDS_MAX) {
		usage(stderr);
		return 2;
	}
	const char *event = argv[optind++];
	struct audit_field fields[AUDIT_FIELDS_MAX];
	size_t n = 0;
	for (; optind < argc; optind++) {
		if (parse_field(argv[optind], &fields[n]) < 0) {
			fprintf(stderr, _("sekisho-ctl-audit: bad field '%s' (NAME=VALUE or NAME#=INTEGER)\n"),
				argv[optind]);
			return 2;
		}
		n++;
	}

	char why[512] = "";
	struct audit_key key;
	int r = audit_key_load(keypath, &key, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, _("sekisho-ctl-audit: audit key %s: %s\n"), keypath, why[0] ? why : strerror(-r));
		return 2;
	}
	struct audit_opts o = {
		.dir = dir,
		.component = "ctl",
		.host = host,
		.key = &key,
		.fsync = AUDIT_FSYNC_EVERY,
		.lock_timeout_ms = 10000,
	};
	struct audit_log *log = NULL;
	r = audit_open(&o, &log, why, sizeof why);
	audit_key_wipe(&key);
	if (r < 0) {
		fprintf(stderr, _("sekisho-ctl-audit: audit log %s: %s\n"), dir, why[0] ? why : strerror(-r));
		return 2;
	}
	int rc = 0;
	r = audit_emit(log, event, fields, n);
	if (r < 0) {
		fprintf(stderr, _("sekisho-ctl-audit: event '%s': %s\n"), event, strerror(-r));
		rc = 2;
	} else if ((r = audit_flush(log)) < 0) {
		fprintf(stderr, _("sekisho-ctl-audit: writing %s: %s\n"), dir, strerror(-r));
		rc = 2;
	}
	struct audit_stats st;
	audit_get_stats(log, &st);
	if (rc == 0 && st.truncated) {
		fprintf(stderr, _("sekisho-ctl-audit: a field was cut or left out (see data._truncated)\n"));
	}
	if ((r = audit_close(log)) < 0 && rc == 0) {
		fprintf(stderr, _("sekisho-ctl-audit: closing %s: %s\n"), dir, strerror(-r));
		rc = 2;
	}
	return rc;
}
