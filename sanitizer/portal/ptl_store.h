/* ptl_store: the portals' small-file writes: a whole file made visible
 * atomically (written to a temporary name in the same directory, fsynced,
 * renamed, the directory fsynced), and the portal-queue's tmp/ -> new/
 * protocol (docs/portal.md, "Portal requests").
 *
 * Ownership: the caller's buffers are only read.  Functions return 0 or
 * -errno; nothing here prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Write len bytes of text to dir/name with mode, through dir/.name.tmp;
 * replace: an existing dir/name is replaced (false: -EEXIST). */
int ptl_store_write(const char *dir, const char *name, const char *text, size_t len, unsigned mode, bool replace);

#define PTL_QUEUE_ID_LEN 25 /* <16 hex ns>-<8 hex random>, as cdr-queue */

/* Put one job (text) into the queue directory qdir: qdir/tmp/<id> written
 * (mode 0660: a ppap job holds a password only the worker may read back),
 * fsynced, renamed to qdir/new/<id>.  The id goes to id.  0 or -errno. */
int ptl_queue_put(const char *qdir, const char *text, char id[PTL_QUEUE_ID_LEN + 1]);

/* A new request id: 16 hex digits of nanoseconds since the epoch, '-', 16
 * random hex digits (the inbox's id form). */
#define PTL_ID_LEN 33
int ptl_id_new(char id[PTL_ID_LEN + 1]);
/* true for the id form above */
bool ptl_id_valid(const char *s);
/* The id of a directory entry named "<id><suffix>" (".json", ".data") into
 * id; false for any other name. */
bool ptl_id_of_name(const char *name, const char *suffix, char id[PTL_ID_LEN + 1]);
