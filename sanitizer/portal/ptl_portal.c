/* ptl_portal: the LGWAN portal's pages (contract in ptl_portal.h).
 *
 * Every handler follows the same order: who (session, role), is it allowed
 * (CSRF and origin for a POST, throttles), what (the link, the file index,
 * the request), then one answer and one audit record.  A refusal is always
 * ptl_portal_refuse: a page in Japanese and English with its status, and a
 * portal.refused record; an unknown token and a malformed one get the very
 * same page (no oracle).
 *
 * Nothing from a request reaches a path: tokens are hashed (ptl_link), file
 * indexes are numbers below the manifest's count, request ids are checked
 * against their form, and file names come from the manifest's checked sha256
 * and the report's checked extension.
 *
 * Failure behaviour: a write that fails (request, queue job, revocation)
 * answers 500 and is audited; nothing is half-done: each write is atomic
 * (ptl_store).  Out of memory aborts (xalloc, control plane). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/jsonx.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "sanitizer/portal/ptl_link.h"
#include "sanitizer/portal/ptl_portal.h"
#include "sanitizer/portal/ptl_report.h"
#include "sanitizer/portal/ptl_request.h"
#include "sanitizer/portal/ptl_store.h"

#define SID_COOKIE "__Host-sid"
#define PRE_COOKIE "__Host-pre"
#define PRE_BYTES 16
#define AUDIT_TAIL_BYTES ((size_t)256 << 10)
#define OPS_RECORDS 200
/* bytes of a comment or reason: the form parser's value cap; the text
 * areas say 1000 characters, which Japanese text fits in (3 bytes each) */
#define COMMENT_MAX PTL_REASON_MAX
#define RELEASE_TOKEN_LEN (PTL_ID_LEN + 1 + PTL_RELEASE_SECRET_LEN)
#define RELEASES_IN_FLIGHT 64
#define UPLOADS_SHOWN 200 /* uploads awaiting approval on one page */

struct ptl_portal {
	struct ptl_portal_opts o;
	char *state, *links, *copies, *releases, *queue, *audit_dir, *reqdir, *accounts;
	struct audit_log *audit;
	uint8_t csrf_key[PTL_CSRF_KEY_BYTES];
	struct ptl_throttle login, guess;
	struct ptl_sessions sessions;
	pthread_mutex_t mu; /* requests' decisions, release downloads, the account list */
	struct ptl_users users;
	struct stat users_st;
	char in_flight[RELEASES_IN_FLIGHT][PTL_ID_LEN + 1];
};

/* the one download of an original, between its handler and the done hook */
struct release_ctx {
	char id[PTL_ID_LEN + 1];
	char sha256[65];
	uint64_t bytes;
};

#define T(req, ja, en) ((req)->lang == PTL_EN ? (en) : (ja))

static struct ptl_portal *P(struct ptl_req *req)
{
	return req->arg;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---------------------------------------------------------------- audit -- */

static struct audit_field peer_field(struct ptl_req *req)
{
	if (req->peer_family)
		return (struct audit_field)AUDIT_IP("peer", req->peer_family, req->peer_addr);
	return (struct audit_field)AUDIT_STR("peer", "-");
}

/* emit event with the peer first, then the caller's fields */
static void emit(struct ptl_req *req, const char *event, const struct audit_field *f, size_t n)
{
	struct audit_field all[AUDIT_FIELDS_MAX];
	all[0] = peer_field(req);
	size_t k = 1;
	for (size_t i = 0; i < n && k < AUDIT_FIELDS_MAX; i++)
		all[k++] = f[i];
	(void)audit_emit(P(req)->audit, event, all, k);
}

/* -------------------------------------------------------------- refusal -- */

struct refusal {
	const char *key;
	unsigned status;
	const char *ja_title, *ja, *en_title, *en;
};

static const struct refusal refusals[] = {
	{"not-found", 404, "見つかりません", "このリンクまたはページは存在しないか、形式が正しくありません。",
	 "Not found", "This link or page does not exist, or is malformed."},
	{"method", 405, "この操作はできません", "このページではこの操作を受け付けていません。", "Method not allowed",
	 "This page does not accept this method."},
	{"too-large", 413, "送信内容が大きすぎます", "送信された内容が上限を超えています。", "Too large",
	 "The request is larger than allowed."},
	{"bad-form", 400, "送信内容が正しくありません",
	 "フォームの内容を読み取れませんでした。ページを開き直してください。", "Bad request",
	 "The form could not be read. Please open the page again."},
	{"expired", 410, "リンクの有効期限切れ", "このリンクの有効期限は過ぎています。送信者に再送を依頼してください。",
	 "Link expired", "This link has expired. Please ask the sender to send the file again."},
	{"revoked", 410, "リンクは取り消されました", "このリンクは管理者によって取り消されました。", "Link revoked",
	 "This link was revoked by an operator."},
	{"csrf", 403, "フォームの確認に失敗しました",
	 "別のサイトから送信されたか、ページが古くなっています。ページを開き直してから送信してください。",
	 "Form check failed",
	 "The form came from another site or the page is out of date. Open the page again and retry."},
	{"locked-out", 429, "ログインを一時停止しています",
	 "失敗したログインが多すぎるため、しばらくログインできません。時間をおいてから再度お試しください。",
	 "Login temporarily locked", "Too many failed logins. Please try again later."},
	{"too-many", 429, "アクセスが多すぎます",
	 "短時間に無効なリンクが多すぎます。時間をおいてから再度お試しください。", "Too many requests",
	 "Too many invalid links in a short time. Please try again later."},
	{"forbidden", 403, "権限がありません", "このページを開く権限がありません。", "Forbidden",
	 "You are not allowed to open this page."},
	{"originals-disabled", 403, "原本の申請はできません", "この装置では原本の受け渡しを行わない設定です。",
	 "Originals are not available", "This appliance does not release original files."},
	{"reason-required", 400, "理由を入力してください", "原本が必要な理由を入力してください。", "Reason required",
	 "Please enter why you need the original."},
	{"password-required", 400, "パスワードを入力してください", "ZIP ファイルのパスワードを入力してください。",
	 "Password required", "Please enter the password of the zip file."},
	{"already-decided", 409, "処理済みです", "この申請はすでに承認または却下されています。", "Already decided",
	 "This request has already been approved or denied."},
	{"own-request", 403, "自分の申請は承認できません", "申請者本人は承認者になれません。", "Your own request",
	 "The requester cannot approve their own request."},
	{"same-approver", 409, "同じ承認者です", "この申請には別の承認者の承認が必要です。", "Same approver",
	 "This request needs a second, different approver."},
	{"release-used", 410, "ダウンロード済みです", "この原本はすでにダウンロードされました(1回限り)。",
	 "Already downloaded", "This original has already been downloaded (once only)."},
	{"release-expired", 410, "ダウンロード期限切れ", "この原本のダウンロード期限は過ぎています。",
	 "Download expired", "The time to download this original has passed."},
	{"release-not-ready", 409, "準備中です", "原本を準備しています。しばらくしてから開き直してください。",
	 "Being prepared", "The original is being prepared. Please open this link again shortly."},
	{"release-busy", 409, "ダウンロード中です", "この原本は現在ダウンロード中です。", "Download in progress",
	 "This original is being downloaded right now."},
	{"no-copy", 404, "無害化済みファイルはありません",
	 "このファイルの無害化済みファイルはまだないか、作成できませんでした。", "No safe copy",
	 "There is no safe copy of this file (yet)."},
	{"integrity", 500, "ファイルを確認できません",
	 "保存されたファイルが記録と一致しません。管理者に連絡してください。", "File check failed",
	 "The stored file does not match its record. Please contact the operators."},
	{"server-error", 500, "内部エラー", "処理できませんでした。管理者に連絡してください。", "Internal error",
	 "The request could not be completed. Please contact the operators."},
};

static const struct refusal *refusal_of(const char *key)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
		if (strcmp(refusals[i].key, key) == 0)
			return &refusals[i];
	return &refusals[sizeof refusals / sizeof refusals[0] - 1];
}

/* a short, valid-UTF-8 cut of an attacker's string for a record */
static void cut(const char *s, char *out, size_t outlen)
{
	size_t n = strnlen(s, outlen - 1);
	memcpy(out, s, n);
	out[utf8_valid_prefix(out, n)] = 0;
}

static void refuse_key(struct ptl_req *req, const char *key)
{
	const struct refusal *r = refusal_of(key);
	char path[257];
	cut(req->path ? req->path : "", path, sizeof path);
	emit(req, "portal.refused",
	     (struct audit_field[]){AUDIT_STR("reason", r->key), AUDIT_UINT("status", r->status),
				    AUDIT_STR("method", req->method ? req->method : ""),
				    AUDIT_STR("route", req->route ? req->route->pattern : ""), AUDIT_STR("path", path)},
	     5);
	struct ptl_page p;
	ptl_page_begin(&p, req->lang, req->lang == PTL_EN ? r->en_title : r->ja_title);
	/* both languages on every refusal: the reader may not have chosen hers */
	if (req->lang == PTL_EN)
		ptl_page_put(&p, "<h1>%s</h1><p>%s</p><p class=\"en\" lang=\"ja\">%s %s</p>", r->en_title, r->en,
			     r->ja_title, r->ja);
	else
		ptl_page_put(&p, "<h1>%s</h1><p>%s</p><p class=\"en\" lang=\"en\">%s: %s</p>", r->ja_title, r->ja,
			     r->en_title, r->en);
	ptl_page_put(&p, "<p class=\"en\">(%s %u)</p>", r->key, r->status);
	ptl_page_end(&p);
	ptl_send_page(req, r->status, &p);
}

void ptl_portal_refuse(struct ptl_req *req)
{
	refuse_key(req, req->refusal ? req->refusal : "not-found");
}

/* ------------------------------------------------------ sessions, CSRF -- */

/* the request's live session, if any */
static bool session_of(struct ptl_req *req, struct ptl_session *s)
{
	char sid[PTL_COOKIE_MAX_LEN + 1];
	if (ptl_req_cookie(req, SID_COOKIE, sid, sizeof sid) < 0)
		return false;
	return ptl_session_get(&P(req)->sessions, sid, now_s(), s) == 0;
}

