/* table_test: the compiled table — build, open, round trip, lookups on
 * hand-written policies, and refusal of every kind of corrupted file with
 * the right reason. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "rules/table_build.h"
#include "rules/table_format.h"
#include "table_testutil.h"
#include "test/check.h"

static void build_or_die(const struct policy *p, void **buf, size_t *len)
{
	char why[256];
	int r = table_build(p, 1700000000, buf, len, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "table_build failed: %d %s\n", r, why);
		exit(1);
	}
}

static struct table *open_or_die(const void *buf, size_t len)
{
	char why[256];
	struct table *t = NULL;
	int r = table_open_buffer(buf, len, &t, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "table_open_buffer failed: %d %s\n", r, why);
		exit(1);
	}
	return t;
}

static struct table_query to_query(const struct policy_packet *k)
{
	struct table_query q = {.from_zone = k->from_zone,
				.to_zone = k->to_zone,
				.family = k->family,
				.proto = k->proto,
				.sport = k->sport,
				.key = k->key,
				.src = k->src,
				.dst = k->dst};
	return q;
}

/* Look k up in t and in the reference; counts a disagreement on the rule in
 * *bad and returns the reference's rule index (-1: none). */
static long agree(const struct table *t, const struct policy *p, const struct policy_packet *k, uint32_t *bad)
{
	struct table_query q = to_query(k);
	struct table_verdict v;
	table_lookup(t, &q, &v);
	long ref = policy_first_match(p, k);
	if ((ref < 0 ? UINT32_MAX : (uint32_t)ref) != v.rule_index)
		(*bad)++;
	return ref;
}

/* ---- round trip ---- */

static struct policy *sample_policy(void)
{
	struct policy *p = tp_new(4);
	free(p->zones[1].name);
	free(p->zones[2].name);
	free(p->zones[3].name);
	p->zones[1].name = xstrdup("lgwan");
	p->zones[1].tier = TIER_LGWAN;
	p->zones[2].name = xstrdup("internet");
	p->zones[2].tier = TIER_INTERNET;
	p->zones[3].name = xstrdup("mynumber");
	p->zones[3].tier = TIER_MYNUMBER;
	tp_zone_ifs(p, 1, (const char *[]){"eth1", "eth1.20"}, 2);
	tp_zone_ifs(p, 2, (const char *[]){"eth2"}, 1);
	p->name = xstrdup("庁内ネットワーク");
	p->version = xstrdup("2024.1");
	for (int i = 0; i < 32; i++)
		p->sha256[i] = (uint8_t)(i * 7 + 1);
	p->nfiles = 1;
	p->files = xcalloc(1, sizeof *p->files);
	p->files[0] = xstrdup("main.policy");

	struct policy_rule *r = tp_rule(p, 1, ACT_ALLOW, 1u << 1, 1u << 0);
	tp_set_text(&r->src, "10.1.0.0/16");
	tp_set_text(&r->dst, "10.0.0.1");
	tp_svc(r, SVC_KEY(6, 22), SVC_KEY(6, 22), 0, 65535);
	r->flags = POLICY_RULE_LOG;
	r->loc = (struct policy_loc){p->files[0], 12, 3, 4};
	r->description = xstrdup("管理端末からの SSH");
	r->owner = xstrdup("情報政策課");
	r->ticket = xstrdup("CHG-0042");

	r = tp_rule(p, 2, ACT_REJECT, 1u << 1, 1u << 2);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);
	r->loc = (struct policy_loc){p->files[0], 20, 1, 4};

	r = tp_rule(p, 5, ACT_DENY, 1u << 3 | 1u << 1, 1u << 1 | 1u << 3);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);
	r->loc = (struct policy_loc){p->files[0], 30, 1, 4};
	r->owner = xstrdup("情報政策課");
	p->default_action[1][2] = ACT_REJECT;
	return p;
}

static void check_sample_table(const struct table *t)
{
	struct table_info ti;
	table_get_info(t, &ti);
	CHECK(ti.format_version == TBL_FORMAT_VERSION, "version %u", ti.format_version);
	CHECK(ti.nzones == 4 && ti.nrules == 3, "%u zones %u rules", ti.nzones, ti.nrules);
	CHECK(ti.compile_time == 1700000000, "compile time %lld", (long long)ti.compile_time);
	CHECK(!strcmp(ti.policy_name, "庁内ネットワーク"), "name %s", ti.policy_name);
	CHECK(!strcmp(ti.policy_version, "2024.1"), "version %s", ti.policy_version);
	CHECK(ti.policy_sha256[0] == 1 && ti.policy_sha256[31] == (uint8_t)(31 * 7 + 1), "policy sha");
	CHECK(ti.npartitions >= 3, "%u partitions", ti.npartitions);

	struct table_rule_info ri;
	CHECK(table_rule(t, 0, &ri), "rule 0");
	CHECK(ri.id == 1 && ri.action == ACT_ALLOW && ri.log, "rule 0 id %u action %u log %d", ri.id, ri.action,
	      ri.log);
	CHECK(!strcmp(ri.name, "rule 1") && !strcmp(ri.file, "main.policy") && ri.line == 12 && ri.col == 3,
	      "rule 0 %s %s:%u:%u", ri.name, ri.file, ri.line, ri.col);
	CHECK(!strcmp(ri.description, "管理端末からの SSH") && !strcmp(ri.owner, "情報政策課") &&
		      !strcmp(ri.ticket, "CHG-0042"),
	      "rule 0 metadata");
	CHECK(table_rule(t, 1, &ri) && ri.id == 2 && ri.action == ACT_REJECT && !ri.log &&
		      !strcmp(ri.description, "") && !strcmp(ri.owner, "") && !strcmp(ri.ticket, ""),
	      "rule 1");
	CHECK(table_rule(t, 2, &ri) && ri.id == 5 && !strcmp(ri.owner, "情報政策課"), "rule 2");
	CHECK(!table_rule(t, 3, &ri), "rule 3 must not exist");

	struct table_zone_info zi;
	CHECK(table_zone(t, 0, &zi) && !strcmp(zi.name, "self") && zi.nif == 0, "zone 0");
	CHECK(table_zone(t, 1, &zi) && !strcmp(zi.name, "lgwan") && zi.tier == TIER_LGWAN && zi.nif == 2, "zone 1");
	CHECK(table_zone(t, 3, &zi) && zi.tier == TIER_MYNUMBER, "zone 3");
	CHECK(!table_zone(t, 4, &zi), "zone 4 must not exist");
	CHECK(!strcmp(table_zone_ifname(t, 1, 0), "eth1") && !strcmp(table_zone_ifname(t, 1, 1), "eth1.20"), "ifnames");
	CHECK(table_zone_ifname(t, 1, 2) == NULL && table_zone_ifname(t, 9, 0) == NULL, "ifname out of range");
	CHECK(table_zone_by_name(t, "internet") == 2 && table_zone_by_name(t, "self") == 0 &&
		      table_zone_by_name(t, "nope") == -1,
	      "by name");
	CHECK(table_zone_by_ifname(t, "eth2") == 2 && table_zone_by_ifname(t, "eth1.20") == 1 &&
		      table_zone_by_ifname(t, "eth9") == -1,
	      "by ifname");
	CHECK(table_default_action(t, 1, 2) == ACT_REJECT && table_default_action(t, 2, 1) == ACT_DENY &&
		      table_default_action(t, 70, 1) == ACT_DENY,
	      "defaults");
}

