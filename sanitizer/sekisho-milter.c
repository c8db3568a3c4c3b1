/* sekisho-milter: the sanitizer inside Postfix (smtpd_milters), via libmilter.
 *
 *   sekisho-milter -s inet:PORT@127.0.0.1 --quarantine DIR --audit-dir D --audit-key K [OPTIONS]
 *
 * Per message it collects the header fields and body the MTA sends (the
 * exact bytes, with SMFIP_HDR_LEADSPC), and at end of message runs the
 * library (sanitize.h), then deletes every original header field, adds the
 * output's header fields and replaces the body.  It writes one
 * mail.sanitized audit record per message (docs/audit.md).
 *
 * File 無害化: with --cdr-queue, every removed attachment it quarantined
 * becomes a job for sekisho-cdrd (one small fsynced file per attachment,
 * cdr_queue.h), after the message's changes were sent.  Delivery never
 * waits for a conversion; when a job cannot be queued (queue full or
 * failing) the mail still goes and a file.sanitized record with result
 * "not-queued" says so.
 *
 * The file portals: with --portal-url, every message with a kept
 * attachment gets one link manifest in --links-dir and its link in the
 * notice, with each attachment's CDR state (san_link.h; docs/portal.md,
 * "The notice and its link"); its jobs carry the manifest's hash.  A
 * manifest that cannot be written never holds the mail back: the notice
 * says so and mail.sanitized records link_error.
 *
 * Fail closed: any error -- the message larger than --max-size, the
 * in-flight memory budget exceeded, no worker free in time, the library
 * returning no output (quarantine full or failing), a failed modification
 * request, the spool file not writable -- answers SMFIS_TEMPFAIL (for a cap
 * hit in a stage the MTA expects no reply to: at end of message, the rest
 * of the message not stored): the MTA rejects the message with 4xx
 * and discards any modification already sent, so the sender keeps it and
 * retries.  If this process dies, Postfix applies milter_default_action =
 * tempfail.  Nothing is ever accepted unsanitised.
 *
 * Memory: each message is kept in memory up to --spool-mem bytes and in an
 * unlinked file in --spool-dir (default the 0700 quarantine directory)
 * beyond, which the library parses in place: a large message never sits in
 * memory.  A message is capped at --max-size bytes; the in-memory parts of
 * all messages together at --memory-budget.  Sanitising runs on a
 * pool of --workers library contexts (libmagic handles are not shared).
 *
 * systemd (docs/operations.md, "Logs and watchdog"): READY=1 once the
 * socket listens; STATUS= and WATCHDOG=1 from one thread of ours
 * (watchdog_main), since libmilter runs the listener and one thread per
 * connection itself and lends us none of them.  That thread proves
 * progress from outside: each tick (when systemd asks for a watchdog) it
 * connects to the milter's own socket and negotiates as an MTA does (the listener must accept and a session
 * thread answer through on_negotiate), and it checks that no sanitiser
 * context has been busy longer than its cap (a worker that never
 * returns).  Only while both hold does it send WATCHDOG=1; otherwise it
 * says why at crit and stops, so systemd restarts the milter (Postfix's
 * milter_default_action = tempfail keeps the mail meanwhile).  Tempfails
 * and jobs not queued are summed up in the journal at most once a minute
 * (err and warning), never once per message.
 *
 * Ownership: struct conn (connection private data) is owned by libmilter's
 * connection and freed in xxfi_close.  Exit: 0 after SIGTERM/SIGINT, 2 usage
 * or setup error. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <libxml/parser.h>

#include "common/audit/audit.h"
#include "common/i18n.h"
#include "common/monotime.h"
#include "common/strbuf.h"
#include "common/svc.h"
#include "common/version.h"
#include "sanitizer/cdr/cdr_queue.h"
#include "sanitizer/cdr/cdr_record.h"
#include "sanitizer/san_link.h"
#include "sanitizer/san_opts.h"
#include "sanitizer/san_record.h"
#include "sanitizer/sanitize.h"

#define MAX_RCPT 256
#define MAX_ADDR 1024
#define MAX_WORKERS 64
#define PROG "sekisho-milter"
/* the watchdog thread's longest tick: half the watchdog interval when
 * shorter; without a watchdog it still refreshes STATUS= and the summaries */
#define TICK_MAX_MS 5000
/* the journal's summaries of tempfails and unqueued jobs: at most this often */
#define SUMMARY_MS 60000

struct conn {
	struct san_spool msg; /* header fields, blank line, body: as the MTA sent them */
	struct strbuf names;  /* original header names, NUL-separated */
	size_t n_names;
	size_t counted; /* bytes charged to the global budget */
	char *env_from;
	char *env_to[MAX_RCPT];
	size_t n_to;
	bool leadspc;     /* header values arrive with their leading space */
	unsigned long nr; /* SMFIP_NR_* the MTA agreed to: no reply for those stages */
	bool over;        /* a cap was hit: tempfail at the next callback that answers */
	const char *why;
};

static struct audit_log *audit;
static struct san_opts so;
static const char *spool_dir;
static bool want_nr; /* no-reply stages: only on a unix socket (see on_negotiate) */
static size_t spool_mem = (size_t)1 << 20;
static size_t memory_budget;
static atomic_size_t inflight;
static atomic_ulong n_ok, n_tempfail, n_queued, n_notqueued;
static struct cdr_queue *cdrq;                                   /* --cdr-queue, or NULL */
static struct san_link_opts lo = {.days = 7, .originals = true}; /* used when lo.portal_url */
static char portal_url[SAN_LINK_URL_MAX + 1];

