#!/usr/bin/python3
"""Every reason key the CDR sources can put into a report has a Japanese
and an English text in sanitizer/cdr/cdr_reason.c (issue 14: "a clear
reason, Japanese and English").  A source lint: it collects the keys from
every call of a fail/refuse helper, every "refused KEY" a converter prints
and every reason the sandbox sets, and looks each up in the table."""
import glob
import os
import re
import sys

root = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
cdr = os.path.join(root, "sanitizer", "cdr")
table_src = open(os.path.join(cdr, "cdr_reason.c"), encoding="utf-8").read()
table = set(re.findall(r'^\t\{"([a-z0-9-]+)", "', table_src, re.M))
if len(table) < 30:
    print(f"only {len(table)} keys read from cdr_reason.c: the table's form changed?")
    sys.exit(1)

KEY = r'"([a-z0-9]+(?:-[a-z0-9]+)*)[":]'
patterns = [
    re.compile(r'\b\w*(?:fail|refuse)\w*\([^;"]*?' + KEY),  # fail(p, err, "key..."), cdr_report_fail(rep, "key"
    re.compile(r'"refused:? ([a-z0-9]+(?:-[a-z0-9]+)*)\\n"'),  # converters: "refused key\n"
    re.compile(r'\b(?:reason|killed)\s*=\s*"([a-z0-9-]+)"'),  # the sandbox
]
missing = {}
used = 0
for path in sorted(glob.glob(os.path.join(cdr, "*.c"))):
    # the table itself; the pixel stream reader's keys only ever reach a
    # report as the detail of "converter-output"
    if os.path.basename(path) in ("cdr_reason.c", "cdr_pixels.c"):
        continue
    text = open(path, encoding="utf-8").read()
    for pat in patterns:
        for m in pat.finditer(text):
            key = m.group(1)
            used += 1
            if key not in table:
                line = text.count("\n", 0, m.start()) + 1
                missing.setdefault(key, f"{os.path.relpath(path, root)}:{line}")
for key, where in sorted(missing.items()):
    print(f"{where}: reason key \"{key}\" has no Japanese/English text in cdr_reason.c")
print(f"{used} uses, {len(table)} keys in the table, {len(missing)} missing")
sys.exit(1 if missing or used < 20 else 0)
