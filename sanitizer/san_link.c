/* san_link: the milter's link hook (see san_link.h).
 *
 * Contract: every string that goes into the manifest is cleaned here
 * (valid UTF-8, no control characters, capped) because ptl_link_write
 * refuses the whole manifest for one bad string; what the sender wrote
 * (subject, names) must not cost the recipients their link.  Reads of the
 * copies directory and the quarantine are capped and never follow a
 * symbolic link.  Failure: the result's link says failed with a reason
 * key; the mail goes on. */
#include "sanitizer/san_link.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/utf8.h"
#include "sanitizer/cdr/cdr.h"
#include "sanitizer/cdr/cdr_record.h"
#include "sanitizer/portal/ptl_link.h"

/* caps of what the sender controls, so that 64 files and 64 recipients
 * stay below PTL_LINK_MAX_BYTES: a file is at most about 680 bytes of
 * JSON (name 400, type 100, SHA-256 64, state and keys), a recipient 260,
 * subject and message id 1024 each: 64 x 680 + 64 x 260 + 2 x 1024 + 254
 * is about 61 KiB before JSON escapes.  Escapes can double the strings: a
 * manifest over the cap is made again with a quarter of each cap (64 x
 * (2 x 125 + 64 + 60) + 64 x (2 x 63 + 4) + 4 x 256 + 2 x 63 is about
 * 33 KiB, whatever the strings), so a link is never lost to its size */
#define CAP_SUBJECT 1024
#define CAP_NAME 400
#define CAP_TYPE 100
#define CAP_ADDR 254

/* A copy of s fit for the manifest: at most cap bytes, cut on a character
 * boundary; invalid UTF-8 bytes become '?', control characters (C0, DEL,
 * C1) a space.  NULL for NULL or "". */
static char *clean_dup(const char *s, size_t cap)
{
	if (!s || !*s)
		return NULL;
	size_t n = strlen(s);
	char *o = malloc((n < cap ? n : cap) + 1);
	if (!o)
		return NULL;
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_decode(s + i, n - i, &cp);
		if (l == 0) {
			cp = '?';
			l = 1;
		} else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			cp = ' ';
		}
		size_t el = cp == '?' || cp == ' ' ? 1 : l;
		if (w + el > cap)
			break;
		if (el == 1)
			o[w] = (char)cp;
		else
			memcpy(o + w, s + i, el);
		w += el;
		i += l;
	}
	o[w] = '\0';
	return o;
}

/* The copies directory's report for sha: 1 and the state ("ready" or
 * "none:<key>") in buf when it settles the item, 0 when there is none
 * (or it says nothing final: a failure of ours, which the next job tries
 * again, as the worker does). */
static int report_state(const char *dir, const char *sha, char *buf, size_t len)
{
	char path[4200];
	if (!dir || snprintf(path, sizeof(path), "%s/%s.report.json", dir, sha) >= (int)sizeof(path))
		return 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	char *text = NULL;
	int found = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (size_t)st.st_size <= CDR_RECORD_MAX_REPORT && (text = malloc((size_t)st.st_size))) {
		ssize_t got = pread(fd, text, (size_t)st.st_size, 0);
		struct cdr_record rec = {0};
		if (got == st.st_size && cdr_record_parse(text, (size_t)got, &rec) == 0) {
			bool ours = !strcmp(rec.reason, "attempts-exhausted") ||
				!strcmp(rec.reason, "original-missing") || !rec.reason[0];
			if (!strcmp(rec.result, "ok")) {
				snprintf(buf, len, "ready");
				found = 1;
			} else if (!ours && cdr_reason_key(rec.reason)) {
				snprintf(buf, len, "none:%s", rec.reason);
				found = 1;
			}
		}
	}
	free(text);
	close(fd);
	return found;
}

int san_link_state(const struct san_link_opts *o, const struct sanitize_item *it, char **ret_state)
{
	char st[80] = "pending";
	if (report_state(o->copies_dir, it->sha256, st, sizeof(st)) == 0) {
		/* the same first bytes the CDR core looks at (cdr_convert) */
		uint8_t head[16];
		ssize_t got = 0;
		char path[4200];
		if (o->qdir && snprintf(path, sizeof(path), "%s/%s.data", o->qdir, it->sha256) < (int)sizeof(path)) {
			int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			if (fd >= 0) {
				got = pread(fd, head, sizeof(head), 0);
				close(fd);
			}
		}
		char type[24];
		if (it->size == 0)
			snprintf(st, sizeof(st), "none:empty");
		else if (got > 0 && cdr_kind_of(head, (size_t)got, it->name, type, sizeof(type)) == CDR_KIND_UNKNOWN)
			snprintf(st, sizeof(st), "none:unsupported-format");
	}
	*ret_state = strdup(st);
	return *ret_state ? 0 : -ENOMEM;
}

