"""Evasion mails for issue 11 ("nothing extractable gets through"), written
by the project: every trick class, several variants each.

Each mail carries `X-Evasion: <class>/<variant>` and `X-Payload-SHA256` of
its payload: a small PE executable with a marker naming the mail, an
EICAR-like zip (a harmless marker, not the real EICAR string), an HTML
smuggling page with a base64 blob, a VBScript -- or, for the link classes,
the link itself.  CASES is the table (class, variant, proof, builder);
builder(ident) returns (payload bytes, message str or bytes).  proof says
how a reader of the ORIGINAL shows the trick works (extract_test.py checks
it): "extract" -- some reader extracts the payload (or blobscan finds it in
what a reader extracted), "blob" -- blobscan finds it, "link" -- linkscan
finds a live link.  Addresses: example.jp / example.lg.jp only.

  make_evasion.py DIR   writes <class>--<variant>.eml files
"""
import base64
import binascii
import gzip
import hashlib
import html
import io
import os
import quopri
import struct
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_hostile as mh  # noqa: E402

# --- payloads -------------------------------------------------------------


def pe(ident):
    """The hostile samples' PE header with an overlay naming this mail."""
    return mh.pe_exe() + b"SEKISHO-EVASION-PE " + ident.encode() + b"\0" * 8


