/* ptl_http: the HTTPS core of the file portals (contract in ptl_http.h).
 *
 * libmicrohttpd runs the connections (its thread pool, epoll, GnuTLS); this
 * file turns its access-handler calls into one struct ptl_req per request:
 * the first call routes and checks the declared body size, the body calls
 * buffer (urlencoded, capped) or stream (the route's body function), the
 * last call runs the handler.  Every response is built here, so every one
 * carries the security headers.
 *
 * Failure behaviour: a request over a cap is answered 413 when its
 * Content-Length says so before the body; a body that grows past its cap
 * without one (chunked) has its connection closed (libmicrohttpd cannot
 * answer in the middle of a body).  Out of memory in a handler aborts
 * (xalloc, control plane); in libmicrohttpd it closes the connection. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "sanitizer/portal/ptl_http.h"

#define PTL_MAX_SET_COOKIES 4
#define PTL_CERT_MAX ((uint64_t)1 << 20)
#define PTL_LANG_MAX 1024
#define PTL_COOKIE_HEADER_MAX 4096
#define PTL_SEGMENT_MAX 128

/* The policy every response carries: no script, no frame, no foreign
 * resource; forms post only here. */
static const char ptl_csp[] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
			      "frame-ancestors 'none'; base-uri 'none'";

const char ptl_style_css[] =
	"body{font-family:sans-serif;margin:0;background:#f6f6f4;color:#111;line-height:1.6}"
	"main{max-width:56em;margin:0 auto;padding:1em 1.5em;background:#fff;min-height:100vh}"
	"h1{font-size:1.4em;border-bottom:2px solid #1f4e79;padding-bottom:.2em}"
	"h2{font-size:1.15em;margin-top:1.5em}"
	"table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;"
	"vertical-align:top}th{background:#eef2f6}"
	"label{display:block;margin:.5em 0 .2em}input[type=text],input[type=password],textarea{width:100%;"
	"max-width:30em;padding:.3em;font-size:1em}button{font-size:1em;padding:.3em 1em;margin:.3em 0}"
	".en{color:#555}.ok{color:#155724}.ng{color:#8b0000}.note{background:#fff8e1;padding:.5em}"
	"form.inline{display:inline}label.inline{display:inline;margin:0 1em 0 .3em}td.rec{overflow-wrap:anywhere}";

/* ------------------------------------------------------------- escaping -- */

void ptl_pct_encode(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			strbuf_putc(sb, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			strbuf_append(sb, e, 3);
		}
	}
}

/* ------------------------------------------------------------- language -- */

/* q-value of one Accept-Language entry's parameters (";q=0.8"), 1000ths */
static int lang_q(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == ';'))
		p++;
	if (end - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
		return 1000;
	p += 2;
	if (p < end && *p == '1')
		return 1000;
	if (p >= end || *p != '0')
		return 0;
	p++;
	int q = 0, scale = 100;
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
			q += (*p - '0') * scale;
	return q;
}

enum ptl_lang ptl_lang_pick(const char *al)
{
	if (!al)
		return PTL_JA;
	size_t len = strnlen(al, PTL_LANG_MAX);
	int qja = -1, qen = -1;
	const char *p = al, *end = al + len;
	for (int entries = 0; p < end && entries < 32; entries++) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		while (p < e && *p == ' ')
			p++;
		const char *semi = e > p ? memchr(p, ';', (size_t)(e - p)) : NULL;
		const char *tag_end = semi ? semi : e;
		while (tag_end > p && tag_end[-1] == ' ')
			tag_end--;
		size_t tl = (size_t)(tag_end - p);
		int q = semi ? lang_q(semi, e) : 1000;
		bool ja = tl >= 2 && strncasecmp(p, "ja", 2) == 0 && (tl == 2 || p[2] == '-');
		bool en = tl >= 2 && strncasecmp(p, "en", 2) == 0 && (tl == 2 || p[2] == '-');
		if (ja && q > qja)
			qja = q;
		if (en && q > qen)
			qen = q;
		p = comma ? comma + 1 : end;
	}
	return qen > 0 && qen > qja ? PTL_EN : PTL_JA;
}

