#!/usr/bin/env python3
"""End to end: real mail through a private Postfix instance with sekisho-milter.

usage: postfix_test.py MILTER [KILL_COUNT]

1. corpus: every message of ../shared/corpus/mail and every hostile sample
   (make_hostile.py) goes in over SMTP (swaks for the hostile ones and a few
   of the corpus, smtplib for the rest) to a private Postfix built from
   firmware/postfix with the milter; a Python SMTP sink receives.  Every
   message must be delivered exactly once, carry the marker and pass the
   oracle (oracle.py) against its original; the audit chain must hold one
   mail.sanitized record per delivered message.
2. kill -9: smtp-source sends KILL_COUNT (default 1000) messages to a plain
   "Internet" Postfix (the sender's MTA), which relays them to the appliance
   instance; in the middle the milter is killed with SIGKILL and restarted.
   The appliance must answer tempfail meanwhile (the sender's MTA keeps the
   mail queued and retries), and in the end every message must be delivered
   sanitised exactly once: none lost, none duplicated, none unsanitised.

Needs root (postfix runs its daemons as the postfix user) and the Debian
packages postfix and swaks: without them exit 77, except under CI=true,
where they are installed or the test fails.  Every wait is bounded."""
import email
import email.policy
import glob
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oracle  # noqa: E402
import pfharness as H  # noqa: E402

CI = os.environ.get("CI") == "true"


def skip_or_fail(why):
    if CI:
        print("FAIL: " + why)
        sys.exit(1)
    print("SKIP: " + why)
    sys.exit(77)


def ensure_tools():
    if os.geteuid() != 0:
        skip_or_fail("needs root (private Postfix instances)")
    need = [p for p, exe in (("postfix", "postfix"), ("postfix", "smtp-source"), ("swaks", "swaks"))
            if not shutil.which(exe) and not os.path.exists("/usr/sbin/" + exe)]
    if need and CI:
        # never let the package start or configure the system's instance
        subprocess.run(["debconf-set-selections"], input=b"postfix postfix/main_mailer_type select No configuration\n")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + sorted(set(need)), env=env)
        need = [p for p in need if not shutil.which(p) and not os.path.exists("/usr/sbin/" + p)]
    if need:
        skip_or_fail("missing packages: " + " ".join(sorted(set(need))))


def make_key(path):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)


def audit_records(d, event="mail.sanitized"):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "*.jsonl"))):
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            if r.get("event") == event:
                out.append(r["data"])
    return out


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    print("FAIL: timed out waiting for " + what)
    return False


def corpus_messages():
    root = H.ROOT
    files = []
    src = os.path.join(root, "..", "shared", "corpus", "mail")
    if os.path.isdir(src):
        files += sorted(glob.glob(os.path.join(src, "**", "*.eml"), recursive=True))
    elif CI:
        print("FAIL: corpus missing at " + src)
        sys.exit(1)
    sys.path.insert(0, os.path.join(root, "test/golden/sanitizer"))
    import make_hostile
    hd = tempfile.mkdtemp(prefix="san-hostile-")
    make_hostile.write_all(hd)
    hostile = sorted(glob.glob(os.path.join(hd, "*.eml")))
    return files, hostile, hd


