/* fuzz_cdr_ooxml: libFuzzer target for the OOXML rebuild (cdr_ooxml.h).
 *
 * An input that starts with "PK" goes to cdr_ooxml_rebuild as it is: the
 * zip reader and its caps.  Any other input is a list of entries in text,
 * each starting with a line "==NAME", which this target zips (libarchive,
 * stored) before the rebuild: mutations of the text then reach the content
 * types, relationships and XML rewrite that CRCs would otherwise shield.
 *
 * Besides crashes and sanitizer reports it checks what the rebuild
 * promises: a refusal leaves no output and a reason; a rebuilt package is
 * rebuilt again without refusal and without anything left to remove, into
 * the same bytes (the output is a fixed point).  A broken promise aborts.
 *
 * Seeds: test/fuzz/corpus/cdr_ooxml/ (small packages written for it: a
 * macro document with DDE fields and external links, a workbook with an
 * external link and connections, a presentation with an OLE object). */
#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "sanitizer/cdr/cdr_ooxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static la_ssize_t sb_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	strbuf_append(ud, buf, n);
	return (la_ssize_t)n;
}

static void add(struct archive *a, const char *name, size_t nlen, const uint8_t *d, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	char *n = strndup(name, nlen);

	if (!n)
		abort();
	archive_entry_set_pathname(e, n);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(a, e) == ARCHIVE_OK && len)
		archive_write_data(a, d, len);
	archive_entry_free(e);
	free(n);
}

/* The "==NAME" text form as a stored zip. */
static void zip_text(const uint8_t *d, size_t n, struct strbuf *out)
{
	struct archive *a = archive_write_new();
	size_t i = 0;

	archive_write_set_format_zip(a);
	archive_write_set_options(a, "zip:compression=store");
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open2(a, out, NULL, sb_write, NULL, NULL);
	while (i + 2 <= n && d[i] == '=' && d[i + 1] == '=') {
		const uint8_t *nl = memchr(d + i, '\n', n - i), *next;
		size_t name = i + 2, nlen, body;

		if (!nl)
			break;
		nlen = (size_t)(nl - d) - name;
		body = (size_t)(nl - d) + 1;
		next = NULL;
		for (size_t j = body; j + 2 < n && !next; j++)
			if (d[j] == '\n' && d[j + 1] == '=' && d[j + 2] == '=')
				next = d + j;
		add(a, (const char *)d + name, nlen, d + body, (next ? (size_t)(next - d) : n) - body);
		i = next ? (size_t)(next - d) + 1 : n;
	}
	archive_write_close(a);
	archive_write_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cdr_ooxml_opts o;
	struct cdr_ooxml_result r, r2;
	struct strbuf zip = STRBUF_INIT;
	const void *in = data;
	size_t inlen = size, outlen = 0, outlen2 = 0;
	void *out = NULL, *out2 = NULL;
	char why[128];
	int rc;

	cdr_ooxml_opts_default(&o);
	o.lim.max_entries = 256;
	o.lim.max_entry_bytes = 1u << 20;
	o.lim.max_total_bytes = 4u << 20;
	o.lim.max_xml_depth = 64;
	o.lim.max_removed = 64;
	o.keep_ext_hyperlinks = size & 1;
	if (!(size >= 2 && data[0] == 'P' && data[1] == 'K')) {
		zip_text(data, size, &zip);
		in = zip.buf;
		inlen = zip.len;
	}
	rc = cdr_ooxml_rebuild(in ? in : "", inlen, &o, &out, &outlen, &r, why, sizeof(why));
	if (rc) {
		if (rc > 0 || out || outlen || !why[0] || r.nremoved)
			abort();
	} else {
		rc = cdr_ooxml_rebuild(out, outlen, &o, &out2, &outlen2, &r2, why, sizeof(why));
		if (rc || r2.nremoved || outlen2 != outlen || memcmp(out, out2, outlen) != 0)
			abort();
		free(out2);
		cdr_ooxml_result_free(&r2);
	}
	free(out);
	cdr_ooxml_result_free(&r);
	strbuf_free(&zip);
	return 0;
}
