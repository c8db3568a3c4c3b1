/* lx_reader: verified, merged reading of several chains (see lx_reader.h).
 *
 * Contract: pass 1 (the verifying iterator, to the end) fixes a snapshot per chain: the
 * files it saw and their sizes.  Pass 2 opens one iterator per chain and
 * performs a k-way merge on record time (lines without a usable time take
 * the time of the chain's previous line, so a chain's order is never
 * changed).  A torn last line in the newest file of a chain is usually a
 * write in progress, so pass 1 retries a few times before calling it a
 * break.  Never prints. */
#include "tools/logexport/lx_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "tools/logexport/lx_time.h"

#define TORN_RETRIES 5
#define TORN_WAIT_MS 100

struct chain {
	const char *dir;
	struct audit_verify_result *pre;
	struct audit_verify_iter *it;
	struct audit_verify_record cur;
	bool have; /* cur holds the chain's next line */
	bool done;
	bool advance; /* cur was handed out: fetch the next one first */
	int64_t ns;
	bool has_ns;
	size_t file_hint; /* index into pre->files of the last line's file */
};

struct lx_reader {
	const struct audit_key *key;
	struct chain *c;
	size_t n;
	uint64_t changed;
};

int lx_reader_new(const struct audit_key *key, const char *const *dirs, size_t ndirs, struct lx_reader **ret_reader)
{
	if (!key || !dirs || ndirs == 0 || ndirs > LX_READER_MAX_CHAINS)
		return -EINVAL;
	struct lx_reader *r = xcalloc(1, sizeof *r);
	r->key = key;
	r->c = xcalloc(ndirs, sizeof *r->c);
	r->n = ndirs;
	for (size_t i = 0; i < ndirs; i++)
		r->c[i].dir = dirs[i];
	*ret_reader = r;
	return 0;
}

/* Is the only problem a torn last line of the newest file? */
static bool only_torn_tail(const struct audit_verify_result *res)
{
	if (res->ok || res->nfiles == 0 || res->breaks_dropped)
		return false;
	bool any = false;
	for (size_t i = 0; i < res->nbreaks; i++) {
		const struct audit_break *b = &res->breaks[i];
		if (b->explained)
			continue;
		if (b->kind != AUDIT_BREAK_TRUNCATED || b->file != res->nfiles - 1)
			return false;
		any = true;
	}
	return any;
}

/* One pass over a chain with the iterator (so that peek sees the lines);
 * the result is the same as audit_verify_run's. */
static int pass1(const struct audit_verify_opts *o, size_t chain, lx_reader_peek_fn *peek, void *arg,
		 struct audit_verify_result **ret_res)
{
	struct audit_verify_iter *it;
	int e = audit_verify_open(o, &it);
	if (e < 0)
		return e;
	struct audit_verify_record v;
	int64_t ns = 0;
	bool has_ns = false;
	while ((e = audit_verify_next(it, &v)) > 0) {
		if (!peek)
			continue;
		int64_t t;
		if (v.ts && lx_time_parse(v.ts, &t) == 0) {
			ns = t;
			has_ns = true;
		}
		struct lx_reader_rec rr = {.rec = &v, .chain = chain, .ns = ns, .has_ns = has_ns};
		peek(arg, &rr);
	}
	if (e == 0) {
		*ret_res = audit_verify_steal_result(it);
		if (!*ret_res)
			e = -ENOMEM;
	}
	audit_verify_free(it);
	return e;
}

