/* san_link: the milter's link hook.  --portal-url checking; each kept
 * item's CDR state (the quarantined bytes, an earlier report in the
 * copies directory); the manifest's fields, with the sender's strings
 * cleaned and capped and the caps on files and recipients; the hook
 * writing a manifest under the token's hash, and failing without holding
 * anything back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/utf8.h"
#include "sanitizer/san_link.h"
#include "test/check.h"

static char tmp[] = "/tmp/san-link-test.XXXXXX";
static char qdir[128], cdir[128], ldir[128];

static void put(const char *dir, const char *name, const void *data, size_t len)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void sha_of(char out[65], char c)
{
	memset(out, c, 64);
	out[64] = '\0';
}

/* An item kept under sha (64 x c) with data in the quarantine. */
static void item(struct sanitize_item *it, char c, const char *name, const void *data, size_t len)
{
	memset(it, 0, sizeof(*it));
	sha_of(it->sha256, c);
	snprintf(it->qid, sizeof(it->qid), "%.16s", it->sha256);
	it->name = strdup(name);
	it->declared = strdup("application/octet-stream");
	it->detected = strdup("application/x-test");
	it->reason = strdup("attachment");
	it->size = len;
	if (data) {
		char n[80];
		snprintf(n, sizeof(n), "%s.data", it->sha256);
		put(qdir, n, data, len);
	}
}

static void report(char c, const char *result)
{
	char sha[65], n[96], text[512];
	sha_of(sha, c);
	snprintf(n, sizeof(n), "%s.report.json", sha);
	snprintf(text, sizeof(text),
		 "{\"result\":\"%s\",\"kind\":\"pdf\",\"in_type\":\"pdf\",\"out_type\":\"pdf\",\"out_ext\":\"pdf\","
		 "\"mode\":\"pixels\",\"in_sha256\":\"%s\",\"out_sha256\":\"\",\"in_bytes\":1,\"out_bytes\":1,\"ms\":1,"
		 "\"pages\":1,\"removed\":[]}",
		 result, sha);
	put(cdir, n, text, strlen(text));
}

