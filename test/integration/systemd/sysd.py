"""A real systemd manager for one test (issue 16, item 4), on a machine
whose PID 1 need not be systemd (this one's is not; CI's clean machine is
the same kind).

The manager is /lib/systemd/systemd --system as PID 1 of its own PID and
mount namespaces (unshare), so it supervises only what the test gives it:
  - a private tmpfs on /run: its units (/run/systemd/system), its notify
    socket, its journal (Storage=volatile: nothing reaches /var/log);
  - one target, sekisho-test.target, that wants journald and the test's
    units; every unit the test writes has DefaultDependencies=no;
  - sysinit.target, basic.target, the boot targets, systemd-tmpfiles-*
    and journald's /dev/log socket masked: booting the host's own units
    (tmpfiles' "D /tmp", postfix, nginx, /dev/log) would reach outside the
    namespace through the shared file system and network.  (Learnt the
    hard way: a plain `systemd --system` in a namespace boots
    multi-user.target and empties /tmp.)
The network and /tmp are the host's: the daemons talk to the test there.
Manager.close() kills the namespace's PID 1 (SIGKILL: every process of the
namespace dies with it) and removes the directory.

Root only: skip (77) without it, fail under CI=true."""
import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import netns  # noqa: E402

SYSTEMD = "/lib/systemd/systemd"
TARGET = "sekisho-test.target"
MASKED = ["sysinit.target", "basic.target", "multi-user.target", "graphical.target", "default.target",
          "local-fs.target", "remote-fs.target", "network.target", "network-online.target", "sockets.target",
          "timers.target", "paths.target", "swap.target", "getty.target", "rescue.target", "emergency.target",
          "systemd-tmpfiles-setup.service", "systemd-tmpfiles-setup-dev.service", "systemd-tmpfiles-clean.timer",
          "systemd-journald-dev-log.socket", "systemd-journald-audit.socket", "systemd-journal-flush.service",
          "syslog.socket", "rsyslog.service", "systemd-sysusers.service", "systemd-remount-fs.service"]
JOURNALD_CONF = """[Journal]
Storage=volatile
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitBurst=0
"""


def need_root(what):
    if not (os.geteuid() == 0 and os.path.exists(SYSTEMD) and shutil.which("unshare") and shutil.which("nsenter")):
        netns.skip_or_fail(f"{what}: needs root, systemd and util-linux's unshare/nsenter")


def unit_section(path, section="Service"):
    """The assignments of one section of a unit file (the shipped .in), in
    the file's order: [(name, value)], a name as often as it is assigned
    (SystemCallFilter= twice is two filters); a line ending in a backslash
    continues on the next (ExecStart=), comments are skipped."""
    got, cur, line = [], None, ""
    for raw in open(path, encoding="utf-8"):
        part = raw.rstrip("\n")
        if not line and part.lstrip().startswith(("#", ";")):
            continue
        if part.endswith("\\"):
            line += part[:-1] + " "
            continue
        line, whole = "", (line + part).strip()
        if whole.startswith("[") and whole.endswith("]"):
            cur = whole[1:-1]
            continue
        k, eq, v = whole.partition("=")
        if eq and cur == section:
            got.append((k.strip(), v.strip()))
    return got


def unit_props(path, names=("Type", "NotifyAccess", "WatchdogSec")):
    """The assignments of names in a unit file's [Service]: {name: value}."""
    return {k: v for k, v in unit_section(path) if k in names}


def service(description, exec_start, shipped=None, props=(), **kw):
    """A test unit: DefaultDependencies=no (nothing of the host's boot is
    pulled in), no core files, the shipped unit's Type=, NotifyAccess= and
    WatchdogSec= (shipped: the .in file), the assignments props
    ([(name, value)], in order: e.g. a shipped unit's hardening), then the
    keyword overrides (e.g. WatchdogSec="4s", Environment=...)."""
    lines = ["[Unit]", f"Description={description}", "DefaultDependencies=no", "", "[Service]"]
    for k, v in (unit_props(shipped) if shipped else {}).items():
        lines.append(f"{k}={v}")
    for k, v in props:
        lines.append(f"{k}={v}")
    lines += [f"ExecStart={exec_start}", "LimitCORE=0", "StandardOutput=journal", "StandardError=journal"]
    for k, v in kw.items():
        for one in (v if isinstance(v, list) else [v]):
            lines.append(f"{k}={one}")
    return "\n".join(lines) + "\n"


