#!/usr/bin/python3
"""Archive CDR (issue 14), judged by independent readers.

usage: archive_test.py converter SEKISHO-CDR-ARCHIVE [SANITIZERS]
       archive_test.py cli SEKISHO-CDR [SANITIZERS]

converter: sekisho-cdr-archive alone over the shared corpus (archive/) and
archives made here.  The member stream the converter writes is read by this script's own few
lines of Python (not our C reader); each member's bytes are compared with
what Python's zipfile / tarfile / gzip read from the same archive (names
decoded by Python: metadata_encoding="cp932" for the Japanese zips).
Bombs, traversal names, encrypted (PPAP) archives, links and caps must give
their reason, each run under prlimit --as=512M (not with AddressSanitizer:
its shadow needs terabytes) within a few seconds and a bounded peak RSS.
lzh: archives made by jlha (jlha-utils, an independent Java LHA writer) and
a level-0 header written here byte by byte for a CP932 name.

cli: the whole path, sekisho-cdr IN -o OUT --report R.json (the converter in
the sandbox, the trusted reader, every member through its own handler, the
new zip): the copy is opened with Python's zipfile (names UTF-8 with the
UTF-8 flag, no unsafe name, nothing but members whose report says "ok" and
the report file), every member copy is judged by its kind's oracle (PIL for
images: decodes, same size as the original member, no EXIF/info; zipfile +
xml for OOXML; qpdf --check for PDF, when those handlers are built), the
report file names every member, and the JSON report (json module) holds one
report per member with the reason of each left-out one; nesting, bombs,
PPAP and traversal give their reasons within their time.
Exit 0 all good, 1 a failure, 77 skip (no corpus)."""
import bz2
import gzip
import io
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

try:
    from PIL import Image
except ImportError:
    print("python3-pil is missing")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../../.."))
CORPUS = os.path.join(os.environ.get("SEKISHO_CDR_CORPUS", os.path.join(SRC, "../shared/corpus/files")),
                      "archive")
AS_BYTES = 512 << 20
MODE = sys.argv[1]
CONVERTER = sys.argv[2]  # the CLI in "cli" mode
MAX_SECONDS = 10  # any one run, bombs included (measured well under 1 s)
MAX_RSS_MIB = 64  # peak RSS of any converter run (measured 26 MiB: the 100 MiB gzip stops at the ratio)
ASAN = len(sys.argv) > 3 and "address" in sys.argv[3]
if ASAN:
    AS_BYTES = 0
    MAX_RSS_MIB = 256  # ASan's shadow and quarantine (measured 70 MiB)

peak_rss = 0
from cdrcheck import check, done  # noqa: E402  (the one assertion helper of these tests)


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


def plain_zip():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("mitsumori.txt", b"0123456789abcdef")
    return b.getvalue()


def encrypt_flag(data, aes):
    """sets general-purpose bit 0 (encrypted) in every local and central
    header; with aes also method 99 and an AES extra field (0x9901: vendor
    version 2, "AE", strength 3, real method 0) in the central directory"""
    d = bytearray(data)
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        i = d.find(sig)
        while i >= 0:
            d[i + flag_at] |= 1
            if aes:
                d[i + method_at:i + method_at + 2] = struct.pack("<H", 99)
            i = d.find(sig, i + 4)
    if aes:
        extra = struct.pack("<HHH2sBH", 0x9901, 7, 2, b"AE", 3, 0)
        c = d.find(b"PK\x01\x02")
        n, m = struct.unpack("<HH", d[c + 28:c + 32])
        d[c + 30:c + 32] = struct.pack("<H", m + len(extra))
        d[c + 46 + n + m:c + 46 + n + m] = extra
        e = d.find(b"PK\x05\x06")
        size, = struct.unpack("<I", d[e + 12:e + 16])
        d[e + 12:e + 16] = struct.pack("<I", size + len(extra))
    return bytes(d)


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

    # PPAP made here: the encryption flag (bit 0) on an entry, and WinZip AES
    # (method 99, extra field 0x9901) patched into a zip's local and central headers
    expect_refused("zip with the encryption flag", encrypt_flag(plain_zip(), aes=False), "encrypted")
    expect_refused("zip with WinZip AES", encrypt_flag(plain_zip(), aes=True), "encrypted")

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

    # a GNU tar with CP932 names (as an old Windows tar writes them), by
    # Python's tarfile
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT, encoding="cp932") as t:
        for n, d in (("表示/ソフト.txt", b"cp932 tar"), ("予算.csv", b"1,2")):
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    check("表示".encode("cp932") in b.getvalue(), "the tar holds CP932 bytes")
    expect_members("CP932 tar", b.getvalue(), {"表示/ソフト.txt": b"cp932 tar", "予算.csv": b"1,2"})

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


