#!/usr/bin/env python3
"""sekisho-milter under a real systemd (sysd.py): Type=notify, STATUS=, the
watchdog, journal priorities (issue 16, item 4).

- the shipped unit says Type=notify, NotifyAccess=main, WatchdogSec=; the
  test's unit takes them (WatchdogSec=4s here, to be quick);
- started (a second's sleep before the exec): "activating" until
  READY=1, and once systemd says "active" the socket answers a milter
  negotiation;
- STATUS= counts the mails (one sent through the socket);
- the listener (libmilter's accept loop, the main thread) stopped from
  outside: the watchdog thread's self-probe gets no answer, it says so at
  crit and stops pinging; systemd kills the milter and starts it again;
- the journal: the crit line under -p warning, the routine "listening"
  line only above it."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sanitizer"))
import sysd  # noqa: E402
import milterclient  # noqa: E402

MILTER = os.path.abspath(sys.argv[1])
UNIT = "sekisho-test-milter.service"

run = sysd.Run("systemd-milter", "sekisho-milter")
c, tmp, key, m = run.c, run.dir, run.key, None
try:
    sock = os.path.join(tmp, "milter.sock")
    argv = [MILTER, "-s", "unix:" + sock, "--quarantine", os.path.join(tmp, "q"), "--audit-dir",
            os.path.join(tmp, "audit"), "--audit-key", key]
    # a second before the exec (the same process: NotifyAccess=main), so
    # that "activating" lasts long enough to be seen: the milter itself
    # is ready within milliseconds
    start = "/bin/sh -c 'sleep 1; exec " + " ".join(argv) + "'"
    m = sysd.Manager("milter", {UNIT: sysd.service("sekisho-milter under test", start, shipped=run.shipped,
                                                   WatchdogSec="4s", Restart="always", RestartSec="1s",
                                                   Environment="ASAN_OPTIONS=detect_leaks=0")})

    def answers():
        try:
            cl = milterclient.Client(sock)
            cl.negotiate()
            cl.close()
            return True
        except (OSError, EOFError, AssertionError):
            return False

    seen, ok = sysd.start_watching(m, UNIT, answers)
    c.true("activating, then active", seen[-1:] == ["active"] and "activating" in seen, seen)
    c.true("once active (READY=1), the socket answers a negotiation", ok is True)

    cl = milterclient.Client(sock)
    cl.negotiate()
    reply, mods = cl.message(b"From: a@example.com\nTo: soumu@lgwan.test\nSubject: test\n\nhello\n")
    cl.close()
    c.true("a mail is sanitised", reply[0] == b"c", reply)
    st = m.wait(lambda: "1 mails sanitised" in m.show(UNIT, "StatusText")["StatusText"], 8, step=0.2)
    c.true("STATUS= counts it", st, m.show(UNIT, "StatusText"))

    pid = m.host_pid(m.show(UNIT, "MainPID")["MainPID"])
    threads = sysd.thread_ids(pid) if pid else {}
    c.true("the watchdog is a thread of its own (milter-watchdog)", "milter-watchdog" in threads, threads)
    if pid:
        sysd.watchdog_trip(c, m, UNIT, pid, crit="does not answer its own socket")
        c.true("after the restart the socket answers again", m.wait(answers, 10, step=0.2))

    sysd.priorities(c, m, UNIT, "no progress", "listening on")
finally:
    run.end(m)
