#!/usr/bin/env python3
"""sekisho-cdrd's portal duties end to end (issue 15, docs/portal.md,
"The worker's portal duties"), with the real worker, sekisho-cdr and the
converters in the sandbox.

usage: portal_worker_test.py CDRD CLI LIBEXEC LOGEXPORT [PARTS...]

Parts (default all):
  upload    hand-written parcels (the documented inbox format): the
            originals in transfer/ (0600), one link manifest (json), the
            copies and reports (0640), the notification mail at an SMTP
            sink on loopback judged by Python's email (Japanese first, the
            link whose SHA-256 names the manifest, the uploader, the note,
            the names); bad parcels (hash, size, metadata) refused and
            audited, nothing of them left; stale .part files removed.
  approval  approval: no mail at intake, the token kept in transfer/;
            a notify request sends the mail once, a second one does not.
  release   release requests (an upload's original, a mail's original):
            releases/<id>.data equal to the original, 0640, file.released
            with the approvers; a request for a missing original goes.
  ppap      an encrypted zip (zip -P): a wrong password gives the report
            wrong-password and no copy, the right one the copy of its
            members (zipfile); the request files are gone and the
            password is in no file under the test's tree.
  followup  deliver = mail: once every file of a mail manifest has its
            result, one mail with every copy attached (email: the
            attachments' bytes equal the copies, RFC 2231 names decoded
            to the originals' names with the copies' extensions) and the
            file without a copy listed with its reason; a second run sends
            nothing; over --follow-up-max the mail has no attachment.
  refused   an SMTP server that answers 451: the parcel waits; one that
            answers 550: the parcel ends, both recorded (mail.upload_notice).
  kill      kill -9 of the worker at 8 moments (fixed seed) while it takes
            24 parcels; after a last clean run no parcel is lost or half
            done: the inbox is empty, every parcel's files are in
            transfer/ with their reports, every recipient got a mail whose
            link names a manifest with exactly that parcel's files.
  postfix   the notification through a private Postfix's own-mail listener
            (firmware/postfix/master.cf, 127.0.0.1:10026 there on a free
            port) while the main listener's milter is missing: the mail
            reaches the sink unchanged (no milter on that listener).
            Needs root and Postfix (skipped otherwise).
The audit chain verifies after every part (sekisho-logexport verify).
Root: the sandbox drops to a uid of its own per conversion."""
import base64
import email
import email.policy
import glob
import hashlib
import io
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sanitizer"))
sys.path.insert(0, HERE)
import pfharness  # noqa: E402
import cdrcheck  # noqa: E402
from cdrcheck import check  # noqa: E402


def sha(data):
    return hashlib.sha256(data).hexdigest()


