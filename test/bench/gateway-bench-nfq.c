/* gateway-bench-nfq: the minimal NFQUEUE consumer that
 * test/bench/gateway-bench compares sekisho-gatewayd with.  Same netlink
 * code and receive loop as the daemon (gw_nfq: one CONFIG message, up to 8
 * recvmmsg of 32 per wakeup, batch verdicts), but no packet parsing, no
 * table, no audit: every packet gets the
 * same verdict.  So the difference in CPU time per packet is the daemon's
 * decision.  The verdict is the one the daemon gives the benchmark's
 * packets (drop: a denied flow), because an accepted packet is forwarded
 * inside the consumer's verdict system call and would charge the consumer
 * with the kernel's forwarding work that a dropped one does not cost.
 *
 *   gateway-bench-nfq QUEUE [drop|accept]   runs until SIGTERM/SIGINT
 *                               (default drop); prints {"packets":N} on exit */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>

#include "gateway/gw_nfq.h"

#define BATCH 32
#define BUFSZ 8192

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	uint32_t verdict = NF_DROP;
	if (argc == 3 && !strcmp(argv[2], "accept"))
		verdict = NF_ACCEPT;
	else if (argc == 3 && strcmp(argv[2], "drop"))
		argc = 0;
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: gateway-bench-nfq QUEUE [drop|accept]\n");
		return 2;
	}
	char why[256] = "";
	struct gw_nfq *q;
	if (gw_nfq_open((uint16_t)atoi(argv[1]), &q, why, sizeof why) < 0) {
		fprintf(stderr, "gateway-bench-nfq: %s\n", why);
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	static char bufs[BATCH][BUFSZ];
	static struct gw_verdicts v;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = BUFSZ};
		msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
	}
	unsigned long long packets = 0;
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd p = {.fd = gw_nfq_fd(q), .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		/* The daemon's receive loop: up to 8 batches per wakeup. */
		for (int round = 0; round < 8; round++) {
			int n = recvmmsg(gw_nfq_fd(q), msgs, BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				break;
			for (int i = 0; i < n; i++) {
				const struct nlmsghdr *nlh = (const struct nlmsghdr *)bufs[i];
				int left = (int)msgs[i].msg_len;
				while (mnl_nlmsg_ok(nlh, left)) {
					struct gw_nfq_msg m;
					if (gw_nfq_parse(nlh, &m) == 0) {
						gw_nfq_verdicts_add(q, &v, m.id, verdict, false, 0);
						packets++;
					}
					nlh = mnl_nlmsg_next(nlh, &left);
				}
			}
			gw_nfq_verdicts_flush(q, &v);
			if (n < BATCH)
				break;
		}
	}
	printf("{\"packets\":%llu}\n", packets);
	gw_nfq_close(q);
	return 0;
}