static void test_roundtrip(void)
{
	struct policy *p = sample_policy();
	void *buf;
	size_t len;
	build_or_die(p, &buf, &len);
	CHECK(len % 8 == 0 && !memcmp(buf, "SKSHOTBL", 8), "magic / size");

	struct table *t = open_or_die(buf, len);
	check_sample_table(t);
	struct table_info ti;
	table_get_info(t, &ti);
	CHECK(ti.bytes == len, "bytes %llu", (unsigned long long)ti.bytes);

	/* the same bytes built twice are identical (reproducible) */
	void *buf2;
	size_t len2;
	build_or_die(p, &buf2, &len2);
	CHECK(len2 == len && !memcmp(buf, buf2, len), "build is deterministic");
	free(buf2);

	/* through a file and mmap */
	char path[] = "/tmp/table_test.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	CHECK(write(fd, buf, len) == (ssize_t)len, "write");
	close(fd);
	struct table *tf = NULL;
	char why[256];
	int r = table_open(path, &tf, why, sizeof why);
	CHECK(r == 0, "table_open: %s", why);
	if (r == 0) {
		check_sample_table(tf);
		struct table_info tfi;
		table_get_info(tf, &tfi);
		CHECK(!memcmp(tfi.file_sha256, ti.file_sha256, 32), "file sha");
		table_close(tf);
	}
	/* a truncated file on disk */
	CHECK(truncate(path, 100) == 0, "truncate");
	r = table_open(path, &tf, why, sizeof why);
	CHECK(r == -EBADMSG && strstr(why, "shorter than"), "short file: %d %s", r, why);
	CHECK(truncate(path, 0) == 0, "truncate");
	r = table_open(path, &tf, why, sizeof why);
	CHECK(r == -EBADMSG && strstr(why, "too short"), "empty file: %d %s", r, why);
	unlink(path);
	r = table_open(path, &tf, why, sizeof why);
	CHECK(r == -ENOENT && tf == NULL, "missing file: %d", r);
	r = table_open("/tmp", &tf, why, sizeof why);
	CHECK(r == -EBADMSG && strstr(why, "not a regular file"), "directory: %d %s", r, why);

	/* an unaligned buffer is accepted (copied) */
	uint8_t *odd = malloc(len + 1);
	memcpy(odd + 1, buf, len);
	struct table *to = NULL;
	r = table_open_buffer(odd + 1, len, &to, why, sizeof why);
	CHECK(r == 0, "unaligned: %s", why);
	if (r == 0) {
		free(odd); /* the table holds its own copy */
		odd = NULL;
		check_sample_table(to);
		table_close(to);
	}
	free(odd);

	/* lookups on the sample */
	struct table_verdict v;
	struct policy_packet k = tp_pkt(1, 0, 4, tp_ip("10.1.2.3"), tp_ip("10.0.0.1"), 6, 40000, SVC_KEY(6, 22));
	struct table_query q = to_query(&k);
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 1 && v.rule_index == 0 && v.action == ACT_ALLOW && v.log, "ssh: id %u", v.rule_id);
	q.key = SVC_KEY(6, 23);
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 0 && v.rule_index == UINT32_MAX && v.action == ACT_DENY, "telnet: id %u", v.rule_id);
	q.to_zone = 2;
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 2 && v.action == ACT_REJECT && !v.log, "to internet: id %u", v.rule_id);
	q.from_zone = 3;
	q.to_zone = 1;
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 5 && v.action == ACT_DENY, "mynumber -> lgwan: id %u", v.rule_id);
	q.from_zone = 2;
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 0 && v.action == ACT_DENY, "internet -> lgwan default: id %u", v.rule_id);
	q.from_zone = 1;
	q.to_zone = 9;
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 0 && v.action == ACT_DENY && v.rule_index == UINT32_MAX, "zone out of range");
	q.to_zone = 2;
	q.family = 5;
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 0 && v.action == ACT_REJECT, "bad family gets the pair's default");

	table_close(t);
	table_close(NULL);
	free(buf);
	policy_free(p);
}

/* ---- lookups ---- */

struct probe {
	uint8_t from, to, family, proto;
	const char *src, *dst;
	uint16_t sport;
	uint32_t key;
	uint32_t want_id; /* 0: default */
	uint8_t want_action;
};

static void run_probes(const struct policy *p, const struct probe *pr, size_t n, const char *name)
{
	void *buf;
	size_t len;
	build_or_die(p, &buf, &len);
	struct table *t = open_or_die(buf, len);
	for (size_t i = 0; i < n; i++) {
		struct policy_packet k = tp_pkt(pr[i].from, pr[i].to, pr[i].family, tp_ip(pr[i].src), tp_ip(pr[i].dst),
						pr[i].proto, pr[i].sport, pr[i].key);
		struct table_query q = to_query(&k);
		struct table_verdict v;
		table_lookup(t, &q, &v);
		long ref = policy_first_match(p, &k);
		uint32_t ref_id = ref < 0 ? 0 : p->rules[ref].id;
		CHECK(v.rule_id == pr[i].want_id && v.action == pr[i].want_action, "%s probe %zu: got id %u action %u",
		      name, i, v.rule_id, v.action);
		CHECK(ref_id == pr[i].want_id, "%s probe %zu: reference says %u (test is wrong)", name, i, ref_id);
	}
	table_close(t);
	free(buf);
}

