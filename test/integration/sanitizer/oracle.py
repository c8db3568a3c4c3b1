"""Independent oracle for sanitised mail: Python's email package (and
linkscan.py for live links) only.

check(original_bytes, output_bytes) -> list of problems (empty = pass).
It never uses sekisho code: it re-derives from the original what must have
been removed and what Japanese text must survive, and checks the output.
"""
import base64
import email
import email.policy
import hashlib
import re

import linkscan

JA_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e\u3001-\u303f]{2,}")
TAG = re.compile(r"<\s*/?\s*(html|head|body|script|style|iframe|div|span|table|tr|td|img|a\s|p\b|br\b|font|meta)", re.I)
# Known mapping differences between JIS and Windows (CP932) tables: not 文字化け.
VARIANTS = str.maketrans({"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d",
                          "\u00a2": "\uffe0", "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u2014": "\u2015"})
TEXTUAL_SKIP = {"rtf", "x-vcard", "vcard", "calendar", "xml"}


def _decode(part):
    data = part.get_payload(decode=True) or b""
    cs = (part.get_content_charset() or "us-ascii").lower()
    if cs in ("shift_jis", "sjis", "x-sjis", "shift-jis", "windows-31j"):
        cs = "cp932"
    try:
        return data.decode(cs, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _attachment_like(part):
    return part.get_content_disposition() == "attachment" or part.get_filename() is not None


def _expected(msg, removed, texts, chosen=True):
    """Walk like the specification: collect parts that must be removed and
    text/plain bodies whose Japanese must survive."""
    ct = msg.get_content_type()
    maintype, sub = ct.split("/", 1)
    if msg.is_multipart():
        parts = msg.get_payload()
        if not isinstance(parts, list):
            return
        if ct == "multipart/alternative":
            pick = None
            for i, p in enumerate(parts):
                if p.get_content_type() == "text/plain" and not _attachment_like(p) and _decode(p).strip():
                    pick = i
                    break
            for i, p in enumerate(parts):
                _expected(p, removed, texts, chosen and (pick is None or i == pick))
            return
        if ct == "multipart/encrypted":
            removed.append(None)
            return
        for p in parts:
            _expected(p, removed, texts, chosen)
        return
    if ct in ("message/rfc822", "message/global"):
        inner = msg.get_payload()
        if isinstance(inner, list) and inner:
            _expected(inner[0], removed, texts, chosen)
        return
    textual = (maintype == "text" and sub != "html" and sub not in TEXTUAL_SKIP) or ct in (
        "message/delivery-status", "message/disposition-notification")
    if (textual or ct == "text/html") and not _attachment_like(msg):
        if textual and chosen and sub == "plain":
            texts.append(_decode(msg))
        return
    removed.append(msg)


def check(orig: bytes, out: bytes, links="defang"):
    """links: the sanitiser's --links mode; unless "keep", no live URL may
    remain anywhere in the body."""
    problems = []
    try:
        m = email.message_from_bytes(out, policy=email.policy.compat32)
    except Exception as e:  # noqa: BLE001
        return ["output does not parse: %r" % e]
    if m.defects:
        problems.append("output has defects: %r" % m.defects)
    if m.is_multipart() or m.get_content_type() != "text/plain":
        problems.append("output is not a single text/plain part: %s" % m.get_content_type())
        return problems
    if not m.get("X-Sekisho-Sanitized"):
        problems.append("no X-Sekisho-Sanitized header")
    for h in ("Content-Disposition",):
        if m.get(h):
            problems.append("output has %s" % h)
    cs = m.get_content_charset()
    if cs not in ("utf-8", "iso-2022-jp"):
        problems.append("unexpected charset %r" % cs)
        return problems
    raw = m.get_payload(decode=True) or b""
    try:
        body = raw.decode(cs)
    except UnicodeDecodeError as e:
        return problems + ["body does not decode as %s: %s" % (cs, e)]
    marker = m.get("X-Sekisho-Sanitized", "")
    failed = "result=failed" in marker
    # headers must be ASCII on the wire (RFC 2047 re-encoded)
    head = out.split(b"\n\n", 1)[0]
    if any(b > 0x7e for b in head):
        problems.append("8-bit bytes in output headers")

    o = email.message_from_bytes(orig, policy=email.policy.compat32)
    removed, texts = [], []
    _expected(o, removed, texts)
    plain_orig = "\n".join(texts)
    for t in TAG.finditer(body):
        if t.group(0).lower() not in plain_orig.lower():
            problems.append("HTML markup survived: %r" % t.group(0))
            break
    if links != "keep":
        # what a mail client would make clickable: linkscan.py (issue 11's spec)
        live = linkscan.find(body)
        if live:
            problems.append("live URL in the body (%s): %r" % (live[0].rule, live[0].text))
    listed = body.count("SHA-256: ")
    if not failed:
        if listed < len(removed):
            problems.append("%d parts removed but %d listed" % (len(removed), listed))
        for p in removed:
            if p is None:
                continue
            data = p.get_payload(decode=True) or b""
            cte = (p.get("Content-Transfer-Encoding") or "").strip().lower()
            if cte == "base64" and data:
                h = hashlib.sha256(data).hexdigest()
                if h not in body:
                    problems.append("removed part %s (%s) not listed by hash" % (p.get_filename(), p.get_content_type()))
            if len(data) >= 64:
                mid = data[len(data) // 2: len(data) // 2 + 48]
                if mid in out or mid in raw:
                    problems.append("attachment bytes survived (%s)" % p.get_content_type())
                b64 = base64.b64encode(data[:57]).decode()
                if b64[:40] in out.decode("latin-1"):
                    problems.append("attachment base64 survived (%s)" % p.get_content_type())
        norm = body.translate(VARIANTS)
        for t in texts:
            for run in JA_RUN.findall(t):
                if "\ufffd" in run:
                    continue
                if run.translate(VARIANTS) not in norm:
                    problems.append("Japanese text lost or changed: %r" % run)
                    break
    else:
        if "result=failed" not in marker:
            problems.append("failed output without marker")
    return problems