/* ---------------------------------------------------------------- forms -- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* decode one urlencoded piece into a new string of at most max bytes */
static int form_decode(const char *s, size_t len, size_t max, bool is_name, char **ret)
{
	if (len > 3 * max + 3)
		return -EFBIG;
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int h, l;
			if (i + 2 >= len || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0) {
				free(out);
				return -EINVAL;
			}
			c = (char)(h << 4 | l);
			i += 2;
		}
		if (c == '\r')
			continue;
		out[o++] = c;
	}
	out[o] = 0;
	int r = 0;
	if (o > max)
		r = -EFBIG;
	else if (is_name) {
		if (o == 0)
			r = -EINVAL;
		for (size_t i = 0; i < o && !r; i++)
			if (!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= '0' && out[i] <= '9') || out[i] == '_'))
				r = -EINVAL;
	} else {
		if (!utf8_valid(out, o))
			r = -EINVAL;
		for (size_t i = 0; i < o && !r; i++) {
			unsigned char c = (unsigned char)out[i];
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				r = -EINVAL;
		}
	}
	if (r) {
		free(out);
		return r;
	}
	*ret = out;
	return 0;
}

int ptl_form_parse(const char *body, size_t len, struct ptl_form *ret)
{
	memset(ret, 0, sizeof *ret);
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		if (e > p) {
			if (ret->n >= PTL_FORM_MAX_FIELDS) {
				ptl_form_free(ret);
				return -EFBIG;
			}
			const char *eq = memchr(p, '=', (size_t)(e - p));
			const char *ne = eq ? eq : e;
			char *name = NULL, *value = NULL;
			int r = form_decode(p, (size_t)(ne - p), PTL_FORM_MAX_NAME, true, &name);
			if (!r)
				r = eq ? form_decode(eq + 1, (size_t)(e - eq - 1), PTL_FORM_MAX_VALUE, false, &value)
				       : (value = xstrdup(""), 0);
			if (!r && ptl_form_get(ret, name))
				r = -EINVAL; /* one value per name: no parameter pollution */
			if (r) {
				free(name);
				free(value);
				ptl_form_free(ret);
				return r;
			}
			ret->name[ret->n] = name;
			ret->value[ret->n++] = value;
		}
		p = amp ? amp + 1 : end;
	}
	return 0;
}

const char *ptl_form_get(const struct ptl_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	return NULL;
}

void ptl_form_free(struct ptl_form *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->name[i]);
		free(f->value[i]);
	}
	memset(f, 0, sizeof *f);
}

/* -------------------------------------------------------------- cookies -- */

static bool cookie_name_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* RFC 6265 cookie-octet, without the quotes */
static bool cookie_value_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) ||
		(c >= 0x5d && c <= 0x7e);
}

int ptl_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	if (!header)
		return -ENOENT;
	size_t len = strnlen(header, PTL_COOKIE_HEADER_MAX + 1);
	if (len > PTL_COOKIE_HEADER_MAX)
		return -EFBIG;
	size_t nl = strlen(name), count = 0;
	int found = -ENOENT;
	const char *p = header, *end = header + len;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *e = semi ? semi : end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		const char *ee = e;
		while (ee > p && (ee[-1] == ' ' || ee[-1] == '\t'))
			ee--;
		if (ee > p) {
			if (++count > PTL_COOKIE_MAX)
				return -EFBIG;
			const char *eq = memchr(p, '=', (size_t)(ee - p));
			bool ok = eq && eq > p;
			for (const char *q = p; ok && q < eq; q++)
				ok = cookie_name_char((unsigned char)*q);
			const char *v = ok ? eq + 1 : NULL;
			for (const char *q = v; ok && q < ee; q++)
				ok = cookie_value_char((unsigned char)*q);
			if (ok && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
				if (found == 0)
					return -EINVAL;
				size_t vl = (size_t)(ee - v);
				if (vl + 1 > outlen || vl > PTL_COOKIE_MAX_LEN)
					return -EFBIG;
				memcpy(out, v, vl);
				out[vl] = 0;
				found = 0;
			}
		}
		p = semi ? semi + 1 : end;
	}
	return found;
}

