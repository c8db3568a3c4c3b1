/* audit_verify: check an audit chain and classify every break.
 *
 * Contract: input files are read through read-only private mappings and
 * never modified.  Each line is checked once on its bytes (cut the mac
 * suffix, put back "}", recompute the HMAC).  A bounded window of parsed
 * lines ahead (LOOKAHEAD) lets the classifier tell an edit from an
 * insertion, and a move from a deletion; everything else is streaming, so
 * memory stays bounded whatever the log size.  The result and the iterator
 * own everything they allocate.  Problems in the logs are breaks, not
 * errors; -errno only for bad options, the directory listing and memory.
 *
 * Classification (authentic = own MAC verifies; the chain tip is the last
 * record accepted in order):
 *  - a run of m non-authentic lines between the tip (seq t) and the next
 *    authentic record N: the k = N.seq - t - 1 places between them hold
 *    min(m, k) edited records; the other lines are inserted; k - m > 0
 *    places are missing;
 *  - an authentic record out of sequence: reordered when the records it
 *    skips are found just ahead (it moved back) or further ahead (they moved
 *    forward); otherwise the skipped seqs are missing;
 *  - an authentic record at or below the tip that was not expected later:
 *    inserted (a copy);
 *  - a file's first record (log.open) that does not continue the previous
 *    file: file missing, unless a log.retention record names that file
 *    with the same last seq and mac. */
#include "common/audit/audit_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/audit/audit_record.h"

#define LOOKAHEAD 4096  /* lines parsed ahead of the one being classified */
#define STASH_MAX 64    /* authentic records waiting for their predecessors */
#define MISSING_MAX 256 /* remembered missing seq ranges (to recognise late arrivals) */
#define RETENTION_MAX 1000000

struct vline {
	uint64_t off, line_no;
	const char *p;
	size_t len;
	bool torn; /* no "\n": last bytes of the file */
	bool auth;
	bool classified;
	bool ahead; /* consumed ahead of its place (reordered) */
	enum audit_rec_status status;
	char mac[AUDIT_MAC_HEX + 1]; /* claimed */
	struct json_object *obj;
	bool has_seq;
	uint64_t seq;
	char prev[AUDIT_MAC_HEX + 1];
	const char *event, *ts;
};

struct retrec {
	char *file;
	uint64_t last_seq;
	char last_mac[AUDIT_MAC_HEX + 1];
};

struct stashed {
	uint64_t seq;
	char mac[AUDIT_MAC_HEX + 1], prev[AUDIT_MAC_HEX + 1];
};

struct audit_verify_iter {
	struct audit_verify_opts o;
	struct audit_record_mac *mac;
	struct audit_verify_result *res;
	size_t nbreak_cap;

	struct retrec *ret;
	size_t nret;
	bool bad_key;

	/* Current file. */
	size_t fi;
	bool file_open;
	char *map;
	size_t size, pos;
	uint64_t line_no;
	bool file_seen_auth;

	/* Lines read ahead (ring). */
	struct vline *dq;
	size_t dq_head, dq_n;

	/* Chain. */
	bool have_tip;
	uint64_t tip_seq;
	char tip_mac[AUDIT_MAC_HEX + 1]; /* "" when unknown (after an unvouched edit) */
	bool at_head;
	struct stashed stash[STASH_MAX];
	size_t nstash;
	struct {
		uint64_t lo, hi;
	} missing[MISSING_MAX];
	size_t nmissing, missing_next;

	struct json_object *held; /* obj of the last yielded line */
	uint64_t scan_budget;     /* window entries the reorder search may still visit */
	bool done;
};

const char *audit_verify_break_kind_name(enum audit_break_kind k)
{
	switch (k) {
	case AUDIT_BREAK_EDITED:
		return "edited";
	case AUDIT_BREAK_MISSING:
		return "missing";
	case AUDIT_BREAK_INSERTED:
		return "inserted";
	case AUDIT_BREAK_REORDERED:
		return "reordered";
	case AUDIT_BREAK_TRUNCATED:
		return "truncated";
	case AUDIT_BREAK_FILE_MISSING:
		return "file-missing";
	case AUDIT_BREAK_BAD_KEY:
		return "bad-key";
	case AUDIT_BREAK_UNREADABLE:
		return "unreadable";
	}
	return "unknown";
}

