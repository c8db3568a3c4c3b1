#!/usr/bin/env python3
"""Fragments and protocols other than TCP/UDP/ICMP through the real lab
(tools/lab), checked from both ends.

Fragments: UDP datagrams of 4,000 bytes over the 1,500-byte veths, IPv4 and
IPv6, so that the sender fragments them.  The gateway's conntrack
defragmentation must reassemble them before the filter hooks: the daemon
decides on the whole datagram (its audit record carries the real ports),
an allowed datagram arrives byte-exact at the far listener, and not one
fragment of a denied datagram appears on the far wire (a packet socket on
the far host's interface records every IP packet, fragments included).

Other protocols: GRE (IP protocol 47) through raw sockets, allowed by a
test rule `proto/gre` in one direction for one pair of hosts: it crosses,
its reply comes back (conntrack), GRE to a host the rule does not name and
GRE in the other direction do not; the audit record names the protocol.

ICMPv6 neighbour discovery: with every neighbour cache of the path
flushed, IPv6 only crosses if the gateway's own NS/NA pass its ruleset.

First, without bootstrap and daemon, the plain router forwards every
"denied" flow below, so that each of those checks can fail."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import Checker, wait_for  # noqa: E402

gwtest.need_root("gateway-proto")

PROTO_RULES = gwtest.TEST_RULES + """
service test-frag udp/4000
service test-gre proto/gre
rule "test fragments" allow mgmt [198.18.40.5, 2001:db8:40::5] -> internet [198.18.30.60, 2001:db8:30::60] service test-frag owner "test" description "large UDP datagrams (fragmented on the wire)"
rule "test gre" allow mgmt [198.18.40.5, 2001:db8:40::5] -> internet [198.18.30.60, 2001:db8:30::60] service test-gre owner "test" description "a protocol without ports"
"""

SIZE = 4000

# Receives UDP datagrams (any size) on a dual-stack socket: one line per
# datagram with the source, its port, the length and a digest of the bytes.
UDP_RECV = r"""
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(('::', int(sys.argv[1])))
print('ready', flush=True)
s.settimeout(280)
while True:
    try:
        d, a = s.recvfrom(65535)
    except socket.timeout:
        break
    src = a[0][7:] if a[0].startswith('::ffff:') else a[0]
    print('dgram', src, a[1], len(d), hashlib.sha256(d).hexdigest(), flush=True)
"""

# Sends one datagram of SIZE bytes (a pattern with the tag in it) from src;
# prints its source port and the digest of what it sent.
UDP_SEND = r"""
import hashlib, socket, sys
src, dst, port, size, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src, 0))
d = bytes((i * 7 + tag) & 0xff for i in range(size))
s.sendto(d, (dst, port))
print(s.getsockname()[1], hashlib.sha256(d).hexdigest())
"""

# Every IP packet that arrives on interface argv[1] (a packet socket: before any
# reassembly), one JSON line each: family, addresses, the protocol (after
# IPv6 extension headers), fragment offset, more-fragments, and the
# destination port when the packet carries the UDP header (the type of an
# ICMP/ICMPv6 one).
SNIFF = r"""
import json, socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
print('ready', flush=True)
s.settimeout(280)
while True:
    try:
        f, a = s.recvfrom(65535)
    except socket.timeout:
        break
    if a[2] == socket.PACKET_OUTGOING or len(f) < 34:
        continue
    et, b = struct.unpack('!H', f[12:14])[0], f[14:]
    r = {}
    if et == 0x0800:
        ihl = (b[0] & 15) * 4
        fo = struct.unpack('!H', b[6:8])[0]
        r = dict(fam=4, src=socket.inet_ntop(socket.AF_INET, b[12:16]), dst=socket.inet_ntop(socket.AF_INET, b[16:20]),
                 proto=b[9], off=(fo & 0x1fff) * 8, mf=bool(fo & 0x2000), frag=bool(fo & 0x3fff), l4=ihl)
    elif et == 0x86dd and len(b) >= 40:
        nh, off, r = b[6], 40, dict(fam=6, src=socket.inet_ntop(socket.AF_INET6, b[8:24]),
                                    dst=socket.inet_ntop(socket.AF_INET6, b[24:40]), off=0, mf=False, frag=False)
        while nh in (0, 43, 60, 44) and off + 8 <= len(b):
            h = b[off:off + 8]
            if nh == 44:
                fo = struct.unpack('!H', h[2:4])[0]
                r.update(off=fo & 0xfff8, mf=bool(fo & 1), frag=True)
                off += 8
            else:
                off += (h[1] + 1) * 8
            nh = h[0]
        r.update(proto=nh, l4=off)
    else:
        continue
    if r['proto'] == 17 and r['off'] == 0 and len(b) >= r['l4'] + 4:
        r['dport'] = struct.unpack('!H', b[r['l4'] + 2:r['l4'] + 4])[0]
    if r['proto'] in (1, 58) and r['off'] == 0 and len(b) > r['l4']:
        r['icmp_type'] = b[r['l4']]
    r['len'] = len(b)
    del r['l4']
    print(json.dumps(r), flush=True)
