/* san_quarantine: originals and removed attachments, kept under their
 * SHA-256 with JSON metadata.
 *
 * Layout: DIR (mode 0700, created if missing; an existing DIR with group or
 * other permissions is refused, unless group_read allows group r-x) holds <sha256>.data (0600, the exact bytes)
 * and <sha256>.json (metadata).  Files are written to a temporary name,
 * fsynced and renamed, so an item is either complete or absent.  The same
 * content is stored once.  The quarantine id shown to users is the first
 * SAN_QID_LEN hex digits of the SHA-256.
 *
 * Caps: max_bytes bounds the total size of the .data files (a put that would
 * exceed it fails with -ENOSPC: the caller must then not deliver, since the
 * item would be lost); items older than retain_seconds are deleted when the
 * quarantine is opened (and by the tool's "expire").
 *
 * Threads: put and expire may be called from several threads of one process
 * at once (the milter shares one quarantine): puts of different content
 * run in parallel, each still returning only after its own fsyncs; puts of
 * the same content, and expire, are serialised.
 *
 * Ownership: struct san_quarantine is owned by its opener (_close).  Never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SAN_QID_LEN 16

struct san_quarantine;

struct san_quarantine_opts {
	const char *dir;
	uint64_t max_bytes;      /* 0 = 10 GiB */
	uint64_t retain_seconds; /* 0 = keep forever */
	/* shared with the CDR worker (docs/cdr.md): DIR may also be readable
	 * by its group (never writable, never other), and items are written
	 * 0640 so that the worker's group reads them */
	bool group_read;
};

struct san_qmeta {
	const char *kind; /* "original", "attachment", "uuencode", "tnef", ... */
	const char *name; /* neutralised file name or NULL */
	const char *declared_type;
	const char *detected_type;
	const char *message_id;
	const char *reason;
};

int san_quarantine_open(const struct san_quarantine_opts *o, struct san_quarantine **ret, char *why, size_t whylen);
void san_quarantine_close(struct san_quarantine *q);

/* Store buf; writes the 64-hex SHA-256 into ret_sha (65 bytes).  0,
 * -ENOSPC (cap), or -errno. */
int san_quarantine_put(struct san_quarantine *q, const void *buf, size_t len, const struct san_qmeta *meta,
		       char ret_sha[65]);
/* As san_quarantine_put when the caller already has buf's SHA-256 (64 hex
 * digits from san_quarantine_sha256_hex): buf is not hashed again. */
int san_quarantine_put_sha(struct san_quarantine *q, const void *buf, size_t len, const char sha[65],
			   const struct san_qmeta *meta);

/* As san_quarantine_put for len bytes of fd from offset off, copied
 * through a small buffer (pread): a large original is never loaded into
 * memory.  The SHA-256 is computed while copying.  fd is not moved. */
int san_quarantine_put_fd(struct san_quarantine *q, int fd, uint64_t off, uint64_t len, const struct san_qmeta *meta,
			  char ret_sha[65]);

/* Delete items older than retain_seconds (now: seconds since the epoch).
 * Returns the number deleted or -errno. */
int san_quarantine_expire(struct san_quarantine *q, int64_t now);

/* Resolve an id or unique prefix (>= 8 hex digits) to the full SHA-256. 0,
 * -ENOENT, -EINVAL (bad id), -ENOTUNIQ. */
int san_quarantine_find(struct san_quarantine *q, const char *id, char ret_sha[65]);

const char *san_quarantine_dir(const struct san_quarantine *q);
uint64_t san_quarantine_used(const struct san_quarantine *q);

/* Lowercase hex SHA-256 of buf into out (65 bytes). */
void san_quarantine_sha256_hex(const void *buf, size_t len, char out[65]);
/* The same for len bytes of fd from offset off (pread).  0 or -errno
 * (-EIO when the file is shorter). */
int san_quarantine_sha256_fd_hex(int fd, uint64_t off, uint64_t len, char out[65]);
