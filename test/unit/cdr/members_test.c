/* cdr_members: streams the writer makes are read back exactly; every
 * malformed or over-cap stream is refused with -EBADMSG and its reason key
 * (table-driven, streams built byte by byte); the safe-name rule and the
 * Windows name set, case by case. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_members.h"
#include "test/check.h"

static const struct cdr_members_caps caps = {
	.max_entries = 4,
	.max_member_bytes = 10,
	.max_total_bytes = 16,
	.max_ratio = 1,
	.max_name_bytes = 24,
	.max_segments = 3,
};

/* a stream built by hand */
struct stream {
	uint8_t buf[512];
	size_t len;
};

static void raw(struct stream *s, const void *p, size_t n)
{
	REQUIRE(s->len + n <= sizeof s->buf);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void head(struct stream *s, const char *magic, uint8_t ver, uint8_t flags, uint8_t z)
{
	uint8_t h[8] = {0, 0, 0, 0, ver, flags, z, 0};
	memcpy(h, magic, 4);
	raw(s, h, sizeof h);
}

static void rec(struct stream *s, char type, uint8_t z, const char *name, uint64_t value, const char *payload,
		size_t plen)
{
	uint8_t h[12] = {(uint8_t)type, z};
	size_t nl = strlen(name);
	h[2] = (uint8_t)(nl >> 8);
	h[3] = (uint8_t)nl;
	for (int i = 0; i < 8; i++)
		h[4 + i] = (uint8_t)(value >> (56 - 8 * i));
	raw(s, h, sizeof h);
	raw(s, name, nl);
	raw(s, payload, plen);
}

static void member(struct stream *s, const char *name, const char *data)
{
	rec(s, 'M', 0, name, strlen(data), data, strlen(data));
}

static void good_head(struct stream *s)
{
	head(s, "SKAR", 1, 0, 0);
}

/* one record of a hand-built stream: type, reserved byte, name, value and
 * payload (value -1: the payload's length); when type is 0, rawlen bytes
 * of payload as they are (a payload NULL too ends the list) */
struct hrec {
	char type;
	uint8_t z;
	const char *name;
	int64_t value;
	const char *payload;
	size_t rawlen;
};

#define END(n)                       \
	{                            \
		'E', 0, "", n, "", 0 \
	}
#define MEM(name, data)                   \
	{                                 \
		'M', 0, name, -1, data, 0 \
	}
#define SKIP(name, why)                  \
	{                                \
		'S', 0, name, -1, why, 0 \
	}

struct bad_case {
	const char *what, *why;
	const char *magic; /* NULL: no stream header */
	uint8_t version, flags, hz;
	struct hrec rec[6]; /* up to the first with type 0 and no payload */
};

static const struct bad_case bad_cases[] = {
	{"empty", "short-header", NULL, 0, 0, 0, {{0}}},
	{"7 bytes", "short-header", NULL, 0, 0, 0, {{0, 0, "", 0, "SKAR\1\0\0", 7}}},
	{"magic", "bad-magic", "SKPX", 1, 0, 0, {{0}}},
	{"version", "bad-version", "SKAR", 2, 0, 0, {{0}}},
	{"unknown flag", "bad-flags", "SKAR", 1, 2, 0, {{0}}},
	{"reserved header byte", "bad-flags", "SKAR", 1, 0, 1, {{0}}},
	{"no end record", "no-end", "SKAR", 1, 0, 0, {MEM("a.txt", "x")}},
	{"reserved record byte", "bad-record", "SKAR", 1, 0, 0, {{'M', 1, "a.txt", -1, "x", 0}, END(1)}},
	{"unknown type", "bad-record", "SKAR", 1, 0, 0, {{'X', 0, "a.txt", -1, "x", 0}, END(1)}},
	{"member without a name", "bad-record", "SKAR", 1, 0, 0, {MEM("", "x"), END(1)}},
	{"end with a name", "bad-record", "SKAR", 1, 0, 0, {{'E', 0, "x", 0, "", 0}}},
	{"end count", "bad-count", "SKAR", 1, 0, 0, {MEM("a.txt", "x"), END(2)}},
	{"bytes after the end", "trailing-data", "SKAR", 1, 0, 0, {END(0), {0, 0, "", 0, "x", 1}}},
	{"cut record header", "truncated", "SKAR", 1, 0, 0, {{0, 0, "", 0, "M\0\0", 3}}},
	{"cut name", "truncated", "SKAR", 1, 0, 0, {{0, 0, "", 0, "M\0\0\5\0\0\0\0\0\0\0\1a.t", 15}}},
	{"cut content", "truncated", "SKAR", 1, 0, 0, {{'M', 0, "a.txt", 5, "xy", 0}}},
	{"size 2^64-1", "entry-size-limit", "SKAR", 1, 0, 0, {{'M', 0, "a.txt", INT64_C(-2), "", 0}}},
	{"member over the cap", "entry-size-limit", "SKAR", 1, 0, 0, {MEM("a.txt", "0123456789A"), END(1)}},
	{"total over the cap",
	 "total-size-limit",
	 "SKAR",
	 1,
	 0,
	 0,
	 {MEM("a.txt", "0123456789"), MEM("b.txt", "0123456"), END(2)}},
	{"five records, cap four",
	 "member-limit",
	 "SKAR",
	 1,
	 0,
	 0,
	 {SKIP("m0", "link"), SKIP("m1", "link"), SKIP("m2", "link"), SKIP("m3", "link"), SKIP("m4", "link"), END(5)}},
	{"duplicate ignoring case",
	 "duplicate-name",
	 "SKAR",
	 1,
	 0,
	 0,
	 {MEM("dir/A.txt", "x"), MEM("DIR/a.TXT", "y"), END(2)}},
	{"file, then a folder of that name",
	 "duplicate-name",
	 "SKAR",
	 1,
	 0,
	 0,
	 {MEM("a", "x"), MEM("A/b.txt", "y"), END(2)}},
	{"folder, then a file of that name",
	 "duplicate-name",
	 "SKAR",
	 1,
	 0,
	 0,
	 {MEM("a/b.txt", "x"), MEM("a", "y"), END(2)}},
	{"traversal name", "bad-name", "SKAR", 1, 0, 0, {MEM("../x", "x"), END(1)}},
	{"absolute skipped name", "bad-name", "SKAR", 1, 0, 0, {SKIP("/etc/x", "link"), END(1)}},
	{"upper-case reason", "bad-reason", "SKAR", 1, 0, 0, {SKIP("a.txt", "Link"), END(1)}},
	{"reason with a space", "bad-reason", "SKAR", 1, 0, 0, {{'R', 0, "", -1, "a b", 0}}},
	{"empty refusal", "bad-reason", "SKAR", 1, 0, 0, {{'R', 0, "", -1, "", 0}}},
	{"single with two members",
	 "bad-count",
	 "SKAR",
	 1,
	 CDR_MEMBERS_FLAG_SINGLE,
	 0,
	 {MEM("a", "x"), MEM("b", "y"), END(2)}},
	{"a record after the refusal", "trailing-data", "SKAR", 1, 0, 0, {{'R', 0, "", -1, "encrypted", 0}, END(0)}},
};

static void build_case(const struct bad_case *c, struct stream *s)
{
	if (c->magic)
		head(s, c->magic, c->version, c->flags, c->hz);
	for (size_t i = 0; i < sizeof c->rec / sizeof c->rec[0]; i++) {
		const struct hrec *h = &c->rec[i];
		if (!h->type && !h->payload)
			break;
		size_t pl = h->payload ? strlen(h->payload) : 0;
		if (!h->type)
			raw(s, h->payload, h->rawlen);
		else
			rec(s, h->type, h->z, h->name, h->value == -1 ? pl : (uint64_t)h->value, h->payload, pl);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		struct stream s = {0};
		struct cdr_members_stream out;
		char why[64] = "";
		build_case(&bad_cases[i], &s);
		int r = cdr_members_parse(s.buf, s.len, &caps, &out, why, sizeof why);
		CHECK(r == -EBADMSG, "%s: %d", bad_cases[i].what, r);
		CHECK(!strcmp(why, bad_cases[i].why), "%s: got %s, want %s", bad_cases[i].what, why, bad_cases[i].why);
		CHECK(out.rec == NULL && out.nrec == 0, "%s: output left", bad_cases[i].what);
	}
}

/* the writer's stream, read back */
static void test_round_trip(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	REQUIRE(f);
	CHECK(cdr_members_write_header(f, 0) == 0);
	CHECK(cdr_members_write_member(f, "報告書/令和7年度.txt", "0123456789", 10) == 0);
	CHECK(cdr_members_write_skipped(f, "__/etc/x", "unsafe-name") == 0);
	CHECK(cdr_members_write_member(f, "empty.txt", "", 0) == 0);
	CHECK(cdr_members_write_skipped(f, "__/etc/x", "duplicate-name") == 0); /* a skipped name may repeat */
	CHECK(cdr_members_write_end(f, 4) == 0);
	/* the writer refuses what the reader would */
	CHECK(cdr_members_write_skipped(f, "a", "Bad Reason") == -EINVAL);
	CHECK(cdr_members_write_refused(f, "") == -EINVAL);
	CHECK(cdr_members_write_header(f, 0x80) == -EINVAL);
	REQUIRE(fclose(f) == 0);

	struct cdr_members_caps c;
	cdr_members_caps_default(&c);
	struct cdr_members_stream s;
	char why[64] = "";
	int r = cdr_members_parse((const uint8_t *)buf, len, &c, &s, why, sizeof why);
	REQUIRE(r == 0);
	CHECK_EQ_U(s.nrec, 4);
	CHECK_EQ_U(s.nmembers, 2);
	CHECK_EQ_U(s.member_bytes, 10);
	CHECK(s.flags == 0 && s.refused[0] == 0);
	CHECK(s.rec[0].type == CDR_MEMBERS_MEMBER && s.rec[0].len == 10 && !memcmp(s.rec[0].data, "0123456789", 10));
	CHECK(s.rec[0].name_len == strlen("報告書/令和7年度.txt") &&
	      !memcmp(s.rec[0].name, "報告書/令和7年度.txt", s.rec[0].name_len));
	CHECK(s.rec[1].type == CDR_MEMBERS_SKIPPED && s.rec[1].len == 11 && !memcmp(s.rec[1].data, "unsafe-name", 11));
	CHECK(s.rec[2].type == CDR_MEMBERS_MEMBER && s.rec[2].len == 0);
	free(s.rec);
	free(buf);

	/* a refusal */
	buf = NULL;
	f = open_memstream(&buf, &len);
	REQUIRE(f);
	CHECK(cdr_members_write_header(f, CDR_MEMBERS_FLAG_SINGLE) == 0);
	CHECK(cdr_members_write_member(f, "data", "x", 1) == 0);
	CHECK(cdr_members_write_refused(f, "encrypted") == 0);
	REQUIRE(fclose(f) == 0);
	r = cdr_members_parse((const uint8_t *)buf, len, &c, &s, why, sizeof why);
	CHECK(r == 0 && !strcmp(s.refused, "encrypted") && s.flags == CDR_MEMBERS_FLAG_SINGLE);
	free(s.rec);
	free(buf);

	/* caps exactly at the limit are accepted */
	struct stream st = {0};
	good_head(&st);
	member(&st, "a.txt", "0123456789");
	member(&st, "b/c/d.txt", "012345");
	rec(&st, 'S', 0, "b/c/e.txt", 4, "link", 4);
	rec(&st, 'S', 0, "f.txt", 4, "link", 4);
	rec(&st, 'E', 0, "", 4, "", 0);
	r = cdr_members_parse(st.buf, st.len, &caps, &s, why, sizeof why);
	CHECK(r == 0, "at the caps: %s", why);
	if (r == 0)
		free(s.rec);
	struct cdr_members_caps zero = caps;
	zero.max_segments = 0;
	CHECK(cdr_members_parse(st.buf, st.len, &zero, &s, why, sizeof why) == -EINVAL);
}

static void test_names(void)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{"a.txt", true},
		{"報告書.txt", true},
		{"会議/議事録.txt", true},
		{"a/b/c.txt", true},
		{"a/b/c/d.txt", false}, /* 4 segments, cap 3 */
		{"123456789012345678901234", true},
		{"1234567890123456789012345", false}, /* 25 bytes, cap 24 */
		{"", false},
		{"/etc/passwd", false},
		{"../x", false},
		{"a/../x", false},
		{"./x", false},
		{"a//b", false},
		{"a/", false},
		{"a\\b", false},
		{"C:/x", false},
		{"a.txt:stream", false},
		{"a<b", false},
		{"a?", false},
		{"a\tb", false},
		{"a\x7f", false},
		{"a\xc2\x85", false},            /* U+0085, a C1 control */
		{"x\xe2\x80\xaetxt.exe", false}, /* U+202E RIGHT-TO-LEFT OVERRIDE */
		{"\xef\xbb\xbf"
		 "a",
		 false},             /* BOM */
		{"a\xff", false},    /* not UTF-8 */
		{"\xc0\xaf", false}, /* overlong '/' */
		{"a.", false},
		{"a ", false},
		{" a", true},
		{".profile", true},
		{"CON", false},
		{"con.txt", false},
		{"dir/Com1.log", false},
		{"LPT9", false},
		{"COM0", true},
		{"CONSOLE", true},
		{"ĺ", true}, /* U+013A: its low byte is '<' */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(cdr_members_name_ok(cases[i].name, strlen(cases[i].name), &caps) == cases[i].ok, "name %s",
		      cases[i].name);
	CHECK(!cdr_members_name_ok("a\0b", 3, &caps));
	/* one segment of 255 bytes passes, 256 do not (Windows' component limit) */
	struct cdr_members_caps big;
	cdr_members_caps_default(&big);
	char seg[300];
	memset(seg, 'x', sizeof seg);
	CHECK(cdr_members_name_ok(seg, 255, &big));
	CHECK(!cdr_members_name_ok(seg, 256, &big));
	CHECK(cdr_members_reason_ok("unsafe-name", 11));
	CHECK(!cdr_members_reason_ok("x_y", 3));
	CHECK(!cdr_members_reason_ok("123456789012345678901234567890123", 33));
}

static void test_name_set(void)
{
	struct cdr_names *set = cdr_names_new();
	CHECK(cdr_names_add(set, "dir/A.txt", 9) == 0);
	CHECK(cdr_names_add(set, "DIR/a.txt", 9) == -EEXIST);
	CHECK(cdr_names_add(set, "Dir", 3) == -EEXIST); /* a folder already */
	CHECK(cdr_names_add(set, "dir/A.txt/x", 11) == -EEXIST);
	CHECK(cdr_names_add(set, "dir/b.txt", 9) == 0); /* a folder may repeat */
	CHECK(cdr_names_has(set, "DIR", 3));
	CHECK(!cdr_names_has(set, "di", 2));
	/* many names: the table grows and keeps them all */
	char n[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(n, sizeof n, "f/%d.txt", i);
		CHECK(cdr_names_add(set, n, strlen(n)) == 0);
	}
	int found = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(n, sizeof n, "F/%d.TXT", i);
		found += cdr_names_has(set, n, strlen(n));
	}
	CHECK(found == 2000);
	cdr_names_free(set);
	cdr_names_free(NULL);
}

int main(void)
{
	test_bad();
	test_round_trip();
	test_names();
	test_name_set();
	return check_done();
}
