/* cmd_forward: `sekisho-logexport forward` -- send a chain to a syslog
 * collector (RFC 5424 over TLS, RFC 5425, with its octet-counting framing;
 * plain TCP, RFC 6587 octet counting, only with --plain and never to port
 * 6514, the port of syslog over TLS), every record once and in order,
 * resuming where the state file says.
 *
 * Contract:
 *  - Records are read through the verifying iterator; only records that
 *    verify and continue the chain are sent.  At a break forwarding stops
 *    (exit 1) unless --allow-broken: then authentic records out of place
 *    are sent with verify="STATUS" in their structured data, and every
 *    other line becomes a notice message (MSGID chain.broken), never a
 *    record.
 *  - Messages go out in batches; after each batch the collector's TCP
 *    stack must acknowledge every byte (lx_net_wait_acked) before the
 *    state (seq, mac, file, offset of the last record) is written
 *    atomically.  A restart resends at most the one batch whose
 *    acknowledgement it did not see (plain TCP syslog has no application
 *    acknowledgement; the seq and mac in each message let a SIEM drop such
 *    a duplicate).  SIGTERM/SIGINT finish the batch in flight, save the
 *    state and exit 0: then nothing is sent twice.
 *  - Connection failures are retried with exponential backoff (0.5 s
 *    doubling to 30 s), at most --retries times in a row, then exit 2.
 *  - --follow polls the directory (--interval) until SIGTERM; a pass only
 *    runs when a file's size or the listing changed.  Each pass starts at
 *    the file holding the last record sent.
 *  - Under systemd (sekisho-logexport@.service, Type=notify; docs/
 *    operations.md, "Logs and watchdog"): READY=1 once the state is read
 *    and, with --follow, the first connection is made or its retries
 *    began; STATUS= says the connection's state, the records sent and the
 *    last acknowledged seq; WATCHDOG=1 comes from the loop (each record,
 *    each batch, every 100 ms of a wait).  No call blocks longer than
 *    --timeout, so WatchdogSec= must exceed it (the unit: 120 s against
 *    the default 30 s).  Its lines reach the journal with their priority:
 *    failures err, retries and breaks warning, the summary notice. */
#include "cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/audit/audit_record.h"
#include "common/audit/audit_verify.h"
#include "common/i18n.h"
#include "common/monotime.h"
#include "common/strbuf.h"
#include "common/svc.h"
#include "common/xalloc.h"
#include "tools/logexport/lx_cli.h"
#include "tools/logexport/lx_json.h"
#include "tools/logexport/lx_net.h"
#include "tools/logexport/lx_state.h"
#include "tools/logexport/lx_syslog.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define BATCH_BYTES_MAX (256u * 1024)

static volatile sig_atomic_t stop_requested;

/* the watchdog: WatchdogSec= (us, 0 none) and the last ping (ms) */
static uint64_t wd_usec;
static int64_t wd_last_ms;

/* the loop is alive: WATCHDOG=1, at most twice per interval */
static void alive(void)
{
	if (!wd_usec)
		return;
	int64_t now = monotime_ms();
	if (now - wd_last_ms >= (int64_t)(wd_usec / 4000)) {
		wd_last_ms = now;
		svc_watchdog();
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-logexport forward --to HOST:PORT [--key FILE] [--state FILE] [--follow]\n"
		"          [--interval SEC] [--allow-broken] [--facility N] [--batch N] [--rate N]\n"
		"          [--retries N] [--timeout SEC] [--ca FILE] [--server-name NAME]\n"
		"          [--client-cert FILE --client-key FILE] [--plain] DIR\n"
		"  Send the chain in DIR to a syslog collector over TLS (RFC 5425: RFC 5424\n"
		"  messages, octet counting).  The collector's certificate must chain to --ca\n"
		"  (default: the system's CAs) and carry --server-name (default: the host of\n"
		"  --to).  --plain sends cleartext TCP instead (refused to port 6514).\n"
		"  --state FILE remembers the last record the collector\n"
		"  acknowledged, so a rerun continues there.  --follow keeps watching for new\n"
		"  records until SIGTERM.  Stops at a break in the chain unless --allow-broken.\n"),
	      f);
}

