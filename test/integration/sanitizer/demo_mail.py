#!/usr/bin/env python3
"""The demo's four sample mails (tools/demo.d/30-mail.sh) and a readable view.

  demo_mail.py write DIR   writes 1-newsletter.eml, 2-mitsumori.eml, 3-fake-pdf.eml, 4-ppap.eml
  demo_mail.py show FILE   prints decoded headers, the MIME structure and the text (Japanese decoded)
"""
import base64
import email
import email.header
import email.policy
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../golden/sanitizer"))
import make_hostile as mh  # noqa: E402


def b64(b):
    return mh.b64(b)


def enc(s):
    return email.header.Header(s, "iso-2022-jp").encode()


def samples():
    html = ("<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
            "<h1>城北市 市政だより 11月号</h1><p>いつもご覧いただきありがとうございます。</p>"
            "<ul><li><a href=\"https://example.com/event?id=42\">秋の防災訓練のご案内</a></li>"
            "<li><a href=\"http://phish.example.net/login\">こちらからログイン</a></li></ul>"
            "<p><img src=\"https://example.com/t.gif\" alt=\"市のロゴ\"></p>"
            "<div style=\"display:none\">hidden tracking text</div></body></html>")
    yield "1-newsletter", (
        "From: %s <news@example.com>\nTo: soumu@lgwan.test\nSubject: %s\nDate: Mon, 2 Nov 2026 09:00:00 +0900\n"
        "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n%s\n"
        % (enc("市政だより"), enc("市政だより 11月号"), b64(html.encode())))
    xls = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
    body = "お世話になっております。\n見積書を添付いたします。ご査収ください。\n\n株式会社サンプル 山田\n"
    yield "2-mitsumori", (
        "From: %s <yamada@example.co.jp>\nTo: soumu@lgwan.test\nSubject: %s\nDate: Mon, 2 Nov 2026 10:00:00 +0900\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\n"
        "Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n%s\n--B\n"
        "Content-Type: application/vnd.ms-excel; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\n"
        "Content-Transfer-Encoding: base64\n\n%s\n--B--\n"
        % (enc("山田 太郎"), enc("【見積書】庁舎清掃業務"), body.encode("iso2022_jp").decode("ascii"),
           enc("見積書.xls"), enc("見積書.xls"), b64(xls)))
    yield "3-fake-pdf", (
        "From: billing@example.net\nTo: soumu@lgwan.test\nSubject: Invoice\nDate: Mon, 2 Nov 2026 11:00:00 +0900\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain; charset=utf-8\n\n"
        "請求書をご確認ください。\n--B\nContent-Type: application/pdf; name=\"invoice.pdf\"\n"
        "Content-Disposition: attachment; filename=\"invoice.pdf\"\nContent-Transfer-Encoding: base64\n\n%s\n--B--\n"
        % b64(mh.pe_exe()))
    yield "4-ppap", (
        "From: keiri@example.co.jp\nTo: soumu@lgwan.test\nSubject: %s\nDate: Mon, 2 Nov 2026 12:00:00 +0900\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain; charset=utf-8\n\n"
        "請求書をお送りします。パスワードは別メールでお送りします。\n--B\nContent-Type: application/zip; name=\"seikyu.zip\"\n"
        "Content-Disposition: attachment; filename=\"seikyu.zip\"\nContent-Transfer-Encoding: base64\n\n%s\n--B--\n"
        % (enc("請求書送付の件"), b64(mh.enc_zip())))


def show(path, max_lines=22):
    m = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
    for h in ("From", "To", "Subject", "X-Sekisho-Sanitized"):
        if m.get(h):
            print("%s: %s" % (h, str(m[h]).replace("\n", " ")))
    for p in m.walk():
        if p.is_multipart():
            continue
        fn = p.get_filename()
        print("[part] %s%s %d bytes" % (p.get_content_type(), (" file=%s" % fn) if fn else "",
                                        len(p.get_payload(decode=True) or b"")))
        if p.get_content_maintype() == "text" and not fn:
            try:
                text = p.get_content()
            except (LookupError, UnicodeDecodeError):
                text = (p.get_payload(decode=True) or b"").decode("utf-8", "replace")
            lines = text.rstrip("\n").split("\n")
            for l in lines[:max_lines]:
                print("    " + l)
            if len(lines) > max_lines:
                print("    ... (%d more lines)" % (len(lines) - max_lines))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        os.makedirs(sys.argv[2], exist_ok=True)
        for name, text in samples():
            with open(os.path.join(sys.argv[2], name + ".eml"), "w") as f:
                f.write(text)
    elif len(sys.argv) == 3 and sys.argv[1] == "show":
        show(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
