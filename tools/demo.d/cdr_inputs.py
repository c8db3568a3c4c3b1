#!/usr/bin/python3
"""Writes the CDR demo's three hostile-but-ordinary files into DIR:
a PDF that runs JavaScript when opened, an Excel workbook with a macro
project, and a photo carrying the GPS position where it was taken.  Made
here, so that the demo needs nothing but the clone.  usage: cdr_inputs.py DIR"""
import io
import os
import sys
import zipfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def pdf_with_javascript(path):
    text = b"BT /F1 24 Tf 72 720 Td (Quotation 2026-12 SEKISHO-KEEP) Tj ET\nBT /F1 14 Tf 72 680 Td (Total: 1,234,000 JPY) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /JavaScript << /Names [(init) 5 0 R] >> >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 6 0 R >> >> /AA << /O 7 0 R >> /Annots [8 0 R] >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /S /JavaScript /JS (app.alert('SEKISHO-CDR-MARKER: this PDF runs code');) >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /S /Launch /F (cmd.exe) >>",
        b"<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /A << /S /URI /URI (http://198.18.0.66/x) >> >>",
    ]
    buf = io.BytesIO()
    buf.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(buf.tell())
        buf.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    xref = buf.tell()
    buf.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for o in offs:
        buf.write(b"%010d 00000 n \n" % o)
    buf.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def workbook_with_macro(path):
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
          '<sheets><sheet name="予算" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wbrels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
              '<Relationship Id="rId2" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
              '</Relationships>')
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>令和8年度 予算 SEKISHO-KEEP</t></is></c>'
             '<c r="B1"><v>1234000</v></c></row></sheetData></worksheet>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", wbrels)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        # not a real VBA project: the bytes only have to be there to be removed
        z.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1SEKISHO-CDR-MARKER Auto_Open Shell")


def photo_with_gps(path):
    from PIL import Image, ImageDraw
    im = Image.new("RGB", (640, 480), (90, 140, 200))
    ImageDraw.Draw(im).rectangle((120, 300, 520, 440), fill=(60, 120, 60))
    ex = Image.Exif()
    ex[0x010F] = "SEKISHO demo camera"
    ex[0x8825] = {1: "N", 2: (35.0, 41.0, 22.5), 3: "E", 4: (139.0, 41.0, 30.0)}
    im.save(path, exif=ex.tobytes(), comment=b"taken at the site office")


pdf_with_javascript(os.path.join(out, "見積書.pdf"))
workbook_with_macro(os.path.join(out, "予算集計.xlsm"))
photo_with_gps(os.path.join(out, "現場写真.jpg"))
