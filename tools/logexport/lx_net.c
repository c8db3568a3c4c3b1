/* lx_net: TCP client pieces for forward (see lx_net.h).
 *
 * Contract: every wait is bounded by the caller's timeout; SIGPIPE is
 * avoided with MSG_NOSIGNAL; a peer that closes (a read of 0) is an error
 * because a syslog collector never sends on the connection. */
#include "tools/logexport/lx_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"

int lx_net_split(const char *hostport, char host[256], char port[16])
{
	if (!hostport)
		return -EINVAL;
	const char *colon;
	size_t hl;
	const char *h = hostport;
	if (hostport[0] == '[') {
		const char *close = strchr(hostport, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = hostport + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(hostport, ':');
		if (!colon || strchr(hostport, ':') != colon)
			return -EINVAL;
		hl = (size_t)(colon - hostport);
	}
	const char *p = colon + 1;
	size_t pl = strlen(p);
	if (hl == 0 || hl >= 256 || pl == 0 || pl >= 16)
		return -EINVAL;
	for (size_t i = 0; i < pl; i++)
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
	long v = strtol(p, NULL, 10);
	if (v < 1 || v > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, p, pl + 1);
	return 0;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms, int *ret_fd)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (r < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	if (r < 0) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int n = poll(&p, 1, timeout_ms);
		if (n <= 0) {
			close(fd);
			return n == 0 ? -ETIMEDOUT : -errno;
		}
		int err = 0;
		socklen_t el = sizeof err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			close(fd);
			return err ? -err : -errno;
		}
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	*ret_fd = fd;
	return 0;
}

int lx_net_connect(const char *host, const char *port, int timeout_ms, int *ret_fd, char *why, size_t whylen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g != 0) {
		if (why)
			snprintf(why, whylen, "%s: %s", host, gai_strerror(g));
		return g == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	}
	int r = -EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		r = connect_one(ai, timeout_ms, ret_fd);
		if (r == 0)
			break;
	}
	freeaddrinfo(res);
	if (r < 0 && why)
		snprintf(why, whylen, "connect to %s port %s: %s", host, port, strerror(-r));
	return r;
}

int lx_net_send_all(int fd, const void *buf, size_t n, int timeout_ms)
{
	(void)timeout_ms; /* SO_SNDTIMEO set at connect */
	const char *p = buf;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int lx_net_wait_acked(int fd, int timeout_ms)
{
	int64_t deadline = monotime_ms() + timeout_ms;
	long sleep_us = 50;
	for (;;) {
		int outq = 0;
		if (ioctl(fd, SIOCOUTQ, &outq) < 0)
			return -errno;
		/* A closed or reset peer shows as readable with 0 bytes / an error. */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 0) > 0) {
			if (p.revents & (POLLERR | POLLHUP))
				return -ECONNRESET;
			char c;
			ssize_t rd = recv(fd, &c, 1, MSG_DONTWAIT);
			if (rd == 0 || (rd < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
				return -ECONNRESET;
		}
		if (outq == 0)
			return 0;
		if (monotime_ms() >= deadline)
			return -ETIMEDOUT;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = sleep_us * 1000};
		nanosleep(&ts, NULL);
		if (sleep_us < 50000)
			sleep_us *= 2;
	}
}
