/* Tampering: every kind of change to a written chain is detected and
 * classified, at the right position, and nothing else is reported.
 * Cases (each on a fresh copy of one base log of several rotated files):
 * edit a byte (content, mac), edit two lines, delete one and three lines,
 * delete a file's last line, insert a forged line and a copy, swap two
 * lines, move a line, truncate mid-line, remove a middle file, remove the
 * first file, change the key, verify an explicit slice with and without
 * PARTIAL_HEAD and an anchor; and the iterator's per-record statuses. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_testutil.h"
#include "test/check.h"

static char *base, *work;
static struct audit_key key;
static int ncase;

struct expect {
	enum audit_break_kind kind;
	size_t file;    /* index of the file, SIZE_MAX = any */
	uint64_t line;  /* 0 = any */
	uint64_t seq;   /* 0 = any */
	uint64_t count; /* 0 = any */
};

/* The result must hold exactly these breaks, in order. */
static void expect_breaks(const char *what, const struct audit_verify_result *r, const struct expect *e, size_t n)
{
	bool bad = r->nbreaks != n || r->ok != (n == 0);
	for (size_t i = 0; !bad && i < n; i++) {
		const struct audit_break *b = &r->breaks[i];
		bad = b->kind != e[i].kind || (e[i].file != SIZE_MAX && b->file != e[i].file) ||
			(e[i].line && b->line != e[i].line) || (e[i].seq && b->seq != e[i].seq) ||
			(e[i].count && b->count != e[i].count);
	}
	if (bad) {
		fprintf(stderr, "%s: unexpected verification result; wanted", what);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s(file %zu line %llu seq %llu count %llu)",
				audit_verify_break_kind_name(e[i].kind), e[i].file, (unsigned long long)e[i].line,
				(unsigned long long)e[i].seq, (unsigned long long)e[i].count);
		fprintf(stderr, "\n");
		tu_dump(r);
		check_failures++;
	}
}

/* A fresh copy of the base log; returns its path (caller frees). */
static char *copy_base(void)
{
	char name[32];
	snprintf(name, sizeof name, "case-%02d", ++ncase);
	char *d = tu_path(work, name);
	tu_copy_dir(base, d);
	return d;
}

static char *nth_file(const char *dir, size_t i)
{
	size_t n;
	char **names = tu_files(dir, &n);
	REQUIRE(i < n);
	char *p = tu_path(dir, names[i]);
	tu_free_names(names, n);
	return p;
}

/* seq of line k (0-based) of file i, read from the line itself. */
static uint64_t seq_at(const char *dir, size_t i, size_t k)
{
	struct tu_file f;
	char *p = nth_file(dir, i);
	tu_file_load(&f, p);
	char *line = tu_file_line(&f, k);
	const char *s = strstr(line, "\"seq\":");
	REQUIRE(s);
	uint64_t seq = strtoull(s + 6, NULL, 10);
	free(line);
	tu_file_free(&f);
	free(p);
	return seq;
}

static struct audit_verify_result *verify(const char *dir)
{
	return tu_verify_dir(dir, &key);
}

/* Apply fn to file i of a fresh copy, verify, compare. */
typedef void edit_fn(struct tu_file *f);
static void run_case(const char *what, size_t file, edit_fn *fn, const struct expect *e, size_t n)
{
	char *d = copy_base();
	char *p = nth_file(d, file);
	struct tu_file f;
	tu_file_load(&f, p);
	fn(&f);
	tu_file_save(&f);
	tu_file_free(&f);
	struct audit_verify_result *r = verify(d);
	expect_breaks(what, r, e, n);
	audit_verify_result_free(r);
	free(p);
	free(d);
}

static void edit_content(struct tu_file *f)
{
	/* Change one byte inside the data of line 10: "allow" -> "bllow" or a digit. */
	char *line = f->buf + f->ls[10];
	char *d = strstr(line, "\"data\":{");
	REQUIRE(d);
	d[12] ^= 0x01;
}

static void edit_mac(struct tu_file *f)
{
	char *end = f->buf + f->ls[11] - 5; /* inside the mac hex of line 10 */
	*end = *end == '0' ? '1' : '0';
}

