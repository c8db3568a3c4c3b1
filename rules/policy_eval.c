/* policy_eval: the syntax tree that policy_load_files read (struct
 * policy_source, policy_load.h) into the normalised policy (policy.h).  It
 * reads no file and no clock: the source carries the files, the source
 * hash and the date.
 *
 * Stages:
 *   1. (policy_load.c: files, includes, lexing, parsing, source hash);
 *   2. definitions: zones, address objects, services, each in its own
 *      namespace (hash tables), so definitions may follow their use;
 *   3. zones in detail, then every object resolved (groups through a
 *      depth-first walk that finds cycles), then rules, defaults and
 *      invariants in source order;
 *   4. implicit invariants, unused-object warnings, expiry.
 * Every error is recorded and evaluation goes on, so one run shows them
 * all; if there was any, the policy is freed and -EINVAL returned.  The
 * diagnostics of one load are finally sorted by place (file order, line,
 * column), each note staying with the entry it explains.
 *
 * Ownership: the returned policy owns everything in it (policy_free); the
 * syntax tree and all scratch state are freed before returning.  The diag
 * keeps copies of the sources.  Allocation failures abort (xalloc). */
#include "rules/policy_eval.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "rules/policy_ast.h"
#include "rules/policy_lex.h"
#include "rules/policy_parse.h"

/* Work allowed for "did you mean" suggestions over a whole load. */
#define EV_SUGGEST_BUDGET 4000000u

/* ---------------------------------------------------------------- values */

static bool ev_is_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static unsigned ev_digits_value(const char *s, size_t n)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

int policy_eval_date(const char *s, size_t n)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (n != 10 || s[4] != '-' || s[7] != '-' || !ev_is_digits(s, 4) || !ev_is_digits(s + 5, 2) ||
	    !ev_is_digits(s + 8, 2))
		return -EINVAL;
	unsigned y = ev_digits_value(s, 4), m = ev_digits_value(s + 5, 2), d = ev_digits_value(s + 8, 2);
	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return -EINVAL;
	unsigned max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max ? 0 : -EINVAL;
}

__attribute__((format(printf, 4, 5))) static int ev_why(struct policy_why *why, size_t off, size_t len, const char *fmt,
							...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof why->msg, _(fmt), ap);
	va_end(ap);
	why->off = (uint32_t)off;
	why->len = (uint32_t)len;
	return -EINVAL;
}

/* A number 0..max; s[0..n) is part of a larger text starting off bytes in. */
static int ev_number(const char *s, size_t n, unsigned max, const char *what, size_t off, unsigned *ret,
		     struct policy_why *why)
{
	if (!ev_is_digits(s, n))
		return ev_why(why, off, n, "invalid %s '%.*s' (expected a number 0-%u)", what, (int)(n > 40 ? 40 : n),
			      s, max);
	/* more than 9 digits cannot be in range and would overflow */
	if (n > 9 || ev_digits_value(s, n) > max)
		return ev_why(why, off, n, "%s %.*s is out of range (0-%u)", what, (int)(n > 40 ? 40 : n), s, max);
	*ret = ev_digits_value(s, n);
	return 0;
}

/* PORTS := N | N-M | any */
static int ev_ports(const char *s, size_t n, size_t off, uint16_t *lo, uint16_t *hi, struct policy_why *why)
{
	unsigned a, b;
	if (n == 3 && !memcmp(s, "any", 3)) {
		*lo = 0;
		*hi = 65535;
		return 0;
	}
	if (n == 0)
		return ev_why(why, off, 0, "missing port (expected N, N-M or any)");
	const char *dash = memchr(s, '-', n);
	if (!dash) {
		if (ev_number(s, n, 65535, _("port"), off, &a, why) < 0)
			return -EINVAL;
		*lo = *hi = (uint16_t)a;
		return 0;
	}
	size_t an = (size_t)(dash - s);
	if (ev_number(s, an, 65535, _("port"), off, &a, why) < 0 ||
	    ev_number(dash + 1, n - an - 1, 65535, _("port"), off + an + 1, &b, why) < 0)
		return -EINVAL;
	if (a > b)
		return ev_why(why, off, n, "port range %u-%u is backwards", a, b);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* protocol names: policy_protocols (policy.c), shared with explain */
static const struct policy_name_num ev_icmp4_types[] =
	{
		{"echo-reply", 0},           {"destination-unreachable", 3},
		{"source-quench", 4},        {"redirect", 5},
		{"echo-request", 8},         {"router-advertisement", 9},
		{"router-solicitation", 10}, {"time-exceeded", 11},
		{"parameter-problem", 12},   {"timestamp", 13},
		{"timestamp-reply", 14},
},
				    ev_icmp6_types[] = {
					    {"destination-unreachable", 1}, {"packet-too-big", 2},
					    {"time-exceeded", 3},           {"parameter-problem", 4},
					    {"echo-request", 128},          {"echo-reply", 129},
					    {"mld-listener-query", 130},    {"mld-listener-report", 131},
					    {"mld-listener-done", 132},     {"nd-router-solicit", 133},
					    {"nd-router-advert", 134},      {"nd-neighbor-solicit", 135},
					    {"nd-neighbor-advert", 136},    {"nd-redirect", 137},
					    {"mld2-listener-report", 143},
};

static int ev_lookup_num(const struct policy_name_num *t, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len && !memcmp(t[i].name, s, len))
			return (int)t[i].num;
	return -1;
}

