#!/usr/bin/env python3
"""sekisho-milter with --portal-url (issue 15, docs/portal.md "The notice and
its link"): a mail with an xlsx, a pdf and an exe goes through the milter
(the libmilter client of milter_test.py, like an MTA), and

- the notice (read with Python's email) holds exactly one https link, the
  portal's, not defanged, while the sender's own link is; each attachment
  has its CDR state (being made / no copy possible with the reason /
  already available); the expiry in JST; the originals line;
- a manifest exists under the hex SHA-256 of the link's token (hashlib),
  and its fields (Python's json) are the message's: origin, queue id,
  envelope, subject, and per file the SHA-256 of the attachment's bytes,
  its name, size and state;
- every CDR job carries the manifest's hash, origin "mail" and the
  delivery mode; mail.sanitized carries the hash and never the token;
- --deliver-copies mail, --originals off, --lang en, --link-days,
  --charset iso-2022-jp;
- a copy already in --copies-dir shows as available, a converter's refusal
  there as "no copy possible";
- a manifest that cannot be written does not hold the mail back: the
  notice says so, mail.sanitized records link_error;
- without --portal-url nothing of this appears; bad options exit 2;
- through a private Postfix (root): the delivered mail has the link, the
  manifest Postfix's queue id, the audit record the manifest's hash.

usage: milter_link_test.py SEKISHO-MILTER"""
import email
import email.policy
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from milterclient import Client, rebuild, stop_process  # noqa: E402
import pfharness as H  # noqa: E402
import postfix_test as PT  # noqa: E402

MILTER = os.path.abspath(sys.argv[1])
PORTAL = "https://portal.city.example.lg.jp"
fails = []


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond or not detail else ": " + str(detail)[:600]))
    if not cond:
        fails.append(what)


def xlsx_bytes():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", "<workbook/>")
    return b.getvalue()


FILES = [("見積書.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx_bytes()),
         ("報告書.pdf", "application/pdf", b"%PDF-1.4\n% sekisho test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
         ("setup.exe", "application/octet-stream", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200))]
SHA = {n: hashlib.sha256(d).hexdigest() for n, _, d in FILES}


def message(subject="見積書の送付", files=FILES):
    m = MIMEMultipart()
    m["From"] = "sender@example.com"
    m["To"] = "soumu@lgwan.test"
    m["Subject"] = subject
    m["Message-ID"] = "<link-test-%d@example.com>" % len(files)
    m.attach(MIMEText("お世話になります。詳細は https://evil.example/phish をご覧ください。\n", "plain", "utf-8"))
    for name, ctype, data in files:
        main, sub = ctype.split("/")
        part = MIMEApplication(data, _subtype=sub)
        part.replace_header("Content-Type", ctype)
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        m.attach(part)
    return m.as_bytes()


class Milter:
    def __init__(self, tmp, name, extra=(), portal=True):
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        self.sock = os.path.join(self.dir, "milter.sock")
        self.q = os.path.join(self.dir, "q")
        self.audit = os.path.join(self.dir, "audit")
        self.links = os.path.join(self.dir, "links")
        self.copies = os.path.join(self.dir, "copies")
        self.queue = os.path.join(self.dir, "cdr-queue")
        os.mkdir(self.links)
        os.mkdir(self.copies)
        key = os.path.join(self.dir, "audit.key")
        PT.make_key(key)
        args = [MILTER, "-s", "unix:" + self.sock, "--quarantine", self.q, "--audit-dir", self.audit,
                "--audit-key", key, "--cdr-queue", self.queue]
        if portal:
            args += ["--portal-url", PORTAL + "/", "--links-dir", self.links, "--copies-dir", self.copies]
        self.log = open(os.path.join(self.dir, "milter.log"), "wb")
        self.p = subprocess.Popen(args + list(extra), stdout=self.log, stderr=self.log)
        try:
            H.wait_port(self.sock, timeout=30, proc=self.p)
        except RuntimeError as e:
            raise RuntimeError("milter did not start (%s): %s" % (e, open(self.log.name).read()))

    def send(self, raw, qid):
        """The message through the milter: (reply, the rebuilt output as an
        email.message, its text)."""
        c = Client(self.sock)
        c.negotiate()
        reply, mods = c.message(raw, env_from="<sender@example.com>",
                                rcpts=("<soumu@lgwan.test>", "<kikaku@lgwan.test>"), qid=qid)
        c.close()
        out = rebuild(raw, mods or [], True) if reply[0] == b"c" else None
        if not out:
            return reply, None, ""
        msg = email.message_from_bytes(out, policy=email.policy.default)
        return reply, msg, msg.get_body(("plain",)).get_content()

    def jobs(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.queue, "new", "*"))):
            with open(p, encoding="utf-8") as f:
                out.append(json.load(f))
        return out

    def records(self, event="mail.sanitized"):
        self.p.terminate()  # the audit writer flushes on exit
        self.p.wait(20)
        recs = []
        for p in sorted(glob.glob(os.path.join(self.audit, "*.jsonl"))):
            with open(p, encoding="utf-8") as f:
                recs += [json.loads(line) for line in f if line.strip()]
        return [r for r in recs if r["event"] == event], recs

    def stop(self):
        stop_process(self.p)
        self.log.close()


