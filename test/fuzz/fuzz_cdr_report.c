/* fuzz_cdr_report: libFuzzer target for a converter's line report as the
 * handlers take it (cdr_log_parse with a line function that keeps every
 * "removed" item, as the image handler's does) and for the JSON the report
 * becomes.
 *
 * Whatever the lines, every item kept is valid UTF-8 without control
 * characters, at most the cap of items is kept, and the JSON text parses
 * back (json-c) with the same number of items.  Seeds:
 * test/fuzz/corpus/cdr_report/. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_line(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	if (strcmp(key, "removed") == 0)
		cdr_report_removed(arg, "%s", value);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cdr_report rep = {0};
	struct cdr_log_end end;
	char why[128];
	rep.result = "ok";
	(void)cdr_log_parse(data, size, fuzz_line, &rep, &end, why, sizeof why);
	if (rep.nremoved > 1000)
		abort();
	for (size_t i = 0; i < rep.nremoved; i++) {
		const char *s = rep.removed[i];
		if (!utf8_valid(s, strlen(s)))
			abort();
		for (; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				abort();
	}
	char *json = cdr_report_json(&rep);
	struct json_object *o = json_tokener_parse(json), *rm;
	if (!o || !json_object_object_get_ex(o, "removed", &rm) || json_object_array_length(rm) != rep.nremoved)
		abort();
	json_object_put(o);
	free(json);
	cdr_report_free(&rep);
	return 0;
}
