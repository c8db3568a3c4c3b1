/* sha256: hex SHA-256 of a buffer or of a stream (common/sha256.h). */
#include "common/sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

static void to_hex(const unsigned char *d, char out[SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xF];
	}
	out[SHA256_HEX_LEN] = '\0';
}

void sha256_hex(const void *buf, size_t len, char out[SHA256_HEX_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256(buf, len, d);
	to_hex(d, out);
}

int sha256_run_init(struct sha256_run *r)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	if (!m || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(m);
		r->ctx = NULL;
		return -ENOMEM;
	}
	r->ctx = m;
	return 0;
}

int sha256_run_update(struct sha256_run *r, const void *buf, size_t len)
{
	return r->ctx && EVP_DigestUpdate(r->ctx, buf, len) == 1 ? 0 : -EIO;
}

int sha256_run_hex(struct sha256_run *r, char out[SHA256_HEX_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	unsigned dl = 0;
	int ok = r->ctx && EVP_DigestFinal_ex(r->ctx, d, &dl) == 1 && dl == SHA256_DIGEST_LENGTH;
	sha256_run_abandon(r);
	if (!ok)
		return -EIO;
	to_hex(d, out);
	return 0;
}

void sha256_run_abandon(struct sha256_run *r)
{
	EVP_MD_CTX_free(r->ctx);
	r->ctx = NULL;
}
