"""The portal tests' shared helpers: check()/done() (the CDR tests' counting
helper, test/integration/cdr/cdrcheck.py), free_port() (the Postfix
harness's), a test certificate made by the openssl CLI, and an HTTPS
request through Python's http.client + ssl that returns everything a test
judges (status, headers, body, Set-Cookie values)."""
import http.client
import os
import ssl
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cdr"))
sys.path.insert(0, os.path.join(HERE, "..", "sanitizer"))
from cdrcheck import check, done  # noqa: E402,F401
from pfharness import free_port  # noqa: E402,F401


def make_cert(tmp, ips=("127.0.0.1", "::1")):
    """A self-signed P-256 certificate for the addresses ips; returns (cert, key) paths."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=" + ",".join("IP:" + ip for ip in ips)], check=True, capture_output=True)
    return cert, key


class Client:
    """HTTPS requests to one server, trusting only its test certificate."""

    def __init__(self, host, port, cert):
        self.host, self.port = host, port
        self.ctx = ssl.create_default_context(cafile=cert)

    def req(self, method, path, body=None, headers=None):
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
        c.close()
        return r.status, hdrs, data, cookies


class Browser:
    """A browser's part the tests need: cookies kept from Set-Cookie (and
    dropped by Max-Age=0), urlencoded forms, an optional source address on
    the loopback (127.0.0.x) so that per-address throttles stay apart."""

    def __init__(self, host, port, cert, source=None):
        self.host, self.port, self.source = host, port, source
        self.ctx = ssl.create_default_context(cafile=cert)
        self.cookies = {}

    def req(self, method, path, form=None, headers=None, raw=None):
        import urllib.parse
        hdrs = dict(headers or {})
        if self.cookies and "Cookie" not in hdrs:
            hdrs["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        body = raw
        if form is not None:
            body = urllib.parse.urlencode(form)
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30,
                                        source_address=(self.source, 0) if self.source else None)
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        h = {k.lower(): v for k, v in r.getheaders()}
        sc = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
        c.close()
        for v in sc:
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in v:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return r.status, h, data, sc
