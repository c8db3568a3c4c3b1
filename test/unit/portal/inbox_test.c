/* ptl_inbox: a parcel of three files published as <id>.<n>.data + <id>.json
 * (sizes and SHA-256 checked against an independent digest of the bytes
 * written); the caps (per file, count, total) and invalid metadata refused
 * with every file of the parcel removed; an unpublished parcel freed leaves
 * nothing; a writer killed mid-file leaves only .part files and no .json;
 * as root, the same protocol as an unprivileged writer in a 3730 directory
 * it cannot list. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#include "sanitizer/portal/ptl_inbox.h"
#include "test/check.h"

static char root[256];

/* entries of dir by kind: .part, .data, .json, other */
struct census {
	int part, data, json, other;
};

static struct census census(const char *dir)
{
	struct census c = {0};
	DIR *d = opendir(dir);
	REQUIRE(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n > 5 && !strcmp(e->d_name + n - 5, ".part"))
			c.part++;
		else if (n > 5 && !strcmp(e->d_name + n - 5, ".data"))
			c.data++;
		else if (n > 5 && !strcmp(e->d_name + n - 5, ".json"))
			c.json++;
		else
			c.other++;
	}
	closedir(d);
	return c;
}

static void empty_dir(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	REQUIRE(system(cmd) == 0);
}

