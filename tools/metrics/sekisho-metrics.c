/* sekisho-metrics: the appliance's counters for Prometheus and SNMP.
 *
 *   sekisho-metrics collect [--log-dir DIR] [--chain DIR]... [--state FILE]
 *       [--gateway-socket PATH] [--queue NAME=DIR]... [--dir NAME=DIR]...
 *       [--prom FILE] [--json FILE] [--max-bytes N]
 *   sekisho-metrics snmp --json FILE
 *
 * collect gathers one snapshot: the gateway's live counters (its control
 * socket), counts of audit records from every chain (incrementally: the
 * state file keeps each chain's position and cumulative counts), the jobs
 * in queue directories and the bytes of directories; then writes the
 * Prometheus text file (for node_exporter's textfile collector) and the
 * JSON snapshot (for the SNMP agent), each atomically (temporary name,
 * fsync, rename), and the state last.  A source that cannot be read is
 * reported (sekisho_metrics_source_up 0, a line on stderr) and the rest is
 * still written: exit 0 when everything was read, 1 when a source failed,
 * 2 on usage or when nothing could be written.
 *
 * snmp is net-snmp's pass_persist agent for the SEKISHO-MIB subtree
 * (snmpd.conf: pass_persist .1.3.6.1.4.1.32473.1 /usr/sbin/sekisho-metrics
 * snmp --json FILE); it serves the last snapshot.  docs/metrics.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/i18n.h"
#include "common/jsonx.h"
#include "common/strbuf.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "tools/metrics/mx_audit.h"
#include "tools/metrics/mx_gateway.h"
#include "tools/metrics/mx_set.h"
#include "tools/metrics/mx_snmp.h"

#define MAX_SOURCES 64

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-metrics collect [--log-dir DIR] [--chain DIR]... [--state FILE]\n"
		"           [--gateway-socket PATH] [--queue NAME=DIR]... [--dir NAME=DIR]...\n"
		"           [--prom FILE] [--json FILE] [--max-bytes N]\n"
		"       sekisho-metrics snmp --json FILE\n"
		"       sekisho-metrics --help | --version\n"
		"  collect: one snapshot of the gateway's counters, audit record counts, queue and\n"
		"  directory sizes, written as Prometheus text (--prom) and JSON (--json).\n"
		"  snmp: net-snmp pass_persist agent for SEKISHO-MIB, serving the --json snapshot.\n"
		"  Defaults: --log-dir /var/log/sekisho (every subdirectory is a chain),\n"
		"  --gateway-socket /run/sekisho/gateway/gatewayd.sock.  docs/metrics.md\n"),
	      f);
}

/* Write text to path atomically: path.tmp, fsync, rename. */
static int write_atomic(const char *path, const char *text, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	int r = fdio_write_all(fd, text, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* Jobs in DIR/new and DIR/cur (the queues' layout, docs/cdr.md). */
static int queue_jobs(const char *dir, uint64_t *ret)
{
	*ret = 0;
	bool any = false;
	for (int k = 0; k < 2; k++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, k ? "cur" : "new");
		DIR *d = opendir(p);
		if (!d)
			continue;
		any = true;
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				(*ret)++;
		closedir(d);
	}
	return any ? 0 : -ENOENT;
}

/* Bytes of the regular files directly in dir (quarantine, copies: flat). */
static int dir_bytes(const char *dir, uint64_t *ret)
{
	*ret = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)))
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			*ret += (uint64_t)st.st_size;
	closedir(d);
	return 0;
}

/* NAME=DIR: name a short word */
static bool split_named(const char *arg, char name[48], const char **dir)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : 0;
	if (!eq || n == 0 || n >= 48 || !eq[1] || strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return false;
	memcpy(name, arg, n);
	name[n] = '\0';
	*dir = eq + 1;
	return true;
}

struct collect_opts {
	const char *log_dir, *state, *gw_socket, *prom, *json;
	const char *chains[MAX_SOURCES], *queues[MAX_SOURCES], *dirs[MAX_SOURCES];
	size_t nchains, nqueues, ndirs;
	uint64_t max_bytes;
};

