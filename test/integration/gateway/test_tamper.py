#!/usr/bin/env python3
"""The host's own tools touch netfilter: the box stays closed, and comes back.

For each event run in the gateway namespace while traffic crosses it --
`nft flush ruleset`; Debian's stock /etc/nftables.conf loaded as `systemctl
restart nftables` does (`nft -f`); each of sekisho's tables deleted; in the
xt backend `iptables -F`, `-X` (refused by the kernel while our chains are
referenced, so also `-F` then `-X`), `-P FORWARD ACCEPT`, the same with
ip6tables, and `-F` with `-P FORWARD ACCEPT` together; the egress gate's
qdisc deleted --

- a flood of denied UDP (>= 10,000 packets/s over IPv4 and IPv6, from every
  segment to every other one: each ordered pair of the five zones, which the
  sample policy denies for this port) runs through the event, and an
  independent counter on every receiving host (a packet socket on its link)
  sees 0 of its packets, before, during and after;
- an allowed TCP stream (lgwan client -> LGWAN-ASP https, one line every
  20 ms) runs through it; every line comes back in the end, and the longest
  pause is measured (events that remove our rules pause it until the repair;
  TCP retransmits what was dropped);
- the gateway's audit chain holds netfilter.tamper (what changed, the
  process) and netfilter.repair (ok) for it; detection time (command
  started -> judged a tamper) and repair time are printed and written to
  $SEKISHO_TAMPER_RESULTS (JSON) when set.

SEKISHO_TAMPER_GATE=off runs the same without the egress gate (the
bootstrap's SEKISHO_NF_GATE=off): the denied flood then arrives on the far
side in the window between an event and its detection, and the test fails.
SEKISHO_TAMPER_WATCH=off runs it without detection and repair (the
daemon's --no-watch): the gate alone keeps the flood out, and the allowed
stream never comes back (the test fails on that).
SEKISHO_TAMPER_EVENTS=name,name selects events (by their short names)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import FLOOD_RECEIVER, FLOOD_SENDER, Checker, Server, stream  # noqa: E402

gwtest.need_root("gateway-tamper")

GATE = os.environ.get("SEKISHO_TAMPER_GATE", "on")
WATCH = os.environ.get("SEKISHO_TAMPER_WATCH", "on")
os.environ["SEKISHO_NF_GATE"] = GATE      # the lab's bootstrap and the daemon's helper inherit it
FLOOD_PORT = 9999
FLOOD_SECONDS = 3.0
EVENT_AT = 1.0                            # seconds into the flood
RATE_PER_SENDER = 2400                    # x 5 senders = 12,000 packets/s

# Debian 12's /etc/nftables.conf, as shipped (what "systemctl restart
# nftables" loads with nft -f)
DEBIAN_NFTABLES_CONF = """#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
"""

# one address per family in every segment (tools/lab SEGMENTS)
HOSTS = {
    "mynumber": ("198.18.10.20", "2001:db8:10::20"),
    "lgwan": ("198.18.20.150", "2001:db8:20:80::150"),
    "internet": ("198.18.30.60", "2001:db8:30::60"),
    "mgmt": ("198.18.40.5", "2001:db8:40::5"),
    "lgwan-wan": ("198.19.10.10", "2001:db8:50::10"),
}

def audit(lab, event):
    return [r for r in gwtest.audit_records(lab) if r["event"] == event]


def start_receivers(lab):
    out = {}
    for seg in HOSTS:
        p = subprocess.Popen(["ip", "netns", "exec", lab.ns(seg), sys.executable, "-c", FLOOD_RECEIVER, "eth0", str(FLOOD_PORT)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        out[seg] = p
    return out


def stop_receivers(recv):
    total, by_seg = 0, {}
    for seg, p in recv.items():
        p.stdin.close()
        line = p.stdout.read().strip().split("\n")[-1]
        p.wait(timeout=10)
        counts = eval(line.split(" ", 1)[1]) if line.startswith("counts") else {"?": -1}  # noqa: S307 (our own output)
        by_seg[seg] = counts
        total += sum(counts.values())
    return total, by_seg


def start_senders(lab):
    ps = []
    for seg, (v4, v6) in HOSTS.items():
        pairs = []
        for other, (o4, o6) in HOSTS.items():
            if other != seg:
                pairs += [f"{v4}>{o4}", f"{v6}>{o6}"]
        ps.append(subprocess.Popen(["ip", "netns", "exec", lab.ns(seg), sys.executable, "-c", FLOOD_SENDER, str(FLOOD_PORT),
                                    str(RATE_PER_SENDER), str(FLOOD_SECONDS)] + pairs,
                                   stdout=subprocess.PIPE, text=True))
    return ps


def wait_senders(ps):
    sent, rate = 0, 0.0
    for p in ps:
        parts = p.communicate(timeout=60)[0].split()
        if len(parts) == 3 and parts[0] == "sent":
            sent += int(parts[1])
            rate += int(parts[1]) / float(parts[2])
    return sent, rate


def gw(lab, *cmd, stdin=None):
    return subprocess.run(["ip", "netns", "exec", lab.ns("gw")] + list(cmd), input=stdin, capture_output=True,
                          text=True)


def events(lab, mode):
    """(short name, what, commands); each command a list, or (list, stdin)."""
    ev = [
        ("flush", "nft flush ruleset", [["nft", "flush", "ruleset"]]),
        ("nftables.conf", "systemctl restart nftables (Debian's /etc/nftables.conf)",
         [(["nft", "-f", "-"], DEBIAN_NFTABLES_CONF)]),
        ("del-backstop", "nft delete table inet sekisho_backstop",
         [["nft", "delete", "table", "inet", "sekisho_backstop"]]),
    ]
    if mode == "nft":
        ev.append(("del-sekisho", "nft delete table inet sekisho", [["nft", "delete", "table", "inet", "sekisho"]]))
    else:
        ev += [
            ("del-ip-filter", "nft delete table ip filter", [["nft", "delete", "table", "ip", "filter"]]),
            ("del-ip6-filter", "nft delete table ip6 filter", [["nft", "delete", "table", "ip6", "filter"]]),
        ]
        for t in ("iptables", "ip6tables"):
            ev += [
                (f"{t}-F", f"{t} -F", [[t, "-F"]]),
                (f"{t}-X", f"{t} -X (refused: our chains are referenced)", [[t, "-X"]]),
                (f"{t}-F-X", f"{t} -F; {t} -X", [[t, "-F"], [t, "-X"]]),
                (f"{t}-P", f"{t} -P FORWARD ACCEPT", [[t, "-P", "FORWARD", "ACCEPT"]]),
                (f"{t}-F-P", f"{t} -F; {t} -P FORWARD ACCEPT", [[t, "-F"], [t, "-P", "FORWARD", "ACCEPT"]]),
            ]
    if GATE != "off":
        ev.append(("del-gate", "tc qdisc del dev eth2 clsact (the egress gate itself)",
                   [["tc", "qdisc", "del", "dev", "eth2", "clsact"]]))
    want = os.environ.get("SEKISHO_TAMPER_EVENTS")
    if want:
        ev = [e for e in ev if e[0] in want.split(",")]
    return ev


def stream_gaps(out, t_cmd):
    """Echo times of the stream; (lines echoed, longest pause after t_cmd - 0.2 s)."""
    times, nums = [], set()
    for line in out.split("\n"):
        p = line.split()
        if p and p[0] == "echo":
            nums.add(int(p[1]))
            times.append(float(p[2]))
    times.sort()
    gap, prev = 0.0, None
    for t in times:
        if prev is not None and t > t_cmd - 0.2:
            gap = max(gap, t - prev)
        prev = t
    return nums, gap, times


c = Checker()
lab = gwtest.new_lab("t", watch=WATCH != "off")
servers = []
results = []
try:
    servers.append(Server(lab, "lgwan-wan", "0.0.0.0", 443))
    gwtest.check_unprivileged(c, lab)
    mode = lab.netfilter_status().split()[1]
    c.true("the bootstrap is installed", mode in ("xt", "nft"), lab.netfilter_status())
    if GATE != "off":
        c.true("the egress gate is on every interface", "egress gate on 5 interface(s)" in lab.netfilter_status(),
               lab.netfilter_status())
    st = json.loads(lab.ctl("status").stdout)
    c.true("the daemon watches netfilter", st["netfilter"]["watch"] == (WATCH != "off"), st["netfilter"])

    # the flood alone, before any event: nothing of it crosses (the policy
    # denies every pair); the stream runs
    recv = start_receivers(lab)
    sent, rate = wait_senders(start_senders(lab))
    got, by = stop_receivers(recv)
    c.expect(f"baseline: denied flood ({sent} packets, {rate:.0f}/s) arriving anywhere", got, 0)
    c.true("baseline: the flood ran at >= 10,000 packets/s", rate >= 10000, f"{rate:.0f}/s")

    for short, what, cmds in events(lab, mode):
        n_tamper = len(audit(lab, "netfilter.tamper"))
        n_repair = len(audit(lab, "netfilter.repair"))
        recv = start_receivers(lab)
        t_start = time.monotonic()
        senders = start_senders(lab)
        sp = stream(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, "tcp", 0.02, int((FLOOD_SECONDS + 1) / 0.02))
        time.sleep(max(0.0, t_start + EVENT_AT - time.monotonic()))
        t_cmd = time.monotonic()
        rcs = []
        for cmd in cmds:
            cmd, stdin = cmd if isinstance(cmd, tuple) else (cmd, None)
            rcs.append(gw(lab, *cmd, stdin=stdin).returncode)
        sent, rate = wait_senders(senders)
        out = sp.communicate(timeout=60)[0]
        time.sleep(0.3)
        got, by = stop_receivers(recv)
        nums, gap, times = stream_gaps(out, t_cmd)
        count = int((FLOOD_SECONDS + 1) / 0.02)
        tam = audit(lab, "netfilter.tamper")[n_tamper:]
        rep = audit(lab, "netfilter.repair")[n_repair:]
        changed = not all(rc != 0 for rc in rcs)     # a refused command changes nothing
        r = {"event": short, "what": what, "rc": rcs, "flood_sent": sent, "flood_rate": round(rate),
             "arrived": got, "stream_lines": len(nums), "stream_pause_ms": round(gap * 1000)}
        print(f"--- {what}: exit {rcs}; flood {sent} packets at {rate:.0f}/s, arrived {got}; "
              f"stream {len(nums)}/{count} lines back, longest pause {gap * 1000:.0f} ms", flush=True)
        c.expect(f"{short}: denied flood packets arriving on the far side", got, 0)
        if got:
            print("    arrived:", by, flush=True)
        c.true(f"{short}: the flood ran at >= 10,000 packets/s", rate >= 10000, f"{rate:.0f}/s")
        c.expect(f"{short}: every line of the allowed stream came back", len(nums), count)
        c.true(f"{short}: the stream runs after the event", any(t > t_cmd + 1.5 for t in times),
               f"last echo {max(times) - t_cmd:.2f} s after" if times else "no echo")
        if changed:
            c.true(f"{short}: netfilter.tamper recorded", len(tam) >= 1, [t["data"]["what"] for t in tam])
            c.true(f"{short}: netfilter.repair ok recorded", any(x["data"]["result"] == "ok" for x in rep),
                   [x["data"] for x in rep])
            if tam:
                d = tam[0]["data"]
                det = (d["detected_mono_ns"] / 1e9 - t_cmd) * 1000
                r.update({"tamper": d["what"], "pid": d["pid"], "comm": d["comm"], "detect_ms": round(det, 1),
                          "forwarding_closed": d["forwarding_closed"]})
                c.true(f"{short}: the tamper names the change and the process", d["what"] != "" and
                       (d["pid"] is not None or "tc:" in d["what"]), f"{d['what']} (pid {d['pid']} {d['comm']})")
                c.true(f"{short}: forwarding was closed at once", d["forwarding_closed"], d)
            if rep:
                r["repair_ms"] = round(rep[-1]["data"]["repair_us"] / 1000, 1)
            print(f"    tamper: {r.get('tamper')} by {r.get('comm')} pid {r.get('pid')}; "
                  f"detected {r.get('detect_ms')} ms after the command started; repaired in {r.get('repair_ms')} ms",
                  flush=True)
        else:
            c.expect(f"{short}: refused by the kernel, nothing to repair", len(tam), 0)
        stat = lab.netfilter_status()
        c.true(f"{short}: the bootstrap is back (generation, gate)",
               f"generation {json.loads(lab.ctl('status').stdout)['table_gen']};" in stat and
               (GATE == "off" or "egress gate on 5 interface(s)" in stat), stat)
        c.expect(f"{short}: forwarding reopened", gw(lab, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip(), "1")
        results.append(r)

    st = json.loads(lab.ctl("status").stdout)["netfilter"]
    c.true("status: tampers and repairs counted", st["tampers"] >= 1 and st["repairs"] == st["tampers"]
           and not st["forwarding_closed"], st)
    ok = subprocess.run([os.path.join(lab.build, "tools", "logexport", "sekisho-logexport"), "verify", "--key",
                         lab.audit_key, lab.audit_dir], capture_output=True, text=True) \
        if os.path.exists(os.path.join(lab.build, "tools", "logexport", "sekisho-logexport")) else None
    if ok is not None:
        c.expect("the audit chain verifies", ok.returncode, 0)
    if os.environ.get("SEKISHO_TAMPER_RESULTS"):
        with open(os.environ["SEKISHO_TAMPER_RESULTS"], "w") as f:
            json.dump({"gate": GATE, "mode": mode, "events": results}, f, indent=1)
finally:
    for s in servers:
        s.kill()
    lab.down()
c.finish()
