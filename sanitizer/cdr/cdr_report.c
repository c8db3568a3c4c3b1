/* cdr_report: the per-file report of CDR (cdr.h): failure and removed-item
 * helpers, archive member reports, and the JSON form the CLI writes and
 * the worker stores beside the copy (schema in docs/cdr.md).
 *
 * Ownership: the report owns name, removed[] and members[]; cdr_report_free
 * releases them (recursively) and leaves a zeroed report.  Allocation failure
 * aborts (xalloc: control plane).  Never logs. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "common/xalloc.h"
#include "sanitizer/cdr/cdr.h"

/* removed items kept by name; past this they are counted (an archive of
 * hostile documents could otherwise make the report as large as it likes) */
#define CDR_REPORT_MAX_REMOVED 1000
/* the longest removed item kept; longer names are cut (UTF-8 safe) */
#define CDR_REPORT_MAX_ITEM 512

int cdr_report_fail(struct cdr_report *rep, const char *key, const char *fmt, ...)
{
	rep->result = key;
	rep->detail[0] = 0;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(rep->detail, sizeof rep->detail, fmt, ap);
		va_end(ap);
	}
	return -EPERM;
}

void cdr_report_removed(struct cdr_report *rep, const char *fmt, ...)
{
	if (rep->nremoved >= CDR_REPORT_MAX_REMOVED) {
		rep->nremoved_more++;
		return;
	}
	char buf[CDR_REPORT_MAX_ITEM + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf) /* cut: never keep half a UTF-8 sequence */
		buf[utf8_valid_prefix(buf, sizeof buf - 1)] = 0;
	rep->removed = xreallocarray(rep->removed, rep->nremoved + 1, sizeof *rep->removed);
	rep->removed[rep->nremoved++] = xstrdup(buf);
}

struct cdr_report *cdr_report_member(struct cdr_report *rep, const char *name)
{
	rep->members = xreallocarray(rep->members, rep->nmembers + 1, sizeof *rep->members);
	struct cdr_report *m = &rep->members[rep->nmembers++];
	memset(m, 0, sizeof *m);
	m->name = name ? xstrdup(name) : NULL;
	return m;
}

void cdr_report_free(struct cdr_report *rep)
{
	if (!rep)
		return;
	free(rep->name);
	free(rep->out_name);
	for (size_t i = 0; i < rep->nremoved; i++)
		free(rep->removed[i]);
	free(rep->removed);
	for (size_t i = 0; i < rep->nmembers; i++)
		cdr_report_free(&rep->members[i]);
	free(rep->members);
	memset(rep, 0, sizeof *rep);
}

static void cdr_json_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static struct json_object *cdr_report_obj(const struct cdr_report *rep)
{
	struct json_object *o = json_object_new_object();
	const char *result = rep->result ? rep->result : "internal-error";
	cdr_json_str(o, "name", rep->name);
	cdr_json_str(o, "result", result);
	cdr_json_str(o, "reason_ja", cdr_reason_ja(result));
	cdr_json_str(o, "reason_en", cdr_reason_en(result));
	cdr_json_str(o, "detail", rep->detail);
	cdr_json_str(o, "kind", rep->kind ? rep->kind : "unknown");
	cdr_json_str(o, "in_type", rep->in_type);
	cdr_json_str(o, "out_type", rep->out_type);
	cdr_json_str(o, "out_ext", rep->out_ext);
	cdr_json_str(o, "out_name", rep->out_name);
	cdr_json_str(o, "mode", rep->mode);
	json_object_object_add(o, "pages", json_object_new_int64(rep->pages));
	json_object_object_add(o, "in_bytes", json_object_new_int64((int64_t)rep->in_bytes));
	json_object_object_add(o, "out_bytes", json_object_new_int64((int64_t)rep->out_bytes));
	cdr_json_str(o, "in_sha256", rep->in_sha256);
	cdr_json_str(o, "out_sha256", rep->out_sha256[0] ? rep->out_sha256 : NULL);
	json_object_object_add(o, "ms", json_object_new_int64((int64_t)rep->ms));
	struct json_object *rm = json_object_new_array();
	for (size_t i = 0; i < rep->nremoved; i++)
		json_object_array_add(rm, json_object_new_string(rep->removed[i]));
	json_object_object_add(o, "removed", rm);
	json_object_object_add(o, "removed_more", json_object_new_int64((int64_t)rep->nremoved_more));
	struct json_object *mem = json_object_new_array();
	for (size_t i = 0; i < rep->nmembers; i++)
		json_object_array_add(mem, cdr_report_obj(&rep->members[i]));
	json_object_object_add(o, "members", mem);
	return o;
}

char *cdr_report_json(const struct cdr_report *rep)
{
	struct json_object *o = cdr_report_obj(rep);
	/* slashes unescaped: part names like /word/vbaProject.bin stay readable */
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}
