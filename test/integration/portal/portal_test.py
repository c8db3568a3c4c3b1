#!/usr/bin/env python3
"""sekisho-portal end to end on loopback, judged by Python's http.client +
ssl, hashlib, json and html.parser, and sekisho-logexport verify.

  portal_test.py SEKISHO-PORTAL SEKISHO-LOGEXPORT

The test makes every directory itself, writes link manifests with a Python
writer that follows docs/portal.md ("Link manifests"), writes copies and
reports as the worker does (docs/cdr.md "The report"), and plays the worker
for releases (it writes releases/<id>.data when it sees the release job in
portal-queue/new/).  It checks: the message page (both languages, escaping,
security headers), copy download (bytes and RFC 5987 name), expired /
revoked / unknown / malformed links (unknown and malformed answer the same
page), PPAP (the job, its mode, the password in no record), requests, login,
one and two approvers (same approver twice refused, the requester never
approves), the release (not ready, once, second refused, file deleted),
denial, the operators' view and revocation, roles; the attacks: CSRF from
another origin and without or with a foreign token, session fixation, login
brute force (lockout), token guessing (throttled), path traversal and CR/LF
in every parameter, oversized bodies, slow clients within the caps; every
refusal with its status and a portal.refused record; the audit chain
verified.  Loops are bounded in count and time; no verdict depends on
timing."""
import hashlib
import http.client
import html.parser
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ptlcheck import Browser, check, done, free_port, make_cert  # noqa: E402

PORTAL, LOGEXPORT = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="ptl-portal-")
D = {}
for name in ("state", "links", "copies", "releases", "queue", "audit"):
    D[name] = os.path.join(tmp, name)
    os.makedirs(D[name])
for sub in ("tmp", "new", "cur", "bad"):
    os.makedirs(os.path.join(D["queue"], sub))
KEY = os.path.join(tmp, "audit.key")
with open(KEY, "wb") as f:
    f.write(os.urandom(32))
os.chmod(KEY, 0o600)
CERT, CERTKEY = make_cert(tmp)
PORT = free_port()
proc = None


def user(*args, password=None):
    argv = [PORTAL, "user"] + list(args) + ["--state", D["state"]]
    if password is not None:
        argv.append("--password-stdin")
    return subprocess.run(argv, input=(password + "\n") if password is not None else None, capture_output=True,
                          text=True, timeout=60)


def start(*extra, host="127.0.0.1"):
    global proc
    listen = ("[%s]:%d" if ":" in host else "%s:%d") % (host, PORT)
    proc = subprocess.Popen([PORTAL, "serve", "--listen", listen, "--cert", CERT, "--key", CERTKEY,
                             "--state", D["state"], "--links", D["links"], "--copies", D["copies"], "--releases",
                             D["releases"], "--queue", D["queue"], "--audit-dir", D["audit"], "--audit-key", KEY,
                             "--max-conn-per-ip", "8"] + list(extra),
                            stderr=open(os.path.join(tmp, "portal.log"), "a"))
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("sekisho-portal exited: " + open(os.path.join(tmp, "portal.log")).read())
        try:
            socket.create_connection((host, PORT), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sekisho-portal does not listen")


def stop():
    proc.terminate()
    check(proc.wait(30) == 0, "sekisho-portal exits 0 on SIGTERM")


# ------------------------------------------------------------ the "worker" --
def sha(b):
    return hashlib.sha256(b).hexdigest()


def write_manifest(files, expires_in=7 * 86400, subject="見積書の送付", sender="tanaka@example.jp", origin="mail",
                   note=None, rcpt=("soumu@city.example.lg.jp",)):
    """A manifest in the documented format; returns (token, hash)."""
    token = secrets.token_urlsafe(32)
    assert len(token) == 43
    h = sha(token.encode())
    now = int(time.time())
    created = min(now, now + expires_in - 60)
    m = {"v": 1, "origin": origin, "created": created, "expires": now + expires_in, "message_id": "<m1@example.jp>",
         "queue_id": "4XyZ1", "from": sender, "rcpt": list(rcpt), "subject": subject,
         "note": note, "files": files}
    p = os.path.join(D["links"], h + ".json")
    with open(p, "w", encoding="utf-8") as f:
        json.dump(m, f, ensure_ascii=False)
    os.chmod(p, 0o640)
    return token, h


def write_copy(original, ext, copy, removed=(), name="x", variant=""):
    s = sha(original)
    with open(os.path.join(D["copies"], "%s.%s" % (s, "ppap.zip" if variant else "copy." + ext)), "wb") as f:
        f.write(copy)
    rep = {"name": name, "result": "ok", "reason_ja": None, "reason_en": None, "detail": "", "kind": "ooxml",
           "in_type": ext, "out_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "out_ext": ext, "mode": "rebuild", "in_bytes": len(original), "in_sha256": s, "out_bytes": len(copy),
           "out_sha256": sha(copy), "ms": 12, "removed": list(removed), "removed_more": 0}
    with open(os.path.join(D["copies"], "%s.%sreport.json" % (s, variant)), "w", encoding="utf-8") as f:
        json.dump(rep, f, ensure_ascii=False)


def write_failed(original, key, ja, en):
    s = sha(original)
    rep = {"name": "x", "result": key, "reason_ja": ja, "reason_en": en, "detail": "", "kind": "archive",
           "in_type": "zip", "out_type": None, "out_ext": None, "in_bytes": len(original), "in_sha256": s,
           "out_bytes": None, "out_sha256": None, "removed": [], "removed_more": 0}
    with open(os.path.join(D["copies"], s + ".report.json"), "w", encoding="utf-8") as f:
        json.dump(rep, f, ensure_ascii=False)


def write_upload(files, note, expires_in=7 * 86400, mark=True):
    """An upload's manifest as the worker writes it (origin upload, the
    uploader as from, one recipient, no subject) and, when it awaits an
    approver, its mark links/<hash>.approval (0660); returns (token, hash)."""
    token, h = write_manifest(files, expires_in=expires_in, subject=None, sender="yamada", origin="upload",
                              note=note, rcpt=("sato@city.example.lg.jp",))
    if mark:
        p = os.path.join(D["links"], h + ".approval")
        open(p, "w").close()
        os.chmod(p, 0o660)
    return token, h


def queue_jobs():
    out = []
    nd = os.path.join(D["queue"], "new")
    for n in sorted(os.listdir(nd)):
        p = os.path.join(nd, n)
        out.append((n, json.load(open(p)), stat.S_IMODE(os.stat(p).st_mode)))
    return out


def take_jobs(kind):
    """The worker's part: claim (delete) the jobs of kind, return them."""
    got = []
    for n, j, _ in queue_jobs():
        if j.get("kind") == kind:
            os.unlink(os.path.join(D["queue"], "new", n))
            got.append(j)
    return got


# ---------------------------------------------------------------- helpers --
class Forms(html.parser.HTMLParser):
    """Forms (action, fields) and links of a page, by Python's own parser."""

    def __init__(self, text):
        super().__init__()
        self.forms, self.links, self.labels, self.ids, self.lang = [], [], set(), set(), None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "fields": {}})
        if tag in ("input", "textarea") and self.forms:
            self.forms[-1]["fields"][a.get("name")] = a.get("value", "")
            if a.get("type") != "hidden":
                self.ids.add(a.get("id"))
        if tag == "label":
            self.labels.add(a.get("for"))
        if tag == "a":
            self.links.append(a.get("href"))
        check(tag != "script", "no script element")


