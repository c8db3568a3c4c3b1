#!/usr/bin/env python3
"""valgrind-gatewayd: sekisho-gatewayd under memcheck in the real lab.

The lab of the gateway tests (gwtest.new_lab: namespaces, the real
bootstrap with the emit-nft backstop, the test rules), the daemon started
as in production -- the packaged user sekisho-gw with CAP_NET_ADMIN only
(it drops root itself: setuid with PR_SET_KEEPCAPS and capset, which run
unchanged under valgrind), the capture ring on -- but under valgrind
(vg.FLAGS).  Its forked privileged helper runs under valgrind too (its own
log); the bootstrap it executes does not (--trace-children=no).

The soak, in two identical halves: some 1,600 new flows per half, allowed,
denied and rejected, TCP, UDP and ICMP, IPv4 and IPv6 (each kind's outcome
checked: allowed answered, rejected refused, denied unanswered), a denied
UDP flood (folded in the audit), two reloads (SIGHUP and the control
socket), status and counters calls; between the halves a corrupt table is
refused and a revoking policy loaded and restored.  Memory: the daemon's
VmRSS (the valgrind process: heap plus shadow) is sampled after each half;
the second half may not grow it by more than 16 MiB -- a per-flow or
per-reload leak of the soak's size would.  Then SIGTERM: exit 0 (99 is
valgrind's error exit), no memcheck error, no definitely or indirectly lost
byte in any process, no descriptor left open but the inherited ones.

Root only: exit 77 without root or valgrind, unless CI=true (then a
failure).  Bounded: batches wait at most a few seconds each."""
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.abspath(os.path.join(HERE, "..", "..", "..")))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "test", "integration", "gateway"))
import vg  # noqa: E402
import gwtest  # noqa: E402
from gwtest import Checker, Server, wait_for  # noqa: E402

RSS_GROWTH_MAX = 16 << 20

# New flows from one source towards one destination, in batches: every flow
# a new 5-tuple (a new ephemeral port, or a new ICMP echo identifier), so
# each one's first packet goes to the daemon.  Unanswered UDP and ICMP
# flows are sent again every second (same flow) until the batch's deadline.
# Prints one JSON object: how many flows were answered ("open"), refused
# (TCP RST or ICMP unreachable) or neither ("none").
GEN = r"""
import errno, json, os, select, socket, struct, sys, time
src, dst, port, kind, count, wait, batch, id0 = sys.argv[1:9]
port, count, wait, batch, id0 = int(port), int(count), float(wait), int(batch), int(id0)
v6 = ':' in dst
fam = socket.AF_INET6 if v6 else socket.AF_INET
res = {'open': 0, 'refused': 0, 'none': 0}

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def echo(ident):
    t = 128 if v6 else 8
    h = struct.pack('!BBHHH', t, 0, 0, ident, 1) + b'sekisho-vg'
    return h if v6 else h[:2] + struct.pack('!H', csum(h)) + h[4:]

icmp = None
if kind == 'icmp':
    icmp = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    icmp.bind((src, 0))
    icmp.setblocking(False)

def run(n, first):
    socks, done = {}, {}
    end = time.monotonic() + wait
    if kind == 'icmp':
        idents = set(range(first, first + n))
        for i in idents:
            icmp.sendto(echo(i), (dst, 0))
    else:
        for i in range(n):
            s = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            s.bind((src, 0))
            s.setblocking(False)
            if kind == 'tcp':
                s.connect_ex((dst, port))
            else:
                s.connect((dst, port))
                s.send(b'vg%d' % i)
            socks[s.fileno()] = s
    resend = time.monotonic() + 1.0
    while time.monotonic() < end:
        if kind == 'icmp':
            if not idents - set(done):
                break
            r, _, _ = select.select([icmp], [], [], 0.1)
            while r:
                try:
                    d, a = icmp.recvfrom(2000)
                except BlockingIOError:
                    break
                if not v6:
                    d = d[(d[0] & 15) * 4:]
                if a[0] != dst or len(d) < 8:
                    continue
                t, ident = d[0], struct.unpack('!H', d[4:6])[0]
                if ident in idents and t in ((129,) if v6 else (0,)):
                    done[ident] = 'open'
                elif ident in idents:
                    done[ident] = 'refused'
            if time.monotonic() > resend:
                for i in idents - set(done):
                    icmp.sendto(echo(i), (dst, 0))
                resend = time.monotonic() + 1.0
            continue
        left = [f for f in socks if f not in done]
        if not left:
            break
        if kind == 'tcp':
            _, w, _ = select.select([], left, [], 0.1)
            for f in w:
                e = socks[f].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                done[f] = 'open' if e == 0 else 'refused' if e == errno.ECONNREFUSED else 'none'
        else:
            r, _, _ = select.select(left, [], [], 0.1)
            for f in r:
                try:
                    socks[f].recv(100)
                    done[f] = 'open'
                except ConnectionRefusedError:
                    done[f] = 'refused'
                except BlockingIOError:
                    pass
            if time.monotonic() > resend:
                for f in left:
                    try:
                        socks[f].send(b'again')
                    except OSError:
                        pass
                resend = time.monotonic() + 1.0
    for v in done.values():
        res[v] += 1
    res['none'] += n - len(done)
    for s in socks.values():
        s.close()

i = 0
while i < count:
    n = min(batch, count - i)
    run(n, id0 + i)
    i += n
print(json.dumps(res))
"""


