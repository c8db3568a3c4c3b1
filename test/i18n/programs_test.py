#!/usr/bin/env python3
"""programs_test: golden output of the daemons and CLIs in English and Japanese.

  programs_test.py [--update] LOGEXPORT GATEWAYD SANITIZE CDR METRICS HA_CHECK SITE NETFILTER RULEC REPLAY

Each case runs one program in a scratch directory and compares what it
printed (exit status, stdout, stderr) with test/i18n/golden/CASE.en.expected
(no language set: the English msgids) and CASE.ja.expected (LANGUAGE=ja
under C.UTF-8, the build tree's catalogue through $SEKISHO_LOCALEDIR).
Under LANG=ja_JP.UTF-8 (when the locale is generated; tools/test does it,
and under CI=true a missing one fails) the output must equal the ja golden.
Cases: sekisho-logexport verify on a tampered chain (the verdict, and
--json, which stays English), an export usage error; sekisho-gatewayd's
start-up with a missing table; sekisho-ha-check (shell, gettext.sh) on a box
without the bootstrap; sekisho-sanitize's, sekisho-cdr's and
sekisho-metrics' errors; sekisho-site (Python's gettext) on a site file
with mistakes (file:line kept) and a usage error; sekisho-netfilter (shell)
with an unknown option of start, and a command of the daemon's helper,
which stays English in both; sekisho-replay's errors (a zone the table
does not have, a file that is no capture); the --help of sekisho-logexport
(and of its export command), sekisho-gatewayd and sekisho-sanitize (with
the shared sanitiser options).  Lines that depend on the
machine (a warning about the clock or a missing group) are left out.
--update rewrites the goldens from this build (read the diff)."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from i18ntest import check, done, has_locale  # noqa: E402

args = sys.argv[1:]
update = args[:1] == ["--update"]
if update:
    args = args[1:]
logexport, gatewayd, sanitize, cdr, metrics, ha_check, site, netfilter, rulec, replay = (
    os.path.abspath(a) for a in args[:10])
HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
CHAIN = os.path.join(HERE, "chain")
BASE = {k: v for k, v in os.environ.items()
        if k not in ("LANGUAGE", "LANG", "JOURNAL_STREAM", "NOTIFY_SOCKET") and not k.startswith("LC_")}
BASE["TZ"] = "Asia/Tokyo"
LANGS = {"en": {}, "ja": {"LANGUAGE": "ja", "LC_ALL": "C.UTF-8"}}
JA_LOCALE = {"LANG": "ja_JP.UTF-8"}
# the key test/i18n/chain/ was written with (genlog, seed 7, TZ=Asia/Tokyo, --count 4)
KEY = bytes(range(32))


def machine_dependent(line):
    """Warnings whose presence depends on the machine, not on the program."""
    return any(w in line for w in ("clock is not synchronised", "時刻が同期していません",
                                   "warning: no group", "警告: グループ"))


def run(cmd, lang, cwd):
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(BASE, **lang), cwd=cwd, timeout=120)
    err = "".join(l for l in r.stderr.splitlines(True) if not machine_dependent(l))
    return f"exit {r.returncode}\n--- stdout\n{r.stdout}--- stderr\n{err}"


def setup():
    work = tempfile.mkdtemp(prefix="i18n-programs-")
    key = os.path.join(work, "audit.key")
    with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(KEY)
    # the chain genlog wrote with this key (test/i18n/chain/), then tampered
    # with: one record edited (the flow came from another zone), one deleted
    os.mkdir(os.path.join(work, "logs"))
    for name in os.listdir(CHAIN):
        lines = open(os.path.join(CHAIN, name), encoding="utf-8").read().split("\n")
        lines[5] = lines[5].replace('"from_zone":"internet"', '"from_zone":"lgwan"', 1)
        del lines[8]
        with open(os.path.join(work, "logs", name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    for d in ("audit", "run", "mail"):
        os.mkdir(os.path.join(work, d))
    with open(os.path.join(work, "mail", "a.eml"), "w") as f:
        f.write("From: a@example.jp\nSubject: x\n\nbody\n")
    # a site file with mistakes (no policy: no message names an absolute path)
    with open(os.path.join(work, "site.conf"), "w", encoding="utf-8") as f:
        f.write("# 設置場所の設定 (誤りを含む)\n[site]\nhostname = sekisho_bad\ndomain = example.lg.jp\n\n"
                "[segment lgwan]\nname = lgwan0\nzone = lgwan\nmac = 01:00:5e:00:00:01\naddress = 10.0.0.1\n"
                "management = maybe\n\n[mail]\nrelay_domains = example.lg.jp\nlgwan_mail_server = mail.example\n\n"
                "[colour]\n")
    # the sample policy's table, and a file that is no capture, for sekisho-replay
    policy = os.path.join(HERE, "..", "..", "rules", "examples", "municipality.policy")
    subprocess.run([rulec, "compile", policy, "-o", os.path.join(work, "t.table")], check=True,
                   capture_output=True, env=BASE)
    open(os.path.join(work, "empty.pcap"), "w").close()
    return work


CASES = [
    ("logexport-verify-tampered", [logexport, "verify", "--key", "audit.key", "logs"]),
    ("logexport-verify-json", [logexport, "verify", "--json", "--key", "audit.key", "logs"]),
    ("logexport-export-format", [logexport, "export", "--key", "audit.key", "--format", "xml", "logs"]),
    ("gatewayd-missing-table", [gatewayd, "--table", "missing.table", "--audit-dir", "audit", "--audit-key",
                                "audit.key", "--run-dir", "run"]),
    ("sanitize-files-need-outdir", [sanitize, "mail/a.eml"]),
    ("sanitize-audit-half", [sanitize, "--audit-dir", "audit"]),
    ("cdr-timeout", [cdr, "--timeout", "0", "mail/a.eml", "-o", "copy.txt"]),
    ("metrics-unknown-command", [metrics, "frobnicate"]),
    ("ha-check-no-bootstrap", ["sh", ha_check, "--netfilter", "/bin/false"]),
    ("site-check-errors", [sys.executable, site, "check", "site.conf"]),
    ("site-usage", [sys.executable, site, "render", "site.conf"]),
    ("netfilter-start-option", ["bash", netfilter, "start", "--frobnicate"]),
    ("netfilter-generation-english", ["bash", netfilter, "generation", "next"]),
    ("replay-no-zone", [replay, "--table", "t.table", "--in-if", "eth9", "empty.pcap"]),
    ("replay-not-pcap", [replay, "--table", "t.table", "empty.pcap"]),
    ("logexport-help", [logexport, "--help"]),
    ("logexport-export-help", [logexport, "export", "--help"]),
    ("gatewayd-help", [gatewayd, "--help"]),
    ("sanitize-help", [sanitize, "--help"]),
]

work = setup()
for name, cmd in CASES:
    out = {lang: run(cmd, env, work) for lang, env in LANGS.items()}
    for lang, got in out.items():
        path = os.path.join(GOLDEN, f"{name}.{lang}.expected")
        if update:
            with open(path, "w", encoding="utf-8") as f:
                f.write(got)
            continue
        want = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        check(f"{name} ({lang})", got == want,
              f"--- expected {path}\n{want}--- got\n{got}" if want is not None else f"no {path}; got\n{got}")
    if name == "logexport-verify-json":
        check(f"{name}: --json is the same in both languages", out["en"] == out["ja"])
    if name == "netfilter-generation-english":
        check(f"{name}: the helper's commands answer in English (audit reasons)", out["en"] == out["ja"])
    if not update:
        if has_locale("ja_JP.UTF-8"):
            check(f"{name} (LANG=ja_JP.UTF-8)", run(cmd, JA_LOCALE, work) == out["ja"])
        elif os.environ.get("CI") == "true":
            check("locale ja_JP.UTF-8 is generated (tools/test: ensure_locale)", False)

shutil.rmtree(work, ignore_errors=True)
if not os.environ.get("SEKISHO_LOCALEDIR"):
    check("SEKISHO_LOCALEDIR is set (the build tree's po/)", False)
sys.exit(done())
