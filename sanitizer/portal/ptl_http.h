/* ptl_http: the HTTPS core of the file portals (sekisho-portal,
 * sekisho-upload; docs/portal.md).
 *
 * A server (libmicrohttpd with GnuTLS, HTTPS only) bound to one address,
 * with caps on connections (total and per IP), a connection timeout
 * (slowloris), the request header memory and the body, a small router
 * ("/m/ * /copy/ *" patterns), urlencoded forms, cookies, CSRF tokens, the
 * language of the page (Accept-Language), an HTML page builder whose one
 * escape function every caller goes through, and responses that always carry
 * the security headers (CSP without scripts, HSTS, frame-ancestors 'none' /
 * X-Frame-Options DENY, nosniff, no-referrer, no-store).
 *
 * The pieces below the server (escape, forms, cookies, language, CSRF) are
 * pure functions, unit-tested and fuzzed on their own.
 *
 * Bodies: a route without a body function gets an urlencoded body of at
 * most its cap parsed into req->form before its handler runs; a route with
 * a body function (multipart uploads: MHD_PostProcessor in the caller) gets
 * every chunk as it arrives, then the handler.
 *
 * Ownership: the server owns requests; a handler's strings live until it
 * returns.  Functions return 0 or -errno; nothing here prints. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/html.h"
#include "common/inaddr.h"
#include "common/strbuf.h"

/* ------------------------------------------------------------- escaping -- */

/* HTML escaping is common/html.h's html_escape (also the audit report's). */

/* Percent-encode s for a URL path segment or RFC 5987 value (unreserved
 * characters kept). */
void ptl_pct_encode(struct strbuf *sb, const char *s, size_t len);

/* ------------------------------------------------------------- language -- */

enum ptl_lang { PTL_JA = 0, PTL_EN = 1 };

/* The page language for an Accept-Language value (NULL allowed): en when
 * English is preferred over Japanese by q-value, ja otherwise. */
enum ptl_lang ptl_lang_pick(const char *accept_language);

/* ---------------------------------------------------------------- forms -- */

#define PTL_FORM_MAX_FIELDS 16
#define PTL_FORM_MAX_NAME 32
#define PTL_FORM_MAX_VALUE 4096

struct ptl_form {
	size_t n;
	char *name[PTL_FORM_MAX_FIELDS];
	char *value[PTL_FORM_MAX_FIELDS];
};

/* Parse an application/x-www-form-urlencoded body: 0, -EFBIG (too many
 * fields or one too long), -EINVAL (bad escape, a name repeated, a value
 * that is not UTF-8 or holds a control character other than \t \n; \r is
 * dropped), -ENOMEM.  *ret is empty on error (ptl_form_free). */
int ptl_form_parse(const char *body, size_t len, struct ptl_form *ret);
/* The value of name, or NULL. */
const char *ptl_form_get(const struct ptl_form *f, const char *name);
void ptl_form_free(struct ptl_form *f);

/* -------------------------------------------------------------- cookies -- */

#define PTL_COOKIE_MAX 16
#define PTL_COOKIE_MAX_LEN 256

/* The value of cookie name in a Cookie header (NULL allowed) copied to out
 * (outlen bytes): 0, -ENOENT (absent or malformed header), -EFBIG (too
 * long, or more than PTL_COOKIE_MAX cookies), -EINVAL (name given twice:
 * a planted second cookie is refused, not guessed between). */
int ptl_cookie_get(const char *header, const char *name, char *out, size_t outlen);

/* A Set-Cookie value: name=value; Path=/; Secure; HttpOnly; SameSite=Strict
 * and Max-Age when max_age >= 0 (0 deletes).  name and value must be
 * cookie-safe tokens (checked: -EINVAL). */
int ptl_cookie_format(struct strbuf *sb, const char *name, const char *value, long max_age);

/* ----------------------------------------------------------------- CSRF -- */

#define PTL_CSRF_KEY_BYTES 32
#define PTL_CSRF_LEN 43 /* base64url of a SHA-256 HMAC, no padding */

/* The CSRF token bound to bind (a session id or a pre-session cookie). */
void ptl_csrf_make(const uint8_t key[PTL_CSRF_KEY_BYTES], const char *bind, char out[PTL_CSRF_LEN + 1]);
/* true when token is the token of bind (constant time) */
bool ptl_csrf_ok(const uint8_t key[PTL_CSRF_KEY_BYTES], const char *bind, const char *token);

/* base64url without padding of n random bytes (getrandom) into out
 * (4*n/3+2 bytes at least): 0 or -errno. */
int ptl_random_token(size_t n, char *out, size_t outlen);
/* base64url without padding of bytes */
void ptl_b64url(const uint8_t *b, size_t n, char *out);

/* ---------------------------------------------------------------- pages -- */

/* An HTML page: ptl_page_begin writes the head (lang, title, the style
 * sheet /style.css), ptl_page_put appends fmt where every %s argument is
 * escaped (html_escape) and only %s, %d, %u, %ld, %lld, %llu, %zu and %%
 * are known; the format itself is trusted markup.  ptl_page_end closes it. */
struct ptl_page {
	struct strbuf sb;
	enum ptl_lang lang;
};
void ptl_page_begin(struct ptl_page *p, enum ptl_lang lang, const char *title);
void ptl_page_put(struct ptl_page *p, const char *fmt, ...);
void ptl_page_vput(struct ptl_page *p, const char *fmt, va_list ap);
void ptl_page_end(struct ptl_page *p);
/* a hidden csrf field */
void ptl_page_csrf(struct ptl_page *p, const char *token);