static void test_lookup_v4(void)
{
	struct policy *p = tp_new(3);
	struct policy_rule *r;
	/* 1: host list to a /24, tcp 80 and 443 */
	r = tp_rule(p, 1, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_text(&r->src, "192.0.2.10");
	tp_set_text(&r->src, "192.0.2.20");
	tp_set_text(&r->dst, "198.51.100.0/24");
	tp_svc(r, SVC_KEY(6, 80), SVC_KEY(6, 80), 0, 65535);
	tp_svc(r, SVC_KEY(6, 443), SVC_KEY(6, 443), 0, 65535);
	/* 2: a range to anything, udp 1024-65535 */
	r = tp_rule(p, 2, ACT_DENY, 1u << 1, 1u << 2);
	tp_set_text(&r->src, "192.0.2.0-192.0.2.15");
	tp_set_any(&r->dst);
	tp_svc(r, SVC_KEY(17, 1024), SVC_KEY(17, 65535), 0, 65535);
	/* 3: everything else from the /24 is rejected */
	r = tp_rule(p, 3, ACT_REJECT, 1u << 1, 1u << 2);
	tp_set_text(&r->src, "192.0.2.0/24");
	tp_set_any(&r->dst);
	tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);
	/* 4: the whole v4 space, only icmp echo-request */
	r = tp_rule(p, 4, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_text(&r->src, "0.0.0.0/0");
	tp_set_text(&r->dst, "0.0.0.0/0");
	tp_svc(r, SVC_KEY(1, 8 << 8), SVC_KEY(1, 8 << 8 | 255), 0, 65535);
	p->default_action[1][2] = ACT_REJECT;

	static const struct probe pr[] = {
		{1, 2, 4, 6, "192.0.2.10", "198.51.100.7", 5555, SVC_KEY(6, 80), 1, ACT_ALLOW},
		{1, 2, 4, 6, "192.0.2.20", "198.51.100.255", 5555, SVC_KEY(6, 443), 1, ACT_ALLOW},
		{1, 2, 4, 6, "192.0.2.20", "198.51.101.0", 5555, SVC_KEY(6, 443), 3, ACT_REJECT},
		{1, 2, 4, 6, "192.0.2.11", "198.51.100.7", 5555, SVC_KEY(6, 80), 3, ACT_REJECT},
		{1, 2, 4, 17, "192.0.2.11", "203.0.113.9", 5555, SVC_KEY(17, 1024), 2, ACT_DENY},
		{1, 2, 4, 17, "192.0.2.15", "203.0.113.9", 5555, SVC_KEY(17, 65535), 2, ACT_DENY},
		{1, 2, 4, 17, "192.0.2.16", "203.0.113.9", 5555, SVC_KEY(17, 65535), 3, ACT_REJECT},
		{1, 2, 4, 17, "192.0.2.15", "203.0.113.9", 5555, SVC_KEY(17, 1023), 3, ACT_REJECT},
		{1, 2, 4, 1, "192.0.3.1", "8.8.8.8", 0, SVC_KEY(1, 8 << 8), 4, ACT_ALLOW},
		{1, 2, 4, 1, "192.0.3.1", "8.8.8.8", 0, SVC_KEY(1, 0 << 8), 0, ACT_REJECT},
		{1, 2, 4, 1, "255.255.255.255", "0.0.0.0", 0, SVC_KEY(1, 8 << 8 | 255), 4, ACT_ALLOW},
		{1, 2, 4, 6, "192.0.3.1", "198.51.100.7", 1, SVC_KEY(6, 80), 0, ACT_REJECT},
		/* the reverse pair and an unused pair: defaults */
		{2, 1, 4, 6, "192.0.2.10", "198.51.100.7", 5555, SVC_KEY(6, 80), 0, ACT_DENY},
		{0, 0, 4, 6, "192.0.2.10", "198.51.100.7", 5555, SVC_KEY(6, 80), 0, ACT_DENY},
		/* an IPv6 packet matches none of the IPv4-only rules */
		{1, 2, 6, 6, "2001:db8::1", "2001:db8::2", 5555, SVC_KEY(6, 80), 0, ACT_REJECT},
	};
	run_probes(p, pr, sizeof pr / sizeof pr[0], "v4");
	policy_free(p);
}

static void test_lookup_v6(void)
{
	struct policy *p = tp_new(3);
	struct policy_rule *r;
	r = tp_rule(p, 10, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_text(&r->src, "2001:db8:1::/48");
	tp_set_text(&r->dst, "2001:db8:ffff::1");
	tp_set_text(&r->dst, "2001:db8:ffff::3");
	tp_svc(r, SVC_KEY(6, 25), SVC_KEY(6, 25), 0, 65535);
	r = tp_rule(p, 11, ACT_DENY, 1u << 1, 1u << 2);
	tp_set_text(&r->src, "::-2001:db8:0:ffff:ffff:ffff:ffff:ffff");
	tp_set_text(&r->dst, "::/0");
	tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);
	r = tp_rule(p, 12, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_any(&r->src);
	tp_set_text(&r->dst, "ff02::/16");
	tp_svc(r, SVC_KEY(58, 135 << 8), SVC_KEY(58, 136 << 8 | 255), 0, 65535);
	/* 13: high bits only differ in the lower u64 */
	r = tp_rule(p, 13, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_text(&r->src, "2001:db8:2::ffff:0:0-2001:db8:2::1:0:0:0");
	tp_set_any(&r->dst);
	tp_svc(r, SVC_KEY(17, 53), SVC_KEY(17, 53), 0, 65535);

	static const struct probe pr[] = {
		{1, 2, 6, 6, "2001:db8:1::5", "2001:db8:ffff::1", 1, SVC_KEY(6, 25), 10, ACT_ALLOW},
		{1, 2, 6, 6, "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "2001:db8:ffff::3", 1, SVC_KEY(6, 25), 10,
		 ACT_ALLOW},
		{1, 2, 6, 6, "2001:db8:1::5", "2001:db8:ffff::2", 1, SVC_KEY(6, 25), 0, ACT_DENY},
		{1, 2, 6, 6, "2001:db8::5", "2001:db8:ffff::2", 1, SVC_KEY(6, 25), 11, ACT_DENY},
		{1, 2, 6, 6, "::", "::", 0, 0, 11, ACT_DENY},
		{1, 2, 6, 58, "2001:db8:9::1", "ff02::1", 0, SVC_KEY(58, 135 << 8), 12, ACT_ALLOW},
		{1, 2, 6, 58, "2001:db8:9::1", "ff03::1", 0, SVC_KEY(58, 135 << 8), 0, ACT_DENY},
		{1, 2, 6, 58, "2001:db8:9::1", "ff02::1", 0, SVC_KEY(58, 137 << 8), 0, ACT_DENY},
		{1, 2, 6, 17, "2001:db8:2::ffff:0:0", "::1", 9, SVC_KEY(17, 53), 13, ACT_ALLOW},
		{1, 2, 6, 17, "2001:db8:2::fffe:ffff:ffff", "::1", 9, SVC_KEY(17, 53), 0, ACT_DENY},
		{1, 2, 6, 17, "2001:db8:2::1:0:0:0", "::1", 9, SVC_KEY(17, 53), 13, ACT_ALLOW},
		{1, 2, 6, 17, "2001:db8:2::1:0:0:1", "::1", 9, SVC_KEY(17, 53), 0, ACT_DENY},
		{1, 2, 4, 17, "10.0.0.1", "10.0.0.2", 9, SVC_KEY(17, 53), 0, ACT_DENY},
	};
	run_probes(p, pr, sizeof pr / sizeof pr[0], "v6");
	policy_free(p);
}

static void test_lookup_services(void)
{
	struct policy *p = tp_new(4);
	struct policy_rule *r;
	/* dns: tcp/53 and udp/53 from high ports only, plus tcp/80 from any port
	 * (two sub-rules: sport 1024-65535 and sport any) */
	r = tp_rule(p, 1, ACT_ALLOW, 1u << 1, 1u << 2 | 1u << 3);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, SVC_KEY(6, 80), SVC_KEY(6, 80), 0, 65535);
	tp_svc(r, SVC_KEY(6, 53), SVC_KEY(6, 53), 1024, 65535);
	tp_svc(r, SVC_KEY(17, 53), SVC_KEY(17, 53), 1024, 65535);
	/* gre and esp (no ports) */
	r = tp_rule(p, 2, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, SVC_KEY(47, 0), SVC_KEY(47, 0), 0, 65535);
	tp_svc(r, SVC_KEY(50, 0), SVC_KEY(50, 0), 0, 65535);
	/* icmp echo-request code 0 only, and all of destination-unreachable */
	r = tp_rule(p, 3, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, SVC_KEY(1, 8 << 8), SVC_KEY(1, 8 << 8), 0, 65535);
	tp_svc(r, SVC_KEY(1, 3 << 8), SVC_KEY(1, 3 << 8 | 255), 0, 65535);
	/* ntp with sport 123 exactly */
	r = tp_rule(p, 4, ACT_REJECT, 1u << 1, 1u << 2);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, SVC_KEY(17, 123), SVC_KEY(17, 123), 123, 123);
	/* a rule without services matches nothing */
	r = tp_rule(p, 5, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	/* a rule with an empty source matches nothing */
	r = tp_rule(p, 6, ACT_ALLOW, 1u << 1, 1u << 2);
	tp_set_any(&r->dst);
	tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);
	/* then everything to zone 3 is rejected */
	r = tp_rule(p, 7, ACT_REJECT, 1u << 1, 1u << 3);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);

	static const struct probe pr[] = {
		{1, 2, 4, 6, "10.0.0.1", "10.0.0.2", 0, SVC_KEY(6, 80), 1, ACT_ALLOW},
		{1, 2, 4, 6, "10.0.0.1", "10.0.0.2", 1023, SVC_KEY(6, 53), 0, ACT_DENY},
		{1, 2, 4, 6, "10.0.0.1", "10.0.0.2", 1024, SVC_KEY(6, 53), 1, ACT_ALLOW},
		{1, 2, 6, 17, "::1", "::2", 65535, SVC_KEY(17, 53), 1, ACT_ALLOW},
		{1, 2, 6, 17, "::1", "::2", 65535, SVC_KEY(17, 54), 0, ACT_DENY},
		{1, 2, 4, 47, "10.0.0.1", "10.0.0.2", 0, SVC_KEY(47, 0), 2, ACT_ALLOW},
		{1, 2, 4, 50, "10.0.0.1", "10.0.0.2", 0, SVC_KEY(50, 0), 2, ACT_ALLOW},
		{1, 2, 4, 51, "10.0.0.1", "10.0.0.2", 0, SVC_KEY(51, 0), 0, ACT_DENY},
		{1, 2, 4, 1, "10.0.0.1", "10.0.0.2", 0, SVC_KEY(1, 8 << 8), 3, ACT_ALLOW},
		{1, 2, 4, 1, "10.0.0.1", "10.0.0.2", 0, SVC_KEY(1, 8 << 8 | 1), 0, ACT_DENY},
		{1, 2, 4, 1, "10.0.0.1", "10.0.0.2", 0, SVC_KEY(1, 3 << 8 | 13), 3, ACT_ALLOW},
		{1, 2, 4, 17, "10.0.0.1", "10.0.0.2", 123, SVC_KEY(17, 123), 4, ACT_REJECT},
		{1, 2, 4, 17, "10.0.0.1", "10.0.0.2", 124, SVC_KEY(17, 123), 0, ACT_DENY},
		{1, 3, 4, 6, "10.0.0.1", "10.0.0.2", 1000, SVC_KEY(6, 53), 7, ACT_REJECT},
		{1, 3, 4, 6, "10.0.0.1", "10.0.0.2", 1024, SVC_KEY(6, 53), 1, ACT_ALLOW},
		{1, 3, 4, 47, "10.0.0.1", "10.0.0.2", 0, SVC_KEY(47, 0), 7, ACT_REJECT},
	};
	run_probes(p, pr, sizeof pr / sizeof pr[0], "services");

	/* a key outside the 24-bit space and an IPv4 query with a v6-sized
	 * address match nothing */
	void *buf;
	size_t len;
	build_or_die(p, &buf, &len);
	struct table *t = open_or_die(buf, len);
	struct table_query q = {.from_zone = 1, .to_zone = 3, .family = 4, .key = SVC_KEY_MAX + 1};
	struct table_verdict v;
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 0, "key past SVC_KEY_MAX: %u", v.rule_id);
	q.key = SVC_KEY(6, 80);
	q.src = (u128)1 << 40;
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 0, "IPv4 query with a 41-bit address: %u", v.rule_id);
	table_close(t);
	free(buf);
	policy_free(p);
}

