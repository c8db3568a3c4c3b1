#!/usr/bin/env python3
"""Policy generations in the real lab.

- a reload that keeps a flow loses no packet: a UDP stream (lg-dns ->
  lgwan-wan udp/53, one datagram every 5 ms) across two reloads, every
  datagram echoed;
- a reload that revokes a flow (the LGWAN-ASP rule removed) stops a running
  TCP flow within one second, deletes its conntrack entry, and records the
  revocation; a new flow of the same kind is refused;
- a corrupt table is refused, says why, and the old one stays in force;
- kill -9 of the daemon: fail closed for established flows too.  An
  allowed TCP connection and a UDP flow carry data; after kill -9 the
  daemon's helper fences the bootstrap (generation 0), so data sent on them
  does not reach the far listener, and new flows do not cross either; after
  the restart (a new generation: the old flows are decided again) the same
  TCP connection delivers what it retransmits, the UDP flow carries again,
  and new flows cross;
- a denied flood (300 new UDP flows in well under a second) is aggregated:
  at most a handful of full records, the rest counted in flow.folded."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import Checker, Conn, Server, client, stream, wait_for  # noqa: E402

gwtest.need_root("gateway-reload")
c = Checker()
lab = gwtest.new_lab("r")
servers = []
conns = []


def status():
    return json.loads(lab.ctl("status").stdout)


def parse_stream(out):
    echoes, events = [], []
    for line in out.split("\n"):
        p = line.split()
        if p and p[0] == "echo":
            echoes.append((int(p[1]), float(p[2])))
        elif p:
            events.append(p)
    return echoes, events


try:
    servers += [Server(lab, "lgwan-wan", "198.19.10.10", 53, "udp"),
                Server(lab, "lgwan-wan", "0.0.0.0", 443, log_data=True)]
    gwtest.check_unprivileged(c, lab)
    st0 = status()

    # --- a reload that keeps the flow: no datagram lost
    p = stream(lab, "lgwan", "198.18.20.53", "198.19.10.10", 53, "udp", 0.005, 400)
    time.sleep(0.5)
    r1 = lab.ctl("reload", check=False)
    time.sleep(0.4)
    r2 = lab.ctl("reload", check=False)
    out = p.communicate(timeout=60)[0]
    echoes, _ = parse_stream(out)
    c.expect("reload 1", json.loads(r1.stdout).get("result"), "ok")
    c.expect("reload 2", json.loads(r2.stdout).get("result"), "ok")
    c.expect("kept flow: every datagram echoed across two reloads", len({i for i, _ in echoes}), 400)
    st1 = status()
    c.expect("generation moved by two", st1["table_gen"], st0["table_gen"] + 2)
    c.true("the kept flow was re-decided (rechecked) by the daemon", st1["rechecked"] > st0["rechecked"],
           f"rechecked {st1['rechecked'] - st0['rechecked']}")

    # --- a reload that revokes a running TCP flow
    p = stream(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, "tcp", 0.05, 80)
    time.sleep(1.0)
    revoked_policy = gwtest.make_policy(lab.tmp + "/b" if os.makedirs(lab.tmp + "/b") is None else None,
                                        drop_line='rule "LGWAN-ASP 利用"')
    lab.compile(revoked_policy, lab.table)
    t_reload = time.monotonic()
    rr = lab.ctl("reload", check=False)
    out = p.communicate(timeout=60)[0]
    echoes, events = parse_stream(out)
    c.expect("revoking reload", json.loads(rr.stdout).get("result"), "ok")
    before = [t for _, t in echoes if t < t_reload]
    after = [t for _, t in echoes if t >= t_reload]
    c.true("the flow ran before the reload", len(before) >= 10, f"{len(before)} echoes")
    c.true("no echo later than 1 s after the reload", all(t < t_reload + 1.0 for t in after),
           f"last {max(after) - t_reload:.3f}s after" if after else "none after")
    ct = lab.exec("gw", "conntrack", "-L", "-p", "tcp", "--orig-src", "198.18.20.150", "--orig-port-dst", "443").stdout
    c.true("its conntrack entry is gone (or never established again)", "ESTABLISHED" not in ct, ct.strip()[:300])
    c.expect("a new flow of the revoked kind", client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443), "timeout")
    time.sleep(0.3)
    recs = [r["data"] for r in gwtest.audit_records(lab) if r["event"] == "flow.decision"]
    c.true("audit: the revocation is recorded (recheck, deny)",
           any(d.get("recheck") and d.get("dport") == 443 and d["action"] == "deny" for d in recs))
    st2 = status()
    c.true("counters: revoked and conntrack deletes", st2["revoked"] >= 1 and st2["ct_deletes"] >= 1,
           f"revoked {st2['revoked']} ct_deletes {st2['ct_deletes']}")

    # --- a corrupt table is refused; the old one stays
    with open(lab.table + ".bad", "wb") as f:
        f.write(b"SEKISHO-not-a-table" * 10)
    os.rename(lab.table + ".bad", lab.table)
    rc = lab.ctl("reload", check=False)
    reply = json.loads(rc.stdout)
    c.expect("corrupt table: refused", reply.get("result"), "refused")
    c.true("  with a reason", len(reply.get("why", "")) > 0, reply.get("why"))
    c.expect("  ctl exit status", rc.returncode, 1)
    st3 = status()
    c.expect("  generation unchanged", st3["table_gen"], st2["table_gen"])
    c.expect("  policy unchanged", st3["policy_sha256"], st2["policy_sha256"])
    c.expect("  allowed flow still allowed", client(lab, "lgwan", "198.18.20.53", "198.19.10.10", 53, "udp", timeout=5), "open")
    recs = [r for r in gwtest.audit_records(lab) if r["event"] == "gateway.reload"]
    c.true("  audit: gateway.reload refused", any(r["data"]["result"] == "refused" for r in recs))

    # --- kill -9: fail closed, then resume
    lab.compile(lab.policy, lab.table)
    c.expect("restored policy reload", json.loads(lab.ctl("reload").stdout).get("result"), "ok")
    c.expect("before kill: new flow", client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, timeout=5), "open")
    tcp_srv, udp_srv = servers[1], servers[0]
    tconn = Conn(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, "tcp")
    uconn = Conn(lab, "lgwan", "198.18.20.53", "198.19.10.10", 53, "udp")
    conns += [tconn, uconn]
    for conn, srv, w in ((tconn, tcp_srv, "t-before"), (uconn, udp_srv, "u-before")):
        conn.send(w)
        c.true(f"before kill: {w} arrives and comes back",
               wait_for(lambda: w in srv.data() and w in conn.echoes(), 5))
    c.true("before kill: the bootstrap accepts the daemon's generation",
           f"generation {status()['table_gen']}" in lab.netfilter_status(), lab.netfilter_status())
    lab.kill_daemon()       # returns when the helper has fenced
    c.true("daemon killed: its helper fenced the bootstrap (generation 0)",
           "generation 0 (fenced" in lab.netfilter_status(), lab.netfilter_status())
    tconn.send("t-during")
    uconn.send("u-during")
    c.expect("daemon killed: new allowed flow does not cross", client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443), "timeout")
    c.expect("daemon killed: new UDP flow does not cross", client(lab, "lgwan", "198.18.20.53", "198.19.10.10", 53, "udp"), "timeout")
    time.sleep(1.5)         # TCP retransmits t-during meanwhile (0.2, 0.6, 1.4 s ...)
    c.true("daemon killed: data on the established TCP connection does not arrive",
           "t-during" not in tcp_srv.data(), tcp_srv.data()[-3:])
    c.true("daemon killed: data of the established UDP flow does not arrive",
           "u-during" not in udp_srv.data(), udp_srv.data()[-3:])
    c.true("daemon killed: no echo came back", "t-during" not in tconn.echoes() and "u-during" not in uconn.echoes())
    lab.start_daemon()
    gen_after = status()["table_gen"]
    c.true("daemon back: a new generation in the bootstrap",
           f"generation {gen_after}" in lab.netfilter_status() and gen_after != 0, lab.netfilter_status())
    # TCP retransmission backoff decides when: a few seconds, well within 30
    c.true("daemon back: the same TCP connection delivers what was sent while it was down",
           wait_for(lambda: "t-during" in tcp_srv.data() and "t-during" in tconn.echoes(), 30), tcp_srv.data()[-3:])
    uconn.send("u-after")
    c.true("daemon back: the same UDP flow carries again",
           wait_for(lambda: "u-after" in udp_srv.data() and "u-after" in uconn.echoes(), 5), udp_srv.data()[-3:])
    tconn.send("t-after")
    c.true("daemon back: and the TCP connection goes on",
           wait_for(lambda: "t-after" in tconn.echoes(), 5), tconn.echoes())
    c.expect("daemon back: flows resume", client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, timeout=5), "open")
    c.expect("daemon back: UDP resumes", client(lab, "lgwan", "198.18.20.53", "198.19.10.10", 53, "udp", timeout=5), "open")
    st_back = status()
    c.true("daemon back: the old flows were decided again (rechecked)", st_back["rechecked"] >= 2,
           f"rechecked {st_back['rechecked']}")

    # --- a denied flood is aggregated
    flood = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('198.18.30.60', 0))
for port in range(20000, 20300):
    s.sendto(b'x', ('198.18.40.5', port))
"""
    t0 = time.monotonic()
    lab.exec("internet", sys.executable, "-c", flood, check=True)
    c.true("flood sent within a second", time.monotonic() - t0 < 1.5)
    time.sleep(2.5)    # the aggregator closes its seconds
    recs = gwtest.audit_records(lab)
    full = [r for r in recs if r["event"] == "flow.decision" and r["data"].get("src") == "198.18.30.60"
            and 20000 <= r["data"].get("dport", 0) < 20300]
    folded = sum(r["data"]["folded"] for r in recs if r["event"] == "flow.folded" and r["data"].get("src") == "198.18.30.60")
    c.true("flood: few full records", 1 <= len(full) <= 6, f"{len(full)} full records")
    c.expect("flood: full + folded = every denied flow", len(full) + folded, 300)
    st4 = status()
    c.true("flood: folded counter", st4["folded"] >= folded, st4["folded"])
finally:
    for s in servers:
        s.kill()
    for cn in conns:
        cn.close()
    lab.down()
c.finish()