def part_corpus(tmp, milter_exe):
    fails = 0
    key = os.path.join(tmp, "c.key")
    make_key(key)
    audit = os.path.join(tmp, "c-audit")
    sink = H.Sink(os.path.join(tmp, "c-sink"))
    m = H.Milter(milter_exe, tmp, audit, key, unix=True)  # the appliance's configuration
    pf = H.Postfix(os.path.join(tmp, "c-pf"), sink.port, m.spec)
    corpus, hostile, hd = corpus_messages()
    sent = {}
    try:
        m.start()
        pf.start()
        items = [(p, True) for p in hostile] + [(p, i < 5) for i, p in enumerate(corpus)]
        smtp = None
        for i, (path, use_swaks) in enumerate(items):
            rcpt = "m%04d@%s" % (i, H.LGWAN_DOMAIN)
            data = open(path, "rb").read()
            sent[rcpt] = (path, data)
            if use_swaks:
                p = subprocess.run(["swaks", "-4", "--server", "127.0.0.1:%d" % pf.port, "--from", "sender@example.com",
                                    "--to", rcpt, "--data", "@" + path, "--timeout", "60"],
                                   capture_output=True, timeout=120)
                if p.returncode != 0:
                    print("FAIL %s: swaks exit %d: %s" % (path, p.returncode, p.stdout.decode(errors="replace")[-400:]))
                    fails += 1
                continue
            if smtp is None:
                smtp = smtplib.SMTP("127.0.0.1", pf.port, timeout=60)
                smtp.ehlo("client.example.com")
            try:
                smtp.sendmail("sender@example.com", [rcpt], data)
            except smtplib.SMTPException as e:
                print("FAIL %s: %r" % (path, e))
                fails += 1
                smtp = None
        if smtp is not None:
            smtp.quit()
        n = len(items)
        wait_until(lambda: sink.count >= n and pf.queued() == 0, 180, "%d deliveries" % n)
        time.sleep(1)
        got = {}
        for out, env in sink.messages():
            for r in env["to"]:
                got.setdefault(r.strip("<>"), []).append(out)
        for rcpt, (path, data) in sent.items():
            outs = got.get(rcpt, [])
            if len(outs) != 1:
                print("FAIL %s: delivered %d times" % (path, len(outs)))
                fails += 1
                continue
            probs = oracle.check(data, outs[0])
            for pr in probs:
                print("FAIL %s: %s" % (path, pr))
            fails += bool(probs)
        m.stop()
        recs = audit_records(audit)
        deliv = [r for r in recs if r["verdict"] == "delivered"]
        if len(deliv) != len(sent):
            print("FAIL: %d mail.sanitized delivered records for %d messages" % (len(deliv), len(sent)))
            fails += 1
        qids = {r["queue_id"] for r in deliv}
        if "" in qids or len(qids) != len(deliv):
            print("FAIL: audit records without distinct queue ids")
            fails += 1
        print("corpus: %d sent (%d hostile, %d corpus), %d delivered, %d audit records, %d failures"
              % (len(sent), len(hostile), len(corpus), sum(len(v) for v in got.values()), len(recs), fails))
    finally:
        pf.stop()
        m.stop()
        sink.stop()
        shutil.rmtree(hd, ignore_errors=True)
        if fails:
            print(pf.log()[-3000:])
    return fails


TEST_MSG = ("From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.co.jp>\r\n"
            "To: soumu@lgwan.test\r\n"
            "Subject: =?ISO-2022-JP?B?GyRCOCtAUT1xQXdJVRsoQg==?=\r\n"
            "Date: Mon, 2 Nov 2026 10:00:00 +0900\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
            "\r\n"
            "--b1\r\n"
            "Content-Type: text/plain; charset=ISO-2022-JP\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n"
            "\x1b$B$*@$OC$K$J$C$F$*$j$^$9!#8+@Q=q$rE:IU$7$^$9!#\x1b(B\r\n"
            "--b1\r\n"
            "Content-Type: application/vnd.ms-excel; name=\"mitsumori.xls\"\r\n"
            "Content-Disposition: attachment; filename=\"mitsumori.xls\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "\r\n"
            "0M8R4KGxGuEAAAAAAAAAAAAAAAAAAAAAPgADAP7/CQAGAAAAAAAAAAAAAAABAAAAAQAAAAAAAAAA\r\n"
            "EAAAAgAAAAEAAAD+////AAAAAAAAAAD/////////////////////////////////////////////\r\n"
            "--b1--\r\n")


