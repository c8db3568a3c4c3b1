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
 * Fail closed: any error -- the message larger than --max-size, the
 * in-flight memory budget exceeded, no worker free in time, the library
 * returning no output (quarantine full or failing), a failed modification
 * request -- answers SMFIS_TEMPFAIL: the MTA rejects the message with 4xx
 * and discards any modification already sent, so the sender keeps it and
 * retries.  If this process dies, Postfix applies milter_default_action =
 * tempfail.  Nothing is ever accepted unsanitised.
 *
 * Memory: one growing buffer per connection, capped at --max-size bytes;
 * all buffers together capped at --memory-budget.  Sanitising runs on a
 * pool of --workers library contexts (libmagic handles are not shared).
 *
 * Ownership: struct conn (connection private data) is owned by libmilter's
 * connection and freed in xxfi_close.  Exit: 0 after SIGTERM/SIGINT, 2 usage
 * or setup error. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libxml/parser.h>

#include "common/audit.h"
#include "common/strbuf.h"
#include "sanitizer/sanitize.h"

#define MAX_RCPT 256
#define MAX_ADDR 1024
#define MAX_WORKERS 64

struct conn {
	struct strbuf msg;      /* header fields, blank line, body: as the MTA sent them */
	struct strbuf names;    /* original header names, NUL-separated */
	size_t n_names;
	size_t counted;         /* bytes charged to the global budget */
	char *env_from;
	char *env_to[MAX_RCPT];
	size_t n_to;
	bool leadspc;           /* header values arrive with their leading space */
	bool over;              /* a cap was hit: tempfail at the next callback */
	const char *why;
};

static struct audit_log *audit;
static struct sanitize_config cfg;
static size_t memory_budget;
static atomic_size_t inflight;
static atomic_ulong n_ok, n_tempfail;

/* The worker pool: a free list of library contexts. */
static struct sanitize_ctx *pool[MAX_WORKERS];
static size_t pool_free;
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
		if (pthread_cond_timedwait(&pool_cond, &pool_lock, &until) == ETIMEDOUT) break;
	struct sanitize_ctx *x = pool_free ? pool[--pool_free] : NULL;
	pthread_mutex_unlock(&pool_lock);
	return x;
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
	strbuf_free(&c->msg);
	strbuf_free(&c->names);
	c->n_names = 0;
	free(c->env_from);
	c->env_from = NULL;
	for (size_t i = 0; i < c->n_to; i++) free(c->env_to[i]);
	c->n_to = 0;
	c->over = false;
	c->why = NULL;
}

static char *dup_capped(const char *s)
{
	if (!s) s = "";
	return strndup(s, MAX_ADDR);
}

/* Charge n more bytes to this connection and to the global budget; false
 * (and c->over) when a cap would be exceeded. */
static bool charge(struct conn *c, size_t n)
{
	if (c->msg.len + c->names.len + n > cfg.lim.max_message + 65536) { c->over = true; c->why = "message-size"; return false; }
	size_t now = atomic_fetch_add(&inflight, n) + n;
	c->counted += n;
	if (now > memory_budget) { c->over = true; c->why = "memory-budget"; return false; }
	return true;
}

