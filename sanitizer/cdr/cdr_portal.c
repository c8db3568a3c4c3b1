/* cdr_portal: the portal request and upload parcel formats (see
 * cdr_portal.h).  Contract: a parse either fills the whole struct from a
 * text that passed every check or returns < 0 with the struct empty; no
 * string that leaves here has a control character, invalid UTF-8 or more
 * than its cap, and no id or hash that may become part of a path has
 * anything but its own alphabet.  Never prints. */
#include "sanitizer/cdr/cdr_portal.h"
#include "common/jsonx.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cdr_portal_hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool cdr_parcel_id_ok(const char *s)
{
	return s && strlen(s) == CDR_PARCEL_ID_LEN && s[16] == '-' && hex_run(s, 16) && hex_run(s + 17, 16);
}

bool cdr_portal_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CDR_PORTAL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

bool cdr_portal_addr_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 3 || n > 254)
		return false;
	const char *at = strchr(s, '@');
	if (!at || at == s || !at[1] || strchr(at + 1, '@'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || strchr("\"<>()[],;:\\", s[i]))
			return false;
	return true;
}

/* valid UTF-8, no C0/C1 control character (tab allowed when multiline,
 * and CR LF), at most max bytes */
static bool text_ok(const char *s, size_t len, size_t max, bool multiline)
{
	if (len > max || !utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_decode(s + i, len - i, &cp);
		if (k == 0)
			return false;
		bool ctl = cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
		if (ctl && !(multiline && (cp == '\n' || cp == '\r' || cp == '\t')))
			return false;
		i += k;
	}
	return true;
}

/* A string member: absent or null gives NULL (an error when required);
 * false when the member is bad or memory runs out. */
static bool get_text(struct json_object *o, const char *k, bool required, size_t max, bool multiline, char **ret)
{
	struct json_object *v;
	*ret = NULL;
	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
		return !required;
	if (!json_object_is_type(v, json_type_string))
		return false;
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len || !text_ok(s, len, max, multiline))
		return false;
	return (*ret = strdup(s)) != NULL;
}

/* A required string member checked by ok, copied into ret[size]. */
static bool get_word(struct json_object *o, const char *k, bool (*ok)(const char *), char *ret, size_t size)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return false;
	const char *s = json_object_get_string(v);
	if (strlen(s) >= size || strlen(s) != (size_t)json_object_get_string_len(v) || !ok(s))
		return false;
	snprintf(ret, size, "%s", s);
	return true;
}

static bool origin_ok(const char *s)
{
	return !strcmp(s, "mail") || !strcmp(s, "upload");
}

/* The text as one JSON object (whole input, nothing after it), or NULL */
static struct json_object *parse_object(const char *buf, size_t len)
{
	struct json_object *o = jsonx_parse(buf, len, 8);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	struct json_object *v;
	if (!json_object_object_get_ex(o, "v", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

const char *cdr_portal_kind_name(enum cdr_portal_kind k)
{
	switch (k) {
	case CDR_PORTAL_RELEASE:
		return "release";
	case CDR_PORTAL_PPAP:
		return "ppap";
	case CDR_PORTAL_NOTIFY:
		return "notify";
	}
	return "?";
}

void cdr_portal_req_free(struct cdr_portal_req *r)
{
	for (size_t i = 0; i < r->napprovers; i++)
		free(r->approvers[i]);
	free(r->reason);
	if (r->password) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	memset(r, 0, sizeof(*r));
}

/* json-c keeps its own copy of the password: overwrite it before the
 * object is freed (best effort: the tokener's buffers are not ours) */
static void wipe_member(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)) {
		union {
			const char *c;
			char *m;
		} p = {.c = json_object_get_string(v)};
		explicit_bzero(p.m, (size_t)json_object_get_string_len(v));
	}
}

int cdr_portal_req_parse(const char *buf, size_t len, struct cdr_portal_req *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len > CDR_PORTAL_REQ_MAX_BYTES)
		return -EFBIG;
	struct json_object *o = parse_object(buf, len), *v;
	if (!o)
		return -EINVAL;
	int r = -EINVAL;
	if (!json_object_object_get_ex(o, "kind", &v) || !json_object_is_type(v, json_type_string))
		goto out;
	if (!strcmp(json_object_get_string(v), "release"))
		ret->kind = CDR_PORTAL_RELEASE;
	else if (!strcmp(json_object_get_string(v), "ppap"))
		ret->kind = CDR_PORTAL_PPAP;
	else if (!strcmp(json_object_get_string(v), "notify"))
		ret->kind = CDR_PORTAL_NOTIFY;
	else
		goto out;
	if (!get_word(o, "id", cdr_portal_name_ok, ret->id, sizeof(ret->id)))
		goto out;
	bool want_sha = ret->kind != CDR_PORTAL_NOTIFY, want_link = ret->kind != CDR_PORTAL_RELEASE;
	if (want_sha && !get_word(o, "sha256", cdr_portal_hex64, ret->sha256, sizeof(ret->sha256)))
		goto out;
	if (json_object_object_get_ex(o, "link", &v) || want_link)
		if (!get_word(o, "link", cdr_portal_hex64, ret->link, sizeof(ret->link)))
			goto out;
	if (ret->kind == CDR_PORTAL_RELEASE) {
		if (!get_word(o, "origin", origin_ok, ret->origin, sizeof(ret->origin)))
			goto out;
		if (!get_text(o, "reason", false, CDR_PORTAL_MAX_STR, true, &ret->reason))
			goto out;
		if (!json_object_object_get_ex(o, "approvers", &v) || !json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > CDR_PORTAL_MAX_APPROVERS)
			goto out;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			const char *s = json_object_get_string(e);
			size_t n = (size_t)json_object_get_string_len(e);
			if (!json_object_is_type(e, json_type_string) || strlen(s) != n || n == 0 ||
			    !text_ok(s, n, 256, false))
				goto out;
			if (!(ret->approvers[ret->napprovers] = strdup(s)))
				goto nomem;
			ret->napprovers++;
		}
	}
	if (ret->kind == CDR_PORTAL_PPAP) {
		/* any bytes a person may type, but no NUL, no line break (the
		 * converter reads one line) and not empty */
		if (!json_object_object_get_ex(o, "password", &v) || !json_object_is_type(v, json_type_string))
			goto out;
		const char *s = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);
		if (n == 0 || n > CDR_PORTAL_MAX_PASSWORD || strlen(s) != n || strpbrk(s, "\r\n") || !utf8_valid(s, n))
			goto out;
		if (!(ret->password = strdup(s)))
			goto nomem;
	}
	r = 0;
	goto out;
