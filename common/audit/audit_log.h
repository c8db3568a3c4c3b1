/* audit_log: the writer's state, shared by the files of common/audit/ and
 * private to them (programs use common/audit/audit.h).
 *
 * The writer is a pipeline of stages, one file each (docs/audit.md has the
 * map):
 *   audit.c         the handle: audit_open (options, lock, resume), audit_emit
 *                   (claims a queue slot), audit_flush, audit_close, stats
 *   audit_slot.c    an event's fields copied into its queue slot (producer
 *                   side: UTF-8 repair, caps, marks) and read back
 *   audit_writer.c  the writer thread: drains the queue, periodic records,
 *                   sleeps and wakes on a futex
 *   audit_encode.c  record encoding: the JSON line, the MAC chain, the
 *                   writer's own records (log.open, audit.lost, ...)
 *   audit_io.c      the I/O thread: write(2), fdatasync batching, double
 *                   buffering, commit or loss of a written buffer
 *   audit_rotate.c  rotation (size, local day, errors) and retention
 *   audit_record.c, audit_verify.c, audit_key.c, audit_clock.c: the line
 *                   format, the verifier, key files, the clock state
 *
 * Each stage's functions below are named after their file.  Nothing here
 * prints; errors are -errno and audit_note_error. */
#pragma once
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/audit/audit.h"
#include "common/audit/audit_record.h"

#define AUDIT_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Entry flags.  TRUNC and BADUTF8 propagate to the top-level field (they
 * become the record's marks); ESC bits say whether the value or the name
 * holds a byte that JSON escaping changes, found while copying so that
 * the writer does not scan again. */
enum { EF_TRUNC = 1, EF_BADUTF8 = 2, EF_VESC = 4, EF_NESC = 8 };

/* Slot layout: header, then slot_bytes of encoded fields.  The encoding is
 * private to the writer (audit_slot.c writes it, audit_encode.c reads it)
 * and only ever read back by the same process:
 *   entry  = type u8, flags u8, namelen u8, name bytes, NUL, payload
 *   STR/HEX payload = u32 length, bytes        INT/UINT = 8 bytes
 *   BOOL = 1 byte   IP = family u8, 16 bytes   NULL = nothing
 *   LIST/OBJ payload = u16 count, entries (STRLIST is stored as a LIST) */
struct audit_slot {
	_Atomic uint64_t turn;
	int64_t ts_ns;
	uint32_t used;
	uint16_t nfields;
	uint16_t omitted;
	uint8_t flags;
	char event[AUDIT_EVENT_MAX + 1];
	unsigned char data[];
};

/* One open log.  Fields are grouped by the thread that owns them; the
 * comments say which lock, if any, guards a group. */
struct audit_log {
	/* Producer side: separate cache lines for the claim counter and the
	 * writer's wake-up word. */
	alignas(64) _Atomic uint64_t enq_pos;
	alignas(64) uint32_t wake_word; /* futex word, accessed with __atomic builtins */
	_Atomic int sleeping;
	_Atomic bool closing;
	alignas(64) uint64_t deq_pos; /* writer only */

	unsigned char *ring;
	size_t nslots, mask, stride, slot_bytes, max_str;

	/* Drops (slow path, under drop_mu). */
	pthread_mutex_t drop_mu;
	_Atomic uint64_t dropped;
	int64_t drop_first_ns, drop_last_ns;

	/* Flush/close handshake. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	_Atomic uint64_t flush_want;
	uint64_t flush_done;
	bool dead;

	/* Configuration. */
	char *dir;
	char component[33];
	char host[256];
	enum audit_fsync fsync_mode;
	int64_t fsync_interval_ns;
	uint64_t rotate_bytes, retain_bytes, retain_seconds;
	int64_t clock_interval_ns;
	unsigned flags;
	audit_now_fn *now;
	void *now_arg;
	audit_error_fn *on_error;
	void *on_error_arg;

	/* Writer state (writer thread, or the opener before it starts). */
	struct audit_record_mac *mac;
	struct json_object *jesc;    /* scratch string for json-c's escaping */
	char host_json[6 * 255 + 3]; /* the host name as a JSON string, escaped by json-c */
	int dirfd, lockfd, fd;
	char cur_name[AUDIT_NAME_LEN];
	struct audit_record_fname cur_fname;
	uint64_t cur_size;
	int cur_day;
	bool open_pending;  /* the current file still needs its log.open */
	bool open_buffered; /* ... and it is in the output buffer */
	const char *open_reason;
	char prev_name[AUDIT_NAME_LEN];
	bool prev_torn;
	uint64_t prev_torn_at;
	int prev_closed; /* -1 unknown/not applicable, 0/1 */