const char *audit_verify_rec_status_name(enum audit_rec_status s)
{
	switch (s) {
	case AUDIT_REC_OK:
		return "ok";
	case AUDIT_REC_AFTER_GAP:
		return "after-gap";
	case AUDIT_REC_REORDERED:
		return "reordered";
	case AUDIT_REC_EDITED:
		return "edited";
	case AUDIT_REC_INSERTED:
		return "inserted";
	case AUDIT_REC_TRUNCATED:
		return "truncated";
	case AUDIT_REC_UNVERIFIED:
		return "unverified";
	}
	return "unknown";
}

void audit_verify_result_free(struct audit_verify_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	free(r->files);
	free(r->breaks);
	free(r);
}

/* Record a break; consecutive lines with the same kind merge into one. */
static struct audit_break *add_break(struct audit_verify_iter *it, enum audit_break_kind kind, size_t file,
				     const struct vline *v, uint64_t seq, uint64_t count, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
static struct audit_break *add_break(struct audit_verify_iter *it, enum audit_break_kind kind, size_t file,
				     const struct vline *v, uint64_t seq, uint64_t count, const char *fmt, ...)
{
	struct audit_verify_result *r = it->res;
	bool per_line = kind == AUDIT_BREAK_EDITED || kind == AUDIT_BREAK_INSERTED || kind == AUDIT_BREAK_REORDERED;
	if (per_line && v && r->nbreaks) {
		struct audit_break *b = &r->breaks[r->nbreaks - 1];
		if (b->kind == kind && b->file == file && b->line + b->count == v->line_no) {
			b->count++;
			char *p = strstr(b->detail, " (+");
			size_t at = p ? (size_t)(p - b->detail) : strlen(b->detail);
			snprintf(b->detail + at, sizeof b->detail - at, " (+%llu more lines)",
				 (unsigned long long)(b->count - 1));
			return b;
		}
	}
	if (r->nbreaks >= AUDIT_VERIFY_MAX_BREAKS) {
		r->breaks_dropped++;
		return NULL;
	}
	if (r->nbreaks == it->nbreak_cap) {
		size_t cap = it->nbreak_cap ? it->nbreak_cap * 2 : 16;
		struct audit_break *nb = reallocarray(r->breaks, cap, sizeof *nb);
		if (!nb) {
			r->breaks_dropped++;
			return NULL;
		}
		r->breaks = nb;
		it->nbreak_cap = cap;
	}
	struct audit_break *b = &r->breaks[r->nbreaks++];
	memset(b, 0, sizeof *b);
	b->kind = kind;
	b->file = file;
	b->line = v ? v->line_no : 0;
	b->offset = v ? v->off : 0;
	b->seq = seq;
	b->count = count;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->detail, sizeof b->detail, fmt, ap);
	va_end(ap);
	return b;
}

/* ------------------------------------------------------------- setup -- */

static int map_file(const char *path, char **ret_map, size_t *ret_size)
{
	*ret_map = NULL;
	*ret_size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED)
			r = -errno;
		else {
			*ret_map = m;
			*ret_size = (size_t)st.st_size;
		}
	}
	close(fd);
	return r;
}

static void unmap_file(char *map, size_t size)
{
	if (map)
		munmap(map, size);
}

/* Lines are "\n"-terminated; returns the end of the line starting at pos. */
static size_t line_end(const char *map, size_t size, size_t pos, bool *ret_torn)
{
	const char *nl = memchr(map + pos, '\n', size - pos);
	*ret_torn = !nl;
	return nl ? (size_t)(nl - map) : size;
}

/* First pass over all files: authentic log.retention records (they come in
 * files later than the ones they explain) and a bad-key check on the first
 * lines of every file. */
