/* The worker's portal modules: the request and parcel formats (accepted
 * and refused, table-driven), plain addresses, the directory queue with
 * keep_bad off (an unreadable request is deleted, never kept), and the
 * SMTP client against a scripted server on loopback (accept, a refusal,
 * a greeting that never comes within the time, dot-stuffing).  The MIME
 * output is judged by Python's email in the cdr-portal-worker test. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitizer/cdr/cdr_dirq.h"
#include "sanitizer/cdr/cdr_portal.h"
#include "sanitizer/cdr/cdr_smtp.h"
#include "test/check.h"

#define H64A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H64B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void requests(void)
{
	static const struct {
		const char *text;
		int want; /* 0 or the error */
		enum cdr_portal_kind kind;
	} t[] = {
		{"{\"v\":1,\"kind\":\"release\",\"id\":\"r-1\",\"sha256\":\"" H64A
		 "\",\"origin\":\"mail\",\"approvers\":[\"suzuki\",\"tanaka\"],\"reason\":\"監査\"}",
		 0, CDR_PORTAL_RELEASE},
		{"{\"v\":1,\"kind\":\"release\",\"id\":\"r-1\",\"sha256\":\"" H64A
		 "\",\"origin\":\"upload\",\"approvers\":[],\"link\":\"" H64B "\",\"extra\":3}",
		 0, CDR_PORTAL_RELEASE},
		{"{\"v\":1,\"kind\":\"ppap\",\"id\":\"p_1\",\"sha256\":\"" H64A "\",\"link\":\"" H64B
		 "\",\"password\":\"pass word\"}",
		 0, CDR_PORTAL_PPAP},
		{"{\"v\":1,\"kind\":\"notify\",\"id\":\"N1\",\"link\":\"" H64B "\"}", 0, CDR_PORTAL_NOTIFY},
		/* refused: the version, the kind, ids that could reach a path */
		{"{\"v\":2,\"kind\":\"notify\",\"id\":\"N1\",\"link\":\"" H64B "\"}", -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"delete\",\"id\":\"N1\",\"link\":\"" H64B "\"}", -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"notify\",\"id\":\"../x\",\"link\":\"" H64B "\"}", -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"notify\",\"id\":\"\",\"link\":\"" H64B "\"}", -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"notify\",\"id\":\"a.b\",\"link\":\"" H64B "\"}", -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"notify\",\"id\":\"N1\",\"link\":\"" H64B "0\"}", -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"notify\",\"id\":\"N1\"}", -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"release\",\"id\":\"r\",\"sha256\":\"" H64A
		 "\",\"origin\":\"disk\",\"approvers\":[]}",
		 -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"release\",\"id\":\"r\",\"sha256\":\"" H64A "\",\"origin\":\"mail\"}", -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"release\",\"id\":\"r\",\"sha256\":\"" H64A
		 "\",\"origin\":\"mail\",\"approvers\":[\"a\\u0007b\"]}",
		 -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"release\",\"id\":\"r\",\"sha256\":\"" H64A
		 "\",\"origin\":\"mail\",\"approvers\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
		 -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"ppap\",\"id\":\"p\",\"sha256\":\"" H64A "\",\"link\":\"" H64B
		 "\",\"password\":\"\"}",
		 -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"ppap\",\"id\":\"p\",\"sha256\":\"" H64A "\",\"link\":\"" H64B
		 "\",\"password\":\"a\\nb\"}",
		 -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"ppap\",\"id\":\"p\",\"sha256\":\"" H64A "\",\"link\":\"" H64B
		 "\",\"password\":\"a\\u0000b\"}",
		 -EINVAL, 0},
		{"{\"v\":1,\"kind\":\"notify\",\"id\":\"N1\",\"link\":\"" H64B "\"} x", -EINVAL, 0},
		{"[1]", -EINVAL, 0},
		{"", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cdr_portal_req r;
		int got = cdr_portal_req_parse(t[i].text, strlen(t[i].text), &r);
		CHECK(got == t[i].want, "request %zu: %d, want %d", i, got, t[i].want);
		if (got == 0) {
			CHECK(r.kind == t[i].kind, "request %zu kind", i);
			cdr_portal_req_free(&r);
		}
	}
	struct cdr_portal_req r;
	const char *ok = "{\"v\":1,\"kind\":\"release\",\"id\":\"r-1\",\"sha256\":\"" H64A
			 "\",\"origin\":\"mail\",\"approvers\":[\"鈴木\"],\"reason\":null}";
	REQUIRE(cdr_portal_req_parse(ok, strlen(ok), &r) == 0);
	CHECK_STR(r.id, "r-1");
	CHECK_STR(r.origin, "mail");
	CHECK(r.napprovers == 1 && !strcmp(r.approvers[0], "鈴木"));
	CHECK(r.reason == NULL);
	cdr_portal_req_free(&r);
	char big[CDR_PORTAL_REQ_MAX_BYTES + 2];
	memset(big, ' ', sizeof(big));
	CHECK(cdr_portal_req_parse(big, sizeof(big), &r) == -EFBIG);
}

