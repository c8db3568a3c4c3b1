"""Independent MIME readers: what would a mail program, a virus scanner's
unpacker or a user with a command-line tool get out of a mail?

read_all(mail) runs every reader on the mail (bytes) and returns
{reader name: Result}; one_text_body(result) says whether that reader saw
exactly one text/plain body and nothing else.  No sekisho code is used.

Readers (each in its own temporary directory, 10 s, files capped):
  email/default, email/compat32  Python's email package, both policies
  ripmime     ripmime -i FILE -d DIR (uudecoding of text parts is on: that is
              ripmime's default, and we never pass --no-uudecode)
  munpack     munpack -t -q -C DIR FILE (-t: text parts are written too)
  reformime   reformime -i for the structure, reformime -e -s SECTION for
              each leaf section

Reader quirks seen while writing this (they shape the rules below):
- ripmime names parts without a file name textfileN (its -p prefix 'text'),
  writes the (empty) preamble of every multipart as a textfileN of its own,
  and writes a text/plain part's uuencoded blocks as separate files (type
  "uuencoded"), leaving the rest of the text in the textfileN.  It also
  reads MIME inside a decoded text body: a delimiter line followed by
  Content-Type/Content-Transfer-Encoding headers and base64 in the text of
  a single text/plain part comes out as an attachment, and a block of
  header lines (a forwarded message's From:/Date:/Subject:/To:) makes it
  write the text after them again as another textfileN.  It prefers
  Content-Type's name= to Content-Disposition's filename=.
- munpack names parts without a file name partN; for a single-part
  text/plain message holding a uuencoded block it writes only the decoded
  file, not the text; a single-part message whose body is not base64 or
  quoted-printable (7bit/8bit, and any message without MIME-Version) gives
  nothing at all ("Did not find anything to unpack") -- the sanitiser's
  default output is base64, so this needs no tolerance, but a 7bit output
  (--charset iso-2022-jp) would; message/partial pieces would be kept in
  $TMPDIR/m-prts-$USER for reassembly across runs, so TMPDIR is the
  reader's own directory.
- reformime ignores Content-Type unless the entity (or its message) has a
  MIME-Version header: a forwarded message/rfc822 without one is a single
  text/plain section to it.
- For the canonical output of the sanitiser (one text/plain part, UTF-8,
  base64) every reader writes exactly one text file, also when the body is
  empty or only white space; so no reader needs a tolerance for that shape.
  The two ripmime tolerances below (empty multipart preambles, text files
  that repeat the main body) are the only ones.
"""
import collections
import email
import email.policy
import os
import re
import resource
import subprocess
import tempfile
import time

TIMEOUT = 10
CAP = 50 << 20  # inputs and extracted files larger than this are not read

Item = collections.namedtuple("Item", "kind ctype name data")  # kind: "text" | "attachment"


class Result:
    """What one reader extracted; error is set when the reader could not be
    run to the end (timeout, crash, input over the cap)."""

    def __init__(self, name):
        self.name = name
        self.items = []
        self.error = None
        self.notes = []
        self.seconds = 0.0

    def __repr__(self):
        return "Result(%s, %s%s)" % (self.name, [(i.kind, i.ctype, i.name, len(i.data)) for i in self.items],
                                      ", error=%r" % self.error if self.error else "")


def _limits():
    # in the child: a reader fed a hostile mail must not fill the disk or spin
    resource.setrlimit(resource.RLIMIT_FSIZE, (CAP + (1 << 20),) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (TIMEOUT + 2,) * 2)


def _run(args, cwd, stdin=None):
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": cwd, "HOME": cwd, "LC_ALL": "C"}
    return subprocess.run(args, cwd=cwd, stdin=stdin, capture_output=True, timeout=TIMEOUT,
                          env=env, preexec_fn=_limits)


def _read_capped(path, res):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        data = f.read(CAP)
    if size > CAP:
        res.notes.append("%s: %d bytes, read the first %d" % (os.path.basename(path), size, CAP))
    return data


def _files(d):
    out = []
    for top, _, fs in os.walk(d):
        for f in fs:
            out.append(os.path.relpath(os.path.join(top, f), d))
    return sorted(out)


def _attachment_like(ctype, name, disposition):
    return ctype != "text/plain" or name is not None or disposition == "attachment"


def _read_email(mail, policy, res):
    msg = email.message_from_bytes(mail, policy=policy)
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        name = part.get_filename()
        data = part.get_payload(decode=True) or b""
        kind = "attachment" if _attachment_like(ctype, name, part.get_content_disposition()) else "text"
        res.items.append(Item(kind, ctype, name, data))


RIPMIME_LINE = re.compile(r"^Decoding content-type=(.*?) filename=(.*)$")