static void write_audit(struct conn *c, SMFICTX *ctx, const struct sanitize_result *res, bool tempfail, const char *why)
{
	if (!audit) return;
	const char *qid = smfi_getsymval(ctx, "i");
	size_t n = res ? res->n_items : 0;
	struct audit_field *rem = calloc(n ? n : 1, sizeof(*rem));
	struct audit_field (*obj)[7] = calloc(n ? n : 1, sizeof(*obj));
	const char **qids = calloc(n + 2, sizeof(*qids));
	if (!rem || !obj || !qids) { free(rem); free(obj); free(qids); return; }
	size_t nq = 0;
	if (res && res->original_qid[0]) qids[nq++] = res->original_qid;
	for (size_t i = 0; i < n; i++) {
		const struct sanitize_item *it = &res->items[i];
		struct audit_field f[7] = {
			AUDIT_STR("name", it->name), AUDIT_STR("content_type", it->declared),
			AUDIT_STR("detected_type", it->detected), AUDIT_UINT("size", it->size),
			AUDIT_STR("sha256", it->sha256), AUDIT_STR("reason", it->reason),
			AUDIT_STR("quarantine_id", it->qid),
		};
		memcpy(obj[i], f, sizeof(f));
		struct audit_field o = AUDIT_OBJ("", obj[i], 7);
		rem[i] = o;
		if (it->qid[0]) qids[nq++] = it->qid;
	}
	const char *result = !res ? "failed" : res->status == SANITIZE_FAILED ? "failed" :
			     res->status == SANITIZE_MALFORMED ? "malformed" : "ok";
	const char *reason = why ? why : res && res->reason ? res->reason : "";
	struct audit_field f[] = {
		AUDIT_STR("queue_id", qid ? qid : ""),
		AUDIT_STR("message_id", res && res->message_id ? res->message_id : ""),
		AUDIT_STR("env_from", c->env_from ? c->env_from : ""),
		AUDIT_STRLIST("env_to", (const char *const *)c->env_to, c->n_to),
		AUDIT_UINT("size", res ? res->size : c->msg.len),
		AUDIT_STR("original_sha256", res ? res->original_sha256 : ""),
		AUDIT_STR("output_sha256", res && !tempfail ? res->output_sha256 : ""),
		AUDIT_STRLIST("actions", res ? (const char *const *)res->actions : NULL, res ? res->n_actions : 0),
		AUDIT_LIST("removed", rem, n),
		AUDIT_STRLIST("quarantine_ids", qids, nq),
		AUDIT_STR("result", result),
		AUDIT_STR("reason", reason),
		AUDIT_STR("verdict", tempfail ? "tempfail" : "delivered"),
	};
	audit_emit(audit, "mail.sanitized", f, AUDIT_N(f));
	free(rem); free(obj); free(qids);
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
		if (c) smfi_setpriv(ctx, c);
	}
	return c;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
			     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2; (void)f3;
	unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
	if ((f0 & need) != need) return SMFIS_REJECT;  /* the MTA then applies its default action */
	*pf0 = need;
	*pf1 = f1 & SMFIP_HDR_LEADSPC;
	*pf2 = *pf3 = 0;
	struct conn *c = get_conn(ctx);
	if (!c) return SMFIS_TEMPFAIL;
	c->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
	return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = get_conn(ctx);
	if (!c) return SMFIS_TEMPFAIL;
	conn_reset(c);
	c->env_from = dup_capped(argv && argv[0] ? argv[0] : "");
	return c->env_from ? SMFIS_CONTINUE : SMFIS_TEMPFAIL;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = get_conn(ctx);
	if (!c) return SMFIS_TEMPFAIL;
	if (c->n_to < MAX_RCPT && argv && argv[0] && (c->env_to[c->n_to] = dup_capped(argv[0]))) c->n_to++;
	return SMFIS_CONTINUE;
}

/* Append s with every bare LF turned into CRLF (folded header values). */
static void put_crlf(struct strbuf *sb, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r')) strbuf_putc(sb, '\r');
		strbuf_putc(sb, *p);
	}
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = get_conn(ctx);
	if (!c) return SMFIS_TEMPFAIL;
	if (c->over) return tempfail(c, ctx, NULL, c->why);
	size_t nl = strlen(name), vl = strlen(value);
	if (!charge(c, 2 * nl + vl + 8)) return tempfail(c, ctx, NULL, c->why);
	strbuf_append(&c->msg, name, nl);
	strbuf_puts(&c->msg, c->leadspc ? ":" : ": ");
	put_crlf(&c->msg, value);
	strbuf_append(&c->msg, "\r\n", 2);
	strbuf_append(&c->names, name, nl + 1);
	c->n_names++;
	return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);
	if (!c) return SMFIS_TEMPFAIL;
	if (!charge(c, 2)) return tempfail(c, ctx, NULL, c->why);
	strbuf_append(&c->msg, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = get_conn(ctx);
	if (!c) return SMFIS_TEMPFAIL;
	if (!charge(c, len)) return tempfail(c, ctx, NULL, c->why);
	strbuf_append(&c->msg, (const char *)chunk, len);
	return SMFIS_CONTINUE;
}

/* Delete every original header field: per name, from the last occurrence
 * to the first, so that index shifts after a deletion do not matter. */
