#!/usr/bin/env python3
"""sekisho-cdrd end to end (issue 14, the worker and the queue).

usage: cdrd_test.py CDRD CLI LIBEXEC LOGEXPORT MILTER [PARTS...]

Parts (default all):
  corpus   real files of the shared corpus (images, OOXML, a few PDFs and
           legacy files) quarantined and queued (job files written here, by
           the documented format), the daemon run with --once: one report
           per job beside the original, a copy exactly when the report says
           ok, judged by PIL (images: decodes, same size), Python's zipfile
           (OOXML: no macro/ActiveX/OLE part; archives; no
           SEKISHO-CDR-MARKER) and qpdf (PDFs, no active keys);
           the report's hashes match the files; one file.sanitized record
           per job; the chain verifies (sekisho-logexport verify).
  retry    a converter program that crashes every time: the job ends
           "failed" after --max-attempts, with a report, and never loops.
  stop     SIGTERM during a conversion: the daemon exits 0 within its
           --stop-timeout and the job is back in new/ with its attempt not
           counted.
  yield    mail first: while jobs keep arriving, no new conversion starts;
           they are all done once the burst is over.
  kill     kill -9 of the daemon at 25 random moments (fixed seed) while
           it works through a queue; at every kill nothing partial is
           visible under a final name; after a last clean run every job is
           done exactly once in effect (one report per original, the same
           copies as a clean run), the queue and the work directory empty.
  postfix  the milter in a private Postfix (tools of the sanitize-postfix
           test): one mail with three attachments gives three jobs; the
           daemon makes the copies; with --cdr-queue-max 1 the mail is still
           delivered and the jobs that did not fit are file.sanitized
           records "not-queued" in the milter's chain.
Needs root for postfix (skipped without it, or without Postfix, outside CI)."""
import glob
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

CORPUS = "/work/shared/corpus/files"
HERE = os.path.dirname(os.path.abspath(__file__))
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL " + what, flush=True)
    return cond


def sha(data):
    return hashlib.sha256(data).hexdigest()


def make_key(path):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)


