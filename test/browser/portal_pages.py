#!/usr/bin/env python3
"""browser-portal: both portals in headless chromium (the harness of this
directory), on loopback, with what the milter and the worker would have left
(link manifests, copies and their reports, uploads awaiting approval) and
accounts made by the programs' own `user add`.  Every page a person can
reach is opened, checked on its text (Japanese and English) and status, and
kept as a screenshot:

- anyone: the index, an unknown token (404), an expired link (410);
- a link holder: the message page, the copy (bytes equal to the worker's
  file), a request for the original; a PPAP zip's password (the ppap job in
  portal-queue/new carries it), then, once the "worker" made the members'
  copies, their zip; after the approval the one-time link: before the
  worker released the original (409), the download (the original's bytes),
  a second download (410);
- an approver: login, the queue (a request and two uploads awaiting
  approval), a request, its approval (the release job), an upload approved
  (the notify job) and one denied (the link revoked, the mark gone);
- an operator: the activity, a link revoked through its form (then 410 for
  the holder), the approvers' pages refused (403);
- refusals: a form posted from another origin (403 csrf), a wrong password
  (401), the lockout after --login-fails failures (429);
- the Internet side: a wrong password (401), login, the form, a recipient outside the LGWAN domain
  refused (400, nothing in the inbox), a file sent (a complete parcel whose
  SHA-256 is the file's).

With --out DIR the screenshots are kept there (docs/portal/*.png, made
smaller by optipng when it is installed), else in a temporary directory.

    portal_pages.py SEKISHO_PORTAL SEKISHO_UPLOAD [--out DIR]"""
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402

failures = []
WAIT_S = 20
LOGIN_FAILS = 3     # sekisho-portal --login-fails: the lockout page after this many
SHOTS = 28


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, port, log):
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and p.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{cmd[0]} did not listen on {port}")


def new_token():
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False)


def manifest(d, token, origin, files, created, expires, **kw):
    """links/<sha256 of the token>.json as the milter or the worker writes it; the hash"""
    m = {"v": 1, "origin": origin, "created": created, "expires": expires, "message_id": kw.get("message_id"),
         "queue_id": kw.get("queue_id"), "from": kw["sender"], "rcpt": kw["rcpt"], "subject": kw.get("subject"),
         "note": kw.get("note"), "files": files}
    h = hashlib.sha256(token.encode()).hexdigest()
    write_json(os.path.join(d, "links", h + ".json"), m)
    return h


def copy_report(name, sha, kind, out_ext, copy, removed, **kw):
    """copies/<sha>.report.json as the worker writes it (a copy made when copy is given)"""
    return {"name": name, "result": kw.get("result", "ok"), "reason_ja": kw.get("reason_ja"),
            "reason_en": kw.get("reason_en"), "detail": None, "kind": kind, "in_type": kind,
            "out_type": kw.get("out_type"), "out_ext": out_ext if copy is not None else None, "mode": "pixels",
            "out_name": None, "pages": kw.get("pages"), "in_bytes": kw.get("in_bytes", 0), "in_sha256": sha,
            "out_bytes": len(copy) if copy is not None else None,
            "out_sha256": hashlib.sha256(copy).hexdigest() if copy is not None else None, "ms": 812,
            "removed": removed, "removed_more": 0, "members": kw.get("members", [])}


