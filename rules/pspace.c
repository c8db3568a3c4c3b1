/* pspace: packet sets as products of interval lists, the witness search,
 * and an index of a policy's rule terms (see pspace.h).
 *
 * A term is four sorted lists of disjoint inclusive intervals (src, dst,
 * key, sport).  pspace_witness decides whether q minus a union of covers holds
 * a real packet: depth-first splitting of q around one intersecting cover
 * at a time, with an explicit stack (a 10,000-rule policy would make the
 * recursion 10,000 deep) and one arena whose storage is released in stack
 * order, so a search allocates only when it goes deeper than before.  A
 * piece that some cover contains is dropped at once; a piece no cover
 * meets gives the witness if it holds a real packet (keys and source ports
 * that no packet can carry, e.g. a port on GRE, do not count).
 *
 * pspace_table (pspace.h) holds every
 * rule term of a policy for one family with an interval index per
 * dimension, so the prover and the diff find the rules that can meet a
 * term without scanning the policy.
 *
 * The step budget counts every cover-intersection test and every split,
 * and the index lookups of pspace_table_query; when it runs out the answer is
 * -E2BIG, never a guess.
 *
 * Ownership: terms own their arrays (pspace_term_free); a pspace_table owns copies
 * of all its terms (pspace_table_free).  Allocation failures abort (xalloc):
 * this is control-plane code. */
#include "rules/pspace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static const u128 dim_max_v4[PSPACE_NDIM] = {INADDR_V4_MAX, INADDR_V4_MAX, SVC_KEY_MAX, 0xffff};
static const u128 dim_max_v6[PSPACE_NDIM] = {U128_MAX, U128_MAX, SVC_KEY_MAX, 0xffff};

/* ---- interval lists ------------------------------------------------------ */

static bool list_intersects(const struct ip_range *a, uint32_t na, const struct ip_range *b, uint32_t nb)
{
	uint32_t i = 0, j = 0;
	while (i < na && j < nb) {
		if (a[i].hi < b[j].lo)
			i++;
		else if (b[j].hi < a[i].lo)
			j++;
		else
			return true;
	}
	return false;
}

/* out must hold na + nb ranges; returns the count. */
static uint32_t list_intersect(const struct ip_range *a, uint32_t na, const struct ip_range *b, uint32_t nb,
			       struct ip_range *out)
{
	uint32_t i = 0, j = 0, n = 0;
	while (i < na && j < nb) {
		u128 lo = a[i].lo > b[j].lo ? a[i].lo : b[j].lo;
		u128 hi = a[i].hi < b[j].hi ? a[i].hi : b[j].hi;
		if (lo <= hi)
			out[n++] = (struct ip_range){lo, hi};
		/* advance whichever ends first; the other may overlap the next */
		if (a[i].hi < b[j].hi)
			i++;
		else
			j++;
	}
	return n;
}

/* Is every point of a in b? */
static bool list_subset(const struct ip_range *a, uint32_t na, const struct ip_range *b, uint32_t nb)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < na; i++) {
		while (j < nb && b[j].hi < a[i].lo)
			j++;
		/* b is merged, so a[i] must lie inside one interval of b */
		if (j == nb || b[j].lo > a[i].lo || b[j].hi < a[i].hi)
			return false;
	}
	return true;
}

/* out = a \ b; out must hold na + nb ranges; returns the count. */
static uint32_t list_diff(const struct ip_range *a, uint32_t na, const struct ip_range *b, uint32_t nb,
			  struct ip_range *out)
{
	uint32_t n = 0, j = 0;
	for (uint32_t i = 0; i < na; i++) {
		u128 cur = a[i].lo, hi = a[i].hi;
		while (j < nb && b[j].hi < cur)
			j++;
		for (uint32_t k = j;; k++) {
			if (k == nb || b[k].lo > hi) {
				out[n++] = (struct ip_range){cur, hi};
				break;
			}
			if (b[k].lo > cur)
				out[n++] = (struct ip_range){cur, b[k].lo - 1};
			if (b[k].hi >= hi)
				break;
			cur = b[k].hi + 1; /* no overflow: b[k].hi < hi */
		}
	}
	return n;
}

