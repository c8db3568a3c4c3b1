/* sanitize: the message walk and the output message (see sanitize.h).
 *
 * Contract: the original (a buffer, or a file read in place) is parsed once
 * by gmime in persist-stream mode -- part contents stay references into it,
 * never copies -- with a warning callback that marks hostile structure;
 * every entity is visited once, depth-first, with the limits checked on
 * entry; the raw bytes are scanned once beforehand for structure other
 * readers may split differently (san_ambig: the message is then
 * malformed).  A part declared as text whose bytes are not text is an
 * item; text is decoded (san_charset) or converted from HTML (san_html)
 * into the body, and the whole body is then stripped of encoded payloads
 * and printed MIME headers (san_blob); every other entity becomes an item
 * (hashed, typed by libmagic, quarantined).  The output message is built
 * from scratch: no header or byte of the original is copied except through
 * decode + re-encode.
 * gmime references are dropped as soon as a container holds its own.
 * Errors: see sanitize.h; internal errors fail closed. */
#include "sanitizer/sanitize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "common/monotime.h"
#include "sanitizer/san_ambig.h"
#include "sanitizer/san_blob.h"
#include "sanitizer/san_charset.h"
#include "sanitizer/san_detect.h"
#include "sanitizer/san_name.h"
#include "sanitizer/san_url.h"

struct sanitize_ctx {
	struct sanitize_config cfg;
	struct san_magic *magic;
	struct san_notice *own_notice;
	const struct san_notice *notice;
	GMimeParserOptions *popts;
	sanitize_link_fn link_fn; /* sanitize_ctx_set_link */
	void *link_arg;
};

struct run {
	struct sanitize_ctx *ctx;
	const struct sanitize_config *c;
	struct sanitize_result *res;
	struct strbuf body;
	struct strbuf reason;
	struct strbuf repairs;
	size_t cap_items;
	unsigned parts;
	size_t decoded;
	int64_t deadline;
	bool failed, malformed, html, utf7, links, text_urls, forward, filename, uu, encoded, nontext, tnef, ppap,
		repaired;
	size_t hidden; /* HTML elements hidden from view, dropped */
	int hard;      /* negative errno: no output may be delivered */
	const char *message_id;
};

void sanitize_config_defaults(struct sanitize_config *c)
{
	memset(c, 0, sizeof(*c));
	c->lim.max_message = (size_t)50 << 20;
	c->lim.max_depth = 16;
	c->lim.max_parts = 512;
	c->lim.max_headers = 500;
	c->lim.max_header_line = (size_t)16 << 10;
	c->lim.max_line = (size_t)256 << 10;
	c->lim.max_decoded = (size_t)100 << 20;
	c->lim.max_seconds = 30;
	c->links = SAN_LINKS_DEFANG;
	c->lang = "ja";
}

static void add_reason(struct run *r, const char *why)
{
	if (strstr(r->reason.buf ? r->reason.buf : "", why))
		return;
	if (r->reason.len)
		strbuf_putc(&r->reason, ',');
	strbuf_puts(&r->reason, why);
}

static void set_malformed(struct run *r, const char *why)
{
	r->malformed = true;
	add_reason(r, why);
}

static void set_failed(struct run *r, const char *why)
{
	if (!r->failed)
		add_reason(r, why);
	r->failed = true;
}

static void on_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer user)
{
	struct run *r = user;
	(void)offset;
	(void)item;
	if (!r)
		return;
	switch (code) {
	case GMIME_CRIT_NESTING_OVERFLOW:
		set_failed(r, "nesting-depth");
		break;
	case GMIME_CRIT_INVALID_HEADER_NAME:
		set_malformed(r, "invalid-header-name");
		break;
	case GMIME_CRIT_CONFLICTING_HEADER:
		set_malformed(r, "conflicting-header");
		break;
	case GMIME_CRIT_CONFLICTING_PARAMETER:
		set_malformed(r, "conflicting-parameter");
		break;
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		set_malformed(r, "multipart-without-boundary");
		break;
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		set_malformed(r, "empty-part");
		break;
	case GMIME_WARN_MALFORMED_MULTIPART:
		set_malformed(r, "malformed-multipart");
		break;
	case GMIME_WARN_MALFORMED_MESSAGE:
		set_malformed(r, "malformed-message");
		break;
	default:
		break;
	}
}

int sanitize_ctx_new(const struct sanitize_config *cfg, struct sanitize_ctx **ret)
{
	static bool inited;
	if (!inited) {
		g_mime_init();
		inited = true;
	}
	san_charset_pin_modules();
	struct sanitize_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->cfg = *cfg;
	if (!x->cfg.lang)
		x->cfg.lang = "ja";
	int r = san_detect_magic_new(&x->magic);
	if (r < 0) {
		free(x);
		return r;
	}
	if (cfg->notice) {
		x->notice = cfg->notice;
	} else {
		r = san_notice_new(x->cfg.lang, &x->own_notice);
		if (r < 0) {
			san_detect_magic_free(x->magic);
			free(x);
			return r;
		}
		x->notice = x->own_notice;
	}
	x->popts = g_mime_parser_options_new();
	static const char *fallback[] = {"utf-8", "cp932", "euc-jp", "iso-8859-1", NULL};
	g_mime_parser_options_set_fallback_charsets(x->popts, fallback);
	*ret = x;
	return 0;
}

void sanitize_ctx_free(struct sanitize_ctx *x)
{
	if (!x)
		return;
	g_mime_parser_options_free(x->popts);
	san_notice_free(x->own_notice);
	san_detect_magic_free(x->magic);
	free(x);
}

void sanitize_ctx_set_link(struct sanitize_ctx *x, sanitize_link_fn fn, void *arg)
{
	x->link_fn = fn;
	x->link_arg = arg;
}

void sanitize_result_free(struct sanitize_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_items; i++) {
		free(r->items[i].cdr);
		free(r->items[i].cdr_reason);
		free(r->items[i].name);
		free(r->items[i].declared);
		free(r->items[i].detected);
		free(r->items[i].reason);
		free(r->items[i].contents);
	}
	free(r->items);
	for (size_t i = 0; i < r->n_actions; i++)
		free(r->actions[i]);
	free(r->actions);
	free(r->reason);
	free(r->repairs);
	free(r->message_id);
	free(r->subject);
	free(r->link.url);
	free(r->link.error);
	memset(r, 0, sizeof(*r));
}

static char *dupz(const char *s)
{
	return strdup(s ? s : "");
}

/* UTF-8 header text with controls removed (CR/LF injection, NUL). */
static char *clean_header_text(const char *s)
{
	struct san_text t;
	if (san_charset_decode(s, strlen(s), "utf-8", &t) < 0)
		return dupz("");
	for (char *p = t.utf8; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return t.utf8;
}

static bool has_utf7_word(const char *raw)
{
	for (const char *p = raw; (p = strstr(p, "=?")); p += 2) {
		const char *cs = p + 2;
		if (san_charset_is_utf7(cs))
			return true;
	}
	return false;
}

/* The decoded value of a header (addresses re-rendered); UTF-7 words are
 * left encoded.  Caller frees. */
static char *header_value(struct run *r, GMimeHeader *h, bool addr)
{
	const char *raw = g_mime_header_get_raw_value(h);
	if (!raw)
		raw = "";
	char *unfolded = g_mime_utils_header_unfold(raw);
	char *v;
	if (has_utf7_word(unfolded)) {
		r->utf7 = true;
		v = clean_header_text(unfolded);
	} else if (addr) {
		InternetAddressList *l = internet_address_list_parse(r->ctx->popts, unfolded);
		char *s = l ? internet_address_list_to_string(l, NULL, FALSE) : g_strdup("");
		if (l)
			g_object_unref(l);
		v = clean_header_text(s ? s : "");
		g_free(s);
	} else {
		char *s = g_mime_utils_header_decode_text(r->ctx->popts, unfolded);
		v = clean_header_text(s ? s : "");
		g_free(s);
	}
	g_free(unfolded);
	return v;
}

static bool is_addr_header(const char *n)
{
	return !strcasecmp(n, "from") || !strcasecmp(n, "to") || !strcasecmp(n, "cc") || !strcasecmp(n, "reply-to") ||
		!strcasecmp(n, "sender") || !strcasecmp(n, "bcc");
}

static bool is_ascii_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
			return false;
	return true;
}

