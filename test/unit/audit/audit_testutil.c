/* Helpers shared by the audit unit tests (see audit_testutil.h). */
#include "audit_testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/audit/audit_record.h"
#include "test/check.h"


char *tu_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	char *p;
	REQUIRE(asprintf(&p, "%s/sekisho-audit-%s-XXXXXX", base, tag) > 0);
	REQUIRE(mkdtemp(p));
	return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_path(const char *dir, const char *name)
{
	char *p;
	REQUIRE(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

void tu_key(const char *dir, const char *name, struct audit_key *ret_key)
{
	char *p = tu_path(dir, name);
	char why[256] = "";
	int r = audit_key_create(p, 0, why, sizeof why);
	if (r < 0)
		fprintf(stderr, "key create: %s\n", why);
	REQUIRE(r == 0);
	r = audit_key_load(p, ret_key, why, sizeof why);
	if (r < 0)
		fprintf(stderr, "key load: %s\n", why);
	REQUIRE(r == 0);
	free(p);
}

int64_t tu_clock_now(void *arg)
{
	struct tu_clock *c = arg;
	int64_t step = atomic_load(&c->step);
	return step ? atomic_fetch_add(&c->ns, step) : atomic_load(&c->ns);
}

int64_t tu_local_ns(int year, int mon, int day, int hour, int min, int sec)
{
	struct tm tm = {.tm_year = year - 1900,
			.tm_mon = mon - 1,
			.tm_mday = day,
			.tm_hour = hour,
			.tm_min = min,
			.tm_sec = sec,
			.tm_isdst = -1};
	return (int64_t)mktime(&tm) * 1000000000;
}

struct audit_opts tu_opts(const char *dir, const struct audit_key *key)
{
	struct audit_opts o = {0};
	o.dir = dir;
	o.component = "gateway";
	o.host = "gw-test";
	o.key = key;
	o.fsync = AUDIT_FSYNC_NONE;
	o.flags = AUDIT_OPT_NO_CLOCK_STATUS;
	o.queue_slots = 1024;
	return o;
}

struct audit_log *tu_open(const struct audit_opts *o)
{
	struct audit_log *log = NULL;
	char why[256] = "";
	int r = audit_open(o, &log, why, sizeof why);
	if (r < 0)
		fprintf(stderr, "audit_open %s: %s (%s)\n", o->dir, why, strerror(-r));
	REQUIRE(r == 0);
	return log;
}

int tu_emit_flow(struct audit_log *log, uint64_t i)
{
	u128 src = 0xc0a80a00u + (i & 0xff), dst = 0x0a000001u;
	static const uint8_t hash[32] = {0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
					 13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};
	return audit_emit(log, "flow.decision",
			  (struct audit_field[]){
				  AUDIT_STR("from_zone", "lgwan"),
				  AUDIT_STR("to_zone", "internet"),
				  AUDIT_STR("in_if", "eth1"),
				  AUDIT_STR("out_if", "eth2"),
				  AUDIT_STR("proto", "tcp"),
				  AUDIT_IP("src", 4, src),
				  AUDIT_UINT("sport", 40000 + (i % 20000)),
				  AUDIT_IP("dst", 4, dst),
				  AUDIT_UINT("dport", 443),
				  AUDIT_STR("action", (i % 7) ? "allow" : "deny"),
				  AUDIT_UINT("rule_id", 12),
				  AUDIT_STR("rule_at", "/etc/sekisho/policy.d/10-lgwan.policy:42"),
				  AUDIT_HEX("policy_sha256", hash, 32),
				  AUDIT_UINT("n", i),
			  },
			  14);
}

struct audit_verify_result *tu_verify_dir(const char *dir, const struct audit_key *key)
{
	struct audit_verify_opts vo = {.key = key, .dir = dir};
	struct audit_verify_result *r = NULL;
	int e = audit_verify_run(&vo, &r);
	if (e < 0)
		fprintf(stderr, "verify %s: %s\n", dir, strerror(-e));
	REQUIRE(e == 0 && r);
	return r;
}

void tu_dump(const struct audit_verify_result *r)
{
	fprintf(stderr, "  ok=%d files=%zu lines=%llu records=%llu breaks=%zu retained=%llu\n", r->ok, r->nfiles,
		(unsigned long long)r->lines, (unsigned long long)r->records, r->nbreaks,
		(unsigned long long)r->retained_files);
	for (size_t i = 0; i < r->nfiles; i++)
		fprintf(stderr, "  file %s: %llu lines, %llu records, seq %llu..%llu%s\n", r->files[i].name,
			(unsigned long long)r->files[i].lines, (unsigned long long)r->files[i].records,
			(unsigned long long)r->files[i].first_seq, (unsigned long long)r->files[i].last_seq,
			r->files[i].torn ? " torn" : "");
	for (size_t i = 0; i < r->nbreaks; i++) {
		const struct audit_break *b = &r->breaks[i];
		fprintf(stderr, "  break %s%s file=%zu line=%llu off=%llu seq=%llu count=%llu: %s\n",
			audit_verify_break_kind_name(b->kind), b->explained ? " (explained)" : "", b->file,
			(unsigned long long)b->line, (unsigned long long)b->offset, (unsigned long long)b->seq,
			(unsigned long long)b->count, b->detail);
	}
}

size_t tu_breaks(const struct audit_verify_result *r, enum audit_break_kind kind, bool unexplained_only)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nbreaks; i++)
		if (r->breaks[i].kind == kind && (!unexplained_only || !r->breaks[i].explained))
			n++;
	return n;
}

