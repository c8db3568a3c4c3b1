/* cdr_members: the member stream that leaves the archive converter's sandbox.
 *
 * sekisho-cdr-archive unpacks an archive (zip, lzh, 7z, tar, gz ...) inside
 * the sandbox and writes what it found as one stream on its stdout:
 *
 *   stream header, 8 bytes:
 *     offset 0  4 bytes  magic "SKAR"
 *            4  1 byte   version (1)
 *            5  1 byte   flags: bit 0 SINGLE (a compressed single file such
 *                        as .gz: one member, which has no name of its own;
 *                        the trusted side names it after the outer file);
 *                        every other bit must be 0
 *            6  2 bytes  0
 *   then records, each a 12-byte header and its payload:
 *     offset 0  1 byte   type: 'M' member, 'S' skipped member, 'E' end,
 *                        'R' refused
 *            1  1 byte   0
 *            2  2 bytes  name length, big-endian (M, S: >= 1; E, R: 0)
 *            4  8 bytes  value, big-endian: M the member's size in bytes;
 *                        S, R the length of the reason key; E the number
 *                        of M and S records before it
 *     payload: M: name, then `size` bytes of content; S: name, then the
 *              reason key; R: the reason key; E: nothing.
 *
 * A name is the member's path inside the archive, already decoded to UTF-8
 * and checked by the converter (cdr_members_name_ok: relative, '/'
 * separated, no empty, "." or ".." segment, no control character, no
 * backslash, no ':', no trailing space or dot in a segment, no Windows
 * device name, at most max_name_bytes, max_segments and
 * CDR_MEMBERS_SEGMENT_MAX bytes per segment).  A reason key is 1-32 bytes of
 * [a-z0-9-].  The stream ends with exactly one E (the converter finished:
 * exit 0) or one R (it refused the whole archive: exit 1); nothing follows.
 * No two member names are the same, ignoring ASCII case, and no member name
 * is also a folder of another (cdr_names), so that the zip the trusted side
 * writes extracts on Windows without a question.
 *
 * The writer (cdr_members_write_*) is the converter's; the reader
 * (cdr_members_parse) is the trusted side's: it trusts nothing and checks
 * every field, name and cap before the caller touches a member.
 *
 * Ownership: cdr_members_parse allocates only the array of records (the
 * caller frees it with free()); names, reasons and contents point into the
 * caller's buffer, which must outlive them, and are NOT NUL-terminated.
 * cdr_names is a set the caller frees with cdr_names_free. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CDR_MEMBERS_MAGIC "SKAR"
#define CDR_MEMBERS_VERSION 1
#define CDR_MEMBERS_HEADER_SIZE 8
#define CDR_MEMBERS_RECORD_SIZE 12
#define CDR_MEMBERS_FLAG_SINGLE 0x01
#define CDR_MEMBERS_REASON_MAX 32
/* bytes of one path segment: Windows allows 255 UTF-16 units per
 * component, and 255 UTF-8 bytes are never more */
#define CDR_MEMBERS_SEGMENT_MAX 255

/* What one archive may hold: the converter refuses past them and the
 * reader checks them again.  One meaning for both sides (docs/cdr.md). */
struct cdr_members_caps {
	uint32_t max_entries;      /* archive entries of any type, folders and skipped ones included */
	uint64_t max_member_bytes; /* expanded size of one member */
	uint64_t max_total_bytes;  /* expanded size of all members */
	uint32_t max_ratio;        /* total expanded <= ratio * input bytes + 1 MiB (converter only) */
	uint32_t max_name_bytes;   /* UTF-8 bytes of one name */
	uint32_t max_segments;     /* folders + 1 in one name */
};

void cdr_members_caps_default(struct cdr_members_caps *ret_caps);
/* The caps of an archive inside an archive (depth >= 1): its expanded
 * total is at most one member's size, so that the memory a nest of
 * archives holds at once stays near one top-level archive's (docs/cdr.md). */
