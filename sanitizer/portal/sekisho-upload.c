/* sekisho-upload: the Internet-side upload portal (docs/portal.md,
 * "Internet-side upload portal").
 *
 *   sekisho-upload serve --listen ADDR:PORT --cert F --key F --state DIR
 *       --inbox DIR --audit-dir DIR --audit-key F --rcpt-domain D [...]
 *       [--max-bytes N] [--max-files N] [--max-total N] [--approval on|off]
 *   sekisho-upload user add|passwd NAME --state DIR   (password on stdin)
 *   sekisho-upload user del NAME --state DIR
 *   sekisho-upload user list --state DIR
 *
 * Logged-in staff upload files for an LGWAN recipient with a note; each
 * upload becomes a parcel in the inbox (ptl_inbox), streamed to disk as it
 * arrives (ptl_upload: multipart parser, caps, CSRF and recipient before
 * any byte is written).  The HTTPS server, forms, cookies, CSRF tokens and
 * pages are ptl_http's; accounts, throttling and sessions ptl_users'.  The
 * process can only add to the inbox (mode 3730): it never reads a parcel
 * back.
 *
 * Failure behaviour: a refused upload leaves nothing in the inbox and is
 * answered with a page naming the reason (413 naming the cap); an upload
 * cut off by the client or by a crash leaves only .part files (the worker
 * removes them).  Configuration errors exit 2 before listening; every
 * login, failed login, received upload and refusal is an audit record.
 * Pages are Japanese, English when the browser prefers it. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/audit/audit.h"
#include "common/i18n.h"
#include "common/svc.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "sanitizer/portal/ptl_http.h"
#include "sanitizer/portal/ptl_inbox.h"
#include "sanitizer/portal/ptl_rcpt.h"
#include "sanitizer/portal/ptl_upload.h"
#include "sanitizer/portal/ptl_users.h"

#define SID_COOKIE "__Host-sekisho-upload"
#define PRE_COOKIE "__Host-sekisho-upload-pre"
#define MAX_DOMAINS 32
#define PRE_BYTES 32
#define PRE_LEN 43

static struct {
	const char *listen, *cert, *key, *state, *inbox, *adir, *akey;
	const char *domains[MAX_DOMAINS];
	size_t ndomains;
	uint64_t max_bytes, max_total;
	unsigned max_files;
	bool approval;
	unsigned max_conn, max_conn_per_ip, timeout_s;
} cf = {.max_bytes = (uint64_t)100 << 20, .max_files = 10};

static char *accounts; /* the account file, read at every login */
static struct ptl_throttle throttle;
static struct ptl_sessions sessions;
static uint8_t csrf_key[PTL_CSRF_KEY_BYTES];
static struct ptl_inbox *inbox;
static struct audit_log *audit;

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

#define TX(req, ja, en) ((req)->lang == PTL_EN ? (en) : (ja))

