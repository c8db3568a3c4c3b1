/* mx_snmp: the samples of a snapshot as the SNMP objects of SEKISHO-MIB
 * (tools/metrics/SEKISHO-MIB.txt), and net-snmp's pass_persist protocol
 * that serves them from snmpd.
 *
 * The subtree is MX_SNMP_BASE (enterprises.32473.1: 32473 is the
 * enterprise number RFC 5612 reserves for documentation, used until
 * sekisho has its own; the syslog structured data uses it too).  Scalars
 * under .1.1.N.0, the rule table under .1.2, zone pairs under .1.3, audit
 * events under .1.4 (each: entry .1, columns, row index 1..n).
 *
 * Ownership: struct mx_oids owns its entries (mx_oids_free).  Nothing
 * here prints but mx_snmp_serve, which speaks the protocol on the given
 * streams. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/metrics/mx_set.h"

#define MX_SNMP_BASE ".1.3.6.1.4.1.32473.1"
#define MX_OID_MAX 32 /* sub-identifiers of one OID */

struct mx_oid_entry {
	uint32_t oid[MX_OID_MAX];
	size_t len;
	const char *type; /* pass_persist type: "counter64", "integer", "string", "unsigned" */
	char *value;      /* the value as text */
};

struct mx_oids {
	struct mx_oid_entry *v;
	size_t n, cap;
};

/* Build the sorted object list of a sample set. */
void mx_oids_build(const struct mx_set *s, struct mx_oids *ret);
void mx_oids_free(struct mx_oids *o);

/* Parse a dotted OID (".1.3.6..." or "1.3.6..."): 0 or -EINVAL. */
int mx_oid_parse(const char *text, uint32_t oid[MX_OID_MAX], size_t *ret_len);
/* The entry at exactly oid (get), or the first after it (getnext); NULL
 * when none. */
const struct mx_oid_entry *mx_oids_get(const struct mx_oids *o, const uint32_t *oid, size_t len, bool next);

/* The pass_persist loop: PING/get/getnext/set on in, answers on out, the
 * snapshot re-read from snapshot_path whenever its mtime changes.  Returns
 * at end of input: 0, or -errno when out cannot be written. */
int mx_snmp_serve(const char *snapshot_path, FILE *in, FILE *out);