def fixture(d):
    """The state the milter and the worker leave: a message with a copy, a
    PPAP zip waiting for its password, an expired link, a link to revoke,
    two uploads awaiting approval."""
    for sub in ("links", "copies", "releases", "state", "audit-portal", "audit-upload", "inbox", "upstate",
                "queue/tmp", "queue/new", "queue/cur", "queue/bad", "shots"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    fx = {}
    now = int(time.time())
    week = now + 7 * 86400
    mail = {"sender": "tanaka@example.co.jp", "rcpt": ["sato@city.example.lg.jp"]}
    # the message: a PDF with a copy, a macro workbook without one
    copy = b"%PDF-1.7\n% a copy as the worker writes it\n" + os.urandom(20000)
    fx["original"] = b"the original " + copy
    orig = hashlib.sha256(fx["original"]).hexdigest()
    orig2 = hashlib.sha256(b"a macro workbook").hexdigest()
    fx["token"], fx["copy"] = new_token(), copy
    manifest(d, fx["token"], "mail", [
        {"sha256": orig, "name": "見積書.pdf", "type": "application/pdf", "bytes": 48211, "cdr": "pending"},
        {"sha256": orig2, "name": "集計マクロ.xlsm", "type": "application/vnd.ms-excel.sheet.macroEnabled.12",
         "bytes": 91234, "cdr": "none:unsupported-format"}], now, week, message_id="<20261207.1@example.co.jp>",
        queue_id="4XyPortal", subject="お見積りの件 (Quotation)", **mail)
    with open(os.path.join(d, "copies", orig + ".copy.pdf"), "wb") as f:
        f.write(copy)
    write_json(os.path.join(d, "copies", orig + ".report.json"),
               copy_report("見積書.pdf", orig, "pdf", "pdf", copy, ["action:/OpenAction", "javascript", "metadata:xmp"],
                           out_type="application/pdf", pages=2, in_bytes=48211))
    # a PPAP zip: the worker could not open it ("encrypted"); the password is asked on the page
    fx["ppap_sha"] = hashlib.sha256(b"a zip with a password").hexdigest()
    fx["ppap"] = new_token()
    manifest(d, fx["ppap"], "mail", [{"sha256": fx["ppap_sha"], "name": "請求書一式.zip", "type": "application/zip",
                                      "bytes": 183344, "cdr": "pending"}], now, week,
             message_id="<20261207.2@example.co.jp>", queue_id="4XyPpap", subject="請求書の送付 (Invoices)", **mail)
    write_json(os.path.join(d, "copies", fx["ppap_sha"] + ".report.json"),
               copy_report("請求書一式.zip", fx["ppap_sha"], "zip", None, None, [], result="encrypted",
                           reason_ja="暗号化またはパスワード付きのため変換できません。パスワードが分かれば変換できます。",
                           reason_en="The file is encrypted or password-protected; it can be converted once the "
                           "password is given.", in_bytes=183344))
    # an expired link (a week and a day old) and one an operator will revoke
    fx["expired"] = new_token()
    manifest(d, fx["expired"], "mail", [{"sha256": orig, "name": "見積書.pdf", "type": "application/pdf",
                                         "bytes": 48211, "cdr": "pending"}], now - 8 * 86400, now - 86400,
             subject="先週のお見積り", **mail)
    fx["revoke"] = new_token()
    fx["revoke_hash"] = manifest(d, fx["revoke"], "mail", [{"sha256": orig, "name": "見積書.pdf",
                                                            "type": "application/pdf", "bytes": 48211,
                                                            "cdr": "pending"}], now, week,
                                 subject="誤送信のお見積り", **mail)
    # two uploads awaiting approval (what the worker leaves for an upload portal run with --approval on):
    # a document with its copy made, and a program that has none
    up = {"sender": "yamada", "rcpt": ["sato@city.example.lg.jp"]}
    doc = hashlib.sha256(b"an uploaded report").hexdigest()
    exe = hashlib.sha256(b"an uploaded program").hexdigest()
    fx["up_ok"] = manifest(d, new_token(), "upload", [{"sha256": doc, "name": "現地調査報告.docx",
                                                       "type": "application/vnd.openxmlformats-officedocument"
                                                       ".wordprocessingml.document", "bytes": 245760,
                                                       "cdr": "pending"}], now - 600, week,
                           note="仮想ブラウザでダウンロードした報告書です", **up)
    fx["up_deny"] = manifest(d, new_token(), "upload", [{"sha256": exe, "name": "setup.exe",
                                                         "type": "application/vnd.microsoft.portable-executable",
                                                         "bytes": 1048576, "cdr": "none:unsupported-format"}],
                             now - 300, week, note="ツールのインストーラー", **up)
    docx = b"PK\x03\x04" + os.urandom(4000)
    write_json(os.path.join(d, "copies", doc + ".report.json"),
               copy_report("現地調査報告.docx", doc, "docx", "docx", docx, ["macro:word/vbaProject.bin",
                                                                         "metadata:docProps/core.xml"],
                           out_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                           in_bytes=245760))
    for h in (fx["up_ok"], fx["up_deny"]):
        open(os.path.join(d, "links", h + ".approval"), "w").close()
    with open(os.path.join(d, "audit.key"), "wb") as f:
        f.write(os.urandom(32))
    os.chmod(os.path.join(d, "audit.key"), 0o600)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", os.path.join(d, "k.pem"), "-out", os.path.join(d, "c.pem")],
                   check=True, capture_output=True)
    return fx