static void set_cookie(struct ptl_req *req, const char *name, const char *value, long max_age)
{
	struct strbuf sb = STRBUF_INIT;
	if (ptl_cookie_format(&sb, name, value, max_age) == 0)
		ptl_req_set_cookie(req, strbuf_str(&sb));
	strbuf_free(&sb);
}

/* The CSRF token for a form on this page: bound to the session, or to the
 * pre-session cookie (made here when the browser has none). */
static void csrf_for_page(struct ptl_req *req, const struct ptl_session *s, char tok[PTL_CSRF_LEN + 1])
{
	char bind[PTL_COOKIE_MAX_LEN + 8];
	if (s) {
		snprintf(bind, sizeof bind, "s:%s", s->id);
	} else {
		char pre[PTL_COOKIE_MAX_LEN + 1];
		if (ptl_req_cookie(req, PRE_COOKIE, pre, sizeof pre) < 0 || strlen(pre) < 22) {
			if (ptl_random_token(PRE_BYTES, pre, sizeof pre) < 0)
				abort(); /* getrandom failed: a broken environment */
			set_cookie(req, PRE_COOKIE, pre, -1);
		}
		snprintf(bind, sizeof bind, "p:%s", pre);
	}
	ptl_csrf_make(P(req)->csrf_key, bind, tok);
}

/* A POST's checks: same origin, and the csrf field bound to the session
 * (when there is one) or to the pre-session cookie.  Refuses and returns
 * false otherwise. */
static bool post_ok(struct ptl_req *req, const struct ptl_session *s)
{
	const char *tok = ptl_form_get(&req->form, "csrf");
	bool ok = ptl_req_same_origin(req) && tok;
	char bind[PTL_COOKIE_MAX_LEN + 8];
	if (ok && s) {
		snprintf(bind, sizeof bind, "s:%s", s->id);
		ok = ptl_csrf_ok(P(req)->csrf_key, bind, tok);
	} else if (ok) {
		char pre[PTL_COOKIE_MAX_LEN + 1];
		ok = ptl_req_cookie(req, PRE_COOKIE, pre, sizeof pre) == 0 && strlen(pre) >= 22;
		snprintf(bind, sizeof bind, "p:%s", ok ? pre : "");
		ok = ok && ptl_csrf_ok(P(req)->csrf_key, bind, tok);
	}
	if (!ok)
		refuse_key(req, "csrf");
	return ok;
}

/* Reload the account file when it changed on disk (user add/passwd/del
 * while the portal runs).  Caller holds mu. */
static void users_refresh(struct ptl_portal *pt)
{
	struct stat st;
	if (stat(pt->accounts, &st) < 0)
		memset(&st, 0, sizeof st);
	if (st.st_ino == pt->users_st.st_ino && st.st_size == pt->users_st.st_size &&
	    st.st_mtim.tv_sec == pt->users_st.st_mtim.tv_sec && st.st_mtim.tv_nsec == pt->users_st.st_mtim.tv_nsec)
		return;
	struct ptl_users u;
	char why[256];
	if (ptl_users_load(pt->accounts, &u, why, sizeof why) < 0)
		return; /* keep the accounts known to be good */
	ptl_users_free(&pt->users);
	pt->users = u;
	pt->users_st = st;
}

/* true when the session's account still exists, is enabled and has the
 * session's role (an account deleted, disabled or changed with
 * "sekisho-portal user" while logged in loses its sessions at once) */
static bool account_live(struct ptl_portal *pt, const struct ptl_session *s)
{
	pthread_mutex_lock(&pt->mu);
	users_refresh(pt);
	const struct ptl_user *u = ptl_users_find(&pt->users, s->user);
	bool ok = u && !u->disabled && u->role == s->role;
	pthread_mutex_unlock(&pt->mu);
	if (!ok)
		ptl_session_end_user(&pt->sessions, s->user);
	return ok;
}

/* The session with role, or an answer: the login page for none, 403 for
 * another role.  true when the handler may go on. */
static bool require_role(struct ptl_req *req, enum ptl_role role, struct ptl_session *s)
{
	if (!session_of(req, s) || !account_live(P(req), s)) {
		ptl_send_redirect(req, "/login");
		return false;
	}
	if (s->role != role) {
		refuse_key(req, "forbidden");
		return false;
	}
	return true;
}

/* --------------------------------------------------------------- layout -- */

static void fmt_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm) || !strftime(out, outlen, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, outlen, "%lld", (long long)t);
}

static void page_start(struct ptl_req *req, struct ptl_page *p, const char *ja, const char *en,
		       const struct ptl_session *s)
{
	ptl_page_begin(p, req->lang, T(req, ja, en));
	if (s) {
		char tok[PTL_CSRF_LEN + 1];
		csrf_for_page(req, s, tok);
		ptl_page_put(p, "<nav><p>%s: %s (%s) ", T(req, "ログイン中", "Logged in as"), s->user,
			     ptl_role_name(s->role));
		if (s->role == PTL_ROLE_APPROVER)
			ptl_page_put(p, "<a href=\"/approvals\">%s</a> ", T(req, "承認待ち一覧", "Approvals"));
		if (s->role == PTL_ROLE_OPERATOR)
			ptl_page_put(p, "<a href=\"/ops\">%s</a> ", T(req, "最近の操作", "Recent activity"));
		ptl_page_put(p, "</p><form class=\"inline\" method=\"post\" action=\"/logout\">");
		ptl_page_csrf(p, tok);
		ptl_page_put(p, "<button type=\"submit\">%s</button></form></nav>\n", T(req, "ログアウト", "Log out"));
	}
	ptl_page_put(p, "<h1>%s</h1>\n", T(req, ja, en));
}

static void send_page(struct ptl_req *req, struct ptl_page *p, unsigned status)
{
	ptl_page_end(p);
	ptl_send_page(req, status, p);
}

/* ---------------------------------------------------------------- links -- */

/* The manifest of the token in args[0], or a refusal (unknown and
 * malformed alike; a peer that guesses too many is throttled). */
static bool load_link(struct ptl_req *req, struct ptl_link *l, char hash[PTL_HASH_LEN + 1])
{
	struct ptl_portal *pt = P(req);
	int64_t now = now_s();
	if (ptl_throttle_check(&pt->guess, "", req->peer, now, NULL) < 0) {
		refuse_key(req, "too-many");
		return false;
	}
	int r = ptl_link_load(pt->links, req->args[0], now, l, hash);
	if (r == 0)
		return true;
	if (r == -EKEYREVOKED) {
		refuse_key(req, "revoked");
	} else if (r == -EKEYEXPIRED) {
		refuse_key(req, "expired");
	} else {
		ptl_throttle_fail(&pt->guess, "", req->peer, now);
		refuse_key(req, "not-found");
	}
	return false;
}

/* the file index in args[1] (decimal, below nfiles), or a refusal */
static bool file_index(struct ptl_req *req, const struct ptl_link *l, size_t *ret)
{
	const char *s = req->args[1];
	size_t n = 0;
	bool ok = *s && strlen(s) <= 3 && strspn(s, "0123456789") == strlen(s);
	if (ok)
		n = (size_t)strtoul(s, NULL, 10);
	if (!ok || n >= l->nfiles) {
		refuse_key(req, "not-found");
		return false;
	}
	*ret = n;
	return true;
}

static const char *size_text(uint64_t b, char *out, size_t outlen)
{
	if (b >= 10u << 20)
		snprintf(out, outlen, "%llu MiB", (unsigned long long)(b >> 20));
	else if (b >= 10u << 10)
		snprintf(out, outlen, "%llu KiB", (unsigned long long)(b >> 10));
	else
		snprintf(out, outlen, "%llu B", (unsigned long long)b);
	return out;
}

static void put_removed(struct ptl_req *req, struct ptl_page *p, const struct ptl_report *rep)
{
	if (!rep->removed_total)
		return;
	ptl_page_put(p, "<p>%s (%llu):</p><ul>", T(req, "取り除いたもの", "Removed"),
		     (unsigned long long)rep->removed_total);
	for (size_t i = 0; i < rep->nremoved; i++)
		ptl_page_put(p, "<li>%s</li>", rep->removed[i]);
	if (rep->removed_total > rep->nremoved)
		ptl_page_put(p, "<li>%s %llu</li>", T(req, "ほか", "and more:"),
			     (unsigned long long)(rep->removed_total - rep->nremoved));
	ptl_page_put(p, "</ul>");
}

static void put_reason(struct ptl_req *req, struct ptl_page *p, const struct ptl_report *rep)
{
	const char *ja = rep->reason_ja ? rep->reason_ja : rep->result;
	const char *en = rep->reason_en ? rep->reason_en : rep->result;
	ptl_page_put(p, "<p class=\"ng\">%s</p>", T(req, ja, en));
	if (req->lang != PTL_EN)
		ptl_page_put(p, "<p class=\"en\" lang=\"en\">%s</p>", en);
}

static void put_members(struct ptl_req *req, struct ptl_page *p, const struct ptl_report *rep)
{
	if (!rep->members_total)
		return;
	ptl_page_put(p, "<table><caption>%s</caption><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr>",
		     T(req, "中のファイル", "Members"), T(req, "名前", "Name"), T(req, "結果", "Result"));
	for (size_t i = 0; i < rep->nmembers; i++) {
		const struct ptl_report_member *m = &rep->members[i];
		bool ok = m->result && !strcmp(m->result, "ok");
		ptl_page_put(p, "<tr><td>%s</td><td>%s</td></tr>", m->name ? m->name : "-",
			     ok ? T(req, "無害化済み", "safe copy made")
				: T(req,
				    m->reason_ja        ? m->reason_ja
					    : m->result ? m->result
							: "-",
				    m->reason_en        ? m->reason_en
					    : m->result ? m->result
							: "-"));
	}
	ptl_page_put(p, "</table>");
}

/* the newest request for file n of link, from a list */
static const struct ptl_request *request_for(const struct ptl_request *v, size_t nv, const char *link, size_t n)
{
	for (size_t i = 0; i < nv; i++)
		if (!strcmp(v[i].link, link) && v[i].n == n)
			return &v[i];
	return NULL;
}

