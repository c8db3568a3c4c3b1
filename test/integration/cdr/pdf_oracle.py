#!/usr/bin/python3
"""PDF CDR end to end (issue 14): every PDF of the shared corpus, and PDFs
made here, through cdr_convert (the driver cdr-pdf-run: the converter
sekisho-cdr-pdf in the sandbox, then the trusted side's checks and PDF
writer), judged only by independent tools:

- qpdf --check passes on every copy;
- qpdf --json: no /JS /JavaScript /AA /OpenAction /Launch /EmbeddedFile(s)
  /URI /RichMedia /XFA /AcroForm /Annots /Names /Metadata anywhere (keys or
  name values), and SEKISHO-CDR-MARKER nowhere in the uncompressed file;
- the page count (qpdf --show-npages of the original) equals the copy's and
  the report's;
- no blank page where pdftotext finds text on the original's page: the
  copy's page rendered by pdftoppm has dark pixels (PIL);
- the non-embedded Japanese font PDFs come out, not blank;
- encrypted files are refused "encrypted"; malformed ones give a copy or a
  clean refusal (exit 1 with a reason key), never a crash;
- the blank-page rule and the trusted side's checks fire against fake
  converters (white pages with a text count, the wrong size, extra pages,
  a malformed report, a render that never ends: stopped by the whole
  conversion's clock, 3 s + 2 s a page);
- 24 damaged corpus files (fixed seed) give a checked copy or a clean
  refusal;
- with poppler-data or the Japanese fonts hidden (root: a private mount
  namespace), no copy: pdf-no-cmaps / pdf-no-ja-font, from the trusted
  side and from the converter itself.

usage: pdf_oracle.py DRIVER LIBEXEC [SANITIZERS]"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

CORPUS = '/work/shared/corpus/files/pdf'
BANNED = {'/JS', '/JavaScript', '/AA', '/OpenAction', '/Launch', '/EmbeddedFile', '/EmbeddedFiles', '/URI',
          '/RichMedia', '/XFA', '/AcroForm', '/Annots', '/Names', '/Metadata', '/SubmitForm', '/GoToR'}
REFUSE = {
    'gen-encrypted-userpw-aes128.pdf': 'encrypted',
    'gen-encrypted-userpw-aes256.pdf': 'encrypted',
    'gen-1000pages-shared-content.pdf': 'page-limit',  # default max_pages 500
    'gen-huge-image-xobject.pdf': 'pdf-image-limit',  # a 900 Mpx image XObject
}
# may be repaired into a copy, or refused with this key
MALFORMED = {'gen-malformed-broken-objects.pdf', 'gen-malformed-truncated-xref.pdf'}
JAPANESE = {'gen-ja-noembed-heiseikakugo-utf16.pdf', 'gen-ja-noembed-msmincho.pdf', 'noembed-identity.pdf',
            'noembed-jis7.pdf', 'noembed-sjis.pdf', 'vertical.pdf'}

failures = 0
checks = 0
expect_fail = False  # the self-check: failures are expected, printed as "caught"


def check(cond, msg):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print('caught:' if expect_fail else 'FAIL:', msg, flush=True)


def need(prog):
    if shutil.which(prog) is None:
        print(f'{prog} is missing')
        sys.exit(1 if os.environ.get('CI') == 'true' else 77)


def convert(driver, libexec, src, out, report, unlimited, extra=()):
    args = [driver, libexec, src, out, report] + (['--unlimited-as'] if unlimited else []) + list(extra)
    p = subprocess.run(args, capture_output=True, timeout=600)
    rep = json.load(open(report)) if os.path.exists(report) else {}
    return p.returncode, rep, p.stderr.decode(errors='replace')


def npages(path):
    p = subprocess.run(['qpdf', '--show-npages', path], capture_output=True, text=True)
    return int(p.stdout) if p.returncode in (0, 3) and p.stdout.strip().isdigit() else None


def walk(v, found):
    if isinstance(v, dict):
        for k, x in v.items():
            if k in BANNED:
                found.add(k)
            walk(x, found)
    elif isinstance(v, list):
        for x in v:
            walk(x, found)
    elif isinstance(v, str) and v in BANNED:
        found.add(v)


def page_text(path, i):
    p = subprocess.run(['pdftotext', '-q', '-f', str(i), '-l', str(i), path, '-'], capture_output=True)
    return ''.join(p.stdout.decode(errors='replace').split())


def dark_pixels(path, i, work):
    from PIL import Image
    prefix = os.path.join(work, 'render')
    subprocess.run(['pdftoppm', '-q', '-r', '50', '-gray', '-f', str(i), '-l', str(i), path, prefix], check=True)
    files = [f for f in os.listdir(work) if f.startswith('render')]
    im = Image.open(os.path.join(work, files[0]))
    hist = im.histogram()
    for f in files:
        os.unlink(os.path.join(work, f))
    return sum(hist[:160])


def judge_copy(name, src, out, rep, work):
    p = subprocess.run(['qpdf', '--check', out], capture_output=True, text=True)
    check(p.returncode == 0, f'{name}: qpdf --check: {p.stdout[-300:]}{p.stderr[-300:]}')
    p = subprocess.run(['qpdf', '--json', '--json-stream-data=none', out], capture_output=True, text=True)
    found = set()
    try:
        walk(json.loads(p.stdout), found)
    except ValueError:
        check(False, f'{name}: qpdf --json unreadable')
    check(not found, f'{name}: {sorted(found)} in the copy')
    raw = subprocess.run(['qpdf', '--stream-data=uncompress', '--object-streams=disable', out, '-'],
                         capture_output=True).stdout
    check(b'SEKISHO-CDR-MARKER' not in raw and b'SEKISHO-CDR-MARKER' not in open(out, 'rb').read(),
          f'{name}: the marker is in the copy')
    n_in, n_out = npages(src), npages(out)
    check(n_in is not None and n_in == n_out == rep.get('pages'),
          f'{name}: pages {n_in} in, {n_out} out, report {rep.get("pages")}')
    if n_out is None:
        return
    # no blank page where the original has text (long files: a sample of pages)
    pages = range(1, n_out + 1) if n_out <= 12 else sorted({1, 2, n_out // 2, n_out - 1, n_out})
    for i in pages:
        if page_text(src, i):
            check(dark_pixels(out, i, work) > 0, f'{name}: page {i} is blank but has text in the original')
    # pages of ordinary size: at most 250 KB each (the huge pages are 40 Mpx)
    size = os.path.getsize(out)
    check(name.startswith('gen-huge') or size <= 250_000 * n_out, f'{name}: {size} bytes for {n_out} pages')


FAKE = r'''#!/usr/bin/python3
import struct, sys
MODE = %r
args = sys.argv[1:]
sys.stdin.buffer.read()
if MODE == 'refuse':
    sys.stderr.write('refused pdf-malformed\n'); sys.exit(1)
if MODE == 'slow' and '--info' not in args:
    import time; time.sleep(60)
if '--info' in args:
    if MODE == 'bad-info':
        sys.stderr.write('pages 1\npage 1 595.00x842.00 42\nremoved a b\nok\n'); sys.exit(0)
    text = 0 if MODE == 'white-no-text' else 42
    sys.stderr.write('pages 1\npage 1 595.00x842.00 %%d\nremoved action:/OpenAction\nok\n' %% text)
    sys.exit(0)
w, h = (1000, 1000) if MODE == 'wrong-size' else (1239, 1754)
page = b'SKPX' + bytes([1, 1, 8, 0]) + struct.pack('>II', w, h) + b'\xff' * (w * h)
sys.stdout.buffer.write(page * (2 if MODE == 'extra-page' else 1))
sys.stderr.write('page 1 %%dx%%d 150\nok\n' %% (w, h))
'''


def fake_dir(work, script):
    """a libexec directory of its own holding script as sekisho-cdr-pdf;
    returns it, the copy's path and the report's path"""
    d = tempfile.mkdtemp(dir=work)
    os.chmod(d, 0o755)
    conv = os.path.join(d, 'sekisho-cdr-pdf')
    with open(conv, 'w') as f:
        f.write(script)
    os.chmod(conv, 0o755)
    return d, os.path.join(d, 'out.pdf'), os.path.join(d, 'r.json')


def fakes(driver, work, sample):
    """the trusted side's checks against converters that lie"""
    cases = {'white': 'blank-page', 'white-no-text': 'ok', 'wrong-size': 'converter-output',
             'extra-page': 'converter-output', 'bad-info': 'converter-report', 'refuse': 'pdf-malformed',
             'slow': 'timeout'}
    for mode, want in cases.items():
        d, out, report = fake_dir(work, FAKE % mode)
        # 'slow': the whole conversion's clock is 3 s + 2 s for its one page
        t0 = time.monotonic()
        rc, rep, err = convert(driver, d, sample, out, report, False,
                               ['--timeout-ms', '3000'] if mode == 'slow' else [])
        dt = time.monotonic() - t0
        check(mode != 'slow' or 4.5 < dt < 15, f'fake {mode}: {dt:.1f} s')
        check(rep.get('result') == want, f'fake {mode}: {rep.get("result")} ({rep.get("detail")}), want {want} {err}')
        check((rc == 0) == (want == 'ok') and os.path.exists(out) == (want == 'ok'), f'fake {mode}: rc {rc}')
        if want == 'ok':
            check(rep.get('removed') == ['action:/OpenAction'], f'fake {mode}: removed {rep.get("removed")}')