def eicar_like_zip(ident):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # a fixed date: the same bytes on every run
        z.writestr(zipfile.ZipInfo("eicar.com", date_time=(2026, 11, 22, 9, 0, 0)),
                   b"SEKISHO-EVASION-EICAR-LIKE-TEST-FILE " + ident.encode() + b"\r\n",
                   compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def smuggling_page(ident):
    return ("<html><body><p>請求書をダウンロードしています…</p><script>\n"
            "var b = atob('%s');\nvar a = new Uint8Array(b.length);\n"
            "for (var i = 0; i < b.length; i++) a[i] = b.charCodeAt(i);\n"
            "var l = document.createElement('a');\n"
            "l.href = URL.createObjectURL(new Blob([a], {type: 'application/octet-stream'}));\n"
            "l.download = 'invoice.exe'; document.body.appendChild(l); l.click();\n"
            "</script></body></html>\n" % base64.b64encode(pe(ident)).decode()).encode()


def vbscript(ident):
    return ('Set sh = CreateObject("WScript.Shell")\r\n'
            'sh.Run "cmd /c echo SEKISHO-EVASION-VBS %s", 0\r\n' % ident).encode()


# --- encoders (also used by blobscan's self test) ---------------------------


def uuencode(data, name="invoice.exe", mode="644", zero="`", twin=False, end=True, indent=""):
    """uuencode with the variants old encoders produced: space or backquote
    for zero, the lowercase "twin" alphabet (value + 0x60), no `end` line,
    an indented block."""
    out = [indent + "begin %s %s" % (mode, name)]
    for k in range(0, len(data), 45):
        chunk = data[k:k + 45]
        line = chr(32 + len(chunk))
        pad = chunk + bytes(-len(chunk) % 3)
        for j in range(0, len(pad), 3):
            v = pad[j] << 16 | pad[j + 1] << 8 | pad[j + 2]
            for s in (18, 12, 6, 0):
                x = v >> s & 63
                line += zero if x == 0 else chr(x + (0x60 if twin and 0 < x < 0x1f else 0x20))
        out.append(indent + line)
    out.append(indent + zero)
    if end:
        out.append(indent + "end")
    return "\n".join(out) + "\n"


def yencode(data, name="invoice.exe"):
    """yEnc (str with code points < 256 standing for bytes), 128 per line."""
    out, line = [], ""
    for b in data:
        v = (b + 42) & 0xFF
        line += "=" + chr((v + 64) & 0xFF) if v in (0x00, 0x0a, 0x0d, 0x3d) else chr(v)
        if len(line) >= 128:
            out.append(line)
            line = ""
    if line:
        out.append(line)
    return "=ybegin line=128 size=%d name=%s\n%s\n=yend size=%d\n" % (len(data), name, "\n".join(out), len(data))


BINHEX_ALPHABET = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"


def binhex(data, name="invoice.exe"):
    """BinHex 4.0: header, data fork and CRCs, run-length coded, 6-bit text."""
    n = name.encode()
    head = bytes([len(n)]) + n + b"\0" + b"APPL" + b"????" + b"\0\0" + struct.pack(">II", len(data), 0)
    raw = head + struct.pack(">H", binascii.crc_hqx(head, 0)) + data + struct.pack(">H", binascii.crc_hqx(data, 0))
    raw += b"\0\0"  # empty resource fork's CRC
    rle, i = bytearray(), 0
    while i < len(raw):
        j = i
        while j < len(raw) and raw[j] == raw[i] and j - i < 255:
            j += 1
        b = raw[i]
        lit = b"\x90\x00" if b == 0x90 else bytes([b])
        rle += lit + (b"\x90" + bytes([j - i]) if j - i >= 3 else lit * (j - i - 1))
        i = j
    bits = nbits = 0
    chars = []
    for b in rle:
        bits = bits << 8 | b
        nbits += 8
        while nbits >= 6:
            nbits -= 6
            chars.append(BINHEX_ALPHABET[bits >> nbits & 63])
    if nbits:
        chars.append(BINHEX_ALPHABET[bits << (6 - nbits) & 63])
    s = ":" + "".join(chars) + ":"
    lines = [s[i:i + 64] for i in range(0, len(s), 64)]
    return "(This file must be converted with BinHex 4.0)\n" + "\n".join(lines) + "\n"


def gzip64(data):
    return mh.b64(gzip.compress(data, mtime=0))


# --- message pieces ---------------------------------------------------------

PROSE = "総務課 各位\n\n請求書の件、下記のとおりお送りします。\n"
THANKS = "\nよろしくお願いします。\n山田\n"


def top(ident, payload):
    """Header block up to (not including) the Content-Type."""
    return ("X-Evasion: %s\nX-Payload-SHA256: %s\n" % (ident, hashlib.sha256(payload).hexdigest()) +
            mh.HDR % ("evasion." + ident.replace("/", ".")) + "Subject: evasion %s\n" % ident)


def exe_part(payload, name="invoice.exe"):
    return mh.att("application/octet-stream", name, payload)


def mixed(ident, payload, parts, boundary="B0", ct=None):
    s = top(ident, payload) + (ct or "Content-Type: multipart/mixed; boundary=\"%s\"\n" % boundary) + "\n"
    for p in parts:
        s += "--%s\n%s\n" % (boundary, p)
    return s + "--%s--\n" % boundary


def plain(ident, payload, body, charset="UTF-8", cte="8bit", ctype="text/plain"):
    return top(ident, payload) + "Content-Type: %s; charset=%s\nContent-Transfer-Encoding: %s\n\n%s" % (
        ctype, charset, cte, body)


def html_mail(ident, payload, body):
    return plain(ident, payload, "<html><head><style>.x{display:none}</style></head><body>%s</body></html>\n" % body,
                 ctype="text/html")


# --- the classes ----------------------------------------------------------

def dup_boundary(params):
    """Two boundary parameters: a reader taking B1 sees one text part with
    the attachment inside its text, one taking B2 sees the attachment."""
    def build(ident):
        exe = pe(ident)
        body = ("--B1\nContent-Type: text/plain; charset=UTF-8\n\n" + PROSE + "--B2\n" + exe_part(exe) +
                "\n--B2--\n--B1--\n")
        return exe, top(ident, exe) + "Content-Type: multipart/mixed; %s\n\n" % params + body
    return build


def dup_ct_top(first_multipart):
    def build(ident):
        exe = pe(ident)
        cts = ["Content-Type: text/plain; charset=UTF-8\n", "Content-Type: multipart/mixed; boundary=\"B0\"\n"]
        if first_multipart:
            cts.reverse()
        return exe, (top(ident, exe) + "".join(cts) + "\n--B0\n" + mh.TEXT_JA + "\n--B0\n" + exe_part(exe) +
                     "\n--B0--\n")
    return build


def dup_ct_part(inner):
    def build(ident):
        exe = pe(ident)
        if inner == "multipart":
            p = ("Content-Type: text/plain; charset=UTF-8\nContent-Type: multipart/mixed; boundary=\"IN\"\n\n"
                 "--IN\n" + exe_part(exe) + "\n--IN--\n")
        else:
            p = ("Content-Type: text/plain; charset=us-ascii\n"
                 "Content-Type: application/octet-stream; name=invoice.exe\n"
                 "Content-Transfer-Encoding: base64\n\n" + mh.b64(exe))
        return exe, mixed(ident, exe, [mh.TEXT_JA, p])
    return build


def delimiter(before, after="\n"):
    """A delimiter not alone on its line: in mid-line, behind a bare CR, with
    white space before it, or ended by a bare CR."""
    def build(ident):
        exe = pe(ident)
        return exe, (top(ident, exe) + "Content-Type: multipart/mixed; boundary=\"B0\"\n\n--B0\n"
                     "Content-Type: text/plain; charset=UTF-8\n\n" + PROSE.rstrip("\n") + before + "--B0" + after +
                     exe_part(exe) + "\n--B0--\n")
    return build


def delimiter_in_header(where):
    def build(ident):
        exe = pe(ident)
        if where == "text-part":
            p = "Content-Type: text/plain; charset=UTF-8\n--B0\n" + exe_part(exe)
        else:  # the delimiter inside the attachment's own headers turns it into a base64 text part
            p = ("Content-Type: application/octet-stream; name=invoice.exe\n--B0\n"
                 "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n" + mh.b64(exe))
        return exe, mixed(ident, exe, [mh.TEXT_JA, p])
    return build


def header_bare_cr(where):
    def build(ident):
        exe = pe(ident)
        if where == "part-disposition":
            return exe, mixed(ident, exe, [mh.TEXT_JA, (
                "Content-Type: text/plain; charset=us-ascii\rContent-Disposition: attachment; filename=invoice.exe\n"
                "Content-Transfer-Encoding: base64\n\n" + mh.b64(exe))])
        if where == "part-cte":
            return exe, mixed(ident, exe, [mh.TEXT_JA, (
                "Content-Type: text/plain; charset=us-ascii\rContent-Transfer-Encoding: base64\n\n" + mh.b64(exe))])
        return exe, (top(ident, exe) + "X-Note: hello\rContent-Type: multipart/mixed; boundary=\"B0\"\n\n--B0\n" +
                     mh.TEXT_JA + "\n--B0\n" + exe_part(exe) + "\n--B0--\n")
    return build


def inner_mail(exe):
    return ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"IN\"\n\n--IN\n" + mh.TEXT_JA + "\n--IN\n" +
            exe_part(exe) + "\n--IN--\n")