/* "100 MiB", "512 KiB", "10 B": caps as people read them */
static void human_size(uint64_t n, char *out, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (u < 4 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	snprintf(out, len, "%" PRIu64 " %s", n, unit[u]);
}

/* ------------------------------------------------------------------ audit -- */

static void audit_refused(struct ptl_req *req, const char *reason, const char *user, int status)
{
	struct audit_field f[] = {
		AUDIT_STR("reason", reason),         AUDIT_STR("peer", req->peer),
		AUDIT_STR("user", user ? user : ""), AUDIT_STR("route", req->path ? req->path : ""),
		AUDIT_INT("status", status),
	};
	audit_emit(audit, "upload.refused", f, AUDIT_N(f));
}

/* ------------------------------------------------------------------ pages -- */

static void page_head(struct ptl_page *p, struct ptl_req *req, const char *title_ja, const char *title_en)
{
	ptl_page_begin(p, req->lang, TX(req, title_ja, title_en));
	ptl_page_put(p, "<h1>%s</h1>\n", TX(req, title_ja, title_en));
}

/* The message of a refusal reason, with the cap it names (if any) in cap. */
static const char *reason_text(struct ptl_req *req, const char *why, char *cap, size_t caplen)
{
	static const struct {
		const char *key, *ja, *en;
	} T[] = {
		{"file-too-big", "ファイルが大きすぎます。1 ファイルの上限は %s です。",
		 "A file is too large. The limit per file is %s."},
		{"total-too-big", "ファイルの合計が大きすぎます。合計の上限は %s です。",
		 "The files are too large together. The limit for all files is %s."},
		{"too-large", "送信されたデータが大きすぎます。上限は %s です。",
		 "The request is too large. The limit is %s."},
		{"too-many-files", "ファイルが多すぎます。一度に送れるのは %s ファイルまでです。",
		 "Too many files. At most %s files can be sent at once."},
		{"csrf", "フォームの有効期限が切れたか、別のサイトから送信されました。もう一度お試しください。",
		 "The form expired or was sent from another site. Please try again."},
		{"session", "ログインしてください。", "Please log in."},
		{"rcpt-empty", "宛先のメールアドレスを入力してください。",
		 "Please enter the recipient's mail address."},
		{"rcpt-too-long", "宛先のメールアドレスが長すぎます。", "The recipient's mail address is too long."},
		{"rcpt-syntax", "宛先はメールアドレスだけを入力してください (例: sato@%s)。",
		 "Enter only the recipient's mail address (e.g. sato@%s)."},
		{"rcpt-domain", "この宛先には送れません。送れるのは次のドメインです: %s",
		 "Files cannot be sent to this address. Allowed domains: %s"},
		{"note-too-long", "メモが長すぎます。", "The note is too long."},
		{"note-invalid", "メモに使えない文字が含まれています。",
		 "The note contains characters that are not allowed."},
		{"no-file", "ファイルを選んでください。", "Please choose at least one file."},
		{"io", "サーバーで保存できませんでした。時間をおいてお試しください。",
		 "The server could not store the files. Please try again later."},
		{"not-found", "ページが見つかりません。", "Page not found."},
		{"method", "この操作はできません。", "This method is not allowed here."},
	};
	cap[0] = 0;
	if (!strcmp(why, "file-too-big"))
		human_size(cf.max_bytes, cap, caplen);
	else if (!strcmp(why, "total-too-big"))
		human_size(cf.max_total, cap, caplen);
	else if (!strcmp(why, "too-large"))
		human_size(cf.max_total, cap, caplen);
	else if (!strcmp(why, "too-many-files"))
		snprintf(cap, caplen, "%u", cf.max_files);
	else if (!strcmp(why, "rcpt-syntax"))
		snprintf(cap, caplen, "%s", cf.domains[0]);
	else if (!strcmp(why, "rcpt-domain")) {
		size_t o = 0;
		for (size_t i = 0; i < cf.ndomains && o < caplen; i++)
			o += (size_t)snprintf(cap + o, caplen - o, "%s%s", i ? ", " : "", cf.domains[i]);
	}
	for (size_t i = 0; i < sizeof(T) / sizeof(T[0]); i++)
		if (!strcmp(T[i].key, why))
			return TX(req, T[i].ja, T[i].en);
	return TX(req, "送信されたフォームを受け付けられませんでした (%s)。", "The form could not be accepted (%s).");
}

/* A refusal page: the reason in words (the cap named), the reason key for
 * the helpdesk, a way back. */
static void send_refusal(struct ptl_req *req, unsigned status, const char *why)
{
	struct ptl_page p;
	char cap[512];
	const char *fmt = reason_text(req, why, cap, sizeof(cap));
	page_head(&p, req, "受け付けられませんでした", "Not accepted");
	/* fmt is our own text; the cap (or the key) goes through the
	 * builder's escape like every %s */
	ptl_page_put(&p, "<p role=\"alert\">");
	ptl_page_put(&p, fmt, cap[0] ? cap : why);
	ptl_page_put(&p, "</p>\n<p>%s <code>%s</code></p>\n", TX(req, "理由コード:", "Reason code:"), why);
	ptl_page_put(&p, "<p><a href=\"/\">%s</a></p>\n", TX(req, "アップロード画面に戻る", "Back to the upload form"));
	ptl_page_end(&p);
	ptl_send_page(req, status, &p);
}

/* --------------------------------------------------------------- sessions -- */

static bool session_of(struct ptl_req *req, struct ptl_session *s, char sid[PTL_SID_LEN + 1])
{
	char v[PTL_COOKIE_MAX_LEN];
	if (ptl_req_cookie(req, SID_COOKIE, v, sizeof(v)) < 0 || strlen(v) != PTL_SID_LEN)
		return false;
	if (ptl_session_get(&sessions, v, now_s(), s) < 0)
		return false;
	memcpy(sid, v, PTL_SID_LEN + 1);
	return true;
}

/* The pre-session cookie that binds the login form's CSRF token: the
 * request's, or a new one (set on the response). */
static void pre_cookie(struct ptl_req *req, char pre[PRE_LEN + 1])
{
	char v[PTL_COOKIE_MAX_LEN];
	if (ptl_req_cookie(req, PRE_COOKIE, v, sizeof(v)) == 0 && strlen(v) == PRE_LEN) {
		memcpy(pre, v, PRE_LEN + 1);
		return;
	}
	if (ptl_random_token(PRE_BYTES, pre, PRE_LEN + 1) < 0)
		pre[0] = 0;
	struct strbuf sb = STRBUF_INIT;
	if (pre[0] && ptl_cookie_format(&sb, PRE_COOKIE, pre, -1) == 0)
		ptl_req_set_cookie(req, strbuf_str(&sb));
	strbuf_free(&sb);
}

/* ------------------------------------------------------------------ login -- */

static void login_page(struct ptl_req *req, unsigned status, const char *error)
{
	char pre[PRE_LEN + 1], csrf[PTL_CSRF_LEN + 1];
	pre_cookie(req, pre);
	ptl_csrf_make(csrf_key, pre, csrf);
	struct ptl_page p;
	page_head(&p, req, "ファイル受け渡し — ログイン", "File transfer — log in");
	if (error)
		ptl_page_put(&p, "<p role=\"alert\" class=\"error\">%s</p>\n", error);
	ptl_page_put(&p, "<form method=\"post\" action=\"/login\">\n");
	ptl_page_csrf(&p, csrf);
	ptl_page_put(&p,
		     "\n<p><label for=\"user\">%s</label><br>"
		     "<input id=\"user\" name=\"user\" autocomplete=\"username\" required maxlength=\"32\"></p>\n"
		     "<p><label for=\"password\">%s</label><br>"
		     "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" "
		     "required maxlength=\"1024\"></p>\n"
		     "<p><button type=\"submit\">%s</button></p>\n</form>\n",
		     TX(req, "ユーザー名", "User name"), TX(req, "パスワード", "Password"),
		     TX(req, "ログイン", "Log in"));
	ptl_page_end(&p);
	ptl_send_page(req, status, &p);
}

static void get_login(struct ptl_req *req)
{
	struct ptl_session s;
	char sid[PTL_SID_LEN + 1];
	if (session_of(req, &s, sid)) {
		ptl_send_redirect(req, "/");
		return;
	}
	login_page(req, 200, NULL);
}

static void post_login(struct ptl_req *req)
{
	const char *user = ptl_form_get(&req->form, "user");
	const char *password = ptl_form_get(&req->form, "password");
	const char *token = ptl_form_get(&req->form, "csrf");
	char pre[PTL_COOKIE_MAX_LEN];
	if (!ptl_req_same_origin(req) || ptl_req_cookie(req, PRE_COOKIE, pre, sizeof(pre)) < 0 || !token ||
	    !ptl_csrf_ok(csrf_key, pre, token)) {
		audit_refused(req, "csrf", user, 403);
		login_page(req, 403,
			   TX(req, "フォームの有効期限が切れました。もう一度ログインしてください。",
			      "The form expired. Please log in again."));
		return;
	}
	if (!user || !password || !user[0]) {
		login_page(req, 400,
			   TX(req, "ユーザー名とパスワードを入力してください。", "Enter your user name and password."));
		return;
	}
	int64_t now = now_s(), wait = 0;
	if (ptl_throttle_check(&throttle, user, req->peer, now, &wait) < 0) {
		struct audit_field f[] = {
			AUDIT_STR("user", user),
			AUDIT_STR("peer", req->peer),
			AUDIT_STR("reason", "locked"),
			AUDIT_INT("wait_s", wait),
		};
		audit_emit(audit, "upload.login_failed", f, AUDIT_N(f));
		login_page(req, 429,
			   TX(req,
			      "ログインの失敗が続いたため、しばらくログインできません。時間をおいてお試しください。",
			      "Too many failed logins: logging in is blocked for a while. Please try again later."));
		return;
	}
	/* the account file is read at each login: "user add|passwd|del" take
	 * effect without a restart, and no thread shares a list */
	struct ptl_users users = {0};
	char why[256] = "";
	int r = ptl_users_load(accounts, &users, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "sekisho-upload: %s: %s\n", accounts, why[0] ? why : strerror(-r));
		send_refusal(req, 500, "io");
		return;
	}
	enum ptl_role role = PTL_ROLE_NONE;
	r = ptl_users_login(&users, user, password, &role);
	ptl_users_free(&users);
	if (r < 0 || role != PTL_ROLE_STAFF) {
		bool locked = ptl_throttle_fail(&throttle, user, req->peer, now);
		struct audit_field f[] = {
			AUDIT_STR("user", user),
			AUDIT_STR("peer", req->peer),
			AUDIT_STR("reason", role == PTL_ROLE_NONE ? "password" : "role"),
			AUDIT_BOOL("lockout", locked),
		};
		audit_emit(audit, "upload.login_failed", f, AUDIT_N(f));
		/* 401 and the words of the LGWAN portal: one answer for one mistake */
		login_page(req, 401, TX(req, "ユーザー名またはパスワードが違います。", "Wrong user name or password."));
		return;
	}
	ptl_throttle_ok(&throttle, user, now);
	struct ptl_session s;
	if (ptl_session_new(&sessions, user, role, now, &s) < 0) {
		send_refusal(req, 500, "io");
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	if (ptl_cookie_format(&sb, SID_COOKIE, s.id, -1) == 0)
		ptl_req_set_cookie(req, strbuf_str(&sb));
	strbuf_free(&sb);
	struct audit_field f[] = {
		AUDIT_STR("user", user),
		AUDIT_STR("peer", req->peer),
	};
	audit_emit(audit, "upload.login", f, AUDIT_N(f));
	ptl_send_redirect(req, "/");
}

static void post_logout(struct ptl_req *req)
{
	struct ptl_session s;
	char sid[PTL_SID_LEN + 1];
	const char *token = ptl_form_get(&req->form, "csrf");
	if (!session_of(req, &s, sid) || !ptl_req_same_origin(req) || !token || !ptl_csrf_ok(csrf_key, sid, token)) {
		audit_refused(req, "csrf", NULL, 403);
		send_refusal(req, 403, "csrf");
		return;
	}
	ptl_session_end(&sessions, sid);
	struct strbuf sb = STRBUF_INIT;
	if (ptl_cookie_format(&sb, SID_COOKIE, "-", 0) == 0)
		ptl_req_set_cookie(req, strbuf_str(&sb));
	strbuf_free(&sb);
	ptl_send_redirect(req, "/login");
}

/* ----------------------------------------------------------------- upload -- */

static void get_form(struct ptl_req *req)
{
	struct ptl_session s;
	char sid[PTL_SID_LEN + 1];
	if (!session_of(req, &s, sid)) {
		ptl_send_redirect(req, "/login");
		return;
	}
	char csrf[PTL_CSRF_LEN + 1], per[32], total[32];
	ptl_csrf_make(csrf_key, sid, csrf);
	human_size(cf.max_bytes, per, sizeof(per));
	human_size(cf.max_total, total, sizeof(total));
	struct ptl_page p;
	page_head(&p, req, "LGWAN へファイルを送る", "Send files to LGWAN");
	ptl_page_put(&p, "<p>%s %s</p>\n", TX(req, "ログイン中:", "Logged in as"), s.user);
	ptl_page_put(&p, "<p>%s</p>\n<form method=\"post\" action=\"/upload\" enctype=\"multipart/form-data\">\n",
		     TX(req,
			"ファイルは無害化されてから宛先に届きます。宛先には LGWAN 側のメールでお知らせが届きます。",
			"The files reach the recipient only as sanitised copies; the recipient is told by mail on the "
			"LGWAN side."));
	/* csrf first: the server checks it before it stores any file */
	ptl_page_csrf(&p, csrf);
	ptl_page_put(&p,
		     "\n<p><label for=\"rcpt\">%s</label><br>"
		     "<input id=\"rcpt\" name=\"rcpt\" type=\"email\" required maxlength=\"254\" "
		     "aria-describedby=\"rcpt-hint\" autocomplete=\"off\"><br>"
		     "<small id=\"rcpt-hint\">%s ",
		     TX(req, "宛先 (LGWAN のメールアドレス)", "Recipient (LGWAN mail address)"),
		     TX(req, "送れるドメイン:", "Allowed domains:"));
	for (size_t i = 0; i < cf.ndomains; i++)
		ptl_page_put(&p, "%s%s", i ? ", " : "", cf.domains[i]);
	ptl_page_put(
		&p,
		"</small></p>\n<p><label for=\"note\">%s</label><br>"
		"<textarea id=\"note\" name=\"note\" rows=\"4\" cols=\"60\" maxlength=\"1000\"></textarea></p>\n"
		"<p><label for=\"file\">%s</label><br>"
		"<input id=\"file\" name=\"file\" type=\"file\" multiple required aria-describedby=\"file-hint\"><br>"
		"<small id=\"file-hint\">",
		TX(req, "メモ (任意、1000 文字まで)", "Note (optional, up to 1000 characters)"),
		TX(req, "ファイル", "Files"));
	ptl_page_put(
		&p,
		TX(req, "1 ファイル %s まで、%u ファイルまで、合計 %s まで", "up to %s per file, %u files, %s in all"),
		per, cf.max_files, total);
	ptl_page_put(&p, "</small></p>\n<p><button type=\"submit\">%s</button></p>\n</form>\n",
		     TX(req, "送信", "Send"));
	ptl_page_put(&p, "<form method=\"post\" action=\"/logout\">");
	ptl_page_csrf(&p, csrf);
	ptl_page_put(&p, "<button type=\"submit\">%s</button></form>\n", TX(req, "ログアウト", "Log out"));
	ptl_page_end(&p);
	ptl_send_page(req, 200, &p);
}

/* one upload request's state (req->user) */
struct up {
	struct ptl_session s;
	char sid[PTL_SID_LEN + 1];
	struct ptl_upload_opts o;
	struct ptl_upload *u;
	const char *why; /* refused before the body was parsed */
	bool answered;
};

static int csrf_check(void *arg, const char *token)
{
	struct up *up = arg;
	return ptl_csrf_ok(csrf_key, up->sid, token) ? 0 : -EACCES;
}

static int upload_body(struct ptl_req *req, const char *data, size_t len)
{
	struct up *up = req->user;
	if (!up) {
		up = req->user = xcalloc(1, sizeof(*up));
		if (!session_of(req, &up->s, up->sid)) {
			up->why = "session";
			return -EACCES;
		}
		if (!ptl_req_same_origin(req)) {
			up->why = "csrf";
			return -EACCES;
		}
		up->o = (struct ptl_upload_opts){
			.inbox = inbox,
			.caps = {.max_bytes = cf.max_bytes, .max_total = cf.max_total, .max_files = cf.max_files},
			.domains = cf.domains,
			.ndomains = cf.ndomains,
			.approval = cf.approval,
			.uploader = up->s.user,
			.peer = req->peer,
			.csrf_check = csrf_check,
			.csrf_arg = up,
		};
		int r = ptl_upload_new(&up->o, ptl_req_header(req, "Content-Type"), &up->u);
		if (r < 0)
			return r;
	}
	if (!up->u)
		return -EACCES;
	return len ? ptl_upload_feed(up->u, data, len) : ptl_upload_finish(up->u);
}

static void post_upload(struct ptl_req *req)
{
	struct up *up = req->user;
	if (!up) {
		send_refusal(req, 500, "io");
		return;
	}
	up->answered = true;
	if (up->why) {
		audit_refused(req, up->why, NULL, 403);
		send_refusal(req, 403, up->why);
		return;
	}
	if (!up->u || ptl_upload_status(up->u) != 200 || req->body_error) {
		const char *why = up->u && ptl_upload_why(up->u)[0] ? ptl_upload_why(up->u) : "io";
		int status = up->u && ptl_upload_status(up->u) != 200 ? ptl_upload_status(up->u) : 500;
		audit_refused(req, why, up->s.user, status);
		send_refusal(req, (unsigned)status, why);
		return;
	}
	const struct ptl_parcel *pc = ptl_upload_parcel(up->u);
	size_t n;
	const struct ptl_inbox_file *f = ptl_parcel_files(pc, &n);
	/* the audit record first: a parcel the worker may take is recorded */
	struct audit_field ff[PTL_INBOX_MAX_FILES][4];
	struct audit_field fo[PTL_INBOX_MAX_FILES];
	for (size_t i = 0; i < n; i++) {
		ff[i][0] = (struct audit_field)AUDIT_UINT("n", f[i].n);
		ff[i][1] = (struct audit_field)AUDIT_STR("name", f[i].name);
		ff[i][2] = (struct audit_field)AUDIT_UINT("bytes", f[i].bytes);
		ff[i][3] = (struct audit_field)AUDIT_STR("sha256", f[i].sha256);
		fo[i] = (struct audit_field)AUDIT_OBJ("", ff[i], 4);
	}
	struct audit_field af[] = {
		AUDIT_STR("id", ptl_parcel_id(pc)),
		AUDIT_STR("uploader", up->s.user),
		AUDIT_STR("peer", req->peer),
		AUDIT_STR("rcpt", ptl_upload_rcpt(up->u)),
		AUDIT_STR("note", ptl_upload_note(up->u)),
		AUDIT_BOOL("approval", cf.approval),
		AUDIT_UINT("bytes", ptl_parcel_total(pc)),
		AUDIT_LIST("files", fo, n),
	};
	audit_emit(audit, "upload.received", af, AUDIT_N(af));

	struct ptl_page p;
	page_head(&p, req, "送信しました", "Sent");
	ptl_page_put(&p, "<p role=\"status\">%s</p>\n",
		     cf.approval ? TX(req, "承認のあと、無害化したファイルのお知らせが宛先に届きます。",
				      "After approval, the recipient is told of the sanitised files.")
				 : TX(req, "無害化したファイルのお知らせが宛先に届きます。",
				      "The recipient will be told of the sanitised files."));
	ptl_page_put(&p, "<dl><dt>%s</dt><dd><code>%s</code></dd><dt>%s</dt><dd>%s</dd></dl>\n",
		     TX(req, "受付番号", "Parcel"), ptl_parcel_id(pc), TX(req, "宛先", "Recipient"),
		     ptl_upload_rcpt(up->u));
	ptl_page_put(&p,
		     "<table><caption>%s</caption><thead><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
		     "<th scope=\"col\">SHA-256</th></tr></thead><tbody>\n",
		     TX(req, "受け付けたファイル", "Files received"), TX(req, "ファイル名", "Name"),
		     TX(req, "サイズ (バイト)", "Size (bytes)"));
	for (size_t i = 0; i < n; i++)
		ptl_page_put(&p, "<tr><td>%s</td><td>%llu</td><td><code>%s</code></td></tr>\n", f[i].name,
			     (unsigned long long)f[i].bytes, f[i].sha256);
	ptl_page_put(&p, "</tbody></table>\n<p><a href=\"/\">%s</a></p>\n", TX(req, "続けて送る", "Send more files"));
	ptl_page_end(&p);
	ptl_send_page(req, 200, &p);
}

static void on_refuse(struct ptl_req *req)
{
	const char *key = req->refusal ? req->refusal : "bad-form";
	unsigned status = !strcmp(key, PTL_R_NOT_FOUND) ? 404
		: !strcmp(key, PTL_R_METHOD)            ? 405
		: !strcmp(key, PTL_R_TOO_LARGE)         ? 413
							: 400;
	if (status != 404 && status != 405)
		audit_refused(req, key, NULL, (int)status);
	send_refusal(req, status, key);
}

static void on_done(struct ptl_req *req, bool ok)
{
	struct up *up = req->user;
	if (!up)
		return;
	/* the client went away or the body passed the server's cap: the
	 * parcel's files go with ptl_upload_free */
	if (!up->answered)
		audit_refused(req, ok ? "unanswered" : "aborted", up->s.user[0] ? up->s.user : NULL, 0);
	ptl_upload_free(up->u);
	free(up);
	req->user = NULL;
}

static const struct ptl_route routes[] = {
	{"GET", "/login", get_login, NULL, 0},
	{"POST", "/login", post_login, NULL, 0},
	{"POST", "/logout", post_logout, NULL, 0},
	{"GET", "/", get_form, NULL, 0},
	{"POST", "/upload", post_upload, upload_body, 0},
};

/* -------------------------------------------------------------------- cli -- */

/* The usage, then exit: on stdout with 0 for --help, on stderr with 2
 * for a usage error (usage()). */
__attribute__((noreturn)) static void usage_exit(FILE *f, int status)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-upload serve --listen ADDR:PORT --cert F --key F --state DIR --inbox DIR\n"
		"           --audit-dir DIR --audit-key F --rcpt-domain D [--rcpt-domain D ...]\n"
		"           [--max-bytes N] [--max-files N] [--max-total N] [--approval on|off]\n"
		"           [--max-conn N] [--max-conn-per-ip N] [--timeout S]\n"
		"       sekisho-upload user add|passwd NAME --state DIR [--password-stdin] [--role staff]\n"
		"                                                       (the password on stdin)\n"
		"       sekisho-upload user del NAME --state DIR\n"
		"       sekisho-upload user list --state DIR\n"
		"       sekisho-upload -h | --help | --version\n"
		"the Internet-side upload portal (HTTPS); sizes take a K, M or G suffix;\n"
		"exit status: 0, 1 user command failed, 2 usage or start-up error\n"),
	      f);
	exit(status);
}