static bool is_ascii_printable_folded(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' && *s != '\r') || (unsigned char)*s > 0x7E)
			return false;
	return true;
}

static void add_item(struct run *r, struct sanitize_item *it)
{
	if (r->res->n_items == r->cap_items) {
		size_t n = r->cap_items ? r->cap_items * 2 : 8;
		struct sanitize_item *p = realloc(r->res->items, n * sizeof(*p));
		if (!p) {
			r->hard = -ENOMEM;
			free(it->name);
			free(it->declared);
			free(it->detected);
			free(it->reason);
			free(it->contents);
			return;
		}
		r->res->items = p;
		r->cap_items = n;
	}
	r->res->items[r->res->n_items++] = *it;
}

static bool ends_with_ci(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcasecmp(s + a - b, suf) == 0;
}

/* Record a removed item: hash, type, quarantine. */
static void remove_bytes(struct run *r, const void *buf, size_t len, const char *name, const char *declared,
			 const char *reason, const char *kind)
{
	struct sanitize_item it = {0};
	char nbuf[512], det[128];
	unsigned nf = san_name_neutralise(name, nbuf, sizeof(nbuf));
	if (name && *name) {
		if (nf & SAN_NAME_BIDI)
			it.flags |= SANITIZE_F_BIDI;
		if (nf & SAN_NAME_DOUBLEEXT)
			it.flags |= SANITIZE_F_DOUBLEEXT;
		if (nf & SAN_NAME_EXEC)
			it.flags |= SANITIZE_F_EXEC;
		if (nf & (SAN_NAME_BIDI | SAN_NAME_CONTROL))
			r->filename = true;
	}
	san_detect_magic_type(r->ctx->magic, buf, len, det, sizeof(det));
	if (san_detect_zip_encrypted(buf, len)) {
		it.flags |= SANITIZE_F_ENCRYPTED;
		r->ppap = true;
	}
	if (san_detect_tnef_is(buf, len)) {
		struct strbuf names = STRBUF_INIT, shown = STRBUF_INIT;
		san_detect_tnef_names(buf, len, 64, &names);
		it.flags |= SANITIZE_F_TNEF;
		r->tnef = true;
		const char *p = names.buf ? names.buf : "";
		while (*p) {
			size_t l = strcspn(p, "\n");
			char *one = strndup(p, l), nb[512];
			struct san_text t;
			if (one && san_charset_decode(one, l, NULL, &t) == 0) {
				san_name_neutralise(t.utf8, nb, sizeof(nb));
				if (shown.len)
					strbuf_puts(&shown, ", ");
				strbuf_puts(&shown, nb);
				free(t.utf8);
			}
			free(one);
			p += l + (p[l] == '\n');
		}
		it.contents = strbuf_steal(&shown);
		strbuf_free(&names);
	}
	bool exec_det = strstr(det, "dosexec") || strstr(det, "x-executable") || strstr(det, "x-sharedlib") ||
		strstr(det, "x-msdownload") || strstr(det, "x-msi") || strstr(det, "x-mach-binary") ||
		strstr(det, "x-pie-executable") || strstr(det, "portable-executable");
	if ((exec_det && (!declared || !strstr(declared, "dosexec"))) ||
	    (name && ends_with_ci(name, ".pdf") && strcmp(det, "application/pdf") != 0) ||
	    (name && (ends_with_ci(name, ".jpg") || ends_with_ci(name, ".png") || ends_with_ci(name, ".gif")) &&
	     strncmp(det, "image/", 6) != 0))
		it.flags |= SANITIZE_F_MISMATCH;
	it.name = dupz(nbuf);
	/* the declared type is the sender's (8-bit, and cut at 160 bytes
	 * by the walk, maybe inside a character): shown as clean UTF-8 */
	it.declared = clean_header_text(declared ? declared : "");
	it.detected = dupz(det);
	it.reason = dupz(reason);
	it.size = len;
	san_quarantine_sha256_hex(buf, len, it.sha256);
	if (r->c->quarantine) {
		struct san_qmeta m = {.kind = kind,
				      .name = nbuf,
				      .declared_type = declared,
				      .detected_type = det,
				      .message_id = r->message_id,
				      .reason = reason};
		int e = san_quarantine_put_sha(r->c->quarantine, buf, len, it.sha256, &m);
		if (e < 0)
			r->hard = e;
		else
			snprintf(it.qid, sizeof(it.qid), "%.*s", SAN_QID_LEN, it.sha256);
	}
	add_item(r, &it);
}

/* Decoded content of a leaf part (CTE removed), read from the original in
 * chunks through a decoding filter so that the decoded-size limit stops a
 * bomb as soon as it passes the limit, not after it was decoded whole. */
static int part_bytes(struct run *r, GMimePart *p, GByteArray **ret)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *src = w ? g_mime_data_wrapper_get_stream(w) : NULL;
	size_t left = r->c->lim.max_decoded > r->decoded ? r->c->lim.max_decoded - r->decoded : 0;
	if (!src) {
		*ret = g_byte_array_new();
		return 0;
	}
	if (g_mime_stream_reset(src) < 0)
		return -EIO;
	gint64 enc_len = g_mime_stream_length(src);
	/* Decoding never grows content: the encoded length bounds the buffer
	 * (reserved, not touched, beyond what is written). */
	size_t want = enc_len > 0 ? (size_t)enc_len : 0;
	if (want > left + 1)
		want = left + 1;
	GByteArray *ba = g_byte_array_sized_new((guint)(want < G_MAXUINT ? want : G_MAXUINT));
	GMimeStream *fs = g_mime_stream_filter_new(src);
	GMimeFilter *f = g_mime_filter_basic_new(g_mime_data_wrapper_get_encoding(w), FALSE);
	if (f) {
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
		g_object_unref(f);
	}
	static __thread char buf[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = g_mime_stream_read(fs, buf, sizeof(buf));
		if (n < 0) {
			rc = -EIO;
			break;
		}
		if (n == 0)
			break;
		if (ba->len + (size_t)n > left) {
			rc = -EFBIG;
			break;
		}
		g_byte_array_append(ba, (const guint8 *)buf, (guint)n);
	}
	g_object_unref(fs);
	g_mime_stream_reset(src);
	if (rc < 0) {
		g_byte_array_free(ba, TRUE);
		if (rc == -EFBIG)
			set_failed(r, "decoded-size");
		return rc;
	}
	r->decoded += ba->len;
	*ret = ba;
	return 0;
}

