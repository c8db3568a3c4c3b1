/* fuzz_cdr_portal: libFuzzer target for what the worker reads from the
 * portals and the mail it builds from their text.
 *
 * The first byte picks: 'R' a portal request (cdr_portal_req_parse), 'P'
 * an upload parcel's metadata (cdr_parcel_parse), 'M' the mail builder
 * (cdr_mail_build) with the rest split at NUL bytes into subject, body and
 * attachment names (each attachment a memfd of its own name).
 * A request or parcel that parses must hold only checked ids and hashes; a
 * built mail must be 7-bit, with CRLF line ends only and no line over 998
 * bytes (RFC 5322), however hostile the text.  Seeds:
 * test/fuzz/corpus/cdr_portal/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sanitizer/cdr/cdr_mail.h"
#include "sanitizer/cdr/cdr_portal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_mail(const char *m, size_t len)
{
	size_t line = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)m[i];
		if (c >= 0x80 || c == 0)
			abort();
		if (c == '\n' && (i == 0 || m[i - 1] != '\r'))
			abort();
		if (c == '\r' && (i + 1 == len || m[i + 1] != '\n'))
			abort();
		line = c == '\n' ? 0 : line + 1;
		if (line > 998)
			abort();
	}
}

static void fuzz_mail(const char *p, size_t len)
{
	/* subject \0 body \0 name \0 name ... (at most 4 names) */
	char *copy = malloc(len + 1);
	if (!copy)
		return;
	memcpy(copy, p, len);
	copy[len] = 0;
	const char *parts[6] = {0};
	size_t n = 0, off = 0;
	while (n < 6 && off <= len) {
		parts[n++] = copy + off;
		off += strlen(copy + off) + 1;
	}
	struct cdr_mail_att att[4];
	size_t natt = 0;
	for (size_t i = 2; i < n; i++) {
		int fd = memfd_create("att", MFD_CLOEXEC);
		if (fd < 0)
			break;
		size_t l = strlen(parts[i]);
		if (write(fd, parts[i], l) != (ssize_t)l) {
			close(fd);
			break;
		}
		att[natt++] = (struct cdr_mail_att){.name = parts[i], .fd = fd, .bytes = l};
	}
	const char *to[] = {"sato@city.example.lg.jp"};
	struct cdr_mail m = {.from = "sekisho@relay.example.lg.jp",
			     .to = to,
			     .nto = 1,
			     .subject = parts[0],
			     .body = n > 1 ? parts[1] : "",
			     .att = att,
			     .natt = natt,
			     .date = 1796000000};
	size_t mlen = 0;
	char *msg = cdr_mail_build(&m, &mlen);
	if (msg) {
		check_mail(msg, mlen);
		free(msg);
	}
	for (size_t i = 0; i < natt; i++)
		close(att[i].fd);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	if (data[0] == 'R') {
		struct cdr_portal_req r;
		if (cdr_portal_req_parse(text, len, &r) < 0)
			return 0;
		if (!cdr_portal_name_ok(r.id) || (r.kind != CDR_PORTAL_NOTIFY && !cdr_portal_hex64(r.sha256)) ||
		    (r.link[0] && !cdr_portal_hex64(r.link)) || (r.kind == CDR_PORTAL_PPAP && !r.password))
			abort();
		cdr_portal_req_free(&r);
	} else if (data[0] == 'P') {
		struct cdr_parcel p;
		if (cdr_parcel_parse(text, len, &p) < 0)
			return 0;
		if (!cdr_parcel_id_ok(p.id) || !cdr_portal_addr_ok(p.rcpt) || p.nfiles == 0 ||
		    p.nfiles > CDR_PARCEL_MAX_FILES)
			abort();
		for (size_t i = 0; i < p.nfiles; i++)
			if (!cdr_portal_hex64(p.files[i].sha256) || p.files[i].n != i || strchr(p.files[i].name, '/'))
				abort();
		cdr_parcel_free(&p);
	} else if (data[0] == 'M') {
		fuzz_mail(text, len);
	}
	return 0;
}