static const char *ev_suggest_num(const struct policy_name_num *t, size_t n, const char *s, size_t len)
{
	const char *words[32];
	for (size_t i = 0; i < n && i < 32; i++)
		words[i] = t[i].name;
	return policy_parse_suggest(s, len, words, n < 32 ? n : 32);
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* icmp/icmpv6 argument TYPE[:CODE] | any */
static int ev_icmp(unsigned proto, const char *s, size_t n, size_t off, struct svc_range *r, struct policy_why *why)
{
	const struct policy_name_num *t = proto == 1 ? ev_icmp4_types : ev_icmp6_types;
	size_t nt = proto == 1 ? NELEM(ev_icmp4_types) : NELEM(ev_icmp6_types);
	const char *colon = memchr(s, ':', n);
	size_t tn = colon ? (size_t)(colon - s) : n;
	unsigned type, code_lo = 0, code_hi = 255;

	if (n == 3 && !memcmp(s, "any", 3)) {
		r->key_lo = SVC_KEY(proto, 0);
		r->key_hi = SVC_KEY(proto, 0xffff);
		return 0;
	}
	if (tn && s[0] >= '0' && s[0] <= '9') {
		if (ev_number(s, tn, 255, _("ICMP type"), off, &type, why) < 0)
			return -EINVAL;
	} else {
		int v = ev_lookup_num(t, nt, s, tn);
		if (v < 0 &&
		    ev_lookup_num(proto == 1 ? ev_icmp6_types : ev_icmp4_types,
				  proto == 1 ? NELEM(ev_icmp6_types) : NELEM(ev_icmp4_types), s, tn) >= 0)
			return ev_why(why, off, tn, "'%.*s' is an %s type; write %s/%.*s", (int)tn, s,
				      proto == 1 ? "ICMPv6" : "ICMP (IPv4)", proto == 1 ? "icmpv6" : "icmp", (int)tn,
				      s);
		if (v < 0) {
			const char *sug = ev_suggest_num(t, nt, s, tn);
			if (sug)
				return ev_why(why, off, tn, "unknown %s type '%.*s'; did you mean '%s'?",
					      proto == 1 ? "ICMP" : "ICMPv6", (int)(tn > 40 ? 40 : tn), s, sug);
			return ev_why(why, off, tn,
				      "unknown %s type '%.*s' (use a number 0-255 or a "
				      "name such as echo-request)",
				      proto == 1 ? "ICMP" : "ICMPv6", (int)(tn > 40 ? 40 : tn), s);
		}
		type = (unsigned)v;
	}
	if (colon) {
		unsigned code;
		if (ev_number(colon + 1, n - tn - 1, 255, _("ICMP code"), off + tn + 1, &code, why) < 0)
			return -EINVAL;
		code_lo = code_hi = code;
	}
	r->key_lo = SVC_KEY(proto, type << 8 | code_lo);
	r->key_hi = SVC_KEY(proto, type << 8 | code_hi);
	return 0;
}

int policy_eval_spec(const char *spec, size_t n, const char *sport, size_t sn, struct svc_range *r,
		     struct policy_why *why)
{
	static const char *const protowords[] = {"tcp", "udp", "sctp", "udplite", "dccp", "icmp", "icmpv6", "proto"};
	const char *slash = memchr(spec, '/', n);
	size_t pn = slash ? (size_t)(slash - spec) : n;
	const char *arg = slash ? slash + 1 : NULL;
	size_t an = slash ? n - pn - 1 : 0, aoff = pn + 1;
	unsigned proto;

	memset(why, 0, sizeof *why);
	*r = (struct svc_range){0, SVC_KEY_MAX, 0, 65535};
	if (n == 3 && !memcmp(spec, "any", 3)) {
		if (sport)
			goto no_sport;
		return 0;
	}
	if (pn == 5 && !memcmp(spec, "proto", 5)) {
		if (!slash)
			return ev_why(why, 0, n, "'proto' needs a protocol: proto/NUMBER or proto/NAME");
		if (an && arg[0] >= '0' && arg[0] <= '9') {
			if (ev_number(arg, an, 255, _("protocol number"), aoff, &proto, why) < 0)
				return -EINVAL;
		} else {
			int v = policy_proto_by_name(arg, an);
			if (v < 0) {
				const char *sug = ev_suggest_num(policy_protocols, policy_nprotocols, arg, an);
				if (sug)
					return ev_why(why, aoff, an, "unknown protocol '%.*s'; did you mean '%s'?",
						      (int)(an > 40 ? 40 : an), arg, sug);
				return ev_why(why, aoff, an, "unknown protocol '%.*s' (use a number 0-255)",
					      (int)(an > 40 ? 40 : an), arg);
			}
			proto = (unsigned)v;
		}
		r->key_lo = SVC_KEY(proto, 0);
		r->key_hi = SVC_KEY(proto, 0xffff);
		if (sport)
			goto no_sport;
		return 0;
	}
	int v = policy_proto_by_name(spec, pn);
	if (v < 0 || !(table_proto_has_ports((uint8_t)v) || v == 1 || v == 58)) {
		const char *sug = policy_parse_suggest(spec, pn, protowords, NELEM(protowords));
		if (sug)
			return ev_why(why, 0, pn, "unknown protocol '%.*s'; did you mean '%s'?",
				      (int)(pn > 40 ? 40 : pn), spec, sug);
		return ev_why(why, 0, pn,
			      "unknown protocol '%.*s' (expected tcp, udp, sctp, udplite, "
			      "dccp, icmp, icmpv6 or proto/P)",
			      (int)(pn > 40 ? 40 : pn), spec);
	}
	proto = (unsigned)v;
	if (proto == 1 || proto == 58) {
		if (slash && ev_icmp(proto, arg, an, aoff, r, why) < 0)
			return -EINVAL;
		if (!slash) {
			r->key_lo = SVC_KEY(proto, 0);
			r->key_hi = SVC_KEY(proto, 0xffff);
		}
		if (sport)
			goto no_sport;
		return 0;
	}
	uint16_t lo = 0, hi = 65535;
	if (slash && ev_ports(arg, an, aoff, &lo, &hi, why) < 0)
		return -EINVAL;
	r->key_lo = SVC_KEY(proto, lo);
	r->key_hi = SVC_KEY(proto, hi);
	if (sport) {
		if (ev_ports(sport, sn, 0, &r->sport_lo, &r->sport_hi, why) < 0) {
			why->in_sport = true;
			return -EINVAL;
		}
	}
	return 0;
no_sport:
	why->in_sport = true;
	return ev_why(why, 0, sn, "sport applies only to tcp, udp, sctp, udplite and dccp");
}

static int ev_svc_cmp_final(const void *a, const void *b)
{
	const struct svc_range *x = a, *y = b;
	if (x->sport_lo != y->sport_lo)
		return x->sport_lo < y->sport_lo ? -1 : 1;
	if (x->key_lo != y->key_lo)
		return x->key_lo < y->key_lo ? -1 : 1;
	if (x->sport_hi != y->sport_hi)
		return x->sport_hi < y->sport_hi ? -1 : 1;
	return x->key_hi < y->key_hi ? -1 : x->key_hi > y->key_hi;
}

size_t policy_eval_svc_normalize(struct svc_range *v, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].key_lo == 0 && v[i].key_hi == SVC_KEY_MAX && v[i].sport_lo == 0 && v[i].sport_hi == 65535) {
			v[0] = v[i];
			return 1;
		}
	}
	/* entries with the same source ports are adjacent in this order */
	qsort(v, n, sizeof *v, policy_svc_cmp);
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		struct svc_range *prev = out ? &v[out - 1] : NULL;
		if (prev && prev->sport_lo == v[i].sport_lo && prev->sport_hi == v[i].sport_hi &&
		    v[i].key_lo <= prev->key_hi + 1) {
			if (v[i].key_hi > prev->key_hi)
				prev->key_hi = v[i].key_hi;
		} else {
			v[out++] = v[i];
		}
	}
	qsort(v, out, sizeof *v, ev_svc_cmp_final);
	return out;
}

/* ------------------------------------------------------- address sets */

/* An address set being built: ranges per family (0: IPv4, 1: IPv6). */
struct aset {
	struct ip_range *v[2];
	size_t n[2], cap[2];
	bool sorted;
};

static void aset_add(struct aset *a, int family, u128 lo, u128 hi)
{
	int f = family == 4 ? 0 : 1;
	xgrow(&a->v[f], &a->cap[f], a->n[f] + 1, sizeof *a->v[f]);
	a->v[f][a->n[f]++] = (struct ip_range){lo, hi};
	a->sorted = false;
}

static void aset_add_any(struct aset *a)
{
	aset_add(a, 4, 0, INADDR_V4_MAX);
	aset_add(a, 6, 0, U128_MAX);
}

static void aset_add_set(struct aset *a, const struct aset *b)
{
	for (int f = 0; f < 2; f++) {
		if (!b->n[f])
			continue;
		xgrow(&a->v[f], &a->cap[f], a->n[f] + b->n[f], sizeof *a->v[f]);
		memcpy(a->v[f] + a->n[f], b->v[f], b->n[f] * sizeof *b->v[f]);
		a->n[f] += b->n[f];
	}
	a->sorted = false;
}

static void aset_normalize(struct aset *a)
{
	if (a->sorted)
		return;
	for (int f = 0; f < 2; f++)
		a->n[f] = policy_ip_ranges_normalize(a->v[f], a->n[f]);
	a->sorted = true;
}

static void aset_free(struct aset *a)
{
	free(a->v[0]);
	free(a->v[1]);
	memset(a, 0, sizeof *a);
}

/* Is every range of a (normalised) inside u (normalised)? */
static bool aset_subset(const struct aset *a, const struct aset *u)
{
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < a->n[f]; i++) {
			u128 lo = a->v[f][i].lo, hi = a->v[f][i].hi;
			size_t l = 0, h = u->n[f];
			bool in = false;
			while (l < h) {
				size_t mid = l + (h - l) / 2;
				if (lo < u->v[f][mid].lo)
					h = mid;
				else if (lo > u->v[f][mid].hi)
					l = mid + 1;
				else {
					in = hi <= u->v[f][mid].hi;
					break;
				}
			}
			if (!in)
				return false;
		}
	}
	return true;
}

/* Move a normalised aset into an addr_set. */
static void aset_take(struct aset *a, struct addr_set *out)
{
	aset_normalize(a);
	out->n4 = (uint32_t)a->n[0];
	out->n6 = (uint32_t)a->n[1];
	out->v4 = a->n[0] ? xreallocarray(a->v[0], a->n[0], sizeof *a->v[0]) : (free(a->v[0]), NULL);
	out->v6 = a->n[1] ? xreallocarray(a->v[1], a->n[1], sizeof *a->v[1]) : (free(a->v[1]), NULL);
	memset(a, 0, sizeof *a);
}

static void aset_copy_out(const struct aset *a, struct addr_set *out)
{
	struct aset c = {0};
	aset_add_set(&c, a);
	aset_take(&c, out);
}

/* ------------------------------------------------------------ hashing */

struct hslot {
	const char *key;
	uint32_t val;
};

struct htab {
	struct hslot *s;
	size_t cap, n;
};

static uint64_t ev_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static long htab_get(const struct htab *h, const char *key)
{
	if (!h->cap)
		return -1;
	for (size_t i = ev_hash_str(key) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		if (!h->s[i].key)
			return -1;
		if (!strcmp(h->s[i].key, key))
			return h->s[i].val;
	}
}

