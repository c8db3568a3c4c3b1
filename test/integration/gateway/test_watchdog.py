#!/usr/bin/env python3
"""systemd readiness and watchdog of sekisho-gatewayd (issue 16, item 4),
with the sd_notify protocol spoken to a socket of this test (the machine
has no systemd as PID 1: the test plays its part).

- NOTIFY_SOCKET and WATCHDOG_USEC (2 s) given as systemd gives them: the
  daemon sends READY=1 with a STATUS= line once its queues are bound, then
  WATCHDOG=1 at least every second (half the interval) while it works;
- one queue thread stopped from outside (ptrace: PTRACE_SEIZE +
  PTRACE_INTERRUPT of that thread only, the others run on, as a thread
  stuck in a loop or a lock would be): the pings stop within the interval,
  and the daemon says which queue (at priority crit);
- systemd then kills it (SIGABRT) and runs ExecStopPost= (the fence): a new
  allowed flow does not cross while it is down (NFQUEUE without a reader
  drops: no bypass); after the restart the flow crosses again and the pings
  resume;
- priorities: with JOURNAL_STREAM naming the daemon's stderr, every line
  carries its syslog priority prefix ("<6>" ready, "<2>" the stall)."""
import ctypes
import os
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import Checker, Server, client  # noqa: E402

gwtest.need_root("gateway-watchdog")
c = Checker()

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


class Notify:
    """The systemd side: a datagram socket collecting (time, message)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)       # the daemon sends after dropping to sekisho-gw
        self.msgs = []
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data.decode(errors="replace")))

    def since(self, t0, what=None):
        with self.lock:
            return [(t, m) for t, m in self.msgs if t >= t0 and (what is None or what in m.split("\n"))]


tmp = tempfile.mkdtemp(prefix="sekisho-wd-")
os.chmod(tmp, 0o755)
nsock = os.path.join(tmp, "notify")
notify = Notify(nsock)
os.environ["NOTIFY_SOCKET"] = nsock
os.environ["WATCHDOG_USEC"] = "2000000"
t_start = time.monotonic()
lab = gwtest.new_lab("w")
servers = []
try:
    servers.append(Server(lab, "lgwan-wan", "0.0.0.0", 443))
    ready = gwtest.wait_for(lambda: notify.since(t_start, "READY=1"), 10)
    c.true("READY=1 once the queues are bound, with a STATUS line",
           bool(ready) and "STATUS=deciding on" in ready[0][1], ready)
    c.expect("an allowed flow crosses", client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, timeout=5), "open")
    t0 = time.monotonic()
    time.sleep(3.5)
    pings = [t for t, _ in notify.since(t0, "WATCHDOG=1")]
    gaps = [b - a for a, b in zip([t0] + pings, pings)]
    c.true("WATCHDOG=1 at least every second while every queue works (2 s interval)",
           len(pings) >= 3 and max(gaps) < 1.5, f"{len(pings)} pings, gaps {[round(g, 2) for g in gaps]}")

    # --- one queue thread stuck
    pid = lab.daemon_pid
    tid = None
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/comm") as f:
            if f.read().strip() == "gw-queue0":
                tid = int(t)
    c.true("the queue thread is named gw-queue0", tid is not None)
    stalled = False
    if tid:
        r1 = libc.ptrace(PTRACE_SEIZE, tid, None, None)
        r2 = libc.ptrace(PTRACE_INTERRUPT, tid, None, None)
        stalled = r1 == 0 and r2 == 0
        c.true("queue thread 0 stopped from outside (ptrace)", stalled, f"errno {ctypes.get_errno()}")
    t_stall = time.monotonic()
    time.sleep(4.0)
    late = [t - t_stall for t, _ in notify.since(t_stall + 1.6, "WATCHDOG=1")]
    c.true("no WATCHDOG=1 from 1.6 s after the stall on (systemd would restart it)", stalled and not late,
           f"pings at {[round(x, 2) for x in late]}")
    log = open(lab.log, errors="replace").read()
    c.true("the daemon says which queue stopped", "queue 0 has made no progress" in log, log[-500:])

    # --- systemd's part: SIGABRT, ExecStopPost= fence; the box stays closed
    if tid:
        libc.ptrace(PTRACE_DETACH, tid, None, None)
    lab.kill_daemon(signal.SIGABRT)
    lab.exec("gw", lab.netfilter, "fence", check=False)
    c.expect("while it restarts: a new allowed flow does not cross",
             client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443), "timeout")

    # --- journal priorities: stderr is "the journal" for the restarted daemon
    log = open(lab.log, errors="replace").read()   # the old helper has said its last word
    st = os.stat(lab.log)
    os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    t_restart = time.monotonic()
    lab.start_daemon()
    del os.environ["JOURNAL_STREAM"]
    ready = gwtest.wait_for(lambda: notify.since(t_restart, "READY=1"), 10)
    c.true("restarted: READY=1 again", bool(ready))
    c.expect("restarted: the allowed flow crosses again",
             client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, timeout=5), "open")
    time.sleep(2.5)
    c.true("restarted: the pings resume", len(notify.since(t_restart, "WATCHDOG=1")) >= 2)
    tail = open(lab.log, errors="replace").read()[len(log):]
    c.true("journal: lines carry their priority (<6> ready)", "<6>sekisho-gatewayd: ready:" in tail, tail[-600:])
    c.true("journal: nothing without a prefix",
           all(line.startswith("<") for line in tail.splitlines() if line.startswith("sekisho-gatewayd") or
               "sekisho-gatewayd:" in line), tail[-600:])
finally:
    for s in servers:
        s.kill()
    lab.down()
c.finish()
