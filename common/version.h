/* version: the one version of every sekisho program, for --version.  The
 * project version comes from meson.build; the git description
 * (`git describe --always --dirty`) is taken at build time by meson's
 * vcs_tag into the generated version.c (from common/version.c.in), so a
 * binary says which commit it was built from.  Static strings; nothing to
 * free; cannot fail. */
#pragma once
#include <stdio.h>

/* "0.1.0": the project version of meson.build. */
extern const char version_project[];

/* "v0.1.0-12-gabcdef0-dirty" or "abcdef0": the build's git description;
 * "unknown" when built outside a git checkout. */
extern const char version_git[];

/* Writes "PROG VERSION (GIT-DESCRIBE)\n" to f: the --version line. */
void version_print(FILE *f, const char *prog);

/* For the programs without an option parser (the CDR converters): when the
 * only argument is --help, writes usage to stdout; when it is --version,
 * the version line.  Returns 0 then (the exit status), -1 otherwise. */
int version_cli(int argc, char **argv, const char *prog, const char *usage);
