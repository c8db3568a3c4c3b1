#!/usr/bin/python3
"""PDF CDR's vector mode (issue 14, --mode pdf=vector) end to end: every PDF
of the shared corpus, and PDFs made here, through cdr_convert with the mode
set (the driver cdr-pdf-run --vector: sekisho-cdr-pdf --vector re-draws the
pages with poppler onto cairo's PDF surface in the sandbox; qpdf and a second
--info run judge the product in the sandbox), judged only by independent
tools:

- qpdf --check passes on every copy;
- qpdf --json: none of the banned keys or names (pdf_oracle.BANNED: /JS
  /JavaScript /AA /OpenAction /Launch /EmbeddedFile(s) /URI /RichMedia /XFA
  /AcroForm /Annots /Names /Metadata /SubmitForm /GoToR), and
  SEKISHO-CDR-MARKER nowhere in the uncompressed copy; no image filter
  but Flate (no JPEG, JPX, JBIG2 or CCITT stream of the original passed
  through);
- the page count (qpdf --show-npages) equals the original's and the report's;
- the text stays text: pdftotext finds every SEKISHO-KEEP-... string of the
  original in the copy, and the original's whole text (white space removed)
  in the copy's for the Japanese files with non-embedded fonts (after NFKC:
  some kanji come out as Kangxi radicals); every page
  with text in the original has text in the copy, except vertical.pdf,
  whose vertical text cairo writes with glyphs pdftotext cannot map back
  (docs/cdr.md): there the copy's pages must have ink (pdftoppm, PIL);
- the refusals of the pixel mode hold (encrypted, page-limit, image-limit);
- 24 damaged corpus files (pdf_oracle's fixed seed) give a copy that
  passes qpdf --check with the right page count, or a clean refusal;
- converters that lie are refused: a product with an /OpenAction (qpdf's
  JSON), the same written /Open#41ction and /J#53, with two pages for one, a broken product (qpdf --check), a product
  without text where the original has text (blank-page), and a product the
  converter's own check run calls clean while it is not; an honest fake is
  accepted, so the refusals come from the checks;
- without /usr/bin/qpdf (root: /dev/null bound over it in a private mount
  namespace) no copy: pdf-no-qpdf.

Prints each copy's size against the original's (out_vs_in).

usage: pdf_vector_oracle.py DRIVER LIBEXEC [SANITIZERS]"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pdf_oracle as po  # noqa: E402

CODECS = ('/DCTDecode', '/JPXDecode', '/JBIG2Decode', '/CCITTFaxDecode')
# the Japanese files whose whole text must survive (vertical.pdf: see above)
JA_TEXT = po.JAPANESE - {'vertical.pdf'}


def keep_strings(path):
    raw = ''.join(subprocess.run(['pdftotext', '-q', path, '-'], capture_output=True).stdout.decode(
        errors='replace').split())
    out, i = set(), raw.find('SEKISHO-KEEP-')
    while i >= 0:
        j = i + len('SEKISHO-KEEP-')
        while j < len(raw) and (raw[j].isalnum() or raw[j] in '-_'):
            j += 1
        out.add(raw[i:j])
        i = raw.find('SEKISHO-KEEP-', j)
    return raw, out


def judge_vector(name, src, out, rep, work):
    p = subprocess.run(['qpdf', '--check', out], capture_output=True, text=True)
    check = po.check
    check(p.returncode == 0, f'{name}: qpdf --check: {p.stdout[-300:]}{p.stderr[-300:]}')
    p = subprocess.run(['qpdf', '--json', '--json-stream-data=none', out], capture_output=True, text=True)
    found = set()
    try:
        po.walk(po.json.loads(p.stdout), found)
    except ValueError:
        check(False, f'{name}: qpdf --json unreadable')
    check(not found, f'{name}: {sorted(found)} in the copy')
    # images are re-encoded from pixels: no codec of the original passes through
    codecs = {c for c in CODECS if f'"{c}"' in p.stdout}
    check(not codecs, f'{name}: {sorted(codecs)} in the copy')
    raw = subprocess.run(['qpdf', '--stream-data=uncompress', '--object-streams=disable', out, '-'],
                         capture_output=True).stdout
    check(b'SEKISHO-CDR-MARKER' not in raw, f'{name}: the marker is in the copy')
    n_in, n_out = po.npages(src), po.npages(out)
    check(n_in is not None and n_in == n_out == rep.get('pages'),
          f'{name}: pages {n_in} in, {n_out} out, report {rep.get("pages")}')
    if n_out is None:
        return
    text_in, keep_in = keep_strings(src)
    text_out, keep_out = keep_strings(out)
    check(keep_in <= keep_out, f'{name}: {sorted(keep_in - keep_out)} lost in the copy')
    if name in JA_TEXT:
        # NFKC: cairo's subset fonts map some kanji back to the look-alike
        # Kangxi radicals (文 U+6587 comes out as ⽂ U+2F42; docs/cdr.md)
        # (CJK Radicals Supplement too: 民 U+6C11 as ⺠ U+2EA0, which NFKC keeps)
        text_in, text_out = (unicodedata.normalize('NFKC', t) for t in (text_in, text_out))
        pattern = ''.join(f'(?:{re.escape(c)}|[\u2e80-\u2fdf])' if '\u4e00' <= c <= '\u9fff' else re.escape(c)
                          for c in text_in)
        check(text_in and re.search(pattern, text_out), f'{name}: text {text_in[:40]!r} not in the copy {text_out[:40]!r}')
    pages = range(1, n_out + 1) if n_out <= 12 else sorted({1, 2, n_out // 2, n_out - 1, n_out})
    for i in pages:
        if po.page_text(src, i):
            if name == 'vertical.pdf':
                check(po.dark_pixels(out, i, work) > 0, f'{name}: page {i} is blank')
            else:
                check(po.page_text(out, i), f'{name}: page {i} has no text in the copy')


FAKE = r'''#!/usr/bin/python3
import sys
MODE = %r
args = sys.argv[1:]
data = sys.stdin.buffer.read()


def pdf(npages, catalog_extra=b'', text=True):
    objs = [b'<< /Type /Catalog /Pages 2 0 R ' + catalog_extra + b' >>',
            b'<< /Type /Pages /Count %%d /Kids [%%s] >>' %% (
                npages, b' '.join(b'%%d 0 R' %% (4 + 2 * i) for i in range(npages))),
            b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>']
    for i in range(npages):
        content = b'%% FAKE-COPY\n' + (b'BT /F1 24 Tf 20 700 Td (copy) Tj ET' if text else b'')
        objs.append(b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] '
                    b'/Resources << /Font << /F1 3 0 R >> >> /Contents %%d 0 R >>' %% (5 + 2 * i))
        objs.append(b'<< /Length %%d >>\nstream\n' %% len(content) + content + b'\nendstream')
    out = bytearray(b'%%PDF-1.4\n')
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b'%%d 0 obj\n' %% (i + 1) + o + b'\nendobj\n'
    x = len(out)
    out += b'xref\n0 %%d\n0000000000 65535 f \n' %% (len(objs) + 1)
    for o in offs:
        out += b'%%010d 00000 n \n' %% o
    out += b'trailer\n<< /Size %%d /Root 1 0 R >>\nstartxref\n%%d\n%%%%%%%%EOF\n' %% (len(objs) + 1, x)
    return bytes(out)


if '--info' in args:
    copy = b'FAKE-COPY' in data
    chars = 0 if copy and MODE == 'no-text' else 42
    removed = 'removed action:/OpenAction\n' if copy and MODE == 'info-active' else ''
    sys.stderr.write('pages 1\npage 1 595.00x842.00 %%d\n%%sok\n' %% (chars, removed))
    sys.exit(0)
if MODE == 'openaction':
    out = pdf(1, b'/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>')
elif MODE == 'escaped':
    out = pdf(1, b'/Open#41ction << /S /JavaScript /J#53 (app.alert\\(1\\)) >>')
elif MODE == 'two-pages':
    out = pdf(2)
elif MODE == 'broken':
    out = pdf(1)[:-60]
else:
    out = pdf(1, text=MODE != 'no-text')
sys.stdout.buffer.write(out)
sys.stderr.write('page 1 595.00x842.00\nok\n')
'''


def fakes(driver, work, sample):
    """the vector checks against converters that lie"""
    cases = {'honest': 'ok', 'openaction': 'pdf-vector-active', 'escaped': 'pdf-vector-active',
             'two-pages': 'pdf-vector-pages',
             'broken': 'pdf-vector-check', 'no-text': 'blank-page', 'info-active': 'pdf-vector-active'}
    for mode, want in cases.items():
        d, out, report = po.fake_dir(work, FAKE % mode)
        rc, rep, err = po.convert(driver, d, sample, out, report, False, ['--vector'])
        po.check(rep.get('result') == want,
                 f'fake {mode}: {rep.get("result")} ({rep.get("detail")}), want {want} {err}')
        po.check((rc == 0) == (want == 'ok') and os.path.exists(out) == (want == 'ok'), f'fake {mode}: rc {rc}')
        print(f'fake {mode}: {rep.get("result")} ({rep.get("detail")})', flush=True)


def no_qpdf(driver, libexec, work, unlimited):
    """without qpdf (/dev/null bound over it in a private mount namespace;
    root only) no copy: pdf-no-qpdf"""
    if os.geteuid() != 0 or shutil.which('unshare') is None:
        print('no qpdf: needs root and unshare, skipped')
        return
    src = os.path.join(po.CORPUS, 'testPDF.pdf')
    out, report = os.path.join(work, 'noqpdf.pdf'), os.path.join(work, 'noqpdf.json')
    args = [driver, libexec, src, out, report, '--vector'] + (['--unlimited-as'] if unlimited else [])
    p = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c',
                        'mount --bind /dev/null /usr/bin/qpdf && exec "$@"', 'sh'] + args,
                       capture_output=True, timeout=300)
    rep = po.json.load(open(report)) if os.path.exists(report) else {}
    po.check(p.returncode == 1 and rep.get('result') == 'pdf-no-qpdf' and not os.path.exists(out),
             f'no qpdf: exit {p.returncode}, {rep.get("result")} {p.stderr[-200:]!r}')


def main():
    driver, libexec, unlimited = po.setup(__doc__)
    work = tempfile.mkdtemp(prefix='cdr-pdf-vector-')
    os.chmod(work, 0o755)
    try:
        srcs = [os.path.join(po.CORPUS, f) for f in sorted(os.listdir(po.CORPUS)) if f.endswith('.pdf')]
        srcs += po.generated(work)
        for src in srcs:
            name = os.path.basename(src)
            out, report = os.path.join(work, name + '.out.pdf'), os.path.join(work, name + '.json')
            rc, rep, err = po.convert(driver, libexec, src, out, report, unlimited, ['--vector'])
            result = rep.get('result')
            po.check(rc in (0, 1), f'{name}: driver exit {rc}: {err[-500:]}')
            if name in po.REFUSE:
                po.check(rc == 1 and result == po.REFUSE[name], f'{name}: {result}, want {po.REFUSE[name]}')
            elif name in po.MALFORMED:
                po.check(rc == 0 or (rc == 1 and result in ('pdf-malformed', 'converter-output')),
                         f'{name}: {result}')
            else:
                po.check(rc == 0 and result == 'ok', f'{name}: {result} ({rep.get("detail")})')
            if rc == 1:
                po.check(not os.path.exists(out), f'{name}: a copy although refused')
                po.check(bool(rep.get('reason_ja')) and rep.get('reason_ja') != result,
                         f'{name}: no Japanese text for {result}')
            ratio = ''
            if rc == 0:
                po.check(rep.get('mode') == 'vector' and rep.get('out_ext') == 'pdf', f'{name}: report {rep}')
                judge_vector(name, src, out, rep, work)
                ratio = f'out_vs_in={os.path.getsize(out) / os.path.getsize(src):.2f}'
            if name.startswith('gen-openaction') or name == 'attachment.pdf' or name == 'gen-xfa-form.pdf':
                po.check(len(rep.get('removed', [])) > 0, f'{name}: nothing named as removed')
            print(f'{name}: {result} pages={rep.get("pages")} removed={len(rep.get("removed", []))} '
                  f'{rep.get("ms")} ms {ratio}', flush=True)
        fakes(driver, work, os.path.join(po.CORPUS, 'gen-openaction-js.pdf'))
        no_qpdf(driver, libexec, work, unlimited)
        po.mutations(driver, libexec, work, unlimited, extra=['--vector'])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'{po.checks} checks, {po.failures} failures')
    return 1 if po.failures else 0


if __name__ == '__main__':
    sys.exit(main())