/* Whole entity serialised (for containers that are removed whole). */
static void remove_object(struct run *r, GMimeObject *o, const char *reason)
{
	char *s = g_mime_object_to_string(o, NULL);
	char *ct = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(o));
	remove_bytes(r, s ? s : "", s ? strlen(s) : 0, NULL, ct, reason, "entity");
	g_free(ct);
	g_free(s);
}

/* What the sender wrote that the notice shows (file names, declared
 * types, TNEF names) into buf, with every run of more than 60 base64
 * characters cut in the middle ("TVqQAAMA…AAAAAAAA"): a name must not
 * carry an encoded payload into the text (found by fuzzing). */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	while (*s && o + 8 < len) {
		size_t run = 0;
		while (s[run] && (g_ascii_isalnum(s[run]) || strchr("+/=-_", s[run])))
			run++;
		if (run > 60) {
			int k = snprintf(buf + o, len - o, "%.28s\xe2\x80\xa6%.28s", s, s + run - 28);
			o += k > 0 && (size_t)k < len - o ? (size_t)k : 0;
			s += run;
			continue;
		}
		if (!run)
			run = 1;
		for (size_t i = 0; i < run && o + 8 < len; i++)
			buf[o++] = *s++;
	}
	if (*s) /* cut short: never inside a UTF-8 sequence */
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xC0) == 0x80)
			o--;
	if (*s && o > 0 && (unsigned char)buf[o - 1] >= 0xC0)
		o--;
	buf[o] = '\0';
	return buf;
}

/* An encoded block found in the recovered text: removed and listed like
 * an attachment, a line in the text says where it was. */
static int blob_cb(void *arg, const struct san_blob *b, struct strbuf *repl)
{
	struct run *r = arg;
	size_t before = r->res->n_items;
	const char *kind = san_blob_kind_name(b->kind);
	char declared[48];
	snprintf(declared, sizeof(declared), "text/x-%s", kind);
	remove_bytes(r, b->data, b->len, b->name, declared, kind, "encoded");
	if (b->kind == SAN_BLOB_UUENCODE)
		r->uu = true;
	else
		r->encoded = true;
	const char *qid = r->res->n_items > before && r->res->items[before].qid[0]
		? r->res->items[before].qid
		: san_notice_get(r->ctx->notice, "not_kept");
	const char *nm = r->res->n_items > before && r->res->items[before].name[0] ? r->res->items[before].name : "-";
	char nmb[600];
	const char *kv[] = {"kind", kind, "name", shown(nm, nmb, sizeof(nmb)), "qid", qid, NULL};
	san_notice_render(r->ctx->notice, "blob_line", kv, repl);
	return r->hard;
}

/* Every encoded block leaves the recovered text (plain parts, HTML
 * output, forwarded headers alike), in one pass.  If the scan cannot
 * finish, no text is shown at all.  Returns the number of blocks. */
static int strip_blobs(struct run *r)
{
	if (!r->body.len)
		return 0;
	struct strbuf o = STRBUF_INIT;
	int e = san_blob_strip(r->body.buf, r->body.len, 64, blob_cb, r, &o);
	if (e < 0) {
		set_failed(r, e == -E2BIG ? "encoded-count" : "encoded");
		strbuf_free(&o);
		strbuf_free(&r->body);
		return 0;
	}
	strbuf_free(&r->body);
	r->body = o;
	return e;
}

/* Links in all recovered text (plain bodies, HTML output, forwarded
 * headers) get the treatment of HTML link targets: every scheme, www. and
 * UNC paths, so there is no cheap pre-check. */
static void rewrite_links(struct run *r)
{
	if (!r->body.len || r->c->links == SAN_LINKS_KEEP)
		return;
	struct strbuf nb = STRBUF_INIT;
	if (san_url_rewrite(r->body.buf, r->body.len, r->c->links, san_notice_get(r->ctx->notice, "url_removed"),
			    &nb)) {
		r->text_urls = r->links = true;
		strbuf_free(&r->body);
		r->body = nb;
	} else {
		strbuf_free(&nb);
	}
}

/* A part declared as text whose bytes give reason to doubt it (a NUL,
 * control bytes, a file signature, markup) is printed only when libmagic
 * agrees it is text of the kind declared, a script never; otherwise it is
 * removed and listed.  Bytes with no such reason are text by any reader's measure,
 * and libmagic (about half a millisecond a call) is not asked. */
static bool text_is_text(struct run *r, GMimePart *p, GByteArray *ba, bool html, const char *declared)
{
	/* markup and script in HTML are what the conversion drops */
	const char *why = html ? san_blob_binary_doubt(ba->data, ba->len) : san_blob_text_doubt(ba->data, ba->len);
	if (!why)
		return true;
	char det[128];
	san_detect_magic_type(r->ctx->magic, ba->data, ba->len, det, sizeof(det));
	/* libmagic calls a VBScript or PowerShell script text/plain: a
	 * script stays a file whatever libmagic says */
	if (strcmp(why, "script") && (!strcmp(det, "text/plain") || (html && !strcmp(det, "text/html"))))
		return true;
	r->nontext = true;
	set_malformed(r, "text-not-text");
	remove_bytes(r, ba->data, ba->len, g_mime_part_get_filename(p), declared, "non-text", "attachment");
	return false;
}

static void add_text(struct run *r, const char *t, size_t len)
{
	if (!len)
		return;
	if (r->body.len && r->body.buf[r->body.len - 1] != '\n')
		strbuf_putc(&r->body, '\n');
	if (r->body.len)
		strbuf_putc(&r->body, '\n');
	strbuf_append(&r->body, t, len);
	if (t[len - 1] != '\n')
		strbuf_putc(&r->body, '\n');
}

static void note_repair(struct run *r, const struct san_text *t)
{
	if (!t->repair[0])
		return;
	r->repaired = true;
	if (strstr(r->repairs.buf ? r->repairs.buf : "", t->repair))
		return;
	if (r->repairs.len)
		strbuf_putc(&r->repairs, ',');
	strbuf_puts(&r->repairs, t->repair);
}

/* A text leaf into the body (emit false: only its removals count). */
static void text_leaf(struct run *r, GMimePart *p, GByteArray *ba, bool html, bool emit)
{
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(p), "charset");
	struct san_text t;
	int e = san_charset_decode((const char *)ba->data, ba->len, cs, &t);
	if (e == -EPROTONOSUPPORT) {
		r->utf7 = true;
		remove_bytes(r, ba->data, ba->len, g_mime_part_get_filename(p), "text/plain; charset=utf-7", "utf7",
			     "text");
		return;
	}
	if (e < 0) {
		set_failed(r, "charset");
		return;
	}
	note_repair(r, &t);
	if (!emit) {
		free(t.utf8);
		return;
	}
	if (html) {
		struct san_html_opts ho = {.links = r->c->links,
					   .image_label = san_notice_get(r->ctx->notice, "image"),
					   .url_label = san_notice_get(r->ctx->notice, "url_removed"),
					   .max_out = r->c->lim.max_decoded,
					   .deadline_ns = r->deadline};
		struct san_html_stats hs;
		char *txt = NULL;
		e = san_html_to_text(t.utf8, t.len, &ho, &txt, &hs);
		free(t.utf8);
		if (e == -ETIMEDOUT) {
			set_failed(r, "time");
			return;
		}
		if (e < 0) {
			set_failed(r, "html");
			return;
		}
		r->html = true;
		if (hs.links)
			r->links = true;
		if (hs.text_links)
			r->text_urls = r->links = true;
		/* text a reader would not have seen is dropped, never silently */
		r->hidden += hs.hidden;
		add_text(r, txt, strlen(txt));
		free(txt);
		return;
	}
	add_text(r, t.utf8, t.len);
	free(t.utf8);
}