#define PID "18f0000000000000-0123456789abcdef"

static void parcels(void)
{
	char text[4096];
	static const struct {
		const char *files, *rcpt, *extra;
		int want;
	} t[] = {
		{"[{\"n\":0,\"name\":\"見積書.xlsx\",\"bytes\":5,\"sha256\":\"" H64A "\"}]", "sato@city.example.lg.jp",
		 "", 0},
		{"[{\"n\":0,\"name\":\"a\",\"bytes\":5,\"sha256\":\"" H64A
		 "\"},{\"n\":1,\"name\":\"b\",\"bytes\":0,\"sha256\":\"" H64B "\"}]",
		 "sato@city.example.lg.jp", ",\"note\":\"一行目\\n二行目\"", 0},
		{"[]", "sato@city.example.lg.jp", "", -EINVAL},
		{"[{\"n\":1,\"name\":\"a\",\"bytes\":5,\"sha256\":\"" H64A "\"}]", "sato@city.example.lg.jp", "",
		 -EINVAL},
		{"[{\"n\":0,\"name\":\"../a\",\"bytes\":5,\"sha256\":\"" H64A "\"}]", "sato@city.example.lg.jp", "",
		 -EINVAL},
		{"[{\"n\":0,\"name\":\"a\\r\\nb\",\"bytes\":5,\"sha256\":\"" H64A "\"}]", "sato@city.example.lg.jp", "",
		 -EINVAL},
		{"[{\"n\":0,\"name\":\"a\",\"bytes\":-1,\"sha256\":\"" H64A "\"}]", "sato@city.example.lg.jp", "",
		 -EINVAL},
		{"[{\"n\":0,\"name\":\"a\",\"bytes\":5,\"sha256\":\"" H64A "\"}]",
		 "sato@city.example.lg.jp\\r\\nBcc: x@y", "", -EINVAL},
		{"[{\"n\":0,\"name\":\"a\",\"bytes\":5,\"sha256\":\"" H64A "\"}]", "Sato <sato@city.example.lg.jp>", "",
		 -EINVAL},
		{"[{\"n\":0,\"name\":\"a\",\"bytes\":5,\"sha256\":\"" H64A "\"}]", "sato", "", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"v\":1,\"id\":\"" PID "\",\"received\":1796000000,\"uploader\":\"yamada\",\"peer\":"
			 "\"198.18.1.10\",\"rcpt\":\"%s\",\"approval\":false,\"files\":%s%s}",
			 t[i].rcpt, t[i].files, t[i].extra);
		struct cdr_parcel p;
		int got = cdr_parcel_parse(text, strlen(text), &p);
		CHECK(got == t[i].want, "parcel %zu: %d, want %d", i, got, t[i].want);
		if (got == 0) {
			CHECK_STR(p.id, PID);
			CHECK(p.nfiles >= 1 && p.files[0].bytes == 5);
			cdr_parcel_free(&p);
		}
	}
	CHECK(cdr_parcel_id_ok(PID));
	CHECK(!cdr_parcel_id_ok("18f0000000000000-0123456789abcdeF"));
	CHECK(!cdr_parcel_id_ok("18f0000000000000_0123456789abcdef"));
	CHECK(cdr_portal_addr_ok("a.b+c@x.example.lg.jp"));
	CHECK(!cdr_portal_addr_ok("a@b@c"));
	CHECK(!cdr_portal_addr_ok("@b"));
	CHECK(!cdr_portal_addr_ok("a b@c"));
	CHECK(!cdr_portal_addr_ok("a@b>"));
	CHECK(!cdr_portal_addr_ok("ä@b"));
}

