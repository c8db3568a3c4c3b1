/* audit: the tamper-evident audit trail writer.
 *
 * Every component (gateway, sanitizer, rulec, ctl, ...) writes its audit
 * records through this module into its own log directory, which holds one
 * hash chain.  A record is one line of JSON (JSON Lines), serialised by
 * json-c, in this key order:
 *
 *   {"ts":"2026-11-22T09:15:02.123456+09:00","host":"gw1","component":"gateway",
 *    "event":"flow.decision","seq":42,"data":{...},"prev":"<64 hex>","mac":"<64 hex>"}
 *
 * mac = lowercase hex HMAC-SHA-256(key, S), where S is the record text
 * without the mac member (ending in "}"); the line is S with its final "}"
 * replaced by ,"mac":"<hex>"} and a "\n".  prev is the mac of the previous
 * record of the chain (64 zeros before the very first record); seq counts
 * 1, 2, 3, ... and is never reset.  docs/audit.md is the full description.
 *
 * Producers never block on I/O and never allocate: audit_emit copies the
 * event into a preallocated bounded queue; one writer thread per log
 * serialises and chains, one I/O thread writes and fsyncs.  When the queue is full the record
 * is dropped and counted, and the writer records an audit.lost event before
 * the next records: loss is never silent.
 *
 * Errors: functions return 0 or a negative errno; nothing here prints or
 * exits.  Functions that take why/whylen write a one-line explanation there
 * on failure (may be NULL). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"

/* ---------------------------------------------------------------- keys -- */

/* The MAC key: 32..1024 raw bytes read from a key file.  Implemented in
 * audit_key.c.  A key file must be a regular file (not a symlink) owned by
 * the effective user, with no group or other permission bits (0600 or
 * stricter); anything else is refused. */
#define AUDIT_KEY_MIN 32
#define AUDIT_KEY_MAX 1024
#define AUDIT_KEY_DEFAULT 32

struct audit_key {
	size_t len;
	uint8_t bytes[AUDIT_KEY_MAX];
};

/* Load the key file at path into *ret_key (copied; wipe it with
 * audit_key_wipe when done).  Errors: -ENOENT, -ELOOP (symlink), -EINVAL
 * (not a regular file), -EPERM (wrong owner or mode), -EMSGSIZE (shorter
 * than AUDIT_KEY_MIN), -EFBIG (longer than AUDIT_KEY_MAX), other -errno. */
int audit_key_load(const char *path, struct audit_key *ret_key, char *why, size_t whylen);

/* Create a new key file of len random bytes (0 = AUDIT_KEY_DEFAULT) from
 * getrandom(2): O_CREAT|O_EXCL, mode 0600, fsynced.  -EEXIST if the path
 * exists (never overwrites a key). */
int audit_key_create(const char *path, size_t len, char *why, size_t whylen);

/* Overwrite the key bytes (explicit_bzero). */
void audit_key_wipe(struct audit_key *key);

/* -------------------------------------------------------------- fields -- */

/* Event fields.  Build them with the AUDIT_* initialiser macros below, e.g.
 *
 *   audit_emit(log, "flow.decision", (struct audit_field[]){
 *           AUDIT_STR("action", "allow"),
 *           AUDIT_INT("rule_id", 12),
 *           AUDIT_IP("src", 4, addr),
 *   }, 3);
 *
 * They become the members of the record's "data" object, in the given
 * order.  Names are short ASCII identifiers ([a-z0-9_], at most
 * AUDIT_NAME_MAX bytes); names starting with "_" are reserved for the
 * writer's marks ("_truncated", "_invalid_utf8", "_omitted").
 *
 * Everything is copied by audit_emit: the caller's strings and arrays need
 * only live for the duration of the call.
 *
 * Caps: a string (after UTF-8 repair) longer than the log's max_str bytes
 * is cut at a character boundary; a hex value longer than AUDIT_HEX_MAX
 * input bytes is cut; nesting deeper than AUDIT_DEPTH_MAX and fields that
 * do not fit in the slot are left out.  Every cut is marked in the record:
 * the top-level field name is listed in data._truncated (and fields left
 * out entirely are counted in data._omitted), so a reader never mistakes a
 * cut value for the whole one.  A name repeated within one object is left
 * out too (counted in _omitted): the first value stays.  Invalid UTF-8 is replaced by U+FFFD and the
 * field listed in data._invalid_utf8. */
enum audit_type {
	AUDIT_T_STR = 1, /* UTF-8 string: u.str (len SIZE_MAX = NUL-terminated) */
	AUDIT_T_INT,     /* signed integer: u.i */
	AUDIT_T_UINT,    /* unsigned integer: u.u */
	AUDIT_T_BOOL,    /* u.b */
	AUDIT_T_IP,      /* address: u.ip (common/inaddr.h value + family 4/6) -> text */
	AUDIT_T_HEX,     /* bytes written as lowercase hex (hashes): u.str */
	AUDIT_T_STRLIST, /* JSON array of strings: u.strlist */
	AUDIT_T_LIST,    /* JSON array of the values of u.sub (their names are ignored) */
	AUDIT_T_OBJ,     /* nested JSON object of u.sub */
	AUDIT_T_NULL,    /* JSON null */
};

