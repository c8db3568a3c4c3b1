/* fuzz_sanitize: the whole sanitizer library on arbitrary bytes.
 *
 * Besides crashes and sanitizer reports, it checks what sanitize.h
 * promises: the call returns 0 (no quarantine is configured, so nothing can
 * make it refuse), the output is a non-empty message whose body is declared
 * text/plain; charset=utf-8 in base64 and which carries the marker header,
 * and no header line of the output has 8-bit bytes.  One input in eight
 * also goes through a spool file (the path large messages take) and must
 * give the same bytes as from memory.  The charset, HTML, URL and uuencode
 * helpers are also driven directly.  A broken promise aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "sanitizer/san_charset.h"
#include "sanitizer/san_detect.h"
#include "sanitizer/san_html.h"
#include "sanitizer/san_url.h"
#include "sanitizer/sanitize.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sanitize_ctx *ctx;

static int uu_cb(void *arg, const struct san_uu_block *b, struct strbuf *repl)
{
	(void)arg;
	REQUIRE(b->name != NULL);
	strbuf_puts(repl, "[uu]");
	return 0;
}

static bool word_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ctx) {
		struct sanitize_config c;
		sanitize_config_defaults(&c);
		c.lim.max_message = 1 << 20;
		c.lim.max_seconds = 5;
		if (sanitize_ctx_new(&c, &ctx) < 0) abort();
	}
	struct strbuf out = STRBUF_INIT;
	struct sanitize_result res;
	int r = sanitize_buffer(ctx, data, size, &out, &res);
	REQUIRE(r == 0);
	REQUIRE(out.len > 0);
	const char *end = strstr(out.buf, "\n\n");
	REQUIRE(end != NULL);
	for (const char *p = out.buf; p < end; p++)
		REQUIRE((unsigned char)*p < 0x80);
	REQUIRE(memmem(out.buf, (size_t)(end - out.buf), "X-Sekisho-Sanitized:", 20) != NULL);
	REQUIRE(memmem(out.buf, (size_t)(end - out.buf), "Content-Type: text/plain; charset=utf-8", 39) != NULL);
	REQUIRE(res.status <= SANITIZE_FAILED);
	sanitize_result_free(&res);
	if (size > 0 && data[0] % 8 == 0) {
		struct san_spool sp;
		san_spool_init(&sp, NULL, 0);
		REQUIRE(san_spool_write(&sp, data, size) == 0 && sp.fd >= 0);
		struct strbuf o2 = STRBUF_INIT;
		REQUIRE(sanitize_spool(ctx, &sp, &o2, &res) == 0);
		/* The marker and Date-free output are deterministic: same bytes. */
		REQUIRE(o2.len == out.len && memcmp(o2.buf, out.buf, out.len) == 0);
		sanitize_result_free(&res);
		strbuf_free(&o2);
		san_spool_reset(&sp);
	}
	strbuf_free(&out);

	/* URL rewriting: defanged output has no live scheme left */
	struct strbuf u8 = STRBUF_INIT;
	san_url_rewrite((const char *)data, size, SAN_LINKS_DEFANG, "[X]", &u8);
	for (size_t i = 0; u8.buf && i + 7 <= u8.len; i++)
		if (i == 0 || !word_byte((unsigned char)u8.buf[i - 1]))
			REQUIRE(strncasecmp(u8.buf + i, "http://", 7) != 0 && (i + 8 > u8.len || strncasecmp(u8.buf + i, "https://", 8) != 0));
	strbuf_free(&u8);

	/* helpers directly: charset label from the first byte */
	static const char *const cs[] = { "iso-2022-jp", "shift_jis", "euc-jp", "utf-8", NULL, "iso-8859-1" };
	struct san_text t;
	if (size > 0 && san_charset_decode((const char *)data + 1, size - 1, cs[data[0] % 6], &t) == 0) {
		REQUIRE(san_utf8_valid(t.utf8, t.len));
		char *h = NULL;
		struct san_html_stats st;
		struct san_html_opts ho = { .image_label = "img", .max_out = 1 << 20 };
		if (san_html_to_text(t.utf8, t.len, &ho, &h, &st) == 0) REQUIRE(h != NULL);
		free(h);
		char *j = NULL;
		size_t jl, lost;
		if (san_charset_to_iso2022jp(t.utf8, t.len, &j, &jl, &lost) == 0)
			for (size_t i = 0; i < jl; i++) REQUIRE((unsigned char)j[i] < 0x80);
		free(j);
		struct strbuf u = STRBUF_INIT;
		san_uu_strip(t.utf8, t.len, 8, uu_cb, NULL, &u);
		strbuf_free(&u);
		free(t.utf8);
	}
	return 0;
}
