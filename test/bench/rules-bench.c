/* rules-bench: compile time, table size and lookup speed of the compiled
 * rule table against the linear reference, on generated policies shaped
 * like a large municipality / prefecture network.
 *
 *   rules-bench [--rulec PATH] [--sizes N,N,...] [--keep DIR] [--seed S]
 *
 * For each size N (default 100, 1000, 10000, 100000) it writes a policy
 * TEXT with N rules (13 zones with tiers, hosts, networks, ranges, groups,
 * services with port ranges and sport, service groups, IPv4 and some IPv6,
 * rules spread over zone pairs the way real policies are, deny rules on
 * the forbidden paths), then:
 *   compile_s    wall time of `sekisho-rulec -q compile FILE -o TABLE`
 *                (PATH from --rulec, $SEKISHO_RULEC, or the build tree); if
 *                that binary is missing or fails, the time of policy_load +
 *                table_build through the API, reported as "compile":"api";
 *   table_bytes  size of the table;
 *   lookup_ns    median over 7 batches of 200,000 table_lookup calls;
 *   linear_ns    median over 5 batches of policy_first_match on the same
 *                packets (fewer per batch for the large N);
 *                batches are timed in thread CPU time, so that other jobs
 *                on a busy machine do not inflate them;
 * and prints one JSON object per line.  Packets: 85% are aimed inside a
 * rule chosen uniformly (so deep rules are reached as often as shallow
 * ones; earlier rules may still decide them), 15% are random traffic
 * between the zones' networks, mostly misses.  Both methods must agree on
 * every packet; disagreements are counted in "mismatches".
 * SEKISHO_BENCH_NO_LINEAR=1 skips the linear runs (for tuning the table).
 *
 * This is a program, not a library: it prints, and exits non-zero on
 * failure. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "rules/policy.h"
#include "rules/policy_load.h"
#include "rules/table_build.h"

#ifndef SEKISHO_RULEC_DEFAULT
#define SEKISHO_RULEC_DEFAULT ""
#endif

extern char **environ;

/* ---- PRNG ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(unsigned pct)
{
	return below(100) < pct;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: lookup batches are timed with it so that a
 * loaded machine (other jobs taking the CPU away) does not count. */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the network ---- */

enum {
	Z_MYNUMBER,
	Z_LGWAN,
	Z_BRANCH,
	Z_LGWAN_WAN,
	Z_INTERNET,
	Z_INET_DMZ,
	Z_SECCLOUD,
	Z_MGMT,
	Z_SCHOOL,
	Z_HOSPITAL,
	Z_WATER,
	Z_FIRE,
	Z_PARTNER,
	NZ,
	Z_SELF = NZ
};

static const struct zdef {
	const char *name, *tier, *ifname, *desc;
	uint8_t net2;    /* second octet of 10.x.0.0/16 (internet-side zones: 172.x) */
	bool v6;         /* has an IPv6 network fd00:x::/48 */
	unsigned weight; /* share of address objects */
} zones[NZ] = {
	[Z_MYNUMBER] = {"mynumber", "mynumber", "eth1", "マイナンバー利用事務系", 1, true, 4},
	[Z_LGWAN] = {"lgwan", "lgwan", "eth2", "LGWAN接続系 (本庁)", 10, true, 30},
	[Z_BRANCH] = {"lgwan-branch", "lgwan", "eth3", "LGWAN接続系 (支所・出先機関)", 11, true, 18},
	[Z_LGWAN_WAN] = {"lgwan-wan", "lgwan", "eth4", "LGWAN (全国ネットワーク)", 200, false, 6},
	[Z_INTERNET] = {"internet", "internet", "eth5", "インターネット", 0, false, 8},
	[Z_INET_DMZ] = {"inet-dmz", "internet", "eth6", "インターネット接続系 DMZ", 16, true, 6},
	[Z_SECCLOUD] = {"seccloud", "internet", "eth7", "自治体情報セキュリティクラウド", 20, false, 3},
	[Z_MGMT] = {"mgmt", "none", "eth8", "運用管理系", 99, true, 4},
	[Z_SCHOOL] = {"school", "none", "eth9", "校務系", 20, true, 8},
	[Z_HOSPITAL] = {"hospital", "none", "eth10", "市民病院", 30, false, 5},
	[Z_WATER] = {"waterworks", "none", "eth11", "上下水道", 40, false, 3},
	[Z_FIRE] = {"fire", "none", "eth12", "消防", 50, false, 3},
	[Z_PARTNER] = {"partner", "none", "eth13", "委託事業者", 60, false, 2},
};

