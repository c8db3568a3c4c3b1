/* lx_state: where a forwarder stopped.
 *
 * The state names the last record the collector acknowledged: its seq and
 * mac (the identity of a record in a chain), and the file and byte offset
 * where its line starts (to find it again quickly).  It is a small JSON
 * file written as PATH.tmp, fsynced, renamed over PATH and the directory
 * fsynced, so that after a crash it holds either the old or the new
 * position, never a torn one.  Functions return 0 or -errno and explain
 * failures in why; nothing prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LX_STATE_MAX_BYTES 8192

struct lx_state {
	char dir[4096]; /* the log directory (real path) the state belongs to */
	char to[300];   /* collector, informational */
	uint64_t seq;   /* last record sent and acknowledged (0: none yet) */
	char mac[65];
	char file[128];   /* its file's name */
	uint64_t offset;  /* its line's byte offset in that file */
	uint64_t sent;    /* records sent over the state's life */
	char updated[40]; /* when the state was written (local RFC 3339) */
};

/* Load PATH.  -ENOENT when there is none (start from the beginning);
 * -EINVAL when it is not a state file. */
int lx_state_load(const char *path, struct lx_state *ret_state, char *why, size_t whylen);

/* Write atomically (see above). */
int lx_state_save(const char *path, const struct lx_state *state, char *why, size_t whylen);