struct fwd {
	/* options */
	const char *dir, *to, *statepath;
	char host[256], port[16];
	bool follow, allow_broken;
	int facility;
	uint64_t batch, rate, retries, interval_ms, timeout_ms;
	const struct audit_key *key;
	/* connection */
	struct lx_conn conn;
	void *tls; /* NULL with --plain */
	const char *server_name;
	/* position: the last record acknowledged (and saved) */
	struct lx_state st;
	bool have_pos;
	/* the batch being built */
	struct strbuf buf;
	uint64_t nbuf;
	struct lx_state pend; /* position after the batch */
	bool pend_pos;
	/* counters */
	uint64_t sent, notices;
	uint64_t first_seq, last_seq;
	int64_t rate_start_ms;
	uint64_t rate_count;
	int64_t status_ms; /* the last STATUS= */
};

enum link_state { LINK_CONNECTED, LINK_RETRYING, LINK_DOWN };

/* STATUS=: the connection, the records sent, the last acknowledged seq;
 * at most once a second unless the connection's state changed. */
static void fwd_status(struct fwd *w, enum link_state ls, bool force)
{
	int64_t now = monotime_ms();
	if (!force && now - w->status_ms < 1000)
		return;
	w->status_ms = now;
	char buf[400];
	char head[300];
	if (ls == LINK_CONNECTED)
		snprintf(head, sizeof head, _("connected to %s"), w->to);
	else if (ls == LINK_RETRYING)
		snprintf(head, sizeof head, _("retrying %s"), w->to);
	else
		snprintf(head, sizeof head, _("not connected to %s"), w->to);
	snprintf(buf, sizeof buf, _("%s; %" PRIu64 " records sent since start, last acknowledged seq %" PRIu64), head,
		 w->sent, w->st.seq);
	svc_status(buf);
}

