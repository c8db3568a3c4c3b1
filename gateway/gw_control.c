/* gw_control: the control socket (see gw_control.h).
 *
 * The status is read while the queue threads run: their counters are
 * atomics with one writer each, the table in use cannot be freed under us
 * (only this thread swaps it), and the hit counts may be one receive batch
 * behind.  Nothing here can stop or slow a queue thread. */
#include "common/i18n.h"
#include "common/svc.h"
#include "gateway/gw_control.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/audit/audit.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_daemon.h"
#include "gateway/gw_reload.h"
#include "gateway/gw_worker.h"

#define GW_CTL_MAX_CLIENT_LINE 256
#define GW_CTL_MAX_GROUPS 256 /* of a peer; more: refused (fail closed) */

static void sum_stats(struct gw_stats *tot, const struct gw_stats *s)
{
	const _Atomic uint64_t *a = (const _Atomic uint64_t *)s;
	_Atomic uint64_t *t = (_Atomic uint64_t *)tot;
	for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++)
		atomic_store(&t[i], atomic_load(&t[i]) + atomic_load(&a[i]));
}

static void put_stats(FILE *out, const struct gw_stats *s)
{
	fprintf(out,
		"\"packets\":%" PRIu64 ",\"new_flows\":%" PRIu64 ",\"rechecked\":%" PRIu64 ",\"allowed\":%" PRIu64
		",\"denied\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"revoked\":%" PRIu64 ",\"parse_errors\":%" PRIu64
		",\"no_zone\":%" PRIu64 ",\"enobufs\":%" PRIu64 ",\"recv_errors\":%" PRIu64
		",\"verdict_errors\":%" PRIu64 ",\"verdict_msgs\":%" PRIu64 ",\"ct_deletes\":%" PRIu64
		",\"ct_delete_errors\":%" PRIu64 ",\"audit_full\":%" PRIu64 ",\"related_dropped\":%" PRIu64
		",\"folded\":%" PRIu64 ",\"captured\":%" PRIu64 ",\"capture_errors\":%" PRIu64,
		atomic_load(&s->packets), atomic_load(&s->new_flows), atomic_load(&s->rechecked),
		atomic_load(&s->allowed), atomic_load(&s->denied), atomic_load(&s->rejected), atomic_load(&s->revoked),
		atomic_load(&s->parse_errors), atomic_load(&s->no_zone), atomic_load(&s->enobufs),
		atomic_load(&s->recv_errors), atomic_load(&s->verdict_errors), atomic_load(&s->verdict_msgs),
		atomic_load(&s->ct_deletes), atomic_load(&s->ct_delete_errors), atomic_load(&s->audit_full),
		atomic_load(&s->related_dropped), atomic_load(&s->folded), atomic_load(&s->captured),
		atomic_load(&s->capture_errors));
}

static void put_hex(FILE *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", b[i]);
}