static bool header_checks(struct run *r, GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int n = g_mime_header_list_get_count(hl);
	if ((unsigned)n > r->c->lim.max_headers) {
		set_failed(r, "header-count");
		return false;
	}
	int ct = 0, cte = 0;
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *nm = g_mime_header_get_name(h), *raw = g_mime_header_get_raw_value(h);
		if (raw && strlen(raw) > r->c->lim.max_header_line) {
			set_failed(r, "header-line");
			return false;
		}
		if (!strcasecmp(nm, "content-type"))
			ct++;
		if (!strcasecmp(nm, "content-transfer-encoding")) {
			cte++;
			char v[64];
			snprintf(v, sizeof(v), "%s", raw ? raw : "");
			char *s = v;
			while (*s == ' ' || *s == '\t')
				s++;
			s[strcspn(s, " \t\r\n;")] = '\0';
			static const char *const ok[] = {
				"7bit",       "8bit",     "binary", "base64", "quoted-printable",
				"x-uuencode", "uuencode", "x-uue",  "",       NULL};
			bool known = false;
			for (int k = 0; ok[k]; k++)
				if (!strcasecmp(s, ok[k]))
					known = true;
			if (!known)
				set_malformed(r, "unknown-transfer-encoding");
		}
	}
	if (ct > 1)
		set_malformed(r, "duplicate-content-type");
	if (cte > 1)
		set_malformed(r, "duplicate-transfer-encoding");
	return true;
}

static bool boundary_ok(const char *b)
{
	if (!b || !*b)
		return false;
	size_t l = strlen(b);
	if (l > 70 || b[l - 1] == ' ')
		return false;
	for (const char *p = b; *p; p++)
		if (!(g_ascii_isalnum(*p) || strchr("'()+_,-./:=? ", *p)))
			return false;
	return true;
}

static void walk(struct run *r, GMimeObject *o, unsigned depth, bool emit);

/* The declared types whose content may be printed: 1 as text, 2 as HTML
 * (converted), 0 never (removed and listed, whatever the bytes).  An
 * allow-list: a script (text/vbscript, text/x-sh...), a calendar, a vCard,
 * RTF or XML declared as text stays a file. */
static int printable(const char *type, const char *sub)
{
	static const char *const TEXT[] = {
		"text/plain",
		"text/enriched",
		"text/rfc822-headers",
		"text/markdown",
		"text/x-markdown",
		"text/csv",
		"text/tab-separated-values",
		"text/x-diff",
		"text/x-patch",
		"text/x-log",
		"message/delivery-status",
		"message/global-delivery-status",
		"message/disposition-notification",
		"message/global-disposition-notification",
		"message/feedback-report",
	};
	if (!type || !sub)
		return 0;
	if (!strcasecmp(type, "text") && !strcasecmp(sub, "html"))
		return 2;
	size_t tl = strlen(type);
	for (size_t i = 0; i < sizeof(TEXT) / sizeof(TEXT[0]); i++)
		if (!strncasecmp(TEXT[i], type, tl) && TEXT[i][tl] == '/' && !strcasecmp(TEXT[i] + tl + 1, sub))
			return 1;
	return 0;
}

static bool dup_content_type(GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int n = g_mime_header_list_get_count(hl), ct = 0;
	for (int i = 0; i < n; i++)
		if (!strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i)), "content-type"))
			ct++;
	return ct > 1;
}

static void forward_block(struct run *r, GMimeMessage *m, unsigned depth, bool emit)
{
	r->forward = true;
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	if (emit) {
		struct strbuf hb = STRBUF_INIT;
		strbuf_puts(&hb, san_notice_get(r->ctx->notice, "forward"));
		strbuf_putc(&hb, '\n');
		static const char *const H[] = {"From", "To", "Cc", "Date", "Subject", NULL};
		for (int i = 0; H[i]; i++) {
			GMimeHeader *h = g_mime_header_list_get_header(hl, H[i]);
			if (!h)
				continue;
			char *v = header_value(r, h, is_addr_header(H[i]));
			strbuf_printf(&hb, "%s: %s\n", H[i], v);
			free(v);
		}
		add_text(r, hb.buf, hb.len);
		strbuf_free(&hb);
	}
	GMimeObject *body = g_mime_message_get_mime_part(m);
	if (body)
		walk(r, body, depth + 1, emit);
	if (emit) {
		const char *e = san_notice_get(r->ctx->notice, "forward_end");
		add_text(r, e, strlen(e));
	}
}

static bool nonempty_text_part(struct run *r, GMimeObject *o)
{
	if (!GMIME_IS_PART(o))
		return false;
	GByteArray *ba = NULL;
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
	if (!w)
		return false;
	GMimeStream *ms = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, ms);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	bool ne = false;
	for (guint i = 0; i < ba->len && !ne; i++)
		if (!g_ascii_isspace(ba->data[i]))
			ne = true;
	g_object_unref(ms);
	(void)r;
	return ne;
}

static bool attachment_like(GMimeObject *o)
{
	const char *disp = g_mime_object_get_disposition(o);
	if (disp && !strcasecmp(disp, "attachment"))
		return true;
	if (GMIME_IS_PART(o) && g_mime_part_get_filename(GMIME_PART(o)))
		return true;
	return false;
}

