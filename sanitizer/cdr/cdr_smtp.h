/* cdr_smtp: the worker's SMTP client, for the appliance's own mail (upload
 * notifications, follow-up mail with the safe copies).  It speaks only to
 * the local Postfix's loopback listener without milters (127.0.0.1:10026 in
 * firmware/postfix/master.cf): plain SMTP (RFC 5321) with EHLO, no TLS, no
 * AUTH, no pipelining; numeric addresses only (no DNS).
 *
 * Caps: the whole session ends within timeout_ms (each read and write
 * waits at most what remains); a reply line is at most 1000 bytes, a reply
 * at most 100 lines.  The message is sent as given, dot-stuffed; it must
 * already use CRLF line ends (cdr_mail builds it so).
 *
 * Ownership: nothing is kept.  Returns 0 or -errno with the reason (the
 * server's reply when it refused) in why; never prints. */
#pragma once
#include <stddef.h>
#include <sys/socket.h>

struct cdr_smtp_addr {
	struct sockaddr_storage sa;
	socklen_t len;
};

/* "HOST:PORT" with HOST a numeric IPv4 address or "[IPv6]".  0 or -EINVAL. */
int cdr_smtp_parse_addr(const char *hostport, struct cdr_smtp_addr *ret);

/* Send one message from `from` to the nrcpt addresses (each a plain
 * address, checked by the caller).  0 when the server accepted it for
 * every recipient; -EREMOTEIO when it refused for good (a 5xx reply: why
 * has it), -EPROTO for a 4xx or a reply out of the protocol (try again
 * later), -ETIMEDOUT, -ECONNREFUSED, -errno. */
int cdr_smtp_send(const struct cdr_smtp_addr *to, const char *helo, const char *from, const char *const *rcpt,
		  size_t nrcpt, const char *msg, size_t len, unsigned timeout_ms, char *why, size_t whylen);
