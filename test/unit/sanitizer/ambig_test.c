/* san_ambig: each kind of ambiguous structure is reported, clean mail
 * (LF or CRLF, folded headers, nested messages, an mbox From line) is
 * not, and the result does not depend on how the bytes are chunked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/san_ambig.h"
#include "test/check.h"
#include "test/check.h"

static unsigned scan(const char *m, size_t chunk)
{
	struct san_ambig *a;
	if (san_ambig_new(4096, &a) < 0)
		return ~0u;
	size_t n = strlen(m);
	for (size_t i = 0; i < n; i += chunk)
		san_ambig_feed(a, m + i, n - i < chunk ? n - i : chunk);
	unsigned f = san_ambig_end(a);
	san_ambig_free(a);
	return f;
}

#define HDR "From: a@example.jp\nTo: b@example.lg.jp\nSubject: test\nMIME-Version: 1.0\n"
#define MIXED(b) "Content-Type: multipart/mixed; boundary=\"" b "\"\n\n"

int main(void)
{
	static const struct {
		const char *name, *msg;
		unsigned want;
	} T[] = {
		{"plain", HDR "Content-Type: text/plain\n\nhello\n-- \nsig\n", 0},
		{"crlf", "From: a@example.jp\r\nSubject: x\r\n\r\nhello\r\n", 0},
		{"folded",
		 HDR "Content-Type: multipart/mixed;\n boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nx\n--B--\n",
		 0},
		{"mbox", "From someone@example.jp Mon Jan  1 00:00:00 2026\n" HDR "\nbody\n", 0},
		{"nested",
		 HDR MIXED(
			 "B") "--B\nContent-Type: message/rfc822\n\nFrom: c@example.jp\nSubject: in\n\ninner\n--B--\n",
		 0},
		{"report",
		 HDR MIXED("B") "--B\nContent-Type: message/delivery-status\n\nThis is prose\n\nStatus: 5.0.0\n--B--\n",
		 0},
		{"prefix boundaries",
		 HDR MIXED(
			 "abc") "--abc\nContent-Type: multipart/alternative; boundary=\"abcd\"\n\n--abcd\n\nx\n--abcd--\n--abc--\n",
		 0},
		{"bare cr", HDR "Subject: a\rContent-Type: text/html\n\nx\n", SAN_AMBIG_BARE_CR},
		{"bare cr body", HDR "\nline one\rline two\n", SAN_AMBIG_BARE_CR},
		{"mixed eol", "From: a@example.jp\r\nSubject: x\n\nhello\r\n", SAN_AMBIG_MIXED_EOL},
		{"nul", HDR "\nab\0", 0}, /* strlen stops at the NUL: see below */
		{"dup boundary",
		 HDR "Content-Type: multipart/mixed; boundary=\"A\"; boundary=\"B\"\n\n--A\n\nx\n--B\n\ny\n",
		 SAN_AMBIG_DUP_BOUNDARY},
		{"dup boundary folded",
		 HDR "Content-Type: multipart/mixed; boundary=A;\n BOUNDARY = \"B\"\n\n--A\n\nx\n",
		 SAN_AMBIG_DUP_BOUNDARY},
		{"dup content-type", HDR "Content-Type: text/plain\nContent-Type: application/zip\n\nx\n",
		 SAN_AMBIG_DUP_CTYPE},
		{"dup cte",
		 HDR MIXED("B") "--B\nContent-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: base64\n\nx\n--B--\n",
		 SAN_AMBIG_DUP_CTYPE},
		{"mid-line delimiter",
		 HDR MIXED("B") "--B\n\ntext --B\nContent-Type: application/zip\n\nUEsDBA==\n--B--\n",
		 SAN_AMBIG_MIDLINE},
		{"delimiter in header",
		 HDR MIXED("B") "--B\nContent-Type: text/plain\n--B\nContent-Type: application/zip\n\nx\n--B--\n",
		 SAN_AMBIG_DELIM_IN_HDR},
		{"space before colon", HDR "Content-Type : application/zip\n\nx\n", SAN_AMBIG_HEADER_NAME},
		{"no colon", HDR "this is not a header\n\nx\n", SAN_AMBIG_HEADER_NAME},
		{"8-bit name", HDR "X-\xe3\x81\x82: v\n\nx\n", SAN_AMBIG_HEADER_NAME},
		{"part header syntax", HDR MIXED("B") "--B\nContent-Type : application/zip\n\nx\n--B--\n",
		 SAN_AMBIG_HEADER_NAME},
		{"obs-fold blank", HDR "Subject: a\n \n b\n\nx\n", SAN_AMBIG_OBS_FOLD},
		{"leading continuation", " Subject: a\nFrom: b@example.jp\n\nx\n", SAN_AMBIG_OBS_FOLD},
	};
	for (size_t i = 0; i < sizeof(T) / sizeof(T[0]); i++)
		for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
			unsigned f = scan(T[i].msg, chunk);
			CHECK(f == T[i].want, "%s (chunk %zu): got %#x want %#x", T[i].name, chunk, f, T[i].want);
		}
	/* a NUL byte (strlen-free feed) */
	{
		static const char m[] = "From: a@example.jp\n\nab\0cd\n";
		struct san_ambig *a;
		CHECK(san_ambig_new(4096, &a) == 0, "new");
		san_ambig_feed(a, m, sizeof(m) - 1);
		CHECK(san_ambig_end(a) == SAN_AMBIG_NUL, "nul");
		san_ambig_free(a);
	}
	/* too many boundaries: reported, not tracked */
	{
		char *m = malloc(1 << 16), *p = m;
		p += sprintf(p, "%s", HDR MIXED("b0"));
		for (int k = 1; k <= SAN_AMBIG_MAX_BOUNDARIES + 1; k++)
			p += sprintf(p, "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n", k - 1, k);
		CHECK(scan(m, 4096) & SAN_AMBIG_DUP_BOUNDARY, "boundary cap");
		free(m);
	}
	/* a line longer than max_line is examined in its first bytes */
	{
		char *m = malloc(20000);
		strcpy(m, HDR "\n");
		memset(m + strlen(m), 'a', 10000);
		strcpy(m + strlen(HDR "\n") + 10000, "\rb\n");
		CHECK(scan(m, 1000) == 0, "CR past max_line not seen");
		free(m);
	}
	for (unsigned bit = 1; bit & SAN_AMBIG_ALL; bit <<= 1)
		CHECK(strcmp(san_ambig_reason(bit), "ambiguous") != 0, "reason of %#x", bit);
	return check_done();
}
