/* ptl_name: the uploaded file's display name (see ptl_name.h).
 * Contract: pure function over caller buffers; the input is bounded by the
 * caller (a multipart header), copied once to a bounded scratch buffer. */
#include "sanitizer/portal/ptl_name.h"
#include "sanitizer/san_name.h"

#include <string.h>

/* the scratch copy of the last path component: longer names are cut by
 * the neutraliser anyway */
#define SCRATCH 1024

unsigned ptl_name_clean(const char *raw, size_t len, char out[PTL_NAME_MAX + 1])
{
	size_t start = 0;
	for (size_t i = 0; raw && i < len; i++)
		if (raw[i] == '/' || raw[i] == '\\')
			start = i + 1;
	char tmp[SCRATCH];
	size_t n = raw ? len - start : 0;
	if (n > sizeof(tmp) - 1)
		n = sizeof(tmp) - 1;
	if (n)
		memcpy(tmp, raw + start, n);
	tmp[n] = 0;
	/* a NUL inside the name (the multipart parser refuses it; other
	 * callers may not) ends it here, and is flagged */
	unsigned extra = 0;
	if (strlen(tmp) != n) {
		n = strlen(tmp);
		extra = SAN_NAME_CONTROL;
	}
	if (n == 0 || !strcmp(tmp, ".") || !strcmp(tmp, "..")) {
		memcpy(out, "file", 5);
		return extra;
	}
	return extra | san_name_neutralise(tmp, out, PTL_NAME_MAX + 1);
}