def part_kill(tmp, milter_exe, count):
    fails = 0
    key = os.path.join(tmp, "k.key")
    make_key(key)
    audit = os.path.join(tmp, "k-audit")
    msgfile = os.path.join(tmp, "k-msg.eml")
    with open(msgfile, "w", newline="") as f:
        f.write(TEST_MSG.replace("\r\n", "\n"))
    orig = TEST_MSG.encode()
    sink = H.Sink(os.path.join(tmp, "k-sink"))
    # loopback TCP here, the appliance's alternative (smtpd_milters =
    # inet:...); the corpus part runs the unix socket the appliance uses
    m = H.Milter(milter_exe, tmp, audit, key)
    app = H.Postfix(os.path.join(tmp, "k-app"), sink.port, m.spec)
    # the sender's MTA on the Internet: no milter, retries quickly
    edge = H.Postfix(os.path.join(tmp, "k-edge"), app.port, None, overrides={
        "minimal_backoff_time": "2s", "maximal_backoff_time": "4s", "queue_run_delay": "2s"})
    src = None
    try:
        m.start()
        app.start()
        edge.start()
        src = subprocess.Popen(["smtp-source", "-s", "4", "-m", str(count), "-N", "-f", "sender@example.co.jp",
                                "-t", "soumu@" + H.LGWAN_DOMAIN, "-F", msgfile, "127.0.0.1:%d" % edge.port],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_until(lambda: sink.count >= count // 5, 180, "the first deliveries")
        before = sink.count
        m.kill9()
        print("kill -9 of the milter after %d deliveries" % before)
        time.sleep(3)
        during = sink.count
        m.start()
        out, _ = src.communicate(timeout=300)
        if src.returncode != 0:
            print("FAIL: smtp-source exit %d: %s" % (src.returncode, out.decode(errors="replace")[-500:]))
            fails += 1
        edge.flush()
        ok = wait_until(lambda: sink.count >= count and edge.queued() == 0 and app.queued() == 0, 300,
                        "all %d deliveries" % count)
        time.sleep(3)  # anything duplicated would arrive now
        fails += not ok
        msgs = sink.messages()
        seen = {}
        bad = 0
        for out, env in msgs:
            for r in env["to"]:
                seen[r] = seen.get(r, 0) + 1
            if b"X-Sekisho-Sanitized:" not in out.split(b"\n\n", 1)[0] and b"X-Sekisho-Sanitized:" not in out.split(b"\r\n\r\n", 1)[0]:
                bad += 1
            elif oracle.check(orig, out):
                bad += 1
            if b"0M8R4KGxGuEAAAAA" in out:
                bad += 1
        dup = sum(1 for v in seen.values() if v > 1)
        deferred = edge.log().count("status=deferred")
        tempfailed = app.log().count("milter-reject") + app.log().count("4.3.0") + app.log().count("4.7.1")
        print("kill: %d sent, %d delivered (%d distinct), %d duplicated, %d unsanitised/oracle failures, "
              "%d still queued; %d deliveries by the kill, %d in the 3 s after; %d deferrals at the sender, "
              "%d tempfail answers"
              % (count, len(msgs), len(seen), dup, bad, edge.queued() + app.queued(), before, during - before,
                 deferred, tempfailed))
        if len(seen) != count or len(msgs) != count:
            print("FAIL: %d of %d messages delivered" % (len(seen), count))
            fails += 1
        if dup or bad:
            fails += 1
        if deferred == 0 or tempfailed == 0:
            print("FAIL: the kill did not hit mail in flight (no deferral): the test proves nothing")
            fails += 1
    finally:
        if src and src.poll() is None:
            src.kill()
            src.wait()
        edge.stop()
        app.stop()
        m.stop()
        sink.stop()
        if fails:
            print(app.log()[-2000:])
    return fails


def main():
    milter = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    ensure_tools()
    tmp = tempfile.mkdtemp(prefix="san-postfix-")
    os.chmod(tmp, 0o755)
    fails = 0
    try:
        fails += part_corpus(tmp, milter)
        fails += part_kill(tmp, milter, count)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("FAIL" if fails else "PASS")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
