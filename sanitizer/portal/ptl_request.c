/* ptl_request: the portal's request records (contract in ptl_request.h).
 *
 * Written only by sekisho-portal into its own 0700 directory, but read back
 * with the same checks as any file from disk (caps, types, the id and hash
 * forms), so that a damaged file is skipped, never trusted.  Out of memory
 * aborts (xalloc, control plane). */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fdio.h"
#include "common/jsonx.h"
#include "common/xalloc.h"
#include "sanitizer/portal/ptl_link.h"
#include "sanitizer/portal/ptl_request.h"

static void put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static struct json_object *approval_json(const struct ptl_approval *a)
{
	struct json_object *o = json_object_new_object();
	put_str(o, "user", a->user);
	put_str(o, "comment", a->comment ? a->comment : "");
	json_object_object_add(o, "at", json_object_new_int64(a->at));
	return o;
}

char *ptl_request_text(const struct ptl_request *r)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(1));
	put_str(o, "id", r->id);
	json_object_object_add(o, "created", json_object_new_int64(r->created));
	put_str(o, "link", r->link);
	json_object_object_add(o, "n", json_object_new_int64(r->n));
	put_str(o, "sha256", r->sha256);
	put_str(o, "origin", r->origin);
	put_str(o, "name", r->name);
	put_str(o, "type", r->type);
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)r->bytes));
	put_str(o, "reason", r->reason ? r->reason : "");
	put_str(o, "peer", r->peer);
	put_str(o, "requester", r->requester[0] ? r->requester : NULL);
	put_str(o, "state", r->state);
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < r->napprovals; i++)
		json_object_array_add(a, approval_json(&r->approvals[i]));
	json_object_object_add(o, "approvals", a);
	json_object_object_add(o, "denied", r->denied.user[0] ? approval_json(&r->denied) : NULL);
	put_str(o, "release", r->release[0] ? r->release : NULL);
	json_object_object_add(o, "release_expires", json_object_new_int64(r->release_expires));
	json_object_object_add(o, "downloaded", json_object_new_int64(r->downloaded));
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static bool get_int(struct json_object *o, const char *k, int64_t *v)
{
	struct json_object *x;
	if (!json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, json_type_int))
		return false;
	*v = json_object_get_int64(x);
	return true;
}

/* a string member copied into a fixed buffer (absent/null -> "") */
static bool get_fixed(struct json_object *o, const char *k, char *out, size_t outlen)
{
	char *s;
	if (!jsonx_opt_str(o, k, &s))
		return false;
	bool ok = !s || strlen(s) < outlen;
	snprintf(out, outlen, "%s", s && ok ? s : "");
	free(s);
	return ok;
}

static bool parse_approval(struct json_object *o, struct ptl_approval *a)
{
	memset(a, 0, sizeof *a);
	return json_object_is_type(o, json_type_object) && get_fixed(o, "user", a->user, sizeof a->user) &&
		ptl_user_name_ok(a->user) && jsonx_opt_str(o, "comment", &a->comment) && get_int(o, "at", &a->at);
}

int ptl_request_parse(const char *buf, size_t len, struct ptl_request *r)
{
	memset(r, 0, sizeof *r);
	if (len > PTL_REQUEST_MAX_BYTES)
		return -EFBIG;
	struct json_object *o = jsonx_parse(buf, len, 6), *a;
	int64_t n = 0, bytes = 0;
	bool ok = o && json_object_is_type(o, json_type_object) && get_fixed(o, "id", r->id, sizeof r->id) &&
		ptl_id_valid(r->id) && get_int(o, "created", &r->created) &&
		get_fixed(o, "link", r->link, sizeof r->link) && ptl_hash_valid(r->link) && get_int(o, "n", &n) &&
		n >= 0 && n < PTL_LINK_MAX_FILES && get_fixed(o, "sha256", r->sha256, sizeof r->sha256) &&
		ptl_hash_valid(r->sha256) && get_fixed(o, "origin", r->origin, sizeof r->origin) &&
		(!strcmp(r->origin, "mail") || !strcmp(r->origin, "upload")) && jsonx_opt_str(o, "name", &r->name) &&
		jsonx_opt_str(o, "type", &r->type) && get_int(o, "bytes", &bytes) && bytes >= 0 &&
		jsonx_opt_str(o, "reason", &r->reason) && get_fixed(o, "peer", r->peer, sizeof r->peer) &&
		get_fixed(o, "requester", r->requester, sizeof r->requester) &&
		get_fixed(o, "state", r->state, sizeof r->state) &&
		(!strcmp(r->state, "pending") || !strcmp(r->state, "approved") || !strcmp(r->state, "denied")) &&
		get_fixed(o, "release", r->release, sizeof r->release) &&
		get_int(o, "release_expires", &r->release_expires) && get_int(o, "downloaded", &r->downloaded) &&
		json_object_object_get_ex(o, "approvals", &a) && json_object_is_type(a, json_type_array) &&
		json_object_array_length(a) <= 2;
	r->n = (unsigned)n;
	r->bytes = (uint64_t)bytes;
	for (size_t i = 0; ok && i < json_object_array_length(a); i++) {
		ok = parse_approval(json_object_array_get_idx(a, i), &r->approvals[i]);
		r->napprovals = i + 1;
	}
	struct json_object *d;
	if (ok && json_object_object_get_ex(o, "denied", &d) && !json_object_is_type(d, json_type_null))
		ok = parse_approval(d, &r->denied);
	json_object_put(o);
	if (!ok) {
		ptl_request_free(r);
		return -EINVAL;
	}
	return 0;
}

int ptl_request_load(const char *reqdir, const char *id, struct ptl_request *ret)
{
	memset(ret, 0, sizeof *ret);
	if (!ptl_id_valid(id))
		return -ENOENT;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.json", reqdir, id);
	void *buf;
	size_t len;
	int r = fdio_read_file(path, PTL_REQUEST_MAX_BYTES, &buf, &len);
	if (r < 0)
		return r;
	r = ptl_request_parse(buf, len, ret);
	free(buf);
	if (!r && strcmp(ret->id, id) != 0) {
		ptl_request_free(ret);
		r = -EINVAL;
	}
	return r;
}

int ptl_request_save(const char *reqdir, const struct ptl_request *r)
{
	char name[PTL_ID_LEN + 8];
	snprintf(name, sizeof name, "%s.json", r->id);
	char *text = ptl_request_text(r);
	int e = ptl_store_write(reqdir, name, text, strlen(text), 0600, true);
	free(text);
	return e;
}

static int newest_first(const void *a, const void *b)
{
	const struct ptl_request *x = a, *y = b;
	return strcmp(y->id, x->id);
}

int ptl_request_list(const char *reqdir, struct ptl_request **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	DIR *d = opendir(reqdir);
	if (!d)
		return -errno;
	struct ptl_request *v = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < PTL_REQUESTS_MAX) {
		char id[PTL_ID_LEN + 1];
		if (!ptl_id_of_name(e->d_name, ".json", id))
			continue;
		struct ptl_request r;
		if (ptl_request_load(reqdir, id, &r) < 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = r;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, newest_first);
	*ret = v;
	*ret_n = n;
	return 0;
}

void ptl_request_list_free(struct ptl_request *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ptl_request_free(&v[i]);
	free(v);
}

void ptl_request_free(struct ptl_request *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->type);
	free(r->reason);
	for (size_t i = 0; i < r->napprovals && i < 2; i++)
		free(r->approvals[i].comment);
	free(r->denied.comment);
	memset(r, 0, sizeof *r);
}
