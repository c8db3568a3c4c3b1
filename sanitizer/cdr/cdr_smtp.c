/* cdr_smtp: a small SMTP client for the loopback relay (see cdr_smtp.h).
 * Contract: one connection per message, closed before return; every wait
 * is bounded by the session's deadline; a reply that is not what the
 * protocol says (a wrong code, an over-long line, too many lines) ends the
 * session with -EPROTO and the reply's first line in why.  The message is
 * accepted only when the server answered 250 to the final dot.  Nothing
 * prints. */
#include "sanitizer/cdr/cdr_smtp.h"
#include "common/monotime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1000
#define REPLY_MAX_LINES 100

int cdr_smtp_parse_addr(const char *hostport, struct cdr_smtp_addr *ret)
{
	char host[64];
	const char *colon;
	memset(ret, 0, sizeof(*ret));
	if (!hostport)
		return -EINVAL;
	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');
		if (!end || end[1] != ':' || (size_t)(end - hostport - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, hostport + 1, (size_t)(end - hostport - 1));
		host[end - hostport - 1] = 0;
		colon = end + 1;
	} else {
		colon = strrchr(hostport, ':');
		if (!colon || (size_t)(colon - hostport) >= sizeof(host))
			return -EINVAL;
		memcpy(host, hostport, (size_t)(colon - hostport));
		host[colon - hostport] = 0;
	}
	char *e;
	unsigned long port = strtoul(colon + 1, &e, 10);
	if (!colon[1] || *e || port == 0 || port > 65535)
		return -EINVAL;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ret->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ret->sa;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		ret->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		ret->len = sizeof(*v6);
	} else {
		return -EINVAL;
	}
	return 0;
}

struct session {
	int fd;
	int64_t deadline;
	char buf[4096];
	size_t have, off;
	char *why;
	size_t whylen;
};

