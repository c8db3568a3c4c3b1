#!/usr/bin/python3
"""Archive CDR (issue 14): the converter sekisho-cdr-archive over the shared
corpus (archive/) and archives made here, judged by independent readers.

usage: archive_test.py CONVERTER [SANITIZERS]

The member stream the converter writes is read by this script's own few
lines of Python (not our C reader); each member's bytes are compared with
what Python's zipfile / tarfile / gzip read from the same archive (names
decoded by Python: metadata_encoding="cp932" for the Japanese zips).
Bombs, traversal names, encrypted (PPAP) archives, links and caps must give
their reason, each run under prlimit --as=512M (not with AddressSanitizer:
its shadow needs terabytes) within a few seconds and a bounded peak RSS.
lzh: archives made by jlha (jlha-utils, an independent Java LHA writer) and
a level-0 header written here byte by byte for a CP932 name.
Exit 0 all good, 1 a failure, 77 skip (no corpus)."""
import bz2
import gzip
import io
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../../.."))
CORPUS = os.path.join(os.environ.get("SEKISHO_CDR_CORPUS", os.path.join(SRC, "../shared/corpus/files")),
                      "archive")
AS_BYTES = 512 << 20
CONVERTER = sys.argv[1]
MAX_SECONDS = 10  # any one run, bombs included (measured well under 1 s)
MAX_RSS_MIB = 64  # peak RSS of any converter run (measured 26 MiB: the 100 MiB gzip stops at the ratio)
if len(sys.argv) > 2 and "address" in sys.argv[2]:
    AS_BYTES = 0
    MAX_RSS_MIB = 256  # ASan's shadow and quarantine (measured 70 MiB)

failures = 0
checks = 0
peak_rss = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)


def parse_stream(b):
    """the member stream (cdr_members.h), read independently: (flags,
    [(type, name, bytes or reason)], refused key or None); raises ValueError"""
    if len(b) < 8 or b[:4] != b"SKAR" or b[4] != 1:
        raise ValueError("bad header")
    flags, off, recs = b[5], 8, []
    while True:
        if off + 12 > len(b):
            raise ValueError("truncated")
        t, z, nl, v = struct.unpack(">cBHQ", b[off:off + 12])
        off += 12
        name = b[off:off + nl].decode("utf-8")
        off += nl
        if t in (b"E", b"R"):
            if t == b"E":
                if v != len(recs):
                    raise ValueError("count")
                refused = None
            else:
                refused = b[off:off + v].decode()
                off += v
            if off != len(b):
                raise ValueError("trailing")
            return flags, recs, refused
        payload = b[off:off + v]
        off += v
        recs.append((t.decode(), name, payload if t == b"M" else payload.decode()))


def run(data, label):
    """runs the converter on data: (exit, flags, records, refused, stderr);
    checks its time and peak RSS (GNU time's %M: the converter alone, not
    the copy of this Python process a fork makes before exec)"""
    global peak_rss
    cmd = ["/usr/bin/time", "-f", "%M", CONVERTER]
    if AS_BYTES:
        cmd = ["prlimit", f"--as={AS_BYTES}", "--"] + cmd
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        fin.write(data)
        fin.seek(0)
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=ferr)
        p.wait()
        dt = time.monotonic() - t0
        fout.seek(0)
        ferr.seek(0)
        stdout, stderr = fout.read(), ferr.read()
    lines = stderr.rstrip(b"\n").split(b"\n")
    rss = int(lines[-1]) // 1024
    stderr = b"\n".join(lines[:-1]).replace(b"Command exited with non-zero status 1\n", b"") + b"\n"
    peak_rss = max(peak_rss, rss)
    check(dt < MAX_SECONDS, f"{label}: {dt:.1f} s")
    check(rss < MAX_RSS_MIB, f"{label}: peak RSS {rss} MiB")
    try:
        flags, recs, refused = parse_stream(stdout)
    except (ValueError, UnicodeDecodeError) as e:
        check(False, f"{label}: stream unreadable ({e}), exit {p.returncode}, {stderr[-300:]!r}")
        return p.returncode, 0, [], "?", stderr.decode(errors="replace")
    check(p.returncode == (1 if refused else 0), f"{label}: exit {p.returncode} with refused={refused}")
    return p.returncode, flags, recs, refused, stderr.decode(errors="replace")


