/* lx_net: TCP and TLS client pieces for forward (see lx_net.h).
 *
 * Contract: every wait is bounded by the caller's timeout (SO_SNDTIMEO and
 * SO_RCVTIMEO bound the TLS handshake too); SIGPIPE is avoided with
 * MSG_NOSIGNAL (the caller also ignores SIGPIPE, which OpenSSL's writes
 * could raise); a peer that closes (a read of 0, a TLS close_notify or
 * alert) is an error because a syslog collector never sends application
 * data on the connection.  A TLS 1.3 server does send records after the
 * handshake (session tickets): those are read and dropped by OpenSSL
 * while waiting for the acknowledgement, never taken from under it. */
#include "tools/logexport/lx_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	*ret_fd = fd;
	return 0;
}

static int tcp_connect(const char *host, const char *port, int timeout_ms, int *ret_fd, char *why, size_t whylen)
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

/* The first queued OpenSSL error as text, "" when none. */
static const char *ssl_err(void)
{
	static __thread char buf[256];
	unsigned long e = ERR_get_error();
	buf[0] = '\0';
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

int lx_tls_new(const struct lx_tls_opts *o, void **ret_ctx, char *why, size_t whylen)
{
	*ret_ctx = NULL;
	if (!o->cert != !o->key) {
		snprintf(why, whylen, "a client certificate needs both its certificate and its key");
		return -EINVAL;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(why, whylen, "TLS: %s", ssl_err());
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* no automatic retry: a session ticket read while waiting for the
	 * acknowledgement must return, not block for application data */
	SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
	int ok = o->ca ? SSL_CTX_load_verify_locations(ctx, o->ca, NULL) : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		snprintf(why, whylen, "%s: cannot load the CA certificates: %s", o->ca ? o->ca : "system store",
			 ssl_err());
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	if (o->cert) {
		if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(why, whylen, "client certificate %s / key %s: %s", o->cert, o->key, ssl_err());
			SSL_CTX_free(ctx);
			return -EINVAL;
		}
	}
	*ret_ctx = ctx;
	return 0;
}

void lx_tls_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

/* The handshake on a connected fd, verifying the peer for name (an IP
 * address literal is checked against the certificate's IP entries, any
 * other name against its DNS names, with SNI). */
static int tls_start(struct lx_conn *c, SSL_CTX *ctx, const char *name, char *why, size_t whylen)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl) {
		snprintf(why, whylen, "TLS: %s", ssl_err());
		return -ENOMEM;
	}
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
	/* SSL_set_tlsext_host_name is a macro that casts away const: give
	 * it a copy of its own */
	char sni[256];
	snprintf(sni, sizeof sni, "%s", name);
	int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
		       : SSL_set_tlsext_host_name(ssl, sni) == 1 && SSL_set1_host(ssl, name) == 1;
	if (ok != 1 || SSL_set_fd(ssl, c->fd) != 1) {
		snprintf(why, whylen, "TLS: cannot set the name %s: %s", name, ssl_err());
		SSL_free(ssl);
		return -EINVAL;
	}
	if (SSL_connect(ssl) != 1) {
		long v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK)
			snprintf(why, whylen, "TLS: the collector's certificate is not trusted for %s: %s", name,
				 X509_verify_cert_error_string(v));
		else {
			const char *e = ssl_err();
			snprintf(why, whylen, "TLS handshake with %s failed%s%s", name,
				 e[0] ? ": " : " (connection closed)", e);
		}
		SSL_free(ssl);
		return -EPROTO;
	}
	c->ssl = ssl;
	return 0;
}

int lx_net_open(struct lx_conn *c, const char *host, const char *port, void *tls, const char *name, int timeout_ms,
		char *why, size_t whylen)
{
	*c = LX_CONN_NONE;
	int r = tcp_connect(host, port, timeout_ms, &c->fd, why, whylen);
	if (r < 0 || !tls)
		return r;
	r = tls_start(c, tls, name ? name : host, why, whylen);
	if (r < 0) {
		close(c->fd);
		c->fd = -1;
	}
	return r;
}

void lx_net_close(struct lx_conn *c)
{
	if (c->ssl) {
		/* one close_notify, not waiting for the collector's */
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	*c = LX_CONN_NONE;
}

int lx_net_send_all(struct lx_conn *c, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		if (c->ssl) {
			size_t w = 0;
			if (SSL_write_ex(c->ssl, p, n, &w) != 1) {
				int e = SSL_get_error(c->ssl, 0);
				ERR_clear_error();
				if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
					return -ETIMEDOUT;
				return e == SSL_ERROR_SYSCALL && errno ? -errno : -ECONNRESET;
			}
			p += w;
			n -= w;
			continue;
		}
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
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

/* Something to read on a connection the collector never writes to: for
 * TLS, let OpenSSL take it (session tickets are fine, anything else, a
 * close_notify or an alert, means the connection is over); for plain TCP
 * any byte or the end is.  0 or -ECONNRESET. */
static int drain(struct lx_conn *c)
{
	if (c->ssl) {
		char b[512];
		size_t got = 0;
		if (SSL_read_ex(c->ssl, b, sizeof b, &got) == 1)
			return 0; /* application data from a collector: ignored */
		int e = SSL_get_error(c->ssl, 0);
		ERR_clear_error();
		return e == SSL_ERROR_WANT_READ ? 0 : -ECONNRESET;
	}
	char ch;
	ssize_t rd = recv(c->fd, &ch, 1, MSG_DONTWAIT);
	if (rd == 0 || (rd < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		return -ECONNRESET;
	return 0;
}

int lx_net_wait_acked(struct lx_conn *c, int timeout_ms)
{
	int64_t deadline = monotime_ms() + timeout_ms;
	long sleep_us = 50;
	for (;;) {
		int outq = 0;
		if (ioctl(c->fd, SIOCOUTQ, &outq) < 0)
			return -errno;
		/* A closed or reset peer shows as readable with 0 bytes / an error. */
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, 0) > 0) {
			if (p.revents & (POLLERR | POLLHUP))
				return -ECONNRESET;
			if (drain(c) < 0)
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