static void edit_two(struct tu_file *f)
{
	edit_content(f);
	char *line = f->buf + f->ls[11];
	char *d = strstr(line, "\"dport\":");
	REQUIRE(d);
	d[8] = d[8] == '4' ? '8' : '4';
}

static void delete_one(struct tu_file *f)
{
	tu_file_delete(f, 10);
}

static void delete_three(struct tu_file *f)
{
	tu_file_delete(f, 10);
	tu_file_delete(f, 10);
	tu_file_delete(f, 10);
}

static void delete_last(struct tu_file *f)
{
	tu_file_delete(f, f->n - 1);
}

static void insert_forged(struct tu_file *f)
{
	char *line = tu_file_line(f, 10);
	char *d = strstr(line, "\"action\":\"");
	REQUIRE(d);
	memcpy(d + 10, "allow", 5); /* a plausible record an attacker wants in */
	tu_file_insert(f, 11, line);
	free(line);
}

static void insert_copy(struct tu_file *f)
{
	char *line = tu_file_line(f, 5);
	tu_file_insert(f, 12, line);
	free(line);
}

static void swap_two(struct tu_file *f)
{
	tu_file_swap(f, 10, 11);
}

static void move_forward(struct tu_file *f)
{
	char *line = tu_file_line(f, 5);
	tu_file_delete(f, 5);
	tu_file_insert(f, 15, line);
	free(line);
}

static void move_back(struct tu_file *f)
{
	char *line = tu_file_line(f, 15);
	tu_file_delete(f, 15);
	tu_file_insert(f, 5, line);
	free(line);
}

static void truncate_mid(struct tu_file *f)
{
	tu_file_truncate(f, f->ls[f->n - 1] + 40);
}

/* The iterator's statuses for an edited and a deleted line. */
static void test_iterator_status(void)
{
	char *d = copy_base();
	char *p = nth_file(d, 2);
	struct tu_file f;
	tu_file_load(&f, p);
	edit_content(&f);       /* line 11 (1-based) edited */
	tu_file_delete(&f, 15); /* 1-based line 16 deleted: line 16 is after a gap */
	tu_file_save(&f);
	tu_file_free(&f);
	struct audit_verify_opts vo = {.key = &key, .dir = d};
	struct audit_verify_iter *it;
	REQUIRE(audit_verify_open(&vo, &it) == 0);
	struct audit_verify_record rec;
	size_t edited = 0, gaps = 0, ok = 0;
	while (audit_verify_next(it, &rec) > 0) {
		if (rec.status == AUDIT_REC_EDITED) {
			edited++;
			CHECK(rec.file == 2 && rec.line_no == 11 && !rec.mac_ok);
		} else if (rec.status == AUDIT_REC_AFTER_GAP) {
			gaps++;
			CHECK(rec.file == 2 && rec.line_no == 16 && rec.mac_ok);
		} else {
			CHECK(rec.status == AUDIT_REC_OK);
			ok++;
		}
	}
	CHECK_EQ_U(edited, 1);
	CHECK_EQ_U(gaps, 1);
	const struct audit_verify_result *r = audit_verify_result(it);
	CHECK(!r->ok);
	CHECK_EQ_U(r->nbreaks, 2);
	CHECK_EQ_U(ok + 2, r->lines);
	audit_verify_free(it);
	free(p);
	free(d);
}