static bool list_contains(const struct ip_range *r, uint32_t n, u128 v)
{
	return policy_ip_ranges_contain(r, n, v);
}

/* Examples inside the zones' own networks read naturally ("lgwan ->
 * internet tcp 198.18.20.0:0 -> ...") rather than from 0.0.0.0. */
bool pspace_zone_view(const struct policy *p, unsigned f, unsigned t, int family, struct pspace_term *ret)
{
	static struct ip_range key = {0, SVC_KEY_MAX}, sport = {0, 0xffff}; /* only read */
	const struct addr_set *a = &p->zones[f].nets, *b = &p->zones[t].nets;
	ret->d[PSPACE_SRC] = (struct pspace_list){family == 4 ? a->n4 : a->n6, family == 4 ? a->v4 : a->v6};
	ret->d[PSPACE_DST] = (struct pspace_list){family == 4 ? b->n4 : b->n6, family == 4 ? b->v4 : b->v6};
	ret->d[PSPACE_KEY] = (struct pspace_list){1, &key};
	ret->d[PSPACE_SPORT] = (struct pspace_list){1, &sport};
	return ret->d[PSPACE_SRC].n && ret->d[PSPACE_DST].n;
}

/* Smallest value >= v in the list; false if none. */
static bool list_first_ge(const struct ip_range *r, uint32_t n, u128 v, u128 *ret)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) { /* first range with hi >= v */
		uint32_t mid = lo + (hi - lo) / 2;
		if (r[mid].hi < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n)
		return false;
	*ret = r[lo].lo > v ? r[lo].lo : v;
	return true;
}

static void list_copy(struct pspace_list *dst, const struct ip_range *r, uint32_t n)
{
	dst->n = n;
	dst->r = n ? xreallocarray(NULL, n, sizeof *r) : NULL;
	if (n)
		memcpy(dst->r, r, n * sizeof *r);
}

/* ---- terms --------------------------------------------------------------- */

void pspace_term_universe(struct pspace_term *t, int family)
{
	const u128 *max = family == 4 ? dim_max_v4 : dim_max_v6;
	for (int d = 0; d < PSPACE_NDIM; d++) {
		struct ip_range r = {0, max[d]};
		list_copy(&t->d[d], &r, 1);
	}
}

void pspace_term_free(struct pspace_term *t)
{
	if (!t)
		return;
	for (int d = 0; d < PSPACE_NDIM; d++) {
		free(t->d[d].r);
		t->d[d].r = NULL;
		t->d[d].n = 0;
	}
}

void pspace_term_copy(struct pspace_term *dst, const struct pspace_term *src)
{
	for (int d = 0; d < PSPACE_NDIM; d++)
		list_copy(&dst->d[d], src->d[d].r, src->d[d].n);
}

bool pspace_term_is_empty(const struct pspace_term *t)
{
	for (int d = 0; d < PSPACE_NDIM; d++)
		if (!t->d[d].n)
			return true;
	return false;
}

bool pspace_term_contains(const struct pspace_term *t, const struct pspace_point *p)
{
	for (int d = 0; d < PSPACE_NDIM; d++)
		if (!list_contains(t->d[d].r, t->d[d].n, p->v[d]))
			return false;
	return true;
}

/* On false, ret holds no allocation (all lists empty); either way
 * pspace_term_free(ret) is right. */
bool pspace_term_intersect(const struct pspace_term *a, const struct pspace_term *b, struct pspace_term *ret)
{
	memset(ret, 0, sizeof *ret);
	for (int d = 0; d < PSPACE_NDIM; d++) {
		uint32_t cap = a->d[d].n + b->d[d].n;
		struct ip_range *tmp = xreallocarray(NULL, cap ? cap : 1, sizeof *tmp);
		uint32_t n = list_intersect(a->d[d].r, a->d[d].n, b->d[d].r, b->d[d].n, tmp);
		if (!n) {
			free(tmp);
			pspace_term_free(ret);
			return false;
		}
		ret->d[d].r = tmp;
		ret->d[d].n = n;
	}
	return true;
}

bool pspace_term_intersects(const struct pspace_term *a, const struct pspace_term *b)
{
	for (int d = 0; d < PSPACE_NDIM; d++)
		if (!list_intersects(a->d[d].r, a->d[d].n, b->d[d].r, b->d[d].n))
			return false;
	return true;
}