static int prepass(struct audit_verify_iter *it)
{
	static const char needle[] = "\"event\":\"log.retention\"";
	uint64_t checked_auth = 0, recordlike = 0;
	for (size_t f = 0; f < it->res->nfiles; f++) {
		char *map;
		size_t size;
		if (map_file(it->res->files[f].path, &map, &size) < 0)
			continue;
		/* Bad key: the first few complete lines of each file. */
		size_t pos = 0;
		for (int k = 0; k < 8 && pos < size; k++) {
			bool torn;
			size_t e = line_end(map, size, pos, &torn);
			if (torn)
				break;
			char mac[AUDIT_MAC_HEX + 1];
			if (audit_record_check(it->mac, map + pos, e - pos, mac) == 1)
				checked_auth++;
			else if (mac[0])
				recordlike++;
			pos = e + 1;
		}
		const char *p = map;
		while (p && (size_t)(p - map) < size) {
			const char *hit = memmem(p, size - (size_t)(p - map), needle, sizeof needle - 1);
			if (!hit)
				break;
			const char *ls = hit;
			while (ls > map && ls[-1] != '\n')
				ls--;
			bool torn;
			size_t e = line_end(map, size, (size_t)(hit - map), &torn);
			p = map + e + 1;
			if (torn || audit_record_check(it->mac, ls, (size_t)(map + e - ls), NULL) != 1)
				continue;
			struct json_object *obj = audit_record_parse(ls, (size_t)(map + e - ls));
			const char *file = audit_record_data_str(obj, "file");
			const char *lmac = audit_record_data_str(obj, "last_mac");
			const char *ev = audit_record_get_str(obj, "event");
			uint64_t lseq;
			if (ev && strcmp(ev, "log.retention") == 0 && file && audit_record_is_mac(lmac) &&
			    audit_record_data_u64(obj, "last_seq", &lseq) && it->nret < RETENTION_MAX) {
				struct retrec *nr = reallocarray(it->ret, it->nret + 1, sizeof *nr);
				char *fc = strdup(file);
				if (!nr || !fc) {
					free(fc);
					if (nr)
						it->ret = nr;
					json_object_put(obj);
					unmap_file(map, size);
					return -ENOMEM;
				}
				it->ret = nr;
				nr[it->nret].file = fc;
				nr[it->nret].last_seq = lseq;
				memcpy(nr[it->nret].last_mac, lmac, sizeof nr[it->nret].last_mac);
				it->nret++;
			}
			json_object_put(obj);
		}
		unmap_file(map, size);
	}
	it->bad_key = checked_auth == 0 && recordlike > 0;
	/* Files removed by retention: named by a log.retention record and not
	 * among the files given. */
	for (size_t i = 0; i < it->nret; i++) {
		bool present = false;
		for (size_t f = 0; f < it->res->nfiles && !present; f++)
			present = strcmp(it->res->files[f].name, it->ret[i].file) == 0;
		if (!present)
			it->res->retained_files++;
	}
	return 0;
}

static int add_file(struct audit_verify_result *res, const char *dir, const char *name)
{
	struct audit_verify_file *f = &res->files[res->nfiles];
	memset(f, 0, sizeof *f);
	size_t n = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
	if (!(f->path = malloc(n)))
		return -ENOMEM;
	if (dir)
		snprintf(f->path, n, "%s/%s", dir, name);
	else
		snprintf(f->path, n, "%s", name);
	const char *slash = strrchr(f->path, '/');
	f->name = slash ? slash + 1 : f->path;
	res->nfiles++;
	return 0;
}

int audit_verify_open(const struct audit_verify_opts *o, struct audit_verify_iter **ret_iter)
{
	if (!o || !ret_iter || !o->key || (!o->dir == !o->files) || (o->files && !o->nfiles) ||
	    (o->anchor_mac && !audit_record_is_mac(o->anchor_mac)))
		return -EINVAL;
	struct audit_verify_iter *it = calloc(1, sizeof *it);
	if (!it)
		return -ENOMEM;
	it->o = *o;
	int r = -ENOMEM;
	char **names = NULL;
	size_t n = 0;
	if (!(it->mac = audit_record_mac_new(o->key)) || !(it->res = calloc(1, sizeof *it->res)) ||
	    !(it->dq = calloc(LOOKAHEAD, sizeof *it->dq)))
		goto fail;
	if (o->dir) {
		int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			r = -errno;
			goto fail;
		}
		r = audit_record_list(dfd, &names, &n);
		close(dfd);
		if (r < 0)
			goto fail;
	} else {
		n = o->nfiles;
	}
	r = -ENOMEM;
	if (!(it->res->files = calloc(n ? n : 1, sizeof *it->res->files)))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((r = add_file(it->res, o->dir ? o->dir : NULL, o->dir ? names[i] : o->files[i])) < 0)
			goto fail;
	audit_record_list_free(names, n);
	names = NULL;
	if ((r = prepass(it)) < 0)
		goto fail;
	it->at_head = true;
	/* Bounds the reorder search on pathological logs (a gap on every
	 * line); beyond it, gaps are simply reported as missing. */
	it->scan_budget = 64u << 20;
	if (o->anchor_mac) {
		it->have_tip = true;
		it->tip_seq = o->anchor_seq;
		memcpy(it->tip_mac, o->anchor_mac, sizeof it->tip_mac);
	} else if (!(o->flags & AUDIT_VERIFY_PARTIAL_HEAD)) {
		it->have_tip = true;
		it->tip_seq = 0;
		memcpy(it->tip_mac, AUDIT_ZERO_MAC, sizeof it->tip_mac);
	}
	if (it->bad_key)
		add_break(it, AUDIT_BREAK_BAD_KEY, 0, NULL, 0, 0, "no record verifies with this key");
	*ret_iter = it;
	return 0;
