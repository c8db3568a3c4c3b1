/* fuzz_cdr_queue: libFuzzer target for the worker's two trusted-side
 * parsers: the queue's job file (cdr_job_parse; the attachment name in it
 * comes from the attacker's mail) and sekisho-cdr's JSON report
 * (cdr_record_parse; member names and types come from attacker files).
 *
 * The first byte picks the parser: 'J' the job file (the rest of the
 * input), anything else the report.  A job that parses must survive its
 * own round trip (text, parse again: the same job); a report that parses
 * must give "ok" or "no-copy" with bounded strings.  Seeds:
 * test/fuzz/corpus/cdr_queue/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_queue.h"
#include "sanitizer/cdr/cdr_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_job(const struct cdr_job *a, const struct cdr_job *b)
{
	if (strcmp(a->id, b->id) || strcmp(a->sha256, b->sha256) || a->attempts != b->attempts ||
	    a->enqueued != b->enqueued || a->nrcpt != b->nrcpt || !a->name != !b->name ||
	    (a->name && strcmp(a->name, b->name)))
		abort();
	for (size_t i = 0; i < a->nrcpt; i++)
		if (strcmp(a->rcpt[i], b->rcpt[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	if (data[0] == 'J') {
		struct cdr_job j, k;
		if (cdr_job_parse(text, len, 65536, &j) < 0)
			return 0;
		char *t = cdr_job_text(&j);
		if (!t || cdr_job_parse(t, strlen(t), 1 << 20, &k) < 0)
			abort();
		same_job(&j, &k);
		free(t);
		cdr_job_free(&j);
		cdr_job_free(&k);
		return 0;
	}
	struct cdr_record r = {0};
	if (cdr_record_parse(text, len, &r) < 0) {
		if (r.result[0] || r.reason[0] || r.removed)
			abort();
		return 0;
	}
	if (strcmp(r.result, "ok") && strcmp(r.result, "no-copy"))
		abort();
	if (!strcmp(r.result, "no-copy") && !r.reason[0])
		abort();
	if (strlen(r.out_ext) >= sizeof(r.out_ext) || strlen(r.reason) >= sizeof(r.reason))
		abort();
	return 0;
}
