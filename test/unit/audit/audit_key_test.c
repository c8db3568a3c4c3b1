/* Key files: created 0600 with O_EXCL from getrandom; loaded only when a
 * regular file owned by the running user with no group/other bits and of
 * a sane length.  Every refusal has its own error and message. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_testutil.h"
#include "test/check.h"

static void write_file(const char *p, size_t n, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	REQUIRE(fd >= 0);
	char buf[2048];
	memset(buf, 'k', sizeof buf);
	REQUIRE(n <= sizeof buf && write(fd, buf, n) == (ssize_t)n);
	REQUIRE(fchmod(fd, mode) == 0);
	close(fd);
}

static int load(const char *p, char *why)
{
	struct audit_key k;
	why[0] = '\0';
	int r = audit_key_load(p, &k, why, 256);
	audit_key_wipe(&k);
	return r;
}

int main(void)
{
	char *dir = tu_tmpdir("key");
	char why[256];
	struct audit_key a, b;

	/* Create: 0600 whatever the umask, random, never overwritten. */
	mode_t old = umask(0);
	char *p = tu_path(dir, "k1");
	CHECK(audit_key_create(p, 0, why, sizeof why) == 0);
	umask(old);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == AUDIT_KEY_DEFAULT);
	CHECK(audit_key_create(p, 0, why, sizeof why) == -EEXIST);
	CHECK(audit_key_load(p, &a, why, sizeof why) == 0 && a.len == AUDIT_KEY_DEFAULT);
	char *p2 = tu_path(dir, "k2");
	CHECK(audit_key_create(p2, 64, why, sizeof why) == 0);
	CHECK(audit_key_load(p2, &b, why, sizeof why) == 0 && b.len == 64);
	CHECK(memcmp(a.bytes, b.bytes, 32) != 0);
	CHECK(audit_key_create(p2, 8, why, sizeof why) == -EINVAL);
	CHECK(audit_key_create(p2, AUDIT_KEY_MAX + 1, why, sizeof why) == -EINVAL);

	/* Mode 0644 (readable by others): refused. */
	char *p3 = tu_path(dir, "k3");
	write_file(p3, 32, 0644);
	CHECK(load(p3, why) == -EPERM);
	CHECK(strstr(why, "0644") && strstr(why, "0600"));
	/* Group-readable, other-writable: refused too. */
	write_file(p3, 32, 0640);
	CHECK(load(p3, why) == -EPERM);
	write_file(p3, 32, 0602);
	CHECK(load(p3, why) == -EPERM);
	/* 0400 is stricter: accepted. */
	write_file(p3, 32, 0400);
	CHECK(load(p3, why) == 0);
	REQUIRE(chmod(p3, 0600) == 0);

	/* Too short, too long, empty. */
	write_file(p3, 31, 0600);
	CHECK(load(p3, why) == -EMSGSIZE);
	write_file(p3, AUDIT_KEY_MAX + 1, 0600);
	CHECK(load(p3, why) == -EFBIG);
	write_file(p3, 0, 0600);
	CHECK(load(p3, why) == -EMSGSIZE);

	/* Not a regular file; a symlink to a good key; missing. */
	CHECK(load(dir, why) == -EINVAL);
	char *ln = tu_path(dir, "link");
	REQUIRE(symlink(p, ln) == 0);
	CHECK(load(ln, why) == -ELOOP);
	CHECK(strstr(why, "symbolic link") != NULL);
	char *none = tu_path(dir, "none");
	CHECK(load(none, why) == -ENOENT);
	char *fifo = tu_path(dir, "fifo");
	REQUIRE(mkfifo(fifo, 0600) == 0);
	CHECK(load(fifo, why) == -EINVAL);

	/* Owned by someone else (only testable as root). */
	if (geteuid() == 0) {
		write_file(p3, 32, 0600);
		REQUIRE(chown(p3, 65534, 65534) == 0);
		CHECK(load(p3, why) == -EPERM);
		CHECK(strstr(why, "owned by uid 65534") != NULL);
	}

	audit_key_wipe(&a);
	audit_key_wipe(&b);
	for (size_t i = 0; i < sizeof a.bytes; i++)
		CHECK(a.bytes[i] == 0);
	tu_rmrf(dir);
	free(p);
	free(p2);
	free(p3);
	free(ln);
	free(none);
	free(fifo);
	free(dir);
	return check_done();
}
