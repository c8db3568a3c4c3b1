#!/usr/bin/env python3
"""Golden + oracle test of sekisho-sanitize over the shared mail corpus and
the project's own hostile samples.

usage: corpus_test.py SANITIZE CORPUS_KIND
  CORPUS_KIND = shared  -> $SEKISHO_SOURCE_ROOT/../shared/corpus/mail (skip 77 if
                           absent, fail under CI=true); golden files in
                           test/golden/sanitizer/corpus/
                hostile -> test/golden/sanitizer/hostile/*.eml (built by
                           make_hostile.py), golden files beside them.
Every output must pass oracle.check; every output must equal its golden
file (SEKISHO_GOLDEN_UPDATE=1 rewrites them); the output from a regular file
(parsed in place) must equal the output from a pipe."""
import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

root = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../../.."))
exe, kind = sys.argv[1], sys.argv[2]
gold_root = os.path.join(root, "test/golden/sanitizer")
if kind == "shared":
    src = os.path.join(root, "..", "shared", "corpus", "mail")
    if not os.path.isdir(src):
        if os.environ.get("CI") == "true":
            print("corpus missing: %s" % src)
            sys.exit(1)
        print("SKIP: no corpus at %s" % src)
        sys.exit(77)
    gold = os.path.join(gold_root, "corpus")
else:
    sys.path.insert(0, gold_root)
    import make_hostile  # noqa: E402
    tmpdir = tempfile.TemporaryDirectory(prefix="san-hostile-")
    src = tmpdir.name
    make_hostile.write_all(src)
    gold = os.path.join(gold_root, "hostile")

files = []
for d, _, fs in os.walk(src):
    for f in fs:
        if f.endswith(".eml"):
            files.append(os.path.relpath(os.path.join(d, f), src))
files.sort()
update = os.environ.get("SEKISHO_GOLDEN_UPDATE") == "1"
fails = 0
exits = {}
for rel in files:
    orig = open(os.path.join(src, rel), "rb").read()
    with tempfile.TemporaryDirectory() as q:
        p = subprocess.run([exe, "--quarantine", os.path.join(q, "q")], input=orig, capture_output=True)
        if p.returncode not in (0, 1):
            print("FAIL %s: exit %d %s" % (rel, p.returncode, p.stderr.decode(errors="replace")))
            fails += 1
            continue
        exits[p.returncode] = exits.get(p.returncode, 0) + 1
        # the same message from a regular file (parsed in place, no copy in
        # memory) must give the same bytes as from the pipe
        with open(os.path.join(src, rel), "rb") as f:
            pf = subprocess.run([exe, "--quarantine", os.path.join(q, "q2")], stdin=f, capture_output=True)
        if pf.returncode != p.returncode or pf.stdout != p.stdout:
            print("FAIL %s: output from a file differs from the pipe's" % rel)
            fails += 1
        # the original must be in the quarantine
        h = hashlib.sha256(orig).hexdigest()
        if not os.path.exists(os.path.join(q, "q", h + ".data")):
            print("FAIL %s: original not quarantined" % rel)
            fails += 1
    out = p.stdout
    probs = oracle.check(orig, out)
    for pr in probs:
        print("FAIL %s: %s" % (rel, pr))
    fails += bool(probs)
    gpath = os.path.join(gold, rel.replace("/", "__") + ".out")
    if update:
        os.makedirs(gold, exist_ok=True)
        open(gpath, "wb").write(out)
    elif not os.path.exists(gpath):
        print("FAIL %s: no golden file %s" % (rel, gpath))
        fails += 1
    elif open(gpath, "rb").read() != out:
        print("FAIL %s: output differs from %s" % (rel, gpath))
        fails += 1
print("%d messages, %d failed (exit codes %s)" % (len(files), fails, exits))
sys.exit(1 if fails else 0)
