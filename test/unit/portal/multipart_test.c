/* ptl_multipart: bodies as browsers send them and hostile ones, each fed
 * whole, split in two at every offset and one byte at a time: the same
 * parts (names, file names, types, data) or the same refusal every time
 * (table-driven); the boundary from Content-Type; a large body streamed
 * in chunks with a partial delimiter in the data; callbacks stopping the
 * parse; sticky errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "sanitizer/portal/ptl_multipart.h"
#include "test/check.h"

/* the events of one parse as text: {name|filename|type}data} per part */
struct rec {
	struct strbuf sb;
	int fail_begin; /* return this from begin for the part named "stop" */
	unsigned long long bytes;
};

static int on_begin(void *arg, const struct ptl_mp_part *p)
{
	struct rec *r = arg;
	if (r->fail_begin && !strcmp(p->name, "stop"))
		return r->fail_begin;
	strbuf_printf(&r->sb, "{%s|%s|%s}", p->name, p->filename ? p->filename : "-", p->type ? p->type : "-");
	if (p->filename && strlen(p->filename) != p->filename_len)
		strbuf_puts(&r->sb, "(bad filename_len)");
	return 0;
}

static int on_data(void *arg, const void *buf, size_t len)
{
	struct rec *r = arg;
	if (len == 0)
		strbuf_puts(&r->sb, "(empty data call)");
	strbuf_append(&r->sb, buf, len);
	r->bytes += len;
	return 0;
}

static int on_end(void *arg)
{
	strbuf_putc(&((struct rec *)arg)->sb, '}');
	return 0;
}

static const struct ptl_mp_ops OPS = {on_begin, on_data, on_end};

#define B "----WebKitFormBoundaryx7Yq"
#define CD "Content-Disposition: form-data; "

#define BODY0                                                                                                           \
	"--" B "\r\n" CD "name=\"csrf\"\r\n\r\nTOKEN\r\n"                                                               \
	"--" B "\r\n" CD "name=\"rcpt\"\r\n\r\nsato@city.example.lg.jp\r\n"                                             \
	"--" B "\r\n" CD "name=\"note\"\r\n\r\nline1\r\nline2\r\n"                                                      \
	"--" B "\r\n" CD "name=\"file\"; filename=\"見積書.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n" \
	"\r\n-\r\n--\r\n------WebKitFormBoundaryx7Yx\0y\r\r\n"                                                          \
	"\r\n--" B "\r\n" CD "name=\"file\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n"           \
	"\r\n--" B "--\r\n"
#define OUT0                                                                                                  \
	"{csrf|-|-}TOKEN}{rcpt|-|-}sato@city.example.lg.jp}{note|-|-}line1\r\nline2}"                         \
	"{file|見積書.xlsx|application/octet-stream}\r\n-\r\n--\r\n------WebKitFormBoundaryx7Yx\0y\r\r\n}" \
	"{file||application/octet-stream}}"

#define NULHDR "--" B "\r\n" CD "name=\"a\0b\"\r\n\r\nx\r\n--" B "--"

