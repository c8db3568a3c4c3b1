"""Live links in text, by the spec of issue 11 (the sanitiser implements the
same spec in C; keep the two in step, rule by rule).

find(text) -> [Link]: on unicodedata.normalize("NFKC", text).casefold(),
  L1  scheme "://" or scheme ":\\" -- scheme [a-z][a-z0-9+.-]{0,31}, not
      preceded by [a-z0-9+.-];
  L2  an opaque scheme (OPAQUE below, and every ms-[a-z0-9-]+) then ':' and
      a non-space character, not preceded by [a-z0-9+.-];  mailto:, tel:,
      sip: and news: are not live: they open a compose or dial window, never
      content (a documented decision);
  L3  www\\d{0,3}\\. then a host label character, not preceded by
      [a-z0-9.-/@[];
  L4  a UNC path: two backslashes then [a-z0-9._$-], not preceded by '[' or
      a backslash.
So the sanitiser's defanged forms are dead: hxxps[:]//host, javascript[:]x,
www[.]example.jp, [\\\\]host\\share.

A host label character (L3) is [a-z0-9-] or any non-ASCII letter or digit
(an IDN label such as www.例え.jp is linked by mail clients).
"""
import collections
import re
import unicodedata

Link = collections.namedtuple("Link", "rule start text")  # start and text: in the normalised text

OPAQUE = ("javascript", "vbscript", "livescript", "data", "file", "about", "blob", "jar", "view-source", "mhtml",
          "mk", "its", "ms-its", "search-ms", "search", "shell", "smb", "cifs", "nfs", "afp", "telnet", "ldap",
          "ldaps", "res")

_NOT_SCHEME_BEFORE = r"(?<![a-z0-9+.\-])"
RULES = (
    ("L1", re.compile(_NOT_SCHEME_BEFORE + r"[a-z][a-z0-9+.\-]{0,31}(?:://|:\\\\)")),
    ("L2", re.compile(_NOT_SCHEME_BEFORE + r"(?:%s|ms-[a-z0-9\-]+):(?=\S)" % "|".join(
        re.escape(s) for s in sorted(OPAQUE, key=len, reverse=True)))),
    ("L3", re.compile(r"(?<![a-z0-9.\-/@\[])www\d{0,3}\.(?=[a-z0-9\-]|[^\x00-\x7f])")),
    ("L4", re.compile(r"(?<![\[\\])\\\\[a-z0-9._$\-]")),
)


def normalise(text):
    return unicodedata.normalize("NFKC", text).casefold()


def find(text):
    """Every live link in text (str), in order of position."""
    t = normalise(text)
    out = []
    for rule, rx in RULES:
        for m in rx.finditer(t):
            if rule == "L3" and not t[m.end()].isascii() and not t[m.end()].isalnum():
                continue
            out.append(Link(rule, m.start(), t[m.start():m.start() + 60].split("\n")[0]))
    return sorted(out, key=lambda x: x.start)


def selftest():
    live = {
        "https://evil.example/": "L1", "see HTTP://EVIL.example": "L1", "xhttp://no": "L1",
        "hxxps://already.example": "L1", "file:\\\\host\\share": "L1",
        "ftp://files.example/abc+http://evil.example/": "L1",
        "ｈｔｔｐｓ：／／evil.example": "L1", "javascript:alert(1)": "L2", "VBScript:msgbox": "L2",
        "data:text/html;base64,PGI+": "L2", "file:c:/x": "L2", "ms-word:ofe|u|https://x": "L2",
        "ms-msdt:/id": "L2", "search-ms:query=x": "L2", "search:query": "L2", "its:x.chm": "L2",
        "www.example.jp": "L3", "(www2.example.jp)": "L3", "ｗｗｗ．example．jp": "L3", "www.例え.jp": "L3",
        "\\\\host\\share": "L4", "open \\\\10.0.0.1\\c$": "L4",
    }
    dead = ["hxxps[:]//host/path", "javascript[:]alert(1)", "www[.]example.jp", "[\\\\]host\\share",
            "mailto:soumu@city.example.lg.jp", "tel:0312345678", "sip:a@example.jp", "news:comp.mail",
            "its: fine", "data: 2026", "user@www.example.jp", "a.www.example.jp", "/www.example.jp",
            "a" * 40 + "://x", "総務課 各位 添付の資料をご確認ください。", "SHA-256: " + "ab" * 32,
            "x\\\\\\host"]
    bad = []
    for text, rule in live.items():
        got = find(text)
        if not any(g.rule == rule for g in got):
            bad.append("missed %s in %r (%s)" % (rule, text, got))
    for text in dead:
        if find(text):
            bad.append("flagged %r (%s)" % (text, find(text)))
    return bad


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--selftest"]:
        problems = selftest()
        for p in problems:
            print("FAIL linkscan self test: " + p)
        sys.exit(1 if problems else 0)
    for f in sys.argv[1:]:
        with open(f, encoding="utf-8", errors="replace") as fh:
            for link in find(fh.read()):
                print("%s: %s at %d: %s" % (f, link.rule, link.start, link.text))
