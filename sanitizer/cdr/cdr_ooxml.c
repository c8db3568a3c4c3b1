/* cdr_ooxml: structural rebuild of an OOXML package (see cdr_ooxml.h).
 *
 * Pipeline: cdr_ooxml_rebuild reads every entry under the caps
 * (ooxml_read), reads the content types (ooxml_types), decides which parts
 * stay by content type (ooxml_keep), rewrites each kept relationships part
 * (ooxml_rels: drops links to removed parts and external links the options
 * do not keep), rewrites each kept XML part (ooxml_clean), and writes the
 * new zip with a rebuilt [Content_Types].xml first (ooxml_write).
 *
 * Everything it allocates is freed before it returns, except *ret_out and
 * the result.  libxml2 is used without network, entity substitution or DTD
 * loading, and a part that declares a DTD is refused. */
#include "sanitizer/cdr/cdr_ooxml.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/strbuf.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#define NS_CT "http://schemas.openxmlformats.org/package/2006/content-types"
#define NS_PR "http://schemas.openxmlformats.org/package/2006/relationships"
#define NS_R "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_R_STRICT "http://purl.oclc.org/ooxml/officeDocument/relationships"
#define NS_W "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#define NS_W_STRICT "http://purl.oclc.org/ooxml/wordprocessingml/main"
#define NS_X "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_X_STRICT "http://purl.oclc.org/ooxml/spreadsheetml/main"
#define NS_P "http://schemas.openxmlformats.org/presentationml/2006/main"
#define NS_P_STRICT "http://purl.oclc.org/ooxml/presentationml/main"
#define NS_O "urn:schemas-microsoft-com:office:office"

#define CT_OD "application/vnd.openxmlformats-officedocument."
#define CT_RELS "application/vnd.openxmlformats-package.relationships+xml"
#define MIB ((size_t)1 << 20)

struct part {
	char *name; /* "/word/document.xml": the zip name with a leading '/' */
	unsigned char *data;
	size_t len;
	const char *ct; /* content type after mapping (static or owned by types); NULL if none */
	bool keep, is_rels, is_xml;
	char **dropped_ids; /* relationship ids dropped from this part's rels */
	size_t ndropped_ids;
};

struct deflt {
	char *ext, *ct;
};

struct pkg {
	const struct cdr_ooxml_opts *o;
	struct cdr_ooxml_result *res;
	struct part *parts;
	size_t nparts;
	struct deflt *defs;
	size_t ndefs;
	char **overrides; /* pairs: name, ct */
	size_t noverrides;
	const char *main_ct;
	char *why;
	size_t whylen;
};