__attribute__((noreturn)) static void usage(void)
{
	usage_exit(stderr, 2);
}

static bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* N with an optional K, M or G (binary) suffix */
static bool parse_size(const char *s, uint64_t *ret)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || e == s || s[0] == '-')
		return false;
	unsigned shift = 0;
	if (*e == 'K' || *e == 'k')
		shift = 10;
	else if (*e == 'M')
		shift = 20;
	else if (*e == 'G')
		shift = 30;
	if (shift)
		e++;
	if (*e || v == 0 || v > (UINT64_MAX >> shift))
		return false;
	*ret = (uint64_t)v << shift;
	return true;
}

static char *accounts_path(void)
{
	return xasprintf("%s/accounts", cf.state);
}

static int cmd_user(int argc, char **argv)
{
	if (argc < 1)
		usage();
	const char *op = argv[0], *name = NULL;
	for (int i = 0; i < argc; i++)
		if (is_help(argv[i]))
			usage_exit(stdout, 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state") && i + 1 < argc)
			cf.state = argv[++i];
		else if (!strcmp(argv[i], "--password-stdin"))
			; /* the only way a password comes in: accepted for symmetry with sekisho-portal */
		else if (!strcmp(argv[i], "--role") && i + 1 < argc && !strcmp(argv[i + 1], "staff"))
			i++; /* the only role here */
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			usage();
	}
	if (!cf.state || (strcmp(op, "list") != 0 && !name))
		usage();
	char *path = accounts_path(), why[256] = "";
	struct ptl_users u = {0};
	int r = ptl_users_load(path, &u, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "sekisho-upload: %s: %s\n", path, why[0] ? why : strerror(-r));
		free(path);
		return 1;
	}
	int rc = 0;
	if (!strcmp(op, "list")) {
		for (size_t i = 0; i < u.n; i++)
			if (u.v[i].role == PTL_ROLE_STAFF)
				printf("%s\t%s%s\n", u.v[i].name, ptl_role_name(u.v[i].role),
				       u.v[i].disabled ? "\tdisabled" : "");
	} else if (!strcmp(op, "add") || !strcmp(op, "passwd")) {
		char pw[PTL_PASSWORD_MAX + 2];
		if (!fgets(pw, sizeof(pw), stdin)) {
			fprintf(stderr, _("sekisho-upload: no password on stdin\n"));
			rc = 1;
		} else {
			pw[strcspn(pw, "\r\n")] = 0;
			r = !strcmp(op, "add") ? ptl_users_add(&u, name, PTL_ROLE_STAFF, pw)
					       : ptl_users_passwd(&u, name, pw);
			explicit_bzero(pw, sizeof(pw));
			if (r == 0)
				r = ptl_users_save(path, &u);
			if (r < 0) {
				fprintf(stderr, _("sekisho-upload: user %s %s: %s\n"), op, name,
					r == -EEXIST           ? _("exists already")
						: r == -ENOENT ? _("no such user")
							       : strerror(-r));
				rc = 1;
			}
		}
	} else if (!strcmp(op, "del")) {
		r = ptl_users_del(&u, name);
		if (r == 0)
			r = ptl_users_save(path, &u);
		if (r < 0) {
			fprintf(stderr, _("sekisho-upload: user del %s: %s\n"), name,
				r == -ENOENT ? _("no such user") : strerror(-r));
			rc = 1;
		}
	} else {
		usage();
	}
	ptl_users_free(&u);
	free(path);
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	for (int i = 0; i < argc; i += 2) /* the options, not their values */
		if (is_help(argv[i]))
			usage_exit(stdout, 0);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--listen"))
			cf.listen = v;
		else if (!strcmp(a, "--cert"))
			cf.cert = v;
		else if (!strcmp(a, "--key"))
			cf.key = v;
		else if (!strcmp(a, "--state"))
			cf.state = v;
		else if (!strcmp(a, "--inbox"))
			cf.inbox = v;
		else if (!strcmp(a, "--audit-dir"))
			cf.adir = v;
		else if (!strcmp(a, "--audit-key"))
			cf.akey = v;
		else if (!strcmp(a, "--rcpt-domain")) {
			if (cf.ndomains >= MAX_DOMAINS || !ptl_rcpt_domain_valid(v)) {
				fprintf(stderr,
					_("sekisho-upload: --rcpt-domain %s: not a domain name (or more than %d)\n"), v,
					MAX_DOMAINS);
				return 2;
			}
			cf.domains[cf.ndomains++] = v;
		} else if (!strcmp(a, "--max-bytes") && parse_size(v, &n))
			cf.max_bytes = n;
		else if (!strcmp(a, "--max-total") && parse_size(v, &n))
			cf.max_total = n;
		else if (!strcmp(a, "--max-files") && parse_size(v, &n) && n <= PTL_INBOX_MAX_FILES)
			cf.max_files = (unsigned)n;
		else if (!strcmp(a, "--approval") && (!strcmp(v, "on") || !strcmp(v, "off"))) {
			cf.approval = !strcmp(v, "on");
		} else if (!strcmp(a, "--max-conn") && parse_size(v, &n) && n < 100000)
			cf.max_conn = (unsigned)n;
		else if (!strcmp(a, "--max-conn-per-ip") && parse_size(v, &n) && n < 100000)
			cf.max_conn_per_ip = (unsigned)n;
		else if (!strcmp(a, "--timeout") && parse_size(v, &n) && n < 86400)
			cf.timeout_s = (unsigned)n;
		else {
			fprintf(stderr, _("sekisho-upload: bad option or value: %s %s\n"), a, v);
			usage();
		}
	}
	if (!cf.listen || !cf.cert || !cf.key || !cf.state || !cf.inbox || !cf.adir || !cf.akey || !cf.ndomains)
		usage();
	if (!cf.max_total)
		cf.max_total = cf.max_bytes * cf.max_files;
	char why[512] = "";
	/* checked once here (a broken file stops the start), then read at
	 * each login */
	accounts = accounts_path();
	struct ptl_users users = {0};
	int r = ptl_users_load(accounts, &users, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "sekisho-upload: %s: %s\n", accounts, why[0] ? why : strerror(-r));
		return 2;
	}
	size_t naccounts = users.n;
	ptl_users_free(&users);
	r = ptl_inbox_open(cf.inbox, &inbox);
	if (r < 0) {
		svc_log(SVC_ERR, "sekisho-upload", _("inbox %s: %s"), cf.inbox, strerror(-r));
		return 2;
	}
	if (getrandom(csrf_key, sizeof(csrf_key), 0) != sizeof(csrf_key)) {
		fprintf(stderr, "sekisho-upload: getrandom: %s\n", strerror(errno));
		return 2;
	}
	struct audit_key key;
	if (audit_key_load(cf.akey, &key, why, sizeof(why)) < 0) {
		svc_log(SVC_ERR, "sekisho-upload", _("audit key: %s"), why);
		return 2;
	}
	struct audit_opts ao = {.dir = cf.adir, .component = "upload", .key = &key, .lock_timeout_ms = 10000};
	r = audit_open(&ao, &audit, why, sizeof(why));
	audit_key_wipe(&key);
	if (r < 0) {
		svc_log(SVC_ERR, "sekisho-upload", _("audit: %s"), why);
		return 2;
	}
	ptl_throttle_init(&throttle, NULL);
	ptl_sessions_init(&sessions, 0, 0);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* the body cap: every file at its cap plus the form's own bytes
	 * (part headers, fields) */
	static struct ptl_route rt[sizeof(routes) / sizeof(routes[0])];
	memcpy(rt, routes, sizeof(routes));
	uint64_t body_cap = cf.max_total + (uint64_t)(cf.max_files + 4) * 8192 + 65536;
	rt[4].max_body = body_cap > SIZE_MAX ? SIZE_MAX : (size_t)body_cap;
	struct ptl_http_opts ho = {
		.listen = cf.listen,
		.cert_file = cf.cert,
		.key_file = cf.key,
		.max_conn = cf.max_conn,
		.max_conn_per_ip = cf.max_conn_per_ip,
		.timeout_s = cf.timeout_s,
		.routes = rt,
		.nroutes = sizeof(rt) / sizeof(rt[0]),
		.refuse = on_refuse,
		.done = on_done,
	};
	struct ptl_http *h;
	r = ptl_http_start(&ho, &h, why, sizeof(why));
	if (r < 0) {
		svc_log(SVC_ERR, "sekisho-upload", "%s", why);
		audit_close(audit);
		return 2;
	}
	char per[32], total[32];
	human_size(cf.max_bytes, per, sizeof(per));
	human_size(cf.max_total, total, sizeof(total));
	svc_log(SVC_INFO, "sekisho-upload",
		cf.approval ? _("listening on %s (%zu accounts; %s per file, %u files, %s in all; approval on)")
			    : _("listening on %s (%zu accounts; %s per file, %u files, %s in all; approval off)"),
		cf.listen, naccounts, per, cf.max_files, total);
	/* systemd (Type=notify): ready once the listener is bound; the
	 * watchdog from this thread (the HTTP threads are libmicrohttpd's) */
	char status[160];
	snprintf(status, sizeof status, "accepting uploads on %s", cf.listen);
	svc_ready(status);
	uint64_t wd = svc_watchdog_usec();
	for (;;) {
		struct timespec tick = {.tv_sec = 3600};
		if (wd)
			tick = (struct timespec){.tv_sec = (time_t)(wd / 2000000),
						 .tv_nsec = (long)(wd / 2 % 1000000) * 1000};
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig > 0)
			break;
		if (wd)
			svc_watchdog();
	}
	svc_stopping();
	ptl_http_stop(h);
	audit_close(audit);
	ptl_inbox_close(inbox);
	free(accounts);
	return 0;
}

int main(int argc, char **argv)
{
	i18n_init();
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "user"))
		return cmd_user(argc - 2, argv + 2);
	if (argc == 2 && is_help(argv[1]))
		usage_exit(stdout, 0);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		version_print(stdout, "sekisho-upload");
		return 0;
	}
	usage();
}
