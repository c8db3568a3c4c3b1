/* san_detect: libmagic, PPAP and TNEF detection (see san_detect.h).
 *
 * Contract: every parser here reads attacker bytes and is bounds-checked
 * against len; counts are capped by the caller's max.  No recursion. */
#include "sanitizer/san_detect.h"

#include <errno.h>
#include <magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct san_magic {
	magic_t m;
};

int san_detect_magic_new(struct san_magic **ret)
{
	struct san_magic *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF | MAGIC_ERROR);
	if (!m->m) {
		free(m);
		return -ENOMEM;
	}
	if (magic_load(m->m, NULL) != 0) {
		magic_close(m->m);
		free(m);
		return -ENOENT;
	}
	*ret = m;
	return 0;
}

void san_detect_magic_free(struct san_magic *m)
{
	if (!m)
		return;
	magic_close(m->m);
	free(m);
}

/* Signatures whose libmagic answer is certain: libmagic costs about half
 * a millisecond per call whatever the size (it walks its whole database),
 * and images and PDFs are the most common attachments.  Each entry gives
 * exactly what libmagic reports for such bytes (detect_test checks that
 * against libmagic itself). */
static const struct {
	const char *sig;
	size_t n;
	const char *type;
} SURE[] = {
	{"%PDF-", 5, "application/pdf"}, {"\x89PNG\r\n\x1a\n", 8, "image/png"}, {"GIF87a", 6, "image/gif"},
	{"GIF89a", 6, "image/gif"},      {"\xff\xd8\xff", 3, "image/jpeg"},
};

const char *san_detect_magic_sure(const void *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(SURE) / sizeof(SURE[0]); i++)
		if (len >= SURE[i].n + 16 && memcmp(buf, SURE[i].sig, SURE[i].n) == 0)
			return SURE[i].type;
	return NULL;
}

void san_detect_magic_type(struct san_magic *m, const void *buf, size_t len, char *out, size_t outlen)
{
	const char *t = NULL;
	if (len > 0)
		t = san_detect_magic_sure(buf, len);
	if (!t && m && len > 0)
		t = magic_buffer(m->m, buf, len > ((size_t)1 << 20) ? ((size_t)1 << 20) : len);
	if (len == 0)
		t = "application/x-empty";
	snprintf(out, outlen, "%s", t ? t : "application/octet-stream");
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

bool san_detect_zip_encrypted(const void *vbuf, size_t len)
{
	const unsigned char *b = vbuf;
	if (len < 30 || b[0] != 'P' || b[1] != 'K')
		return false;
	for (size_t i = 0; i + 30 <= len; i++) {
		if (b[i] != 'P' || b[i + 1] != 'K')
			continue;
		if (b[i + 2] == 3 && b[i + 3] == 4 && (le16(b + i + 6) & 1))
			return true;
		if (i + 46 <= len && b[i + 2] == 1 && b[i + 3] == 2 && (le16(b + i + 8) & 1))
			return true;
	}
	return false;
}

#define TNEF_SIG 0x223E9F78u
#define ATT_ATTACH_TITLE 0x00018010u

bool san_detect_tnef_is(const void *buf, size_t len)
{
	return len >= 6 && le32(buf) == TNEF_SIG;
}

int san_detect_tnef_names(const void *vbuf, size_t len, size_t max, struct strbuf *names)
{
	const unsigned char *b = vbuf;
	if (!san_detect_tnef_is(b, len))
		return -EBADMSG;
	size_t i = 6, n = 0;
	while (i < len) {
		if (len - i < 9)
			return -EBADMSG;
		uint32_t id = le32(b + i + 1), alen = le32(b + i + 5);
		i += 9;
		if (alen > len - i || len - i - alen < 2)
			return -EBADMSG;
		if (id == ATT_ATTACH_TITLE && n < max) {
			size_t l = alen;
			while (l > 0 && b[i + l - 1] == '\0')
				l--;
			if (n)
				strbuf_putc(names, '\n');
			strbuf_append(names, (const char *)b + i, l);
			n++;
		}
		i += alen + 2;
	}
	return (int)n;
}