void cdr_members_caps_nested(struct cdr_members_caps *caps);

/* The largest stream a converter may write under caps (headers, names,
 * reasons and contents): the sandbox's output cap for the converter. */
uint64_t cdr_members_stream_max(const struct cdr_members_caps *caps);

enum cdr_members_type {
	CDR_MEMBERS_MEMBER = 'M',
	CDR_MEMBERS_SKIPPED = 'S',
	CDR_MEMBERS_END = 'E',
	CDR_MEMBERS_REFUSED = 'R',
};

struct cdr_members_rec {
	enum cdr_members_type type; /* M or S; the E / R record is not in the array */
	const char *name;           /* not NUL-terminated */
	size_t name_len;
	const uint8_t *data; /* M: the content; S: the reason key (not terminated) */
	size_t len;
};

struct cdr_members_stream {
	unsigned flags;              /* CDR_MEMBERS_FLAG_* */
	struct cdr_members_rec *rec; /* M and S records in stream order (free()) */
	size_t nrec;
	size_t nmembers;                          /* M records */
	uint64_t member_bytes;                    /* sum of the M sizes */
	char refused[CDR_MEMBERS_REASON_MAX + 1]; /* the R key, "" when the stream ended with E */
};

/* Writer (converter side).  Each returns 0 or -EIO; -EINVAL for a name or
 * reason the reader would refuse (the converter checks names first). */
int cdr_members_write_header(FILE *f, unsigned flags);
int cdr_members_write_member(FILE *f, const char *name, const void *data, uint64_t len);
/* a member whose size is not known before its content: the header, then
 * the caller writes exactly len bytes itself */
int cdr_members_write_member_header(FILE *f, const char *name, uint64_t len);
int cdr_members_write_skipped(FILE *f, const char *name, const char *reason);
int cdr_members_write_end(FILE *f, uint64_t nrecords);
int cdr_members_write_refused(FILE *f, const char *reason);

/* Parse and validate a whole stream of len bytes.  Returns 0 with *ret
 * filled (ret->refused set when the converter refused), or -EBADMSG with a
 * reason key in why ("short-header", "bad-magic", "bad-version",
 * "bad-flags", "bad-record", "bad-name", "bad-reason", "duplicate-name",
 * "member-limit", "entry-size-limit", "total-size-limit", "truncated",
 * "no-end", "trailing-data", "bad-count"), -EINVAL for caps with a zero
 * field, or -ENOMEM. */
int cdr_members_parse(const uint8_t *buf, size_t len, const struct cdr_members_caps *caps,
		      struct cdr_members_stream *ret, char *why, size_t whylen);

/* True when name[0..len) is a safe member name under caps (see the file
 * comment); the one definition both sides use. */
bool cdr_members_name_ok(const char *name, size_t len, const struct cdr_members_caps *caps);
/* The parts of that definition the converter's name rewriting uses:
 * a code point no name may hold (controls, bidi controls, BOM), and a
 * Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, alone or before
 * a dot, any case) as one segment s[0..len). */
bool cdr_members_bad_code_point(uint32_t cp);
bool cdr_members_device_name(const char *s, size_t len);
/* True when reason[0..len) is a reason key: 1-32 bytes of [a-z0-9-]. */
bool cdr_members_reason_ok(const char *reason, size_t len);

/* A set of member names as Windows sees them (ASCII case folded), with
 * every folder on their paths: cdr_names_add refuses a name that is
 * already there or that clashes with a folder (a file "a" and a file
 * "a/b").  Growable; allocation failure aborts (control plane). */
struct cdr_names;
struct cdr_names *cdr_names_new(void);
void cdr_names_free(struct cdr_names *set);
/* 0 added, -EEXIST clash (nothing added) */
int cdr_names_add(struct cdr_names *set, const char *name, size_t len);
/* true when a file or folder of that name is in the set */
bool cdr_names_has(const struct cdr_names *set, const char *name, size_t len);