def main(argv):
    why = browser.available()
    if why:
        print(f"skipped: {why}")
        return 77 if os.environ.get("CI") != "true" else 1
    portal_exe, upload_exe = argv[0], argv[1]
    out = argv[argv.index("--out") + 1] if "--out" in argv else None
    with tempfile.TemporaryDirectory(prefix="sekisho-browser-portal-") as d:
        return run(d, portal_exe, upload_exe, out)


def run(d, portal_exe, upload_exe, out):
    fx = fixture(d)
    shots = os.path.abspath(out) if out else os.path.join(d, "shots")
    os.makedirs(shots, exist_ok=True)
    pw = {u: base64.urlsafe_b64encode(os.urandom(12)).decode() for u in ("sato", "suzuki", "yamada")}
    for user, role in (("sato", "approver"), ("suzuki", "operator")):
        subprocess.run([portal_exe, "user", "add", user, role, "--state", f"{d}/state", "--password-stdin"],
                       input=pw[user] + "\n", text=True, check=True, capture_output=True, timeout=60)
    subprocess.run([upload_exe, "user", "add", "yamada", "--state", f"{d}/upstate", "--password-stdin"],
                   input=pw["yamada"] + "\n", text=True, check=True, capture_output=True, timeout=60)
    pport, uport = free_port(), free_port()
    log = open(os.path.join(d, "servers.log"), "w")
    procs = []
    try:
        procs.append(start([portal_exe, "serve", "--listen", f"127.0.0.1:{pport}", "--cert", f"{d}/c.pem",
                            "--key", f"{d}/k.pem", "--state", f"{d}/state", "--links", f"{d}/links",
                            "--copies", f"{d}/copies", "--releases", f"{d}/releases", "--queue", f"{d}/queue",
                            "--audit-dir", f"{d}/audit-portal", "--audit-key", f"{d}/audit.key",
                            "--login-fails", str(LOGIN_FAILS)], pport, log))
        procs.append(start([upload_exe, "serve", "--listen", f"127.0.0.1:{uport}", "--cert", f"{d}/c.pem",
                            "--key", f"{d}/k.pem", "--state", f"{d}/upstate", "--inbox", f"{d}/inbox",
                            "--audit-dir", f"{d}/audit-upload", "--audit-key", f"{d}/audit.key",
                            "--rcpt-domain", "city.example.lg.jp"], uport, log))
        flows(d, shots, fx, pw, f"https://127.0.0.1:{pport}", f"https://127.0.0.1:{uport}")
        if out and shutil.which("optipng"):     # the kept ones go into git: a third smaller
            subprocess.run(["optipng", "-quiet", "-o2", "-strip", "all"]
                           + [os.path.join(shots, f) for f in os.listdir(shots) if f.endswith(".png")], check=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)          # bounded: a server that ignores SIGTERM fails the test
        log.close()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


def shot(shots, name):
    return {"screenshot": os.path.join(shots, name)}


def says(res, *texts):
    """res (a "text" step's result) holds every one of texts"""
    return all(t in (res or {}).get("text", "") for t in texts)


def jobs(d, kind):
    """the portal-queue/new jobs of one kind"""
    q = os.path.join(d, "queue", "new")
    return [j for j in (json.load(open(os.path.join(q, f), encoding="utf-8")) for f in os.listdir(q))
            if j.get("kind") == kind]


def refused(b, shots, url, name, status, ja, en, what):
    """an address that answers a refusal page: its status and both languages"""
    r = b.run([{"goto": url}, shot(shots, name), {"text": True}])
    res = r.get("results") or [{}, {}, {}]
    check(r.get("ok") and res[0]["status"] == status and says(res[2], ja, en),
          f"{what}: {status}, \"{ja}\" / \"{en}\" ({r.get('error') or res[0].get('status')})")


def login(who, pw):
    return [{"fill": {"label": "ユーザー名"}, "value": who}, {"fill": {"label": "パスワード"}, "value": pw},
            {"click": {"role": "button", "name": "ログイン"}, "navigate": True}]


