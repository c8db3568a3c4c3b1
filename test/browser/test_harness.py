#!/usr/bin/env python3
"""browser-harness: the browser harness proven against a tiny local HTTPS
server (Python's http.server and ssl, a throw-away self-signed certificate):
headless chromium opens a Japanese form, fills it by label and by name,
submits it with the button found by its role and name, the server sees the
fields and the cookie comes back on the next page; a link downloads a file
whose bytes equal the server's (Content-Disposition with an RFC 5987 name,
the name chromium suggests is the Japanese one); a URL that answers with an
attachment downloads too; a screenshot is a PNG of the viewport's width
(judged by Python's zlib/struct, not by the driver); cookies carry from one
run to the next through the state file; without --ignore-https-errors the
self-signed certificate is refused; a server that never answers and a
missing label fail within the step's bound, with the step named.

    test_harness.py"""
import hashlib
import http.server
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402

failures = []
DATA = os.urandom(300000)
NAME = "報告書 (2026).pdf"
SEEN = {}

FORM = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>ログイン / Log in</title></head>
<body><h1>ログイン</h1><form method="post" action="/login">
<label for="u">利用者名 / User</label><input id="u" name="user" autocomplete="username">
<label for="p">パスワード / Password</label><input id="p" name="password" type="password">
<input type="hidden" name="csrf" value="tok123">
<button type="submit">ログイン / Log in</button></form></body></html>"""


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="text/html; charset=utf-8", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/":
            self.send(200, FORM.encode())
        elif self.path == "/files":
            who = SEEN.get("cookie_on_files") or self.headers.get("Cookie", "")
            SEEN["cookie_on_files"] = who
            self.send(200, f"""<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>ファイル</title></head>
<body><p>ようこそ {SEEN.get('user', '?')} さん</p><a href="/dl/0">{NAME}</a></body></html>""".encode())
        elif self.path == "/dl/0":
            q = urllib.parse.quote(NAME)
            self.send(200, DATA, "application/pdf",
                      [("Content-Disposition", f"attachment; filename=\"report.pdf\"; filename*=UTF-8''{q}")])
        elif self.path == "/whoami":
            self.send(200, f"<!doctype html><title>w</title><p>cookie={self.headers.get('Cookie', '')}</p>".encode())
        elif self.path == "/stall":
            time.sleep(30)          # never answers within the step's bound
        else:
            self.send(404, b"not found")

    def do_POST(self):
        n = min(int(self.headers.get("Content-Length", "0")), 65536)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        SEEN["user"] = form.get("user", [""])[0]
        SEEN["password"] = form.get("password", [""])[0]
        SEEN["csrf"] = form.get("csrf", [""])[0]
        self.send(303, b"", headers=[("Location", "/files"), ("Set-Cookie", "sid=abc; HttpOnly; Secure; SameSite=Strict")])


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def png_size(path):
    """(width, height) of a PNG, checked as one (signature, IHDR, CRC)."""
    with open(path, "rb") as f:
        head = f.read(33)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    if zlib.crc32(head[12:29]) != struct.unpack(">I", head[29:33])[0]:
        return None
    return struct.unpack(">II", head[16:24])


def main():
    why = browser.available()
    if why:
        print(f"skipped: {why}")
        return 77 if os.environ.get("CI") != "true" else 1
    with tempfile.TemporaryDirectory(prefix="sekisho-browser-") as d:
        return run(d)


def run(d):
    crt, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"https://127.0.0.1:{srv.server_address[1]}"
    b = browser.Browser(step_ms=8000, total_ms=60000)
    shot, dl, dl2, state = (os.path.join(d, n) for n in ("form.png", "dl.bin", "dl2.bin", "state.json"))

    t0 = time.monotonic()
    r = b.run([{"goto": base + "/"},
               {"expect_text": "利用者名"},
               {"screenshot": shot},
               {"fill": {"label": "利用者名 / User"}, "value": "山田"},
               {"fill": {"name": "password"}, "value": "pw 1&2"},
               {"click": {"role": "button", "name": "ログイン / Log in"}, "navigate": True},
               {"text": True},
               {"download": {"text": NAME, "exact": True}, "path": dl},
               {"download_url": base + "/dl/0", "path": dl2}], state=state)
    print(f"  one run: {time.monotonic() - t0:.1f} s")
    res = r.get("results", [])
    check(r.get("ok"), f"the job runs to its end ({r.get('error')}, step {r.get('step')})")
    if not r.get("ok"):
        return 1
    check(res[0]["status"] == 200 and res[0]["title"] == "ログイン / Log in", f"goto: status and title ({res[0]})")
    check(SEEN.get("user") == "山田" and SEEN.get("password") == "pw 1&2" and SEEN.get("csrf") == "tok123",
          f"the server got the fields filled by label and by name, and the hidden csrf ({SEEN})")
    check(res[5]["url"] == base + "/files" and res[5]["status"] == 200,
          f"the button submits, the redirect is followed ({res[5]})")
    check("ようこそ 山田 さん" in res[6]["text"] and "sid=abc" in SEEN.get("cookie_on_files", ""),
          "the next page shows the user; the Secure/HttpOnly cookie came back")
    for name, path, step in (("link", dl, res[7]), ("URL", dl2, res[8])):
        with open(path, "rb") as f:
            got = f.read()
        check(hashlib.sha256(got).digest() == hashlib.sha256(DATA).digest() and step["suggested"] == NAME,
              f"download by {name}: the server's bytes, the RFC 5987 name ({step['suggested']}, {len(got)} bytes)")
    size = png_size(shot)
    check(size is not None and size[0] == 1024 and size[1] >= 100, f"screenshot: a PNG 1024 px wide ({size})")

    r = b.run([{"goto": base + "/whoami"}, {"text": True}], state=state)
    check(r.get("ok") and "cookie=sid=abc" in r["results"][1]["text"], "the state file carries the cookie to the next run")

    r = browser.Browser(ignore_https_errors=False, step_ms=8000).run([{"goto": base + "/"}])
    check(not r.get("ok") and r.get("step") == 0 and "CERT" in r.get("error", "").upper(),
          f"without ignore_https_errors the self-signed certificate is refused ({r.get('error', '')[:80]})")

    t0 = time.monotonic()
    r = browser.Browser(step_ms=2000).run([{"goto": base + "/"}, {"goto": base + "/stall"}])
    took = time.monotonic() - t0
    check(not r.get("ok") and r.get("step") == 1 and "Timeout" in r.get("error", "") and took < 30,
          f"a server that never answers fails at its step within the bound ({took:.1f} s, {r.get('error', '')[:60]})")
    r = browser.Browser(step_ms=1500).run([{"goto": base + "/"}, {"fill": {"label": "存在しない欄"}, "value": "x"}])
    check(not r.get("ok") and r.get("step") == 1, f"a missing label fails its step ({r.get('error', '')[:60]})")
    t0 = time.monotonic()
    r = browser.Browser(step_ms=20000, total_ms=3000).run([{"goto": base + "/stall"}])
    took = time.monotonic() - t0
    check(not r.get("ok") and "more than 3000 ms" in r.get("error", "") and took < 15,
          f"the whole job is bounded ({took:.1f} s, {r.get('error', '')[:60]})")
    r = b.run("not a list")
    check(not r.get("ok") and "bad job" in r.get("error", ""), "a bad job is refused")
    srv.shutdown()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
