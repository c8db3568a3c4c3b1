/* link_test: the portals' link tokens and manifests (ptl_link).
 *
 * Tokens: 43 base64url characters, distinct, hashed to the manifest name
 * (checked against OpenSSL's own SHA-256 via `openssl dgst`, an
 * independent oracle); malformed tokens never reach a path.  Manifests:
 * written whole (no temporary left, mode 0640), read back equal, revoked,
 * expired, swept; damaged and hostile manifests (caps, types, control
 * characters, bad hashes, symlinks, a FIFO) refused.  Approval marks of
 * uploads: made (0660, the directory's group), listed oldest first and
 * capped, cleared once (the second clear finds none), swept with their
 * manifest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitizer/portal/ptl_link.h"
#include "test/check.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[256];

static int count_files(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	FILE *f = popen(cmd, "r");
	int n = -1;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static void write_file(const char *name, const char *text)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	REQUIRE(f);
	fputs(text, f);
	fclose(f);
}

static struct ptl_link sample(void)
{
	struct ptl_link l = {0};
	snprintf(l.origin, sizeof(l.origin), "mail");
	l.created = 1000;
	l.expires = 1000 + 7 * 86400;
	l.message_id = "<x@example.jp>";
	l.queue_id = "4XyQ";
	l.from = "a@example.jp";
	l.subject = "見積書の送付";
	l.rcpt[0] = "b@city.example.lg.jp";
	l.rcpt[1] = "c@city.example.lg.jp";
	l.nrcpt = 2;
	snprintf(l.files[0].sha256, 65, "%s", SHA_A);
	l.files[0].name = "見積書.xlsx";
	l.files[0].type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
	l.files[0].bytes = 12345;
	l.files[0].cdr = "pending";
	snprintf(l.files[1].sha256, 65, "%s", SHA_B);
	l.files[1].name = "setup.exe";
	l.files[1].cdr = "none:unsupported-format";
	l.nfiles = 2;
	return l;
}

static void test_tokens(void)
{
	char t1[PTL_TOKEN_LEN + 1], t2[PTL_TOKEN_LEN + 1], h[PTL_HASH_LEN + 1];
	REQUIRE(ptl_token_new(t1) == 0 && ptl_token_new(t2) == 0);
	CHECK(strlen(t1) == PTL_TOKEN_LEN && strcmp(t1, t2) != 0, "two tokens, 43 characters, different");
	CHECK(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == PTL_TOKEN_LEN);
	REQUIRE(ptl_token_hash(t1, h) == 0);
	CHECK(ptl_hash_valid(h));

	/* the oracle: openssl's SHA-256 of the token text */
	char cmd[200], want[80] = "";
	snprintf(cmd, sizeof(cmd), "printf %%s '%s' | openssl dgst -sha256 -r", t1);
	FILE *f = popen(cmd, "r");
	REQUIRE(f);
	CHECK(fscanf(f, "%64s", want) == 1);
	pclose(f);
	CHECK_STR(h, want);

	/* the token decodes to 32 random bytes (Python's base64 as the oracle) */
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import base64,sys; print(len(base64.urlsafe_b64decode(sys.argv[1]+\"=\")))' '%s'", t1);
	f = popen(cmd, "r");
	int n = 0;
	CHECK(f && fscanf(f, "%d", &n) == 1 && n == PTL_TOKEN_BYTES, "decodes to %d bytes", n);
	if (f)
		pclose(f);

	/* malformed tokens: wrong length, a path, a character outside the
	 * alphabet, padding bits set in the last character */
	char bad[PTL_TOKEN_LEN + 2];
	char *bads[] = {strdup(""), strdup("abc"), strdup("../../../../etc/passwd"), NULL, NULL, NULL};
	memcpy(bad, t1, sizeof(t1));
	bad[5] = '/';
	bads[3] = strdup(bad);
	memcpy(bad, t1, sizeof(t1));
	bad[PTL_TOKEN_LEN - 1] = 'B'; /* 'B' = 1: a padding bit */
	bads[4] = strdup(bad);
	memcpy(bad, t1, sizeof(t1));
	bad[PTL_TOKEN_LEN] = 'A';
	bad[PTL_TOKEN_LEN + 1] = '\0';
	bads[5] = strdup(bad);
	for (size_t i = 0; i < 6; i++)
		CHECK(ptl_token_hash(bads[i], h) == -EINVAL, "bad token %zu refused", i);
	CHECK(ptl_token_hash(NULL, h) == -EINVAL);
	for (size_t i = 0; i < 6; i++)
		free(bads[i]);
	CHECK(!ptl_hash_valid("ABCDEF") && !ptl_hash_valid(SHA_A "0") && ptl_hash_valid(SHA_A));
}

static void test_write_read(void)
{
	struct ptl_link l = sample(), r;
	char tok[PTL_TOKEN_LEN + 1], h[PTL_HASH_LEN + 1], h2[PTL_HASH_LEN + 1];
	/* the milter's unit has UMask=0077: the portal must still read it
	 * through the group (found by the image boot test: 404 on every link) */
	mode_t old = umask(077);
	REQUIRE(ptl_link_write(dir, &l, tok, h) == 0);
	umask(old);
	CHECK(count_files() == 1, "only the manifest is left");
	char p[400];
	snprintf(p, sizeof(p), "%s/%s.json", dir, h);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640, "mode 0640 whatever the umask");

	/* Python's json reads what we wrote */
	char cmd[1000];
	snprintf(
		cmd, sizeof(cmd),
		"python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
		"assert d[\"v\"]==1 and d[\"files\"][0][\"name\"]==\"見積書.xlsx\" and d[\"rcpt\"][1]==\"c@city.example.lg.jp\" "
		"and d[\"files\"][1][\"cdr\"]==\"none:unsupported-format\" and d[\"note\"] is None' %s",
		p);
	CHECK(system(cmd) == 0, "python json reads the manifest");

	REQUIRE(ptl_link_load(dir, tok, 2000, &r, h2) == 0);
	CHECK_STR(h2, h);
	CHECK_STR(r.origin, "mail");
	CHECK(r.created == 1000 && r.expires == l.expires);
	CHECK_STR(r.subject, "見積書の送付");
	CHECK(r.nrcpt == 2 && !strcmp(r.rcpt[1], "c@city.example.lg.jp"));
	CHECK(r.nfiles == 2 && !strcmp(r.files[0].sha256, SHA_A) && r.files[0].bytes == 12345);
	CHECK_STR(r.files[1].cdr, "none:unsupported-format");
	CHECK(r.files[1].type == NULL && r.note == NULL);
	ptl_link_free(&r);

	/* expiry is inclusive of the second itself, refused after */
	CHECK(ptl_link_load(dir, tok, l.expires, &r, NULL) == 0);
	ptl_link_free(&r);
	CHECK(ptl_link_load(dir, tok, l.expires + 1, &r, NULL) == -EKEYEXPIRED);
	CHECK(r.nfiles == 0, "nothing left in ret on error");

	/* an unknown and a malformed token look the same */
	char other[PTL_TOKEN_LEN + 1];
	REQUIRE(ptl_token_new(other) == 0);
	CHECK(ptl_link_load(dir, other, 2000, &r, NULL) == -ENOENT);
	CHECK(ptl_link_load(dir, "../x", 2000, &r, NULL) == -ENOENT);

	/* revocation */
	CHECK(ptl_link_revoke(dir, h) == 0);
	CHECK(ptl_link_revoke(dir, h) == 0, "twice is fine");
	CHECK(ptl_link_load(dir, tok, 2000, &r, NULL) == -EKEYREVOKED);
	CHECK(ptl_link_load_hash(dir, h, 2000, &r) == -EKEYREVOKED);
	CHECK(ptl_link_revoke(dir, SHA_B) == -ENOENT, "no manifest, no mark");
	CHECK(ptl_link_revoke(dir, "../../x") == -EINVAL);
	CHECK(count_files() == 2);

	/* sweep: nothing before expiry + grace, both files after */
	CHECK(ptl_link_sweep(dir, l.expires + 10, 3600) == 0);
	CHECK(ptl_link_sweep(dir, l.expires + 3601, 3600) == 1, "the manifest (its mark goes with it)");
	CHECK(count_files() == 0);
}

