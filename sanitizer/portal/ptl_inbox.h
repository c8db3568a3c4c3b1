/* ptl_inbox: the writer of the upload inbox (docs/portal.md, "The upload
 * inbox"), used by sekisho-upload.
 *
 * A parcel (one or more files for one recipient) is written as:
 *   1. each file streamed to DIR/.<id>.<n>.part (0644) with a running
 *      SHA-256 and byte caps, fsynced and closed;
 *   2. once every file is complete: each .part renamed to DIR/<id>.<n>.data,
 *      then the file system synced (syncfs: the writer cannot open DIR
 *      to fsync it, see below);
 *   3. the metadata written to DIR/.<id>.part (0644), fsynced, renamed to
 *      DIR/<id>.json, the file system synced again.
 * The .json appears last: a parcel is complete exactly when it exists, and
 * a writer stopped at any point before step 2 leaves only .part files
 * (removed by the worker after an hour).
 *
 * The inbox is mode 3730 (sekisho-cdr:sekisho-upload): the writer may
 * create files but not list or read the directory.  It therefore holds
 * DIR as an O_PATH descriptor, creates every file with O_EXCL, never reads
 * anything back, and removes on failure exactly the files it made (by
 * name: it owns them, which the sticky bit requires).
 *
 * <id> is 16 hex digits of nanoseconds since the epoch, '-', 16 random hex
 * digits; <n> counts files from 0.
 *
 * Ownership: a struct ptl_inbox belongs to its opener (_close); it is only
 * read after open, so parcels of any threads may share it.  A struct
 * ptl_parcel belongs to its creator (_free; freeing an unpublished parcel
 * removes its files).  Strings given to the functions are copied.
 * Functions return 0 or -errno; nothing prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTL_INBOX_ID_LEN 33 /* 16 + 1 + 16 */
#define PTL_INBOX_MAX_FILES 32
#define PTL_INBOX_MAX_META ((size_t)64 << 10)
#define PTL_INBOX_MAX_NAME 255 /* bytes of a file name in the metadata */
#define PTL_INBOX_MAX_NOTE 4096
#define PTL_INBOX_MAX_STR 320 /* uploader, peer, rcpt */

struct ptl_inbox;
struct ptl_parcel;

/* one finished file of a parcel */
struct ptl_inbox_file {
	unsigned n;
	char name[PTL_INBOX_MAX_NAME + 1];
	uint64_t bytes;
	char sha256[65]; /* lowercase hex */
};

struct ptl_parcel_caps {
	uint64_t max_bytes; /* per file; 0 = 100 MiB */
	uint64_t max_total; /* all files; 0 = max_bytes * max_files */
	unsigned max_files; /* 0 = 10, at most PTL_INBOX_MAX_FILES */
};

/* the metadata besides the files; strings valid UTF-8 without control
 * characters (the note may hold line breaks and tabs) */
struct ptl_parcel_meta {
	int64_t received; /* seconds since the epoch; 0 = now */
	const char *uploader;
	const char *peer; /* address text */
	const char *rcpt;
	const char *note; /* may be NULL */
	bool approval;
};

/* Open the inbox directory (O_PATH: no read permission needed).  -ENOTDIR,
 * -ELOOP (a symlink), -errno. */
int ptl_inbox_open(const char *dir, struct ptl_inbox **ret);
void ptl_inbox_close(struct ptl_inbox *ib);

/* A new parcel with a fresh id and the given caps (copied). */
int ptl_parcel_new(struct ptl_inbox *ib, const struct ptl_parcel_caps *caps, struct ptl_parcel **ret);
const char *ptl_parcel_id(const struct ptl_parcel *p);

/* Start the next file (name: the neutralised display name, UTF-8, cut to
 * PTL_INBOX_MAX_NAME bytes by the caller).  -E2BIG past max_files,
 * -EINVAL (a file is open, the name is invalid, or the parcel is
 * published / failed), -errno. */
int ptl_parcel_file_begin(struct ptl_parcel *p, const char *name);
/* Append to the open file.  -EFBIG when the file would pass max_bytes,
 * -EDQUOT when the parcel would pass max_total (nothing of buf is written
 * then; the parcel is failed: its files are removed, only _free remains),
 * -EINVAL without an open file, -errno. */
int ptl_parcel_file_write(struct ptl_parcel *p, const void *buf, size_t len);
/* Finish the open file: fsync, close, record its size and SHA-256. */
int ptl_parcel_file_end(struct ptl_parcel *p);

/* Publish: rename every file to <id>.<n>.data, sync, write the metadata,
 * rename it to <id>.json, sync.  Needs at least one file and none open.
 * On any failure every file of the parcel is removed and the parcel is
 * failed.  -EINVAL (no file, a file open, bad metadata), -EFBIG (metadata
 * past PTL_INBOX_MAX_META), -errno. */
int ptl_parcel_publish(struct ptl_parcel *p, const struct ptl_parcel_meta *m);

/* true once publish made the .json (even if its last sync failed) */
bool ptl_parcel_published(const struct ptl_parcel *p);
/* The finished files (for the result page and the audit record). */
const struct ptl_inbox_file *ptl_parcel_files(const struct ptl_parcel *p, size_t *ret_n);
uint64_t ptl_parcel_total(const struct ptl_parcel *p);

/* Free; an unpublished parcel's files (.part or .data) are removed first.
 * ptl_parcel_free(NULL) does nothing. */
void ptl_parcel_free(struct ptl_parcel *p);

/* The metadata text (JSON, one object, malloc'd) of a parcel: NULL with
 * errno EINVAL (bad strings) or ENOMEM. */
char *ptl_parcel_meta_text(const char *id, const struct ptl_parcel_meta *m, const struct ptl_inbox_file *files,
			   size_t nfiles);

/* true when s is a parcel id ([0-9a-f]{16}-[0-9a-f]{16}) */
bool ptl_inbox_id_valid(const char *s);
