/* san_ambig: ambiguous raw structure (see san_ambig.h).
 *
 * Contract: a line assembler (a line inside one fed chunk is looked at in
 * place; one split across chunks is copied into one buffer of max_line
 * bytes, anything past that counted, not kept) feeding a small state
 * machine: header block or body, the
 * Content-Type of the current header block, the boundaries declared so
 * far.  Linear in the input; allocation only at creation.  Never fails
 * after creation. */
#include "sanitizer/san_ambig.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_BOUNDARY 200
#define MAX_CTYPE ((size_t)16 << 10)
/* Bytes of a line that are examined: headers, delimiters and their
 * neighbourhood; a longer line is counted, its tail not looked at.  Small
 * enough to sit in the state, which is allocated once per message. */
#define MAX_LINE ((size_t)8 << 10)

struct san_ambig {
	size_t max_line, len; /* the line being assembled */
	unsigned flags;
	size_t crlf, lf, lines;
	/* header block state */
	bool in_header, first_in_block, block_ct_message, seen_ct, seen_cte;
	bool collecting; /* continuation lines belong to Content-Type */
	size_t ct_len;
	/* boundaries declared so far */
	size_t bnd_len[SAN_AMBIG_MAX_BOUNDARIES];
	size_t n_bnd;
	/* buffers last: only the bytes written are ever read, so they are
	 * not cleared */
	char line[MAX_LINE];
	char ct[MAX_CTYPE]; /* the Content-Type field being collected */
	char bnd[SAN_AMBIG_MAX_BOUNDARIES][MAX_BOUNDARY + 1];
};

const char *san_ambig_reason(unsigned bit)
{
	switch (bit) {
	case SAN_AMBIG_BARE_CR:
		return "bare-cr";
	case SAN_AMBIG_MIXED_EOL:
		return "mixed-line-ends";
	case SAN_AMBIG_NUL:
		return "nul-byte";
	case SAN_AMBIG_DUP_BOUNDARY:
		return "duplicate-boundary";
	case SAN_AMBIG_DUP_CTYPE:
		return "duplicate-content-header";
	case SAN_AMBIG_MIDLINE:
		return "delimiter-mid-line";
	case SAN_AMBIG_DELIM_IN_HDR:
		return "delimiter-in-header";
	case SAN_AMBIG_HEADER_NAME:
		return "header-syntax";
	case SAN_AMBIG_OBS_FOLD:
		return "obs-fold";
	}
	return "ambiguous";
}

int san_ambig_new(size_t max_line, struct san_ambig **ret)
{
	struct san_ambig *a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	memset(a, 0, offsetof(struct san_ambig, line));
	a->max_line = max_line && max_line < MAX_LINE ? max_line : MAX_LINE;
	a->in_header = a->first_in_block = true;
	*ret = a;
	return 0;
}

void san_ambig_free(struct san_ambig *a)
{
	free(a);
}

static void add_boundary(struct san_ambig *a, const char *b, size_t n)
{
	if (n == 0)
		return;
	if (n > MAX_BOUNDARY)
		n = MAX_BOUNDARY;
	for (size_t i = 0; i < a->n_bnd; i++)
		if (a->bnd_len[i] == n && memcmp(a->bnd[i], b, n) == 0)
			return;
	if (a->n_bnd == SAN_AMBIG_MAX_BOUNDARIES) {
		a->flags |= SAN_AMBIG_DUP_BOUNDARY;
		return;
	}
	memcpy(a->bnd[a->n_bnd], b, n);
	a->bnd[a->n_bnd][n] = '\0';
	a->bnd_len[a->n_bnd++] = n;
}

/* The boundary parameters of a collected Content-Type: every
 * "boundary=" (any case, optional white space, quoted or not). */
static void ct_done(struct san_ambig *a)
{
	if (!a->collecting)
		return;
	a->collecting = false;
	const char *p = a->ct, *e = a->ct + a->ct_len;
	/* message/rfc822 and message/global enclose a message; other
	 * message/ types (delivery-status...) do not start with a header
	 * block that this scan should check */
	const char *t = p;
	while (t < e && (*t == ' ' || *t == '\t'))
		t++;
	if ((size_t)(e - t) >= 14 &&
	    (strncasecmp(t, "message/rfc822", 14) == 0 || strncasecmp(t, "message/global", 14) == 0))
		a->block_ct_message = true;
	unsigned found = 0;
	for (const char *q = p; q + 8 < e; q++) {
		if (strncasecmp(q, "boundary", 8) != 0 || (q > p && (q[-1] == '-' || q[-1] == '_')))
			continue;
		const char *v = q + 8;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= e || *v != '=')
			continue;
		v++;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		const char *ve;
		if (v < e && *v == '"') {
			v++;
			ve = memchr(v, '"', (size_t)(e - v));
			if (!ve)
				ve = e;
		} else {
			ve = v;
			while (ve < e && *ve != ';' && *ve != ' ' && *ve != '\t')
				ve++;
		}
		add_boundary(a, v, (size_t)(ve - v));
		found++;
		q = ve > q ? ve - 1 : q;
	}
	if (found > 1)
		a->flags |= SAN_AMBIG_DUP_BOUNDARY;
}

static void ct_append(struct san_ambig *a, const char *p, size_t n)
{
	if (n > MAX_CTYPE - a->ct_len)
		n = MAX_CTYPE - a->ct_len;
	memcpy(a->ct + a->ct_len, p, n);
	a->ct_len += n;
}