int san_link_url_check(const char *url, char out[SAN_LINK_URL_MAX + 1], char *why, size_t whylen)
{
	size_t n = url ? strlen(url) : 0;
	if (n == 0 || n > SAN_LINK_URL_MAX || strncmp(url, "https://", 8) != 0) {
		snprintf(why, whylen, "--portal-url: https://HOST[:PORT][/PATH], at most %d bytes", SAN_LINK_URL_MAX);
		return -EINVAL;
	}
	const char *p = url + 8;
	size_t hl = 0;
	if (*p == '[') { /* an IPv6 literal */
		const char *e = strchr(p, ']');
		if (!e || e == p + 1 || strspn(p + 1, "0123456789abcdefABCDEF:.") != (size_t)(e - p - 1))
			goto bad;
		hl = (size_t)(e - p) + 1;
	} else {
		hl = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");
		if (hl == 0 || p[0] == '.' || p[0] == '-')
			goto bad;
	}
	p += hl;
	if (*p == ':') {
		size_t dl = strspn(p + 1, "0123456789");
		if (dl == 0 || dl > 5 || atoi(p + 1) == 0 || atoi(p + 1) > 65535)
			goto bad;
		p += 1 + dl;
	}
	if (*p && *p != '/')
		goto bad;
	/* a path of unreserved characters and '/': nothing that could end
	 * the link in a mail reader or start a query */
	if (strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/") != strlen(p))
		goto bad;
	memcpy(out, url, n + 1);
	while (n > 8 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
bad:
	snprintf(why, whylen, "--portal-url: '%.*s' is not https://HOST[:PORT][/PATH] (letters, digits, -._~/)",
		 (int)(n < 80 ? n : 80), url);
	return -EINVAL;
}

static void link_failed(struct sanitize_result *res, const char *key)
{
	res->link.failed = true;
	free(res->link.error);
	res->link.error = strdup(key);
	/* without a link, "available from the link below" would be wrong;
	 * "no copy possible" stays true */
	for (size_t i = 0; i < res->n_items; i++) {
		struct sanitize_item *it = &res->items[i];
		if (it->cdr && strncmp(it->cdr, "none:", 5) != 0) {
			free(it->cdr);
			it->cdr = NULL;
		}
	}
}

/* The manifest with every cap divided by shrink (1, or 4 for the second
 * try: see san_link_hook).  An item's state is decided once. */
static int manifest(const struct san_link_env *env, struct sanitize_result *res, size_t shrink, struct ptl_link *ret)
{
	const struct san_link_opts *o = env->o;
	int64_t now = env->now ? env->now : (int64_t)time(NULL);
	struct ptl_link *l = ret;
	memset(l, 0, sizeof(*l));
	snprintf(l->origin, sizeof(l->origin), "mail");
	l->created = now;
	l->expires = now + (int64_t)o->days * 86400;
	l->message_id = clean_dup(res->message_id, CAP_SUBJECT / shrink);
	l->queue_id = clean_dup(env->queue_id, 64);
	l->from = clean_dup(env->env_from, CAP_ADDR / shrink);
	l->subject = clean_dup(res->subject, CAP_SUBJECT / shrink);
	for (size_t i = 0; i < env->n_to && l->nrcpt < PTL_LINK_MAX_RCPT; i++)
		if ((l->rcpt[l->nrcpt] = clean_dup(env->env_to[i], CAP_ADDR / shrink)))
			l->nrcpt++;
	for (size_t i = 0; i < res->n_items; i++) {
		struct sanitize_item *it = &res->items[i];
		if (!it->qid[0])
			continue;
		if (!it->cdr && san_link_state(o, it, &it->cdr) < 0)
			goto nomem;
		if (!strncmp(it->cdr, "none:", 5) && !it->cdr_reason) {
			const char *k = it->cdr + 5;
			it->cdr_reason =
				strdup(o->lang && !strcmp(o->lang, "en") ? cdr_reason_en(k) : cdr_reason_ja(k));
		}
		if (l->nfiles == PTL_LINK_MAX_FILES)
			continue; /* the notice still shows it; the portal lists the first 64 */
		struct ptl_link_file *f = &l->files[l->nfiles++];
		memcpy(f->sha256, it->sha256, sizeof(f->sha256));
		f->name = clean_dup(it->name, CAP_NAME / shrink);
		f->type = clean_dup(it->detected && it->detected[0] ? it->detected : it->declared, CAP_TYPE / shrink);
		f->bytes = it->size;
		if (!(f->cdr = strdup(it->cdr)))
			goto nomem;
	}
	return 0;
nomem:
	ptl_link_free(l);
	return -ENOMEM;
}

int san_link_manifest(const struct san_link_env *env, struct sanitize_result *res, struct ptl_link *ret)
{
	return manifest(env, res, 1, ret);
}

void san_link_hook(void *arg, struct sanitize_result *res)
{
	const struct san_link_env *env = arg;
	const struct san_link_opts *o = env->o;
	struct ptl_link l;
	char token[PTL_TOKEN_LEN + 1], hash[PTL_HASH_LEN + 1];
	int r = manifest(env, res, 1, &l);
	if (r == 0)
		r = ptl_link_write(o->links_dir, &l, token, hash);
	if (r == -EFBIG) {
		/* what the sender wrote escapes to twice its size in JSON
		 * (quotes, backslashes): the same manifest with a quarter of
		 * every string cap fits whatever it holds */
		ptl_link_free(&l);
		r = manifest(env, res, 4, &l);
		if (r == 0)
			r = ptl_link_write(o->links_dir, &l, token, hash);
	}
	int64_t expires = l.expires;
	ptl_link_free(&l);
	if (r < 0) {
		link_failed(res, r == -EFBIG ? "link-too-large" : r == -EINVAL ? "link-invalid" : "link-write");
		return;
	}
	size_t ul = strlen(o->portal_url) + 3 + PTL_TOKEN_LEN + 1;
	char *url = malloc(ul);
	if (url)
		snprintf(url, ul, "%s/m/%s", o->portal_url, token);
	explicit_bzero(token, sizeof(token));
	if (!url) {
		/* the manifest exists but nobody can reach it: it expires */
		link_failed(res, "link-write");
		return;
	}
	res->link.url = url;
	res->link.expires = expires;
	memcpy(res->link.hash, hash, sizeof(res->link.hash));
	res->link.originals = o->originals;
	res->link.copies_mail = o->copies_mail;
}