static bool zone_internet_side(int z)
{
	return z == Z_INET_DMZ || z == Z_SECCLOUD;
}

/* Address objects of one zone, by name index. */
struct zobjs {
	uint32_t nhost, nnet, ngroup, nrange;
	bool *host_dual; /* host has an IPv6 address too */
};

static struct zobjs objs[NZ];

static void host_addr(int z, uint32_t i, struct strbuf *sb)
{
	if (z == Z_INTERNET) {
		/* public-looking addresses outside every internal network */
		uint32_t a = 0x01000000u + (uint32_t)(((uint64_t)i * 2654435761u) % 0x5e000000u);
		strbuf_printf(sb, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, (a & 255) | 1);
		return;
	}
	const char *p = zone_internet_side(z) ? "172" : "10";
	strbuf_printf(sb, "%s.%u.%u.%u", p, zones[z].net2, 1 + i / 250 % 250, 1 + i % 250);
}

static void gen_objects(struct strbuf *sb, uint32_t nrules)
{
	unsigned wsum = 0;
	for (int z = 0; z < NZ; z++)
		wsum += zones[z].weight;
	uint32_t hosts = nrules / 3 < 60 ? 60 : nrules / 3;
	uint32_t nets = nrules / 15 < 30 ? 30 : nrules / 15;
	uint32_t groups = nrules / 40 < 15 ? 15 : nrules / 40;
	uint32_t ranges = nrules / 200 < 6 ? 6 : nrules / 200;
	strbuf_puts(sb, "\n# --- address objects ---\n");
	for (int z = 0; z < NZ; z++) {
		struct zobjs *o = &objs[z];
		o->nhost = 2 + hosts * zones[z].weight / wsum;
		if (o->nhost > 60000)
			o->nhost = 60000;
		o->nnet = 1 + nets * zones[z].weight / wsum;
		if (o->nnet > 240)
			o->nnet = 240;
		o->ngroup = 1 + groups * zones[z].weight / wsum;
		o->nrange = 1 + ranges * zones[z].weight / wsum;
		o->host_dual = xcalloc(o->nhost, sizeof *o->host_dual);
		for (uint32_t i = 0; i < o->nhost; i++) {
			strbuf_printf(sb, "host h-%s-%u ", zones[z].name, i);
			host_addr(z, i, sb);
			if (zones[z].v6 && z != Z_MYNUMBER && chance(20)) {
				o->host_dual[i] = true;
				strbuf_printf(sb, ", fd00:%x::%x", zones[z].net2, i + 1);
			}
			if (chance(10))
				strbuf_printf(sb, " description \"server %u\"", i);
			strbuf_putc(sb, '\n');
		}
		for (uint32_t i = 0; i < o->nnet; i++) {
			if (z == Z_INTERNET) {
				uint32_t a = 0x01000000u + (uint32_t)(((uint64_t)(i + 7) * 2246822519u) % 0x5e000000u);
				a &= 0xffffff00u;
				strbuf_printf(sb, "network n-%s-%u %u.%u.%u.0/24\n", zones[z].name, i, a >> 24,
					      a >> 16 & 255, a >> 8 & 255);
				continue;
			}
			/* /24s and /26s inside the zone's /16 */
			const char *p = zone_internet_side(z) ? "172" : "10";
			uint32_t third = 1 + i % 250;
			if (chance(70))
				strbuf_printf(sb, "network n-%s-%u %s.%u.%u.0/24", zones[z].name, i, p, zones[z].net2,
					      third);
			else
				strbuf_printf(sb, "network n-%s-%u %s.%u.%u.%u/26", zones[z].name, i, p, zones[z].net2,
					      third, 64 * below(4));
			if (zones[z].v6 && chance(30))
				strbuf_printf(sb, ", fd00:%x:0:%x::/64", zones[z].net2, third);
			strbuf_putc(sb, '\n');
		}
		for (uint32_t i = 0; i < o->nrange; i++) {
			uint32_t third = 1 + below(250), lo = 1 + below(200);
			if (z == Z_INTERNET)
				strbuf_printf(sb, "range r-%s-%u 203.0.%u.%u-203.0.%u.%u\n", zones[z].name, i, third,
					      lo, third, lo + below(50));
			else
				strbuf_printf(sb, "range r-%s-%u %s.%u.%u.%u-%s.%u.%u.%u\n", zones[z].name, i,
					      zone_internet_side(z) ? "172" : "10", zones[z].net2, third, lo,
					      zone_internet_side(z) ? "172" : "10", zones[z].net2, third,
					      lo + below(50));
		}
		for (uint32_t i = 0; i < o->ngroup; i++) {
			strbuf_printf(sb, "group g-%s-%u ", zones[z].name, i);
			uint32_t n = 2 + below(7);
			for (uint32_t k = 0; k < n; k++) {
				if (k)
					strbuf_puts(sb, ", ");
				if (chance(75))
					strbuf_printf(sb, "h-%s-%u", zones[z].name, below(o->nhost));
				else
					strbuf_printf(sb, "n-%s-%u", zones[z].name, below(o->nnet));
			}
			strbuf_putc(sb, '\n');
		}
	}
}