static const struct {
	const char *body;
	size_t len; /* of body and out when they hold a NUL, else 0 */
	size_t outlen;
	int r;           /* of feed + finish */
	const char *why; /* reason key, "" for none */
	const char *out; /* the events (up to the failure) */
} cases[] = {
	/* a browser's form: csrf, rcpt, note, two files (one empty), data
	 * with CRs, dashes, a delimiter but for its last byte, a NUL */
	{BODY0, sizeof(BODY0) - 1, sizeof(OUT0) - 1, 0, "", OUT0},
	/* preamble, padding after a delimiter, epilogue, token values,
	 * Windows path with backslashes, case of names, filename* ignored */
	{"preamble\r\n--" B " \t\r\ncontent-disposition: Form-Data;NAME=a; filename*=UTF-8''x\r\n\r\n1\r\n--" B
	 "\r\n" CD "name=\"f\"; filename=\"C:\\dir\\a.txt\"\r\nX-Other: y\r\n\r\n2\r\n--" B "--epilogue\r\n--" B "\r\n",
	 0, 0, 0, "", "{a|-|-}1}{f|C:\\dir\\a.txt|-}2}"},
	{"--" B "--\r\n", 0, 0, 0, "", ""},
	/* refusals */
	{"", 0, 0, -EBADMSG, "mp-truncated", ""},
	{"--" B "\r\n" CD "name=\"a\"\r\n\r\nno end", 0, 0, -EBADMSG, "mp-truncated", "{a|-|-}no end"},
	{"--" B "\r\n" CD "name=\"a\"\r\n\r\nx\r\n--" B, 0, 0, -EBADMSG, "mp-truncated", "{a|-|-}x}"},
	{"--" B "\r\n\r\nnameless\r\n--" B "--", 0, 0, -EBADMSG, "mp-no-name", ""},
	{"--" B "\r\n" CD "filename=\"a\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-no-name", ""},
	{"--" B "\r\n" CD "name=\"\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-no-name", ""},
	{"--" B "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-no-name", ""},
	{"--" B "\r\n" CD "name=\"f\"\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\n--zz--\r\n--" B
	 "--",
	 0, 0, -EBADMSG, "mp-nested", ""},
	{"--" B "\r\n" CD "name=\"f\"; filename=\"a\r\nb.txt\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\n" CD "name=\"f\"; filename=\"a\nb.txt\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\n" CD "name=\"f\"; filename=\"a\rb.txt\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\n" CD "name=\"f\"; filename=\"a\" x\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\n" CD "name=\"f\"; name=\"g\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\n" CD "name=\"f\"; filename=\"a\"; filename=\"b\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG,
	 "mp-syntax", ""},
	{"--" B "\r\n" CD "name=\"f\"\r\n" CD "name=\"g\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\n" CD "name=\"f\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax",
	 ""},
	{"--" B "\r\nContent-Disposition: form-datax; name=\"f\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax",
	 ""},
	{"--" B "\r\n" CD "\r\n name=\"f\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\nBad Header: x\r\n" CD "name=\"f\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\r\nnocolon\r\n" CD "name=\"f\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{NULHDR, sizeof(NULHDR) - 1, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "x\r\n" CD "name=\"f\"\r\n\r\nx\r\n--" B "--", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "-x", 0, 0, -EBADMSG, "mp-syntax", ""},
	{"--" B "\rx", 0, 0, -EBADMSG, "mp-syntax", ""},
};

/* Parse body fed in pieces of size step (0: whole), or split at split. */
static int parse(const char *body, size_t len, size_t step, size_t split, struct rec *r, const char **why)
{
	struct ptl_mp *mp;
	REQUIRE(ptl_mp_new(B, NULL, &OPS, r, &mp) == 0);
	int e = 0;
	if (step) {
		for (size_t o = 0; o < len && e == 0; o += step)
			e = ptl_mp_feed(mp, body + o, len - o < step ? len - o : step);
	} else {
		e = ptl_mp_feed(mp, body, split);
		if (e == 0)
			e = ptl_mp_feed(mp, body + split, len - split);
	}
	if (e == 0)
		e = ptl_mp_finish(mp);
	*why = ptl_mp_why(mp);
	/* sticky */
	if (e < 0 && ptl_mp_feed(mp, "x", 1) != e)
		e = -9999;
	ptl_mp_free(mp);
	return e;
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);
		size_t outlen = cases[i].len ? cases[i].outlen : strlen(cases[i].out);
		for (size_t split = 0; split <= len + 1; split++) {
			struct rec r = {STRBUF_INIT, 0, 0};
			const char *why;
			/* split == len + 1: one byte at a time */
			int e = split <= len ? parse(cases[i].body, len, 0, split, &r, &why)
					     : parse(cases[i].body, len, 1, 0, &r, &why);
			CHECK(e == cases[i].r, "case %zu split %zu: %d", i, split, e);
			CHECK(!strcmp(why, cases[i].why), "case %zu split %zu: %s", i, split, why);
			CHECK(r.sb.len == outlen && !memcmp(strbuf_str(&r.sb), cases[i].out, outlen),
			      "case %zu split %zu: events '%s'", i, split, strbuf_str(&r.sb));
			strbuf_free(&r.sb);
		}
	}
}