fail:
	audit_record_list_free(names, n);
	audit_verify_free(it);
	return r;
}

void audit_verify_free(struct audit_verify_iter *it)
{
	if (!it)
		return;
	json_object_put(it->held);
	for (size_t i = 0; i < it->dq_n; i++)
		json_object_put(it->dq[(it->dq_head + i) % LOOKAHEAD].obj);
	free(it->dq);
	if (it->file_open)
		unmap_file(it->map, it->size);
	for (size_t i = 0; i < it->nret; i++)
		free(it->ret[i].file);
	free(it->ret);
	audit_record_mac_free(it->mac);
	audit_verify_result_free(it->res);
	free(it);
}

const struct audit_verify_result *audit_verify_result(const struct audit_verify_iter *it)
{
	return it->res;
}

struct audit_verify_result *audit_verify_steal_result(struct audit_verify_iter *it)
{
	struct audit_verify_result *r = it->res;
	it->res = NULL;
	return r;
}

/* ------------------------------------------------------------- lines -- */

static struct vline *dq_at(struct audit_verify_iter *it, size_t i)
{
	return &it->dq[(it->dq_head + i) % LOOKAHEAD];
}

/* Read and check the next line of the current file into the window.
 * Returns false at the end of the file or when the window is full. */
static bool dq_load(struct audit_verify_iter *it)
{
	if (!it->file_open || it->pos >= it->size || it->dq_n >= LOOKAHEAD)
		return false;
	struct vline *v = dq_at(it, it->dq_n);
	memset(v, 0, sizeof *v);
	bool torn;
	size_t e = line_end(it->map, it->size, it->pos, &torn);
	v->off = it->pos;
	v->p = it->map + it->pos;
	v->len = e - it->pos;
	v->torn = torn;
	v->line_no = ++it->line_no;
	it->pos = torn ? it->size : e + 1;
	it->dq_n++;
	struct audit_verify_file *f = &it->res->files[it->fi];
	f->lines++;
	it->res->lines++;
	if (torn) {
		f->torn = true;
		f->torn_at = v->off;
	}
	v->obj = audit_record_parse(v->p, v->len);
	if (!torn && !it->bad_key)
		v->auth = audit_record_check(it->mac, v->p, v->len, v->mac) == 1;
	v->has_seq = audit_record_get_u64(v->obj, "seq", &v->seq);
	const char *prev = audit_record_get_str(v->obj, "prev");
	if (audit_record_is_mac(prev))
		memcpy(v->prev, prev, sizeof v->prev);
	v->event = audit_record_get_str(v->obj, "event");
	v->ts = audit_record_get_str(v->obj, "ts");
	/* A line whose MAC verifies but that is not a well-formed record
	 * cannot come from the writer; treat it as not authentic. */
	if (v->auth && (!v->has_seq || !v->prev[0] || !v->event || !v->ts))
		v->auth = false;
	return true;
}

/* Make sure the window holds at least n lines (or the rest of the file). */
static void dq_fill(struct audit_verify_iter *it, size_t n)
{
	while (it->dq_n < n && dq_load(it))
		;
}

static void tip_set(struct audit_verify_iter *it, uint64_t seq, const char *mac)
{
	it->have_tip = true;
	it->tip_seq = seq;
	snprintf(it->tip_mac, sizeof it->tip_mac, "%s", mac ? mac : "");
}

/* Records that arrived early join the chain once their predecessor did. */
static void stash_drain(struct audit_verify_iter *it)
{
	bool again = true;
	while (again) {
		again = false;
		for (size_t i = 0; i < it->nstash; i++) {
			struct stashed *s = &it->stash[i];
			if (s->seq == it->tip_seq + 1 && (!it->tip_mac[0] || strcmp(s->prev, it->tip_mac) == 0)) {
				tip_set(it, s->seq, s->mac);
				it->stash[i] = it->stash[--it->nstash];
				again = true;
				break;
			}
		}
	}
}