/* Sleep up to ms, waking early for a stop request when interruptible. */
static void nap(int64_t ms, bool interruptible)
{
	int64_t end = monotime_ms() + ms;
	while (!(interruptible && stop_requested)) {
		alive();
		int64_t left = end - monotime_ms();
		if (left <= 0)
			return;
		if (left > 100)
			left = 100;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static void disconnect(struct fwd *w)
{
	lx_net_close(&w->conn);
}

/* Send the batch and wait for its acknowledgement, reconnecting with
 * backoff; then save the state.  0, or LX_EXIT_USAGE after too many
 * failures in a row. */
static int flush_batch(struct fwd *w)
{
	if (w->nbuf == 0 && !w->pend_pos)
		return 0;
	int64_t backoff = BACKOFF_FIRST_MS;
	uint64_t failures = 0;
	char why[512];
	while (w->buf.len) {
		int r;
		if (w->conn.fd < 0) {
			why[0] = '\0';
			r = lx_net_open(&w->conn, w->host, w->port, w->tls, w->server_name, (int)w->timeout_ms, why,
					sizeof why);
		} else {
			r = 0;
		}
		if (r == 0) {
			r = lx_net_send_all(&w->conn, w->buf.buf, w->buf.len);
			if (r == 0)
				r = lx_net_wait_acked(&w->conn, (int)w->timeout_ms);
			if (r < 0)
				snprintf(why, sizeof why, "sending to %s: %s", w->to, strerror(-r));
		}
		alive();
		if (r == 0)
			break;
		disconnect(w);
		if (++failures > w->retries) {
			svc_log(SVC_ERR, LX_PROG, _("%s; giving up after %" PRIu64 " attempts"), why, failures);
			fwd_status(w, LINK_DOWN, true);
			return LX_EXIT_USAGE;
		}
		svc_log(SVC_WARNING, LX_PROG, _("%s; retrying in %.1f s"), why, (double)backoff / 1000);
		fwd_status(w, LINK_RETRYING, true);
		/* a stop request does not cut the backoff short: the batch
		 * must still be delivered or abandoned cleanly */
		nap(backoff, false);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	strbuf_reset(&w->buf);
	w->nbuf = 0;
	if (w->pend_pos) {
		w->st = w->pend;
		w->have_pos = true;
		w->pend_pos = false;
		if (w->statepath) {
			char why2[512] = "";
			if (lx_state_save(w->statepath, &w->st, why2, sizeof why2) < 0) {
				svc_log(SVC_ERR, LX_PROG, "%s", why2);
				return LX_EXIT_USAGE;
			}
		}
	}
	fwd_status(w, LINK_CONNECTED, failures > 0);
	return 0;
}

/* --rate: after each batch, sleep until the records sent so far are due. */
static void pace(struct fwd *w)
{
	if (!w->rate)
		return;
	int64_t due = w->rate_start_ms + (int64_t)(w->rate_count * 1000 / w->rate);
	int64_t now = monotime_ms();
	if (due > now)
		nap(due - now, true);
}

static int add_message(struct fwd *w, const struct lx_syslog_msg *m)
{
	lx_syslog_frame(&w->buf, m);
	w->nbuf++;
	if (w->rate_count++ == 0)
		w->rate_start_ms = monotime_ms();
	if (w->nbuf >= w->batch || w->buf.len >= BATCH_BYTES_MAX) {
		int r = flush_batch(w);
		if (r)
			return r;
		pace(w);
	}
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void pend_update(struct fwd *w, const struct audit_verify_record *v, const char *mac)
{
	if (!w->pend_pos) {
		w->pend = w->st;
		w->pend_pos = true;
	}
	w->pend.seq = v->seq;
	snprintf(w->pend.mac, sizeof w->pend.mac, "%s", mac ? mac : "");
	snprintf(w->pend.file, sizeof w->pend.file, "%s", base_name(v->path));
	w->pend.offset = v->offset;
	w->pend.sent++;
}

static int send_record(struct fwd *w, const struct audit_verify_record *v, const char *verify)
{
	struct json_object *d = lx_json_data(v->obj);
	struct json_object *removed = lx_json_get(d, "removed");
	bool has_removed =
		removed && json_object_is_type(removed, json_type_array) && json_object_array_length(removed) > 0;
	bool synced = true;
	lx_json_bool(d, "synchronized", &synced);
	const char *mac = lx_json_str(v->obj, "mac");
	struct lx_syslog_msg m = {
		.facility = w->facility,
		.severity = verify ? 4 : lx_syslog_severity(v->event, lx_json_str(d, "action"), has_removed, !synced),
		.ts = v->ts,
		.host = lx_json_str(v->obj, "host"),
		.component = lx_json_str(v->obj, "component"),
		.msgid = v->event,
		.seq = v->seq,
		.mac = mac,
		.verify = verify,
		.msg = v->line,
		.msglen = v->len,
	};
	alive();
	pend_update(w, v, mac);
	if (!w->first_seq)
		w->first_seq = v->seq;
	w->last_seq = v->seq;
	w->sent++;
	return add_message(w, &m);
}

/* What is kept of a line after the iterator moved on. */
struct held {
	bool set;
	char *path;
	uint64_t line_no, offset, seq;
	enum audit_rec_status status;
	bool mac_ok;
};

/* A notice about a line that is not sent as a record (--allow-broken). */
static int send_notice(struct fwd *w, const struct held *h)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "sekisho_forward", json_object_new_string("chain-broken"));
	json_object_object_add(o, "status", json_object_new_string(audit_verify_rec_status_name(h->status)));
	json_object_object_add(o, "mac_ok", json_object_new_boolean(h->mac_ok));
	json_object_object_add(o, "dir", json_object_new_string(w->dir));
	json_object_object_add(o, "file", json_object_new_string(base_name(h->path)));
	json_object_object_add(o, "line", json_object_new_uint64(h->line_no));
	json_object_object_add(o, "offset", json_object_new_uint64(h->offset));
	json_object_object_add(o, "seq", json_object_new_uint64(h->seq));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	struct lx_syslog_msg m = {
		.facility = w->facility,
		.severity = 4,
		.host = host,
		.component = "logexport",
		.msgid = "chain.broken",
		.verify = audit_verify_rec_status_name(h->status),
		.msg = text,
		.msglen = strlen(text),
	};
	w->notices++;
	int r = add_message(w, &m);
	json_object_put(o);
	return r;
}

static void hold(struct held *h, const struct audit_verify_record *v)
{
	free(h->path);
	*h = (struct held){
		.set = true,
		.path = xstrdup(v->path),
		.line_no = v->line_no,
		.offset = v->offset,
		.seq = v->seq,
		.status = v->status,
		.mac_ok = v->mac_ok,
	};
}

static void unhold(struct held *h)
{
	free(h->path);
	*h = (struct held){0};
}

static bool explained(const struct audit_verify_iter *it, const struct held *h)
{
	const struct audit_verify_result *res = audit_verify_result(it);
	for (size_t i = 0; res && i < res->nbreaks; i++) {
		const struct audit_break *b = &res->breaks[i];
		if (b->explained && b->line == h->line_no && b->file < res->nfiles &&
		    strcmp(res->files[b->file].path, h->path) == 0)
			return true;
	}
	return false;
}

/* Print the chain's breaks so far (the verifier's words) and where we stopped. */
static void print_stop(const struct fwd *w, const struct audit_verify_iter *it, const struct held *h)
{
	const struct audit_verify_result *res = audit_verify_result(it);
	size_t shown = 0;
	for (size_t i = 0; res && i < res->nbreaks && shown < 20; i++) {
		if (res->breaks[i].explained)
			continue;
		struct strbuf t = STRBUF_INIT;
		lx_cli_break_text(&t, res, &res->breaks[i], false);
		svc_log(SVC_ERR, LX_PROG, _("%s: chain broken: %s"), w->dir, strbuf_str(&t));
		strbuf_free(&t);
		shown++;
	}
	svc_log(SVC_ERR, LX_PROG,
		_("%s: forwarding stopped at %s:%" PRIu64 " (offset %" PRIu64 ", %s); --allow-broken forwards past it"),
		w->dir, base_name(h->path), h->line_no, h->offset, audit_verify_rec_status_name(h->status));
}

/* A line that is not a plain verified record. */
static int broken_line(struct fwd *w, const struct audit_verify_iter *it, const struct audit_verify_record *v,
		       const struct held *h)
{
	if (!w->allow_broken) {
		int r = flush_batch(w);
		if (r)
			return r;
		print_stop(w, it, h);
		return LX_EXIT_BROKEN;
	}
	if (v && v->mac_ok && v->obj && (v->status == AUDIT_REC_AFTER_GAP || v->status == AUDIT_REC_REORDERED))
		return send_record(w, v, audit_verify_rec_status_name(v->status));
	return send_notice(w, h);
}

static char **slice_from(const char *dir, const char *file, size_t *ret_n)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	char **names = NULL;
	size_t n = 0;
	int r = audit_record_list(dfd, &names, &n);
	close(dfd);
	if (r < 0)
		return NULL;
	size_t start = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], file) == 0)
			start = i;
	char **paths = NULL;
	if (start != SIZE_MAX) {
		paths = xcalloc(n - start, sizeof *paths);
		for (size_t i = start; i < n; i++)
			paths[i - start] = xasprintf("%s/%s", dir, names[i]);
		*ret_n = n - start;
	}
	audit_record_list_free(names, n);
	return paths;
}