static void put_original(struct ptl_req *req, struct ptl_page *p, const char *token, size_t n,
			 const struct ptl_request *rq, const char *csrf)
{
	struct ptl_portal *pt = P(req);
	if (!pt->o.originals)
		return;
	ptl_page_put(p, "<h3>%s</h3>", T(req, "原本", "Original"));
	if (rq && !strcmp(rq->state, "pending")) {
		ptl_page_put(p, "<p>%s</p>",
			     T(req, "原本を申請済みです。承認を待っています。",
			       "The original was requested and awaits approval."));
		return;
	}
	if (rq && !strcmp(rq->state, "approved")) {
		char until[32];
		fmt_time(rq->release_expires, until, sizeof until);
		if (rq->downloaded)
			ptl_page_put(p, "<p>%s</p>",
				     T(req, "承認された原本はダウンロード済みです。",
				       "The approved original has been downloaded."));
		else if (now_s() > rq->release_expires)
			ptl_page_put(p, "<p>%s</p>",
				     T(req, "承認された原本のダウンロード期限が過ぎました。",
				       "The time to download the approved original has passed."));
		else
			ptl_page_put(p, "<p class=\"ok\"><a href=\"/r/%s_%s\">%s</a> (%s %s)</p>", rq->id, rq->release,
				     T(req, "承認された原本をダウンロード(1回限り)",
				       "Download the approved original (once)"),
				     T(req, "期限", "until"), until);
		return;
	}
	if (rq && !strcmp(rq->state, "denied"))
		ptl_page_put(p, "<p class=\"ng\">%s %s</p>",
			     T(req, "原本の申請は却下されました。", "The request for the original was denied."),
			     rq->denied.comment ? rq->denied.comment : "");
	ptl_page_put(p,
		     "<form method=\"post\" action=\"/m/%s/request/%zu\"><label for=\"reason%zu\">%s</label>"
		     "<textarea id=\"reason%zu\" name=\"reason\" rows=\"3\" maxlength=\"1000\" required></textarea>",
		     token, n, n, T(req, "原本が必要な理由", "Why you need the original"), n);
	ptl_page_csrf(p, csrf);
	ptl_page_put(p, "<button type=\"submit\">%s</button></form>", T(req, "原本を申請する", "Request the original"));
}

static void put_file(struct ptl_req *req, struct ptl_page *p, const struct ptl_link *l, size_t i,
		     const struct ptl_request *rq, const char *csrf)
{
	struct ptl_portal *pt = P(req);
	const struct ptl_link_file *f = &l->files[i];
	const char *token = req->args[0];
	char sz[32];
	ptl_page_put(p,
		     "<section><h2>%s</h2><table><tr><th scope=\"row\">%s</th><td>%s</td></tr>"
		     "<tr><th scope=\"row\">%s</th><td>%s</td></tr></table>",
		     f->name ? f->name : T(req, "(名前なし)", "(no name)"), T(req, "種類", "Type"),
		     f->type ? f->type : "-", T(req, "サイズ", "Size"), size_text(f->bytes, sz, sizeof sz));
	struct ptl_report rep;
	int r = ptl_report_load(pt->copies, f->sha256, false, &rep);
	if (r == -ENOENT) {
		if (f->cdr && !strncmp(f->cdr, "none:", 5))
			ptl_page_put(p, "<p class=\"ng\">%s (%s)</p>",
				     T(req, "無害化できないファイルです。", "No safe copy can be made."), f->cdr + 5);
		else
			ptl_page_put(p, "<p>%s</p>",
				     T(req, "無害化済みファイルを作成中です。しばらくしてから開き直してください。",
				       "The safe copy is being made. Please open this page again shortly."));
	} else if (r < 0) {
		ptl_page_put(p, "<p class=\"ng\">%s</p>",
			     T(req, "無害化の結果を読み取れません。", "The conversion report cannot be read."));
	} else if (rep.has_copy) {
		char osz[32];
		ptl_page_put(p, "<p class=\"ok\">%s <a href=\"/m/%s/copy/%zu\">%s</a> (%s, %s)</p>",
			     T(req, "無害化済みファイルがあります。", "A safe copy is ready."), token, i,
			     T(req, "無害化済みファイルをダウンロード", "Download the safe copy"), rep.out_ext,
			     size_text(rep.out_bytes, osz, sizeof osz));
		put_removed(req, p, &rep);
		put_members(req, p, &rep);
	} else {
		put_reason(req, p, &rep);
		put_removed(req, p, &rep);
		put_members(req, p, &rep);
	}
	bool encrypted = r == 0 && !strcmp(rep.result, "encrypted");
	ptl_report_free(&rep);
	if (encrypted) {
		struct ptl_report pp;
		int q = ptl_report_load(pt->copies, f->sha256, true, &pp);
		ptl_page_put(p, "<h3>%s</h3>", T(req, "パスワード付き ZIP", "Password-protected zip"));
		if (q == 0 && pp.has_copy) {
			ptl_page_put(p, "<p class=\"ok\"><a href=\"/m/%s/copy/%zu\">%s</a></p>", token, i,
				     T(req, "中身の無害化済みファイル(ZIP)をダウンロード",
				       "Download the safe copies of its contents (zip)"));
			put_removed(req, p, &pp);
			put_members(req, p, &pp);
		} else {
			if (q == 0)
				put_reason(req, p, &pp);
			ptl_page_put(p,
				     "<form method=\"post\" action=\"/m/%s/ppap/%zu\"><label for=\"pw%zu\">%s</label>"
				     "<input type=\"password\" id=\"pw%zu\" name=\"password\" autocomplete=\"off\" "
				     "maxlength=\"1024\" required>",
				     token, i, i,
				     T(req, "ZIP のパスワード(別のメールで届いたもの)",
				       "The zip's password (sent in a separate mail)"),
				     i);
			ptl_page_csrf(p, csrf);
			ptl_page_put(p, "<button type=\"submit\">%s</button></form>",
				     T(req, "パスワードを送信して無害化する", "Send the password and convert"));
		}
		ptl_report_free(&pp);
	}
	put_original(req, p, token, i, rq, csrf);
	ptl_page_put(p, "</section>\n");
}

static void h_view(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_link l;
	char hash[PTL_HASH_LEN + 1];
	if (!load_link(req, &l, hash))
		return;
	struct ptl_session s, *sp = session_of(req, &s) ? &s : NULL;
	char csrf[PTL_CSRF_LEN + 1];
	csrf_for_page(req, NULL, csrf);
	struct ptl_request *rv = NULL;
	size_t nrv = 0;
	if (pt->o.originals)
		(void)ptl_request_list(pt->reqdir, &rv, &nrv);
	struct ptl_page p;
	page_start(req, &p, "添付ファイルの受け取り", "Your attachments", sp);
	char created[32], expires[32];
	fmt_time(l.created, created, sizeof created);
	fmt_time(l.expires, expires, sizeof expires);
	ptl_page_put(
		&p, "<table><tr><th scope=\"row\">%s</th><td>%s</td></tr><tr><th scope=\"row\">%s</th><td>%s</td></tr>",
		T(req, "件名", "Subject"), l.subject ? l.subject : "-", T(req, "差出人", "From"),
		l.from ? l.from : "-");
	if (l.note)
		ptl_page_put(&p, "<tr><th scope=\"row\">%s</th><td>%s</td></tr>", T(req, "メモ", "Note"), l.note);
	ptl_page_put(
		&p,
		"<tr><th scope=\"row\">%s</th><td>%s</td></tr><tr><th scope=\"row\">%s</th><td>%s</td></tr></table>\n",
		T(req, "受信", "Received"), created, T(req, "このリンクの期限", "This link expires"), expires);
	ptl_page_put(&p, "<p class=\"note\">%s</p>",
		     T(req, "元のファイルは無害化(ファイルを作り直して危険な部分を除くこと)してからお渡しします。",
		       "Files are handed over as safe copies, rebuilt without their dangerous parts."));
	for (size_t i = 0; i < l.nfiles; i++)
		put_file(req, &p, &l, i, request_for(rv, nrv, hash, i), csrf);
	send_page(req, &p, 200);
	emit(req, "portal.view", (struct audit_field[]){AUDIT_STR("link", hash), AUDIT_UINT("files", l.nfiles)}, 2);
	ptl_request_list_free(rv, nrv);
	ptl_link_free(&l);
}

/* A file's name for its copy: the original's stem with the copy's extension. */
static char *copy_name(const char *name, const char *ext)
{
	const char *n = name && *name ? name : "file";
	const char *dot = strrchr(n, '.');
	size_t stem = dot && dot != n ? (size_t)(dot - n) : strlen(n);
	return xasprintf("%.*s.%s", (int)stem, n, ext);
}

/* Open dir/name for sending: a regular file, not a symlink, whose SHA-256
 * is sha (checked by reading it once).  The fd at offset 0, or -errno
 * (-EBADMSG: the bytes do not match). */
static int open_checked(const char *dir, const char *name, const char *sha, uint64_t *ret_size)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	struct sha256_run run;
	int r = sha256_run_init(&run);
	static _Thread_local char buf[1 << 16];
	ssize_t k = 0;
	uint64_t total = 0;
	while (!r && (k = read(fd, buf, sizeof buf)) > 0) {
		r = sha256_run_update(&run, buf, (size_t)k);
		total += (uint64_t)k;
	}
	char hex[SHA256_HEX_LEN + 1];
	if (r)
		sha256_run_abandon(&run);
	else if (k < 0) {
		r = -errno;
		sha256_run_abandon(&run);
	} else {
		r = sha256_run_hex(&run, hex);
	}
	if (!r && (total != (uint64_t)st.st_size || strcmp(hex, sha) != 0))
		r = -EBADMSG;
	if (!r && lseek(fd, 0, SEEK_SET) != 0)
		r = -errno;
	if (r) {
		close(fd);
		return r;
	}
	*ret_size = total;
	return fd;
}

/* a content type safe for a header: token/token */
static const char *ctype_of(const char *t)
{
	if (!t || strlen(t) > 127 || strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789/.+-") != strlen(t) ||
	    !strchr(t, '/'))
		return "application/octet-stream";
	return t;
}

