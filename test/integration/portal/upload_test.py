#!/usr/bin/env python3
"""sekisho-upload end to end over real TLS, judged by Python's ssl,
http.client, json and hashlib (never by our own parsers).

    upload_test.py BUILD_ROOT

Starts sekisho-upload on 127.0.0.1 with a certificate made by the openssl
CLI.  As root it runs as nobody:nogroup with the inbox in the appliance's
mode (3730, owned by root:nogroup: it can create files there but not list
them), otherwise as the caller.  Checks: login (CSRF-bound pre-session
cookie), the form, an upload of three files -> a complete parcel (the .json
last, every .data's size and SHA-256 equal to what was sent, no .part left);
file names (a bidi override escaped, a long name cut, a path cut);
the caps (a file too big, too many files, too much in all: 413 naming the
cap), a bad recipient, multipart games (no boundary, huge part headers,
nested multipart, a part without a name, CR/LF in a file name), CSRF
(missing, wrong, from another origin), lockout after repeated failures,
accounts added and deleted while the portal runs, and the audit records; then with the default caps a 100 MiB upload streamed
with bounded memory (VmHWM of the process) and a kill -9 in the middle of
an upload: no .json, nothing but .part files, and the restarted portal
takes the next upload.  Bounded loops, no timing in a verdict."""
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptlcheck import check, done, free_port, make_cert  # noqa: E402

BUILD = sys.argv[1]
EXE = os.path.join(BUILD, "sanitizer", "portal", "sekisho-upload")
DOMAIN = "city.example.lg.jp"
RCPT = "sato@" + DOMAIN
PASSWORD = "correct horse battery staple"
ROOT = os.geteuid() == 0

tmp = tempfile.mkdtemp(prefix="sekisho-upload-")
os.chmod(tmp, 0o755)
cert, key = make_cert(tmp)
os.chmod(key, 0o644)  # read by nobody; a test key
state, inbox, adir = (os.path.join(tmp, d) for d in ("state", "inbox", "audit"))
for d in (state, inbox, adir):
    os.mkdir(d)
akey = os.path.join(tmp, "audit.key")
with open(akey, "wb") as f:
    f.write(os.urandom(32))
os.chmod(akey, 0o600)
run_as = []
if ROOT:
    nobody = pwd.getpwnam("nobody")
    for p in (state, adir, akey):
        os.chown(p, nobody.pw_uid, nobody.pw_gid)
    os.chown(inbox, 0, nobody.pw_gid)
    os.chmod(inbox, 0o3730)
    run_as = ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid, "--clear-groups"]

for user in ("yamada", "suzuki"):
    r = subprocess.run(run_as + [EXE, "user", "add", user, "--state", state, "--password-stdin"],
                       input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "user add %s: %s" % (user, r.stderr))
r = subprocess.run(run_as + [EXE, "user", "list", "--state", state], capture_output=True, text=True, timeout=60)
check(r.stdout.split() == ["yamada", "staff", "suzuki", "staff"], "user list: %r" % r.stdout)

ctx = ssl.create_default_context(cafile=cert)
# under AddressSanitizer, freed memory waits in a quarantine (256 MiB by
# default) and would count as the upload's: keep it small
env = dict(os.environ)
env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8"
srv = None
port = 0


def start(*extra):
    global srv, port
    port = free_port()
    srv = subprocess.Popen(run_as + [EXE, "serve", "--listen", "127.0.0.1:%d" % port, "--cert", cert, "--key", key,
                                     "--state", state, "--inbox", inbox, "--audit-dir", adir, "--audit-key", akey,
                                     "--rcpt-domain", DOMAIN, "--rcpt-domain", "town.example.lg.jp"] + list(extra),
                           stderr=subprocess.PIPE, text=True, env=env)
    line = srv.stderr.readline()
    if "listening" not in line:
        print("sekisho-upload did not start: " + line + srv.stderr.read(), file=sys.stderr)
        sys.exit(1)