static void test_zone_pairs(void)
{
	/* rules over zone sets; identical pairs share a partition */
	struct policy *p = tp_new(6);
	struct policy_rule *r;
	r = tp_rule(p, 1, ACT_ALLOW, 0x3e, 0x3e); /* zones 1-5 to 1-5 */
	tp_set_text(&r->src, "10.0.0.0/8");
	tp_set_any(&r->dst);
	tp_svc(r, SVC_KEY(6, 443), SVC_KEY(6, 443), 0, 65535);
	r = tp_rule(p, 2, ACT_DENY, 1u << 2, 1u << 0); /* zone 2 to self */
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);
	p->default_action[2][0] = ACT_REJECT;
	p->default_action[0][5] = ACT_REJECT;
	p->default_action[5][0] = ACT_NONE; /* unset: deny */

	static const struct probe pr[] = {
		{1, 2, 4, 6, "10.1.1.1", "1.1.1.1", 1, SVC_KEY(6, 443), 1, ACT_ALLOW},
		{5, 5, 4, 6, "10.1.1.1", "1.1.1.1", 1, SVC_KEY(6, 443), 1, ACT_ALLOW},
		{3, 4, 4, 6, "11.1.1.1", "1.1.1.1", 1, SVC_KEY(6, 443), 0, ACT_DENY},
		{2, 0, 4, 6, "10.1.1.1", "1.1.1.1", 1, SVC_KEY(6, 443), 2, ACT_DENY},
		{2, 0, 6, 6, "::1", "::1", 1, SVC_KEY(6, 443), 2, ACT_DENY},
		{3, 0, 6, 6, "::1", "::1", 1, SVC_KEY(6, 443), 0, ACT_DENY},
		{0, 5, 4, 6, "10.1.1.1", "1.1.1.1", 1, SVC_KEY(6, 443), 0, ACT_REJECT},
		{5, 0, 4, 6, "10.1.1.1", "1.1.1.1", 1, SVC_KEY(6, 443), 0, ACT_DENY},
	};
	run_probes(p, pr, sizeof pr / sizeof pr[0], "zones");

	void *buf;
	size_t len;
	build_or_die(p, &buf, &len);
	struct table *t = open_or_die(buf, len);
	struct table_info ti;
	table_get_info(t, &ti);
	/* 25 pairs share one IPv4 partition; 2 -> self has one per family */
	CHECK(ti.npartitions == 3, "%u partitions (shared ones counted once)", ti.npartitions);
	table_close(t);
	free(buf);
	policy_free(p);
}

/* More than 4096 sub-rules in one partition: several summary words. */
static void test_big_partition(void)
{
	struct policy *p = tp_new(2);
	const uint32_t n = 9000;
	for (uint32_t i = 0; i < n; i++) {
		struct policy_rule *r = tp_rule(p, i + 1, i % 3 ? ACT_ALLOW : ACT_DENY, 2, 2);
		tp_set_text(&r->src, "10.0.0.0/8");
		tp_set_add(&r->dst, 4, 0x0a000000u + i * 2, 0x0a000000u + i * 2 + 2); /* overlap the next one */
		tp_svc(r, SVC_KEY(6, 1000 + i % 50), SVC_KEY(6, 1000 + i % 50), 0, 65535);
	}
	struct policy_rule *r = tp_rule(p, n + 1, ACT_REJECT, 2, 2);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);

	void *buf;
	size_t len;
	build_or_die(p, &buf, &len);
	struct table *t = open_or_die(buf, len);
	uint32_t bad = 0;
	for (uint32_t i = 0; i < 2 * n + 4; i += 37) {
		for (uint32_t port = 999; port <= 1050; port += 7) {
			struct policy_packet k = tp_pkt(1, 1, 4, 0x0a010203u, 0x0a000000u + i, 6, 1, SVC_KEY(6, port));
			agree(t, p, &k, &bad);
		}
	}
	CHECK(bad == 0, "%u mismatches in a 9001-rule partition", bad);
	table_close(t);
	free(buf);
	policy_free(p);
}

/* A dimension of more than 16^4 bounds in a partition of a few sub-rules:
 * its search tree is deeper than the fast path's descriptors hold, so this
 * partition takes the general path although it has one summary word.  Keys
 * near the top of the key dimension and sports at both ends exercise the
 * fast path's signed node search in the other partition. */
static void test_deep_tree(void)
{
	struct policy *p = tp_new(3);
	const uint32_t nh = 40000;
	struct policy_rule *r = tp_rule(p, 1, ACT_ALLOW, 2, 2);
	tp_set_text(&r->src, "10.0.0.0/8");
	r->dst.v4 = xreallocarray(NULL, nh, sizeof *r->dst.v4);
	for (uint32_t i = 0; i < nh; i++)
		r->dst.v4[i] = (struct ip_range){.lo = 0x0a000000u + 4 * i, .hi = 0x0a000000u + 4 * i + 1};
	r->dst.n4 = nh;
	tp_svc(r, SVC_KEY(6, 80), SVC_KEY(6, 80), 0, 65535);
	r = tp_rule(p, 2, ACT_REJECT, 2, 2);
	tp_set_any(&r->src);
	tp_set_text(&r->dst, "10.0.0.0/16");
	tp_svc(r, SVC_KEY(6, 1), SVC_KEY(6, 65535), 0, 65535);
	/* zone 2 to zone 2: a small partition, keys and sports at the edges */
	r = tp_rule(p, 3, ACT_ALLOW, 4, 4);
	tp_set_any(&r->src);
	tp_set_any(&r->dst);
	tp_svc(r, SVC_KEY_MAX - 5, SVC_KEY_MAX, 1024, 65535);
	r = tp_rule(p, 4, ACT_DENY, 4, 4);
	tp_set_any(&r->src);
	tp_set_text(&r->dst, "255.255.255.0/24");
	tp_svc(r, 0, SVC_KEY_MAX, 0, 1023);

	void *buf;
	size_t len;
	build_or_die(p, &buf, &len);
	struct table *t = open_or_die(buf, len);
	uint32_t bad = 0, hit[4] = {0};
	for (uint32_t i = 0; i < 4 * nh + 8; i += 3) {
		for (uint32_t port = 79; port <= 81; port++) {
			struct policy_packet k = tp_pkt(1, 1, 4, 0x0a010203u, 0x0a000000u + i, 6, 1, SVC_KEY(6, port));
			long ref = agree(t, p, &k, &bad);
			if (ref >= 0)
				hit[ref]++;
		}
	}
	static const uint32_t keys[] = {0, 1, SVC_KEY_MAX - 6, SVC_KEY_MAX - 5, SVC_KEY_MAX - 1, SVC_KEY_MAX};
	static const uint16_t sports[] = {0, 1023, 1024, 65534, 65535};
	static const uint32_t dsts[] = {0, 0xfffffeffu, 0xffffff00u, 0xffffffffu};
	for (size_t a = 0; a < sizeof keys / sizeof *keys; a++)
		for (size_t b = 0; b < sizeof sports / sizeof *sports; b++)
			for (size_t c = 0; c < sizeof dsts / sizeof *dsts; c++) {
				struct policy_packet k = tp_pkt(2, 2, 4, 0xffffffffu, dsts[c], (uint8_t)(keys[a] >> 16),
								sports[b], keys[a]);
				long ref = agree(t, p, &k, &bad);
				if (ref >= 0)
					hit[ref]++;
			}
	CHECK(bad == 0, "%u mismatches with an 80,000-bound dimension and edge keys", bad);
	CHECK(hit[0] && hit[1] && hit[2] && hit[3], "every rule decides some packet (%u %u %u %u)", hit[0], hit[1],
	      hit[2], hit[3]);
	table_close(t);
	free(buf);
	policy_free(p);
}