def text_is_multipart(where):
    def build(ident):
        exe = pe(ident)
        if where == "top":
            return exe, plain(ident, exe, inner_mail(exe))
        if where == "part":
            return exe, mixed(ident, exe, [mh.TEXT_JA, "Content-Type: text/plain; charset=UTF-8\n\n" + inner_mail(exe)])
        return exe, plain(ident, exe, mh.b64(inner_mail(exe).encode()), cte="base64")
    return build


def line_ends(how):
    """The same multipart (text + attachment) with other line ends."""
    def build(ident):
        exe = pe(ident)
        msg = mixed(ident, exe, [mh.TEXT_JA, exe_part(exe)])
        head, body = msg.split("\n\n", 1)
        if how == "bare-cr":
            return exe, msg.replace("\n", "\r")
        if how == "bare-cr-body":
            return exe, head + "\n\n" + body.replace("\n", "\r")
        if how == "crlf-head-lf-body":
            return exe, head.replace("\n", "\r\n") + "\r\n\r\n" + body
        if how == "crlf-delimiters":
            return exe, "\n".join(ln + "\r" if ln.startswith("--B0") else ln for ln in msg.split("\n"))
        # cycle LF, CRLF, CR line by line
        lines = msg.split("\n")
        return exe, "".join(ln + ("\n", "\r\n", "\r")[i % 3] for i, ln in enumerate(lines[:-1])) + lines[-1]
    return build


