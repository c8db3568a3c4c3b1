/* fixture: policies built in C for the analysis tests (see fixture.h). */
#include "fixture.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "test/check.h"

static void die(const char *what, const char *spec)
{
	fprintf(stderr, "fixture: bad %s: '%s'\n", what, spec);
	abort();
}

struct policy *fx_policy(void)
{
	struct policy *p = xcalloc(1, sizeof *p);
	p->name = xstrdup("test");
	p->nfiles = 1;
	p->files = xcalloc(1, sizeof *p->files);
	p->files[0] = xstrdup("test.policy");
	fx_zone(p, "self", TIER_NONE);
	for (int f = 0; f < TABLE_MAX_ZONES; f++)
		for (int t = 0; t < TABLE_MAX_ZONES; t++)
			p->default_action[f][t] = ACT_DENY;
	return p;
}

int fx_zone(struct policy *p, const char *name, enum table_tier tier)
{
	struct policy_zone *z = &p->zones[p->nzones];
	z->name = xstrdup(name);
	z->tier = tier;
	z->nets = fx_addrs("any");
	return (int)p->nzones++;
}

uint64_t fx_zones(const struct policy *p, const char *names)
{
	if (!strcmp(names, "any"))
		return p->nzones >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << p->nzones) - 1);
	uint64_t m = 0;
	char *dup = xstrdup(names), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int z = policy_zone_find(p, t);
		if (z < 0)
			die("zone", t);
		m |= (uint64_t)1 << z;
	}
	free(dup);
	return m;
}

struct addr_set fx_addrs(const char *spec)
{
	struct addr_set s = {0};
	/* ranges, not /0: inaddr_parse_span("::/0") shifts by 128 (reported) */
	if (!strcmp(spec, "any"))
		spec = "0.0.0.0-255.255.255.255,::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	char *dup = xstrdup(spec), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int fam;
		u128 lo, hi;
		if (inaddr_parse_span(t, strlen(t), &fam, &lo, &hi) < 0)
			die("address", t);
		if (fam == 4) {
			s.v4 = xreallocarray(s.v4, s.n4 + 1, sizeof *s.v4);
			s.v4[s.n4++] = (struct ip_range){lo, hi};
		} else {
			s.v6 = xreallocarray(s.v6, s.n6 + 1, sizeof *s.v6);
			s.v6[s.n6++] = (struct ip_range){lo, hi};
		}
	}
	free(dup);
	s.n4 = (uint32_t)policy_ip_ranges_normalize(s.v4, s.n4);
	s.n6 = (uint32_t)policy_ip_ranges_normalize(s.v6, s.n6);
	return s;
}

static int proto_number(const char *name)
{
	static const struct {
		const char *n;
		int v;
	} t[] = {
		{"icmp", 1},    {"tcp", 6},   {"udp", 17},  {"dccp", 33},  {"gre", 47},   {"esp", 50},      {"ah", 51},
		{"icmpv6", 58}, {"ospf", 89}, {"pim", 103}, {"vrrp", 112}, {"sctp", 132}, {"udplite", 136},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(t[i].n, name))
			return t[i].v;
	return -1;
}

static int svc_cmp(const void *a, const void *b)
{
	const struct svc_range *x = a, *y = b;
	if (x->sport_lo != y->sport_lo)
		return x->sport_lo < y->sport_lo ? -1 : 1;
	return x->key_lo < y->key_lo ? -1 : x->key_lo > y->key_lo;
}

