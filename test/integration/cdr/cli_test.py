#!/usr/bin/python3
"""sekisho-cdr, the CLI (issue 14), end to end through the sandbox.

What a caller relies on, judged by independent readers (Python's json and
hashlib, PIL, exiftool), never by our own parser:
- exit 0: the copy exists, decodes (PIL) with the original's dimensions,
  carries no metadata (PIL info/getexif, exiftool groups), the report's
  hashes and sizes are those of the two files, and the metadata the
  converter found is named in "removed";
- exit 1: no copy, no temporary file left beside it, a report whose
  result is a reason key with Japanese and English texts;
- exit 2: usage and system errors; --help on stdout with exit 0;
- the kinds nobody may convert (executables, scripts, HTML) are refused as
  unsupported-format, whatever their name says.

usage: cli_test.py SEKISHO-CDR"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    from PIL import Image
except ImportError:
    print("python3-pil is missing")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

CLI = sys.argv[1]
CORPUS = os.path.join(os.path.dirname(os.environ.get("SEKISHO_SOURCE_ROOT", ".")), "shared", "corpus", "files")
if not os.path.isdir(CORPUS):
    CORPUS = "/work/shared/corpus/files"
from cdrcheck import check, done  # noqa: E402  (the one assertion helper of these tests)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(args):
    return subprocess.run([CLI] + args, capture_output=True, text=True, timeout=120)


def convert(tmp, src, name=None):
    out = os.path.join(tmp, "copy.out")
    rep = os.path.join(tmp, "report.json")
    for p in (out, rep):
        if os.path.exists(p):
            os.unlink(p)
    args = [src, "-o", out, "--report", rep]
    if name:
        args += ["--name", name]
    p = run(args)
    report = None
    if os.path.exists(rep):
        with open(rep, encoding="utf-8") as f:
            report = json.load(f)
    leftovers = [n for n in os.listdir(tmp) if n.startswith(".")]
    check(not leftovers, f"{src}: temporary files left: {leftovers}")
    return p, out, report


def exif_groups(path):
    if not shutil.which("exiftool"):
        return set()
    p = subprocess.run(["exiftool", "-G0", "-s", "-a", path], capture_output=True, text=True)
    return {line.split("]")[0].strip("[") for line in p.stdout.splitlines() if line.startswith("[")}


def main():
    tmp = tempfile.mkdtemp(prefix="cdr-cli-")
    os.chmod(tmp, 0o755)
    try:
        # help and version on stdout, exit 0; usage errors exit 2
        p = run(["--help"])
        check(p.returncode == 0 and "sekisho-cdr" in p.stdout and "無害化" in p.stdout, "--help")
        p = run(["--version"])
        check(p.returncode == 0 and p.stdout.startswith("sekisho-cdr "), "--version")
        p = run(["--check"])
        check(p.returncode == 0 and "the sandbox works" in p.stdout, f"--check: {p.returncode} {p.stdout}")
        check(run([]).returncode == 2, "no arguments: exit 2")
        check(run(["/nonexistent", "-o", os.path.join(tmp, "x")]).returncode == 2, "missing input: exit 2")
        check(run(["--mode", "pdf=magic", "a", "-o", "b"]).returncode == 2, "unknown mode: exit 2")

        # a photo with GPS: copy made, no metadata, the removed items named
        src = os.path.join(CORPUS, "image", "testJPEG_GEO.jpg")
        p, out, rep = convert(tmp, src)
        check(p.returncode == 0, f"GEO jpeg: exit {p.returncode} {p.stdout} {p.stderr}")
        check(rep and rep["result"] == "ok" and rep["kind"] == "image", f"GEO report {rep}")
        if p.returncode == 0 and rep:
            with Image.open(src) as a, Image.open(out) as b:
                check(a.size == b.size, f"size {a.size} -> {b.size}")
                check(b.format == "JPEG" and not b.getexif() and "exif" not in b.info, "EXIF left in the copy")
            groups = exif_groups(out) - {"ExifTool", "File", "Composite", "JFIF"}
            check(not groups, f"exiftool still finds {groups}")
            check(rep["in_sha256"] == sha(src) and rep["out_sha256"] == sha(out), "hashes")
            check(rep["in_bytes"] == os.path.getsize(src) and rep["out_bytes"] == os.path.getsize(out), "sizes")
            check("metadata:gps" in rep["removed"] and "metadata:exif" in rep["removed"], f"removed {rep['removed']}")
            check(rep["out_ext"] == "jpg" and rep["mode"] == "reencode", "out_ext/mode")
            check("無害化コピーを作成しました" in p.stdout and "metadata:gps" in p.stdout, "summary")
            check(oct(os.stat(out).st_mode & 0o777) == "0o640", "copy mode 0640")

        # a PNG with text chunks: PNG out, the text named
        src = os.path.join(CORPUS, "image", "testPNG.png")
        p, out, rep = convert(tmp, src)
        check(p.returncode == 0 and rep["out_type"] == "png", f"PNG: {p.returncode} {rep}")

        # refusals: no copy, a report with texts
        for src, key in [
            (os.path.join(CORPUS, "image", "gen-png-bomb-50000x50000.png"), "width-limit"),
            (os.path.join(CORPUS, "image", "gen-png-bomb-header-only.png"), None),
        ]:
            p, out, rep = convert(tmp, src)
            check(p.returncode == 1, f"{src}: exit {p.returncode}")
            check(not os.path.exists(out), f"{src}: a copy exists")
            check(rep and rep["result"] != "ok" and rep["out_sha256"] is None, f"{src}: report {rep}")
            if key:
                check(rep["result"] == key, f"{src}: result {rep['result']}, want {key}")
            check(rep["reason_ja"] != rep["result"] and rep["reason_en"] != rep["result"], "reason texts")

        # what no one may convert, whatever the name says
        cases = [
            (b"MZ\x90\x00" + b"\x00" * 60, "invoice.pdf", "exe"),
            (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "photo.jpg", "elf"),
            (b"<html><script>alert(1)</script></html>", "page.html", "html"),
            (b"@echo off\r\n", "run.bat", "bat"),
        ]
        for data, name, typ in cases:
            src = os.path.join(tmp, "input.bin")
            with open(src, "wb") as f:
                f.write(data)
            p, out, rep = convert(tmp, src, name)
            check(p.returncode == 1 and rep["result"] == "unsupported-format", f"{name}: {p.returncode} {rep}")
            check(rep["in_type"] == typ and rep["name"] == name, f"{name}: in_type {rep['in_type']}")
            check(not os.path.exists(out), f"{name}: copy exists")
        # an empty file
        src = os.path.join(tmp, "empty.txt")
        open(src, "wb").close()
        p, out, rep = convert(tmp, src)
        check(p.returncode == 1 and rep["result"] == "empty", f"empty: {rep}")
        # a copy never replaces an existing output on failure
        dst = os.path.join(tmp, "keep.out")
        with open(dst, "w") as f:
            f.write("earlier copy")
        p = run([os.path.join(CORPUS, "image", "gen-png-bomb-50000x50000.png"), "-o", dst, "-q"])
        check(p.returncode == 1 and p.stdout == "" and open(dst).read() == "earlier copy", "failure kept OUT")
    finally:
        shutil.rmtree(tmp)
    return done()


sys.exit(main())
