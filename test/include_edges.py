#!/usr/bin/env python3
"""include_edges: the include graph runs one way (issue 13, STYLE.md "The
runtime reads a contract, not the compiler").

For each rule below, every source file it covers is followed through its
project includes ("dir/file.h", transitively) and the test fails when one of
them reaches a forbidden header, printing the include chain:

  - the table runtime (rules/table.c, table.h, table_format.h) and
    everything under gateway/ see only the compiled-table contract: no
    compiler header (rules/policy*.h, rules/pspace.h, rules/table_build.h);
  - sanitizer/ includes nothing of rules/ or gateway/;
  - common/ (the low-level helpers and the audit trail) includes nothing
    of rules/, gateway/, sanitizer/ or tools/;
  - rules/ includes nothing of gateway/, sanitizer/ or tools/; gateway/
    nothing of sanitizer/ or tools/; tools/ (logexport, ctl) nothing of
    gateway/ or sanitizer/: the two pipelines, policy -> rules/ -> table ->
    gateway/ -> audit and mail -> sanitizer/ -> audit, meet only in
    common/audit/.

Usage: include_edges.py [SOURCE_ROOT] (default: $SEKISHO_SOURCE_ROOT, else
the parent of this file's directory).  Exit 0 clean, 1 violations, 2 when the
tree does not look like sekisho (so the test cannot pass vacuously)."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

COMPILER = re.compile(r'^rules/(policy[^/]*|pspace|table_build)\.h$')
RULES = [
    ('the table runtime and gateway/ include no compiler header',
     lambda f: f in ('rules/table.c', 'rules/table.h', 'rules/table_format.h')
     or f.startswith('gateway/'),
     lambda h: COMPILER.match(h)),
    ('sanitizer/ includes nothing of rules/ or gateway/',
     lambda f: f.startswith('sanitizer/'),
     lambda h: h.startswith(('rules/', 'gateway/'))),
    ('common/ includes nothing of rules/, gateway/ or sanitizer/',
     lambda f: f.startswith('common/'),
     lambda h: h.startswith(('rules/', 'gateway/', 'sanitizer/', 'tools/'))),
    ('rules/ includes nothing of gateway/ or sanitizer/ (the compiler is upstream of both)',
     lambda f: f.startswith('rules/'),
     lambda h: h.startswith(('gateway/', 'sanitizer/', 'tools/'))),
    ('gateway/ includes nothing of sanitizer/ (the two pipelines meet only in the audit trail)',
     lambda f: f.startswith('gateway/'),
     lambda h: h.startswith(('sanitizer/', 'tools/'))),
    ('tools/ reads the audit trail, not the producers: nothing of gateway/ or sanitizer/',
     lambda f: f.startswith('tools/'),
     lambda h: h.startswith(('gateway/', 'sanitizer/'))),
]


def sources(root):
    for top in ('common', 'rules', 'gateway', 'sanitizer', 'tools'):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if n.endswith(('.c', '.h')):
                    yield os.path.relpath(os.path.join(dirpath, n), root)


def includes(root, f, cache):
    """Project headers f includes directly, as paths from the root."""
    if f not in cache:
        try:
            with open(os.path.join(root, f), encoding='utf-8', errors='replace') as fh:
                text = fh.read()
        except OSError:
            text = ''
        out = []
        for name in INCLUDE.findall(text):
            # "dir/x.h" from the root, else next to the includer
            for cand in (name, os.path.join(os.path.dirname(f), name)):
                if os.path.isfile(os.path.join(root, cand)):
                    out.append(os.path.normpath(cand))
                    break
        cache[f] = out
    return cache[f]


def first_bad_chain(root, f, bad, cache):
    """Depth-first: the include chain from f to a forbidden header, or None."""
    seen = set()
    stack = [(f, [f])]
    while stack:
        cur, chain = stack.pop()
        for h in includes(root, cur, cache):
            if bad(h):
                return chain + [h]
            if h not in seen:
                seen.add(h)
                stack.append((h, chain + [h]))
    return None


def main():
    root = (sys.argv[1] if len(sys.argv) > 1 else
            os.environ.get('SEKISHO_SOURCE_ROOT') or
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = list(sources(root))
    cache = {}
    failures = 0
    for what, covers, bad in RULES:
        covered = [f for f in files if covers(f)]
        if not covered:
            print(f'include_edges: no files for "{what}" under {root}', file=sys.stderr)
            return 2
        bad_files = 0
        for f in covered:
            chain = first_bad_chain(root, f, bad, cache)
            if chain:
                print(f'{what}: {" -> ".join(chain)}')
                bad_files += 1
        if not bad_files:
            print(f'ok: {what} ({len(covered)} files)')
        failures += bad_files
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
