/* san_quarantine: store, dedup, cap, retention, lookup, permissions. */
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sanitizer/san_quarantine.h"
#include "test/check.h"

/* Threads putting at once (the milter's workers): distinct items, items
 * every thread stores (same names), through put and put_fd. */
#define NT 8
#define NI 24
struct tq {
	struct san_quarantine *q;
	int id, fails, nospc, stored;
	const char *dir;
};

static void *put_many(void *arg)
{
	struct tq *t = arg;
	char buf[64], sha[65], path[128];
	struct san_qmeta m = {.kind = "attachment"};
	for (int k = 0; k < NI; k++) {
		int n = k % 2 ? snprintf(buf, sizeof(buf), "thread %d item %d", t->id, k)
			      : snprintf(buf, sizeof(buf), "shared item %d", k);
		int r;
		if (k % 3 == 0) {
			snprintf(path, sizeof(path), "%s/src-%d", t->dir, t->id);
			int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || write(fd, buf, (size_t)n) != n) {
				t->fails++;
				if (fd >= 0)
					close(fd);
				continue;
			}
			r = san_quarantine_put_fd(t->q, fd, 0, (uint64_t)n, &m, sha);
			close(fd);
		} else {
			r = san_quarantine_put(t->q, buf, (size_t)n, &m, sha);
		}
		if (r == -ENOSPC)
			t->nospc++;
		else if (r != 0)
			t->fails++;
		else
			t->stored++;
	}
	return NULL;
}

static uint64_t run_threads(struct san_quarantine *q, const char *dir, struct tq *t)
{
	pthread_t th[NT];
	for (int i = 0; i < NT; i++) {
		t[i] = (struct tq){.q = q, .id = i, .dir = dir};
		pthread_create(&th[i], NULL, put_many, &t[i]);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	return san_quarantine_used(q);
}

int main(void)
{
	char dir[] = "/tmp/san-q-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char qd[64];
	snprintf(qd, sizeof(qd), "%s/q", dir);
	char why[256];
	struct san_quarantine *q;
	struct san_quarantine_opts o = {.dir = qd, .max_bytes = 100};
	CHECK(san_quarantine_open(&o, &q, why, sizeof(why)) == 0, "open: %s", why);
	struct stat st;
	CHECK(stat(qd, &st) == 0 && (st.st_mode & 0777) == 0700, "0700");
	char sha[65], sha2[65];
	struct san_qmeta m = {.kind = "attachment", .name = "a.txt"};
	CHECK(san_quarantine_put(q, "hello", 5, &m, sha) == 0, "put");
	CHECK(strcmp(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824") == 0, "sha");
	CHECK(san_quarantine_put(q, "hello", 5, &m, sha2) == 0 && san_quarantine_used(q) == 5, "dedup");
	char big[200] = {0};
	CHECK(san_quarantine_put(q, big, sizeof(big), &m, sha2) == -ENOSPC, "cap");
	CHECK(san_quarantine_find(q, "2cf24dba", sha2) == 0 && strcmp(sha, sha2) == 0, "find prefix");
	CHECK(san_quarantine_find(q, "ffffffff", sha2) == -ENOENT, "find none");
	CHECK(san_quarantine_find(q, "2cf", sha2) == -EINVAL && san_quarantine_find(q, "../../etc", sha2) == -EINVAL,
	      "bad id");
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
	/* shared with the CDR worker's group: group r-x allowed, never other
	 * or group write; items 0640 whatever the umask */
	o.group_read = true;
	CHECK(san_quarantine_open(&o, &q, why, sizeof(why)) == -EPERM, "group_read: other permissions refused");
	chmod(qd, 0770);
	CHECK(san_quarantine_open(&o, &q, why, sizeof(why)) == -EPERM, "group_read: group write refused");
	chmod(qd, 0750);
	mode_t um = umask(077);
	CHECK(san_quarantine_open(&o, &q, why, sizeof(why)) == 0, "group_read: 0750 accepted: %s", why);
	CHECK(san_quarantine_put(q, "shared", 6, &m, sha2) == 0, "group_read put");
	snprintf(p, sizeof(p), "%s/%s.data", qd, sha2);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "group_read: data 0640");
	snprintf(p, sizeof(p), "%s/%s.json", qd, sha2);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "group_read: json 0640");
	int sfd = open(p, O_RDONLY);
	CHECK(san_quarantine_put_fd(q, sfd, 0, 4, &m, sha2) == 0, "group_read put_fd");
	close(sfd);
	snprintf(p, sizeof(p), "%s/%s.data", qd, sha2);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "group_read: put_fd data 0640");
	umask(um);
	san_quarantine_close(q);
	o.group_read = false;

	/* Concurrent puts: every item complete, used what a rescan finds. */
	char qd2[80], qd3[80];
	snprintf(qd2, sizeof(qd2), "%s/q2", dir);
	struct san_quarantine_opts o2 = {.dir = qd2};
	CHECK(san_quarantine_open(&o2, &q, why, sizeof(why)) == 0, "open q2");
	struct tq t[NT];
	uint64_t used = run_threads(q, dir, t);
	int fails = 0, stored = 0;
	for (int i = 0; i < NT; i++) {
		fails += t[i].fails + t[i].nospc;
		stored += t[i].stored;
	}
	CHECK(fails == 0 && stored == NT * NI, "concurrent puts all stored (%d failed)", fails);
	san_quarantine_close(q);
	CHECK(san_quarantine_open(&o2, &q, why, sizeof(why)) == 0, "reopen q2");
	CHECK(san_quarantine_used(q) == used, "used after concurrent puts = rescan (%llu vs %llu)",
	      (unsigned long long)used, (unsigned long long)san_quarantine_used(q));
	char shared[65];
	CHECK(san_quarantine_put(q, "shared item 0", 13, &m, shared) == 0 && san_quarantine_used(q) == used,
	      "shared item stored once");
	snprintf(p, sizeof(p), "%s/%s.json", qd2, shared);
	CHECK(stat(p, &st) == 0, "shared item has its metadata");
	san_quarantine_close(q);
	/* The cap holds under concurrency: never more than max_bytes. */
	snprintf(qd3, sizeof(qd3), "%s/q3", dir);
	struct san_quarantine_opts o3 = {.dir = qd3, .max_bytes = 200};
	CHECK(san_quarantine_open(&o3, &q, why, sizeof(why)) == 0, "open q3");
	used = run_threads(q, dir, t);
	int nospc = 0;
	fails = 0;
	for (int i = 0; i < NT; i++) {
		fails += t[i].fails;
		nospc += t[i].nospc;
	}
	CHECK(fails == 0 && nospc > 0 && used <= 200, "cap under concurrency: used %llu, %d refused",
	      (unsigned long long)used, nospc);
	san_quarantine_close(q);
	CHECK(san_quarantine_open(&o3, &q, why, sizeof(why)) == 0 && san_quarantine_used(q) == used,
	      "q3 rescan = used");
	san_quarantine_close(q);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	return check_done();
}