int ptl_cookie_format(struct strbuf *sb, const char *name, const char *value, long max_age)
{
	if (!*name || strlen(value) > PTL_COOKIE_MAX_LEN)
		return -EINVAL;
	for (const char *q = name; *q; q++)
		if (!cookie_name_char((unsigned char)*q))
			return -EINVAL;
	for (const char *q = value; *q; q++)
		if (!cookie_value_char((unsigned char)*q))
			return -EINVAL;
	strbuf_printf(sb, "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict", name, value);
	if (max_age >= 0)
		strbuf_printf(sb, "; Max-Age=%ld", max_age);
	return 0;
}

/* ----------------------------------------------------------------- CSRF -- */

void ptl_b64url(const uint8_t *b, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)b[i + 1] << 8;
		if (i + 2 < n)
			v |= b[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = a[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = 0;
}

int ptl_random_token(size_t n, char *out, size_t outlen)
{
	uint8_t b[64];
	if (n > sizeof b || outlen < (n * 4 + 2) / 3 + 1)
		return -EINVAL;
	if (getrandom(b, n, 0) != (ssize_t)n)
		return -EIO;
	ptl_b64url(b, n, out);
	explicit_bzero(b, sizeof b);
	return 0;
}

void ptl_csrf_make(const uint8_t key[PTL_CSRF_KEY_BYTES], const char *bind, char out[PTL_CSRF_LEN + 1])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned ml = 0;
	/* "csrf\0" separates this use of the key from any other */
	struct strbuf sb = STRBUF_INIT;
	strbuf_append(&sb, "csrf", 5);
	strbuf_puts(&sb, bind);
	if (!HMAC(EVP_sha256(), key, PTL_CSRF_KEY_BYTES, (const uint8_t *)sb.buf, sb.len, mac, &ml) || ml != 32)
		abort(); /* libcrypto cannot compute SHA-256: a broken environment */
	strbuf_free(&sb);
	ptl_b64url(mac, 32, out);
}

bool ptl_csrf_ok(const uint8_t key[PTL_CSRF_KEY_BYTES], const char *bind, const char *token)
{
	if (!bind || !*bind || !token || strlen(token) != PTL_CSRF_LEN)
		return false;
	char want[PTL_CSRF_LEN + 1];
	ptl_csrf_make(key, bind, want);
	return CRYPTO_memcmp(want, token, PTL_CSRF_LEN) == 0;
}

/* ---------------------------------------------------------------- pages -- */

void ptl_page_begin(struct ptl_page *p, enum ptl_lang lang, const char *title)
{
	memset(p, 0, sizeof *p);
	p->lang = lang;
	ptl_page_put(p,
		     "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		     "<title>%s</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\n<body><main>\n",
		     lang == PTL_EN ? "en" : "ja", title);
}

void ptl_page_vput(struct ptl_page *p, const char *fmt, va_list ap)
{
	const char *f = fmt;
	while (*f) {
		const char *pc = strchr(f, '%');
		if (!pc) {
			strbuf_puts(&p->sb, f);
			break;
		}
		strbuf_append(&p->sb, f, (size_t)(pc - f));
		f = pc + 1;
		if (*f == 's') {
			const char *s = va_arg(ap, const char *);
			if (s)
				html_escape(&p->sb, s, strlen(s));
			f++;
		} else if (*f == 'd') {
			strbuf_printf(&p->sb, "%d", va_arg(ap, int));
			f++;
		} else if (*f == 'u') {
			strbuf_printf(&p->sb, "%u", va_arg(ap, unsigned));
			f++;
		} else if (f[0] == 'l' && f[1] == 'd') {
			strbuf_printf(&p->sb, "%ld", va_arg(ap, long));
			f += 2;
		} else if (f[0] == 'l' && f[1] == 'l' && f[2] == 'd') {
			strbuf_printf(&p->sb, "%lld", va_arg(ap, long long));
			f += 3;
		} else if (f[0] == 'l' && f[1] == 'l' && f[2] == 'u') {
			strbuf_printf(&p->sb, "%llu", va_arg(ap, unsigned long long));
			f += 3;
		} else if (f[0] == 'z' && f[1] == 'u') {
			strbuf_printf(&p->sb, "%zu", va_arg(ap, size_t));
			f += 2;
		} else if (*f == '%') {
			strbuf_putc(&p->sb, '%');
			f++;
		} else {
			abort(); /* a conversion this builder does not know: a bug in a format string */
		}
	}
}