int lx_reader_verify(struct lx_reader *r, lx_reader_peek_fn *peek, void *arg, char *why, size_t whylen)
{
	for (size_t i = 0; i < r->n; i++) {
		struct chain *c = &r->c[i];
		struct audit_verify_opts o = {.key = r->key, .dir = c->dir};
		for (int attempt = 0;; attempt++) {
			audit_verify_result_free(c->pre);
			c->pre = NULL;
			int e = pass1(&o, i, peek, arg, &c->pre);
			if (e < 0) {
				if (why)
					snprintf(why, whylen, "%s: %s", c->dir, strerror(-e));
				return e;
			}
			if (attempt >= TORN_RETRIES || !only_torn_tail(c->pre))
				break;
			struct timespec ts = {.tv_sec = 0, .tv_nsec = TORN_WAIT_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

size_t lx_reader_chains(const struct lx_reader *r)
{
	return r->n;
}

const char *lx_reader_dir(const struct lx_reader *r, size_t chain)
{
	return r->c[chain].dir;
}

const struct audit_verify_result *lx_reader_result(const struct lx_reader *r, size_t chain)
{
	return r->c[chain].pre;
}

bool lx_reader_ok(const struct lx_reader *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->c[i].pre || !r->c[i].pre->ok)
			return false;
	return true;
}

uint64_t lx_reader_changed(const struct lx_reader *r)
{
	return r->changed;
}

/* Index of path among the pass-1 files, SIZE_MAX if it was not there. */
static size_t pre_file(struct chain *c, const char *path)
{
	const struct audit_verify_result *p = c->pre;
	if (c->file_hint < p->nfiles && strcmp(p->files[c->file_hint].path, path) == 0)
		return c->file_hint;
	for (size_t i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i].path, path) == 0)
			return c->file_hint = i;
	return SIZE_MAX;
}

static bool explained_torn(const struct chain *c, size_t fi, uint64_t line_no)
{
	const struct audit_verify_result *p = c->pre;
	for (size_t i = 0; i < p->nbreaks; i++)
		if (p->breaks[i].explained && p->breaks[i].file == fi && p->breaks[i].line == line_no)
			return true;
	return false;
}

/* Load the chain's next line within the snapshot into c->cur. */
static int fill(struct chain *c)
{
	if (c->done || (c->have && !c->advance))
		return 0;
	c->have = false;
	c->advance = false;
	int e = audit_verify_next(c->it, &c->cur);
	if (e < 0)
		return e;
	if (e == 0) {
		c->done = true;
		return 0;
	}
	size_t fi = pre_file(c, c->cur.path);
	if (fi == SIZE_MAX || c->cur.offset >= c->pre->files[fi].bytes) {
		/* written after pass 1: not part of this snapshot */
		c->done = true;
		return 0;
	}
	int64_t ns;
	if (c->cur.ts && lx_time_parse(c->cur.ts, &ns) == 0) {
		c->ns = ns;
		c->has_ns = true;
	}
	c->have = true;
	return 0;
}

int lx_reader_next(struct lx_reader *r, struct lx_reader_rec *ret)
{
	for (size_t i = 0; i < r->n; i++) {
		struct chain *c = &r->c[i];
		if (!c->it && !c->done) {
			if (!c->pre)
				return -EINVAL;
			struct audit_verify_opts o = {.key = r->key, .dir = c->dir};
			int e = audit_verify_open(&o, &c->it);
			if (e < 0)
				return e;
		}
		int e = fill(c);
		if (e < 0)
			return e;
	}
	struct chain *best = NULL;
	size_t bi = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct chain *c = &r->c[i];
		if (!c->have)
			continue;
		/* a chain whose time is unknown so far goes first: keeps it in order */
		if (!best || (!c->has_ns && best->has_ns) || (c->has_ns && best->has_ns && c->ns < best->ns)) {
			best = c;
			bi = i;
		}
	}
	if (!best)
		return 0;
	best->advance = true;
	const struct audit_verify_record *v = &best->cur;
	size_t fi = pre_file(best, v->path);
	bool expl = v->status == AUDIT_REC_TRUNCATED && fi != SIZE_MAX && explained_torn(best, fi, v->line_no);
	if (best->pre->ok && v->status != AUDIT_REC_OK && !expl)
		r->changed++;
	*ret = (struct lx_reader_rec){
		.rec = v,
		.chain = bi,
		.ns = best->ns,
		.has_ns = best->has_ns,
		.explained = expl,
	};
	return 1;
}

void lx_reader_free(struct lx_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		audit_verify_free(r->c[i].it);
		audit_verify_result_free(r->c[i].pre);
	}
	free(r->c);
	free(r);
}