def header_anomaly(kind):
    def build(ident):
        exe = pe(ident)
        parts = "\n--B0\n" + mh.TEXT_JA + "\n--B0\n" + exe_part(exe) + "\n--B0--\n"
        tops = {
            "obs-fold-blank": "Content-Type: multipart/mixed;\n \n boundary=\"B0\"\n",
            "obs-fold-value": "Content-Type: multipart/mixed; boundary=\n \"B0\"\n",
            "space-before-colon": "Content-Type : multipart/mixed; boundary=\"B0\"\n",
            "8bit-name": "X-Tést: 1\nContent-Type: multipart/mixed; boundary=\"B0\"\n",
            "no-colon-line": "This line is no header\nContent-Type: multipart/mixed; boundary=\"B0\"\n",
        }
        if kind in tops:
            return exe, top(ident, exe) + tops[kind] + parts
        # in a part: the attachment's Content-Type behind the anomaly
        anomaly = {"part-space-before-colon": "", "part-8bit-name": "X-Tést: 1\n",
                   "part-no-colon-line": "This line is no header\n"}[kind]
        ct = "Content-Type : " if kind == "part-space-before-colon" else "Content-Type: "
        return exe, mixed(ident, exe, [mh.TEXT_JA, anomaly + ct + "application/octet-stream; name=invoice.exe\n"
                                       "Content-Transfer-Encoding: base64\n\n" + mh.b64(exe)])
    return build


def cte_game(cte_lines, body_fn=mh.b64):
    """A text/plain part whose transfer encoding is played with; decoded the
    lenient way it is the executable."""
    def build(ident):
        exe = pe(ident)
        p = "Content-Type: text/plain; charset=UTF-8\n" + cte_lines + "\n" + body_fn(exe)
        return exe, mixed(ident, exe, [mh.TEXT_JA, p])
    return build


def cte_binary(ident):
    exe = pe(ident)
    msg = mixed(ident, exe, [mh.TEXT_JA, "Content-Type: text/plain\nContent-Transfer-Encoding: binary\n\n@EXE@"])
    return exe, msg.encode().replace(b"@EXE@", exe)


def declared_text(kind):
    def build(ident):
        if kind == "exe-base64":
            exe = pe(ident)
            return exe, plain(ident, exe, mh.b64(exe), cte="base64")
        if kind == "exe-8bit":
            exe = pe(ident)
            return exe, plain(ident, exe, "").encode() + exe + b"\n"
        if kind == "zip-base64":
            z = eicar_like_zip(ident)
            return z, mixed(ident, z, [mh.TEXT_JA, "Content-Type: text/plain; charset=UTF-8\n"
                                       "Content-Transfer-Encoding: base64\n\n" + mh.b64(z)])
        if kind == "script":
            v = vbscript(ident)
            return v, mixed(ident, v, [mh.TEXT_JA, "Content-Type: text/plain; charset=us-ascii\n\n" + v.decode()])
        if kind == "text-vbscript":
            v = vbscript(ident)
            return v, mixed(ident, v, [mh.TEXT_JA, "Content-Type: text/vbscript\n\n" + v.decode()])
        if kind == "smuggling":
            page = smuggling_page(ident)
            return page, plain(ident, page, page.decode())
        if kind == "smuggling-base64":
            page = smuggling_page(ident)
            return page, mixed(ident, page, [mh.TEXT_JA, "Content-Type: text/plain; charset=UTF-8\n"
                                             "Content-Transfer-Encoding: base64\n\n" + mh.b64(page)])
        # a delivery report whose status part carries a base64 block
        exe = pe(ident)
        status = ("Reporting-MTA: dns; mx.example.jp\n\nFinal-Recipient: rfc822; soumu@city.example.lg.jp\n"
                  "Action: failed\nStatus: 5.0.0\nX-Original-Data:\n" +
                  "".join(" " + ln + "\n" for ln in mh.b64(exe).split("\n")))
        return exe, mixed(ident, exe, ["Content-Type: text/plain; charset=UTF-8\n\n配送できませんでした。\n",
                                       "Content-Type: message/delivery-status\n\n" + status], boundary="R0",
                          ct="Content-Type: multipart/report; report-type=delivery-status; boundary=\"R0\"\n")
    return build


def in_text(make_block, payload_fn=pe):
    """An encoded block pasted into the prose of a text/plain part."""
    def build(ident):
        data = payload_fn(ident)
        return data, plain(ident, data, PROSE + "\n" + make_block(data) + THANKS)
    return build


