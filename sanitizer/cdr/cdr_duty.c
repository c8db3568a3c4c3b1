/* cdr_duty: uploads, releases, notifications and follow-up mail (see
 * cdr_duty.h and docs/portal.md, "The worker's portal duties").
 *
 * Contract: nothing read from inbox/, portal-queue/ or links/ reaches a
 * path unless it passed its format's check (cdr_portal: ids, hashes); an
 * original is copied (never renamed: the upload process still owns the
 * inbox file and could write it after the check) while its SHA-256 is
 * computed, and published by rename only when the hash is the expected
 * one.  Files appear under their final names only after fsync; the
 * directories are fsynced after each rename that matters for a restart.
 * Allocation failure aborts (strbuf, control plane).  Never prints. */
#include "sanitizer/cdr/cdr_duty.h"
#include "common/fdio.h"
#include "common/jsonx.h"
#include "common/sha256.h"
#include "common/strbuf.h"
#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_mail.h"
#include "sanitizer/cdr/cdr_record.h"
#include "sanitizer/portal/ptl_link.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* a parcel's .part files older than this are a dead writer's */
#define PART_STALE_S 3600
/* data files of a parcel whose metadata never came */
#define ORPHAN_STALE_S 86400
#define STATE_MAX 4096

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Copy in (a regular file of exactly want bytes, or any size when want is
 * UINT64_MAX) to dir/tmp (mode), fsynced, with its SHA-256 in hex.  The
 * temporary file is removed on failure. */
static int copy_hashed(int in, int dir, const char *tmp, mode_t mode, uint64_t want, char hex[65], uint64_t *ret_bytes)
{
	int out = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (out < 0)
		return -errno;
	struct sha256_run md;
	int r = fchmod(out, mode) < 0 ? -errno : 0;
	bool running = r == 0 && sha256_run_init(&md) == 0;
	if (r == 0 && !running)
		r = -ENOMEM;
	uint64_t total = 0;
	static __thread uint8_t buf[1 << 16];
	while (r == 0) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (want != UINT64_MAX && total > want) {
			r = -EFBIG;
			break;
		}
		r = sha256_run_update(&md, buf, (size_t)n);
		if (r == 0)
			r = fdio_write_all(out, buf, (size_t)n);
	}
	if (r == 0 && want != UINT64_MAX && total != want)
		r = -EMSGSIZE;
	if (running && r == 0)
		r = sha256_run_hex(&md, hex);
	else if (running)
		sha256_run_abandon(&md);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (close(out) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dir, tmp, 0);
		return r;
	}
	*ret_bytes = total;
	return 0;
}

/* A small file of ours (a state file, a token), written whole: tmp,
 * fsync, rename, fsync of the directory */
static int write_small(int dir, const char *name, const char *text, mode_t mode)
{
	char tmp[160];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	int r = fchmod(fd, mode) < 0 ? -errno : fdio_write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dir, tmp, dir, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dir, tmp, 0);
		return r;
	}
	return fsync(dir) < 0 ? -errno : 0;
}

/* A small regular file into a NUL-terminated buffer: 0, -ENOENT, -EFBIG */
static int read_small(int dir, const char *name, size_t max, char **ret, size_t *ret_len)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (r == 0)
		r = fdio_read_all(fd, max, &buf, &len);
	close(fd);
	if (r < 0)
		return r;
	char *t = malloc(len + 1);
	if (!t) {
		free(buf);
		return -ENOMEM;
	}
	if (len)
		memcpy(t, buf, len);
	t[len] = 0;
	free(buf);
	*ret = t;
	*ret_len = len;
	return 0;
}

int cdr_duty_open_original(const struct cdr_duty *d, const char *origin, const char *sha)
{
	if (!cdr_portal_hex64(sha))
		return -EINVAL;
	int dir = origin && !strcmp(origin, "upload") ? d->transfer : d->quarantine;
	if (dir < 0)
		return -ENOENT;
	char name[80];
	snprintf(name, sizeof(name), "%s.data", sha);
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* ------------------------------------------------------------- release -- */

int cdr_duty_release(struct cdr_duty *d, const struct cdr_portal_req *r, char *why, size_t whylen)
{
	if (d->releases < 0) {
		snprintf(why, whylen, "no --releases directory");
		return -ENOTDIR;
	}
	int in = cdr_duty_open_original(d, r->origin, r->sha256);
	if (in < 0) {
		snprintf(why, whylen, "original %.16s (%s): %s", r->sha256, r->origin, strerror(-in));
		return in;
	}
	char tmp[96], final[96], hex[65];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", r->id);
	snprintf(final, sizeof(final), "%s.data", r->id);
	uint64_t bytes = 0;
	/* 0640: the portal reads it through the directory's group */
	int rc = copy_hashed(in, d->releases, tmp, 0640, UINT64_MAX, hex, &bytes);
	close(in);
	if (rc == 0 && strcmp(hex, r->sha256) != 0) {
		unlinkat(d->releases, tmp, 0);
		snprintf(why, whylen, "original %.16s does not match its SHA-256", r->sha256);
		return -EBADMSG;
	}
	if (rc == 0 && renameat(d->releases, tmp, d->releases, final) < 0)
		rc = -errno;
	if (rc == 0 && fsync(d->releases) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(d->releases, tmp, 0);
		snprintf(why, whylen, "releases/%s: %s", final, strerror(-rc));
		return rc;
	}
	const char *ap[CDR_PORTAL_MAX_APPROVERS];
	for (size_t i = 0; i < r->napprovers; i++)
		ap[i] = r->approvers[i];
	struct audit_field f[] = {
		AUDIT_STR("request", r->id),
		AUDIT_STR("sha256", r->sha256),
		AUDIT_STR("origin", r->origin),
		AUDIT_STRLIST("approvers", ap, r->napprovers),
		r->reason ? (struct audit_field)AUDIT_STR("reason", r->reason)
			  : (struct audit_field)AUDIT_NULL("reason"),
		AUDIT_UINT("bytes", bytes),
		r->link[0] ? (struct audit_field)AUDIT_STR("link", r->link) : (struct audit_field)AUDIT_NULL("link"),
	};
	audit_emit(d->audit, "file.released", f, sizeof(f) / sizeof(f[0]));
	return audit_flush(d->audit);
}

/* ---------------------------------------------------------------- mail -- */

/* an address as the manifest or a job may hold it ("<a@b>" or "a@b") in
 * ret, or false when it is not a plain address */
static bool plain_addr(const char *s, char *ret, size_t size)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (n >= size)
		return false;
	memcpy(ret, s, n);
	ret[n] = 0;
	return cdr_portal_addr_ok(ret);
}