#define AUDIT_NAME_MAX 63   /* bytes of a field name */
#define AUDIT_EVENT_MAX 47  /* bytes of an event name */
#define AUDIT_HEX_MAX 512   /* input bytes of one AUDIT_T_HEX value */
#define AUDIT_DEPTH_MAX 4   /* nesting levels of LIST/OBJ/STRLIST */
#define AUDIT_FIELDS_MAX 64 /* top-level fields of one event */

struct audit_field {
	const char *name;
	enum audit_type type;
	union {
		struct {
			const char *p;
			size_t len;
		} str;
		int64_t i;
		uint64_t u;
		bool b;
		struct {
			u128 addr;
			int family;
		} ip;
		struct {
			const char *const *v;
			size_t n;
		} strlist;
		struct {
			const struct audit_field *v;
			size_t n;
		} sub;
	} u;
};

/* Initialisers (brace lists: usable in array initialisers, static or not). */
#define AUDIT_STR(k, s)                                                                 \
	{                                                                               \
		.name = (k), .type = AUDIT_T_STR, .u.str = {.p = (s), .len = SIZE_MAX } \
	}
#define AUDIT_STRN(k, s, l)                                                        \
	{                                                                          \
		.name = (k), .type = AUDIT_T_STR, .u.str = {.p = (s), .len = (l) } \
	}
#define AUDIT_INT(k, v)                                               \
	{                                                             \
		.name = (k), .type = AUDIT_T_INT, .u.i = (int64_t)(v) \
	}
#define AUDIT_UINT(k, v)                                                \
	{                                                               \
		.name = (k), .type = AUDIT_T_UINT, .u.u = (uint64_t)(v) \
	}
#define AUDIT_BOOL(k, v)                                      \
	{                                                     \
		.name = (k), .type = AUDIT_T_BOOL, .u.b = (v) \
	}
#define AUDIT_IP(k, fam, a)                                                              \
	{                                                                                \
		.name = (k), .type = AUDIT_T_IP, .u.ip = {.addr = (a), .family = (fam) } \
	}
#define AUDIT_HEX(k, b, l)                                                                       \
	{                                                                                        \
		.name = (k), .type = AUDIT_T_HEX, .u.str = {.p = (const char *)(b), .len = (l) } \
	}
#define AUDIT_STRLIST(k, a, c)                                                           \
	{                                                                                \
		.name = (k), .type = AUDIT_T_STRLIST, .u.strlist = {.v = (a), .n = (c) } \
	}
#define AUDIT_LIST(k, a, c)                                                       \
	{                                                                         \
		.name = (k), .type = AUDIT_T_LIST, .u.sub = {.v = (a), .n = (c) } \
	}
#define AUDIT_OBJ(k, a, c)                                                       \
	{                                                                        \
		.name = (k), .type = AUDIT_T_OBJ, .u.sub = {.v = (a), .n = (c) } \
	}
#define AUDIT_NULL(k)                             \
	{                                         \
		.name = (k), .type = AUDIT_T_NULL \
	}

/* Number of elements of an array (for the n argument). */
#define AUDIT_N(a) (sizeof(a) / sizeof((a)[0]))

/* ----------------------------------------------------------------- log -- */

enum audit_fsync {
	AUDIT_FSYNC_BATCH = 0, /* fdatasync at most every fsync_interval_ms (default) */
	AUDIT_FSYNC_EVERY,     /* fdatasync after every record */
	AUDIT_FSYNC_NONE,      /* only at rotation and close (tests, benchmarks) */
};

/* Option flags. */
#define AUDIT_OPT_NO_DAILY_ROTATION 0x1u /* do not start a new file at local midnight */
#define AUDIT_OPT_NO_CLOCK_STATUS 0x2u   /* no clock.status records (tests) */

/* Clock for tests: returns the wall-clock time in nanoseconds since the
 * epoch.  Must be callable from any thread.  Local time and UTC offset are
 * still derived with localtime_r (set TZ to control them). */
typedef int64_t audit_now_fn(void *arg);

/* Error hook: called from the log's writer or I/O thread when a write,
 * fsync, rotation or retention step fails (err is a negative errno), so
 * that a daemon can log it its own way.  Must be thread-safe and must not
 * call back into the log. */
typedef void audit_error_fn(void *arg, int err, const char *why);

/* Options for audit_open.  Zero means "default" for every member; the
 * struct and its strings are only read during audit_open (copied). */
