/* ptl_multipart: streaming multipart/form-data parser (see ptl_multipart.h).
 * Contract: memory is allocated once in ptl_mp_new (the header buffers,
 * sized by max_header) and never grows; every byte of input is looked at
 * once; a failure is sticky and named by a reason key.  Nothing prints. */
#include "sanitizer/portal/ptl_multipart.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_HEADER 8192
#define DEFAULT_MAX_PARTS 64
#define DEFAULT_MAX_LINES 16
/* transport padding allowed after a delimiter (RFC 2046 LWSP) */
#define MAX_PADDING 64

enum mp_state {
	S_PREAMBLE, /* looking for the first delimiter; bytes dropped */
	S_AFTER,    /* just after a delimiter: "--" closes, CRLF opens a part */
	S_AFTER_DASH,
	S_AFTER_CR,
	S_HEADERS,  /* collecting a part's header block */
	S_BODY,     /* a part's data, looking for the next delimiter */
	S_EPILOGUE, /* after the closing delimiter; bytes dropped */
	S_FAILED,
};

struct ptl_mp {
	struct ptl_mp_ops ops;
	void *arg;
	struct ptl_mp_caps caps;
	enum mp_state state;
	/* "\r\n--" boundary, and how much of it the last bytes matched */
	char delim[4 + PTL_MP_BOUNDARY_MAX + 1];
	size_t dlen, m;
	size_t preamble, padding;
	unsigned parts;
	bool in_part; /* begin was called and end not yet */
	char *hbuf;   /* the header block (max_header bytes) */
	size_t hlen;
	char *vbuf; /* the part's decoded strings (max_header + 3 bytes) */
	int err;
	const char *why;
};

static bool bchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c && strchr("'()+_,-./:=? ", c) != NULL);
}

static bool boundary_valid(const char *b, size_t n)
{
	if (n == 0 || n > PTL_MP_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!bchar((unsigned char)b[i]))
			return false;
	return true;
}

static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* One parameter "; key=value" at *sp (after OWS): the key into key (cap
 * keylen), the value (token or quoted string) appended to *out.  false
 * when malformed. */
static bool next_param(const char **sp, char *key, size_t keylen, char **out, size_t *outlen)
{
	const char *s = skip_ows(*sp);
	if (*s != ';')
		return false;
	s = skip_ows(s + 1);
	size_t k = 0;
	while (tchar((unsigned char)*s)) {
		if (k + 1 >= keylen)
			return false;
		key[k++] = *s++;
	}
	key[k] = 0;
	if (k == 0 || *s != '=')
		return false;
	s++;
	char *o = *out;
	if (*s == '"') {
		/* browsers percent-encode '"', CR and LF in names and send
		 * backslashes as they are: no escapes */
		for (s++; *s && *s != '"'; s++)
			*o++ = *s;
		if (*s != '"')
			return false;
		s++;
	} else {
		if (!tchar((unsigned char)*s))
			return false;
		while (tchar((unsigned char)*s))
			*o++ = *s++;
	}
	*o++ = 0;
	*outlen = (size_t)(o - *out) - 1;
	*out = o;
	*sp = s;
	return true;
}

static int fail(struct ptl_mp *mp, int err, const char *why)
{
	mp->err = err;
	mp->why = why;
	mp->state = S_FAILED;
	return err;
}

/* The header block hbuf[0..hlen) (ending in the empty line) is complete:
 * check it and call begin. */
