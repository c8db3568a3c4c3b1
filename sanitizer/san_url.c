/* san_url: live links in text (see san_url.h for the definition).
 *
 * Contract: one forward scan over the text.  Each character is folded once
 * (fold); the scan keeps the folded character before the current position
 * *as the output will show it* (a rewrite leaves ']' there) and the run of
 * scheme characters since the last non-scheme character, so a scheme is
 * judged when its ':' is reached without looking back.  Bytes that are not
 * rewritten are copied unchanged, in chunks.  Nothing is allocated but the
 * caller's strbuf; nothing prints. */
#include "sanitizer/san_url.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/utf8.h"

#define OTHER 0x100   /* a character that is not ASCII after folding */
#define SCHEME_MAX 32 /* L1: [a-z][a-z0-9+.-]{0,31} */

/* The character at p folded for matching: ASCII lower-cased, full-width
 * ASCII (U+FF01-U+FF5E, 3 bytes) to ASCII, U+3000 to a space, anything
 * else OTHER.  Returns its length in bytes (1 for anything but those). */
static size_t fold(const unsigned char *p, size_t left, int *ret_c)
{
	unsigned char b = p[0];
	if (b < 0x80) {
		*ret_c = (b >= 'A' && b <= 'Z') ? b + 32 : b;
		return 1;
	}
	uint32_t cp;
	if (utf8_decode(p, left, &cp) == 3) {
		if (cp == 0x3000) {
			*ret_c = ' ';
			return 3;
		}
		if (cp >= 0xFF01 && cp <= 0xFF5E) {
			int c = (int)(cp - 0xFEE0);
			*ret_c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
			return 3;
		}
	}
	*ret_c = OTHER;
	return 1;
}

static bool lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool scheme_char(int c)
{
	return lower_alnum(c) || c == '+' || c == '.' || c == '-';
}

static bool space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* What may precede an L3 autolink (the negation). */
static bool www_blocked_after(int c)
{
	return lower_alnum(c) || c == '.' || c == '-' || c == '/' || c == '@' || c == '[';
}

static bool host_label(int c)
{
	return lower_alnum(c) || c == '-' || c == '_' || c == '$' || c == OTHER;
}

static bool unc_host(int c)
{
	return lower_alnum(c) || c == '.' || c == '_' || c == '$' || c == '-';
}

/* A character a link may contain (remove mode decides its end). */
static bool link_char(int c)
{
	return c > 0x20 && c < 0x7F && !strchr("<>\"'`{}|^", c);
}

static const char *const OPAQUE[] = {"javascript", "vbscript",    "livescript", "data", "file", "about",  "blob",
				     "jar",        "view-source", "mhtml",      "mk",   "its",  "ms-its", "search-ms",
				     "search",     "shell",       "smb",        "cifs", "nfs",  "afp",    "telnet",
				     "ldap",       "ldaps",       "res",        NULL};

/* The folded character at i (OTHER past the end), its length in *ret_n. */
static int at(const unsigned char *t, size_t len, size_t i, size_t *ret_n)
{
	int c = OTHER;
	size_t n = 0;
	if (i < len)
		n = fold(t + i, len - i, &c);
	if (ret_n)
		*ret_n = n;
	return i < len ? c : -1;
}

/* The run of scheme characters before the current position. */
struct run {
	bool on;
	size_t start, n;
	bool fullwidth; /* some character was spelled full-width */
	bool ms;        /* still matches ms-[a-z0-9-]* */
	char name[SCHEME_MAX];
};

static void run_add(struct run *r, size_t i, int c, size_t bytes)
{
	if (!r->on)
		*r = (struct run){.on = true, .start = i, .ms = true};
	if (r->n < SCHEME_MAX)
		r->name[r->n] = (char)c;
	if (r->n == 0)
		r->ms = c == 'm';
	else if (r->n == 1)
		r->ms = r->ms && c == 's';
	else if (r->n == 2)
		r->ms = r->ms && c == '-';
	else
		r->ms = r->ms && (lower_alnum(c) || c == '-');
	r->n++;
	if (bytes > 1)
		r->fullwidth = true;
}

static bool run_is(const struct run *r, const char *name)
{
	size_t n = strlen(name);
	return r->n == n && memcmp(r->name, name, n) == 0;
}

static bool run_opaque(const struct run *r)
{
	if (r->ms && r->n >= 4)
		return true;
	for (size_t i = 0; OPAQUE[i]; i++)
		if (run_is(r, OPAQUE[i]))
			return true;
	return false;
}

/* L4 at i ('\'): the end of its "\\", or 0. */
static size_t unc_at(const unsigned char *t, size_t len, size_t i)
{
	size_t n1, n2;
	if (at(t, len, i, &n1) != '\\' || at(t, len, i + n1, &n2) != '\\')
		return 0;
	return unc_host(at(t, len, i + n1 + n2, NULL)) ? i + n1 + n2 : 0;
}

/* L3 at i ('w'): the offset of its '.', or SIZE_MAX; *ret_end after it. */
static size_t www_at(const unsigned char *t, size_t len, size_t i, size_t *ret_end)
{
	size_t n, k = i;
	for (int j = 0; j < 3; j++, k += n)
		if (at(t, len, k, &n) != 'w')
			return SIZE_MAX;
	int c;
	for (int d = 0; (c = at(t, len, k, &n)) >= '0' && c <= '9'; k += n)
		if (++d > 3)
			return SIZE_MAX;
	if (c != '.')
		return SIZE_MAX;
	if (!host_label(at(t, len, k + n, NULL)))
		return SIZE_MAX;
	*ret_end = k + n;
	return k;
}

