#!/usr/bin/env python3
"""sekisho-cdrd under a real systemd (sysd.py): Type=notify, STATUS=, the
watchdog, journal priorities (issue 16, item 4).

- the shipped unit says Type=notify, NotifyAccess=main, a WatchdogSec=
  (only those lines change in it); the test's unit takes them
  (WatchdogSec=4s here);
- started: "activating" through the sandbox's start-up conversion, and
  once systemd says "active" the worker has said it runs (READY=1 comes
  after the self-test and the threads);
- STATUS= counts a job done (a PNG through the real sandbox);
- both workers busy with a conversion that takes its time (a sekisho-cdr
  wrapper that sleeps for files named slow*), one worker thread
  (cdrd-worker0) stopped from outside while it waits for its conversion:
  the main loop stops pinging and says which worker at crit; systemd kills
  the worker and starts it again.  (Not stopped while it naps: a thread
  stopped inside pthread_cond_timedwait after a wake-up can block glibc's
  next broadcast, which no stuck thread of a running process does);
- the journal: the crit line under -p warning, the routine lines (workers,
  a job's result) only above it."""
import base64
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sysd  # noqa: E402

CDRD, CDR, LIBEXEC = (os.path.abspath(a) for a in sys.argv[1:4])
UNIT = "sekisho-test-cdrd.service"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==")

run = sysd.Run("systemd-cdrd", "sekisho-cdrd")
c, tmp, key, m = run.c, run.dir, run.key, None
try:
    q, queue = os.path.join(tmp, "quarantine"), os.path.join(tmp, "queue")
    os.makedirs(q, mode=0o700)
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(queue, d))
    cli = os.path.join(tmp, "cdr-slow")
    with open(cli, "w") as f:
        f.write(f'#!/bin/sh\ncase "$*" in *"--name slow"*) exec sleep 600;; esac\nexec {CDR} "$@"\n')
    os.chmod(cli, 0o755)
    argv = [CDRD, "--queue", queue, "--quarantine", q, "--audit-dir", os.path.join(tmp, "audit"), "--audit-key", key,
            "--cdr", cli, "--libexec", LIBEXEC, "--workers", "2", "--yield-ms", "0"]
    m = sysd.Manager("cdrd", {UNIT: sysd.service("sekisho-cdrd under test", " ".join(argv), shipped=run.shipped,
                                                 WatchdogSec="4s", Restart="always", RestartSec="1s",
                                                 Environment="ASAN_OPTIONS=detect_leaks=0")})

    seen, said = sysd.start_watching(m, UNIT, lambda: "2 workers on" in m.journal(UNIT))
    c.true("activating (the sandbox's start-up conversion), then active", seen[-1:] == ["active"] and
           "activating" in seen, seen)
    c.true("once active (READY=1), the worker runs", said is True, m.journal(UNIT)[-1000:])
    c.true("STATUS= from the start", "0 jobs queued" in m.show(UNIT, "StatusText")["StatusText"],
           m.show(UNIT, "StatusText"))

    def enqueue(data, name, n):
        """one job in the documented format (docs/cdr.md): tmp/ then rename"""
        s = hashlib.sha256(data).hexdigest()
        with open(os.path.join(q, s + ".data"), "wb") as f:
            f.write(data)
        jid = "%016x-%08x" % (sysd.time.time_ns(), n)
        with open(os.path.join(queue, "tmp", jid), "w") as f:
            json.dump({"v": 1, "id": jid, "sha256": s, "name": name, "type": None, "message_id": "<t@test>",
                       "queue_id": "T%d" % n, "rcpt": ["soumu@lgwan.test"], "enqueued": int(sysd.time.time()),
                       "attempts": 0}, f)
        os.rename(os.path.join(queue, "tmp", jid), os.path.join(queue, "new", jid))
        return jid, s

    jid, s = enqueue(PNG, "dot.png", 1)
    st = m.wait(lambda: "1 done" in m.show(UNIT, "StatusText")["StatusText"], 60, step=0.2)
    c.true("STATUS= counts the job done", st, (m.show(UNIT, "StatusText"), m.journal(UNIT)[-1000:]))

    pid = m.host_pid(m.show(UNIT, "MainPID")["MainPID"])
    threads = sysd.thread_ids(pid) if pid else {}
    c.true("the worker threads are named (cdrd-worker0, cdrd-worker1)",
           "cdrd-worker0" in threads and "cdrd-worker1" in threads, threads)
    enqueue(PNG + b"1", "slow1.png", 2)
    enqueue(PNG + b"2", "slow2.png", 3)
    busy = m.wait(lambda: "2 running" in m.show(UNIT, "StatusText")["StatusText"], 20, step=0.2)
    c.true("both workers busy with a slow conversion", busy, m.show(UNIT, "StatusText"))
    if "cdrd-worker0" in threads:
        sysd.watchdog_trip(c, m, UNIT, threads["cdrd-worker0"], crit="worker 0 has made no progress")
        c.true("after the restart it runs again", m.wait(lambda: m.journal(UNIT).count("2 workers on") >= 2, 30))

    sysd.priorities(c, m, UNIT, "no progress", "workers on")
    info = m.journal(UNIT, "-p", "info")
    c.true("journalctl -p info: the job's result", f"{jid} {s[:16]} ok" in info, info[-800:])
    c.true("journalctl -p warning: not the job's result", jid not in m.journal(UNIT, "-p", "warning"))
finally:
    run.end(m)