def stop():
    if srv and srv.poll() is None:
        srv.terminate()
        srv.wait(timeout=30)


def req(method, path, body=None, headers=None, cookies=None):
    h = dict(headers or {})
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    got = {}
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            name, _, rest = v.partition("=")
            got[name] = rest.split(";")[0]
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data, got


def csrf_of(html):
    m = re.search(rb'name="csrf" value="([A-Za-z0-9_-]+)"', html)
    return m.group(1).decode() if m else ""


def login(user, password=PASSWORD):
    st, _, body, ck = req("GET", "/login")
    check(st == 200, "GET /login %d" % st)
    form = urllib.parse.urlencode({"csrf": csrf_of(body), "user": user, "password": password})
    st, h, body, ck2 = req("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}, ck)
    ck.update(ck2)
    return st, h, body, ck


def multipart(fields, files, boundary="----sekishoTestBoundary7MA4YWxk"):
    """fields: [(name, value)], files: [(field, filename, bytes)] -> body, content type"""
    out = []
    for n, v in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, n)).encode()
                   + v.encode() + b"\r\n")
    for n, fn, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n" % (boundary, n, fn)).encode("utf-8")
                   + data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def inbox_names():
    return sorted(os.listdir(inbox))


def upload(ck, csrf, files, rcpt=RCPT, note="見積書です", headers=None, raw=None):
    body, ct = raw if raw else multipart([("csrf", csrf), ("rcpt", rcpt), ("note", note)], files)
    h = {"Content-Type": ct}
    h.update(headers or {})
    return req("POST", "/upload", body, h, ck)


def records(event):
    out = []
    for f in sorted(os.listdir(adir)):
        if f.endswith(".jsonl"):
            for line in open(os.path.join(adir, f), encoding="utf-8"):
                r = json.loads(line)
                if r["event"] == event:
                    out.append(r)
    return out


