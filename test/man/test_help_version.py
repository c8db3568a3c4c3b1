#!/usr/bin/env python3
"""--help and --version of every installed program (issue 16 item 3):
--help prints the usage on stdout, nothing on stderr, exit 0; --version
prints exactly "NAME VERSION (GIT-DESCRIBE)" on stdout, exit 0, with the
project version and the build's `git describe --always --dirty` (the one
generated common/version.c); an unknown option is a usage error: nothing on
stdout, the usage on stderr, exit 2.

Then the same --help in Japanese (issue 16 item 7): under LANGUAGE=ja with
the build tree's catalogue ($SEKISHO_LOCALEDIR), and under LANG=ja_JP.UTF-8
when that locale is generated (tools/test does it; under CI=true a missing
one fails), it lists every long option of the English --help (and of each
sekisho-logexport command's), and it is Japanese, but for the programs
whose usage stays English (ENGLISH_HELP) or is bilingual in one text."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import BUILD, NOT_YET, SRC, command, installed_programs, run_env  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "i18n"))
from i18ntest import has_locale  # noqa: E402

LONG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# The converters in lib/sekisho that only sekisho-cdr runs: their usage
# stays English.  sekisho-cdr's own is Japanese and English in one text.
ENGLISH_HELP = {"sekisho-cdr-archive", "sekisho-cdr-image", "sekisho-cdr-office", "sekisho-cdr-ooxml",
                "sekisho-cdr-pdf", "sekisho-cdr-text", "sekisho-cdr"}
# Programs whose usage is not translated yet: none left
NOT_YET_JA = set()

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def japanese_envs(env):
    """(what, environment) of the Japanese runs."""
    if not os.environ.get("SEKISHO_LOCALEDIR"):
        check(False, "SEKISHO_LOCALEDIR is set (the build tree's po/)")
    out = [("LANGUAGE=ja", dict(env, LANGUAGE="ja"))]
    if has_locale("ja_JP.UTF-8"):
        ja = {k: v for k, v in env.items() if k != "LC_ALL"}
        out.append(("LANG=ja_JP.UTF-8", dict(ja, LANG="ja_JP.UTF-8")))
    elif os.environ.get("CI") == "true":
        check(False, "locale ja_JP.UTF-8 is generated (tools/test: ensure_locale)")
    return out


def check_japanese(name, argv, env):
    """The Japanese --help lists the English one's long options."""
    runs = [["--help"]]
    if name == "sekisho-logexport":
        runs += [[c, "--help"] for c in ("verify", "export", "forward", "report")]
    for what, jenv in japanese_envs(env):
        for extra in runs:
            cmd = " ".join([name] + extra)
            en = subprocess.run(argv + extra, capture_output=True, text=True, env=env, timeout=30).stdout
            r = subprocess.run(argv + extra, capture_output=True, text=True, env=jenv, timeout=30)
            missing = sorted(set(LONG.findall(en)) - set(LONG.findall(r.stdout)))
            check(r.returncode == 0 and r.stdout and not r.stderr and not missing,
                  "%s under %s: exit 0, every long option of the English one (missing %s, exit %d, stderr %r)"
                  % (cmd, what, missing, r.returncode, r.stderr[:200]))
            if name not in ENGLISH_HELP and name not in NOT_YET_JA:
                check("使い方" in r.stdout and r.stdout != en, "%s under %s is Japanese" % (cmd, what))


def main():
    info = json.loads(subprocess.run(["meson", "introspect", "--projectinfo", BUILD], check=True,
                                     capture_output=True, text=True).stdout)
    with open(os.path.join(BUILD, "common", "version.c"), encoding="utf-8") as f:
        m = re.search(r'version_git\[\] = "([^"]*)"', f.read())
    check(m is not None, "build/common/version.c holds the git description")
    git = m.group(1) if m else "?"
    d = subprocess.run(["git", "-C", SRC, "describe", "--always", "--dirty"], capture_output=True, text=True)
    if d.returncode == 0:
        check(git == d.stdout.strip(), "the build's description %r is git describe's %r" % (git, d.stdout.strip()))
    else:
        check(git == "unknown", "outside git the description is 'unknown' (%r)" % git)

    version_lib = os.path.join(BUILD, "common", "libsekisho-version.a")
    progs = installed_programs()
    env = run_env(progs)
    tested = 0
    for name, (path, _dst) in sorted(progs.items()):
        if name in NOT_YET:
            print("skip %s" % name)
            continue
        argv = command(path)
        tested += 1
        # a built program (not a script of the source tree, whose version
        # is the C program's it asks, checked here by its own name)
        built = os.path.commonpath([os.path.realpath(path), os.path.realpath(BUILD)]) == os.path.realpath(BUILD)
        if built and os.access(path, os.X_OK) and os.path.getmtime(path) < os.path.getmtime(version_lib):
            check(False, "%s is older than the version library: add it to man_test_programs in "
                  "test/man/meson.build (meson test rebuilds only a test's depends)" % name)
            continue

        def run(*args):
            return subprocess.run(argv + list(args), capture_output=True, text=True, env=env, timeout=30)

        r = run("--help")
        check(r.returncode == 0 and "usage" in r.stdout.lower() and not r.stderr,
              "%s --help: usage on stdout, exit 0 (exit %d, stderr %r)" % (name, r.returncode, r.stderr[:200]))
        r = run("--version")
        want = "%s %s (%s)\n" % (name, info["version"], git)
        check(r.returncode == 0 and r.stdout == want and not r.stderr,
              "%s --version: %r, exit 0 (got %r, exit %d, stderr %r)" % (name, want, r.stdout, r.returncode,
                                                                        r.stderr[:200]))
        r = run("--no-such-option")
        check(r.returncode == 2 and not r.stdout and r.stderr,
              "%s --no-such-option: usage error on stderr, exit 2 (exit %d, stdout %r)" % (name, r.returncode,
                                                                                        r.stdout[:200]))
        check_japanese(name, argv, env)
    check(tested >= 15, "%d programs tested" % tested)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
