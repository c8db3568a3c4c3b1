#!/usr/bin/env python3
"""valgrind-milter: sekisho-milter under memcheck behind a private Postfix.

usage: milter_vg.py MILTER [ROUNDS]

The milter runs under valgrind (vg.FLAGS) behind a private Postfix instance
(pfharness, firmware/postfix configuration) with an SMTP sink.  In goes
every hostile sample (test/golden/sanitizer/make_hostile.py) and ROUNDS
(default 3) passes over the shared mail corpus (/work/shared/corpus/mail,
read in place; each pass with its own recipients), about 330 messages;
every one must be delivered once, sanitised (the oracle accepts it).
Then a forced failure: the quarantine directory made unwritable (immutable,
which binds root too; or a read-only bind mount where the filesystem has no
immutable flag) -- a sample whose attachment must be quarantined is
answered with a temporary failure (4xx), and the milter records the
tempfail; after the directory is writable again the next message is
delivered.  SIGTERM: the milter must exit 0, and its memcheck log must
show no error and no definitely or indirectly lost byte.

Root and the packages postfix, swaks (tools/packages.txt) and valgrind;
without them exit 77, under CI=true a failure."""
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.abspath(os.path.join(HERE, "..", "..", "..")))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "test", "integration", "sanitizer"))
sys.path.insert(0, os.path.join(SRC, "test", "integration", "gateway"))
import vg  # noqa: E402
import oracle  # noqa: E402
import pfharness as H  # noqa: E402
import postfix_test as PT  # noqa: E402
from gwtest import Checker  # noqa: E402



def quarantined_sample(tag):
    """A message whose attachment (an executable named .pdf, as hostile
    sample 03) must be quarantined; the attachment and the message are new
    each time, so that the content-addressed quarantine must write."""
    import make_hostile as mh
    return mh.mixed("%s-%s@vg" % (tag, os.urandom(6).hex()), "PE as PDF " + tag,
                    [mh.TEXT_JA, mh.att("application/pdf", "契約書.pdf", mh.pe_exe() + os.urandom(64))]).encode()


def libmilter_fd(fd, what, stack):
    """Descriptors allowed open at exit: inherited ones, and the wake-up pipe
    of libmilter's worker pool (mi_pool_controller_init, libmilter/worker.c),
    which libmilter never closes -- smfi_main returns with it open."""
    return vg.inherited(fd, what, stack) or "mi_pool_controller_init" in stack


class Unwritable:
    """The quarantine directory unwritable for root as well: the immutable
    flag, or (no such flag on this filesystem) a read-only bind mount."""

    def __init__(self, d):
        self.d, self.how = d, None

    def __enter__(self):
        if subprocess.run(["chattr", "+i", self.d], capture_output=True).returncode == 0:
            self.how = "immutable"
        else:
            subprocess.run(["mount", "--bind", self.d, self.d], check=True)
            subprocess.run(["mount", "-o", "remount,bind,ro", self.d], check=True)
            self.how = "read-only bind mount"
        return self

    def __exit__(self, *exc):
        if self.how == "immutable":
            subprocess.run(["chattr", "-i", self.d])
        elif self.how:
            subprocess.run(["umount", self.d])