/* The worker pool: a free list of library contexts. */
static struct sanitize_ctx *pool[MAX_WORKERS];
static size_t pool_free;
/* every context, and since when (monotonic ms, 0 idle) it sanitises: the
 * watchdog's view of the workers */
static struct sanitize_ctx *pool_all[MAX_WORKERS];
static size_t pool_n;
static atomic_llong busy_since[MAX_WORKERS];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static unsigned pool_wait_s = 60;

static struct sanitize_ctx *pool_get(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += pool_wait_s;
	pthread_mutex_lock(&pool_lock);
	while (pool_free == 0)
		if (pthread_cond_timedwait(&pool_cond, &pool_lock, &until) == ETIMEDOUT)
			break;
	struct sanitize_ctx *x = pool_free ? pool[--pool_free] : NULL;
	pthread_mutex_unlock(&pool_lock);
	return x;
}

/* mark context x busy (now) or idle (0) for the watchdog */
static void pool_mark(const struct sanitize_ctx *x, int64_t since)
{
	for (size_t i = 0; i < pool_n; i++)
		if (pool_all[i] == x)
			atomic_store(&busy_since[i], since);
}

static void pool_put(struct sanitize_ctx *x)
{
	pthread_mutex_lock(&pool_lock);
	pool[pool_free++] = x;
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
}

static void conn_reset(struct conn *c)
{
	atomic_fetch_sub(&inflight, c->counted);
	c->counted = 0;
	san_spool_reset(&c->msg);
	strbuf_free(&c->names);
	c->n_names = 0;
	free(c->env_from);
	c->env_from = NULL;
	for (size_t i = 0; i < c->n_to; i++)
		free(c->env_to[i]);
	c->n_to = 0;
	c->over = false;
	c->why = NULL;
}

static char *dup_capped(const char *s)
{
	if (!s)
		s = "";
	return strndup(s, MAX_ADDR);
}

/* Charge n more bytes to this connection and to the global budget; false
 * (and c->over) when a cap would be exceeded.  Only bytes held in memory
 * count against the budget: once a message is spooled to its file, its
 * memory charge is given back. */
static bool charge(struct conn *c, size_t n)
{
	if (c->msg.len + c->names.len + n > so.cfg.lim.max_message + 65536) {
		c->over = true;
		c->why = "message-size";
		return false;
	}
	bool in_mem = c->msg.fd < 0 && c->msg.len + n <= c->msg.mem_max;
	if (!in_mem) {
		atomic_fetch_sub(&inflight, c->counted);
		c->counted = 0;
		n = 0;
	}
	size_t now = atomic_fetch_add(&inflight, n) + n;
	c->counted += n;
	if (now > memory_budget) {
		c->over = true;
		c->why = "memory-budget";
		return false;
	}
	return true;
}

/* Append to the message (memory, then the spool file).  false and c->over
 * when the spool file cannot be written. */
static bool put(struct conn *c, const void *p, size_t n)
{
	if (san_spool_write(&c->msg, p, n) < 0) {
		c->over = true;
		c->why = "spool";
		return false;
	}
	return true;
}

static void write_audit(struct conn *c, SMFICTX *ctx, const struct sanitize_result *res, bool tempfail, const char *why)
{
	if (!audit)
		return;
	struct san_envelope env = {smfi_getsymval(ctx, "i"), c->env_from, (const char *const *)c->env_to, c->n_to};
	san_record_mail(audit, res, &env, c->msg.len, tempfail, why);
}

static sfsistat tempfail(struct conn *c, SMFICTX *ctx, const struct sanitize_result *res, const char *why)
{
	write_audit(c, ctx, res, true, why);
	smfi_setreply(ctx, "451", "4.3.0", (char *)"sekisho: message not sanitised, try again later");
	atomic_fetch_add(&n_tempfail, 1);
	conn_reset(c);
	return SMFIS_TEMPFAIL;
}

static struct conn *get_conn(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		san_spool_init(&c->msg, spool_dir, spool_mem);
		smfi_setpriv(ctx, c);
	}
	return c;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
			     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
	if ((f0 & need) != need)
		return SMFIS_REJECT; /* the MTA then applies its default action */
	*pf0 = need;
	/* On a unix socket the MTA skips the stages we have no use for
	 * (connect, HELO, DATA: SMFIP_NO*) and expects no reply to the ones
	 * we only record (MAIL, RCPT, each header, end of headers, each body
	 * chunk: SMFIP_NR_*), so a message costs one round trip, at end of
	 * message, instead of one per stage and header (measured through
	 * Postfix: docs/benchmarks.md).  Not on TCP: the MTA does not set
	 * TCP_NODELAY, so with no replies its small writes wait for our
	 * delayed ACK (measured: 2x slower).  A cap hit in a no-reply stage
	 * answers tempfail at end of message. */
	unsigned long nr = !want_nr ? 0
				    : f1 &
			(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_HDR |
			 SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_UNKN);
	unsigned long skip = !want_nr ? 0 : f1 & (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NODATA);
	*pf1 = (f1 & (SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN)) | nr | skip;
	*pf2 = *pf3 = 0;
	struct conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	c->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
	c->nr = nr;
	return SMFIS_CONTINUE;
}