struct svc_range *fx_svcs(const char *spec, uint32_t *ret_n)
{
	struct svc_range *v = NULL;
	uint32_t n = 0;
	char *dup = xstrdup(spec), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct svc_range s = {0, SVC_KEY_MAX, 0, 0xffff};
		char *at = strchr(t, '@');
		unsigned a, b;
		if (at) {
			*at++ = '\0';
			if (sscanf(at, "%u-%u", &a, &b) != 2)
				die("sport", at);
			s.sport_lo = (uint16_t)a;
			s.sport_hi = (uint16_t)b;
		}
		if (strcmp(t, "any")) {
			char *slash = strchr(t, '/');
			if (slash)
				*slash++ = '\0';
			int proto = !strcmp(t, "proto") && slash ? atoi(slash) : proto_number(t);
			if (proto < 0)
				die("service", t);
			if (!strcmp(t, "proto") || !slash) {
				/* a whole protocol: all its keys (ports, types) */
				s.key_lo = SVC_KEY(proto, 0);
				s.key_hi = table_proto_has_ports((uint8_t)proto) || proto == 1 || proto == 58
					? SVC_KEY(proto, 0xffff)
					: SVC_KEY(proto, 0);
			} else if (proto == 1 || proto == 58) {
				if (sscanf(slash, "%u", &a) != 1)
					die("icmp type", slash);
				s.key_lo = SVC_KEY(proto, a << 8);
				s.key_hi = SVC_KEY(proto, a << 8 | 0xff);
			} else {
				int k = sscanf(slash, "%u-%u", &a, &b);
				if (k < 1)
					die("port", slash);
				s.key_lo = SVC_KEY(proto, a);
				s.key_hi = SVC_KEY(proto, k == 2 ? b : a);
			}
		}
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = s;
	}
	free(dup);
	qsort(v, n, sizeof *v, svc_cmp);
	*ret_n = n;
	return v;
}

struct policy_rule *fx_rule(struct policy *p, const char *name, enum table_action action, const char *from,
			    const char *to, const char *src, const char *dst, const char *svc, uint32_t flags)
{
	p->rules = xreallocarray(p->rules, p->nrules + 1, sizeof *p->rules);
	struct policy_rule *r = &p->rules[p->nrules++];
	memset(r, 0, sizeof *r);
	r->id = p->nrules;
	p->nrules_total = p->nrules;
	r->action = action;
	r->flags = flags;
	if (!strcmp(src, "any"))
		r->flags |= POLICY_RULE_SRC_ANY;
	if (!strcmp(dst, "any"))
		r->flags |= POLICY_RULE_DST_ANY;
	r->from_zones = fx_zones(p, from);
	r->to_zones = fx_zones(p, to);
	r->src = fx_addrs(src);
	r->dst = fx_addrs(dst);
	r->svc = fx_svcs(svc, &r->nsvc);
	r->loc = (struct policy_loc){p->files[0], r->id * 10, 1, 4};
	r->name = xstrdup(name);
	r->from_text = xstrdup(from);
	r->to_text = xstrdup(to);
	r->svc_text = xstrdup(svc);
	return r;
}

void fx_isolate(struct policy *p, const char *zones, uint32_t line)
{
	p->isolate = xreallocarray(p->isolate, p->nisolate + 1, sizeof *p->isolate);
	struct policy_isolate *i = &p->isolate[p->nisolate++];
	memset(i, 0, sizeof *i);
	i->zones = fx_zones(p, zones);
	i->implicit = line == 0;
	if (line)
		i->loc = (struct policy_loc){p->files[0], line, 1, 7};
	i->text = xasprintf("isolate %s", zones);
}

void fx_sanitize(struct policy *p, const char *a, const char *b, bool both_ways, const char *via, bool via_self,
		 const char *svc, uint32_t line)
{
	p->sanitize = xreallocarray(p->sanitize, p->nsanitize + 1, sizeof *p->sanitize);
	struct policy_sanitize *s = &p->sanitize[p->nsanitize++];
	memset(s, 0, sizeof *s);
	s->a_zones = fx_zones(p, a);
	s->b_zones = fx_zones(p, b);
	s->both_ways = both_ways;
	if (via && *via)
		s->via = fx_addrs(via);
	s->via_self = via_self;
	s->svc = fx_svcs(svc, &s->nsvc);
	s->implicit = line == 0;
	if (line)
		s->loc = (struct policy_loc){p->files[0], line, 1, 8};
	if (via && *via)
		s->text = xasprintf("sanitize %s %s %s via %s%s", a, both_ways ? "<->" : "->", b, via,
				    via_self ? ", self" : "");
	else
		s->text = xasprintf("sanitize %s %s %s%s", a, both_ways ? "<->" : "->", b, via_self ? " via self" : "");
}

