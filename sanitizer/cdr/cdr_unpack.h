/* cdr_unpack: an archive (zip, lzh, 7z, tar, and gz / bz2 / xz of a single
 * file or of a tar) into the member stream (cdr_members.h).  Converter-only:
 * it parses attacker bytes with libarchive, so it is linked into
 * sekisho-cdr-archive (which runs in the sandbox), its unit test and nothing
 * on the trusted side.
 *
 * Per entry: folders are dropped (the trusted side's zip implies them);
 * symbolic and hard links ("link") and devices, FIFOs, sockets
 * ("special-file") are skipped; a regular file whose name cannot be made
 * safe ("unsafe-name", "name-limit") or that clashes with an earlier one
 * ("duplicate-name") or is larger than the member cap ("entry-size-limit")
 * or cannot be read ("damaged") is skipped with that reason; every other
 * regular file is a member.  The whole archive is refused (no member at all)
 * when any entry is encrypted ("encrypted", PPAP), when the archive cannot
 * be read ("bad-archive", "not-an-archive") or when a cap for the whole
 * archive is reached ("entry-limit", "total-size-limit", "ratio-limit"):
 * those are properties of the archive, not of one member.
 *
 * Names (cdr_unpack_name): the stored bytes are decoded as UTF-8 when they
 * are valid UTF-8 (the zip UTF-8 flag, 7z, pax, and macOS zips without the
 * flag), otherwise as CP932 (Japanese Windows and LHA); then backslashes are
 * separators, empty and "." segments go, trailing dots and spaces of a
 * segment go (Windows drops them), the characters Windows forbids (<>"|?*)
 * become '_'; an absolute path, a drive letter or any ':', a ".." segment, a
 * NUL (also one hidden in a zip header), a control or bidi character or a
 * device name (CON, NUL, COM1...) makes the name unsafe.
 *
 * Ownership: the caller owns in, out and log; nothing is kept.  Never logs
 * except the report lines it is asked to write on log.  Allocation failure
 * aborts (the converter is a throw-away process). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sanitizer/cdr/cdr_members.h"

#define CDR_UNPACK_MAX_PASSWORD 1024

struct cdr_unpack_opts {
	struct cdr_members_caps caps;
	/* The password of an encrypted archive (PPAP, docs/portal.md): NULL
	 * refuses every encrypted archive ("encrypted"); set, it goes to
	 * libarchive (archive_read_add_passphrase) and an entry it does not
	 * open refuses the archive "wrong-password".  It reaches the
	 * converter on stdin (sekisho-cdr-archive --password), never argv. */
	const char *password;
};

void cdr_unpack_opts_default(struct cdr_unpack_opts *ret_opts);

/* Unpacks in[0..len) into the member stream on out and report lines on log
 * (may be NULL): "member NAME SIZE", "skipped NAME REASON", then "ok", or
 * "refused KEY".  Returns 0 when the stream ended with E, -EPERM when it
 * ended with R (why has the key), -EIO when out could not be written. */
int cdr_unpack_run(const uint8_t *in, size_t len, const struct cdr_unpack_opts *opts, FILE *out, FILE *log, char *why,
		   size_t whylen);

/* The stored name raw[0..rawlen) as a safe member name (see the file
 * comment) in ret (retlen >= caps->max_name_bytes + 1).  Returns 0, or
 * -EINVAL with "unsafe-name" or "name-limit" in why; even then ret holds a
 * display form for the report (unsafe parts replaced by '_', cut to the
 * caps), or "_" when nothing is left. */
int cdr_unpack_name(const char *raw, size_t rawlen, const struct cdr_members_caps *caps, char *ret, size_t retlen,
		    char *why, size_t whylen);