enum seek { SEEK_NONE, SEEK_POSITION, SEEK_SEQ };

/* One pass over the chain from the last record sent.  0 at the end, or an
 * exit code. */
static int pass(struct fwd *w, enum seek seek)
{
	struct audit_verify_opts o = {.key = w->key};
	char **paths = NULL;
	size_t npaths = 0;
	if (seek == SEEK_POSITION) {
		paths = slice_from(w->dir, w->st.file, &npaths);
		if (!paths)
			return pass(w, SEEK_SEQ);
		o.files = (const char *const *)paths;
		o.nfiles = npaths;
		o.flags = AUDIT_VERIFY_PARTIAL_HEAD;
	} else {
		o.dir = w->dir;
	}
	struct audit_verify_iter *it = NULL;
	int r = audit_verify_open(&o, &it);
	if (r < 0) {
		svc_log(SVC_ERR, LX_PROG, "%s: %s", w->dir, strerror(-r));
		r = LX_EXIT_USAGE;
		goto out;
	}
	bool seeking = seek != SEEK_NONE;
	struct held torn = {0}, cur = {0};
	struct audit_verify_record v;
	int e;
	while ((e = audit_verify_next(it, &v)) > 0) {
		if (seeking) {
			const char *mac = lx_json_str(v.obj, "mac");
			bool at = v.seq == w->st.seq && mac && strcmp(mac, w->st.mac) == 0 &&
				(seek == SEEK_SEQ ||
				 (strcmp(base_name(v.path), w->st.file) == 0 && v.offset == w->st.offset));
			if (at) {
				seeking = false;
				const struct audit_verify_result *res = audit_verify_result(it);
				for (size_t i = 0; res && i < res->nbreaks; i++)
					if (!res->breaks[i].explained) {
						svc_log(SVC_WARNING, LX_PROG,
							_("%s: the chain has breaks before the resume point (records already forwarded); run verify"),
							w->dir);
						break;
					}
			}
			continue;
		}
		if (stop_requested)
			break;
		if (torn.set) {
			/* a torn line followed by more lines: a crash the writer
			 * acknowledged, or a break */
			if (!explained(it, &torn) && (r = broken_line(w, it, NULL, &torn)) != 0)
				goto out_it;
			unhold(&torn);
		}
		if (v.status == AUDIT_REC_TRUNCATED) {
			hold(&torn, &v);
			continue;
		}
		if (v.status == AUDIT_REC_OK && v.mac_ok && v.obj) {
			if ((r = send_record(w, &v, NULL)) != 0)
				goto out_it;
			continue;
		}
		hold(&cur, &v);
		if ((r = broken_line(w, it, &v, &cur)) != 0)
			goto out_it;
	}
	if (e < 0) {
		svc_log(SVC_ERR, LX_PROG, "%s: %s", w->dir, strerror(-e));
		r = LX_EXIT_USAGE;
		goto out_it;
	}
	if (seeking && !stop_requested) {
		if (seek == SEEK_POSITION) {
			audit_verify_free(it);
			it = NULL;
			r = pass(w, SEEK_SEQ);
			goto out_it;
		}
		svc_log(SVC_ERR, LX_PROG,
			_("%s: the last record forwarded (seq %" PRIu64
			  " in %s) is no longer in the chain; run verify (remove the state file to forward everything again)"),
			w->dir, w->st.seq, w->st.file);
		r = LX_EXIT_BROKEN;
		goto out_it;
	}
	if (torn.set && !w->follow && !stop_requested)
		svc_log(SVC_WARNING, LX_PROG,
			_("%s: %s ends in an incomplete line (a write in progress, or a crash): not forwarded"), w->dir,
			base_name(torn.path));
	r = flush_batch(w);
out_it:
	unhold(&torn);
	unhold(&cur);
	audit_verify_free(it);
out:
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	return r;
}

