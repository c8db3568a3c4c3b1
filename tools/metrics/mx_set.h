/* mx_set: one collection of metric samples, the common form of everything
 * sekisho-metrics reads (the gateway's live counters, counts of audit
 * events, queue and directory sizes) and writes (Prometheus text, the JSON
 * snapshot the SNMP agent serves).
 *
 * A sample is a family (name, type, help: the fixed table in mx_set.c, so
 * that every metric sekisho exports is listed and documented in one place)
 * plus up to MX_LABELS label pairs and an unsigned 64-bit value (counters
 * are Counter64 in SNMP; gauges here are never negative).
 *
 * Ownership: the set owns copies of every label string (mx_set_free).
 * Allocation failures abort (control-plane tool, xalloc). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

#define MX_LABELS 3

enum mx_type { MX_COUNTER, MX_GAUGE };

struct mx_family {
	const char *name;
	enum mx_type type;
	const char *help;
};

struct mx_sample {
	const struct mx_family *fam;
	char *label[MX_LABELS][2]; /* name, value; unused pairs are NULL */
	uint64_t value;
};

struct mx_set {
	struct mx_sample *v;
	size_t n, cap;
};

/* The family called name, or NULL: every exported metric is in the table. */
const struct mx_family *mx_family(const char *name);
/* All families, in table order (the order of the output). */
const struct mx_family *mx_families(size_t *ret_n);

/* Add a sample of family name (which must exist: abort otherwise, a
 * programming error) with label pairs (name, value, ..., NULL). */
void mx_add(struct mx_set *s, const char *name, uint64_t value, ...);
/* Add value to the sample with exactly these labels, creating it at 0. */
void mx_sum(struct mx_set *s, const char *name, uint64_t value, ...);
void mx_set_free(struct mx_set *s);

/* Prometheus text exposition format 0.0.4: HELP and TYPE per family with
 * samples, label values escaped; families in table order, samples in the
 * order added. */
void mx_prom(const struct mx_set *s, struct strbuf *out);
/* The JSON snapshot: {"v":1,"samples":[{"name":..,"labels":{..},"value":N}]}. */
void mx_json(const struct mx_set *s, struct strbuf *out);
/* Read a snapshot back (the SNMP agent): 0, -EINVAL, -ENOMEM.  Samples of
 * unknown families are skipped (an older agent, a newer collector). */
int mx_json_parse(const char *buf, size_t len, struct mx_set *ret);