def blocks(text):
    """Each removed item's lines, by file name (the notice's '・NAME' blocks)."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^(?:・|- )(.+)$", line)
        if m:
            cur = m.group(1)
            out[cur] = []
        elif cur and line.startswith("  "):
            out[cur].append(line)
        else:
            cur = None
    return out


LINK = re.compile(r"https://[^\s<>()]+")
tmp = tempfile.mkdtemp(prefix="san-milter-link-")
started = []
try:
    # --- the main case: xlsx, pdf, exe ---------------------------------
    m = Milter(tmp, "main")
    started.append(m)
    raw = message()
    reply, out, text = m.send(raw, "QLINK1")
    check(reply[0] == b"c" and out is not None, "message continued and rebuilt", reply)
    links = LINK.findall(text)
    check(len(links) == 1, "the notice holds exactly one https link", links)
    token = None
    if links:
        mt = re.fullmatch(re.escape(PORTAL) + r"/m/([A-Za-z0-9_-]{43})", links[0])
        check(mt is not None, "the link is the portal's /m/<43-character token>", links[0])
        token = mt.group(1) if mt else None
    check("hxxps[:]//evil.example" in text or "hxxps://evil.example" in text or "evil[.]example" in text,
          "the sender's own link is still defanged", text[:2000])
    b = blocks(text)
    check(set(b) == {n for n, _, _ in FILES}, "one block per attachment", list(b))
    st = {n: " ".join(v) for n, v in b.items()}
    check("無害化コピー: 作成中" in st.get("見積書.xlsx", ""), "xlsx: copy being made", st.get("見積書.xlsx"))
    check("無害化コピー: 作成中" in st.get("報告書.pdf", ""), "pdf: copy being made", st.get("報告書.pdf"))
    check("無害化コピー: 作れません（理由:" in st.get("setup.exe", "") and "作成中" not in st.get("setup.exe", ""),
          "exe: no copy possible, with the reason", st.get("setup.exe"))
    check(re.search(r"有効期限 \d{4}-\d\d-\d\d \d\d:\d\d JST", text) is not None, "expiry shown in JST")
    check("原本が必要な場合は" in text and "別のメール" not in text, "originals line; no follow-up line (link mode)")

    # the manifest, found under the token's hash
    h = hashlib.sha256(token.encode()).hexdigest() if token else "-"
    path = os.path.join(m.links, h + ".json")
    check(os.path.exists(path), "a manifest under sha256(token)", os.listdir(m.links))
    check(len(os.listdir(m.links)) == 1, "exactly one manifest for one message", os.listdir(m.links))
    man = json.load(open(path, encoding="utf-8")) if os.path.exists(path) else {}
    check(man.get("v") == 1 and man.get("origin") == "mail" and man.get("queue_id") == "QLINK1",
          "manifest: v, origin mail, queue id", man)
    check(man.get("from") == "<sender@example.com>" and
          man.get("rcpt") == ["<soumu@lgwan.test>", "<kikaku@lgwan.test>"], "manifest: envelope", man)
    check(man.get("subject") == "見積書の送付" and man.get("message_id") == "<link-test-3@example.com>",
          "manifest: subject decoded, message id", man)
    check(man.get("expires", 0) - man.get("created", 0) == 7 * 86400, "manifest: 7 days by default")
    exp_jst = man.get("expires", 0) + 9 * 3600
    import datetime
    shown = datetime.datetime.fromtimestamp(exp_jst, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M JST")
    check(("有効期限 " + shown) in text, "the notice's expiry is the manifest's, in JST", shown)
    files = {f["name"]: f for f in man.get("files", [])}
    for name, ctype, data in FILES:
        f = files.get(name, {})
        check(f.get("sha256") == SHA[name] and f.get("bytes") == len(data),
              "manifest: %s sha256 and bytes of the attachment" % name, f)
    check(files.get("見積書.xlsx", {}).get("cdr") == "pending" and files.get("報告書.pdf", {}).get("cdr") == "pending"
          and files.get("setup.exe", {}).get("cdr") == "none:unsupported-format",
          "manifest: states pending, pending, none:unsupported-format",
          {n: f.get("cdr") for n, f in files.items()})
    check(files.get("報告書.pdf", {}).get("type", "").startswith("application/pdf"), "manifest: the detected type",
          files.get("報告書.pdf"))
    mode = oct(os.stat(path).st_mode & 0o777) if os.path.exists(path) else "-"
    check(mode == "0o640", "manifest mode 0640", mode)

    # the jobs
    jobs = m.jobs()
    check(len(jobs) == 3, "three CDR jobs", len(jobs))
    check(all(j.get("link") == h and j.get("origin") == "mail" and j.get("deliver") == "link" for j in jobs),
          "every job carries the manifest's hash, origin mail, deliver link",
          [(j.get("link"), j.get("origin"), j.get("deliver")) for j in jobs])
    check(sorted(j["sha256"] for j in jobs) == sorted(SHA.values()), "jobs: the attachments' hashes")

    # a copy already made (pdf) and a converter's refusal (xlsx) in copies/
    def report(sha, result):
        with open(os.path.join(m.copies, sha + ".report.json"), "w") as f:
            json.dump({"result": result, "in_sha256": sha, "kind": "pdf", "in_type": "pdf", "out_type": "pdf",
                       "out_ext": "pdf" if result == "ok" else "", "mode": "pixels", "out_sha256": "",
                       "in_bytes": 1, "out_bytes": 1, "ms": 1, "pages": 1, "removed": []}, f)
    report(SHA["報告書.pdf"], "ok")
    report(SHA["見積書.xlsx"], "encrypted")
    reply, out, text2 = m.send(raw, "QLINK2")
    st2 = {n: " ".join(v) for n, v in blocks(text2).items()}
    check("無害化コピー: 作成済み" in st2.get("報告書.pdf", ""), "pdf with a copy in copies/: available",
          st2.get("報告書.pdf"))
    check("作れません" in st2.get("見積書.xlsx", "") and "パスワード" in st2.get("見積書.xlsx", ""),
          "xlsx refused before: no copy possible, the reason's text", st2.get("見積書.xlsx"))
    links2 = LINK.findall(text2)
    check(len(links2) == 1 and links2[0] != links[0], "a second message: a new link", links2)
    man2 = {}
    if links2:
        t2 = links2[0].rsplit("/", 1)[1]
        p2 = os.path.join(m.links, hashlib.sha256(t2.encode()).hexdigest() + ".json")
        man2 = json.load(open(p2, encoding="utf-8")) if os.path.exists(p2) else {}
    f2 = {f["name"]: f["cdr"] for f in man2.get("files", [])}
    check(f2 == {"見積書.xlsx": "none:encrypted", "報告書.pdf": "ready", "setup.exe": "none:unsupported-format"},
          "manifest 2: none:encrypted, ready, none:unsupported-format", f2)

    # no attachment: no manifest, no link
    before = len(os.listdir(m.links))
    plain = message(subject="連絡", files=[])
    reply, out, text3 = m.send(plain, "QLINK3")
    check(reply[0] == b"c" and not LINK.findall(text3) and len(os.listdir(m.links)) == before,
          "a message without attachments: no link, no manifest")

    # the link directory gone: the mail still goes, the notice says so
    shutil.rmtree(m.links)
    reply, out, text4 = m.send(raw, "QLINK4")
    check(reply[0] == b"c" and out is not None, "manifest not writable: the mail still continues", reply)
    check("リンクを作成できませんでした" in text4 and not LINK.findall(text4), "the notice says the link failed",
          text4[:1500])
    st4 = {n: " ".join(v) for n, v in blocks(text4).items()}
    check("作成中" not in text4 and "作れません" in st4.get("setup.exe", ""),
          "without a link: no 'being made' promise; 'no copy possible' stays")
    jobs4 = [j for j in m.jobs() if j.get("queue_id") == "QLINK4"]
    check(len(jobs4) == 3 and all(j.get("link", "") == "" for j in jobs4), "jobs without a link", jobs4)

    recs, allrecs = m.records()
    by_q = {r["data"]["queue_id"]: r["data"] for r in recs}
    check(by_q.get("QLINK1", {}).get("link") == h and "link_error" not in by_q.get("QLINK1", {}),
          "mail.sanitized: the manifest's hash", by_q.get("QLINK1"))
    check(by_q.get("QLINK4", {}).get("link_error") == "link-write", "mail.sanitized: link_error", by_q.get("QLINK4"))
    check("link" not in by_q.get("QLINK3", {}), "mail.sanitized: no link member without a link")
    alltext = "".join(open(p, encoding="utf-8").read() for p in glob.glob(os.path.join(m.audit, "*.jsonl")))
    check(token is not None and token not in alltext and links2[0].rsplit("/", 1)[1] not in alltext,
          "no token in the audit trail")
    m.stop()

    # --- deliver by mail, originals off, English, 3 days ------------------
    e = Milter(tmp, "en", ["--deliver-copies", "mail", "--originals", "off", "--lang", "en", "--link-days", "3"])
    started.append(e)
    reply, out, text = e.send(raw, "QEN1")
    st = {n: " ".join(v) for n, v in blocks(text).items()}
    check("safe copy: being made" in st.get("報告書.pdf", "") and
          "safe copy: no copy possible:" in st.get("setup.exe", ""), "en: states", st)
    check("separate mail" in text and "request it" not in text, "en: follow-up mail line, no originals line")
    lk = LINK.findall(text)
    check(len(lk) == 1 and lk[0].startswith(PORTAL + "/m/"), "en: one link (trailing / of --portal-url dropped)", lk)
    mans = [json.load(open(os.path.join(e.links, n), encoding="utf-8")) for n in os.listdir(e.links)]
    check(len(mans) == 1 and mans[0]["expires"] - mans[0]["created"] == 3 * 86400, "--link-days 3")
    check(all(j.get("deliver") == "mail" for j in e.jobs()) and len(e.jobs()) == 3, "jobs: deliver mail")
    e.stop()

    # --- ISO-2022-JP output: every new text has its JIS form ---------------
    j = Milter(tmp, "jis", ["--charset", "iso-2022-jp"])
    started.append(j)
    reply, out, text = j.send(raw, "QJIS1")
    lk = LINK.findall(text)
    check(out is not None and out.get_body(("plain",)).get_content_charset() == "iso-2022-jp" and len(lk) == 1 and
          "無害化コピー: 作成中（できしだい下記のリンクから受け取れます）" in text and
          "無害化コピー: 作れません（理由:" in text and "原本が必要な場合は、上記のページから" in text and
          "有効期限" in text, "iso-2022-jp: the states, the link and its lines decode", text[:1500])
    j.stop()

    # --- without --portal-url: as before ----------------------------------
    n = Milter(tmp, "plain", portal=False)
    started.append(n)
    reply, out, text = n.send(raw, "QPLAIN")
    check(reply[0] == b"c" and not LINK.findall(text) and "無害化コピー" not in text and "受け取り" not in text,
          "without --portal-url: no link, no states")
    check(len(n.jobs()) == 3 and all(j.get("link", "") == "" for j in n.jobs()), "without --portal-url: no link in jobs")
    recs, _ = n.records()
    check(recs and "link" not in recs[0]["data"] and "link_error" not in recs[0]["data"],
          "without --portal-url: mail.sanitized as before")
    n.stop()

    # --- bad options --------------------------------------------------------
    base = [MILTER, "-s", "unix:" + os.path.join(tmp, "x.sock"), "--quarantine", os.path.join(tmp, "xq"),
            "--audit-dir", os.path.join(tmp, "xa"), "--audit-key", os.path.join(tmp, "main", "audit.key")]
    ld = os.path.join(tmp, "xl")
    os.mkdir(ld)
    for args, what in [(["--portal-url", "http://portal.example"], "http URL"),
                       (["--portal-url", "https://p.example/a b", "--links-dir", ld], "space in the URL"),
                       (["--portal-url", "https://p.example/?q=1", "--links-dir", ld], "query in the URL"),
                       (["--portal-url", "https://p.example\r\nX: y", "--links-dir", ld], "CRLF in the URL"),
                       (["--portal-url", "https://p.example"], "no --links-dir"),
                       (["--portal-url", "https://p.example", "--links-dir", os.path.join(tmp, "none")],
                        "--links-dir missing"),
                       (["--link-days", "0"], "--link-days 0"), (["--link-days", "400"], "--link-days 400"),
                       (["--deliver-copies", "fax"], "--deliver-copies fax"), (["--originals", "maybe"], "--originals")]:
        r = subprocess.run(base + args, capture_output=True, timeout=30)
        check(r.returncode == 2, "refused: " + what, r.stderr[-300:])
    # --- through a real Postfix: the MTA's queue id, the delivered mail ----
    if os.geteuid() == 0 and (shutil.which("postfix") or os.path.exists("/usr/sbin/postfix")):
        import smtplib
        os.chmod(tmp, 0o755)  # Postfix's own users reach its directories below
        key = os.path.join(tmp, "pf.key")
        PT.make_key(key)
        links = os.path.join(tmp, "pf-links")
        os.mkdir(links)
        sink = H.Sink(os.path.join(tmp, "pf-sink"))
        pm = H.Milter(MILTER, os.path.join(tmp, "pf-milter"), os.path.join(tmp, "pf-audit"), key, unix=True,
                      extra=["--portal-url", PORTAL, "--links-dir", links])
        pf = H.Postfix(os.path.join(tmp, "pf"), sink.port, pm.spec)
        try:
            pm.start()
            pf.start()
            with smtplib.SMTP("127.0.0.1", pf.port, timeout=60) as smtp:
                smtp.sendmail("sender@example.com", ["soumu@" + H.LGWAN_DOMAIN], raw)
            PT.wait_until(lambda: sink.count >= 1 and pf.queued() == 0, 120, "the delivery")
            got = list(sink.messages())
            check(len(got) == 1, "postfix: delivered once", len(got))
            if got:
                msg = email.message_from_bytes(got[0][0], policy=email.policy.default)
                text = msg.get_body(("plain",)).get_content()
                lk = LINK.findall(text)
                check(len(lk) == 1 and lk[0].startswith(PORTAL + "/m/"), "postfix: one portal link in the mail", lk)
                h = hashlib.sha256(lk[0].rsplit("/", 1)[1].encode()).hexdigest() if lk else "-"
                mpath = os.path.join(links, h + ".json")
                man = json.load(open(mpath, encoding="utf-8")) if os.path.exists(mpath) else {}
                pm.stop()
                recs = PT.audit_records(os.path.join(tmp, "pf-audit"))
                check(len(recs) == 1 and recs[0].get("link") == h and man.get("queue_id") == recs[0]["queue_id"]
                      and man.get("queue_id"), "postfix: the manifest has Postfix's queue id, the record its hash",
                      (man.get("queue_id"), recs))
                check(man.get("rcpt") == ["<soumu@%s>" % H.LGWAN_DOMAIN] and
                      {f["name"]: f["cdr"] for f in man.get("files", [])}.get("setup.exe") == "none:unsupported-format",
                      "postfix: the manifest's recipient and states", man)
        finally:
            pf.stop()
            pm.stop()
            sink.stop()
    else:
        print("skip postfix part: needs root and postfix")
finally:
    for s in started:
        try:
            s.stop()
        except Exception:
            pass
    if not fails:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("kept", tmp)

print("%d failed" % len(fails) if fails else "all passed")
sys.exit(1 if fails else 0)
