#!/usr/bin/env python3
"""--help and --version of every installed program (issue 16 item 3):
--help prints the usage on stdout, nothing on stderr, exit 0; --version
prints exactly "NAME VERSION (GIT-DESCRIBE)" on stdout, exit 0, with the
project version and the build's `git describe --always --dirty` (the one
generated common/version.c); an unknown option is a usage error: nothing on
stdout, the usage on stderr, exit 2."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import BUILD, NOT_YET, SRC, command, installed_programs, run_env  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


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
    check(tested >= 15, "%d programs tested" % tested)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
