"""Shared helpers of the gateway integration tests: the real lab (tools/lab)
with the sample policy plus a few test rules, listeners that record what
arrived, clients that bind their source address, and audit log reading.

The daemon runs as in production: as the packaged unprivileged user
`sekisho-gw` (firmware/sysusers.d/sekisho.conf; created here when missing)
with CAP_NET_ADMIN only, its control socket open to the group `sekisho`."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.machinery import SourceFileLoader

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.abspath(os.path.join(HERE, "..", "..", "..")))
sys.path.insert(0, os.path.join(SRC, "test", "integration"))
from netns import need_root, sh  # noqa: E402,F401

labmod = SourceFileLoader("sekisho_lab", os.path.join(SRC, "tools", "lab")).load_module()

GW_USER = "sekisho-gw"      # the packaged user and control group (firmware/sysusers.d)
CTL_GROUP = "sekisho"


def _run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def ensure_group(name):
    if _run("getent", "group", name).returncode != 0:
        _run("groupadd", "--system", "-f", name)
    r = _run("getent", "group", name)
    assert r.returncode == 0, f"cannot create group {name}"
    return int(r.stdout.split(":")[2])


def ensure_user(name, groups=(), comment="sekisho test"):
    """A system user without login or home (as sysusers.d would make it),
    member of groups; returns its uid."""
    for g in groups:
        ensure_group(g)
    if _run("getent", "passwd", name).returncode != 0:
        own = ["--gid", name] if _run("getent", "group", name).returncode == 0 else ["--user-group"]
        _run("useradd", "--system", *own, "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", "--comment", comment, name)
    r = _run("getent", "passwd", name)
    assert r.returncode == 0, f"cannot create user {name}"
    have = _run("id", "-nG", name).stdout.split()
    for g in groups:
        if g not in have:
            _run("usermod", "-aG", g, name)
    return int(r.stdout.split(":")[2])


def ensure_packaged_users():
    ensure_user(GW_USER, groups=(CTL_GROUP,), comment="sekisho gateway datapath (sekisho-gatewayd)")


def check_unprivileged(c, lab):
    """The daemon of the lab runs as its user with exactly CAP_NET_ADMIN."""
    st = {line.split(":")[0]: line.split(":", 1)[1].strip() for line in open(f"/proc/{lab.daemon_pid}/status")}
    uid = int(_run("id", "-u", lab.user).stdout)
    c.true("daemon runs as an unprivileged user", st["Uid"].split() == [str(uid)] * 4 and uid != 0,
           f"{lab.user}: {st['Uid']}")
    c.expect("daemon CapEff is exactly CAP_NET_ADMIN", st["CapEff"], "0000000000001000")
    c.expect("daemon CapPrm", st["CapPrm"], "0000000000001000")
    c.expect("daemon CapBnd", st["CapBnd"], "0000000000001000")
    c.expect("daemon NoNewPrivs", st.get("NoNewPrivs"), "1")

TEST_RULES = """
# --- gateway integration tests ---
host test-web6 2001:db8:30::60 description "v6 web host (test)"
service test-echo udp/7
service test-rej tcp/8081
rule "test v6 web" allow mgmt [admin-pcs, 2001:db8:40::/64] -> internet [test-web6] service http owner "test" description "IPv6 forward through the gateway"
rule "test udp echo" allow mgmt [admin-pcs] -> internet service test-echo owner "test" description "UDP through the gateway"
rule "test reject" reject lgwan [lg-clients] -> lgwan-wan [lgwan-asp] service test-rej owner "test" description "honest reject"
"""

SERVER = r"""
import socket, sys, threading
addr, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log_data = len(sys.argv) > 4
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
print('ready', flush=True)
def echo(c, a):
    print('tcp', a[0], flush=True)
    try:
        while True:
            d = c.recv(1000)
            if not d:
                break
            if log_data:
                for w in d.decode(errors='replace').split():
                    print('data', a[0], w, flush=True)
            c.sendall(d)
    except OSError:
        pass
    c.close()
s.settimeout(60)
if kind == 'tcp':
    s.listen(64)
    while True:
        try:
            c, a = s.accept()
        except socket.timeout:
            break
        threading.Thread(target=echo, args=(c, a), daemon=True).start()
else:
    while True:
        try:
            d, a = s.recvfrom(2000)
        except socket.timeout:
            break
        print('udp', a[0], d.decode(errors='replace'), flush=True)
        s.sendto(d, a)
"""

CLIENT = r"""
import socket, sys, time
src, dst, port, kind, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
if src != '-':
    s.bind((src, 0))
s.settimeout(timeout)
try:
    if kind == 'tcp':
        s.connect((dst, port)); s.sendall(b'ping'); d = s.recv(10)
    else:
        s.sendto(b'ping', (dst, port)); d = s.recv(10)
    print('open' if d == b'ping' else 'odd')
except (socket.timeout, TimeoutError):
    print('timeout')