/* The answer of a stage that went well. */
static sfsistat cont(const struct conn *c, unsigned long nr_flag)
{
	return c->nr & nr_flag ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* A cap was hit (c->over, c->why set) in a stage: tempfail now, or, when
 * the MTA expects no reply there, at end of message (the rest of the
 * message is not stored). */
static sfsistat stage_fail(struct conn *c, SMFICTX *ctx, unsigned long nr_flag)
{
	if (c->nr & nr_flag)
		return SMFIS_NOREPLY;
	return tempfail(c, ctx, NULL, c->why);
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	conn_reset(c);
	c->env_from = dup_capped(argv && argv[0] ? argv[0] : "");
	if (!c->env_from) {
		c->over = true;
		c->why = "memory";
		return stage_fail(c, ctx, SMFIP_NR_MAIL);
	}
	return cont(c, SMFIP_NR_MAIL);
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	if (c->n_to < MAX_RCPT && argv && argv[0] && (c->env_to[c->n_to] = dup_capped(argv[0])))
		c->n_to++;
	return cont(c, SMFIP_NR_RCPT);
}

/* Append s with every bare LF turned into CRLF (folded header values). */
static void put_crlf(struct strbuf *sb, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			strbuf_putc(sb, '\r');
		strbuf_putc(sb, *p);
	}
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	if (c->over)
		return stage_fail(c, ctx, SMFIP_NR_HDR);
	size_t nl = strlen(name), vl = strlen(value);
	if (!charge(c, 2 * nl + vl + 8))
		return stage_fail(c, ctx, SMFIP_NR_HDR);
	struct strbuf f = STRBUF_INIT;
	strbuf_append(&f, name, nl);
	strbuf_puts(&f, c->leadspc ? ":" : ": ");
	put_crlf(&f, value);
	strbuf_append(&f, "\r\n", 2);
	bool ok = put(c, f.buf, f.len);
	strbuf_free(&f);
	if (!ok)
		return stage_fail(c, ctx, SMFIP_NR_HDR);
	strbuf_append(&c->names, name, nl + 1);
	c->n_names++;
	return cont(c, SMFIP_NR_HDR);
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	if (c->over || !charge(c, 2) || !put(c, "\r\n", 2))
		return stage_fail(c, ctx, SMFIP_NR_EOH);
	return cont(c, SMFIP_NR_EOH);
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	if (c->over || !charge(c, len) || !put(c, chunk, len))
		return stage_fail(c, ctx, SMFIP_NR_BODY);
	return cont(c, SMFIP_NR_BODY);
}

/* Delete every original header field: per name, from the last occurrence
 * to the first, so that index shifts after a deletion do not matter. */
