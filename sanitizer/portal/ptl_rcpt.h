/* ptl_rcpt: the recipient check of the upload portal: an address typed by
 * a stranger on the Internet side must be a plain addr-spec in one of the
 * site's LGWAN domains (--rcpt-domain) before it reaches a mail header.
 *
 * Accepted: local-part "@" domain, where the local part is a dot-atom of
 * RFC 5322 atext (no quoted string, no comment, no leading, trailing or
 * double dot), at most 64 bytes, and the domain equals one of the allowed
 * domains ignoring ASCII case; the whole at most 254 bytes.  Nothing else:
 * no display name, no angle brackets, no white space, no CR or LF, no
 * non-ASCII byte, no route, no address literal.
 *
 * Ownership: the caller's buffers; no allocation, never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define PTL_RCPT_MAX 254
#define PTL_RCPT_LOCAL_MAX 64

/* true when d is a domain name the site may allow: LDH labels of 1..63
 * bytes, at least two labels, at most 253 bytes */
bool ptl_rcpt_domain_valid(const char *d);

/* Check addr against the allowed domains.  0 with the address written to
 * ret (at least PTL_RCPT_MAX + 1 bytes; the domain lowercased), or -EINVAL
 * (not a plain address) / -EPERM (a domain not allowed), with a reason key
 * in *ret_why ("rcpt-empty", "rcpt-too-long", "rcpt-syntax",
 * "rcpt-domain"). */
int ptl_rcpt_check(const char *addr, const char *const *domains, size_t ndomains, char *ret, const char **ret_why);