bool pspace_term_covers(const struct pspace_term *a, const struct pspace_term *b)
{
	if (pspace_term_is_empty(b))
		return true;
	for (int d = 0; d < PSPACE_NDIM; d++)
		if (!list_subset(b->d[d].r, b->d[d].n, a->d[d].r, a->d[d].n))
			return false;
	return true;
}

/* One term per distinct sport range: services sharing a sport range are one
 * product (their keys unioned); different sport ranges cannot be merged
 * into one product without covering key x sport pairs the rule lacks. */
void pspace_rule_terms(const struct policy_rule *r, int family, struct pspace_term **v, size_t *n, size_t *cap)
{
	const struct ip_range *src = family == 4 ? r->src.v4 : r->src.v6;
	const struct ip_range *dst = family == 4 ? r->dst.v4 : r->dst.v6;
	uint32_t nsrc = family == 4 ? r->src.n4 : r->src.n6;
	uint32_t ndst = family == 4 ? r->dst.n4 : r->dst.n6;
	if (!nsrc || !ndst || !r->nsvc)
		return;

	struct ip_range *keys = xreallocarray(NULL, r->nsvc, sizeof *keys);
	bool *done = xcalloc(r->nsvc, sizeof *done);
	for (uint32_t i = 0; i < r->nsvc; i++) {
		if (done[i])
			continue;
		uint16_t slo = r->svc[i].sport_lo, shi = r->svc[i].sport_hi;
		uint32_t nk = 0;
		for (uint32_t j = i; j < r->nsvc; j++) {
			if (done[j] || r->svc[j].sport_lo != slo || r->svc[j].sport_hi != shi)
				continue;
			done[j] = true;
			keys[nk++] = (struct ip_range){r->svc[j].key_lo, r->svc[j].key_hi};
		}
		nk = (uint32_t)policy_ip_ranges_normalize(keys, nk);

		xgrow(v, cap, *n + 1, sizeof **v);
		struct pspace_term *t = &(*v)[(*n)++];
		list_copy(&t->d[PSPACE_SRC], src, nsrc);
		list_copy(&t->d[PSPACE_DST], dst, ndst);
		list_copy(&t->d[PSPACE_KEY], keys, nk);
		struct ip_range sp = {slo, shi};
		list_copy(&t->d[PSPACE_SPORT], &sp, 1);
	}
	free(done);
	free(keys);
}

void pspace_point_packet(const struct pspace_point *pt, int family, uint8_t from, uint8_t to, struct policy_packet *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->from_zone = from;
	ret->to_zone = to;
	ret->family = (uint8_t)family;
	ret->src = pt->v[PSPACE_SRC];
	ret->dst = pt->v[PSPACE_DST];
	ret->key = (uint32_t)pt->v[PSPACE_KEY];
	ret->proto = (uint8_t)(ret->key >> 16);
	ret->sport = (uint16_t)pt->v[PSPACE_SPORT];
}

/* ---- witness search ------------------------------------------------------ */

/* A piece: per dimension a run of ranges in the search arena.  Pieces share
 * runs (the parts of a split keep their parent's runs where unchanged). */
struct wpiece {
	size_t off[PSPACE_NDIM];
	uint32_t n[PSPACE_NDIM];
};

/* One split: its pieces (children) still to examine and the covers left for
 * them.  Popping a frame releases everything pushed since it was made. */
struct wframe {
	size_t seg_off, seg_n; /* candidate covers, in ws.idx */
	size_t child_first, nchild, next;
	size_t arena_mark, piece_mark, idx_mark;
};

struct wstate {
	struct ip_range *ar;
	size_t nar, capar;
	uint32_t *idx;
	size_t nidx, capidx;
	struct wpiece *pc;
	size_t npc, cappc;
	struct wframe *fr;
	size_t nfr, capfr;
};

static bool budget_take(struct pspace_budget *b)
{
	if (!b->steps)
		return false;
	b->steps--;
	return true;
}

static bool proto_is_icmp(unsigned p)
{
	return p == 1 || p == 58;
}