struct policy_packet fx_packet(const struct policy *p, const char *from, const char *to, const char *proto,
			       const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct policy_packet k = {0};
	int f = policy_zone_find(p, from), t = policy_zone_find(p, to), fam = 0, fam2 = 0;
	int pr = proto_number(proto);
	if (f < 0 || t < 0 || pr < 0 || inaddr_parse(src, &fam, &k.src) < 0 || inaddr_parse(dst, &fam2, &k.dst) < 0 ||
	    fam != fam2)
		die("packet", src);
	k.from_zone = (uint8_t)f;
	k.to_zone = (uint8_t)t;
	k.family = (uint8_t)fam;
	k.proto = (uint8_t)pr;
	k.sport = table_proto_has_ports(k.proto) ? sport : 0;
	k.key = table_packet_key(k.proto, dport, (uint8_t)(dport >> 8), (uint8_t)dport);
	return k;
}

/* "A:port", "[A]:port" or "A" */
static bool endpoint_parse(const char *s, bool ports, int *fam, u128 *a, unsigned *port)
{
	char buf[128];
	*port = 0;
	if (!ports)
		return inaddr_parse(s, fam, a) == 0;
	const char *colon = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
	if (!colon)
		return false;
	size_t n = (size_t)(colon - s) - (s[0] == '[');
	if (n >= sizeof buf)
		return false;
	memcpy(buf, s + (s[0] == '['), n);
	buf[n] = '\0';
	*port = (unsigned)strtoul(colon + (s[0] == '[' ? 2 : 1), NULL, 10);
	return inaddr_parse(buf, fam, a) == 0;
}

bool fx_packet_parse(const struct policy *p, const char *text, struct policy_packet *ret)
{
	char from[64], to[64], proto[32], src[128], dst[128];
	unsigned type = 0, code = 0;
	memset(ret, 0, sizeof *ret);
	if (sscanf(text, "%63s -> %63s %31s", from, to, proto) != 3)
		return false;
	int f = policy_zone_find(p, from), t = policy_zone_find(p, to);
	if (f < 0 || t < 0)
		return false;
	int pr;
	if (!strcmp(proto, "proto")) {
		if (sscanf(text, "%63s -> %63s proto %d %127s -> %127s", from, to, &pr, src, dst) != 5)
			return false;
	} else {
		pr = proto_number(proto);
		if (sscanf(text, "%63s -> %63s %31s %127s -> %127s type %u code %u", from, to, proto, src, dst, &type,
			   &code) < 5)
			return false;
	}
	if (pr < 0 || pr > 255)
		return false;
	bool ports = table_proto_has_ports((uint8_t)pr);
	int fs, fd;
	unsigned sport, dport;
	if (!endpoint_parse(src, ports, &fs, &ret->src, &sport) ||
	    !endpoint_parse(dst, ports, &fd, &ret->dst, &dport) || fs != fd)
		return false;
	ret->from_zone = (uint8_t)f;
	ret->to_zone = (uint8_t)t;
	ret->family = (uint8_t)fs;
	ret->proto = (uint8_t)pr;
	ret->sport = (uint16_t)sport;
	ret->key = table_packet_key(ret->proto, (uint16_t)dport, (uint8_t)type, (uint8_t)code);
	return true;
}

const char *fx_diag_find(const struct diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->v[i].message, needle))
			return d->v[i].message;
	return NULL;
}

size_t fx_diag_count(const struct diag *d, const char *needle)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += strstr(d->v[i].message, needle) != NULL;
	return n;
}

void fx_diag_dump(const struct diag *d)
{
	struct strbuf sb = STRBUF_INIT;
	policy_diag_render(d, &sb);
	fputs(strbuf_str(&sb), stderr);
	strbuf_free(&sb);
}