struct audit_opts {
	const char *dir;             /* required: the log directory (created 0700 if missing) */
	const char *component;       /* required: [a-z0-9_-]{1,32}, e.g. "gateway" */
	const char *host;            /* default: gethostname() */
	const struct audit_key *key; /* required; copied */
	enum audit_fsync fsync;      /* default AUDIT_FSYNC_BATCH */
	unsigned fsync_interval_ms;  /* batch interval, default 100 */
	size_t queue_slots;          /* default 4096; rounded up to a power of two; max 1<<20 */
	size_t slot_bytes;           /* field bytes per slot, default 4096, range 512..65536 */
	size_t max_str;              /* bytes of one string value, default 1024, max slot_bytes/2 */
	uint64_t rotate_bytes;       /* start a new file beyond this size, default 64 MiB, min 4096 */
	uint64_t retain_bytes;       /* delete oldest files beyond this total, 0 = no limit */
	uint64_t retain_seconds;     /* delete files whose last record is older, 0 = no limit */
	unsigned clock_interval_s;   /* clock.status period, default 3600 */
	unsigned lock_timeout_ms;    /* wait for the directory lock, 0 = fail at once with -EBUSY */
	unsigned flags;              /* AUDIT_OPT_* */
	audit_now_fn *now;           /* default clock_gettime(CLOCK_REALTIME) */
	void *now_arg;
	audit_error_fn *on_error; /* optional */
	void *on_error_arg;
};

struct audit_log;

/* Open (or resume) the chain in opts->dir: take the directory lock
 * (DIR/.lock, flock, exclusive), read the tail of the newest file and
 * continue its chain, start the writer thread, write the opening records
 * (log.open or log.resume, then clock.status).  Errors: -EINVAL (bad
 * options), -EBUSY (another writer holds the lock), -EKEYREJECTED (the
 * newest records do not verify with this key: wrong key or tampered log;
 * the writer refuses to continue such a chain), other -errno.  The caller
 * owns *ret_log and releases it with audit_close. */
int audit_open(const struct audit_opts *opts, struct audit_log **ret_log, char *why, size_t whylen);

/* Queue one event (fields copied, see above).  Never blocks on I/O, never
 * allocates; safe from any number of threads at once.  Returns 0 when
 * queued, -ENOBUFS when the queue was full (the record is dropped, counted
 * and later reported by an audit.lost record), -EINVAL for a bad event name
 * (event names are [a-z0-9_.]{1,AUDIT_EVENT_MAX}), -EPIPE after close began.
 * Must not race with audit_close on the same log. */
int audit_emit(struct audit_log *log, const char *event, const struct audit_field *fields, size_t n);

/* Wait until everything queued before the call is written and fsynced.
 * Returns 0 or the last write/fsync error (negative errno). */
int audit_flush(struct audit_log *log);

/* Stop accepting, drain the queue, write log.close, fsync, join the writer,
 * release the lock and free the log.  Returns 0 or the first write error
 * seen during the log's life.  audit_close(NULL) does nothing. */
int audit_close(struct audit_log *log);

/* Counters, for status pages and tests (a consistent-enough snapshot). */
struct audit_stats {
	uint64_t emitted;   /* audit_emit calls with a valid event (queued or dropped) */
	uint64_t dropped;   /* dropped because the queue was full */
	uint64_t written;   /* emitted events written to the log */
	uint64_t lost_io;   /* emitted events lost to write errors */
	uint64_t internal;  /* writer's own records (log.*, audit.lost, clock.status) */
	uint64_t truncated; /* events with a cut or omitted field */
	uint64_t fsyncs;
	uint64_t files;    /* files started by this writer */
	uint64_t last_seq; /* seq of the last record written */
	int last_error;    /* last write/fsync error (negative errno) or 0 */
};
void audit_get_stats(struct audit_log *log, struct audit_stats *ret_stats);

/* Path of the file currently written (valid until the next record may
 * rotate; copy it).  For tests and status output. */
const char *audit_current_file(struct audit_log *log);

/* --------------------------------------------------------------- clock -- */

/* Clock state from adjtimex(2) (read-only query). */
struct audit_clock_status {
	bool synced; /* kernel says synchronised (no STA_UNSYNC, state not TIME_ERROR) */
	bool sta_unsync;
	int state; /* adjtimex return value (TIME_OK, TIME_ERROR, ...) */
	int64_t maxerror_us;
	int64_t esterror_us;
	int64_t offset_us;  /* remaining offset being slewed */
	const char *source; /* "chrony", "systemd-timesyncd", "ntpd" or "unknown" (static string) */
};

/* Query the kernel clock state.  Returns 0 or -errno. */
int audit_clock_probe(struct audit_clock_status *ret_status);

/* True when the kernel clock is synchronised (programs warn when not). */
bool audit_clock_synced(void);
