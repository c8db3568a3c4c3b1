#!/usr/bin/env python3
"""sekisho-logexport report: a self-contained HTML report for a few
realistic days (gateway and sanitiser chains): the right figures, no
external reference of any kind, hostile strings from the logs escaped,
the clock warning, a broken chain shown in red (and exit 1), and a
rendering in headless Chromium that is not blank.  Set LX_KEEP_REPORT=DIR
to keep the HTML and the screenshots."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxtest import Workdir, audit_files, check, done, genlog, lx, records_of, need_program  # noqa: E402


def png_pixels(path):
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes): (w, h, rows)."""
    d = open(path, "rb").read()
    assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    i, idat = 8, b""
    while i < len(d):
        n = int.from_bytes(d[i:i + 4], "big")
        t, c = d[i + 4:i + 8], d[i + 8:i + 8 + n]
        i += 12 + n
        if t == b"IHDR":
            w, h, depth, ctype = int.from_bytes(c[0:4], "big"), int.from_bytes(c[4:8], "big"), c[8], c[9]
        elif t == b"IDAT":
            idat += c
    assert depth == 8 and ctype in (2, 6), f"PNG depth {depth} type {ctype}"
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev, pos = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp), 0
    for _ in range(h):
        f, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, cc = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - cc), abs(a - cc), abs(a + b - 2 * cc)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


class Refs(HTMLParser):
    """Every tag and every attribute that could load something."""

    def __init__(self):
        super().__init__()
        self.tags, self.loads, self.handlers = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href", "srcset", "action", "data", "poster", "xlink:href", "background"):
                self.loads.append((tag, k, v))
            if k.startswith("on"):
                self.handlers.append((tag, k, v))


def screenshot(chromium, html, png, height):
    prof = tempfile.mkdtemp(prefix="lx-chromium-")
    try:
        r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync", "--no-first-run",
                            f"--user-data-dir={prof}", f"--screenshot={png}", f"--window-size=1280,{height}",
                            "file://" + html], capture_output=True, text=True, timeout=120)
        return r
    finally:
        shutil.rmtree(prof, ignore_errors=True)