except ConnectionRefusedError:
    print('refused')
except OSError as e:
    print('error', e.errno)
"""

# A long-lived flow: one line every period; prints the monotonic time of each
# echo received (CLOCK_MONOTONIC is shared by all namespaces).
STREAM = r"""
import select, socket, sys, time
# Sends datagrams (or lines) numbered 0..count-1 every period and reports
# every echo by the number it carries, whenever it arrives: an echo that is
# late is not a loss (the machine may be loaded); only a missing one is.
src, dst, port, kind, period, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), int(sys.argv[6])
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
s.bind((src, 0))
if kind == 'tcp':
    s.settimeout(2); s.connect((dst, port))
s.setblocking(False)
print('started', time.monotonic(), flush=True)
buf = b''
def drain(deadline):
    global buf
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return True
        try:
            d = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError as e:
            print('recverr', e.errno, time.monotonic(), flush=True)
            return False
        now = time.monotonic()
        if kind == 'tcp':
            if not d:
                print('closed', now, flush=True)
                return False
            buf += d
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                print('echo', int(line), now, flush=True)
        else:
            print('echo', int(d), now, flush=True)
ok = True
for i in range(count):
    t0 = time.monotonic()
    try:
        if kind == 'tcp':
            s.sendall(b'%d\n' % i)
        else:
            s.sendto(b'%d' % i, (dst, port))
    except BlockingIOError:
        pass
    except OSError as e:
        print('senderr', e.errno, time.monotonic(), flush=True)
        ok = False
        break
    if not drain(t0 + period):
        ok = False
        break
if ok:
    drain(time.monotonic() + 2.0)
