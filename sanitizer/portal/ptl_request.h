/* ptl_request: the LGWAN portal's requests for originals, one JSON file a
 * request in the portal's own state directory, STATE/requests/<id>.json
 * (0600, rewritten whole and atomically at every decision).
 *
 *   {"v":1,"id":"<id>","created":1796000000,"link":"<manifest hash>","n":0,
 *    "sha256":"<64 hex>","origin":"mail","name":"見積書.xlsx","type":"...",
 *    "bytes":12345,"reason":"...","peer":"198.18.20.10","requester":null,
 *    "state":"pending","approvals":[{"user":"sato","comment":"","at":...}],
 *    "denied":null,"release":null,"release_expires":0,"downloaded":0}
 *
 * state: pending -> approved (enough approvers) | denied; release is the
 * release token's secret part (the download link is /r/<id>_<secret>),
 * downloaded the time of the one complete download (0: not yet).
 *
 * Ownership: a struct ptl_request owns its strings (ptl_request_free).
 * Functions return 0 or -errno; never print. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inaddr.h"
#include "sanitizer/portal/ptl_store.h"
#include "sanitizer/portal/ptl_users.h"

#define PTL_REQUEST_MAX_BYTES ((size_t)64 << 10)
#define PTL_REQUESTS_MAX 4096
#define PTL_REASON_MAX 4096 /* bytes; = PTL_FORM_MAX_VALUE */
#define PTL_RELEASE_SECRET_LEN 43

struct ptl_approval {
	char user[PTL_USER_NAME_MAX + 1];
	char *comment;
	int64_t at;
};

struct ptl_request {
	char id[PTL_ID_LEN + 1];
	int64_t created;
	char link[65];
	unsigned n;
	char sha256[65];
	char origin[8];
	char *name, *type;
	uint64_t bytes;
	char *reason;
	char peer[INADDR_STRLEN];
	char requester[PTL_USER_NAME_MAX + 1]; /* the logged-in user who asked, "" for a link holder */
	char state[10];                        /* pending, approved, denied */
	struct ptl_approval approvals[2];
	size_t napprovals;
	struct ptl_approval denied; /* user "" = none */
	char release[PTL_RELEASE_SECRET_LEN + 1];
	int64_t release_expires;
	int64_t downloaded;
};

int ptl_request_parse(const char *buf, size_t len, struct ptl_request *ret);
char *ptl_request_text(const struct ptl_request *r);
/* STATE/requests/<id>.json: load (-ENOENT, -EINVAL) and save (atomic). */
int ptl_request_load(const char *reqdir, const char *id, struct ptl_request *ret);
int ptl_request_save(const char *reqdir, const struct ptl_request *r);
/* Every request of reqdir (at most PTL_REQUESTS_MAX, unreadable ones
 * skipped), newest first, into *ret (ptl_request_list_free). */
int ptl_request_list(const char *reqdir, struct ptl_request **ret, size_t *ret_n);
void ptl_request_list_free(struct ptl_request *v, size_t n);
void ptl_request_free(struct ptl_request *r);