static char root[] = "/tmp/portal_test.XXXXXX";

static void dirq(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/pq", root);
	struct cdr_dirq_opts o = {.dir = dir, .max_bytes = 64, .name_ok = cdr_portal_name_ok, .keep_bad = false};
	struct cdr_dirq *q;
	char why[256] = "";
	REQUIRE(cdr_dirq_open(&o, &q, why, sizeof(why)) == 0);
	CHECK(cdr_dirq_put(q, "0002-b", "second") == 0);
	CHECK(cdr_dirq_put(q, "0001-a", "first") == 0);
	CHECK(cdr_dirq_put(q, "../x", "no") == -EINVAL);
	CHECK(cdr_dirq_put(q, ".hidden", "no") == -EINVAL);
	char big[100];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK(cdr_dirq_put(q, "0003-c", big) == -EFBIG);
	CHECK(cdr_dirq_length(q) == 2);
	REQUIRE(cdr_dirq_lock(q) == 0);
	char name[CDR_DIRQ_NAME_MAX + 1], *text;
	size_t len;
	REQUIRE(cdr_dirq_claim(q, name, &text, &len) == 0);
	CHECK_STR(name, "0001-a");
	CHECK_STR(text, "first");
	free(text);
	/* unreadable with keep_bad off: deleted, not kept */
	CHECK(cdr_dirq_bad(q, name) == 0);
	char p[256];
	snprintf(p, sizeof(p), "%s/bad/0001-a", dir);
	CHECK(access(p, F_OK) < 0);
	snprintf(p, sizeof(p), "%s/cur/0001-a", dir);
	CHECK(access(p, F_OK) < 0);
	/* claimed and "killed": recover brings it back */
	REQUIRE(cdr_dirq_claim(q, name, &text, &len) == 0);
	free(text);
	CHECK(cdr_dirq_recover(q, 600) == 1);
	REQUIRE(cdr_dirq_claim(q, name, &text, &len) == 0);
	CHECK_STR(text, "second");
	free(text);
	CHECK(cdr_dirq_done(q, name) == 0);
	CHECK(cdr_dirq_claim(q, name, &text, &len) == -EAGAIN);
	/* a file too large written by hand: skipped to bad (deleted) */
	snprintf(p, sizeof(p), "%s/new/0004-d", dir);
	FILE *f = fopen(p, "w");
	REQUIRE(f);
	fputs(big, f);
	fclose(f);
	CHECK(cdr_dirq_claim(q, name, &text, &len) == -EAGAIN);
	CHECK(access(p, F_OK) < 0);
	CHECK(cdr_dirq_length(q) == 0);
	cdr_dirq_close(q);
}

/* a scripted SMTP server: one connection, the replies given, what the
 * client sent kept */
struct server {
	int lfd;
	const char *const *replies; /* one per client line, after the greeting */
	const char *greeting;       /* NULL: never greet */
	char got[8192];
	size_t ngot;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	if (!s->greeting) {
		sleep(2);
		close(c);
		return NULL;
	}
	(void)!write(c, s->greeting, strlen(s->greeting));
	bool data = false;
	size_t r = 0, line_start = 0;
	for (;;) {
		char ch;
		if (read(c, &ch, 1) != 1)
			break;
		if (s->ngot < sizeof(s->got) - 1)
			s->got[s->ngot++] = ch;
		if (ch != '\n')
			continue;
		const char *line = s->got + line_start;
		size_t ll = s->ngot - line_start;
		line_start = s->ngot;
		if (data) {
			if (ll == 3 && !memcmp(line, ".\r\n", 3))
				data = false;
			else
				continue;
		} else if (ll >= 4 && !memcmp(line, "DATA", 4)) {
			data = true;
		}
		const char *rep = s->replies[r] ? s->replies[r++] : "221 bye\r\n";
		(void)!write(c, rep, strlen(rep));
		if (!strncmp(rep, "221", 3))
			break;
	}
	close(c);
	return NULL;
}

