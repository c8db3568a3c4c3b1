/* cmd: the subcommands of sekisho-logexport.  Each takes its own argv
 * (argv[0] is the subcommand name), prints its output and diagnostics, and
 * returns the exit code (lx_cli.h). */
#pragma once

int cmd_verify_main(int argc, char **argv);
int cmd_export_main(int argc, char **argv);
int cmd_forward_main(int argc, char **argv);
int cmd_report_main(int argc, char **argv);
