#!/usr/bin/env python3
"""The emit-nft backstop in a real kernel: build a gateway namespace with an
LGWAN side (eth2) and an Internet side (eth3), load ONLY the backstop that
sekisho-rulec emits for the sample policy (no daemon), and check from both
ends with real TCP connections and listeners what crosses:

- LGWAN client -> Internet host tcp/80: dropped (no direct path)
- LGWAN client -> the virtual-browser server tcp/3389: passes (declared relay)
- LGWAN client -> the virtual-browser server tcp/80: dropped (not a relay service)
- Internet host -> LGWAN mail server tcp/25: dropped (mail goes through the relay on self)
- IPv6 LGWAN client -> Internet host tcp/80: dropped
- Internet host -> Internet-side address of the gateway tcp/22: dropped (input hook)
- IPv6 neighbour discovery between the gateway and the LGWAN side still works
- with the backstop removed, the same direct path opens: the test can fail.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import Lab, connect, listen, need_root, sh  # noqa: E402

need_root("backstop_test")
rulec = sys.argv[1]
policy = os.path.join(os.environ.get("SEKISHO_SOURCE_ROOT", "."), "rules/examples/municipality.policy")
nft_text = subprocess.run([rulec, "--no-color", "emit-nft", policy], capture_output=True, text=True,
                          env=dict(os.environ, SEKISHO_TODAY="2026-11-22"))
if nft_text.returncode != 0:
    print(nft_text.stderr)
    sys.exit(1)

failures = 0


def expect(what, got, want):
    global failures
    ok = got == want
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {got} (want {want})")


lab = Lab("bs")
try:
    gw, lg, inet = lab.ns("gw"), lab.ns("lg"), lab.ns("inet")
    lab.link(gw, "eth2", lg, "eth0")
    lab.link(gw, "eth3", inet, "eth0")
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=gw)
    sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", ns=gw)
    sh("ip", "addr", "add", "198.18.20.1/24", "dev", "eth2", ns=gw)
    sh("ip", "addr", "add", "198.18.30.1/24", "dev", "eth3", ns=gw)
    sh("ip", "-6", "addr", "add", "2001:db8:20::1/48", "dev", "eth2", "nodad", ns=gw)
    sh("ip", "-6", "addr", "add", "2001:db8:30::1/48", "dev", "eth3", "nodad", ns=gw)
    sh("ip", "addr", "add", "198.18.20.150/24", "dev", "eth0", ns=lg)
    sh("ip", "addr", "add", "198.18.20.25/24", "dev", "eth0", ns=lg)
    sh("ip", "-6", "addr", "add", "2001:db8:20:80::150/48", "dev", "eth0", "nodad", ns=lg)
    sh("ip", "route", "add", "default", "via", "198.18.20.1", ns=lg)
    sh("ip", "-6", "route", "add", "default", "via", "2001:db8:20::1", ns=lg)
    sh("ip", "addr", "add", "198.18.30.50/24", "dev", "eth0", ns=inet)
    sh("ip", "addr", "add", "198.18.30.60/24", "dev", "eth0", ns=inet)
    sh("ip", "-6", "addr", "add", "2001:db8:30::60/48", "dev", "eth0", "nodad", ns=inet)
    sh("ip", "route", "add", "default", "via", "198.18.30.1", ns=inet)
    sh("ip", "-6", "route", "add", "default", "via", "2001:db8:30::1", ns=inet)

    listeners = [listen(inet, "198.18.30.60", 80), listen(inet, "198.18.30.50", 3389),
                 listen(inet, "198.18.30.50", 80), listen(lg, "198.18.20.25", 25),
                 listen(inet, "2001:db8:30::60", 80), listen(gw, "198.18.30.1", 22)]

    # Without the backstop the plain router forwards everything: proves the
    # checks below can fail.
    expect("no backstop: lgwan -> internet tcp/80", connect(lg, "198.18.30.60", 80), "open")

    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
        f.write(nft_text.stdout)
    r = sh("nft", "-f", f.name, ns=gw, check=False)
    if r.returncode != 0:
        print("nft -f failed:", r.stderr)
        failures += 1
    # reload: applying the same file again must work (atomic replace)
    r = sh("nft", "-f", f.name, ns=gw, check=False)
    expect("backstop reloads in place", r.returncode, 0)
    os.unlink(f.name)

    expect("lgwan -> internet tcp/80 (direct)", connect(lg, "198.18.30.60", 80), "timeout")
    expect("lgwan -> vdi-server tcp/3389 (relay)", connect(lg, "198.18.30.50", 3389), "open")
    expect("lgwan -> vdi-server tcp/80 (not a relay service)", connect(lg, "198.18.30.50", 80), "timeout")
    expect("internet -> lgwan mail tcp/25 (direct)", connect(inet, "198.18.20.25", 25), "timeout")
    expect("lgwan -> internet IPv6 tcp/80", connect(lg, "2001:db8:30::60", 80), "timeout")
    expect("internet -> appliance tcp/22 (input)", connect(inet, "198.18.30.1", 22), "timeout")
    # IPv6 neighbour discovery between the appliance and a guarded segment
    # must keep working under the backstop (fresh neighbour caches first)
    sh("ip", "-6", "neigh", "flush", "all", ns=gw)
    sh("ip", "-6", "neigh", "flush", "all", ns=lg)
    r = sh("ping", "-6", "-c", "1", "-W", "2", "2001:db8:20:80::150", ns=gw, check=False)
    expect("IPv6 neighbour discovery gw <-> lgwan under the backstop", r.returncode, 0)
    counters = sh("nft", "list", "table", "inet", "sekisho_backstop", ns=gw).stdout
    chain = counters.split("chain san_lgwan_internet {")[1].split("}")[0]
    expect("drop counter of lgwan -> internet moved", "packets 0 bytes 0 drop" not in chain and "drop" in chain, True)

    sh("nft", "delete", "table", "inet", "sekisho_backstop", ns=gw)
    expect("backstop removed: lgwan -> internet tcp/80", connect(lg, "198.18.30.60", 80), "open")
    for p in listeners:
        p.kill()
finally:
    lab.close()

print("FAIL" if failures else "ok")
sys.exit(1 if failures else 0)