static void test_invalid_writes(void)
{
	struct ptl_link l = sample();
	char h[PTL_HASH_LEN + 1];
	l.subject = "line\r\nBcc: x@evil";
	CHECK(ptl_link_write(dir, &l, NULL, h) == -EINVAL, "CR/LF in a string");
	l = sample();
	snprintf(l.origin, sizeof(l.origin), "disk");
	CHECK(ptl_link_write(dir, &l, NULL, h) == -EINVAL, "origin");
	l = sample();
	snprintf(l.files[0].sha256, 65, "../../../../etc/passwd");
	CHECK(ptl_link_write(dir, &l, NULL, h) == -EINVAL, "sha256");
	l = sample();
	l.files[0].cdr = "none:../x";
	CHECK(ptl_link_write(dir, &l, NULL, h) == -EINVAL, "cdr state");
	l = sample();
	l.files[0].name = "\xff\xfe";
	CHECK(ptl_link_write(dir, &l, NULL, h) == -EINVAL, "invalid UTF-8");
	l = sample();
	l.expires = 10;
	CHECK(ptl_link_write(dir, &l, NULL, h) == -EINVAL, "expires before created");
	/* 64 files with 4000-byte names: over 64 KiB */
	l = sample();
	static char longname[4001];
	memset(longname, 'n', 4000);
	for (size_t i = 0; i < PTL_LINK_MAX_FILES; i++) {
		snprintf(l.files[i].sha256, 65, "%s", SHA_A);
		l.files[i].name = longname;
		l.files[i].cdr = "pending";
	}
	l.nfiles = PTL_LINK_MAX_FILES;
	CHECK(ptl_link_write(dir, &l, NULL, h) == -EFBIG, "over 64 KiB");
	l.nfiles = PTL_LINK_MAX_FILES + 1;
	CHECK(ptl_link_write(dir, &l, NULL, h) == -EINVAL, "over 64 files");
	CHECK(count_files() == 0, "nothing written");
}