def yenc_in_text(ident):
    # yEnc is 8-bit: a Latin-1 part, so the block survives any charset
    # conversion as the same code points
    exe = pe(ident)
    body = "Dear all,\n\nthe tool as promised:\n\n" + yencode(exe) + "\nRegards\n"
    return exe, plain(ident, exe, body, charset="ISO-8859-1").encode("latin-1")


def uu_in_html(ident):
    exe = pe(ident)
    return exe, html_mail(ident, exe, "<p>ツールです。</p><pre>\n%s</pre>" % html.escape(uuencode(exe), quote=False))


def b64_padding_games(data):
    s = base64.b64encode(data).decode()
    # pieces of 24 characters, each re-padded with '=' as some decoders restart after padding
    return "\n".join(s[i:i + 24] + "=" for i in range(0, len(s), 24))


def html_data_url(obfuscated_scheme):
    def build(ident):
        exe = pe(ident)
        return exe, html_mail(ident, exe, '<p>請求書は<a href="%s:application/octet-stream;base64,%s">こちら</a></p>' % (
            obfuscated_scheme, base64.b64encode(exe).decode()))
    return build


def html_hidden(what):
    def build(ident):
        if what == "blob":
            exe = pe(ident)
            return exe, html_mail(ident, exe, '<p>請求書です。</p><div class="x">%s</div>' % mh.b64(exe))
        link = "file:///\\\\evil.example.jp\\share\\invoice.exe"
        return link.encode(), html_mail(ident, link.encode(), '<p>請求書です。</p><div class="x">%s</div>' % link)
    return build


def moniker(as_text):
    def build(ident):
        link = "file:///\\\\evil.example.jp\\test\\invoice.rtf!something"
        return link.encode(), html_mail(ident, link.encode(), '<p><a href="%s">%s</a></p>' % (
            link, link if as_text else "請求書を開く"))
    return build


def text_link(link):
    def build(ident):
        return link.encode(), plain(ident, link.encode(), PROSE + "\n詳細: " + link + "\n" + THANKS)
    return build


def b64_lines(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))


