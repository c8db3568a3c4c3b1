/* sha256: the one SHA-256 helper of the tree (OpenSSL libcrypto), as
 * lowercase hex text: of a buffer, or running over data that arrives in
 * pieces (a streamed upload, a copy being written).
 *
 * Ownership: struct sha256_run holds a libcrypto context between
 * sha256_run_init and sha256_run_hex (which frees it, also on failure);
 * sha256_run_abandon frees a run that will not be finished.  Never prints. */
#pragma once
#include <stddef.h>

#define SHA256_HEX_LEN 64

struct sha256_run {
	void *ctx; /* EVP_MD_CTX */
};

/* Hex SHA-256 of buf[0..len) into out (65 bytes, NUL-terminated). */
void sha256_hex(const void *buf, size_t len, char out[SHA256_HEX_LEN + 1]);

/* 0 or -ENOMEM. */
int sha256_run_init(struct sha256_run *r);
/* 0 or -EIO. */
int sha256_run_update(struct sha256_run *r, const void *buf, size_t len);
/* Finish: the hex digest into out; the run is freed.  0 or -EIO. */
int sha256_run_hex(struct sha256_run *r, char out[SHA256_HEX_LEN + 1]);
void sha256_run_abandon(struct sha256_run *r);
