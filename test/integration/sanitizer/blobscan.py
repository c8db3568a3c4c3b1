"""Independent finder of encoded payloads in text (no sekisho code).

scan(text) -> [Blob]: every block in text (str, or bytes read as Latin-1)
that decodes to more than 48 bytes of non-text (binary_why: a binary
signature, bytes that are not UTF-8, controls) -- base64 (either alphabet,
any line length, white space or '=' inside, one blob in prose), uuencode
(space or backquote for zero, the lowercase "twin" alphabet, with or without
`begin` and `end`, indented, any mode, `begin-base64`), yEnc (also after a
Latin-1 or Windows-1252 conversion), BinHex 4.0 and quoted-printable.  A
block that decodes to text is scanned again (depth 3) and gzip data
(x-gzip64) is unpacked, so base64 of base64 of an executable is found.

Not flagged, by construction: prose (a run of words is rejected by
_wordiness), URLs and paths (their segments are words), hex such as the
notice's SHA-256 lines and quarantine ids, PGP armour lines, fingerprints
and checksums (too short, or hex), text with stray '=' (not base64, not
quoted-printable).  `python3 blobscan.py --selftest` runs the tables at the
end; `python3 blobscan.py FILE...` lists what it finds.
"""
import base64
import binascii
import codecs
import collections
import re
import zlib

MIN_BYTES = 48  # a block must decode to MORE than this
DEPTH = 3

Blob = collections.namedtuple("Blob", "kind line data why")  # kind: "base64" or a chain "base64>uuencode"

SIGNATURES = ((b"MZ", "MZ executable"), (b"PK\x03\x04", "zip"), (b"\x7fELF", "ELF"), (b"%PDF", "PDF"),
              (b"\xd0\xcf\x11\xe0", "OLE2"), (b"Rar!", "RAR"), (b"7z\xbc\xaf", "7z"), (b"\x1f\x8b", "gzip"))
SIGNATURE_BYTES = tuple(sig for sig, _ in SIGNATURES)


def binary_why(data):
    """Why data (more than 48 bytes) is non-text: a known binary signature,
    bytes that are not UTF-8, or NUL or another control but TAB, CR and LF.
    None if it is text or too short to count.  A UTF-8 sequence cut at
    either end is not held against it: a block is often a piece of a text."""
    if len(data) <= MIN_BYTES:
        return None
    for sig, what in SIGNATURES:
        if data.startswith(sig):
            return "%s signature" % what
    lead = 0
    while lead < 3 and 0x80 <= data[lead] < 0xC0:
        lead += 1
    try:
        s = codecs.getincrementaldecoder("utf-8")().decode(data[lead:], final=False)
    except UnicodeDecodeError as e:
        return "not UTF-8 at byte %d" % (lead + e.start)
    ctl = re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", s)
    return "control byte 0x%02x" % ord(ctl.group(0)) if ctl else None


# --- base64 -------------------------------------------------------------

B64_REGION = re.compile(r"[A-Za-z0-9+/=_\-]+(?:\s+[A-Za-z0-9+/=_\-]+)*")
QUOTE_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.M)
# A natural-language piece: a word (capitalised or not, with a vowel once it
# is 4 letters or longer), an acronym of up to 10 capitals that is not one
# letter repeated (base64 of zeros is "AAAA..."), or a number.
WORD = re.compile(r"[A-Za-z][a-z]{0,14}|[A-Z]{2,10}|[0-9]{1,15}")
VOWEL = re.compile(r"[aeiouyAEIOUY]")


def _is_word(piece):
    if not WORD.fullmatch(piece):
        return False
    if piece.isupper() and len(set(piece)) == 1 and len(piece) > 1:
        return False
    return len(piece) < 4 or piece.isdigit() or VOWEL.search(piece) is not None


def _wordiness(tok):
    """Share of tok's characters in natural-language pieces, split at the
    base64 punctuation (so URL paths and hyphenated words count as words);
    a hex identifier (the notice's quarantine id) counts as a word too."""
    if len(tok) >= 16 and _is_hex(tok):
        return 1.0
    pieces = [p for p in re.split(r"[/+_=\-]+", tok) if p]
    if not pieces:
        return 1.0  # punctuation only
    return sum(len(p) for p in pieces if _is_word(p)) / sum(len(p) for p in pieces)


