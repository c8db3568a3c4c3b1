/* gateway-bench-connect: the short-TCP-connection load of gateway-bench's
 * new_flows case, both ends.  Many connections in flight, so that the rate
 * is set by the work per connection, not by its latency (the earlier
 * Python client made one at a time: the appliance's queue round trip then
 * counted once per connection).
 *
 *   gateway-bench-connect server ADDR PORT SECONDS
 *       accepts until SIGTERM/SIGINT or SECONDS; prints "ready" once
 *       listening, {"accepted":N,"answered":N} on exit
 *   gateway-bench-connect client SRC DST PORT SECONDS MAX [PARALLEL]
 *       opens at most MAX connections in at most SECONDS, PARALLEL (64)
 *       in flight; prints {"connections":N,"failures":F,"socket_errors":E,
 *       "seconds":S}
 *
 * One connection: nonblocking connect from SRC (kernel-chosen port), send
 * an 8-byte request, read the server's 8-byte answer, close with SO_LINGER 0
 * (RST).  The answer proves the flow passed in both directions (through the
 * appliance: the decision was made and the reply direction is passed by the
 * connmark); the RST close leaves no TIME_WAIT socket at either end, so the
 * ephemeral port range (about 28,000 ports per 60 s with a normal close)
 * does not cap the rate — the same choice for the kernel-only and the
 * appliance side.  A connection not answered within 1 s (a SYN lost
 * needs a 1 s retransmit) counts as a failure, as does any socket error.
 * Single-threaded, epoll; every resource is bounded (PARALLEL sockets,
 * MAX connections, SECONDS). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_LEN 8
#define MAX_PARALLEL 1024
#define CONN_TIMEOUT_NS 1000000000LL
#define MAX_SECONDS 60

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int parse_addr(const char *s, unsigned port, struct sockaddr_in *sa)
{
	*sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	return inet_pton(AF_INET, s, &sa->sin_addr) == 1 ? 0 : -1;
}

static long arg_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "gateway-bench-connect: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

/* ---------------------------------------------------------------- server -- */

static int server(const char *addr, unsigned port, long seconds)
{
	struct sockaddr_in sa;
	if (parse_addr(addr, port, &sa) < 0)
		return 2;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 4096) < 0) {
		perror("gateway-bench-connect: listen");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0) {
		perror("gateway-bench-connect: epoll");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	unsigned long long accepted = 0, answered = 0;
	long long end = now_ns() + seconds * 1000000000LL;
	static const char answer[MSG_LEN] = "answer\n";
	while (!stop && now_ns() < end) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == l) {
				/* Accept what is pending; each connection is read when
				 * its request arrives (usually already there). */
				for (int k = 0; k < 256; k++) {
					int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0)
						break;
					accepted++;
					struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce) < 0)
						close(c);
				}
				continue;
			}
			char req[MSG_LEN];
			ssize_t r = read(fd, req, sizeof req);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r == MSG_LEN && write(fd, answer, sizeof answer) == MSG_LEN)
				answered++;
			/* Closing removes it from the epoll set; the client's RST
			 * (or our FIN) ends it without a TIME_WAIT at this end. */
			close(fd);
		}
	}
	printf("{\"accepted\":%llu,\"answered\":%llu}\n", accepted, answered);
	return 0;
}

/* ---------------------------------------------------------------- client -- */

struct slot {
	int fd;
	long long started;
	bool sent;
};