static void h_copy(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_link l;
	char hash[PTL_HASH_LEN + 1];
	size_t n;
	if (!load_link(req, &l, hash))
		return;
	if (!file_index(req, &l, &n)) {
		ptl_link_free(&l);
		return;
	}
	const struct ptl_link_file *f = &l.files[n];
	struct ptl_report rep;
	bool ppap = false;
	int r = ptl_report_load(pt->copies, f->sha256, false, &rep);
	if (r == 0 && !rep.has_copy && !strcmp(rep.result, "encrypted")) {
		ptl_report_free(&rep);
		r = ptl_report_load(pt->copies, f->sha256, true, &rep);
		ppap = true;
	}
	if (r < 0 || !rep.has_copy) {
		refuse_key(req, "no-copy");
		if (!r)
			ptl_report_free(&rep);
		ptl_link_free(&l);
		return;
	}
	char file[PTL_HASH_LEN + 32];
	if (ppap)
		snprintf(file, sizeof file, "%s.ppap.zip", f->sha256);
	else
		snprintf(file, sizeof file, "%s.copy.%s", f->sha256, rep.out_ext);
	uint64_t size = 0;
	int fd = open_checked(pt->copies, file, rep.out_sha256, &size);
	if (fd < 0) {
		refuse_key(req, fd == -ENOENT ? "no-copy" : "integrity");
	} else {
		char *name = copy_name(f->name, ppap ? "zip" : rep.out_ext);
		ptl_send_file(req, fd, size, ppap ? "application/zip" : ctype_of(rep.out_type), name);
		emit(req, "portal.download",
		     (struct audit_field[]){AUDIT_STR("link", hash), AUDIT_UINT("n", n), AUDIT_STR("sha256", f->sha256),
					    AUDIT_STR("copy_sha256", rep.out_sha256), AUDIT_UINT("bytes", size),
					    AUDIT_BOOL("ppap", ppap), AUDIT_STR("name", name)},
		     7);
		free(name);
	}
	ptl_report_free(&rep);
	ptl_link_free(&l);
}

static void h_ppap(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_link l;
	char hash[PTL_HASH_LEN + 1];
	size_t n;
	if (!post_ok(req, NULL) || !load_link(req, &l, hash))
		return;
	if (!file_index(req, &l, &n)) {
		ptl_link_free(&l);
		return;
	}
	const char *pw = ptl_form_get(&req->form, "password");
	if (!pw || !*pw || strlen(pw) > PTL_PASSWORD_MAX) {
		refuse_key(req, "password-required");
		ptl_link_free(&l);
		return;
	}
	char id[PTL_ID_LEN + 1], job[PTL_QUEUE_ID_LEN + 1];
	int r = ptl_id_new(id);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "kind", json_object_new_string("ppap"));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "sha256", json_object_new_string(l.files[n].sha256));
	json_object_object_add(o, "password", json_object_new_string(pw));
	json_object_object_add(o, "link", json_object_new_string(hash));
	char *text =
		xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	if (!r)
		r = ptl_queue_put(pt->queue, text, job);
	explicit_bzero(text, strlen(text));
	free(text);
	if (r < 0) {
		refuse_key(req, "server-error");
	} else {
		emit(req, "portal.ppap",
		     (struct audit_field[]){AUDIT_STR("link", hash), AUDIT_UINT("n", n),
					    AUDIT_STR("sha256", l.files[n].sha256), AUDIT_STR("id", id),
					    AUDIT_STR("job", job)},
		     5);
		char *loc = xasprintf("/m/%s", req->args[0]);
		ptl_send_redirect(req, loc);
		free(loc);
	}
	ptl_link_free(&l);
}

/* A checked free text (reason, comment): UTF-8 was checked by the form
 * parser; here only its length in bytes. */
static bool text_len_ok(const char *s, size_t max)
{
	return s && strlen(s) <= max;
}

static void h_request(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_link l;
	char hash[PTL_HASH_LEN + 1];
	size_t n;
	struct ptl_session s, *sp = session_of(req, &s) ? &s : NULL;
	if (!pt->o.originals) { /* before the form checks: nothing to protect */
		refuse_key(req, "originals-disabled");
		return;
	}
	if (!post_ok(req, NULL))
		return;
	if (!load_link(req, &l, hash))
		return;
	if (!file_index(req, &l, &n)) {
		ptl_link_free(&l);
		return;
	}
	const char *reason = ptl_form_get(&req->form, "reason");
	if (!reason || !*reason || !text_len_ok(reason, PTL_REASON_MAX)) {
		refuse_key(req, "reason-required");
		ptl_link_free(&l);
		return;
	}
	pthread_mutex_lock(&pt->mu);
	struct ptl_request *rv;
	size_t nrv;
	(void)ptl_request_list(pt->reqdir, &rv, &nrv);
	const struct ptl_request *old = request_for(rv, nrv, hash, n);
	bool open = old &&
		(!strcmp(old->state, "pending") ||
		 (!strcmp(old->state, "approved") && !old->downloaded && now_s() <= old->release_expires));
	int r = 0;
	struct ptl_request q = {0};
	if (!open) {
		const struct ptl_link_file *f = &l.files[n];
		r = ptl_id_new(q.id);
		q.created = now_s();
		memcpy(q.link, hash, sizeof q.link);
		q.n = (unsigned)n;
		memcpy(q.sha256, f->sha256, sizeof q.sha256);
		snprintf(q.origin, sizeof q.origin, "%s", l.origin);
		q.name = f->name ? xstrdup(f->name) : NULL;
		q.type = f->type ? xstrdup(f->type) : NULL;
		q.bytes = f->bytes;
		q.reason = xstrdup(reason);
		snprintf(q.peer, sizeof q.peer, "%s", req->peer);
		if (sp)
			snprintf(q.requester, sizeof q.requester, "%s", sp->user);
		strcpy(q.state, "pending");
		if (!r)
			r = ptl_request_save(pt->reqdir, &q);
	}
	pthread_mutex_unlock(&pt->mu);
	ptl_request_list_free(rv, nrv);
	if (r < 0) {
		refuse_key(req, "server-error");
	} else {
		if (!open)
			emit(req, "portal.request",
			     (struct audit_field[]){AUDIT_STR("id", q.id), AUDIT_STR("link", hash), AUDIT_UINT("n", n),
						    AUDIT_STR("sha256", q.sha256), AUDIT_STR("origin", q.origin),
						    AUDIT_STR("reason", reason), AUDIT_STR("user", sp ? sp->user : "")},
			     7);
		char *loc = xasprintf("/m/%s", req->args[0]);
		ptl_send_redirect(req, loc);
		free(loc);
	}
	ptl_request_free(&q);
	ptl_link_free(&l);
}

/* ---------------------------------------------------------------- login -- */

static void login_page(struct ptl_req *req, unsigned status, const char *error, const char *user)
{
	char csrf[PTL_CSRF_LEN + 1];
	csrf_for_page(req, NULL, csrf);
	struct ptl_page p;
	page_start(req, &p, "承認者・運用者のログイン", "Approver and operator login", NULL);
	if (error)
		ptl_page_put(&p, "<p class=\"ng\" role=\"alert\">%s</p>", error);
	ptl_page_put(&p,
		     "<form method=\"post\" action=\"/login\"><label for=\"user\">%s</label>"
		     "<input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"username\" maxlength=\"32\" "
		     "value=\"%s\" required><label for=\"password\">%s</label>"
		     "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" "
		     "maxlength=\"1024\" required>",
		     T(req, "ユーザー名", "User name"), user ? user : "", T(req, "パスワード", "Password"));
	ptl_page_csrf(&p, csrf);
	ptl_page_put(&p, "<button type=\"submit\">%s</button></form>", T(req, "ログイン", "Log in"));
	send_page(req, &p, status);
}

static void h_login_get(struct ptl_req *req)
{
	struct ptl_session s;
	if (session_of(req, &s)) {
		ptl_send_redirect(req, s.role == PTL_ROLE_OPERATOR ? "/ops" : "/approvals");
		return;
	}
	login_page(req, 200, NULL, NULL);
}

static void h_login_post(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	if (!post_ok(req, NULL))
		return;
	const char *user = ptl_form_get(&req->form, "user");
	const char *pw = ptl_form_get(&req->form, "password");
	if (!user || !pw || !*user || strlen(user) > PTL_USER_NAME_MAX || strlen(pw) > PTL_PASSWORD_MAX) {
		login_page(req, 400,
			   T(req, "ユーザー名とパスワードを入力してください。", "Enter your user name and password."),
			   NULL);
		return;
	}
	int64_t now = now_s();
	if (ptl_throttle_check(&pt->login, user, req->peer, now, NULL) < 0) {
		emit(req, "portal.login_failed",
		     (struct audit_field[]){AUDIT_STR("user", user), AUDIT_BOOL("locked", true),
					    AUDIT_STR("why", "locked-out")},
		     3);
		refuse_key(req, "locked-out");
		return;
	}
	pthread_mutex_lock(&pt->mu);
	users_refresh(pt);
	struct ptl_users snapshot = {0};
	struct ptl_user *u = ptl_users_find(&pt->users, user);
	struct ptl_user copy;
	if (u) {
		copy = *u;
		snapshot.v = &copy;
		snapshot.n = 1;
	}
	pthread_mutex_unlock(&pt->mu);
	/* the hash runs outside the lock: yescrypt takes tens of milliseconds */
	enum ptl_role role = PTL_ROLE_NONE;
	int r = ptl_users_login(&snapshot, user, pw, &role);
	if (r == 0 && role != PTL_ROLE_APPROVER && role != PTL_ROLE_OPERATOR)
		r = -EACCES;
	if (r < 0) {
		bool locked = ptl_throttle_fail(&pt->login, user, req->peer, now);
		emit(req, "portal.login_failed",
		     (struct audit_field[]){AUDIT_STR("user", user), AUDIT_BOOL("locked", locked),
					    AUDIT_STR("why", "password")},
		     3);
		login_page(req, 401, T(req, "ユーザー名またはパスワードが違います。", "Wrong user name or password."),
			   user);
		return;
	}
	ptl_throttle_ok(&pt->login, user, now);
	/* a session id the browser brought is never kept: a new one at login */
	char old[PTL_COOKIE_MAX_LEN + 1];
	if (ptl_req_cookie(req, SID_COOKIE, old, sizeof old) == 0)
		ptl_session_end(&pt->sessions, old);
	struct ptl_session s;
	if (ptl_session_new(&pt->sessions, user, role, now, &s) < 0) {
		refuse_key(req, "server-error");
		return;
	}
	set_cookie(req, SID_COOKIE, s.id, -1);
	emit(req, "portal.login",
	     (struct audit_field[]){AUDIT_STR("user", user), AUDIT_STR("role", ptl_role_name(role))}, 2);
	ptl_send_redirect(req, role == PTL_ROLE_OPERATOR ? "/ops" : "/approvals");
}