static int fail(struct pkg *p, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct pkg *p, int err, const char *fmt, ...)
{
	va_list ap;

	if (p->whylen) {
		va_start(ap, fmt);
		vsnprintf(p->why, p->whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static void removed(struct pkg *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void removed(struct pkg *p, const char *fmt, ...)
{
	struct cdr_ooxml_result *r = p->res;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (r->nremoved >= p->o->lim.max_removed) {
		r->nremoved_dropped++;
		return;
	}
	va_start(ap, fmt);
	strbuf_vprintf(&sb, fmt, ap);
	va_end(ap);
	r->removed = xreallocarray(r->removed, r->nremoved + 1, sizeof(*r->removed));
	r->removed[r->nremoved++] = strbuf_steal(&sb);
}

void cdr_ooxml_opts_default(struct cdr_ooxml_opts *ret_opts)
{
	*ret_opts = (struct cdr_ooxml_opts){
		.lim =
			{
				.max_entries = 4096,
				.max_entry_bytes = 64 * MIB,
				.max_total_bytes = 256 * MIB,
				.max_ratio = 200,
				.max_name_len = 512,
				.max_xml_depth = 256,
				.max_removed = 4096,
			},
		.keep_ext_hyperlinks = true,
		.keep_ext_images = false,
		.keep_media = true,
		.keep_comments = true,
	};
}

void cdr_ooxml_result_free(struct cdr_ooxml_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->nremoved; i++)
		free(res->removed[i]);
	for (size_t i = 0; i < res->nmedia; i++)
		free(res->media[i]);
	free(res->removed);
	free(res->media);
	memset(res, 0, sizeof(*res));
}

static void pkg_free(struct pkg *p)
{
	for (size_t i = 0; i < p->nparts; i++) {
		free(p->parts[i].name);
		free(p->parts[i].data);
		for (size_t j = 0; j < p->parts[i].ndropped_ids; j++)
			free(p->parts[i].dropped_ids[j]);
		free(p->parts[i].dropped_ids);
	}
	free(p->parts);
	for (size_t i = 0; i < p->ndefs; i++) {
		free(p->defs[i].ext);
		free(p->defs[i].ct);
	}
	free(p->defs);
	for (size_t i = 0; i < 2 * p->noverrides; i++)
		free(p->overrides[i]);
	free(p->overrides);
}

/* --- reading the zip ---------------------------------------------------- */

/* An OLE compound file is how Office stores an encrypted OOXML package (the
 * "EncryptedPackage" stream) and also the legacy binary formats. */
static int ooxml_sniff_cfb(struct pkg *p, const unsigned char *in, size_t inlen)
{
	static const unsigned char cfb[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
	static const char ep[] = "EncryptedPackage";
	unsigned char u16[2 * sizeof(ep)];

	if (inlen < sizeof(cfb) || memcmp(in, cfb, sizeof(cfb)) != 0)
		return 0;
	for (size_t i = 0; i + 1 < sizeof(ep); i++) {
		u16[2 * i] = (unsigned char)ep[i];
		u16[2 * i + 1] = 0;
	}
	if (memmem(in, inlen, u16, 2 * (sizeof(ep) - 1)))
		return fail(p, -EACCES, "encrypted");
	return fail(p, -EMEDIUMTYPE, "not-ooxml");
}

/* A part name as a zip entry: relative, '/'-separated segments, none empty,
 * "." or "..", no backslash, no control character, valid UTF-8. */
static bool ooxml_name_ok(const char *name, size_t maxlen)
{
	size_t n = strlen(name);
	const char *s = name;

	if (n == 0 || n > maxlen || name[0] == '/' || !utf8_valid(name, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == '\\' || name[i] == 0x7f || name[i] == ':')
			return false;
	while (*s) {
		const char *e = strchr(s, '/');
		size_t seg = e ? (size_t)(e - s) : strlen(s);

		if (seg == 0 && e) /* empty segment; a trailing '/' (a directory) is handled by the caller */
			return false;
		if ((seg == 1 && s[0] == '.') || (seg == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!e)
			break;
		s = e + 1;
	}
	return true;
}

static int cmp_name_ci(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	return strcasecmp(x->name, y->name);
}

static int ooxml_read(struct pkg *p, const void *in, size_t inlen)
{
	const struct cdr_ooxml_limits *lim = &p->o->lim;
	size_t total = 0, cap_total = lim->max_total_bytes;
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int rc = 0, r;

	if (lim->max_ratio && inlen <= (SIZE_MAX - MIB) / lim->max_ratio && inlen * lim->max_ratio + MIB < cap_total)
		cap_total = inlen * lim->max_ratio + MIB;
	/* the central directory is the truth (what Office reads); a zip without
	 * one (truncated, or a stream of local headers) is refused */
	archive_read_support_format_zip_seekable(a);
	if (archive_read_open_memory(a, in, inlen) != ARCHIVE_OK) {
		rc = fail(p, -EMEDIUMTYPE, "not-ooxml");
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);
		struct part *pt;
		size_t cap, nl;

		if (!name) {
			rc = fail(p, -EINVAL, "bad-name");
			goto out;
		}
		nl = strlen(name);
		if (archive_entry_is_encrypted(ent)) {
			rc = fail(p, -EACCES, "encrypted");
			goto out;
		}
		if (nl > 0 && name[nl - 1] == '/' && archive_entry_size(ent) == 0) {
			char *d = xstrndup(name, nl - 1);
			bool ok = nl > 1 && ooxml_name_ok(d, lim->max_name_len);

			free(d);
			if (!ok) {
				rc = fail(p, -EINVAL, "bad-name");
				goto out;
			}
			continue; /* a directory entry: the new zip has none */
		}
		if (!ooxml_name_ok(name, lim->max_name_len)) {
			rc = fail(p, -EINVAL, "bad-name");
			goto out;
		}
		if (archive_entry_filetype(ent) != AE_IFREG) {
			rc = fail(p, -EINVAL, "bad-entry-type");
			goto out;
		}
		if (p->nparts >= lim->max_entries) {
			rc = fail(p, -E2BIG, "entry-limit");
			goto out;
		}
		p->parts = xreallocarray(p->parts, p->nparts + 1, sizeof(*p->parts));
		pt = &p->parts[p->nparts++];
		memset(pt, 0, sizeof(*pt));
		pt->name = xasprintf("/%s", name);
		cap = 0;
		for (;;) {
			ssize_t got;

			if (pt->len == cap) {
				if (cap >= lim->max_entry_bytes) {
					/* one more byte would pass the cap: probe it */
					unsigned char probe;

					got = archive_read_data(a, &probe, 1);
					if (got > 0) {
						rc = fail(p, -E2BIG, "entry-size-limit");
						goto out;
					}
					if (got < 0) {
						rc = fail(p, -EINVAL, "bad-zip");
						goto out;
					}
					break;
				}
				/* the header's size is a hint only: the cap is what holds */
				if (!cap && archive_entry_size_is_set(ent) && archive_entry_size(ent) > 0)
					cap = (size_t)archive_entry_size(ent) < lim->max_entry_bytes
						? (size_t)archive_entry_size(ent)
						: lim->max_entry_bytes;
				else
					cap = cap ? cap * 2 : 16384;
				if (cap > lim->max_entry_bytes)
					cap = lim->max_entry_bytes;
				pt->data = xreallocarray(pt->data, cap ? cap : 1, 1);
			}
			got = archive_read_data(a, pt->data + pt->len, cap - pt->len);
			if (got < 0) {
				rc = fail(p, archive_entry_is_encrypted(ent) ? -EACCES : -EINVAL,
					  archive_entry_is_encrypted(ent) ? "encrypted" : "bad-zip");
				goto out;
			}
			if (got == 0)
				break;
			pt->len += (size_t)got;
			total += (size_t)got;
			if (total > cap_total) {
				rc = fail(p, -E2BIG, total > lim->max_total_bytes ? "total-size-limit" : "ratio-limit");
				goto out;
			}
		}
	}
	if (r != ARCHIVE_EOF) {
		rc = fail(p, -EINVAL, p->nparts ? "bad-zip" : "not-ooxml");
		goto out;
	}
	if (p->nparts > 1) {
		struct part *s = xreallocarray(NULL, p->nparts, sizeof(*s));

		memcpy(s, p->parts, p->nparts * sizeof(*s));
		qsort(s, p->nparts, sizeof(*s), cmp_name_ci);
		for (size_t i = 1; i < p->nparts; i++)
			if (strcasecmp(s[i - 1].name, s[i].name) == 0) {
				free(s);
				rc = fail(p, -EINVAL, "duplicate-name");
				goto out;
			}
		free(s);
	}
out:
	archive_read_free(a);
	return rc;
}

/* --- XML helpers -------------------------------------------------------- */

static xmlDocPtr ooxml_parse(struct pkg *p, const struct part *pt, int *ret_rc)
{
	xmlDocPtr d;

	*ret_rc = 0;
	if (pt->len > INT32_MAX) {
		*ret_rc = fail(p, -E2BIG, "xml-size-limit");
		return NULL;
	}
	/* no XML_PARSE_NOENT (no substitution), no DTDLOAD/DTDATTR, no network */
	d = xmlReadMemory((const char *)pt->data, (int)pt->len, NULL, NULL,
			  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
				  XML_PARSE_COMPACT);
	if (!d) {
		*ret_rc = fail(p, -EINVAL, "bad-xml");
		return NULL;
	}
	if (d->intSubset || d->extSubset) {
		xmlFreeDoc(d);
		*ret_rc = fail(p, -EINVAL, "xml-dtd");
		return NULL;
	}
	if (!xmlDocGetRootElement(d)) {
		xmlFreeDoc(d);
		*ret_rc = fail(p, -EINVAL, "bad-xml");
		return NULL;
	}
	return d;
}

static bool ns_is(xmlNodePtr n, const char *a, const char *b)
{
	const char *h = n->ns && n->ns->href ? (const char *)n->ns->href : "";

	return strcmp(h, a) == 0 || (b && strcmp(h, b) == 0);
}

static bool el_is(xmlNodePtr n, const char *ns, const char *ns2, const char *local)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, local) == 0 && ns_is(n, ns, ns2);
}

static char *attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *s = v ? xstrdup((const char *)v) : NULL;

	xmlFree(v);
	return s;
}

static struct part *part_find(struct pkg *p, const char *name)
{
	for (size_t i = 0; i < p->nparts; i++)
		if (strcasecmp(p->parts[i].name, name) == 0)
			return &p->parts[i];
	return NULL;
}

/* --- content types ------------------------------------------------------ */

static const char *const main_map[][3] = {
	/* input content type, output content type, output extension */
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
	 CT_OD "wordprocessingml.document.main+xml", "docx"},
	{"application/vnd.ms-word.document.macroEnabled.main+xml", CT_OD "wordprocessingml.document.main+xml", "docx"},
	{CT_OD "wordprocessingml.template.main+xml", CT_OD "wordprocessingml.template.main+xml", "dotx"},
	{"application/vnd.ms-word.template.macroEnabledTemplate.main+xml", CT_OD "wordprocessingml.template.main+xml",
	 "dotx"},
	{CT_OD "spreadsheetml.sheet.main+xml", CT_OD "spreadsheetml.sheet.main+xml", "xlsx"},
	{"application/vnd.ms-excel.sheet.macroEnabled.main+xml", CT_OD "spreadsheetml.sheet.main+xml", "xlsx"},
	{CT_OD "spreadsheetml.template.main+xml", CT_OD "spreadsheetml.template.main+xml", "xltx"},
	{"application/vnd.ms-excel.template.macroEnabled.main+xml", CT_OD "spreadsheetml.template.main+xml", "xltx"},
	{CT_OD "presentationml.presentation.main+xml", CT_OD "presentationml.presentation.main+xml", "pptx"},
	{"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
	 CT_OD "presentationml.presentation.main+xml", "pptx"},
	{CT_OD "presentationml.slideshow.main+xml", CT_OD "presentationml.slideshow.main+xml", "ppsx"},
	{"application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml", CT_OD "presentationml.slideshow.main+xml",
	 "ppsx"},
	{CT_OD "presentationml.template.main+xml", CT_OD "presentationml.template.main+xml", "potx"},
	{"application/vnd.ms-powerpoint.template.macroEnabled.main+xml", CT_OD "presentationml.template.main+xml",
	 "potx"},
};

/* Content types of the parts that stay besides the main part (exact). */
static const char *const kept_ct[] = {
	CT_RELS,
	"application/vnd.openxmlformats-package.core-properties+xml",
	CT_OD "extended-properties+xml",
	CT_OD "theme+xml",
	CT_OD "themeOverride+xml",
	CT_OD "drawing+xml",
	CT_OD "wordprocessingml.styles+xml",
	"application/vnd.ms-word.stylesWithEffects+xml",
	CT_OD "wordprocessingml.settings+xml",
	CT_OD "wordprocessingml.webSettings+xml",
	CT_OD "wordprocessingml.fontTable+xml",
	CT_OD "wordprocessingml.numbering+xml",
	CT_OD "wordprocessingml.header+xml",
	CT_OD "wordprocessingml.footer+xml",
	CT_OD "wordprocessingml.footnotes+xml",
	CT_OD "wordprocessingml.endnotes+xml",
	CT_OD "spreadsheetml.worksheet+xml",
	CT_OD "spreadsheetml.sharedStrings+xml",
	CT_OD "spreadsheetml.styles+xml",
	CT_OD "spreadsheetml.table+xml",
	CT_OD "spreadsheetml.calcChain+xml",
	CT_OD "presentationml.slide+xml",
	CT_OD "presentationml.slideLayout+xml",
	CT_OD "presentationml.slideMaster+xml",
	CT_OD "presentationml.notesSlide+xml",
	CT_OD "presentationml.notesMaster+xml",
	CT_OD "presentationml.handoutMaster+xml",
	CT_OD "presentationml.presProps+xml",
	CT_OD "presentationml.viewProps+xml",
	CT_OD "presentationml.tableStyles+xml",
	"application/vnd.ms-office.drawingml.diagramDrawing+xml",
	CT_OD "drawingml.diagramData+xml",
	CT_OD "drawingml.diagramLayout+xml",
	CT_OD "drawingml.diagramStyle+xml",
	CT_OD "drawingml.diagramColors+xml",
};

static const char *const comment_ct[] = {
	CT_OD "wordprocessingml.comments+xml",
	CT_OD "spreadsheetml.comments+xml",
	CT_OD "presentationml.comments+xml",
	CT_OD "presentationml.commentAuthors+xml",
	"application/vnd.openxmlformats-officedocument.vmlDrawing",
};

static const char *const media_ct[] = {"image/png", "image/jpeg", "image/gif"};

static const char *part_ext(const char *name)
{
	const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');

	return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int ooxml_types(struct pkg *p)
{
	struct part *ct = part_find(p, "/[Content_Types].xml");
	xmlDocPtr d;
	int rc;

	if (!ct)
		return fail(p, -EMEDIUMTYPE, "not-ooxml");
	d = ooxml_parse(p, ct, &rc);
	if (!d)
		return rc;
	for (xmlNodePtr n = xmlDocGetRootElement(d)->children; n; n = n->next) {
		char *a1, *a2;

		if (el_is(n, NS_CT, NULL, "Default")) {
			a1 = attr(n, "Extension");
			a2 = attr(n, "ContentType");
			if (a1 && a2) {
				p->defs = xreallocarray(p->defs, p->ndefs + 1, sizeof(*p->defs));
				p->defs[p->ndefs++] = (struct deflt){a1, a2};
				continue;
			}
		} else if (el_is(n, NS_CT, NULL, "Override")) {
			a1 = attr(n, "PartName");
			a2 = attr(n, "ContentType");
			if (a1 && a2) {
				p->overrides = xreallocarray(p->overrides, 2 * (p->noverrides + 1), sizeof(char *));
				p->overrides[2 * p->noverrides] = a1;
				p->overrides[2 * p->noverrides + 1] = a2;
				p->noverrides++;
				continue;
			}
		} else {
			continue;
		}
		free(a1);
		free(a2);
	}
	xmlFreeDoc(d);
	for (size_t i = 0; i < p->nparts; i++) {
		struct part *pt = &p->parts[i];

		for (size_t j = 0; j < p->noverrides && !pt->ct; j++)
			if (strcasecmp(p->overrides[2 * j], pt->name) == 0)
				pt->ct = p->overrides[2 * j + 1];
		for (size_t j = 0; j < p->ndefs && !pt->ct; j++)
			if (strcasecmp(p->defs[j].ext, part_ext(pt->name)) == 0)
				pt->ct = p->defs[j].ct;
	}
	return 0;
}

/* --- what stays --------------------------------------------------------- */

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(s, list[i]) == 0)
			return true;
	return false;
}

