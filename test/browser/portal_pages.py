#!/usr/bin/env python3
"""browser-portal: both portals in headless chromium (the harness of this
directory), on loopback, with what the milter and the worker would have left
(a link manifest, a copy and its report) and accounts made by the programs'
own `user add`.  A link holder opens the message page, downloads the copy
(bytes equal to the worker's file) and requests the original with a reason;
an approver logs in, sees the request in the queue and approves it (the
release job appears in portal-queue/new, judged with Python's json); an
operator sees the activity; on the Internet side a member of staff logs in,
chooses a file and sends it (a complete parcel in the inbox whose SHA-256 is
the file's).  Every page is a screenshot; with --out DIR they are kept
there (docs/portal/*.png), else in a temporary directory.

    portal_pages.py SEKISHO_PORTAL SEKISHO_UPLOAD [--out DIR]"""
import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402

failures = []
WAIT_S = 20


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


def fixture(d):
    """The state the milter and the worker leave for one message."""
    for sub in ("links", "copies", "releases", "state", "audit-portal", "audit-upload", "inbox", "upstate",
                "queue/tmp", "queue/new", "queue/cur", "queue/bad", "shots"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    copy = b"%PDF-1.7\n% a copy as the worker writes it\n" + os.urandom(20000)
    orig = hashlib.sha256(b"the original " + copy).hexdigest()
    orig2 = hashlib.sha256(b"a macro workbook").hexdigest()
    token = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    now = int(time.time())
    manifest = {"v": 1, "origin": "mail", "created": now, "expires": now + 7 * 86400,
                "message_id": "<20261207.1@example.co.jp>", "queue_id": "4XyPortal", "from": "tanaka@example.co.jp",
                "rcpt": ["sato@city.example.lg.jp"], "subject": "お見積りの件 (Quotation)", "note": None,
                "files": [{"sha256": orig, "name": "見積書.pdf", "type": "application/pdf", "bytes": 48211,
                           "cdr": "pending"},
                          {"sha256": orig2, "name": "集計マクロ.xlsm", "type": "application/vnd.ms-excel.sheet.macroEnabled.12",
                           "bytes": 91234, "cdr": "none:unsupported-format"}]}
    with open(os.path.join(d, "links", hashlib.sha256(token.encode()).hexdigest() + ".json"), "w") as f:
        json.dump(manifest, f, ensure_ascii=False)
    with open(os.path.join(d, "copies", orig + ".copy.pdf"), "wb") as f:
        f.write(copy)
    report = {"name": "見積書.pdf", "result": "ok", "reason_ja": None, "reason_en": None, "detail": None,
              "kind": "pdf", "in_type": "pdf", "out_type": "application/pdf", "out_ext": "pdf", "mode": "pixels",
              "out_name": None, "pages": 2, "in_bytes": 48211, "in_sha256": orig, "out_bytes": len(copy),
              "out_sha256": hashlib.sha256(copy).hexdigest(), "ms": 812,
              "removed": ["action:/OpenAction", "javascript", "metadata:xmp"], "removed_more": 0, "members": []}
    with open(os.path.join(d, "copies", orig + ".report.json"), "w") as f:
        json.dump(report, f, ensure_ascii=False)
    with open(os.path.join(d, "audit.key"), "wb") as f:
        f.write(os.urandom(32))
    os.chmod(os.path.join(d, "audit.key"), 0o600)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", os.path.join(d, "k.pem"), "-out", os.path.join(d, "c.pem")],
                   check=True, capture_output=True)
    return token, copy


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
    token, copy = fixture(d)
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
                            "--audit-dir", f"{d}/audit-portal", "--audit-key", f"{d}/audit.key"], pport, log))
        procs.append(start([upload_exe, "serve", "--listen", f"127.0.0.1:{uport}", "--cert", f"{d}/c.pem",
                            "--key", f"{d}/k.pem", "--state", f"{d}/upstate", "--inbox", f"{d}/inbox",
                            "--audit-dir", f"{d}/audit-upload", "--audit-key", f"{d}/audit.key",
                            "--rcpt-domain", "city.example.lg.jp"], uport, log))
        flows(d, shots, token, copy, pw, f"https://127.0.0.1:{pport}", f"https://127.0.0.1:{uport}")
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


