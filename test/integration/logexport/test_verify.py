#!/usr/bin/env python3
"""sekisho-logexport verify: a clean chain verifies (exit 0, per-file records
and times); every kind of tampering -- a changed byte, a deleted line, an
inserted copy, a forged line, two lines swapped, a file cut mid-line, a
rotated file removed, the wrong key -- gives exit 1 with the right kind and
position (file:line, byte offset, seq), in text and in --json.  A list of
files is a slice: it verifies on its own, and --anchor ties it to the
record before it."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxtest import Workdir, audit_files, check, done, genlog, lx  # noqa: E402

wd = Workdir("verify")
try:
    clean = wd.sub("gateway")
    genlog(wd, clean, "--count", 2500, "--step-ms", 90000, "--seed", 3)
    files = audit_files(clean)
    check("genlog wrote several daily files", len(files) >= 3, str(files))

    r = lx("verify", "--key", wd.key, clean)
    check("clean chain: exit 0", r.returncode == 0, r.stdout + r.stderr)
    check("clean chain: says OK", f"{clean}: OK" in r.stdout, r.stdout)
    for p in files:
        lines = open(p, "rb").read().split(b"\n")[:-1]
        first, last = json.loads(lines[0]), json.loads(lines[-1])
        want = (f"  {os.path.basename(p)}: {len(lines)} records, seq {first['seq']}..{last['seq']}, "
                f"{first['ts']} .. {last['ts']}")
        check(f"clean chain: per-file line for {os.path.basename(p)}", want in r.stdout, want + "\n" + r.stdout)
    rj = lx("verify", "--json", "--key", wd.key, clean)
    j = json.loads(rj.stdout)
    total = sum(len(open(p, "rb").read().split(b"\n")) - 1 for p in files)
    check("--json: ok and record count", rj.returncode == 0 and j["ok"] and j["chains"][0]["records"] == total,
          rj.stdout[:500])
    last_mac = j["chains"][0]["last_mac"]
    last_seq = j["chains"][0]["last_seq"]

    def line_info(path, idx):
        """(1-based line, byte offset, seq) of line idx (0-based) of path."""
        data = open(path, "rb").read()
        lines = data.split(b"\n")
        off = sum(len(x) + 1 for x in lines[:idx])
        return idx + 1, off, json.loads(lines[idx])["seq"]

    def tampered(tag, fn):
        d = wd.sub("t-" + tag)
        shutil.copytree(clean, d)
        fn(d)
        return d

    def rewrite(path, fn):
        lines = open(path, "rb").read().split(b"\n")
        lines = fn(lines)
        open(path, "wb").write(b"\n".join(lines))

    mid = os.path.basename(files[1])
    cases = []

    # edit one byte inside a record (a digit of its source port)
    ln, off, seq = line_info(files[1], 10)

    def edit(d):
        def f(lines):
            b = bytearray(lines[10])
            i = b.index(b'"sport":') + 9
            b[i] = ord("1") if b[i] != ord("1") else ord("2")
            lines[10] = bytes(b)
            return lines
        rewrite(os.path.join(d, mid), f)
    cases.append(("a byte edited", edit, "edited", mid, ln, off, seq))

    # delete a line: the records after it move up; seq is the missing one
    def delete(d):
        rewrite(os.path.join(d, mid), lambda lines: lines[:10] + lines[11:])
    cases.append(("a line deleted", delete, "missing", mid, ln, off, seq))

    # insert a copy of a record after it
    ln2, off2, _ = line_info(files[1], 11)

    def insert(d):
        rewrite(os.path.join(d, mid), lambda lines: lines[:11] + [lines[10]] + lines[11:])
    cases.append(("a copy inserted", insert, "inserted", mid, ln2, off2, None))

    # insert a forged line (valid JSON, made-up mac)
    def forge(d):
        rec = json.loads(open(files[1], "rb").read().split(b"\n")[10])
        rec["data"]["action"] = "allow"
        rec["mac"] = "0" * 64
        forged = json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode()
        rewrite(os.path.join(d, mid), lambda lines: lines[:11] + [forged] + lines[11:])
    cases.append(("a forged line inserted", forge, "inserted", mid, ln2, off2, None))

    # swap two lines
    def swap(d):
        def f(lines):
            lines[10], lines[11] = lines[11], lines[10]
            return lines
        rewrite(os.path.join(d, mid), f)
    cases.append(("two lines swapped", swap, "reordered", mid, ln, off, seq))

    # cut the newest file in the middle of its last line
    lastf = files[-1]
    nlines = len(open(lastf, "rb").read().split(b"\n")) - 1
    lln, loff, lseq = line_info(lastf, nlines - 1)

    def trunc(d):
        p = os.path.join(d, os.path.basename(lastf))
        os.truncate(p, os.path.getsize(p) - 40)
    cases.append(("the newest file cut mid-line", trunc, "truncated", os.path.basename(lastf), lln, loff, lseq))

    # cut a rotated (older) file mid-line: its last line is torn
    mlines = len(open(files[1], "rb").read().split(b"\n")) - 1
    mln, moff, mseq = line_info(files[1], mlines - 1)

    def trunc_mid(d):
        p = os.path.join(d, mid)
        os.truncate(p, os.path.getsize(p) - 30)
    cases.append(("a rotated file cut mid-line", trunc_mid, "truncated", mid, mln, moff, mseq))

    # remove a whole rotated file: reported at the next file's first line
    first_removed = json.loads(open(files[1], "rb").read().split(b"\n")[0])["seq"]

    def remove(d):
        os.unlink(os.path.join(d, mid))
    cases.append(("a rotated file removed", remove, "file-missing", os.path.basename(files[2]), 1, 0, first_removed))

    for what, fn, kind, fname, line, offset, seq in cases:
        d = tampered(kind + str(line) + what.replace(" ", "_"), fn)
        r = lx("verify", "--key", wd.key, d)
        check(f"{what}: exit 1", r.returncode == 1, r.stdout + r.stderr)
        want = f"BREAK: {kind} at {fname}:{line} (offset {offset}, seq "
        if seq is not None:
            want += f"{seq}"
        check(f"{what}: text says {want.strip()}", want in r.stdout, r.stdout)
        j = json.loads(lx("verify", "--json", "--key", wd.key, d).stdout)
        b = [x for x in j["chains"][0]["breaks"] if not x["explained"]]
        ok = (not j["ok"] and b and b[0]["kind"] == kind and b[0]["file"] == fname and b[0]["line"] == line
              and b[0]["offset"] == offset and (seq is None or b[0]["seq"] == seq))
        check(f"{what}: --json break", ok, json.dumps(b[:3]))

    # the wrong key: nothing verifies
    other = wd.sub("other.key")
    with open(os.open(other, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(os.urandom(32))
    r = lx("verify", "--key", other, clean)
    check("wrong key: exit 1, bad-key", r.returncode == 1 and "BREAK: bad-key" in r.stdout, r.stdout)

    # a slice: one rotated file alone verifies; --anchor ties it to the record before it
    r = lx("verify", "--key", wd.key, files[1])
    check("a single rotated file verifies as a slice", r.returncode == 0, r.stdout + r.stderr)
    prev_last = json.loads(open(files[0], "rb").read().split(b"\n")[-2])
    r = lx("verify", "--key", wd.key, "--anchor", f"{prev_last['seq']}:{prev_last['mac']}", files[1], files[2])
    check("slice with the right --anchor: exit 0", r.returncode == 0, r.stdout + r.stderr)
    r = lx("verify", "--key", wd.key, "--anchor", f"{prev_last['seq']}:{'0' * 64}", files[1], files[2])
    check("slice with a wrong --anchor: exit 1", r.returncode == 1, r.stdout + r.stderr)
    r = lx("verify", "--key", wd.key, files[0], files[2])
    check("files with one missing between them: exit 1", r.returncode == 1, r.stdout)
    check("last record line gives the anchor", f"last record: seq {last_seq} mac {last_mac}" in
          lx("verify", "--key", wd.key, clean).stdout)

    # several directories: each is its own chain
    d2 = tampered("two", edit)
    r = lx("verify", "--key", wd.key, clean, d2)
    check("two chains, one broken: exit 1 and summary", r.returncode == 1 and "1 of 2 chains BROKEN" in r.stdout,
          r.stdout[-300:])

    # usage and I/O errors are exit 2
    check("no such directory: exit 2", lx("verify", "--key", wd.key, wd.sub("nope")).returncode == 2)
    check("missing key file: exit 2", lx("verify", "--key", wd.sub("nokey"), clean).returncode == 2)
    os.chmod(wd.key, 0o644)
    check("key readable by others is refused: exit 2", lx("verify", "--key", wd.key, clean).returncode == 2)
    os.chmod(wd.key, 0o600)
    check("no arguments: exit 2", lx("verify").returncode == 2)
    check("--help: exit 0", lx("verify", "--help").returncode == 0)
finally:
    wd.cleanup()
done()