try:
    # systemd's part (sd_notify, played here): READY=1 once listening, the
    # watchdog at half its interval (issue 16, item 4)
    import socket
    nsock = os.path.join(tmp, "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(nsock)
    os.chmod(nsock, 0o777)  # the server runs as nobody
    ns.settimeout(5)
    env.update(NOTIFY_SOCKET=nsock, WATCHDOG_USEC="1000000")
    # ---------------------------------------------------- small caps --
    start("--max-bytes", "64K", "--max-files", "3", "--max-total", "100K", "--approval", "on")
    del env["NOTIFY_SOCKET"], env["WATCHDOG_USEC"]
    got = []
    try:
        while sum("WATCHDOG=1" in m for m in got) < 2:
            got.append(ns.recv(4096).decode())
    except socket.timeout:
        pass
    ns.close()
    check(got and got[0].startswith("READY=1\nSTATUS=accepting uploads on 127.0.0.1:") and
          sum("WATCHDOG=1" in m for m in got) >= 2, "systemd: READY=1 with STATUS, then watchdog pings: %s" % got[:3])
    st, h, _, _ = req("GET", "/")
    check(st == 303 and h.get("location") == "/login", "the form needs a login: %d %s" % (st, h.get("location")))
    st, h, body, ck = login("yamada")
    check(st == 303 and h.get("location") == "/", "login %d" % st)
    check("__Host-sekisho-upload" in ck, "session cookie %r" % list(ck))
    st, h, body, _ = req("GET", "/", cookies=ck)
    check(st == 200 and b'enctype="multipart/form-data"' in body, "form %d" % st)
    for name in (b'name="csrf"', b'name="rcpt"', b'name="note"', b'name="file"', b"<label for=\"rcpt\">"):
        check(name in body, "form has %r" % name)
    check(b"<script" not in body and b"http://" not in body, "no script, no external resource")
    check("default-src 'none'" in h.get("content-security-policy", ""), "CSP")
    check(body.index(b'name="csrf"') < body.index(b'name="file"'), "csrf before the files in the form")
    csrf = csrf_of(body)
    st, _, body_en, _ = req("GET", "/", headers={"Accept-Language": "en-US,en;q=0.9"}, cookies=ck)
    check(b"Send files to LGWAN" in body_en and b'lang="en"' in body_en, "English by Accept-Language")
    check("LGWAN へファイルを送る".encode() in body, "Japanese first")

    # three files -> one complete parcel
    files = [("file", "見積書.xlsx", os.urandom(50000)), ("file", "C:\\Users\\y\\memo.txt", b"hello\r\n--x\r\n"),
             ("file", "empty.bin", b"")]
    st, _, body, _ = upload(ck, csrf, files)
    check(st == 200, "upload of 3 files: %d %s" % (st, body[:300]))
    names = inbox_names()
    js = [n for n in names if n.endswith(".json")]
    check(len(js) == 1 and not [n for n in names if n.endswith(".part")], "one parcel, no .part: %r" % names)
    pid = js[0][:-5] if js else ""
    check(re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]{16}", pid) is not None, "parcel id %r" % pid)
    check(pid.encode() in body, "the result page names the parcel")
    meta = json.load(open(os.path.join(inbox, js[0]), encoding="utf-8")) if js else {}
    check(meta.get("v") == 1 and meta.get("id") == pid and meta.get("uploader") == "yamada", "meta %r" % meta)
    check(meta.get("rcpt") == RCPT and meta.get("note") == "見積書です" and meta.get("approval") is True, "meta fields")
    check(meta.get("peer") == "127.0.0.1", "peer %r" % meta.get("peer"))
    mf = meta.get("files", [])
    check([f["name"] for f in mf] == ["見積書.xlsx", "memo.txt", "empty.bin"], "names %r" % mf)
    for i, (_, _, data) in enumerate(files):
        p = os.path.join(inbox, "%s.%d.data" % (pid, i))
        got = open(p, "rb").read() if os.path.exists(p) else None
        check(got == data, "file %d bytes" % i)
        check(i < len(mf) and mf[i]["bytes"] == len(data) and mf[i]["sha256"] == hashlib.sha256(data).hexdigest()
              and mf[i]["n"] == i, "file %d metadata" % i)
        check(hashlib.sha256(data).hexdigest().encode() in body, "result page shows file %d's SHA-256" % i)
    check(len(names) == 4, "nothing else in the inbox: %r" % names)

    # file names: a bidi override shown escaped, a long name cut to 255 bytes
    # of UTF-8, a Unix path cut to its last component
    st, _, body, _ = upload(ck, csrf, [("file", "請求書\u202efdp.exe", b"1"), ("file", "あ" * 400 + ".txt", b"2"),
                                       ("file", "../../etc/passwd", b"3")])
    check(st == 200, "odd names: %d" % st)
    js2 = [n for n in inbox_names() if n.endswith(".json") and n != js[0]]
    meta2 = json.load(open(os.path.join(inbox, js2[0]), encoding="utf-8")) if len(js2) == 1 else {"files": []}
    n2 = [f["name"] for f in meta2["files"]]
    check(len(n2) == 3 and n2[0] == "請求書<U+202E>fdp.exe", "bidi override escaped: %r" % n2[:1])
    check(len(n2) == 3 and len(n2[1].encode()) <= 255 and n2[1].startswith("あああ"), "long name cut: %r" % n2[1:2])
    check(len(n2) == 3 and n2[2] == "passwd", "path cut: %r" % n2[2:])
    check("&lt;U+202E&gt;".encode() in body and "\u202e".encode() not in body,
          "the result page shows the escape (HTML-escaped, no override character)")
    before = inbox_names()

    def refused(what, res, status, text=None):
        st, _, body, _ = res
        check(st == status, "%s: status %d, want %d" % (what, st, status))
        if text:
            check(text.encode() in body, "%s: page says %r: %s" % (what, text, body[:400]))
        check(inbox_names() == before, "%s: inbox unchanged: %r" % (what, inbox_names()))

    refused("file too big", upload(ck, csrf, [("file", "a.bin", b"x" * (64 * 1024 + 1))]), 413, "64 KiB")
    refused("too many files", upload(ck, csrf, [("file", "f%d" % i, b"x") for i in range(4)]), 413)
    refused("too much in all", upload(ck, csrf, [("file", "f%d" % i, b"x" * 60000) for i in range(2)]), 413,
            "100 KiB")
    refused("bad recipient domain", upload(ck, csrf, [("file", "a", b"x")], rcpt="x@evil.example"), 400,
            DOMAIN)
    refused("recipient with a display name", upload(ck, csrf, [("file", "a", b"x")], rcpt="Sato <%s>" % RCPT), 400)
    refused("recipient with CR/LF", upload(ck, csrf, [("file", "a", b"x")], rcpt=RCPT + "\r\nBcc: x@evil.example"),
            400)
    body, _ = multipart([("csrf", csrf), ("rcpt", RCPT)], [("file", "a", b"x")])
    refused("no boundary", upload(ck, csrf, None, raw=(body, "multipart/form-data")), 400)
    refused("not multipart", upload(ck, csrf, None, raw=(body, "text/plain")), 400)
    big = ("--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\nX-Pad: %s\r\n\r\n%s\r\n--B--\r\n"
           % ("p" * 20000, csrf)).encode()
    refused("huge part headers", upload(ck, csrf, None, raw=(big, "multipart/form-data; boundary=B")), 400)
    head = ("--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n--B\r\nContent-Disposition: "
            "form-data; name=\"rcpt\"\r\n\r\n%s\r\n" % (csrf, RCPT)).encode()
    nested = head + (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n"
                     b"Content-Type: multipart/mixed; boundary=C\r\n\r\n--C\r\n\r\nx\r\n--C--\r\n--B--\r\n")
    refused("nested multipart", upload(ck, csrf, None, raw=(nested, "multipart/form-data; boundary=B")), 400)
    noname = head + b"--B\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--B--\r\n"
    refused("a part without a name", upload(ck, csrf, None, raw=(noname, "multipart/form-data; boundary=B")), 400)
    crlf = head + b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\r\nb.txt\"\r\n\r\nx\r\n--B--\r\n"
    refused("CR/LF in a file name", upload(ck, csrf, None, raw=(crlf, "multipart/form-data; boundary=B")), 400)
    # huge HTTP request headers: the server's header memory cap answers (or
    # closes), and nothing is written
    try:
        st, _, _, _ = upload(ck, csrf, [("file", "a", b"x")], headers={"X-Pad": "p" * 100000})
    except (OSError, http.client.HTTPException):
        st = 0
    check(st == 0 or 400 <= st < 500, "huge request headers: %d" % st)
    check(inbox_names() == before, "huge request headers: inbox unchanged")
    cut = head + b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nxyz"
    refused("a body cut short", upload(ck, csrf, None, raw=(cut, "multipart/form-data; boundary=B")), 400)

    # CSRF: none, wrong, another origin, another session's
    nocsrf = multipart([("rcpt", RCPT)], [("file", "a", b"x")])
    refused("no csrf", upload(ck, csrf, None, raw=nocsrf), 403)
    refused("wrong csrf", upload(ck, "A" * 43, [("file", "a", b"x")]), 403)
    refused("another origin", upload(ck, csrf, [("file", "a", b"x")], headers={"Origin": "https://evil.example"}),
            403)
    refused("cross-site fetch", upload(ck, csrf, [("file", "a", b"x")], headers={"Sec-Fetch-Site": "cross-site"}),
            403)
    st, _, _, ck_s = login("suzuki")
    check(st == 303, "second user logs in")
    refused("another session's csrf", upload(ck_s, csrf, [("file", "a", b"x")]), 403)
    refused("no session", upload({}, csrf, [("file", "a", b"x")]), 403)
    form = urllib.parse.urlencode({"user": "yamada", "password": PASSWORD})
    st, _, _, ck_x = req("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    check(st == 403 and "__Host-sekisho-upload" not in ck_x, "login without csrf refused: %d" % st)

    # logout ends the session
    st, _, body, _ = req("GET", "/", cookies=ck_s)
    st, h, _, _ = req("POST", "/logout", urllib.parse.urlencode({"csrf": csrf_of(body)}),
                      {"Content-Type": "application/x-www-form-urlencoded"}, ck_s)
    check(st == 303 and h.get("location") == "/login", "logout %d" % st)
    st, h, _, _ = req("GET", "/", cookies=ck_s)
    check(st == 303, "the old session is gone: %d" % st)

    # lockout: five wrong passwords lock suzuki, then even the right one is refused
    for i in range(5):
        st, _, body, _ = login("suzuki", "wrong %d" % i)
        check(st == 401, "wrong password %d: %d" % (i, st))
    st, _, body, ck_l = login("suzuki")
    check(st == 429 and "__Host-sekisho-upload" not in ck_l, "locked out: %d" % st)
    st, _, _, _ = login("yamada")
    check(st == 303, "another user is not locked: %d" % st)

    # accounts changed while the portal runs take effect at the next login
    def user(*args):
        return subprocess.run(run_as + [EXE, "user"] + list(args) + ["--state", state, "--password-stdin"],
                              input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    check(user("add", "kato").returncode == 0, "user add while running")
    st, _, _, _ = login("kato")
    check(st == 303, "a new account logs in without a restart: %d" % st)
    check(user("del", "kato").returncode == 0, "user del while running")
    st, _, _, _ = login("kato")
    check(st == 401, "a deleted account does not: %d" % st)
    check(user("add", "yamada").returncode != 0, "user add of an existing name fails")

    # audit records, read as JSON
    stop()
    rec = [r for r in records("upload.received") if r["data"]["id"] == pid]
    check(len(records("upload.received")) == 2, "two upload.received")
    check(len(rec) == 1 and rec[0]["data"]["id"] == pid and rec[0]["data"]["rcpt"] == RCPT
          and rec[0]["data"]["uploader"] == "yamada" and rec[0]["data"]["note"] == "見積書です",
          "upload.received %r" % rec)
    if rec:
        fl = rec[0]["data"]["files"]
        check([(f["name"], f["bytes"], f["sha256"]) for f in fl]
              == [(m["name"], m["bytes"], m["sha256"]) for m in mf], "upload.received files")
    check(len(records("upload.login")) >= 3, "upload.login")
    lf = records("upload.login_failed")
    check(len(lf) == 7 and lf[5]["data"]["reason"] == "locked" and lf[4]["data"]["lockout"] is True,
          "upload.login_failed %r" % [r["data"] for r in lf])
    reasons = [r["data"]["reason"] for r in records("upload.refused")]
    for want in ("file-too-big", "too-many-files", "total-too-big", "rcpt-domain", "rcpt-syntax", "mp-content-type",
                 "mp-header-too-long", "mp-nested", "mp-no-name", "mp-syntax", "mp-truncated", "csrf", "session"):
        check(want in reasons, "upload.refused %s in %r" % (want, reasons))
    r = subprocess.run(run_as + [os.path.join(BUILD, "tools", "logexport", "sekisho-logexport"), "verify", "--key",
                                 akey, adir],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "the audit chain verifies: %s" % (r.stdout[-300:] + r.stderr[-300:]))

    # ------------------------------------------- default caps: 100 MiB --
    for n in inbox_names():
        os.unlink(os.path.join(inbox, n))
    start()
    st, _, _, ck = login("yamada")
    st, _, body, _ = req("GET", "/", cookies=ck)
    csrf = csrf_of(body)
    size = 100 << 20
    head, ct = multipart([("csrf", csrf), ("rcpt", RCPT)], [])
    head = head[:-len(b"--%s--\r\n" % ct.split("=")[1].encode())]
    bnd = ct.split("=")[1]
    head += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n" % bnd).encode()
    tail = ("\r\n--%s--\r\n" % bnd).encode()
    sha = hashlib.sha256()

    def chunks(total, limit=None):
        yield head
        block = bytes(range(256)) * 4096  # 1 MiB
        sent = 0
        while sent < total:
            n = min(len(block), total - sent)
            sha.update(block[:n])
            yield block[:n]
            sent += n
            if limit is not None and sent >= limit:
                return
        yield tail

    def stream(total, limit=None, sent=None, hold=None):
        """POST a file of total bytes; with limit, stop sending after limit
        bytes, set sent and keep the connection open until hold is set"""
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
        c.putrequest("POST", "/upload")
        c.putheader("Content-Type", ct)
        c.putheader("Content-Length", str(len(head) + total + len(tail)))
        c.putheader("Cookie", "; ".join("%s=%s" % kv for kv in ck.items()))
        c.endheaders()
        try:
            for piece in chunks(total, limit):
                c.send(piece)
            if limit is not None:
                sent.set()
                hold.wait(120)
                return None
            r = c.getresponse()
            return r.status, r.read()
        except OSError:
            return None
        finally:
            if sent:
                sent.set()
            c.close()

    def hwm():
        for line in open("/proc/%d/status" % srv.pid):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return -1

    base = hwm()
    res = stream(size)
    peak = hwm()
    check(res is not None and res[0] == 200, "100 MiB upload: %r" % (res and res[0]))
    js = [n for n in inbox_names() if n.endswith(".json")]
    check(len(js) == 1, "the 100 MiB parcel")
    if js:
        meta = json.load(open(os.path.join(inbox, js[0]), encoding="utf-8"))
        check(meta["files"][0]["bytes"] == size and meta["files"][0]["sha256"] == sha.hexdigest(),
              "100 MiB: size and SHA-256")
        check(meta["approval"] is False, "approval off by default")
    print("sekisho-upload VmHWM: %d KiB before, %d KiB after a 100 MiB upload" % (base, peak))
    check(0 < base and peak - base < 32 * 1024, "bounded memory: VmHWM %d KiB -> %d KiB" % (base, peak))

    # kill -9 in the middle of an upload: only .part files remain
    for n in inbox_names():
        os.unlink(os.path.join(inbox, n))
    sha = hashlib.sha256()
    sent, hold = threading.Event(), threading.Event()
    t = threading.Thread(target=stream, args=(50 << 20, 20 << 20, sent, hold))
    t.start()
    sent.wait(120)
    # the server has written something of it (bounded wait, no timing verdict)
    for _ in range(600):
        parts = [n for n in inbox_names() if n.endswith(".part")]
        if parts and os.path.getsize(os.path.join(inbox, parts[0])) > 0:
            break
        threading.Event().wait(0.05)
    srv.kill()
    srv.wait()
    hold.set()
    t.join(120)
    names = inbox_names()
    check(names and all(n.startswith(".") and n.endswith(".part") for n in names),
          "after kill -9 only .part files: %r" % names)
    # restarted, the portal takes the next upload
    start()
    st, _, _, ck = login("yamada")
    st, _, body, _ = req("GET", "/", cookies=ck)
    st, _, body, _ = upload(ck, csrf_of(body), [("file", "after.txt", b"after the crash")])
    check(st == 200, "an upload after the restart: %d" % st)
    check(len([n for n in inbox_names() if n.endswith(".json")]) == 1, "one parcel after the restart")
finally:
    stop()
    if srv and srv.poll() is None:
        srv.kill()
    shutil.rmtree(tmp, ignore_errors=True)
done()