/* The style sheet served at /style.css. */
extern const char ptl_style_css[];

/* --------------------------------------------------------------- server -- */

struct ptl_http;
struct ptl_req;

/* A route handler: answers with one of the ptl_send_* calls (exactly one;
 * returning without one sends 500). */
typedef void ptl_handler_fn(struct ptl_req *req);
/* A streaming body consumer: called with each chunk (len > 0), then once
 * with data NULL and len 0 at the end.  0 to go on; a negative errno makes
 * the rest of the body be read and dropped (up to the route's max_body) and
 * the handler run with req->body_error set.  It may keep state in
 * req->user (freed by opts.done) and may use req->conn for
 * MHD_create_post_processor (multipart/form-data). */
typedef int ptl_body_fn(struct ptl_req *req, const char *data, size_t len);
/* Called once when a request ends (also after an aborted one), for
 * req->user; completed_ok: the whole response was sent. */
typedef void ptl_done_fn(struct ptl_req *req, bool completed_ok);

#define PTL_ROUTE_MAX_ARGS 4

struct ptl_route {
	const char *method;  /* "GET", "POST" */
	const char *pattern; /* "/m/ * /copy/ *" written without spaces: "*" = one segment */
	ptl_handler_fn *fn;
	ptl_body_fn *body; /* NULL: urlencoded form, buffered up to max_body */
	size_t max_body;   /* 0 = the server's max_body; with body: unlimited unless set */
};

struct ptl_http_opts {
	const char *listen; /* "ADDR:PORT", "[V6]:PORT" */
	const char *cert_file, *key_file;
	unsigned max_conn;        /* 0 = 256 */
	unsigned max_conn_per_ip; /* 0 = 16 */
	unsigned timeout_s;       /* idle connection timeout, 0 = 30 */
	unsigned threads;         /* 0 = 4 */
	size_t max_header;        /* connection memory (request line + headers), 0 = 32 KiB */
	size_t max_body;          /* urlencoded bodies, 0 = 16 KiB */
	const struct ptl_route *routes;
	size_t nroutes;
	ptl_handler_fn *refuse; /* answers req->refusal (a PTL_R_* key) with a page; NULL = plain text */
	ptl_done_fn *done;      /* optional */
	void *arg;              /* req->arg */
};

/* Refusal keys the core sets before calling opts->refuse. */
#define PTL_R_NOT_FOUND "not-found"
#define PTL_R_METHOD "method"
#define PTL_R_TOO_LARGE "too-large"
#define PTL_R_BAD_FORM "bad-form"

struct ptl_req {
	struct ptl_http *srv;
	void *arg;  /* opts.arg */
	void *user; /* the handler's, freed in opts.done */
	const char *method;
	const char *path; /* the request path as received (MHD unescapes it) */
	const char *args[PTL_ROUTE_MAX_ARGS];
	size_t nargs;
	const struct ptl_route *route;
	struct ptl_form form; /* POST without body fn */
	int body_error;       /* -EFBIG, -EINVAL, or the body fn's error */
	enum ptl_lang lang;
	char peer[INADDR_STRLEN];
	int peer_family;
	u128 peer_addr;
	const char *refusal;         /* for opts.refuse */
	struct MHD_Connection *conn; /* for MHD_PostProcessor in a body function */
	/* private to ptl_http */
	struct strbuf body;
	size_t body_bytes;
	bool answered;
	int state;
};

/* Start the server (its own threads): 0 or -errno with why. */
int ptl_http_start(const struct ptl_http_opts *o, struct ptl_http **ret, char *why, size_t whylen);
void ptl_http_stop(struct ptl_http *h);

/* A request header (case-insensitive), or NULL. */
const char *ptl_req_header(struct ptl_req *req, const char *name);
/* The cookie name of the request into out: as ptl_cookie_get. */
int ptl_req_cookie(struct ptl_req *req, const char *name, char *out, size_t outlen);
/* true when a POST comes from this site: no Origin or Origin == https://Host,
 * and no Sec-Fetch-Site other than same-origin / none */
bool ptl_req_same_origin(struct ptl_req *req);

/* Extra headers for the next send: Set-Cookie values (at most 4) and a
 * Location. Values with CR, LF or NUL are refused (-EINVAL). */
int ptl_req_set_cookie(struct ptl_req *req, const char *value);

/* Send a page (takes p's buffer), a redirect (303 to a local path that must
 * begin with "/" and hold no CR/LF), a plain text, or an open file
 * (fd taken; size bytes; Content-Disposition attachment with the RFC 5987
 * name and an ASCII fallback). 0 or -errno. */
int ptl_send_page(struct ptl_req *req, unsigned status, struct ptl_page *p);
int ptl_send_redirect(struct ptl_req *req, const char *location);
int ptl_send_text(struct ptl_req *req, unsigned status, const char *ctype, const char *text, size_t len);
int ptl_send_file(struct ptl_req *req, int fd, uint64_t size, const char *ctype, const char *filename);

/* Content-Disposition value for filename (ASCII fallback "download" + the
 * RFC 5987 filename*), exposed for tests. */
void ptl_disposition(struct strbuf *sb, const char *filename);

/* Match path against pattern ("*" = one segment of 1 to 128 characters of
 * [A-Za-z0-9_-]: no ".", "/", "%", "\\", space or control byte ever reaches
 * a handler), filling args with pointers into buf (a copy of path, buflen
 * bytes).  true on a match. */
bool ptl_route_match(const char *pattern, const char *path, char *buf, size_t buflen, const char **args, size_t *nargs);