static void h_logout(struct ptl_req *req)
{
	struct ptl_session s;
	bool have = session_of(req, &s);
	if (!post_ok(req, have ? &s : NULL))
		return;
	if (have) {
		ptl_session_end(&P(req)->sessions, s.id);
		emit(req, "portal.logout", (struct audit_field[]){AUDIT_STR("user", s.user)}, 1);
	}
	set_cookie(req, SID_COOKIE, "", 0);
	ptl_send_redirect(req, "/login");
}

static void h_index(struct ptl_req *req)
{
	struct ptl_session s, *sp = session_of(req, &s) ? &s : NULL;
	struct ptl_page p;
	page_start(req, &p, "ファイル受け渡し", "File hand-over", sp);
	ptl_page_put(&p, "<p>%s</p><p><a href=\"/login\">%s</a></p>",
		     T(req, "メールに書かれたリンクから添付ファイルを受け取れます。",
		       "Open the link in your mail to get your attachments."),
		     T(req, "承認者・運用者のログイン", "Approver and operator login"));
	send_page(req, &p, 200);
}

/* ------------------------------------------------------------ approvals -- */

/* A file's CDR state in a few words, from its report in copies/ (or the
 * manifest's state while there is none), for the approvers' list. */
static void put_cdr_short(struct ptl_req *req, struct ptl_page *p, const struct ptl_link_file *f)
{
	struct ptl_report rep;
	int r = ptl_report_load(P(req)->copies, f->sha256, false, &rep);
	if (r == -ENOENT && f->cdr && !strncmp(f->cdr, "none:", 5))
		ptl_page_put(p, "<span class=\"ng\">%s (%s)</span>", T(req, "無害化できません", "no safe copy"),
			     f->cdr + 5);
	else if (r == -ENOENT)
		ptl_page_put(p, "%s", T(req, "作成中", "being made"));
	else if (r < 0)
		ptl_page_put(p, "<span class=\"ng\">%s</span>", T(req, "報告を読めません", "report unreadable"));
	else if (rep.has_copy)
		ptl_page_put(p, "<span class=\"ok\">%s</span>", T(req, "無害化済み", "safe copy made"));
	else
		ptl_page_put(
			p, "<span class=\"ng\">%s</span>",
			T(req, rep.reason_ja ? rep.reason_ja : rep.result, rep.reason_en ? rep.reason_en : rep.result));
	if (r == 0)
		ptl_report_free(&rep);
}

/* the recipients of a manifest, comma-separated, escaped by the page */
static void put_rcpts(struct ptl_page *p, const struct ptl_link *l)
{
	for (size_t i = 0; i < l->nrcpt; i++)
		ptl_page_put(p, "%s%s", i ? ", " : "", l->rcpt[i]);
}

/* The uploads awaiting approval: every links/<hash>.approval whose
 * manifest loads (origin upload, neither revoked nor expired), oldest
 * first, at most UPLOADS_SHOWN. */
static void put_uploads(struct ptl_req *req, struct ptl_page *p)
{
	struct ptl_portal *pt = P(req);
	char(*v)[PTL_HASH_LEN + 1] = NULL;
	size_t n = 0, more = 0, shown = 0;
	(void)ptl_link_approval_list(pt->links, UPLOADS_SHOWN, &v, &n, &more);
	ptl_page_put(p, "<h2>%s</h2>", T(req, "アップロードの承認待ち", "Uploads awaiting approval"));
	ptl_page_put(p,
		     "<table><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
		     "<th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr>",
		     T(req, "受付日時", "Received"), T(req, "送信者", "Uploader"), T(req, "宛先", "Recipient"),
		     T(req, "メモ", "Note"), T(req, "ファイル(無害化の状態)", "Files (conversion)"));
	int64_t now = now_s();
	for (size_t i = 0; i < n; i++) {
		struct ptl_link l;
		if (ptl_link_load_hash(pt->links, v[i], now, &l) < 0)
			continue;
		if (strcmp(l.origin, "upload") != 0) {
			ptl_link_free(&l);
			continue;
		}
		char at[32], sz[32];
		fmt_time(l.created, at, sizeof at);
		ptl_page_put(p, "<tr><td><a href=\"/approvals/u/%s\">%s</a></td><td>%s</td><td>", v[i], at,
			     l.from ? l.from : "-");
		put_rcpts(p, &l);
		ptl_page_put(p, "</td><td>%s</td><td><ul>", l.note ? l.note : "");
		for (size_t k = 0; k < l.nfiles; k++) {
			ptl_page_put(p, "<li>%s (%s): ", l.files[k].name ? l.files[k].name : "-",
				     size_text(l.files[k].bytes, sz, sizeof sz));
			put_cdr_short(req, p, &l.files[k]);
			ptl_page_put(p, "</li>");
		}
		ptl_page_put(p, "</ul></td></tr>");
		ptl_link_free(&l);
		shown++;
	}
	ptl_page_put(p, "</table>");
	if (!shown)
		ptl_page_put(p, "<p>%s</p>",
			     T(req, "承認待ちのアップロードはありません。", "No uploads await approval."));
	if (more)
		ptl_page_put(p, "<p>%s %zu</p>", T(req, "表示していない承認待ち:", "Not shown:"), more);
	free(v);
}

static void h_approvals(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_session s;
	if (!require_role(req, PTL_ROLE_APPROVER, &s))
		return;
	struct ptl_request *rv;
	size_t nrv;
	(void)ptl_request_list(pt->reqdir, &rv, &nrv);
	struct ptl_page p;
	page_start(req, &p, "承認待ち一覧", "Approvals", &s);
	put_uploads(req, &p);
	ptl_page_put(&p, "<h2>%s</h2>", T(req, "原本の申請", "Requests for originals"));
	ptl_page_put(&p,
		     "<table><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
		     "<th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr>",
		     T(req, "申請日時", "Requested"), T(req, "ファイル", "File"), T(req, "理由", "Reason"),
		     T(req, "状態", "State"), T(req, "承認", "Approvals"));
	size_t shown = 0;
	for (size_t i = 0; i < nrv && shown < 200; i++) {
		const struct ptl_request *q = &rv[i];
		char at[32];
		fmt_time(q->created, at, sizeof at);
		ptl_page_put(
			&p,
			"<tr><td><a href=\"/approvals/%s\">%s</a></td><td>%s</td><td>%s</td><td>%s</td><td>%zu/%d</td></tr>",
			q->id, at, q->name ? q->name : "-", q->reason ? q->reason : "", q->state, q->napprovals,
			pt->o.two_approvers ? 2 : 1);
		shown++;
	}
	ptl_page_put(&p, "</table>");
	if (!shown)
		ptl_page_put(&p, "<p>%s</p>", T(req, "申請はありません。", "No requests."));
	send_page(req, &p, 200);
	ptl_request_list_free(rv, nrv);
}

/* the approve / deny form posting to /approvals/<kind><id> */
static void put_decision_form(struct ptl_req *req, struct ptl_page *p, const char *kind, const char *id,
			      const char *comment_label, const char *csrf)
{
	ptl_page_put(p,
		     "<form method=\"post\" action=\"/approvals/%s%s\"><fieldset><legend>%s</legend>"
		     "<input type=\"radio\" id=\"d-approve\" name=\"decision\" value=\"approve\" required>"
		     "<label for=\"d-approve\" class=\"inline\">%s</label>"
		     "<input type=\"radio\" id=\"d-deny\" name=\"decision\" value=\"deny\">"
		     "<label for=\"d-deny\" class=\"inline\">%s</label></fieldset>"
		     "<label for=\"comment\">%s</label><textarea id=\"comment\" name=\"comment\" rows=\"3\" "
		     "maxlength=\"1000\"></textarea>",
		     kind, id, T(req, "判断", "Decision"), T(req, "承認する", "Approve"), T(req, "却下する", "Deny"),
		     comment_label);
	ptl_page_csrf(p, csrf);
	ptl_page_put(p, "<button type=\"submit\">%s</button></form>", T(req, "送信", "Submit"));
}