static int delete_headers(SMFICTX *ctx, struct conn *c)
{
	char **v = calloc(c->n_names ? c->n_names : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	char *p = c->names.buf;
	for (size_t i = 0; i < c->n_names; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	int r = 0;
	for (size_t i = c->n_names; i-- > 0 && r == 0;) {
		int idx = 0;
		for (size_t k = 0; k <= i; k++)
			if (!strcasecmp(v[k], v[i]))
				idx++;
		if (smfi_chgheader(ctx, v[i], idx, NULL) != MI_SUCCESS)
			r = -EIO;
	}
	free(v);
	return r;
}

/* Add the header fields of out[0..hlen) (LF lines, folded lines start with
 * SP/HT); values keep their folding as LF + whitespace. */
static int add_headers(SMFICTX *ctx, struct conn *c, char *hdr, size_t hlen)
{
	size_t i = 0;
	while (i < hlen) {
		size_t start = i, end = i;
		for (;;) { /* a field: up to a LF not followed by SP/HT */
			char *nl = memchr(hdr + end, '\n', hlen - end);
			end = nl ? (size_t)(nl - hdr) : hlen;
			if (end + 1 < hlen && (hdr[end + 1] == ' ' || hdr[end + 1] == '\t')) {
				end++;
				continue;
			}
			break;
		}
		i = end + 1;
		hdr[end] = '\0';
		char *colon = memchr(hdr + start, ':', end - start);
		if (!colon)
			return -EINVAL;
		*colon = '\0';
		char *val = colon + 1;
		if (!c->leadspc && *val == ' ')
			val++;
		for (char *q = val; *q; q++)
			if (*q == '\r')
				*q = ' ';
		if (smfi_addheader(ctx, hdr + start, val) != MI_SUCCESS)
			return -EIO;
	}
	return 0;
}

static int replace_body(SMFICTX *ctx, const char *b, size_t len)
{
	struct strbuf chunk = STRBUF_INIT;
	int r = 0;
	size_t i = 0;
	while (i < len && r == 0) {
		strbuf_reset(&chunk);
		while (i < len && chunk.len < 65536) {
			if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r'))
				strbuf_putc(&chunk, '\r');
			strbuf_putc(&chunk, b[i++]);
		}
		if (smfi_replacebody(ctx, (unsigned char *)chunk.buf, (int)chunk.len) != MI_SUCCESS)
			r = -EIO;
	}
	strbuf_free(&chunk);
	return r;
}

/* One job per quarantined item of the message (the original itself is
 * not an attachment).  A failure does not stop delivery: it is recorded. */
static void enqueue_cdr(struct conn *c, SMFICTX *ctx, const struct sanitize_result *res)
{
	const char *queue_id = smfi_getsymval(ctx, "i");
	for (size_t i = 0; i < res->n_items; i++) {
		const struct sanitize_item *it = &res->items[i];
		if (!it->qid[0])
			continue;
		struct cdr_job job = {0};
		snprintf(job.sha256, sizeof(job.sha256), "%s", it->sha256);
		job.name = it->name;
		job.type = it->detected && it->detected[0] ? it->detected : it->declared;
		job.message_id = res->message_id;
		job.queue_id = (char *)(uintptr_t)queue_id; /* only read */
		snprintf(job.link, sizeof(job.link), "%s", res->link.hash);
		snprintf(job.origin, sizeof(job.origin), "mail");
		snprintf(job.deliver, sizeof(job.deliver), "%s", lo.copies_mail ? "mail" : "link");
		for (size_t k = 0; k < c->n_to && k < CDR_JOB_MAX_RCPT; k++)
			job.rcpt[job.nrcpt++] = c->env_to[k];
		int r = cdr_queue_enqueue(cdrq, &job);
		if (r == 0) {
			atomic_fetch_add(&n_queued, 1);
			continue;
		}
		atomic_fetch_add(&n_notqueued, 1);
		if (!audit)
			continue;
		struct cdr_record rec = {.job_id = "",
					 .sha256 = it->sha256,
					 .name = it->name,
					 .message_id = res->message_id,
					 .queue_id = queue_id};
		snprintf(rec.result, sizeof(rec.result), "not-queued");
		snprintf(rec.reason, sizeof(rec.reason), "%s", r == -ENOSPC ? "queue-full" : "queue-error");
		snprintf(rec.in_sha256, sizeof(rec.in_sha256), "%s", it->sha256);
		rec.in_bytes = it->size;
		cdr_record_emit(audit, &rec);
	}
}

static sfsistat on_eom(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	if (c->over)
		return tempfail(c, ctx, NULL, c->why);
	struct sanitize_ctx *x = pool_get();
	if (!x)
		return tempfail(c, ctx, NULL, "no-worker");
	struct strbuf out = STRBUF_INIT;
	struct sanitize_result res;
	struct san_link_env le = {.o = &lo,
				  .queue_id = smfi_getsymval(ctx, "i"),
				  .env_from = c->env_from,
				  .env_to = (const char *const *)c->env_to,
				  .n_to = c->n_to};
	sanitize_ctx_set_link(x, lo.portal_url ? san_link_hook : NULL, &le);
	pool_mark(x, monotime_ms());
	int r = sanitize_spool(x, &c->msg, &out, &res);
	pool_mark(x, 0);
	sanitize_ctx_set_link(x, NULL, NULL);
	pool_put(x);
	sfsistat st;
	if (r < 0) {
		st = tempfail(c, ctx, &res, "no-output");
		goto done;
	}
	char *sep = out.len ? strstr(out.buf, "\n\n") : NULL;
	if (!sep) {
		st = tempfail(c, ctx, &res, "output-format");
		goto done;
	}
	size_t hlen = (size_t)(sep - out.buf) + 1;
	const char *body = sep + 2;
	size_t blen = out.len - (size_t)(body - out.buf);
	if (delete_headers(ctx, c) < 0 || add_headers(ctx, c, out.buf, hlen) < 0 || replace_body(ctx, body, blen) < 0) {
		st = tempfail(c, ctx, &res, "modify");
		goto done;
	}
	write_audit(c, ctx, &res, false, NULL);
	if (cdrq)
		enqueue_cdr(c, ctx, &res);
	atomic_fetch_add(&n_ok, 1);
	conn_reset(c);
	st = SMFIS_CONTINUE;
done:
	sanitize_result_free(&res);
	strbuf_free(&out);
	return st;
}

static sfsistat on_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c)
		conn_reset(c);
	return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c) {
		conn_reset(c);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

/* libmilter answers the end of a message with several small writes (each
 * header change, the body, the reply) and sets no TCP_NODELAY, so Nagle's
 * algorithm held the later writes until the MTA's delayed ACK (about 40 ms
 * on Linux) -- per message, whatever the work.  libmilter does not expose
 * its sockets: set the option on the listening TCP socket it opened, which
 * Linux passes on to every accepted connection.  Returns how many sockets
 * were set. */
static int listen_nodelay(void)
{
	int n = 0;
	for (int fd = 3; fd < 1024; fd++) {
		int v = 0, dom = 0, one = 1;
		socklen_t l = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || !v)
			continue;
		l = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || (dom != AF_INET && dom != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
			n++;
	}
	return n;
}

/* --- the watchdog thread (see the contract at the top) */

static char probe_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix socket, or "" */
static char probe_host[256], probe_port[16];                         /* inet/inet6 */
static pthread_t wd_th;
static bool wd_started;
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static bool wd_stop;

/* Where the self-probe connects: libmilter's "unix:PATH" / "local:PATH",
 * "inet:PORT[@HOST]", "inet6:PORT[@HOST]" (no host, or a wildcard: the
 * loopback address).  -1 when the form is not one of these. */
static int probe_target(const char *spec)
{
	const char *c = strchr(spec, ':');
	if (!c) {
		/* a bare path is a unix socket to libmilter */
		if (spec[0] != '/' || strlen(spec) >= sizeof(probe_path))
			return -1;
		snprintf(probe_path, sizeof(probe_path), "%s", spec);
		return 0;
	}
	size_t kind = (size_t)(c - spec);
	if ((kind == 4 && !strncmp(spec, "unix", 4)) || (kind == 5 && !strncmp(spec, "local", 5))) {
		if (strlen(c + 1) >= sizeof(probe_path))
			return -1;
		snprintf(probe_path, sizeof(probe_path), "%s", c + 1);
		return 0;
	}
	bool v6 = kind == 5 && !strncmp(spec, "inet6", 5);
	if (!v6 && !(kind == 4 && !strncmp(spec, "inet", 4)))
		return -1;
	const char *at = strchr(c + 1, '@');
	size_t plen = at ? (size_t)(at - (c + 1)) : strlen(c + 1);
	if (plen == 0 || plen >= sizeof(probe_port))
		return -1;
	memcpy(probe_port, c + 1, plen);
	probe_port[plen] = 0;
	const char *h = at ? at + 1 : "";
	if (!*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::") || !strcmp(h, "[::]"))
		h = v6 ? "::1" : "127.0.0.1";
	if (strlen(h) >= sizeof(probe_host))
		return -1;
	snprintf(probe_host, sizeof(probe_host), "%s", h);
	return 0;
}

/* A connected stream socket to addr with send and receive timeouts, or -1. */
static int dial(int family, int proto, const struct sockaddr *addr, socklen_t len, const struct timeval *tv)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, proto);
	if (fd >= 0 &&
	    (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof(*tv)) < 0 ||
	     setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, sizeof(*tv)) < 0 || connect(fd, addr, len) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int probe_connect(int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	if (probe_path[0]) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		memcpy(sa.sun_path, probe_path, sizeof(probe_path));
		return dial(AF_UNIX, 0, (struct sockaddr *)&sa, sizeof(sa), &tv);
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
	if (getaddrinfo(probe_host, probe_port, &hints, &ai) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next)
		fd = dial(a->ai_family, a->ai_protocol, a->ai_addr, a->ai_addrlen, &tv);
	freeaddrinfo(ai);
	return fd;
}

static bool read_full(int fd, unsigned char *b, size_t n)
{
	while (n) {
		ssize_t k = read(fd, b, n);
		if (k <= 0)
			return false;
		b += k;
		n -= (size_t)k;
	}
	return true;
}

static void put_u32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

/* The self-probe: option negotiation as an MTA opens a session, and the
 * milter's answer within timeout_ms.  0, or a short reason. */
static const char *probe(int timeout_ms)
{
	int fd = probe_connect(timeout_ms);
	if (fd < 0)
		return "connect";
	unsigned char q[4 + 1 + MILTER_OPTLEN], a[4 + 1];
	put_u32(q, 1 + MILTER_OPTLEN);
	q[4] = SMFIC_OPTNEG;
	put_u32(q + 5, SMFI_PROT_VERSION);
	put_u32(q + 9, SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY);
	put_u32(q + 13, 0);
	const char *why = NULL;
	if (write(fd, q, sizeof(q)) != (ssize_t)sizeof(q))
		why = "send";
	else if (!read_full(fd, a, sizeof(a)) || a[4] != SMFIC_OPTNEG)
		why = "no answer";
	if (!why) {
		/* the rest of the answer, then goodbye */
		uint32_t len = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		unsigned char rest[64];
		if (len < 1 || len - 1 > sizeof(rest) || !read_full(fd, rest, len - 1))
			why = "bad answer";
		unsigned char bye[5] = {0, 0, 0, 1, SMFIC_QUIT};
		if (write(fd, bye, sizeof(bye)) < 0) {
			/* the session ends with the close anyway */
		}
	}
	close(fd);
	return why;
}

/* Wait up to ms for the stop of the watchdog; true when it came. */
static bool stop_wait(int64_t ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&wd_mu);
	if (!wd_stop)
		pthread_cond_timedwait(&wd_cond, &wd_mu, &until);
	bool stop = wd_stop;
	pthread_mutex_unlock(&wd_mu);
	return stop;
}