/* The source part of a relationships part: "/word/_rels/document.xml.rels"
 * belongs to "/word/document.xml", "/_rels/.rels" to the package ("/"). */
static char *rels_source(const char *name)
{
	const char *slash = strrchr(name, '/');
	size_t dirlen = (size_t)(slash - name), nl = strlen(name);

	if (nl < 5 || strcasecmp(name + nl - 5, ".rels") != 0 || dirlen < 6 ||
	    strncasecmp(name + dirlen - 6, "/_rels", 6) != 0)
		return NULL;
	return xasprintf("%.*s/%.*s", (int)(dirlen - 6), name, (int)(nl - 5 - dirlen - 1), slash + 1);
}

static int ooxml_keep(struct pkg *p)
{
	size_t nmain = 0;

	for (size_t i = 0; i < p->nparts; i++) {
		struct part *pt = &p->parts[i];

		if (strcasecmp(pt->name, "/[Content_Types].xml") == 0)
			continue;
		for (size_t j = 0; pt->ct && j < sizeof(main_map) / sizeof(main_map[0]); j++)
			if (strcasecmp(pt->ct, main_map[j][0]) == 0) {
				pt->ct = main_map[j][1];
				snprintf(p->res->ext, sizeof(p->res->ext), "%s", main_map[j][2]);
				p->main_ct = pt->ct;
				pt->keep = true;
				nmain++;
			}
		if (pt->keep || !pt->ct)
			;
		else if (in_list(pt->ct, kept_ct, sizeof(kept_ct) / sizeof(kept_ct[0])))
			pt->keep = true;
		else if (in_list(pt->ct, comment_ct, sizeof(comment_ct) / sizeof(comment_ct[0])))
			pt->keep = p->o->keep_comments;
		else if (in_list(pt->ct, media_ct, sizeof(media_ct) / sizeof(media_ct[0])))
			pt->keep = p->o->keep_media;
		pt->is_rels = pt->ct && strcasecmp(pt->ct, CT_RELS) == 0;
		pt->is_xml = pt->keep && !in_list(pt->ct, media_ct, sizeof(media_ct) / sizeof(media_ct[0])) &&
			strcasecmp(pt->ct, "application/vnd.openxmlformats-officedocument.vmlDrawing") != 0;
		if (strcasecmp(pt->ct ? pt->ct : "", "application/vnd.openxmlformats-officedocument.vmlDrawing") == 0)
			pt->is_xml = pt->keep; /* VML is XML too, usually with a .vml name */
	}
	if (nmain != 1)
		return fail(p, -EMEDIUMTYPE, nmain ? "several-main-parts" : "not-ooxml");
	/* a relationships part stays only under a relationships name (first
	 * pass) and with its source, which is not itself a relationships part
	 * (second pass: it reads only final decisions, whatever the order) */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < p->nparts; i++) {
			struct part *pt = &p->parts[i];
			char *src;

			if (!pt->is_rels || !pt->keep)
				continue;
			src = rels_source(pt->name);
			if (!src) {
				pt->keep = false;
			} else if (pass == 1 && strcmp(src, "/") != 0) {
				struct part *s = part_find(p, src);

				pt->keep = s && s->keep && !s->is_rels;
			}
			free(src);
		}
	for (size_t i = 0; i < p->nparts; i++) {
		struct part *pt = &p->parts[i];

		if (strncasecmp(pt->name, "/_xmlsignatures/", 16) == 0)
			p->res->signature_removed = true;
		if (!pt->keep && strcasecmp(pt->name, "/[Content_Types].xml") != 0)
			removed(p, "part:%s", pt->name);
		else if (pt->keep && in_list(pt->ct, media_ct, sizeof(media_ct) / sizeof(media_ct[0]))) {
			p->res->media = xreallocarray(p->res->media, p->res->nmedia + 1, sizeof(char *));
			p->res->media[p->res->nmedia++] = xstrdup(pt->name);
		}
	}
	return 0;
}

