#!/usr/bin/env python3
"""sekishoctl apply / try / confirm / rollback, end to end but without the
kernel: a fake sekisho-gatewayd control socket (this process) answers the
real `sekisho-gatewayd ctl` client; on "reload" it reads the installed table
and reports its policy hash the way the daemon does (asked from the real
`sekisho-rulec show`).  The compiler, the audit helper and the audit chain
are real; the chain is verified with sekisho-logexport at the end.

Cases: first apply; a refused policy leaves table, daemon and snapshot
untouched (and is recorded); try + confirm keeps the new policy past the
deadline; try without confirm rolls back by itself (the old hash is back,
the old table bytes are back); a reload the daemon refuses and a daemon that
keeps the old policy (health check) both put the previous table back; confirm
with nothing pending fails; the audit records say who did what.

usage: test_sekishoctl.py SEKISHOCTL RULEC GATEWAYD CTL_AUDIT LOGEXPORT
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../../.."))
CTL, RULEC, GATEWAYD, CTL_AUDIT, LOGEXPORT = sys.argv[1:6]

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def table_hash(path):
    out = subprocess.run([RULEC, "--no-color", "show", path], capture_output=True, text=True).stdout
    m = re.search(r"^policy sha256 ([0-9a-f]{64})$", out, re.M)
    return m.group(1) if m else None


class FakeGatewayd:
    """The control protocol of gateway/gw_control.c: one line in, one JSON line out."""

    def __init__(self, path, table):
        self.table = table
        self.hash = table_hash(table) if os.path.exists(table) else None
        self.gen = 1
        self.mode = "ok"          # ok | refuse | stale
        self.reloads = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                line = c.recv(512).decode().strip()
                if line == "status":
                    st = {"pid": os.getpid(), "table_gen": self.gen, "table": self.table}
                    if self.hash:
                        st["policy_sha256"] = self.hash
                    reply = json.dumps(st, separators=(",", ":"))
                elif line == "reload":
                    self.reloads += 1
                    if self.mode == "refuse":
                        reply = json.dumps({"result": "refused", "why": "fake: refused"})
                    else:
                        if self.mode == "ok":
                            self.hash = table_hash(self.table)
                        self.gen += 1
                        reply = json.dumps({"result": "ok", "table_gen": self.gen})
                else:
                    reply = json.dumps({"error": "unknown command"})
                c.sendall(reply.encode() + b"\n")

    def close(self):
        self.stop = True
        self.sock.close()


def main():
    tmp = tempfile.mkdtemp(prefix="sekishoctl-test-")
    try:
        return run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp):
    state, rundir, logdir = (os.path.join(tmp, d) for d in ("state", "run", "log"))
    for d in (state, rundir, logdir, os.path.join(rundir, "gateway")):
        os.makedirs(d)
    key = os.path.join(tmp, "audit.key")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)
    nflog = os.path.join(tmp, "netfilter.log")
    fake_nf = os.path.join(tmp, "fake-netfilter")
    with open(fake_nf, "w") as f:
        f.write('#!/bin/sh\necho "$@" >> %s\n' % nflog)
    os.chmod(fake_nf, 0o755)

    # policies: v1 the sample, v2 one rule fewer, v3 another, bad a broken invariant
    pol = {}
    base = open(os.path.join(SRC, "rules/examples/municipality.policy"), encoding="utf-8").read()
    objects = os.path.join(SRC, "rules/examples/objects.policy")
    variants = {
        "v1": base,
        "v2": base.replace('rule "仮想ブラウザ利用"', '# rule "仮想ブラウザ利用"', 1),
        "v3": base.replace('rule "無害化後のメール配送"', '# rule "無害化後のメール配送"', 1),
        "bad": base.replace('rule "仮想ブラウザ利用"', 'rule "業者の依頼で Web を直接許可" allow lgwan [lg-clients] -> '
                            'internet service web log owner "某課" description "便利なので"\nrule "仮想ブラウザ利用"', 1),
    }
    for name, text in variants.items():
        d = os.path.join(tmp, "policy-" + name)
        os.makedirs(d)
        shutil.copy(objects, d)
        p = os.path.join(d, "main.policy")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        pol[name] = p
    check(variants["v2"] != base and variants["v3"] != base, "policy variants differ from the sample")

    env = dict(os.environ,
               SEKISHO_CONF="/dev/null", SEKISHO_RULEC=RULEC, SEKISHO_GATEWAYD=GATEWAYD,
               SEKISHO_NETFILTER=fake_nf, SEKISHO_CTL_AUDIT=CTL_AUDIT,
               SEKISHO_STATE_DIR=state, SEKISHO_RUN_DIR=rundir, SEKISHO_AUDIT_KEY=key,
               SEKISHO_CTL_AUDIT_DIR=os.path.join(logdir, "ctl"),
               SEKISHO_RULEC_AUDIT_DIR=os.path.join(logdir, "rulec"),
               SEKISHO_HEALTH_TIMEOUT="3", SUDO_USER="tanaka", SSH_CLIENT="198.18.40.5 50000 22")
    env.pop("SEKISHO_POLICY", None)

    def ctl(*args):
        r = subprocess.run(["bash", CTL, *args], env=env, capture_output=True, text=True, timeout=120)
        sys.stdout.write("".join("    | " + line + "\n" for line in (r.stdout + r.stderr).splitlines()))
        return r

    table = os.path.join(state, "policy.table")
    gw = FakeGatewayd(os.path.join(rundir, "gateway", "gatewayd.sock"), table)

    def snapshot():
        data = open(table, "rb").read() if os.path.exists(table) else None
        cur = os.path.join(state, "applied/current/.policy_sha256")
        return data, (open(cur).read() if os.path.exists(cur) else None), gw.hash

    h = {}
    for name in ("v1", "v2", "v3"):
        scratch = os.path.join(tmp, name + ".table")
        subprocess.run([RULEC, "--no-color", "compile", pol[name], "-o", scratch], check=True,
                       capture_output=True)
        h[name] = table_hash(scratch)
    check(len(set(h.values())) == 3 and all(h.values()), "three distinct policy hashes")

    # 1. first apply
    check(ctl("apply", "--try", "5", pol["v1"]).returncode == 1, "--try refused when there is nothing to come back to")
    check(not os.path.exists(table), "... and nothing installed")
    r = ctl("apply", pol["v1"])
    check(r.returncode == 0, "apply v1: exit 0")
    check(gw.hash == h["v1"], "apply v1: the daemon reports the v1 hash")
    check(table_hash(table) == h["v1"], "apply v1: the installed table is v1")
    check(os.stat(table).st_mode & 0o777 == 0o640, "the table is mode 0640")
    check("backstop " + os.path.join(state, "applied/current/main.policy") in open(nflog).read(),
          "the backstop was loaded from the applied snapshot")
    check("no policy applied yet" in r.stdout, "first apply says there is nothing to diff against")

    # 2. a refused policy leaves everything untouched
    before = snapshot()
    reloads = gw.reloads
    r = ctl("apply", pol["bad"])
    check(r.returncode == 1, "bad policy: exit 1")
    check("invariant" in r.stdout + r.stderr, "bad policy: the violated invariant is shown")
    check(snapshot() == before, "bad policy: table, snapshot and daemon untouched")
    check(gw.reloads == reloads, "bad policy: no reload was asked")
    check(not os.path.exists(table + ".new"), "bad policy: no temporary table left")

    # 3. try + confirm: still v2 after the deadline
    r = ctl("apply", "--try", "2", pol["v2"])
    check(r.returncode == 0 and gw.hash == h["v2"], "try v2: in force")
    check("allow -> " in r.stdout and "仮想ブラウザ利用" in r.stdout, "try v2: the semantic diff is shown")
    check("TRIAL" in r.stdout, "try v2: the trial is announced")
    check(ctl("apply", pol["v3"]).returncode == 1, "an apply during a trial is refused")
    check(ctl("status").stdout.count("rolls back in") == 1, "status shows the trial")
    check(ctl("confirm").returncode == 0, "confirm v2: exit 0")
    time.sleep(3.5)
    check(gw.hash == h["v2"] and table_hash(table) == h["v2"], "confirmed v2 stays past the deadline")
    check(ctl("confirm").returncode == 1, "confirm with nothing pending: exit 1")

    # 4. try without confirm: back to v2 by itself
    v2_bytes = open(table, "rb").read()
    r = ctl("apply", "--try", "2", pol["v3"])
    check(r.returncode == 0 and gw.hash == h["v3"], "try v3: in force")
    deadline = time.time() + 15
    while time.time() < deadline and gw.hash != h["v2"]:
        time.sleep(0.2)
    check(gw.hash == h["v2"], "try v3 unconfirmed: the daemon reports v2 again")
    time.sleep(0.5)
    check(open(table, "rb").read() == v2_bytes, "try v3 unconfirmed: the v2 table bytes are back")
    check(not os.path.exists(os.path.join(rundir, "ctl/pending")), "no trial pending after the rollback")
    check(table_hash(table + ".rejected") == h["v3"], "the rolled-back table is kept as policy.table.rejected")

    # 5. the daemon refuses the reload: previous table back
    gw.mode = "refuse"
    r = ctl("apply", pol["v3"])
    gw.mode = "ok"
    check(r.returncode == 1, "refused reload: exit 1")
    check(table_hash(table) == h["v2"], "refused reload: the v2 table is back")

    # 6. the daemon says ok but keeps the old policy: the health check catches it
    gw.mode = "stale"
    r = ctl("apply", pol["v3"])
    gw.mode = "ok"
    check(r.returncode == 1 and "health check failed" in r.stderr, "stale daemon: health check fails")
    check(table_hash(table) == h["v2"] and gw.hash == h["v2"], "stale daemon: v2 back and reported")

    # 7. manual rollback
    check(ctl("apply", pol["v3"]).returncode == 0 and gw.hash == h["v3"], "apply v3")
    check(ctl("rollback").returncode == 0 and gw.hash == h["v2"], "rollback: v2 back")
    check(ctl("rollback").returncode == 1, "a second rollback has nothing to go back to")

    gw.close()

    # 8. the audit chain: verified, and the events in order
    ctl_dir = os.path.join(logdir, "ctl")
    v = subprocess.run([LOGEXPORT, "verify", "--key", key, ctl_dir], capture_output=True, text=True)
    check(v.returncode == 0, "the ctl audit chain verifies (%s)" % (v.stdout + v.stderr).strip()[-200:])
    recs = []
    for name in sorted(os.listdir(ctl_dir)):
        if name.startswith("."):
            continue
        with open(os.path.join(ctl_dir, name), encoding="utf-8") as f:
            recs += [json.loads(x) for x in f if x.strip()]
    ev = [(r["event"], r["data"].get("result") or r["data"].get("action")) for r in recs
          if r["component"] == "ctl" and not r["event"].startswith(("log.", "clock."))]
    expect = [
        ("policy.apply", "ok"),            # v1
        ("policy.apply", "refused"),       # bad
        ("policy.apply", "ok"),            # try v2
        ("config.change", "confirm"),
        ("policy.apply", "ok"),            # try v3
        ("policy.rollback", "ok"),         # timeout
        ("policy.apply", "failed"),        # refused reload
        ("policy.rollback", "ok"),
        ("policy.apply", "failed"),        # stale daemon
        ("policy.rollback", "ok"),
        ("policy.apply", "ok"),            # v3
        ("policy.rollback", "ok"),         # manual
    ]
    check(ev == expect, "audit events in order: %s" % ev)
    data = [r["data"] for r in recs if r["event"] in ("policy.apply", "policy.rollback", "config.change")]
    check(all(d.get("user") == "tanaka" and d.get("from") == "198.18.40.5" for d in data),
          "every record says who (sudo user) and from where (ssh peer)")
    rb = [d for d in data if d.get("reason") == "try-timeout"]
    check(len(rb) == 1 and rb[0]["policy_sha256"] == h["v2"] and rb[0]["rolled_back_policy_sha256"] == h["v3"],
          "the timeout rollback names the restored and the rolled-back hash")
    ok_apply = [d for d in data if d.get("result") == "ok" and "mode" in d]
    check(ok_apply[0]["policy_sha256"] == h["v1"] and ok_apply[1]["prev_policy_sha256"] == h["v1"]
          and ok_apply[1]["mode"] == "try" and ok_apply[1]["try_seconds"] == 2,
          "apply records carry the new and previous hash and the mode")
    check(os.path.isdir(os.path.join(logdir, "rulec")), "sekisho-rulec recorded its compiles in its own chain")

    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