/* JSON string (names of rules and zones are UTF-8 without controls). */
static void put_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void ctl_status(struct gw_daemon *d, FILE *out, bool counters)
{
	struct gw_ctx *c = atomic_load(&d->ctx); /* main thread is the only writer */
	struct gw_stats tot = {0};
	fprintf(out, "{\"pid\":%ld,\"uptime_s\":%ld,\"queues\":%u,\"queue_base\":%u", (long)getpid(),
		(long)(time(NULL) - d->started), d->cfg.nqueues, d->cfg.queue_base);
	if (c) {
		fprintf(out, ",\"table_gen\":%u,\"table\":", c->gen);
		put_str(out, d->cfg.table_path);
		fprintf(out, ",\"policy_name\":");
		put_str(out, c->info.policy_name);
		fprintf(out, ",\"policy_version\":");
		put_str(out, c->info.policy_version);
		fprintf(out, ",\"policy_sha256\":\"");
		put_hex(out, c->info.policy_sha256, 32);
		fprintf(out, "\",\"table_sha256\":\"");
		put_hex(out, c->info.file_sha256, 32);
		fprintf(out, "\",\"rules\":%u", c->nrules);
	}
	fprintf(out,
		",\"reloads\":%" PRIu64 ",\"reload_failures\":%" PRIu64 ",\"ctl_refused\":%" PRIu64
		",\"last_reload_error\":",
		d->reloads, d->reload_failures, d->ctl_refused);
	put_str(out, d->last_reload_error);
	fprintf(out,
		",\"netfilter\":{\"watch\":%s,\"tampers\":%" PRIu64 ",\"repairs\":%" PRIu64
		",\"repair_failures\":%" PRIu64 ",\"forwarding_closed\":%s,\"last_tamper\":",
		d->priv.events >= 0 ? "true" : "false", d->priv.tampers, d->priv.repairs, d->priv.repair_failures,
		d->priv.forwarding_closed ? "true" : "false");
	put_str(out, d->priv.last_what);
	fprintf(out, ",\"last_tamper_comm\":");
	put_str(out, d->priv.last_comm);
	fprintf(out, ",\"last_tamper_pid\":%u,\"last_detect_ms\":%.3f,\"last_repair_ms\":%.3f}", d->priv.last_pid,
		d->priv.last_detect_ms, d->priv.last_repair_ms);
	for (unsigned i = 0; i < d->cfg.nqueues; i++)
		sum_stats(&tot, &d->workers[i].st);
	fprintf(out, ",");
	put_stats(out, &tot);
	struct audit_stats as;
	audit_get_stats(d->audit, &as);
	fprintf(out, ",\"audit_dropped\":%" PRIu64 ",\"audit_written\":%" PRIu64, as.dropped, as.written);
	if (counters) {
		fprintf(out, ",\"per_queue\":[");
		for (unsigned i = 0; i < d->cfg.nqueues; i++) {
			fprintf(out, "%s{\"queue\":%u,", i ? "," : "", i + d->cfg.queue_base);
			put_stats(out, &d->workers[i].st);
			fprintf(out, ",\"ifcache_hits\":%" PRIu64 ",\"ifcache_misses\":%" PRIu64 "}",
				d->workers[i].ifc.hits, d->workers[i].ifc.misses);
		}
		fprintf(out, "],\"per_rule\":[");
		bool first = true;
		for (uint32_t r = 0; c && r <= c->nrules; r++) {
			uint64_t h = atomic_load(&c->rule_hits[r]);
			if (!h)
				continue;
			struct table_rule_info ri = {0};
			bool has = r < c->nrules && table_rule(c->t, r, &ri);
			fprintf(out, "%s{\"rule_id\":%u,\"name\":", first ? "" : ",", has ? ri.id : 0);
			put_str(out, has ? ri.name : "(zone default)");
			fprintf(out, ",\"hits\":%" PRIu64 "}", h);
			first = false;
		}
		fprintf(out, "],\"per_zone_pair\":[");
		first = true;
		for (unsigned a = 0; c && a < c->info.nzones; a++)
			for (unsigned b = 0; b < c->info.nzones; b++) {
				uint64_t h = atomic_load(&c->pair_hits[a][b]);
				if (!h)
					continue;
				fprintf(out, "%s{\"from\":", first ? "" : ",");
				put_str(out, gw_ctx_zone_name(c, (int)a));
				fprintf(out, ",\"to\":");
				put_str(out, gw_ctx_zone_name(c, (int)b));
				fprintf(out, ",\"flows\":%" PRIu64 "}", h);
				first = false;
			}
		/* queue_number portid queue_total copy_mode copy_range queue_dropped user_dropped id_sequence 1 */
		fprintf(out, "],\"kernel_queues\":[");
		FILE *k = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
		first = true;
		unsigned qn, total, mode, range, qdrop, udrop, idseq, one;
		unsigned long portid;
		while (k &&
		       fscanf(k, "%u %lu %u %u %u %u %u %u %u", &qn, &portid, &total, &mode, &range, &qdrop, &udrop,
			      &idseq, &one) == 9) {
			if (qn < d->cfg.queue_base || qn >= d->cfg.queue_base + d->cfg.nqueues)
				continue;
			fprintf(out,
				"%s{\"queue\":%u,\"queued\":%u,\"queue_dropped\":%u,\"user_dropped\":%u,\"id_sequence\":%u}",
				first ? "" : ",", qn, total, qdrop, udrop, idseq);
			first = false;
		}
		if (k)
			fclose(k);
		fprintf(out, "]");
	}
	fprintf(out, "}\n");
}

/* Who may use the control socket: root, the daemon's own user and the
 * members of the control group (primary group, or in the group list of the
 * peer's user).  The file mode (0660, group = control group) is the first
 * gate; this one holds even if the mode or the directory is loosened by
 * mistake.  Credentials are the kernel's (SO_PEERCRED, taken at connect). */