/* The smallest valid key of protocol p in keys, with its sport: port
 * protocols take any port and the lowest allowed sport; ICMP any
 * type/code but sport 0; other protocols only key p<<16 and sport 0. */
static bool pick_proto(const struct ip_range *k, uint32_t nk, const struct ip_range *s, uint32_t ns, unsigned p,
		       u128 *ret_key, u128 *ret_sport)
{
	u128 base = (u128)p << 16, key;
	if (!list_first_ge(k, nk, base, &key) || key > (base | 0xffff))
		return false;
	if (table_proto_has_ports((uint8_t)p)) {
		*ret_key = key;
		*ret_sport = s[0].lo;
		return true;
	}
	if (s[0].lo != 0)
		return false;
	if (!proto_is_icmp(p) && key != base)
		return false;
	*ret_key = key;
	*ret_sport = 0;
	return true;
}

/* A real packet in the piece, or false when the piece holds none (only
 * keys no packet can have, e.g. a port on GRE, or a sport on ICMP).
 * Addresses: the low end.  Protocol: tcp, then udp, icmp, icmpv6 when the
 * piece has them (staff read "tcp ... :443" more easily than "proto 0"),
 * else the lowest protocol that has a valid packet. */
static bool pick_point(const struct wstate *ws, const struct wpiece *p, struct pspace_point *ret)
{
	static const unsigned pref[] = {6, 17, 1, 58};
	const struct ip_range *k = ws->ar + p->off[PSPACE_KEY], *s = ws->ar + p->off[PSPACE_SPORT];
	uint32_t nk = p->n[PSPACE_KEY], ns = p->n[PSPACE_SPORT];
	u128 key = 0, sport = 0;
	bool ok = false;
	for (size_t i = 0; i < sizeof pref / sizeof pref[0] && !ok; i++)
		ok = pick_proto(k, nk, s, ns, pref[i], &key, &sport);
	for (unsigned pr = (unsigned)(k[0].lo >> 16); !ok && pr <= (unsigned)(k[nk - 1].hi >> 16); pr++)
		ok = pick_proto(k, nk, s, ns, pr, &key, &sport);
	if (!ok)
		return false;
	ret->v[PSPACE_SRC] = ws->ar[p->off[PSPACE_SRC]].lo;
	ret->v[PSPACE_DST] = ws->ar[p->off[PSPACE_DST]].lo;
	ret->v[PSPACE_KEY] = key;
	ret->v[PSPACE_SPORT] = sport;
	return true;
}

static bool piece_intersects(const struct wstate *ws, const struct wpiece *p, const struct pspace_term *c)
{
	for (int d = 0; d < PSPACE_NDIM; d++)
		if (!list_intersects(ws->ar + p->off[d], p->n[d], c->d[d].r, c->d[d].n))
			return false;
	return true;
}

static bool piece_covered(const struct wstate *ws, const struct wpiece *p, const struct pspace_term *c)
{
	for (int d = 0; d < PSPACE_NDIM; d++)
		if (!list_subset(ws->ar + p->off[d], p->n[d], c->d[d].r, c->d[d].n))
			return false;
	return true;
}

/* Append to the piece stack the disjoint parts of p outside c, dimension by
 * dimension: part d agrees with c on dimensions before d, lies outside c on
 * d, and is unrestricted after d.  p must intersect c and not be covered. */
static size_t piece_split(struct wstate *ws, struct wpiece p, const struct pspace_term *c)
{
	size_t need = 0;
	for (int d = 0; d < PSPACE_NDIM; d++)
		need += 2 * ((size_t)p.n[d] + c->d[d].n);
	xgrow(&ws->ar, &ws->capar, ws->nar + need, sizeof *ws->ar);
	xgrow(&ws->pc, &ws->cappc, ws->npc + PSPACE_NDIM, sizeof *ws->pc);

	size_t inter_off[PSPACE_NDIM];
	uint32_t inter_n[PSPACE_NDIM];
	size_t made = 0;
	for (int d = 0; d < PSPACE_NDIM; d++) {
		const struct ip_range *pr = ws->ar + p.off[d];
		size_t doff = ws->nar;
		uint32_t dn = list_diff(pr, p.n[d], c->d[d].r, c->d[d].n, ws->ar + doff);
		ws->nar += dn;
		if (dn) {
			struct wpiece *q = &ws->pc[ws->npc++];
			for (int e = 0; e < d; e++) {
				q->off[e] = inter_off[e];
				q->n[e] = inter_n[e];
			}
			q->off[d] = doff;
			q->n[d] = dn;
			for (int e = d + 1; e < PSPACE_NDIM; e++) {
				q->off[e] = p.off[e];
				q->n[e] = p.n[e];
			}
			made++;
		}
		inter_off[d] = ws->nar;
		inter_n[d] = list_intersect(pr, p.n[d], c->d[d].r, c->d[d].n, ws->ar + ws->nar);
		ws->nar += inter_n[d];
	}
	return made;
}

