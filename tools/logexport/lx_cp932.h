/* lx_cp932: UTF-8 to CP932 (Windows-31J) for older Excel.
 *
 * Uses glibc iconv.  Characters CP932 cannot represent (and invalid UTF-8
 * bytes) become '?' and are counted, so the caller can report how many.
 * The converter owns its iconv descriptor; lx_cp932_free(NULL) does
 * nothing.  Allocation failures abort (strbuf). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

struct lx_cp932;

/* 0 or -errno (-EINVAL when the C library has no CP932 converter). */
int lx_cp932_new(struct lx_cp932 **ret_conv);
void lx_cp932_free(struct lx_cp932 *conv);

/* Append the CP932 form of in[0..n) to out.  Returns how many characters
 * were replaced by '?' in this call. */
uint64_t lx_cp932_convert(struct lx_cp932 *conv, const char *in, size_t n, struct strbuf *out);