def generated(work):
    """PDFs made here: three pages of three sizes (portrait, landscape,
    small) with an /OpenAction JavaScript"""
    files = []
    p = os.path.join(work, 'gen-sizes.pdf')
    sizes = [(595, 842), (842, 595), (300, 200)]
    body = []
    for n, (w, h) in enumerate(sizes):
        content = f'BT /F1 24 Tf 20 {h - 60} Td (SEKISHO-KEEP-page{n + 1}) Tj ET'.encode()
        body.append((f'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Resources << /Font << /F1 '
                     f'{4 + 2 * len(sizes)} 0 R >> >> /Contents {4 + 2 * n + 1} 0 R >>').encode())
        body.append(b'<< /Length %d >>\nstream\n' % len(content) + content + b'\nendstream')
    kids = ' '.join(f'{4 + 2 * n} 0 R' for n in range(len(sizes)))
    objs = [b'<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> >>',
            f'<< /Type /Pages /Count {len(sizes)} /Kids [{kids}] >>'.encode(),
            b'<< /Producer (oracle) >>'] + body + [b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>']
    out = bytearray(b'%PDF-1.4\n')
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b'%d 0 obj\n' % (i + 1) + o + b'\nendobj\n'
    x = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objs) + 1)
    for o in offs:
        out += b'%010d 00000 n \n' % o
    out += b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objs) + 1, x)
    with open(p, 'wb') as f:
        f.write(out)
    files.append(p)
    return files


