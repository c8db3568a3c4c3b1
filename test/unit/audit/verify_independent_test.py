#!/usr/bin/env python3
"""The auditor's snippet in docs/audit.md is verify_independent.py, verbatim,
and it verifies a log written by the C writer, agreeing with the C verifier
on the chain's last seq and mac; an edited byte and a deleted line are caught.

usage: verify_independent_test.py AUDIT_MKLOG DOCS_AUDIT_MD SNIPPET_PY"""
import importlib.util, os, shutil, subprocess, sys, tempfile

mklog, doc, snippet = sys.argv[1:4]
text = open(doc, encoding="utf-8").read()
code = open(snippet, encoding="utf-8").read()
begin = "<!-- verify_independent.py begin -->\n```python\n"
end = "```\n<!-- verify_independent.py end -->"
assert begin in text and end in text, "docs/audit.md lost the snippet markers"
in_doc = text.split(begin, 1)[1].split(end, 1)[0]
assert in_doc == code, "docs/audit.md and verify_independent.py differ"

spec = importlib.util.spec_from_file_location("verify_independent", snippet)
vi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vi)

tmp = tempfile.mkdtemp(prefix="sekisho-audit-py-")
try:
    out = subprocess.run([mklog, tmp], check=True, capture_output=True, text=True).stdout.split()
    c_seq, c_mac, c_ok = int(out[0]), out[1], out[2]
    assert c_ok == "1", "the C verifier does not accept the sample log"
    key = open(os.path.join(tmp, "key"), "rb").read()
    logdir = os.path.join(tmp, "log")
    files = sorted(os.path.join(logdir, n) for n in os.listdir(logdir) if n.startswith("audit-"))
    assert len(files) > 3, "expected several rotated files"
    seq, mac = vi.verify(key, files)
    assert (seq, mac) == (c_seq, c_mac), f"python says {seq} {mac}, C says {c_seq} {c_mac}"

    # The script entry point as an auditor would run it.
    run = subprocess.run([sys.executable, snippet, os.path.join(tmp, "key")] + files,
                         check=True, capture_output=True, text=True).stdout.split()
    assert run == [str(c_seq), c_mac], run

    def fails(mutate, what):
        broken = os.path.join(tmp, "broken")
        shutil.rmtree(broken, ignore_errors=True)
        shutil.copytree(logdir, broken)
        mutate(os.path.join(broken, os.path.basename(files[2])))
        bfiles = sorted(os.path.join(broken, n) for n in os.listdir(broken))
        try:
            vi.verify(key, bfiles)
        except AssertionError as e:
            assert what in str(e), f"wanted '{what}', got '{e}'"
            return
        raise AssertionError(f"{what}: not detected")

    def edit(path):
        data = bytearray(open(path, "rb").read())
        data[data.index(b'"dport":443') + 8] ^= 1
        open(path, "wb").write(bytes(data))

    def delete(path):
        lines = open(path, "rb").readlines()
        del lines[3]
        open(path, "wb").write(b"".join(lines))

    def cut(path):
        data = open(path, "rb").read()
        open(path, "wb").write(data[:-30])

    fails(edit, "edited")
    fails(delete, "seq")
    fails(cut, "torn")
    fails(lambda p: os.remove(p), "seq")
    try:
        vi.verify(b"another key of thirty-two bytes!", files)
        raise SystemExit("a wrong key was accepted")
    except AssertionError as e:
        assert "edited" in str(e)
finally:
    shutil.rmtree(tmp)
print("verify_independent: ok")