def flows(d, shots, fx, pw, portal, upload):
    b = browser.Browser(step_ms=15000, total_ms=120000)
    anyone(b, d, shots, fx, portal)
    holder(b, d, shots, fx, portal)
    ppap(b, d, shots, fx, portal)
    approver(b, d, shots, fx, pw, portal)
    release(b, d, shots, fx, portal)
    operator(b, d, shots, fx, pw, portal)
    refusals(b, d, shots, pw, portal)
    internet(b, d, shots, pw, upload)
    made = sorted(f for f in os.listdir(shots) if f.endswith(".png"))
    check(len(made) == SHOTS, f"{len(made)} screenshots of {SHOTS}: {made}")


def anyone(b, d, shots, fx, portal):
    """what anyone reaching the portal meets: the index, an unknown and an expired link"""
    r = b.run([{"goto": f"{portal}/"}, shot(shots, "index.png"), {"text": True}])
    check(r.get("ok") and r["results"][0]["status"] == 200
          and says(r["results"][2], "メールに書かれたリンクから添付ファイルを受け取れます。", "承認者・運用者のログイン"),
          f"the index page ({r.get('error')})")
    refused(b, shots, f"{portal}/m/{new_token()}", "not-found.png", 404, "見つかりません",
            "This link or page does not exist", "an unknown token")
    refused(b, shots, f"{portal}/m/{fx['expired']}", "expired.png", 410, "リンクの有効期限切れ",
            "This link has expired", "an expired link")


def holder(b, d, shots, fx, portal):
    """the link holder: the message page, the copy, a request for the original"""
    got = os.path.join(d, "got.pdf")
    r = b.run([{"goto": f"{portal}/m/{fx['token']}"}, shot(shots, "message.png"), {"text": True},
               {"download": {"text": "無害化済みファイルをダウンロード"}, "path": got},
               {"fill": {"selector": "form[action$='/request/0'] textarea[name='reason']"},
                "value": "取引先から原本での提出を求められたため"},
               {"click": {"selector": "form[action$='/request/0'] button[type='submit']"}, "navigate": True},
               shot(shots, "requested.png"), {"text": True}])
    if not check(r.get("ok"), f"link holder: message page, copy, request ({r.get('step')}: {r.get('error')})"):
        return
    res = r["results"]
    check(res[0]["status"] == 200 and says(res[2], "見積書.pdf", "集計マクロ.xlsm", "無害化できないファイルです。"),
          "the message page lists both files, the second without a copy")
    with open(got, "rb") as f:
        check(f.read() == fx["copy"] and res[3]["suggested"] == "見積書.pdf",
              f"the downloaded copy is the worker's file, named {res[3]['suggested']}")
    check(res[5]["status"] in (200, 303) or res[5]["status"] is None, f"request sent ({res[5]})")
    check(says(res[7], "原本を申請済みです。承認を待っています。"), "the page says the original awaits approval")
    reqs = os.listdir(os.path.join(d, "state", "requests")) if os.path.isdir(os.path.join(d, "state", "requests")) else []
    check(len(reqs) == 1, f"one request recorded ({reqs})")


def ppap(b, d, shots, fx, portal):
    """a PPAP zip: the password form, the job it makes, the members' copies the worker made"""
    secret = "Seikyu-2026-12"
    r = b.run([{"goto": f"{portal}/m/{fx['ppap']}"}, shot(shots, "ppap.png"), {"text": True},
               {"fill": {"label": "ZIP のパスワード"}, "value": secret},
               {"click": {"selector": "form[action$='/ppap/0'] button[type='submit']"}, "navigate": True},
               {"text": True}])
    if not check(r.get("ok"), f"PPAP: the password sent ({r.get('step')}: {r.get('error')})"):
        return
    res = r["results"]
    check(says(res[2], "パスワード付き ZIP", "暗号化またはパスワード付きのため変換できません",
               "The file is encrypted or password-protected", "パスワードを送信して無害化する"),
          "the PPAP page asks for the zip's password, in Japanese and English")
    check(res[4]["status"] == 200 and fx["ppap"] in res[4]["url"], f"back on the message page ({res[4]})")
    j = jobs(d, "ppap")
    check(len(j) == 1 and j[0].get("password") == secret and j[0].get("sha256") == fx["ppap_sha"],
          "the ppap job in portal-queue/new carries the password and the zip's SHA-256")
    # the worker opened it: the members' copies as one zip, and its report
    z = b"PK\x03\x04 the members' copies " + os.urandom(3000)
    with open(os.path.join(d, "copies", fx["ppap_sha"] + ".ppap.zip"), "wb") as f:
        f.write(z)
    write_json(os.path.join(d, "copies", fx["ppap_sha"] + ".ppap.report.json"),
               copy_report("請求書一式.zip", fx["ppap_sha"], "zip", "zip", z, ["macro:xl/vbaProject.bin"],
                           out_type="application/zip", in_bytes=183344,
                           members=[{"name": "請求書_12月.xlsx", "result": "ok"},
                                    {"name": "明細.pdf", "result": "ok"},
                                    {"name": "readme.exe", "result": "unsupported-format",
                                     "reason_ja": "この形式は無害化できません。",
                                     "reason_en": "This format cannot be made safe."}]))
    got = os.path.join(d, "members.zip")
    r = b.run([{"goto": f"{portal}/m/{fx['ppap']}"}, shot(shots, "ppap-done.png"), {"text": True},
               {"download": {"text": "中身の無害化済みファイル(ZIP)をダウンロード"}, "path": got}])
    if check(r.get("ok"), f"PPAP: the members' copies ({r.get('step')}: {r.get('error')})"):
        check(says(r["results"][2], "請求書_12月.xlsx", "明細.pdf", "readme.exe", "この形式は無害化できません。"),
              "the page lists the zip's members and why one has no copy")
        with open(got, "rb") as f:
            check(f.read() == z and r["results"][3]["suggested"] == "請求書一式.zip",
                  f"the members' zip is the worker's, named {r['results'][3]['suggested']}")