def png(w, h):
    """A small PNG, written here (zlib + struct), for a copy PIL can judge."""
    import struct
    import zlib
    raw = b"".join(b"\x00" + bytes((x * 7 + y * 3) % 256 for x in range(w * 3)) for y in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


CSV = "番号,品名,金額\n1,机,12000\n2,椅子,8000\n".encode("utf-8")
TXT = "会議のお知らせ\n明日 10 時から。\n".encode("utf-8")
RCPT = "sato@city.example.lg.jp"
URL = "https://portal.city.example.lg.jp"
FROM = "sekisho@relay.city.example.lg.jp"


class Env:
    def __init__(self, root, args, sink_port):
        self.root = root
        self.cdrd, self.cli, self.libexec, self.logexport = args[:4]
        d = lambda n: os.path.join(root, n)  # noqa: E731
        self.q, self.queue, self.audit, self.key = d("quarantine"), d("cdr-queue"), d("audit"), d("audit.key")
        self.copies, self.pq, self.releases, self.links = d("copies"), d("portal-queue"), d("releases"), d("links")
        self.inbox, self.transfer = d("inbox"), d("transfer")
        for p in (self.q, self.links, self.inbox):
            os.makedirs(p)
        fd = os.open(self.key, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.write(fd, os.urandom(32))
        os.close(fd)
        self.sink_port = sink_port
        self.seq = 0

    def argv(self, *extra):
        return [self.cdrd, "--queue", self.queue, "--quarantine", self.q, "--audit-dir", self.audit,
                "--audit-key", self.key, "--cdr", self.cli, "--libexec", self.libexec, "--workers", "2",
                "--no-self-test", "--yield-ms", "0", "--copies", self.copies, "--portal-queue", self.pq,
                "--releases", self.releases, "--links", self.links, "--inbox", self.inbox,
                "--transfer", self.transfer, "--smtp", "127.0.0.1:%d" % self.sink_port,
                "--mail-from", FROM, "--portal-url", URL] + list(extra)

    def run_once(self, *extra):
        p = subprocess.run(self.argv("--once", *extra), capture_output=True, text=True, timeout=600)
        if not check(p.returncode == 0, "worker exit %d" % p.returncode):
            print(p.stderr[-3000:])
        return p

    def parcel(self, files, approval=False, note="見積書です。よろしくお願いします。", rcpt=RCPT,
               tamper=None):
        """Write a parcel by the documented protocol: data files (.part,
        rename), then the metadata (.part, rename)."""
        self.seq += 1
        pid = "%016x-%016x" % (time.time_ns() + self.seq, random.getrandbits(64))
        meta = {"v": 1, "id": pid, "received": int(time.time()), "uploader": "yamada", "peer": "198.18.1.10",
                "rcpt": rcpt, "note": note, "approval": approval, "files": []}
        for n, (name, data) in enumerate(files):
            part = os.path.join(self.inbox, ".%s.%d.part" % (pid, n))
            with open(part, "wb") as f:
                f.write(data)
            os.rename(part, os.path.join(self.inbox, "%s.%d.data" % (pid, n)))
            meta["files"].append({"n": n, "name": name, "bytes": len(data), "sha256": sha(data)})
        if tamper:
            tamper(meta)
        part = os.path.join(self.inbox, ".%s.part" % pid)
        with open(part, "w", encoding="utf-8") as f:
            if isinstance(meta, dict):
                json.dump(meta, f, ensure_ascii=False)
            else:
                f.write(meta)
        os.rename(part, os.path.join(self.inbox, pid + ".json"))
        return pid, meta

    def manifest(self, files, deliver_rcpt=(RCPT,), subject="見積書の件"):
        """A mail link manifest as the milter writes it (docs/portal.md),
        each file quarantined; returns (token, hash)."""
        token = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        h = sha(token.encode())
        now = int(time.time())
        m = {"v": 1, "origin": "mail", "created": now, "expires": now + 7 * 86400, "message_id": "<m1@example.jp>",
             "queue_id": "4XyQ", "from": "tanaka@example.jp", "rcpt": list(deliver_rcpt), "subject": subject,
             "note": None, "files": []}
        for name, data, state in files:
            s = sha(data)
            with open(os.path.join(self.q, s + ".data"), "wb") as f:
                f.write(data)
            m["files"].append({"sha256": s, "name": name, "type": None, "bytes": len(data), "cdr": state})
        with open(os.path.join(self.links, h + ".json"), "w", encoding="utf-8") as f:
            json.dump(m, f, ensure_ascii=False)
        return token, h

    def job(self, data, name, link, deliver="mail", origin="mail"):
        os.makedirs(os.path.join(self.queue, "tmp"), exist_ok=True)
        os.makedirs(os.path.join(self.queue, "new"), exist_ok=True)
        self.seq += 1
        jid = "%016x-%08x" % (time.time_ns() + self.seq, random.getrandbits(32))
        job = {"v": 1, "id": jid, "sha256": sha(data), "name": name, "type": None, "message_id": "<m1@example.jp>",
               "queue_id": "4XyQ", "rcpt": ["<%s>" % RCPT], "enqueued": int(time.time()), "attempts": 0,
               "link": link, "origin": origin, "deliver": deliver}
        tmp = os.path.join(self.queue, "tmp", jid)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(job, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.queue, "new", jid))

    def request(self, req):
        for d in ("tmp", "new"):
            os.makedirs(os.path.join(self.pq, d), exist_ok=True)
        self.seq += 1
        name = "%016x-%08x" % (time.time_ns() + self.seq, random.getrandbits(32))
        tmp = os.path.join(self.pq, "tmp", name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(req, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.pq, "new", name))
        return name

    def records(self, event):
        out = []
        for f in sorted(glob.glob(os.path.join(self.audit, "*.jsonl"))):
            for line in open(f, encoding="utf-8"):
                r = json.loads(line)
                if r.get("event") == event:
                    out.append(r["data"])
        return out

    def verify(self, label):
        p = subprocess.run([self.logexport, "verify", "--key", self.key, self.audit], capture_output=True, text=True)
        check(p.returncode == 0, "%s: the audit chain verifies: %s" % (label, (p.stdout + p.stderr)[-500:]))

    def report(self, s, suffix=""):
        p = os.path.join(self.copies, s + suffix + ".report.json")
        return json.load(open(p, encoding="utf-8")) if os.path.exists(p) else None


def mails(sink, since=0):
    out = []
    for raw, env in sink.messages()[since:]:
        out.append((email.message_from_bytes(raw, policy=email.policy.default), env, raw))
    return out


def body_text(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def manifest_of(env, token):
    h = sha(token.encode())
    p = os.path.join(env.links, h + ".json")
    return json.load(open(p, encoding="utf-8")) if os.path.exists(p) else None


def token_in(text):
    i = text.find(URL + "/m/")
    return text[i + len(URL) + 3:i + len(URL) + 3 + 43] if i >= 0 else None


def part_upload(env, sink):
    n0 = len(sink.messages())
    img = png(40, 30)
    pid, meta = env.parcel([("見積書.csv", CSV), ("写真.png", img), ("memo.txt", TXT)])
    # bad parcels: a changed byte, a wrong size, metadata that is not the format
    bad_hash, _ = env.parcel([("a.txt", TXT)], tamper=lambda m: m["files"][0].update(sha256=sha(b"other")))
    bad_size, _ = env.parcel([("b.txt", TXT)], tamper=lambda m: m["files"][0].update(bytes=len(TXT) + 1))
    bad_meta, _ = env.parcel([("c.txt", TXT)], tamper=lambda m: m.update(rcpt="a@b\r\nBcc: x@y"))
    too_big, _ = env.parcel([("d.bin", os.urandom(200000))])
    # a writer that died: an old .part goes, a fresh one stays
    old = os.path.join(env.inbox, ".%016x-%016x.0.part" % (1, 2))
    fresh = os.path.join(env.inbox, ".%016x-%016x.0.part" % (3, 4))
    for p in (old, fresh):
        open(p, "wb").write(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    env.run_once("--upload-max", "100000")
    left = sorted(os.listdir(env.inbox))
    check(left == [os.path.basename(fresh)], "upload: the inbox holds only the fresh .part: %s" % left)
    for name, data in (("見積書.csv", CSV), ("写真.png", img), ("memo.txt", TXT)):
        s = sha(data)
        p = os.path.join(env.transfer, s + ".data")
        if check(os.path.exists(p), "upload: %s in transfer/" % name):
            check(open(p, "rb").read() == data and mode(p) == 0o600, "upload: %s: bytes and mode 0600" % name)
        rep = env.report(s)
        if check(rep is not None, "upload: %s has a report" % name):
            check(rep["result"] == "ok", "upload: %s: %s" % (name, rep["result"]))
            cp = os.path.join(env.copies, "%s.copy.%s" % (s, rep["out_ext"]))
            check(os.path.exists(cp) and mode(cp) == 0o640, "upload: %s: copy 0640" % name)
            check(mode(os.path.join(env.copies, s + ".report.json")) == 0o640, "upload: report 0640")
    got = mails(sink, n0)
    check(len(got) == 1, "upload: one notification (got %d)" % len(got))
    if got:
        msg, envl, raw = got[0]
        check(envl["to"] == ["<%s>" % RCPT] and envl["from"] == "<%s>" % FROM, "upload: envelope %s" % envl)
        check(str(msg["To"]).strip("<>") == RCPT, "upload: To %s" % msg["To"])
        check("ファイルが届いています" in str(msg["Subject"]), "upload: subject %s" % msg["Subject"])
        check(msg["Auto-Submitted"] == "auto-generated", "upload: Auto-Submitted")
        check(all(b < 128 for b in raw), "upload: the mail is 7-bit")
        text = body_text(msg)
        check(text.find("インターネット接続系") < text.find("Files were sent"), "upload: Japanese first")
        tok = token_in(text)
        m = manifest_of(env, tok) if tok else None
        if check(m is not None, "upload: the link names a manifest"):
            check(m["origin"] == "upload" and m["rcpt"] == [RCPT] and m["from"] == "yamada", "upload: manifest")
            check(m["note"] == meta["note"], "upload: the note in the manifest")
            check([f["name"] for f in m["files"]] == ["見積書.csv", "写真.png", "memo.txt"], "upload: names")
            check(m["expires"] - m["created"] == 7 * 86400, "upload: expiry 7 days")
            check(mode(os.path.join(env.links, sha(tok.encode()) + ".json")) == 0o640, "upload: manifest 0640")
        for s in ("yamada", meta["note"], "見積書.csv", "写真.png", "memo.txt"):
            check(s in text, "upload: %r in the mail" % s)
    check(len(glob.glob(os.path.join(env.links, "*.json"))) == 1, "upload: one manifest (none for bad parcels)")
    refused = {r["parcel"]: r["reason"] for r in env.records("upload.intake_refused")}
    check(refused.get(bad_hash) == "hash-mismatch", "upload: hash-mismatch refused: %s" % refused)
    check(refused.get(bad_size) == "size-mismatch", "upload: size-mismatch refused")
    check(refused.get(bad_meta) == "bad-metadata", "upload: bad-metadata refused")
    check(refused.get(too_big) == "input-size-limit", "upload: over --upload-max refused")
    intake = env.records("upload.intake")
    check(len(intake) == 1 and intake[0]["parcel"] == pid and intake[0]["uploader"] == "yamada",
          "upload: one upload.intake record")
    notice = env.records("mail.upload_notice")
    check(len(notice) == 1 and notice[0]["result"] == "sent" and notice[0]["rcpt"] == [RCPT],
          "upload: mail.upload_notice")
    check(not [f for f in os.listdir(env.transfer) if f.endswith(".tmp") or f.endswith(".intake")],
          "upload: no state or temporary file left in transfer/")
    env.verify("upload")


def part_approval(env, sink):
    n0 = len(sink.messages())
    pid, meta = env.parcel([("承認待ち.txt", TXT + b"x")], approval=True)
    env.run_once()
    check(len(sink.messages()) == n0, "approval: no mail before the approval")
    tokens = glob.glob(os.path.join(env.transfer, "*.token"))
    if not check(len(tokens) == 1, "approval: the token waits in transfer/"):
        return
    h = os.path.basename(tokens[0])[:-6]
    tok = open(tokens[0]).read()
    check(sha(tok.encode()) == h and mode(tokens[0]) == 0o600, "approval: the token file names its hash, 0600")
    env.request({"v": 1, "kind": "notify", "id": "n-1", "link": h})
    env.run_once()
    got = mails(sink, n0)
    check(len(got) == 1, "approval: one mail after notify (got %d)" % len(got))
    if got:
        check(token_in(body_text(got[0][0])) == tok, "approval: the mail has the link")
    check(not os.path.exists(tokens[0]), "approval: the token is gone once the mail went")
    env.request({"v": 1, "kind": "notify", "id": "n-2", "link": h})
    env.run_once()
    check(len(sink.messages()) == n0 + 1, "approval: a second notify sends nothing")
    check(os.listdir(os.path.join(env.pq, "new")) == [] and os.listdir(os.path.join(env.pq, "cur")) == [],
          "approval: the requests are done")
    env.verify("approval")


def part_release(env, sink):
    up = TXT + b"upload original"
    env.parcel([("原本.txt", up)])
    env.run_once()
    mail_orig = b"%PDF-1.4 not really\n"
    with open(os.path.join(env.q, sha(mail_orig) + ".data"), "wb") as f:
        f.write(mail_orig)
    env.request({"v": 1, "kind": "release", "id": "rel-up", "sha256": sha(up), "origin": "upload",
                 "approvers": ["suzuki", "鈴木"], "reason": "原本が必要"})
    env.request({"v": 1, "kind": "release", "id": "rel-mail", "sha256": sha(mail_orig), "origin": "mail",
                 "approvers": ["tanaka"], "reason": None})
    env.request({"v": 1, "kind": "release", "id": "rel-none", "sha256": "0" * 64, "origin": "mail",
                 "approvers": ["tanaka"]})
    env.request({"v": 1, "kind": "release", "id": "../../etc", "sha256": sha(up), "origin": "upload",
                 "approvers": []})
    env.run_once()
    for rid, data in (("rel-up", up), ("rel-mail", mail_orig)):
        p = os.path.join(env.releases, rid + ".data")
        if check(os.path.exists(p), "release: %s made" % rid):
            check(open(p, "rb").read() == data and mode(p) == 0o640, "release: %s: bytes, 0640" % rid)
    check(sorted(os.listdir(env.releases)) == ["rel-mail.data", "rel-up.data"],
          "release: nothing else in releases/: %s" % os.listdir(env.releases))
    recs = {r["request"]: r for r in env.records("file.released")}
    check(set(recs) == {"rel-up", "rel-mail"}, "release: two file.released records")
    if "rel-up" in recs:
        check(recs["rel-up"]["approvers"] == ["suzuki", "鈴木"] and recs["rel-up"]["origin"] == "upload",
              "release: approvers and origin recorded")
    for d in ("new", "cur", "bad"):
        check(os.listdir(os.path.join(env.pq, d)) == [], "release: portal-queue/%s empty" % d)
    env.verify("release")


def part_ppap(env, sink):
    work = os.path.join(env.root, "zipwork")
    os.makedirs(work)
    open(os.path.join(work, "一覧.csv"), "wb").write(CSV)
    open(os.path.join(work, "note.txt"), "wb").write(TXT)
    password = "Pp-%d-秘密" % random.randrange(10 ** 9)
    # zip -P takes the password on argv: fine for the test's own tool
    subprocess.run(["zip", "-q", "-P", password, "enc.zip", "一覧.csv", "note.txt"], cwd=work, check=True)
    enc = open(os.path.join(work, "enc.zip"), "rb").read()
    shutil.rmtree(work)
    token, h = env.manifest([("資料.zip", enc, "none:encrypted")], subject="PPAP")
    s = sha(enc)
    env.request({"v": 1, "kind": "ppap", "id": "pp-1", "sha256": s, "link": h, "password": "wrong-" + password})
    env.run_once()
    rep = env.report(s, ".ppap")
    if check(rep is not None, "ppap: a report after a wrong password"):
        check(rep["result"] == "wrong-password", "ppap: wrong-password (%s)" % rep["result"])
        check(rep.get("reason_ja") and rep.get("reason_en"), "ppap: reason texts")
    check(not os.path.exists(os.path.join(env.copies, s + ".ppap.zip")), "ppap: no copy for a wrong password")
    env.request({"v": 1, "kind": "ppap", "id": "pp-2", "sha256": s, "link": h, "password": password})
    env.run_once()
    rep = env.report(s, ".ppap")
    zp = os.path.join(env.copies, s + ".ppap.zip")
    if check(rep is not None and rep["result"] == "ok" and os.path.exists(zp), "ppap: the copy with the password"):
        z = zipfile.ZipFile(zp)
        check(z.testzip() is None, "ppap: zip CRCs")
        names = z.namelist()
        check("一覧.csv" in names and "note.txt" in names, "ppap: members %s" % names)
        check(not any(i.flag_bits & 1 for i in z.infolist()), "ppap: the copy is not encrypted")
        check(mode(zp) == 0o640, "ppap: copy 0640")
    recs = [r for r in env.records("file.ppap")]
    check([r["result"] for r in recs] == ["no-copy", "ok"], "ppap: file.ppap records %s" %
          [r["result"] for r in recs])
    for d in ("new", "cur", "bad", "tmp"):
        check(os.listdir(os.path.join(env.pq, d)) == [], "ppap: portal-queue/%s empty" % d)
    # the password is nowhere: not in the audit chain, the reports, the queue
    needle = password.encode()
    found = []
    for dirpath, _, files in os.walk(env.root):
        for fn in files:
            try:
                if needle in open(os.path.join(dirpath, fn), "rb").read():
                    found.append(os.path.join(dirpath, fn))
            except OSError:
                pass
    check(not found, "ppap: the password is written nowhere: %s" % found)
    env.verify("ppap")


def attachments(msg):
    return [(p.get_filename(), p.get_payload(decode=True)) for p in msg.iter_attachments()]


def part_followup(env, sink):
    n0 = len(sink.messages())
    img = png(20, 10)
    exe = b"MZ\x90\x00" + os.urandom(200)
    # a name long enough for RFC 2231 continuations (filename*0*, *1*, ...)
    files = [("令和8年度 第3四半期 予算執行状況報告書 (最終版; 総務課).csv", CSV + b"9,x,1\n", "pending"),
             ("図.png", img, "pending"),
             ("setup.exe", exe, "none:unsupported-format")]
    token, h = env.manifest(files, deliver_rcpt=("<%s>" % RCPT, "kato@city.example.lg.jp"))
    for name, data, state in files[:2]:
        env.job(data, name, h)
    env.run_once()
    got = mails(sink, n0)
    if check(len(got) == 1, "followup: one mail (got %d)" % len(got)):
        msg, envl, raw = got[0]
        check(sorted(envl["to"]) == ["<kato@city.example.lg.jp>", "<%s>" % RCPT], "followup: envelope %s" % envl)
        check(msg.get_content_type() == "multipart/mixed", "followup: multipart/mixed")
        check(b"filename*1*=" in raw, "followup: the long name is split (RFC 2231 continuations)")
        att = dict(attachments(msg))
        want = {}
        for name, data, _ in files[:2]:
            rep = env.report(sha(data))
            base = name.rsplit(".", 1)[0]
            want[base + "." + rep["out_ext"]] = open(
                os.path.join(env.copies, "%s.copy.%s" % (sha(data), rep["out_ext"])), "rb").read()
        check(set(att) == set(want), "followup: attachment names %s, want %s" % (sorted(att), sorted(want)))
        for k, v in want.items():
            check(att.get(k) == v, "followup: %s: the attachment is the copy's bytes" % k)
        text = body_text(msg)
        check("setup.exe" in text and "この形式は無害化できません" in text, "followup: the file without a copy and why")
        check(text.find("無害化") < text.find("sanitised"), "followup: Japanese first")
        check(all(b < 128 for b in raw), "followup: 7-bit")
    recs = env.records("mail.copies_sent")
    check(len(recs) == 1 and recs[0]["link"] == h and recs[0]["mode"] == "attached" and recs[0]["without_copy"] == 1,
          "followup: mail.copies_sent %s" % recs)
    # a result again (the same files queued again): no second mail
    env.job(CSV + b"9,x,1\n", files[0][0], h)
    env.run_once()
    check(len(sink.messages()) == n0 + 1, "followup: sent once only")
    # over the cap: the list and the pointer to the first notice, no attachment
    token2, h2 = env.manifest([("大きい.png", png(64, 64), "pending")], subject="big")
    env.job(png(64, 64), "大きい.png", h2)
    env.run_once("--follow-up-max", "10")
    got = mails(sink, n0 + 1)
    if check(len(got) == 1, "followup: a mail over the cap"):
        msg = got[0][0]
        check(not attachments(msg), "followup: no attachment over the cap")
        check("リンク" in body_text(msg) and "link in the first notice" in body_text(msg), "followup: the link text")
    env.verify("followup")


def part_kill(env, sink):
    n0 = len(sink.messages())
    rng = random.Random(15)
    parcels = {}
    for i in range(24):
        a = ("件%d.csv" % i, CSV + b"%d,k,1\n" % i)
        b = ("memo%d.txt" % i, TXT + b"%d\n" % i)
        rcpt = "user%d@city.example.lg.jp" % i
        pid, _ = env.parcel([a, b], rcpt=rcpt)
        parcels[pid] = (rcpt, [sha(a[1]), sha(b[1])])
    for k in range(8):
        p = subprocess.Popen(env.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.5))
        p.send_signal(signal.SIGKILL)
        p.wait()
        # nothing half-visible: every manifest is whole json, no temporary
        # file under a final name in transfer/
        for m in glob.glob(os.path.join(env.links, "*.json")):
            try:
                json.load(open(m, encoding="utf-8"))
            except ValueError:
                check(False, "kill %d: a half manifest %s" % (k, m))
        for f in os.listdir(env.transfer):
            if f.endswith(".data"):
                data = open(os.path.join(env.transfer, f), "rb").read()
                check(sha(data) == f[:-5], "kill %d: transfer/%s is whole" % (k, f[:16]))
    env.run_once()
    check([f for f in os.listdir(env.inbox) if not f.endswith(".part")] == [], "kill: the inbox is empty")
    got = mails(sink, n0)
    by_rcpt = {}
    for msg, envl, _ in got:
        by_rcpt.setdefault(envl["to"][0].strip("<>"), []).append(msg)
    twice = 0
    for pid, (rcpt, shas) in parcels.items():
        for s in shas:
            check(os.path.exists(os.path.join(env.transfer, s + ".data")), "kill: %s: original" % pid)
            rep = env.report(s)
            check(rep is not None and rep["result"] == "ok", "kill: %s: report" % pid)
        ms = by_rcpt.get(rcpt, [])
        if not check(len(ms) >= 1, "kill: %s: the recipient got the notification" % pid):
            continue
        twice += len(ms) > 1
        m = manifest_of(env, token_in(body_text(ms[-1])) or "")
        check(m is not None and sorted(f["sha256"] for f in m["files"]) == sorted(shas),
              "kill: %s: the mail's link names the parcel's manifest" % pid)
    print("kill: %d of %d parcels notified twice (kill between the mail and its mark)" % (twice, len(parcels)))
    check(twice <= 8, "kill: at most one repeated mail per kill")
    check(os.listdir(os.path.join(env.queue, "new")) == [] and os.listdir(os.path.join(env.queue, "cur")) == [],
          "kill: the cdr-queue is empty")
    env.verify("kill")


class Refuser:
    """An SMTP server on loopback that refuses every recipient: 550 (for
    good) or 451 (later); it counts the RCPTs it saw."""

    def __init__(self, code):
        import socketserver
        import threading
        self.rcpts = 0
        me = self

        class H(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self):
                self.wfile.write(b"220 refuser\r\n")
                while True:
                    line = self.rfile.readline(4096)
                    if not line:
                        return
                    up = line.upper()
                    if up.startswith(b"RCPT"):
                        me.rcpts += 1
                        self.wfile.write(b"%d refused\r\n" % code)
                    elif up.startswith(b"QUIT"):
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def part_refused(env, sink):
    """A 4xx leaves the parcel for later; a 5xx ends it, recorded."""
    later = Refuser(451)
    try:
        pid, _ = env.parcel([("later.txt", TXT + b"later\n")])
        env.run_once("--smtp", "127.0.0.1:%d" % later.port)
        check(os.path.exists(os.path.join(env.inbox, pid + ".json")), "refused: a 451 leaves the parcel")
        check(later.rcpts == 1, "refused: tried once in the run (then a pause), %d" % later.rcpts)
    finally:
        later.stop()
    never = Refuser(550)
    try:
        env.run_once("--smtp", "127.0.0.1:%d" % never.port)
        check(not os.path.exists(os.path.join(env.inbox, pid + ".json")), "refused: a 550 ends the parcel")
        recs = [r for r in env.records("mail.upload_notice") if r["parcel"] == pid]
        check([r["result"] for r in recs] == ["failed", "refused"], "refused: the records %s" % recs)
        check(len(env.records("upload.intake")) == 1, "refused: the parcel is recorded taken")
    finally:
        never.stop()
    env.verify("refused")


def part_postfix(env, sink, root):
    if os.geteuid() != 0 or not shutil.which("postfix"):
        print("postfix: skipped (needs root and Postfix)")
        return
    pf = pfharness.Postfix(os.path.join(root, "pf"), sink.port,
                           milter_spec="unix:" + os.path.join(root, "no-such-milter.sock"),
                           overrides={"relay_domains": "city.example.lg.jp", "milter_default_action": "tempfail"})
    try:
        pf.start()
        pfharness.wait_port(pf.own_port)
        n0 = len(sink.messages())
        # the premise: the main listener's milter is missing, so it refuses
        import smtplib
        try:
            with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as c:
                c.sendmail("a@example.jp", [RCPT], b"Subject: x\r\n\r\nbody\r\n")
            refused = False
        except smtplib.SMTPException:
            refused = True
        check(refused, "postfix: the main listener refuses without its milter")
        env.parcel([("経由.txt", TXT + b"via postfix\n")])
        env.run_once("--smtp", "127.0.0.1:%d" % pf.own_port)
        deadline = time.monotonic() + 60
        while len(sink.messages()) == n0 and time.monotonic() < deadline:
            pf.flush()
            time.sleep(0.5)
        got = mails(sink, n0)
        if check(len(got) == 1, "postfix: the notification went through Postfix's own-mail listener"):
            tok = token_in(body_text(got[0][0]))
            check(tok and manifest_of(env, tok), "postfix: the link arrived unchanged (no milter on 10026)")
            check("Received" in got[0][0], "postfix: Postfix handled it")
    finally:
        pf.stop()


def main(argv):
    argv = argv[1:]
    if len(argv) < 4:
        print(__doc__)
        return 2
    parts = argv[4:] or ["upload", "approval", "release", "ppap", "followup", "refused", "kill", "postfix"]
    if not shutil.which("bwrap"):
        print("skipped: no bubblewrap")
        return 77
    random.seed(15)
    root = os.path.join(os.path.realpath(os.environ.get("TMPDIR", "/tmp")), "portal-worker-%d" % os.getpid())
    os.makedirs(root)
    os.chmod(root, 0o755)
    sink = pfharness.Sink(os.path.join(root, "sink"))
    try:
        for part in parts:
            env = Env(os.path.join(root, part), argv, sink.port)
            t = time.monotonic()
            if part == "postfix":
                part_postfix(env, sink, os.path.join(root, part))
            else:
                globals()["part_" + part](env, sink)
            print("%s: done in %.1f s" % (part, time.monotonic() - t), flush=True)
    finally:
        sink.stop()
        if cdrcheck.failures == 0:
            shutil.rmtree(root, ignore_errors=True)
    return cdrcheck.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