static void test_files(size_t nfiles)
{
	/* Remove a whole middle file. */
	{
		char *d = copy_base();
		char *p = nth_file(d, 3);
		uint64_t s0 = seq_at(d, 3, 0), s1 = seq_at(d, 4, 0);
		REQUIRE(unlink(p) == 0);
		struct audit_verify_result *r = verify(d);
		struct expect e[] = {{AUDIT_BREAK_FILE_MISSING, 3, 1, s0, s1 - s0}};
		expect_breaks("remove middle file", r, e, 1);
		CHECK(strstr(r->breaks[0].detail, "is missing") != NULL);
		audit_verify_result_free(r);
		free(p);
		free(d);
	}
	/* Remove the first file: the head of the chain is missing. */
	{
		char *d = copy_base();
		char *p = nth_file(d, 0);
		REQUIRE(unlink(p) == 0);
		struct audit_verify_result *r = verify(d);
		struct expect e[] = {{AUDIT_BREAK_FILE_MISSING, 0, 1, 1, 0}};
		expect_breaks("remove first file", r, e, 1);
		audit_verify_result_free(r);
		free(p);
		free(d);
	}
	/* Remove the last file: undetectable from the files alone (the
	 * forwarding copy catches it); the rest verifies. */
	{
		char *d = copy_base();
		char *p = nth_file(d, nfiles - 1);
		REQUIRE(unlink(p) == 0);
		struct audit_verify_result *r = verify(d);
		expect_breaks("remove last file", r, NULL, 0);
		audit_verify_result_free(r);
		free(p);
		free(d);
	}
	/* An explicit slice: files 2..4 only. */
	{
		char *paths[3];
		for (size_t i = 0; i < 3; i++)
			paths[i] = nth_file(base, 2 + i);
		struct audit_verify_opts vo = {.key = &key, .files = (const char *const *)paths, .nfiles = 3};
		struct audit_verify_result *r;
		REQUIRE(audit_verify_run(&vo, &r) == 0);
		struct expect e[] = {{AUDIT_BREAK_FILE_MISSING, 0, 1, 1, 0}};
		expect_breaks("slice without PARTIAL_HEAD", r, e, 1);
		audit_verify_result_free(r);
		vo.flags = AUDIT_VERIFY_PARTIAL_HEAD;
		REQUIRE(audit_verify_run(&vo, &r) == 0);
		expect_breaks("slice with PARTIAL_HEAD", r, NULL, 0);
		CHECK_EQ_U(r->nfiles, 3);
		audit_verify_result_free(r);
		/* Anchored on the verified first two files. */
		char *first[2] = {nth_file(base, 0), nth_file(base, 1)};
		struct audit_verify_opts vo1 = {.key = &key, .files = (const char *const *)first, .nfiles = 2};
		struct audit_verify_result *r1;
		REQUIRE(audit_verify_run(&vo1, &r1) == 0);
		CHECK(r1->ok);
		vo.flags = 0;
		vo.anchor_seq = r1->last_seq;
		vo.anchor_mac = r1->last_mac;
		REQUIRE(audit_verify_run(&vo, &r) == 0);
		expect_breaks("slice with anchor", r, NULL, 0);
		audit_verify_result_free(r);
		/* A wrong anchor is a break. */
		vo.anchor_seq = r1->last_seq - 1;
		REQUIRE(audit_verify_run(&vo, &r) == 0);
		CHECK(!r->ok);
		audit_verify_result_free(r);
		audit_verify_result_free(r1);
		/* Files given out of order. */
		char *swapped[3] = {paths[0], paths[2], paths[1]};
		vo = (struct audit_verify_opts){.key = &key,
						.files = (const char *const *)swapped,
						.nfiles = 3,
						.flags = AUDIT_VERIFY_PARTIAL_HEAD};
		REQUIRE(audit_verify_run(&vo, &r) == 0);
		CHECK(!r->ok);
		CHECK(tu_breaks(r, AUDIT_BREAK_FILE_MISSING, true) >= 1);
		audit_verify_result_free(r);
		for (size_t i = 0; i < 3; i++)
			free(paths[i]);
		free(first[0]);
		free(first[1]);
	}
	/* A file that cannot be read. */
	{
		char *p = nth_file(base, 1);
		const char *paths[] = {"/nonexistent/audit-20260101T000000-000001.jsonl", p};
		struct audit_verify_opts vo = {
			.key = &key, .files = paths, .nfiles = 2, .flags = AUDIT_VERIFY_PARTIAL_HEAD};
		struct audit_verify_result *r;
		REQUIRE(audit_verify_run(&vo, &r) == 0);
		CHECK(!r->ok);
		CHECK(tu_breaks(r, AUDIT_BREAK_UNREADABLE, true) == 1);
		audit_verify_result_free(r);
		free(p);
	}
}

