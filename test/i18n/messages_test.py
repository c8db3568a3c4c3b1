#!/usr/bin/env python3
"""messages_test: the programs speak Japanese when asked, English otherwise.

  messages_test.py RULEC SEKISHOCTL CTL_AUDIT

With the build tree's catalogue ($SEKISHO_LOCALEDIR):
  - sekisho-rulec --help, a diagnostic and the check summary: English with
    no language set and under LANG=C (glibc ignores LANGUAGE in the C
    locale), Japanese with LANGUAGE=ja under C.UTF-8 and with
    LANG=ja_JP.UTF-8 (when that locale is generated; tools/test does it,
    and under CI=true a missing one fails);
  - a diagnostic keeps its machine-read prefix "file:line:col: error:" in
    English, and its source and caret lines are the same bytes in both
    languages, also when the source line has Japanese in it;
  - what other programs parse stays English: compile's summary line (the
    policy hash sekishoctl reads) and show's listing; diff's words are
    translated around the policy syntax (zones, actions, packets);
  - sekishoctl (through gettext.sh) and sekisho-ctl-audit say their errors
    and status in Japanese from the same catalogue."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from i18ntest import check, done, has_locale  # noqa: E402

rulec, ctl, ctl_audit = (os.path.abspath(a) for a in sys.argv[1:4])
BASE = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LANG") and not k.startswith("LC_")}
BASE.update(NO_COLOR="1", SEKISHO_TODAY="2026-11-22", SOURCE_DATE_EPOCH="1795305600")
EN = {}
C_WITH_LANGUAGE = {"LANG": "C", "LANGUAGE": "ja"}
JA = {"LANGUAGE": "ja", "LC_ALL": "C.UTF-8"}
JA_LOCALE = {"LANG": "ja_JP.UTF-8"}


def run(cmd, lang, cwd=None, extra=None):
    env = dict(BASE, **lang, **(extra or {}))
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


if not os.environ.get("SEKISHO_LOCALEDIR"):
    print("SEKISHO_LOCALEDIR is not set (the build tree's po/)")
    sys.exit(1)

work = tempfile.mkdtemp()
policy = os.path.join(work, "jp.policy")
with open(policy, "w", encoding="utf-8") as f:
    f.write('policy "城北市" version "1"\n'
            'zone lgwan tier lgwan interface eth2 network 198.18.20.0/24 description "庁内"\n'
            'rule "庁内から" allow lgwan -> lgwan servce smtp\n')

# --help, in each language
r = run([rulec, "--help"], EN)
check("--help in English", r.returncode == 0 and r.stdout.startswith("usage: sekisho-rulec"), r.stdout + r.stderr)
r = run([rulec, "--help"], C_WITH_LANGUAGE)
check("LANG=C ignores LANGUAGE=ja", r.stdout.startswith("usage: sekisho-rulec"), r.stdout)
r = run([rulec, "--help"], JA)
check("--help with LANGUAGE=ja", r.returncode == 0 and r.stdout.startswith("使い方: sekisho-rulec"), r.stdout)
if has_locale("ja_JP.UTF-8"):
    r = run([rulec, "--help"], JA_LOCALE)
    check("--help with LANG=ja_JP.UTF-8", r.stdout.startswith("使い方: sekisho-rulec"), r.stdout)
elif os.environ.get("CI") == "true":
    check("locale ja_JP.UTF-8 is generated (tools/test: ensure_locale)", False)
else:
    print("skip LANG=ja_JP.UTF-8: the locale is not generated (tools/test generates it as root)")

# a diagnostic: prefix in English, the source and caret lines unchanged
en = run([rulec, "check", "jp.policy"], EN, cwd=work)
ja = run([rulec, "check", "jp.policy"], JA, cwd=work)
check("check refuses (exit 1) in both languages", en.returncode == 1 and ja.returncode == 1, en.stderr + ja.stderr)
el, jl = en.stderr.splitlines(), ja.stderr.splitlines()
check("English diagnostic", el and el[0].startswith("jp.policy:3:") and ": error: unknown option 'servce'" in el[0], en.stderr)
check("Japanese diagnostic keeps 'file:line:col: error:'",
      jl and jl[0].split(" error: ")[0] == el[0].split(" error: ")[0] and " error: " in jl[0], ja.stderr)
check("Japanese diagnostic is Japanese", jl and "不明なオプション 'servce'" in jl[0], ja.stderr)
check("source and caret lines are the same bytes", len(el) > 2 and len(jl) > 2 and el[1:3] == jl[1:3],
      "\n".join(el[1:3] + jl[1:3]))
if len(jl) > 2:
    # the caret sits under "servce": 6 columns of 庁内から count twice
    src, caret = jl[1], jl[2]
    col = caret.index("^")
    width = sum(2 if ord(ch) >= 0x1100 else 1 for ch in src[: src.index("servce")])
    check("caret under the span with CJK before it", col == width, f"{src}\n{caret}")
check("the count line in Japanese", ja.stderr.rstrip().endswith("エラー 1 件、警告 0 件"), ja.stderr)

# the summary of a good policy; what scripts read stays English
with open(policy, "w", encoding="utf-8") as f:
    f.write('policy "城北市" version "1"\n'
            'zone lgwan tier lgwan interface eth2 network 198.18.20.0/24\n'
            'zone internet tier internet interface eth3 network any\n'
            'rule "out" reject lgwan -> internet\n')
r = run([rulec, "check", "jp.policy"], JA, cwd=work)
check("check summary in Japanese", r.returncode == 0 and "三層分離の不変条件:" in r.stdout and "証明済み" in r.stdout,
      r.stdout + r.stderr)
en = run([rulec, "compile", "jp.policy", "-o", "a.table"], EN, cwd=work)
ja = run([rulec, "compile", "jp.policy", "-o", "b.table"], JA, cwd=work)
check("compile's summary (policy sha256) is not translated",
      en.returncode == 0 and ja.returncode == 0 and en.stdout.replace("a.table", "b.table") == ja.stdout,
      en.stdout + ja.stdout)
en = run([rulec, "show", "jp.policy"], EN, cwd=work)
ja = run([rulec, "show", "jp.policy"], JA, cwd=work)
check("show's listing is not translated", en.returncode == 0 and en.stdout == ja.stdout, en.stdout + ja.stdout)

# diff, for people: Japanese words around the unchanged policy syntax
with open(os.path.join(work, "b.policy"), "w", encoding="utf-8") as f:
    f.write(open(policy, encoding="utf-8").read().replace('"out" reject', '"out" deny'))
en = run([rulec, "diff", "jp.policy", "b.policy"], EN, cwd=work)
ja = run([rulec, "diff", "jp.policy", "b.policy"], JA, cwd=work)
check("diff in English", en.returncode == 0 and "  reject -> deny  " in en.stdout and "      was: rule 1 \"out\"" in en.stdout,
      en.stdout + en.stderr)
check("diff in Japanese", ja.returncode == 0 and "  reject -> deny  " in ja.stdout and
      "      変更前: ルール 1 \"out\"" in ja.stdout, ja.stdout + ja.stderr)

# sekishoctl and its audit helper, from the same catalogue
ctl_env = {"SEKISHO_CONF": "/dev/null", "SEKISHO_RULEC": rulec, "SEKISHO_STATE_DIR": os.path.join(work, "state"),
           "SEKISHO_RUN_DIR": os.path.join(work, "run"), "SEKISHO_CTL_AUDIT": ctl_audit}
missing = os.path.join(work, "none.policy")
en = run(["bash", ctl, "apply", missing], EN, extra=ctl_env)
ja = run(["bash", ctl, "apply", missing], JA, extra=ctl_env)
check("sekishoctl error in English", en.returncode == 2 and f"sekishoctl: no policy file {missing}" in en.stderr,
      en.stderr)
check("sekishoctl error in Japanese",
      ja.returncode == 2 and f"sekishoctl: ポリシーファイル {missing} がありません" in ja.stderr, ja.stderr)
en = run(["bash", ctl, "status"], EN, extra=ctl_env)
ja = run(["bash", ctl, "status"], JA, extra=ctl_env)
check("sekishoctl status in English", "applied policy: none\n" in en.stdout and "not answering" in en.stdout,
      en.stdout + en.stderr)
check("sekishoctl status in Japanese", "適用中のポリシー: なし\n" in ja.stdout and "応答なし" in ja.stdout,
      ja.stdout + ja.stderr)
r = run([ctl_audit, "--audit-dir", work, "--audit-key", work, "ev", "bad"], JA)
check("sekisho-ctl-audit in Japanese", r.returncode == 2 and "項目 'bad' が不正です" in r.stderr, r.stderr)

sys.exit(done())