CASES = [
    ("dup-boundary", "first-b1", "extract", dup_boundary('boundary="B1"; boundary="B2"')),
    ("dup-boundary", "first-b2", "extract", dup_boundary('boundary="B2"; boundary="B1"')),
    ("dup-boundary", "case", "extract", dup_boundary('boundary=B1; BOUNDARY=B2')),
    ("dup-boundary", "rfc2231", "extract", dup_boundary('boundary="B1"; boundary*0="B2"')),
    ("dup-content-type", "top-text-first", "extract", dup_ct_top(False)),
    ("dup-content-type", "top-multipart-first", "extract", dup_ct_top(True)),
    ("dup-content-type", "part-multipart", "extract", dup_ct_part("multipart")),
    ("dup-content-type", "part-octet-stream", "extract", dup_ct_part("octet")),
    ("delimiter", "mid-line", "extract", delimiter("")),
    ("delimiter", "after-space", "extract", delimiter("\n  ")),
    ("delimiter", "behind-bare-cr", "extract", delimiter("\r")),
    ("delimiter", "ended-by-bare-cr", "extract", delimiter("\n", "\r")),
    ("delimiter-in-header", "text-part", "extract", delimiter_in_header("text-part")),
    ("delimiter-in-header", "attachment", "extract", delimiter_in_header("attachment")),
    ("header-bare-cr", "top", "extract", header_bare_cr("top")),
    ("header-bare-cr", "part-disposition", "extract", header_bare_cr("part-disposition")),
    ("header-bare-cr", "part-cte", "extract", header_bare_cr("part-cte")),
    ("text-is-multipart", "top", "extract", text_is_multipart("top")),
    ("text-is-multipart", "part", "extract", text_is_multipart("part")),
    ("text-is-multipart", "base64", "extract", text_is_multipart("base64")),
    ("line-ends", "bare-cr", "extract", line_ends("bare-cr")),
    ("line-ends", "bare-cr-body", "extract", line_ends("bare-cr-body")),
    ("line-ends", "crlf-head-lf-body", "extract", line_ends("crlf-head-lf-body")),
    ("line-ends", "crlf-delimiters", "extract", line_ends("crlf-delimiters")),
    ("line-ends", "mixed-cycle", "extract", line_ends("cycle")),
    ("header-anomaly", "obs-fold-blank", "extract", header_anomaly("obs-fold-blank")),
    ("header-anomaly", "obs-fold-value", "extract", header_anomaly("obs-fold-value")),
    ("header-anomaly", "space-before-colon", "extract", header_anomaly("space-before-colon")),
    ("header-anomaly", "8bit-name", "extract", header_anomaly("8bit-name")),
    ("header-anomaly", "no-colon-line", "extract", header_anomaly("no-colon-line")),
    ("header-anomaly", "part-space-before-colon", "extract", header_anomaly("part-space-before-colon")),
    ("header-anomaly", "part-8bit-name", "extract", header_anomaly("part-8bit-name")),
    ("header-anomaly", "part-no-colon-line", "extract", header_anomaly("part-no-colon-line")),
    ("cte-game", "quoted", "extract", cte_game('Content-Transfer-Encoding: "base64"\n')),
    ("cte-game", "comment", "extract", cte_game("Content-Transfer-Encoding: (comment) base64\n")),
    ("cte-game", "two-7bit-base64", "extract", cte_game("Content-Transfer-Encoding: 7bit\n"
                                                        "Content-Transfer-Encoding: base64\n")),
    ("cte-game", "two-base64-7bit", "extract", cte_game("Content-Transfer-Encoding: base64\n"
                                                        "Content-Transfer-Encoding: 7bit\n")),
    ("cte-game", "x-gzip64", "extract", cte_game("Content-Transfer-Encoding: x-gzip64\n", gzip64)),
    ("cte-game", "x-uuencode", "extract", cte_game("Content-Transfer-Encoding: x-uuencode\n", uuencode)),
    ("cte-game", "binary", "extract", cte_binary),
    ("cte-game", "unknown", "extract", cte_game("Content-Transfer-Encoding: x-base64\n")),
    ("cte-game", "padded-upper", "extract", cte_game("Content-Transfer-Encoding:   BASE64  \n")),
    ("declared-text", "exe-base64", "extract", declared_text("exe-base64")),
    ("declared-text", "exe-8bit", "extract", declared_text("exe-8bit")),
    ("declared-text", "zip-base64", "extract", declared_text("zip-base64")),
    ("declared-text", "script", "extract", declared_text("script")),
    ("declared-text", "text-vbscript", "extract", declared_text("text-vbscript")),
    ("declared-text", "smuggling-page", "extract", declared_text("smuggling")),
    ("declared-text", "smuggling-page-base64", "extract", declared_text("smuggling-base64")),
    ("declared-text", "delivery-status-base64", "extract", declared_text("delivery-status")),
    ("in-text", "uu-backquote", "blob", in_text(uuencode)),
    ("in-text", "uu-space", "blob", in_text(lambda d: uuencode(d, zero=" "))),
    ("in-text", "uu-space-stripped", "blob", in_text(
        lambda d: "\n".join(ln.rstrip() for ln in uuencode(d, zero=" ").split("\n")))),
    ("in-text", "uu-twin", "blob", in_text(lambda d: uuencode(d, twin=True))),
    ("in-text", "uu-no-end", "blob", in_text(lambda d: uuencode(d, end=False))),
    ("in-text", "uu-indented", "blob", in_text(lambda d: uuencode(d, indent="    "))),
    ("in-text", "uu-mode-100644", "blob", in_text(lambda d: uuencode(d, mode="100644"))),
    ("in-text", "uu-zip", "blob", in_text(lambda d: uuencode(d, name="eicar.zip"), eicar_like_zip)),
    ("in-text", "begin-base64", "blob", in_text(
        lambda d: "begin-base64 644 invoice.exe\n" + b64_lines(d) + "\n====\n")),
    ("in-text", "uu-html-pre", "blob", uu_in_html),
    ("in-text", "yenc", "blob", yenc_in_text),
    ("in-text", "binhex", "blob", in_text(binhex)),
    ("in-text", "base64-block", "blob", in_text(b64_lines)),
    ("in-text", "base64-in-prose", "blob", in_text(lambda d: "このコードを実行してください: %s で終わりです。"
                                                   % base64.b64encode(d).decode())),
    ("in-text", "base64-urlsafe", "blob", in_text(lambda d: base64.urlsafe_b64encode(d).decode().rstrip("="))),
    ("in-text", "base64-spaced", "blob", in_text(lambda d: " ".join(
        base64.b64encode(d).decode()[i:i + 4] for i in range(0, len(base64.b64encode(d)), 4)))),
    ("in-text", "base64-padding-games", "blob", in_text(b64_padding_games)),
    ("in-text", "base64-quoted", "blob", in_text(
        lambda d: "\n".join("> " + ln for ln in b64_lines(d, 64).split("\n")))),
    ("in-text", "base64-zip", "blob", in_text(b64_lines, eicar_like_zip)),
    ("in-text", "base64-of-base64", "blob", in_text(lambda d: b64_lines(b64_lines(d).encode()))),
    ("in-text", "gzip64", "blob", in_text(gzip64)),
    ("in-text", "qp-binary", "blob", in_text(lambda d: quopri.encodestring(d).decode("ascii"))),
    ("html", "data-url-hex-tab", "blob", html_data_url("da&#x09;ta")),
    ("html", "data-url-dec-tab", "blob", html_data_url("da&#9;ta")),
    ("html", "data-url-named-tab", "blob", html_data_url("d&Tab;ata")),
    ("html", "data-url-newline", "blob", html_data_url("data&#10;")),
    ("html", "css-class-hidden-blob", "blob", html_hidden("blob")),
    ("html", "css-class-hidden-link", "link", html_hidden("link")),
    ("html", "moniker-link", "link", moniker(False)),
    ("html", "moniker-link-as-text", "link", moniker(True)),
    ("link", "file-url", "link", text_link("file:///C:/Windows/System32/calc.exe")),
    ("link", "file-unc", "link", text_link("file://\\\\evil.example.jp\\share\\invoice.exe")),
    ("link", "unc", "link", text_link("\\\\evil.example.jp\\share\\invoice.exe")),
    ("link", "unc-ip", "link", text_link("\\\\192.0.2.1@SSL\\DavWWWRoot\\x.lnk")),
    ("link", "smb", "link", text_link("smb://evil.example.jp/share/invoice.exe")),
    ("link", "www", "link", text_link("www.evil.example.jp/login")),
    ("link", "www2", "link", text_link("www2.evil.example.jp/login")),
    ("link", "javascript", "link", text_link("javascript:alert(document.cookie)")),
    ("link", "vbscript", "link", text_link("vbscript:msgbox(1)")),
    ("link", "data", "link", text_link("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==")),
    ("link", "ms-word", "link", text_link("ms-word:ofe|u|https://evil.example.jp/invoice.docx")),
    ("link", "ms-msdt", "link", text_link("ms-msdt:/id PCWDiagnostic /skip force /param \"IT_RebrowseForFile=?\"")),
    ("link", "search-ms", "link", text_link("search-ms:query=invoice&crumb=location:\\\\evil.example.jp\\share")),
    ("link", "full-width-scheme", "link", text_link("ｈｔｔｐｓ：／／evil.example.jp/login")),
    ("link", "full-width-www", "link", text_link("ｗｗｗ．evil.example.jp")),
    ("link", "upper-case", "link", text_link("HTTPS://EVIL.EXAMPLE.JP/LOGIN")),
    ("link", "backslash-scheme", "link", text_link("https:\\\\evil.example.jp\\login")),
    ("link", "nested-url", "link", text_link("ftp://files.example.jp/abc+http://evil.example.jp/")),
    ("link", "hxxps-not-bracketed", "link", text_link("hxxps://evil.example.jp/login")),
]


def messages():
    """{"class/variant": (proof, payload, message bytes)}"""
    out = {}
    for cls, var, proof, build in CASES:
        ident = "%s/%s" % (cls, var)
        payload, msg = build(ident)
        out[ident] = (proof, payload, msg if isinstance(msg, bytes) else msg.encode("utf-8"))
    return out


def write_all(d):
    for ident, (_, _, msg) in messages().items():
        with open(os.path.join(d, ident.replace("/", "--") + ".eml"), "wb") as f:
            f.write(msg)


if __name__ == "__main__":
    write_all(sys.argv[1])
