#!/usr/bin/env python3
"""sekisho-logexport forward --follow under a real systemd (sysd.py):
Type=notify, STATUS=, the watchdog, journal priorities (issue 16, item 4).

- the shipped sekisho-logexport@.service says Type=notify,
  NotifyAccess=main, a WatchdogSec=; the test's unit takes them
  (WatchdogSec=4s here) and forwards in cleartext (--plain, not 6514) to a
  collector of this test (octet-counted frames, RFC 6587);
- started while the collector is down: READY=1 once it has read its state
  and started retrying, STATUS= says so; the collector comes up and every
  record arrives, STATUS= counts them and names the last acknowledged seq;
- the loop stopped from outside (SIGSTOP: it has one thread): no more
  pings, systemd kills it and starts it again; the new one is ready once
  connected, and sends nothing twice (its state file);
- the journal: the retries under -p warning, the routine "connected" line
  only above it."""
import os
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sysd  # noqa: E402

LOGEXPORT, GENLOG = (os.path.abspath(a) for a in sys.argv[1:3])
UNIT = "sekisho-test-forward.service"


class Collector:
    """A syslog collector over plain TCP: octet-counted frames, counted."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.frames, self.conns, self.lock = [], 0, threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
            threading.Thread(target=self._read, args=(s,), daemon=True).start()

    def _read(self, s):
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                return
            buf += d
            while b" " in buf[:12]:
                n, _, rest = buf.partition(b" ")
                if len(rest) < int(n):
                    break
                with self.lock:
                    self.frames.append(rest[:int(n)])
                buf = rest[int(n):]


run = sysd.Run("systemd-forward", "sekisho-logexport@")
c, tmp, key, m = run.c, run.dir, run.key, None
try:
    chain = os.path.join(tmp, "gateway")
    r = subprocess.run([GENLOG, chain, key, "--count", "50"], capture_output=True, text=True)
    n = sum(open(os.path.join(chain, f), "rb").read().count(b"\n") for f in os.listdir(chain) if f.endswith(".jsonl"))
    c.true("a chain of 50 records and more (genlog)", r.returncode == 0 and n >= 50, r.stderr)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()   # nobody listens there yet
    argv = [LOGEXPORT, "forward", "--to", f"127.0.0.1:{port}", "--plain", "--key", key, "--state",
            os.path.join(tmp, "gateway.state"), "--follow", "--interval", "1", chain]
    m = sysd.Manager("forward", {UNIT: sysd.service("sekisho-logexport forward under test", " ".join(argv),
                                                    shipped=run.shipped, WatchdogSec="4s", Restart="always",
                                                    RestartSec="1s", Environment="ASAN_OPTIONS=detect_leaks=0")})
    status = lambda: m.show(UNIT, "StatusText")["StatusText"]  # noqa: E731
    seen, st = sysd.start_watching(m, UNIT, status)
    c.true("active while the collector is down (READY=1 once it started retrying)", seen[-1:] == ["active"], seen)
    c.true("STATUS= says it retries", st and st.startswith(f"retrying 127.0.0.1:{port}"), st)

    col = Collector(port)
    got = m.wait(lambda: len(col.frames) >= n, 40, step=0.2)
    c.true("the collector comes up: every record arrives", got, f"{len(col.frames)} frames")
    st = m.wait(lambda: f"{n} records sent" in status() and "connected" in status(), 10, step=0.2)
    c.true("STATUS= counts them and names the last acknowledged seq",
           st and status().startswith("connected to") and f"last acknowledged seq {n}" in status(), status())

    pid = m.host_pid(m.show(UNIT, "MainPID")["MainPID"])
    if pid:
        conns = col.conns
        sysd.watchdog_trip(c, m, UNIT, pid)
        c.true("the new one is ready once connected", col.conns > conns and status().startswith("connected to"),
               (conns, col.conns, status()))
    c.true("nothing sent twice (the state file)", len(col.frames) == n, (len(col.frames), n))

    sysd.priorities(c, m, UNIT, "retrying", "connected to")
finally:
    run.end(m)
