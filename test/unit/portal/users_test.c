/* ptl_users: yescrypt hashes judged by libcrypt's other users (a hash from
 * mkpasswd -m yescrypt checks here; a hash made here checks in Python's
 * ctypes call of crypt(3)), the account file's round trip, refusals and
 * caps, login (disabled, unknown, wrong), throttling and lockout (per user,
 * per peer, expiry, success forgets), and sessions (fresh ids, idle and
 * absolute expiry, end, end by user, table full). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitizer/portal/ptl_users.h"
#include "test/check.h"

static char dir[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	REQUIRE(f);
	fputs(text, f);
	fclose(f);
}

/* the first line a command prints, or "" */
static void run(const char *cmd, char *out, size_t outlen)
{
	out[0] = 0;
	FILE *f = popen(cmd, "r");
	if (!f)
		return;
	if (!fgets(out, (int)outlen, f))
		out[0] = 0;
	pclose(f);
	out[strcspn(out, "\n")] = 0;
}

static void test_hash_oracles(void)
{
	char h[PTL_HASH_MAX + 1];
	CHECK(ptl_password_hash("正しい馬 battery", h) == 0);
	CHECK(strncmp(h, "$y$", 3) == 0, "%s", h);
	CHECK(ptl_password_check("正しい馬 battery", h));
	CHECK(!ptl_password_check("正しい馬 batterx", h));
	CHECK(!ptl_password_check("", h));
	char h2[PTL_HASH_MAX + 1];
	CHECK(ptl_password_hash("正しい馬 battery", h2) == 0);
	CHECK(strcmp(h, h2) != 0, "a fresh salt every time");
	CHECK(ptl_password_hash("", h2) == -EINVAL);
	CHECK(ptl_password_hash("a\nb", h2) == -EINVAL);
	CHECK(!ptl_password_check("x", "$1$abc$def"), "only yescrypt hashes");
	CHECK(!ptl_password_check("x", "*0"));

	char out[512], cmd[1024];
	/* mkpasswd (whois) makes a hash; ours checks it */
	if (system("command -v mkpasswd >/dev/null 2>&1") == 0) {
		run("printf %s 'secret パスワード' | mkpasswd -m yescrypt -s", out, sizeof out);
		CHECK(strncmp(out, "$y$", 3) == 0, "mkpasswd: %s", out);
		CHECK(ptl_password_check("secret パスワード", out));
		CHECK(!ptl_password_check("secret", out));
	} else {
		fprintf(stderr, "mkpasswd missing (package whois): that oracle skipped\n");
	}
	/* our hash checks through crypt(3) called from Python */
	snprintf(cmd, sizeof cmd,
		 "python3 -c 'import ctypes,sys; c=ctypes.CDLL(\"libcrypt.so.1\"); c.crypt.restype=ctypes.c_char_p; "
		 "h=sys.argv[1].encode(); print(c.crypt(\"正しい馬 battery\".encode(), h)==h, "
		 "c.crypt(b\"wrong\", h)==h)' '%s'",
		 h);
	run(cmd, out, sizeof out);
	CHECK_STR(out, "True False");
}

