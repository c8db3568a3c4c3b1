/* eval_test: the evaluator, from policy text to struct policy.
 *
 * Value parsers (services, dates) and normalisation first, then whole
 * policies accepted and refused side by side, then the meaning of an
 * accepted policy (zones, flags, keys, sets, texts, invariants, defaults,
 * expiry), the source hash, includes on disk, caps, and load time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "rules/policy.h"
#include "rules/policy_eval.h"
#include "test/check.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static const struct policy_options opts = {.today = "2026-11-22"};

/* ------------------------------------------------------------ values */

static const struct {
	const char *spec, *sport;
	int rc;
	uint32_t key_lo, key_hi;
	uint16_t sport_lo, sport_hi;
	const char *why;
	uint32_t off, len;
} specs[] = {
	{"tcp/25", NULL, 0, 0x060019, 0x060019, 0, 65535, NULL, 0, 0},
	{"udp/1024-65535", NULL, 0, 0x110400, 0x11ffff, 0, 65535, NULL, 0, 0},
	{"tcp/any", NULL, 0, 0x060000, 0x06ffff, 0, 65535, NULL, 0, 0},
	{"tcp", NULL, 0, 0x060000, 0x06ffff, 0, 65535, NULL, 0, 0},
	{"udp/53", "1024-65535", 0, 0x110035, 0x110035, 1024, 65535, NULL, 0, 0},
	{"tcp", "53", 0, 0x060000, 0x06ffff, 53, 53, NULL, 0, 0},
	{"sctp/3868", NULL, 0, 0x840000 + 3868, 0x840000 + 3868, 0, 65535, NULL, 0, 0},
	{"udplite/5", NULL, 0, 0x880005, 0x880005, 0, 65535, NULL, 0, 0},
	{"dccp/0", NULL, 0, 0x210000, 0x210000, 0, 65535, NULL, 0, 0},
	{"icmp/echo-request", NULL, 0, 0x010800, 0x0108ff, 0, 65535, NULL, 0, 0},
	{"icmp/3:4", NULL, 0, 0x010304, 0x010304, 0, 65535, NULL, 0, 0},
	{"icmp/destination-unreachable:13", NULL, 0, 0x01030d, 0x01030d, 0, 65535, NULL, 0, 0},
	{"icmp", NULL, 0, 0x010000, 0x01ffff, 0, 65535, NULL, 0, 0},
	{"icmp/any", NULL, 0, 0x010000, 0x01ffff, 0, 65535, NULL, 0, 0},
	{"icmpv6/echo-request", NULL, 0, 0x3a8000, 0x3a80ff, 0, 65535, NULL, 0, 0},
	{"icmpv6/packet-too-big", NULL, 0, 0x3a0200, 0x3a02ff, 0, 65535, NULL, 0, 0},
	{"icmpv6/nd-neighbor-solicit", NULL, 0, 0x3a8700, 0x3a87ff, 0, 65535, NULL, 0, 0},
	{"icmpv6/mld-listener-query", NULL, 0, 0x3a8200, 0x3a82ff, 0, 65535, NULL, 0, 0},
	{"icmp/timestamp", NULL, 0, 0x010d00, 0x010dff, 0, 65535, NULL, 0, 0},
	{"proto/gre", NULL, 0, 0x2f0000, 0x2fffff, 0, 65535, NULL, 0, 0},
	{"proto/50", NULL, 0, 0x320000, 0x32ffff, 0, 65535, NULL, 0, 0},
	{"proto/vrrp", NULL, 0, 0x700000, 0x70ffff, 0, 65535, NULL, 0, 0},
	{"proto/tcp", NULL, 0, 0x060000, 0x06ffff, 0, 65535, NULL, 0, 0},
	{"any", NULL, 0, 0, 0xffffff, 0, 65535, NULL, 0, 0},
	/* refused, with the part that is wrong */
	{"tcp/70000", NULL, -EINVAL, 0, 0, 0, 0, "port 70000 is out of range", 4, 5},
	{"tcp/99999999999", NULL, -EINVAL, 0, 0, 0, 0, "out of range", 4, 11},
	{"udp/2000-1000", NULL, -EINVAL, 0, 0, 0, 0, "port range 2000-1000 is backwards", 4, 9},
	{"tcp/25-", NULL, -EINVAL, 0, 0, 0, 0, "invalid port ''", 7, 0},
	{"tcp/", NULL, -EINVAL, 0, 0, 0, 0, "missing port", 4, 0},
	{"tcp/smtp", NULL, -EINVAL, 0, 0, 0, 0, "invalid port 'smtp'", 4, 4},
	{"tcp/+25", NULL, -EINVAL, 0, 0, 0, 0, "invalid port", 4, 3},
	{"tcp/25", "x", -EINVAL, 0, 0, 0, 0, "invalid port 'x'", 0, 1},
	{"icmp/echo-request", "1", -EINVAL, 0, 0, 0, 0, "sport applies only to", 0, 1},
	{"proto/gre", "1", -EINVAL, 0, 0, 0, 0, "sport applies only to", 0, 1},
	{"any", "1", -EINVAL, 0, 0, 0, 0, "sport applies only to", 0, 1},
	{"http/80", NULL, -EINVAL, 0, 0, 0, 0, "unknown protocol 'http'", 0, 4},
	{"gre/1", NULL, -EINVAL, 0, 0, 0, 0, "unknown protocol 'gre'", 0, 3},
	{"proto", NULL, -EINVAL, 0, 0, 0, 0, "'proto' needs a protocol", 0, 5},
	{"proto/256", NULL, -EINVAL, 0, 0, 0, 0, "protocol number 256 is out of range", 6, 3},
	{"proto/grr", NULL, -EINVAL, 0, 0, 0, 0, "did you mean 'gre'?", 6, 3},
	{"icmp/echo-requets", NULL, -EINVAL, 0, 0, 0, 0, "did you mean 'echo-request'?", 5, 12},
	{"icmp/packet-too-big", NULL, -EINVAL, 0, 0, 0, 0, "is an ICMPv6 type", 5, 14},
	{"icmpv6/timestamp", NULL, -EINVAL, 0, 0, 0, 0, "is an ICMP (IPv4) type", 7, 9},
	{"icmp/256", NULL, -EINVAL, 0, 0, 0, 0, "ICMP type 256 is out of range", 5, 3},
	{"icmp/3:300", NULL, -EINVAL, 0, 0, 0, 0, "ICMP code 300 is out of range", 7, 3},
	{"icmp/3:", NULL, -EINVAL, 0, 0, 0, 0, "invalid ICMP code", 7, 0},
};