static int headers_done(struct ptl_mp *mp)
{
	if (mp->parts >= mp->caps.max_parts)
		return fail(mp, -E2BIG, "mp-too-many-parts");
	mp->hbuf[mp->hlen] = 0;
	char *v = mp->vbuf;
	struct ptl_mp_part part = {0};
	bool have_cd = false, have_ct = false;
	unsigned lines = 0;
	char *line = mp->hbuf;
	for (;;) {
		char *eol = strstr(line, "\r\n");
		if (!eol)
			return fail(mp, -EBADMSG, "mp-syntax");
		if (eol == line)
			break; /* the empty line */
		*eol = 0;
		if (++lines > mp->caps.max_lines)
			return fail(mp, -E2BIG, "mp-header-too-long");
		for (char *c = line; *c; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
				return fail(mp, -EBADMSG, "mp-syntax"); /* a bare CR or LF, a control */
		char *colon = strchr(line, ':');
		if (!colon || colon == line)
			return fail(mp, -EBADMSG, "mp-syntax"); /* also folding: a line starting with SP */
		for (char *c = line; c < colon; c++)
			if (!tchar((unsigned char)*c))
				return fail(mp, -EBADMSG, "mp-syntax");
		*colon = 0;
		const char *val = skip_ows(colon + 1);
		if (!strcasecmp(line, "content-disposition")) {
			if (have_cd)
				return fail(mp, -EBADMSG, "mp-syntax");
			have_cd = true;
			size_t n = strlen("form-data");
			if (strncasecmp(val, "form-data", n) ||
			    (val[n] && val[n] != ';' && val[n] != ' ' && val[n] != '\t'))
				return fail(mp, -EBADMSG, "mp-syntax");
			const char *s = val + n;
			while (*skip_ows(s)) {
				char key[32];
				char *start = v;
				size_t len = 0;
				if (!next_param(&s, key, sizeof(key), &v, &len))
					return fail(mp, -EBADMSG, "mp-syntax");
				const char **dst = !strcasecmp(key, "name") ? &part.name
					: !strcasecmp(key, "filename")      ? &part.filename
									    : NULL;
				if (!dst)
					continue; /* filename* and others: RFC 7578 says ignore */
				if (*dst)
					return fail(mp, -EBADMSG, "mp-syntax"); /* twice: two readers could differ */
				*dst = start;
				if (dst == &part.filename)
					part.filename_len = len;
			}
		} else if (!strcasecmp(line, "content-type")) {
			if (have_ct)
				return fail(mp, -EBADMSG, "mp-syntax");
			have_ct = true;
			if (!strncasecmp(val, "multipart/", strlen("multipart/")))
				return fail(mp, -EBADMSG, "mp-nested");
			size_t n = strlen(val);
			memcpy(v, val, n + 1);
			part.type = v;
			v += n + 1;
		}
		line = eol + 2;
	}
	if (!part.name || !part.name[0])
		return fail(mp, -EBADMSG, "mp-no-name");
	mp->parts++;
	mp->in_part = true;
	int r = mp->ops.begin(mp->arg, &part);
	if (r < 0)
		return fail(mp, r, "mp-callback");
	return 0;
}

static int emit(struct ptl_mp *mp, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	int r = mp->ops.data(mp->arg, buf, len);
	return r < 0 ? fail(mp, r, "mp-callback") : 0;
}

/* A whole delimiter was matched: the part (if any) ends. */
static int delimiter(struct ptl_mp *mp)
{
	mp->m = 0;
	mp->padding = 0;
	mp->state = S_AFTER;
	if (mp->in_part) {
		mp->in_part = false;
		int r = mp->ops.end(mp->arg);
		if (r < 0)
			return fail(mp, r, "mp-callback");
	}
	return 0;
}

/* S_PREAMBLE and S_BODY: match the delimiter in b[0..n); data goes to the
 * part (body) or nowhere (preamble).  Returns the bytes consumed (up to and
 * including a whole delimiter) or a negative error. */
static long scan(struct ptl_mp *mp, const unsigned char *b, size_t n)
{
	bool body = mp->state == S_BODY;
	size_t i = 0;
	while (i < n) {
		if (mp->m == 0) {
			const unsigned char *cr = memchr(b + i, '\r', n - i);
			size_t run = cr ? (size_t)(cr - (b + i)) : n - i;
			if (body) {
				if (emit(mp, b + i, run) < 0)
					return mp->err;
			} else if ((mp->preamble += run) > mp->caps.max_header) {
				return fail(mp, -EBADMSG, "mp-syntax");
			}
			i += run;
			if (!cr)
				break;
			mp->m = 1;
			i++;
			continue;
		}
		if (b[i] == (unsigned char)mp->delim[mp->m]) {
			i++;
			if (++mp->m == mp->dlen) {
				int r = delimiter(mp);
				return r < 0 ? r : (long)i;
			}
			continue;
		}
		/* a failed match: the matched bytes were data; the current byte
		 * is looked at again with nothing matched (only delim[0] is a
		 * CR, so no shorter match can be pending) */
		if (body) {
			if (emit(mp, mp->delim, mp->m) < 0)
				return mp->err;
		} else if ((mp->preamble += mp->m) > mp->caps.max_header) {
			return fail(mp, -EBADMSG, "mp-syntax");
		}
		mp->m = 0;
	}
	return (long)i;
}

int ptl_mp_feed(struct ptl_mp *mp, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i = 0;
	if (mp->state == S_FAILED)
		return mp->err;
	while (i < len) {
		unsigned char c = b[i];
		switch (mp->state) {
		case S_PREAMBLE:
		case S_BODY: {
			long r = scan(mp, b + i, len - i);
			if (r < 0)
				return (int)r;
			i += (size_t)r;
			break;
		}
		case S_AFTER:
			i++;
			if (c == '-')
				mp->state = S_AFTER_DASH;
			else if (c == '\r')
				mp->state = S_AFTER_CR;
			else if ((c == ' ' || c == '\t') && ++mp->padding <= MAX_PADDING)
				;
			else
				return fail(mp, -EBADMSG, "mp-syntax");
			break;
		case S_AFTER_DASH:
			i++;
			if (c != '-')
				return fail(mp, -EBADMSG, "mp-syntax");
			mp->state = S_EPILOGUE;
			break;
		case S_AFTER_CR:
			i++;
			if (c != '\n')
				return fail(mp, -EBADMSG, "mp-syntax");
			mp->state = S_HEADERS;
			mp->hlen = 0;
			break;
		case S_HEADERS:
			i++;
			if (mp->hlen >= mp->caps.max_header)
				return fail(mp, -E2BIG, "mp-header-too-long");
			mp->hbuf[mp->hlen++] = (char)c;
			if (c == '\n' && mp->hlen >= 2 && mp->hbuf[mp->hlen - 2] == '\r' &&
			    (mp->hlen == 2 || (mp->hlen >= 4 && !memcmp(mp->hbuf + mp->hlen - 4, "\r\n\r\n", 4)))) {
				int r = headers_done(mp);
				if (r < 0)
					return r;
				mp->state = S_BODY;
				mp->m = 0;
			}
			break;
		case S_EPILOGUE:
			return 0;
		case S_FAILED:
			return mp->err;
		}
	}
	return 0;
}

int ptl_mp_finish(struct ptl_mp *mp)
{
	if (mp->state == S_FAILED)
		return mp->err;
	if (mp->state != S_EPILOGUE)
		return fail(mp, -EBADMSG, "mp-truncated");
	return 0;
}

int ptl_mp_boundary(const char *ct, char ret[PTL_MP_BOUNDARY_MAX + 1])
{
	ret[0] = 0;
	if (!ct)
		return -EBADMSG;
	const char *s = skip_ows(ct);
	size_t n = strlen("multipart/form-data");
	if (strncasecmp(s, "multipart/form-data", n))
		return -EBADMSG;
	s += n;
	/* parameters decoded into a buffer as long as the header */
	size_t cap = strlen(s) + 1;
	if (cap > 4096)
		return -EBADMSG;
	char *buf = malloc(cap), *o = buf;
	if (!buf)
		return -EBADMSG;
	int r = -EBADMSG;
	bool seen = false;
	while (*skip_ows(s)) {
		char key[32], *start = o;
		size_t len;
		if (!next_param(&s, key, sizeof(key), &o, &len))
			goto out;
		if (strcasecmp(key, "boundary"))
			continue;
		if (seen || !boundary_valid(start, len))
			goto out;
		memcpy(ret, start, len + 1);
		seen = true;
	}
	if (seen)
		r = 0;
out:
	free(buf);
	if (r < 0)
		ret[0] = 0;
	return r;
}

int ptl_mp_new(const char *boundary, const struct ptl_mp_caps *caps, const struct ptl_mp_ops *ops, void *arg,
	       struct ptl_mp **ret)
{
	if (!boundary || !boundary_valid(boundary, strlen(boundary)) || !ops || !ops->begin || !ops->data || !ops->end)
		return -EINVAL;
	struct ptl_mp *mp = calloc(1, sizeof(*mp));
	if (!mp)
		return -ENOMEM;
	if (caps)
		mp->caps = *caps;
	if (!mp->caps.max_header)
		mp->caps.max_header = DEFAULT_MAX_HEADER;
	if (!mp->caps.max_parts)
		mp->caps.max_parts = DEFAULT_MAX_PARTS;
	if (!mp->caps.max_lines)
		mp->caps.max_lines = DEFAULT_MAX_LINES;
	if (mp->caps.max_header > ((size_t)1 << 20) || !(mp->hbuf = malloc(mp->caps.max_header + 1)) ||
	    !(mp->vbuf = malloc(mp->caps.max_header + 3))) {
		ptl_mp_free(mp);
		return -ENOMEM;
	}
	mp->ops = *ops;
	mp->arg = arg;
	mp->dlen = 4 + strlen(boundary);
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, strlen(boundary) + 1);
	/* the body starts with "--boundary": as if a CRLF came before it */
	mp->state = S_PREAMBLE;
	mp->m = 2;
	mp->why = "";
	*ret = mp;
	return 0;
}

const char *ptl_mp_why(const struct ptl_mp *mp)
{
	return mp->why;
}

unsigned ptl_mp_parts(const struct ptl_mp *mp)
{
	return mp->parts;
}

void ptl_mp_free(struct ptl_mp *mp)
{
	if (!mp)
		return;
	free(mp->hbuf);
	free(mp->vbuf);
	free(mp);
}