static void missing_add(struct audit_verify_iter *it, uint64_t lo, uint64_t hi)
{
	if (lo > hi)
		return;
	it->missing[it->missing_next].lo = lo;
	it->missing[it->missing_next].hi = hi;
	it->missing_next = (it->missing_next + 1) % MISSING_MAX;
	if (it->nmissing < MISSING_MAX)
		it->nmissing++;
}

static bool missing_has(struct audit_verify_iter *it, uint64_t seq)
{
	for (size_t i = 0; i < it->nmissing; i++)
		if (seq >= it->missing[i].lo && seq <= it->missing[i].hi)
			return true;
	return false;
}

static const struct retrec *retention_find(struct audit_verify_iter *it, const char *file, uint64_t last_seq,
					   const char *last_mac)
{
	for (size_t i = 0; i < it->nret; i++)
		if (strcmp(it->ret[i].file, file) == 0 && it->ret[i].last_seq == last_seq &&
		    strcmp(it->ret[i].last_mac, last_mac) == 0)
			return &it->ret[i];
	return NULL;
}

static bool is_event(const struct vline *v, const char *ev)
{
	return v->event && strcmp(v->event, ev) == 0;
}

/* Classify the run of non-authentic complete lines at the window's front. */
static void classify_run(struct audit_verify_iter *it)
{
	size_t m = 0;
	for (;;) {
		dq_fill(it, m + 1);
		if (m >= it->dq_n || m + 1 >= LOOKAHEAD)
			break;
		struct vline *v = dq_at(it, m);
		if (v->auth || v->torn)
			break;
		m++;
	}
	struct vline *N = m < it->dq_n && dq_at(it, m)->auth ? dq_at(it, m) : NULL;
	if (!it->have_tip) {
		for (size_t i = 0; i < m; i++) {
			struct vline *v = dq_at(it, i);
			v->classified = true;
			v->status = AUDIT_REC_EDITED;
			add_break(it, AUDIT_BREAK_EDITED, it->fi, v, v->has_seq ? v->seq : 0, 1,
				  "line %llu does not verify", (unsigned long long)v->line_no);
		}
		return;
	}
	uint64_t t = it->tip_seq;
	if (N && N->seq > t) {
		uint64_t k = N->seq - t - 1;
		uint64_t ed = m < k ? m : k, done = 0;
		/* Lines that claim a seq in the gap are the edited ones first. */
		for (size_t i = 0; i < m && done < ed; i++) {
			struct vline *v = dq_at(it, i);
			if (v->has_seq && v->seq > t && v->seq < N->seq) {
				v->classified = true;
				v->status = AUDIT_REC_EDITED;
				done++;
			}
		}
		for (size_t i = 0; i < m && done < ed; i++) {
			struct vline *v = dq_at(it, i);
			if (!v->classified) {
				v->classified = true;
				v->status = AUDIT_REC_EDITED;
				done++;
			}
		}
		uint64_t next = t + 1;
		for (size_t i = 0; i < m; i++) {
			struct vline *v = dq_at(it, i);
			if (!v->classified) {
				v->classified = true;
				v->status = AUDIT_REC_INSERTED;
				add_break(it, AUDIT_BREAK_INSERTED, it->fi, v, 0, 1,
					  "line %llu does not verify and the chain continues around it",
					  (unsigned long long)v->line_no);
			} else {
				add_break(it, AUDIT_BREAK_EDITED, it->fi, v, next, 1,
					  "line %llu (seq %llu) does not verify: content changed",
					  (unsigned long long)v->line_no, (unsigned long long)next);
				next++;
			}
		}
		/* N's prev vouches for the mac of the last edited record only
		 * when the edits fill the whole gap. */
		tip_set(it, t + ed, ed == k ? N->prev : "");
		return;
	}
	/* No authentic successor in this file: lines that continue the
	 * sequence are edited records (their claimed mac is checked by the
	 * next file's log.open), the others are inserted. */
	for (size_t i = 0; i < m; i++) {
		struct vline *v = dq_at(it, i);
		v->classified = true;
		if (v->has_seq && v->seq == it->tip_seq + 1 && v->mac[0]) {
			v->status = AUDIT_REC_EDITED;
			add_break(it, AUDIT_BREAK_EDITED, it->fi, v, v->seq, 1,
				  "line %llu (seq %llu) does not verify: content changed",
				  (unsigned long long)v->line_no, (unsigned long long)v->seq);
			tip_set(it, v->seq, v->mac);
		} else {
			v->status = AUDIT_REC_INSERTED;
			add_break(it, AUDIT_BREAK_INSERTED, it->fi, v, 0, 1, "line %llu does not verify",
				  (unsigned long long)v->line_no);
		}
	}
}