static void test_specs(void)
{
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		struct svc_range r;
		struct policy_why why;
		const char *sp = specs[i].sport;
		int rc = policy_eval_spec(specs[i].spec, strlen(specs[i].spec), sp, sp ? strlen(sp) : 0, &r, &why);
		if (rc != specs[i].rc) {
			fprintf(stderr, "spec %s: rc %d (%s)\n", specs[i].spec, rc, why.msg);
			check_failures++;
			continue;
		}
		if (rc == 0 &&
		    (r.key_lo != specs[i].key_lo || r.key_hi != specs[i].key_hi || r.sport_lo != specs[i].sport_lo ||
		     r.sport_hi != specs[i].sport_hi)) {
			fprintf(stderr, "spec %s: %06x-%06x sport %u-%u\n", specs[i].spec, r.key_lo, r.key_hi,
				r.sport_lo, r.sport_hi);
			check_failures++;
		}
		if (rc < 0 &&
		    (!strstr(why.msg, specs[i].why) || why.off != specs[i].off || why.len != specs[i].len ||
		     why.in_sport != (sp != NULL))) {
			fprintf(stderr, "spec %s: why '%s' at %u+%u sport %d\n", specs[i].spec, why.msg, why.off,
				why.len, why.in_sport);
			check_failures++;
		}
	}
}

static void test_svc_normalize(void)
{
	static const struct {
		size_t n;
		struct svc_range in[4];
		size_t nout;
		struct svc_range out[4];
	} t[] = {
		/* adjacent ports merge */
		{2,
		 {{0x060019, 0x060019, 0, 65535}, {0x06001a, 0x06001a, 0, 65535}},
		 1,
		 {{0x060019, 0x06001a, 0, 65535}}},
		/* overlapping, out of order */
		{3,
		 {{0x110035, 0x110040, 0, 65535}, {0x060019, 0x060019, 0, 65535}, {0x110030, 0x110036, 0, 65535}},
		 2,
		 {{0x060019, 0x060019, 0, 65535}, {0x110030, 0x110040, 0, 65535}}},
		/* different source ports never merge; sorted by (sport_lo, key_lo) */
		{3,
		 {{0x110035, 0x110035, 1024, 65535}, {0x110036, 0x110036, 0, 65535}, {0x060001, 0x060001, 0, 1023}},
		 3,
		 {{0x060001, 0x060001, 0, 1023}, {0x110036, 0x110036, 0, 65535}, {0x110035, 0x110035, 1024, 65535}}},
		/* any absorbs everything */
		{2, {{0x060019, 0x060019, 53, 53}, {0, 0xffffff, 0, 65535}}, 1, {{0, 0xffffff, 0, 65535}}},
		/* duplicates */
		{2,
		 {{0x060019, 0x060019, 0, 65535}, {0x060019, 0x060019, 0, 65535}},
		 1,
		 {{0x060019, 0x060019, 0, 65535}}},
		{0, {{0}}, 0, {{0}}},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct svc_range v[4];
		memcpy(v, t[i].in, sizeof v);
		size_t n = policy_eval_svc_normalize(v, t[i].n);
		if (n != t[i].nout || (n && memcmp(v, t[i].out, n * sizeof v[0]))) {
			fprintf(stderr, "svc normalize %zu: n %zu\n", i, n);
			check_failures++;
		}
	}
}

static void test_ranges_normalize(void)
{
	struct ip_range v[] = {{10, 20}, {0, 5}, {6, 8}, {21, 21}, {30, 40}, {35, 36}};
	size_t n = policy_ip_ranges_normalize(v, 6);
	CHECK(n == 3);
	CHECK(v[0].lo == 0 && v[0].hi == 8);
	CHECK(v[1].lo == 10 && v[1].hi == 21);
	CHECK(v[2].lo == 30 && v[2].hi == 40);
	struct ip_range w[] = {{U128_MAX - 1, U128_MAX}, {5, U128_MAX - 2}, {U128_MAX, U128_MAX}};
	n = policy_ip_ranges_normalize(w, 3);
	CHECK(n == 1 && w[0].lo == 5 && w[0].hi == U128_MAX);
	CHECK(policy_ip_ranges_normalize(w, 0) == 0);
}

static void test_dates(void)
{
	static const struct {
		const char *s;
		int rc;
	} d[] = {
		{"2026-11-22", 0},        {"2028-02-29", 0},       {"2000-02-29", 0},       {"2027-12-31", 0},
		{"2027-02-29", -EINVAL},  {"2100-02-29", -EINVAL}, {"2027-13-01", -EINVAL}, {"2027-00-10", -EINVAL},
		{"2027-04-31", -EINVAL},  {"2027-4-30", -EINVAL},  {"27-04-30", -EINVAL},   {"2027/04/30", -EINVAL},
		{"2027-04-30x", -EINVAL}, {"", -EINVAL},           {"1969-12-31", -EINVAL}, {"2027-04-00", -EINVAL},
	};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
		if (policy_eval_date(d[i].s, strlen(d[i].s)) != d[i].rc) {
			fprintf(stderr, "date '%s': want %d\n", d[i].s, d[i].rc);
			check_failures++;
		}
}