/* --- relationships ------------------------------------------------------ */

/* Resolves a relative target against the source part's folder, with "."
 * and ".." segments; percent-escapes are compared decoded as well. */
static char *rel_resolve(const char *src, const char *target)
{
	struct strbuf sb = STRBUF_INIT;
	char *work, *tok, *save = NULL;
	const char *slash = strrchr(src, '/');

	if (target[0] == '/')
		work = xstrdup(target);
	else
		work = xasprintf("%.*s/%s", (int)(slash - src), src, target);
	for (tok = strtok_r(work, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			char *last = sb.len ? strrchr(sb.buf, '/') : NULL;

			if (last) {
				sb.len = (size_t)(last - sb.buf);
				sb.buf[sb.len] = 0;
			}
			continue;
		}
		strbuf_putc(&sb, '/');
		strbuf_puts(&sb, tok);
	}
	free(work);
	if (!sb.len)
		strbuf_putc(&sb, '/');
	return strbuf_steal(&sb);
}

static char *pct_decode(const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	for (; *s; s++) {
		unsigned v;

		if (s[0] == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1) {
			strbuf_putc(&sb, (char)v);
			s += 2;
		} else {
			strbuf_putc(&sb, *s);
		}
	}
	return strbuf_steal(&sb);
}

static const char *rel_short(const char *type)
{
	const char *s = type ? strrchr(type, '/') : NULL;

	return s ? s + 1 : type ? type : "?";
}

