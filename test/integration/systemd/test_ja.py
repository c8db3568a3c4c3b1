#!/usr/bin/env python3
"""The log lines of sekisho-milter, sekisho-cdrd and sekisho-logexport
forward in Japanese (issue 16, item 7): under LANG=ja_JP.UTF-8 with the
build tree's catalogue (SEKISHO_LOCALEDIR, test/meson.build's
test_env_i18n) a line comes out in Japanese, and the same run under LANG=C
in English; the program's name before it stays as it is (the journal's
SYSLOG_IDENTIFIER-like prefix).  A missing ja_JP.UTF-8 locale skips (77),
or fails under CI=true (tools/test generates it)."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import netns  # noqa: E402

MILTER, CDRD, CDR, LIBEXEC, LOGEXPORT = (os.path.abspath(a) for a in sys.argv[1:6])
failures = 0


def check(what, ok, detail=""):
    global failures
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))


if "ja_JP.utf8" not in subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout:
    netns.skip_or_fail("daemons-ja: the ja_JP.UTF-8 locale is not generated")


def run(argv, lang):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k not in ("LANG", "LANGUAGE")}
    env["LANG"] = lang
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


tmp = tempfile.mkdtemp(prefix="daemons-ja-")
key = os.path.join(tmp, "audit.key")
with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
    f.write(os.urandom(32))
os.mkdir(os.path.join(tmp, "q"), 0o700)
os.mkdir(os.path.join(tmp, "chain"))
not_a_dir = os.path.join(tmp, "file")
open(not_a_dir, "w").close()

cases = [
    ("sekisho-milter: an audit key that is not there",
     [MILTER, "-s", "unix:" + os.path.join(tmp, "m.sock"), "--quarantine", os.path.join(tmp, "q"), "--audit-dir",
      os.path.join(tmp, "audit"), "--audit-key", os.path.join(tmp, "none.key")],
     "sekisho-milter: 監査鍵を読み込めません: ", "sekisho-milter: cannot load the audit key: "),
    ("sekisho-cdrd: a queue that cannot be opened",
     [CDRD, "--queue", not_a_dir, "--quarantine", os.path.join(tmp, "q"), "--audit-dir", os.path.join(tmp, "audit"),
      "--audit-key", key, "--cdr", CDR, "--libexec", LIBEXEC],
     "sekisho-cdrd: CDR キューを開けません: ", "sekisho-cdrd: cannot open the CDR queue: "),
    ("sekisho-logexport forward: no --state, nothing to send",
     [LOGEXPORT, "forward", "--to", "127.0.0.1:9", "--plain", "--key", key, os.path.join(tmp, "chain")],
     "sekisho-logexport: 127.0.0.1:9 に転送する新しい記録はありません", "sekisho-logexport: nothing new to forward to 127.0.0.1:9"),
]
for what, argv, ja, en in cases:
    r = run(argv, "ja_JP.UTF-8")
    check(f"{what}: Japanese under LANG=ja_JP.UTF-8", ja in r.stderr, r.stderr)
    r = run(argv, "C")
    check(f"{what}: English under LANG=C", en in r.stderr, r.stderr)
r = run(cases[2][1], "ja_JP.UTF-8")
check("sekisho-logexport forward: its warning too (--state)", "--state がありません。" in r.stderr, r.stderr)

subprocess.run(["rm", "-rf", tmp])
print(f"{failures} failure(s)" if failures else "all passed")
sys.exit(1 if failures else 0)