static void h_approval_get(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_session s;
	if (!require_role(req, PTL_ROLE_APPROVER, &s))
		return;
	struct ptl_request q;
	if (ptl_request_load(pt->reqdir, req->args[0], &q) < 0) {
		refuse_key(req, "not-found");
		return;
	}
	char csrf[PTL_CSRF_LEN + 1], at[32], sz[32];
	csrf_for_page(req, &s, csrf);
	fmt_time(q.created, at, sizeof at);
	struct ptl_page p;
	page_start(req, &p, "原本の申請", "Request for an original", &s);
	ptl_page_put(
		&p,
		"<table><tr><th scope=\"row\">%s</th><td>%s</td></tr><tr><th scope=\"row\">%s</th><td>%s</td></tr>"
		"<tr><th scope=\"row\">%s</th><td>%s (%llu B)</td></tr><tr><th scope=\"row\">SHA-256</th><td>%s</td></tr>"
		"<tr><th scope=\"row\">%s</th><td>%s</td></tr><tr><th scope=\"row\">%s</th><td>%s</td></tr>"
		"<tr><th scope=\"row\">%s</th><td>%s %s</td></tr><tr><th scope=\"row\">%s</th><td>%s</td></tr>"
		"<tr><th scope=\"row\">%s</th><td>%s</td></tr></table>",
		T(req, "ファイル", "File"), q.name ? q.name : "-", T(req, "種類", "Type"), q.type ? q.type : "-",
		T(req, "サイズ", "Size"), size_text(q.bytes, sz, sizeof sz), (unsigned long long)q.bytes, q.sha256,
		T(req, "経路", "Origin"), q.origin, T(req, "申請日時", "Requested"), at, T(req, "申請者", "Requester"),
		q.peer, q.requester, T(req, "理由", "Reason"), q.reason ? q.reason : "", T(req, "状態", "State"),
		q.state);
	struct ptl_report rep;
	int r = ptl_report_load(pt->copies, q.sha256, false, &rep);
	ptl_page_put(&p, "<h2>%s</h2>", T(req, "無害化の結果", "Conversion report"));
	if (r < 0) {
		ptl_page_put(&p, "<p>%s</p>", T(req, "報告はまだありません。", "No report yet."));
	} else {
		if (rep.has_copy)
			ptl_page_put(&p, "<p class=\"ok\">%s (%s)</p>",
				     T(req, "無害化済みファイルは作成されています。", "A safe copy was made."),
				     rep.out_ext);
		else
			put_reason(req, &p, &rep);
		put_removed(req, &p, &rep);
		put_members(req, &p, &rep);
		ptl_report_free(&rep);
	}
	ptl_page_put(&p, "<h2>%s</h2><ul>", T(req, "判断", "Decisions"));
	for (size_t i = 0; i < q.napprovals; i++) {
		fmt_time(q.approvals[i].at, at, sizeof at);
		ptl_page_put(&p, "<li>%s: %s (%s) %s</li>", T(req, "承認", "approved"), q.approvals[i].user, at,
			     q.approvals[i].comment ? q.approvals[i].comment : "");
	}
	if (q.denied.user[0]) {
		fmt_time(q.denied.at, at, sizeof at);
		ptl_page_put(&p, "<li>%s: %s (%s) %s</li>", T(req, "却下", "denied"), q.denied.user, at,
			     q.denied.comment ? q.denied.comment : "");
	}
	ptl_page_put(&p, "</ul><p>%s: %d</p>", T(req, "必要な承認者数", "Approvers needed"),
		     pt->o.two_approvers ? 2 : 1);
	if (!strcmp(q.state, "pending")) {
		put_decision_form(req, &p, "", q.id, T(req, "コメント", "Comment"), csrf);
	}
	send_page(req, &p, 200);
	ptl_request_free(&q);
}

/* An approver's decision: the session, the POST's checks, the form's
 * fields (decision approve|deny, an optional comment); false when an
 * answer was given (login, 403, csrf, bad-form) */
static bool decision_form(struct ptl_req *req, struct ptl_session *s, const char **decision, const char **comment)
{
	if (!require_role(req, PTL_ROLE_APPROVER, s) || !post_ok(req, s))
		return false;
	*decision = ptl_form_get(&req->form, "decision");
	*comment = ptl_form_get(&req->form, "comment");
	if (!*comment)
		*comment = "";
	if (!*decision || (strcmp(*decision, "approve") && strcmp(*decision, "deny")) ||
	    !text_len_ok(*comment, COMMENT_MAX)) {
		refuse_key(req, "bad-form");
		return false;
	}
	return true;
}

/* the release job for an approved request */
static int queue_release(struct ptl_portal *pt, const struct ptl_request *q, char job[PTL_QUEUE_ID_LEN + 1])
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "kind", json_object_new_string("release"));
	json_object_object_add(o, "id", json_object_new_string(q->id));
	json_object_object_add(o, "sha256", json_object_new_string(q->sha256));
	json_object_object_add(o, "origin", json_object_new_string(q->origin));
	for (size_t i = 0; i < q->napprovals; i++)
		json_object_array_add(a, json_object_new_string(q->approvals[i].user));
	json_object_object_add(o, "approvers", a);
	json_object_object_add(o, "reason", json_object_new_string(q->reason ? q->reason : ""));
	int r = ptl_queue_put(
		pt->queue, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		job);
	json_object_put(o);
	return r;
}

static void h_approval_post(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_session s;
	const char *decision, *comment;
	if (!decision_form(req, &s, &decision, &comment))
		return;
	pthread_mutex_lock(&pt->mu);
	struct ptl_request q;
	const char *refusal = NULL;
	char job[PTL_QUEUE_ID_LEN + 1] = "";
	size_t needed = pt->o.two_approvers ? 2 : 1;
	bool final = false;
	int64_t now = now_s();
	if (ptl_request_load(pt->reqdir, req->args[0], &q) < 0) {
		refusal = "not-found";
		memset(&q, 0, sizeof q);
	} else if (strcmp(q.state, "pending") != 0) {
		refusal = "already-decided";
	} else if (q.requester[0] && !strcmp(q.requester, s.user)) {
		refusal = "own-request";
	} else if (!strcmp(decision, "approve")) {
		for (size_t i = 0; i < q.napprovals; i++)
			if (!strcmp(q.approvals[i].user, s.user))
				refusal = "same-approver";
		if (!refusal && q.napprovals < 2) {
			struct ptl_approval *a = &q.approvals[q.napprovals++];
			snprintf(a->user, sizeof a->user, "%s", s.user);
			a->comment = xstrdup(comment);
			a->at = now;
			if (q.napprovals >= needed) {
				final = true;
				strcpy(q.state, "approved");
				q.release_expires = now + (int64_t)pt->o.release_hours * 3600;
				if (ptl_random_token(32, q.release, sizeof q.release) < 0 ||
				    queue_release(pt, &q, job) < 0)
					refusal = "server-error";
			}
		}
	} else {
		strcpy(q.state, "denied");
		snprintf(q.denied.user, sizeof q.denied.user, "%s", s.user);
		q.denied.comment = xstrdup(comment);
		q.denied.at = now;
	}
	if (!refusal && ptl_request_save(pt->reqdir, &q) < 0)
		refusal = "server-error";
	pthread_mutex_unlock(&pt->mu);
	if (refusal) {
		refuse_key(req, refusal);
	} else {
		if (!strcmp(decision, "approve"))
			emit(req, "portal.approve",
			     (struct audit_field[]){AUDIT_BOOL("upload", false), AUDIT_STR("id", q.id),
						    AUDIT_STR("user", s.user), AUDIT_STR("comment", comment),
						    AUDIT_UINT("approvals", q.napprovals), AUDIT_UINT("needed", needed),
						    AUDIT_BOOL("final", final), AUDIT_STR("sha256", q.sha256),
						    AUDIT_STR("job", job)},
			     9);
		else
			emit(req, "portal.deny",
			     (struct audit_field[]){AUDIT_BOOL("upload", false), AUDIT_STR("id", q.id),
						    AUDIT_STR("user", s.user), AUDIT_STR("comment", comment),
						    AUDIT_STR("sha256", q.sha256)},
			     5);
		char *loc = xasprintf("/approvals/%s", q.id);
		ptl_send_redirect(req, loc);
		free(loc);
	}
	ptl_request_free(&q);
}

/* ------------------------------------------------- approval of uploads -- */

/* The upload in args[0] (a manifest hash) while it awaits approval, or a
 * refusal: not-found (no such manifest, not a hash, not an upload),
 * already-decided (no mark: approved or denied before), revoked, expired.
 * The mark is looked at first: a denied upload is revoked, and its second
 * decision must read "already decided", not "revoked".  Caller holds mu
 * when it is going to decide. */
static const char *upload_awaiting(struct ptl_req *req, struct ptl_link *l)
{
	struct ptl_portal *pt = P(req);
	const char *hash = req->args[0];
	memset(l, 0, sizeof *l);
	if (!ptl_hash_valid(hash))
		return "not-found";
	int r = ptl_link_load_hash(pt->links, hash, now_s(), l);
	if (r == -ENOENT || r == -EINVAL || r == -EFBIG || r == -ELOOP)
		return "not-found";
	if (!ptl_link_approval_pending(pt->links, hash)) {
		ptl_link_free(l);
		return "already-decided";
	}
	if (r == -EKEYREVOKED)
		return "revoked";
	if (r == -EKEYEXPIRED)
		return "expired";
	if (r < 0)
		return "server-error";
	if (strcmp(l->origin, "upload") != 0) {
		ptl_link_free(l);
		return "not-found";
	}
	return NULL;
}

/* the facts of an upload: the table at the top of its pages */
static void put_upload_facts(struct ptl_req *req, struct ptl_page *p, const struct ptl_link *l)
{
	char at[32], until[32];
	fmt_time(l->created, at, sizeof at);
	fmt_time(l->expires, until, sizeof until);
	ptl_page_put(p, "<table><tr><th scope=\"row\">%s</th><td>%s</td></tr><tr><th scope=\"row\">%s</th><td>",
		     T(req, "送信者(インターネット接続系)", "Uploader (Internet side)"), l->from ? l->from : "-",
		     T(req, "宛先", "Recipient"));
	put_rcpts(p, l);
	ptl_page_put(
		p,
		"</td></tr><tr><th scope=\"row\">%s</th><td>%s</td></tr><tr><th scope=\"row\">%s</th><td>%s</td></tr>"
		"<tr><th scope=\"row\">%s</th><td>%s</td></tr></table>\n",
		T(req, "メモ", "Note"), l->note ? l->note : "", T(req, "受付日時", "Received"), at,
		T(req, "リンクの期限", "Link expires"), until);
}

/* one file of an upload with its CDR report, as the message page shows
 * it (no download: an approver holds no token) */
static void put_upload_file(struct ptl_req *req, struct ptl_page *p, const struct ptl_link_file *f)
{
	char sz[32];
	ptl_page_put(p,
		     "<section><h3>%s</h3><table><tr><th scope=\"row\">%s</th><td>%s (%llu B)</td></tr>"
		     "<tr><th scope=\"row\">SHA-256</th><td>%s</td></tr></table>",
		     f->name ? f->name : T(req, "(名前なし)", "(no name)"), T(req, "サイズ", "Size"),
		     size_text(f->bytes, sz, sizeof sz), (unsigned long long)f->bytes, f->sha256);
	struct ptl_report rep;
	int r = ptl_report_load(P(req)->copies, f->sha256, false, &rep);
	if (r == -ENOENT) {
		if (f->cdr && !strncmp(f->cdr, "none:", 5))
			ptl_page_put(p, "<p class=\"ng\">%s (%s)</p>",
				     T(req, "無害化できないファイルです。", "No safe copy can be made."), f->cdr + 5);
		else
			ptl_page_put(p, "<p>%s</p>",
				     T(req, "無害化済みファイルを作成中です。", "The safe copy is being made."));
	} else if (r < 0) {
		ptl_page_put(p, "<p class=\"ng\">%s</p>",
			     T(req, "無害化の結果を読み取れません。", "The conversion report cannot be read."));
	} else {
		char osz[32];
		if (rep.has_copy)
			ptl_page_put(p, "<p class=\"ok\">%s (%s, %s)</p>",
				     T(req, "無害化済みファイルは作成されています。", "A safe copy was made."),
				     rep.out_ext, size_text(rep.out_bytes, osz, sizeof osz));
		else
			put_reason(req, p, &rep);
		put_removed(req, p, &rep);
		put_members(req, p, &rep);
		ptl_report_free(&rep);
	}
	ptl_page_put(p, "</section>\n");
}