static const char *const std_services[] = {
	"smtp tcp/25",
	"submission tcp/587",
	"pop3s tcp/995",
	"imaps tcp/993",
	"http tcp/80",
	"https tcp/443",
	"http-alt tcp/8080, tcp/8443",
	"dns udp/53, tcp/53",
	"dns-client udp/53 sport 1024-65535",
	"ntp udp/123",
	"ssh tcp/22",
	"telnet tcp/23",
	"ftp tcp/20-21",
	"smb tcp/445",
	"netbios udp/137-138, tcp/139",
	"rdp tcp/3389, udp/3389",
	"ldap tcp/389, udp/389",
	"ldaps tcp/636",
	"kerberos tcp/88, udp/88",
	"snmp udp/161",
	"snmptrap udp/162",
	"syslog udp/514",
	"syslog-tls tcp/6514",
	"radius udp/1812-1813",
	"mssql tcp/1433",
	"oracle tcp/1521",
	"postgres tcp/5432",
	"mysql tcp/3306",
	"nfs tcp/2049, udp/2049",
	"iscsi tcp/3260",
	"vnc tcp/5900-5910",
	"sip udp/5060, tcp/5060",
	"dhcp udp/67-68",
	"tftp udp/69",
	"ping icmp/echo-request, icmpv6/128",
	"traceroute udp/33434-33534",
	"ipsec udp/500, udp/4500, proto/50",
	"gre proto/47",
	"backup tcp/10000-10100",
	"print tcp/9100, tcp/631, tcp/515",
	"wsus tcp/8530-8531",
	"av-update tcp/8000-8010",
	"proxy tcp/8080, tcp/3128",
	"high-tcp tcp/1024-65535", /* last: rules pick it only when open on a side */
};
#define NSTD (sizeof std_services / sizeof std_services[0])

static uint32_t napp, nsgroup;

static void gen_services(struct strbuf *sb, uint32_t nrules)
{
	strbuf_puts(sb, "\n# --- services ---\n");
	for (size_t i = 0; i < NSTD; i++)
		strbuf_printf(sb, "service %s\n", std_services[i]);
	napp = nrules / 30 < 20 ? 20 : nrules / 30;
	if (napp > 5000)
		napp = 5000;
	for (uint32_t i = 0; i < napp; i++) {
		uint32_t port = 10000 + i * 11 % 50000;
		switch (below(10)) {
		case 0:
			strbuf_printf(sb, "service app-%u tcp/%u-%u\n", i, port, port + below(100));
			break;
		case 1:
			strbuf_printf(sb, "service app-%u udp/%u\n", i, port);
			break;
		case 2:
			strbuf_printf(sb, "service app-%u tcp/%u, udp/%u\n", i, port, port);
			break;
		case 3:
			strbuf_printf(sb, "service app-%u tcp/%u sport 1024-65535\n", i, port);
			break;
		default:
			strbuf_printf(sb, "service app-%u tcp/%u\n", i, port);
		}
	}
	nsgroup = nrules / 200 < 5 ? 5 : nrules / 200;
	strbuf_puts(sb, "service-group web http, https\n");
	for (uint32_t i = 0; i < nsgroup; i++) {
		strbuf_printf(sb, "service-group sg-%u ", i);
		uint32_t n = 2 + below(4);
		for (uint32_t k = 0; k < n; k++)
			strbuf_printf(sb, "%sapp-%u", k ? ", " : "", below(napp));
		strbuf_putc(sb, '\n');
	}
}