static int smtp_run(struct server *s, unsigned timeout_ms, char *why, size_t whylen)
{
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	REQUIRE(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(s->lfd, 1) == 0);
	REQUIRE(getsockname(s->lfd, (struct sockaddr *)&a, &al) == 0);
	char hp[64];
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", ntohs(a.sin_port));
	struct cdr_smtp_addr to;
	REQUIRE(cdr_smtp_parse_addr(hp, &to) == 0);
	pthread_t th;
	pthread_create(&th, NULL, serve, s);
	const char *rcpt[] = {"a@x.example", "b@x.example"};
	const char *msg = "Subject: t\r\n\r\n.leading dot\r\nline\r\n";
	int r = cdr_smtp_send(&to, "helo.test", "from@x.example", rcpt, 2, msg, strlen(msg), timeout_ms, why, whylen);
	pthread_join(th, NULL);
	close(s->lfd);
	s->got[s->ngot] = 0;
	return r;
}

static void smtp(void)
{
	struct cdr_smtp_addr a;
	CHECK(cdr_smtp_parse_addr("127.0.0.1:10026", &a) == 0);
	CHECK(cdr_smtp_parse_addr("[::1]:25", &a) == 0);
	CHECK(cdr_smtp_parse_addr("localhost:25", &a) == -EINVAL);
	CHECK(cdr_smtp_parse_addr("127.0.0.1", &a) == -EINVAL);
	CHECK(cdr_smtp_parse_addr("127.0.0.1:0", &a) == -EINVAL);
	CHECK(cdr_smtp_parse_addr("127.0.0.1:70000", &a) == -EINVAL);

	char why[256];
	static const char *const ok[] = {
		"250-x\r\n250 SIZE 1000\r\n", "250 ok\r\n",  "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
		"250 queued as X\r\n",        "221 bye\r\n", NULL};
	struct server s = {.replies = ok, .greeting = "220 test ESMTP\r\n"};
	CHECK(smtp_run(&s, 5000, why, sizeof(why)) == 0, "send: %s", why);
	CHECK(strstr(s.got, "EHLO helo.test\r\n") && strstr(s.got, "MAIL FROM:<from@x.example>\r\n") &&
	      strstr(s.got, "RCPT TO:<b@x.example>\r\n"));
	CHECK(strstr(s.got, "\r\n..leading dot\r\nline\r\n.\r\n"), "dot-stuffing: %s", s.got);
	CHECK(strstr(why, "queued as X"), "%s", why);

	static const char *const refuse[] = {"250 x\r\n", "250 ok\r\n", "550 5.1.1 no such user\r\n", NULL};
	struct server s2 = {.replies = refuse, .greeting = "220 test\r\n"};
	CHECK(smtp_run(&s2, 5000, why, sizeof(why)) == -EREMOTEIO);
	CHECK(strstr(why, "550 5.1.1"), "%s", why);
	static const char *const later[] = {"250 x\r\n", "451 4.3.0 try later\r\n", NULL};
	struct server s5 = {.replies = later, .greeting = "220 test\r\n"};
	CHECK(smtp_run(&s5, 5000, why, sizeof(why)) == -EPROTO);
	CHECK(strstr(why, "451"), "%s", why);
	CHECK(!strstr(s2.got, "DATA"));

	struct server s3 = {.replies = ok, .greeting = NULL};
	CHECK(smtp_run(&s3, 300, why, sizeof(why)) < 0);

	static const char *const bad[] = {"250 x\r\n", "hello\r\n", NULL};
	struct server s4 = {.replies = bad, .greeting = "220 test\r\n"};
	CHECK(smtp_run(&s4, 5000, why, sizeof(why)) == -EPROTO);
}

int main(void)
{
	REQUIRE(mkdtemp(root));
	requests();
	parcels();
	dirq();
	smtp();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	(void)!system(cmd);
	return check_done();
}
