/* sanitize_ctx: the sanitiser context both sanitiser fuzz targets use:
 * defaults, with a 1 MiB message cap and a 5 s deadline per input.  Made
 * once per process (a libFuzzer target runs in one process). */
#pragma once
#include <stdlib.h>

#include "sanitizer/sanitize.h"

static inline struct sanitize_ctx *fuzz_sanitize_ctx(void)
{
	static struct sanitize_ctx *ctx;
	if (!ctx) {
		struct sanitize_config c;
		sanitize_config_defaults(&c);
		c.lim.max_message = 1 << 20;
		c.lim.max_seconds = 5;
		if (sanitize_ctx_new(&c, &ctx) < 0)
			abort();
	}
	return ctx;
}
