#!/usr/bin/env python3
"""The shipped worker unit lets bubblewrap build the sandbox (sysd.py: a
real systemd manager).

The image boot test found that sekisho-cdrd never started under its own
unit: ProtectHostname=yes and the syscall allow list refused bubblewrap's
sethostname(2) in the sandbox's UTS namespace, RestrictAddressFamilies=
refused the NETLINK_ROUTE socket that brings up the sandbox's loopback.
This test catches such a unit without qemu: sekisho-cdr runs in units that
carry every property of [Service] in firmware/systemd/sekisho-cdrd.service.in,
read from the file (a property added there is applied here with no change
to this test), except those that cannot apply in a test:
  - ExecStart=, Environment=, EnvironmentFile=, LoadCredential=: the
    worker's command, its configuration and its audit key: replaced by the
    command under test;
  - ReadWritePaths=: /var/lib/sekisho/...: replaced by the test's
    directory;
  - User=, Group=: sekisho-cdr exists only where the package is installed:
    a throw-away system user with its own group instead (sysd.SystemUser,
    made as sysusers makes sekisho-cdr, removed at the end).  Not nobody:
    the sandbox's RLIMIT_NPROC counts every process of the uid, which
    nobody shares with whatever else runs as nobody on the machine; not
    DynamicUser=, which adds properties of its own to the unit;
  - Type=, NotifyAccess=, WatchdogSec=, Restart=, RestartSec=,
    TimeoutStopSec=: the daemon's life cycle (test_cdrd.py tests it);
    here Type=oneshot, one command per unit;
  - CPUSchedulingPolicy=, Nice=, IOSchedulingClass=: they refuse nothing,
    only order who gets the CPU; under SCHED_IDLE any other load on the
    machine would starve the check's conversion (10 s of wall clock).
The converters are copied out of the build tree into the test's directory
under /var/lib: ProtectHome= and PrivateTmp= hide a build tree under
/home, /root or /tmp.

Checks: sekisho-cdr --check exits 0 and says the sandbox works; systemd
took every property (no "ignoring" line); a PNG (the image decoder), a PDF
(poppler) and an RTF (LibreOffice, then the OOXML rebuild) are converted
and their copies made; and, so that this test can fail, three negative
controls, each the same unit with one of the image's faults put back
(ProtectHostname=yes; AF_NETLINK taken out of RestrictAddressFamilies=;
sethostname taken out of the allow list): --check exits 2 with
"sandbox-setup".  bubblewrap's message is printed."""
import base64
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sysd  # noqa: E402

CDR, LIBEXEC = (os.path.abspath(a) for a in sys.argv[1:3])
USER = "sekisho-test-cdr"
# what cannot apply in a test (the docstring says why)
REPLACED = {"ExecStart", "Environment", "EnvironmentFile", "LoadCredential", "ReadWritePaths", "User", "Group"}
LIFECYCLE = {"Type", "NotifyAccess", "WatchdogSec", "Restart", "RestartSec", "TimeoutStopSec"}
SCHEDULING = {"CPUSchedulingPolicy", "Nice", "IOSchedulingClass"}
# what the applied properties must include (a parser that read nothing would pass)
MUST = {"SystemCallFilter", "RestrictAddressFamilies", "NoNewPrivileges", "ProtectSystem", "PrivateDevices",
        "CapabilityBoundingSet"}
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==")
# a legacy document: LibreOffice in the sandbox, then the OOXML rebuild
RTF = rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Helvetica;}}\f0 sekisho\par}"
WORKS, BROKEN = "the sandbox works", "the sandbox does not work here"


def one_page_pdf():
    """a one-page PDF with a line of text (Helvetica, not embedded)"""
    content = b"BT /F1 24 Tf 72 720 Td (sekisho) Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
            b"/Contents 5 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    out, offs = bytearray(b"%PDF-1.4\n"), []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offs)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def without(props, name, word):
    """props with word taken out of name's values (the allow list: the
    first SystemCallFilter=, not its ~deny list)"""
    out = []
    for k, v in props:
        if k == name and not v.startswith("~"):
            v = " ".join(w for w in v.split() if w != word)
        out.append((k, v))
    return out


