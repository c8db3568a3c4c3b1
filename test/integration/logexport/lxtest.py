"""Shared helpers of the sekisho-logexport integration tests.

Each test script is run by meson as: python3 test_X.py LOGEXPORT GENLOG.
Logs are written by genlog through the real audit writer (common/audit/audit.h)
into a temporary directory; TZ is Asia/Tokyo (the appliance's zone).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

LOGEXPORT = os.path.abspath(sys.argv[1])
GENLOG = os.path.abspath(sys.argv[2])
CI = os.environ.get("CI") == "true"

failures = 0


def check(what, ok, detail=""):
    """Record one check; print it like the other integration tests."""
    global failures
    if not ok:
        failures += 1
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
    return ok


def done():
    if failures:
        print(f"{failures} failure(s)")
        sys.exit(1)
    print("all passed")
    sys.exit(0)


def env():
    e = dict(os.environ)
    e["TZ"] = "Asia/Tokyo"
    e.setdefault("LC_ALL", "C.UTF-8")
    return e


class Workdir:
    def __init__(self, tag):
        self.path = tempfile.mkdtemp(prefix=f"lx-{tag}-")
        self.key = os.path.join(self.path, "audit.key")
        with open(os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(os.urandom(32))

    def sub(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def genlog(wd, d, *args):
    r = subprocess.run([GENLOG, d, wd.key, *map(str, args)], capture_output=True, text=True, env=env())
    if r.returncode != 0:
        raise RuntimeError(f"genlog failed: {r.stderr}")


def lx(*args, input=None, binary=False, timeout=120):
    """Run sekisho-logexport; returns CompletedProcess (text unless binary)."""
    return subprocess.run([LOGEXPORT, *map(str, args)], capture_output=True, text=not binary, env=env(),
                          input=input, timeout=timeout)


def audit_files(d):
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.startswith("audit-") and n.endswith(".jsonl"))


def lines_of(d):
    """Every line (bytes, no newline) of a directory's chain, in order."""
    out = []
    for p in audit_files(d):
        with open(p, "rb") as f:
            out.extend(f.read().split(b"\n")[:-1])
    return out


def records_of(d):
    return [json.loads(l) for l in lines_of(d)]


def need_program(prog, package):
    """Find prog; install package with apt-get if it is missing and we may.
    Exits 77 (skip) when it cannot be had, except under CI=true (fail)."""
    for cand in (shutil.which(prog), f"/usr/sbin/{prog}", f"/usr/bin/{prog}"):
        if cand and os.access(cand, os.X_OK):
            return cand
    if os.geteuid() == 0:
        r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package],
                           capture_output=True, text=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        for cand in (shutil.which(prog), f"/usr/sbin/{prog}", f"/usr/bin/{prog}"):
            if cand and os.access(cand, os.X_OK):
                return cand
        print(r.stdout[-2000:], r.stderr[-2000:])
    msg = f"{prog} (Debian package {package}) is not installed and could not be installed"
    if CI:
        print(msg + " (CI=true: failing instead of skipping)")
        sys.exit(1)
    print(msg + ": skipped")
    sys.exit(77)
