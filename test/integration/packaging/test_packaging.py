#!/usr/bin/env python3
"""The Debian packages in a clean chroot: install, upgrade with the
configuration kept, remove, purge.

    test_packaging.py [--work DIR] [--debs DIR]

The packages are built once per run by tools/deb (version V from
debian/changelog) and once more as V+pkgtest1 (tools/deb --version), unless
--debs names a directory holding both sets.  The chroot is a debootstrap of
Debian 12 (minbase) from the mirror the build host's apt uses (the first
Debian archive URI of /etc/apt/sources.list and sources.list.d), cached as a
tar in WORK; apt installs the dependencies from the same mirror (downloaded
packages cached in WORK/archives).  /run/systemd/system exists in the chroot,
so the maintainer scripts act as on a running box, and /usr/sbin/policy-rc.d
refuses every start (exit 101) and logs what was asked.  Checked:
  - sekisho-rules, -gateway, -mail, -portal and -tools alone: their files
    are in place, their units present, none enabled, no start asked for;
  - sekisho-appliance: /etc/sekisho as conffiles, the service users and
    groups, the directories with their owners and modes (tmpfiles), the
    units enabled and their start asked for (and refused by policy-rc.d);
  - upgrade to V+pkgtest1, whose appliance package also changes
    /etc/sekisho/sekisho.conf, after the operator changed it:
    --force-confold keeps the operator's file (the new one beside it as
    .dpkg-dist), nothing waits for an answer (stdin is /dev/null, every
    step has a timeout);
  - the appliance removed alone: its units disabled; installed again:
    enabled again;
  - remove: programs gone, /etc/sekisho kept, units disabled;
  - purge: /etc/sekisho and /var/lib/sekisho gone, the audit trail in
    /var/log/sekisho kept (docs/operations.md), no package left.
Root only: skips (77) without root unless CI=true, where it fails."""
import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("SEKISHO_SOURCE_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
SUITE = "bookworm"
OTHERS = ["sekisho-rules", "sekisho-gateway", "sekisho-mail", "sekisho-portal", "sekisho-tools"]
ALL = OTHERS + ["sekisho-appliance"]
failures = []
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def run(args, timeout, **kw):
    """Run a command with stdin closed and a time bound; raise with its output on failure."""
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout


def skip_or_fail(why):
    ci = os.environ.get("CI") == "true"
    print(("FAIL " if ci else "SKIP ") + why, flush=True)
    sys.exit(1 if ci else 77)


def host_mirror():
    """The first Debian archive (not security) the build host's apt uses."""
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*"))
    for f in files:
        try:
            text = open(f, encoding="utf-8").read()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.match(r"URIs:\s*(\S+)", line) or \
                re.match(r"deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s", line)
            if m and re.search(r"/debian/?$", m.group(1)):
                return m.group(1)
    return "http://deb.debian.org/debian"


class Chroot:
    def __init__(self, root, archives):
        self.root = root
        self.archives = archives
        self.mounts = []

    def mount(self):
        for d in ("proc", "var/cache/apt/archives"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        run(["mount", "-t", "proc", "proc", os.path.join(self.root, "proc")], 30)
        self.mounts.append(os.path.join(self.root, "proc"))
        run(["mount", "--bind", self.archives, os.path.join(self.root, "var/cache/apt/archives")], 30)
        self.mounts.append(os.path.join(self.root, "var/cache/apt/archives"))

    def umount(self):
        while self.mounts:
            subprocess.run(["umount", "-l", self.mounts.pop()], capture_output=True)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def sh(self, script, timeout=600):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LC_ALL": "C.UTF-8", "HOME": "/root"}
        return run(["chroot", self.root, "/bin/sh", "-ec", script], timeout, env=env)


APT = ("apt-get -y -q --no-install-recommends -o Dpkg::Options::=--force-confold "
       "-o Dpkg::Options::=--force-confdef -o Dpkg::Use-Pty=0")


def build(work, debs):
    """Both package sets: DEBS/v1 (the changelog's version) and DEBS/v2."""
    version = run(["dpkg-parsechangelog", "-l", os.path.join(SRC, "debian/changelog"), "-S", "Version"], 30).strip()
    v2 = version + "+pkgtest1"
    if debs:
        return version, v2, os.path.join(debs, "v1"), os.path.join(debs, "v2")
    out = os.path.join(work, "debs")
    shutil.rmtree(out, ignore_errors=True)
    for sub, args in (("v1", []), ("v2", ["--version", v2])):
        t = time.monotonic()
        run([os.path.join(SRC, "tools/deb"), "--out", os.path.join(out, sub)] + args, 2400)
        log(f"tools/deb {sub} ({version if sub == 'v1' else v2}) built in {time.monotonic() - t:.0f} s")
    return version, v2, os.path.join(out, "v1"), os.path.join(out, "v2")


def change_conffile(v2dir, v2, work):
    """Make V2's appliance package ship a changed sekisho.conf (the upgrade's conffile question)."""
    deb = glob.glob(os.path.join(v2dir, f"sekisho-appliance_{v2}_all.deb"))[0]
    x = os.path.join(work, "repack")
    shutil.rmtree(x, ignore_errors=True)
    run(["dpkg-deb", "-R", deb, x], 60)
    conf = os.path.join(x, "etc/sekisho/sekisho.conf")
    with open(conf, "a", encoding="utf-8") as f:
        f.write("\n# added in " + v2 + " (test_packaging: a changed conffile)\n")
    md5 = os.path.join(x, "DEBIAN/md5sums")
    lines = open(md5, encoding="utf-8").read().splitlines()
    digest = hashlib.md5(open(conf, "rb").read()).hexdigest()
    lines = [f"{digest}  etc/sekisho/sekisho.conf" if l.endswith("  etc/sekisho/sekisho.conf") else l for l in lines]
    open(md5, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    run(["dpkg-deb", "--root-owner-group", "-b", x, deb], 120)
    shutil.rmtree(x)


def base_tar(work, mirror):
    key = hashlib.sha256(f"{SUITE}\n{mirror}\npkgtest-base-v1\n".encode()).hexdigest()[:16]
    tar = os.path.join(work, f"base-{key}.tar")
    if os.path.exists(tar):
        return tar
    tmp = os.path.join(work, "base.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(work, "debootstrap-cache"), exist_ok=True)
    t = time.monotonic()
    run(["debootstrap", "--variant=minbase", f"--cache-dir={os.path.join(work, 'debootstrap-cache')}",
         SUITE, tmp, mirror], 1200)
    run(["tar", "-C", tmp, "--numeric-owner", "-cf", tar + ".tmp", "."], 300)
    os.replace(tar + ".tmp", tar)
    shutil.rmtree(tmp)
    for old in glob.glob(os.path.join(work, "base-*.tar")):
        if old != tar:
            os.unlink(old)
    log(f"debootstrap {SUITE} minbase from {mirror}: {time.monotonic() - t:.0f} s")
    return tar


def owner(c, p):
    out = c.sh(f"stat -c '%U:%G %a' {p}", 30).strip()
    return out


def enabled_links(c):
    return sorted(os.path.relpath(p, c.path("/etc/systemd/system"))
                  for p in glob.glob(c.path("/etc/systemd/system/*.wants/sekisho-*")))


def started(c):
    try:
        return [l for l in open(c.path("/var/log/policy-rc.log"), encoding="utf-8").read().splitlines()
                if "sekisho" in l]
    except FileNotFoundError:
        return []


def test(c, version, v2, v1dir, v2dir):
    # --- the chroot as a running box whose policy refuses every start
    c.sh("mkdir -p /run/systemd/system /tmp/v1 /tmp/v2", 30)
    with open(c.path("/usr/sbin/policy-rc.d"), "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\n# test_packaging: nothing starts in this chroot; what was asked is logged\n"
                "echo \"$*\" >>/var/log/policy-rc.log\nexit 101\n")
    os.chmod(c.path("/usr/sbin/policy-rc.d"), 0o755)
    for d, sub in ((v1dir, "v1"), (v2dir, "v2")):
        for deb in glob.glob(os.path.join(d, "*.deb")):
            shutil.copy(deb, c.path(f"/tmp/{sub}/"))
    # Postfix: a relay configured by the appliance's own files, no question
    c.sh("echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections", 60)
    t = time.monotonic()
    c.sh("apt-get -q update", 600)

    # --- the packages other than the appliance
    debs = " ".join(f"/tmp/v1/{p}_{version}_amd64.deb" for p in OTHERS)
    c.sh(f"{APT} install {debs}", 1800)
    log(f"installed {', '.join(OTHERS)} with their dependencies in {time.monotonic() - t:.0f} s")
    for p in ["/usr/sbin/sekisho-rulec", "/usr/sbin/sekisho-gatewayd", "/usr/sbin/sekisho-replay",
              "/usr/lib/sekisho/sekisho-netfilter", "/usr/sbin/sekisho-milter", "/usr/sbin/sekisho-cdr",
              "/usr/sbin/sekisho-cdrd", "/usr/lib/sekisho/sekisho-cdr-pdf", "/usr/sbin/sekisho-portal",
              "/usr/sbin/sekishoctl", "/usr/sbin/sekisho-logexport", "/usr/sbin/sekisho-metrics",
              "/usr/lib/sekisho/sekisho-ctl-audit", "/lib/systemd/system/sekisho-netfilter.service",
              "/lib/systemd/system/sekisho-gatewayd.service", "/lib/systemd/system/sekisho-milter.service",
              "/lib/systemd/system/sekisho-cdrd.service", "/lib/systemd/system/sekisho-metrics.timer",
              "/lib/systemd/system/sekisho-logexport@.service",
              "/usr/share/doc/sekisho-rules/examples/municipality.policy",
              "/usr/share/doc/sekisho-mail/copyright", "/usr/sbin/sekisho-upload",
              "/usr/share/man/man8/sekisho-rulec.8.gz", "/usr/share/man/ja/man8/sekisho-rulec.8.gz",
              "/usr/share/man/man5/sekisho-policy.5.gz", "/usr/share/man/man8/sekisho-cdr-pdf.8.gz",
              "/usr/share/man/man8/sekishoctl.8.gz", "/usr/share/locale/ja/LC_MESSAGES/sekisho.mo",
              "/usr/share/bash-completion/completions/sekishoctl",
              "/usr/share/man/man8/sekisho-milter.8.gz", "/usr/share/man/ja/man8/sekisho-cdrd.8.gz",
              "/usr/share/man/man8/sekisho-portal.8.gz", "/usr/share/man/ja/man8/sekisho-upload.8.gz",
              "/usr/share/bash-completion/completions/sekisho-portal"]:
        check(os.path.exists(c.path(p)), f"{p} installed")
    check(os.access(c.path("/usr/sbin/sekisho-rulec"), os.X_OK), "sekisho-rulec executable")
    check(c.sh("sekisho-rulec check /usr/share/doc/sekisho-rules/examples/municipality.policy >/dev/null && echo ok",
               60).strip() == "ok", "sekisho-rulec runs in the chroot (its libraries came as dependencies)")
    check(not os.path.exists(c.path("/etc/sekisho")), "no /etc/sekisho without the appliance package")
    check(enabled_links(c) == [], f"no sekisho unit enabled by the other packages ({enabled_links(c)})")
    check(started(c) == [], f"no start of a sekisho unit asked for by the other packages ({started(c)})")

    # --- the appliance
    t = time.monotonic()
    c.sh(f"{APT} install /tmp/v1/sekisho-appliance_{version}_all.deb", 1200)
    log(f"installed sekisho-appliance in {time.monotonic() - t:.0f} s")
    for p in ["/usr/share/man/man5/sekisho.conf.5.gz", "/usr/lib/sekisho/sekisho-site",
              "/usr/share/doc/sekisho/operations.md"]:
        check(os.path.exists(c.path(p)), f"{p} installed")
    conffiles = c.sh("dpkg-query -W -f='${Conffiles}' sekisho-appliance", 30)
    for p in ["/etc/sekisho/sekisho.conf", "/etc/sekisho/sanitizer.conf", "/etc/sekisho/policy.d/main.policy",
              "/etc/sekisho/policy.d/objects.policy"]:
        check(f" {p} " in conffiles, f"{p} is a conffile")
    for u in ["sekisho-gw", "sekisho-milter", "sekisho-log", "sekisho-cdr"]:
        ent = c.sh(f"getent passwd {u} || true", 30).strip()
        check(ent.endswith(":/nonexistent:/usr/sbin/nologin"), f"user {u} made by sysusers ({ent})")
        check("sekisho" in c.sh(f"id -nG {u} || true", 30).split(), f"{u} in group sekisho")
    for p, want in [("/var/lib/sekisho", "root:sekisho 750"), ("/var/log/sekisho", "root:sekisho 750"),
                    ("/var/log/sekisho/gateway", "sekisho-gw:sekisho-gw 700"),
                    ("/var/log/sekisho/sanitizer", "sekisho-milter:sekisho-milter 700"),
                    ("/var/lib/sekisho/quarantine", "sekisho-milter:sekisho-cdr 2750"),
                    ("/var/lib/sekisho/cdr-queue/new", "sekisho-cdr:sekisho-cdr 2770"),
                    ("/run/sekisho/milter", "sekisho-milter:postfix 750")]:
        got = owner(c, p) if os.path.isdir(c.path(p)) else "missing"
        check(got == want, f"{p} {want} by tmpfiles ({got})")
    links = enabled_links(c)
    for want in ["sysinit.target.wants/sekisho-netfilter.service",
                 "multi-user.target.wants/sekisho-gatewayd.service",
                 "multi-user.target.wants/sekisho-milter.service",
                 "multi-user.target.wants/sekisho-cdrd.service",
                 "timers.target.wants/sekisho-metrics.timer"]:
        check(want in links, f"{want} enabled by the appliance")
    # the portals' units, once their package ships them (issue 15)
    for unit in sorted(glob.glob(c.path("/lib/systemd/system/sekisho-portal*.service")) +
                       glob.glob(c.path("/lib/systemd/system/sekisho-upload*.service"))):
        name = os.path.basename(unit)
        check(any(l.endswith("/" + name) for l in links), f"{name} enabled by the appliance")
    asked = started(c)
    for u in ["sekisho-netfilter.service", "sekisho-gatewayd.service", "sekisho-milter.service"]:
        check(any(u in l and "start" in l for l in asked), f"start of {u} asked for (refused by policy-rc.d)")

    # --- upgrade, the operator's change kept
    with open(c.path("/etc/sekisho/sekisho.conf"), "a", encoding="utf-8") as f:
        f.write("SEKISHO_GATEWAYD_OPTS=--deny-budget 123  # the operator's change\n")
    c.sh("head -c 32 /dev/urandom >/etc/sekisho/audit.key && chmod 0600 /etc/sekisho/audit.key", 30)
    mine = open(c.path("/etc/sekisho/sekisho.conf"), encoding="utf-8").read()
    t = time.monotonic()
    debs = " ".join(f"/tmp/v2/{p}_{v2}_amd64.deb" for p in OTHERS) + f" /tmp/v2/sekisho-appliance_{v2}_all.deb"
    c.sh(f"{APT} install {debs}", 600)
    log(f"upgraded to {v2} in {time.monotonic() - t:.0f} s")
    vers = c.sh("dpkg-query -W -f='${Package} ${Version}\\n' 'sekisho-*'", 30).split("\n")
    check(all(l.split()[1] == v2 for l in vers if l.strip()) and len([l for l in vers if l.strip()]) == 6,
          f"every package at {v2} ({vers})")
    check(open(c.path("/etc/sekisho/sekisho.conf"), encoding="utf-8").read() == mine,
          "the operator's /etc/sekisho/sekisho.conf kept through the upgrade")
    dist = c.path("/etc/sekisho/sekisho.conf.dpkg-dist")
    check(os.path.exists(dist) and f"added in {v2}" in open(dist, encoding="utf-8").read(),
          "the package's new sekisho.conf beside it as .dpkg-dist")
    check(os.path.exists(c.path("/etc/sekisho/audit.key")), "the audit key kept through the upgrade")

    # --- the appliance removed alone: its units disabled, enabled again when it comes back
    c.sh(f"{APT} remove sekisho-appliance", 600)
    check(enabled_links(c) == [], f"appliance removed: its units disabled ({enabled_links(c)})")
    check(os.path.exists(c.path("/lib/systemd/system/sekisho-gatewayd.service")),
          "appliance removed: the units of the other packages still there")
    c.sh(f"{APT} install /tmp/v2/sekisho-appliance_{v2}_all.deb", 600)
    check("multi-user.target.wants/sekisho-gatewayd.service" in enabled_links(c),
          "appliance installed again: its units enabled again")

    # --- remove: configuration kept
    os.makedirs(c.path("/var/log/sekisho/gateway"), exist_ok=True)
    with open(c.path("/var/log/sekisho/gateway/marker"), "w", encoding="utf-8") as f:
        f.write("an audit record\n")
    c.sh(f"{APT} remove {' '.join(ALL)}", 600)
    check(not os.path.exists(c.path("/usr/sbin/sekisho-rulec")), "remove: programs gone")
    check(not os.path.exists(c.path("/lib/systemd/system/sekisho-gatewayd.service")), "remove: units gone")
    check(enabled_links(c) == [], f"remove: no sekisho unit left enabled ({enabled_links(c)})")
    check(open(c.path("/etc/sekisho/sekisho.conf"), encoding="utf-8").read() == mine,
          "remove: /etc/sekisho/sekisho.conf kept, with the operator's change")
    check(os.path.exists(c.path("/etc/sekisho/policy.d/main.policy")), "remove: the policy kept")

    # --- purge: configuration and state gone, the audit trail kept
    c.sh(f"{APT} purge {' '.join(ALL)}", 600)
    check(not os.path.exists(c.path("/etc/sekisho")), "purge: /etc/sekisho gone")
    check(not os.path.exists(c.path("/var/lib/sekisho")), "purge: /var/lib/sekisho gone")
    check(os.path.exists(c.path("/var/log/sekisho/gateway/marker")), "purge: the audit trail in /var/log/sekisho kept")
    left = c.sh("dpkg-query -W -f='${Package} ${Status}\\n' 'sekisho-*' 2>/dev/null || true", 30).strip()
    check(left == "" or all("not-installed" in l for l in left.splitlines()), f"purge: no sekisho package left ({left})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/var/tmp/sekisho-pkgtest")
    ap.add_argument("--debs", help="DIR with v1/ and v2/ from earlier tools/deb runs (skips the builds)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        skip_or_fail("needs root (debootstrap, chroot)")
    for tool in ["debootstrap", "dpkg-buildpackage", "dh", "lintian", "dpkg-deb"]:
        if not shutil.which(tool):
            skip_or_fail(f"missing {tool} (tools/packages.txt)")
    os.makedirs(a.work, exist_ok=True)
    work = os.path.realpath(a.work)
    mirror = host_mirror()
    log(f"mirror {mirror}, work {work}")
    version, v2, v1dir, v2dir = build(work, a.debs)
    change_conffile(v2dir, v2, work)
    tar = base_tar(work, mirror)
    archives = os.path.join(work, "archives")
    os.makedirs(os.path.join(archives, "partial"), exist_ok=True)
    root = tempfile.mkdtemp(prefix="root-", dir=work)
    c = Chroot(root, archives)
    try:
        run(["tar", "-C", root, "--numeric-owner", "-xf", tar], 300)
        c.mount()
        test(c, version, v2, v1dir, v2dir)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        check(False, f"step failed: {e}")
    finally:
        c.umount()
        # never through a mount that is still there (the host's /proc)
        if not any(os.path.ismount(c.path(m)) for m in ("proc", "var/cache/apt/archives")):
            shutil.rmtree(root, ignore_errors=True)
    log(f"{len(failures)} failure(s)")
    for f in failures:
        print("  " + f.splitlines()[0])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