def _b64_decodings(s):
    """The ways a lenient decoder could read s (no white space in it): with
    every '=' dropped, and as '='-separated chunks each decoded alone."""
    if "-" in s or "_" in s:
        s = s.replace("-", "+").replace("_", "/")
    out = []
    for chunks in ([s.replace("=", "")], [c for c in s.split("=") if c]):
        data = b""
        for c in chunks:
            c = c[:len(c) - len(c) % 4] if len(c) % 4 == 1 else c
            try:
                data += base64.b64decode(c + "=" * (-len(c) % 4))
            except (binascii.Error, ValueError):
                data = None
                break
        if data is not None and data not in out:
            out.append(data)
    return out


# a rule ("-----", "====") or a MIME delimiter line ("--B0", "--B0--")
# between blocks: it ends a run, it is not data
RULE = re.compile(r"(?<!\S)(?:[/+_=\-]+|--\S*)(?!\S)")
TOKEN = re.compile(r"\S+")


def _b64_runs(text):
    """(offsets, tokens) of each run of base64-looking tokens (split by
    white space, ended by a rule): a run that is mostly not words, trimmed
    of words at its ends, or else, inside prose, each single token of 64+
    characters."""
    clean = QUOTE_PREFIX.sub(lambda m: " " * len(m.group(0)), text)
    for m in B64_REGION.finditer(clean):
        start = m.start()
        for r in list(RULE.finditer(clean, m.start(), m.end())) + [None]:
            end = r.start() if r else m.end()
            toks = [(t.start(), t.group(0)) for t in TOKEN.finditer(clean, start, end)]
            start = r.end() if r else end
            run = list(toks)
            while run and _wordiness(run[0][1]) >= 0.5:
                run.pop(0)
            while run and _wordiness(run[-1][1]) >= 0.5:
                run.pop()
            total = sum(len(t) for _, t in run)
            if len(run) >= 2 and sum(len(t) * _wordiness(t) for _, t in run) / total < 0.5:
                yield [p for p, _ in run], [t for _, t in run]
                continue
            for pos, t in toks:
                if len(t) >= 64 and _wordiness(t) < 0.5:
                    yield [pos], [t]


def _is_hex(s):
    # SHA-256 lines and fingerprints; base64 of zeros ("AAAA") has no digit
    return re.fullmatch(r"[0-9A-Fa-f]+", s) is not None and re.search(r"[0-9]", s) is not None


def _b64_read(s):
    """The decodings of s worth judging ([] if none): not hex, not quoted-
    printable, more than 48 bytes.  '=' every few characters is text with
    broken escapes ("=XXA=XXB") unless, read without the '=', it starts with
    a binary signature (a padding game puts '=' between whole quads)."""
    bare = s.replace("=", "")
    inner = s.rstrip("=").count("=")
    if len(bare) * 3 // 4 <= MIN_BYTES or _is_hex(bare) or inner >= 3 and len(QP_ESC.findall(s)) == inner:
        return []
    datas = _b64_decodings(s)
    if inner * 4 > len(bare):
        datas = [d for d in datas if d.startswith(SIGNATURE_BYTES)]
    return datas


def _base64_blocks(text):
    for offs, toks in _b64_runs(text):
        whole = _b64_read("".join(toks))
        if not whole:
            continue
        if len(toks) > 1 and all(binary_why(d) and not d.startswith(SIGNATURE_BYTES) for d in whole):
            # garbage as a whole: a stray token at the start ("base64") may
            # have shifted the alignment.  Read from the 2nd, 3rd or 4th
            # token, the run may be text, or a file with a signature: then
            # that is the block, and the tokens before it are judged alone.
            for k in range(1, min(4, len(toks))):
                if sum(len(t.replace("=", "")) for t in toks[:k]) % 4 == 0:
                    continue  # the same alignment, only a prefix less
                rest = _b64_read("".join(toks[k:]))
                if any(not binary_why(d) or d.startswith(SIGNATURE_BYTES) for d in rest):
                    yield "base64", offs[k], rest
                    whole = _b64_read("".join(toks[:k]))
                    break
        yield "base64", offs[0], whole


# --- uuencode -----------------------------------------------------------

UU_BEGIN = re.compile(r"^([ \t]*)begin(-base64)?[ \t]+([0-7]{3,6})[ \t]+(\S.*?)[ \t]*$", re.M)
UU_BARE = re.compile(r"(?<![^\n])M[\x21-\x60]{60}\r?\nM[\x21-\x60]{60}\r?$", re.M)
UU_FULL = re.compile(r"M[\x21-\x60]{60}\r?")