static void h_upload_get(struct ptl_req *req)
{
	struct ptl_session s;
	if (!require_role(req, PTL_ROLE_APPROVER, &s))
		return;
	struct ptl_link l;
	const char *refusal = upload_awaiting(req, &l);
	if (refusal) {
		refuse_key(req, refusal);
		return;
	}
	char csrf[PTL_CSRF_LEN + 1];
	csrf_for_page(req, &s, csrf);
	struct ptl_page p;
	page_start(req, &p, "アップロードの承認", "Approval of an upload", &s);
	put_upload_facts(req, &p, &l);
	ptl_page_put(&p, "<h2>%s (%zu)</h2>", T(req, "ファイルと無害化の結果", "Files and their conversion"), l.nfiles);
	for (size_t i = 0; i < l.nfiles; i++)
		put_upload_file(req, &p, &l.files[i]);
	ptl_page_put(&p, "<p class=\"note\">%s</p><p class=\"note\">%s</p>",
		     T(req, "承認すると、宛先に通知メール(受け取り用のリンク付き)が送られます。",
		       "Approve: the recipient gets the notification mail with the link."),
		     T(req,
		       "却下すると、リンクは取り消され、宛先には何も届きません。送信者にも通知されません"
		       "(必要なら直接連絡してください)。",
		       "Deny: the link is revoked and the recipient gets nothing. The uploader is not told either "
		       "(contact them if needed)."));
	put_decision_form(req, &p, "u/", req->args[0],
			  T(req, "コメント(監査ログに残ります)", "Comment (kept in the audit log)"), csrf);
	send_page(req, &p, 200);
	ptl_link_free(&l);
}

/* the notify job for an approved upload: the worker mails its link */
static int queue_notify(struct ptl_portal *pt, const char *hash, char job[PTL_QUEUE_ID_LEN + 1])
{
	char id[PTL_QUEUE_ID_LEN + 1], text[256];
	/* the request's own id: the job's name is made by the put, so a
	 * second random name of the same form serves as id */
	if (ptl_random_token(12, id, sizeof id) < 0)
		return -EIO;
	snprintf(text, sizeof text, "{\"v\":1,\"kind\":\"notify\",\"id\":\"u-%s\",\"link\":\"%s\"}", id, hash);
	return ptl_queue_put(pt->queue, text, job);
}

static void h_upload_post(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_session s;
	const char *decision, *comment;
	if (!decision_form(req, &s, &decision, &comment))
		return;
	bool approve = !strcmp(decision, "approve");
	const char *hash = req->args[0];
	char job[PTL_QUEUE_ID_LEN + 1] = "";
	struct ptl_link l;
	/* under mu: two approvers of this process decide one after the other,
	 * and the second finds no mark ("already-decided") */
	pthread_mutex_lock(&pt->mu);
	const char *refusal = upload_awaiting(req, &l);
	bool done = false;
	if (!refusal) {
		/* the action first, then the mark: a failure or a kill in
		 * between leaves the upload listed, and deciding it again is
		 * harmless (the worker mails a link once; revoking twice is
		 * revoking) */
		int r = approve ? queue_notify(pt, hash, job) : ptl_link_revoke(pt->links, hash);
		done = r == 0;
		/* a mark another process removed meanwhile is removed */
		if (done && (r = ptl_link_approval_clear(pt->links, hash)) == -ENOENT)
			r = 0;
		if (r < 0)
			refusal = "server-error";
	}
	pthread_mutex_unlock(&pt->mu);
	if (done) {
		const char *names[PTL_LINK_MAX_FILES], *shas[PTL_LINK_MAX_FILES], *rcpt[PTL_LINK_MAX_RCPT];
		for (size_t i = 0; i < l.nfiles; i++) {
			names[i] = l.files[i].name ? l.files[i].name : "";
			shas[i] = l.files[i].sha256;
		}
		for (size_t i = 0; i < l.nrcpt; i++)
			rcpt[i] = l.rcpt[i];
		struct audit_field f[] = {
			AUDIT_BOOL("upload", true),
			AUDIT_STR("link", hash),
			AUDIT_STR("user", s.user),
			AUDIT_STR("comment", comment),
			AUDIT_STR("uploader", l.from ? l.from : ""),
			AUDIT_STRLIST("rcpt", rcpt, l.nrcpt),
			AUDIT_STRLIST("names", names, l.nfiles),
			AUDIT_STRLIST("sha256", shas, l.nfiles),
			AUDIT_STR("job", job),
		};
		size_t nf = sizeof f / sizeof f[0];
		emit(req, approve ? "portal.approve" : "portal.deny", f, approve ? nf : nf - 1);
	}
	if (refusal) {
		refuse_key(req, refusal);
		ptl_link_free(&l);
		return;
	}
	struct ptl_page p;
	page_start(req, &p, approve ? "アップロードを承認しました" : "アップロードを却下しました",
		   approve ? "Upload approved" : "Upload denied", &s);
	put_upload_facts(req, &p, &l);
	if (approve)
		ptl_page_put(&p, "<p class=\"ok\">%s</p>",
			     T(req, "宛先に通知メール(受け取り用のリンク付き)を送ります。",
			       "The recipient will get the notification mail with the link."));
	else
		ptl_page_put(&p, "<p class=\"ng\">%s</p>",
			     T(req, "リンクを取り消しました。宛先には何も届きません。送信者にも通知されません。",
			       "The link is revoked; the recipient gets nothing. The uploader is not told either."));
	ptl_page_put(&p, "<p><a href=\"/approvals\">%s</a></p>", T(req, "承認待ち一覧へ", "Back to the approvals"));
	send_page(req, &p, 200);
	ptl_link_free(&l);
}

/* -------------------------------------------------------------- release -- */

/* claim id for a download; false when it is being downloaded.  Caller holds mu. */
static bool in_flight_claim(struct ptl_portal *pt, const char *id)
{
	char *free_slot = NULL;
	for (size_t i = 0; i < RELEASES_IN_FLIGHT; i++) {
		if (!strcmp(pt->in_flight[i], id))
			return false;
		if (!pt->in_flight[i][0] && !free_slot)
			free_slot = pt->in_flight[i];
	}
	if (!free_slot)
		return false;
	strcpy(free_slot, id);
	return true;
}

static void in_flight_drop(struct ptl_portal *pt, const char *id)
{
	for (size_t i = 0; i < RELEASES_IN_FLIGHT; i++)
		if (!strcmp(pt->in_flight[i], id))
			pt->in_flight[i][0] = 0;
}

static void release_unlink(struct ptl_portal *pt, const char *id)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.data", pt->releases, id);
	unlink(path);
}

static void h_release(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	const char *tok = req->args[0];
	int64_t now = now_s();
	if (ptl_throttle_check(&pt->guess, "", req->peer, now, NULL) < 0) {
		refuse_key(req, "too-many");
		return;
	}
	char id[PTL_ID_LEN + 1];
	struct ptl_request q;
	bool found = strlen(tok) == RELEASE_TOKEN_LEN && tok[PTL_ID_LEN] == '_';
	if (found) {
		memcpy(id, tok, PTL_ID_LEN);
		id[PTL_ID_LEN] = 0;
		found = ptl_request_load(pt->reqdir, id, &q) == 0;
		if (found &&
		    (strlen(q.release) != PTL_RELEASE_SECRET_LEN ||
		     CRYPTO_memcmp(q.release, tok + PTL_ID_LEN + 1, PTL_RELEASE_SECRET_LEN) != 0)) {
			ptl_request_free(&q);
			found = false;
		}
	}
	if (!found) {
		ptl_throttle_fail(&pt->guess, "", req->peer, now);
		refuse_key(req, "not-found");
		return;
	}
	const char *refusal = NULL;
	int fd = -1;
	uint64_t size = 0;
	pthread_mutex_lock(&pt->mu);
	if (strcmp(q.state, "approved") != 0)
		refusal = "not-found";
	else if (q.downloaded)
		refusal = "release-used";
	else if (now > q.release_expires) {
		refusal = "release-expired";
		release_unlink(pt, q.id);
	} else if (!in_flight_claim(pt, q.id))
		refusal = "release-busy";
	pthread_mutex_unlock(&pt->mu);
	if (!refusal) {
		char name[PTL_ID_LEN + 8];
		snprintf(name, sizeof name, "%s.data", q.id);
		fd = open_checked(pt->releases, name, q.sha256, &size);
		if (fd < 0) {
			refusal = fd == -ENOENT ? "release-not-ready" : "integrity";
			pthread_mutex_lock(&pt->mu);
			in_flight_drop(pt, q.id);
			pthread_mutex_unlock(&pt->mu);
		}
	}
	if (refusal) {
		refuse_key(req, refusal);
		ptl_request_free(&q);
		return;
	}
	struct release_ctx *rc = xcalloc(1, sizeof *rc);
	memcpy(rc->id, q.id, sizeof rc->id);
	memcpy(rc->sha256, q.sha256, sizeof rc->sha256);
	rc->bytes = size;
	req->user = rc;
	ptl_send_file(req, fd, size, ctype_of(q.type), q.name && *q.name ? q.name : "original");
	ptl_request_free(&q);
}

