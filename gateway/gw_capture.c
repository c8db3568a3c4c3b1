/* gw_capture: the capped pcap ring of refused packets (see gw_capture.h).
 *
 * Contract: one struct per thread; gw_capture_open allocates it and the
 * path buffer; libpcap allocates its dumper when a file is opened (at
 * rotation), nothing per packet.  Write errors and failed opens are
 * counted in the stats; the caller reports them. */
#include "gateway/gw_capture.h"

#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct gw_capture {
	char dir[PATH_MAX / 2], tag[64], path[PATH_MAX];
	unsigned files, cur;
	uint64_t file_bytes, written; /* bytes in the current file */
	time_t retry_at;
	pcap_t *dead;
	pcap_dumper_t *dump;
	struct gw_capture_stats st;
};

static void file_path(struct gw_capture *c, unsigned k)
{
	snprintf(c->path, sizeof c->path, "%s/%s-%u.pcap", c->dir, c->tag, k);
}

static int open_current(struct gw_capture *c)
{
	file_path(c, c->cur);
	c->dump = pcap_dump_open(c->dead, c->path); /* truncates */
	if (!c->dump) {
		c->st.errors++;
		c->retry_at = time(NULL) + 1;
		return -EIO;
	}
	pcap_dump_flush(c->dump); /* the file header, so that the file is valid at once */
	c->written = 24;
	return 0;
}

int gw_capture_open(const char *dir, const char *tag, unsigned files, uint64_t file_bytes, struct gw_capture **ret)
{
	if (files < 1 || files > GW_CAPTURE_MAX_FILES || file_bytes < GW_CAPTURE_MIN_BYTES ||
	    strlen(dir) >= sizeof((struct gw_capture *)0)->dir || strlen(tag) >= 64)
		return -EINVAL;
	struct gw_capture *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	strcpy(c->dir, dir);
	strcpy(c->tag, tag);
	c->files = files;
	c->file_bytes = file_bytes;
	c->dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
	if (!c->dead) {
		free(c);
		return -ENOMEM;
	}
	/* Continue at a missing file, else at the oldest. */
	struct timespec oldest = {0};
	c->cur = 0;
	for (unsigned k = 0; k < files; k++) {
		struct stat sb;
		file_path(c, k);
		if (stat(c->path, &sb) < 0) {
			c->cur = k;
			break;
		}
		if (k == 0 || sb.st_mtim.tv_sec < oldest.tv_sec ||
		    (sb.st_mtim.tv_sec == oldest.tv_sec && sb.st_mtim.tv_nsec < oldest.tv_nsec)) {
			oldest = sb.st_mtim;
			c->cur = k;
		}
	}
	int r = open_current(c);
	if (r < 0) {
		pcap_close(c->dead);
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void gw_capture_close(struct gw_capture *c)
{
	if (!c)
		return;
	if (c->dump)
		pcap_dump_close(c->dump);
	pcap_close(c->dead);
	free(c);
}

void gw_capture_packet(struct gw_capture *c, const void *pkt, size_t len, size_t wire_len, const struct timespec *ts)
{
	if (!c->dump) {
		if (time(NULL) < c->retry_at || open_current(c) < 0)
			return;
	}
	if (c->written + 16 + len > c->file_bytes && c->written > 24) {
		pcap_dump_close(c->dump);
		c->dump = NULL;
		c->cur = (c->cur + 1) % c->files;
		c->st.rotations++;
		if (open_current(c) < 0)
			return;
	}
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len,
				.len = (bpf_u_int32)(wire_len > UINT32_MAX ? UINT32_MAX : wire_len)};
	h.ts.tv_sec = ts->tv_sec;
	h.ts.tv_usec = (suseconds_t)ts->tv_nsec; /* nanoseconds: the dumper's precision */
	pcap_dump((u_char *)c->dump, &h, pkt);
	c->written += 16 + len;
	c->st.packets++;
	c->st.bytes += len;
}

void gw_capture_flush(struct gw_capture *c)
{
	if (c && c->dump && pcap_dump_flush(c->dump) < 0)
		c->st.errors++;
}

void gw_capture_get_stats(const struct gw_capture *c, struct gw_capture_stats *ret)
{
	*ret = c->st;
}