def _uu_line(line):
    """Bytes of one uuencoded line, or None when it is not one.  Characters
    above the backquote (the lowercase twin alphabet) decode with & 0x3F as
    old decoders do; a line shortened by stripped trailing spaces (space for
    zero) is padded with zeros."""
    if not line or any(not 0x20 <= ord(c) <= 0x7e for c in line):
        return None
    n = (ord(line[0]) - 0x20) & 0x3F
    if n == 0:
        return b""
    if n > 45:
        return None
    need = (n + 2) // 3 * 4
    body = line[1:1 + need]
    if len(line) - 1 > need + 2:  # one or two check characters are tolerated
        return None
    vals = [(ord(c) - 0x20) & 0x3F for c in body] + [0] * (need - len(body))
    out = bytearray()
    for i in range(0, need, 4):
        a, b, c, d = vals[i:i + 4]
        out += bytes(((a << 2 | b >> 4) & 0xFF, (b << 4 | c >> 2) & 0xFF, (c << 6 | d) & 0xFF))
    return bytes(out[:n])


def _uu_data(lines):
    """Bytes of the uuencoded lines up to `end`, a zero-length line or the
    first line that is not uuencoded."""
    data = bytearray()
    for line in lines:
        if line == "" or line.rstrip() == "end":
            break
        got = _uu_line(line.rstrip("\r"))
        if not got:
            break
        data += got
    return bytes(data)


def _uu_blocks(text):
    lines = text.splitlines()
    # without a begin line: two full lines in a row ('M' and 60 characters of
    # the backquote alphabet, which has no space and no lowercase: never prose)
    for m in UU_BARE.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if not UU_FULL.fullmatch(before):  # the start of a run, not its middle
            yield "uuencode", m.start(), [_uu_data(text[m.start():].splitlines())]
    starts = {text.count("\n", 0, m.start()): m for m in UU_BEGIN.finditer(text)}
    for ln, m in sorted(starts.items()):
        indent = m.group(1)
        body = []
        for line in lines[ln + 1:]:
            if indent and line.startswith(indent):
                line = line[len(indent):]
            body.append(line)
        if m.group(2):  # begin-base64 ... ====
            b64 = []
            for line in body:
                if line.strip() == "====" or not re.fullmatch(r"[A-Za-z0-9+/=]+", line.strip()):
                    break
                b64.append(line.strip())
            yield "uuencode-base64", m.start(), _b64_decodings("".join(b64))
            continue
        yield "uuencode", m.start(), [_uu_data(body)]


# --- yEnc, BinHex, quoted-printable ---------------------------------------

YBEGIN = re.compile(r"^=ybegin[ \t].*$", re.M)


def _byte(c):
    """The byte an 8-bit character stood for before a sanitiser decoded it
    as Latin-1 or Windows-1252 (None when neither has it: the byte is lost)."""
    if ord(c) < 0x100:
        return ord(c)
    try:
        return c.encode("cp1252")[0]
    except UnicodeEncodeError:
        return None


def _yenc_blocks(text):
    for m in YBEGIN.finditer(text):
        end = text.find("\n=yend", m.end())
        chunk = text[m.end():end if end >= 0 else len(text)]
        out = bytearray()
        esc = False
        for line in chunk.split("\n"):
            if line.startswith("=ypart ") or line.startswith("=ypart\t"):
                continue
            for c in line.rstrip("\r"):
                v = _byte(c)
                if v is None:
                    continue
                if esc:
                    v, esc = (v - 64) & 0xFF, False
                elif c == "=":
                    esc = True
                    continue
                out.append((v - 42) & 0xFF)
        yield "yenc", m.start(), [bytes(out)]


BINHEX_ALPHABET = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"
BINHEX_VAL = {c: i for i, c in enumerate(BINHEX_ALPHABET)}
BINHEX_BANNER = re.compile(r"\(This file must be converted with BinHex 4\.0\)", re.I)
# without the banner: a line opening with ':' and 32+ characters of the
# alphabet (no space, which prose always has)
BINHEX_BARE = re.compile(r"^:[%s]{32,}$" % re.escape(BINHEX_ALPHABET), re.M)


def _binhex_decode(chars):
    bits = nbits = 0
    raw = bytearray()
    for c in chars:
        bits = bits << 6 | BINHEX_VAL[c]
        nbits += 6
        if nbits >= 8:
            nbits -= 8
            raw.append(bits >> nbits & 0xFF)
    out = bytearray()  # run-length: 0x90 n repeats the previous byte n-1 more times
    i = 0
    while i < len(raw):
        if raw[i] == 0x90 and i + 1 < len(raw):
            n = raw[i + 1]
            if n == 0:
                out.append(0x90)
            elif out:
                out += bytes([out[-1]]) * (n - 1)
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def _binhex_forks(stream):
    """The data and resource forks (the header itself is binary for any file),
    or the whole stream when the header does not parse."""
    if stream:
        n = stream[0]
        h = 1 + n + 1 + 4 + 4 + 2
        if len(stream) >= h + 10:
            dlen = int.from_bytes(stream[h:h + 4], "big")
            rlen = int.from_bytes(stream[h + 4:h + 8], "big")
            d0 = h + 10
            if d0 + dlen + 2 + rlen <= len(stream) + 2:
                return [stream[d0:d0 + dlen], stream[d0 + dlen + 2:d0 + dlen + 2 + rlen]]
    return [stream]


