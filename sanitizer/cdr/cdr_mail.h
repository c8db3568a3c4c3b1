/* cdr_mail: the appliance's own messages (RFC 5322 + MIME), built for
 * cdr_smtp: CRLF line ends, 7-bit clean (every UTF-8 text is base64, the
 * subject an RFC 2047 encoded word sequence, attachment names RFC 2231
 * parameters with continuations), no line over 78 characters.  Text that
 * came from outside (a subject, a note, file names) never reaches a
 * header unencoded, so it cannot add a header or a MIME part.
 *
 * Ownership: the caller's strings and fds are read, never kept; the
 * message is malloc'd (free()).  NULL with errno (EINVAL: an address or an
 * attachment is not acceptable; ENOMEM; EIO: an attachment could not be
 * read).  Never prints. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct cdr_mail_att {
	const char *name; /* UTF-8 file name (RFC 2231 filename*) */
	int fd;           /* read with pread from offset 0 */
	uint64_t bytes;   /* exactly this many bytes are attached */
};

struct cdr_mail {
	const char *from;      /* plain address (cdr_portal_addr_ok) */
	const char *const *to; /* plain addresses */
	size_t nto;
	const char *subject; /* UTF-8 */
	const char *body;    /* UTF-8 text, "\n" or "\r\n" line ends */
	const struct cdr_mail_att *att;
	size_t natt;
	int64_t date; /* seconds since the epoch */
};

char *cdr_mail_build(const struct cdr_mail *m, size_t *ret_len);

/* the MIME type cdr_mail_build gives an attachment, from its name's
 * extension (application/octet-stream for anything it does not know) */
const char *cdr_mail_type(const char *name);