static void test_empty_policy(void)
{
	struct policy *p = tp_new(1);
	p->default_action[0][0] = ACT_REJECT;
	void *buf;
	size_t len;
	build_or_die(p, &buf, &len);
	struct table *t = open_or_die(buf, len);
	struct table_info ti;
	table_get_info(t, &ti);
	CHECK(ti.nrules == 0 && ti.npartitions == 0 && !strcmp(ti.policy_name, ""), "empty policy info");
	struct table_query q = {.from_zone = 0, .to_zone = 0, .family = 4};
	struct table_verdict v;
	table_lookup(t, &q, &v);
	CHECK(v.rule_id == 0 && v.action == ACT_REJECT, "empty policy lookup");
	table_close(t);
	free(buf);
	policy_free(p);
}

/* ---- build refusals ---- */

static void test_build_errors(void)
{
	static const struct {
		const char *what;
		const char *want;
	} cases[] = {
		{"zone bit", "names a zone index beyond"},
		{"action", "invalid action"},
		{"id 0", "id 0"},
		{"v4 range", "IPv4 source range 0 is empty or outside"},
		{"key range", "service 0 is empty or outside"},
		{"sport range", "service 0 is empty or outside"},
		{"default allow", "neither deny nor reject"},
		{"no zones", "0 zones"},
		{"ifname", "longer than 15"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct policy *p = tp_new(3);
		struct policy_rule *r = tp_rule(p, 1, ACT_ALLOW, 2, 4);
		tp_set_any(&r->src);
		tp_set_any(&r->dst);
		tp_svc(r, 0, SVC_KEY_MAX, 0, 65535);
		switch (i) {
		case 0:
			r->to_zones = 1u << 3;
			break;
		case 1:
			r->action = 7;
			break;
		case 2:
			r->id = 0;
			break;
		case 3:
			r->src.v4[0].hi = (u128)1 << 33;
			break;
		case 4:
			r->svc[0].key_hi = SVC_KEY_MAX + 1;
			break;
		case 5:
			r->svc[0].sport_lo = 9, r->svc[0].sport_hi = 8;
			break;
		case 6:
			p->default_action[1][2] = ACT_ALLOW;
			break;
		case 7:
			p->nzones = 0;
			break;
		case 8:
			tp_zone_ifs(p, 1, (const char *[]){"a-very-long-interface-name"}, 1);
			break;
		}
		void *buf = (void *)1;
		size_t len = 1;
		char why[256] = "";
		int rc = table_build(p, 0, &buf, &len, why, sizeof why);
		CHECK(rc == -EINVAL && buf == NULL && len == 0 && strstr(why, cases[i].want), "%s: rc %d why '%s'",
		      cases[i].what, rc, why);
		if (i == 7)
			p->nzones = 3;
		policy_free(p);
	}
}

/* ---- corruption ---- */

static void reseal(uint8_t *b, size_t len)
{
	static const uint8_t zero[32];
	size_t at = offsetof(struct tbl_header, file_sha256);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, b, at);
	EVP_DigestUpdate(ctx, zero, 32);
	EVP_DigestUpdate(ctx, b + at + 32, len - at - 32);
	EVP_DigestFinal_ex(ctx, b + at, &n);
	EVP_MD_CTX_free(ctx);
}

static struct tbl_header *hdr(uint8_t *b)
{
	return (struct tbl_header *)(void *)b;
}

static void *sec(uint8_t *b, int s)
{
	return b + hdr(b)->sec[s].offset;
}

/* First partition with a dimension of bounds; sets *dim. */
static struct tbl_part *part_with_bounds(uint8_t *b, int *dim, bool wide)
{
	*dim = 0; /* defined on every path (gcc -O3 cannot tell) */
	struct tbl_part *parts = sec(b, TBL_SEC_PARTS);
	for (uint32_t i = 0; i < hdr(b)->npartitions; i++)
		for (int d = 0; d < TBL_NDIMS; d++)
			if (parts[i].dim[d].nbounds > 2 && (parts[i].family == 6) == wide &&
			    (d <= TBL_DIM_DST) == true) {
				*dim = d;
				return &parts[i];
			}
	return NULL;
}

/* A dimension with a search tree (more than TBL_NODE bounds). */
static struct tbl_part *part_with_tree(uint8_t *b, int *dim, bool wide)
{
	*dim = 0; /* defined on every path (gcc -O3 cannot tell) */
	struct tbl_part *parts = sec(b, TBL_SEC_PARTS);
	for (uint32_t i = 0; i < hdr(b)->npartitions; i++)
		for (int d = 0; d <= TBL_DIM_DST; d++)
			if (parts[i].dim[d].nbounds > TBL_NODE && (parts[i].family == 6) == wide) {
				*dim = d;
				return &parts[i];
			}
	abort();
}

static struct tbl_part *part_with_skip(uint8_t *b, int *dim)
{
	*dim = 0; /* defined on every path (gcc -O3 cannot tell) */
	struct tbl_part *parts = sec(b, TBL_SEC_PARTS);
	for (uint32_t i = 0; i < hdr(b)->npartitions; i++)
		for (int d = 0; d < TBL_NDIMS; d++)
			if (!parts[i].dim[d].nbounds) {
				*dim = d;
				return &parts[i];
			}
	abort();
}

static struct tbl_part *part_with_key(uint8_t *b)
{
	struct tbl_part *parts = sec(b, TBL_SEC_PARTS);
	for (uint32_t i = 0; i < hdr(b)->npartitions; i++)
		if (parts[i].dim[TBL_DIM_KEY].nbounds > 2)
			return &parts[i];
	return NULL;
}

enum { RESEAL = 1, NO_RESEAL = 0 };

struct corruption {
	const char *name;
	const char *want; /* substring of why */
	int reseal;
	long cut; /* >0: truncate to this length; <0: drop that many bytes */
	void (*mutate)(uint8_t *b, size_t len);
};