def flows(d, shots, token, copy, pw, portal, upload):
    b = browser.Browser(step_ms=15000, total_ms=120000)
    got = os.path.join(d, "got.pdf")
    # the link holder: the message page, the copy, a request for the original
    r = b.run([{"goto": f"{portal}/m/{token}"}, shot(shots, "message.png"), {"text": True},
               {"download": {"text": "無害化済みファイルをダウンロード"}, "path": got},
               {"fill": {"selector": "form[action$='/request/0'] textarea[name='reason']"},
                "value": "取引先から原本での提出を求められたため"},
               {"click": {"selector": "form[action$='/request/0'] button[type='submit']"}, "navigate": True},
               shot(shots, "requested.png"), {"text": True}])
    if not check(r.get("ok"), f"link holder: message page, copy, request ({r.get('step')}: {r.get('error')})"):
        return
    res = r["results"]
    check(res[0]["status"] == 200 and "見積書.pdf" in res[2]["text"] and "集計マクロ.xlsm" in res[2]["text"],
          "the message page lists both files")
    with open(got, "rb") as f:
        check(f.read() == copy and res[3]["suggested"] == "見積書.pdf",
              f"the downloaded copy is the worker's file, named {res[3]['suggested']}")
    check(res[5]["status"] in (200, 303) or res[5]["status"] is None, f"request sent ({res[5]})")
    reqs = os.listdir(os.path.join(d, "state", "requests")) if os.path.isdir(os.path.join(d, "state", "requests")) else []
    check(len(reqs) == 1, f"one request recorded ({reqs})")

    # the approver
    state = os.path.join(d, "approver.json")
    r = b.run([{"goto": f"{portal}/login"}, shot(shots, "login.png"),
               {"fill": {"label": "ユーザー名"}, "value": "sato"},
               {"fill": {"label": "パスワード"}, "value": pw["sato"]},
               {"click": {"role": "button", "name": "ログイン"}, "navigate": True},
               {"goto": f"{portal}/approvals"}, shot(shots, "approvals.png"), {"text": True},
               {"click": {"selector": "a[href^='/approvals/']"}, "navigate": True},
               shot(shots, "approval.png")], state=state)
    if not check(r.get("ok"), f"approver: login, the queue, the request ({r.get('step')}: {r.get('error')})"):
        return
    check("見積書.pdf" in r["results"][7]["text"], "the queue shows the request's file")
    r = b.run([{"goto": r["results"][8]["url"]},
               {"click": {"label": "承認する"}},
               {"fill": {"label": "コメント"}, "value": "取引先の依頼を確認しました"},
               {"click": {"selector": "form[action^='/approvals/'] button[type='submit']"}, "navigate": True},
               shot(shots, "approved.png"), {"text": True}], state=state)
    check(r.get("ok"), f"approver: approve ({r.get('step')}: {r.get('error')})")
    jobs = [json.load(open(os.path.join(d, "queue", "new", f))) for f in os.listdir(os.path.join(d, "queue", "new"))]
    check(len(jobs) == 1 and jobs[0].get("kind") == "release" and jobs[0].get("approvers") == ["sato"],
          f"the release job is in portal-queue/new ({[{k: j.get(k) for k in ('kind', 'approvers')} for j in jobs]})")

    # the operator
    r = b.run([{"goto": f"{portal}/login"},
               {"fill": {"label": "ユーザー名"}, "value": "suzuki"},
               {"fill": {"label": "パスワード"}, "value": pw["suzuki"]},
               {"click": {"role": "button", "name": "ログイン"}, "navigate": True},
               {"goto": f"{portal}/ops"}, shot(shots, "ops.png"), {"text": True}])
    check(r.get("ok") and "portal.approve" in r["results"][6]["text"],
          f"operator: the activity shows the approval ({r.get('step')}: {r.get('error')})")

    # the Internet side: one file for an LGWAN colleague
    f1 = os.path.join(d, "調査報告.docx")
    with open(f1, "wb") as f:
        f.write(b"PK\x03\x04" + os.urandom(30000))
    r = b.run([{"goto": f"{upload}/login"}, shot(shots, "upload-login.png"),
               {"fill": {"label": "ユーザー名"}, "value": "yamada"},
               {"fill": {"label": "パスワード"}, "value": pw["yamada"]},
               {"click": {"role": "button", "name": "ログイン"}, "navigate": True},
               shot(shots, "upload-form.png"), {"html": os.path.join(d, "form.html")}])
    if not check(r.get("ok"), f"upload: login, the form ({r.get('step')}: {r.get('error')})"):
        return
    r = b.run([{"goto": f"{upload}/login"},
               {"fill": {"label": "ユーザー名"}, "value": "yamada"},
               {"fill": {"label": "パスワード"}, "value": pw["yamada"]},
               {"click": {"role": "button", "name": "ログイン"}, "navigate": True},
               {"fill": {"name": "rcpt"}, "value": "sato@city.example.lg.jp"},
               {"fill": {"name": "note"}, "value": "仮想ブラウザでダウンロードした調査報告です"},
               {"files": {"name": "file"}, "paths": [f1]},
               {"click": {"selector": "form[action='/upload'] button[type='submit']"}, "navigate": True},
               shot(shots, "upload-done.png"), {"text": True}])
    check(r.get("ok"), f"upload: a file sent ({r.get('step')}: {r.get('error')})")
    parcels = [json.load(open(os.path.join(d, "inbox", f), encoding="utf-8"))
               for f in os.listdir(os.path.join(d, "inbox")) if f.endswith(".json")]
    with open(f1, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    check(len(parcels) == 1 and parcels[0]["rcpt"] == "sato@city.example.lg.jp"
          and [x["sha256"] for x in parcels[0]["files"]] == [want] and parcels[0]["files"][0]["name"] == "調査報告.docx",
          "a complete parcel for the recipient, the file's SHA-256 and name")
    made = sorted(f for f in os.listdir(shots) if f.endswith(".png"))
    check(len(made) == 10, f"screenshots: {made}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
