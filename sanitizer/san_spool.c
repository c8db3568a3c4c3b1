/* san_spool: memory first, then an unlinked file (see san_spool.h).
 * Contract: after an error the spool keeps what it had; the caller resets. */
#include "sanitizer/san_spool.h"
#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void san_spool_init(struct san_spool *s, const char *dir, size_t mem_max)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->dir = dir && *dir ? dir : "/tmp";
	s->mem_max = mem_max;
}

static int open_file(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd < 0 ? -errno : fd;
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/.sekisho-spool.XXXXXX", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

int san_spool_write(struct san_spool *s, const void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (s->fd < 0 && s->len + n <= s->mem_max) {
		strbuf_append(&s->mem, buf, n);
		s->len += n;
		return 0;
	}
	if (s->fd < 0) {
		int fd = open_file(s->dir);
		if (fd < 0)
			return fd;
		int r = s->mem.len ? fdio_write_all(fd, s->mem.buf, s->mem.len) : 0;
		if (r < 0) {
			close(fd);
			return r;
		}
		s->fd = fd;
		strbuf_free(&s->mem);
	}
	int r = fdio_write_all(s->fd, buf, n);
	if (r < 0)
		return r;
	s->len += n;
	return 0;
}

int san_spool_read_fd(struct san_spool *s, int fd, size_t cap)
{
	char buf[65536];
	while (s->len < cap) {
		size_t want = cap - s->len < sizeof(buf) ? cap - s->len : sizeof(buf);
		ssize_t n = read(fd, buf, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		int r = san_spool_write(s, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	return 0;
}

void san_spool_reset(struct san_spool *s)
{
	strbuf_free(&s->mem);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->len = 0;
}