/* ---------------------------------------------------------- policies */

#define ZONES                                                                             \
	"zone mynumber tier mynumber interface eth1 network 198.18.10.0/24\n"             \
	"zone lgwan tier lgwan interface eth2 network 198.18.20.0/24, 2001:db8:20::/48\n" \
	"zone internet tier internet interface eth3 network any\n"

static const struct {
	const char *what;
	const char *text;
	int rc;
	const char *diag; /* substring of the rendered diagnostics; NULL: none at all */
} policies[] = {
	{"empty policy", "", 0, NULL},
	{"zones only", ZONES, 0, NULL},
	{"definitions after use",
	 ZONES "rule \"r\" allow lgwan [h] -> lgwan service s\n"
	       "host h 198.18.20.1\nservice s tcp/22\n",
	 0, NULL},
	{"unknown zone", ZONES "rule \"r\" allow lgwn -> internet\n", -EINVAL,
	 "t:4:16: error: unknown zone 'lgwn'; did you mean 'lgwan'?\n"
	 "  rule \"r\" allow lgwn -> internet\n"
	 "                 ^~~~\n"},
	{"unknown service with suggestion",
	 ZONES "service smtp tcp/25\n"
	       "rule \"r\" allow lgwan -> internet service smtq\n",
	 -EINVAL, "error: unknown service 'smtq'; did you mean 'smtp'?"},
	{"unknown address, no close name", ZONES "rule \"r\" allow lgwan [web] -> internet\n", -EINVAL,
	 "error: unknown address object 'web'\n"},
	{"duplicate host",
	 ZONES "host a 198.18.20.1\nhost a 198.18.20.2\n"
	       "rule \"r\" allow lgwan [a] -> lgwan\n",
	 -EINVAL,
	 "t:5:6: error: host 'a' is already defined\n  host a 198.18.20.2\n       ^\n"
	 "t:4:6: note: 'a' was first defined here"},
	{"namespaces are separate",
	 ZONES "host smtp 198.18.20.25\nservice smtp tcp/25\n"
	       "rule \"r\" allow lgwan -> lgwan [smtp] service smtp\n",
	 0, NULL},
	{"zone named like an object is fine",
	 ZONES "host lgwan 198.18.20.1\n"
	       "rule \"r\" allow lgwan -> lgwan [lgwan]\n",
	 0, NULL},
	{"service in an address list",
	 ZONES "service smtp tcp/25\n"
	       "rule \"r\" allow lgwan [smtp] -> lgwan service smtp\n",
	 -EINVAL, "'smtp' is a service, not an address object"},
	{"host in a service list",
	 ZONES "host h 198.18.20.1\n"
	       "rule \"r\" allow lgwan [h] -> lgwan service h\n",
	 -EINVAL, "'h' is a host, not a service"},
	{"group cycle", ZONES "group a b\ngroup b a\nrule \"r\" allow lgwan [a] -> lgwan\n", -EINVAL,
	 "group 'a' contains itself: a -> b -> a"},
	{"service group cycle",
	 ZONES "service-group a b\nservice-group b a\n"
	       "rule \"r\" allow lgwan -> lgwan service a\n",
	 -EINVAL, "contains itself"},
	{"host bits", ZONES "network n 198.18.20.1/24\nrule \"r\" allow lgwan [n] -> lgwan\n", -EINVAL,
	 "prefix '198.18.20.1/24' has host bits set; did you mean 198.18.20.0/24?"},
	{"v6 host bits", ZONES "rule \"r\" allow lgwan [2001:db8:20::1/64] -> lgwan\n", -EINVAL,
	 "did you mean 2001:db8:20::/64?"},
	{"host needs single addresses", ZONES "host h 198.18.20.0/24\nrule \"r\" allow lgwan [h] -> lgwan\n", -EINVAL,
	 "is not a single address"},
	{"range needs A-B", ZONES "range r 198.18.20.0/24\nrule \"r\" allow lgwan [r] -> lgwan\n", -EINVAL,
	 "a range is written A-B"},
	{"default allow", ZONES "default lgwan -> internet allow\n", -EINVAL, "a default can only deny or reject"},
	{"interface twice", ZONES "zone mgmt interface eth2\n", -EINVAL,
	 "interface 'eth2' is already used by zone 'lgwan'"},
	{"interface too long", "zone z interface abcdefghijklmnop\n", -EINVAL, "longer than 15 bytes"},
	{"interface 15 bytes", "zone z interface abcdefghijklmno\n", 0, NULL},
	{"no interfaces", "zone z\n", 0, "warning: zone 'z' has no interfaces; the datapath cannot recognise it"},
	{"zone self", "zone self interface eth0\n", -EINVAL, "'self' is built in"},
	{"self host outside self", ZONES "host relay self\nrule \"r\" allow internet -> lgwan [relay]\n", -EINVAL,
	 "'relay' is the appliance itself"},
	{"self host on self", ZONES "host relay self\nrule \"r\" allow internet -> self [relay]\n", 0, NULL},
	{"self host in sanitize",
	 ZONES "host relay self\nservice smtp tcp/25\n"
	       "sanitize lgwan <-> internet via relay service smtp\n",
	 0, NULL},
	{"via must be hosts", ZONES "group g 198.18.20.1\nsanitize lgwan <-> internet via g\n", -EINVAL,
	 "'g' is a group; via takes host names"},
	{"unused objects", ZONES "host h 198.18.20.1\nservice s tcp/1\n", 0, "warning: host 'h' is never used"},
	{"used by a group only", ZONES "host h 198.18.20.1\ngroup g h\n", 0, "warning: group 'g' is never used"},
	{"require owner", ZONES "require owner\nrule \"r\" allow lgwan -> lgwan\n", 0, "warning: rule has no owner"},
	{"require description", ZONES "require description\nrule \"r\" allow lgwan -> lgwan owner \"o\"\n", 0,
	 "warning: rule has no description"},
	{"expired rule", ZONES "rule \"r\" allow lgwan -> lgwan expires 2026-11-21\n", 0,
	 "warning: rule expired on 2026-11-21; left out of the table"},
	{"expires today is still valid", ZONES "rule \"r\" allow lgwan -> lgwan expires 2026-11-22\n", 0, NULL},
	{"bad date", ZONES "rule \"r\" allow lgwan -> lgwan expires 2026-02-29\n", -EINVAL, "invalid date"},
	{"address outside the zone", ZONES "rule \"r\" allow lgwan [198.18.30.1] -> lgwan\n", 0,
	 "warning: '198.18.30.1' is not inside the networks of zone lgwan"},
	{"address inside one of the zones", ZONES "rule \"r\" allow lgwan, mynumber [198.18.10.1] -> lgwan\n", 0, NULL},
	{"zone without networks: no check", "zone a interface e1\nrule \"r\" allow a [10.0.0.1] -> a\n", 0, NULL},
	{"too many zones", NULL, -EINVAL, "too many zones: at most 64"},
	{"isolate unknown tier", ZONES "isolate mynumber, lgwan\nisolate dmz\n", -EINVAL, "unknown zone or tier 'dmz'"},
	{"tier without zones", "zone a interface e\nisolate mynumber\n", -EINVAL, "no zone has tier mynumber"},
	{"sanitize same zone", ZONES "sanitize lgwan -> lgwan\n", -EINVAL, "zone lgwan is on both sides"},
	{"sanitize service without via", ZONES "sanitize lgwan -> internet service tcp/25\n", -EINVAL,
	 "'service' needs 'via'"},
	{"policy twice", "policy \"a\"\npolicy \"b\"\n", -EINVAL, "the policy statement is given twice"},
	{"reserved names", "host any 1.2.3.4\nservice tcp tcp/1\n", -EINVAL, "'any' is a reserved word"},
	{"include from memory", "include \"x.policy\"\n", -EINVAL, "include is not available"},
	{"syntax and semantics together", ZONES "zone z tier dmz\nrule \"r\" allow lgwn -> lgwan\n", -EINVAL,
	 "unknown zone 'lgwn'"},
	{"syntax error without cascade", ZONES "host h 198.18.20.1 bogus\nrule \"r\" allow lgwan [h] -> lgwan\n",
	 -EINVAL, "unknown option 'bogus' for host"},
	{"invalid UTF-8", "# \xff\n", -EINVAL, "invalid UTF-8"},
	{"NUL", NULL, -EINVAL, "NUL byte"},
};

