/* audit_verify: check an audit chain written by common/audit/audit.h.
 *
 * Input is one chain: a log directory (its audit-*.jsonl files in name
 * order) or an explicit ordered list of files.  Every line is checked on
 * its bytes: the ,"mac":"<hex>"} suffix is cut, "}" put back, and
 * HMAC-SHA-256 recomputed; a record is never re-serialised.  Then the
 * chain (seq, prev) is followed across lines and files and every break is
 * classified and located (file, line, byte offset, seq).
 *
 * Two ways in:
 *  - audit_verify_run: verify everything, return a result;
 *  - the iterator: yields every line in order with its parsed json-c
 *    object and its verification status (the export tool reads records
 *    through it); when it ends the same result is available.
 *
 * Errors: functions return 0/1 or a negative errno and never print.
 * Problems in the logs themselves are not errors: they are breaks in the
 * result (an unreadable file is a break too). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit/audit.h"

struct json_object;

/* Kinds of break. */
enum audit_break_kind {
	AUDIT_BREAK_EDITED = 1,   /* a line's MAC does not verify where a record belongs (content changed) */
	AUDIT_BREAK_MISSING,      /* records absent: seq gap, or a prev that does not match while the
	                             following records are consistent */
	AUDIT_BREAK_INSERTED,     /* a line that is not part of the chain (forged, or a copy of a record) */
	AUDIT_BREAK_REORDERED,    /* an authentic record out of its place */
	AUDIT_BREAK_TRUNCATED,    /* the last line of a file is incomplete (torn write or cut) */
	AUDIT_BREAK_FILE_MISSING, /* a file's first record does not anchor to the previous file and no
	                             log.retention record explains it (or the chain's head is missing) */
	AUDIT_BREAK_BAD_KEY,      /* no record verifies with this key */
	AUDIT_BREAK_UNREADABLE,   /* a file could not be opened or read (detail has the error) */
};

/* Static name of a kind: "edited", "missing", "inserted", "reordered",
 * "truncated", "file-missing", "bad-key", "unreadable". */
const char *audit_verify_break_kind_name(enum audit_break_kind kind);

/* One break.  Consecutive lines with the same kind are merged into one
 * break with count > 1. */
struct audit_break {
	enum audit_break_kind kind;
	size_t file;      /* index into result->files */
	uint64_t line;    /* 1-based line number in that file, 0 if not about a line */
	uint64_t offset;  /* byte offset of that line in the file */
	uint64_t seq;     /* seq expected at this position (0 if unknown) */
	uint64_t count;   /* lines (edited, inserted, reordered) or records (missing) affected */
	bool explained;   /* a torn tail acknowledged by the writer's next log.open
	                         (a crash, not tampering); does not make ok false */
	char detail[192]; /* one line for humans, e.g. "seq 41..43 missing" */
};

/* Per-file summary. */
struct audit_verify_file {
	char *path;       /* as given or DIR/name (owned by the result) */
	const char *name; /* basename, points into path */
	uint64_t bytes;
	uint64_t lines;                 /* lines, including a torn last line */
	uint64_t records;               /* lines whose MAC verifies */
	uint64_t first_seq, last_seq;   /* of verified records, 0 if none */
	char first_ts[40], last_ts[40]; /* "ts" of the first/last verified record, "" if none */
	bool torn;                      /* last line incomplete */
	uint64_t torn_at;               /* byte offset where the torn line starts */
};

struct audit_verify_result {
	bool ok;                         /* everything verifies (no unexplained break) */
	struct audit_verify_file *files; /* in chain order */
	size_t nfiles;
	struct audit_break *breaks; /* in position order */
	size_t nbreaks;
	uint64_t breaks_dropped;      /* breaks beyond AUDIT_VERIFY_MAX_BREAKS (ok is false) */
	uint64_t lines, records;      /* totals over all files */
	uint64_t first_seq, last_seq; /* chain span seen */
	char last_mac[65];            /* mac of the chain's last verified record ("" if none):
	                                     the anchor for verifying a later export */
	uint64_t retained_files;      /* files found removed by retention (log.retention), not breaks */
};

#define AUDIT_VERIFY_MAX_BREAKS 10000

/* Flags. */
#define AUDIT_VERIFY_PARTIAL_HEAD \
	0x1u /* the first file need not start the chain (seq 1) nor be
                                          explained by retention: verifying a slice */