def _read_ripmime(path, work, res):
    out = os.path.join(work, "out")
    os.mkdir(out)
    p = _run(["ripmime", "-i", path, "-d", out, "--verbose-contenttype", "-v", "--timeout", str(TIMEOUT)], work)
    types = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        m = RIPMIME_LINE.match(line.strip())
        if m:
            types.setdefault(m.group(2), m.group(1).lower())
    if p.returncode != 0:
        res.notes.append("ripmime exit %d" % p.returncode)
    for f in _files(out):
        data = _read_capped(os.path.join(out, f), res)
        ctype = types.get(f)
        nameless = re.fullmatch(r"textfile\d+", f) is not None
        # Tolerance: ripmime writes the preamble of each multipart container
        # as a textfileN of its own, announced with the multipart type; with
        # no bytes in it (or only white space) it is not a part and carries
        # nothing, so it is dropped.  Any other content in it is kept and
        # counted as an attachment.
        if nameless and ctype and ctype.startswith("multipart/") and not data.strip():
            res.notes.append("%s: empty %s preamble (tolerated)" % (f, ctype))
            continue
        kind = "text" if nameless and ctype == "text/plain" else "attachment"
        res.items.append(Item(kind, ctype, None if nameless else f, data))
    # Tolerance: ripmime takes a block of header lines inside a decoded text
    # body (a forwarded message's From:/Date:/Subject:/To:, a bounce's
    # transcript) for a message of its own and writes what follows it again
    # as another textfileN.  When that file's text is already, byte for byte,
    # inside the main body (or is only white space) it shows nothing new and
    # is dropped; text that is not (ripmime decoded something) still counts.
    texts = sorted((i for i in res.items if i.kind == "text"), key=lambda i: len(i.data), reverse=True)
    for extra in texts[1:]:
        if _norm(extra.data.strip()) in _norm(texts[0].data):
            res.items.remove(extra)
            res.notes.append("text file of %d bytes repeating the main body (tolerated)" % len(extra.data))


def _norm(data):
    return data.replace(b"\r\n", b"\n")


MUNPACK_LINE = re.compile(r"^(.*) \(([^()]*)\)$")


def _read_munpack(path, work, res):
    out = os.path.join(work, "out")
    os.mkdir(out)
    p = _run(["munpack", "-t", "-q", "-C", out, path], work)
    types = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        m = MUNPACK_LINE.match(line.strip())
        if m:
            types.setdefault(m.group(1), m.group(2).lower())
    if p.returncode != 0:
        res.notes.append("munpack exit %d" % p.returncode)
    for f in _files(out):
        data = _read_capped(os.path.join(out, f), res)
        ctype = types.get(f)
        nameless = re.fullmatch(r"part\d+", f) is not None
        kind = "text" if nameless and ctype == "text/plain" else "attachment"
        res.items.append(Item(kind, ctype, None if nameless else f, data))


def _reformime_sections(text):
    secs = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            k, sep, v = line.partition(": ")
            if sep:
                fields.setdefault(k.strip().lower(), v.strip())
        if "section" in fields:
            secs.append(fields)
    return secs


def _read_reformime(path, work, res):
    with open(path, "rb") as f:
        p = _run(["reformime", "-i"], work, stdin=f)
    if p.returncode != 0:
        res.notes.append("reformime -i exit %d" % p.returncode)
    secs = _reformime_sections(p.stdout.decode("utf-8", "replace"))
    ids = [s["section"] for s in secs]
    for s in secs:
        sid = s["section"]
        # a container (multipart, or message/rfc822 with a parsed body) is
        # represented by its children
        if any(o.startswith(sid + ".") for o in ids):
            continue
        with open(path, "rb") as f:
            e = _run(["reformime", "-e", "-s", sid], work, stdin=f)
        data = e.stdout[:CAP]
        ctype = s.get("content-type", "text/plain").lower()
        name = s.get("content-disposition-filename") or s.get("content-name")
        disp = s.get("content-disposition", "").lower()
        kind = "attachment" if _attachment_like(ctype, name, disp) else "text"
        res.items.append(Item(kind, ctype, name, data))


# name -> reader(mail bytes, the mail's file, a directory of its own, Result)
READERS = {
    "email/default": lambda mail, path, work, res: _read_email(mail, email.policy.default, res),
    "email/compat32": lambda mail, path, work, res: _read_email(mail, email.policy.compat32, res),
    "ripmime": lambda mail, path, work, res: _read_ripmime(path, work, res),
    "munpack": lambda mail, path, work, res: _read_munpack(path, work, res),
    "reformime": lambda mail, path, work, res: _read_reformime(path, work, res),
}


def read_all(mail, readers=tuple(READERS)):
    """Run each reader on mail (bytes); {name: Result}."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="san-readers-") as tmp:
        path = os.path.join(tmp, "mail.eml")
        with open(path, "wb") as f:
            f.write(mail)
        for name in readers:
            res = results[name] = Result(name)
            if len(mail) > CAP:
                res.error = "input of %d bytes is over the %d-byte cap: not read" % (len(mail), CAP)
                continue
            work = tempfile.mkdtemp(prefix=name.replace("/", "-") + "-", dir=tmp)
            t0 = time.monotonic()
            try:
                READERS[name](mail, path, work, res)
            except subprocess.TimeoutExpired:
                res.error = "timed out after %d s" % TIMEOUT
            except Exception as e:  # noqa: BLE001 -- a reader crashing on hostile input is a finding
                res.error = "%s: %s" % (type(e).__name__, e)
            res.seconds = time.monotonic() - t0
    return results


def one_text_body(res):
    """(ok, why): the reader saw exactly one text/plain body and no
    attachment (the ripmime tolerances were applied while reading)."""
    if res.error:
        return False, res.error
    texts = [i for i in res.items if i.kind == "text"]
    atts = [i for i in res.items if i.kind == "attachment"]
    if atts:
        return False, "extracted %s" % ", ".join(describe(i) for i in atts)
    if len(texts) != 1:
        return False, "%d text bodies (%s)" % (len(texts), ", ".join(describe(i) for i in texts))
    return True, ""


def describe(item):
    head = item.data[:24]
    return "%s%s %d bytes %r" % (item.name + " " if item.name else "", item.ctype or "type?", len(item.data), head)


if __name__ == "__main__":
    import sys
    with open(sys.argv[1], "rb") as f:
        for r in read_all(f.read()).values():
            print(r.name, one_text_body(r), r.notes)
            for it in r.items:
                print("   ", it.kind, describe(it))
