#!/usr/bin/python3
"""Image CDR end to end (issue 14): sekisho-cdr-image (the converter, in the
sandbox) -> cdr_pixels_parse (the reader) -> cdr_image_encode, through
sekisho-cdr, over the shared corpus and generated hostile files.

Judged only by independent readers: Python PIL (format, size, info,
getexif, pixels against PIL's own decode of the original) and exiftool when
installed (no EXIF, XMP, IPTC, ICC, comment or other metadata group).
Every bomb and broken file must be refused with its reason key: by the
converter alone (run directly, under prlimit --as) and through the whole
path, sekisho-cdr with the converter in the sandbox.

usage: image_test.py CONVERTER SEKISHO-CDR [SANITIZERS]
With AddressSanitizer (SANITIZERS from meson's b_sanitize) there is no
address-space limit: ASan reserves terabytes of shadow; the refusals are
still checked, and the limit is checked in the plain builds."""
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    from PIL import Image, ImageChops, ImageOps, ImageStat
except ImportError:
    print("python3-pil is missing")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

CORPUS = "/work/shared/corpus/files/image"
AS_BYTES = 512 << 20  # the converter's address space in these tests (0: none)
if len(sys.argv) > 3 and "address" in sys.argv[3]:
    AS_BYTES = 0
from cdrcheck import check, done  # noqa: E402  (the one assertion helper of these tests)


# input file -> (output format, largest mean channel difference to PIL's decode:
# 0 for lossless, 6 of 255 for a JPEG re-encoded at quality 90, measured
# 3.3 to 4.4 on these small, edge-rich files)
GOOD = {
    "testPNG.png": ("PNG", 0),
    "gen-png-zip-polyglot.png": ("PNG", 0),
    "testGIF.gif": ("PNG", 0),
    "baseball.gif": ("PNG", 0),
    "testBMP.bmp": ("PNG", 0),
    "testTIFF.tif": ("PNG", 0),
    "testWebp_Alpha_Lossless.webp": ("PNG", 1),
    "testJPEG.jpg": ("JPEG", 6),
    "testJPEG_EXIF.jpg": ("JPEG", 6),
    "testJPEG_GEO.jpg": ("JPEG", 6),
    "testJPEG_commented.jpg": ("JPEG", 6),
    "testJPEG_oddTagComponent.jpg": ("JPEG", 6),
    "gen-jpeg-zip-polyglot.jpg": ("JPEG", 6),
    "testWEBP.webp": ("JPEG", 6),
}

# what exiftool may say about a clean file: nothing but the file itself
EXIF_GROUPS_OK = {"ExifTool", "System", "File", "Composite", "PNG", "SourceFile"}


def pil_reference(path):
    """the original as PIL sees it: first frame, RGB, alpha over white"""
    im = Image.open(path)
    im.seek(0)
    im = im.convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, im).convert("RGB")


def run_driver(driver, src, out, libexec=None, report=None):
    """the whole path through sekisho-cdr: sandbox, reader, encoder"""
    args = [driver, src, "-o", out, "-q"]
    if libexec:
        args += ["--libexec", libexec]
    if report:
        args += ["--report", report]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def good_images(driver, work):
    for name, (fmt, tolerance) in GOOD.items():
        src = os.path.join(CORPUS, name)
        out = os.path.join(work, name + ".out")
        p = run_driver(driver, src, out)
        check(p.returncode == 0, f"{name}: exit {p.returncode}: {p.stderr.strip()}")
        if p.returncode != 0:
            continue
        im = Image.open(out)
        ref = pil_reference(src)
        check(im.format == fmt, f"{name}: format {im.format}, want {fmt}")
        check(im.size == ref.size, f"{name}: size {im.size}, original {ref.size}")
        check(im.info == {}, f"{name}: info {im.info}")
        check(len(im.getexif()) == 0, f"{name}: EXIF {dict(im.getexif())}")
        check(im.mode in ("RGB", "L"), f"{name}: mode {im.mode}")
        if im.size == ref.size:
            diff = ImageStat.Stat(ImageChops.difference(im.convert("RGB"), ref)).mean
            check(max(diff) <= tolerance, f"{name}: mean difference {diff} > {tolerance}")
        data = open(out, "rb").read()
        check(b"SEKISHO-CDR-MARKER" not in data and b"PK\x03\x04" not in data, f"{name}: appended data survived")
        if fmt == "PNG":  # chunk by chunk: IHDR, IDAT..., IEND only
            pos, kinds = 8, set()
            while pos + 8 <= len(data):
                n, kind = struct.unpack(">I4s", data[pos:pos + 8])
                kinds.add(kind)
                pos += 12 + n
            check(kinds <= {b"IHDR", b"IDAT", b"IEND"} and pos == len(data), f"{name}: chunks {kinds}")
        else:  # marker by marker up to SOS: no APPn, no COM
            pos, markers = 2, []
            while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0xDA:
                markers.append(data[pos + 1])
                pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
            check(not [m for m in markers if 0xE0 <= m <= 0xEF or m == 0xFE], f"{name}: markers {markers}")
        if shutil.which("exiftool"):
            e = subprocess.run(["exiftool", "-j", "-a", "-G1", out], capture_output=True, text=True)
            import json
            keys = json.loads(e.stdout)[0].keys()
            groups = {k.split(":")[0] for k in keys}
            check(groups <= EXIF_GROUPS_OK, f"{name}: exiftool groups {groups - EXIF_GROUPS_OK}")