/* The oldest busy context's time in the sanitiser (ms), 0 when none is busy. */
static int64_t longest_busy(int64_t now)
{
	int64_t worst = 0;
	for (size_t i = 0; i < pool_n; i++) {
		int64_t t = atomic_load(&busy_since[i]);
		if (t && now - t > worst)
			worst = now - t;
	}
	return worst;
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	uint64_t wd_usec = svc_watchdog_usec();
	int64_t tick = wd_usec ? (int64_t)(wd_usec / 2000) : TICK_MAX_MS;
	if (tick > TICK_MAX_MS)
		tick = TICK_MAX_MS;
	if (tick < 200)
		tick = 200;
	int probe_ms = tick / 2 > 2000 ? 2000 : (int)(tick / 2);
	/* a worker is stuck past the library's own time cap (pool_wait_s is
	 * twice it) */
	int64_t stall_ms = (int64_t)pool_wait_s * 1000;
	unsigned long seen_ok = ~0ul, seen_tf = ~0ul, seen_q = ~0ul, seen_nq = ~0ul;
	unsigned long told_tf = 0, told_nq = 0;
	int64_t told_at = 0;
	bool failing = false;
	for (;;) {
		int64_t now = monotime_ms();
		/* no watchdog asked for (not under systemd): nothing to prove,
		 * and no probe session left open in libmilter at the stop */
		const char *why = wd_usec ? probe(probe_ms) : NULL;
		int64_t busy = longest_busy(monotime_ms());
		char what[256] = "";
		if (why)
			snprintf(what, sizeof(what), _("the milter does not answer its own socket (%s)"), why);
		else if (busy > stall_ms)
			snprintf(what, sizeof(what), _("a sanitiser worker has been busy for %lld s (cap %lld s)"),
				 (long long)(busy / 1000), (long long)(stall_ms / 1000));
		if (what[0] && !failing && stop_wait(200))
			return NULL; /* libmilter closed its socket: the milter stops */
		if (what[0]) {
			if (!failing)
				svc_log(SVC_CRIT, PROG,
					_("no progress: %s; the watchdog stops (systemd restarts the milter)"), what);
			failing = true;
		} else {
			if (failing)
				svc_log(SVC_NOTICE, PROG, _("progress again: the watchdog resumes"));
			failing = false;
			if (wd_usec)
				svc_watchdog();
		}
		unsigned long ok = atomic_load(&n_ok), tf = atomic_load(&n_tempfail), q = atomic_load(&n_queued),
			      nq = atomic_load(&n_notqueued);
		if (ok != seen_ok || tf != seen_tf || q != seen_q || nq != seen_nq) {
			char st[256];
			snprintf(st, sizeof(st),
				 _("%lu mails sanitised, %lu tempfailed (4xx), %lu CDR jobs queued, %lu not queued"),
				 ok, tf, q, nq);
			svc_status(st);
			seen_ok = ok, seen_tf = tf, seen_q = q, seen_nq = nq;
		}
		if ((tf != told_tf || nq != told_nq) && (told_at == 0 || now - told_at >= SUMMARY_MS)) {
			if (tf != told_tf)
				svc_log(SVC_ERR, PROG,
					_("%lu messages refused with 4xx (not sanitised; the sender retries) since the last report: see mail.sanitized records with tempfail in the audit chain"),
					tf - told_tf);
			if (nq != told_nq)
				svc_log(SVC_WARNING, PROG,
					_("%lu attachments not queued for CDR (queue full or failing) since the last report: their mail went without safe copies"),
					nq - told_nq);
			told_tf = tf, told_nq = nq, told_at = now;
		}
		int64_t left = tick - (monotime_ms() - now);
		if (stop_wait(left < 0 ? 0 : left))
			return NULL;
	}
}

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-milter -s SOCKET --quarantine DIR --audit-dir DIR --audit-key FILE [OPTIONS]\n"
		"       sekisho-milter --help | --version\n"
		"  -s, --socket SPEC        libmilter socket: unix:/path (the appliance's) or inet:PORT@127.0.0.1\n"
		"  --audit-dir DIR --audit-key FILE   the audit chain (mail.sanitized, file.sanitized) and its key\n"
		"  --socket-mode MODE       permissions of a unix socket, octal (default: from the umask;\n"
		"                           ignored for inet); the directory limits who may connect\n"
		"  --workers N              sanitiser contexts working at once (default 2, max 64)\n"
		"  --memory-budget BYTES    all buffered messages together (default 4 x max-size + 64 MiB)\n"
		"  --spool-dir DIR          messages above --spool-mem go to an unlinked file here\n"
		"                           (default: the quarantine directory)\n"
		"  --spool-mem BYTES        bytes of one message kept in memory (default 1 MiB)\n"
		"  --timeout SECONDS        libmilter I/O timeout towards the MTA (default 600)\n"
		"  --cdr-queue DIR          a job for sekisho-cdrd per quarantined attachment (file 無害化)\n"
		"  --cdr-queue-max N        jobs the queue may hold; beyond, \"not-queued\" (default 10000)\n"
		"  --quarantine-group-read  quarantine readable by its group (the CDR worker's)\n"
		"  --portal-url URL         the LGWAN portal (https://HOST[:PORT][/PATH]): one link per message\n"
		"                           with kept attachments in the notice (needs --links-dir)\n"
		"  --links-dir DIR          where the link manifests go (docs/portal.md)\n"
		"  --copies-dir DIR         the worker's copies: a copy made before is shown as available\n"
		"  --link-days N            a link's lifetime in days (default 7, at most 365)\n"
		"  --deliver-copies link|mail  copies by the link only, or also by a follow-up mail (default link)\n"
		"  --originals on|off       the notice offers to request the original (default on)\n"),
	      f);
	fputs(san_opts_usage(), f);
	fputs(_("  -h, --help               this text on standard output\n"
		"  --version                the version and the build's git description\n"
		"every failure answers tempfail (4xx): nothing is accepted unsanitised\n"
		"exit status: 0 stopped by SIGTERM/SIGINT, 2 usage or setup error\n"),
	      f);
}