def mutations(driver, libexec, work, unlimited, count=24, extra=()):
    """damaged copies of corpus files (a fixed seed: bytes flipped, cut,
    a block duplicated) give a checked copy or a clean refusal, never a
    crash, a hang or exit 2"""
    import random
    rnd = random.Random(14)
    names = ['gen-openaction-js.pdf', 'testPDF.pdf', 'vertical.pdf', 'gen-xfa-form.pdf',
             'attachment.pdf', 'noembed-sjis.pdf']
    for k in range(count):
        name = names[k % len(names)]
        data = bytearray(open(os.path.join(CORPUS, name), 'rb').read())
        how = k % 3
        if how == 0:
            for _ in range(8):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        elif how == 1:
            data = data[:rnd.randrange(len(data) // 2, len(data))]
        else:
            a = rnd.randrange(len(data))
            data[a:a] = data[a:a + 512]
        src = os.path.join(work, f'mut{k}-{name}')
        with open(src, 'wb') as f:
            f.write(data)
        out, report = src + '.out.pdf', src + '.json'
        rc, rep, err = convert(driver, libexec, src, out, report, unlimited, extra)
        check(rc in (0, 1) and rep.get('result'), f'mutation {k} of {name}: exit {rc} {err[-300:]}')
        if rc == 0:
            p = subprocess.run(['qpdf', '--check', out], capture_output=True)
            check(p.returncode == 0, f'mutation {k} of {name}: qpdf --check fails on the copy')
            check(npages(out) == rep.get('pages'), f'mutation {k} of {name}: page count')
        else:
            check(not os.path.exists(out), f'mutation {k} of {name}: a copy although refused')


def hidden_data(driver, libexec, work, unlimited):
    """without poppler-data or the Japanese fonts (hidden under an empty
    tmpfs in a private mount namespace; root only) no copy is made: the
    trusted side's start-up check, and the converter's own check inside"""
    if os.geteuid() != 0 or shutil.which('unshare') is None:
        print('hidden data: needs root and unshare, skipped')
        return
    src = os.path.join(CORPUS, 'gen-ja-noembed-msmincho.pdf')
    conv = os.path.join(libexec, 'sekisho-cdr-pdf')
    for hide, want in ((['/usr/share/poppler'], 'pdf-no-cmaps'),
                       (['/usr/share/fonts', '/var/cache/fontconfig'], 'pdf-no-ja-font')):
        mounts = ' && '.join(f'mount -t tmpfs tmpfs {d}' for d in hide)
        report = os.path.join(work, 'hidden.json')
        args = [driver, libexec, src, os.path.join(work, 'hidden.pdf'), report] + \
            (['--unlimited-as'] if unlimited else [])
        p = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c',
                            mounts + ' && exec "$@"', 'sh'] + args, capture_output=True, timeout=300)
        rep = json.load(open(report)) if os.path.exists(report) else {}
        check(p.returncode == 1 and rep.get('result') == want,
              f'{hide} hidden: exit {p.returncode}, {rep.get("result")}, want {want}')
        check(not os.path.exists(os.path.join(work, 'hidden.pdf')), f'{hide} hidden: a copy')
        with open(src, 'rb') as f:
            p = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c',
                                mounts + ' && exec "$@"', 'sh', conv, '--info'],
                               stdin=f, capture_output=True, timeout=300,
                               # outside the sandbox the test's ASAN_OPTIONS would turn
                               # fontconfig's process-lifetime cache into a leak report
                               env=dict(os.environ, ASAN_OPTIONS='detect_leaks=0'))
        check(p.returncode == 1 and p.stderr.decode(errors='replace').startswith(f'refused {want}'),
              f'{hide} hidden: the converter says {p.stderr[:100]!r}, exit {p.returncode}')


