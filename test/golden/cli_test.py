#!/usr/bin/env python3
"""sekisho-rulec end to end: every subcommand on the golden policies, with
exit codes, the table round trip, explain on a table and on a policy giving
the same answers, diff with example packets, emit-nft, and the failure
paths (usage, I/O, corrupt table, --strict)."""
import os
import shutil
import subprocess
import sys
import tempfile

rulec = os.path.abspath(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
env = dict(os.environ, NO_COLOR="1", SEKISHO_TODAY="2026-11-22", SOURCE_DATE_EPOCH="1795305600")
failures = 0


def run(*args):
    return subprocess.run([rulec, "--no-color"] + list(args), capture_output=True, text=True, env=env,
                          cwd=work, timeout=120)


def check(what, cond, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL {what}\n{detail}")
    else:
        print(f"ok   {what}")


work = tempfile.mkdtemp()
try:
    for f in ("001.policy", "002.policy"):
        shutil.copy(os.path.join(here, f), work)

    r = run("compile", "001.policy", "-o", "001.table")
    check("compile exit 0", r.returncode == 0, r.stderr)
    check("compile reports the table", "8 rules" in r.stdout and "policy sha256" in r.stdout, r.stdout)
    with open(os.path.join(work, "001.table"), "rb") as f:
        data = f.read()
    check("table magic", data[:8] == b"SKSHOTBL")

    r = run("show", "001.table")
    check("show table", r.returncode == 0 and '#3    allow  log "exception"' in r.stdout and
          "compiled 2026-11-22T00:00:00Z" in r.stdout, r.stdout + r.stderr)

    cases = [
        # (from, to, proto, src, dst, extra, verdict, rule)
        ("internet", "self", "tcp", "203.0.113.9:40000", "198.18.20.1:25", [], "allow (logged)", '#1 "mail in"'),
        ("internet", "lgwan", "tcp", "203.0.113.9:40000", "198.18.20.9:25", [], "deny", "none matched"),
        ("lgwan", "internet", "tcp", "198.18.20.9:40000", "203.0.113.9:443", [], "reject", "none matched"),
        ("if:eth6", "if:eth4", "tcp", "198.18.20.120:40000", "198.18.50.11:443", [], "allow", '#4 "pool to dmz"'),
        ("lgwan", "dmz", "tcp", "[2001:db8:20:1::7]:40000", "[2001:db8::1]:443", [], "deny", "none matched"),
        ("lgwan", "dmz", "udp", "198.18.20.5:123", "198.18.50.99:123", [], "allow", '#5 "infra"'),
        ("lgwan", "dmz", "udp", "198.18.20.5:124", "198.18.50.99:123", [], "deny", "none matched"),
        ("mgmt-none", "dmz", "tcp", "1.2.3.4:1", "198.18.50.10:22", [], None, None),
        ("internet", "dmz", "tcp", "203.0.113.1:5", "198.18.50.10:22", [], "reject (logged)", '#6 "no dmz ssh"'),
        ("internet", "dmz", "icmp", "203.0.113.1", "198.18.50.10", ["type", "3", "code", "4"], "allow", '#8'),
        ("internet", "dmz", "icmp", "203.0.113.1", "198.18.50.10", ["type", "3", "code", "3"], "deny", "none"),
        ("internet", "dmz", "icmp", "203.0.113.1", "198.18.50.20", ["type", "11", "code", "1"], "allow", '#8'),
        ("dmz", "internet", "gre", "198.18.50.10", "203.0.113.1", [], "allow", '#7 "gre"'),
        ("mynumber", "lgwan", "tcp", "198.18.10.5:1000", "198.18.20.9:8443", [], "allow (logged)", '#3'),
        ("mynumber", "lgwan", "tcp", "[2001:db8:10::5]:1000", "[2001:db8:20::9]:8443", [], "allow (logged)", '#3'),
        ("mynumber", "lgwan", "tcp", "198.18.10.6:1000", "198.18.20.9:8443", [], "deny", "none matched"),
    ]
    for src_kind in ("001.table", "001.policy"):
        for c in cases:
            r = run("explain", src_kind, *c[:5], *c[5])
            what = f"explain {src_kind} {' '.join(c[:5] + tuple(c[5]))}"
            if c[6] is None:
                check(what + " -> unknown zone, exit 2", r.returncode == 2 and "unknown zone" in r.stderr, r.stderr)
                continue
            check(what, r.returncode == 0 and f"verdict  {c[6]}\n" in r.stdout and c[7] in r.stdout,
                  r.stdout + r.stderr)

    # explain takes every protocol name a policy takes (one table); 004 is
    # the policy of docs/policy.md's decisions
    shutil.copy(os.path.join(here, "004.policy"), work)
    for name in ("icmp", "igmp", "ipip", "tcp", "egp", "udp", "dccp", "ipv6", "rsvp", "gre", "esp", "ah",
                 "icmpv6", "eigrp", "ospf", "etherip", "pim", "vrrp", "l2tp", "sctp", "udplite"):
        r = run("explain", "004.policy", "lgwan", "lgwan", name, "198.18.20.5", "198.18.20.6")
        want = '#8 "igmp in lgwan"' if name == "igmp" else "none matched"
        check(f"explain protocol {name}", r.returncode == 0 and want in r.stdout, r.stdout + r.stderr)
    for c in (("mgmt", "self", "tcp", "198.18.40.5:40000", "198.18.40.1:22", "deny"),
              ("self", "mgmt", "udp", "198.18.40.1:40000", "198.18.40.10:514", "allow (logged)"),
              ("self", "mgmt", "udp", "198.18.40.1:40000", "198.18.40.11:514", "reject")):
        r = run("explain", "004.policy", *c[:5])
        check("explain 004 " + " ".join(c[:5]), r.returncode == 0 and f"verdict  {c[5]}\n" in r.stdout,
              r.stdout + r.stderr)

    # diff: change an action, add a rule, change a default
    with open(os.path.join(here, "001.policy"), encoding="utf-8") as f:
        text = f.read()
    text = text.replace('rule "gre" allow dmz', 'rule "gre" deny dmz')
    text = text.replace('default internet -> lgwan, dmz deny', 'default internet -> lgwan, dmz reject')
    text += 'rule "new web" allow dmz [web1] -> internet service tcp/443\n'
    with open(os.path.join(work, "new.policy"), "w", encoding="utf-8") as f:
        f.write(text)
    r = run("diff", "001.policy", "new.policy")
    out = r.stdout
    check("diff exit 0", r.returncode == 0, r.stderr)
    check("diff: gre allow -> deny", "dmz -> internet" in out and "allow -> deny" in out and "gre" in out, out)
    check("diff: new web rule", "deny -> allow" in out and "198.18.50.10" in out and ":443" in out, out)
    check("diff: default deny -> reject", "internet -> dmz" in out and "deny -> reject" in out, out)
    r = run("diff", "001.policy", "001.policy")
    check("diff of identical policies", r.returncode == 0 and "no change" in r.stdout, r.stdout)

    r = run("emit-nft", "001.policy")
    check("emit-nft", r.returncode == 0 and "table inet sekisho_backstop" in r.stdout and
          'iifname { "eth2", "eth6" } oifname { "eth3" } jump san_lgwan_internet' in r.stdout and
          "jump iso0_fwd" in r.stdout, r.stdout + r.stderr)

    r = run("check", "--strict", "002.policy")
    check("--strict turns warnings into exit 1", r.returncode == 1, r.stderr)
    r = run("check", "002.policy")
    check("warnings alone exit 0", r.returncode == 0, r.stderr)

    r = run("check", "missing.policy")
    check("missing file: exit 2", r.returncode == 2, r.stderr)
    r = run("frobnicate")
    check("unknown command: exit 2", r.returncode == 2)
    r = run("compile", "001.policy")
    check("compile without -o: exit 2", r.returncode == 2)
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xff
    with open(os.path.join(work, "bad.table"), "wb") as f:
        f.write(bad)
    r = run("explain", "bad.table", "internet", "self", "tcp", "1.2.3.4:1", "5.6.7.8:25")
    check("corrupt table refused: exit 2", r.returncode == 2 and r.stderr.strip() != "", r.stderr)
    r = run("explain", "001.table", "internet", "self", "tcp", "1.2.3.4:1", "2001:db8::1:25")
    check("mixed families refused", r.returncode == 2, r.stderr)
    r = run("compile", "001.policy", "-o", "/nonexistent-dir/x.table")
    check("unwritable output: exit 2", r.returncode == 2, r.stderr)

    # audit: every compile, accepted or refused, is a policy.compile record
    # whose MAC and chain verify independently (hmac, not our verifier)
    import hashlib
    import hmac
    import json
    key = os.urandom(32)
    kpath = os.path.join(work, "audit.key")
    fd = os.open(kpath, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, key)
    os.close(fd)
    adir = os.path.join(work, "audit")
    r = run("compile", "001.policy", "-o", "a.table", "--audit-dir", adir, "--audit-key", kpath)
    check("audited compile", r.returncode == 0, r.stderr)
    with open(os.path.join(work, "unsafe.policy"), "w") as f:
        f.write(open(os.path.join(here, "fail-100.policy")).read())
    r = run("compile", "unsafe.policy", "-o", "u.table", "--audit-dir", adir, "--audit-key", kpath)
    check("audited refused compile exit 1", r.returncode == 1 and not os.path.exists(os.path.join(work, "u.table")))
    lines = []
    for name in sorted(os.listdir(adir)):
        if name.endswith(".jsonl"):
            lines += open(os.path.join(adir, name), "rb").read().splitlines()
    prev = "0" * 64
    chain_ok = True
    for ln in lines:
        body, sep, tail = ln.rpartition(b',"mac":"')
        mac = tail[:-2].decode()
        chain_ok &= hmac.compare_digest(hmac.new(key, body + b"}", hashlib.sha256).hexdigest(), mac)
        chain_ok &= json.loads(ln)["prev"] == prev
        prev = mac
    check("audit chain verifies independently", chain_ok and len(lines) >= 2)
    recs = [json.loads(ln) for ln in lines if b'"policy.compile"' in ln]
    check("two policy.compile records", len(recs) == 2, recs)
    if len(recs) == 2:
        a, b = recs[0]["data"], recs[1]["data"]
        check("accepted record", a["result"] == "ok" and a["file"] == "001.policy" and a["rules"] == 8 and
              len(a["table_sha256"]) == 64 and len(a["policy_sha256"]) == 64 and
              any("isolate mynumber: proven" in i for i in a["invariants"]), a)
        check("refused record", b["result"] == "refused" and b["errors"] == 1 and b["table_sha256"] == "" and
              any("VIOLATED" in i for i in b["invariants"]), b)
        tsha = hashlib.sha256(open(os.path.join(work, "a.table"), "rb").read()).hexdigest()
        check("record names the table written", a["table_sha256"] == tsha)
    os.chmod(kpath, 0o644)
    r = run("compile", "001.policy", "-o", "b.table", "--audit-dir", adir, "--audit-key", kpath)
    check("key readable by others: refused, nothing compiled",
          r.returncode == 2 and "0600" in r.stderr and not os.path.exists(os.path.join(work, "b.table")), r.stderr)
finally:
    shutil.rmtree(work)

print("FAIL" if failures else "ok")
sys.exit(1 if failures else 0)