int main(int argc, char **argv)
{
	i18n_init();
	san_opts_init(&so);
	char *sock = NULL;
	const char *adir = NULL, *akey = NULL;
	size_t workers = 2, timeout = 600, v;
	long sock_mode = -1;
	enum {
		O_ADIR = SAN_OPT_LAST + 1,
		O_AKEY,
		O_WORKERS,
		O_BUDGET,
		O_TIMEOUT,
		O_SPOOL,
		O_SPOOLMEM,
		O_SOCKMODE,
		O_CDRQ,
		O_CDRQMAX,
		O_QGROUP,
		O_PORTAL,
		O_LINKS,
		O_COPIES,
		O_LDAYS,
		O_DELIVER,
		O_ORIGINALS,
		O_VERSION
	};
	const char *cdrq_dir = NULL;
	size_t cdrq_max = 0;
	static const struct option opts[] = {
		{"socket", 1, NULL, 's'},
		SAN_OPTS_LONG,
		{"audit-dir", 1, NULL, O_ADIR},
		{"audit-key", 1, NULL, O_AKEY},
		{"workers", 1, NULL, O_WORKERS},
		{"memory-budget", 1, NULL, O_BUDGET},
		{"timeout", 1, NULL, O_TIMEOUT},
		{"spool-dir", 1, NULL, O_SPOOL},
		{"spool-mem", 1, NULL, O_SPOOLMEM},
		{"socket-mode", 1, NULL, O_SOCKMODE},
		{"cdr-queue", 1, NULL, O_CDRQ},
		{"cdr-queue-max", 1, NULL, O_CDRQMAX},
		{"quarantine-group-read", 0, NULL, O_QGROUP},
		{"portal-url", 1, NULL, O_PORTAL},
		{"links-dir", 1, NULL, O_LINKS},
		{"copies-dir", 1, NULL, O_COPIES},
		{"link-days", 1, NULL, O_LDAYS},
		{"deliver-copies", 1, NULL, O_DELIVER},
		{"originals", 1, NULL, O_ORIGINALS},
		{"help", 0, NULL, 'h'},
		{"version", 0, NULL, O_VERSION},
		{0},
	};
	int ch;
	char why[512] = "";
	while ((ch = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		int h = san_opts_handle(&so, ch, optarg, why, sizeof(why));
		if (h < 0) {
			fprintf(stderr, "sekisho-milter: %s\n", why);
			usage(stderr);
			return 2;
		}
		if (h > 0)
			continue;
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case O_ADIR:
			adir = optarg;
			break;
		case O_AKEY:
			akey = optarg;
			break;
		case O_SPOOL:
			spool_dir = optarg;
			break;
		case O_CDRQ:
			cdrq_dir = optarg;
			break;
		case O_QGROUP:
			so.qgroup_read = true;
			break;
		case O_PORTAL:
			if (san_link_url_check(optarg, portal_url, why, sizeof(why)) < 0) {
				fprintf(stderr, "sekisho-milter: %s\n", why);
				return 2;
			}
			lo.portal_url = portal_url;
			break;
		case O_LINKS:
			lo.links_dir = optarg;
			break;
		case O_COPIES:
			lo.copies_dir = optarg;
			break;
		case O_LDAYS:
			if (san_opts_parse_size(optarg, &v) < 0 || v > SAN_LINK_MAX_DAYS) {
				fprintf(stderr, "sekisho-milter: --link-days: 1 to %d, not '%s'\n", SAN_LINK_MAX_DAYS,
					optarg);
				return 2;
			}
			lo.days = (unsigned)v;
			break;
		case O_DELIVER:
		case O_ORIGINALS: {
			const char *a = ch == O_DELIVER ? "link" : "on", *b = ch == O_DELIVER ? "mail" : "off";
			if (strcmp(optarg, a) && strcmp(optarg, b)) {
				fprintf(stderr, "sekisho-milter: --%s: %s or %s, not '%s'\n",
					ch == O_DELIVER ? "deliver-copies" : "originals", a, b, optarg);
				return 2;
			}
			if (ch == O_DELIVER)
				lo.copies_mail = !strcmp(optarg, "mail");
			else
				lo.originals = !strcmp(optarg, "on");
			break;
		}
		case O_SOCKMODE: {
			char *end;
			errno = 0;
			sock_mode = strtol(optarg, &end, 8);
			if (errno || end == optarg || *end || sock_mode < 0 || sock_mode > 0777) {
				fprintf(stderr, "sekisho-milter: bad --socket-mode '%s' (octal, at most 0777)\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION:
			version_print(stdout, "sekisho-milter");
			return 0;
		case O_WORKERS:
		case O_BUDGET:
		case O_TIMEOUT:
		case O_SPOOLMEM:
		case O_CDRQMAX:
			if (san_opts_parse_size(optarg, &v) < 0) {
				fprintf(stderr, "sekisho-milter: bad number '%s'\n", optarg);
				return 2;
			}
			if (ch == O_WORKERS)
				workers = v;
			else if (ch == O_BUDGET)
				memory_budget = v;
			else if (ch == O_SPOOLMEM)
				spool_mem = v;
			else if (ch == O_CDRQMAX)
				cdrq_max = v;
			else
				timeout = v;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!sock || !so.qdir || !adir || !akey || optind != argc || workers > MAX_WORKERS) {
		fprintf(stderr, "sekisho-milter: --socket, --quarantine, --audit-dir and --audit-key are required\n");
		usage(stderr);
		return 2;
	}
	if (lo.portal_url && !lo.links_dir) {
		fprintf(stderr, "sekisho-milter: --portal-url needs --links-dir\n");
		return 2;
	}
	if (lo.portal_url && access(lo.links_dir, W_OK | X_OK) < 0) {
		fprintf(stderr, "sekisho-milter: --links-dir %s: %s\n", lo.links_dir, strerror(errno));
		return 2;
	}
	lo.qdir = so.qdir;
	lo.lang = so.cfg.lang;
	if (!spool_dir)
		spool_dir = so.qdir;
	want_nr = !strncmp(sock, "unix:", 5) || !strncmp(sock, "local:", 6);
	if (!memory_budget)
		memory_budget = 4 * so.cfg.lim.max_message + ((size_t)64 << 20);
	pool_wait_s = so.cfg.lim.max_seconds ? 2 * so.cfg.lim.max_seconds : 60;
	int ex = 2;
	size_t made = 0;
	if (san_opts_open(&so, why, sizeof(why)) < 0) {
		svc_log(SVC_ERR, PROG, "%s", why);
		goto out;
	}
	/* libmilter takes SIGTERM/SIGINT/SIGHUP with sigwait in its own thread
	 * and then returns from smfi_main, after which the audit log is
	 * closed (its pending records written).  Threads inherit the signal
	 * mask: block the signals before the audit writer thread exists, or
	 * the kernel may deliver SIGTERM to that thread and the default
	 * action kills the process with records still queued. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	struct audit_key key;
	if (audit_key_load(akey, &key, why, sizeof(why)) < 0) {
		svc_log(SVC_ERR, PROG, _("cannot load the audit key: %s"), why);
		goto out;
	}
	struct audit_opts ao = {.dir = adir, .component = "sanitizer", .key = &key, .lock_timeout_ms = 10000};
	int r = audit_open(&ao, &audit, why, sizeof(why));
	audit_key_wipe(&key);
	if (r < 0) {
		svc_log(SVC_ERR, PROG, _("cannot open the audit log: %s"), why);
		goto out;
	}
	if (cdrq_dir) {
		struct cdr_queue_opts qo = {.dir = cdrq_dir,
					    .max_jobs = cdrq_max > UINT32_MAX ? UINT32_MAX : (unsigned)cdrq_max};
		if (cdr_queue_open(&qo, &cdrq, why, sizeof(why)) < 0) {
			svc_log(SVC_ERR, PROG, _("cannot open the CDR queue: %s"), why);
			goto out;
		}
	}
	xmlInitParser();
	for (; made < workers; made++) {
		r = sanitize_ctx_new(&so.cfg, &pool[made]);
		if (r < 0) {
			svc_log(SVC_ERR, PROG, _("cannot make a sanitiser context: %s"), strerror(-r));
			goto out;
		}
	}
	pool_free = made;
	memcpy(pool_all, pool, made * sizeof(pool[0]));
	pool_n = made;

	struct smfiDesc desc = {
		.xxfi_name = (char *)"sekisho-milter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY,
		.xxfi_envfrom = on_envfrom,
		.xxfi_envrcpt = on_envrcpt,
		.xxfi_header = on_header,
		.xxfi_eoh = on_eoh,
		.xxfi_body = on_body,
		.xxfi_eom = on_eom,
		.xxfi_abort = on_abort,
		.xxfi_close = on_close,
		.xxfi_negotiate = on_negotiate,
	};
	if (smfi_setconn(sock) != MI_SUCCESS || smfi_settimeout((int)timeout) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS) {
		svc_log(SVC_ERR, PROG, _("cannot set up libmilter on %s"), sock);
		goto out;
	}
	const char *upath = want_nr ? strchr(sock, ':') + 1 : NULL;
	if (upath)
		unlink(upath);
	if (smfi_opensocket(true) != MI_SUCCESS) {
		svc_log(SVC_ERR, PROG, _("cannot listen on %s"), sock);
		goto out;
	}
	/* libmilter creates the socket with the umask's permissions (the
	 * unit's UMask=0077: only our user); Postfix connects as its own
	 * user, so the mode is set here, and the directory (0750, group
	 * postfix on the appliance) is what keeps everyone else out. */
	if (sock_mode >= 0 && upath && chmod(upath, (mode_t)sock_mode) < 0) {
		svc_log(SVC_ERR, PROG, _("cannot set --socket-mode on %s: %s"), sock, strerror(errno));
		goto out;
	}
	if (!strncmp(sock, "inet", 4) && listen_nodelay() == 0)
		svc_log(SVC_WARNING, PROG, _("could not set TCP_NODELAY on %s (slower replies)"), sock);
	if (probe_target(sock) < 0) {
		svc_log(SVC_ERR, PROG, _("%s: no self-probe for this socket form (unix:, local:, inet:, inet6:)"),
			sock);
		goto out;
	}
	svc_log(SVC_INFO, PROG, _("listening on %s (%zu workers)"), sock, workers);
	char status[256];
	snprintf(status, sizeof(status), _("listening on %s (%zu workers)"), sock, workers);
	svc_ready(status);
	wd_started = pthread_create(&wd_th, NULL, watchdog_main, NULL) == 0;
	if (!wd_started) {
		svc_log(SVC_ERR, PROG, _("cannot start the watchdog thread"));
		goto out;
	}
	pthread_setname_np(wd_th, "milter-watchdog");
	ex = smfi_main() == MI_SUCCESS ? 0 : 2;
	svc_stopping();
	svc_log(SVC_NOTICE, PROG, _("stopped: %lu sanitised, %lu tempfailed, %lu CDR jobs queued, %lu not queued"),
		(unsigned long)n_ok, (unsigned long)n_tempfail, (unsigned long)n_queued, (unsigned long)n_notqueued);
out:
	if (wd_started) {
		pthread_mutex_lock(&wd_mu);
		wd_stop = true;
		pthread_cond_signal(&wd_cond);
		pthread_mutex_unlock(&wd_mu);
		pthread_join(wd_th, NULL);
	}
	for (size_t i = 0; i < made; i++)
		sanitize_ctx_free(pool[i]);
	if (audit && audit_close(audit) < 0) {
		svc_log(SVC_ERR, PROG, _("audit log write failed: records lost"));
		ex = 2;
	}
	san_opts_close(&so);
	cdr_queue_close(cdrq);
	return ex;
}