static bool ext_kept(struct pkg *p, const char *type, const char *target)
{
	const char *t = rel_short(type);

	if (strcmp(t, "hyperlink") == 0 && p->o->keep_ext_hyperlinks)
		return strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0 ||
			strncasecmp(target, "mailto:", 7) == 0;
	if (strcmp(t, "image") == 0 && p->o->keep_ext_images)
		return strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0;
	return false;
}

static int ooxml_rels(struct pkg *p, struct part *pt, xmlDocPtr d)
{
	char *src = rels_source(pt->name);
	struct part *sp = strcmp(src, "/") ? part_find(p, src) : NULL;
	xmlNodePtr n, next;

	for (n = xmlDocGetRootElement(d)->children; n; n = next) {
		char *id, *type, *target, *mode;
		bool drop = false;

		next = n->next;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!el_is(n, NS_PR, NULL, "Relationship")) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
			continue;
		}
		id = attr(n, "Id");
		type = attr(n, "Type");
		target = attr(n, "Target");
		mode = attr(n, "TargetMode");
		if (!id || !type || !target) {
			drop = true;
			removed(p, "rel:%s:%s:invalid", src, id ? id : "?");
		} else if (mode && strcmp(mode, "External") == 0) {
			drop = !ext_kept(p, type, target);
			if (drop)
				removed(p, "rel:%s:%s:external:%s", src, id, rel_short(type));
		} else if (target[0] == '#') {
			/* a place inside the source part (a bookmark): stays */
		} else if (strcspn(target, ":/#?") < strlen(target) && target[strcspn(target, ":/#?")] == ':') {
			/* a URI scheme without TargetMode="External": judged as external */
			drop = !ext_kept(p, type, target);
			if (drop)
				removed(p, "rel:%s:%s:external:%s", src, id, rel_short(type));
		} else {
			char *res = rel_resolve(src, target), *dec = pct_decode(res);
			struct part *tp = part_find(p, res);

			if (!tp)
				tp = part_find(p, dec);
			if (!tp || !tp->keep) {
				drop = true;
				removed(p, "rel:%s:%s:%s:%s", src, id, rel_short(type), res);
			}
			free(res);
			free(dec);
		}
		if (drop) {
			if (sp && id) {
				sp->dropped_ids = xreallocarray(sp->dropped_ids, sp->ndropped_ids + 1, sizeof(char *));
				sp->dropped_ids[sp->ndropped_ids++] = xstrdup(id);
			}
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
		free(id);
		free(type);
		free(target);
		free(mode);
	}
	free(src);
	return 0;
}

/* --- document XML ------------------------------------------------------- */

/* Elements removed wherever they are: active content or references to
 * parts and places outside the package. */
