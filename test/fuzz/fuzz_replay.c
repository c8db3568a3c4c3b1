/* fuzz_replay: libFuzzer target for the capture reader and replay
 * (gateway/gw_pcap.c, gw_replay.c): the input is a pcap or pcapng file.
 *
 * The reader must return packets that lie inside the input, or stop with
 * an error; replay (without a table: every flow is "no-zone") must account
 * for every packet it read and never decide more flows than packets.  The
 * flow table is small so that its cap is reached too.
 *
 * Seeds: test/fuzz/corpus/replay/ (classic pcap both byte orders, pcapng
 * with names and several sections, cooked and Ethernet link layers). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "gateway/gw_pcap.h"
#include "gateway/gw_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t decided;

static void count(void *arg, const struct gw_replay_flow *f)
{
	(void)arg;
	if (f->pkt.family != 4 && f->pkt.family != 6)
		abort();
	decided++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_pcap r;
	if (gw_pcap_open(&r, data, size) == 0) {
		struct gw_pcap_pkt p;
		uint64_t n = 0;
		int rc;
		while ((rc = gw_pcap_next(&r, &p)) == 1) {
			n++;
			if (p.index != n)
				abort();
			if (p.l3 && (p.l3 < data || p.l3_len > size || p.l3 + p.l3_len > data + size))
				abort();
			if (p.ifname && (p.ifname < (const char *)&r || p.ifname >= (const char *)(&r + 1)))
				abort();
		}
		if (rc != 0 && rc != -EBADMSG)
			abort();
	}
	static struct gw_replay *rp;
	if (!rp && gw_replay_new(64, &rp) < 0)
		abort();
	/* a fresh flow table per input: the same input always gives the same result */
	gw_replay_free(rp);
	if (gw_replay_new(64, &rp) < 0)
		abort();
	struct gw_replay_opts o = {.in_zone = -1, .out_zone = -1};
	struct gw_replay_stats st;
	decided = 0;
	if (gw_replay_run(rp, NULL, &o, data, size, count, NULL, &st) == 0) {
		uint64_t accounted = st.flows + st.later + st.not_ip + st.outgoing + st.fragments + st.nd +
			st.icmp_errors + st.parse_errors;
		if (accounted != st.packets || decided != st.flows || st.no_zone != st.flows)
			abort();
	}
	return 0;
}
