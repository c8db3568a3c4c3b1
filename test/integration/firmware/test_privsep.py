#!/usr/bin/env python3
"""The file portals' privilege separation as the kernel enforces it
(docs/portal.md, "Directories"): the real systemd-sysusers and
systemd-tmpfiles make the users, groups and directories of firmware/ in a
temporary root; then each service user (setpriv with exactly the uid, gid
and supplementary groups sysusers gave it) tries what it must and must not
do there.  The LGWAN portal reads copies, manifests and released originals,
writes revocations, requests and its state, and cannot reach an original,
the inbox or the upload portal's accounts; the upload portal can only create
in the inbox (not list it, not remove another's file) and reaches nothing
else; the worker reads every side it serves; the milter writes manifests.
Needs root (chown, setpriv).

    test_privsep.py"""
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ["SEKISHO_SOURCE_ROOT"]
failures = []

# one operation as the calling user: exit 0 = done, 1 = refused by the kernel
OP = r"""
import os, sys
op, path = sys.argv[1], sys.argv[2]
os.umask(0)
try:
    if op == "list":
        os.listdir(path)
    elif op == "read":
        with open(path, "rb") as f:
            f.read(1)
    elif op == "create":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, int(sys.argv[3], 8)))
    elif op == "rename":
        os.rename(path, sys.argv[3])
    elif op == "delete":
        os.unlink(path)
except PermissionError:
    sys.exit(1)
"""


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def ids(root):
    """{user: (uid, gid, [supplementary gids])} from the root's passwd and group."""
    users, groups = {}, {}
    with open(os.path.join(root, "etc/passwd")) as f:
        for line in f:
            p = line.split(":")
            users[p[0]] = (int(p[2]), int(p[3]))
    with open(os.path.join(root, "etc/group")) as f:
        for line in f:
            p = line.rstrip("\n").split(":")
            for m in filter(None, p[3].split(",")):
                groups.setdefault(m, []).append(int(p[2]))
    return {u: (uid, gid, sorted(set(groups.get(u, [])) | {gid})) for u, (uid, gid) in users.items()}