def png(w, h, bit_depth, colour, idat):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, colour, 0, 0, 0)) +
            chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def hostile(work):
    """name -> (bytes, reason key)"""
    ok = open(os.path.join(CORPUS, "testPNG.png"), "rb").read()
    bmp = bytearray(open(os.path.join(CORPUS, "testBMP.bmp"), "rb").read())
    bmp_tall = bytearray(bmp)
    bmp_tall[22:26] = struct.pack("<i", 10000)  # rows beyond the file
    gif = bytearray(open(os.path.join(CORPUS, "testGIF.gif"), "rb").read())
    gif_wide = bytearray(gif)
    gif_wide[6:10] = struct.pack("<HH", 60000, 10)
    # 10000 x 10000 grey: each side within its cap, the product over it
    rows = zlib.compress(b"\0" * (1 + 10000 // 8), 9)
    return {
        "bomb-50000": (open(os.path.join(CORPUS, "gen-png-bomb-50000x50000.png"), "rb").read(), "width-limit"),
        "bomb-header": (open(os.path.join(CORPUS, "gen-png-bomb-header-only.png"), "rb").read(), "width-limit"),
        "png-10000-square": (png(10000, 10000, 1, 0, rows), "pixel-limit"),
        "png-truncated": (ok[:len(ok) // 2], "decode-error"),
        "png-zero": (png(0, 5, 8, 0, zlib.compress(b"")), "decode-error"),
        "gif-wide": (bytes(gif_wide), "width-limit"),
        "bmp-tall": (bytes(bmp_tall), "decode-error"),
        "svg": (open(os.path.join(CORPUS, "testSVG.svg"), "rb").read(), "unsupported-format"),
        "empty": (b"", "unsupported-format"),
        "garbage": (os.urandom(4096), "unsupported-format"),
    }


def bombs(conv, driver, work):
    for name, (data, key) in hostile(work).items():
        path = os.path.join(work, name)
        open(path, "wb").write(data)
        with open(path, "rb") as f:
            limit = ["prlimit", f"--as={AS_BYTES}", "--"] if AS_BYTES else []
            p = subprocess.run(limit + [conv], stdin=f, capture_output=True, timeout=60)
        err = p.stderr.decode(errors="replace").strip()
        check(p.returncode == 1 and err == f"refused {key}", f"{name}: exit {p.returncode}, {err!r}, want {key}")
        check(p.stdout == b"", f"{name}: converter wrote {len(p.stdout)} bytes")
        d = run_driver(driver, path, path + ".out")
        check(d.returncode == 1 and not os.path.exists(path + ".out"), f"{name}: driver exit {d.returncode}")


def script_converter(work, name, body):
    """a converter of our own making: DIR/sekisho-cdr-image running body"""
    d = os.path.join(work, name)
    os.makedirs(d)
    with open(os.path.join(d, "sekisho-cdr-image"), "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(os.path.join(d, "sekisho-cdr-image"), 0o755)
    os.chmod(d, 0o755)
    return d


def bad_streams(driver, work):
    """a converter that lies: it drops the input's first 16 bytes (the PNG
    magic that makes the input an image) and passes the rest through as its
    "pixel stream", with a well-formed report; the trusted reader must refuse
    each lie.  A converter whose report has no end line is refused too."""
    os.chmod(work, 0o755)  # the sandbox (not root) reads the liar from here
    liar = script_converter(work, "liar", "tail -c +17 && echo ok >&2")
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
    good = b"SKPX\x01\x01\x08\x00" + struct.pack(">II", 2, 2) + b"\x10\x20\x30\x40"
    cases = {
        "not-a-stream": (png, "bad-magic"),
        "truncated": (good[:-1], "truncated"),
        "trailing": (good + b"\0", "short-header"),
        "two-images": (good + good, "image-count-limit"),  # the image handler takes one
        "huge": (b"SKPX\x01\x03\x08\x00" + struct.pack(">II", 60000, 1), "width-limit"),
    }
    for name, (stream, key) in cases.items():
        path = os.path.join(work, "stream-" + name)
        rep = path + ".json"
        open(path, "wb").write(png + stream)
        p = run_driver(driver, path, path + ".out", libexec=liar, report=rep)
        r = json.load(open(rep)) if os.path.exists(rep) else {}
        check(p.returncode == 1 and not os.path.exists(path + ".out"), f"stream {name}: exit {p.returncode}")
        check(r.get("result") == "converter-output" and r.get("detail", "").endswith(key),
              f"stream {name}: {r.get('result')} {r.get('detail')!r}, want converter-output ... {key}")
    mute = script_converter(work, "mute", "exec tail -c +17")
    path = os.path.join(work, "stream-no-end-line")
    open(path, "wb").write(png + good)
    rep = path + ".json"
    p = run_driver(driver, path, path + ".out", libexec=mute, report=rep)
    r = json.load(open(rep)) if os.path.exists(rep) else {}
    check(p.returncode == 1 and r.get("result") == "converter-report", f"no end line: {r.get('result')}")
    path = os.path.join(work, "stream-good")
    open(path, "wb").write(png + good)
    p = run_driver(driver, path, path + ".png", libexec=liar)
    check(p.returncode == 0, f"stream good: exit {p.returncode} {p.stderr.strip()}")
    if p.returncode == 0:
        im = Image.open(path + ".png")
        check(im.mode == "L" and list(im.getdata()) == [0x10, 0x20, 0x30, 0x40], "stream good: pixels")


def orientations(driver, work):
    """a photo tagged with each EXIF orientation comes out the way a viewer
    shows it (PIL's exif_transpose of the original is the reference), with
    no tag left: the turn is in the pixels"""
    base = Image.new("RGB", (48, 24), (40, 40, 200))
    for x in range(12):
        for y in range(8):
            base.putpixel((x, y), (230, 30, 30))  # a red top-left corner
    for o in range(1, 9):
        src = os.path.join(work, f"orient-{o}.jpg")
        out = src + ".out"
        ex = Image.Exif()
        ex[0x0112] = o
        base.save(src, quality=95, exif=ex.tobytes())
        p = run_driver(driver, src, out)
        check(p.returncode == 0, f"orientation {o}: exit {p.returncode}")
        if p.returncode != 0:
            continue
        ref = ImageOps.exif_transpose(Image.open(src)).convert("RGB")
        im = Image.open(out)
        check(im.size == ref.size, f"orientation {o}: size {im.size}, viewer shows {ref.size}")
        check(0x0112 not in im.getexif(), f"orientation {o}: tag left")
        if im.size == ref.size:
            diff = ImageStat.Stat(ImageChops.difference(im.convert("RGB"), ref)).mean
            check(max(diff) <= 3, f"orientation {o}: mean difference {diff}")


def main():
    conv, driver = sys.argv[1], sys.argv[2]
    if not os.path.isdir(CORPUS):
        print("no corpus at", CORPUS)
        return 77
    with tempfile.TemporaryDirectory() as work:
        good_images(driver, work)
        bombs(conv, driver, work)
        # every child so far (small images and refused bombs) stayed small:
        # the bombs were refused before any pixel buffer existed
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss >> 10
        check(AS_BYTES == 0 or peak_mib < 64, f"peak RSS of the converter and driver {peak_mib} MiB")
        print(f"peak RSS of any child: {peak_mib} MiB")
        bad_streams(driver, work)
        orientations(driver, work)
    return done()


if __name__ == "__main__":
    sys.exit(main())
