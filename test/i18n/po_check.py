#!/usr/bin/env python3
"""po_check: the message catalogue is complete and well formed.

  po_check.py SOURCE_ROOT -- XGETTEXT_ARGS...

For every language of po/LINGUAS:
  - msgfmt --check (the header, and every translation's format directives
    against its msgid: c-format and sh-format, as xgettext marked them) and
    --statistics: no fuzzy and no untranslated message;
  - every msgid that xgettext finds in the sources of po/POTFILES now (with
    the keywords of po/meson.build, given after --) is in LANG.po: a message
    added or changed without updating the catalogue fails here, naming it
    (run `ninja -C BUILD sekisho-update-po`, then translate; docs/i18n.md).
Exit 0 clean, 1 when something is wrong."""
import os
import re
import subprocess
import sys
import tempfile


def msgids(po_text):
    """The msgids of a PO/POT text (plural entries by their singular), minus the header."""
    out = set()
    for m in re.finditer(r'^msgid ((?:".*"\n)+)', po_text, re.M):
        s = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
        if s:
            out.add(s)
    return out


def main():
    root = sys.argv[1]
    xargs = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    po = os.path.join(root, "po")
    langs = [l.strip() for l in open(os.path.join(po, "LINGUAS")) if l.strip() and not l.startswith("#")]
    failures = 0
    if not langs:
        print("po/LINGUAS names no language")
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "now.pot")
        r = subprocess.run(["xgettext", "--directory=" + root, "--files-from=" + os.path.join(po, "POTFILES"),
                            "--output=" + pot] + xargs, capture_output=True, text=True)
        if r.returncode != 0:
            print("xgettext failed:\n" + r.stderr)
            return 1
        now = msgids(open(pot, encoding="utf-8").read())
        if len(now) < 100:
            print(f"xgettext found only {len(now)} messages: are the keywords right?")
            failures += 1

        # the check bites: a translation that drops a directive is refused
        bad = os.path.join(tmp, "bad.po")
        with open(bad, "w", encoding="utf-8") as f:
            f.write('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                    '#, c-format\nmsgid "unknown zone \'%s\'%s"\nmsgstr "不明なゾーン \'%s\' です"\n')
        r = subprocess.run(["msgfmt", "--check-format", "-o", os.devnull, bad], capture_output=True, text=True)
        if r.returncode == 0:
            print("msgfmt --check-format accepted a translation that drops a %s")
            failures += 1

        for lang in langs:
            path = os.path.join(po, lang + ".po")
            r = subprocess.run(["msgfmt", "--check", "--check-format", "--statistics", "-o", os.devnull, path],
                               capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
            stats = r.stderr.strip()
            if r.returncode != 0:
                print(f"{lang}.po: msgfmt --check failed:\n{r.stderr}")
                failures += 1
            elif "fuzzy" in stats or "untranslated" in stats:
                print(f"{lang}.po: not every message is translated: {stats}")
                failures += 1
            else:
                print(f"ok   {lang}.po: msgfmt --check: {stats}")
            have = msgids(open(path, encoding="utf-8").read())
            missing = sorted(now - have)
            for m in missing:
                print(f"{lang}.po: missing msgid (not in the catalogue yet): \"{m}\"")
            failures += len(missing)
            if not missing:
                print(f"ok   {lang}.po: has all {len(now)} messages of the sources")
            # a message that no source uses any more is only noise: say so, do not fail
            stale = sorted(have - now)
            if stale:
                print(f"note {lang}.po: {len(stale)} messages no source uses (sekisho-update-po marks them obsolete)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
