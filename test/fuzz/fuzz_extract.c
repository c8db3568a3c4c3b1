/* fuzz_extract: nothing can be extracted from a sanitised message.
 *
 * The whole sanitiser runs on arbitrary bytes; its output is then read
 * back as a mail reader would read it -- gmime parses the output message
 * afresh, and its body is decoded -- and the invariants of issue 11 must
 * hold: the message is one text/plain part with no file name and no
 * disposition (nothing a reader would save as an attachment), its body
 * decodes as UTF-8, holds no encoded block (san_blob finds none: no
 * base64, uuencode, yEnc, BinHex, hex or quoted-printable payload), and
 * no live link (the independent checker in linkcheck.h).  A broken promise
 * aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "common/utf8.h"
#include "common/strbuf.h"
#include "sanitizer/san_blob.h"
#include "sanitizer/san_charset.h"
#include "sanitizer/sanitize.h"
#include "test/fuzz/sanitize_ctx.h"
#include "test/fuzz/linkcheck.h"

#define REQUIRE(c)               \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sanitize_ctx *ctx = fuzz_sanitize_ctx();
	struct strbuf out = STRBUF_INIT;
	struct sanitize_result res;
	REQUIRE(sanitize_buffer(ctx, data, size, &out, &res) == 0);
	sanitize_result_free(&res);

	/* read the output back */
	GMimeStream *ms = g_mime_stream_mem_new_with_buffer(out.buf, out.len);
	GMimeParser *p = g_mime_parser_new_with_stream(ms);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(ms);
	REQUIRE(m != NULL);
	GMimeObject *body = g_mime_message_get_mime_part(m);
	REQUIRE(body && GMIME_IS_PART(body));
	REQUIRE(g_mime_content_type_is_type(g_mime_object_get_content_type(body), "text", "plain"));
	REQUIRE(g_mime_object_get_content_disposition(body) == NULL);
	REQUIRE(g_mime_part_get_filename(GMIME_PART(body)) == NULL);
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(body));
	REQUIRE(w != NULL);
	GMimeStream *dec = g_mime_stream_mem_new();
	REQUIRE(g_mime_data_wrapper_write_to_stream(w, dec) >= 0);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(dec));
	const char *t = ba->len ? (const char *)ba->data : "";
	REQUIRE(utf8_valid(t, ba->len));
	REQUIRE(!san_blob_any(t, ba->len));
	REQUIRE(!linkcheck_live(t, ba->len));
	g_object_unref(dec);
	g_object_unref(m);
	strbuf_free(&out);
	return 0;
}