static void wstate_free(struct wstate *ws)
{
	free(ws->ar);
	free(ws->idx);
	free(ws->pc);
	free(ws->fr);
}

int pspace_witness(const struct pspace_term *q, const struct pspace_term *const *covers, size_t ncovers,
		   struct pspace_budget *b, struct pspace_point *ret)
{
	if (pspace_term_is_empty(q))
		return 0;
	if (ncovers > UINT32_MAX)
		return -E2BIG;

	struct wstate ws = {0};
	int rc = 0;

	/* root: q itself, with every cover as a candidate */
	struct wpiece root;
	size_t total = 0;
	for (int d = 0; d < PSPACE_NDIM; d++)
		total += q->d[d].n;
	xgrow(&ws.ar, &ws.capar, total, sizeof *ws.ar);
	for (int d = 0; d < PSPACE_NDIM; d++) {
		root.off[d] = ws.nar;
		root.n[d] = q->d[d].n;
		memcpy(ws.ar + ws.nar, q->d[d].r, q->d[d].n * sizeof *ws.ar);
		ws.nar += q->d[d].n;
	}
	xgrow(&ws.pc, &ws.cappc, 1, sizeof *ws.pc);
	ws.pc[ws.npc++] = root;
	xgrow(&ws.idx, &ws.capidx, ncovers, sizeof *ws.idx);
	for (size_t i = 0; i < ncovers; i++)
		ws.idx[ws.nidx++] = (uint32_t)i;
	xgrow(&ws.fr, &ws.capfr, 1, sizeof *ws.fr);
	ws.fr[ws.nfr++] = (struct wframe){.seg_off = 0, .seg_n = ncovers, .child_first = 0, .nchild = 1};

	while (ws.nfr) {
		struct wframe *f = &ws.fr[ws.nfr - 1];
		if (f->next == f->nchild) {
			ws.nar = f->arena_mark;
			ws.npc = f->piece_mark;
			ws.nidx = f->idx_mark;
			ws.nfr--;
			continue;
		}
		/* last part first: it agrees with the cover on the most
		 * dimensions, so few covers meet it and it resolves quickly;
		 * the large "everything else" part is searched last */
		struct wpiece p = ws.pc[f->child_first + (f->nchild - 1 - f->next++)];
		size_t seg_off = f->seg_off, seg_n = f->seg_n;

		/* the covers that meet this piece; one that contains it ends the branch */
		xgrow(&ws.idx, &ws.capidx, ws.nidx + seg_n, sizeof *ws.idx);
		size_t s_off = ws.nidx;
		bool covered = false;
		for (size_t k = 0; k < seg_n; k++) {
			uint32_t c = ws.idx[seg_off + k];
			if (!budget_take(b)) {
				rc = -E2BIG;
				goto out;
			}
			if (!piece_intersects(&ws, &p, covers[c]))
				continue;
			if (piece_covered(&ws, &p, covers[c])) {
				covered = true;
				break;
			}
			ws.idx[ws.nidx++] = c;
		}
		if (covered) {
			ws.nidx = s_off;
			continue;
		}
		size_t s_n = ws.nidx - s_off;
		if (!s_n) {
			if (pick_point(&ws, &p, ret)) {
				rc = 1;
				goto out;
			}
			ws.nidx = s_off; /* no real packet here */
			continue;
		}
		if (!budget_take(b)) {
			rc = -E2BIG;
			goto out;
		}
		size_t arena_mark = ws.nar, piece_mark = ws.npc;
		size_t made = piece_split(&ws, p, covers[ws.idx[s_off]]);
		xgrow(&ws.fr, &ws.capfr, ws.nfr + 1, sizeof *ws.fr);
		ws.fr[ws.nfr++] = (struct wframe){
			.seg_off = s_off + 1,
			.seg_n = s_n - 1,
			.child_first = piece_mark,
			.nchild = made,
			.next = 0,
			.arena_mark = arena_mark,
			.piece_mark = piece_mark,
			.idx_mark = s_off,
		};
	}
out:
	wstate_free(&ws);
	return rc;
}