static int delete_headers(SMFICTX *ctx, struct conn *c)
{
	char **v = calloc(c->n_names ? c->n_names : 1, sizeof(*v));
	if (!v) return -ENOMEM;
	char *p = c->names.buf;
	for (size_t i = 0; i < c->n_names; i++) { v[i] = p; p += strlen(p) + 1; }
	int r = 0;
	for (size_t i = c->n_names; i-- > 0 && r == 0;) {
		int idx = 0;
		for (size_t k = 0; k <= i; k++)
			if (!strcasecmp(v[k], v[i])) idx++;
		if (smfi_chgheader(ctx, v[i], idx, NULL) != MI_SUCCESS) r = -EIO;
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
		for (;;) {  /* a field: up to a LF not followed by SP/HT */
			char *nl = memchr(hdr + end, '\n', hlen - end);
			end = nl ? (size_t)(nl - hdr) : hlen;
			if (end + 1 < hlen && (hdr[end + 1] == ' ' || hdr[end + 1] == '\t')) { end++; continue; }
			break;
		}
		i = end + 1;
		hdr[end] = '\0';
		char *colon = memchr(hdr + start, ':', end - start);
		if (!colon) return -EINVAL;
		*colon = '\0';
		char *val = colon + 1;
		if (!c->leadspc && *val == ' ') val++;
		for (char *q = val; *q; q++) if (*q == '\r') *q = ' ';
		if (smfi_addheader(ctx, hdr + start, val) != MI_SUCCESS) return -EIO;
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
			if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r')) strbuf_putc(&chunk, '\r');
			strbuf_putc(&chunk, b[i++]);
		}
		if (smfi_replacebody(ctx, (unsigned char *)chunk.buf, (int)chunk.len) != MI_SUCCESS) r = -EIO;
	}
	strbuf_free(&chunk);
	return r;
}

static sfsistat on_eom(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);
	if (!c) return SMFIS_TEMPFAIL;
	if (c->over) return tempfail(c, ctx, NULL, c->why);
	struct sanitize_ctx *x = pool_get();
	if (!x) return tempfail(c, ctx, NULL, "no-worker");
	struct strbuf out = STRBUF_INIT;
	struct sanitize_result res;
	int r = sanitize_buffer(x, c->msg.buf ? c->msg.buf : "", c->msg.len, &out, &res);
	pool_put(x);
	sfsistat st;
	if (r < 0) {
		st = tempfail(c, ctx, &res, "no-output");
		goto done;
	}
	char *sep = out.len ? strstr(out.buf, "\n\n") : NULL;
	if (!sep) { st = tempfail(c, ctx, &res, "output-format"); goto done; }
	size_t hlen = (size_t)(sep - out.buf) + 1;
	const char *body = sep + 2;
	size_t blen = out.len - (size_t)(body - out.buf);
	if (delete_headers(ctx, c) < 0 || add_headers(ctx, c, out.buf, hlen) < 0 || replace_body(ctx, body, blen) < 0) {
		st = tempfail(c, ctx, &res, "modify");
		goto done;
	}
	write_audit(c, ctx, &res, false, NULL);
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
	if (c) conn_reset(c);
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
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || !v) continue;
		l = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || (dom != AF_INET && dom != AF_INET6)) continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) n++;
	}
	return n;
}

static void usage(FILE *f)
{
	fputs("usage: sekisho-milter -s SOCKET --quarantine DIR --audit-dir DIR --audit-key FILE [OPTIONS]\n"
	      "  -s, --socket SPEC        libmilter socket: inet:PORT@127.0.0.1 or unix:/path\n"
	      "  --workers N              sanitiser contexts working at once (default 2, max 64)\n"
	      "  --memory-budget BYTES    all buffered messages together (default 4 x max-size + 64 MiB)\n"
	      "  --timeout SECONDS        libmilter I/O timeout towards the MTA (default 600)\n"
	      "  --lang ja|en --notice FILE --links defang|keep|remove\n"
	      "  --charset utf-8|iso-2022-jp --keep-header NAME\n"
	      "  --quarantine-max BYTES --retain-days N\n"
	      "  --max-size BYTES --max-depth N --max-parts N --max-headers N\n"
	      "  --max-header-line BYTES --max-line BYTES --max-decoded BYTES --max-seconds N\n"
	      "every failure answers tempfail (4xx): nothing is accepted unsanitised\n", f);
}