static int load_text(const char *text, size_t len, struct diag *d, struct policy **ret)
{
	return policy_load_buffer("t", text, len, &opts, d, ret);
}

static void test_policies(void)
{
	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
		struct diag d;
		struct policy *p = NULL;
		struct strbuf sb = STRBUF_INIT, gen = STRBUF_INIT;
		const char *text = policies[i].text;
		size_t len;
		const char *want = policies[i].diag;

		if (!strcmp(policies[i].what, "too many zones")) {
			for (int z = 1; z <= 64; z++)
				strbuf_printf(&gen, "zone z%d interface e%d\n", z, z);
			text = strbuf_str(&gen);
		} else if (!strcmp(policies[i].what, "NUL")) {
			strbuf_append(&gen, "zone a\0", 7);
			text = gen.buf;
		}
		len = gen.len ? gen.len : strlen(text);
		policy_diag_init(&d);
		int rc = load_text(text, len, &d, &p);
		policy_diag_render(&d, &sb);
		if (rc != policies[i].rc || (rc == 0) != (p != NULL)) {
			fprintf(stderr, "%s: rc %d, want %d\n%s", policies[i].what, rc, policies[i].rc,
				strbuf_str(&sb));
			check_failures++;
		} else if (want ? !strstr(strbuf_str(&sb), want) : sb.len != 0) {
			fprintf(stderr, "%s: diagnostics\n%s---- want\n%s\n", policies[i].what, strbuf_str(&sb),
				want ? want : "(none)");
			check_failures++;
		}
		policy_free(p);
		strbuf_free(&sb);
		strbuf_free(&gen);
		policy_diag_free(&d);
	}
}

/* ------------------------------------------------------------ meaning */

