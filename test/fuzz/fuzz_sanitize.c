/* fuzz_sanitize: the whole sanitizer library on arbitrary bytes.
 *
 * Besides crashes and sanitizer reports, it checks what sanitize.h
 * promises: the call returns 0 (no quarantine is configured, so nothing can
 * make it refuse), the output is a non-empty message whose body is declared
 * text/plain; charset=utf-8 in base64 and which carries the marker header,
 * and no header line of the output has 8-bit bytes.  One input in eight
 * also goes through a spool file (the path large messages take) and must
 * give the same bytes as from memory.  The charset, HTML, URL and encoded-block
 * helpers are also driven directly; what the URL rewriter (defang and
 * remove) and the HTML converter give must hold no live link by the
 * definition in san_url.h, as read by test/fuzz/linkcheck.h (an independent
 * reading, not san_url's code).  A broken promise aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"
#include "common/strbuf.h"
#include "sanitizer/san_blob.h"
#include "sanitizer/san_charset.h"
#include "sanitizer/san_detect.h"
#include "sanitizer/san_html.h"
#include "sanitizer/san_url.h"
#include "sanitizer/sanitize.h"
#include "test/fuzz/linkcheck.h"
#include "test/fuzz/sanitize_ctx.h"

#define REQUIRE(c)               \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int blob_cb(void *arg, const struct san_blob *b, struct strbuf *repl)
{
	(void)arg;
	REQUIRE(b->name != NULL && (b->len == 0 || b->data != NULL));
	strbuf_puts(repl, "[blob]");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sanitize_ctx *ctx = fuzz_sanitize_ctx();
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

	/* URL rewriting: no live link (L1-L4) is left after defang or remove;
	 * defang rewrites something exactly when it counts something; keep
	 * changes nothing */
	struct strbuf u8 = STRBUF_INIT;
	size_t nd = san_url_rewrite((const char *)data, size, SAN_LINKS_DEFANG, "[X]", &u8);
	REQUIRE(!linkcheck_live(strbuf_str(&u8), u8.len));
	REQUIRE((nd == 0) == (u8.len == size && (size == 0 || memcmp(u8.buf, data, size) == 0)));
	strbuf_reset(&u8);
	san_url_rewrite((const char *)data, size, SAN_LINKS_REMOVE, "[X]", &u8);
	REQUIRE(!linkcheck_live(strbuf_str(&u8), u8.len));
	strbuf_reset(&u8);
	REQUIRE(san_url_rewrite((const char *)data, size, SAN_LINKS_KEEP, "[X]", &u8) == 0 && u8.len == size);
	strbuf_free(&u8);

	/* helpers directly: charset label from the first byte */
	static const char *const cs[] = {"iso-2022-jp", "shift_jis", "euc-jp", "utf-8", NULL, "iso-8859-1"};
	struct san_text t;
	if (size > 0 && san_charset_decode((const char *)data + 1, size - 1, cs[data[0] % 6], &t) == 0) {
		REQUIRE(utf8_valid(t.utf8, t.len));
		char *h = NULL;
		struct san_html_stats st;
		struct san_html_opts ho = {.image_label = "img", .max_out = 1 << 20};
		if (san_html_to_text(t.utf8, t.len, &ho, &h, &st) == 0) {
			REQUIRE(h != NULL);
			REQUIRE(!linkcheck_live(h, strlen(h))); /* links defanged by default, targets and text */
		}
		free(h);
		char *j = NULL;
		size_t jl, lost;
		if (san_charset_to_iso2022jp(t.utf8, t.len, &j, &jl, &lost) == 0)
			for (size_t i = 0; i < jl; i++)
				REQUIRE((unsigned char)j[i] < 0x80);
		free(j);
		struct strbuf u = STRBUF_INIT;
		/* the strip finds exactly what the probe finds, and leaves nothing */
		int nb = san_blob_strip(t.utf8, t.len, 1 << 20, blob_cb, NULL, &u);
		REQUIRE(nb >= 0 && (nb > 0) == san_blob_any(t.utf8, t.len));
		REQUIRE(!san_blob_any(u.buf ? u.buf : "", u.len));
		strbuf_free(&u);
		free(t.utf8);
	}
	return 0;
}
