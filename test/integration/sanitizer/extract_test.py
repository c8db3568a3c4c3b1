#!/usr/bin/env python3
"""Issue 11, "nothing extractable gets through": independent readers judge
sekisho-sanitize's outputs.

usage: extract_test.py SANITIZE SOURCE
  SOURCE = mib     the published evasion mails of mime-is-broken
                   ($SEKISHO_SOURCE_ROOT/../shared/corpus/mime-is-broken/
                   hide-content.d and hide-filename.d, every Maildir
                   subdirectory), read in place
           gen     test/golden/sanitizer/make_evasion.py, written to a
                   temporary directory
           corpus  the real mails of ../shared/corpus/mail
A missing corpus skips (77), and fails under CI=true.

For every mail, sekisho-sanitize runs with a temporary quarantine; on its
OUTPUT
  - each reader of readers.py sees exactly one text/plain body and no
    attachment (invariant 1),
  - blobscan.py finds no encoded payload in any reader's body (invariant 2),
  - linkscan.py finds no live link in it,
  - the payload is in nothing a reader extracted nor in any decoded blob
    (mib: eicar.zip, by its MD5 and by the EICAR text inside any zip entry;
    gen: the X-Payload-SHA256 payload, for the classes that carry one).
On the ORIGINAL (gen only) the trick must be shown to work: a reader (or
blobscan on what a reader extracted) finds the payload, blobscan finds it
for the encoded-in-text classes, linkscan finds a live link for the link
classes; otherwise the generator is broken and the test fails.

One line per failure, `FAIL <mail>: <reader or check>: <why>`, then a summary
(by check and by class) with timings; exit 1 on any failure.  Mails are
judged two at a time (a process pool of 2: the machine is shared).
"""
import collections
import concurrent.futures
import hashlib
import html
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(HERE, "../../.."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test/golden/sanitizer"))
import blobscan  # noqa: E402
import linkscan  # noqa: E402
import postfix_test as PT  # noqa: E402  (skip_or_fail)
import readers  # noqa: E402

# eicar.zip of mime-is-broken (186 bytes, as every valid(3) mail of
# hide-content.d decodes it).  The md5() in X-Payload-Id is NOT this: it is
# the toolkit's checksum of the mail's MIME headers and body (mail_chksum in
# its tools/MimeGen/Common.pm), for noticing a mail changed in transfer.
EICAR_ZIP_MD5 = "806fb117d8a368d81c613f0f81bb99f5"
EICAR_TEXT = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
# hide-filename.d's "file.zip": it hides a name, not content
FILE_ZIP = b"This could be a file named 'test.zip'"


def zip_members(data):
    """Contents of every local zip entry found in data (also in a truncated
    or damaged zip), inflated up to 1 MiB each."""
    out = []
    at = data.find(b"PK\x03\x04")
    while at >= 0 and at + 30 <= len(data):
        _, _, _, method, _, _, _, csize, _, nlen, xlen = struct.unpack("<4sHHHHHIIIHH", data[at:at + 30])
        start = at + 30 + nlen + xlen
        body = data[start:start + csize] if csize else data[start:]
        if method == 0:
            out.append(body)
        elif method == 8:
            try:
                out.append(zlib.decompressobj(-15).decompress(body, 1 << 20))
            except zlib.error:
                pass
        at = data.find(b"PK\x03\x04", at + 4)
    return out


def is_eicar(data):
    if hashlib.md5(data).hexdigest() == EICAR_ZIP_MD5:
        return "eicar.zip (MD5)"
    if EICAR_TEXT in data:
        return "the EICAR text"
    if any(EICAR_TEXT in m for m in zip_members(data)):
        return "a zip holding the EICAR text"
    return None


def contains(data, payload):
    # text payloads may come back with other line ends
    return payload in data or payload.replace(b"\r\n", b"\n") in data.replace(b"\r\n", b"\n")


def sanitize(exe, mail):
    with tempfile.TemporaryDirectory(prefix="san-extract-") as q:
        try:
            return subprocess.run([exe, "--quarantine", os.path.join(q, "q")], input=mail, capture_output=True,
                                  timeout=120)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(exe, -1, b"", b"timed out after 120 s")


def bodies(results):
    """[(reader, text)] of every distinct text body (as UTF-8 text)."""
    out, seen = [], set()
    for name, r in results.items():
        for it in r.items:
            if it.kind == "text" and it.data not in seen:
                seen.add(it.data)
                out.append((name, it.data.decode("utf-8", "replace")))
    return out


def scan_items(results, t):
    """Blobs and live links in everything the readers extracted from an
    original (HTML also after its character references are resolved)."""
    blobs, links, seen = [], [], set()
    for name, r in results.items():
        for it in r.items:
            if it.data in seen:
                continue
            seen.add(it.data)
            text = it.data.decode("utf-8", "replace")
            t0 = time.monotonic()
            found = blobscan.scan(it.data)
            if it.ctype == "text/html":
                found += blobscan.scan(html.unescape(text))
            t["blobscan"] += time.monotonic() - t0
            blobs += [(name, b) for b in found]
            t0 = time.monotonic()
            links += [(name, x) for x in linkscan.find(text)]
            t["linkscan"] += time.monotonic() - t0
    return blobs, links


def judge_output(out, payload_match, t):
    """Failures [(check, why)] of one sanitised output."""
    fails = []
    results = readers.read_all(out)
    for name, r in results.items():
        t[name] += r.seconds
        ok, why = readers.one_text_body(r)
        if not ok:
            fails.append((name, why))
    blobs = []
    for name, text in bodies(results):
        t0 = time.monotonic()
        found = blobscan.scan(text)
        t["blobscan"] += time.monotonic() - t0
        for b in found:
            blobs.append(b)
            fails.append(("blobscan", "%s at line %d of %s's body: %d bytes, %s, %r" % (
                b.kind, b.line, name, len(b.data), b.why, b.data[:12])))
        t0 = time.monotonic()
        for link in linkscan.find(text):
            fails.append(("linkscan", "%s in %s's body: %r" % (link.rule, name, link.text)))
        t["linkscan"] += time.monotonic() - t0
    if payload_match:
        for name, r in results.items():
            for it in r.items:
                what = payload_match(it.data)
                if what:
                    fails.append(("payload", "%s extracted %s (%s)" % (name, what, readers.describe(it))))
        for b in blobs:
            what = payload_match(b.data)
            if what:
                fails.append(("payload", "blobscan decoded %s (%s)" % (what, b.kind)))
    return fails


def prove(orig, proof, payload, t):
    """Why the trick is NOT shown to work on the original ('' if it is)."""
    results = readers.read_all(orig)
    for name, r in results.items():
        t[name] += r.seconds
    blobs, links = scan_items(results, t)
    if proof == "link":
        return "" if links else "no reader's text has a live link"
    by_blob = [n for n, b in blobs if contains(b.data, payload)]
    if proof == "blob":
        return "" if by_blob else "blobscan finds no payload in any reader's extraction (blobs: %s)" % (
            [(b.kind, len(b.data)) for _, b in blobs][:4])
    by_reader = [n for n, r in results.items() if any(contains(i.data, payload) for i in r.items)]
    return "" if by_reader or by_blob else "no reader extracts the payload, blobscan does not find it"


def check_mail(job):
    """(label, group, the sanitiser's result, failures, timings) of one
    mail; runs in a worker."""
    exe, label, group, path, proof, payload, kind = job
    t = collections.Counter()
    fails = []
    with open(path, "rb") as f:
        orig = f.read()
    match = None
    if kind == "mib":
        group = group.split(".")[0] + ":" + mib_family(orig)
        match = is_eicar if group.startswith("hide-content") else (
            lambda d: "file.zip's bytes" if FILE_ZIP in d else None)
    elif kind == "gen":
        want = re.search(rb"(?:^|[\r\n])X-Payload-SHA256: ([0-9a-f]{64})", orig)  # also with bare-CR line ends
        if not want or hashlib.sha256(payload).hexdigest() != want.group(1).decode():
            fails.append(("generator", "X-Payload-SHA256 does not match the payload"))
        why = prove(orig, proof, payload, t)
        if why:
            fails.append(("original", "trick not shown to work (%s proof): %s" % (proof, why)))
        if proof != "link":  # a link class's payload is the link text, which a defanged form keeps
            def match(d):
                return "the payload" if contains(d, payload) else None
    t0 = time.monotonic()
    p = sanitize(exe, orig)
    t["sanitize"] += time.monotonic() - t0
    result = re.search(rb"result=(\w+)", p.stdout.split(b"\n\n", 1)[0])
    result = result.group(1).decode() if result else "exit %d" % p.returncode
    if p.returncode not in (0, 1):
        fails.append(("sanitizer", "exit %d, %s" % (p.returncode, p.stderr.decode("utf-8", "replace").strip()[:200])))
    else:
        fails += judge_output(p.stdout, match, t)
    return label, group, result, fails, t


def mib_family(mail):
    """The trick family of a mime-is-broken mail, for the summary: the start
    of its X-Payload-Id ("multipart-double" of "multipart-double_boundary-...")."""
    m = re.search(rb"^X-Payload-Id:\s*(\S+)", mail, re.M | re.I)
    if not m:
        return "?"
    words = m.group(1).decode("ascii", "replace").split("-")
    return "-".join([words[0]] + [re.split(r"[.:,*_=]", w)[0] for w in words[1:2]])


def jobs(exe, kind, tmp):
    if kind == "mib":
        src = os.path.join(ROOT, "..", "shared", "corpus", "mime-is-broken")
        if not os.path.isdir(src):
            PT.skip_or_fail("no mime-is-broken corpus at %s" % src)
        out = []
        for d in ("hide-content.d", "hide-filename.d"):
            # the published Maildirs keep their mails in new/ (hide-content)
            # and cur/ (hide-filename): read both
            for sub in ("cur", "new"):
                base = os.path.join(src, d, sub)
                for f in sorted(os.listdir(base)) if os.path.isdir(base) else []:
                    out.append((exe, "%s/%s/%s" % (d, sub, f), d, os.path.join(base, f), None, None, kind))
        return out
    if kind == "corpus":
        src = os.path.join(ROOT, "..", "shared", "corpus", "mail")
        if not os.path.isdir(src):
            PT.skip_or_fail("no corpus at %s" % src)
        return [(exe, os.path.relpath(os.path.join(d, f), src), "corpus", os.path.join(d, f), None, None, kind)
                for d, _, fs in sorted(os.walk(src)) for f in sorted(fs) if f.endswith(".eml")]
    import make_evasion
    make_evasion.write_all(tmp)
    return [(exe, ident, ident.split("/")[0], os.path.join(tmp, ident.replace("/", "--") + ".eml"), proof, payload,
             kind) for ident, (proof, payload, _) in make_evasion.messages().items()]


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("mib", "gen", "corpus"):
        print(__doc__.split("\n\n")[1])
        return 2
    exe, kind = os.path.abspath(sys.argv[1]), sys.argv[2]
    missing = [pkg for pkg, tool in (("ripmime", "ripmime"), ("mpack", "munpack"), ("maildrop", "reformime"))
               if not shutil.which(tool, path="/usr/bin:/bin")]
    if missing:
        PT.skip_or_fail("missing packages: " + " ".join(missing))
    start = time.monotonic()
    failed = 0
    # the scanners must still tell blobs and links from prose before they judge
    bad_tools = 0
    for tool, problems in (("blobscan", blobscan.selftest()), ("linkscan", linkscan.selftest())):
        for p in problems:
            print("FAIL %s self test: %s" % (tool, p))
            bad_tools += 1
    by_check, by_group, mails_by_group, results = (collections.Counter() for _ in range(4))
    t = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="san-extract-gen-") as tmp:
        todo = jobs(exe, kind, tmp)
        with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
            for label, group, result, fails, times in pool.map(check_mail, todo, chunksize=4):
                t.update(times)
                results[result] += 1
                mails_by_group[group] += 1
                for check, why in fails:
                    print("FAIL %s: %s: %s" % (label, check, why))
                for check in sorted({c for c, _ in fails}):
                    by_check[check] += 1
                if fails:
                    failed += 1
                    by_group[group] += 1
    print("sanitiser results: %s" % ", ".join("%s %d" % kv for kv in results.most_common()))
    print("failed mails by check: %s" % (", ".join("%s %d" % kv for kv in by_check.most_common()) or "none"))
    print("failed mails by class: %s (%d other classes without failure)" % (
        ", ".join("%s %d/%d" % (g, by_group[g], mails_by_group[g]) for g in sorted(by_group)) or "none",
        len(mails_by_group) - len(by_group)))
    print("time: %.1f s wall; summed over the workers: %s" % (
        time.monotonic() - start, ", ".join("%s %.1f s" % kv for kv in sorted(t.items()))))
    print("%d mails, %d failed" % (len(todo), failed))
    return 1 if failed or bad_tools else 0


if __name__ == "__main__":
    sys.exit(main())
