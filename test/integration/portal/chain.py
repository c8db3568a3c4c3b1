#!/usr/bin/env python3
"""The appliance's whole file path in network namespaces, for the portal's
end-to-end and browser tests, the demo and the benchmark.

Topology (every address from 198.18.0.0/15, every namespace made here and
removed by close()):

    ns lgwan (198.18.20.10) ── veth ── ns gw: 198.18.20.1 (LGWAN side)
    ns inet  (198.18.30.10) ── veth ── ns gw: 198.18.30.1 (Internet side)

Everything of the appliance runs inside ns gw, as on the box: a private
Postfix (firmware/postfix/{main,master}.cf, loopback ports only) with
sekisho-milter, the LGWAN mailbox sink, sekisho-cdrd, sekisho-portal on
198.18.20.1 and sekisho-upload on 198.18.30.1.  The caller runs clients in
ns lgwan or ns inet (Chain.run_in / Chain.popen_in); mail is submitted to
Postfix from inside gw (Chain.send_mail).

The whole Python process enters ns gw itself (setns) once the namespaces
exist, so the sink thread, Postfix and the daemons share gw's loopback.

Processes run as root here; the users, groups and modes of the appliance
(docs/portal.md) are the firmware's and are tested by the firmware tests."""
import ctypes
import json
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "sanitizer"))
import netns  # noqa: E402
import pfharness  # noqa: E402

LGWAN_GW, LGWAN_HOST = "198.18.20.1", "198.18.20.10"
INET_GW, INET_HOST = "198.18.30.1", "198.18.30.10"
PORTAL_PORT = 8443
UPLOAD_PORT = 8444
CLONE_NEWNET = 0x40000000


