#!/usr/bin/env python3
"""ha-failover: an active/standby pair of sekisho boxes in network namespaces,
with the shipped keepalived/conntrackd templates and scripts (firmware/ha/),
loses its master while an allowed TCP flow runs; the flow must go on through
the standby without loss, corruption or reset (docs/ha.md).

            office (198.18.60.0/24)                 dc (198.18.61.0/24)
    cli .10 ──[bridge]── gwa eth1 .2 ─ gwa ─ eth2 .2 ──[bridge]── srv .10
                    └─── gwb eth1 .3 ─ gwb ─ eth2 .3 ───┘
               VIP .1 (VRRP 60)   gwa eth9 ═ gwb eth9   VIP .1 (VRRP 61)
                                  198.18.62.0/30: conntrackd FTFW

Each gateway namespace runs the real bootstrap, a real sekisho-gatewayd on
ha.policy (compiled by the build's sekisho-rulec), conntrackd and keepalived.
The failure (argument): the datapath daemon of the master dies (SIGKILL;
keepalived's track script sees it), or the master's office link goes down,
or keepalived on the master is stopped cleanly (maintenance).  Checked:
  - before: the flow's conntrack entry reached B's external cache with A's
    connmark (ALLOW|generation of A);
  - B becomes master, holds both virtual addresses, A holds none;
  - the flow goes on through B (its entry in B's kernel carries B's
    generation: B's daemon decided it again), both directions complete, no
    byte lost or altered, no reset;
  - on B a denied flow is still denied and a new allowed flow works, decided
    by B's daemon (B's audit trail);
  - keepalived runs the track script (not disabled as insecure), and the
    ASan/UBSan build's daemons report nothing;
  - the switch times (failure -> B master, -> B's commit; longest pause of
    the flow) are printed, never asserted.
Runs in about 20 s; everything is torn down on every exit path.  meson runs
kill-gatewayd (ha-failover) and link-down (ha-failover-link).
Usage: test_failover.py [kill-gatewayd|link-down|stop-keepalived]   (default kill-gatewayd)"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.abspath(os.path.join(HERE, "..", "..", "..")))
BUILD = os.environ.get("SEKISHO_BUILD_ROOT", os.path.join(SRC, "build"))
sys.path.insert(0, os.path.join(SRC, "test", "integration"))
sys.path.insert(0, os.path.join(SRC, "test", "integration", "gateway"))
from netns import Lab, need_root, sh  # noqa: E402
from gwtest import Checker, audit_records  # noqa: E402

FW = os.path.join(SRC, "firmware")
HA = os.path.join(FW, "ha")
NETFILTER = os.path.join(FW, "sekisho-netfilter")
GATEWAYD = os.path.join(BUILD, "gateway", "sekisho-gatewayd")
RULEC = os.path.join(BUILD, "rules", "sekisho-rulec")
STREAM = os.path.join(HERE, "stream.py")
POLICY = os.path.join(HERE, "ha.policy")

CLIENT, SERVER = "198.18.60.10", "198.18.61.10"
VIPS = {"eth1": "198.18.60.1", "eth2": "198.18.61.1"}
BOXES = {   # name -> eth1, eth2, eth9 addresses, VRRP priority
    "a": ("198.18.60.2", "198.18.61.2", "198.18.62.1", 150),
    "b": ("198.18.60.3", "198.18.61.3", "198.18.62.2", 100),
}
PORT_OK, PORT_DENIED = 5001, 5002
ALLOW = 0x40000000
SPAWNED = []   # every process started, reaped at the end whatever happened


def spawn(*cmd, **kw):
    p = subprocess.Popen(list(cmd), **kw)
    SPAWNED.append(p)
    return p


def need_tools():
    """Skip (77) without the HA daemons; under CI=true fail instead."""
    missing = [t for t in ("keepalived", "conntrackd", "conntrack") if not shutil.which(t)]
    if missing:
        ci = os.environ.get("CI") == "true"
        print(f"ha-failover: missing {', '.join(missing)} (tools/packages.txt): "
              f"{'failing (CI=true)' if ci else 'skipped'}")
        sys.exit(1 if ci else 77)


def render(template, out, values):
    text = open(os.path.join(HA, template), encoding="utf-8").read()
    for k, v in values.items():
        text = text.replace(f"@{k}@", v)
    left = [line for line in text.splitlines() if "@" in line and not line.lstrip().startswith("#")]
    assert not left, f"{template}: placeholders left: {left}"
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


class Box:
    """One gateway namespace and its daemons."""

    def __init__(self, name, ns, tmp):
        self.name, self.ns = name, ns
        self.dir = os.path.join(tmp, name)
        os.makedirs(os.path.join(self.dir, "run"))
        self.eth1, self.eth2, self.sync, self.prio = BOXES[name]
        self.ctd_conf = os.path.join(self.dir, "conntrackd.conf")
        self.ka_conf = os.path.join(self.dir, "keepalived.conf")
        self.sock = os.path.join(self.dir, "run", "gatewayd.sock")
        self.state = os.path.join(self.dir, "ha.state")
        self.audit_dir = os.path.join(self.dir, "audit")
        self.procs = {}

    def write_configs(self, peer, libexec):
        ignore = sorted({a for b in BOXES.values() for a in b[:3]} | set(VIPS.values()))
        render("conntrackd.conf.in", self.ctd_conf, {
            "SYNC_ADDR": self.sync, "SYNC_PEER": peer.sync, "SYNC_IF": "eth9", "SYSTEMD": "off",
            "LOG_FILE": os.path.join(self.dir, "conntrackd.log"),
            "LOCK_FILE": os.path.join(self.dir, "conntrackd.lock"),
            "SOCKET": os.path.join(self.dir, "conntrackd.sock"),
            "IGNORE_ADDRESSES": "\n            ".join(f"IPv4_address {a}" for a in ignore)})
        render("keepalived.conf.in", self.ka_conf, {
            "ROUTER_ID": f"sekisho-{self.name}", "PRIORITY": str(self.prio), "LIBEXECDIR": libexec,
            "GATEWAYD": GATEWAYD, "NETFILTER": NETFILTER, "GATEWAYD_SOCKET": self.sock,
            "CONNTRACKD_CONF": self.ctd_conf,
            "HA_STATE": self.state, "INSIDE_IF": "eth1", "INSIDE_VRID": "60",
            "INSIDE_VIP": VIPS["eth1"] + "/24", "OUTSIDE_IF": "eth2", "OUTSIDE_VRID": "61",
            "OUTSIDE_VIP": VIPS["eth2"] + "/24"})

    def spawn(self, what, *cmd):
        log = open(os.path.join(self.dir, what + ".out"), "a")
        p = spawn("ip", "netns", "exec", self.ns, *cmd, stdout=log, stderr=log, start_new_session=True)
        log.close()
        self.procs[what] = p
        return p

    def start_datapath(self, table, key):
        env = dict(os.environ, SEKISHO_RULEC=RULEC)
        r = subprocess.run(["ip", "netns", "exec", self.ns, NETFILTER, "start", "--queues", "1",
                            "--policy", POLICY], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"bootstrap {self.name}: {r.stderr}")
        # Without pickup, a packet of a flow this kernel does not know is
        # INVALID (dropped by the bootstrap): only conntrackd's commit can
        # carry a flow over, which is what the test is about (docs/ha.md).
        sh("sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0", ns=self.ns)
        self.spawn("gatewayd", GATEWAYD, "--table", table, "--audit-dir", self.audit_dir,
                   "--audit-key", key, "--run-dir", os.path.join(self.dir, "run"), "--queues", "1",
                   "--netfilter", NETFILTER, "--host", f"ha-{self.name}")
        wait_for(lambda: self.ctl("status").returncode == 0, 15, f"gatewayd {self.name} ready")

    def ctl(self, cmd):
        return sh(GATEWAYD, "ctl", self.sock, cmd, check=False)

    def start_ha(self):
        self.spawn("conntrackd", "conntrackd", "-C", self.ctd_conf)
        wait_for(lambda: self.conntrackd("-s").returncode == 0, 15, f"conntrackd {self.name} ready")
        self.spawn("keepalived", "keepalived", "--dont-fork", "--log-console", "--log-detail",
                   "--no-syslog", "--vrrp", "-f", self.ka_conf,
                   "-p", os.path.join(self.dir, "keepalived.pid"),
                   "-r", os.path.join(self.dir, "keepalived-vrrp.pid"))

    def conntrackd(self, *args):
        return sh("conntrackd", "-C", self.ctd_conf, *args, ns=self.ns, check=False)

    def transitions(self):
        """[(state, result)] from the notify script's state file."""
        try:
            return [tuple(line.split()[1:3]) for line in open(self.state)]
        except OSError:
            return []

    def notified(self, state):
        """CLOCK_BOOTTIME of the last transition to state, or None."""
        try:
            times = [float(line.split()[0]) for line in open(self.state) if line.split()[1:2] == [state]]
        except OSError:
            return None
        return times[-1] if times else None

    def vips(self):
        out = sh("ip", "-4", "-o", "addr", "show", ns=self.ns).stdout
        return sorted(v for v in VIPS.values() if f" {v}/" in out)

    def generation(self):
        return int(json.loads(self.ctl("status").stdout).get("table_gen", -1))

    def flow_marks(self, sport):
        """Connmarks of the kernel's entries of the client's flow."""
        r = sh("conntrack", "-L", "-p", "tcp", "--orig-src", CLIENT, "--sport", str(sport),
               ns=self.ns, check=False)
        return [int(f.split("=")[1]) for line in r.stdout.splitlines() for f in line.split()
                if f.startswith("mark=")]