#define MUT(name) static void name(uint8_t *b, size_t len)
MUT(m_magic)
{
	(void)len;
	b[0] = 'X';
}
MUT(m_version)
{
	(void)len;
	hdr(b)->format_version = 2;
}
MUT(m_flip)
{
	b[len - 3] ^= 0x40;
}
MUT(m_flip_header)
{
	(void)len;
	hdr(b)->compile_time ^= 1;
}
MUT(m_hsize)
{
	(void)len;
	hdr(b)->header_size = 256;
}
MUT(m_fsize)
{
	(void)len;
	hdr(b)->file_size += 8;
}
MUT(m_nsect)
{
	(void)len;
	hdr(b)->nsections = 11;
}
MUT(m_flags)
{
	(void)len;
	hdr(b)->flags = 4;
}
MUT(m_nzones0)
{
	(void)len;
	hdr(b)->nzones = 0;
}
MUT(m_nzones65)
{
	(void)len;
	hdr(b)->nzones = 65;
}
MUT(m_nrules_big)
{
	(void)len;
	hdr(b)->nrules = 2000000;
}
MUT(m_sec_align)
{
	(void)len;
	hdr(b)->sec[TBL_SEC_RULES].offset += 4;
}
MUT(m_sec_overlap)
{
	(void)len;
	hdr(b)->sec[TBL_SEC_ZONES].offset = hdr(b)->sec[TBL_SEC_STRINGS].offset;
}
MUT(m_sec_outside)
{
	hdr(b)->sec[TBL_SEC_WORDS].size = len;
}
MUT(m_sec_huge)
{
	(void)len;
	hdr(b)->sec[TBL_SEC_WORDS].offset = UINT64_MAX - 7;
}
MUT(m_sec_wrap)
{
	(void)len;
	hdr(b)->sec[TBL_SEC_WORDS].size = UINT64_MAX - 7;
}
MUT(m_sec_multiple)
{
	(void)len;
	hdr(b)->sec[TBL_SEC_WORDS].size -= 4;
}
MUT(m_zone_count)
{
	(void)len;
	hdr(b)->nrules -= 1;
}
MUT(m_part_count)
{
	(void)len;
	hdr(b)->npartitions += 1;
}
MUT(m_str_first)
{
	(void)len;
	((char *)sec(b, TBL_SEC_STRINGS))[0] = 'x';
}
MUT(m_str_last)
{
	(void)len;
	((char *)sec(b, TBL_SEC_STRINGS))[hdr(b)->sec[TBL_SEC_STRINGS].size - 1] = 'x';
}
MUT(m_pname)
{
	(void)len;
	hdr(b)->policy_name = 99999;
}
MUT(m_zone_name)
{
	(void)len;
	((struct tbl_zone *)sec(b, TBL_SEC_ZONES))[1].name = 77777;
}
MUT(m_zone_empty)
{
	(void)len;
	((struct tbl_zone *)sec(b, TBL_SEC_ZONES))[1].name = 0;
}
MUT(m_zone_tier)
{
	(void)len;
	((struct tbl_zone *)sec(b, TBL_SEC_ZONES))[2].tier = 9;
}
MUT(m_zone_ifs)
{
	(void)len;
	((struct tbl_zone *)sec(b, TBL_SEC_ZONES))[1].nif = 1000;
}
MUT(m_zone_ifs_wrap)
{
	(void)len;
	((struct tbl_zone *)sec(b, TBL_SEC_ZONES))[1].first_if = UINT32_MAX;
}
MUT(m_ifname_off)
{
	(void)len;
	((uint32_t *)sec(b, TBL_SEC_IFNAMES))[0] = 123456;
}
MUT(m_ifname_long)
{
	(void)len;
	/* point an interface at the longest string: the rule description */
	((uint32_t *)sec(b, TBL_SEC_IFNAMES))[0] = ((struct tbl_rule *)sec(b, TBL_SEC_RULES))[0].description;
}
MUT(m_default)
{
	(void)len;
	((uint8_t *)sec(b, TBL_SEC_DEFAULTS))[5] = ACT_ALLOW;
}
MUT(m_rule_desc)
{
	(void)len;
	((struct tbl_rule *)sec(b, TBL_SEC_RULES))[2].description = 99999;
}
MUT(m_rule_file)
{
	(void)len;
	((struct tbl_rule *)sec(b, TBL_SEC_RULES))[1].file = 0x80000000u;
}
MUT(m_rule_id)
{
	(void)len;
	((struct tbl_verdict *)sec(b, TBL_SEC_VERDICTS))[1].id = 0;
}
MUT(m_rule_action)
{
	(void)len;
	((struct tbl_verdict *)sec(b, TBL_SEC_VERDICTS))[1].action = 9;
}
MUT(m_rule_log)
{
	(void)len;
	((struct tbl_verdict *)sec(b, TBL_SEC_VERDICTS))[1].log = 2;
}
MUT(m_rule_reserved)
{
	(void)len;
	((struct tbl_rule *)sec(b, TBL_SEC_RULES))[1].reserved = 1;
}
MUT(m_verdict_reserved)
{
	(void)len;
	((struct tbl_verdict *)sec(b, TBL_SEC_VERDICTS))[2].reserved[1] = 1;
}
MUT(m_verdict_count)
{
	(void)len;
	hdr(b)->sec[TBL_SEC_VERDICTS].size -= sizeof(struct tbl_verdict);
}
static uint32_t *first_used_slot(uint8_t *b)
{
	uint32_t *pi = sec(b, TBL_SEC_PARTINDEX);
	for (uint32_t i = 0;; i++)
		if (pi[i] != TBL_NONE)
			return &pi[i];
}
MUT(m_pindex)
{
	(void)len;
	*first_used_slot(b) = 4000;
}
MUT(m_pindex_family)
{
	(void)len;
	uint32_t *pi = sec(b, TBL_SEC_PARTINDEX);
	uint32_t *slot = first_used_slot(b);
	slot[((slot - pi) % 2) ? -1 : 1] = *slot; /* same partition in the other family's slot */
}
MUT(m_part_family)
{
	(void)len;
	((struct tbl_part *)sec(b, TBL_SEC_PARTS))[0].family = 5;
}
MUT(m_part_nsub0)
{
	(void)len;
	((struct tbl_part *)sec(b, TBL_SEC_PARTS))[0].nsub = 0;
}
MUT(m_part_sub)
{
	(void)len;
	((struct tbl_part *)sec(b, TBL_SEC_PARTS))[0].sub = UINT32_MAX - 1;
}
MUT(m_part_nwords)
{
	(void)len;
	((struct tbl_part *)sec(b, TBL_SEC_PARTS))[0].nwords = 7;
}
MUT(m_part_reserved)
{
	(void)len;
	((struct tbl_part *)sec(b, TBL_SEC_PARTS))[0].reserved[1] = 7;
}
MUT(m_part_allwild)
{
	(void)len;
	((struct tbl_part *)sec(b, TBL_SEC_PARTS))[0].allwild ^= 1;
}
MUT(m_subrule_rule)
{
	(void)len;
	((struct tbl_subrule *)sec(b, TBL_SEC_SUBRULES))[0].rule = 3;
}
MUT(m_subrule_verdict)
{
	(void)len;
	((struct tbl_subrule *)sec(b, TBL_SEC_SUBRULES))[0].action ^= 1;
}
MUT(m_subrule_order)
{
	(void)len;
	struct tbl_part *parts = sec(b, TBL_SEC_PARTS);
	struct tbl_subrule *sr = sec(b, TBL_SEC_SUBRULES);
	for (uint32_t i = 0; i < hdr(b)->npartitions; i++)
		if (parts[i].nsub >= 2 && sr[parts[i].sub + 1].rule < 2) {
			sr[parts[i].sub].rule = 2; /* larger than its successor */
			return;
		}
	abort();
}
MUT(m_dim_bounds)
{
	(void)len;
	int d;
	part_with_bounds(b, &d, false)->dim[d].bounds = UINT32_MAX - 1;
}
MUT(m_dim_bounds128)
{
	(void)len;
	int d;
	part_with_bounds(b, &d, true)->dim[d].nbounds = 100000;
}
MUT(m_dim_vecidx)
{
	(void)len;
	int d;
	part_with_bounds(b, &d, false)->dim[d].vecidx = 1u << 30;
}
MUT(m_dim_first)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, false);
	((uint32_t *)sec(b, TBL_SEC_BOUNDS32))[p->dim[d].bounds] = 1;
}
MUT(m_dim_order)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, false);
	uint32_t *bb = (uint32_t *)sec(b, TBL_SEC_BOUNDS32) + p->dim[d].bounds;
	bb[2] = bb[1];
}
MUT(m_dim_order128)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, true);
	struct tbl_bound128 *bb = (struct tbl_bound128 *)sec(b, TBL_SEC_BOUNDS128) + p->dim[d].bounds;
	bb[2].hi = bb[1].hi - 1;
}
MUT(m_dim_keymax)
{
	(void)len;
	struct tbl_part *p = part_with_key(b);
	uint32_t *bb = (uint32_t *)sec(b, TBL_SEC_BOUNDS32) + p->dim[TBL_DIM_KEY].bounds;
	bb[p->dim[TBL_DIM_KEY].nbounds - 1] = SVC_KEY_MAX + 1;
}
MUT(m_dim_reserved)
{
	(void)len;
	((struct tbl_part *)sec(b, TBL_SEC_PARTS))[0].dim[1].reserved = 1;
}
MUT(m_vec_off)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, false);
	((uint32_t *)sec(b, TBL_SEC_VECIDX))[p->dim[d].vecidx + 1] = 0xfffffff0u;
}
MUT(m_vec_len)
{
	(void)len;
	/* a vector at the very end of the pool that claims data words */
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, false);
	uint32_t nwords = (uint32_t)(hdr(b)->sec[TBL_SEC_WORDS].size / 8);
	((uint64_t *)sec(b, TBL_SEC_WORDS))[nwords - 1] = 1;
	((uint32_t *)sec(b, TBL_SEC_VECIDX))[p->dim[d].vecidx + 1] = nwords - 1;
}
MUT(m_vec_summary)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, false);
	uint32_t off = ((uint32_t *)sec(b, TBL_SEC_VECIDX))[p->dim[d].vecidx + 1] & TBL_VEC_INDEX;
	((uint64_t *)sec(b, TBL_SEC_WORDS))[off] |= (uint64_t)1 << 63;
}
MUT(m_vec_tail)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, false);
	uint32_t *vi = sec(b, TBL_SEC_VECIDX);
	uint64_t *w = sec(b, TBL_SEC_WORDS);
	for (uint32_t i = 0; i < p->dim[d].nbounds; i++) {
		uint32_t off = vi[p->dim[d].vecidx + i] & TBL_VEC_INDEX;
		if (w[off] & 1) {
			w[off + 1] |= (uint64_t)1 << 62;
			return;
		}
	}
	abort();
}