void ptl_page_put(struct ptl_page *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ptl_page_vput(p, fmt, ap);
	va_end(ap);
}

void ptl_page_end(struct ptl_page *p)
{
	strbuf_puts(&p->sb, "</main></body></html>\n");
}

void ptl_page_csrf(struct ptl_page *p, const char *token)
{
	ptl_page_put(p, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", token);
}

/* --------------------------------------------------------------- router -- */

static bool segment_ok(const char *s, size_t n)
{
	if (n == 0 || n > PTL_SEGMENT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

bool ptl_route_match(const char *pattern, const char *path, char *buf, size_t buflen, const char **args, size_t *nargs)
{
	size_t pl = strlen(path);
	if (pl + 1 > buflen)
		return false;
	memcpy(buf, path, pl + 1);
	*nargs = 0;
	const char *pp = pattern;
	char *q = buf;
	while (*pp) {
		if (*pp == '*') {
			char *slash = strchr(q, '/');
			size_t n = slash ? (size_t)(slash - q) : strlen(q);
			if (!segment_ok(q, n) || *nargs >= PTL_ROUTE_MAX_ARGS)
				return false;
			args[(*nargs)++] = q;
			q += n;
			if (slash)
				*slash = 0; /* terminated; the pattern must continue with '/' */
			pp++;
			if (*pp) {
				if (*pp != '/' || !slash)
					return false;
				pp++;
				q++;
			} else if (slash) {
				return false;
			}
			continue;
		}
		if (*pp != *q)
			return false;
		pp++;
		q++;
	}
	return *q == 0;
}

/* --------------------------------------------------------------- server -- */

struct ptl_http {
	struct MHD_Daemon *d;
	struct ptl_http_opts o;
	char *cert, *key;
};

enum { ST_NEW = 0, ST_BODY, ST_REFUSED, ST_DONE };

/* What the server answers itself, without a route, an audit record or a
 * session: the style sheet, and an empty /favicon.ico (every browser asks
 * for it after each page: a refusal would be an audit record per page
 * view, half of the operators' activity list). */
struct builtin {
	const char *path, *ctype, *body;
	unsigned status;
};
static const struct builtin builtins[] = {
	{"/style.css", "text/css; charset=utf-8", ptl_style_css, MHD_HTTP_OK},
	{"/favicon.ico", "image/x-icon", "", MHD_HTTP_NO_CONTENT},
};

struct req_priv {
	struct ptl_req req;
	const struct builtin *builtin; /* a GET of one of builtins[], else NULL */
	char pathbuf[1024];
	char *cookies[PTL_MAX_SET_COOKIES];
	size_t ncookies;
};

const char *ptl_req_header(struct ptl_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int ptl_req_cookie(struct ptl_req *req, const char *name, char *out, size_t outlen)
{
	return ptl_cookie_get(ptl_req_header(req, "Cookie"), name, out, outlen);
}

bool ptl_req_same_origin(struct ptl_req *req)
{
	const char *site = ptl_req_header(req, "Sec-Fetch-Site");
	if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return false;
	const char *origin = ptl_req_header(req, "Origin");
	if (!origin)
		return true; /* no Origin: an old client or a direct request; the CSRF token decides */
	/* Our pages are sent with Referrer-Policy: no-referrer, under which a
	 * browser serialises the origin of its own form POSTs as "null" (Fetch,
	 * "serializing a request origin"; Chromium does): accepted only when
	 * the browser also says the request is same-origin (Sec-Fetch-Site, a
	 * header no page can set), so every form of ours works in a real
	 * browser and a null origin alone never passes. */
	if (strcmp(origin, "null") == 0)
		return site && strcmp(site, "same-origin") == 0;
	const char *host = ptl_req_header(req, "Host");
	if (!host || strncmp(origin, "https://", 8) != 0)
		return false;
	return strcmp(origin + 8, host) == 0;
}

static bool header_value_ok(const char *v)
{
	for (; *v; v++)
		if (*v == '\r' || *v == '\n')
			return false;
	return true;
}

int ptl_req_set_cookie(struct ptl_req *req, const char *value)
{
	struct req_priv *rp = (struct req_priv *)req;
	if (!header_value_ok(value))
		return -EINVAL;
	if (rp->ncookies >= PTL_MAX_SET_COOKIES)
		return -ENOSPC;
	rp->cookies[rp->ncookies++] = xstrdup(value);
	return 0;
}

static void add_security_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", ptl_csp);
	MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

static int queue(struct ptl_req *req, unsigned status, struct MHD_Response *r)
{
	struct req_priv *rp = (struct req_priv *)req;
	if (!r)
		return -ENOMEM;
	add_security_headers(r);
	for (size_t i = 0; i < rp->ncookies; i++)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, rp->cookies[i]);
	enum MHD_Result ok = MHD_queue_response(req->conn, status, r);
	MHD_destroy_response(r);
	req->answered = true;
	return ok == MHD_YES ? 0 : -EIO;
}

int ptl_send_page(struct ptl_req *req, unsigned status, struct ptl_page *p)
{
	size_t len = p->sb.len;
	char *body = strbuf_steal(&p->sb);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return -ENOMEM;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	return queue(req, status, r);
}

int ptl_send_text(struct ptl_req *req, unsigned status, const char *ctype, const char *text, size_t len)
{
	char *copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(copy);
		return -ENOMEM;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return queue(req, status, r);
}

int ptl_send_redirect(struct ptl_req *req, const char *location)
{
	if (location[0] != '/' || location[1] == '/' || !header_value_ok(location))
		return -EINVAL;
	static char empty[1];
	struct MHD_Response *r = MHD_create_response_from_buffer(0, empty, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return -ENOMEM;
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
	return queue(req, MHD_HTTP_SEE_OTHER, r);
}

void ptl_disposition(struct strbuf *sb, const char *filename)
{
	/* the ASCII fallback is a fixed word with the name's extension when
	 * that is plain; the real name goes only percent-encoded */
	const char *dot = strrchr(filename, '.');
	bool plain = dot && dot[1] && strlen(dot) <= 9;
	for (const char *q = dot ? dot + 1 : ""; plain && *q; q++)
		plain = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9');
	strbuf_printf(sb, "attachment; filename=\"download%s\"; filename*=UTF-8''", plain ? dot : "");
	ptl_pct_encode(sb, filename, strlen(filename));
}

int ptl_send_file(struct ptl_req *req, int fd, uint64_t size, const char *ctype, const char *filename)
{
	struct MHD_Response *r = MHD_create_response_from_fd64(size, fd);
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	struct strbuf cd = STRBUF_INIT;
	ptl_disposition(&cd, filename);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, strbuf_str(&cd));
	strbuf_free(&cd);
	return queue(req, MHD_HTTP_OK, r);
}

static void refuse(struct ptl_http *h, struct ptl_req *req, const char *key, unsigned status)
{
	req->refusal = key;
	if (h->o.refuse)
		h->o.refuse(req);
	if (!req->answered) {
		const char *t = "refused\n";
		ptl_send_text(req, status, "text/plain; charset=utf-8", t, strlen(t));
	}
}

static void set_peer(struct ptl_req *req)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	strcpy(req->peer, "-");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		req->peer_family = 4;
		req->peer_addr = inaddr_from_bytes(4, &((const struct sockaddr_in *)sa)->sin_addr);
	} else if (sa->sa_family == AF_INET6) {
		req->peer_family = 6;
		req->peer_addr = inaddr_from_bytes(6, &((const struct sockaddr_in6 *)sa)->sin6_addr);
	} else {
		return;
	}
	inaddr_format(req->peer_family, req->peer_addr, req->peer);
}

/* the first call for a request: route it, check the declared body */
static void req_begin(struct ptl_http *h, struct req_priv *rp, const char *url, const char *method)
{
	struct ptl_req *req = &rp->req;
	req->method = method;
	req->path = url;
	req->lang = ptl_lang_pick(ptl_req_header(req, "Accept-Language"));
	set_peer(req);
	bool path_found = false;
	for (size_t i = 0; i < h->o.nroutes; i++) {
		const struct ptl_route *rt = &h->o.routes[i];
		if (!ptl_route_match(rt->pattern, url, rp->pathbuf, sizeof rp->pathbuf, req->args, &req->nargs))
			continue;
		path_found = true;
		if (strcmp(rt->method, method) == 0) {
			req->route = rt;
			break;
		}
	}
	for (size_t i = 0; !req->route && !strcmp(method, "GET") && i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(url, builtins[i].path)) {
			rp->builtin = &builtins[i];
			req->state = ST_BODY;
			return;
		}
	if (!req->route) {
		req->nargs = 0;
		refuse(h, req, path_found ? PTL_R_METHOD : PTL_R_NOT_FOUND,
		       path_found ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND);
		req->state = ST_REFUSED;
		return;
	}
	const char *cl = ptl_req_header(req, "Content-Length");
	size_t cap = req->route->max_body ? req->route->max_body : (req->route->body ? SIZE_MAX : h->o.max_body);
	if (cl) {
		char *e;
		errno = 0;
		unsigned long long v = strtoull(cl, &e, 10);
		if (errno || *e || v > cap) {
			refuse(h, req, PTL_R_TOO_LARGE, MHD_HTTP_CONTENT_TOO_LARGE);
			req->state = ST_REFUSED;
			return;
		}
	}
	req->state = ST_BODY;
}

/* a body chunk: 0, or -EFBIG when over the cap (the connection closes) */
static int req_body(struct ptl_http *h, struct req_priv *rp, const char *data, size_t len)
{
	struct ptl_req *req = &rp->req;
	if (!req->route)
		return 0; /* a builtin: nothing to read */
	size_t cap = req->route->max_body ? req->route->max_body : (req->route->body ? SIZE_MAX : h->o.max_body);
	if (len > cap - req->body_bytes)
		return -EFBIG;
	req->body_bytes += len;
	if (req->route->body) {
		if (!req->body_error) {
			int r = req->route->body(req, data, len);
			if (r < 0)
				req->body_error = r;
		}
		return 0;
	}
	strbuf_append(&req->body, data, len);
	return 0;
}

static void req_run(struct ptl_http *h, struct req_priv *rp)
{
	struct ptl_req *req = &rp->req;
	if (!req->route) {
		const struct builtin *b = rp->builtin;
		ptl_send_text(req, b->status, b->ctype, b->body, strlen(b->body));
		return;
	}
	if (req->route->body) {
		if (!req->body_error) {
			int r = req->route->body(req, NULL, 0);
			if (r < 0)
				req->body_error = r;
		}
	} else if (strcmp(req->method, "POST") == 0) {
		const char *ct = ptl_req_header(req, "Content-Type");
		int r = -EINVAL;
		if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
			r = ptl_form_parse(req->body.buf ? req->body.buf : "", req->body.len, &req->form);
		if (r < 0) {
			refuse(h, req, r == -EFBIG ? PTL_R_TOO_LARGE : PTL_R_BAD_FORM,
			       r == -EFBIG ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST);
			return;
		}
	}
	req->route->fn(req);
	if (!req->answered) {
		const char *t = "internal error\n";
		ptl_send_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", t, strlen(t));
	}
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct ptl_http *h = cls;
	struct req_priv *rp = *con_cls;
	if (!rp) {
		rp = xcalloc(1, sizeof *rp);
		rp->req.srv = h;
		rp->req.arg = h->o.arg;
		rp->req.conn = conn;
		*con_cls = rp;
		req_begin(h, rp, url, method);
		return MHD_YES;
	}
	struct ptl_req *req = &rp->req;
	if (*upload_data_size) {
		if (req->state == ST_REFUSED) {
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (req_body(h, rp, upload_data, *upload_data_size) < 0)
			return MHD_NO; /* past the cap without a Content-Length that said so: close */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->state == ST_BODY) {
		req->state = ST_DONE;
		req_run(h, rp);
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	struct ptl_http *h = cls;
	struct req_priv *rp = *con_cls;
	if (!rp)
		return;
	if (h->o.done)
		h->o.done(&rp->req, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	ptl_form_free(&rp->req.form);
	strbuf_free(&rp->req.body);
	for (size_t i = 0; i < rp->ncookies; i++)
		free(rp->cookies[i]);
	free(rp);
	*con_cls = NULL;
}

/* "ADDR:PORT" or "[V6]:PORT" into a socket address */
static int parse_listen(const char *s, struct sockaddr_storage *ss, bool *v6)
{
	char host[64];
	const char *colon;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = 0;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof host)
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
	}
	char *e;
	unsigned long port = strtoul(colon + 1, &e, 10);
	if (*e || !colon[1] || port == 0 || port > 65535)
		return -EINVAL;
	int fam;
	u128 a;
	if (inaddr_parse(host, &fam, &a) < 0)
		return -EINVAL;
	memset(ss, 0, sizeof *ss);
	if (fam == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		inaddr_to_bytes(4, a, &in->sin_addr);
		*v6 = false;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		inaddr_to_bytes(6, a, &in6->sin6_addr);
		*v6 = true;
	}
	return 0;
}

static int read_pem(const char *path, char **ret, char *why, size_t whylen)
{
	void *buf;
	size_t len;
	int r = fdio_read_file(path, PTL_CERT_MAX, &buf, &len);
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	char *s = xmalloc(len + 1);
	memcpy(s, buf, len);
	s[len] = 0;
	explicit_bzero(buf, len);
	free(buf);
	*ret = s;
	return 0;
}

/* Only TLS 1.2 and 1.3 with AEAD ciphers. */
static const char ptl_tls_priorities[] = "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:"
					 "+AES-128-GCM:+CHACHA20-POLY1305:%SERVER_PRECEDENCE";

int ptl_http_start(const struct ptl_http_opts *o, struct ptl_http **ret, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	bool v6;
	if (!o->listen || parse_listen(o->listen, &ss, &v6) < 0) {
		snprintf(why, whylen, "listen address %s: expected ADDR:PORT or [V6]:PORT", o->listen ? o->listen : "");
		return -EINVAL;
	}
	struct ptl_http *h = xcalloc(1, sizeof *h);
	h->o = *o;
	if (!h->o.max_conn)
		h->o.max_conn = 256;
	if (!h->o.max_conn_per_ip)
		h->o.max_conn_per_ip = 16;
	if (!h->o.timeout_s)
		h->o.timeout_s = 30;
	if (!h->o.threads)
		h->o.threads = 4;
	if (!h->o.max_header)
		h->o.max_header = 32 << 10;
	if (!h->o.max_body)
		h->o.max_body = 16 << 10;
	int r = read_pem(o->cert_file, &h->cert, why, whylen);
	if (r == 0)
		r = read_pem(o->key_file, &h->key, why, whylen);
	if (r < 0) {
		ptl_http_stop(h);
		return r;
	}
	unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (v6 ? MHD_USE_IPv6 : 0);
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_HTTPS_MEM_CERT, h->cert, MHD_OPTION_HTTPS_MEM_KEY, h->key,
				MHD_OPTION_HTTPS_PRIORITIES, ptl_tls_priorities, MHD_OPTION_CONNECTION_LIMIT,
				h->o.max_conn, MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->o.max_conn_per_ip,
				MHD_OPTION_CONNECTION_TIMEOUT, h->o.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				h->o.max_header, MHD_OPTION_THREAD_POOL_SIZE, h->o.threads, MHD_OPTION_NOTIFY_COMPLETED,
				on_completed, h, MHD_OPTION_END);
	if (!h->d) {
		snprintf(why, whylen, "cannot start the HTTPS server on %s (address in use, or the certificate/key)",
			 o->listen);
		ptl_http_stop(h);
		return -EADDRNOTAVAIL;
	}
	*ret = h;
	return 0;
}

void ptl_http_stop(struct ptl_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->key) {
		explicit_bzero(h->key, strlen(h->key));
		free(h->key);
	}
	free(h->cert);
	free(h);
}
