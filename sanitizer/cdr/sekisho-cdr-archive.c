/* sekisho-cdr-archive: an archive on stdin (zip, lzh, 7z, tar, gz / bz2 /
 * xz) to the member stream (cdr_members.h) on stdout, inside the CDR
 * sandbox.  The trusted side (cdr_archive.c) converts each member on its
 * own and writes the new zip; this program only unpacks, decodes names and
 * enforces the caps (cdr_unpack.h).
 *
 * stderr gets the report lines: "member NAME SIZE", "skipped NAME REASON",
 * then "ok", or "refused KEY".  Exit 0 when the stream ends with its end
 * record, 1 when the archive was refused (the stream then ends with the
 * refusal record: the trusted side reads the key there, since the sandbox
 * keeps only the start of stderr), 2 usage or I/O.  The input is capped at
 * 256 MiB ("input-size-limit"); a regular file on stdin is mapped, not
 * copied.  --nested: the archive is inside another
 * one (cdr_members_caps_nested). */
#include <errno.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/version.h"
#include "common/fdio.h"
#include "sanitizer/cdr/cdr_lockdown.h"
#include "sanitizer/cdr/cdr_unpack.h"

#define MAX_INPUT (256u << 20)

/* "<length>\n<password>" from stdin, read byte-exactly (what follows is
 * the archive): 0 with *ret_skip = the bytes read, or -1 */
static int read_password(char *buf, size_t size, size_t *ret_skip)
{
	char head[8];
	size_t n = 0;
	while (n < sizeof head - 1) {
		if (read(0, head + n, 1) != 1)
			return -1;
		if (head[n++] == '\n')
			break;
	}
	head[n] = 0;
	char *end;
	unsigned long len = strtoul(head, &end, 10);
	if (end == head || *end != '\n' || len == 0 || len >= size)
		return -1;
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(0, buf + got, len - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	buf[len] = 0;
	if (strlen(buf) != len)
		return -1;
	*ret_skip = n + len;
	return 0;
}

int main(int argc, char **argv)
{
	struct cdr_unpack_opts o;
	uint8_t *in = NULL;
	size_t inlen = 0, maplen = 0;
	char why[64];
	int rc;

	static const char usage[] = "usage: sekisho-cdr-archive [--nested | --password] < ARCHIVE > MEMBERS\n";
	if ((rc = version_cli(argc, argv, "sekisho-cdr-archive", usage)) >= 0)
		return rc;
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--nested") && strcmp(argv[1], "--password"))) {
		fputs(usage, stderr);
		return 2;
	}
	bool ppap = argc == 2 && !strcmp(argv[1], "--password");
	/* --password: stdin starts with "<length>\n<password>" (PPAP; the
	 * worker's password never reaches argv) */
	static char password[CDR_UNPACK_MAX_PASSWORD + 1];
	size_t skip = 0;
	if (ppap && read_password(password, sizeof password, &skip) < 0) {
		fprintf(stderr, "sekisho-cdr-archive: --password: no password on stdin\n");
		return 2;
	}
	/* libarchive hands out names in the locale's charset: UTF-8, so that
	 * 7z's UTF-16 and flagged zip names arrive as UTF-8 and the rest as
	 * their stored bytes (cdr_unpack_name decodes those) */
	if (!setlocale(LC_CTYPE, "C.UTF-8")) {
		fprintf(stderr, "sekisho-cdr-archive: no C.UTF-8 locale\n");
		return 2;
	}
	/* no exec, no fork from here on: libarchive would start a helper
	 * program for a filter it lacks (none is enabled; this makes sure) */
	int locked = cdr_lockdown();
	if (locked < 0) {
		fprintf(stderr, "sekisho-cdr-archive: seccomp: %s\n", strerror(-locked));
		return 2;
	}
	cdr_unpack_opts_default(&o);
	if (argc == 2 && !ppap)
		cdr_members_caps_nested(&o.caps);
	if (ppap)
		o.password = password;
	/* stdin is the caller's file reopened read-only by the sandbox: map
	 * it rather than copy it, so that a large archive costs its size in
	 * address space once, not twice (RLIMIT_AS); a pipe is read */
	struct stat st;
	void *map = NULL;
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > MAX_INPUT + skip)
			rc = -EFBIG;
		else if ((size_t)st.st_size <= skip)
			rc = 0;
		else if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, 0, 0)) == MAP_FAILED)
			rc = -errno;
		else
			rc = 0;
		if (map == MAP_FAILED)
			map = NULL;
		in = map ? (uint8_t *)map + skip : NULL;
		inlen = map ? (size_t)st.st_size - skip : 0;
		maplen = map ? (size_t)st.st_size : 0;
	} else {
		rc = fdio_read_all(0, MAX_INPUT, &in, &inlen);
	}
	if (rc == -EFBIG) {
		fprintf(stderr, "refused input-size-limit\n");
		if (cdr_members_write_header(stdout, 0) || cdr_members_write_refused(stdout, "input-size-limit") ||
		    fflush(stdout))
			return 2;
		return 1;
	}
	if (rc) {
		fprintf(stderr, "sekisho-cdr-archive: read: %s\n", strerror(-rc));
		return 2;
	}
	rc = cdr_unpack_run(in, inlen, &o, stdout, stderr, why, sizeof why);
	explicit_bzero(password, sizeof password);
	if (map)
		munmap(map, maplen);
	else
		free(in);
	if (rc == -EPERM)
		return 1;
	if (rc) {
		fprintf(stderr, "sekisho-cdr-archive: write: %s\n", strerror(-rc));
		return 2;
	}
	return 0;
}