/* caps: header block bytes and lines, part count, preamble */
static void test_caps(void)
{
	struct ptl_mp_caps caps = {.max_header = 100, .max_parts = 2, .max_lines = 2};
	struct rec r = {STRBUF_INIT, 0, 0};
	struct ptl_mp *mp;
	struct strbuf b = STRBUF_INIT;
	/* exactly at the header cap passes: "--B\r\n" then 100 bytes */
	strbuf_puts(&b, "--" B "\r\n" CD "name=\"f\"\r\nX: ");
	while (b.len < strlen("--" B "\r\n") + 96)
		strbuf_putc(&b, 'y');
	strbuf_puts(&b, "\r\n\r\nd\r\n--" B "--");
	REQUIRE(ptl_mp_new(B, &caps, &OPS, &r, &mp) == 0);
	CHECK(ptl_mp_feed(mp, b.buf, b.len) == 0 && ptl_mp_finish(mp) == 0, "%s", ptl_mp_why(mp));
	ptl_mp_free(mp);
	/* one more byte does not */
	strbuf_reset(&b);
	strbuf_puts(&b, "--" B "\r\n" CD "name=\"f\"\r\nX: ");
	while (b.len < strlen("--" B "\r\n") + 97)
		strbuf_putc(&b, 'y');
	strbuf_puts(&b, "\r\n\r\nd\r\n--" B "--");
	REQUIRE(ptl_mp_new(B, &caps, &OPS, &r, &mp) == 0);
	CHECK(ptl_mp_feed(mp, b.buf, b.len) == -E2BIG && !strcmp(ptl_mp_why(mp), "mp-header-too-long"));
	ptl_mp_free(mp);
	/* a header block that never ends (bare LFs) hits the same cap */
	REQUIRE(ptl_mp_new(B, &caps, &OPS, &r, &mp) == 0);
	CHECK(ptl_mp_feed(mp, "--" B "\r\n", strlen("--" B "\r\n")) == 0);
	int e = 0;
	for (int i = 0; i < 1000 && e == 0; i++)
		e = ptl_mp_feed(mp, "a: b\n\n", 6);
	CHECK(e == -E2BIG);
	ptl_mp_free(mp);
	/* three header lines */
	const char *three = "--" B "\r\n" CD "name=\"f\"\r\nA: 1\r\nB: 2\r\n\r\nd\r\n--" B "--";
	REQUIRE(ptl_mp_new(B, &caps, &OPS, &r, &mp) == 0);
	CHECK(ptl_mp_feed(mp, three, strlen(three)) == -E2BIG && !strcmp(ptl_mp_why(mp), "mp-header-too-long"));
	ptl_mp_free(mp);
	/* three parts */
	strbuf_reset(&b);
	for (int i = 0; i < 3; i++)
		strbuf_puts(&b, "--" B "\r\n" CD "name=\"f\"\r\n\r\nd\r\n");
	strbuf_puts(&b, "--" B "--");
	REQUIRE(ptl_mp_new(B, &caps, &OPS, &r, &mp) == 0);
	CHECK(ptl_mp_feed(mp, b.buf, b.len) == -E2BIG && !strcmp(ptl_mp_why(mp), "mp-too-many-parts"));
	CHECK(ptl_mp_parts(mp) == 2);
	ptl_mp_free(mp);
	/* a long preamble */
	strbuf_reset(&b);
	for (int i = 0; i < 200; i++)
		strbuf_putc(&b, i % 10 == 0 ? '\r' : 'p');
	strbuf_puts(&b, "\r\n--" B "--");
	REQUIRE(ptl_mp_new(B, &caps, &OPS, &r, &mp) == 0);
	CHECK(ptl_mp_feed(mp, b.buf, b.len) == -EBADMSG);
	ptl_mp_free(mp);
	strbuf_free(&b);
	strbuf_free(&r.sb);
}