class Manager:
    def __init__(self, tag, units):
        self.dir = tempfile.mkdtemp(prefix=f"sekisho-sysd-{tag}-")
        os.chmod(self.dir, 0o755)
        self.units = list(units)
        ud = os.path.join(self.dir, "units")
        os.mkdir(ud)
        for name, text in units.items():
            with open(os.path.join(ud, name), "w") as f:
                f.write(text)
        with open(os.path.join(ud, TARGET), "w") as f:
            f.write("[Unit]\nDescription=sekisho test\nDefaultDependencies=no\n"
                    "Wants=systemd-journald.socket systemd-journald.service\n")
        with open(os.path.join(self.dir, "journald.conf"), "w") as f:
            f.write(JOURNALD_CONF)
        masks = " ".join(MASKED)
        script = (
            "set -e; mount --make-rprivate /; mount -t tmpfs -o mode=755 tmpfs /run; "
            "mkdir -p /run/systemd/system /run/systemd/journald.conf.d; "
            f"cp {ud}/* /run/systemd/system/; "
            f"for m in {masks}; do ln -sf /dev/null /run/systemd/system/$m; done; "
            f"cp {self.dir}/journald.conf /run/systemd/journald.conf.d/test.conf; "
            f"exec {SYSTEMD} --system --unit={TARGET} --log-target=journal --show-status=0")
        self.log = open(os.path.join(self.dir, "manager.log"), "wb")
        self.proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount", "--mount-proc", "sh", "-c", script],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.pid = None
        try:
            self._wait_up()
        except Exception:
            self.close()
            raise

    def _wait_up(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.pid is None:
                try:
                    kids = open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read().split()
                    if kids and open(f"/proc/{kids[0]}/comm").read().strip() == "systemd":
                        self.pid = int(kids[0])
                except OSError:
                    pass
            if self.pid and self.ctl("is-active", TARGET, check=False).stdout.strip() == "active" and \
                    self.ctl("is-active", "systemd-journald.service", check=False).stdout.strip() == "active":
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("the test's systemd did not come up: " + open(self.log.name, errors="replace").read())

    def run(self, *cmd, check=True, timeout=30):
        """cmd inside the manager's namespaces (systemctl, journalctl)."""
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "-p", "--"] + list(cmd), capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
        return r

    def ctl(self, *args, check=True):
        return self.run("systemctl", "--no-pager", *args, check=check)

    def show(self, unit, *props):
        out = self.ctl("show", unit, *[f"-p{p}" for p in props]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, unit, *args):
        """The unit's journal, messages only (-o cat), oldest first."""
        return self.run("journalctl", "--no-pager", "-o", "cat", "-u", unit, *args).stdout

    def oneshot(self, unit, said, timeout=60):
        """Start unit (Type=oneshot: systemctl returns once its process has
        ended) and wait until its journal has one of the texts said (its
        output reaches journald on a stream of its own, maybe after
        systemctl returned).  Returns (its exit status, or None when it did
        not run or was killed; the unit's journal)."""
        r = self.run("systemctl", "--no-pager", "start", unit, check=False, timeout=timeout)
        self.wait(lambda: any(t in self.journal(unit) for t in said), 5, step=0.1)
        # the start job succeeds only when the process exited 0 (systemd
        # then forgets ExecMainCode=); else ExecMainCode=1 (CLD_EXITED)
        # with its status, or it was killed, or never ran
        st = self.show(unit, "ExecMainCode", "ExecMainStatus")
        status = 0 if r.returncode == 0 else int(st["ExecMainStatus"]) if st.get("ExecMainCode") == "1" else None
        return status, self.journal(unit)

    def host_pid(self, ns_pid):
        """The host's pid of the manager's ns_pid (NSpid in /proc)."""
        mine = os.readlink(f"/proc/{self.pid}/ns/pid")
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{d}/ns/pid") != mine:
                    continue
                for line in open(f"/proc/{d}/status"):
                    if line.startswith("NSpid:") and int(line.split()[-1]) == int(ns_pid):
                        return int(d)
            except (OSError, ValueError):
                continue
        return None

    def wait(self, cond, timeout, step=0.05):
        return netns.wait_for(cond, timeout, step)

    def close(self):
        if self.pid:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        # the manager made its cgroups in the host's hierarchies (this
        # machine's PID 1 manages none): empty now, removed (rmdir leaves
        # any that is not)
        made = [os.path.join("system.slice", u) for u in self.units + ["systemd-journald.service"]]
        for h in os.listdir("/sys/fs/cgroup"):
            for d in made + ["system.slice", "init.scope"]:
                try:
                    os.rmdir(os.path.join("/sys/fs/cgroup", h, d))
                except OSError:
                    pass