def approver(b, d, shots, fx, pw, portal):
    """an approver: the queue, a request approved, an upload approved, one denied"""
    state = os.path.join(d, "approver.json")
    r = b.run([{"goto": f"{portal}/login"}, shot(shots, "login.png"), *login("sato", pw["sato"]),
               {"goto": f"{portal}/approvals"}, shot(shots, "approvals.png"), {"text": True},
               {"click": {"selector": "a[href^='/approvals/']:not([href^='/approvals/u/'])"}, "navigate": True},
               shot(shots, "approval.png"), {"text": True}], state=state)
    if not check(r.get("ok"), f"approver: login, the queue, the request ({r.get('step')}: {r.get('error')})"):
        return
    res = r["results"]
    check(says(res[7], "見積書.pdf", "取引先から原本での提出を求められたため", "アップロードの承認待ち",
               "現地調査報告.docx", "setup.exe", "仮想ブラウザでダウンロードした報告書です"),
          "the queue shows the request and both uploads awaiting approval")
    check(says(res[10], "見積書.pdf", "取引先から原本での提出を求められたため"), "the request's page")
    r = b.run([{"goto": res[8]["url"]},
               {"click": {"label": "承認する"}},
               {"fill": {"label": "コメント"}, "value": "取引先の依頼を確認しました"},
               {"click": {"selector": "form[action^='/approvals/'] button[type='submit']"}, "navigate": True},
               shot(shots, "approved.png"), {"text": True}], state=state)
    check(r.get("ok"), f"approver: approve ({r.get('step')}: {r.get('error')})")
    j = jobs(d, "release")
    check(len(j) == 1 and j[0].get("approvers") == ["sato"],
          f"the release job is in portal-queue/new ({[{k: x.get(k) for k in ('kind', 'approvers')} for x in j]})")
    # the uploads: one approved, one denied
    for h, name, decision, after in ((fx["up_ok"], "upload-approved.png", "承認する", "upload-approval.png"),
                                     (fx["up_deny"], "upload-denied.png", "却下する", None)):
        r = b.run([{"goto": f"{portal}/approvals/u/{h}"}, *([shot(shots, after)] if after else []), {"text": True},
                   {"click": {"label": decision}},
                   {"fill": {"label": "コメント"}, "value": "内容を確認しました"},
                   {"click": {"selector": "form[action^='/approvals/u/'] button[type='submit']"}, "navigate": True},
                   shot(shots, name), {"text": True}], state=state)
        if not check(r.get("ok"), f"approver: upload {decision} ({r.get('step')}: {r.get('error')})"):
            continue
        res = r["results"]
        page = res[2] if after else res[1]
        check(page.get("text", "").count("yamada") and says(page, "sato@city.example.lg.jp", "アップロードの承認"),
              f"the upload's page names its uploader and recipient ({decision})")
        if after:
            check(says(page, "現地調査報告.docx", "無害化済みファイルは作成されています。", "macro:word/vbaProject.bin",
                       "承認すると、宛先に通知メール"), "the upload's page shows the file and its conversion")
            check(says(res[-1], "アップロードを承認しました", "宛先に通知メール(受け取り用のリンク付き)を送ります。"),
                  "the page after approving an upload")
        else:
            check(says(res[-1], "アップロードを却下しました", "リンクを取り消しました。"), "the page after denying an upload")
        check(not os.path.exists(os.path.join(d, "links", h + ".approval")), f"the approval mark is gone ({decision})")
    j = jobs(d, "notify")
    check(len(j) == 1 and j[0].get("link") == fx["up_ok"], "one notify job, for the approved upload")
    check(os.path.exists(os.path.join(d, "links", fx["up_deny"] + ".revoked")), "the denied upload's link is revoked")