nomem:
	r = -ENOMEM;
out:
	wipe_member(o, "password");
	json_object_put(o);
	if (r < 0)
		cdr_portal_req_free(ret);
	return r;
}

void cdr_parcel_free(struct cdr_parcel *p)
{
	free(p->uploader);
	free(p->peer);
	free(p->note);
	free(p->rcpt);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i].name);
	memset(p, 0, sizeof(*p));
}

static bool name_ok(const char *s)
{
	/* shown to staff and put in a mail's body and a manifest, never in a
	 * path: any printable text, no '/' or '\\' (a download keeps it) */
	size_t n = strlen(s);
	return n > 0 && n <= 255 && text_ok(s, n, 255, false) && !strpbrk(s, "/\\");
}

int cdr_parcel_parse(const char *buf, size_t len, struct cdr_parcel *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len > CDR_PARCEL_MAX_BYTES)
		return -EFBIG;
	struct json_object *o = parse_object(buf, len), *v;
	if (!o)
		return -EINVAL;
	int r = -EINVAL;
	if (!get_word(o, "id", cdr_parcel_id_ok, ret->id, sizeof(ret->id)))
		goto out;
	if (!json_object_object_get_ex(o, "received", &v) || !json_object_is_type(v, json_type_int))
		goto out;
	ret->received = json_object_get_int64(v);
	if (!get_text(o, "uploader", true, 256, false, &ret->uploader) ||
	    !get_text(o, "peer", false, 64, false, &ret->peer) ||
	    !get_text(o, "note", false, CDR_PORTAL_MAX_STR, true, &ret->note) ||
	    !get_text(o, "rcpt", true, 254, false, &ret->rcpt) || !cdr_portal_addr_ok(ret->rcpt))
		goto out;
	if (!json_object_object_get_ex(o, "approval", &v) || !json_object_is_type(v, json_type_boolean))
		goto out;
	ret->approval = json_object_get_boolean(v);
	if (!json_object_object_get_ex(o, "files", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0 || json_object_array_length(v) > CDR_PARCEL_MAX_FILES)
		goto out;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *f = json_object_array_get_idx(v, i), *m;
		struct cdr_parcel_file *pf = &ret->files[ret->nfiles];
		if (!json_object_is_type(f, json_type_object))
			goto out;
		if (!json_object_object_get_ex(f, "n", &m) || !json_object_is_type(m, json_type_int) ||
		    json_object_get_int64(m) != (int64_t)i)
			goto out;
		pf->n = (unsigned)i;
		if (!json_object_object_get_ex(f, "bytes", &m) || !json_object_is_type(m, json_type_int) ||
		    json_object_get_int64(m) < 0)
			goto out;
		pf->bytes = (uint64_t)json_object_get_int64(m);
		if (!get_word(f, "sha256", cdr_portal_hex64, pf->sha256, sizeof(pf->sha256)))
			goto out;
		ret->nfiles++; /* the name is freed with the parcel from here on */
		if (!get_text(f, "name", true, 255, false, &pf->name) || !name_ok(pf->name))
			goto out;
	}
	r = 0;
out:
	json_object_put(o);
	if (r < 0)
		cdr_parcel_free(ret);
	return r;
}
