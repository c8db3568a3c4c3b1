/* cdr_read: all of a file descriptor (a pipe from a converter, a
 * converter's stdin) into a new buffer, refusing more than a cap.
 *
 * cdr_read_all reads fd to its end, retrying after EINTR.  Returns 0 with
 * *ret (the caller frees it) and *ret_len, -EFBIG as soon as more than max
 * bytes arrive (the rest is left unread), -ENOMEM, or -errno of read.  The
 * caller owns fd. */
#pragma once
#include <stddef.h>
#include <stdint.h>

int cdr_read_all(int fd, size_t max, uint8_t **ret, size_t *ret_len);