static const char example[] =
	"policy \"城北市 三層分離ポリシー\" version \"2026.11-1\"\n"
	"zone mynumber tier mynumber interface eth1 network 198.18.10.0/24, 2001:db8:10::/48 "
	"description \"マイナンバー利用事務系\"\n"
	"zone lgwan    tier lgwan    interface eth2 network 198.18.20.0/24, 2001:db8:20::/48\n"
	"zone internet tier internet interface eth3 network any\n"
	"zone mgmt     interface eth4, eth5 network 198.18.40.0/24\n"
	"host mail-relay self                        # 無害化メールリレー\n"
	"host lg-mail 198.18.20.25, 2001:db8:20::25\n"
	"network lg-clients 198.18.20.128/25\n"
	"range lg-dhcp 198.18.20.100-198.18.20.109\n"
	"group lg-all lg-clients, lg-dhcp, lg-mail\n"
	"service smtp tcp/25\n"
	"service dns udp/53, tcp/53\n"
	"service-group mail smtp, tcp/587\n"
	"isolate mynumber\n"
	"sanitize lgwan <-> internet via mail-relay service smtp\n"
	"rule \"inbound mail\" allow internet -> self [mail-relay] service smtp log\n"
	"rule \"relay to LGWAN\" allow self -> lgwan [lg-mail] service mail log\n"
	"rule \"old\" allow lgwan -> lgwan expires 2020-01-01\n"
	"rule \"clients\" deny lgwan [lg-all, 198.18.20.7] -> internet service dns, icmp/echo-request\n"
	"rule \"any\" reject any -> mgmt [any] service any\n"
	"rule \"hosts\" allow mgmt [198.18.40.5/32] -> lgwan [lg-mail, 198.18.20.9] service tcp/22\n"
	"default lgwan -> internet reject\n";

static void test_meaning(void)
{
	struct diag d;
	struct policy *p = NULL;
	struct strbuf sb = STRBUF_INIT;
	policy_diag_init(&d);
	int rc = load_text(example, strlen(example), &d, &p);
	policy_diag_render(&d, &sb);
	CHECK(rc == 0);
	if (rc) {
		fprintf(stderr, "%s", strbuf_str(&sb));
		goto out;
	}
	/* the only diagnostic is the expiry warning */
	CHECK(d.nerrors == 0 && d.nwarnings == 1);
	CHECK(strstr(strbuf_str(&sb), "t:18:41: warning: rule expired on 2020-01-01"));

	CHECK(!strcmp(p->name, "城北市 三層分離ポリシー") && !strcmp(p->version, "2026.11-1"));
	CHECK(p->nfiles == 1 && !strcmp(p->files[0], "t"));
	CHECK(!p->require_owner && !p->require_description);

	/* zones: self first */
	CHECK(p->nzones == 5);
	CHECK(!strcmp(p->zones[0].name, "self") && p->zones[0].tier == TIER_NONE && p->zones[0].nif == 0 &&
	      p->zones[0].loc.file == NULL);
	CHECK(policy_zone_find(p, "mgmt") == 4 && policy_zone_find(p, "nope") == -1);
	CHECK(p->zones[1].tier == TIER_MYNUMBER && !strcmp(p->zones[1].description, "マイナンバー利用事務系"));
	CHECK(p->zones[2].tier == TIER_LGWAN && p->zones[3].tier == TIER_INTERNET && p->zones[4].tier == TIER_NONE);
	CHECK(p->zones[4].nif == 2 && !strcmp(p->zones[4].ifnames[1], "eth5"));
	CHECK(policy_addr_set_is_any(&p->zones[3].nets));
	CHECK(p->zones[2].nets.n4 == 1 && p->zones[2].nets.n6 == 1);
	CHECK(p->zones[2].loc.file == p->files[0] && p->zones[2].loc.line == 3 && p->zones[2].loc.col == 6);

	/* rules: "old" expired, ids keep their numbers */
	CHECK(p->nrules_total == 6 && p->nrules == 5);
	CHECK(p->rules[0].id == 1 && p->rules[1].id == 2 && p->rules[2].id == 4);
	const struct policy_rule *r = &p->rules[0];
	CHECK(r->action == ACT_ALLOW && r->from_zones == 1u << 3 && r->to_zones == 1u << 0);
	CHECK(r->flags == (POLICY_RULE_LOG | POLICY_RULE_SRC_ANY | POLICY_RULE_DST_HOSTS | POLICY_RULE_SVC_EXPLICIT));
	CHECK(policy_addr_set_is_any(&r->src) && policy_addr_set_is_any(&r->dst)); /* self host = any on self */
	CHECK(r->nsvc == 1 && r->svc[0].key_lo == SVC_KEY(6, 25) && r->svc[0].key_hi == SVC_KEY(6, 25));
	CHECK(!strcmp(r->from_text, "internet") && !strcmp(r->to_text, "self [mail-relay]") &&
	      !strcmp(r->svc_text, "smtp"));
	CHECK(r->loc.file == p->files[0] && r->loc.line == 16 && r->loc.col == 1);
	CHECK(!strcmp(r->name, "inbound mail") && !r->owner && !r->description && !r->expires);

	r = &p->rules[1]; /* service-group: 25 and 587 */
	CHECK(r->nsvc == 2 && r->svc[1].key_lo == SVC_KEY(6, 587));
	CHECK(r->dst.n4 == 1 && r->dst.n6 == 1 && (r->flags & POLICY_RULE_DST_HOSTS));

	r = &p->rules[2]; /* clients */
	CHECK(r->action == ACT_DENY);
	CHECK(!(r->flags & POLICY_RULE_SRC_HOSTS) && !(r->flags & POLICY_RULE_SRC_ANY));
	CHECK(r->flags & POLICY_RULE_DST_ANY);
	CHECK(r->flags & POLICY_RULE_SVC_EXPLICIT);
	CHECK(!strcmp(r->from_text, "lgwan [lg-all, 198.18.20.7]") && !strcmp(r->svc_text, "dns, icmp/echo-request"));
	/* .7 + .25 + .100-.109 + .128/25, and the v6 mail host */
	CHECK(r->src.n4 == 4 && r->src.n6 == 1);
	CHECK(policy_addr_set_contains(&r->src, 4, ((u128)198 << 24) | (18 << 16) | (20 << 8) | 105));
	CHECK(!policy_addr_set_contains(&r->src, 4, ((u128)198 << 24) | (18 << 16) | (20 << 8) | 110));
	CHECK(r->nsvc == 3); /* icmp echo, tcp/53, udp/53 */
	CHECK(r->svc[0].key_lo == 0x010800 && r->svc[0].key_hi == 0x0108ff);

	r = &p->rules[3]; /* any */
	CHECK(r->action == ACT_REJECT && r->from_zones == 0x1f && r->to_zones == 1u << 4);
	CHECK((r->flags & POLICY_RULE_SRC_ANY) && (r->flags & POLICY_RULE_DST_ANY));
	CHECK(!(r->flags & POLICY_RULE_SVC_EXPLICIT));
	CHECK(r->nsvc == 1 && r->svc[0].key_lo == 0 && r->svc[0].key_hi == SVC_KEY_MAX && r->svc[0].sport_lo == 0 &&
	      r->svc[0].sport_hi == 65535);

	r = &p->rules[4]; /* hosts on both ends: /32 literal counts */
	CHECK((r->flags & POLICY_RULE_SRC_HOSTS) && (r->flags & POLICY_RULE_DST_HOSTS));

	/* matching through the reference semantics */
	struct policy_packet pkt = {.from_zone = 2,
				    .to_zone = 3,
				    .family = 4,
				    .proto = 17,
				    .key = table_packet_key(17, 53, 0, 0),
				    .src = ((u128)198 << 24) | (18 << 16) | (20 << 8) | 130,
				    .dst = 0x08080808};
	CHECK(policy_first_match(p, &pkt) == 2);
	pkt.src = ((u128)198 << 24) | (18 << 16) | (20 << 8) | 1;
	CHECK(policy_first_match(p, &pkt) == -1);

	/* invariants as written */
	CHECK(p->nisolate == 1 && !p->isolate[0].implicit && p->isolate[0].zones == 1u << 1 &&
	      !strcmp(p->isolate[0].text, "isolate mynumber"));
	CHECK(p->nsanitize == 1);
	const struct policy_sanitize *s = &p->sanitize[0];
	CHECK(s->a_zones == 1u << 2 && s->b_zones == 1u << 3 && s->both_ways && !s->implicit);
	CHECK(s->via_self && s->via.n4 == 0 && s->via.n6 == 0);
	CHECK(s->nsvc == 1 && s->svc[0].key_lo == SVC_KEY(6, 25));
	CHECK(!strcmp(s->text, "sanitize lgwan <-> internet via mail-relay service smtp"));

	/* defaults */
	CHECK(p->default_action[2][3] == ACT_REJECT && p->default_loc[2][3].line == 22);
	CHECK(p->default_action[3][2] == ACT_DENY && p->default_loc[3][2].file == NULL);
	CHECK(p->default_action[63][63] == ACT_DENY);
out:
	strbuf_free(&sb);
	policy_free(p);
	policy_diag_free(&d);
}