/* ---- index of a policy's rule terms -------------------------------------- */

/* Per dimension, the terms' bounding intervals as an implicit balanced tree
 * over the array sorted by low end, each node holding the highest high end
 * of its subtree: overlap queries cost O(log n + answers), and the number
 * of answers is known beforehand from two binary searches, so a query uses
 * the most selective of src, dst and key. */
enum { IX_NDIM = 3 };

struct ix_ent {
	u128 lo, hi;
	uint32_t term;
};

struct pspace_index {
	size_t n;
	struct ix_ent *e; /* sorted by lo */
	u128 *submax;
	u128 *his; /* every hi, sorted */
};

struct pspace_table {
	int family;
	uint32_t nrules;
	size_t *first; /* nrules + 1: terms of rule i are first[i]..first[i+1]-1 */
	struct pspace_term *terms;
	size_t nterms, capterms;
	uint32_t *term_rule;
	struct ip_range *pool; /* every term's ranges, packed for locality */
	struct pspace_index ix[IX_NDIM];
};

/* Ties broken by term so that answers come in the same order everywhere
 * (the search, and so the counterexample shown, follow this order). */
static int ent_cmp(const void *a, const void *b)
{
	const struct ix_ent *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->term < y->term ? -1 : x->term > y->term;
}

static int u128_cmp(const void *a, const void *b)
{
	const u128 *x = a, *y = b;
	return *x < *y ? -1 : *x > *y;
}

static u128 ix_build_max(struct pspace_index *ix, size_t a, size_t b)
{
	size_t m = a + (b - a) / 2;
	u128 mx = ix->e[m].hi;
	if (a < m) {
		u128 l = ix_build_max(ix, a, m);
		if (l > mx)
			mx = l;
	}
	if (m + 1 < b) {
		u128 r = ix_build_max(ix, m + 1, b);
		if (r > mx)
			mx = r;
	}
	ix->submax[m] = mx;
	return mx;
}

static void ix_build(struct pspace_index *ix, const struct pspace_term *terms, size_t n, int dim)
{
	ix->n = n;
	ix->e = xreallocarray(NULL, n ? n : 1, sizeof *ix->e);
	ix->submax = xreallocarray(NULL, n ? n : 1, sizeof *ix->submax);
	ix->his = xreallocarray(NULL, n ? n : 1, sizeof *ix->his);
	for (size_t i = 0; i < n; i++) {
		const struct pspace_list *l = &terms[i].d[dim];
		ix->e[i] = (struct ix_ent){l->r[0].lo, l->r[l->n - 1].hi, (uint32_t)i};
		ix->his[i] = ix->e[i].hi;
	}
	qsort(ix->e, n, sizeof *ix->e, ent_cmp);
	qsort(ix->his, n, sizeof *ix->his, u128_cmp);
	if (n)
		ix_build_max(ix, 0, n);
}

/* How many bounding intervals overlap [lo, hi]: those starting at or
 * before hi, less those ending before lo (which all start before hi). */
static size_t ix_count(const struct pspace_index *ix, u128 lo, u128 hi)
{
	size_t a = 0, b = ix->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (ix->e[m].lo <= hi)
			a = m + 1;
		else
			b = m;
	}
	size_t starting = a;
	a = 0, b = ix->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (ix->his[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	return starting - a;
}

struct ix_out {
	uint32_t *v; /* room reserved for every answer (ix_count) */
	size_t n;
};

static void ix_query(const struct pspace_index *ix, size_t a, size_t b, u128 lo, u128 hi, struct ix_out *o)
{
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (ix->submax[m] < lo)
			return;
		ix_query(ix, a, m, lo, hi, o); /* depth is log2(n) */
		if (ix->e[m].lo > hi)
			return;
		if (ix->e[m].hi >= lo)
			o->v[o->n++] = ix->e[m].term;
		a = m + 1;
	}
}