def self_check(work):
    """the oracle must see what it looks for: originals judged as copies fail"""
    global failures, checks, expect_fail
    expect_fail = True
    for name in ('gen-openaction-js.pdf', 'attachment.pdf', 'gen-uri-link.pdf', 'gen-xfa-form.pdf'):
        src = os.path.join(CORPUS, name)
        before = failures
        judge_copy(name, src, src, {'pages': npages(src)}, work)
        caught = failures > before
        failures, checks = before, checks + 1
        if not caught:
            failures += 1
            print(f'FAIL: the oracle passes the original {name}')
    expect_fail = False


def setup(doc):
    """the arguments (driver, libexec, unlimited) and the tools, or exit
    (77: skipped)"""
    if len(sys.argv) < 3:
        sys.exit(doc)
    for prog in ('qpdf', 'pdftotext', 'pdftoppm', 'bwrap'):
        need(prog)
    try:
        import PIL  # noqa: F401
    except ImportError:
        print('python3-pil is missing')
        sys.exit(1 if os.environ.get('CI') == 'true' else 77)
    if not os.path.isdir(CORPUS):
        print('corpus missing')
        sys.exit(77)
    return sys.argv[1], sys.argv[2], 'address' in (sys.argv[3] if len(sys.argv) > 3 else '')


def main():
    driver, libexec, unlimited = setup(__doc__)
    work = tempfile.mkdtemp(prefix='cdr-pdf-oracle-')
    os.chmod(work, 0o755)
    try:
        srcs = [os.path.join(CORPUS, f) for f in sorted(os.listdir(CORPUS)) if f.endswith('.pdf')]
        srcs += generated(work)
        for src in srcs:
            name = os.path.basename(src)
            out, report = os.path.join(work, name + '.out.pdf'), os.path.join(work, name + '.json')
            rc, rep, err = convert(driver, libexec, src, out, report, unlimited)
            result = rep.get('result')
            check(rc in (0, 1), f'{name}: driver exit {rc}: {err[-500:]}')
            if name in REFUSE:
                check(rc == 1 and result == REFUSE[name], f'{name}: {result}, want {REFUSE[name]}')
            elif name in MALFORMED:
                check(rc == 0 or (rc == 1 and result in ('pdf-malformed', 'converter-output')),
                      f'{name}: {result}')
            else:
                check(rc == 0 and result == 'ok', f'{name}: {result} ({rep.get("detail")})')
            if rc == 1:
                check(not os.path.exists(out), f'{name}: a copy although refused')
                check(bool(rep.get('reason_ja')) and rep.get('reason_ja') != result,
                      f'{name}: no Japanese text for {result}')
            if rc == 0:
                check(rep.get('mode') == 'pixels' and rep.get('out_ext') == 'pdf', f'{name}: report {rep}')
                judge_copy(name, src, out, rep, work)
            if name in JAPANESE:
                check(rc == 0, f'{name}: Japanese file refused')
            if name.startswith('gen-openaction') or name == 'attachment.pdf' or name == 'gen-xfa-form.pdf':
                check(len(rep.get('removed', [])) > 0, f'{name}: nothing named as removed')
            print(f'{name}: {result} pages={rep.get("pages")} removed={len(rep.get("removed", []))} '
                  f'{rep.get("ms")} ms', flush=True)
        fakes(driver, work, os.path.join(CORPUS, 'gen-openaction-js.pdf'))
        mutations(driver, libexec, work, unlimited)
        hidden_data(driver, libexec, work, unlimited)
        self_check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'{checks} checks, {failures} failures')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