MUT(m_tree_entry)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_tree(b, &d, false);
	((uint32_t *)sec(b, TBL_SEC_TREE32))[p->dim[d].tree] += 1;
}
MUT(m_tree_entry128)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_tree(b, &d, true);
	((struct tbl_bound128 *)sec(b, TBL_SEC_TREE128))[p->dim[d].tree + 1].lo ^= 1;
}
MUT(m_tree_range)
{
	(void)len;
	int d;
	part_with_tree(b, &d, false)->dim[d].tree = UINT32_MAX - 3;
}
MUT(m_tree_pad)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_tree(b, &d, false);
	/* one level above 41 bounds: 3 entries, then padding */
	((uint32_t *)sec(b, TBL_SEC_TREE32))[p->dim[d].tree + TBL_NODE - 1] = 7;
}
MUT(m_bound_pad)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, false);
	((uint32_t *)sec(b, TBL_SEC_BOUNDS32))[p->dim[d].bounds + p->dim[d].nbounds] = 5;
}
MUT(m_skip_fields)
{
	(void)len;
	int d;
	part_with_skip(b, &d)->dim[d].wild = 1;
}
MUT(m_wild_off)
{
	(void)len;
	int d;
	part_with_bounds(b, &d, false)->dim[d].wild = UINT32_MAX - 1;
}
MUT(m_wild_summary)
{
	(void)len;
	int d;
	struct tbl_part *p = part_with_bounds(b, &d, false);
	((uint64_t *)sec(b, TBL_SEC_WORDS))[p->dim[d].wild] ^= 1;
}

static const struct corruption corruptions[] = {
	{"empty", "too short", NO_RESEAL, -100000, NULL},
	{"7 bytes", "too short", NO_RESEAL, 7, NULL},
	{"header cut", "-byte header", NO_RESEAL, 200, NULL},
	{"one byte short", "header says", NO_RESEAL, -1, NULL},
	{"magic", "bad magic", NO_RESEAL, 0, m_magic},
	{"version", "format version 2 not supported", NO_RESEAL, 0, m_version},
	{"checksum (data)", "checksum mismatch", NO_RESEAL, 0, m_flip},
	{"checksum (header)", "checksum mismatch", NO_RESEAL, 0, m_flip_header},
	{"header size", "header size 256", RESEAL, 0, m_hsize},
	{"file size", "header says", RESEAL, 0, m_fsize},
	{"section count", "11 sections", RESEAL, 0, m_nsect},
	{"flags", "unknown flags", RESEAL, 0, m_flags},
	{"no zones", "0 zones", RESEAL, 0, m_nzones0},
	{"65 zones", "65 zones", RESEAL, 0, m_nzones65},
	{"2M rules", "2000000 rules", RESEAL, 0, m_nrules_big},
	{"misaligned section", "section rules: offset", RESEAL, 0, m_sec_align},
	{"overlapping sections", "section zones: offset", RESEAL, 0, m_sec_overlap},
	{"section outside", "section words: offset", RESEAL, 0, m_sec_outside},
	{"section offset huge", "section words: offset", RESEAL, 0, m_sec_huge},
	{"section size wraps", "section words: offset", RESEAL, 0, m_sec_wrap},
	{"section size odd", "section words: size", RESEAL, 0, m_sec_multiple},
	{"rule count", "section rules: holds 3 entries, header says 2", RESEAL, 0, m_zone_count},
	{"partition count", "section partitions: holds", RESEAL, 0, m_part_count},
	{"pool start", "does not start with the empty string", RESEAL, 0, m_str_first},
	{"pool end", "does not end with NUL", RESEAL, 0, m_str_last},
	{"policy name", "policy name offset 99999 outside string pool", RESEAL, 0, m_pname},
	{"zone name", "zone 1: name offset 77777 outside string pool", RESEAL, 0, m_zone_name},
	{"zone empty name", "zone 1: empty name", RESEAL, 0, m_zone_empty},
	{"zone tier", "zone 2: unknown tier 9", RESEAL, 0, m_zone_tier},
	{"zone interfaces", "zone 1: interfaces 0 + 1000 outside ifnames", RESEAL, 0, m_zone_ifs},
	{"zone interfaces wrap", "zone 1: interfaces 4294967295 + 2 outside", RESEAL, 0, m_zone_ifs_wrap},
	{"ifname offset", "interface name 0: offset 123456 outside string pool", RESEAL, 0, m_ifname_off},
	{"ifname length", "interface name 0: length", RESEAL, 0, m_ifname_long},
	{"default", "action 1 is neither deny nor reject", RESEAL, 0, m_default},
	{"rule description", "rule 2: description offset 99999 outside string pool (size ", RESEAL, 0, m_rule_desc},
	{"rule file", "rule 1: file offset 2147483648 outside string pool", RESEAL, 0, m_rule_file},
	{"rule id", "rule 1: id 0", RESEAL, 0, m_rule_id},
	{"rule action", "rule 1: invalid action 9", RESEAL, 0, m_rule_action},
	{"rule log", "rule 1: log flag 2", RESEAL, 0, m_rule_log},
	{"rule reserved", "rule 1: reserved field", RESEAL, 0, m_rule_reserved},
	{"verdict reserved", "rule 2: reserved field", RESEAL, 0, m_verdict_reserved},
	{"verdict count", "section verdicts: holds 2 entries, header says 3", RESEAL, 0, m_verdict_count},
	{"partition index", "partition 4000 of", RESEAL, 0, m_pindex},
	{"partition index family", "is for IPv", RESEAL, 0, m_pindex_family},
	{"partition family", "partition 0: family 5", RESEAL, 0, m_part_family},
	{"partition empty", "partition 0: no sub-rules", RESEAL, 0, m_part_nsub0},
	{"partition sub-rules", "partition 0: sub-rules 4294967294 +", RESEAL, 0, m_part_sub},
	{"partition words", "partition 0: 7 words", RESEAL, 0, m_part_nwords},
	{"partition reserved", "partition 0: reserved field", RESEAL, 0, m_part_reserved},
	{"partition allwild", "partition 0: allwild", RESEAL, 0, m_part_allwild},
	{"sub-rule rule", "sub-rule 0 names rule 3 of 3", RESEAL, 0, m_subrule_rule},
	{"sub-rule order", "out of first-match order", RESEAL, 0, m_subrule_order},
	{"sub-rule verdict", "sub-rule 0 does not carry the verdict of rule", RESEAL, 0, m_subrule_verdict},
	{"bounds range", "outside bounds32", RESEAL, 0, m_dim_bounds},
	{"bounds128 range", "+ 100000 outside bounds128", RESEAL, 0, m_dim_bounds128},
	{"vecidx range", "vector index 1073741824", RESEAL, 0, m_dim_vecidx},
	{"first bound", "first bound is not 0", RESEAL, 0, m_dim_first},
	{"bound order", "bound 2 not above the previous one", RESEAL, 0, m_dim_order},
	{"bound128 order", "bound 2 not above the previous one", RESEAL, 0, m_dim_order128},
	{"key bound", "outside the dimension (max 16777215)", RESEAL, 0, m_dim_keymax},
	{"dim reserved", "dst: reserved field", RESEAL, 0, m_dim_reserved},
	{"vector offset", "interval 1: vector at word 2147483632 outside the pool", RESEAL, 0, m_vec_off},
	{"vector length", "words) outside the pool", RESEAL, 0, m_vec_len},
	{"vector summary", "summary marks words past", RESEAL, 0, m_vec_summary},
	{"vector tail", "names sub-rules past", RESEAL, 0, m_vec_tail},
	{"tree entry", "tree level 1 entry 0 does not match", RESEAL, 0, m_tree_entry},
	{"tree128 entry", "tree level 1 entry 1 does not match", RESEAL, 0, m_tree_entry128},
	{"tree range", "outside tree32", RESEAL, 0, m_tree_range},
	{"tree padding", "tree level 1 entry 15 does not match", RESEAL, 0, m_tree_pad},
	{"bound padding", "is not the maximum", RESEAL, 0, m_bound_pad},
	{"skipped dimension", "skipped dimension with fields set", RESEAL, 0, m_skip_fields},
	{"wildcard offset", "wildcard vector at word 4294967294 outside the pool", RESEAL, 0, m_wild_off},
	{"wildcard summary", "wildcard summary does not match word 0", RESEAL, 0, m_wild_summary},
};

