/* lx_out: where exports and reports are written.
 *
 * A file is written as PATH.tmp-XXXXXX beside PATH and renamed over PATH
 * only by lx_out_commit (after fflush and fsync), so that an interrupted
 * or refused export never leaves a half file under the final name.
 * Without a path the output is stdout (not atomic).  With LX_ENC_CP932
 * every write is converted (lx_cp932) and unrepresentable characters are
 * counted.  The sink owns its FILE; lx_out_free discards an uncommitted
 * temporary file.  Functions return 0 or -errno; nothing prints. */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum lx_enc {
	LX_ENC_UTF8 = 0,
	LX_ENC_CP932,
};

struct lx_out;

/* path NULL or "-": stdout.  Errors: -errno from mkstemp/iconv. */
int lx_out_open(const char *path, enum lx_enc enc, struct lx_out **ret_out);
int lx_out_write(struct lx_out *o, const char *s, size_t n);
int lx_out_puts(struct lx_out *o, const char *s);
/* Flush, fsync and rename into place (stdout: flush only).  0 or -errno;
 * after an error the temporary file is removed by lx_out_free. */
int lx_out_commit(struct lx_out *o);
/* Characters replaced by '?' so far (CP932 only). */
uint64_t lx_out_replaced(const struct lx_out *o);
/* Close; removes the temporary file unless committed.  NULL: nothing. */
void lx_out_free(struct lx_out *o);