def log_tails(d, name):
    """The ends of a box's logs, for the report of a failed run."""
    out = []
    for f in sorted(os.listdir(d)):
        if f.endswith((".out", ".log")) or f == "ha.state":
            text = open(os.path.join(d, f), errors="replace").read()[-3000:]
            out.append(f"--- {name}/{f}\n{text}")
    return "\n".join(out)


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def external_marks(box, sport):
    """Marks of the flow's entries in conntrackd's external cache (the peer's)."""
    out = box.conntrackd("-e").stdout
    return [int(f.split("=")[1]) for line in out.splitlines() if f"sport={sport} " in line and CLIENT in line
            for f in line.split() if f.startswith("mark=")]


class StreamClient:
    """The long flow, read in a thread so that its progress is known."""

    def __init__(self, ns, stop_file, max_seconds):
        self.p = spawn("ip", "netns", "exec", ns, sys.executable, STREAM, "client", CLIENT, SERVER,
                       str(PORT_OK), stop_file, str(max_seconds), stdout=subprocess.PIPE, text=True)
        self.port = None
        self.report = None
        self.rx = self.tx = 0
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            parts = line.split()
            if parts[0] == "port":
                self.port = int(parts[1])
            elif parts[0] == "progress":
                self.rx, self.tx = int(parts[1]), int(parts[2])
            elif line.startswith("{"):
                self.report = json.loads(line)

    def finish(self, timeout):
        self.p.wait(timeout)
        self.t.join(5)
        return self.report