/* The index of the boundary whose delimiter starts p, or -1. */
static int delimiter(const struct san_ambig *a, const char *p, size_t n)
{
	if (n < 3 || p[0] != '-' || p[1] != '-')
		return -1;
	int best = -1;
	for (size_t i = 0; i < a->n_bnd; i++)
		if (n >= 2 + a->bnd_len[i] && memcmp(p + 2, a->bnd[i], a->bnd_len[i]) == 0 &&
		    (best < 0 || a->bnd_len[i] > a->bnd_len[best]))
			best = (int)i;
	return best;
}

static bool midline(const struct san_ambig *a, const char *p, size_t n)
{
	for (size_t i = 0; i < a->n_bnd; i++) {
		size_t bl = a->bnd_len[i];
		for (const char *q = p + 1; q + 2 + bl <= p + n; q++) {
			q = memmem(q, (size_t)(p + n - q), "--", 2);
			if (!q || q + 2 + bl > p + n)
				break;
			if (memcmp(q + 2, a->bnd[i], bl) == 0)
				return true;
		}
	}
	return false;
}

static void header_line(struct san_ambig *a, const char *p, size_t n)
{
	if (n == 0) {
		/* end of the header block */
		ct_done(a);
		a->in_header = false;
		/* a message/rfc822 part's body starts with the inner message's
		 * header block (a multipart's body with its preamble) */
		if (a->block_ct_message) {
			a->in_header = a->first_in_block = true;
		}
		a->block_ct_message = a->seen_ct = a->seen_cte = false;
		return;
	}
	if (delimiter(a, p, n) >= 0) {
		/* a lenient reader starts a new part here: follow that reading */
		a->flags |= SAN_AMBIG_DELIM_IN_HDR;
		ct_done(a);
		a->seen_ct = a->seen_cte = a->block_ct_message = false;
		a->first_in_block = true;
		return;
	}
	if (p[0] == ' ' || p[0] == '\t') {
		size_t k = 0;
		while (k < n && (p[k] == ' ' || p[k] == '\t'))
			k++;
		if (k == n || a->first_in_block)
			a->flags |= SAN_AMBIG_OBS_FOLD;
		if (a->collecting)
			ct_append(a, p, n);
		a->first_in_block = false;
		return;
	}
	bool mbox = a->first_in_block && a->lines == 1 && n >= 5 && memcmp(p, "From ", 5) == 0;
	a->first_in_block = false;
	ct_done(a);
	if (mbox)
		return;
	const char *colon = memchr(p, ':', n);
	size_t nl = colon ? (size_t)(colon - p) : 0;
	bool ok = colon && nl > 0;
	for (size_t k = 0; ok && k < nl; k++) {
		unsigned char c = (unsigned char)p[k];
		if (c <= 0x20 || c >= 0x7f)
			ok = false;
	}
	if (!ok) {
		a->flags |= SAN_AMBIG_HEADER_NAME;
		return;
	}
	if (nl == 12 && strncasecmp(p, "content-type", 12) == 0) {
		if (a->seen_ct)
			a->flags |= SAN_AMBIG_DUP_CTYPE;
		a->seen_ct = a->collecting = true;
		a->ct_len = 0;
		ct_append(a, colon + 1, n - nl - 1);
	} else if (nl == 25 && strncasecmp(p, "content-transfer-encoding", 25) == 0) {
		if (a->seen_cte)
			a->flags |= SAN_AMBIG_DUP_CTYPE;
		a->seen_cte = true;
	}
}

static void body_line(struct san_ambig *a, const char *p, size_t n)
{
	int d = delimiter(a, p, n);
	if (d >= 0) {
		size_t bl = a->bnd_len[d];
		bool close = n >= 4 + bl && p[2 + bl] == '-' && p[3 + bl] == '-';
		if (!close)
			a->in_header = a->first_in_block = true;
		return;
	}
	if (a->n_bnd && midline(a, p, n))
		a->flags |= SAN_AMBIG_MIDLINE;
}

/* One whole line (without LF; a CR before the LF is still there). */
/* One whole line p[0..len) (without LF; a CR before the LF is still
 * there); only its first max_line bytes are looked at. */
static void line_done(struct san_ambig *a, const char *p, size_t len, bool had_lf)
{
	size_t n = len < a->max_line ? len : a->max_line;
	a->lines++;
	if (had_lf) {
		if (n && p[n - 1] == '\r') {
			a->crlf++;
			n--;
		} else
			a->lf++;
	} else if (n && p[n - 1] == '\r') {
		n--;
	}
	if (memchr(p, '\r', n))
		a->flags |= SAN_AMBIG_BARE_CR;
	if (memchr(p, '\0', n))
		a->flags |= SAN_AMBIG_NUL;
	if (a->in_header)
		header_line(a, p, n);
	else
		body_line(a, p, n);
	a->len = 0;
}

void san_ambig_feed(struct san_ambig *a, const char *p, size_t n)
{
	const char *e = p + n;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t seg = nl ? (size_t)(nl - p) : (size_t)(e - p);
		if (nl && a->len == 0) {
			/* the whole line is in this chunk: looked at in place */
			line_done(a, p, seg, true);
			p = nl + 1;
			continue;
		}
		if (a->len < a->max_line) {
			size_t take = seg < a->max_line - a->len ? seg : a->max_line - a->len;
			memcpy(a->line + a->len, p, take);
		}
		a->len += seg;
		if (!nl)
			break;
		line_done(a, a->line, a->len, true);
		p = nl + 1;
	}
}

unsigned san_ambig_end(struct san_ambig *a)
{
	if (a->len)
		line_done(a, a->line, a->len, false);
	ct_done(a);
	if (a->crlf && a->lf)
		a->flags |= SAN_AMBIG_MIXED_EOL;
	return a->flags;
}
