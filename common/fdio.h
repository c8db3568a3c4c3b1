/* fdio: whole-buffer file I/O for the control plane and the tools.
 *
 * fdio_write_all writes all len bytes of buf to fd, retrying after EINTR and
 * short writes.  Returns 0, or -errno of the failing write (-EIO if write
 * returned 0).  It neither opens, syncs nor closes fd: the caller owns it.
 *
 * fdio_read_file reads a whole regular file of at most max bytes into a new
 * buffer (the caller frees *ret): a table for the daemon (copied, so that a
 * file overwritten in place can never fault a reader), a capture for the
 * replay.  Returns 0, -errno of open, -EFBIG (not a regular file, or larger
 * than max), -EIO (a read failed or the file shrank) or -ENOMEM.
 *
 * fdio_read_all reads fd (a pipe, a converter's stdin) to its end into a new
 * buffer (the caller frees *ret), retrying after EINTR.  Returns 0, -EFBIG as
 * soon as more than max bytes arrive (the rest is left unread), -ENOMEM, or
 * -errno of read.  The caller owns fd. */
#pragma once
#include <stddef.h>
#include <stdint.h>

int fdio_write_all(int fd, const void *buf, size_t len);
int fdio_read_file(const char *path, uint64_t max, void **ret, size_t *ret_len);
int fdio_read_all(int fd, size_t max, uint8_t **ret, size_t *ret_len);