static int send_mail(struct cdr_duty *d, const char *subject, const char *body, const char *const *to, size_t nto,
		     const struct cdr_mail_att *att, size_t natt, char *why, size_t whylen)
{
	if (!d->smtp_set || !d->mail_from) {
		snprintf(why, whylen, "no --smtp or --mail-from");
		return -ENOTCONN;
	}
	struct cdr_mail m = {.from = d->mail_from,
			     .to = to,
			     .nto = nto,
			     .subject = subject,
			     .body = body,
			     .att = att,
			     .natt = natt,
			     .date = now_s()};
	size_t len = 0;
	char *msg = cdr_mail_build(&m, &len);
	if (!msg) {
		int r = -errno;
		snprintf(why, whylen, "cannot build the mail: %s", strerror(errno));
		return r;
	}
	int r = cdr_smtp_send(&d->smtp, d->helo, d->mail_from, to, nto, msg, len, d->smtp_timeout_ms, why, whylen);
	free(msg);
	return r;
}

static void date_text(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

/* The upload notification's text: Japanese first, then English */
static char *notice_body(const struct cdr_duty *d, const struct ptl_link *l, const char *token)
{
	struct strbuf b = STRBUF_INIT;
	char until[32];
	date_text(l->expires, until, sizeof(until));
	const char *url = d->portal_url ? d->portal_url : "https://portal";
	const char *who = l->from ? l->from : "-";
	strbuf_puts(&b,
		    "インターネット接続系から、あなた宛てにファイルが届きました。\n"
		    "無害化したファイルは次のリンクから受け取れます(LGWAN 接続系の端末で開いてください)。\n\n");
	strbuf_printf(&b, "  %s/m/%s\n\n", url, token);
	strbuf_printf(&b, "有効期限: %s\n送信者: %s\n", until, who);
	strbuf_printf(&b, "メモ: %s\nファイル:\n", l->note ? l->note : "(なし)");
	for (size_t i = 0; i < l->nfiles; i++)
		strbuf_printf(&b, "  - %s (%llu バイト)\n", l->files[i].name ? l->files[i].name : "-",
			      (unsigned long long)l->files[i].bytes);
	strbuf_puts(&b, "\nこのメールは関所(sekisho)が自動で送信しています。\n\n----\n");
	strbuf_puts(&b,
		    "Files were sent to you from the Internet-connection segment.\n"
		    "Get the sanitised copies from this link (open it on an LGWAN terminal):\n\n");
	strbuf_printf(&b, "  %s/m/%s\n\n", url, token);
	strbuf_printf(&b, "Valid until: %s\nFrom: %s\n", until, who);
	strbuf_printf(&b, "Note: %s\nFiles:\n", l->note ? l->note : "(none)");
	for (size_t i = 0; i < l->nfiles; i++)
		strbuf_printf(&b, "  - %s (%llu bytes)\n", l->files[i].name ? l->files[i].name : "-",
			      (unsigned long long)l->files[i].bytes);
	strbuf_puts(&b, "\nThis message was sent automatically by sekisho.\n");
	return strbuf_steal(&b);
}

/* Send the notification of manifest l (hash) with its token; audit
 * mail.upload_notice (flushed for a notify request; the intake flushes
 * once, with its own record, before the parcel goes). */
static int upload_notice(struct cdr_duty *d, const struct ptl_link *l, const char *hash, const char *token,
			 const char *parcel, const char *request, char *why, size_t whylen)
{
	char addr[PTL_LINK_MAX_RCPT][256];
	const char *to[PTL_LINK_MAX_RCPT];
	size_t nto = 0;
	for (size_t i = 0; i < l->nrcpt; i++)
		if (plain_addr(l->rcpt[i], addr[nto], sizeof(addr[nto]))) {
			to[nto] = addr[nto];
			nto++;
		}
	if (nto == 0) {
		snprintf(why, whylen, "no usable recipient");
		return -EINVAL;
	}
	char *body = notice_body(d, l, token);
	int r = send_mail(d, "ファイルが届いています / Files have arrived for you (sekisho)", body, to, nto, NULL, 0,
			  why, whylen);
	free(body);
	struct audit_field f[] = {
		AUDIT_STR("link", hash),
		parcel ? (struct audit_field)AUDIT_STR("parcel", parcel) : (struct audit_field)AUDIT_NULL("parcel"),
		request ? (struct audit_field)AUDIT_STR("request", request) : (struct audit_field)AUDIT_NULL("request"),
		AUDIT_STRLIST("rcpt", to, nto),
		l->from ? (struct audit_field)AUDIT_STR("uploader", l->from)
			: (struct audit_field)AUDIT_NULL("uploader"),
		AUDIT_UINT("files", l->nfiles),
		AUDIT_STR("result",
			  r == 0                    ? "sent"
				  : r == -EREMOTEIO ? "refused"
						    : "failed"),
		AUDIT_STR("smtp", why),
	};
	audit_emit(d->audit, "mail.upload_notice", f, sizeof(f) / sizeof(f[0]));
	int fr = parcel ? 0 : audit_flush(d->audit);
	return r < 0 ? r : fr;
}

/* ------------------------------------------------------------- uploads -- */

static void parcel_reject(struct cdr_duty *d, const char *id, const char *key, const char *detail)
{
	struct audit_field f[] = {
		AUDIT_STR("parcel", id),
		AUDIT_STR("reason", key),
		AUDIT_STR("detail", detail),
	};
	audit_emit(d->audit, "upload.intake_refused", f, 3);
	audit_flush(d->audit);
}

/* remove a parcel: its data files first, its metadata, then our state
 * (a kill in between leaves a parcel that is finished again) */
static void parcel_remove(struct cdr_duty *d, const char *id, size_t nfiles)
{
	char name[96];
	for (size_t n = 0; n < nfiles; n++) {
		snprintf(name, sizeof(name), "%s.%zu.data", id, n);
		unlinkat(d->inbox, name, 0);
	}
	snprintf(name, sizeof(name), "%s.json", id);
	unlinkat(d->inbox, name, 0);
	fsync(d->inbox);
	snprintf(name, sizeof(name), "%s.intake", id);
	unlinkat(d->transfer, name, 0);
}

/* The files of a parcel whose metadata could not be read: every
 * <id>.<n>.data (n < CDR_PARCEL_MAX_FILES + 1) and the metadata */
static void parcel_drop(struct cdr_duty *d, const char *id)
{
	parcel_remove(d, id, CDR_PARCEL_MAX_FILES + 1);
}

/* the intake state of a parcel: transfer/<id>.intake */
struct intake_state {
	char stage[16]; /* "", "linked", "delivered" */
	char hash[PTL_HASH_LEN + 1];
	char token[PTL_TOKEN_LEN + 1];
};

static int state_load(struct cdr_duty *d, const char *id, struct intake_state *st)
{
	memset(st, 0, sizeof(*st));
	char name[64], *text;
	size_t len;
	snprintf(name, sizeof(name), "%s.intake", id);
	int r = read_small(d->transfer, name, STATE_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	struct json_object *o = jsonx_parse(text, len, 4), *v;
	free(text);
	r = -EINVAL;
	char hash[PTL_HASH_LEN + 1];
	if (o && json_object_object_get_ex(o, "stage", &v) && json_object_is_type(v, json_type_string) &&
	    strlen(json_object_get_string(v)) < sizeof(st->stage)) {
		snprintf(st->stage, sizeof(st->stage), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(o, "link", &v) && json_object_is_type(v, json_type_string) &&
		    json_object_object_get_ex(o, "token", &v) && json_object_is_type(v, json_type_string) &&
		    ptl_token_hash(json_object_get_string(v), hash) == 0) {
			snprintf(st->token, sizeof(st->token), "%s", json_object_get_string(v));
			json_object_object_get_ex(o, "link", &v);
			if (!strcmp(hash, json_object_get_string(v))) {
				snprintf(st->hash, sizeof(st->hash), "%s", hash);
				r = 0;
			}
		}
	}
	json_object_put(o);
	if (r < 0)
		memset(st, 0, sizeof(*st));
	return r;
}

static int state_save(struct cdr_duty *d, const char *id, struct intake_state *st, const char *stage)
{
	snprintf(st->stage, sizeof(st->stage), "%s", stage);
	char name[64], text[256];
	snprintf(name, sizeof(name), "%s.intake", id);
	snprintf(text, sizeof(text), "{\"stage\":\"%s\",\"link\":\"%s\",\"token\":\"%s\"}", st->stage, st->hash,
		 st->token);
	return write_small(d->transfer, name, text, 0600);
}

/* check and copy every file of p into transfer/ */
static int parcel_copy(struct cdr_duty *d, const struct cdr_parcel *p, const char **key, char *why, size_t whylen)
{
	for (size_t i = 0; i < p->nfiles; i++) {
		const struct cdr_parcel_file *f = &p->files[i];
		char name[96], tmp[96], final[96], hex[65];
		snprintf(name, sizeof(name), "%s.%u.data", p->id, f->n);
		snprintf(tmp, sizeof(tmp), ".%s.%u.tmp", p->id, f->n);
		snprintf(final, sizeof(final), "%s.data", f->sha256);
		int in = openat(d->inbox, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		struct stat st;
		if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
			*key = "missing-file";
			snprintf(why, whylen, "%s: %s", name, in < 0 ? strerror(errno) : "not a regular file");
			if (in >= 0)
				close(in);
			return -ENOENT;
		}
		/* the upload process caps sizes; the worker caps them too,
		 * since the metadata comes from the Internet side */
		uint64_t cap = d->max_file_bytes ? d->max_file_bytes : (uint64_t)1 << 30;
		if (f->bytes > cap) {
			close(in);
			*key = "input-size-limit";
			snprintf(why, whylen, "%s: %llu bytes, over %llu", name, (unsigned long long)f->bytes,
				 (unsigned long long)cap);
			return -EFBIG;
		}
		uint64_t bytes = 0;
		int r = copy_hashed(in, d->transfer, tmp, 0600, f->bytes, hex, &bytes);
		close(in);
		if (r == -EFBIG || r == -EMSGSIZE) {
			*key = "size-mismatch";
			snprintf(why, whylen, "%s: not %llu bytes", name, (unsigned long long)f->bytes);
			return r;
		}
		if (r == 0 && strcmp(hex, f->sha256) != 0) {
			unlinkat(d->transfer, tmp, 0);
			*key = "hash-mismatch";
			snprintf(why, whylen, "%s: SHA-256 %.16s..., not %.16s...", name, hex, f->sha256);
			return -EBADMSG;
		}
		if (r == 0 && renameat(d->transfer, tmp, d->transfer, final) < 0)
			r = -errno;
		if (r < 0) {
			unlinkat(d->transfer, tmp, 0);
			*key = NULL; /* ours, not the parcel's: try again later */
			snprintf(why, whylen, "transfer/%s: %s", final, strerror(-r));
			return r;
		}
	}
	return fsync(d->transfer) < 0 ? -errno : 0;
}

static void parcel_link(const struct cdr_duty *d, const struct cdr_parcel *p, struct ptl_link *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->origin, sizeof(l->origin), "upload");
	l->created = now_s();
	l->expires = l->created + d->link_ttl_s;
	l->from = p->uploader;
	l->note = p->note;
	l->rcpt[0] = p->rcpt;
	l->nrcpt = 1;
	static char pending[] = "pending";
	for (size_t i = 0; i < p->nfiles; i++) {
		snprintf(l->files[i].sha256, sizeof(l->files[i].sha256), "%s", p->files[i].sha256);
		l->files[i].name = p->files[i].name;
		l->files[i].bytes = p->files[i].bytes;
		l->files[i].cdr = pending;
	}
	l->nfiles = p->nfiles;
}

/* One parcel whose metadata exists.  1 when it was taken or refused (it
 * is gone from inbox/), 0 when it must wait (a failure of ours: why), or
 * -errno. */
static int intake_one(struct cdr_duty *d, const char *id, char *why, size_t whylen)
{
	char name[64], *text = NULL;
	size_t len = 0;
	snprintf(name, sizeof(name), "%s.json", id);
	int r = read_small(d->inbox, name, CDR_PARCEL_MAX_BYTES, &text, &len);
	struct cdr_parcel p;
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = cdr_parcel_parse(text, len, &p);
	free(text);
	if (r == 0 && strcmp(p.id, id) != 0) {
		cdr_parcel_free(&p);
		r = -EINVAL;
	}
	if (r == -EINVAL || r == -EFBIG) {
		parcel_reject(d, id, "bad-metadata",
			      r == -EFBIG ? "metadata over 64 KiB" : "metadata not in the documented format");
		parcel_drop(d, id);
		return 1;
	}
	if (r < 0) {
		snprintf(why, whylen, "inbox/%s: %s", name, strerror(-r));
		return r;
	}
	struct intake_state st;
	if (state_load(d, id, &st) < 0)
		memset(&st, 0, sizeof(st)); /* damaged: start again */
	/* delivered before a kill: only the record and the removal are left */
	bool delivered = !strcmp(st.stage, "delivered");
	const char *key = NULL;
	r = delivered ? 0 : parcel_copy(d, &p, &key, why, whylen);
	if (r < 0 && key) {
		parcel_reject(d, id, key, why);
		parcel_remove(d, id, p.nfiles);
		cdr_parcel_free(&p);
		return 1;
	}
	struct ptl_link l;
	parcel_link(d, &p, &l);
	if (r == 0 && !st.stage[0]) {
		/* a kill between the manifest and the state leaves a manifest
		 * nobody has the token of: it expires unseen */
		r = ptl_link_write(d->links, &l, st.token, st.hash);
		if (r < 0)
			snprintf(why, whylen, "link manifest: %s", strerror(-r));
		else
			r = state_save(d, id, &st, "linked");
	}
	/* after a kill from here on the jobs are queued again: a duplicate
	 * job finds its result and reuses it (one fsynced stage less) */
	if (r == 0 && !strcmp(st.stage, "linked")) {
		for (size_t i = 0; r == 0 && i < p.nfiles; i++) {
			struct cdr_job j = {0};
			snprintf(j.sha256, sizeof(j.sha256), "%s", p.files[i].sha256);
			snprintf(j.link, sizeof(j.link), "%s", st.hash);
			snprintf(j.origin, sizeof(j.origin), "upload");
			snprintf(j.deliver, sizeof(j.deliver), "link");
			j.name = p.files[i].name;
			j.rcpt[0] = p.rcpt;
			j.nrcpt = 1;
			r = cdr_queue_enqueue(d->queue, &j);
			if (r < 0)
				snprintf(why, whylen, "cdr queue: %s", strerror(-r));
		}
	}
	if (r == 0 && !strcmp(st.stage, "linked")) {
		if (p.approval) {
			/* the notify request has only the hash: the token waits
			 * here, readable by the worker alone, until then */
			char tname[96];
			snprintf(tname, sizeof(tname), "%s.token", st.hash);
			r = write_small(d->transfer, tname, st.token, 0600);
			/* then the mark by which the portal lists it (it cannot
			 * read transfer/); after the token, so that an approval
			 * always finds one to mail */
			if (r == 0)
				r = ptl_link_approval_mark(d->links, st.hash);
			if (r < 0)
				snprintf(why, whylen, "approval: %s", strerror(-r));
		} else {
			r = upload_notice(d, &l, st.hash, st.token, id, NULL, why, whylen);
			/* refused for good (5xx, recorded "refused"): trying again
			 * would only block the inbox */
			if (r == -EREMOTEIO)
				r = 0;
		}
		if (r == 0)
			r = state_save(d, id, &st, "delivered");
	}
	if (r == 0) {
		const char *names[CDR_PARCEL_MAX_FILES], *shas[CDR_PARCEL_MAX_FILES];
		for (size_t i = 0; i < p.nfiles; i++) {
			names[i] = p.files[i].name;
			shas[i] = p.files[i].sha256;
		}
		struct audit_field f[] = {
			AUDIT_STR("parcel", id),
			AUDIT_STR("uploader", p.uploader),
			p.peer ? (struct audit_field)AUDIT_STR("peer", p.peer) : (struct audit_field)AUDIT_NULL("peer"),
			AUDIT_STR("rcpt", p.rcpt),
			AUDIT_STR("link", st.hash),
			AUDIT_BOOL("approval", p.approval),
			AUDIT_STRLIST("names", names, p.nfiles),
			AUDIT_STRLIST("sha256", shas, p.nfiles),
		};
		audit_emit(d->audit, "upload.intake", f, sizeof(f) / sizeof(f[0]));
		r = audit_flush(d->audit);
		if (r == 0)
			parcel_remove(d, id, p.nfiles);
	}
	explicit_bzero(&st, sizeof(st));
	cdr_parcel_free(&p);
	return r < 0 ? 0 : 1;
}

/* the parcel id of "<id>.json", or false */
static bool meta_name(const char *s, char *id)
{
	size_t n = strlen(s);
	if (n != CDR_PARCEL_ID_LEN + 5 || strcmp(s + CDR_PARCEL_ID_LEN, ".json"))
		return false;
	memcpy(id, s, CDR_PARCEL_ID_LEN);
	id[CDR_PARCEL_ID_LEN] = 0;
	return cdr_parcel_id_ok(id);
}

/* a dead writer's leftovers: .part files after an hour, data files
 * without metadata after a day */
static void sweep_one(struct cdr_duty *d, const char *name)
{
	struct stat st;
	size_t n = strlen(name);
	bool part = name[0] == '.' && n > 5 && !strcmp(name + n - 5, ".part");
	bool data = n > 5 && !strcmp(name + n - 5, ".data") && name[0] != '.';
	if (!part && !data)
		return;
	if (fstatat(d->inbox, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	int64_t age = now_s() - (int64_t)st.st_mtime;
	if (part && age > PART_STALE_S) {
		unlinkat(d->inbox, name, 0);
		return;
	}
	if (data && age > ORPHAN_STALE_S && n > CDR_PARCEL_ID_LEN) {
		char meta[64];
		snprintf(meta, sizeof(meta), "%.*s.json", CDR_PARCEL_ID_LEN, name);
		if (faccessat(d->inbox, meta, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			unlinkat(d->inbox, name, 0);
	}
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

int cdr_duty_intake(struct cdr_duty *d, char *why, size_t whylen)
{
	if (d->inbox < 0 || d->transfer < 0 || !d->links)
		return 0;
	int fd = fcntl(d->inbox, F_DUPFD_CLOEXEC, 0);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(why, whylen, "inbox: %s", strerror(-r));
		return r;
	}
	rewinddir(dir);
	/* the oldest first (ids start with the upload's clock), at most
	 * max_parcels per pass */
	size_t cap = d->max_parcels ? d->max_parcels : 64, n = 0;
	char(*ids)[CDR_PARCEL_ID_LEN + 1] = calloc(cap, sizeof(*ids));
	if (!ids) {
		closedir(dir);
		return -ENOMEM;
	}
	struct dirent *e;
	while ((e = readdir(dir))) {
		char id[CDR_PARCEL_ID_LEN + 1];
		if (meta_name(e->d_name, id)) {
			if (n < cap) {
				memcpy(ids[n++], id, sizeof(id));
			} else {
				size_t max = 0;
				for (size_t i = 1; i < n; i++)
					if (strcmp(ids[i], ids[max]) > 0)
						max = i;
				if (strcmp(id, ids[max]) < 0)
					memcpy(ids[max], id, sizeof(id));
			}
		} else {
			sweep_one(d, e->d_name);
		}
	}
	closedir(dir);
	qsort(ids, n, sizeof(*ids), cmp_id);
	int done = 0, err = 0;
	why[0] = 0;
	for (size_t i = 0; i < n; i++) {
		char w[256] = "";
		int r = intake_one(d, ids[i], w, sizeof(w));
		if (r > 0)
			done++;
		/* a parcel done (taken, or refused for good) may leave a text
		 * in w (the server's 250, the refusal's detail): only one
		 * left for later is a failure that makes the caller wait */
		if (r <= 0 && w[0] && !why[0]) {
			snprintf(why, whylen, "parcel %s: %s", ids[i], w);
			err = r < 0 ? r : -EAGAIN;
		}
	}
	free(ids);
	return err && !done ? err : done;
}

/* -------------------------------------------------------------- notify -- */

int cdr_duty_notify(struct cdr_duty *d, const struct cdr_portal_req *r, char *why, size_t whylen)
{
	if (!d->links || d->transfer < 0) {
		snprintf(why, whylen, "no --links or --transfer");
		return -ENOTDIR;
	}
	struct ptl_link l;
	int rc = ptl_link_load_hash(d->links, r->link, now_s(), &l);
	if (rc < 0) {
		snprintf(why, whylen, "link %.16s: %s", r->link, strerror(-rc));
		return rc;
	}
	if (strcmp(l.origin, "upload") != 0) {
		ptl_link_free(&l);
		snprintf(why, whylen, "link %.16s is not an upload", r->link);
		return -ENOENT;
	}
	char tname[96], *token = NULL, hash[PTL_HASH_LEN + 1];
	size_t len = 0;
	snprintf(tname, sizeof(tname), "%s.token", r->link);
	pthread_mutex_lock(&d->mu);
	rc = read_small(d->transfer, tname, 128, &token, &len);
	if (rc == -ENOENT) {
		/* sent already (the token goes once the mail went) */
		pthread_mutex_unlock(&d->mu);
		ptl_link_free(&l);
		snprintf(why, whylen, "already sent");
		return 0;
	}
	if (rc == 0 && (ptl_token_hash(token, hash) < 0 || strcmp(hash, r->link) != 0))
		rc = -EINVAL;
	if (rc == 0)
		rc = upload_notice(d, &l, r->link, token, NULL, r->id, why, whylen);
	if (rc == -EREMOTEIO)
		rc = 0; /* refused for good, recorded: the request ends */
	if (rc == 0) {
		unlinkat(d->transfer, tname, 0);
		fsync(d->transfer);
	}
	pthread_mutex_unlock(&d->mu);
	if (token) {
		explicit_bzero(token, len);
		free(token);
	}
	ptl_link_free(&l);
	return rc;
}

/* ----------------------------------------------------------- follow-up -- */

/* the name a copy gets in the mail: the original's name with the copy's
 * extension, or "file-N.EXT" */
static char *copy_name(const char *name, size_t n, const char *ext)
{
	struct strbuf b = STRBUF_INIT;
	if (!name || !*name) {
		strbuf_printf(&b, "file-%zu.%s", n + 1, ext);
		return strbuf_steal(&b);
	}
	const char *dot = strrchr(name, '.');
	size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
	if (stem > 200)
		stem = 200; /* RFC 2231 names stay short; the UTF-8 cut is repaired below */
	while (stem > 0 && ((unsigned char)name[stem] & 0xc0) == 0x80)
		stem--;
	strbuf_printf(&b, "%.*s.%s", (int)stem, name, ext);
	return strbuf_steal(&b);
}

struct fu_file {
	char *name; /* copy's name in the mail, or the original's name */
	int fd;     /* the copy, or -1 */
	uint64_t bytes;
	const char *key; /* no copy: the reason key (static, cdr_reason) */
};

/* The results of every file of l: 1 all there (files filled), 0 not yet */
static int fu_collect(struct cdr_duty *d, const struct ptl_link *l, struct fu_file *files)
{
	for (size_t i = 0; i < l->nfiles; i++) {
		const struct ptl_link_file *f = &l->files[i];
		struct fu_file *o = &files[i];
		o->fd = -1;
		if (f->cdr && !strncmp(f->cdr, "none:", 5)) {
			o->key = cdr_reason_key(f->cdr + 5) ? cdr_reason_key(f->cdr + 5) : "unsupported-format";
			o->name = strdup(f->name ? f->name : "-");
			continue;
		}
		char rep[96], *text;
		size_t len;
		snprintf(rep, sizeof(rep), "%s.report.json", f->sha256);
		if (read_small(d->copies, rep, CDR_RECORD_MAX_REPORT, &text, &len) < 0)
			return 0;
		struct cdr_record rec = {0};
		int r = cdr_record_parse(text, len, &rec);
		free(text);
		if (r < 0) {
			o->key = "converter-report";
			o->name = strdup(f->name ? f->name : "-");
			continue;
		}
		if (!strcmp(rec.result, "ok") && cdr_record_ext_ok(rec.out_ext)) {
			char copy[96];
			snprintf(copy, sizeof(copy), "%s.copy.%s", f->sha256, rec.out_ext);
			o->fd = openat(d->copies, copy, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			struct stat st;
			if (o->fd >= 0 && fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode)) {
				o->bytes = (uint64_t)st.st_size;
				o->name = copy_name(f->name, i, rec.out_ext);
				continue;
			}
			if (o->fd >= 0)
				close(o->fd);
			o->fd = -1;
			o->key = "internal-error";
		} else {
			o->key = cdr_reason_key(rec.reason) ? cdr_reason_key(rec.reason) : "internal-error";
		}
		o->name = strdup(f->name ? f->name : "-");
	}
	return 1;
}

static char *fu_body(const struct ptl_link *l, const struct fu_file *files, bool over, uint64_t max)
{
	struct strbuf b = STRBUF_INIT;
	size_t ncopy = 0;
	for (size_t i = 0; i < l->nfiles; i++)
		ncopy += files[i].fd >= 0;
	strbuf_puts(&b, "先ほどのメールから取り除いた添付ファイルを無害化しました。\n");
	if (l->subject)
		strbuf_printf(&b, "元のメールの件名: %s\n", l->subject);
	if (l->from)
		strbuf_printf(&b, "元のメールの送信者: %s\n", l->from);
	if (over)
		strbuf_printf(&b,
			      "\n無害化したファイルの合計が %llu MiB を超えるため添付していません。"
			      "最初の通知メールのリンクから受け取ってください。\n",
			      (unsigned long long)(max >> 20));
	strbuf_printf(&b, "\n無害化したファイル (%zu):\n", ncopy);
	for (size_t i = 0; i < l->nfiles; i++)
		if (files[i].fd >= 0)
			strbuf_printf(&b, "  - %s\n", files[i].name);
	if (ncopy < l->nfiles) {
		strbuf_printf(&b, "\n無害化できなかったファイル (%zu):\n", l->nfiles - ncopy);
		for (size_t i = 0; i < l->nfiles; i++)
			if (files[i].fd < 0)
				strbuf_printf(&b, "  - %s: %s\n", files[i].name, cdr_reason_ja(files[i].key));
		strbuf_puts(&b, "  (原本は隔離保管されています。)\n");
	}
	strbuf_puts(&b, "\nこのメールは関所(sekisho)が自動で送信しています。\n\n----\n");
	strbuf_puts(&b, "The attachments removed from the earlier message have been sanitised.\n");
	if (l->subject)
		strbuf_printf(&b, "Subject of that message: %s\n", l->subject);
	if (l->from)
		strbuf_printf(&b, "Its sender: %s\n", l->from);
	if (over)
		strbuf_printf(&b,
			      "\nThe copies are not attached: together they exceed %llu MiB. "
			      "Get them from the link in the first notice.\n",
			      (unsigned long long)(max >> 20));
	strbuf_printf(&b, "\nSanitised copies (%zu):\n", ncopy);
	for (size_t i = 0; i < l->nfiles; i++)
		if (files[i].fd >= 0)
			strbuf_printf(&b, "  - %s\n", files[i].name);
	if (ncopy < l->nfiles) {
		strbuf_printf(&b, "\nFiles without a copy (%zu):\n", l->nfiles - ncopy);
		for (size_t i = 0; i < l->nfiles; i++)
			if (files[i].fd < 0)
				strbuf_printf(&b, "  - %s: %s\n", files[i].name, cdr_reason_en(files[i].key));
		strbuf_puts(&b, "  (The originals stay in quarantine.)\n");
	}
	strbuf_puts(&b, "\nThis message was sent automatically by sekisho.\n");
	return strbuf_steal(&b);
}

static int marker(struct cdr_duty *d, const char *link, const char *suffix, bool create)
{
	char name[96];
	snprintf(name, sizeof(name), "%.64s.%.16s", link, suffix);
	if (!create)
		return unlinkat(d->sent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	int fd = openat(d->sent, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return fsync(d->sent) < 0 ? -errno : 0;
}

static bool marked(struct cdr_duty *d, const char *link, const char *suffix)
{
	char name[96];
	snprintf(name, sizeof(name), "%.64s.%.16s", link, suffix);
	return faccessat(d->sent, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int follow_up_locked(struct cdr_duty *d, const char *link, char *why, size_t whylen)
{
	if (marked(d, link, "sent")) {
		marker(d, link, "pending", false);
		return 0;
	}
	struct ptl_link l;
	int r = ptl_link_load_hash(d->links, link, now_s(), &l);
	if (r == -EKEYREVOKED || r == -EKEYEXPIRED || r == -ENOENT) {
		/* nobody is to get these copies any more */
		marker(d, link, "pending", false);
		snprintf(why, whylen, "link %.16s: %s", link, strerror(-r));
		return 0;
	}
	if (r < 0) {
		snprintf(why, whylen, "link %.16s: %s", link, strerror(-r));
		return r;
	}
	struct fu_file files[PTL_LINK_MAX_FILES] = {0};
	if (!fu_collect(d, &l, files)) {
		/* not every result is there: the last job sends it */
		for (size_t i = 0; i < l.nfiles; i++) {
			free(files[i].name);
			if (files[i].fd >= 0)
				close(files[i].fd);
		}
		ptl_link_free(&l);
		return marker(d, link, "pending", true);
	}
	uint64_t total = 0;
	struct cdr_mail_att att[PTL_LINK_MAX_FILES];
	size_t natt = 0;
	for (size_t i = 0; i < l.nfiles; i++)
		if (files[i].fd >= 0) {
			total += files[i].bytes;
			att[natt++] = (struct cdr_mail_att){
				.name = files[i].name, .fd = files[i].fd, .bytes = files[i].bytes};
		}
	bool over = total > d->follow_up_max;
	char addr[PTL_LINK_MAX_RCPT][256];
	const char *to[PTL_LINK_MAX_RCPT];
	size_t nto = 0;
	for (size_t i = 0; i < l.nrcpt; i++)
		if (plain_addr(l.rcpt[i], addr[nto], sizeof(addr[nto]))) {
			to[nto] = addr[nto];
			nto++;
		}
	char *body = fu_body(&l, files, over, d->follow_up_max);
	if (nto == 0) {
		snprintf(why, whylen, "no usable recipient");
		r = -EINVAL;
	} else {
		r = marker(d, link, "pending", true);
		if (r == 0)
			r = send_mail(d, "無害化したファイル / Sanitised files (sekisho)", body, to, nto,
				      over ? NULL : att, over ? 0 : natt, why, whylen);
	}
	free(body);
	/* refused for good (5xx): recorded, and not tried again */
	bool refused = r == -EREMOTEIO;
	if (r == 0 || refused) {
		r = marker(d, link, "sent", true);
		marker(d, link, "pending", false);
		const char *names[PTL_LINK_MAX_FILES];
		for (size_t i = 0; i < natt; i++)
			names[i] = att[i].name;
		struct audit_field f[] = {
			AUDIT_STR("link", link),
			AUDIT_STR("result", refused ? "refused" : "sent"),
			l.message_id ? (struct audit_field)AUDIT_STR("message_id", l.message_id)
				     : (struct audit_field)AUDIT_NULL("message_id"),
			AUDIT_STRLIST("rcpt", to, nto),
			AUDIT_STR("mode", over ? "link" : "attached"),
			AUDIT_STRLIST("copies", names, over ? 0 : natt),
			AUDIT_UINT("bytes", over ? 0 : total),
			AUDIT_UINT("without_copy", l.nfiles - natt),
			AUDIT_STR("smtp", why),
		};
		audit_emit(d->audit, "mail.copies_sent", f, sizeof(f) / sizeof(f[0]));
		int fr = audit_flush(d->audit);
		r = r < 0 ? r : fr;
	}
	for (size_t i = 0; i < l.nfiles; i++) {
		free(files[i].name);
		if (files[i].fd >= 0)
			close(files[i].fd);
	}
	ptl_link_free(&l);
	return r;
}

int cdr_duty_follow_up(struct cdr_duty *d, const char *link, char *why, size_t whylen)
{
	if (!d->links || d->sent < 0 || !cdr_portal_hex64(link))
		return -EINVAL;
	why[0] = 0;
	pthread_mutex_lock(&d->mu);
	int r = follow_up_locked(d, link, why, whylen);
	pthread_mutex_unlock(&d->mu);
	return r;
}

int cdr_duty_follow_up_retry(struct cdr_duty *d, char *why, size_t whylen)
{
	if (!d->links || d->sent < 0)
		return 0;
	int fd = fcntl(d->sent, F_DUPFD_CLOEXEC, 0);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(dir);
	char links[64][PTL_HASH_LEN + 1];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dir)) && n < 64) {
		size_t len = strlen(e->d_name);
		if (len == PTL_HASH_LEN + 8 && !strcmp(e->d_name + PTL_HASH_LEN, ".pending")) {
			memcpy(links[n], e->d_name, PTL_HASH_LEN);
			links[n][PTL_HASH_LEN] = 0;
			if (cdr_portal_hex64(links[n]))
				n++;
		}
	}
	closedir(dir);
	int sent = 0, err = 0;
	for (size_t i = 0; i < n; i++) {
		char w[256] = "";
		bool was = marked(d, links[i], "sent");
		int r = cdr_duty_follow_up(d, links[i], w, sizeof(w));
		if (r < 0 && !err) {
			err = r;
			snprintf(why, whylen, "%s", w);
		}
		if (r == 0 && !was && marked(d, links[i], "sent"))
			sent++;
	}
	return err && !sent ? err : sent;
}
