#!/usr/bin/env python3
"""sekisho-logexport forward, to a REAL rsyslog started here (imtcp on a free
127.0.0.1 port, its own config, work directory and pid file; never the
system's instance), over TLS (RFC 5425: rsyslog's gtls driver, a CA and
certificates made here with the openssl CLI) unless a check says plain:

- everything arrives exactly once, in order, as RFC 5424 with octet
  counting: rsyslog's own parser sees APP-NAME sekisho-COMPONENT, MSGID =
  event, SD [sekisho@32473 seq mac], MSG = the audit line byte for byte;
- appended records: a rerun sends only the new ones (the state file);
- SIGTERM in the middle of a rate-limited run, then a rerun: nothing
  missing, nothing twice; SIGKILL: nothing missing, order kept, and a
  resent batch only (plain TCP syslog has no application acknowledgement);
- --follow picks up records appended while it runs, until SIGTERM;
- a break stops forwarding (exit 1) before the break; --allow-broken goes
  on and sends a chain.broken notice instead of the edited line;
- no collector yet: bounded retries with backoff, then exit 2; a collector
  that comes up during the backoff gets everything;
- TLS: a collector whose certificate does not chain to --ca, or does not
  carry the expected name, gets nothing (the reason is said); the system's
  CAs alone do not trust the test CA; a collector that requires client
  certificates (x509/certvalid) refuses a forwarder without one and
  accepts it with --client-cert/--client-key; --plain works only when
  asked for, and never to port 6514."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxtest import LOGEXPORT, Workdir, audit_files, check, done, env, genlog, lines_of, need_program  # noqa: E402

RSYSLOGD = need_program("rsyslogd", "rsyslog")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Pki:
    """A test CA with a collector certificate (IP 127.0.0.1, DNS
    collector.test), a client certificate, and an unrelated second CA."""

    def __init__(self, wd):
        self.dir = wd.sub("pki")
        os.makedirs(self.dir)
        p = lambda n: os.path.join(self.dir, n)  # noqa: E731
        for ca in ("ca", "rogue"):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    p(ca + ".key"), "-out", p(ca + ".pem"), "-days", "2", "-subj", "/CN=sekisho test " + ca)
        for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:collector.test"),
                          ("client", "extendedKeyUsage=clientAuth")):
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + name + ".test")
            with open(p(name + ".ext"), "w") as f:
                f.write(ext + "\n")
            openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                    "-CAcreateserial", "-days", "2", "-extfile", p(name + ".ext"), "-out", p(name + ".pem"))
        self.ca, self.rogue = p("ca.pem"), p("rogue.pem")
        self.server, self.server_key = p("server.pem"), p("server.key")
        self.client, self.client_key = p("client.pem"), p("client.key")


class Collector:
    """An rsyslogd of our own: imtcp on 127.0.0.1:port, raw messages to a file
    and rsyslog's parse of each RFC 5424 message to a second file.  tls:
    None (plain TCP), "anon" (TLS, no client certificate asked) or
    "x509/certvalid" (a client certificate from the test CA required)."""

    def __init__(self, wd, tag, port=None, tls="anon"):
        self.dir = wd.sub("rsyslog-" + tag)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.raw = os.path.join(self.dir, "raw.log")
        self.parsed = os.path.join(self.dir, "parsed.log")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        if tls:
            glob = (f'global(workDirectory="{self.dir}" maxMessageSize="256k" DefaultNetstreamDriver="gtls"\n'
                    f'  DefaultNetstreamDriverCAFile="{PKI.ca}" DefaultNetstreamDriverCertFile="{PKI.server}"\n'
                    f'  DefaultNetstreamDriverKeyFile="{PKI.server_key}")\n'
                    f'module(load="imtcp" MaxSessions="20" StreamDriver.Name="gtls" StreamDriver.Mode="1"\n'
                    f'  StreamDriver.AuthMode="{tls}")')
        else:
            glob = f'global(workDirectory="{self.dir}" maxMessageSize="256k")\nmodule(load="imtcp" MaxSessions="20")'
        with open(self.conf, "w") as f:
            f.write(glob + f'''
template(name="raw" type="string" string="%rawmsg%\\n")
template(name="parsed" type="string" string="%pri%\\t%timereported:::date-rfc3339%\\t%hostname%\\t%app-name%\\t%msgid%\\t%structured-data%\\t%msg%\\n")
ruleset(name="collect") {{
  action(type="omfile" file="{self.raw}" template="raw")
  action(type="omfile" file="{self.parsed}" template="parsed")
}}
input(type="imtcp" port="{self.port}" address="127.0.0.1" ruleset="collect")
''')
        self.proc = subprocess.Popen([RSYSLOGD, "-f", self.conf, "-i", self.pidfile, "-n"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        out = self.proc.stdout.read().decode(errors="replace") if self.proc.poll() is not None else ""
        raise RuntimeError(f"rsyslogd did not start listening on {self.port}: {out}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def messages(self, want=None, timeout=20):
        """Raw messages received so far; waits until there are want of them."""
        deadline = time.time() + timeout
        while True:
            got = open(self.raw, "rb").read().split(b"\n")[:-1] if os.path.exists(self.raw) else []
            if want is None or len(got) >= want or time.time() > deadline:
                if want is not None:
                    time.sleep(0.3)  # anything beyond want (a duplicate) would show now
                    got = open(self.raw, "rb").read().split(b"\n")[:-1] if os.path.exists(self.raw) else []
                return got

    def parsed_lines(self):
        return open(self.parsed, "rb").read().decode().split("\n")[:-1] if os.path.exists(self.parsed) else []


MSG_RE = re.compile(rb'^<(\d+)>1 (\S+) (\S+) (\S+) - (\S+) \[sekisho@32473 seq="(\d+)" mac="([0-9a-f]{64})"'
                    rb'(?: verify="([a-z-]+)")?\] (.*)$')


def records(raw):
    """(seq, mac, msg bytes) of the record messages; notices separately."""
    recs, notices = [], []
    for m in raw:
        x = MSG_RE.match(m)
        if x:
            recs.append((int(x.group(6)), x.group(7).decode(), x.group(9), x))
        else:
            notices.append(m)
    return recs, notices


def fwd_argv(*args):
    """forward's argv, trusting the test CA unless the args choose otherwise"""
    a = list(map(str, args))
    tls = [] if "--plain" in a or "--ca" in a else ["--ca", PKI.ca]
    return [LOGEXPORT, "forward", *tls, *a]


