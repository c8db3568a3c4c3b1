#!/usr/bin/env python3
"""The sample policy's file-portal rules (rules/examples, docs/portal.md
"Installation and operation"): with them every three-tier invariant is still
proven; without either portal's `sanitize ... via <portal> service https`
line the compiler refuses the policy and names the portal's rule (the
portals are relays like the mail relay, declared as such); and the compiled
decisions (sekisho-rulec explain, the same table the datapath runs) let each
side reach only its own portal's address with https: LGWAN clients reach the
LGWAN-facing address, the Internet-connection terminals the Internet-facing
one, and neither the other side's, nor anything but 443.

    test_portal_policy.py SEKISHO_RULEC"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ["SEKISHO_SOURCE_ROOT"]
RULEC = sys.argv[1]
EXAMPLES = os.path.join(SRC, "rules", "examples")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def rulec(*args):
    r = subprocess.run([RULEC, "--no-color", *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def variant(tmp, drop):
    """A copy of the sample policy without the lines matching DROP."""
    d = tempfile.mkdtemp(dir=tmp)
    for f in os.listdir(EXAMPLES):
        if f.endswith(".policy"):
            shutil.copy(os.path.join(EXAMPLES, f), d)
    p = os.path.join(d, "municipality.policy")
    with open(p, encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    kept = [ln for ln in lines if not re.match(drop, ln)]
    assert len(kept) == len(lines) - 1, f"exactly one line matches {drop}"
    with open(p, "w", encoding="utf-8") as f:
        f.write("".join(kept))
    return p


def main():
    sample = os.path.join(EXAMPLES, "municipality.policy")
    rc, out = rulec("check", sample)
    check(rc == 0 and "VIOLATED" not in out and "warning" not in out, f"sample policy: proven, no warning (exit {rc})")
    for line in ("sanitize lgwan -> internet via file-portal service https",
                 "sanitize internet -> lgwan via upload-portal service https"):
        check(f"proven    {line}" in out, f"proven: {line}")

    with tempfile.TemporaryDirectory() as tmp:
        for portal, rule in (("file-portal", "ファイル受け取りポータル"), ("upload-portal", "ファイルアップロード")):
            rc, out = rulec("check", variant(tmp, rf"^sanitize .* via {portal} "))
            check(rc == 1 and "VIOLATED" in out and f'"{rule}" allows' in out and ":443" in out,
                  f"without the {portal} sanitize line: refused, the counterexample is rule \"{rule}\" (exit {rc})")

    # (from, to, proto, src, dst, verdict): the compiled decision
    cases = [
        ("lgwan", "self", "tcp", "198.18.20.130", "198.18.20.1:443", "allow", "ファイル受け取りポータル"),
        ("lgwan", "self", "tcp", "[2001:db8:20:80::5]", "[2001:db8:20::1]:443", "allow", "ファイル受け取りポータル"),
        ("internet", "self", "tcp", "198.18.30.130", "198.18.30.1:443", "allow", "ファイルアップロード"),
        # the virtual browser (仮想ブラウザ), where staff download on the Internet side
        ("internet", "self", "tcp", "198.18.30.50", "198.18.30.1:443", "allow", "ファイルアップロード"),
        # each portal answers only from its own side
        ("internet", "self", "tcp", "198.18.30.130", "198.18.20.1:443", "deny", None),
        ("internet", "self", "tcp", "203.0.113.9", "198.18.20.1:443", "deny", None),
        ("lgwan", "self", "tcp", "198.18.20.130", "198.18.30.1:443", "deny", None),
        # the Internet at large, not only the Internet-connection terminals
        ("internet", "self", "tcp", "203.0.113.9", "198.18.30.1:443", "deny", None),
        # https only
        ("lgwan", "self", "tcp", "198.18.20.130", "198.18.20.1:80", "deny", None),
        ("internet", "self", "tcp", "198.18.30.130", "198.18.30.1:80", "deny", None),
        ("mynumber", "self", "tcp", "198.18.10.130", "198.18.20.1:443", "deny", None),
    ]
    for frm, to, proto, src, dst, want, rule in cases:
        rc, out = rulec("explain", sample, frm, to, proto, src, dst)
        m = re.search(r"^verdict\s+(\w+)", out, re.M)
        got = m.group(1) if m else f"exit {rc}"
        ok = rc == 0 and got == want and (rule is None or f'"{rule}"' in out)
        check(ok, f"{frm} -> {to} {proto} {src} -> {dst}: {want} ({got})")


if __name__ == "__main__":
    main()
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)