class Env:
    """A quarantine, a queue, an audit chain and its key under one directory."""

    def __init__(self, root, args):
        self.root = root
        self.cdrd, self.cli, self.libexec, self.logexport = args[:4]
        self.q = os.path.join(root, "quarantine")
        self.queue = os.path.join(root, "queue")
        self.audit = os.path.join(root, "audit")
        self.key = os.path.join(root, "audit.key")
        os.makedirs(self.q, mode=0o700)
        for d in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.queue, d))
        make_key(self.key)
        self.jobs = {}  # id -> (sha, name)
        self.seq = 0

    def quarantine(self, data):
        s = sha(data)
        p = os.path.join(self.q, s + ".data")
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)
        return s

    def enqueue(self, data, name):
        """A job in the documented format (docs/cdr.md): tmp/ then rename."""
        s = self.quarantine(data)
        self.seq += 1
        jid = "%016x-%08x" % (time.time_ns() + self.seq, random.getrandbits(32))
        job = {"v": 1, "id": jid, "sha256": s, "name": name, "type": None, "message_id": "<t@test>",
               "queue_id": "T%d" % self.seq, "rcpt": ["soumu@lgwan.test"], "enqueued": int(time.time()),
               "attempts": 0}
        tmp = os.path.join(self.queue, "tmp", jid)
        with open(tmp, "w") as f:
            json.dump(job, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.queue, "new", jid))
        self.jobs[jid] = (s, name)
        return jid

    def argv(self, *extra, cli=None):
        return [self.cdrd, "--queue", self.queue, "--quarantine", self.q, "--audit-dir", self.audit,
                "--audit-key", self.key, "--cdr", cli or self.cli, "--libexec", self.libexec,
                "--workers", "2"] + list(extra)

    def run_once(self, *extra, cli=None, timeout=600):
        p = subprocess.run(self.argv("--once", *extra, cli=cli), capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            print(p.stderr[-3000:])
        return p

    def records(self, event="file.sanitized", audit=None):
        out = []
        for f in sorted(glob.glob(os.path.join(audit or self.audit, "*.jsonl"))):
            for line in open(f, encoding="utf-8"):
                r = json.loads(line)
                if r.get("event") == event:
                    out.append(r["data"])
        return out

    def verify(self, audit=None):
        p = subprocess.run([self.logexport, "verify", "--key", self.key, audit or self.audit],
                           capture_output=True, text=True)
        return p.returncode == 0, p.stdout + p.stderr

    def queue_files(self):
        return {d: sorted(os.listdir(os.path.join(self.queue, d))) for d in ("tmp", "new", "cur")}

    def outdir(self):
        return os.path.join(self.q, "cdr")


def judge_copy(path, data_in, copy, report, what):
    """The independent oracles: PIL for images, zipfile for OOXML and
    archives, qpdf for PDFs."""
    t = report.get("out_type", "")
    if t == "pdf":
        check(copy.startswith(b"%PDF-"), what + ": a PDF")
        for bad in (b"/JavaScript", b"/JS", b"/OpenAction", b"/Launch", b"/EmbeddedFile", b"/URI", b"/AA"):
            check(bad not in copy, "%s: %s in the copy" % (what, bad.decode()))
        if shutil.which("qpdf"):
            p = subprocess.run(["qpdf", "--check", "-"], input=copy, capture_output=True)
            if p.returncode == 2:  # older qpdf: no stdin
                tf = tempfile.NamedTemporaryFile(suffix=".pdf")
                tf.write(copy)
                tf.flush()
                p = subprocess.run(["qpdf", "--check", tf.name], capture_output=True)
            check(p.returncode == 0, "%s: qpdf --check (%d)" % (what, p.returncode))
        return
    if t == "zip":
        z = zipfile.ZipFile(io.BytesIO(copy))
        check(z.testzip() is None, what + ": zip CRCs")
        marker = [n for n in z.namelist() if b"SEKISHO-CDR-MARKER" in z.read(n)]
        check(not marker, "%s: SEKISHO-CDR-MARKER in %s" % (what, marker))
        return
    if t in ("png", "jpeg"):
        try:
            from PIL import Image
        except ImportError:
            return
        with Image.open(io.BytesIO(copy)) as im:
            im.load()
            with Image.open(io.BytesIO(data_in)) as orig:
                check(im.size == orig.size, "%s: image size %s, original %s" % (what, im.size, orig.size))
            check(im.format.lower() == t, "%s: format %s, report %s" % (what, im.format, t))
    elif t in ("docx", "xlsx", "pptx", "dotx", "xltx", "potx", "ppsx"):
        z = zipfile.ZipFile(io.BytesIO(copy))
        check(z.testzip() is None, what + ": zip CRCs")
        names = z.namelist()
        bad = [n for n in names if any(k in n.lower() for k in ("vbaproject", "activex", "embeddings/"))]
        check(not bad, "%s: active parts left: %s" % (what, bad))
        marker = [n for n in names if b"SEKISHO-CDR-MARKER" in z.read(n)]
        check(not marker, "%s: SEKISHO-CDR-MARKER in %s" % (what, marker))
        check("[Content_Types].xml" in names, what + ": content types")


def check_results(env, expect_jobs, label):
    """Every job: a report beside its original; a copy exactly when ok;
    hashes right; nothing else under cdr/ but .work (empty)."""
    out = env.outdir()
    listing = sorted(os.listdir(out))
    check(os.listdir(os.path.join(out, ".work")) == [], label + ": .work is empty")
    allowed = set([".work"])
    oks = 0
    for jid, (s, name) in expect_jobs.items():
        rp = os.path.join(out, s + ".report.json")
        if not check(os.path.exists(rp), "%s: %s (%s): no report" % (label, name, jid)):
            continue
        allowed.add(s + ".report.json")
        rep = json.load(open(rp, encoding="utf-8"))
        data_in = open(os.path.join(env.q, s + ".data"), "rb").read()
        copies = [f for f in listing if f.startswith(s + ".copy.")]
        allowed.update(copies)
        if rep["result"] == "ok":
            oks += 1
            if not check(copies == [s + ".copy." + rep["out_ext"]], "%s: %s: copies %s for ext %s"
                         % (label, name, copies, rep["out_ext"])):
                continue
            copy = open(os.path.join(out, copies[0]), "rb").read()
            check(rep["in_sha256"] == s, "%s: %s: in_sha256" % (label, name))
            check(rep["out_sha256"] == sha(copy) and rep["out_bytes"] == len(copy),
                  "%s: %s: out_sha256/out_bytes match the copy" % (label, name))
            if rep.get("kind") != "text":  # clean text may come out byte for byte
                check(copy != data_in, "%s: %s: the copy is not the original" % (label, name))
            judge_copy(name, data_in, copy, rep, "%s: %s" % (label, name))
        else:
            check(not copies, "%s: %s: refused (%s) but a copy exists" % (label, name, rep["result"]))
            check(rep.get("reason_ja") and rep.get("reason_en"), "%s: %s: reason texts" % (label, name))
    extra = sorted(set(listing) - allowed)
    check(not extra, "%s: unexpected files under cdr/: %s" % (label, extra))
    return oks


def corpus_files(limit_per_dir=None):
    picks = []
    for sub, pattern in (("image", "*"), ("office", "*"), ("pdf", "*.pdf"), ("text", "*"), ("archive", "*.zip")):
        fs = sorted(f for f in glob.glob(os.path.join(CORPUS, sub, pattern)) if os.path.isfile(f))
        picks += fs[:limit_per_dir] if limit_per_dir else fs
    return picks


def part_corpus(args, tmp):
    env = Env(os.path.join(tmp, "corpus"), args)
    files = [f for f in corpus_files() if "/pdf/" not in f]
    files += sorted(glob.glob(os.path.join(CORPUS, "pdf", "*.pdf")))[:6]
    for f in files:
        env.enqueue(open(f, "rb").read(), os.path.basename(f))
    # the same attachment mailed twice: converted once, both jobs recorded
    dup = env.enqueue(open(files[0], "rb").read(), os.path.basename(files[0]))
    t0 = time.monotonic()
    p = env.run_once()
    secs = time.monotonic() - t0
    check(p.returncode == 0, "corpus: exit 0")
    oks = check_results(env, env.jobs, "corpus")
    recs = env.records()
    by_job = {}
    for r in recs:
        by_job.setdefault(r["job_id"], []).append(r)
    check(sorted(by_job) == sorted(env.jobs) and all(len(v) == 1 for v in by_job.values()),
          "corpus: one file.sanitized record per job (%d records, %d jobs)" % (len(recs), len(env.jobs)))
    for jid, rs in by_job.items():
        s = env.jobs.get(jid, ("",))[0]
        r = rs[0]
        check(r["in_sha256"] == s and r["quarantine_id"] == s[:16], "corpus: record %s names its original" % jid)
        check(r["result"] in ("ok", "no-copy"), "corpus: record %s result %s" % (jid, r["result"]))
        check((r["result"] == "ok") == bool(r["copy"]), "corpus: record %s copy iff ok" % jid)
    check(by_job.get(dup, [{}])[0].get("reused") is True, "corpus: the second job of the same content is reused")
    ok, out = env.verify()
    check(ok, "corpus: the chain verifies: " + out[-500:])
    # the auditors' export knows the record's columns
    csv_path = os.path.join(env.root, "export.csv")
    p = subprocess.run([env.logexport, "export", "--key", env.key, "--headers", "ja", "-o", csv_path, env.audit],
                       capture_output=True, text=True)
    csv_text = open(csv_path, encoding="utf-8-sig").read() if os.path.exists(csv_path) else ""
    check(p.returncode == 0 and "無害化コピー" in csv_text.splitlines()[0] and csv_text.count("file.sanitized") ==
          len(recs), "corpus: sekisho-logexport export has the file.sanitized columns (%s)" % p.stderr[-200:])
    check(env.queue_files() == {"tmp": [], "new": [], "cur": []}, "corpus: the queue is empty")
    print("corpus: %d jobs, %d copies, %d without copy, %.1f s with 2 workers"
          % (len(env.jobs), oks, len(env.jobs) - oks, secs), flush=True)


def write_script(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)


def part_retry(args, tmp):
    env = Env(os.path.join(tmp, "retry"), args)
    crash = os.path.join(tmp, "crashing-cdr")
    write_script(crash, "kill -SEGV $$\n")
    jid = env.enqueue(open(os.path.join(CORPUS, "image", "testPNG.png"), "rb").read(), "testPNG.png")
    p = env.run_once("--no-self-test", "--max-attempts", "3", cli=crash, timeout=120)
    check(p.returncode == 0, "retry: exit 0")
    s = env.jobs[jid][0]
    rp = os.path.join(env.outdir(), s + ".report.json")
    rep = json.load(open(rp)) if os.path.exists(rp) else {}
    check(rep.get("result") == "attempts-exhausted" and rep.get("attempts") == 3,
          "retry: the report says attempts-exhausted after 3 attempts (%s)" % rep)
    recs = env.records()
    check(len(recs) == 1 and recs[0]["result"] == "failed" and recs[0]["attempts"] == 3,
          "retry: one record, failed, 3 attempts (%s)" % recs)
    check(p.stderr.count("again later") == 2, "retry: two retries logged")
    check(env.queue_files() == {"tmp": [], "new": [], "cur": []}, "retry: the queue is empty")
    # a later job of the same content tries again (a failure is ours, not the file's)
    env.enqueue(open(os.path.join(CORPUS, "image", "testPNG.png"), "rb").read(), "testPNG.png")
    p = env.run_once()
    check(json.load(open(rp)).get("result") == "ok", "retry: a new job of the same file converts it")
    # the start-up check refuses a sandbox that does not work
    p = subprocess.run(env.argv(cli=crash), capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "refusing to start" in p.stderr, "retry: start-up check refuses (%d: %s)"
          % (p.returncode, p.stderr.strip()[-200:]))


def part_stop(args, tmp):
    env = Env(os.path.join(tmp, "stop"), args)
    slow = os.path.join(tmp, "slow-cdr")
    write_script(slow, "sleep 60\n")
    jid = env.enqueue(open(os.path.join(CORPUS, "image", "testPNG.png"), "rb").read(), "testPNG.png")
    d = subprocess.Popen(env.argv("--no-self-test", "--stop-timeout", "1", cli=slow), stderr=subprocess.PIPE,
                         text=True)
    end = time.monotonic() + 20
    while time.monotonic() < end and not env.queue_files()["cur"]:
        time.sleep(0.05)
    time.sleep(0.3)
    t0 = time.monotonic()
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(15)
    except subprocess.TimeoutExpired:
        d.kill()
        rc = d.wait()
    took = time.monotonic() - t0
    err = d.stderr.read()
    check(rc == 0 and took < 5, "stop: exit %d after %.1f s" % (rc, took))
    q = env.queue_files()
    check(q["new"] == [jid] and not q["cur"], "stop: the job is back in new/ (%s)" % q)
    job = json.load(open(os.path.join(env.queue, "new", jid)))
    check(job["attempts"] == 0, "stop: the stopped attempt does not count (%d)" % job["attempts"])
    check("put back" in err, "stop: logged")
    check(not subprocess.run(["pgrep", "-f", slow], capture_output=True).stdout, "stop: no conversion left running")


def small_png(i):
    """A distinct small PNG (no PIL needed)."""
    import struct
    import zlib
    w, h = 64, 48
    raw = b"".join(b"\0" + bytes(((x * 7 + y + i * 13) & 0xff) for x in range(w * 3)) for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def part_yield(args, tmp):
    """Mail first: while jobs keep arriving (every 50 ms for 2 s, as the
    milter queues them during a burst), the worker starts no conversion
    but the ones it had begun; afterwards it does them all."""
    env = Env(os.path.join(tmp, "yield"), args)
    d = None
    try:
        d = subprocess.Popen(env.argv("--no-self-test", "--yield-ms", "250"), stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        end = time.monotonic() + 2.0
        i = 0
        while time.monotonic() < end:
            env.enqueue(small_png(i), "y%d.png" % i)
            i += 1
            time.sleep(0.05)
        during = len([f for f in os.listdir(env.outdir()) if f.endswith(".report.json")])
        t0 = time.monotonic()
        while time.monotonic() < t0 + 30 and (env.queue_files()["new"] or env.queue_files()["cur"]):
            time.sleep(0.1)
        after = len([f for f in os.listdir(env.outdir()) if f.endswith(".report.json")])
        check(during <= 2, "yield: at most one conversion per worker while jobs arrive (%d of %d)" % (during, i))
        check(after == i, "yield: all %d done once the burst is over (%d)" % (i, after))
        print("yield: %d jobs in a 2 s burst, %d converted during it, all %d %.1f s after" % (i, during, after,
              time.monotonic() - t0), flush=True)
    finally:
        if d:
            d.terminate()
            d.wait(30)


def snapshot(env):
    """At a kill: whatever is under a final name must be whole: a report
    parses, a copy matches the out_sha256 of its report when there is one
    (a copy is published before its report)."""
    bad = []
    out = env.outdir()
    for f in os.listdir(out):
        if f == ".work":
            continue
        p = os.path.join(out, f)
        if f.endswith(".report.json"):
            try:
                json.load(open(p, encoding="utf-8"))
            except ValueError:
                bad.append(f)
        elif ".copy." in f:
            rp = os.path.join(out, f.split(".")[0] + ".report.json")
            if os.path.exists(rp):
                try:
                    rep = json.load(open(rp, encoding="utf-8"))
                    if rep.get("out_sha256") != sha(open(p, "rb").read()):
                        bad.append(f)
                except ValueError:
                    pass
        else:
            bad.append(f)
    return bad


def kill_inputs(rng):
    """Corpus files and 60 distinct generated photos and drawings (so
    that there is work to interrupt: each a real conversion)."""
    out = [(os.path.basename(f), open(f, "rb").read()) for f in corpus_files(4)]
    try:
        from PIL import Image
    except ImportError:
        return out
    for i in range(60):
        w, h = rng.randint(300, 900), rng.randint(200, 700)
        im = Image.frombytes("RGB", (w, h), bytes(rng.getrandbits(8) for _ in range(w * h * 3)))
        b = io.BytesIO()
        im.save(b, "JPEG" if i % 2 else "PNG")
        out.append(("gen-%02d.%s" % (i, "jpg" if i % 2 else "png"), b.getvalue()))
    return out


def part_kill(args, tmp):
    rng = random.Random(14)
    inputs = kill_inputs(rng)
    # the reference: a clean run of the same files
    ref = Env(os.path.join(tmp, "kill-ref"), args)
    for name, data in inputs:
        ref.enqueue(data, name)
    ref.run_once()
    want = {f: open(os.path.join(ref.outdir(), f), "rb").read() for f in os.listdir(ref.outdir()) if f != ".work"}

    env = Env(os.path.join(tmp, "kill"), args)
    for name, data in inputs:
        env.enqueue(data, name)
    kills = busy = 0
    partial = []
    for i in range(25):
        dlog = open(os.path.join(env.root, "daemon.log"), "a")
        d = subprocess.Popen(env.argv(*(["--no-self-test"] if i % 2 else [])), stdout=subprocess.DEVNULL,
                             stderr=dlog)
        dlog.close()
        time.sleep(rng.uniform(0.03, 0.4))
        d.send_signal(signal.SIGKILL)
        d.wait()
        kills += 1
        busy += bool(env.queue_files()["cur"])
        partial += snapshot(env)
        if not env.queue_files()["new"] and not env.queue_files()["cur"]:
            break
    # conversions of the killed worker died with it (PR_SET_PDEATHSIG)
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", "sekisho-cdr .*--report " + env.q], capture_output=True, text=True)
    check(not left.stdout.strip(), "kill: no conversion outlived its worker (%s)" % left.stdout.strip())
    p = env.run_once()
    check(p.returncode == 0, "kill: the last run ends cleanly")
    check(not partial, "kill: partial files under final names at a kill: %s" % partial[:5])
    check_results(env, env.jobs, "kill")
    got = {f: open(os.path.join(env.outdir(), f), "rb").read() for f in os.listdir(env.outdir()) if f != ".work"}
    # reports carry times (ms); compare copies byte for byte, reports by result
    same = sorted(k for k in want if ".copy." in k) == sorted(k for k in got if ".copy." in k) and all(
        want[k] == got[k] for k in want if ".copy." in k)
    diff = sorted(k for k in set(want) | set(got) if ".copy." in k and want.get(k) != got.get(k))
    check(same, "kill: the same copies as a clean run (differ: %s)" % diff[:5])
    rw = {k: json.loads(v)["result"] for k, v in want.items() if k.endswith(".report.json")}
    rg = {k: json.loads(v)["result"] for k, v in got.items() if k.endswith(".report.json")}
    if rw != rg:
        print("".join(l for l in open(os.path.join(env.root, "daemon.log")) if "again later" in l or "failed" in l))
    check(rw == rg, "kill: the same results as a clean run (%s)"
          % [(k[:16], rw.get(k), rg.get(k)) for k in sorted(set(rw) | set(rg)) if rw.get(k) != rg.get(k)][:5])
    recs = env.records()
    per = {}
    for r in recs:
        per[r["job_id"]] = per.get(r["job_id"], 0) + 1
    check(set(per) == set(env.jobs), "kill: every job has a record")
    dup = sum(1 for v in per.values() if v > 1)
    check(all(v <= 2 for v in per.values()), "kill: at most one repeated record per job")
    ok, out = env.verify()
    check(ok, "kill: the chain verifies after %d kills: %s" % (kills, out[-300:]))
    check(env.queue_files()["new"] == [] and env.queue_files()["cur"] == [], "kill: the queue is empty")
    check(kills >= 10 and busy >= 5, "kill: enough kills landed during conversions (%d, %d)" % (kills, busy))
    print("kill: %d jobs, %d kills -9 (%d with jobs claimed), %d records (%d jobs recorded twice)"
          % (len(env.jobs), kills, busy, len(recs), dup), flush=True)


def mail_with(parts):
    from email.message import EmailMessage
    m = EmailMessage()
    m["From"] = "sender@example.co.jp"
    m["To"] = "soumu@lgwan.test"
    m["Subject"] = "CDR test"
    m.set_content("添付をご確認ください。\n")
    for path, ctype in parts:
        maintype, subtype = ctype.split("/")
        m.add_attachment(open(path, "rb").read(), maintype=maintype, subtype=subtype,
                         filename=os.path.basename(path))
    return m.as_bytes()


def part_postfix(args, tmp):
    if os.geteuid() != 0 or not shutil.which("postconf") and not os.path.exists("/usr/sbin/postconf"):
        if os.environ.get("CI") == "true":
            check(False, "postfix: needs root and Postfix")
        else:
            print("SKIP postfix: needs root and Postfix")
        return
    sys.path.insert(0, os.path.join(HERE, "..", "sanitizer"))
    import pfharness as H
    import smtplib
    milter_exe = args[4]
    parts = [(os.path.join(CORPUS, "image", "testPNG.png"), "image/png"),
             (os.path.join(CORPUS, "office", "gen-macro.docm"), "application/vnd.ms-word.document.macroEnabled.12"),
             (os.path.join(CORPUS, "image", "testJPEG_GEO.jpg"), "image/jpeg")]
    msg = mail_with(parts)
    for label, qmax in (("postfix", 100), ("postfix-full", 1)):
        base = os.path.join(tmp, label)
        os.makedirs(base)
        os.chmod(base, 0o755)
        env = Env(os.path.join(base, "cdr"), args)
        sink = H.Sink(os.path.join(base, "sink"))
        mdir = os.path.join(base, "m")
        m = H.Milter(milter_exe, mdir, os.path.join(base, "maudit"), env.key, unix=True,
                     extra=["--cdr-queue", env.queue, "--cdr-queue-max", str(qmax)])
        pf = H.Postfix(os.path.join(base, "pf"), sink.port, m.spec)
        try:
            m.start()
            pf.start()
            t0 = time.monotonic()
            with smtplib.SMTP("127.0.0.1", pf.port, timeout=60) as s:
                s.sendmail("sender@example.co.jp", ["soumu@lgwan.test"], msg)
            end = time.monotonic() + 60
            while time.monotonic() < end and sink.count < 1:
                time.sleep(0.1)
            check(sink.count == 1, "%s: the mail is delivered (%.1f s)" % (label, time.monotonic() - t0))
            m.stop()
            jobs = env.queue_files()["new"]
            shas = {sha(open(p, "rb").read()) for p, _ in parts}
            if qmax >= 3:
                check(len(jobs) == 3, "%s: three jobs queued (%s)" % (label, jobs))
                got = {}
                for j in jobs:
                    job = json.load(open(os.path.join(env.queue, "new", j), encoding="utf-8"))
                    got[job["sha256"]] = job
                    env.jobs[j] = (job["sha256"], job["name"])
                check(set(got) == shas, "%s: the jobs name the attachments' SHA-256" % label)
                check(all(j["rcpt"] == ["<soumu@lgwan.test>"] or j["rcpt"] == ["soumu@lgwan.test"]
                          for j in got.values()), "%s: recipients in the jobs" % label)
                check(all(j["queue_id"] and j["message_id"] for j in got.values()), "%s: queue and message ids"
                      % label)
                # the worker on the milter's quarantine
                env.q = m.qdir
                p = env.run_once()
                check(p.returncode == 0, label + ": the worker ran")
                oks = check_results(env, env.jobs, label)
                out = env.outdir()
                check(all(glob.glob(os.path.join(out, sha(open(p, "rb").read()) + ".copy.*"))
                          for p, t in parts if t.startswith("image/")),
                      "%s: copies of both images (%d copies)" % (label, oks))
                mrecs = env.records("file.sanitized", os.path.join(base, "maudit"))
                check(mrecs == [], "%s: no not-queued record" % label)
            else:
                check(len(jobs) == 1, "%s: one job fits (%s)" % (label, jobs))
                mrecs = env.records("file.sanitized", os.path.join(base, "maudit"))
                check(len(mrecs) == 2 and all(r["result"] == "not-queued" and r["reason"] == "queue-full"
                                              for r in mrecs), "%s: two not-queued records (%s)" % (label, mrecs))
                check({r["in_sha256"] for r in mrecs} < shas, "%s: the records name the attachments" % label)
                ok, out = env.verify(os.path.join(base, "maudit"))
                check(ok, "%s: the milter's chain verifies: %s" % (label, out[-300:]))
        finally:
            pf.stop()
            m.stop()
            sink.stop()


PARTS = {"corpus": part_corpus, "retry": part_retry, "stop": part_stop, "yield": part_yield, "kill": part_kill,
         "postfix": part_postfix}


def main():
    args = sys.argv[1:6]
    want = sys.argv[6:] or list(PARTS)
    if not os.path.isdir(CORPUS):
        print("corpus missing at " + CORPUS)
        sys.exit(1 if os.environ.get("CI") == "true" else 77)
    tmp = tempfile.mkdtemp(prefix="cdrd-test-")
    os.chmod(tmp, 0o755)
    random.seed(14)
    try:
        for name in want:
            t0 = time.monotonic()
            PARTS[name](args, tmp)
            print("%s: done in %.1f s" % (name, time.monotonic() - t0), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d checks, %d failures" % (checks, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
