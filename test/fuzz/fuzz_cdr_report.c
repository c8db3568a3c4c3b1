/* fuzz_cdr_report: libFuzzer target for the trusted side's reader of a
 * converter's line report (cdr_report_take_removed), which reads what a
 * sandboxed converter wrote on stderr, and for the JSON the report becomes.
 *
 * Whatever the lines, every item taken is valid UTF-8 without control
 * characters, at most the cap of items is kept, and the JSON text parses
 * back (json-c) with the same number of items.  Seeds:
 * test/fuzz/corpus/cdr_report/. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/cdr/cdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cdr_report rep = {0};
	rep.result = "ok";
	(void)cdr_report_take_removed(&rep, (const char *)data, size);
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