static bool el_active(xmlNodePtr n)
{
	static const char *const w[] = {"attachedTemplate", "control", "mailMerge", "subDoc", "frameset", "docVars"};
	static const char *const x[] = {"externalReferences", "oleObjects", "controls", "oleSize", "webPublishItems"};
	static const char *const pp[] = {"oleObj", "control", "controls"};

	if (n->type != XML_ELEMENT_NODE)
		return false;
	if (ns_is(n, NS_W, NS_W_STRICT))
		return in_list((const char *)n->name, w, sizeof(w) / sizeof(w[0]));
	if (ns_is(n, NS_X, NS_X_STRICT))
		return in_list((const char *)n->name, x, sizeof(x) / sizeof(x[0]));
	if (ns_is(n, NS_P, NS_P_STRICT))
		return in_list((const char *)n->name, pp, sizeof(pp) / sizeof(pp[0]));
	if (ns_is(n, NS_O, NULL))
		return strcmp((const char *)n->name, "OLEObject") == 0;
	return false;
}

/* The arguments of a HYPERLINK field that may stay with keep_ext_hyperlinks:
 * a quoted http, https or mailto target, or only a bookmark (\l "name"). */
static bool hyperlink_field_ok(const char *args)
{
	while (*args == ' ' || *args == '\t')
		args++;
	if (args[0] == '\\' && (args[1] == 'l' || args[1] == 'L') && (args[2] == ' ' || args[2] == '"'))
		return true;
	if (*args == '"')
		args++;
	return strncasecmp(args, "http://", 7) == 0 || strncasecmp(args, "https://", 8) == 0 ||
		strncasecmp(args, "mailto:", 7) == 0;
}

/* A field instruction that reaches outside the document or runs something. */
static const char *field_active(const char *instr, bool keep_hyperlinks)
{
	static const char *const kw[] = {"DDEAUTO", "DDE",  "INCLUDETEXT", "INCLUDEPICTURE", "INCLUDE",
					 "IMPORT",  "LINK", "MACROBUTTON", "HYPERLINK"};
	size_t n = 0;

	while (*instr == ' ' || *instr == '\t' || *instr == '\r' || *instr == '\n')
		instr++;
	while (instr[n] && instr[n] != ' ' && instr[n] != '\t' && instr[n] != '\\' && instr[n] != '"')
		n++;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i]) == n && strncasecmp(instr, kw[i], n) == 0) {
			if (strcmp(kw[i], "HYPERLINK") == 0 && keep_hyperlinks && hyperlink_field_ok(instr + n))
				return NULL;
			return kw[i];
		}
	return NULL;
}

#define FIELD_DEPTH 32
#define FIELD_INSTR 4096

struct field {
	struct strbuf instr;
	xmlNodePtr *nodes; /* fldChar and instrText elements of this field */
	size_t nnodes;
};

struct walk {
	struct pkg *p;
	struct part *pt;
	xmlNodePtr *doomed; /* unlinked and freed after the walk */
	size_t ndoomed;
	xmlNodePtr *unwrap; /* replaced by their children after the walk */
	size_t nunwrap;
	struct field f[FIELD_DEPTH];
	int nf;
	int depth;
	bool too_deep;
};

static void doom(struct walk *w, xmlNodePtr n)
{
	w->doomed = xreallocarray(w->doomed, w->ndoomed + 1, sizeof(*w->doomed));
	w->doomed[w->ndoomed++] = n;
}

static void field_node(struct walk *w, xmlNodePtr n)
{
	if (w->nf == 0)
		return;
	struct field *f = &w->f[w->nf - 1];

	f->nodes = xreallocarray(f->nodes, f->nnodes + 1, sizeof(*f->nodes));
	f->nodes[f->nnodes++] = n;
}

static void field_end(struct walk *w)
{
	struct field *f = &w->f[w->nf - 1];
	const char *kw = field_active(strbuf_str(&f->instr), w->p->o->keep_ext_hyperlinks);

	if (kw) {
		removed(w->p, "field:%s:%s", w->pt->name, kw);
		for (size_t i = 0; i < f->nnodes; i++)
			doom(w, f->nodes[i]);
	}
	free(f->nodes);
	strbuf_free(&f->instr);
	memset(f, 0, sizeof(*f));
	w->nf--;
}

static bool id_dropped(const struct part *pt, const char *id)
{
	for (size_t i = 0; i < pt->ndropped_ids; i++)
		if (strcmp(pt->dropped_ids[i], id) == 0)
			return true;
	return false;
}