print('done', time.monotonic(), flush=True)
"""


# Counts, on one host's link (argv: interface, port), the UDP datagrams to
# the port that arrive (IPv4 and IPv6), per source address, until stdin
# closes: an independent counter on the receiving side.
FLOOD_RECEIVER = r"""
import select, socket, struct, sys
ifname, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((ifname, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
print('ready', flush=True)
seen = {}
while True:
    r, _, _ = select.select([s, sys.stdin], [], [], 1.0)
    if sys.stdin in r:
        break
    if s not in r:
        continue
    while True:
        try:
            d, a = s.recvfrom(256, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
        if a[2] == socket.PACKET_OUTGOING:
            continue
        et = struct.unpack('!H', d[12:14])[0]
        if et == 0x0800 and d[23] == 17:
            ihl = (d[14] & 15) * 4
            dport = struct.unpack('!H', d[14 + ihl + 2:14 + ihl + 4])[0]
            src = socket.inet_ntop(socket.AF_INET, d[26:30])
        elif et == 0x86dd and d[20] == 17:
            dport = struct.unpack('!H', d[56:58])[0]
            src = socket.inet_ntop(socket.AF_INET6, d[22:38])
        else:
            continue
        if dport == port:
            seen[src] = seen.get(src, 0) + 1
print('counts', repr(seen), flush=True)
"""

# Sends UDP (argv: port, packets/s, seconds, SRC>DST...) to each destination in turn from a fixed source
# port per destination (one flow each), `rate` packets/s for `seconds`;
# prints how many it sent and over how long.
FLOOD_SENDER = r"""
import socket, sys, time
port, rate, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
pairs = [a.split('>') for a in sys.argv[4:]]
socks = []
for src, dst in pairs:
    s = socket.socket(socket.AF_INET6 if ':' in dst else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setblocking(False)
    socks.append((s, dst))
sent, t0 = 0, time.monotonic()
tick = 0.005
per_tick = max(1, int(rate * tick))
nxt = t0
while True:
    now = time.monotonic()
    if now - t0 >= seconds:
        break
    for _ in range(per_tick):
        s, dst = socks[sent % len(socks)]
        try:
            s.sendto(b'flood', (dst, port))
        except OSError:
            pass
        sent += 1
    nxt += tick
    if nxt > now:
        time.sleep(nxt - now)
print('sent', sent, time.monotonic() - t0, flush=True)
"""


def _drain(p, lines):
    """Append the words of every line p printed so far (its stdout is non-blocking)."""
    while True:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line.split())


class Server:
    def __init__(self, lab, host, addr, port, kind="tcp", log_data=False):
        self.p = subprocess.Popen(["ip", "netns", "exec", lab.ns(host), sys.executable, "-c", SERVER,
                                   addr, str(port), kind] + (["log"] if log_data else []),
                                  stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "ready"
        os.set_blocking(self.p.stdout.fileno(), False)
        self.lines = []

    def _read(self):
        _drain(self.p, self.lines)

    def seen(self):
        """Source addresses of every connection or datagram that arrived so far."""
        self._read()
        return [parts[1] for parts in self.lines if len(parts) >= 2 and parts[0] != "data"]

    def data(self):
        """Words received so far: TCP (with log_data) and UDP payloads."""
        self._read()
        return [p[2] for p in self.lines if len(p) >= 3 and p[0] in ("data", "udp")]

    def kill(self):
        self.p.kill()
        self.p.wait()


# One long-lived flow driven by the test: connect (TCP) or fix the 5-tuple
# (connected UDP socket), then send every word read on stdin and print every
# word that comes back.
CONN = r"""
import socket, sys, threading
src, dst, port, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(5)
s.connect((dst, port))
s.settimeout(None)
print('connected', flush=True)
def rx():
    while True:
        try:
            d = s.recv(2000)
        except OSError as e:
            print('error', e.errno, flush=True)
            return
        if not d and kind == 'tcp':
            print('closed', flush=True)
            return
        for w in d.decode(errors='replace').split():
            print('echo', w, flush=True)
threading.Thread(target=rx, daemon=True).start()
for line in sys.stdin:
    try:
        s.send(line.strip().encode() + b'\n')
    except OSError as e:
        print('senderr', e.errno, flush=True)
"""


class Conn:
    def __init__(self, lab, host, src, dst, port, kind="tcp"):
        self.p = subprocess.Popen(["ip", "netns", "exec", lab.ns(host), sys.executable, "-c", CONN, src, dst,
                                   str(port), kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = self.p.stdout.readline().strip()
        assert first == "connected", first
        os.set_blocking(self.p.stdout.fileno(), False)
        self.lines = []

    def send(self, word):
        self.p.stdin.write(word + "\n")
        self.p.stdin.flush()

    def echoes(self):
        _drain(self.p, self.lines)
        return [p[1] for p in self.lines if len(p) == 2 and p[0] == "echo"]

    def close(self):
        self.p.kill()
        self.p.wait()


def wait_for(cond, timeout):
    """Poll cond() until it is true or timeout seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


def client(lab, host, src, dst, port, kind="tcp", timeout=1.0):
    return lab.exec(host, sys.executable, "-c", CLIENT, src, dst, str(port), kind, str(timeout)).stdout.strip()


def stream(lab, host, src, dst, port, kind, period, count):
    return subprocess.Popen(["ip", "netns", "exec", lab.ns(host), sys.executable, "-c", STREAM, src, dst,
                             str(port), kind, str(period), str(count)], stdout=subprocess.PIPE, text=True)


def ping(lab, host, dst):
    fam = ["-6"] if ":" in dst else []
    r = lab.exec(host, "ping", *fam, "-c", "1", "-W", "1", dst)
    return "open" if r.returncode == 0 else "timeout"


def make_policy(tmpdir, extra=TEST_RULES, drop_line=None):
    """The sample policy (+ objects) with extra rules, written into tmpdir."""
    ex = os.path.join(SRC, "rules", "examples")
    for f in os.listdir(ex):
        if f.endswith(".policy"):
            shutil.copy(os.path.join(ex, f), tmpdir)
    path = os.path.join(tmpdir, "municipality.policy")
    text = open(path, encoding="utf-8").read()
    if drop_line:
        text = "\n".join(line for line in text.split("\n") if drop_line not in line)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + extra)
    return path


def audit_records(lab):
    """The gateway's audit records (without their MACs)."""
    return read_audit_dir(lab.audit_dir)


def read_audit_dir(d):
    """The records of every chain file in d (none if d does not exist)."""
    out = []
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(d, name), "rb") as f:
            for line in f:
                if line.endswith(b"\n"):
                    out.append(json.loads(line[:-1].rsplit(b',"mac":"', 1)[0] + b"}"))
    return out


def new_lab(tag, daemon=True, bootstrap=True, policy=None, capture=False, watch=True):
    """The lab with the daemon as the packaged user (created if missing);
    watch=False: the daemon's helper does not watch netfilter (--no-watch)."""
    ensure_packaged_users()
    build = os.environ.get("SEKISHO_BUILD_ROOT")
    prefix = f"skgw{os.getpid() % 100000}{tag}"
    tmp = tempfile.mkdtemp(prefix="sekisho-gwtest-")
    atexit.register(shutil.rmtree, tmp, True)
    pol = policy or make_policy(tmp)
    lab = labmod.GatewayLab(prefix=prefix, build=build, policy=pol, user=GW_USER, control_group=CTL_GROUP,
                            capture=capture, watch=watch)
    lab.tmp = tmp
    try:
        if bootstrap:
            lab.up(daemon=daemon)
        else:
            lab.up_network_only()
    except Exception:
        lab.down()
        raise
    return lab


class Checker:
    def __init__(self):
        self.failures = 0

    def expect(self, what, got, want):
        ok = got == want
        self.failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {got!r} (want {want!r})", flush=True)
        return ok

    def true(self, what, cond, detail=""):
        self.failures += not cond
        print(f"{'ok  ' if cond else 'FAIL'} {what}{': ' + str(detail) if detail else ''}", flush=True)
        return cond

    def finish(self):
        print("FAIL" if self.failures else "ok")
        sys.exit(1 if self.failures else 0)