static int client(const char *src, const char *dst, unsigned port, long seconds, long max, long parallel)
{
	struct sockaddr_in sa, da;
	if (parse_addr(src, 0, &sa) < 0 || parse_addr(dst, port, &da) < 0) {
		fprintf(stderr, "gateway-bench-connect: bad address\n");
		return 2;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("gateway-bench-connect: epoll");
		return 1;
	}
	static struct slot slots[MAX_PARALLEL];
	for (long i = 0; i < parallel; i++)
		slots[i].fd = -1;
	unsigned long long done = 0, failed = 0, started = 0, errors_socket = 0;
	long long t0 = now_ns(), end = t0 + seconds * 1000000000LL;
	static const char request[MSG_LEN] = "request";
	static const struct linger rst = {.l_onoff = 1, .l_linger = 0};
	long active = 0;
	for (;;) {
		long long now = now_ns();
		bool opening = !stop && now < end && (long long)started < max;
		if (opening) {
			for (long i = 0; i < parallel && (long long)started < max; i++) {
				struct slot *s = &slots[i];
				if (s->fd >= 0)
					continue;
				int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
				if (fd < 0) {
					errors_socket++;
					break;
				}
				int one = 1;
				(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
				(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
				started++;
				if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
				    (connect(fd, (struct sockaddr *)&da, sizeof da) < 0 && errno != EINPROGRESS)) {
					failed++;
					close(fd);
					continue;
				}
				struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u64 = (uint64_t)i};
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
					failed++;
					close(fd);
					continue;
				}
				*s = (struct slot){.fd = fd, .started = now, .sent = false};
				active++;
			}
		}
		if (!opening && active == 0)
			break;
		if (!opening && now >= end + CONN_TIMEOUT_NS)
			break; /* the last ones in flight are neither done nor failed */
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 10);
		for (int i = 0; i < n; i++) {
			struct slot *s = &slots[evs[i].data.u64];
			if (s->fd < 0)
				continue;
			bool ok = false, finished = false;
			if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				finished = true;
			} else if (!s->sent && (evs[i].events & EPOLLOUT)) {
				if (write(s->fd, request, sizeof request) == MSG_LEN) {
					s->sent = true;
					struct epoll_event ev = {.events = EPOLLIN, .data.u64 = evs[i].data.u64};
					(void)epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
				} else {
					finished = true;
				}
			} else if (evs[i].events & EPOLLIN) {
				char ans[MSG_LEN];
				ssize_t r = read(s->fd, ans, sizeof ans);
				if (r < 0 && errno == EAGAIN)
					continue;
				finished = true;
				ok = r == MSG_LEN;
			}
			if (finished) {
				close(s->fd);
				s->fd = -1;
				active--;
				if (ok)
					done++;
				else
					failed++;
			}
		}
		long long t = now_ns();
		for (long i = 0; i < parallel; i++) {
			if (slots[i].fd >= 0 && t - slots[i].started > CONN_TIMEOUT_NS) {
				close(slots[i].fd);
				slots[i].fd = -1;
				active--;
				failed++;
			}
		}
	}
	/* Completed connections over the opening period (or until the last
	 * completed one, if MAX was reached earlier). */
	long long t1 = now_ns();
	double secs = (double)((t1 < end ? t1 : end) - t0) / 1e9;
	for (long i = 0; i < parallel; i++)
		if (slots[i].fd >= 0)
			close(slots[i].fd);
	printf("{\"connections\":%llu,\"failures\":%llu,\"socket_errors\":%llu,\"seconds\":%.3f}\n", done, failed,
	       errors_socket, secs);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "server"))
		return server(argv[2], (unsigned)arg_long(argv[3], 1, 65535, "port"),
			      arg_long(argv[4], 1, MAX_SECONDS, "seconds"));
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "client"))
		return client(argv[2], argv[3], (unsigned)arg_long(argv[4], 1, 65535, "port"),
			      arg_long(argv[5], 1, MAX_SECONDS, "seconds"), arg_long(argv[6], 1, 10000000, "max"),
			      argc == 8 ? arg_long(argv[7], 1, MAX_PARALLEL, "parallel") : 64);
	fprintf(stderr,
		"usage: gateway-bench-connect server ADDR PORT SECONDS\n"
		"       gateway-bench-connect client SRC DST PORT SECONDS MAX [PARALLEL]\n");
	return 2;
}