def build(lab, tmp):
    sw, cli, srv = lab.ns("sw"), lab.ns("cli"), lab.ns("srv")
    gws = {n: lab.ns("gw" + n) for n in BOXES}
    for br, ports in (("brc", [(cli, "c0", "eth0")] + [(gws[n], f"c{n}", "eth1") for n in BOXES]),
                      ("brs", [(srv, "s0", "eth0")] + [(gws[n], f"s{n}", "eth2") for n in BOXES])):
        sh("ip", "link", "add", br, "type", "bridge", "mcast_snooping", "0", ns=sw)
        sh("ip", "link", "set", br, "up", ns=sw)
        for ns, port, ifname in ports:
            lab.link(sw, port, ns, ifname)
            sh("ip", "link", "set", port, "master", br, ns=sw)
    lab.link(gws["a"], "eth9", gws["b"], "eth9")
    sh("ip", "addr", "add", CLIENT + "/24", "dev", "eth0", ns=cli)
    sh("ip", "route", "add", "default", "via", VIPS["eth1"], ns=cli)
    sh("ip", "addr", "add", SERVER + "/24", "dev", "eth0", ns=srv)
    sh("ip", "route", "add", "default", "via", VIPS["eth2"], ns=srv)
    boxes = {n: Box(n, gws[n], tmp) for n in BOXES}
    for b in boxes.values():
        sh("ip", "addr", "add", b.eth1 + "/24", "dev", "eth1", ns=b.ns)
        sh("ip", "addr", "add", b.eth2 + "/24", "dev", "eth2", ns=b.ns)
        sh("ip", "addr", "add", b.sync + "/30", "dev", "eth9", ns=b.ns)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=b.ns)
    # keepalived (enable_script_security) disables scripts in a directory
    # path a non-root user could write to, as a checkout may be: run copies
    # of the shipped scripts from the run's own directory, like /usr/lib/sekisho
    libexec = os.path.join(tmp, "libexec")
    os.makedirs(libexec)
    for script in ("sekisho-ha-check", "sekisho-ha-notify"):
        shutil.copy(os.path.join(HA, script + ".sh"), os.path.join(libexec, script))
        os.chmod(os.path.join(libexec, script), 0o755)
    boxes["a"].write_configs(boxes["b"], libexec)
    boxes["b"].write_configs(boxes["a"], libexec)
    return cli, srv, boxes


