#!/usr/bin/env python3
"""The OOXML rebuild (sekisho-cdr-ooxml) over the shared office corpus, every
output judged by Python's zipfile and xml.etree (not our parser), and then
opened by LibreOffice headless without network.

usage: ooxml_oracle.py CONVERTER [--no-office]

For every zip-based Office file of $SEKISHO_SOURCE_ROOT/../shared/corpus/files/office
(or $SEKISHO_CDR_CORPUS/office):
  - encrypted inputs are refused with the reason "encrypted" and no output;
  - the output is a valid zip with no removed part type (VBA, ActiveX, OLE
    embeddings, custom UI, external links, connections, query tables,
    printer settings, customXml, signatures, custom properties, any .bin);
  - no relationship is TargetMode="External" unless it is an http(s)/mailto
    hyperlink (the default options), every internal target exists;
  - [Content_Types].xml gives every part a content type, names no missing part,
    and holds no macro-enabled type;
  - no XML part has a DOCTYPE, a DDE link, an attached template, an OLE object
    or a DDE/INCLUDE/LINK field;
  - every SEKISHO-KEEP-... token of the input's XML is in the output, and
    SEKISHO-CDR-MARKER is in no output part;
  - the legacy binary files (.doc/.xls/.ppt) and every file of archive/
    (zip bombs, traversal names, encrypted zips) are refused with a reason;
  - LibreOffice (soffice --headless --convert-to pdf, private HOME, unshare -rn)
    turns every output into a PDF; with pdftotext, the KEEP tokens are in it.
Exit 0 all good, 1 a failure, 77 skip (no corpus)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from posixpath import normpath, dirname, join

CT_NS = '{http://schemas.openxmlformats.org/package/2006/content-types}'
PR_NS = '{http://schemas.openxmlformats.org/package/2006/relationships}'
W_NS = ['{http://schemas.openxmlformats.org/wordprocessingml/2006/main}',
        '{http://purl.oclc.org/ooxml/wordprocessingml/main}']
REMOVED = re.compile(r'(?i)(vbaProject|vbaData|(^|/)activeX/|(^|/)embeddings/|customUI|'
                     r'(^|/)externalLinks/|connections\.xml|(^|/)queryTables/|(^|/)printerSettings/|'
                     r'(^|/)customXml/|(^|/)_xmlsignatures/|docProps/custom\.xml|\.bin$)')
ACTIVE_FIELD = re.compile(r'^\s*(DDEAUTO|DDE|INCLUDETEXT|INCLUDEPICTURE|INCLUDE|IMPORT|LINK|MACROBUTTON)\b',
                          re.I)
KEEP = re.compile(rb'SEKISHO-KEEP-[A-Za-z0-9_-]+')
EXT_BY_CT = {
    'wordprocessingml.document.main': 'docx', 'wordprocessingml.template.main': 'dotx',
    'spreadsheetml.sheet.main': 'xlsx', 'spreadsheetml.template.main': 'xltx',
    'presentationml.presentation.main': 'pptx', 'presentationml.slideshow.main': 'ppsx',
    'presentationml.template.main': 'potx',
}

failures = []


def fail(name, msg):
    failures.append(f'{name}: {msg}')
    print(f'FAIL {name}: {msg}', file=sys.stderr)


def is_encrypted_input(data):
    return data[:8] == bytes.fromhex('d0cf11e0a1b11ae1')


def source_of(rels_name):
    d, b = rels_name.rsplit('/', 1) if '/' in rels_name else ('', rels_name)
    assert d.endswith('_rels') and b.endswith('.rels')
    return (d[:-len('_rels')] + b[:-len('.rels')]).lstrip('/')


def check_output(name, data, out, keep_tokens):
    try:
        z = zipfile.ZipFile(__import__('io').BytesIO(out))
        bad = z.testzip()
    except Exception as e:
        fail(name, f'output is not a zip: {e}')
        return None
    if bad:
        fail(name, f'bad CRC in {bad}')
    names = [i.filename for i in z.infolist() if not i.filename.endswith('/')]
    lower = {n.lower() for n in names}
    if len(lower) != len(names):
        fail(name, 'duplicate names')
    for n in names:
        if REMOVED.search(n):
            fail(name, f'removed part type still present: {n}')
    parts = {n: z.read(n) for n in names}
    # content types
    if '[Content_Types].xml' not in parts:
        fail(name, 'no [Content_Types].xml')
        return None
    ct = ET.fromstring(parts['[Content_Types].xml'])
    defaults = {d.get('Extension').lower(): d.get('ContentType') for d in ct.findall(CT_NS + 'Default')}
    overrides = {o.get('PartName').lstrip('/').lower(): o.get('ContentType') for o in ct.findall(CT_NS + 'Override')}
    for p in overrides:
        if p not in lower:
            fail(name, f'Override for a missing part /{p}')
    main_ext = None
    for n in names:
        if n == '[Content_Types].xml':
            continue
        t = overrides.get(n.lower()) or defaults.get(n.rsplit('.', 1)[-1].lower())
        if not t:
            fail(name, f'no content type for {n}')
            continue
        if 'macroEnabled' in t or 'vbaProject' in t or 'ms-office.activeX' in t:
            fail(name, f'forbidden content type {t} for {n}')
        for k, e in EXT_BY_CT.items():
            if t.endswith(k + '+xml'):
                main_ext = e
    # relationships
    for n in names:
        if not n.endswith('.rels'):
            continue
        src = source_of('/' + n)
        base = dirname('/' + src) if src else '/'
        for r in ET.fromstring(parts[n]).findall(PR_NS + 'Relationship'):
            tgt, mode, typ = r.get('Target'), r.get('TargetMode'), r.get('Type')
            if mode == 'External':
                if not (typ.endswith('/hyperlink') and re.match(r'(?i)(https?://|mailto:)', tgt)):
                    fail(name, f'external relationship kept: {typ} {tgt}')
                continue
            if tgt.startswith('#'):
                continue
            full = normpath(tgt if tgt.startswith('/') else join(base, tgt)).lstrip('/')
            from urllib.parse import unquote
            if full.lower() not in lower and unquote(full).lower() not in lower:
                fail(name, f'{n}: relationship to a missing part {full}')
    # XML content
    for n, b in parts.items():
        if b'SEKISHO-CDR-MARKER' in b or 'SEKISHO-CDR-MARKER'.encode('utf-16-le') in b:
            fail(name, f'SEKISHO-CDR-MARKER in {n}')
        if not (n.endswith('.xml') or n.endswith('.rels') or n.endswith('.vml')):
            continue
        if b'<!DOCTYPE' in b:
            fail(name, f'DOCTYPE in {n}')
        try:
            root = ET.fromstring(b)
        except ET.ParseError as e:
            fail(name, f'{n} is not XML: {e}')
            continue
        instr = ''
        for el in root.iter():
            tag = el.tag.split('}')[-1] if isinstance(el.tag, str) else ''
            if tag in ('ddeLink', 'attachedTemplate', 'OLEObject', 'oleObj', 'externalReference'):
                fail(name, f'{tag} element in {n}')
            for ns in W_NS:
                if el.tag == ns + 'fldSimple' and ACTIVE_FIELD.match(el.get(ns + 'instr', '')):
                    fail(name, f'active fldSimple in {n}: {el.get(ns + "instr")}')
                if el.tag == ns + 'instrText':
                    instr += el.text or ''
                if el.tag == ns + 'fldChar' and el.get(ns + 'fldCharType') in ('separate', 'end'):
                    if ACTIVE_FIELD.match(instr):
                        fail(name, f'active field in {n}: {instr.strip()[:60]}')
                    instr = ''
    alltext = b''.join(parts.values())
    for t in keep_tokens:
        if t not in alltext:
            fail(name, f'{t.decode()} lost')
    return main_ext


def input_keep_tokens(data):
    toks = set()
    try:
        z = zipfile.ZipFile(__import__('io').BytesIO(data))
        for i in z.infolist():
            if i.filename.endswith('.xml') and i.file_size < (64 << 20):
                toks.update(KEEP.findall(z.read(i)))
    except Exception:
        pass
    return toks


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    conv = sys.argv[1]
    office = '--no-office' not in sys.argv and shutil.which('soffice')
    root = os.environ.get('SEKISHO_CDR_CORPUS') or os.path.join(
        os.environ.get('SEKISHO_SOURCE_ROOT', '.'), '..', 'shared', 'corpus', 'files')
    d = os.path.join(root, 'office')
    if not os.path.isdir(d):
        print(f'skip: no corpus at {d}')
        return 77
    files = sorted(f for f in os.listdir(d) if re.search(r'\.(doc|dot|xls|xlt|ppt|pot|pps)[xm]$', f))
    tmp = tempfile.mkdtemp(prefix='cdr-ooxml-')
    outs = []
    for f in files:
        data = open(os.path.join(d, f), 'rb').read()
        p = subprocess.run([conv], input=data, capture_output=True, timeout=60)
        err = p.stderr.decode(errors='replace')
        if is_encrypted_input(data):
            if p.returncode != 1 or 'refused encrypted' not in err or p.stdout:
                fail(f, f'encrypted input not refused as encrypted: rc={p.returncode} {err.strip()}')
            continue
        if p.returncode != 0:
            fail(f, f'converter rc={p.returncode}: {err.strip()}')
            continue
        toks = input_keep_tokens(data)
        ext = check_output(f, data, p.stdout, toks)
        m = re.search(r'^ext (\w+)$', err, re.M)
        if not m or m.group(1) != ext:
            fail(f, f'converter says ext {m and m.group(1)}, content types say {ext}')
        out = os.path.join(tmp, os.path.splitext(f)[0] + '.' + (ext or 'bin'))
        open(out, 'wb').write(p.stdout)
        outs.append((f, out, toks))
        print(f'ok {f} -> {os.path.basename(out)}: {err.count("removed ")} removed')
    # what is not OOXML is refused, with a reason and no output: the legacy
    # binary formats, and the archives (bombs, traversal names, encrypted)
    others = [os.path.join(d, f) for f in sorted(os.listdir(d)) if re.search(r'\.(doc|xls|ppt)$', f)]
    adir = os.path.join(root, 'archive')
    if os.path.isdir(adir):
        others += [os.path.join(adir, f) for f in sorted(os.listdir(adir))]
    for path in others:
        p = subprocess.run([conv], stdin=open(path, 'rb'), capture_output=True, timeout=60)
        err = p.stderr.decode(errors='replace')
        if p.returncode != 1 or p.stdout or not err.startswith('refused '):
            fail(os.path.basename(path), f'not refused: rc={p.returncode} {err.strip()[:80]}')
        else:
            print(f'ok {os.path.basename(path)}: {err.strip()}')
    if office and outs:
        home = os.path.join(tmp, 'home')
        os.makedirs(home)
        pdfdir = os.path.join(tmp, 'pdf')
        cmd = ['unshare', '-rn', 'soffice', '--headless', '--norestore', '-env:UserInstallation=file://' + home,
               '--convert-to', 'pdf', '--outdir', pdfdir] + [o for _, o, _ in outs]
        env = dict(os.environ, HOME=home)
        subprocess.run(cmd, env=env, capture_output=True, timeout=600)
        for f, o, toks in outs:
            pdf = os.path.join(pdfdir, os.path.splitext(os.path.basename(o))[0] + '.pdf')
            if not os.path.exists(pdf) or os.path.getsize(pdf) == 0:
                fail(f, 'LibreOffice could not convert the output')
                continue
            if shutil.which('pdftotext'):
                txt = subprocess.run(['pdftotext', pdf, '-'], capture_output=True).stdout
                for t in toks:
                    if t not in txt:
                        fail(f, f'{t.decode()} not in the LibreOffice rendering')
        print(f'LibreOffice converted {len(outs)} outputs')
    shutil.rmtree(tmp)
    print(f'{len(files) + len(others)} files, {len(failures)} failures')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
