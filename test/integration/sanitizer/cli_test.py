#!/usr/bin/env python3
"""sekisho-sanitize and sekisho-quarantine end to end (no network):
exit codes, batch mode, options, quarantine, release with audit record,
and oracle self-checks (the oracle must catch broken outputs)."""
import email
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
root = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(here, "../../.."))
sys.path.insert(0, os.path.join(root, "test/golden/sanitizer"))
import make_hostile  # noqa: E402
import oracle  # noqa: E402

san, qtool = sys.argv[1], sys.argv[2]
fails = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)


def run(args, data=b""):
    return subprocess.run([san] + args, input=data, capture_output=True)


def body(out):
    m = email.message_from_bytes(out)
    return m.get_payload(decode=True).decode(m.get_content_charset())


msgs = {k: (v if isinstance(v, bytes) else v.encode()) for k, v in make_hostile.messages().items()}
tmp = tempfile.mkdtemp(prefix="san-cli-")

# exit codes
check(run([], msgs["01-rtlo-name"]).returncode == 0, "exit 0 for a sanitised message")
p = run([], msgs["07-mime-bomb-depth"])
check(p.returncode == 1 and b"result=failed" in p.stdout, "exit 1 and fail-closed output for a MIME bomb")
check(run(["--max-parts", "3"], msgs["01-rtlo-name"]).returncode == 0, "part limit 3 still fits 3 entities")
p = run(["--max-parts", "2"], msgs["01-rtlo-name"])
check(p.returncode == 1 and "part-count" in body(p.stdout), "part limit hit fails closed")
p = run(["--max-size", "100"], msgs["01-rtlo-name"])
check(p.returncode == 1 and "message-size" in body(p.stdout) and "総務課" not in body(p.stdout),
      "size limit: notice alone, no original text")
check(run(["--bogus"]).returncode == 2, "exit 2 for a bad option")
check(run(["--links", "sideways"]).returncode == 2, "exit 2 for a bad --links value")
qd = os.path.join(tmp, "qfull")
p = run(["--quarantine", qd, "--quarantine-max", "300"], msgs["03-pe-named-pdf"])
check(p.returncode == 75 and p.stdout == b"", "exit 75 and no output when the quarantine is full")

# options
p = run(["--lang", "en"], msgs["04-encrypted-zip"])
check("password-protected" in body(p.stdout) and "declared type" in body(p.stdout), "--lang en notice")
p = run(["--links", "keep"], msgs["10-html-script-data-url"])
check("[https://evil.example/login]" in body(p.stdout), "--links keep shows the target as is")
p = run(["--links", "remove"], msgs["10-html-script-data-url"])
check("evil.example" not in body(p.stdout) and "銀行のサイト" in body(p.stdout), "--links remove drops the target")

# URLs in plain text follow --links like HTML link targets
u = msgs["21-text-urls"]
p = run([], u)
b = body(p.stdout)
check(p.returncode == 0 and "こちらhxxps[:]//evil.example/login?id=1から" in b and "hxxp[:]//EVIL.example/a_(b))" in b
      and "fxp[:]//files.example/x.zip." in b and "links-disabled" in p.stdout.decode(), "text URLs defanged by default")
# every scheme and www. autolinks are links too (docs/sanitizer.md): an
# unknown scheme, a www. name and an already defanged URL are rewritten
check("xhttp[:]//no" in b and "www[.]example.jp" in b and "hxxps[:]//already.example" in b, "every link form disabled")
check("本文中のリンク" in b and not oracle.check(u, p.stdout), "notice line and oracle pass")
p = run(["--links", "keep"], u)
b = body(p.stdout)
check("こちらhttps://evil.example/login?id=1から" in b and "本文中のリンク" not in b, "--links keep: text URLs unchanged")
check(any("live URL" in x for x in oracle.check(u, p.stdout)), "oracle: catches a live URL")
check(not oracle.check(u, p.stdout, links="keep"), "oracle in keep mode accepts it")
p = run(["--links", "remove", "--lang", "en"], u)
b = body(p.stdout)
check("evil.example" not in b and "files.example" not in b and "こちら[URL removed]から" in b
      and "(see [URL removed]) and [URL removed]." in b, "--links remove: text URLs replaced")
check(not oracle.check(u, p.stdout, links="remove"), "oracle passes remove mode")