def setns(path):
    """Move this thread into the network namespace at path (a file of
    /run/netns or /proc/PID/ns/net)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + path)
    finally:
        os.close(fd)


def make_cert(directory, cn, addrs):
    """A self-signed test certificate (openssl CLI) for the given IPs."""
    key, crt = os.path.join(directory, cn + ".key"), os.path.join(directory, cn + ".crt")
    san = ",".join("IP:" + a for a in addrs)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + cn, "-addext",
                    "subjectAltName=" + san], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return crt, key


def make_key(path):
    with open(path, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(path, 0o600)


class Chain:
    def __init__(self, root, build, tag="pt", portal_opts=(), upload_opts=(), cdrd_opts=(), milter_opts=()):
        """root: a fresh directory for everything; build: the build tree
        (the programs are found there)."""
        self.root, self.build = os.path.abspath(root), build
        self.lab = netns.Lab(tag)
        self.procs = {}
        self.pf = self.sink = self.milter = None
        self.extra = {"portal": list(portal_opts), "upload": list(upload_opts), "cdrd": list(cdrd_opts),
                      "milter": list(milter_opts)}
        d = self.dirs = {}
        for name in ("quarantine", "copies", "links", "releases", "inbox", "transfer", "cdr-queue",
                     "portal-queue", "portal", "upload", "audit-milter", "audit-cdr", "audit-portal",
                     "audit-upload", "certs", "sink", "postfix", "logs"):
            d[name] = os.path.join(self.root, name)
            os.makedirs(d[name], exist_ok=True)
        os.chmod(d["quarantine"], 0o700)
        for q in ("cdr-queue", "portal-queue"):
            for sub in ("tmp", "new", "cur", "bad"):
                os.makedirs(os.path.join(d[q], sub), exist_ok=True)
        self.keys = {}
        for c in ("milter", "cdr", "portal", "upload"):
            self.keys[c] = os.path.join(self.root, "audit-%s.key" % c)
            make_key(self.keys[c])
        # Postfix's own users traverse it (its data and queue directories)
        os.chmod(self.root, 0o755)
        self.portal_url = "https://%s:%d" % (LGWAN_GW, PORTAL_PORT)
        self.upload_url = "https://%s:%d" % (INET_GW, UPLOAD_PORT)

    # ---------------------------------------------------------- programs --
    def exe(self, rel):
        p = os.path.join(self.build, rel)
        if not os.path.exists(p):
            raise FileNotFoundError(p)
        return p

    def start(self):
        self.gw = self.lab.ns("gw")
        self.lgwan = self.lab.ns("lgwan")
        self.inet = self.lab.ns("inet")
        self.lab.link(self.gw, "lgwan0", self.lgwan, "eth0")
        self.lab.link(self.gw, "inet0", self.inet, "eth0")
        sh = netns.sh
        sh("ip", "addr", "add", LGWAN_GW + "/24", "dev", "lgwan0", ns=self.gw)
        sh("ip", "addr", "add", INET_GW + "/24", "dev", "inet0", ns=self.gw)
        sh("ip", "addr", "add", LGWAN_HOST + "/24", "dev", "eth0", ns=self.lgwan)
        sh("ip", "addr", "add", INET_HOST + "/24", "dev", "eth0", ns=self.inet)
        # the Internet side has a route to the LGWAN subnet through the box:
        # the portal must be unreachable by its own binding, not by a
        # missing route
        sh("ip", "route", "add", "198.18.20.0/24", "via", INET_GW, ns=self.inet)
        sh("ip", "route", "add", "198.18.30.0/24", "via", LGWAN_GW, ns=self.lgwan)
        # back home before the namespaces go (Lab.close kills what is in them)
        self._home_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        setns("/run/netns/" + self.gw)
        d = self.dirs
        self.cert, self.certkey = make_cert(d["certs"], "portal", [LGWAN_GW])
        self.ucert, self.ucertkey = make_cert(d["certs"], "upload", [INET_GW])
        self.sink = pfharness.Sink(d["sink"])
        self.own_port = pfharness.free_port()
        self.milter = pfharness.Milter(
            self.exe("sanitizer/sekisho-milter"), os.path.join(self.root, "milter"), d["audit-milter"],
            self.keys["milter"], unix=True,
            extra=["--cdr-queue", d["cdr-queue"], "--links-dir", d["links"], "--copies-dir", d["copies"],
                   "--portal-url", self.portal_url] + self.extra["milter"])
        self.milter.qdir = d["quarantine"]
        self.pf = pfharness.Postfix(d["postfix"], self.sink.port, self.milter.spec, own_port=self.own_port)
        self.milter.start()
        self.pf.start()
        self.start_cdrd()
        self.start_portal()
        self.start_upload()

    def _spawn(self, name, argv, port=None, host="127.0.0.1"):
        log = open(os.path.join(self.dirs["logs"], name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        log.close()
        self.procs[name] = p
        if port:
            wait_tcp(host, port, proc=p)
        return p

    def cdrd_argv(self):
        d = self.dirs
        return [self.exe("sanitizer/cdr/sekisho-cdrd"), "--queue", d["cdr-queue"], "--quarantine", d["quarantine"],
                "--copies", d["copies"], "--portal-queue", d["portal-queue"], "--releases", d["releases"],
                "--inbox", d["inbox"], "--transfer", d["transfer"], "--links", d["links"],
                "--portal-url", self.portal_url, "--smtp", "127.0.0.1:%d" % self.own_port,
                "--mail-from", "sekisho@relay.sekisho.test", "--audit-dir", d["audit-cdr"], "--audit-key",
                self.keys["cdr"], "--cdr", self.exe("sanitizer/cdr/sekisho-cdr"), "--libexec",
                os.path.join(self.build, "sanitizer/cdr"), "--workers", "2"] + self.extra["cdrd"]

    def start_cdrd(self):
        return self._spawn("cdrd", self.cdrd_argv())

    def portal_argv(self):
        d = self.dirs
        return [self.exe("sanitizer/portal/sekisho-portal"), "serve", "--listen", "%s:%d" % (LGWAN_GW, PORTAL_PORT),
                "--cert", self.cert, "--key", self.certkey, "--state", d["portal"], "--links", d["links"],
                "--copies", d["copies"], "--releases", d["releases"], "--queue", d["portal-queue"],
                "--audit-dir", d["audit-portal"], "--audit-key", self.keys["portal"]] + self.extra["portal"]

    def start_portal(self):
        return self._spawn("portal", self.portal_argv(), PORTAL_PORT, LGWAN_GW)

    def upload_argv(self):
        d = self.dirs
        return [self.exe("sanitizer/portal/sekisho-upload"), "serve", "--listen", "%s:%d" % (INET_GW, UPLOAD_PORT),
                "--cert", self.ucert, "--key", self.ucertkey, "--state", d["upload"], "--inbox", d["inbox"],
                "--audit-dir", d["audit-upload"], "--audit-key", self.keys["upload"], "--rcpt-domain",
                pfharness.LGWAN_DOMAIN] + self.extra["upload"]

    def start_upload(self):
        return self._spawn("upload", self.upload_argv(), UPLOAD_PORT, INET_GW)

    def kill9(self, name):
        p = self.procs.get(name)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def user(self, program, *args, password=None):
        """sekisho-portal / sekisho-upload user ...; password on stdin."""
        exe = self.exe("sanitizer/portal/" + program)
        state = self.dirs["portal" if program == "sekisho-portal" else "upload"]
        argv = [exe, "user"] + list(args) + ["--state", state]
        if password is not None:
            argv.append("--password-stdin")
        return subprocess.run(argv, input=(password + "\n") if password is not None else None,
                              capture_output=True, text=True, timeout=60)

    # ------------------------------------------------------------ clients --
    def run_in(self, side, *argv, timeout=120, **kw):
        ns = self.lgwan if side == "lgwan" else self.inet
        return subprocess.run(["ip", "netns", "exec", ns] + list(argv), capture_output=True, timeout=timeout, **kw)

    def popen_in(self, side, *argv, **kw):
        ns = self.lgwan if side == "lgwan" else self.inet
        return subprocess.Popen(["ip", "netns", "exec", ns] + list(argv), **kw)

    def send_mail(self, raw, mail_from="sender@example.jp", rcpts=("soumu@lgwan.test",)):
        with smtplib.SMTP("127.0.0.1", self.pf.port, timeout=60) as s:
            s.sendmail(mail_from, list(rcpts), raw)

    def wait_mail(self, n, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pf.flush()
            m = self.sink.messages()
            if len(m) >= n:
                return m
            time.sleep(0.3)
        return self.sink.messages()

    def wait_for(self, cond, timeout=300, step=0.3):
        return netns.wait_for(cond, timeout, step)

    def records(self, component, event=None):
        out = []
        ad = self.dirs["audit-" + component]
        for f in sorted(os.listdir(ad)):
            if f.endswith(".jsonl"):
                for line in open(os.path.join(ad, f), encoding="utf-8"):
                    r = json.loads(line)
                    if event is None or r.get("event") == event:
                        out.append(r)
        return out

    def logs(self, name):
        try:
            return open(os.path.join(self.dirs["logs"], name + ".log"), errors="replace").read()
        except OSError:
            return ""

    def close(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.terminate()
        for name, p in self.procs.items():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.pf:
            self.pf.stop()
        if self.milter:
            self.milter.stop()
        if self.sink:
            self.sink.stop()
        if getattr(self, "_home_fd", None) is not None:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.setns(self._home_fd, CLONE_NEWNET)
            os.close(self._home_fd)
            self._home_fd = None
        self.lab.close()


def wait_tcp(host, port, timeout=30.0, proc=None):
    import socket
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening" % proc.returncode)
        try:
            socket.create_connection((host, port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s:%d" % (host, port))


if __name__ == "__main__":
    print(__doc__)
    sys.exit(2)
