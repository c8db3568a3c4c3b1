/* gw_capture: a ring of pcap files for the packets the daemon refuses
 * (forensics).  One ring per queue thread, so no lock: files
 * DIR/TAG-K.pcap for K = 0..files-1, each closed and the next (oldest)
 * one truncated and reopened when it reaches file_bytes; so the ring never
 * holds more than files x (file_bytes + one packet) on disk, whatever the
 * traffic.  At open the ring continues at a missing or the oldest file, so
 * a restart never overwrites the newest evidence first.
 *
 * libpcap writes the files (LINKTYPE_RAW, nanosecond timestamps); packets
 * are what the queue delivered (headers only: the copy range), with their
 * wire length.  Allocation happens only when a file is opened (once per
 * rotation), never per packet.  Errors are counted, never fatal: a failed
 * open is retried at most once per second. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define GW_CAPTURE_MAX_FILES 1024
#define GW_CAPTURE_MIN_BYTES 4096

struct gw_capture;

struct gw_capture_stats {
	uint64_t packets, bytes, rotations, errors;
};

/* dir must exist.  Returns 0 or -errno (-EINVAL for bad caps). */
int gw_capture_open(const char *dir, const char *tag, unsigned files, uint64_t file_bytes, struct gw_capture **ret);
void gw_capture_close(struct gw_capture *c);

/* Write one packet (network header first).  wire_len: its length on the
 * wire (>= len). */
void gw_capture_packet(struct gw_capture *c, const void *pkt, size_t len, size_t wire_len, const struct timespec *ts);
/* Push buffered packets to the file (once per receive batch). */
void gw_capture_flush(struct gw_capture *c);
void gw_capture_get_stats(const struct gw_capture *c, struct gw_capture_stats *ret);