static void url_checks(void)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{"https://portal.city.example.lg.jp", "https://portal.city.example.lg.jp"},
		{"https://portal.example/", "https://portal.example"},
		{"https://198.18.0.1:8443/sekisho//", "https://198.18.0.1:8443/sekisho"},
		{"https://[2001:db8::1]:443/p_~x", "https://[2001:db8::1]:443/p_~x"},
	};
	static const char *const bad[] = {
		"http://portal.example",
		"https://",
		"https://-x.example",
		"https://.example",
		"https://p.example:0",
		"https://p.example:65536",
		"https://p.example:12345678",
		"https://p.example/a b",
		"https://p.example/?q",
		"https://p.example/#f",
		"https://p.example\r\n",
		"https://user@p.example",
		"https://[zz]/",
		"https://[]/",
		"https://p.example/%2e%2e",
		"ftp://p.example",
		"",
	};
	char out[SAN_LINK_URL_MAX + 1], why[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK(san_link_url_check(good[i].in, out, why, sizeof(why)) == 0, "good url %s: %s", good[i].in, why);
		CHECK_STR(out, good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(san_link_url_check(bad[i], out, why, sizeof(why)) == -EINVAL && why[0], "bad url '%s'", bad[i]);
	char longu[400] = "https://p.example/";
	memset(longu + strlen(longu), 'a', 300);
	longu[sizeof(longu) - 1] = '\0';
	CHECK(san_link_url_check(longu, out, why, sizeof(why)) == -EINVAL, "url over the cap");
	CHECK(san_link_url_check(NULL, out, why, sizeof(why)) == -EINVAL, "no url");
}

static void state_checks(const struct san_link_opts *o)
{
	static const char pdf[] = "%PDF-1.4\n%...", exe[] = "MZ\x90\0\3\0\0\0\4\0", zip[] = "PK\3\4\24\0\0\0";
	struct {
		char c;
		const char *name;
		const void *data;
		size_t len;
		const char *report, *want;
	} t[] = {
		{'1', "a.pdf", pdf, sizeof(pdf) - 1, NULL, "pending"},
		{'2', "b.exe", exe, sizeof(exe) - 1, NULL, "none:unsupported-format"},
		{'3', "c.xlsx", zip, sizeof(zip) - 1, NULL, "pending"},
		{'4', "d.bin", "\x01\x02\x03\x04\x05\x06\x07\x08", 8, NULL, "none:unsupported-format"},
		{'5', "e.pdf", "", 0, NULL, "none:empty"},
		{'6', "f.pdf", pdf, sizeof(pdf) - 1, "ok", "ready"},
		{'7', "g.xlsx", zip, sizeof(zip) - 1, "encrypted", "none:encrypted"},
		/* the worker's own failures are not final: it tries again */
		{'8', "h.pdf", pdf, sizeof(pdf) - 1, "attempts-exhausted", "pending"},
		{'9', "i.pdf", pdf, sizeof(pdf) - 1, "original-missing", "pending"},
		/* a key the reason table does not know is not shown */
		{'a', "j.pdf", pdf, sizeof(pdf) - 1, "no-such-key", "pending"},
		/* not in the quarantine: nothing to judge yet */
		{'b', "k.exe", NULL, 5, NULL, "pending"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sanitize_item it;
		item(&it, t[i].c, t[i].name, t[i].data, t[i].len);
		if (t[i].report)
			report(t[i].c, t[i].report);
		char *st = NULL;
		CHECK(san_link_state(o, &it, &st) == 0 && st, "state %s", t[i].name);
		CHECK(st && strcmp(st, t[i].want) == 0, "%s: '%s', want '%s'", t[i].name, st ? st : "", t[i].want);
		free(st);
		free(it.name);
		free(it.declared);
		free(it.detected);
		free(it.reason);
	}
	/* a damaged report (not JSON, a symbolic link) decides nothing */
	char sha[65], n[96];
	sha_of(sha, 'c');
	snprintf(n, sizeof(n), "%s.report.json", sha);
	put(cdir, n, "{\"result\":", 10);
	struct sanitize_item it;
	item(&it, 'c', "l.pdf", pdf, sizeof(pdf) - 1);
	char *st = NULL;
	CHECK(san_link_state(o, &it, &st) == 0 && st && !strcmp(st, "pending"), "damaged report: pending");
	free(st);
	char p[512], target[512];
	sha_of(sha, 'd');
	snprintf(p, sizeof(p), "%s/%s.report.json", cdir, sha);
	snprintf(target, sizeof(target), "%s/%s.report.json", cdir, it.sha256);
	report('c', "ok");
	CHECK(symlink(target, p) == 0, "symlink");
	free(it.name);
	free(it.declared);
	free(it.detected);
	free(it.reason);
	item(&it, 'd', "m.pdf", pdf, sizeof(pdf) - 1);
	CHECK(san_link_state(o, &it, &st) == 0 && st && !strcmp(st, "pending"), "report behind a symlink: not read");
	free(st);
	free(it.name);
	free(it.declared);
	free(it.detected);
	free(it.reason);
}

static bool clean(const char *s)
{
	if (!s)
		return true;
	size_t n = strlen(s);
	if (!utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_decode(s + i, n - i, &cp);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return false;
		i += l;
	}
	return true;
}

static void manifest_checks(const struct san_link_opts *lo)
{
	/* nothing in the quarantine or the copies for these items */
	struct san_link_opts o2 = *lo, *o = &o2;
	o2.qdir = o2.copies_dir = NULL;
	struct sanitize_result res = {0};
	res.n_items = 70;
	res.items = calloc(res.n_items, sizeof(*res.items));
	for (size_t i = 0; i < res.n_items; i++) {
		item(&res.items[i], "0123456789abcdef"[i % 16], "x.pdf", NULL, 10);
		res.items[i].sha256[0] = "0123456789abcdef"[i / 16];
		if (i == 1)
			res.items[i].qid[0] = '\0'; /* not kept: not in the manifest */
	}
	free(res.items[0].name);
	res.items[0].name = strdup("名前\x01\x7f\xc2\x85\xff.pdf"); /* C0, DEL, C1, invalid */
	char subj[3100] = "";
	for (int i = 0; i < 1000; i++)
		strcat(subj, "件");
	res.subject = strdup(subj);
	res.message_id = strdup("<m@example.jp>");
	const char *to[70];
	for (int i = 0; i < 70; i++)
		to[i] = "<b@lgwan.test>";
	struct san_link_env env = {.o = o,
				   .queue_id = "Q1",
				   .env_from = "<a\r\n@example.jp>",
				   .env_to = to,
				   .n_to = 70,
				   .now = 1796000000};
	struct ptl_link l;
	REQUIRE(san_link_manifest(&env, &res, &l) == 0);
	CHECK_STR(l.origin, "mail");
	CHECK(l.created == 1796000000 && l.expires == 1796000000 + 7 * 86400, "created, expires");
	CHECK(l.nfiles == PTL_LINK_MAX_FILES && l.nrcpt == PTL_LINK_MAX_RCPT, "caps: %zu files, %zu rcpt", l.nfiles,
	      l.nrcpt);
	CHECK(strcmp(l.files[0].name, "名前   ?.pdf") == 0, "controls and invalid bytes cleaned: '%s'",
	      l.files[0].name);
	CHECK(strcmp(l.files[1].sha256, res.items[2].sha256) == 0, "an item not kept is left out");
	CHECK(strlen(l.subject) <= 1024 && utf8_valid(l.subject, strlen(l.subject)) && strlen(l.subject) == 1023,
	      "subject capped on a character boundary (%zu)", strlen(l.subject));
	CHECK_STR(l.from, "<a  @example.jp>");
	CHECK_STR(l.queue_id, "Q1");
	CHECK_STR(l.message_id, "<m@example.jp>");
	bool all = clean(l.subject) && clean(l.from);
	for (size_t i = 0; i < l.nfiles; i++)
		all = all && clean(l.files[i].name) && clean(l.files[i].type) && !strcmp(l.files[i].cdr, "pending");
	CHECK(all, "every string clean, every state pending");

	CHECK(res.items[69].cdr && !strcmp(res.items[69].cdr, "pending"), "items past the cap still get their state");
	ptl_link_free(&l);
	sanitize_result_free(&res);
}

static void hook_checks(struct san_link_opts *o)
{
	static const char exe[] = "MZ\x90\0\3\0\0\0\4\0";
	struct sanitize_result res = {0};
	res.n_items = 2;
	res.items = calloc(2, sizeof(*res.items));
	item(&res.items[0], 'e', "p.pdf", "%PDF-1.7\n", 9);
	item(&res.items[1], 'f', "q.exe", exe, sizeof(exe) - 1);
	const char *to[] = {"<b@lgwan.test>"};
	struct san_link_env env = {.o = o, .queue_id = "Q2", .env_from = "<a@example.jp>", .env_to = to, .n_to = 1};
	o->lang = "en";
	san_link_hook(&env, &res);
	CHECK(res.link.url && !res.link.failed && ptl_hash_valid(res.link.hash), "hook: a link");
	const char *tok = res.link.url ? strrchr(res.link.url, '/') : NULL;
	char h[PTL_HASH_LEN + 1] = "";
	CHECK(tok && strncmp(res.link.url, "https://portal.example/m/", 25) == 0 && strlen(tok + 1) == PTL_TOKEN_LEN &&
		      ptl_token_hash(tok + 1, h) == 0 && strcmp(h, res.link.hash) == 0,
	      "url is portal/m/<token>, the hash is the token's");
	char p[512];
	snprintf(p, sizeof(p), "%s/%s.json", ldir, res.link.hash);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "manifest written, 0640");
	CHECK(res.items[1].cdr && !strcmp(res.items[1].cdr, "none:unsupported-format") && res.items[1].cdr_reason &&
		      strstr(res.items[1].cdr_reason, "cannot be made safe"),
	      "exe: none, English reason '%s'", res.items[1].cdr_reason ? res.items[1].cdr_reason : "");
	CHECK(res.link.originals && !res.link.copies_mail, "options carried");
	sanitize_result_free(&res);

	/* the directory gone: failed, the pending promise withdrawn */
	res.n_items = 2;
	res.items = calloc(2, sizeof(*res.items));
	item(&res.items[0], 'e', "p.pdf", "%PDF-1.7\n", 9);
	item(&res.items[1], 'f', "q.exe", exe, sizeof(exe) - 1);
	o->links_dir = "/nonexistent/sekisho-links";
	san_link_hook(&env, &res);
	CHECK(!res.link.url && res.link.failed && res.link.error && !strcmp(res.link.error, "link-write") &&
		      !res.link.hash[0],
	      "hook: failed, link-write");
	CHECK(!res.items[0].cdr && res.items[1].cdr && !strncmp(res.items[1].cdr, "none:", 5),
	      "failed: pending cleared, none kept");
	sanitize_result_free(&res);
}

/* Every string at its cap, 64 files, 64 recipients: still one manifest
 * under PTL_LINK_MAX_BYTES (the caps' arithmetic in san_link.c). */
static void full_checks(const struct san_link_opts *lo)
{
	struct san_link_opts o2 = *lo;
	o2.qdir = o2.copies_dir = NULL;
	o2.links_dir = ldir;
	static char big[2100];
	memset(big, 'x', sizeof(big) - 1);
	struct sanitize_result res = {0};
	res.n_items = 70;
	res.items = calloc(res.n_items, sizeof(*res.items));
	for (size_t i = 0; i < res.n_items; i++) {
		item(&res.items[i], "0123456789abcdef"[i % 16], "x", NULL, 10);
		res.items[i].sha256[1] = "0123456789abcdef"[i / 16];
		free(res.items[i].name);
		free(res.items[i].detected);
		res.items[i].name = strdup(big);
		res.items[i].detected = strdup(big);
	}
	res.subject = strdup(big);
	res.message_id = strdup(big);
	const char *to[70];
	for (int i = 0; i < 70; i++)
		to[i] = big;
	struct san_link_env env = {.o = &o2, .queue_id = big, .env_from = big, .env_to = to, .n_to = 70};
	san_link_hook(&env, &res);
	CHECK(res.link.url && !res.link.failed, "every cap reached: the manifest is still written (%s)",
	      res.link.error ? res.link.error : "");
	struct ptl_link back;
	CHECK(res.link.hash[0] && ptl_link_load_hash(ldir, res.link.hash, time(NULL), &back) == 0 &&
		      strlen(back.files[0].name) == 400 && back.nfiles == 64 && back.nrcpt == 64,
	      "full caps: names of 400 bytes, 64 files, 64 recipients");
	ptl_link_free(&back);
	/* quotes escape to twice their size: over 64 KiB at full caps, so
	 * the manifest is made again with a quarter of each cap */
	memset(big, '"', sizeof(big) - 1);
	for (size_t i = 0; i < res.n_items; i++) {
		free(res.items[i].cdr);
		free(res.items[i].name);
		res.items[i].cdr = NULL;
		res.items[i].name = strdup(big);
	}
	free(res.subject);
	res.subject = strdup(big);
	free(res.link.url);
	free(res.link.error);
	memset(&res.link, 0, sizeof(res.link));
	san_link_hook(&env, &res);
	CHECK(res.link.url && !res.link.failed, "quotes everywhere: still a link (%s)",
	      res.link.error ? res.link.error : "");
	CHECK(res.link.hash[0] && ptl_link_load_hash(ldir, res.link.hash, time(NULL), &back) == 0 &&
		      strlen(back.files[0].name) == 100 && back.nfiles == 64 && strlen(back.subject) == 256,
	      "quotes: the second try's caps (names 100, subject 256)");
	ptl_link_free(&back);
	sanitize_result_free(&res);
}

int main(void)
{
	REQUIRE(mkdtemp(tmp) != NULL);
	snprintf(qdir, sizeof(qdir), "%s/q", tmp);
	snprintf(cdir, sizeof(cdir), "%s/copies", tmp);
	snprintf(ldir, sizeof(ldir), "%s/links", tmp);
	REQUIRE(mkdir(qdir, 0700) == 0 && mkdir(cdir, 0700) == 0 && mkdir(ldir, 0700) == 0);
	struct san_link_opts o = {.links_dir = ldir,
				  .copies_dir = cdir,
				  .qdir = qdir,
				  .portal_url = "https://portal.example",
				  .days = 7,
				  .originals = true,
				  .lang = "ja"};
	url_checks();
	state_checks(&o);
	manifest_checks(&o);
	hook_checks(&o);
	o.links_dir = ldir;
	full_checks(&o);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	CHECK(system(cmd) == 0, "cleanup");
	return check_done();
}