/* a callback's error stops the parse and comes back as is */
static void test_callback(void)
{
	struct rec r = {STRBUF_INIT, -EACCES, 0};
	struct ptl_mp *mp;
	const char *body =
		"--" B "\r\n" CD "name=\"a\"\r\n\r\n1\r\n--" B "\r\n" CD "name=\"stop\"\r\n\r\n2\r\n--" B "--";
	REQUIRE(ptl_mp_new(B, NULL, &OPS, &r, &mp) == 0);
	CHECK(ptl_mp_feed(mp, body, strlen(body)) == -EACCES && !strcmp(ptl_mp_why(mp), "mp-callback"));
	CHECK(ptl_mp_finish(mp) == -EACCES);
	CHECK_STR(strbuf_str(&r.sb), "{a|-|-}1}");
	ptl_mp_free(mp);
	strbuf_free(&r.sb);
}

/* 8 MiB of data full of near-delimiters, fed in odd chunks: every byte
 * comes through, memory stays the parser's */
static void test_large(void)
{
	size_t n = (size_t)8 << 20;
	char *data = malloc(n);
	REQUIRE(data);
	const char *near = "\r\n--" B;
	size_t nl = strlen(near);
	for (size_t i = 0; i < n; i++)
		data[i] = (i % 997 < nl - 1) ? near[i % 997] : (char)(i * 31);
	for (size_t i = 0; i + 4 < n; i++)
		if (data[i] == '\r' && !memcmp(data + i, near, nl))
			data[i + 1] = 'x'; /* a (pseudo-random) whole delimiter */
	struct rec r = {STRBUF_INIT, 0, 0};
	struct ptl_mp *mp;
	REQUIRE(ptl_mp_new(B, NULL, &OPS, &r, &mp) == 0);
	const char *head = "--" B "\r\n" CD "name=\"file\"; filename=\"big.bin\"\r\n\r\n";
	const char *tail = "\r\n--" B "--\r\n";
	int e = ptl_mp_feed(mp, head, strlen(head));
	for (size_t o = 0, step = 1; o < n && e == 0; o += step, step = step * 3 % 65521 + 1)
		e = ptl_mp_feed(mp, data + o, n - o < step ? n - o : step);
	if (e == 0)
		e = ptl_mp_feed(mp, tail, strlen(tail));
	if (e == 0)
		e = ptl_mp_finish(mp);
	CHECK(e == 0, "%d %s", e, ptl_mp_why(mp));
	size_t hl = strlen("{file|big.bin|-}");
	CHECK(r.sb.len == hl + n + 1 && !memcmp(r.sb.buf + hl, data, n), "%zu bytes", r.sb.len);
	ptl_mp_free(mp);
	strbuf_free(&r.sb);
	free(data);
}

static void test_boundary(void)
{
	char b[PTL_MP_BOUNDARY_MAX + 1];
	CHECK(ptl_mp_boundary("multipart/form-data; boundary=----WebKitFormBoundaryx7Yq", b) == 0 &&
	      !strcmp(b, "----WebKitFormBoundaryx7Yq"));
	CHECK(ptl_mp_boundary("Multipart/Form-Data;boundary=\"a b:c\"", b) == 0 && !strcmp(b, "a b:c"));
	CHECK(ptl_mp_boundary("multipart/form-data; charset=utf-8; boundary=x", b) == 0 && !strcmp(b, "x"));
	static const char *const bad[] = {
		NULL,
		"",
		"multipart/form-data",
		"multipart/form-data; boundary=",
		"multipart/form-data; boundary=\"\"",
		"multipart/form-data; boundary=\"ends \"",
		"multipart/form-data; boundary=a; boundary=b",
		"multipart/form-data; boundary=\"a\rb\"",
		"multipart/mixed; boundary=x",
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=0123456789012345678901234567890123456789012345678901234567890123456789x",
		"multipart/form-data; boundary=\"unterminated",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(ptl_mp_boundary(bad[i], b) == -EBADMSG && b[0] == 0, "bad %zu", i);
	struct ptl_mp *mp;
	CHECK(ptl_mp_new("", NULL, &OPS, NULL, &mp) == -EINVAL);
	CHECK(ptl_mp_new("a\r", NULL, &OPS, NULL, &mp) == -EINVAL);
	CHECK(ptl_mp_new("ok", NULL, &(struct ptl_mp_ops){0}, NULL, &mp) == -EINVAL);
}

int main(void)
{
	test_table();
	test_caps();
	test_callback();
	test_large();
	test_boundary();
	return check_done();
}
