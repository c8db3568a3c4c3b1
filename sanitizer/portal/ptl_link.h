/* ptl_link: the link tokens and link manifests of the file portals
 * (docs/portal.md, "Link manifests").
 *
 * A token is PTL_TOKEN_BYTES random bytes written base64url without
 * padding (PTL_TOKEN_LEN characters); the link is https://HOST/m/<token>.
 * The token is stored nowhere: the manifest lives at
 * DIR/<hex SHA-256 of the token text>.json, so a reader of DIR learns no
 * usable link.  A manifest is written once (tmp + fsync + rename, 0640) and
 * never rewritten; revocation is the separate empty file DIR/<hash>.revoked.
 *
 * Everything read from DIR is treated as untrusted text: the parser caps the
 * manifest (PTL_LINK_MAX_BYTES, PTL_LINK_MAX_FILES, PTL_LINK_MAX_RCPT), checks
 * every member's type and every sha256 (64 lowercase hex digits), and
 * refuses invalid UTF-8 and control characters in strings.
 *
 * Ownership: a struct ptl_link owns its strings (ptl_link_free; a zeroed
 * struct is empty and may be freed).  Functions return 0 or -errno; never
 * print. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTL_TOKEN_BYTES 32
#define PTL_TOKEN_LEN 43 /* base64url of 32 bytes, no padding */
#define PTL_HASH_LEN 64  /* hex SHA-256 of the token text */
#define PTL_LINK_MAX_FILES 64
#define PTL_LINK_MAX_RCPT 64
#define PTL_LINK_MAX_BYTES ((size_t)64 << 10)
#define PTL_LINK_MAX_STR 4096 /* bytes of one string member */

struct ptl_link_file {
	char sha256[65]; /* the original's SHA-256 */
	char *name;      /* neutralised name, may be NULL */
	char *type;      /* detected content type, may be NULL */
	uint64_t bytes;
	/* the CDR state when the manifest was written: "pending", "ready"
	 * (a copy of the same content already existed), or "none:<reason
	 * key>" when no copy can be made */
	char *cdr;
};

struct ptl_link {
	char origin[8];   /* "mail" or "upload" */
	int64_t created;  /* seconds since the epoch */
	int64_t expires;  /* seconds since the epoch */
	char *message_id; /* may be NULL */
	char *queue_id;   /* may be NULL */
	char *from;       /* envelope sender or uploader, may be NULL */
	char *subject;    /* may be NULL */
	char *note;       /* the uploader's note, may be NULL */
	char *rcpt[PTL_LINK_MAX_RCPT];
	size_t nrcpt;
	struct ptl_link_file files[PTL_LINK_MAX_FILES];
	size_t nfiles;
};

/* A new random token (getrandom).  0 or -errno. */
int ptl_token_new(char token[PTL_TOKEN_LEN + 1]);
/* The manifest name of token: lowercase hex SHA-256 of its text.  -EINVAL
 * when token is not PTL_TOKEN_LEN base64url characters (nothing else may
 * ever reach a path). */
int ptl_token_hash(const char *token, char hash[PTL_HASH_LEN + 1]);
/* true when s is PTL_HASH_LEN lowercase hex digits */
bool ptl_hash_valid(const char *s);

/* Write l as a new manifest into dir under a new token; the token goes to
 * token, its hash to hash (either may be NULL).  0, -EFBIG (over the caps),
 * -EINVAL (origin, sha256 or a string invalid), or -errno. */
int ptl_link_write(const char *dir, const struct ptl_link *l, char token[PTL_TOKEN_LEN + 1],
		   char hash[PTL_HASH_LEN + 1]);

/* Read the manifest of token (ptl_link_load) or of its hash
 * (ptl_link_load_hash) into *ret, checked against now: 0, -ENOENT (no such
 * link, or a malformed token), -EKEYREVOKED (revoked), -EKEYEXPIRED (past
 * expires), -EINVAL / -EFBIG (a damaged manifest), or -errno.  On error
 * *ret is empty.  The hash goes to hash when not NULL. */
int ptl_link_load(const char *dir, const char *token, int64_t now, struct ptl_link *ret, char hash[PTL_HASH_LEN + 1]);
int ptl_link_load_hash(const char *dir, const char *hash, int64_t now, struct ptl_link *ret);

/* Revoke: create DIR/<hash>.revoked.  0 (also when already revoked),
 * -ENOENT (no such manifest), -EINVAL (not a hash), -errno. */
int ptl_link_revoke(const char *dir, const char *hash);

/* Delete manifests (and their .revoked marks) whose expires is more than
 * grace seconds before now; unreadable manifests older than that by mtime
 * too.  Returns the number deleted or -errno. */
int ptl_link_sweep(const char *dir, int64_t now, int64_t grace);

/* The manifest format: parse buf[0..len) into *ret (0, -EINVAL, -EFBIG,
 * -ENOMEM; *ret empty on error); write l as JSON text (malloc'd, NULL on
 * -ENOMEM or an invalid l: errno set). */
int ptl_link_parse(const char *buf, size_t len, struct ptl_link *ret);
char *ptl_link_text(const struct ptl_link *l);
void ptl_link_free(struct ptl_link *l);
