/* sekisho-replay: what would this policy do to yesterday's traffic?
 *
 *   sekisho-replay --table FILE [--in-zone Z | --in-if IFNAME] [--out-zone Z]
 *                  [--net CIDR=ZONE ...] [--json] [--max-flows N] [--keep-outgoing] FILE.pcap
 *
 * Reads a pcap or pcapng capture and prints the verdict the table gives to
 * every new flow in it (gw_replay.c decides exactly like the daemon), then a
 * summary.  The capture is hostile input: it is read into memory (at most
 * --max-bytes), and when started as root the program drops to nobody with
 * no capabilities and no_new_privs before parsing it.
 *
 * Exit: 0 done, 1 the capture ended in a bad record (the verdicts before it
 * are printed), 2 usage or unreadable input.
 *
 * Errors speak the operator's language (gettext, docs/i18n.md); the flow
 * lines and the summary stay English: they are fields to read with grep and
 * jq, like sekisho-rulec explain's. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/version.h"
#include "common/fdio.h"
#include "common/i18n.h"
#include "common/inaddr.h"
#include "gateway/gw_replay.h"
#include "rules/table.h"

struct out {
	const struct table *t;
	bool json;
};

static const char *zname(const struct table *t, int z)
{
	struct table_zone_info zi;
	if (z < 0 || !table_zone(t, (uint32_t)z, &zi))
		return "?";
	return zi.name;
}

static void put_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_flow(void *arg, const struct gw_replay_flow *f)
{
	const struct out *o = arg;
	char src[INADDR_STRLEN], dst[INADDR_STRLEN], proto[8];
	inaddr_format(f->pkt.family, f->pkt.src, src);
	inaddr_format(f->pkt.family, f->pkt.dst, dst);
	const char *pn = gw_parse_proto_name(f->pkt.proto);
	if (!pn) {
		snprintf(proto, sizeof proto, "%u", f->pkt.proto);
		pn = proto;
	}
	struct table_rule_info ri;
	bool has_rule = f->v.rule_index != UINT32_MAX && table_rule(o->t, f->v.rule_index, &ri);
	const char *hook = f->hook == GW_REPLAY_HOOK_INPUT ? "input"
		: f->hook == GW_REPLAY_HOOK_OUTPUT         ? "output"
							   : "forward";
	if (o->json) {
		printf("{\"packet\":%" PRIu64 ",\"from_zone\":", f->packet);
		put_json_str(f->from >= 0 ? zname(o->t, f->from) : "");
		printf(",\"to_zone\":");
		put_json_str(f->to >= 0 ? zname(o->t, f->to) : "");
		printf(",\"proto\":\"%s\",\"src\":\"%s\"", pn, src);
		if (f->pkt.has_ports)
			printf(",\"sport\":%u", f->pkt.sport);
		printf(",\"dst\":\"%s\"", dst);
		if (f->pkt.has_ports)
			printf(",\"dport\":%u", f->pkt.dport);
		if (f->pkt.is_icmp)
			printf(",\"icmp_type\":%u,\"icmp_code\":%u", f->pkt.icmp_type, f->pkt.icmp_code);
		printf(",\"action\":\"%s\",\"rule_id\":%u,\"rule_at\":", table_action_name(f->v.action), f->v.rule_id);
		if (has_rule) {
			printf("\"");
			/* file names are paths without quotes or controls in practice; escape anyway */
			for (const char *s = ri.file; *s; s++)
				printf((*s == '"' || *s == '\\') ? "\\%c" : "%c", *s);
			printf(":%u\",\"rule_name\":", ri.line);
			put_json_str(ri.name);
		} else {
			printf("null");
		}
		printf(",\"hook\":\"%s\"", hook);
		if (f->reason)
			printf(",\"reason\":\"%s\"", f->reason);
		if (f->ifname) {
			printf(",\"if\":");
			put_json_str(f->ifname);
		}
		if (f->untracked)
			printf(",\"untracked\":true");
		printf("}\n");
		return;
	}
	char s[96], d[96];
	if (f->pkt.has_ports) {
		snprintf(s, sizeof s, f->pkt.family == 6 ? "[%s]:%u" : "%s:%u", src, f->pkt.sport);
		snprintf(d, sizeof d, f->pkt.family == 6 ? "[%s]:%u" : "%s:%u", dst, f->pkt.dport);
	} else if (f->pkt.is_icmp) {
		snprintf(s, sizeof s, "%s", src);
		snprintf(d, sizeof d, "%s type %u code %u", dst, f->pkt.icmp_type, f->pkt.icmp_code);
	} else {
		snprintf(s, sizeof s, "%s", src);
		snprintf(d, sizeof d, "%s", dst);
	}
	printf("#%-6" PRIu64 " %-6s %s -> %s  %s %s -> %s  ", f->packet, table_action_name(f->v.action),
	       f->from >= 0 ? zname(o->t, f->from) : "?", f->to >= 0 ? zname(o->t, f->to) : "?", pn, s, d);
	if (f->reason)
		printf("(%s)\n", f->reason);
	else if (has_rule)
		printf("rule %u \"%s\" %s:%u\n", ri.id, ri.name, ri.file, ri.line);
	else
		printf("(zone default)\n");
}

