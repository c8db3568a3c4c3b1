/* cdr_mail: build the appliance's own messages (see cdr_mail.h).
 * Contract: the result is a whole message or NULL; addresses are checked
 * before they reach a header; every byte of outside text is base64 or
 * percent-encoded.  Allocation failure aborts (strbuf; control plane).
 * Nothing prints. */
#include "sanitizer/cdr/cdr_mail.h"
#include "common/strbuf.h"
#include "sanitizer/cdr/cdr_portal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of p[0..n) without line breaks */
static void b64_append(struct strbuf *sb, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
			     i + 2 < n ? b64[v & 63] : '='};
		strbuf_append(sb, q, 4);
	}
}

/* base64 in lines of 76 characters (57 input bytes), each ending CRLF */
static void b64_lines(struct strbuf *sb, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 57) {
		b64_append(sb, p + i, n - i < 57 ? n - i : 57);
		strbuf_puts(sb, "\r\n");
	}
}

/* the length of the UTF-8 sequence starting with byte c (1 for anything
 * that is not a lead byte: the text was checked before) */
static size_t seq_len(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* RFC 2047: the subject as B encoded words of at most 45 bytes of whole
 * characters each (60 characters encoded), one per folded line */
static void subject(struct strbuf *sb, const char *s)
{
	size_t n = strlen(s), i = 0;
	strbuf_puts(sb, "Subject:");
	if (n == 0)
		strbuf_puts(sb, " ");
	while (i < n) {
		size_t j = i;
		while (j < n && j + seq_len((unsigned char)s[j]) - i <= 45)
			j += seq_len((unsigned char)s[j]);
		if (j == i)
			j = i + 1;
		if (j > n)
			j = n;
		strbuf_puts(sb, i ? "\r\n =?UTF-8?B?" : " =?UTF-8?B?");
		b64_append(sb, (const uint8_t *)s + i, j - i);
		strbuf_puts(sb, "?=");
		i = j;
	}
	strbuf_puts(sb, "\r\n");
}

/* RFC 2231: filename*0*=UTF-8''...; filename*1*=... (percent-encoded,
 * at most 60 characters per piece, a %XX never split) */
static void filename(struct strbuf *sb, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf enc = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p)) {
			strbuf_putc(&enc, (char)*p);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			strbuf_append(&enc, e, 3);
		}
	}
	const char *e = strbuf_str(&enc);
	size_t n = strlen(e), i = 0;
	for (int k = 0; i < n || k == 0; k++) {
		size_t take = n - i < 60 ? n - i : 60;
		while (take > 0 && take < n - i && (e[i + take - 1] == '%' || (take > 1 && e[i + take - 2] == '%')))
			take--;
		strbuf_printf(sb, ";\r\n filename*%d*=%s%.*s", k, k == 0 ? "UTF-8''" : "", (int)take, e + i);
		i += take;
	}
	strbuf_free(&enc);
}

const char *cdr_mail_type(const char *name)
{
	static const char *const map[][2] = {
		{"pdf", "application/pdf"},
		{"png", "image/png"},
		{"jpg", "image/jpeg"},
		{"jpeg", "image/jpeg"},
		{"zip", "application/zip"},
		{"txt", "text/plain"},
		{"csv", "text/csv"},
		{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	};
	const char *dot = name ? strrchr(name, '.') : NULL;
	if (dot)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcasecmp(dot + 1, map[i][0]))
				return map[i][1];
	return "application/octet-stream";
}

/* the text with every line end made CRLF, as base64 lines */
static void body_b64(struct strbuf *sb, const char *body)
{
	struct strbuf t = STRBUF_INIT;
	for (const char *p = body; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n')
			strbuf_puts(&t, "\r\n");
		else
			strbuf_putc(&t, *p);
	}
	b64_lines(sb, (const uint8_t *)strbuf_str(&t), t.len);
	strbuf_free(&t);
}

static int attach(struct strbuf *sb, const char *boundary, const struct cdr_mail_att *a)
{
	strbuf_printf(sb, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\n", boundary,
		      cdr_mail_type(a->name));
	strbuf_puts(sb, "Content-Disposition: attachment");
	filename(sb, a->name);
	strbuf_puts(sb, "\r\n\r\n");
	uint8_t buf[57 * 1024];
	uint64_t off = 0;
	while (off < a->bytes) {
		size_t want = a->bytes - off < sizeof(buf) ? (size_t)(a->bytes - off) : sizeof(buf);
		ssize_t n = pread(a->fd, buf, want, (off_t)off);
		if (n <= 0)
			return -EIO;
		/* whole lines only (the buffer holds whole lines), except at
		 * the end of the file; a regular file gives full reads */
		size_t use = (size_t)n == want ? (size_t)n : (size_t)n / 57 * 57;
		if (use == 0)
			return -EIO;
		b64_lines(sb, buf, use);
		off += use;
	}
	return 0;
}

static bool name_ok(const char *s)
{
	return s && *s && strlen(s) <= 255;
}

char *cdr_mail_build(const struct cdr_mail *m, size_t *ret_len)
{
	if (!cdr_portal_addr_ok(m->from) || m->nto == 0 || !m->subject || !m->body) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < m->nto; i++)
		if (!cdr_portal_addr_ok(m->to[i])) {
			errno = EINVAL;
			return NULL;
		}
	for (size_t i = 0; i < m->natt; i++)
		if (!name_ok(m->att[i].name)) {
			errno = EINVAL;
			return NULL;
		}
	uint8_t rnd[12];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		errno = EIO;
		return NULL;
	}
	char id[25];
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	char date[64];
	time_t t = (time_t)m->date;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	const char *domain = strchr(m->from, '@') + 1;

	struct strbuf sb = STRBUF_INIT;
	strbuf_printf(&sb, "From: <%s>\r\nTo: ", m->from);
	for (size_t i = 0; i < m->nto; i++)
		strbuf_printf(&sb, "%s<%s>", i ? ",\r\n " : "", m->to[i]);
	strbuf_puts(&sb, "\r\n");
	subject(&sb, m->subject);
	strbuf_printf(&sb, "Date: %s\r\nMessage-ID: <%s.sekisho@%s>\r\nMIME-Version: 1.0\r\n", date, id, domain);
	/* RFC 3834: no vacation replies or bounces loops to the appliance */
	strbuf_puts(&sb, "Auto-Submitted: auto-generated\r\n");
	char boundary[40];
	snprintf(boundary, sizeof(boundary), "=_sekisho_%s", id);
	if (m->natt)
		strbuf_printf(&sb, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n", boundary,
			      boundary);
	strbuf_puts(&sb, "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	body_b64(&sb, m->body);
	int r = 0;
	for (size_t i = 0; r == 0 && i < m->natt; i++)
		r = attach(&sb, boundary, &m->att[i]);
	if (r < 0) {
		strbuf_free(&sb);
		errno = -r;
		return NULL;
	}
	if (m->natt)
		strbuf_printf(&sb, "--%s--\r\n", boundary);
	*ret_len = sb.len;
	return strbuf_steal(&sb);
}
