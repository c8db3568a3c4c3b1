"""A minimal MTA side of the libmilter wire protocol (version 6), for
tests and the benchmark: option negotiation, macros, envelope, headers,
body chunks, end of message, and applying the returned modifications."""
import socket
import subprocess
import struct

SMFIF_ADDHDRS, SMFIF_CHGBODY, SMFIF_CHGHDRS = 0x1, 0x2, 0x10
SMFIP_NR_HDR, SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT = 0x80, 0x1000, 0x2000, 0x4000, 0x8000
SMFIP_NR_DATA, SMFIP_NR_EOH, SMFIP_NR_BODY, SMFIP_HDR_LEADSPC = 0x10000, 0x40000, 0x80000, 0x100000
SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NODATA = 0x1, 0x2, 0x200
ALL_ACTIONS = 0x1FF
ALL_PROTO = 0x1FFFFF



class Client:
    """One MTA-side milter connection."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)
        self.proto = 0

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def _exact(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("milter closed the connection")
            b += c
        return b

    def recv(self):
        n = struct.unpack(">I", self._exact(4))[0]
        d = self._exact(n)
        return d[:1], d[1:]

    def negotiate(self, actions=ALL_ACTIONS, proto=ALL_PROTO):
        self.send(b"O", struct.pack(">III", 6, actions, proto))
        cmd, d = self.recv()
        assert cmd == b"O", cmd
        ver, act, pro = struct.unpack(">III", d[:12])
        self.proto = pro
        return ver, act, pro

    def step(self, cmd, data, nr_flag):
        """Send a command; return its reply unless the milter asked for none."""
        self.send(cmd, data)
        if self.proto & nr_flag:
            return None
        return self.recv()

    def message(self, raw, env_from="<a@example.com>", rcpts=("<soumu@lgwan.test>",), qid="QID1", chunk=65535):
        """Send one message; returns (final reply, modifications) or
        (reply, None) when a step before end of message did not continue."""
        self.send(b"D", b"M" + b"i\0" + qid.encode() + b"\0")
        r = self.step(b"M", env_from.encode() + b"\0", SMFIP_NR_MAIL)
        if r and r[0] != b"c":
            return r, None
        for rc in rcpts:
            r = self.step(b"R", rc.encode() + b"\0", SMFIP_NR_RCPT)
            if r and r[0] != b"c":
                return r, None
        if not self.proto & SMFIP_NODATA:
            r = self.step(b"T", b"", SMFIP_NR_DATA)
            if r and r[0] != b"c":
                return r, None
        fields, body = header_fields(raw)
        for n, v in fields:
            if not self.proto & SMFIP_HDR_LEADSPC and v[:1] == b" ":
                v = v[1:]
            r = self.step(b"L", n + b"\0" + v + b"\0", SMFIP_NR_HDR)
            if r and r[0] != b"c":
                return r, None
        r = self.step(b"N", b"", SMFIP_NR_EOH)
        if r and r[0] != b"c":
            return r, None
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for i in range(0, len(body), chunk):
            r = self.step(b"B", body[i:i + chunk], SMFIP_NR_BODY)
            if r and r[0] != b"c":
                return r, None
        self.send(b"E", b"")
        mods = []
        while True:
            cmd, d = self.recv()
            if cmd in (b"c", b"a", b"t", b"r", b"y", b"d"):
                return (cmd, d), mods
            mods.append((cmd, d))

    def close(self):
        try:
            self.send(b"Q")
        finally:
            self.s.close()


def header_fields(raw):
    """[[name, value with its leading space and folding], ...], body."""
    head, _, body = raw.partition(b"\n\n")
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\n" + line
        else:
            n, _, v = line.partition(b":")
            fields.append([n, v])
    return fields, body


def rebuild(raw, mods, leadspc):
    """Apply the milter's modifications to the original like an MTA does."""
    hdrs = [[n, v if leadspc else v.lstrip(b" ")] for n, v in header_fields(raw)[0]]
    body = b""
    for cmd, d in mods:
        if cmd == b"m":
            idx = struct.unpack(">I", d[:4])[0]
            n, v = d[4:].split(b"\0")[:2]
            same = [h for h in hdrs if h[0].lower() == n.lower()]
            if idx < 1 or idx > len(same):
                return None
            if v:
                same[idx - 1][1] = v
            else:
                hdrs.remove(same[idx - 1])
        elif cmd == b"h":
            n, v = d.split(b"\0")[:2]
            hdrs.append([n, v])
        elif cmd == b"b":
            body += d
    out = b"".join(n + b":" + (v if leadspc else b" " + v) + b"\n" for n, v in hdrs)
    return out + b"\n" + body.replace(b"\r\n", b"\n")


def stop_process(p, timeout=20):
    """SIGTERM, then SIGKILL after timeout seconds; the exit status."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode
