/* fdio: whole-buffer write(2) for the control plane and the tools.
 *
 * fd_write_all writes all len bytes of buf to fd, retrying after EINTR and
 * short writes.  Returns 0, or -errno of the failing write (-EIO if write
 * returned 0).  It neither opens, syncs nor closes fd: the caller owns it. */
#pragma once
#include <stddef.h>

int fd_write_all(int fd, const void *buf, size_t len);