PTRACE_SEIZE, PTRACE_INTERRUPT = 0x4206, 0x4207
__WALL = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def thread_ids(pid):
    """{thread name: tid} of a (host) pid."""
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            out[open(f"/proc/{pid}/task/{t}/comm").read().strip()] = int(t)
        except OSError:
            pass
    return out


def stick(tid):
    """Stop one thread from outside, as a thread stuck in a loop or a lock
    would be (ptrace: PTRACE_SEIZE + PTRACE_INTERRUPT; the process's other
    threads run on).  The thread stays stopped until the process is
    killed; a thread of ours collects its trace events (so that its real
    parent, systemd, sees it die).  True when it is stopped."""
    if _libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0 or _libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
        return False

    def reap():
        while True:
            try:
                _, st = os.waitpid(tid, __WALL)
            except ChildProcessError:
                return
            if os.WIFEXITED(st) or os.WIFSIGNALED(st):
                return

    threading.Thread(target=reap, daemon=True).start()
    return True


class Checker:
    def __init__(self):
        self.failures = 0

    def true(self, what, ok, detail=""):
        if not ok:
            self.failures += 1
        print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {str(detail)[-1500:]}" if detail and not ok else ""))
        return ok

    def finish(self):
        print(f"{self.failures} failure(s)" if self.failures else "all passed")
        sys.exit(1 if self.failures else 0)


def shipped(c, name):
    """firmware/systemd/NAME.service.in, the unit the packages ship, after
    checking that it says Type=notify, NotifyAccess=main and a WatchdogSec=."""
    src = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                             ".."))
    path = os.path.join(src, "firmware", "systemd", name + ".service.in")
    props = unit_props(path)
    c.true(f"the shipped {name}.service: Type=notify, NotifyAccess=main, a WatchdogSec=",
           props.get("Type") == "notify" and props.get("NotifyAccess") == "main" and bool(props.get("WatchdogSec")),
           props)
    return path


def make_key(path):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)


class Run:
    """One test's frame: root or skip, the checks, the shipped unit
    (checked), a directory with an audit key (.dir, .key; under base,
    default the temporary directory); run.end(m) stops the manager, calls
    the functions of .after (what must outlive the manager's processes),
    removes the directory and exits with the result."""

    def __init__(self, test, name, base=None):
        need_root(test)
        self.c = Checker()
        self.shipped = shipped(self.c, name)
        self.dir = tempfile.mkdtemp(prefix=f"{test}-", dir=base)
        self.key = os.path.join(self.dir, "audit.key")
        self.after = []
        make_key(self.key)

    def end(self, m):
        # called from the test's finally: an exception on its way out is a
        # failure (sys.exit here would otherwise swallow it and pass); a
        # skip (SystemExit 77) goes on out
        exc = sys.exc_info()[1]
        if m:
            m.close()
        for f in self.after:
            f()
        shutil.rmtree(self.dir, ignore_errors=True)
        if isinstance(exc, SystemExit):
            raise exc
        if exc is not None:
            traceback.print_exception(exc)
            self.c.true("the test ran to its end", False, repr(exc))
        self.c.finish()