def main():
    if os.geteuid() != 0:
        print("needs root (chown, setpriv)")
        return 77
    for tool in ("systemd-sysusers", "systemd-tmpfiles", "setpriv"):
        if not shutil.which(tool):
            print(f"missing {tool}")
            return 77 if os.environ.get("CI") != "true" else 1
    root = tempfile.mkdtemp(prefix="sekisho-privsep-")
    # the users' shared /tmp parent must be traversable by them
    os.chmod(root, 0o755)
    try:
        return run(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(root):
    os.makedirs(os.path.join(root, "etc"))
    extra = os.path.join(root, "postfix.conf")
    with open(extra, "w") as f:
        f.write("g postfix -\n")       # the milter's socket directory's group (Postfix's own)
    r = subprocess.run(["systemd-sysusers", "--root", root, os.path.join(SRC, "firmware/sysusers.d/sekisho.conf"),
                        extra], capture_output=True, text=True)
    check(r.returncode == 0, "systemd-sysusers accepts firmware/sysusers.d " + (r.stderr.strip()[-300:] if r.returncode else ""))
    r = subprocess.run(["systemd-tmpfiles", "--create", "--root", root,
                        os.path.join(SRC, "firmware/tmpfiles.d/sekisho.conf")], capture_output=True, text=True)
    check(r.returncode == 0, "systemd-tmpfiles accepts firmware/tmpfiles.d " + (r.stderr.strip()[-300:] if r.returncode else ""))
    who = ids(root)
    lib = os.path.join(root, "var/lib/sekisho")

    def as_user(user, op, path, *extra):
        uid, gid, groups = who[user]
        r = subprocess.run(["setpriv", "--reuid", str(uid), "--regid", str(gid),
                            "--groups", ",".join(map(str, groups)), "--inh-caps=-all", "--bounding-set=-all",
                            sys.executable, "-c", OP, op, path, *extra], capture_output=True, text=True)
        if r.returncode not in (0, 1):
            print(r.stderr.strip()[-300:])
        return r.returncode == 0

    def expect(user, op, rel, allowed, *extra):
        got = as_user(user, op, os.path.join(lib, rel), *extra)
        check(got == allowed, f"{user}: {op} {rel}: {'allowed' if allowed else 'refused'}")

    # what each writer leaves, made by that writer (setgid directories give the group)
    expect("sekisho-milter", "create", "quarantine/q1", True, "640")
    expect("sekisho-milter", "create", "links/h1.json", True, "640")
    expect("sekisho-cdr", "create", "copies/s1.copy.pdf", True, "640")
    expect("sekisho-cdr", "create", "links/h2.json", True, "640")
    expect("sekisho-cdr", "create", "releases/r1.data", True, "640")
    expect("sekisho-cdr", "create", "transfer/t1", True, "600")
    expect("sekisho-portal", "create", "portal-queue/tmp/j1", True, "660")
    expect("sekisho-portal", "rename", "portal-queue/tmp/j1", True, os.path.join(lib, "portal-queue/new/j1"))
    expect("sekisho-portal", "create", "links/h1.revoked", True, "640")
    expect("sekisho-portal", "create", "portal/accounts", True, "600")
    expect("sekisho-upload", "create", "inbox/.p1.0.part", True, "644")
    expect("sekisho-upload", "rename", "inbox/.p1.0.part", True, os.path.join(lib, "inbox/p1.0.data"))
    expect("sekisho-upload", "create", "upload/accounts", True, "600")
    expect("sekisho-cdr", "create", "inbox/w1", True, "600")

    # the LGWAN portal: copies, manifests, released originals; never an original
    for op, rel, ok in (("list", "copies", True), ("read", "copies/s1.copy.pdf", True),
                        ("list", "links", True), ("read", "links/h1.json", True), ("read", "links/h2.json", True),
                        ("list", "releases", True), ("read", "releases/r1.data", True),
                        ("list", "quarantine", False), ("read", "quarantine/q1", False),
                        ("list", "transfer", False), ("read", "transfer/t1", False),
                        ("list", "inbox", False), ("read", "inbox/p1.0.data", False),
                        ("list", "upload", False), ("read", "upload/accounts", False),
                        ("list", "cdr-queue", False)):
        expect("sekisho-portal", op, rel, ok)
    expect("sekisho-portal", "create", "copies/forged.copy.pdf", False, "640")
    expect("sekisho-portal", "create", "inbox/forged.json", False, "644")
    expect("sekisho-portal", "create", "quarantine/forged", False, "644")
    expect("sekisho-portal", "delete", "releases/r1.data", True)

    # the upload portal: creates in the inbox, and nothing else anywhere
    for op, rel in (("list", "inbox"), ("list", "copies"), ("list", "links"), ("read", "links/h1.json"),
                    ("list", "quarantine"), ("list", "transfer"), ("list", "releases"), ("list", "portal"),
                    ("list", "portal-queue/new"), ("read", "copies/s1.copy.pdf"), ("read", "portal/accounts")):
        expect("sekisho-upload", op, rel, False)
    for rel in ("links/forged.json", "portal-queue/new/forged", "copies/forged", "releases/forged"):
        expect("sekisho-upload", "create", rel, False, "644")
    expect("sekisho-upload", "delete", "inbox/w1", False)

    # the worker serves both sides
    for op, rel in (("list", "inbox"), ("read", "inbox/p1.0.data"), ("read", "quarantine/q1"),
                    ("read", "portal-queue/new/j1"), ("read", "links/h1.json"), ("list", "portal-queue/new")):
        expect("sekisho-cdr", op, rel, True)
    expect("sekisho-cdr", "delete", "inbox/p1.0.data", True)
    expect("sekisho-cdr", "delete", "portal-queue/new/j1", True)
    expect("sekisho-cdr", "list", "portal", False)
    expect("sekisho-cdr", "list", "upload", False)

    # the milter: manifests yes; copies, inbox, the portals' state no
    for op, rel, ok in (("read", "links/h2.json", True), ("list", "inbox", False), ("list", "portal", False),
                        ("list", "releases", False), ("list", "transfer", False)):
        expect("sekisho-milter", op, rel, ok)

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
