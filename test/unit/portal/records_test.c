/* The LGWAN portal's files: ptl_store (atomic writes, replace or not, mode
 * whatever the umask; the queue put's tmp/ -> new/ and its mode; ids),
 * ptl_report (the worker's report: copy named only when every fact is
 * valid, caps on items and members, hostile strings and types refused,
 * table-driven) and ptl_request (round trip, refusals, the list newest
 * first, damaged files skipped). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "sanitizer/portal/ptl_report.h"
#include "sanitizer/portal/ptl_request.h"
#include "sanitizer/portal/ptl_store.h"
#include "test/check.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char dir[64];

static unsigned mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static void test_store(void)
{
	char p[256];
	umask(077);
	CHECK(ptl_store_write(dir, "a.json", "one", 3, 0640, false) == 0);
	snprintf(p, sizeof p, "%s/a.json", dir);
	CHECK(mode_of(p) == 0640, "mode despite the umask: %o", mode_of(p));
	CHECK(ptl_store_write(dir, "a.json", "two", 3, 0640, false) == -EEXIST);
	CHECK(ptl_store_write(dir, "a.json", "three", 5, 0600, true) == 0);
	FILE *f = fopen(p, "r");
	char buf[16] = "";
	REQUIRE(f);
	CHECK(fgets(buf, sizeof buf, f) && !strcmp(buf, "three"));
	fclose(f);
	CHECK(ptl_store_write(dir, "../x", "x", 1, 0600, true) == -EINVAL);
	CHECK(ptl_store_write(dir, ".hidden", "x", 1, 0600, true) == -EINVAL);
	CHECK(ptl_store_write(dir, "", "x", 1, 0600, true) == -EINVAL);
	snprintf(p, sizeof p, "%s/missing", dir);
	CHECK(ptl_store_write(p, "a", "x", 1, 0600, true) == -ENOENT);

	char q[256];
	snprintf(q, sizeof q, "%s/q", dir);
	CHECK(ptl_queue_put(q, "{}", (char[PTL_QUEUE_ID_LEN + 1]){0}) == -ENOENT, "no queue directories");
	mkdir(q, 0700);
	snprintf(p, sizeof p, "%s/q/tmp", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/q/new", dir);
	mkdir(p, 0700);
	char id[PTL_QUEUE_ID_LEN + 1], id2[PTL_QUEUE_ID_LEN + 1];
	CHECK(ptl_queue_put(q, "{\"v\":1}", id) == 0);
	CHECK(ptl_queue_put(q, "{\"v\":2}", id2) == 0);
	CHECK(strlen(id) == PTL_QUEUE_ID_LEN && id[16] == '-' && strcmp(id, id2) < 0, "ids sort in order: %s %s", id,
	      id2);
	snprintf(p, sizeof p, "%s/q/new/%s", dir, id);
	CHECK(mode_of(p) == 0660, "job mode %o", mode_of(p));
	snprintf(p, sizeof p, "%s/q/tmp/%s", dir, id);
	CHECK(access(p, F_OK) != 0, "nothing left in tmp/");

	char rid[PTL_ID_LEN + 1];
	CHECK(ptl_id_new(rid) == 0 && ptl_id_valid(rid), "%s", rid);
	CHECK(!ptl_id_valid("0123456789abcdef-0123456789abcde"));
	CHECK(!ptl_id_valid("0123456789abcdef_0123456789abcdef"));
	CHECK(!ptl_id_valid("0123456789ABCDEF-0123456789abcdef"));
	CHECK(!ptl_id_valid("../../../../../../../../etc/passwd"));
}

static void test_report(void)
{
	static const struct {
		const char *json;
		int r;
		bool copy;
	} t[] = {
		{"{\"result\":\"ok\",\"out_ext\":\"xlsx\",\"out_sha256\":\"" SHA_A "\",\"out_bytes\":5}", 0, true},
		{"{\"result\":\"ok\",\"out_ext\":\"../x\",\"out_sha256\":\"" SHA_A "\"}", 0, false},
		{"{\"result\":\"ok\",\"out_ext\":\"XLSX\",\"out_sha256\":\"" SHA_A "\"}", 0, false},
		{"{\"result\":\"ok\",\"out_ext\":\"xlsx\",\"out_sha256\":\"abc\"}", 0, false},
		{"{\"result\":\"ok\",\"out_ext\":\"xlsx\"}", 0, false},
		{"{\"result\":\"encrypted\",\"out_ext\":\"zip\",\"out_sha256\":\"" SHA_A "\"}", 0, false},
		{"{\"result\":\"ok\",\"out_ext\":\"abcdefghijk\",\"out_sha256\":\"" SHA_A "\"}", 0, false},
		{"{\"result\":null}", -EINVAL, false},
		{"{}", -EINVAL, false},
		{"[]", -EINVAL, false},
		{"{\"result\":\"ok\"} x", -EINVAL, false},
		{"{\"result\":\"ok\",\"removed\":[\"a\\u001bb\"]}", -EINVAL, false},
		{"{\"result\":\"ok\",\"removed\":[1]}", -EINVAL, false},
		{"{\"result\":\"ok\",\"removed\":\"x\"}", -EINVAL, false},
		{"{\"result\":\"ok\",\"reason_ja\":\"a\\u0000b\"}", -EINVAL, false},
		{"{\"result\":\"o\\nk\"}", -EINVAL, false},
		{"{\"result\":\"ok\",\"members\":[{\"name\":7}]}", -EINVAL, false},
		{"{\"result\":\"ok\",\"members\":{}}", -EINVAL, false},
		{"{\"result\":\"ok\",\"out_bytes\":-1}", -EINVAL, false},
		{"{\"result\":\"ok\",\"removed_more\":-1}", -EINVAL, false},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ptl_report r;
		int e = ptl_report_parse(t[i].json, strlen(t[i].json), &r);
		CHECK(e == t[i].r, "report %zu: %d", i, e);
		if (e == 0) {
			CHECK(r.has_copy == t[i].copy, "report %zu: copy", i);
			ptl_report_free(&r);
		}
	}
	/* caps: items and members kept up to the cap, counted beyond */
	struct strbuf sb = STRBUF_INIT;
	strbuf_puts(&sb, "{\"result\":\"ok\",\"removed_more\":7,\"removed\":[");
	for (int i = 0; i < 150; i++)
		strbuf_printf(&sb, "%s\"part:%d\"", i ? "," : "", i);
	strbuf_puts(&sb, "],\"members\":[");
	for (int i = 0; i < 130; i++)
		strbuf_printf(&sb, "%s{\"name\":\"m%d\",\"result\":\"ok\"}", i ? "," : "", i);
	strbuf_puts(&sb, "]}");
	struct ptl_report r;
	CHECK(ptl_report_parse(sb.buf, sb.len, &r) == 0);
	CHECK(r.nremoved == PTL_REPORT_MAX_ITEMS && r.removed_total == 157);
	CHECK(r.nmembers == PTL_REPORT_MAX_MEMBERS && r.members_total == 130);
	ptl_report_free(&r);
	strbuf_free(&sb);
	char big[600];
	memset(big, 'x', sizeof big);
	CHECK(ptl_report_parse(big, PTL_REPORT_MAX_BYTES + 1, &r) == -EFBIG);
	/* nesting beyond the cap */
	const char *deep = "{\"result\":\"ok\",\"x\":[[[[[[[[[[[[[[]]]]]]]]]]]]]]}";
	CHECK(ptl_report_parse(deep, strlen(deep), &r) == -EINVAL);
	CHECK(ptl_report_load(dir, "not-a-hash", false, &r) == -EINVAL);
	CHECK(ptl_report_load(dir, SHA_A, false, &r) == -ENOENT);
	CHECK(ptl_store_write(dir, SHA_A ".ppap.report.json", "{\"result\":\"ok\"}", 15, 0640, true) == 0);
	CHECK(ptl_report_load(dir, SHA_A, true, &r) == 0 && !r.has_copy);
	ptl_report_free(&r);
}