def send(smtp_port, rcpt, data):
    """(code, text) of the answer to the message; 250 when accepted."""
    s = smtplib.SMTP("127.0.0.1", smtp_port, timeout=120)
    try:
        s.ehlo("client.example.com")
        s.sendmail("sender@example.com", [rcpt], data)
        return 250, ""
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")
    except smtplib.SMTPException as e:
        return -1, repr(e)
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def main():
    milter = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    PT.ensure_tools()
    vg.need_valgrind()
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="sekisho-vgmilter-")
    os.chmod(tmp, 0o755)
    key = os.path.join(tmp, "audit.key")
    PT.make_key(key)
    audit = os.path.join(tmp, "audit")
    logdir = os.path.join(tmp, "vg")
    exe = vg.wrapper(os.path.join(tmp, "milter-under-valgrind"), os.path.abspath(milter), logdir)
    sink = H.Sink(os.path.join(tmp, "sink"))
    m = H.Milter(exe, tmp, audit, key)
    pf = H.Postfix(os.path.join(tmp, "pf"), sink.port, m.spec)
    corpus, hostile, hd = PT.corpus_messages()
    t0 = time.monotonic()
    try:
        m.start()
        pf.start()
        items = [p for p in hostile] + [p for _ in range(rounds) for p in corpus]
        sent = {}
        smtp = smtplib.SMTP("127.0.0.1", pf.port, timeout=120)
        smtp.ehlo("client.example.com")
        refused = 0
        for i, path in enumerate(items):
            rcpt = "v%04d@%s" % (i, H.LGWAN_DOMAIN)
            data = open(path, "rb").read()
            try:
                smtp.sendmail("sender@example.com", [rcpt], data)
                sent[rcpt] = data
            except smtplib.SMTPException as e:
                print("FAIL %s: %r" % (path, e))
                refused += 1
                smtp = smtplib.SMTP("127.0.0.1", pf.port, timeout=120)
                smtp.ehlo("client.example.com")
        smtp.quit()
        c.expect("every message accepted by Postfix with the milter under valgrind", refused, 0)
        n = len(sent)
        PT.wait_until(lambda: sink.count >= n and pf.queued() == 0, 150, "%d deliveries" % n)
        got = {}
        for out, env in sink.messages():
            for r in env["to"]:
                got.setdefault(r.strip("<>"), []).append(out)
        once = sum(1 for r in sent if len(got.get(r, [])) == 1)
        c.expect("%d messages (%d hostile, %d x %d corpus) delivered exactly once" % (
            len(items), len(hostile), rounds, len(corpus)), once, len(items))
        bad = [r for r, data in sent.items() if len(got.get(r, [])) == 1 and oracle.check(data, got[r][0])]
        c.expect("every delivered message sanitised (oracle)", bad, [])

        # forced failure: the quarantine cannot be written -> tempfail
        qbefore = len(os.listdir(m.qdir))
        with Unwritable(m.qdir) as u:
            code, text = send(pf.port, "forced@" + H.LGWAN_DOMAIN, quarantined_sample("forced"))
        c.true(f"quarantine unwritable ({u.how}): the message is tempfailed (4xx)", 400 <= code < 500,
               f"{code} {text}")
        c.expect("  nothing was written to the quarantine", len(os.listdir(m.qdir)), qbefore)
        code, text = send(pf.port, "after@" + H.LGWAN_DOMAIN, quarantined_sample("after"))
        c.expect("quarantine writable again: accepted", code, 250)
        c.true("  and quarantined", len(os.listdir(m.qdir)) > qbefore, len(os.listdir(m.qdir)) - qbefore)
        c.true("  and delivered", PT.wait_until(lambda: sink.count >= n + 1 and pf.queued() == 0, 60,
                                                "the delivery after the failure"), sink.count)
        print("soak: %d messages in %.0f s under valgrind" % (n + 2, time.monotonic() - t0), flush=True)
    finally:
        pf.stop()
        pid = m.proc.pid if m.proc else None
        m.stop()
        sink.stop()
        shutil.rmtree(hd, ignore_errors=True)
    # after the stop: the audit log is closed, every record written
    recs = PT.audit_records(audit)
    c.true("audit: the tempfail is recorded", any(r.get("verdict") == "tempfail" for r in recs),
           [r.get("reason") for r in recs if r.get("verdict") == "tempfail"])
    c.expect("audit: delivered records", sum(1 for r in recs if r.get("verdict") == "delivered"), n + 1)
    if c.failures:
        print(pf.log()[-3000:])
        print(open(m.log, errors="replace").read()[-3000:])
    c.expect("milter exit status after SIGTERM (99: valgrind found errors)", m.proc.returncode, 0)
    vg.check(c, logdir, pid, allowed_fd=libmilter_fd)
    if c.failures:
        print("kept for inspection: " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
