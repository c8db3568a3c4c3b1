#!/usr/bin/env python3
"""Allowed and denied flows through the real lab (tools/lab): bootstrap,
backstop and sekisho-gatewayd on the sample policy plus three test rules.

First, without bootstrap and daemon, the plain router forwards flows that
the policy denies: so every "denied" check below can fail.  Then, with the
appliance up, flows are checked from both ends (the far listener records
what arrived): TCP, UDP, ICMP, IPv4 and IPv6, forward, input (to the
appliance) and output (from it); honest reject (TCP RST); My Number
isolation; the mail relay path internet -> self:25 and self -> lgwan:25
while LGWAN <-> Internet direct does not cross; and the audit records of
the decisions (rule file:line, policy hash).  The daemon runs as the
packaged user `sekisho-gw` with exactly CAP_NET_ADMIN (checked)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import Checker, Server, client, ping  # noqa: E402

gwtest.need_root("gateway-flows")
c = Checker()
lab = gwtest.new_lab("f", bootstrap=False)
servers = []
try:
    def serve(host, addr, port, kind="tcp"):
        s = Server(lab, host, addr, port, kind)
        servers.append(s)
        return s

    asp = serve("lgwan-wan", "0.0.0.0", 8080)
    asp443 = serve("lgwan-wan", "0.0.0.0", 443)
    asp8081 = serve("lgwan-wan", "0.0.0.0", 8081)
    chukan = asp443
    vdi = serve("internet", "0.0.0.0", 3389)
    web = serve("internet", "::", 80)
    web6 = serve("internet", "::", 8080)
    echo = serve("internet", "198.18.30.60", 7, "udp")   # replies must come from the address asked
    discard = serve("internet", "198.18.30.60", 9, "udp")
    dns = serve("lgwan-wan", "0.0.0.0", 53, "udp")
    mail = serve("lgwan", "::", 25)           # v4 and v6 (dual-stack socket)
    mgmt22 = serve("mgmt", "0.0.0.0", 22)
    relay = serve("gw", "::", 25)             # the appliance's own relay port
    mn443 = serve("mynumber", "0.0.0.0", 443)

    # --- without the appliance's ruleset the plain router forwards everything
    c.expect("no gateway: lgwan client -> lgwan-wan tcp/8080", client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 8080, timeout=5), "open")
    c.expect("no gateway: internet -> mgmt tcp/22", client(lab, "internet", "198.18.30.60", "198.18.40.5", 22, timeout=5), "open")
    c.expect("no gateway: mgmt v6 -> internet tcp/8080", client(lab, "mgmt", "2001:db8:40::5", "2001:db8:30::60", 8080, timeout=4), "open")
    c.expect("no gateway: internet -> mgmt ping", ping(lab, "internet", "198.18.40.5"), "open")
    c.expect("no gateway: mynumber -> lgwan tcp/25", client(lab, "mynumber", "198.18.10.130", "198.18.20.25", 25, timeout=5), "open")

    # --- the appliance: bootstrap (with backstop), then the daemon
    lab.bootstrap()
    c.expect("bootstrap, no daemon yet: allowed flow does not cross (fail closed)",
             client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443), "timeout")
    lab.start_daemon()
    gwtest.check_unprivileged(c, lab)
    for s in servers:
        s.seen()
    before = {id(s): len(s.seen()) for s in servers}

    def arrived(s, src):
        return src in s.seen()[before[id(s)]:]

    # allowed, and the far end saw the real source address
    cases = [
        ("lgwan client -> vdi tcp/3389 (screen relay)", "lgwan", "198.18.20.150", "198.18.30.50", 3389, "tcp", vdi),
        ("lgwan client -> LGWAN-ASP tcp/443", "lgwan", "198.18.20.150", "198.19.100.10", 443, "tcp", asp443),
        ("togo-atena -> chukan tcp/443 (the My Number exception)", "mynumber", "198.18.10.20", "198.19.10.10", 443, "tcp", chukan),
        ("internet -> self tcp/25 (mail relay in)", "internet", "198.18.30.60", "198.18.30.1", 25, "tcp", relay),
        ("self -> lg-mail tcp/25 (relay delivers)", "gw", "198.18.20.1", "198.18.20.25", 25, "tcp", mail),
        ("self -> lg-mail IPv6 tcp/25", "gw", "2001:db8:20::1", "2001:db8:20::25", 25, "tcp", mail),
        ("lg-mail IPv6 -> self tcp/25 (outgoing mail)", "lgwan", "2001:db8:20::25", "2001:db8:20::1", 25, "tcp", relay),
        ("mgmt v6 -> test-web6 tcp/80 (IPv6 forward)", "mgmt", "2001:db8:40::5", "2001:db8:30::60", 80, "tcp", web),
        ("mgmt -> internet udp/7", "mgmt", "198.18.40.5", "198.18.30.60", 7, "udp", echo),
        ("lg-dns -> lgwan-wan udp/53", "lgwan", "198.18.20.53", "198.19.10.10", 53, "udp", dns),
    ]
    for what, host, src, dst, port, kind, srv in cases:
        got = client(lab, host, src, dst, port, kind, timeout=5)
        c.expect(what, got, "open")
        seen = srv.seen()[before[id(srv)]:]
        c.true(f"  far end saw {src}", src in seen or ("::ffff:" + src) in seen, seen[-3:])
    c.expect("mgmt -> internet ping (ICMP echo)", ping(lab, "mgmt", "198.18.30.60"), "open")

    # denied by the daemon (these pairs are not covered by the backstop)
    denied = [
        ("lgwan client -> lgwan-wan tcp/8080 (default deny)", "lgwan", "198.18.20.150", "198.19.100.10", 8080, "tcp", asp),
        ("lg-mail (not a client) -> LGWAN-ASP tcp/443", "lgwan", "198.18.20.25", "198.19.100.10", 443, "tcp", asp443),
        ("internet -> mgmt tcp/22", "internet", "198.18.30.60", "198.18.40.5", 22, "tcp", mgmt22),
        ("mgmt v6 -> internet tcp/8080", "mgmt", "2001:db8:40::5", "2001:db8:30::60", 8080, "tcp", web6),
        ("mgmt -> internet udp/9", "mgmt", "198.18.40.5", "198.18.30.60", 9, "udp", discard),
    ]
    for what, host, src, dst, port, kind, srv in denied:
        c.expect(what, client(lab, host, src, dst, port, kind), "timeout")
        c.true(f"  far end saw nothing from {src}", not arrived(srv, src) and not arrived(srv, "::ffff:" + src))
    c.expect("internet -> mgmt ping", ping(lab, "internet", "198.18.40.5"), "timeout")
    c.expect("mgmt v6 -> internet ping6 (echo allowed for admin-pcs v4 only)", ping(lab, "mgmt", "2001:db8:30::60"), "timeout")
    c.expect("internet -> self tcp/22", client(lab, "internet", "198.18.30.60", "198.18.30.1", 22), "timeout")

    # honest reject: a TCP RST comes back at once
    c.expect("lgwan client -> LGWAN-ASP tcp/8081 (reject rule)", client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 8081, timeout=3), "refused")
    c.true("  far end saw nothing", not arrived(asp8081, "198.18.20.150"))

    # three-tier separation
    c.expect("LGWAN -> Internet direct tcp/80", client(lab, "lgwan", "198.18.20.150", "198.18.30.60", 80), "timeout")
    c.expect("Internet -> LGWAN mail direct tcp/25", client(lab, "internet", "198.18.30.60", "198.18.20.25", 25), "timeout")
    c.expect("My Number -> LGWAN tcp/25", client(lab, "mynumber", "198.18.10.130", "198.18.20.25", 25), "timeout")
    c.expect("My Number -> Internet tcp/80", client(lab, "mynumber", "198.18.10.130", "198.18.30.60", 80), "timeout")
    c.expect("LGWAN -> My Number tcp/443", client(lab, "lgwan", "198.18.20.150", "198.18.10.30", 443), "timeout")
    c.true("  My Number server saw nothing", not arrived(mn443, "198.18.20.150"))

    # an allowed flow carries on at kernel speed: many round trips, one decision
    st0 = __import__("json").loads(lab.ctl("status").stdout)
    p = gwtest.stream(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, "tcp", 0.01, 50)
    out = p.communicate(timeout=30)[0].split("\n")
    st1 = __import__("json").loads(lab.ctl("status").stdout)
    c.expect("established flow: 50 echoes", sum(1 for x in out if x.startswith("echo")), 50)
    c.true("  decided once in userspace", st1["packets"] - st0["packets"] <= 2,
           f"{st1['packets'] - st0['packets']} packets queued")

    # audit: one record per decision, with rule file:line and policy hash
    import time
    time.sleep(0.5)
    recs = [r["data"] for r in gwtest.audit_records(lab) if r["event"] == "flow.decision"]
    st = __import__("json").loads(lab.ctl("status").stdout)

    def find(**kw):
        return [d for d in recs if all(d.get(k) == v for k, v in kw.items())]

    a = find(src="198.18.20.150", dst="198.19.100.10", dport=443, action="allow")
    c.true("audit: allow record for lgwan client -> ASP 443", len(a) >= 1)
    if a:
        c.true("  rule_at is file:line", a[0].get("rule_at", "").endswith("municipality.policy:37"), a[0].get("rule_at"))
        c.expect("  policy_sha256", a[0].get("policy_sha256"), st["policy_sha256"])
        c.expect("  zones", (a[0].get("from_zone"), a[0].get("to_zone"), a[0].get("in_if"), a[0].get("out_if")),
                 ("lgwan", "lgwan-wan", "eth2", "eth5"))
    d = find(src="198.18.30.60", dst="198.18.40.5", dport=22)
    c.true("audit: deny record internet -> mgmt 22 (default, rule 0)", len(d) >= 1 and d[0]["action"] == "deny" and d[0]["rule_id"] == 0)
    rj = find(src="198.18.20.150", dport=8081)
    c.true("audit: reject record with the rule", len(rj) >= 1 and rj[0]["action"] == "reject" and rj[0]["rule_id"] > 0)
    ic = find(src="198.18.40.5", proto="icmp", action="allow")
    c.true("audit: icmp echo allow with type/code", len(ic) >= 1 and ic[0].get("icmp_type") == 8)
    out6 = find(src="2001:db8:20::1", dst="2001:db8:20::25", dport=25)
    c.true("audit: output hook, from zone self", len(out6) >= 1 and out6[0]["from_zone"] == "self" and out6[0]["hook"] == "output")
    c.expect("daemon counted no parse errors", st["parse_errors"], 0)
finally:
    for s in servers:
        s.kill()
    lab.down()
c.finish()
