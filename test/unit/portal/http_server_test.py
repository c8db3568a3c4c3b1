#!/usr/bin/env python3
"""ptl_http's server over real TLS, judged by Python's ssl and http.client.

Starts http_server (test/unit/portal/http_server.c) on 127.0.0.1 with a
certificate made by the openssl CLI and checks: TLS 1.2+ only, the security
headers on every response (pages, refusals, the style sheet), the router
(404/405, traversal), the form cap (413 from Content-Length), a bad form
(400), a streamed body through the body hook, cookies both ways, the
language, and the connection caps and timeout (a silent client is closed;
bounded loops, no timing in a verdict)."""
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integration", "portal"))
from ptlcheck import Client, check, done, free_port, make_cert  # noqa: E402

SERVER = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="ptl-http-")
cert, key = make_cert(tmp)
port = free_port()
srv = subprocess.Popen([SERVER, cert, key, "127.0.0.1:%d" % port], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, text=True)
line = srv.stdout.readline()
if line.strip() != "ready":
    print("server did not start", file=sys.stderr)
    sys.exit(1)

client = Client("127.0.0.1", port, cert)
ctx = client.ctx
req = client.req

SEC = {
    "content-security-policy": "default-src 'none'",
    "strict-transport-security": "max-age=",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def secure(hdrs, what):
    for k, v in SEC.items():
        check(k in hdrs and v in hdrs[k], "%s: header %s (%s)" % (what, k, hdrs.get(k)))
    check("frame-ancestors 'none'" in hdrs.get("content-security-policy", ""), what + ": frame-ancestors")
    check("script" not in hdrs.get("content-security-policy", ""), what + ": no script source")


try:
    st, h, body, _ = req("GET", "/hello/abc")
    check(st == 200, "hello status %d" % st)
    check(b"<h1>abc</h1>" in body and b"lang=ja" in body and b'lang="ja"' in body, "hello body")
    check(b"peer=127.0.0.1" in body, "peer")
    secure(h, "page")
    st, h, body, _ = req("GET", "/hello/abc", headers={"Accept-Language": "en-US,en;q=0.9,ja;q=0.5"})
    check(b"lang=en" in body and b'lang="en"' in body, "english")
    st, h, body, _ = req("GET", "/style.css")
    check(st == 200 and h["content-type"].startswith("text/css"), "style sheet")
    secure(h, "css")
    for path in ["/nothing", "/hello/", "/hello/a/b", "/hello/..", "/hello/%2e%2e", "/hello/a%2fb",
                 "/hello/a%0d%0aSet-Cookie:x=1", "/../../etc/passwd"]:
        st, h, body, cookies = req("GET", path)
        check(st == 404, "%s: %d" % (path, st))
        check(not cookies, path + ": no cookie")
        secure(h, "refusal " + path)
    st, h, _, _ = req("POST", "/hello/abc")
    check(st == 405, "method: %d" % st)
    secure(h, "405")

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    st, h, body, _ = req("POST", "/form", "a=%3Cb%3E&b=%E6%97%A5", form)
    check(st == 200 and b"<p>a=&lt;b&gt;</p>" in body and "<p>b=日</p>".encode() in body, "form echo")
    check(b"same-origin=1" in body, "no Origin: same-origin")
    st, h, body, _ = req("POST", "/form", "a=1", dict(form, Origin="https://evil.example"))
    check(b"same-origin=0" in body, "foreign Origin")
    st, h, body, _ = req("POST", "/form", "a=1", dict(form, Origin="https://127.0.0.1:%d" % port))
    check(b"same-origin=1" in body, "own Origin")
    st, h, body, _ = req("POST", "/form", "a=1", dict(form, **{"Sec-Fetch-Site": "cross-site"}))
    check(b"same-origin=0" in body, "Sec-Fetch-Site cross-site")
    # a browser's own form POST under Referrer-Policy: no-referrer (found by the browser harness)
    st, h, body, _ = req("POST", "/form", "a=1", dict(form, Origin="null", **{"Sec-Fetch-Site": "same-origin"}))
    check(b"same-origin=1" in body, "Origin null with Sec-Fetch-Site same-origin (a browser under no-referrer)")
    st, h, body, _ = req("POST", "/form", "a=1", dict(form, Origin="null"))
    check(b"same-origin=0" in body, "Origin null alone")
    st, h, body, _ = req("POST", "/form", "a=1", dict(form, Origin="null", **{"Sec-Fetch-Site": "cross-site"}))
    check(b"same-origin=0" in body, "Origin null, cross-site")
    st, h, _, _ = req("POST", "/form", "a=1&a=2", form)
    check(st == 400, "duplicate field: %d" % st)
    st, h, _, _ = req("POST", "/form", "a=1", {"Content-Type": "text/plain"})
    check(st == 400, "not urlencoded: %d" % st)
    st, h, _, _ = req("POST", "/form", "a=" + "x" * 2000, form)
    check(st == 413, "over the body cap: %d" % st)
    secure(h, "413")

    big = os.urandom(300000)
    st, h, body, _ = req("POST", "/stream", big, {"Content-Type": "application/octet-stream"})
    check(st == 200 and body == b"300000\n", "stream: %d %r" % (st, body[:20]))
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.putrequest("POST", "/stream")
    c.putheader("Content-Length", str(2 << 20))
    c.endheaders()
    r = c.getresponse()
    check(r.status == 413, "declared body over the route cap: %d" % r.status)
    c.close()

    # headers past the connection's memory (8 KiB here): refused by
    # libmicrohttpd itself, the server goes on
    try:
        st, h, _, _ = req("GET", "/hello/big", headers={"X-Big": "x" * 20000})
    except (http.client.HTTPException, OSError):
        st = None
    check(st is None or st in (413, 414, 431), "oversized headers: %r" % st)
    check(req("GET", "/hello/after")[0] == 200, "served after oversized headers")

    # a chunked body past the cap (no Content-Length to refuse early): the
    # connection is closed, the handler never runs
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        c.request("POST", "/form", body=iter([b"a=" + b"x" * 1000, b"y" * 1000]),
                  headers={"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"},
                  encode_chunked=True)
        r = c.getresponse()
        got = r.status
    except (http.client.HTTPException, OSError):
        got = None
    check(got is None or got == 413, "chunked body over the cap: %r" % got)
    c.close()
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("POST", "/stream", body=iter([b"x" * 5000, b"y" * 5000]), headers={"Transfer-Encoding": "chunked"},
              encode_chunked=True)
    r = c.getresponse()
    body = r.read()
    c.close()
    check(r.status == 200 and body == b"10000\n", "chunked stream under its cap: %r" % body)

    st, h, body, cookies = req("GET", "/cookie", headers={"Cookie": "__Host-t=abc"})
    check(body == b"0 abc\n", "cookie read %r" % body)
    check(cookies == ["__Host-t=v1; Path=/; Secure; HttpOnly; SameSite=Strict"], "set-cookie %r" % cookies)
    st, h, body, _ = req("GET", "/cookie", headers={"Cookie": "__Host-t=a; __Host-t=b"})
    check(body.startswith(b"-22 "), "planted duplicate cookie refused %r" % body)

    # TLS: 1.0/1.1 refused, 1.2 and 1.3 accepted
    for v, ok in [(ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_3, True)]:
        c2 = ssl.create_default_context(cafile=cert)
        c2.minimum_version = c2.maximum_version = v
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                with c2.wrap_socket(s, server_hostname="127.0.0.1") as t:
                    check(t.version() in ("TLSv1.2", "TLSv1.3"), "version %s" % t.version())
        except (ssl.SSLError, OSError) as e:
            check(not ok, "TLS %s: %s" % (v, e))
    # plain HTTP is not answered as HTTP
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /hello/a HTTP/1.0\r\n\r\n")
        try:
            data = s.recv(100)
        except OSError:
            data = b""
        check(not data.startswith(b"HTTP/"), "plain HTTP refused: %r" % data[:20])

    # per-IP cap (4): open TLS connections that say nothing; the next ones
    # are refused, and the silent ones are closed by the timeout (3 s)
    held = []
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        held.append(ctx.wrap_socket(s, server_hostname="127.0.0.1"))
    refused = False
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        t.sendall(b"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n")
        refused = t.recv(100) == b""
        t.close()
    except (ssl.SSLError, OSError):
        refused = True
    check(refused, "fifth connection from one address refused")
    closed = 0
    for t in held:
        try:
            t.settimeout(20)
            closed += t.recv(10) == b""
        except (ssl.SSLError, OSError):
            closed += 1
        t.close()
    check(closed == 4, "silent connections closed by the server: %d" % closed)
    st, _, _, _ = req("GET", "/hello/again")
    check(st == 200, "served again after the slow clients: %d" % st)
finally:
    srv.stdin.close()
    srv.wait(timeout=30)
    shutil.rmtree(tmp)
sys.exit(done())