static void test_implicit(void)
{
	static const struct {
		const char *text;
		uint32_t niso, nsan;
	} t[] = {
		{ZONES, 1, 1},
		{ZONES "isolate lgwan\n", 1, 1},
		{ZONES "sanitize lgwan -> internet\n", 1, 1},
		{"zone lgwan tier lgwan interface e1\nzone i tier internet interface e2\n", 0, 1},
		{"zone m tier mynumber interface e1\nzone l tier lgwan interface e2\n", 1, 0},
		{"zone a interface e1\n", 0, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct diag d;
		struct policy *p = NULL;
		policy_diag_init(&d);
		CHECK(load_text(t[i].text, strlen(t[i].text), &d, &p) == 0);
		if (!p) {
			policy_diag_free(&d);
			continue;
		}
		CHECK(p->nisolate == t[i].niso && p->nsanitize == t[i].nsan);
		if (i == 0) {
			CHECK(p->isolate[0].implicit && p->isolate[0].zones == 1u << 1);
			CHECK(!strcmp(p->isolate[0].text, "isolate mynumber (standard)"));
			CHECK(p->sanitize[0].implicit && p->sanitize[0].both_ways);
			CHECK(p->sanitize[0].a_zones == 1u << 2 && p->sanitize[0].b_zones == 1u << 3);
			CHECK(!p->sanitize[0].via_self && p->sanitize[0].via.n4 == 0);
			CHECK(!strcmp(p->sanitize[0].text, "sanitize lgwan <-> internet (standard)"));
		}
		if (i == 1)
			CHECK(!p->isolate[0].implicit && p->sanitize[0].implicit);
		if (i == 2)
			CHECK(p->isolate[0].implicit && !p->sanitize[0].implicit && !p->sanitize[0].both_ways);
		policy_free(p);
		policy_diag_free(&d);
	}
}

/* The hash covers tokens only: layout and comments do not change it. */
static void test_hash(void)
{
	static const char *const same[] = {
		"zone a interface e1, e2\nrule \"r\" allow a -> a service tcp/22\n",
		"# comment\nzone   a  interface e1,\n   e2\n\n\trule \"r\" allow a->a \\\n service tcp/22 # x\n",
		"\xef\xbb\xbfzone a interface e1 ,e2\r\nrule \"r\" allow a -> a service tcp/22",
	};
	static const char *const other[] = {
		"zone a interface e1, e2\nrule \"R\" allow a -> a service tcp/22\n",
		"zone a interface e1, e2 rule \"r\" allow a -> a service tcp/22\n",
		"zone a interface e1\nzone b interface e2\n",
	};
	uint8_t first[32];
	for (size_t i = 0; i < 3; i++) {
		struct diag d;
		struct policy *p = NULL;
		policy_diag_init(&d);
		CHECK(load_text(same[i], strlen(same[i]), &d, &p) == 0);
		if (p) {
			if (i == 0)
				memcpy(first, p->sha256, 32);
			else
				CHECK(!memcmp(first, p->sha256, 32));
		}
		policy_free(p);
		policy_diag_free(&d);
	}
	for (size_t i = 0; i < 3; i++) {
		struct diag d;
		struct policy *p = NULL;
		policy_diag_init(&d);
		load_text(other[i], strlen(other[i]), &d, &p);
		if (p)
			CHECK(memcmp(first, p->sha256, 32) != 0);
		policy_free(p);
		policy_diag_free(&d);
	}
}

/* Diagnostics of one load come out in source order. */
static void test_order(void)
{
	const char *text = "host unused 1.2.3.4\nzone a interface e1\nrule \"r\" allow b -> a\n"
			   "zone a interface e2\n";
	struct diag d;
	struct policy *p = NULL;
	policy_diag_init(&d);
	CHECK(load_text(text, strlen(text), &d, &p) == -EINVAL);
	CHECK(d.n == 4);
	for (size_t i = 1; i < d.n; i++)
		if (d.v[i].severity != DIAG_NOTE)
			CHECK(d.v[i].loc.line >= d.v[i - 1].loc.line);
	CHECK(d.n == 4 && d.v[0].severity == DIAG_WARNING && d.v[0].loc.line == 1);
	CHECK(d.n == 4 && d.v[3].severity == DIAG_NOTE && d.v[3].loc.line == 2);
	policy_diag_free(&d);
}

/* ------------------------------------------------------------ files */

static char dir[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		check_failures++;
		return;
	}
	fputs(text, f);
	fclose(f);
}

