/* audit_record: internals shared by the audit writer (audit_encode.c,
 * audit_rotate.c, audit.c's resume) and the verifier (audit_verify.c): the MAC, the line format, file names,
 * timestamps and the tail scan that finds a chain's last good record.
 *
 * Not part of the public API: programs use common/audit/audit.h and
 * common/audit/audit_verify.h.  Nothing here prints; errors are -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/audit/audit.h"

struct json_object;

#define AUDIT_MAC_HEX 64
/* ,"mac":"<64 hex>"}  */
#define AUDIT_MAC_SUFFIX_LEN (8 + AUDIT_MAC_HEX + 2)
#define AUDIT_ZERO_MAC "0000000000000000000000000000000000000000000000000000000000000000"
/* Longest line the verifier and the tail scan accept.  The writer's lines
 * are far shorter (slot_bytes <= 64 KiB, escaping at most 6x). */
#define AUDIT_LINE_MAX (1u << 20)
/* Longest file name we produce or accept. */
#define AUDIT_NAME_LEN 64

/* ---- MAC ---- */

struct audit_record_mac;

/* A reusable HMAC-SHA-256 context for key (copied).  NULL on -ENOMEM. */
struct audit_record_mac *audit_record_mac_new(const struct audit_key *key);
void audit_record_mac_free(struct audit_record_mac *m);

/* hex = HMAC(key, a || b) in lowercase hex (b may be NULL with blen 0).
 * Returns 0 or -EIO (libcrypto failure). */
int audit_record_mac_hex(struct audit_record_mac *m, const void *a, size_t alen, const void *b, size_t blen,
			 char hex[AUDIT_MAC_HEX + 1]);

/* True when json-c (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
 * would write these bytes unchanged between quotes: no control character,
 * no '"', no '\\'.  The writer applies the same test while copying a value
 * into its queue slot and skips the json-c call for such strings; any other
 * string is escaped by json-c.  (Tested against json-c for every byte.) */
bool audit_record_json_plain(const char *s, size_t n);

/* Check a line (without "\n").  Returns 1 if its MAC verifies, 0 if not.
 * ret_mac gets the claimed mac ("" when the line has no well-formed
 * suffix); may be NULL. */
int audit_record_check(struct audit_record_mac *m, const char *line, size_t len, char ret_mac[AUDIT_MAC_HEX + 1]);

/* Parse a line (without "\n") as a JSON object; NULL if it is not one.
 * The caller owns the result (json_object_put). */
struct json_object *audit_record_parse(const char *line, size_t len);

/* Get members of a parsed record; false when missing or of the wrong type.
 * Strings point into obj. */
bool audit_record_get_u64(struct json_object *obj, const char *key, uint64_t *ret);
const char *audit_record_get_str(struct json_object *obj, const char *key);
/* Same inside the record's "data" object. */
bool audit_record_data_u64(struct json_object *obj, const char *key, uint64_t *ret);
const char *audit_record_data_str(struct json_object *obj, const char *key);

/* True when s is 64 lowercase hex digits. */
bool audit_record_is_mac(const char *s);

/* ---- timestamps ---- */

/* Format ns since the epoch as local RFC 3339 with microseconds and offset:
 * 2026-11-22T09:15:02.123456+09:00.  Also returns the local date as
 * YYYYMMDD in *ret_day and the "YYYYMMDDTHHMMSS" stamp in ret_stamp (both
 * may be NULL).  The cache (zero-initialised by the caller, one per thread)
 * avoids a localtime_r call per record. */
struct audit_record_tscache {
	int64_t sec;
	bool valid;
	int day;
	char prefix[32]; /* "2026-11-22T09:15:02" */
	char offset[8];  /* "+09:00" */
	char stamp[16];  /* "20261122T091502" */
};
#define AUDIT_TS_LEN 40
void audit_record_ts(struct audit_record_tscache *c, int64_t ns, char buf[AUDIT_TS_LEN], int *ret_day,
		     char ret_stamp[16]);

/* Parse our RFC 3339 form back to ns since the epoch.  0 or -EINVAL. */
int audit_record_ts_parse(const char *s, int64_t *ret_ns);

/* ---- file names ---- */

/* audit-YYYYMMDDTHHMMSS-NNNNNN.jsonl: the stamp is the local creation time,
 * never earlier than the previous file's (so that names sort in creation
 * order even when the clock steps back), the counter is the previous
 * file's plus one. */
struct audit_record_fname {
	char stamp[16];
	uint64_t counter;
};
bool audit_record_fname_parse(const char *name, struct audit_record_fname *ret);
void audit_record_fname_format(const struct audit_record_fname *f, char buf[AUDIT_NAME_LEN]);
/* Order of two names that parse (stamp, then counter). */
int audit_record_fname_cmp(const char *a, const char *b);

/* The audit file names in directory dirfd, sorted in chain order.  The
 * caller frees each name and the array.  0 or -errno. */
int audit_record_list(int dirfd, char ***ret_names, size_t *ret_n);
void audit_record_list_free(char **names, size_t n);

/* ---- tail scan ---- */

/* What the end of a file says about the chain. */
struct audit_record_tail {
	uint64_t size;
	bool found; /* a verified record exists in the scanned window */
	uint64_t last_seq;
	char last_mac[AUDIT_MAC_HEX + 1];
	char last_ts[AUDIT_TS_LEN];
	char last_event[AUDIT_EVENT_MAX + 1];
	uint64_t good_end;  /* offset just past the last verified line's "\n" */
	bool torn;          /* bytes after good_end */
	uint64_t bad_lines; /* complete lines with a mac suffix that did not verify (after good_end) */
};

/* Scan the last lines of the file open at fd (read with pread; at most
 * 2 * AUDIT_LINE_MAX bytes from the end).  0 or -errno. */
int audit_record_tail(int fd, struct audit_record_mac *m, struct audit_record_tail *ret);

/* Write why (printf-style) into buf of n bytes if buf is not NULL. */
void audit_record_why(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