def forward(*args, **kw):
    return subprocess.run(fwd_argv(*args), capture_output=True, text=True, env=env(), timeout=kw.get("timeout", 120))


wd = Workdir("forward")
PKI = Pki(wd)
collectors = []
try:
    gw = wd.sub("gateway")
    genlog(wd, gw, "--count", 1200, "--step-ms", 120000, "--seed", 21)
    src = lines_of(gw)
    c = Collector(wd, "main")
    collectors.append(c)
    state = wd.sub("forward.state")

    r = forward("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state, gw)
    check("forward: exit 0", r.returncode == 0, r.stderr)
    raw = c.messages(len(src))
    recs, notices = records(raw)
    check("forward: every record exactly once, in order, byte for byte",
          [x[2] for x in recs] == src and not notices, f"{len(recs)} of {len(src)}")
    srcj = [json.loads(l) for l in src]
    check("forward: SD seq and mac are the record's",
          all(x[0] == j["seq"] and x[1] == j["mac"] for x, j in zip(recs, srcj)))
    check("forward: header fields (facility 13, ts, host, APP-NAME, MSGID)",
          all(int(x[3].group(1)) // 8 == 13 and x[3].group(2).decode() == j["ts"] and x[3].group(3) == b"gw1" and
              x[3].group(4).decode() == "sekisho-" + j["component"] and x[3].group(5).decode() == j["event"]
              for x, j in zip(recs, srcj)))
    parsed = c.parsed_lines()
    ok = len(parsed) == len(src)
    for p, j, line in zip(parsed, srcj, src):
        f = p.split("\t", 6)
        ok = ok and f[3] == "sekisho-gateway" and f[4] == j["event"] and \
            f[5] == f'[sekisho@32473 seq="{j["seq"]}" mac="{j["mac"]}"]' and f[6] == line.decode() and \
            f[2] == "gw1"
    check("forward: rsyslog's own RFC 5424 parser agrees (app-name, msgid, structured-data, msg)", ok,
          parsed[0] if parsed else "nothing")
    st = json.load(open(state))
    check("forward: state holds the last record", st["seq"] == srcj[-1]["seq"] and st["mac"] == srcj[-1]["mac"],
          str(st))

    r = forward("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state, gw)
    check("rerun with nothing new: exit 0, nothing sent", r.returncode == 0 and len(c.messages()) == len(src) and
          "nothing new" in r.stderr, r.stderr)

    # ---- resume: append, forward again: only the new ones ----
    genlog(wd, gw, "--count", 300, "--start", "2026-11-23T09:00:00+09:00", "--seed", 22)
    src2 = lines_of(gw)
    check("genlog appended to the same chain", len(src2) > len(src) + 300 and src2[:len(src)] == src)
    r = forward("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state, gw)
    recs, notices = records(c.messages(len(src2)))
    check("resume: only the new records arrive; all exactly once, in order",
          r.returncode == 0 and [x[2] for x in recs] == src2 and not notices,
          f"rc={r.returncode} {len(recs)} vs {len(src2)}: {r.stderr}")

    # ---- SIGTERM mid-way, rerun ----
    genlog(wd, gw, "--count", 1500, "--start", "2026-11-24T09:00:00+09:00", "--seed", 23)
    src3 = lines_of(gw)
    p = subprocess.Popen(fwd_argv("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state,
                          "--rate", "400", "--batch", "16", gw), env=env(), stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=30)[1]
    mid = c.messages()
    check("SIGTERM: exit 0 after finishing the batch in flight", p.returncode == 0, err)
    check("SIGTERM: stopped part-way", len(src2) < len(mid) < len(src3), f"{len(mid)}")
    st = json.load(open(state))
    recs_mid, _ = records(mid)
    check("SIGTERM: the state names the last record received", st["seq"] == recs_mid[-1][0] and
          st["mac"] == recs_mid[-1][1], f"{st['seq']} vs {recs_mid[-1][0]}")
    r = forward("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state, gw)
    recs, notices = records(c.messages(len(src3)))
    check("SIGTERM then rerun: nothing missing, nothing twice, in order",
          r.returncode == 0 and [x[2] for x in recs] == src3 and not notices, f"{len(recs)} vs {len(src3)}")

    # ---- SIGKILL mid-way, rerun ----
    genlog(wd, gw, "--count", 1500, "--start", "2026-11-25T09:00:00+09:00", "--seed", 24)
    src4 = lines_of(gw)
    p = subprocess.Popen(fwd_argv("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state,
                          "--rate", "400", "--batch", "16", gw), env=env(), stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    p.kill()
    p.wait()
    killed_at = len(c.messages())
    r = forward("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state, gw)
    recs, notices = records(c.messages(len(src4)))
    got = [x[2] for x in recs]
    # drop an immediately repeated run (the one batch whose acknowledgement the killed process never saw)
    dedup = []
    for m in got:
        if m not in set(dedup[-64:]):
            dedup.append(m)
    dups = len(got) - len(dedup)
    check("SIGKILL then rerun: nothing missing, order kept", r.returncode == 0 and dedup == src4,
          f"{len(dedup)} vs {len(src4)}, killed at {killed_at}")
    check("SIGKILL then rerun: at most one batch (16) resent, identical seq and mac", dups <= 16, f"{dups} resent")
    print(f"     (SIGKILL at {killed_at - len(src3)} of {len(src4) - len(src3)} new records; {dups} resent)")

    # ---- --follow ----
    base = len(c.messages())
    p = subprocess.Popen(fwd_argv("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state,
                          "--follow", "--interval", "1", gw), env=env(), stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    genlog(wd, gw, "--count", 200, "--start", "2026-11-26T09:00:00+09:00", "--seed", 25)
    src5 = lines_of(gw)
    arrived = c.messages(len(src5), timeout=20)
    check("--follow: records appended meanwhile arrive", len(arrived) >= len(src5), f"{len(arrived)} of {len(src5)}")
    check("--follow: still running until SIGTERM", p.poll() is None)
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=30)[1]
    recs, notices = records(c.messages()[base:])
    check("--follow: SIGTERM exits 0; everything once, in order",
          p.returncode == 0 and [x[2] for x in recs] == src5[len(src4):] and not notices,
          f"rc={p.returncode} {err} {len(recs)} vs {len(src5) - len(src4)} notices={notices[:2]} "
          f"first diff at {next((i for i, (a, b) in enumerate(zip([x[2] for x in recs], src5[len(src4):])) if a != b), None)}")

    # ---- a break ----
    bd = wd.sub("broken")
    genlog(wd, bd, "--count", 300, "--seed", 26)
    c2 = Collector(wd, "broken")
    collectors.append(c2)
    bstate = wd.sub("broken.state")
    files = audit_files(bd)
    lines = open(files[0], "rb").read().split(b"\n")
    lines[100] = lines[100].replace(b'"action":"', b'"action":"X', 1)
    open(files[0], "wb").write(b"\n".join(lines))
    bsrc = lines_of(bd)
    r = forward("--to", f"127.0.0.1:{c2.port}", "--key", wd.key, "--state", bstate, bd)
    got = c2.messages(100)
    recs, notices = records(got)
    check("break: exit 1, says where", r.returncode == 1 and f"{os.path.basename(files[0])}:101" in r.stderr,
          r.stderr)
    check("break: the records before it arrived, nothing after", [x[2] for x in recs] == bsrc[:100],
          f"{len(recs)}")
    r = forward("--to", f"127.0.0.1:{c2.port}", "--key", wd.key, "--state", bstate, bd)
    check("break: a rerun stops at the same place, sends nothing twice",
          r.returncode == 1 and len(c2.messages()) == 100, r.stderr)
    r = forward("--to", f"127.0.0.1:{c2.port}", "--key", wd.key, "--state", bstate, "--allow-broken", bd)
    got = c2.messages(len(bsrc))
    recs, notices = records(got)
    check("--allow-broken: exit 0, the rest arrives", r.returncode == 0 and
          [x[2] for x in recs] == bsrc[:100] + bsrc[101:], f"rc={r.returncode} {len(recs)} {r.stderr}")
    check("--allow-broken: the edited line is a chain.broken notice, not a record",
          len(notices) == 1 and b" sekisho-logexport - chain.broken " in notices[0] and b'verify="edited"' in notices[0]
          and bsrc[100] not in notices[0], str(notices)[:300])

    # ---- no collector: bounded retries, then exit 2 ----
    port = free_port()
    t0 = time.time()
    r = forward("--to", f"127.0.0.1:{port}", "--key", wd.key, "--retries", "2", gw)
    check("no collector: exit 2 after bounded retries with backoff", r.returncode == 2 and
          r.stderr.count("retrying in") == 2 and "giving up" in r.stderr and 1.4 < time.time() - t0 < 20,
          r.stderr)
    # a collector that appears during the backoff gets everything
    port = free_port()
    p = subprocess.Popen(fwd_argv("--to", f"127.0.0.1:{port}", "--key", wd.key, gw), env=env(),
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.2)
    c3 = Collector(wd, "late", port=port)
    collectors.append(c3)
    err = p.communicate(timeout=60)[1]
    recs, _ = records(c3.messages(len(src5)))
    check("collector up during the backoff: reconnects and delivers all, in order",
          p.returncode == 0 and "retrying in" in err and [x[2] for x in recs] == src5, f"rc={p.returncode} {err}")

    # ---- TLS: who is trusted ----
    tsrc = lines_of(bd)[:100]
    c4 = Collector(wd, "tls-checks")
    collectors.append(c4)
    r = forward("--to", f"127.0.0.1:{c4.port}", "--key", wd.key, "--ca", PKI.rogue, "--retries", "0", bd)
    check("TLS: a collector not signed by --ca gets nothing, exit 2, says why",
          r.returncode == 2 and "not trusted" in r.stderr and not c4.messages(), r.stderr)
    r = subprocess.run([LOGEXPORT, "forward", "--to", f"127.0.0.1:{c4.port}", "--key", wd.key, "--retries", "0",
                        bd], capture_output=True, text=True, env=env(), timeout=60)
    check("TLS: without --ca the system's CAs do not trust the test CA", r.returncode == 2 and
          "not trusted" in r.stderr and not c4.messages(), r.stderr)
    r = forward("--to", f"127.0.0.1:{c4.port}", "--key", wd.key, "--server-name", "other.test", "--retries", "0", bd)
    check("TLS: a certificate without the expected name is refused", r.returncode == 2 and "not trusted" in r.stderr
          and not c4.messages(), r.stderr)
    r = forward("--to", f"127.0.0.1:{c4.port}", "--key", wd.key, "--server-name", "collector.test",
                "--allow-broken", bd)
    got = [x[2] for x in records(c4.messages(len(lines_of(bd))))[0]]
    check("TLS: the DNS name of the certificate (--server-name) is accepted; records arrive",
          r.returncode == 0 and got[:100] == tsrc, r.stderr)
    c5 = Collector(wd, "tls-client", tls="x509/certvalid")
    collectors.append(c5)
    r = forward("--to", f"127.0.0.1:{c5.port}", "--key", wd.key, "--retries", "0", "--allow-broken", bd)
    check("TLS: a collector that requires a client certificate refuses one without",
          r.returncode == 2 and not c5.messages(), r.stderr)
    print("     (" + [x for x in r.stderr.splitlines() if "--state" not in x][0][:200] + ")")
    r = forward("--to", f"127.0.0.1:{c5.port}", "--key", wd.key, "--client-cert", PKI.client, "--client-key",
                PKI.client_key, "--allow-broken", bd)
    got = [x[2] for x in records(c5.messages(len(lines_of(bd))))[0]]
    check("TLS: ... and accepts it with --client-cert/--client-key", r.returncode == 0 and got[:100] == tsrc,
          r.stderr)
    r = forward("--to", f"127.0.0.1:{c5.port}", "--key", wd.key, "--client-cert", PKI.client, bd)
    check("TLS: --client-cert without --client-key is a usage error", r.returncode == 2 and "both" in r.stderr,
          r.stderr)
    # ---- plain only when asked, never to 6514 ----
    c6 = Collector(wd, "plain", tls=None)
    collectors.append(c6)
    r = forward("--to", f"127.0.0.1:{c6.port}", "--key", wd.key, "--retries", "0", "--timeout", "3",
                "--allow-broken", bd)
    check("plain collector: TLS by default, so nothing readable arrives", r.returncode == 2 and
          not records(c6.messages())[0] and "handshake" in r.stderr, r.stderr)
    r = forward("--plain", "--to", f"127.0.0.1:{c6.port}", "--key", wd.key, "--allow-broken", bd)
    got = [x[2] for x in records(c6.messages(len(lines_of(bd))))[0]]
    check("--plain: cleartext when asked for", r.returncode == 0 and got[:100] == tsrc, r.stderr)
    r = forward("--plain", "--to", "127.0.0.1:6514", "--key", wd.key, bd)
    check("--plain to port 6514: refused (exit 2) before connecting", r.returncode == 2 and "6514" in r.stderr,
          r.stderr)
    r = forward("--plain", "--ca", PKI.ca, "--to", f"127.0.0.1:{c6.port}", "--key", wd.key, bd)
    check("--plain with a TLS option: usage error", r.returncode == 2, r.stderr)

    # ---- usage ----
    check("--to missing: exit 2", forward("--key", wd.key, gw).returncode == 2)
    check("bad --to: exit 2", forward("--to", "nohost", "--key", wd.key, gw).returncode == 2)
    check("state of another directory refused: exit 2",
          forward("--to", f"127.0.0.1:{c.port}", "--key", wd.key, "--state", state, bd).returncode == 2)
finally:
    for c in collectors:
        c.stop()
    wd.cleanup()
done()