# a large piped message is spooled to a file, not held in memory: same
# output as from a regular file, and the spool file is gone afterwards
big = msgs["04-encrypted-zip"].replace(b"\n\n", b"\nX-Pad: " + b"p" * 900 + b"\n\n", 1)
big = big.replace(b"Subject:", b"".join(b"X-Pad-%d: %s\n" % (i, b"q" * 900) for i in range(10000)) + b"Subject:", 1)
spd = os.path.join(tmp, "spool")
os.mkdir(spd, 0o700)
bf = os.path.join(tmp, "big.eml")
open(bf, "wb").write(big)
with open(bf, "rb") as f:
    pf = subprocess.run([san, "--max-headers", "20000"], stdin=f, capture_output=True)
pp = run(["--max-headers", "20000", "--spool-dir", spd], big)
check(len(big) > (8 << 20) and pf.returncode == 0 and pf.stdout == pp.stdout and os.listdir(spd) == [],
      "a 9 MiB piped message (spooled) gives the file's output, leaves no file")
check(not oracle.check(big, pp.stdout), "oracle passes the spooled output")
p = run([], msgs["10-html-script-data-url"])
b = body(p.stdout)
check("hxxps[:]//evil.example/login" in b and "隠しテキスト" not in b and "alert" not in b and "color:red" not in b,
      "HTML: defanged link, hidden text, script and style dropped")
check("[画像: ロゴ]" in b and "・一つ目" in b and "品名 | 数量" in b and "お知らせ&ご案内" in b,
      "HTML: image alt, list, table, entity")
p = run(["--charset", "iso-2022-jp"], msgs["15-8bit-no-charset"])
m = email.message_from_bytes(p.stdout)
check(m.get_content_charset() == "iso-2022-jp" and
      "会議は明日です。" in m.get_payload(decode=True).decode("iso2022_jp"), "--charset iso-2022-jp")
check(str(email.header.make_header(email.header.decode_header(m["From"]))).startswith("山田"),
      "From re-encoded in ISO-2022-JP decodes to 山田")
p = run(["--keep-header", "X-Mailer"], msgs["01-rtlo-name"])
check(b"X-Mailer: hostile" in p.stdout and b"Received:" not in p.stdout, "--keep-header keeps one more header")
tpl = os.path.join(tmp, "notice.txt")
open(tpl, "w").write("title = 【テスト通知】\n")
p = run(["--notice", tpl], msgs["01-rtlo-name"])
check(body(p.stdout).startswith("【テスト通知】"), "--notice template overrides a key")
open(tpl, "w").write("nonsense = x\n")
check(run(["--notice", tpl], msgs["01-rtlo-name"]).returncode == 2, "unknown template key refused")
d = subprocess.run([san, "--dump-template", "ja"], capture_output=True).stdout.decode()
check("title = 【関所 無害化通知】" in d, "--dump-template ja")

# batch mode
ind, outd = os.path.join(tmp, "in"), os.path.join(tmp, "out")
os.mkdir(ind)
os.mkdir(outd)
for k in ("01-rtlo-name", "05-tnef", "07-mime-bomb-depth"):
    open(os.path.join(ind, k + ".eml"), "wb").write(msgs[k])
p = subprocess.run([san, "-o", outd, ind], capture_output=True)
check(p.returncode == 1 and sorted(os.listdir(outd)) == sorted(os.listdir(ind)), "batch: every file written, exit 1")
for k in os.listdir(outd):
    probs = oracle.check(open(os.path.join(ind, k), "rb").read(), open(os.path.join(outd, k), "rb").read())
    check(not probs, "batch output %s passes the oracle %s" % (k, probs))

# quarantine and audit
qd = os.path.join(tmp, "q")
ad = os.path.join(tmp, "audit")
key = os.path.join(tmp, "key")
fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, os.urandom(32))
os.close(fd)
p = run(["--quarantine", qd, "--audit-dir", ad, "--audit-key", key, "--queue-id", "Q1", "--env-from",
         "a@example.jp", "--env-to", "b@city.example.lg.jp"], msgs["04-encrypted-zip"])
check(p.returncode == 0, "sanitise with quarantine and audit")
check(stat.S_IMODE(os.stat(qd).st_mode) == 0o700, "quarantine directory is 0700")
qid = [ln.split(": ")[1] for ln in body(p.stdout).splitlines() if "隔離ID" in ln][0]
check(len(qid) == 16, "quarantine id shown in the notice")
recs = []
for f in sorted(os.listdir(ad)):
    if f.endswith(".jsonl"):
        recs += [json.loads(x) for x in open(os.path.join(ad, f))]