# --- cli: the whole path --------------------------------------------------

REPORT_NAME = "無害化レポート_sanitization-report.txt"
BAD_NAME = re.compile(r'(^/|^[A-Za-z]:|(^|/)\.\.?(/|$)|\\|[\x00-\x1f\x7f<>:"|?*])')


def png(w, h, color=(200, 30, 30)):
    b = io.BytesIO()
    Image.new("RGB", (w, h), color).save(b, "PNG")
    return b.getvalue()


def jpeg_with_gps(w, h):
    """a JPEG whose EXIF holds a GPS position (PIL writes it)"""
    im = Image.new("RGB", (w, h), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SEKISHO-CDR-MARKER camera"
    exif[0x8825] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (139.0, 41.0, 30.0)}
    b = io.BytesIO()
    im.save(b, "JPEG", exif=exif.tobytes())
    return b.getvalue()


def gif(w, h):
    b = io.BytesIO()
    Image.new("P", (w, h), 3).save(b, "GIF")
    return b.getvalue()


def cdr(data, name, label, want_exit=None, extra=()):
    """sekisho-cdr on data saved as name: (exit, copy bytes or None, report)"""
    with tempfile.TemporaryDirectory() as d:
        src, out, rep = os.path.join(d, name), os.path.join(d, "out.zip"), os.path.join(d, "r.json")
        with open(src, "wb") as f:
            f.write(data)
        t0 = time.monotonic()
        p = subprocess.run([CONVERTER, "--quiet", *extra, src, "-o", out, "--report", rep], capture_output=True,
                           timeout=600)
        dt = time.monotonic() - t0
        check(p.returncode in (0, 1), f"{label}: exit {p.returncode} {p.stderr[-300:]!r}")
        check(dt < 120, f"{label}: {dt:.1f} s")
        if want_exit is not None:
            check(p.returncode == want_exit, f"{label}: exit {p.returncode}, want {want_exit}")
        with open(rep, encoding="utf-8") as f:
            report = json.load(f)
        copy = None
        if os.path.exists(out):
            with open(out, "rb") as f:
                copy = f.read()
        check((copy is not None) == (p.returncode == 0), f"{label}: copy present {copy is not None}")
        check(sorted(os.listdir(d)) == sorted([name, "r.json"] + (["out.zip"] if copy else [])),
              f"{label}: files left {os.listdir(d)}")
        return p.returncode, copy, report