void ptl_portal_done(struct ptl_req *req, bool completed_ok)
{
	struct release_ctx *rc = req->user;
	if (!rc)
		return;
	struct ptl_portal *pt = P(req);
	pthread_mutex_lock(&pt->mu);
	if (completed_ok) {
		struct ptl_request q;
		if (ptl_request_load(pt->reqdir, rc->id, &q) == 0) {
			q.downloaded = now_s();
			if (ptl_request_save(pt->reqdir, &q) < 0)
				completed_ok = false; /* keep the file: the record must say it went */
			ptl_request_free(&q);
		}
		if (completed_ok)
			release_unlink(pt, rc->id);
	}
	in_flight_drop(pt, rc->id);
	pthread_mutex_unlock(&pt->mu);
	emit(req, "portal.release",
	     (struct audit_field[]){AUDIT_STR("id", rc->id), AUDIT_STR("sha256", rc->sha256),
				    AUDIT_UINT("bytes", rc->bytes), AUDIT_BOOL("complete", completed_ok)},
	     4);
	free(rc);
	req->user = NULL;
}

int ptl_portal_sweep(struct ptl_portal *p, int64_t now)
{
	DIR *d = opendir(p->releases);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char id[PTL_ID_LEN + 1];
		if (!ptl_id_of_name(e->d_name, ".data", id))
			continue;
		struct ptl_request q;
		pthread_mutex_lock(&p->mu);
		bool busy = false;
		for (size_t i = 0; i < RELEASES_IN_FLIGHT; i++)
			busy |= !strcmp(p->in_flight[i], id);
		if (!busy && ptl_request_load(p->reqdir, id, &q) == 0) {
			if (q.downloaded || (!strcmp(q.state, "approved") && now > q.release_expires)) {
				release_unlink(p, id);
				n++;
			}
			ptl_request_free(&q);
		}
		pthread_mutex_unlock(&p->mu);
	}
	closedir(d);
	return n;
}

/* ------------------------------------------------------------ operators -- */

/* the newest audit file of dir (names sort by time), or NULL */
static char *newest_audit_file(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char best[256] = "";
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < sizeof best && !strncmp(e->d_name, "audit-", 6) && l > 6 &&
		    !strcmp(e->d_name + l - 6, ".jsonl") && strcmp(e->d_name, best) > 0)
			strcpy(best, e->d_name);
	}
	closedir(d);
	return best[0] ? xasprintf("%s/%s", dir, best) : NULL;
}

static void put_activity(struct ptl_req *req, struct ptl_page *p)
{
	struct ptl_portal *pt = P(req);
	(void)audit_flush(pt->audit);
	char *path = newest_audit_file(pt->audit_dir);
	int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	free(path);
	if (fd < 0) {
		ptl_page_put(p, "<p>%s</p>", T(req, "記録を読めません。", "The records cannot be read."));
		return;
	}
	struct stat st;
	char *buf = NULL;
	ssize_t len = 0;
	if (fstat(fd, &st) == 0) {
		off_t from = st.st_size > (off_t)AUDIT_TAIL_BYTES ? st.st_size - (off_t)AUDIT_TAIL_BYTES : 0;
		buf = xmalloc(AUDIT_TAIL_BYTES + 1);
		len = pread(fd, buf, AUDIT_TAIL_BYTES, from);
		if (len < 0)
			len = 0;
		buf[len] = 0;
	}
	close(fd);
	/* lines, newest first; the first (maybe cut) line of a tail is skipped */
	ptl_page_put(p, "<table><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr>",
		     T(req, "日時", "Time"), T(req, "操作", "Event"), T(req, "内容", "Details"));
	size_t shown = 0;
	char *end = buf ? buf + len : NULL;
	while (buf && end > buf && shown < OPS_RECORDS) {
		char *nl = end - 1;
		while (nl > buf && nl[-1] != '\n')
			nl--;
		size_t ll = (size_t)(end - nl);
		if (nl == buf && st.st_size > (off_t)AUDIT_TAIL_BYTES)
			break;
		struct json_object *o = jsonx_parse(nl, ll, 8), *ts, *ev, *data;
		if (o && json_object_object_get_ex(o, "ts", &ts) && json_object_object_get_ex(o, "event", &ev) &&
		    json_object_object_get_ex(o, "data", &data)) {
			char det[401];
			cut(json_object_to_json_string_ext(data,
							   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    det, sizeof det);
			/* a record's details have no spaces: "rec" lets them wrap */
			ptl_page_put(p, "<tr><td>%s</td><td>%s</td><td class=\"rec\">%s</td></tr>",
				     json_object_get_string(ts), json_object_get_string(ev), det);
			shown++;
		}
		json_object_put(o);
		end = nl > buf ? nl - 1 : buf;
		*end = 0;
	}
	ptl_page_put(p, "</table>");
	free(buf);
}

static void h_ops(struct ptl_req *req)
{
	struct ptl_session s;
	if (!require_role(req, PTL_ROLE_OPERATOR, &s))
		return;
	char csrf[PTL_CSRF_LEN + 1];
	csrf_for_page(req, &s, csrf);
	struct ptl_page p;
	page_start(req, &p, "運用: 最近の操作", "Operations: recent activity", &s);
	ptl_page_put(&p,
		     "<h2>%s</h2><form method=\"post\" action=\"/ops/revoke\"><label for=\"link\">%s</label>"
		     "<input type=\"text\" id=\"link\" name=\"link\" maxlength=\"300\" required>",
		     T(req, "リンクの取り消し", "Revoke a link"),
		     T(req, "リンク(URL、トークン、またはハッシュ)", "Link (URL, token or hash)"));
	ptl_page_csrf(&p, csrf);
	ptl_page_put(&p, "<button type=\"submit\">%s</button></form><h2>%s</h2>", T(req, "取り消す", "Revoke"),
		     T(req, "最近の記録(新しい順)", "Recent records (newest first)"));
	put_activity(req, &p);
	send_page(req, &p, 200);
}

static void h_revoke(struct ptl_req *req)
{
	struct ptl_portal *pt = P(req);
	struct ptl_session s;
	if (!require_role(req, PTL_ROLE_OPERATOR, &s) || !post_ok(req, &s))
		return;
	const char *v = ptl_form_get(&req->form, "link");
	const char *m = v ? strstr(v, "/m/") : NULL;
	if (m)
		v = m + 3;
	char hash[PTL_HASH_LEN + 1] = "";
	if (v && ptl_hash_valid(v))
		snprintf(hash, sizeof hash, "%s", v);
	else if (!v || ptl_token_hash(v, hash) < 0)
		hash[0] = 0;
	int r = hash[0] ? ptl_link_revoke(pt->links, hash) : -ENOENT;
	if (r < 0) {
		refuse_key(req, r == -ENOENT || r == -EINVAL ? "not-found" : "server-error");
		return;
	}
	emit(req, "portal.revoke", (struct audit_field[]){AUDIT_STR("link", hash), AUDIT_STR("user", s.user)}, 2);
	ptl_send_redirect(req, "/ops");
}

/* --------------------------------------------------------------- routes -- */

static const struct ptl_route routes[] = {
	{"GET", "/", h_index, NULL, 0},
	{"GET", "/m/*", h_view, NULL, 0},
	{"GET", "/m/*/copy/*", h_copy, NULL, 0},
	{"POST", "/m/*/ppap/*", h_ppap, NULL, 0},
	{"POST", "/m/*/request/*", h_request, NULL, 0},
	{"GET", "/login", h_login_get, NULL, 0},
	{"POST", "/login", h_login_post, NULL, 0},
	{"POST", "/logout", h_logout, NULL, 0},
	{"GET", "/approvals", h_approvals, NULL, 0},
	{"GET", "/approvals/*", h_approval_get, NULL, 0},
	{"POST", "/approvals/*", h_approval_post, NULL, 0},
	{"GET", "/approvals/u/*", h_upload_get, NULL, 0},
	{"POST", "/approvals/u/*", h_upload_post, NULL, 0},
	{"GET", "/r/*", h_release, NULL, 0},
	{"GET", "/ops", h_ops, NULL, 0},
	{"POST", "/ops/revoke", h_revoke, NULL, 0},
};

const struct ptl_route *ptl_portal_routes(size_t *ret_n)
{
	*ret_n = sizeof routes / sizeof routes[0];
	return routes;
}

char *ptl_portal_accounts_path(const char *state)
{
	return xasprintf("%s/accounts", state);
}

int ptl_portal_new(const struct ptl_portal_opts *o, struct audit_log *audit, struct ptl_portal **ret, char *why,
		   size_t whylen)
{
	struct ptl_portal *p = xcalloc(1, sizeof *p);
	p->o = *o;
	if (!p->o.release_hours)
		p->o.release_hours = 24;
	p->state = xstrdup(o->state);
	p->links = xstrdup(o->links);
	p->copies = xstrdup(o->copies);
	p->releases = xstrdup(o->releases);
	p->queue = xstrdup(o->queue);
	p->audit_dir = xstrdup(o->audit_dir);
	p->reqdir = xasprintf("%s/requests", o->state);
	p->accounts = ptl_portal_accounts_path(o->state);
	p->audit = audit;
	pthread_mutex_init(&p->mu, NULL);
	ptl_throttle_init(&p->login, &o->login);
	struct ptl_throttle_opts g = {
		.max_user = 1u << 30, .max_peer = o->guess_max ? o->guess_max : 30, .window_s = 600, .lockout_s = 600};
	ptl_throttle_init(&p->guess, &g);
	ptl_sessions_init(&p->sessions, o->session_idle_s, o->session_abs_s);
	int r = 0;
	if (mkdir(p->reqdir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", p->reqdir, strerror(errno));
	}
	if (!r) {
		r = ptl_users_load(p->accounts, &p->users, why, whylen);
		if (!r && stat(p->accounts, &p->users_st) < 0)
			memset(&p->users_st, 0, sizeof p->users_st);
	}
	if (!r && getentropy(p->csrf_key, sizeof p->csrf_key) < 0) {
		r = -errno;
		snprintf(why, whylen, "getentropy: %s", strerror(errno));
	}
	if (r) {
		ptl_portal_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void ptl_portal_free(struct ptl_portal *p)
{
	if (!p)
		return;
	explicit_bzero(p->csrf_key, sizeof p->csrf_key);
	ptl_users_free(&p->users);
	free(p->state);
	free(p->links);
	free(p->copies);
	free(p->releases);
	free(p->queue);
	free(p->audit_dir);
	free(p->reqdir);
	free(p->accounts);
	free(p);
}