/* An authentic record R (window front) skips seqs e..R.seq-1.  Returns
 * true when that is a reordering (and R's status is set), false when the
 * caller should still report missing records (the tip may have moved). */
static bool try_reorder(struct audit_verify_iter *it, struct vline *R)
{
	uint64_t e = it->tip_seq + 1, k = R->seq - e;
	if (k == 0 || k >= LOOKAHEAD - 1)
		return false;
	dq_fill(it, LOOKAHEAD);
	/* R moved back: exactly the skipped records follow it, in order,
	 * linked, and R links after the last of them. */
	bool back = it->dq_n > k && it->nstash < STASH_MAX && it->tip_mac[0];
	const char *pm = it->tip_mac;
	for (uint64_t i = 1; back && i <= k; i++) {
		struct vline *v = dq_at(it, i);
		back = v->auth && !v->ahead && v->seq == e + i - 1 && strcmp(v->prev, pm) == 0;
		pm = v->mac;
	}
	if (back && strcmp(R->prev, pm) == 0) {
		struct stashed *s = &it->stash[it->nstash++];
		s->seq = R->seq;
		memcpy(s->mac, R->mac, sizeof s->mac);
		memcpy(s->prev, R->prev, sizeof s->prev);
		R->status = AUDIT_REC_REORDERED;
		add_break(it, AUDIT_BREAK_REORDERED, it->fi, R, e, 1, "line %llu: seq %llu comes before seq %llu..%llu",
			  (unsigned long long)R->line_no, (unsigned long long)R->seq, (unsigned long long)e,
			  (unsigned long long)(R->seq - 1));
		return true;
	}
	/* The skipped records moved forward: take them from the window in
	 * chain order; they are reported where they stand. */
	bool took = false;
	for (;;) {
		uint64_t want = it->tip_seq + 1;
		if (want >= R->seq)
			break;
		struct vline *found = NULL;
		if (it->scan_budget < it->dq_n)
			break;
		it->scan_budget -= it->dq_n;
		for (size_t i = 1; i < it->dq_n && !found; i++) {
			struct vline *v = dq_at(it, i);
			if (v->auth && !v->ahead && v->seq == want &&
			    (!it->tip_mac[0] || strcmp(v->prev, it->tip_mac) == 0))
				found = v;
		}
		if (!found)
			break;
		found->ahead = true;
		tip_set(it, found->seq, found->mac);
		stash_drain(it);
		took = true;
	}
	if (took && R->seq == it->tip_seq + 1 && strcmp(R->prev, it->tip_mac) == 0) {
		R->status = AUDIT_REC_OK;
		tip_set(it, R->seq, R->mac);
		stash_drain(it);
		return true;
	}
	return false;
}

/* Explain the previous file's torn tail when this log.open names it. */
static void explain_torn(struct audit_verify_iter *it, struct vline *R)
{
	if (it->fi == 0)
		return;
	struct audit_verify_file *pf = &it->res->files[it->fi - 1];
	uint64_t at;
	const char *end = audit_record_data_str(R->obj, "prev_end");
	const char *pfile = audit_record_data_str(R->obj, "prev_file");
	if (!pf->torn || !end || strcmp(end, "torn") != 0 || !pfile || strcmp(pfile, pf->name) != 0 ||
	    !audit_record_data_u64(R->obj, "prev_torn_at", &at))
		return;
	for (size_t i = it->res->nbreaks; i-- > 0;) {
		struct audit_break *b = &it->res->breaks[i];
		if (b->file == it->fi - 1 && b->kind == AUDIT_BREAK_TRUNCATED && b->offset == pf->torn_at &&
		    (at == pf->torn_at || at <= b->offset)) {
			b->explained = true;
			snprintf(b->detail + strlen(b->detail), sizeof b->detail - strlen(b->detail),
				 "; acknowledged by the writer's next log.open");
			break;
		}
	}
}

