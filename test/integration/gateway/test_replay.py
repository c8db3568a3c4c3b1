#!/usr/bin/env python3
"""Replay of a capture gives the same verdicts as the live run, and the
daemon runs unprivileged.

The lab runs the daemon as the packaged user `sekisho-gw` with
CAP_NET_ADMIN only (checked in /proc/PID/status) and with its pcap ring of refused packets.  tcpdump, an
independent capture, records everything on the gateway's interfaces while
allowed, rejected and denied flows (TCP, UDP, ICMP, IPv4, IPv6, forward,
input, output) cross or reach it.  A reload must still work (the privileged
helper switches the generation).  Then sekisho-replay evaluates the capture
against the same table, and for every flow the test made, its verdict,
rule and zones equal the daemon's audit record; every flow that both saw
agrees on the action.  The daemon's own capture replays to refusals only."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import Checker, Server, client, ping  # noqa: E402

gwtest.need_root("gateway-replay")
c = Checker()
lab = gwtest.new_lab("y", capture=True)
tmp = lab.tmp
servers = []
cap = os.path.join(tmp, "lab.pcap")
tcpdump = None

# address -> zone map for the replay: the segments of the lab, the
# gateway's own addresses as self, multicast as self
NETS = ["198.18.10.0/24=mynumber", "2001:db8:10::/48=mynumber", "198.18.20.0/24=lgwan", "2001:db8:20::/48=lgwan",
        "198.18.30.0/24=internet", "198.18.31.0/24=internet", "2001:db8:30::/48=internet",
        "198.18.40.0/24=mgmt", "2001:db8:40::/48=mgmt", "198.19.0.0/16=lgwan-wan", "2001:db8:50::/48=lgwan-wan",
        "ff00::/8=self", "224.0.0.0/4=self"]
for seg, (_, gaddrs, _) in gwtest.labmod.SEGMENTS.items():
    NETS += [a.split("/")[0] + "=self" for a in gaddrs]


def key(r):
    if r.get("icmp_type") is not None:
        return (r["proto"], r["src"], r["dst"], r["icmp_type"])
    return (r["proto"], r["src"], r.get("sport"), r["dst"], r.get("dport"))


try:
    gwtest.check_unprivileged(c, lab)

    tcpdump = subprocess.Popen(["ip", "netns", "exec", lab.ns("gw"), "tcpdump", "-i", "any", "-s", "256", "-U",
                                "-Z", "root", "-w", cap], stderr=subprocess.PIPE, text=True)
    line = ""
    for _ in range(5):
        line = tcpdump.stderr.readline()
        if "listening" in line or not line:
            break
    c.true("tcpdump started", "listening" in line, line.strip())
    time.sleep(0.3)

    servers += [Server(lab, "lgwan-wan", "0.0.0.0", 443), Server(lab, "internet", "0.0.0.0", 3389),
                Server(lab, "internet", "198.18.30.50", 7, "udp"), Server(lab, "internet", "::", 80),
                Server(lab, "lgwan", "198.18.20.53", 53, "udp")]
    made = []   # (key, expected action) of the flows this test makes
    got = client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, timeout=5)
    c.expect("allowed tcp lgwan -> lgwan-wan", got, "open")
    made.append((("tcp", "198.18.20.150", None, "198.19.100.10", 443), "allow"))
    c.expect("allowed tcp lgwan -> vdi (screen)", client(lab, "lgwan", "198.18.20.150", "198.18.30.50", 3389, timeout=5), "open")
    made.append((("tcp", "198.18.20.150", None, "198.18.30.50", 3389), "allow"))
    c.expect("rejected tcp lgwan -> lgwan-wan", client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 8081), "refused")
    made.append((("tcp", "198.18.20.150", None, "198.19.100.10", 8081), "reject"))
    # (denied flows the backstop does not drop first: zone defaults)
    c.expect("denied tcp internet -> mgmt", client(lab, "internet", "198.18.30.50", "198.18.40.5", 22, timeout=0.5),
             "timeout")
    made.append((("tcp", "198.18.30.50", None, "198.18.40.5", 22), "deny"))
    denied_at = time.time()
    c.expect("allowed udp mgmt -> internet", client(lab, "mgmt", "198.18.40.5", "198.18.30.50", 7, "udp", timeout=5), "open")
    made.append((("udp", "198.18.40.5", None, "198.18.30.50", 7), "allow"))
    c.expect("allowed tcp v6 mgmt -> internet", client(lab, "mgmt", "2001:db8:40::5", "2001:db8:30::60", 80, timeout=5), "open")
    made.append((("tcp", "2001:db8:40::5", None, "2001:db8:30::60", 80), "allow"))
    c.expect("allowed ping mgmt -> internet", ping(lab, "mgmt", "198.18.30.50"), "open")
    made.append((("icmp", "198.18.40.5", "198.18.30.50", 8), "allow"))
    # the same source, rule and action in the same wall-clock second would
    # be folded into one record (docs/gateway.md): the denied ping must be
    # recorded in full, so it waits for the next second on a fast machine
    while int(time.time()) <= int(denied_at):
        time.sleep(0.05)
    c.expect("denied ping internet -> mgmt", ping(lab, "internet", "198.18.40.5"), "timeout")
    made.append((("icmp", "198.18.30.50", "198.18.40.5", 8), "deny"))
    client(lab, "mgmt", "198.18.40.5", "198.18.40.1", 22, timeout=0.5)      # input, allowed (no listener)
    made.append((("tcp", "198.18.40.5", None, "198.18.40.1", 22), "allow"))
    c.expect("output udp self -> lg-dns", client(lab, "gw", "198.18.20.1", "198.18.20.53", 53, "udp", timeout=5), "open")
    made.append((("udp", "198.18.20.1", None, "198.18.20.53", 53), "allow"))

    # a reload as the unprivileged daemon (the helper switches the generation)
    r = json.loads(lab.ctl("reload", check=False).stdout or "{}")
    c.expect("reload while unprivileged", r.get("result"), "ok")
    c.expect("allowed again after reload",
             client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, timeout=5), "open")
    gen = gwtest.sh("ip", "netns", "exec", lab.ns("gw"), lab.netfilter, "status", check=False).stdout
    c.true("bootstrap on the new generation", f"generation {r.get('table_gen')}" in gen, gen.strip())
    time.sleep(1.2)   # fold summaries and audit flush
    tcpdump.send_signal(signal.SIGINT)
    tcpdump.wait(timeout=10)
    tcpdump = None

    live = {}
    for rec in gwtest.audit_records(lab):
        if rec.get("event") == "flow.decision" and not rec["data"].get("recheck"):
            live.setdefault(key(rec["data"]), rec["data"])
    rp = subprocess.run([lab.replay, "--json", "--keep-outgoing", "--table", lab.table]
                        + [a for n in NETS for a in ("--net", n)] + [cap], capture_output=True, text=True)
    c.expect("replay exit status", rp.returncode, 0)
    lines = [json.loads(x) for x in rp.stdout.splitlines() if x.strip()]
    summary = lines[-1] if lines and lines[-1].get("summary") else {}
    replayed = {}
    for rec in lines:
        if not rec.get("summary"):
            replayed.setdefault(key(rec), rec)

    def find(table, k):
        # client source ports are ephemeral: match TCP/UDP on the other fields
        if len(k) == 5 and k[2] is None:
            for kk, v in table.items():
                if len(kk) == 5 and kk[0] == k[0] and kk[1] == k[1] and kk[3] == k[3] and kk[4] == k[4]:
                    return v
            return None
        return table.get(k)

    for k, want in made:
        lv, rv = find(live, k), find(replayed, k)
        what = " ".join(str(x) for x in k if x is not None)
        if not c.true(f"{what}: in the audit log and in the replay", lv is not None and rv is not None):
            continue
        c.expect(f"{what}: live action", lv["action"], want)
        c.expect(f"{what}: replay = live (action, rule, zones)",
                 (rv["action"], rv["rule_id"], rv["from_zone"], rv["to_zone"]),
                 (lv["action"], lv["rule_id"], lv["from_zone"], lv["to_zone"]))
    both = [k for k in live if k in replayed]
    differ = [k for k in both if live[k]["action"] != replayed[k]["action"]]
    c.true(f"every flow both saw ({len(both)}) has the same action", not differ, differ[:5])
    c.true("replay summary", summary.get("flows", 0) >= len(made) and not summary.get("truncated"), summary)

    # the daemon's own capture: refused packets only, readable, replayed as refusals
    files = sorted(glob.glob(os.path.join(lab.capture_dir, "denied-q*.pcap")))
    c.true("capture ring files", 0 < len(files) <= 2 * 4, files)
    refused = []
    for f in files:
        r2 = subprocess.run([lab.replay, "--json", "--table", lab.table] + [a for n in NETS for a in ("--net", n)]
                            + [f], capture_output=True, text=True)
        c.expect(f"replay {os.path.basename(f)}", r2.returncode, 0)
        refused += [json.loads(x) for x in r2.stdout.splitlines() if x.strip() and "summary" not in x]
    c.true("captured packets are refusals", refused and all(x["action"] != "allow" for x in refused),
           [x["action"] for x in refused][:10])
    c.true("the rejected and the denied flow are in the capture",
           find({key(x): x for x in refused}, ("tcp", "198.18.20.150", None, "198.19.100.10", 8081)) is not None
           and find({key(x): x for x in refused}, ("tcp", "198.18.30.50", None, "198.18.40.5", 22)) is not None)
    # hostile input: a truncated capture is reported, not crashed on
    with open(cap, "rb") as f:
        data = f.read()
    with open(cap + ".cut", "wb") as f:
        f.write(data[:len(data) - 5])
    r3 = subprocess.run([lab.replay, "--table", lab.table, cap + ".cut"], capture_output=True, text=True)
    c.expect("truncated capture: exit 1", r3.returncode, 1)
finally:
    if tcpdump:
        tcpdump.kill()
        tcpdump.wait()
    for s in servers:
        s.kill()
    lab.down()
c.finish()
