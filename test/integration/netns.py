"""Small helpers for tests that build hosts in network namespaces.

Every namespace name carries a run-specific prefix so that parallel or
leftover runs never collide; Lab.close() removes everything it made.  Only
addresses from 198.18.0.0/15 and 2001:db8::/32 are used, and only inside
namespaces this process created."""
import os
import subprocess
import sys
import time


def sh(*args, check=True, ns=None, **kw):
    cmd = list(args)
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def skip_or_fail(msg):
    """Exit 77 (skip), or 1 under CI=true, where nothing may be skipped."""
    if os.environ.get("CI") == "true":
        print(msg + " (CI=true: failing instead of skipping)")
        sys.exit(1)
    print(msg + ": skipped")
    sys.exit(77)


def need_root(what):
    """Return True when the test can run; exit 77 (skip) or 1 (under CI)."""
    if os.geteuid() == 0 and sh("ip", "netns", "list", check=False).returncode == 0:
        return True
    skip_or_fail(f"{what}: needs root and network namespaces")


def wait_for(cond, timeout, step=0.1):
    """cond()'s first true value within timeout seconds, else its last."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


class Lab:
    def __init__(self, tag):
        self.prefix = f"sk{os.getpid() % 100000}{tag}"
        self.spaces = []

    def ns(self, name):
        full = f"{self.prefix}-{name}"
        sh("ip", "netns", "add", full)
        self.spaces.append(full)
        sh("ip", "link", "set", "lo", "up", ns=full)
        return full

    def link(self, a, a_if, b, b_if):
        """veth pair: a_if in namespace a, b_if in namespace b."""
        tmp_a = f"v{os.getpid() % 10000}{len(self.spaces)}{a_if}"[:15]
        tmp_b = f"w{os.getpid() % 10000}{len(self.spaces)}{b_if}"[:15]
        sh("ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        sh("ip", "link", "set", tmp_a, "netns", a)
        sh("ip", "link", "set", tmp_b, "netns", b)
        sh("ip", "link", "set", tmp_a, "name", a_if, ns=a)
        sh("ip", "link", "set", tmp_b, "name", b_if, ns=b)
        sh("ip", "link", "set", a_if, "up", ns=a)
        sh("ip", "link", "set", b_if, "up", ns=b)

    def close(self):
        for s in self.spaces:
            sh("ip", "netns", "pids", s, check=False)
            for pid in sh("ip", "netns", "pids", s, check=False).stdout.split():
                sh("kill", "-9", pid, check=False)
            sh("ip", "netns", "del", s, check=False)
        self.spaces = []


LISTENER = r"""
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
kind = sys.argv[3]
s = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
if kind == 'tcp':
    s.listen(16)
print('ready', flush=True)
s.settimeout(30)
while True:
    try:
        if kind == 'tcp':
            c, a = s.accept(); c.sendall(b'hello'); c.close()
        else:
            d, a = s.recvfrom(100); s.sendto(b'hello', a)
    except socket.timeout:
        break
"""

CONNECT = r"""
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
kind = sys.argv[3]
s = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[4]))
try:
    if kind == 'tcp':
        s.connect((sys.argv[1], int(sys.argv[2]))); d = s.recv(10)
    else:
        s.sendto(b'x', (sys.argv[1], int(sys.argv[2]))); d = s.recv(10)
    print('open' if d == b'hello' else 'odd')
except (socket.timeout, TimeoutError):
    print('timeout')
except ConnectionRefusedError:
    print('refused')
except OSError as e:
    print('error', e.errno)
"""


def listen(ns, addr, port, kind="tcp"):
    p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", LISTENER, addr, str(port), kind],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def connect(ns, addr, port, kind="tcp", timeout=1.0):
    """'open', 'timeout', 'refused' or 'error N' as seen from ns."""
    return sh(sys.executable, "-c", CONNECT, addr, str(port), kind, str(timeout), ns=ns).stdout.strip()