static void test_request(void)
{
	char rd[128];
	snprintf(rd, sizeof rd, "%s/requests", dir);
	mkdir(rd, 0700);
	struct ptl_request q = {.created = 1796000000, .n = 3, .bytes = 12345};
	CHECK(ptl_id_new(q.id) == 0);
	strcpy(q.link, SHA_A);
	strcpy(q.sha256, SHA_B);
	strcpy(q.origin, "upload");
	q.name = strdup("見積書.xlsx");
	q.reason = strdup("必要です\n\"引用\"");
	strcpy(q.peer, "2001:db8::1");
	strcpy(q.state, "approved");
	strcpy(q.approvals[0].user, "sato");
	q.approvals[0].comment = strdup("ok");
	q.approvals[0].at = 1796000100;
	q.napprovals = 1;
	memset(q.release, 'Q', PTL_RELEASE_SECRET_LEN);
	q.release_expires = 1796086400;
	CHECK(ptl_request_save(rd, &q) == 0);
	struct ptl_request b;
	CHECK(ptl_request_load(rd, q.id, &b) == 0);
	CHECK_STR(b.id, q.id);
	CHECK_STR(b.reason, q.reason);
	CHECK_STR(b.name, "見積書.xlsx");
	CHECK(b.type == NULL && b.requester[0] == 0 && b.n == 3 && b.bytes == 12345);
	CHECK_STR(b.approvals[0].user, "sato");
	CHECK(b.napprovals == 1 && b.release_expires == 1796086400 && !strcmp(b.release, q.release));
	ptl_request_free(&b);
	char p[256];
	snprintf(p, sizeof p, "%s/%s.json", rd, q.id);
	CHECK(mode_of(p) == 0600);
	CHECK(ptl_request_load(rd, "../../etc/passwd", &b) == -ENOENT);

	static const char *bad[] = {
		"{}",
		"{\"v\":1,\"id\":\"x\"}",
		"{\"v\":1,\"id\":\"0123456789abcdef-0123456789abcdef\",\"created\":1,\"link\":\"" SHA_A
		"\",\"n\":0,\"sha256\":\"" SHA_A
		"\",\"origin\":\"disk\",\"bytes\":1,\"peer\":\"\",\"state\":\"pending\","
		"\"release_expires\":0,\"downloaded\":0,\"approvals\":[]}",
		"{\"v\":1,\"id\":\"0123456789abcdef-0123456789abcdef\",\"created\":1,\"link\":\"" SHA_A
		"\",\"n\":0,\"sha256\":\"" SHA_A "\",\"origin\":\"mail\",\"bytes\":1,\"peer\":\"\",\"state\":\"done\","
		"\"release_expires\":0,\"downloaded\":0,\"approvals\":[]}",
		"{\"v\":1,\"id\":\"0123456789abcdef-0123456789abcdef\",\"created\":1,\"link\":\"" SHA_A
		"\",\"n\":0,\"sha256\":\"" SHA_A
		"\",\"origin\":\"mail\",\"bytes\":1,\"peer\":\"\",\"state\":\"pending\","
		"\"release_expires\":0,\"downloaded\":0,\"approvals\":[{\"user\":\"../x\",\"at\":1}]}",
		"{\"v\":1,\"id\":\"0123456789abcdef-0123456789abcdef\",\"created\":1,\"link\":\"" SHA_A
		"\",\"n\":99,\"sha256\":\"" SHA_A
		"\",\"origin\":\"mail\",\"bytes\":1,\"peer\":\"\",\"state\":\"pending\","
		"\"release_expires\":0,\"downloaded\":0,\"approvals\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(ptl_request_parse(bad[i], strlen(bad[i]), &b) == -EINVAL, "bad request %zu", i);
	/* list: newest first, a damaged file skipped, a file whose id is not its name skipped */
	struct ptl_request q2 = q;
	q2.name = q2.reason = NULL;
	q2.approvals[0].comment = NULL;
	CHECK(ptl_id_new(q2.id) == 0);
	CHECK(ptl_request_save(rd, &q2) == 0);
	CHECK(ptl_store_write(rd, "0000000000000000-0000000000000000.json", "{broken", 7, 0600, true) == 0);
	char *t = ptl_request_text(&q);
	CHECK(ptl_store_write(rd, "0000000000000001-0000000000000000.json", t, strlen(t), 0600, true) == 0);
	free(t);
	struct ptl_request *v;
	size_t n;
	CHECK(ptl_request_list(rd, &v, &n) == 0 && n == 2);
	if (n == 2)
		CHECK(!strcmp(v[0].id, q2.id) && !strcmp(v[1].id, q.id));
	ptl_request_list_free(v, n);
	ptl_request_free(&q);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/portal-records-XXXXXX");
	REQUIRE(mkdtemp(dir));
	test_store();
	test_report();
	test_request();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done();
}
