/* table_build: the compiler's last stage — a proven policy into the bytes
 * of a compiled table (format in table_format.h, read by table.c).
 *
 * This is the only compiler-side header about tables: the runtime includes
 * table.h alone, which knows nothing of struct policy.
 *
 * Ownership: table_build returns a malloc'd buffer the caller frees. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"
#include "rules/table.h"

/* Compile a proven policy into table bytes.  compile_time: seconds since the
 * epoch to record.  Returns 0, or -errno with a reason in why. */
int table_build(const struct policy *p, int64_t compile_time, void **ret_buf, size_t *ret_len, char *why,
		size_t whylen);