struct audit_verify_opts {
	const struct audit_key *key; /* required (borrowed for the verification's life) */
	const char *dir;             /* either a directory ... */
	const char *const *files;    /* ... or files in chain order (borrowed) */
	size_t nfiles;
	unsigned flags; /* AUDIT_VERIFY_* */
	/* Optional anchor: the chain must continue from this record (seq and
	 * lowercase hex mac), e.g. the last_mac of an earlier verification. */
	uint64_t anchor_seq;
	const char *anchor_mac;
};

/* Verify a whole chain.  Returns 0 and a result (free it with
 * audit_verify_result_free) or -EINVAL (bad options), -ENOENT/-ENOTDIR
 * (dir not found), -ENOMEM, other -errno for the directory listing. */
int audit_verify_run(const struct audit_verify_opts *opts, struct audit_verify_result **ret_result);

void audit_verify_result_free(struct audit_verify_result *result);

/* ------------------------------------------------------------ iterator -- */

enum audit_rec_status {
	AUDIT_REC_OK = 0,     /* MAC verifies and it links to the previous record */
	AUDIT_REC_AFTER_GAP,  /* MAC verifies; the chain resumes here after a break */
	AUDIT_REC_REORDERED,  /* MAC verifies; out of its place */
	AUDIT_REC_EDITED,     /* MAC fails where a record belongs: its content is not trustworthy */
	AUDIT_REC_INSERTED,   /* not part of the chain (forged or duplicated) */
	AUDIT_REC_TRUNCATED,  /* torn last line of a file */
	AUDIT_REC_UNVERIFIED, /* bad key: nothing could be verified */
};

/* Static name: "ok", "after-gap", "reordered", "edited", "inserted",
 * "truncated", "unverified". */
const char *audit_verify_rec_status_name(enum audit_rec_status status);

/* One line as yielded by the iterator.  Everything is borrowed from the
 * iterator and valid until the next audit_verify_next/free call; take a
 * json_object_get() reference on obj to keep it. */
struct audit_verify_record {
	enum audit_rec_status status;
	bool mac_ok;             /* the line's own MAC verifies */
	struct json_object *obj; /* the parsed record (mac member included), NULL if the
	                                  line is not a JSON object */
	const char *line;        /* the line's bytes, without "\n", not NUL-terminated */
	size_t len;
	size_t file;       /* index into the result's files */
	const char *path;  /* that file's path */
	uint64_t line_no;  /* 1-based */
	uint64_t offset;   /* byte offset of the line */
	uint64_t seq;      /* record's seq (0 if unknown) */
	const char *event; /* record's event (NULL if unknown; points into obj) */
	const char *ts;    /* record's ts (NULL if unknown; points into obj) */
};

struct audit_verify_iter;

/* Start an iteration with the same options as audit_verify_run (opts is
 * copied; key, files and anchor_mac are borrowed for the iterator's life).
 * Errors as audit_verify_run.  Free with audit_verify_free. */
int audit_verify_open(const struct audit_verify_opts *opts, struct audit_verify_iter **ret_iter);

/* Next line: returns 1 and fills *ret_record, 0 at the end, or -errno
 * (-ENOMEM).  Unreadable files are skipped (and reported as breaks). */
int audit_verify_next(struct audit_verify_iter *it, struct audit_verify_record *ret_record);

/* The result so far (complete once audit_verify_next returned 0).  Owned
 * by the iterator; valid until audit_verify_free. */
const struct audit_verify_result *audit_verify_result(const struct audit_verify_iter *it);

/* Take the result out of the iterator (caller frees it with
 * audit_verify_result_free); the iterator then has none. */
struct audit_verify_result *audit_verify_steal_result(struct audit_verify_iter *it);

void audit_verify_free(struct audit_verify_iter *it);

/* ------------------------------------------------------ single lines -- */

/* Check one line's MAC (line without "\n").  Returns 1 if it verifies, 0
 * if not (bad MAC, or no well-formed ,"mac":"<64 hex>"} suffix), and puts
 * the claimed mac (lowercase hex, "" if none) into ret_mac (may be NULL).
 * For receivers of forwarded lines. */
int audit_verify_line(const struct audit_key *key, const char *line, size_t len, char ret_mac[65]);
