/* san_record: see san_record.h. */
#include "sanitizer/san_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ITEM_FIELDS 7

int san_record_mail(struct audit_log *log, const struct sanitize_result *res, const struct san_envelope *env,
		    uint64_t size, bool tempfail, const char *why)
{
	size_t n = res ? res->n_items : 0;
	struct audit_field *rem = calloc(n ? n : 1, sizeof(*rem));
	struct audit_field(*obj)[ITEM_FIELDS] = calloc(n ? n : 1, sizeof(*obj));
	const char **qids = calloc(n + 2, sizeof(*qids));
	if (!rem || !obj || !qids) {
		free(rem);
		free(obj);
		free(qids);
		return -ENOMEM;
	}
	size_t nq = 0;
	if (res && res->original_qid[0])
		qids[nq++] = res->original_qid;
	for (size_t i = 0; i < n; i++) {
		const struct sanitize_item *it = &res->items[i];
		struct audit_field f[ITEM_FIELDS] = {
			AUDIT_STR("name", it->name),
			AUDIT_STR("content_type", it->declared),
			AUDIT_STR("detected_type", it->detected),
			AUDIT_UINT("size", it->size),
			AUDIT_STR("sha256", it->sha256),
			AUDIT_STR("reason", it->reason),
			AUDIT_STR("quarantine_id", it->qid),
		};
		memcpy(obj[i], f, sizeof(f));
		struct audit_field o = AUDIT_OBJ("", obj[i], ITEM_FIELDS);
		rem[i] = o;
		if (it->qid[0])
			qids[nq++] = it->qid;
	}
	const char *result = !res || res->status == SANITIZE_FAILED ? "failed"
		: res->status == SANITIZE_MALFORMED                 ? "malformed"
								    : "ok";
	const char *reason = why ? why : res && res->reason ? res->reason : "";
	struct audit_field f[] = {
		AUDIT_STR("queue_id", env->queue_id ? env->queue_id : ""),
		AUDIT_STR("message_id", res && res->message_id ? res->message_id : ""),
		AUDIT_STR("env_from", env->env_from ? env->env_from : ""),
		AUDIT_STRLIST("env_to", env->env_to, env->n_to),
		AUDIT_UINT("size", res ? res->size : size),
		AUDIT_STR("original_sha256", res ? res->original_sha256 : ""),
		AUDIT_STR("output_sha256", res && !tempfail ? res->output_sha256 : ""),
		AUDIT_STRLIST("actions", res ? (const char *const *)res->actions : NULL, res ? res->n_actions : 0),
		AUDIT_LIST("removed", rem, n),
		AUDIT_STRLIST("quarantine_ids", qids, nq),
		AUDIT_STR("result", result),
		AUDIT_STR("reason", reason),
		AUDIT_STR("verdict", tempfail ? "tempfail" : "delivered"),
		/* the portal link (docs/portal.md): its manifest's name, never
		 * the token; only when the milter made or tried one */
		AUDIT_STR("link", res ? res->link.hash : ""),
		AUDIT_STR("link_error", res && res->link.error ? res->link.error : ""),
	};
	size_t nf = AUDIT_N(f);
	if (!res || (!res->link.hash[0] && !res->link.failed))
		nf -= 2;
	else if (!res->link.failed)
		nf -= 1;
	int r = audit_emit(log, "mail.sanitized", f, nf);
	free(rem);
	free(obj);
	free(qids);
	return r;
}