def release(b, d, shots, fx, portal):
    """the requester after the approval: the worker not done yet, the download, a second one"""
    link = {"text": "承認された原本をダウンロード"}
    r = b.run([{"goto": f"{portal}/m/{fx['token']}"}, {"click": link, "navigate": True},
               shot(shots, "release-wait.png"), {"text": True}])
    check(r.get("ok") and r["results"][1]["status"] == 409 and says(r["results"][3], "準備中です", "Being prepared"),
          f"before the worker released it: 409, being prepared ({r.get('error')})")
    # the worker: releases/<request>.data, the original
    rid = [f[:-5] for f in os.listdir(os.path.join(d, "state", "requests")) if f.endswith(".json")]
    if not check(len(rid) == 1, f"the request's id ({rid})"):
        return
    with open(os.path.join(d, "releases", rid[0] + ".data"), "wb") as f:
        f.write(fx["original"])
    got = os.path.join(d, "original.pdf")
    r = b.run([{"goto": f"{portal}/m/{fx['token']}"}, shot(shots, "released.png"), {"text": True},
               {"download": link, "path": got}])
    if not check(r.get("ok"), f"the original's download ({r.get('step')}: {r.get('error')})"):
        return
    check(says(r["results"][2], "承認された原本をダウンロード(1回限り)"), "the page offers the one-time download")
    with open(got, "rb") as f:
        check(f.read() == fx["original"], "the downloaded original is the original's bytes")
    # the portal records the download when its transfer ends, a moment after the browser has it
    rec = os.path.join(d, "state", "requests", rid[0] + ".json")
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and not json.load(open(rec, encoding="utf-8")).get("downloaded"):
        time.sleep(0.1)
    refused(b, shots, r["results"][3]["url"], "release-used.png", 410, "ダウンロード済みです",
            "This original has already been downloaded", "a second download of the original")
    check(not os.path.exists(os.path.join(d, "releases", rid[0] + ".data")), "the released file is gone")


def operator(b, d, shots, fx, pw, portal):
    """an operator: the activity, a link revoked, the approvers' pages refused"""
    r = b.run([{"goto": f"{portal}/login"}, *login("suzuki", pw["suzuki"]),
               # the first screen only: the activity runs long
               {"goto": f"{portal}/ops"}, dict(shot(shots, "ops.png"), full_page=False), {"text": True},
               {"fill": {"label": "リンク(URL、トークン、またはハッシュ)"}, "value": f"{portal}/m/{fx['revoke']}"},
               {"click": {"role": "button", "name": "取り消す"}, "navigate": True},
               {"goto": f"{portal}/approvals"}, shot(shots, "forbidden.png"), {"text": True}])
    if not check(r.get("ok"), f"operator: activity, revoke, approvals ({r.get('step')}: {r.get('error')})"):
        return
    res = r["results"]
    check(says(res[6], "portal.approve", "portal.release"), "the activity shows the approval and the release")
    check(os.path.exists(os.path.join(d, "links", fx["revoke_hash"] + ".revoked")), "the operator revoked the link")
    check(res[9]["status"] == 403 and says(res[11], "権限がありません", "You are not allowed to open this page."),
          f"an operator may not open the approvals: 403 ({res[9]['status']})")
    refused(b, shots, f"{portal}/m/{fx['revoke']}", "revoked.png", 410, "リンクは取り消されました",
            "This link was revoked by an operator.", "the revoked link")