/* Place an authentic record in the chain. */
static void classify_auth(struct audit_verify_iter *it, struct vline *R)
{
	struct audit_verify_file *f = &it->res->files[it->fi];
	bool file_first = !it->file_seen_auth;
	it->file_seen_auth = true;
	f->records++;
	it->res->records++;
	if (!f->first_seq) {
		f->first_seq = R->seq;
		snprintf(f->first_ts, sizeof f->first_ts, "%s", R->ts);
	}
	f->last_seq = R->seq;
	snprintf(f->last_ts, sizeof f->last_ts, "%s", R->ts);
	if (!it->res->first_seq)
		it->res->first_seq = R->seq;
	R->status = AUDIT_REC_OK;

	if (R->ahead) {
		R->status = AUDIT_REC_REORDERED;
		add_break(it, AUDIT_BREAK_REORDERED, it->fi, R, R->seq, 1, "line %llu: seq %llu is out of place",
			  (unsigned long long)R->line_no, (unsigned long long)R->seq);
		return;
	}
	bool head = it->at_head;
	it->at_head = false;
	const char *pfile = is_event(R, "log.open") ? audit_record_data_str(R->obj, "prev_file") : NULL;
	if (!it->have_tip) {
		/* A slice (PARTIAL_HEAD): the chain starts wherever it starts. */
		tip_set(it, R->seq, R->mac);
		return;
	}
	bool linked = R->seq == it->tip_seq + 1 && (!it->tip_mac[0] || strcmp(R->prev, it->tip_mac) == 0);
	if (linked) {
		if (file_first && is_event(R, "log.open"))
			explain_torn(it, R);
		tip_set(it, R->seq, R->mac);
		stash_drain(it);
		return;
	}
	/* A file boundary that does not continue: retention or a missing file. */
	bool boundary = file_first && is_event(R, "log.open") && pfile &&
		(head || strcmp(pfile, it->res->files[it->fi - 1].name) != 0);
	if (boundary || (head && file_first && is_event(R, "log.open"))) {
		uint64_t e = it->tip_seq + 1;
		if (pfile && R->seq > 0 && retention_find(it, pfile, R->seq - 1, R->prev)) {
			tip_set(it, R->seq, R->mac);
			return;
		}
		R->status = AUDIT_REC_AFTER_GAP;
		if (head && !pfile)
			add_break(it, AUDIT_BREAK_FILE_MISSING, it->fi, R, e, R->seq > e ? R->seq - e : 0,
				  "chain starts at seq %llu: earlier files missing", (unsigned long long)R->seq);
		else
			add_break(
				it, AUDIT_BREAK_FILE_MISSING, it->fi, R, e, R->seq > e ? R->seq - e : 0,
				"file %.60s (before %.60s, seq %llu..%llu) is missing and no log.retention explains it",
				pfile ? pfile : "?", it->res->files[it->fi].name, (unsigned long long)e,
				(unsigned long long)(R->seq ? R->seq - 1 : 0));
		missing_add(it, e, R->seq ? R->seq - 1 : 0);
		tip_set(it, R->seq, R->mac);
		stash_drain(it);
		return;
	}
	if (R->seq == 1 && strcmp(R->prev, AUDIT_ZERO_MAC) == 0) {
		R->status = AUDIT_REC_AFTER_GAP;
		add_break(it, AUDIT_BREAK_FILE_MISSING, it->fi, R, it->tip_seq + 1, 0,
			  "a new chain starts here (seq 1) after seq %llu: the files the writer should have "
			  "found were missing",
			  (unsigned long long)it->tip_seq);
		tip_set(it, R->seq, R->mac);
		return;
	}
	if (R->seq <= it->tip_seq) {
		if (missing_has(it, R->seq)) {
			R->status = AUDIT_REC_REORDERED;
			add_break(it, AUDIT_BREAK_REORDERED, it->fi, R, R->seq, 1,
				  "line %llu: seq %llu is far out of place (reported missing earlier)",
				  (unsigned long long)R->line_no, (unsigned long long)R->seq);
		} else {
			R->status = AUDIT_REC_INSERTED;
			add_break(it, AUDIT_BREAK_INSERTED, it->fi, R, R->seq, 1,
				  "line %llu: a copy of seq %llu, which is already in the chain",
				  (unsigned long long)R->line_no, (unsigned long long)R->seq);
		}
		return;
	}
	if (R->seq > it->tip_seq + 1 && try_reorder(it, R))
		return;
	uint64_t e = it->tip_seq + 1;
	R->status = AUDIT_REC_AFTER_GAP;
	if (R->seq > e) {
		add_break(it, AUDIT_BREAK_MISSING, it->fi, R, e, R->seq - e, "seq %llu..%llu missing before line %llu",
			  (unsigned long long)e, (unsigned long long)(R->seq - 1), (unsigned long long)R->line_no);
		missing_add(it, e, R->seq - 1);
	} else {
		add_break(it, AUDIT_BREAK_MISSING, it->fi, R, e, 0,
			  "line %llu: prev does not match the previous record (records replaced or missing)",
			  (unsigned long long)R->line_no);
	}
	tip_set(it, R->seq, R->mac);
	stash_drain(it);
}