run = sysd.Run("systemd-cdr-sandbox", "sekisho-cdrd", base="/var/lib")
c, tmp, m = run.c, run.dir, None
try:
    user = sysd.SystemUser(USER)
    run.after.append(user.close)
    os.chmod(tmp, 0o755)
    lib = os.path.join(tmp, "libexec")
    os.mkdir(lib)
    for f in os.listdir(LIBEXEC):
        f = os.path.join(LIBEXEC, f)
        if os.path.basename(f).startswith("sekisho-cdr-") and os.path.isfile(f) and os.access(f, os.X_OK):
            shutil.copy(f, lib)
    cdr = shutil.copy(CDR, os.path.join(tmp, "sekisho-cdr"))
    work = os.path.join(tmp, "work")
    os.mkdir(work, 0o700)
    os.chown(work, user.uid, user.gid)
    for name, data in (("in.png", PNG), ("in.pdf", one_page_pdf()), ("in.rtf", RTF)):
        with open(os.path.join(work, name), "wb") as f:
            f.write(data)
        os.chown(os.path.join(work, name), user.uid, user.gid)

    props = [(k, v) for k, v in sysd.unit_section(run.shipped) if k not in REPLACED | LIFECYCLE | SCHEDULING]
    names = {k for k, _ in props}
    c.true(f"the shipped unit's hardening applied ({len(props)} assignments: {' '.join(sorted(names))})",
           MUST <= names and not any(re.search(r"@[A-Z_]+@", v) for _, v in props), props)
    mine = dict(Type="oneshot", User=USER, Group=USER, ReadWritePaths=work, TimeoutStartSec="90s",
                Environment="ASAN_OPTIONS=detect_leaks=0")
    controls = {
        "ProtectHostname=yes": props + [("ProtectHostname", "yes")],
        "RestrictAddressFamilies= without AF_NETLINK": without(props, "RestrictAddressFamilies", "AF_NETLINK"),
        "SystemCallFilter= without sethostname": without(props, "SystemCallFilter", "sethostname"),
    }
    for what, p in controls.items():
        c.true(f"negative control {what}: differs from the shipped unit", p != props)

    def unit(tag, argv, p=props):
        return (f"sekisho-test-cdr-{tag}.service",
                sysd.service(f"sekisho-cdr under the shipped unit's hardening ({tag})", " ".join(argv), props=p,
                             **mine))

    convert = {kind: [cdr, "--libexec", lib, "--report", f"{work}/{kind}.json", f"{work}/in.{kind}", "-o",
                      f"{work}/out.{kind}"] for kind in ("png", "pdf", "rtf")}
    units = dict([unit("check", [cdr, "--check"])] + [unit(k, a) for k, a in convert.items()] +
                 [unit(f"control{i}", [cdr, "--check"], p) for i, p in enumerate(controls.values())])
    m = sysd.Manager("cdr-sandbox", units)

    st, log = m.oneshot("sekisho-test-cdr-check.service", (WORKS, BROKEN))
    print("--check:", log.strip().replace("\n", "\n    "))
    c.true("--check exits 0 and says the sandbox works", st == 0 and WORKS in log, log)
    c.true("systemd took every property (no line 'ignoring')", "ignoring" not in log.lower(), log)

    for kind in convert:
        st, log = m.oneshot(f"sekisho-test-cdr-{kind}.service", ("input:", "sekisho-cdr:"))
        try:
            with open(f"{work}/{kind}.json") as f:
                rep = json.load(f)
        except (OSError, ValueError) as e:
            rep = {"result": f"no report ({e})"}
        made = os.path.exists(f"{work}/out.{kind}") and os.path.getsize(f"{work}/out.{kind}") > 0
        c.true(f"{kind.upper()} converted in the unit: exit 0, result ok, the copy made "
               f"({rep.get('mode')}, {rep.get('out_type')})",
               st == 0 and rep.get("result") == "ok" and made, (st, rep.get("result"), rep.get("detail"), log))

    for i, what in enumerate(controls):
        st, log = m.oneshot(f"sekisho-test-cdr-control{i}.service", (WORKS, BROKEN))
        said = next((line for line in log.splitlines() if BROKEN in line), "")
        print(f"{what}: {said.strip() or log.strip()}")
        c.true(f"negative control {what}: --check exits 2, sandbox-setup", st == 2 and "sandbox-setup" in said,
               (st, log))
finally:
    run.end(m)