int main(void)
{
	setenv("TZ", "Asia/Tokyo", 1);
	char *dir = tu_tmpdir("tamper");
	base = tu_path(dir, "base");
	work = tu_path(dir, "work");
	REQUIRE(mkdir(work, 0700) == 0);
	tu_key(dir, "key", &key);
	struct audit_opts o = tu_opts(base, &key);
	o.rotate_bytes = 16384;
	o.flags |= AUDIT_OPT_NO_DAILY_ROTATION;
	struct audit_log *log = tu_open(&o);
	for (uint64_t i = 0; i < 300; i++)
		REQUIRE(tu_emit_flow(log, i) == 0);
	REQUIRE(audit_close(log) == 0);
	size_t nfiles;
	char **names = tu_files(base, &nfiles);
	tu_free_names(names, nfiles);
	REQUIRE(nfiles >= 8);

	/* The untouched log verifies. */
	struct audit_verify_result *r = verify(base);
	expect_breaks("base", r, NULL, 0);
	CHECK_EQ_U(r->nfiles, nfiles);
	CHECK_EQ_U(r->records, 300 + nfiles + 1); /* events + one log.open per file + log.close */
	CHECK_EQ_U(r->last_seq, r->records);
	audit_verify_result_free(r);

	uint64_t s10 = seq_at(base, 3, 10);
	{
		struct expect e[] = {{AUDIT_BREAK_EDITED, 3, 11, s10, 1}};
		run_case("edit one byte of content", 3, edit_content, e, 1);
		run_case("edit one byte of the mac", 3, edit_mac, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_EDITED, 3, 11, s10, 2}};
		run_case("edit two lines", 3, edit_two, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_MISSING, 3, 11, s10, 1}};
		run_case("delete one line", 3, delete_one, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_MISSING, 3, 11, s10, 3}};
		run_case("delete three lines", 3, delete_three, e, 1);
	}
	{
		/* The next file's log.open shows the gap. */
		struct expect e[] = {{AUDIT_BREAK_MISSING, 4, 1, seq_at(base, 4, 0) - 1, 1}};
		run_case("delete a file's last line", 3, delete_last, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_INSERTED, 3, 12, 0, 1}};
		run_case("insert a forged line", 3, insert_forged, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_INSERTED, 3, 13, seq_at(base, 3, 5), 1}};
		run_case("insert a copy of a line", 3, insert_copy, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_REORDERED, 3, 11, s10, 1}};
		run_case("swap two lines", 3, swap_two, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_REORDERED, 3, 16, seq_at(base, 3, 5), 1}};
		run_case("move a line forward", 3, move_forward, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_REORDERED, 3, 6, seq_at(base, 3, 5), 1}};
		run_case("move a line back", 3, move_back, e, 1);
	}
	{
		struct expect e[] = {{AUDIT_BREAK_TRUNCATED, nfiles - 1, 0, 0, 1}};
		run_case("truncate mid-line", nfiles - 1, truncate_mid, e, 1);
	}
	test_iterator_status();
	test_files(nfiles);

	/* Another key: one bad-key break, every line unverified. */
	{
		struct audit_key other;
		tu_key(dir, "key2", &other);
		struct audit_verify_opts vo = {.key = &other, .dir = base};
		struct audit_verify_iter *it;
		REQUIRE(audit_verify_open(&vo, &it) == 0);
		struct audit_verify_record rec;
		size_t n = 0;
		while (audit_verify_next(it, &rec) > 0) {
			CHECK(rec.status == AUDIT_REC_UNVERIFIED && !rec.mac_ok);
			n++;
		}
		struct expect e[] = {{AUDIT_BREAK_BAD_KEY, SIZE_MAX, 0, 0, 0}};
		expect_breaks("change the key", audit_verify_result(it), e, 1);
		CHECK_EQ_U(n, 300 + nfiles + 1);
		audit_verify_free(it);
	}

	tu_rmrf(dir);
	free(base);
	free(work);
	free(dir);
	return check_done();
}
