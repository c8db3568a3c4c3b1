/* cdr_record: the file.sanitized audit record (see cdr_record.h).
 * Contract: parse is all-or-nothing (a bad report leaves *ret's report part
 * zeroed and returns -EINVAL); emit copies everything (audit_emit).  Nothing
 * prints. */
#include "sanitizer/cdr/cdr_record.h"
#include "common/jsonx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* A string member into buf (cut at its size); absent or null gives "".
 * false when the member has another type. */
static bool str_member(struct json_object *o, const char *k, char *buf, size_t size)
{
	struct json_object *v;
	buf[0] = '\0';
	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	snprintf(buf, size, "%s", json_object_get_string(v));
	return true;
}

static bool uint_member(struct json_object *o, const char *k, uint64_t *ret)
{
	struct json_object *v;
	*ret = 0;
	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return false;
	*ret = (uint64_t)json_object_get_int64(v);
	return true;
}

static void clear_report(struct cdr_record *r)
{
	r->result[0] = r->reason[0] = r->kind[0] = r->in_type[0] = r->out_type[0] = r->out_ext[0] = r->mode[0] = '\0';
	r->in_sha256[0] = r->out_sha256[0] = '\0';
	r->in_bytes = r->out_bytes = r->ms = r->pages = r->removed = 0;
}

bool cdr_record_ext_ok(const char *e)
{
	size_t n = strlen(e);
	if (n == 0 || n > 7)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((e[i] >= 'a' && e[i] <= 'z') || (e[i] >= '0' && e[i] <= '9')))
			return false;
	return true;
}

int cdr_record_parse(const char *buf, size_t len, struct cdr_record *ret)
{
	clear_report(ret);
	if (len > CDR_RECORD_MAX_REPORT)
		return -EFBIG;
	/* only white space may follow the object */
	struct json_object *o = jsonx_parse(buf, len, 32);
	int r = -EINVAL;
	struct json_object *v;
	uint64_t more = 0;
	if (!o || !json_object_is_type(o, json_type_object))
		goto out;
	if (!str_member(o, "result", ret->reason, sizeof(ret->reason)) || !ret->reason[0] ||
	    !str_member(o, "kind", ret->kind, sizeof(ret->kind)) ||
	    !str_member(o, "in_type", ret->in_type, sizeof(ret->in_type)) ||
	    !str_member(o, "out_type", ret->out_type, sizeof(ret->out_type)) ||
	    !str_member(o, "out_ext", ret->out_ext, sizeof(ret->out_ext)) ||
	    !str_member(o, "mode", ret->mode, sizeof(ret->mode)) ||
	    !str_member(o, "in_sha256", ret->in_sha256, sizeof(ret->in_sha256)) ||
	    !str_member(o, "out_sha256", ret->out_sha256, sizeof(ret->out_sha256)))
		goto out;
	if (!uint_member(o, "in_bytes", &ret->in_bytes) || !uint_member(o, "out_bytes", &ret->out_bytes) ||
	    !uint_member(o, "ms", &ret->ms) || !uint_member(o, "pages", &ret->pages) ||
	    !uint_member(o, "removed_more", &more))
		goto out;
	if (json_object_object_get_ex(o, "removed", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			goto out;
		ret->removed = json_object_array_length(v);
	}
	ret->removed += more;
	snprintf(ret->result, sizeof(ret->result), "%s", strcmp(ret->reason, "ok") ? "no-copy" : "ok");
	if (!strcmp(ret->reason, "ok"))
		ret->reason[0] = '\0';
	r = 0;
out:
	json_object_put(o);
	if (r < 0)
		clear_report(ret);
	return r;
}

static const char *s(const char *v)
{
	return v ? v : "";
}

int cdr_record_emit(struct audit_log *log, const struct cdr_record *r)
{
	char qid[17];
	snprintf(qid, sizeof(qid), "%.16s", s(r->sha256));
	struct audit_field f[] = {
		AUDIT_STR("job_id", s(r->job_id)),
		AUDIT_STR("quarantine_id", qid),
		AUDIT_STR("name", s(r->name)),
		AUDIT_STR("message_id", s(r->message_id)),
		AUDIT_STR("queue_id", s(r->queue_id)),
		AUDIT_STR("result", r->result),
		AUDIT_STR("reason", r->reason),
		AUDIT_STR("kind", r->kind),
		AUDIT_STR("in_type", r->in_type),
		AUDIT_STR("out_type", r->out_type),
		AUDIT_STR("mode", r->mode),
		AUDIT_STR("in_sha256", r->in_sha256[0] ? r->in_sha256 : s(r->sha256)),
		AUDIT_STR("out_sha256", r->out_sha256),
		AUDIT_UINT("in_bytes", r->in_bytes),
		AUDIT_UINT("out_bytes", r->out_bytes),
		AUDIT_UINT("pages", r->pages),
		AUDIT_UINT("removed", r->removed),
		AUDIT_STR("copy", r->copy),
		AUDIT_UINT("ms", r->ms),
		AUDIT_UINT("attempts", r->attempts),
		AUDIT_BOOL("reused", r->reused),
	};
	return audit_emit(log, "file.sanitized", f, AUDIT_N(f));
}
