/* gw_nfhelp: the privileged helper of sekisho-gatewayd (gw_nfhelp.h).
 *
 * One process, one thread, forked before the daemon opens anything.  It
 * owns: the request socket (generation switches), the event socket (tamper
 * and repair reports), two netlink sockets (nf_tables events; rtnetlink tc
 * and link events), the lock file, and a fixed buffer for the bootstrap's
 * output.  Everything it runs is the bootstrap script, one command at a
 * time, synchronously.  It never exits while the daemon lives; when the
 * daemon's end closes it fences and exits.  Failures are written on stderr
 * (the daemon's log); a repair that fails leaves forwarding closed. */
#include "gateway/gw_nfhelp.h"
#include "common/i18n.h"
#include "common/svc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "common/monotime.h"

#define GEN_MASK 0x00ffffffu
#define OUT_MAX (256u << 10)      /* the bootstrap's check output kept (the reference) */
#define FWD_MAX 512               /* forwarding sysctls kept while closed */
#define CHECK_GAP_NS 200000000ull /* at most one check per 200 ms (events coalesce) */
#define RETRY_NS 5000000000ull    /* a failed repair is tried again after 5 s */
#define NL_RCVBUF (4 << 20)       /* "nft flush ruleset" of a big ruleset is many events */

/* The helper's log line, with its priority for the journal (common/svc). */
static void hlog(enum svc_prio prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hlog(enum svc_prio prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	svc_vlog(prio, "sekisho-gatewayd (nfhelp)", fmt, ap);
	va_end(ap);
}

struct fwd_value {
	char path[128];
	char value[8];
};

static struct {
	struct gw_nfhelp_opts o;
	int req, ev;
	struct mnl_socket *nft, *rt;
	uint32_t gen;
	bool have_gen;
	char *out; /* OUT_MAX: the last command's output */
	size_t out_len;
	char *ref; /* OUT_MAX: the last good check's output */
	size_t ref_len;
	bool have_ref;
	struct fwd_value fwd[FWD_MAX];
	size_t nfwd;
	uint64_t closed_ns;                      /* forwarding closed by us since (0: open) */
	uint64_t repairs[GW_NFHELP_MAX_REPAIRS]; /* times of the last repairs (ring) */
	unsigned nrepairs;
	bool pending_check, pending_repair;
	uint64_t next_check_ns, repair_at_ns;
	struct gw_nfhelp_event suspect;     /* the change that asked for a check */
	struct gw_nfhelp_event open_tamper; /* the tamper a pending repair is for */
	char backstop[4200];
} H;

/* ------------------------------------------------------ the bootstrap -- */

/* Run "NETFILTER ARGS..." and wait.  With capture, stdout and stderr go to
 * H.out (at most OUT_MAX bytes; more is read and dropped).  0 or -EIO. */
static int nf_run(bool capture, const char *const argv[])
{
	int pfd[2] = {-1, -1};
	if (capture && pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		if (capture) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return e;
	}
	if (pid == 0) {
		/* the helper ignores the stop signals; the bootstrap must not */
		static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
		for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
			signal(sigs[i], SIG_DFL);
		if (capture && (dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0))
			_exit(127);
		execv(H.o.netfilter, (char *const *)(uintptr_t)argv); /* execv does not write them */
		_exit(127);
	}
	H.out_len = 0;
	if (capture) {
		close(pfd[1]);
		for (;;) {
			char sink[4096];
			size_t room = OUT_MAX - H.out_len;
			ssize_t n = room ? read(pfd[0], H.out + H.out_len, room) : read(pfd[0], sink, sizeof sink);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (room)
				H.out_len += (size_t)n;
		}
		close(pfd[0]);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* The last non-empty line of the last captured output (the reason the
 * bootstrap gave), copied into why. */
static void out_last_line(char *why, size_t whylen)
{
	size_t end = H.out_len;
	while (end && (H.out[end - 1] == '\n' || H.out[end - 1] == ' '))
		end--;
	size_t start = end;
	while (start && H.out[start - 1] != '\n')
		start--;
	snprintf(why, whylen, "%.*s", (int)(end - start), H.out + start);
}

static int nf_generation(uint32_t gen)
{
	char g[16];
	snprintf(g, sizeof g, "%u", gen);
	return nf_run(false, (const char *const[]){H.o.netfilter, "generation", g, NULL});
}

/* Is the state intact for our generation, and as it was?  0 intact and
 * unchanged, 1 intact but changed (the output differs from the reference),
 * -EIO broken (why says how). */
static int nf_check(char *why, size_t whylen)
{
	char g[16];
	snprintf(g, sizeof g, "%u", H.gen);
	int r = nf_run(true, (const char *const[]){H.o.netfilter, "check", g, NULL});
	if (r < 0) {
		out_last_line(why, whylen);
		return r;
	}
	if (H.have_ref && (H.out_len != H.ref_len || memcmp(H.out, H.ref, H.out_len) != 0)) {
		snprintf(why, whylen, "the ruleset or the gate differs from the last known state");
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------- the watch -- */

static int nl_open(int bus, const unsigned *groups, size_t ngroups, struct mnl_socket **ret)
{
	struct mnl_socket *s = mnl_socket_open2(bus, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!s)
		return -errno;
	int buf = NL_RCVBUF;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	if (setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0)
		setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	for (size_t i = 0; i < ngroups; i++) {
		unsigned g = groups[i];
		if (mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0)
			goto fail;
	}
	*ret = s;
	return 0;
fail:;
	int e = -errno;
	mnl_socket_close(s);
	return e;
}

/* Read and forget every notification queued now: those of our own command. */
static void drain(void)
{
	struct mnl_socket *socks[] = {H.nft, H.rt};
	char buf[8192];
	for (size_t i = 0; i < 2; i++)
		while (socks[i] &&
		       (recv(mnl_socket_get_fd(socks[i]), buf, sizeof buf, MSG_DONTWAIT) > 0 || errno == ENOBUFS))
			;
}

/* -------------------------------------------------------- forwarding -- */

static const char *const fwd_dirs[] = {"/proc/sys/net/ipv4/conf", "/proc/sys/net/ipv6/conf"};

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* Keep every forwarding value (all, default, each interface; IPv4 and
 * IPv6), then switch "all" off: the kernel copies it to every interface.
 * Writing "all" back later would do the same with 1, so reopening writes
 * "all" first and then every value kept (sk-mgmt stays 0). */
static int forwarding_close(void)
{
	H.nfwd = 0;
	for (size_t d = 0; d < 2; d++) {
		DIR *dir = opendir(fwd_dirs[d]);
		struct dirent *e;
		while (dir && (e = readdir(dir)) && H.nfwd < FWD_MAX) {
			if (e->d_name[0] == '.')
				continue;
			struct fwd_value *v = &H.fwd[H.nfwd];
			if (snprintf(v->path, sizeof v->path, "%s/%s/forwarding", fwd_dirs[d], e->d_name) >=
			    (int)sizeof v->path)
				continue;
			int fd = open(v->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			ssize_t n = read(fd, v->value, sizeof v->value - 1);
			close(fd);
			if (n <= 0)
				continue;
			v->value[n] = 0;
			v->value[strcspn(v->value, "\n")] = 0;
			H.nfwd++;
		}
		if (dir)
			closedir(dir);
	}
	int r = 0;
	for (size_t d = 0; d < 2; d++) {
		char path[128];
		snprintf(path, sizeof path, "%s/all/forwarding", fwd_dirs[d]);
		int w = write_str(path, "0");
		if (w < 0 && r == 0)
			r = w;
	}
	H.closed_ns = monotime_ns();
	return r;
}

static void forwarding_reopen(void)
{
	if (!H.closed_ns)
		return;
	for (int pass = 0; pass < 2; pass++) /* "all" first, then the rest */
		for (size_t i = 0; i < H.nfwd; i++) {
			bool all = strstr(H.fwd[i].path, "/all/forwarding") != NULL;
			if (all == (pass == 0))
				write_str(H.fwd[i].path, H.fwd[i].value);
		}
	H.closed_ns = 0;
}

/* ------------------------------------------------------ tamper, repair -- */

static void report(const struct gw_nfhelp_event *e)
{
	if (H.ev >= 0 && send(H.ev, e, sizeof *e, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof *e)
		hlog(SVC_WARNING,
		     e->kind == GW_NFHELP_TAMPER ? _("warning: a tamper report was not delivered (%s)")
						 : _("warning: a repair report was not delivered (%s)"),
		     strerror(errno));
}

/* Make the current state the reference: the check must pass; its output is
 * what later checks compare with.  The backstop is kept for repairs. */
static int set_reference(char *why, size_t whylen)
{
	H.have_ref = false;
	int r = nf_check(why, whylen);
	if (r < 0)
		return r;
	memcpy(H.ref, H.out, H.out_len);
	H.ref_len = H.out_len;
	H.have_ref = true;
	if (nf_run(false, (const char *const[]){H.o.netfilter, "snapshot", H.backstop, NULL}) < 0)
		hlog(SVC_WARNING, _("warning: cannot keep the backstop in %s"), H.backstop);
	return 0;
}

static bool repair_allowed(uint64_t now)
{
	if (H.nrepairs < GW_NFHELP_MAX_REPAIRS)
		return true;
	uint64_t oldest = H.repairs[H.nrepairs % GW_NFHELP_MAX_REPAIRS];
	if (now - oldest >= 60000000000ull)
		return true;
	H.repair_at_ns = oldest + 60000000000ull;
	return false;
}

/* Put everything back for H.gen, check it, reopen forwarding.  Reports the
 * outcome for the tamper in H.open_tamper. */
static void repair(void)
{
	struct gw_nfhelp_event e = {.kind = GW_NFHELP_REPAIR,
				    .generation = H.gen,
				    .detected_ns = H.open_tamper.detected_ns,
				    .closed_ns = H.open_tamper.closed_ns,
				    .forwarding_closed = H.open_tamper.forwarding_closed};
	uint64_t now = monotime_ns();
	H.pending_repair = false;
	if (!repair_allowed(now)) {
		e.result = -EBUSY;
		snprintf(e.what, sizeof e.what,
			 "more than %d repairs in a minute: forwarding stays closed until %.1f s from now",
			 GW_NFHELP_MAX_REPAIRS, (double)(H.repair_at_ns - now) / 1e9);
		H.pending_repair = true;
		report(&e);
		return;
	}
	H.repairs[H.nrepairs++ % GW_NFHELP_MAX_REPAIRS] = now;
	char g[16], q[16], b[16];
	snprintf(g, sizeof g, "%u", H.gen);
	snprintf(q, sizeof q, "%u", H.o.queues);
	snprintf(b, sizeof b, "%u", H.o.queue_base);
	int r = -EIO;
	for (int attempt = 0; attempt < 3 && r < 0; attempt++) {
		r = nf_run(true,
			   (const char *const[]){H.o.netfilter, "repair", "--queues", q, "--queue-base", b,
						 "--generation", g, "--backstop", H.backstop, NULL});
		if (r < 0) {
			out_last_line(e.what, sizeof e.what);
			continue;
		}
		drain();
		r = set_reference(e.what, sizeof e.what);
	}
	if (r < 0) {
		e.result = r;
		H.pending_repair = true;
		H.repair_at_ns = monotime_ns() + RETRY_NS;
		hlog(SVC_CRIT, _("repair FAILED (%s): forwarding stays closed; trying again in 5 s"), e.what);
		report(&e);
		return;
	}
	forwarding_reopen();
	e.done_ns = monotime_ns();
	e.what[0] = 0;
	report(&e);
	hlog(SVC_NOTICE, _("repaired (generation %u) in %.1f ms"), H.gen, (double)(e.done_ns - e.detected_ns) / 1e6);
}

/* Someone else changed what is ours: close, report, repair. */
static void tamper(const struct gw_nfhelp_event *t)
{
	struct gw_nfhelp_event e = *t;
	e.kind = GW_NFHELP_TAMPER;
	e.detected_ns = monotime_ns();
	if (!H.closed_ns) {
		int r = forwarding_close();
		if (r < 0)
			hlog(SVC_WARNING, _("warning: closing forwarding: %s (the egress gate still holds)"),
			     strerror(-r));
		e.forwarding_closed = r == 0;
	} else {
		e.forwarding_closed = 1;
	}
	e.closed_ns = H.closed_ns;
	report(&e);
	hlog(SVC_WARNING, _("tamper: %s (pid %u %s): forwarding closed, repairing"), e.what, e.pid, e.comm);
	H.open_tamper = e;
	H.pending_check = false;
	repair();
}

static void run_check(void)
{
	char why[200] = "";
	H.pending_check = false;
	H.next_check_ns = monotime_ns() + CHECK_GAP_NS;
	int r = nf_check(why, sizeof why);
	if (r == 0)
		return;
	struct gw_nfhelp_event e = H.suspect;
	size_t l = strlen(e.what);
	snprintf(e.what + l, sizeof e.what - l, "%s%s", l ? ": " : "", why);
	tamper(&e);
}

/* A transaction or message said something: tamper now, or look soon. */
static void suspect(int verdict, const char *what, uint32_t pid, const char *comm, uint32_t changes, uint64_t t)
{
	if (verdict == GW_NFW_NONE || !H.have_gen)
		return;
	struct gw_nfhelp_event e = {.pid = pid, .changes = changes, .event_ns = t};
	snprintf(e.what, sizeof e.what, "%s", what);
	snprintf(e.comm, sizeof e.comm, "%s", comm);
	if (verdict == GW_NFW_TAMPER) {
		tamper(&e);
		return;
	}
	if (!H.pending_check)
		H.suspect = e;
	H.pending_check = true;
}

/* Read every notification queued on s and hand each message to each();
 * lost ones (ENOBUFS: the queue overflowed) ask for a check. */
static void read_sock(struct mnl_socket *s, const char *lost,
		      void (*each)(const struct nlmsghdr *nlh, uint64_t t, void *arg), void *arg)
{
	char buf[16384];
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(s), buf, sizeof buf, MSG_DONTWAIT);
		uint64_t t = monotime_ns();
		if (n < 0 && errno == ENOBUFS) {
			suspect(GW_NFW_CHECK, lost, 0, "", 0, t);
			continue;
		}
		if (n <= 0)
			return;
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			each(nlh, t, arg);
	}
}

static void on_nft(const struct nlmsghdr *nlh, uint64_t t, void *arg)
{
	struct gw_nfwatch_txn *txn = arg;
	if (gw_nfwatch_nft(txn, nlh) != 1)
		return;
	suspect(txn->verdict, txn->what, txn->pid, txn->comm, txn->changes, t);
	gw_nfwatch_txn_reset(txn);
}

static void on_rt(const struct nlmsghdr *nlh, uint64_t t, void *arg)
{
	char what[GW_NFW_WHAT];
	int ifindex;
	int v = gw_nfwatch_rtnl(nlh, what, sizeof what, &ifindex);
	if (v > 0)
		suspect(v, what, 0, "", 1, t);
}

/* ------------------------------------------------------------ requests -- */

/* The daemon asks for generation gen.  A bootstrap that refuses (its
 * ruleset is gone: someone removed it while no daemon watched) is a tamper
 * too: repaired with the new generation. */
static int32_t request(uint32_t gen)
{
	if (gen & ~GEN_MASK)
		return -EINVAL;
	int r = nf_generation(gen);
	drain(); /* its own notifications */
	uint32_t old = H.gen;
	H.gen = gen;
	H.have_gen = true;
	char why[200] = "";
	if (r == 0 && (!H.o.watch || set_reference(why, sizeof why) == 0))
		return 0;
	if (!H.o.watch) {
		H.gen = old;
		return r;
	}
	struct gw_nfhelp_event e = {.event_ns = monotime_ns()};
	snprintf(e.what, sizeof e.what, "generation %u: %s", gen, r < 0 ? "refused by the bootstrap" : why);
	tamper(&e);
	return H.closed_ns ? -EIO : 0;
}

/* A helper of the previous daemon may still be fencing (it outlives its
 * daemon on purpose).  Each helper holds RUN_DIR/nfhelper.lock for its whole
 * life, so the new one waits for the old fence to be in place before it
 * moves the generation on; otherwise the late fence could land after the new
 * generation and stop every flow of the new run.  Bounded: after 30 s the
 * helper goes on without the lock (and says so). */
static void take_turn(void)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/nfhelper.lock", H.o.run_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		hlog(SVC_WARNING, _("warning: %s: %s"), path, strerror(errno));
		return;
	}
	for (int i = 0; i < 600; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return; /* held until the helper exits */
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
	hlog(SVC_WARNING, _("warning: %s still locked after 30 s; going on"), path);
}

/* When the daemon's end of the socket closes -- a clean stop, an error exit
 * or kill -9, the kernel closes it in every case -- the helper *fences*:
 * "NETFILTER fence" makes the bootstrap accept a generation no flow carries,
 * so established flows stop crossing too until the next daemon moves the
 * generation on and decides them again.  That is why it has no parent-death
 * signal and ignores the stop signals (systemd signals the whole cgroup):
 * it must outlive the daemon long enough to fence. */
static void helper_main(void)
{
	prctl(PR_SET_NAME, "gatewayd-nfhelp", 0, 0, 0);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	take_turn();
	snprintf(H.backstop, sizeof H.backstop, "%s/backstop.nft", H.o.run_dir);
	if (H.o.watch) {
		static const unsigned nft_groups[] = {NFNLGRP_NFTABLES};
		static const unsigned rt_groups[] = {RTNLGRP_TC, RTNLGRP_LINK};
		H.out = malloc(OUT_MAX);
		H.ref = malloc(OUT_MAX);
		int r = !H.out || !H.ref ? -ENOMEM : nl_open(NETLINK_NETFILTER, nft_groups, 1, &H.nft);
		if (r == 0)
			r = nl_open(NETLINK_ROUTE, rt_groups, 2, &H.rt);
		if (r < 0) {
			hlog(SVC_ERR, _("cannot watch netfilter (%s): fencing only"), strerror(-r));
			H.o.watch = false;
		}
	}
	struct gw_nfwatch_txn txn;
	gw_nfwatch_txn_reset(&txn);
	for (;;) {
		int timeout = -1;
		uint64_t now = monotime_ns();
		if (H.pending_check)
			timeout = H.next_check_ns > now ? (int)((H.next_check_ns - now) / 1000000 + 1) : 0;
		if (H.pending_repair) {
			int t = H.repair_at_ns > now ? (int)((H.repair_at_ns - now) / 1000000 + 1) : 0;
			timeout = timeout < 0 || t < timeout ? t : timeout;
		}
		struct pollfd p[3] = {{.fd = H.req, .events = POLLIN},
				      {.fd = H.nft ? mnl_socket_get_fd(H.nft) : -1, .events = POLLIN},
				      {.fd = H.rt ? mnl_socket_get_fd(H.rt) : -1, .events = POLLIN}};
		int pr = poll(p, 3, timeout);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr > 0 && (p[1].revents & POLLIN))
			read_sock(H.nft, "nf_tables notifications lost (ENOBUFS)", on_nft, &txn);
		if (pr > 0 && (p[2].revents & POLLIN))
			read_sock(H.rt, "rtnetlink notifications lost (ENOBUFS)", on_rt, NULL);
		if (pr > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			uint32_t gen;
			ssize_t n = recv(H.req, &gen, sizeof gen, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				break;
			if (n == (ssize_t)sizeof gen) {
				int32_t r = request(gen);
				if (send(H.req, &r, sizeof r, MSG_NOSIGNAL) != (ssize_t)sizeof r)
					break;
			}
		}
		now = monotime_ns();
		if (H.pending_repair && now >= H.repair_at_ns)
			repair();
		else if (H.pending_check && now >= H.next_check_ns && !H.pending_repair)
			run_check();
	}
	int r = nf_run(false, (const char *const[]){H.o.netfilter, "fence", NULL});
	/* Fenced, with our rules and the gate in place (no repair pending), the
	 * queue without a reader and the gate drop everything: forwarding goes
	 * back to what it was for the next daemon.  With a repair pending the
	 * state is broken: forwarding stays closed ("sysctl --system" reopens). */
	if (H.pending_repair && H.closed_ns)
		hlog(SVC_ERR, _("the daemon is gone while a repair is pending: forwarding stays closed"));
	else
		forwarding_reopen();
	if (r < 0)
		hlog(SVC_CRIT,
		     _("the daemon is gone and fencing FAILED (%s): established flows of its generation still cross"),
		     r == -EIO ? "exit status" : strerror(-r));
	else
		hlog(SVC_WARNING, _("the daemon is gone: fenced, nothing crosses until it is back"));
	_exit(r < 0 ? 1 : 0);
}

int gw_nfhelp_start(const struct gw_nfhelp_opts *o, int *ret_req, int *ret_events)
{
	int sv[2], ev[2] = {-1, -1};
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (o->watch && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ev) < 0) {
		int e = -errno;
		close(sv[0]);
		close(sv[1]);
		return e;
	}
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(sv[0]);
		close(sv[1]);
		if (ev[0] >= 0) {
			close(ev[0]);
			close(ev[1]);
		}
		return e;
	}
	if (pid == 0) {
		close(sv[0]);
		if (ev[0] >= 0)
			close(ev[0]);
		H.o = *o;
		H.req = sv[1];
		H.ev = ev[1];
		helper_main();
		_exit(0);
	}
	close(sv[1]);
	if (ev[1] >= 0)
		close(ev[1]);
	*ret_req = sv[0];
	*ret_events = ev[0];
	return 0;
}
