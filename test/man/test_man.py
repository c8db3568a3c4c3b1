#!/usr/bin/env python3
"""The man pages (docs/man, issue 16 item 2):
- every built page renders without a warning, as man-db renders it
  (`man --warnings -l`) and under groff's own warnings (`groff -k -ww -z`);
  a ".so" alias page points at a page that exists;
- every installed program has a page installed in share/man/man8 (the
  programs of NOT_YET in common.py excepted), and every page is installed;
- every long option a program's usage (--help) lists is described in its
  page, and every option the page describes is in the usage (drift either
  way fails); the options of a page are those of its definition terms
  (source lines starting with "*-");
- every Japanese page has an English one and describes the same options
  (the four of JA_PAGES must exist: issue 16 names them)."""
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import BUILD, NOT_YET, SRC, command, installed_programs, run_env, skip_or_fail  # noqa: E402

MAN_SRC = os.path.join(SRC, "docs", "man")
MAN_BUILD = os.path.join(BUILD, "docs", "man")
LONG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
JA_PAGES = ("sekishoctl.8", "sekisho-rulec.8", "sekisho-policy.5", "sekisho-logexport.8")

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def page_options(scd):
    with open(scd, encoding="utf-8") as f:
        return {o for line in f if line.startswith("*-") for o in LONG.findall(line)}


def aliases(sub=""):
    """{alias page: target page} from the built one-line .so pages (of the
    Japanese pages with sub="ja")."""
    out = {}
    for p in glob.glob(os.path.join(MAN_BUILD, sub, "*.[58]")):
        with open(p, encoding="utf-8") as f:
            text = f.read()
        m = re.fullmatch(r"\.so man[58]/(\S+)\n", text)
        if m:
            out[os.path.basename(p)] = m.group(1)
    return out


def usage_of(name, progs, env):
    """The usage text of a program: --help on either stream, and for
    sekisho-logexport each command's --help too."""
    if name in progs:
        argv = command(progs[name][0])
    else:
        argv = command(os.path.join(SRC, "firmware", name))  # build-time tools of firmware/
    runs = [["--help"]]
    if name == "sekisho-logexport":
        runs += [[c, "--help"] for c in ("verify", "export", "forward", "report")]
    text = ""
    for extra in runs:
        r = subprocess.run(argv + extra, capture_output=True, text=True, env=env, timeout=30)
        text += r.stdout + r.stderr
    return text


def main():
    for tool in ("man", "groff"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            skip_or_fail(tool + " is not installed")
    built = sorted(glob.glob(os.path.join(MAN_BUILD, "*.[58]")) + glob.glob(os.path.join(MAN_BUILD, "ja", "*.[58]")))
    if not built:
        skip_or_fail("no man pages built (scdoc missing, or -Dman=disabled)")
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    env.pop("MANPAGER", None)
    alias = aliases()

    # 1. rendering
    alias_ja = aliases("ja")
    check(alias_ja == alias, "the Japanese pages have the same aliases")
    for p in built:
        rel = os.path.relpath(p, MAN_BUILD)
        sub = os.path.dirname(rel)
        if os.path.basename(p) in (alias_ja if sub else alias):
            check(os.path.exists(os.path.join(MAN_BUILD, sub, alias[os.path.basename(p)])),
                  "%s: .so points at a page" % rel)
            continue
        g = subprocess.run(["groff", "-k", "-ww", "-z", "-man", "-Tutf8", p], capture_output=True, text=True, env=env)
        check(g.returncode == 0 and not g.stderr, "%s: groff -ww: no warning %s" % (rel, g.stderr.strip()[:300]))
        m = subprocess.run(["man", "--warnings", "-l", p], capture_output=True, text=True, env=env)
        check(m.returncode == 0 and not m.stderr and len(m.stdout) > 200,
              "%s: man --warnings -l: no warning %s" % (rel, m.stderr.strip()[:300]))

    # 2. every installed program has an installed page, every page is installed
    progs = installed_programs()
    out = subprocess.run(["meson", "introspect", "--installed", BUILD], check=True,
                         capture_output=True, text=True).stdout
    dests = json.loads(out).values()
    installed_pages = {os.path.relpath(d, os.path.dirname(os.path.dirname(d)))
                       for d in dests if re.search(r"/man/man[58]/", d)}
    installed_ja = {d for d in dests if "/man/ja/man" in d}
    for name in sorted(progs):
        if name in NOT_YET:
            print("skip %s: in NOT_YET (common.py)" % name)
            continue
        check("man8/%s.8" % name in installed_pages, "%s has a page (man8/%s.8 installed)" % (name, name))
    for p in built:
        rel = os.path.relpath(p, MAN_BUILD)
        sec = rel[-1]
        want = ("man%s/%s" % (sec, os.path.basename(p)))
        if rel.startswith("ja/"):
            check(any(d.endswith("/ja/" + want) for d in installed_ja), "%s is installed in man/ja" % rel)
        else:
            check(want in installed_pages, "%s is installed" % rel)
    for p in JA_PAGES:
        check(os.path.exists(os.path.join(MAN_BUILD, "ja", p)), "Japanese page ja/%s" % p)

    # 3. options: usage and page agree
    renv = run_env(progs)
    for scd in sorted(glob.glob(os.path.join(MAN_SRC, "*.8.scd"))):
        page = os.path.basename(scd)[:-4]
        names = sorted(a[:-2] for a, t in alias.items() if t == page) or [page[:-2]]
        documented = page_options(scd)
        listed = set()
        for n in names:
            if n not in progs and not os.path.exists(os.path.join(SRC, "firmware", n)):
                check(False, "%s documents %s, which is neither installed nor in firmware/" % (page, n))
                continue
            listed |= set(LONG.findall(usage_of(n, progs, renv)))
        missing = sorted(listed - documented - {"--help", "--version"})  # their behaviour: test_help_version.py
        extra = sorted(documented - listed - {"--help", "--version"})
        check(not missing, "%s: every option of the usage of %s is described %s" % (page, ", ".join(names), missing))
        check(not extra, "%s: every option it describes is in the usage %s" % (page, extra))

    # 4. the Japanese pages describe the same options
    for ja in sorted(glob.glob(os.path.join(MAN_SRC, "ja", "*.scd"))):
        p = os.path.basename(ja)[:-4]
        en = os.path.join(MAN_SRC, p + ".scd")
        check(os.path.exists(en), "ja/%s has an English page" % p)
        if os.path.exists(en):
            en_o, ja_o = page_options(en), page_options(ja)
            check(en_o == ja_o, "ja/%s describes the options of %s (%s)" % (p, p, sorted(en_o ^ ja_o)))

    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
