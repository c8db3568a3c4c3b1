#!/usr/bin/env python3
"""ha-policy: the policy snippet of an HA pair (firmware/ha/ha.policy.example)
included into the sample policy of 城北市 compiles with every three-tier
invariant proven and no warning; without its `sanitize ... via ha-self
service vrrp` line the compiler refuses it (the VRRP rules from the LGWAN and
Internet sides would reach the appliance outside the declared relays), which
is why the line is there (docs/ha.md)."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.abspath(os.path.join(HERE, "..", "..", "..")))
BUILD = os.environ.get("SEKISHO_BUILD_ROOT", os.path.join(SRC, "build"))
RULEC = os.path.join(BUILD, "rules", "sekisho-rulec")
SNIPPET = os.path.join(SRC, "firmware", "ha", "ha.policy.example")


def check(snippet_text):
    """(exit status, output) of `sekisho-rulec check` on the sample + snippet."""
    d = tempfile.mkdtemp(prefix="sekisho-hapol-")
    try:
        ex = os.path.join(SRC, "rules", "examples")
        for f in os.listdir(ex):
            if f.endswith(".policy"):
                shutil.copy(os.path.join(ex, f), d)
        with open(os.path.join(d, "ha.policy"), "w", encoding="utf-8") as f:
            f.write(snippet_text)
        with open(os.path.join(d, "municipality.policy"), "a", encoding="utf-8") as f:
            f.write('\ninclude "ha.policy"\n')
        r = subprocess.run([RULEC, "--no-color", "check", os.path.join(d, "municipality.policy")],
                           capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    failures = 0
    text = open(SNIPPET, encoding="utf-8").read()
    rc, out = check(text)
    ok = (rc == 0 and "warning" not in out and "VIOLATED" not in out
          and "proven    sanitize internet <-> lgwan via ha-self service vrrp" in out)
    print(f"{'ok  ' if ok else 'FAIL'} sample policy + ha.policy: exit {rc}")
    failures += not ok
    if not ok:
        print(out)
    lines = [line for line in text.splitlines() if not line.startswith("sanitize ")]
    assert len(lines) == len(text.splitlines()) - 1, "the snippet has exactly one sanitize line"
    rc, out = check("\n".join(lines) + "\n")
    ok = rc != 0 and "VIOLATED  sanitize internet <-> lgwan" in out and "VRRP" in out
    print(f"{'ok  ' if ok else 'FAIL'} without the sanitize line: refused (exit {rc})")
    failures += not ok
    if not ok:
        print(out)
    print("FAIL" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
