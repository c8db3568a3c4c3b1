#!/usr/bin/env python3
"""Private Postfix instances, the milter and an SMTP sink, for the end-to-end
test, the benchmark and the demo.  Never touches the system's Postfix: each
instance has its own config_directory, queue_directory and data_directory
under a directory of the caller, listens on loopback ports only, and is
stopped by stop() (callers do it in a finally / trap).

As a program:  pfharness.py serve DIR --milter EXE --audit-dir D --audit-key K
starts sink + milter + Postfix (with the firmware configuration), writes
DIR/ports.json and runs until SIGTERM/SIGINT, then stops everything.
"""
import grp
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

ROOT = os.environ.get("SEKISHO_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.."))
FIRMWARE = os.path.join(ROOT, "firmware", "postfix")
LGWAN_DOMAIN = "lgwan.test"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=20.0, proc=None):
    """Wait until something listens on 127.0.0.1:port, or on the unix
    socket at path port (a str)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening" % proc.returncode)
        try:
            if isinstance(port, str):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.settimeout(0.5)
                    s.connect(port)
                finally:
                    s.close()
            else:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s" % (port if isinstance(port, str) else "127.0.0.1:%d" % port))


class Sink:
    """A minimal SMTP server that stores each message (with its envelope)
    as DIR/NNNNNN.eml and DIR/NNNNNN.env.  Bounded: a message larger than
    max_bytes is refused (552), connections time out after 60 s."""

    def __init__(self, directory, port=None, max_bytes=256 << 20):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.port = port or free_port()
        self.count = 0
        self.lock = threading.Lock()
        sink = self

        class H(socketserver.StreamRequestHandler):
            timeout = 60

            def reply(self, s):
                self.wfile.write((s + "\r\n").encode())

            def handle(self):
                self.reply("220 sink ESMTP")
                frm, rcpts = "", []
                while True:
                    line = self.rfile.readline(4096)
                    if not line:
                        return
                    cmd = line.decode("latin-1").strip()
                    up = cmd.upper()
                    if up.startswith("EHLO"):
                        self.wfile.write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 268435456\r\n")
                    elif up.startswith("HELO"):
                        self.reply("250 sink")
                    elif up.startswith("MAIL FROM:"):
                        frm, rcpts = cmd[10:].strip(), []
                        self.reply("250 ok")
                    elif up.startswith("RCPT TO:"):
                        rcpts.append(cmd[8:].strip())
                        self.reply("250 ok")
                    elif up == "DATA":
                        self.reply("354 go")
                        buf, size, big = [], 0, False
                        while True:
                            l = self.rfile.readline(1 << 20)
                            if not l:
                                return
                            if l in (b".\r\n", b".\n"):
                                break
                            if l.startswith(b".."):
                                l = l[1:]
                            size += len(l)
                            if size > max_bytes:
                                big = True
                            elif not big:
                                buf.append(l)
                        if big:
                            self.reply("552 too big")
                            continue
                        with sink.lock:
                            sink.count += 1
                            n = sink.count
                        base = os.path.join(sink.dir, "%06d" % n)
                        with open(base + ".eml.tmp", "wb") as f:
                            f.write(b"".join(buf))
                        with open(base + ".env", "w") as f:
                            json.dump({"from": frm, "to": rcpts}, f)
                        os.rename(base + ".eml.tmp", base + ".eml")
                        self.reply("250 ok %d" % n)
                    elif up in ("RSET", "NOOP"):
                        self.reply("250 ok")
                    elif up == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 no")

        class S(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            # socketserver's default listen backlog is 5: with Postfix's 20
            # parallel deliveries a full accept queue drops the handshake's
            # last ACK, the client believes it is connected, and waits 300 s
            # for a greeting that never comes (seen once in CI, 2026-12-06)
            request_queue_size = 256

        self.server = S(("127.0.0.1", self.port), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def messages(self):
        out = []
        for f in sorted(os.listdir(self.dir)):
            if f.endswith(".eml"):
                base = os.path.join(self.dir, f[:-4])
                with open(base + ".eml", "rb") as a, open(base + ".env") as b:
                    out.append((a.read(), json.load(b)))
        return out

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def milter_socket_path(directory):
    """A milter socket's path as on the appliance: in a 0750 directory of
    group postfix made here, the socket itself open to whoever can reach it
    (sekisho-milter --socket-mode 0666)."""
    sdir = os.path.join(os.path.abspath(directory), "milter-run")
    os.makedirs(sdir, exist_ok=True)
    os.chown(sdir, 0, grp.getgrnam("postfix").gr_gid)
    os.chmod(sdir, 0o750)
    return os.path.join(sdir, "milter.sock")


class Milter:
    def __init__(self, exe, directory, audit_dir, audit_key, port=None, extra=(), unix=False):
        """unix: listen on DIRECTORY/milter.sock instead of a loopback port
        (the appliance's configuration); self.spec is what Postfix's
        smtpd_milters names either way."""
        self.exe, self.dir = exe, directory
        self.unix = unix
        os.makedirs(directory, exist_ok=True)
        if unix:
            self.port = milter_socket_path(directory)
            self.spec = "unix:%s" % self.port
        else:
            self.port = port or free_port()
            self.spec = "inet:127.0.0.1:%d" % self.port
        self.qdir = os.path.join(directory, "quarantine")
        self.audit_dir, self.audit_key = audit_dir, audit_key
        self.extra = list(extra)
        self.proc = None
        self.log = os.path.join(directory, "milter.log")

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-s", self.spec if self.unix else "inet:%d@127.0.0.1" % self.port]
                + (["--socket-mode", "0666"] if self.unix else []) + ["--quarantine", self.qdir,
                 "--audit-dir", self.audit_dir, "--audit-key", self.audit_key] + self.extra,
                stdout=log, stderr=log)
        wait_port(self.port, proc=self.proc)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Postfix:
    """A private Postfix instance built from firmware/postfix/{main,master}.cf
    with loopback overrides.  relay_port: where mail for lgwan.test goes;
    milter_spec None = no milter (the plain baseline), else the Milter's spec
    ("unix:/path" or "inet:127.0.0.1:PORT")."""

    def __init__(self, directory, relay_port, milter_spec=None, port=None, overrides=None, own_port=None):
        self.dir = os.path.abspath(directory)
        self.port = port or free_port()
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.conf, exist_ok=True)
        os.chmod(self.dir, 0o755)
        for d in (self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        os.chown(self.data, _uid("postfix"), -1)
        master = open(os.path.join(FIRMWARE, "master.cf")).read()
        master = re.sub(r"^smtp(\s+)inet", "127.0.0.1:%d inet" % self.port, master, flags=re.M)
        # the appliance's own mail (the CDR worker's follow-up mail and
        # upload notices) enters by a milter-less loopback listener: on a
        # free port here, never the system's 10026
        self.own_port = own_port or free_port()
        master = re.sub(r"^127\.0\.0\.1:10026(\s+)inet", "127.0.0.1:%d inet" % self.own_port, master, flags=re.M)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master)
        with open(os.path.join(FIRMWARE, "main.cf")) as src, open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(src.read())
        s = {
            "config_directory": self.conf, "queue_directory": self.queue, "data_directory": self.data,
            "myhostname": "relay-%d.sekisho.test" % self.port, "mydomain": "sekisho.test",
            "inet_interfaces": "127.0.0.1", "relay_domains": LGWAN_DOMAIN,
            "relay_transport": "relay:[127.0.0.1]:%d" % relay_port,
            "maillog_file": os.path.join(self.dir, "maillog"),
            "maillog_file_prefixes": self.dir,
            "smtpd_milters": milter_spec or "",
            "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C",
            "smtp_connection_cache_on_demand": "no",
        }
        s.update(overrides or {})
        self.postconf(*["%s=%s" % kv for kv in s.items()])

    def postconf(self, *settings):
        subprocess.run(["postconf", "-c", self.conf, "-e"] + list(settings), check=True)

    def cmd(self, *args, check=True):
        return subprocess.run(["postfix", "-c", self.conf] + list(args), check=check,
                              capture_output=True, text=True)

    def start(self):
        self.cmd("check")
        self.cmd("start")
        wait_port(self.port)

    def flush(self):
        self.cmd("flush", check=False)

    def queued(self):
        """Messages in the instance's queue (all queues but corrupt)."""
        n = 0
        for q in ("incoming", "active", "deferred", "hold", "maildrop"):
            for _, _, fs in os.walk(os.path.join(self.queue, q)):
                n += len(fs)
        return n

    def log(self):
        try:
            return open(os.path.join(self.dir, "maillog"), errors="replace").read()
        except OSError:
            return ""

    def stop(self):
        r = self.cmd("stop", check=False)
        if r.returncode != 0:
            self.cmd("abort", check=False)
        # master exits asynchronously; wait for it (bounded)
        pidf = os.path.join(self.queue, "pid", "master.pid")
        end = time.monotonic() + 10
        while os.path.exists(pidf) and time.monotonic() < end:
            try:
                pid = int(open(pidf).read().split()[0])
                os.kill(pid, 0)
            except (OSError, ValueError, IndexError):
                break
            time.sleep(0.1)


def _uid(name):
    import pwd
    return pwd.getpwnam(name).pw_uid


def serve(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--milter", required=True)
    ap.add_argument("--audit-dir", required=True)
    ap.add_argument("--audit-key", required=True)
    ap.add_argument("--max-seconds", type=int, default=600)
    a = ap.parse_args(argv)
    os.makedirs(a.dir, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sink = Sink(os.path.join(a.dir, "sink"))
    m = Milter(a.milter, a.dir, a.audit_dir, a.audit_key, unix=True)  # as on the appliance
    pf = Postfix(os.path.join(a.dir, "postfix"), sink.port, m.spec)
    try:
        m.start()
        pf.start()
        with open(os.path.join(a.dir, "ports.json.tmp"), "w") as f:
            json.dump({"smtp": pf.port, "sink": sink.port, "milter": m.port,
                       "quarantine": m.qdir, "sink_dir": sink.dir, "pid": os.getpid(), "maillog": os.path.join(pf.dir, "maillog")}, f)
        os.rename(os.path.join(a.dir, "ports.json.tmp"), os.path.join(a.dir, "ports.json"))
        stop.wait(a.max_seconds)
    finally:
        pf.stop()
        m.stop()
        sink.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
