#!/usr/bin/env python3
"""The appliance image under qemu: it boots, comes up fail-closed, forwards
what the policy allows only while the gateway daemon runs.

    test_image_boot.py [--image IMG] [--debs DEB_DIR] [--work DIR]

Without --image (or when it does not exist) the image is built first with
firmware/build-image --test --site test/integration/image/site.test.

The VM gets four NICs on tap devices in a namespace of this test; three of
them are bridged to client namespaces:
    A (lgwan: 198.18.20.130 lg-clients, 198.18.20.25 lg-mail) -- tap0 -- sk-lgwan     198.18.20.1
    B (lgwan-wan: 198.19.100.10, in lgwan-asp)                 -- tap1 -- sk-lgwanwan  198.19.100.1
                                                                  tap2 -- sk-mgmt      198.18.40.1
    C (internet: 198.18.30.130, inet-clients)                  -- tap3 -- sk-internet  198.18.30.1
Over the serial console (root logs in by itself in the test image) it checks
the bootstrap ruleset (NFQUEUE without bypass), the services under real
systemd (netfilter bootstrap, gatewayd, milter, postfix, the first-boot
apply), the audit chains written with the credential key and verifying,
that no service was restarted (a syscall filter killing one would show);
then A -> B tcp/80 (allowed: "LGWAN-ASP 利用") crosses and tcp/22 (not
allowed) does not, a mail from lg-mail goes through Postfix and the milter
back to lg-mail; the file portals (docs/portal.md): sekisho-portal answers
HTTPS on the LGWAN address to A with the certificate first boot made, and
not to C (the policy), sekisho-upload answers C on the Internet-side address
with its own certificate and not A, each bound to its address only; then
the host's own tools touch netfilter (nftables.service
is masked; "nft flush ruleset", Debian's /etc/nftables.conf and "nft delete
table inet sekisho" each under a denied UDP flood of 10,000 packets/s from A
to B, counted on B's link: 0 arrive; the helper repairs, allowed traffic and
the open connection cross again, the audit chain holds netfilter.tamper and
netfilter.repair); and after "systemctl stop sekisho-gatewayd" neither the
open connection nor a new one crosses.  Every wait is bounded."""
import argparse
import email
import email.message
import email.policy
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib

SRC = os.environ.get("SEKISHO_SOURCE_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
sys.path.insert(0, os.path.join(SRC, "test", "integration", "gateway"))
import gwtest  # noqa: E402  (the flood sender and the independent counter)
failures = []
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def sh(*args, check_rc=True, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


# --- the serial console --------------------------------------------------
class Console:
    """qemu's ttyS0 on its stdin/stdout; a thread collects everything."""

    def __init__(self, proc, logpath):
        self.proc = proc
        self.buf = ""
        self.lock = threading.Condition()
        self.log = open(logpath, "w", encoding="utf-8", errors="replace")
        self.n = 0
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        fd = self.proc.stdout.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            text = data.decode("utf-8", errors="replace").replace("\r", "")
            self.log.write(text)
            self.log.flush()
            with self.lock:
                self.buf += text
                self.lock.notify_all()
        with self.lock:
            self.lock.notify_all()

    def expect(self, pattern, timeout, start=0):
        """First match of PATTERN in the output after START, or None."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern, re.M)
        with self.lock:
            while True:
                m = rx.search(self.buf, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self.lock.wait(min(left, 1.0))

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(self, cmd, timeout=60):
        """(exit status, output) of CMD in the VM's root shell; (None, ...) on timeout."""
        self.n += 1
        n = self.n
        with self.lock:
            start = len(self.buf)
        self.send(f"echo @@S{n}@@; ( {cmd} ) 2>&1; echo @@E{n}@@ $?\n")
        # not anchored: a prompt or a console message may precede a marker
        m = self.expect(rf"@@E{n}@@ (\d+)\n", timeout, start)
        b = self.expect(rf"@@S{n}@@\n", 1, start)
        if not m or not b or b.end() > m.start():
            return None, self.buf[start:][-2000:]
        out = self.buf[b.end():m.start()]
        # messages of units writing to the console (journal+console) are not output
        return int(m.group(1)), re.sub(r"^\[ *\d+\.\d+\] .*\n?", "", out, flags=re.M)


# --- the client namespaces ----------------------------------------------
PROBE = r"""
import socket, sys, select, threading
mode = sys.argv[1]
if mode == "server":          # echo server on the given ports
    def serve(port):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port)); s.listen(16)
        while True:
            c, _ = s.accept()
            threading.Thread(target=echo, args=(c,), daemon=True).start()
    def echo(c):
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(d)
    for p in sys.argv[2:]:
        threading.Thread(target=serve, args=(int(p),), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
elif mode == "once":          # one new connection: connect, one echo
    host, port = sys.argv[2], int(sys.argv[3])
    try:
        s = socket.create_connection((host, port), timeout=4)
        s.settimeout(4); s.sendall(b"once\n")
        print("CROSSED" if s.recv(100) == b"once\n" else "NOECHO")
    except OSError as e:
        print("BLOCKED", e)
elif mode == "hold":          # one connection kept open; each stdin line -> one echo
    host, port = sys.argv[2], int(sys.argv[3])
    s = socket.create_connection((host, port), timeout=4)
    print("connected", flush=True)
    for line in sys.stdin:
        try:
            s.settimeout(4); s.sendall(line.encode())
            print("CROSSED" if s.recv(100) == line.encode() else "NOECHO", flush=True)
        except OSError as e:
            print("BLOCKED", e, flush=True)
"""


class Lab:
    def __init__(self):
        tag = str(os.getpid() % 100000)
        self.h, self.a, self.b, self.c = f"skimgH{tag}", f"skimgA{tag}", f"skimgB{tag}", f"skimgC{tag}"
        self.procs = []

    def up(self):
        for ns in (self.h, self.a, self.b, self.c):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for i, (ns, addrs, gw) in enumerate([(self.a, ["198.18.20.130/24", "198.18.20.25/24"], "198.18.20.1"),
                                            (self.b, ["198.19.100.10/24"], "198.19.100.1"),
                                            (None, [], None),
                                            (self.c, ["198.18.30.130/24"], "198.18.30.1")]):
            sh("ip", "-n", self.h, "tuntap", "add", "dev", f"tap{i}", "mode", "tap")
            if ns is None:          # tap2: sk-mgmt, no client
                sh("ip", "-n", self.h, "link", "set", f"tap{i}", "up")
                continue
            sh("ip", "-n", self.h, "link", "add", f"br{i}", "type", "bridge")
            sh("ip", "-n", self.h, "link", "add", f"v{i}", "type", "veth", "peer", "name", "c0", "netns", ns)
            for d in (f"tap{i}", f"v{i}"):
                sh("ip", "-n", self.h, "link", "set", d, "master", f"br{i}")
            for d in (f"tap{i}", f"v{i}", f"br{i}"):
                sh("ip", "-n", self.h, "link", "set", d, "up")
            for a in addrs:
                sh("ip", "-n", ns, "addr", "add", a, "dev", "c0")
            sh("ip", "-n", ns, "link", "set", "c0", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", gw)

    def spawn(self, ns, *args, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", ns, *args], **kw)
        self.procs.append(p)
        return p

    def once(self, port):
        r = sh("ip", "netns", "exec", self.a, sys.executable, "-c", PROBE, "once", "198.19.100.10", str(port),
               check_rc=False, timeout=30)
        return r.stdout.strip()

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for ns in (self.a, self.b, self.c, self.h):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def build_image(args):
    cmd = [os.path.join(SRC, "firmware", "build-image"), "--test",
           "--site", os.path.join(SRC, "test/integration/image/site.test"), "--output", args.image]
    if args.debs:
        cmd += ["--debs", args.debs]
    if args.work:
        cmd += ["--work", args.work]
    log("building the image: " + " ".join(cmd))
    r = subprocess.run(cmd, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError("firmware/build-image failed")
    log("image built")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="/var/tmp/sekisho-image/sekisho-test.img")
    ap.add_argument("--debs")
    ap.add_argument("--work")
    ap.add_argument("--boot-timeout", type=int, default=900)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (namespaces, tap devices)")
        return 77
    for tool in ("qemu-system-x86_64",):
        if not shutil.which(tool):
            print(f"missing {tool} (apt-get install qemu-system-x86)")
            return 77 if os.environ.get("CI") != "true" else 1
    if not os.path.exists(args.image):
        build_image(args)
    lab = Lab()
    try:
        lab.up()
        run(args, lab)
    finally:
        lab.down()
    print(f"{len(failures)} failure(s); {time.monotonic() - T0:.0f} s")
    return 1 if failures else 0


def run(args, lab):
    # SEKISHO_QEMU_TCG=1: software emulation even with /dev/kvm (a nested KVM
    # host that boots GRUB but not the kernel)
    kvm = os.access("/dev/kvm", os.R_OK | os.W_OK) and os.environ.get("SEKISHO_QEMU_TCG") != "1"
    qemu = ["qemu-system-x86_64", "-machine", "pc", "-m", "1024", "-smp", "2",
            # IA32_ARCH_CAPABILITIES is not settable under some nested KVM
            # hosts (qemu aborts: "failed to set MSR 0x10a"); the guest does
            # not need it
            "-accel", "kvm" if kvm else "tcg", "-cpu", "host,-arch-capabilities" if kvm else "max",
            "-drive", f"file={args.image},format=raw,if=virtio,snapshot=on",
            "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"]
    for i, mac in enumerate(["52:54:00:5e:20:01", "52:54:00:5e:50:01", "52:54:00:5e:40:01", "52:54:00:5e:30:01"]):
        qemu += ["-netdev", f"tap,id=n{i},ifname=tap{i},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev=n{i},mac={mac}"]
    log(f"booting ({'kvm' if kvm else 'tcg'}) {args.image}")
    vm = lab.spawn(lab.h, *qemu, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    con = Console(vm, args.image + ".console.log")
    try:
        test_vm(args, lab, con)
    finally:
        if vm.poll() is None:
            con.send("\npoweroff -f\n")
            try:
                vm.wait(timeout=20)
            except subprocess.TimeoutExpired:
                vm.kill()
        log(f"console log: {args.image}.console.log")


def test_vm(args, lab, con):
    if not check(con.expect(r"GNU GRUB|Booting `sekisho", 120), "GRUB starts from the disk"):
        return
    m = con.expect(r"root@sekisho-test:~# ", args.boot_timeout)
    if not check(m is not None, "the system boots to the autologin shell on ttyS0"):
        print(con.buf[-3000:])
        return
    log("logged in")
    con.send("bind 'set enable-bracketed-paste off'; stty -echo cols 250; PS1=; export TERM=dumb PAGER=cat SYSTEMD_PAGER= SYSTEMD_COLORS=0; dmesg -n 1\n")
    time.sleep(1)
    rc, out = con.run("timeout 600 systemctl is-system-running --wait", timeout=620)
    log(f"system state: {out.strip()}")
    rc2, failed = con.run("systemctl --failed --no-legend")
    check(rc == 0 and out.strip() == "running", f"systemd: running, no failed unit ({out.strip()}; {failed.strip()})")

    # 1. bootstrap ruleset: NFQUEUE without bypass
    rc, st = con.run("/usr/lib/sekisho/sekisho-netfilter status")
    mode = st.split()[1] if rc == 0 and len(st.split()) > 1 else "?"
    if mode == "xt":
        rc, rules = con.run("iptables-nft -S")
        check("-N SEKISHO-MAIN" in rules and "-A FORWARD -j SEKISHO-FWD" in rules
              and re.search(r"-j NFQUEUE", rules) is not None and "bypass" not in rules,
              "iptables-nft -S: SEKISHO chains, NFQUEUE without bypass")
    else:
        rc, rules = con.run("nft list table inet sekisho")
        # nft 1.0.6 prints "queue to 0-1" ("queue flags bypass to ..." with bypass)
        if not check(rc == 0 and "hook forward" in rules and "policy drop" in rules
                     and re.search(r"\bqueue\b", rules) is not None and "bypass" not in rules,
                     f"nft table inet sekisho: queue without bypass, policy drop ({mode} backend)"):
            print(rules)
    rc, bs = con.run("nft list table inet sekisho_backstop | head -5")
    check(rc == 0 and "sekisho_backstop" in bs, "the backstop of the applied policy is loaded")

    # 2. services under real systemd
    rc, out = con.run("systemctl is-active sekisho-netfilter sekisho-firstboot sekisho-gatewayd "
                      "sekisho-milter postfix@- systemd-networkd")
    check(rc == 0 and out.split() == ["active"] * 6, f"units active: {' '.join(out.split())}")
    # one property per call: "systemctl show --value" prints in its own order
    rc, out = con.run("systemctl show -p ActiveEnterTimestampMonotonic --value sekisho-netfilter; "
                      "systemctl show -p InactiveExitTimestampMonotonic --value systemd-networkd")
    t = [int(x) for x in out.split()] if rc == 0 and re.fullmatch(r"[\d\s]+", out) else []
    check(len(t) == 2 and 0 < t[0] <= t[1],
          f"the bootstrap ruleset was in force before networkd started (monotonic us: {t})")
    # systemd (PID 1) about the units; not systemd-sysctl's early "sk-mgmt: no such
    # file" (per-interface keys are applied again when udev names the port)
    rc, out = con.run("journalctl -b -q --no-pager -p warning _PID=1 | grep -i -E "
                      "'sekisho.*(unknown|ignoring|cycle|invalid|bad unit)' || true")
    check(rc == 0 and out.strip() == "", f"systemd accepts the units without warnings ({out.strip()[:300]})")
    rc, out = con.run("sysctl -n net.ipv4.conf.sk-lgwan.forwarding net.ipv4.conf.sk-lgwanwan.forwarding "
                      "net.ipv4.conf.sk-mgmt.forwarding")
    check(out.split() == ["1", "1", "0"], f"IPv4 forwarding on the segments, never on sk-mgmt ({out.split()})")
    rc, out = con.run("sekishoctl status")
    check(rc == 0 and re.search(r"applied policy: [0-9a-f]{64}", out) is not None
          and "policy_sha256" in out, "sekishoctl status: applied by first boot, the daemon answers")
    rc, out = con.run("ip -br link | sort")
    names = set(re.findall(r"^(sk-\S+)", out, re.M))
    check(names == {"sk-lgwan", "sk-lgwanwan", "sk-mgmt", "sk-internet"}, f".link names by MAC: {sorted(names)}")
    rc, out = con.run("ip -4 -br addr show sk-lgwan; ip -4 -br addr show sk-lgwanwan")
    check("198.18.20.1/24" in out and "198.19.100.1/24" in out, "networkd set the site's addresses")
    rc, out = con.run("ss -Htln | grep ':22 '")
    check(rc == 0 and "198.18.40.1:22" in out and "0.0.0.0:22" not in out,
          f"sshd listens on the management address only ({out.strip()})")
    rc, out = con.run("stat -c '%U %G %a' /etc/sekisho/audit.key; "
                      "stat -c '%U %a' /var/log/sekisho/gateway /var/log/sekisho/sanitizer")
    check(out.split() == ["root", "root", "600", "sekisho-gw", "700", "sekisho-milter", "700"],
          f"audit key root 0600, chains owned by the service users ({' '.join(out.split())})")
    rc, out = con.run("stat -c '%U %G %a %F' /run/sekisho/milter /run/sekisho/milter/milter.sock; "
                      "postconf -h smtpd_milters")
    check(out.split() == ["sekisho-milter", "postfix", "750", "directory", "sekisho-milter", "sekisho-milter", "666",
                          "socket", "unix:/run/sekisho/milter/milter.sock"],
          f"milter socket in a 0750 directory of group postfix, Postfix pointed at it ({' '.join(out.split())})")

    # 3. traffic: allowed crosses, not allowed does not
    srv = lab.spawn(lab.b, sys.executable, "-c", PROBE, "server", "80", "22",
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    check(srv.stdout.readline().strip() == "ready", "echo server in B")
    r80 = lab.once(80)
    check(r80 == "CROSSED", f"A -> B tcp/80 (policy allows) crosses while the daemon runs ({r80})")
    r22 = lab.once(22)
    check(r22.startswith("BLOCKED"), f"A -> B tcp/22 (policy does not allow) does not cross ({r22})")
    hold = lab.spawn(lab.a, sys.executable, "-c", PROBE, "hold", "198.19.100.10", "80",
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    connected = hold.stdout.readline().strip() == "connected"
    hold.stdin.write("before\n")
    hold.stdin.flush()
    check(connected and hold.stdout.readline().strip() == "CROSSED", "an open connection A -> B tcp/80 crosses")

    mail_test(lab, con)
    portal_test(lab, con)

    rc, out = con.run("systemctl show -p NRestarts --value sekisho-gatewayd sekisho-milter sekisho-netfilter; "
                      "journalctl -b -q --no-pager | grep -c -E 'SIGSYS|status=31/SYS' || true")
    vals = out.split()
    check(vals[:2] == ["0", "0"] and vals[-1] == "0",
          f"no restarts, no SIGSYS: the syscall filters let the daemons work ({' '.join(vals)})")
    rc, out = con.run("for c in gateway sanitizer ctl rulec; do sekisho-logexport verify --key /etc/sekisho/audit.key "
                      "/var/log/sekisho/$c >/dev/null || echo BAD $c; done; ls /var/log/sekisho/gateway | wc -l")
    check(rc == 0 and "BAD" not in out and int((out.split() or ["0"])[-1]) > 0,
          f"audit chains written with the credential key verify ({out.strip()})")

    tamper_test(lab, con, hold)

    # 4. the daemon stops: nothing crosses any more
    rc, out = con.run("systemctl stop sekisho-gatewayd; systemctl is-active sekisho-gatewayd", timeout=60)
    check(out.strip() == "inactive", f"gatewayd stopped ({out.strip()})")
    hold.stdin.write("after\n")
    hold.stdin.flush()
    ready, _, _ = select.select([hold.stdout], [], [], 15)
    after = hold.stdout.readline().strip() if ready else "no answer"
    check(after.startswith("BLOCKED") or after == "no answer",
          f"daemon stopped: the open connection no longer crosses ({after})")
    r80 = lab.once(80)
    check(r80.startswith("BLOCKED"), f"daemon stopped: a new A -> B tcp/80 does not cross ({r80})")
    rc, out = con.run("nft list ruleset | grep -c bypass || true")
    check(out.strip() == "0", "still no queue bypass anywhere")


def tamper_test(lab, con, hold):
    """Someone on the box runs the usual netfilter tools: nothing opens, the
    daemon's helper repairs (docs/gateway.md "Two gates")."""
    rc, out = con.run("systemctl is-enabled nftables.service || true")
    check(out.strip() == "masked", f"nftables.service is masked ({out.strip()})")
    rc, out = con.run("systemctl restart nftables.service 2>&1; echo rc=$?")
    check("rc=0" not in out, f"systemctl restart nftables is refused ({out.strip()[-120:]})")
    rc, out = con.run("systemctl show -p Conflicts --value sekisho-netfilter")
    check("nftables.service" in out, f"the bootstrap conflicts with nftables.service ({out.strip()})")
    rc, st = con.run("/usr/lib/sekisho/sekisho-netfilter status")
    check("egress gate on" in st and "NOT on" not in st, f"the egress gate is on every port ({st.strip()})")
    for what, cmd in (("nft flush ruleset", "nft flush ruleset"),
                      ("Debian's /etc/nftables.conf", "nft -f /etc/nftables.conf"),
                      ("nft delete table inet sekisho", "nft delete table inet sekisho")):
        recv = lab.spawn(lab.b, sys.executable, "-c", gwtest.FLOOD_RECEIVER, "c0", "9999",
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        recv.stdout.readline()
        flood = lab.spawn(lab.a, sys.executable, "-c", gwtest.FLOOD_SENDER, "9999", "10000", "4",
                          "198.18.20.130>198.19.100.10", stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        con.run(cmd)
        sent = flood.communicate(timeout=60)[0].split()
        time.sleep(3)
        recv.stdin.close()
        counts = recv.stdout.read().strip().split("\n")[-1]
        check(counts == "counts {}", f"{what}: denied UDP flood ({' '.join(sent[:2])} packets) arriving on B: {counts}")
        rc, st = con.run("/usr/lib/sekisho/sekisho-netfilter status")
        check("fenced" not in st and "egress gate on" in st and "NOT on" not in st, f"{what}: repaired ({st.strip()})")
        r80 = lab.once(80)
        check(r80 == "CROSSED", f"{what}: allowed A -> B tcp/80 crosses again ({r80})")
        r22 = lab.once(22)
        check(r22.startswith("BLOCKED"), f"{what}: A -> B tcp/22 still does not cross ({r22})")
    hold.stdin.write("again\n")
    hold.stdin.flush()
    ready, _, _ = select.select([hold.stdout], [], [], 30)
    again = hold.stdout.readline().strip() if ready else "no answer"
    check(again == "CROSSED", f"the open connection crosses again after the repairs ({again})")
    rc, out = con.run("cat /var/log/sekisho/gateway/*.jsonl | grep -c '\"event\":\"netfilter.tamper\"'; "
                      "cat /var/log/sekisho/gateway/*.jsonl | grep '\"event\":\"netfilter.repair\"' | "
                      "grep -c '\"result\":\"ok\"'; sekishoctl status | grep -o '\"tampers\":[0-9]*'")
    check(out.split()[:2] == ["3", "3"] and '"tampers":3' in out,
          f"audit: 3 netfilter.tamper, 3 netfilter.repair ok; sekishoctl status counts them ({' '.join(out.split())})")


# one HTTPS request from a client namespace: the server's certificate (PEM)
# and the status line, judged by Python's ssl and http.client
HTTPS_PROBE = r"""
import http.client, socket, ssl, sys
host, path = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE          # self-signed: compared with the file below instead
try:
    c = http.client.HTTPSConnection(host, 443, timeout=5, context=ctx)
    c.request("GET", path)
    r = c.getresponse()
    print(ssl.DER_cert_to_PEM_cert(c.sock.getpeercert(binary_form=True)).strip())
    print("STATUS", r.status, c.sock.version())
    if len(sys.argv) > 3:                # the body too, as hex
        print("BODY", r.read(1 << 20).hex())
except OSError as e:
    print("BLOCKED", type(e).__name__, e)
"""


def https(lab, ns, host, path="/login", body=False):
    r = sh("ip", "netns", "exec", ns, sys.executable, "-c", HTTPS_PROBE, host, path, *(["body"] if body else []),
           check_rc=False, timeout=30)
    return r.stdout


def https_body(lab, ns, host, path):
    """(status, body bytes) of GET PATH; (None, b"") when nothing answered."""
    out = https(lab, ns, host, path, body=True)
    st = re.search(r"^STATUS (\d+)", out, re.M)
    b = re.search(r"^BODY ([0-9a-f]*)$", out, re.M)
    return (int(st.group(1)) if st else None), (bytes.fromhex(b.group(1)) if b else b"")


def png_8x8():
    """A small valid PNG (grey gradient), made here: the attachment to sanitise."""
    raw = b"".join(b"\0" + bytes((x * 32 + y * 4) & 0xFF for x in range(8)) for y in range(8))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pem_of(text):
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    return re.sub(r"\s+", "", m.group(0)) if m else None


def portal_test(lab, con):
    """The LGWAN portal answers on the LGWAN address only, the upload portal
    on the Internet-side address only; first boot made their certificates."""
    rc, out = con.run("systemctl is-active sekisho-portal sekisho-upload sekisho-cdrd; "
                      "systemctl show -p NRestarts --value sekisho-cdrd")
    if not check(rc == 0 and out.split() == ["active"] * 3 + ["0"],
                 f"portal units and the worker (its portal options, loopback only) active, no restart: "
                 f"{' '.join(out.split())}"):
        # why, for the log: the worker's own lines of this boot
        _, why = con.run("journalctl -b -q --no-pager -u sekisho-cdrd | grep -v ' systemd\\[' | tail -8")
        log("sekisho-cdrd's journal:\n" + why)
    rc, out = con.run("ss -Htln | grep -c '127.0.0.1:10026 '")
    check(out.strip() == "1", f"Postfix's own-mail listener for the worker on 127.0.0.1:10026 ({out.strip()})")
    rc, out = con.run("ss -Htlnp | grep ':443 '")
    lines = out.strip().splitlines()
    check(any("198.18.20.1:443" in ln and "sekisho-portal" in ln for ln in lines)
          and any("198.18.30.1:443" in ln and "sekisho-upload" in ln for ln in lines)
          and not any(re.search(r"(0\.0\.0\.0|\*|\[::\]):443", ln) for ln in lines),
          f"each portal bound to its own address only ({' | '.join(lines)})")
    rc, out = con.run("systemctl show -p IPAddressAllow --value sekisho-portal; "
                      "systemctl show -p IPAddressAllow --value sekisho-upload")
    check("198.18.20.0/24" in out and "198.18.30.0/24" in out,
          f"the site's drop-ins: each portal's peers are its segment's networks ({' | '.join(out.split(chr(10)))})")
    rc, out = con.run("stat -c '%U %a' /etc/sekisho/tls /etc/sekisho/tls/portal.key /etc/sekisho/tls/upload.key")
    check(out.split() == ["root", "700", "root", "600", "root", "600"], f"portal keys root 0600 ({' '.join(out.split())})")
    rc, crt = con.run("cat /etc/sekisho/tls/portal.crt")
    rc2, ucrt = con.run("cat /etc/sekisho/tls/upload.crt")
    portal_pem, upload_pem = pem_of(crt), pem_of(ucrt)
    rc, out = con.run("openssl x509 -noout -ext subjectAltName -in /etc/sekisho/tls/portal.crt")
    check(portal_pem and upload_pem and portal_pem != upload_pem and "IP Address:198.18.20.1" in out,
          f"first boot made two certificates, the portal's for 198.18.20.1 ({out.strip()[-80:]})")

    a = https(lab, lab.a, "198.18.20.1")
    check(pem_of(a) == portal_pem and re.search(r"^STATUS 200 TLSv1\.[23]$", a, re.M) is not None,
          f"LGWAN client -> 198.18.20.1:443: sekisho-portal answers /login over TLS ({a.strip()[-60:]})")
    c = https(lab, lab.c, "198.18.20.1")
    check(c.startswith("BLOCKED"), f"Internet client -> 198.18.20.1:443: nothing answers ({c.strip()[-80:]})")
    c = https(lab, lab.c, "198.18.30.1", "/")
    check(pem_of(c) == upload_pem and "STATUS " in c,
          f"Internet client -> 198.18.30.1:443: sekisho-upload answers, with its own certificate ({c.strip()[-60:]})")
    a = https(lab, lab.a, "198.18.30.1", "/")
    check(a.startswith("BLOCKED"), f"LGWAN client -> 198.18.30.1:443: nothing answers ({a.strip()[-80:]})")
    rc, out = con.run("for c in portal upload; do sekisho-logexport verify --key /etc/sekisho/audit.key "
                      "/var/log/sekisho/$c >/dev/null || echo BAD $c; done; "
                      "systemctl show -p NRestarts --value sekisho-portal sekisho-upload")
    check(rc == 0 and "BAD" not in out and out.split() == ["0", "0"],
          f"the portals' audit chains verify, no restarts ({' '.join(out.split())})")


def mail_test(lab, con):
    """lg-mail (198.18.20.25) -> relay :25 -> milter -> relay_transport -> lg-mail:25."""
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.path.exists(sink):
        check(False, "smtp-sink (postfix) for the mail test")
        return
    d = f"/tmp/skimg-mail-{os.getpid()}"
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)     # smtp-sink writes as nobody
    lab.spawn(lab.a, sink, "-u", "nobody", "-R", d, "-d", "%M%S", "198.18.20.25:25", "10",
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    send = ("import smtplib\n"
            "s = smtplib.SMTP('198.18.20.1', 25, source_address=('198.18.20.25', 0), timeout=60)\n"
            "s.sendmail('a@example.net', ['taro@city.example.lg.jp'], "
            "'From: a@example.net\\r\\nTo: taro@city.example.lg.jp\\r\\nSubject: test\\r\\n"
            "Content-Type: text/html\\r\\n\\r\\n<p>hello <b>sekisho</b></p>\\r\\n')\n"
            "s.quit()\nprint('SENT')\n")
    r = sh("ip", "netns", "exec", lab.a, sys.executable, "-c", send, check_rc=False, timeout=120)
    ok = check(r.stdout.strip() == "SENT", f"lg-mail -> relay: accepted ({r.stderr.strip()[-200:]})")
    got = await_mail(d, set()) if ok else None
    body = ""
    if got is not None:
        part = got.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
    if not check(got is not None and got.get_content_type() == "text/plain" and "hello sekisho" in body
                 and "<b>" not in body and "html-to-text" in str(got.get("X-Sekisho-Sanitized", "")),
                 "the relay delivered it to the LGWAN mail server, sanitised (HTML -> text) by the milter"):
        print(str(got)[-1500:] if got is not None else "nothing arrived")
        print(con.run("postqueue -p | tail -8; tail -15 /var/log/sekisho/mail.log")[1])
    if ok:
        attachment_test(lab, con, d)
    shutil.rmtree(d, ignore_errors=True)


def await_mail(d, seen, timeout=120):
    """The first mail smtp-sink wrote into D that is not in SEEN (parsed by
    Python's email), or None.  smtp-sink writes the file as the mail
    arrives: it is whole once its size stays the same for a second."""
    sizes = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for dp, _, fs in os.walk(d):
            for f in fs:
                path = os.path.join(dp, f)
                if path in seen:
                    continue
                size = os.path.getsize(path)
                if size > 0 and sizes.get(path) == size:
                    with open(path, "rb") as fh:
                        return email.message_from_bytes(fh.read(), policy=email.policy.default)
                sizes[path] = size
        time.sleep(1)
    return None


def attachment_test(lab, con, d):
    """A mail with a PNG attached: it arrives as text with a link; the
    worker (sekisho-cdrd, in its unit's sandbox) makes the copy; the LGWAN
    client downloads the rebuilt PNG through the portal.  D: the running
    smtp-sink's directory (the first mail's file is in it)."""
    seen = {os.path.join(dp, f) for dp, _, fs in os.walk(d) for f in fs}
    m = email.message.EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@example.net", "taro@city.example.lg.jp", "figure"
    m.set_content("the figure is attached\n")
    m.add_attachment(png_8x8(), maintype="image", subtype="png", filename="figure.png")
    send = ("import smtplib, sys\n"
            "s = smtplib.SMTP('198.18.20.1', 25, source_address=('198.18.20.25', 0), timeout=60)\n"
            "s.sendmail('a@example.net', ['taro@city.example.lg.jp'], sys.stdin.buffer.read())\n"
            "s.quit()\nprint('SENT')\n")
    r = subprocess.run(["ip", "netns", "exec", lab.a, sys.executable, "-c", send], input=m.as_bytes(),
                       capture_output=True, timeout=120)
    if not check(r.stdout.strip() == b"SENT", f"lg-mail -> relay: the mail with a PNG accepted ({r.stderr[-200:]!r})"):
        return
    got = await_mail(d, seen)
    text = ""
    if got is not None:
        part = got.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
    link = re.search(r"https://198\.18\.20\.1/m/([A-Za-z0-9_-]+)", text)
    names = [p.get_filename() for p in got.walk()] if got is not None else []
    if not check(got is not None and not any(names) and link is not None,
                 f"it arrived as text, nothing attached (Python email: {names}), with a portal link"):
        print(text[-1500:] if got is not None else "nothing arrived")
        return
    # the worker converts in its sandbox (software-emulated VM: allow time)
    rc, out = con.run("for i in $(seq 240); do ls /var/lib/sekisho/copies/ | grep -q '\\.copy\\.png$' && break; "
                      "sleep 1; done; ls -1 /var/lib/sekisho/copies/", timeout=300)
    if not check(re.search(r"\.copy\.png$", out, re.M) is not None,
                 f"sekisho-cdrd made the copy in its sandbox ({' '.join(out.split())[-120:]})"):
        print(con.run("journalctl -b -q --no-pager -u sekisho-cdrd | tail -8")[1])
        return
    st, page = https_body(lab, lab.a, "198.18.20.1", f"/m/{link.group(1)}")
    href = re.search(rb'href="(/m/[A-Za-z0-9_-]+/copy/\d+)"', page)
    if not check(st == 200 and href is not None, f"LGWAN client: the link's page names the copy (status {st})"):
        print(f"link {link.group(0)}\n{page[-600:]!r}")
        print(con.run("ls -ln /var/lib/sekisho/links /var/lib/sekisho/copies; "
                      "journalctl -b -q --no-pager -u sekisho-portal | tail -5; "
                      "sekisho-logexport export --key /etc/sekisho/audit.key --format jsonl /var/log/sekisho/portal "
                      "| tail -3")[1])
        return
    st, png = https_body(lab, lab.a, "198.18.20.1", href.group(1).decode())
    check(st == 200 and png.startswith(b"\x89PNG\r\n\x1a\n") and png != png_8x8(),
          f"LGWAN client: downloads the rebuilt PNG, not the original (status {st}, {len(png)} bytes)")
    rc, out = con.run("sekisho-logexport verify --key /etc/sekisho/audit.key /var/log/sekisho/cdr >/dev/null "
                      "&& echo VERIFIED; systemctl show -p NRestarts --value sekisho-cdrd")
    check(out.split() == ["VERIFIED", "0"], f"the worker's audit chain verifies, no restart ({' '.join(out.split())})")


if __name__ == "__main__":
    sys.exit(main())