def run(lab, tmp, mode):
    ck = Checker()
    cli, srv, boxes = build(lab, tmp)
    a, b = boxes["a"], boxes["b"]
    table, key = os.path.join(tmp, "ha.table"), os.path.join(tmp, "audit.key")
    r = sh(RULEC, "--no-color", "compile", POLICY, "-o", table, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"compile: {r.stderr}")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key, 0o600)
    for box in (a, b):
        box.start_datapath(table, key)
    # B's policy was applied once more (a reload): its generation differs
    # from A's, so a flow carried over must be decided again on B.
    ck.expect("reload of B", b.ctl("reload").returncode, 0)
    gen_a, gen_b = a.generation(), b.generation()
    ck.true("the boxes run different generations", gen_a != gen_b, f"A {gen_a}, B {gen_b}")

    # A first, so that it wins the first election; then B joins as backup.
    a.start_ha()
    wait_for(lambda: a.vips() == sorted(VIPS.values()), 30, "A to become master")
    b.start_ha()
    wait_for(lambda: ("backup", "ok") in b.transitions(), 30, "B to be backup")
    ck.expect("A's notify steps", (a.transitions() or [None])[-1], ("master", "ok"))
    ck.expect("B holds no virtual address", b.vips(), [])
    for box in (a, b):
        log = open(os.path.join(box.dir, "keepalived.out"), errors="replace").read()
        ck.true(f"{box.name}'s keepalived runs the track script", "insecure" not in log and "sekisho_datapath" in log)

    server = spawn("ip", "netns", "exec", srv, sys.executable, STREAM, "server", SERVER, str(PORT_OK),
                   stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    denied_listener = spawn("ip", "netns", "exec", srv, sys.executable, "-c", _ACCEPT_ALL, SERVER,
                            str(PORT_DENIED), stdout=subprocess.PIPE, text=True)
    assert denied_listener.stdout.readline().strip() == "ready"
    ck.expect("denied flow through A", probe(cli), "timeout")

    stop = os.path.join(tmp, "stop")
    flow = StreamClient(cli, stop, 150)
    wait_for(lambda: flow.rx > 256 << 10 or flow.p.poll() is not None, 30, "the flow to run")
    ck.true("the flow runs through A", flow.port is not None and flow.rx > 0, f"{flow.rx} bytes back")
    mark_a = a.flow_marks(flow.port)
    ck.expect("A's connmark of the flow", mark_a, [ALLOW | gen_a])
    # conntrackd sends the entry on its creation and on updates; wait for it
    try:
        wait_for(lambda: external_marks(b, flow.port), 15, "the entry in B's external cache")
    except RuntimeError:
        pass
    ck.expect("the synced entry on B carries A's connmark", external_marks(b, flow.port), mark_a)

    rx_before = flow.rx
    t_fail = time.monotonic()
    t_fail_boot = time.clock_gettime(time.CLOCK_BOOTTIME)   # the notify script's clock
    if mode == "link-down":
        sh("ip", "link", "set", "eth1", "down", ns=a.ns)     # the office cable of A pulled
    elif mode == "stop-keepalived":
        a.procs["keepalived"].send_signal(signal.SIGTERM)   # an operator's clean stop (maintenance)
    else:
        a.procs["gatewayd"].send_signal(signal.SIGKILL)     # A's datapath daemon dies
    wait_for(lambda: b.vips() == sorted(VIPS.values()), 30, "B to become master")
    t_master = time.monotonic()
    rx_master = flow.rx
    ck.expect("A holds no virtual address", a.vips(), [])
    wait_for(lambda: ("master", "ok") in b.transitions() or ("master", "failed") in b.transitions(), 15,
             "B's notify script")
    ck.true("B's notify steps (commit, flush, resync, bulk)", ("master", "ok") in b.transitions(),
            b.transitions())
    # the flow must move on through B
    try:
        wait_for(lambda: flow.rx > rx_before + (512 << 10) or flow.p.poll() is not None, 60,
                 "the flow to go on")
    except RuntimeError:
        pass
    t_flowing = time.monotonic()
    marks_b = b.flow_marks(flow.port)
    ck.expect("the flow's entry on B, decided again by B", marks_b, [ALLOW | gen_b])

    ck.expect("denied flow through B", probe(cli), "timeout")
    new = StreamClient(cli, stop + "-new", 1)
    rep = new.finish(30)
    ck.true("new allowed flow through B", rep is not None and rep["end"] == "eof" and rep["bad"] is None
            and rep["received"] > 0 and rep["sent"] > 0, rep)
    decided = [r["data"] for r in audit_records(b) if r["event"] == "flow.decision"
               and r["data"].get("src") == CLIENT and r["data"].get("sport") == new.port]
    ck.true("B's daemon decided the new flow (B's audit trail)",
            any(d.get("action") == "allow" and not d.get("recheck") for d in decided), decided)

    open(stop, "w").close()
    rep = flow.finish(60)
    server_reps = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(r.get("port") == flow.port for r in server_reps):
        line = server.stdout.readline()
        if line.startswith("{"):
            server_reps.append(json.loads(line))
    srep = next((r for r in server_reps if r.get("port") == flow.port), None)
    print("client:", rep, "\nserver:", srep, flush=True)
    ck.true("client: clean end, nothing altered", rep is not None and rep["end"] == "eof" and rep["bad"] is None
            and rep["send_end"] is None, rep)
    ck.true("server: clean end, nothing altered", srep is not None and srep["end"] == "eof"
            and srep["bad"] is None and srep["send_end"] is None, srep)
    if rep and srep:
        ck.expect("client -> server: every byte arrived", srep["received"], rep["sent"])
        ck.expect("server -> client: every byte arrived", rep["received"], srep["sent"])
        ck.true("data crossed after the switch", rep["received"] > rx_master, (rx_master, rep["received"]))
        t_commit = (b.notified("master") or t_fail_boot) - t_fail_boot
        print(f"measured ({mode}): VIPs on B {t_master - t_fail:.2f} s after the failure, "
              f"B's conntrackd commit done {t_commit:.2f} s after it; "
              f"longest pause of the flow {rep['max_gap']:.2f} s "
              f"(from {rep['gap_start'] - t_fail:+.2f} s to {rep['gap_end'] - t_fail:+.2f} s relative to it); "
              f"flow checked {t_flowing - t_fail:.2f} s after", flush=True)
    # the ASan/UBSan build: a report of either daemon is a failure even when
    # the traffic looked right (their logs are deleted with the run)
    for box in (a, b):
        text = open(os.path.join(box.dir, "gatewayd.out"), errors="replace").read()
        clean = "AddressSanitizer" not in text and "runtime error" not in text
        ck.true(f"no sanitizer report from {box.name}'s gatewayd", clean, "" if clean else text[-3000:])
    return ck


# Port PORT_DENIED answers any connection: so "timeout" can only mean that
# the gateway dropped it.
_ACCEPT_ALL = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); print('ready', flush=True)
while True:
    c, a = s.accept(); c.sendall(b'hello'); c.close()
