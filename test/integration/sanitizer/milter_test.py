#!/usr/bin/env python3
"""sekisho-milter on its own, without Postfix: a small client speaks the
libmilter wire protocol (version 6) to it on a unix socket, like an MTA.

Checked: option negotiation (and refusal when the MTA cannot change the
body); connect/helo/mail/rcpt/macros; headers with and without
SMFIP_HDR_LEADSPC; body chunks; the end-of-message modifications (every
original header deleted, the output's headers added with
X-Sekisho-Sanitized, the body replaced) rebuilt into a message that the
independent oracle accepts; the quarantine (original and attachment, exact
bytes); the mail.sanitized audit records; abort and a second message on the
same connection; a message larger than --spool-mem (spooled to an unlinked
file, nothing left behind); and tempfail (451, never accept) when the
quarantine is full, when --max-size is exceeded and when the spool cannot
be written.

usage: milter_test.py SEKISHO-MILTER"""
import email
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
root = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(here, "../../.."))
sys.path.insert(0, os.path.join(root, "test/golden/sanitizer"))
import make_hostile  # noqa: E402
from milterclient import (ALL_PROTO, SMFIF_ADDHDRS, SMFIF_CHGBODY, SMFIF_CHGHDRS, SMFIP_HDR_LEADSPC,  # noqa: E402
                          SMFIP_NOCONNECT, SMFIP_NODATA, SMFIP_NOHELO, SMFIP_NR_BODY, SMFIP_NR_CONN,
                          SMFIP_NR_DATA, SMFIP_NR_EOH,
                          SMFIP_NR_HDR, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT, Client, rebuild,
                          stop_process)
import oracle  # noqa: E402
import pfharness as H  # noqa: E402
import postfix_test as PT  # noqa: E402

MILTER = os.path.abspath(sys.argv[1])
fails = []

def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)


class Milter:
    def __init__(self, tmp, name, extra=()):
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        self.sock = os.path.join(self.dir, "milter.sock")
        self.q = os.path.join(self.dir, "q")
        self.audit = os.path.join(self.dir, "audit")
        key = os.path.join(self.dir, "audit.key")
        PT.make_key(key)
        self.log = open(os.path.join(self.dir, "milter.log"), "wb")
        self.p = subprocess.Popen([MILTER, "-s", "unix:" + self.sock, "--quarantine", self.q, "--audit-dir", self.audit,
                                   "--audit-key", key] + list(extra), stdout=self.log, stderr=self.log)
        try:
            H.wait_port(self.sock, timeout=30, proc=self.p)
        except RuntimeError as e:
            raise RuntimeError("milter did not start (%s): %s" % (e, open(self.log.name).read()))

    def stop(self):
        rc = stop_process(self.p)
        self.log.close()
        return rc


def tempfailed(reply):
    return reply[0] == b"t" or (reply[0] == b"y" and reply[1].startswith(b"451"))