struct pspace_table *pspace_table_new(const struct policy_rule *rules, uint32_t nrules, int family)
{
	struct pspace_table *t = xcalloc(1, sizeof *t);
	t->family = family;
	t->nrules = nrules;
	t->first = xreallocarray(NULL, (size_t)nrules + 1, sizeof *t->first);
	for (uint32_t i = 0; i < nrules; i++) {
		t->first[i] = t->nterms;
		pspace_rule_terms(&rules[i], family, &t->terms, &t->nterms, &t->capterms);
	}
	t->first[nrules] = t->nterms;
	/* pack the ranges: candidate filtering walks many terms, and one pool
	 * keeps them in cache instead of four allocations per term */
	size_t total = 0;
	for (size_t k = 0; k < t->nterms; k++)
		for (int d = 0; d < PSPACE_NDIM; d++)
			total += t->terms[k].d[d].n;
	t->pool = xreallocarray(NULL, total ? total : 1, sizeof *t->pool);
	total = 0;
	for (size_t k = 0; k < t->nterms; k++)
		for (int d = 0; d < PSPACE_NDIM; d++) {
			struct pspace_list *l = &t->terms[k].d[d];
			memcpy(t->pool + total, l->r, l->n * sizeof *l->r);
			free(l->r);
			l->r = t->pool + total;
			total += l->n;
		}
	t->term_rule = xreallocarray(NULL, t->nterms ? t->nterms : 1, sizeof *t->term_rule);
	for (uint32_t i = 0; i < nrules; i++)
		for (size_t k = t->first[i]; k < t->first[i + 1]; k++)
			t->term_rule[k] = i;
	for (int d = 0; d < IX_NDIM; d++)
		ix_build(&t->ix[d], t->terms, t->nterms, d);
	return t;
}

void pspace_table_free(struct pspace_table *t)
{
	if (!t)
		return;
	free(t->pool); /* the terms' ranges */
	free(t->terms);
	free(t->first);
	free(t->term_rule);
	for (int d = 0; d < IX_NDIM; d++) {
		free(t->ix[d].e);
		free(t->ix[d].submax);
		free(t->ix[d].his);
	}
	free(t);
}

size_t pspace_table_nterms(const struct pspace_table *t)
{
	return t->nterms;
}

const struct pspace_term *pspace_table_term(const struct pspace_table *t, size_t i)
{
	return &t->terms[i];
}

uint32_t pspace_table_term_rule(const struct pspace_table *t, size_t i)
{
	return t->term_rule[i];
}

void pspace_table_rule_terms(const struct pspace_table *t, uint32_t rule, size_t *ret_first, size_t *ret_n)
{
	*ret_first = t->first[rule];
	*ret_n = t->first[rule + 1] - t->first[rule];
}

/* Appends to *v the terms whose bounding box meets q's on the most
 * selective dimension, in a fixed order (not rule order).  A superset of
 * the terms that intersect q: callers test exactly.  One step per answer. */
int pspace_table_query(const struct pspace_table *t, const struct pspace_term *q, struct pspace_budget *b, uint32_t **v,
		       size_t *n, size_t *cap)
{
	if (pspace_term_is_empty(q) || !t->nterms)
		return 0;
	int best = 0;
	size_t best_n = SIZE_MAX;
	for (int d = 0; d < IX_NDIM; d++) {
		size_t c = ix_count(&t->ix[d], q->d[d].r[0].lo, q->d[d].r[q->d[d].n - 1].hi);
		if (c < best_n) {
			best_n = c;
			best = d;
		}
	}
	if (b->steps < best_n) {
		b->steps = 0;
		return -E2BIG;
	}
	b->steps -= best_n;
	xgrow(v, cap, *n + best_n, sizeof **v);
	struct ix_out o = {*v + *n, 0};
	ix_query(&t->ix[best], 0, t->ix[best].n, q->d[best].r[0].lo, q->d[best].r[q->d[best].n - 1].hi, &o);
	*n += o.n; /* == best_n */
	return 0;
}