static void walk(struct walk *w, xmlNodePtr n)
{
	for (; n; n = n->next) {
		if (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE) {
			doom(w, n);
			continue;
		}
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (el_active(n)) {
			removed(w->p, "element:%s:%s%s%s", w->pt->name,
				n->ns && n->ns->prefix ? (const char *)n->ns->prefix : "",
				n->ns && n->ns->prefix ? ":" : "", (const char *)n->name);
			doom(w, n);
			continue;
		}
		if (ns_is(n, NS_W, NS_W_STRICT) && strcmp((const char *)n->name, "fldSimple") == 0) {
			char *in = attr(n, "instr");
			const char *kw = NULL;

			if (!in) {
				xmlChar *v = xmlGetNsProp(n, (const xmlChar *)"instr", n->ns->href);

				in = v ? xstrdup((const char *)v) : NULL;
				xmlFree(v);
			}
			kw = in ? field_active(in, w->p->o->keep_ext_hyperlinks) : NULL;
			free(in);
			if (kw) {
				/* the result runs stay, the field goes (after the walk,
				 * which still looks inside it below) */
				removed(w->p, "field:%s:%s", w->pt->name, kw);
				w->unwrap = xreallocarray(w->unwrap, w->nunwrap + 1, sizeof(*w->unwrap));
				w->unwrap[w->nunwrap++] = n;
			}
		}
		if (ns_is(n, NS_W, NS_W_STRICT) && strcmp((const char *)n->name, "fldChar") == 0) {
			xmlChar *t = xmlGetNsProp(n, (const xmlChar *)"fldCharType", n->ns->href);
			const char *ts = t ? (const char *)t : "";

			if (strcmp(ts, "begin") == 0) {
				if (w->nf < FIELD_DEPTH) {
					w->nf++;
					field_node(w, n);
				}
			} else if (strcmp(ts, "separate") == 0) {
				field_node(w, n);
			} else if (strcmp(ts, "end") == 0 && w->nf > 0) {
				field_node(w, n);
				field_end(w);
			}
			xmlFree(t);
			continue;
		}
		if (ns_is(n, NS_W, NS_W_STRICT) && strcmp((const char *)n->name, "instrText") == 0 && w->nf > 0) {
			xmlChar *c = xmlNodeGetContent(n);
			struct field *f = &w->f[w->nf - 1];

			if (c && f->instr.len < FIELD_INSTR)
				strbuf_puts(&f->instr, (const char *)c);
			xmlFree(c);
			field_node(w, n);
			walk(w, n->children); /* comments inside go too */
			continue;
		}
		/* references to dropped relationships */
		for (xmlAttrPtr a = n->properties, an; a; a = an) {
			an = a->next;
			if (a->ns && a->ns->href &&
			    (strcmp((const char *)a->ns->href, NS_R) == 0 ||
			     strcmp((const char *)a->ns->href, NS_R_STRICT) == 0)) {
				xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);

				if (v && id_dropped(w->pt, (const char *)v))
					xmlRemoveProp(a);
				xmlFree(v);
			} else if (strcmp((const char *)a->name, "href") == 0 ||
				   strcmp((const char *)a->name, "src") == 0) {
				/* VML holds links and pictures as URLs, not relationships */
				xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
				const char *t = v ? (const char *)v : "";

				if (t[strcspn(t, ":/#?")] == ':' &&
				    !ext_kept(w->p, a->name[0] == 'h' ? "hyperlink" : "image", t)) {
					removed(w->p, "attribute:%s:%s", w->pt->name, (const char *)a->name);
					xmlRemoveProp(a);
				}
				xmlFree(v);
			}
		}
		if (++w->depth > w->p->o->lim.max_xml_depth) {
			w->too_deep = true;
			return;
		}
		walk(w, n->children);
		w->depth--;
		if (w->too_deep)
			return;
	}
}

static int ooxml_clean(struct pkg *p, struct part *pt, xmlDocPtr d)
{
	struct walk w = {.p = p, .pt = pt};
	int rc = 0;

	for (xmlNodePtr n = d->children, nn; n; n = nn) {
		nn = n->next;
		if (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
	walk(&w, xmlDocGetRootElement(d)->children);
	while (w.nf > 0) /* an unterminated field: judged on what it has */
		field_end(&w);
	if (w.too_deep)
		rc = fail(p, -E2BIG, "xml-depth-limit");
	for (size_t i = 0; i < w.nunwrap; i++) {
		xmlNodePtr n = w.unwrap[i], c, cn;

		for (c = n->children; c; c = cn) {
			cn = c->next;
			xmlUnlinkNode(c);
			xmlAddPrevSibling(n, c);
		}
		xmlUnlinkNode(n);
		xmlFreeNode(n);
	}
	/* doomed nodes may sit inside each other: detach them all before
	 * freeing any, so that each is freed once, alone */
	for (size_t i = 0; i < w.ndoomed; i++)
		xmlUnlinkNode(w.doomed[i]);
	for (size_t i = 0; i < w.ndoomed; i++)
		xmlFreeNode(w.doomed[i]);
	free(w.doomed);
	free(w.unwrap);
	return rc;
}

/* --- writing ------------------------------------------------------------ */

static int ooxml_reserialize(struct pkg *p, struct part *pt, xmlDocPtr d)
{
	xmlChar *mem = NULL;
	int len = 0;

	/* UTF-8 whatever the input was, without an encoder pass: a declaration
	 * without an encoding means UTF-8 */
	xmlFree((void *)(uintptr_t)d->encoding); /* libxml2 owns it, but declares it const */
	d->encoding = NULL;
	xmlDocDumpMemory(d, &mem, &len);
	if (!mem || len < 0)
		return fail(p, -ENOMEM, "xml-write");
	free(pt->data);
	pt->data = xmalloc((size_t)len ? (size_t)len : 1);
	memcpy(pt->data, mem, (size_t)len);
	pt->len = (size_t)len;
	xmlFree(mem);
	return 0;
}

static char *ooxml_content_types(struct pkg *p)
{
	xmlDocPtr d = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr root = xmlNewNode(NULL, (const xmlChar *)"Types");
	xmlChar *mem = NULL;
	int len = 0;
	char *out;

	xmlNewNs(root, (const xmlChar *)NS_CT, NULL);
	xmlDocSetRootElement(d, root);
	for (size_t i = 0; i < p->ndefs; i++) {
		bool used = false;

		for (size_t j = 0; j < p->ndefs && j < i; j++)
			if (strcasecmp(p->defs[j].ext, p->defs[i].ext) == 0)
				used = true; /* a repeated extension: the first one counts */
		if (used)
			continue;
		for (size_t j = 0; j < p->nparts && !used; j++)
			used = p->parts[j].keep && p->parts[j].ct == p->defs[i].ct;
		if (!used)
			continue;
		xmlNodePtr n = xmlNewChild(root, NULL, (const xmlChar *)"Default", NULL);
		xmlNewProp(n, (const xmlChar *)"Extension", (const xmlChar *)p->defs[i].ext);
		xmlNewProp(n, (const xmlChar *)"ContentType", (const xmlChar *)p->defs[i].ct);
	}
	for (size_t j = 0; j < p->nparts; j++) {
		const struct part *pt = &p->parts[j];
		bool by_default = false;

		if (!pt->keep)
			continue;
		for (size_t i = 0; i < p->ndefs && !by_default; i++)
			by_default = pt->ct == p->defs[i].ct && strcasecmp(p->defs[i].ext, part_ext(pt->name)) == 0;
		if (by_default)
			continue;
		xmlNodePtr n = xmlNewChild(root, NULL, (const xmlChar *)"Override", NULL);
		xmlNewProp(n, (const xmlChar *)"PartName", (const xmlChar *)pt->name);
		xmlNewProp(n, (const xmlChar *)"ContentType", (const xmlChar *)pt->ct);
	}
	xmlDocDumpMemoryEnc(d, &mem, &len, "UTF-8");
	out = xstrndup(mem ? (const char *)mem : "", mem && len > 0 ? (size_t)len : 0);
	xmlFree(mem);
	xmlFreeDoc(d);
	return out;
}

struct membuf {
	unsigned char *buf;
	size_t len, cap;
};

static la_ssize_t mem_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct membuf *m = ud;

	(void)a;
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;

		while (cap < m->len + n)
			cap *= 2;
		m->buf = xreallocarray(m->buf, cap, 1);
		m->cap = cap;
	}
	memcpy(m->buf + m->len, buf, n);
	m->len += n;
	return (la_ssize_t)n;
}