def _binhex_blocks(text):
    starts = set()
    for m in BINHEX_BANNER.finditer(text):
        colon = text.find(":", m.end())
        if colon >= 0:
            starts.add(colon)
    for m in BINHEX_BARE.finditer(text):
        starts.add(m.start())
    for s in sorted(starts):
        chars = []
        for c in text[s + 1:]:
            if c == ":":
                break
            if c in BINHEX_VAL:
                chars.append(c)
            elif not c.isspace():
                break
        for fork in _binhex_forks(_binhex_decode(chars)):
            yield "binhex", s, [fork]


QP_ESC = re.compile(r"=[0-9A-Fa-f]{2}")
# printable ASCII where every '=' starts an escape or is a soft line break:
# an encoder never writes anything else, text with a stray '=' is not QP
QP_LINE = re.compile(r"(?:[\x20-\x3c\x3e-\x7e\t]|=[0-9A-Fa-f]{2})+=?")


def _qp_blocks(text):
    """Runs of quoted-printable lines with =XX escapes or soft breaks, 16+
    escapes in all (a few escaped characters in prose decode to text)."""
    run, first, offset = [], 0, 0
    for line in text.split("\n") + [""]:
        here, offset = offset, offset + len(line) + 1
        line = line.rstrip("\r")
        if QP_LINE.fullmatch(line) and (QP_ESC.search(line) or line.endswith("=")):
            if not run:
                first = here
            run.append(line)
            continue
        if run and sum(len(QP_ESC.findall(r)) for r in run) >= 16:
            yield "quoted-printable", first, [binascii.a2b_qp("\n".join(run).encode("ascii"))]
        run = []


DECODERS = (_base64_blocks, _uu_blocks, _yenc_blocks, _binhex_blocks, _qp_blocks)


def _gunzip(data):
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return d.decompress(data, 50 << 20)
    except zlib.error:
        return None


