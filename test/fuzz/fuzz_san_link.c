/* fuzz_san_link: libFuzzer target for what the milter puts into a link
 * manifest (san_link_manifest): the sender controls the subject, the
 * envelope, the message id and the attachment names, and one bad string
 * would make ptl_link_write refuse the whole manifest -- the recipients
 * would lose their link.  So every input must give a manifest whose text
 * (ptl_link_text) exists and parses again (ptl_link_parse) to the same
 * strings, each valid UTF-8 without control characters, within the caps.
 *
 * The input is split at NUL bytes into subject, envelope sender,
 * attachment name, recipient, message id and queue id (missing fields are
 * NULL).  Seeds: test/fuzz/corpus/san_link/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/san_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void clean_or_abort(const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > PTL_LINK_MAX_STR || !utf8_valid(s, n))
		abort();
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t l = utf8_decode(s + i, n - i, &cp);
		if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			abort();
		i += l;
	}
}

static void same(const char *a, const char *b)
{
	if (!a != !b || (a && strcmp(a, b)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *f[6] = {NULL};
	char *p = buf;
	for (size_t i = 0; i < 6 && p < buf + size + 1; i++) {
		f[i] = p;
		p += strlen(p) + 1;
	}
	struct sanitize_item it = {.name = f[2] ? f[2] : (char *)"", .size = size};
	memset(it.sha256, 'a', 64);
	memcpy(it.qid, it.sha256, SAN_QID_LEN);
	struct sanitize_result res = {.items = &it, .n_items = 1, .subject = f[0], .message_id = f[4]};
	const char *to[] = {f[3]};
	struct san_link_opts o = {.portal_url = "https://p.example", .days = 7, .lang = "ja"};
	struct san_link_env env = {
		.o = &o, .queue_id = f[5], .env_from = f[1], .env_to = to, .n_to = f[3] ? 1 : 0, .now = 1796000000};
	struct ptl_link l, back;
	if (san_link_manifest(&env, &res, &l) < 0)
		abort();
	clean_or_abort(l.subject);
	clean_or_abort(l.from);
	clean_or_abort(l.message_id);
	clean_or_abort(l.queue_id);
	for (size_t i = 0; i < l.nrcpt; i++)
		clean_or_abort(l.rcpt[i]);
	if (l.nfiles != 1)
		abort();
	clean_or_abort(l.files[0].name);
	char *text = ptl_link_text(&l);
	if (!text || strlen(text) > PTL_LINK_MAX_BYTES || ptl_link_parse(text, strlen(text), &back) != 0)
		abort();
	same(l.subject, back.subject);
	same(l.from, back.from);
	same(l.message_id, back.message_id);
	same(l.queue_id, back.queue_id);
	same(l.files[0].name, back.files[0].name);
	same(l.files[0].cdr, back.files[0].cdr);
	if (back.nrcpt != l.nrcpt || back.nfiles != 1 || strcmp(back.files[0].sha256, it.sha256))
		abort();
	for (size_t i = 0; i < l.nrcpt; i++)
		same(l.rcpt[i], back.rcpt[i]);
	free(text);
	ptl_link_free(&back);
	ptl_link_free(&l);
	free(it.cdr);
	free(it.cdr_reason);
	free(buf);
	return 0;
}