static int parse_size(const char *s, size_t *ret)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || e == s || *e || v == 0) return -EINVAL;
	*ret = (size_t)v;
	return 0;
}

static int parse_links(const char *s, enum san_links *ret)
{
	if (!strcmp(s, "defang")) *ret = SAN_LINKS_DEFANG;
	else if (!strcmp(s, "keep")) *ret = SAN_LINKS_KEEP;
	else if (!strcmp(s, "remove")) *ret = SAN_LINKS_REMOVE;
	else return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static const char *extra[256];
	sanitize_config_defaults(&cfg);
	char *sock = NULL;
	const char *notice_path = NULL, *qdir = NULL, *adir = NULL, *akey = NULL;
	size_t qmax = 0, retain_days = 0, workers = 2, timeout = 600, v;
	enum { O_LANG = 256, O_NOTICE, O_LINKS, O_CHARSET, O_KEEP, O_Q, O_QMAX, O_RETAIN, O_MSIZE, O_MDEPTH,
	       O_MPARTS, O_MHDR, O_MHLINE, O_MLINE, O_MDEC, O_MSEC, O_ADIR, O_AKEY, O_WORKERS, O_BUDGET, O_TIMEOUT };
	static const struct option opts[] = {
		{ "socket", 1, NULL, 's' }, { "lang", 1, NULL, O_LANG }, { "notice", 1, NULL, O_NOTICE },
		{ "links", 1, NULL, O_LINKS }, { "charset", 1, NULL, O_CHARSET },
		{ "keep-header", 1, NULL, O_KEEP }, { "quarantine", 1, NULL, O_Q }, { "quarantine-max", 1, NULL, O_QMAX },
		{ "retain-days", 1, NULL, O_RETAIN }, { "max-size", 1, NULL, O_MSIZE }, { "max-depth", 1, NULL, O_MDEPTH },
		{ "max-parts", 1, NULL, O_MPARTS }, { "max-headers", 1, NULL, O_MHDR }, { "max-header-line", 1, NULL, O_MHLINE },
		{ "max-line", 1, NULL, O_MLINE }, { "max-decoded", 1, NULL, O_MDEC }, { "max-seconds", 1, NULL, O_MSEC },
		{ "audit-dir", 1, NULL, O_ADIR }, { "audit-key", 1, NULL, O_AKEY }, { "workers", 1, NULL, O_WORKERS },
		{ "memory-budget", 1, NULL, O_BUDGET }, { "timeout", 1, NULL, O_TIMEOUT }, { "help", 0, NULL, 'h' }, { 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case O_LANG:
			if (strcmp(optarg, "ja") && strcmp(optarg, "en")) { usage(stderr); return 2; }
			cfg.lang = optarg; break;
		case O_NOTICE: notice_path = optarg; break;
		case O_LINKS: if (parse_links(optarg, &cfg.links) < 0) { usage(stderr); return 2; } break;
		case O_CHARSET:
			if (!strcasecmp(optarg, "utf-8")) cfg.iso2022jp = false;
			else if (!strcasecmp(optarg, "iso-2022-jp")) cfg.iso2022jp = true;
			else { usage(stderr); return 2; }
			break;
		case O_KEEP:
			if (cfg.n_extra == 256) { fprintf(stderr, "sekisho-milter: too many --keep-header\n"); return 2; }
			extra[cfg.n_extra++] = optarg;
			break;
		case O_Q: qdir = optarg; break;
		case O_ADIR: adir = optarg; break;
		case O_AKEY: akey = optarg; break;
		case 'h': usage(stdout); return 0;
		case O_QMAX: case O_RETAIN: case O_MSIZE: case O_MDEPTH: case O_MPARTS: case O_MHDR: case O_MHLINE:
		case O_MLINE: case O_MDEC: case O_MSEC: case O_WORKERS: case O_BUDGET: case O_TIMEOUT:
			if (parse_size(optarg, &v) < 0) { fprintf(stderr, "sekisho-milter: bad number '%s'\n", optarg); return 2; }
			if (ch == O_QMAX) qmax = v; else if (ch == O_RETAIN) retain_days = v;
			else if (ch == O_MSIZE) cfg.lim.max_message = v; else if (ch == O_MDEPTH) cfg.lim.max_depth = (unsigned)v;
			else if (ch == O_MPARTS) cfg.lim.max_parts = (unsigned)v; else if (ch == O_MHDR) cfg.lim.max_headers = (unsigned)v;
			else if (ch == O_MHLINE) cfg.lim.max_header_line = v; else if (ch == O_MLINE) cfg.lim.max_line = v;
			else if (ch == O_MDEC) cfg.lim.max_decoded = v; else if (ch == O_MSEC) cfg.lim.max_seconds = (unsigned)v;
			else if (ch == O_WORKERS) workers = v; else if (ch == O_BUDGET) memory_budget = v;
			else timeout = v;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (!sock || !qdir || !adir || !akey || optind != argc || workers > MAX_WORKERS) {
		fprintf(stderr, "sekisho-milter: --socket, --quarantine, --audit-dir and --audit-key are required\n");
		usage(stderr);
		return 2;
	}
	cfg.extra_headers = extra;
	if (!memory_budget) memory_budget = 4 * cfg.lim.max_message + ((size_t)64 << 20);
	pool_wait_s = cfg.lim.max_seconds ? 2 * cfg.lim.max_seconds : 60;
	char why[512] = "";
	int ex = 2;
	struct san_notice *notice = NULL;
	struct san_quarantine *q = NULL;
	size_t made = 0;
	if (notice_path) {
		if (san_notice_load(cfg.lang ? cfg.lang : "ja", notice_path, &notice, why, sizeof(why)) < 0) {
			fprintf(stderr, "sekisho-milter: %s\n", why); goto out;
		}
		cfg.notice = notice;
	}
	struct san_quarantine_opts qo = { .dir = qdir, .max_bytes = qmax, .retain_seconds = (uint64_t)retain_days * 86400 };
	if (san_quarantine_open(&qo, &q, why, sizeof(why)) < 0) { fprintf(stderr, "sekisho-milter: quarantine: %s\n", why); goto out; }
	cfg.quarantine = q;
	struct audit_key key;
	if (audit_key_load(akey, &key, why, sizeof(why)) < 0) { fprintf(stderr, "sekisho-milter: audit key: %s\n", why); goto out; }
	struct audit_opts ao = { .dir = adir, .component = "sanitizer", .key = &key, .lock_timeout_ms = 10000 };
	int r = audit_open(&ao, &audit, why, sizeof(why));
	audit_key_wipe(&key);
	if (r < 0) { fprintf(stderr, "sekisho-milter: audit: %s\n", why); goto out; }
	xmlInitParser();
	for (; made < workers; made++) {
		r = sanitize_ctx_new(&cfg, &pool[made]);
		if (r < 0) { fprintf(stderr, "sekisho-milter: init: %s\n", strerror(-r)); goto out; }
	}
	pool_free = made;

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
		fprintf(stderr, "sekisho-milter: cannot set up libmilter on %s\n", sock);
		goto out;
	}
	if (!strncmp(sock, "unix:", 5) || !strncmp(sock, "local:", 6)) unlink(strchr(sock, ':') + 1);
	if (smfi_opensocket(true) != MI_SUCCESS) { fprintf(stderr, "sekisho-milter: cannot listen on %s\n", sock); goto out; }
	if (!strncmp(sock, "inet", 4) && listen_nodelay() == 0)
		fprintf(stderr, "sekisho-milter: warning: could not set TCP_NODELAY on %s (slower replies)\n", sock);
	fprintf(stderr, "sekisho-milter: listening on %s (%zu workers)\n", sock, workers);
	ex = smfi_main() == MI_SUCCESS ? 0 : 2;
	fprintf(stderr, "sekisho-milter: stopped: %lu sanitised, %lu tempfailed\n", (unsigned long)n_ok, (unsigned long)n_tempfail);
out:
	for (size_t i = 0; i < made; i++) sanitize_ctx_free(pool[i]);
	if (audit && audit_close(audit) < 0) { fprintf(stderr, "sekisho-milter: audit log write failed\n"); ex = 2; }
	san_quarantine_close(q);
	san_notice_free(notice);
	return ex;
}
