"""Hostile test mails for the sanitizer, written by the project (not taken
from any corpus).  write_all(dir) writes NN-name.eml files."""
import base64
import os
import struct
import zlib

HDR = ("From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\n"
       "To: soumu@city.example.lg.jp\n"
       "Date: Sun, 22 Nov 2026 09:00:00 +0900\n"
       "Message-ID: <%s@example.jp>\n"
       "Received: from evil by mx\n"
       "X-Mailer: hostile\n"
       "MIME-Version: 1.0\n")


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def pe_exe():
    b = bytearray(512)
    b[0:2] = b"MZ"
    b[0x3c:0x40] = struct.pack("<I", 0x80)
    b[0x80:0x84] = b"PE\0\0"
    b[0x84:0x86] = struct.pack("<H", 0x14c)  # i386
    b[0x86:0x88] = struct.pack("<H", 1)
    b[0x94:0x96] = struct.pack("<H", 0xe0)  # optional header size
    b[0x96:0x98] = struct.pack("<H", 0x0102)
    b[0x98:0x9a] = struct.pack("<H", 0x10b)  # PE32
    return bytes(b)


def enc_zip():
    name = "請求書.xlsx".encode("utf-8")
    data = os.urandom(0) + bytes(range(12)) + b"encrypted-bytes-here" * 4
    crc = zlib.crc32(b"secret")
    lh = struct.pack("<4sHHHHHIIIHH", b"PK\3\4", 20, 0x0801, 0, 0, 0, crc, len(data), 6, len(name), 0) + name + data
    cd = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\1\2", 20, 20, 0x0801, 0, 0, 0, crc, len(data), 6,
                     len(name), 0, 0, 0, 0, 0, 0) + name
    eocd = struct.pack("<4sHHHHIIH", b"PK\5\6", 0, 0, 1, 1, len(cd), len(lh), 0)
    return lh + cd + eocd


def tnef():
    def attr(level, aid, data):
        return struct.pack("<BII", level, aid, len(data)) + data + struct.pack("<H", sum(data) & 0xffff)
    return (struct.pack("<IH", 0x223E9F78, 0x0001) + attr(1, 0x00089006, b"\0\0\1\0") +
            attr(2, 0x00069002, b"\1\0" * 7) + attr(2, 0x00018010, b"invoice.exe\0") +
            attr(2, 0x0006800F, b"MZ" + b"\0" * 60) + attr(2, 0x00069002, b"\1\0" * 7) +
            attr(2, 0x00018010, "見積書.docm".encode("cp932") + b"\0") + attr(2, 0x0006800F, b"PK\3\4" + b"\0" * 40))


def mixed(mid, subject, parts, preamble=""):
    s = HDR % mid + "Subject: %s\nContent-Type: multipart/mixed; boundary=\"BOUND\"\n\n%s" % (subject, preamble)
    for p in parts:
        s += "--BOUND\n" + p + "\n"
    return s + "--BOUND--\n"


TEXT_JA = "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n" + b64(
    "総務課 各位\n添付の資料をご確認ください。\n山田\n".encode("utf-8"))


def att(ctype, name, data, disp="attachment"):
    return ("Content-Type: %s; name=\"%s\"\nContent-Disposition: %s; filename=\"%s\"\n"
            "Content-Transfer-Encoding: base64\n\n%s" % (ctype, name, disp, name, b64(data)))


