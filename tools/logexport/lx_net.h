/* lx_net: a TCP client for the syslog collector.
 *
 * Plain TCP syslog has no application acknowledgement.  The strongest
 * statement available is that the collector's TCP stack acknowledged
 * every byte: lx_net_wait_acked polls SIOCOUTQ (bytes not yet acked by
 * the peer) until it is 0.  The forwarder writes its state only after
 * that.  Functions return 0 or -errno and explain in why; nothing prints.
 * The caller owns the descriptor. */
#pragma once
#include <stddef.h>

/* Split "HOST:PORT" or "[V6]:PORT" into host[256] and port[16]. */
int lx_net_split(const char *hostport, char host[256], char port[16]);

/* Connect (non-blocking connect with a timeout, then blocking mode with
 * send timeouts).  Tries every address getaddrinfo returns. */
int lx_net_connect(const char *host, const char *port, int timeout_ms, int *ret_fd, char *why, size_t whylen);

/* Send everything (MSG_NOSIGNAL).  -EPIPE/-ECONNRESET/-ETIMEDOUT... */
int lx_net_send_all(int fd, const void *buf, size_t n, int timeout_ms);

/* Wait until the peer acknowledged every byte sent (SIOCOUTQ == 0) or
 * timeout_ms passed (-ETIMEDOUT); -ECONNRESET when the peer closed. */
int lx_net_wait_acked(int fd, int timeout_ms);