"""

_PROBE = r"""
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print('open' if s.recv(5) == b'hello' else 'odd')
except (socket.timeout, TimeoutError):
    print('timeout')
except OSError as e:
    print('error', e.errno)
"""


def probe(cli):
    return sh(sys.executable, "-c", _PROBE, SERVER, str(PORT_DENIED), ns=cli, check=False).stdout.strip()


def main():
    need_root("ha-failover")
    need_tools()
    mode = sys.argv[1] if len(sys.argv) > 1 else "kill-gatewayd"
    if mode not in ("kill-gatewayd", "link-down", "stop-keepalived"):
        print(__doc__.rsplit("Usage: ", 1)[1])
        return 2
    tmp = tempfile.mkdtemp(prefix="sekisho-ha-")
    lab = Lab("ha")
    # meson's timeout sends SIGTERM: clean up on that path too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    ok = False
    try:
        ck = run(lab, tmp, mode)
        ok = ck.failures == 0
    except Exception as e:  # noqa: BLE001 -- report, then tear down
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
    finally:
        if not ok:
            for name in sorted(BOXES):
                d = os.path.join(tmp, name)
                if os.path.isdir(d):
                    print(log_tails(d, name), flush=True)
        lab.close()      # kills every process in the namespaces, then deletes them
        for p in SPAWNED:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                print(f"warning: pid {p.pid} did not exit", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