static struct json_object *load_state(const char *path)
{
	void *buf = NULL;
	size_t len = 0;
	struct json_object *o = NULL, *ch;
	if (path && fdio_read_file(path, (uint64_t)64 << 20, &buf, &len) == 0)
		o = jsonx_parse(buf, len, 8);
	free(buf);
	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "chains", &ch) &&
	    json_object_is_type(ch, json_type_object)) {
		json_object_get(ch);
		json_object_put(o);
		return ch;
	}
	if (o || (path && access(path, F_OK) == 0))
		fprintf(stderr, _("sekisho-metrics: %s: not a state file; counting from the start\n"), path);
	json_object_put(o);
	return json_object_new_object();
}

/* The chain directories: --chain ones, else every subdirectory of log_dir. */
static size_t list_chains(const struct collect_opts *o, char ***ret)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < o->nchains; i++) {
		xgrow(&v, &cap, n + 1, sizeof(*v));
		v[n++] = xstrdup(o->chains[i]);
	}
	DIR *d = o->nchains ? NULL : opendir(o->log_dir);
	struct dirent *e;
	while (d && (e = readdir(d)) && n < MAX_SOURCES) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		xgrow(&v, &cap, n + 1, sizeof(*v));
		v[n++] = xasprintf("%s/%s", o->log_dir, e->d_name);
	}
	if (d)
		closedir(d);
	*ret = v;
	return n;
}

static int collect(const struct collect_opts *o)
{
	struct mx_set s = {0};
	char why[512];
	int failed = 0;
	mx_add(&s, "sekisho_metrics_collected_timestamp_seconds", (uint64_t)time(NULL), NULL);

	why[0] = '\0';
	bool gw = mx_gateway_collect(o->gw_socket, &s, why, sizeof why) == 0;
	mx_add(&s, "sekisho_gateway_up", gw ? 1 : 0, NULL);
	mx_add(&s, "sekisho_metrics_source_up", gw ? 1 : 0, "source", "gateway", NULL);
	if (!gw) {
		fprintf(stderr, "sekisho-metrics: gateway: %s\n", why);
		failed = 1;
	}

	struct json_object *state = load_state(o->state);
	char **chains = NULL;
	size_t nch = list_chains(o, &chains);
	for (size_t i = 0; i < nch; i++) {
		why[0] = '\0';
		int r = mx_audit_update(state, chains[i], o->max_bytes, why, sizeof why);
		const char *base = strrchr(chains[i], '/') ? strrchr(chains[i], '/') + 1 : chains[i];
		char src[80];
		snprintf(src, sizeof src, "audit:%.60s", base);
		mx_add(&s, "sekisho_metrics_source_up", r == 0 ? 1 : 0, "source", src, NULL);
		if (r < 0) {
			fprintf(stderr, "sekisho-metrics: %s\n", why);
			failed = 1;
		}
		free(chains[i]);
	}
	free(chains);
	mx_audit_emit(state, &s);

	for (size_t i = 0; i < o->nqueues + o->ndirs; i++) {
		char name[48];
		const char *dir;
		bool q = i < o->nqueues;
		split_named(q ? o->queues[i] : o->dirs[i - o->nqueues], name, &dir);
		uint64_t v;
		int r = q ? queue_jobs(dir, &v) : dir_bytes(dir, &v);
		char src[64];
		snprintf(src, sizeof src, "%s:%s", q ? "queue" : "dir", name);
		mx_add(&s, "sekisho_metrics_source_up", r == 0 ? 1 : 0, "source", src, NULL);
		if (r == 0)
			mx_add(&s, q ? "sekisho_queue_jobs" : "sekisho_dir_bytes", v, q ? "queue" : "dir", name, NULL);
		else {
			fprintf(stderr, "sekisho-metrics: %s: %s\n", dir, strerror(-r));
			failed = 1;
		}
	}

	int rc = failed;
	struct strbuf out = STRBUF_INIT;
	if (o->prom) {
		mx_prom(&s, &out);
		/* node_exporter reads the file as its user: world-readable, as
		 * its textfile directory's other files */
		int r = write_atomic(o->prom, strbuf_str(&out), out.len, 0644);
		if (r < 0) {
			fprintf(stderr, "sekisho-metrics: %s: %s\n", o->prom, strerror(-r));
			rc = 2;
		}
	}
	if (o->json) {
		strbuf_reset(&out);
		mx_json(&s, &out);
		int r = write_atomic(o->json, strbuf_str(&out), out.len, 0644);
		if (r < 0) {
			fprintf(stderr, "sekisho-metrics: %s: %s\n", o->json, strerror(-r));
			rc = 2;
		}
	}
	if (!o->prom && !o->json) {
		mx_prom(&s, &out);
		fputs(strbuf_str(&out), stdout);
	}
	if (o->state && rc < 2) {
		/* the state last: a crash before it counts the new lines again
		 * next time (counters never go backwards, they may run ahead
		 * only by what this run read) */
		struct json_object *top = json_object_new_object();
		json_object_object_add(top, "v", json_object_new_int(1));
		json_object_object_add(top, "chains", json_object_get(state));
		const char *t = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN);
		int r = write_atomic(o->state, t, strlen(t), 0600);
		json_object_put(top);
		if (r < 0) {
			fprintf(stderr, "sekisho-metrics: %s: %s\n", o->state, strerror(-r));
			rc = 2;
		}
	}
	json_object_put(state);
	strbuf_free(&out);
	mx_set_free(&s);
	return rc;
}