static void classify_front(struct audit_verify_iter *it)
{
	struct vline *v = dq_at(it, 0);
	if (v->classified)
		return;
	if (it->bad_key) {
		v->classified = true;
		v->status = AUDIT_REC_UNVERIFIED;
		return;
	}
	if (v->torn) {
		v->classified = true;
		v->status = AUDIT_REC_TRUNCATED;
		add_break(it, AUDIT_BREAK_TRUNCATED, it->fi, v, it->have_tip ? it->tip_seq + 1 : 0, 1,
			  "last line incomplete: %zu bytes at offset %llu", v->len, (unsigned long long)v->off);
		return;
	}
	if (!v->auth) {
		classify_run(it);
		return;
	}
	v->classified = true;
	classify_auth(it, v);
}

static void finish(struct audit_verify_iter *it)
{
	struct audit_verify_result *r = it->res;
	r->ok = r->breaks_dropped == 0;
	for (size_t i = 0; i < r->nbreaks; i++)
		if (!r->breaks[i].explained)
			r->ok = false;
	if (it->have_tip && it->tip_mac[0] && strcmp(it->tip_mac, AUDIT_ZERO_MAC) != 0) {
		r->last_seq = it->tip_seq;
		memcpy(r->last_mac, it->tip_mac, sizeof r->last_mac);
	}
	it->done = true;
}

int audit_verify_next(struct audit_verify_iter *it, struct audit_verify_record *rec)
{
	json_object_put(it->held);
	it->held = NULL;
	if (!it->res)
		return -EINVAL;
	while (!it->done) {
		if (it->dq_n == 0) {
			if (it->file_open && it->pos < it->size) {
				dq_load(it);
				continue;
			}
			if (it->file_open) {
				unmap_file(it->map, it->size);
				it->map = NULL;
				it->file_open = false;
				it->fi++;
			}
			if (it->fi >= it->res->nfiles) {
				finish(it);
				break;
			}
			struct audit_verify_file *f = &it->res->files[it->fi];
			int r = map_file(f->path, &it->map, &it->size);
			if (r < 0) {
				add_break(it, AUDIT_BREAK_UNREADABLE, it->fi, NULL, 0, 0, "cannot read %.120s: %s",
					  f->path, strerror(-r));
				it->fi++;
				continue;
			}
			f->bytes = it->size;
			it->file_open = true;
			it->pos = 0;
			it->line_no = 0;
			it->file_seen_auth = false;
			continue;
		}
		classify_front(it);
		struct vline *v = dq_at(it, 0);
		memset(rec, 0, sizeof *rec);
		rec->status = v->status;
		rec->mac_ok = v->auth;
		rec->obj = v->obj;
		rec->line = v->p;
		rec->len = v->len;
		rec->file = it->fi;
		rec->path = it->res->files[it->fi].path;
		rec->line_no = v->line_no;
		rec->offset = v->off;
		rec->seq = v->has_seq ? v->seq : 0;
		rec->event = v->event;
		rec->ts = v->ts;
		it->held = v->obj;
		v->obj = NULL;
		it->dq_head = (it->dq_head + 1) % LOOKAHEAD;
		it->dq_n--;
		return 1;
	}
	return 0;
}

int audit_verify_run(const struct audit_verify_opts *o, struct audit_verify_result **ret_result)
{
	struct audit_verify_iter *it;
	int r = audit_verify_open(o, &it);
	if (r < 0)
		return r;
	struct audit_verify_record rec;
	while ((r = audit_verify_next(it, &rec)) > 0)
		;
	if (r == 0)
		*ret_result = audit_verify_steal_result(it);
	audit_verify_free(it);
	return r;
}

int audit_verify_line(const struct audit_key *key, const char *line, size_t len, char ret_mac[65])
{
	struct audit_record_mac *m = audit_record_mac_new(key);
	if (!m) {
		if (ret_mac)
			ret_mac[0] = '\0';
		return 0;
	}
	int r = audit_record_check(m, line, len, ret_mac);
	audit_record_mac_free(m);
	return r;
}