	uint64_t seq; /* committed chain tip */
	char mac_hex[AUDIT_MAC_HEX + 1];
	uint64_t pend_seq; /* tip including buffered lines */
	char pend_mac[AUDIT_MAC_HEX + 1];

	char *out;
	size_t out_len, out_cap;
	uint64_t buf_user; /* user records in out */
	uint64_t drop_reported, drop_reported_pend;
	uint64_t io_lost, io_reported, io_reported_pend;
	int64_t io_first_ns, io_last_ns;
	uint64_t file_good; /* bytes of the current file known written */
	char *spare;        /* the other output buffer (double buffering) */
	size_t spare_cap;
	int64_t last_clock_ns;
	bool have_clock;
	struct audit_record_tscache tsc;
	_Atomic int first_error;

	/* The I/O thread: write(2) and fdatasync off the writer thread, one
	 * buffer in flight while the writer fills the other.  Everything
	 * below is under io_mu. */
	pthread_t io_thread;
	bool io_started, io_stop;
	pthread_mutex_t io_mu;
	pthread_cond_t io_cv, io_done_cv;
	struct {
		char *buf;
		size_t len, cap;
		uint64_t user;    /* emitted events in it */
		bool has_open;    /* it holds the file's log.open */
		uint64_t end_seq; /* chain tip after it */
		char end_mac[AUDIT_MAC_HEX + 1];
		uint64_t drop_rep, io_rep; /* losses reported up to it */
		int fd;
		uint64_t start_size; /* file size before it */
		bool active, done, abandoned;
		int err;
	} job;
	uint64_t sync_req, sync_done;
	int sync_err;
	int io_fd;     /* the file fdatasync applies to */
	bool io_dirty; /* written, not yet synced */
	int64_t io_last_fsync;

	/* Statistics, read by other threads. */
	_Atomic uint64_t st_written, st_lost_io, st_internal, st_truncated, st_fsyncs, st_files, st_last_seq;
	_Atomic int st_last_error;

	pthread_t thread;
	bool thread_started;
	char path_copy[PATH_MAX];
};

/* Who writes a record: a program's event, the writer itself, or the
 * log.open/log.retention records written inside a rotation (no rotation
 * check for those). */
enum audit_rec_kind { AUDIT_REC_USER, AUDIT_REC_INTERNAL, AUDIT_REC_OPEN };

static inline struct audit_slot *audit_log_slot(struct audit_log *l, uint64_t pos)
{
	return (struct audit_slot *)(void *)(l->ring + (pos & l->mask) * l->stride);
}

/* audit.c: a write, fsync, rotation or retention failure (err < 0): kept as
 * the first and the last error, and passed to the on_error hook. */
void audit_note_error(struct audit_log *l, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* audit_slot.c: copy UTF-8 with repair into dst (see there); the writer
 * also uses it for the host name. */
size_t audit_slot_copy_utf8(unsigned char *dst, size_t cap, const unsigned char *s, size_t n, int *flags, bool *esc);
/* Encode fields into s (at most slot_bytes, strings capped at max_str);
 * sets used, nfields, omitted and flags. */
void audit_slot_fill(struct audit_slot *s, size_t slot_bytes, size_t max_str, const struct audit_field *fields,
		     size_t n);
/* Read one entry header of a slot; false when the slot is malformed. */
bool audit_slot_entry(const unsigned char **pp, const unsigned char *end, int *ret_type, int *ret_flags,
		      const char **ret_name, size_t *ret_namelen);

/* audit_writer.c: the writer thread and its wake-up. */
void *audit_writer_main(void *arg);
void audit_writer_wake(struct audit_log *l);

/* audit_encode.c: records into the output buffer (l->out). */
int audit_encode_slot(struct audit_log *l, struct audit_slot *s);
int audit_encode_record(struct audit_log *l, int64_t ts_ns, const char *event, struct json_object *data,
			enum audit_rec_kind kind);
int audit_encode_open(struct audit_log *l);
void audit_encode_lost(struct audit_log *l);
void audit_encode_clock(struct audit_log *l, const char *reason);
/* json-c object members for the writer's records (v consumed; -ENOMEM). */
int audit_encode_add(struct json_object *o, const char *key, struct json_object *v);
int audit_encode_add_null(struct json_object *o, const char *key);

/* audit_io.c: the I/O thread and the writer's side of the hand-over. */
void *audit_io_main(void *arg);
int audit_io_submit(struct audit_log *l);
int audit_io_collect(struct audit_log *l);
int audit_io_flush(struct audit_log *l);
int audit_io_fsync(struct audit_log *l);
void audit_io_forget_fd(struct audit_log *l);

/* audit_rotate.c: a new file, and retention of old ones. */
int audit_rotate(struct audit_log *l, const char *reason);
int audit_rotate_retain(struct audit_log *l);