def form(page, action):
    for f in Forms(page.decode()).forms:
        if f["action"] == action:
            return f
    return None


SEC = {"content-security-policy": "default-src 'none'", "strict-transport-security": "max-age=",
       "x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
       "cache-control": "no-store"}


def secure(h, what):
    for k, v in SEC.items():
        check(v in h.get(k, ""), "%s: %s = %r" % (what, k, h.get(k)))
    check("frame-ancestors 'none'" in h.get("content-security-policy", ""), what + ": frame-ancestors")


def refused(resp, status, what):
    st, h, body, sc = resp
    check(st == status, "%s: status %d, want %d" % (what, st, status))
    secure(h, what)
    check(b"<h1>" in body and h.get("content-type", "").startswith("text/html"), what + ": a page")
    return body


def records(event=None):
    out = []
    for f in sorted(os.listdir(D["audit"])):
        if f.endswith(".jsonl"):
            for line in open(os.path.join(D["audit"], f), encoding="utf-8"):
                r = json.loads(line)
                if event is None or r["event"] == event:
                    out.append(r)
    return out


def wait_records(event, n, pred=lambda r: True):
    """Audit records are written by the log's thread: wait (bounded) until n are there."""
    end = time.monotonic() + 20
    while time.monotonic() < end:
        got = [r for r in records(event) if pred(r)]
        if len(got) >= n:
            return got
        time.sleep(0.05)
    return [r for r in records(event) if pred(r)]


def login(b, name, password):
    b.req("GET", "/login")
    f = form(b.req("GET", "/login")[2], "/login")
    return b.req("POST", "/login", form={"user": name, "password": password, "csrf": f["fields"]["csrf"]})


def request_original(br, token, link_hash, n, reason):
    """Ask for file n's original through the link page; the new request's id."""
    f = form(br.req("GET", "/m/" + token)[2], "/m/%s/request/%d" % (token, n))
    br.req("POST", f["action"], form={"reason": reason, "csrf": f["fields"]["csrf"]})
    rd = os.path.join(D["state"], "requests")
    recs = [json.load(open(os.path.join(rd, x))) for x in sorted(os.listdir(rd))]
    ids = [r["id"] for r in recs if r["link"] == link_hash and r["n"] == n]
    return ids[-1] if ids else "none"


def decide(br, rid, decision, comment=""):
    """An approver's decision through the decision page's form."""
    fd = form(br.req("GET", "/approvals/" + rid)[2], "/approvals/" + rid)
    csrf = fd["fields"]["csrf"] if fd else ""
    return br.req("POST", "/approvals/" + rid, form={"decision": decision, "comment": comment, "csrf": csrf})


