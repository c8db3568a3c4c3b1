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


def make_cert(tmp, ip="127.0.0.1"):
    """A self-signed P-256 certificate for ip; returns (cert, key) paths."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:" + ip], check=True, capture_output=True)
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