static void htab_put(struct htab *h, const char *key, uint32_t val)
{
	if ((h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct hslot *s = xcalloc(cap, sizeof *s);
		for (size_t j = 0; j < h->cap; j++) {
			if (!h->s[j].key)
				continue;
			size_t i = ev_hash_str(h->s[j].key) & (cap - 1);
			while (s[i].key)
				i = (i + 1) & (cap - 1);
			s[i] = h->s[j];
		}
		free(h->s);
		h->s = s;
		h->cap = cap;
	}
	size_t i = ev_hash_str(key) & (h->cap - 1);
	while (h->s[i].key)
		i = (i + 1) & (h->cap - 1);
	h->s[i] = (struct hslot){key, val};
	h->n++;
}

static void htab_free(struct htab *h)
{
	free(h->s);
	memset(h, 0, sizeof *h);
}

/* -------------------------------------------------------- evaluator */

enum obj_state { OBJ_NEW, OBJ_ACTIVE, OBJ_DONE };

struct obj {
	const struct ast_stmt *st;
	uint8_t state;
	bool used;
	bool self;       /* contains a host that is the appliance */
	bool hosts;      /* every member is a single address */
	bool any;        /* contains "any" */
	bool too_deep;   /* a nesting error was reported below */
	bool bad;        /* its definition had errors */
	uint32_t height; /* group nesting: 1 for a group of literals */
	struct aset set;
	struct svc_range *svc;
	size_t nsvc, svccap;
};

struct ev {
	struct diag *d;
	struct policy *p;
	struct policy_source *src;    /* files, hash, date; the file names move into p */
	const struct policy_ast *ast; /* src->ast */
	char today[11];
	size_t suggest_budget;

	struct htab zone_ht, addr_ht, svc_ht, if_ht;
	const struct ast_stmt *zone_st[TABLE_MAX_ZONES];
	struct aset zone_nets[TABLE_MAX_ZONES];
	bool zone_has_nets[TABLE_MAX_ZONES];
	bool too_many_zones;
	struct ev_iface {
		const struct ast_item *it;
		uint32_t zone;
	} * ifs; /* interfaces, in order */
	size_t nifs, ifcap;
	struct obj *objs;
	size_t nobjs, objcap;
	uint32_t *path; /* objects being resolved (group nesting) */
	size_t npath, pathcap;
	const struct ast_stmt *policy_st;
	bool have_isolate, have_sanitize, too_many_rules;
	size_t rulecap;
	/* union of zone networks for the last multi-zone endpoint */
	uint64_t cache_mask;
	struct aset cache_nets;
};

static struct policy_loc dloc(const struct ev *e, struct ast_loc l)
{
	return (struct policy_loc){e->src->files[l.file].dname, l.line, l.col, l.len};
}

static struct policy_loc ploc(const struct ev *e, struct ast_loc l)
{
	return (struct policy_loc){e->src->files[l.file].path, l.line, l.col, l.len};
}

static struct ast_loc subloc(struct ast_loc l, size_t off, size_t len)
{
	/* a part of a word: only meaningful when it is within the word */
	if (off > l.len)
		return l;
	if (len == 0 || off + len > l.len)
		len = l.len - off;
	return (struct ast_loc){l.file, l.line, l.col + (uint32_t)off, (uint32_t)len};
}

static char *ev_dup(const struct ast_word *w)
{
	return w->s ? xstrndup(w->s, w->len) : NULL;
}

/* ------------------------------------------------------ names, objects */

static const char *const ev_tier_words[] = {"mynumber", "lgwan", "internet"};

static enum table_tier ev_tier_of(const char *s)
{
	if (!s || !strcmp(s, "none"))
		return TIER_NONE;
	if (!strcmp(s, "mynumber"))
		return TIER_MYNUMBER;
	if (!strcmp(s, "lgwan"))
		return TIER_LGWAN;
	return TIER_INTERNET;
}

static const char *ev_kind_name(enum ast_stmt_kind k)
{
	switch (k) {
	case AST_HOST:
		return _("host");
	case AST_NETWORK:
		return _("network");
	case AST_RANGE:
		return _("range");
	case AST_GROUP:
		return _("group");
	case AST_SERVICE:
		return _("service");
	case AST_SERVICE_GROUP:
		return _("service-group");
	case AST_ZONE:
		return _("zone");
	default:
		return _("statement");
	}
}

static bool ev_is_addr_kind(enum ast_stmt_kind k)
{
	return k == AST_HOST || k == AST_NETWORK || k == AST_RANGE || k == AST_GROUP;
}

/* "; did you mean 'x'?" among the names of one namespace, or "". */
static void ev_suggest(struct ev *e, const char *s, size_t len, int ns, char *buf, size_t n)
{
	const char *best = NULL;
	unsigned bestd = 3;
	buf[0] = '\0';
	if (ns == 0) {
		for (uint32_t i = 0; i < e->p->nzones; i++) {
			unsigned dist =
				policy_parse_distance(s, len, e->p->zones[i].name, strlen(e->p->zones[i].name), 2);
			if (dist < bestd)
				bestd = dist, best = e->p->zones[i].name;
		}
	} else {
		for (size_t i = 0; i < e->nobjs; i++) {
			const struct ast_stmt *st = e->objs[i].st;
			if (ev_is_addr_kind(st->kind) != (ns == 1))
				continue;
			if (e->suggest_budget == 0)
				break;
			e->suggest_budget--;
			unsigned dist = policy_parse_distance(s, len, st->name.s, st->name.len, 2);
			if (dist < bestd)
				bestd = dist, best = st->name.s;
		}
	}
	if (best)
		snprintf(buf, n, _("; did you mean '%s'?"), best);
}

static void ev_dup_error(struct ev *e, const struct ast_word *name, const char *what, struct ast_loc first)
{
	policy_diag_error(e->d, dloc(e, name->loc), "%s '%s' is already defined", what, name->s);
	policy_diag_note(e->d, dloc(e, first), "'%s' was first defined here", name->s);
}

/* Pass over definitions: fill the namespaces. */
static void ev_define(struct ev *e)
{
	struct policy *p = e->p;
	for (size_t i = 0; i < e->ast->nstmts; i++) {
		const struct ast_stmt *st = e->ast->stmts[i];
		const struct ast_word *nm = &st->name;
		switch (st->kind) {
		case AST_POLICY:
			if (st->broken)
				break;
			if (e->policy_st) {
				policy_diag_error(e->d, dloc(e, st->loc), "the policy statement is given twice");
				policy_diag_note(e->d, dloc(e, e->policy_st->loc), "first given here");
				break;
			}
			e->policy_st = st;
			p->name = ev_dup(&st->name);
			p->version = ev_dup(&st->version);
			break;
		case AST_REQUIRE:
			for (uint32_t j = 0; j < st->items.n; j++) {
				if (!strcmp(st->items.v[j].w.s, "owner"))
					p->require_owner = true;
				else
					p->require_description = true;
			}
			break;
		case AST_ZONE: {
			if (!nm->s)
				break;
			if (!strcmp(nm->s, "self")) {
				policy_diag_error(
					e->d, dloc(e, nm->loc),
					"'%s' is built in and cannot be defined as a zone (it is the appliance itself)",
					nm->s);
				break;
			}
			if (!strcmp(nm->s, "any")) {
				policy_diag_error(e->d, dloc(e, nm->loc),
						  "'%s' is built in and cannot be defined as a zone", nm->s);
				break;
			}
			long prev = htab_get(&e->zone_ht, nm->s);
			if (prev >= 0) {
				if (prev < TABLE_MAX_ZONES)
					ev_dup_error(e, nm, _("zone"), e->zone_st[prev]->name.loc);
				break;
			}
			if (p->nzones >= TABLE_MAX_ZONES) {
				if (!e->too_many_zones)
					policy_diag_error(e->d, dloc(e, nm->loc),
							  "too many zones: at most %d including the built-in zone self",
							  TABLE_MAX_ZONES);
				e->too_many_zones = true;
				/* known, so that its uses do not cascade */
				htab_put(&e->zone_ht, nm->s, UINT32_MAX);
				break;
			}
			uint32_t z = p->nzones++;
			htab_put(&e->zone_ht, nm->s, z);
			e->zone_st[z] = st;
			p->zones[z].name = ev_dup(nm);
			p->zones[z].tier = ev_tier_of(st->tier.s);
			p->zones[z].description = ev_dup(&st->description);
			p->zones[z].loc = ploc(e, nm->loc);
			break;
		}
		case AST_HOST:
		case AST_NETWORK:
		case AST_RANGE:
		case AST_GROUP:
		case AST_SERVICE:
		case AST_SERVICE_GROUP: {
			if (!nm->s)
				break;
			bool addr = ev_is_addr_kind(st->kind);
			struct htab *h = addr ? &e->addr_ht : &e->svc_ht;
			if (!strcmp(nm->s, "any") || (addr && !strcmp(nm->s, "self")) ||
			    (!addr &&
			     (!strcmp(nm->s, "tcp") || !strcmp(nm->s, "udp") || !strcmp(nm->s, "sctp") ||
			      !strcmp(nm->s, "udplite") || !strcmp(nm->s, "dccp") || !strcmp(nm->s, "icmp") ||
			      !strcmp(nm->s, "icmpv6")))) {
				policy_diag_error(e->d, dloc(e, nm->loc),
						  "'%s' is a reserved word and cannot be "
						  "the name of a %s",
						  nm->s, ev_kind_name(st->kind));
				break;
			}
			long prev = htab_get(h, nm->s);
			if (prev >= 0) {
				const struct ast_stmt *first = e->objs[prev].st;
				if (first->kind != st->kind)
					policy_diag_error(e->d, dloc(e, nm->loc), "%s '%s' is already defined as a %s",
							  ev_kind_name(st->kind), nm->s, ev_kind_name(first->kind));
				else
					policy_diag_error(e->d, dloc(e, nm->loc), "%s '%s' is already defined",
							  ev_kind_name(st->kind), nm->s);
				policy_diag_note(e->d, dloc(e, first->name.loc), "'%s' was first defined here", nm->s);
				break;
			}
			xgrow(&e->objs, &e->objcap, e->nobjs + 1, sizeof *e->objs);
			memset(&e->objs[e->nobjs], 0, sizeof e->objs[0]);
			e->objs[e->nobjs].st = st;
			htab_put(h, nm->s, (uint32_t)e->nobjs);
			e->nobjs++;
			break;
		}
		default:
			break;
		}
	}
}

static void ev_resolve(struct ev *e, uint32_t oi, struct ast_loc at);

/* An address object by name, resolved, or NULL (error reported). */
static struct obj *ev_addr_ref(struct ev *e, const struct ast_word *w)
{
	long i = htab_get(&e->addr_ht, w->s);
	if (i < 0) {
		long s = htab_get(&e->svc_ht, w->s);
		if (s >= 0) {
			policy_diag_error(e->d, dloc(e, w->loc), "'%s' is a %s, not an address object", w->s,
					  ev_kind_name(e->objs[s].st->kind));
			e->objs[s].used = true;
		} else if (htab_get(&e->zone_ht, w->s) >= 0 || !strcmp(w->s, "self")) {
			policy_diag_error(e->d, dloc(e, w->loc),
					  "'%s' is a zone, not an address object (zones come before the brackets)",
					  w->s);
		} else {
			char sug[96];
			ev_suggest(e, w->s, w->len, 1, sug, sizeof sug);
			policy_diag_error(e->d, dloc(e, w->loc), "unknown address object '%s'%s", w->s, sug);
		}
		return NULL;
	}
	struct obj *o = &e->objs[i];
	o->used = true;
	ev_resolve(e, (uint32_t)i, w->loc);
	if (o->state == OBJ_ACTIVE)
		return NULL; /* a cycle: reported by ev_resolve */
	return o;
}

/* A service or service group by name, resolved, or NULL. */
static struct obj *ev_svc_ref(struct ev *e, const struct ast_word *w)
{
	long i = htab_get(&e->svc_ht, w->s);
	if (i < 0) {
		long a = htab_get(&e->addr_ht, w->s);
		if (a >= 0) {
			policy_diag_error(e->d, dloc(e, w->loc), "'%s' is a %s, not a service", w->s,
					  ev_kind_name(e->objs[a].st->kind));
			e->objs[a].used = true;
		} else {
			char sug[96];
			ev_suggest(e, w->s, w->len, 2, sug, sizeof sug);
			policy_diag_error(e->d, dloc(e, w->loc), "unknown service '%s'%s", w->s, sug);
		}
		return NULL;
	}
	struct obj *o = &e->objs[i];
	o->used = true;
	ev_resolve(e, (uint32_t)i, w->loc);
	if (o->state == OBJ_ACTIVE)
		return NULL;
	return o;
}

/* A literal address item: 0 and its family and range, or -1 (reported). */
static int ev_literal(struct ev *e, const struct ast_word *w, int *fam, u128 *lo, u128 *hi)
{
	int r = inaddr_parse_span(w->s, w->len, fam, lo, hi);
	if (r == 0)
		return 0;
	if (r == -EDOM) {
		/* say what the prefix probably meant */
		const char *slash = strchr(w->s, '/');
		unsigned len = slash ? (unsigned)atoi(slash + 1) : 0;
		int f;
		u128 a;
		char buf[INADDR_STRLEN];
		if (slash && inaddr_parsen(w->s, (size_t)(slash - w->s), &f, &a) == 0) {
			unsigned bits = f == 4 ? 32 : 128;
			u128 mask = len == 0 ? inaddr_family_max(f) : len >= bits ? 0 : (((u128)1 << (bits - len)) - 1);
			policy_diag_error(e->d, dloc(e, w->loc),
					  "prefix '%s' has host bits set; did you mean "
					  "%s/%u?",
					  w->s, inaddr_format(f, a & ~mask, buf), len);
		} else {
			policy_diag_error(e->d, dloc(e, w->loc), "prefix '%s' has host bits set", w->s);
		}
		return -1;
	}
	if (strchr(w->s, '/'))
		policy_diag_error(e->d, dloc(e, w->loc), "invalid prefix '%s'", w->s);
	else if (strchr(w->s, '-'))
		policy_diag_error(e->d, dloc(e, w->loc),
				  "invalid address range '%s' (expected A-B, both of one "
				  "family, A not above B)",
				  w->s);
	else
		policy_diag_error(e->d, dloc(e, w->loc), "invalid address '%s'", w->s);
	return -1;
}

/* One service specification item; false after reporting its error. */
static bool ev_spec(struct ev *e, const struct ast_item *it, struct svc_range *ret)
{
	struct policy_why why;
	if (policy_eval_spec(it->w.s, it->w.len, it->sport.s, it->sport.len, ret, &why) == 0)
		return true;
	struct ast_loc at =
		why.in_sport ? subloc(it->sport.loc, why.off, why.len) : subloc(it->w.loc, why.off, why.len);
	if (why.in_sport && why.len == 0)
		at = it->sport.loc;
	policy_diag_error(e->d, dloc(e, at), "%s", why.msg);
	return false;
}

static void ev_svc_push(struct svc_range **v, size_t *n, size_t *cap, const struct svc_range *r)
{
	xgrow(v, cap, *n + 1, sizeof **v);
	(*v)[(*n)++] = *r;
}

/* Was nesting already reported for an object on the resolution path? */
static bool ev_path_too_deep(const struct ev *e)
{
	for (size_t i = 0; i < e->npath; i++)
		if (e->objs[e->path[i]].too_deep)
			return true;
	return false;
}

/* Resolve object oi (memoised).  at: where it is referenced from. */
/* A named member w of group o (an address group, or a service group when
 * svc): resolved and returned, with what every kind of group inherits from
 * it (any, too_deep, height) applied to o.  NULL when there is nothing to
 * take: unknown, broken, or one level too deep (reported once per chain). */
static struct obj *ev_member(struct ev *e, struct obj *o, const struct ast_word *w, bool svc, uint32_t *height)
{
	long ci = htab_get(svc ? &e->svc_ht : &e->addr_ht, w->s);
	if (ci >= 0 && e->objs[ci].state == OBJ_NEW && e->npath >= POLICY_MAX_GROUP_DEPTH) {
		/* once per chain: the rest of it is resolved later, from the
		 * top, and must stay quiet */
		if (!ev_path_too_deep(e)) {
			if (svc)
				policy_diag_error(e->d, dloc(e, w->loc), "service groups nested deeper than %d levels",
						  POLICY_MAX_GROUP_DEPTH);
			else
				policy_diag_error(e->d, dloc(e, w->loc), "groups nested deeper than %d levels",
						  POLICY_MAX_GROUP_DEPTH);
		}
		o->too_deep = true;
		e->objs[ci].too_deep = true;
		e->objs[ci].used = true;
		return NULL;
	}
	struct obj *c = svc ? ev_svc_ref(e, w) : ev_addr_ref(e, w);
	if (!c)
		return NULL;
	o->any |= c->any;
	o->too_deep |= c->too_deep;
	if (c->height + 1 > *height)
		*height = c->height + 1;
	return c;
}

static void ev_resolve(struct ev *e, uint32_t oi, struct ast_loc at)
{
	struct obj *o = &e->objs[oi];
	const struct ast_stmt *st = o->st;

	if (o->state == OBJ_DONE)
		return;
	if (o->state == OBJ_ACTIVE) {
		/* a cycle: the path from o's first appearance to here */
		struct strbuf sb = STRBUF_INIT;
		size_t i = 0;
		while (i < e->npath && e->path[i] != oi)
			i++;
		for (; i < e->npath; i++)
			strbuf_printf(&sb, "%s -> ", e->objs[e->path[i]].st->name.s);
		strbuf_puts(&sb, st->name.s);
		policy_diag_error(e->d, dloc(e, at), "%s '%s' contains itself: %s", ev_kind_name(st->kind), st->name.s,
				  strbuf_str(&sb));
		strbuf_free(&sb);
		return;
	}
	o->state = OBJ_ACTIVE;
	o->hosts = true;
	size_t errors = e->d->nerrors;
	xgrow(&e->path, &e->pathcap, e->npath + 1, sizeof *e->path);
	e->path[e->npath++] = oi;

	uint32_t height = 0;
	for (uint32_t k = 0; !st->broken && k < st->items.n; k++) {
		const struct ast_item *it = &st->items.v[k];
		const struct ast_word *w = &it->w;
		int fam;
		u128 lo, hi;

		switch (st->kind) {
		case AST_HOST:
			if (it->kind == AST_ITEM_SELF) {
				/* one machine, the appliance: a single host
				 * (docs/policy.md, decision 2) */
				o->self = true;
			} else if (it->kind != AST_ITEM_LITERAL) {
				policy_diag_error(e->d, dloc(e, w->loc),
						  "a host is one or more single addresses or "
						  "self, not '%s' (use group to combine objects)",
						  w->s);
			} else if (ev_literal(e, w, &fam, &lo, &hi) == 0) {
				if (lo != hi)
					policy_diag_error(e->d, dloc(e, w->loc),
							  "'%s' is not a single address "
							  "(use network or range)",
							  w->s);
				else
					aset_add(&o->set, fam, lo, hi);
			}
			break;
		case AST_NETWORK:
			if (it->kind == AST_ITEM_ANY) {
				o->any = true;
				o->hosts = false;
				aset_add_any(&o->set);
			} else if (it->kind != AST_ITEM_LITERAL) {
				policy_diag_error(e->d, dloc(e, w->loc),
						  "a network is one or more prefixes, not "
						  "'%s' (use group to combine objects)",
						  w->s);
			} else if (ev_literal(e, w, &fam, &lo, &hi) == 0) {
				if (inaddr_prefix_len(fam, lo, hi) < 0)
					policy_diag_error(e->d, dloc(e, w->loc), "'%s' is not a prefix (use range)",
							  w->s);
				else
					aset_add(&o->set, fam, lo, hi);
				/* a single host is one address however it is
				 * written: a /32 or /128 is one */
				o->hosts &= lo == hi;
			}
			break;
		case AST_RANGE:
			if (k > 0) {
				policy_diag_error(e->d, dloc(e, w->loc), "a range is exactly one A-B");
				break;
			}
			if (it->kind != AST_ITEM_LITERAL || !strchr(w->s, '-') || strchr(w->s, '/')) {
				policy_diag_error(e->d, dloc(e, w->loc), "a range is written A-B, not '%s'", w->s);
			} else if (ev_literal(e, w, &fam, &lo, &hi) == 0) {
				aset_add(&o->set, fam, lo, hi);
				o->hosts &= lo == hi;
				break;
			}
			o->hosts = false;
			break;
		case AST_GROUP:
			if (height == 0)
				height = 1;
			if (it->kind == AST_ITEM_ANY) {
				o->any = true;
				o->hosts = false;
				aset_add_any(&o->set);
			} else if (it->kind == AST_ITEM_SELF) {
				policy_diag_error(e->d, dloc(e, w->loc),
						  "'self' is a zone; to name the appliance "
						  "as an address, define 'host NAME self'");
			} else if (it->kind == AST_ITEM_LITERAL) {
				if (ev_literal(e, w, &fam, &lo, &hi) == 0) {
					aset_add(&o->set, fam, lo, hi);
					o->hosts &= lo == hi;
				}
			} else {
				struct obj *c = ev_member(e, o, w, false, &height);
				if (!c)
					break;
				o->self |= c->self;
				o->hosts &= c->hosts;
				aset_add_set(&o->set, &c->set);
			}
			break;
		case AST_SERVICE:
		case AST_SERVICE_GROUP:
			if (st->kind == AST_SERVICE_GROUP && height == 0)
				height = 1;
			if (it->kind == AST_ITEM_SPEC) {
				struct svc_range r;
				if (ev_spec(e, it, &r)) {
					ev_svc_push(&o->svc, &o->nsvc, &o->svccap, &r);
					o->any |= r.key_lo == 0 && r.key_hi == SVC_KEY_MAX;
				}
			} else if (st->kind == AST_SERVICE) {
				policy_diag_error(e->d, dloc(e, w->loc),
						  "a service is made of protocol "
						  "specifications such as tcp/25; use service-group to "
						  "combine '%s' with others",
						  w->s);
			} else {
				struct obj *c = ev_member(e, o, w, true, &height);
				if (!c)
					break;
				for (size_t j = 0; j < c->nsvc; j++)
					ev_svc_push(&o->svc, &o->nsvc, &o->svccap, &c->svc[j]);
			}
			break;
		default:
			break;
		}
	}
	if (st->broken)
		o->hosts = false;
	aset_normalize(&o->set);
	o->nsvc = policy_eval_svc_normalize(o->svc, o->nsvc);
	o->height = height;
	if (height == POLICY_MAX_GROUP_DEPTH + 1 && !o->too_deep) {
		policy_diag_error(e->d, dloc(e, st->name.loc), "%s '%s' nests groups %u levels deep (at most %d)",
				  ev_kind_name(st->kind), st->name.s, height, POLICY_MAX_GROUP_DEPTH);
		o->too_deep = true;
	}
	e->npath--;
	o->state = OBJ_DONE;
	o->bad = e->d->nerrors != errors;
}

/* ----------------------------------------------------------- zones */

static void ev_zones(struct ev *e)
{
	struct policy *p = e->p;
	for (uint32_t z = 1; z < p->nzones; z++) {
		const struct ast_stmt *st = e->zone_st[z];
		struct policy_zone *zone = &p->zones[z];

		/* a zone named after a tier means the tier in isolate/sanitize */
		for (size_t t = 0; t < NELEM(ev_tier_words); t++)
			if (!strcmp(st->name.s, ev_tier_words[t]) && zone->tier != ev_tier_of(ev_tier_words[t]))
				policy_diag_warning(e->d, dloc(e, st->name.loc),
						    "zone '%s' is named after a tier but has tier %s; in isolate "
						    "and sanitize '%s' means all zones of tier %s",
						    st->name.s, st->tier.s ? st->tier.s : "none", st->name.s,
						    st->name.s);
		if (st->broken)
			continue;

		zone->nif = st->ifaces.n;
		zone->ifnames = xcalloc(st->ifaces.n ? st->ifaces.n : 1, sizeof *zone->ifnames);
		for (uint32_t k = 0; k < st->ifaces.n; k++) {
			const struct ast_item *it = &st->ifaces.v[k];
			zone->ifnames[k] = ev_dup(&it->w);
			if (it->w.len > TABLE_MAX_IFNAME)
				policy_diag_error(e->d, dloc(e, it->w.loc),
						  "interface name '%s' is longer than %d "
						  "bytes",
						  it->w.s, TABLE_MAX_IFNAME);
			else if (strchr(it->w.s, '/') || !strcmp(it->w.s, ".") || !strcmp(it->w.s, ".."))
				policy_diag_error(e->d, dloc(e, it->w.loc), "invalid interface name '%s'", it->w.s);
			long prev = htab_get(&e->if_ht, it->w.s);
			if (prev >= 0) {
				const struct ev_iface *first = &e->ifs[prev];
				if (first->zone == z)
					policy_diag_error(e->d, dloc(e, it->w.loc), "interface '%s' is listed twice",
							  it->w.s);
				else
					policy_diag_error(e->d, dloc(e, it->w.loc),
							  "interface '%s' is already used "
							  "by zone '%s'",
							  it->w.s, p->zones[first->zone].name);
				policy_diag_note(e->d, dloc(e, first->it->w.loc), "'%s' is first given here", it->w.s);
				continue;
			}
			xgrow(&e->ifs, &e->ifcap, e->nifs + 1, sizeof *e->ifs);
			e->ifs[e->nifs] = (struct ev_iface){it, z};
			htab_put(&e->if_ht, it->w.s, (uint32_t)e->nifs);
			e->nifs++;
		}
		if (!st->ifaces.n)
			policy_diag_warning(e->d, dloc(e, st->name.loc),
					    "zone '%s' has no interfaces; the datapath cannot recognise it",
					    st->name.s);

		size_t errors = e->d->nerrors;
		struct aset *nets = &e->zone_nets[z];
		for (uint32_t k = 0; k < st->items.n; k++) {
			const struct ast_item *it = &st->items.v[k];
			int fam;
			u128 lo, hi;
			if (it->kind == AST_ITEM_ANY) {
				aset_add_any(nets);
			} else if (it->kind == AST_ITEM_SELF) {
				policy_diag_error(e->d, dloc(e, it->w.loc), "'self' cannot be a zone network");
			} else if (it->kind == AST_ITEM_LITERAL) {
				if (ev_literal(e, &it->w, &fam, &lo, &hi) == 0)
					aset_add(nets, fam, lo, hi);
			} else {
				struct obj *o = ev_addr_ref(e, &it->w);
				if (!o)
					continue;
				if (o->self)
					policy_diag_error(e->d, dloc(e, it->w.loc),
							  "'%s' contains the appliance "
							  "itself (host ... self) and cannot be a zone network",
							  it->w.s);
				aset_add_set(nets, &o->set);
			}
		}
		aset_normalize(nets);
		/* networks with an error are unknown: no warnings against them */
		e->zone_has_nets[z] = st->has_network && e->d->nerrors == errors;
	}
}

/* Zones of an endpoint as a bit mask; 0 after errors. */
static uint64_t ev_zone_list(struct ev *e, const struct ast_list *l)
{
	uint64_t m = 0;
	for (uint32_t k = 0; k < l->n; k++) {
		const struct ast_item *it = &l->v[k];
		if (it->kind == AST_ITEM_ANY) {
			m |= policy_zones_all(e->p);
			continue;
		}
		long z = htab_get(&e->zone_ht, it->w.s);
		if (z < 0) {
			char sug[96];
			ev_suggest(e, it->w.s, it->w.len, 0, sug, sizeof sug);
			if (htab_get(&e->addr_ht, it->w.s) >= 0)
				policy_diag_error(e->d, dloc(e, it->w.loc),
						  "'%s' is an address object, not a zone "
						  "(addresses go in brackets after the zone: ZONE [%s])",
						  it->w.s, it->w.s);
			else if (!sug[0] &&
				 (!strcmp(it->w.s, "mynumber") || !strcmp(it->w.s, "lgwan") ||
				  !strcmp(it->w.s, "internet")))
				policy_diag_error(e->d, dloc(e, it->w.loc),
						  "unknown zone '%s' (rules name zones; "
						  "no zone is called '%s')",
						  it->w.s, it->w.s);
			else
				policy_diag_error(e->d, dloc(e, it->w.loc), "unknown zone '%s'%s", it->w.s, sug);
			continue;
		}
		if (z < TABLE_MAX_ZONES)
			m |= (uint64_t)1 << z;
	}
	return m;
}

/* A zone reference of isolate/sanitize: a tier word or a zone name. */
static uint64_t ev_zoneref(struct ev *e, const struct ast_item *it)
{
	const char *s = it->w.s;
	if (it->kind == AST_ITEM_ANY) {
		policy_diag_error(e->d, dloc(e, it->w.loc), "'any' is not allowed here; name zones or a tier");
		return 0;
	}
	for (size_t t = 0; t < NELEM(ev_tier_words); t++) {
		if (strcmp(s, ev_tier_words[t]))
			continue;
		enum table_tier tier = ev_tier_of(s);
		uint64_t m = 0;
		for (uint32_t z = 1; z < e->p->nzones; z++)
			if (e->p->zones[z].tier == tier)
				m |= (uint64_t)1 << z;
		if (!m)
			policy_diag_error(e->d, dloc(e, it->w.loc), "no zone has tier %s", s);
		return m;
	}
	long z = htab_get(&e->zone_ht, s);
	if (z < 0) {
		char sug[96];
		ev_suggest(e, s, it->w.len, 0, sug, sizeof sug);
		if (!sug[0]) {
			const char *t = policy_parse_suggest(s, it->w.len, ev_tier_words, NELEM(ev_tier_words));
			if (t)
				snprintf(sug, sizeof sug, _("; did you mean '%s'?"), t);
		}
		policy_diag_error(e->d, dloc(e, it->w.loc), "unknown zone or tier '%s'%s", s, sug);
		return 0;
	}
	return z < TABLE_MAX_ZONES ? (uint64_t)1 << z : 0;
}

/* ------------------------------------------------------------ rules */

static void ev_text_items(struct strbuf *sb, const struct ast_list *l)
{
	for (uint32_t k = 0; k < l->n; k++) {
		if (k)
			strbuf_puts(sb, ", ");
		strbuf_puts(sb, l->v[k].w.s);
		if (l->v[k].sport.s) {
			strbuf_puts(sb, " sport ");
			strbuf_puts(sb, l->v[k].sport.s);
		}
	}
}

static char *ev_endpoint_text(const struct ast_endpoint *ep)
{
	struct strbuf sb = STRBUF_INIT;
	ev_text_items(&sb, &ep->zones);
	if (ep->has_addrs) {
		strbuf_puts(&sb, " [");
		ev_text_items(&sb, &ep->addrs);
		strbuf_puts(&sb, "]");
	}
	return strbuf_steal(&sb);
}

static void ev_zone_names(const struct ev *e, uint64_t m, struct strbuf *sb)
{
	bool first = true;
	for (uint32_t z = 0; z < e->p->nzones; z++) {
		if (!(m >> z & 1))
			continue;
		strbuf_printf(sb, "%s%s", first ? "" : ", ", e->p->zones[z].name);
		first = false;
	}
}

/* The union of the networks of the zones in m, or NULL when one of them
 * declares none (then nothing can be said). */
static const struct aset *ev_zone_nets(struct ev *e, uint64_t m)
{
	uint32_t single = 0;
	unsigned count = 0;
	for (uint32_t z = 0; z < e->p->nzones; z++) {
		if (!(m >> z & 1))
			continue;
		if (!e->zone_has_nets[z])
			return NULL;
		single = z;
		count++;
	}
	if (count == 0)
		return NULL;
	if (count == 1)
		return &e->zone_nets[single];
	if (e->cache_mask != m) {
		aset_free(&e->cache_nets);
		for (uint32_t z = 0; z < e->p->nzones; z++)
			if (m >> z & 1)
				aset_add_set(&e->cache_nets, &e->zone_nets[z]);
		aset_normalize(&e->cache_nets);
		e->cache_mask = m;
	}
	return &e->cache_nets;
}

/* The address list of an endpoint (zones already known). */
static void ev_endpoint_addrs(struct ev *e, const struct ast_endpoint *ep, uint64_t zones, struct addr_set *out,
			      bool *ret_hosts, bool *ret_any)
{
	struct aset set = {0};
	bool hosts = ep->has_addrs, any = !ep->has_addrs;
	const struct aset *nets = ev_zone_nets(e, zones);

	if (!ep->has_addrs)
		aset_add_any(&set);
	for (uint32_t k = 0; k < ep->addrs.n; k++) {
		const struct ast_item *it = &ep->addrs.v[k];
		const struct ast_word *w = &it->w;
		struct aset one = {0};
		int fam;
		u128 lo, hi;

		switch (it->kind) {
		case AST_ITEM_ANY:
			any = true;
			hosts = false;
			aset_add_any(&set);
			continue;
		case AST_ITEM_SELF:
			policy_diag_error(e->d, dloc(e, w->loc),
					  "'self' is a zone, not an address (write the "
					  "zone self, or define 'host NAME self')");
			continue;
		case AST_ITEM_LITERAL:
			if (ev_literal(e, w, &fam, &lo, &hi) < 0)
				continue;
			hosts &= lo == hi;
			aset_add(&one, fam, lo, hi);
			break;
		default: {
			struct obj *o = ev_addr_ref(e, w);
			if (!o) {
				hosts = false;
				continue;
			}
			if (o->self && zones && zones != ((uint64_t)1 << TABLE_ZONE_SELF)) {
				if (o->st->kind == AST_HOST)
					policy_diag_error(e->d, dloc(e, w->loc),
							  "'%s' is the appliance itself (host ... self); "
							  "it can only be used where the zone is exactly self",
							  w->s);
				else
					policy_diag_error(e->d, dloc(e, w->loc),
							  "'%s' contains the appliance itself (host ... self); "
							  "it can only be used where the zone is exactly self",
							  w->s);
				continue;
			}
			hosts &= o->hosts;
			any |= o->any;
			if (o->self) {
				aset_add_any(&set);
				continue;
			}
			aset_add_set(&one, &o->set);
			break;
		}
		}
		aset_normalize(&one);
		if (nets && !aset_subset(&one, nets)) {
			struct strbuf zn = STRBUF_INIT;
			ev_zone_names(e, zones, &zn);
			if (strchr(strbuf_str(&zn), ','))
				policy_diag_warning(e->d, dloc(e, w->loc),
						    "'%s' is not inside the networks of zones %s", w->s,
						    strbuf_str(&zn));
			else
				policy_diag_warning(e->d, dloc(e, w->loc), "'%s' is not inside the networks of zone %s",
						    w->s, strbuf_str(&zn));
			strbuf_free(&zn);
		}
		aset_add_set(&set, &one);
		aset_free(&one);
	}
	aset_take(&set, out);
	*ret_hosts = hosts;
	*ret_any = any;
}

/* A service list: entries (normalised), and whether it contains any. */
static void ev_svc_list(struct ev *e, const struct ast_list *l, struct svc_range **ret, uint32_t *ret_n, bool *ret_any)
{
	struct svc_range *v = NULL;
	size_t n = 0, cap = 0;
	bool any = false;
	for (uint32_t k = 0; k < l->n; k++) {
		const struct ast_item *it = &l->v[k];
		if (it->kind == AST_ITEM_SPEC) {
			struct svc_range r;
			if (ev_spec(e, it, &r)) {
				ev_svc_push(&v, &n, &cap, &r);
				any |= r.key_lo == 0 && r.key_hi == SVC_KEY_MAX;
			}
			continue;
		}
		struct obj *o = ev_svc_ref(e, &it->w);
		if (!o)
			continue;
		any |= o->any;
		for (size_t j = 0; j < o->nsvc; j++)
			ev_svc_push(&v, &n, &cap, &o->svc[j]);
	}
	n = policy_eval_svc_normalize(v, n);
	*ret = n ? xreallocarray(v, n, sizeof *v) : (free(v), NULL);
	*ret_n = (uint32_t)n;
	*ret_any = any;
}

static void ev_svc_any(struct svc_range **ret, uint32_t *ret_n)
{
	*ret = xmalloc(sizeof **ret);
	**ret = (struct svc_range){0, SVC_KEY_MAX, 0, 65535};
	*ret_n = 1;
}

static void ev_rule(struct ev *e, const struct ast_stmt *st)
{
	struct policy *p = e->p;
	uint32_t id = ++p->nrules_total;

	if (p->nrules_total > TABLE_MAX_RULES) {
		if (!e->too_many_rules)
			policy_diag_error(e->d, dloc(e, st->loc), "too many rules (at most %d)", TABLE_MAX_RULES);
		e->too_many_rules = true;
		return;
	}
	if (st->broken)
		return;

	struct policy_rule r = {0};
	bool hosts, any, svc_any = false;
	r.id = id;
	r.action = !strcmp(st->action.s, "allow") ? ACT_ALLOW : !strcmp(st->action.s, "deny") ? ACT_DENY : ACT_REJECT;
	r.loc = ploc(e, st->loc);
	r.from_zones = ev_zone_list(e, &st->from.zones);
	r.to_zones = ev_zone_list(e, &st->to.zones);

	ev_endpoint_addrs(e, &st->from, r.from_zones, &r.src, &hosts, &any);
	if (hosts)
		r.flags |= POLICY_RULE_SRC_HOSTS;
	if (any)
		r.flags |= POLICY_RULE_SRC_ANY;
	ev_endpoint_addrs(e, &st->to, r.to_zones, &r.dst, &hosts, &any);
	if (hosts)
		r.flags |= POLICY_RULE_DST_HOSTS;
	if (any)
		r.flags |= POLICY_RULE_DST_ANY;

	if (st->has_svc) {
		ev_svc_list(e, &st->svc, &r.svc, &r.nsvc, &svc_any);
		if (!svc_any)
			r.flags |= POLICY_RULE_SVC_EXPLICIT;
	} else {
		ev_svc_any(&r.svc, &r.nsvc);
	}
	if (st->log)
		r.flags |= POLICY_RULE_LOG;

	r.name = ev_dup(&st->name);
	r.description = ev_dup(&st->description);
	r.owner = ev_dup(&st->owner);
	r.ticket = ev_dup(&st->ticket);
	r.from_text = ev_endpoint_text(&st->from);
	r.to_text = ev_endpoint_text(&st->to);
	if (st->has_svc) {
		struct strbuf sb = STRBUF_INIT;
		ev_text_items(&sb, &st->svc);
		r.svc_text = strbuf_steal(&sb);
	} else {
		r.svc_text = xstrdup("any");
	}

	if (p->require_owner && !st->owner.s)
		policy_diag_warning(e->d, dloc(e, st->name.loc), "rule has no owner (the policy says 'require owner')");
	if (p->require_description && !st->description.s)
		policy_diag_warning(e->d, dloc(e, st->name.loc),
				    "rule has no description (the policy says 'require description')");

	bool expired = false;
	if (st->expires.s) {
		if (policy_eval_date(st->expires.s, st->expires.len) < 0) {
			policy_diag_error(e->d, dloc(e, st->expires.loc),
					  "invalid date '%s' (expected a real "
					  "date YYYY-MM-DD)",
					  st->expires.s);
		} else {
			r.expires = ev_dup(&st->expires);
			if (strcmp(r.expires, e->today) < 0) {
				expired = true;
				policy_diag_warning(e->d, dloc(e, st->expires.loc),
						    "rule expired on %s; left out of the table", r.expires);
			}
		}
	}

	if (expired) {
		policy_rule_free(&r);
		return;
	}
	xgrow(&p->rules, &e->rulecap, p->nrules + 1, sizeof *p->rules);
	p->rules[p->nrules++] = r;
}

static void ev_default(struct ev *e, const struct ast_stmt *st)
{
	struct policy *p = e->p;
	if (st->broken)
		return;
	uint64_t from = ev_zone_list(e, &st->from.zones), to = ev_zone_list(e, &st->to.zones);
	if (!strcmp(st->action.s, "allow")) {
		policy_diag_error(e->d, dloc(e, st->action.loc),
				  "a default can only deny or reject; "
				  "write allow rules for what is allowed");
		return;
	}
	uint8_t act = !strcmp(st->action.s, "deny") ? ACT_DENY : ACT_REJECT;
	for (uint32_t i = 0; i < p->nzones; i++) {
		if (!(from >> i & 1))
			continue;
		for (uint32_t j = 0; j < p->nzones; j++) {
			if (!(to >> j & 1))
				continue;
			p->default_action[i][j] = act;
			p->default_loc[i][j] = ploc(e, st->loc);
		}
	}
}

/* An invariant over a zone the datapath cannot recognise (no interfaces)
 * would be proven but never enforced: its packets arrive as another zone's,
 * and the backstop cannot name them.  Refused (docs/policy.md, decision 5).
 * Zones whose statement had a syntax error are left out: their interfaces
 * are unknown, not missing. */
static void ev_invariant_ifs(struct ev *e, uint64_t zones, struct ast_loc at, const char *text)
{
	struct policy *p = e->p;
	for (uint32_t z = 1; z < p->nzones; z++) {
		const struct ast_stmt *zs = e->zone_st[z];
		if (!(zones >> z & 1) || !zs || zs->broken || zs->ifaces.n)
			continue;
		policy_diag_error(e->d, dloc(e, at),
				  "zone '%s' of invariant '%s' has no interfaces: the datapath "
				  "cannot recognise its packets, so the invariant could not be enforced",
				  p->zones[z].name, text);
	}
}

static void ev_isolate(struct ev *e, const struct ast_stmt *st)
{
	struct policy *p = e->p;
	e->have_isolate = true;
	if (st->broken)
		return;
	uint64_t m = 0;
	for (uint32_t k = 0; k < st->items.n; k++)
		m |= ev_zoneref(e, &st->items.v[k]);
	struct strbuf sb = STRBUF_INIT;
	strbuf_puts(&sb, "isolate ");
	ev_text_items(&sb, &st->items);
	p->isolate = xreallocarray(p->isolate, p->nisolate + 1, sizeof *p->isolate);
	p->isolate[p->nisolate++] = (struct policy_isolate){
		.zones = m, .implicit = false, .loc = ploc(e, st->loc), .text = strbuf_steal(&sb)};
	ev_invariant_ifs(e, m, st->loc, p->isolate[p->nisolate - 1].text);
}

static void ev_sanitize(struct ev *e, const struct ast_stmt *st)
{
	struct policy *p = e->p;
	e->have_sanitize = true;
	if (st->broken)
		return;
	struct policy_sanitize s = {.both_ways = st->both_ways, .loc = ploc(e, st->loc)};
	struct aset via = {0};
	s.a_zones = ev_zoneref(e, &st->from.zones.v[0]);
	s.b_zones = ev_zoneref(e, &st->to.zones.v[0]);
	uint64_t both = s.a_zones & s.b_zones;
	if (both) {
		struct strbuf zn = STRBUF_INIT;
		ev_zone_names(e, both, &zn);
		if (strchr(strbuf_str(&zn), ','))
			policy_diag_error(e->d, dloc(e, st->to.zones.v[0].w.loc),
					  "zones %s are on both sides of sanitize", strbuf_str(&zn));
		else
			policy_diag_error(e->d, dloc(e, st->to.zones.v[0].w.loc),
					  "zone %s is on both sides of sanitize", strbuf_str(&zn));
		strbuf_free(&zn);
	}
	for (uint32_t k = 0; k < st->via.n; k++) {
		const struct ast_word *w = &st->via.v[k].w;
		if (st->via.v[k].kind == AST_ITEM_ANY) {
			policy_diag_error(e->d, dloc(e, w->loc), "via takes host names, not any");
			continue;
		}
		long i = htab_get(&e->addr_ht, w->s);
		if (i >= 0 && e->objs[i].st->kind != AST_HOST) {
			e->objs[i].used = true;
			policy_diag_error(e->d, dloc(e, w->loc), "'%s' is a %s; via takes host names", w->s,
					  ev_kind_name(e->objs[i].st->kind));
			continue;
		}
		struct obj *o = ev_addr_ref(e, w);
		if (!o)
			continue;
		s.via_self |= o->self;
		aset_add_set(&via, &o->set);
	}
	aset_take(&via, &s.via);
	if (st->has_svc) {
		bool any;
		if (!st->has_via)
			policy_diag_error(e->d, dloc(e, st->svc_kw.loc),
					  "'service' needs 'via' (the services "
					  "are those of the relays)");
		ev_svc_list(e, &st->svc, &s.svc, &s.nsvc, &any);
	} else {
		ev_svc_any(&s.svc, &s.nsvc);
	}
	struct strbuf sb = STRBUF_INIT;
	strbuf_printf(&sb, "sanitize %s %s %s", st->from.zones.v[0].w.s, st->both_ways ? "<->" : "->",
		      st->to.zones.v[0].w.s);
	if (st->has_via) {
		strbuf_puts(&sb, " via ");
		ev_text_items(&sb, &st->via);
	}
	if (st->has_svc) {
		strbuf_puts(&sb, " service ");
		ev_text_items(&sb, &st->svc);
	}
	s.text = strbuf_steal(&sb);
	ev_invariant_ifs(e, s.a_zones | s.b_zones, st->loc, s.text);
	p->sanitize = xreallocarray(p->sanitize, p->nsanitize + 1, sizeof *p->sanitize);
	p->sanitize[p->nsanitize++] = s;
}

/* The standard invariants when the policy states none. */
static void ev_implicit(struct ev *e)
{
	struct policy *p = e->p;
	uint64_t tiers[4] = {0};
	uint32_t first[4] = {0};
	for (uint32_t z = p->nzones; z-- > 1;) {
		tiers[p->zones[z].tier] |= (uint64_t)1 << z;
		first[p->zones[z].tier] = z;
	}
	if (!e->have_isolate && tiers[TIER_MYNUMBER]) {
		p->isolate = xreallocarray(p->isolate, p->nisolate + 1, sizeof *p->isolate);
		p->isolate[p->nisolate++] = (struct policy_isolate){
			.zones = tiers[TIER_MYNUMBER],
			.implicit = true,
			.loc = p->zones[first[TIER_MYNUMBER]].loc,
			.text = xstrdup("isolate mynumber (standard)"),
		};
		ev_invariant_ifs(e, tiers[TIER_MYNUMBER], e->zone_st[first[TIER_MYNUMBER]]->name.loc,
				 p->isolate[p->nisolate - 1].text);
	}
	if (!e->have_sanitize && tiers[TIER_LGWAN] && tiers[TIER_INTERNET]) {
		struct policy_sanitize s = {
			.a_zones = tiers[TIER_LGWAN],
			.b_zones = tiers[TIER_INTERNET],
			.both_ways = true,
			.implicit = true,
			.loc = p->zones[first[TIER_LGWAN]].loc,
			.text = xstrdup("sanitize lgwan <-> internet (standard)"),
		};
		ev_svc_any(&s.svc, &s.nsvc);
		ev_invariant_ifs(e, s.a_zones | s.b_zones, e->zone_st[first[TIER_LGWAN]]->name.loc, s.text);
		p->sanitize = xreallocarray(p->sanitize, p->nsanitize + 1, sizeof *p->sanitize);
		p->sanitize[p->nsanitize++] = s;
	}
}

/* Names a broken statement refers to count as used: warning that they are
 * unused would only add noise to the syntax error. */
static void ev_mark_list(struct ev *e, const struct ast_list *l)
{
	for (uint32_t k = 0; k < l->n; k++) {
		if (l->v[k].kind != AST_ITEM_NAME && l->v[k].kind != AST_ITEM_WORD)
			continue;
		long i = htab_get(&e->addr_ht, l->v[k].w.s);
		if (i < 0)
			i = htab_get(&e->svc_ht, l->v[k].w.s);
		if (i >= 0)
			e->objs[i].used = true;
	}
}

static void ev_unused(struct ev *e)
{
	for (size_t i = 0; i < e->ast->nstmts; i++) {
		const struct ast_stmt *st = e->ast->stmts[i];
		if (!st->broken)
			continue;
		ev_mark_list(e, &st->items);
		ev_mark_list(e, &st->svc);
		ev_mark_list(e, &st->via);
		ev_mark_list(e, &st->from.addrs);
		ev_mark_list(e, &st->to.addrs);
	}
	for (size_t i = 0; i < e->nobjs; i++) {
		const struct obj *o = &e->objs[i];
		if (o->used || o->st->broken || o->bad)
			continue;
		policy_diag_warning(e->d, dloc(e, o->st->name.loc), "%s '%s' is never used", ev_kind_name(o->st->kind),
				    o->st->name.s);
	}
}

/* ------------------------------------------------- diagnostics order */

struct ev_group {
	size_t start, n;
	size_t file;
	uint32_t line, col;
	size_t seq;
};

static int ev_group_cmp(const void *a, const void *b)
{
	const struct ev_group *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort the entries this load added by place: reading a policy's
 * diagnostics top to bottom is what people expect. */
static void ev_sort_diags(struct ev *e, size_t from)
{
	struct diag *d = e->d;
	struct ev_group *g = NULL;
	size_t ng = 0, gcap = 0;
	const char *last_name = NULL;
	size_t last_file = SIZE_MAX;

	for (size_t i = from; i < d->n; i++) {
		const struct diag_entry *de = &d->v[i];
		if (de->severity == DIAG_NOTE && ng) {
			g[ng - 1].n++;
			continue;
		}
		size_t file = SIZE_MAX;
		if (de->loc.file && de->loc.file == last_name) {
			file = last_file;
		} else {
			for (size_t f = 0; de->loc.file && f < e->src->nfiles; f++)
				if (e->src->files[f].dname == de->loc.file)
					file = f;
			last_name = de->loc.file;
			last_file = file;
		}
		xgrow(&g, &gcap, ng + 1, sizeof *g);
		g[ng] = (struct ev_group){i, 1, file, de->loc.line, de->loc.col, ng};
		ng++;
	}
	if (ng == 0)
		return;
	qsort(g, ng, sizeof *g, ev_group_cmp);
	struct diag_entry *v = xreallocarray(NULL, d->n - from ? d->n - from : 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < ng; i++)
		for (size_t j = 0; j < g[i].n; j++)
			v[k++] = d->v[g[i].start + j];
	memcpy(d->v + from, v, k * sizeof *v);
	free(v);
	free(g);
}

/* ------------------------------------------------------------ driver */

static void ev_free(struct ev *e)
{
	htab_free(&e->zone_ht);
	htab_free(&e->addr_ht);
	htab_free(&e->svc_ht);
	htab_free(&e->if_ht);
	for (size_t i = 0; i < TABLE_MAX_ZONES; i++)
		aset_free(&e->zone_nets[i]);
	aset_free(&e->cache_nets);
	free(e->ifs);
	for (size_t i = 0; i < e->nobjs; i++) {
		aset_free(&e->objs[i].set);
		free(e->objs[i].svc);
	}
	free(e->objs);
	free(e->path);
	policy_free(e->p);
}

static void ev_start(struct ev *e, struct policy_source *src, struct diag *d)
{
	memset(e, 0, sizeof *e);
	e->d = d;
	e->src = src;
	e->ast = &src->ast;
	memcpy(e->today, src->today, sizeof e->today);
	e->suggest_budget = EV_SUGGEST_BUDGET;
	e->cache_mask = 0;
	e->p = xcalloc(1, sizeof *e->p);
	e->p->nzones = 1;
	e->p->zones[TABLE_ZONE_SELF].name = xstrdup("self");
	e->p->zones[TABLE_ZONE_SELF].tier = TIER_NONE;
	e->p->zones[TABLE_ZONE_SELF].ifnames = NULL;
	htab_put(&e->zone_ht, e->p->zones[TABLE_ZONE_SELF].name, TABLE_ZONE_SELF);
	for (size_t i = 0; i < TABLE_MAX_ZONES; i++)
		for (size_t j = 0; j < TABLE_MAX_ZONES; j++)
			e->p->default_action[i][j] = ACT_DENY;
}

/* Everything after parsing. */
static int ev_finish(struct ev *e, size_t errors_before, size_t diag_from, struct policy **ret)
{
	struct policy *p = e->p;

	ev_define(e);
	ev_zones(e);
	for (size_t i = 0; i < e->nobjs; i++)
		ev_resolve(e, (uint32_t)i, e->objs[i].st->name.loc);
	for (size_t i = 0; i < e->ast->nstmts; i++) {
		const struct ast_stmt *st = e->ast->stmts[i];
		switch (st->kind) {
		case AST_RULE:
			ev_rule(e, st);
			break;
		case AST_DEFAULT:
			ev_default(e, st);
			break;
		case AST_ISOLATE:
			ev_isolate(e, st);
			break;
		case AST_SANITIZE:
			ev_sanitize(e, st);
			break;
		default:
			break;
		}
	}
	ev_implicit(e);
	ev_unused(e);

	for (uint32_t z = 1; z < p->nzones; z++)
		aset_copy_out(&e->zone_nets[z], &p->zones[z].nets);
	memcpy(p->sha256, e->src->sha256, sizeof p->sha256);
	ev_sort_diags(e, diag_from);

	/* the files move into the policy; locs already point at them */
	struct policy_source *src = e->src;
	p->files = xcalloc(src->nfiles ? src->nfiles : 1, sizeof *p->files);
	for (size_t i = 0; i < src->nfiles; i++) {
		p->files[i] = src->files[i].path;
		src->files[i].path = NULL;
	}
	p->nfiles = (uint32_t)src->nfiles;
	if (p->rules && p->nrules)
		p->rules = xreallocarray(p->rules, p->nrules, sizeof *p->rules);

	if (e->d->nerrors != errors_before) {
		/* the loc strings live in p->files: free p last (ev_free) */
		return -EINVAL;
	}
	*ret = p;
	e->p = NULL;
	return 0;
}

int policy_eval(struct policy_source *src, struct diag *d, struct policy **ret)
{
	struct ev e;
	*ret = NULL;
	ev_start(&e, src, d);
	int r = ev_finish(&e, src->errors_before, src->diag_from, ret);
	ev_free(&e);
	return r;
}