def messages():
    m = {}
    rtlo = "=?UTF-8?B?%s?=" % base64.b64encode("請求書\u202efdp.exe".encode()).decode()
    m["01-rtlo-name"] = mixed("rtlo", "RTLO", [TEXT_JA, (
        "Content-Type: application/octet-stream; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\n"
        "Content-Transfer-Encoding: base64\n\n%s" % (rtlo, rtlo, b64(pe_exe())))])
    m["02-double-extension"] = mixed("dbl", "double ext", [TEXT_JA, att("application/pdf", "report.pdf.exe", pe_exe())])
    m["03-pe-named-pdf"] = mixed("pe", "PE as PDF", [TEXT_JA, att("application/pdf", "契約書.pdf", pe_exe())])
    m["04-encrypted-zip"] = mixed("ppap", "PPAP", [TEXT_JA, att("application/zip", "請求書.zip", enc_zip())])
    m["05-tnef"] = mixed("tnef", "TNEF", [TEXT_JA, att("application/ms-tnef", "winmail.dat", tnef())])
    m["06-duplicate-content-type"] = mixed("dupct", "dup CT", [TEXT_JA, (
        "Content-Type: text/plain; charset=us-ascii\nContent-Type: text/html\nContent-Transfer-Encoding: 7bit\n\n"
        "<html><body><script>alert(1)</script>hello</body></html>")])
    inner = TEXT_JA
    for i in range(40):
        inner = "Content-Type: multipart/mixed; boundary=\"B%d\"\n\n--B%d\n%s\n--B%d--\n" % (i, i, inner, i)
    m["07-mime-bomb-depth"] = HDR % "bomb" + "Subject: bomb\n" + inner
    m["08-mime-bomb-parts"] = mixed("parts", "many parts", [TEXT_JA] + ["Content-Type: text/plain\n\nx"] * 700)
    uu = "begin 644 tool.exe\n" + "".join(
        chr(32 + 45) + "".join(chr(32 + ((v >> s) & 63) if ((v >> s) & 63) else 96) for v in [
            (pe_exe()[k * 45 + j] << 16 | pe_exe()[k * 45 + j + 1] << 8 | pe_exe()[k * 45 + j + 2])
            for j in range(0, 45, 3)] for s in (18, 12, 6, 0)) + "\n" for k in range(2)) + "`\nend\n"
    m["09-uuencode-in-text"] = (HDR % "uu" + "Subject: uu\nContent-Type: text/plain; charset=UTF-8\n"
                                "Content-Transfer-Encoding: 8bit\n\nこんにちは、ツールを送ります。\n\n" + uu +
                                "\nよろしくお願いします。\n")
    html = ("<html><head><style>p{color:red}</style><script>document.location='http://evil.example/'</script></head>"
            "<body><p>お知らせ&amp;ご案内</p><p style=\"display:none\">隠しテキスト</p>"
            "<a href=\"https://evil.example/login\">銀行のサイト</a><br>"
            "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">開く</a>"
            "<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"ロゴ\"><ul><li>一つ目</li><li>二つ目</li></ul>"
            "<table><tr><td>品名</td><td>数量</td></tr><tr><td>りんご</td><td>3</td></tr></table>"
            "<!-- comment --></body></html>")
    m["10-html-script-data-url"] = (HDR % "html" + "Subject: html\nContent-Type: text/html; charset=UTF-8\n"
                                    "Content-Transfer-Encoding: base64\n\n" + b64(html.encode()))
    m["11-utf7-subject"] = (HDR % "utf7" + "Subject: =?UTF-7?Q?+ADw-script+AD4-alert(1)+ADw-/script+AD4-?=\n"
                            "Content-Type: text/plain; charset=UTF-8\n\nbody\n")
    m["12-utf7-body"] = (HDR % "utf7b" + "Subject: utf7 body\nContent-Type: text/plain; charset=utf-7\n\n"
                         "+ADw-script+AD4-alert(1)+ADw-/script+AD4-\n")
    cp932 = "①番の件、髙橋様へ。ﾃｽﾄ".encode("cp932")
    m["13-cp932-labelled-iso2022jp"] = (HDR % "cp932" + "Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\n"
                                        "Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 8bit\n\n").encode() + cp932 + b"\n"
    jis = b"\x1b$B-!HV$N7o\x1b(B\n"  # ①番の件 with NEC row 13
    m["14-iso2022jp-nec"] = (HDR % "nec" + "Subject: NEC\nContent-Type: text/plain; charset=ISO-2022-JP\n"
                             "Content-Transfer-Encoding: 7bit\n\n").encode() + jis
    m["15-8bit-no-charset"] = (HDR % "nocs" + "Subject: nocs\nContent-Type: text/plain\n\n").encode() + "会議は明日です。".encode("cp932") + b"\n"
    m["16-name-filename-mismatch"] = mixed("nm", "nm", [TEXT_JA, (
        "Content-Type: application/pdf; name=\"safe.pdf\"\nContent-Disposition: attachment; filename=\"evil.js\"\n"
        "Content-Transfer-Encoding: base64\n\n" + b64(b"WScript.Shell; var x = 1;\n" * 4))])
    m["17-message-partial"] = (HDR % "partial" + "Subject: partial\nContent-Type: message/partial; id=\"abc\"; number=1; total=2\n\n"
                               "Content-Type: application/octet-stream\n\nAAAA\n")
    m["18-html-attachment-smuggling"] = mixed("smug", "smuggle", [TEXT_JA, att("text/html", "invoice.htm",
                                              b"<html><script>var b=atob('TVqQ');</script></html>")])
    m["19-forward-nested"] = mixed("fwd", "Fwd", [TEXT_JA, (
        "Content-Type: message/rfc822\n\nFrom: a@example.jp\nTo: b@example.jp\nSubject: =?UTF-8?B?5YWD44Gu5Lu25ZCN?=\n"
        "Date: Sat, 21 Nov 2026 10:00:00 +0900\nContent-Type: multipart/mixed; boundary=IN\n\n--IN\n" + TEXT_JA +
        "\n--IN\n" + att("application/vnd.ms-excel", "予算.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504) + "\n--IN--\n")])
    m["20-header-injection"] = (HDR % "inj" + "Subject: =?UTF-8?B?%s?=\nContent-Type: text/plain; charset=UTF-8\n\nok\n"
                                % base64.b64encode(b"hello\r\nBcc: victim@example.jp").decode())
    m["21-text-urls"] = (HDR % "urls" + "Subject: urls\nContent-Type: text/plain; charset=UTF-8\n"
                         "Content-Transfer-Encoding: 8bit\n\n"
                         "ログインはこちらhttps://evil.example/login?id=1から。\n"
                         "(see http://EVIL.example/a_(b)) and ftp://files.example/x.zip.\n"
                         "Not links: www.example.jp, xhttp://no, hxxps://already.example\n")
    return m


def write_all(d):
    for k, v in messages().items():
        with open(os.path.join(d, k + ".eml"), "wb") as f:
            f.write(v if isinstance(v, bytes) else v.encode("utf-8"))


if __name__ == "__main__":
    import sys
    write_all(sys.argv[1])
