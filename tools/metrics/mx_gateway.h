/* mx_gateway: the gateway's live counters, asked on its control socket
 * ("counters", one JSON line back: gateway/gw_control.c), as samples.
 *
 * The answer is read with a 2 s timeout and a size cap (MX_GATEWAY_MAX)
 * and parsed with json-c; members of the wrong type are skipped, rule and
 * zone names become label values as they are (mx_prom escapes them).
 * Returns 0, or -errno with why (no daemon, refused, malformed answer):
 * the caller then reports sekisho_gateway_up 0.  Never prints. */
#pragma once
#include <stddef.h>

#include "tools/metrics/mx_set.h"

#define MX_GATEWAY_MAX ((size_t)8 << 20)

int mx_gateway_collect(const char *socket_path, struct mx_set *s, char *why, size_t whylen);
/* The parsing half, for the unit test and the fuzz-free check: add the
 * samples of one answer.  0 or -EINVAL. */
int mx_gateway_parse(const char *buf, size_t len, struct mx_set *s);
