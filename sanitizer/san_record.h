/* san_record: the audit record of one sanitised (or refused) message,
 * event "mail.sanitized", shared by sekisho-sanitize and sekisho-milter.
 *
 * Nothing here prints.  Everything is copied by audit_emit, so the caller
 * keeps ownership of res and env. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit/audit.h"
#include "sanitizer/sanitize.h"

struct san_envelope {
	const char *queue_id; /* NULL: "" */
	const char *env_from; /* NULL: "" */
	const char *const *env_to;
	size_t n_to;
};

/* Emit the record.  res may be NULL (nothing was parsed; size is then the
 * message's size, otherwise res->size is used).  tempfail: no output was
 * delivered (output_sha256 is left empty).  why, when given, is the reason
 * instead of res->reason.  Returns audit_emit's result, or -ENOMEM (no
 * record). */
int san_record_mail(struct audit_log *log, const struct sanitize_result *res, const struct san_envelope *env,
		    uint64_t size, bool tempfail, const char *why);
