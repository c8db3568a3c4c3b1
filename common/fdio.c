#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int fdio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fdio_read_file(const char *path, uint64_t max, void **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	size_t len = (size_t)st.st_size, got = 0;
	void *buf = malloc(len ? len : 1);
	while (buf && got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != len) {
		free(buf);
		return buf ? -EIO : -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* The buffer grows by doubling up to max + 1 bytes, so that one byte too
 * many is seen without reading (or allocating for) the rest. */
int fdio_read_all(int fd, size_t max, uint8_t **ret, size_t *ret_len)
{
	size_t cap = 1 << 16, len = 0;
	if (max < SIZE_MAX && cap > max + 1)
		cap = max + 1;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len > max) {
			free(buf);
			return -EFBIG;
		}
		if (len == cap) {
			size_t ncap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
			if (max < SIZE_MAX && ncap > max + 1)
				ncap = max + 1;
			uint8_t *n = realloc(buf, ncap);
			if (!n) {
				free(buf);
				return -ENOMEM;
			}
			buf = n;
			cap = ncap;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}
