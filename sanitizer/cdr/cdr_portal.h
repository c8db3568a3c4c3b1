/* cdr_portal: the two formats the worker reads from the portals
 * (docs/portal.md): a portal request (portal-queue/, written by
 * sekisho-portal) and an upload parcel's metadata (inbox/<id>.json, written
 * by sekisho-upload, the Internet-side process).  Both are hostile input to
 * the worker: the parsers cap the text, every member's type and length,
 * check every name that may reach a path (request ids, parcel ids, sha256,
 * link hashes) and refuse invalid UTF-8 and control characters in strings.
 * Fuzzed by fuzz-cdr_portal.
 *
 * Ownership: the structs own their strings (_free; a zeroed struct is empty
 * and may be freed).  A request's password is wiped (explicit_bzero) by
 * cdr_portal_req_free.  Functions return 0 or -errno; never print. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CDR_PORTAL_REQ_MAX_BYTES ((size_t)16 << 10)
#define CDR_PORTAL_ID_MAX 64 /* request id: [A-Za-z0-9_-], 1..64 */
#define CDR_PORTAL_MAX_APPROVERS 8
#define CDR_PORTAL_MAX_PASSWORD 1024 /* bytes (the portal form's cap, PTL_PASSWORD_MAX) */
#define CDR_PORTAL_MAX_STR 4096      /* bytes of any other string */

enum cdr_portal_kind { CDR_PORTAL_RELEASE = 1, CDR_PORTAL_PPAP, CDR_PORTAL_NOTIFY };

struct cdr_portal_req {
	enum cdr_portal_kind kind;
	char id[CDR_PORTAL_ID_MAX + 1];
	char sha256[65]; /* release, ppap */
	char origin[8];  /* release: "mail" or "upload" */
	char link[65];   /* ppap, notify: the manifest hash; release: optional */
	char *approvers[CDR_PORTAL_MAX_APPROVERS];
	size_t napprovers;
	char *reason;   /* release, may be NULL */
	char *password; /* ppap */
};

/* {"v":1,"kind":...,"id":...} as in docs/portal.md; unknown members are
 * ignored (the portal may add some), missing required ones refused.
 * 0, -EINVAL, -EFBIG (over CDR_PORTAL_REQ_MAX_BYTES), -ENOMEM. */
int cdr_portal_req_parse(const char *buf, size_t len, struct cdr_portal_req *ret);
void cdr_portal_req_free(struct cdr_portal_req *r);
const char *cdr_portal_kind_name(enum cdr_portal_kind k);
/* true when s may name a request file in portal-queue/ (and be a request
 * id): [A-Za-z0-9_-], 1..64 characters */
bool cdr_portal_name_ok(const char *s);

#define CDR_PARCEL_ID_LEN 33 /* 16 hex, '-', 16 hex */
#define CDR_PARCEL_MAX_FILES 32
#define CDR_PARCEL_MAX_BYTES ((size_t)64 << 10)

struct cdr_parcel_file {
	unsigned n; /* the file is inbox/<id>.<n>.data; n = its index */
	char *name; /* the uploader's name for it (checked text, never a path) */
	uint64_t bytes;
	char sha256[65];
};

struct cdr_parcel {
	char id[CDR_PARCEL_ID_LEN + 1];
	int64_t received;
	char *uploader, *peer, *note; /* peer and note may be NULL */
	char *rcpt;                   /* one mail address (cdr_portal_addr_ok) */
	bool approval;
	struct cdr_parcel_file files[CDR_PARCEL_MAX_FILES];
	size_t nfiles;
};

/* The metadata; files must be numbered 0, 1, ... in order.  0, -EINVAL,
 * -EFBIG, -ENOMEM. */
int cdr_parcel_parse(const char *buf, size_t len, struct cdr_parcel *ret);
void cdr_parcel_free(struct cdr_parcel *p);
/* true when s is a parcel id ([0-9a-f]{16}-[0-9a-f]{16}) */
bool cdr_parcel_id_ok(const char *s);

/* true when s is a plain mail address we may put in an envelope and a
 * header: local@domain, printable ASCII without space, quotes, angle
 * brackets, parentheses, commas, semicolons or backslashes, one '@', at
 * most 254 bytes */
bool cdr_portal_addr_ok(const char *s);
/* true when s is 64 lowercase hex digits */
bool cdr_portal_hex64(const char *s);