char **tu_files(const char *dir, size_t *ret_n)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	REQUIRE(fd >= 0);
	char **names;
	REQUIRE(audit_record_list(fd, &names, ret_n) == 0);
	close(fd);
	return names;
}

void tu_free_names(char **names, size_t n)
{
	audit_record_list_free(names, n);
}

char *tu_read(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	REQUIRE(f);
	REQUIRE(fseek(f, 0, SEEK_END) == 0);
	long n = ftell(f);
	REQUIRE(n >= 0);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	REQUIRE(buf);
	REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

void tu_write(const char *path, const char *buf, size_t len)
{
	/* Keep the file's identity and mode: truncate in place. */
	int fd = open(path, O_WRONLY | O_TRUNC);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

size_t *tu_lines(const char *buf, size_t len, size_t *ret_n)
{
	size_t n = 0, cap = 64;
	size_t *v = malloc(cap * sizeof *v);
	REQUIRE(v);
	for (size_t i = 0; i < len;) {
		if (n == cap)
			REQUIRE((v = realloc(v, (cap *= 2) * sizeof *v)));
		v[n++] = i;
		const char *nl = memchr(buf + i, '\n', len - i);
		i = nl ? (size_t)(nl - buf) + 1 : len;
	}
	*ret_n = n;
	return v;
}

size_t tu_count_event(const char *dir, const char *event)
{
	size_t n, count = 0;
	char **names = tu_files(dir, &n);
	for (size_t i = 0; i < n; i++) {
		char *p = tu_path(dir, names[i]);
		size_t len, nl;
		char *buf = tu_read(p, &len);
		size_t *ls = tu_lines(buf, len, &nl);
		for (size_t k = 0; k < nl; k++) {
			size_t end = k + 1 < nl ? ls[k + 1] : len;
			struct json_object *o = audit_record_parse(buf + ls[k], end - ls[k] - (buf[end - 1] == '\n'));
			const char *ev = audit_record_get_str(o, "event");
			if (ev && strcmp(ev, event) == 0)
				count++;
			json_object_put(o);
		}
		free(ls);
		free(buf);
		free(p);
	}
	tu_free_names(names, n);
	return count;
}

void tu_copy_dir(const char *src, const char *dst)
{
	REQUIRE(mkdir(dst, 0700) == 0);
	size_t n;
	char **names = tu_files(src, &n);
	for (size_t i = 0; i < n; i++) {
		char *a = tu_path(src, names[i]), *b = tu_path(dst, names[i]);
		size_t len;
		char *buf = tu_read(a, &len);
		int fd = open(b, O_WRONLY | O_CREAT | O_EXCL, 0600);
		REQUIRE(fd >= 0);
		REQUIRE(write(fd, buf, len) == (ssize_t)len);
		close(fd);
		free(buf);
		free(a);
		free(b);
	}
	tu_free_names(names, n);
}

static void tu_file_index(struct tu_file *f)
{
	free(f->ls);
	f->ls = tu_lines(f->buf, f->len, &f->n);
}

void tu_file_load(struct tu_file *f, const char *path)
{
	memset(f, 0, sizeof *f);
	f->path = strdup(path);
	f->buf = tu_read(path, &f->len);
	tu_file_index(f);
}

void tu_file_save(struct tu_file *f)
{
	tu_write(f->path, f->buf, f->len);
}

void tu_file_free(struct tu_file *f)
{
	free(f->path);
	free(f->buf);
	free(f->ls);
	memset(f, 0, sizeof *f);
}

static size_t tu_line_end(const struct tu_file *f, size_t k)
{
	return k + 1 < f->n ? f->ls[k + 1] : f->len;
}

char *tu_file_line(const struct tu_file *f, size_t k)
{
	REQUIRE(k < f->n);
	size_t s = f->ls[k], e = tu_line_end(f, k);
	if (e > s && f->buf[e - 1] == '\n')
		e--;
	return strndup(f->buf + s, e - s);
}

static void tu_splice(struct tu_file *f, size_t at, size_t del, const char *ins, size_t inslen)
{
	char *nb = malloc(f->len - del + inslen + 1);
	REQUIRE(nb);
	memcpy(nb, f->buf, at);
	memcpy(nb + at, ins, inslen);
	memcpy(nb + at + inslen, f->buf + at + del, f->len - at - del);
	f->len = f->len - del + inslen;
	nb[f->len] = '\0';
	free(f->buf);
	f->buf = nb;
	tu_file_index(f);
}

void tu_file_delete(struct tu_file *f, size_t k)
{
	REQUIRE(k < f->n);
	tu_splice(f, f->ls[k], tu_line_end(f, k) - f->ls[k], "", 0);
}

void tu_file_insert(struct tu_file *f, size_t k, const char *line)
{
	size_t at = k < f->n ? f->ls[k] : f->len;
	size_t n = strlen(line);
	char *l = malloc(n + 2);
	REQUIRE(l);
	memcpy(l, line, n);
	l[n] = '\n';
	tu_splice(f, at, 0, l, n + 1);
	free(l);
}

void tu_file_swap(struct tu_file *f, size_t a, size_t b)
{
	REQUIRE(a < b && b < f->n);
	char *la = tu_file_line(f, a), *lb = tu_file_line(f, b);
	tu_file_delete(f, b);
	tu_file_insert(f, b, la);
	tu_file_delete(f, a);
	tu_file_insert(f, a, lb);
	free(la);
	free(lb);
}

void tu_file_truncate(struct tu_file *f, size_t len)
{
	REQUIRE(len <= f->len);
	f->len = len;
	f->buf[len] = '\0';
	tu_file_index(f);
}
