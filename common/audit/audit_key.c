/* audit_key: load and create the audit MAC key file.
 *
 * Contract: a key file is a regular file (never followed through a
 * symlink), owned by the effective user, with no group/other permission
 * bits, holding AUDIT_KEY_MIN..AUDIT_KEY_MAX raw bytes.  Anything else is
 * refused with a reason in why: a key others can read lets them forge
 * records; a key others can write lets them swap it.  New keys come from
 * getrandom(2) and are created O_EXCL so that a key is never overwritten.
 * Key bytes are wiped from temporary buffers; nothing prints. */
#include "common/audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/audit/audit_record.h"
#include "common/fdio.h"

int audit_key_load(const char *path, struct audit_key *ret_key, char *why, size_t whylen)
{
	if (!path || !ret_key)
		return -EINVAL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			audit_record_why(why, whylen, "key file %s is a symbolic link; refused", path);
		else
			audit_record_why(why, whylen, "cannot open key file %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		audit_record_why(why, whylen, "cannot stat key file %s: %s", path, strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		audit_record_why(why, whylen, "key file %s is not a regular file; refused", path);
	} else if (st.st_uid != geteuid()) {
		r = -EPERM;
		audit_record_why(why, whylen,
				 "key file %s is owned by uid %u, not by the running user (uid %u); refused", path,
				 (unsigned)st.st_uid, (unsigned)geteuid());
	} else if (st.st_mode & 077) {
		r = -EPERM;
		audit_record_why(why, whylen, "key file %s has mode %04o; it must be 0600 or stricter; refused", path,
				 (unsigned)(st.st_mode & 07777));
	} else if (st.st_size < AUDIT_KEY_MIN) {
		r = -EMSGSIZE;
		audit_record_why(why, whylen, "key file %s has %lld bytes; at least %d are needed", path,
				 (long long)st.st_size, AUDIT_KEY_MIN);
	} else if (st.st_size > AUDIT_KEY_MAX) {
		r = -EFBIG;
		audit_record_why(why, whylen, "key file %s has %lld bytes; at most %d are allowed", path,
				 (long long)st.st_size, AUDIT_KEY_MAX);
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	struct audit_key k = {0};
	size_t want = (size_t)st.st_size;
	while (k.len < want) {
		ssize_t n = read(fd, k.bytes + k.len, want - k.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			audit_record_why(why, whylen, "cannot read key file %s: %s", path, strerror(-r));
			break;
		}
		if (n == 0)
			break;
		k.len += (size_t)n;
	}
	close(fd);
	if (r == 0 && k.len != want) {
		r = -EIO;
		audit_record_why(why, whylen, "key file %s changed while being read", path);
	}
	if (r == 0)
		*ret_key = k;
	explicit_bzero(&k, sizeof k);
	return r;
}

int audit_key_create(const char *path, size_t len, char *why, size_t whylen)
{
	if (!path)
		return -EINVAL;
	if (len == 0)
		len = AUDIT_KEY_DEFAULT;
	if (len < AUDIT_KEY_MIN || len > AUDIT_KEY_MAX) {
		audit_record_why(why, whylen, "key length %zu outside %d..%d", len, AUDIT_KEY_MIN, AUDIT_KEY_MAX);
		return -EINVAL;
	}
	uint8_t buf[AUDIT_KEY_MAX];
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			audit_record_why(why, whylen, "getrandom: %s", strerror(e));
			explicit_bzero(buf, sizeof buf);
			return -e;
		}
		got += (size_t)n;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		audit_record_why(why, whylen, "cannot create key file %s: %s", path, strerror(e));
		explicit_bzero(buf, sizeof buf);
		return -e;
	}
	int r = 0;
	/* The umask may only remove bits, but fchmod makes the mode exact. */
	if (fchmod(fd, 0600) < 0)
		r = -errno;
	if (r == 0)
		r = fdio_write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	explicit_bzero(buf, sizeof buf);
	if (r < 0) {
		audit_record_why(why, whylen, "cannot write key file %s: %s", path, strerror(-r));
		unlink(path);
	}
	return r;
}

void audit_key_wipe(struct audit_key *key)
{
	if (key)
		explicit_bzero(key, sizeof *key);
}
