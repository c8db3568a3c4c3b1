/* san_spool: a message that arrives in pieces (a pipe, milter body chunks),
 * kept in memory up to a threshold and in an unlinked private file beyond.
 *
 * Why: a large message must never sit in memory (issue 5: peak RSS at most
 * 1.5 x size + 32 MiB, "never hold several copies"); the library parses a
 * spooled file in place (sanitize_spool), so only small messages pay for
 * nothing more than a memory copy.
 *
 * The file is created with O_TMPFILE (mode 0600) in dir, so it has no name
 * and disappears with its descriptor; filesystems without O_TMPFILE get a
 * mkstemp file that is unlinked at once.  Nothing is capped here: the
 * caller checks len against its own limit before writing.
 *
 * Ownership: the spool owns its buffer and descriptor (san_spool_reset
 * releases both and makes it reusable); dir is borrowed.  Never prints. */
#pragma once
#include <stddef.h>

#include "common/strbuf.h"

struct san_spool {
	struct strbuf mem; /* the message while it is small (fd < 0) */
	int fd;            /* the message once it passed mem_max, else -1 */
	size_t len;        /* bytes written so far */
	size_t mem_max;    /* bytes kept in memory at most */
	const char *dir;   /* where the file goes */
};

void san_spool_init(struct san_spool *s, const char *dir, size_t mem_max);
/* Append n bytes.  0 or -errno (the file could not be created or written). */
int san_spool_write(struct san_spool *s, const void *buf, size_t n);
/* Append what fd yields until EOF or until len reaches cap.  0 or -errno. */
int san_spool_read_fd(struct san_spool *s, int fd, size_t cap);
void san_spool_reset(struct san_spool *s);