static bool ctl_peer_allowed(const struct gw_daemon *d, int fd, struct ucred *cr)
{
	socklen_t l = sizeof *cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &l) < 0 || l != sizeof *cr)
		return false;
	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (!d->cfg.ctl_group)
		return false;
	if (cr->gid == d->cfg.ctl_gid)
		return true;
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(cr->uid, &pw, buf, sizeof buf, &res) != 0 || !res)
		return false;
	gid_t groups[GW_CTL_MAX_GROUPS];
	int n = GW_CTL_MAX_GROUPS;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == d->cfg.ctl_gid)
			return true;
	return false;
}

static void ctl_send_all(int fd, const char *text, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t w = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void gw_control_serve(struct gw_daemon *d, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char line[GW_CTL_MAX_CLIENT_LINE];
	ssize_t n = recv(fd, line, sizeof line - 1, 0);
	if (n <= 0) {
		close(fd);
		return;
	}
	/* Checked after the request is read: closing a Unix socket with unread
	 * data resets it, and the client would never see why. */
	struct ucred cr = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	if (!ctl_peer_allowed(d, fd, &cr)) {
		char msg[256];
		int len =
			snprintf(msg, sizeof msg,
				 "{\"error\":\"permission denied: uid %u is not root, the daemon's user or a member of "
				 "group %s\"}\n",
				 (unsigned)cr.uid, d->cfg.ctl_group ? d->cfg.ctl_group : "(none)");
		ctl_send_all(fd, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
		close(fd);
		/* logged at 1, 2, 4, 8, ... refusals: a local user cannot fill the log */
		uint64_t nref = ++d->ctl_refused;
		if ((nref & (nref - 1)) == 0)
			gw_daemon_log(SVC_NOTICE,
				      _("control socket: refused uid %u gid %u pid %d (%" PRIu64 " refused so far)"),
				      (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid, d->ctl_refused);
		return;
	}
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		close(fd);
		return;
	}
	if (!strcmp(line, "status")) {
		ctl_status(d, out, false);
	} else if (!strcmp(line, "counters")) {
		ctl_status(d, out, true);
	} else if (!strcmp(line, "reload")) {
		char why[512] = "";
		if (gw_reload_table(d, why, sizeof why) == 0) {
			fprintf(out, "{\"result\":\"ok\",\"table_gen\":%u}\n", atomic_load(&d->ctx)->gen);
		} else {
			fprintf(out, "{\"result\":\"refused\",\"why\":");
			put_str(out, why);
			fprintf(out, "}\n");
		}
	} else {
		fprintf(out, "{\"error\":\"unknown command (status, counters, reload)\"}\n");
	}
	fclose(out);
	ctl_send_all(fd, text, len);
	free(text);
	close(fd);
}

int gw_control_listen(struct gw_daemon *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (snprintf(d->ctl_path, sizeof d->ctl_path, "%s/gatewayd.sock", d->cfg.run_dir) >= (int)sizeof d->ctl_path)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, d->ctl_path, sizeof sa.sun_path);
	unlink(d->ctl_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0117); /* owner and the control group only */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0 || listen(fd, 8) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* owner: the daemon's user (root without --user); group: the control group */
	if (chown(d->ctl_path, d->cfg.user ? d->cfg.uid : (uid_t)-1, d->cfg.ctl_group ? d->cfg.ctl_gid : (gid_t)-1) < 0)
		gw_daemon_log(SVC_WARNING, _("warning: chown %s: %s (the socket keeps the daemon's group)"),
			      d->ctl_path, strerror(errno));
	return fd;
}

int gw_control_client(const char *path, const char *cmd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, _("sekisho-gatewayd ctl: %s: socket path too long\n"), path);
		return 2;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "sekisho-gatewayd ctl: %s: %s\n", path, strerror(errno));
		return 2;
	}
	char line[64];
	snprintf(line, sizeof line, "%s\n", cmd);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0)
		return 2;
	char buf[4096];
	ssize_t n;
	bool refused = false;
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		if (memmem(buf, (size_t)n, "\"refused\"", 9) || memmem(buf, (size_t)n, "\"error\"", 7))
			refused = true;
	}
	close(fd);
	return refused ? 1 : 0;
}
