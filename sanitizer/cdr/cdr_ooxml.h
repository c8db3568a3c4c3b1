/* cdr_ooxml: structural rebuild of an Office Open XML package (docx, xlsx,
 * pptx and their macro-enabled and template variants).
 *
 * The input zip is read with libarchive under caps (entries, per-entry and
 * total expanded size, expansion ratio, name length); hostile names are
 * refused.  A NEW zip is written holding only an allow-list of parts, chosen
 * by content type; every kept XML part is parsed (libxml2: no network, no
 * entity substitution, no DTD) and written again without comments, PIs,
 * active-content elements (OLE objects, ActiveX controls, attached
 * templates, external references, DDE / INCLUDE / LINK fields) and
 * references to dropped relationships.  [Content_Types].xml and every
 * relationships part are rebuilt; macro-enabled content types become the
 * plain ones.  Every removed item is named in the result.
 *
 * Ownership: the caller owns the input; *ret_out is malloc'd and freed by
 * the caller with free(); the result is freed with cdr_ooxml_result_free.
 * Failure: -errno and a short English key in why (see docs/cdr.md), no
 * output.  Never logs.  Allocation failure aborts (control plane). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct cdr_ooxml_limits {
	size_t max_entries;     /* zip entries */
	size_t max_entry_bytes; /* expanded size of one entry */
	size_t max_total_bytes; /* expanded size of all entries */
	size_t max_ratio;       /* total expanded <= ratio * input bytes + 1 MiB */
	size_t max_name_len;    /* bytes of one entry name */
	int max_xml_depth;      /* element nesting in one XML part */
	size_t max_removed;     /* names kept in the result; the rest are counted */
};

struct cdr_ooxml_opts {
	struct cdr_ooxml_limits lim;
	/* external relationships kept, by type; every other external one
	 * (attached/remote templates, OLE links, external data, frames,
	 * subdocuments...) is always dropped */
	bool keep_ext_hyperlinks; /* http, https, mailto hyperlinks (default true) */
	bool keep_ext_images;     /* linked (not embedded) pictures (default false) */
	bool keep_media;          /* png/jpeg/gif parts (default true; later through the image path) */
	bool keep_comments;       /* review comments (default true) */
};

struct cdr_ooxml_result {
	char **removed; /* "part:/word/vbaProject.bin", "rel:...", "element:...", "field:..." */
	size_t nremoved;
	size_t nremoved_dropped; /* removed items beyond lim.max_removed, counted only */
	char **media;            /* kept media parts, for the image path later */
	size_t nmedia;
	char ext[8];            /* extension of the output: docx, dotx, xlsx, xltx, pptx, potx, ppsx */
	bool signature_removed; /* the input was digitally signed; the copy is not */
};

void cdr_ooxml_opts_default(struct cdr_ooxml_opts *ret_opts);

/* Rebuilds in[0..inlen) into a new package (see the file comment). */
int cdr_ooxml_rebuild(const void *in, size_t inlen, const struct cdr_ooxml_opts *opts, void **ret_out,
		      size_t *ret_outlen, struct cdr_ooxml_result *ret_res, char *why, size_t whylen);

/* Frees what the result holds and clears it; NULL does nothing. */
void cdr_ooxml_result_free(struct cdr_ooxml_result *res);