def refusals(b, d, shots, pw, portal):
    """a form from another origin; a wrong password; the lockout"""
    form = (f"<meta charset='utf-8'><form method='post' action='{portal}/login'>"
            "<input name='user' value='sato'><input name='password' value='x'><input name='csrf' value='x'>"
            "<button type='submit'>send</button></form>")
    r = b.run([{"goto": "data:text/html;charset=utf-8," + urllib.parse.quote(form)},
               {"click": {"role": "button", "name": "send"}, "navigate": True},
               shot(shots, "csrf.png"), {"text": True}])
    check(r.get("ok") and r["results"][1]["status"] == 403
          and says(r["results"][3], "フォームの確認に失敗しました", "The form came from another site"),
          f"a login form posted from another origin: 403 csrf ({r.get('error')})")
    bad = login("sato", "wrong-" + pw["sato"])
    steps = [{"goto": f"{portal}/login"}, *bad, shot(shots, "login-failed.png"), {"text": True}]
    for _ in range(LOGIN_FAILS - 1):
        steps += bad
    steps += [*bad[:2], {"click": {"role": "button", "name": "ログイン"}, "navigate": True},
              shot(shots, "locked-out.png"), {"text": True}]
    r = b.run(steps)
    if not check(r.get("ok"), f"wrong passwords ({r.get('step')}: {r.get('error')})"):
        return
    res = r["results"]
    check(res[3]["status"] == 401 and says(res[5], "ユーザー名またはパスワードが違います。"),
          f"a wrong password: 401 and the login form again ({res[3]['status']})")
    check(res[-3]["status"] == 429 and says(res[-1], "ログインを一時停止しています", "Too many failed logins"),
          f"after {LOGIN_FAILS} failures: 429, locked out ({res[-3]['status']})")


def internet(b, d, shots, pw, upload):
    """the Internet side: a wrong password, login, the form, a recipient refused, one file sent"""
    f1 = os.path.join(d, "調査報告.docx")
    with open(f1, "wb") as f:
        f.write(b"PK\x03\x04" + os.urandom(30000))
    r = b.run([{"goto": f"{upload}/login"}, shot(shots, "upload-login.png"),
               *login("yamada", "wrong-" + pw["yamada"]), shot(shots, "upload-login-failed.png"), {"text": True},
               *login("yamada", pw["yamada"]), shot(shots, "upload-form.png"), {"html": os.path.join(d, "form.html")},
               {"fill": {"name": "rcpt"}, "value": "sato@example.com"},
               {"files": {"name": "file"}, "paths": [f1]},
               {"click": {"selector": "form[action='/upload'] button[type='submit']"}, "navigate": True},
               shot(shots, "upload-refused.png"), {"text": True}])
    if not check(r.get("ok"), f"upload: login, the form, a refused recipient ({r.get('step')}: {r.get('error')})"):
        return
    res = r["results"]
    check(res[4]["status"] == 401 and says(res[6], "ユーザー名またはパスワードが違います。"),
          f"upload: a wrong password, the login form again ({res[4]['status']})")
    check(res[14]["status"] == 400 and says(res[16], "この宛先には送れません", "city.example.lg.jp", "rcpt-domain"),
          f"a recipient outside the LGWAN domain: 400, the allowed domain named ({res[14]['status']})")
    check(not [f for f in os.listdir(os.path.join(d, "inbox")) if f.endswith(".json")], "nothing in the inbox")
    r = b.run([{"goto": f"{upload}/login"}, *login("yamada", pw["yamada"]),
               {"fill": {"name": "rcpt"}, "value": "sato@city.example.lg.jp"},
               {"fill": {"name": "note"}, "value": "仮想ブラウザでダウンロードした調査報告です"},
               {"files": {"name": "file"}, "paths": [f1]},
               {"click": {"selector": "form[action='/upload'] button[type='submit']"}, "navigate": True},
               shot(shots, "upload-done.png"), {"text": True}])
    check(r.get("ok") and says(r["results"][-1], "送信しました", "調査報告.docx"),
          f"upload: a file sent ({r.get('step')}: {r.get('error')})")
    parcels = [json.load(open(os.path.join(d, "inbox", f), encoding="utf-8"))
               for f in os.listdir(os.path.join(d, "inbox")) if f.endswith(".json")]
    with open(f1, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    check(len(parcels) == 1 and parcels[0]["rcpt"] == "sato@city.example.lg.jp"
          and [x["sha256"] for x in parcels[0]["files"]] == [want] and parcels[0]["files"][0]["name"] == "調査報告.docx",
          "a complete parcel for the recipient, the file's SHA-256 and name")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