static int load_file(const char *rel, struct diag *d, struct policy **p, struct strbuf *sb)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	int rc = policy_load(path, &opts, d, p);
	policy_diag_render(d, sb);
	return rc;
}

static void test_includes(void)
{
	struct diag d;
	struct policy *p = NULL;
	struct strbuf sb = STRBUF_INIT;
	char path[256];

	snprintf(dir, sizeof dir, "/tmp/sekisho-eval-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		check_failures++;
		return;
	}
	snprintf(path, sizeof path, "%s/sub", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/deep", dir);
	mkdir(path, 0700);

	/* included rules come where the include is; ids across files */
	write_file("main.policy",
		   "zone a interface e1\nrule \"first\" allow a -> a\n"
		   "include \"sub/objects.policy\"\nrule \"last\" allow a [h] -> a\n");
	write_file("sub/objects.policy", "host h 10.0.0.1\ninclude \"more.policy\"\n");
	write_file("sub/more.policy", "rule \"middle\" allow a -> a\n");
	policy_diag_init(&d);
	CHECK(load_file("main.policy", &d, &p, &sb) == 0);
	if (p) {
		CHECK(p->nfiles == 3);
		CHECK(p->nrules == 3 && !strcmp(p->rules[1].name, "middle") && p->rules[2].id == 3);
		CHECK(strstr(p->files[1], "/sub/objects.policy") && strstr(p->files[2], "/sub/more.policy"));
		CHECK(p->rules[1].loc.file == p->files[2]);
	}
	policy_free(p);
	policy_diag_free(&d);
	strbuf_reset(&sb);

	/* a cycle */
	write_file("cycle.policy", "include \"sub/c1.policy\"\n");
	write_file("sub/c1.policy", "include \"c2.policy\"\n");
	write_file("sub/c2.policy", "include \"c1.policy\"\n");
	policy_diag_init(&d);
	CHECK(load_file("cycle.policy", &d, &p, &sb) == -EINVAL && !p);
	CHECK(strstr(strbuf_str(&sb), "include cycle: ") && strstr(strbuf_str(&sb), "c2.policy -> "));
	policy_diag_free(&d);
	strbuf_reset(&sb);

	/* a file including itself */
	write_file("self.policy", "include \"self.policy\"\n");
	policy_diag_init(&d);
	CHECK(load_file("self.policy", &d, &p, &sb) == -EINVAL);
	CHECK(strstr(strbuf_str(&sb), "include cycle"));
	policy_diag_free(&d);
	strbuf_reset(&sb);

	/* escaping the top directory, directly and through a symbolic link */
	write_file("sub/escape.policy", "include \"../../x.policy\"\ninclude \"link.policy\"\n");
	snprintf(path, sizeof path, "%s/sub/link.policy", dir);
	CHECK(symlink("/etc/hostname", path) == 0);
	policy_diag_init(&d);
	CHECK(load_file("sub/escape.policy", &d, &p, &sb) == -EINVAL);
	CHECK(strstr(strbuf_str(&sb), "'") && strstr(strbuf_str(&sb), "x.policy"));
	CHECK(strstr(strbuf_str(&sb), "link.policy' is outside the directory of the top-level policy file"));
	policy_diag_free(&d);
	strbuf_reset(&sb);

	/* the top file may include from its own directory downwards only */
	write_file("up.policy", "zone a interface e\n");
	write_file("sub/up.policy", "include \"../up.policy\"\n");
	policy_diag_init(&d);
	CHECK(load_file("sub/up.policy", &d, &p, &sb) == -EINVAL);
	CHECK(strstr(strbuf_str(&sb), "is outside the directory"));
	policy_diag_free(&d);
	strbuf_reset(&sb);

	/* depth: 16 nested includes are fine, 17 are not */
	for (int i = 0; i <= 17; i++) {
		char rel[64], text[64];
		snprintf(rel, sizeof rel, "deep/d%02d.policy", i);
		if (i < 17)
			snprintf(text, sizeof text, "include \"d%02d.policy\"\n", i + 1);
		else
			snprintf(text, sizeof text, "zone z interface e\n");
		write_file(rel, text);
	}
	policy_diag_init(&d);
	CHECK(load_file("deep/d01.policy", &d, &p, &sb) == 0); /* d01 .. d17: 16 levels */
	policy_free(p);
	policy_diag_free(&d);
	strbuf_reset(&sb);
	policy_diag_init(&d);
	CHECK(load_file("deep/d00.policy", &d, &p, &sb) == -EINVAL);
	CHECK(strstr(strbuf_str(&sb), "includes nested deeper than 16 levels"));
	policy_diag_free(&d);
	strbuf_reset(&sb);

	/* missing top file: -errno */
	policy_diag_init(&d);
	CHECK(load_file("missing.policy", &d, &p, &sb) == -ENOENT && !p);
	CHECK(strstr(strbuf_str(&sb), "error: cannot open"));
	policy_diag_free(&d);
	strbuf_reset(&sb);

	/* a directory is not a policy */
	policy_diag_init(&d);
	CHECK(load_file("sub", &d, &p, &sb) == -EISDIR && !p);
	CHECK(strstr(strbuf_str(&sb), "it is a directory"));
	policy_diag_free(&d);
	strbuf_free(&sb);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* ------------------------------------------------------- caps, options */

static void test_caps(void)
{
	struct diag d;
	struct policy *p = NULL;
	struct policy_options bad = {.today = "yesterday"};

	policy_diag_init(&d);
	CHECK(policy_load_buffer("t", "", 0, &bad, &d, &p) == -EINVAL && !p);
	CHECK(d.nerrors == 1);
	policy_diag_free(&d);

	/* a buffer over the file cap is refused before it is looked at */
	policy_diag_init(&d);
	CHECK(policy_load_buffer("t", "", (size_t)POLICY_MAX_FILE_BYTES + 1, &opts, &d, &p) < 0 && !p);
	CHECK(d.nerrors == 1);
	policy_diag_free(&d);

	/* the real date is used when none is given */
	policy_diag_init(&d);
	const char *old = "zone a interface e\nrule \"r\" allow a -> a expires 2000-01-01\n";
	CHECK(policy_load_buffer("t", old, strlen(old), NULL, &d, &p) == 0);
	CHECK(p && p->nrules == 0 && p->nrules_total == 1);
	policy_free(p);
	policy_diag_free(&d);

	/* a word too long for a name is an error, not a crash */
	struct strbuf sb = STRBUF_INIT;
	strbuf_puts(&sb, "host ");
	for (int i = 0; i < 300; i++)
		strbuf_putc(&sb, 'a');
	strbuf_puts(&sb, " 1.2.3.4\nrule \"");
	for (int i = 0; i < 5000; i++)
		strbuf_putc(&sb, 'x');
	strbuf_puts(&sb, "\" allow any -> any\n");
	policy_diag_init(&d);
	CHECK(load_text(sb.buf, sb.len, &d, &p) == -EINVAL);
	/* word too long (the name error is the same mistake), string too long */
	CHECK(d.nerrors == 2);
	policy_diag_free(&d);
	strbuf_free(&sb);

	/* the error limit is honoured and the load still fails */
	sb = (struct strbuf)STRBUF_INIT;
	for (int i = 0; i < 50; i++)
		strbuf_printf(&sb, "rule \"r%d\" allow nowhere -> any\n", i);
	policy_diag_init(&d);
	d.max_errors = 10;
	CHECK(load_text(sb.buf, sb.len, &d, &p) == -EINVAL && !p);
	CHECK(d.n == 11 && d.nerrors == 50);
	policy_diag_free(&d);
	strbuf_free(&sb);
}

/* 100,000 rules load well within the time budget. */
static void test_speed(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct diag d;
	struct policy *p = NULL;
	struct timespec t0, t1;

	strbuf_puts(&sb,
		    "zone lgwan tier lgwan interface eth2 network 10.0.0.0/8\n"
		    "zone internet tier internet interface eth3 network any\n");
	for (int i = 0; i < 2000; i++)
		strbuf_printf(&sb, "host h%d 10.%d.%d.1\n", i, i / 256, i % 256);
	for (int i = 0; i < 500; i++)
		strbuf_printf(&sb, "service s%d tcp/%d, udp/%d\n", i, 1000 + i, 2000 + i);
	for (int i = 0; i < 200; i++)
		strbuf_printf(&sb, "group g%d h%d, h%d, 10.200.%d.0/24\n", i, i * 5, i * 5 + 1, i);
	for (int i = 0; i < 100000; i++)
		strbuf_printf(&sb,
			      "rule \"r%d\" allow lgwan [h%d, g%d] -> internet [198.51.%d.%d] "
			      "service s%d, tcp/%d log owner \"情報政策課\"\n",
			      i, i % 2000, i % 200, i % 256, i / 256 % 256, i % 500, i % 65535);
	policy_diag_init(&d);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = load_text(sb.buf, sb.len, &d, &p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(rc == 0 && p && p->nrules == 100000);
	printf("100000 rules: %.2f s\n", secs);
	/* the optimised build takes well under 1 s; sanitizers make every
	 * allocation several times slower */
	CHECK(secs < (SANITIZED ? 30.0 : 5.0));
	policy_free(p);
	policy_diag_free(&d);
	strbuf_free(&sb);
}

int main(void)
{
	test_specs();
	test_svc_normalize();
	test_ranges_normalize();
	test_dates();
	test_policies();
	test_meaning();
	test_implicit();
	test_hash();
	test_order();
	test_includes();
	test_caps();
	test_speed();
	return check_done();
}
