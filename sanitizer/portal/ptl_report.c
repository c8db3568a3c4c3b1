/* ptl_report: checked reading of the worker's CDR reports (contract in
 * ptl_report.h).
 *
 * json-c parses (through common/jsonx: whole input, depth cap); this file
 * takes only the members the portal shows and checks each.  Failure
 * behaviour: a report that breaks a rule is refused whole (-EINVAL) and the
 * portal shows the file as "no report"; nothing of it reaches a page. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fdio.h"
#include "common/jsonx.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "sanitizer/portal/ptl_report.h"

/* depth: report -> members[] -> member -> removed[] */
#define PTL_REPORT_DEPTH 8

static bool text_ok(const char *s)
{
	size_t len = strlen(s);
	return len <= PTL_REPORT_MAX_STR && utf8_text(s, len);
}

/* an optional checked string member */
static int opt_text(struct json_object *o, const char *k, char **ret)
{
	if (!jsonx_opt_str(o, k, ret))
		return -EINVAL;
	if (*ret && !text_ok(*ret)) {
		free(*ret);
		*ret = NULL;
		return -EINVAL;
	}
	return 0;
}

static bool hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int parse_removed(struct json_object *o, struct ptl_report *r)
{
	struct json_object *a, *more;
	if (json_object_object_get_ex(o, "removed", &a) && !json_object_is_type(a, json_type_null)) {
		if (!json_object_is_type(a, json_type_array))
			return -EINVAL;
		size_t n = json_object_array_length(a);
		for (size_t i = 0; i < n; i++) {
			struct json_object *it = json_object_array_get_idx(a, i);
			if (!json_object_is_type(it, json_type_string))
				return -EINVAL;
			const char *s = json_object_get_string(it);
			if (strlen(s) != (size_t)json_object_get_string_len(it) || !text_ok(s))
				return -EINVAL;
			if (r->nremoved < PTL_REPORT_MAX_ITEMS)
				r->removed[r->nremoved++] = xstrdup(s);
		}
		r->removed_total = n;
	}
	if (json_object_object_get_ex(o, "removed_more", &more) && json_object_is_type(more, json_type_int)) {
		int64_t m = json_object_get_int64(more);
		if (m < 0 || m > (int64_t)1 << 40)
			return -EINVAL;
		r->removed_total += (uint64_t)m;
	}
	return 0;
}

static int parse_member(struct json_object *o, struct ptl_report_member *m)
{
	if (!json_object_is_type(o, json_type_object))
		return -EINVAL;
	int r = opt_text(o, "name", &m->name);
	if (!r)
		r = opt_text(o, "result", &m->result);
	if (!r)
		r = opt_text(o, "reason_ja", &m->reason_ja);
	if (!r)
		r = opt_text(o, "reason_en", &m->reason_en);
	if (!r)
		r = opt_text(o, "out_name", &m->out_name);
	return r;
}

int ptl_report_parse(const char *buf, size_t len, struct ptl_report *ret)
{
	memset(ret, 0, sizeof *ret);
	if (len > PTL_REPORT_MAX_BYTES)
		return -EFBIG;
	struct json_object *o = jsonx_parse(buf, len, PTL_REPORT_DEPTH);
	if (!o)
		return -EINVAL;
	int r = json_object_is_type(o, json_type_object) ? 0 : -EINVAL;
	char *ext = NULL, *osha = NULL;
	if (!r)
		r = opt_text(o, "result", &ret->result);
	if (!r && !ret->result)
		r = -EINVAL;
	if (!r)
		r = opt_text(o, "reason_ja", &ret->reason_ja);
	if (!r)
		r = opt_text(o, "reason_en", &ret->reason_en);
	if (!r)
		r = opt_text(o, "kind", &ret->kind);
	if (!r)
		r = opt_text(o, "in_type", &ret->in_type);
	if (!r)
		r = opt_text(o, "out_type", &ret->out_type);
	if (!r)
		r = opt_text(o, "out_ext", &ext);
	if (!r)
		r = opt_text(o, "out_sha256", &osha);
	struct json_object *v;
	if (!r && json_object_object_get_ex(o, "out_bytes", &v) && json_object_is_type(v, json_type_int)) {
		int64_t b = json_object_get_int64(v);
		if (b < 0)
			r = -EINVAL;
		else
			ret->out_bytes = (uint64_t)b;
	}
	if (!r)
		r = parse_removed(o, ret);
	if (!r && json_object_object_get_ex(o, "members", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			r = -EINVAL;
		size_t n = r ? 0 : json_object_array_length(v);
		for (size_t i = 0; i < n && !r; i++)
			if (ret->nmembers < PTL_REPORT_MAX_MEMBERS)
				r = parse_member(json_object_array_get_idx(v, i), &ret->members[ret->nmembers++]);
		ret->members_total = n;
	}
	if (!r && strcmp(ret->result, "ok") == 0 && ext && osha && hex64(osha)) {
		size_t el = strlen(ext);
		if (el >= 1 && el <= 10 && strspn(ext, "abcdefghijklmnopqrstuvwxyz0123456789") == el) {
			strcpy(ret->out_ext, ext);
			strcpy(ret->out_sha256, osha);
			ret->has_copy = true;
		}
	}
	free(ext);
	free(osha);
	json_object_put(o);
	if (r)
		ptl_report_free(ret);
	return r;
}

int ptl_report_load(const char *copies, const char *sha256, bool ppap, struct ptl_report *ret)
{
	memset(ret, 0, sizeof *ret);
	if (!hex64(sha256))
		return -EINVAL;
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s.%sreport.json", copies, sha256, ppap ? "ppap." : "") >=
	    sizeof path)
		return -ENAMETOOLONG;
	void *buf;
	size_t len;
	int r = fdio_read_file(path, PTL_REPORT_MAX_BYTES, &buf, &len);
	if (r < 0)
		return r;
	r = ptl_report_parse(buf, len, ret);
	free(buf);
	return r;
}

void ptl_report_free(struct ptl_report *r)
{
	if (!r)
		return;
	free(r->result);
	free(r->reason_ja);
	free(r->reason_en);
	free(r->kind);
	free(r->in_type);
	free(r->out_type);
	for (size_t i = 0; i < r->nremoved; i++)
		free(r->removed[i]);
	for (size_t i = 0; i < r->nmembers; i++) {
		free(r->members[i].name);
		free(r->members[i].result);
		free(r->members[i].reason_ja);
		free(r->members[i].reason_en);
		free(r->members[i].out_name);
	}
	memset(r, 0, sizeof *r);
}
