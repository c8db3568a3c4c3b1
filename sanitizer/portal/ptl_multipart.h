/* ptl_multipart: a streaming parser of multipart/form-data request bodies
 * (RFC 7578, RFC 2046 section 5.1) for the upload portal.  It reads hostile
 * bytes from the Internet side.
 *
 * The body is fed in chunks of any size (ptl_mp_feed); each part is handed
 * to the caller as it streams by: begin (its field name, file name, type),
 * data (any number of calls, in order), end.  Memory is fixed at creation
 * whatever the body's size: the part headers are kept in a buffer of
 * max_header bytes, and a delimiter split across chunks is held as a count
 * of matched bytes (the delimiter "\r\n--<boundary>" has its only CR first,
 * so a failed match never needs to look back).
 *
 * Strict where ambiguity could make two readers disagree: header lines end
 * in CRLF (no bare CR or LF, no folding, no control characters), exactly
 * one Content-Disposition "form-data" with a non-empty name, a parameter at
 * most once, no nested multipart, at most max_parts parts.  The file name
 * is returned as sent (the caller neutralises it: ptl_name); backslashes in
 * quoted strings are literal, as browsers send them (a Windows path).  A
 * preamble of at most max_header bytes and any epilogue are ignored (the
 * caller caps the whole body).
 *
 * Errors are sticky: once a feed fails, every later call returns the same
 * value.  A callback's negative return stops the parse and is returned.
 * ptl_mp_why gives a reason key for the failure ("mp-syntax",
 * "mp-header-too-long", "mp-too-many-parts", "mp-nested", "mp-no-name",
 * "mp-truncated", or "mp-callback").
 *
 * Ownership: struct ptl_mp belongs to its creator (_free); the strings of
 * a struct ptl_mp_part live until the part's end callback returns.  Never
 * prints. */
#pragma once
#include <stddef.h>

#define PTL_MP_BOUNDARY_MAX 70

struct ptl_mp_part {
	const char *name;     /* field name, never empty */
	const char *filename; /* NULL for a plain field; may be "" (no file chosen) */
	const char *type;     /* Content-Type value, or NULL */
	size_t filename_len;  /* bytes of filename */
};

struct ptl_mp_ops {
	/* each returns 0 to go on or a negative errno to stop the parse */
	int (*begin)(void *arg, const struct ptl_mp_part *part);
	int (*data)(void *arg, const void *buf, size_t len);
	int (*end)(void *arg);
};

struct ptl_mp_caps {
	size_t max_header;  /* bytes of one part's header block; 0 = 8192 */
	unsigned max_parts; /* 0 = 64 */
	unsigned max_lines; /* header lines per part; 0 = 16 */
};

struct ptl_mp;

/* The boundary of a request's Content-Type (multipart/form-data only):
 * 0 with it in ret (PTL_MP_BOUNDARY_MAX + 1 bytes), -EBADMSG otherwise
 * (another type, no boundary, an invalid or too long one). */
int ptl_mp_boundary(const char *content_type, char ret[PTL_MP_BOUNDARY_MAX + 1]);

/* A parser for one body.  -EINVAL (bad boundary or ops), -ENOMEM. */
int ptl_mp_new(const char *boundary, const struct ptl_mp_caps *caps, const struct ptl_mp_ops *ops, void *arg,
	       struct ptl_mp **ret);
/* Parse the next len bytes.  0, -EBADMSG (malformed), -E2BIG (a cap), or
 * a callback's error. */
int ptl_mp_feed(struct ptl_mp *mp, const void *buf, size_t len);
/* The body ended: 0 when the closing delimiter was seen, -EBADMSG
 * ("mp-truncated") otherwise, or the sticky error. */
int ptl_mp_finish(struct ptl_mp *mp);
/* The reason key of the failure, "" while there is none. */
const char *ptl_mp_why(const struct ptl_mp *mp);
/* Parts begun so far. */
unsigned ptl_mp_parts(const struct ptl_mp *mp);
void ptl_mp_free(struct ptl_mp *mp);