/* One address item of zone z; single: a host with one address only. */
static void addr_item(struct strbuf *sb, int z, bool single)
{
	const struct zobjs *o = &objs[z];
	const char *n = zones[z].name;
	if (single) {
		for (int tries = 0; tries < 100; tries++) {
			uint32_t i = below(o->nhost);
			if (!o->host_dual[i]) {
				strbuf_printf(sb, "h-%s-%u", n, i);
				return;
			}
		}
		strbuf_puts(sb, "10.");
		strbuf_printf(sb, "%u.0.1", zones[z].net2);
		return;
	}
	unsigned k = below(100);
	if (k < 50)
		strbuf_printf(sb, "h-%s-%u", n, below(o->nhost));
	else if (k < 72)
		strbuf_printf(sb, "n-%s-%u", n, below(o->nnet));
	else if (k < 90)
		strbuf_printf(sb, "g-%s-%u", n, below(o->ngroup));
	else if (k < 96)
		strbuf_printf(sb, "r-%s-%u", n, below(o->nrange));
	else if (z == Z_INTERNET)
		strbuf_printf(sb, "198.51.100.%u", below(256));
	else
		strbuf_printf(sb, "%s.%u.%u.%u", zone_internet_side(z) ? "172" : "10", zones[z].net2, 1 + below(250),
			      1 + below(250));
}

/* "[a, b]" or nothing (any); returns whether addresses were written. */
static bool addr_list(struct strbuf *sb, int z, unsigned any_pct, bool single)
{
	if (z == Z_SELF || (!single && chance(any_pct)))
		return false;
	strbuf_puts(sb, " [");
	uint32_t n = single ? 1 : chance(80) ? 1 : 2 + below(2);
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			strbuf_puts(sb, ", ");
		addr_item(sb, z, single);
	}
	strbuf_puts(sb, "]");
	return true;
}

static void svc_list(struct strbuf *sb, bool explicit_only)
{
	if (!explicit_only && chance(4))
		return; /* any service */
	strbuf_puts(sb, " service ");
	uint32_t n = chance(65) ? 1 : 2 + below(2);
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			strbuf_puts(sb, ", ");
		unsigned k = below(100);
		if (k < 45) {
			const char *std = std_services[below(explicit_only ? NSTD - 1 : NSTD)];
			strbuf_printf(sb, "%.*s", (int)strcspn(std, " "), std);
		} else if (k < 85)
			strbuf_printf(sb, "app-%u", below(napp));
		else if (k < 95)
			strbuf_printf(sb, "sg-%u", below(nsgroup));
		else
			strbuf_puts(sb, "web");
	}
}

enum pair_kind { PK_ALLOW, PK_DENY_ONLY, PK_MYNUMBER };