"""

# GRE (IP protocol 47) through raw sockets: "recv" prints every GRE packet
# that arrives (v4 and v6) with its source and marker; "send SRC DST MARKER"
# sends one.
GRE = r"""
import select, socket, sys
P = 47
if sys.argv[1] == 'recv':
    s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, P)
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, P)
    print('ready', flush=True)
    while True:
        r, _, _ = select.select([s4, s6], [], [], 280)
        if not r:
            break
        for s in r:
            d, a = s.recvfrom(65535)
            if s is s4:
                d = d[(d[0] & 15) * 4:]           # v4 raw sockets see the IP header
            print('gre', a[0], d[4:].decode(errors='replace'), flush=True)
else:
    src, dst, marker = sys.argv[2], sys.argv[3], sys.argv[4]
    s = socket.socket(socket.AF_INET6 if ':' in dst else socket.AF_INET, socket.SOCK_RAW, P)
    s.bind((src, 0))
    s.sendto(b'\x00\x00\x08\x00' + marker.encode(), (dst, 0))   # GRE v0, no key, then the marker
"""


class Reader:
    """A helper process in a lab namespace that prints 'ready', then one line
    per event; lines() returns the words of every line so far."""
    def __init__(self, lab, host, script, *args):
        self.p = subprocess.Popen(["ip", "netns", "exec", lab.ns(host), sys.executable, "-c", script, *args],
                                  stdout=subprocess.PIPE, text=True)
        first = self.p.stdout.readline().strip()
        assert first == "ready", f"{host}: {first!r}"
        os.set_blocking(self.p.stdout.fileno(), False)
        self.got = []

    def lines(self):
        gwtest._drain(self.p, self.got)
        return self.got

    def kill(self):
        self.p.kill()
        self.p.wait()


c = Checker()
tmp = tempfile.mkdtemp(prefix="sekisho-gwproto-")
atexit.register(shutil.rmtree, tmp, True)
lab = gwtest.new_lab("p", bootstrap=False, policy=gwtest.make_policy(tmp, extra=PROTO_RULES))
procs = []
try:
    def start(host, script, *args):
        r = Reader(lab, host, script, *args)
        procs.append(r)
        return r

    udp4000 = start("internet", UDP_RECV, "4000")
    udp4001 = start("internet", UDP_RECV, "4001")
    udp_back = start("mgmt", UDP_RECV, "4000")
    sniff_inet = start("internet", SNIFF, "eth0")
    sniff_mgmt = start("mgmt", SNIFF, "eth0")
    sniff_gw = start("gw", SNIFF, "eth4")      # the gateway's mgmt side: what the sender put on the wire
    gre_inet = start("internet", GRE, "recv")
    gre_mgmt = start("mgmt", GRE, "recv")

    def send_udp(host, src, dst, port, tag):
        out = lab.exec(host, sys.executable, "-c", UDP_SEND, src, dst, str(port), str(SIZE), str(tag)).stdout.split()
        return int(out[0]), out[1]

    def dgrams(r, src, sport):
        return [w for w in r.lines() if w[0] == "dgram" and w[1] == src and int(w[2]) == sport]

    def gre_send(host, src, dst, marker):
        lab.exec(host, sys.executable, "-c", GRE, "send", src, dst, marker, check=True)

    def gre_seen(r, src, marker):
        return [w for w in r.lines() if w == ["gre", src, marker]]

    def wire(r, src, dst, **kw):
        """Packets the sniffer saw from src to dst (with the given fields)."""
        out = []
        for w in r.lines():
            d = json.loads(" ".join(w))
            if d["src"] == src and d["dst"] == dst and all(d.get(k) == v for k, v in kw.items()):
                out.append(d)
        return out

    # --- the plain router (no ruleset) forwards the flows denied below, fragments and GRE alike
    for src, dst in (("198.18.40.5", "198.18.30.60"), ("2001:db8:40::5", "2001:db8:30::60")):
        sport, digest = send_udp("mgmt", src, dst, 4001, 1)
        got = wait_for(lambda: dgrams(udp4001, src, sport), 15)
        c.true(f"no gateway: {src} -> udp/4001 {SIZE} bytes arrives", got != [] and got[0][4] == digest, got)
    sport, digest = send_udp("internet", "198.18.30.60", "198.18.40.5", 4000, 2)
    got = wait_for(lambda: dgrams(udp_back, "198.18.30.60", sport), 15)
    c.true("no gateway: internet -> mgmt udp/4000 arrives", got != [] and got[0][4] == digest, got)
    for m, other in (("198.18.40.5", "198.18.30.50"), ("2001:db8:40::5", "2001:db8:30::50")):
        gre_send("internet", other, m, "nogw-in")
        c.true(f"no gateway: GRE {other} -> {m} arrives", wait_for(lambda: gre_seen(gre_mgmt, other, "nogw-in"), 10))
        gre_send("mgmt", m, other, "nogw-out")
        c.true(f"no gateway: GRE {m} -> {other} arrives", wait_for(lambda: gre_seen(gre_inet, m, "nogw-out"), 10))

    # --- the appliance
    lab.bootstrap()
    # the flows below start fresh: none may be an old entry of the baseline
    lab.exec("gw", "conntrack", "-F", check=True)
    lab.exec("gw", "conntrack", "-F", "-f", "ipv6", check=True)
    lab.start_daemon()
    gwtest.check_unprivileged(c, lab)

    # ICMPv6 neighbour discovery: no cached neighbour anywhere on the path,
    # so the first IPv6 datagram needs the gateway's NS/NA in both segments.
    for host, dev in (("mgmt", "eth0"), ("internet", "eth0"), ("gw", "eth4"), ("gw", "eth3")):
        lab.exec(host, "ip", "-6", "neigh", "flush", "dev", dev, check=True)

    # --- fragments: allowed, byte-exact, on the wire as fragments, decided with the real ports
    frag_ok = {}
    for fam, src, dst in ((4, "198.18.40.5", "198.18.30.60"), (6, "2001:db8:40::5", "2001:db8:30::60")):
        n0 = len(wire(sniff_inet, src, dst))
        sport, digest = send_udp("mgmt", src, dst, 4000, fam)
        got = wait_for(lambda: dgrams(udp4000, src, sport), 30)
        c.true(f"IPv{fam} udp/4000 {SIZE}-byte datagram arrives whole", len(got) == 1 and int(got[0][3]) == SIZE, got)
        c.true("  byte-exact", got != [] and got[0][4] == digest)
        frags = [f for f in wire(sniff_inet, src, dst)[n0:] if f["frag"]]
        c.true("  it crossed the far wire as fragments", len(frags) >= 3 and any(f["off"] > 0 for f in frags),
               f"{len(frags)} fragments")
        frag_ok[fam] = sport
    # a smaller MTU after the gateway: it fragments the reassembled datagram
    # again, at the outgoing link's size (IPv4 without DF; an IPv6 router
    # never fragments: its sender learns the path MTU instead, below)
    lab.exec("gw", "ip", "link", "set", "eth3", "mtu", "1280", check=True)
    n0 = len(wire(sniff_inet, "198.18.40.5", "198.18.30.60"))
    sport, digest = send_udp("mgmt", "198.18.40.5", "198.18.30.60", 4000, 7)
    got = wait_for(lambda: dgrams(udp4000, "198.18.40.5", sport), 30)
    c.true("IPv4 udp/4000 over a 1280-byte hop arrives byte-exact", len(got) == 1 and got[0][4] == digest, got)
    frags = [f for f in wire(sniff_inet, "198.18.40.5", "198.18.30.60")[n0:] if f["frag"]]
    c.true("  refragmented by the gateway to the smaller MTU",
           len(frags) >= 4 and max(f["len"] for f in frags) <= 1280 and max(f["len"] for f in frags) > 576,
           [f["len"] for f in frags])
    # IPv6: the reassembled datagram does not fit; the gateway's ICMPv6
    # packet-too-big must reach the sender (it is RELATED to the flow), whose
    # next datagram then crosses in 1280-byte fragments
    src6, dst6 = "2001:db8:40::5", "2001:db8:30::60"
    i0 = len(wire(sniff_mgmt, "2001:db8:40::1", src6))
    sport, digest = send_udp("mgmt", src6, dst6, 4000, 8)
    ptb = wait_for(lambda: [p for p in wire(sniff_mgmt, "2001:db8:40::1", src6)[i0:] if p.get("icmp_type") == 2], 15)
    c.true("IPv6 udp/4000 over a 1280-byte hop: the gateway's packet-too-big reaches the sender", ptb != [])
    n0 = len(wire(sniff_inet, src6, dst6))
    sport, digest = send_udp("mgmt", src6, dst6, 4000, 9)
    got = wait_for(lambda: dgrams(udp4000, src6, sport), 30)
    c.true("  the next datagram arrives byte-exact", len(got) == 1 and got[0][4] == digest, got)
    frags = [f for f in wire(sniff_inet, src6, dst6)[n0:] if f["frag"]]
    c.true("  in fragments the sender made for the path MTU",
           len(frags) >= 4 and max(f["len"] for f in frags) <= 1280, [f["len"] for f in frags])
    lab.exec("gw", "ip", "link", "set", "eth3", "mtu", "1500", check=True)
    state = lab.exec("mgmt", "ip", "-6", "neigh", "show", "2001:db8:40::1", "dev", "eth0").stdout.split()
    c.true("ICMPv6 ND: the mgmt host resolved the gateway", "lladdr" in state, state or "no neighbour entry")
    gwn = lab.exec("gw", "ip", "-6", "neigh", "show", "2001:db8:30::60", "dev", "eth3").stdout.split()
    c.true("ICMPv6 ND: the gateway resolved the internet host", "lladdr" in gwn, gwn)

    # --- fragments: denied (no rule for udp/4001), not one fragment on the far wire
    denied_sport = {}
    for fam, src, dst in ((4, "198.18.40.5", "198.18.30.60"), (6, "2001:db8:40::5", "2001:db8:30::60")):
        seen0 = len(wire(sniff_inet, src, dst))
        near0 = len(wire(sniff_gw, src, dst))
        sport, _ = send_udp("mgmt", src, dst, 4001, 10 + fam)
        denied_sport[fam] = sport
        near = wait_for(lambda: len([f for f in wire(sniff_gw, src, dst)[near0:] if f["frag"]]), 10)
        c.true(f"IPv{fam} udp/4001: its fragments reached the gateway", near >= 3, f"{near} fragments")
        time.sleep(3)
        c.expect(f"IPv{fam} udp/4001 (denied): nothing arrives", dgrams(udp4001, src, sport), [])
        leaked = [p for p in wire(sniff_inet, src, dst)[seen0:] if p.get("proto") in (17, 44) or p["frag"]]
        c.expect(f"  no fragment of it on the far wire", leaked, [])
    # the reverse direction is not allowed either (a different flow, not a reply)
    back0 = len(wire(sniff_mgmt, "198.18.30.60", "198.18.40.5"))
    sport, _ = send_udp("internet", "198.18.30.60", "198.18.40.5", 4000, 20)
    time.sleep(3)
    c.expect("internet -> mgmt udp/4000 (denied): nothing arrives", dgrams(udp_back, "198.18.30.60", sport), [])
    c.expect("  no fragment of it on the far wire", wire(sniff_mgmt, "198.18.30.60", "198.18.40.5")[back0:], [])

    # --- GRE (IP protocol 47)
    for fam, m, i, other in ((4, "198.18.40.5", "198.18.30.60", "198.18.30.50"),
                             (6, "2001:db8:40::5", "2001:db8:30::60", "2001:db8:30::50")):
        out0 = len(wire(sniff_inet, m, other, proto=47))
        gre_send("internet", other, m, f"in{fam}")
        gre_send("mgmt", m, other, f"other{fam}")
        gre_send("mgmt", m, i, f"allowed{fam}")
        c.true(f"IPv{fam} GRE mgmt -> internet (rule 'test gre') arrives",
               wait_for(lambda: gre_seen(gre_inet, m, f"allowed{fam}"), 30))
        gre_send("internet", i, m, f"reply{fam}")
        c.true("  its reply comes back (conntrack)", wait_for(lambda: gre_seen(gre_mgmt, i, f"reply{fam}"), 30))
        time.sleep(2)
        c.expect(f"IPv{fam} GRE internet -> mgmt (denied)", gre_seen(gre_mgmt, other, f"in{fam}"), [])
        c.expect(f"IPv{fam} GRE mgmt -> a host not in the rule (denied)", gre_seen(gre_inet, m, f"other{fam}"), [])
        c.expect("  nothing of it on the far wire", wire(sniff_inet, m, other, proto=47)[out0:], [])

    # --- audit: decided on the reassembled datagram (real ports), protocol named
    time.sleep(0.5)
    recs = [r["data"] for r in gwtest.audit_records(lab) if r["event"] == "flow.decision"]

    def find(**kw):
        return [d for d in recs if all(d.get(k) == v for k, v in kw.items())]

    for fam, src in ((4, "198.18.40.5"), (6, "2001:db8:40::5")):
        a = find(src=src, proto="udp", dport=4000, action="allow")
        c.true(f"audit: IPv{fam} fragmented flow allowed with its real ports",
               any(d.get("sport") == frag_ok[fam] for d in a), a[-1:] if a else recs[-2:])
        c.true("  by the rule 'test fragments'", any(d.get("rule_name") == "test fragments" for d in a),
               [d.get("rule_name") for d in a])
        d = find(src=src, proto="udp", dport=4001, action="deny")
        c.true(f"audit: IPv{fam} denied fragmented flow with its real ports",
               any(x.get("sport") == denied_sport[fam] for x in d), d[-1:])
    for m, other in (("198.18.40.5", "198.18.30.60"), ("2001:db8:40::5", "2001:db8:30::60")):
        g = find(src=m, dst=other, proto="gre", action="allow")
        c.true(f"audit: GRE allow record for {m}, proto 'gre'", len(g) >= 1 and g[0].get("rule_name") == "test gre",
               g[:1])
    gd = find(src="198.18.30.50", dst="198.18.40.5", proto="gre", action="deny")
    c.true("audit: GRE deny record (internet -> mgmt)", len(gd) >= 1)
    # nothing denied arrived late either
    for fam, src, dst in ((4, "198.18.40.5", "198.18.30.60"), (6, "2001:db8:40::5", "2001:db8:30::60")):
        c.expect(f"at the end: still nothing of IPv{fam} udp/4001", dgrams(udp4001, src, denied_sport[fam]), [])
    c.expect("at the end: still no denied GRE", [w for w in gre_inet.lines() + gre_mgmt.lines()
                                                  if w[0] == "gre" and w[2][:2] in ("in", "ot")], [])
    st = json.loads(lab.ctl("status").stdout)
    c.expect("daemon counted no parse errors (no fragment reached it unreassembled)", st["parse_errors"], 0)
finally:
    for p in procs:
        p.kill()
    lab.down()
c.finish()