/* wait for ev on the socket within the deadline: 0, -ETIMEDOUT, -errno */
static int wait_fd(struct session *s, short ev)
{
	for (;;) {
		int64_t left = s->deadline - monotime_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = s->fd, .events = ev};
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(struct session *s, const char *p, size_t n)
{
	while (n > 0) {
		int r = wait_fd(s, POLLOUT);
		if (r < 0)
			return r;
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* one line without its CRLF into line (LINE_MAX_BYTES + 1) */
static int read_line(struct session *s, char *line)
{
	size_t n = 0;
	for (;;) {
		if (s->off == s->have) {
			int r = wait_fd(s, POLLIN);
			if (r < 0)
				return r;
			ssize_t got = recv(s->fd, s->buf, sizeof(s->buf), MSG_DONTWAIT);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0)
				return got < 0 ? -errno : -ECONNRESET;
			s->have = (size_t)got;
			s->off = 0;
		}
		char c = s->buf[s->off++];
		if (c == '\n') {
			if (n > 0 && line[n - 1] == '\r')
				n--;
			line[n] = 0;
			return 0;
		}
		if (n == LINE_MAX_BYTES)
			return -EPROTO;
		line[n++] = c;
	}
}

/* a whole (multi-line) reply; its code, or -errno.  The first line is kept
 * in why (cut, control characters replaced) for the caller's message. */
static int read_reply(struct session *s)
{
	char line[LINE_MAX_BYTES + 1];
	int code = -1;
	for (int i = 0; i < REPLY_MAX_LINES; i++) {
		int r = read_line(s, line);
		if (r < 0)
			return r;
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (line[3] && line[3] != ' ' && line[3] != '-'))
			return -EPROTO;
		int c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (code >= 0 && c != code)
			return -EPROTO;
		if (code < 0) {
			code = c;
			snprintf(s->why, s->whylen, "%.200s", line);
			for (char *p = s->why; *p; p++)
				if ((unsigned char)*p < ' ' || *p == 0x7f)
					*p = '?';
		}
		if (line[3] != '-')
			return code;
	}
	return -EPROTO;
}

/* send a command line and want a reply of class want (2 or 3) */
static int command(struct session *s, bool *refused, int want, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int command(struct session *s, bool *refused, int want, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -EINVAL;
	memcpy(line + n, "\r\n", 3);
	int r = send_all(s, line, (size_t)n + 2);
	if (r == 0)
		r = read_reply(s);
	if (r >= 0 && r / 100 != want) {
		*refused = true;
		return r / 100 == 5 ? -EREMOTEIO : -EPROTO;
	}
	return r < 0 ? r : 0;
}

/* the message, dot-stuffed, then the final dot */
static int send_data(struct session *s, const char *msg, size_t len)
{
	char out[8192];
	size_t o = 0;
	bool bol = true;
	for (size_t i = 0; i < len; i++) {
		if (o + 4 > sizeof(out)) {
			int r = send_all(s, out, o);
			if (r < 0)
				return r;
			o = 0;
		}
		if (bol && msg[i] == '.')
			out[o++] = '.';
		out[o++] = msg[i];
		bol = msg[i] == '\n';
	}
	if (!bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	int r = send_all(s, out, o);
	return r < 0 ? r : send_all(s, ".\r\n", 3);
}

static bool line_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f || *s == '<' || *s == '>')
			return false;
	return true;
}

int cdr_smtp_send(const struct cdr_smtp_addr *to, const char *helo, const char *from, const char *const *rcpt,
		  size_t nrcpt, const char *msg, size_t len, unsigned timeout_ms, char *why, size_t whylen)
{
	struct session s = {.fd = -1, .deadline = monotime_ms() + timeout_ms, .why = why, .whylen = whylen};
	bool refused = false;
	why[0] = 0;
	if (!line_ok(helo) || !line_ok(from) || nrcpt == 0) {
		snprintf(why, whylen, "bad envelope");
		return -EINVAL;
	}
	for (size_t i = 0; i < nrcpt; i++)
		if (!line_ok(rcpt[i])) {
			snprintf(why, whylen, "bad recipient");
			return -EINVAL;
		}
	s.fd = socket(to->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s.fd < 0)
		return -errno;
	/* the message's last piece and the final dot are separate writes
	 * before a read: without this, Nagle holds the dot for the server's
	 * delayed ACK (40 ms a message) */
	int one = 1;
	setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int r = 0;
	if (connect(s.fd, (const struct sockaddr *)&to->sa, to->len) < 0) {
		if (errno != EINPROGRESS) {
			r = -errno;
		} else if ((r = wait_fd(&s, POLLOUT)) == 0) {
			int err = 0;
			socklen_t el = sizeof(err);
			if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
				r = -errno;
			else if (err)
				r = -err;
		}
	}
	if (r == 0) {
		r = read_reply(&s);
		if (r >= 0 && r != 220) {
			refused = true;
			r = r / 100 == 5 ? -EREMOTEIO : -EPROTO;
		}
		r = r < 0 ? r : 0;
	}
	if (r == 0)
		r = command(&s, &refused, 2, "EHLO %s", helo);
	if (r == 0)
		r = command(&s, &refused, 2, "MAIL FROM:<%s>", from);
	for (size_t i = 0; r == 0 && i < nrcpt; i++)
		r = command(&s, &refused, 2, "RCPT TO:<%s>", rcpt[i]);
	if (r == 0)
		r = command(&s, &refused, 3, "DATA");
	if (r == 0) {
		r = send_data(&s, msg, len);
		if (r == 0) {
			r = read_reply(&s);
			if (r >= 0 && r / 100 != 2) {
				refused = true;
				r = r / 100 == 5 ? -EREMOTEIO : -EPROTO;
			}
			r = r < 0 ? r : 0;
		}
	}
	if (r == 0) {
		/* the message is accepted; QUIT's answer does not matter */
		bool ignored = false;
		char keep[256];
		snprintf(keep, sizeof(keep), "%s", why);
		command(&s, &ignored, 2, "QUIT");
		snprintf(why, whylen, "%s", keep);
	} else if (!refused) {
		snprintf(why, whylen, "%s", strerror(-r));
	}
	close(s.fd);
	return r;
}