def expect_members(label, data, want, skipped=(), single=False):
    """want: {name: bytes}; skipped: {(name, reason)}; in any order"""
    rc, flags, recs, refused, err = run(data, label)
    check(refused is None, f"{label}: refused {refused}")
    got = {n: d for t, n, d in recs if t == "M"}
    got_sk = {(n, d) for t, n, d in recs if t == "S"}
    check(set(got) == set(want), f"{label}: members {sorted(got)} want {sorted(want)}")
    for n, d in want.items():
        check(got.get(n) == d, f"{label}: {n} differs from the independent reader's bytes")
    check(got_sk == set(skipped), f"{label}: skipped {sorted(got_sk)} want {sorted(skipped)}")
    check(bool(flags & 1) == single, f"{label}: flags {flags}")
    for n in got:
        check(f"member {n} {len(got[n])}" in err, f"{label}: report line for {n}")
    return recs


def expect_refused(label, data, key):
    rc, flags, recs, refused, err = run(data, label)
    check(refused == key, f"{label}: refused {refused!r}, want {key!r}")
    check(f"refused {key}" in err, f"{label}: report line {err[-200:]!r}")


def zip_members(path_or_bytes, encoding=None):
    f = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with zipfile.ZipFile(f, metadata_encoding=encoding) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def tar_members(path):
    with tarfile.open(path) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}