msgs = {k: (v if isinstance(v, bytes) else v.encode()) for k, v in make_hostile.messages().items()}
tmp = tempfile.mkdtemp(prefix="san-milter-")
started = []
try:
    m = Milter(tmp, "main", ["--spool-mem", "65536", "--max-size", str(8 << 20)])
    started.append(m)

    # negotiation: the milter needs header and body changes
    c = Client(m.sock)
    ver, act, pro = c.negotiate()
    check(ver == 6 and act & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY) == 0x13, "negotiation: actions %#x" % act)
    # on a unix socket: connect, HELO and DATA skipped, no reply expected
    # before end of message; MAIL, RCPT, headers, end of headers and body sent
    skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NODATA
    check(pro & SMFIP_HDR_LEADSPC and pro & skip == skip and not pro & 0x7C,
          "negotiation: leading space kept, connect/HELO/DATA skipped, the rest sent (%#x)" % pro)
    nr = SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_NR_EOH | SMFIP_NR_MAIL | SMFIP_NR_RCPT
    check(pro & nr == nr, "negotiation: no replies to MAIL, RCPT, headers and body (%#x)" % pro)
    if not pro & SMFIP_NOCONNECT:
        r = c.step(b"C", b"mx.example\0" + b"4" + struct.pack(">H", 25) + b"192.0.2.1\0", SMFIP_NR_CONN)
        check(r is None or r[0] == b"c", "connect continues")
    if not pro & SMFIP_NOHELO:
        r = c.step(b"H", b"mx.example\0", SMFIP_NR_HELO)
        check(r is None or r[0] == b"c", "helo continues")

    # an MTA that offers neither skipping nor no-reply stages: every stage
    # is answered, and the message comes out the same
    c3 = Client(m.sock)
    c3.negotiate(proto=ALL_PROTO & ~(skip | nr | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_DATA))
    check(not c3.proto & (skip | nr), "skipping and no-reply stages only when offered (%#x)" % c3.proto)
    r = c3.step(b"C", b"mx.example\0" + b"4" + struct.pack(">H", 25) + b"192.0.2.1\0", SMFIP_NR_CONN)
    r2 = c3.step(b"H", b"mx.example\0", SMFIP_NR_HELO)
    check(r and r[0] == b"c" and r2 and r2[0] == b"c", "old MTA: connect and HELO answered continue")
    reply3, mods3 = c3.message(msgs["04-encrypted-zip"], qid="QIDOLD")
    out3 = rebuild(msgs["04-encrypted-zip"], mods3 or [], True)
    probs = oracle.check(msgs["04-encrypted-zip"], out3) if out3 and reply3[0] == b"c" else ["not continued"]
    check(not probs, "old MTA: every stage answered, message sanitised %r" % probs[:3])
    c3.close()

    # a message with an encrypted zip: full modification set
    raw = msgs["04-encrypted-zip"]
    reply, mods = c.message(raw, qid="QIDZIP")
    check(reply[0] == b"c" and mods is not None, "end of message: continue (%r)" % (reply,))
    mods = mods or []
    dels = [d for cmd, d in mods if cmd == b"m" and d[4:].split(b"\0")[1] == b""]
    orig_names = [ln.split(b":")[0] for ln in raw.partition(b"\n\n")[0].split(b"\n") if ln[:1] not in (b" ", b"\t")]
    check(len(dels) == len(orig_names), "every original header deleted (%d of %d)" % (len(dels), len(orig_names)))
    adds = [d.split(b"\0")[0] for cmd, d in mods if cmd == b"h"]
    check(b"X-Sekisho-Sanitized" in adds and b"Content-Type" in adds, "headers added: %r" % adds)
    check(any(cmd == b"b" for cmd, _ in mods), "body replaced")
    out = rebuild(raw, mods, True)
    probs = oracle.check(raw, out) if out else ["cannot apply modifications"]
    check(not probs, "rebuilt message passes the oracle %r" % probs[:3])
    om = email.message_from_bytes(out or b"")
    check("result=ok" in om.get("X-Sekisho-Sanitized", "") and "PPAP" in om.get_payload(decode=True).decode(),
          "marker and PPAP warning in the output")
    # the milter keeps the message as the MTA sent it: CRLF lines
    sha = hashlib.sha256(raw.replace(b"\n", b"\r\n")).hexdigest()
    qf = os.path.join(m.q, sha + ".data")
    check(os.path.exists(qf) and open(qf, "rb").read() == raw.replace(b"\n", b"\r\n"),
          "original quarantined, byte for byte as received")
    att = email.message_from_bytes(raw).get_payload()[1].get_payload(decode=True)
    check(os.path.exists(os.path.join(m.q, hashlib.sha256(att).hexdigest() + ".data")), "attachment quarantined")

    # abort, then the next message on the same connection without leading space
    c.send(b"D", b"M" + b"i\0QIDABORT\0")
    c.step(b"M", b"<x@example.com>\0", SMFIP_NR_MAIL)
    c.send(b"A")
    c.close()
    c = Client(m.sock)
    c.negotiate(proto=ALL_PROTO & ~SMFIP_HDR_LEADSPC)
    check(not c.proto & SMFIP_HDR_LEADSPC, "no leading space when the MTA does not offer it")
    raw = msgs["21-text-urls"]
    reply, mods = c.message(raw, qid="QIDURL")
    out = rebuild(raw, mods or [], False)
    probs = oracle.check(raw, out) if out and reply[0] == b"c" else ["not continued"]
    check(not probs and b"hxxps[:]//evil.example" in email.message_from_bytes(out).get_payload(decode=True),
          "second message: text URLs defanged, oracle passes %r" % probs[:3])

    # larger than --spool-mem: spooled to an unlinked file in the quarantine dir
    big = msgs["01-rtlo-name"].replace(b"Subject:", b"".join(b"X-Pad-%d: %s\n" % (i, b"p" * 200) for i in range(2000))
                                       + b"Subject:", 1)
    big = big.rstrip(b"\n") + b"\n" + (b"padding line\n" * 40000)
    reply, mods = c.message(big, qid="QIDBIG", chunk=4000)
    out = rebuild(big, mods or [], False)
    probs = oracle.check(big, out) if out and reply[0] == b"c" else ["not continued %r" % (reply,)]
    check(len(big) > 900000 and not probs, "spooled message (%d bytes) sanitised %r" % (len(big), probs[:3]))
    qf = os.path.join(m.q, hashlib.sha256(big.replace(b"\n", b"\r\n")).hexdigest() + ".data")
    check(os.path.exists(qf) and open(qf, "rb").read() == big.replace(b"\n", b"\r\n"),
          "spooled original quarantined byte for byte (copied from the spool file)")
    left = [f for f in os.listdir(m.q) if not f.endswith((".data", ".json"))]
    check(left == [], "no spool or temporary file left in the quarantine dir: %r" % left)

    # limit: larger than --max-size -> tempfail during the body, nothing kept
    huge = msgs["02-double-extension"].rstrip(b"\n") + b"\n" + b"x" * 100 + b"\n"
    huge = huge + (b"y" * 998 + b"\n") * (9 * 1024)
    reply, mods = c.message(huge, qid="QIDHUGE")
    check(tempfailed(reply) and not mods, "over --max-size: tempfail, no modification (%r)" % (reply[0],))
    # an MTA without the no-reply options: libmilter answers "continue" for
    # the milter at each header and chunk; the cap still ends in tempfail
    c2 = Client(m.sock)
    c2.negotiate(proto=ALL_PROTO & ~(SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_NR_EOH))
    check(not c2.proto & SMFIP_NR_BODY, "no-reply options only when offered")
    reply, mods = c2.message(huge, qid="QIDHUGE2")
    check(tempfailed(reply) and not mods, "over --max-size without no-reply: tempfail %r" % (reply,))
    c2.close()
    # the connection is usable again after a tempfail
    reply, mods = c.message(msgs["05-tnef"], qid="QIDAFTER")
    check(reply[0] == b"c" and mods, "message after a tempfail is sanitised")
    c.close()

    # The audit chain is written by the writer's own threads after the reply:
    # wait (bounded) until the last message's record is there.
    deadline = time.monotonic() + 30
    while True:
        recs = {r["queue_id"]: r for r in PT.audit_records(m.audit)}
        if all(q in recs for q in ("QIDZIP", "QIDURL", "QIDHUGE", "QIDAFTER", "QIDBIG")) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.1)
    z = recs.get("QIDZIP", {})
    check(z.get("verdict") == "delivered" and z.get("result") == "ok" and z.get("env_from") == "<a@example.com>"
          and z.get("env_to") == ["<soumu@lgwan.test>"] and sha[:16] in z.get("quarantine_ids", [])
          and "encrypted-archive-flagged" in z.get("actions", []), "audit record of the zip message %r" % z)
    check(recs.get("QIDURL", {}).get("verdict") == "delivered" and "links-disabled" in recs.get("QIDURL", {}).get("actions", []),
          "audit record of the URL message")
    h = recs.get("QIDHUGE", {})
    check(h.get("verdict") == "tempfail" and h.get("reason") == "message-size", "audit record of the tempfail: %r" % h)
    check("QIDABORT" not in recs and "QIDAFTER" in recs and "QIDBIG" in recs, "aborted message has no record")
    started.remove(m)
    check(m.stop() == 0, "SIGTERM: clean exit 0 (audit log closed)")

    # quarantine full: no output may be delivered -> tempfail
    m = Milter(tmp, "full", ["--quarantine-max", "300"])
    started.append(m)
    c = Client(m.sock)
    c.negotiate()
    reply, mods = c.message(msgs["03-pe-named-pdf"], qid="QIDFULL")
    check(tempfailed(reply) and not any(cmd == b"b" for cmd, _ in (mods or [])),
          "quarantine full: tempfail, no body sent (%r)" % (reply[0],))
    c.close()
    m.stop()
    started.remove(m)
    r = PT.audit_records(m.audit)
    check(len(r) == 1 and r[0]["verdict"] == "tempfail" and r[0]["reason"] == "no-output" and r[0]["output_sha256"] == "",
          "audit record of the quarantine failure %r" % r)

    # the spool cannot be written (an internal error) -> tempfail
    m = Milter(tmp, "nospool", ["--spool-dir", os.path.join(tmp, "does-not-exist"), "--spool-mem", "1024"])
    started.append(m)
    c = Client(m.sock)
    c.negotiate()
    reply, mods = c.message(msgs["03-pe-named-pdf"], qid="QIDSPOOL")
    check(tempfailed(reply), "spool failure: tempfail (%r)" % (reply[0],))
    c.close()
    m.stop()
    started.remove(m)
    r = PT.audit_records(m.audit)
    check(len(r) == 1 and r[0]["verdict"] == "tempfail" and r[0]["reason"] == "spool", "audit record of the spool failure %r" % r)

    # an MTA that cannot replace the body is refused at negotiation
    m = Milter(tmp, "neg")
    started.append(m)
    c = Client(m.sock)
    try:
        c.send(b"O", struct.pack(">III", 6, SMFIF_ADDHDRS | SMFIF_CHGHDRS, ALL_PROTO))
        cmd, _ = c.recv()
        refused = cmd != b"O"
    except (EOFError, ConnectionError, socket.timeout):
        refused = True
    check(refused, "negotiation refused without SMFIF_CHGBODY")
    c.s.close()
finally:
    for m in started:
        m.stop()
    shutil.rmtree(tmp, ignore_errors=True)

print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