static int zip_add(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	archive_entry_set_pathname_utf8(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, 315532800, 0); /* 1980-01-01: output bytes depend on input bytes only */
	r = archive_write_header(a, e);
	if (r == ARCHIVE_OK && len && archive_write_data(a, data, len) != (la_ssize_t)len)
		r = ARCHIVE_FATAL;
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : -EIO;
}

static int ooxml_write(struct pkg *p, void **ret_out, size_t *ret_outlen)
{
	struct archive *a = archive_write_new();
	struct membuf m = {0};
	char *ct = ooxml_content_types(p);
	int rc = 0;

	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "zip:compression=deflate") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, &m, NULL, mem_write, NULL, NULL) != ARCHIVE_OK) {
		rc = fail(p, -EIO, "zip-write");
		goto out;
	}
	rc = zip_add(a, "[Content_Types].xml", ct, strlen(ct));
	for (int pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < p->nparts && rc == 0; i++) {
			const struct part *pt = &p->parts[i];
			bool root_rels = strcasecmp(pt->name, "/_rels/.rels") == 0;

			if (!pt->keep || root_rels != (pass == 0))
				continue;
			/* png/jpeg/gif are compressed already: stored, not deflated again
			 * (libarchive allows this per entry; its options only before open) */
			if ((pt->is_xml ? archive_write_zip_set_compression_deflate(a)
					: archive_write_zip_set_compression_store(a)) != ARCHIVE_OK)
				rc = -EIO;
			if (rc == 0)
				rc = zip_add(a, pt->name + 1, pt->data, pt->len);
		}
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = -EIO;
	if (rc)
		rc = fail(p, rc, "zip-write");
out:
	archive_write_free(a);
	free(ct);
	if (rc) {
		free(m.buf);
		return rc;
	}
	*ret_out = m.buf ? m.buf : xmalloc(1);
	*ret_outlen = m.len;
	return 0;
}

int cdr_ooxml_rebuild(const void *in, size_t inlen, const struct cdr_ooxml_opts *opts, void **ret_out,
		      size_t *ret_outlen, struct cdr_ooxml_result *ret_res, char *why, size_t whylen)
{
	struct cdr_ooxml_opts def;
	struct pkg p = {.why = why, .whylen = whylen, .res = ret_res};
	int rc;

	if (!opts) {
		cdr_ooxml_opts_default(&def);
		opts = &def;
	}
	p.o = opts;
	memset(ret_res, 0, sizeof(*ret_res));
	*ret_out = NULL;
	*ret_outlen = 0;
	if (whylen)
		why[0] = 0;
	rc = ooxml_sniff_cfb(&p, in, inlen);
	if (rc == 0)
		rc = ooxml_read(&p, in, inlen);
	if (rc == 0)
		rc = ooxml_types(&p);
	if (rc == 0)
		rc = ooxml_keep(&p);
	/* relationships first: they say which ids the XML parts lose */
	for (int pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < p.nparts && rc == 0; i++) {
			struct part *pt = &p.parts[i];
			xmlDocPtr d;

			if (!pt->keep || !pt->is_xml || pt->is_rels != (pass == 0))
				continue;
			d = ooxml_parse(&p, pt, &rc);
			if (!d)
				break;
			rc = pass == 0 ? ooxml_rels(&p, pt, d) : ooxml_clean(&p, pt, d);
			if (rc == 0)
				rc = ooxml_reserialize(&p, pt, d);
			xmlFreeDoc(d);
		}
	if (rc == 0)
		rc = ooxml_write(&p, ret_out, ret_outlen);
	pkg_free(&p);
	if (rc)
		cdr_ooxml_result_free(ret_res);
	return rc;
}
