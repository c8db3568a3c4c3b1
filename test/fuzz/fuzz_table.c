/* fuzz_table: libFuzzer target for the compiled-table loader.
 *
 * The input is a table file.  table_open_buffer must refuse it or accept
 * it without reading outside it; an accepted table is then queried through
 * every accessor and with lookups aimed at its own bounds, which must stay
 * inside the table and name rules that exist.  In fuzzing builds
 * (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) the loader skips its
 * whole-file checksum so that mutated files reach the deeper checks.
 *
 * Seeds: test/fuzz/corpus/table/ (valid tables from small policies and
 * damaged variants). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/table.h"
#include "rules/table_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(void)
{
	abort();
}

/* Lookups: zone pairs and families from the table, addresses and keys
 * from the input bytes so that the fuzzer steers them. */
static void exercise(const struct table *t, const uint8_t *data, size_t size)
{
	struct table_info ti;
	table_get_info(t, &ti);
	if (ti.bytes != size || strlen(ti.policy_name) > size || strlen(ti.policy_version) > size)
		fuzz_fail();
	for (uint32_t i = 0; i <= ti.nrules && i < 4096; i++) {
		struct table_rule_info ri;
		bool ok = table_rule(t, i, &ri);
		if (ok != (i < ti.nrules))
			fuzz_fail();
		if (ok &&
		    (strlen(ri.name) + strlen(ri.file) + strlen(ri.description) + strlen(ri.owner) +
		     strlen(ri.ticket)) > 5 * size)
			fuzz_fail();
	}
	for (uint32_t z = 0; z <= ti.nzones; z++) {
		struct table_zone_info zi;
		bool ok = table_zone(t, z, &zi);
		if (ok != (z < ti.nzones))
			fuzz_fail();
		if (!ok)
			continue;
		if (table_zone_by_name(t, zi.name) < 0)
			fuzz_fail();
		for (uint32_t i = 0; i < zi.nif && i < 64; i++) {
			const char *ifn = table_zone_ifname(t, z, i);
			if (!ifn || table_zone_by_ifname(t, ifn) < 0)
				fuzz_fail();
		}
		if (table_zone_ifname(t, z, zi.nif) != NULL)
			fuzz_fail();
		for (uint32_t to = 0; to < ti.nzones; to++) {
			uint8_t a = table_default_action(t, z, to);
			if (a != ACT_DENY && a != ACT_REJECT)
				fuzz_fail();
		}
	}
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[size - 1 - i]) * 0x100000001b3ull;
	for (int k = 0; k < 256; k++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t r = seed ^ (seed >> 29);
		struct table_query q;
		memset(&q, 0, sizeof q);
		q.from_zone = (uint8_t)(r % (ti.nzones + 1));
		q.to_zone = (uint8_t)((r >> 8) % (ti.nzones + 1));
		q.family = (r >> 16) & 1 ? 6 : 4;
		q.key = (uint32_t)(r >> 20) & (k & 1 ? 0xffffffu : 0x1ffffffu);
		q.sport = (uint16_t)(r >> 40);
		q.proto = (uint8_t)(q.key >> 16);
		/* addresses: bytes of the input, which hold the table's bounds */
		size_t at = (size_t)(r >> 48) % (size >= 16 ? size - 15 : 1);
		u128 a = 0;
		for (size_t j = 0; j < 16 && at + j < size; j++)
			a = (a << 8) | data[at + j];
		q.src = q.family == 4 ? (a & 0xffffffffu) : a;
		q.dst = q.family == 4 ? ((a >> 32) & 0xffffffffu) : ~a;
		if (k % 7 == 0)
			q.dst += 1;
		struct table_verdict v;
		table_lookup(t, &q, &v);
		if (v.action != ACT_ALLOW && v.action != ACT_DENY && v.action != ACT_REJECT)
			fuzz_fail();
		if (v.rule_index != UINT32_MAX) {
			struct table_rule_info ri;
			if (!table_rule(t, v.rule_index, &ri) || ri.id != v.rule_id || ri.action != v.action)
				fuzz_fail();
		} else if (v.rule_id != 0) {
			fuzz_fail();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct table *t = NULL;
	char why[256];
	/* an exact-size copy: reads past the end are caught by ASan */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (table_open_buffer(copy, size, &t, why, sizeof why) == 0) {
		exercise(t, copy, size);
		table_close(t);
	} else if (!why[0]) {
		fuzz_fail(); /* every refusal says why */
	}
	free(copy);
	return 0;
}