/* Remove mode: where the link whose prefix ends at p ends. */
static size_t link_end(const unsigned char *t, size_t len, size_t p)
{
	size_t e = p, open = 0, close = 0, n;
	int c;
	while (e < len && link_char(c = at(t, len, e, &n))) {
		if (c == '(')
			open++;
		if (c == ')')
			close++;
		e += n;
	}
	while (e > p) { /* the link's characters are ASCII or 3-byte full-width */
		n = (t[e - 1] & 0x80) ? 3 : 1;
		c = at(t, len, e - n, NULL);
		if (c == ')' && close > open)
			close--;
		else if (!strchr(".,;:!?", c))
			break;
		e -= n;
	}
	return e;
}

size_t san_url_rewrite(const char *text, size_t len, enum san_links mode, const char *label, struct strbuf *out)
{
	const unsigned char *t = (const unsigned char *)text;
	if (mode == SAN_LINKS_KEEP) {
		strbuf_append(out, text, len);
		return 0;
	}
	bool rm = mode == SAN_LINKS_REMOVE;
	if (!label)
		label = "[URL]";
	size_t done = 0, count = 0, i = 0;
	size_t www_dot = SIZE_MAX; /* defang: the '.' of an L3 link ahead */
	int prev = ' ';            /* the character before i, as written out */
	struct run r = {0};
	while (i < len) {
		size_t n, s = SIZE_MAX, pre = 0; /* a link at s whose prefix ends at pre */
		int c = at(t, len, i, &n);
		if (i == www_dot) {
			strbuf_append(out, text + done, i - done);
			strbuf_puts(out, "[.]");
			done = i += n;
			prev = ']';
			r.on = false;
			www_dot = SIZE_MAX;
			continue;
		}
		if (c == '\\' && prev != '[' && prev != '\\' && (pre = unc_at(t, len, i))) {
			if (!rm) {
				strbuf_append(out, text + done, i - done);
				strbuf_putc(out, '[');
				strbuf_append(out, text + i, pre - i);
				strbuf_putc(out, ']');
				done = i = pre;
				prev = ']';
				r.on = false;
				count++;
				continue;
			}
			s = i;
		} else if (c == 'w' && www_dot == SIZE_MAX && !www_blocked_after(prev)) {
			size_t dot = www_at(t, len, i, &pre);
			if (dot != SIZE_MAX) {
				if (rm)
					s = i;
				else {
					www_dot = dot;
					count++;
				}
			}
		} else if (c == ':' && r.on) {
			size_t n1, n2;
			int c1 = at(t, len, i + n, &n1), c2 = at(t, len, i + n + n1, &n2);
			bool l1 = r.n <= SCHEME_MAX && r.name[0] >= 'a' && r.name[0] <= 'z' &&
				((c1 == '/' && c2 == '/') || (c1 == '\\' && c2 == '\\'));
			bool l2 = !l1 && c1 >= 0 && !space(c1) && run_opaque(&r);
			if (l1 || l2) {
				if (rm) {
					s = r.start;
					pre = l1 ? i + n + n1 + n2 : i + n;
				} else {
					strbuf_append(out, text + done, r.start - done);
					if (l1 && !r.fullwidth && run_is(&r, "http"))
						strbuf_puts(out, "hxxp");
					else if (l1 && !r.fullwidth && run_is(&r, "https"))
						strbuf_puts(out, "hxxps");
					else if (l1 && !r.fullwidth && run_is(&r, "ftp"))
						strbuf_puts(out, "fxp");
					else
						strbuf_append(out, text + r.start, i - r.start);
					strbuf_puts(out, "[:]");
					done = i += n;
					prev = ']';
					r.on = false;
					count++;
					continue;
				}
			}
		}
		if (s != SIZE_MAX) { /* remove mode: the whole link goes */
			size_t e = link_end(t, len, pre);
			strbuf_append(out, text + done, s - done);
			strbuf_puts(out, label);
			done = i = e;
			prev = ' ';
			r.on = false;
			count++;
			continue;
		}
		if (scheme_char(c))
			run_add(&r, i, c, n);
		else
			r.on = false;
		prev = c;
		i += n;
	}
	strbuf_append(out, text + done, len - done);
	return count;
}

enum san_url_kind san_url_target(const char *url, size_t len, struct strbuf *out)
{
	size_t a = 0, b = len, from = out->len;
	while (a < b && (unsigned char)url[a] <= 0x20)
		a++;
	while (b > a && (unsigned char)url[b - 1] <= 0x20)
		b--;
	for (size_t i = a, j = a; i <= b; i++) { /* copy runs between controls */
		unsigned char c = i < b ? (unsigned char)url[i] : 0;
		if (i < b && c >= 0x20 && c != 0x7F)
			continue;
		strbuf_append(out, url + j, i - j);
		j = i + 1;
		if (i < b && c != '\t' && c != '\n' && c != '\r')
			strbuf_printf(out, "%%%02X", c);
	}
	static const struct {
		const char *scheme;
		enum san_url_kind kind;
	} K[] = {
		{"data:", SAN_URL_DATA},
		{"javascript:", SAN_URL_SCRIPT},
		{"vbscript:", SAN_URL_SCRIPT},
		{"livescript:", SAN_URL_SCRIPT},
	};
	char head[12];
	size_t k = 0, n;
	const unsigned char *u = (const unsigned char *)(out->buf ? out->buf + from : "");
	for (size_t i = 0, ul = out->len - from; i < ul && k < sizeof(head); i += n) {
		int c;
		n = fold(u + i, ul - i, &c);
		head[k++] = c < 0x80 ? (char)c : '\0';
	}
	for (size_t i = 0; i < sizeof(K) / sizeof(K[0]); i++) {
		size_t sl = strlen(K[i].scheme);
		if (k >= sl && memcmp(head, K[i].scheme, sl) == 0)
			return K[i].kind;
	}
	return SAN_URL_OTHER;
}