static void walk(struct run *r, GMimeObject *o, unsigned depth, bool emit)
{
	if (r->failed || r->hard)
		return;
	if (++r->parts > r->c->lim.max_parts) {
		set_failed(r, "part-count");
		return;
	}
	if (depth > r->c->lim.max_depth) {
		set_failed(r, "nesting-depth");
		return;
	}
	if (monotime_ns() > r->deadline) {
		set_failed(r, "time");
		return;
	}
	if (!header_checks(r, o))
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : "text";
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : "plain";
	char declared[160];
	snprintf(declared, sizeof(declared), "%s/%s", type ? type : "?", sub ? sub : "?");

	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		const char *b = g_mime_object_get_content_type_parameter(o, "boundary");
		if (!boundary_ok(b))
			set_malformed(r, "boundary");
		int n = g_mime_multipart_get_count(mp);
		if (!strcasecmp(sub, "encrypted")) {
			remove_object(r, o, "encrypted");
			return;
		}
		if (n == 0) {
			/* No child parts (missing or broken boundaries): parsers disagree
			 * on what this is; it is kept whole in quarantine, and what
			 * gmime read as its text is shown if it passes as text (the
			 * encoded-block scan still applies), as a reader would show it. */
			set_malformed(r, "multipart-without-parts");
			remove_object(r, o, "malformed");
			const char *pro = g_mime_multipart_get_prologue(mp);
			size_t pl = pro ? strlen(pro) : 0;
			if (emit && pl && strspn(pro, " \t\r\n") < pl && !san_blob_text_doubt(pro, pl)) {
				struct san_text t;
				if (san_charset_decode(pro, pl, NULL, &t) == 0) {
					note_repair(r, &t);
					add_text(r, t.utf8, t.len);
					free(t.utf8);
				}
			}
			return;
		}
		if (!strcasecmp(sub, "alternative")) {
			int pick = -1;
			for (int i = 0; i < n && pick < 0; i++) {
				GMimeObject *c = g_mime_multipart_get_part(mp, i);
				GMimeContentType *cct = g_mime_object_get_content_type(c);
				if (g_mime_content_type_is_type(cct, "text", "plain") && !attachment_like(c) &&
				    nonempty_text_part(r, c))
					pick = i;
			}
			if (pick < 0) {
				for (int i = n - 1; i >= 0 && pick < 0; i--) {
					GMimeObject *c = g_mime_multipart_get_part(mp, i);
					GMimeContentType *cct = g_mime_object_get_content_type(c);
					if (!attachment_like(c) &&
					    (g_mime_content_type_is_type(cct, "text", "*") ||
					     g_mime_content_type_is_type(cct, "multipart", "*")))
						pick = i;
				}
			}
			for (int i = 0; i < n; i++)
				walk(r, g_mime_multipart_get_part(mp, i), depth + 1, emit && i == pick);
			return;
		}
		for (int i = 0; i < n; i++)
			walk(r, g_mime_multipart_get_part(mp, i), depth + 1, emit);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m)
			forward_block(r, m, depth, emit);
		return;
	}
	if (GMIME_IS_MESSAGE_PARTIAL(o) ||
	    (type && !strcasecmp(type, "message") && sub &&
	     (!strcasecmp(sub, "partial") || !strcasecmp(sub, "external-body")))) {
		set_malformed(r, !strcasecmp(sub, "partial") ? "message-partial" : "message-external-body");
		remove_object(r, o, sub);
		return;
	}
	if (!GMIME_IS_PART(o)) {
		remove_object(r, o, "unknown-entity");
		return;
	}

	if (dup_content_type(o)) {
		/* Which Content-Type wins differs between parsers: not recoverable. */
		remove_object(r, o, "malformed");
		return;
	}
	GMimePart *p = GMIME_PART(o);
	const char *fn = g_mime_object_get_content_disposition_parameter(o, "filename");
	const char *nm = g_mime_object_get_content_type_parameter(o, "name");
	if (fn && nm && strcmp(fn, nm) != 0)
		set_malformed(r, "name-filename-mismatch");
	GByteArray *ba = NULL;
	if (part_bytes(r, p, &ba) < 0) {
		if (!r->failed)
			set_failed(r, "decode");
		return;
	}
	int kind = printable(type, sub);
	if (kind && !attachment_like(o)) {
		if (text_is_text(r, p, ba, kind == 2, declared))
			text_leaf(r, p, ba, kind == 2, emit);
	} else {
		remove_bytes(r, ba->data, ba->len, g_mime_part_get_filename(p), declared,
			     attachment_like(o) ? "attachment" : "non-text", "attachment");
	}
	g_byte_array_free(ba, TRUE);
}

static const char *const ALLOW[] = {"From",    "To",         "Cc",          "Reply-To",   "Date",
				    "Subject", "Message-ID", "In-Reply-To", "References", NULL};

static bool allowed(const struct sanitize_config *c, const char *n)
{
	for (int i = 0; ALLOW[i]; i++)
		if (!strcasecmp(ALLOW[i], n))
			return true;
	for (size_t i = 0; i < c->n_extra; i++)
		if (!strcasecmp(c->extra_headers[i], n))
			return true;
	return false;
}

static void push_action(struct sanitize_result *res, const char *a)
{
	char **p = realloc(res->actions, (res->n_actions + 2) * sizeof(*p));
	if (!p)
		return;
	res->actions = p;
	p[res->n_actions++] = strdup(a);
	p[res->n_actions] = NULL;
}

static void fmt_size(size_t n, char *out, size_t outlen)
{
	snprintf(out, outlen, "%zu", n);
}

/* One line of the notice: the text of key, when cond. */
static void notice_line(struct strbuf *nb, const struct san_notice *N, bool cond, const char *key)
{
	if (!cond)
		return;
	strbuf_puts(nb, san_notice_get(N, key));
	strbuf_putc(nb, '\n');
}

/* An item's CDR state line, when the link hook set one. */
static void render_cdr_state(const struct san_notice *N, const struct sanitize_item *it, struct strbuf *nb)
{
	if (!it->cdr)
		return;
	const char *key = !strcmp(it->cdr, "pending") ? "cdr_pending"
		: !strcmp(it->cdr, "ready")           ? "cdr_ready"
		: !strncmp(it->cdr, "none:", 5)       ? "cdr_none"
						      : NULL;
	if (!key)
		return;
	/* without a text from the hook, the reason key itself */
	const char *why = it->cdr_reason ? it->cdr_reason : !strncmp(it->cdr, "none:", 5) ? it->cdr + 5 : "";
	const char *kv[] = {"reason", why, NULL};
	san_notice_render(N, key, kv, nb);
	strbuf_putc(nb, '\n');
}

/* The notice at the top of the body, up to its end (render_notice_end). */
static void render_notice(struct run *r, struct strbuf *nb)
{
	const struct san_notice *N = r->ctx->notice;
	bool any = r->res->n_items || r->malformed || r->failed || r->html || r->utf7 || r->text_urls || r->hidden;
	if (!any)
		return;
	strbuf_puts(nb, san_notice_get(N, "title"));
	strbuf_putc(nb, '\n');
	strbuf_puts(nb, san_notice_get(N, "intro"));
	strbuf_putc(nb, '\n');
	const char *kvr[] = {"reason", r->reason.buf ? r->reason.buf : "", NULL};
	if (r->failed) {
		san_notice_render(N, "failed", kvr, nb);
		strbuf_putc(nb, '\n');
	} else if (r->malformed) {
		san_notice_render(N, "malformed", kvr, nb);
		strbuf_putc(nb, '\n');
	}
	notice_line(nb, N, r->html, "html");
	notice_line(nb, N, r->utf7, "utf7");
	notice_line(nb, N, r->text_urls, "url");
	if (r->hidden) {
		char cnt[32];
		snprintf(cnt, sizeof(cnt), "%zu", r->hidden);
		const char *kvh[] = {"count", cnt, NULL};
		san_notice_render(N, "hidden", kvh, nb);
		strbuf_putc(nb, '\n');
	}
	if (r->res->n_items) {
		char cnt[32];
		snprintf(cnt, sizeof(cnt), "%zu", r->res->n_items);
		const char *kvc[] = {"count", cnt, NULL};
		san_notice_render(N, "removed", kvc, nb);
		strbuf_putc(nb, '\n');
		for (size_t i = 0; i < r->res->n_items; i++) {
			struct sanitize_item *it = &r->res->items[i];
			char sz[32];
			fmt_size(it->size, sz, sizeof(sz));
			char nmb[600], dcb[400], ctb[4096];
			const char *kv[] = {"name",     it->name[0] ? shown(it->name, nmb, sizeof(nmb)) : "-",
					    "declared", shown(it->declared, dcb, sizeof(dcb)),
					    "detected", it->detected,
					    "size",     sz,
					    "sha256",   it->sha256,
					    "qid",      it->qid[0] ? it->qid : san_notice_get(N, "not_kept"),
					    "contents", it->contents ? shown(it->contents, ctb, sizeof(ctb)) : "",
					    NULL};
			san_notice_render(N, "item", kv, nb);
			strbuf_putc(nb, '\n');
			render_cdr_state(N, it, nb);
			if (it->contents) {
				san_notice_render(N, "item_tnef", kv, nb);
				strbuf_putc(nb, '\n');
			}
			notice_line(nb, N, it->flags & SANITIZE_F_BIDI, "flag_bidi");
			notice_line(nb, N, it->flags & SANITIZE_F_DOUBLEEXT, "flag_double");
			notice_line(nb, N, it->flags & SANITIZE_F_EXEC, "flag_exec");
			notice_line(nb, N, it->flags & SANITIZE_F_ENCRYPTED, "flag_encrypted");
			notice_line(nb, N, it->flags & SANITIZE_F_MISMATCH, "flag_mismatch");
		}
	}
}