def flows(lab, host, src, dst, port, kind, count, wait, batch=100, id0=1):
    r = lab.exec(host, sys.executable, "-c", GEN, src, dst, str(port), kind, str(count), str(wait),
                 str(batch), str(id0))
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stderr[-500:]}


# what, host, source, destination, port, kind, flows per half, expected outcome
# (the rules: tools/lab's sample policy plus gwtest.TEST_RULES)
MIX = [
    ("allowed UDP v4 (mgmt -> internet udp/7)", "mgmt", "198.18.40.5", "198.18.30.60", 7, "udp", 300, "open"),
    ("allowed TCP v4 (lgwan client -> LGWAN-ASP tcp/443)", "lgwan", "198.18.20.150", "198.19.100.10", 443, "tcp", 300, "open"),
    ("allowed TCP v6 (mgmt -> test-web6 tcp/80)", "mgmt", "2001:db8:40::5", "2001:db8:30::60", 80, "tcp", 200, "open"),
    ("allowed ICMP v4 (mgmt -> internet echo)", "mgmt", "198.18.40.5", "198.18.30.60", 0, "icmp", 150, "open"),
    ("allowed UDP v4 (lg-dns -> lgwan-wan udp/53)", "lgwan", "198.18.20.53", "198.19.10.10", 53, "udp", 150, "open"),
    ("rejected TCP v4 (lgwan client -> LGWAN-ASP tcp/8081)", "lgwan", "198.18.20.150", "198.19.100.10", 8081, "tcp", 200, "refused"),
    ("denied TCP v6 (mgmt -> internet tcp/8080)", "mgmt", "2001:db8:40::5", "2001:db8:30::60", 8080, "tcp", 100, "none"),
    ("denied UDP v6 (mgmt v6 -> internet udp/7)", "mgmt", "2001:db8:40::5", "2001:db8:30::60", 7, "udp", 100, "none"),
    ("denied ICMP v6 (mgmt -> internet echo6)", "mgmt", "2001:db8:40::5", "2001:db8:30::60", 0, "icmp", 50, "none"),
    ("denied ICMP v4 (internet -> mgmt echo)", "internet", "198.18.30.60", "198.18.40.5", 0, "icmp", 50, "none"),
]
FLOOD = ("denied UDP v4 flood (lgwan client -> lgwan-wan udp/9)", "lgwan", "198.18.20.150", "198.19.100.10", 9,
         "udp", 300, "none")
SERVERS = [("internet", "198.18.30.60", 7, "udp"), ("lgwan-wan", "198.19.100.10", 443, "tcp"),
           ("internet", "2001:db8:30::60", 80, "tcp"), ("lgwan-wan", "198.19.10.10", 53, "udp"),
           ("internet", "2001:db8:30::60", 8080, "tcp"), ("internet", "2001:db8:30::60", 7, "udp"),
           ("lgwan-wan", "198.19.100.10", 9, "udp"), ("lgwan-wan", "198.19.100.10", 8081, "tcp")]


def helper_socket(fd, what, stack):
    """Descriptors allowed open at exit: inherited ones, and the socket to
    the privileged helper, which the daemon leaves to the kernel to close on
    purpose (its close, however the daemon ends, makes the helper fence:
    gw_nfhelp.c helper_main)."""
    return vg.inherited(fd, what, stack) or "gw_nfhelp_start" in stack


def vmrss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) << 10
    return 0


