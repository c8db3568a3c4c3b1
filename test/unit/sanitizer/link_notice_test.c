/* The notice with the portal link (sanitize_ctx_set_link): each kept
 * item's CDR state line, the link with its expiry in JST after the
 * defanging (the sender's links stay defanged, the appliance's link does
 * not), the follow-up mail and originals lines, the failure line, and no
 * change at all without a hook or without a kept item. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "sanitizer/sanitize.h"
#include "test/check.h"

static const char MSG[] =
	"From: a@example.com\nTo: b@lgwan.test\nSubject: link\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain; charset=utf-8\n\n"
	"本文です。\n--B\nContent-Type: application/pdf; name=\"a.pdf\"\n"
	"Content-Disposition: attachment; filename=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\n"
	"JVBERi0xLjQKJSBzbWFsbAo=\n--B\nContent-Type: application/octet-stream; name=\"www.example.jp.exe\"\n"
	"Content-Disposition: attachment; filename=\"www.example.jp.exe\"\nContent-Transfer-Encoding: base64\n\n"
	"TVqQAAMAAAAEAAAA\n--B--\n";

#define URL "https://portal.example.lg.jp/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

struct hook {
	int calls;
	bool fail, mail, originals;
};

static void hook(void *arg, struct sanitize_result *res)
{
	struct hook *h = arg;
	h->calls++;
	for (size_t i = 0; i < res->n_items; i++) {
		struct sanitize_item *it = &res->items[i];
		bool exe = strstr(it->name, ".exe") != NULL;
		it->cdr = strdup(exe ? "none:unsupported-format" : "pending");
		it->cdr_reason = exe ? strdup("REASON-TEXT") : NULL;
	}
	if (h->fail) {
		res->link.failed = true;
		res->link.error = strdup("link-write");
		return;
	}
	res->link.url = strdup(URL);
	res->link.expires = 1796604800; /* 2026-12-07 09:53:20 JST */
	memset(res->link.hash, 'a', 64);
	res->link.originals = h->originals;
	res->link.copies_mail = h->mail;
}

/* The decoded text of the output's one body (base64 UTF-8). */
static char *body_text(const struct strbuf *out)
{
	const char *b = strstr(out->buf, "\n\n");
	if (!b)
		return NULL;
	gsize n = 0;
	guchar *t = g_base64_decode(b + 2, &n);
	char *s = malloc(n + 1);
	memcpy(s, t, n);
	s[n] = '\0';
	g_free(t);
	return s;
}

static char *run(const char *lang, struct san_quarantine *q, struct hook *h, struct sanitize_result *res)
{
	struct sanitize_config cfg;
	sanitize_config_defaults(&cfg);
	cfg.quarantine = q;
	cfg.lang = lang;
	struct sanitize_ctx *x = NULL;
	REQUIRE(sanitize_ctx_new(&cfg, &x) == 0);
	if (h)
		sanitize_ctx_set_link(x, hook, h);
	struct strbuf out = STRBUF_INIT;
	REQUIRE(sanitize_buffer(x, MSG, sizeof(MSG) - 1, &out, res) == 0);
	char *t = body_text(&out);
	strbuf_free(&out);
	sanitize_ctx_free(x);
	REQUIRE(t != NULL);
	return t;
}

int main(void)
{
	char tmp[] = "/tmp/san-link-notice.XXXXXX";
	REQUIRE(mkdtemp(tmp) != NULL);
	struct san_quarantine_opts qo = {.dir = tmp};
	struct san_quarantine *q = NULL;
	char why[256];
	REQUIRE(san_quarantine_open(&qo, &q, why, sizeof(why)) == 0);
	struct sanitize_result res;

	/* without a hook: as before */
	char *plain = run("ja", q, NULL, &res);
	CHECK(res.n_items == 2 && res.items[0].cdr == NULL && !res.link.url, "no hook: no state");
	CHECK(strstr(plain, "無害化コピー") == NULL && strstr(plain, "https://") == NULL, "no hook: no link: %s",
	      plain);
	CHECK(res.subject && strcmp(res.subject, "link") == 0, "subject kept for the manifest");
	sanitize_result_free(&res);

	/* ja, link: states, the link verbatim, its expiry in JST, originals */
	struct hook h = {.originals = true};
	char *t = run("ja", q, &h, &res);
	CHECK(h.calls == 1, "hook called once (%d)", h.calls);
	CHECK(strstr(t, "  無害化コピー: 作成中") != NULL, "pending line: %s", t);
	CHECK(strstr(t, "  無害化コピー: 作れません（理由: REASON-TEXT）") != NULL, "none line with the reason");
	CHECK(strstr(t, "\n" URL "\n") != NULL, "the link on a line of its own, not defanged");
	CHECK(strstr(t, "有効期限 2026-12-07 09:53 JST") != NULL, "expiry in JST");
	CHECK(strstr(t, "原本が必要な場合は") != NULL, "originals line");
	CHECK(strstr(t, "別のメール") == NULL, "no follow-up line for deliver=link");
	CHECK(strstr(t, "www.example.jp.exe") == NULL && strstr(t, "www[.]example") != NULL,
	      "the sender's name still defanged: %s", t);
	/* the state line follows its item, the link follows the list */
	const char *pdf = strstr(t, "a.pdf"), *pend = strstr(t, "作成中"), *link = strstr(t, URL),
		   *end = strstr(t, "------------------------------------------------------------");
	CHECK(pdf && pend && link && end && pdf < pend && pend < link && link < end, "order: item, state, link, end");
	free(t);
	sanitize_result_free(&res);

	/* en, copies by mail, originals off */
	h = (struct hook){.mail = true};
	t = run("en", q, &h, &res);
	CHECK(strstr(t, "  safe copy: being made") != NULL && strstr(t, "  safe copy: no copy possible: REASON-TEXT"),
	      "en states: %s", t);
	CHECK(strstr(t, "valid until 2026-12-07 09:53 JST):\n" URL "\n") != NULL, "en link");
	CHECK(strstr(t, "separate mail") != NULL && strstr(t, "request it") == NULL, "mail line, no originals line");
	free(t);
	sanitize_result_free(&res);

	/* the hook could not make the link */
	h = (struct hook){.fail = true};
	t = run("ja", q, &h, &res);
	CHECK(strstr(t, "リンクを作成できませんでした") != NULL && strstr(t, "https://") == NULL, "failure line: %s",
	      t);
	CHECK(res.link.failed && strcmp(res.link.error, "link-write") == 0 && !res.link.hash[0],
	      "failure in the result");
	free(t);
	sanitize_result_free(&res);

	/* nothing kept (no quarantine): the hook is not called */
	h = (struct hook){0};
	t = run("ja", NULL, &h, &res);
	CHECK(h.calls == 0 && strstr(t, "https://") == NULL, "no kept item: no hook");
	free(t);
	sanitize_result_free(&res);

	free(plain);
	san_quarantine_close(q);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	CHECK(system(cmd) == 0, "cleanup");
	return check_done();
}