static void sha_hex(const void *buf, size_t len, char out[65])
{
	unsigned char md[32];
	SHA256(buf, len, md);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const struct ptl_parcel_meta META = {
	.received = 1796000000,
	.uploader = "yamada",
	.peer = "198.18.1.10",
	.rcpt = "sato@city.example.lg.jp",
	.note = "見積書です\nよろしく",
	.approval = true,
};

/* three files, one written in many small pieces, one empty */
static void test_publish(const char *dir)
{
	empty_dir(dir);
	struct ptl_inbox *ib;
	REQUIRE(ptl_inbox_open(dir, &ib) == 0);
	struct ptl_parcel *p;
	REQUIRE(ptl_parcel_new(ib, NULL, &p) == 0);
	const char *id = ptl_parcel_id(p);
	CHECK(ptl_inbox_id_valid(id), "id %s", id);
	static char big[300000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 251);
	const char *names[] = {"見積書.xlsx", "big.bin", "empty.txt"};
	const char *bufs[] = {"hello, world\n", big, ""};
	size_t lens[] = {13, sizeof(big), 0};
	for (int f = 0; f < 3; f++) {
		CHECK(ptl_parcel_file_begin(p, names[f]) == 0);
		for (size_t o = 0; o < lens[f]; o += 4093) {
			size_t n = lens[f] - o < 4093 ? lens[f] - o : 4093;
			CHECK(ptl_parcel_file_write(p, bufs[f] + o, n) == 0);
		}
		struct census c = census(dir);
		CHECK(c.part == f + 1 && c.data == 0 && c.json == 0, "while writing file %d", f);
		CHECK(ptl_parcel_file_end(p) == 0);
	}
	CHECK(ptl_parcel_file_write(p, "x", 1) == -EINVAL, "no file open");
	CHECK_EQ_U(ptl_parcel_total(p), 13 + sizeof(big));
	CHECK(ptl_parcel_publish(p, &META) == 0);
	struct census c = census(dir);
	CHECK(c.part == 0 && c.data == 3 && c.json == 1 && c.other == 0, "%d %d %d %d", c.part, c.data, c.json,
	      c.other);
	for (int f = 0; f < 3; f++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s.%d.data", dir, id, f);
		struct stat st;
		CHECK(stat(path, &st) == 0 && (size_t)st.st_size == lens[f] && (st.st_mode & 07777) == 0644, "%s",
		      path);
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	struct json_object *o = json_object_from_file(path), *v, *files;
	REQUIRE(o);
	CHECK(json_object_object_get_ex(o, "id", &v) && !strcmp(json_object_get_string(v), id));
	CHECK(json_object_object_get_ex(o, "v", &v) && json_object_get_int(v) == 1);
	CHECK(json_object_object_get_ex(o, "rcpt", &v) && !strcmp(json_object_get_string(v), META.rcpt));
	CHECK(json_object_object_get_ex(o, "note", &v) && !strcmp(json_object_get_string(v), META.note));
	CHECK(json_object_object_get_ex(o, "approval", &v) && json_object_get_boolean(v));
	CHECK(json_object_object_get_ex(o, "received", &v) && json_object_get_int64(v) == 1796000000);
	REQUIRE(json_object_object_get_ex(o, "files", &files) && json_object_array_length(files) == 3);
	for (int f = 0; f < 3; f++) {
		struct json_object *e = json_object_array_get_idx(files, (size_t)f);
		char want[65];
		sha_hex(bufs[f], lens[f], want);
		CHECK(json_object_object_get_ex(e, "sha256", &v) && !strcmp(json_object_get_string(v), want), "f%d", f);
		CHECK(json_object_object_get_ex(e, "bytes", &v) && (size_t)json_object_get_int64(v) == lens[f]);
		CHECK(json_object_object_get_ex(e, "n", &v) && json_object_get_int(v) == f);
		CHECK(json_object_object_get_ex(e, "name", &v) && !strcmp(json_object_get_string(v), names[f]));
	}
	json_object_put(o);
	size_t n;
	const struct ptl_inbox_file *fl = ptl_parcel_files(p, &n);
	CHECK(n == 3 && fl[1].bytes == sizeof(big));
	CHECK(ptl_parcel_publish(p, &META) == -EINVAL, "published once");
	ptl_parcel_free(p);
	c = census(dir);
	CHECK(c.data == 3 && c.json == 1, "a published parcel stays after free");
	ptl_inbox_close(ib);
}

/* each refusal removes every file of the parcel */
static void test_refusals(const char *dir)
{
	struct ptl_inbox *ib;
	struct ptl_parcel *p;
	struct census c;
	empty_dir(dir);
	REQUIRE(ptl_inbox_open(dir, &ib) == 0);

	/* per-file cap: exactly max_bytes passes, one more byte does not */
	struct ptl_parcel_caps caps = {.max_bytes = 10, .max_files = 2, .max_total = 15};
	REQUIRE(ptl_parcel_new(ib, &caps, &p) == 0);
	CHECK(ptl_parcel_file_begin(p, "a") == 0);
	CHECK(ptl_parcel_file_write(p, "0123456789", 10) == 0);
	CHECK(ptl_parcel_file_end(p) == 0);
	CHECK(ptl_parcel_file_begin(p, "b") == 0);
	CHECK(ptl_parcel_file_write(p, "01234", 5) == 0);
	CHECK(ptl_parcel_file_write(p, "5", 1) == -EDQUOT, "max_total");
	c = census(dir);
	CHECK(c.part == 0 && c.data == 0 && c.json == 0, "after -EDQUOT");
	CHECK(ptl_parcel_file_write(p, "5", 1) == -EINVAL, "failed parcel");
	CHECK(ptl_parcel_publish(p, &META) == -EINVAL);
	ptl_parcel_free(p);

	REQUIRE(ptl_parcel_new(ib, &caps, &p) == 0);
	CHECK(ptl_parcel_file_begin(p, "a") == 0);
	CHECK(ptl_parcel_file_write(p, "01234567890", 11) == -EFBIG, "max_bytes");
	ptl_parcel_free(p);

	/* count cap */
	REQUIRE(ptl_parcel_new(ib, &caps, &p) == 0);
	for (int i = 0; i < 2; i++) {
		CHECK(ptl_parcel_file_begin(p, "x") == 0);
		CHECK(ptl_parcel_file_end(p) == 0);
	}
	CHECK(ptl_parcel_file_begin(p, "x") == -E2BIG);
	CHECK(census(dir).part == 2);
	ptl_parcel_free(p);
	c = census(dir);
	CHECK(c.part == 0 && c.data == 0 && c.json == 0, "freed unpublished");

	/* names and metadata */
	REQUIRE(ptl_parcel_new(ib, NULL, &p) == 0);
	CHECK(ptl_parcel_file_begin(p, "a\nb") == -EINVAL);
	CHECK(ptl_parcel_file_begin(p, "bad\xff") == -EINVAL);
	CHECK(ptl_parcel_file_begin(p, "rl\xe2\x80\xaetxt.exe") == -EINVAL);
	CHECK(ptl_parcel_publish(p, &META) == -EINVAL, "no file");
	CHECK(ptl_parcel_file_begin(p, "ok.txt") == 0);
	CHECK(ptl_parcel_file_begin(p, "two.txt") == -EINVAL, "one open at a time");
	CHECK(ptl_parcel_publish(p, &META) == -EINVAL, "a file open");
	CHECK(ptl_parcel_file_end(p) == 0);
	struct ptl_parcel_meta bad = META;
	bad.note = "bad\xc0\xaf";
	CHECK(ptl_parcel_publish(p, &bad) == -EINVAL);
	c = census(dir);
	CHECK(c.part == 0 && c.data == 0 && c.json == 0, "after bad metadata");
	ptl_parcel_free(p);

	/* the metadata cap: a note at its cap is fine; the text as a whole is
	 * checked too (a long note in many escapes) */
	static char note[PTL_INBOX_MAX_NOTE + 2];
	memset(note, 'n', PTL_INBOX_MAX_NOTE + 1);
	bad = META;
	bad.note = note;
	struct ptl_inbox_file f = {.n = 0, .name = "a", .bytes = 1, .sha256 = {0}};
	memset(f.sha256, 'a', 64);
	errno = 0;
	CHECK(ptl_parcel_meta_text("0000000000000001-0000000000000002", &bad, &f, 1) == NULL && errno == EINVAL);
	note[PTL_INBOX_MAX_NOTE] = 0;
	char *t = ptl_parcel_meta_text("0000000000000001-0000000000000002", &bad, &f, 1);
	CHECK(t != NULL);
	free(t);
	CHECK(ptl_parcel_meta_text("0000000000000001_0000000000000002", &META, &f, 1) == NULL, "bad id");
	struct ptl_parcel_meta nouser = META;
	nouser.uploader = NULL;
	CHECK(ptl_parcel_meta_text("0000000000000001-0000000000000002", &nouser, &f, 1) == NULL);
	ptl_inbox_close(ib);

	CHECK(ptl_inbox_open("/nonexistent/inbox", &ib) == -ENOENT);
	static const char *ids[] = {"", "0123456789abcdef-0123456789abcdeF", "0123456789abcdef-0123456789abcde",
				    "0123456789abcdef00123456789abcdef", "../456789abcdef-0123456789abcdef"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		CHECK(!ptl_inbox_id_valid(ids[i]), "%s", ids[i]);
	CHECK(ptl_inbox_id_valid("0123456789abcdef-0123456789abcdef"));
}

/* a writer killed (SIGKILL) in the middle of its second file */
static void test_killed(const char *dir)
{
	empty_dir(dir);
	int pfd[2];
	REQUIRE(pipe(pfd) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct ptl_inbox *ib;
		struct ptl_parcel *p;
		if (ptl_inbox_open(dir, &ib) || ptl_parcel_new(ib, NULL, &p))
			_exit(1);
		char buf[8192] = {0};
		if (ptl_parcel_file_begin(p, "one") || ptl_parcel_file_write(p, buf, sizeof(buf)) ||
		    ptl_parcel_file_end(p) || ptl_parcel_file_begin(p, "two") ||
		    ptl_parcel_file_write(p, buf, sizeof(buf)))
			_exit(1);
		if (write(pfd[1], "k", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	char k;
	CHECK(read(pfd[0], &k, 1) == 1, "the writer got mid-file");
	close(pfd[0]);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	struct census c = census(dir);
	CHECK(c.part == 2 && c.data == 0 && c.json == 0 && c.other == 0, "%d %d %d %d", c.part, c.data, c.json,
	      c.other);
}

/* as root: an unprivileged writer (nobody) in a 3730 directory of root's
 * with nobody's group: it can add a parcel it cannot list */
static void test_unreadable(const char *dir)
{
	if (geteuid() != 0) {
		printf("not root: the 3730 case is skipped\n");
		return;
	}
	empty_dir(dir);
	uid_t nobody = 65534;
	gid_t nogroup = 65534;
	REQUIRE(chown(dir, 0, nogroup) == 0 && chmod(dir, 03730) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(nogroup) || setuid(nobody))
			_exit(2);
		/* really unable to list */
		if (opendir(dir) != NULL || errno != EACCES)
			_exit(3);
		struct ptl_inbox *ib;
		struct ptl_parcel *p;
		if (ptl_inbox_open(dir, &ib) || ptl_parcel_new(ib, NULL, &p))
			_exit(4);
		if (ptl_parcel_file_begin(p, "a.txt") || ptl_parcel_file_write(p, "abc", 3) || ptl_parcel_file_end(p))
			_exit(5);
		if (ptl_parcel_publish(p, &META))
			_exit(6);
		ptl_parcel_free(p);
		/* a refused one cleans up after itself in the same directory */
		if (ptl_parcel_new(ib, &(struct ptl_parcel_caps){.max_bytes = 2}, &p) ||
		    ptl_parcel_file_begin(p, "b.txt") || ptl_parcel_file_write(p, "abc", 3) != -EFBIG)
			_exit(7);
		ptl_parcel_free(p);
		ptl_inbox_close(ib);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged writer: status %d", WEXITSTATUS(st));
	struct census c = census(dir);
	CHECK(c.part == 0 && c.data == 1 && c.json == 1 && c.other == 0, "%d %d %d %d", c.part, c.data, c.json,
	      c.other);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/ptl-inbox-test.%d", (int)getpid());
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/inbox", root);
	test_publish(dir);
	test_refusals(dir);
	test_killed(dir);
	test_unreadable(dir);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		CHECK(0, "cleanup");
	return check_done();
}