static const struct pairdef {
	int from, to;
	unsigned weight;
	enum pair_kind kind;
} pairs[] = {
	{Z_LGWAN, Z_LGWAN, 16, PK_ALLOW},        {Z_BRANCH, Z_LGWAN, 12, PK_ALLOW},
	{Z_LGWAN, Z_LGWAN_WAN, 7, PK_ALLOW},     {Z_BRANCH, Z_LGWAN_WAN, 4, PK_ALLOW},
	{Z_LGWAN_WAN, Z_LGWAN, 3, PK_ALLOW},     {Z_LGWAN, Z_BRANCH, 3, PK_ALLOW},
	{Z_SCHOOL, Z_LGWAN, 4, PK_ALLOW},        {Z_HOSPITAL, Z_LGWAN, 3, PK_ALLOW},
	{Z_WATER, Z_LGWAN, 2, PK_ALLOW},         {Z_FIRE, Z_LGWAN, 2, PK_ALLOW},
	{Z_MGMT, Z_LGWAN, 4, PK_ALLOW},          {Z_MGMT, Z_BRANCH, 2, PK_ALLOW},
	{Z_MGMT, Z_SCHOOL, 2, PK_ALLOW},         {Z_MGMT, Z_SELF, 1, PK_ALLOW},
	{Z_PARTNER, Z_MGMT, 2, PK_ALLOW},        {Z_PARTNER, Z_LGWAN, 2, PK_ALLOW},
	{Z_INET_DMZ, Z_INTERNET, 4, PK_ALLOW},   {Z_INTERNET, Z_INET_DMZ, 5, PK_ALLOW},
	{Z_SECCLOUD, Z_INTERNET, 3, PK_ALLOW},   {Z_INET_DMZ, Z_SECCLOUD, 2, PK_ALLOW},
	{Z_SCHOOL, Z_INTERNET, 4, PK_ALLOW},     {Z_HOSPITAL, Z_INTERNET, 2, PK_ALLOW},
	{Z_WATER, Z_PARTNER, 1, PK_ALLOW},       {Z_FIRE, Z_HOSPITAL, 1, PK_ALLOW},
	{Z_LGWAN, Z_MYNUMBER, 1, PK_MYNUMBER},   {Z_MYNUMBER, Z_LGWAN_WAN, 1, PK_MYNUMBER},
	{Z_LGWAN, Z_INTERNET, 3, PK_DENY_ONLY},  {Z_INTERNET, Z_LGWAN, 2, PK_DENY_ONLY},
	{Z_BRANCH, Z_INTERNET, 1, PK_DENY_ONLY}, {Z_INET_DMZ, Z_LGWAN, 1, PK_DENY_ONLY},
	{Z_INTERNET, Z_SELF, 1, PK_DENY_ONLY},
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

static const char *zname(int z)
{
	return z == Z_SELF ? "self" : zones[z].name;
}

static const char *const owners[] = {"情報政策課", "総務課",     "市民課", "税務課",
				     "教育委員会", "病院事務局", "水道局", "消防本部"};

static char *gen_policy(uint32_t nrules, size_t *ret_len)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned wsum = 0;
	for (size_t i = 0; i < NPAIRS; i++)
		wsum += pairs[i].weight;

	strbuf_printf(&sb, "# generated by rules-bench: %u rules\npolicy \"bench-%u\" version \"1\"\n\n", nrules,
		      nrules);
	for (int z = 0; z < NZ; z++) {
		const struct zdef *d = &zones[z];
		strbuf_printf(&sb, "zone %s tier %s interface %s network ", d->name, d->tier, d->ifname);
		if (z == Z_INTERNET)
			strbuf_puts(&sb, "any");
		else
			strbuf_printf(&sb, "%s.%u.0.0/16", zone_internet_side(z) ? "172" : "10", d->net2);
		if (d->v6)
			strbuf_printf(&sb, ", fd00:%x::/48", d->net2);
		strbuf_printf(&sb, " description \"%s\"\n", d->desc);
	}
	gen_objects(&sb, nrules);
	gen_services(&sb, nrules);
	strbuf_puts(&sb, "\n# --- rules ---\n");
	for (uint32_t i = 0; i < nrules; i++) {
		unsigned w = below(wsum);
		size_t pi = 0;
		while (w >= pairs[pi].weight)
			w -= pairs[pi++].weight;
		const struct pairdef *pd = &pairs[pi];
		const char *action = "allow";
		bool single = false, log = chance(25);
		if (pd->kind == PK_DENY_ONLY)
			action = chance(60) ? "deny" : "reject";
		else if (chance(12))
			action = chance(65) ? "deny" : "reject";
		else if (pd->kind == PK_MYNUMBER)
			single = log = true;
		strbuf_printf(&sb, "rule \"r%06u\" %s %s", i + 1, action, zname(pd->from));
		/* a few rules name two zones of the same tier on one side (then
		 * any source address) */
		bool some = false;
		if (pd->from == Z_LGWAN && pd->kind == PK_ALLOW && pd->to != Z_BRANCH && chance(5))
			strbuf_printf(&sb, ", %s", zname(Z_BRANCH));
		else
			some |= addr_list(&sb, pd->from, pd->from == Z_INTERNET ? 40 : 12, single);
		strbuf_printf(&sb, " -> %s", zname(pd->to));
		/* a rule open on both sides names its services (real policies
		 * have few "any to any" rules, and they come last) */
		some |= addr_list(&sb, pd->to, pd->to == Z_INTERNET ? 45 : 8, single);
		svc_list(&sb, single || !some);
		if (log)
			strbuf_puts(&sb, " log");
		strbuf_printf(&sb, " owner \"%s\"", owners[below(sizeof owners / sizeof owners[0])]);
		if (chance(30))
			strbuf_printf(&sb, " description \"業務 %u\"", below(1000));
		strbuf_putc(&sb, '\n');
	}
	strbuf_puts(&sb,
		    "\ndefault lgwan, lgwan-branch -> internet reject\n"
		    "default mgmt -> lgwan reject\n");
	*ret_len = sb.len;
	return strbuf_steal(&sb);
}

