/* fuzz_cdr_log: libFuzzer target for the trusted-side reader of a CDR
 * converter's line report (sanitizer/cdr/cdr_log.c), the stderr of
 * sekisho-cdr-ooxml, sekisho-cdr-office and sekisho-cdr-text.
 *
 * The input is a report.  cdr_log_parse must refuse it with -EBADMSG and a
 * reason, or accept it such that: it ended with exactly one of "ok" and
 * "refused KEY"; every line the callback saw is a key of [a-z0-9-] and a
 * value that common/utf8 accepts and holds no control character; the lines
 * counted match the newlines of the input.  A callback that refuses a key
 * (as the handlers do for keys they do not know) stops the walk with its
 * own value.  Seeds: test/fuzz/corpus/cdr_log/. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sanitizer/cdr/cdr_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t lines;
};

static int line(void *arg, const char *key, const char *value, char *why, size_t whylen)
{
	struct seen *s = arg;
	size_t kl = strlen(key), vl = strlen(value);

	if (kl == 0 || kl > 32)
		abort();
	for (size_t i = 0; i < kl; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') || key[i] == '-'))
			abort();
	if (!utf8_valid(value, vl))
		abort();
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			abort();
	s->lines++;
	/* a handler refuses keys it does not know: one that this target refuses */
	if (strcmp(key, "stop") == 0) {
		snprintf(why, whylen, "stop");
		return -EPROTO;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cdr_log_end end;
	struct seen s = {0};
	char why[128];
	size_t newlines = 0;
	int r = cdr_log_parse(data, size, line, &s, &end, why, sizeof(why));

	if (r == -EPROTO)
		return 0;
	if (r < 0) {
		if (r != -EBADMSG || why[0] == 0)
			abort();
		return 0;
	}
	if (r != 0 || end.ok == (end.refused[0] != 0) || size == 0 || data[size - 1] != '\n')
		abort();
	for (size_t i = 0; i < size; i++)
		newlines += data[i] == '\n';
	if (newlines != end.lines || s.lines + 1 != end.lines)
		abort();
	return 0;
}