/* Parsing hostile input as root: become nobody first. */
static int drop_root(void)
{
	if (geteuid() != 0)
		return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
		return -errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-replay --table FILE [--in-zone ZONE | --in-if IFNAME] [--out-zone ZONE]\n"
		"                      [--net CIDR=ZONE ...] [--json] [--max-flows N] [--max-bytes N]\n"
		"                      [--keep-outgoing] CAPTURE.pcap|.pcapng\n"
		"       sekisho-replay --help | --version\n"),
	      f);
}

int main(int argc, char **argv)
{
	i18n_init();
	static const struct option opts[] = {
		{"table", required_argument, NULL, 't'},     {"in-zone", required_argument, NULL, 'i'},
		{"in-if", required_argument, NULL, 'I'},     {"out-zone", required_argument, NULL, 'o'},
		{"net", required_argument, NULL, 'n'},       {"json", no_argument, NULL, 'j'},
		{"max-flows", required_argument, NULL, 'f'}, {"max-bytes", required_argument, NULL, 'b'},
		{"keep-outgoing", no_argument, NULL, 'k'},   {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},         {0},
	};
	const char *table_path = NULL, *in_zone = NULL, *in_if = NULL, *out_zone = NULL;
	const char *nets_text[GW_REPLAY_MAX_NETS];
	size_t nnets = 0, max_flows = 262144;
	uint64_t max_bytes = 1ull << 30;
	struct out out = {0};
	bool keep_out = false;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			table_path = optarg;
			break;
		case 'i':
			in_zone = optarg;
			break;
		case 'I':
			in_if = optarg;
			break;
		case 'o':
			out_zone = optarg;
			break;
		case 'n':
			if (nnets >= GW_REPLAY_MAX_NETS) {
				fprintf(stderr, _("sekisho-replay: at most %d --net\n"), GW_REPLAY_MAX_NETS);
				return 2;
			}
			nets_text[nnets++] = optarg;
			break;
		case 'j':
			out.json = true;
			break;
		case 'f':
			max_flows = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			max_bytes = strtoull(optarg, NULL, 10);
			break;
		case 'k':
			keep_out = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			version_print(stdout, "sekisho-replay");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!table_path || optind != argc - 1 || (in_zone && in_if)) {
		usage(stderr);
		return 2;
	}
	const char *cap_path = argv[optind];
	char why[512] = "";
	struct table *t;
	if (table_open(table_path, &t, why, sizeof why) < 0) {
		fprintf(stderr, "sekisho-replay: %s: %s\n", table_path, why);
		return 2;
	}
	/* from here every exit frees what it has (the ASan build checks leaks) */
	int rc = 2, r;
	void *buf = NULL;
	size_t len = 0;
	struct gw_replay *rp = NULL;
	struct gw_replay_stats st;
	out.t = t;
	struct gw_replay_opts ro = {.in_zone = -1, .out_zone = -1, .keep_outgoing = keep_out};
	if (in_zone && (ro.in_zone = table_zone_by_name(t, in_zone)) < 0) {
		fprintf(stderr, _("sekisho-replay: no zone %s in the table\n"), in_zone);
		goto done;
	}
	if (in_if && (ro.in_zone = table_zone_by_ifname(t, in_if)) < 0) {
		fprintf(stderr, _("sekisho-replay: interface %s is in no zone of the table\n"), in_if);
		goto done;
	}
	if (out_zone && (ro.out_zone = table_zone_by_name(t, out_zone)) < 0) {
		fprintf(stderr, _("sekisho-replay: no zone %s in the table\n"), out_zone);
		goto done;
	}
	static struct gw_replay_net nets[GW_REPLAY_MAX_NETS];
	for (size_t i = 0; i < nnets; i++)
		if (gw_replay_parse_net(t, nets_text[i], &nets[i]) < 0) {
			fprintf(stderr, _("sekisho-replay: --net %s: want CIDR=ZONE with a zone of the table\n"),
				nets_text[i]);
			goto done;
		}
	ro.nets = nets;
	ro.nnets = nnets;
	r = fdio_read_file(cap_path, max_bytes, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "sekisho-replay: %s: %s\n", cap_path,
			r == -EFBIG ? _("not a regular file within --max-bytes") : strerror(-r));
		goto done;
	}
	if ((r = gw_replay_new(max_flows, &rp)) < 0) {
		fprintf(stderr, "sekisho-replay: --max-flows: %s\n", strerror(-r));
		goto done;
	}
	if ((r = drop_root()) < 0) {
		fprintf(stderr, _("sekisho-replay: dropping privileges: %s\n"), strerror(-r));
		goto done;
	}
	r = gw_replay_run(rp, t, &ro, buf, len, print_flow, &out, &st);
	if (r < 0) {
		fprintf(stderr, "sekisho-replay: %s: %s\n", cap_path,
			r == -EPROTONOSUPPORT ? _("unsupported capture version") : _("not a pcap or pcapng file"));
		goto done;
	}
	FILE *s = out.json ? stdout : stderr;
	fprintf(s,
		"%s\"packets\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"allowed\":%" PRIu64 ",\"denied\":%" PRIu64
		",\"rejected\":%" PRIu64 ",\"no_zone\":%" PRIu64 ",\"later_packets\":%" PRIu64 ",\"not_ip\":%" PRIu64
		",\"outgoing\":%" PRIu64 ",\"fragments\":%" PRIu64 ",\"nd\":%" PRIu64 ",\"icmp_errors\":%" PRIu64
		",\"parse_errors\":%" PRIu64 ",\"untracked\":%" PRIu64 ",\"truncated\":%s",
		out.json ? "{\"summary\":true," : "summary: {", st.packets, st.flows, st.allowed, st.denied,
		st.rejected, st.no_zone, st.later, st.not_ip, st.outgoing, st.fragments, st.nd, st.icmp_errors,
		st.parse_errors, st.untracked, st.truncated ? "true" : "false");
	if (st.truncated)
		fprintf(s, ",\"error_offset\":%zu", st.error_offset);
	fprintf(s, "}\n");
	if (st.truncated)
		fprintf(stderr,
			_("sekisho-replay: %s: bad or truncated record at byte %zu; verdicts above are up to it\n"),
			cap_path, st.error_offset);
	rc = st.truncated ? 1 : 0;
done:
	gw_replay_free(rp);
	free(buf);
	table_close(t);
	return rc;
}