def main():
    gwtest.need_root("valgrind-gatewayd")
    vg.need_valgrind()
    c = Checker()
    lab = gwtest.new_lab("v", daemon=False, capture=True)
    logdir = os.path.join(lab.tmp, "vg")
    real = lab.gatewayd
    p = None
    status = None
    t0 = time.monotonic()
    try:
        lab.gatewayd = vg.wrapper(os.path.join(lab.tmp, "gatewayd-under-valgrind"), real, logdir, passthrough="ctl")
        p = lab.start_daemon(timeout=120.0)
        pid = p.pid
        gwtest.check_unprivileged(c, lab)
        print(f"daemon up under valgrind in {time.monotonic() - t0:.0f} s", flush=True)

        def st(cmd="status"):
            return json.loads(lab.ctl(cmd).stdout)

        def reload_sighup():
            before = st()["reloads"]
            os.kill(pid, signal.SIGHUP)
            return wait_for(lambda: st()["reloads"] > before, 60)

        rss = []
        for half in (1, 2):
            servers = [Server(lab, h, a, port, k) for h, a, port, k in SERVERS]
            try:
                for what, host, src, dst, port, kind, n, want in MIX:
                    res = flows(lab, host, src, dst, port, kind, n, 8.0 if want != "none" else 1.5,
                                id0=1 + 1000 * half)
                    c.expect(f"half {half}: {what}: {n} flows {want}", res.get(want), n)
                    if res.get(want) != n:
                        print("   ", res, flush=True)
                    st("counters")
                    if what.startswith("allowed TCP v4"):
                        c.true(f"half {half}: reload by SIGHUP", reload_sighup())
                    if what.startswith("rejected"):
                        c.expect(f"half {half}: reload by the control socket",
                                 json.loads(lab.ctl("reload").stdout).get("result"), "ok")
                what, host, src, dst, port, kind, n, want = FLOOD
                res = flows(lab, host, src, dst, port, kind, n, 1.0, batch=n)
                c.expect(f"half {half}: {what}: {n} flows {want}", res.get(want), n)
            finally:
                for s in servers:
                    s.kill()
            if half == 1:
                # a corrupt table is refused (the old one stays), a revoking
                # policy is loaded, then the full one again
                with open(lab.table + ".bad", "wb") as f:
                    f.write(b"SEKISHO-not-a-table" * 10)
                os.rename(lab.table + ".bad", lab.table)
                c.expect("corrupt table refused", json.loads(lab.ctl("reload", check=False).stdout).get("result"),
                         "refused")
                os.makedirs(lab.tmp + "/revoke", exist_ok=True)
                lab.compile(gwtest.make_policy(lab.tmp + "/revoke", drop_line='rule "LGWAN-ASP 利用"'), lab.table)
                c.expect("revoking policy loaded", json.loads(lab.ctl("reload").stdout).get("result"), "ok")
                lab.compile(lab.policy, lab.table)
                c.true("full policy back (SIGHUP)", reload_sighup())
            rss.append(vmrss(pid))
            print(f"after half {half}: VmRSS {rss[-1] >> 10} KiB, {time.monotonic() - t0:.0f} s", flush=True)
        status = st("counters")
        c.true("memory bounded: VmRSS growth over the second half <= 16 MiB", rss[1] - rss[0] <= RSS_GROWTH_MAX,
               f"{rss[0] >> 10} -> {rss[1] >> 10} KiB ({(rss[1] - rss[0]) >> 10:+d} KiB)")
        c.expect("no failed reload but the corrupt table", status["reload_failures"], 1)
        c.true("reloads counted (2 per half + 2 between)", status["reloads"] >= 6, status["reloads"])
        c.expect("no audit record dropped", status["audit_dropped"], 0)
        time.sleep(1.5)     # the audit writer's batch
        recs = gwtest.audit_records(lab)
        folded = sum(r["data"].get("folded", 0) for r in recs if r["event"] in ("flow.folded", "flow.summary"))
        dec = [r["data"] for r in recs if r["event"] == "flow.decision"]
        flood = [d for d in dec if d.get("dport") == 9]
        c.true("the denied flood is folded: few full records", len(flood) < 150,
               f"{len(flood)} full records of 600 flows, folded events {folded}")
        caps = [f for f in os.listdir(lab.capture_dir) if f.endswith(".pcap")] if os.path.isdir(lab.capture_dir) else []
        c.true("capture ring wrote refused packets", caps and sum(os.path.getsize(os.path.join(lab.capture_dir, f)) for f in caps) > 24,
               caps)

        # the stop: SIGTERM, clean exit, then the helper fences and exits
        helpers = lab._children(pid)
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=120)
        wait_for(lambda: all(lab._gone(h) for h in helpers), 60)
        lab.daemon_pid = None
        c.expect("daemon exit status after SIGTERM (99: valgrind found errors)", rc, 0)
        print(f"soak done in {time.monotonic() - t0:.0f} s", flush=True)
        vg.check(c, logdir, pid, allowed_fd=helper_socket)
        if c.failures:
            print(open(lab.log, errors="replace").read()[-3000:])
    finally:
        if p and p.poll() is None:
            p.kill()
            p.wait()
        lab.daemon_pid = None
        lab.down()
    c.finish()


if __name__ == "__main__":
    main()