/* The notice's end: the portal link (when the hook made one, or said it
 * could not), then the closing line.  Written after the notice was
 * defanged: the link is the appliance's own, not the sender's. */
static void render_notice_end(struct run *r, struct strbuf *nb)
{
	const struct san_notice *N = r->ctx->notice;
	const struct sanitize_link *l = &r->res->link;
	if (l->url) {
		char exp[40] = "";
		time_t t = (time_t)(l->expires + 9 * 3600); /* JST has no DST */
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(exp, sizeof(exp), "%Y-%m-%d %H:%M JST", &tm);
		const char *kv[] = {"url", l->url, "expires", exp, NULL};
		san_notice_render(N, "portal_link", kv, nb);
		strbuf_putc(nb, '\n');
		notice_line(nb, N, l->copies_mail, "portal_mail");
		notice_line(nb, N, l->originals, "portal_original");
	}
	notice_line(nb, N, !l->url && l->failed, "portal_failed");
	strbuf_puts(nb, san_notice_get(N, "end"));
	strbuf_puts(nb, "\n\n");
}

/* gmime formats a header's value when it is set and, because the header
 * stays marked for reformatting, formats it again when the message is
 * written (for address headers that is an address parse and IDN encoding
 * each time).  Setting the raw value to the one just formatted -- same
 * format options (the defaults) both times, so the same bytes -- writes it
 * as it is. */
static void freeze_raw(GMimeHeader *h)
{
	const char *raw = g_mime_header_get_raw_value(h);
	if (!raw)
		return;
	char *copy = g_strdup(raw); /* set_raw_value frees the old value first */
	g_mime_header_set_raw_value(h, copy);
	g_free(copy);
}

/* v as RFC 2047 base64 encoded-words of at most 45 bytes of UTF-8 each
 * (75 characters with the charset), split only between characters and
 * folded: always ASCII.  Bytes that are not UTF-8 become U+FFFD first, so
 * the words decode cleanly.  The caller g_free()s it. */
static char *encode_words(const char *raw)
{
	gchar *v = g_utf8_make_valid(raw, -1);
	GString *g = g_string_new(NULL);
	size_t n = strlen(v), i = 0;
	while (i < n) {
		size_t j = i + 45 < n ? i + 45 : n;
		while (j > i + 1 && j < n && ((unsigned char)v[j] & 0xC0) == 0x80)
			j--; /* never inside a UTF-8 sequence */
		gchar *b = g_base64_encode((const guchar *)v + i, j - i);
		g_string_append_printf(g, "%s=?UTF-8?B?%s?=", i ? "\n " : "", b);
		g_free(b);
		i = j;
	}
	g_free(v);
	return g_string_free(g, FALSE);
}

/* Copy the allow-listed headers of the original into out (decoded, then
 * re-encoded by gmime); each singleton header once. */
static void copy_headers(struct run *r, GMimeMessage *orig, GMimeMessage *out, const char *charset, unsigned *dropped)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(orig));
	int n = g_mime_header_list_get_count(hl);
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *nm = g_mime_header_get_name(h);
		if (!allowed(r->c, nm) || g_mime_object_get_header(GMIME_OBJECT(out), nm)) {
			(*dropped)++;
			continue;
		}
		bool idh = !strcasecmp(nm, "message-id") || !strcasecmp(nm, "in-reply-to") ||
			!strcasecmp(nm, "references") || !strcasecmp(nm, "date");
		char *v;
		if (idh) {
			const char *raw = g_mime_header_get_raw_value(h);
			char *u = g_mime_utils_header_unfold(raw ? raw : "");
			g_strstrip(u);
			v = strdup(u);
			g_free(u);
			if (!v || !is_ascii_printable(v) || !*v) {
				free(v);
				(*dropped)++;
				continue;
			}
		} else {
			v = header_value(r, h, is_addr_header(nm));
		}
		if (!*v) {
			free(v);
			continue;
		}
		if (!strcasecmp(nm, "subject") && !r->res->subject)
			r->res->subject = strdup(v); /* for the link manifest */
		g_mime_object_append_header(GMIME_OBJECT(out), nm, v, charset);
		GMimeHeader *nh = g_mime_header_list_get_header(g_mime_object_get_header_list(GMIME_OBJECT(out)), nm);
		const char *fr = nh ? g_mime_header_get_raw_value(nh) : NULL;
		if (fr && is_ascii_printable_folded(fr)) {
			freeze_raw(nh);
		} else if (fr) {
			/* gmime's encoding left bytes that are not ASCII (an address
			 * with an SMTPUTF8 local part; text gmime's phrase and text
			 * encoders pass through raw, found by fuzzing).  Encode the
			 * decoded value ourselves; an address becomes the name of an
			 * empty group, which no client will reply to. */
			bool addr = is_addr_header(nm);
			char *ew = addr ? g_mime_utils_header_encode_phrase(NULL, v, charset) : NULL;
			if (!ew || !is_ascii_printable_folded(ew)) {
				g_free(ew);
				ew = encode_words(v);
			}
			char *gv = g_strdup_printf(addr ? " %s:;\n" : " %s\n", ew);
			g_mime_header_set_raw_value(nh, gv);
			g_free(gv);
			g_free(ew);
		}
		free(v);
	}
}

/* The marker header's raw value, folded at spaces and after commas so
 * that no line passes 78 characters (gmime would encode a longer word as
 * encoded-words).  Unfolded, a comma may be followed by a space.  The
 * caller g_free()s it. */
static char *fold_marker(const char *v)
{
	GString *g = g_string_new(NULL);
	size_t col = strlen("X-Sekisho-Sanitized:");
	while (*v) {
		while (*v == ' ')
			v++;
		size_t w = strcspn(v, " ");
		if (!w)
			break;
		/* a word that fits on the line, or on a fresh one, stays whole;
		 * a longer one (the list of actions) is split after its commas */
		if (col + 1 + w > 78 && g->len) {
			g_string_append(g, "\n");
			col = 0;
		}
		g_string_append_c(g, ' ');
		col++;
		for (const char *e = v + w; v < e;) {
			size_t n = strcspn(v, ",");
			if (v + n < e)
				n++;
			else
				n = (size_t)(e - v);
			if (col + n > 78 && col > 1) {
				g_string_append(g, "\n ");
				col = 1;
			}
			g_string_append_len(g, v, (gssize)n);
			col += n;
			v += n;
		}
	}
	g_string_append_c(g, '\n');
	return g_string_free(g, FALSE);
}

static void hexcpy(char *dst, const char *sha)
{
	snprintf(dst, SAN_QID_LEN + 1, "%.*s", SAN_QID_LEN, sha);
}

/* The raw original: a buffer, or len bytes of a seekable file from off. */
struct src {
	const char *mem;
	int fd;
	uint64_t off;
	size_t len;
};

