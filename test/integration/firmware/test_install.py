#!/usr/bin/env python3
"""`meson install --destdir TMP` from this build directory: every file of the
appliance is in its FHS place (relative to the configured prefix; with
prefix=/usr exactly /usr/sbin, /etc/sekisho, /usr/lib/systemd/system, ...)
with its mode, nothing else is installed, and every absolute path the units
and sekishoctl name (ExecStart, EnvironmentFile, LoadCredential, the tools'
defaults) is a file that was installed.  The sysctl, sysusers and tmpfiles
files are checked for the settings the appliance depends on."""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

BUILD = os.environ["SEKISHO_BUILD_ROOT"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def option(opts, name):
    return next(o["value"] for o in opts if o["name"] == name)


def main():
    opts = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", BUILD],
                                     check=True, capture_output=True, text=True).stdout)
    prefix = option(opts, "prefix")
    sbindir = os.path.join(prefix, option(opts, "sbindir"))
    sysconfdir = os.path.join(prefix, option(opts, "sysconfdir"))
    datadir = os.path.join(prefix, option(opts, "datadir"))
    lib = os.path.join(prefix, "lib")
    if prefix == "/usr":
        check(sbindir == "/usr/sbin" and sysconfdir == "/etc", "prefix /usr: /usr/sbin and /etc")

    X, R = 0o755, 0o644
    expect = {}
    for b in ("sekisho-rulec", "sekisho-gatewayd", "sekisho-replay", "sekisho-milter", "sekisho-sanitize",
              "sekisho-quarantine", "sekisho-logexport", "sekishoctl", "sekisho-cdr", "sekisho-cdrd",
              "sekisho-metrics", "sekisho-portal", "sekisho-upload"):
        expect[os.path.join(sbindir, b)] = X
    # the CDR converters (issue 14) run only inside the sandbox: libexec, not sbin
    for b in ("sekisho-netfilter", "sekisho-site", "sekisho-ctl-audit", "sekisho-ha-check", "sekisho-ha-notify",
              "sekisho-cdr-image", "sekisho-cdr-ooxml", "sekisho-cdr-office", "sekisho-cdr-text",
              "sekisho-cdr-archive", "sekisho-cdr-pdf"):
        expect[os.path.join(lib, "sekisho", b)] = X
    for u in ("sekisho-netfilter.service", "sekisho-gatewayd.service", "sekisho-milter.service",
              "sekisho-cdrd.service", "sekisho-logexport@.service", "sekisho-metrics.service",
              "sekisho-metrics.timer", "sekisho-portal.service", "sekisho-upload.service"):
        expect[os.path.join(lib, "systemd/system", u)] = R
    # the Japanese message catalogue (po/, docs/i18n.md)
    expect[os.path.join(datadir, "locale/ja/LC_MESSAGES/sekisho.mo")] = R
    # sekisho-metrics' MIB for snmptranslate and the NMS (docs/metrics.md)
    expect[os.path.join(datadir, "snmp/mibs/SEKISHO-MIB.txt")] = R
    expect[os.path.join(lib, "sysctl.d/50-sekisho.conf")] = R
    expect[os.path.join(lib, "sysusers.d/sekisho.conf")] = R
    expect[os.path.join(lib, "tmpfiles.d/sekisho.conf")] = R
    for f in ("sekisho.conf", "sanitizer.conf", "logexport.conf.example", "snmpd.sekisho.conf", "portal.conf",
              "policy.d/main.policy",
              "policy.d/objects.policy"):
        expect[os.path.join(sysconfdir, "sekisho", f)] = R
    for f in ("postfix/main.cf", "postfix/master.cf"):
        expect[os.path.join(datadir, "sekisho", f)] = R
    for f in ("keepalived.conf.in", "conntrackd.conf.in", "ha.policy.example", "sysctl-ha.conf"):
        expect[os.path.join(datadir, "sekisho/ha", f)] = R
    for f in ("operations.md", "ha.md", "portal.md"):
        expect[os.path.join(datadir, "doc/sekisho", f)] = R

    dest = tempfile.mkdtemp(prefix="sekisho-install-")
    try:
        r = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild", "--quiet"],
                           capture_output=True, text=True)
        check(r.returncode == 0, "meson install --destdir exits 0 " + (r.stderr.strip()[-300:] if r.returncode else ""))
        got = {}
        for root, _dirs, files in os.walk(dest):
            for f in files:
                p = os.path.join(root, f)
                got["/" + os.path.relpath(p, dest)] = stat.S_IMODE(os.lstat(p).st_mode)
        # the man pages and bash completions: which exist is checked by
        # test/man (every installed program has a page); here their place and mode
        docs = {p: m for p, m in got.items()
                if p.startswith((os.path.join(datadir, "man") + "/",
                                 os.path.join(datadir, "bash-completion/completions") + "/"))}
        check(any("/man8/sekisho-rulec.8" in p for p in docs) and any(p.endswith("/completions/sekishoctl")
                                                                      for p in docs),
              "man pages in share/man, completions in share/bash-completion/completions")
        check(all(m == R for m in docs.values()), "man pages and completions are 0644")
        got = {p: m for p, m in got.items() if p not in docs}
        missing = sorted(set(expect) - set(got))
        extra = sorted(set(got) - set(expect))
        check(not missing, "every expected file installed (missing: %s)" % missing)
        check(not extra, "nothing else installed (extra: %s)" % extra)
        wrong = sorted((p, oct(got[p]), oct(m)) for p, m in expect.items() if p in got and got[p] != m)
        check(not wrong, "modes (wrong: %s)" % wrong)
        for p in got:
            check(stat.S_ISREG(os.lstat(dest + p).st_mode), "%s is a regular file" % p)

        def text(p):
            with open(dest + p, encoding="utf-8") as f:
                return f.read()

        # every absolute path named by a unit or sekishoctl's defaults was installed
        # (state, log and run paths are made by tmpfiles; system tools by Debian)
        ours = re.compile(r"(%s|%s|%s)/[A-Za-z0-9_.@/-]+" % tuple(re.escape(d) for d in (
            sbindir, os.path.join(lib, "sekisho"), os.path.join(sysconfdir, "sekisho"))))
        named = set()
        for p in got:
            if "/systemd/system/" in p or p.endswith("/sekishoctl"):
                for m in ours.finditer(text(p)):
                    named.add(m.group(0).rstrip("."))
        # made on the box: the audit key, the portals' certificates (site or first boot)
        optional = {os.path.join(sysconfdir, "sekisho", f) for f in (
            "audit.key", "logexport.conf", "metrics.conf",
            "tls/portal.crt", "tls/portal.key", "tls/upload.crt", "tls/upload.key")}
        unresolved = sorted(n for n in named - optional if n not in got)
        check(len(named) >= 10 and not unresolved, "paths named by units and sekishoctl exist (%d named; missing: %s)"
              % (len(named), unresolved))
        leftover = [p for p in got if p.endswith((".service", "sekishoctl")) and re.search(r"@[A-Z]+@", text(p))]
        check(not leftover, "no unsubstituted @VAR@ left (%s)" % leftover)

        units = {os.path.basename(p): text(p) for p in got if "/systemd/system/" in p}
        nf = units["sekisho-netfilter.service"]
        check(re.search(r"^Before=.*network-pre\.target", nf, re.M) and "Wants=network-pre.target" in nf
              and "DefaultDependencies=no" in nf, "bootstrap ordered before network-pre.target")
        check(re.search(r"^ExecStop", nf, re.M) is None, "bootstrap never lifts the ruleset on stop")
        check(re.search(r"^Conflicts=.*\bnftables\.service\b.*\bnetfilter-persistent\.service\b", nf, re.M),
              "bootstrap conflicts with nftables.service and netfilter-persistent.service")
        for name in ("sekisho-gatewayd.service", "sekisho-milter.service", "sekisho-cdrd.service",
                     "sekisho-logexport@.service", "sekisho-portal.service", "sekisho-upload.service"):
            u = units[name]
            for need in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "MemoryMax=",
                         "Restart=always", "StartLimitIntervalSec=", "StartLimitBurst=",
                         "SystemCallFilter=@system-service", "CapabilityBoundingSet="):
                check(need in u, "%s: %s" % (name, need))
            check(re.search(r"^User=sekisho-", u, re.M) is not None, "%s: a dedicated user" % name)
        gw = units["sekisho-gatewayd.service"]
        check(re.search(r"^CapabilityBoundingSet=CAP_NET_ADMIN$", gw, re.M)
              and re.search(r"^AmbientCapabilities=CAP_NET_ADMIN$", gw, re.M), "gatewayd: CAP_NET_ADMIN only")
        check(re.search(r"^CapabilityBoundingSet=$", units["sekisho-milter.service"], re.M) is not None,
              "milter: no capability")
        cu = units["sekisho-cdrd.service"]
        # loopback only: its own mail to Postfix's 127.0.0.1:10026 (docs/portal.md);
        # AF_NETLINK and sethostname: bubblewrap needs them in the sandbox's own
        # namespaces (without either no conversion worked: the image boot test)
        check(re.search(r"^SystemCallFilter=@system-service .*\bsethostname\b", cu, re.M) is not None
              and re.search(r"^ProtectHostname=", cu, re.M) is None,
              "cdrd: sethostname allowed (bubblewrap's --hostname), no ProtectHostname=")
        for need in ("CapabilityBoundingSet=", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
                     "IPAddressDeny=any", "IPAddressAllow=localhost",
                     "User=sekisho-cdr", r"TasksMax=\d+", r"MemoryMax=\d+[KMG]?"):
            check(re.search("^" + need + "$", cu, re.M) is not None, "cdrd: " + need)
        for d in ("copies", "links", "portal-queue", "releases", "inbox", "transfer"):
            check("--%s /var/lib/sekisho/%s " % (d, d) in cu, "cdrd: --%s /var/lib/sekisho/%s" % (d, d))
        # the portals: CAP_NET_BIND_SERVICE only (443), no loopback (Postfix's
        # milter-less listener is the worker's), the originals invisible,
        # certificate and key as credentials, skipped without an address
        portal_conf = text(os.path.join(sysconfdir, "sekisho/portal.conf"))
        for name, listen, hidden in (("sekisho-portal.service", "SEKISHO_PORTAL_LISTEN",
                                      ("quarantine", "transfer", "inbox", "upload")),
                                     ("sekisho-upload.service", "SEKISHO_UPLOAD_LISTEN",
                                      ("quarantine", "transfer", "copies", "links", "releases", "portal",
                                       "portal-queue"))):
            u = units[name]
            short = name.split(".")[0].split("-")[1]
            for need in ("CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                         "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "IPAddressDeny=localhost",
                         "User=sekisho-" + short, "RestrictNamespaces=yes", "MemoryDenyWriteExecute=yes",
                         r"MemoryMax=\d+[KMG]?", r"TasksMax=\d+", "PrivateDevices=yes",
                         "EnvironmentFile=-%s/sekisho/portal.conf" % sysconfdir,
                         "LoadCredential=%s.key:%s/sekisho/tls/%s.key" % (short, sysconfdir, short),
                         "ConditionPathExists=%s/sekisho/tls/%s.key" % (sysconfdir, short)):
                check(re.search("^" + need + "$", u, re.M) is not None, "%s: %s" % (name, need))
            check(re.search(r"^ExecCondition=.*test -n \"\$%s\"" % listen, u, re.M) is not None
                  and re.search(r"^%s=$" % listen, portal_conf, re.M) is not None,
                  "%s: skipped while portal.conf names no address (%s= as shipped)" % (name, listen))
            inacc = " ".join(m.group(1) for m in re.finditer(r"^InaccessiblePaths=(.*)$", u, re.M)).split()
            for d in hidden:
                check("-/var/lib/sekisho/" + d in inacc, "%s: /var/lib/sekisho/%s inaccessible" % (name, d))
            check("--listen ${%s}" % listen in u and "--audit-dir /var/log/sekisho/%s " % short in u,
                  "%s: listens where portal.conf says, its own audit chain" % name)
        pu = units["sekisho-portal.service"]
        for d, opt in (("links", "links"), ("copies", "copies"), ("releases", "releases"),
                       ("portal-queue", "queue"), ("portal", "state")):
            check("--%s /var/lib/sekisho/%s " % (opt, d) in pu, "portal: --%s /var/lib/sekisho/%s" % (opt, d))
        check("--inbox /var/lib/sekisho/inbox " in units["sekisho-upload.service"], "upload: --inbox")
        # Postfix's own-mail listener: loopback, no milter, LGWAN domains only
        mcf = text(os.path.join(datadir, "sekisho/postfix/master.cf"))
        own = re.search(r"^127\.0\.0\.1:10026 +inet .*smtpd\n((?:  -o .*\n)+)", mcf, re.M)
        check(own is not None and "  -o smtpd_milters=\n" in own.group(1)
              and "reject_unauth_destination" in own.group(1),
              "master.cf: 127.0.0.1:10026 without milter, relay domains only")
        check("--queue /var/lib/sekisho/cdr-queue" in cu and "--cdr-queue /var/lib/sekisho/cdr-queue"
              in text(os.path.join(sysconfdir, "sekisho/sanitizer.conf")), "cdrd and the milter name the same queue")

        sysctl = text(os.path.join(lib, "sysctl.d/50-sekisho.conf"))
        for need in ("net.ipv4.conf.all.rp_filter = 1", "net.ipv4.conf.all.accept_redirects = 0",
                     "net.ipv6.conf.all.accept_redirects = 0", "net.ipv4.conf.all.send_redirects = 0",
                     "net.ipv4.conf.all.accept_source_route = 0", "net.ipv6.conf.all.accept_source_route = 0",
                     "net.ipv4.conf.default.forwarding = 0", "net.ipv4.conf.sk-mgmt.forwarding = 0"):
            check(need in sysctl, "sysctl: " + need)
        users = text(os.path.join(lib, "sysusers.d/sekisho.conf"))
        for u in ("sekisho-gw", "sekisho-milter", "sekisho-log", "sekisho-cdr", "sekisho-portal", "sekisho-upload"):
            check(re.search(r"^u %s\s" % u, users, re.M) is not None, "sysusers: user " + u)
        for u, g in (("sekisho-milter", "sekisho-link"), ("sekisho-cdr", "sekisho-link"),
                     ("sekisho-portal", "sekisho-link"), ("sekisho-cdr", "sekisho-portal")):
            check(re.search(r"^m %s\s+%s$" % (u, g), users, re.M) is not None, "sysusers: %s in %s" % (u, g))
        check(re.search(r"^m sekisho-upload\s+sekisho-(link|portal|cdr|milter)$", users, re.M) is None,
              "sysusers: the upload portal is in no group of the LGWAN side")
        check(re.search(r"^m sekisho-milter\s+sekisho-cdr$", users, re.M) is not None,
              "sysusers: the milter may write the CDR queue")
        tmpf = {}
        for line in text(os.path.join(lib, "tmpfiles.d/sekisho.conf")).splitlines():
            f = line.split()
            if f and f[0] == "d":
                tmpf[f[1]] = (f[2], f[3])
        for path, mode, owner in (("/var/lib/sekisho", "0750", "root"), ("/var/log/sekisho", "0750", "root"),
                                  ("/run/sekisho", "0755", "root"),
                                  ("/var/lib/sekisho/quarantine", "2750", "sekisho-milter"),
                                  ("/var/lib/sekisho/quarantine/cdr", "0750", "sekisho-cdr"),
                                  ("/var/lib/sekisho/cdr-queue", "2770", "sekisho-cdr"),
                                  ("/var/log/sekisho/cdr", "0700", "sekisho-cdr"),
                                  ("/var/log/sekisho/gateway", "0700", "sekisho-gw"),
                                  ("/run/sekisho/gateway", "0750", "sekisho-gw"),
                                  # the portals (docs/portal.md, "Directories")
                                  ("/var/lib/sekisho/copies", "2750", "sekisho-cdr"),
                                  ("/var/lib/sekisho/links", "2770", "root"),
                                  ("/var/lib/sekisho/portal-queue", "2770", "sekisho-cdr"),
                                  ("/var/lib/sekisho/portal-queue/new", "2770", "sekisho-cdr"),
                                  ("/var/lib/sekisho/releases", "2770", "sekisho-cdr"),
                                  ("/var/lib/sekisho/inbox", "3730", "sekisho-cdr"),
                                  ("/var/lib/sekisho/transfer", "0700", "sekisho-cdr"),
                                  ("/var/lib/sekisho/portal", "0700", "sekisho-portal"),
                                  ("/var/lib/sekisho/upload", "0700", "sekisho-upload"),
                                  ("/var/log/sekisho/portal", "0700", "sekisho-portal"),
                                  ("/var/log/sekisho/upload", "0700", "sekisho-upload")):
            check(tmpf.get(path) == (mode, owner), "tmpfiles: %s %s %s (got %s)" % (path, mode, owner, tmpf.get(path)))
        check(tmpf.get("/run/sekisho/milter") == ("0750", "sekisho-milter"), "tmpfiles: the milter's socket directory")
        tline = [l.split() for l in text(os.path.join(lib, "tmpfiles.d/sekisho.conf")).splitlines()
                 if l.startswith("d /run/sekisho/milter ")]
        check(tline and tline[0][4] == "postfix", "tmpfiles: the milter's socket directory is of group postfix")
        # Postfix, the unit and sanitizer.conf name the same socket, in that directory
        mu = units["sekisho-milter.service"]
        usock = re.search(r"SEKISHO_MILTER_SOCKET=(\S+)", mu)
        csock = re.search(r"^SEKISHO_MILTER_SOCKET=(\S+)$", text(os.path.join(sysconfdir, "sekisho/sanitizer.conf")), re.M)
        pmil = re.search(r"^smtpd_milters = (\S+)$", text(os.path.join(datadir, "sekisho/postfix/main.cf")), re.M)
        check(usock and csock and pmil and usock.group(1) == csock.group(1) == pmil.group(1)
              == "unix:/run/sekisho/milter/milter.sock", "milter socket: unit, sanitizer.conf and main.cf agree (%s, %s, %s)"
              % (usock and usock.group(1), csock and csock.group(1), pmil and pmil.group(1)))
        check("--socket-mode ${SEKISHO_MILTER_SOCKET_MODE}" in mu, "milter: the socket's mode is set")
        # each unit's writable paths exist in tmpfiles (the kernel's /proc/sys
        # excepted: gatewayd's helper closes forwarding there)
        for name, u in units.items():
            for m in re.finditer(r"^ReadWritePaths=(.*)$", u, re.M):
                for p in m.group(1).split():
                    check(p in tmpf or p.startswith("/proc/sys/net/"),
                          "%s: ReadWritePaths %s is made by tmpfiles" % (name, p))

        sa = shutil.which("systemd-analyze")
        if sa:
            unitdir = dest + os.path.join(lib, "systemd/system")
            for name in units:
                if name.endswith("@.service"):
                    continue
                v = subprocess.run([sa, "verify", "--man=no", os.path.join(unitdir, name)],
                                   capture_output=True, text=True)
                # the ExecStart binaries are under DESTDIR, not on this machine: only those complaints are allowed
                bad = [line for line in (v.stdout + v.stderr).splitlines()
                       if line.strip() and "is not executable" not in line and "No such file" not in line
                       and "Command " not in line and "not found" not in line]
                check(not bad, "systemd-analyze verify %s (%s)" % (name, bad[:3]))
    finally:
        shutil.rmtree(dest, ignore_errors=True)

    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
