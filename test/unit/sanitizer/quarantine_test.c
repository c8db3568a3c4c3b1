/* san_quarantine: store, dedup, cap, retention, lookup, permissions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sanitizer/san_quarantine.h"
#include "tap.h"

int main(void)
{
	char dir[] = "/tmp/san-q-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char qd[64];
	snprintf(qd, sizeof(qd), "%s/q", dir);
	char why[256];
	struct san_quarantine *q;
	struct san_quarantine_opts o = { .dir = qd, .max_bytes = 100 };
	CHECK(san_quarantine_open(&o, &q, why, sizeof(why)) == 0, "open: %s", why);
	struct stat st;
	CHECK(stat(qd, &st) == 0 && (st.st_mode & 0777) == 0700, "0700");
	char sha[65], sha2[65];
	struct san_qmeta m = { .kind = "attachment", .name = "a.txt" };
	CHECK(san_quarantine_put(q, "hello", 5, &m, sha) == 0, "put");
	CHECK(strcmp(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824") == 0, "sha");
	CHECK(san_quarantine_put(q, "hello", 5, &m, sha2) == 0 && san_quarantine_used(q) == 5, "dedup");
	char big[200] = { 0 };
	CHECK(san_quarantine_put(q, big, sizeof(big), &m, sha2) == -ENOSPC, "cap");
	CHECK(san_quarantine_find(q, "2cf24dba", sha2) == 0 && strcmp(sha, sha2) == 0, "find prefix");
	CHECK(san_quarantine_find(q, "ffffffff", sha2) == -ENOENT, "find none");
	CHECK(san_quarantine_find(q, "2cf", sha2) == -EINVAL && san_quarantine_find(q, "../../etc", sha2) == -EINVAL, "bad id");
	char p[256];
	snprintf(p, sizeof(p), "%s/%s.json", qd, sha);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "json 0600");
	CHECK(san_quarantine_expire(q, (int64_t)time(NULL)) == 0, "no retention: nothing expires");
	san_quarantine_close(q);
	o.retain_seconds = 10;
	CHECK(san_quarantine_open(&o, &q, why, sizeof(why)) == 0, "reopen");
	CHECK(san_quarantine_expire(q, (int64_t)time(NULL) + 3600) == 1, "retention expires the item");
	CHECK(san_quarantine_find(q, "2cf24dba", sha2) == -ENOENT, "gone");
	san_quarantine_close(q);
	chmod(qd, 0755);
	CHECK(san_quarantine_open(&o, &q, why, sizeof(why)) == -EPERM, "group/other permissions refused");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	T_END();
}