/* Call fn on the original in chunks (a file is read with pread through a
 * small buffer, never loaded).  0 or -errno. */
static int src_chunks(const struct src *s, void (*fn)(void *arg, const char *p, size_t n), void *arg)
{
	if (s->mem) {
		fn(arg, s->mem, s->len);
		return 0;
	}
	static __thread char buf[65536];
	for (size_t done = 0; done < s->len;) {
		size_t want = s->len - done < sizeof(buf) ? s->len - done : sizeof(buf);
		ssize_t n = pread(s->fd, buf, want, (off_t)(s->off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		fn(arg, buf, (size_t)n);
		done += (size_t)n;
	}
	return 0;
}

/* Raw pre-scan state: line lengths and a cheap upper bound on MIME
 * entities (lines starting with "--"), carried across chunks. */
struct prescan {
	struct san_ambig *amb;
	size_t line, dashes, max_line;
	int lead; /* leading '-' of the current line so far; -1: not a "--" line */
	bool too_long;
};

static void prescan_chunk(void *arg, const char *p, size_t n)
{
	struct prescan *ps = arg;
	const char *end = p + n;
	san_ambig_feed(ps->amb, p, n);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t seg = nl ? (size_t)(nl - p) : (size_t)(end - p);
		for (size_t k = 0; k < seg && ps->lead >= 0 && ps->lead < 2; k++)
			ps->lead = p[k] == '-' ? ps->lead + 1 : -1;
		ps->line += seg;
		if (ps->line > ps->max_line)
			ps->too_long = true;
		if (!nl)
			break;
		if (ps->lead == 2)
			ps->dashes++;
		ps->line = 0;
		ps->lead = 0;
		p = nl + 1;
	}
}

static int prescan(struct run *r, const struct src *s)
{
	struct prescan ps = {.max_line = r->c->lim.max_line};
	int e = san_ambig_new(r->c->lim.max_line, &ps.amb);
	if (e < 0)
		return e;
	e = src_chunks(s, prescan_chunk, &ps);
	unsigned amb = san_ambig_end(ps.amb);
	san_ambig_free(ps.amb);
	if (e < 0)
		return e;
	/* Structure other readers may read differently: malformed (each kind
	 * named in the reason), and only what passes the text checks shows. */
	for (unsigned bit = 1; bit & SAN_AMBIG_ALL; bit <<= 1)
		if (amb & bit)
			set_malformed(r, san_ambig_reason(bit));
	if (ps.lead == 2)
		ps.dashes++;
	if (ps.too_long)
		set_failed(r, "line-length");
	else if (ps.dashes > (size_t)r->c->lim.max_parts * 4 + 64)
		set_failed(r, "part-count");
	return 0;
}

/* A gmime stream over the original that part contents can refer to (the
 * parser persists it: no part is copied out of it).  A buffer is wrapped,
 * not copied: the stream does not own it. */
static GMimeStream *src_stream(const struct src *s, GByteArray **ret_wrap)
{
	*ret_wrap = NULL;
	if (!s->mem) {
		GMimeStream *fs = g_mime_stream_fs_new_with_bounds(s->fd, (gint64)s->off, (gint64)(s->off + s->len));
		if (fs)
			g_mime_stream_fs_set_owner(GMIME_STREAM_FS(fs), FALSE);
		return fs;
	}
	GByteArray *ba = g_byte_array_new_take((guint8 *)(uintptr_t)s->mem, s->len);
	GMimeStream *ms = g_mime_stream_mem_new_with_byte_array(ba);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
	*ret_wrap = ba;
	return ms;
}

static int run_src(struct sanitize_ctx *ctx, const struct src *src, struct strbuf *out, struct sanitize_result *res)
{
	memset(res, 0, sizeof(*res));
	struct run r = {.ctx = ctx, .c = &ctx->cfg, .res = res};
	r.deadline = monotime_ns() + (int64_t)(ctx->cfg.lim.max_seconds ? ctx->cfg.lim.max_seconds : 30) * 1000000000;
	size_t len = src->len;
	res->size = len;
	const char *charset = ctx->cfg.iso2022jp ? "iso-2022-jp" : "utf-8";
	GMimeMessage *orig = NULL;
	GMimeStream *stream = NULL;
	GByteArray *wrap = NULL;
	int rc = 0;
	if (src->mem)
		san_quarantine_sha256_hex(src->mem, len, res->original_sha256);
	else if ((r.hard = san_quarantine_sha256_fd_hex(src->fd, src->off, len, res->original_sha256)) < 0)
		goto out;

	if (len > ctx->cfg.lim.max_message)
		set_failed(&r, "message-size");
	else if ((r.hard = prescan(&r, src)) < 0)
		goto out;
	if (!r.failed) {
		stream = src_stream(src, &wrap);
		GMimeParser *p = g_mime_parser_new_with_stream(stream);
		g_mime_parser_set_persist_stream(p, TRUE);
		g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
		g_mime_parser_options_set_warning_callback(ctx->popts, on_warning, &r);
		orig = g_mime_parser_construct_message(p, ctx->popts);
		g_object_unref(p);
		if (!orig)
			set_failed(&r, "parse");
	}
	if (orig) {
		GMimeHeader *mid =
			g_mime_header_list_get_header(g_mime_object_get_header_list(GMIME_OBJECT(orig)), "Message-ID");
		if (mid && g_mime_header_get_raw_value(mid)) {
			char *u = g_strdup(g_mime_header_get_raw_value(mid));
			g_strstrip(u);
			res->message_id = clean_header_text(u);
			g_free(u);
			r.message_id = res->message_id;
		}
		if (!header_checks(&r, GMIME_OBJECT(orig))) { /* failed */
		}
		GMimeObject *body = g_mime_message_get_mime_part(orig);
		if (body && !r.failed)
			walk(&r, body, 0, true);
	}
	g_mime_parser_options_set_warning_callback(ctx->popts, NULL, NULL);
	/* Links first, then encoded blocks, so that the block scan judges the
	 * text as it will be written (a rewritten link is longer); links
	 * again for what the blocks' lines name. */
	rewrite_links(&r);
	if (!r.hard && strip_blobs(&r))
		rewrite_links(&r);

	/* The original is kept whenever a quarantine is configured. */
	if (ctx->cfg.quarantine && !r.hard) {
		char sha[65];
		struct san_qmeta m = {.kind = "original",
				      .message_id = res->message_id,
				      .reason = r.failed    ? "failed"
					      : r.malformed ? "malformed"
							    : "original"};
		/* in memory: already hashed above; a file is hashed again while
		 * it is copied (it is the copy that is kept) */
		int e = src->mem ? san_quarantine_put_sha(ctx->cfg.quarantine, src->mem, len, res->original_sha256, &m)
				 : san_quarantine_put_fd(ctx->cfg.quarantine, src->fd, src->off, len, &m, sha);
		if (e < 0)
			r.hard = e;
		else
			hexcpy(res->original_qid, src->mem ? res->original_sha256 : sha);
	}
	if (r.hard) {
		rc = r.hard;
		goto out;
	}

	/* Build the output: headers first (they may set utf7 for the notice). */
	GMimeMessage *om = g_mime_message_new(FALSE);
	unsigned dropped = 0;
	if (orig)
		copy_headers(&r, orig, om, charset, &dropped);
	/* the portal link (the milter's hook): the items are kept, their
	 * hashes known; the notice shows what the hook made */
	if (ctx->link_fn) {
		bool kept = false;
		for (size_t i = 0; i < res->n_items && !kept; i++)
			kept = res->items[i].qid[0] != 0;
		if (kept)
			ctx->link_fn(ctx->link_arg, res);
	}
	struct strbuf text = STRBUF_INIT;
	render_notice(&r, &text);
	/* the notice shows what the sender named (file names, declared
	 * types): links in them are disabled like links in the text (found by
	 * fuzzing: a file name holding "www.example.jp") */
	if (text.len && ctx->cfg.links != SAN_LINKS_KEEP) {
		struct strbuf nt = STRBUF_INIT;
		san_url_rewrite(text.buf, text.len, ctx->cfg.links, san_notice_get(ctx->notice, "url_removed"), &nt);
		strbuf_free(&text);
		text = nt;
	}
	if (text.len)
		render_notice_end(&r, &text);
	if (r.body.len)
		strbuf_append(&text, r.body.buf, r.body.len);
	else if (!r.failed) {
		strbuf_puts(&text, san_notice_get(ctx->notice, "empty"));
		strbuf_putc(&text, '\n');
	}


	if (r.html)
		push_action(res, "html-to-text");
	if (r.links)
		push_action(res, "links-disabled");
	if (res->n_items)
		push_action(res, "attachments-removed");
	if (r.repaired)
		push_action(res, "charset-repaired");
	if (r.filename)
		push_action(res, "filename-rewritten");
	if (r.uu)
		push_action(res, "uuencode-removed");
	if (r.encoded)
		push_action(res, "encoded-removed");
	if (r.hidden)
		push_action(res, "hidden-text-removed");
	if (r.nontext)
		push_action(res, "non-text-removed");
	if (r.tnef)
		push_action(res, "tnef-listed");
	if (r.ppap)
		push_action(res, "encrypted-archive-flagged");
	if (r.forward)
		push_action(res, "forward-flattened");
	if (r.utf7)
		push_action(res, "utf7-refused");
	if (dropped)
		push_action(res, "headers-removed");
	if (r.malformed)
		push_action(res, "malformed");
	if (r.failed)
		push_action(res, "fail-closed");
	res->status = r.failed ? SANITIZE_FAILED : r.malformed ? SANITIZE_MALFORMED : SANITIZE_OK;

	struct strbuf mark = STRBUF_INIT;
	strbuf_printf(&mark, "v1; result=%s; removed=%zu; actions=",
		      r.failed              ? "failed"
			      : r.malformed ? "malformed"
					    : "ok",
		      res->n_items);
	for (size_t i = 0; i < res->n_actions; i++)
		strbuf_printf(&mark, "%s%s", i ? "," : "", res->actions[i]);
	if (!res->n_actions)
		strbuf_puts(&mark, "none");
	if (r.repairs.len) {
		/* a repair names the declared charset, which the sender wrote:
		 * only printable ASCII of it goes into a header (found by fuzzing) */
		strbuf_puts(&mark, "; charset-repairs=");
		for (const char *c = r.repairs.buf; *c; c++)
			strbuf_putc(&mark, *c > 0x20 && *c < 0x7f && *c != ';' ? *c : '?');
	}
	g_mime_object_append_header(GMIME_OBJECT(om), "X-Sekisho-Sanitized", mark.buf, NULL);
	char *folded = fold_marker(mark.buf);
	g_mime_header_set_raw_value(
		g_mime_header_list_get_header(g_mime_object_get_header_list(GMIME_OBJECT(om)), "X-Sekisho-Sanitized"),
		folded);
	g_free(folded);
	strbuf_free(&mark);

	GMimePart *tp = g_mime_part_new_with_type("text", "plain");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(tp), "charset", charset);
	GMimeStream *bs;
	if (ctx->cfg.iso2022jp) {
		char *j = NULL;
		size_t jl = 0, lost = 0;
		if (san_charset_to_iso2022jp(text.buf ? text.buf : "", text.len, &j, &jl, &lost) < 0) {
			rc = -ENOMEM;
			strbuf_free(&text);
			g_object_unref(tp);
			g_object_unref(om);
			goto out;
		}
		bs = g_mime_stream_mem_new_with_buffer(j, jl);
		free(j);
		g_mime_part_set_content_encoding(tp, GMIME_CONTENT_ENCODING_7BIT);
	} else {
		bs = g_mime_stream_mem_new_with_buffer(text.buf ? text.buf : "", text.len);
		g_mime_part_set_content_encoding(tp, GMIME_CONTENT_ENCODING_BASE64);
	}
	strbuf_free(&text);
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(bs, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(bs);
	g_mime_part_set_content(tp, dw);
	g_object_unref(dw);
	g_mime_message_set_mime_part(om, GMIME_OBJECT(tp));
	g_object_unref(tp);

	GMimeStream *os = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(om), NULL, os);
	GByteArray *ob = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(os));
	strbuf_append(out, (const char *)ob->data, ob->len);
	san_quarantine_sha256_hex(ob->data, ob->len, res->output_sha256);
	g_object_unref(os);
	g_object_unref(om);