/* A cheap signature of the directory: names, sizes and mtimes of its files. */
static uint64_t dir_signature(const char *dir)
{
	uint64_t h = 1469598103934665603ull;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "audit-", 6) != 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		uint64_t x = (uint64_t)st.st_size * 1099511628211ull ^ (uint64_t)st.st_mtim.tv_nsec ^
			(uint64_t)st.st_mtim.tv_sec << 20 ^ st.st_ino;
		for (const char *p = de->d_name; *p; p++)
			x = (x ^ (unsigned char)*p) * 1099511628211ull;
		h += x * 0x9e3779b97f4a7c15ull; /* order-independent */
	}
	closedir(d);
	return h;
}

static int forward(struct fwd *w)
{
	uint64_t sig = 0;
	int r = 0;
	for (;;) {
		uint64_t now_sig = dir_signature(w->dir);
		if (now_sig != sig || !w->follow) {
			sig = now_sig;
			r = pass(w, w->have_pos && w->st.seq ? SEEK_POSITION : SEEK_NONE);
			if (r)
				break;
		}
		if (!w->follow || stop_requested)
			break;
		nap((int64_t)w->interval_ms, true);
		if (stop_requested)
			break;
	}
	return r;
}

int cmd_forward_main(int argc, char **argv)
{
	enum {
		O_TO = 256,
		O_STATE,
		O_FOLLOW,
		O_INTERVAL,
		O_ALLOW,
		O_FACILITY,
		O_BATCH,
		O_RATE,
		O_RETRIES,
		O_TIMEOUT,
		O_CA,
		O_NAME,
		O_CCERT,
		O_CKEY,
		O_PLAIN,
	};
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"to", required_argument, NULL, O_TO},
		{"state", required_argument, NULL, O_STATE},
		{"follow", no_argument, NULL, O_FOLLOW},
		{"interval", required_argument, NULL, O_INTERVAL},
		{"allow-broken", no_argument, NULL, O_ALLOW},
		{"facility", required_argument, NULL, O_FACILITY},
		{"batch", required_argument, NULL, O_BATCH},
		{"rate", required_argument, NULL, O_RATE},
		{"retries", required_argument, NULL, O_RETRIES},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"ca", required_argument, NULL, O_CA},
		{"server-name", required_argument, NULL, O_NAME},
		{"client-cert", required_argument, NULL, O_CCERT},
		{"client-key", required_argument, NULL, O_CKEY},
		{"plain", no_argument, NULL, O_PLAIN},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct lx_tls_opts tls = {0};
	bool plain = false;
	struct fwd w = {
		.conn = LX_CONN_NONE,
		.facility = LX_SYSLOG_FACILITY_DEFAULT,
		.batch = 256,
		.retries = 8,
		.interval_ms = 1000,
		.timeout_ms = 30000,
	};
	const char *keypath = NULL;
	uint64_t v;
	int o;
	while ((o = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			keypath = optarg;
			break;
		case O_TO:
			w.to = optarg;
			break;
		case O_STATE:
			w.statepath = optarg;
			break;
		case O_FOLLOW:
			w.follow = true;
			break;
		case O_ALLOW:
			w.allow_broken = true;
			break;
		case O_INTERVAL:
			if (!lx_cli_uint("--interval", optarg, 1, 3600, &v))
				return LX_EXIT_USAGE;
			w.interval_ms = v * 1000;
			break;
		case O_FACILITY:
			if (!lx_cli_uint("--facility", optarg, 0, 23, &v))
				return LX_EXIT_USAGE;
			w.facility = (int)v;
			break;
		case O_BATCH:
			if (!lx_cli_uint("--batch", optarg, 1, 100000, &w.batch))
				return LX_EXIT_USAGE;
			break;
		case O_RATE:
			if (!lx_cli_uint("--rate", optarg, 0, 10000000, &w.rate))
				return LX_EXIT_USAGE;
			break;
		case O_RETRIES:
			if (!lx_cli_uint("--retries", optarg, 0, 1000000, &w.retries))
				return LX_EXIT_USAGE;
			break;
		case O_TIMEOUT:
			if (!lx_cli_uint("--timeout", optarg, 1, 3600, &v))
				return LX_EXIT_USAGE;
			w.timeout_ms = v * 1000;
			break;
		case O_CA:
			tls.ca = optarg;
			break;
		case O_NAME:
			tls.name = w.server_name = optarg;
			break;
		case O_CCERT:
			tls.cert = optarg;
			break;
		case O_CKEY:
			tls.key = optarg;
			break;
		case O_PLAIN:
			plain = true;
			break;
		case 'h':
			usage(stdout);
			return LX_EXIT_OK;
		default:
			usage(stderr);
			return LX_EXIT_USAGE;
		}
	}
	if (!w.to || argc - optind != 1) {
		usage(stderr);
		return LX_EXIT_USAGE;
	}
	if (lx_net_split(w.to, w.host, w.port) < 0) {
		lx_cli_err("--to: expected HOST:PORT or [IPV6]:PORT");
		return LX_EXIT_USAGE;
	}
	if (plain && (tls.ca || tls.name || tls.cert || tls.key)) {
		lx_cli_err(
			"--plain sends cleartext: --ca, --server-name, --client-cert and --client-key are TLS options");
		return LX_EXIT_USAGE;
	}
	if (plain && strcmp(w.port, "6514") == 0) {
		lx_cli_err("--plain to port 6514 refused: 6514 is syslog over TLS (RFC 5425); a cleartext collector "
			   "must listen elsewhere (514 is customary)");
		return LX_EXIT_USAGE;
	}
	char real[PATH_MAX];
	if (!realpath(argv[optind], real)) {
		lx_cli_err("%s: %s", argv[optind], strerror(errno));
		return LX_EXIT_USAGE;
	}
	w.dir = real;
	if (w.statepath) {
		char why[512] = "";
		int r = lx_state_load(w.statepath, &w.st, why, sizeof why);
		if (r < 0 && r != -ENOENT) {
			svc_log(SVC_ERR, LX_PROG, "%s", why);
			return LX_EXIT_USAGE;
		}
		if (r == 0 && strcmp(w.st.dir, real) != 0) {
			svc_log(SVC_ERR, LX_PROG, _("%s belongs to %s, not %s: use one state file per directory"),
				w.statepath, w.st.dir, real);
			return LX_EXIT_USAGE;
		}
		w.have_pos = r == 0 && w.st.seq;
	}
	snprintf(w.st.dir, sizeof w.st.dir, "%s", real);
	snprintf(w.st.to, sizeof w.st.to, "%s", w.to);
	if (!w.statepath)
		svc_log(SVC_WARNING, LX_PROG,
			_("no --state: forwarding from the start of the chain, and a rerun will start there again"));

	struct audit_key key;
	if (!lx_cli_load_key(keypath, &key))
		return LX_EXIT_USAGE;
	w.key = &key;
	if (!plain) {
		char why[512] = "";
		if (lx_tls_new(&tls, &w.tls, why, sizeof why) < 0) {
			svc_log(SVC_ERR, LX_PROG, "%s", why);
			audit_key_wipe(&key);
			return LX_EXIT_USAGE;
		}
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	wd_usec = svc_watchdog_usec();
	/* a daemon (--follow) shows its connection from the start: connect
	 * now, or say it retries (flush_batch connects again when it must) */
	enum link_state ls = LINK_DOWN;
	if (w.follow) {
		char why[512] = "";
		if (lx_net_open(&w.conn, w.host, w.port, w.tls, w.server_name, (int)w.timeout_ms, why, sizeof why) ==
		    0) {
			ls = LINK_CONNECTED;
			svc_log(SVC_INFO, LX_PROG, _("connected to %s"), w.to);
		} else {
			ls = LINK_RETRYING;
			svc_log(SVC_WARNING, LX_PROG, _("%s; retrying when there is a record to send"), why);
		}
	}
	fwd_status(&w, ls, true);
	svc_ready(NULL);
	int rc = forward(&w);
	svc_stopping();
	disconnect(&w);
	if (w.sent)
		svc_log(SVC_NOTICE, LX_PROG,
			dngettext(SEKISHO_TEXTDOMAIN,
				  "forwarded %" PRIu64 " record (seq %" PRIu64 "..%" PRIu64 ") to %s",
				  "forwarded %" PRIu64 " records (seq %" PRIu64 "..%" PRIu64 ") to %s",
				  (unsigned long)w.sent),
			w.sent, w.first_seq, w.last_seq, w.to);
	else if (rc == 0)
		svc_log(SVC_INFO, LX_PROG, _("nothing new to forward to %s"), w.to);
	if (w.notices)
		svc_log(SVC_WARNING, LX_PROG,
			dngettext(SEKISHO_TEXTDOMAIN, "sent %" PRIu64 " chain.broken notice",
				  "sent %" PRIu64 " chain.broken notices", (unsigned long)w.notices),
			w.notices);
	strbuf_free(&w.buf);
	lx_tls_free(w.tls);
	audit_key_wipe(&key);
	return rc;
}