class SystemUser:
    """A throw-away system user with its own group, as a package's
    sysusers.d line makes one (sekisho-cdr: firmware/sysusers.d/sekisho.conf), for a test
    unit's User=/Group=; close() removes both (also first, should a killed
    run have left them).  .uid, .gid."""

    def __init__(self, name):
        self.name = name
        if not shutil.which("useradd"):
            netns.skip_or_fail(f"{name}: needs useradd (passwd)")
        self.close()
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        pw = pwd.getpwnam(name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def close(self):
        """userdel refuses while a process of the user runs: call it once
        the manager that ran them is gone"""
        subprocess.run(["userdel", self.name], capture_output=True)
        subprocess.run(["groupdel", self.name], capture_output=True)


def start_watching(m, unit, when_active, timeout=60):
    """Start unit without waiting and watch its state every 20 ms.  Returns
    (the states seen in order, when_active()'s value at the first "active"
    -- what must already be true once systemd has READY=1)."""
    m.ctl("start", "--no-block", unit)
    seen, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        st = m.show(unit, "ActiveState")["ActiveState"]
        if not seen or seen[-1] != st:
            seen.append(st)
        if st == "active":
            return seen, when_active()
        if st == "failed":
            break
        time.sleep(0.02)
    return seen, None


def priorities(c, m, unit, warned, routine):
    """journalctl -p warning shows the line with warned and none with
    routine; -p info shows routine (each line carried its priority)."""
    warn, info = m.journal(unit, "-p", "warning"), m.journal(unit, "-p", "info")
    c.true(f"journalctl -p warning: {warned!r}", warned in warn, warn)
    c.true(f"journalctl -p warning: no routine line ({routine!r})", routine not in warn, warn)
    c.true(f"journalctl -p info: the routine line ({routine!r})", routine in info, info[-800:])


def watchdog_trip(c, m, unit, tid, crit=None, wd_s=4):
    """Stop thread tid (host) of unit's main process (ptrace, see stick;
    crit=None: a single-threaded process, stopped whole with SIGSTOP) and
    check systemd's side: the pings stop (WatchdogTimestamp no longer
    moves), the daemon says why at crit (when crit is given: the text),
    systemd kills it for the watchdog (SIGABRT, then SIGCONT) and starts it
    again (a new main process, active)."""
    before = m.show(unit, "MainPID", "NRestarts", "WatchdogTimestampMonotonic")
    c.true(f"{unit}: watchdog pings arrive", int(before["WatchdogTimestampMonotonic"] or 0) > 0, before)
    if crit:
        c.true(f"{unit}: the thread is stopped from outside (ptrace)", stick(tid))
    else:
        os.kill(tid, signal.SIGSTOP)
    t0 = time.monotonic()
    if crit:
        said = m.wait(lambda: crit in m.journal(unit, "-p", "crit"), wd_s + 3, step=0.2)
        c.true(f"{unit}: says at crit why it stops pinging ({crit!r})", said, m.journal(unit)[-1500:])
    else:
        time.sleep(1.2)   # a ping sent just before the stop has arrived
    last = m.show(unit, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]
    time.sleep(1.0)
    again = m.show(unit, "WatchdogTimestampMonotonic", "MainPID")
    c.true(f"{unit}: no WATCHDOG=1 after that", again["MainPID"] != before["MainPID"] or
           again["WatchdogTimestampMonotonic"] == last, (last, again))
    restarted = m.wait(lambda: (lambda s: s["ActiveState"] == "active" and s["MainPID"] not in ("0", before["MainPID"])
                                and int(s["NRestarts"]) > int(before["NRestarts"]))(
        m.show(unit, "ActiveState", "MainPID", "NRestarts")), 3 * wd_s + 20, step=0.2)
    log = m.journal(unit)
    c.true(f"{unit}: systemd kills it for the watchdog", "Watchdog timeout" in log, log[-1500:])
    c.true(f"{unit}: and starts it again ({time.monotonic() - t0:.1f} s after the stop)", bool(restarted),
           m.show(unit, "ActiveState", "MainPID", "NRestarts", "Result"))
    return restarted
