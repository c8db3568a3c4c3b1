/* mx_gateway: the gateway's control socket answer as samples
 * (tools/metrics/mx_gateway.h). */
#include "tools/metrics/mx_gateway.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/jsonx.h"

static bool u64(struct json_object *o, const char *k, uint64_t *ret)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return false;
	*ret = json_object_get_uint64(v);
	return true;
}

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v)
		: NULL;
}

int mx_gateway_parse(const char *buf, size_t len, struct mx_set *s)
{
	struct json_object *o = jsonx_parse(buf, len, 8), *a, *nf;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	if (json_object_object_get_ex(o, "error", &a)) {
		/* the daemon refused (not a member of the control group) */
		json_object_put(o);
		return -EACCES;
	}
	static const struct {
		const char *member, *metric;
	} scalars[] = {
		{"uptime_s", "sekisho_gateway_uptime_seconds"},
		{"table_gen", "sekisho_gateway_table_generation"},
		{"packets", "sekisho_gateway_packets_total"},
		{"new_flows", "sekisho_gateway_new_flows_total"},
		{"allowed", "sekisho_gateway_flows_allowed_total"},
		{"denied", "sekisho_gateway_flows_denied_total"},
		{"rejected", "sekisho_gateway_flows_rejected_total"},
		{"parse_errors", "sekisho_gateway_parse_errors_total"},
		{"enobufs", "sekisho_gateway_enobufs_total"},
		{"audit_dropped", "sekisho_gateway_audit_dropped_total"},
		{"reloads", "sekisho_gateway_reloads_total"},
		{"reload_failures", "sekisho_gateway_reload_failures_total"},
	};
	uint64_t u;
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
		if (u64(o, scalars[i].member, &u))
			mx_add(s, scalars[i].metric, u, NULL);
	if (json_object_object_get_ex(o, "netfilter", &nf) && json_object_is_type(nf, json_type_object)) {
		if (u64(nf, "tampers", &u))
			mx_add(s, "sekisho_gateway_netfilter_tampers_total", u, NULL);
		if (u64(nf, "repairs", &u))
			mx_add(s, "sekisho_gateway_netfilter_repairs_total", u, NULL);
	}
	if (json_object_object_get_ex(o, "per_rule", &a) && json_object_is_type(a, json_type_array))
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			struct json_object *e = json_object_array_get_idx(a, i);
			uint64_t id, hits;
			const char *name = str(e, "name");
			if (!u64(e, "rule_id", &id) || !u64(e, "hits", &hits) || !name)
				continue;
			char ids[24];
			snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
			mx_add(s, "sekisho_gateway_rule_hits_total", hits, "rule_id", ids, "name", name, NULL);
		}
	if (json_object_object_get_ex(o, "per_zone_pair", &a) && json_object_is_type(a, json_type_array))
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			struct json_object *e = json_object_array_get_idx(a, i);
			const char *from = str(e, "from"), *to = str(e, "to");
			if (from && to && u64(e, "flows", &u))
				mx_add(s, "sekisho_gateway_zone_pair_flows_total", u, "from", from, "to", to, NULL);
		}
	if (json_object_object_get_ex(o, "kernel_queues", &a) && json_object_is_type(a, json_type_array))
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			struct json_object *e = json_object_array_get_idx(a, i);
			uint64_t q, qd, ud;
			if (!u64(e, "queue", &q) || !u64(e, "queue_dropped", &qd) || !u64(e, "user_dropped", &ud))
				continue;
			char qs[24];
			snprintf(qs, sizeof qs, "%llu", (unsigned long long)q);
			mx_add(s, "sekisho_gateway_kernel_queue_dropped_total", qd, "queue", qs, NULL);
			mx_add(s, "sekisho_gateway_kernel_user_dropped_total", ud, "queue", qs, NULL);
		}
	json_object_put(o);
	return 0;
}

int mx_gateway_collect(const char *socket_path, struct mx_set *s, char *why, size_t whylen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		snprintf(why, whylen, "%s: path too long", socket_path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int r = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		r = -errno;
	else if ((r = fdio_write_all(fd, "counters\n", 9)) == 0) {
		shutdown(fd, SHUT_WR);
		r = fdio_read_all(fd, MX_GATEWAY_MAX, &buf, &len);
	}
	close(fd);
	if (r == 0)
		r = mx_gateway_parse((const char *)buf, len, s);
	if (r < 0)
		snprintf(why, whylen, "%s: %s", socket_path,
			 r == -EINVAL           ? "not a counters answer"
				 : r == -EACCES ? "the gateway refused (run as root or a member of its control group)"
						: strerror(-r));
	free(buf);
	return r;
}