wd = Workdir("report")
keep = os.environ.get("LX_KEEP_REPORT")
try:
    chromium = need_program("chromium", "chromium")
    gw, mail = wd.sub("gateway"), wd.sub("sanitizer")
    genlog(wd, gw, "--count", 5000, "--step-ms", 70000, "--seed", 31, "--start", "2026-11-19T20:00:00+09:00",
           "--policy-change-day", 2, "--unsynced-hour", 40)
    genlog(wd, mail, "--component", "sanitizer", "--host", "relay1", "--count", 600, "--step-ms", 500000,
           "--seed", 32, "--start", "2026-11-19T20:00:00+09:00")
    recs = records_of(gw) + records_of(mail)
    period = [r for r in recs if "2026-11-20" <= r["ts"][:10] <= "2026-11-22"]
    flows = [r for r in period if r["event"] == "flow.decision"]
    allowed = sum(1 for r in flows if r["data"]["action"] == "allow")
    denied = len(flows) - allowed
    mails = [r for r in period if r["event"] == "mail.sanitized"]
    removed = sum(len(r["data"]["removed"]) for r in mails)
    unsynced = sum(1 for r in period if r["event"] == "clock.status" and not r["data"]["synchronized"])

    html = wd.sub("report.html")
    r = lx("report", "--key", wd.key, "--since", "2026-11-20", "--until", "2026-11-22", "-o", html, gw, mail)
    check("report: exit 0", r.returncode == 0, r.stderr)
    doc = open(html, encoding="utf-8").read()
    check("report: one file, a few tens of KB", 10000 < len(doc) < 2000000, str(len(doc)))

    def num(n):
        return f"{n:,}"

    check("report: period and hosts in the header", "対象期間 2026-11-20 〜 2026-11-22" in doc and
          "gw1, relay1" in doc or "relay1, gw1" in doc)
    check(f"report: allowed flows card ({allowed})", f'<div class="card allow"><div class="k">許可した通信</div>'
          f'<div class="v">{num(allowed)}</div>' in doc)
    check(f"report: denied flows card ({denied})", f'<div class="card deny"><div class="k">拒否した通信</div>'
          f'<div class="v">{num(denied)}</div>' in doc)
    check(f"report: mails card ({len(mails)})", f'<div class="v">{num(len(mails))}</div>' in doc)
    check(f"report: attachments card ({removed})", f'<div class="v">{num(removed)}</div>' in doc)
    for day in ("2026-11-20", "2026-11-21", "2026-11-22"):
        check(f"report: per-day row for {day}", f'<td class="day" rowspan=' in doc and f">{day}</td>" in doc)
    check("report: nothing from outside the period", "2026-11-19</td>" not in doc and "2026-11-23</td>" not in doc
          and ">11-19<" not in doc and ">11-23<" not in doc)
    top = {}
    for x in flows:
        if x["data"]["action"] != "allow":
            top[x["data"]["src"]] = top.get(x["data"]["src"], 0) + 1
    best = max(top.items(), key=lambda kv: (kv[1], kv[0]))
    check(f"report: top denied source {best[0]} ({best[1]})",
          re.search(rf'<td class="mono">{re.escape(best[0])}</td><td>[^<]*</td><td class="n deny">{num(best[1])}</td>',
                    doc) is not None)
    types = {}
    for m in mails:
        for a in m["data"]["removed"]:
            types[a["detected_type"]] = types.get(a["detected_type"], 0) + 1
    check("report: attachments by true type", all(t[:20] in doc for t in types))
    check("report: policy versions (compile and load, both versions, the one in force before the period)",
          doc.count("2026.11-1") >= 1 and doc.count("2026.11-2") >= 3 and "期間開始時点" in doc and
          "sekisho-ctl" in doc)
    check("report: chain status per directory, OK", "改ざん検知: 監査ログの連鎖はすべて正常です" in doc and
          doc.count('<span class="tag t-ok">正常</span>') >= 4)
    check(f"report: clock warning ({unsynced} unsynchronised)", unsynced > 0 and
          f"時刻同期: 同期していない時間帯があります（{unsynced} 件" in doc)
    check("report: Japanese first, with the Noto CJK font named", '<html lang="ja">' in doc and "Noto Sans CJK JP" in doc)

    # no external references at all
    p = Refs()
    p.feed(doc)
    check("report: no http: or https: anywhere", "http:" not in doc and "https:" not in doc)
    check("report: no src/href/action attributes", not p.loads, str(p.loads[:3]))
    check("report: no script, link, img, iframe, object, embed",
          not set(p.tags) & {"script", "link", "img", "iframe", "object", "embed", "frame", "audio", "video"})
    check("report: no event handlers", not p.handlers)
    check("report: no url( or @import in CSS", "url(" not in doc and "@import" not in doc)
    check("report: charts are inline SVG", doc.count("<svg") >= 4)

    # Chromium renders it, and it is not blank
    png = wd.sub("report.png")
    r = screenshot(chromium, html, png, 2000)
    check("chromium: screenshot written", os.path.exists(png) and os.path.getsize(png) > 30000,
          r.stderr[-500:] if r else "")
    if os.path.exists(png):
        w, h, bpp, rows = png_pixels(png)
        colours, nonwhite = set(), 0
        for y in range(0, h, 4):
            row = rows[y]
            for x in range(0, w * bpp, 4 * bpp):
                px = row[x:x + 3]
                colours.add(bytes(px))
                nonwhite += px != b"\xff\xff\xff"
        sampled = ((h + 3) // 4) * ((w + 3) // 4)
        check("chromium: 1280x2000, many colours, not blank",
              (w, h) == (1280, 2000) and len(colours) > 200 and nonwhite > sampled // 10,
              f"{w}x{h}, {len(colours)} colours, {nonwhite}/{sampled} non-white")
        # the header band is the dark navy of the design, the banners green/amber
        top_px = rows[40][600 * bpp:600 * bpp + 3]
        check("chromium: dark header band rendered", top_px[0] < 60 and top_px[2] > top_px[0], str(list(top_px)))
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(html, os.path.join(keep, "report.html"))
        screenshot(chromium, html, os.path.join(keep, "report-full.png"), 5200)
        if os.path.exists(png):
            shutil.copy(png, os.path.join(keep, "report.png"))

    # English
    r = lx("report", "--key", wd.key, "--since", "2026-11-20", "--until", "2026-11-22", "--lang", "en", gw, mail)
    check("report --lang en", r.returncode == 0 and '<html lang="en">' in r.stdout and
          "Audit log report" in r.stdout and "Tamper check: every audit chain verifies" in r.stdout)

    # hostile strings from the logs are escaped
    hd = wd.sub("hostile")
    genlog(wd, hd, "--count", 50, "--step-ms", 60000, "--start", "2026-11-20T09:00:00+09:00", "--hostile")
    r = lx("report", "--key", wd.key, "--since", "2026-11-20", "--until", "2026-11-20", hd)
    doc2 = r.stdout
    p = Refs()
    p.feed(doc2)
    check("hostile: exit 0", r.returncode == 0, r.stderr)
    check("hostile: no markup from the logs became markup",
          not p.loads and not p.handlers and "script" not in p.tags and "img" not in p.tags and
          "iframe" not in p.tags and p.tags.count("style") == 1 and "svg" in p.tags, str(p.tags[:0]))
    check("hostile: shown escaped", "&lt;img src=x onerror=alert(1)&gt;" in doc2 and
          "v&lt;1&gt;" in doc2 and "&lt;svg onload=alert(3)&gt;" in doc2)
    check("hostile: control characters removed", "\x07" not in doc2 and "\x01" not in doc2)
    if keep:
        open(os.path.join(keep, "hostile.html"), "w").write(doc2)

    # a broken chain: red, and exit 1
    bd = wd.sub("broken")
    shutil.copytree(gw, bd)
    f = audit_files(bd)[1]
    lines = open(f, "rb").read().split(b"\n")
    del lines[30]
    open(f, "wb").write(b"\n".join(lines))
    bhtml = wd.sub("broken.html")
    r = lx("report", "--key", wd.key, "--since", "2026-11-20", "--until", "2026-11-22", "-o", bhtml, bd, mail)
    doc3 = open(bhtml, encoding="utf-8").read() if os.path.exists(bhtml) else ""
    check("broken: report written, exit 1", r.returncode == 1 and doc3, r.stderr)
    check("broken: red banner naming the directory and the break",
          '<div class="banner b-bad">' in doc3 and "警告: 監査ログの連鎖に異常があります" in doc3 and
          f"欠落 (missing) at {os.path.basename(f)}:31" in doc3 and bd in doc3)
    check("broken: per-directory status BROKEN and OK", '<span class="tag t-bad">異常</span>' in doc3 and
          '<span class="tag t-ok">正常</span>' in doc3)
    if keep:
        shutil.copy(bhtml, os.path.join(keep, "broken.html"))
        screenshot(chromium, bhtml, os.path.join(keep, "broken.png"), 1000)

    # usage
    check("report without --since: exit 2", lx("report", "--key", wd.key, "--until", "2026-11-22", gw).returncode == 2)
    check("report with a bad --lang: exit 2",
          lx("report", "--key", wd.key, "--since", "2026-11-20", "--until", "2026-11-22", "--lang", "fr",
             gw).returncode == 2)
finally:
    wd.cleanup()
done()