static void test_file(void)
{
	char path[128], why[256];
	snprintf(path, sizeof path, "%s/accounts", dir);
	struct ptl_users u;
	CHECK(ptl_users_load(path, &u, why, sizeof why) == 0 && u.n == 0, "a missing file is empty");
	CHECK(ptl_users_add(&u, "sato", PTL_ROLE_APPROVER, "pw-sato") == 0);
	CHECK(ptl_users_add(&u, "suzuki.k", PTL_ROLE_OPERATOR, "pw-suzuki") == 0);
	CHECK(ptl_users_add(&u, "sato", PTL_ROLE_APPROVER, "x") == -EEXIST);
	CHECK(ptl_users_add(&u, "Sato", PTL_ROLE_APPROVER, "x") == -EINVAL);
	CHECK(ptl_users_add(&u, "a:b", PTL_ROLE_APPROVER, "x") == -EINVAL);
	CHECK(ptl_users_add(&u, "../x", PTL_ROLE_APPROVER, "x") == -EINVAL);
	CHECK(ptl_users_add(&u, "x", PTL_ROLE_NONE, "x") == -EINVAL);
	CHECK(ptl_users_save(path, &u) == 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	struct ptl_users v;
	CHECK(ptl_users_load(path, &v, why, sizeof why) == 0, "%s", why);
	CHECK_EQ_U(v.n, 2);
	enum ptl_role role = PTL_ROLE_NONE;
	CHECK(ptl_users_login(&v, "sato", "pw-sato", &role) == 0 && role == PTL_ROLE_APPROVER);
	CHECK(ptl_users_login(&v, "suzuki.k", "pw-suzuki", &role) == 0 && role == PTL_ROLE_OPERATOR);
	CHECK(ptl_users_login(&v, "sato", "pw-suzuki", &role) == -EACCES);
	CHECK(ptl_users_login(&v, "nobody", "pw-sato", &role) == -EACCES);
	CHECK(ptl_users_login(&v, "../../etc", "x", &role) == -EACCES);
	CHECK(ptl_users_passwd(&v, "sato", "new-pw") == 0);
	CHECK(ptl_users_login(&v, "sato", "pw-sato", &role) == -EACCES);
	CHECK(ptl_users_login(&v, "sato", "new-pw", &role) == 0);
	ptl_users_find(&v, "sato")->disabled = true;
	CHECK(ptl_users_login(&v, "sato", "new-pw", &role) == -EACCES);
	CHECK(ptl_users_save(path, &v) == 0);
	CHECK(ptl_users_del(&v, "suzuki.k") == 0 && v.n == 1);
	CHECK(ptl_users_del(&v, "suzuki.k") == -ENOENT);
	CHECK(ptl_users_passwd(&v, "suzuki.k", "x") == -ENOENT);
	ptl_users_free(&v);
	CHECK(ptl_users_load(path, &v, why, sizeof why) == 0 && v.n == 2);
	CHECK(ptl_users_find(&v, "sato") && ptl_users_find(&v, "sato")->disabled, "flags round trip");
	ptl_users_free(&v);
	ptl_users_free(&u);

	static const char *bad[] = {
		"sato:approver:$y$j9T$abc$def\n",                             /* three fields */
		"sato:boss:$y$j9T$abc$def:-\n",                               /* unknown role */
		"sato:approver:$1$abc$def:-\n",                               /* not yescrypt */
		"sato:approver:$y$j9T$abc$def:-:extra\n",                     /* five fields */
		"sato:approver:$y$j9T$a bc$def:-\n",                          /* a space in the hash */
		"sato:approver:$y$j9T$abc$def:admin\n",                       /* unknown flag */
		"Sato:approver:$y$j9T$abc$def:-\n",                           /* bad name */
		"a:approver:$y$j9T$abc$def:-\na:operator:$y$j9T$abc$def:-\n", /* twice */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(path, bad[i]);
		CHECK(ptl_users_load(path, &v, why, sizeof why) == -EINVAL, "line %zu", i);
		CHECK(v.n == 0 && (strstr(why, ":1:") != NULL || strstr(why, ":2:") != NULL), "%s", why);
	}
	write_file(path, "# comment\n\nok:staff:$y$j9T$abc$def:-\n");
	CHECK(ptl_users_load(path, &v, why, sizeof why) == 0 && v.n == 1);
	ptl_users_free(&v);
	/* caps: too many accounts, too large a file */
	FILE *f = fopen(path, "w");
	REQUIRE(f);
	for (int i = 0; i <= PTL_USERS_MAX; i++)
		fprintf(f, "u%d:staff:$y$j9T$abc$def:-\n", i);
	fclose(f);
	CHECK(ptl_users_load(path, &v, why, sizeof why) == -EFBIG);
	CHECK(truncate(path, (off_t)PTL_USERS_FILE_MAX + 1) == 0);
	CHECK(ptl_users_load(path, &v, why, sizeof why) == -EFBIG);
}

static void test_throttle(void)
{
	static struct ptl_throttle t;
	struct ptl_throttle_opts o = {.max_user = 3, .max_peer = 5, .window_s = 60, .lockout_s = 100};
	ptl_throttle_init(&t, &o);
	int64_t now = 1000, wait = 0;
	CHECK(ptl_throttle_check(&t, "sato", "198.18.0.1", now, &wait) == 0 && wait == 0);
	CHECK(!ptl_throttle_fail(&t, "sato", "198.18.0.1", now));
	CHECK(!ptl_throttle_fail(&t, "sato", "198.18.0.1", now + 1));
	CHECK(ptl_throttle_check(&t, "sato", "198.18.0.1", now + 1, NULL) == 0);
	CHECK(ptl_throttle_fail(&t, "sato", "198.18.0.1", now + 2), "the third failure locks");
	CHECK(ptl_throttle_check(&t, "sato", "198.18.0.9", now + 3, &wait) == -EAGAIN, "locked from any peer");
	CHECK(wait == 99, "wait %lld", (long long)wait);
	CHECK(ptl_throttle_check(&t, "suzuki", "198.18.0.1", now + 3, NULL) == 0, "other users go on");
	CHECK(ptl_throttle_check(&t, "sato", "198.18.0.1", now + 102, NULL) == 0, "lockout ends");
	/* per peer: many names from one address */
	for (int i = 0; i < 5; i++)
		ptl_throttle_fail(&t, i % 2 ? "a" : "b", "2001:db8::1", now + 200);
	CHECK(ptl_throttle_check(&t, "fresh", "2001:db8::1", now + 201, NULL) == -EAGAIN, "peer locked");
	CHECK(ptl_throttle_check(&t, "fresh", "2001:db8::2", now + 201, NULL) == 0);
	/* failures outside the window are forgotten */
	ptl_throttle_fail(&t, "slow", "198.18.0.2", now);
	ptl_throttle_fail(&t, "slow", "198.18.0.2", now + 61);
	ptl_throttle_fail(&t, "slow", "198.18.0.2", now + 122);
	CHECK(ptl_throttle_check(&t, "slow", "198.18.0.2", now + 123, NULL) == 0);
	/* success forgets the user's failures */
	ptl_throttle_fail(&t, "ok", "198.18.0.3", now);
	ptl_throttle_fail(&t, "ok", "198.18.0.3", now);
	ptl_throttle_ok(&t, "ok", now);
	ptl_throttle_fail(&t, "ok", "198.18.0.3", now);
	CHECK(ptl_throttle_check(&t, "ok", "198.18.0.3", now, NULL) == 0);
	/* a full table reuses slots without losing the live lockout of the newest */
	for (int i = 0; i < PTL_THROTTLE_SLOTS + 10; i++) {
		char name[32];
		snprintf(name, sizeof name, "spray%d", i);
		ptl_throttle_fail(&t, name, "198.18.0.4", now + 300);
	}
	CHECK(ptl_throttle_check(&t, "any", "198.18.0.4", now + 300, NULL) == -EAGAIN);
}

static void test_sessions(void)
{
	static struct ptl_sessions ss;
	ptl_sessions_init(&ss, 60, 600);
	struct ptl_session a, b, g;
	CHECK(ptl_session_new(&ss, "sato", PTL_ROLE_APPROVER, 1000, &a) == 0);
	CHECK(strlen(a.id) == PTL_SID_LEN);
	CHECK(ptl_session_new(&ss, "sato", PTL_ROLE_APPROVER, 1000, &b) == 0);
	CHECK(strcmp(a.id, b.id) != 0, "every login a fresh id");
	CHECK(ptl_session_get(&ss, a.id, 1030, &g) == 0 && strcmp(g.user, "sato") == 0 && g.role == PTL_ROLE_APPROVER);
	CHECK(ptl_session_get(&ss, a.id, 1089, &g) == 0, "use renews the idle time");
	CHECK(ptl_session_get(&ss, b.id, 1089, &g) == -ENOENT, "idle expiry");
	CHECK(ptl_session_get(&ss, b.id, 1000, &g) == -ENOENT, "an expired session is gone");
	for (int64_t t = 1100; t <= 1600; t += 50)
		CHECK(ptl_session_get(&ss, a.id, t, &g) == 0);
	CHECK(ptl_session_get(&ss, a.id, 1601, &g) == -ENOENT, "absolute expiry");
	CHECK(ptl_session_get(&ss, "short", 1000, &g) == -ENOENT);
	CHECK(ptl_session_get(&ss, NULL, 1000, &g) == -ENOENT);
	char forged[PTL_SID_LEN + 1];
	memset(forged, 'A', PTL_SID_LEN);
	forged[PTL_SID_LEN] = 0;
	CHECK(ptl_session_get(&ss, forged, 1000, &g) == -ENOENT);
	CHECK(ptl_session_new(&ss, "x", PTL_ROLE_OPERATOR, 2000, &a) == 0);
	ptl_session_end(&ss, a.id);
	CHECK(ptl_session_get(&ss, a.id, 2000, &g) == -ENOENT, "logout");
	CHECK(ptl_session_new(&ss, "y", PTL_ROLE_OPERATOR, 2000, &a) == 0);
	CHECK(ptl_session_new(&ss, "y", PTL_ROLE_OPERATOR, 2000, &b) == 0);
	ptl_session_end_user(&ss, "y");
	CHECK(ptl_session_get(&ss, a.id, 2000, &g) == -ENOENT && ptl_session_get(&ss, b.id, 2000, &g) == -ENOENT);
	/* full: the oldest session makes room */
	struct ptl_session first;
	CHECK(ptl_session_new(&ss, "old", PTL_ROLE_STAFF, 3000, &first) == 0);
	for (int i = 0; i < PTL_SESSIONS_MAX; i++)
		CHECK(ptl_session_new(&ss, "new", PTL_ROLE_STAFF, 3001, &a) == 0);
	CHECK(ptl_session_get(&ss, first.id, 3001, &g) == -ENOENT);
	CHECK(ptl_session_get(&ss, a.id, 3001, &g) == 0);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/portal-users-XXXXXX");
	REQUIRE(mkdtemp(dir));
	test_hash_oracles();
	test_file();
	test_throttle();
	test_sessions();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done();
}
