/* sekisho-logexport: the auditors' log tool.
 *
 * Contract: dispatches to one subcommand (verify, export, forward,
 * report); each prints its own output and diagnostics and returns the
 * exit code: 0 success, 1 verification failure or broken chain, 2 usage
 * or I/O error.  Library modules (lx_*) never print. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "common/version.h"
#include "common/i18n.h"
#include "cmd.h"
#include "tools/logexport/lx_cli.h"

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; command and option names, metavariables (FILE,
	 * DIR, T, ...), values and examples stay as they are written; %s is the
	 * default key file */
	fprintf(f,
		_("usage: sekisho-logexport COMMAND [OPTIONS] ...\n"
		  "\n"
		  "Verify, export, forward and summarise sekisho's tamper-evident audit logs.\n"
		  "\n"
		  "commands:\n"
		  "  verify [--key FILE] [--json] [--anchor SEQ:MAC] DIR|FILE...\n"
		  "      check the hash chains; print records, times and every break\n"
		  "  export [--key FILE] [filters] [--format csv|jsonl|cef] [--encoding utf-8|cp932]\n"
		  "         [--headers en|ja] [--allow-broken] [-o FILE] DIR...\n"
		  "      records for auditors (CSV for Excel), tools (JSON Lines) or SIEMs (CEF)\n"
		  "  forward --to HOST:PORT [--key FILE] [--state FILE] [--follow] [--allow-broken] DIR\n"
		  "      send records to a syslog collector (RFC 5425: RFC 5424 over TLS, octet counting),\n"
		  "      each exactly once and in order, resuming where the state file says\n"
		  "  report [--key FILE] --since T --until T [-o FILE] [--lang ja|en] DIR...\n"
		  "      one self-contained HTML report for a period\n"
		  "  --help, --version\n"
		  "\n"
		  "filters (export): --since T, --until T, --component NAME, --event GLOB,\n"
		  "  --zone-pair FROM:TO, --rule ID, --address ADDR|PREFIX|RANGE, --sender GLOB,\n"
		  "  --recipient GLOB.  T is RFC 3339 (2026-11-22T09:00:00+09:00) or YYYY-MM-DD.\n"
		  "\n"
		  "The key defaults to %s (a regular file, mode 0600, owned by you).\n"
		  "Exit status: 0 ok, 1 verification failure or broken chain, 2 usage or I/O error.\n"
		  "'sekisho-logexport COMMAND --help' shows a command's options; man sekisho-logexport has the rest.\n"),
		LX_DEFAULT_KEY);
}

int main(int argc, char **argv)
{
	i18n_init();
	if (argc < 2) {
		usage(stderr);
		return LX_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return LX_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0) {
		version_print(stdout, LX_PROG);
		return LX_EXIT_OK;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"verify", cmd_verify_main},
		{"export", cmd_export_main},
		{"forward", cmd_forward_main},
		{"report", cmd_report_main},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	lx_cli_err(_("unknown command '%s'"), cmd);
	usage(stderr);
	return LX_EXIT_USAGE;
}