out:
	if (r.hard && !rc)
		rc = r.hard;
	/* The parts refer to the stream, the stream to the buffer: in order. */
	if (orig)
		g_object_unref(orig);
	if (stream)
		g_object_unref(stream);
	if (wrap)
		g_byte_array_free(wrap, FALSE);
	res->reason = r.reason.len ? strbuf_steal(&r.reason) : NULL;
	res->repairs = r.repairs.len ? strbuf_steal(&r.repairs) : NULL;
	strbuf_free(&r.reason);
	strbuf_free(&r.repairs);
	strbuf_free(&r.body);
	return rc;
}

int sanitize_buffer(struct sanitize_ctx *ctx, const void *in, size_t len, struct strbuf *out,
		    struct sanitize_result *res)
{
	struct src s = {.mem = len ? in : "", .fd = -1, .len = len};
	return run_src(ctx, &s, out, res);
}

int sanitize_spool(struct sanitize_ctx *ctx, const struct san_spool *sp, struct strbuf *out,
		   struct sanitize_result *res)
{
	if (sp->fd < 0)
		return sanitize_buffer(ctx, sp->mem.buf ? sp->mem.buf : "", sp->len, out, res);
	struct src s = {.fd = sp->fd, .len = sp->len};
	return run_src(ctx, &s, out, res);
}

int sanitize_fd(struct sanitize_ctx *ctx, int fd, const char *spool_dir, struct strbuf *out,
		struct sanitize_result *ret)
{
	size_t cap = ctx->cfg.lim.max_message + 1;
	struct stat st;
	off_t at = lseek(fd, 0, SEEK_CUR);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && at >= 0 && st.st_size >= at) {
		/* A file is parsed in place, never loaded.  Like a pipe, at
		 * most max_message + 1 bytes of it are looked at. */
		uint64_t left = (uint64_t)(st.st_size - at);
		struct src s = {.fd = fd, .off = (uint64_t)at, .len = left < cap ? (size_t)left : cap};
		return run_src(ctx, &s, out, ret);
	}
	struct san_spool sp;
	san_spool_init(&sp, spool_dir, SANITIZE_SPOOL_MEM);
	int r = san_spool_read_fd(&sp, fd, cap);
	if (r == 0)
		r = sanitize_spool(ctx, &sp, out, ret);
	else
		memset(ret, 0, sizeof(*ret));
	san_spool_reset(&sp);
	return r;
}
