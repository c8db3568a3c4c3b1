/* cdr_read: read a descriptor to its end under a byte cap (cdr_read.h).
 * The buffer grows by doubling up to max + 1 bytes, so that one byte too
 * many is seen without reading (or allocating for) the rest. */
#include "sanitizer/cdr/cdr_read.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int cdr_read_all(int fd, size_t max, uint8_t **ret, size_t *ret_len)
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