/* ---- compile ---- */

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	bool ok = fwrite(buf, 1, len, f) == len;
	if (fclose(f) != 0 || !ok)
		return -EIO;
	return 0;
}

/* Run rulec; returns its exit status (or -1). */
static int run_rulec(const char *rulec, const char *policy, const char *table, double *ret_s)
{
	char *argv[] = {(char *)(uintptr_t)rulec, "-q", "compile", (char *)(uintptr_t)policy, "-o",
			(char *)(uintptr_t)table, NULL};
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	char *errpath = xasprintf("%s.rulec-stderr", table);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	double t0 = now();
	int r = posix_spawn(&pid, rulec, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		free(errpath);
		return -1;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*ret_s = now() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		FILE *f = fopen(errpath, "r");
		if (f) {
			char line[512];
			int n = 0;
			fprintf(stderr, "rules-bench: %s failed (status %d); first lines of its stderr:\n", rulec, st);
			while (n++ < 8 && fgets(line, sizeof line, f))
				fprintf(stderr, "  %s", line);
			fclose(f);
		}
	}
	unlink(errpath);
	free(errpath);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- packets ---- */

static u128 pick_in(const struct ip_range *v, uint32_t n)
{
	const struct ip_range *r = &v[below(n)];
	u128 span = r->hi - r->lo;
	if (span == 0)
		return r->lo;
	if (span < ((u128)1 << 64) - 1)
		return r->lo + rnd() % (uint64_t)(span + 1);
	return r->lo + ((((u128)rnd() << 64) | rnd()) % (span + 1));
}

/* An address of zone z in the family; from the zone's networks, or for an
 * "any" zone (the internet) a public-looking one. */
static u128 zone_addr(const struct policy *p, int z, int family)
{
	const struct addr_set *s = &p->zones[z].nets;
	uint32_t n = family == 4 ? s->n4 : s->n6;
	if (!n || policy_addr_set_is_any(s)) {
		if (family == 4)
			return 0x01000000u + (uint32_t)(rnd() % 0x5e000000u);
		return (u128)0x2001000000000000ull << 64 | rnd();
	}
	return pick_in(family == 4 ? s->v4 : s->v6, n);
}

static u128 set_addr(const struct policy *p, const struct addr_set *s, int z, int family)
{
	if (policy_addr_set_is_any(s))
		return zone_addr(p, z, family);
	uint32_t n = family == 4 ? s->n4 : s->n6;
	return pick_in(family == 4 ? s->v4 : s->v6, n);
}

static int pick_bit(uint64_t m)
{
	int n = __builtin_popcountll(m), k = (int)below((uint32_t)n);
	for (; k; k--)
		m &= m - 1;
	return __builtin_ctzll(m);
}

static void gen_packets(const struct policy *p, struct policy_packet *pk, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct policy_packet *k = &pk[i];
		memset(k, 0, sizeof *k);
		const struct policy_rule *r = NULL;
		for (int tries = 0; tries < 8 && !r && !chance(15); tries++) {
			r = &p->rules[below(p->nrules)];
			if (!r->nsvc || !r->from_zones || !r->to_zones ||
			    (!(r->src.n4 && r->dst.n4) && !(r->src.n6 && r->dst.n6)))
				r = NULL;
		}
		if (r) {
			k->from_zone = (uint8_t)pick_bit(r->from_zones);
			k->to_zone = (uint8_t)pick_bit(r->to_zones);
			bool has4 = r->src.n4 && r->dst.n4, has6 = r->src.n6 && r->dst.n6;
			k->family = has4 && has6 ? (chance(85) ? 4 : 6) : has4 ? 4 : 6;
			k->src = set_addr(p, &r->src, k->from_zone, k->family);
			k->dst = set_addr(p, &r->dst, k->to_zone, k->family);
			const struct svc_range *s = &r->svc[below(r->nsvc)];
			k->key = s->key_lo + (uint32_t)(rnd() % (s->key_hi - s->key_lo + 1));
			k->sport = (uint16_t)(s->sport_lo + rnd() % ((uint32_t)s->sport_hi - s->sport_lo + 1));
		} else {
			/* random traffic between zones */
			k->from_zone = (uint8_t)below(p->nzones);
			k->to_zone = (uint8_t)below(p->nzones);
			k->family = chance(85) ? 4 : 6;
			k->src = zone_addr(p, k->from_zone, k->family);
			k->dst = zone_addr(p, k->to_zone, k->family);
			k->key = SVC_KEY(chance(70) ? 6 : 17, chance(50) ? below(1024) : below(65536));
			k->sport = (uint16_t)(1024 + below(64512));
		}
		k->proto = (uint8_t)(k->key >> 16);
		if (!table_proto_has_ports(k->proto))
			k->sport = 0;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- one size ---- */

static volatile uint64_t sink;

static int bench_one(uint32_t nrules, const char *dir, const char *rulec)
{
	char *ppath = xasprintf("%s/bench-%u.policy", dir, nrules);
	char *tpath = xasprintf("%s/bench-%u.table", dir, nrules);
	size_t plen;
	char *text = gen_policy(nrules, &plen);
	int rc = 1;
	if (write_file(ppath, text, plen) < 0) {
		fprintf(stderr, "rules-bench: cannot write %s\n", ppath);
		goto out_text;
	}

	/* compile */
	const char *mode = "rulec";
	double compile_s = 0;
	void *tbuf = NULL;
	size_t tlen = 0;
	struct table *t = NULL;
	char why[256] = "";
	int st = -1;
	if (rulec && *rulec && access(rulec, X_OK) == 0)
		st = run_rulec(rulec, ppath, tpath, &compile_s);
	if (st == 0) {
		if (table_open(tpath, &t, why, sizeof why) < 0) {
			fprintf(stderr, "rules-bench: %s: %s\n", tpath, why);
			goto out_text;
		}
	} else {
		mode = "api";
		struct diag d;
		struct policy *p0 = NULL;
		policy_diag_init(&d);
		double t0 = now();
		int r = policy_load(ppath, NULL, &d, &p0);
		if (r == 0)
			r = table_build(p0, (int64_t)time(NULL), &tbuf, &tlen, why, sizeof why);
		compile_s = now() - t0;
		if (r < 0) {
			fprintf(stderr, "rules-bench: compiling %s through the API failed (%d): %s\n", ppath, r, why);
			policy_diag_print(&d, stderr, false);
			policy_diag_free(&d);
			policy_free(p0);
			goto out_text;
		}
		policy_diag_free(&d);
		policy_free(p0);
		if (write_file(tpath, tbuf, tlen) < 0 || table_open(tpath, &t, why, sizeof why) < 0) {
			fprintf(stderr, "rules-bench: %s: %s\n", tpath, why);
			free(tbuf);
			goto out_text;
		}
		free(tbuf);
	}
	struct table_info ti;
	table_get_info(t, &ti);

	/* the IR for the linear reference and for aiming packets */
	struct diag d;
	struct policy *p = NULL;
	policy_diag_init(&d);
	if (policy_load(ppath, NULL, &d, &p) < 0) {
		fprintf(stderr, "rules-bench: cannot load %s\n", ppath);
		policy_diag_print(&d, stderr, false);
		policy_diag_free(&d);
		table_close(t);
		goto out_text;
	}
	policy_diag_free(&d);

	const size_t npk = 200000;
	struct policy_packet *pk = xreallocarray(NULL, npk, sizeof *pk);
	struct table_query *qs = xreallocarray(NULL, npk, sizeof *qs);
	uint32_t *verdict = xreallocarray(NULL, npk, sizeof *verdict);
	gen_packets(p, pk, npk);
	for (size_t i = 0; i < npk; i++)
		qs[i] = (struct table_query){.from_zone = pk[i].from_zone,
					     .to_zone = pk[i].to_zone,
					     .family = pk[i].family,
					     .proto = pk[i].proto,
					     .sport = pk[i].sport,
					     .key = pk[i].key,
					     .src = pk[i].src,
					     .dst = pk[i].dst};

	/* table lookups: 7 batches over all packets */
	double lb[7];
	uint64_t hits = 0, deep = 0;
	for (int b = 0; b < 7; b++) {
		uint64_t acc = 0;
		double t0 = cpu_now();
		for (size_t i = 0; i < npk; i++) {
			struct table_verdict v;
			table_lookup(t, &qs[i], &v);
			acc += v.rule_index;
			if (b == 0)
				verdict[i] = v.rule_index;
		}
		lb[b] = (cpu_now() - t0) * 1e9 / (double)npk;
		sink += acc;
	}
	for (size_t i = 0; i < npk; i++)
		if (verdict[i] != UINT32_MAX) {
			hits++;
			if (verdict[i] >= p->nrules / 2)
				deep++;
		}

	/* linear reference: 5 batches on (a prefix of) the same packets */
	size_t nlin = (size_t)(4e8 / (double)(p->nrules ? p->nrules : 1));
	if (nlin > npk)
		nlin = npk;
	if (nlin < 2000)
		nlin = 2000;
	double rb[5] = {0};
	uint64_t mismatches = 0;
	int nlb = getenv("SEKISHO_BENCH_NO_LINEAR") ? 0 : 5;
	for (int b = 0; b < nlb; b++) {
		uint64_t acc = 0;
		size_t off = (size_t)b * nlin % (npk - nlin + 1);
		double t0 = cpu_now();
		for (size_t i = off; i < off + nlin; i++) {
			long r = policy_first_match(p, &pk[i]);
			acc += (uint64_t)r;
			if ((r < 0 ? UINT32_MAX : (uint32_t)r) != verdict[i])
				mismatches++;
		}
		rb[b] = (cpu_now() - t0) * 1e9 / (double)nlin;
		sink += acc;
	}
	double lookup_ns = median(lb, 7), linear_ns = nlb ? median(rb, 5) : 0;

	printf("{\"bench\":\"rules\",\"rules\":%u,\"lookup_ns\":%.1f,\"linear_ns\":%.1f,\"compile_s\":%.3f,"
	       "\"table_bytes\":%llu,\"compile\":\"%s\",\"partitions\":%u,\"packets\":%zu,\"linear_packets\":%zu,"
	       "\"hit_pct\":%.1f,\"deep_hit_pct\":%.1f,\"speedup\":%.1f,\"mismatches\":%" PRIu64 "}\n",
	       nrules, lookup_ns, linear_ns, compile_s, (unsigned long long)ti.bytes, mode, ti.npartitions, npk, nlin,
	       100.0 * (double)hits / (double)npk, 100.0 * (double)deep / (double)npk, linear_ns / lookup_ns,
	       mismatches);
	fflush(stdout);
	rc = mismatches ? 1 : 0;
	free(pk);
	free(qs);
	free(verdict);
	policy_free(p);
	table_close(t);
out_text:
	for (int z = 0; z < NZ; z++) {
		free(objs[z].host_dual);
		objs[z].host_dual = NULL;
	}
	free(text);
	free(ppath);
	free(tpath);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: rules-bench [--rulec PATH] [--sizes N,N,...] [--keep DIR] [--seed S]\n");
}

int main(int argc, char **argv)
{
	const char *rulec = getenv("SEKISHO_RULEC");
	const char *sizes = "100,1000,10000,100000";
	const char *keep = NULL;
	uint64_t seed = 20240401;
	if (!rulec || !*rulec)
		rulec = SEKISHO_RULEC_DEFAULT;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rulec") && i + 1 < argc)
			rulec = argv[++i];
		else if (!strcmp(argv[i], "--sizes") && i + 1 < argc)
			sizes = argv[++i];
		else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
			keep = argv[++i];
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else {
			usage();
			return 2;
		}
	}
	char tmpl[] = "/tmp/sekisho-bench.XXXXXX";
	const char *dir = keep;
	if (!dir) {
		const char *td = getenv("TMPDIR");
		char *t = xasprintf("%s/sekisho-bench.XXXXXX", td && *td ? td : "/tmp");
		if (strlen(t) < sizeof tmpl)
			memcpy(tmpl, t, strlen(t) + 1);
		free(t);
		dir = mkdtemp(tmpl);
		if (!dir) {
			fprintf(stderr, "rules-bench: mkdtemp: %s\n", strerror(errno));
			return 2;
		}
	} else if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "rules-bench: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	int rc = 0;
	for (const char *s = sizes; *s;) {
		char *end;
		unsigned long n = strtoul(s, &end, 10);
		if (end == s || n == 0 || n > TABLE_MAX_RULES) {
			usage();
			return 2;
		}
		rng = seed ^ n;
		if (bench_one((uint32_t)n, dir, rulec) != 0)
			rc = 1;
		s = *end == ',' ? end + 1 : end;
	}
	if (!keep) {
		/* remove what we wrote */
		for (const char *s = sizes; *s;) {
			char *end;
			unsigned long n = strtoul(s, &end, 10);
			char *f = xasprintf("%s/bench-%lu.policy", dir, n);
			unlink(f);
			free(f);
			f = xasprintf("%s/bench-%lu.table", dir, n);
			unlink(f);
			free(f);
			s = *end == ',' ? end + 1 : end;
		}
		rmdir(dir);
	}
	return rc;
}