static int cmd_collect(int argc, char **argv)
{
	enum { O_LOG = 256, O_CHAIN, O_STATE, O_GW, O_QUEUE, O_DIR, O_PROM, O_JSON, O_MAX };
	static const struct option opts[] = {
		{"log-dir", required_argument, NULL, O_LOG},
		{"chain", required_argument, NULL, O_CHAIN},
		{"state", required_argument, NULL, O_STATE},
		{"gateway-socket", required_argument, NULL, O_GW},
		{"queue", required_argument, NULL, O_QUEUE},
		{"dir", required_argument, NULL, O_DIR},
		{"prom", required_argument, NULL, O_PROM},
		{"json", required_argument, NULL, O_JSON},
		{"max-bytes", required_argument, NULL, O_MAX},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct collect_opts o = {.log_dir = "/var/log/sekisho", .gw_socket = "/run/sekisho/gateway/gatewayd.sock"};
	int c;
	char name[48];
	const char *dir;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_LOG:
			o.log_dir = optarg;
			break;
		case O_CHAIN:
		case O_QUEUE:
		case O_DIR: {
			const char **v = c == O_CHAIN ? o.chains : c == O_QUEUE ? o.queues : o.dirs;
			size_t *n = c == O_CHAIN ? &o.nchains : c == O_QUEUE ? &o.nqueues : &o.ndirs;
			if (*n == MAX_SOURCES || (c != O_CHAIN && !split_named(optarg, name, &dir))) {
				fprintf(stderr, _("sekisho-metrics: %s: expected NAME=DIR (at most %d)\n"), optarg,
					MAX_SOURCES);
				return 2;
			}
			v[(*n)++] = optarg;
			break;
		}
		case O_STATE:
			o.state = optarg;
			break;
		case O_GW:
			o.gw_socket = optarg;
			break;
		case O_PROM:
			o.prom = optarg;
			break;
		case O_JSON:
			o.json = optarg;
			break;
		case O_MAX: {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-') {
				fprintf(stderr, _("sekisho-metrics: --max-bytes: not a number: %s\n"), optarg);
				return 2;
			}
			o.max_bytes = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return collect(&o);
}

static int cmd_snmp(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *json = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j')
			json = optarg;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!json || optind != argc) {
		usage(stderr);
		return 2;
	}
	return mx_snmp_serve(json, stdin, stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	i18n_init();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		version_print(stdout, "sekisho-metrics");
		return 0;
	}
	if (!strcmp(argv[1], "collect"))
		return cmd_collect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "snmp"))
		return cmd_snmp(argc - 1, argv + 1);
	fprintf(stderr, _("sekisho-metrics: unknown command %s (collect, snmp)\n"), argv[1]);
	return 2;
}