def judge_member(label, name, data, original, member_report):
    """one member's copy, by the oracle of what it is (its out_ext): the
    handlers built today and those to come are judged the same way"""
    ext = member_report.get("out_ext")
    check(b"SEKISHO-CDR-MARKER" not in data, f"{label}: {name} keeps the marker")
    if ext in ("png", "jpg", "jpeg"):
        im = Image.open(io.BytesIO(data))
        im.load()
        check(im.format in ("PNG", "JPEG"), f"{label}: {name} is {im.format}")
        check(not im.getexif(), f"{label}: {name} keeps EXIF")
        check(not {k for k in im.info if k not in ("jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi")},
              f"{label}: {name} info {im.info}")
        if original is not None:
            check(im.size == Image.open(io.BytesIO(original)).size, f"{label}: {name} size changed")
    elif ext in ("docx", "dotx", "xlsx", "xltx", "pptx", "potx", "ppsx"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            check(z.testzip() is None, f"{label}: {name} zip CRC")
            check(not [n for n in z.namelist() if re.search(r"(?i)vbaProject|activeX|embeddings/|\.bin$", n)],
                  f"{label}: {name} keeps active parts")
            for n in z.namelist():
                check(b"SEKISHO-CDR-MARKER" not in z.read(n), f"{label}: {name}:{n} keeps the marker")
            kept = b"".join(z.read(n) for n in z.namelist())
        if original is not None:
            with zipfile.ZipFile(io.BytesIO(original)) as zo:
                want = set(re.findall(rb"SEKISHO-KEEP-[A-Za-z0-9_-]+", b"".join(zo.read(n) for n in zo.namelist())))
            for token in want:
                check(token in kept, f"{label}: {name} lost {token!r}")
    elif ext == "pdf":
        check(data.startswith(b"%PDF-"), f"{label}: {name} is not a PDF")
        if shutil.which("qpdf"):
            with tempfile.NamedTemporaryFile(suffix=".pdf") as t:
                t.write(data)
                t.flush()
                p = subprocess.run(["qpdf", "--check", t.name], capture_output=True)
                check(p.returncode == 0, f"{label}: {name} qpdf --check: {p.stdout[-200:]!r}")
    elif ext == "zip":
        judge_zip(f"{label}/{name}", data, None, member_report)
    elif ext in ("txt", "csv"):
        check(b"\x00" not in data, f"{label}: {name} text holds NUL")
    else:
        check(False, f"{label}: {name}: a copy with extension {ext!r}")


def judge_zip(label, copy, originals, report):
    """the output zip against the report; originals: {member name: bytes} or None"""
    with zipfile.ZipFile(io.BytesIO(copy)) as z:
        check(z.testzip() is None, f"{label}: zip CRC")
        infos = z.infolist()
        names = [i.filename for i in infos]
        check(len(names) == len(set(n.lower() for n in names)), f"{label}: duplicate names {names}")
        check(REPORT_NAME in names, f"{label}: no report file in {names}")
        for i in infos:
            check(not BAD_NAME.search(i.filename), f"{label}: unsafe name {i.filename!r}")
            if not i.filename.isascii():
                check(i.flag_bits & 0x800, f"{label}: {i.filename} without the UTF-8 flag")
        text = z.read(REPORT_NAME)
        check(text.startswith(b"\xef\xbb\xbf"), f"{label}: report file without a BOM")
        text = text.decode("utf-8-sig")
        check("無害化したファイル" in text and "Sanitized copies" in text, f"{label}: report file headings")
        members = report["members"]
        ok = [m for m in members if m["result"] == "ok"]
        check(len(names) == len(ok) + 1, f"{label}: {len(names) - 1} entries for {len(ok)} ok members")
        for m in members:
            check(m["name"] in text, f"{label}: report file does not name {m['name']}")
            if m["result"] != "ok":
                check(m["reason_ja"] in text, f"{label}: report file lacks the reason of {m['name']}")
        # which entry is whose copy: the report file says "- COPY" and, when
        # the name changed, "(元のファイル / from: NAME)"
        copy_of = {}
        for line in text.split("\r\n"):
            mm = re.match(r"^  - (.+?)(?:  \(元のファイル / from: (.+)\))?$", line)
            if mm and mm.group(1) in names:
                copy_of[mm.group(2) or mm.group(1)] = mm.group(1)
        for m in ok:
            entry = copy_of.get(m["name"])
            check(entry is not None, f"{label}: no entry for {m['name']} in {names}")
            if entry is None:
                continue
            stem = m["name"].rsplit(".", 1)[0] if "." in m["name"].rsplit("/", 1)[-1] else m["name"]
            check(entry == f"{stem}.{m['out_ext']}" or entry.startswith(f"{stem} ("),
                  f"{label}: {m['name']} ({m['out_ext']}) copied as {entry}")
            check(m.get("out_name") == entry, f"{label}: JSON out_name {m.get('out_name')}, report file {entry}")
            judge_member(label, entry, z.read(entry), (originals or {}).get(m["name"]), m)
        for m in report["members"]:
            if m["result"] != "ok":
                check(m.get("out_name") is None, f"{label}: {m['name']} has no copy but out_name {m.get('out_name')}")
        return names


def member(report, name):
    for m in report["members"]:
        if m["name"] == name:
            return m
    check(False, f"no member report for {name}")
    return {"result": None, "members": []}


def cli_corpus():
    # gen-bundle.zip: the photo's GPS goes; each other member as its handler can
    data = read("gen-bundle.zip")
    rc, copy, rep = cdr(data, "gen-bundle.zip", "gen-bundle.zip", 0)
    check(rep["result"] == "ok" and rep["mode"] == "archive" and rep["out_ext"] == "zip", f"bundle: {rep['result']}")
    if copy:
        names = judge_zip("gen-bundle.zip", copy, zip_members(os.path.join(CORPUS, "gen-bundle.zip")), rep)
        check("photo/testJPEG_GEO.jpg" in names, f"bundle: photo missing from {names}")
    check(member(rep, "photo/testJPEG_GEO.jpg")["result"] == "ok", "bundle: photo")
    for f in ("gen-bundle.tar.gz", "gen-bundle.7z"):
        rc, copy, rep = cdr(read(f), f, f)
        check(len(rep["members"]) == 3, f"{f}: {len(rep['members'])} member reports")
        if copy:
            judge_zip(f, copy, tar_members(os.path.join(CORPUS, "gen-bundle.tar.gz")), rep)
        else:
            check(rep["result"] == "archive-no-copy", f"{f}: {rep['result']}")
    for f in ("gen-ppap-zipcrypto.zip", "gen-ppap-7z-hdrenc.7z", "test7Z_protected_passTika.7z"):
        rc, copy, rep = cdr(read(f), f, f, 1)
        check(rep["result"] == "encrypted" and not rep["members"], f"{f}: {rep['result']}")
    rc, copy, rep = cdr(read("gen-zipbomb-1gib.zip"), "gen-zipbomb-1gib.zip", "zip bomb", 1)
    check(rep["result"] == "archive-no-copy" and member(rep, "zeros.bin")["result"] == "entry-size-limit",
          f"zip bomb: {rep['result']}")
    rc, copy, rep = cdr(read("gen-gzip-bomb-1gib.gz"), "gen-gzip-bomb-1gib.gz", "gzip bomb", 1)
    check(rep["result"] == "archive-empty", f"gzip bomb: {rep['result']}")
    rc, copy, rep = cdr(read("quine.gz"), "quine.gz", "quine", 1)
    check(rep["result"] == "bad-archive", f"quine: {rep['result']}")
    rc, copy, rep = cdr(read("gen-nested-5.zip"), "gen-nested-5.zip", "nested-5", 1)
    r, depth = rep, 0
    while r["members"]:
        r, depth = r["members"][0], depth + 1
    check(rep["result"] == "archive-no-copy" and r["result"] == "depth-limit" and depth == 3,
          f"nested-5: {rep['result']}, innermost {r['result']} at {depth}")
    for f, bad in (("gen-path-traversal.zip", "__/__/etc/x"),
                   ("gen-path-traversal-drive-nul.zip", "C_/Users/Public/sekisho.txt")):
        rc, copy, rep = cdr(read(f), f, f)
        check(member(rep, bad)["result"] == "unsafe-name", f"{f}: {bad}")
        if copy:
            judge_zip(f, copy, None, rep)
    for f in ("gen-sjis-name.zip", "testZipEntryNameCharsetShiftSJIS.zip"):
        rc, copy, rep = cdr(read(f), f, f)
        want = set(zip_members(os.path.join(CORPUS, f), "cp932"))
        check({m["name"] for m in rep["members"]} == want, f"{f}: member names {[m['name'] for m in rep['members']]}")
        if copy:
            judge_zip(f, copy, None, rep)


def cli_made():
    gps = jpeg_with_gps(64, 48)
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("写真/地図.jpg", gps)
        z.writestr("図/グラフ.gif", gif(20, 10))   # a GIF becomes a PNG: 図/グラフ.png ...
        z.writestr("図/グラフ.png", png(30, 15))   # ... so this one is renamed 図/グラフ (2).png
        z.writestr(RawName("報告/表紙.png".encode("cp932")), png(8, 8))
        z.writestr("run.exe", b"MZ\x90\x00" + b"\x00" * 60)
        z.writestr("../escape.png", png(5, 5))
    originals = {"写真/地図.jpg": gps, "図/グラフ.gif": gif(20, 10), "図/グラフ.png": png(30, 15),
                 "報告/表紙.png": png(8, 8)}
    rc, copy, rep = cdr(b.getvalue(), "写真集.zip", "made images", 0)
    if copy:
        names = judge_zip("made images", copy, originals, rep)
        check(sorted(names) == sorted(["写真/地図.jpg", "図/グラフ.png", "図/グラフ (2).png", "報告/表紙.png",
                                        REPORT_NAME]), f"made images: names {names}")
    check(member(rep, "run.exe")["result"] == "unsupported-format", "made images: run.exe")
    check(member(rep, "__/escape.png")["result"] == "unsafe-name", "made images: ../escape.png")
    check("member:run.exe" in rep["removed"], f"made images: removed {rep['removed']}")

    # nesting: the top archive and two inside it are unpacked, the third is not
    def zipof(entries):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w") as z:
            for n, d in entries:
                z.writestr(n, d)
        return b.getvalue()
    inner3 = zipof([("d.png", png(4, 4))])
    inner2 = zipof([("c.png", png(3, 3)), ("inner3.zip", inner3)])
    inner = zipof([("b.png", png(2, 2)), ("inner2.zip", inner2)])
    top = zipof([("a.png", png(1, 1)), ("inner.zip", inner)])
    rc, copy, rep = cdr(top, "top.zip", "nested", 0)
    check(member(member(member(rep, "inner.zip"), "inner2.zip"), "inner3.zip")["result"] == "depth-limit",
          "nested: inner3 not refused at depth 3")
    if copy:
        judge_zip("nested", copy, None, rep)
        with zipfile.ZipFile(io.BytesIO(copy)) as z1, zipfile.ZipFile(io.BytesIO(z1.read("inner.zip"))) as z2, \
                zipfile.ZipFile(io.BytesIO(z2.read("inner2.zip"))) as z3:
            check(sorted(z3.namelist()) == sorted(["c.png", REPORT_NAME]), f"nested: level 3 {z3.namelist()}")

    # a single compressed file takes its name from the outer one; lzh with a CP932 name
    rc, copy, rep = cdr(gzip.compress(png(9, 9)), "scan.png.gz", "png.gz", 0)
    if copy:
        check(sorted(judge_zip("png.gz", copy, None, rep)) == sorted(["scan.png", REPORT_NAME]), "png.gz names")
    rc, copy, rep = cdr(lzh_level0([("見積/図面.png".encode("cp932"), png(6, 6))]), "図面.lzh", "lzh", 0)
    if copy:
        check(sorted(judge_zip("lzh", copy, None, rep)) == sorted(["見積/図面.png", REPORT_NAME]), "lzh names")
    # time: with --timeout 1 the archive has 5 s; 2000 members at about 20 ms
    # each (a sandbox per member; 3 ms would still be too many) do not fit,
    # and the run ends near 5 s
    b = io.BytesIO()
    one = png(2, 2)
    with zipfile.ZipFile(b, "w") as z:
        for i in range(2000):
            z.writestr(f"p/{i}.png", one)
    t0 = time.monotonic()
    rc, copy, rep = cdr(b.getvalue(), "many.zip", "2000 members, 1 s", 1, ["--timeout", "1"])
    dt = time.monotonic() - t0
    check(rep["result"] == "timeout" and dt < 9, f"2000 members, 1 s: {rep['result']} after {dt:.1f} s")
    # a tar.xz of nothing convertible: no copy
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:xz") as t:
        ti = tarfile.TarInfo("tool.exe")
        ti.size = 4
        t.addfile(ti, io.BytesIO(b"MZ\0\0"))
    rc, copy, rep = cdr(b.getvalue(), "tools.tar.xz", "tar.xz of an exe", 1)
    check(rep["result"] == "archive-no-copy", f"tar.xz of an exe: {rep['result']}")


def stream(recs, flags=0):
    """a member stream (cdr_members.h) made here: recs of (type, name, value, payload)"""
    out = b"SKAR" + bytes([1, flags, 0, 0])
    for t, name, value, payload in recs:
        n = name.encode()
        out += struct.pack(">cBHQ", t.encode(), 0, len(n), len(payload) if value is None else value) + n + payload
    return out


def cli_liar():
    """a converter that lies: sekisho-cdr-archive replaced by a script that
    prints a stream made here and exits with a code made here; the trusted
    side must refuse every bad stream as converter-output"""
    good = png(3, 3)
    cases = [
        ("not a stream", 0, b"garbage", "converter-output"),
        ("unknown skip reason", 0, stream([("S", "a.txt", None, b"evil"), ("E", "", 1, b"")]), "converter-output"),
        ("traversal name", 0, stream([("M", "../a.png", None, good), ("E", "", 1, b"")]), "converter-output"),
        ("duplicate name", 0, stream([("M", "a.png", None, good), ("M", "A.PNG", None, good), ("E", "", 2, b"")]),
         "converter-output"),
        ("exit 1 without a refusal", 1, stream([("E", "", 0, b"")]), "converter-output"),
        ("refusal with exit 0", 0, stream([("R", "", None, b"encrypted")]), "converter-output"),
        ("unknown refusal", 1, stream([("R", "", None, b"made-up-key")]), "converter-output"),
        ("refusal", 1, stream([("R", "", None, b"encrypted")]), "encrypted"),
        ("count", 0, stream([("M", "a.png", None, good), ("E", "", 2, b"")]), "converter-output"),
        ("crash", 3, stream([("M", "a.png", None, good), ("E", "", 1, b"")]), "exit-status"),
        ("honest", 0, stream([("M", "a.png", None, good), ("E", "", 1, b"")]), "ok"),
    ]
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)  # the sandbox's uid reads the liar from here
        lib = os.path.join(d, "lib")
        os.mkdir(lib)
        os.chmod(lib, 0o755)
        with open(os.path.join(lib, "sekisho-cdr-archive"), "w") as f:
            f.write("#!/bin/sh\ncat > /tmp/in\ntail -c +6 /tmp/in\nexit $(head -c 5 /tmp/in | tail -c 1)\n")
        os.chmod(os.path.join(lib, "sekisho-cdr-archive"), 0o755)
        real = os.path.dirname(os.path.abspath(CONVERTER))
        os.symlink(os.path.join(real, "sekisho-cdr-image"), os.path.join(lib, "sekisho-cdr-image"))
        for label, code, data, want in cases:
            src, out, rep = os.path.join(d, "x.zip"), os.path.join(d, "out.zip"), os.path.join(d, "r.json")
            with open(src, "wb") as f:
                f.write(b"PK\x03\x04" + str(code).encode() + data)
            p = subprocess.run([CONVERTER, "--quiet", "--libexec", lib, src, "-o", out, "--report", rep],
                               capture_output=True, timeout=120)
            with open(rep, encoding="utf-8") as f:
                r = json.load(f)
            check(r["result"] == want, f"liar {label}: {r['result']} ({r['detail']}), want {want}")
            check(p.returncode == (0 if want == "ok" else 1), f"liar {label}: exit {p.returncode}")
            check(os.path.exists(out) == (want == "ok"), f"liar {label}: copy present")
            if os.path.exists(out):
                os.unlink(out)


def main():
    if not os.path.isdir(CORPUS):
        print("no corpus at", CORPUS)
        return 77
    if MODE == "cli":
        if not shutil.which("bwrap"):
            print("bubblewrap is missing")
            return 1 if os.environ.get("CI") == "true" else 77
        cli_corpus()
        cli_made()
        cli_liar()
        return done()
    corpus()
    made_zips()
    made_lzh()
    return done(f"; largest converter peak RSS {peak_rss} MiB")


if __name__ == "__main__":
    sys.exit(main())
