/* fuzz_ptl_multipart: libFuzzer target for the upload portal's streaming
 * multipart/form-data parser (ptl_multipart), which reads request bodies
 * from the Internet side.
 *
 * The first byte picks a chunk size; the rest is the body (boundary
 * "xB").  The body is parsed twice, whole and in chunks: the results, the
 * reason keys and the events (part headers and data, concatenated) must be
 * the same, whatever the chunking; every part has a non-empty name, a
 * filename_len that is its length, and no more than max_parts parts begin.
 * Seeds: test/fuzz/corpus/ptl_multipart/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "sanitizer/portal/ptl_multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 8

static int on_begin(void *arg, const struct ptl_mp_part *p)
{
	struct strbuf *sb = arg;
	if (!p->name || !p->name[0] || (p->filename && strlen(p->filename) != p->filename_len))
		abort();
	strbuf_printf(sb, "{%s|%s|%s}", p->name, p->filename ? p->filename : "-", p->type ? p->type : "-");
	return 0;
}

static int on_data(void *arg, const void *buf, size_t len)
{
	if (len == 0)
		abort();
	strbuf_append(arg, buf, len);
	return 0;
}

static int on_end(void *arg)
{
	strbuf_putc(arg, '}');
	return 0;
}

static int run(const uint8_t *b, size_t n, size_t step, struct strbuf *sb, const char **why)
{
	static const struct ptl_mp_ops ops = {on_begin, on_data, on_end};
	struct ptl_mp_caps caps = {.max_header = 512, .max_parts = MAX_PARTS, .max_lines = 8};
	struct ptl_mp *mp;
	if (ptl_mp_new("xB", &caps, &ops, sb, &mp) < 0)
		abort();
	int e = 0;
	for (size_t o = 0; o < n && e == 0; o += step)
		e = ptl_mp_feed(mp, b + o, n - o < step ? n - o : step);
	if (e == 0)
		e = ptl_mp_finish(mp);
	if (ptl_mp_parts(mp) > MAX_PARTS)
		abort();
	*why = ptl_mp_why(mp);
	ptl_mp_free(mp);
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t step = (size_t)data[0] % 17 + 1;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	const char *wa, *wb;
	int ea = run(data + 1, size - 1, size, &a, &wa);
	int eb = run(data + 1, size - 1, step, &b, &wb);
	if (ea != eb || strcmp(wa, wb) || a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len)))
		abort();
	strbuf_free(&a);
	strbuf_free(&b);
	return 0;
}