# ------------------------------------------------------------------ setup --
try:
    r = user("add", "sato", "approver", password="sato-pw-1")
    check(r.returncode == 0, "user add sato: " + r.stderr)
    check(user("add", "suzuki", "approver", password="suzuki-pw-2").returncode == 0, "user add suzuki")
    check(user("add", "ops1", "operator", password="ops-pw-3").returncode == 0, "user add ops1")
    check(user("add", "sato", "approver", password="x").returncode == 1, "user add twice refused")
    check(user("add", "tanaka", "staff", password="x").returncode == 2, "staff is the upload portal's role")
    check(user("add", "../etc", "approver", password="x").returncode == 2, "bad user name")
    check(user("add", "nopw", "approver", password="").returncode == 1, "empty password refused")
    lst = user("list")
    check(lst.stdout == "sato\tapprover\nsuzuki\tapprover\nops1\toperator\n", "user list: %r" % lst.stdout)
    acc = os.path.join(D["state"], "accounts")
    check(stat.S_IMODE(os.stat(acc).st_mode) == 0o600, "accounts 0600")
    check("sato-pw-1" not in open(acc).read() and open(acc).read().count("$y$") == 3, "yescrypt hashes only")
    check(user("add", "gone", "operator", password="g").returncode == 0 and user("del", "gone").returncode == 0
          and "gone" not in user("list").stdout, "user del")
    check(user("passwd", "nobody", password="x").returncode == 1, "passwd of an unknown user")

    # the files of one message: a copy, a pending one, an encrypted zip, a refused exe
    orig0 = os.urandom(5000) + "見積".encode()
    copy0 = b"PK\x03\x04 safe copy " + os.urandom(3000)
    write_copy(orig0, "xlsx", copy0, removed=["macros", "metadata:author", "<script>x</script>"])
    orig1, orig2, orig3 = os.urandom(700), os.urandom(900), b"MZ" + os.urandom(400)
    write_failed(orig2, "encrypted", "暗号化またはパスワード付きのため変換できません。", "The file is encrypted.")
    write_failed(orig3, "unsupported-format", "この形式は変換できません。", "This format cannot be converted.")
    files = [{"sha256": sha(orig0), "name": "見積書.xlsx", "type": "application/vnd.ms-excel.sheet.macroEnabled.12",
              "bytes": len(orig0), "cdr": "pending"},
             {"sha256": sha(orig1), "name": "資料.pdf", "type": "application/pdf", "bytes": len(orig1),
              "cdr": "pending"},
             {"sha256": sha(orig2), "name": "secret.zip", "type": "application/zip", "bytes": len(orig2),
              "cdr": "pending"},
             {"sha256": sha(orig3), "name": "tool<b>.exe", "type": "application/x-dosexec", "bytes": len(orig3),
              "cdr": "none:unsupported-format"}]
    TOKEN, HASH = write_manifest(files, subject="<script>alert('件名')</script>")
    old_token, _ = write_manifest(files[:1], expires_in=-10)
    rev_token, rev_hash = write_manifest(files[:1])
    open(os.path.join(D["links"], rev_hash + ".revoked"), "w").close()
    before = {d: sorted(os.listdir(D[d])) for d in ("links", "copies")}

    # systemd's part (sd_notify, played here): READY=1 once listening, the
    # watchdog at half its interval (issue 16, item 4)
    nsock = os.path.join(tmp, "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(nsock)
    ns.settimeout(5)
    os.environ.update(NOTIFY_SOCKET=nsock, WATCHDOG_USEC="1000000")
    start()
    del os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"]
    got = []
    try:
        while len([m for m in got if "WATCHDOG=1" in m]) < 2:
            got.append(ns.recv(4096).decode())
    except socket.timeout:
        pass
    ns.close()
    check(got and got[0].startswith("READY=1\nSTATUS=serving HTTPS on 127.0.0.1:") and
          sum("WATCHDOG=1" in m for m in got) >= 2, "systemd: READY=1 with STATUS, then watchdog pings: %s" % got[:3])
    b = Browser("127.0.0.1", PORT, CERT)

    # ------------------------------------------------------------ viewing --
    st, h, page, sc = b.req("GET", "/m/" + TOKEN)
    check(st == 200, "view: %d" % st)
    secure(h, "view")
    text = page.decode()
    fp = Forms(text)
    check(fp.lang == "ja", "Japanese by default")
    check("見積書.xlsx" in text and "資料.pdf" in text and "secret.zip" in text, "file names")
    check("&lt;script&gt;alert(&#39;件名&#39;)&lt;/script&gt;" in text and "<script" not in text, "subject escaped")
    check("tool&lt;b&gt;.exe" in text, "file name escaped")
    check("&lt;script&gt;x&lt;/script&gt;" in text and "macros" in text, "removed items shown, escaped")
    check("作成中" in text, "pending copy")
    check("この形式は変換できません" in text or "unsupported-format" in text, "no copy possible")
    check("/m/%s/copy/0" % TOKEN in fp.links, "download link")
    check("/m/%s/copy/1" % TOKEN not in fp.links, "no link for a pending copy")
    check(form(page, "/m/%s/ppap/2" % TOKEN) is not None, "PPAP form for the encrypted zip")
    check(form(page, "/m/%s/request/0" % TOKEN) is not None, "request form")
    check(all(i in fp.labels for i in fp.ids if i), "every field has a label: %r %r" % (fp.ids, fp.labels))
    check(any(c.startswith("__Host-pre=") and "HttpOnly" in c and "Secure" in c and "SameSite=Strict" in c
              for c in sc), "pre-session cookie: %r" % sc)
    st, h, page_en, _ = b.req("GET", "/m/" + TOKEN, headers={"Accept-Language": "en-US,en;q=0.9"})
    check(Forms(page_en.decode()).lang == "en" and b"Your attachments" in page_en, "English by Accept-Language")
    st, h, css, _ = b.req("GET", "/style.css")
    check(st == 200 and h["content-type"].startswith("text/css"), "style sheet")
    # browsers ask for it after every page: no content, and no refusal
    # record (it made half of the operators' activity list)
    nrefused = len(records("portal.refused"))
    st, h, ico, _ = b.req("GET", "/favicon.ico")
    check(st == 204 and ico == b"" and len(records("portal.refused")) == nrefused,
          "/favicon.ico: 204, no portal.refused record (%d)" % st)

    st, h, got, _ = b.req("GET", "/m/%s/copy/0" % TOKEN)
    check(st == 200 and got == copy0, "copy bytes equal the worker's file")
    secure(h, "download")
    cd = h.get("content-disposition", "")
    check(cd.startswith("attachment;") and "filename*=UTF-8''" in cd, "attachment: %s" % cd)
    check(urllib.parse.unquote(cd.split("filename*=UTF-8''")[1]) == "見積書.xlsx", "RFC 5987 name: %s" % cd)
    refused(b.req("GET", "/m/%s/copy/1" % TOKEN), 404, "no copy yet")
    refused(b.req("GET", "/m/%s/copy/9" % TOKEN), 404, "file index out of range")

    # copy whose bytes differ from the report: refused, not sent
    with open(os.path.join(D["copies"], sha(orig0) + ".copy.xlsx"), "r+b") as f:
        f.write(b"X")
    refused(b.req("GET", "/m/%s/copy/0" % TOKEN), 500, "copy that does not match its report")
    with open(os.path.join(D["copies"], sha(orig0) + ".copy.xlsx"), "wb") as f:
        f.write(copy0)

    # expired, revoked, unknown, malformed
    body_exp = refused(b.req("GET", "/m/" + old_token), 410, "expired link")
    check("有効期限" in body_exp.decode(), "expired page says so")
    body_rev = refused(b.req("GET", "/m/" + rev_token), 410, "revoked link")
    check("取り消" in body_rev.decode(), "revoked page says so")
    unknown = refused(b.req("GET", "/m/" + secrets.token_urlsafe(32)), 404, "unknown token")
    for bad in ("abc", "..", "%2e%2e%2fetc%2fpasswd", TOKEN + "x", TOKEN[:-1] + "!", "a" * 200):
        body = refused(b.req("GET", "/m/" + bad), 404, "malformed token " + bad)
        check(body == unknown, "malformed token %s: same page as unknown (no oracle)" % bad[:20])

    # ---------------------------------------------------------------- PPAP --
    f = form(page, "/m/%s/ppap/2" % TOKEN)
    st, h, _, _ = b.req("POST", f["action"], form={"password": "zip-pass-ワード", "csrf": f["fields"]["csrf"]})
    check(st == 303 and h.get("location") == "/m/" + TOKEN, "ppap: %d" % st)
    jobs = queue_jobs()
    check(len(jobs) == 1 and jobs[0][1]["kind"] == "ppap" and jobs[0][1]["password"] == "zip-pass-ワード"
          and jobs[0][1]["sha256"] == sha(orig2) and jobs[0][1]["link"] == HASH, "ppap job: %r" % jobs)
    check(jobs and jobs[0][2] == 0o660, "ppap job mode 0660")
    check(re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]{8}", jobs[0][0]) is not None, "job id form")
    take_jobs("ppap")
    write_copy(orig2, "zip", b"PK ppap copy", name="secret.zip", variant="ppap.")
    st, h, page, _ = b.req("GET", "/m/" + TOKEN)
    check("/m/%s/copy/2" % TOKEN in Forms(page.decode()).links, "ppap copy offered")
    st, h, got, _ = b.req("GET", "/m/%s/copy/2" % TOKEN)
    check(st == 200 and got == b"PK ppap copy", "ppap copy downloads")
    refused(b.req("POST", f["action"], form={"password": "", "csrf": f["fields"]["csrf"]}), 400, "empty password")

    # --------------------------------------------------------------- CSRF --
    f = form(page, "/m/%s/request/0" % TOKEN)
    csrf_pre = f["fields"]["csrf"]
    refused(b.req("POST", f["action"], form={"reason": "x"}), 403, "request without csrf")
    refused(b.req("POST", f["action"], form={"reason": "x", "csrf": csrf_pre},
                  headers={"Origin": "https://evil.example", "Cookie": "__Host-pre=" + b.cookies["__Host-pre"]}),
            403, "CSRF from another origin")
    refused(b.req("POST", f["action"], form={"reason": "x", "csrf": csrf_pre},
                  headers={"Sec-Fetch-Site": "cross-site", "Cookie": "__Host-pre=" + b.cookies["__Host-pre"]}),
            403, "cross-site fetch")
    other = Browser("127.0.0.1", PORT, CERT)
    other.req("GET", "/m/" + TOKEN)
    refused(other.req("POST", f["action"], form={"reason": "x", "csrf": csrf_pre}), 403,
            "a token bound to another browser's cookie")
    check(not os.listdir(os.path.join(D["state"], "requests")), "no request written by refused posts")

    # ------------------------------------------------------------ request --
    st, h, _, _ = b.req("POST", f["action"], form={"reason": "原本の数式が必要です\r\n2行目", "csrf": csrf_pre})
    check(st == 303, "request: %d" % st)
    reqs = os.listdir(os.path.join(D["state"], "requests"))
    check(len(reqs) == 1, "one request record")
    RID = reqs[0][:-5]
    rq = json.load(open(os.path.join(D["state"], "requests", reqs[0])))
    check(rq["state"] == "pending" and rq["sha256"] == sha(orig0) and rq["reason"] == "原本の数式が必要です\n2行目"
          and rq["requester"] is None, "request record: %r" % rq)
    st, h, page, _ = b.req("GET", "/m/" + TOKEN)
    check("承認を待っています" in page.decode() and form(page, f["action"]) is None, "pending shown, no second form")
    b.req("POST", f["action"], form={"reason": "again", "csrf": csrf_pre})
    check(len(os.listdir(os.path.join(D["state"], "requests"))) == 1, "no duplicate pending request")

    # -------------------------------------------------------------- login --
    a = Browser("127.0.0.1", PORT, CERT)
    st, h, _, _ = a.req("GET", "/approvals")
    check(st == 303 and h.get("location") == "/login", "approvals need a login")
    a.cookies["__Host-sid"] = "attacker-chosen-session-id-AAAAAAAAAAAAAAAAAAAAA"
    st, h, body, _ = login(a, "sato", "wrong")
    check(st == 401 and "違います" in body.decode(), "wrong password: %d" % st)
    st, h, _, sc = login(a, "sato", "sato-pw-1")
    check(st == 303 and h.get("location") == "/approvals", "login: %d %r" % (st, h.get("location")))
    sid = a.cookies.get("__Host-sid", "")
    check(len(sid) == 43 and sid != "attacker-chosen-session-id-AAAAAAAAAAAAAAAAAAAAA", "a new session id (fixation)")
    check(any(c.startswith("__Host-sid=") and "HttpOnly" in c and "Secure" in c and "SameSite=Strict" in c
              for c in sc), "session cookie flags: %r" % sc)
    fix = Browser("127.0.0.1", PORT, CERT)
    fix.cookies["__Host-sid"] = "attacker-chosen-session-id-AAAAAAAAAAAAAAAAAAAAA"
    check(fix.req("GET", "/approvals")[0] == 303, "the planted id is no session")

    st, h, page, _ = a.req("GET", "/approvals")
    check(st == 200 and ("/approvals/" + RID) in Forms(page.decode()).links, "approvals list")
    secure(h, "approvals")
    st, h, page, _ = a.req("GET", "/approvals/" + RID)
    check(st == 200 and "原本の数式が必要です" in page.decode() and "macros" in page.decode(), "decision page")
    fd = form(page, "/approvals/" + RID)
    check(fd is not None and "decision" in fd["fields"] and "comment" in fd["fields"], "decision form")
    refused(a.req("POST", "/approvals/" + RID, form={"decision": "approve", "comment": "", "csrf": csrf_pre}), 403,
            "a pre-session token is not the session's")
    refused(a.req("POST", "/approvals/" + RID, form={"decision": "maybe", "csrf": fd["fields"]["csrf"]}), 400,
            "unknown decision")
    # not ready before the approval: the link does not exist
    st, h, _, _ = a.req("POST", "/approvals/" + RID,
                        form={"decision": "approve", "comment": "業務上必要", "csrf": fd["fields"]["csrf"]})
    check(st == 303, "approve: %d" % st)
    rel = take_jobs("release")
    check(len(rel) == 1 and rel[0]["id"] == RID and rel[0]["approvers"] == ["sato"] and rel[0]["sha256"] == sha(orig0)
          and rel[0]["origin"] == "mail" and rel[0]["reason"].startswith("原本の数式"), "release job: %r" % rel)
    refused(a.req("POST", "/approvals/" + RID, form={"decision": "deny", "csrf": fd["fields"]["csrf"]}), 409,
            "decided already")

    st, h, page, _ = b.req("GET", "/m/" + TOKEN)
    rlinks = [x for x in Forms(page.decode()).links if x.startswith("/r/")]
    check(len(rlinks) == 1, "release link on the message page")
    RLINK = rlinks[0] if rlinks else "/r/none"
    refused(b.req("GET", RLINK), 409, "release not ready before the worker")
    with open(os.path.join(D["releases"], RID + ".data"), "wb") as fo:   # the worker's copy of the original
        fo.write(orig0)
    os.chmod(os.path.join(D["releases"], RID + ".data"), 0o640)
    refused(b.req("GET", RLINK[:-1] + ("A" if RLINK[-1] != "A" else "B")), 404, "release token guessed wrong")
    st, h, got, _ = b.req("GET", RLINK)
    check(st == 200 and got == orig0, "the original downloads (bytes equal)")
    check(urllib.parse.unquote(h.get("content-disposition", "").split("''")[-1]) == "見積書.xlsx", "original's name")
    wait_records("portal.release", 1)
    check(not os.path.exists(os.path.join(D["releases"], RID + ".data")), "release file deleted after the send")
    refused(b.req("GET", RLINK), 410, "second download refused")
    check("ダウンロード済み" in b.req("GET", "/m/" + TOKEN)[2].decode(), "page says downloaded")

    # --------------------------------------------------------------- deny --
    rid3 = request_original(b, TOKEN, HASH, 3, "ツール" * 333 + "が必要")   # 1000 characters, 3000 bytes
    check(rid3 != "none", "a reason of 1000 Japanese characters fits the caps")
    st = decide(a, rid3, "deny", "実行ファイルは不可")[0]
    check(st == 303 and not take_jobs("release"), "deny: no release job")
    check("実行ファイルは不可" in b.req("GET", "/m/" + TOKEN)[2].decode(), "denial shown with its comment")

    # ------------------------------------------------ uploads awaiting approval --
    up_files = [{"sha256": sha(orig0), "name": "見積書.xlsx", "type": None, "bytes": len(orig0), "cdr": "pending"},
                {"sha256": sha(orig3), "name": "tool<b>.exe", "type": None, "bytes": len(orig3),
                 "cdr": "none:unsupported-format"},
                {"sha256": sha(b"not converted yet"), "name": "議事録.docx", "type": None, "bytes": 17,
                 "cdr": "pending"}]
    UP_TOKEN, UP = write_upload(up_files, "至急<お願い>します")
    DN_TOKEN, DN = write_upload(up_files[:1], "却下される予定")
    _, UP_REV = write_upload(up_files[:1], "取り消し済み")
    open(os.path.join(D["links"], UP_REV + ".revoked"), "w").close()
    _, UP_OLD = write_upload(up_files[:1], "期限切れ", expires_in=-10)
    _, UP_DONE = write_upload(up_files[:1], "承認不要", mark=False)
    _, MAIL_MARK = write_manifest(files[:1])
    open(os.path.join(D["links"], MAIL_MARK + ".approval"), "w").close()   # a mark on a mail manifest: ignored
    n_notify = lambda: len([j for _, j, _ in queue_jobs() if j.get("kind") == "notify"])  # noqa: E731

    st, h, _, _ = b.req("GET", "/approvals/u/" + UP)
    check(st == 303 and h.get("location") == "/login", "upload approval needs a login")
    st, h, page, _ = a.req("GET", "/approvals")
    text = page.decode()
    links = Forms(text).links
    check(st == 200 and "/approvals/u/" + UP in links and "/approvals/u/" + DN in links, "uploads listed")
    check(all("/approvals/u/" + x not in links for x in (UP_REV, UP_OLD, UP_DONE, MAIL_MARK)),
          "not listed: revoked, expired, unmarked, a mail manifest")
    check(links.index("/approvals/u/" + UP) < links.index("/approvals/u/" + DN), "oldest mark first")
    check("yamada" in text and "sato@city.example.lg.jp" in text and "至急&lt;お願い&gt;します" in text
          and "<お願い>" not in text, "uploader, recipient, note (escaped)")
    check("見積書.xlsx" in text and "tool&lt;b&gt;.exe" in text and "無害化済み" in text and "作成中" in text
          and "この形式は変換できません" in text, "files with their conversion state")
    check("/approvals/" + RID in links, "requests for originals still listed")
    check(UP_TOKEN not in text and DN_TOKEN not in text, "the list never shows a token")

    st, h, page, _ = a.req("GET", "/approvals/u/" + UP)
    text = page.decode()
    secure(h, "upload decision page")
    check(st == 200 and "yamada" in text and "至急&lt;お願い&gt;します" in text and "macros" in text
          and "SHA-256" in text and sha(orig0) in text, "upload decision page: facts and reports")
    check("送信者にも通知されません" in text, "the page says the uploader is not told")
    check(UP_TOKEN not in text and "/m/" not in text, "the decision page never shows the token or a link")
    fu = form(page, "/approvals/u/" + UP)
    check(fu is not None and {"decision", "comment", "csrf"} <= set(fu["fields"]), "upload decision form")
    st, _, page_en, _ = a.req("GET", "/approvals/u/" + UP, headers={"Accept-Language": "en-US,en;q=0.9"})
    check(st == 200 and Forms(page_en.decode()).lang == "en" and b"Approval of an upload" in page_en
          and b"The uploader is not told" in page_en, "English by Accept-Language")
    refused(a.req("GET", "/approvals/u/" + "0" * 64), 404, "unknown upload")
    refused(a.req("GET", "/approvals/u/" + UP.upper()), 404, "not a hash")
    refused(a.req("GET", "/approvals/u/" + MAIL_MARK), 404, "a mail manifest is no upload")
    refused(a.req("GET", "/approvals/u/" + UP_REV), 410, "revoked upload")
    refused(a.req("GET", "/approvals/u/" + UP_OLD), 410, "expired upload")
    refused(a.req("GET", "/approvals/u/" + UP_DONE), 409, "an upload without its mark was decided")

    mark = os.path.join(D["links"], UP + ".approval")
    good = {"decision": "approve", "comment": "確認しました", "csrf": fu["fields"]["csrf"]}
    refused(a.req("POST", "/approvals/u/" + UP, form={"decision": "approve"}), 403, "upload: no csrf")
    refused(a.req("POST", "/approvals/u/" + UP, form=dict(good, csrf=csrf_pre)), 403, "upload: a pre-session token")
    refused(a.req("POST", "/approvals/u/" + UP, form=good, headers={"Origin": "https://evil.example"}), 403,
            "upload: another origin")
    refused(a.req("POST", "/approvals/u/" + UP, form=dict(good, decision="maybe")), 400, "upload: bad decision")
    anon = Browser("127.0.0.1", PORT, CERT)
    st, h, _, _ = anon.req("POST", "/approvals/u/" + UP, form=good)
    check(st == 303 and h.get("location") == "/login", "upload: not logged in")
    check(os.path.exists(mark) and n_notify() == 0, "refused posts change nothing")

    st, h, page, _ = a.req("POST", "/approvals/u/" + UP, form=good)
    check(st == 200 and "通知メール" in page.decode() and UP_TOKEN not in page.decode(), "upload approved: %d" % st)
    jobs = [(n, j, m) for n, j, m in queue_jobs() if j.get("kind") == "notify"]
    check(len(jobs) == 1 and jobs[0][1]["link"] == UP and jobs[0][1]["v"] == 1
          and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", jobs[0][1]["id"]) is not None
          and set(jobs[0][1]) == {"v", "kind", "id", "link"}, "notify request: %r" % jobs)
    check(not os.path.exists(mark), "the mark is gone")
    check(not os.path.exists(os.path.join(D["links"], UP + ".revoked")), "an approved upload is not revoked")
    ap = wait_records("portal.approve", 1, lambda r: r["data"].get("upload") is True)
    check(len(ap) == 1 and ap[0]["data"]["link"] == UP and ap[0]["data"]["user"] == "sato"
          and ap[0]["data"]["uploader"] == "yamada" and ap[0]["data"]["rcpt"] == ["sato@city.example.lg.jp"]
          and ap[0]["data"]["names"] == ["見積書.xlsx", "tool<b>.exe", "議事録.docx"]
          and ap[0]["data"]["sha256"][0] == sha(orig0) and ap[0]["data"]["comment"] == "確認しました"
          and jobs and ap[0]["data"]["job"] == jobs[0][0], "portal.approve (upload): %r" % ap)
    # the second decision (a second approver racing, or the same twice)
    s2 = Browser("127.0.0.1", PORT, CERT)
    check(login(s2, "suzuki", "suzuki-pw-2")[0] == 303, "second approver")
    f2 = form(a.req("GET", "/approvals/u/" + DN)[2], "/approvals/u/" + DN)
    refused(a.req("POST", "/approvals/u/" + UP, form=good), 409, "upload decided twice")
    fs2 = form(s2.req("GET", "/approvals")[2], "/logout")
    refused(s2.req("POST", "/approvals/u/" + UP, form={"decision": "deny", "csrf": fs2["fields"]["csrf"]}), 409,
            "another approver after the decision")
    refused(a.req("GET", "/approvals/u/" + UP), 409, "the decided upload's page")
    check(n_notify() == 1 and not os.path.exists(os.path.join(D["links"], UP + ".revoked")),
          "no second request, no revocation")
    take_jobs("notify")

    st, h, page, _ = a.req("POST", "/approvals/u/" + DN, form={"decision": "deny", "comment": "宛先違い",
                                                               "csrf": f2["fields"]["csrf"]})
    check(st == 200 and "送信者にも通知されません" in page.decode(), "upload denied: %d" % st)
    check(os.path.exists(os.path.join(D["links"], DN + ".revoked")) and
          not os.path.exists(os.path.join(D["links"], DN + ".approval")) and n_notify() == 0,
          "denied: revoked, the mark gone, no notify request")
    refused(b.req("GET", "/m/" + DN_TOKEN), 410, "the denied upload's link is refused")
    dn = wait_records("portal.deny", 1, lambda r: r["data"].get("upload") is True)
    check(len(dn) == 1 and dn[0]["data"]["link"] == DN and dn[0]["data"]["uploader"] == "yamada"
          and dn[0]["data"]["names"] == ["見積書.xlsx"] and dn[0]["data"]["comment"] == "宛先違い"
          and "job" not in dn[0]["data"], "portal.deny (upload): %r" % dn)
    refused(s2.req("POST", "/approvals/u/" + DN, form={"decision": "approve", "csrf": fs2["fields"]["csrf"]}), 409,
            "a denied upload decided again")
    # the queue cannot take the request: 500, nothing decided, the upload still listed
    _, FL = write_upload(up_files[:1], "キュー障害")
    ff = form(a.req("GET", "/approvals/u/" + FL)[2], "/approvals/u/" + FL)
    qnew = os.path.join(D["queue"], "new")
    os.rename(qnew, qnew + ".away")
    try:
        refused(a.req("POST", "/approvals/u/" + FL, form={"decision": "approve", "csrf": ff["fields"]["csrf"]}),
                500, "upload: the queue fails")
    finally:
        os.rename(qnew + ".away", qnew)
    check(os.path.exists(os.path.join(D["links"], FL + ".approval")) and
          "/approvals/u/" + FL in a.req("GET", "/approvals")[2].decode(), "a failed approval leaves the upload listed")
    st, _, _, _ = a.req("POST", "/approvals/u/" + FL, form={"decision": "approve", "csrf": ff["fields"]["csrf"]})
    check(st == 200 and [j["link"] for j in take_jobs("notify")] == [FL], "and it is approved once the queue works")
    check(len(wait_records("portal.approve", 1, lambda r: r["data"].get("link") == FL)) == 1,
          "one record: the approval that happened")

    text = a.req("GET", "/approvals")[2].decode()
    check("/approvals/u/" + UP not in text and "/approvals/u/" + DN not in text, "decided uploads leave the list")
    check("承認待ちのアップロードはありません" in text, "and the list says so")

    # -------------------------------------------------------------- roles --
    refused(a.req("GET", "/ops"), 403, "an approver is not an operator")
    o = Browser("127.0.0.1", PORT, CERT)
    check(login(o, "ops1", "ops-pw-3")[0] == 303, "operator login")
    refused(o.req("GET", "/approvals"), 403, "an operator is not an approver")
    refused(o.req("GET", "/approvals/u/" + UP), 403, "an operator decides no upload")
    st, h, page, _ = o.req("GET", "/ops")
    check(st == 200 and "portal.approve" in page.decode() and "portal.view" in page.decode(), "recent activity")
    # (a refused link's path is in its portal.refused record, so the denied
    # upload's token, refused above, may be shown; the approved one's never)
    check(UP_TOKEN not in page.decode() and UP in page.decode(), "the operators' view: the hash, never the token")
    ev = re.findall(r"<td>(portal\.[a-z_]+)</td>", page.decode())
    check(len(ev) > 5 and ev[0] != "portal.start", "newest first: %r" % ev[:3])
    fr = form(page, "/ops/revoke")
    st, _, _, _ = o.req("POST", "/ops/revoke", form={"link": "https://portal.example/m/" + TOKEN,
                                                     "csrf": fr["fields"]["csrf"]})
    check(st == 303 and os.path.exists(os.path.join(D["links"], HASH + ".revoked")), "revoked by URL")
    refused(b.req("GET", "/m/" + TOKEN), 410, "revoked link refused")
    refused(o.req("POST", "/ops/revoke", form={"link": "../../etc/passwd", "csrf": fr["fields"]["csrf"]}), 404,
            "revoke of nonsense")
    fl = form(o.req("GET", "/ops")[2], "/logout")
    st, h, _, _ = o.req("POST", "/logout", form={"csrf": fl["fields"]["csrf"]})
    check(st == 303 and "__Host-sid" not in o.cookies, "logout clears the cookie")
    check(o.req("GET", "/ops")[0] == 303, "logged out")
    stop()

    # ------------------------------------------------------ two approvers --
    start("--two-approvers", "--release-hours", "1")
    TOKEN2, HASH2 = write_manifest(files[:1])
    b = Browser("127.0.0.1", PORT, CERT)
    a = Browser("127.0.0.1", PORT, CERT)
    check(login(a, "sato", "sato-pw-1")[0] == 303, "sessions end with the process: log in again")
    rid = request_original(b, TOKEN2, HASH2, 0, "二人承認")
    fd = form(a.req("GET", "/approvals/" + rid)[2], "/approvals/" + rid)
    check(decide(a, rid, "approve")[0] == 303, "first approval")
    check(not take_jobs("release"), "one approver is not enough")
    refused(a.req("POST", "/approvals/" + rid, form={"decision": "approve", "csrf": fd["fields"]["csrf"]}), 409,
            "the same approver twice")
    s2 = Browser("127.0.0.1", PORT, CERT)
    check(login(s2, "suzuki", "suzuki-pw-2")[0] == 303, "second approver login")
    check(decide(s2, rid, "approve")[0] == 303, "second approval")
    rel = take_jobs("release")
    check(len(rel) == 1 and rel[0]["approvers"] == ["sato", "suzuki"], "release after two: %r" % rel)
    rq = json.load(open(os.path.join(D["state"], "requests", rid + ".json")))
    check(rq["state"] == "approved" and 3500 <= rq["release_expires"] - int(time.time()) <= 3600, "release hours")
    # the requester's own request: sato, logged in, asks through the link
    TOKEN3, HASH3 = write_manifest(files[:1])
    rid_own = request_original(a, TOKEN3, HASH3, 0, "自分で申請")
    refused(decide(a, rid_own, "approve"), 403, "the requester never approves")
    # an expired release: the file is refused and deleted
    with open(os.path.join(D["releases"], rid + ".data"), "wb") as fo:
        fo.write(orig0)
    rq["release_expires"] = int(time.time()) - 1
    with open(os.path.join(D["state"], "requests", rid + ".json"), "w") as fo:
        json.dump(rq, fo, ensure_ascii=False)
    refused(b.req("GET", "/r/%s_%s" % (rid, rq["release"])), 410, "expired release")
    check(not os.path.exists(os.path.join(D["releases"], rid + ".data")), "expired release file deleted")

    # an account deleted while logged in loses its session at once
    check(user("add", "temp", "approver", password="temp-pw").returncode == 0, "user add temp")
    t = Browser("127.0.0.1", PORT, CERT)
    check(login(t, "temp", "temp-pw")[0] == 303 and t.req("GET", "/approvals")[0] == 200, "temp logged in")
    check(user("del", "temp").returncode == 0, "user del temp")
    st, h, _, _ = t.req("GET", "/approvals")
    check(st == 303 and h.get("location") == "/login", "deleted account: session gone (%d)" % st)

    # ------------------------------------------------------------ attacks --
    # login brute force from one address: locked, even with the right password
    x = Browser("127.0.0.1", PORT, CERT, source="127.0.0.2")
    codes = [login(x, "suzuki", "guess%d" % i)[0] for i in range(5)]
    check(codes == [401] * 5, "failures: %r" % codes)
    refused(login(x, "suzuki", "suzuki-pw-2"), 429, "locked out after 5 failures")
    y = Browser("127.0.0.1", PORT, CERT, source="127.0.0.3")
    refused(login(y, "suzuki", "suzuki-pw-2"), 429, "the user is locked from any address")
    check(login(y, "sato", "sato-pw-1")[0] == 303, "other users log in")
    locked = wait_records("portal.login_failed", 1, lambda r: r["data"].get("locked") is True)
    check(len(locked) >= 1, "lockout recorded")

    # token guessing: throttled per address after 30 unknown tokens
    g = Browser("127.0.0.1", PORT, CERT, source="127.0.0.4")
    codes = [g.req("GET", "/m/" + secrets.token_urlsafe(32))[0] for _ in range(35)]
    check(codes[:30] == [404] * 30 and codes[-1] == 429, "token guessing throttled: %r" % codes[28:])
    check(b.req("GET", "/m/" + TOKEN2)[0] == 200, "other addresses unaffected")

    # path traversal and CR/LF in every parameter
    inj = ["..%2F..%2Fetc%2Fpasswd", "%0d%0aSet-Cookie:%20x=1", "a%00b", "%2e%2e", "x%20y", "%E2%80%AE"]
    for v in inj:
        for path in ("/m/" + v, "/m/%s/copy/%s" % (TOKEN2, v), "/m/%s/copy/0%s" % (TOKEN2, v), "/approvals/" + v,
                     "/r/" + v, "/r/%s_%s" % (rid, v)):
            st, h, body, sc = b.req("GET", path)
            # MHD ends the path at a decoded NUL: /approvals/a is a page
            # that wants a login first
            check(st in (404, 400) or (st == 303 and h.get("location") == "/login"), "%s: %d" % (path, st))
            check(not any("x=1" in c for c in sc) and "x" not in h, path + ": no injected header")
    TOKEN4, HASH4 = write_manifest(files[:1])
    page = b.req("GET", "/m/" + TOKEN4)[2]
    f = form(page, "/m/%s/request/0" % TOKEN4)
    for field in ("reason", "csrf"):
        data = {"reason": "r", "csrf": f["fields"]["csrf"]}
        data[field] = "a\r\nSet-Cookie: x=1\r\n\r\n<script>"
        st, h, body, sc = b.req("POST", f["action"], form=data)
        check(not any("x=1" in c for c in sc), "CR/LF in %s: no header" % field)
    st, h, body, sc = login(b, "a\r\nSet-Cookie: x=1", "p\r\nX: y")
    check(st in (400, 401) and "x" not in h and not any("x=1" in c for c in sc), "CR/LF in login fields: %d" % st)
    st, h, body, sc = b.req("POST", "/login", raw="user=a&user=b&password=p", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    check(st == 400, "parameter pollution: %d" % st)

    # oversized bodies
    # a 100 KB form: the server answers 413 as soon as it reads the
    # declared length and closes, so the body is sent only as far as the
    # server takes it (a client still writing the rest would see the close
    # first: not a verdict on the server)
    c = http.client.HTTPSConnection("127.0.0.1", PORT, timeout=30,
                                    context=ssl.create_default_context(cafile=CERT))
    c.putrequest("POST", "/login")
    c.putheader("Content-Type", "application/x-www-form-urlencoded")
    c.putheader("Content-Length", str(100005))
    c.endheaders(b"user=" + b"x" * 1000)
    r = c.getresponse()
    body = r.read()
    refused((r.status, {k.lower(): v for k, v in r.getheaders()}, body, []), 413, "oversized form")
    c.close()
    c = http.client.HTTPSConnection("127.0.0.1", PORT, timeout=30,
                                    context=ssl.create_default_context(cafile=CERT))
    c.putrequest("POST", "/login")
    c.putheader("Content-Type", "application/x-www-form-urlencoded")
    c.putheader("Content-Length", str(1 << 30))
    c.endheaders()
    check(c.getresponse().status == 413, "a declared 1 GiB body refused before it is sent")
    c.close()

    # slow clients within the caps: 8 TLS connections from one address
    # sending half a request hold nothing but their own slots
    ctx = ssl.create_default_context(cafile=CERT)
    slow = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=10, source_address=("127.0.0.5", 0))
        t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        t.sendall(b"GET /m/" + TOKEN2.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(t)
    ninth = False
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=10, source_address=("127.0.0.5", 0))
        t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        ninth = t.recv(20).startswith(b"HTTP/")
        t.close()
    except (ssl.SSLError, OSError):
        ninth = False
    check(not ninth, "a ninth connection from the slow address is refused")
    check(b.req("GET", "/m/" + TOKEN2)[0] == 200, "others are served while slow clients hold their slots")
    for t in slow:
        t.close()

    # nothing written where it should not be
    check(sorted(os.listdir(D["copies"])) == sorted(before["copies"] + [sha(orig2) + ".ppap.zip",
                                                                          sha(orig2) + ".ppap.report.json"]),
          "copies/ only as the test wrote it")
    check(set(os.listdir(D["links"])) - set(before["links"]) ==
          {HASH + ".revoked", HASH2 + ".json", HASH3 + ".json", HASH4 + ".json", DN + ".revoked"} |
          {x + ".json" for x in (UP, DN, UP_REV, UP_OLD, UP_DONE, MAIL_MARK, FL)} |
          {x + ".approval" for x in (UP_REV, UP_OLD, MAIL_MARK)} | {UP_REV + ".revoked"},
          "links/: only the revocations and the decided marks gone")
    check(not os.listdir(os.path.join(D["queue"], "tmp")), "no half-written queue job")
    stop()

    # ------------------------------------- originals off, listening on IPv6 --
    start("--originals", "off", host="::1")
    b6 = Browser("::1", PORT, CERT)
    TOKEN5, _ = write_manifest(files[:1])
    st, h, page, _ = b6.req("GET", "/m/" + TOKEN5)
    check(st == 200 and form(page, "/m/%s/request/0" % TOKEN5) is None, "no request form with --originals off")
    check("/m/%s/copy/0" % TOKEN5 in Forms(page.decode()).links, "copies still offered")
    pre = b6.cookies.get("__Host-pre", "")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode())
    refused(b6.req("POST", "/m/%s/request/0" % TOKEN5, form={"reason": "x", "csrf": csrf.group(1) if csrf else ""}),
            403, "requests refused with --originals off")
    check(pre and any(r["data"].get("peer") == "::1" for r in wait_records("portal.view", 1)), "IPv6 peer recorded")
    try:
        socket.create_connection(("127.0.0.1", PORT), 2).close()
        v4 = True
    except OSError:
        v4 = False
    check(not v4, "bound to the one address given")
    stop()

    # ---------------------------------------- kill -9 during a release --
    # the record says "downloaded" only after a complete send: a portal
    # killed in the middle leaves the original downloadable once more
    start()
    big = os.urandom(24 << 20)
    TOKEN6, HASH6 = write_manifest([{"sha256": sha(big), "name": "大きい.bin", "type": "application/octet-stream",
                                     "bytes": len(big), "cdr": "none:unsupported-format"}])
    b = Browser("127.0.0.1", PORT, CERT)
    rid6 = request_original(b, TOKEN6, HASH6, 0, "大きいファイル")
    a = Browser("127.0.0.1", PORT, CERT)
    check(login(a, "sato", "sato-pw-1")[0] == 303, "approver login (kill phase)")
    decide(a, rid6, "approve")
    check(len(take_jobs("release")) == 1, "release job (kill phase)")
    with open(os.path.join(D["releases"], rid6 + ".data"), "wb") as fo:
        fo.write(big)
    rl6 = [x for x in Forms(b.req("GET", "/m/" + TOKEN6)[2].decode()).links if x.startswith("/r/")][0]
    c = http.client.HTTPSConnection("127.0.0.1", PORT, timeout=30, context=ssl.create_default_context(cafile=CERT))
    c.request("GET", rl6)
    r = c.getresponse()
    part = r.read(1 << 20)
    check(r.status == 200 and part == big[:1 << 20], "the download started")
    proc.kill()
    proc.wait()
    c.close()
    rq6 = json.load(open(os.path.join(D["state"], "requests", rid6 + ".json")))
    check(rq6["downloaded"] == 0 and os.path.exists(os.path.join(D["releases"], rid6 + ".data")),
          "after kill -9: not marked downloaded, the file kept")
    start()
    st, h, got, _ = b.req("GET", rl6)
    check(st == 200 and got == big, "after the restart the original downloads whole")
    wait_records("portal.release", 1, lambda r: r["data"]["id"] == rid6)
    refused(b.req("GET", rl6), 410, "and only once")
    stop()

    # ------------------------------------------------------------- audit --
    allrec = records()
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in allrec)
    check("zip-pass-ワード" not in text and "sato-pw-1" not in text and "suzuki-pw-2" not in text,
          "no password in any record")
    for ev in ("portal.view", "portal.download", "portal.ppap", "portal.request", "portal.approve", "portal.deny",
               "portal.release", "portal.login", "portal.login_failed", "portal.logout", "portal.refused",
               "portal.revoke", "portal.start", "portal.stop"):
        check(any(r["event"] == ev for r in allrec), "audit event " + ev)
    reasons = {r["data"]["reason"] for r in allrec if r["event"] == "portal.refused"}
    for k in ("not-found", "expired", "revoked", "csrf", "locked-out", "too-many", "too-large", "release-used",
              "release-not-ready", "release-expired", "same-approver", "own-request", "forbidden", "bad-form",
              "integrity", "already-decided", "originals-disabled"):
        check(k in reasons, "refusal recorded: " + k)
    rl = [r for r in allrec if r["event"] == "portal.release"]
    check(rl and rl[0]["data"]["complete"] is True and rl[0]["data"]["bytes"] == len(orig0), "release record")
    check(all(r["component"] == "portal" for r in allrec), "component portal")
    v = subprocess.run([LOGEXPORT, "verify", "--key", KEY, D["audit"]], capture_output=True, text=True, timeout=120)
    check(v.returncode == 0, "sekisho-logexport verify: %s %s" % (v.stdout[-300:], v.stderr[-300:]))
finally:
    if proc and proc.poll() is None:
        proc.kill()
        proc.wait()
    log = open(os.path.join(tmp, "portal.log")).read() if os.path.exists(os.path.join(tmp, "portal.log")) else ""
    if "Sanitizer" in log or "runtime error" in log:
        check(False, "sanitizer report: " + log[-2000:])
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(done())