/* A policy whose table has every kind of section populated. */
static struct policy *corruption_policy(void)
{
	struct policy *p = sample_policy();
	struct policy_rule *r = &p->rules[1];
	policy_addr_set_free(&r->src);
	policy_addr_set_free(&r->dst);
	tp_set_text(&r->src, "10.0.0.0/8");
	tp_set_text(&r->src, "192.168.1.1");
	tp_set_text(&r->src, "2001:db8::/32");
	tp_set_text(&r->src, "2001:db9::1");
	tp_set_text(&r->dst, "8.8.8.8");
	tp_set_text(&r->dst, "2001:4860::8888");
	/* 20 more single hosts each: 41 bounds, so a tree level above them */
	for (int i = 0; i < 20; i++) {
		tp_set_add(&r->dst, 4, 0xc6336400u + 2 * (uint32_t)i, 0xc6336400u + 2 * (uint32_t)i);
		tp_set_add(&r->dst, 6, tp_ip("2001:db8:77::") + 2 * (u128)i, tp_ip("2001:db8:77::") + 2 * (u128)i);
	}
	tp_svc(r, SVC_KEY(6, 80), SVC_KEY(6, 80), 0, 65535);
	tp_svc(r, SVC_KEY(6, 53), SVC_KEY(6, 53), 1024, 65535);
	r->svc[0] = (struct svc_range){SVC_KEY(17, 53), SVC_KEY(17, 53), 0, 65535};
	r->description = xstrdup("a description that is much longer than any interface name");
	return p;
}

static void test_corruptions(void)
{
	struct policy *p = corruption_policy();
	void *orig;
	size_t len;
	build_or_die(p, &orig, &len);
	struct table *t = open_or_die(orig, len);
	table_close(t);

	for (size_t i = 0; i < sizeof corruptions / sizeof corruptions[0]; i++) {
		const struct corruption *c = &corruptions[i];
		uint8_t *b = malloc(len + 8);
		memcpy(b, orig, len);
		size_t n = len;
		if (c->cut > 0)
			n = (size_t)c->cut;
		else if (c->cut < 0)
			n = (size_t)-c->cut > len ? 0 : len - (size_t)-c->cut;
		if (c->mutate)
			c->mutate(b, n);
		if (c->reseal)
			reseal(b, n);
		char why[256] = "";
		struct table *bt = (struct table *)&why;
		int r = table_open_buffer(b, n, &bt, why, sizeof why);
		CHECK(r == -EBADMSG && bt == NULL && strstr(why, c->want), "%s: rc %d why '%s' (want '%s')", c->name, r,
		      why, c->want);
		if (r == 0)
			table_close(bt);
		free(b);
	}

	/* random damage with a valid checksum: refused or usable, never a crash */
	uint64_t seed = 0x5eed5eedull;
	unsigned opened = 0, refused = 0;
	for (int round = 0; round < 20000; round++) {
		uint8_t *b = malloc(len);
		memcpy(b, orig, len);
		int flips = 1 + (int)(seed % 4);
		for (int f = 0; f < flips; f++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			size_t at =
				sizeof(struct tbl_header) + (size_t)((seed >> 33) % (len - sizeof(struct tbl_header)));
			if (round % 3 == 0)
				at = (size_t)((seed >> 33) % sizeof(struct tbl_header));
			b[at] ^= (uint8_t)(1u << ((seed >> 20) & 7));
		}
		reseal(b, len);
		struct table *bt = NULL;
		char why[256];
		if (table_open_buffer(b, len, &bt, why, sizeof why) == 0) {
			opened++;
			for (int k = 0; k < 64; k++) {
				struct table_query q = {.from_zone = (uint8_t)(k % 5),
							.to_zone = (uint8_t)(k / 5 % 5),
							.family = k & 1 ? 6 : 4,
							.key = (uint32_t)k * 4099u,
							.sport = (uint16_t)(k * 1000),
							.src = (u128)k << (k & 1 ? 100 : 24),
							.dst = (u128)k * 0x01010101u};
				struct table_verdict v;
				table_lookup(bt, &q, &v);
				struct table_rule_info ri;
				if (v.rule_index != UINT32_MAX)
					CHECK(table_rule(bt, v.rule_index, &ri), "verdict names a rule that exists");
			}
			table_close(bt);
		} else {
			refused++;
		}
		free(b);
	}
	CHECK(refused > 0, "random damage was never refused");
	printf("random damage: %u refused, %u still valid\n", refused, opened);

	/* the API's own guards */
	struct table *bt = NULL;
	CHECK(table_open_buffer(NULL, 10, &bt, NULL, 0) == -EINVAL, "NULL buffer");
	CHECK(table_open_buffer(orig, len, NULL, NULL, 0) == -EINVAL, "NULL result");
	CHECK(table_open_buffer(orig, (size_t)TBL_MAX_BYTES + 8, &bt, NULL, 0) == -EBADMSG, "over 1 GiB");
	free(orig);
	policy_free(p);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define RUN(f)                                            \
	do {                                              \
		double t0_ = now();                       \
		f();                                      \
		printf("%-24s %.2fs\n", #f, now() - t0_); \
	} while (0)

int main(void)
{
	RUN(test_roundtrip);
	RUN(test_lookup_v4);
	RUN(test_lookup_v6);
	RUN(test_lookup_services);
	RUN(test_zone_pairs);
	RUN(test_big_partition);
	RUN(test_deep_tree);
	RUN(test_empty_policy);
	RUN(test_build_errors);
	RUN(test_corruptions);
	return check_done();
}
