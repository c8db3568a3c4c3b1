/* lx_net: a TCP or TLS client for the syslog collector.
 *
 * TLS (RFC 5425, syslog over TLS; OpenSSL) is the default: TLS 1.2 or
 * later, the collector's certificate verified against --ca (or the
 * system's store) and its name or IP address checked against the name
 * the operator gave, an optional client certificate.  Plain TCP only when
 * the caller asks for it, never to port 6514 (the caller refuses it).
 *
 * Syslog (plain or TLS) has no application acknowledgement.  The strongest
 * statement available is that the collector's TCP stack acknowledged
 * every byte: lx_net_wait_acked polls SIOCOUTQ (bytes not yet acked by
 * the peer) until it is 0.  The forwarder writes its state only after
 * that.  Functions return 0 or -errno and explain in why; nothing prints.
 * The caller owns the descriptor. */
#pragma once
#include <stddef.h>

/* Split "HOST:PORT" or "[V6]:PORT" into host[256] and port[16]. */
int lx_net_split(const char *hostport, char host[256], char port[16]);

/* The TLS settings.  ca: a PEM file of trusted CAs (NULL: the system's
 * store); cert/key: the client certificate and its key (both or neither);
 * name: the name or IP address the collector's certificate must carry
 * (NULL: the host of --to). */
struct lx_tls_opts {
	const char *ca, *cert, *key, *name;
};

/* One connection: fd >= 0 when connected; ssl set for TLS (an SSL *). */
struct lx_conn {
	int fd;
	void *ssl;
};
#define LX_CONN_NONE ((struct lx_conn){.fd = -1, .ssl = NULL})

/* A TLS client context from o (an SSL_CTX *, lx_tls_free).  0, or -EINVAL
 * with why (a file that does not load, a key that does not match). */
int lx_tls_new(const struct lx_tls_opts *o, void **ret_ctx, char *why, size_t whylen);
void lx_tls_free(void *ctx);

/* Connect (non-blocking connect with a timeout, then blocking mode with
 * send and receive timeouts), trying every address getaddrinfo returns;
 * with tls (from lx_tls_new) then the TLS handshake, verifying the
 * collector's certificate for name (NULL: host).  -ECONNREFUSED,
 * -ETIMEDOUT..., or -EPROTO (handshake or verification failed: why says
 * which). */
int lx_net_open(struct lx_conn *c, const char *host, const char *port, void *tls, const char *name, int timeout_ms,
		char *why, size_t whylen);
void lx_net_close(struct lx_conn *c);

/* Send everything (MSG_NOSIGNAL; SSL_write).  -EPIPE/-ECONNRESET/-ETIMEDOUT... */
int lx_net_send_all(struct lx_conn *c, const void *buf, size_t n);

/* Wait until the peer acknowledged every byte sent (SIOCOUTQ == 0) or
 * timeout_ms passed (-ETIMEDOUT); -ECONNRESET when the peer closed (for
 * TLS: a close_notify or an alert). */
int lx_net_wait_acked(struct lx_conn *c, int timeout_ms);