ms = [r for r in recs if r["event"] == "mail.sanitized"]
check(len(ms) == 1, "one mail.sanitized record")
if ms:
    dd = ms[0]["data"]
    check(dd["queue_id"] == "Q1" and dd["verdict"] == "delivered" and dd["removed"][0]["quarantine_id"] == qid and
          "attachments-removed" in dd["actions"] and len(dd["original_sha256"]) == 64, "mail.sanitized fields")
lst = subprocess.run([qtool, "--dir", qd, "list"], capture_output=True, text=True)
check(lst.returncode == 0 and qid in lst.stdout and "original" in lst.stdout, "quarantine list")
sh = subprocess.run([qtool, "--dir", qd, "show", qid], capture_output=True, text=True)
check(sh.returncode == 0 and json.loads(sh.stdout)["name"] == "請求書.zip", "quarantine show")
rel = os.path.join(tmp, "released.zip")
r = subprocess.run([qtool, "--dir", qd, "release", qid, "--to", rel, "--by", "tanaka", "--reason", "test"],
                   capture_output=True)
check(r.returncode == 2 and not os.path.exists(rel), "release without an audit log is refused")
r = subprocess.run([qtool, "--dir", qd, "release", qid, "--to", rel, "--by", "tanaka", "--reason", "課長承認",
                    "--audit-dir", ad, "--audit-key", key], capture_output=True)
check(r.returncode == 0 and open(rel, "rb").read() == make_hostile.enc_zip()[:0] + open(
    os.path.join(qd, [f for f in os.listdir(qd) if f.startswith(qid) and f.endswith(".data")][0]), "rb").read(),
    "release writes the item")
check(stat.S_IMODE(os.stat(rel).st_mode) == 0o600, "released file is 0600")
r = subprocess.run([qtool, "--dir", qd, "release", qid, "--to", rel, "--by", "tanaka", "--reason", "again",
                    "--audit-dir", ad, "--audit-key", key], capture_output=True)
check(r.returncode == 2, "release never overwrites")
recs = []
for f in sorted(os.listdir(ad)):
    if f.endswith(".jsonl"):
        recs += [json.loads(x) for x in open(os.path.join(ad, f))]
rl = [x for x in recs if x["event"] == "quarantine.release"]
check(len(rl) == 2 and rl[0]["data"]["user"] == "tanaka" and rl[0]["data"]["result"] == "ok", "release audit records")
check(subprocess.run([qtool, "--dir", qd, "show", "ffffffffffff"], capture_output=True).returncode == 1, "unknown id")

# the oracle must be able to fail
out = run([], msgs["04-encrypted-zip"]).stdout
check(not oracle.check(msgs["04-encrypted-zip"], out), "oracle passes the real output")
check(oracle.check(msgs["04-encrypted-zip"], out.replace(b"X-Sekisho", b"X-Other")) != [], "oracle: marker missing")
check(oracle.check(msgs["04-encrypted-zip"], msgs["04-encrypted-zip"]) != [], "oracle: original as output")
ht = msgs["10-html-script-data-url"].replace(b"Subject: html", b"X-Sekisho-Sanitized: v1\nSubject: html").replace(
    b"text/html", b"text/plain")
check(any("markup" in x for x in oracle.check(msgs["10-html-script-data-url"], ht)), "oracle: HTML markup")
m = email.message_from_bytes(out)
txt = m.get_payload(decode=True).decode().replace("SHA-256: ", "SHA256 ")
del m["Content-Transfer-Encoding"]
m.set_payload(txt, "utf-8")
check(any("listed" in x for x in oracle.check(msgs["04-encrypted-zip"], m.as_bytes())), "oracle: unlisted removal")
ja = run([], msgs["01-rtlo-name"]).stdout
m = email.message_from_bytes(ja)
t = m.get_payload(decode=True).decode().replace("資料", "資科")
del m["Content-Transfer-Encoding"]
m.set_payload(t, "utf-8")
check(any("Japanese" in x for x in oracle.check(msgs["01-rtlo-name"], m.as_bytes())), "oracle: changed Japanese")

shutil.rmtree(tmp, ignore_errors=True)
print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
