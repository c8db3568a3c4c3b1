/* gw_pcap: a reader of capture files (pcap and pcapng) held in memory, for
 * sekisho-replay and its fuzz target.
 *
 * The file is hostile: every length, count and offset is checked against
 * the buffer before it is used; a record that does not fit is an error
 * (-EBADMSG) and reading stops there, with the offset for the message.
 * Nothing is allocated: the reader points into the caller's buffer, which
 * must outlive it.  Interfaces of a pcapng section are kept in a fixed array
 * (GW_PCAP_MAX_IFS; more is an error).
 *
 * Link layers: Ethernet (with up to two VLAN tags), raw IP (101, 228, 229),
 * Linux cooked v1 and v2 (113, 276: "tcpdump -i any"), BSD loopback (0,
 * 108).  Packets of other link layers or other ethertypes are returned with
 * l3 == NULL (the caller counts and skips them). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_PCAP_MAX_IFS 64
#define GW_PCAP_IFNAMSIZ 64

enum gw_pcap_dir { GW_PCAP_DIR_UNKNOWN = 0, GW_PCAP_DIR_IN, GW_PCAP_DIR_OUT };

struct gw_pcap_if {
	uint16_t linktype;
	char name[GW_PCAP_IFNAMSIZ]; /* "" when the file names none */
	uint64_t ts_per_sec;         /* timestamp units per second */
};

struct gw_pcap {
	const uint8_t *buf;
	size_t len, off;
	uint64_t count; /* packets returned so far */
	bool ng, swap;
	/* classic pcap */
	uint32_t linktype;
	uint64_t ts_per_sec;
	/* pcapng: interfaces of the current section */
	uint32_t nifs;
	struct gw_pcap_if ifs[GW_PCAP_MAX_IFS];
};

struct gw_pcap_pkt {
	uint64_t index; /* 1-based, in file order */
	int64_t ts_ns;  /* nanoseconds since the epoch (best effort) */
	uint32_t linktype;
	const char *ifname;   /* the pcapng interface name or NULL */
	enum gw_pcap_dir dir; /* from cooked headers, else unknown */
	const uint8_t *l3;    /* network header, or NULL: not IP */
	size_t l3_len;        /* captured bytes from l3 */
	uint32_t orig_len;    /* length on the wire */
};

/* Check the file header.  Returns 0, -EBADMSG (not a capture file or a bad
 * header), -EPROTONOSUPPORT (a version we do not read). */
int gw_pcap_open(struct gw_pcap *r, const void *buf, size_t len);

/* The next packet.  Returns 1 with *ret filled, 0 at the end of the file,
 * -EBADMSG when the next record is truncated or inconsistent (stop). */
int gw_pcap_next(struct gw_pcap *r, struct gw_pcap_pkt *ret);

/* The byte offset of the next record (for error messages). */
size_t gw_pcap_offset(const struct gw_pcap *r);