def scan(text, depth=DEPTH):
    """Every block of text (str, or bytes read as Latin-1) decoding to more
    than 48 bytes of non-text, looking up to depth decodings deep."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("latin-1")
    return _scan(text, depth, "", None)


def _scan(text, depth, chain, line):
    found, seen = [], set()
    for dec in DECODERS:
        for kind, offset, alts in dec(text):
            alts = [d for d in alts if len(d) > MIN_BYTES and d not in seen]
            if not alts:
                continue
            seen.update(alts)
            where = line if line is not None else text.count("\n", 0, offset) + 1
            text_alt = next((d for d in alts if not binary_why(d)), None)
            if text_alt is not None and not any(d.startswith(SIGNATURE_BYTES) for d in alts):
                # one reading of the '=' games is text, so that is what it is
                if depth > 1:
                    found += _scan(text_alt.decode("utf-8", "replace"), depth - 1, chain + kind + ">", where)
                continue
            best = next((d for d in alts if d.startswith(SIGNATURE_BYTES)), alts[0])
            found.append(Blob(chain + kind, where, best, binary_why(best)))
            inner = _gunzip(best) if best.startswith(b"\x1f\x8b") else None
            if inner is not None:  # x-gzip64: what is inside counts too
                why = binary_why(inner)
                if why:
                    found.append(Blob(chain + kind + ">gzip", where, inner, why))
                elif depth > 1:
                    found += _scan(inner.decode("utf-8", "replace"), depth - 1, chain + kind + ">gzip>", where)
    return found


# --- self test ----------------------------------------------------------

def selftest():
    import os
    import quopri
    import sys
    root = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.."))
    sys.path.insert(0, os.path.join(root, "test/golden/sanitizer"))
    import make_evasion as E  # the generator's encoders: one definition of each
    exe = E.pe("blobscan/selftest")
    mib_text = b"ABCD\t01234=56789  98765=43210 = =XY Some more text"
    b = base64.b64encode(exe).decode()
    lines76 = E.b64_lines(exe)
    positives = {
        "base64 76-column block": "請求書を送ります。\n\n" + lines76 + "\n\nよろしく\n",
        "base64 one line in prose": "Please run this: " + b + " thanks.",
        "base64 url-safe": "x " + base64.urlsafe_b64encode(exe).decode() + " y",
        "base64 spaced by 4": " ".join(b[i:i + 4] for i in range(0, len(b), 4)),
        "base64 with '=' inside": E.b64_padding_games(exe),
        "base64 behind a stray token": "base64 " + lines76,
        "base64 of text, then of an executable": E.b64_lines(mib_text * 3) + "\n" + b,
        "base64 quoted": "\n".join("> " + b[i:i + 60] for i in range(0, len(b), 60)),
        "base64 of base64": base64.b64encode(lines76.encode()).decode(),
        "base64 of base64 of base64": base64.b64encode(base64.b64encode(b.encode())).decode(),
        "x-gzip64": E.gzip64(exe),
        "uuencode backquote": E.uuencode(exe),
        "uuencode space, stripped": "\n".join(ln.rstrip() for ln in E.uuencode(exe, zero=" ").split("\n")),
        "uuencode twin alphabet, no end": E.uuencode(exe, twin=True, end=False),
        "uuencode indented, mode 100644": E.uuencode(exe, mode="100644", indent="  "),
        "uuencode without begin": E.uuencode(exe).split("\n", 1)[1],
        "begin-base64": "begin-base64 644 a.exe\n" + lines76 + "\n====\n",
        "yEnc": E.yencode(exe),
        "BinHex 4.0": E.binhex(exe),
        "quoted-printable": quopri.encodestring(exe).decode("ascii"),
    }
    negatives = {
        "English prose": ("Please find the attached report for your review and let me know if you "
                          "have any questions about the figures in the second quarter budget summary "
                          "which we discussed at the meeting yesterday afternoon with the committee"),
        "Japanese prose": "総務課 各位\n添付の資料をご確認ください。来週の会議は予定どおり開催します。\n" * 5,
        "URLs": ("see https://www.example.jp/path/to/some-very-long-file-name_with_underscores/and/more/"
                 "segments/here/index.html?query=value&other=thing and http://example.lg.jp/a/b/c/d/e/f/g/h/i/j/k"),
        "notice SHA-256 lines": "".join("  SHA-256: %064x\n  Quarantine ID: %016x\n" % (i * 7919 ** 20, i)
                                        for i in range(1, 5)),
        "hex digests together": "\n".join("%064x" % (i * 104729 ** 15) for i in range(1, 4)),
        "PGP armour lines": ("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhello\n"
                             "Primary key fingerprint: 7A3B 9C2D 1E4F 5A6B 7C8D  9E0F 1A2B 3C4D 5E6F 7A8B\n"
                             "     Subkey fingerprint: 1111 2222 3333 4444 5555  6666 7777 8888 9999 AAAA\n"
                             "=Xy8f\n-----END PGP SIGNATURE-----\n"),
        "base64 of text between a header and a delimiter": (
            "Content-Transfer-Encoding: base64\n\n" + E.b64_lines(mib_text * 3, 16) + "\n--b35375cc\n"),
        "a few QP escapes": "caf=C3=A9 na=C3=AFve r=C3=A9sum=C3=A9 " * 3,
        "begin in prose": "begin 100 push-ups\nThen do 50 squats and rest.\n",
        "short base64": "token: " + base64.b64encode(b"x" * 40).decode(),
        "base64 of text": base64.b64encode("日本語のテキストです。".encode() * 10).decode(),
        # mime-is-broken's text part after a sanitiser kept broken escapes or
        # converted a yEnc block's charset
        "stray '=XX'": "".join("=XX" + chr(c) for c in mib_text),
        "stray '=0' before escapes": "".join("=0=%02X" % c for c in mib_text),
        "yEnc of text, charset-converted": E.yencode(mib_text).encode("latin-1").decode("cp1252", "replace"),
    }
    bad = []
    for name, text in positives.items():
        got = scan(text)
        if not any(exe in g.data for g in got):
            bad.append("missed: %s (%s)" % (name, [(g.kind, g.why) for g in got]))
    for name, text in negatives.items():
        got = scan(text)
        if got:
            bad.append("flagged: %s (%s)" % (name, [(g.kind, g.line, g.why) for g in got]))
    return bad


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--selftest"]:
        problems = selftest()
        for p in problems:
            print("FAIL blobscan self test: " + p)
        sys.exit(1 if problems else 0)
    for f in sys.argv[1:]:
        with open(f, "rb") as fh:
            for blob in scan(fh.read()):
                print("%s:%d: %s, %d bytes (%s) %r" % (
                    f, blob.line, blob.kind, len(blob.data), blob.why, blob.data[:16]))
