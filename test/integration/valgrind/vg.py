"""Shared helpers of the valgrind long runs: a wrapper that starts a daemon
under memcheck (one log per process: the gateway daemon forks its helper),
and the reading of those logs.

Pass criteria read from the logs (not only valgrind's exit status, because a
forked child's status is not the one the test waits for): no memcheck
error, no definitely or indirectly lost byte.  Still-reachable memory
(libmilter, gmime, glib and libxml2 keep allocations for the process's
lifetime) does not count.  --track-fds=yes output is reported: the fds
still open at exit that are not the standard three nor inherited from the
test are listed so that the test can require there are none."""
import glob
import os
import re
import shutil
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SUPPRESSIONS = os.path.join(HERE, "valgrind.supp")
FLAGS = ["--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
         "--track-fds=yes", "--num-callers=30",
         # no vgdb FIFOs in /tmp: a daemon that gave up root could not remove them
         "--vgdb=no",
 "--suppressions=" + SUPPRESSIONS]
CI = os.environ.get("CI") == "true"


def skip_or_fail(why):
    """No valgrind (or root) is a skip, except under CI=true where it fails."""
    print(("FAIL: " if CI else "SKIP: ") + why, flush=True)
    sys.exit(1 if CI else 77)


def need_valgrind():
    if not shutil.which("valgrind"):
        skip_or_fail("valgrind is not installed (tools/packages.txt)")
    return shutil.which("valgrind")


def wrapper(path, real, logdir, passthrough=None):
    """Write an executable shell script at path that runs real under
    memcheck with its log in logdir/vg.PID.log; when its first argument is
    passthrough (the daemon's client mode, e.g. "ctl"), real runs natively."""
    os.makedirs(logdir, exist_ok=True)
    os.chmod(logdir, 0o1777)    # the daemon may give up root before it forks
    vg = need_valgrind()
    lines = ["#!/bin/sh"]
    if passthrough:
        lines.append(f'[ "$1" = "{passthrough}" ] && exec "{real}" "$@"')
    lines.append(f'exec "{vg}" ' + " ".join(f'"{f}"' for f in FLAGS) +
                 f' "--log-file={logdir}/vg.%p.log" "{real}" "$@"')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    return path


_NUM = r"([0-9,]+)"


def _n(s):
    return int(s.replace(",", ""))


def parse(text):
    """One memcheck log: errors, definite and indirect bytes, the fds open at
    exit (number, path or description), and whether the run finished (the
    summary is there)."""
    r = {"errors": None, "definite": 0, "indirect": 0, "fds": [], "finished": False, "exec": False}
    # a forked child that went on to exec (the gateway daemon runs the
    # bootstrap so) leaves a log with the preamble only: valgrind stops
    # following it at the exec (--trace-children=no)
    body = [line for line in text.split("\n")
            if line.strip() and not re.match(r"==\d+== (Memcheck,|Copyright|Using Valgrind|Command:|Parent PID:|$)", line)]
    r["exec"] = not body
    m = re.findall(r"ERROR SUMMARY: " + _NUM + " errors", text)
    if m:
        r["errors"] = _n(m[-1])
        r["finished"] = True
    m = re.search(r"definitely lost: " + _NUM + " bytes", text)
    if m:
        r["definite"] = _n(m.group(1))
    m = re.search(r"indirectly lost: " + _NUM + " bytes", text)
    if m:
        r["indirect"] = _n(m.group(1))
    # "Open file descriptor N: PATH" / "Open AF_UNIX socket N: ..." and
    # below it the stack that opened it or "<inherited from parent>"
    for m in re.finditer(r"^==\d+== Open (?:file descriptor|AF_\w+ socket) (\d+):? ?(.*)\n((?:==\d+==[ \t]+\S.*\n)*)",
                         text, re.M):
        r["fds"].append((int(m.group(1)), m.group(2).strip(), m.group(3)))
    return r


def reports(text):
    """The records of a log that fail a run -- errors, definite and indirect
    leaks, the descriptors summary -- without the possibly lost and the
    suppressed ones; at most 30,000 characters."""
    out = []
    for rec in re.split(r"\n==\d+== ?\n", text):
        first = rec.split("\n", 1)[0]
        if "possibly lost in loss record" in first or "Memcheck, a memory" in first:
            continue
        if re.search(r"definitely lost in|indirectly lost in|Invalid|uninitialised|Conditional jump|Mismatched|"
                     r"free\(\)|overlap|Open (file descriptor|AF_)|FILE DESCRIPTORS|ERROR SUMMARY|Syscall param", first):
            out.append(rec)
    return "\n\n".join(out)[:30000]


def logs(logdir):
    """{pid: (parsed, text)} of every memcheck log in logdir."""
    out = {}
    for f in sorted(glob.glob(os.path.join(logdir, "vg.*.log"))):
        pid = int(f.rsplit(".", 2)[1])
        text = open(f, errors="replace").read()
        out[pid] = (parse(text), text)
    return out


def inherited(fd, what, stack):
    return fd <= 2 or "<inherited from parent>" in stack


def check(c, logdir, main_pid, allowed_fd=inherited):
    """Checks on every log of logdir (c: a gwtest.Checker-like object);
    main_pid's log must exist.  Prints a log whole when it shows a problem."""
    all_logs = logs(logdir)
    c.true("valgrind log of the daemon", main_pid in all_logs, f"pids {sorted(all_logs)}")
    for pid, (r, text) in sorted(all_logs.items()):
        who = "daemon" if pid == main_pid else f"child {pid}"
        if pid != main_pid and r["exec"]:
            continue    # went on to exec before doing anything memcheck reports
        ok = c.true(f"valgrind {who}: finished with a summary", r["finished"])
        ok &= c.expect(f"valgrind {who}: memcheck errors", r["errors"], 0)
        ok &= c.expect(f"valgrind {who}: definitely lost bytes", r["definite"], 0)
        ok &= c.expect(f"valgrind {who}: indirectly lost bytes", r["indirect"], 0)
        if pid == main_pid:
            extra = [(fd, what) for fd, what, stack in r["fds"] if not allowed_fd(fd, what, stack)]
            ok &= c.expect(f"valgrind {who}: descriptors left open at exit (--track-fds)", extra, [])
        if not ok:
            print(f"----- {os.path.join(logdir, f'vg.{pid}.log')}: the records that fail\n"
                  f"{reports(text)}\n-----", flush=True)
    return all_logs
