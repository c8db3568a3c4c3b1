#!/usr/bin/env python3
"""Golden test for the policy compiler: one case per call.

  run-golden.py RULEC CASE.policy [--lang ja] [--update]

NNN.policy       must be accepted; `sekisho-rulec show` output must equal
                 NNN.expected, and `check` must print NNN.check-expected
                 (proofs on stdout, diagnostics on stderr) if that exists.
fail-NNN.policy  must be refused (exit 1); the diagnostics must equal
                 fail-NNN.expected.

Runs with the golden directory as the current directory so that file names
in the output are the short relative ones.  --update rewrites the expected
files (review the diff before committing).

--lang ja runs the same case with Japanese messages (LANGUAGE=ja under
LC_ALL=C.UTF-8, which glibc honours without a generated ja_JP locale; the
catalogue from $SEKISHO_LOCALEDIR, the build tree's po/) against its own
files, fail-NNN.ja.expected and NNN.ja.check-expected; the listing of
`show` is not translated (it is policy syntax), so it must still equal
NNN.expected.  Without --lang the messages are English (LANGUAGE, LANG and
LC_* are cleared)."""
import os
import subprocess
import sys


LANG_ENV = {}


def run(rulec, args):
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LANG") and not k.startswith("LC_")}
    env.update(NO_COLOR="1", SEKISHO_TODAY="2026-11-22", SOURCE_DATE_EPOCH="1795305600", **LANG_ENV)
    return subprocess.run([rulec, "--no-color"] + args, capture_output=True, env=env, timeout=120)


def compare(path, got, update):
    if update:
        with open(path, "wb") as f:
            f.write(got)
        return True
    try:
        with open(path, "rb") as f:
            want = f.read()
    except FileNotFoundError:
        print(f"{path}: missing expected file; got:\n{got.decode(errors='replace')}")
        return False
    if want != got:
        import difflib
        diff = difflib.unified_diff(want.decode(errors="replace").splitlines(True),
                                    got.decode(errors="replace").splitlines(True),
                                    "expected", "got")
        sys.stdout.writelines(diff)
        return False
    return True


def main():
    rulec = os.path.abspath(sys.argv[1])
    case = sys.argv[2]
    update = "--update" in sys.argv[3:]
    lang = sys.argv[sys.argv.index("--lang") + 1] if "--lang" in sys.argv[3:] else None
    suffix = ""
    if lang:
        if not os.environ.get("SEKISHO_LOCALEDIR"):
            print("--lang needs SEKISHO_LOCALEDIR (the build tree's po/)")
            return 2
        LANG_ENV.update(LANGUAGE=lang, LC_ALL="C.UTF-8")
        suffix = "." + lang
    os.chdir(os.path.dirname(os.path.abspath(case)))
    name = os.path.basename(case)
    base = name[: -len(".policy")]
    ok = True
    if base.startswith("fail-"):
        r = run(rulec, ["check", name])
        if r.returncode != 1:
            print(f"{name}: exit {r.returncode}, want 1 (refused)")
            print(r.stderr.decode(errors="replace"))
            ok = False
        ok &= compare(base + suffix + ".expected", r.stderr, update)
    else:
        r = run(rulec, ["show", name])
        if r.returncode != 0:
            print(f"{name}: show exit {r.returncode}\n{r.stderr.decode(errors='replace')}")
            ok = False
        ok &= compare(base + ".expected", r.stdout, update and not lang)
        if os.path.exists(base + ".check-expected") or update:
            c = run(rulec, ["check", name])
            ok &= compare(base + suffix + ".check-expected", c.stdout + c.stderr, update)
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