static void test_hostile_manifests(void)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[]}", 0},
		{"{\"v\":2,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[]}", -EINVAL},
		{"{\"v\":1,\"origin\":\"x\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[]}", -EINVAL},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":-1,\"expires\":9,\"rcpt\":[],\"files\":[]}", -EINVAL},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[5],\"files\":[]}", -EINVAL},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[\"a\\nb\"],\"files\":[]}",
		 -EINVAL},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[{\"sha256\":\"../x\","
		 "\"bytes\":1,\"cdr\":\"pending\"}]}",
		 -EINVAL},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[{\"sha256\":\"" SHA_A
		 "\",\"bytes\":1}]}",
		 -EINVAL},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[{\"sha256\":\"" SHA_A
		 "\",\"bytes\":1,\"cdr\":\"pending\",\"name\":\"a\\u0000b\"}]}",
		 -EINVAL},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[{\"sha256\":\"" SHA_A
		 "\",\"bytes\":1,\"cdr\":\"pending\",\"name\":\"a\\u202eb\"}]}",
		 0}, /* bidi overrides are the page's to show safely; only controls are refused */
		/* the states: pending, ready (the milter: a copy already existed), none:<key> */
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[{\"sha256\":\"" SHA_A
		 "\",\"bytes\":1,\"cdr\":\"ready\"}]}",
		 0},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[{\"sha256\":\"" SHA_A
		 "\",\"bytes\":1,\"cdr\":\"none:unsupported-format\"}]}",
		 0},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[{\"sha256\":\"" SHA_A
		 "\",\"bytes\":1,\"cdr\":\"done\"}]}",
		 -EINVAL},
		{"{\"v\":1,\"origin\":\"mail\",\"created\":1,\"expires\":9,\"rcpt\":[],\"files\":[]} x", -EINVAL},
		{"[]", -EINVAL},
		{"", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ptl_link r;
		int got = ptl_link_parse(cases[i].text, strlen(cases[i].text), &r);
		CHECK(got == cases[i].want, "case %zu: %d, want %d", i, got, cases[i].want);
		if (got == 0) {
			char *t = ptl_link_text(&r);
			struct ptl_link k;
			CHECK(t && ptl_link_parse(t, strlen(t), &k) == 0 && k.nfiles == r.nfiles, "case %zu round trip",
			      i);
			free(t);
			ptl_link_free(&k);
		}
		ptl_link_free(&r);
	}

	/* on disk: a symlink, a FIFO and an oversized file under a manifest's
	 * name are refused without blocking or following */
	char p[400];
	snprintf(p, sizeof(p), "%s/%s.json", dir, SHA_A);
	REQUIRE(symlink("/etc/passwd", p) == 0);
	struct ptl_link r;
	CHECK(ptl_link_load_hash(dir, SHA_A, 0, &r) == -EINVAL, "symlink");
	unlink(p);
	REQUIRE(mkfifo(p, 0600) == 0);
	CHECK(ptl_link_load_hash(dir, SHA_A, 0, &r) == -EINVAL, "fifo");
	unlink(p);
	char *big = malloc(PTL_LINK_MAX_BYTES + 2);
	REQUIRE(big);
	memset(big, ' ', PTL_LINK_MAX_BYTES + 1);
	big[PTL_LINK_MAX_BYTES + 1] = '\0';
	char name[100];
	snprintf(name, sizeof(name), "%s.json", SHA_A);
	write_file(name, big);
	free(big);
	CHECK(ptl_link_load_hash(dir, SHA_A, 0, &r) == -EFBIG, "over 64 KiB");
	/* a damaged manifest is swept by its age */
	CHECK(ptl_link_sweep(dir, 4000000000LL, 60) == 1);
	/* names that are not ours are never touched */
	write_file("README", "x");
	write_file(".x.tmp", "x");
	CHECK(ptl_link_sweep(dir, 4000000000LL, 60) == 0);
	CHECK(count_files() == 2);
}

static void test_approval_marks(void)
{
	struct ptl_link l = sample();
	snprintf(l.origin, sizeof(l.origin), "upload");
	char h[3][PTL_HASH_LEN + 1];
	for (int i = 0; i < 3; i++)
		REQUIRE(ptl_link_write(dir, &l, NULL, h[i]) == 0);
	CHECK(ptl_link_approval_mark(dir, SHA_B) == -ENOENT, "no manifest, no mark");
	CHECK(ptl_link_approval_mark(dir, "../../x") == -EINVAL);
	CHECK(!ptl_link_approval_pending(dir, h[0]));
	mode_t old = umask(077);
	for (int i = 0; i < 3; i++) {
		CHECK(ptl_link_approval_mark(dir, h[i]) == 0);
		/* distinct mark times, so "oldest first" is decided by them */
		usleep(20000);
	}
	umask(old);
	CHECK(ptl_link_approval_mark(dir, h[1]) == 0, "twice is fine");
	char p[400];
	struct stat st, ds;
	snprintf(p, sizeof(p), "%s/%s.approval", dir, h[0]);
	REQUIRE(stat(p, &st) == 0 && stat(dir, &ds) == 0);
	CHECK((st.st_mode & 07777) == 0660 && st.st_size == 0, "mode 0660 whatever the umask, empty");
	CHECK(st.st_gid == ds.st_gid, "the directory's group");
	CHECK(ptl_link_approval_pending(dir, h[0]) && ptl_link_approval_pending(dir, h[2]));

	char(*v)[PTL_HASH_LEN + 1];
	size_t n, more;
	REQUIRE(ptl_link_approval_list(dir, 10, &v, &n, &more) == 0);
	CHECK(n == 3 && more == 0 && !strcmp(v[0], h[0]) && !strcmp(v[2], h[2]), "all three, oldest first");
	free(v);
	REQUIRE(ptl_link_approval_list(dir, 2, &v, &n, &more) == 0);
	CHECK(n == 2 && more == 1 && !strcmp(v[0], h[0]), "capped, the rest counted");
	free(v);
	/* a name that only looks like a mark is not listed */
	write_file("zz.approval", "");
	snprintf(p, sizeof(p), "%s/%s.approvalx", dir, h[0]);
	close(open(p, O_CREAT | O_WRONLY, 0600));

	CHECK(ptl_link_approval_clear(dir, h[0]) == 0);
	CHECK(ptl_link_approval_clear(dir, h[0]) == -ENOENT, "the second decision finds no mark");
	CHECK(ptl_link_approval_clear(dir, "x") == -EINVAL);
	CHECK(!ptl_link_approval_pending(dir, h[0]));
	REQUIRE(ptl_link_approval_list(dir, 10, &v, &n, &more) == 0);
	CHECK(n == 2 && !strcmp(v[0], h[1]), "the cleared one is gone");
	free(v);
	unlink(p);
	snprintf(p, sizeof(p), "%s/zz.approval", dir);
	unlink(p);

	/* sweep: the marks go with their manifests */
	int before = count_files();
	CHECK(ptl_link_sweep(dir, l.expires + 3601, 3600) == 3);
	CHECK(count_files() == before - 5, "three manifests and their two marks (names not ours stay)");
	REQUIRE(ptl_link_approval_list(dir, 10, &v, &n, &more) == 0);
	CHECK(n == 0 && v == NULL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s/ptl_link_test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	REQUIRE(mkdtemp(dir));
	test_tokens();
	test_write_read();
	test_invalid_writes();
	test_hostile_manifests();
	test_approval_marks();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done();
}