def read(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


def corpus():
    tgz = tar_members(os.path.join(CORPUS, "gen-bundle.tar.gz"))
    expect_members("gen-bundle.tar.gz", read("gen-bundle.tar.gz"), tgz)
    expect_members("gen-bundle.7z", read("gen-bundle.7z"), tgz)  # "7z of the same three files"
    expect_members("gen-bundle.zip", read("gen-bundle.zip"), zip_members(os.path.join(CORPUS, "gen-bundle.zip")))
    for f in ("gen-sjis-name.zip", "testZipEntryNameCharsetShiftSJIS.zip"):
        want = zip_members(os.path.join(CORPUS, f), "cp932")
        check(any("\u3000" <= c <= "\u9fff" for n in want for c in n), f"{f}: Python found Japanese names")
        expect_members(f, read(f), want)
    for f in ("gen-nested-5.zip", "test-zip-of-zip.zip"):
        expect_members(f, read(f), zip_members(os.path.join(CORPUS, f)))
    expect_members("gen-path-traversal.zip", read("gen-path-traversal.zip"),
                   {"readme.txt": zip_members(os.path.join(CORPUS, "gen-path-traversal.zip"))["readme.txt"]},
                   {("__/__/etc/x", "unsafe-name")})
    nul = zip_members(os.path.join(CORPUS, "gen-path-traversal-drive-nul.zip"))
    expect_members("gen-path-traversal-drive-nul.zip", read("gen-path-traversal-drive-nul.zip"),
                   {"readme.txt": nul["readme.txt"]},
                   {("C_/Users/Public/sekisho.txt", "unsafe-name"), ("invoice.pdf", "unsafe-name"),
                    ("x.txt", "name-limit")})
    expect_members("gen-zipbomb-1gib.zip", read("gen-zipbomb-1gib.zip"), {}, {("zeros.bin", "entry-size-limit")})
    # 1 GiB of zeros is, as a tar, an empty archive (zero blocks end a tar)
    expect_members("gen-gzip-bomb-1gib.gz", read("gen-gzip-bomb-1gib.gz"), {})
    for f in ("gen-ppap-zipcrypto.zip", "gen-ppap-7z-hdrenc.7z", "test7Z_protected_passTika.7z"):
        expect_refused(f, read(f), "encrypted")
    expect_refused("quine.gz", read("quine.gz"), "bad-archive")


class RawName(zipfile.ZipInfo):
    """a zip entry whose stored name is the given bytes, UTF-8 flag clear"""

    def __init__(self, raw):
        super().__init__(raw.decode("latin-1"))
        self.raw = raw
        self.create_system = 0

    def _encodeFilenameFlags(self):
        return self.raw, self.flag_bits


def made_zips():
    names = ["表示/ソフト.txt", "予算\\表.txt", "報告書_令和7年度.docx"]
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for i, n in enumerate(names):
            z.writestr(RawName(n.encode("cp932")), f"member {i}".encode())
        z.writestr("ユニコード/名前.txt", b"utf-8 flag")  # Python sets the UTF-8 flag
        z.writestr(RawName("mac/日本語.txt".encode()), b"utf-8 without the flag")
        z.writestr("dup.txt", b"first")
        z.writestr(RawName(b"DUP.TXT"), b"second")
        z.writestr("sub/", b"")
        zi = zipfile.ZipInfo("link")
        zi.create_system = 3
        zi.external_attr = 0o120777 << 16
        z.writestr(zi, b"/etc/passwd")
        z.writestr("CON.txt", b"device")
        z.writestr("a<b>.txt", b"rewritten")
        z.writestr("x\u202etxt.exe", b"bidi")
    data = b.getvalue()
    expect_members("made cp932 zip", data, {
        "表示/ソフト.txt": b"member 0", "予算/表.txt": b"member 1", "報告書_令和7年度.docx": b"member 2",
        "ユニコード/名前.txt": b"utf-8 flag", "mac/日本語.txt": b"utf-8 without the flag",
        "dup.txt": b"first", "a_b_.txt": b"rewritten"},
        {("DUP.TXT", "duplicate-name"), ("link", "link"), ("_CON.txt", "unsafe-name"),
         ("x_txt.exe", "unsafe-name")})

    # caps: 5000 entries; a gzip'd non-archive that expands past the ratio
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for i in range(5000):
            z.writestr(f"f{i}.txt", b"")
    expect_refused("5000 entries", b.getvalue(), "entry-limit")
    expect_refused("100 MiB of 'A' gzip'd", gzip.compress(b"A" * (100 << 20), 9), "ratio-limit")
    expect_members("a gzip'd text", gzip.compress(b"hello\n"), {"data": b"hello\n"}, single=True)
    expect_members("a bzip2'd text", bz2.compress(b"hello\n"), {"data": b"hello\n"}, single=True)
    expect_members("an xz'd text", lzma.compress(b"hello\n"), {"data": b"hello\n"}, single=True)
    expect_refused("a plain text", b"not an archive\n", "not-an-archive")
    expect_refused("nothing", b"", "not-an-archive")

    # tar.xz with a symlink, a hard link, a FIFO and a member
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:xz") as t:
        def add(name, typ, data=b"", link=""):
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname, ti.size = typ, link, len(data)
            t.addfile(ti, io.BytesIO(data))
        add("docs/a.txt", tarfile.REGTYPE, b"alpha")
        add("docs/sym", tarfile.SYMTYPE, link="../../etc/passwd")
        add("docs/hard", tarfile.LNKTYPE, link="docs/a.txt")
        add("fifo", tarfile.FIFOTYPE)
        add("../../outside.txt", tarfile.REGTYPE, b"evil")
    expect_members("made tar.xz", b.getvalue(), {"docs/a.txt": b"alpha"},
                   {("docs/sym", "link"), ("docs/hard", "link"), ("fifo", "special-file"),
                    ("__/__/outside.txt", "unsafe-name")})


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def lzh_level0(members):
    """an LHA archive of level-0 headers, method -lh0- (stored), written by
    hand: the names are stored as given (bytes)"""
    out = b""
    for raw, data in members:
        body = (b"-lh0-" + struct.pack("<III", len(data), len(data), 0x5A340220) + b"\x20\x00" +
                bytes([len(raw)]) + raw + struct.pack("<H", crc16(data)))
        out += bytes([len(body), sum(body) & 0xFF]) + body + data
    return out + b"\x00"


def made_lzh():
    data = lzh_level0([("見積書.txt".encode("cp932"), b"mitsumori"), (b"readme.txt", b"read me")])
    expect_members("lzh level 0, CP932 name", data, {"見積書.txt": b"mitsumori", "readme.txt": b"read me"})
    if not shutil.which("jlha"):
        print("jlha (jlha-utils) not installed: no lzh made by an LHA tool")
        if os.environ.get("CI") == "true":
            check(False, "jlha missing in CI")
        return
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "sub"))
        text = b"".join(b"line %d of a compressible text\n" % i for i in range(3000))
        with open(os.path.join(d, "sub", "big.txt"), "wb") as f:
            f.write(text)
        with open(os.path.join(d, "small.txt"), "wb") as f:
            f.write(b"small\n")
        p = subprocess.run(["jlha", "a", "out.lzh", "sub/big.txt", "small.txt"], cwd=d, capture_output=True,
                           env=dict(os.environ, LANG="C.UTF-8"))
        check(p.returncode == 0, f"jlha: {p.stderr[-200:]!r}")
        with open(os.path.join(d, "out.lzh"), "rb") as f:
            lzh = f.read()
        check(b"-lh5-" in lzh, "jlha compressed with -lh5-")
        expect_members("lzh by jlha", lzh, {"sub/big.txt": text, "small.txt": b"small\n"})


def main():
    if not os.path.isdir(CORPUS):
        print("no corpus at", CORPUS)
        return 77
    corpus()
    made_zips()
    made_lzh()
    print(f"{checks} checks, {failures} failures; largest converter peak RSS {peak_rss} MiB")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
